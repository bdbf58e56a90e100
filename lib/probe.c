/* virtguard: filesystem probes in a child process with a deadline.
 *
 * A hung 9p or virtiofs server blocks every syscall on the mount.  The hook
 * runs synchronously inside libvirtd's start path, so nothing in the hook's
 * own process may touch the mount: the child does, and the parent gives up
 * after timeout_ms, kills the child and reports how far it got. */
#include <config.h>

#include "probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

typedef struct probe_record {
    uint32_t index;
    vg_probe_res res;
} probe_record;

static void fill_stat(vg_probe_res *res, const struct stat *st)
{
    res->mode = st->st_mode;
    res->uid = st->st_uid;
    res->gid = st->st_gid;
    res->dev = st->st_dev;
    res->ino = st->st_ino;
}

static void probe_chown(const vg_probe_req *req, vg_probe_res *res)
{
    autofree char *scratch = vg_xasprintf("%s/.virtguard-probe.%ld", req->path, (long)getpid());
    autoclose int fd = -1;
    struct stat st;

    res->chown = VG_CHOWN_UNKNOWN;
    fd = open(scratch, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        res->err = errno;
        return;
    }
    if (fchown(fd, req->uid, req->gid) < 0) {
        res->err = errno;
        res->chown = VG_CHOWN_REFUSED;
    } else if (fstat(fd, &st) < 0) {
        res->err = errno;
    } else {
        fill_stat(res, &st);
        res->chown = (st.st_uid == req->uid && st.st_gid == req->gid) ? VG_CHOWN_WORKS
                                                                       : VG_CHOWN_IGNORED;
    }
    if (unlink(scratch) < 0 && !res->err)
        res->err = errno;
}

void vg_probe_one(const vg_probe_req *req, vg_probe_res *res)
{
    struct stat st;
    struct statfs sfs;

    memset(res, 0, sizeof(*res));
    res->answered = true;
    switch (req->op) {
    case VG_PROBE_STAT:
        if (stat(req->path, &st) < 0)
            res->err = errno;
        else
            fill_stat(res, &st);
        break;
    case VG_PROBE_LSTAT:
        if (lstat(req->path, &st) < 0)
            res->err = errno;
        else
            fill_stat(res, &st);
        break;
    case VG_PROBE_STATFS:
        if (statfs(req->path, &sfs) < 0 || stat(req->path, &st) < 0) {
            res->err = errno;
        } else {
            res->fs_type = (int64_t)sfs.f_type;
            fill_stat(res, &st);
        }
        break;
    case VG_PROBE_CHOWN:
        probe_chown(req, res);
        break;
    }
}

VG_NORETURN static void child_main(int wfd, const vg_probe_req *req, size_t n)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);

    /* Die with the parent, and never keep libvirt's stdout/stderr pipes
     * open: libvirt reads the hook's output until EOF. */
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
    } else {
        close(STDIN_FILENO);
        close(STDOUT_FILENO);
        close(STDERR_FILENO);
    }
    for (size_t i = 0; i < n; i++) {
        probe_record rec = { .index = (uint32_t)i };
        vg_probe_one(&req[i], &rec.res);
        if (vg_write_all(wfd, &rec, sizeof(rec)) < 0)
            _exit(1);
    }
    _exit(0);
}

/* Reap the child; after SIGKILL give it a short grace period.  A child
 * stuck in an uninterruptible sleep is left to init rather than waited
 * for: the hook's deadline matters more. */
static void reap(pid_t pid, bool killed)
{
    long long until = vg_now_ms() + (killed ? 200 : 2000);
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        if (vg_now_ms() >= until)
            return;
        usleep(2000);
    }
}

int vg_probe_run(const vg_probe_req *req, size_t n, unsigned timeout_ms,
                 vg_probe_res *res, long long *elapsed_ms, vg_error **err)
{
    long long start = vg_now_ms();
    long long deadline = start + timeout_ms;
    int fds[2];
    size_t got = 0, have = 0;
    probe_record rec;
    bool timed_out = false;
    pid_t pid;

    memset(res, 0, n * sizeof(*res));
    if (elapsed_ms)
        *elapsed_ms = 0;
    if (n == 0)
        return 0;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return vg_error_set_errno(err, errno, "cannot create a pipe for the mount probe");
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return vg_error_set_errno(err, e, "cannot fork the mount probe");
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], req, n);
    }
    close(fds[1]);
    autoclose int rfd = fds[0];

    while (got < n) {
        long long left = deadline - vg_now_ms();
        struct pollfd pfd = { .fd = rfd, .events = POLLIN };
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pr == 0) {
            timed_out = true;
            break;
        }
        ssize_t r = read(rfd, (char *)&rec + have, sizeof(rec) - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (r == 0)
            break;                  /* child exited early */
        have += (size_t)r;
        if (have < sizeof(rec))
            continue;
        have = 0;
        if (rec.index < n) {
            res[rec.index] = rec.res;
            res[rec.index].answered = true;
        }
        got++;
    }
    if (got < n)
        kill(pid, SIGKILL);
    reap(pid, got < n);
    if (elapsed_ms)
        *elapsed_ms = vg_now_ms() - start;
    if (timed_out)
        return -ETIMEDOUT;
    if (got < n)
        return vg_error_set(err, EIO, "the mount probe stopped after %zu of %zu checks", got, n);
    return 0;
}
