/* virtguard: a reader for libvirt's conf syntax (src/util/virconf.c).
 *
 * Grammar, as virconf.c implements it for qemu.conf:
 *   file      := { blank | EOL | comment | statement separator }
 *   comment   := '#' up to end of line
 *   statement := key blanks '=' blanks value blanks [ comment ]
 *   separator := EOL | ';' | end of file
 *   value     := string | number | list
 *   string    := '"' chars '"' | "'" chars "'"   (one line, no escapes)
 *              | '"""' chars '"""'                (may span lines)
 *   number    := [ '+' | '-' ] digits
 *   list      := '[' { blank | EOL } [ string { ',' string } [ ',' ] ] ']'
 * virconf.c knows no backslash escapes: a backslash is an ordinary
 * character and a string simply ends at the next matching quote.  Lists of
 * anything but strings are refused (libvirt's string-list getters refuse
 * them too), as are comments inside a list (virconf.c refuses those).
 * Keys are [A-Za-z_][A-Za-z0-9_.]*, a superset of what virconf.c takes.
 */
#include <config.h>

#include <ctype.h>
#include <limits.h>

#include "confparse.h"

#define VG_CONF_MAX_SIZE (1024 * 1024)

typedef struct parser {
    const char *name;
    const char *p;
    const char *end;
    int line;
    vg_error **err;
} parser;

static bool at_end(const parser *ps) { return ps->p >= ps->end; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_eol(char c) { return c == '\n' || c == '\r'; }

/* What the cursor points at, for "got ..." in messages. */
static char *describe(const parser *ps)
{
    if (at_end(ps))
        return vg_xstrdup("end of file");
    unsigned char c = (unsigned char)*ps->p;
    if (is_eol((char)c))
        return vg_xstrdup("end of line");
    if (c == '\'')
        return vg_xstrdup("\"'\"");
    if (isprint(c))
        return vg_xasprintf("'%c'", c);
    return vg_xasprintf("byte 0x%02x", c);
}

static int perr(parser *ps, const char *fmt, ...) VG_FORMAT(2, 3);
static int perr(parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *msg = vg_xvasprintf(fmt, ap);
    va_end(ap);
    return vg_error_set(ps->err, EINVAL, "%s:%d: %s", ps->name, ps->line, msg);
}

static void skip_blanks(parser *ps)
{
    while (!at_end(ps) && is_blank(*ps->p))
        ps->p++;
}

static void skip_blanks_eol(parser *ps)
{
    while (!at_end(ps) && (is_blank(*ps->p) || is_eol(*ps->p))) {
        if (*ps->p == '\n')
            ps->line++;
        ps->p++;
    }
}

/* To the end of the line ('\n' or '\r'), with memchr: qemu.conf is 36 KB of
 * comments, and a byte loop over them was most of the hook's parse time. */
static void skip_comment(parser *ps)
{
    size_t left = (size_t)(ps->end - ps->p);
    const char *nl = memchr(ps->p, '\n', left);
    const char *cr = memchr(ps->p, '\r', nl ? (size_t)(nl - ps->p) : left);

    ps->p = cr ? cr : nl ? nl : ps->end;
}

static int parse_string(parser *ps, const char *key, char **out)
{
    const char *start;
    int start_line = ps->line;

    if ((size_t)(ps->end - ps->p) >= 3 && memcmp(ps->p, "\"\"\"", 3) == 0) {
        ps->p += 3;
        start = ps->p;
        while ((size_t)(ps->end - ps->p) >= 3 && memcmp(ps->p, "\"\"\"", 3) != 0) {
            if (*ps->p == '\n')
                ps->line++;
            ps->p++;
        }
        if ((size_t)(ps->end - ps->p) < 3) {
            ps->line = start_line;
            return perr(ps, "key '%s': unterminated string: the \"\"\" string that starts "
                        "here is never closed with \"\"\"", key);
        }
        *out = vg_xstrndup(start, (size_t)(ps->p - start));
        ps->p += 3;
        return 0;
    }

    char quote = *ps->p++;
    start = ps->p;
    while (!at_end(ps) && *ps->p != quote && !is_eol(*ps->p))
        ps->p++;
    if (at_end(ps) || *ps->p != quote)
        return perr(ps, "key '%s': unterminated string: expected a closing %s on the same line",
                    key, quote == '"' ? "'\"'" : "\"'\"");
    *out = vg_xstrndup(start, (size_t)(ps->p - start));
    ps->p++;
    return 0;
}

static int parse_number(parser *ps, const char *key, long long *out)
{
    bool neg = false;
    unsigned long long v = 0;
    unsigned long long limit = (unsigned long long)LLONG_MAX;

    if (*ps->p == '-' || *ps->p == '+') {
        neg = *ps->p == '-';
        ps->p++;
    }
    if (at_end(ps) || !isdigit((unsigned char)*ps->p)) {
        autofree char *got = describe(ps);
        return perr(ps, "key '%s': expected digits after the sign, got %s", key, got);
    }
    if (neg)
        limit++;
    while (!at_end(ps) && isdigit((unsigned char)*ps->p)) {
        unsigned d = (unsigned)(*ps->p - '0');
        if (v > (limit - d) / 10)
            return perr(ps, "key '%s': number out of range", key);
        v = v * 10 + d;
        ps->p++;
    }
    if (neg)
        *out = v == limit ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return 0;
}

static int parse_list(parser *ps, const char *key, char ***out)
{
    autostrv char **list = vg_xcalloc(1, sizeof(char *));
    int start_line = ps->line;

    ps->p++; /* '[' */
    for (;;) {
        skip_blanks_eol(ps);
        if (at_end(ps)) {
            ps->line = start_line;
            return perr(ps, "key '%s': the list that starts here is not closed with ']'", key);
        }
        if (*ps->p == ']')
            break;
        if (*ps->p == '#')
            return perr(ps, "key '%s': comments are not allowed inside a list "
                        "(libvirt's conf syntax); move it above the key", key);
        if (*ps->p != '"' && *ps->p != '\'') {
            autofree char *got = describe(ps);
            return perr(ps, "key '%s': expected a string (\"...\" or '...') or ']' in the list, got %s",
                        key, got);
        }
        char *s = NULL;
        int r = parse_string(ps, key, &s);
        if (r < 0)
            return r;
        vg_strv_push(&list, s);
        skip_blanks_eol(ps);
        if (!at_end(ps) && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (!at_end(ps) && *ps->p == ']')
            break;
        if (at_end(ps)) {
            ps->line = start_line;
            return perr(ps, "key '%s': the list that starts here is not closed with ']'", key);
        }
        autofree char *got = describe(ps);
        return perr(ps, "key '%s': expected ',' or ']' after a list element, got %s", key, got);
    }
    ps->p++; /* ']' */
    *out = steal_pointer(&list);
    return 0;
}

static int parse_value(parser *ps, vg_conf_entry *e)
{
    if (!at_end(ps) && (*ps->p == '"' || *ps->p == '\'')) {
        e->type = VG_CONF_STRING;
        return parse_string(ps, e->key, &e->str);
    }
    if (!at_end(ps) && *ps->p == '[') {
        e->type = VG_CONF_LIST;
        return parse_list(ps, e->key, &e->list);
    }
    if (!at_end(ps) && (isdigit((unsigned char)*ps->p) || *ps->p == '-' || *ps->p == '+')) {
        e->type = VG_CONF_INT;
        return parse_number(ps, e->key, &e->num);
    }
    autofree char *got = describe(ps);
    return perr(ps, "key '%s': expected a value (a \"string\", a number or a [ list ]), got %s",
                e->key, got);
}

static bool is_key_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_key_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

static void entry_clear(vg_conf_entry *e)
{
    free(e->key);
    free(e->str);
    vg_strv_free(e->list);
}

/* One statement; the cursor is at its first character. */
static int parse_statement(parser *ps, vg_conf *conf)
{
    if (!is_key_start(*ps->p)) {
        autofree char *got = describe(ps);
        return perr(ps, "expected a key name (letters, digits, '_' and '.', starting with a "
                    "letter or '_') or a '#' comment, got %s", got);
    }
    const char *k = ps->p;
    while (!at_end(ps) && is_key_char(*ps->p))
        ps->p++;

    vg_conf_entry e = { 0 };
    e.key = vg_xstrndup(k, (size_t)(ps->p - k));
    e.line = ps->line;

    skip_blanks(ps);
    if (at_end(ps) || *ps->p != '=') {
        autofree char *got = describe(ps);
        int r = perr(ps, "expected '=' after key '%s', got %s", e.key, got);
        entry_clear(&e);
        return r;
    }
    ps->p++;
    skip_blanks(ps);
    int r = parse_value(ps, &e);
    if (r < 0) {
        entry_clear(&e);
        return r;
    }
    skip_blanks(ps);
    if (!at_end(ps) && *ps->p == '#')
        skip_comment(ps);
    if (!at_end(ps) && !is_eol(*ps->p) && *ps->p != ';') {
        autofree char *got = describe(ps);
        r = perr(ps, "key '%s': expected a newline or ';' after the value, got %s", e.key, got);
        entry_clear(&e);
        return r;
    }
    if (!at_end(ps) && *ps->p == ';')
        ps->p++;
    *VG_APPEND(conf->entries, conf->n_entries) = e;
    return 0;
}

int vg_conf_parse(const char *text, size_t len, const char *name, vg_conf **out, vg_error **err)
{
    vg_conf *conf = NULL;
    parser ps = { .name = name ? name : "<string>", .p = text, .end = text + len,
                  .line = 1, .err = err };

    *out = NULL;
    if (len > VG_CONF_MAX_SIZE)
        return vg_error_set(err, EFBIG, "%s: larger than 1 MiB; this is not a config file",
                            ps.name);
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        for (const char *q = text; q < nul; q++)
            if (*q == '\n')
                ps.line++;
        return perr(&ps, "embedded NUL byte; the file is not text");
    }

    conf = vg_xcalloc(1, sizeof(*conf));
    conf->name = vg_xstrdup(ps.name);
    for (;;) {
        skip_blanks_eol(&ps);
        if (at_end(&ps))
            break;
        if (*ps.p == '#') {
            skip_comment(&ps);
            continue;
        }
        int r = parse_statement(&ps, conf);
        if (r < 0) {
            vg_conf_free(conf);
            return r;
        }
    }
    *out = conf;
    return 0;
}

int vg_conf_read_text(const char *path, char **text, size_t *len, vg_error **err)
{
    int r = vg_read_file(path, VG_CONF_MAX_SIZE, text, len);
    if (r == -ENOENT)
        return r;
    if (r == -EFBIG)
        return vg_error_set(err, EFBIG, "%s: larger than 1 MiB; this is not a config file", path);
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", path);
    return 0;
}

int vg_conf_read(const char *path, vg_conf **out, vg_error **err)
{
    autofree char *text = NULL;
    size_t len = 0;

    *out = NULL;
    int r = vg_conf_read_text(path, &text, &len, err);
    if (r == -ENOENT)
        return vg_error_set_errno(err, ENOENT, "cannot read '%s'", path);
    if (r < 0)
        return r;
    return vg_conf_parse(text, len, path, out, err);
}

/* The first entry wins, as libvirt's virConfGetValue() does. */
int vg_conf_entry_error(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *msg = vg_xvasprintf(fmt, ap);
    va_end(ap);
    return vg_error_set(err, EINVAL, "%s:%d: key '%s': %s", conf->name, e->line, e->key, msg);
}

const vg_conf_entry *vg_conf_get(const vg_conf *conf, const char *key)
{
    if (!conf)
        return NULL;
    for (size_t i = 0; i < conf->n_entries; i++)
        if (strcmp(conf->entries[i].key, key) == 0)
            return &conf->entries[i];
    return NULL;
}

const char *vg_conf_type_name(vg_conf_type t)
{
    switch (t) {
    case VG_CONF_STRING:
        return "string";
    case VG_CONF_INT:
        return "number";
    case VG_CONF_LIST:
        return "list";
    }
    return "unknown";
}

void vg_conf_free(vg_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n_entries; i++)
        entry_clear(&conf->entries[i]);
    free(conf->entries);
    free(conf->name);
    free(conf);
}
