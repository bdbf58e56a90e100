/* Unit tests for xml/xmlsafe.c, xml/domain-paths.c and the model's text and
 * JSON forms (xml/domain-model.c).
 *
 * Golden files: every tests/data/domains/X.xml must parse, and its model
 * must equal X.paths (text form) and X.json; every
 * tests/data/domains/hostile/X.xml must be refused with exactly the message
 * in X.err.  Regenerate after an intended change with
 *   VG_REGENERATE=1 make check TESTS=tests/unit/test-domain-paths
 * and review the diff.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <libxml/parser.h>

#include "domain-paths.h"
#include "helpers.h"
#include "error.h"
#include "util.h"
#include "xmlsafe.h"

#define DOMAINS_DIR TEST_DATA_DIR "/domains"
#define HOSTILE_DIR TEST_DATA_DIR "/domains/hostile"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.xml files in dir. */
static char **list_xml(const char *dir)
{
    char **v = NULL;
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0)
            vg_strv_push(&v, vg_xstrdup(e->d_name));
    }
    closedir(d);
    assert_non_null(v);
    qsort(v, vg_strv_len(v), sizeof(*v), cmp_str);
    return v;
}

static char *read_text(const char *path, size_t *len)
{
    char *t = NULL;
    size_t n = 0;
    int r = vg_read_file(path, 2 * VG_XML_MAX_BYTES, &t, &n);
    if (r < 0)
        fail_msg("cannot read '%s': %s", path, strerror(-r));
    if (len)
        *len = n;
    return t;
}

static void test_golden_domains(void **state)
{
    (void)state;
    autostrv char **files = list_xml(DOMAINS_DIR);
    size_t n = 0;

    for (char **f = files; *f; f++, n++) {
        autofree char *path = vg_xasprintf("%s/%s", DOMAINS_DIR, *f);
        autofree char *stem = vg_xstrndup(path, strlen(path) - 4);
        autofree char *paths_file = vg_xasprintf("%s.paths", stem);
        autofree char *json_file = vg_xasprintf("%s.json", stem);
        size_t len;
        autofree char *text = read_text(path, &len);
        autodomain vg_domain *d = NULL;
        autoerror vg_error *err = NULL;

        if (vg_domain_parse(text, len, *f, &d, &err) < 0)
            fail_msg("'%s' was refused: %s", *f, err->msg);
        autofree char *txt = vg_domain_paths_format(d, false);
        autofree char *json = vg_domain_paths_format(d, true);
        vg_test_golden(paths_file, txt);
        vg_test_golden(json_file, json);
        /* vg_domain_parse frees the document: no dangling node pointers */
        for (size_t i = 0; i < d->n_paths; i++)
            assert_null(d->paths[i].xml_node);
    }
    /* the corpus copies and the hand-written files are all there */
    assert_true(n >= 50);
}

static void test_golden_hostile(void **state)
{
    (void)state;
    autostrv char **files = list_xml(HOSTILE_DIR);
    size_t n = 0;

    for (char **f = files; *f; f++, n++) {
        autofree char *path = vg_xasprintf("%s/%s", HOSTILE_DIR, *f);
        autofree char *err_file = vg_xasprintf("%.*s.err", (int)(strlen(path) - 4), path);
        size_t len;
        autofree char *text = read_text(path, &len);
        autodomain vg_domain *d = NULL;
        autoerror vg_error *err = NULL;

        if (vg_domain_parse(text, len, *f, &d, &err) == 0)
            fail_msg("hostile input '%s' was accepted", *f);
        assert_null(d);
        assert_non_null(err);
        assert_true(err->msg && *err->msg);
        assert_non_null(strstr(err->msg, *f));      /* names the input */
        autofree char *line = vg_xasprintf("%s\n", err->msg);
        vg_test_golden(err_file, line);
    }
    assert_true(n >= 12);
}

static int parse_str(const char *s, vg_error **err)
{
    autoxmldoc xmlDoc *doc = NULL;
    return vg_xml_parse(s, strlen(s), "mem.xml", &doc, err);
}

static void test_refusals(void **state)
{
    (void)state;
    struct { const char *xml; const char *needle; } cases[] = {
        { "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain>&x;</domain>",
          "declares the general entity 'x' with SYSTEM 'file:///etc/passwd'" },
        { "<!DOCTYPE d [<!ENTITY x 'y'>]><domain/>", "declares the general entity 'x'" },
        { "<!DOCTYPE d [<!ENTITY % p 'y'>]><domain/>", "parameter entity 'p'" },
        { "<!DOCTYPE d PUBLIC '-//x//y' 'http://example.invalid/x.dtd'><domain/>",
          "external DTD 'http://example.invalid/x.dtd'" },
        { "<domain>\n<a></b></domain>", "malformed at line 2, column 8: Opening and ending tag mismatch" },
        { "<domain>&#0;</domain>", "malformed at line 1, column 13" },
        { "<domain>\n  \xff</domain>", "malformed at line 2, column 3: Input is not proper UTF-8" },
        { "<domain>&x;</domain>", "Entity 'x' not defined" },
        { "   ", "malformed at line 1" },
        { "<a/><b/>", "Extra content at the end of the document" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autoerror vg_error *err = NULL;
        assert_int_equal(parse_str(cases[i].xml, &err), -EINVAL);
        if (!strstr(err->msg, cases[i].needle))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err->msg, cases[i].needle);
        assert_non_null(strstr(err->msg, "'mem.xml'"));
    }

    /* a plain DOCTYPE without entities is harmless and accepted */
    autoerror vg_error *err = NULL;
    assert_int_equal(parse_str("<!DOCTYPE domain><domain/>", &err), 0);
    assert_null(err);
}

static void test_nul_and_size(void **state)
{
    (void)state;
    autoerror vg_error *e1 = NULL, *e2 = NULL, *e3 = NULL;
    autoxmldoc xmlDoc *doc = NULL;
    static const char nul[] = "<domain>\n  ab\0c</domain>";

    assert_int_equal(vg_xml_parse(nul, sizeof(nul) - 1, "n.xml", &doc, &e1), -EINVAL);
    assert_null(doc);
    assert_string_equal(e1->msg, "XML document 'n.xml' refused at line 2, column 5: it "
                                 "contains a NUL byte");

    /* exactly VG_XML_MAX_BYTES is accepted, one byte more is refused */
    size_t max = VG_XML_MAX_BYTES;
    autofree char *t = vg_xmalloc(max + 1);
    memset(t, ' ', max + 1);
    memcpy(t, "<domain>", 8);
    memcpy(t + max - 9, "</domain>", 9);
    assert_int_equal(vg_xml_parse(t, max + 1, "big.xml", &doc, &e2), -EFBIG);
    assert_null(doc);
    assert_string_equal(e2->msg, "XML document 'big.xml' refused: it is 4194305 bytes, more "
                                 "than the limit of 4194304 bytes");
    assert_int_equal(vg_xml_parse(t, max, "big.xml", &doc, &e3), 0);
    assert_non_null(doc);
}

static char *nested(int depth)
{
    vg_buf b = { 0 };
    vg_buf_add(&b, "<domain>");
    for (int i = 1; i < depth; i++)
        vg_buf_add(&b, "<a>");
    for (int i = 1; i < depth; i++)
        vg_buf_add(&b, "</a>");
    vg_buf_add(&b, "</domain>");
    return vg_buf_steal(&b);
}

static void test_depth(void **state)
{
    (void)state;
    autofree char *ok = nested(VG_XML_MAX_DEPTH);
    autofree char *deep = nested(VG_XML_MAX_DEPTH + 1);
    autoerror vg_error *e1 = NULL, *e2 = NULL;

    assert_int_equal(parse_str(ok, &e1), 0);
    assert_int_equal(parse_str(deep, &e2), -EINVAL);
    assert_non_null(strstr(e2->msg, "nested more than 256 deep"));
}

/* libxml2 must never print on its own: stderr stays empty. */
static void test_silent(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/vg-test-stderr-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);

    autostrv char **files = list_xml(HOSTILE_DIR);
    for (char **f = files; *f; f++) {
        autofree char *path = vg_xasprintf("%s/%s", HOSTILE_DIR, *f);
        size_t len;
        autofree char *text = read_text(path, &len);
        autodomain vg_domain *d = NULL;
        autoerror vg_error *err = NULL;
        (void)vg_domain_parse(text, len, *f, &d, &err);
    }
    /* an error libxml2 reports twice (attribute redefined) */
    autoerror vg_error *err = NULL;
    (void)parse_str("<domain a='1' a='2'/>", &err);

    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    assert_int_equal(st.st_size, 0);
}

static const vg_domain_path *find_path(const vg_domain *d, const char *path)
{
    for (size_t i = 0; i < d->n_paths; i++)
        if (strcmp(d->paths[i].path, path) == 0)
            return &d->paths[i];
    fail_msg("path '%s' not in the model", path);
    return NULL;
}

static void test_model_details(void **state)
{
    (void)state;
    size_t len;
    autofree char *text = read_text(DOMAINS_DIR "/vg-all-sources.xml", &len);
    autoxmldoc xmlDoc *doc = NULL;
    autodomain vg_domain *d = NULL;
    autoerror vg_error *err = NULL;

    assert_int_equal(vg_xml_parse(text, len, "vg-all-sources.xml", &doc, &err), 0);
    assert_int_equal(vg_domain_from_doc(doc, &d, &err), 0);
    assert_string_equal(d->name, "vg-all");
    assert_string_equal(d->uuid, "6f1e2a7c-0d3b-4c55-9a61-1b2c3d4e5f60");
    assert_string_equal(d->virt_type, "kvm");

    const vg_seclabel *dac = vg_domain_seclabel(d, "dac");
    assert_non_null(dac);
    assert_string_equal(dac->type, "static");
    assert_false(dac->relabel);
    assert_string_equal(dac->label, "+1000:+64055");
    const vg_seclabel *aa = vg_domain_seclabel(d, "apparmor");
    assert_non_null(aa);
    assert_true(aa->relabel);
    assert_null(vg_domain_seclabel(d, "selinux"));

    /* top with per-source relabel='no'; layers inherit it unless their own
     * DAC seclabel names a label */
    const vg_domain_path *top = find_path(d, "/var/lib/libvirt/images/jobs/vg-all/disk.qcow2");
    assert_int_equal(top->role, VG_ROLE_DISK);
    assert_int_equal(top->access, VG_ACCESS_RW);
    assert_false(top->relabel);
    assert_int_equal(top->depth, 0);
    assert_string_equal(top->device, "vda");
    assert_string_equal(top->format, "qcow2");
    assert_non_null(top->xml_node);
    assert_string_equal((const char *)top->xml_node->name, "source");
    assert_string_equal(top->xml_attr, "file");
    const vg_domain_path *l1 = find_path(d, "/var/lib/libvirt/images/base/layer1.qcow2");
    const vg_domain_path *l2 = find_path(d, "/var/lib/libvirt/images/base/layer2.qcow2");
    const vg_domain_path *l3 = find_path(d, "/dev/mapper/base3");
    assert_int_equal(l1->role, VG_ROLE_BACKING);
    assert_int_equal(l1->access, VG_ACCESS_R);
    assert_int_equal(l1->depth, 1);
    assert_false(l1->relabel);
    assert_int_equal(l2->depth, 2);
    assert_true(l2->relabel);
    assert_int_equal(l3->depth, 3);
    assert_int_equal(l3->kind, VG_KIND_BLOCK);
    assert_false(l3->relabel);
    assert_string_equal(l3->format, "raw");

    const vg_domain_path *shared = find_path(d, "/var/lib/libvirt/images/shared.img");
    assert_true(shared->readonly && shared->shareable && shared->relabel);
    assert_int_equal(shared->access, VG_ACCESS_R);

    const vg_domain_path *fl = find_path(d, "images/relative-floppy.img");
    assert_int_equal(fl->role, VG_ROLE_FLOPPY);
    assert_int_equal(fl->access, VG_ACCESS_RW);
    assert_int_equal(find_path(d, "/srv/floppy-ro.img")->access, VG_ACCESS_R);

    const vg_domain_path *k = find_path(d, "/srv/boot/vmlinuz");
    assert_int_equal(k->role, VG_ROLE_KERNEL);
    assert_string_equal((const char *)k->xml_node->name, "kernel");
    assert_null(k->xml_attr);

    const vg_domain_path *tpl = find_path(d, "/usr/share/OVMF/OVMF_VARS.fd");
    assert_int_equal(tpl->role, VG_ROLE_NVRAM);
    assert_int_equal(tpl->access, VG_ACCESS_R);
    assert_int_equal(find_path(d, "/var/lib/libvirt/qemu/nvram/vg-all_VARS.fd")->access,
                     VG_ACCESS_RW);

    const vg_domain_path *pipe = find_path(d, "/srv/pipes/serial0");
    assert_int_equal(pipe->kind, VG_KIND_PIPE);
    assert_int_equal(find_path(d, "/var/log/vg-all/serial1.log")->role, VG_ROLE_CHARDEV_LOG);
    assert_int_equal(find_path(d, "/srv/share")->access, VG_ACCESS_R);
    assert_int_equal(find_path(d, "/srv/share")->kind, VG_KIND_DIR);

    const vg_domain_path *tpm = find_path(d, "/dev/tpm0");
    assert_null(tpm->xml_node);         /* libvirt's default, not written */

    /* pty path, unix channel without a path: not in the model */
    for (size_t i = 0; i < d->n_paths; i++)
        assert_string_not_equal(d->paths[i].path, "/dev/pts/7");

    /* unresolved: empty source, volume disk and filesystem, unknown types */
    autofree char *u = vg_domain_unresolved_format(d);
    assert_non_null(strstr(u, "virtguard: domain 'vg-all': disk sdb: not checked: "
                              "<source file=''> names no path\n"));
    assert_non_null(strstr(u, "disk vdd: not checked: type='volume' (pool 'default', "
                              "volume 'data.qcow2')"));
    assert_non_null(strstr(u, "disk vdf: not checked: unknown storage source type 'funny'"));
    assert_non_null(strstr(u, "serial3: not checked: unknown character device type "
                              "'carrier-pigeon'"));
    assert_non_null(strstr(u, "filesystem '/mnt/vol': not checked: type='volume'"));
}

static void test_not_a_domain(void **state)
{
    (void)state;
    autodomain vg_domain *d = NULL;
    autoerror vg_error *err = NULL;
    static const char x[] = "<network><name>default</name></network>";

    assert_int_equal(vg_domain_parse(x, strlen(x), "net.xml", &d, &err), -EINVAL);
    assert_null(d);
    assert_string_equal(err->msg, "XML document 'net.xml': the root element is <network>, "
                                  "not <domain>: this is not a libvirt domain definition");
}

/* libvirt's stored files: the root <domain>, or <domstatus>'s <domain>
 * child; a <domain> inside <metadata> is neither. */
static void test_stored(void **state)
{
    (void)state;
    static const char meta[] =
        "<metadata><app:domain xmlns:app='urn:x'><app:uuid>11111111-2222-3333-4444-555555555555"
        "</app:uuid></app:domain><domain xmlns='urn:y'><name>evil</name>"
        "<uuid>11111111-2222-3333-4444-555555555555</uuid></domain></metadata>";
    autofree char *config = vg_xasprintf(
        "<domain type='qemu'><name>live</name><uuid>6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f</uuid>%s"
        "<devices><disk type='file' device='disk'><source file='/img/a.qcow2'/>"
        "<target dev='vda'/></disk></devices></domain>", meta);
    autofree char *status = vg_xasprintf("<domstatus state='running' pid='42'>"
                                         "<monitor path='/x'/>%s</domstatus>", config);
    const char *docs[] = { config, status };
    for (size_t i = 0; i < VG_N_ELEMENTS(docs); i++) {
        autodomain vg_domain *d = NULL;
        autoerror vg_error *err = NULL;
        assert_int_equal(vg_domain_parse_stored(docs[i], strlen(docs[i]), "f.xml", &d, &err), 0);
        assert_string_equal(d->name, "live");
        assert_string_equal(d->uuid, "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f");
        assert_int_equal(d->n_paths, 1);
        assert_string_equal(d->paths[0].path, "/img/a.qcow2");
    }
    /* a status file without its domain, and something else entirely */
    static const char empty[] = "<domstatus state='running'><domain xmlns='urn:y'/></domstatus>";
    static const char net[] = "<network><name>default</name></network>";
    autodomain vg_domain *d = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_domain_parse_stored(empty, strlen(empty), "s.xml", &d, &err), -EINVAL);
    assert_string_equal(err->msg, "XML document 's.xml': the status file has no <domain> element");
    vg_error_free(steal_pointer(&err));
    assert_int_equal(vg_domain_parse_stored(net, strlen(net), "n.xml", &d, &err), -EINVAL);
    assert_null(d);
}

static void test_format_escaping(void **state)
{
    (void)state;
    vg_domain_path p = {
        .role = VG_ROLE_DISK, .access = VG_ACCESS_RW, .kind = VG_KIND_FILE,
        .path = (char *)"/a\"b\\c\x01\x1f\t\n\x7f\xc3\xa9", .relabel = true,
    };
    vg_unresolved u = { .where = (char *)"disk \"x\"", .reason = (char *)"why\n" };
    vg_domain d = { .name = (char *)"n'1", .paths = &p, .n_paths = 1,
                    .unresolved = &u, .n_unresolved = 1 };

    autofree char *txt = vg_domain_paths_format(&d, false);
    assert_string_equal(txt, "rw\tdisk\t/a\"b\\134c\\001\\037\\011\\012\\177\xc3\xa9\n");
    autofree char *json = vg_domain_paths_format(&d, true);
    assert_string_equal(json,
        "{\"domain\":\"n'1\",\"uuid\":null,\"type\":null,\"seclabels\":[],\"paths\":[\n"
        " {\"access\":\"rw\",\"role\":\"disk\",\"kind\":\"file\","
        "\"path\":\"/a\\\"b\\\\c\\u0001\\u001f\\t\\n\\u007f\xc3\xa9\",\"device\":null,"
        "\"format\":null,\"readonly\":false,\"shareable\":false,\"relabel\":true,\"depth\":0}\n"
        "],\"unresolved\":[\n"
        " {\"where\":\"disk \\\"x\\\"\",\"reason\":\"why\\n\"}\n"
        "]}\n");
    autofree char *un = vg_domain_unresolved_format(&d);
    assert_string_equal(un, "virtguard: domain 'n'1': disk \"x\": not checked: why\n\n");

    vg_domain empty = { 0 };
    autofree char *t0 = vg_domain_paths_format(&empty, false);
    autofree char *j0 = vg_domain_paths_format(&empty, true);
    autofree char *u0 = vg_domain_unresolved_format(&empty);
    assert_string_equal(t0, "");
    assert_string_equal(j0, "{\"domain\":null,\"uuid\":null,\"type\":null,\"seclabels\":[],"
                            "\"paths\":[],\"unresolved\":[]}\n");
    assert_string_equal(u0, "");
}

static void test_names(void **state)
{
    (void)state;
    for (int r = 0; r < VG_ROLE__COUNT; r++)
        assert_string_not_equal(vg_role_name((vg_role)r), "?");
    assert_string_equal(vg_role_name(VG_ROLE_CHARDEV_LOG), "chardev_log");
    assert_string_equal(vg_access_name(VG_ACCESS_R), "r");
    assert_string_equal(vg_access_name(VG_ACCESS_RW), "rw");
    assert_string_equal(vg_kind_name(VG_KIND_SOCKET), "socket");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_domains),
        cmocka_unit_test(test_golden_hostile),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nul_and_size),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_silent),
        cmocka_unit_test(test_model_details),
        cmocka_unit_test(test_not_a_domain),
        cmocka_unit_test(test_stored),
        cmocka_unit_test(test_format_escaping),
        cmocka_unit_test(test_names),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return r;
}
