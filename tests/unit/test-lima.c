/* Unit tests for lib/admin/lima.c: the signs of a Lima guest in mountinfo
 * fixtures (tests/data/mountinfo) and fstab text, and the fstab fix for
 * hosts that are not Lima guests. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lima.h"

static const char *sign_of(const char *fixture)
{
    automounts vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;
    autofree char *path = vg_xasprintf(TEST_DATA_DIR "/mountinfo/%s", fixture);
    assert_int_equal(vg_mountinfo_read(path, &m, &err), 0);
    return vg_lima_detect_sign(m, NULL);
}

static void test_fixtures(void **state)
{
    (void)state;
    assert_string_equal(sign_of("lima-9p.mountinfo"), "lima-* mount tags");
    assert_string_equal(sign_of("lima-mount0-missing.mountinfo"),
                        "mountN mount tags (Lima before the tag rename)");
    assert_string_equal(sign_of("lima-reverse-sshfs.mountinfo"), "a reverse-sshfs mount");
    assert_string_equal(sign_of("lima-cidata-missing.mountinfo"), "the /mnt/lima-cidata mount");
    /* an ordinary sshfs (user@host:DIR) and an ext4 source named mount0 */
    assert_null(sign_of("plain-missing.mountinfo"));
    assert_null(sign_of("host-real.mountinfo"));
}

static void test_signs(void **state)
{
    (void)state;
    assert_non_null(vg_lima_sign("mount0", "virtiofs", "/x"));
    assert_non_null(vg_lima_sign("mount17", "9p", "/x"));
    assert_null(vg_lima_sign("mount", "9p", "/x"));
    assert_null(vg_lima_sign("mount0a", "9p", "/x"));
    assert_null(vg_lima_sign("mount0", "ext4", "/x"));
    assert_null(vg_lima_sign("lima-", "9p", "/x"));
    assert_null(vg_lima_sign("dev@host:/x", "fuse.sshfs", "/x"));
    assert_null(vg_lima_sign(":/x", "fuse", "/x"));
    assert_non_null(vg_lima_sign("/dev/sr0", "iso9660", "/mnt/lima-cidata/"));
    assert_true(vg_lima_tag("mount3"));
    assert_true(vg_lima_tag("lima-abc"));
    assert_false(vg_lima_tag("mountx"));

    autofstab vg_fstab *f = vg_fstab_parse("mount1 /var/lib/libvirt/images 9p nofail 0 0\n");
    assert_true(vg_lima_detect(NULL, f));
    autofstab vg_fstab *g = vg_fstab_parse("UUID=1 / ext4 defaults 0 1\n");
    assert_false(vg_lima_detect(NULL, g));
}

static void test_mount_fix(void **state)
{
    (void)state;
    autoconfig vg_config *cfg = vg_config_new_default();
    autofree char *fix = vg_mount_fix(cfg, "/srv/my images", NULL);
    assert_string_equal(fix, "add it to /etc/fstab, e.g. the line\n"
                             "  TAG /srv/my\\040images 9p "
                             "trans=virtio,version=9p2000.L,msize=131072,nofail 0 0\n"
                             "(TAG is the share's mount tag), then run 'mount /srv/my images' "
                             "and check with 'findmnt /srv/my images' before starting domains.");
    vg_strv_free(cfg->shared_fs_types);
    cfg->shared_fs_types = NULL;
    vg_strv_push(&cfg->shared_fs_types, vg_xstrdup("fuse.sshfs"));
    autofree char *sshfs = vg_mount_fix(cfg, "/img", NULL);
    assert_non_null(strstr(sshfs, "\n  USER@HOST:/DIR /img fuse.sshfs "
                                  "_netdev,allow_other,reconnect,nofail 0 0\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_signs),
        cmocka_unit_test(test_mount_fix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
