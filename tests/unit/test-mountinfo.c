/* Unit tests for lib/guard/mountinfo.c: /proc/self/mountinfo parsing and lookups. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mount-state.h"
#include "mountinfo.h"

#define MI_DIR TEST_DATA_DIR "/mountinfo/"

static vg_mounts *load(const char *name)
{
    autofree char *path = vg_xasprintf(MI_DIR "%s", name);
    vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_mountinfo_read(path, &m, &err);
    if (r < 0)
        print_error("%s: %s\n", name, err->msg);
    assert_int_equal(r, 0);
    assert_non_null(m);
    return m;
}

static vg_mounts *parse_ok(const char *text)
{
    vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_mountinfo_parse(text, strlen(text), &m, &err);
    if (r < 0)
        print_error("%s\n", err->msg);
    assert_int_equal(r, 0);
    return m;
}

static void test_real_host(void **state)
{
    (void)state;
    automounts vg_mounts *m = load("host-real.mountinfo");
    assert_int_equal(m->n, 20);
    const vg_mount *root = vg_mounts_find(m, "/etc/passwd");
    assert_non_null(root);
    assert_string_equal(root->mount_point, "/");
    assert_string_equal(root->fstype, "ext4");
    assert_string_equal(root->source, "/dev/vda");
    assert_int_equal(root->id, 26);
    assert_int_equal(root->parent_id, 1);
    assert_int_equal(root->major, 254);
    assert_int_equal(root->minor, 0);
    assert_string_equal(root->root, "/");
    assert_string_equal(root->mount_opts, "rw,relatime");
    assert_string_equal(root->super_opts, "rw,discard,resv_strict,resuid=65534,resgid=65534");
    /* /dev/pts and /dev/shm are mounted twice here: the later entry is on top */
    const vg_mount *pts = vg_mounts_find(m, "/dev/pts/0");
    assert_int_equal(pts->id, 28);
    assert_int_equal(pts->parent_id, 25);
    assert_int_equal(vg_mounts_at(m, "/dev/shm")->id, 29);
    assert_int_equal(vg_mounts_find(m, "/dev/null")->id, 23);
    assert_int_equal(vg_mounts_find(m, "/sys/fs/cgroup/unified")->id, 40);
    assert_int_equal(vg_mounts_find(m, "/sys/fs/cgroup/unifiedx")->id, 30);
}

static void test_live(void **state)
{
    (void)state;
    automounts vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_mountinfo_read(NULL, &m, &err);
    if (r < 0)
        print_error("%s\n", err->msg);
    assert_int_equal(r, 0);
    assert_true(m->n > 0);
    const vg_mount *root = vg_mounts_find(m, "/");
    assert_non_null(root);
    assert_string_equal(root->mount_point, "/");
    assert_non_null(vg_mounts_find(m, "/proc/self"));
}

static void test_lima_9p(void **state)
{
    (void)state;
    automounts vg_mounts *m = load("lima-9p.mountinfo");
    assert_int_equal(m->n, 14);
    const vg_mount *img = vg_mounts_find(m, "/var/lib/libvirt/images/jobs/sbx-1/disk.qcow2");
    assert_non_null(img);
    assert_int_equal(img->id, 53);
    assert_int_equal(img->parent_id, 28);
    assert_int_equal(img->major, 0);
    assert_int_equal(img->minor, 45);
    assert_string_equal(img->mount_point, "/var/lib/libvirt/images");
    assert_string_equal(img->fstype, "9p");
    assert_string_equal(img->source, "lima-8b1e03c6f4");
    assert_string_equal(img->mount_opts, "rw,relatime"); /* optional fields are not options */
    assert_string_equal(img->super_opts, "rw,cache=mmap,access=client,msize=131072,trans=virtio");
    assert_ptr_equal(vg_mounts_find(m, "/var/lib/libvirt/images"), img);
    assert_ptr_equal(vg_mounts_at(m, "/var/lib/libvirt/images"), img);

    /* whole components only */
    assert_string_equal(vg_mounts_find(m, "/var/lib/libvirt/images2/x")->mount_point, "/");
    assert_string_equal(vg_mounts_find(m, "/var/lib/libvirt")->mount_point, "/");
    assert_null(vg_mounts_at(m, "/var/lib/libvirt"));
    assert_null(vg_mounts_at(m, "/var/lib/libvirt/images/"));
    assert_int_equal(vg_mounts_find(m, "/Users/dev/src/a.c")->id, 52);
    assert_int_equal(vg_mounts_find(m, "/run/user/501/x")->id, 371);
    assert_int_equal(vg_mounts_find(m, "/run/lock")->id, 30);
    assert_null(vg_mounts_find(m, "relative/path"));
    assert_null(vg_mounts_find(m, ""));
    assert_null(vg_mounts_find(NULL, "/"));

    /* nofail: the share did not mount, an empty local directory is left */
    automounts vg_mounts *miss = load("lima-9p-missing.mountinfo");
    assert_int_equal(miss->n, 13);
    const vg_mount *local = vg_mounts_find(miss, "/var/lib/libvirt/images/base.qcow2");
    assert_string_equal(local->mount_point, "/");
    assert_string_equal(local->fstype, "ext4");
    assert_null(vg_mounts_at(miss, "/var/lib/libvirt/images"));
}

static void test_mount_option(void **state)
{
    (void)state;
    const char *o = "rw,cache=mmap,access=client,msize=131072,trans=virtio,security_model=none,x=";
    struct { const char *key, *val; } cases[] = {
        { "trans", "virtio" }, { "msize", "131072" }, { "cache", "mmap" }, { "rw", "" },
        { "security_model", "none" }, { "x", "" }, { "access", "client" },
        { "ms", NULL }, { "trans=virtio", NULL }, { "version", NULL }, { "virtio", NULL },
        { "", NULL },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autofree char *v = vg_mount_option(o, cases[i].key);
        if (cases[i].val) {
            assert_non_null(v);
            assert_string_equal(v, cases[i].val);
        } else {
            assert_null(v);
        }
    }
    autofree char *single = vg_mount_option("trans=virtio", "trans");
    assert_string_equal(single, "virtio");
    autofree char *flag = vg_mount_option("ro", "ro");
    assert_string_equal(flag, "");
    autofree char *v9 = vg_mount_option("rw,trans=virtio,version=9p2000.L,security_model=none",
                                        "version");
    assert_string_equal(v9, "9p2000.L");
    assert_null(vg_mount_option("", "rw"));
    assert_null(vg_mount_option(NULL, "rw"));
    assert_null(vg_mount_option("rw", NULL));
}

static void test_virtiofs_and_fuse(void **state)
{
    (void)state;
    automounts vg_mounts *m = load("virtiofs.mountinfo");
    const vg_mount *v = vg_mounts_find(m, "/var/lib/libvirt/images/a.qcow2");
    assert_string_equal(v->fstype, "virtiofs");
    assert_string_equal(v->source, "mount0");
    assert_string_equal(v->super_opts, "rw");
    const vg_mount *s = vg_mounts_find(m, "/srv/sshfs/b.img");
    assert_string_equal(s->fstype, "fuse.sshfs");
    assert_string_equal(s->source, "dev@build:/srv/images");
    autofree char *ao = vg_mount_option(s->super_opts, "allow_other");
    assert_string_equal(ao, "");
    assert_string_equal(vg_mounts_find(m, "/mnt/bindfs/c")->fstype, "fuse");
}

static void test_escapes(void **state)
{
    (void)state;
    automounts vg_mounts *m = load("escapes.mountinfo");
    assert_int_equal(m->n, 6);
    assert_string_equal(m->v[1].mount_point, "/srv/VM images");
    assert_string_equal(m->v[1].source, "lima tag");
    assert_string_equal(m->v[2].mount_point, "/srv/tab\tdir");
    assert_string_equal(m->v[3].mount_point, "/srv/new\nline");
    assert_string_equal(m->v[4].mount_point, "/srv/back\\slash");
    assert_string_equal(m->v[5].root, "/srv/VM images/sub");
    assert_string_equal(m->v[5].mount_point, "/mnt/bind");
    assert_string_equal(m->v[5].mount_opts, "rw,relatime");
    assert_string_equal(m->v[5].fstype, "ext4");

    assert_int_equal(vg_mounts_find(m, "/srv/VM images/disk.qcow2")->id, 60);
    assert_int_equal(vg_mounts_find(m, "/srv/VM")->id, 28);
    assert_int_equal(vg_mounts_find(m, "/srv/tab\tdir/x")->id, 61);
    assert_int_equal(vg_mounts_at(m, "/srv/new\nline")->id, 62);
    assert_null(vg_mounts_at(m, "/srv/VM\\040images"));

    /* any \NNN, and a backslash that starts no escape stays as it is */
    automounts vg_mounts *o = parse_ok("1 0 8:1 / /a\\101\\x\\12 rw - ext4 /dev/sda1 rw");
    assert_string_equal(o->v[0].mount_point, "/aA\\x\\12");
    automounts vg_mounts *hi = parse_ok("1 0 8:1 / /\\377 rw - ext4 /dev/sda1 rw");
    assert_string_equal(hi->v[0].mount_point, "/\xff");
}

static void test_overmount(void **state)
{
    (void)state;
    automounts vg_mounts *m = load("overmount.mountinfo");
    const vg_mount *top = vg_mounts_find(m, "/var/lib/libvirt/images/disk.qcow2");
    assert_int_equal(top->id, 80);
    assert_string_equal(top->fstype, "tmpfs");
    assert_int_equal(top->parent_id, 53);
    assert_ptr_equal(vg_mounts_at(m, "/var/lib/libvirt/images"), top);
}

static void test_small_inputs(void **state)
{
    (void)state;
    automounts vg_mounts *e = parse_ok("");
    assert_int_equal(e->n, 0);
    assert_null(vg_mounts_find(e, "/"));
    assert_null(vg_mounts_at(e, "/"));

    /* no final newline; many optional fields */
    automounts vg_mounts *m = parse_ok(
        "28 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "29 28 0:99 / /mnt rw shared:2 master:1 propagate_from:1 unbindable - tmpfs tmpfs rw");
    assert_int_equal(m->n, 2);
    assert_string_equal(m->v[1].fstype, "tmpfs");
    assert_string_equal(m->v[1].super_opts, "rw");
    /* the separator must stand alone: a "-" inside an optional field is not it */
    automounts vg_mounts *d = parse_ok("29 28 0:99 / /mnt rw x-y - tmpfs - rw\n");
    assert_string_equal(d->v[0].source, "-");
}

static void expect_malformed(const char *file, int code, const char *msg)
{
    autofree char *path = vg_xasprintf(MI_DIR "malformed/%s", file);
    vg_mounts *m = (vg_mounts *)&m;
    autoerror vg_error *err = NULL;
    int r = vg_mountinfo_read(path, &m, &err);
    autofree char *want = vg_xasprintf("%s: %s", path, msg);
    if (r != -code || !err || strcmp(err->msg, want) != 0)
        print_error("%s\nexpected: %s\n     got: %s\n", file, want, err ? err->msg : "(none)");
    assert_int_equal(r, -code);
    assert_null(m);
    assert_string_equal(err->msg, want);
}

#define SHAPE "expected \"ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - " \
              "FSTYPE SOURCE SUPER_OPTIONS\""

static void test_malformed(void **state)
{
    (void)state;
    expect_malformed("no-separator.mountinfo", EINVAL, "mountinfo line 2: " SHAPE "; the line is "
                     "\"53 28 0:45 / /var/lib/libvirt/images rw,relatime shared:34 9p "
                     "lima-8b1e03c6f4 rw,trans=virtio\"");
    expect_malformed("garbage.mountinfo", EINVAL, "mountinfo line 2: " SHAPE "; the line is "
                     "\"this is not a mountinfo line\"");
    expect_malformed("fields-after-separator.mountinfo", EINVAL, "mountinfo line 3: expected "
                     "exactly three fields (FSTYPE SOURCE SUPER_OPTIONS) after \" - \"; the line "
                     "is \"53 28 0:45 / /images rw - 9p lima-8b1e03c6f4 rw,trans=virtio extra\"");
    expect_malformed("bad-id.mountinfo", EINVAL, "mountinfo line 1: the mount ID and parent ID "
                     "must be numbers; the line is \"x1 1 252:1 / / rw - ext4 /dev/vda1 rw\"");
    expect_malformed("bad-device.mountinfo", EINVAL, "mountinfo line 2: expected MAJOR:MINOR "
                     "device numbers in field 3; the line is \"53 28 0-45 / /images rw - 9p tag rw\"");
    expect_malformed("empty-line.mountinfo", EINVAL, "mountinfo line 2: empty line; the line is \"\"");
    expect_malformed("nul-escape.mountinfo", EINVAL, "mountinfo line 2: invalid escape \\000; "
                     "the line is \"53 28 0:45 / /images\\000x rw - 9p tag rw\"");
    expect_malformed("relative.mountinfo", EINVAL, "mountinfo line 2: ROOT and MOUNTPOINT must "
                     "be absolute paths; the line is \"53 28 0:45 / images rw - 9p tag rw\"");
    expect_malformed("double-space.mountinfo", EINVAL, "mountinfo line 2: empty field (two "
                     "spaces in a row); the line is \"53 28 0:45 /  /images rw - 9p tag rw\"");
}

static void parse_err(const char *text, size_t len, const char *msg)
{
    vg_mounts *m = (vg_mounts *)&m;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_mountinfo_parse(text, len, &m, &err), -EINVAL);
    assert_null(m);
    if (strcmp(err->msg, msg) != 0)
        print_error("expected: %s\n     got: %s\n", msg, err->msg);
    assert_string_equal(err->msg, msg);
}

static void test_malformed_inline(void **state)
{
    (void)state;
    static const char nul[] = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:1 / /a\0 rw - ext4 x rw\n";
    parse_err(nul, sizeof(nul) - 1, "mountinfo line 2: embedded NUL byte; the line is "
              "\"2 1 8:1 / /a\\x00 rw - ext4 x rw\"");
    const char *t = "99999999999 0 8:1 / / rw - ext4 /dev/sda1 rw\n";
    parse_err(t, strlen(t), "mountinfo line 1: the mount ID and parent ID must be numbers; "
              "the line is \"99999999999 0 8:1 / / rw - ext4 /dev/sda1 rw\"");
    t = "1 0 8: / / rw - ext4 /dev/sda1 rw\n";
    parse_err(t, strlen(t), "mountinfo line 1: expected MAJOR:MINOR device numbers in field 3; "
              "the line is \"1 0 8: / / rw - ext4 /dev/sda1 rw\"");
    t = "1 0 8:1 / / rw -  /dev/sda1 rw\n";
    parse_err(t, strlen(t), "mountinfo line 1: empty FSTYPE or SUPER_OPTIONS field; the line is "
              "\"1 0 8:1 / / rw -  /dev/sda1 rw\"");
    t = "1 0 8:1 / / rw\t- ext4 /dev/sda1 rw\n";
    parse_err(t, strlen(t), "mountinfo line 1: " SHAPE "; the line is "
              "\"1 0 8:1 / / rw\\t- ext4 /dev/sda1 rw\"");
    /* a long line is cut in the message */
    vg_buf b = { 0 };
    vg_buf_add(&b, "1 0 8:1 / /");
    for (int i = 0; i < 300; i++)
        vg_buf_addc(&b, 'x');
    autofree char *longline = vg_buf_steal(&b);
    vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_mountinfo_parse(longline, strlen(longline), &m, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "xxx...\""));
    assert_true(strlen(err->msg) < 400);
}

/* One classifier for the hook and doctor: each state in the order it is tried. */
static void test_classify(void **state)
{
    (void)state;
    static const char mi[] =
        "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "30 20 0:40 / /share rw - 9p mount0 rw,trans=virtio\n"
        "31 20 8:2 / /other rw - ext4 /dev/sda2 rw\n";
    vg_mounts *m = NULL;
    vg_error *err = NULL;
    char s9p[] = "9p", svfs[] = "virtiofs";
    char *allowed[] = { s9p, svfs, NULL };
    assert_int_equal(vg_mountinfo_parse(mi, sizeof mi - 1, &m, &err), 0);

    vg_probe_res sfs = { .answered = true, .dev = 40 }, self = sfs;
    vg_probe_res par = { .answered = true, .dev = 1 };
    vg_mount_probe p = { &sfs, &self, &par };

    assert_int_equal(vg_mount_classify(m, "/nothing", allowed, &p).state, VG_MOUNT_NOT_MOUNTED);
    assert_null(vg_mount_classify(m, "/nothing", allowed, &p).entry);
    assert_int_equal(vg_mount_classify(m, "/other", allowed, &p).state, VG_MOUNT_WRONG_FSTYPE);
    assert_int_equal(vg_mount_classify(m, "/share", allowed, NULL).state, VG_MOUNT_NOT_PROBED);
    vg_mount_class c = vg_mount_classify(m, "/share", allowed, &p);
    assert_int_equal(c.state, VG_MOUNT_FINE);
    assert_string_equal(c.entry->fstype, "9p");
    par.answered = false;
    assert_int_equal(vg_mount_classify(m, "/share", allowed, &p).state, VG_MOUNT_TIMEOUT);
    par.answered = true;
    self.err = EIO;
    c = vg_mount_classify(m, "/share", allowed, &p);
    assert_int_equal(c.state, VG_MOUNT_UNEXAMINABLE);
    assert_int_equal(c.err, EIO);
    self.err = 0;
    par.dev = 40;
    assert_int_equal(vg_mount_classify(m, "/share", allowed, &p).state, VG_MOUNT_SHADOW);
    par.err = ENOENT;   /* no parent to compare with: not a shadow */
    assert_int_equal(vg_mount_classify(m, "/share", allowed, &p).state, VG_MOUNT_FINE);
    p.self = NULL;      /* the device comes from the statfs answer */
    par.err = 0;
    assert_int_equal(vg_mount_classify(m, "/share", allowed, &p).state, VG_MOUNT_SHADOW);
    vg_mounts_free(m);
}

static void test_read_missing(void **state)
{
    (void)state;
    vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_mountinfo_read("/nonexistent/mountinfo", &m, &err), -ENOENT);
    assert_null(m);
    autofree char *want = vg_xasprintf("cannot read the mount table '/nonexistent/mountinfo': %s",
                                       strerror(ENOENT));
    assert_string_equal(err->msg, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_host),
        cmocka_unit_test(test_live),
        cmocka_unit_test(test_lima_9p),
        cmocka_unit_test(test_mount_option),
        cmocka_unit_test(test_virtiofs_and_fuse),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_overmount),
        cmocka_unit_test(test_small_inputs),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_malformed_inline),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_read_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
