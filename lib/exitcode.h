/* virtguard: the exit codes of every virtguard binary (the qemu hook, the
 * helper and the CLI), documented in virtguard(8) and virtguard-helper(8). */
#pragma once

typedef enum vg_exit {
    VG_EXIT_OK = 0,             /* hook: start allowed; helper: done; CLI: nothing wrong */
    VG_EXIT_PROBLEMS = 1,       /* hook: refused; helper: failed; CLI: problems found */
    VG_EXIT_CANNOT_RUN = 2,     /* bad usage, or the command could not run at all */
} vg_exit;
