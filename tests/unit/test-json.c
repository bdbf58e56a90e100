/* Unit tests for lib/base/json.c, the one JSON writer, and for the JSON of the
 * admin reports (checklist.c) and of `virtguard paths` (domain-model.c),
 * which both go through it. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "checklist.h"
#include "domain-paths.h"
#include "json.h"

static char *json_of(const char *s)
{
    vg_buf b = { 0 };
    vg_json_string(&b, s);
    return vg_buf_steal(&b);
}

static void test_string(void **state)
{
    (void)state;
    struct { const char *in, *out; } cases[] = {
        /* valid UTF-8 is kept as it is: démo.iso, not dÃ©mo.iso */
        { "d\xc3\xa9mo.iso", "\"d\xc3\xa9mo.iso\"" },
        { "\xe2\x82\xac \xf0\x9f\x92\xbe", "\"\xe2\x82\xac \xf0\x9f\x92\xbe\"" },
        { "q\"b\\", "\"q\\\"b\\\\\"" },
        { "\n\t\r\x01\x1f\x7f", "\"\\n\\t\\r\\u0001\\u001f\\u007f\"" },
        /* C1 controls (U+0085 NEL, U+009B CSI) are escaped, not passed to a terminal */
        { "a\xc2\x85" "b\xc2\x9b", "\"a\\u0085b\\u009b\"" },
        /* bytes that are not UTF-8: the replacement character, output stays valid */
        { "\xe9t\xe9", "\"\\ufffdt\\ufffd\"" },
        { "\xc3", "\"\\ufffd\"" },
        { "\xc0\xaf", "\"\\ufffd\\ufffd\"" },            /* overlong '/' */
        { "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" }, /* surrogate */
        { "", "\"\"" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autofree char *got = json_of(cases[i].in);
        assert_string_equal(got, cases[i].out);
    }
    autofree char *null = json_of(NULL);
    assert_string_equal(null, "null");
}

static void test_members(void **state)
{
    (void)state;
    vg_buf b = { 0 };
    vg_buf_addc(&b, '{');
    vg_json_key(&b, "a", true);
    vg_json_string(&b, "x");
    vg_json_member_number(&b, "n", -12);
    vg_json_member_bool(&b, "t", true);
    vg_json_member_string(&b, "s", NULL);
    vg_buf_addc(&b, '}');
    autofree char *got = vg_buf_steal(&b);
    assert_string_equal(got, "{\"a\":\"x\",\"n\":-12,\"t\":true,\"s\":null}");
}

/* The admin reports: UTF-8 kept, counts are numbers, strings stay strings
 * even when they look like numbers (a domain named "42"). */
static void test_checklist(void **state)
{
    (void)state;
    autochecklist vg_checklist *l = vg_checklist_new("explain");
    vg_check *c = vg_checklist_add(l, VG_CHECK_FAIL, "missing-file",
                                   "'/var/lib/libvirt/images/d\xc3\xa9mo.iso' does not exist");
    vg_check_attr_set(c, "path", "%s", "/var/lib/libvirt/images/d\xc3\xa9mo.iso");
    vg_check_attr_set(c, "domain", "%s", "42");
    vg_check_attr_number(c, "line", 3);
    vg_checklist_summary_number(l, "lines", 3);
    autofree char *json = vg_checklist_json(l);
    assert_string_equal(json,
        "{\"command\":\"explain\",\"status\":\"fail\",\"exit\":1,\"passed\":0,\"warnings\":0,"
        "\"failures\":1,\"lines\":3,\"checks\":[\n"
        "{\"status\":\"fail\",\"topic\":\"missing-file\","
        "\"title\":\"'/var/lib/libvirt/images/d\xc3\xa9mo.iso' does not exist\","
        "\"detail\":null,\"fix\":null,\"path\":\"/var/lib/libvirt/images/d\xc3\xa9mo.iso\","
        "\"domain\":\"42\",\"line\":3}]}\n");

    /* an incomplete report: exit 2, the reason in JSON and in the text */
    vg_checklist_incomplete(l, "cannot read '%s': Permission denied.", "/etc/libvirt/qemu.conf");
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_CANNOT_RUN);
    autofree char *json2 = vg_checklist_json(l);
    assert_non_null(strstr(json2, "\"exit\":2,"));
    assert_non_null(strstr(json2, ",\"incomplete\":[\"cannot read '/etc/libvirt/qemu.conf': "
                                  "Permission denied.\"],\"checks\":["));
    autofree char *text = vg_checklist_format(l, false);
    assert_non_null(strstr(text, "\nincomplete: cannot read '/etc/libvirt/qemu.conf': "
                                 "Permission denied.\nvirtguard explain: 0 passed"));
}

/* Arrays of numbers and nested objects (explain's "pids", "nono_profile")
 * are JSON values, not strings holding JSON; their strings still go
 * through the escaper. */
static void test_nested(void **state)
{
    (void)state;
    autochecklist vg_checklist *l = vg_checklist_new("explain");
    vg_check *c = vg_checklist_add(l, VG_CHECK_FAIL, "explain", "t");
    const long long pids[] = { 42303, 42310 };
    vg_check_attr_numbers(c, "pids", pids, 2);
    vg_check_attr_numbers(c, "none", NULL, 0);
    vg_buf o = { 0 };
    vg_buf_addc(&o, '{');
    vg_json_key(&o, "read_file", true);
    vg_buf_addc(&o, '[');
    vg_json_string(&o, "/a \"q\"\n");
    vg_buf_add(&o, "]}");
    vg_check_attr_json(c, "nono_profile", vg_buf_steal(&o));
    assert_string_equal(vg_check_attr_get(c, "pids"), "[42303,42310]");
    autofree char *json = vg_checklist_json(l);
    assert_non_null(strstr(json, ",\"fix\":null,\"pids\":[42303,42310],\"none\":[],"
                                 "\"nono_profile\":{\"read_file\":[\"/a \\\"q\\\"\\n\"]}}]}\n"));
}

/* `virtguard paths --json` goes through the same writer. */
static void test_domain_paths(void **state)
{
    (void)state;
    vg_domain_path p = { .role = VG_ROLE_CDROM, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                         .path = (char *)"/i/d\xc3\xa9mo\xff.iso", .depth = 2 };
    vg_domain d = { .name = (char *)"d\xc3\xa9mo", .paths = &p, .n_paths = 1 };
    autofree char *json = vg_domain_paths_format(&d, true);
    assert_non_null(strstr(json, "{\"domain\":\"d\xc3\xa9mo\","));
    assert_non_null(strstr(json, "\"path\":\"/i/d\xc3\xa9mo\\ufffd.iso\","));
    assert_non_null(strstr(json, "\"depth\":2}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_checklist),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_domain_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
