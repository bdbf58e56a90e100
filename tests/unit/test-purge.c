/* Unit tests for lib/apparmor/purge.c and vg_aa_profile_restore (lib/apparmor/aa-profile.c):
 * undoing what virtguard wrote, on a fake root made with mkdtemp. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "aa-profile.h"
#include "purge.h"

#define UUID "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"
#define UUID2 "00000000-0000-4000-8000-000000000002"

/* Debian 12's TEMPLATE.qemu, verbatim. */
static const char tmpl[] =
    "#\n# This profile is for the domain whose UUID matches this file.\n#\n\n"
    "#include <tunables/global>\n\n"
    "profile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n"
    "  #include <abstractions/libvirt-qemu>\n"
    "}\n";

static char *libvirt_profile(const char *uuid)
{
    char *out = NULL;
    assert_int_equal(vg_aa_profile_from_template(tmpl, uuid, &out, NULL), 0);
    return out;
}

/* What the helper's load makes of libvirt's file, in either mode. */
static char *ours(const char *text, const char *uuid, bool complain)
{
    char *out = NULL;
    bool changed = false;
    assert_int_equal(vg_aa_profile_ensure(text, uuid, complain, &out, &changed, NULL), 0);
    assert_true(changed);
    return out;
}

static void test_restore_round_trip(void **state)
{
    (void)state;
    autofree char *orig = libvirt_profile(UUID);
    for (int complain = 0; complain <= 1; complain++) {
        autofree char *mine = ours(orig, UUID, complain);
        autofree char *back = NULL;
        autoerror vg_error *err = NULL;
        bool changed = false;
        assert_non_null(strstr(mine, ".virtguard>"));
        assert_true(!complain || strstr(mine, "complain"));
        assert_int_equal(vg_aa_profile_restore(mine, UUID, true, &back, &changed, &err), 0);
        assert_true(changed);
        assert_string_equal(back, orig);
    }
}

static void test_restore_leaves_others_alone(void **state)
{
    (void)state;
    /* No include of ours: an admin's complain flag stays, nothing changes. */
    static const char admin[] =
        "profile libvirt-" UUID " flags=(attach_disconnected, complain) {\n"
        "  #include <abstractions/libvirt-qemu>\n"
        "  #include if exists <libvirt/libvirt-" UUID2 ".virtguard>\n"
        "  #include <libvirt/libvirt-" UUID ".files>\n"
        "}\n";
    autofree char *out = NULL;
    bool changed = true;
    assert_int_equal(vg_aa_profile_restore(admin, UUID, true, &out, &changed, NULL), 0);
    assert_false(changed);
    assert_string_equal(out, admin);

    /* Our include indented differently, an admin's own lines kept. */
    static const char edited[] =
        "#include <tunables/global>\n"
        "profile libvirt-" UUID " flags=(complain,attach_disconnected) {\n"
        "  #include <abstractions/libvirt-qemu>\n"
        "  /srv/extra/** r,\n"
        "\t#include if exists <libvirt/libvirt-" UUID ".virtguard>  \n"
        "}\n";
    /* the complain flag carries no virtguard mark: it is the admin's, and stays */
    static const char expect[] =
        "#include <tunables/global>\n"
        "profile libvirt-" UUID " flags=(complain,attach_disconnected) {\n"
        "  #include <abstractions/libvirt-qemu>\n"
        "  /srv/extra/** r,\n"
        "}\n";
    autofree char *out2 = NULL;
    assert_int_equal(vg_aa_profile_restore(edited, UUID, true, &out2, &changed, NULL), 0);
    assert_true(changed);
    assert_string_equal(out2, expect);
}

static void test_restore_malformed(void **state)
{
    (void)state;
    /* no profile line at all: only our include goes, nothing else is guessed */
    static const char broken[] = "  #include if exists <libvirt/libvirt-" UUID ".virtguard>\n";
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    bool changed = false;
    assert_int_equal(vg_aa_profile_restore(broken, UUID, true, &out, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(out, "");
}

/* ---- the directory walk, on a fake root */

static char *fake_root(void)
{
    char tmpl_dir[] = "/tmp/vg-test-purge-XXXXXX";
    assert_non_null(mkdtemp(tmpl_dir));
    autofree char *lv = vg_xasprintf("%s/libvirt", tmpl_dir);
    assert_int_equal(mkdir(lv, 0755), 0);
    return vg_xstrdup(tmpl_dir);
}

static void put(const char *root, const char *name, const char *text, mode_t mode)
{
    autofree char *p = vg_xasprintf("%s/%s", root, name);
    assert_int_equal(vg_write_file_atomic(p, text, strlen(text), mode), 0);
}

static char *get(const char *root, const char *name)
{
    autofree char *p = vg_xasprintf("%s/%s", root, name);
    char *text = NULL;
    if (vg_read_file(p, 1 << 20, &text, NULL) < 0)
        return NULL;
    return text;
}

static bool exists(const char *root, const char *name)
{
    autofree char *p = vg_xasprintf("%s/%s", root, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void rm_rf(const char *dir)
{
    vg_purge_result res = { 0 };
    assert_int_equal(vg_purge_state_dir(dir, &res, NULL), 0);
    vg_purge_result_clear(&res);
}

static void test_purge_apparmor(void **state)
{
    (void)state;
    autofree char *root = fake_root();
    autofree char *orig = libvirt_profile(UUID);
    autofree char *orig2 = libvirt_profile(UUID2);
    autofree char *mine = ours(orig, UUID, true);
    static const char other[] = "# not ours\n";

    put(root, "libvirt/TEMPLATE.qemu", tmpl, 0644);
    put(root, "libvirt/libvirt-" UUID, mine, 0640);
    put(root, "libvirt/libvirt-" UUID ".files", "  \"/x\" rw,\n", 0644);
    put(root, "libvirt/libvirt-" UUID ".virtguard", "  \"/img\" rwk,\n", 0644);
    put(root, "libvirt/libvirt-" UUID2, orig2, 0644);              /* never ours */
    put(root, "libvirt/libvirt-" UUID2 ".virtguard", "  \"/i2\" r,\n", 0644);  /* rules only */
    put(root, "libvirt/libvirt-" UUID ".vgtmp.123", "half", 0644);
    put(root, "libvirt/libvirt-not-a-uuid.virtguard", other, 0644);
    put(root, "usr.sbin.libvirtd", other, 0644);

    vg_purge_result res = { 0 };
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_purge_apparmor(root, &res, &err), 0);
    assert_null(err);

    autofree char *back = get(root, "libvirt/libvirt-" UUID);
    assert_string_equal(back, orig);
    struct stat st;
    autofree char *p = vg_xasprintf("%s/libvirt/libvirt-" UUID, root);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);                     /* mode kept */
    autofree char *back2 = get(root, "libvirt/libvirt-" UUID2);
    assert_string_equal(back2, orig2);
    assert_false(exists(root, "libvirt/libvirt-" UUID ".virtguard"));
    assert_false(exists(root, "libvirt/libvirt-" UUID2 ".virtguard"));
    assert_false(exists(root, "libvirt/libvirt-" UUID ".vgtmp.123"));
    /* libvirt's and other files untouched */
    assert_true(exists(root, "libvirt/libvirt-" UUID ".files"));
    assert_true(exists(root, "libvirt/TEMPLATE.qemu"));
    assert_true(exists(root, "libvirt/libvirt-not-a-uuid.virtguard"));
    assert_true(exists(root, "usr.sbin.libvirtd"));

    assert_int_equal(vg_strv_len(res.restored), 1);
    assert_string_equal(res.restored[0], p);
    assert_int_equal(vg_strv_len(res.removed), 3);
    vg_purge_result_clear(&res);

    /* Again: nothing left to do. */
    assert_int_equal(vg_purge_apparmor(root, &res, NULL), 0);
    assert_null(res.restored);
    assert_null(res.removed);
    rm_rf(root);
}

static void test_purge_apparmor_missing_and_bad(void **state)
{
    (void)state;
    vg_purge_result res = { 0 };
    autoerror vg_error *err = NULL;
    /* No libvirt dir: nothing to undo. */
    assert_int_equal(vg_purge_apparmor("/nonexistent/vg-purge", &res, &err), 0);
    assert_null(res.removed);

    /* A profile with our include but no profile line: only our include
     * goes (nothing else is guessed), the rules too. */
    autofree char *root = fake_root();
    static const char broken[] = "  #include if exists <libvirt/libvirt-" UUID ".virtguard>\n";
    put(root, "libvirt/libvirt-" UUID, broken, 0644);
    put(root, "libvirt/libvirt-" UUID ".virtguard", "  \"/img\" rwk,\n", 0644);
    assert_int_equal(vg_purge_apparmor(root, &res, &err), 0);
    autofree char *still = get(root, "libvirt/libvirt-" UUID);
    assert_string_equal(still, "");
    assert_false(exists(root, "libvirt/libvirt-" UUID ".virtguard"));
    vg_purge_result_clear(&res);
    rm_rf(root);
}

static void test_purge_state_dir(void **state)
{
    (void)state;
    autofree char *root = fake_root();
    autofree char *outside = fake_root();
    autofree char *cache = vg_xasprintf("%s/cache", root);
    autofree char *validated = vg_xasprintf("%s/validated", cache);
    autofree char *link = vg_xasprintf("%s/escape", cache);
    assert_int_equal(mkdir(cache, 0700), 0);
    assert_int_equal(mkdir(validated, 0700), 0);
    put(root, "cache/validated/abc", "", 0600);
    put(root, "cache/helper.lock", "", 0600);
    put(outside, "keep", "x", 0644);
    assert_int_equal(symlink(outside, link), 0);

    vg_purge_result res = { 0 };
    assert_int_equal(vg_purge_state_dir(cache, &res, NULL), 0);
    assert_false(exists(root, "cache"));
    assert_true(exists(outside, "keep"));                    /* the link, not its target */
    assert_int_equal(vg_strv_len(res.removed), 5);
    assert_string_equal(res.removed[4], cache);
    vg_purge_result_clear(&res);
    /* Gone already: fine. */
    assert_int_equal(vg_purge_state_dir(cache, &res, NULL), 0);
    assert_null(res.removed);
    /* A symlink in place of the directory itself is refused, not followed. */
    assert_int_equal(symlink(outside, cache), 0);
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_purge_state_dir(cache, &res, &err), -ENOTDIR);
    assert_non_null(strstr(err->msg, "cannot open the directory"));
    assert_true(exists(outside, "keep"));
    assert_int_equal(unlink(cache), 0);
    rm_rf(root);
    rm_rf(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_round_trip),
        cmocka_unit_test(test_restore_leaves_others_alone),
        cmocka_unit_test(test_restore_malformed),
        cmocka_unit_test(test_purge_apparmor),
        cmocka_unit_test(test_purge_apparmor_missing_and_bad),
        cmocka_unit_test(test_purge_state_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
