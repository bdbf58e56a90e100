/* libFuzzer target: the rule escaper (lib/base/aa-escape.c) and renderer
 * (lib/apparmor/policy.c), plus the name and UUID checks that guard path building.
 *
 * Input: records of one flag byte (role, access, kind) and a path ended by
 * a NUL byte.  Oracles:
 *  - vg_aa_quote_path() succeeds exactly when vg_aa_path_problem() has no
 *    objection, and then unescaping the quoted text gives the path back,
 *    with every AppArmor special character preceded by a backslash;
 *  - a policy of writable paths renders, and every quoted string in the
 *    rules unescapes to one of the input paths (plus "/" "**" for trees);
 *  - a string accepted as a UUID is exactly 8-4-4-4-12 hex digits, and a
 *    name accepted has none of / [ ] { } ? ^ , " * or control characters. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>

#include "aa-escape.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text between the quotes, unescaped; NULL when a special character
 * appears unescaped (other than a final "/" "**" when `tree` is non-NULL)
 * or the quoting is broken.  *end: after the closing quote. */
static char *unquote(const char *q, const char **end, bool *tree)
{
    vg_buf b = { 0 };
    if (tree)
        *tree = false;
    if (*q != '"')
        return NULL;
    for (q++; *q && *q != '"'; q++) {
        if (*q == '\\') {
            q++;
            if (!*q || !strchr(VG_AA_SPECIAL_CHARS, *q)) {
                vg_buf_clear(&b);
                return NULL;
            }
        } else if (strchr(VG_AA_SPECIAL_CHARS, *q)) {
            if (tree && q[0] == '*' && q[1] == '*' && q[2] == '"' && b.len && b.s[b.len - 1] == '/') {
                *tree = true;
                q++;
                continue;
            }
            vg_buf_clear(&b);
            return NULL;
        }
        vg_buf_addc(&b, *q);
    }
    if (*q != '"') {
        vg_buf_clear(&b);
        return NULL;
    }
    *end = q + 1;
    return vg_buf_steal(&b);
}

/* AppArmor collapses repeated slashes; compare paths without trailing ones. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    return n;
}

static void check_quote(const char *path)
{
    autofree char *q = NULL;
    autoerror vg_error *err = NULL;
    autofree char *problem = vg_aa_path_problem(path);
    int r = vg_aa_quote_path(path, NULL, &q, &err);

    if ((r == 0) != (problem == NULL) || (r < 0 && (!err || !err->msg)))
        abort();
    if (r == 0) {
        const char *end;
        autofree char *back = unquote(q, &end, NULL);
        if (!back || strcmp(back, path) != 0 || *end)
            abort();
    }
}

static void check_ids(const char *s)
{
    if (vg_policy_check_uuid(s, NULL) == 0) {
        if (strlen(s) != 36)
            abort();
        for (size_t i = 0; i < 36; i++)
            if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
                abort();
    }
    if (vg_policy_check_name(s, NULL) == 0) {
        if (!*s || strpbrk(s, "/[]{}?^,\"*"))
            abort();
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                abort();
    }
}

/* Every quoted string of every rule line is one of the policy's paths. */
static void check_rules(const vg_policy *p, const char *rules)
{
    for (const char *q = rules; (q = strchr(q, '"'));) {
        /* skip comment lines: they never hold a quote we wrote as a rule */
        const char *bol = q;
        while (bol > rules && bol[-1] != '\n')
            bol--;
        while (*bol == ' ')
            bol++;
        if (*bol == '#') {
            q = strchr(q, '\n');
            if (!q)
                break;
            continue;
        }
        const char *end;
        bool tree;
        autofree char *path = unquote(q, &end, &tree);
        if (!path)
            abort();
        size_t n = trimmed_len(path);
        bool found = false;
        for (size_t i = 0; i < p->n_entries && !found; i++) {
            const vg_policy_entry *e = &p->entries[i];
            if (tree && e->kind != VG_POLICY_DIR)
                continue;
            found = trimmed_len(e->path) == n && memcmp(path, e->path, n) == 0;
        }
        if (!found) {
            fprintf(stderr, "rule for a path not in the policy: %s\n", q);
            abort();
        }
        q = end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    autopolicy vg_policy *p = vg_policy_new();
    bool all_ok = true;
    size_t i = 0;

    while (i < size && p->n_entries < 64) {
        uint8_t flags = data[i++];
        const uint8_t *nul = memchr(data + i, '\0', size - i);
        size_t n = nul ? (size_t)(nul - (data + i)) : size - i;
        autofree char *path = vg_xstrndup((const char *)data + i, n);
        i += n + (nul ? 1 : 0);

        check_quote(path);
        check_ids(path);
        autofree char *problem = vg_aa_path_problem(path);
        if (problem)
            all_ok = false;
        vg_policy_add(p, path, (flags & 0x80) ? VG_ACCESS_RW : VG_ACCESS_R,
                      (flags & 0x40) ? VG_POLICY_DIR : VG_POLICY_FILE,
                      (vg_role)((flags & 0x3f) % VG_ROLE__COUNT), "fuzz");
    }

    autofree char *rules = NULL;
    autofree char *profile = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_policy_render(p, "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f", "fuzz\n{name}", &rules, &err);
    if (all_ok && r < 0)
        abort();
    if (!all_ok && r == 0)
        abort();            /* a path with a control character got a rule */
    if (r == 0) {
        check_rules(p, rules);
        if (vg_policy_render_test_profile(p, "x/../..", "n", &profile, NULL) < 0)
            abort();
    }
    return 0;
}
