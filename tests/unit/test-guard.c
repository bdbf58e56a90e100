/* Tests for lib/guard.c against real mounts: each test runs in a private
 * mount namespace with a real tmpfs standing in for the shared mount, real
 * files, and the real probe child.  Needs root (skipped otherwise). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "guard.h"
#include "verdict.h"

#define PW TEST_DATA_DIR "/ids/passwd"
#define GR TEST_DATA_DIR "/ids/group"

typedef struct fixture {
    char root[64];
    char *images;           /* the shared mount (tmpfs) */
    char *plain;            /* a plain directory, never mounted */
    char *state;            /* stands in for /var/lib/libvirt/qemu */
    vg_config cfg;
    vg_qemu_conf qconf;
    vg_domain dom;
    vg_guard_env env;
} fixture;

static char *empty_list[] = { NULL };

static void add_path(fixture *f, vg_role role, vg_access access, const char *path)
{
    vg_domain_path *p = VG_APPEND(f->dom.paths, f->dom.n_paths);
    p->role = role;
    p->access = access;
    p->kind = VG_KIND_FILE;
    p->path = vg_xstrdup(path);
    p->device = vg_xstrdup(role == VG_ROLE_CDROM ? "sda" : "vda");
    p->relabel = true;
}

static void write_file(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "QFI\xfb", 4), 4);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    assert_int_equal(chown(path, uid, gid), 0);
}

static int setup(void **state)
{
    fixture *f = vg_xcalloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/vg-guard-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    f->images = vg_xasprintf("%s/images", f->root);
    f->plain = vg_xasprintf("%s/plain", f->root);
    f->state = vg_xasprintf("%s/state", f->root);
    assert_int_equal(mkdir(f->images, 0755), 0);
    assert_int_equal(mkdir(f->plain, 0755), 0);
    assert_int_equal(mkdir(f->state, 0750), 0);
    assert_int_equal(chown(f->state, 64055, 64055), 0);
    assert_int_equal(mount("tmpfs", f->images, "tmpfs", 0, "mode=0755"), 0);
    assert_int_equal(chmod(f->root, 0755), 0);

    f->cfg.mode = VG_MODE_ENFORCE;
    f->cfg.shared_mounts = vg_xcalloc(3, sizeof(char *));
    f->cfg.shared_mounts[0] = vg_xstrdup(f->images);
    f->cfg.shared_mounts[1] = vg_xstrdup(f->plain);
    f->cfg.shared_fs_types = vg_xcalloc(3, sizeof(char *));
    f->cfg.shared_fs_types[0] = vg_xstrdup("9p");
    f->cfg.shared_fs_types[1] = vg_xstrdup("tmpfs");
    f->cfg.extra_roots = empty_list;
    f->cfg.probe_timeout_ms = 3000;
    f->cfg.source = vg_xstrdup("/test/virtguard.conf");

    f->qconf.user = vg_xstrdup("libvirt-qemu");
    f->qconf.group = vg_xstrdup("libvirt-qemu");
    f->qconf.dynamic_ownership = true;
    f->qconf.remember_owner = true;     /* libvirt's default */

    f->dom.name = vg_xstrdup("sbx-1");
    f->env.passwd_file = PW;
    f->env.group_file = GR;
    f->env.state_dir = f->state;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    autofree char *cmd = vg_xasprintf("umount -l '%s' 2>/dev/null; rm -rf '%s'", f->images, f->root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", f->root);
    for (size_t i = 0; i < f->dom.n_paths; i++) {
        free(f->dom.paths[i].path);
        free(f->dom.paths[i].device);
    }
    free(f->dom.paths);
    for (size_t i = 0; i < f->dom.n_seclabels; i++) {
        free(f->dom.seclabels[i].model);
        free(f->dom.seclabels[i].type);
        free(f->dom.seclabels[i].label);
    }
    free(f->dom.seclabels);
    free(f->dom.name);
    vg_strv_free(f->cfg.shared_mounts);
    vg_strv_free(f->cfg.shared_fs_types);
    free(f->cfg.source);
    free(f->qconf.user);
    free(f->qconf.group);
    free(f->qconf.source);
    free(f->images);
    free(f->plain);
    free(f->state);
    free(f);
    return 0;
}

static vg_report *run(fixture *f)
{
    vg_report *rep = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_guard_run(&f->cfg, &f->qconf, &f->dom, &f->env, &rep, &err);
    if (r < 0)
        fail_msg("vg_guard_run: %s", err ? err->msg : "?");
    return rep;
}

static void assert_one(vg_report *rep, vg_finding_kind kind, const char *needle)
{
    autofree char *text = vg_report_format(rep, NULL);
    if (rep->n != 1 || rep->v[0].kind != kind || !strstr(text, needle))
        fail_msg("expected one finding of kind %d containing \"%s\", got %zu:\n%s",
                 kind, needle, rep->n, text);
    assert_true(rep->v[0].blocking);
}

static void test_no_shared_paths(void **state)
{
    fixture *f = *state;
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, "/var/lib/libvirt/images-elsewhere/x.qcow2");
    autoreport vg_report *rep = run(f);
    assert_int_equal(rep->n_shared, 0);
    assert_int_equal(rep->n, 0);
}

static void test_all_fine(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *iso = vg_xasprintf("%s/cloud-init.iso", f->images);
    write_file(disk, 0600, 0, 0);    /* libvirt's chown works on tmpfs */
    write_file(iso, 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, iso);
    autoreport vg_report *rep = run(f);
    assert_int_equal(rep->n_shared, 2);
    if (rep->n) {
        autofree char *t = vg_report_format(rep, NULL);
        fail_msg("unexpected findings:\n%s", t);
    }
    /* the chown probe cleaned up after itself */
    autofree char *ls = vg_xasprintf("test -z \"$(ls -A '%s' | grep virtguard-probe)\"", f->images);
    assert_int_equal(system(ls), 0);
}

static void test_not_mounted(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->plain);
    write_file(disk, 0644, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf("shared mount '%s' is not mounted: '%s' is a plain directory",
                                       f->plain, f->plain);
    assert_one(rep, VG_FIND_NOT_MOUNTED, want);
    autofree char *text = vg_report_format(rep, NULL);
    assert_non_null(strstr(text, "virtguard: domain 'sbx-1': "));
    assert_non_null(strstr(text, "  mounts:\n  - location: "));
    autofree char *mp = vg_xasprintf("    mountPoint: \"%s\"", f->plain);
    assert_non_null(strstr(text, mp));
}

static void test_wrong_fstype(void **state)
{
    fixture *f = *state;
    free(f->cfg.shared_fs_types[1]);
    f->cfg.shared_fs_types[1] = NULL;           /* only 9p allowed now */
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0644, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf("shared mount '%s' is mounted as 'tmpfs'", f->images);
    assert_one(rep, VG_FIND_FSTYPE, want);
    autofree char *text = vg_report_format(rep, NULL);
    assert_non_null(strstr(text, "shared_fs_types (9p) in '/test/virtguard.conf'"));
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/jobs/sbx-1/disk.qcow2", f->images);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf("disk vda '%s' does not exist on shared mount '%s' (tmpfs)",
                                       disk, f->images);
    assert_one(rep, VG_FIND_MISSING, want);
}

/* A file name or domain name written to forge a second line of the
 * message (libvirt allows '\r' in names): shown escaped, one line each. */
static void test_hostile_names_escaped(void **state)
{
    fixture *f = *state;
    free(f->dom.name);
    f->dom.name = vg_xstrdup("sbx\r\nvirtguard: domain 'x': all fine");
    autofree char *disk = vg_xasprintf("%s/jobs/a\nvirtguard: ok \x1b[2J\\.qcow2", f->images);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    autofree char *text = vg_report_format(rep, NULL);
    assert_int_equal(rep->n, 1);
    /* one finding, one line: the only newline ends it */
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    assert_null(strchr(text, '\r'));
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "domain 'sbx\\r\\nvirtguard: domain 'x': all fine'"));
    assert_non_null(strstr(text, "/jobs/a\\nvirtguard: ok \\x1b[2J\\\\.qcow2' does not exist"));
}

/* XML the hook cannot read: the refusal still names the domain (from the
 * hook's arguments, escaped) and the raw control character. */
static void test_unreadable_xml_names_domain(void **state)
{
    (void)state;
    static const char xml[] = "<domain type='qemu'><name>x</name>"
                              "<devices><disk type='file'><source file='/a\nb'/></disk></devices>"
                              "</domain>";
    vg_guard_env env = { .domain_name = "sbx\\r1" };
    vg_verdict v;
    vg_verdict_make(TEST_DATA_DIR "/conf/lima.conf", xml, strlen(xml), "-", "prepare", &env, &v);
    assert_int_equal(v.kind, VG_VERDICT_INPUT);
    assert_non_null(strstr(v.text, "domain 'sbx\\r1': cannot read the domain XML: "));
    assert_non_null(strstr(v.text, "an attribute value holds a raw newline (LF)"));
    vg_verdict_clear(&v);
}

static void test_dac_without_relabel(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *iso = vg_xasprintf("%s/seed.iso", f->images);
    write_file(disk, 0600, 1000, 1000);
    write_file(iso, 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, iso);
    f->qconf.dynamic_ownership = false;
    autoreport vg_report *rep = run(f);
    assert_one(rep, VG_FIND_DAC,
               "QEMU will run as uid 64055 (libvirt-qemu), gid 64055 (libvirt-qemu) and cannot "
               "open it for read-write: it is owned by 1000:1000 with mode 0600, and libvirt does "
               "not relabel it (dynamic_ownership = 0 in qemu.conf)");
    autofree char *text = vg_report_format(rep, NULL);
    assert_non_null(strstr(text, "<seclabel type='static' model='dac' relabel='no'>"
                                 "<label>+1000:+64055</label></seclabel>"));
    assert_non_null(strstr(text, "'virsh edit sbx-1'"));

    /* Applying the proposed fix makes the same domain pass. */
    vg_seclabel *sl = VG_APPEND(f->dom.seclabels, f->dom.n_seclabels);
    sl->model = vg_xstrdup("dac");
    sl->type = vg_xstrdup("static");
    sl->label = vg_xstrdup("+1000:+64055");
    sl->relabel = false;
    autoreport vg_report *rep2 = run(f);
    if (rep2->n) {
        autofree char *t = vg_report_format(rep2, NULL);
        fail_msg("the proposed fix still fails:\n%s", t);
    }
}

static void test_traversal(void **state)
{
    fixture *f = *state;
    autofree char *dir = vg_xasprintf("%s/private", f->images);
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chown(dir, 1000, 1000), 0);
    write_file(disk, 0666, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf("cannot reach it: directory '%s' is owned by 1000:1000 "
                                       "with mode 0700", dir);
    assert_one(rep, VG_FIND_DAC, want);
}

static void test_static_label_state_dir(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    vg_seclabel *sl = VG_APPEND(f->dom.seclabels, f->dom.n_seclabels);
    sl->model = vg_xstrdup("dac");
    sl->type = vg_xstrdup("static");
    sl->label = vg_xstrdup("+1000:+1000");
    sl->relabel = false;
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf("cannot enter libvirt's state directory '%s' (owned by "
                                       "64055:64055, mode 0750)", f->state);
    assert_one(rep, VG_FIND_STATE_DIR, want);
    assert_non_null(strstr(rep->v[0].message, "(+1000:+64055)"));
}

/* A probe killed on a slow mount leaves its scratch file; the registry
 * lets the next probe remove it.  Only well-formed names in a directory
 * being probed are touched. */
static void test_stale_scratch_cleanup(void **state)
{
    fixture *f = *state;
    autofree char *reg = vg_xasprintf("%s/probe-scratch", f->root);
    autofree char *stale = vg_xasprintf("%s/.virtguard-probe.99999.2", f->images);
    autofree char *other = vg_xasprintf("%s/.virtguard-probe.99999.3", f->plain);
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *decoy = vg_xasprintf("%s/keep-me", f->images);
    write_file(stale, 0600, 0, 0);
    write_file(other, 0600, 0, 0);
    write_file(decoy, 0600, 0, 0);
    write_file(disk, 0600, 0, 0);
    autofree char *text = vg_xasprintf("%s\n%s\n/etc/passwd\n%s\n%s/.virtguard-probe.1.x\n",
                                       stale, other, decoy, f->images);
    assert_int_equal(vg_write_file_atomic(reg, text, strlen(text), 0600), 0);
    vg_probe_set_registry(reg);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = run(f);
    vg_probe_set_registry(NULL);
    assert_int_equal(rep->n, 0);
    assert_int_equal(access(stale, F_OK), -1);          /* removed */
    assert_int_equal(access(other, F_OK), 0);           /* not probed this time */
    assert_int_equal(access(decoy, F_OK), 0);           /* not a scratch name */
    autofree char *left = NULL;
    assert_int_equal(vg_read_file(reg, 4096, &left, NULL), 0);
    autofree char *want = vg_xasprintf("%s\n", other);
    assert_string_equal(left, want);
}

static void test_scratch_name_valid(void **state)
{
    (void)state;
    assert_true(vg_probe_scratch_name_valid("/m/.virtguard-probe.12.0"));
    assert_true(vg_probe_scratch_name_valid("/a b/.virtguard-probe.1.23"));
    const char *bad[] = {
        "/etc/passwd", "relative/.virtguard-probe.1.2", "/m/.virtguard-probe.",
        "/m/.virtguard-probe.1", "/m/.virtguard-probe.1.", "/m/.virtguard-probe..1",
        "/m/.virtguard-probe.1.2.3", "/m/.virtguard-probe.1.x", "/m/../.virtguard-probe.1.2",
        "/m/./.virtguard-probe.1.2", "/m//.virtguard-probe.1.2", "/m/x.virtguard-probe.1.2",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++)
        if (vg_probe_scratch_name_valid(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
}

static void test_unknown_user(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    free(f->qconf.user);
    f->qconf.user = vg_xstrdup("qemu-nobody");
    autoreport vg_report *rep = run(f);
    assert_one(rep, VG_FIND_IDENTITY, "user 'qemu-nobody' does not exist");
}

/* The probe's remembered-owner test on a real tmpfs, as root: chown works
 * and trusted.* extended attributes stick (what libvirt needs). */
static void test_probe_remember_tmpfs(void **state)
{
    fixture *f = *state;
    vg_probe_req req = { .op = VG_PROBE_CHOWN, .path = f->images, .uid = 64055, .gid = 64055 };
    vg_probe_res res;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_probe_run(&req, 1, 3000, &res, NULL, &err), 0);
    assert_int_equal(res.chown, VG_CHOWN_WORKS);
    assert_int_equal(res.xattr, VG_XATTR_KEPT);
    /* nothing left behind */
    autofree char *ls = vg_xasprintf("test -z \"$(ls -A '%s')\"", f->images);
    assert_int_equal(system(ls), 0);
}

/* Stand for a share that cannot hold trusted.* xattrs (virtiofs, bindfs
 * --xattr-none): the real probe ran; only its xattr answer is replaced. */
static void xattr_unsupported(const vg_probe_req *req, vg_probe_res *res, size_t n, void *opaque)
{
    vg_xattr_result *want = opaque;
    for (size_t i = 0; i < n; i++)
        if (req[i].op == VG_PROBE_CHOWN && res[i].chown == VG_CHOWN_WORKS) {
            res[i].xattr = *want;
            res[i].xattr_err = *want == VG_XATTR_SET_FAILS ? EPERM : EOPNOTSUPP;
        }
}

static void add_backing(fixture *f, const char *path)
{
    add_path(f, VG_ROLE_BACKING, VG_ACCESS_R, path);
    f->dom.paths[f->dom.n_paths - 1].depth = 1;
}

static void add_static_label(fixture *f, const char *label)
{
    vg_seclabel *sl = VG_APPEND(f->dom.seclabels, f->dom.n_seclabels);
    sl->model = vg_xstrdup("dac");
    sl->type = vg_xstrdup("static");
    sl->label = vg_xstrdup(label);
    sl->relabel = false;
}

static const vg_finding *only_warning(const vg_report *rep)
{
    autofree char *text = vg_report_format(rep, NULL);
    if (rep->n != 1 || rep->v[0].kind != VG_FIND_OWNER_LOST)
        fail_msg("expected one owner warning, got %zu:\n%s", rep->n, text);
    assert_false(rep->v[0].blocking);
    assert_false(vg_report_blocking(rep));
    return &rep->v[0];
}

static void test_owner_lost_no_xattrs(void **state)
{
    fixture *f = *state;
    vg_xattr_result x = VG_XATTR_UNSUPPORTED;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *base = vg_xasprintf("%s/base.qcow2", f->images);
    write_file(disk, 0600, 1000, 1000);
    write_file(base, 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_backing(f, base);
    f->env.probe_edit = xattr_unsupported;
    f->env.probe_opaque = &x;
    autoreport vg_report *rep = run(f);
    const vg_finding *w = only_warning(rep);
    autofree char *want = vg_xasprintf(
        "WARNING: libvirt will chown files on shared mount '%s' (tmpfs) to QEMU's 64055:64055 at "
        "start, and cannot give their owners back at stop: this mount cannot hold the extended "
        "attributes libvirt records the owner in ('trusted.libvirt.security.dac': Operation not "
        "supported), so libvirt silently restores files to root:root. After the domain stops, "
        "disk vda '%s' (now 1000:1000) will be owned by 0:0; backing vda '%s' (now 1000:1000) "
        "stays owned by 64055:64055 (libvirt never restores read-only or backing layers): the "
        "images' writer can no longer rewrite them, after every stop. virtguard does not refuse "
        "the start for this. Fix: run this domain's QEMU as the files' owner, keeping QEMU's "
        "group, so that libvirt chowns nothing ('virsh edit sbx-1', before </domain>): "
        "<seclabel type='static' model='dac' relabel='no'><label>+1000:+64055</label>"
        "</seclabel>; or serve the share so that it keeps trusted.* extended attributes (as "
        "root), which brings back the owner of writable files (read-only and backing layers "
        "still stay QEMU's).", f->images, disk, base);
    assert_string_equal(w->message, want);

    /* The offered label was checked: with it the same facts give nothing. */
    add_static_label(f, "+1000:+64055");
    autoreport vg_report *rep2 = run(f);
    if (rep2->n) {
        autofree char *t = vg_report_format(rep2, NULL);
        fail_msg("the proposed label still draws findings:\n%s", t);
    }
}

static void test_owner_lost_xattr_refused(void **state)
{
    fixture *f = *state;
    vg_xattr_result x = VG_XATTR_SET_FAILS;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    f->env.probe_edit = xattr_unsupported;
    f->env.probe_opaque = &x;
    autoreport vg_report *rep = run(f);
    const vg_finding *w = only_warning(rep);
    assert_non_null(strstr(w->message, "this mount refuses the extended attribute libvirt "
                                       "records the owner in ('trusted.libvirt.security.dac': "
                                       "Operation not permitted): libvirt then fails the start "
                                       "with 'Unable to set XATTR ...'"));
    assert_non_null(strstr(w->message, "will chown a file on shared mount"));
    assert_non_null(strstr(w->message, "<label>+1000:+64055</label>"));
}

/* remember_owner = 0: no xattr is needed to lose the owner. */
static void test_owner_lost_remember_off(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    f->qconf.remember_owner = false;
    free(f->qconf.source);
    f->qconf.source = vg_xstrdup("/etc/libvirt/qemu.conf");
    autoreport vg_report *rep = run(f);
    const vg_finding *w = only_warning(rep);
    assert_non_null(strstr(w->message, "'/etc/libvirt/qemu.conf' sets remember_owner = 0, so "
                                       "libvirt records no owner and restores files to "
                                       "root:root"));
    assert_non_null(strstr(w->message, "and set remember_owner = 1 in qemu.conf"));
}

/* No warning where nothing is lost: the owner is remembered (real tmpfs),
 * the backing file is QEMU's already, a disk says relabel='no', or the
 * domain does not relabel. */
static void test_owner_not_lost(void **state)
{
    fixture *f = *state;
    vg_xattr_result x = VG_XATTR_UNSUPPORTED;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *base = vg_xasprintf("%s/base.qcow2", f->images);
    autofree char *iso = vg_xasprintf("%s/seed.iso", f->images);
    write_file(disk, 0600, 1000, 1000);
    write_file(base, 0644, 64055, 64055);
    write_file(iso, 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_backing(f, base);
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, iso);
    f->dom.paths[f->dom.n_paths - 1].relabel = false;
    autoreport vg_report *rep = run(f);
    assert_int_equal(rep->n, 0);

    f->env.probe_edit = xattr_unsupported;          /* now the overlay's owner is lost */
    f->env.probe_opaque = &x;
    autoreport vg_report *rep2 = run(f);
    const vg_finding *w = only_warning(rep2);
    assert_null(strstr(w->message, base));
    assert_null(strstr(w->message, iso));

    f->qconf.dynamic_ownership = false;             /* libvirt chowns nothing */
    f->dom.paths[0].relabel = true;
    write_file(disk, 0666, 1000, 1000);
    autoreport vg_report *rep3 = run(f);
    assert_int_equal(rep3->n, 0);
}

/* A label is offered only when it works: root-owned files get none. */
static void test_owner_lost_no_root_label(void **state)
{
    fixture *f = *state;
    vg_xattr_result x = VG_XATTR_UNSUPPORTED;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    f->env.probe_edit = xattr_unsupported;
    f->env.probe_opaque = &x;
    autoreport vg_report *rep = run(f);
    const vg_finding *w = only_warning(rep);
    assert_null(strstr(w->message, "<seclabel"));
    assert_non_null(strstr(w->message, "virtguard offers no per-domain label here: the files are "
                                       "owned by root already"));

    /* nor when the owner could not reach a file with the label: QEMU's own
     * user may enter the directory, uid 1000 with QEMU's group may not */
    autofree char *dir = vg_xasprintf("%s/jobs", f->images);
    autofree char *disk2 = vg_xasprintf("%s/overlay.qcow2", dir);
    assert_int_equal(mkdir(dir, 0750), 0);
    assert_int_equal(chown(dir, 64055, 1000), 0);
    write_file(disk2, 0600, 1000, 1000);
    free(f->dom.paths[0].path);
    f->dom.paths[0].path = vg_xstrdup(disk2);
    autoreport vg_report *rep2 = run(f);
    w = only_warning(rep2);
    assert_null(strstr(w->message, "<seclabel"));
    autofree char *why = vg_xasprintf("with label '+1000:+64055' QEMU could not reach '%s' "
                                      "(directory '%s' is owned by 64055:1000 with mode 0750)",
                                      disk2, dir);
    assert_non_null(strstr(w->message, why));
}

/* Through the verdict, as the hook sees it: the warning only at `start`
 * (once per start), an `allowed with a warning` syslog line with hostile
 * bytes of the domain's name and paths escaped, and no refusal. */
static void test_owner_lost_verdict(void **state)
{
    fixture *f = *state;
    vg_xattr_result x = VG_XATTR_UNSUPPORTED;
    autofree char *dir = vg_xasprintf("%s/a\nb", f->images);
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", dir);
    autofree char *conf = vg_xasprintf("%s/virtguard.conf", f->root);
    autofree char *qconf = vg_xasprintf("%s/qemu.conf", f->root);
    autofree char *conf_text = vg_xasprintf("mode = \"enforce\"\nshared_mounts = [ \"%s\" ]\n"
                                            "shared_fs_types = [ \"tmpfs\" ]\n"
                                            "qemu_conf = \"%s\"\n", f->images, qconf);
    autofree char *xml = vg_xasprintf(
        "<domain type='qemu'><name>evil&#10;name</name><memory>65536</memory><os><type>hvm"
        "</type></os><devices><disk type='file' device='disk'><source file='%s/a&#10;b/"
        "overlay.qcow2'/><target dev='vda'/></disk></devices></domain>", f->images);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_file(disk, 0600, 1000, 1000);
    assert_int_equal(vg_write_file_atomic(conf, conf_text, strlen(conf_text), 0644), 0);
    assert_int_equal(vg_write_file_atomic(qconf, "", 0, 0644), 0);
    f->env.probe_edit = xattr_unsupported;
    f->env.probe_opaque = &x;

    vg_verdict v;
    vg_verdict_make(conf, xml, strlen(xml), "-", "prepare", &f->env, &v);
    assert_int_equal(v.kind, VG_VERDICT_ALLOW);
    assert_false(v.warns);
    assert_string_equal(v.text, "");
    assert_non_null(strstr(v.log_line, "prepare: allowed: 1 shared path(s)"));
    vg_verdict_clear(&v);

    vg_verdict_make(conf, xml, strlen(xml), "-", "start", &f->env, &v);
    assert_int_equal(v.kind, VG_VERDICT_ALLOW);
    assert_int_equal(vg_verdict_hook_status(&v), 0);
    assert_true(v.warns);
    assert_non_null(strstr(v.text, "WARNING: libvirt will chown a file on shared mount"));
    assert_null(strchr(v.log_line, '\n'));
    assert_non_null(strstr(v.log_line, "domain 'evil\\nname' start: allowed with a warning: "
                                       "1 shared path(s) checked in "));
    assert_non_null(strstr(v.log_line, "/a\\nb/overlay.qcow2' (now 1000:1000) will be owned "
                                       "by 0:0"));
    vg_verdict_clear(&v);
}

/* A share where root cannot create files (a virtiofsd in a user namespace
 * that maps only the owner's uid answers EINVAL): the real stand-in is a
 * read-only tmpfs (EROFS); the real probe runs and says so. */
static void test_probe_no_create_readonly(void **state)
{
    fixture *f = *state;
    vg_probe_req req = { .op = VG_PROBE_CHOWN, .path = f->images, .uid = 64055, .gid = 64055 };
    vg_probe_res res;
    autoerror vg_error *err = NULL;
    assert_int_equal(mount(NULL, f->images, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    assert_int_equal(vg_probe_run(&req, 1, 3000, &res, NULL, &err), 0);
    assert_true(res.answered);
    assert_int_equal(res.chown, VG_CHOWN_NO_CREATE);
    assert_int_equal(res.err, EROFS);
}

/* The precise verdict there: the overlay QEMU cannot write is refused with
 * the cause; the ISO and the base, readable by the mode bits, are fine. */
static void no_create_einval(const vg_probe_req *req, vg_probe_res *res, size_t n, void *opaque)
{
    (void)opaque;
    for (size_t i = 0; i < n; i++)
        if (req[i].op == VG_PROBE_CHOWN) {
            assert_int_equal(res[i].chown, VG_CHOWN_NO_CREATE);     /* the real answer */
            res[i].err = EINVAL;                                    /* virtiofsd's */
        }
}

static void test_no_create_overlay_refused(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    autofree char *base = vg_xasprintf("%s/base.qcow2", f->images);
    autofree char *iso = vg_xasprintf("%s/cidata.iso", f->images);
    write_file(disk, 0644, 1000, 1000);
    write_file(base, 0644, 1000, 1000);
    write_file(iso, 0644, 1000, 1000);
    assert_int_equal(mount(NULL, f->images, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_backing(f, base);
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, iso);
    f->env.probe_edit = no_create_einval;
    autoreport vg_report *rep = run(f);
    autofree char *want = vg_xasprintf(
        "disk vda '%s': QEMU will run as uid 64055 (libvirt-qemu), gid 64055 (libvirt-qemu) and "
        "cannot open it for read-write: it is owned by 1000:1000 with mode 0644, and libvirt "
        "cannot chown it to 64055:64055: root cannot even create a file on this tmpfs mount "
        "(Invalid argument; as with a virtiofsd in a user namespace that maps only the share "
        "owner's uid), so QEMU gets only what the mode bits give its user. ", disk);
    assert_int_equal(rep->n, 1);
    assert_int_equal(rep->v[0].kind, VG_FIND_DAC);
    assert_true(rep->v[0].blocking);
    if (strncmp(rep->v[0].message, want, strlen(want)) != 0)
        fail_msg("got:\n%s\nwant prefix:\n%s", rep->v[0].message, want);
    assert_non_null(strstr(rep->v[0].message, "<label>+1000:+64055</label>"));
    assert_non_null(strstr(rep->v[0].message, "virtiofs: a virtiofsd running as root"));

    /* read-only files alone (an ISO, a base) are fine there */
    f->dom.paths[0].access = VG_ACCESS_R;
    f->dom.paths[0].readonly = true;
    autoreport vg_report *rep2 = run(f);
    if (rep2->n) {
        autofree char *t = vg_report_format(rep2, NULL);
        fail_msg("read-only files drew findings:\n%s", t);
    }
}

/* The DAC refusal's fix is checked the same way: root-owned files get no
 * label that would run QEMU as root. */
static void test_dac_fix_not_root(void **state)
{
    fixture *f = *state;
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", f->images);
    write_file(disk, 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    f->qconf.dynamic_ownership = false;
    autoreport vg_report *rep = run(f);
    assert_one(rep, VG_FIND_DAC, "it is owned by 0:0 with mode 0600, and libvirt does not "
                                 "relabel it");
    assert_null(strstr(rep->v[0].message, "<label>"));
    assert_non_null(strstr(rep->v[0].message, "Give the files one owner"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_shared_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_mounted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fstype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names_escaped, setup, teardown),
        cmocka_unit_test(test_unreadable_xml_names_domain),
        cmocka_unit_test_setup_teardown(test_dac_without_relabel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traversal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_label_state_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_scratch_cleanup, setup, teardown),
        cmocka_unit_test(test_scratch_name_valid),
        cmocka_unit_test_setup_teardown(test_probe_remember_tmpfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_no_xattrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_xattr_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_remember_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_not_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_no_root_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dac_fix_not_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_no_create_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_create_overlay_refused, setup, teardown),
    };
    if (geteuid() != 0) {
        printf("test-guard: needs root for mounts; skipped\n");
        return 77;
    }
    /* Private mount namespace: nothing mounted here is seen by the host. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("test-guard: cannot create a private mount namespace (%s); skipped\n",
               strerror(errno));
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
