/*
 * slowfs — a FUSE pass-through file system whose metadata answers are slow:
 * a stand-in for a shared mount (9p, virtiofs) whose server is overloaded.
 *
 *   slowfs --delay-ms N SOURCE MOUNTPOINT
 *
 * Every file under SOURCE is visible under MOUNTPOINT.  Each metadata
 * request (lookup/getattr, statfs, open, create, unlink, chown, chmod,
 * truncate, utimens, readdir, ...) is answered N ms after it arrives; data
 * requests (read, write, flush, release, fsync) are answered at once, so a
 * guest can still boot from it.  The kernel caches nothing (entry, attribute
 * and negative timeouts 0): every stat(2) reaches the daemon and waits N ms.
 * Requests are handled by several threads (libfuse's multi-threaded loop),
 * so concurrent callers wait N ms each, not in a queue.
 *
 * Mounted with allow_other,default_permissions (the kernel checks modes and
 * owners, as on a real shared mount); type "fuse.slowfs" in mountinfo.  Runs
 * in the foreground until SIGTERM/SIGINT/SIGHUP, then unmounts.
 *
 * Test helper only (tests/stress/slow-mount.sh; built when libfuse3 is).
 */
#define FUSE_USE_VERSION 31

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int src_fd = -1;
static long delay_ms;

static void slow(void)
{
    struct timespec ts = { .tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* "/a/b" -> "a/b" relative to SOURCE; "/" -> ".". */
static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

static int slow_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    slow();
    if (fi)
        return fstat((int)fi->fh, st) < 0 ? -errno : 0;
    return fstatat(src_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int slow_readlink(const char *path, char *buf, size_t size)
{
    ssize_t n;

    slow();
    n = readlinkat(src_fd, rel(path), buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

static int slow_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                        struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    DIR *d;
    struct dirent *de;
    int fd;

    (void)off;
    (void)fi;
    (void)flags;
    slow();
    fd = openat(src_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    while ((de = readdir(d)) != NULL)
        if (fill(buf, de->d_name, NULL, 0, 0))
            break;
    closedir(d);
    return 0;
}

static int slow_open(const char *path, struct fuse_file_info *fi)
{
    int fd;

    slow();
    fd = openat(src_fd, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int slow_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int fd;

    slow();
    fd = openat(src_fd, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    /* The daemon runs as root: give the file to the caller, as a local
     * file system would. */
    if (fchown(fd, fuse_get_context()->uid, fuse_get_context()->gid) < 0) {
        int e = errno;
        close(fd);
        unlinkat(src_fd, rel(path), 0);
        return -e;
    }
    fi->fh = (uint64_t)fd;
    return 0;
}

static int slow_read(const char *path, char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    ssize_t n;

    (void)path;
    n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int slow_write(const char *path, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    ssize_t n;

    (void)path;
    n = pwrite((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int slow_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

static int slow_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    return (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) < 0 ? -errno : 0;
}

static int slow_statfs(const char *path, struct statvfs *sv)
{
    (void)path;
    slow();
    return fstatvfs(src_fd, sv) < 0 ? -errno : 0;
}

static int slow_unlink(const char *path)
{
    slow();
    return unlinkat(src_fd, rel(path), 0) < 0 ? -errno : 0;
}

static int slow_mkdir(const char *path, mode_t mode)
{
    slow();
    return mkdirat(src_fd, rel(path), mode) < 0 ? -errno : 0;
}

static int slow_rmdir(const char *path)
{
    slow();
    return unlinkat(src_fd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int slow_rename(const char *from, const char *to, unsigned int flags)
{
    slow();
    if (flags)
        return -EINVAL;
    return renameat(src_fd, rel(from), src_fd, rel(to)) < 0 ? -errno : 0;
}

static int slow_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    slow();
    if (fi)
        return fchmod((int)fi->fh, mode) < 0 ? -errno : 0;
    return fchmodat(src_fd, rel(path), mode, 0) < 0 ? -errno : 0;
}

static int slow_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    slow();
    if (fi)
        return fchown((int)fi->fh, uid, gid) < 0 ? -errno : 0;
    return fchownat(src_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int slow_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    int fd, r;

    slow();
    if (fi)
        return ftruncate((int)fi->fh, size) < 0 ? -errno : 0;
    fd = openat(src_fd, rel(path), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = ftruncate(fd, size) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int slow_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    slow();
    if (fi)
        return futimens((int)fi->fh, tv) < 0 ? -errno : 0;
    return utimensat(src_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static void *slow_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    return NULL;
}

static const struct fuse_operations slow_ops = {
    .init = slow_init,
    .getattr = slow_getattr,
    .readlink = slow_readlink,
    .readdir = slow_readdir,
    .open = slow_open,
    .create = slow_create,
    .read = slow_read,
    .write = slow_write,
    .release = slow_release,
    .fsync = slow_fsync,
    .statfs = slow_statfs,
    .unlink = slow_unlink,
    .mkdir = slow_mkdir,
    .rmdir = slow_rmdir,
    .rename = slow_rename,
    .chmod = slow_chmod,
    .chown = slow_chown,
    .truncate = slow_truncate,
    .utimens = slow_utimens,
};

static int usage(FILE *out, int status)
{
    fprintf(out, "usage: slowfs --delay-ms N SOURCE MOUNTPOINT\n"
                 "A FUSE pass-through of SOURCE whose metadata requests answer after N ms.\n");
    return status;
}

int main(int argc, char **argv)
{
    const char *source = NULL, *mountpoint = NULL;
    char *end;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--delay-ms") == 0 && i + 1 < argc) {
            errno = 0;
            delay_ms = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || delay_ms < 0 || delay_ms > 600000)
                return usage(stderr, 2);
        } else if (strcmp(argv[i], "--help") == 0) {
            return usage(stdout, 0);
        } else if (argv[i][0] != '-' && !source) {
            source = argv[i];
        } else if (argv[i][0] != '-' && !mountpoint) {
            mountpoint = argv[i];
        } else {
            return usage(stderr, 2);
        }
    }
    if (!source || !mountpoint)
        return usage(stderr, 2);
    src_fd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src_fd < 0) {
        fprintf(stderr, "slowfs: cannot open '%s': %s\n", source, strerror(errno));
        return 1;
    }
    umask(0);
    char *fargv[] = {
        argv[0], (char *)"-f", (char *)"-o",
        (char *)"fsname=slowfs,subtype=slowfs,allow_other,default_permissions,max_threads=16",
        (char *)mountpoint, NULL,
    };
    return fuse_main(5, fargv, &slow_ops, NULL);
}
