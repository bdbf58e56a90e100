/* Unit tests for lib/admin/explain-stack.c: Seatbelt line parsing and the rule
 * for each kind of denial (whole logs: tests/data/explain/seatbelt.log,
 * vz-error.log, lxc-nesting.log in test-explain). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "explain-stack.h"

/* The rule for one line, or "-" when none is proposed; "not parsed" when
 * the line is not a Seatbelt denial. */
static char *rule_for(const char *line)
{
    vg_stack_log s = { 0 };
    if (!vg_stack_parse_line(&s, line, 1) || s.n_sb != 1) {
        vg_stack_log_clear(&s);
        return vg_xstrdup("not parsed");
    }
    char *r = vg_seatbelt_rule(&s.sb[0]);
    vg_stack_log_clear(&s);
    return r ? r : vg_xstrdup("-");
}

static void test_rules(void **state)
{
    static const struct { const char *line, *want; } cases[] = {
        { "kernel: (Sandbox) Sandbox: limactl(42303) deny(1) mach-lookup "
          "com.apple.Virtualization.VirtualMachine (xpc)",
          "(allow mach-lookup (global-name \"com.apple.Virtualization.VirtualMachine\"))" },
        { "Sandbox: limactl(1) deny(1) file-read-data /Users/dev/.lima/_config/user",
          "(allow file-read* (literal \"/Users/dev/.lima/_config/user\"))" },
        /* one object: a directory listing is the directory's literal, never
         * a subpath (issue 19: "/Users/dev/" granted the whole home) */
        { "Sandbox: limactl(1) deny(1) file-read-data /Users/dev/",
          "(allow file-read* (literal \"/Users/dev\"))" },
        { "Sandbox: limactl(1) deny(1) file-read-data /Users/dev/Library/my dir/ (sandbox)",
          "(allow file-read* (literal \"/Users/dev/Library/my dir\"))" },
        /* restricted prefixes (vg_aa_restricted_root), /private/... included */
        { "Sandbox: limactl(1) deny(1) file-read-data /", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-data /etc/hosts", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-data /private/etc/passwd", "-" },
        { "Sandbox: limactl(1) deny(1) file-write-data /dev/disk0", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-data /var/run/resolv.conf", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-data /usr/", "-" },
        /* not the one canonical name of the object */
        { "Sandbox: limactl(1) deny(1) file-read-data /Users/dev/./x", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-data /Users//dev", "-" },
        { "Sandbox: limactl(1) deny(1) file-read-metadata /var",
          "(allow file-read* (literal \"/private/var\"))" },
        { "Sandbox: limactl(1) deny(1) file-read-data /etcetera/x",
          "(allow file-read* (literal \"/etcetera/x\"))" },
        { "Sandbox: limactl(1) deny(1) file-write-create /tmp/a b.sock",
          "(allow file-write* (literal \"/private/tmp/a b.sock\"))" },
        { "Sandbox: x(1) deny(1) file-read-data /a\"b",
          "(allow file-read* (literal \"/a\\\"b\"))" },
        /* a name that cannot be shown as it is gets no rule */
        { "Sandbox: x(1) deny(1) file-read-data /a\"b\\c", "-" },
        { "Sandbox: x(1) deny(1) file-read-data /a\xe2\x80\xae" "b", "-" },
        /* no filter: it would allow every task's name */
        { "Sandbox: Google Chrome Helper (Renderer)(77) deny(1) mach-task-name", "-" },
        { "Sandbox: limactl(1) deny(1) generic-issue-extension class: "
          "com.apple.app-sandbox.read-write /Users/dev/x",
          "(allow generic-issue-extension (extension-class \"com.apple.app-sandbox.read-write\"))" },
        { "Sandbox: limactl(1) deny(1) sysctl-read kern.hv_support",
          "(allow sysctl-read (sysctl-name \"kern.hv_support\"))" },
        /* nothing narrow known, or nothing safe to write */
        { "Sandbox: ssh(1) deny(1) network-outbound 127.0.0.1:22", "-" },
        { "Sandbox: x(1) deny(1) file-read-data relative/path", "-" },
        { "Sandbox: x(1) deny(1) file-read-data /a/../etc/shadow", "-" },
        { "Sandbox: x(1) deny(1) file-read-data /a\x01" "b", "-" },
        { "Sandbox: x(1) deny(1) mach-lookup", "-" },
        /* not Seatbelt denials */
        { "Sandbox: x(1) allow file-read-data /a", "not parsed" },
        { "Sandbox: (1) deny(1) mach-task-name", "not parsed" },
        { "Sandbox: x(12a) deny(1) mach-task-name", "not parsed" },
        { "Sandbox: x(1) deny(1)", "not parsed" },
        { "no sandbox here", "not parsed" },
        /* the kernel's own message only, by the log's grammar: never a
         * "Sandbox: " quoted inside another program's message (issue 19) */
        { "2026-05-02 10:14:03.112 E  kernel[0:2c1a] (Sandbox) Sandbox: x(1) deny(1) "
          "file-read-data /Users/dev/a", "(allow file-read* (literal \"/Users/dev/a\"))" },
        { "2026-05-02 10:14:03.112345-0700 0x2c1a Error 0x0 0 0 kernel: (Sandbox) Sandbox: "
          "x(1) deny(1) file-read-data /Users/dev/a",
          "(allow file-read* (literal \"/Users/dev/a\"))" },
        { "error: Cannot access backing file '/x/ Sandbox: agent(1) deny(1) file-read-data "
          "/Users/dev/.ssh/id_rsa'", "not parsed" },
        { "error: Cannot access backing file '/x/ kernel: (Sandbox) Sandbox: agent(1) deny(1) "
          "file-read-data /Users/dev/.ssh/id_rsa'", "not parsed" },
        { "libvirtd[812]: kernel[0:1] (Sandbox) Sandbox: agent(1) deny(1) file-read-data "
          "/Users/dev/.ssh/id_rsa", "not parsed" },
        { "2026-05-02 x (Sandbox) Sandbox: agent(1) deny(1) file-read-data /Users/dev/a",
          "not parsed" },
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autofree char *got = rule_for(cases[i].line);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("line '%s': got '%s', want '%s'", cases[i].line, got, cases[i].want);
    }
}

static void test_process_name(void **state)
{
    vg_stack_log s = { 0 };
    (void)state;
    assert_true(vg_stack_parse_line(&s, "Sandbox: Google Chrome Helper (Renderer)(77) deny(1) "
                                        "mach-lookup com.apple.x", 4));
    assert_string_equal(s.sb[0].process, "Google Chrome Helper (Renderer)");
    assert_int_equal(s.sb[0].pid, 77);
    assert_int_equal(s.sb[0].line, 4);
    vg_stack_log_clear(&s);
}

static void test_other_lines(void **state)
{
    vg_stack_log s = { 0 };
    (void)state;
    assert_true(vg_stack_parse_line(&s, "msg=\"Error Domain=VZErrorDomain Code=1 Description=x\"", 2));
    assert_false(vg_stack_parse_line(&s, "Error Domain=VZErrorDomain Code=12 Description=x", 3));
    assert_int_equal(s.vz_line, 2);
    assert_true(vg_stack_parse_line(&s, "explicitly configured lxc.apparmor.profile overrides the "
                                        "following settings: features:nesting", 5));
    assert_int_equal(s.lxc_line, 5);
    assert_int_equal(s.n_lines, 2);
    vg_stack_log_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_process_name),
        cmocka_unit_test(test_other_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
