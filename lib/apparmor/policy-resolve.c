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
 * The path-trust rule (docs/SECURITY.md, "The path-trust rule") lives in
 * one place: every path that can become a rule -- from the XML, a backing
 * or data-file name read from a qcow2 header, a chardev pipe's .in/.out --
 * goes through trust_path(), which walks it one component at a time as
 * the kernel does (walk_path: ".." is taken on the canonical directory, so
 * it can skip no check) and then decides on the canonical path of the
 * object: no symbolic link below a root is followed, the file's type is
 * what the XML asks for, a tree is never a root nor holds another defined
 * domain's files, and a data file named only in a header lies beside its
 * image in a directory that is not a root.
 *
 * Canonical form: the real path of the longest existing prefix plus the
 * rest (files such as chardev logs or a fresh overlay may not exist yet),
 * as virt-aa-helper does; AppArmor checks the resolved path at open time,
 * so that is the form a rule must name.
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
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <sys/stat.h>

#include "aa-escape.h"
#include "qcow2.h"
#include "storage-pool.h"

/* A file of another domain libvirt keeps (config or status), canonical. */
typedef struct other_file {
    char *canon;
    char *domain;           /* its name, for the message */
    bool dir;               /* a directory the other domain shares */
} other_file;

typedef struct resolver {
    const vg_config *cfg;
    const vg_domain *dom;
    const char *libvirt_conf_dir;
    const char *libvirt_run_dir;
    char **roots_lex;       /* roots as configured (normalised) */
    char **roots_canon;     /* the same, symlinks resolved */
    vg_policy *p;
    bool others_loaded;     /* other domains' files read (on the first tree rule) */
    other_file *others;
    size_t n_others;
    char **others_failures; /* domain files that could not be read */
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

/* ---- walking a name as the kernel does ------------------------------------ */

#define VG_MAX_LINKS 40     /* the kernel's MAXSYMLINKS */

typedef struct walked {
    char *canon;            /* canonical path of the object */
    bool exists;
    mode_t mode;            /* its file type, when it exists */
    nlink_t nlink;          /* its link count, when it exists */
    char *link;             /* the first symbolic link met below a root, or NULL */
    char *link_target;      /* what that link holds */
} walked;

static void walked_clear(walked *w)
{
    free(w->canon);
    free(w->link);
    free(w->link_target);
    *w = (walked){ 0 };
}
#define autowalked _cleanup_(walked_clear)

static bool has_dotdot(const char *s)
{
    for (const char *p = s; (p = strstr(p, "..")); p += 2)
        if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

static bool only_slashes(const char *s)
{
    return s[strspn(s, "/")] == '\0';
}

/* One link met on the walk: record it when it lies below a root, refuse a
 * dangling one, and splice its target in front of the rest of the name. */
static int follow_link(const resolver *r, const char *path, const char *link, char **todo,
                       const char **rest, vg_buf *cur, walked *w, vg_error **err)
{
    char target[PATH_MAX];
    struct stat st;
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return vg_error_set_errno(err, errno, "cannot resolve path '%s': cannot read the "
                                  "symbolic link '%s'", path, link);
    if ((size_t)n >= sizeof(target) - 1)
        return vg_error_set(err, ENAMETOOLONG, "cannot resolve path '%s': the symbolic link '%s' "
                            "holds a name of PATH_MAX bytes or more", path, link);
    target[n] = '\0';
    if (stat(link, &st) < 0 && errno == ENOENT)
        return vg_error_set(err, ENOENT, "cannot resolve path '%s': '%s' is a dangling symbolic "
                            "link or unreadable (%s)", path, link, strerror(ENOENT));
    if (!w->link && under_any(link, r->roots_canon)) {
        w->link = vg_xstrdup(link);
        w->link_target = vg_xstrdup(target);
    }
    char *next = vg_xasprintf("%s/%s", target, *rest);
    free(*todo);
    *todo = next;
    *rest = next;
    if (target[0] == '/')
        vg_buf_clear(cur);
    return 0;
}

/* Resolve the absolute name `path` one component at a time, as the kernel
 * does: a ".." goes to the parent of the canonical directory reached so
 * far (never a lexical shortcut: "x/../link" meets "link"), every symbolic
 * link is read and the first one below a root recorded, and the first
 * missing component ends the walk (the rest is appended as written; a ".."
 * after it cannot be checked and is refused). */
static int walk_path(const resolver *r, const char *path, walked *w, vg_error **err)
{
    autobuf vg_buf cur = { 0 };         /* canonical so far; "" is "/" */
    autofree char *todo = vg_xstrdup(path);
    const char *rest = todo;
    unsigned links = 0;
    struct stat st;

    *w = (walked){ 0 };
    if (lstat("/", &st) < 0)
        return vg_error_set_errno(err, errno, "cannot resolve path '%s'", path);
    w->mode = st.st_mode;
    for (;;) {
        rest += strspn(rest, "/");
        if (!*rest)
            break;
        size_t n = strcspn(rest, "/");
        autofree char *comp = vg_xstrndup(rest, n);
        rest += n;
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            char *slash = cur.len ? strrchr(cur.s, '/') : NULL;
            if (slash)
                cur.len = (size_t)(slash - cur.s), cur.s[cur.len] = '\0';
            continue;
        }
        autofree char *next = vg_xasprintf("%s/%s", cur.len ? cur.s : "", comp);
        if (lstat(next, &st) < 0) {
            if (errno != ENOENT)
                return vg_error_set_errno(err, errno, "cannot resolve path '%s': lstat of '%s' "
                                          "failed", path, next);
            if (has_dotdot(rest))
                return vg_error_set(err, ENOENT, "'%s' does not exist, and a path with '..' can "
                                    "only be checked once it exists", path);
            autofree char *tail = vg_xasprintf("%s%s", next, rest);
            w->canon = vg_path_normalize(tail);
            return 0;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > VG_MAX_LINKS)
                return vg_error_set(err, ELOOP, "cannot resolve path '%s': more than %d symbolic "
                                    "links", path, VG_MAX_LINKS);
            int rc = follow_link(r, path, next, &todo, &rest, &cur, w, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (!S_ISDIR(st.st_mode) && !only_slashes(rest))
            return vg_error_set(err, ENOTDIR, "cannot resolve path '%s': '%s' is not a directory",
                                path, next);
        vg_buf_clear(&cur);
        vg_buf_add(&cur, next);
        w->mode = st.st_mode;
        w->nlink = st.st_nlink;
    }
    w->canon = cur.len ? vg_buf_steal(&cur) : vg_xstrdup("/");
    w->exists = true;
    return 0;
}

/* ---- the path-trust rule ---------------------------------------------------- */

/* The root whose canonical path is `canon`, or NULL. */
static const char *is_root(const resolver *r, const char *canon)
{
    for (size_t i = 0; r->roots_canon && r->roots_canon[i]; i++)
        if (strcmp(r->roots_canon[i], canon) == 0)
            return r->roots_lex[i];
    return NULL;
}

/* A root that lies inside the tree `canon` (or is it), or NULL. */
static const char *root_inside(const resolver *r, const char *canon)
{
    for (size_t i = 0; r->roots_canon && r->roots_canon[i]; i++)
        if (vg_path_is_under(r->roots_canon[i], canon))
            return r->roots_lex[i];
    return NULL;
}

/* Enforce refuses, dev mode grants with a warning: one decision for the
 * containment rules below. */
static int contain(resolver *r, vg_error **err, const char *fmt, ...) VG_FORMAT(3, 4);
static int contain(resolver *r, vg_error **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *msg = vg_xvasprintf(fmt, ap);
    va_end(ap);
    if (r->cfg->mode != VG_MODE_DEV)
        return vg_error_set(err, EPERM, "%s; virtguard refuses it in enforce mode", msg);
    vg_strv_push(&r->p->warnings,
                 vg_xasprintf("WARNING: dev mode: %s; granting it anyway, enforce mode refuses this",
                              msg));
    return 0;
}

/* What a file type is called in a message. */
static const char *type_name(mode_t m)
{
    if (S_ISREG(m)) return "a regular file";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISBLK(m)) return "a block device node";
    if (S_ISCHR(m)) return "a character device node";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISSOCK(m)) return "a socket";
    return "a special file";
}

/* The file-type rule: on a root, an object is a regular file, or a
 * directory / socket / FIFO exactly where the XML asks for one; never a
 * device node.  NULL when `mode` fits, else what the XML asks for. */
static const char *type_misfit(vg_path_kind want, mode_t mode)
{
    switch (want) {
    case VG_KIND_DIR:
        return S_ISDIR(mode) ? NULL : "a directory";
    case VG_KIND_SOCKET:
        return S_ISSOCK(mode) || S_ISREG(mode) ? NULL : "a socket";
    case VG_KIND_PIPE:
        return S_ISFIFO(mode) || S_ISREG(mode) ? NULL : "a FIFO or a regular file";
    case VG_KIND_FILE:
    case VG_KIND_BLOCK:
    case VG_KIND_DEVICE:
        break;
    }
    return S_ISREG(mode) ? NULL : "a regular file";
}

static void other_add(resolver *r, char *canon, const char *domain, bool dir)
{
    other_file *o = VG_APPEND(r->others, r->n_others);
    o->canon = canon;
    o->domain = vg_xstrdup(domain);
    o->dir = dir;
}

static char *header_path(const char *image_lex, const char *name);
static bool has_protocol(const char *name);

/* Open `canon` (a canonical path: no link in it) read-only, following no
 * symbolic link on the way (openat2 RESOLVE_NO_SYMLINKS; O_NOFOLLOW for the
 * last component where the kernel lacks openat2): a link the share's writer
 * swaps in after the path was checked fails with ELOOP.  O_NONBLOCK: a FIFO
 * does not hang the open.  -1 with errno otherwise. */
static int open_nofollow(const char *canon)
{
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                            .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, canon, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS)
        fd = open(canon, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
    return fd;
}

/* Open `canon` for reading only if it is a regular file (open_nofollow)
 * and only if the object opened is the one lstat saw: another domain's
 * files are read at every tree check, and the share's writer must not swap
 * in a link or a device node whose open(2) alone has effects.  -1
 * otherwise. */
static int open_regular(const char *canon)
{
    struct stat before, after;
    if (lstat(canon, &before) < 0 || !S_ISREG(before.st_mode))
        return -1;
    int fd = open_nofollow(canon);
    if (fd < 0)
        return -1;
    if (fstat(fd, &after) < 0 || !S_ISREG(after.st_mode) || after.st_dev != before.st_dev ||
        after.st_ino != before.st_ino) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The backing layers and data files another domain's image names in its
 * qcow2 header: that domain's files as much as the ones its XML names.
 * Only images under a root are read (as for this domain's own chain); a
 * header that cannot be read adds nothing (a raw image, a missing file). */
static void other_chain(resolver *r, const char *image, const char *domain)
{
    autofree char *cur = vg_xstrdup(image);
    for (unsigned depth = 0; depth <= VG_POLICY_MAX_CHAIN; depth++) {
        if (!under_any(cur, r->roots_canon))
            return;
        autoclose int fd = open_regular(cur);
        if (fd < 0)
            return;
        autoqcow2 vg_qcow2_info info = { 0 };
        autoerror vg_error *ignored = NULL;
        if (vg_qcow2_read(fd, cur, &info, &ignored) < 0)
            return;
        if (info.data_file && info.data_file[0] == '/') {
            char *d = realpath(info.data_file, NULL);
            other_add(r, d ? d : vg_xstrdup(info.data_file), domain, false);
        }
        if (!info.backing_file || has_protocol(info.backing_file))
            return;
        autofree char *name = header_path(cur, info.backing_file);
        char *next = realpath(name, NULL);
        if (!next)
            return;
        other_add(r, vg_xstrdup(next), domain, false);
        free(cur);
        cur = next;
    }
}

static void add_other(const vg_domain *dom, const char *file, void *opaque)
{
    resolver *r = opaque;
    (void)file;
    if (!dom->uuid || (r->dom->uuid && strcasecmp(dom->uuid, r->dom->uuid) == 0))
        return;
    const char *name = dom->name ? dom->name : dom->uuid;
    for (size_t i = 0; i < dom->n_paths; i++) {
        const char *path = dom->paths[i].path;
        if (!path || path[0] != '/')
            continue;
        char *canon = realpath(path, NULL);
        if (!canon && !(canon = vg_path_normalize(path)))
            continue;
        bool dir = dom->paths[i].kind == VG_KIND_DIR;
        other_add(r, canon, name, dir);
        if (!dir)
            other_chain(r, canon, name);
    }
}

/* Read the files of every other domain libvirt keeps, once. */
static void load_others(resolver *r)
{
    if (r->others_loaded)
        return;
    r->others_loaded = true;
    vg_domains_in_dir(r->libvirt_conf_dir, add_other, r, &r->others_failures);
    vg_domains_in_dir(r->libvirt_run_dir, add_other, r, &r->others_failures);
}

/* The tree rule: a directory grant covers no root and no file of another
 * domain libvirt keeps (the same directory shared by both is fine).  Both
 * modes: dev mode must not widen a grant to another domain's files. */
static int check_tree(resolver *r, const char *what, const char *shown, const char *canon,
                      vg_error **err)
{
    const char *whole = is_root(r, canon);
    const char *root = whole ? whole : root_inside(r, canon);
    if (root)
        return vg_error_set(err, EPERM,
                            "%s: '%s' %s '%s': a tree rule for it would give this domain "
                            "every other domain's files; virtguard refuses it in every mode. "
                            "Share a directory below it that holds only this domain's files",
                            what, shown, whole ? "is the whole shared root" :
                            "holds the shared root", root);
    load_others(r);
    if (r->others_failures)
        return vg_error_set(err, EPERM,
                            "%s: cannot tell whether '%s' holds another domain's files: %s; "
                            "virtguard refuses a directory grant it cannot check. Fix or remove "
                            "that file", what, canon, r->others_failures[0]);
    for (size_t i = 0; i < r->n_others; i++) {
        const other_file *o = &r->others[i];
        bool holds = vg_path_is_under(o->canon, canon);
        if (!holds && !(o->dir && vg_path_is_under(canon, o->canon)))
            continue;
        autofree char *other = vg_str_escape(o->domain, true);
        const char *whose = o->dir ? "a directory shared by" : "a file of";
        autofree char *rel = strcmp(o->canon, canon) == 0 ? vg_xasprintf("is %s", whose)
            : vg_xasprintf("%s '%s', %s", holds ? "holds" : "lies inside", o->canon, whose);
        return vg_error_set(err, EPERM,
                            "%s: '%s' %s domain '%s'; a tree rule for it would give this domain "
                            "that domain's files, so virtguard refuses it in every mode. Share a "
                            "directory that holds only this domain's files",
                            what, shown, rel, other);
    }
    return 0;
}

/* The write rule for a file: no second name of a file (a hard link:
 * AppArmor matches names, so a link to another domain's image would be
 * written through it).  Every mode, like the tree rule.  (A file the
 * domain XML names is otherwise granted as libvirt grants it: two defined
 * domains may name one disk, and libvirt's own driver allows that too.) */
static int check_write(const char *what, const walked *w, vg_error **err)
{
    if (w->exists && S_ISREG(w->mode) && w->nlink > 1)
        return vg_error_set(err, EPERM,
                            "%s: '%s' has %lu hard links on the shared mount; a file this domain "
                            "may write must have one name only (another name may be another "
                            "domain's image), so virtguard refuses it in every mode. Copy the "
                            "file instead of linking it", what, w->canon,
                            (unsigned long)w->nlink);
    return 0;
}

/* The external data-file rule: a name read from a header is granted
 * read-write only beside its image, in a directory that is not a root. */
static int check_data_file(resolver *r, const char *what, const char *image, const char *canon,
                           vg_error **err)
{
    autofree char *img_dir = vg_xstrdup(image);
    autofree char *dir = vg_xstrdup(canon);
    char *s = strrchr(img_dir, '/');
    if (s)
        *(s == img_dir ? s + 1 : s) = '\0';
    if ((s = strrchr(dir, '/')))
        *(s == dir ? s + 1 : s) = '\0';
    if (strcmp(img_dir, dir) != 0)
        return contain(r, err, "%s: the header of '%s' names '%s' as its external data file, "
                       "outside the image's directory '%s'; a data file is granted read-write, "
                       "so it must lie beside its image", what, image, canon, img_dir);
    const char *root = is_root(r, img_dir);
    if (root)
        return contain(r, err, "%s: the header of '%s' names '%s' as its external data file, "
                       "but the image lies directly in the shared root '%s', which holds "
                       "every domain's files; a data file named only in a header is granted "
                       "beside its image only in a directory of its own. Move the image and "
                       "its data file into a directory below the root",
                       what, image, canon, root);
    return 0;
}

typedef struct trust_req {
    const char *what;       /* "disk 'vda'", "backing layer 1 of ..." */
    const char *name;       /* absolute name as given (XML) or joined (header) */
    vg_access access;
    vg_path_kind want;      /* what the XML asks for (a header name: a file) */
    vg_role role;
    bool reached;           /* reached from inside a root (backing layer, data file) */
    bool header;            /* the name was read from a file on the share */
    const char *data_of;    /* an external data file: its image's canonical path */
} trust_req;

static int trust_checks(resolver *r, const trust_req *q, const char *shown, const walked *w,
                        vg_policy_kind kind, vg_error **err)
{
    int rc;
    if (w->link) {
        autofree char *target = vg_str_escape(w->link_target, true);
        bool itself = strcmp(shown, w->link) == 0;
        autofree char *through = itself ? vg_xstrdup("is") : vg_xasprintf("goes through '%s',",
                                                                          w->link);
        autofree char *lead = vg_xasprintf("%s: '%s' %s a symbolic link on the shared mount that "
                                           "leads to '%s' (it holds '%s'); virtguard follows no "
                                           "symbolic link below a shared root",
                                           q->what, shown, through, w->canon, target);
        if (kind == VG_POLICY_DIR)
            return vg_error_set(err, EPERM, "%s, and never grants a directory through one, in "
                                "any mode. Name the directory itself in the domain XML", lead);
        if ((rc = contain(r, err, "%s, since the share's writer decides where it points (perhaps "
                          "at another domain's files). Name the file itself in the domain XML",
                          lead)) < 0)
            return rc;
    }
    const char *misfit = w->exists ? type_misfit(q->want, w->mode) : NULL;
    if (misfit)
        return vg_error_set(err, EPERM,
                            "%s: '%s' is %s on the shared mount, where virtguard grants only %s "
                            "for it; refused in every mode. Name %s in the domain XML",
                            q->what, w->canon, type_name(w->mode), misfit, misfit);
    if (kind == VG_POLICY_DIR && (rc = check_tree(r, q->what, shown, w->canon, err)) < 0)
        return rc;
    if (kind == VG_POLICY_FILE && q->access != VG_ACCESS_R &&
        under_any(w->canon, r->roots_canon) && (rc = check_write(q->what, w, err)) < 0)
        return rc;
    if (q->data_of && (rc = check_data_file(r, q->what, q->data_of, w->canon, err)) < 0)
        return rc;
    return 0;
}

/* The one gate every rule path goes through.  Walks q->name (walk_path),
 * applies the character policy, the restricted prefixes, the roots, and
 * the path-trust rule (trust_checks) to the canonical path, and adds the
 * entry.  *walk_out (when not NULL) receives the walk; *granted tells
 * whether an entry was added. */
static int trust_path(resolver *r, const trust_req *q, walked *walk_out, bool *granted,
                      vg_error **err)
{
    autowalked walked w = { 0 };
    autofree char *problem = vg_aa_path_problem(q->name);
    autofree char *lex = vg_path_normalize(q->name);   /* NULL when it holds ".." */
    vg_policy_kind kind = q->want == VG_KIND_DIR ? VG_POLICY_DIR : VG_POLICY_FILE;
    bool readonly = q->access == VG_ACCESS_R;
    const char *bad;
    int rc;

    *granted = false;
    if (problem)
        return refuse_chars(q->what, q->name, problem, err);
    if ((rc = check_length(q->what, q->name, err)) < 0)
        return rc;
    if (!lex && !q->header)
        return vg_error_set(err, EINVAL,
                            "%s: path '%s' contains '..'; virtguard refuses it (write the path "
                            "without '..')", q->what, q->name);
    if ((rc = walk_path(r, q->name, &w, err)) < 0)
        return vg_error_wrap(err, "%s", q->what);
    const char *canon = w.canon;
    const char *shown = lex ? lex : q->name;
    bool canon_in = under_any(canon, r->roots_canon);
    bool lex_in = lex && (under_any(lex, r->roots_lex) || under_any(lex, r->roots_canon));

    if (!canon_in && !lex_in && !q->reached) {
        /* Not ours: libvirt's own helper writes its rules.  A tree over a
         * root would give every domain's files, whoever writes the rule. */
        if (kind == VG_POLICY_DIR && (bad = root_inside(r, canon)))
            return vg_error_set(err, EPERM,
                                "%s: '%s' holds the shared root '%s': a tree rule for it would "
                                "give this domain every other domain's files; virtguard refuses "
                                "it in every mode. Share a directory below the root that holds "
                                "only this domain's files", q->what, shown, bad);
        /* Otherwise refuse only what libvirt's helper refuses. */
        if (q->role != VG_ROLE_OTHER && (bad = vg_policy_restricted(canon, readonly, false)))
            return vg_error_set(err, EPERM,
                                "%s: path '%s' is under the restricted prefix '%s', which libvirt's "
                                "AppArmor driver and virtguard never grant%s",
                                q->what, canon, bad, readonly ? "" : " for writing");
        if (walk_out)
            *walk_out = w, w = (walked){ 0 };
        return 0;
    }
    /* A symlink on the way may lead to a name the XML did not show. */
    if ((problem = vg_aa_path_problem(canon))) {
        autofree char *esc = vg_str_escape(shown, true);
        autofree char *canon_what = vg_xasprintf("%s ('%s' resolves to it)", q->what, esc);
        return refuse_chars(canon_what, canon, problem, err);
    }
    if ((bad = vg_policy_restricted(canon, readonly, true)))
        return vg_error_set(err, EPERM,
                            "%s: path '%s'%s%s%s is under the restricted prefix '%s'; virtguard "
                            "never grants access to system directories",
                            q->what, canon, strcmp(shown, canon) ? " (written as '" : "",
                            strcmp(shown, canon) ? shown : "", strcmp(shown, canon) ? "')" : "",
                            bad);
    if (!canon_in) {
        autofree char *roots = roots_text(r);
        if (r->cfg->mode != VG_MODE_DEV)
            return vg_error_set(err, EPERM,
                                "%s: path '%s' resolves to '%s', outside the allowed roots (%s); "
                                "virtguard refuses it in enforce mode. Move the file under a "
                                "shared mount, add its directory to apparmor_extra_roots, or "
                                "use mode = \"dev\" while experimenting",
                                q->what, shown, canon, roots);
        vg_strv_push(&r->p->warnings,
                     vg_xasprintf("WARNING: dev mode: %s: granting '%s' (from '%s') although it is "
                                  "outside the allowed roots (%s); enforce mode refuses this",
                                  q->what, canon, shown, roots));
    }
    if ((rc = trust_checks(r, q, shown, &w, kind, err)) < 0)
        return rc;
    vg_policy_add(r->p, canon, q->access, kind, q->role, q->what);
    *granted = true;
    if (walk_out)
        *walk_out = w, w = (walked){ 0 };
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

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

/* One walk down a backing chain: the layer being looked at and what was
 * already seen. */
typedef struct chain_walk {
    resolver *r;
    const char *what;
    file_id seen[VG_POLICY_MAX_CHAIN + 2];
    size_t n_seen;
    char *cur_lex;
    char *cur_canon;
    char *cur_fmt;
    vg_access data_access;
} chain_walk;

static void chain_walk_clear(chain_walk *c)
{
    free(c->cur_lex);
    free(c->cur_canon);
    free(c->cur_fmt);
}

#define autochainwalk _cleanup_(chain_walk_clear)

/* Open the current layer into *fd_out when it is a qcow2 regular file or
 * block device not seen before.  1: read it; 0: stop the walk; <0: error. */
static int chain_open_layer(chain_walk *c, int *fd_out, vg_error **err)
{
    autoclose int fd = -1;
    struct stat st;

    if (!c->cur_fmt || strcmp(c->cur_fmt, "qcow2") != 0)
        return 0;
    fd = open_nofollow(c->cur_canon);    /* checked by trust_path; no link since */
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM)
            c->r->p->n_denied++;
        if (errno != ENOENT)    /* a missing image is reported by the guard */
            vg_strv_push(&c->r->p->warnings,
                         vg_xasprintf("%s: cannot open '%s' to read its backing chain (%s); "
                                      "no rules for its backing files", c->what, c->cur_canon, strerror(errno)));
        return 0;
    }
    if (fstat(fd, &st) < 0)
        return vg_error_set_errno(err, errno, "%s: cannot stat '%s'", c->what, c->cur_canon);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return 0;
    for (size_t i = 0; i < c->n_seen; i++)
        if (c->seen[i].dev == st.st_dev && c->seen[i].ino == st.st_ino)
            return vg_error_set(err, ELOOP,
                                "%s: the backing chain loops: '%s' is its own backing file "
                                "(directly or through other layers)", c->what, c->cur_canon);
    c->seen[c->n_seen++] = (file_id){ st.st_dev, st.st_ino };
    *fd_out = steal_fd(&fd);
    return 1;
}

/* The current layer's external data file, if its header names one. */
static int chain_data_file(chain_walk *c, const vg_qcow2_info *info, vg_error **err)
{
    if (!info->data_file)
        return 0;
    if (info->data_file[0] != '/') {
        autofree char *shown = vg_str_escape(info->data_file, true);
        return vg_error_set(err, EINVAL,
                            "%s: '%s' names the relative external data file '%s'; QEMU "
                            "resolves it against its own working directory, not the "
                            "image's, so virtguard refuses it. Recreate the image with an "
                            "absolute data_file path",
                            c->what, c->cur_canon, shown);
    }
    autofree char *joined = header_path(c->cur_lex, info->data_file);
    autofree char *dwhat = vg_xasprintf("external data file of '%s' (%s)", c->cur_canon, c->what);
    /* The name comes from the image's header, which the writer of
     * the share controls, and the file is granted read-write:
     * trust_path holds it beside its image (check_data_file). */
    const trust_req q = { .what = dwhat, .name = joined, .access = c->data_access,
                          .want = VG_KIND_FILE, .role = VG_ROLE_DISK_AUX,
                          .reached = true, .header = true, .data_of = c->cur_canon };
    bool granted;
    int rc;
    if ((rc = trust_path(c->r, &q, NULL, &granted, err)) < 0)
        return rc;
    return 0;
}

/* Grant the current layer's backing file and make it the current layer.
 * 1: walk on; 0: stop the walk; <0: error. */
static int chain_backing(chain_walk *c, unsigned depth, vg_qcow2_info *info, vg_error **err)
{
    int rc;

    if (!info->backing_file)
        return 0;
    if (depth > VG_POLICY_MAX_CHAIN)
        return vg_error_set(err, ELOOP,
                            "%s: the backing chain is deeper than %d layers (at '%s'); "
                            "virtguard refuses it", c->what, VG_POLICY_MAX_CHAIN, c->cur_canon);
    if (has_protocol(info->backing_file) && info->backing_file[0] != '/') {
        autofree char *shown = vg_str_escape(info->backing_file, true);
        vg_strv_push(&c->r->p->warnings,
                     vg_xasprintf("%s: backing file '%s' of '%s' is not a local file; "
                                  "virtguard grants nothing for it", c->what, shown, c->cur_canon));
        return 0;
    }

    autofree char *joined = header_path(c->cur_lex, info->backing_file);
    autofree char *lwhat = NULL;
    autowalked walked w = { 0 };
    bool granted;
    {
        autofree char *shown = vg_str_escape(info->backing_file, true);
        lwhat = vg_xasprintf("backing layer %u of %s ('%s' named in '%s')", depth, c->what, shown, c->cur_canon);
    }
    const trust_req q = { .what = lwhat, .name = joined, .access = VG_ACCESS_R,
                          .want = VG_KIND_FILE, .role = VG_ROLE_BACKING, .reached = true,
                          .header = true };
    if ((rc = trust_path(c->r, &q, &w, &granted, err)) < 0)
        return rc;
    if (!w.exists) {
        vg_strv_push(&c->r->p->warnings,
                     vg_xasprintf("%s: '%s' does not exist; QEMU will fail to open it", lwhat, w.canon));
        return 0;
    }
    if (!info->backing_format) {
        vg_strv_push(&c->r->p->warnings,
                     vg_xasprintf("%s: '%s' records no backing format, so virtguard does not "
                                  "look into '%s' (format probing is unsafe); libvirt refuses to "
                                  "start such a chain. Recreate the overlay with "
                                  "qemu-img rebase -u -F FORMAT", lwhat, c->cur_canon, w.canon));
        return 0;
    }
    free(c->cur_lex);
    c->cur_lex = steal_pointer(&joined);
    free(c->cur_canon);
    c->cur_canon = steal_pointer(&w.canon);
    free(c->cur_fmt);
    c->cur_fmt = steal_pointer(&info->backing_format);
    c->data_access = VG_ACCESS_R;
    return 1;
}

/* Walk the qcow2 backing chain of a granted image. */
static int walk_chain(resolver *r, const vg_domain_path *dp, const char *what,
                      const char *top_lex, const char *top_canon, vg_error **err)
{
    autochainwalk chain_walk c = { .r = r, .what = what, .cur_lex = vg_xstrdup(top_lex),
                                   .cur_canon = vg_xstrdup(top_canon),
                                   .cur_fmt = vg_xstrdup(dp->format),
                                   .data_access = dp->access };
    int rc;

    for (unsigned depth = 1;; depth++) {
        autoqcow2 vg_qcow2_info info = { 0 };
        autoclose int fd = -1;

        if ((rc = chain_open_layer(&c, &fd, err)) <= 0)
            return rc;
        rc = vg_qcow2_read(fd, c.cur_canon, &info, err);
        if (rc < 0)
            return vg_error_wrap(err, "%s", what);
        if (rc == 0) {
            vg_strv_push(&r->p->warnings,
                         vg_xasprintf("%s: '%s' is declared qcow2 but has no qcow2 header; "
                                      "QEMU will refuse it", what, c.cur_canon));
            return 0;
        }
        if ((rc = chain_data_file(&c, &info, err)) < 0)
            return rc;
        if ((rc = chain_backing(&c, depth, &info, err)) <= 0)
            return rc;
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
    autowalked walked w = { 0 };
    bool granted;
    int rc;

    const trust_req q = { .what = what, .name = dp->path, .access = dp->access,
                          .want = dp->kind, .role = dp->role };
    if ((rc = trust_path(r, &q, &w, &granted, err)) < 0)
        return rc;

    if (dp->kind == VG_KIND_PIPE) {
        /* QEMU opens PATH.in and PATH.out, or PATH when they do not exist. */
        static const char *const sfx[] = { ".in", ".out" };
        for (size_t i = 0; i < VG_N_ELEMENTS(sfx); i++) {
            autofree char *l = vg_xasprintf("%s%s", dp->path, sfx[i]);
            const trust_req qs = { .what = what, .name = l, .access = dp->access,
                                   .want = VG_KIND_PIPE, .role = dp->role };
            bool g;
            if ((rc = trust_path(r, &qs, NULL, &g, err)) < 0)
                return rc;
        }
    }
    if (granted && dp->kind != VG_KIND_DIR && is_image_role(dp->role)) {
        autofree char *lex = vg_path_normalize(dp->path);
        return walk_chain(r, dp, what, lex, w.canon, err);
    }
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

static void resolver_clear(resolver *r)
{
    vg_strv_free(r->roots_lex);
    vg_strv_free(r->roots_canon);
    for (size_t i = 0; i < r->n_others; i++) {
        free(r->others[i].canon);
        free(r->others[i].domain);
    }
    free(r->others);
    vg_strv_free(r->others_failures);
}

int vg_policy_resolve(const vg_config *cfg, const vg_domain *dom, vg_policy **out, vg_error **err)
{
    return vg_policy_resolve_with(cfg, dom, NULL, NULL, out, err);
}

int vg_policy_resolve_with(const vg_config *cfg, const vg_domain *dom, const char *libvirt_conf_dir,
                           const char *libvirt_run_dir, vg_policy **out, vg_error **err)
{
    _cleanup_(resolver_clear) resolver r = {
        .cfg = cfg, .dom = dom,
        .libvirt_conf_dir = libvirt_conf_dir ? libvirt_conf_dir : VG_LIBVIRT_QEMU_CONF_DIR,
        .libvirt_run_dir = libvirt_run_dir ? libvirt_run_dir : VG_LIBVIRT_QEMU_RUN_DIR,
    };
    autopolicy vg_policy *p = vg_policy_new();
    int rc = 0;

    for (size_t i = 0; cfg->shared_mounts && cfg->shared_mounts[i]; i++)
        add_root(&r, cfg->shared_mounts[i]);
    for (size_t i = 0; cfg->extra_roots && cfg->extra_roots[i]; i++)
        add_root(&r, cfg->extra_roots[i]);
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
