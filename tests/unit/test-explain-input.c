/* Tests for lib/admin/explain-input.c: text as people paste it (a JSON
 * error body wrapped by a terminal, a wrapped QEMU error, Go log strings)
 * → logical lines; joined or unwrapped lines are marked from_message and
 * are never read as kernel records.  The judgement of the same texts:
 * test-explain.c (test_pasted_*). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "explain-input.h"

/* The API error body, as a 52-column terminal cuts it: five
 * lines, each but the last exactly 52 bytes, cut mid-word. */
#define JSON_ERROR                                                                         \
    "{\"error\":\"sandbox start sbx-7f3a failed: exit status\n"                          \
    " 1: error: Failed to start domain 'sbx-7f3a'\\nerror:\n"                             \
    " Cannot access storage file '/var/lib/libvirt/images\n"                              \
    "/jobs/sbx-7f3a/cloud-init.iso': No such file or dire\n"                              \
    "ctory\",\"code\":500}\n"

static void test_json_body_wrapped(void **state)
{
    vg_input in;
    (void)state;
    vg_input_split(JSON_ERROR, strlen(JSON_ERROR), &in);
    assert_int_equal(in.n_physical, 5);
    assert_int_equal(in.n, 2);
    assert_string_equal(in.v[0].text, "sandbox start sbx-7f3a failed: exit status 1: error: "
                                      "Failed to start domain 'sbx-7f3a'");
    assert_string_equal(in.v[1].text, "error: Cannot access storage file '/var/lib/libvirt/"
                                      "images/jobs/sbx-7f3a/cloud-init.iso': No such file or "
                                      "directory");
    for (size_t i = 0; i < in.n; i++) {
        assert_true(in.v[i].from_message);
        assert_int_equal(in.v[i].line, 1);
        assert_int_equal(in.v[i].n_physical, 5);
    }
    vg_input_clear(&in);
}

/* A JSON string value with \", \u0027 and \\ escapes; the document on one
 * line; a second document after it. */
static void test_json_escapes(void **state)
{
    const char *text =
        "{\"message\": \"error: Could not open \\u0027/srv/a \\\"b\\\"\\u0027: Permission denied\","
        " \"details\": [\"x\\\\y\", 1, true, null, {\"k\": \"\\ud83d\\ude00\"}]}\n"
        "[\"one\\ntwo\"]\n";
    vg_input in;
    (void)state;
    vg_input_split(text, strlen(text), &in);
    assert_int_equal(in.n, 5);
    assert_string_equal(in.v[0].text, "error: Could not open '/srv/a \"b\"': Permission denied");
    assert_string_equal(in.v[1].text, "x\\y");
    assert_string_equal(in.v[2].text, "\xf0\x9f\x98\x80");
    assert_string_equal(in.v[3].text, "one");
    assert_string_equal(in.v[4].text, "two");
    assert_int_equal(in.v[3].line, 2);
    vg_input_clear(&in);
}

/* "Could not open" cut by an 80-column terminal after "': P". */
static void test_terminal_wrap(void **state)
{
    const char *text =
        "error: Could not open '/var/lib/libvirt/images/jobs/sbx-1/disk-overlay.qcow2': P\n"
        "ermission denied\n";
    vg_input in;
    (void)state;
    assert_int_equal(strchr(text, '\n') - text, 80);
    vg_input_split(text, strlen(text), &in);
    assert_int_equal(in.n, 1);
    assert_string_equal(in.v[0].text, "error: Could not open '/var/lib/libvirt/images/jobs/"
                                      "sbx-1/disk-overlay.qcow2': Permission denied");
    assert_true(in.v[0].from_message);
    assert_int_equal(in.v[0].n_physical, 2);
    vg_input_clear(&in);
}

/* A Go log line: msg="..." with \n and \" escapes, cut in two. */
static void test_go_log_string(void **state)
{
    const char *text =
        "time=\"2026-05-02T10:14:04Z\" level=error msg=\"start failed: error: Failed to start "
        "domain 'sbx-1'\\nerror: Cannot access storage file '/p/x.iso': No such file or dire\n"
        "ctory\" code=500\n"
        "level=fatal msg=\"Error Domain=VZErrorDomain Code=1 Description=\\\"Internal\\\"\"\n";
    vg_input in;
    (void)state;
    vg_input_split(text, strlen(text), &in);
    assert_int_equal(in.n, 3);
    assert_string_equal(in.v[0].text, "start failed: error: Failed to start domain 'sbx-1'");
    assert_string_equal(in.v[1].text, "error: Cannot access storage file '/p/x.iso': No such "
                                      "file or directory");
    assert_int_equal(in.v[1].n_physical, 2);
    assert_string_equal(in.v[2].text, "Error Domain=VZErrorDomain Code=1 Description=\"Internal\"");
    assert_int_equal(in.v[2].line, 3);
    assert_true(in.v[0].from_message && in.v[1].from_message && in.v[2].from_message);
    vg_input_clear(&in);
}

/* What must stay as it is: lines of their own, log lines with heads,
 * indented continuations, short lines, documents that never close. */
static void test_no_join(void **state)
{
    static const char *const kept[] = {
        /* the next line starts a line of its own */
        "explicitly configured lxc.apparmor.profile overrides the following settings: "
        "features:nesting\nTASK WARNINGS: 1\n",
        "error: Could not open '/var/lib/libvirt/images/jobs/sbx-1/x.qcow2': Permission denied\n"
        "error: Could not open '/y': No such file or directory\n",
        "[   12.345678] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\"\n"
        "[   12.345679] audit: type=1400 audit(1.2:4): apparmor=\"DENIED\" operation=\"open\"\n",
        "May  2 10:14:03 host kernel: audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" x=1\n"
        "May  2 10:14:03 host kernel: audit: type=1400 audit(1.2:4): apparmor=\"DENIED\" x=2\n",
        "error: Hook script execution failed: internal error: Child process (...) unexpected\n"
        "qemu-img: /var/lib/libvirt/images/x.qcow2: Could not open: Permission denied\n"
        "  mounts:\n",
        /* the next line is longer: not a cut at the same width */
        "error: Could not open '/var/lib/libvirt/images/a.qcow2': Permission denied\n"
        "next line of text that is clearly longer than the line before it, by far and away\n",
        /* short lines are never cut lines */
        "hello\nworld\n",
        /* a document that never closes */
        "{\"error\": \"unterminated\n",
        "[   12.3] not json\n",
        /* a string that does not hold an escape */
        "msg=\"plain\"\n",
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(kept); i++) {
        vg_input in;
        vg_input_split(kept[i], strlen(kept[i]), &in);
        if (in.n != in.n_physical)
            fail_msg("case %zu: %zu logical lines from %zu", i, in.n, in.n_physical);
        for (size_t k = 0; k < in.n; k++)
            assert_false(in.v[k].from_message);
        vg_input_clear(&in);
    }
}

/* An AppArmor record quoted in an error body comes out of it marked as
 * from a message. */
static void test_record_in_message(void **state)
{
    const char *text = "{\"error\":\"audit: type=1400 audit(1.2:3): apparmor=\\\"DENIED\\\" "
                       "operation=\\\"open\\\" profile=\\\"libvirt-x\\\" name=\\\"/etc/shadow\\\"\"}\n";
    vg_input in;
    (void)state;
    vg_input_split(text, strlen(text), &in);
    assert_int_equal(in.n, 1);
    assert_non_null(strstr(in.v[0].text, "apparmor=\"DENIED\""));
    assert_true(in.v[0].from_message);
    vg_input_clear(&in);
}

static void test_string_decode(void **state)
{
    const char *end = NULL;
    char *s;
    (void)state;
    s = vg_json_string_decode("\"a\\tb\\/c\" rest", &end);
    assert_string_equal(s, "a\tb/c");
    assert_string_equal(end, " rest");
    free(s);
    assert_null(vg_json_string_decode("\"open", &end));
    assert_null(vg_json_string_decode("\"bad \\x\"", &end));
    assert_null(vg_json_string_decode("\"nul \\u0000\"", &end));
    assert_null(vg_json_string_decode("\"lone \\udc00\"", &end));
    assert_null(vg_json_string_decode("\"raw\ttab\"", &end));
    assert_null(vg_json_string_decode("no quote", &end));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_body_wrapped),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_terminal_wrap),
        cmocka_unit_test(test_go_log_string),
        cmocka_unit_test(test_no_join),
        cmocka_unit_test(test_record_in_message),
        cmocka_unit_test(test_string_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
