/* virtguard: PASS/WARN/FAIL reports for the admin commands. */
#include <config.h>

#include "checklist.h"

vg_checklist *vg_checklist_new(const char *command)
{
    vg_checklist *l = vg_xcalloc(1, sizeof(*l));
    l->command = vg_xstrdup(command);
    return l;
}

static void attrs_free(vg_check_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].key);
        free(a[i].value);
    }
    free(a);
}

void vg_checklist_free(vg_checklist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        vg_check *c = &l->v[i];
        free(c->topic);
        free(c->title);
        free(c->detail);
        free(c->fix);
        attrs_free(c->attrs, c->n_attrs);
    }
    free(l->v);
    attrs_free(l->summary, l->n_summary);
    vg_strv_free(l->unread);
    free(l->command);
    free(l);
}

vg_check *vg_checklist_add(vg_checklist *l, vg_check_status st, const char *topic,
                           const char *fmt, ...)
{
    va_list ap;
    vg_check *c = VG_APPEND(l->v, l->n);
    c->status = st;
    c->topic = vg_xstrdup(topic);
    va_start(ap, fmt);
    c->title = vg_xvasprintf(fmt, ap);
    va_end(ap);
    return c;
}

void vg_check_detail(vg_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vg_xvasprintf(fmt, ap);
    va_end(ap);
    if (c->detail) {
        char *both = vg_xasprintf("%s %s", c->detail, s);
        free(s);
        s = both;
        free(c->detail);
    }
    c->detail = s;
}

void vg_check_fix(vg_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *fix = vg_xvasprintf(fmt, ap);    /* first: fmt's arguments may be the old fix */
    va_end(ap);
    free(c->fix);
    c->fix = fix;
}

static void attr_put(vg_check_attr **a, size_t *n, const char *key, char *value,
                     vg_attr_kind kind)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*a)[i].key, key) == 0) {
            free((*a)[i].value);
            (*a)[i].value = value;
            (*a)[i].kind = kind;
            return;
        }
    }
    vg_check_attr *e = VG_APPEND(*a, *n);
    e->key = vg_xstrdup(key);
    e->value = value;
    e->kind = kind;
}

static void attr_set_v(vg_check_attr **a, size_t *n, const char *key, const char *fmt, va_list ap)
{
    attr_put(a, n, key, vg_xvasprintf(fmt, ap), VG_ATTR_STRING);
}

void vg_check_attr_number(vg_check *c, const char *key, long long value)
{
    attr_put(&c->attrs, &c->n_attrs, key, vg_xasprintf("%lld", value), VG_ATTR_NUMBER);
}

void vg_checklist_summary_number(vg_checklist *l, const char *key, long long value)
{
    attr_put(&l->summary, &l->n_summary, key, vg_xasprintf("%lld", value), VG_ATTR_NUMBER);
}

void vg_check_attr_numbers(vg_check *c, const char *key, const long long *v, size_t n)
{
    vg_buf b = { 0 };
    vg_buf_addc(&b, '[');
    for (size_t i = 0; i < n; i++)
        vg_buf_printf(&b, "%s%lld", i ? "," : "", v[i]);
    vg_buf_addc(&b, ']');
    attr_put(&c->attrs, &c->n_attrs, key, vg_buf_steal(&b), VG_ATTR_JSON);
}

void vg_check_attr_json(vg_check *c, const char *key, char *json)
{
    attr_put(&c->attrs, &c->n_attrs, key, json, VG_ATTR_JSON);
}

void vg_check_attr_set(vg_check *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    attr_set_v(&c->attrs, &c->n_attrs, key, fmt, ap);
    va_end(ap);
}

const char *vg_check_attr_get(const vg_check *c, const char *key)
{
    for (size_t i = 0; i < c->n_attrs; i++)
        if (strcmp(c->attrs[i].key, key) == 0)
            return c->attrs[i].value;
    return NULL;
}

void vg_checklist_summary(vg_checklist *l, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    attr_set_v(&l->summary, &l->n_summary, key, fmt, ap);
    va_end(ap);
}

size_t vg_checklist_count(const vg_checklist *l, vg_check_status st)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->v[i].status == st;
    return n;
}

vg_check_status vg_checklist_worst(const vg_checklist *l)
{
    vg_check_status w = VG_CHECK_PASS;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].status > w)
            w = l->v[i].status;
    return w == VG_CHECK_INFO ? VG_CHECK_PASS : w;
}

void vg_checklist_incomplete(vg_checklist *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vg_xvasprintf(fmt, ap);
    va_end(ap);
    vg_strv_push(&l->unread, s);
}

int vg_checklist_exit_status(const vg_checklist *l)
{
    if (l->unread)
        return VG_EXIT_CANNOT_RUN;
    return vg_checklist_worst(l) == VG_CHECK_FAIL ? VG_EXIT_PROBLEMS : VG_EXIT_OK;
}

const vg_check *vg_checklist_find(const vg_checklist *l, const char *topic, vg_check_status st)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].status == st && strcmp(l->v[i].topic, topic) == 0)
            return &l->v[i];
    return NULL;
}

const char *vg_check_status_name(vg_check_status st)
{
    switch (st) {
    case VG_CHECK_PASS: return "PASS";
    case VG_CHECK_INFO: return "INFO";
    case VG_CHECK_WARN: return "WARN";
    case VG_CHECK_FAIL: return "FAIL";
    }
    return "?";
}

static const char *status_colour(vg_check_status st)
{
    switch (st) {
    case VG_CHECK_PASS: return "\033[32m";
    case VG_CHECK_INFO: return "\033[36m";
    case VG_CHECK_WARN: return "\033[33m";
    case VG_CHECK_FAIL: return "\033[31m";
    }
    return "";
}

/* Log text is untrusted: every value is shown by the one escaper
 * (vg_buf_add_shown), so no control or format character reaches the
 * screen.  With `indent`, the text's own newlines (those virtguard's
 * messages put there; the values in them never hold one) start lines
 * indented by `indent`; without, the text is one line and a newline is
 * shown as "\n". */
static void add_safe(vg_buf *b, const char *s, const char *indent)
{
    if (!indent) {
        vg_buf_add_shown(b, s, 0);
        return;
    }
    for (const char *line = s;;) {
        const char *nl = strchr(line, '\n');
        autofree char *one = vg_xstrndup(line, nl ? (size_t)(nl - line) : strlen(line));
        vg_buf_add_shown(b, one, 0);
        if (!nl)
            break;
        vg_buf_addc(b, '\n');
        vg_buf_add(b, indent);
        line = nl + 1;
    }
}

#define TITLE_COLUMN 72
#define INDENT "      "

char *vg_checklist_format(const vg_checklist *l, bool colour)
{
    vg_buf b = { 0 };

    for (size_t i = 0; i < l->n; i++) {
        const vg_check *c = &l->v[i];
        size_t start = b.len;
        add_safe(&b, c->topic, NULL);
        vg_buf_add(&b, ": ");
        add_safe(&b, c->title, NULL);
        /* Pad to the status column; long titles push it right. */
        size_t used = b.len - start;
        vg_buf_addc(&b, ' ');
        for (size_t k = used + 1; k < TITLE_COLUMN; k++)
            vg_buf_addc(&b, ' ');
        vg_buf_add(&b, ": ");
        if (colour)
            vg_buf_add(&b, status_colour(c->status));
        vg_buf_add(&b, vg_check_status_name(c->status));
        if (colour)
            vg_buf_add(&b, "\033[0m");
        vg_buf_addc(&b, '\n');
        if (c->detail) {
            vg_buf_add(&b, INDENT);
            add_safe(&b, c->detail, INDENT);
            vg_buf_addc(&b, '\n');
        }
        if (c->fix) {
            vg_buf_add(&b, INDENT "fix: ");
            add_safe(&b, c->fix, INDENT "     ");
            vg_buf_addc(&b, '\n');
        }
    }
    for (size_t i = 0; l->unread && l->unread[i]; i++) {
        vg_buf_add(&b, "incomplete: ");
        add_safe(&b, l->unread[i], INDENT);
        vg_buf_addc(&b, '\n');
    }
    vg_buf_printf(&b, "virtguard %s: %zu passed, %zu warning(s), %zu failure(s)", l->command,
                  vg_checklist_count(l, VG_CHECK_PASS), vg_checklist_count(l, VG_CHECK_WARN),
                  vg_checklist_count(l, VG_CHECK_FAIL));
    for (size_t i = 0; i < l->n_summary; i++) {
        vg_buf_add(&b, ", ");
        add_safe(&b, l->summary[i].key, NULL);
        vg_buf_add(&b, " ");
        add_safe(&b, l->summary[i].value, NULL);
    }
    vg_buf_addc(&b, '\n');
    return vg_buf_steal(&b);
}

static void json_attr(vg_buf *b, const vg_check_attr *a)
{
    switch (a->kind) {
    case VG_ATTR_NUMBER:
        vg_json_member_number(b, a->key, strtoll(a->value, NULL, 10));
        break;
    case VG_ATTR_JSON:
        vg_json_member_raw(b, a->key, a->value);
        break;
    case VG_ATTR_STRING:
        vg_json_member_string(b, a->key, a->value);
        break;
    }
}

static char *lower(const char *s)
{
    char *r = vg_xstrdup(s);
    for (char *p = r; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return r;
}

char *vg_checklist_json(const vg_checklist *l)
{
    vg_buf b = { 0 };
    autofree char *worst = lower(vg_check_status_name(vg_checklist_worst(l)));

    vg_buf_add(&b, "{\"command\":");
    vg_json_string(&b, l->command);
    vg_json_member_string(&b, "status", worst);
    vg_buf_printf(&b, ",\"exit\":%d,\"passed\":%zu,\"warnings\":%zu,\"failures\":%zu",
                  vg_checklist_exit_status(l), vg_checklist_count(l, VG_CHECK_PASS),
                  vg_checklist_count(l, VG_CHECK_WARN), vg_checklist_count(l, VG_CHECK_FAIL));
    for (size_t i = 0; i < l->n_summary; i++)
        json_attr(&b, &l->summary[i]);
    if (l->unread) {
        vg_buf_add(&b, ",\"incomplete\":[");
        for (size_t i = 0; l->unread[i]; i++) {
            if (i)
                vg_buf_addc(&b, ',');
            vg_json_string(&b, l->unread[i]);
        }
        vg_buf_addc(&b, ']');
    }
    vg_buf_add(&b, ",\"checks\":[");
    for (size_t i = 0; i < l->n; i++) {
        const vg_check *c = &l->v[i];
        autofree char *st = lower(vg_check_status_name(c->status));
        vg_buf_add(&b, i ? ",\n{" : "\n{");
        vg_buf_add(&b, "\"status\":");
        vg_json_string(&b, st);
        vg_json_member_string(&b, "topic", c->topic);
        vg_json_member_string(&b, "title", c->title);
        vg_json_member_string(&b, "detail", c->detail);
        vg_json_member_string(&b, "fix", c->fix);
        for (size_t k = 0; k < c->n_attrs; k++)
            json_attr(&b, &c->attrs[k]);
        vg_buf_addc(&b, '}');
    }
    vg_buf_add(&b, "]}\n");
    return vg_buf_steal(&b);
}
