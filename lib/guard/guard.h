/* virtguard: the start guard.  Decides, for one domain, whether its files
 * on the configured shared mounts are really there and reachable by QEMU.
 *
 *   vg_guard_plan_init(config, domain)     pure: the paths to check, each mount once
 *   vg_guard_who_resolve(qemu.conf, dom)   QEMU's ids (reads passwd/group)
 *   vg_mountinfo_read()                    the mount table
 *   vg_guard_plan_requests(plan, ...)      pure: the probe requests, each item and
 *                                          mount holding the indexes of its own
 *   vg_probe_run(plan->req)                the only I/O on the mounts (probe.c)
 *   vg_guard_judge(plan, results, mounts, who)
 *                                          the findings; pure but for resolving the
 *                                          label it proposes in passwd/group
 *
 * vg_guard_run() does the steps after the plan, in that order.  The verdict
 * (verdict.h) makes the plan once, for its fast path and for the run, and
 * turns the report into the hook's decision. */
#pragma once

#include "dac.h"
#include "exitcode.h"
#include "domain-paths.h"
#include "mountinfo.h"
#include "probe.h"
#include "qemuconf.h"
#include "storage-pool.h"
#include "vgconfig.h"

typedef enum {
    VG_FIND_UNMAPPED,       /* path under a path_map FROM: should have been rewritten */
    VG_FIND_NOT_MOUNTED,    /* no mount at the shared mount point */
    VG_FIND_SHADOW,         /* mount entry, but same device as the parent */
    VG_FIND_FSTYPE,         /* mounted with a type not in shared_fs_types */
    VG_FIND_TIMEOUT,        /* the mount did not answer in time */
    VG_FIND_MISSING,        /* the file does not exist */
    VG_FIND_DAC,            /* QEMU's uid/gid cannot open it */
    VG_FIND_STATE_DIR,      /* QEMU's uid/gid cannot reach libvirt's state dir */
    VG_FIND_IDENTITY,       /* QEMU's user/group cannot be resolved */
    VG_FIND_SECURITY_NONE,  /* qemu.conf security_driver = "none" with AppArmor available */
    VG_FIND_OWNER_LOST,     /* warning: libvirt's chown works on the share and
                               its undo at stop cannot restore the owner */
} vg_finding_kind;

typedef struct vg_finding {
    vg_finding_kind kind;
    vg_check_status status; /* VG_CHECK_FAIL: refuses the start in enforce mode;
                               VG_CHECK_INFO: said, never refuses (the owner
                               warning) */
    char *path;             /* may be NULL */
    char *message;          /* whole sentences: what, why, the fix (as the hook
                               prints it) */
    char *fix;              /* the fix alone, the end of message after one
                               space; NULL when there is none */
} vg_finding;

typedef struct vg_report {
    char *domain;
    size_t n_shared;        /* domain paths found under shared mounts */
    vg_finding *v;
    size_t n;
    long long probe_ms;
} vg_report;

typedef struct vg_guard_env {
    const char *passwd_file;    /* NULL: /etc/passwd */
    const char *group_file;     /* NULL: /etc/group */
    const char *mountinfo;      /* NULL: /proc/self/mountinfo */
    const char *state_dir;      /* NULL: libvirt's qemu state dir */
    bool aa_enabled;            /* the kernel has AppArmor enabled (aa_is_enabled()) */
    /* Tests only: edit the probe's answers before they are judged, to
     * stand for what this machine's filesystems cannot show (NULL: none). */
    void (*probe_edit)(const vg_probe_req *req, vg_probe_res *res, size_t n, void *opaque);
    void *probe_opaque;
    const vg_pool_source *pools;/* NULL: storage volumes from libvirt's pool files */
    const char *qemu_conf;      /* NULL: the config's qemu_conf ('check --qemu-conf') */
    const char *domain_name;    /* the hook's argv name, shown escaped (NULL: unknown) */
} vg_guard_env;

/* One domain path that lies under a shared mount (or a path_map FROM):
 * what the judge needs of it.  The *_req fields index plan->req; they are
 * SIZE_MAX until vg_guard_plan_requests(). */
typedef struct vg_guard_item {
    const vg_domain_path *dp;   /* borrowed from the domain */
    char *path;                 /* normalised absolute path */
    const char *mount;          /* borrowed from config: the shared mount; NULL when unmapped */
    const vg_path_map *unmapped;/* non-NULL: under this map's FROM (and no shared mount) */
    size_t mount_ix;            /* plan->mounts[] of `mount`; SIZE_MAX when unmapped */
    size_t file_req;            /* stat of `path` */
    size_t *dir_req;            /* stat of every proper ancestor, "/" first */
    size_t n_dirs;
} vg_guard_item;

/* One shared mount that some item lies under, listed once. */
typedef struct vg_guard_mount {
    const char *mount;          /* borrowed from config */
    size_t statfs_req;          /* statfs of the mount point */
    size_t parent_req;          /* stat of its parent directory */
    size_t chown_req;           /* the chown test; SIZE_MAX: not asked (libvirt will not
                                   chown, QEMU's ids unknown, or not a shared_fs_types mount) */
} vg_guard_mount;

typedef struct vg_guard_plan {
    const vg_config *cfg;       /* borrowed */
    const vg_domain *dom;       /* borrowed */
    vg_guard_item *v;
    size_t n;                   /* 0: the domain touches no shared mount or path_map FROM */
    size_t n_extra;             /* paths only under apparmor_extra_roots (normalised, no
                                   I/O): they need no mount or DAC check but do get
                                   AppArmor rules */
    vg_guard_mount *mounts;
    size_t n_mounts;
    /* vg_guard_plan_requests(): */
    vg_probe_req *req;
    size_t n_req;
    char **req_paths;           /* the strings req[].path point into */
    size_t state_req;           /* stat of libvirt's state dir; SIZE_MAX: not asked */
    const char *state_dir;      /* borrowed */
} vg_guard_plan;

/* The items and mounts of `dom` under `cfg` (both borrowed by the plan and
 * kept alive by the caller).  Pure: paths compared as written, normalised. */
void vg_guard_plan_init(vg_guard_plan *plan, const vg_config *cfg, const vg_domain *dom);
void vg_guard_plan_clear(vg_guard_plan *plan);
static inline void vg_guard_plan_clearp(vg_guard_plan *p) { vg_guard_plan_clear(p); }
#define autoguardplan _cleanup_(vg_guard_plan_clearp)

/* Who QEMU will run as for this domain and whether libvirt relabels its
 * files: from qemu.conf and the domain's DAC <seclabel>. */
typedef struct vg_guard_who {
    const vg_qemu_conf *qconf;  /* borrowed */
    bool known;                 /* false: `ids` unresolved, `unknown_why` says why */
    vg_ids ids;
    char *unknown_why;
    bool relabel;               /* libvirt will chown the domain's files */
    const char *relabel_off;    /* !relabel: the reason, as the user wrote it */
    bool static_label;          /* ids come from a static DAC <seclabel> */
    const char *passwd_file;    /* borrowed; NULL: /etc/passwd (the judge resolves */
    const char *group_file;     /* the label it proposes here); NULL: /etc/group */
} vg_guard_who;

/* Reads the passwd/group files (local, never NSS).  Never fails: an
 * identity that does not resolve is a finding of the judge. */
void vg_guard_who_resolve(const vg_qemu_conf *qconf, const vg_domain *dom,
                          const char *passwd_file, const char *group_file, vg_guard_who *who);
void vg_guard_who_clear(vg_guard_who *who);
static inline void vg_guard_who_clearp(vg_guard_who *w) { vg_guard_who_clear(w); }
#define autoguardwho _cleanup_(vg_guard_who_clearp)

/* Fill in the probe requests for the plan's items and mounts: statfs and
 * the parent of every mount, a chown test where libvirt would chown on a
 * listed shared_fs_types mount, a stat of every file and of each directory
 * above it, and of `state_dir` (NULL: libvirt's) when QEMU's ids are
 * known.  Pure; requests are listed once each. */
void vg_guard_plan_requests(vg_guard_plan *plan, const vg_mounts *mounts,
                            const vg_guard_who *who, const char *state_dir);

/* The judge: the findings for the plan, given the probe's results (one per
 * plan->req, in order; an unanswered one is a mount that did not answer),
 * the mount table and QEMU's identity.  Pure (tests feed made-up results)
 * except that the label it proposes as a fix is resolved in who's passwd
 * and group files.  probe_ms is left 0. */
vg_report *vg_guard_judge(const vg_guard_plan *plan, const vg_probe_res *res,
                          const vg_mounts *mounts, const vg_guard_who *who);

/* The whole check over a plan (vg_guard_plan_init): resolve QEMU's
 * identity, read the mount table, build and run the probe (bounded by
 * probe_timeout_ms), judge.  Never fails for problems in the domain: those
 * are findings.  Returns <0 only when the check itself could not run.  A
 * plan without items gives an empty report and touches nothing. */
int vg_guard_run(vg_guard_plan *plan, const vg_qemu_conf *qconf, const vg_guard_env *env,
                 vg_report **out, vg_error **err);

bool vg_report_blocking(const vg_report *r);
/* The report as the user sees it: one paragraph per finding, each starting
 * "virtguard: domain 'NAME': ".  `warn_prefix` (dev mode) is put before each. */
char *vg_report_format(const vg_report *r, const char *warn_prefix);
/* Append a finding: message = `what`, then " " and `fix` unless it is NULL
 * (both copied). */
void vg_report_add(vg_report *r, vg_finding_kind kind, vg_check_status status,
                   const char *path, const char *what, const char *fix);
void vg_report_free(vg_report *r);
static inline void vg_report_freep(vg_report **r) { vg_report_free(*r); }
#define autoreport _cleanup_(vg_report_freep)
