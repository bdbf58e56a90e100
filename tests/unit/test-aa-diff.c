/* Differential test: virtguard's AppArmor rules against libvirt's own
 * virt-aa-helper on the libvirt qemuxml2argv corpus.
 *
 * For each domain XML (a <uuid> is inserted when it has none):
 *  - every rule `virt-aa-helper -d -r -u libvirt-UUID` prints for a path
 *    under an allowed root must also be granted by virtguard, with at least
 *    the same permission letters, and virtguard must not `deny ... w` a path
 *    libvirt grants write access to (the deny would win in the profile);
 *  - every path virtguard grants must be referenced by the domain: named in
 *    the XML or granted by libvirt too; and lie under an allowed root;
 *  - a domain virtguard refuses must be one libvirt refuses as well, unless
 *    the refusal is one virtguard makes on purpose (listed below).
 * Only files for which virtguard grants something or whose XML mentions an
 * allowed root are run through virt-aa-helper (about 200 of 1070; running
 * all takes 80 s on 2 CPUs); the others cannot produce a rule to compare.
 *
 * Also: the XML-level verdicts of libvirt's tests/virt-aa-helper-test
 * (malformed XML, bad names) through the real parser.
 *
 * Skips (exit 77) without the corpus or /usr/lib/libvirt/virt-aa-helper.
 */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "domain-paths.h"
#include "policy.h"
#include "util.h"

#define VAH "/usr/lib/libvirt/virt-aa-helper"
#define FALLBACK_UUID "00000000-0000-0000-0000-0123456789ab"

extern char **environ;

/* Directories the corpus keeps its images, ISOs, shares, logs in.  Not
 * /root (the corpus's /root/boot.iso): virtguard refuses /root as a root
 * (vg_aa_restricted_root), so those files stay libvirt's, as on a host. */
static const char *const roots[] = {
    "/var/lib/libvirt/images", "/tmp", "/export", "/storage", "/some", "/path",
    "/var/iso", "/var/images", "/media", "/images", "/mnt", "/srv",
};

typedef struct rule {
    char *key;          /* path as in the rule, e.g. "/x/dir/" "**" */
    char perms[16];
    bool deny;
} rule;

typedef struct rules {
    rule *v;
    size_t n;
} rules;

static void rules_clear(rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].key);
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

/* Parse `  [deny ]"PATH" PERMS,` lines; backslash escapes are undone. */
static void parse_rules(const char *text, rules *out)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        autofree char *l = vg_xstrndup(line, len);
        line = end ? end + 1 : NULL;
        const char *p = l;
        bool deny = false;
        while (*p == ' ')
            p++;
        if (vg_str_has_prefix(p, "deny ")) {
            deny = true;
            p += 5;
        }
        if (*p != '"')
            continue;
        autobuf vg_buf key = { 0 };
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            vg_buf_addc(&key, *p);
        }
        if (*p != '"')
            continue;
        p++;
        while (*p == ' ')
            p++;
        rule *r = VG_APPEND(out->v, out->n);
        size_t k = 0;
        while (*p && *p != ',' && k + 1 < sizeof(r->perms))
            r->perms[k++] = *p++;
        r->key = vg_buf_steal(&key);
        r->deny = deny;
    }
}

static const rule *find_rule(const rules *rs, const char *key, bool deny)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->v[i].deny == deny && strcmp(rs->v[i].key, key) == 0)
            return &rs->v[i];
    return NULL;
}

/* "/a/b/" "**" -> "/a/b", "/a/b/" -> "/a/b" */
static char *base_of(const char *key)
{
    char *b = vg_xstrdup(key);
    size_t n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, "/**") == 0)
        b[n -= 3] = '\0';
    while (n > 1 && b[n - 1] == '/')
        b[--n] = '\0';
    return b;
}

static bool under_roots(const char *path)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(roots); i++)
        if (vg_path_is_under(path, roots[i]))
            return true;
    return false;
}

static bool perms_cover(const char *have, const char *want)
{
    for (const char *c = want; *c; c++)
        if (*c != ' ' && !strchr(have, *c == 'R' ? 'r' : *c))
            return false;
    return true;
}

typedef struct item {
    char *name;
    char *xml_path;     /* with a <uuid> */
    char *out_path;
    char *text;
    char *uuid;
    char *ours;         /* rendered rules, or NULL when refused */
    char *refusal;
    pid_t pid;
    int status;
} item;

static char *with_uuid(const char *text, char **uuid)
{
    const char *u = strstr(text, "<uuid>");
    if (u) {
        const char *e = strstr(u, "</uuid>");
        *uuid = e ? vg_xstrndup(u + 6, (size_t)(e - u - 6)) : vg_xstrdup("");
        return vg_xstrdup(text);
    }
    *uuid = vg_xstrdup(FALLBACK_UUID);
    const char *n = strstr(text, "</name>");
    if (!n)
        return vg_xstrdup(text);
    n += 7;
    return vg_xasprintf("%.*s<uuid>%s</uuid>%s", (int)(n - text), text, FALLBACK_UUID, n);
}

static int spawn_vah(item *it)
{
    posix_spawn_file_actions_t fa;
    autofree char *uarg = vg_xasprintf("libvirt-%s", it->uuid);
    char *argv[] = { (char *)VAH, (char *)"-d", (char *)"-r", (char *)"-u", uarg, NULL };
    int r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, it->xml_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, it->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    r = posix_spawn(&it->pid, VAH, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
}

/* Refusals virtguard makes on purpose where libvirt goes on. */
/* Where virtguard is stricter than libvirt by design (docs/SECURITY.md):
 * ".." and relative paths, and a <filesystem> tree over a whole root
 * (the corpus shares "/path", which this test must use as a root). */
static bool intended_refusal(const char *msg)
{
    return strstr(msg, "contains '..'") || strstr(msg, "is not absolute") ||
           strstr(msg, "is the whole shared root");
}

static int n_fail;

static void failf(const char *fmt, ...) VG_FORMAT(1, 2);
static void failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    n_fail++;
}

static size_t compare(const item *it, int vah_rc, const char *vah_out)
{
    rules lv = { 0 }, vg = { 0 };
    size_t checked = 0;

    if (!it->ours) {
        if (vah_rc == 0 && !intended_refusal(it->refusal))
            failf("%s: virtguard refuses a domain libvirt accepts: %s", it->name, it->refusal);
        return 0;
    }
    if (vah_rc != 0)
        return 0;   /* libvirt's parser rejects it (missing capabilities...): nothing to compare */
    parse_rules(vah_out, &lv);
    parse_rules(it->ours, &vg);

    for (size_t i = 0; i < lv.n; i++) {
        const rule *l = &lv.v[i];
        autofree char *base = base_of(l->key);
        if (l->deny || !under_roots(base) || strpbrk(base, "*?[{"))
            continue;
        checked++;
        const rule *o = find_rule(&vg, l->key, false);
        if (!o)
            failf("%s: libvirt grants \"%s\" %s, virtguard does not", it->name, l->key, l->perms);
        else if (!perms_cover(o->perms, l->perms))
            failf("%s: \"%s\": libvirt grants %s, virtguard only %s", it->name, l->key, l->perms, o->perms);
        if (strchr(l->perms, 'w') && find_rule(&vg, l->key, true))
            failf("%s: virtguard denies writes to \"%s\", which libvirt grants %s", it->name, l->key, l->perms);
    }
    for (size_t i = 0; i < vg.n; i++) {
        const rule *o = &vg.v[i];
        autofree char *base = base_of(o->key);
        if (!under_roots(base))
            failf("%s: virtguard grants \"%s\" outside the roots", it->name, o->key);
        bool lv_has = false;
        for (size_t j = 0; j < lv.n && !lv_has; j++) {
            autofree char *lb = base_of(lv.v[j].key);
            lv_has = strcmp(lb, base) == 0;
        }
        if (!lv_has && !strstr(it->text, base))
            failf("%s: virtguard grants \"%s\", which the domain does not reference", it->name, o->key);
    }
    rules_clear(&lv);
    rules_clear(&vg);
    return checked;
}

static bool mentions_root(const char *text)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(roots); i++) {
        autofree char *a = vg_xasprintf("'%s/", roots[i]);
        autofree char *b = vg_xasprintf(">%s/", roots[i]);
        autofree char *c = vg_xasprintf("\"%s/", roots[i]);
        if (strstr(text, a) || strstr(text, b) || strstr(text, c))
            return true;
    }
    return false;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* libvirt's tests/virt-aa-helper-test, XML-level expected failures. */
static void libvirt_xml_verdicts(void)
{
#define TMPL \
        "<domain type='kvm'><name>%s</name><uuid>" FALLBACK_UUID "</uuid>" \
        "<memory>524288</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>" \
        "<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>" \
        "<source file='%s'/><target dev='hda' bus='ide'/></disk>%s</devices></domain>"
    static const struct { const char *name, *disk, *extra; bool ok; } t[] = {
        { "virt-aa-helper-test", "/tmp/vg-1.img", "", true },
        { "virt-aa-helper-test", "/etc/passwd", "", false },                     /* bad disk */
        { "virt-aa-helper-test", "/tmp/vg-1.img'/></disk></devices><devices><x", "", false }, /* malformed */
        { "virt-aa-helper-test", "/tmp/vg-1.img</disk>", "", false },            /* -c with malformed xml */
        { "virt-aa-helper-test-/", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-[", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-]", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-{", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-}", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-?", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-^", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-,", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-&quot;", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test-*", "/tmp/vg-1.img", "", false },
        { "virt-aa-helper-test", "/tmp/vg-1.img",
          "<disk type='file' device='disk'><source file='/etc/passwd'/><target dev='hdb'/></disk>", false },
    };
    autoconfig vg_config *cfg = vg_config_new_default();
    vg_strv_push(&cfg->shared_mounts, vg_xstrdup("/tmp"));
    for (size_t i = 0; i < VG_N_ELEMENTS(t); i++) {
        autofree char *xml = vg_xasprintf(TMPL, t[i].name, t[i].disk, t[i].extra);
        autofree char *text = NULL;
        autostrv char **warnings = NULL;
        autoerror vg_error *err = NULL;
        int r = vg_policy_from_xml(cfg, xml, strlen(xml), "test.xml", &text, &warnings, &err);
        if ((r == 0) != t[i].ok)
            failf("virt-aa-helper-test case %zu (%s, %s): virtguard %s", i, t[i].name, t[i].disk,
                  r == 0 ? "accepts it, libvirt refuses" : err->msg);
        if (r == 0 && !strstr(text, "  \"/tmp/vg-1.img\" rwk,\n"))
            failf("virt-aa-helper-test case %zu: no rule for the disk in:\n%s", i, text);
    }
}

int main(void)
{
    const char *corpus = getenv("VG_CORPUS_DIR");
    autofree char *dir = NULL;
    char tmp[] = "/tmp/vg-aa-diff-XXXXXX";
    long long t0 = vg_now_ms();

    libvirt_xml_verdicts();

    if (!corpus || !*corpus)
        corpus = TEST_CORPUS_DIR;
    dir = vg_xasprintf("%s/libvirt-9.0.0-qemuxml2argv", corpus);
    DIR *dh = opendir(dir);
    if (!dh || access(VAH, X_OK) != 0) {
        printf("SKIP: need %s and %s\n", dir, VAH);
        if (dh)
            closedir(dh);
        return n_fail ? 1 : 77;
    }
    if (!mkdtemp(tmp))
        return 99;

    autostrv char **names = NULL;
    struct dirent *de;
    while ((de = readdir(dh)))
        if (strlen(de->d_name) > 4 && strcmp(de->d_name + strlen(de->d_name) - 4, ".xml") == 0)
            vg_strv_push(&names, vg_xstrdup(de->d_name));
    closedir(dh);
    size_t n = vg_strv_len(names);
    qsort(names, n, sizeof(char *), cmp_names);

    autoconfig vg_config *cfg = vg_config_new_default();
    for (size_t i = 0; i < VG_N_ELEMENTS(roots); i++)
        vg_strv_push(&cfg->shared_mounts, vg_xstrdup(roots[i]));

    item *items = vg_xcalloc(n ? n : 1, sizeof(item));
    size_t n_items = 0, n_parse_fail = 0, n_refused = 0;
    for (size_t i = 0; i < n; i++) {
        autofree char *path = vg_xasprintf("%s/%s", dir, names[i]);
        autofree char *raw = NULL;
        size_t len;
        if (vg_read_file(path, 1 << 22, &raw, &len) < 0)
            continue;
        item *it = &items[n_items];
        it->name = vg_xstrdup(names[i]);
        it->text = with_uuid(raw, &it->uuid);

        autodomain vg_domain *d = NULL;
        autopolicy vg_policy *p = NULL;
        autoerror vg_error *err = NULL;
        if (vg_domain_parse(it->text, strlen(it->text), names[i], &d, &err) < 0) {
            n_parse_fail++;
            free(it->name);
            free(it->text);
            free(it->uuid);
            memset(it, 0, sizeof(*it));
            continue;
        }
        if (vg_policy_check_domain(d, NULL, &err) < 0 || vg_policy_resolve(cfg, d, &p, &err) < 0) {
            it->refusal = vg_xstrdup(err->msg);
            n_refused++;
        }
        if (it->refusal && getenv("VG_DIFF_VERBOSE"))
            printf("refused: %s\n", it->refusal);
        if (!it->refusal && vg_policy_render(p, d->uuid, d->name, &it->ours, &err) < 0) {
            failf("%s: render failed: %s", names[i], err->msg);
        }
        if (!it->refusal && (!p || p->n_entries == 0) && !mentions_root(it->text)) {
            free(it->ours);
            free(it->name);
            free(it->text);
            free(it->uuid);
            memset(it, 0, sizeof(*it));
            continue;
        }
        it->xml_path = vg_xasprintf("%s/%zu.xml", tmp, n_items);
        it->out_path = vg_xasprintf("%s/%zu.out", tmp, n_items);
        if (vg_write_file_atomic(it->xml_path, it->text, strlen(it->text), 0600) < 0)
            return 99;
        n_items++;
    }

    /* Run virt-aa-helper, a few at a time. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t max_running = ncpu > 0 ? (size_t)ncpu + 1 : 2, running = 0, next = 0, done = 0;
    while (done < n_items) {
        while (running < max_running && next < n_items) {
            if (spawn_vah(&items[next]) < 0)
                return 99;
            next++;
            running++;
        }
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0)
            return 99;
        for (size_t i = 0; i < next; i++)
            if (items[i].pid == pid) {
                items[i].status = st;
                items[i].pid = 0;
            }
        running--;
        done++;
    }

    size_t checked = 0, n_lv_fail = 0;
    for (size_t i = 0; i < n_items; i++) {
        item *it = &items[i];
        autofree char *out = NULL;
        (void)vg_read_file(it->out_path, 1 << 22, &out, NULL);
        int rc = WIFEXITED(it->status) ? WEXITSTATUS(it->status) : 128;
        if (rc != 0)
            n_lv_fail++;
        checked += compare(it, rc, out ? out : "");
        unlink(it->xml_path);
        unlink(it->out_path);
        free(it->name);
        free(it->xml_path);
        free(it->out_path);
        free(it->text);
        free(it->uuid);
        free(it->ours);
        free(it->refusal);
    }
    free(items);
    rmdir(tmp);
    printf("%zu corpus files: %zu not parsed by virtguard, %zu compared with virt-aa-helper "
           "(%zu refused by it), %zu refused by virtguard, %zu libvirt rules under the roots "
           "checked, %d failures, %lld ms\n",
           n, n_parse_fail, n_items, n_lv_fail, n_refused, checked, n_fail, vg_now_ms() - t0);
    return n_fail ? 1 : 0;
}
