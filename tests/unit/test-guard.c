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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_shared_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_mounted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fstype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dac_without_relabel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traversal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_label_state_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_scratch_cleanup, setup, teardown),
        cmocka_unit_test(test_scratch_name_valid),
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
