/* virtguard: run a program with a bounded wait (lib/base/subprocess.h). */
#include <config.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "subprocess.h"

void (*vg_spawn_started_hook)(pid_t pid);

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

/* Wait for `pid` until `until_ms` (WNOHANG polling).  true: reaped. */
static bool reap_until(pid_t pid, long long until_ms, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return true;
        if (r < 0 && errno != EINTR)
            return true;        /* not our child any more: nothing to wait for */
        if (vg_now_ms() >= until_ms)
            return false;
        usleep(2000);
    }
}

/* In the child: its own process group, so that a timeout reaches whatever
 * it forks (apparmor_parser compiles in a worker child); the pipes as its
 * standard streams; then the program. */
static void child_exec(char *const argv[], int in, int out) VG_NORETURN;
static void child_exec(char *const argv[], int in, int out)
{
    if (setpgid(0, 0) < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
        dup2(out, STDERR_FILENO) < 0)
        _exit(127);
    execv(argv[0], argv);
    dprintf(STDERR_FILENO, "cannot run '%s': %s", argv[0], strerror(errno));
    _exit(127);
}

/* The end of a run: wait for the child until `deadline`; past it (or when
 * the caller already saw the deadline pass: res->timed_out), kill its whole
 * process group and wait `grace_ms` more. */
static void reap_or_kill(pid_t pid, long long deadline, unsigned grace_ms, vg_spawn_result *res)
{
    if (!res->timed_out) {
        /* Output closed: the child is exiting, or a descendant kept the
         * pipe open until now.  Either way the deadline still holds. */
        res->exited = reap_until(pid, deadline, &res->status);
        if (!res->exited)
            res->timed_out = true;
    }
    if (!res->timed_out)
        return;
    /* The whole group, while the unreaped child still holds its id (so the
     * id cannot name another group), then the child itself in case it left
     * the group. */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    /* A child in an uninterruptible sleep (a FUSE request that is never
     * answered) does not die from SIGKILL: leave it to init.  So may a
     * grandchild in one; the others are gone with the group. */
    bool gone = reap_until(pid, vg_now_ms() + grace_ms, &res->status);
    res->left_behind = !gone;
    res->exited = false;
}

int vg_spawn_run(char *const argv[], const char *input, size_t len, unsigned timeout_ms,
                 unsigned grace_ms, size_t max_output, vg_spawn_result *res, vg_error **err)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    vg_buf b = { 0 };
    pid_t pid;
    size_t written = 0;
    long long deadline = vg_now_ms() + timeout_ms;

    memset(res, 0, sizeof(*res));
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        return vg_error_set_errno(err, e, "cannot create pipes to run '%s'", argv[0]);
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        return vg_error_set_errno(err, e, "cannot fork to run '%s'", argv[0]);
    }
    if (pid == 0)
        child_exec(argv, in[0], out[1]);
    /* The parent sets it too: whichever runs first, the group exists
     * before either side goes on (EACCES once the child has exec'd, when
     * the child's own call has already done it). */
    (void)setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    if (vg_spawn_started_hook)
        vg_spawn_started_hook(pid);
    /* Neither end may block us: a child that never reads its input must
     * not stall the write past the deadline. */
    (void)fcntl(in[1], F_SETFL, O_NONBLOCK);
    (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
    int wfd = in[1], rfd = out[0];
    if (len == 0) {
        close(wfd);
        wfd = -1;
    }
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);

    while (rfd >= 0) {
        struct pollfd p[2];
        nfds_t np = 0;
        long long left = deadline - vg_now_ms();
        if (left <= 0) {
            res->timed_out = true;
            break;
        }
        p[np++] = (struct pollfd){ .fd = rfd, .events = POLLIN };
        if (wfd >= 0)
            p[np++] = (struct pollfd){ .fd = wfd, .events = POLLOUT };
        int pr = poll(p, np, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            break;
        if (np == 2 && p[1].revents) {
            ssize_t n = write(wfd, input + written, len - written);
            if (n > 0)
                written += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == len) {
                close(wfd);     /* done, or the child stopped reading (EPIPE) */
                wfd = -1;
            }
        }
        if (p[0].revents) {
            char chunk[4096];
            ssize_t n = read(rfd, chunk, sizeof(chunk));
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                close(rfd);     /* EOF: every writer is gone */
                rfd = -1;
                break;
            }
            if (b.len < max_output)
                vg_buf_addn(&b, chunk, (size_t)n < max_output - b.len ? (size_t)n : max_output - b.len);
        }
    }
    if (wfd >= 0)
        close(wfd);
    if (rfd >= 0)
        close(rfd);
    sigaction(SIGPIPE, &old_pipe, NULL);

    reap_or_kill(pid, deadline, grace_ms, res);
    res->output = vg_buf_steal(&b);
    return 0;
}

int vg_spawn_exit_status(const vg_spawn_result *res)
{
    return res->exited && WIFEXITED(res->status) ? WEXITSTATUS(res->status) : -1;
}

void vg_spawn_result_clear(vg_spawn_result *res)
{
    free(res->output);
    memset(res, 0, sizeof(*res));
}
