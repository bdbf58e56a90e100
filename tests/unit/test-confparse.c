/* Unit tests for lib/config/confparse.c: libvirt's conf syntax (virconf.c). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "confparse.h"

static vg_conf *parse_ok(const char *text)
{
    vg_conf *c = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_conf_parse(text, strlen(text), "t.conf", &c, &err);
    if (r < 0)
        print_error("unexpected error: %s\ninput: %s\n", err->msg, text);
    assert_int_equal(r, 0);
    assert_null(err);
    assert_non_null(c);
    return c;
}

/* The parse fails with exactly `msg`; nothing is returned. */
static void parse_err_len(const char *text, size_t len, int code, const char *msg)
{
    vg_conf *c = (vg_conf *)&c; /* must be reset to NULL */
    autoerror vg_error *err = NULL;
    int r = vg_conf_parse(text, len, "t.conf", &c, &err);
    if (r != -code || !err || strcmp(err->msg, msg) != 0)
        print_error("input: %s\nexpected: %s\n     got: %s (%d)\n", text, msg,
                    err ? err->msg : "(no error)", r);
    assert_int_equal(r, -code);
    assert_null(c);
    assert_non_null(err);
    assert_int_equal(err->code, code);
    assert_string_equal(err->msg, msg);
}

static void parse_err(const char *text, const char *msg)
{
    parse_err_len(text, strlen(text), EINVAL, msg);
}

static void test_values(void **state)
{
    (void)state;
    autoconf vg_conf *c = parse_ok(
        "# leading comment\n"
        "\n"
        "s1 = \"double\"\n"
        "s2='single'   # trailing comment\n"
        "  s3 = \"it's\"\n"
        "s4 = 'say \"hi\"'\n"
        "s5 = \"a\\b\\\\c\\\"\n"          /* no escapes: backslashes are literal */
        "s6 = \"\"\n"
        "n1 = 42\n"
        "n2 = -7\n"
        "n3 = +3\n"
        "n4 = 9223372036854775807\n"
        "n5 = -9223372036854775808\n"
        "_k.sub_2 = 1\n"
        "\t\n");
    assert_int_equal(c->n_entries, 12);
    assert_string_equal(c->name, "t.conf");

    const vg_conf_entry *e = vg_conf_get(c, "s1");
    assert_non_null(e);
    assert_int_equal(e->type, VG_CONF_STRING);
    assert_string_equal(e->str, "double");
    assert_int_equal(e->line, 3);
    assert_string_equal(vg_conf_get(c, "s2")->str, "single");
    assert_int_equal(vg_conf_get(c, "s2")->line, 4);
    assert_string_equal(vg_conf_get(c, "s3")->str, "it's");
    assert_string_equal(vg_conf_get(c, "s4")->str, "say \"hi\"");
    assert_string_equal(vg_conf_get(c, "s5")->str, "a\\b\\\\c\\");
    assert_string_equal(vg_conf_get(c, "s6")->str, "");

    e = vg_conf_get(c, "n1");
    assert_int_equal(e->type, VG_CONF_INT);
    assert_int_equal(e->num, 42);
    assert_int_equal(vg_conf_get(c, "n2")->num, -7);
    assert_int_equal(vg_conf_get(c, "n3")->num, 3);
    assert_true(vg_conf_get(c, "n4")->num == LLONG_MAX);
    assert_true(vg_conf_get(c, "n5")->num == LLONG_MIN);
    assert_int_equal(vg_conf_get(c, "_k.sub_2")->num, 1);
    assert_int_equal(vg_conf_get(c, "_k.sub_2")->line, 14);
    assert_null(vg_conf_get(c, "missing"));
    assert_null(vg_conf_get(NULL, "s1"));
}

static void test_lists(void **state)
{
    (void)state;
    autoconf vg_conf *c = parse_ok(
        "l1 = [ \"a\", 'b' ]\n"
        "l2 = [\n"
        "    \"x\",\n"
        "\n"
        "    \"y\",\n"
        "]\n"
        "l3 = []\n"
        "l4 = [\n"
        "]\n"
        "l5=[\"only\"]\n"
        "after = 1\n");
    const vg_conf_entry *e = vg_conf_get(c, "l1");
    assert_int_equal(e->type, VG_CONF_LIST);
    assert_int_equal(vg_strv_len(e->list), 2);
    assert_string_equal(e->list[0], "a");
    assert_string_equal(e->list[1], "b");
    e = vg_conf_get(c, "l2");
    assert_int_equal(e->line, 2);
    assert_int_equal(vg_strv_len(e->list), 2);
    assert_string_equal(e->list[1], "y");
    /* empty lists are allocated, never NULL */
    e = vg_conf_get(c, "l3");
    assert_non_null(e->list);
    assert_null(e->list[0]);
    e = vg_conf_get(c, "l4");
    assert_non_null(e->list);
    assert_null(e->list[0]);
    assert_int_equal(e->line, 8);
    assert_string_equal(vg_conf_get(c, "l5")->list[0], "only");
    assert_int_equal(vg_conf_get(c, "after")->line, 11);
}

static void test_separators_and_lines(void **state)
{
    (void)state;
    /* ';' separates like a newline; CRLF; no final newline */
    autoconf vg_conf *c = parse_ok("a = 1; b = \"x\";c=[ \"y\" ]\r\nd = 4;\r\n\r\ne = 5 ; # c\nf = 6");
    assert_int_equal(c->n_entries, 6);
    assert_int_equal(vg_conf_get(c, "a")->line, 1);
    assert_int_equal(vg_conf_get(c, "c")->line, 1);
    assert_int_equal(vg_conf_get(c, "d")->line, 2);
    assert_int_equal(vg_conf_get(c, "e")->line, 4);
    assert_int_equal(vg_conf_get(c, "f")->line, 5);
    assert_int_equal(vg_conf_get(c, "f")->num, 6);

    /* python-style triple quotes may span lines; line counting goes on */
    autoconf vg_conf *t = parse_ok("t = \"\"\"one\n\"two\"\nthree\"\"\"\nn = 1\n");
    assert_string_equal(vg_conf_get(t, "t")->str, "one\n\"two\"\nthree");
    assert_int_equal(vg_conf_get(t, "n")->line, 4);

    /* comments and blank input */
    autoconf vg_conf *e1 = parse_ok("");
    assert_int_equal(e1->n_entries, 0);
    autoconf vg_conf *e2 = parse_ok("\n\n  \t\n# only = 1\n#x = [\n");
    assert_int_equal(e2->n_entries, 0);
    autoconf vg_conf *e3 = parse_ok("a=1#comment right after the value\n");
    assert_int_equal(vg_conf_get(e3, "a")->num, 1);
}

static void test_duplicates(void **state)
{
    (void)state;
    autoconf vg_conf *c = parse_ok("user = \"first\"\nuser = \"second\"\n");
    assert_int_equal(c->n_entries, 2);
    /* as libvirt's virConfGetValue(): the first one */
    assert_string_equal(vg_conf_get(c, "user")->str, "first");
    assert_int_equal(vg_conf_get(c, "user")->line, 1);
    assert_string_equal(c->entries[1].str, "second");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    parse_err("mode \"enforce\"\n", "t.conf:1: expected '=' after key 'mode', got '\"'");
    parse_err("# c\n\nmode\n", "t.conf:3: expected '=' after key 'mode', got end of line");
    parse_err("mode", "t.conf:1: expected '=' after key 'mode', got end of file");
    parse_err("= 1\n", "t.conf:1: expected a key name (letters, digits, '_' and '.', starting "
              "with a letter or '_') or a '#' comment, got '='");
    parse_err("a = 1\n1abc = 2\n", "t.conf:2: expected a key name (letters, digits, '_' and "
              "'.', starting with a letter or '_') or a '#' comment, got '1'");
    parse_err("\x01 = 1\n", "t.conf:1: expected a key name (letters, digits, '_' and '.', "
              "starting with a letter or '_') or a '#' comment, got byte 0x01");
    parse_err("a = 1;;\n", "t.conf:1: expected a key name (letters, digits, '_' and '.', "
              "starting with a letter or '_') or a '#' comment, got ';'");
    parse_err("mode = enforce\n", "t.conf:1: key 'mode': expected a value (a \"string\", a "
              "number or a [ list ]), got 'e'");
    parse_err("mode =", "t.conf:1: key 'mode': expected a value (a \"string\", a number or a "
              "[ list ]), got end of file");
    parse_err("mode =\n\"enforce\"\n", "t.conf:1: key 'mode': expected a value (a \"string\", "
              "a number or a [ list ]), got end of line");
    parse_err("a = 1\nmode = \"enforce\n", "t.conf:2: key 'mode': unterminated string: "
              "expected a closing '\"' on the same line");
    parse_err("mode = 'enf\norce'\n", "t.conf:1: key 'mode': unterminated string: expected a "
              "closing \"'\" on the same line");
    parse_err("mode = \"enforce", "t.conf:1: key 'mode': unterminated string: expected a "
              "closing '\"' on the same line");
    parse_err("\nt = \"\"\"abc\n\ndef\"\"\n", "t.conf:2: key 't': unterminated string: the "
              "\"\"\" string that starts here is never closed with \"\"\"");
    parse_err("x = 5000ms\n", "t.conf:1: key 'x': expected a newline or ';' after the value, "
              "got 'm'");
    parse_err("x = \"a\" \"b\"\n", "t.conf:1: key 'x': expected a newline or ';' after the "
              "value, got '\"'");
    parse_err("a = 1 b = 2\n", "t.conf:1: key 'a': expected a newline or ';' after the value, "
              "got 'b'");
    parse_err("x = -\n", "t.conf:1: key 'x': expected digits after the sign, got end of line");
    parse_err("x = +a\n", "t.conf:1: key 'x': expected digits after the sign, got 'a'");
    parse_err("x = 9223372036854775808\n", "t.conf:1: key 'x': number out of range");
    parse_err("x = -9223372036854775809\n", "t.conf:1: key 'x': number out of range");
    parse_err("x = 99999999999999999999999\n", "t.conf:1: key 'x': number out of range");
}

static void test_list_errors(void **state)
{
    (void)state;
    parse_err("l = [ \"a\" \"b\" ]\n",
              "t.conf:1: key 'l': expected ',' or ']' after a list element, got '\"'");
    parse_err("l = [ \"a\";\"b\" ]\n",
              "t.conf:1: key 'l': expected ',' or ']' after a list element, got ';'");
    parse_err("x = 1\nl = [ \"a\",\n  \"b\"\n",
              "t.conf:2: key 'l': the list that starts here is not closed with ']'");
    parse_err("l = [ \"a\",\n", "t.conf:1: key 'l': the list that starts here is not closed with ']'");
    parse_err("l = [ 1, 2 ]\n", "t.conf:1: key 'l': expected a string (\"...\" or '...') or "
              "']' in the list, got '1'");
    parse_err("l = [ [ \"a\" ] ]\n", "t.conf:1: key 'l': expected a string (\"...\" or '...') "
              "or ']' in the list, got '['");
    parse_err("l = [ , ]\n", "t.conf:1: key 'l': expected a string (\"...\" or '...') or ']' "
              "in the list, got ','");
    parse_err("l = [\n  \"a\", # the first\n  \"b\" ]\n", "t.conf:2: key 'l': comments are not "
              "allowed inside a list (libvirt's conf syntax); move it above the key");
    parse_err("l = [ \"a\nb\" ]\n", "t.conf:1: key 'l': unterminated string: expected a "
              "closing '\"' on the same line");
}

static void test_nul_and_size(void **state)
{
    (void)state;
    static const char nul[] = "a = 1\nb = \"x\0y\"\n";
    parse_err_len(nul, sizeof(nul) - 1, EINVAL, "t.conf:2: embedded NUL byte; the file is not text");

    size_t big = 1024 * 1024 + 1;
    autofree char *text = vg_xmalloc(big + 1);
    memset(text, '#', big);
    text[big] = '\0';
    parse_err_len(text, big, EFBIG, "t.conf: larger than 1 MiB; this is not a config file");
    /* exactly 1 MiB of comment is fine */
    vg_conf *c = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_conf_parse(text, big - 1, "t.conf", &c, &err), 0);
    assert_int_equal(c->n_entries, 0);
    vg_conf_free(c);
}

static void test_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-confparse-XXXXXX";
    assert_non_null(mkdtemp(dir));
    autofree char *missing = vg_xasprintf("%s/missing.conf", dir);
    autofree char *good = vg_xasprintf("%s/good.conf", dir);
    autofree char *bad = vg_xasprintf("%s/bad.conf", dir);
    autofree char *big = vg_xasprintf("%s/big.conf", dir);

    vg_conf *c = NULL;
    autoerror vg_error *e1 = NULL;
    assert_int_equal(vg_conf_read(missing, &c, &e1), -ENOENT);
    assert_null(c);
    autofree char *want1 = vg_xasprintf("cannot read '%s': %s", missing, strerror(ENOENT));
    assert_string_equal(e1->msg, want1);

    autoerror vg_error *e2 = NULL;
    assert_int_equal(vg_conf_read(dir, &c, &e2), -EISDIR);
    assert_null(c);

    const char *text = "# ok\nkey = [ \"v\" ]\n";
    assert_int_equal(vg_write_file_atomic(good, text, strlen(text), 0644), 0);
    autoerror vg_error *e3 = NULL;
    assert_int_equal(vg_conf_read(good, &c, &e3), 0);
    assert_string_equal(c->name, good);
    assert_string_equal(vg_conf_get(c, "key")->list[0], "v");
    assert_int_equal(vg_conf_get(c, "key")->line, 2);
    vg_conf_free(c);
    c = NULL;

    text = "key = 1\nkey2 = \"x\n";
    assert_int_equal(vg_write_file_atomic(bad, text, strlen(text), 0644), 0);
    autoerror vg_error *e4 = NULL;
    assert_int_equal(vg_conf_read(bad, &c, &e4), -EINVAL);
    autofree char *want4 = vg_xasprintf("%s:2: key 'key2': unterminated string: expected a "
                                        "closing '\"' on the same line", bad);
    assert_string_equal(e4->msg, want4);

    size_t n = 1024 * 1024 + 10;
    autofree char *blob = vg_xmalloc(n);
    memset(blob, '\n', n);
    assert_int_equal(vg_write_file_atomic(big, blob, n, 0644), 0);
    autoerror vg_error *e5 = NULL;
    assert_int_equal(vg_conf_read(big, &c, &e5), -EFBIG);
    autofree char *want5 = vg_xasprintf("%s: larger than 1 MiB; this is not a config file", big);
    assert_string_equal(e5->msg, want5);

    unlink(good);
    unlink(bad);
    unlink(big);
    assert_int_equal(rmdir(dir), 0);
}

static void test_real_qemu_conf_syntax(void **state)
{
    (void)state;
    /* libvirt 9.0.0's shipped qemu.conf (all comments) */
    autoconf vg_conf *c = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_conf_read(TEST_DATA_DIR "/conf/qemu-debian12.conf", &c, &err), 0);
    assert_int_equal(c->n_entries, 0);
    autoconf vg_conf *l = NULL;
    assert_int_equal(vg_conf_read(TEST_DATA_DIR "/conf/qemu-lima.conf", &l, &err), 0);
    assert_int_equal(l->n_entries, 12);
    const vg_conf_entry *acl = vg_conf_get(l, "cgroup_device_acl");
    assert_int_equal(vg_strv_len(acl->list), 7);
    assert_string_equal(acl->list[6], "/dev/kvm");
    assert_int_equal(vg_conf_get(l, "migration_port_max")->num, 49215);
    assert_int_equal(vg_conf_get(l, "migration_port_max")->line, 14);
    assert_string_equal(vg_conf_get(l, "nvram")->list[0],
                        "/usr/share/OVMF/OVMF_CODE.fd:/usr/share/OVMF/OVMF_VARS.fd");
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(vg_conf_type_name(VG_CONF_STRING), "string");
    assert_string_equal(vg_conf_type_name(VG_CONF_INT), "number");
    assert_string_equal(vg_conf_type_name(VG_CONF_LIST), "list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_separators_and_lines),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_nul_and_size),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_real_qemu_conf_syntax),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
