/* Unit tests for lib/guard/dac.c: identity resolution as libvirt does it, and
 * POSIX DAC decisions. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "dac.h"

#define PW TEST_DATA_DIR "/ids/passwd"
#define GR TEST_DATA_DIR "/ids/group"

static void test_resolve_names(void **state)
{
    (void)state;
    autoids vg_ids ids = { 0 };
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_ids_resolve("libvirt-qemu", "libvirt-qemu", PW, GR, &ids, &err), 0);
    assert_int_equal(ids.uid, 64055);
    assert_int_equal(ids.gid, 64055);
    assert_string_equal(ids.user, "libvirt-qemu");
    assert_string_equal(ids.group, "libvirt-qemu");
    /* supplementary: gid itself and "disk" (member); not kvm (primary gid
     * in passwd, but libvirt uses the configured group) */
    assert_int_equal(ids.n_groups, 2);
    assert_int_equal(ids.groups[0], 64055);
    assert_int_equal(ids.groups[1], 6);
    autofree char *d = vg_ids_describe(&ids);
    assert_string_equal(d, "uid 64055 (libvirt-qemu), gid 64055 (libvirt-qemu)");
}

static void test_resolve_numeric(void **state)
{
    (void)state;
    autoids vg_ids a = { 0 };
    autoids vg_ids b = { 0 };
    autoids vg_ids c = { 0 };
    autoerror vg_error *err = NULL;

    assert_int_equal(vg_ids_resolve_label("+1000:+64055", PW, GR, &a, &err), 0);
    assert_int_equal(a.uid, 1000);
    assert_int_equal(a.gid, 64055);
    assert_string_equal(a.user, "dev");
    /* "100" is a user NAME here (uid 4242), as in libvirt's lookup order */
    assert_int_equal(vg_ids_resolve("100", "+5", PW, GR, &b, &err), 0);
    assert_int_equal(b.uid, 4242);
    assert_int_equal(b.gid, 5);
    assert_null(b.group);
    /* a uid with no passwd entry still resolves, with no name */
    assert_int_equal(vg_ids_resolve("+777", "+777", PW, GR, &c, &err), 0);
    assert_int_equal(c.uid, 777);
    assert_null(c.user);
    assert_int_equal(c.n_groups, 1);
}

static void test_resolve_errors(void **state)
{
    (void)state;
    struct { const char *label; const char *msg; } bad[] = {
        { "nobody-here:kvm", "user 'nobody-here' does not exist in '" PW "'" },
        { "dev:nogroup", "group 'nogroup' does not exist in '" GR "'" },
        { "+-1:+0", "user '+-1' is not a valid numeric id" },
        { "+1000", "DAC label '+1000' is not of the form 'USER:GROUP'" },
        { ":+1", "DAC label ':+1' is not of the form 'USER:GROUP'" },
        { "+1:+2:+3", "DAC label '+1:+2:+3' is not of the form 'USER:GROUP'" },
        { "+99999999999:+1", "user '+99999999999' is not a valid numeric id" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        vg_ids ids = { 0 };
        autoerror vg_error *err = NULL;
        assert_true(vg_ids_resolve_label(bad[i].label, PW, GR, &ids, &err) < 0);
        assert_non_null(err);
        assert_string_equal(err->msg, bad[i].msg);
        assert_int_equal(ids.uid, 0);
    }
    vg_ids ids = { 0 };
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_ids_resolve("dev", NULL, "/nonexistent/passwd", GR, &ids, &err), -ENOENT);
    assert_string_equal(err->msg, "cannot read '/nonexistent/passwd': No such file or directory");
}

static void test_dac_allows(void **state)
{
    (void)state;
    gid_t groups[] = { 64055, 6 };
    vg_ids q = { .uid = 64055, .gid = 64055, .groups = groups, .n_groups = 2 };
    vg_ids root = { 0 };

    /* owner bits */
    assert_true(vg_dac_allows(&q, 64055, 0, S_IFREG | 0600, R_OK | W_OK));
    assert_false(vg_dac_allows(&q, 64055, 64055, S_IFREG | 0060, R_OK)); /* owner bits win */
    /* group bits, via primary and supplementary */
    assert_true(vg_dac_allows(&q, 1000, 64055, S_IFREG | 0640, R_OK));
    assert_false(vg_dac_allows(&q, 1000, 64055, S_IFREG | 0640, R_OK | W_OK));
    assert_true(vg_dac_allows(&q, 1000, 6, S_IFREG | 0660, R_OK | W_OK));
    /* other bits */
    assert_false(vg_dac_allows(&q, 1000, 1000, S_IFREG | 0600, R_OK));
    assert_true(vg_dac_allows(&q, 1000, 1000, S_IFREG | 0644, R_OK));
    assert_false(vg_dac_allows(&q, 1000, 1000, S_IFREG | 0644, W_OK));
    /* directories: search */
    assert_false(vg_dac_allows(&q, 1000, 1000, S_IFDIR | 0750, X_OK));
    assert_true(vg_dac_allows(&q, 1000, 1000, S_IFDIR | 0751, X_OK));
    /* root: anything but exec of a file with no x bit */
    assert_true(vg_dac_allows(&root, 1000, 1000, S_IFREG | 0000, R_OK | W_OK));
    assert_false(vg_dac_allows(&root, 1000, 1000, S_IFREG | 0644, X_OK));
    assert_true(vg_dac_allows(&root, 1000, 1000, S_IFDIR | 0000, X_OK));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_names),
        cmocka_unit_test(test_resolve_numeric),
        cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_dac_allows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
