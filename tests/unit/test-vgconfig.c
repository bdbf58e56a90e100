/* Unit tests for lib/config/vgconfig.c: the meaning of virtguard.conf. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "vgconfig.h"

#define SHIPPED_CONF TEST_DATA_DIR "/../../docs/virtguard.conf"
#define NAME "/etc/virtguard/virtguard.conf"

static vg_config *parse_ok(const char *text)
{
    vg_config *c = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_config_parse(text, strlen(text), NAME, &c, &err);
    if (r < 0)
        print_error("unexpected error: %s\ninput: %s\n", err->msg, text);
    assert_int_equal(r, 0);
    assert_non_null(c);
    return c;
}

static void parse_err(const char *text, const char *msg)
{
    vg_config *c = (vg_config *)&c; /* must be reset to NULL */
    autoerror vg_error *err = NULL;
    int r = vg_config_parse(text, strlen(text), NAME, &c, &err);
    if (r != -EINVAL || !err || strcmp(err->msg, msg) != 0)
        print_error("input: %s\nexpected: %s\n     got: %s (%d)\n", text, msg,
                    err ? err->msg : "(no error)", r);
    assert_int_equal(r, -EINVAL);
    assert_null(c);
    assert_non_null(err);
    assert_string_equal(err->msg, msg);
}

/* Everything except `source` equals the built-in defaults. */
static void assert_defaults_q(const vg_config *c, const char *qemu_conf)
{
    assert_int_equal(c->mode, VG_MODE_ENFORCE);
    assert_non_null(c->shared_mounts);
    assert_null(c->shared_mounts[0]);
    assert_non_null(c->shared_fs_types);
    assert_int_equal(vg_strv_len(c->shared_fs_types), 2);
    assert_string_equal(c->shared_fs_types[0], "9p");
    assert_string_equal(c->shared_fs_types[1], "virtiofs");
    assert_int_equal(c->n_path_map, 0);
    assert_null(c->path_map);
    assert_int_equal(c->probe_timeout_ms, 5000);
    assert_non_null(c->extra_roots);
    assert_null(c->extra_roots[0]);
    assert_int_equal(c->apparmor, VG_APPARMOR_AUTO);
    assert_string_equal(c->qemu_conf, qemu_conf);
}

static void assert_defaults(const vg_config *c)
{
    assert_defaults_q(c, LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf");
}

static void test_defaults(void **state)
{
    (void)state;
    autoconfig vg_config *d = vg_config_new_default();
    assert_null(d->source);
    assert_defaults(d);
    assert_string_equal(vg_config_default_path(), SYSCONFDIR "/virtguard/virtguard.conf");
    assert_string_equal(vg_mode_name(VG_MODE_ENFORCE), "enforce");
    assert_string_equal(vg_mode_name(VG_MODE_DEV), "dev");

    autoconfig vg_config *e = parse_ok("");
    assert_string_equal(e->source, NAME);
    assert_defaults(e);
    autoconfig vg_config *l = parse_ok("shared_mounts = []\napparmor_extra_roots = [\n]\n"
                                       "path_map = []\n");
    assert_defaults(l);
}

static void test_missing_file(void **state)
{
    (void)state;
    autoconfig vg_config *c = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_config_load("/nonexistent/virtguard.conf", &c, &err), 0);
    assert_null(err);
    assert_null(c->source);
    assert_defaults(c);
}

static void test_shipped_file(void **state)
{
    (void)state;
    autoconfig vg_config *c = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_config_load(SHIPPED_CONF, &c, &err), 0);
    assert_string_equal(c->source, SHIPPED_CONF);
    assert_defaults(c);

    /* Every commented "#key = value" line is valid and shows the default;
     * the Lima example at the end is valid too. */
    autofree char *text = NULL;
    assert_int_equal(vg_read_file(SHIPPED_CONF, 1 << 20, &text, NULL), 0);
    char *example = strstr(text, "\n# Example:");
    assert_non_null(example);
    vg_buf defaults = { 0 }, lima = { 0 };
    size_t n_defaults = 0, n_lima = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] != '#' || !strchr(line, '=') || line[1] == ' ' || line[1] == '\0')
            continue;
        bool in_example = line > example;
        vg_buf_printf(in_example ? &lima : &defaults, "%s\n", line + 1);
        (*(in_example ? &n_lima : &n_defaults))++;
    }
    assert_int_equal(n_defaults, 8); /* one per key */
    assert_int_equal(n_lima, 3);
    autofree char *dtext = vg_buf_steal(&defaults);
    autofree char *ltext = vg_buf_steal(&lima);
    autoconfig vg_config *d = parse_ok(dtext);
    /* the shipped file documents the paths of a --sysconfdir=/etc build */
    assert_defaults_q(d, "/etc/libvirt/qemu.conf");
    autoconfig vg_config *l = parse_ok(ltext);
    assert_int_equal(l->mode, VG_MODE_ENFORCE);
    assert_int_equal(vg_strv_len(l->shared_mounts), 1);
    assert_string_equal(l->shared_mounts[0], "/var/lib/libvirt/images");
    assert_int_equal(l->n_path_map, 1);
    assert_string_equal(l->path_map[0].from, "/Users/dev/images");
    assert_string_equal(l->path_map[0].to, "/var/lib/libvirt/images");
}

static void test_full_config(void **state)
{
    (void)state;
    autoconfig vg_config *c = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_config_load(TEST_DATA_DIR "/conf/lima.conf", &c, &err), 0);
    assert_string_equal(c->source, TEST_DATA_DIR "/conf/lima.conf");
    assert_int_equal(c->mode, VG_MODE_DEV);
    assert_int_equal(vg_strv_len(c->shared_mounts), 2);
    assert_string_equal(c->shared_mounts[0], "/var/lib/libvirt/images");
    assert_string_equal(c->shared_mounts[1], "/srv/shared");
    assert_int_equal(vg_strv_len(c->shared_fs_types), 3);
    assert_string_equal(c->shared_fs_types[2], "fuse.sshfs");
    assert_int_equal(c->n_path_map, 2);
    assert_string_equal(c->path_map[0].from, "/Users/dev/images");
    assert_string_equal(c->path_map[0].to, "/var/lib/libvirt/images");
    assert_string_equal(c->path_map[1].from, "/Users/dev/shared");
    assert_string_equal(c->path_map[1].to, "/srv/shared");
    assert_int_equal(c->probe_timeout_ms, 250);
    assert_int_equal(vg_strv_len(c->extra_roots), 3);
    assert_string_equal(c->extra_roots[0], "/srv/isos");
    assert_string_equal(c->extra_roots[1], "/opt/virtguard");
    assert_string_equal(c->extra_roots[2], "/etcetera");
    assert_string_equal(c->qemu_conf, "/srv/etc/qemu.conf");

    autoconfig vg_config *b = parse_ok("probe_timeout_ms = 100\n");
    assert_int_equal(b->probe_timeout_ms, 100);
    autoconfig vg_config *t = parse_ok("probe_timeout_ms = 600000\nmode = 'enforce'\n");
    assert_int_equal(t->probe_timeout_ms, 600000);
    assert_int_equal(t->mode, VG_MODE_ENFORCE);
}

static void test_key_errors(void **state)
{
    (void)state;
    parse_err("# c\n\n\n\n\n\nmode = \"strict\"\n",
              NAME ":7: key 'mode': expected \"enforce\" or \"dev\", got \"strict\"");
    parse_err("shared_mount = [ \"/a\" ]\n",
              NAME ":1: unknown key 'shared_mount'; did you mean 'shared_mounts'?");
    parse_err("\nMode = \"dev\"\n", NAME ":2: unknown key 'Mode'; did you mean 'mode'?");
    parse_err("shraed_mounts = [ ]\n",
              NAME ":1: unknown key 'shraed_mounts'; did you mean 'shared_mounts'?");
    parse_err("probe_timeout = 5\n", NAME ":1: unknown key 'probe_timeout'; the known keys are "
              "'mode', 'shared_mounts', 'shared_fs_types', 'path_map', 'probe_timeout_ms', "
              "'apparmor_extra_roots', 'qemu_conf', 'apparmor'");
    parse_err("security_driver = \"none\"\n", NAME ":1: unknown key 'security_driver'; the "
              "known keys are 'mode', 'shared_mounts', 'shared_fs_types', 'path_map', "
              "'probe_timeout_ms', 'apparmor_extra_roots', 'qemu_conf', 'apparmor'");
    parse_err("mode = \"dev\"\nmode = \"enforce\"\n",
              NAME ":2: key 'mode': set a second time (first on line 1); keep only one");
    /* syntax errors come through unchanged */
    parse_err("mode = \"dev\"\nshared_mounts = [ \"/a\"\n",
              NAME ":2: key 'shared_mounts': the list that starts here is not closed with ']'");
}

static void test_type_errors(void **state)
{
    (void)state;
    parse_err("mode = 1\n", NAME ":1: key 'mode': expected a string, e.g. \"enforce\", got a number");
    parse_err("mode = [ \"dev\" ]\n",
              NAME ":1: key 'mode': expected a string, e.g. \"enforce\", got a list");
    parse_err("shared_mounts = \"/var/lib/libvirt/images\"\n", NAME ":1: key 'shared_mounts': "
              "expected a list, e.g. [ \"/var/lib/libvirt/images\" ], got a string");
    parse_err("shared_fs_types = \"9p\"\n", NAME ":1: key 'shared_fs_types': expected a list, "
              "e.g. [ \"9p\", \"virtiofs\" ], got a string");
    parse_err("path_map = 3\n", NAME ":1: key 'path_map': expected a list, e.g. "
              "[ \"/Users/dev/images=/var/lib/libvirt/images\" ], got a number");
    parse_err("probe_timeout_ms = \"5000\"\n",
              NAME ":1: key 'probe_timeout_ms': expected a number, e.g. 5000, got a string");
    parse_err("apparmor_extra_roots = \"/srv\"\n", NAME ":1: key 'apparmor_extra_roots': "
              "expected a list, e.g. [ \"/var/lib/libvirt/images\" ], got a string");
    parse_err("qemu_conf = [ \"/etc/libvirt/qemu.conf\" ]\n", NAME ":1: key 'qemu_conf': "
              "expected a string, e.g. \"/etc/libvirt/qemu.conf\", got a list");
}

static void test_value_errors(void **state)
{
    (void)state;
    parse_err("mode = \"\"\n", NAME ":1: key 'mode': expected \"enforce\" or \"dev\", got \"\"");
    parse_err("mode = \"Enforce\"\n",
              NAME ":1: key 'mode': expected \"enforce\" or \"dev\", got \"Enforce\"");
    parse_err("shared_mounts = [ \"images\" ]\n", NAME ":1: key 'shared_mounts': \"images\" is "
              "not an absolute path (it must start with '/')");
    parse_err("shared_mounts = [ \"\" ]\n",
              NAME ":1: key 'shared_mounts': \"\" is empty; expected an absolute path");
    parse_err("shared_mounts = [ \"/\" ]\n", NAME ":1: key 'shared_mounts': \"/\" is the root "
              "directory; name a directory such as \"/var/lib/libvirt/images\"");
    parse_err("shared_mounts = [ \"//./\" ]\n", NAME ":1: key 'shared_mounts': \"//./\" is the "
              "root directory; name a directory such as \"/var/lib/libvirt/images\"");
    parse_err("shared_mounts = [ \"/var/lib/../images\" ]\n", NAME ":1: key 'shared_mounts': "
              "\"/var/lib/../images\" contains '..'; write the path without it");
    parse_err("shared_mounts = [ \"/a/b\",\n  \"/a//b/\" ]\n",
              NAME ":1: key 'shared_mounts': \"/a/b\" is listed more than once");

    parse_err("shared_fs_types = [ ]\n", NAME ":1: key 'shared_fs_types': the list is empty, so "
              "no mount could ever pass the check; name at least one filesystem type as "
              "/proc/self/mountinfo shows it, e.g. \"9p\" or \"virtiofs\"");
    parse_err("shared_fs_types = [ \"9p virtiofs\" ]\n", NAME ":1: key 'shared_fs_types': "
              "\"9p virtiofs\" is not a filesystem type; expected a type as /proc/self/mountinfo "
              "shows it, e.g. \"9p\", \"virtiofs\" or \"fuse.sshfs\"");
    parse_err("shared_fs_types = [ \"\" ]\n", NAME ":1: key 'shared_fs_types': \"\" is not a "
              "filesystem type; expected a type as /proc/self/mountinfo shows it, e.g. \"9p\", "
              "\"virtiofs\" or \"fuse.sshfs\"");
    parse_err("shared_fs_types = [ \"9p\", \"9p\" ]\n",
              NAME ":1: key 'shared_fs_types': \"9p\" is listed more than once");

    parse_err("probe_timeout_ms = 99\n", NAME ":1: key 'probe_timeout_ms': expected "
              "milliseconds from 100 to 600000, got 99");
    parse_err("probe_timeout_ms = 600001\n", NAME ":1: key 'probe_timeout_ms': expected "
              "milliseconds from 100 to 600000, got 600001");
    parse_err("probe_timeout_ms = -5000\n", NAME ":1: key 'probe_timeout_ms': expected "
              "milliseconds from 100 to 600000, got -5000");
    parse_err("probe_timeout_ms = 9223372036854775807\n", NAME ":1: key 'probe_timeout_ms': "
              "expected milliseconds from 100 to 600000, got 9223372036854775807");

    parse_err("qemu_conf = \"qemu.conf\"\n", NAME ":1: key 'qemu_conf': \"qemu.conf\" is not "
              "an absolute path (it must start with '/')");
    parse_err("qemu_conf = \"\"\n", NAME ":1: key 'qemu_conf': \"\" is empty; expected an "
              "absolute path");
    autoconfig vg_config *q = parse_ok("qemu_conf = \"/etc/libvirt//qemu.conf\"\n");
    assert_string_equal(q->qemu_conf, "/etc/libvirt/qemu.conf");
}

static void test_path_map(void **state)
{
    (void)state;
    autoconfig vg_config *c = parse_ok(
        "path_map = [ \"/Users/dev/images/=/var/lib/libvirt/images//\",\n"
        "             \"/Users/dev/images/old=/srv/old=x\" ]\n");
    assert_int_equal(c->n_path_map, 2);
    assert_string_equal(c->path_map[0].from, "/Users/dev/images");
    assert_string_equal(c->path_map[0].to, "/var/lib/libvirt/images");
    /* split at the first '=' */
    assert_string_equal(c->path_map[1].from, "/Users/dev/images/old");
    assert_string_equal(c->path_map[1].to, "/srv/old=x");

    parse_err("path_map = [ \"/a\" ]\n",
              NAME ":1: key 'path_map': entry \"/a\" is not of the form \"FROM=TO\"");
    parse_err("path_map = [ \"\" ]\n",
              NAME ":1: key 'path_map': entry \"\" is not of the form \"FROM=TO\"");
    parse_err("path_map = [ \"=/a\" ]\n", NAME ":1: key 'path_map': entry \"=/a\": FROM \"\" "
              "is empty; expected an absolute path");
    parse_err("path_map = [ \"/a=\" ]\n", NAME ":1: key 'path_map': entry \"/a=\": TO \"\" is "
              "empty; expected an absolute path");
    parse_err("path_map = [ \"Users/dev=/a\" ]\n", NAME ":1: key 'path_map': entry "
              "\"Users/dev=/a\": FROM \"Users/dev\" is not an absolute path (it must start with '/')");
    parse_err("path_map = [ \"/a=images\" ]\n", NAME ":1: key 'path_map': entry \"/a=images\": "
              "TO \"images\" is not an absolute path (it must start with '/')");
    parse_err("path_map = [ \"/a/../b=/c\" ]\n", NAME ":1: key 'path_map': entry \"/a/../b=/c\": "
              "FROM \"/a/../b\" contains '..'; write the path without it");
    parse_err("path_map = [ \"/a=/c/..\" ]\n", NAME ":1: key 'path_map': entry \"/a=/c/..\": "
              "TO \"/c/..\" contains '..'; write the path without it");
    parse_err("path_map = [ \"/a/=/a\" ]\n",
              NAME ":1: key 'path_map': entry \"/a/=/a\" maps \"/a\" to itself");
    parse_err("path_map = [ \"/=/a\" ]\n", NAME ":1: key 'path_map': entry \"/=/a\": the root "
              "directory cannot be mapped; map the shared directory itself");
    parse_err("path_map = [ \"/a=/\" ]\n", NAME ":1: key 'path_map': entry \"/a=/\": the root "
              "directory cannot be mapped; map the shared directory itself");
    parse_err("path_map = [\n \"/a=/b\",\n \"/a/=/c\",\n]\n",
              NAME ":1: key 'path_map': FROM \"/a\" is mapped more than once");
}

static void test_extra_roots(void **state)
{
    (void)state;
    autoconfig vg_config *c = parse_ok("apparmor_extra_roots = [ \"/srv/isos/\", \"/running/x\", "
                                       "\"/home/dev/vms\", \"/usrlocal\", \"/devices\" ]\n");
    assert_int_equal(vg_strv_len(c->extra_roots), 5);
    assert_string_equal(c->extra_roots[0], "/srv/isos");

    parse_err("apparmor_extra_roots = [ \"/\" ]\n", NAME ":1: key 'apparmor_extra_roots': \"/\" "
              "would let AppArmor rules reach every file; name the directories that hold images");
    static const struct { const char *dir, *root; } refused[] = {
        { "/etc", "/etc" }, { "/etc/libvirt", "/etc" }, { "/usr/share/x", "/usr" },
        { "/bin", "/bin" }, { "/sbin/", "/sbin" }, { "/lib", "/lib*" },
        { "/lib/modules", "/lib*" }, { "/lib64/x", "/lib*" }, { "/libx32", "/lib*" },
        { "/boot", "/boot" }, { "/proc/self", "/proc" }, { "/sys", "/sys" },
        { "/dev/shm", "/dev" }, { "//etc/.", "/etc" }, { "/root", "/root" },
        { "/root/images", "/root" }, { "/run/user/1000", "/run" }, { "/var/run/x", "/var/run" },
        { "/var/lib/libvirt/qemu/domain-1-x", "/var/lib/libvirt/qemu" },
        { "/var/cache/virtguard", "/var/cache/virtguard" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(refused); i++) {
        autofree char *text = vg_xasprintf("apparmor_extra_roots = [ \"/srv\", \"%s\" ]\n",
                                           refused[i].dir);
        autofree char *norm = vg_path_normalize(refused[i].dir);
        autofree char *msg = vg_xasprintf(
            NAME ":1: key 'apparmor_extra_roots': \"%s\" is under the restricted directory \"%s\"; "
            "virtguard never writes AppArmor rules for system, runtime or libvirt state "
            "directories (see virtguard.conf(5)); name the directory that holds the images",
            norm, refused[i].root);
        parse_err(text, msg);
        /* the same for a shared mount and a path_map target */
        autofree char *text2 = vg_xasprintf("shared_mounts = [ \"%s\" ]\n", refused[i].dir);
        autofree char *msg2 = vg_xasprintf(
            NAME ":1: key 'shared_mounts': \"%s\" is under the restricted directory \"%s\"; "
            "virtguard never writes AppArmor rules for system, runtime or libvirt state "
            "directories (see virtguard.conf(5)); name the directory that holds the images",
            norm, refused[i].root);
        parse_err(text2, msg2);
        autofree char *text3 = vg_xasprintf("path_map = [ \"/Users/dev/x=%s\" ]\n", refused[i].dir);
        autofree char *msg3 = vg_xasprintf(
            NAME ":1: key 'path_map': \"%s\" is under the restricted directory \"%s\"; "
            "virtguard never writes AppArmor rules for system, runtime or libvirt state "
            "directories (see virtguard.conf(5)); name the directory that holds the images",
            norm, refused[i].root);
        parse_err(text3, msg3);
    }
    /* roots outside the character policy: the rules could not name them */
    parse_err("shared_mounts = [ \"/srv/a\\b\" ]\n", NAME ":1: key 'shared_mounts': "
              "\"/srv/a\\\\b\" contains a backslash at byte 7; virtguard cannot write AppArmor "
              "rules for such a directory");
    parse_err("apparmor_extra_roots = [ \"srv\" ]\n", NAME ":1: key 'apparmor_extra_roots': "
              "\"srv\" is not an absolute path (it must start with '/')");
    parse_err("apparmor_extra_roots = [ \"/srv\", \"/srv/\" ]\n",
              NAME ":1: key 'apparmor_extra_roots': \"/srv\" is listed more than once");
}

static void test_load_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-vgconfig-XXXXXX";
    assert_non_null(mkdtemp(dir));
    autofree char *bad = vg_xasprintf("%s/virtguard.conf", dir);
    const char *text = "mode = \"dev\"\nshared_mount = [ \"/var/lib/libvirt/images\" ]\n";
    assert_int_equal(vg_write_file_atomic(bad, text, strlen(text), 0644), 0);

    vg_config *c = NULL;
    autoerror vg_error *e1 = NULL;
    assert_int_equal(vg_config_load(bad, &c, &e1), -EINVAL);
    assert_null(c);
    autofree char *want = vg_xasprintf("%s:2: unknown key 'shared_mount'; did you mean "
                                       "'shared_mounts'?", bad);
    assert_string_equal(e1->msg, want);

    /* a directory is not a missing file: fail, do not fall back to defaults */
    autoerror vg_error *e2 = NULL;
    assert_int_equal(vg_config_load(dir, &c, &e2), -EISDIR);
    assert_null(c);
    autofree char *want2 = vg_xasprintf("cannot read '%s': %s", dir, strerror(EISDIR));
    assert_string_equal(e2->msg, want2);

    size_t n = (1 << 20) + 1;
    autofree char *blob = vg_xmalloc(n);
    memset(blob, '#', n);
    assert_int_equal(vg_write_file_atomic(bad, blob, n, 0644), 0);
    autoerror vg_error *e3 = NULL;
    assert_int_equal(vg_config_load(bad, &c, &e3), -EFBIG);
    assert_null(c);

    unlink(bad);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_path_map),
        cmocka_unit_test(test_extra_roots),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
