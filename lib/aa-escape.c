/* virtguard: literal paths in AppArmor rules.
 *
 * What apparmor_parser 3.0.8 does with a quoted path (checked on Debian 12
 * with `apparmor_parser -Q -K -D rule-exprs` and `-D dfa-graph`; the DFA
 * graph of a one-rule profile is the ground truth: a literal path compiles
 * to a single chain of one-byte transitions):
 *
 *  - Quotes only group: inside "..." the globs * ** ? [..] {a,b} and ^
 *    keep their meaning.  "/a/x*y" compiles to /a/x[^/\0]*y.
 *  - A backslash makes the next character literal for every special
 *    character we care about: \* \? \[ \] \{ \} \^ \" \\ \, each compile to
 *    the single byte ("/a/x\*y" -> chain /,a,/,x,*,y).  \, and a bare ","
 *    inside quotes are both a literal comma; we escape it anyway.
 *  - Variables: "@{HOME}" is expanded even inside quotes, and "\@{HOME}"
 *    is STILL expanded (the backslash before @ does not stop it: unknown
 *    variable -> exit 1).  "@\{HOME\}" is not expanded and compiles to the
 *    literal bytes @{HOME}, also with <tunables/global> included.  Escaping
 *    every "{" therefore also defuses "@{".
 *  - "\\101" is a backslash followed by "101" (no octal escape), a raw
 *    0xff byte or UTF-8 is taken as is, space, #, !, ', =, +, <, >, $, |,
 *    (, ), . and @ need no escape inside quotes.
 *  - Inside quotes the parser turns \n and \t into the control characters
 *    and a raw newline ends the rule: control characters are refused, never
 *    escaped.
 */
#include <config.h>

#include "aa-escape.h"

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

const char *vg_aa_path_problem(const char *path)
{
    if (!path || !*path)
        return "is empty";
    if (path[0] != '/')
        return "is not absolute";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '\n')
            return "contains a newline";
        if (is_control(*p))
            return "contains a control character";
    }
    return NULL;
}

char *vg_aa_comment_text(const char *s)
{
    char *d = vg_xstrdup(s ? s : "");
    for (unsigned char *p = (unsigned char *)d; *p; p++)
        if (is_control(*p))
            *p = '?';
    return d;
}

int vg_aa_append_path(vg_buf *b, const char *path, const char *glob_suffix, vg_error **err)
{
    const char *problem = vg_aa_path_problem(path);

    if (problem) {
        autofree char *shown = vg_aa_comment_text(path);
        return vg_error_set(err, EINVAL,
                            "path '%s' %s, so it cannot be written into an AppArmor rule",
                            shown, problem);
    }
    vg_buf_addc(b, '"');
    for (const char *p = path; *p; p++) {
        if (strchr(VG_AA_SPECIAL_CHARS, *p))
            vg_buf_addc(b, '\\');
        vg_buf_addc(b, *p);
    }
    if (glob_suffix)
        vg_buf_add(b, glob_suffix);
    vg_buf_addc(b, '"');
    return 0;
}

int vg_aa_quote_path(const char *path, const char *glob_suffix, char **out, vg_error **err)
{
    autobuf vg_buf b = { 0 };
    int r = vg_aa_append_path(&b, path, glob_suffix, err);
    if (r < 0)
        return r;
    *out = vg_buf_steal(&b);
    return 0;
}
