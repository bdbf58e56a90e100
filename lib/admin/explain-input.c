/* virtguard: explain's input as pasted → logical lines (explain-input.h). */
#include <config.h>

#include <ctype.h>

#include "explain-input.h"

void vg_input_clear(vg_input *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->v[i].text);
    free(in->v);
    memset(in, 0, sizeof(*in));
}

/* ---- JSON strings -------------------------------------------------------- */

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void add_utf8(vg_buf *b, unsigned cp)
{
    if (cp < 0x80) {
        vg_buf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        vg_buf_addc(b, (char)(0xc0 | (cp >> 6)));
        vg_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        vg_buf_addc(b, (char)(0xe0 | (cp >> 12)));
        vg_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        vg_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        vg_buf_addc(b, (char)(0xf0 | (cp >> 18)));
        vg_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        vg_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        vg_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
    }
}

/* One \uXXXX (with its low surrogate when it is a high one) at `p` (just
 * after the backslash).  Returns the bytes consumed, 0 when invalid. */
static size_t unicode_escape(const char *p, vg_buf *b)
{
    int hi = hex4(p + 1);
    if (hi <= 0)
        return 0;                       /* invalid, or U+0000 */
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return 0;
    if (hi < 0xd800 || hi > 0xdbff) {
        add_utf8(b, (unsigned)hi);
        return 5;
    }
    if (p[5] != '\\' || p[6] != 'u')
        return 0;
    int lo = hex4(p + 7);
    if (lo < 0xdc00 || lo > 0xdfff)
        return 0;
    add_utf8(b, 0x10000u + (((unsigned)hi - 0xd800u) << 10) + ((unsigned)lo - 0xdc00u));
    return 11;
}

char *vg_json_string_decode(const char *s, const char **end)
{
    vg_buf b = { 0 };
    if (*s != '"')
        return NULL;
    vg_buf_add(&b, "");
    for (const char *p = s + 1; *p; p++) {
        if (*p == '"') {
            if (end)
                *end = p + 1;
            return vg_buf_steal(&b);
        }
        if ((unsigned char)*p < 0x20)
            break;                      /* raw control byte: not JSON */
        if (*p != '\\') {
            vg_buf_addc(&b, *p);
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = p[1] ? strchr(from, p[1]) : NULL;
        if (k) {
            vg_buf_addc(&b, to[k - from]);
            p++;
            continue;
        }
        size_t n = p[1] == 'u' ? unicode_escape(p + 1, &b) : 0;
        if (!n)
            break;
        p += n;
    }
    vg_buf_clear(&b);
    return NULL;
}

/* Skip one JSON value at *p (whitespace around it included).  False when
 * the text there is not one complete value. */
static bool skip_value(const char **p, int depth);

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool skip_container(const char **p, int depth, char close, vg_buf *strings)
{
    (*p)++;
    skip_ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        if (close == '}') {
            const char *e;
            autofree char *key = vg_json_string_decode(*p, &e);
            if (!key)
                return false;
            *p = e;
            skip_ws(p);
            if (*(*p)++ != ':')
                return false;
        }
        skip_ws(p);
        if (**p == '"' && strings) {
            const char *e;
            autofree char *v = vg_json_string_decode(*p, &e);
            if (!v)
                return false;
            vg_buf_add(strings, v);
            vg_buf_addc(strings, '\n');
            *p = e;
        } else if (**p == '{' || **p == '[') {
            if (depth >= 32 || !skip_container(p, depth + 1, **p == '{' ? '}' : ']', strings))
                return false;
        } else if (!skip_value(p, depth)) {
            return false;
        }
        skip_ws(p);
        if (**p == close) {
            (*p)++;
            return true;
        }
        if (*(*p)++ != ',')
            return false;
        skip_ws(p);
    }
}

static bool skip_value(const char **p, int depth)
{
    skip_ws(p);
    if (**p == '"') {
        const char *e;
        autofree char *v = vg_json_string_decode(*p, &e);
        if (!v)
            return false;
        *p = e;
        return true;
    }
    if (**p == '{' || **p == '[')
        return depth < 32 && skip_container(p, depth + 1, **p == '{' ? '}' : ']', NULL);
    size_t n = strspn(*p, "0123456789+-.eEtruefalsn");
    if (!n)
        return false;
    *p += n;
    return true;
}

/* The string values of the JSON document `s` (the whole text, blanks
 * around it allowed), each followed by '\n'; NULL when `s` is not one. */
static char *json_document_strings(const char *s)
{
    vg_buf strings = { 0 };
    const char *p = s;
    vg_buf_add(&strings, "");
    skip_ws(&p);
    if ((*p != '{' && *p != '[') || !skip_container(&p, 0, *p == '{' ? '}' : ']', &strings)) {
        vg_buf_clear(&strings);
        return NULL;
    }
    skip_ws(&p);
    if (*p) {
        vg_buf_clear(&strings);
        return NULL;
    }
    return vg_buf_steal(&strings);
}

/* ---- physical lines ------------------------------------------------------ */

typedef struct phys {
    char **v;               /* each without '\n' and trailing '\r' */
    size_t n;
} phys;

static void split_physical(const char *text, size_t len, phys *out)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line = vg_xstrndup(text + pos, n);      /* stops at a NUL */
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[ll - 1] = '\0';
        *VG_APPEND(out->v, out->n) = line;
        pos += n + 1;
    }
}

static void emit(vg_input *in, const char *text, size_t n, unsigned line, unsigned n_phys,
                 bool from_message)
{
    vg_input_line *l = VG_APPEND(in->v, in->n);
    l->text = vg_xstrndup(text, n);
    l->line = line;
    l->n_physical = n_phys;
    l->from_message = from_message;
}

/* Each line of the decoded text `s` as a logical line from a message. */
static void emit_lines(vg_input *in, const char *s, unsigned line, unsigned n_phys)
{
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "\n");
        size_t m = n;
        if (m && p[m - 1] == '\r')
            m--;
        emit(in, p, m, line, n_phys, true);
        p += n + (p[n] == '\n');
    }
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\f\v")] == '\0';
}

/* ---- strings in value position ------------------------------------------- */

/* The opening '"' of the first JSON-style string in value position whose
 * text holds a \n, \" or \u escape, or NULL. */
static const char *escaped_string(const char *s)
{
    for (const char *q = strchr(s, '"'); q; q = strchr(q + 1, '"')) {
        const char *b = q;
        while (b > s && b[-1] == ' ')
            b--;
        if (b != s && b[-1] != '=' && b[-1] != ':')
            continue;
        for (const char *p = q + 1; *p && *p != '"'; p++) {
            if (*p != '\\')
                continue;
            if (p[1] == 'n' || p[1] == '"' || p[1] == 'u')
                return q;
            if (p[1])
                p++;
        }
    }
    return NULL;
}

/* Replace `s` (one logical line) by the decoded lines of its escaped
 * strings.  False when it holds none that decodes. */
static bool unwrap_strings(vg_input *in, const char *s, unsigned line, unsigned n_phys)
{
    bool any = false;
    for (const char *q = escaped_string(s); q; q = escaped_string(q)) {
        const char *end;
        autofree char *dec = vg_json_string_decode(q, &end);
        if (!dec)
            break;
        emit_lines(in, dec, line, n_phys);
        any = true;
        q = end;
        if (!*q)
            break;
    }
    return any;
}

/* ---- terminal wraps ------------------------------------------------------ */

static bool timestamp_start(const char *s)
{
    /* 2026-05-02..., 10:14:03..., May  2 ... */
    static const char *const months[] = { "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ",
                                          "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec " };
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        ((isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-') ||
         s[2] == ':'))
        return true;
    for (size_t i = 0; i < VG_N_ELEMENTS(months); i++)
        if (strncmp(s, months[i], 4) == 0)
            return true;
    return false;
}

/* Could `s` be the rest of a line a terminal cut?  Not when it begins
 * like a line of its own. */
static bool continuation_start(const char *s)
{
    static const char *const tags[] = {
        "type=", "audit", "time=", "level=", "msg=", "starting ", "lxc.",
    };
    unsigned char c = (unsigned char)s[0];
    if (!c || isspace(c) || isupper(c) || strchr("[{<(#", (char)c))
        return false;
    if (timestamp_start(s))
        return false;
    /* "PROGRAM: " or "level: " (cp:, qemu-img:, error:) begins a line */
    size_t w = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
    if (w && s[w] == ':' && s[w + 1] == ' ')
        return false;
    for (size_t i = 0; i < VG_N_ELEMENTS(tags); i++)
        if (vg_str_has_prefix(s, tags[i]))
            return false;
    /* a Seatbelt denial without its "Sandbox: " (explain-stack.c) */
    if (strstr(s, " deny("))
        return false;
    return true;
}

/* How many physical lines from `i` make one terminal-wrapped line (1: no
 * wrap). */
static size_t wrapped_run(const phys *ph, size_t i)
{
    size_t width = strlen(ph->v[i]), k = i, bytes = width;
    if (width < VG_INPUT_MIN_WIDTH)
        return 1;
    while (k + 1 < ph->n && k + 1 - i < VG_INPUT_MAX_JOIN) {
        const char *cur = ph->v[k], *next = ph->v[k + 1];
        size_t cl = strlen(cur), nl = strlen(next);
        if (cl != width || isspace((unsigned char)cur[cl - 1]) || nl > width ||
            !continuation_start(next) || bytes + nl > VG_INPUT_MAX_BYTES)
            break;
        bytes += nl;
        k++;
    }
    return k - i + 1;
}

/* ---- JSON documents and open strings over several lines ------------------ */

/* Scan lines i.. as one text (nothing between them) from byte `from` of
 * line i, in a string when `in_str`: the number of lines up to where the
 * document's brackets close (`depth` > 0) or the string closes (depth 0),
 * 0 when that is not within the bounds or text follows it on its line. */
static size_t closing_line(const phys *ph, size_t i, size_t from, bool in_str, int depth)
{
    size_t bytes = 0;
    bool esc = false;
    for (size_t k = i; k < ph->n && k - i < VG_INPUT_MAX_JOIN; k++) {
        const char *s = ph->v[k] + (k == i ? from : 0);
        if ((bytes += strlen(s)) > VG_INPUT_MAX_BYTES || (k > i && blank(s)))
            return 0;
        for (const char *p = s; *p; p++) {
            if (in_str) {
                if (esc)
                    esc = false;
                else if (*p == '\\')
                    esc = true;
                else if (*p == '"')
                    in_str = false;
                if (in_str || depth > 0)
                    continue;
                return k - i + 1;               /* the string closed */
            }
            if (*p == '"')
                in_str = true;
            else if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return blank(p + 1) ? k - i + 1 : 0;
        }
    }
    return 0;
}

static char *join(const phys *ph, size_t i, size_t n)
{
    vg_buf b = { 0 };
    vg_buf_add(&b, "");
    for (size_t k = i; k < i + n; k++)
        vg_buf_add(&b, ph->v[k]);
    return vg_buf_steal(&b);
}

/* Lines i.. as one JSON document: the number of lines and its strings, 0
 * when they are not one. */
static size_t json_run(const phys *ph, size_t i, char **strings)
{
    size_t n = closing_line(ph, i, 0, false, 0);
    autofree char *t = n ? join(ph, i, n) : NULL;
    return t && (*strings = json_document_strings(t)) ? n : 0;
}

/* The opening quote of a string in value position that line `s` leaves
 * open, or NULL. */
static const char *open_value_string(const char *s)
{
    const char *open = NULL;
    for (const char *p = s; *p; p++) {
        if (!open) {
            if (*p == '"')
                open = p;
        } else if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '"') {
            open = NULL;
        }
    }
    if (!open)
        return NULL;
    const char *b = open;
    while (b > s && b[-1] == ' ')
        b--;
    return b == s || b[-1] == '=' || b[-1] == ':' ? open : NULL;
}

/* Lines i.. joined until the string line i leaves open closes: the joined
 * text and the number of lines, 0 when it does not close. */
static size_t string_run(const phys *ph, size_t i, char **joined_out)
{
    const char *open = open_value_string(ph->v[i]);
    size_t n = open ? closing_line(ph, i, (size_t)(open - ph->v[i]) + 1, true, 0) : 0;
    if (n < 2)
        return 0;
    *joined_out = join(ph, i, n);
    return n;
}

void vg_input_split(const char *text, size_t len, vg_input *out)
{
    phys ph = { 0 };
    memset(out, 0, sizeof(*out));
    split_physical(text, len, &ph);
    out->n_physical = ph.n;

    for (size_t i = 0; i < ph.n;) {
        const char *s = ph.v[i];
        const char *first = s + strspn(s, " \t");
        unsigned lineno = (unsigned)i + 1;
        autofree char *strings = NULL;
        autofree char *joined = NULL;
        size_t n;

        if ((*first == '{' || *first == '[') && (n = json_run(&ph, i, &strings))) {
            emit_lines(out, strings, lineno, (unsigned)n);
        } else if (escaped_string(s) && (n = 1) && unwrap_strings(out, s, lineno, 1)) {
            /* one line holding whole escaped strings */
        } else if ((n = string_run(&ph, i, &joined)) > 1 &&
                   unwrap_strings(out, joined, lineno, (unsigned)n)) {
            /* an escaped string a terminal cut */
        } else {
            n = wrapped_run(&ph, i);
            autofree char *t = join(&ph, i, n);
            if (n > 1 && escaped_string(t) && unwrap_strings(out, t, lineno, (unsigned)n))
                ;
            else
                emit(out, t, strlen(t), lineno, (unsigned)n, n > 1);
        }
        i += n;
    }
    for (size_t i = 0; i < ph.n; i++)
        free(ph.v[i]);
    free(ph.v);
}
