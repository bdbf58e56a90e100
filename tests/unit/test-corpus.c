/* The whole libvirt domain XML corpus (TEST_CORPUS_DIR, configure
 * --with-corpus) through the path model and the rewriter.
 *
 * Every *.xml below the corpus directory must parse: libvirt 9.0.0's
 * qemuxml2argvdata is well-formed and free of entities and DOCTYPEs, so a
 * refusal is a regression that refuses valid XML.  Each parsed file is also
 * rewritten with path_map "/" -> "/vgroot": the result must parse again and
 * every written absolute path must have moved, nothing else.
 * Skipped (exit 77) when the corpus is not there.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>

#include <libxml/parser.h>

#include "domain-paths.h"
#include "error.h"
#include "rewrite.h"
#include "util.h"
#include "xmlsafe.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All *.xml files under dir (two levels are enough for the corpus layout). */
static void collect(const char *dir, int level, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        size_t n = strlen(e->d_name);
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && level < 2)
            collect(path, level + 1, out);
        else if (S_ISREG(st.st_mode) && n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0)
            vg_strv_push(out, steal_pointer(&path));
    }
    closedir(d);
}

static void check_rewrite(const char *file, const char *text, size_t len, const vg_domain *d)
{
    vg_path_map root[] = { { (char *)"/", (char *)"/vgroot" } };
    autofree char *out = NULL;
    autoerror vg_error *err = NULL;
    autodomain vg_domain *after = NULL;
    size_t changed = 0, expect = 0;

    if (vg_rewrite_xml(root, 1, text, len, file, &out, &changed, &err) < 0)
        fail_msg("'%s': rewrite failed: %s", file, err->msg);
    if (vg_domain_parse(out, strlen(out), file, &after, &err) < 0)
        fail_msg("'%s': rewritten XML does not parse: %s", file, err->msg);
    if (after->n_paths != d->n_paths || after->n_unresolved != d->n_unresolved)
        fail_msg("'%s': rewriting changed the model: %zu/%zu paths, %zu/%zu unresolved",
                 file, d->n_paths, after->n_paths, d->n_unresolved, after->n_unresolved);
    /* a model that still knows its nodes: defaults libvirt applies (no
     * xml_node) are not written in the XML, so they cannot move */
    autoxmldoc xmlDoc *doc = NULL;
    autodomain vg_domain *dn = NULL;
    assert_int_equal(vg_xml_parse(text, len, file, &doc, &err), 0);
    assert_int_equal(vg_domain_from_doc(doc, &dn, &err), 0);
    assert_int_equal(dn->n_paths, d->n_paths);
    for (size_t i = 0; i < d->n_paths; i++) {
        const char *p = d->paths[i].path;
        bool written = dn->paths[i].xml_node != NULL;
        if (p[0] == '/' && written) {
            autofree char *want = vg_xasprintf("/vgroot%s", p);
            if (strcmp(after->paths[i].path, want) != 0)
                fail_msg("'%s': path %zu '%s' became '%s'", file, i, p, after->paths[i].path);
            expect++;
        } else if (strcmp(after->paths[i].path, p) != 0) {
            fail_msg("'%s': path '%s' should not have changed", file, p);
        }
    }
    assert_int_equal(changed, expect);
    if (expect == 0)
        assert_memory_equal(out, text, len);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = TEST_CORPUS_DIR;
    struct stat st;
    autostrv char **files = NULL;
    size_t parsed = 0, paths = 0, unresolved = 0;

    if (!*dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        print_message("corpus directory '%s' not found: skipped\n", dir);
        skip();
    }
    collect(dir, 0, &files);
    if (!files) {
        print_message("no *.xml under '%s': skipped\n", dir);
        skip();
    }
    qsort(files, vg_strv_len(files), sizeof(*files), cmp_str);

    for (char **f = files; *f; f++) {
        const char *base = strrchr(*f, '/') ? strrchr(*f, '/') + 1 : *f;
        autofree char *text = NULL;
        size_t len = 0;
        autodomain vg_domain *d = NULL;
        autoerror vg_error *err = NULL;

        assert_int_equal(vg_read_file(*f, 2 * VG_XML_MAX_BYTES, &text, &len), 0);
        if (vg_domain_parse(text, len, base, &d, &err) < 0)
            fail_msg("corpus file '%s' was refused: %s", base, err ? err->msg : "(no message)");
        parsed++;
        paths += d->n_paths;
        unresolved += d->n_unresolved;
        /* the formatters cope with everything */
        autofree char *t = vg_domain_paths_format(d, false);
        autofree char *j = vg_domain_paths_format(d, true);
        autofree char *u = vg_domain_unresolved_format(d);
        assert_true(j[0] == '{');
        check_rewrite(base, text, len, d);
    }
    print_message("corpus: %zu parsed (%zu paths, %zu unresolved)\n",
                  parsed, paths, unresolved);
    assert_true(parsed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    /* cmocka reports a skipped test as success; automake wants 77 */
    if (r == 0) {
        struct stat st;
        if (!*TEST_CORPUS_DIR || stat(TEST_CORPUS_DIR, &st) < 0)
            return 77;
    }
    return r;
}
