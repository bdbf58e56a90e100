/* Tests for lib/admin/doctor.c against fake roots: a mkdtemp directory standing
 * in for /etc, /proc and /sys, with mountinfo fixtures from tests/data.
 * The mount probe is off (no real shared mount here) except where a test
 * says otherwise; the judgement of probe results is tested on facts. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include "doctor.h"
#include "helper-profile.h"

typedef struct fake {
    char root[64];
} fake;

static void put(const fake *f, const char *rel, const char *text, mode_t mode)
{
    char *path = vg_xasprintf("%s%s", f->root, rel);
    for (char *p = path + strlen(f->root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(path, 0755);
            *p = '/';
        }
    }
    assert_int_equal(vg_write_file_atomic(path, text, strlen(text), mode), 0);
    assert_int_equal(chmod(path, mode), 0);
    free(path);
}

static void put_file(const fake *f, const char *rel, const char *src)
{
    char *text = NULL;
    assert_int_equal(vg_read_file(src, 1 << 20, &text, NULL), 0);
    put(f, rel, text, 0644);
    free(text);
}

static void set_mtime(const fake *f, const char *rel, long long t)
{
    char *path = vg_xasprintf("%s%s", f->root, rel);
    struct utimbuf ut = { .actime = (time_t)t, .modtime = (time_t)t };
    assert_int_equal(utime(path, &ut), 0);
    free(path);
}

/* libvirtd pid 812 started at btime 1700000000 + 5000 ticks / CLK_TCK. */
static long long daemon_start(void)
{
    return 1700000000LL + 5000 / sysconf(_SC_CLK_TCK);
}

/* The helper's roots include, as 'virtguard apply' writes it from the
 * fake root's config. */
static void put_roots(const fake *f)
{
    char *conf = vg_xasprintf("%s" SYSCONFDIR "/virtguard/virtguard.conf", f->root);
    vg_config *cfg = NULL;
    char *text = NULL;
    assert_int_equal(vg_config_load(conf, &cfg, NULL), 0);
    assert_int_equal(vg_helper_roots_render(cfg, &text, NULL), 0);
    put(f, "/etc/apparmor.d/" VG_HELPER_ROOTS_INCLUDE, text, 0644);
    vg_config_free(cfg);
    free(text);
    free(conf);
}

static int setup(void **state)
{
    fake *f = vg_xcalloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/vg-doctor-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    put(f, SYSCONFDIR "/virtguard/virtguard.conf",
        "mode = \"enforce\"\nshared_mounts = [ \"/var/lib/libvirt/images\" ]\n"
        "path_map = [ \"/Users/dev/images=/var/lib/libvirt/images\" ]\n"
        "qemu_conf = \"" LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf\"\n"
        "probe_timeout_ms = 60000\n", 0644);    /* valgrind is slow */
    put(f, LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf", "# Debian default\n", 0644);
    put_file(f, "/etc/passwd", TEST_DATA_DIR "/ids/passwd");
    put_file(f, "/etc/group", TEST_DATA_DIR "/ids/group");
    put(f, "/etc/libvirt/hooks/qemu.d/virtguard", "#!/bin/true\n", 0755);
    set_mtime(f, "/etc/libvirt/hooks/qemu.d/virtguard", daemon_start() - 100);
    put(f, "/etc/fstab", "/dev/vda1 / ext4 defaults 0 1\n"
                         "lima-8b1e03c6f4 /var/lib/libvirt/images 9p "
                         "rw,trans=virtio,version=9p2000.L,msize=131072,cache=mmap,nofail 0 0\n",
        0644);
    put_file(f, "/proc/self/mountinfo", TEST_DATA_DIR "/mountinfo/lima-9p.mountinfo");
    put(f, "/proc/stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n", 0644);
    put(f, "/proc/812/comm", "libvirtd\n", 0644);
    put(f, "/proc/812/stat", "812 (libvirtd) S 1 812 812 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 "
                             "18 0 5000 1000 100\n", 0644);
    put(f, "/proc/812/attr/current", "/usr/sbin/libvirtd (enforce)\n", 0644);
    put(f, "/proc/900/comm", "bash\n", 0644);
    put(f, "/sys/module/apparmor/parameters/enabled", "Y\n", 0644);
    put(f, "/sys/kernel/security/apparmor/profiles",
        "virtguard-helper (enforce)\nlibvirtd (enforce)\n", 0644);
    put(f, "/usr/sbin/virtguard-helper", "#!/bin/true\n", 0755);
    put(f, "/etc/apparmor.d/usr.sbin.virtguard-helper", "profile x {}\n", 0644);
    put_roots(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake *f = *state;
    char *cmd = vg_xasprintf("rm -rf '%s'", f->root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f);
    return 0;
}

/* NULL: as detected (a source build; systemd when the fake root has
 * /run/systemd/system). */
static const vg_install *install_kind;

static vg_checklist *run_on(const fake *f, bool probe, const char *machine)
{
    vg_doctor_env env = {
        .install = install_kind,
        .machine = machine,
        .root = f->root,
        .hooks_dir = "/etc/libvirt/hooks",
        .apparmor_dir = "/etc/apparmor.d",
        .helper_path = "/usr/sbin/virtguard-helper",
        .probe_mounts = probe,
    };
    vg_doctor_facts facts;
    vg_doctor_gather(&env, &facts);
    vg_checklist *l = vg_doctor_judge(&facts);
    vg_doctor_facts_clear(&facts);
    return l;
}

/* The fixtures are an x86_64 host whatever runs the test (make check-arm64). */
static vg_checklist *run(const fake *f, bool probe)
{
    return run_on(f, probe, "x86_64");
}

/* The fake root's mounts: /etc/fstab becomes `fstab` (NULL: as it is) and
 * its mountinfo tests/data/mountinfo/`mountinfo`.mountinfo (NULL: as it is);
 * then doctor's report, without the probe. */
static vg_checklist *run_with_mounts(const fake *f, const char *fstab, const char *mountinfo)
{
    if (fstab)
        put(f, "/etc/fstab", fstab, 0644);
    if (mountinfo) {
        char *src = vg_xasprintf(TEST_DATA_DIR "/mountinfo/%s.mountinfo", mountinfo);
        put_file(f, "/proc/self/mountinfo", src);
        free(src);
    }
    return run(f, false);
}

static void dump(const vg_checklist *l)
{
    char *t = vg_checklist_format(l, false);
    fputs(t, stderr);
    free(t);
}

static void test_healthy(void **state)
{
    vg_checklist *l = run(*state, false);
    if (vg_checklist_exit_status(l) != VG_EXIT_OK)
        dump(l);
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_OK);
    assert_non_null(vg_checklist_find(l, "hook", VG_CHECK_PASS));
    assert_null(vg_checklist_find(l, "hook", VG_CHECK_FAIL));
    const vg_check *c = vg_checklist_find(l, "apparmor", VG_CHECK_PASS);
    assert_non_null(c);
    /* the 9p share on Lima: remember_owner is worth a warning */
    c = vg_checklist_find(l, "qemu.conf", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->fix, "remember_owner = 0"));
    assert_non_null(vg_checklist_find(l, "host", VG_CHECK_INFO));
    vg_checklist_free(l);
}

static void test_hook_newer_than_daemon(void **state)
{
    fake *f = *state;
    set_mtime(f, "/etc/libvirt/hooks/qemu.d/virtguard", daemon_start() + 60);
    vg_checklist *l = run(f, false);
    const vg_check *c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "has not seen the hook"));
    assert_non_null(strstr(c->fix, "kill -HUP 812"));
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_PROBLEMS);
    vg_checklist_free(l);
}

/* A root added to virtguard.conf and not applied: doctor names the stale
 * include (the helper's own check) and the one command; applied: PASS. */
static void test_roots_stale(void **state)
{
    fake *f = *state;
    vg_checklist *l = run(f, false);
    assert_null(vg_checklist_find(l, "apparmor", VG_CHECK_FAIL));
    vg_checklist_free(l);

    put(f, SYSCONFDIR "/virtguard/virtguard.conf",
        "shared_mounts = [ \"/var/lib/libvirt/images\", \"/srv/vm\" ]\n"
        "qemu_conf = \"" LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf\"\n", 0644);
    l = run(f, false);
    const vg_check *c = vg_checklist_find(l, "apparmor", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_string_equal(c->title, "the helper's roots include is stale");
    assert_string_equal(c->fix, "virtguard apply");
    char *inc = vg_xasprintf("%s/etc/apparmor.d/virtguard/helper-roots' is out of date", f->root);
    assert_non_null(strstr(c->detail, inc));
    free(inc);
    vg_checklist_free(l);

    put_roots(f);
    l = run(f, false);
    assert_null(vg_checklist_find(l, "apparmor", VG_CHECK_FAIL));
    vg_checklist_free(l);
}

/* The fixes fit the install: a package (dpkg's file list) under systemd is
 * told to reinstall the package and 'systemctl reload'; a source install
 * without systemd 'make install' and the daemon's pidfile. */
static void test_fixes_fit_install(void **state)
{
    fake *f = *state;
    char *hook = vg_xasprintf("%s/etc/libvirt/hooks/qemu.d/virtguard", f->root);
    assert_int_equal(chmod(hook, 0644), 0);
    vg_checklist *l = run(f, false);
    const vg_check *c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_string_equal(c->fix, "chmod 0755 '/etc/libvirt/hooks/qemu.d/virtguard', then "
                                "kill -HUP \"$(cat /run/libvirtd.pid)\".");
    vg_checklist_free(l);
    assert_int_equal(unlink(hook), 0);
    l = run(f, false);
    c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_string_equal(c->fix, "'make install' from the source tree (or install -m 0755 "
                                "hooks/virtguard-hook '/etc/libvirt/hooks/qemu.d/virtguard'), "
                                "then make libvirtd see it: kill -HUP \"$(cat /run/libvirtd.pid)\".");
    vg_checklist_free(l);

    static const vg_install package = { .package = true, .systemd = true };
    install_kind = &package;
    l = run(f, false);
    c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_string_equal(c->fix, "apt-get install --reinstall virtguard (its postinst puts the "
                                "hook in place and makes libvirtd see it).");
    vg_checklist_free(l);
    put(f, "/etc/libvirt/hooks/qemu.d/virtguard", "#!/bin/true\n", 0755);
    set_mtime(f, "/etc/libvirt/hooks/qemu.d/virtguard", daemon_start() + 60);
    l = run(f, false);
    c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_string_equal(c->fix, "systemctl reload libvirtd (a restart also does it).");
    vg_checklist_free(l);
    put(f, LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf", "security_driver = \"none\"\n", 0644);
    l = run(f, false);
    c = vg_checklist_find(l, "qemu.conf", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->fix, "(" DOCDIR "/migrating-off-security-driver-none.md)"));
    vg_checklist_free(l);
    install_kind = NULL;
    /* systemd as PID 1 is read from the (fake) root */
    char *sd = vg_xasprintf("%s/run/systemd/system", f->root);
    put(f, "/run/systemd/x", "", 0644);
    assert_int_equal(mkdir(sd, 0755), 0);
    vg_install in = vg_install_detect(f->root);
    assert_true(in.systemd);
    assert_int_equal(in.package, VG_INSTALL_PACKAGE);
    free(sd);
    free(hook);
}

static void test_hook_symlink_and_mode(void **state)
{
    fake *f = *state;
    char *hook = vg_xasprintf("%s/etc/libvirt/hooks/qemu.d/virtguard", f->root);
    assert_int_equal(chmod(hook, 0644), 0);
    vg_checklist *l = run(f, false);
    const vg_check *c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "not executable"));
    vg_checklist_free(l);

    assert_int_equal(unlink(hook), 0);
    assert_int_equal(symlink("/usr/lib/virtguard/hook", hook), 0);
    l = run(f, false);
    c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "symbolic link"));
    assert_non_null(strstr(c->fix, "install -m 0755 '/usr/lib/virtguard/hook'"));
    vg_checklist_free(l);

    assert_int_equal(unlink(hook), 0);
    l = run(f, false);
    c = vg_checklist_find(l, "hook", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "is not installed"));
    vg_checklist_free(l);
    free(hook);
}

static void test_mount_missing_lima(void **state)
{
    fake *f = *state;
    vg_checklist *l = run_with_mounts(f, NULL, "lima-9p-missing");
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "'/var/lib/libvirt/images' is not mounted"));
    assert_non_null(strstr(c->detail, "/etc/fstab line 2 mounts 'lima-8b1e03c6f4'"));
    assert_non_null(strstr(c->detail, "nofail"));
    assert_non_null(strstr(c->fix, "mounts:\n- location: \"/Users/dev/images\"\n"
                                   "  mountPoint: \"/var/lib/libvirt/images\"\n"
                                   "  writable: true"));
    vg_checklist_free(l);
}

/* A Lima guest made before the tag rename: mount0, mount1 ... tags, no
 * "lima-" anywhere.  The fix is still the lima.yaml lines. */
static void test_mount_missing_old_lima_tags(void **state)
{
    fake *f = *state;
    vg_checklist *l = run_with_mounts(f, "/dev/vda1 / ext4 defaults 0 1\n"
                                         "mount0 /Users/dev 9p rw,trans=virtio,version=9p2000.L,"
                                         "nofail 0 0\n"
                                         "mount1 /var/lib/libvirt/images 9p rw,trans=virtio,"
                                         "version=9p2000.L,msize=131072,nofail 0 0\n",
                                      "lima-mount0-missing");
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->detail, "/etc/fstab line 3 mounts 'mount1'"));
    assert_non_null(strstr(c->fix, "this is a Lima guest: declare it in lima.yaml"));
    assert_non_null(strstr(c->fix, "mounts:\n- location: \"/Users/dev/images\"\n"
                                   "  mountPoint: \"/var/lib/libvirt/images\"\n"));
    assert_null(strstr(c->fix, "'mount /var"));
    const vg_check *info = vg_checklist_find(l, "host", VG_CHECK_INFO);
    assert_non_null(info);
    assert_string_equal(info->title, "this is a Lima guest (mountN mount tags (Lima before the "
                                     "tag rename))");
    vg_checklist_free(l);
}

/* Only /mnt/lima-cidata says Lima (mounts from reverse-sshfs are in no
 * fstab, and this one is down). */
static void test_mount_missing_lima_cidata(void **state)
{
    fake *f = *state;
    vg_checklist *l = run_with_mounts(f, "/dev/vda1 / ext4 defaults 0 1\n",
                                      "lima-cidata-missing");
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->fix, "this is a Lima guest: declare it in lima.yaml"));
    vg_checklist_free(l);
}

/* Lima with mountType reverse-sshfs: fuse.sshfs from ":DIR", allowed by
 * shared_fs_types. */
static void test_reverse_sshfs(void **state)
{
    fake *f = *state;
    put(f, SYSCONFDIR "/virtguard/virtguard.conf",
        "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n"
        "shared_fs_types = [ \"fuse.sshfs\" ]\n"
        "qemu_conf = \"" LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf\"\n", 0644);
    vg_checklist *l = run_with_mounts(f, "/dev/vda1 / ext4 defaults 0 1\n",
                                      "lima-reverse-sshfs");
    assert_null(vg_checklist_find(l, "mount", VG_CHECK_FAIL));
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_PASS);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "fuse.sshfs, source ':/Users/dev/images'"));
    const vg_check *info = vg_checklist_find(l, "host", VG_CHECK_INFO);
    assert_non_null(info);
    assert_string_equal(info->title, "this is a Lima guest (a reverse-sshfs mount)");
    vg_checklist_free(l);
}

/* Not a Lima guest (an ordinary sshfs, an ext4 whose source happens to be
 * called mount0): the fix is an fstab line, or mounting the fstab entry --
 * never a bare 'mount DIR' that has nothing to mount. */
static void test_mount_missing_plain_host(void **state)
{
    fake *f = *state;
    vg_checklist *l = run_with_mounts(f, "/dev/vda1 / ext4 defaults 0 1\n", "plain-missing");
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_null(vg_checklist_find(l, "host", VG_CHECK_INFO));
    assert_string_equal(c->fix, "add it to /etc/fstab, e.g. the line\n"
                                "  TAG /var/lib/libvirt/images 9p "
                                "trans=virtio,version=9p2000.L,msize=131072,nofail 0 0\n"
                                "(TAG is the share's mount tag), then run 'mount "
                                "/var/lib/libvirt/images' and check with 'findmnt "
                                "/var/lib/libvirt/images' before starting domains.");
    vg_checklist_free(l);

    l = run_with_mounts(f, "/dev/vda1 / ext4 defaults 0 1\n"
                           "images /var/lib/libvirt/images virtiofs nofail 0 0\n", NULL);
    c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_string_equal(c->fix, "mount it with 'mount /var/lib/libvirt/images' (/etc/fstab line "
                                "2 has its entry) and check with 'findmnt "
                                "/var/lib/libvirt/images' before starting domains; if the mount "
                                "fails, 'dmesg' says why.");
    vg_checklist_free(l);
}

static void test_shadow_directory(void **state)
{
    /* The fake mountinfo says 9p at /var/lib/libvirt/images, but in the
     * fake root that is a plain directory on the same device as its parent:
     * exactly a shadow directory, seen by the real probe child. */
    fake *f = *state;
    put(f, "/var/lib/libvirt/images/.keep", "", 0644);
    vg_checklist *l = run(f, true);
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    bool shadow = c && strstr(c->title, "shadow directory");
    if (!shadow)
        dump(l);
    vg_checklist_free(l);       /* before asserting: no leak when it fails */
    assert_true(shadow);
}

static void test_config_and_qemu_conf(void **state)
{
    fake *f = *state;
    put(f, SYSCONFDIR "/virtguard/virtguard.conf", "mode = \"dev\"\nshared_mounts = []\n", 0644);
    put(f, LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf", "security_driver = \"none\"\nuser = \"root\"\n"
                                     "dynamic_ownership = 0\n", 0644);
    vg_checklist *l = run(f, false);
    /* dev mode: a WARN on every run, and "none" is only a WARN */
    const vg_check *c = vg_checklist_find(l, "config", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "dev mode is ON"));
    assert_null(vg_checklist_find(l, "qemu.conf", VG_CHECK_FAIL));
    bool none = false, root = false, dyn = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].topic, "qemu.conf") || l->v[i].status != VG_CHECK_WARN)
            continue;
        none |= strstr(l->v[i].title, "security_driver = \"none\"") != NULL;
        root |= strstr(l->v[i].title, "QEMU runs as root") != NULL;
        dyn |= strstr(l->v[i].title, "dynamic_ownership = 0") != NULL;
    }
    assert_true(none && root && dyn);
    vg_checklist_free(l);

    /* enforce mode: security_driver = "none" fails */
    put(f, SYSCONFDIR "/virtguard/virtguard.conf", "shared_mounts = []\n", 0644);
    l = run(f, false);
    c = vg_checklist_find(l, "qemu.conf", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "security_driver = \"none\" (line 1)"));
    vg_checklist_free(l);

    /* a broken config: FAIL naming the line; the rest still runs */
    put(f, SYSCONFDIR "/virtguard/virtguard.conf", "mode = \"strict\"\n", 0644);
    l = run(f, false);
    c = vg_checklist_find(l, "config", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->detail, ":1: key 'mode'"));
    assert_non_null(vg_checklist_find(l, "hook", VG_CHECK_PASS));
    vg_checklist_free(l);
}

/* Run as another user (as doctor often is), qemu.conf (0600 root on
 * Debian) cannot be read: one FAIL naming it, no PASS lines about settings
 * it never read, and the report is incomplete (exit 2). */
static bool unreadable_report_ok(const fake *f)
{
    vg_checklist *l = run(f, false);
    bool ok = true;
    const vg_check *c = vg_checklist_find(l, "qemu.conf", VG_CHECK_FAIL);
    ok &= c && strstr(c->title, "/libvirt/qemu.conf' could not be read") != NULL;
    ok &= c && c->fix && strstr(c->fix, "as root") != NULL;
    ok &= vg_checklist_find(l, "qemu.conf", VG_CHECK_PASS) == NULL;
    ok &= vg_checklist_find(l, "qemu.conf", VG_CHECK_WARN) == NULL;
    ok &= vg_checklist_exit_status(l) == VG_EXIT_CANNOT_RUN;
    ok &= l->unread && strstr(l->unread[0], "Permission denied") != NULL;
    char *json = vg_checklist_json(l);
    ok &= strstr(json, "\"exit\":2,") != NULL;
    if (!ok)
        dump(l);
    free(json);
    vg_checklist_free(l);
    return ok;
}

static void test_qemu_conf_unreadable(void **state)
{
    fake *f = *state;
    put(f, LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf", "user = \"root\"\n", 0600);
    assert_int_equal(chmod(f->root, 0755), 0);
    if (geteuid() != 0) {
        assert_true(unreadable_report_ok(f));
        return;
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        _exit(unreadable_report_ok(f) ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* as root the same file is read and judged */
    vg_checklist *l = run(f, false);
    assert_null(l->unread);
    assert_non_null(vg_checklist_find(l, "qemu.conf", VG_CHECK_WARN));
    vg_checklist_free(l);
}

static void test_no_apparmor(void **state)
{
    fake *f = *state;
    char *p = vg_xasprintf("%s/sys", f->root);
    char *cmd = vg_xasprintf("rm -rf '%s' '%s/proc/812/attr' '%s/usr/sbin'", p, f->root, f->root);
    assert_int_equal(system(cmd), 0);
    vg_checklist *l = run(f, false);
    const vg_check *c = vg_checklist_find(l, "apparmor", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "not enabled"));
    /* without AppArmor a missing helper is a warning, not a failure */
    assert_null(vg_checklist_find(l, "apparmor", VG_CHECK_FAIL));
    vg_checklist_free(l);
    free(cmd);
    free(p);
}

/* The kernel lists the shipped profile by its name, `virtguard-helper`
 * (seen on the e2e guest); a profile named by the helper's path counts too,
 * and the name is not taken for a prefix of another profile. */
static void test_helper_profile_names(void **state)
{
    fake *f = *state;
    put(f, "/sys/kernel/security/apparmor/profiles",
        "/usr/sbin/virtguard-helper (enforce)\nlibvirtd (enforce)\n", 0644);
    vg_checklist *l = run(f, false);
    bool loaded = false;
    for (size_t i = 0; i < l->n; i++)
        loaded |= l->v[i].status == VG_CHECK_PASS &&
                  strcmp(l->v[i].title, "the helper's profile is loaded (enforce)") == 0;
    assert_true(loaded);
    vg_checklist_free(l);

    /* loaded, but not held to its rules: no PASS (FAIL in enforce mode) */
    put(f, "/sys/kernel/security/apparmor/profiles",
        "virtguard-helper (complain)\nlibvirtd (enforce)\n", 0644);
    l = run(f, false);
    bool complain = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strstr(l->v[i].title, "helper's profile is loaded"))
            assert_int_not_equal(l->v[i].status, VG_CHECK_PASS);
        complain |= l->v[i].status == VG_CHECK_FAIL &&
                    strcmp(l->v[i].title, "the helper's profile is loaded in complain mode, "
                                          "not enforce") == 0;
    }
    assert_true(complain);
    vg_checklist_free(l);

    put(f, "/sys/kernel/security/apparmor/profiles",
        "virtguard-helper//parser (enforce)\nvirtguard-helper-old (enforce)\n", 0644);
    l = run(f, false);
    bool missing = false;
    for (size_t i = 0; i < l->n; i++)
        missing |= l->v[i].status == VG_CHECK_FAIL &&
                   strcmp(l->v[i].title, "the helper's profile is not loaded") == 0;
    assert_true(missing);
    vg_checklist_free(l);
}

static void test_unconfined_daemon(void **state)
{
    fake *f = *state;
    put(f, "/proc/812/attr/current", "unconfined\n", 0644);
    put(f, "/sys/kernel/security/apparmor/profiles", "/usr/sbin/libvirtd (enforce)\n", 0644);
    vg_checklist *l = run(f, false);
    bool daemon = false, helper = false;
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].topic, "apparmor") || l->v[i].status != VG_CHECK_FAIL)
            continue;
        daemon |= strstr(l->v[i].title, "libvirtd (pid 812) is not confined") != NULL;
        helper |= strstr(l->v[i].title, "helper's profile is not loaded") != NULL;
    }
    assert_true(daemon && helper);
    vg_checklist_free(l);
}

/* Facts as gathered on a host whose virtguard.conf is CONF, with libvirt's
 * default qemu.conf at QEMU_CONF_PATH, QEMU as 64055:64055, no hook, helper
 * or helper profile, the mounts of the fixture MOUNTINFO, an empty fstab and
 * /var/lib/libvirt/images probed (its parent on device 2): the caller fills
 * in what the probe found there (statfs, self, chown). */
static void probed_facts(vg_doctor_facts *f, const char *conf, const char *qemu_conf_path,
                         const char *mountinfo)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(vg_config_parse(conf, strlen(conf), "t.conf", &f->cfg, NULL), 0);
    f->config_path = vg_xstrdup("t.conf");
    f->config_exists = true;
    f->qconf = vg_qemu_conf_new_default();
    f->qemu_conf_path = vg_xstrdup(qemu_conf_path);
    f->qemu_ids.uid = 64055;
    f->qemu_ids.gid = 64055;
    f->hook_errno = ENOENT;
    f->hook_path = vg_xstrdup("/hook");
    f->helper_path = vg_xstrdup("/helper");
    f->helper_errno = ENOENT;
    f->helper_profile_path = vg_xstrdup("/profile");
    f->helper_profile_errno = ENOENT;
    assert_int_equal(vg_mountinfo_read(mountinfo, &f->mounts, NULL), 0);
    f->fstab = vg_fstab_parse("");
    f->mf = vg_xcalloc(1, sizeof(*f->mf));
    f->n_mf = 1;
    f->mf[0].mount_point = vg_xstrdup("/var/lib/libvirt/images");
    f->mf[0].probed = true;
    f->mf[0].parent = (vg_probe_res){ .answered = true, .dev = 2 };
}

/* Probe results judged as facts: chown ignored on 9p → per-domain label. */
static void test_chown_ignored(void **state)
{
    (void)state;
    vg_doctor_facts f;
    probed_facts(&f, "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n", "qemu.conf",
                 TEST_DATA_DIR "/mountinfo/lima-9p.mountinfo");
    f.mf[0].statfs = (vg_probe_res){ .answered = true, .fs_type = 0x01021997 };
    f.mf[0].self = (vg_probe_res){ .answered = true, .dev = 45, .uid = 501, .gid = 20 };
    f.mf[0].chown = (vg_probe_res){ .answered = true, .chown = VG_CHOWN_IGNORED };
    vg_checklist *l = vg_doctor_judge(&f);
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "chown is silently ignored"));
    assert_non_null(strstr(c->fix, "<label>+501:+64055</label>"));
    assert_non_null(strstr(c->fix, "securityModel: \"mapped-xattr\""));
    assert_non_null(vg_checklist_find(l, "mount", VG_CHECK_PASS));
    vg_checklist_free(l);

    /* root cannot create files there (a virtiofsd in a user namespace
     * answers EINVAL): said precisely, with the same per-domain fix */
    f.mf[0].chown = (vg_probe_res){ .answered = true, .chown = VG_CHOWN_NO_CREATE,
                                    .err = EINVAL };
    l = vg_doctor_judge(&f);
    c = vg_checklist_find(l, "mount", VG_CHECK_WARN);
    assert_non_null(c);
    assert_string_equal(c->title, "'/var/lib/libvirt/images': root cannot create files here "
                                  "(Invalid argument): libvirt cannot relabel images");
    assert_non_null(strstr(c->detail, "read for ISOs and backing files, read and write for "
                                      "overlays"));
    assert_non_null(strstr(c->fix, "<label>+501:+64055</label>"));
    vg_checklist_free(l);

    /* the same mount timing out */
    f.mf[0].self.answered = false;
    l = vg_doctor_judge(&f);
    c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "did not answer within 5000 ms"));
    vg_checklist_free(l);
    vg_doctor_facts_clear(&f);
}

/* A share where libvirt's chown works (a root virtiofsd): the judgement of
 * the remembered-owner probe, on made-up probe results. */
static void remember_facts(vg_doctor_facts *f, vg_xattr_result x, int x_err)
{
    probed_facts(f, "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n"
                    "shared_fs_types = [ \"virtiofs\" ]\n", "/etc/libvirt/qemu.conf",
                 TEST_DATA_DIR "/mountinfo/virtiofs.mountinfo");
    f->mf[0].statfs = (vg_probe_res){ .answered = true, .fs_type = 0x65735546 };
    f->mf[0].self = (vg_probe_res){ .answered = true, .dev = 45, .uid = 1000, .gid = 1000 };
    f->mf[0].chown = (vg_probe_res){ .answered = true, .chown = VG_CHOWN_WORKS, .xattr = x,
                                     .xattr_err = x_err };
}

static size_t count_mount_checks(const vg_checklist *l, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strstr(l->v[i].title, needle) != NULL;
    return n;
}

static void test_chown_works_owner_lost(void **state)
{
    (void)state;
    vg_doctor_facts f;
    remember_facts(&f, VG_XATTR_UNSUPPORTED, EOPNOTSUPP);
    vg_checklist *l = vg_doctor_judge(&f);
    const vg_check *c = vg_checklist_find(l, "mount", VG_CHECK_WARN);
    if (!c)
        dump(l);
    assert_non_null(c);
    assert_string_equal(c->title, "'/var/lib/libvirt/images': chown works, remembered owners "
                                  "are lost: files end up root:root after a stop");
    assert_int_equal(count_mount_checks(l, "remembered owners"), 1);     /* once */
    assert_non_null(strstr(c->fix, "<label>+1000:+64055</label>"));
    assert_null(strstr(c->fix, "remember_owner = 1"));
    /* the generic "remember_owner = 0" advice would make it worse: not given */
    assert_null(vg_checklist_find(l, "qemu.conf", VG_CHECK_WARN));
    vg_checklist_free(l);

    /* remember_owner = 0: lost without any xattr */
    f.qconf->remember_owner = false;
    f.mf[0].chown.xattr = VG_XATTR_UNKNOWN;
    l = vg_doctor_judge(&f);
    c = vg_checklist_find(l, "mount", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->detail, "'/etc/libvirt/qemu.conf' sets remember_owner = 0"));
    assert_non_null(strstr(c->fix, "and set remember_owner = 1 in qemu.conf"));
    vg_checklist_free(l);

    /* xattrs kept: a pass; refused: starts fail */
    f.qconf->remember_owner = true;
    f.mf[0].chown.xattr = VG_XATTR_KEPT;
    l = vg_doctor_judge(&f);
    assert_null(vg_checklist_find(l, "mount", VG_CHECK_WARN));
    assert_int_equal(count_mount_checks(l, "remembered owners are kept"), 1);
    vg_checklist_free(l);
    f.mf[0].chown.xattr = VG_XATTR_SET_FAILS;
    f.mf[0].chown.xattr_err = EPERM;
    l = vg_doctor_judge(&f);
    c = vg_checklist_find(l, "mount", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "starts fail with 'Unable to set XATTR'"));
    vg_checklist_free(l);
    vg_doctor_facts_clear(&f);
}

/* aarch64: the firmware line (WARN with the package to install when AAVMF
 * is missing), the TCG note without /dev/kvm; x86_64 gets neither. */
static void test_aarch64_host(void **state)
{
    fake *f = *state;
    vg_checklist *l = run(f, false);
    assert_null(vg_checklist_find(l, "firmware", VG_CHECK_WARN));
    assert_null(vg_checklist_find(l, "firmware", VG_CHECK_PASS));
    assert_null(vg_checklist_find(l, "kvm", VG_CHECK_INFO));
    vg_checklist_free(l);

    l = run_on(f, false, "aarch64");
    const vg_check *c = vg_checklist_find(l, "firmware", VG_CHECK_WARN);
    assert_non_null(c);
    assert_string_equal(c->title, "aarch64 host: '/usr/share/AAVMF/AAVMF_CODE.fd' is missing, "
                                "so a 'virt' domain with <os firmware='efi'> cannot start");
    assert_string_equal(c->fix, "apt-get install qemu-efi-aarch64");
    assert_string_equal(vg_check_attr_get(c, "machine"), "aarch64");
    c = vg_checklist_find(l, "kvm", VG_CHECK_INFO);
    assert_non_null(c);
    assert_string_equal(c->title, "aarch64 host without '/dev/kvm': domains run under TCG "
                                "(<domain type='qemu'>), slower, checked the same; on a Mac, "
                                "Lima's vmType 'vz' with nestedVirtualization: true gives KVM "
                                "(Apple M3 or later, macOS 15)");
    /* a WARN: the doctor's verdict is unchanged */
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_OK);
    vg_checklist_free(l);

    put(f, "/usr/share/AAVMF/AAVMF_CODE.fd", "firmware\n", 0644);
    put(f, "/dev/kvm", "", 0600);
    l = run_on(f, false, "aarch64");
    c = vg_checklist_find(l, "firmware", VG_CHECK_PASS);
    assert_non_null(c);
    assert_string_equal(c->title, "aarch64 host: the UEFI firmware of 'virt' domains is installed "
                                "('/usr/share/AAVMF/AAVMF_CODE.fd'); libvirt keeps each domain's "
                                "NVRAM in '/var/lib/libvirt/qemu/nvram'");
    assert_null(vg_checklist_find(l, "firmware", VG_CHECK_WARN));
    assert_null(vg_checklist_find(l, "kvm", VG_CHECK_INFO));
    vg_checklist_free(l);
}

static void test_pure_helpers(void **state)
{
    char *m = vg_aa_profile_mode("a (enforce)\nlibvirt-x (complain)\n", "libvirt-x");
    assert_string_equal(m, "complain");
    free(m);
    assert_null(vg_aa_profile_mode("libvirt-xy (enforce)\n", "libvirt-x"));
    assert_null(vg_aa_profile_mode(NULL, "x"));
    /* libvirt 11's abstraction gives each domain profile a child profile for
     * passt: its line is not the domain profile's */
    m = vg_aa_profile_mode("libvirt-x//passt (complain)\nlibvirt-x (enforce)\n", "libvirt-x");
    assert_string_equal(m, "enforce");
    free(m);
    assert_null(vg_aa_profile_mode("libvirt-x//passt (enforce)\n", "libvirt-x"));
    /* a comm with spaces and parentheses: fields counted after the last ')' */
    long long t = vg_proc_start_time("1 (a) b) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 300 0",
                                     "cpu 0\nbtime 1000\n", 100);
    assert_int_equal(t, 1003);
    assert_int_equal(vg_proc_start_time("garbage", "btime 1", 100), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_newer_than_daemon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_symlink_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixes_fit_install, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_missing_lima, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_missing_old_lima_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_missing_lima_cidata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reverse_sshfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_missing_plain_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shadow_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_and_qemu_conf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_conf_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_apparmor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helper_profile_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unconfined_daemon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aarch64_host, setup, teardown),
        cmocka_unit_test(test_chown_ignored),
        cmocka_unit_test(test_chown_works_owner_lost),
        cmocka_unit_test(test_pure_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
