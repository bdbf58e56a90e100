/* virtguard: `virtguard explain` for the rest of the stack a sandboxed
 * libvirt host runs on (read by vg_explain_parse, judged by
 * vg_explain_judge; pure).
 *
 *  - macOS Seatbelt denials, as `log stream --style compact --predicate
 *    'eventMessage CONTAINS "Sandbox: "'` prints them:
 *      ... Sandbox: PROCESS(PID) deny(N) OPERATION ARGS
 *    → per process, deduplicated, Seatbelt allow rules each for only the
 *    object denied (vg_seatbelt_rule) and the same grants as a nono
 *    profile (JSON);
 *  - Virtualization.framework's `VZErrorDomain Code=1` (limactl's "Internal
 *    Virtualization error"), whose usual cause is a Seatbelt denial;
 *  - LXC's "explicitly configured lxc.apparmor.profile overrides the
 *    following settings: features:nesting";
 *  - a container config line "lxc.apparmor.profile: unconfined" (Proxmox)
 *    or "lxc.apparmor.profile = unconfined" (LXC), alone or after grep's
 *    "FILE:", and aa-status's "N processes are unconfined but have a
 *    profile defined." (N > 0).
 */
#pragma once

#include "checklist.h"

typedef struct vg_seatbelt_denial {
    unsigned line;
    char *process;          /* "limactl" */
    long pid;
    char *operation;        /* "mach-lookup", "file-read-data"... */
    char *argument;         /* first argument: a service name, a path...; may be NULL */
    char *rest;             /* everything after OPERATION, for messages */
    bool unshown;           /* the process or the argument had to be shown
                               escaped: no rule names it */
} vg_seatbelt_denial;

typedef struct vg_stack_log {
    vg_seatbelt_denial *sb;
    size_t n_sb;
    unsigned vz_line;       /* first VZErrorDomain Code=1 line; 0: none */
    unsigned lxc_line;      /* first LXC nesting override line; 0: none */
    unsigned unconfined_line;   /* first "lxc.apparmor.profile: unconfined"; 0: none */
    char unconfined_sep;        /* ':' (Proxmox ID.conf) or '=' (LXC config) */
    char *unconfined_file;      /* "FILE:" before it (grep output), or NULL */
    unsigned aa_unconfined_line;    /* aa-status "N processes are unconfined"; 0: none */
    long aa_unconfined_n;
    size_t n_lines;         /* lines recognised */
    /* Set by the caller for each line: the line was joined or unwrapped
     * from a message (explain-input.h).  A Seatbelt denial is then not
     * read: a rule names a path exactly as one physical log line shows
     * it, never one that a join of two lines made up. */
    bool line_from_message;
} vg_stack_log;

/* One log line: true when it is one of the kinds above (then it is
 * recorded in `s`). */
bool vg_stack_parse_line(vg_stack_log *s, const char *line, unsigned lineno);

/* After parsing: every text taken from the input becomes its shown form
 * (vg_buf_add_shown), as explain.c does with its own events. */
void vg_stack_show(vg_stack_log *s);

/* The Seatbelt rule allowing exactly the object of one denial (newly
 * allocated), or NULL when virtguard knows no such rule for that operation
 * or will not propose one (then it proposes nothing).  A file operation
 * gets a `literal` of the path denied, never a `subpath` (a directory
 * listing of "/Users/dev/" is the literal "/Users/dev"); no rule for a
 * path under a restricted prefix (vg_aa_restricted_root, /private/... read
 * as macOS's /etc, /var, /tmp), for a path with '.' or '..' components or
 * for a name shown escaped.  /etc, /var and /tmp become /private/... as
 * macOS resolves them. */
char *vg_seatbelt_rule(const vg_seatbelt_denial *d);

/* Add the findings: one per process with Seatbelt denials (attrs "cause"
 * seatbelt, "process", "pids", "seatbelt_rules", "nono_profile"), one for
 * VZErrorDomain (cause "vz-error"), one for the LXC line (cause
 * "lxc-nesting"), one for an unconfined container (cause
 * "lxc-unconfined") and one for aa-status's count (cause
 * "aa-unconfined"). */
void vg_stack_judge(const vg_stack_log *s, vg_checklist *out);

void vg_stack_log_clear(vg_stack_log *s);
