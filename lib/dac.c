/* virtguard: QEMU's identity and POSIX DAC decisions.
 *
 * Identity resolution follows libvirt (src/util/virutil.c virGetUserID,
 * virGetGroupID, virGetGroupList): "+N" is numeric, otherwise a name is
 * tried first and a number second.  QEMU's supplementary groups are the
 * groups listing the user name, plus its primary gid.  We read the files
 * with fgetpwent/fgetgrent rather than NSS because the hook is static. */
#include <config.h>

#include "dac.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>

#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"

static int parse_id(const char *s, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (!*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= (unsigned long)UINT_MAX)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Look a user up by name (name != NULL) or uid. Fills name/uid/gid. */
static int passwd_lookup(const char *file, const char *name, uid_t uid,
                         char **name_out, uid_t *uid_out, gid_t *gid_out)
{
    autofclose FILE *f = fopen(file, "re");
    struct passwd *pw;

    if (!f)
        return -errno;
    while ((pw = fgetpwent(f))) {
        if (name ? strcmp(pw->pw_name, name) == 0 : pw->pw_uid == uid) {
            if (name_out)
                *name_out = vg_xstrdup(pw->pw_name);
            *uid_out = pw->pw_uid;
            *gid_out = pw->pw_gid;
            return 1;
        }
    }
    return 0;
}

static int group_lookup(const char *file, const char *name, gid_t gid, char **name_out, gid_t *gid_out)
{
    autofclose FILE *f = fopen(file, "re");
    struct group *gr;

    if (!f)
        return -errno;
    while ((gr = fgetgrent(f))) {
        if (name ? strcmp(gr->gr_name, name) == 0 : gr->gr_gid == gid) {
            if (name_out)
                *name_out = vg_xstrdup(gr->gr_name);
            *gid_out = gr->gr_gid;
            return 1;
        }
    }
    return 0;
}

static void add_group(vg_ids *ids, gid_t g)
{
    for (size_t i = 0; i < ids->n_groups; i++)
        if (ids->groups[i] == g)
            return;
    *VG_APPEND(ids->groups, ids->n_groups) = g;
}

static int supplementary_groups(const char *file, vg_ids *ids)
{
    add_group(ids, ids->gid);
    if (!ids->user)
        return 0;
    autofclose FILE *f = fopen(file, "re");
    struct group *gr;
    if (!f)
        return -errno;
    while ((gr = fgetgrent(f))) {
        for (char **m = gr->gr_mem; m && *m; m++) {
            if (strcmp(*m, ids->user) == 0) {
                add_group(ids, gr->gr_gid);
                break;
            }
        }
    }
    return 0;
}

static int resolve_user(const char *spec, const char *passwd_file, vg_ids *ids,
                        gid_t *pw_gid, bool *have_pw_gid, vg_error **err)
{
    unsigned long n;
    int r;

    if (spec[0] == '+') {
        if (parse_id(spec + 1, &n) < 0)
            return vg_error_set(err, EINVAL, "user '%s' is not a valid numeric id", spec);
        ids->uid = (uid_t)n;
        r = passwd_lookup(passwd_file, NULL, ids->uid, &ids->user, &ids->uid, pw_gid);
    } else {
        r = passwd_lookup(passwd_file, spec, 0, &ids->user, &ids->uid, pw_gid);
        if (r == 0) {
            if (parse_id(spec, &n) < 0)
                return vg_error_set(err, ENOENT, "user '%s' does not exist in '%s'", spec, passwd_file);
            ids->uid = (uid_t)n;
            r = passwd_lookup(passwd_file, NULL, ids->uid, &ids->user, &ids->uid, pw_gid);
        }
    }
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", passwd_file);
    *have_pw_gid = r > 0;
    return 0;
}

static int resolve_group(const char *spec, const char *group_file, vg_ids *ids, vg_error **err)
{
    unsigned long n;
    int r;

    if (spec[0] == '+') {
        if (parse_id(spec + 1, &n) < 0)
            return vg_error_set(err, EINVAL, "group '%s' is not a valid numeric id", spec);
        ids->gid = (gid_t)n;
        r = group_lookup(group_file, NULL, ids->gid, &ids->group, &ids->gid);
    } else {
        r = group_lookup(group_file, spec, 0, &ids->group, &ids->gid);
        if (r == 0) {
            if (parse_id(spec, &n) < 0)
                return vg_error_set(err, ENOENT, "group '%s' does not exist in '%s'", spec, group_file);
            ids->gid = (gid_t)n;
            r = group_lookup(group_file, NULL, ids->gid, &ids->group, &ids->gid);
        }
    }
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", group_file);
    return 0;
}

int vg_ids_resolve(const char *user_spec, const char *group_spec,
                   const char *passwd_file, const char *group_file,
                   vg_ids *out, vg_error **err)
{
    vg_ids ids = { 0 };
    gid_t pw_gid = 0;
    bool have_pw_gid = false;
    int r;

    passwd_file = passwd_file ? passwd_file : PASSWD_FILE;
    group_file = group_file ? group_file : GROUP_FILE;
    if (!user_spec || !*user_spec)
        return vg_error_set(err, EINVAL, "QEMU user is empty");
    if ((r = resolve_user(user_spec, passwd_file, &ids, &pw_gid, &have_pw_gid, err)) < 0)
        goto fail;
    if (group_spec && *group_spec) {
        if ((r = resolve_group(group_spec, group_file, &ids, err)) < 0)
            goto fail;
    } else if (have_pw_gid) {
        ids.gid = pw_gid;
        if ((r = group_lookup(group_file, NULL, ids.gid, &ids.group, &ids.gid)) < 0) {
            r = vg_error_set_errno(err, -r, "cannot read '%s'", group_file);
            goto fail;
        }
    } else {
        r = vg_error_set(err, EINVAL, "QEMU group is not set and user '%s' has no passwd entry", user_spec);
        goto fail;
    }
    if ((r = supplementary_groups(group_file, &ids)) < 0) {
        r = vg_error_set_errno(err, -r, "cannot read '%s'", group_file);
        goto fail;
    }
    *out = ids;
    return 0;

fail:
    vg_ids_clear(&ids);
    return r;
}

int vg_ids_resolve_label(const char *label, const char *passwd_file, const char *group_file,
                         vg_ids *out, vg_error **err)
{
    const char *colon = label ? strchr(label, ':') : NULL;
    if (!colon || colon == label || !colon[1] || strchr(colon + 1, ':'))
        return vg_error_set(err, EINVAL, "DAC label '%s' is not of the form 'USER:GROUP'",
                            label ? label : "");
    autofree char *user = vg_xstrndup(label, (size_t)(colon - label));
    return vg_ids_resolve(user, colon + 1, passwd_file, group_file, out, err);
}

void vg_ids_clear(vg_ids *ids)
{
    free(ids->groups);
    free(ids->user);
    free(ids->group);
    memset(ids, 0, sizeof(*ids));
}

char *vg_ids_describe(const vg_ids *ids)
{
    autofree char *u = ids->user ? vg_xasprintf(" (%s)", ids->user) : vg_xstrdup("");
    autofree char *g = ids->group ? vg_xasprintf(" (%s)", ids->group) : vg_xstrdup("");
    return vg_xasprintf("uid %u%s, gid %u%s", (unsigned)ids->uid, u, (unsigned)ids->gid, g);
}

bool vg_dac_allows(const vg_ids *ids, uid_t f_uid, gid_t f_gid, mode_t mode, int want)
{
    unsigned bits;

    if (ids->uid == 0) {
        if ((want & X_OK) && !S_ISDIR(mode) && !(mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
            return false;
        return true;
    }
    if (ids->uid == f_uid) {
        bits = (mode >> 6) & 7;
    } else {
        bool in_group = ids->gid == f_gid;
        for (size_t i = 0; !in_group && i < ids->n_groups; i++)
            in_group = ids->groups[i] == f_gid;
        bits = in_group ? (mode >> 3) & 7 : mode & 7;
    }
    /* R_OK=4, W_OK=2, X_OK=1 match the rwx bit positions. */
    return ((unsigned)want & bits) == (unsigned)want;
}
