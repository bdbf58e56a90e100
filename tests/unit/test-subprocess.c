/* Unit tests for lib/base/subprocess.c: a child run with a deadline nothing can
 * stretch (the D-state case, a child SIGKILL cannot end, is integration
 * scenario 09 with hangfs). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include "subprocess.h"

static int run_sh(const char *script, const char *input, size_t len, unsigned timeout_ms,
                  vg_spawn_result *res)
{
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)script, NULL };
    autoerror vg_error *err = NULL;
    return vg_spawn_run(argv, input, len, timeout_ms, 200, 64, res, &err);
}

static void test_exit_and_output(void **state)
{
    (void)state;
    vg_spawn_result res;
    assert_int_equal(run_sh("cat; echo err >&2; exit 3", "in\n", 3, 5000, &res), 0);
    assert_true(res.exited);
    assert_false(res.timed_out);
    assert_int_equal(vg_spawn_exit_status(&res), 3);
    assert_string_equal(res.output, "in\nerr\n");
    vg_spawn_result_clear(&res);
}

static void test_output_capped(void **state)
{
    (void)state;
    vg_spawn_result res;
    assert_int_equal(run_sh("i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done",
                            "", 0, 5000, &res), 0);
    assert_int_equal(vg_spawn_exit_status(&res), 0);
    assert_int_equal(strlen(res.output), 64);
    vg_spawn_result_clear(&res);
}

/* A child that never reads its input and never ends: the 1 MiB write must
 * not block past the deadline. */
static void test_deadline_with_unread_input(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    char *big = vg_xcalloc(1, len);
    memset(big, 'x', len);
    vg_spawn_result res;
    long long t0 = vg_now_ms();
    assert_int_equal(run_sh("exec sleep 30", big, len, 300, &res), 0);
    long long took = vg_now_ms() - t0;
    assert_true(res.timed_out);
    assert_false(res.exited);
    assert_false(res.left_behind);      /* sleep dies from SIGKILL */
    assert_int_equal(vg_spawn_exit_status(&res), -1);
    if (took > 2000)
        fail_msg("the run took %lld ms; the bound is 300 ms + 200 ms grace", took);
    vg_spawn_result_clear(&res);
    free(big);
}

/* A grandchild that keeps the output pipe open does not stretch the wait. */
static void test_deadline_with_lingering_grandchild(void **state)
{
    (void)state;
    vg_spawn_result res;
    long long t0 = vg_now_ms();
    assert_int_equal(run_sh("sleep 3 & exit 0", "", 0, 300, &res), 0);
    long long took = vg_now_ms() - t0;
    /* the child itself exited at once; its output never closed */
    assert_true(res.timed_out || res.exited);
    if (took > 2000)
        fail_msg("the run took %lld ms; the bound is 300 ms + 200 ms grace", took);
    vg_spawn_result_clear(&res);
}

static void test_not_executable(void **state)
{
    (void)state;
    char *argv[] = { (char *)"/nonexistent/virtguard-helper", NULL };
    autoerror vg_error *err = NULL;
    vg_spawn_result res;
    assert_int_equal(vg_spawn_run(argv, "", 0, 5000, 200, 4096, &res, &err), 0);
    assert_int_equal(vg_spawn_exit_status(&res), 127);
    assert_string_equal(res.output, "cannot run '/nonexistent/virtguard-helper': "
                                    "No such file or directory");
    vg_spawn_result_clear(&res);
}

static pid_t started_pid;
static void note_started(pid_t pid)
{
    started_pid = pid;
}

/* The started hook runs in the parent, with the child's pid, before the
 * input is written; a child killed by a signal is reaped with its status. */
static void test_started_hook_and_signal(void **state)
{
    (void)state;
    vg_spawn_result res;
    started_pid = 0;
    vg_spawn_started_hook = note_started;
    assert_int_equal(run_sh("cat >/dev/null; kill -9 $$", "x", 1, 5000, &res), 0);
    vg_spawn_started_hook = NULL;
    assert_true(started_pid > 0);
    assert_true(res.exited);
    assert_false(res.timed_out);
    assert_true(WIFSIGNALED(res.status));
    assert_int_equal(WTERMSIG(res.status), SIGKILL);
    assert_int_equal(vg_spawn_exit_status(&res), -1);
    vg_spawn_result_clear(&res);
}

/* Live (not zombie) processes whose process group is `pgid`, from
 * /proc/PID/stat: "PID (COMM) STATE PPID PGRP ...", COMM may hold spaces. */
static int live_in_group(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d))) {
        autofree char *path = vg_xasprintf("/proc/%s/stat", de->d_name);
        autofree char *stat = NULL;
        char state;
        int ppid, pgrp;
        if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
            vg_read_file(path, 4096, &stat, NULL) < 0)
            continue;
        const char *rp = strrchr(stat, ')');
        if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            n++;
    }
    closedir(d);
    return n;
}

/* The child runs in a group of its own; on timeout the whole group dies:
 * the child and the grandchild it forked (as apparmor_parser forks its
 * compile worker), not only the child. */
static void test_timeout_kills_the_group(void **state)
{
    (void)state;
    vg_spawn_result res;
    started_pid = 0;
    vg_spawn_started_hook = note_started;
    assert_int_equal(run_sh("sleep 1000 & sleep 1000; wait", "", 0, 300, &res), 0);
    vg_spawn_started_hook = NULL;
    assert_true(started_pid > 0);
    assert_true(res.timed_out);
    assert_false(res.left_behind);
    /* the group's id is the child's pid; what SIGKILL hit goes away at once
     * (give init a moment to reap the orphaned grandchild) */
    long long until = vg_now_ms() + 2000;
    while (live_in_group(started_pid) > 0 && vg_now_ms() < until)
        usleep(10000);
    assert_int_equal(live_in_group(started_pid), 0);
    assert_int_equal(getpgid(0), getpgrp());    /* we stayed in ours */
    assert_true(getpgrp() != started_pid);
    vg_spawn_result_clear(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_and_output),
        cmocka_unit_test(test_output_capped),
        cmocka_unit_test(test_deadline_with_unread_input),
        cmocka_unit_test(test_deadline_with_lingering_grandchild),
        cmocka_unit_test(test_not_executable),
        cmocka_unit_test(test_started_hook_and_signal),
        cmocka_unit_test(test_timeout_kills_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
