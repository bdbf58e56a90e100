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
        /* as macOS prints them (issue 21): the class without its label, the
         * forms without "Sandbox: " and without a pid, "System Policy:",
         * duplicate reports, each log style's head */
        { "2026-05-02 10:20:11.405 E  kernel[0:3a41] (Sandbox) limactl deny(1) "
          "generic-issue-extension extension-class:com.apple.virtualization.extension.fuse",
          "(allow generic-issue-extension (extension-class "
          "\"com.apple.virtualization.extension.fuse\"))" },
        { "limactl deny(1) file-issue-extension target:/Users/dev/x "
          "class:com.apple.app-sandbox.read-write",
          "(allow file-issue-extension (extension-class \"com.apple.app-sandbox.read-write\"))" },
        { "limactl deny(1) generic-issue-extension extension-class: com.apple.x.y",
          "(allow generic-issue-extension (extension-class \"com.apple.x.y\"))" },
        { "Apr  1 22:14:08 mac kernel[0] <Notice>: Sandbox: limactl(12748) System Policy: "
          "deny(1) mach-lookup com.apple.a",
          "(allow mach-lookup (global-name \"com.apple.a\"))" },
        { "2026-05-02 10:20:12.001 E  kernel[0:3a43] (Sandbox) Sandbox: 4 duplicate reports for "
          "limactl deny(1) file-read-data /Users/dev/.lima/_config/user",
          "(allow file-read* (literal \"/Users/dev/.lima/_config/user\"))" },
        { "2026-05-02 10:20:14.000001+0200 0x3a44     Error       0x0                  0      0"
          "    kernel: limactl deny(1) sysctl-read kern.hv_support",
          "(allow sysctl-read (sysctl-name \"kern.hv_support\"))" },
        /* broad: proposed apart, by the judgement (test_task_name) */
        { "2026-05-02 10:20:11.402 E  kernel[0:3a41] (Sandbox) limactl deny(1) mach-task-name",
          "-" },
        /* not Seatbelt denials */
        { "limactl deny(x) mach-task-name", "not parsed" },
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

/* The process and pid of each form. */
static void test_forms(void **state)
{
    static const struct { const char *line, *process; long pid; } cases[] = {
        { "limactl deny(1) mach-task-name", "limactl", -1 },
        { "2026-05-02 10:20:11.402 E  kernel[0:3a41] limactl deny(1) mach-task-name",
          "limactl", -1 },
        { "2026-05-02 10:20:11.402 E  kernel[0:3a41] (Sandbox) Google Chrome Helper (Renderer) "
          "deny(1) mach-task-name", "Google Chrome Helper (Renderer)", -1 },
        { "Sandbox: 1 duplicate report for com.apple.WebKit deny(1) file-read-data /x",
          "com.apple.WebKit", -1 },
        { "kernel: (Sandbox) 1 duplicate report for Sandbox: ollama-sandbox(4615) deny(1) "
          "mach-lookup com.apple.diagnosticd", "ollama-sandbox", 4615 },
        { "error\t09:38:33.527394+0100\tkernel\tSandbox: mds(169) System Policy: deny(1) "
          "file-read-metadata /Users/a", "mds", 169 },
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        vg_stack_log s = { 0 };
        if (!vg_stack_parse_line(&s, cases[i].line, 1))
            fail_msg("not parsed: '%s'", cases[i].line);
        assert_string_equal(s.sb[0].process, cases[i].process);
        assert_int_equal(s.sb[0].pid, cases[i].pid);
        vg_stack_log_clear(&s);
    }
}

/* mach-task-name: the broad rule, apart from the exact ones, and why. */
static void test_task_name(void **state)
{
    vg_stack_log s = { 0 };
    (void)state;
    assert_true(vg_stack_parse_line(&s, "limactl deny(1) mach-task-name", 1));
    assert_true(vg_stack_parse_line(&s, "limactl deny(1) mach-lookup com.apple.a", 2));
    vg_checklist *l = vg_checklist_new("explain");
    vg_stack_judge(&s, l);
    assert_int_equal(l->n, 1);
    assert_string_equal(vg_check_attr_get(&l->v[0], "broad_seatbelt_rules"),
                        "(allow mach-task-name)");
    assert_string_equal(vg_check_attr_get(&l->v[0], "seatbelt_rules"),
                        "(allow mach-lookup (global-name \"com.apple.a\"))");
    assert_non_null(strstr(l->v[0].fix, "\n  (allow mach-lookup (global-name \"com.apple.a\"))\n"));
    assert_non_null(strstr(l->v[0].fix, "}\nonly if the process must have it, also allow, "
                                        "knowing it is broad:\n  (allow mach-task-name)"));
    assert_null(strstr(l->v[0].fix, "exactly these"));
    assert_non_null(strstr(l->v[0].detail, "The one rule that allows it is broad"));
    assert_non_null(strstr(l->v[0].detail, "runs outside the sandbox, where no filter names "
                                           "it by path or pid"));
    assert_non_null(strstr(l->v[0].title, "(pid not logged)"));
    vg_checklist_free(l);
    vg_stack_log_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_process_name),
        cmocka_unit_test(test_other_lines),
        cmocka_unit_test(test_unconfined),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_task_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
