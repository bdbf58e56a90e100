/* Unit tests for lib/base/util.c and lib/base/error.c. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "error.h"
#include "util.h"

static void test_path_is_under(void **state)
{
    (void)state;
    assert_true(vg_path_is_under("/var/lib/images", "/var/lib/images"));
    assert_true(vg_path_is_under("/var/lib/images/a.qcow2", "/var/lib/images"));
    assert_true(vg_path_is_under("/var/lib/images/a.qcow2", "/var/lib/images/"));
    assert_false(vg_path_is_under("/var/lib/images2/a", "/var/lib/images"));
    assert_false(vg_path_is_under("/var/lib", "/var/lib/images"));
    assert_true(vg_path_is_under("/anything", "/"));
    assert_false(vg_path_is_under("relative/x", "/"));
}

static void test_path_normalize(void **state)
{
    (void)state;
    struct { const char *in, *out; } ok[] = {
        { "/", "/" }, { "//a//b/", "/a/b" }, { "/a/./b/.", "/a/b" }, { "/a/b", "/a/b" },
        { "/a/.hidden", "/a/.hidden" }, { "/a/...", "/a/..." },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(ok); i++) {
        autofree char *n = vg_path_normalize(ok[i].in);
        assert_non_null(n);
        assert_string_equal(n, ok[i].out);
    }
    const char *bad[] = { "a/b", "", "/a/../b", "/..", "/a/.." };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        errno = 0;
        assert_null(vg_path_normalize(bad[i]));
        assert_int_equal(errno, EINVAL);
    }
}

static void test_buf_and_strv(void **state)
{
    (void)state;
    vg_buf b = { 0 };
    for (int i = 0; i < 1000; i++)
        vg_buf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    autofree char *s = vg_buf_steal(&b);
    assert_int_equal(strlen(s), 2000);
    assert_null(b.s);

    autostrv char **v = NULL;
    assert_int_equal(vg_strv_len(v), 0);
    vg_strv_push(&v, vg_xstrdup("a"));
    vg_strv_push(&v, vg_xstrdup("b"));
    assert_int_equal(vg_strv_len(v), 2);
    assert_true(vg_strv_contains(v, "b"));
    assert_false(vg_strv_contains(v, "c"));
    autostrv char **d = vg_strv_dup(v);
    assert_string_equal(d[1], "b");
    assert_null(d[2]);
}

static void test_str_escape(void **state)
{
    (void)state;
    static const struct { const char *in, *bs, *plain; } t[] = {
        { "plain/d\xc3\xa9mo.iso", "plain/d\xc3\xa9mo.iso", "plain/d\xc3\xa9mo.iso" },
        { "a\nb\rc\td", "a\\nb\\rc\\td", "a\\nb\\rc\\td" },
        { "x\x1b[2J\x7f", "x\\x1b[2J\\x7f", "x\\x1b[2J\\x7f" },
        { "c1\xc2\x9b", "c1\\u009b", "c1\\u009b" },
        { "bad\xff\xc3(", "bad\\xff\\xc3(", "bad\\xff\\xc3(" },
        { "back\\slash", "back\\\\slash", "back\\slash" },
        { "\xf0\x9f\x92\xbe\xed\xa0\x80", "\xf0\x9f\x92\xbe\\xed\\xa0\\x80",
          "\xf0\x9f\x92\xbe\\xed\\xa0\\x80" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        autofree char *a = vg_str_escape(t[i].in, true);
        autofree char *b = vg_str_escape(t[i].in, false);
        assert_string_equal(a, t[i].bs);
        assert_string_equal(b, t[i].plain);
        /* idempotent without the backslash rule: safe on whole messages */
        autofree char *c = vg_str_escape(b, false);
        assert_string_equal(c, b);
    }
    /* error messages are escaped as they are made */
    autoerror vg_error *err = NULL;
    vg_error_set(&err, EINVAL, "path '%s' is bad", "x\ny");
    assert_string_equal(err->msg, "path 'x\\ny' is bad");
    vg_error_wrap(&err, "domain '%s'", "d\r");
    assert_string_equal(err->msg, "domain 'd\\r': path 'x\\ny' is bad");
}

static void test_error_wrap(void **state)
{
    (void)state;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_error_set(&err, ENOENT, "file '%s' is missing", "x"), -ENOENT);
    /* a second set does not overwrite the first cause */
    assert_int_equal(vg_error_set(&err, EINVAL, "other"), -EINVAL);
    assert_int_equal(vg_error_wrap(&err, "config '%s'", "c"), -ENOENT);
    assert_string_equal(err->msg, "config 'c': file 'x' is missing");
    assert_int_equal(vg_error_set(NULL, -EPERM, "nobody listens"), -EPERM);
}

static void test_read_write_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-test-util-XXXXXX";
    assert_non_null(mkdtemp(dir));
    autofree char *p = vg_xasprintf("%s/f", dir);
    assert_int_equal(vg_write_file_atomic(p, "hello\n", 6, 0640), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    autofree char *data = NULL;
    size_t len = 0;
    assert_int_equal(vg_read_file(p, 100, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "hello\n");
    autofree char *small = NULL;
    assert_int_equal(vg_read_file(p, 3, &small, NULL), -EFBIG);
    assert_null(small);
    assert_int_equal(vg_read_file("/nonexistent/x", 3, &small, NULL), -ENOENT);
    unlink(p);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_is_under),
        cmocka_unit_test(test_path_normalize),
        cmocka_unit_test(test_buf_and_strv),
        cmocka_unit_test(test_str_escape),
        cmocka_unit_test(test_error_wrap),
        cmocka_unit_test(test_read_write_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
