/* libFuzzer target: whole rules files from names over a hostile alphabet.
 *
 * Input: records of one flag byte (access, kind, role) followed by name
 * bytes up to a NUL; each name byte picks one token of `alphabet` below
 * (the characters AppArmor, comments and lines treat specially, control
 * characters, multi-byte and invalid UTF-8, trailing and doubled
 * backslashes).  Each name becomes the path "/img/NAME" and also appears
 * in its entry's reason (the comment above the rule), as a backing name
 * does.  In-process oracles:
 *  - the renderer succeeds exactly when every path passes the character
 *    policy (vg_aa_path_problem);
 *  - what it renders passes the helper's self-check
 *    (vg_policy_verify_rules) and every comment line is in the comment
 *    alphabet.
 * Out of process, in batches: with VG_FUZZ_RULES_OUT=DIR set, up to
 * VG_FUZZ_RULES_MAX (default 3000) distinct rendered files are written as
 * DIR/HASH.rules with their manifest DIR/HASH.expect; tests/fuzz/run.sh
 * then compiles them whole with the real apparmor_parser
 * (tests/apparmor/aa-rules-check.py) and fails on any compiled rule or DFA that is
 * not exactly the rendered literals. */
#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "aa-escape.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const alphabet[] = {
    "\\", "\"", "#", ",", "{", "}", "[", "]", "*", "?", "^", "@", "$", "=", "(", ")",
    "<", ">", "\r", "\n", "\t", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xbe", "\\\\",
    "/", " ", "a", "b", ".", "@{HOME}", "**", "\x7f", "\xc2\x9b", "\xff", "\xc3",
    "x\" rwk, /** rwmlk, #", "#include <abstractions/base>", "!", "'", "|", "&", ";", "%",
    "~", "+", "-", "_", ":", "0", "\x01", "\x1b[31m", "\\\"", "d\\",
};

static unsigned long n_written;

static void write_sample(const char *rules, const vg_policy *p)
{
    const char *dir = getenv("VG_FUZZ_RULES_OUT");
    const char *max_s = getenv("VG_FUZZ_RULES_MAX");
    unsigned long max = max_s ? strtoul(max_s, NULL, 10) : 3000;
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a of the text */

    if (!dir || n_written >= max)
        return;
    for (const unsigned char *c = (const unsigned char *)rules; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    autofree char *rpath = vg_xasprintf("%s/%016llx.rules", dir, (unsigned long long)h);
    struct stat st;
    if (stat(rpath, &st) == 0)
        return;
    autofree char *manifest = vg_policy_manifest(p);
    autofree char *epath = vg_xasprintf("%s/%016llx.expect", dir, (unsigned long long)h);
    if (vg_write_file_atomic(epath, manifest, strlen(manifest), 0644) < 0 ||
        vg_write_file_atomic(rpath, rules, strlen(rules), 0644) < 0)
        abort();
    n_written++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    autopolicy vg_policy *p = vg_policy_new();
    bool all_ok = true;
    size_t i = 0;

    while (i < size && p->n_entries < 16) {
        uint8_t flags = data[i++];
        vg_buf name = { 0 };
        vg_buf_add(&name, "/img/");
        while (i < size && data[i] != 0 && name.len < 512)
            vg_buf_add(&name, alphabet[data[i++] % VG_N_ELEMENTS(alphabet)]);
        i++;
        autofree char *path = vg_buf_steal(&name);
        /* Paths reach the renderer canonical (realpath): no "//", "/./",
         * "..", trailing '/'. */
        autofree char *norm = vg_path_normalize(path);
        if (!norm || strcmp(norm, path) != 0)
            continue;
        autofree char *problem = vg_aa_path_problem(path);
        if (problem)
            all_ok = false;
        autofree char *reason = vg_xasprintf("backing layer 1 of disk 'vda' ('%s' named in "
                                             "'/img/ov.qcow2')", path + 5);
        vg_policy_add(p, path, (flags & 0x80) ? VG_ACCESS_RW : VG_ACCESS_R,
                      (flags & 0x40) ? VG_POLICY_DIR : VG_POLICY_FILE,
                      (vg_role)((flags & 0x3f) % VG_ROLE__COUNT), reason);
    }

    autofree char *rules = NULL;
    autoerror vg_error *err = NULL;
    int r = vg_policy_render(p, "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f", "fuzz\r{name}", &rules, &err);
    if ((r == 0) != all_ok)
        abort();        /* a path outside the policy rendered, or a clean one did not */
    if (r < 0)
        return 0;
    if (vg_policy_verify_rules(p, rules, &err) < 0) {
        fprintf(stderr, "self-check refuses the rendered rules: %s\n%s", err->msg, rules);
        abort();
    }
    for (const char *line = rules; *line;) {
        const char *eol = strchr(line, '\n');
        const char *c = line;
        while (*c == ' ')
            c++;
        if (*c == '#')
            for (c++; c < eol; c++)
                if (!vg_aa_comment_char_ok(*c))
                    abort();    /* a name reached a comment unreduced */
        line = eol + 1;
    }
    write_sample(rules, p);
    return 0;
}
