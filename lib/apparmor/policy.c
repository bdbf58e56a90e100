/* virtguard: AppArmor rules from a resolved path list (pure).
 *
 * Access per role (compare libvirt's virt-aa-helper get_files()):
 *   disk, floppy, nvram, disk aux file     rw: rwk     r: rk + deny w
 *   cdrom, backing layer, os loader        rk + deny w (rwk if writable)
 *   kernel, initrd, dtb, acpi table        r + deny w
 *   filesystem share (dir)                 "dir/" r, "dir/" "**" rwkl (ro: r)
 *   other dirs (memory backing...)         "dir/" r, "dir/" "**" rwk (ro: r)
 *   nvdimm                                 rw (also when <readonly/>: see below)
 *   chardev, its log, tpm, evdev,
 *   hostdev, shmem, memory backing file    rw (r when read-only)
 * The explicit deny keeps a read-only image read-only even when another
 * profile fragment grants more, and silences audit noise for QEMU's probes.
 */
#include <config.h>

#include "policy.h"

#include <ctype.h>
#include <stdint.h>

#include "aa-escape.h"

const char *vg_policy_role_label(vg_role r)
{
    switch (r) {
    case VG_ROLE_DISK: return "disk";
    case VG_ROLE_CDROM: return "cdrom";
    case VG_ROLE_FLOPPY: return "floppy";
    case VG_ROLE_BACKING: return "backing layer";
    case VG_ROLE_DISK_AUX: return "disk auxiliary file";
    case VG_ROLE_LOADER: return "os loader";
    case VG_ROLE_NVRAM: return "nvram";
    case VG_ROLE_KERNEL: return "kernel";
    case VG_ROLE_INITRD: return "initrd";
    case VG_ROLE_DTB: return "dtb";
    case VG_ROLE_ACPI: return "acpi table";
    case VG_ROLE_FILESYSTEM: return "filesystem";
    case VG_ROLE_CHARDEV: return "character device";
    case VG_ROLE_CHARDEV_LOG: return "character device log";
    case VG_ROLE_TPM: return "tpm";
    case VG_ROLE_NVDIMM: return "nvdimm";
    case VG_ROLE_MEMORY_BACKING: return "memory backing";
    case VG_ROLE_EVDEV: return "evdev input";
    case VG_ROLE_HOSTDEV: return "host device";
    case VG_ROLE_SHMEM: return "shmem";
    case VG_ROLE_OTHER:
    case VG_ROLE__COUNT:
        break;
    }
    return "host path";
}

enum { P_R = 1, P_W = 2, P_K = 4, P_L = 8 };

/* Permission bits and deny flag of one entry (see the table above). */
static unsigned entry_bits(const vg_policy_entry *e, bool *deny_write)
{
    bool rw = e->access == VG_ACCESS_RW;
    *deny_write = false;

    if (e->kind == VG_POLICY_DIR) {
        if (!rw)
            return P_R;
        return e->role == VG_ROLE_FILESYSTEM ? (P_R | P_W | P_K | P_L) : (P_R | P_W | P_K);
    }
    switch (e->role) {
    case VG_ROLE_DISK:
    case VG_ROLE_FLOPPY:
    case VG_ROLE_NVRAM:
    case VG_ROLE_DISK_AUX:
    case VG_ROLE_CDROM:
    case VG_ROLE_BACKING:
    case VG_ROLE_LOADER:
        *deny_write = !rw;
        return P_R | P_K | (rw ? P_W : 0);
    case VG_ROLE_KERNEL:
    case VG_ROLE_INITRD:
    case VG_ROLE_DTB:
    case VG_ROLE_ACPI:
        *deny_write = !rw;
        return P_R | (rw ? P_W : 0);
    case VG_ROLE_NVDIMM:
        /* <target><readonly/> only becomes unarmed=on on the nvdimm
         * device (libvirt qemu_command.c); QEMU still opens the backing
         * file read-write, so libvirt grants rw and so do we. */
        return P_R | P_W;
    case VG_ROLE_FILESYSTEM:
    case VG_ROLE_CHARDEV:
    case VG_ROLE_CHARDEV_LOG:
    case VG_ROLE_TPM:
    case VG_ROLE_MEMORY_BACKING:
    case VG_ROLE_EVDEV:
    case VG_ROLE_HOSTDEV:
    case VG_ROLE_SHMEM:
    case VG_ROLE_OTHER:
    case VG_ROLE__COUNT:
        break;
    }
    return P_R | (rw ? P_W : 0);
}

static const char *bits_str(unsigned bits)
{
    static const char *const tab[16] = {
        "", "r", "w", "rw", "k", "rk", "wk", "rwk",
        "l", "rl", "wl", "rwl", "kl", "rkl", "wkl", "rwkl",
    };
    return tab[bits & 15];
}

const char *vg_policy_entry_perms(const vg_policy_entry *e, bool *deny_write)
{
    bool deny;
    const char *s = bits_str(entry_bits(e, &deny));
    if (deny_write)
        *deny_write = deny;
    return s;
}

static bool same_rule(const vg_policy_entry *a, const vg_policy_entry *b)
{
    return a->kind == b->kind && strcmp(a->path, b->path) == 0;
}

/* Entry `i` repeats the rule of an earlier entry (its group is rendered there). */
static bool rule_seen_before(const vg_policy *p, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (same_rule(&p->entries[j], &p->entries[i]))
            return true;
    return false;
}

/* The merged permissions of the rule group that starts at `first` (all
 * entries with its path and kind), and whether a "deny ... w" follows. */
static unsigned group_bits(const vg_policy *p, size_t first, bool *deny_write)
{
    const vg_policy_entry *e = &p->entries[first];
    unsigned bits = 0;
    bool all_deny = true;

    for (size_t i = first; i < p->n_entries; i++) {
        bool deny;
        if (!same_rule(&p->entries[i], e))
            continue;
        bits |= entry_bits(&p->entries[i], &deny);
        all_deny = all_deny && deny;
    }
    *deny_write = e->kind == VG_POLICY_FILE && all_deny && !(bits & P_W);
    return bits;
}

/* One rule group: all entries with the same path and kind. */
static int render_group(vg_buf *b, const vg_policy *p, size_t first, vg_error **err)
{
    const vg_policy_entry *e = &p->entries[first];
    bool all_deny;
    unsigned bits = group_bits(p, first, &all_deny);
    int r;

    vg_buf_add(b, "  #");
    for (size_t i = first; i < p->n_entries; i++) {
        const vg_policy_entry *o = &p->entries[i];
        if (!same_rule(o, e))
            continue;
        autofree char *why = vg_aa_comment_text(o->reason ? o->reason : vg_policy_role_label(o->role));
        vg_buf_printf(b, "%s %s", i == first ? "" : ";", why);
    }
    vg_buf_addc(b, '\n');

    if (e->kind == VG_POLICY_DIR) {
        /* "dir/" lets QEMU list the directory itself, "dir/" "**" the tree. */
        bool root = strcmp(e->path, "/") == 0;
        vg_buf_add(b, "  ");
        if ((r = vg_aa_append_path(b, e->path, root ? NULL : "/", err)) < 0)
            return r;
        vg_buf_add(b, " r,\n  ");
        if ((r = vg_aa_append_path(b, e->path, root ? "**" : "/**", err)) < 0)
            return r;
        vg_buf_printf(b, " %s,\n", bits_str(bits));
        return 0;
    }
    vg_buf_add(b, "  ");
    if ((r = vg_aa_append_path(b, e->path, NULL, err)) < 0)
        return r;
    vg_buf_printf(b, " %s,\n", bits_str(bits));
    if (all_deny) {
        vg_buf_add(b, "  deny ");
        (void)vg_aa_append_path(b, e->path, NULL, err);
        vg_buf_add(b, " w,\n");
    }
    return 0;
}

int vg_policy_render(const vg_policy *p, const char *uuid, const char *name, char **out, vg_error **err)
{
    autobuf vg_buf b = { 0 };
    autofree char *n = vg_aa_comment_text(name ? name : "?");
    autofree char *u = vg_aa_comment_text(uuid ? uuid : "?");
    size_t rules = 0;

    vg_buf_printf(&b, "# virtguard: domain '%s' (uuid %s), generated, do not edit\n", n, u);
    for (size_t i = 0; i < p->n_entries; i++) {
        if (rule_seen_before(p, i))
            continue;
        int r = render_group(&b, p, i, err);
        if (r < 0)
            return vg_error_wrap(err, "domain '%s'", n);
        rules++;
    }
    if (rules == 0)
        vg_buf_add(&b, "  # no paths of this domain lie under the allowed roots\n");
    *out = vg_buf_steal(&b);
    return 0;
}

/* ---- cost --------------------------------------------------------------- */

void vg_policy_cost_of(const vg_policy *p, vg_policy_cost *cost)
{
    size_t longest = 0;

    memset(cost, 0, sizeof(*cost));
    cost->entries = p->n_entries;
    for (size_t i = 0; i < p->n_entries; i++) {
        if (rule_seen_before(p, i))
            continue;
        size_t len = strlen(p->entries[i].path);
        cost->bytes += len;
        if (len > longest) {
            longest = len;
            cost->longest = i;
        }
    }
    cost->weight = (unsigned long long)longest * cost->bytes;
}

int vg_policy_check_cost(const vg_policy *p, const char *name, vg_error **err)
{
    vg_policy_cost c;
    autofree char *n = vg_aa_comment_text(name ? name : "?");

    vg_policy_cost_of(p, &c);
    if (c.entries > VG_POLICY_MAX_ENTRIES)
        return vg_error_set(err, E2BIG, "domain '%s': %zu rule entries are more than virtguard "
                            "writes for one domain (at most %d); refused before apparmor_parser "
                            "runs", n, c.entries, VG_POLICY_MAX_ENTRIES);
    if (c.bytes > VG_POLICY_MAX_BYTES)
        return vg_error_set(err, E2BIG, "domain '%s': its rules name %zu bytes of paths, more "
                            "than virtguard writes for one domain (at most %d; apparmor_parser "
                            "builds about one state per byte and gives up past 65535); refused "
                            "before apparmor_parser runs", n, c.bytes, VG_POLICY_MAX_BYTES);
    if (c.weight > VG_POLICY_MAX_WEIGHT) {
        const vg_policy_entry *e = &p->entries[c.longest];
        size_t len = strlen(e->path);
        autofree char *head = vg_xstrndup(e->path, len > 60 ? 60 : len);
        autofree char *shown = vg_str_escape(head, true);
        autofree char *why = vg_aa_comment_text(e->reason ? e->reason
                                                          : vg_policy_role_label(e->role));
        return vg_error_set(err, E2BIG, "domain '%s': its rules would take apparmor_parser too "
                            "long to compile: their longest path (%zu bytes) times all their "
                            "path bytes (%zu) is %llu, more than the %d allowed (e.g. 1 000 "
                            "paths of 64 bytes, or one of 2 KiB); the longest path is '%s%s' "
                            "(%s); refused before apparmor_parser runs: shorten the paths or "
                            "use fewer", n, len, c.bytes, c.weight, VG_POLICY_MAX_WEIGHT, shown,
                            len > 60 ? "..." : "", why);
    }
    return 0;
}

/* ---- self-check ---------------------------------------------------------- */

/* One parsed rule line: the unescaped path, whether it ends in the tree
 * glob, whether it is a deny rule. */
typedef struct rule_line {
    char *path;
    bool tree;
    bool deny;
    char perms[5];
} rule_line;

/* Parse one rule line of the form written by render_group(): two spaces,
 * an optional "deny ", a quoted path, a space, PERMS from [rwkl] and a
 * comma.  Inside the quotes only the escapes vg_aa_append_path() writes,
 * and a glob only as the final two stars after a '/'.  Returns false for
 * anything else. */
static bool parse_rule_line(const char *line, rule_line *out)
{
    vg_buf b = { 0 };
    const char *q = line;

    out->deny = false;
    out->tree = false;
    if (strncmp(q, "  ", 2) != 0)
        return false;
    q += 2;
    if (strncmp(q, "deny ", 5) == 0) {
        out->deny = true;
        q += 5;
    }
    if (*q++ != '"')
        return false;
    for (; *q && *q != '"'; q++) {
        if (*q == '\\') {
            q++;
            if (!*q || *q == '\\' || *q == '"' || !strchr(VG_AA_SPECIAL_CHARS, *q))
                goto bad;
        } else if (strchr(VG_AA_SPECIAL_CHARS, *q)) {
            if (strcmp(q, "**\" r,") == 0 || (q[0] == '*' && q[1] == '*' && q[2] == '"')) {
                if (b.len == 0 || b.s[b.len - 1] != '/')
                    goto bad;
                out->tree = true;
                q += 2;
                break;
            }
            goto bad;
        }
        vg_buf_addc(&b, *q);
    }
    if (*q++ != '"' || *q++ != ' ')
        goto bad;
    if (!*q || !strchr("rwkl", *q))
        goto bad;
    size_t np = 0;
    while (*q && strchr("rwkl", *q)) {
        if (np >= sizeof(out->perms) - 1)
            goto bad;
        out->perms[np++] = *q++;
    }
    out->perms[np] = '\0';
    if (strcmp(q, ",") != 0)
        goto bad;
    out->path = vg_buf_steal(&b);
    return true;
bad:
    vg_buf_clear(&b);
    return false;
}

static bool comment_line_ok(const char *line)
{
    const char *c = line;
    while (*c == ' ')
        c++;
    if (c[0] != '#' || (c[1] != ' ' && c[1] != '\0'))
        return false;
    for (c++; *c; c++)
        if (!vg_aa_comment_char_ok(*c))
            return false;
    return true;
}

int vg_policy_verify_rules(const vg_policy *p, const char *text, vg_error **err)
{
    autofree char *copy = vg_xstrdup(text);
    size_t n_lines = 0, n_want = 0, n_got = 0, n_deny = 0, n_want_deny = 0;
    char *save = NULL;

    if (!*text || text[strlen(text) - 1] != '\n')
        return vg_error_set(err, EPROTO, "the rules file does not end with a newline");
    for (const char *c = text; *c; c++)
        if (*c == '\r' || *c == '\0')
            return vg_error_set(err, EPROTO, "the rules file holds a carriage return");
    /* What must be there: per rule group, one rule (file) or two (tree),
     * plus one deny for a read-only file group. */
    for (size_t i = 0; i < p->n_entries; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_rule(&p->entries[j], &p->entries[i]);
        if (!seen) {
            bool deny;
            (void)group_bits(p, i, &deny);
            n_want += p->entries[i].kind == VG_POLICY_DIR ? 2 : 1;
            n_want_deny += deny;
        }
    }
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        rule_line rl = { 0 };
        n_lines++;
        if (comment_line_ok(line))
            continue;
        if (!parse_rule_line(line, &rl)) {
            autofree char *shown = vg_str_escape(line, true);
            return vg_error_set(err, EPROTO, "line %zu of the rules file is neither a comment "
                                "nor one literal rule: '%s'", n_lines, shown);
        }
        autofree char *path = rl.path;
        /* the group it stands for: DIR/ and the tree below it, or the path
         * itself; its permissions as render_group() merges them */
        size_t g = SIZE_MAX;
        for (size_t i = 0; i < p->n_entries && g == SIZE_MAX; i++) {
            const vg_policy_entry *e = &p->entries[i];
            bool match;
            if (e->kind == VG_POLICY_DIR) {
                size_t n = strlen(e->path);
                bool root = strcmp(e->path, "/") == 0;
                match = !rl.deny && strncmp(path, e->path, n) == 0 &&
                        strcmp(path + n, root ? "" : "/") == 0;
            } else {
                match = !rl.tree && strcmp(path, e->path) == 0;
            }
            if (match)
                g = i;
        }
        if (g == SIZE_MAX) {
            autofree char *shown = vg_str_escape(path, true);
            return vg_error_set(err, EPROTO, "line %zu of the rules file names '%s'%s, which is "
                                "not one of the %zu rendered entries", n_lines, shown,
                                rl.tree ? " (a tree)" : "", p->n_entries);
        }
        bool deny;
        unsigned bits = group_bits(p, g, &deny);
        const char *want = rl.deny ? "w" : (p->entries[g].kind == VG_POLICY_DIR && !rl.tree)
                                               ? "r" : bits_str(bits);
        if ((rl.deny && !deny) || strcmp(rl.perms, want) != 0) {
            autofree char *shown = vg_str_escape(path, true);
            return vg_error_set(err, EPROTO, "line %zu of the rules file grants '%s' %s%s, the "
                                "policy %s%s", n_lines, shown, rl.deny ? "deny " : "", rl.perms,
                                rl.deny && !deny ? "has no deny rule for it" : "says ",
                                rl.deny && !deny ? "" : want);
        }
        if (rl.deny)
            n_deny++;
        else
            n_got++;
    }
    if (n_got != n_want || n_deny != n_want_deny)
        return vg_error_set(err, EPROTO, "the rules file holds %zu rules and %zu deny rules, "
                            "the policy has %zu and %zu", n_got, n_deny, n_want, n_want_deny);
    return 0;
}

char *vg_policy_manifest(const vg_policy *p)
{
    vg_buf b = { 0 };
    vg_buf_add(&b, "");
    for (size_t i = 0; i < p->n_entries; i++) {
        if (rule_seen_before(p, i))
            continue;
        bool deny;
        unsigned bits = group_bits(p, i, &deny);
        vg_buf_add(&b, p->entries[i].kind == VG_POLICY_DIR ? "tree " : "file ");
        for (const unsigned char *c = (const unsigned char *)p->entries[i].path; *c; c++)
            vg_buf_printf(&b, "%02x", *c);
        vg_buf_printf(&b, " %s%s\n", bits_str(bits), deny ? " deny" : "");
    }
    return vg_buf_steal(&b);
}

int vg_policy_render_test_profile(const vg_policy *p, const char *uuid, const char *name,
                                  char **out, vg_error **err)
{
    autofree char *rules = NULL;
    int r = vg_policy_render(p, uuid, name, &rules, err);
    if (r < 0)
        return r;
    bool uuid_ok = uuid && vg_policy_check_uuid(uuid, NULL) == 0;
    *out = vg_xasprintf("#include <tunables/global>\n"
                        "profile virtguard-test%s%s {\n"
                        "  #include <abstractions/base>\n"
                        "%s"
                        "}\n",
                        uuid_ok ? "-" : "", uuid_ok ? uuid : "", rules);
    return 0;
}

/* ---- restricted prefixes ---------------------------------------------- */

/* libvirt 9.0.0 src/security/virt-aa-helper.c valid_path(), verbatim. */
static const char *const lv_restricted[] = {
    "/bin/", "/etc/", "/lib", "/lost+found/", "/proc/", "/sbin/", "/selinux/", "/sys/",
    "/usr/bin/", "/usr/lib", "/usr/sbin/", "/usr/share/", "/usr/local/bin/", "/usr/local/etc/",
    "/usr/local/lib", "/usr/local/sbin/",
};
static const char *const lv_restricted_rw[] = {
    "/boot/", "/vmlinuz", "/initrd", "/initrd.img", "/usr/share/edk2/", "/usr/share/OVMF/",
    "/usr/share/ovmf/", "/usr/share/AAVMF/", "/usr/share/qemu-efi/",
    "/usr/share/qemu-efi-aarch64/", "/usr/lib/u-boot/", "/usr/lib/riscv64-linux-gnu/opensbi",
};
static const char *const lv_override[] = {
    "/sys/devices/pci", "/sys/kernel/config/target/vhost", "/etc/libvirt-sandbox/services/",
};

static const char *starts_with_any(const char *path, const char *const *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vg_str_has_prefix(path, arr[i]))
            return arr[i];
    return NULL;
}

const char *vg_policy_restricted(const char *path, bool readonly, bool strict)
{
    const char *hit;

    if (!strict) {
        if (starts_with_any(path, lv_override, VG_N_ELEMENTS(lv_override)))
            return NULL;
        if (readonly && starts_with_any(path, lv_restricted_rw, VG_N_ELEMENTS(lv_restricted_rw)))
            return NULL;
        if ((hit = starts_with_any(path, lv_restricted, VG_N_ELEMENTS(lv_restricted))))
            return hit;
        return starts_with_any(path, lv_restricted_rw, VG_N_ELEMENTS(lv_restricted_rw));
    }
    return vg_aa_restricted_root(path);
}

/* ---- names ------------------------------------------------------------- */

int vg_policy_check_name(const char *name, vg_error **err)
{
    if (!name || !*name)
        return vg_error_set(err, EINVAL, "the domain has no name");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || strchr("/[]{}?^,\"*", *p)) {
            autofree char *shown = vg_aa_comment_text(name);
            autofree char *what = (*p < 0x20 || *p == 0x7f) ? vg_xasprintf("control character 0x%02x", *p)
                                                              : vg_xasprintf("character '%c'", *p);
            return vg_error_set(err, EINVAL,
                                "domain name '%s' contains the %s, which libvirt's AppArmor driver "
                                "refuses (not allowed: / [ ] { } ? ^ , \" * and control characters)",
                                shown, what);
        }
    }
    return 0;
}

int vg_policy_check_uuid(const char *uuid, vg_error **err)
{
    size_t i = 0;

    if (!uuid || !*uuid)
        return vg_error_set(err, EINVAL, "the domain has no UUID");
    for (; uuid[i]; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (i >= 36 || (dash ? uuid[i] != '-' : !isxdigit((unsigned char)uuid[i])))
            break;
    }
    if (i != 36 || uuid[i]) {
        autofree char *shown = vg_aa_comment_text(uuid);
        return vg_error_set(err, EINVAL,
                            "'%s' is not a UUID (expected 8-4-4-4-12 hexadecimal digits, e.g. "
                            "'c7a5fdbd-edaf-9455-926a-d65c16db1809')", shown);
    }
    return 0;
}

int vg_policy_check_domain(const vg_domain *dom, const char *expected_uuid, vg_error **err)
{
    int r;
    if ((r = vg_policy_check_name(dom->name, err)) < 0)
        return r;
    if ((r = vg_policy_check_uuid(dom->uuid, err)) < 0)
        return vg_error_wrap(err, "domain '%s'", dom->name);
    if (expected_uuid) {
        if ((r = vg_policy_check_uuid(expected_uuid, err)) < 0)
            return r;
        if (strcasecmp(dom->uuid, expected_uuid) != 0)
            return vg_error_set(err, EINVAL, "domain '%s' has UUID '%s', not the expected '%s'",
                                dom->name, dom->uuid, expected_uuid);
    }
    return 0;
}

/* ---- the list ----------------------------------------------------------- */

vg_policy *vg_policy_new(void)
{
    return vg_xcalloc(1, sizeof(vg_policy));
}

void vg_policy_add(vg_policy *p, const char *path, vg_access access, vg_policy_kind kind,
                   vg_role role, const char *reason)
{
    for (size_t i = 0; i < p->n_entries; i++) {
        const vg_policy_entry *o = &p->entries[i];
        if (o->access == access && o->kind == kind && o->role == role &&
            strcmp(o->path, path) == 0 && vg_streq(o->reason, reason))
            return;
    }
    vg_policy_entry *e = VG_APPEND(p->entries, p->n_entries);
    e->path = vg_xstrdup(path);
    e->access = access;
    e->kind = kind;
    e->role = role;
    e->reason = vg_xstrdup(reason);
}

void vg_policy_free(vg_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_entries; i++) {
        free(p->entries[i].path);
        free(p->entries[i].reason);
    }
    free(p->entries);
    vg_strv_free(p->warnings);
    free(p);
}
