/* virtguard: text transforms of libvirt's per-domain profile file. */
#include <config.h>

#include "aa-profile.h"

#include "policy.h"

#define TEMPLATE_NAME "\nprofile LIBVIRT_TEMPLATE"

char *vg_aa_profile_name(const char *uuid)
{
    return vg_xasprintf("libvirt-%s", uuid);
}

char *vg_aa_profile_uuid(const char *name, const char *suffix)
{
    static const char prefix[] = "libvirt-";
    size_t pl = sizeof(prefix) - 1, l = strlen(name), sl = strlen(suffix);

    if (!vg_str_has_prefix(name, prefix) || l <= pl + sl || strcmp(name + l - sl, suffix) != 0)
        return NULL;
    autofree char *uuid = vg_xstrndup(name + pl, l - pl - sl);
    if (vg_policy_check_uuid(uuid, NULL) < 0)
        return NULL;
    return steal_pointer(&uuid);
}

char *vg_aa_profile_path(const char *aa_dir, const char *uuid)
{
    return vg_xasprintf("%s/libvirt/libvirt-%s", aa_dir, uuid);
}

char *vg_aa_rules_path(const char *aa_dir, const char *uuid)
{
    return vg_xasprintf("%s/libvirt/libvirt-%s" VG_AA_RULES_SUFFIX, aa_dir, uuid);
}

char *vg_aa_rules_include(const char *uuid)
{
    return vg_xasprintf("#include if exists <libvirt/libvirt-%s" VG_AA_RULES_SUFFIX ">", uuid);
}

static char *replace_all(const char *s, const char *from, const char *to)
{
    vg_buf b = { 0 };
    size_t n = strlen(from);
    const char *p;

    while ((p = strstr(s, from))) {
        vg_buf_addn(&b, s, (size_t)(p - s));
        vg_buf_add(&b, to);
        s = p + n;
    }
    vg_buf_add(&b, s);
    return vg_buf_steal(&b);
}

int vg_aa_profile_from_template(const char *tmpl, const char *uuid, char **out, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *with_name = NULL;
    autofree char *files = NULL;

    if (!strstr(tmpl, TEMPLATE_NAME) || !strstr(tmpl, "\n}"))
        return vg_error_set(err, EINVAL, "the AppArmor template has no 'profile LIBVIRT_TEMPLATE' "
                                         "block; it is not libvirt's TEMPLATE.qemu");
    autofree char *new_name = vg_xasprintf("\nprofile %s", name);
    with_name = replace_all(tmpl, TEMPLATE_NAME, new_name);
    files = vg_xasprintf("\n  #include <libvirt/%s.files>\n\n}", name);
    *out = replace_all(with_name, "\n}", files);
    return 0;
}

static const char *last_close(const char *text)
{
    const char *last = NULL;
    for (const char *p = text; (p = strstr(p, "\n}")); p++)
        last = p;
    return last;
}

/* The line starting at `line` (up to, not including, its '\n'), without
 * leading and trailing blanks, equals `content`. */
static bool line_is(const char *line, const char *content)
{
    size_t n = strlen(content);
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, content, n) != 0)
        return false;
    for (line += n; *line == ' ' || *line == '\t'; line++)
        ;
    return *line == '\n' || *line == '\0';
}

/* Start of the first line that is `content`, or NULL. */
static const char *find_line(const char *text, const char *content)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (line_is(p, content))
            return p;
    return NULL;
}

/* `text` with every line that is `content` (a whole line, its newline
 * included) replaced by `with`. */
static char *replace_lines(const char *text, const char *content, const char *with)
{
    vg_buf b = { 0 };
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (line_is(p, content))
            vg_buf_add(&b, with);
        else
            vg_buf_addn(&b, p, n);
        p += n;
    }
    return vg_buf_steal(&b);
}

/* `text` without every line that is `content`. */
static char *drop_lines(const char *text, const char *content)
{
    return replace_lines(text, content, "");
}

typedef enum { FLAGS_ADD_COMPLAIN, FLAGS_REMOVE_COMPLAIN } flags_op;

/* Add or remove "complain" in the flags of the "profile NAME ... {" header
 * line.  The text is rebuilt only when the flags change (*did); an explicit
 * "enforce" flag is the admin's choice and is never overridden by adding
 * "complain" (the two conflict).  *header_end: offset just after the header
 * line in *out. */
static int edit_flags(const char *text, const char *name, flags_op op, char **out, bool *did,
                      size_t *header_end, vg_error **err)
{
    autofree char *head = vg_xasprintf("\nprofile %s", name);
    const char *h = strstr(text, head);
    const char *brace, *flags, *eol;
    vg_buf b = { 0 };

    *did = false;
    if (!h)
        return vg_error_set(err, EINVAL, "the profile file has no 'profile %s' line", name);
    h++;                                        /* at "profile" */
    eol = strchr(h, '\n');
    brace = strchr(h, '{');
    if (!brace || (eol && brace > eol))
        return vg_error_set(err, EINVAL, "the 'profile %s' line has no '{'", name);
    flags = strstr(h, "flags=(");
    if (flags && flags > brace)
        flags = NULL;

    autostrv char **list = NULL;
    const char *after = brace;                  /* text kept from here on */
    const char *before_end = brace;             /* header text kept up to here */
    bool has_complain = false, has_enforce = false;
    if (flags) {
        const char *close = strchr(flags, ')');
        if (!close || close > brace)
            return vg_error_set(err, EINVAL, "the 'profile %s' line has an unterminated flags=(", name);
        autofree char *inner = vg_xstrndup(flags + 7, (size_t)(close - flags - 7));
        for (char *save = NULL, *tok = strtok_r(inner, ", \t", &save); tok;
             tok = strtok_r(NULL, ", \t", &save)) {
            has_complain |= strcmp(tok, "complain") == 0;
            has_enforce |= strcmp(tok, "enforce") == 0;
            if (strcmp(tok, "complain") != 0)
                vg_strv_push(&list, vg_xstrdup(tok));
        }
        before_end = flags;
        after = close + 1;
    }
    if (op == FLAGS_ADD_COMPLAIN ? has_complain || has_enforce : !has_complain) {
        *out = vg_xstrdup(text);
        *header_end = eol ? (size_t)(eol - text) + 1 : strlen(text);
        return 0;
    }
    if (op == FLAGS_ADD_COMPLAIN)
        vg_strv_push(&list, vg_xstrdup("complain"));

    vg_buf_addn(&b, text, (size_t)(h - text));
    /* header up to the flags (or the brace), without trailing blanks */
    size_t hl = (size_t)(before_end - h);
    while (hl > 0 && (h[hl - 1] == ' ' || h[hl - 1] == '\t'))
        hl--;
    vg_buf_addn(&b, h, hl);
    if (vg_strv_len(list)) {
        vg_buf_add(&b, " flags=(");
        for (size_t i = 0; list[i]; i++)
            vg_buf_printf(&b, "%s%s", i ? ", " : "", list[i]);
        vg_buf_addc(&b, ')');
    }
    if (*after != ' ')
        vg_buf_addc(&b, ' ');
    size_t rest = b.len;
    vg_buf_add(&b, after);
    const char *nl = strchr(b.s + rest, '\n');
    *header_end = nl ? (size_t)(nl - b.s) + 1 : b.len;
    *out = vg_buf_steal(&b);
    *did = true;
    return 0;
}

int vg_aa_profile_ensure(const char *text, const char *uuid, bool complain,
                         char **out, bool *changed, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *inc = vg_aa_rules_include(uuid);
    autofree char *with_include = NULL;
    autofree char *flagged = NULL;
    bool marked = find_line(text, VG_AA_COMPLAIN_MARK) != NULL;
    bool did;
    size_t header_end;
    int r;

    /* a line of its own: the same text in a comment includes nothing */
    if (find_line(text, inc)) {
        with_include = vg_xstrdup(text);
    } else {
        const char *close = last_close(text);
        vg_buf b = { 0 };
        if (!close)
            return vg_error_set(err, EINVAL, "the profile file of '%s' has no closing '}'", name);
        vg_buf_addn(&b, text, (size_t)(close - text));
        vg_buf_printf(&b, "\n  %s", inc);
        vg_buf_add(&b, close);
        with_include = vg_buf_steal(&b);
    }
    if ((r = edit_flags(with_include, name,
                        complain ? FLAGS_ADD_COMPLAIN : FLAGS_REMOVE_COMPLAIN,
                        &flagged, &did, &header_end, err)) < 0)
        return r;
    if (complain && did && !marked) {
        /* Record that the flag is ours: unload, reconcile and gc remove it
         * again, and only it (an admin's own complain flag has no mark). */
        vg_buf b = { 0 };
        vg_buf_addn(&b, flagged, header_end);
        vg_buf_printf(&b, "  %s\n", VG_AA_COMPLAIN_MARK);
        vg_buf_add(&b, flagged + header_end);
        *out = vg_buf_steal(&b);
    } else if (!complain && marked) {
        *out = drop_lines(flagged, VG_AA_COMPLAIN_MARK);
    } else if (!complain && did) {
        /* complain without our mark is the admin's: keep it */
        *out = steal_pointer(&with_include);
    } else {
        *out = steal_pointer(&flagged);
    }
    *changed = strcmp(*out, text) != 0;
    return 0;
}

int vg_aa_profile_restore(const char *text, const char *uuid, bool drop_include,
                          char **out, bool *changed, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *cur = vg_xstrdup(text);
    int r;

    if (find_line(cur, VG_AA_COMPLAIN_MARK)) {
        autofree char *flagged = NULL;
        bool did;
        size_t header_end;
        if ((r = edit_flags(cur, name, FLAGS_REMOVE_COMPLAIN, &flagged, &did, &header_end,
                            err)) < 0)
            return r;
        free(cur);
        cur = drop_lines(flagged, VG_AA_COMPLAIN_MARK);
    }
    if (drop_include) {
        autofree char *inc = vg_aa_rules_include(uuid);
        char *next = drop_lines(cur, inc);
        free(cur);
        cur = next;
    }
    *changed = strcmp(cur, text) != 0;
    *out = steal_pointer(&cur);
    return 0;
}

unsigned vg_aa_profile_ours(const char *text, const char *uuid)
{
    autofree char *inc = vg_aa_rules_include(uuid);
    unsigned what = 0;

    if (find_line(text, VG_AA_COMPLAIN_MARK))
        what |= VG_AA_OURS_COMPLAIN;
    if (find_line(text, inc))
        what |= VG_AA_OURS_INCLUDE;
    return what;
}

int vg_aa_profile_for_validation(const char *text, const char *uuid, const char *rules,
                                 char **out, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    /* libvirt 9.0's virt-aa-helper writes the first, libvirt 11's the second */
    autofree char *files = vg_xasprintf("#include <libvirt/%s.files>", name);
    autofree char *files_if = vg_xasprintf("#include if exists <libvirt/%s.files>", name);
    autofree char *inc = vg_aa_rules_include(uuid);

    if (!find_line(text, inc))
        return vg_error_set(err, EINVAL, "the profile file of '%s' does not include virtguard's "
                                         "rules", name);
    /* Whole lines only: the same text inside a comment stays a comment. */
    autofree char *no_files = drop_lines(text, files);
    autofree char *no_files_if = drop_lines(no_files, files_if);
    *out = replace_lines(no_files_if, inc, rules);
    return 0;
}
