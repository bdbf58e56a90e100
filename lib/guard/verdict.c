/* virtguard: config + domain + guard → one verdict, failing closed. */
#include <config.h>

#include "verdict.h"

#include "confparse.h"

const char *vg_verdict_kind_name(vg_verdict_kind k)
{
    switch (k) {
    case VG_VERDICT_SKIP: return "skipped";
    case VG_VERDICT_ALLOW: return "allowed";
    case VG_VERDICT_WARN: return "warned";
    case VG_VERDICT_REFUSE: return "refused";
    case VG_VERDICT_CONFIG: return "config-error";
    case VG_VERDICT_INPUT: return "input-error";
    }
    return "?";
}

/* A config that fails validation may still say mode = "dev" at the syntax
 * level; then an admin who asked for dev mode gets warnings, not refusals. */
static bool broken_config_says_dev(const char *path)
{
    autoconf vg_conf *raw = NULL;
    autoerror vg_error *err = NULL;
    if (vg_conf_read(path, &raw, &err) < 0)
        return false;
    const vg_conf_entry *e = vg_conf_get(raw, "mode");
    return e && e->type == VG_CONF_STRING && vg_streq(e->str, "dev");
}

bool vg_apparmor_active(const vg_config *cfg, bool aa_enabled)
{
    switch (cfg->apparmor) {
    case VG_APPARMOR_ON: return true;
    case VG_APPARMOR_OFF: return false;
    case VG_APPARMOR_AUTO: return aa_enabled;
    }
    return false;
}

bool vg_verdict_in_scope(const vg_config *cfg, const vg_domain *dom)
{
    autoguardplan vg_guard_plan plan;

    vg_guard_plan_init(&plan, cfg, dom);
    return plan.n > 0 || plan.n_extra > 0;
}

static void drop_findings(vg_report *rep, vg_finding_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->v[i].kind == kind) {
            free(rep->v[i].path);
            free(rep->v[i].message);
            free(rep->v[i].fix);
        } else {
            rep->v[k++] = rep->v[i];
        }
    }
    rep->n = k;
}

static const vg_finding *first_finding(const vg_report *rep, vg_finding_kind kind)
{
    for (size_t i = 0; rep && i < rep->n; i++)
        if (rep->v[i].kind == kind)
            return &rep->v[i];
    return NULL;
}

/* The step that stopped vg_verdict_make before the guard's findings, if
 * any: decide() names it, render() says it. */
typedef enum {
    FAILED_NONE,
    FAILED_CONFIG,      /* virtguard.conf */
    FAILED_XML,         /* the domain XML */
    FAILED_QEMU_CONF,   /* qemu.conf */
    FAILED_GUARD,       /* the guard itself */
} failed_step;

/* What the user reads after "domain 'NAME': " and the syslog line after
 * "refused: "; NULL where the message is the error alone. */
static const struct {
    const char *reason;
    const char *log;
} failed_text[] = {
    [FAILED_NONE] = { NULL, NULL },
    [FAILED_CONFIG] = { NULL, NULL },
    [FAILED_XML] = { "cannot read the domain XML", "cannot read the domain XML" },
    [FAILED_QEMU_CONF] = { "cannot read QEMU's settings", NULL },
    [FAILED_GUARD] = { "the check could not run", "the check could not run" },
};

/* Add the security_driver = "none" finding: switching the security driver
 * off is the "fix" virtguard exists to make unnecessary, so with AppArmor
 * available it is refused in enforce mode. */
static void add_security_none(vg_report *rep, const vg_config *cfg, const vg_qemu_conf *qconf,
                              const vg_guard_env *env)
{
    if (!env || !env->aa_enabled || cfg->apparmor == VG_APPARMOR_OFF ||
        !vg_qemu_conf_security_none(qconf))
        return;
    autofree char *what = vg_xasprintf(
        "'%s' line %d sets security_driver = \"none\", which runs every guest without "
        "AppArmor confinement although this host has AppArmor.",
        qconf->source ? qconf->source : "qemu.conf", qconf->security_driver_line);
    vg_report_add(rep, VG_FIND_SECURITY_NONE, VG_CHECK_FAIL, qconf->source, what,
                  "virtguard's per-domain rules make shared-mount guests work with "
                  "confinement on: delete that line (libvirt then uses AppArmor), restart "
                  "libvirtd, and fix file ownership per domain as virtguard's messages say (a "
                  "DAC problem is not solved by security_driver = \"none\").");
}

/* Decide, without rendering any text: fills out's kind, dev_mode, config,
 * domain, uuid, n_extra, report, apparmor_active and warns; *dom gets the
 * parsed domain, *err the error of the step that failed.  Returns that
 * step, FAILED_NONE when the verdict comes from the guard's findings (or
 * the domain is none of virtguard's business: SKIP). */
static failed_step decide(const char *config_path, const char *xml, size_t len,
                          const char *xml_name, vg_hook_op op, const vg_guard_env *env,
                          vg_verdict *out, vg_domain **dom, vg_error **err)
{
    autoqemuconf vg_qemu_conf *qconf = NULL;
    autoguardplan vg_guard_plan plan = { 0 };
    vg_config *cfg = NULL;      /* owned by out->config once loaded */

    if (vg_config_load(config_path, &cfg, err) < 0) {
        out->kind = VG_VERDICT_CONFIG;
        out->dev_mode = broken_config_says_dev(config_path);
        return FAILED_CONFIG;
    }
    out->config = cfg;
    out->dev_mode = cfg->mode == VG_MODE_DEV;
    if (vg_domain_parse(xml, len, xml_name, dom, err) < 0) {
        out->kind = VG_VERDICT_INPUT;
        return FAILED_XML;
    }
    out->domain = vg_str_escape((*dom)->name, true);     /* shown in messages and logs */
    out->uuid = vg_xstrdup((*dom)->uuid);
    /* A pool volume is checked like the file it is. */
    vg_domain_resolve_volumes(*dom, env ? env->pools : NULL);

    /* Fast path: nothing on a shared mount, under a path_map FROM or under
     * apparmor_extra_roots (vg_verdict_in_scope).  Paths only under extra
     * roots go on: they get rules (as `virtguard profile` shows), but no
     * mount or DAC check.  The plan is made once, here, for the guard too. */
    vg_guard_plan_init(&plan, cfg, *dom);
    out->n_extra = plan.n_extra;
    if (plan.n == 0 && plan.n_extra == 0) {
        out->kind = VG_VERDICT_SKIP;
        return FAILED_NONE;
    }
    out->kind = out->dev_mode ? VG_VERDICT_WARN : VG_VERDICT_REFUSE;
    if (vg_qemu_conf_load(env && env->qemu_conf ? env->qemu_conf : cfg->qemu_conf, &qconf,
                          err) < 0)
        return FAILED_QEMU_CONF;
    if (vg_guard_run(&plan, qconf, env, &out->report, err) < 0)
        return FAILED_GUARD;
    out->apparmor_active = vg_apparmor_active(cfg, env && env->aa_enabled);
    add_security_none(out->report, cfg, qconf, env);
    /* The owner warning is said once per start: at `start`, whose XML has
     * the backing chain (`prepare` has not). */
    if (op == VG_HOOK_OP_PREPARE)
        drop_findings(out->report, VG_FIND_OWNER_LOST);
    if (!vg_report_blocking(out->report)) {
        out->kind = VG_VERDICT_ALLOW;
        out->warns = first_finding(out->report, VG_FIND_OWNER_LOST) != NULL;
    }
    return FAILED_NONE;
}

/* A verdict without the guard's findings: `reason` says why, for the user
 * and for syslog.  `shown_name` is the domain as shown, NULL when unknown;
 * the XML's failure keeps the hook's "domain 'NAME': " before the stage in
 * the log line (the name comes from libvirt's arguments, not the XML). */
static void render_failure(vg_verdict *out, failed_step failed, const char *stage,
                           const char *shown_name, const char *errmsg)
{
    const char *word = out->dev_mode ? "warned" : "refused";
    autofree char *who = shown_name ? vg_xasprintf("domain '%s': ", shown_name) : vg_xstrdup("");
    autofree char *log_who = shown_name && failed != FAILED_XML
        ? vg_xasprintf("domain '%s' ", shown_name) : vg_xstrdup(who);

    if (failed == FAILED_CONFIG)
        out->reason = vg_xasprintf("%s. %s", errmsg,
                                   out->dev_mode ? "Starting anyway because the file asks for "
                                                   "dev mode."
                                                 : "Every start is refused until the file is "
                                                   "fixed (virtguard fails closed in enforce "
                                                   "mode); 'virtguard check' shows the same "
                                                   "error.");
    else
        out->reason = vg_xasprintf("%s%s: %s.", who, failed_text[failed].reason, errmsg);
    out->text = vg_xasprintf("virtguard: %s%s\n", out->dev_mode ? VG_DEV_PREFIX : "",
                             out->reason);
    out->log_line = vg_xasprintf("%s%s: %s: %s%s%s", log_who, stage, word,
                                 failed_text[failed].log ? failed_text[failed].log : "",
                                 failed_text[failed].log ? ": " : "", errmsg);
}

/* A verdict from the guard's findings: the report for the user, one line
 * for syslog (the first finding names the cause, the count says the rest). */
static void render_findings(vg_verdict *out, const char *stage, const char *name)
{
    const vg_report *rep = out->report;

    if (out->kind == VG_VERDICT_ALLOW) {
        const vg_finding *w = first_finding(rep, VG_FIND_OWNER_LOST);
        autofree char *extra = out->n_extra
            ? vg_xasprintf(", %zu path(s) under apparmor_extra_roots", out->n_extra)
            : vg_xstrdup("");
        autofree char *line = vg_xasprintf("domain '%s' %s: allowed%s: %zu shared path(s) "
                                           "checked in %lld ms%s%s%s", name, stage,
                                           w ? " with a warning" : "", rep->n_shared,
                                           rep->probe_ms, extra, w ? ": " : "",
                                           w ? w->message : "");
        out->text = vg_report_format(rep, NULL);
        /* one line: names are hostile */
        out->log_line = w ? vg_str_escape(line, false) : steal_pointer(&line);
        return;
    }
    autofree char *first = vg_xstrdup(rep->v[0].message);
    char *nl = strchr(first, '\n');
    if (nl)
        *nl = '\0';
    out->text = vg_report_format(rep, out->dev_mode ? VG_DEV_PREFIX : NULL);
    out->log_line = vg_xasprintf("domain '%s' %s: %s: %zu problem(s): %s", name, stage,
                                 vg_verdict_kind_name(out->kind), rep->n, first);
}

void vg_verdict_make(const char *config_path, const char *xml, size_t len, const char *xml_name,
                     vg_hook_op op, const vg_guard_env *env, vg_verdict *out)
{
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;
    const char *stage = vg_hook_op_name(op);

    memset(out, 0, sizeof(*out));
    config_path = config_path ? config_path : vg_config_default_path();
    failed_step failed = decide(config_path, xml, len, xml_name, op, env, out, &dom, &err);

    switch (failed) {
    case FAILED_CONFIG:
        render_failure(out, failed, stage, NULL, err->msg);
        return;
    case FAILED_XML:
        /* the hook knows the name from its arguments even when the XML
         * cannot be read */
        render_failure(out, failed, stage, env ? env->domain_name : NULL, err->msg);
        return;
    case FAILED_QEMU_CONF:
    case FAILED_GUARD:
        render_failure(out, failed, stage, dom->name, err->msg);
        return;
    case FAILED_NONE:
        break;
    }
    if (out->kind == VG_VERDICT_SKIP)
        out->text = vg_xstrdup("");
    else
        render_findings(out, stage, dom->name);
}

int vg_verdict_hook_status(const vg_verdict *v)
{
    switch (v->kind) {
    case VG_VERDICT_SKIP: case VG_VERDICT_ALLOW: case VG_VERDICT_WARN:
        return VG_EXIT_OK;
    case VG_VERDICT_REFUSE:
        return VG_EXIT_PROBLEMS;
    case VG_VERDICT_CONFIG: case VG_VERDICT_INPUT:
        return vg_verdict_failure_status(v);
    }
    return VG_EXIT_PROBLEMS;
}

int vg_verdict_failure_status(const vg_verdict *v)
{
    return v->dev_mode ? VG_EXIT_OK : VG_EXIT_PROBLEMS;
}

int vg_config_failure_status(const vg_config *cfg)
{
    return cfg->mode == VG_MODE_DEV ? VG_EXIT_OK : VG_EXIT_PROBLEMS;
}

const char *vg_failure_word(int status)
{
    return status == VG_EXIT_OK ? "warned" : "refused";
}

bool vg_verdict_mount_hung(const vg_verdict *v)
{
    return v->kind == VG_VERDICT_WARN && first_finding(v->report, VG_FIND_TIMEOUT);
}

void vg_verdict_clear(vg_verdict *v)
{
    free(v->domain);
    free(v->uuid);
    free(v->reason);
    free(v->text);
    free(v->log_line);
    vg_report_free(v->report);
    vg_config_free(v->config);
    memset(v, 0, sizeof(*v));
}
