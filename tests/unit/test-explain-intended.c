/* `virtguard explain` never advises widening a profile to a file the
 * domain does not use: DENIED records judged against the domains of
 * libvirt's XML files (lib/admin/domain-files.c).  Fixtures:
 * tests/data/explain/libvirt/{run,etc} (a running sbx-1 with its backing
 * chain in the status file; sbx-2 and sbx-3 defined), intended.log; golden
 * output intended.out / intended.json.  Regenerate after an intended change:
 *   VG_REGENERATE=1 make check TESTS=tests/unit/test-explain-intended */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "explain.h"
#include "helpers.h"

#define DIR TEST_DATA_DIR "/explain"
#define U1 "6a2f1c3e-5b7d-4e21-9c3a-0d8e4f6a7b12"

static void test_domain_files(void **state)
{
    vg_domain_files *v = NULL;
    size_t n = 0;
    (void)state;
    vg_domain_files_load("libvirt/etc", "libvirt/run", NULL, &v, &n);
    assert_int_equal(n, 3);
    const vg_domain_files *a = vg_domain_files_find(v, n, "6A2F1C3E-5B7D-4E21-9C3A-0D8E4F6A7B12");
    assert_non_null(a);
    /* the running domain's status file wins over its definition */
    assert_string_equal(a->source, "libvirt/run/sbx-1.xml");
    assert_true(vg_domain_files_has(a, "/var/lib/libvirt/images/base.qcow2"));
    assert_true(vg_domain_files_has(a, "/var/lib/libvirt/images//jobs/sbx-1/cloud-init.iso"));
    assert_false(vg_domain_files_has(a, "/var/lib/libvirt/images/jobs/sbx-2/overlay.qcow2"));
    assert_null(a->chainless_disk);
    const vg_domain_files *c = vg_domain_files_find(v, n, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(c->chainless_disk, "/var/lib/libvirt/images/jobs/sbx-3/overlay.qcow2");
    vg_domain_files_free(v, n);

    /* nothing there: an empty list, not "not looked up" */
    vg_domain_files_load("nonexistent", "nonexistent", NULL, &v, &n);
    assert_non_null(v);
    assert_int_equal(n, 0);
    vg_domain_files_free(v, n);
}

static void test_golden(void **state)
{
    autofree char *text = NULL;
    autoconfig vg_config *cfg = NULL;
    vg_domain_files *doms = NULL;
    size_t len, n_doms = 0;
    const char *conf = "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n";
    (void)state;

    assert_int_equal(vg_config_parse(conf, strlen(conf), "test.conf", &cfg, NULL), 0);
    assert_int_equal(vg_read_file("intended.log", 1 << 20, &text, &len), 0);
    vg_domain_files_load("libvirt/etc", "libvirt/run", NULL, &doms, &n_doms);
    vg_name_entry *names = vg_xcalloc(n_doms + 1, sizeof(*names));
    for (size_t i = 0; i < n_doms; i++) {
        names[i].uuid = doms[i].uuid;
        names[i].name = doms[i].name;
    }
    vg_explain_log *log = vg_explain_parse(text, len);
    vg_explain_facts facts = {
        .cfg = cfg,
        .config_path = "/etc/virtguard/virtguard.conf",
        .names = names,
        .n_names = n_doms,
        .domains = doms,
        .n_domains = n_doms,
        .domains_from = "looked for in 'libvirt/run' and 'libvirt/etc'",
    };
    vg_checklist *l = vg_explain_judge(log, &facts);
    autofree char *out = vg_checklist_format(l, false);
    autofree char *json = vg_checklist_json(l);
    vg_test_golden("intended.out", out);
    vg_test_golden("intended.json", json);

    /* the decisions, independently of the wording */
    assert_int_equal(l->n, 5);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "apparmor-intended");
    assert_string_equal(vg_check_attr_get(&l->v[0], "owner"), "sbx-2");
    assert_null(vg_check_attr_get(&l->v[0], "rule"));
    assert_string_equal(vg_check_attr_get(&l->v[0], "count"), "2");
    assert_string_equal(vg_check_attr_get(&l->v[1], "cause"), "apparmor");
    assert_string_equal(vg_check_attr_get(&l->v[1], "rule"),
                        "\"/var/lib/libvirt/images/base.qcow2\" r,");
    assert_string_equal(vg_check_attr_get(&l->v[2], "cause"), "apparmor-intended");
    assert_null(vg_check_attr_get(&l->v[2], "owner"));
    assert_null(vg_check_attr_get(&l->v[2], "rule"));
    assert_int_equal(l->v[2].status, VG_CHECK_INFO);
    /* sbx-3: not running, no chain listed: only a conditional answer */
    assert_int_equal(l->v[3].status, VG_CHECK_FAIL);
    assert_non_null(strstr(l->v[3].fix, "qemu-img info --backing-chain"));
    assert_null(vg_check_attr_get(&l->v[3], "rule"));
    /* no definition: no rule either */
    assert_int_equal(l->v[4].status, VG_CHECK_WARN);
    assert_null(vg_check_attr_get(&l->v[4], "rule"));
    for (size_t i = 0; i < l->n; i++)
        if (i != 1)
            assert_null(strstr(l->v[i].fix ? l->v[i].fix : "", "rules should include"));

    vg_checklist_free(l);
    vg_explain_log_free(log);
    free(names);
    vg_domain_files_free(doms, n_doms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_files),
        cmocka_unit_test(test_golden),
    };
    if (chdir(DIR) < 0)
        return 99;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
