/* virtguard: run a program with a deadline that nothing can stretch.
 *
 * The hook runs inside libvirtd's start path, synchronously and without a
 * timeout of libvirt's own: whatever it waits for must be bounded.  A child
 * that touches a hung shared mount may sit in an uninterruptible sleep where
 * even SIGKILL does not end it; then it is left behind, not waited for.  Once
 * the caller exits, the orphan is re-parented to init (or the nearest
 * subreaper), which reaps it when the mount is released and the kill lands.
 *
 * Every child runs in a process group of its own (setpgid in the child and
 * in the parent, so neither side can race the other), and a timeout sends
 * SIGKILL to the whole group: a worker the child forked (apparmor_parser
 * compiles in one) goes with it instead of running on under init.  A
 * descendant that left the group (setsid, setpgid) is out of reach, and one
 * in an uninterruptible sleep outlives the kill until the kernel lets it
 * go; only the direct child is reaped. */
#pragma once

#include "error.h"

typedef struct vg_spawn_result {
    char *output;           /* stdout and stderr together, at most `max_output` bytes; never NULL */
    int status;             /* waitpid status; valid when `exited` */
    bool exited;            /* the child ended and was reaped */
    bool timed_out;         /* the deadline passed: the child's process group was sent SIGKILL */
    bool left_behind;       /* killed, but still not gone after the grace period: not reaped */
} vg_spawn_result;

/* Run `argv` (argv[0] an absolute path; no PATH search) with `input` on its
 * standard input and both its output streams collected.  The whole run -
 * writing the input, reading the output, waiting for the exit - takes at
 * most `timeout_ms`, plus `grace_ms` for a killed child to go away.
 * Returns 0 and *res (even when the child failed or timed out; free with
 * vg_spawn_result_clear), or -errno and *err when it could not be started. */
int vg_spawn_run(char *const argv[], const char *input, size_t len, unsigned timeout_ms,
                 unsigned grace_ms, size_t max_output, vg_spawn_result *res, vg_error **err);

/* Test-only (the helper's --test-kill-at): when set, called in the parent
 * right after the child is forked, before any input is written. */
extern void (*vg_spawn_started_hook)(pid_t pid);

/* Exit status of a child that exited normally, else -1. */
int vg_spawn_exit_status(const vg_spawn_result *res);

void vg_spawn_result_clear(vg_spawn_result *res);
