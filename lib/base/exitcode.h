/* virtguard: the exit codes of every virtguard binary (the qemu hook, the
 * helper and the CLI), documented in virtguard(8) and virtguard-helper(8). */
#pragma once

typedef enum vg_exit {
    VG_EXIT_OK = 0,             /* hook: start allowed; helper: done; CLI: nothing wrong */
    VG_EXIT_PROBLEMS = 1,       /* hook: refused; helper: failed; CLI: problems found */
    VG_EXIT_CANNOT_RUN = 2,     /* bad usage, or the command could not run at all */
} vg_exit;

/* The one severity: of a guard finding (guard.h) and of an admin report's
 * check (checklist.h).  FAIL leads to VG_EXIT_PROBLEMS (for a finding: the
 * start is refused in enforce mode); the others do not. */
typedef enum {
    VG_CHECK_PASS,
    VG_CHECK_INFO,          /* a fact worth showing, not a judgement */
    VG_CHECK_WARN,
    VG_CHECK_FAIL,
} vg_check_status;
