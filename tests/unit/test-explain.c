/* Tests for lib/admin/explain.c: golden files for every parser and judgement
 * (tests/data/explain/NAME.log → NAME.out, NAME.json), plus the field
 * decoder on odd quoting and hex-encoded values.
 *
 * Regenerate the golden files after an intended change:
 *   VG_REGENERATE=1 tests/unit/test-explain    (from the build dir)
 * and review the diff. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aa-profile.h"
#include "explain.h"
#include "helpers.h"
#include "lima.h"

#define DIR TEST_DATA_DIR "/explain"
#define U "6a2f1c3e-5b7d-4e21-9c3a-0d8e4f6a7b12"

/* Found by fuzz-explain (tests/fuzz/regressions/fuzz-explain/): "Failed to
 * start domain" followed by neither a quote nor a space dereferenced NULL. */
static void test_failed_to_start_odd_forms(void **state)
{
    const char *odd[] = {
        "error: Failed to start domain'x'\n",
        "error: Failed to start domain",
        "error: Failed to start domain\n",
        "error: Failed to start domain 'unterminated\n",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(odd); i++) {
        vg_explain_log *l = vg_explain_parse(odd[i], strlen(odd[i]));
        assert_non_null(l);
        vg_explain_log_free(l);
    }
    const char *ok = "error: Failed to start domain sbx-9\n";
    vg_explain_log *l = vg_explain_parse(ok, strlen(ok));
    assert_int_equal(l->n_context, 1);
    vg_explain_log_free(l);
}

static void test_field_quoted(void **state)
{
    const char *rec = "audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\" "
                      "profile=\"libvirt-" U "\" name=\"/a b/c\" requested_mask=\"r\" "
                      "denied_mask=\"rw\" fsuid=64055";
    char *v;
    v = vg_audit_field(rec, "apparmor");
    assert_string_equal(v, "DENIED");
    free(v);
    /* "mask" must not match inside "requested_mask" */
    assert_null(vg_audit_field(rec, "mask"));
    v = vg_audit_field(rec, "denied_mask");
    assert_string_equal(v, "rw");
    free(v);
    v = vg_audit_field(rec, "fsuid");
    assert_string_equal(v, "64055");
    free(v);
    assert_null(vg_audit_field(rec, "ouid"));
}

static void test_field_hex(void **state)
{
    /* "/srv/my disk" hex-encoded, as the kernel writes a name holding a space */
    const char *rec = "apparmor=\"DENIED\" name=2F7372762F6D79206469736B comm=71656D75 "
                      "profile=6C6962766972742D78";
    char *v = vg_audit_field(rec, "name");
    assert_string_equal(v, "/srv/my disk");
    free(v);
    /* "qemu" and "libvirt-x" need no hex: tokens that decode to plain text
     * were never hex (ausearch -i prints decoded values unquoted) */
    v = vg_audit_field(rec, "comm");
    assert_string_equal(v, "71656D75");
    free(v);
    /* numbers are never decoded */
    v = vg_audit_field("pid=2F20", "pid");
    assert_string_equal(v, "2F20");
    free(v);
    /* odd-length or non-hex: as written */
    v = vg_audit_field("name=/srv/cafe", "name");
    assert_string_equal(v, "/srv/cafe");
    free(v);
    v = vg_audit_field("name=2F2", "name");
    assert_string_equal(v, "2F2");
    free(v);
}

static void test_profile_uuid_and_perms(void **state)
{
    /* explain names domains through the owner of the profile name */
    char *u = vg_aa_profile_uuid("libvirt-" U, "");
    assert_string_equal(u, U);
    free(u);
    assert_null(vg_aa_profile_uuid("libvirt-6a2f1c3e", ""));
    assert_null(vg_aa_profile_uuid("libvirt-" U "x", ""));
    assert_null(vg_aa_profile_uuid("virt-aa-helper", ""));
    char *p = vg_aa_perms_from_mask("wrc");
    assert_string_equal(p, "rw");
    free(p);
    p = vg_aa_perms_from_mask("a");
    assert_string_equal(p, "a");
    free(p);
    p = vg_aa_perms_from_mask("rk");
    assert_string_equal(p, "rk");
    free(p);
    p = vg_aa_perms_from_mask("mx");
    assert_string_equal(p, "mix");
    free(p);
}

/* Debian 13's kernel (6.12) adds class="file" to AppArmor's audit records;
 * the line as the e2e Debian 13 guest's dmesg printed it. */
static void test_parse_kernel_6_12_class(void **state)
{
    const char *text = "[   80.178652] audit: type=1400 audit(1796057506.323:26): apparmor=\"DENIED\" "
                       "operation=\"open\" class=\"file\" profile=\"libvirt-" U "\" "
                       "name=\"/Users/dev/sandboxes/a/basedisk\" pid=1331 comm=\"qemu-system-x86\" "
                       "requested_mask=\"r\" denied_mask=\"r\" fsuid=64055 ouid=1000\n";
    vg_explain_log *l = vg_explain_parse(text, strlen(text));
    assert_int_equal(l->n, 1);
    assert_int_equal(l->n_unknown, 0);
    assert_int_equal(l->v[0].kind, VG_EV_APPARMOR);
    assert_string_equal(l->v[0].aa_result, "DENIED");
    assert_string_equal(l->v[0].operation, "open");
    assert_string_equal(l->v[0].profile, "libvirt-" U);
    assert_string_equal(l->v[0].path, "/Users/dev/sandboxes/a/basedisk");
    assert_string_equal(l->v[0].comm, "qemu-system-x86");
    assert_string_equal(l->v[0].requested_mask, "r");
    assert_string_equal(l->v[0].denied_mask, "r");
    assert_int_equal(l->v[0].fsuid, 64055);
    assert_int_equal(l->v[0].ouid, 1000);
    vg_explain_log_free(l);
}

static void test_parse_counts(void **state)
{
    const char *text = "error: Failed to start domain 'a'\n"
                       "error: Could not open '/x': Permission denied\r\n"
                       "\n"
                       "noise\n"
                       "error: Could not open '/y': No such file or directory";
    vg_explain_log *l = vg_explain_parse(text, strlen(text));
    assert_int_equal(l->n_lines, 5);
    assert_int_equal(l->n_blank, 1);
    assert_int_equal(l->n_unknown, 1);
    assert_int_equal(l->n_context, 1);
    assert_int_equal(l->n, 2);
    assert_string_equal(l->v[0].domain, "a");
    assert_string_equal(l->v[0].error, "Permission denied");
    /* the blank line ended the context */
    assert_null(l->v[1].domain);
    assert_string_equal(l->v[1].path, "/y");
    vg_explain_log_free(l);
}

static void test_parse_hook(void **state)
{
    const char *text =
        "error: Hook script execution failed: internal error: Child process (LC_ALL=C "
        "PATH=/usr/bin HOME=/root /etc/libvirt/hooks/qemu.d/virtguard sbx-1 prepare begin -) "
        "unexpected exit status 1: virtguard: domain 'sbx-1': first line\n"
        "  second line\n";
    vg_explain_log *l = vg_explain_parse(text, strlen(text));
    assert_int_equal(l->n, 1);
    assert_string_equal(l->v[0].hook, "/etc/libvirt/hooks/qemu.d/virtguard");
    assert_string_equal(l->v[0].domain, "sbx-1");
    assert_string_equal(l->v[0].hook_op, "prepare begin");
    assert_string_equal(l->v[0].hook_message, "virtguard: domain 'sbx-1': first line\n  second line");
    assert_int_equal(l->n_unknown, 0);
    vg_explain_log_free(l);
}

/* ------------------------------------------------------------------ */
/* Golden files */

typedef struct golden_facts {
    vg_config *cfg;
    vg_mounts *mounts;
    vg_ids ids;
    vg_name_entry names[2];
    vg_domain_files doms[2];    /* the files each domain's XML names */
} golden_facts;

/* The domains' own files in the golden logs: explain proposes a rule only
 * for a domain's own file (issue 19). */
static char *sbx1_files[] = {
    (char *)"/var/lib/libvirt/images/basedisk",
    (char *)"/srv/sandboxes/my disk.qcow2",
    (char *)"/var/lib/libvirt/images/jobs/sbx-1/cloud-init.iso",
    (char *)"/var/lib/libvirt/images/jobs/sbx-1/disk.qcow2",
    (char *)"/var/lib/libvirt/images/a.qcow2",
    NULL,
};
static char *sbx2_files[] = {
    (char *)"/var/lib/libvirt/images/jobs/sbx-2/overlay.qcow2",
    NULL,
};

static void read_files_fixture(char **paths, vg_file_fact **out, size_t *n_out)
{
    char *text = NULL;
    size_t n = vg_strv_len(paths);
    vg_file_fact *v = vg_xcalloc(n + 1, sizeof(*v));
    assert_int_equal(vg_read_file(DIR "/files.txt", 1 << 16, &text, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        v[i].path = vg_xstrdup(paths[i]);
        v[i].answered = true;
        v[i].err = ENOENT;
        for (char *line = text; line && *line;) {
            char *eol = strchr(line, '\n');
            char p[512];
            unsigned uid, gid, mode;
            if (line[0] != '#' && sscanf(line, "%511s %u %u %o", p, &uid, &gid, &mode) == 4 &&
                strcmp(p, paths[i]) == 0) {
                v[i].err = 0;
                v[i].uid = uid;
                v[i].gid = gid;
                v[i].mode = 0100000 | mode;
            }
            line = eol ? eol + 1 : NULL;
        }
    }
    free(text);
    *out = v;
    *n_out = n;
}

static void golden_one(const char *name, const golden_facts *g)
{
    char *log_path = vg_xasprintf("%s/%s.log", DIR, name);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(vg_read_file(log_path, 1 << 20, &text, &len), 0);

    vg_explain_log *log = vg_explain_parse(text, len);
    char **paths = vg_explain_paths(log);
    vg_file_fact *files = NULL;
    size_t n_files = 0;
    read_files_fixture(paths, &files, &n_files);
    vg_explain_facts facts = {
        .cfg = g->cfg,
        .config_path = "/etc/virtguard/virtguard.conf",
        .mounts = g->mounts,
        .lima = true,
        .qemu = &g->ids,
        .names = g->names,
        .n_names = 2,
        .files = files,
        .n_files = n_files,
        .domains = g->doms,
        .n_domains = 2,
        .domains_from = "the test's fixture",
    };
    vg_checklist *l = vg_explain_judge(log, &facts);
    char *got[2] = { vg_checklist_format(l, false), vg_checklist_json(l) };
    const char *ext[2] = { "out", "json" };

    for (int k = 0; k < 2; k++) {
        char *gold_path = vg_xasprintf("%s/%s.%s", DIR, name, ext[k]);
        vg_test_golden(gold_path, got[k]);
        free(gold_path);
        free(got[k]);
    }
    /* colour only when asked for */
    char *plain = vg_checklist_format(l, false);
    char *colour = vg_checklist_format(l, true);
    assert_null(strchr(plain, '\033'));
    if (l->n)
        assert_non_null(strchr(colour, '\033'));
    free(plain);
    free(colour);

    vg_checklist_free(l);
    for (size_t i = 0; i < n_files; i++)
        free(files[i].path);
    free(files);
    vg_strv_free(paths);
    vg_explain_log_free(log);
    free(text);
    free(log_path);
}

static int golden_setup(void **state)
{
    golden_facts *g = vg_xcalloc(1, sizeof(*g));
    const char *conf = "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n"
                       "path_map = [ \"/Users/dev/images=/var/lib/libvirt/images\" ]\n";
    assert_int_equal(vg_config_parse(conf, strlen(conf), "test.conf", &g->cfg, NULL), 0);
    assert_int_equal(vg_mountinfo_read(TEST_DATA_DIR "/mountinfo/lima-9p-missing.mountinfo",
                                       &g->mounts, NULL), 0);
    g->ids.uid = 64055;
    g->ids.gid = 64055;
    g->names[0].uuid = (char *)U;
    g->names[0].name = (char *)"sbx-1";
    g->names[1].uuid = (char *)"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    g->names[1].name = (char *)"sbx-2";
    for (size_t i = 0; i < 2; i++) {
        g->doms[i].uuid = g->names[i].uuid;
        g->doms[i].name = g->names[i].name;
        g->doms[i].source = (char *)(i ? "/etc/libvirt/qemu/sbx-2.xml"
                                       : "/run/libvirt/qemu/sbx-1.xml");
        g->doms[i].paths = i ? sbx2_files : sbx1_files;
    }
    *state = g;
    return 0;
}

static int golden_teardown(void **state)
{
    golden_facts *g = *state;
    vg_config_free(g->cfg);
    vg_mounts_free(g->mounts);
    free(g);
    return 0;
}

static void test_golden_dmesg(void **state) { golden_one("dmesg", *state); }
static void test_golden_audit(void **state) { golden_one("audit", *state); }
static void test_golden_journal(void **state) { golden_one("journal", *state); }
static void test_golden_virsh(void **state) { golden_one("virsh-errors", *state); }
static void test_golden_owner_lost(void **state) { golden_one("owner-lost", *state); }
/* the rest of the stack (lib/admin/explain-stack.c) */
static void test_golden_seatbelt(void **state) { golden_one("seatbelt", *state); }
/* the forms `log stream --style compact` and `log show` print (issue 21) */
static void test_golden_seatbelt_compact(void **state) { golden_one("seatbelt-compact", *state); }
static void test_golden_vz_error(void **state) { golden_one("vz-error", *state); }
static void test_golden_lxc(void **state) { golden_one("lxc-nesting", *state); }
static void test_golden_lxc_unconfined(void **state) { golden_one("lxc-unconfined", *state); }

/* Spot checks that do not depend on the golden text. */
static void test_judgement(void **state)
{
    golden_facts *g = *state;
    const char *text =
        "audit: type=1400 audit(1.1:1): apparmor=\"DENIED\" operation=\"open\" profile=\"libvirt-" U
        "\" name=\"/var/lib/libvirt/images/a.qcow2\" requested_mask=\"r\" denied_mask=\"r\"\n"
        "error: Could not open '/var/lib/libvirt/images/a.qcow2': Permission denied\n"
        "error: Could not open '/elsewhere/b.qcow2': Permission denied\n"
        "error: Cannot access storage file '/var/lib/libvirt/images/c.iso': No such file or directory\n"
        "error: Cannot access storage file '/elsewhere/d.iso': No such file or directory\n";
    vg_explain_log *log = vg_explain_parse(text, strlen(text));
    vg_explain_facts facts = { .cfg = g->cfg, .mounts = g->mounts, .qemu = &g->ids,
                               .names = g->names, .n_names = 2,
                               .lima = vg_lima_detect(g->mounts, NULL),
                               .domains = g->doms, .n_domains = 2 };
    vg_checklist *l = vg_explain_judge(log, &facts);
    assert_int_equal(l->n, 5);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "apparmor");
    assert_string_equal(vg_check_attr_get(&l->v[0], "domain"), "sbx-1");
    assert_string_equal(vg_check_attr_get(&l->v[0], "rule"), "\"/var/lib/libvirt/images/a.qcow2\" r,");
    /* the same path with a DENIED record: AppArmor, not DAC */
    assert_string_equal(vg_check_attr_get(&l->v[1], "cause"), "apparmor");
    assert_int_equal(l->v[1].status, VG_CHECK_INFO);
    /* no DENIED record: DAC */
    assert_string_equal(vg_check_attr_get(&l->v[2], "cause"), "dac");
    assert_non_null(strstr(l->v[2].fix, "<label>+OWNER_UID:+64055</label>"));
    /* missing file under the unmounted shared mount: the mount */
    assert_string_equal(vg_check_attr_get(&l->v[3], "cause"), "missing-mount");
    assert_non_null(strstr(l->v[3].fix, "location: \"/Users/dev/images\""));
    assert_string_equal(vg_check_attr_get(&l->v[4], "cause"), "missing-file");
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_PROBLEMS);
    vg_checklist_free(l);
    vg_explain_log_free(log);

    /* nothing recognised: exit 0, the lines counted */
    const char *noise = "hello\nworld\n";
    log = vg_explain_parse(noise, strlen(noise));
    l = vg_explain_judge(log, &facts);
    assert_int_equal(l->n, 0);
    assert_int_equal(log->n_unknown, 2);
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_OK);
    vg_checklist_free(l);
    vg_explain_log_free(log);
}

/* Two findings about one path agree about its mount: a DAC refusal and a
 * missing file under a shared mount that is not mounted now both say so;
 * neither claims 9p while the other says "not mounted". */
static void test_one_path_one_mount_state(void **state)
{
    golden_facts *g = *state;
    const char *text =
        "error: Could not open '/var/lib/libvirt/images/x.qcow2': Permission denied\n"
        "error: Cannot access storage file '/var/lib/libvirt/images/x.qcow2': No such file or directory\n";
    vg_explain_log *log = vg_explain_parse(text, strlen(text));
    vg_explain_facts facts = { .cfg = g->cfg, .mounts = g->mounts, .qemu = &g->ids };
    vg_checklist *l = vg_explain_judge(log, &facts);
    assert_int_equal(l->n, 2);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "dac");
    assert_null(strstr(l->v[0].detail, "9p"));
    assert_non_null(strstr(l->v[0].detail, "shared mount '/var/lib/libvirt/images' is not "
                                           "mounted now"));
    assert_string_equal(vg_check_attr_get(&l->v[1], "cause"), "missing-mount");
    vg_checklist_free(l);

    /* mounted over 9p: the DAC finding names 9p and its chown behaviour */
    vg_mounts *m9p = NULL;
    assert_int_equal(vg_mountinfo_read(TEST_DATA_DIR "/mountinfo/lima-9p.mountinfo", &m9p,
                                       NULL), 0);
    facts.mounts = m9p;
    l = vg_explain_judge(log, &facts);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "dac");
    assert_non_null(strstr(l->v[0].detail, "on the 9p shared mount '/var/lib/libvirt/images'"));
    assert_string_equal(vg_check_attr_get(&l->v[1], "cause"), "missing-file");
    assert_non_null(strstr(l->v[1].detail, "is mounted; the file itself is missing"));
    vg_checklist_free(l);
    vg_mounts_free(m9p);
    vg_explain_log_free(log);
}

/* Issue 21: errors as pasted.  The API's JSON error body cut by a
 * 52-column terminal, and QEMU's error cut by an 80-column one, are
 * explained (exit 1), not passed; an AppArmor record quoted inside a
 * message is never read as a kernel record. */
static void test_pasted_errors(void **state)
{
    golden_facts *g = *state;
    const char *json =
        "{\"error\":\"sandbox start sbx-7f3a failed: exit status\n"
        " 1: error: Failed to start domain 'sbx-7f3a'\\nerror:\n"
        " Cannot access storage file '/var/lib/libvirt/images\n"
        "/jobs/sbx-7f3a/cloud-init.iso': No such file or dire\n"
        "ctory\",\"code\":500}\n";
    const char *wrapped =
        "error: Could not open '/var/lib/libvirt/images/jobs/sbx-1/disk-overlay.qcow2': P\n"
        "ermission denied\n";
    const char *quoted = "{\"error\":\"audit: type=1400 audit(1.2:3): apparmor=\\\"DENIED\\\" "
                         "operation=\\\"open\\\" profile=\\\"libvirt-" U "\\\" "
                         "name=\\\"/etc/shadow\\\" requested_mask=\\\"r\\\"\"}\n";
    vg_explain_facts facts = { .cfg = g->cfg, .mounts = g->mounts, .qemu = &g->ids };

    vg_explain_log *log = vg_explain_parse(json, strlen(json));
    vg_checklist *l = vg_explain_judge(log, &facts);
    assert_int_equal(log->n_lines, 5);
    assert_int_equal(log->n_unknown, 0);
    assert_int_equal(l->n, 1);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "missing-mount");
    assert_string_equal(vg_check_attr_get(&l->v[0], "domain"), "sbx-7f3a");
    assert_string_equal(vg_check_attr_get(&l->v[0], "path"),
                        "/var/lib/libvirt/images/jobs/sbx-7f3a/cloud-init.iso");
    assert_int_equal(vg_checklist_exit_status(l), VG_EXIT_PROBLEMS);
    vg_checklist_free(l);

    /* the shipped config guards nothing: the directory may be a share
     * that is not mounted (issue 21) */
    vg_config *shipped = vg_config_new_default();
    vg_explain_facts plain = { .cfg = shipped, .mounts = g->mounts, .qemu = &g->ids,
                               .config_path = "/etc/virtguard/virtguard.conf" };
    l = vg_explain_judge(log, &plain);
    assert_int_equal(l->n, 1);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "missing-file");
    assert_non_null(strstr(l->v[0].detail, "'/var/lib/libvirt/images' may be a share (a Lima "
                                           "mount, 9p, virtiofs, NFS) that is not mounted"));
    assert_non_null(strstr(l->v[0].fix, "check with 'findmnt /var/lib/libvirt/images': it "
                                        "prints nothing when"));
    assert_non_null(strstr(l->v[0].fix, "add it to shared_mounts in "
                                        "'/etc/virtguard/virtguard.conf' (shared_mounts = [ "
                                        "\"/var/lib/libvirt/images\" ])"));
    assert_null(strstr(l->v[0].title, "writer"));
    vg_checklist_free(l);
    vg_config_free(shipped);
    vg_explain_log_free(log);

    log = vg_explain_parse(wrapped, strlen(wrapped));
    l = vg_explain_judge(log, &facts);
    assert_int_equal(l->n, 1);
    assert_string_equal(vg_check_attr_get(&l->v[0], "cause"), "dac");
    assert_string_equal(log->v[0].error, "Permission denied");
    vg_checklist_free(l);
    vg_explain_log_free(log);

    log = vg_explain_parse(quoted, strlen(quoted));
    assert_int_equal(log->n, 0);
    assert_int_equal(log->n_unknown, 1);
    vg_explain_log_free(log);
}

/* ------------------------------------------------------------------ */
/* Issue 19: explain trusts only the record format */

#define REC "audit: type=1400 audit(1700000000.123:45): apparmor=\"DENIED\" operation=\"open\" " \
            "profile=\"libvirt-" U "\" name=\"/var/lib/libvirt/images/a.qcow2\" pid=1 " \
            "comm=\"qemu-system-x86\" requested_mask=\"r\" denied_mask=\"r\" fsuid=64055 ouid=1000"

/* Every line form of the grammar's tables is read; the path is the name. */
static void test_record_forms(void **state)
{
    static const char *const forms[] = {
        "[   12.345678] " REC,
        "[Sat May  2 10:14:03 2026] " REC,
        "Nov 14 10:00:00 lima-dev kernel: " REC,
        "Nov  4 10:00:00.123456 lima-dev kernel: [ 2201.123456] " REC,
        "2023-11-14T10:00:00+0100 lima-dev kernel: " REC,
        "[ 2201.123456] lima-dev kernel: " REC,
        "type=AVC msg=audit(1700000000.123:45): apparmor=\"DENIED\" operation=\"open\" "
        "profile=\"libvirt-" U "\" name=\"/var/lib/libvirt/images/a.qcow2\" denied_mask=\"r\"",
        "type=AVC msg=audit(11/14/2023 10:00:00.100:12) : apparmor=DENIED operation=open "
        "profile=libvirt-" U " name=/var/lib/libvirt/images/a.qcow2 denied_mask=r",
        "Nov 14 10:00:00 lima-dev audit[1331]: AVC apparmor=\"DENIED\" operation=\"open\" "
        "profile=\"libvirt-" U "\" name=\"/var/lib/libvirt/images/a.qcow2\" denied_mask=\"r\"",
        /* auditd's enriched part after 0x1d is not the record's */
        "type=AVC msg=audit(1.2:3): apparmor=\"DENIED\" profile=\"libvirt-" U "\" "
        "name=\"/var/lib/libvirt/images/a.qcow2\" denied_mask=\"r\"\x1dUID=\"root\" name=x",
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(forms); i++) {
        vg_explain_log *l = vg_explain_parse(forms[i], strlen(forms[i]));
        if (l->n != 1 || l->v[0].kind != VG_EV_APPARMOR ||
            !vg_streq(l->v[0].path, "/var/lib/libvirt/images/a.qcow2"))
            fail_msg("form %zu not read: '%s'", i, forms[i]);
        vg_explain_log_free(l);
    }
}

/* Text that merely quotes a record, or looks like one but breaks the field
 * grammar, is never an AppArmor event. */
static void test_record_not_quoted_text(void **state)
{
    static const char *const hostile[] = {
        /* the finding: a file name echoed by libvirt */
        "error: Cannot access backing file '/x/apparmor=\"DENIED\" name=\"/etc/shadow\"' of "
        "storage file '/var/lib/libvirt/images/a.qcow2' (as uid:64055, gid:64055): "
        "Permission denied",
        /* a whole record inside another program's message */
        "Nov 14 10:00:01 lima-dev libvirtd[812]: Cannot access backing file '/x/ " REC "'",
        "Nov 14 10:00:01 lima-dev libvirtd[812]: " REC,
        "virtguard: domain 'sbx-1': " REC,
        "error: Could not open '/y/" REC "': Permission denied",
        /* records whose fields do not parse */
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" comm=\"q\"name=\"/etc/shadow\"",
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" name=\"/var/lib/libvirt/"
        "images/a.qcow2\" name=\"/etc/shadow\"",
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" junk name=\"/etc/shadow\"",
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" name=\"/etc/shadow",
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" name=/etc/sh\"adow\"",
        "[ 1.0] audit: apparmor=\"DENIED\" name=\"/etc/shadow\"",
        "apparmor=\"DENIED\" name=\"/etc/shadow\"",
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(hostile); i++) {
        vg_explain_log *l = vg_explain_parse(hostile[i], strlen(hostile[i]));
        for (size_t k = 0; k < l->n; k++)
            if (l->v[k].kind == VG_EV_APPARMOR)
                fail_msg("line %zu read as an AppArmor record: '%s'", i, hostile[i]);
        vg_explain_log_free(l);
    }
    /* a "name=" inside another field's quoted value is that field's value */
    const char *in_comm = "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" "
                          "operation=\"open name=/etc/shadow\" profile=\"libvirt-" U "\" "
                          "comm=\"x name=/etc/shadow\" name=\"/var/lib/libvirt/images/a.qcow2\" "
                          "denied_mask=\"r\"";
    vg_explain_log *l = vg_explain_parse(in_comm, strlen(in_comm));
    assert_int_equal(l->n, 1);
    assert_string_equal(l->v[0].path, "/var/lib/libvirt/images/a.qcow2");
    assert_string_equal(l->v[0].comm, "x name=/etc/shadow");
    vg_explain_log_free(l);
    /* no name field at all: no path, not the one inside a value */
    const char *no_name = "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" "
                          "info=\"name=/etc/shadow\" profile=\"libvirt-" U "\"";
    l = vg_explain_parse(no_name, strlen(no_name));
    assert_int_equal(l->n, 1);
    assert_null(l->v[0].path);
    vg_explain_log_free(l);
}

/* Judge `text` with `facts`; the text rendering out (caller frees). */
static vg_checklist *judged(const char *text, const vg_explain_facts *facts, char **out)
{
    vg_explain_log *log = vg_explain_parse(text, strlen(text));
    vg_checklist *l = vg_explain_judge(log, facts);
    vg_explain_log_free(log);
    *out = vg_checklist_format(l, false);
    return l;
}

static size_t n_rules(const vg_checklist *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += vg_check_attr_get(&l->v[i], "rule") != NULL ||
             vg_check_attr_get(&l->v[i], "seatbelt_rules") != NULL;
    return n;
}

/* No proposal for a restricted path, for a file that is not the named
 * domain's own, for an unknown domain or for another program's profile. */
static void test_no_proposal_outside(void **state)
{
    golden_facts *g = *state;
    static char *own[] = { (char *)"/etc/shadow", (char *)"/var/lib/libvirt/images/a.qcow2",
                           (char *)"/dev/sda", NULL };
    vg_domain_files d = { .name = (char *)"sbx-1", .uuid = (char *)U,
                          .source = (char *)"sbx-1.xml", .paths = own };
    vg_explain_facts facts = { .cfg = g->cfg, .names = g->names, .n_names = 2,
                               .domains = &d, .n_domains = 1 };
    char *out = NULL;

    /* even a file the domain's XML names gets no rule under /etc or /dev */
    vg_checklist *l = judged("[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" "
                             "operation=\"open\" profile=\"libvirt-" U "\" name=\"/etc/shadow\" "
                             "requested_mask=\"r\" denied_mask=\"r\"\n"
                             "[ 1.0] audit: type=1400 audit(1.2:4): apparmor=\"DENIED\" "
                             "operation=\"open\" profile=\"libvirt-" U "\" name=\"/dev/sda\" "
                             "requested_mask=\"rw\" denied_mask=\"rw\"\n", &facts, &out);
    assert_int_equal(l->n, 2);
    assert_int_equal(n_rules(l), 0);
    assert_non_null(strstr(out, "fix: no AppArmor rule is proposed for this file: its name lies "
                                "under '/etc', where virtguard never grants anything, so it "
                                "proposes no rule there either"));
    assert_non_null(strstr(out, "its name lies under '/dev'"));
    assert_null(strstr(out, "\"/etc/shadow\" r,"));
    vg_checklist_free(l);
    free(out);

    /* the domain's own file: the rule; a file it does not use: none */
    l = judged("[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" profile=\"libvirt-" U
               "\" name=\"/var/lib/libvirt/images/a.qcow2\" denied_mask=\"r\"\n"
               "[ 1.0] audit: type=1400 audit(1.2:4): apparmor=\"DENIED\" profile=\"libvirt-" U
               "\" name=\"/var/lib/libvirt/images/b.qcow2\" denied_mask=\"r\"\n"
               "[ 1.0] audit: type=1400 audit(1.2:5): apparmor=\"DENIED\" profile=\"libvirt-" U
               "\" name=\"/var/lib/libvirt/images/./a.qcow2\" denied_mask=\"r\"\n", &facts, &out);
    assert_int_equal(l->n, 3);
    assert_string_equal(vg_check_attr_get(&l->v[0], "rule"),
                        "\"/var/lib/libvirt/images/a.qcow2\" r,");
    assert_null(vg_check_attr_get(&l->v[1], "rule"));
    assert_string_equal(vg_check_attr_get(&l->v[1], "cause"), "apparmor-intended");
    assert_null(vg_check_attr_get(&l->v[2], "rule"));
    vg_checklist_free(l);
    free(out);

    /* the domains' files not known: no rule, whatever the path */
    facts.domains = NULL;
    facts.n_domains = 0;
    l = judged("[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" profile=\"libvirt-" U
               "\" name=\"/var/lib/libvirt/images/a.qcow2\" denied_mask=\"r\"\n", &facts, &out);
    assert_int_equal(n_rules(l), 0);
    assert_non_null(strstr(out, "fix: none: virtguard proposes no rule for a file it cannot tie "
                                "to the domain."));
    vg_checklist_free(l);
    free(out);

    /* another program's profile: never a rule (the finding's "/etc/shadow" rwix) */
    l = judged("Nov 14 10:00:00 h kernel: audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" "
               "operation=\"exec\" profile=\"/usr/sbin/libvirtd\" name=\"/srv/x\" comm=\"sh\" "
               "requested_mask=\"x\" denied_mask=\"x\"\n", &facts, &out);
    assert_int_equal(l->n, 1);
    assert_int_equal(n_rules(l), 0);
    assert_null(strstr(out, "narrow rule"));
    assert_non_null(strstr(out, "fix: none proposed: virtguard proposes AppArmor rules only for "
                                "a libvirt domain's own files."));
    vg_checklist_free(l);
    free(out);
}

/* A decoded name holding LF, a bidi override or a backslash is shown
 * escaped, begins no line of output, and gets no rule. */
static void test_decoded_name_forges_nothing(void **state)
{
    golden_facts *g = *state;
    /* "/var/lib/libvirt/images/a.qcow2\nexplain: line 9: forged : PASS" */
    const char *text =
        "[ 1.0] audit: type=1400 audit(1.2:3): apparmor=\"DENIED\" operation=\"open\" "
        "profile=\"libvirt-" U "\" name=2F7661722F6C69622F6C6962766972742F696D616765732F612E7163"
        "6F77320A6578706C61696E3A206C696E6520393A20666F72676564203A2050415353 "
        "denied_mask=\"r\"\n"
        "[ 1.0] audit: type=1400 audit(1.2:4): apparmor=\"DENIED\" operation=\"open\" "
        "profile=\"libvirt-" U "\" name=2F7661722F6C69622F6C6962766972742F696D616765732FE280AE"
        "6770742E71636F7732 denied_mask=\"r\"\n";
    vg_explain_facts facts = { .cfg = g->cfg, .names = g->names, .n_names = 2,
                               .domains = g->doms, .n_domains = 2 };
    vg_explain_log *log = vg_explain_parse(text, strlen(text));
    assert_int_equal(log->n, 2);
    assert_string_equal(log->v[0].path, "/var/lib/libvirt/images/a.qcow2\\nexplain: line 9: "
                                        "forged : PASS");
    assert_true(log->v[0].unshown);
    /* and it is not stat()ed under its shown name */
    const char *dac = "error: Could not open '/srv/a\x01" "b': Permission denied\n";
    vg_explain_log *dl = vg_explain_parse(dac, strlen(dac));
    char **paths = vg_explain_paths(dl);
    assert_string_equal(dl->v[0].path, "/srv/a\\x01b");
    assert_null(paths[0]);
    vg_strv_free(paths);
    vg_explain_log_free(dl);
    assert_string_equal(log->v[1].path, "/var/lib/libvirt/images/\\u202egpt.qcow2");
    vg_checklist *l = vg_explain_judge(log, &facts);
    autofree char *out = vg_checklist_format(l, false);
    autofree char *json = vg_checklist_json(l);
    assert_int_equal(n_rules(l), 0);
    assert_null(strstr(out, "\nexplain: line 9"));
    assert_null(strchr(out, '\xe2'));
    assert_non_null(strstr(out, "'/var/lib/libvirt/images/a.qcow2\\nexplain: line 9: forged : "
                                "PASS'"));
    /* JSON: the shown form, its backslash escaped */
    assert_non_null(strstr(json, "/var/lib/libvirt/images/\\\\u202egpt.qcow2"));
    vg_checklist_free(l);
    vg_explain_log_free(log);
}

/* Seatbelt: one object, one literal; "exactly" only when every denial got
 * its rule. */
static void test_seatbelt_exact(void **state)
{
    golden_facts *g = *state;
    vg_explain_facts facts = { .cfg = g->cfg };
    char *out = NULL;
    vg_checklist *l = judged("Sandbox: agent(7) deny(1) file-read-data /\n"
                             "Sandbox: agent(7) deny(1) file-read-data /Users/dev/\n", &facts,
                             &out);
    assert_null(strstr(out, "subpath"));
    assert_string_equal(vg_check_attr_get(&l->v[0], "seatbelt_rules"),
                        "(allow file-read* (literal \"/Users/dev\"))");
    assert_null(strstr(out, "exactly"));
    assert_non_null(strstr(out, "No rule is proposed for 'file-read-data /': virtguard proposes "
                                "none for a path under a restricted prefix"));
    assert_non_null(strstr(out, "fix: allow these (each only the object denied; the denials "
                                "named above get none) in the profile 'agent' runs under"));
    vg_checklist_free(l);
    free(out);
    l = judged("Sandbox: agent(7) deny(1) file-read-data /Users/dev/\n", &facts, &out);
    assert_non_null(strstr(out, "fix: allow exactly these in the profile 'agent' runs under"));
    assert_non_null(strstr(out, "\"read_file\": [\"/Users/dev\"]"));
    vg_checklist_free(l);
    free(out);
}

/* Issue 21: an AppArmor denial of a file another uid owns says whether
 * file permissions refuse it next (the stat taken in a bounded child by
 * the caller), or what to check when that is not known. */
static void test_dac_after_apparmor(void **state)
{
    golden_facts *g = *state;
    const char *text =
        "[ 80.1] audit: type=1400 audit(1.2:26): apparmor=\"DENIED\" operation=\"open\" "
        "profile=\"libvirt-" U "\" name=\"/var/lib/libvirt/images/a/disk.qcow2\" pid=1331 "
        "comm=\"qemu-system-x86\" requested_mask=\"wr\" denied_mask=\"wr\" fsuid=64055 "
        "ouid=1000\n";
    vg_explain_log *log = vg_explain_parse(text, strlen(text));
    char **paths = vg_explain_paths(log);
    assert_string_equal(paths[0], "/var/lib/libvirt/images/a/disk.qcow2");
    assert_null(paths[1]);
    vg_file_fact ff = { .path = paths[0], .answered = true, .uid = 1000, .gid = 1000,
                        .mode = 0100644 };
    static char *own[] = { (char *)"/var/lib/libvirt/images/a/disk.qcow2", NULL };
    vg_domain_files d = { .name = (char *)"sbx-1", .uuid = (char *)U,
                          .source = (char *)"sbx-1.xml", .paths = own };
    vg_explain_facts facts = { .cfg = g->cfg, .mounts = g->mounts, .qemu = &g->ids,
                               .files = &ff, .n_files = 1, .names = g->names, .n_names = 2,
                               .domains = &d, .n_domains = 1 };

    vg_checklist *l = vg_explain_judge(log, &facts);
    assert_string_equal(vg_check_attr_get(&l->v[0], "dac"), "refused");
    assert_non_null(strstr(l->v[0].detail, "File permissions refuse it next: "
                                           "'/var/lib/libvirt/images/a/disk.qcow2' is owned by "
                                           "1000:1000 with mode 0644, and QEMU runs as uid "
                                           "64055, gid 64055"));
    assert_non_null(strstr(l->v[0].fix, "<label>+1000:+64055</label>"));
    /* the AppArmor rule's fix is kept before the label's */
    assert_non_null(strstr(l->v[0].fix, "\"/var/lib/libvirt/images/a/disk.qcow2\""));
    vg_checklist_free(l);

    /* not a file of the domain's own (domains unknown): no label either */
    facts.domains = NULL, facts.n_domains = 0;
    l = vg_explain_judge(log, &facts);
    assert_string_equal(vg_check_attr_get(&l->v[0], "dac"), "refused");
    assert_true(!l->v[0].fix || !strstr(l->v[0].fix, "<seclabel"));
    vg_checklist_free(l);
    facts.domains = &d, facts.n_domains = 1;

    /* the permissions allow it: nothing about DAC */
    ff.mode = 0100666;
    l = vg_explain_judge(log, &facts);
    assert_null(vg_check_attr_get(&l->v[0], "dac"));
    vg_checklist_free(l);

    /* the stat did not answer in time: what to check */
    ff.answered = false;
    l = vg_explain_judge(log, &facts);
    assert_string_equal(vg_check_attr_get(&l->v[0], "dac"), "unknown");
    assert_non_null(strstr(l->v[0].detail, "virtguard could not look at the file in time (its "
                                           "mount may hang). Check with \"stat -c '%U:%G %a' "
                                           "/var/lib/libvirt/images/a/disk.qcow2\" against "
                                           "QEMU's user"));
    vg_checklist_free(l);
    vg_strv_free(paths);
    vg_explain_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_to_start_odd_forms),
        cmocka_unit_test(test_field_quoted),
        cmocka_unit_test(test_field_hex),
        cmocka_unit_test(test_profile_uuid_and_perms),
        cmocka_unit_test(test_parse_kernel_6_12_class),
        cmocka_unit_test(test_parse_counts),
        cmocka_unit_test(test_parse_hook),
        cmocka_unit_test_setup_teardown(test_golden_dmesg, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_audit, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_journal, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_virsh, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_owner_lost, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_seatbelt, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_seatbelt_compact, golden_setup,
                                        golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_vz_error, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_lxc, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_golden_lxc_unconfined, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_judgement, golden_setup, golden_teardown),
        cmocka_unit_test(test_record_forms),
        cmocka_unit_test(test_record_not_quoted_text),
        cmocka_unit_test_setup_teardown(test_no_proposal_outside, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_decoded_name_forges_nothing, golden_setup,
                                        golden_teardown),
        cmocka_unit_test_setup_teardown(test_seatbelt_exact, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_one_path_one_mount_state, golden_setup,
                                        golden_teardown),
        cmocka_unit_test_setup_teardown(test_pasted_errors, golden_setup, golden_teardown),
        cmocka_unit_test_setup_teardown(test_dac_after_apparmor, golden_setup, golden_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
