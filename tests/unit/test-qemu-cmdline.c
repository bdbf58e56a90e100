/* Unit tests for xml/qemu-cmdline.c: QEMU's option syntax (",," escaping,
 * implied names, flags), the JSON form of -blockdev, and which arguments
 * become paths.  Whole domains with golden files: tests/data/domains/
 * vg-qemu-commandline.xml (test-domain-paths). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "domain-paths.h"
#include "qemu-cmdline.h"
#include "util.h"

/* "k1=v1|k2=v2|..." for the split of `s`. */
static char *split_text(const char *s, const char *implied)
{
    vg_qemu_opt *o = NULL;
    size_t n = vg_qemu_opts_split(s, implied, &o);
    vg_buf b = { 0 };
    for (size_t i = 0; i < n; i++)
        vg_buf_printf(&b, "%s%s=%s", i ? "|" : "", o[i].key, o[i].value);
    vg_qemu_opts_free(o, n);
    return vg_buf_steal(&b);
}

static void test_split(void **state)
{
    static const struct { const char *in, *implied, *want; } cases[] = {
        { "a=1,b=2", NULL, "a=1|b=2" },
        { "file=/img/x,,y.qcow2,readonly=on", NULL, "file=/img/x,y.qcow2|readonly=on" },
        { "file=/a,,,,b", NULL, "file=/a,,b" },
        { "a=1,,,b=2", NULL, "a=1,|b=2" },          /* ",," then the separator */
        { "a=1,", NULL, "a=1" },
        { "file=", NULL, "file=" },
        { "readonly,file=/f", NULL, "readonly=on|file=/f" },
        { "opt/com.coreos/config,file=/c.ign", "name", "name=opt/com.coreos/config|file=/c.ign" },
        { "opt/x,,y,file=/f", "name", "name=opt/x,y|file=/f" },
        { "name=n,file=/f", "name", "name=n|file=/f" },
        { "x,y", "name", "name=x|y=on" },            /* only the first is implied */
        { "", NULL, "" },
        { "==,=", NULL, "==|=" },                   /* empty names are kept */
    };
    (void)state;
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autofree char *got = split_text(cases[i].in, cases[i].implied);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("split('%s'): got '%s', want '%s'", cases[i].in, got, cases[i].want);
    }
}

static void test_get_last(void **state)
{
    vg_qemu_opt *o = NULL;
    size_t n = vg_qemu_opts_split("file=/a,file=/b", NULL, &o);
    (void)state;
    assert_string_equal(vg_qemu_opts_get(o, n, "file"), "/b");
    assert_null(vg_qemu_opts_get(o, n, "format"));
    vg_qemu_opts_free(o, n);
}

static vg_domain *domain_with(const char *cl)
{
    autofree char *xml = vg_xasprintf(
        "<domain type='kvm' xmlns:qemu='" VG_QEMU_NS "'><name>t</name>"
        "<qemu:commandline>%s</qemu:commandline></domain>", cl);
    autoerror vg_error *err = NULL;
    vg_domain *d = NULL;
    assert_int_equal(vg_domain_parse(xml, strlen(xml), "t.xml", &d, &err), 0);
    return d;
}

static void test_blockdev_json(void **state)
{
    (void)state;
    {
        autodomain vg_domain *d = domain_with(
            "<qemu:arg value='-blockdev'/><qemu:arg value='{ \"driver\" : \"qcow2\", "
            "\"read-only\": false, \"file\": {\"driver\": \"file\", \"filename\": "
            "\"/i/a\\\\\\\"b\\/c\"}, \"cache\": {\"direct\": true}, \"discard\": null, "
            "\"size\": 1e3 }'/>");
        assert_int_equal(d->n_paths, 1);
        assert_string_equal(d->paths[0].path, "/i/a\\\"b/c");
        assert_string_equal(d->paths[0].format, "qcow2");
        assert_int_equal(d->paths[0].access, VG_ACCESS_RW);
        assert_int_equal(d->n_unresolved, 0);
    }
    static const char *const bad[] = {
        "{\"filename\": \"/x\\u00e9\"}",          /* non-ASCII escape */
        "{\"filename\": \"/x\\u0000\"}",          /* NUL */
        "{\"filename\": [\"/x\"]}",               /* arrays */
        "{\"filename\": \"/x\"} trailing",
        "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
        "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"filename\":\"/deep\"}}}}}}}}}}}}}}}}}}",
        "{\"filename\" \"/x\"}",
        "{\"filename\": \"/x\\q\"}",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        autofree char *arg = vg_xasprintf("<qemu:arg value='-blockdev'/><qemu:arg value='%s'/>",
                                          bad[i]);
        autodomain vg_domain *d = domain_with(arg);
        if (d->n_paths != 0 || d->n_unresolved != 1)
            fail_msg("JSON '%s' gave %zu path(s)", bad[i], d->n_paths);
        assert_string_equal(d->unresolved[0].reason, "its JSON is not an object virtguard can "
                                                     "read; host paths in it are not checked");
    }
}

/* Only the options' own values are read: a "file=" elsewhere is not. */
static void test_only_known_options(void **state)
{
    (void)state;
    autodomain vg_domain *d = domain_with(
        "<qemu:arg value='-object'/><qemu:arg value='memory-backend-file,id=m,mem-path=/dev/hugepages'/>"
        "<qemu:arg value='-chardev'/><qemu:arg value='file,id=c,path=/tmp/log'/>"
        "<qemu:arg value='-drive'/><qemu:arg value='file=relative.img'/>"
        "<qemu:arg value='/positional.img'/>");
    assert_int_equal(d->n_paths, 0);
    assert_int_equal(d->n_unresolved, 2);
    assert_string_equal(d->unresolved[0].reason,
                        "file='relative.img' is not an absolute path (a protocol or a name "
                        "relative to QEMU's directory): not checked");
    assert_string_equal(d->unresolved[1].reason,
                        "option(s) '-object', '-chardev', 3 other argument(s) pass through "
                        "libvirt uninterpreted; host paths in them are not checked");
}

/* Hostile bytes in a name are not repeated in messages. */
static void test_shown(void **state)
{
    (void)state;
    autodomain vg_domain *d = domain_with("<qemu:arg value='-evil&#10;x&apos;y'/>");
    assert_int_equal(d->n_unresolved, 1);
    assert_string_equal(d->unresolved[0].reason,
                        "option(s) '-evil?x?y' pass through libvirt uninterpreted; host paths "
                        "in them are not checked");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_get_last),
        cmocka_unit_test(test_blockdev_json),
        cmocka_unit_test(test_only_known_options),
        cmocka_unit_test(test_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
