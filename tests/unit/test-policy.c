/* Unit tests for lib/base/aa-escape.c, lib/apparmor/policy.c and lib/apparmor/policy-resolve.c.
 *
 * The resolver runs against a mkdtemp tree of real files and real qcow2
 * images (qemu-img): relative backing names, a chain of 3, loops, a chain
 * too deep, symlinks and backing files leading out of the root, missing
 * backing files, hostile file names.
 *
 * Golden files: tests/data/policy/NAME.rules.  Regenerate after an intended
 * change with
 *     VG_REGENERATE_GOLDEN=1 tests/unit/test-policy
 * and review the diff.  With VG_PROFILE_OUT=DIR every profile the tests
 * render is also written there (NAME.profile: a whole profile with the
 * system abstractions; NAME.literal + NAME.expect: a one-rule profile and
 * the hex bytes the rule must match literally) for tests/policy-compile.sh.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "aa-escape.h"
#include "policy.h"
#include "helpers.h"
#include "util.h"

#define UUID "c7a5fdbd-edaf-9455-926a-d65c16db1809"

static char T[] = "/tmp/vg-test-policy-XXXXXX";

/* ---- fixtures ------------------------------------------------------------ */

static void run(const char *fmt, ...) VG_FORMAT(1, 2);
static void run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *cmd = vg_xvasprintf(fmt, ap);
    va_end(ap);
    autofree char *full = vg_xasprintf("cd '%s' && ( %s ) >/dev/null 2>&1", T, cmd);
    if (system(full) != 0)
        fail_msg("command failed: %s", cmd);
}

/* "@T@" in s becomes the temp dir. */
static char *subst(const char *s)
{
    autobuf vg_buf b = { 0 };
    const char *p;
    while ((p = strstr(s, "@T@"))) {
        vg_buf_addn(&b, s, (size_t)(p - s));
        vg_buf_add(&b, T);
        s = p + 3;
    }
    vg_buf_add(&b, s);
    return vg_buf_steal(&b);
}

/* The temp dir back to "/TMP", for golden files. */
static char *unsubst(const char *s)
{
    autobuf vg_buf b = { 0 };
    const char *p;
    size_t n = strlen(T);
    while ((p = strstr(s, T))) {
        vg_buf_addn(&b, s, (size_t)(p - s));
        vg_buf_add(&b, "/TMP");
        s = p + n;
    }
    vg_buf_add(&b, s);
    return vg_buf_steal(&b);
}

typedef struct fx_path {
    vg_role role;
    vg_access access;
    vg_path_kind kind;
    const char *path;       /* "@T@" = temp dir */
    const char *device;
    const char *format;
} fx_path;

static vg_domain *mkdom(const char *name, const char *uuid, const fx_path *fx, size_t n)
{
    vg_domain *d = vg_xcalloc(1, sizeof(*d));
    d->name = vg_xstrdup(name);
    d->uuid = vg_xstrdup(uuid);
    for (size_t i = 0; i < n; i++) {
        vg_domain_path *p = VG_APPEND(d->paths, d->n_paths);
        p->role = fx[i].role;
        p->access = fx[i].access;
        p->kind = fx[i].kind;
        p->path = subst(fx[i].path);
        p->device = vg_xstrdup(fx[i].device);
        p->format = vg_xstrdup(fx[i].format);
        p->readonly = fx[i].access == VG_ACCESS_R;
        p->relabel = true;
    }
    return d;
}

/* Hand-built domains are freed here: the model's own free function lives
 * in xml/domain-model.c, which these tests do not need. */
static void freedom(vg_domain *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_paths; i++) {
        free(d->paths[i].path);
        free(d->paths[i].device);
        free(d->paths[i].format);
    }
    free(d->paths);
    free(d->name);
    free(d->uuid);
    free(d);
}
static void freedomp(vg_domain **d) { freedom(*d); }
#define autodom _cleanup_(freedomp)

static vg_config *mkcfg(vg_mode mode, const char *roots, const char *extra)
{
    vg_config *c = vg_config_new_default();
    c->mode = mode;
    if (roots)
        vg_strv_push(&c->shared_mounts, subst(roots));
    if (extra)
        vg_strv_push(&c->extra_roots, subst(extra));
    return c;
}

static void golden(const char *name, const char *actual)
{
    autofree char *path = vg_xasprintf("%s/policy/%s", TEST_DATA_DIR, name);
    vg_test_golden(path, actual);
}

/* Write the whole-profile form for tests/policy-compile.sh. */
static void export_profile(const char *label, const vg_policy *p, const char *name)
{
    const char *dir = getenv("VG_PROFILE_OUT");
    autofree char *prof = NULL;
    autoerror vg_error *err = NULL;

    assert_int_equal(vg_policy_render_test_profile(p, UUID, name, &prof, &err), 0);
    assert_non_null(strstr(prof, "profile virtguard-test-" UUID " {\n"));
    if (!dir || !*dir)
        return;
    autofree char *path = vg_xasprintf("%s/%s.profile", dir, label);
    assert_int_equal(vg_write_file_atomic(path, prof, strlen(prof), 0644), 0);
    /* the rules file as the helper writes it, and what it must grant */
    autofree char *rules = NULL;
    assert_int_equal(vg_policy_render(p, UUID, name, &rules, &err), 0);
    autofree char *manifest = vg_policy_manifest(p);
    autofree char *rpath = vg_xasprintf("%s/%s.whole.rules", dir, label);
    autofree char *epath = vg_xasprintf("%s/%s.whole.expect", dir, label);
    assert_int_equal(vg_write_file_atomic(rpath, rules, strlen(rules), 0644), 0);
    assert_int_equal(vg_write_file_atomic(epath, manifest, strlen(manifest), 0644), 0);
}

/* A one-rule profile and the bytes its rule must match, nothing more. */
static void export_literal(const char *label, const char *path)
{
    const char *dir = getenv("VG_PROFILE_OUT");
    autopolicy vg_policy *p = vg_policy_new();
    autofree char *rules = NULL;
    autoerror vg_error *err = NULL;

    vg_policy_add(p, path, VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_OTHER, "literal check");
    assert_int_equal(vg_policy_render(p, UUID, "literal", &rules, &err), 0);
    if (!dir || !*dir)
        return;
    autofree char *prof = vg_xasprintf("profile literal {\n%s}\n", rules);
    autobuf vg_buf hex = { 0 };
    for (const unsigned char *c = (const unsigned char *)path; *c; c++)
        vg_buf_printf(&hex, "%02x\n", *c);
    autofree char *f1 = vg_xasprintf("%s/%s.literal", dir, label);
    autofree char *f2 = vg_xasprintf("%s/%s.expect", dir, label);
    assert_int_equal(vg_write_file_atomic(f1, prof, strlen(prof), 0644), 0);
    assert_int_equal(vg_write_file_atomic(f2, hex.s, hex.len, 0644), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(T))
        return -1;
    run("mkdir -p root/a root/b root/vm outside lib");
    /* overlay + base, relative name */
    run("qemu-img create -q -f qcow2 root/base.qcow2 1M");
    run("cd root && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2");
    /* chain of 3 across directories: top -> ../b/mid (relative) -> absolute base */
    run("qemu-img create -q -f qcow2 root/b/c3-base.qcow2 1M");
    run("qemu-img create -q -f qcow2 -b %s/root/b/c3-base.qcow2 -F qcow2 root/b/c3-mid.qcow2", T);
    run("cd root/a && qemu-img create -q -f qcow2 -u -b ../b/c3-mid.qcow2 -F qcow2 c3-top.qcow2 1M");
    /* loops */
    run("cd root && qemu-img create -q -f qcow2 -u -b loop-b.qcow2 -F qcow2 loop-a.qcow2 1M");
    run("cd root && qemu-img create -q -f qcow2 -u -b loop-a.qcow2 -F qcow2 loop-b.qcow2 1M");
    run("cd root && qemu-img create -q -f qcow2 self.qcow2 1M && qemu-img rebase -u -b self.qcow2 -F qcow2 self.qcow2");
    /* 18 layers: deeper than VG_POLICY_MAX_CHAIN */
    run("cd root && qemu-img create -q -f qcow2 d0.qcow2 1M && for i in $(seq 1 17); do "
        "qemu-img create -q -f qcow2 -u -b d$((i-1)).qcow2 -F qcow2 d$i.qcow2 1M; done");
    /* 16 backing layers: exactly the cap */
    run("cd root && qemu-img create -q -f qcow2 e0.qcow2 1M && for i in $(seq 1 16); do "
        "qemu-img create -q -f qcow2 -u -b e$((i-1)).qcow2 -F qcow2 e$i.qcow2 1M; done");
    /* escapes */
    run("qemu-img create -q -f qcow2 outside/real.qcow2 1M");
    run("ln -s ../outside/real.qcow2 root/link.qcow2");
    run("qemu-img create -q -f qcow2 outside/obase.qcow2 1M");
    run("cd root && qemu-img create -q -f qcow2 -u -b ../outside/obase.qcow2 -F qcow2 escape.qcow2 1M");
    run("ln -s /etc/passwd root/passwd-link");
    run("ln -s ../outside root/outdir");
    /* missing backing; backing without a recorded format; a raw image
     * holding a forged qcow2 header that points at /etc/shadow */
    run("cd root && qemu-img create -q -f qcow2 -u -b gone.qcow2 -F qcow2 missing.qcow2 1M");
    run("cd root && qemu-img create -q -f qcow2 nf-base.img 1M && "
        "qemu-img create -q -f qcow2 -u -b nf-base.img -F qcow2 nofmt.qcow2 1M");
    autofree char *nofmt = vg_xasprintf("%s/root/nofmt.qcow2", T);
    vg_test_drop_backing_format(nofmt);
    run("cd root && qemu-img create -q -f qcow2 -u -b /etc/shadow -F raw forged.raw 1M");
    /* external data file, beside its image in a directory of its own */
    run("cd root/vm && qemu-img create -q -f qcow2 -o data_file=\"$PWD/data.raw\" data.qcow2 1M");
    /* a relative one: QEMU would open it relative to its own cwd */
    run("cd root && qemu-img create -q -f qcow2 -o data_file=vm/rel.raw reldata.qcow2 1M");
    /* a file name with every character AppArmor treats specially (and
     * that the character policy allows) */
    run("touch 'root/vm/ab*c?d[e]f{g,h}i^jk,l@{HOME} m#n'");
    /* a clean name whose symlink target is not */
    run("touch 'root/q\"target.img' && ln -s 'q\"target.img' root/link-to-quote");
    run("mkdir -p root/share root/ro-share");
    run("qemu-img create -q -f raw root/boot.iso 1M");
    run("mkdir -p etc-qemu run-qemu");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    autofree char *cmd = vg_xasprintf("rm -rf '%s'", T);
    return system(cmd) == 0 ? 0 : -1;
}

/* Resolve `fx` with `cfg`; on success render and return the rules.  The
 * other domains libvirt keeps are read from @T@/etc-qemu and @T@/run-qemu. */
static int resolve(const vg_config *cfg, const fx_path *fx, size_t n, vg_policy **pol, vg_error **err)
{
    autodom vg_domain *d = mkdom("sbx-1", UUID, fx, n);
    autofree char *conf = subst("@T@/etc-qemu");
    autofree char *rund = subst("@T@/run-qemu");
    return vg_policy_resolve_with(cfg, d, conf, rund, pol, err);
}

static char *render(const vg_policy *p)
{
    char *out = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_policy_render(p, UUID, "sbx-1", &out, &err), 0);
    return out;
}

static const vg_policy_entry *find_entry(const vg_policy *p, const char *path_t)
{
    autofree char *path = subst(path_t);
    for (size_t i = 0; i < p->n_entries; i++)
        if (strcmp(p->entries[i].path, path) == 0)
            return &p->entries[i];
    return NULL;
}

static const vg_policy_entry *must_find(const vg_policy *p, const char *path_t)
{
    const vg_policy_entry *e = find_entry(p, path_t);
    if (!e) {
        fail_msg("no entry for %s", path_t);
        abort();
    }
    return e;
}

static bool warned(const vg_policy *p, const char *part)
{
    for (size_t i = 0; p->warnings && p->warnings[i]; i++)
        if (strstr(p->warnings[i], part))
            return true;
    return false;
}

#define D(path) { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, path, "vda", "qcow2" }

/* ---- escaping -------------------------------------------------------------- */

static void test_escape(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } ok[] = {
        { "/plain/path.qcow2", "\"/plain/path.qcow2\"" },
        { "/a/x*y", "\"/a/x\\*y\"" },
        { "/a/x**", "\"/a/x\\*\\*\"" },
        { "/a/x?y", "\"/a/x\\?y\"" },
        { "/a/[ab]", "\"/a/\\[ab\\]\"" },
        { "/a/{a,b}", "\"/a/\\{a\\,b\\}\"" },
        { "/a/^x", "\"/a/\\^x\"" },
        { "/a/x,y", "\"/a/x\\,y\"" },
        { "/home/@{HOME}/x", "\"/home/@\\{HOME\\}/x\"" },
        { "/a/sp ace/#!'=+<>$|().@", "\"/a/sp ace/#!'=+<>$|().@\"" },
        { "/a/\xc3\xa9mo.iso", "\"/a/\xc3\xa9mo.iso\"" },
        { "/a/\xf0\x9f\x92\xbe.img", "\"/a/\xf0\x9f\x92\xbe.img\"" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(ok); i++) {
        autofree char *q = NULL;
        autoerror vg_error *err = NULL;
        assert_int_equal(vg_aa_quote_path(ok[i].in, NULL, &q, &err), 0);
        assert_string_equal(q, ok[i].out);
        autofree char *label = vg_xasprintf("escape-%zu", i);
        export_literal(label, ok[i].in);
    }
    autofree char *g = NULL;
    assert_int_equal(vg_aa_quote_path("/a/d*r", "/**", &g, NULL), 0);
    assert_string_equal(g, "\"/a/d\\*r/**\"");

    static const struct { const char *in, *why; } bad[] = {
        { "/a/new\nline", "contains a newline (LF) at byte 7" },
        { "/a/x\n  /** rwx,", "contains a newline (LF) at byte 5" },
        { "/a/tab\there", "contains a tab at byte 7" },
        { "/a/cr\r", "contains a carriage return (CR) at byte 6" },
        { "/a/del\x7f", "contains the control character DEL (0x7f) at byte 7" },
        { "/a/esc\x1b[0m", "contains the control character 0x1b at byte 7" },
        { "/a/c1\xc2\x9b" "2J", "contains the control character U+009B at byte 6" },
        { "/a/d\\", "contains a backslash at byte 5" },
        { "/a/back\\slash", "contains a backslash at byte 8" },
        { "/a/\"q\"", "contains a double quote at byte 4" },
        { "/a/x\" rwk, /** rwmlk, #", "contains a double quote at byte 5" },
        { "/a/\xff", "is not valid UTF-8 (byte 0xff at byte 4)" },
        { "/a/\xc3(", "is not valid UTF-8 (byte 0xc3 at byte 4)" },
        { "/a/\xc0\xaf", "is not valid UTF-8 (byte 0xc0 at byte 4)" },
        { "/a/\xed\xa0\x80", "is not valid UTF-8 (byte 0xed at byte 4)" },
        { "relative/x", "is not absolute" },
        { "", "is empty" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        autofree char *q = NULL;
        autoerror vg_error *err = NULL;
        vg_buf b = { 0 };
        assert_int_equal(vg_aa_quote_path(bad[i].in, NULL, &q, &err), -EINVAL);
        assert_null(q);
        assert_non_null(strstr(err->msg, bad[i].why));
        assert_null(strchr(err->msg, '\n'));
        autoerror vg_error *err2 = NULL;
        assert_int_equal(vg_aa_append_path(&b, bad[i].in, NULL, &err2), -EINVAL);
        assert_int_equal(b.len, 0);
    }
    autofree char *c = vg_aa_comment_text("x\ny\tz");
    assert_string_equal(c, "x?y?z");
    /* comments keep only letters, digits and VG_AA_COMMENT_PUNCT */
    autofree char *c2 = vg_aa_comment_text("d\\\" rwk, /** rwmlk, #include <x> \xc3\xa9'ok'(1)");
    assert_string_equal(c2, "d?" "? rwk, /?" "? rwmlk, ?include ?x? ?" "?'ok'(1)");
}

/* ---- pure rendering ------------------------------------------------------------ */

static void test_render_golden(void **state)
{
    (void)state;
    autopolicy vg_policy *p = vg_policy_new();
    vg_policy_add(p, "/srv/img/sbx-1/overlay.qcow2", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_DISK, "disk 'vda'");
    vg_policy_add(p, "/srv/img/base.qcow2", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING,
                  "backing layer 1 of disk 'vda' ('../base.qcow2' named in '/srv/img/sbx-1/overlay.qcow2')");
    vg_policy_add(p, "/srv/img/seed.iso", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_CDROM, "cdrom 'sda'");
    vg_policy_add(p, "/srv/img/ro.img", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_DISK, "disk 'vdb'");
    vg_policy_add(p, "/srv/img/vmlinuz", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_KERNEL, "kernel");
    vg_policy_add(p, "/srv/img/OVMF_CODE.fd", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_LOADER, "os loader");
    vg_policy_add(p, "/srv/img/sbx-1/VARS.fd", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_NVRAM, "nvram");
    vg_policy_add(p, "/srv/share/work", VG_ACCESS_RW, VG_POLICY_DIR, VG_ROLE_FILESYSTEM, "filesystem 'work'");
    vg_policy_add(p, "/srv/share/ro", VG_ACCESS_R, VG_POLICY_DIR, VG_ROLE_FILESYSTEM, "filesystem 'ro'");
    vg_policy_add(p, "/srv/img/sbx-1/serial.log", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_CHARDEV_LOG,
                  "character device log 'serial0'");
    /* the same base reached as a read-only disk and a writable disk: rw wins, no deny */
    vg_policy_add(p, "/srv/img/shared.img", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING, "backing layer 1 of disk 'vdc'");
    vg_policy_add(p, "/srv/img/shared.img", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_DISK, "disk 'vdd'");
    /* reached twice read-only: one rule, one deny */
    vg_policy_add(p, "/srv/img/base.qcow2", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING, "backing layer 1 of disk 'vde'");
    /* hostile names, escaped, never widened */
    vg_policy_add(p, "/srv/img/ab*c?d[e]f{g,h}i^jk,l@{HOME} m#n", VG_ACCESS_RW, VG_POLICY_FILE,
                  VG_ROLE_DISK, "disk 'vdf' (x\" rwk, /** rwmlk, #)");
    vg_policy_add(p, "/srv/share/d*r{x}", VG_ACCESS_RW, VG_POLICY_DIR, VG_ROLE_FILESYSTEM,
                  "filesystem 'glob\nname'");
    /* exact duplicate is dropped */
    vg_policy_add(p, "/srv/img/seed.iso", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_CDROM, "cdrom 'sda'");
    assert_int_equal(p->n_entries, 15);

    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_policy_render(p, UUID, "sbx-1", &out, &err), 0);
    golden("render-basic.rules", out);
    /* structural checks that hold whatever the golden file says */
    assert_non_null(strstr(out, "  \"/srv/img/shared.img\" rwk,\n"));
    assert_null(strstr(out, "deny \"/srv/img/shared.img\""));
    assert_non_null(strstr(out, "  deny \"/srv/img/base.qcow2\" w,\n"));
    assert_null(strstr(strstr(out, "deny \"/srv/img/base.qcow2\"") + 1, "deny \"/srv/img/base.qcow2\""));
    assert_non_null(strstr(out, "  \"/srv/share/work/\" r,\n  \"/srv/share/work/**\" rwkl,\n"));
    assert_non_null(strstr(out, "  \"/srv/share/ro/**\" r,\n"));
    export_profile("render-basic", p, "sbx-1");

    /* an empty policy still renders and compiles */
    autopolicy vg_policy *empty = vg_policy_new();
    autofree char *e = NULL;
    assert_int_equal(vg_policy_render(empty, UUID, "x\ny", &e, &err), 0);
    assert_string_equal(e, "# virtguard: domain 'x?y' (uuid " UUID "), generated, do not edit\n"
                           "  # no paths of this domain lie under the allowed roots\n");
    export_profile("empty", empty, "x");

    /* a hand-made entry that cannot be written is an error, not output */
    autopolicy vg_policy *badp = vg_policy_new();
    vg_policy_add(badp, "/srv/x\n  /** rwx,\n", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_DISK, "disk");
    autofree char *b = NULL;
    assert_int_equal(vg_policy_render(badp, UUID, "n", &b, &err), -EINVAL);
    assert_null(b);
    assert_non_null(strstr(err->msg, "contains a newline"));
    vg_error_free(steal_pointer(&err));

    /* the injection that once compiled to a rule for every file: a data file named
     * "d\" before a comment holding a quote -- refused, nothing rendered */
    autopolicy vg_policy *inj = vg_policy_new();
    vg_policy_add(inj, "/srv/img/d\\", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_DISK_AUX,
                  "external data file of '/srv/img/ov.qcow2' (disk 'vda')");
    vg_policy_add(inj, "/srv/img/base", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING,
                  "backing layer 1 of disk 'vda' ('x\" rwk, /** rwmlk, #' named in '/srv/img/ov.qcow2')");
    autofree char *ib = NULL;
    assert_int_equal(vg_policy_render(inj, UUID, "n", &ib, &err), -EINVAL);
    assert_null(ib);
    if (!strstr(err->msg, "path '/srv/img/d\\\\' contains a backslash at byte 11"))
        fail_msg("unexpected message: %s", err->msg);
}

/* The helper's self-check accepts exactly what the renderer writes. */
static void test_verify_rules(void **state)
{
    (void)state;
    autopolicy vg_policy *p = vg_policy_new();
    vg_policy_add(p, "/srv/img/ov.qcow2", VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_DISK, "disk 'vda'");
    vg_policy_add(p, "/srv/img/b*se", VG_ACCESS_R, VG_POLICY_FILE, VG_ROLE_BACKING, "backing");
    vg_policy_add(p, "/srv/share/w{x}", VG_ACCESS_RW, VG_POLICY_DIR, VG_ROLE_FILESYSTEM, "fs 'w'");
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_policy_render(p, UUID, "sbx-1", &out, &err), 0);
    if (vg_policy_verify_rules(p, out, &err) < 0)
        fail_msg("%s", err->msg);

    static const struct { const char *add, *why; } bad[] = {
        /* the run-on string of the injection, as the file once held it */
        { "  \"/srv/img/d\\\\\" rwk,\n  # x\" rwk, /** rwmlk, #\n", "neither a comment nor one literal rule" },
        { "  \"/**\" rwmlk,\n", "neither a comment nor one literal rule" },
        { "  capability sys_admin,\n", "neither a comment nor one literal rule" },
        { "  \"/srv/img/other.qcow2\" rwk,\n", "names '/srv/img/other.qcow2', which is not" },
        { "  \"/srv/img/ov.qcow2\" rwk,\n", "holds 5 rules and 1 deny rules, the policy has 4 and 1" },
        { "  deny \"/srv/img/ov.qcow2\" w,\n", "grants '/srv/img/ov.qcow2' deny w, the policy has no deny rule for it" },
        { "  # <abstractions/x>\n", "neither a comment nor one literal rule" },
        { "  #include <abstractions/x>\n", "neither a comment nor one literal rule" },
        { "  \"/srv/img/b*se\" r,\n", "neither a comment nor one literal rule" },
        { "  \"/srv/share/w\\{x\\}/x/**\" r,\n", "not one of the 3 rendered entries" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        autofree char *text = vg_xasprintf("%s%s", out, bad[i].add);
        autoerror vg_error *e2 = NULL;
        assert_int_equal(vg_policy_verify_rules(p, text, &e2), -EPROTO);
        if (!strstr(e2->msg, bad[i].why))
            fail_msg("case %zu: %s", i, e2->msg);
    }
    /* a missing rule, a missing final newline */
    autofree char *cut = vg_xstrdup(out);
    char *last = strstr(cut, "  \"/srv/share/w\\{x\\}/**\"");
    assert_non_null(last);
    *last = '\0';
    assert_int_equal(vg_policy_verify_rules(p, cut, &err), -EPROTO);
    assert_non_null(strstr(err->msg, "holds 3 rules and 1 deny rules, the policy has 4 and 1"));
    vg_error_free(steal_pointer(&err));
    /* wider permissions than the policy's: a read-only backing file made rwk */
    autofree char *wide = vg_xstrdup(out);
    char *rk = strstr(wide, "\"/srv/img/b\\*se\" rk,");
    assert_non_null(rk);
    memcpy(strstr(rk, " rk,"), " rw,", 4);
    assert_int_equal(vg_policy_verify_rules(p, wide, &err), -EPROTO);
    if (!strstr(err->msg, "grants '/srv/img/b*se' rw, the policy says rk"))
        fail_msg("%s", err->msg);
    vg_error_free(steal_pointer(&err));
    out[strlen(out) - 1] = '\0';
    assert_int_equal(vg_policy_verify_rules(p, out, &err), -EPROTO);
}

static void test_perms(void **state)
{
    (void)state;
    static const struct {
        vg_role role; vg_access acc; vg_policy_kind kind; const char *perms; bool deny;
    } t[] = {
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_POLICY_FILE, "rwk", false },
        { VG_ROLE_DISK, VG_ACCESS_R, VG_POLICY_FILE, "rk", true },
        { VG_ROLE_CDROM, VG_ACCESS_R, VG_POLICY_FILE, "rk", true },
        { VG_ROLE_BACKING, VG_ACCESS_R, VG_POLICY_FILE, "rk", true },
        { VG_ROLE_LOADER, VG_ACCESS_R, VG_POLICY_FILE, "rk", true },
        { VG_ROLE_NVRAM, VG_ACCESS_RW, VG_POLICY_FILE, "rwk", false },
        { VG_ROLE_KERNEL, VG_ACCESS_R, VG_POLICY_FILE, "r", true },
        { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_POLICY_DIR, "rwkl", false },
        { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_POLICY_DIR, "r", false },
        { VG_ROLE_MEMORY_BACKING, VG_ACCESS_RW, VG_POLICY_DIR, "rwk", false },
        { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_POLICY_FILE, "rw", false },
        { VG_ROLE_CHARDEV_LOG, VG_ACCESS_RW, VG_POLICY_FILE, "rw", false },
        { VG_ROLE_EVDEV, VG_ACCESS_RW, VG_POLICY_FILE, "rw", false },
        { VG_ROLE_NVDIMM, VG_ACCESS_R, VG_POLICY_FILE, "rw", false },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        vg_policy_entry e = { .path = (char *)"/x", .access = t[i].acc, .kind = t[i].kind, .role = t[i].role };
        bool deny = !t[i].deny;
        assert_string_equal(vg_policy_entry_perms(&e, &deny), t[i].perms);
        assert_int_equal(deny, t[i].deny);
    }
}

static void test_restricted(void **state)
{
    (void)state;
    /* libvirt's table (not strict) */
    assert_string_equal(vg_policy_restricted("/etc/passwd", true, false), "/etc/");
    assert_string_equal(vg_policy_restricted("/usr/bin/qemu", true, false), "/usr/bin/");
    assert_string_equal(vg_policy_restricted("/lib64/x", true, false), "/lib");
    assert_null(vg_policy_restricted("/boot/vmlinuz", true, false));
    assert_string_equal(vg_policy_restricted("/boot/vmlinuz", false, false), "/boot/");
    assert_null(vg_policy_restricted("/usr/share/OVMF/OVMF_CODE.fd", true, false));
    assert_string_equal(vg_policy_restricted("/usr/share/OVMF/OVMF_CODE.fd", false, false), "/usr/share/");
    assert_null(vg_policy_restricted("/sys/devices/pci0000:00/x", false, false));
    assert_null(vg_policy_restricted("/dev/sdb", false, false));
    assert_null(vg_policy_restricted("/var/lib/libvirt/images/a.qcow2", false, false));
    /* strict: what virtguard itself grants */
    const char *strict_bad[] = { "/", "/etc", "/etc/x", "/usr/share/OVMF/x", "/bin/sh", "/sbin/x",
                                 "/lib/x", "/lib64/x", "/libx32/x", "/boot/vmlinuz", "/proc/1/mem",
                                 "/sys/kernel/x", "/dev/sda", "/dev/shm/x", "/vmlinuz.old",
                                 "/initrd.img" };
    for (size_t i = 0; i < VG_N_ELEMENTS(strict_bad); i++)
        if (!vg_policy_restricted(strict_bad[i], true, true))
            fail_msg("%s should be restricted", strict_bad[i]);
    const char *strict_ok[] = { "/var/lib/libvirt/images/x", "/srv/etc/x", "/home/u/usr/x",
                                "/Users/dev/sandboxes/x", "/mnt/devices" };
    for (size_t i = 0; i < VG_N_ELEMENTS(strict_ok); i++)
        assert_null(vg_policy_restricted(strict_ok[i], false, true));
}

/* ---- resolver -------------------------------------------------------------------- */

static void test_resolve_chain(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    const fx_path fx[] = {
        D("@T@/root/ov.qcow2"),
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/a/c3-top.qcow2", "vdb", "qcow2" },
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@//root/vm/./data.qcow2", "vdc", "qcow2" },
        { VG_ROLE_CDROM, VG_ACCESS_R, VG_KIND_FILE, "@T@/root/boot.iso", "sda", "raw" },
        /* outside the roots: not ours, no rule */
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/outside/real.qcow2", "vdd", "qcow2" },
        { VG_ROLE_LOADER, VG_ACCESS_R, VG_KIND_FILE, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL },
        { VG_ROLE_KERNEL, VG_ACCESS_R, VG_KIND_FILE, "/boot/vmlinuz", NULL, NULL },
        { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_DEVICE, "/dev/pts/3", "serial0", NULL },
    };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(cfg, fx, VG_N_ELEMENTS(fx), &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_null(p->warnings);
    const vg_policy_entry *e;
    e = must_find(p, "@T@/root/ov.qcow2");
    assert_int_equal(e->access, VG_ACCESS_RW);
    e = must_find(p, "@T@/root/base.qcow2");
    assert_int_equal(e->role, VG_ROLE_BACKING);
    assert_int_equal(e->access, VG_ACCESS_R);
    assert_non_null(find_entry(p, "@T@/root/a/c3-top.qcow2"));
    assert_non_null(find_entry(p, "@T@/root/b/c3-mid.qcow2"));
    assert_non_null(find_entry(p, "@T@/root/b/c3-base.qcow2"));
    e = must_find(p, "@T@/root/vm/data.raw");
    assert_int_equal(e->role, VG_ROLE_DISK_AUX);
    assert_int_equal(e->access, VG_ACCESS_RW);
    assert_null(find_entry(p, "@T@/outside/real.qcow2"));
    assert_null(find_entry(p, "/usr/share/OVMF/OVMF_CODE.fd"));
    assert_int_equal(p->n_entries, 8);
    autofree char *out = render(p);
    autofree char *g = unsubst(out);
    golden("resolve-chain.rules", g);
    export_profile("resolve-chain", p, "sbx-1");
}

static void test_resolve_roles(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    const fx_path fx[] = {
        { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/share/", "work", NULL },
        { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@/root/ro-share", "ro", NULL },
        { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_PIPE, "@T@/root/vm/serial.pipe", "serial0", NULL },
        { VG_ROLE_CHARDEV_LOG, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/vm/logs/not-yet/console.log", "console0", NULL },
        { VG_ROLE_NVRAM, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/vm/VARS.fd", NULL, NULL },
        { VG_ROLE_KERNEL, VG_ACCESS_R, VG_KIND_FILE, "@T@/root/vm/vmlinuz", NULL, NULL },
        { VG_ROLE_DISK, VG_ACCESS_R, VG_KIND_FILE, "@T@/root/ov.qcow2", "vdb", "qcow2" },
        /* root given through a symlink: the rule names the real place */
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/outdir/../root/base.qcow2", "x", "qcow2" },
    };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    /* ".." in an XML path is refused (the last entry) */
    assert_int_equal(resolve(cfg, fx, VG_N_ELEMENTS(fx), &p, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "contains '..'"));
    vg_error_free(steal_pointer(&err));

    if (resolve(cfg, fx, VG_N_ELEMENTS(fx) - 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    const vg_policy_entry *e;
    e = must_find(p, "@T@/root/share");
    assert_int_equal(e->kind, VG_POLICY_DIR);
    assert_non_null(find_entry(p, "@T@/root/vm/serial.pipe.in"));
    assert_non_null(find_entry(p, "@T@/root/vm/serial.pipe.out"));
    assert_non_null(find_entry(p, "@T@/root/vm/logs/not-yet/console.log"));
    /* read-only overlay: its base is still read-only */
    e = must_find(p, "@T@/root/ov.qcow2");
    assert_int_equal(e->access, VG_ACCESS_R);
    assert_non_null(find_entry(p, "@T@/root/base.qcow2"));
    autofree char *out = render(p);
    autofree char *g = unsubst(out);
    golden("resolve-roles.rules", g);
    export_profile("resolve-roles", p, "sbx-1");
}

static void test_resolve_root_symlink(void **state)
{
    (void)state;
    run("ln -sfn root rootlink");
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@/rootlink", NULL);
    const fx_path fx[] = { D("@T@/rootlink/ov.qcow2"), D("@T@/root/a/c3-top.qcow2") };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(cfg, fx, VG_N_ELEMENTS(fx), &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_non_null(find_entry(p, "@T@/root/ov.qcow2"));
    assert_non_null(find_entry(p, "@T@/root/base.qcow2"));
    assert_non_null(find_entry(p, "@T@/root/b/c3-base.qcow2"));
    assert_null(find_entry(p, "@T@/rootlink/ov.qcow2"));
}

static void test_resolve_loops_and_depth(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    static const struct { const char *disk, *msg; int code; } t[] = {
        { "@T@/root/loop-a.qcow2", "backing chain loops", -ELOOP },
        { "@T@/root/self.qcow2", "backing chain loops", -ELOOP },
        { "@T@/root/d17.qcow2", "deeper than 16 layers", -ELOOP },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        const fx_path fx[] = { D(t[i].disk) };
        autopolicy vg_policy *p = NULL;
        autoerror vg_error *err = NULL;
        int r = resolve(cfg, fx, 1, &p, &err);
        if (r != t[i].code || !strstr(err->msg, t[i].msg))
            fail_msg("%s: r=%d %s", t[i].disk, r, err ? err->msg : "");
        assert_null(p);
        assert_non_null(strstr(err->msg, "domain 'sbx-1': disk 'vda'"));
    }
    /* exactly the cap is fine */
    const fx_path fx[] = { D("@T@/root/e16.qcow2") };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(cfg, fx, 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_int_equal(p->n_entries, 17);
    assert_non_null(find_entry(p, "@T@/root/e0.qcow2"));
}

static void test_resolve_escapes(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    autoconfig vg_config *extra = mkcfg(VG_MODE_ENFORCE, "@T@/root", "@T@/outside");
    static const struct { const char *disk, *granted; bool link; } t[] = {
        { "@T@/root/link.qcow2", "@T@/outside/real.qcow2", true },          /* symlink out of the root */
        { "@T@/root/escape.qcow2", "@T@/outside/obase.qcow2", false },      /* backing file out of it */
        { "@T@/root/outdir/real.qcow2", "@T@/outside/real.qcow2", true },   /* symlinked directory */
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        const fx_path fx[] = { D(t[i].disk) };
        autopolicy vg_policy *p = NULL;
        autoerror vg_error *err = NULL;
        /* enforce: refused, nothing granted */
        int r = resolve(enforce, fx, 1, &p, &err);
        if (r != -EPERM || !strstr(err->msg, "outside the allowed roots"))
            fail_msg("%s: r=%d %s", t[i].disk, r, err ? err->msg : "");
        assert_null(p);
        autofree char *want = subst(t[i].granted);
        assert_non_null(strstr(err->msg, want));
        vg_error_free(steal_pointer(&err));
        /* dev: granted, loudly */
        if (resolve(dev, fx, 1, &p, &err) < 0)
            fail_msg("%s", err->msg);
        assert_non_null(find_entry(p, t[i].granted));
        assert_true(warned(p, "WARNING: dev mode"));
        vg_policy_free(steal_pointer(&p));
        /* enforce with the other dir as an extra root: a backing file
         * there is granted quietly; a symlink on the share that leads into
         * another directory is still refused (the writer of the share
         * controls its links: it could name another domain's file) */
        r = resolve(extra, fx, 1, &p, &err);
        if (t[i].link) {
            if (r != -EPERM || !strstr(err->msg, "a symbolic link on the shared mount that leads"))
                fail_msg("%s: r=%d %s", t[i].disk, r, err ? err->msg : "");
            continue;
        }
        if (r < 0)
            fail_msg("%s", err->msg);
        assert_non_null(find_entry(p, t[i].granted));
        assert_null(p->warnings);
    }
}

static void test_resolve_refusals(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    autoconfig vg_config *etc_root = mkcfg(VG_MODE_DEV, "/etc", NULL);
    static const struct {
        fx_path fx; const char *msg; int code; bool dev_too;
    } t[] = {
        { D("/etc/passwd"), "restricted prefix '/etc/'", -EPERM, true },
        { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "/boot/initrd.img", "vda", "raw" },
          "restricted prefix '/boot/'", -EPERM, true },
        { D("@T@/root/passwd-link"), "restricted prefix '/etc'", -EPERM, true },
        { D("@T@/root/new\nline.qcow2"), "contains a newline", -EINVAL, true },
        { D("@T@/root/esc\x1b.qcow2"), "esc\\x1b.qcow2' contains the control character 0x1b", -EINVAL, true },
        { D("@T@/root/d\\"), "contains a backslash", -EINVAL, true },
        { D("@T@/root/q\"uote"), "contains a double quote", -EINVAL, true },
        { D("@T@/root/bad\xff"), "is not valid UTF-8", -EINVAL, true },
        { D("@T@/root/reldata.qcow2"), "relative external data file 'vm/rel.raw'", -EINVAL, true },
        { D("@T@/root/link-to-quote"), "contains a double quote", -EINVAL, true },
        { D("relative/disk.qcow2"), "is not absolute", -EINVAL, true },
        { D("@T@/root/../outside/real.qcow2"), "contains '..'", -EINVAL, true },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        for (int m = 0; m < 2; m++) {
            autopolicy vg_policy *p = NULL;
            autoerror vg_error *err = NULL;
            int r = resolve(m ? dev : enforce, &t[i].fx, 1, &p, &err);
            if (r != t[i].code || !strstr(err->msg, t[i].msg))
                fail_msg("case %zu mode %d: r=%d %s", i, m, r, err ? err->msg : "");
            assert_null(p);
            assert_null(strchr(err->msg, '\n'));
        }
    }
    /* a root under /etc grants nothing there, even in dev mode */
    const fx_path fx[] = { { VG_ROLE_DISK, VG_ACCESS_R, VG_KIND_FILE, "/etc/hostname", "vda", "raw" } };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(resolve(etc_root, fx, 1, &p, &err), -EPERM);
    assert_non_null(strstr(err->msg, "never grants access to system directories"));
}

static void test_resolve_chain_ends(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;

    /* missing backing file: the rule is there, with a warning */
    const fx_path f1[] = { D("@T@/root/missing.qcow2") };
    if (resolve(cfg, f1, 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_non_null(find_entry(p, "@T@/root/gone.qcow2"));
    assert_true(warned(p, "does not exist; QEMU will fail to open it"));
    vg_policy_free(steal_pointer(&p));

    /* no backing format recorded: the layer, but nothing below it */
    const fx_path f2[] = { D("@T@/root/nofmt.qcow2") };
    if (resolve(cfg, f2, 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_non_null(find_entry(p, "@T@/root/nf-base.img"));
    assert_int_equal(p->n_entries, 2);
    assert_true(warned(p, "records no backing format"));
    vg_policy_free(steal_pointer(&p));

    /* raw in the XML (or no format at all): the header is never read,
     * even though the file holds a qcow2 header naming /etc/shadow */
    const fx_path f3[] = {
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/forged.raw", "vda", "raw" },
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/root/forged.raw", "vdb", NULL },
    };
    if (resolve(cfg, f3, 2, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_int_equal(p->n_entries, 2);
    assert_null(find_entry(p, "/etc/shadow"));
    vg_policy_free(steal_pointer(&p));

    /* declared qcow2: the forged header is read, and /etc/shadow refused */
    const fx_path f4[] = { D("@T@/root/forged.raw") };
    assert_int_equal(resolve(cfg, f4, 1, &p, &err), -EPERM);
    assert_non_null(strstr(err->msg, "'/etc/shadow'"));
}

static void test_resolve_hostile_names(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    const char *name = "ab*c?d[e]f{g,h}i^jk,l@{HOME} m#n";
    autofree char *disk = vg_xasprintf("@T@/root/vm/%s", name);
    const fx_path fx[] = {
        { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, disk, "vda", "raw" },
        { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/share", "x", NULL },
    };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(cfg, fx, VG_N_ELEMENTS(fx), &p, &err) < 0)
        fail_msg("%s", err->msg);
    autofree char *out = render(p);
    autofree char *g = unsubst(out);
    golden("resolve-hostile.rules", g);
    assert_non_null(strstr(g, "  \"/TMP/root/vm/ab\\*c\\?d\\[e\\]f\\{g\\,h\\}i\\^jk\\,l@\\{HOME\\} m#n\" rwk,\n"));
    export_profile("resolve-hostile", p, name);
    autofree char *real = subst(disk);
    export_literal("resolve-hostile", real);
}

/* ---- the path-trust rule (issue 19) ------------------------------------------ */

/* A refusal in both modes whose message holds every part in `parts`. */
static void refused_both(const vg_config *enforce, const vg_config *dev, const fx_path *fx,
                         size_t n, const char *const *parts)
{
    for (int m = 0; m < 2; m++) {
        autopolicy vg_policy *p = NULL;
        autoerror vg_error *err = NULL;
        int r = resolve(m ? dev : enforce, fx, n, &p, &err);
        if (r != -EPERM)
            fail_msg("%s mode %d: r=%d %s", fx[0].path, m, r, err ? err->msg : "");
        for (size_t i = 0; parts[i]; i++) {
            autofree char *want = subst(parts[i]);
            if (!strstr(err->msg, want))
                fail_msg("%s mode %d: no '%s' in: %s", fx[0].path, m, want, err->msg);
        }
        assert_null(p);
    }
}

/* Refused in enforce mode, granted with a warning in dev mode. */
static void refused_enforce(const vg_config *enforce, const vg_config *dev, const fx_path *fx,
                            const char *part, const char *granted)
{
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    autofree char *want = subst(part);
    int r = resolve(enforce, fx, 1, &p, &err);
    if (r != -EPERM || !strstr(err->msg, want) || !strstr(err->msg, "refuses it in enforce mode"))
        fail_msg("%s: r=%d, no '%s' in: %s", fx[0].path, r, want, err ? err->msg : "");
    if (resolve(dev, fx, 1, &p, &err) < 0)
        fail_msg("%s (dev): %s", fx[0].path, err->msg);
    assert_non_null(find_entry(p, granted));
    assert_true(warned(p, want));
    /* what dev mode writes compiles to exactly its entries (policy-compile.sh) */
    static unsigned n;
    autofree char *label = vg_xasprintf("trust-dev-%u", n++);
    export_profile(label, p, "sbx-1");
}

/* Finding 1: a link in the share root to a sibling directory, as a
 * <filesystem> or a dir disk, was granted the sibling's whole tree. */
static void test_trust_dir_links(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    run("mkdir -p root/t-vm1 root/t-vm2 && ln -sfn t-vm2 root/t-link && ln -sfn ../t-vm2 root/t-vm1/up");
    const fx_path fs[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-link", "share", NULL } };
    const char *const why[] = {
        "filesystem 'share': '@T@/root/t-link' is a symbolic link "
        "on the shared mount that leads to '@T@/root/t-vm2' (it holds 't-vm2'); virtguard follows "
        "no symbolic link below a shared root, and never grants a directory through one, in any "
        "mode. Name the directory itself in the domain XML", NULL };
    refused_both(enforce, dev, fs, 1, why);
    const fx_path dd[] = { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-vm1/up/", "vdb", NULL } };
    const char *const why2[] = { "disk 'vdb'", "'@T@/root/t-vm1/up'", "never grants a directory through one", NULL };
    refused_both(enforce, dev, dd, 1, why2);
    /* the share itself, named as it is: granted */
    const fx_path ok[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-vm1", "share", NULL } };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(enforce, ok, 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_int_equal(must_find(p, "@T@/root/t-vm1")->kind, VG_POLICY_DIR);
    export_profile("trust-dir", p, "sbx-1");
}

/* A tree never covers a root, nor a directory another defined domain's
 * files live in; dev mode does not widen either. */
static void test_trust_trees(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    autoconfig vg_config *nested = mkcfg(VG_MODE_DEV, "@T@/root/t-vm1/sub", "@T@/root");
    run("mkdir -p root/t-vm1/sub root/t-vm2 root/t-both && touch root/t-vm2/disk.img");
    run("printf \"<domain type='kvm'><name>vm2</name><uuid>0c5e4d4b-1b5f-4bd3-8f70-4e3b3c2a1d00</uuid>"
        "<devices><disk type='file' device='disk'><source file='%s/root/t-vm2/disk.img'/>"
        "<target dev='vda'/></disk><filesystem type='mount'><source dir='%s/root/t-both'/>"
        "<target dir='b'/></filesystem></devices></domain>\" > etc-qemu/vm2.xml", T, T);
    const fx_path whole[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@/root/", "all", NULL } };
    const char *const why_whole[] = {
        "filesystem 'all': '@T@/root' is the whole shared root '@T@/root': a tree rule for it "
        "would give this domain every other domain's files; virtguard refuses it in every mode. "
        "Share a directory below it that holds only this domain's files", NULL };
    refused_both(enforce, dev, whole, 1, why_whole);
    const fx_path holds[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@/root/t-vm1", "all", NULL } };
    const char *const why_holds[] = { "'@T@/root/t-vm1' holds the shared root '@T@/root/t-vm1/sub'", NULL };
    refused_both(nested, nested, holds, 1, why_holds);
    /* above the roots: not ours, but a tree over a root is refused all the same */
    const fx_path above[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@", "up", NULL } };
    const char *const why_above[] = {
        "filesystem 'up': '@T@' holds the shared root '@T@/root': a tree rule for it would give "
        "this domain every other domain's files; virtguard refuses it in every mode", NULL };
    refused_both(enforce, dev, above, 1, why_above);
    const fx_path other[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-vm2", "share", NULL } };
    const char *const why_other[] = {
        "filesystem 'share': '@T@/root/t-vm2' holds '@T@/root/t-vm2/disk.img', a file of domain "
        "'vm2'; a tree rule for it would give this domain that domain's files, so virtguard "
        "refuses it in every mode. Share a directory that holds only this domain's files", NULL };
    refused_both(enforce, dev, other, 1, why_other);
    /* a directory another domain shares is that domain's, even when this
     * domain names the same directory, and so is every directory inside it */
    const fx_path both[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@/root/t-both", "b", NULL } };
    const char *const why_both[] = {
        "filesystem 'b': '@T@/root/t-both' is a directory shared by domain "
        "'vm2'; a tree rule for it would give this domain that domain's files, so virtguard "
        "refuses it in every mode", NULL };
    refused_both(enforce, dev, both, 1, why_both);
    run("mkdir -p root/t-both/sub");
    const fx_path inside[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-both/sub", "s", NULL } };
    const char *const why_inside[] = {
        "filesystem 's': '@T@/root/t-both/sub' lies inside '@T@/root/t-both', a directory shared "
        "by domain 'vm2'", NULL };
    refused_both(enforce, dev, inside, 1, why_inside);
    /* a backing layer only vm2's header names is vm2's file too */
    run("mkdir -p root/t-bases && qemu-img create -q -f qcow2 root/t-bases/base.qcow2 1M && "
        "qemu-img create -q -f qcow2 -b \"$PWD/root/t-bases/base.qcow2\" -F qcow2 root/t-vm2/disk.img");
    const fx_path bases[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-bases", "bases", NULL } };
    const char *const why_bases[] = {
        "filesystem 'bases': '@T@/root/t-bases' holds '@T@/root/t-bases/base.qcow2', a file of "
        "domain 'vm2'", NULL };
    refused_both(enforce, dev, bases, 1, why_bases);
    /* a write rule through a hard link to another domain's disk */
    run("ln -f root/t-vm2/disk.img root/t-vm1/mine.img");
    const fx_path linked[] = { D("@T@/root/t-vm1/mine.img") };
    const char *const why_linked[] = {
        "'@T@/root/t-vm1/mine.img' has 2 hard links on the shared mount; a file this domain may "
        "write must have one name only", NULL };
    refused_both(enforce, dev, linked, 1, why_linked);
    run("rm -rf root/t-vm1/mine.img root/t-bases && rm -f root/t-vm2/disk.img && touch root/t-vm2/disk.img");
    /* this domain's own directory is fine */
    const fx_path own[] = { { VG_ROLE_FILESYSTEM, VG_ACCESS_RW, VG_KIND_DIR, "@T@/root/t-vm1/sub", "own", NULL } };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(enforce, own, 1, &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_non_null(find_entry(p, "@T@/root/t-vm1/sub"));
    export_profile("trust-own-dir", p, "sbx-1");
    vg_policy_free(steal_pointer(&p));
    /* a domain file that cannot be parsed: no tree rule can be checked */
    run("echo '<domain' > run-qemu/broken.xml");
    const char *const why_broken[] = { "cannot tell whether '@T@/root/t-both' holds another domain's files",
                                       "@T@/run-qemu/broken.xml", NULL };
    refused_both(enforce, dev, both, 1, why_broken);
    run("rm -f run-qemu/broken.xml etc-qemu/vm2.xml");
}

/* Finding 2 and header names: a data file named in a header lies beside
 * its image in a directory that is not a root; ".." in a header name is
 * walked, never skipped (finding 3). */
static void test_trust_header_names(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    run("mkdir -p root/t-vm1/sub root/t-vm2 root/x && touch root/t-vm2/secret.img");
    run("qemu-img create -q -f qcow2 -o data_file=\"$PWD/root/t-vm2/secret.img\" root/flat.qcow2 1M");
    const fx_path flat[] = { D("@T@/root/flat.qcow2") };
    refused_enforce(enforce, dev, flat, "the header of '@T@/root/flat.qcow2' names "
                    "'@T@/root/t-vm2/secret.img' as its external data file, outside the image's "
                    "directory '@T@/root'", "@T@/root/t-vm2/secret.img");
    run("qemu-img create -q -f qcow2 -o data_file=\"$PWD/root/flat.raw\" root/flat2.qcow2 1M");
    const fx_path flat2[] = { D("@T@/root/flat2.qcow2") };
    refused_enforce(enforce, dev, flat2, "but the image lies directly in the shared root "
                    "'@T@/root', which holds every domain's files", "@T@/root/flat.raw");
    run("qemu-img create -q -f qcow2 -o data_file=\"$PWD/root/t-vm1/sub/below.raw\" root/t-vm1/below.qcow2 1M");
    const fx_path below[] = { D("@T@/root/t-vm1/below.qcow2") };
    refused_enforce(enforce, dev, below, "outside the image's directory '@T@/root/t-vm1'",
                    "@T@/root/t-vm1/sub/below.raw");
    /* "..": the data file's name is walked to vm2's file */
    run("qemu-img create -q -f qcow2 -o data_file=\"$PWD/root/t-vm1/../t-vm2/secret.img\" root/t-vm1/dd.qcow2 1M");
    const fx_path dd[] = { D("@T@/root/t-vm1/dd.qcow2") };
    refused_enforce(enforce, dev, dd, "names '@T@/root/t-vm2/secret.img' as its external data file",
                    "@T@/root/t-vm2/secret.img");
    /* "x/../link": the link is met, as the kernel meets it */
    run("ln -sfn t-vm2/secret.img root/t-alias.img && "
        "qemu-img create -q -f qcow2 -u -b 'x/../t-alias.img' -F raw root/t-vm1/bk.qcow2 1M && "
        "mv root/t-vm1/bk.qcow2 root/bk.qcow2");
    const fx_path bk[] = { D("@T@/root/bk.qcow2") };
    refused_enforce(enforce, dev, bk, "'@T@/root/x/../t-alias.img' goes through '@T@/root/t-alias.img', "
                    "a symbolic link on the shared mount that leads to '@T@/root/t-vm2/secret.img'",
                    "@T@/root/t-vm2/secret.img");
    /* and a link's "..": "t-dir/.." is the parent of the link's target */
    run("ln -sfn t-vm1/sub root/t-dir && "
        "qemu-img create -q -f qcow2 -u -b 't-dir/../../t-vm2/secret.img' -F raw root/bk2.qcow2 1M");
    const fx_path bk2[] = { D("@T@/root/bk2.qcow2") };
    refused_enforce(enforce, dev, bk2, "goes through '@T@/root/t-dir', a symbolic link on the shared mount",
                    "@T@/root/t-vm2/secret.img");
    /* a link beside its file is refused too (no link below a root is followed) */
    run("ln -sfn secret.img root/t-vm2/alias.img");
    const fx_path alias[] = { D("@T@/root/t-vm2/alias.img") };
    refused_enforce(enforce, dev, alias, "'@T@/root/t-vm2/alias.img' is a symbolic link on the shared mount",
                    "@T@/root/t-vm2/secret.img");
}

/* Finding 6: on a share, disks, backing and data files are regular files,
 * directories only where the XML asks for one; device nodes, FIFOs and
 * sockets are refused in every mode. */
static void test_trust_file_types(void **state)
{
    (void)state;
    autoconfig vg_config *enforce = mkcfg(VG_MODE_ENFORCE, "@T@/root", NULL);
    autoconfig vg_config *dev = mkcfg(VG_MODE_DEV, "@T@/root", NULL);
    run("mkdir -p root/ty && mkfifo root/ty/fifo.img");
    run("python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"root/ty/sock.img\")'");
    run("qemu-img create -q -f qcow2 -o data_file=\"$PWD/root/ty/d.raw\" root/ty/d.qcow2 1M && "
        "rm root/ty/d.raw && mkfifo root/ty/d.raw");
    run("qemu-img create -q -f qcow2 -u -b fifo.img -F raw root/ty/b.qcow2 1M");
    bool mknod_ok = system("mknod /dev/null.vg-probe c 1 3 2>/dev/null && rm -f /dev/null.vg-probe") == 0;
    if (mknod_ok)
        run("mknod root/ty/null.img c 1 3 && mknod root/ty/blk.img b 7 0");
    static const struct { fx_path fx; const char *why; bool dev_node; } t[] = {
        { D("@T@/root/ty/fifo.img"), "disk 'vda': '@T@/root/ty/fifo.img' is a FIFO (named pipe) on "
          "the shared mount, where virtguard grants only a regular file for it; refused in every "
          "mode. Name a regular file in the domain XML", false },
        { D("@T@/root/ty/sock.img"), "'@T@/root/ty/sock.img' is a socket on the shared mount", false },
        { D("@T@/root/ty"), "'@T@/root/ty' is a directory on the shared mount, where virtguard "
          "grants only a regular file", false },
        { { VG_ROLE_CDROM, VG_ACCESS_R, VG_KIND_FILE, "@T@/root/ty/fifo.img", "sda", "raw" },
          "cdrom 'sda': '@T@/root/ty/fifo.img' is a FIFO", false },
        { D("@T@/root/ty/d.qcow2"), "external data file of '@T@/root/ty/d.qcow2' (disk 'vda'): "
          "'@T@/root/ty/d.raw' is a FIFO (named pipe)", false },
        { D("@T@/root/ty/b.qcow2"), "'@T@/root/ty/fifo.img' is a FIFO (named pipe)", false },
        { { VG_ROLE_FILESYSTEM, VG_ACCESS_R, VG_KIND_DIR, "@T@/root/ty/fifo.img", "fs", NULL },
          "is a FIFO (named pipe) on the shared mount, where virtguard grants only a directory", false },
        { D("@T@/root/ty/null.img"), "'@T@/root/ty/null.img' is a character device node", true },
        { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_BLOCK, "@T@/root/ty/blk.img", "vdb", "raw" },
          "'@T@/root/ty/blk.img' is a block device node", true },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        if (t[i].dev_node && !mknod_ok)
            continue;
        const char *const why[] = { t[i].why, NULL };
        refused_both(enforce, dev, &t[i].fx, 1, why);
    }
    /* what the XML asks for is fine: a socket for a unix chardev, a FIFO for a pipe */
    const fx_path ok[] = {
        { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_SOCKET, "@T@/root/ty/sock.img", "ch0", NULL },
        { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_PIPE, "@T@/root/ty/fifo.img", "ser0", NULL },
    };
    autopolicy vg_policy *p = NULL;
    autoerror vg_error *err = NULL;
    if (resolve(enforce, ok, VG_N_ELEMENTS(ok), &p, &err) < 0)
        fail_msg("%s", err->msg);
    assert_non_null(find_entry(p, "@T@/root/ty/sock.img"));
    assert_non_null(find_entry(p, "@T@/root/ty/fifo.img"));
    export_profile("trust-types", p, "sbx-1");
}

/* ---- libvirt's tests/virt-aa-helper-test verdicts ------------------------------- */

static void test_libvirt_verdicts(void **state)
{
    (void)state;
    autoerror vg_error *err = NULL;
    /* bad UUIDs (the helper's -u argument) */
    const char *bad_uuids[] = {
        "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-0123456789ababcdef",
        "00000000-0000-0000-0000-0123456789a", "", "libvirt-00000000-0000-0000-0000-0123456789ab",
        "00000000-0000-0000-0000-0123456789ab\n", "00000000+0000-0000-0000-0123456789ab",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad_uuids); i++) {
        assert_int_equal(vg_policy_check_uuid(bad_uuids[i], &err), -EINVAL);
        vg_error_free(steal_pointer(&err));
    }
    assert_int_equal(vg_policy_check_uuid("00000000-0000-0000-0000-0123456789ab", &err), 0);
    assert_int_equal(vg_policy_check_uuid("C7A5FDBD-edaf-9455-926a-d65c16db1809", &err), 0);

    /* bad names: each character the test suite tries, plus control chars */
    const char *bad_chars = "/[]{}?^,\"*\n\x01";
    for (const char *c = bad_chars; *c; c++) {
        autofree char *n = vg_xasprintf("virt-aa-helper-test-%c", *c);
        assert_int_equal(vg_policy_check_name(n, &err), -EINVAL);
        assert_null(strchr(err->msg, '\n'));
        vg_error_free(steal_pointer(&err));
    }
    assert_int_equal(vg_policy_check_name("", &err), -EINVAL);
    vg_error_free(steal_pointer(&err));
    assert_int_equal(vg_policy_check_name("virt-aa-helper-test", &err), 0);

    /* non-matching and missing UUID */
    autodom vg_domain *d = mkdom("virt-aa-helper-test", "00000000-0000-0000-0000-0123456789ab", NULL, 0);
    assert_int_equal(vg_policy_check_domain(d, "00000000-0000-0000-0000-0123456789ab", &err), 0);
    assert_int_equal(vg_policy_check_domain(d, NULL, &err), 0);
    assert_int_equal(vg_policy_check_domain(d, "00000000-0000-0000-0000-00000000000a", &err), -EINVAL);
    assert_non_null(strstr(err->msg, "not the expected"));
    vg_error_free(steal_pointer(&err));
    free(d->uuid);
    d->uuid = NULL;
    assert_int_equal(vg_policy_check_domain(d, NULL, &err), -EINVAL);
    vg_error_free(steal_pointer(&err));

    /* disks: the root is the test's temp dir, as in virt-aa-helper-test */
    autoconfig vg_config *cfg = mkcfg(VG_MODE_ENFORCE, "@T@", NULL);
    run("touch 1.img 2.img");
    static const struct { fx_path fx[2]; size_t n; int code; const char *rule; } t[] = {
        /* bad disk, bad disk2 */
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "/etc/passwd", "hda", "raw" } }, 1, -EPERM, NULL },
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "/etc/passwd", "hda", "raw" },
            { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/2.img", "hdb", "raw" } }, 2, -EPERM, NULL },
        /* disk in /boot (writable) */
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "/boot/initrd", "hda", "raw" } }, 1, -EPERM, NULL },
        /* create, readonly, non-existent disk */
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/1.img", "hda", "raw" } }, 1, 0, "\"@T@/1.img\" rwk,\n" },
        { { { VG_ROLE_DISK, VG_ACCESS_R, VG_KIND_FILE, "@T@/1.img", "hda", "raw" } }, 1, 0, "\"@T@/1.img\" rk,\n" },
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/nonexistent.img", "hda", "raw" } }, 1, 0,
          "\"@T@/nonexistent.img\" rwk,\n" },
        /* serial file, kernel, initrd, kernel in /boot, /vmlinuz, /initrd.img (not ours: no rule, no refusal) */
        { { { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_FILE, "@T@/serial.log", "serial0", NULL } }, 1, 0,
          "\"@T@/serial.log\" rw,\n" },
        { { { VG_ROLE_KERNEL, VG_ACCESS_R, VG_KIND_FILE, "@T@/kernel", NULL, NULL } }, 1, 0, "\"@T@/kernel\" r,\n" },
        { { { VG_ROLE_INITRD, VG_ACCESS_R, VG_KIND_FILE, "@T@/initrd", NULL, NULL } }, 1, 0, "\"@T@/initrd\" r,\n" },
        { { { VG_ROLE_KERNEL, VG_ACCESS_R, VG_KIND_FILE, "/boot/kernel", NULL, NULL } }, 1, 0, NULL },
        { { { VG_ROLE_KERNEL, VG_ACCESS_R, VG_KIND_FILE, "/vmlinuz", NULL, NULL } }, 1, 0, NULL },
        { { { VG_ROLE_INITRD, VG_ACCESS_R, VG_KIND_FILE, "/initrd.img", NULL, NULL } }, 1, 0, NULL },
        { { { VG_ROLE_CHARDEV, VG_ACCESS_RW, VG_KIND_DEVICE, "/dev/ttyS0", "serial0", NULL } }, 1, 0, NULL },
        /* relative path: libvirt resolves "$tmpdir/./../tmp-name//./1.img"; virtguard refuses ".." */
        { { { VG_ROLE_DISK, VG_ACCESS_RW, VG_KIND_FILE, "@T@/./..//./1.img", "hda", "raw" } }, 1, -EINVAL, NULL },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        autopolicy vg_policy *p = NULL;
        int r = resolve(cfg, t[i].fx, t[i].n, &p, &err);
        if (r != t[i].code)
            fail_msg("case %zu: r=%d %s", i, r, err ? err->msg : "");
        vg_error_free(steal_pointer(&err));
        if (r < 0)
            continue;
        autofree char *out = render(p);
        if (t[i].rule) {
            autofree char *want = subst(t[i].rule);
            if (!strstr(out, want))
                fail_msg("case %zu: missing %s in\n%s", i, want, out);
        } else {
            assert_int_equal(p->n_entries, 0);
        }
    }
}

/* The cost check before any compile (lib/policy.h, "Caps"): a 100-disk
 * domain with backing chains of 3 passes; too many bytes, too long paths
 * and too many entries are each refused with the figure and its limit. */
static vg_policy *costly(size_t n, size_t len, vg_role role, const char *why)
{
    vg_policy *p = vg_policy_new();
    for (size_t i = 0; i < n; i++) {
        autofree char *path = vg_xasprintf("/var/lib/libvirt/images/%04zu/", i);
        vg_buf b = { 0 };
        vg_buf_add(&b, path);
        while (b.len < len)
            vg_buf_add(&b, b.len + 2 <= len ? "x/" : "x");
        autofree char *full = vg_buf_steal(&b);
        vg_policy_add(p, full, VG_ACCESS_R, VG_POLICY_FILE, role, why);
    }
    return p;
}

static void test_cost(void **state)
{
    (void)state;
    autoerror vg_error *err = NULL;
    vg_policy_cost c;

    /* 100 disks, each an overlay on two layers of its own: 300 paths of 80 bytes */
    autopolicy vg_policy *real = costly(300, 80, VG_ROLE_BACKING, "backing layer 1 of disk 'vda'");
    vg_policy_cost_of(real, &c);
    assert_int_equal(c.entries, 300);
    assert_int_equal(c.bytes, 300 * 80);
    assert_int_equal(c.weight, 80 * 300 * 80);  /* longest x bytes: 1.9 M of 4 M */
    assert_int_equal(vg_policy_check_cost(real, "sbx-1", &err), 0);

    /* the same path twice is one rule: counted once */
    vg_policy_add(real, real->entries[0].path, VG_ACCESS_RW, VG_POLICY_FILE, VG_ROLE_DISK, "disk 'vdb'");
    vg_policy_cost_of(real, &c);
    assert_int_equal(c.entries, 301);
    assert_int_equal(c.bytes, 300 * 80);
    assert_int_equal(c.weight, 80 * 300 * 80);

    /* 5 paths of 1 KiB: 1024 x 5120 */
    autopolicy vg_policy *deep = costly(5, 1024, VG_ROLE_BACKING, "backing layer 3 of disk 'vda'");
    assert_int_equal(vg_policy_check_cost(deep, "sbx-1", &err), -E2BIG);
    assert_string_equal(err->msg,
        "domain 'sbx-1': its rules would take apparmor_parser too long to compile: their "
        "longest path (1024 bytes) times all their path bytes (5120) is 5242880, more than the "
        "4194304 allowed (e.g. 1 000 paths of 64 bytes, or one of 2 KiB); the longest path is "
        "'/var/lib/libvirt/images/0000/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x/x...' (backing layer 3 of "
        "disk 'vda'); refused before apparmor_parser runs: shorten the paths or use fewer");
    vg_error_free(err);
    err = NULL;
    /* 4 of them pass, and so does one path of 2 KiB */
    autopolicy vg_policy *four = costly(4, 1024, VG_ROLE_BACKING, "b");
    assert_int_equal(vg_policy_check_cost(four, "sbx-1", &err), 0);
    autopolicy vg_policy *one = costly(1, 2048, VG_ROLE_DISK, "d");
    assert_int_equal(vg_policy_check_cost(one, "sbx-1", &err), 0);

    /* 49 KiB of short paths: the bytes */
    autopolicy vg_policy *wide = costly(800, 64, VG_ROLE_DISK, "disk");
    assert_int_equal(vg_policy_check_cost(wide, "sbx-1", &err), -E2BIG);
    assert_string_equal(err->msg,
        "domain 'sbx-1': its rules name 51200 bytes of paths, more than virtguard writes for "
        "one domain (at most 49152; apparmor_parser builds about one state per byte and gives "
        "up past 65535); refused before apparmor_parser runs");
    vg_error_free(err);
    err = NULL;

    /* 1025 entries */
    autopolicy vg_policy *many = costly(1025, 30, VG_ROLE_DISK, "disk");
    assert_int_equal(vg_policy_check_cost(many, "sbx-1", &err), -E2BIG);
    assert_string_equal(err->msg,
        "domain 'sbx-1': 1025 rule entries are more than virtguard writes for one domain (at "
        "most 1024); refused before apparmor_parser runs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_render_golden),
        cmocka_unit_test(test_cost),
        cmocka_unit_test(test_verify_rules),
        cmocka_unit_test(test_perms),
        cmocka_unit_test(test_restricted),
        cmocka_unit_test(test_resolve_chain),
        cmocka_unit_test(test_resolve_roles),
        cmocka_unit_test(test_resolve_root_symlink),
        cmocka_unit_test(test_resolve_loops_and_depth),
        cmocka_unit_test(test_resolve_escapes),
        cmocka_unit_test(test_resolve_refusals),
        cmocka_unit_test(test_resolve_chain_ends),
        cmocka_unit_test(test_resolve_hostile_names),
        cmocka_unit_test(test_trust_dir_links),
        cmocka_unit_test(test_trust_trees),
        cmocka_unit_test(test_trust_header_names),
        cmocka_unit_test(test_trust_file_types),
        cmocka_unit_test(test_libvirt_verdicts),
    };
    if (system("qemu-img --version >/dev/null 2>&1") != 0) {
        printf("SKIP: qemu-img (qemu-utils) is needed to make test images\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
