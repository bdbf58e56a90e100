/* libFuzzer target: the domain path model (xml/xmlsafe.c, xml/domain-paths.c,
 * xml/domain-model.c) and what the helper does with it before any I/O that
 * matters: name/UUID checks, resolve against an allowed root that does not
 * exist (so nothing is ever opened), and the rendered rules.
 *
 * Oracles beyond "no crash, no leak, no UB" (ASan/UBSan/LeakSanitizer):
 *  - a parsed model formats as text and JSON;
 *  - every rendered rule names a path under the allowed root.
 */
#include <config.h>

#include <stdint.h>

#include "domain-paths.h"
#include "policy.h"
#include "vgconfig.h"

#define FUZZ_ROOT "/nonexistent-vg-fuzz-root/images"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vg_config *fuzz_config(void)
{
    static const char text[] = "shared_mounts = [ \"" FUZZ_ROOT "\" ]\n";
    vg_config *cfg = NULL;
    if (vg_config_parse(text, sizeof(text) - 1, "fuzz.conf", &cfg, NULL) < 0)
        abort();
    return cfg;
}

/* Every quoted path in a rule starts with the (escaped) root. */
static void check_rules(const char *rules)
{
    for (const char *line = rules; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        const char *q = memchr(line, '"', n);
        if (q && line[0] != '#' && !(n > 2 && line[2] == '#')) {
            static const char root[] = "\"" FUZZ_ROOT "/";
            if ((size_t)(line + n - q) < sizeof(root) - 1 ||
                memcmp(q, root, sizeof(root) - 1) != 0) {
                fprintf(stderr, "rule outside the root: %.*s\n", (int)n, line);
                abort();
            }
        }
        line = eol ? eol + 1 : NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_config *cfg;
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;

    if (!cfg)
        cfg = fuzz_config();
    if (vg_domain_parse((const char *)data, size, "fuzz", &dom, &err) < 0) {
        if (!err || !err->msg || !*err->msg)
            abort();        /* every refusal carries a message */
        return 0;
    }
    free(vg_domain_paths_format(dom, false));
    free(vg_domain_paths_format(dom, true));
    free(vg_domain_unresolved_format(dom));

    if (vg_policy_check_domain(dom, NULL, NULL) < 0)
        return 0;
    autopolicy vg_policy *pol = NULL;
    autofree char *rules = NULL;
    autoerror vg_error *err2 = NULL;
    if (vg_policy_resolve(cfg, dom, &pol, &err2) < 0)
        return 0;
    if (vg_policy_render(pol, dom->uuid, dom->name, &rules, NULL) < 0)
        abort();            /* a resolved policy always renders */
    if (getenv("VG_FUZZ_DEBUG"))
        fputs(rules, stderr);
    check_rules(rules);
    return 0;
}
