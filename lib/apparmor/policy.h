/* virtguard: the AppArmor rules a domain needs on the shared mounts.
 *
 * Two steps, side effects at the edge:
 *  1. vg_policy_resolve() (I/O: realpath, lstat, qcow2 headers) turns the
 *     domain path model into a flat list of canonical paths, each with the
 *     access, kind, role and reason for its rule.  Only paths under the
 *     allowed roots (cfg->shared_mounts + cfg->extra_roots) get entries;
 *     restricted system paths, control characters, relative paths, ".."
 *     in XML paths, symbolic links below a root, backing files leading out
 *     of the roots, files of the wrong type (device nodes...), trees over
 *     a root or another domain's files, data files named in a header
 *     outside their image's own directory, loops and too deep backing
 *     chains are refused with an error (docs/SECURITY.md, "The path-trust
 *     rule").
 *  2. vg_policy_render() (pure) writes that list as rules, one per line,
 *     two-space indent, ready to be #included inside a profile block.
 */
#pragma once

#include "domain-paths.h"
#include "vgconfig.h"

/* Backing chains longer than this are refused (QEMU allows more, but no
 * sane sandbox image needs it, and it bounds the I/O). */
#define VG_POLICY_MAX_CHAIN 16

/* Caps that keep a hostile domain from making apparmor_parser run for
 * minutes (docs/SECURITY.md, "Cost"; measured in docs/RELIABILITY.md): a
 * path must be shorter than PATH_MAX (QEMU opens it with one open(2)); one
 * domain gets at most VG_POLICY_MAX_ENTRIES rule entries, naming at most
 * VG_POLICY_MAX_BYTES bytes of distinct paths (the parser builds about one
 * DFA state per byte and gives up past 65535), and the longest of those
 * paths times their total bytes is at most VG_POLICY_MAX_WEIGHT.  Measured:
 * the parser's time grows with that product, far more than with the number
 * of rules (16 repetitive paths of 3.8 KB: 60-100 s; 14 of 1 KB beside 500
 * short ones: 26 s of CPU; 1 000 paths of 49 bytes: 1.4 s).  A 100-disk
 * domain with backing chains of 3 and 80-byte paths weighs 1.9 M; one path
 * of 2 KiB alone, 4 M. */
#define VG_POLICY_MAX_PATH 4096
#define VG_POLICY_MAX_ENTRIES 1024
#define VG_POLICY_MAX_BYTES 49152
#define VG_POLICY_MAX_WEIGHT (4 * 1024 * 1024)

typedef enum {
    VG_POLICY_FILE,         /* one rule for the path itself */
    VG_POLICY_DIR,          /* "dir/" r and "dir/" "**" for the tree below it */
} vg_policy_kind;

typedef struct vg_policy_entry {
    char *path;             /* canonical absolute path, symlinks resolved */
    vg_access access;       /* VG_ACCESS_R or VG_ACCESS_RW */
    vg_policy_kind kind;
    vg_role role;
    char *reason;           /* e.g. "backing layer 1 of disk 'vda' ('base.qcow2' in '/img/ov.qcow2')" */
} vg_policy_entry;

typedef struct vg_policy {
    vg_policy_entry *entries;
    size_t n_entries;
    char **warnings;        /* NULL-terminated sentences for the caller to print; may be NULL */
    size_t n_denied;        /* qcow2 headers not read for lack of permission (EACCES,
                               EPERM): as root the rules could differ */
} vg_policy;

/* Resolve the rules `dom` needs.  Returns 0 and *out, or -errno and *err
 * naming the path and why it is refused.  In dev mode (cfg->mode ==
 * VG_MODE_DEV) paths that leave the allowed roots are granted with a
 * warning instead of refused; restricted prefixes and control characters
 * are refused in both modes. */
int vg_policy_resolve(const vg_config *cfg, const vg_domain *dom, vg_policy **out, vg_error **err);

/* The same, with the directories where libvirt keeps its domains' XML
 * (NULL: VG_LIBVIRT_QEMU_CONF_DIR, VG_LIBVIRT_QEMU_RUN_DIR): a directory
 * grant must not cover another defined domain's files, so the first tree
 * rule below a root reads them (vg_domains_in_dir); a file there that
 * cannot be read refuses the tree rule. */
int vg_policy_resolve_with(const vg_config *cfg, const vg_domain *dom, const char *libvirt_conf_dir,
                           const char *libvirt_run_dir, vg_policy **out, vg_error **err);

/* What the rules of `p` cost apparmor_parser (pure): rule entries, and
 * over the distinct rule paths (same path and kind once) their bytes, the
 * entry with the longest path, and the weight: that path's length times
 * the bytes (VG_POLICY_MAX_WEIGHT). */
typedef struct vg_policy_cost {
    size_t entries;
    size_t bytes;
    unsigned long long weight;
    size_t longest;             /* index into p->entries; 0 when there are none */
} vg_policy_cost;
void vg_policy_cost_of(const vg_policy *p, vg_policy_cost *cost);

/* The check before any compile: 0 when `p` is within every cap above,
 * else -E2BIG and a message naming the domain `name`, the figure and its
 * limit (and, for the weight, the longest path and what it is).  Pure. */
int vg_policy_check_cost(const vg_policy *p, const char *name, vg_error **err);

/* `virtguard profile` in one call: parse the domain XML (`name` is used in
 * messages), check its name and UUID, resolve and render.  Warnings are
 * appended to *warnings (a NULL-terminated vector the caller frees). */
int vg_policy_from_xml(const vg_config *cfg, const char *xml, size_t len, const char *name,
                       char **rules, char ***warnings, vg_error **err);

/* Render the rules (pure).  Entries with the same path and kind are
 * merged: the union of their permissions, and "deny ... w" only when none
 * of them needs write access.  `uuid` and `name` are only used in the
 * header comment (control characters shown as '?').  Returns 0, or
 * -EINVAL when an entry's path cannot be written literally (never happens
 * for a resolved policy). */
int vg_policy_render(const vg_policy *p, const char *uuid, const char *name, char **out, vg_error **err);

/* The helper's self-check before it installs a rules file: `text` (the
 * bytes about to be installed, or read back) must consist of comment lines
 * in the comment alphabet and one literal rule per line, each naming an
 * entry of `p` (DIR/ and the tree below it for a directory entry), with
 * exactly as many rules as `p` renders.  Returns 0, or -EPROTO and a
 * message naming the first line that is not so.  Pure. */
int vg_policy_verify_rules(const vg_policy *p, const char *text, vg_error **err);

/* What the rendered rules are meant to grant, for the whole-file verifier
 * (tests/apparmor/aa-rules-check.py): one line per rule group, "file HEX" for a
 * literal path or "tree HEX" for a directory (DIR/ and everything below it), the
 * path as hex bytes.  Pure. */
char *vg_policy_manifest(const vg_policy *p);

/* A whole profile around the rules, for apparmor_parser -Q -K checks:
 *   #include <tunables/global>
 *   profile virtguard-test-UUID {
 *     #include <abstractions/base>
 *   <rules>}
 */
int vg_policy_render_test_profile(const vg_policy *p, const char *uuid, const char *name,
                                  char **out, vg_error **err);

/* The permissions of one entry's main rule, e.g. "rwk", and whether an
 * explicit "deny ... w" follows it.  For VG_POLICY_DIR this is the rule
 * for "dir/" "**"; "dir/" always gets "r". */
const char *vg_policy_entry_perms(const vg_policy_entry *e, bool *deny_write);

/* The restricted system prefix `path` falls under, or NULL.  `strict`
 * (paths virtguard itself grants): /etc /usr /bin /sbin /lib* /boot /proc
 * /sys /dev /selinux /lost+found /vmlinuz* /initrd* and "/" itself.
 * Otherwise libvirt's virt-aa-helper valid_path() table, with its
 * read-only exceptions (/boot, /usr/share/OVMF...) and overrides. */
const char *vg_policy_restricted(const char *path, bool readonly, bool strict);

/* libvirt's checks on what names a profile: a domain name must be
 * non-empty, without / [ ] { } ? ^ , " * or control characters; a UUID is
 * 8-4-4-4-12 hex digits. */
int vg_policy_check_name(const char *name, vg_error **err);
int vg_policy_check_uuid(const char *uuid, vg_error **err);
/* Both, and (when expected_uuid is non-NULL) that the XML's UUID is it. */
int vg_policy_check_domain(const vg_domain *dom, const char *expected_uuid, vg_error **err);

/* "disk", "backing layer", "filesystem"... */
const char *vg_policy_role_label(vg_role r);

/* Building blocks (tests build policies by hand with these). */
vg_policy *vg_policy_new(void);
void vg_policy_add(vg_policy *p, const char *path, vg_access access, vg_policy_kind kind,
                   vg_role role, const char *reason);
void vg_policy_free(vg_policy *p);
static inline void vg_policy_freep(vg_policy **p) { vg_policy_free(*p); }
#define autopolicy _cleanup_(vg_policy_freep)
