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
 *  - A backslash is NOT safe to escape: "/a/d\\" does not end at the
 *    closing quote in apparmor_parser 3.0.8 -- the lexer skips the quote
 *    after "\\", the string runs on into the next line and the next
 *    double quote (say, in a comment holding an attacker's file name) ends
 *    it, so the rest of that line compiles as rules.  Backslashes and
 *    double quotes are therefore refused in every path, like control
 *    characters and bytes that are not UTF-8; the only backslashes in a
 *    rules file are the ones vg_aa_append_path() puts before
 *    VG_AA_SPECIAL_CHARS, and no path can contain a '"' to follow them.
 *  - Comments carry text reduced to VG_AA_COMMENT_PUNCT and alphanumerics
 *    (vg_aa_comment_text): no quote, backslash, '#', '<' or '>' of a file
 *    name reaches a rules file outside a checked, quoted path.
 */
#include <config.h>

#include "aa-escape.h"

char *vg_aa_path_problem(const char *path)
{
    if (!path || !*path)
        return vg_xstrdup("is empty");
    if (path[0] != '/')
        return vg_xstrdup("is not absolute");
    for (const char *p = path; *p;) {
        size_t at = (size_t)(p - path) + 1;
        unsigned cp;
        size_t n = vg_utf8_seq(p, &cp);
        if (n == 0)
            return vg_xasprintf("is not valid UTF-8 (byte 0x%02x at byte %zu)",
                                (unsigned char)*p, at);
        if (cp == '\\')
            return vg_xasprintf("contains a backslash at byte %zu", at);
        if (cp == '"')
            return vg_xasprintf("contains a double quote at byte %zu", at);
        if (cp == '\n')
            return vg_xasprintf("contains a newline (LF) at byte %zu", at);
        if (cp == '\r')
            return vg_xasprintf("contains a carriage return (CR) at byte %zu", at);
        if (cp == '\t')
            return vg_xasprintf("contains a tab at byte %zu", at);
        if (cp == 0x7f)
            return vg_xasprintf("contains the control character DEL (0x7f) at byte %zu", at);
        if (vg_is_control_cp(cp))
            return cp < 0x80 ? vg_xasprintf("contains the control character 0x%02x at byte %zu", cp, at)
                             : vg_xasprintf("contains the control character U+%04X at byte %zu", cp, at);
        p += n;
    }
    return NULL;
}

/* Whole-component prefixes virtguard never grants, whatever the roots:
 * the system, root's home, runtime state (sockets, pid files, libvirt's
 * per-domain state with master-key.aes), and virtguard's own state. */
static const char *const restricted_dirs[] = {
    "/etc", "/usr", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev", "/selinux",
    "/lost+found", "/root", "/run", "/var/run", RUNSTATEDIR, SYSCONFDIR, APPARMORDIR,
    /* libvirt's and virtguard's own state, where a Debian build puts it
     * and where this build does (another prefix) */
    "/var/lib/libvirt/qemu", "/var/cache/virtguard",
    LIBVIRT_LOCALSTATEDIR "/lib/libvirt/qemu", LOCALSTATEDIR "/cache/virtguard",
    RUNSTATEDIR "/virtguard",
};

const char *vg_aa_restricted_root(const char *path)
{
    if (strcmp(path, "/") == 0)
        return "/";
    for (size_t i = 0; i < VG_N_ELEMENTS(restricted_dirs); i++)
        if (vg_path_is_under(path, restricted_dirs[i]))
            return restricted_dirs[i];
    /* /lib, /lib32, /lib64, /libx32 ...: any top-level "lib*" directory,
     * and the kernel/initrd symlinks at the top. */
    if (vg_str_has_prefix(path, "/lib"))
        return "/lib*";
    if (vg_str_has_prefix(path, "/vmlinuz"))
        return "/vmlinuz*";
    if (vg_str_has_prefix(path, "/initrd"))
        return "/initrd*";
    return NULL;
}

bool vg_aa_comment_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(VG_AA_COMMENT_PUNCT, c));
}

char *vg_aa_comment_text(const char *s)
{
    char *d = vg_xstrdup(s ? s : "");
    for (char *p = d; *p; p++)
        if (!vg_aa_comment_char_ok(*p))
            *p = '?';
    return d;
}

int vg_aa_append_path(vg_buf *b, const char *path, const char *glob_suffix, vg_error **err)
{
    autofree char *problem = vg_aa_path_problem(path);

    if (problem) {
        autofree char *shown = vg_str_escape(path, true);
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
