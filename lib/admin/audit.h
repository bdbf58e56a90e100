/* virtguard: `virtguard audit`: every running guest, as libvirt and as
 * /proc see it, its AppArmor label and mode, its DAC ids, and whether
 * virtguard's rules are in place and match its current XML.
 *
 * The libvirt API part lives in the CLI (tools/audit-libvirt.c: the one
 * place virtguard links libvirt); /proc is read here by an edge function
 * that takes the AppArmor label lookup as a parameter (aa_gettaskcon in the
 * CLI, fixture files in tests); vg_audit_judge() is pure. */
#pragma once

#include "checklist.h"
#include "vgconfig.h"

typedef struct vg_audit_seclabel {
    char *model;            /* "apparmor", "dac", "none" */
    char *label;            /* "libvirt-<uuid>", "+64055:+64055" */
    bool enforcing;
} vg_audit_seclabel;

typedef struct vg_audit_domain {
    /* from libvirt (read-only API) */
    char *name;
    char *uuid;
    int id;
    char *xml;              /* live XML (may be NULL) */
    vg_audit_seclabel *labels;
    size_t n_labels;
    /* virtguard's rules (vg_audit_read_rules) */
    bool needs_rules;       /* the domain touches a shared mount / extra root */
    char *rules_expected;   /* what its current XML needs; NULL: see rules_error */
    char *rules_error;
    char *rules_actual;     /* APPARMORDIR/libvirt/libvirt-UUID.virtguard; NULL: absent */
    bool profile_includes;  /* the main profile file includes it */
} vg_audit_domain;

typedef struct vg_audit_proc {
    int pid;
    unsigned uid;           /* effective ids from /proc/PID/status */
    unsigned gid;
    char *exe;              /* argv[0] */
    char *guest;            /* -name guest=NAME */
    char *uuid;             /* -uuid UUID */
    char *label;            /* AppArmor label, e.g. "libvirt-<uuid>" or "unconfined"; NULL unknown */
    char *mode;             /* "enforce", "complain", "unconfined"...; NULL unknown */
} vg_audit_proc;

typedef struct vg_audit_input {
    const vg_config *cfg;
    bool aa_enabled;                /* kernel AppArmor */
    const char *profiles;           /* /sys/kernel/security/apparmor/profiles text; NULL */
    const vg_audit_domain *doms;    /* running domains */
    size_t n_doms;
    const vg_audit_proc *procs;     /* QEMU processes found in /proc */
    size_t n_procs;
} vg_audit_input;

/* Label lookup for a pid: sets *label and *mode (new strings; mode may be
 * NULL); returns 0 or -errno. */
typedef int (*vg_label_fn)(int pid, char **label, char **mode, void *opaque);

/* QEMU processes under `proc_dir` ("/proc"): argv[0] named qemu-system-*,
 * qemu-kvm or kvm.  `label_fn` may be NULL (labels unknown). */
int vg_audit_scan_proc(const char *proc_dir, vg_label_fn label_fn, void *opaque,
                       vg_audit_proc **out, size_t *n_out, vg_error **err);
/* Pure parts of the scan: the NUL-separated cmdline, the status text. */
void vg_audit_parse_cmdline(const char *cmdline, size_t len, vg_audit_proc *p);
int vg_audit_parse_status(const char *status, unsigned *uid, unsigned *gid);
/* "NAME (MODE)" / "unconfined" → label and mode. */
void vg_audit_split_label(const char *con, char **label, char **mode);

/* Fill the rules fields of `d` from its XML: what the current XML needs
 * (policy.h) and what is on disk under `aa_dir`. */
void vg_audit_read_rules(const vg_config *cfg, const char *aa_dir, vg_audit_domain *d);

vg_checklist *vg_audit_judge(const vg_audit_input *in);

void vg_audit_domain_clear(vg_audit_domain *d);
void vg_audit_proc_clear(vg_audit_proc *p);
void vg_audit_procs_free(vg_audit_proc *p, size_t n);
