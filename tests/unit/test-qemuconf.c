/* Unit tests for lib/config/qemuconf.c: who QEMU runs as, per libvirt's qemu.conf. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "qemuconf.h"

#define LIVE_QEMU_CONF "/etc/libvirt/qemu.conf"

static vg_qemu_conf *parse_ok(const char *text)
{
    vg_qemu_conf *q = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_qemu_conf_parse(text, strlen(text), "qemu.conf", &q, &err);
    if (r < 0)
        print_error("unexpected error: %s\ninput: %s\n", err->msg, text);
    assert_int_equal(r, 0);
    assert_non_null(q);
    return q;
}

static void parse_err(const char *text, const char *msg)
{
    vg_qemu_conf *q = (vg_qemu_conf *)&q; /* must be reset to NULL */
    autoerror vg_error *err = NULL;
    int r = vg_qemu_conf_parse(text, strlen(text), "qemu.conf", &q, &err);
    if (r != -EINVAL || !err || strcmp(err->msg, msg) != 0)
        print_error("input: %s\nexpected: %s\n     got: %s (%d)\n", text, msg,
                    err ? err->msg : "(no error)", r);
    assert_int_equal(r, -EINVAL);
    assert_null(q);
    assert_string_equal(err->msg, msg);
}

static void assert_defaults(const vg_qemu_conf *q)
{
    assert_string_equal(q->user, VG_DEFAULT_QEMU_USER);
    assert_string_equal(q->group, VG_DEFAULT_QEMU_GROUP);
    assert_true(q->dynamic_ownership);
    assert_true(q->remember_owner);
    assert_null(q->security_driver);
    assert_int_equal(q->security_driver_line, 0);
    assert_false(vg_qemu_conf_security_none(q));
}

static void test_defaults(void **state)
{
    (void)state;
    autoqemuconf vg_qemu_conf *d = vg_qemu_conf_new_default();
    assert_null(d->source);
    assert_defaults(d);

    autoqemuconf vg_qemu_conf *m = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_qemu_conf_load("/nonexistent/qemu.conf", &m, &err), 0);
    assert_null(m->source);
    assert_defaults(m);

    autoqemuconf vg_qemu_conf *e = parse_ok("# nothing set\nvnc_listen = \"0.0.0.0\"\n");
    assert_string_equal(e->source, "qemu.conf");
    assert_defaults(e);
}

static void test_debian_qemu_conf(void **state)
{
    (void)state;
    /* libvirt 9.0.0's shipped qemu.conf: every setting commented out */
    autoqemuconf vg_qemu_conf *q = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_qemu_conf_load(TEST_DATA_DIR "/conf/qemu-debian12.conf", &q, &err), 0);
    assert_string_equal(q->source, TEST_DATA_DIR "/conf/qemu-debian12.conf");
    assert_defaults(q);
}

static void test_live_qemu_conf(void **state)
{
    (void)state;
    if (access(LIVE_QEMU_CONF, R_OK) != 0)
        skip();
    autoqemuconf vg_qemu_conf *q = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_qemu_conf_load(LIVE_QEMU_CONF, &q, &err);
    if (r < 0)
        print_error("%s\n", err->msg);
    assert_int_equal(r, 0);
    assert_string_equal(q->source, LIVE_QEMU_CONF);

    /* unchanged from the package: the defaults */
    autofree char *live = NULL, *shipped = NULL;
    size_t ll = 0, sl = 0;
    assert_int_equal(vg_read_file(LIVE_QEMU_CONF, 1 << 20, &live, &ll), 0);
    assert_int_equal(vg_read_file(TEST_DATA_DIR "/conf/qemu-debian12.conf", 1 << 20, &shipped, &sl), 0);
    if (ll == sl && memcmp(live, shipped, ll) == 0)
        assert_defaults(q);
}

static void test_lima_qemu_conf(void **state)
{
    (void)state;
    autoqemuconf vg_qemu_conf *q = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_qemu_conf_load(TEST_DATA_DIR "/conf/qemu-lima.conf", &q, &err), 0);
    /* user is set twice: libvirt takes the first */
    assert_string_equal(q->user, "root");
    assert_string_equal(q->group, "kvm");
    assert_false(q->dynamic_ownership);
    assert_false(q->remember_owner);
    assert_int_equal(vg_strv_len(q->security_driver), 1);
    assert_string_equal(q->security_driver[0], "none");
    assert_int_equal(q->security_driver_line, 12);
    assert_true(vg_qemu_conf_security_none(q));
}

static void test_security_driver(void **state)
{
    (void)state;
    autoqemuconf vg_qemu_conf *a = parse_ok("security_driver = \"apparmor\"\n");
    assert_int_equal(vg_strv_len(a->security_driver), 1);
    assert_string_equal(a->security_driver[0], "apparmor");
    assert_int_equal(a->security_driver_line, 1);
    assert_false(vg_qemu_conf_security_none(a));

    autoqemuconf vg_qemu_conf *l = parse_ok("\n\nsecurity_driver = [ \"selinux\",\n \"apparmor\" ]\n");
    assert_int_equal(vg_strv_len(l->security_driver), 2);
    assert_string_equal(l->security_driver[1], "apparmor");
    assert_int_equal(l->security_driver_line, 3);
    assert_false(vg_qemu_conf_security_none(l));

    autoqemuconf vg_qemu_conf *n = parse_ok("security_driver = [ 'none' ]\n");
    assert_true(vg_qemu_conf_security_none(n));

    autoqemuconf vg_qemu_conf *mixed = parse_ok("security_driver = [ \"none\", \"apparmor\" ]\n");
    assert_false(vg_qemu_conf_security_none(mixed));

    /* an empty list is what unset is: libvirt probes */
    autoqemuconf vg_qemu_conf *empty = parse_ok("security_driver = [ ]\n");
    assert_null(empty->security_driver);
    assert_false(vg_qemu_conf_security_none(empty));

    autoqemuconf vg_qemu_conf *dac = parse_ok("security_driver = \"None\"\n");
    assert_false(vg_qemu_conf_security_none(dac));
    assert_false(vg_qemu_conf_security_none(NULL));
}

static void test_values(void **state)
{
    (void)state;
    autoqemuconf vg_qemu_conf *q = parse_ok("user = \"+1000\"\ngroup = \"+64055\"\n"
                                            "dynamic_ownership = 1\nremember_owner = 0\n");
    assert_string_equal(q->user, "+1000");
    assert_string_equal(q->group, "+64055");
    assert_true(q->dynamic_ownership);
    assert_false(q->remember_owner);
}

static void test_errors(void **state)
{
    (void)state;
    parse_err("dynamic_ownership = 2\n",
              "qemu.conf:1: key 'dynamic_ownership': expected 0 or 1, got 2");
    parse_err("\nremember_owner = -1\n", "qemu.conf:2: key 'remember_owner': expected 0 or 1, got -1");
    parse_err("dynamic_ownership = \"yes\"\n",
              "qemu.conf:1: key 'dynamic_ownership': expected 0 or 1, got a string");
    parse_err("user = 0\n", "qemu.conf:1: key 'user': expected a string, got a number");
    parse_err("group = [ \"kvm\" ]\n", "qemu.conf:1: key 'group': expected a string, got a list");
    parse_err("user = \"\"\n",
              "qemu.conf:1: key 'user': expected a user or group name, got an empty string");
    parse_err("security_driver = 1\n", "qemu.conf:1: key 'security_driver': expected a string "
              "or a list of strings, got a number");
    /* a syntax error anywhere, even in a key virtguard ignores */
    parse_err("user = \"root\"\ncgroup_device_acl = [ \"/dev/null\" \"/dev/full\" ]\n",
              "qemu.conf:2: key 'cgroup_device_acl': expected ',' or ']' after a list element, "
              "got '\"'");
    /* only the first of a duplicated key is checked, as libvirt uses only that one */
    autoqemuconf vg_qemu_conf *q = parse_ok("user = \"a\"\nuser = 5\n");
    assert_string_equal(q->user, "a");

    char dir[] = "/tmp/vg-qemuconf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    autofree char *path = vg_xasprintf("%s/qemu.conf", dir);
    const char *text = "# x\nsecurity_driver = \"none\" user = \"root\"\n";
    assert_int_equal(vg_write_file_atomic(path, text, strlen(text), 0644), 0);
    vg_qemu_conf *r = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_qemu_conf_load(path, &r, &err), -EINVAL);
    assert_null(r);
    autofree char *want = vg_xasprintf("%s:2: key 'security_driver': expected a newline or ';' "
                                       "after the value, got 'u'", path);
    assert_string_equal(err->msg, want);
    autoerror vg_error *err2 = NULL;
    assert_int_equal(vg_qemu_conf_load(dir, &r, &err2), -EISDIR);
    assert_null(r);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_debian_qemu_conf),
        cmocka_unit_test(test_live_qemu_conf),
        cmocka_unit_test(test_lima_qemu_conf),
        cmocka_unit_test(test_security_driver),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
