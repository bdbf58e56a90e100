/* virtguard: the decision the hook makes at prepare/start, as a value.
 * The hook prints it and exits; `virtguard check` prints the same text.
 *
 * The result types, each built from the one before, never back:
 *   vg_report (guard.h)       the guard's findings for one domain: kind,
 *                             severity, path, message
 *   vg_verdict (here)         config + domain + report: the decision, and the
 *                             hook's stderr text and syslog line, rendered once
 *   vg_checklist (checklist.h) the admin reports' data (doctor, explain, audit,
 *                             and `check --json` through verdict-report.h) and
 *                             their two renderers, text and JSON
 * One severity, vg_check_status (exitcode.h), for findings and checks alike.
 * The checklist takes the verdict's data (reason, findings), not its
 * rendered text. */
#pragma once

#include "exitcode.h"
#include "guard.h"
#include "hook-op.h"

typedef enum {
    VG_VERDICT_SKIP,        /* no file on a shared mount, a path_map FROM or an
                               apparmor_extra_roots directory */
    VG_VERDICT_ALLOW,       /* checked, all fine */
    VG_VERDICT_WARN,        /* problems found, dev mode: start proceeds */
    VG_VERDICT_REFUSE,      /* problems found, enforce mode: start refused */
    VG_VERDICT_CONFIG,      /* virtguard.conf unusable (refuse unless it says dev) */
    VG_VERDICT_INPUT,       /* the domain XML could not be read or parsed */
} vg_verdict_kind;

typedef struct vg_verdict {
    vg_verdict_kind kind;
    bool dev_mode;
    char *domain;           /* may be NULL when the XML could not be parsed */
    char *uuid;             /* the domain's <uuid> as written; NULL when absent or unparsed */
    size_t n_extra;         /* paths only under apparmor_extra_roots (rules, no mount check) */
    char *reason;           /* no findings to say it (CONFIG, INPUT, or the guard could
                               not run): why, whole sentences without the "virtguard: "
                               prefix; NULL otherwise */
    char *text;             /* what to show the user (stderr of the hook), rendered from
                               `reason` or the report's findings; "" if nothing */
    char *log_line;         /* one line for syslog; NULL = nothing to log */
    bool warns;             /* ALLOW whose text carries a WARNING (log it as one) */
    vg_report *report;      /* NULL unless the guard ran */
    vg_config *config;      /* the config used; NULL when it could not be loaded */
    bool apparmor_active;   /* per-domain rules are to be written for this domain */
} vg_verdict;

/* Put before a message about a problem that dev mode lets pass. */
#define VG_DEV_PREFIX "WARNING (dev mode): "

/* Should the helper write AppArmor rules, given the setting and the kernel? */
bool vg_apparmor_active(const vg_config *cfg, bool aa_enabled);

/* Is the domain virtguard's business at all: a path (as written, no I/O)
 * under a shared mount, a path_map FROM or an apparmor_extra_roots
 * directory?  The hook's fast path, `virtguard check` and `virtguard
 * profile` all ask this one question, so they agree on which domains get
 * rules. */
bool vg_verdict_in_scope(const vg_config *cfg, const vg_domain *dom);

/* The verdict for starting the domain in `xml` (`xml_name` names it in
 * messages), decided first, then rendered once (text, log_line).  `op` is
 * the hook operation it is made for (VG_HOOK_OP_PREPARE, VG_HOOK_OP_START:
 * at prepare the owner warning is left to start) or VG_HOOK_OP_CHECK;
 * its name starts the log line.  `config_path` NULL means the default
 * path.  Never fails: every failure is a verdict (CONFIG, INPUT, or
 * WARN/REFUSE with a reason).  Free with vg_verdict_clear(). */
void vg_verdict_make(const char *config_path, const char *xml, size_t len, const char *xml_name,
                     vg_hook_op op, const vg_guard_env *env, vg_verdict *out);
/* Exit status for the hook: 1 for REFUSE, CONFIG (not dev) and INPUT (not dev), else 0. */
int vg_verdict_hook_status(const vg_verdict *v);
/* The hook's exit status when a step after an allowing verdict fails (the
 * AppArmor rules cannot be put in place, earlier changes cannot be taken
 * back): VG_EXIT_PROBLEMS (refused), VG_EXIT_OK in dev mode. */
int vg_verdict_failure_status(const vg_verdict *v);
/* The same decision where only the config is at hand (the hook's path_map
 * rewrite at migrate/restore): VG_EXIT_OK in dev mode, else VG_EXIT_PROBLEMS. */
int vg_config_failure_status(const vg_config *cfg);
/* "warned" or "refused": the word for a failure status, in syslog lines. */
const char *vg_failure_word(int status);
/* A shared mount did not answer the guard.  Only a dev-mode verdict lets
 * such a start go on (WARN); then the hook writes no AppArmor rules: the
 * helper would block on the same mount. */
bool vg_verdict_mount_hung(const vg_verdict *v);
const char *vg_verdict_kind_name(vg_verdict_kind k);
void vg_verdict_clear(vg_verdict *v);
