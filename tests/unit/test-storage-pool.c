/* Unit tests for xml/storage-pool.c: libvirt pool files, volume paths, and
 * <disk type='volume'> turned into file disks.
 *
 * Golden files (tests/data/pools/README): volumes.xml resolved against
 * tests/data/pools/{etc,run} must give volumes.paths, volumes.json and
 * volumes.notes.  Regenerate after an intended change with
 *   VG_REGENERATE=1 make check TESTS=tests/unit/test-storage-pool
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "domain-paths.h"
#include "storage-pool.h"
#include "helpers.h"
#include "util.h"

#define POOLS TEST_DATA_DIR "/pools"

/* Relative to POOLS (main() changes there): messages in the golden files
 * do not depend on where the tree is checked out. */
static const vg_pool_source fixture = {
    .dirs = { .config_dir = "etc", .state_dir = "run" },
};

static vg_domain *load_domain(const char *file)
{
    autofree char *text = NULL;
    autoerror vg_error *err = NULL;
    vg_domain *d = NULL;
    size_t len;
    assert_int_equal(vg_read_file(file, 1 << 20, &text, &len), 0);
    assert_int_equal(vg_domain_parse(text, len, "volumes.xml", &d, &err), 0);
    return d;
}

static void test_golden(void **state)
{
    (void)state;
    autodomain vg_domain *d = load_domain(POOLS "/volumes.xml");
    size_t before = d->n_unresolved;
    assert_int_equal(before, 12);
    assert_int_equal(d->n_paths, 2);        /* the backing file and the plain disk */
    assert_int_equal(vg_domain_resolve_volumes(d, &fixture), 4);
    assert_int_equal(d->n_unresolved, before - 4);

    autofree char *text = vg_domain_paths_format(d, false);
    autofree char *json = vg_domain_paths_format(d, true);
    autofree char *notes = vg_domain_unresolved_format(d);
    vg_test_golden(POOLS "/volumes.paths", text);
    vg_test_golden(POOLS "/volumes.json", json);
    vg_test_golden(POOLS "/volumes.notes", notes);
}

/* The resolved volume takes the disk's place and attributes. */
static void test_in_place(void **state)
{
    (void)state;
    autodomain vg_domain *d = load_domain(POOLS "/volumes.xml");
    vg_domain_resolve_volumes(d, &fixture);
    const vg_domain_path *p = &d->paths[0];
    assert_string_equal(p->path, "/var/lib/libvirt/images/sbx-1.qcow2");
    assert_int_equal(p->role, VG_ROLE_DISK);
    assert_int_equal(p->access, VG_ACCESS_RW);
    assert_int_equal(p->kind, VG_KIND_FILE);
    assert_string_equal(p->format, "qcow2");
    assert_string_equal(p->device, "vda");
    assert_int_equal(p->depth, 0);
    /* its backing layer follows it */
    assert_string_equal(d->paths[1].path, "/var/lib/libvirt/images/base.qcow2");
    assert_int_equal(d->paths[1].role, VG_ROLE_BACKING);
    /* the running pool's state file, not its edited config */
    assert_string_equal(d->paths[2].path, "/var/lib/libvirt/images/jobs/seed.iso");
    assert_int_equal(d->paths[2].role, VG_ROLE_CDROM);
    assert_int_equal(d->paths[2].access, VG_ACCESS_R);
    assert_true(d->paths[3].shareable);
    assert_true(d->paths[4].readonly);
    assert_int_equal(d->paths[4].access, VG_ACCESS_R);
}

static void test_parse(void **state)
{
    (void)state;
    autopool vg_pool *p = NULL;
    autoerror vg_error *err = NULL;
    const char *state_xml = "<poolstate><pool type='netfs'><name>n</name><target>"
                            "<path>/mnt//x/</path></target></pool></poolstate>";
    assert_int_equal(vg_pool_parse(state_xml, strlen(state_xml), "s", &p, &err), 0);
    assert_string_equal(p->type, "netfs");
    assert_string_equal(p->target, "/mnt/x");

    const char *notpool = "<volume><name>x</name></volume>";
    autopool vg_pool *q = NULL;
    assert_int_equal(vg_pool_parse(notpool, strlen(notpool), "v.xml", &q, &err), -EINVAL);
    assert_string_equal(err->msg, "'v.xml' is not a libvirt storage pool definition "
                                  "(no <pool> element)");
    vg_error_free(steal_pointer(&err));
    const char *ctl = "<pool type='dir'><name>c</name><target><path>/a&#9;b</path>"
                      "</target></pool>";
    assert_int_equal(vg_pool_parse(ctl, strlen(ctl), "c.xml", &q, &err), 0);
    assert_null(q->target);     /* kept out: its volumes stay unresolved */
    char *out = NULL;
    assert_int_equal(vg_pool_volume_path(q, "v", &out, &err), -EINVAL);
    assert_string_equal(err->msg, "storage pool 'c' ('c.xml') has no <target><path> that is "
                                  "an absolute path without control characters");
    vg_pool_free(steal_pointer(&q));
    vg_error_free(steal_pointer(&err));
    const char *noname = "<pool type='dir'><target><path>/a</path></target></pool>";
    assert_int_equal(vg_pool_parse(noname, strlen(noname), "n.xml", &q, &err), -EINVAL);
    assert_string_equal(err->msg, "the storage pool in 'n.xml' has no name or no type");
}

static void test_volume_names(void **state)
{
    (void)state;
    char n[] = "p", t_dir[] = "dir", img[] = "/img", t_fs[] = "fs", slash[] = "/",
         t_lvm[] = "logical", dev[] = "/dev/vg", src[] = "t";
    vg_pool dir = { .name = n, .type = t_dir, .target = img, .source = src };
    vg_pool root = { .name = n, .type = t_fs, .target = slash, .source = src };
    vg_pool lvm = { .name = n, .type = t_lvm, .target = dev, .source = src };
    static const char *const bad[] = { "", ".", "..", "a/b", "../x", "x\n", "/abs" };
    char *out = NULL;

    assert_int_equal(vg_pool_volume_path(&dir, "a.qcow2", &out, NULL), 0);
    assert_string_equal(out, "/img/a.qcow2");
    free(out);
    assert_int_equal(vg_pool_volume_path(&root, "a", &out, NULL), 0);
    assert_string_equal(out, "/a");
    free(out);
    assert_true(vg_pool_volume_path(&dir, "..a", &out, NULL) == 0);  /* a file name */
    free(out);
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        autoerror vg_error *err = NULL;
        assert_int_equal(vg_pool_volume_path(&dir, bad[i], &out, &err), -EINVAL);
        assert_null(out);
    }
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_pool_volume_path(&lvm, "lv", &out, &err), -EINVAL);
    assert_string_equal(err->msg, "storage pool 'p' is of type 'logical', whose volumes are "
                                  "not files in one directory");
}

static void test_load_files(void **state)
{
    (void)state;
    static const char *const bad[] = { "", ".hidden", "..", "../etc/x", "a/b", "a\tb" };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++) {
        autopool vg_pool *p = NULL;
        autoerror vg_error *err = NULL;
        assert_int_equal(vg_pool_load_files(&fixture.dirs, bad[i], &p, &err), -EINVAL);
        assert_null(p);
    }
    autopool vg_pool *p = NULL;
    autoerror vg_error *err = NULL;
    assert_int_equal(vg_pool_load_files(&fixture.dirs, "gone", &p, &err), -ENOENT);
    assert_string_equal(err->msg, "no storage pool 'gone' is running or defined (looked for '"
                        "run/gone.xml' and 'etc/gone.xml')");
    vg_error_free(steal_pointer(&err));
    assert_int_equal(vg_pool_load_files(&fixture.dirs, "impostor", &p, &err), -EINVAL);
    assert_string_equal(err->msg, "'etc/impostor.xml' defines another storage pool "
                                  "than 'impostor'");
    vg_error_free(steal_pointer(&err));
    assert_int_equal(vg_pool_load_files(&fixture.dirs, "nfsimages", &p, &err), 0);
    assert_string_equal(p->target, "/var/lib/libvirt/images/nfs");
}

/* A lookup of the caller's (the CLI: libvirt's read-only API) is used
 * instead of the files, once per volume. */
static int fake_lookup(const char *name, vg_pool **out, void *opaque, vg_error **err)
{
    int *calls = opaque;
    (*calls)++;
    if (strcmp(name, "shared") != 0)
        return vg_error_set(err, ENOENT, "libvirt has no storage pool '%s'", name);
    vg_pool *p = vg_xcalloc(1, sizeof(*p));
    p->name = vg_xstrdup(name);
    p->type = vg_xstrdup("dir");
    p->target = vg_xstrdup("/from/api");
    p->source = vg_xstrdup("api");
    *out = p;
    return 0;
}

static void test_custom_lookup(void **state)
{
    (void)state;
    int calls = 0;
    vg_pool_source src = { .lookup = fake_lookup, .opaque = &calls };
    autodomain vg_domain *d = load_domain(POOLS "/volumes.xml");
    assert_int_equal(vg_domain_resolve_volumes(d, &src), 1);   /* vda ('shared') */
    assert_int_equal(calls, 12);
    assert_string_equal(d->paths[0].path, "/from/api/sbx-1.qcow2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_volume_names),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_custom_lookup),
    };
    if (chdir(POOLS) < 0)
        return 99;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
