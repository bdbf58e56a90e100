/*
 * hangfs — a FUSE file system that stands in for a hung shared mount.
 *
 *   hangfs [--all] MOUNTPOINT
 *
 * Runs in the foreground until SIGTERM/SIGINT/SIGHUP, then unmounts.
 * The mount shows up in /proc/self/mountinfo with file system type
 * "fuse.hangfs".
 *
 * Default mode: the root directory answers (getattr, statfs, an empty
 * readdir), so mounting and looking at the mount point itself work, but
 * any lookup of a name below the root is never answered: stat(2) or
 * open(2) of MOUNTPOINT/anything blocks until the process is killed or
 * the daemon goes away.  This is what a 9p mount whose server stopped
 * answering looks like to a process touching a disk image on it.
 *
 * --all: nothing but the FUSE handshake is answered; even stat(2) or
 * statfs(2) of the mount point blocks.
 *
 * Unanswered requests are simply dropped: the daemon never replies to
 * them, so the kernel keeps the caller waiting.  When this process exits
 * the kernel aborts the connection and every waiter gets ENOTCONN, so
 * killing hangfs (after `fusermount3 -u -z MOUNTPOINT`) releases everything.
 *
 * Test helper only (built by `make check` when libfuse3 is available).
 */
#define FUSE_USE_VERSION 34

#include <config.h>

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static bool hang_all;

/* Never reply: the caller stays blocked in the kernel. */
static void hang(fuse_req_t req)
{
    (void)req;
}

static void root_attr(struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = FUSE_ROOT_ID;
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    st->st_uid = 0;
    st->st_gid = 0;
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = time(NULL);
}

static void hangfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent;
    (void)name;
    hang(req);
}

static void hangfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;

    (void)fi;
    if (hang_all || ino != FUSE_ROOT_ID) {
        hang(req);
        return;
    }
    root_attr(&st);
    /* A zero attribute timeout: every stat(2) of the root comes back here. */
    fuse_reply_attr(req, &st, 0.0);
}

static void hangfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs sv;

    (void)ino;
    if (hang_all) {
        hang(req);
        return;
    }
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_namemax = 255;
    fuse_reply_statfs(req, &sv);
}

static void hangfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (hang_all || ino != FUSE_ROOT_ID) {
        hang(req);
        return;
    }
    fuse_reply_open(req, fi);
}

/* The root lists as empty ("." and ".." are added by nobody: FUSE does not
 * need them for getdents to succeed). */
static void hangfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    (void)size;
    (void)off;
    (void)fi;
    if (hang_all || ino != FUSE_ROOT_ID) {
        hang(req);
        return;
    }
    fuse_reply_buf(req, NULL, 0);
}

static void hangfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops hangfs_ops = {
    .lookup = hangfs_lookup,
    .getattr = hangfs_getattr,
    .statfs = hangfs_statfs,
    .opendir = hangfs_opendir,
    .readdir = hangfs_readdir,
    .releasedir = hangfs_releasedir,
};

static void usage(FILE *out)
{
    fprintf(out, "usage: hangfs [--all] MOUNTPOINT\n"
                 "A FUSE file system whose lookups never answer (--all: nothing answers).\n");
}

int main(int argc, char **argv)
{
    /* argv for libfuse's own option parser: the mount options only. */
    char *fuse_argv[] = {
        argv[0], (char *)"-o",
        (char *)"fsname=hangfs,subtype=hangfs,allow_other,default_permissions",
        NULL,
    };
    struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
    struct fuse_session *se = NULL;
    const char *mountpoint = NULL;
    bool signals = false;
    bool mounted = false;
    int ret = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            hang_all = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && mountpoint == NULL) {
            mountpoint = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (mountpoint == NULL) {
        usage(stderr);
        return 2;
    }

    se = fuse_session_new(&args, &hangfs_ops, sizeof(hangfs_ops), NULL);
    if (se == NULL) {
        fprintf(stderr, "hangfs: cannot create the FUSE session\n");
        goto cleanup;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        fprintf(stderr, "hangfs: cannot install signal handlers\n");
        goto cleanup;
    }
    signals = true;
    if (fuse_session_mount(se, mountpoint) != 0) {
        fprintf(stderr, "hangfs: cannot mount on '%s'\n", mountpoint);
        goto cleanup;
    }
    mounted = true;

    /* Single-threaded is enough: no handler ever blocks, hung requests are
     * just left unanswered.  SIGTERM/SIGINT/SIGHUP end the loop. */
    ret = fuse_session_loop(se) < 0 ? 1 : 0;

cleanup:
    if (mounted)
        fuse_session_unmount(se);
    if (signals)
        fuse_remove_signal_handlers(se);
    if (se != NULL)
        fuse_session_destroy(se);
    fuse_opt_free_args(&args);
    return ret;
}
