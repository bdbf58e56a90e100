/* libFuzzer target: the log-line parser of `virtguard explain`
 * (lib/admin/explain.c: kernel AppArmor audit records, libvirt and QEMU errors;
 * lib/admin/explain-stack.c: Seatbelt lines) and the judgement on top of it,
 * with fixed facts (one domain and its files) and no I/O.
 * Oracles: parsing never fails and never finds more events than logical
 * lines (physical lines, or the lines of a pasted JSON string); no
 * text taken from the input holds a character the escaper would change (so
 * none can begin a line); every line of the text rendering begins where the
 * renderer began one; no proposal names a path that is not the domain's own
 * (AppArmor) or that lies under a restricted prefix, and no Seatbelt or nono
 * grant is wider than one object denied on the input (issue 19). */
#include <config.h>

#include <stdint.h>

#include "aa-escape.h"
#include "aa-profile.h"
#include "explain-input.h"
#include "explain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UUID "6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f"

static char *own_files[] = {
    (char *)"/var/lib/libvirt/images/sbx-1/disk.qcow2",
    (char *)"/var/lib/libvirt/images/base.qcow2",
    (char *)"/srv/images/seed.iso",
    (char *)"/etc/libvirt/secret.img",     /* the domain's, but restricted */
    NULL,
};

/* A field the input gave: shown already, so the escaper leaves it as is
 * (`lines`: a line break of the input's own, kept between lines). */
static void assert_shown(const char *s, bool lines)
{
    if (!s)
        return;
    autofree char *again = lines ? vg_str_escape_lines(s) : vg_str_escape(s, false);
    if (strcmp(again, s) != 0 || (!lines && strchr(s, '\n')))
        abort();
}

static void check_events(const vg_explain_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        const vg_explain_event *e = &log->v[i];
        const char *one_line[] = { e->domain, e->path, e->error, e->aa_result, e->operation,
                                   e->profile, e->comm, e->requested_mask, e->denied_mask,
                                   e->backing_of, e->hook, e->hook_op, e->xattr };
        for (size_t k = 0; k < VG_N_ELEMENTS(one_line); k++)
            assert_shown(one_line[k], false);
        assert_shown(e->hook_message, true);
    }
    for (size_t i = 0; i < log->stack.n_sb; i++) {
        const vg_seatbelt_denial *d = &log->stack.sb[i];
        assert_shown(d->process, false);
        assert_shown(d->operation, false);
        assert_shown(d->argument, false);
        assert_shown(d->rest, false);
    }
}

static size_t lines_of(const char *s)
{
    size_t n = 1;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Every line of the text begins where vg_checklist_format began one: a
 * check's title, its detail and fix lines (as many as those fields hold),
 * "incomplete:" lines, the summary. */
static void check_text(const vg_checklist *l, const char *text)
{
    size_t want = 1;                    /* the summary */
    for (size_t i = 0; i < l->n; i++) {
        const vg_check *c = &l->v[i];
        if (strchr(c->title, '\n') || strchr(c->topic, '\n'))
            abort();
        want += 1 + (c->detail ? lines_of(c->detail) : 0) + (c->fix ? lines_of(c->fix) : 0);
    }
    for (size_t i = 0; l->unread && l->unread[i]; i++)
        want += lines_of(l->unread[i]);
    size_t got = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            abort();                    /* the text ends with a newline */
        if (!vg_str_has_prefix(line, "explain: line ") && !vg_str_has_prefix(line, "      ") &&
            !vg_str_has_prefix(line, "incomplete: ") &&
            !vg_str_has_prefix(line, "virtguard explain: "))
            abort();
        got++;
        line = nl + 1;
    }
    if (got != want)
        abort();
}

/* An AppArmor proposal: the domain's own file, not restricted, the rule
 * the quoted path itself. */
static void check_rule(const vg_check *c)
{
    const char *rule = vg_check_attr_get(c, "rule");
    if (!rule)
        return;
    const char *path = vg_check_attr_get(c, "path");
    autofree char *q = NULL;
    const char *uuid = vg_check_attr_get(c, "uuid");    /* UUIDs match in any case */
    if (!path || !uuid || strcasecmp(uuid, UUID) != 0 ||
        !vg_strv_contains(own_files, path) || vg_aa_restricted_root(path) ||
        vg_aa_quote_path(path, NULL, &q, NULL) < 0 || !vg_str_has_prefix(rule, q) ||
        rule[strlen(q)] != ' ')
        abort();
}

/* Whether `form` occurs in the SBPL text `rules` outside its "..." strings
 * (a path may hold "(regex " itself: inside a literal it is a literal). */
static bool outside_strings_has(const char *rules, const char *form)
{
    size_t n = strlen(form);
    bool in_string = false;
    for (const char *p = rules; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (strncmp(p, form, n) == 0) {
            return true;
        }
    }
    return false;
}

/* A Seatbelt proposal: literals only, each a path denied on the input
 * (a trailing '/' or macOS's /private aside), none restricted. */
static void check_seatbelt(const vg_check *c, const uint8_t *data, size_t size)
{
    const char *rules = vg_check_attr_get(c, "seatbelt_rules");
    const char *nono = vg_check_attr_get(c, "nono_profile");
    if (!rules)
        return;
    if (outside_strings_has(rules, "(subpath ") || outside_strings_has(rules, "(regex ") ||
        outside_strings_has(rules, "(prefix ") ||
        (nono && (strstr(nono, "\"read\":") || strstr(nono, "\"allow\":"))))
        abort();
    for (const char *p = rules; (p = strstr(p, "(literal \"")); ) {
        p += strlen("(literal \"");
        vg_buf lit = { 0 };
        for (; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            vg_buf_addc(&lit, *p);
        }
        autofree char *path = vg_buf_steal(&lit);
        const char *linux_form = vg_str_has_prefix(path, "/private/") ? path + 8 : path;
        if (vg_aa_restricted_root(path) || vg_aa_restricted_root(linux_form) ||
            (!memmem(data, size, path, strlen(path)) &&
             !memmem(data, size, linux_form, strlen(linux_form))))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_config *cfg;
    autoexplainlog vg_explain_log *log = NULL;

    if (!cfg) {
        static const char text[] = "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n";
        if (vg_config_parse(text, sizeof(text) - 1, "fuzz.conf", &cfg, NULL) < 0)
            abort();
    }
    log = vg_explain_parse((const char *)data, size);
    /* at most one event per logical line: a physical line, or one of the
     * lines a pasted JSON string holds between its \n escapes */
    vg_input in;
    vg_input_split((const char *)data, size, &in);
    size_t n_logical = in.n;
    vg_input_clear(&in);
    if (!log || log->n > (n_logical > log->n_lines ? n_logical : log->n_lines))
        abort();
    check_events(log);
    autostrv char **paths = vg_explain_paths(log);
    if (!paths)
        abort();
    for (size_t i = 0; i < log->n; i++) {
        if (log->v[i].profile)
            free(vg_aa_profile_uuid(log->v[i].profile, ""));
        if (log->v[i].denied_mask)
            free(vg_aa_perms_from_mask(log->v[i].denied_mask));
    }
    autofree char *record = vg_xstrndup((const char *)data, size);
    free(vg_audit_field(record, "name"));
    free(vg_audit_field(record, "profile"));

    static const vg_name_entry names[] = { { (char *)UUID, (char *)"sbx-1" } };
    static const vg_domain_files doms[] = {
        { .name = (char *)"sbx-1", .uuid = (char *)UUID, .source = (char *)"sbx-1.xml",
          .paths = own_files },
    };
    vg_explain_facts facts = {
        .cfg = cfg, .config_path = "fuzz.conf", .names = names, .n_names = 1,
        .domains = doms, .n_domains = 1,
    };
    vg_checklist *list = vg_explain_judge(log, &facts);
    if (!list)
        abort();
    for (size_t i = 0; i < list->n; i++) {
        check_rule(&list->v[i]);
        check_seatbelt(&list->v[i], data, size);
    }
    autofree char *text = vg_checklist_format(list, false);
    check_text(list, text);
    free(vg_checklist_json(list));
    vg_checklist_free(list);
    return 0;
}
