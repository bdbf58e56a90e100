/* virtguard: text transforms of libvirt's per-domain profile file. */
#include <config.h>

#include "aa-profile.h"

#define TEMPLATE_NAME "\nprofile LIBVIRT_TEMPLATE"

char *vg_aa_profile_name(const char *uuid)
{
    return vg_xasprintf("libvirt-%s", uuid);
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

/* Rewrite the flags of the "profile NAME ... {" header line. */
static int set_flags(const char *text, const char *name, bool complain, char **out, vg_error **err)
{
    autofree char *head = vg_xasprintf("\nprofile %s", name);
    const char *h = strstr(text, head);
    const char *brace, *flags, *eol;
    vg_buf b = { 0 };

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
    if (flags) {
        const char *close = strchr(flags, ')');
        if (!close || close > brace)
            return vg_error_set(err, EINVAL, "the 'profile %s' line has an unterminated flags=(", name);
        autofree char *inner = vg_xstrndup(flags + 7, (size_t)(close - flags - 7));
        for (char *save = NULL, *tok = strtok_r(inner, ", \t", &save); tok;
             tok = strtok_r(NULL, ", \t", &save))
            if (strcmp(tok, "complain") != 0 && strcmp(tok, "enforce") != 0)
                vg_strv_push(&list, vg_xstrdup(tok));
        before_end = flags;
        after = close + 1;
    }
    if (complain)
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
    vg_buf_add(&b, after);
    *out = vg_buf_steal(&b);
    return 0;
}

int vg_aa_profile_ensure(const char *text, const char *uuid, bool complain,
                         char **out, bool *changed, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *target = vg_xasprintf("<libvirt/%s" VG_AA_RULES_SUFFIX ">", name);
    autofree char *with_include = NULL;
    int r;

    if (strstr(text, target)) {
        with_include = vg_xstrdup(text);
    } else {
        const char *close = last_close(text);
        vg_buf b = { 0 };
        if (!close)
            return vg_error_set(err, EINVAL, "the profile file of '%s' has no closing '}'", name);
        vg_buf_addn(&b, text, (size_t)(close - text));
        vg_buf_printf(&b, "\n  #include if exists %s", target);
        vg_buf_add(&b, close);
        with_include = vg_buf_steal(&b);
    }
    if ((r = set_flags(with_include, name, complain, out, err)) < 0)
        return r;
    *changed = strcmp(*out, text) != 0;
    return 0;
}

int vg_aa_profile_for_validation(const char *text, const char *uuid, const char *rules,
                                 char **out, vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *files = vg_xasprintf("  #include <libvirt/%s.files>\n", name);
    autofree char *ours = vg_xasprintf("  #include if exists <libvirt/%s" VG_AA_RULES_SUFFIX ">\n",
                                       name);
    autofree char *no_files = NULL;

    if (!strstr(text, ours))
        return vg_error_set(err, EINVAL, "the profile file of '%s' does not include virtguard's "
                                         "rules", name);
    no_files = replace_all(text, files, "");
    *out = replace_all(no_files, ours, rules);
    return 0;
}

/* "#include if exists <libvirt/NAME.virtguard>" between blanks only. */
static bool is_our_include(const char *line, size_t len, const char *target)
{
    size_t tl = strlen(target);

    while (len > 0 && (*line == ' ' || *line == '\t'))
        line++, len--;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
        len--;
    return len == tl && memcmp(line, target, tl) == 0;
}

int vg_aa_profile_restore(const char *text, const char *uuid, char **out, bool *changed,
                          vg_error **err)
{
    autofree char *name = vg_aa_profile_name(uuid);
    autofree char *target = vg_xasprintf("#include if exists <libvirt/%s" VG_AA_RULES_SUFFIX ">",
                                         name);
    autofree char *without = NULL;
    vg_buf b = { 0 };
    bool found = false;
    int r;

    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (is_our_include(p, len, target))
            found = true;
        else
            vg_buf_addn(&b, p, len + (eol ? 1 : 0));
        p += len + (eol ? 1 : 0);
    }
    without = vg_buf_steal(&b);
    if (!found) {
        *out = steal_pointer(&without);
        *changed = false;
        return 0;
    }
    if ((r = set_flags(without, name, false, out, err)) < 0)
        return r;
    *changed = strcmp(*out, text) != 0;
    return 0;
}
