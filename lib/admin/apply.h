/* virtguard: `virtguard apply` - make a changed virtguard.conf take effect
 * where it needs an AppArmor reload: write the helper's roots include from
 * the config (`virtguard-helper roots`) and reload the helper's profile
 * (`apparmor_parser -r`).  The reload must come from outside libvirtd: the
 * hooks run under libvirtd's profile, which denies apparmor_parser and the
 * kernel's policy files, and the helper's own profile cannot load policy
 * (docs/SECURITY.md, "Privilege path").  The package's virtguard-apply.path
 * unit runs it when virtguard.conf changes; an admin may run it by hand.
 *
 * Idempotent: an unchanged include is left alone and the profile is
 * reloaded (or, with no AppArmor in the kernel, only compiled: -Q). */
#pragma once

#include "checklist.h"

typedef struct vg_apply_env {
    const char *helper;         /* SBINDIR "/virtguard-helper" */
    const char *parser;         /* VG_APPARMOR_PARSER */
    const char *config_path;    /* NULL: the helper's default */
    const char *apparmor_dir;   /* APPARMORDIR: the profile, its includes (--base) */
    const char *run_dir;        /* NULL: the helper's default (its lock) */
    bool aa_enabled;            /* the kernel has AppArmor: load, else compile only */
    unsigned timeout_ms;        /* each step */
} vg_apply_env;

/* Run both steps (the second only when the first worked).  The checklist
 * ("apply") has one check per step, topic "roots" and "profile": PASS with
 * what was done, or FAIL with the step's own output as detail.  Exit status
 * (vg_checklist_exit_status): 0 applied, 1 a step failed, 2 a program
 * could not be started (incomplete). */
vg_checklist *vg_apply_run(const vg_apply_env *env);
