/* Unit tests for xml/rewrite.c. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libxml/parser.h>

#include "domain-paths.h"
#include "error.h"
#include "rewrite.h"
#include "util.h"
#include "xmlsafe.h"

#define M(f, t) { (char *)(f), (char *)(t) }

static void expect_map(const vg_path_map *map, size_t n, const char *in, const char *want)
{
    autofree char *out = NULL;
    int r = vg_path_map_apply(map, n, in, &out);
    if (!want) {
        if (r != 0)
            fail_msg("'%s' should not be mapped, got '%s'", in, out);
        assert_null(out);
        return;
    }
    if (r != 1)
        fail_msg("'%s' should map to '%s'", in, want);
    assert_string_equal(out, want);
}

static void test_map_apply(void **state)
{
    (void)state;
    vg_path_map map[] = {
        M("/a", "/X"),
        M("/a/b", "/Y"),
        M("/Users/dev/images", "/var/lib/libvirt/images"),
        M("/t", "/slash/"),
        M("/r", "/"),
    };
    size_t n = VG_N_ELEMENTS(map);

    expect_map(map, n, "/a/x.img", "/X/x.img");
    expect_map(map, n, "/ab/x.img", NULL);             /* component boundary */
    expect_map(map, n, "/a", "/X");                    /* exact match */
    expect_map(map, n, "/a/", "/X/");                  /* trailing slash kept */
    expect_map(map, n, "/a/b", "/Y");                  /* longest wins... */
    expect_map(map, n, "/a/b/c/d.qcow2", "/Y/c/d.qcow2");
    expect_map(map, n, "/a/bc", "/X/bc");              /* ...only on a boundary */
    expect_map(map, n, "/Users/dev/images/jobs/sbx-1/disk.qcow2",
               "/var/lib/libvirt/images/jobs/sbx-1/disk.qcow2");
    expect_map(map, n, "/t/f", "/slash/f");            /* no doubled slash */
    expect_map(map, n, "/r/f", "/f");
    expect_map(map, n, "/r", "/");
    expect_map(map, n, "relative/a/x", NULL);
    expect_map(map, n, "a/x", NULL);
    expect_map(map, n, "", NULL);
    expect_map(map, n, "/other", NULL);
    expect_map(map, 0, "/a/x", NULL);

    /* longest wins regardless of order; a FROM with a trailing slash */
    vg_path_map rev[] = { M("/a/b/", "/Y"), M("/a", "/X") };
    expect_map(rev, 2, "/a/b/c", "/Y/c");
    expect_map(rev, 2, "/a/c", "/X/c");
    /* "/" maps every absolute path */
    vg_path_map root[] = { M("/", "/vgroot") };
    expect_map(root, 1, "/x/y", "/vgroot/x/y");
    expect_map(root, 1, "/", "/vgroot/");
}

static char *read_data(const char *rel, size_t *len)
{
    autofree char *path = vg_xasprintf("%s/%s", TEST_DATA_DIR, rel);
    char *t = NULL;
    assert_int_equal(vg_read_file(path, VG_XML_MAX_BYTES, &t, len), 0);
    return t;
}

static const vg_domain_path *find_dev(const vg_domain *d, vg_role role, const char *dev)
{
    for (size_t i = 0; i < d->n_paths; i++)
        if (d->paths[i].role == role && vg_streq(d->paths[i].device, dev))
            return &d->paths[i];
    fail_msg("no %s path for '%s'", vg_role_name(role), dev);
    return NULL;
}

static void test_rewrite_domain(void **state)
{
    (void)state;
    size_t len;
    autofree char *text = read_data("domains/vg-all-sources.xml", &len);
    vg_path_map map[] = {
        M("/var/lib/libvirt/images", "/Users/dev/vm images & co"),
        M("/srv/boot", "/boot2"),
        M("/var/lib/libvirt/images/base", "/base"),
    };
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    size_t changed = 99;

    assert_int_equal(vg_rewrite_xml(map, VG_N_ELEMENTS(map), text, len, "vg-all-sources.xml",
                                     &out, &changed, &err), 0);
    /* disk.qcow2, shared.img, shared-rw (virtiofs), layer1, layer2,
     * vmlinuz, initrd.img, board.dtb */
    assert_int_equal(changed, 8);

    /* the prolog (a comment) and the end are byte-identical */
    const char *root_in = strstr(text, "<domain");
    const char *root_out = strstr(out, "<domain");
    assert_non_null(root_out);
    assert_int_equal(root_out - out, root_in - text);
    assert_memory_equal(out, text, (size_t)(root_in - text));
    assert_string_equal(out + strlen(out) - 10, "</domain>\n");
    assert_null(strstr(out, "<?xml"));

    /* unrelated content unchanged */
    assert_non_null(strstr(out, "<emulator>/usr/bin/qemu-system-x86_64</emulator>"));
    assert_non_null(strstr(out, "<cmdline>console=ttyS0</cmdline>"));
    assert_non_null(strstr(out, "<label>+1000:+64055</label>"));
    assert_non_null(strstr(out, "<kernel>/boot2/vmlinuz</kernel>"));
    assert_non_null(strstr(out, "&amp; co/jobs/vg-all/disk.qcow2"));
    assert_null(strstr(out, "/var/lib/libvirt/images"));     /* all of them mapped */

    /* the result is a valid domain with the mapped paths and nothing else moved */
    autodomain vg_domain *before = NULL, *after = NULL;
    autoerror vg_error *e2 = NULL;
    assert_int_equal(vg_domain_parse(text, len, "in", &before, &e2), 0);
    assert_int_equal(vg_domain_parse(out, strlen(out), "out", &after, &e2), 0);
    assert_int_equal(before->n_paths, after->n_paths);
    assert_int_equal(before->n_unresolved, after->n_unresolved);
    size_t n_diff = 0;
    for (size_t i = 0; i < before->n_paths; i++) {
        autofree char *want = NULL;
        if (vg_path_map_apply(map, VG_N_ELEMENTS(map), before->paths[i].path, &want) == 1) {
            assert_string_equal(after->paths[i].path, want);
            n_diff++;
        } else {
            assert_string_equal(after->paths[i].path, before->paths[i].path);
        }
        assert_int_equal(after->paths[i].role, before->paths[i].role);
        assert_int_equal(after->paths[i].access, before->paths[i].access);
    }
    assert_int_equal(n_diff, 8);
    assert_string_equal(find_dev(after, VG_ROLE_DISK, "vda")->path,
                        "/Users/dev/vm images & co/jobs/vg-all/disk.qcow2");
    assert_non_null(strstr(out, "file=\"/base/layer1.qcow2\""));      /* longest FROM */
    assert_string_equal(find_dev(after, VG_ROLE_NVRAM, NULL)->path,
                        "/var/lib/libvirt/qemu/nvram/vg-all_VARS.fd");
    /* the odd path with tab, newline, quote and backslash survives */
    assert_string_equal(find_dev(after, VG_ROLE_DISK, "vde")->path,
                        "/srv/odd name/tab\tnl\nquote\"back\\slash/\xc3\xa9.img");
}

static void test_rewrite_nothing(void **state)
{
    (void)state;
    size_t len;
    autofree char *text = read_data("domains/disk-backing-chains-index.xml", &len);
    vg_path_map map[] = { M("/nonexistent", "/x"), M("/tmp/image", "/y") };
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    size_t changed = 99;

    /* /tmp/image.qcow2 etc. share a prefix but not a component boundary */
    assert_non_null(strstr(text, "/tmp/image"));
    assert_int_equal(vg_rewrite_xml(map, 2, text, len, "x.xml", &out, &changed, &err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(strlen(out), len);
    assert_memory_equal(out, text, len);

    /* mapping onto itself changes nothing either */
    vg_path_map same[] = { M("/var/lib/libvirt/images", "/var/lib/libvirt/images/") };
    autofree char *out2 = NULL;
    assert_int_equal(vg_rewrite_xml(same, 1, text, len, "x.xml", &out2, &changed, &err), 0);
    assert_int_equal(changed, 0);
    assert_memory_equal(out2, text, len);
}

static void test_rewrite_edges(void **state)
{
    (void)state;
    static const char in[] =
        "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\n"
        "<!DOCTYPE domain>\n"
        "<!-- head -->\n"
        "<domain type='kvm'><name>e</name>\n"
        "  <devices><disk type='file'><source file='/old/a.img'/><target dev='vda'/></disk>"
        "<serial type='file'><source path='/old/s.log'/></serial></devices>\n"
        "</domain>\n"
        "<!-- tail > with </domain> inside -->\n"
        "<?pi some <?data?>\n"
        "  \n";
    vg_path_map map[] = { M("/old", "/new") };
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    size_t changed = 0;

    assert_int_equal(vg_rewrite_xml(map, 1, in, strlen(in), "e.xml", &out, &changed, &err), 0);
    assert_int_equal(changed, 2);
    assert_string_equal(out,
        "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\n"
        "<!DOCTYPE domain>\n"
        "<!-- head -->\n"
        "<domain type=\"kvm\"><name>e</name>\n"
        "  <devices><disk type=\"file\"><source file=\"/new/a.img\"/><target dev=\"vda\"/></disk>"
        "<serial type=\"file\"><source path=\"/new/s.log\"/></serial></devices>\n"
        "</domain>\n"
        "<!-- tail > with </domain> inside -->\n"
        "<?pi some <?data?>\n"
        "  \n");

    /* bad input: an error and no output */
    autofree char *out2 = NULL;
    autoerror vg_error *e2 = NULL;
    static const char bad[] = "<domain><disk></domain>";
    assert_int_equal(vg_rewrite_xml(map, 1, bad, strlen(bad), "bad.xml", &out2, &changed, &e2),
                     -EINVAL);
    assert_null(out2);
    assert_non_null(strstr(e2->msg, "'bad.xml' is malformed at line 1"));

    autofree char *out3 = NULL;
    autoerror vg_error *e3 = NULL;
    static const char net[] = "<network/>";
    assert_int_equal(vg_rewrite_xml(map, 1, net, strlen(net), "n.xml", &out3, &changed, &e3),
                     -EINVAL);
    assert_null(out3);
    assert_non_null(strstr(e3->msg, "not <domain>"));

    /* a non-UTF-8 document is not rewritten (its prolog would lie) */
    static const char latin[] =
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<domain><devices><disk><source file='/old/\xe9.img'/></disk></devices></domain>\n";
    autofree char *out4 = NULL;
    autoerror vg_error *e4 = NULL;
    assert_int_equal(vg_rewrite_xml(map, 1, latin, strlen(latin), "l.xml", &out4, &changed,
                                    &e4), -EINVAL);
    assert_null(out4);
    assert_non_null(strstr(e4->msg, "encoding 'ISO-8859-1'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_apply),
        cmocka_unit_test(test_rewrite_domain),
        cmocka_unit_test(test_rewrite_nothing),
        cmocka_unit_test(test_rewrite_edges),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
