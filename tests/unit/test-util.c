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
        /* Unicode format characters (one table in util.c): bidi override
         * and isolates, marks, zero width, BOM, soft hyphen, tags */
        { "a\xe2\x80\xae" "gpj.exe", "a\\u202egpj.exe", "a\\u202egpj.exe" },
        { "\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069", "\\u2066x\\u2069" },
        { "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c",
          "\\u200e\\u200f\\u061c" },
        { "z\xe2\x80\x8b\xe2\x80\x8c\xe2\x80\x8d\xe2\x81\xa0\xef\xbb\xbf",
          "z\\u200b\\u200c\\u200d\\u2060\\ufeff", "z\\u200b\\u200c\\u200d\\u2060\\ufeff" },
        { "soft\xc2\xad", "soft\\u00ad", "soft\\u00ad" },
        { "tag\xf3\xa0\x80\x81", "tag\\U000e0001", "tag\\U000e0001" },
        /* the line and paragraph separators end a line in some viewers */
        { "l\xe2\x80\xa8p\xe2\x80\xa9", "l\\u2028p\\u2029", "l\\u2028p\\u2029" },
        /* neighbours that are not format characters stay */
        { "\xe2\x80\x90\xe2\x80\xaf\xe2\x81\xa5", "\xe2\x80\x90\xe2\x80\xaf\xe2\x81\xa5",
          "\xe2\x80\x90\xe2\x80\xaf\xe2\x81\xa5" },
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

/* The one escaper's three forms, word for word: text that keeps its own
 * line breaks, and JSON (every escape \\uXXXX, a stray byte U+FFFD). */
static void test_shown_forms(void **state)
{
    (void)state;
    static const struct { const char *in; unsigned how; const char *want; } t[] = {
        { "a\nb\x1b\xe2\x80\xae", VG_SHOW_LINES, "a\nb\\x1b\\u202e" },
        { "a\nb\xe2\x80\xa8", 0, "a\\nb\\u2028" },
        { "q\"\\\n\t\x01\x7f", VG_SHOW_JSON, "q\\\"\\\\\\n\\t\\u0001\\u007f" },
        { "c1\xc2\x85 bidi\xe2\x81\xa7 zw\xe2\x80\x8b bom\xef\xbb\xbf", VG_SHOW_JSON,
          "c1\\u0085 bidi\\u2067 zw\\u200b bom\\ufeff" },
        { "tag\xf3\xa0\x80\x81 bad\xff", VG_SHOW_JSON, "tag\\udb40\\udc01 bad\\ufffd" },
        { "d\xc3\xa9mo \xf0\x9f\x92\xbe", VG_SHOW_JSON, "d\xc3\xa9mo \xf0\x9f\x92\xbe" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        autobuf vg_buf b = { 0 };
        vg_buf_add_shown(&b, t[i].in, t[i].how);
        assert_string_equal(b.s, t[i].want);
    }
    assert_true(vg_str_is_shown_as_is("/var/lib/d\xc3\xa9mo.iso"));
    assert_false(vg_str_is_shown_as_is("/a\\b"));
    assert_false(vg_str_is_shown_as_is("/a\xe2\x80\x8b"));
    assert_false(vg_str_is_shown_as_is("/a\xff"));
    /* a message made from a value holding a bidi override and a line
     * break stays one line and shows both */
    autoerror vg_error *err = NULL;
    vg_error_set(&err, EINVAL, "file '%s' is bad", "x\xe2\x80\xae\nvirtguard: ok");
    assert_string_equal(err->msg, "file 'x\\u202e\\nvirtguard: ok' is bad");
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
        cmocka_unit_test(test_shown_forms),
        cmocka_unit_test(test_error_wrap),
        cmocka_unit_test(test_read_write_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
