/* virtguard: from the domain path model to canonical rule entries (I/O).
 *
 * Which paths are ours: a path whose canonical form (symlinks resolved) is
 * under an allowed root, and every path reached from inside a root (a path
 * written under a root, a backing layer of an image under a root) -- the
 * latter must also resolve inside a root, else it is refused (granted with
 * a warning in dev mode).  Everything else is left to libvirt's own
 * virt-aa-helper; we only refuse what it refuses (its restricted table),
 * so a domain it would reject does not get past virtguard either.
 *
 * Canonical form: realpath() of the longest existing prefix plus the rest
 * (files such as chardev logs or a fresh overlay may not exist yet), as
 * virt-aa-helper does; AppArmor checks the resolved path at open time, so
 * that is the form a rule must name.
 *
 * Backing chains are read from qcow2 headers, as libvirt does not pass
 * <backingStore> at `prepare`.  Formats are never probed: the top layer's
 * format comes from the XML, a backing layer's from the header extension;
 * anything not known to be qcow2 ends the chain (a guest-writable raw
 * image can contain a forged qcow2 header).  Relative backing names are
 * resolved against the directory of the image as QEMU opened it (not its
 * symlink target), like QEMU's bdrv_get_full_backing_filename().
 */
#include <config.h>

#include "policy.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/stat.h>

#include "aa-escape.h"
#include "qcow2.h"
#include "storage-pool.h"

typedef struct resolver {
    const vg_config *cfg;
    char **roots_lex;       /* roots as configured (normalised) */
    char **roots_canon;     /* the same, symlinks resolved */
    vg_policy *p;
} resolver;

static bool under_any(const char *path, char *const *roots)
{
    for (size_t i = 0; roots && roots[i]; i++)
        if (vg_path_is_under(path, roots[i]))
            return true;
    return false;
}

static char *roots_text(const resolver *r)
{
    autobuf vg_buf b = { 0 };
    for (size_t i = 0; r->roots_lex && r->roots_lex[i]; i++)
        vg_buf_printf(&b, "%s'%s'", i ? ", " : "", r->roots_lex[i]);
    if (b.len == 0)
        vg_buf_add(&b, "none configured");
    return vg_buf_steal(&b);
}

/* The one refusal for a path outside the character policy (aa-escape.h):
 * names what, the path with its control bytes shown escaped, and why. */
static int refuse_chars(const char *what, const char *path, const char *problem, vg_error **err)
{
    autofree char *shown = vg_str_escape(path, true);
    return vg_error_set(err, EINVAL,
                        "%s: path '%s' %s; virtguard refuses paths with a backslash, a double "
                        "quote, control characters or bytes that are not UTF-8, since they "
                        "cannot be written safely into an AppArmor rule. Rename the file",
                        what, shown, problem);
}

/* QEMU opens a path with one open(2): longer than PATH_MAX it cannot be
 * a file QEMU uses, and very long literal rules make apparmor_parser slow
 * (while the helper holds its lock). */
static int check_length(const char *what, const char *path, vg_error **err)
{
    if (strlen(path) < VG_POLICY_MAX_PATH)
        return 0;
    return vg_error_set(err, ENAMETOOLONG,
                        "%s: path of %zu bytes is longer than %d; virtguard refuses it (QEMU "
                        "could not open it either)", what, strlen(path), VG_POLICY_MAX_PATH - 1);
}

/* realpath() of the longest existing prefix of `path` (absolute, no ".."),
 * plus the missing rest. A dangling symlink on the way is refused: we
 * could not tell where the file would really be created. */
static int canonicalize(const char *path, char **out, vg_error **err)
{
    char *real = realpath(path, NULL);
    if (real) {
        *out = real;
        return 0;
    }
    if (errno != ENOENT)
        return vg_error_set_errno(err, errno, "cannot resolve path '%s'", path);

    size_t exist = 1;       /* "/" always exists */
    for (const char *q = path + 1; *q;) {
        const char *end = strchr(q, '/');
        if (!end)
            end = q + strlen(q);
        autofree char *prefix = vg_xstrndup(path, (size_t)(end - path));
        struct stat st;
        if (lstat(prefix, &st) < 0) {
            if (errno == ENOENT)
                break;
            return vg_error_set_errno(err, errno, "cannot resolve path '%s': lstat of '%s' failed",
                                      path, prefix);
        }
        exist = (size_t)(end - path);
        q = *end ? end + 1 : end;
    }
    autofree char *base = vg_xstrndup(path, exist);
    autofree char *rbase = realpath(base, NULL);
    if (!rbase)
        return vg_error_set(err, errno == ENOENT ? ENOENT : errno,
                            "cannot resolve path '%s': '%s' is a dangling symbolic link or unreadable (%s)",
                            path, base, strerror(errno));
    const char *rest = path + exist;
    if (exist == 1)
        rest = path;        /* nothing but "/" exists */
    *out = strcmp(rbase, "/") == 0 ? vg_xstrdup(rest) : vg_xasprintf("%s%s", rbase, rest);
    return 0;
}

static vg_policy_kind policy_kind(vg_path_kind k)
{
    return k == VG_KIND_DIR ? VG_POLICY_DIR : VG_POLICY_FILE;
}

/* The canonical form `lex` would have if no symlink below its root were
 * followed: the root's canonical path + the rest of `lex`.  NULL when lex
 * is under no root. */
static char *expected_canon(const resolver *r, const char *lex)
{
    for (size_t i = 0; r->roots_lex && r->roots_lex[i]; i++) {
        const char *root = r->roots_lex[i];
        if (!vg_path_is_under(lex, root))
            continue;
        const char *rest = lex + strlen(root);
        if (strcmp(root, "/") == 0)
            rest = lex;
        return vg_xasprintf("%s%s", r->roots_canon[i], rest);
    }
    if (under_any(lex, r->roots_canon))
        return vg_xstrdup(lex);
    return NULL;
}

static bool same_dir(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return sa && sb && sa - a == sb - b && strncmp(a, b, (size_t)(sa - a)) == 0;
}

/* Whether a symlink inside a shared root moved `lex` out of its own
 * directory: the writer of the share controls its symlinks, so a link may
 * only name a file beside it (alias.img -> a.img), never another
 * directory -- that could be another domain's.  A symlinked root itself
 * is fine (the roots are compared in canonical form). */
static bool symlink_moves(const resolver *r, const char *lex, const char *canon)
{
    if (!lex)
        return false;
    autofree char *expected = expected_canon(r, lex);
    return expected && strcmp(expected, canon) != 0 && !same_dir(expected, canon);
}

/* The root whose canonical path is `canon`, or NULL. */
static const char *is_root(const resolver *r, const char *canon)
{
    for (size_t i = 0; r->roots_canon && r->roots_canon[i]; i++)
        if (strcmp(r->roots_canon[i], canon) == 0)
            return r->roots_lex[i];
    return NULL;
}

/* Enforce refuses, dev mode grants with a warning: one decision for the
 * containment rules below. */
static int contain(resolver *r, bool *skip, vg_error **err, const char *fmt, ...) VG_FORMAT(4, 5);
static int contain(resolver *r, bool *skip, vg_error **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *msg = vg_xvasprintf(fmt, ap);
    va_end(ap);
    *skip = false;
    if (r->cfg->mode != VG_MODE_DEV)
        return vg_error_set(err, EPERM, "%s; virtguard refuses it in enforce mode", msg);
    vg_strv_push(&r->p->warnings,
                 vg_xasprintf("WARNING: dev mode: %s; granting it anyway, enforce mode refuses this",
                              msg));
    return 0;
}

/* Decide about one path: `lex` as written/derived (normalised, may be
 * NULL for backing names with ".."), `canon` its canonical form.
 * `reached` = reached from inside a root (backing layer of our image).
 * Sets *granted when an entry was added. */
static int consider(resolver *r, const char *what, const char *lex, const char *canon,
                    vg_access access, vg_policy_kind kind, vg_role role, bool reached,
                    bool *granted, vg_error **err)
{
    bool canon_in = under_any(canon, r->roots_canon);
    bool lex_in = lex && (under_any(lex, r->roots_lex) || under_any(lex, r->roots_canon));
    bool readonly = access == VG_ACCESS_R;
    const char *bad;

    *granted = false;
    if (canon_in || lex_in || reached) {
        /* A symlink on the way may lead to a name the XML did not show. */
        autofree char *problem = vg_aa_path_problem(canon);
        if (problem) {
            autofree char *shown = vg_str_escape(lex ? lex : canon, true);
            autofree char *canon_what = vg_xasprintf("%s ('%s' resolves to it)", what, shown);
            return refuse_chars(canon_what, canon, problem, err);
        }
    }
    if (!canon_in && !lex_in && !reached) {
        /* Not ours; refuse only what libvirt's helper refuses. */
        if (role != VG_ROLE_OTHER && (bad = vg_policy_restricted(canon, readonly, false)))
            return vg_error_set(err, EPERM,
                                "%s: path '%s' is under the restricted prefix '%s', which libvirt's "
                                "AppArmor driver and virtguard never grant%s",
                                what, canon, bad, readonly ? "" : " for writing");
        return 0;
    }
    if ((bad = vg_policy_restricted(canon, readonly, true)))
        return vg_error_set(err, EPERM,
                            "%s: path '%s'%s%s%s is under the restricted prefix '%s'; virtguard "
                            "never grants access to system directories",
                            what, canon, lex && strcmp(lex, canon) ? " (written as '" : "",
                            lex && strcmp(lex, canon) ? lex : "", lex && strcmp(lex, canon) ? "')" : "",
                            bad);
    if (!canon_in) {
        autofree char *roots = roots_text(r);
        if (r->cfg->mode != VG_MODE_DEV)
            return vg_error_set(err, EPERM,
                                "%s: path '%s' resolves to '%s', outside the allowed roots (%s); "
                                "virtguard refuses it in enforce mode. Move the file under a "
                                "shared mount, add its directory to apparmor_extra_roots, or "
                                "use mode = \"dev\" while experimenting",
                                what, lex ? lex : canon, canon, roots);
        vg_strv_push(&r->p->warnings,
                     vg_xasprintf("WARNING: dev mode: %s: granting '%s' (from '%s') although it is "
                                  "outside the allowed roots (%s); enforce mode refuses this",
                                  what, canon, lex ? lex : canon, roots));
    }
    bool skip;
    int rc;
    if (canon_in && symlink_moves(r, lex, canon) &&
        (rc = contain(r, &skip, err, "%s: '%s' is a symbolic link on the shared mount that leads "
                      "to '%s', in another directory (perhaps another domain's); name the file "
                      "itself in the domain XML", what, lex, canon)) < 0)
        return rc;
    if (kind == VG_POLICY_DIR && is_root(r, canon) &&
        (rc = contain(r, &skip, err, "%s: '%s' is the whole shared root '%s': a tree rule for it "
                      "would give this domain every other domain's files; share a directory below "
                      "it", what, lex ? lex : canon, is_root(r, canon))) < 0)
        return rc;
    vg_policy_add(r->p, canon, access, kind, role, what);
    *granted = true;
    return 0;
}

/* Turn a name found in `image_lex`'s header into an absolute path. */
static char *header_path(const char *image_lex, const char *name)
{
    if (name[0] == '/')
        return vg_xstrdup(name);
    autofree char *copy = vg_xstrdup(image_lex);
    const char *dir = dirname(copy);
    return vg_xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
}

/* QEMU treats "proto:..." (a colon before any slash) as a protocol, not a
 * file: nbd:, json:{...}, gluster://... */
static bool has_protocol(const char *name)
{
    const char *colon = strchr(name, ':');
    const char *slash = strchr(name, '/');
    return colon && (!slash || colon < slash);
}

/* Resolve a path named in an image header. Returns 0 (and *missing when
 * the file does not exist), or an error. */
static int resolve_header_path(const char *what, const char *joined, char **lex_out,
                               char **canon_out, bool *missing, vg_error **err)
{
    autofree char *problem = vg_aa_path_problem(joined);
    *missing = false;
    if (problem)
        return refuse_chars(what, joined, problem, err);
    int rc0 = check_length(what, joined, err);
    if (rc0 < 0)
        return rc0;
    char *real = realpath(joined, NULL);
    if (real) {
        *canon_out = real;
        *lex_out = vg_path_normalize(joined);   /* NULL when it holds ".." */
        return 0;
    }
    if (errno != ENOENT)
        return vg_error_set_errno(err, errno, "%s: cannot resolve '%s'", what, joined);
    *missing = true;
    autofree char *norm = vg_path_normalize(joined);
    if (!norm)
        return vg_error_set(err, ENOENT,
                            "%s: '%s' does not exist, and a path with '..' can only be checked "
                            "once it exists", what, joined);
    int rc = canonicalize(norm, canon_out, err);
    if (rc < 0)
        return rc;
    *lex_out = steal_pointer(&norm);
    return 0;
}

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

/* Walk the qcow2 backing chain of a granted image. */
static int walk_chain(resolver *r, const vg_domain_path *dp, const char *what,
                      const char *top_lex, const char *top_canon, vg_error **err)
{
    file_id seen[VG_POLICY_MAX_CHAIN + 2];
    size_t n_seen = 0;
    autofree char *cur_lex = vg_xstrdup(top_lex);
    autofree char *cur_canon = vg_xstrdup(top_canon);
    autofree char *cur_fmt = vg_xstrdup(dp->format);
    vg_access data_access = dp->access;
    int rc;

    for (unsigned depth = 1;; depth++) {
        autoqcow2 vg_qcow2_info info = { 0 };
        autoclose int fd = -1;
        struct stat st;

        if (!cur_fmt || strcmp(cur_fmt, "qcow2") != 0)
            return 0;
        fd = open(cur_canon, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
            if (errno != ENOENT)    /* a missing image is reported by the guard */
                vg_strv_push(&r->p->warnings,
                             vg_xasprintf("%s: cannot open '%s' to read its backing chain (%s); "
                                          "no rules for its backing files", what, cur_canon, strerror(errno)));
            return 0;
        }
        if (fstat(fd, &st) < 0)
            return vg_error_set_errno(err, errno, "%s: cannot stat '%s'", what, cur_canon);
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
            return 0;
        for (size_t i = 0; i < n_seen; i++)
            if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino)
                return vg_error_set(err, ELOOP,
                                    "%s: the backing chain loops: '%s' is its own backing file "
                                    "(directly or through other layers)", what, cur_canon);
        seen[n_seen++] = (file_id){ st.st_dev, st.st_ino };

        rc = vg_qcow2_read(fd, cur_canon, &info, err);
        if (rc < 0)
            return vg_error_wrap(err, "%s", what);
        if (rc == 0) {
            vg_strv_push(&r->p->warnings,
                         vg_xasprintf("%s: '%s' is declared qcow2 but has no qcow2 header; "
                                      "QEMU will refuse it", what, cur_canon));
            return 0;
        }
        if (info.data_file) {
            if (info.data_file[0] != '/') {
                autofree char *shown = vg_str_escape(info.data_file, true);
                return vg_error_set(err, EINVAL,
                                    "%s: '%s' names the relative external data file '%s'; QEMU "
                                    "resolves it against its own working directory, not the "
                                    "image's, so virtguard refuses it. Recreate the image with an "
                                    "absolute data_file path",
                                    what, cur_canon, shown);
            }
            autofree char *joined = header_path(cur_lex, info.data_file);
            autofree char *lex = NULL, *canon = NULL;
            autofree char *dwhat = vg_xasprintf("external data file of '%s' (%s)", cur_canon, what);
            bool missing, granted, skip;
            if ((rc = resolve_header_path(dwhat, joined, &lex, &canon, &missing, err)) < 0)
                return rc;
            /* The name comes from the image's header, which the writer of
             * the share controls, and the file is granted read-write: it
             * must lie beside the image (or below), never elsewhere. */
            autofree char *img_dir = vg_xstrdup(cur_canon);
            char *slash = strrchr(img_dir, '/');
            if (slash)
                *(slash == img_dir ? slash + 1 : slash) = '\0';
            if (!vg_path_is_under(canon, img_dir) &&
                (rc = contain(r, &skip, err, "%s: the header of '%s' names '%s' as its external "
                              "data file, outside the image's directory '%s'; a data file is "
                              "granted read-write, so it must lie beside its image",
                              dwhat, cur_canon, canon, img_dir)) < 0)
                return rc;
            if (
                (rc = consider(r, dwhat, lex, canon, data_access, VG_POLICY_FILE,
                               VG_ROLE_DISK_AUX, true, &granted, err)) < 0)
                return rc;
        }
        if (!info.backing_file)
            return 0;
        if (depth > VG_POLICY_MAX_CHAIN)
            return vg_error_set(err, ELOOP,
                                "%s: the backing chain is deeper than %d layers (at '%s'); "
                                "virtguard refuses it", what, VG_POLICY_MAX_CHAIN, cur_canon);
        if (has_protocol(info.backing_file) && info.backing_file[0] != '/') {
            autofree char *shown = vg_str_escape(info.backing_file, true);
            vg_strv_push(&r->p->warnings,
                         vg_xasprintf("%s: backing file '%s' of '%s' is not a local file; "
                                      "virtguard grants nothing for it", what, shown, cur_canon));
            return 0;
        }

        autofree char *joined = header_path(cur_lex, info.backing_file);
        autofree char *lwhat = NULL;
        autofree char *lex = NULL, *canon = NULL;
        bool missing, granted;
        {
            autofree char *shown = vg_str_escape(info.backing_file, true);
            lwhat = vg_xasprintf("backing layer %u of %s ('%s' named in '%s')", depth, what, shown, cur_canon);
        }
        if ((rc = resolve_header_path(lwhat, joined, &lex, &canon, &missing, err)) < 0 ||
            (rc = consider(r, lwhat, lex, canon, VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING,
                           true, &granted, err)) < 0)
            return rc;
        if (missing) {
            vg_strv_push(&r->p->warnings,
                         vg_xasprintf("%s: '%s' does not exist; QEMU will fail to open it", lwhat, canon));
            return 0;
        }
        if (!info.backing_format) {
            vg_strv_push(&r->p->warnings,
                         vg_xasprintf("%s: '%s' records no backing format, so virtguard does not "
                                      "look into '%s' (format probing is unsafe); libvirt refuses to "
                                      "start such a chain. Recreate the overlay with "
                                      "qemu-img rebase -u -F FORMAT", lwhat, cur_canon, canon));
            return 0;
        }
        free(cur_lex);
        cur_lex = steal_pointer(&joined);
        free(cur_canon);
        cur_canon = steal_pointer(&canon);
        free(cur_fmt);
        cur_fmt = steal_pointer(&info.backing_format);
        data_access = VG_ACCESS_R;
    }
}

static bool is_image_role(vg_role role)
{
    return role == VG_ROLE_DISK || role == VG_ROLE_CDROM || role == VG_ROLE_FLOPPY;
}

static char *describe(const vg_domain_path *dp)
{
    const char *label = vg_policy_role_label(dp->role);
    if (dp->device && *dp->device) {
        autofree char *dev = vg_aa_comment_text(dp->device);
        return vg_xasprintf("%s '%s'", label, dev);
    }
    return vg_xstrdup(label);
}

static int resolve_path(resolver *r, const vg_domain_path *dp, vg_error **err)
{
    autofree char *what = describe(dp);
    autofree char *problem = vg_aa_path_problem(dp->path);
    int rc;

    if (problem)
        return refuse_chars(what, dp->path, problem, err);
    if ((rc = check_length(what, dp->path, err)) < 0)
        return rc;
    autofree char *lex = vg_path_normalize(dp->path);
    if (!lex)
        return vg_error_set(err, EINVAL,
                            "%s: path '%s' contains '..'; virtguard refuses it (write the path "
                            "without '..')", what, dp->path);
    autofree char *canon = NULL;
    if ((rc = canonicalize(lex, &canon, err)) < 0)
        return vg_error_wrap(err, "%s", what);

    vg_policy_kind kind = policy_kind(dp->kind);
    bool granted;
    if ((rc = consider(r, what, lex, canon, dp->access, kind, dp->role, false, &granted, err)) < 0)
        return rc;

    if (dp->kind == VG_KIND_PIPE) {
        /* QEMU opens PATH.in and PATH.out, or PATH when they do not exist. */
        static const char *const sfx[] = { ".in", ".out" };
        for (size_t i = 0; i < VG_N_ELEMENTS(sfx); i++) {
            autofree char *l = vg_xasprintf("%s%s", lex, sfx[i]);
            autofree char *c = NULL;
            bool g;
            if ((rc = canonicalize(l, &c, err)) < 0)
                return vg_error_wrap(err, "%s", what);
            if ((rc = consider(r, what, l, c, dp->access, VG_POLICY_FILE, dp->role, false, &g, err)) < 0)
                return rc;
        }
    }
    if (granted && kind == VG_POLICY_FILE && is_image_role(dp->role))
        return walk_chain(r, dp, what, lex, canon, err);
    return 0;
}

static void add_root(resolver *r, const char *root)
{
    char *norm = vg_path_normalize(root);
    if (!norm)
        return;     /* the config parser refuses such roots already */
    char *canon = realpath(norm, NULL);
    vg_strv_push(&r->roots_lex, norm);
    vg_strv_push(&r->roots_canon, canon ? canon : vg_xstrdup(norm));
}

int vg_policy_resolve(const vg_config *cfg, const vg_domain *dom, vg_policy **out, vg_error **err)
{
    resolver r = { .cfg = cfg };
    autopolicy vg_policy *p = vg_policy_new();
    autostrv char **lex = NULL;
    autostrv char **canon = NULL;
    int rc = 0;

    for (size_t i = 0; cfg->shared_mounts && cfg->shared_mounts[i]; i++)
        add_root(&r, cfg->shared_mounts[i]);
    for (size_t i = 0; cfg->extra_roots && cfg->extra_roots[i]; i++)
        add_root(&r, cfg->extra_roots[i]);
    lex = r.roots_lex;
    canon = r.roots_canon;
    r.p = p;

    for (size_t i = 0; i < dom->n_paths && rc == 0; i++)
        if (dom->paths[i].path && *dom->paths[i].path)
            rc = resolve_path(&r, &dom->paths[i], err);
    if (rc < 0)
        return vg_error_wrap(err, "domain '%s'", dom->name ? dom->name : "?");
    /* before anything compiles it (lib/apparmor/policy.h, "Caps") */
    if ((rc = vg_policy_check_cost(p, dom->name, err)) < 0)
        return rc;
    *out = steal_pointer(&p);
    return 0;
}

int vg_policy_from_xml(const vg_config *cfg, const char *xml, size_t len, const char *name,
                       char **rules, char ***warnings, vg_error **err)
{
    autodomain vg_domain *dom = NULL;
    autopolicy vg_policy *p = NULL;
    int rc;

    if ((rc = vg_domain_parse(xml, len, name, &dom, err)) < 0)
        return rc;
    vg_domain_resolve_volumes(dom, NULL);
    if ((rc = vg_policy_check_domain(dom, NULL, err)) < 0 ||
        (rc = vg_policy_resolve(cfg, dom, &p, err)) < 0 ||
        (rc = vg_policy_render(p, dom->uuid, dom->name, rules, err)) < 0)
        return rc;
    for (size_t i = 0; p->warnings && p->warnings[i]; i++)
        vg_strv_push(warnings, vg_xstrdup(p->warnings[i]));
    return 0;
}
