/* virtguard: undo what virtguard wrote on a host (lib/apparmor/purge.h). */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "aa-profile.h"
#include "purge.h"

#define PROFILE_MAX_BYTES (1 << 20)
#define STATE_MAX_DEPTH 8

void vg_purge_result_clear(vg_purge_result *res)
{
    vg_strv_free(res->removed);
    vg_strv_free(res->restored);
    res->removed = res->restored = NULL;
}

static int restore_profile(const char *path, const char *uuid, vg_purge_result *res,
                           vg_error **err)
{
    autofree char *text = NULL;
    autofree char *restored = NULL;
    struct stat st;
    bool changed = false;
    int r;

    if (lstat(path, &st) < 0)
        return vg_error_set_errno(err, errno, "cannot inspect '%s'", path);
    if (!S_ISREG(st.st_mode))
        return 0;                       /* libvirt writes regular files only */
    if ((r = vg_read_file(path, PROFILE_MAX_BYTES, &text, NULL)) < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", path);
    if ((r = vg_aa_profile_restore(text, uuid, true, &restored, &changed, err)) < 0)
        return vg_error_wrap(err, "'%s'", path);
    if (!changed)
        return 0;
    if ((r = vg_write_file_atomic(path, restored, strlen(restored), st.st_mode & 07777)) < 0)
        return vg_error_set_errno(err, -r, "cannot write '%s'", path);
    vg_strv_push(&res->restored, vg_xstrdup(path));
    return 0;
}

int vg_purge_apparmor(const char *aa_dir, vg_purge_result *res, vg_error **err)
{
    autofree char *dir = vg_xasprintf("%s/libvirt", aa_dir);
    autostrv char **names = NULL;
    struct dirent *de;
    DIR *d;
    int first = 0;

    if (!(d = opendir(dir))) {
        if (errno == ENOENT)
            return 0;
        return vg_error_set_errno(err, errno, "cannot list '%s'", dir);
    }
    while ((de = readdir(d)))
        vg_strv_push(&names, vg_xstrdup(de->d_name));
    closedir(d);

    /* Profiles first: once no profile includes a rules file, removing it
     * cannot change what a load of any profile means. */
    for (size_t i = 0; names && names[i]; i++) {
        autofree char *uuid = strchr(names[i], '.') ? NULL : vg_aa_profile_uuid(names[i], "");
        if (!uuid)
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, names[i]);
        int r = restore_profile(path, uuid, res, err);
        if (r < 0 && !first)
            first = r;
    }
    for (size_t i = 0; names && names[i]; i++) {
        autofree char *uuid = vg_aa_profile_uuid(names[i], VG_AA_RULES_SUFFIX);
        if (!uuid && !strstr(names[i], ".vgtmp."))
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, names[i]);
        if (unlink(path) == 0) {
            vg_strv_push(&res->removed, vg_xstrdup(path));
        } else if (errno != ENOENT) {
            int e = vg_error_set_errno(err, errno, "cannot remove '%s'", path);
            if (!first)
                first = e;
        }
    }
    return first;
}

/* Empty the directory open as `fd` (named `path` in messages), then close it. */
static int empty_dir(int fd, const char *path, int depth, vg_purge_result *res, vg_error **err)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int first = 0;

    if (!d) {
        int e = errno;
        close(fd);
        return vg_error_set_errno(err, e, "cannot list '%s'", path);
    }
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        struct stat st;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        autofree char *child = vg_xasprintf("%s/%s", path, n);
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int cfd = depth < STATE_MAX_DEPTH
                      ? openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
            int r;
            if (cfd < 0) {
                r = vg_error_set_errno(err, depth < STATE_MAX_DEPTH ? errno : ELOOP,
                                       "cannot open the directory '%s'", child);
            } else {
                r = empty_dir(cfd, child, depth + 1, res, err);
                if (r == 0 && unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0)
                    r = vg_error_set_errno(err, errno, "cannot remove '%s'", child);
                else if (r == 0)
                    vg_strv_push(&res->removed, vg_xstrdup(child));
            }
            if (r < 0 && !first)
                first = r;
        } else if (unlinkat(dirfd(d), n, 0) == 0) {
            vg_strv_push(&res->removed, vg_xstrdup(child));
        } else if (errno != ENOENT) {
            int e = vg_error_set_errno(err, errno, "cannot remove '%s'", child);
            if (!first)
                first = e;
        }
    }
    closedir(d);
    return first;
}

int vg_purge_state_dir(const char *dir, vg_purge_result *res, vg_error **err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r;

    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return vg_error_set_errno(err, errno, "cannot open the directory '%s'", dir);
    }
    if ((r = empty_dir(fd, dir, 0, res, err)) < 0)
        return r;
    if (rmdir(dir) < 0 && errno != ENOENT)
        return vg_error_set_errno(err, errno, "cannot remove '%s'", dir);
    vg_strv_push(&res->removed, vg_xstrdup(dir));
    return 0;
}
