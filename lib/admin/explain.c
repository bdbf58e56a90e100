/* virtguard: log lines → causes → narrow fixes (see explain.h). */
#include <config.h>

#include <ctype.h>

#include "aa-escape.h"
#include "aa-profile.h"
#include "explain-input.h"
#include "explain.h"
#include "lima.h"

/* ------------------------------------------------------------------ */
/* Audit records */

/* Keys whose values the kernel writes with audit_log_untrustedstring():
 * quoted, or hex-encoded when they hold a space, '"' or a control byte. */
static const char *const hex_keys[] = {
    "name", "name2", "profile", "comm", "target", "peer", "exe", "label", "srcname",
};

static bool is_hex_key(const char *key)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(hex_keys); i++)
        if (strcmp(hex_keys[i], key) == 0)
            return true;
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The kernel hex-encodes only strings holding one of these bytes; a token
 * that decodes to none of them was never hex (ausearch -i prints decoded
 * values unquoted, and "cafe" is a fine file name). */
static char *try_hex(const char *s, size_t n)
{
    bool needs = false;
    if (n < 2 || n % 2)
        return NULL;
    vg_buf b = { 0 };
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            vg_buf_clear(&b);
            return NULL;
        }
        unsigned char c = (unsigned char)(hi * 16 + lo);
        if (c == 0) {
            vg_buf_clear(&b);
            return NULL;
        }
        if (c == '"' || c < 0x21 || c > 0x7e)
            needs = true;
        vg_buf_addc(&b, (char)c);
    }
    if (!needs) {
        vg_buf_clear(&b);
        return NULL;
    }
    return vg_buf_steal(&b);
}

/* ---- the record's grammar -------------------------------------------
 *
 *   line   = [ time HOST TAG ] [ "[" STAMP "]" ] head fields
 *   time   = MON DD HH:MM:SS[.frac] | ISO-8601 | "[" STAMP "]"
 *   TAG    = one of line_tags[]: who wrote the line (the kernel, the audit
 *            daemon's journal source); any other program's line is never
 *            a record, whatever text it quotes
 *   head   = one of record_heads[]
 *   fields = key=value { SP+ key=value }, key [a-z0-9_]+, value a quoted
 *            string (no '"' inside: the kernel hex-encodes such strings) or
 *            a run of bytes other than space and '"'; a record ends at the
 *            line's end or at auditd's 0x1d (its enriched part)
 *
 * New line forms are one entry in line_tags[] or record_heads[]. */

/* Syslog and journal tags of the writers whose lines may be records. */
static const char *const line_tags[] = {
    "kernel:",          /* syslog, journalctl -k: "HOST kernel: audit: ..." */
    "audit[#]:",        /* journald's audit source: "HOST audit[1331]: AVC ..." */
    "audit:",           /* journald's audit source without a pid */
};

/* Record heads, as patterns: '#' a decimal number, '@' an audit stamp
 * ("1700000000.123:45", ausearch -i's "11/14/2023 10:00:00.100:12"), 'W'
 * a record type ("AVC", "1400"), every other byte itself. */
static const char *const record_heads[] = {
    "audit: type=# audit(@): ",     /* the kernel's printk (dmesg, journal) */
    "type=W msg=audit(@): ",        /* auditd's audit.log */
    "type=W msg=audit(@) : ",       /* ausearch -i */
    "AVC ",                         /* journald's audit source */
};

/* Match `pat` at *p; on success advance *p past it. */
static bool match_pattern(const char **p, const char *pat)
{
    const char *s = *p;
    for (; *pat; pat++) {
        size_t n = 0;
        switch (*pat) {
        case '#':
            while (isdigit((unsigned char)s[n]))
                n++;
            break;
        case 'W':
            while (isupper((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '_')
                n++;
            break;
        case '@':
            while (isdigit((unsigned char)s[n]) || (s[n] && strchr(".:/ ", s[n])))
                n++;
            break;
        default:
            n = *s == *pat ? 1 : 0;
        }
        if (!n)
            return false;
        s += n;
    }
    *p = s;
    return true;
}

static bool match_any(const char **p, const char *const *pats, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (match_pattern(p, pats[i]))
            return true;
    return false;
}

static const char *const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* One space-free token of at least one byte, and the spaces after it. */
static bool token(const char **p, bool (*ok)(char c))
{
    const char *s = *p;
    while (*s && *s != ' ' && (!ok || ok(*s)))
        s++;
    if (s == *p || (*s && *s != ' '))
        return false;
    while (*s == ' ')
        s++;
    *p = s;
    return true;
}

static bool time_char(char c) { return isdigit((unsigned char)c) || strchr(":.+-TZ", c); }

/* "[" STAMP "]" and the spaces after it: dmesg's "[   12.345678]",
 * dmesg -T's "[Sat May  2 10:14:03 2026]". */
static bool bracket_stamp(const char **p)
{
    const char *s = *p;
    if (*s++ != '[')
        return false;
    while (isalnum((unsigned char)*s) || (*s && strchr(" .:+-", *s)))
        s++;
    if (*s++ != ']' || *s != ' ')
        return false;
    while (*s == ' ')
        s++;
    *p = s;
    return true;
}

/* time HOST TAG */
static bool syslog_head(const char **p)
{
    const char *s = *p;
    bool timed = false;
    for (size_t i = 0; i < VG_N_ELEMENTS(months) && !timed; i++)
        if (strncmp(s, months[i], 3) == 0 && s[3] == ' ') {
            s += 4;
            while (*s == ' ')
                s++;
            timed = token(&s, time_char) && token(&s, time_char);
        }
    if (!timed) {
        s = *p;
        timed = isdigit((unsigned char)*s) ? token(&s, time_char) : bracket_stamp(&s);
    }
    if (!timed || !token(&s, NULL))     /* HOST */
        return false;
    const char *tag = s;
    if (!token(&s, NULL))
        return false;
    for (size_t i = 0; i < VG_N_ELEMENTS(line_tags); i++) {
        const char *t = tag;
        if (match_pattern(&t, line_tags[i]) && (*t == ' ' || !*t)) {
            *p = s;
            return true;
        }
    }
    return false;
}

/* Where the fields of the audit record `line` begin, or NULL when the line
 * is not one. */
static const char *record_fields(const char *line)
{
    const char *starts[2] = { line, line };
    bool ok = syslog_head(&starts[0]);
    for (size_t i = ok ? 0 : 1; i < 2; i++) {
        const char *p = starts[i];
        (void)bracket_stamp(&p);
        if (match_any(&p, record_heads, VG_N_ELEMENTS(record_heads)))
            return p;
    }
    return NULL;
}

typedef struct audit_field {
    const char *key, *value;    /* into the record's text */
    size_t key_len, value_len;
    bool quoted;
} audit_field;

#define MAX_FIELDS 64

/* Split `p` into key=value fields.  Returns their number, or -1 when `p`
 * is not a field list (a token that is not key=value, a value running into
 * the next token, a key given twice, too many fields). */
static ssize_t split_fields(const char *p, audit_field *f)
{
    size_t n = 0;
    while (*p == ' ')
        p++;
    while (*p && *p != '\x1d') {
        audit_field a = { .key = p };
        while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
            p++;
        a.key_len = (size_t)(p - a.key);
        if (!a.key_len || *p++ != '=' || n == MAX_FIELDS)
            return -1;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (!end)
                return -1;
            a.quoted = true;
            a.value = p + 1;
            a.value_len = (size_t)(end - p - 1);
            p = end + 1;
        } else {
            a.value = p;
            while (*p && *p != ' ' && *p != '"' && *p != '\x1d')
                p++;
            a.value_len = (size_t)(p - a.value);
        }
        if (*p && *p != ' ' && *p != '\x1d')
            return -1;
        for (size_t i = 0; i < n; i++)
            if (f[i].key_len == a.key_len && memcmp(f[i].key, a.key, a.key_len) == 0)
                return -1;
        f[n++] = a;
        while (*p == ' ')
            p++;
    }
    return (ssize_t)n;
}

/* The decoded value of one field: quoted as written, unquoted hex decoded
 * for the untrusted-string keys. */
static char *field_value(const audit_field *a)
{
    if (!a->quoted) {
        autofree char *key = vg_xstrndup(a->key, a->key_len);
        char *dec = is_hex_key(key) ? try_hex(a->value, a->value_len) : NULL;
        if (dec)
            return dec;
    }
    return vg_xstrndup(a->value, a->value_len);
}

typedef struct audit_record {
    audit_field f[MAX_FIELDS];
    size_t n;
} audit_record;

/* Parse `text` as an audit record (a whole line, or a field list alone).
 * False when it is neither. */
static bool parse_record(const char *text, bool fields_alone, audit_record *r)
{
    const char *p = record_fields(text);
    if (!p && fields_alone)
        p = text;
    ssize_t n = p ? split_fields(p, r->f) : -1;
    r->n = n < 0 ? 0 : (size_t)n;
    return n >= 0;
}

static char *record_get(const audit_record *r, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].key_len == kl && memcmp(r->f[i].key, key, kl) == 0)
            return field_value(&r->f[i]);
    return NULL;
}

char *vg_audit_field(const char *record, const char *key)
{
    audit_record r;
    return parse_record(record, true, &r) ? record_get(&r, key) : NULL;
}

static long long audit_num(const audit_record *r, const char *key)
{
    autofree char *v = record_get(r, key);
    char *end;
    if (!v || !*v)
        return -1;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno || *end || n < 0 ? -1 : n;
}

char *vg_aa_perms_from_mask(const char *mask)
{
    bool r = false, w = false, a = false, l = false, k = false, m = false, x = false;
    for (const char *p = mask ? mask : ""; *p; p++) {
        switch (*p) {
        case 'r': r = true; break;
        case 'w': case 'c': case 'd': w = true; break;
        case 'a': a = true; break;
        case 'l': l = true; break;
        case 'k': k = true; break;
        case 'm': m = true; break;
        case 'x': x = true; break;
        default: break;
        }
    }
    return vg_xasprintf("%s%s%s%s%s%s", r ? "r" : "", w ? "w" : (a ? "a" : ""), l ? "l" : "",
                        k ? "k" : "", m ? "m" : "", x ? "ix" : "");
}

/* ------------------------------------------------------------------ */
/* libvirt / QEMU error lines */

static char *trimmed(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return vg_xstrndup(s, n);
}

static char *rtrimmed(const char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return vg_xstrndup(s, n);
}

/* The last occurrence of `needle` in `hay`, or NULL. */
static const char *last_of(const char *hay, const char *needle)
{
    const char *found = NULL;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        found = p;
    return found;
}

/* 'PATH'(tail) where tail is one of "' (as uid:", "': ", "'" at the end:
 * paths may hold quotes, so the closing quote is the one the fixed text
 * after it identifies. */
static void parse_quoted_then_error(vg_explain_event *e, const char *start)
{
    const char *as = strstr(start, "' (as uid:");
    const char *colon = last_of(start, "': ");
    const char *end = as ? as : colon;
    if (!end) {
        size_t n = strlen(start);
        e->path = vg_xstrndup(start, n && start[n - 1] == '\'' ? n - 1 : n);
        return;
    }
    e->path = vg_xstrndup(start, (size_t)(end - start));
    if (as) {
        unsigned long u, g;
        if (sscanf(as, "' (as uid:%lu, gid:%lu)", &u, &g) == 2) {
            e->as_uid = (long long)u;
            e->as_gid = (long long)g;
        }
        const char *err = strstr(as, "): ");
        if (err)
            e->error = trimmed(err + 3);
    } else {
        e->error = trimmed(colon + 3);
    }
}

static void parse_hook(vg_explain_event *e, const char *line)
{
    const char *cp = strstr(line, "Child process (");
    const char *st = cp ? strstr(cp, ") unexpected exit status ") : NULL;
    if (cp && st) {
        autofree char *inside = vg_xstrndup(cp + 15, (size_t)(st - cp - 15));
        autostrv char **tok = NULL;
        for (char *save = NULL, *t = strtok_r(inside, " ", &save); t; t = strtok_r(NULL, " ", &save))
            vg_strv_push(&tok, vg_xstrdup(t));
        size_t n = vg_strv_len(tok), i = 0;
        while (i < n && strchr(tok[i], '=') && tok[i][0] != '/')
            i++;
        if (n >= i + 5) {
            vg_buf b = { 0 };
            e->hook = vg_xstrdup(tok[i]);
            for (size_t k = i + 1; k < n - 3; k++)
                vg_buf_printf(&b, "%s%s", k > i + 1 ? " " : "", tok[k]);
            e->domain = vg_buf_steal(&b);
            e->hook_op = vg_xasprintf("%s %s", tok[n - 3], tok[n - 2]);
        }
        const char *msg = strchr(st + 25, ':');
        e->hook_message = trimmed(msg ? msg + 1 : "");
    } else {
        const char *msg = strstr(line, "Hook script execution failed");
        msg += strlen("Hook script execution failed");
        e->hook_message = trimmed(*msg == ':' ? msg + 1 : msg);
    }
}

static char *quoted_after(const char *line, const char *marker)
{
    const char *p = strstr(line, marker);
    if (!p)
        return NULL;
    p += strlen(marker);
    const char *end = strrchr(p, '\'');
    return end && end > p ? vg_xstrndup(p, (size_t)(end - p)) : NULL;
}

/* libvirt's virFileSetXAttr/GetXAttr/RemoveXAttr (src/util/virfile.c):
 * "Unable to set XATTR %s on %s" + ": strerror".  The start of the message. */
static const char *xattr_error(const char *line)
{
    static const char *const verbs[] = {
        "Unable to set XATTR ", "Unable to get XATTR ", "Unable to remove XATTR ",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(verbs); i++) {
        const char *p = strstr(line, verbs[i]);
        if (p)
            return p;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */

static void event_clear(vg_explain_event *e)
{
    free(e->domain);
    free(e->path);
    free(e->error);
    free(e->aa_result);
    free(e->operation);
    free(e->profile);
    free(e->comm);
    free(e->requested_mask);
    free(e->denied_mask);
    free(e->backing_of);
    free(e->hook);
    free(e->hook_op);
    free(e->hook_message);
    free(e->xattr);
}

void vg_explain_log_free(vg_explain_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        event_clear(&l->v[i]);
    free(l->v);
    vg_stack_log_clear(&l->stack);
    free(l);
}

static vg_explain_event *new_event(vg_explain_log *l, vg_event_kind kind, unsigned line,
                                   const char *context)
{
    vg_explain_event *e = VG_APPEND(l->v, l->n);
    e->kind = kind;
    e->line = line;
    e->fsuid = e->ouid = e->as_uid = e->as_gid = -1;
    e->domain = context ? vg_xstrdup(context) : NULL;
    return e;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Any other program's "Permission denied" about a quoted absolute path:
 * the images' writer failing on a file (Python's "[Errno 13] Permission
 * denied: '/p'", coreutils' "cannot open '/p' for reading: Permission
 * denied", qemu-img's own "Could not open" is VG_EV_OPEN already). */
static bool parse_writer_denied(vg_explain_log *l, const char *line, unsigned lineno,
                                const char *context)
{
    if (!strstr(line, "Permission denied"))
        return false;
    for (const char *q = strchr(line, '\''); q; q = strchr(q + 1, '\'')) {
        const char *end = q[1] == '/' ? strchr(q + 1, '\'') : NULL;
        if (!end)
            continue;
        vg_explain_event *e = new_event(l, VG_EV_WRITER_DENIED, lineno, context);
        e->path = vg_xstrndup(q + 1, (size_t)(end - q - 1));
        e->error = vg_xstrdup("Permission denied");
        return true;
    }
    return false;
}

/* Replace *field by its shown form (vg_buf_add_shown; '\\' doubled, LF
 * kept only in `lines`); true when that changed it. */
static bool show_field(char **field, bool lines)
{
    if (!*field || (vg_str_is_shown_as_is(*field) && !lines))
        return false;
    vg_buf b = { 0 };
    vg_buf_add_shown(&b, *field, VG_SHOW_BACKSLASH | (lines ? VG_SHOW_LINES : 0));
    bool changed = strcmp(b.s, *field) != 0;
    free(*field);
    *field = vg_buf_steal(&b);
    return changed;
}

/* Every text an event took from the input becomes its shown form, so no
 * message, rule or report can carry a control or format character, and no
 * value can begin a line.  A file or profile name that had to change is
 * not the name of anything a rule could grant: `unshown` is set. */
static void show_event(vg_explain_event *e)
{
    e->unshown |= show_field(&e->path, false);
    e->unshown |= show_field(&e->profile, false);
    e->unshown |= show_field(&e->backing_of, false);
    e->unshown |= show_field(&e->domain, false);
    show_field(&e->error, false);
    show_field(&e->aa_result, false);
    show_field(&e->operation, false);
    show_field(&e->comm, false);
    show_field(&e->requested_mask, false);
    show_field(&e->denied_mask, false);
    show_field(&e->hook, false);
    show_field(&e->hook_op, false);
    show_field(&e->hook_message, true);
    show_field(&e->xattr, false);
}

/* A kernel AppArmor record (an audit record with an "apparmor" field),
 * read by its grammar only. */
static bool parse_apparmor(vg_explain_log *l, const char *line, unsigned lineno)
{
    audit_record r;
    autofree char *result = NULL;
    if (!parse_record(line, false, &r) || !(result = record_get(&r, "apparmor")))
        return false;
    vg_explain_event *e = new_event(l, VG_EV_APPARMOR, lineno, NULL);
    e->aa_result = steal_pointer(&result);
    e->operation = record_get(&r, "operation");
    e->profile = record_get(&r, "profile");
    e->path = record_get(&r, "name");
    e->comm = record_get(&r, "comm");
    e->requested_mask = record_get(&r, "requested_mask");
    e->denied_mask = record_get(&r, "denied_mask");
    e->error = record_get(&r, "info");
    e->fsuid = audit_num(&r, "fsuid");
    e->ouid = audit_num(&r, "ouid");
    return true;
}

/* "Cannot access backing file 'B' of storage file 'S' (as uid:U, gid:G):
 * ERROR", from just after the first quote. */
static void parse_backing_error(vg_explain_event *e, const char *start)
{
    const char *of = strstr(start, "' of storage file '");
    if (of) {
        e->path = vg_xstrndup(start, (size_t)(of - start));
        vg_explain_event tmp = { .as_uid = -1, .as_gid = -1 };
        parse_quoted_then_error(&tmp, of + strlen("' of storage file '"));
        e->backing_of = steal_pointer(&tmp.path);
        e->error = steal_pointer(&tmp.error);
        e->as_uid = tmp.as_uid;
        e->as_gid = tmp.as_gid;
    } else {
        parse_quoted_then_error(e, start);
    }
}

/* The XATTR name, file and error of an xattr_error() line, from `p`. */
static void parse_xattr(vg_explain_event *e, const char *p)
{
    const char *name = strstr(p, " XATTR ") + strlen(" XATTR ");
    const char *on = strstr(name, " on ");
    if (on) {
        e->xattr = vg_xstrndup(name, (size_t)(on - name));
        const char *path = on + 4;
        const char *colon = last_of(path, ": ");
        e->path = colon ? vg_xstrndup(path, (size_t)(colon - path)) : trimmed(path);
        e->error = colon ? trimmed(colon + 2) : NULL;
    }
}

/* One of libvirt's file errors (storage file, backing file, open, xattr)
 * becomes an event; false when `line` is none of them. */
static bool parse_libvirt_error(vg_explain_log *l, const char *line, unsigned lineno,
                                const char *context)
{
    const char *p;
    if ((p = strstr(line, "Cannot access storage file '"))) {
        vg_explain_event *e = new_event(l, VG_EV_STORAGE, lineno, context);
        parse_quoted_then_error(e, p + strlen("Cannot access storage file '"));
        return true;
    }
    if ((p = strstr(line, "Cannot access backing file '"))) {
        vg_explain_event *e = new_event(l, VG_EV_STORAGE, lineno, context);
        parse_backing_error(e, p + strlen("Cannot access backing file '"));
        return true;
    }
    if ((p = strstr(line, "Could not open '"))) {
        vg_explain_event *e = new_event(l, VG_EV_OPEN, lineno, context);
        parse_quoted_then_error(e, p + strlen("Could not open '"));
        return true;
    }
    if ((p = xattr_error(line))) {
        vg_explain_event *e = new_event(l, VG_EV_XATTR, lineno, context);
        parse_xattr(e, p);
        return true;
    }
    return false;
}

/* The domain a "Failed to start domain" line names, or NULL. */
static char *failed_start_name(const char *line)
{
    char *name = quoted_after(line, "Failed to start domain '");
    if (!name) {
        /* newer virsh: "Failed to start domain NAME"; anything else
         * ("...domain'x'", "...domain" at the end) names none */
        const char *q = strstr(line, "Failed to start domain ");
        if (q)
            name = trimmed(q + strlen("Failed to start domain "));
    }
    return name;
}

vg_explain_log *vg_explain_parse(const char *text, size_t len)
{
    vg_explain_log *l = vg_xcalloc(1, sizeof(*l));
    autofree char *context = NULL;     /* domain of "Failed to start domain" */
    ssize_t hook = -1;                 /* event taking continuation lines */
    vg_input in;

    vg_input_split(text, len, &in);
    l->n_lines = in.n_physical;
    for (size_t i = 0; i < in.n; i++) {
        const char *line = in.v[i].text;
        unsigned lineno = in.v[i].line;

        if (blank(line)) {
            l->n_blank++;
            free(steal_pointer(&context));
            hook = -1;
            continue;
        }
        l->stack.line_from_message = in.v[i].from_message;
        if (vg_stack_parse_line(&l->stack, line, lineno)) {
            hook = -1;
            continue;
        }
        /* a kernel record is one physical line as the kernel wrote it:
         * never text joined or unwrapped from a message */
        if (!in.v[i].from_message && parse_apparmor(l, line, lineno)) {
            hook = -1;
            continue;
        }
        if (strstr(line, "Hook script execution failed")) {
            vg_explain_event *e = new_event(l, VG_EV_HOOK, lineno, context);
            free(steal_pointer(&e->domain));
            parse_hook(e, line);
            if (!e->domain && context)
                e->domain = vg_xstrdup(context);
            hook = (ssize_t)(l->n - 1);
            continue;
        }
        if (parse_libvirt_error(l, line, lineno, context)) {
            hook = -1;
            continue;
        }
        if (strstr(line, "Failed to start domain")) {
            free(context);
            context = failed_start_name(line);
            l->n_context++;
            hook = -1;
            continue;
        }
        if (hook >= 0 && !vg_str_has_prefix(line, "error: ")) {
            /* the hook's stderr goes on over several lines (virsh starts
             * each new error with "error: ") */
            vg_explain_event *e = &l->v[hook];
            autofree char *old = e->hook_message;
            autofree char *t = rtrimmed(line);
            e->hook_message = vg_xasprintf("%s%s%s", old ? old : "", old && *old ? "\n" : "", t);
            l->n_context++;
            continue;
        }
        if (parse_writer_denied(l, line, lineno, context))
            continue;
        l->n_unknown++;
    }
    vg_input_clear(&in);
    for (size_t i = 0; i < l->n; i++)
        show_event(&l->v[i]);
    vg_stack_show(&l->stack);
    return l;
}

/* An AppArmor record of a file owned by another uid than the process's:
 * file permissions (DAC) may refuse it once AppArmor allows it. */
static bool other_owner(const vg_explain_event *e)
{
    return e->kind == VG_EV_APPARMOR && e->path && e->path[0] == '/' && e->fsuid > 0 &&
           e->ouid >= 0 && e->ouid != e->fsuid;
}

char **vg_explain_paths(const vg_explain_log *log)
{
    char **v = vg_xcalloc(1, sizeof(*v));     /* never NULL */
    for (size_t i = 0; i < log->n; i++) {
        const vg_explain_event *e = &log->v[i];
        if ((e->kind == VG_EV_STORAGE || e->kind == VG_EV_OPEN || e->kind == VG_EV_XATTR ||
             e->kind == VG_EV_WRITER_DENIED || other_owner(e)) && e->path && !e->unshown &&
            e->path[0] == '/' && !vg_strv_contains(v, e->path))
            vg_strv_push(&v, vg_xstrdup(e->path));
    }
    return v;
}

/* ------------------------------------------------------------------ */
/* Judgement */

static const char *name_of(const vg_explain_facts *f, const char *uuid)
{
    for (size_t i = 0; uuid && i < f->n_names; i++)
        if (strcasecmp(f->names[i].uuid, uuid) == 0)
            return f->names[i].name;
    return NULL;
}

static const vg_file_fact *file_of(const vg_explain_facts *f, const char *path)
{
    for (size_t i = 0; path && i < f->n_files; i++)
        if (strcmp(f->files[i].path, path) == 0)
            return &f->files[i];
    return NULL;
}

/* The configured root (shared mount or extra root) holding `path`. */
static const char *managed_root(const vg_config *cfg, const char *path, bool *shared)
{
    autofree char *norm = path ? vg_path_normalize(path) : NULL;
    if (!cfg || !norm)
        return NULL;
    for (size_t i = 0; cfg->shared_mounts[i]; i++)
        if (vg_path_is_under(norm, cfg->shared_mounts[i])) {
            if (shared)
                *shared = true;
            return cfg->shared_mounts[i];
        }
    for (size_t i = 0; cfg->extra_roots && cfg->extra_roots[i]; i++)
        if (vg_path_is_under(norm, cfg->extra_roots[i])) {
            if (shared)
                *shared = false;
            return cfg->extra_roots[i];
        }
    return NULL;
}

static const char *conf_name(const vg_explain_facts *f)
{
    return f->config_path ? f->config_path : vg_config_default_path();
}

/* Parent directory of `path` as a string ("/" for top-level files). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash != path ? vg_xstrndup(path, (size_t)(slash - path)) : vg_xstrdup("/");
}

static char *who(const char *domain, const char *uuid)
{
    if (domain)
        return vg_xasprintf("domain '%s'", domain);
    if (uuid)
        return vg_xasprintf("domain with UUID '%s' (not known to libvirt here)", uuid);
    return vg_xstrdup("unknown domain");
}

typedef struct judge {
    const vg_explain_log *log;
    const vg_explain_facts *f;
    vg_checklist *out;
    char **keys;            /* dedup keys, parallel to out->v */
} judge;

/* A new check unless an identical problem was reported: then count it. */
static vg_check *add(judge *j, const char *key, vg_check_status st, const char *cause,
                     const vg_explain_event *e, const char *title)
{
    size_t n = vg_strv_len(j->keys);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(j->keys[i], key) == 0) {
            vg_check *c = &j->out->v[i];
            const char *cnt = vg_check_attr_get(c, "count");
            vg_check_attr_number(c, "count", (cnt ? strtol(cnt, NULL, 10) : 1) + 1);
            return NULL;
        }
    }
    vg_strv_push(&j->keys, vg_xstrdup(key));
    vg_check *c = vg_checklist_add(j->out, st, "explain", "line %u: %s", e->line, title);
    vg_check_attr_number(c, "line", e->line);
    vg_check_attr_set(c, "cause", "%s", cause);
    return c;
}

/* A QEMU file denial for a path that is not among the files libvirt's XML
 * gives the domain (vg_explain_facts.domains).  Returns the new check, or
 * NULL for a repeat. */
static vg_check *judge_not_its_file(judge *j, const vg_explain_event *e, const char *key,
                                    const char *whom, const char *verb, const char *perms,
                                    const char *uuid)
{
    const vg_explain_facts *f = j->f;
    const vg_domain_files *own = vg_domain_files_find(f->domains, f->n_domains, uuid);
    const vg_domain_files *owner = NULL;
    vg_check *c;

    for (size_t i = 0; i < f->n_domains && !owner; i++)
        if (&f->domains[i] != own && vg_domain_files_has(&f->domains[i], e->path))
            owner = &f->domains[i];

    if (own && own->chainless_disk) {
        /* its definition lists no backing chain: the file may be in it */
        autofree char *title = vg_xasprintf("%s: AppArmor %s QEMU '%s' access to '%s', which "
                                            "its definition does not name", whom, verb, perms,
                                            e->path);
        if (!(c = add(j, key, VG_CHECK_FAIL, "apparmor", e, title)))
            return NULL;
        vg_check_detail(c, "'%s' lists no backing chain for disk '%s' (the domain is not "
                           "running), so '%s' may be one of its backing files.", own->source,
                        own->chainless_disk, e->path);
        if (owner)
            vg_check_detail(c, "It is a file of domain '%s' ('%s').",
                            owner->name ? owner->name : "?", owner->source);
        /* no rule text: the file is not one the definition names */
        vg_check_fix(c, "check with 'qemu-img info --backing-chain %s'. Only if '%s' is in that "
                        "chain does the domain need it; virtguard's hook and helper put "
                        "backing files' rules in place at every start ('virtguard doctor' checks "
                        "them). Otherwise the denial is confinement doing its job.",
                     own->chainless_disk, e->path);
        return c;
    }
    autofree char *title = own ? vg_xasprintf("%s: AppArmor %s QEMU '%s' access to '%s': "
                                              "intended, it is not one of this domain's files",
                                              whom, verb, perms, e->path)
                               : vg_xasprintf("%s: AppArmor %s QEMU '%s' access to '%s'; the "
                                              "domain's definition was not found", whom, verb,
                                              perms, e->path);
    if (!(c = add(j, key, own ? VG_CHECK_INFO : VG_CHECK_WARN,
                  own ? "apparmor-intended" : "apparmor", e, title)))
        return NULL;
    if (own)
        vg_check_detail(c, "Neither the disks nor any other file in '%s', backing chains "
                           "included, is '%s': AppArmor keeps this domain's QEMU away from "
                           "files it was not given, as it should.", own->source, e->path);
    else
        vg_check_detail(c, "No libvirt XML file here defines the domain with UUID '%s' (%s), "
                           "so virtguard cannot tell whether '%s' is one of its files.", uuid,
                        f->domains_from ? f->domains_from : "libvirt's XML directories",
                        e->path);
    if (owner)
        vg_check_detail(c, "'%s' is a file of domain '%s' ('%s').", e->path,
                        owner->name ? owner->name : "?", owner->source);
    else
        vg_check_detail(c, "No domain defined here uses '%s'.", e->path);
    if (own)
        vg_check_fix(c, "none: virtguard proposes no rule for a file the domain does not use. "
                        "If the domain should use it, add it to the domain's definition "
                        "('virsh edit %s'); virtguard then grants it at the next start.",
                     own->name ? own->name : "DOMAIN");
    else
        vg_check_fix(c, "none: virtguard proposes no rule for a file it cannot tie to the "
                        "domain. 'virsh dumpxml' of the domain shows its files; run 'virtguard "
                        "explain' where libvirt's XML files are (or with --libvirt-config-dir "
                        "and --libvirt-run-dir).");
    if (owner && owner->name)
        vg_check_attr_set(c, "owner", "%s", owner->name);
    return c;
}

/* A denial of libvirt's virt-aa-helper (its own profile, not a domain's):
 * what it means and where virtguard takes over; never a rule.  The new
 * check, or NULL for a repeat. */
static vg_check *judge_aa_helper(judge *j, const vg_explain_event *e, const char *key,
                                 vg_check_status st, const char *verb, const char *perms)
{
    const vg_explain_facts *f = j->f;
    vg_check *c;
    autofree char *title = vg_xasprintf("AppArmor %s libvirt's virt-aa-helper '%s' access to "
                                        "'%s'", verb, e->requested_mask ? e->requested_mask
                                                                        : perms,
                                        e->path ? e->path : "?");
    if (!(c = add(j, key, st, "virt-aa-helper", e, title)))
        return NULL;
    vg_check_detail(c, "virt-aa-helper reads a domain's disk images to find their backing "
                       "chain and writes the per-domain rules from what it finds. Its own "
                       "profile lets it read images only in a few places or by file name "
                       "(*.qcow2, *.img, *.iso, *.raw, disk*...), so an extensionless image "
                       "such as a Lima 'diffdisk' or 'basedisk' is not read, its backing "
                       "file gets no rule, and QEMU is later DENIED opening it.");
    bool shared = false;
    const char *root = managed_root(f->cfg, e->path, &shared);
    if (root)
        vg_check_fix(c, "'%s' is under '%s', which virtguard manages: with virtguard's hook "
                        "and helper installed (see 'virtguard doctor') the backing files get "
                        "their rules from virtguard at every start. Or give the disk an "
                        "explicit <backingStore> in the domain XML (then virt-aa-helper "
                        "need not read the image).", e->path ? e->path : "?", root);
    else
        vg_check_fix(c, "Let virtguard write the rules for the image's directory: add it "
                        "to shared_mounts (a shared mount) or apparmor_extra_roots in '%s', "
                        "then run 'virtguard-helper roots' and reload the helper's profile "
                        "as it says; or give the disk an explicit <backingStore> in the domain XML; or "
                        "name the image with an extension virt-aa-helper reads (.qcow2). "
                        "Do not disable AppArmor.", conf_name(f));
    return c;
}

/* The one AppArmor rule explain may propose for a denial of file `e->path`
 * with `perms`, or NULL with *why_not saying why none: the name had to be
 * shown escaped, cannot be written in a rule, is not canonical, or lies
 * under a restricted prefix (vg_aa_restricted_root: virtguard grants
 * nothing there, so it proposes nothing there).  Whose file it is, the
 * caller decides. */
static char *proposed_rule(const vg_explain_event *e, const char *perms, char **why_not)
{
    autofree char *norm = vg_path_normalize(e->path);
    autofree char *q = NULL;
    const char *restricted = norm ? vg_aa_restricted_root(norm) : NULL;

    if (e->unshown)
        *why_not = vg_xstrdup("is shown escaped here (it holds a control or invisible "
                              "character, a backslash or bytes that are not UTF-8): virtguard "
                              "proposes no rule for a name it cannot show as it is");
    else if ((*why_not = vg_aa_path_problem(e->path)))
        ;
    else if (!vg_streq(norm, e->path))
        *why_not = vg_xstrdup("is not in the canonical form the kernel writes (it holds '.', "
                              "'..', '//' or a trailing '/')");
    else if (restricted)
        *why_not = vg_xasprintf("lies under '%s', where virtguard never grants anything, so it "
                                "proposes no rule there either", restricted);
    else if (vg_aa_quote_path(e->path, NULL, &q, NULL) == 0)
        return vg_xasprintf("%s %s,", q, perms);
    else
        *why_not = vg_xstrdup("cannot be written into an AppArmor rule");
    return NULL;
}

static char *sh_word(const char *s);

/* After an AppArmor denial of a file another uid owns (other_owner; not
 * an intended denial): do file permissions refuse the access next?  Decided from the file's stat (taken
 * by the caller in a bounded child, vg_explain_paths) and QEMU's ids; when
 * either is missing, what to check. */
static void dac_next(judge *j, vg_check *c, const vg_explain_event *e, const char *perms)
{
    const vg_explain_facts *f = j->f;
    const vg_file_fact *ff = file_of(f, e->path);
    int want = (strchr(perms, 'r') ? R_OK : 0) | (strpbrk(perms, "wa") ? W_OK : 0);
    bool ids_known = f->qemu && (long long)f->qemu->uid == e->fsuid;

    if (!want || !other_owner(e) || vg_streq(vg_check_attr_get(c, "cause"), "apparmor-intended"))
        return;
    if (ff && ff->answered && !ff->err && ids_known) {
        if (vg_dac_allows(f->qemu, ff->uid, ff->gid, ff->mode, want))
            return;
        vg_check_detail(c, "File permissions refuse it next: '%s' is owned by %u:%u with mode "
                           "%04o, and QEMU runs as uid %u, gid %u, so once AppArmor allows it "
                           "the open still fails with 'Permission denied' (and no DENIED "
                           "record).", e->path, (unsigned)ff->uid, (unsigned)ff->gid,
                        ff->mode & 07777, (unsigned)f->qemu->uid, (unsigned)f->qemu->gid);
        vg_check_attr_set(c, "dac", "refused");
        /* A label only where a rule was proposed (the domain's own file,
         * no restricted prefix), and never a root QEMU. */
        if (!vg_check_attr_get(c, "rule") || ff->uid == 0)
            return;
        vg_check_fix(c, "%s%sand for file permissions run the domain's QEMU as the file's owner, "
                        "keeping QEMU's group ('virsh edit DOMAIN', before </domain>):\n"
                        "  <seclabel type='static' model='dac' relabel='no'><label>+%u:+%u"
                        "</label></seclabel>", c->fix ? c->fix : "", c->fix ? "\n" : "",
                     (unsigned)ff->uid, (unsigned)f->qemu->gid);
        return;
    }
    autofree char *w = sh_word(e->path);
    vg_check_detail(c, "Another uid owns it, so file permissions may refuse it next, once "
                       "AppArmor allows it. %sCheck with \"stat -c '%%U:%%G %%a' %s\" against "
                       "QEMU's user ('user' and 'group' in qemu.conf, libvirt-qemu by default): "
                       "if that user may not %s it, the open fails with 'Permission denied' and "
                       "no DENIED record.", ff && !ff->answered ? "virtguard could not look at "
                                                                  "the file in time (its mount "
                                                                  "may hang). " : "",
                    w, want == R_OK ? "read" : want == W_OK ? "write" : "read and write");
    vg_check_attr_set(c, "dac", "unknown");
}

/* What judge_apparmor knows of one AppArmor record while it judges it. */
typedef struct aa_case {
    const vg_explain_event *e;
    char *uuid;                 /* of the domain whose profile it is */
    const char *dom;            /* that domain's name, when known */
    char *whom;
    char *perms;
    char *key;
    bool is_file;
    char *unwritable;           /* why no rule may name the file */
    char *rule;                 /* the narrow rule proposed, if any */
    const char *cause;
    vg_check_status st;
    const char *verb;
} aa_case;

static void aa_case_clear(aa_case *a)
{
    free(a->uuid);
    free(a->whom);
    free(a->perms);
    free(a->key);
    free(a->unwritable);
    free(a->rule);
}

#define autoaacase _cleanup_(aa_case_clear)

/* A record of a libvirt domain's profile, for a file it uses or an
 * operation that is not a file access. */
static vg_check *aa_domain_check(judge *j, const aa_case *a)
{
    const vg_explain_facts *f = j->f;
    const vg_explain_event *e = a->e;
    autofree char *title = a->is_file ? vg_xasprintf("%s: AppArmor %s QEMU '%s' access to '%s'",
                                                     a->whom, a->verb, a->perms, e->path)
                                      : vg_xasprintf("%s: AppArmor %s QEMU operation '%s'%s%s%s",
                                                     a->whom, a->verb,
                                                     e->operation ? e->operation : "?",
                                                     e->path ? " on '" : "",
                                                     e->path ? e->path : "", e->path ? "'" : "");
    vg_check *c = add(j, a->key, a->st, a->cause, e, title);
    if (!c)
        return NULL;
    bool shared = false;
    const char *root = managed_root(f->cfg, e->path, &shared);
    if (a->is_file && root)
        vg_check_fix(c, "'%s' is under '%s', which virtguard manages, so virtguard's rules "
                        "should include%s%s\nCheck that they are loaded for this domain "
                        "('virtguard audit') and that the hook and helper are installed "
                        "('virtguard doctor'), then restart the domain.",
                     e->path, root, a->rule ? "\n  " : "", a->rule ? a->rule : "");
    else if (a->rule) {
        autofree char *dir = dir_of(e->path);
        vg_check_fix(c, "the narrow rule is\n  %s\nLet virtguard add it at every start: "
                        "list the share in shared_mounts, or '%s' in apparmor_extra_roots, "
                        "in '%s', run 'virtguard-helper roots' and reload the helper's "
                        "profile as it says, then restart the domain. Do not disable AppArmor "
                        "(security_driver = \"none\" unconfines every guest).",
                     a->rule, dir, conf_name(f));
    } else
        vg_check_fix(c, "this is not a file access virtguard writes rules for (operation "
                        "'%s'); the record is shown as it was.",
                     e->operation ? e->operation : "?");
    return c;
}

/* A record of a profile that is not a libvirt domain's. */
static vg_check *aa_other_check(judge *j, const aa_case *a)
{
    const vg_explain_event *e = a->e;
    autofree char *title = a->is_file ? vg_xasprintf("AppArmor %s profile '%s' (%s) '%s' access "
                                                     "to '%s'", a->verb,
                                                     e->profile ? e->profile : "?",
                                                     e->comm ? e->comm : "?", a->perms, e->path)
                                      : vg_xasprintf("AppArmor %s profile '%s' (%s) operation '%s'",
                                                     a->verb, e->profile ? e->profile : "?",
                                                     e->comm ? e->comm : "?",
                                                     e->operation ? e->operation : "?");
    vg_check *c = add(j, a->key, a->st, a->cause, e, title);
    if (!c)
        return NULL;
    /* Not a domain: virtguard cannot tell what the program should
     * reach, so it proposes nothing. */
    if (a->rule)
        vg_check_fix(c, "none proposed: virtguard proposes AppArmor rules only for a "
                        "libvirt domain's own files. If profile '%s' should allow this, its "
                        "owner adds the rule to the profile's local include (/etc/apparmor.d/"
                        "local/) and reloads it.", e->profile ? e->profile : "?");
    return c;
}

/* What every AppArmor check carries: the unwritable note, the record's
 * fields as attributes, the owners, and the DAC step after it. */
static void aa_finish(judge *j, vg_check *c, const aa_case *a)
{
    const vg_explain_event *e = a->e;
    if (a->unwritable)
        vg_check_fix(c, "no AppArmor rule is proposed for this file: its name %s "
                        "(docs/SECURITY.md, \"What explain trusts\").", a->unwritable);
    if (e->operation)
        vg_check_attr_set(c, "operation", "%s", e->operation);
    if (e->profile)
        vg_check_attr_set(c, "profile", "%s", e->profile);
    if (a->uuid)
        vg_check_attr_set(c, "uuid", "%s", a->uuid);
    if (a->dom)
        vg_check_attr_set(c, "domain", "%s", a->dom);
    if (e->path)
        vg_check_attr_set(c, "path", "%s", e->path);
    if (a->rule)
        vg_check_attr_set(c, "rule", "%s", a->rule);
    if (e->fsuid >= 0 || e->ouid >= 0)
        vg_check_detail(c, "The process ran as fsuid %lld; the file is owned by uid %lld.",
                        e->fsuid, e->ouid);
    if (a->is_file)
        dac_next(j, c, e, a->perms);
}

static void judge_apparmor(judge *j, const vg_explain_event *e)
{
    const vg_explain_facts *f = j->f;
    bool denied = vg_streq(e->aa_result, "DENIED");
    if (!denied && !vg_streq(e->aa_result, "ALLOWED"))
        return;     /* STATUS, AUDIT...: not a problem */

    autoaacase aa_case a = { .e = e };
    a.uuid = e->profile ? vg_aa_profile_uuid(e->profile, "") : NULL;
    a.dom = name_of(f, a.uuid);
    a.whom = who(a.dom, a.uuid);
    a.perms = vg_aa_perms_from_mask(e->denied_mask ? e->denied_mask : e->requested_mask);
    a.key = vg_xasprintf("aa|%s|%s|%s|%s", e->aa_result, e->profile ? e->profile : "",
                         e->path ? e->path : "", a.perms);
    a.is_file = e->path && e->path[0] == '/' && *a.perms;
    a.rule = a.is_file ? proposed_rule(e, a.perms, &a.unwritable) : NULL;
    a.cause = denied ? "apparmor" : "apparmor-complain";
    a.st = denied ? VG_CHECK_FAIL : VG_CHECK_WARN;
    a.verb = denied ? "denied" : "allowed in complain mode (would deny in enforce mode)";
    bool aa_helper = e->profile && (strcmp(e->profile, "virt-aa-helper") == 0 ||
                                    strstr(e->profile, "/virt-aa-helper") != NULL);
    vg_check *c;

    if (aa_helper) {
        if (!(c = judge_aa_helper(j, e, a.key, a.st, a.verb, a.perms)))
            return;
        free(steal_pointer(&a.rule));   /* its profile is libvirt's, not a domain's */
    } else if (a.uuid && a.is_file &&
               !vg_domain_files_has(vg_domain_files_find(f->domains, f->n_domains, a.uuid),
                                    e->path)) {
        /* Never widen a profile to a file the domain does not use, nor to
         * one whose domain's files are not known. */
        if (!(c = judge_not_its_file(j, e, a.key, a.whom, a.verb, a.perms, a.uuid)))
            return;
        free(steal_pointer(&a.rule));
    } else if (a.uuid) {
        if (!(c = aa_domain_check(j, &a)))
            return;
    } else {
        if (!(c = aa_other_check(j, &a)))
            return;
        free(steal_pointer(&a.rule));
    }
    aa_finish(j, c, &a);
}

/* A DENIED record for this very path in the same input. */
static const vg_explain_event *denial_for(const vg_explain_log *log, const char *path)
{
    for (size_t i = 0; path && i < log->n; i++)
        if (log->v[i].kind == VG_EV_APPARMOR && vg_streq(log->v[i].aa_result, "DENIED") &&
            vg_streq(log->v[i].path, path))
            return &log->v[i];
    return NULL;
}

static void judge_dac(judge *j, const vg_explain_event *e, const char *whom, const char *what)
{
    const vg_explain_facts *f = j->f;
    const vg_file_fact *ff = file_of(f, e->path);
    autofree char *key = vg_xasprintf("dac|%s|%s", e->domain ? e->domain : "", e->path);
    autofree char *title = vg_xasprintf("%s: %s '%s': Permission denied by file permissions "
                                        "(DAC), not AppArmor", whom, what, e->path);
    vg_check *c = add(j, key, VG_CHECK_FAIL, "dac", e, title);
    if (!c)
        return;
    long long quid = e->as_uid >= 0 ? e->as_uid : f->qemu ? (long long)f->qemu->uid : -1;
    long long qgid = e->as_gid >= 0 ? e->as_gid : f->qemu ? (long long)f->qemu->gid : -1;
    bool owner_known = ff && ff->answered && ff->err == 0;
    vg_check_detail(c, "No AppArmor DENIED record names this file, so the kernel's file "
                       "permissions refused it.");
    if (quid >= 0)
        vg_check_detail(c, "QEMU runs as uid %lld, gid %lld.", quid, qgid);
    if (owner_known)
        vg_check_detail(c, "The file is owned by %u:%u with mode %04o.", (unsigned)ff->uid,
                        (unsigned)ff->gid, ff->mode & 07777);
    bool shared = false;
    const char *root = managed_root(f->cfg, e->path, &shared);
    /* Say what the mount table says now, as judge_missing does, so that two
     * findings about one path cannot disagree about its mount. */
    const vg_mount *m = root && shared && f->mounts ? vg_mounts_at(f->mounts, root) : NULL;
    if (root && shared && f->mounts && !m)
        vg_check_detail(c, "Its shared mount '%s' is not mounted now, so the file named in the "
                           "log is not on the share any more (or was on the directory left "
                           "behind): mount the share first, then check the owner again.",
                        root);
    else if (m && strcmp(m->fstype, "9p") == 0)
        vg_check_detail(c, "It is on the 9p shared mount '%s': with security_model=none "
                           "(Lima's default) libvirt's chown to QEMU's user is silently "
                           "ignored, so the file keeps the host user's owner.", root);
    else if (root && shared)
        vg_check_detail(c, "It is on the shared mount '%s'%s%s%s: where the share does not "
                           "honour chown, the file keeps the host user's owner.", root,
                        m ? " (" : "", m ? m->fstype : "", m ? ")" : "");
    autofree char *owner = owner_known ? vg_xasprintf("%u", (unsigned)ff->uid)
                                       : vg_xstrdup("OWNER_UID");
    autofree char *group = qgid >= 0 ? vg_xasprintf("%lld", qgid) : vg_xstrdup("QEMU_GID");
    vg_check_fix(c, "run this domain's QEMU as the files' owner, keeping QEMU's group and "
                    "AppArmor confinement: 'virsh edit %s' and add before </domain>\n"
                    "  <seclabel type='static' model='dac' relabel='no'><label>+%s:+%s</label>"
                    "</seclabel>\n"
                    "%s"
                    "Or make the file owned by QEMU's user where the filesystem honours chown%s.",
                    e->domain ? e->domain : "DOMAIN", owner, group,
                    owner_known ? "" : "(OWNER_UID: 'stat -c %u' of the file.)\n",
                    f->lima ? " (on Lima: 9p securityModel \"mapped-xattr\" in lima.yaml "
                              "mounts:)" : "");
    vg_check_attr_set(c, "path", "%s", e->path);
    if (e->domain)
        vg_check_attr_set(c, "domain", "%s", e->domain);
}

/* A network or shared filesystem type (the mount table's). */
static bool share_fstype(const char *t)
{
    return t && (strcmp(t, "9p") == 0 || strcmp(t, "virtiofs") == 0 ||
                 vg_str_has_prefix(t, "fuse") || vg_str_has_prefix(t, "nfs") ||
                 strcmp(t, "cifs") == 0 || strcmp(t, "smb3") == 0);
}

/* `s` as one word for a shell command line: as it is when it holds only
 * safe bytes, else in single quotes. */
static char *sh_word(const char *s)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@,") ==
                  strlen(s))
        return vg_xstrdup(s);
    vg_buf b = { 0 };
    vg_buf_addc(&b, '\'');
    for (; *s; s++)
        vg_buf_add(&b, *s == '\'' ? "'\\''" : (char[]){ *s, '\0' });
    vg_buf_addc(&b, '\'');
    return vg_buf_steal(&b);
}

/* A missing file under no configured root: nothing checked its mount
 * before the start, so the directory may be a share that is not mounted. */
static void missing_unguarded(judge *j, vg_check *c, const vg_explain_event *e)
{
    static const char images[] = "/var/lib/libvirt/images";
    const vg_explain_facts *f = j->f;
    autofree char *norm = vg_path_normalize(e->path);
    autofree char *dir = norm && vg_path_is_under(norm, images) ? vg_xstrdup(images)
                                                                : dir_of(e->path);
    const vg_mount *m = f->mounts && norm ? vg_mounts_find(f->mounts, norm) : NULL;
    const char *dom = e->domain ? e->domain : "DOMAIN";

    if (m && share_fstype(m->fstype) && strcmp(m->mount_point, "/") != 0) {
        vg_check_detail(c, "It is on the %s mount '%s', which is mounted but not in "
                           "shared_mounts, so virtguard does not guard it.", m->fstype,
                        m->mount_point);
        vg_check_fix(c, "create the file before the start (for a cloud-init ISO: the tool that "
                        "writes it must finish first), or correct the path with 'virsh edit "
                        "%s'; and add '%s' to shared_mounts in '%s' so that virtguard checks "
                        "the share at every start.", dom, m->mount_point, conf_name(f));
        return;
    }
    vg_check_detail(c, "'%s' is under no shared mount in '%s' (shared_mounts names none over "
                       "it), so nothing checked its mount before the start.", e->path,
                    conf_name(f));
    if (m)
        vg_check_detail(c, "The mount table has it on the %s filesystem mounted at '%s'.",
                        m->fstype, m->mount_point);
    vg_check_detail(c, "'%s' may be a share (a Lima mount, 9p, virtiofs, NFS) that is not "
                       "mounted: its files are on the other side and this is the empty "
                       "directory left behind.", dir);
    autofree char *w = sh_word(dir);
    vg_check_fix(c, "check with 'findmnt %s': it prints nothing when '%s' is no mount point "
                    "('findmnt -T %s' names the filesystem that holds it). If it should be a "
                    "share, mount it, and tell virtguard: add it to shared_mounts in '%s' "
                    "(shared_mounts = [ \"%s\" ]) so that a start is refused, with the reason, "
                    "while it is not mounted. If it is no share, create the file before the "
                    "start (for a cloud-init ISO: the tool that writes it must finish first), "
                    "or correct the path with 'virsh edit %s'.", w, dir, w, conf_name(f),
                 dir, dom);
}

static void judge_missing(judge *j, const vg_explain_event *e, const char *whom, const char *what)
{
    const vg_explain_facts *f = j->f;
    bool shared = false;
    const char *root = managed_root(f->cfg, e->path, &shared);
    const vg_file_fact *ff = file_of(f, e->path);
    vg_check *c;

    if (root && shared && f->mounts && !vg_mounts_at(f->mounts, root)) {
        autofree char *key = vg_xasprintf("mount|%s|%s", e->domain ? e->domain : "", root);
        autofree char *title = vg_xasprintf("%s: %s '%s' is missing because shared mount '%s' "
                                            "is not mounted", whom, what, e->path, root);
        if (!(c = add(j, key, VG_CHECK_FAIL, "missing-mount", e, title)))
            return;
        vg_check_detail(c, "The mount table has nothing at '%s': the files are on the host "
                           "side of the share and this directory is the empty one left "
                           "behind.", root);
        if (f->lima) {
            autofree char *yaml = vg_lima_mount_yaml(f->cfg, root, NULL, false);
            vg_check_fix(c, "on this Lima guest declare the share in lima.yaml and restart the "
                            "instance ('limactl stop NAME && limactl start NAME'):\n%s", yaml);
        } else {
            autofree char *fix = vg_mount_fix(f->cfg, root, vg_fstab_find(f->fstab, root));
            vg_check_fix(c, "%s", fix);
        }
        vg_check_attr_set(c, "mount", "%s", root);
    } else {
        autofree char *key = vg_xasprintf("file|%s|%s", e->domain ? e->domain : "", e->path);
        autofree char *title = vg_xasprintf("%s: %s '%s' does not exist", whom, what, e->path);
        if (!(c = add(j, key, VG_CHECK_FAIL, "missing-file", e, title)))
            return;
        if (root && shared)
            vg_check_detail(c, "Its shared mount '%s' is mounted; the file itself is missing.",
                            root);
        if (ff && ff->answered && ff->err == 0)
            vg_check_detail(c, "It exists now: it was created, or its mount came back, after "
                               "the error.");
        if (!root)
            missing_unguarded(j, c, e);
        else
            vg_check_fix(c, "create the file before the start (for a cloud-init ISO: the tool "
                            "that writes it must finish first), or correct the path with "
                            "'virsh edit %s'.", e->domain ? e->domain : "DOMAIN");
    }
    vg_check_attr_set(c, "path", "%s", e->path);
    if (e->domain)
        vg_check_attr_set(c, "domain", "%s", e->domain);
}

static bool owner_lost_case(const judge *j, const vg_explain_event *e);
static void judge_owner_lost(judge *j, const vg_explain_event *e);

static void judge_file_error(judge *j, const vg_explain_event *e)
{
    autofree char *whom = who(e->domain, NULL);
    autofree char *what = e->kind == VG_EV_OPEN ? vg_xstrdup("QEMU could not open")
                          : e->backing_of ? vg_xasprintf("backing file (of '%s')", e->backing_of)
                                          : vg_xstrdup("storage file");
    const char *err = e->error ? e->error : "";

    if (!e->path)
        return;
    if (strstr(err, "Permission denied") || strstr(err, "Operation not permitted")) {
        const vg_explain_event *d = denial_for(j->log, e->path);
        if (d) {
            autofree char *duuid = d->profile ? vg_aa_profile_uuid(d->profile, "") : NULL;
            const char *dname = name_of(j->f, duuid);
            autofree char *dwhom = e->domain || !dname ? vg_xstrdup(whom) : who(dname, NULL);
            autofree char *key = vg_xasprintf("aaref|%u|%s", d->line, e->path);
            autofree char *title = vg_xasprintf("%s: %s '%s': Permission denied by AppArmor "
                                                "(the DENIED record on line %u)", dwhom, what,
                                                e->path, d->line);
            vg_check *c = add(j, key, VG_CHECK_INFO, "apparmor", e, title);
            if (c)
                vg_check_attr_set(c, "path", "%s", e->path);
            return;
        }
        if (owner_lost_case(j, e)) {
            judge_owner_lost(j, e);
            return;
        }
        judge_dac(j, e, whom, what);
        return;
    }
    if (strstr(err, "No such file or directory")) {
        judge_missing(j, e, whom, what);
        return;
    }
    autofree char *key = vg_xasprintf("other|%s|%s", e->path, err);
    autofree char *title = vg_xasprintf("%s: %s '%s': %s", whom, what, e->path,
                                        *err ? err : "unknown error");
    vg_check *c = add(j, key, VG_CHECK_WARN, "other", e, title);
    if (c) {
        vg_check_detail(c, "virtguard knows no specific cause for this error.");
        vg_check_attr_set(c, "path", "%s", e->path);
    }
}

static void judge_hook(judge *j, const vg_explain_event *e)
{
    const char *base = e->hook ? strrchr(e->hook, '/') : NULL;
    base = base ? base + 1 : e->hook;
    bool ours = vg_streq(base, "virtguard") ||
                (e->hook_message && strstr(e->hook_message, "virtguard:"));
    autofree char *whom = who(e->domain, NULL);
    autofree char *key = vg_xasprintf("hook|%u", e->line);
    autofree char *title = ours ? vg_xasprintf("%s: virtguard's hook refused the start%s%s",
                                               whom, e->hook_op ? " at " : "",
                                               e->hook_op ? e->hook_op : "")
                                : vg_xasprintf("%s: libvirt hook '%s' failed", whom,
                                               e->hook ? e->hook : "?");
    vg_check *c = add(j, key, VG_CHECK_FAIL, "hook", e, title);
    if (!c)
        return;
    if (e->hook_message && *e->hook_message)
        vg_check_detail(c, "It said: %s", e->hook_message);
    if (ours)
        vg_check_fix(c, "do what the hook's message says; 'virtguard check /etc/libvirt/qemu/"
                        "%s.xml' repeats the check without starting the domain.",
                     e->domain ? e->domain : "DOMAIN");
    else
        vg_check_fix(c, "this hook is not virtguard's; run it by hand with the domain XML on "
                        "standard input to see why it fails.");
    if (e->hook)
        vg_check_attr_set(c, "hook", "%s", e->hook);
    if (e->domain)
        vg_check_attr_set(c, "domain", "%s", e->domain);
}

/* ---- owners libvirt cannot give back (remember_owner on a share) ---- */

/* The label that stops libvirt relabelling the domain's files: QEMU as the
 * files' owner with QEMU's group.  OWNER_UID when the owner is not known
 * or is root (QEMU must not run as root). */
static char *owner_label(const vg_explain_facts *f, const vg_file_fact *ff)
{
    autofree char *owner = ff && ff->answered && !ff->err && ff->uid != 0
                               ? vg_xasprintf("%u", (unsigned)ff->uid) : vg_xstrdup("OWNER_UID");
    autofree char *group = f->qemu ? vg_xasprintf("%u", (unsigned)f->qemu->gid)
                                   : vg_xstrdup("QEMU_GID");
    return vg_xasprintf("<seclabel type='static' model='dac' relabel='no'><label>+%s:+%s"
                        "</label></seclabel>", owner, group);
}

/* A failed remember: the line of that XATTR error for `path`, or 0. */
static unsigned xattr_line_for(const vg_explain_log *log, const char *path)
{
    for (size_t i = 0; path && i < log->n; i++)
        if (log->v[i].kind == VG_EV_XATTR && vg_streq(log->v[i].path, path))
            return log->v[i].line;
    return 0;
}

static void judge_xattr(judge *j, const vg_explain_event *e)
{
    const vg_explain_facts *f = j->f;
    const vg_file_fact *ff = file_of(f, e->path);
    autofree char *whom = who(e->domain, NULL);
    autofree char *key = vg_xasprintf("xattr|%s", e->path ? e->path : "");
    autofree char *title = vg_xasprintf("%s: libvirt cannot record the owner of '%s' in "
                                        "extended attribute '%s' (%s)", whom,
                                        e->path ? e->path : "?", e->xattr ? e->xattr : "?",
                                        e->error ? e->error : "?");
    vg_check *c = add(j, key, VG_CHECK_FAIL, "xattr", e, title);
    if (!c)
        return;
    autofree char *label = owner_label(f, ff);
    vg_check_detail(c, "Before libvirt chowns a file to QEMU's user it records the original "
                       "owner in trusted.libvirt.security.* extended attributes (remember_owner "
                       "= 1, the default), to give the file back at stop. This share refuses "
                       "them, and libvirt fails the start. remember_owner = 0 would let the "
                       "start go on, but then every stop leaves the file root:root (read-only "
                       "and backing layers stay QEMU's): its writer loses it.");
    vg_check_fix(c, "stop libvirt from relabelling this domain's files: run its QEMU as the "
                    "files' owner, keeping QEMU's group ('virsh edit %s', before </domain>):\n"
                    "  %s\n%s"
                    "or serve the share so that it keeps trusted.* extended attributes. "
                    "'virtguard check' on the domain prints the label it checked.",
                    e->domain ? e->domain : "DOMAIN", label,
                    strstr(label, "OWNER_UID") ? "(OWNER_UID: the uid of the images' writer.)\n"
                                               : "");
    if (e->path)
        vg_check_attr_set(c, "path", "%s", e->path);
    if (e->domain)
        vg_check_attr_set(c, "domain", "%s", e->domain);
}

/* A "Permission denied" on a file under a shared mount that is now owned
 * by root:root (what libvirt's restore without a remembered owner leaves)
 * or by QEMU's ids (read-only layers libvirt never gives back). */
static bool owner_lost_case(const judge *j, const vg_explain_event *e)
{
    const vg_file_fact *ff = file_of(j->f, e->path);
    bool shared = false;
    if (!ff || !ff->answered || ff->err || !managed_root(j->f->cfg, e->path, &shared) || !shared)
        return false;
    if (ff->uid == 0 && ff->gid == 0)
        return true;
    return e->kind == VG_EV_WRITER_DENIED && j->f->qemu && ff->uid == j->f->qemu->uid;
}

static void judge_owner_lost(judge *j, const vg_explain_event *e)
{
    const vg_explain_facts *f = j->f;
    const vg_file_fact *ff = file_of(f, e->path);
    if (!ff)
        return;             /* owner_lost_case() said there is one */
    bool root = ff->uid == 0 && ff->gid == 0;
    unsigned xl = xattr_line_for(j->log, e->path);
    bool shared = false;
    const char *mount = managed_root(f->cfg, e->path, &shared);
    autofree char *key = vg_xasprintf("owner-lost|%s", e->path);
    autofree char *by = e->kind == VG_EV_WRITER_DENIED ? vg_xstrdup("the images' writer")
                        : e->domain ? who(e->domain, NULL)
                                    : vg_xstrdup("QEMU or qemu-img (no domain named)");
    autofree char *title = vg_xasprintf("%s: '%s': Permission denied because a domain's start "
                                        "and stop left it owned by %u:%u", by, e->path,
                                        (unsigned)ff->uid, (unsigned)ff->gid);
    vg_check *c = add(j, key, VG_CHECK_FAIL, "owner-lost", e, title);
    if (!c)
        return;
    if (root)
        vg_check_detail(c, "libvirt chowns a domain's files to QEMU's user at start and, at "
                           "stop, gives each back to the owner it recorded in "
                           "trusted.libvirt.security.* extended attributes; where none was "
                           "recorded (remember_owner = 0, or a share that cannot hold them, "
                           "such as 9p or virtiofs) it chowns the file to root:root.");
    else
        vg_check_detail(c, "libvirt chowned it to QEMU's user (uid %u) at a domain's start and "
                        "never gives read-only or backing layers back at stop.",
                        (unsigned)ff->uid);
    autofree char *xs = xl ? vg_xasprintf(" Line %u shows libvirt failing to record its owner.",
                                          xl) : vg_xstrdup("");
    vg_check_detail(c, "The file is on shared mount '%s' with mode %04o.%s", mount,
                    ff->mode & 07777, xs);
    autofree char *label = owner_label(f, NULL);
    vg_check_fix(c, "give the file back to its writer on the host side of the share ('chown "
                    "UID:GID %s'), then stop libvirt relabelling the domain's files: run its "
                    "QEMU as the files' owner, keeping QEMU's group ('virsh edit DOMAIN', "
                    "before </domain>):\n  %s\n(OWNER_UID: the writer's uid; 'virtguard check' "
                    "on the domain prints the label it checked), or serve the share so that it "
                    "keeps trusted.* extended attributes. 'virtguard doctor' shows how the "
                    "share behaves.", e->path, label);
    vg_check_attr_set(c, "path", "%s", e->path);
    if (e->domain)
        vg_check_attr_set(c, "domain", "%s", e->domain);
}

static void judge_writer_denied(judge *j, const vg_explain_event *e)
{
    if (owner_lost_case(j, e)) {
        judge_owner_lost(j, e);
        return;
    }
    autofree char *key = vg_xasprintf("writer|%s", e->path);
    autofree char *title = vg_xasprintf("'%s': Permission denied (not from libvirt or QEMU)",
                                        e->path);
    vg_check *c = add(j, key, VG_CHECK_WARN, "other", e, title);
    if (c) {
        vg_check_detail(c, "virtguard knows no specific cause for this error: the file is not "
                           "on a shared mount, or not owned by root or QEMU's user now.");
        vg_check_attr_set(c, "path", "%s", e->path);
    }
}

vg_checklist *vg_explain_judge(const vg_explain_log *log, const vg_explain_facts *facts)
{
    judge j = { .log = log, .f = facts, .out = vg_checklist_new("explain") };
    size_t recognised = 0;

    for (size_t i = 0; i < log->n; i++) {
        const vg_explain_event *e = &log->v[i];
        recognised++;
        switch (e->kind) {
        case VG_EV_APPARMOR: judge_apparmor(&j, e); break;
        case VG_EV_STORAGE:
        case VG_EV_OPEN: judge_file_error(&j, e); break;
        case VG_EV_HOOK: judge_hook(&j, e); break;
        case VG_EV_XATTR: judge_xattr(&j, e); break;
        case VG_EV_WRITER_DENIED: judge_writer_denied(&j, e); break;
        }
    }
    vg_stack_judge(&log->stack, j.out);
    recognised += log->stack.n_lines;
    for (size_t i = 0; i < j.out->n; i++) {
        vg_check *c = &j.out->v[i];
        const char *cnt = vg_check_attr_get(c, "count");
        if (cnt) {
            char *t = vg_xasprintf("%s (%s times)", c->title, cnt);
            free(c->title);
            c->title = t;
        }
    }
    vg_checklist_summary_number(j.out, "lines", (long long)log->n_lines);
    vg_checklist_summary_number(j.out, "recognised", (long long)(recognised + log->n_context));
    vg_checklist_summary_number(j.out, "unknown", (long long)log->n_unknown);
    vg_strv_free(j.keys);
    return j.out;
}
