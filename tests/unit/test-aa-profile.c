/* Unit tests for lib/apparmor/aa-profile.c (profile file transforms) and
 * lib/base/sha256.c (FIPS 180-4 test vectors). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "aa-profile.h"
#include "helper-profile.h"
#include "sha256.h"

#define UUID "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"

/* Debian 12's TEMPLATE.qemu, verbatim. */
static const char tmpl[] =
    "#\n# This profile is for the domain whose UUID matches this file.\n#\n\n"
    "#include <tunables/global>\n\n"
    "profile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n"
    "  #include <abstractions/libvirt-qemu>\n"
    "}\n";

/* What virt-aa-helper -c writes from it (create_profile()). */
static const char libvirt_made[] =
    "#\n# This profile is for the domain whose UUID matches this file.\n#\n\n"
    "#include <tunables/global>\n\n"
    "profile libvirt-" UUID " flags=(attach_disconnected) {\n"
    "  #include <abstractions/libvirt-qemu>\n"
    "  #include <libvirt/libvirt-" UUID ".files>\n\n"
    "}\n";

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    vg_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    vg_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    vg_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* 55, 56 and 64 bytes: the padding boundaries */
    char a[200];
    memset(a, 'a', sizeof(a));
    vg_sha256_hex(a, 55, hex);
    assert_string_equal(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    vg_sha256_hex(a, 56, hex);
    assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    vg_sha256_hex(a, 64, hex);
    assert_string_equal(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_from_template(void **state)
{
    (void)state;
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_aa_profile_from_template(tmpl, UUID, &out, &err), 0);
    assert_string_equal(out, libvirt_made);

    autofree char *bad = NULL;
    assert_int_equal(vg_aa_profile_from_template("profile x {\n}\n", UUID, &bad, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "it is not libvirt's TEMPLATE.qemu"));
}

static void test_ensure(void **state)
{
    (void)state;
    autofree char *once = NULL;
    autofree char *twice = NULL;
    autofree char *dev = NULL;
    autofree char *back = NULL;
    autoerror vg_error *err = NULL;
    bool changed;

    assert_int_equal(vg_aa_profile_ensure(libvirt_made, UUID, false, &once, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(once,
        "#\n# This profile is for the domain whose UUID matches this file.\n#\n\n"
        "#include <tunables/global>\n\n"
        "profile libvirt-" UUID " flags=(attach_disconnected) {\n"
        "  #include <abstractions/libvirt-qemu>\n"
        "  #include <libvirt/libvirt-" UUID ".files>\n\n"
        "  #include if exists <libvirt/libvirt-" UUID ".virtguard>\n"
        "}\n");
    /* idempotent */
    assert_int_equal(vg_aa_profile_ensure(once, UUID, false, &twice, &changed, &err), 0);
    assert_false(changed);
    assert_string_equal(once, twice);
    /* dev mode: complain joins the flags, with the mark that it is ours;
     * enforce takes both away again, byte for byte */
    assert_int_equal(vg_aa_profile_ensure(once, UUID, true, &dev, &changed, &err), 0);
    assert_true(changed);
    assert_non_null(strstr(dev, "profile libvirt-" UUID " flags=(attach_disconnected, complain) {\n"
                                "  " VG_AA_COMPLAIN_MARK "\n  #include <abstractions/libvirt-qemu>\n"));
    autofree char *dev2 = NULL;
    assert_int_equal(vg_aa_profile_ensure(dev, UUID, true, &dev2, &changed, &err), 0);
    assert_false(changed);
    assert_int_equal(vg_aa_profile_ensure(dev, UUID, false, &back, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(back, once);
}

/* The admin's own complain flag (no mark) is never taken away. */
static void test_admin_complain_kept(void **state)
{
    (void)state;
    autofree char *admin = NULL;
    autofree char *dev = NULL;
    autofree char *enforce = NULL;
    autofree char *restored = NULL;
    autoerror vg_error *err = NULL;
    bool changed;

    const char *at = strstr(libvirt_made, "flags=(attach_disconnected)");
    assert_non_null(at);
    admin = vg_xasprintf("%.*sflags=(attach_disconnected, complain)%s", (int)(at - libvirt_made),
                         libvirt_made, at + strlen("flags=(attach_disconnected)"));
    /* dev mode adds nothing to the flags (and no mark) */
    assert_int_equal(vg_aa_profile_ensure(admin, UUID, true, &dev, &changed, &err), 0);
    assert_null(strstr(dev, VG_AA_COMPLAIN_MARK));
    assert_non_null(strstr(dev, "flags=(attach_disconnected, complain) {\n"));
    assert_int_equal(vg_aa_profile_ours(dev, UUID), VG_AA_OURS_INCLUDE);
    /* enforce mode keeps it */
    assert_int_equal(vg_aa_profile_ensure(dev, UUID, false, &enforce, &changed, &err), 0);
    assert_false(changed);
    assert_string_equal(enforce, dev);
    /* and so does a full restore: only the include line goes */
    assert_int_equal(vg_aa_profile_restore(enforce, UUID, true, &restored, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(restored, admin);
}

static void test_restore(void **state)
{
    (void)state;
    autofree char *dev = NULL;
    autofree char *unload = NULL;
    autofree char *gone = NULL;
    autofree char *same = NULL;
    autofree char *once = NULL;
    autoerror vg_error *err = NULL;
    bool changed;

    assert_int_equal(vg_aa_profile_ensure(libvirt_made, UUID, false, &once, &changed, &err), 0);
    assert_int_equal(vg_aa_profile_ensure(libvirt_made, UUID, true, &dev, &changed, &err), 0);
    assert_int_equal(vg_aa_profile_ours(dev, UUID), VG_AA_OURS_COMPLAIN | VG_AA_OURS_INCLUDE);
    /* unload/reconcile: the flag and its mark go, the inert include stays */
    assert_int_equal(vg_aa_profile_restore(dev, UUID, false, &unload, &changed, &err), 0);
    assert_true(changed);
    assert_string_equal(unload, once);
    assert_int_equal(vg_aa_profile_ours(unload, UUID), VG_AA_OURS_INCLUDE);
    /* gc of a domain that is gone: libvirt's own file again */
    assert_int_equal(vg_aa_profile_restore(dev, UUID, true, &gone, &changed, &err), 0);
    assert_string_equal(gone, libvirt_made);
    assert_int_equal(vg_aa_profile_ours(gone, UUID), 0);
    /* nothing of ours: unchanged */
    assert_int_equal(vg_aa_profile_restore(libvirt_made, UUID, true, &same, &changed, &err), 0);
    assert_false(changed);
    assert_string_equal(same, libvirt_made);
    /* another domain's include line is not ours */
    autofree char *other = vg_xasprintf("%s  #include if exists <libvirt/libvirt-"
                                        "00000000-0000-0000-0000-000000000000.virtguard>\n",
                                        libvirt_made);
    assert_int_equal(vg_aa_profile_ours(other, UUID), 0);
}

static void test_ensure_flags_forms(void **state)
{
    (void)state;
    struct { const char *in; bool complain; const char *head; } cases[] = {
        { "profile libvirt-" UUID " {\n}\n", true, "profile libvirt-" UUID " flags=(complain) {\n" },
        /* unmarked: the admin's complain flag, kept in enforce mode */
        { "profile libvirt-" UUID " flags=(complain) {\n}\n", false,
          "profile libvirt-" UUID " flags=(complain) {\n" },
        /* an explicit enforce flag conflicts with complain: kept, nothing added */
        { "profile libvirt-" UUID " flags=(enforce,attach_disconnected) {\n}\n", true,
          "profile libvirt-" UUID " flags=(enforce,attach_disconnected) {\n" },
        { "profile libvirt-" UUID " flags=(audit) {\n}\n", true,
          "profile libvirt-" UUID " flags=(audit, complain) {\n  " VG_AA_COMPLAIN_MARK "\n" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autofree char *in = vg_xasprintf("#include <tunables/global>\n%s", cases[i].in);
        autofree char *out = NULL;
        autoerror vg_error *err = NULL;
        bool changed;
        assert_int_equal(vg_aa_profile_ensure(in, UUID, cases[i].complain, &out, &changed, &err), 0);
        if (!strstr(out, cases[i].head))
            fail_msg("case %zu: got\n%s", i, out);
    }
    /* another domain's profile file is not ours to edit */
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    bool changed;
    assert_int_equal(vg_aa_profile_ensure("\nprofile libvirt-other {\n}\n", UUID, false, &out,
                                          &changed, &err), -EINVAL);
    assert_string_equal(err->msg, "the profile file has no 'profile libvirt-" UUID "' line");
}

/* What every libvirt-made profile gives: `made` with virtguard's include
 * (*with, *changed) validates as its text without libvirt's .files line and
 * with the rules "/x" r, inline (*val). */
static void check_validation(const char *made, char **with, bool *changed, char **val)
{
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_aa_profile_ensure(made, UUID, false, with, changed, &err), 0);
    assert_int_equal(vg_aa_profile_for_validation(*with, UUID, "  \"/x\" r,\n", val, &err), 0);
    assert_null(strstr(*val, ".files>"));
    assert_null(strstr(*val, ".virtguard>"));
    assert_non_null(strstr(*val, "\n\n  \"/x\" r,\n}\n"));
}

static void test_for_validation(void **state)
{
    (void)state;
    autofree char *with = NULL;
    autofree char *val = NULL;
    autoerror vg_error *err = NULL;
    bool changed;
    check_validation(libvirt_made, &with, &changed, &val);
    autofree char *none = NULL;
    assert_int_equal(vg_aa_profile_for_validation(libvirt_made, UUID, "", &none, &err), -EINVAL);
}

/* The includes are whole lines: the same text at the end of a comment is
 * neither dropped (which would join the comment to the next line, hiding a
 * rule from validation that the loaded profile has) nor taken for ours. */
static void test_for_validation_whole_lines(void **state)
{
    (void)state;
    static const char text[] =
        "#include <tunables/global>\n"
        "profile libvirt-" UUID " flags=(attach_disconnected) {\n"
        "  # moved:  #include if exists <libvirt/libvirt-" UUID ".files>\n"
        "  /etc/shadow r,\n"
        "  # old:  #include if exists <libvirt/libvirt-" UUID ".virtguard>\n"
        "  #include if exists <libvirt/libvirt-" UUID ".files>\n"
        "}\n";
    autofree char *with = NULL;
    autofree char *val = NULL;
    autofree char *none = NULL;
    autoerror vg_error *err = NULL;
    bool changed;
    /* a commented-out include of ours is none: validation refuses, ensure adds one */
    assert_int_equal(vg_aa_profile_for_validation(text, UUID, "", &none, &err), -EINVAL);
    vg_error_free(steal_pointer(&err));
    assert_int_equal(vg_aa_profile_ensure(text, UUID, false, &with, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(vg_aa_profile_for_validation(with, UUID, "  \"/x\" r,\n", &val, &err), 0);
    assert_string_equal(val,
        "#include <tunables/global>\n"
        "profile libvirt-" UUID " flags=(attach_disconnected) {\n"
        "  # moved:  #include if exists <libvirt/libvirt-" UUID ".files>\n"
        "  /etc/shadow r,\n"
        "  # old:  #include if exists <libvirt/libvirt-" UUID ".virtguard>\n"
        "  \"/x\" r,\n"
        "}\n");
}

/* libvirt 11.3's virt-aa-helper -c: the same text, with the .files include
 * as "include if exists"; validation drops that form too. */
static void test_for_validation_libvirt11(void **state)
{
    (void)state;
    static const char libvirt11_made[] =
        "#\n# This profile is for the domain whose UUID matches this file.\n#\n\n"
        "#include <tunables/global>\n\n"
        "profile libvirt-" UUID " flags=(attach_disconnected) {\n"
        "  #include <abstractions/libvirt-qemu>\n"
        "  #include if exists <libvirt/libvirt-" UUID ".files>\n\n"
        "}\n";
    autofree char *with = NULL;
    autofree char *val = NULL;
    bool changed;
    check_validation(libvirt11_made, &with, &changed, &val);
    assert_true(changed);
    assert_non_null(strstr(with, "  #include if exists <libvirt/libvirt-" UUID ".files>\n"));
    assert_non_null(strstr(val, "  #include <abstractions/libvirt-qemu>\n"));
}

/* The helper profile's generated include follows the config; a stale one
 * is reported with the commands that fix it. */
static void test_helper_roots(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-roots-XXXXXX";
    autoconfig vg_config *cfg = NULL;
    autoconfig vg_config *cfg2 = NULL;
    autoerror vg_error *err = NULL;
    autofree char *text = NULL;
    assert_non_null(mkdtemp(dir));
    autofree char *conf = vg_xasprintf("shared_mounts = [ \"%s/img\" ]\n", dir);
    assert_int_equal(vg_config_parse(conf, strlen(conf), "t.conf", &cfg, &err), 0);
    assert_int_equal(vg_helper_roots_render(cfg, &text, &err), 0);
    autofree char *want = vg_xasprintf("\"%s/img/\" r,\n\"%s/img/**\" r,\n", dir, dir);
    assert_non_null(strstr(text, want));

    /* missing */
    assert_int_equal(vg_helper_roots_check(cfg, dir, &err), -ESTALE);
    autofree char *inc = vg_xasprintf("%s/" VG_HELPER_ROOTS_INCLUDE, dir);
    autofree char *msg = vg_xasprintf("the helper's own AppArmor profile does not match the "
                                      "directories in virtguard.conf ('%s' is missing), so AppArmor "
                                      "would deny the helper reading the images; run 'virtguard-helper "
                                      "roots && apparmor_parser -r %s/usr.sbin.virtguard-helper' after "
                                      "every change of shared_mounts or apparmor_extra_roots", inc, dir);
    assert_string_equal(err->msg, msg);
    /* present and current */
    autofree char *sub = vg_xasprintf("%s/virtguard", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(vg_write_file_atomic(inc, text, strlen(text), 0644), 0);
    vg_error_free(err);
    err = NULL;
    assert_int_equal(vg_helper_roots_check(cfg, dir, &err), 0);
    /* the config names another root: stale */
    autofree char *conf2 = vg_xasprintf("shared_mounts = [ \"%s/img\" ]\n"
                                        "apparmor_extra_roots = [ \"%s/more\" ]\n", dir, dir);
    assert_int_equal(vg_config_parse(conf2, strlen(conf2), "t.conf", &cfg2, &err), 0);
    assert_int_equal(vg_helper_roots_check(cfg2, dir, &err), -ESTALE);
    assert_non_null(strstr(err->msg, "is out of date"));
    unlink(inc);
    rmdir(sub);
    rmdir(dir);
}

/* The one place that names the files of a domain. */
static void test_paths(void **state)
{
    (void)state;
    const char *u = "0b7d3c6e-5f1a-4e2b-8c9d-112233445566";
    autofree char *prof = vg_aa_profile_path("/etc/apparmor.d", u);
    autofree char *rules = vg_aa_rules_path("/etc/apparmor.d", u);
    autofree char *inc = vg_aa_rules_include(u);
    assert_string_equal(prof, "/etc/apparmor.d/libvirt/libvirt-0b7d3c6e-5f1a-4e2b-8c9d-112233445566");
    assert_string_equal(rules, "/etc/apparmor.d/libvirt/libvirt-0b7d3c6e-5f1a-4e2b-8c9d-112233445566"
                               ".virtguard");
    assert_string_equal(inc, "#include if exists "
                             "<libvirt/libvirt-0b7d3c6e-5f1a-4e2b-8c9d-112233445566.virtguard>");
    /* and back, the one way for every caller (helper gc, purge) */
    autofree char *name = vg_aa_profile_name(u);
    autofree char *back = vg_aa_profile_uuid(name, "");
    autofree char *back_rules = vg_aa_profile_uuid(strrchr(rules, '/') + 1, VG_AA_RULES_SUFFIX);
    assert_string_equal(back, u);
    assert_string_equal(back_rules, u);
    static const char *const not_ours[] = {
        "libvirt-0b7d3c6e-5f1a-4e2b-8c9d-112233445566.files",
        "libvirt-0b7d3c6e-5f1a-4e2b-8c9d-11223344556",      /* one digit short */
        "libvirt-0b7d3c6e-5f1a-4e2b-8c9d-11223344556g",     /* not hex */
        "libvirt-", "libvirt-.virtguard", "TEMPLATE.qemu",
        "xlibvirt-0b7d3c6e-5f1a-4e2b-8c9d-112233445566",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(not_ours); i++) {
        autofree char *none = vg_aa_profile_uuid(not_ours[i], "");
        autofree char *none_rules = vg_aa_profile_uuid(not_ours[i], VG_AA_RULES_SUFFIX);
        assert_null(none);
        assert_null(none_rules);
    }
    autofree char *wrong_suffix = vg_aa_profile_uuid(strrchr(rules, '/') + 1, "");
    assert_null(wrong_suffix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_from_template),
        cmocka_unit_test(test_ensure),
        cmocka_unit_test(test_ensure_flags_forms),
        cmocka_unit_test(test_admin_complain_kept),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_helper_roots),
        cmocka_unit_test(test_for_validation),
        cmocka_unit_test(test_for_validation_libvirt11),
        cmocka_unit_test(test_for_validation_whole_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
