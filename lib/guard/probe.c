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
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static void fill_stat(vg_probe_res *res, const struct stat *st)
{
    res->mode = st->st_mode;
    res->uid = st->st_uid;
    res->gid = st->st_gid;
    res->dev = st->st_dev;
    res->ino = st->st_ino;
}

/* "+U:+G" into buf (at least 24 bytes) without stdio: the child may not
 * take locks.  Returns the length. */
static size_t format_owner(char *buf, unsigned uid, unsigned gid)
{
    size_t n = 0;
    unsigned v[2] = { uid, gid };
    for (int k = 0; k < 2; k++) {
        char digits[10];
        size_t d = 0;
        if (k)
            buf[n++] = ':';
        buf[n++] = '+';
        do {
            digits[d++] = (char)('0' + v[k] % 10);
            v[k] /= 10;
        } while (v[k]);
        while (d)
            buf[n++] = digits[--d];
    }
    buf[n] = '\0';
    return n;
}

/* What libvirt's virSecuritySetRememberedLabel does on a fresh file, on
 * our scratch file: getxattr of the refcount (ENODATA expected), then
 * setxattr of the owner; we also read it back.  Only root may write
 * trusted.*, as libvirtd does; anyone else learns nothing. */
static void probe_remember(int fd, const vg_probe_req *req, vg_probe_res *res)
{
    char want[32], got[32];
    size_t n = format_owner(want, (unsigned)req->uid, (unsigned)req->gid);
    ssize_t r;

    res->xattr = VG_XATTR_UNKNOWN;
    if (geteuid() != 0)
        return;
    if (fgetxattr(fd, VG_XATTR_REFCOUNT, got, sizeof(got)) < 0 && errno != ENODATA) {
        res->xattr_err = errno;
        res->xattr = (errno == ENOTSUP || errno == ENOSYS) ? VG_XATTR_UNSUPPORTED
                                                            : VG_XATTR_GET_FAILS;
        return;
    }
    if (fsetxattr(fd, VG_XATTR_REMEMBER, want, n, 0) < 0) {
        res->xattr_err = errno;
        res->xattr = VG_XATTR_SET_FAILS;
        return;
    }
    r = fgetxattr(fd, VG_XATTR_REMEMBER, got, sizeof(got));
    res->xattr = (r == (ssize_t)n && memcmp(got, want, n) == 0) ? VG_XATTR_KEPT : VG_XATTR_LOST;
    if (r < 0)
        res->xattr_err = errno;
    (void)fremovexattr(fd, VG_XATTR_REMEMBER);
}

static void probe_chown(const vg_probe_req *req, const char *scratch, vg_probe_res *res)
{
    struct stat st;
    int fd;

    res->chown = VG_CHOWN_UNKNOWN;
    fd = open(scratch, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        res->err = errno;
        /* The share refuses root a new file (a user-namespace virtiofsd:
         * EINVAL; read-only: EROFS; root squashed: EACCES, EPERM).  Anything
         * else (a planted name: EEXIST, ELOOP; ENOSPC...) says nothing about
         * chown: unknown, with its errno. */
        if (errno == EINVAL || errno == EROFS || errno == EACCES || errno == EPERM)
            res->chown = VG_CHOWN_NO_CREATE;
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
        if (res->chown == VG_CHOWN_WORKS)
            probe_remember(fd, req, res);
    }
    close(fd);
    if (unlink(scratch) < 0 && !res->err)
        res->err = errno;
}

void vg_probe_one(const vg_probe_req *req, const char *scratch, vg_probe_res *res)
{
    struct stat st;
    struct statfs sfs;

    memset(res, 0, sizeof(*res));
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
        probe_chown(req, scratch, res);
        break;
    case VG_PROBE_UNLINK:
        if (unlink(req->path) < 0)
            res->err = errno;
        break;
    }
    res->answered = true;
}

static const char *registry_path = VG_PROBE_STALE_REGISTRY;

void vg_probe_set_registry(const char *path)
{
    registry_path = path ? path : VG_PROBE_STALE_REGISTRY;
}

bool vg_probe_scratch_name_valid(const char *path)
{
    static const char prefix[] = ".virtguard-probe.";
    const char *base = strrchr(path, '/');
    const char *p;
    int dots = 0;

    if (path[0] != '/' || !base || strstr(path, "/../") || strstr(path, "/./") ||
        strstr(path, "//") || strchr(path, '\n') ||
        strncmp(base + 1, prefix, sizeof(prefix) - 1) != 0)
        return false;
    p = base + sizeof(prefix);
    if (!*p)
        return false;
    for (; *p; p++) {
        if (*p == '.') {
            if (++dots > 1 || p[-1] == '.' || !p[1])
                return false;
        } else if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return dots == 1;
}

static char **registry_read(void)
{
    autofree char *text = NULL;
    char **v = NULL;
    if (vg_read_file(registry_path, 64 * 1024, &text, NULL) < 0)
        return NULL;
    for (char *line = text, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        if (vg_probe_scratch_name_valid(line) && !vg_strv_contains(v, line) &&
            vg_strv_len(v) < 256)
            vg_strv_push(&v, vg_xstrdup(line));
    }
    return v;
}

static void registry_write(char *const *entries)
{
    vg_buf b = { 0 };
    autofree char *dir = vg_xstrdup(registry_path);
    char *slash = strrchr(dir, '/');
    for (size_t i = 0; entries && entries[i]; i++)
        vg_buf_printf(&b, "%s\n", entries[i]);
    if (slash && slash != dir) {
        *slash = '\0';
        (void)mkdir(dir, 0700);
    }
    if (b.len == 0)
        (void)unlink(registry_path);
    else
        (void)vg_write_file_atomic(registry_path, b.s, b.len, 0600);
    vg_buf_clear(&b);
}

/* `path` names an entry directly inside `dir`. */
static bool directly_in(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/');
}

/* What the child needs; all of it lives in memory the parent prepared. */
typedef struct probe_job {
    const vg_probe_req *req;
    char *const *scratch;       /* per request; NULL unless VG_PROBE_CHOWN */
    size_t n;
    vg_probe_res *res;          /* shared results area */
    size_t *done;               /* shared: how many answers are in res */
    int wfd;                    /* closed by the child's exit: the parent's EOF */
} probe_job;

static int child_main(void *arg)
{
    const probe_job *job = arg;
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
    /* One store per answer, no system call: the parent sleeps until the
     * pipe's EOF (our exit) or its deadline, then counts. */
    for (size_t i = 0; i < job->n; i++) {
        vg_probe_one(&job->req[i], job->scratch[i], &job->res[i]);
        __atomic_store_n(job->done, i + 1, __ATOMIC_RELEASE);
    }
    _exit(0);
}

#define CHILD_STACK (256 * 1024)

static pid_t start_child(probe_job *job, void **stack_out)
{
    /* valgrind does not refuse clone(CLONE_VM), it aborts the program:
     * take the fork path there (make check-valgrind). */
    void *stack = RUNNING_ON_VALGRIND ? MAP_FAILED
                  : mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    pid_t pid = -1;

    *stack_out = NULL;
    if (stack != MAP_FAILED) {
        pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | SIGCHLD, job);
        if (pid > 0) {
            *stack_out = stack;
            return pid;
        }
        munmap(stack, CHILD_STACK);
    }
    /* clone(CLONE_VM) refused (valgrind): an ordinary child. */
    pid = fork();
    if (pid == 0)
        child_main(job);
    return pid;
}

/* Reap the child; after SIGKILL give it a short grace period.  Returns
 * false when a killed child is still there (stuck in an uninterruptible
 * sleep): it is left to init rather than waited for, the hook's deadline
 * matters more, and the memory it shares with us must then stay mapped. */
static bool reap(pid_t pid, bool killed)
{
    long long until = vg_now_ms() + 200;
    if (!killed) {
        /* Every answer is in: the child has nothing left to do but _exit. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return true;
    }
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return true;
        if (vg_now_ms() >= until)
            return false;
        usleep(2000);
    }
}

static char *scratch_name(const char *dir, size_t i)
{
    return vg_xasprintf("%s/.virtguard-probe.%ld.%zu", dir, (long)getpid(), i);
}

/* What one run of the probe holds while its child may run: the shared
 * answers area (the answers, then the count of them), the scratch names
 * and the child's stack.  Released in one place, probe_mem_release(). */
typedef struct probe_mem {
    size_t n;
    vg_probe_res *area;
    size_t area_len;
    size_t *done;               /* in the area, after the answers */
    char **scratch;             /* per request; NULL unless VG_PROBE_CHOWN */
    void *stack;                /* the clone child's; NULL for a forked child */
} probe_mem;

static int probe_mem_init(probe_mem *m, const vg_probe_req *req, size_t n, vg_error **err)
{
    memset(m, 0, sizeof(*m));
    m->n = n;
    m->area_len = n * sizeof(vg_probe_res) + sizeof(size_t);
    /* MAP_SHARED: the fork fallback must see the answers too. */
    m->area = mmap(NULL, m->area_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m->area == MAP_FAILED) {
        m->area = NULL;
        return vg_error_set_errno(err, errno, "cannot map the mount probe's results");
    }
    m->done = (size_t *)(void *)&m->area[n];
    m->scratch = vg_xcalloc(n, sizeof(*m->scratch));
    for (size_t i = 0; i < n; i++)
        if (req[i].op == VG_PROBE_CHOWN)
            m->scratch[i] = scratch_name(req[i].path, i);
    return 0;
}

static void probe_mem_release(probe_mem *m)
{
    if (m->area)
        munmap(m->area, m->area_len);
    if (m->stack)
        munmap(m->stack, CHILD_STACK);
    for (size_t i = 0; m->scratch && i < m->n; i++)
        free(m->scratch[i]);
    free(m->scratch);
    memset(m, 0, sizeof(*m));
}

/* Sleep until the pipe's EOF (the child exited: every answer is in) or
 * the deadline.  Returns true when the deadline came first.  The parent
 * does not look at errno while the child may still run: with CLONE_VM
 * they share it. */
static bool wait_for_child(int fd, long long deadline)
{
    for (;;) {
        char c;
        long long left = deadline - vg_now_ms();
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (left <= 0)
            return true;
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0)
            continue;               /* EINTR: the deadline still bounds us */
        if (pr == 0)
            return true;
        if (read(fd, &c, 1) == 0)
            return false;           /* EOF: the child exited */
    }
}

/* Start the child on the requests, wait for it until `deadline`, stop it
 * if it is not done.  *got: the answers in m->area; *gone: false when a
 * killed child is stuck in the kernel and still shares m's memory. */
static int run_child(probe_mem *m, const vg_probe_req *req, long long deadline, size_t *got,
                     bool *timed_out, bool *gone, vg_error **err)
{
    int fds[2];

    *got = 0;
    *timed_out = false;
    *gone = true;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return vg_error_set_errno(err, errno, "cannot create a pipe for the mount probe");
    probe_job job = { .req = req, .scratch = m->scratch, .n = m->n, .res = m->area,
                      .done = m->done, .wfd = fds[1] };
    pid_t pid = start_child(&job, &m->stack);
    close(fds[1]);
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        return vg_error_set_errno(err, e, "cannot start the mount probe");
    }
    *timed_out = wait_for_child(fds[0], deadline);
    close(fds[0]);
    *got = __atomic_load_n(m->done, __ATOMIC_ACQUIRE);
    if (*got < m->n)
        kill(pid, SIGKILL);
    *gone = reap(pid, *got < m->n);
    return 0;
}

/* Run the requests; *in_flight is the index of the first request not
 * answered (n when all were). */
static int run_requests(const vg_probe_req *req, size_t n, unsigned timeout_ms,
                        vg_probe_res *res, long long *elapsed_ms, size_t *in_flight,
                        vg_error **err)
{
    long long start = vg_now_ms();
    probe_mem m;
    size_t got;
    bool timed_out, gone;
    int r;

    memset(res, 0, n * sizeof(*res));
    if (elapsed_ms)
        *elapsed_ms = 0;
    if (n == 0)
        return 0;
    if ((r = probe_mem_init(&m, req, n, err)) < 0)
        return r;
    r = run_child(&m, req, start + timeout_ms, &got, &timed_out, &gone, err);
    /* Copy what was answered, in order (answers arrive in request order). */
    for (size_t i = 0; i < got && i < n; i++)
        res[i] = m.area[i];
    if (gone)
        probe_mem_release(&m);
    /* else: a child stuck in the kernel still shares this memory; it is
     * deliberately leaked (it is killed, and runs no more user code). */
    if (r < 0)
        return r;
    if (elapsed_ms)
        *elapsed_ms = vg_now_ms() - start;
    *in_flight = got;
    if (timed_out)
        return -ETIMEDOUT;
    if (got < n)
        return vg_error_set(err, EIO, "the mount probe stopped after %zu of %zu checks", got, n);
    return 0;
}

int vg_probe_run(const vg_probe_req *req, size_t n, unsigned timeout_ms,
                 vg_probe_res *res, long long *elapsed_ms, vg_error **err)
{
    autostrv char **stale = registry_read();
    autostrv char **next = NULL;       /* the registry after this run */
    autofree vg_probe_req *all = vg_xcalloc(n + vg_strv_len(stale) + 1, sizeof(*all));
    autofree vg_probe_res *all_res = NULL;
    size_t n_all = n, in_flight = 0;
    int r;

    memset(res, 0, n * sizeof(*res));
    if (elapsed_ms)
        *elapsed_ms = 0;
    if (n == 0)
        return 0;
    /* Leftovers of killed probes in directories probed now go last, so they
     * never delay the real checks; the others wait for a later run. */
    memcpy(all, req, n * sizeof(*req));
    for (size_t i = 0; stale && stale[i]; i++) {
        bool here = false;
        for (size_t k = 0; k < n && !here; k++)
            here = req[k].op == VG_PROBE_CHOWN && directly_in(stale[i], req[k].path);
        if (here)
            all[n_all++] = (vg_probe_req){ .op = VG_PROBE_UNLINK, .path = stale[i] };
        else
            vg_strv_push(&next, vg_xstrdup(stale[i]));
    }
    all_res = vg_xcalloc(n_all, sizeof(*all_res));
    r = run_requests(all, n_all, timeout_ms, all_res, elapsed_ms, &in_flight, err);
    memcpy(res, all_res, n * sizeof(*res));

    for (size_t i = n; i < n_all; i++)
        if (!all_res[i].answered || (all_res[i].err && all_res[i].err != ENOENT))
            vg_strv_push(&next, vg_xstrdup(all[i].path));
    /* Killed while creating, changing or removing its scratch file. */
    if (in_flight < n && all[in_flight].op == VG_PROBE_CHOWN)
        vg_strv_push(&next, scratch_name(all[in_flight].path, in_flight));
    if (vg_strv_len(next) != vg_strv_len(stale) || n_all > n || (next && stale &&
        vg_strv_len(next) && strcmp(next[0], stale[0]) != 0))
        registry_write(next);

    if (r == -ETIMEDOUT && in_flight >= n)
        return 0;       /* only the clean-up of old leftovers ran out of time */
    return r;
}
