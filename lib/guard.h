/* virtguard: the start guard.  Decides, for one domain, whether its files
 * on the configured shared mounts are really there and reachable by QEMU.
 *
 *   plan   = vg_guard_plan(config, domain)             pure
 *   facts  = probe requests built from the plan, run in a child (probe.c)
 *   report = the judges in guard.c over the plan, the facts and the mount
 *            table (each mount's state: vg_mount_classify, mount-state.h)
 *
 * The hook and `virtguard check` both go through vg_guard_run(), which does
 * all three. */
#pragma once

#include "dac.h"
#include "domain-paths.h"
#include "mountinfo.h"
#include "probe.h"
#include "qemuconf.h"
#include "storage-pool.h"
#include "vgconfig.h"

typedef enum {
    VG_FIND_CONFIG,         /* virtguard.conf or qemu.conf unusable */
    VG_FIND_UNMAPPED,       /* path under a path_map FROM: should have been rewritten */
    VG_FIND_NOT_MOUNTED,    /* no mount at the shared mount point */
    VG_FIND_SHADOW,         /* mount entry, but same device as the parent */
    VG_FIND_FSTYPE,         /* mounted with a type not in shared_fs_types */
    VG_FIND_TIMEOUT,        /* the mount did not answer in time */
    VG_FIND_MISSING,        /* the file does not exist */
    VG_FIND_DAC,            /* QEMU's uid/gid cannot open it */
    VG_FIND_STATE_DIR,      /* QEMU's uid/gid cannot reach libvirt's state dir */
    VG_FIND_IDENTITY,       /* QEMU's user/group cannot be resolved */
    VG_FIND_UNRESOLVED,     /* a domain resource virtguard cannot check (notice) */
    VG_FIND_SECURITY_NONE,  /* qemu.conf security_driver = "none" with AppArmor available */
    VG_FIND_RULES,          /* the AppArmor rules could not be put in place */
    VG_FIND_OWNER_LOST,     /* warning: libvirt's chown works on the share and
                               its undo at stop cannot restore the owner */
} vg_finding_kind;

typedef struct vg_finding {
    vg_finding_kind kind;
    bool blocking;          /* refuses the start in enforce mode */
    char *path;             /* may be NULL */
    char *message;          /* whole sentences: what, why, the fix */
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

/* One entry per domain path that lies under a shared mount (or a path_map
 * FROM).  Returns 0; *n_out == 0 means the domain touches no shared mount. */
typedef struct vg_guard_item {
    const vg_domain_path *dp;   /* borrowed from the domain */
    char *path;                 /* normalised absolute path */
    const char *mount;          /* borrowed from config: the shared mount */
    const vg_path_map *unmapped;/* non-NULL: under this map's FROM */
} vg_guard_item;

int vg_guard_plan(const vg_config *cfg, const vg_domain *dom,
                  vg_guard_item **out, size_t *n_out, vg_error **err);
/* How many of the domain's paths lie, as written (normalised, no I/O),
 * under an apparmor_extra_roots directory and under no shared mount or
 * path_map FROM.  Such paths need no mount or DAC check, but they do get
 * AppArmor rules: with the plan, this is the hook's whole fast path (a
 * domain with neither is none of virtguard's business). */
size_t vg_guard_count_extra(const vg_config *cfg, const vg_domain *dom);
void vg_guard_items_free(vg_guard_item *items, size_t n);

/* The whole check.  Never fails for problems in the domain: those are
 * findings.  Returns <0 only when the check itself could not run. */
int vg_guard_run(const vg_config *cfg, const vg_qemu_conf *qconf, const vg_domain *dom,
                 const vg_guard_env *env, vg_report **out, vg_error **err);

bool vg_report_blocking(const vg_report *r);
/* The report as the user sees it: one paragraph per finding, each starting
 * "virtguard: domain 'NAME': ".  `warn_prefix` (dev mode) is put before each. */
char *vg_report_format(const vg_report *r, const char *warn_prefix);
void vg_report_free(vg_report *r);
static inline void vg_report_freep(vg_report **r) { vg_report_free(*r); }
#define autoreport _cleanup_(vg_report_freep)
