/* virtguard: `virtguard explain`: log text in, causes and narrow fixes out.
 *
 *   log   = vg_explain_parse(text)                pure: lines → events
 *   paths = vg_explain_paths(log)                 what the caller may stat
 *   facts = mounts, config, QEMU ids, UUID → name, stat results (edges)
 *   list  = vg_explain_judge(log, facts)          pure: events → checks
 *
 * Recognised lines:
 *  - kernel AppArmor audit records in every format seen (dmesg
 *    "[  12.3] audit: type=1400 audit(...): apparmor=\"DENIED\" ...",
 *    journal "kernel: audit: ...", audit.log "type=AVC msg=audit(...): ..."),
 *    values quoted or hex-encoded (the kernel hex-encodes a value holding a
 *    space, a quote or a control character) -- by the record's grammar
 *    only (explain.c: line_tags[], record_heads[], key=value fields): a
 *    record quoted inside another message is not one;
 *  - libvirt errors: "Cannot access storage file '...' (as uid:U, gid:G): E",
 *    "Cannot access backing file '...' of storage file '...'",
 *    QEMU's "Could not open '...': E", "Hook script execution failed: ...",
 *    "Unable to set XATTR NAME on PATH: E" (and get/remove), any other line
 *    saying "Permission denied" about a quoted absolute path (the images'
 *    writer: "PermissionError: [Errno 13] Permission denied: '/p'", "cp:
 *    cannot open '/p' for reading: Permission denied"), and "Failed to start domain
 *    'NAME'" (context for the lines that follow, until a blank line).
 * Anything else is counted as unknown, never guessed at.  Every text taken
 * from the input is kept in its shown form (vg_buf_add_shown).  Proposals:
 * docs/SECURITY.md, "What explain trusts". */
#pragma once

#include "checklist.h"
#include "dac.h"
#include "domain-files.h"
#include "explain-stack.h"
#include "lima.h"
#include "mountinfo.h"
#include "vgconfig.h"

typedef enum {
    VG_EV_APPARMOR,         /* apparmor="DENIED" / "ALLOWED" / other */
    VG_EV_STORAGE,          /* Cannot access storage/backing file */
    VG_EV_OPEN,             /* Could not open '...' */
    VG_EV_HOOK,             /* Hook script execution failed */
    VG_EV_XATTR,            /* Unable to set/get/remove XATTR */
    VG_EV_WRITER_DENIED,    /* another program's "Permission denied" on a
                               quoted absolute path (the images' writer) */
} vg_event_kind;

typedef struct vg_explain_event {
    vg_event_kind kind;
    unsigned line;          /* 1-based */
    char *domain;           /* named on the line or by the context; may be NULL */
    char *path;             /* the file the line is about; may be NULL */
    char *error;            /* "Permission denied", "No such file or directory"... */
    bool unshown;           /* a name (path, profile, domain) had to be shown
                               escaped: it names nothing a rule may grant */
    /* VG_EV_APPARMOR */
    char *aa_result;        /* "DENIED", "ALLOWED", "STATUS", "AUDIT"... */
    char *operation;
    char *profile;
    char *comm;
    char *requested_mask;
    char *denied_mask;
    long long fsuid;        /* -1 when absent */
    long long ouid;
    /* VG_EV_STORAGE */
    char *backing_of;       /* "backing file X of storage file Y": Y */
    long long as_uid;       /* "(as uid:U, gid:G)"; -1 when absent */
    long long as_gid;
    /* VG_EV_HOOK */
    char *hook;             /* the hook program */
    char *hook_op;          /* "prepare begin" */
    char *hook_message;     /* what it wrote on stderr (may span lines) */
    /* VG_EV_XATTR */
    char *xattr;
} vg_explain_event;

typedef struct vg_explain_log {
    vg_explain_event *v;
    size_t n;
    size_t n_lines;         /* lines read */
    size_t n_blank;
    size_t n_context;       /* "Failed to start domain", hook continuation lines */
    size_t n_unknown;       /* lines not recognised */
    vg_stack_log stack;     /* Seatbelt, VZErrorDomain, LXC lines (explain-stack.h) */
} vg_explain_log;

/* Never fails on content; NUL bytes end a line's text. */
vg_explain_log *vg_explain_parse(const char *text, size_t len);
void vg_explain_log_free(vg_explain_log *l);
static inline void vg_explain_log_freep(vg_explain_log **l) { vg_explain_log_free(*l); }
#define autoexplainlog _cleanup_(vg_explain_log_freep)

/* Decode the value of field `key` of an audit record (a whole line, or its
 * field list alone): "key=\"v\"", "key=HEX" for the untrusted-string keys,
 * "key=v".  NULL when absent or when `record` does not parse as fields. */
char *vg_audit_field(const char *record, const char *key);

/* The AppArmor file permissions for a kernel mask ("r", "wc", "rwk"...):
 * c/d/a become w (a alone stays a), x becomes ix; canonical order. */
char *vg_aa_perms_from_mask(const char *mask);

typedef struct vg_file_fact {
    char *path;
    bool answered;          /* false: the probe did not get to it in time */
    int err;                /* 0 or errno of stat */
    uid_t uid;
    gid_t gid;
    unsigned mode;
} vg_file_fact;

typedef struct vg_explain_facts {
    const vg_config *cfg;       /* shared mounts, extra roots, path_map */
    const char *config_path;    /* for messages */
    const vg_mounts *mounts;    /* NULL: not known */
    bool lima;                  /* the host is a Lima guest */
    const vg_fstab *fstab;      /* /etc/fstab; NULL: not known */
    const vg_ids *qemu;         /* QEMU's ids from qemu.conf; NULL: not known */
    const vg_name_entry *names; /* UUID → domain name (domain-files.h) */
    size_t n_names;
    const vg_file_fact *files;  /* stat results of vg_explain_paths() */
    size_t n_files;
    /* libvirt's domains and their files (domain-files.h): with them a QEMU
     * denial of a file its domain does not use is explained as intended
     * and no rule is proposed.  NULL: not looked up. */
    const vg_domain_files *domains;
    size_t n_domains;
    const char *domains_from;   /* where they were read, for messages */
} vg_explain_facts;

/* The file paths worth a stat(2) for the judgement (NULL-terminated,
 * never NULL): files of DAC, missing-file, xattr and writer errors (not a
 * name shown escaped: that is not the file's name). */
char **vg_explain_paths(const vg_explain_log *log);

/* One check per distinct problem (repeats are counted in attr "count").
 * Attributes: "line", "cause" (apparmor, apparmor-complain, virt-aa-helper,
 * dac, missing-mount, missing-file, hook, xattr, owner-lost, other), "domain", "uuid",
 * "profile", "path", "rule".  Summary: lines, recognised, unknown. */
vg_checklist *vg_explain_judge(const vg_explain_log *log, const vg_explain_facts *facts);
