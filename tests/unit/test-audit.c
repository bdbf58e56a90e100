/* Tests for lib/admin/audit.c: the /proc scan against a fake /proc (cmdline,
 * status, attr/current as fixture files), the rules check against a fake
 * AppArmor dir, and the judgement. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "aa-profile.h"
#include "audit.h"

#define U1 "6a2f1c3e-5b7d-4e21-9c3a-0d8e4f6a7b12"
#define U2 "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define U3 "11111111-2222-3333-4444-555555555555"

static char root[64];

static void put(const char *rel, const char *data, size_t len)
{
    char *path = vg_xasprintf("%s%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            (void)mkdir(path, 0755);
            *p = '/';
        }
    }
    assert_int_equal(vg_write_file_atomic(path, data, len, 0644), 0);
    free(path);
}

static void put_proc(int pid, const char *argv0, const char *name, const char *uuid,
                     unsigned uid, const char *label)
{
    char *rel = vg_xasprintf("/proc/%d/cmdline", pid);
    vg_buf b = { 0 };
    vg_buf_add(&b, argv0);
    vg_buf_addc(&b, '\0');
    if (name) {
        vg_buf_add(&b, "-name");
        vg_buf_addc(&b, '\0');
        vg_buf_printf(&b, "guest=%s,debug-threads=on", name);
        vg_buf_addc(&b, '\0');
    }
    if (uuid) {
        vg_buf_add(&b, "-uuid");
        vg_buf_addc(&b, '\0');
        vg_buf_add(&b, uuid);
        vg_buf_addc(&b, '\0');
    }
    put(rel, b.s, b.len);
    vg_buf_clear(&b);
    free(rel);
    rel = vg_xasprintf("/proc/%d/status", pid);
    char *st = vg_xasprintf("Name:\tqemu\nUid:\t%u\t%u\t%u\t%u\nGid:\t64055\t64055\t64055\t64055\n",
                            uid, uid, uid, uid);
    put(rel, st, strlen(st));
    free(st);
    free(rel);
    rel = vg_xasprintf("/proc/%d/attr/current", pid);
    put(rel, label, strlen(label));
    free(rel);
}

/* The label lookup the CLI does with aa_gettaskcon, here from fixture files. */
static int fixture_label(int pid, char **label, char **mode, void *opaque)
{
    char *path = vg_xasprintf("%s/proc/%d/attr/current", (const char *)opaque, pid);
    char *text = NULL;
    int r = vg_read_file(path, 4096, &text, NULL);
    free(path);
    if (r < 0)
        return r;
    vg_audit_split_label(text, label, mode);
    free(text);
    return 0;
}

static int setup(void **state)
{
    snprintf(root, sizeof(root), "/tmp/vg-audit-XXXXXX");
    assert_non_null(mkdtemp(root));
    put_proc(4100, "/usr/bin/qemu-system-x86_64", "sbx-1", U1, 64055,
             "libvirt-" U1 " (enforce)\n");
    put_proc(4200, "/usr/bin/qemu-system-x86_64", "sbx,,2", U2, 1000, "unconfined\n");
    put_proc(4300, "qemu-system-aarch64", "stray", U3, 0, "unconfined\n");
    put_proc(4400, "/bin/bash", NULL, NULL, 0, "unconfined\n");
    put("/proc/self/cmdline", "x", 1);
    return 0;
}

static int teardown(void **state)
{
    char *cmd = vg_xasprintf("rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static int by_pid(const void *a, const void *b)
{
    return ((const vg_audit_proc *)a)->pid - ((const vg_audit_proc *)b)->pid;
}

static void test_scan(void **state)
{
    char *proc = vg_xasprintf("%s/proc", root);
    vg_audit_proc *p = NULL;
    size_t n = 0;
    assert_int_equal(vg_audit_scan_proc(proc, fixture_label, root, &p, &n, NULL), 0);
    assert_int_equal(n, 3);             /* bash is not QEMU */
    qsort(p, n, sizeof(*p), by_pid);
    assert_string_equal(p[0].guest, "sbx-1");
    assert_string_equal(p[0].uuid, U1);
    assert_int_equal(p[0].uid, 64055);
    assert_string_equal(p[0].label, "libvirt-" U1);
    assert_string_equal(p[0].mode, "enforce");
    assert_string_equal(p[1].guest, "sbx,2");    /* ",," is a comma */
    assert_string_equal(p[1].mode, "unconfined");
    assert_int_equal(p[1].uid, 1000);
    vg_audit_procs_free(p, n);

    vg_error *err = NULL;
    assert_true(vg_audit_scan_proc("/nonexistent-proc", NULL, NULL, &p, &n, &err) < 0);
    assert_non_null(strstr(err->msg, "'/nonexistent-proc'"));
    vg_error_free(err);
    free(proc);
}

static void test_split_label(void **state)
{
    char *l, *m;
    vg_audit_split_label("libvirt-" U1 " (complain)\n", &l, &m);
    assert_string_equal(l, "libvirt-" U1);
    assert_string_equal(m, "complain");
    free(l);
    free(m);
    vg_audit_split_label("/usr/sbin/my (odd) daemon (enforce)", &l, &m);
    assert_string_equal(l, "/usr/sbin/my (odd) daemon");
    assert_string_equal(m, "enforce");
    free(l);
    free(m);
    vg_audit_split_label("unconfined", &l, &m);
    assert_string_equal(l, "unconfined");
    assert_string_equal(m, "unconfined");
    free(l);
    free(m);
}

static void test_judge(void **state)
{
    char *proc = vg_xasprintf("%s/proc", root);
    vg_audit_proc *p = NULL;
    size_t n = 0;
    assert_int_equal(vg_audit_scan_proc(proc, fixture_label, root, &p, &n, NULL), 0);
    vg_config *cfg = vg_config_new_default();
    vg_audit_domain doms[3] = {
        { .name = (char *)"sbx-1", .uuid = (char *)U1, .id = 1 },
        { .name = (char *)"sbx,2", .uuid = (char *)U2, .id = 2 },
        { .name = (char *)"ghost", .uuid = (char *)"99999999-2222-3333-4444-555555555555", .id = 3 },
    };
    vg_audit_input in = { .cfg = cfg, .aa_enabled = true, .doms = doms, .n_doms = 3,
                          .procs = p, .n_procs = n };
    vg_checklist *l = vg_audit_judge(&in);
    char *text = vg_checklist_format(l, false);
    /* sbx-1 confined: PASS; sbx,2 unconfined: FAIL (enforce); ghost: no
     * process (WARN); the stray QEMU libvirt does not know: FAIL */
    assert_non_null(strstr(text, "domain 'sbx-1': pid 4100, uid 64055 gid 64055, AppArmor "
                                 "libvirt-" U1 " (enforce)"));
    const vg_check *c = vg_checklist_find(l, "audit", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "domain 'sbx,2'"));
    assert_string_equal(vg_check_attr_get(c, "mode"), "unconfined");
    size_t fails = vg_checklist_count(l, VG_CHECK_FAIL);
    assert_int_equal(fails, 2);
    assert_non_null(strstr(text, "QEMU pid 4300 (guest 'stray', UUID " U3 ") is not a running "
                                 "libvirt domain"));
    assert_non_null(strstr(text, "domain 'ghost' (99999999-2222-3333-4444-555555555555): no "
                                 "QEMU process"));
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_PROBLEMS);
    free(text);
    vg_checklist_free(l);

    /* dev mode: unconfined is a warning, the unknown QEMU still fails */
    cfg->mode = VG_MODE_DEV;
    l = vg_audit_judge(&in);
    assert_int_equal(vg_checklist_count(l, VG_CHECK_FAIL), 1);
    vg_checklist_free(l);

    vg_config_free(cfg);
    vg_audit_procs_free(p, n);
    free(proc);
}

static void test_rules(void **state)
{
    /* A domain with a disk on the shared mount; its rules on disk in a fake
     * AppArmor dir: missing, stale, then matching. */
    char *images = vg_xasprintf("%s/images", root);
    char *aadir = vg_xasprintf("%s/apparmor.d", root);
    char *conf = vg_xasprintf("shared_mounts = [ \"%s\" ]\napparmor = \"on\"\n", images);
    vg_config *cfg = NULL;
    assert_int_equal(vg_config_parse(conf, strlen(conf), "t.conf", &cfg, NULL), 0);
    put("/images/disk.raw", "x", 1);
    vg_audit_domain d = { .name = vg_xstrdup("sbx-1"), .uuid = vg_xstrdup(U1), .id = 1 };
    d.xml = vg_xasprintf("<domain type='qemu'><name>sbx-1</name><uuid>" U1 "</uuid><devices>"
                         "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                         "<source file='%s/disk.raw'/><target dev='vda'/></disk></devices>"
                         "</domain>", images);
    vg_audit_read_rules(cfg, aadir, &d);
    assert_true(d.needs_rules);
    assert_non_null(d.rules_expected);
    assert_null(d.rules_actual);
    vg_audit_proc pr = { .pid = 1, .uuid = (char *)U1, .label = (char *)"libvirt-" U1,
                         .mode = (char *)"enforce" };
    vg_audit_input in = { .cfg = cfg, .aa_enabled = true, .doms = &d, .n_doms = 1,
                          .procs = &pr, .n_procs = 1,
                          .profiles = "libvirt-" U1 " (enforce)\n" };
    vg_checklist *l = vg_audit_judge(&in);
    const vg_check *c = vg_checklist_find(l, "rules", VG_CHECK_FAIL);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "not in place"));
    vg_checklist_free(l);

    /* stale rules, included by the profile */
    put("/apparmor.d/libvirt/libvirt-" U1 ".virtguard", "  # old\n", 8);
    const char *main_text = "profile libvirt-" U1 " {\n  #include if exists "
                            "<libvirt/libvirt-" U1 ".virtguard>\n}\n";
    put("/apparmor.d/libvirt/libvirt-" U1, main_text, strlen(main_text));
    free(d.rules_expected);
    d.rules_expected = NULL;
    vg_audit_read_rules(cfg, aadir, &d);
    assert_true(d.profile_includes);
    l = vg_audit_judge(&in);
    c = vg_checklist_find(l, "rules", VG_CHECK_WARN);
    assert_non_null(c);
    assert_non_null(strstr(c->title, "differ"));
    vg_checklist_free(l);

    /* the rules the helper would write: PASS */
    put("/apparmor.d/libvirt/libvirt-" U1 ".virtguard", d.rules_expected,
        strlen(d.rules_expected));
    free(d.rules_actual);
    d.rules_actual = NULL;
    free(d.rules_expected);
    d.rules_expected = NULL;
    vg_audit_read_rules(cfg, aadir, &d);
    l = vg_audit_judge(&in);
    assert_non_null(vg_checklist_find(l, "rules", VG_CHECK_PASS));
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_OK);
    vg_checklist_free(l);

    vg_audit_domain_clear(&d);
    vg_config_free(cfg);
    free(conf);
    free(aadir);
    free(images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_split_label),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
