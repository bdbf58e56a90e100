/* virtguard: the start guard (see guard.h for the shape).
 *
 * Everything here is a decision over facts; the only I/O is reading the
 * passwd/group files and mountinfo (both local and non-blocking) and the
 * bounded probe child (probe.c), which is the only thing touching mounts. */
#include <config.h>

#include "guard.h"
#include "mount-state.h"
#include "rewrite.h"

#include <sys/stat.h>

#ifndef VG_LIBVIRT_STATE_DIR
# define VG_LIBVIRT_STATE_DIR LIBVIRT_LOCALSTATEDIR "/lib/libvirt/qemu"
#endif

/* ---- plan --------------------------------------------------------------- */

static const char *shared_mount_of(const vg_config *cfg, const char *path)
{
    const char *best = NULL;
    for (size_t i = 0; cfg->shared_mounts[i]; i++) {
        const char *m = cfg->shared_mounts[i];
        if (vg_path_is_under(path, m) && (!best || strlen(m) > strlen(best)))
            best = m;
    }
    return best;
}

static const vg_path_map *unmapped_of(const vg_config *cfg, const char *path)
{
    const vg_path_map *best = NULL;
    for (size_t i = 0; i < cfg->n_path_map; i++) {
        const vg_path_map *pm = &cfg->path_map[i];
        if (vg_path_is_under(path, pm->from) && (!best || strlen(pm->from) > strlen(best->from)))
            best = pm;
    }
    return best;
}

/* The mount (or map) a normalised absolute path lies under: 1 planned,
 * 0 under an apparmor_extra_roots directory only, -1 none of ours. */
static int classify_path(const vg_config *cfg, const char *norm, const char **mount,
                         const vg_path_map **pm)
{
    *mount = shared_mount_of(cfg, norm);
    *pm = *mount ? NULL : unmapped_of(cfg, norm);
    if (*mount || *pm)
        return 1;
    for (size_t j = 0; cfg->extra_roots && cfg->extra_roots[j]; j++)
        if (vg_path_is_under(norm, cfg->extra_roots[j]))
            return 0;
    return -1;
}

static size_t mount_index(vg_guard_plan *plan, const char *mount)
{
    for (size_t j = 0; j < plan->n_mounts; j++)
        if (strcmp(plan->mounts[j].mount, mount) == 0)
            return j;
    vg_guard_mount *m = VG_APPEND(plan->mounts, plan->n_mounts);
    m->mount = mount;
    m->statfs_req = m->parent_req = m->chown_req = SIZE_MAX;
    return plan->n_mounts - 1;
}

void vg_guard_plan_init(vg_guard_plan *plan, const vg_config *cfg, const vg_domain *dom)
{
    memset(plan, 0, sizeof(*plan));
    plan->cfg = cfg;
    plan->dom = dom;
    plan->state_req = SIZE_MAX;

    for (size_t i = 0; i < dom->n_paths; i++) {
        const vg_domain_path *dp = &dom->paths[i];
        autofree char *norm = NULL;
        const char *mount;
        const vg_path_map *pm;

        if (!dp->path || dp->path[0] != '/')
            continue;
        norm = vg_path_normalize(dp->path);
        if (!norm)                      /* contains "..": compare as written */
            norm = vg_xstrdup(dp->path);
        switch (classify_path(cfg, norm, &mount, &pm)) {
        case 0:
            plan->n_extra++;
            continue;
        case -1:
            continue;
        }
        vg_guard_item *it = VG_APPEND(plan->v, plan->n);
        it->dp = dp;
        it->path = steal_pointer(&norm);
        it->mount = mount;
        it->unmapped = pm;
        it->mount_ix = mount ? mount_index(plan, mount) : SIZE_MAX;
        it->file_req = SIZE_MAX;
    }
}

void vg_guard_plan_clear(vg_guard_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        free(plan->v[i].path);
        free(plan->v[i].dir_req);
    }
    free(plan->v);
    free(plan->mounts);
    free(plan->req);
    vg_strv_free(plan->req_paths);
    memset(plan, 0, sizeof(*plan));
}

/* ---- report ------------------------------------------------------------- */

/* A finding: what and why from `fmt`, then `fix` (may be NULL) after one
 * space; the message holds both (vg_finding). */
static void add_finding(vg_report *r, vg_finding_kind kind, vg_check_status status,
                        const char *path, const char *fix, const char *fmt, ...) VG_FORMAT(6, 7);
static void add_finding(vg_report *r, vg_finding_kind kind, vg_check_status status,
                        const char *path, const char *fix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *what = vg_xvasprintf(fmt, ap);
    va_end(ap);
    vg_report_add(r, kind, status, path, what, fix);
}

void vg_report_add(vg_report *r, vg_finding_kind kind, vg_check_status status,
                   const char *path, const char *what, const char *fix)
{
    vg_finding *f = VG_APPEND(r->v, r->n);
    f->kind = kind;
    f->status = status;
    f->path = vg_xstrdup(path);
    f->message = fix ? vg_xasprintf("%s %s", what, fix) : vg_xstrdup(what);
    f->fix = vg_xstrdup(fix);
}

bool vg_report_blocking(const vg_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].status == VG_CHECK_FAIL)
            return true;
    return false;
}

char *vg_report_format(const vg_report *r, const char *warn_prefix)
{
    vg_buf b = { 0 };
    for (size_t i = 0; i < r->n; i++)
        vg_buf_printf(&b, "virtguard: %sdomain '%s': %s\n", warn_prefix ? warn_prefix : "",
                      r->domain ? r->domain : "?", r->v[i].message);
    return vg_buf_steal(&b);
}

void vg_report_free(vg_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].message);
        free(r->v[i].fix);
    }
    free(r->v);
    free(r->domain);
    free(r);
}

/* ---- probe requests ------------------------------------------------------ */

static size_t req_add(vg_guard_plan *plan, vg_probe_op op, const char *path, uid_t uid, gid_t gid)
{
    for (size_t i = 0; i < plan->n_req; i++)
        if (plan->req[i].op == op && strcmp(plan->req[i].path, path) == 0)
            return i;
    char *copy = vg_xstrdup(path);
    vg_strv_push(&plan->req_paths, copy);
    vg_probe_req *r = VG_APPEND(plan->req, plan->n_req);
    r->op = op;
    r->path = copy;
    r->uid = uid;
    r->gid = gid;
    return plan->n_req - 1;
}

static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return vg_xstrdup("/");
    return vg_xstrndup(path, (size_t)(slash - path));
}

/* A stat of every proper ancestor of the item's path ("/", "/a", "/a/b"
 * for "/a/b/c"), in that order. */
static void add_dir_reqs(vg_guard_plan *plan, vg_guard_item *it)
{
    const char *path = it->path;
    *VG_APPEND(it->dir_req, it->n_dirs) = req_add(plan, VG_PROBE_STAT, "/", 0, 0);
    for (const char *p = path + 1; (p = strchr(p, '/')); p++) {
        autofree char *dir = vg_xstrndup(path, (size_t)(p - path));
        size_t ix = req_add(plan, VG_PROBE_STAT, dir, 0, 0);
        *VG_APPEND(it->dir_req, it->n_dirs) = ix;
    }
}

void vg_guard_plan_requests(vg_guard_plan *plan, const vg_mounts *mounts,
                            const vg_guard_who *who, const char *state_dir)
{
    for (size_t j = 0; j < plan->n_mounts; j++) {
        vg_guard_mount *m = &plan->mounts[j];
        autofree char *parent = parent_dir(m->mount);
        m->statfs_req = req_add(plan, VG_PROBE_STATFS, m->mount, 0, 0);
        m->parent_req = req_add(plan, VG_PROBE_STAT, parent, 0, 0);
    }
    /* Chown probes only where libvirt would chown and the mount is listed. */
    for (size_t j = 0; j < plan->n_mounts && who->known && who->relabel; j++) {
        vg_guard_mount *m = &plan->mounts[j];
        const vg_mount *entry = vg_mounts_at(mounts, m->mount);
        if (!entry || !vg_strv_contains(plan->cfg->shared_fs_types, entry->fstype))
            continue;
        m->chown_req = req_add(plan, VG_PROBE_CHOWN, m->mount, who->ids.uid, who->ids.gid);
    }
    /* Per item: the file, then every ancestor directory. */
    for (size_t i = 0; i < plan->n; i++) {
        vg_guard_item *it = &plan->v[i];
        it->file_req = req_add(plan, VG_PROBE_STAT, it->path, 0, 0);
        add_dir_reqs(plan, it);
    }
    plan->state_dir = state_dir ? state_dir : VG_LIBVIRT_STATE_DIR;
    if (who->known)
        plan->state_req = req_add(plan, VG_PROBE_STAT, plan->state_dir, 0, 0);
}

/* ---- judging ------------------------------------------------------------- */

/* Roles libvirt's DAC driver chowns to QEMU's ids when it relabels
 * (security_dac.c virSecurityDACSetAllLabel).  Shared filesystems, the
 * firmware loader and memory backing files are left alone. */
static bool role_is_relabelled(vg_role role)
{
    switch (role) {
    case VG_ROLE_DISK: case VG_ROLE_CDROM: case VG_ROLE_FLOPPY: case VG_ROLE_BACKING:
    case VG_ROLE_DISK_AUX: case VG_ROLE_NVRAM: case VG_ROLE_KERNEL: case VG_ROLE_INITRD:
    case VG_ROLE_DTB: case VG_ROLE_ACPI: case VG_ROLE_CHARDEV: case VG_ROLE_CHARDEV_LOG:
    case VG_ROLE_TPM: case VG_ROLE_NVDIMM: case VG_ROLE_EVDEV: case VG_ROLE_HOSTDEV:
        return true;
    case VG_ROLE_LOADER: case VG_ROLE_FILESYSTEM: case VG_ROLE_MEMORY_BACKING:
    case VG_ROLE_SHMEM: case VG_ROLE_OTHER: case VG_ROLE__COUNT:
        return false;
    }
    return false;
}

/* Paths that QEMU or libvirt create at start: their absence is normal. */
static bool role_may_be_created(const vg_domain_path *dp)
{
    switch (dp->role) {
    case VG_ROLE_NVRAM: case VG_ROLE_CHARDEV: case VG_ROLE_CHARDEV_LOG: case VG_ROLE_TPM:
    case VG_ROLE_MEMORY_BACKING: case VG_ROLE_SHMEM:
        return true;
    case VG_ROLE_DISK: case VG_ROLE_CDROM: case VG_ROLE_FLOPPY: case VG_ROLE_BACKING:
    case VG_ROLE_DISK_AUX: case VG_ROLE_LOADER: case VG_ROLE_KERNEL: case VG_ROLE_INITRD:
    case VG_ROLE_DTB: case VG_ROLE_ACPI: case VG_ROLE_FILESYSTEM: case VG_ROLE_NVDIMM:
    case VG_ROLE_EVDEV: case VG_ROLE_HOSTDEV: case VG_ROLE_OTHER: case VG_ROLE__COUNT:
        return false;
    }
    return false;
}

static int want_bits(const vg_domain_path *dp, bool is_dir)
{
    int want = R_OK;
    if (dp->access == VG_ACCESS_RW)
        want |= W_OK;
    if (is_dir)
        want |= X_OK;
    return want;
}

static const char *want_words(int want)
{
    if ((want & W_OK) && (want & X_OK))
        return "read-write access to the directory";
    if (want & X_OK)
        return "read access to the directory";
    return (want & W_OK) ? "read-write" : "reading";
}

/* "disk vda '/path'", values shown escaped (file names are hostile). */
static char *describe_item(const vg_guard_item *it)
{
    const vg_domain_path *dp = it->dp;
    autofree char *path = vg_str_escape(it->path, true);
    if (dp->device && *dp->device) {
        autofree char *dev = vg_str_escape(dp->device, true);
        return vg_xasprintf("%s %s '%s'", vg_role_name(dp->role), dev, path);
    }
    return vg_xasprintf("%s '%s'", vg_role_name(dp->role), path);
}

/* One planned mount as the judge found it. */
typedef struct mount_state {
    size_t ix;                  /* in plan->mounts */
    const vg_guard_mount *pm;   /* &plan->mounts[ix] */
    const vg_mount *entry;      /* NULL: not in mountinfo */
    bool ok;                    /* mounted, right type, not shadow, answered */
    bool timed_out;
} mount_state;

typedef struct judge_ctx {
    const vg_guard_plan *plan;
    const vg_config *cfg;
    const vg_qemu_conf *qconf;
    const vg_mounts *mounts;
    const vg_guard_who *who;
    const vg_ids *ids;          /* NULL when unresolved */
    const vg_probe_res *res;    /* one per plan->req */
    vg_report *rep;
    /* The per-domain label to offer as a fix: checked (which reads
     * passwd/group) only when a message first needs it, see offer_label(). */
    bool label_checked;
    char *label;                /* NULL: none to offer, */
    char *label_why;            /* and why */
    char *dac_fix;              /* the fix for DAC problems, built on it */
} judge_ctx;

static const char *fs_word(const vg_mount *m)
{
    return m ? m->fstype : "unknown";
}

static char *lima_hint(const judge_ctx *c, const char *mount)
{
    const char *host = "/path/on/the/host";
    for (size_t i = 0; i < c->cfg->n_path_map; i++)
        if (strcmp(c->cfg->path_map[i].to, mount) == 0)
            host = c->cfg->path_map[i].from;
    return vg_xasprintf(
        "Mount the share before starting the domain (check with 'findmnt %s'; Lima mounts "
        "with 'nofail', so a failed mount leaves this empty directory behind). On a Lima "
        "guest declare it in lima.yaml and restart the instance ('limactl stop NAME && "
        "limactl start NAME'):\n"
        "  mounts:\n"
        "  - location: \"%s\"\n"
        "    mountPoint: \"%s\"\n"
        "    writable: true",
        mount, host, mount);
}

/* On FUSE-based mounts (virtiofs, sshfs, bindfs...) a process whose request
 * the server has taken waits uninterruptibly until it answers: only the
 * server or an abort of the connection frees it. */
static char *fuse_hint(const vg_mount *m)
{
    if (!m || (strcmp(m->fstype, "virtiofs") != 0 && strcmp(m->fstype, "fuse") != 0 &&
               !vg_str_has_prefix(m->fstype, "fuse.")))
        return vg_xstrdup("");
    return vg_xasprintf(" Processes blocked on this FUSE-based mount (virtguard's probe among "
                        "them) stay blocked until the server answers or the connection is "
                        "aborted: 'echo 1 > /sys/fs/fuse/connections/%u/abort'.", m->minor);
}

static void judge_mount(judge_ctx *c, mount_state *ms)
{
    const vg_probe_res *sfs = &c->res[ms->pm->statfs_req];
    const vg_probe_res *par = &c->res[ms->pm->parent_req];
    const char *mount = ms->pm->mount;
    vg_mount_probe probe = { sfs, NULL, par };
    vg_mount_class mc = vg_mount_classify(c->mounts, mount, c->cfg->shared_fs_types, &probe);

    switch (mc.state) {
    case VG_MOUNT_NOT_MOUNTED: {
        const vg_mount *under = vg_mounts_find(c->mounts, mount);
        autofree char *hint = lima_hint(c, mount);
        if (sfs->answered && sfs->err == ENOENT)
            add_finding(c->rep, VG_FIND_NOT_MOUNTED, VG_CHECK_FAIL, mount, hint,
                        "shared mount '%s' is not mounted and the directory does not exist.",
                        mount);
        else
            add_finding(c->rep, VG_FIND_NOT_MOUNTED, VG_CHECK_FAIL, mount, hint,
                        "shared mount '%s' is not mounted: '%s' is a plain directory on the %s "
                        "filesystem mounted at '%s'.",
                        mount, mount, fs_word(under), under ? under->mount_point : "/");
        return;
    }
    case VG_MOUNT_WRONG_FSTYPE: {
        autofree char *types = NULL;
        vg_buf b = { 0 };
        for (size_t i = 0; c->cfg->shared_fs_types[i]; i++)
            vg_buf_printf(&b, "%s%s", i ? ", " : "", c->cfg->shared_fs_types[i]);
        types = vg_buf_steal(&b);
        autofree char *fix = vg_xasprintf("Either the share failed to mount and something else "
                                          "is mounted there, or add \"%s\" to shared_fs_types.",
                                          ms->entry->fstype);
        add_finding(c->rep, VG_FIND_FSTYPE, VG_CHECK_FAIL, mount, fix,
                    "shared mount '%s' is mounted as '%s' (source '%s'), which is not one of "
                    "shared_fs_types (%s) in '%s'.",
                    mount, ms->entry->fstype, ms->entry->source, *types ? types : "none",
                    c->cfg->source ? c->cfg->source : vg_config_default_path());
        return;
    }
    case VG_MOUNT_TIMEOUT: {
        autofree char *fh = fuse_hint(ms->entry);
        ms->timed_out = true;
        autofree char *fix = vg_xasprintf("Check the host side of the share (on Lima: is the "
                                          "instance's host process alive?), or raise "
                                          "probe_timeout_ms in '%s'.%s",
                                          c->cfg->source ? c->cfg->source
                                                         : vg_config_default_path(), fh);
        add_finding(c->rep, VG_FIND_TIMEOUT, VG_CHECK_FAIL, mount, fix,
                    "shared mount '%s' (%s) did not answer within %u ms; its server may be "
                    "hung.", mount, ms->entry->fstype, c->cfg->probe_timeout_ms);
        return;
    }
    case VG_MOUNT_UNEXAMINABLE:
        add_finding(c->rep, VG_FIND_NOT_MOUNTED, VG_CHECK_FAIL, mount, NULL,
                    "shared mount '%s' (%s) cannot be examined: %s.", mount,
                    ms->entry->fstype, strerror(mc.err));
        return;
    case VG_MOUNT_SHADOW: {
        autofree char *hint = lima_hint(c, mount);
        add_finding(c->rep, VG_FIND_SHADOW, VG_CHECK_FAIL, mount, hint,
                    "shared mount '%s' is not mounted: the mount table lists a %s mount there, "
                    "but the directory is on the same device as its parent (a shadow "
                    "directory).", mount, ms->entry->fstype);
        return;
    }
    case VG_MOUNT_NOT_PROBED:   /* the guard always probes */
    case VG_MOUNT_FINE:
        break;
    }
    ms->ok = true;
}

/* The per-domain DAC fix: run QEMU as the files' owner, keep QEMU's group
 * (libvirt's state dir is 0750 libvirt-qemu: docs/DESIGN.md, step 7).  Returns the label
 * or NULL when the files have different owners. */
static char *propose_label(const judge_ctx *c, uid_t *owner_out)
{
    bool have = false;
    uid_t owner = 0;
    for (size_t i = 0; i < c->plan->n; i++) {
        const vg_probe_res *r = &c->res[c->plan->v[i].file_req];
        if (!r->answered || r->err)
            continue;
        if (have && r->uid != owner)
            return NULL;
        owner = r->uid;
        have = true;
    }
    if (!have || !c->ids)
        return NULL;
    *owner_out = owner;
    return vg_xasprintf("+%u:+%u", (unsigned)owner, (unsigned)c->ids->gid);
}

static const char *dac_fix(judge_ctx *c);

static void judge_dac(judge_ctx *c, const vg_guard_item *it, const vg_probe_res *fr,
                      const mount_state *ms)
{
    const vg_domain_path *dp = it->dp;
    bool is_dir = S_ISDIR(fr->mode);
    int want = want_bits(dp, is_dir);
    bool relabels = c->who->relabel && dp->relabel && role_is_relabelled(dp->role);
    vg_chown_result chown = ms->pm->chown_req != SIZE_MAX ? c->res[ms->pm->chown_req].chown
                                                          : VG_CHOWN_UNKNOWN;
    int chown_err = ms->pm->chown_req != SIZE_MAX ? c->res[ms->pm->chown_req].err : 0;
    uid_t uid = fr->uid;
    gid_t gid = fr->gid;
    autofree char *what = describe_item(it);
    autofree char *who = vg_ids_describe(c->ids);
    autofree char *cause = NULL;

    if (relabels && chown == VG_CHOWN_WORKS) {
        uid = c->ids->uid;
        gid = c->ids->gid;
    }
    if (vg_dac_allows(c->ids, uid, gid, fr->mode, want))
        return;

    if (relabels && (chown == VG_CHOWN_IGNORED || chown == VG_CHOWN_REFUSED))
        cause = vg_xasprintf("libvirt's chown of it to %u:%u %s on this %s mount (as with "
                             "QEMU -virtfs security_model=none, Lima's default)",
                             (unsigned)c->ids->uid, (unsigned)c->ids->gid,
                             chown == VG_CHOWN_IGNORED ? "is silently ignored" : "is refused",
                             ms->entry->fstype);
    else if (relabels && chown == VG_CHOWN_NO_CREATE)
        cause = vg_xasprintf("libvirt cannot chown it to %u:%u: root cannot even create a file "
                             "on this %s mount (%s; as with a virtiofsd in a user namespace "
                             "that maps only the share owner's uid), so QEMU gets only what "
                             "the mode bits give its user",
                             (unsigned)c->ids->uid, (unsigned)c->ids->gid, ms->entry->fstype,
                             strerror(chown_err));
    else if (relabels)
        cause = vg_xasprintf("libvirt's chown of it to %u:%u could not be verified on this %s "
                             "mount", (unsigned)c->ids->uid, (unsigned)c->ids->gid,
                             ms->entry->fstype);
    else
        cause = vg_xasprintf("libvirt does not relabel it (%s)",
                             !dp->relabel ? "relabel='no' on this source"
                                          : c->who->relabel_off);

    add_finding(c->rep, VG_FIND_DAC, VG_CHECK_FAIL, it->path, dac_fix(c),
                "%s: QEMU will run as %s and cannot open it for %s: it is owned by %u:%u "
                "with mode %04o, and %s.",
                what, who, want_words(want), (unsigned)fr->uid, (unsigned)fr->gid,
                (unsigned)(fr->mode & 07777), cause);
}

static void judge_traversal(judge_ctx *c, const vg_guard_item *it, const char *dir,
                            const vg_probe_res *dr)
{
    autofree char *what = describe_item(it);
    autofree char *who = vg_ids_describe(c->ids);
    autofree char *fix = vg_xasprintf("Grant it, e.g. 'chmod o+x %s', or run this domain's "
                                      "QEMU as the directory's owner with a static DAC "
                                      "<seclabel>.", dir);
    add_finding(c->rep, VG_FIND_DAC, VG_CHECK_FAIL, it->path, fix,
                "%s: QEMU will run as %s and cannot reach it: directory '%s' is owned by "
                "%u:%u with mode %04o (QEMU needs search permission 'x' on every directory "
                "above the file).",
                what, who, dir, (unsigned)dr->uid, (unsigned)dr->gid,
                (unsigned)(dr->mode & 07777));
}

/* ---- owners libvirt cannot give back ------------------------------------- */

/* What libvirt 9.0's DAC driver leaves as the owner of a file it relabelled,
 * after the domain stops (src/security/security_dac.c): images are
 * remembered only at the top of the chain and when neither read-only nor
 * shareable (virSecurityDACSetImageLabelInternal), and only those are
 * restored (virSecurityDACRestoreImageLabelSingle); other files are
 * remembered and restored.  A restore without a remembered owner chowns to
 * root:root (virSecurityDACRestoreFileLabelInternal). */
typedef enum {
    FATE_KEPT,              /* the remembered owner comes back */
    FATE_ROOT,              /* restored to 0:0 */
    FATE_QEMU,              /* never restored: stays QEMU's */
} owner_fate;

static bool role_is_image(vg_role role)
{
    return role == VG_ROLE_DISK || role == VG_ROLE_CDROM || role == VG_ROLE_FLOPPY ||
           role == VG_ROLE_BACKING;
}

static owner_fate fate_after_stop(const vg_domain_path *dp, bool remember, vg_xattr_result xattr)
{
    if (role_is_image(dp->role) &&
        (dp->role == VG_ROLE_BACKING || dp->depth > 0 || dp->readonly || dp->shareable))
        return FATE_QEMU;
    return remember && xattr == VG_XATTR_KEPT ? FATE_KEPT : FATE_ROOT;
}

/* Why the owner is not remembered (for FATE_ROOT files). */
static char *remember_cause(const judge_ctx *c, const vg_probe_res *cr)
{
    const char *qc = c->qconf->source ? c->qconf->source : "qemu.conf";
    if (!c->qconf->remember_owner)
        return vg_xasprintf("'%s' sets remember_owner = 0, so libvirt records no owner and "
                            "restores files to root:root", qc);
    switch (cr->xattr) {
    case VG_XATTR_UNSUPPORTED:
        return vg_xasprintf("this mount cannot hold the extended attributes libvirt records "
                            "the owner in ('%s': %s), so libvirt silently restores files to "
                            "root:root", VG_XATTR_REMEMBER, strerror(cr->xattr_err));
    case VG_XATTR_LOST:
        return vg_xasprintf("this mount accepts but does not keep the extended attribute "
                            "libvirt records the owner in ('%s'), so libvirt restores files to "
                            "root:root", VG_XATTR_REMEMBER);
    case VG_XATTR_GET_FAILS:
    case VG_XATTR_SET_FAILS:
        return vg_xasprintf("this mount refuses the extended attribute libvirt records the "
                            "owner in ('%s': %s): libvirt then fails the start with 'Unable "
                            "to %s XATTR ...', and with remember_owner = 0 it would restore "
                            "files to root:root", VG_XATTR_REMEMBER, strerror(cr->xattr_err),
                            cr->xattr == VG_XATTR_GET_FAILS ? "get" : "set");
    case VG_XATTR_KEPT: case VG_XATTR_UNKNOWN:
        break;
    }
    return vg_xstrdup("libvirt does not record the owner");
}

/* The per-domain label that stops the relabelling, checked against the
 * facts before it is offered: one owner for all the domain's shared files,
 * not root, and QEMU as that owner with QEMU's group can reach and open
 * every file (nothing is chowned with relabel='no') and enter libvirt's
 * state dir.  Returns the label, or NULL with *why saying what fails. */
static char *checked_label(const judge_ctx *c, const vg_probe_res *state, char **why)
{
    autoerror vg_error *err = NULL;
    autoids vg_ids prop = { 0 };
    autofree char *label = NULL;
    uid_t owner = 0;

    *why = NULL;
    if (!(label = propose_label(c, &owner))) {
        *why = vg_xstrdup("the domain's files on shared mounts have different owners");
        return NULL;
    }
    if (owner == 0) {
        *why = vg_xstrdup("the files are owned by root already (perhaps since an earlier "
                          "stop), and QEMU must not run as root; give them back to their "
                          "writer first ('chown UID:GID' on the host side)");
        return NULL;
    }
    if (vg_ids_resolve_label(label, c->who->passwd_file, c->who->group_file, &prop, &err) < 0) {
        *why = vg_xasprintf("label '%s' does not resolve: %s", label, err->msg);
        return NULL;
    }
    for (size_t i = 0; i < c->plan->n; i++) {
        const vg_guard_item *it = &c->plan->v[i];
        const vg_probe_res *fr = &c->res[it->file_req];
        for (size_t k = 0; k < it->n_dirs; k++) {
            const vg_probe_res *dr = &c->res[it->dir_req[k]];
            if (dr->answered && !dr->err && !vg_dac_allows(&prop, dr->uid, dr->gid, dr->mode, X_OK)) {
                *why = vg_xasprintf("with label '%s' QEMU could not reach '%s' (directory '%s' is "
                                    "owned by %u:%u with mode %04o)", label, it->path,
                                    c->plan->req[it->dir_req[k]].path, (unsigned)dr->uid,
                                    (unsigned)dr->gid,
                                    (unsigned)(dr->mode & 07777));
                return NULL;
            }
        }
        if (!it->mount || !fr->answered || fr->err)
            continue;
        int want = want_bits(it->dp, S_ISDIR(fr->mode));
        if (!vg_dac_allows(&prop, fr->uid, fr->gid, fr->mode, want)) {
            *why = vg_xasprintf("with label '%s' QEMU could not open '%s' for %s (owned by %u:%u "
                                "with mode %04o)", label, it->path, want_words(want),
                                (unsigned)fr->uid, (unsigned)fr->gid, (unsigned)(fr->mode & 07777));
            return NULL;
        }
    }
    if (state && state->answered && !state->err &&
        !vg_dac_allows(&prop, state->uid, state->gid, state->mode, X_OK)) {
        *why = vg_xasprintf("with label '%s' QEMU could not enter libvirt's state directory "
                            "(owned by %u:%u with mode %04o)", label, (unsigned)state->uid,
                            (unsigned)state->gid, (unsigned)(state->mode & 07777));
        return NULL;
    }
    return steal_pointer(&label);
}

/* checked_label(), once, when a message first needs it. */
static const char *offer_label(judge_ctx *c)
{
    const vg_guard_plan *plan = c->plan;

    if (!c->label_checked && c->ids)
        c->label = checked_label(c, plan->state_req != SIZE_MAX ? &c->res[plan->state_req] : NULL,
                                 &c->label_why);
    c->label_checked = true;
    return c->label;
}

/* The fix we propose for DAC problems, with the label when it was checked. */
static const char *dac_fix(judge_ctx *c)
{
    const char *label;

    if (c->dac_fix)
        return c->dac_fix;
    if ((label = offer_label(c)))
        c->dac_fix = vg_xasprintf(
            "Do not set user = \"root\" or security_driver = \"none\" in qemu.conf (that "
            "removes isolation for every guest); run this domain's QEMU as the files' owner "
            "instead, keeping QEMU's group, by adding to its XML ('virsh edit %s'): <seclabel "
            "type='static' model='dac' relabel='no'><label>%s</label></seclabel>. Alternatively "
            "serve the share so that chown works (9p: security_model=mapped-xattr; virtiofs: a "
            "virtiofsd running as root).",
            c->rep->domain, label);
    else
        c->dac_fix = vg_xstrdup(
            "Give the files one owner and run this domain's QEMU as that user with a static DAC "
            "<seclabel> keeping QEMU's group, or serve the share so that chown works (9p: "
            "security_model=mapped-xattr; virtiofs: a virtiofsd running as root); do not set "
            "user = \"root\" or security_driver = \"none\" in qemu.conf.");
    return c->dac_fix;
}

/* One warning per mount where libvirt's chown works and some relabelled
 * file will not get its owner back at stop.  The start goes on: it works;
 * the harm is to the files' writer afterwards. */
static void judge_owner_lost(judge_ctx *c, const mount_state *ms)
{
    const vg_probe_res *cr;
    vg_buf list = { 0 };
    bool any_root = false;
    size_t count = 0;

    if (!ms->ok || ms->pm->chown_req == SIZE_MAX)
        return;
    cr = &c->res[ms->pm->chown_req];
    if (!cr->answered || cr->chown != VG_CHOWN_WORKS)
        return;
    for (size_t i = 0; i < c->plan->n; i++) {
        const vg_guard_item *it = &c->plan->v[i];
        const vg_probe_res *fr = &c->res[it->file_req];
        if (it->mount_ix != ms->ix || !fr->answered || fr->err ||
            !it->dp->relabel || !role_is_relabelled(it->dp->role))
            continue;
        owner_fate fate = fate_after_stop(it->dp, c->qconf->remember_owner, cr->xattr);
        if (fate == FATE_KEPT)
            continue;
        if (fate == FATE_ROOT && c->qconf->remember_owner && cr->xattr == VG_XATTR_UNKNOWN)
            continue;           /* not known: say nothing */
        if (fate == FATE_QEMU && fr->uid == c->ids->uid && fr->gid == c->ids->gid)
            continue;           /* already QEMU's: nothing changes */
        autofree char *what = describe_item(it);
        if (fate == FATE_ROOT)
            vg_buf_printf(&list, "%s%s (now %u:%u) will be owned by 0:0", count ? "; " : "",
                          what, (unsigned)fr->uid, (unsigned)fr->gid);
        else
            vg_buf_printf(&list, "%s%s (now %u:%u) stays owned by %u:%u (libvirt never "
                          "restores read-only or backing layers)", count ? "; " : "", what,
                          (unsigned)fr->uid, (unsigned)fr->gid, (unsigned)c->ids->uid,
                          (unsigned)c->ids->gid);
        any_root |= fate == FATE_ROOT;
        count++;
    }
    autofree char *files = vg_buf_steal(&list);
    if (!count)
        return;
    autofree char *cause = any_root ? remember_cause(c, cr) : NULL;
    const char *label = offer_label(c);
    /* A share that keeps the xattrs helps only the files restored at stop. */
    autofree char *keep = any_root ? vg_xasprintf(
        "; or serve the share so that it keeps trusted.* extended attributes (as root)%s, which "
        "brings back the owner of writable files (read-only and backing layers still stay "
        "QEMU's)", c->qconf->remember_owner ? "" : " and set remember_owner = 1 in qemu.conf")
        : vg_xstrdup("");
    autofree char *fix = label
        ? vg_xasprintf("Fix: run this domain's QEMU as the files' owner, keeping QEMU's group, so "
                       "that libvirt chowns nothing ('virsh edit %s', before </domain>): "
                       "<seclabel type='static' model='dac' relabel='no'><label>%s</label>"
                       "</seclabel>%s.", c->rep->domain, label, keep)
        : vg_xasprintf("virtguard offers no per-domain label here: %s. Fix: give the files one "
                       "owner that QEMU with its group can use%s.", c->label_why, keep);
    add_finding(c->rep, VG_FIND_OWNER_LOST, VG_CHECK_WARN, ms->pm->mount, fix,
                "WARNING: libvirt will chown %s on shared mount '%s' (%s) to QEMU's %u:%u at "
                "start, and cannot give %s back at stop%s%s. After the domain stops, %s: the "
                "images' writer can no longer rewrite %s%s. virtguard does not refuse the start "
                "for this.",
                count == 1 ? "a file" : "files", ms->pm->mount, ms->entry->fstype,
                (unsigned)c->ids->uid, (unsigned)c->ids->gid,
                count == 1 ? "its owner" : "their owners", cause ? ": " : "", cause ? cause : "",
                files, count == 1 ? "it" : "them", any_root ? ", after every stop" : "");
}

/* ---- the whole check ------------------------------------------------------ */

void vg_guard_who_resolve(const vg_qemu_conf *qconf, const vg_domain *dom,
                          const char *passwd_file, const char *group_file, vg_guard_who *who)
{
    const vg_seclabel *sl = vg_domain_seclabel(dom, "dac");
    autoerror vg_error *err = NULL;
    int r;

    memset(who, 0, sizeof(*who));
    who->qconf = qconf;
    who->passwd_file = passwd_file;
    who->group_file = group_file;
    who->relabel = qconf->dynamic_ownership;
    who->relabel_off = "dynamic_ownership = 0 in qemu.conf";
    if (sl && vg_streq(sl->type, "none")) {
        who->relabel = false;
        who->relabel_off = "the domain's DAC <seclabel type='none'>";
    } else if (sl && !sl->relabel) {
        who->relabel = false;
        who->relabel_off = "relabel='no' in the domain's DAC <seclabel>";
    }
    if (sl && sl->label && *sl->label && !vg_streq(sl->type, "none")) {
        who->static_label = vg_streq(sl->type, "static");
        r = vg_ids_resolve_label(sl->label, passwd_file, group_file, &who->ids, &err);
    } else {
        r = vg_ids_resolve(qconf->user, qconf->group, passwd_file, group_file, &who->ids, &err);
    }
    who->known = r == 0;
    if (!who->known)
        who->unknown_why = vg_xstrdup(err ? err->msg : "?");
}

void vg_guard_who_clear(vg_guard_who *who)
{
    vg_ids_clear(&who->ids);
    free(who->unknown_why);
    memset(who, 0, sizeof(*who));
}

static vg_report *report_new(const vg_guard_plan *plan)
{
    vg_report *rep = vg_xcalloc(1, sizeof(*rep));
    const vg_domain *dom = plan->dom;
    /* shown escaped: libvirt allows '\r' and other control bytes in names */
    rep->domain = vg_str_escape(dom->name ? dom->name : "(unnamed)", true);
    rep->n_shared = plan->n;
    return rep;
}

/* The finding for one item on a mount that is fine, or nothing. */
static void judge_item(judge_ctx *c, const vg_guard_item *it, mount_state *s)
{
    const vg_probe_res *fr = &c->res[it->file_req];
    autofree char *what = describe_item(it);

    if (!fr->answered) {
        if (!s->timed_out) {
            autofree char *fh = fuse_hint(s->entry);
            s->timed_out = true;
            autofree char *fix = vg_xasprintf("Check the host side of the share, or raise "
                                              "probe_timeout_ms in '%s'.%s",
                                              c->cfg->source ? c->cfg->source
                                                             : vg_config_default_path(), fh);
            add_finding(c->rep, VG_FIND_TIMEOUT, VG_CHECK_FAIL, it->path, fix,
                        "%s: shared mount '%s' (%s) did not answer within %u ms while "
                        "checking this file; its server may be hung.",
                        what, s->pm->mount, s->entry->fstype, c->cfg->probe_timeout_ms);
        }
        return;
    }
    if (fr->err == ENOENT) {
        if (role_may_be_created(it->dp)) {
            autofree char *raw_dir = parent_dir(it->path);
            autofree char *dir = vg_str_escape(raw_dir, true);
            const vg_probe_res *pr = it->n_dirs ? &c->res[it->dir_req[it->n_dirs - 1]] : NULL;
            if (pr && pr->answered && pr->err == ENOENT)
                add_finding(c->rep, VG_FIND_MISSING, VG_CHECK_FAIL, it->path,
                            "Create the directory first.",
                            "%s: directory '%s' does not exist on shared mount '%s' (%s), so "
                            "it cannot be created there.",
                            what, dir, s->pm->mount, s->entry->fstype);
            return;
        }
        add_finding(c->rep, VG_FIND_MISSING, VG_CHECK_FAIL, it->path,
                    "Check the path in the domain XML, and that the writer of the image "
                    "finished creating it on the host side of the share.",
                    "%s does not exist on shared mount '%s' (%s).", what, s->pm->mount,
                    s->entry->fstype);
        return;
    }
    if (fr->err) {
        add_finding(c->rep, VG_FIND_MISSING, VG_CHECK_FAIL, it->path, NULL,
                    "%s cannot be examined: %s.",
                    what, strerror(fr->err));
        return;
    }
    if (!c->ids)
        return;
    /* Search permission on every directory above the file. */
    for (size_t k = 0; k < it->n_dirs; k++) {
        const vg_probe_res *dr = &c->res[it->dir_req[k]];
        if (!dr->answered || dr->err)
            continue;
        if (!vg_dac_allows(c->ids, dr->uid, dr->gid, dr->mode, X_OK)) {
            judge_traversal(c, it, c->plan->req[it->dir_req[k]].path, dr);
            return;
        }
    }
    judge_dac(c, it, fr, s);
}

/* A path in the writer's namespace (path_map FROM): fine if it exists here
 * too; otherwise say what it should have been. */
static void judge_unmapped(judge_ctx *c, const vg_guard_item *it)
{
    const vg_probe_res *fr = &c->res[it->file_req];
    autofree char *mapped = NULL;
    autofree char *shown = NULL;
    autofree char *what = NULL;

    if (!fr->answered || fr->err != ENOENT)
        return;
    what = describe_item(it);
    if (vg_path_map_apply(it->unmapped, 1, it->path, &mapped) <= 0)
        shown = vg_xstrdup("?");
    else
        shown = vg_str_escape(mapped, true);
    add_finding(c->rep, VG_FIND_UNMAPPED, VG_CHECK_FAIL, it->path,
                "Rewrite the XML with 'virtguard rewrite' before defining the domain.",
                "%s does not exist on this host: it is a path as the image writer "
                "sees it, which path_map maps to '%s'.", what, shown);
}

/* libvirt keeps master-key.aes under its 0750 state dir: QEMU's ids must
 * be able to enter it (docs/DESIGN.md, step 7: +1000:+1000 fails there). */
static void judge_state_dir(judge_ctx *c)
{
    const vg_probe_res *sr;

    if (!c->ids || !c->who->static_label || c->plan->state_req == SIZE_MAX)
        return;
    sr = &c->res[c->plan->state_req];
    if (!sr->answered || sr->err || vg_dac_allows(c->ids, sr->uid, sr->gid, sr->mode, X_OK))
        return;
    autofree char *who = vg_ids_describe(c->ids);
    const char *sd = c->plan->state_dir;
    autofree char *fix = vg_xasprintf("Keep QEMU's group in the label (+%u:+%u) so the group "
                                      "bits let it in.", (unsigned)c->ids->uid,
                                      (unsigned)sr->gid);
    add_finding(c->rep, VG_FIND_STATE_DIR, VG_CHECK_FAIL, sd, fix,
                "QEMU will run as %s (from the domain's static DAC <seclabel>) and cannot "
                "enter libvirt's state directory '%s' (owned by %u:%u, mode %04o), where "
                "libvirt keeps the domain's master-key.aes.",
                who, sd, (unsigned)sr->uid, (unsigned)sr->gid, (unsigned)(sr->mode & 07777));
}

vg_report *vg_guard_judge(const vg_guard_plan *plan, const vg_probe_res *res,
                          const vg_mounts *mounts, const vg_guard_who *who)
{
    vg_report *rep = report_new(plan);
    autofree mount_state *ms = vg_xcalloc(plan->n_mounts ? plan->n_mounts : 1, sizeof(*ms));
    judge_ctx c = {
        .plan = plan, .cfg = plan->cfg, .qconf = who->qconf, .mounts = mounts, .who = who,
        .ids = who->known ? &who->ids : NULL, .res = res, .rep = rep,
    };

    if (plan->n == 0)
        return rep;
    if (!who->known)
        add_finding(rep, VG_FIND_IDENTITY, VG_CHECK_FAIL, NULL, NULL,
                    "cannot tell which user QEMU will run as, so file access cannot be "
                    "checked: %s.", who->unknown_why);
    for (size_t j = 0; j < plan->n_mounts; j++) {
        ms[j].ix = j;
        ms[j].pm = &plan->mounts[j];
        ms[j].entry = vg_mounts_at(mounts, plan->mounts[j].mount);
        judge_mount(&c, &ms[j]);
    }

    for (size_t i = 0; i < plan->n; i++) {
        const vg_guard_item *it = &plan->v[i];
        if (it->mount_ix == SIZE_MAX)
            judge_unmapped(&c, it);
        else if (ms[it->mount_ix].ok)   /* else the mount finding says it all */
            judge_item(&c, it, &ms[it->mount_ix]);
    }

    /* Where libvirt's relabel works but cannot be undone: a warning. */
    if (c.ids && who->relabel && !vg_report_blocking(rep))
        for (size_t j = 0; j < plan->n_mounts; j++)
            judge_owner_lost(&c, &ms[j]);

    judge_state_dir(&c);
    free(c.label);
    free(c.label_why);
    free(c.dac_fix);
    return rep;
}

int vg_guard_run(vg_guard_plan *plan, const vg_qemu_conf *qconf, const vg_guard_env *env,
                 vg_report **out, vg_error **err)
{
    static const vg_guard_env no_env;
    autoguardwho vg_guard_who who = { 0 };
    automounts vg_mounts *mounts = NULL;
    autofree vg_probe_res *res = NULL;
    long long probe_ms = 0;
    int r;

    env = env ? env : &no_env;
    if (plan->n == 0) {
        *out = report_new(plan);
        return 0;
    }
    vg_guard_who_resolve(qconf, plan->dom, env->passwd_file, env->group_file, &who);
    if ((r = vg_mountinfo_read(env->mountinfo, &mounts, err)) < 0)
        return r;
    vg_guard_plan_requests(plan, mounts, &who, env->state_dir);

    res = vg_xcalloc(plan->n_req, sizeof(*res));
    r = vg_probe_run(plan->req, plan->n_req, plan->cfg->probe_timeout_ms, res, &probe_ms, err);
    if (r < 0 && r != -ETIMEDOUT)
        return r;
    if (env->probe_edit)
        env->probe_edit(plan->req, res, plan->n_req, env->probe_opaque);

    *out = vg_guard_judge(plan, res, mounts, &who);
    (*out)->probe_ms = probe_ms;
    return 0;
}
