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

/* Issue 21: an unconfined LXC/Proxmox container and aa-status's count. */
static void test_unconfined(void **state)
{
    vg_stack_log s = { 0 };
    (void)state;
    assert_true(vg_stack_parse_line(&s, "lxc.apparmor.profile: unconfined", 3));
    assert_int_equal(s.unconfined_line, 3);
    assert_int_equal(s.unconfined_sep, ':');
    assert_null(s.unconfined_file);
    assert_true(vg_stack_parse_line(&s, "2 processes are unconfined but have a profile defined.",
                                    7));
    assert_int_equal(s.aa_unconfined_n, 2);
    assert_true(vg_stack_parse_line(&s, "0 processes are unconfined but have a profile defined.",
                                    8));
    assert_int_equal(s.aa_unconfined_line, 7);
    vg_stack_log_clear(&s);

    assert_true(vg_stack_parse_line(&s, "/var/lib/lxc/c1/config:lxc.apparmor.profile = unconfined",
                                    1));
    assert_int_equal(s.unconfined_sep, '=');
    assert_string_equal(s.unconfined_file, "/var/lib/lxc/c1/config");
    vg_checklist *l = vg_checklist_new("explain");
    vg_stack_judge(&s, l);
    assert_int_equal(l->n, 1);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "lxc-unconfined");
    assert_non_null(strstr(l->v[0].fix, "in /var/lib/lxc/c1/config:\n  lxc.apparmor.profile = "
                                        "generated\n"));
    assert_non_null(strstr(l->v[0].fix, "'apparmor_parser -Q /etc/apparmor.d/FILE'"));
    vg_checklist_free(l);
    vg_stack_log_clear(&s);

    /* not those lines */
    assert_false(vg_stack_parse_line(&s, "lxc.apparmor.profile: generated", 1));
    assert_false(vg_stack_parse_line(&s, "# lxc.apparmor.profile: unconfined", 1));
    assert_false(vg_stack_parse_line(&s, "lxc.apparmor.profile: unconfined-ish", 1));
    assert_false(vg_stack_parse_line(&s, "some processes are unconfined", 1));
    vg_stack_log_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_process_name),
        cmocka_unit_test(test_other_lines),
        cmocka_unit_test(test_unconfined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
