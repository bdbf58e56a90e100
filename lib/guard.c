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
# define VG_LIBVIRT_STATE_DIR LOCALSTATEDIR "/lib/libvirt/qemu"
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

int vg_guard_plan(const vg_config *cfg, const vg_domain *dom,
                  vg_guard_item **out, size_t *n_out, vg_error **err)
{
    vg_guard_item *items = NULL;
    size_t n = 0;

    for (size_t i = 0; i < dom->n_paths; i++) {
        const vg_domain_path *dp = &dom->paths[i];
        autofree char *norm = NULL;
        const char *mount;
        const vg_path_map *pm = NULL;

        if (!dp->path || dp->path[0] != '/')
            continue;
        norm = vg_path_normalize(dp->path);
        if (!norm)                      /* contains "..": compare as written */
            norm = vg_xstrdup(dp->path);
        mount = shared_mount_of(cfg, norm);
        if (!mount && !(pm = unmapped_of(cfg, norm)))
            continue;
        vg_guard_item *it = VG_APPEND(items, n);
        it->dp = dp;
        it->path = steal_pointer(&norm);
        it->mount = mount;
        it->unmapped = pm;
    }
    *out = items;
    *n_out = n;
    (void)err;
    return 0;
}

size_t vg_guard_count_extra(const vg_config *cfg, const vg_domain *dom)
{
    size_t n = 0;

    for (size_t i = 0; i < dom->n_paths; i++) {
        const char *path = dom->paths[i].path;
        if (!path || path[0] != '/')
            continue;
        autofree char *norm = vg_path_normalize(path);
        if (!norm)
            norm = vg_xstrdup(path);
        if (shared_mount_of(cfg, norm) || unmapped_of(cfg, norm))
            continue;
        for (size_t j = 0; cfg->extra_roots && cfg->extra_roots[j]; j++)
            if (vg_path_is_under(norm, cfg->extra_roots[j])) {
                n++;
                break;
            }
    }
    return n;
}

void vg_guard_items_free(vg_guard_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].path);
    free(items);
}

/* ---- report ------------------------------------------------------------- */

static void add_finding(vg_report *r, vg_finding_kind kind, bool blocking,
                        const char *path, const char *fmt, ...) VG_FORMAT(5, 6);
static void add_finding(vg_report *r, vg_finding_kind kind, bool blocking,
                        const char *path, const char *fmt, ...)
{
    va_list ap;
    vg_finding *f = VG_APPEND(r->v, r->n);
    f->kind = kind;
    f->blocking = blocking;
    f->path = vg_xstrdup(path);
    va_start(ap, fmt);
    f->message = vg_xvasprintf(fmt, ap);
    va_end(ap);
}

bool vg_report_blocking(const vg_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].blocking)
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
    }
    free(r->v);
    free(r->domain);
    free(r);
}

/* ---- probe requests ------------------------------------------------------ */

typedef struct reqs {
    vg_probe_req *v;
    size_t n;
    char **owned;           /* strings the requests point into */
} reqs;

static size_t req_add(reqs *q, vg_probe_op op, const char *path, uid_t uid, gid_t gid)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].op == op && strcmp(q->v[i].path, path) == 0)
            return i;
    char *copy = vg_xstrdup(path);
    vg_strv_push(&q->owned, copy);
    vg_probe_req *r = VG_APPEND(q->v, q->n);
    r->op = op;
    r->path = copy;
    r->uid = uid;
    r->gid = gid;
    return q->n - 1;
}

static void reqs_clear(reqs *q)
{
    free(q->v);
    vg_strv_free(q->owned);
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

typedef struct mount_state {
    const char *mount;
    const vg_mount *entry;      /* NULL: not in mountinfo */
    size_t statfs_req;
    size_t parent_req;
    size_t chown_req;
    bool have_chown_req;
    bool ok;                    /* mounted, right type, not shadow, answered */
    bool timed_out;
} mount_state;

typedef struct judge_ctx {
    const vg_config *cfg;
    const vg_qemu_conf *qconf;
    const vg_domain *dom;
    const vg_mounts *mounts;
    const vg_ids *ids;          /* NULL when unresolved */
    bool relabel;               /* libvirt will relabel (domain level) */
    const char *relabel_off_reason;
    const vg_probe_req *req;
    const vg_probe_res *res;
    const vg_guard_env *env;
    vg_report *rep;
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
    const vg_probe_res *sfs = &c->res[ms->statfs_req];
    const vg_probe_res *par = &c->res[ms->parent_req];
    const char *mount = ms->mount;
    vg_mount_probe probe = { sfs, NULL, par };
    vg_mount_class mc = vg_mount_classify(c->mounts, mount, c->cfg->shared_fs_types, &probe);

    switch (mc.state) {
    case VG_MOUNT_NOT_MOUNTED: {
        const vg_mount *under = vg_mounts_find(c->mounts, mount);
        autofree char *hint = lima_hint(c, mount);
        if (sfs->answered && sfs->err == ENOENT)
            add_finding(c->rep, VG_FIND_NOT_MOUNTED, true, mount,
                        "shared mount '%s' is not mounted and the directory does not exist. %s",
                        mount, hint);
        else
            add_finding(c->rep, VG_FIND_NOT_MOUNTED, true, mount,
                        "shared mount '%s' is not mounted: '%s' is a plain directory on the %s "
                        "filesystem mounted at '%s'. %s",
                        mount, mount, fs_word(under), under ? under->mount_point : "/", hint);
        return;
    }
    case VG_MOUNT_WRONG_FSTYPE: {
        autofree char *types = NULL;
        vg_buf b = { 0 };
        for (size_t i = 0; c->cfg->shared_fs_types[i]; i++)
            vg_buf_printf(&b, "%s%s", i ? ", " : "", c->cfg->shared_fs_types[i]);
        types = vg_buf_steal(&b);
        add_finding(c->rep, VG_FIND_FSTYPE, true, mount,
                    "shared mount '%s' is mounted as '%s' (source '%s'), which is not one of "
                    "shared_fs_types (%s) in '%s'. Either the share failed to mount and "
                    "something else is mounted there, or add \"%s\" to shared_fs_types.",
                    mount, ms->entry->fstype, ms->entry->source, *types ? types : "none",
                    c->cfg->source ? c->cfg->source : vg_config_default_path(),
                    ms->entry->fstype);
        return;
    }
    case VG_MOUNT_TIMEOUT: {
        autofree char *fh = fuse_hint(ms->entry);
        ms->timed_out = true;
        add_finding(c->rep, VG_FIND_TIMEOUT, true, mount,
                    "shared mount '%s' (%s) did not answer within %u ms; its server may be "
                    "hung. Check the host side of the share (on Lima: is the instance's "
                    "host process alive?), or raise probe_timeout_ms in '%s'.%s",
                    mount, ms->entry->fstype, c->cfg->probe_timeout_ms,
                    c->cfg->source ? c->cfg->source : vg_config_default_path(), fh);
        return;
    }
    case VG_MOUNT_UNEXAMINABLE:
        add_finding(c->rep, VG_FIND_NOT_MOUNTED, true, mount,
                    "shared mount '%s' (%s) cannot be examined: %s.", mount,
                    ms->entry->fstype, strerror(mc.err));
        return;
    case VG_MOUNT_SHADOW: {
        autofree char *hint = lima_hint(c, mount);
        add_finding(c->rep, VG_FIND_SHADOW, true, mount,
                    "shared mount '%s' is not mounted: the mount table lists a %s mount there, "
                    "but the directory is on the same device as its parent (a shadow "
                    "directory). %s", mount, ms->entry->fstype, hint);
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
static char *propose_label(const judge_ctx *c, const vg_guard_item *items, size_t n,
                           const size_t *file_req, uid_t *owner_out)
{
    bool have = false;
    uid_t owner = 0;
    for (size_t i = 0; i < n; i++) {
        if (file_req[i] == SIZE_MAX)
            continue;
        const vg_probe_res *r = &c->res[file_req[i]];
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

static void judge_dac(judge_ctx *c, const vg_guard_item *it, const vg_probe_res *fr,
                      const mount_state *ms, const char *fix)
{
    const vg_domain_path *dp = it->dp;
    bool is_dir = S_ISDIR(fr->mode);
    int want = want_bits(dp, is_dir);
    bool relabels = c->relabel && dp->relabel && role_is_relabelled(dp->role);
    vg_chown_result chown = ms->have_chown_req ? c->res[ms->chown_req].chown : VG_CHOWN_UNKNOWN;
    int chown_err = ms->have_chown_req ? c->res[ms->chown_req].err : 0;
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
                                          : c->relabel_off_reason);

    add_finding(c->rep, VG_FIND_DAC, true, it->path,
                "%s: QEMU will run as %s and cannot open it for %s: it is owned by %u:%u "
                "with mode %04o, and %s. %s",
                what, who, want_words(want), (unsigned)fr->uid, (unsigned)fr->gid,
                (unsigned)(fr->mode & 07777), cause, fix);
}

static void judge_traversal(judge_ctx *c, const vg_guard_item *it, const char *dir,
                            const vg_probe_res *dr)
{
    autofree char *what = describe_item(it);
    autofree char *who = vg_ids_describe(c->ids);
    add_finding(c->rep, VG_FIND_DAC, true, it->path,
                "%s: QEMU will run as %s and cannot reach it: directory '%s' is owned by "
                "%u:%u with mode %04o (QEMU needs search permission 'x' on every directory "
                "above the file). Grant it, e.g. 'chmod o+x %s', or run this domain's QEMU "
                "as the directory's owner with a static DAC <seclabel>.",
                what, who, dir, (unsigned)dr->uid, (unsigned)dr->gid,
                (unsigned)(dr->mode & 07777), dir);
}

/* Every proper ancestor of `path` ("/", "/a", "/a/b" for "/a/b/c"). */
static char **ancestors(const char *path)
{
    char **v = NULL;
    vg_strv_push(&v, vg_xstrdup("/"));
    for (const char *p = path + 1; (p = strchr(p, '/')); p++)
        vg_strv_push(&v, vg_xstrndup(path, (size_t)(p - path)));
    return v;
}

static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return vg_xstrdup("/");
    return vg_xstrndup(path, (size_t)(slash - path));
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
static char *checked_label(const judge_ctx *c, const vg_guard_item *items, size_t n,
                           const size_t *file_req, char ***anc, const size_t *anc_req,
                           const vg_probe_res *state, char **why)
{
    autoerror vg_error *err = NULL;
    autoids vg_ids prop = { 0 };
    autofree char *label = NULL;
    uid_t owner = 0;
    size_t a = 0;

    *why = NULL;
    if (!(label = propose_label(c, items, n, file_req, &owner))) {
        *why = vg_xstrdup("the domain's files on shared mounts have different owners");
        return NULL;
    }
    if (owner == 0) {
        *why = vg_xstrdup("the files are owned by root already (perhaps since an earlier "
                          "stop), and QEMU must not run as root; give them back to their "
                          "writer first ('chown UID:GID' on the host side)");
        return NULL;
    }
    if (vg_ids_resolve_label(label, c->env->passwd_file, c->env->group_file, &prop, &err) < 0) {
        *why = vg_xasprintf("label '%s' does not resolve: %s", label, err->msg);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        size_t n_anc = vg_strv_len(anc[i]);
        const vg_probe_res *fr = &c->res[file_req[i]];
        for (size_t k = a; k < a + n_anc; k++) {
            const vg_probe_res *dr = &c->res[anc_req[k]];
            if (dr->answered && !dr->err && !vg_dac_allows(&prop, dr->uid, dr->gid, dr->mode, X_OK)) {
                *why = vg_xasprintf("with label '%s' QEMU could not reach '%s' (directory '%s' is "
                                    "owned by %u:%u with mode %04o)", label, items[i].path,
                                    anc[i][k - a], (unsigned)dr->uid, (unsigned)dr->gid,
                                    (unsigned)(dr->mode & 07777));
                return NULL;
            }
        }
        a += n_anc;
        if (!items[i].mount || !fr->answered || fr->err)
            continue;
        int want = want_bits(items[i].dp, S_ISDIR(fr->mode));
        if (!vg_dac_allows(&prop, fr->uid, fr->gid, fr->mode, want)) {
            *why = vg_xasprintf("with label '%s' QEMU could not open '%s' for %s (owned by %u:%u "
                                "with mode %04o)", label, items[i].path, want_words(want),
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

/* One warning per mount where libvirt's chown works and some relabelled
 * file will not get its owner back at stop.  The start goes on: it works;
 * the harm is to the files' writer afterwards. */
static void judge_owner_lost(judge_ctx *c, const mount_state *ms, const vg_guard_item *items,
                             size_t n, const size_t *file_req, const char *label,
                             const char *no_label_why)
{
    const vg_probe_res *cr = &c->res[ms->chown_req];
    vg_buf list = { 0 };
    bool any_root = false;
    size_t count = 0;

    if (!ms->ok || !ms->have_chown_req || !cr->answered || cr->chown != VG_CHOWN_WORKS)
        return;
    for (size_t i = 0; i < n; i++) {
        const vg_guard_item *it = &items[i];
        const vg_probe_res *fr = &c->res[file_req[i]];
        if (!it->mount || strcmp(it->mount, ms->mount) != 0 || !fr->answered || fr->err ||
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
                       "owner that QEMU with its group can use%s.", no_label_why, keep);
    add_finding(c->rep, VG_FIND_OWNER_LOST, false, ms->mount,
                "WARNING: libvirt will chown %s on shared mount '%s' (%s) to QEMU's %u:%u at "
                "start, and cannot give %s back at stop%s%s. After the domain stops, %s: the "
                "images' writer can no longer rewrite %s%s. virtguard does not refuse the start "
                "for this. %s",
                count == 1 ? "a file" : "files", ms->mount, ms->entry->fstype,
                (unsigned)c->ids->uid, (unsigned)c->ids->gid,
                count == 1 ? "its owner" : "their owners", cause ? ": " : "", cause ? cause : "",
                files, count == 1 ? "it" : "them", any_root ? ", after every stop" : "", fix);
}

/* ---- the whole check ------------------------------------------------------ */

static int resolve_identity(const vg_config *cfg, const vg_qemu_conf *qconf, const vg_domain *dom,
                            const vg_guard_env *env, vg_ids *ids, bool *relabel,
                            const char **relabel_off, bool *static_label, vg_error **err)
{
    const vg_seclabel *sl = vg_domain_seclabel(dom, "dac");
    (void)cfg;

    *relabel = qconf->dynamic_ownership;
    *relabel_off = "dynamic_ownership = 0 in qemu.conf";
    *static_label = false;
    if (sl && vg_streq(sl->type, "none")) {
        *relabel = false;
        *relabel_off = "the domain's DAC <seclabel type='none'>";
    } else if (sl && !sl->relabel) {
        *relabel = false;
        *relabel_off = "relabel='no' in the domain's DAC <seclabel>";
    }
    if (sl && sl->label && *sl->label && !vg_streq(sl->type, "none")) {
        *static_label = vg_streq(sl->type, "static");
        return vg_ids_resolve_label(sl->label, env->passwd_file, env->group_file, ids, err);
    }
    return vg_ids_resolve(qconf->user, qconf->group, env->passwd_file, env->group_file, ids, err);
}

int vg_guard_run(const vg_config *cfg, const vg_qemu_conf *qconf, const vg_domain *dom,
                 const vg_guard_env *env, vg_report **out, vg_error **err)
{
    static const vg_guard_env no_env;
    vg_guard_item *items = NULL;
    size_t n_items = 0;
    autoerror vg_error *id_err = NULL;
    autoids vg_ids ids = { 0 };
    automounts vg_mounts *mounts = NULL;
    mount_state *ms = NULL;
    size_t n_ms = 0;
    reqs q = { 0 };
    size_t *file_req = NULL;
    char ***anc = NULL;
    size_t *anc_req = NULL;
    size_t n_anc = 0;
    vg_probe_res *res = NULL;
    size_t state_req = SIZE_MAX;
    bool relabel = true, static_label = false, have_ids;
    const char *relabel_off = NULL;
    autofree char *label = NULL;
    autofree char *label_why = NULL;
    autofree char *fix = NULL;
    vg_report *rep = vg_xcalloc(1, sizeof(*rep));
    int r;

    env = env ? env : &no_env;
    /* shown escaped: libvirt allows '\r' and other control bytes in names */
    rep->domain = vg_str_escape(dom->name ? dom->name : "(unnamed)", true);
    if ((r = vg_guard_plan(cfg, dom, &items, &n_items, err)) < 0)
        goto done;
    rep->n_shared = n_items;
    if (n_items == 0)
        goto done;

    have_ids = resolve_identity(cfg, qconf, dom, env, &ids, &relabel, &relabel_off,
                                &static_label, &id_err) == 0;
    if (!have_ids)
        add_finding(rep, VG_FIND_IDENTITY, true, NULL,
                    "cannot tell which user QEMU will run as, so file access cannot be "
                    "checked: %s.", id_err->msg);

    if ((r = vg_mountinfo_read(env->mountinfo, &mounts, err)) < 0)
        goto done;

    /* Mount-level requests. */
    for (size_t i = 0; i < n_items; i++) {
        const char *m = items[i].mount;
        bool seen = false;
        if (!m)
            continue;
        for (size_t j = 0; j < n_ms; j++)
            seen |= strcmp(ms[j].mount, m) == 0;
        if (seen)
            continue;
        mount_state *s = VG_APPEND(ms, n_ms);
        s->mount = m;
        s->entry = vg_mounts_at(mounts, m);
    }
    for (size_t j = 0; j < n_ms; j++) {
        autofree char *parent = parent_dir(ms[j].mount);
        ms[j].statfs_req = req_add(&q, VG_PROBE_STATFS, ms[j].mount, 0, 0);
        ms[j].parent_req = req_add(&q, VG_PROBE_STAT, parent, 0, 0);
    }
    /* Chown probes only where libvirt would chown and the mount is listed. */
    for (size_t j = 0; j < n_ms && have_ids && relabel; j++) {
        if (!ms[j].entry || !vg_strv_contains(cfg->shared_fs_types, ms[j].entry->fstype))
            continue;
        ms[j].chown_req = req_add(&q, VG_PROBE_CHOWN, ms[j].mount, ids.uid, ids.gid);
        ms[j].have_chown_req = true;
    }
    /* Per-file requests: every ancestor directory, then the file. */
    file_req = vg_xcalloc(n_items, sizeof(*file_req));
    anc = vg_xcalloc(n_items, sizeof(*anc));
    for (size_t i = 0; i < n_items; i++) {
        file_req[i] = req_add(&q, VG_PROBE_STAT, items[i].path, 0, 0);
        anc[i] = ancestors(items[i].path);
        for (size_t k = 0; anc[i][k]; k++)
            *VG_APPEND(anc_req, n_anc) = req_add(&q, VG_PROBE_STAT, anc[i][k], 0, 0);
    }
    if (have_ids)
        state_req = req_add(&q, VG_PROBE_STAT, env->state_dir ? env->state_dir : VG_LIBVIRT_STATE_DIR, 0, 0);

    res = vg_xcalloc(q.n, sizeof(*res));
    r = vg_probe_run(q.v, q.n, cfg->probe_timeout_ms, res, &rep->probe_ms, err);
    if (r < 0 && r != -ETIMEDOUT)
        goto done;
    r = 0;
    if (env->probe_edit)
        env->probe_edit(q.v, res, q.n, env->probe_opaque);

    judge_ctx c = {
        .cfg = cfg, .qconf = qconf, .dom = dom, .mounts = mounts,
        .ids = have_ids ? &ids : NULL, .relabel = relabel, .relabel_off_reason = relabel_off,
        .req = q.v, .res = res, .env = env, .rep = rep,
    };
    for (size_t j = 0; j < n_ms; j++)
        judge_mount(&c, &ms[j]);

    /* The fix we would propose for DAC problems, checked before offering. */
    label = have_ids ? checked_label(&c, items, n_items, file_req, anc, anc_req,
                                     state_req != SIZE_MAX ? &res[state_req] : NULL, &label_why)
                     : NULL;
    if (label)
        fix = vg_xasprintf("Do not set user = \"root\" or security_driver = \"none\" in qemu.conf "
                           "(that removes isolation for every guest); run this domain's QEMU as "
                           "the files' owner instead, keeping QEMU's group, by adding to its XML "
                           "('virsh edit %s'): <seclabel type='static' model='dac' "
                           "relabel='no'><label>%s</label></seclabel>. Alternatively serve the "
                           "share so that chown works (9p: security_model=mapped-xattr; "
                           "virtiofs: a virtiofsd running as root).",
                           rep->domain, label);
    else
        fix = vg_xstrdup("Give the files one owner and run this domain's QEMU as that user with "
                         "a static DAC <seclabel> keeping QEMU's group, or serve the share so that "
                         "chown works (9p: security_model=mapped-xattr; virtiofs: a virtiofsd "
                         "running as root); do not set user = \"root\" or "
                         "security_driver = \"none\" in qemu.conf.");

    size_t a = 0;
    for (size_t i = 0; i < n_items; i++) {
        const vg_guard_item *it = &items[i];
        const vg_probe_res *fr = &res[file_req[i]];
        mount_state *s = NULL;
        size_t n_anc_i = vg_strv_len(anc[i]);
        size_t first_anc = a;
        a += n_anc_i;

        if (!it->mount) {
            /* A path in the writer's namespace (path_map FROM). Fine if it
             * exists here too; otherwise say what it should have been. */
            if (fr->answered && fr->err == ENOENT) {
                autofree char *mapped = NULL;
                autofree char *what = describe_item(it);
                if (vg_path_map_apply(it->unmapped, 1, it->path, &mapped) <= 0)
                    mapped = vg_xstrdup("?");
                char *shown = vg_str_escape(mapped, true);
                free(mapped);
                mapped = shown;
                add_finding(rep, VG_FIND_UNMAPPED, true, it->path,
                            "%s does not exist on this host: it is a path as the image writer "
                            "sees it, which path_map maps to '%s'. Rewrite the XML with "
                            "'virtguard rewrite' before defining the domain.", what, mapped);
            }
            continue;
        }
        for (size_t j = 0; j < n_ms; j++)
            if (strcmp(ms[j].mount, it->mount) == 0)
                s = &ms[j];
        if (!s || !s->ok)
            continue;           /* the mount finding says it all */

        autofree char *what = describe_item(it);
        if (!fr->answered) {
            if (!s->timed_out) {
                autofree char *fh = fuse_hint(s->entry);
                s->timed_out = true;
                add_finding(rep, VG_FIND_TIMEOUT, true, it->path,
                            "%s: shared mount '%s' (%s) did not answer within %u ms while "
                            "checking this file; its server may be hung. Check the host side of "
                            "the share, or raise probe_timeout_ms in '%s'.%s",
                            what, s->mount, s->entry->fstype, cfg->probe_timeout_ms,
                            cfg->source ? cfg->source : vg_config_default_path(), fh);
            }
            continue;
        }
        if (fr->err == ENOENT) {
            if (role_may_be_created(it->dp)) {
                autofree char *raw_dir = parent_dir(it->path);
                autofree char *dir = vg_str_escape(raw_dir, true);
                size_t k = n_anc_i ? first_anc + n_anc_i - 1 : SIZE_MAX;
                if (k != SIZE_MAX && res[anc_req[k]].answered && res[anc_req[k]].err == ENOENT)
                    add_finding(rep, VG_FIND_MISSING, true, it->path,
                                "%s: directory '%s' does not exist on shared mount '%s' (%s), so "
                                "it cannot be created there. Create the directory first.",
                                what, dir, s->mount, s->entry->fstype);
                continue;
            }
            add_finding(rep, VG_FIND_MISSING, true, it->path,
                        "%s does not exist on shared mount '%s' (%s). Check the path in the "
                        "domain XML, and that the writer of the image finished creating it on "
                        "the host side of the share.", what, s->mount, s->entry->fstype);
            continue;
        }
        if (fr->err) {
            add_finding(rep, VG_FIND_MISSING, true, it->path, "%s cannot be examined: %s.",
                        what, strerror(fr->err));
            continue;
        }
        if (!have_ids)
            continue;
        /* Search permission on every directory above the file. */
        bool blocked = false;
        for (size_t k = first_anc; k < first_anc + n_anc_i && !blocked; k++) {
            const vg_probe_res *dr = &res[anc_req[k]];
            if (!dr->answered || dr->err)
                continue;
            if (!vg_dac_allows(&ids, dr->uid, dr->gid, dr->mode, X_OK)) {
                judge_traversal(&c, it, anc[i][k - first_anc], dr);
                blocked = true;
            }
        }
        if (!blocked)
            judge_dac(&c, it, fr, s, fix);
    }

    /* Where libvirt's relabel works but cannot be undone: a warning. */
    if (have_ids && relabel && !vg_report_blocking(rep))
        for (size_t j = 0; j < n_ms; j++)
            judge_owner_lost(&c, &ms[j], items, n_items, file_req, label, label_why);

    /* libvirt keeps master-key.aes under its 0750 state dir: QEMU's ids must
     * be able to enter it (docs/DESIGN.md, step 7: +1000:+1000 fails there). */
    if (have_ids && static_label && state_req != SIZE_MAX && res[state_req].answered &&
        !res[state_req].err &&
        !vg_dac_allows(&ids, res[state_req].uid, res[state_req].gid, res[state_req].mode, X_OK)) {
        autofree char *who = vg_ids_describe(&ids);
        const char *sd = env->state_dir ? env->state_dir : VG_LIBVIRT_STATE_DIR;
        add_finding(rep, VG_FIND_STATE_DIR, true, sd,
                    "QEMU will run as %s (from the domain's static DAC <seclabel>) and cannot "
                    "enter libvirt's state directory '%s' (owned by %u:%u, mode %04o), where "
                    "libvirt keeps the domain's master-key.aes. Keep QEMU's group in the label "
                    "(+%u:+%u) so the group bits let it in.",
                    who, sd, (unsigned)res[state_req].uid, (unsigned)res[state_req].gid,
                    (unsigned)(res[state_req].mode & 07777), (unsigned)ids.uid,
                    (unsigned)res[state_req].gid);
    }

done:
    for (size_t i = 0; anc && i < n_items; i++)
        vg_strv_free(anc[i]);
    free(anc);
    free(anc_req);
    free(file_req);
    free(res);
    free(ms);
    reqs_clear(&q);
    vg_guard_items_free(items, n_items);
    if (r < 0) {
        vg_report_free(rep);
        return r;
    }
    *out = rep;
    return 0;
}
