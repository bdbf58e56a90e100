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

/* A verdict without the guard's findings: `reason` (owned) says why, and
 * the hook's text is rendered from it.  Set out->dev_mode first. */
static void set_reason(vg_verdict *out, char *reason)
{
    out->reason = reason;
    out->text = vg_xasprintf("virtguard: %s%s\n", out->dev_mode ? VG_DEV_PREFIX : "", reason);
}

void vg_verdict_make(const char *config_path, const char *xml, size_t len, const char *xml_name,
                     const char *stage, const vg_guard_env *env, vg_verdict *out)
{
    vg_config *cfg = NULL;      /* owned by out->config once loaded */
    autoqemuconf vg_qemu_conf *qconf = NULL;
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;
    autoguardplan vg_guard_plan plan = { 0 };

    memset(out, 0, sizeof(*out));
    config_path = config_path ? config_path : vg_config_default_path();

    if (vg_config_load(config_path, &cfg, &err) < 0) {
        out->kind = VG_VERDICT_CONFIG;
        out->dev_mode = broken_config_says_dev(config_path);
        set_reason(out, vg_xasprintf("%s. %s", err->msg,
                                     out->dev_mode ? "Starting anyway because the file asks "
                                                     "for dev mode."
                                                   : "Every start is refused until the file "
                                                     "is fixed (virtguard fails closed in "
                                                     "enforce mode); 'virtguard check' shows "
                                                     "the same error."));
        out->log_line = vg_xasprintf("%s: %s: %s", stage,
                                     out->dev_mode ? "warned" : "refused", err->msg);
        return;
    }
    out->config = cfg;
    out->dev_mode = cfg->mode == VG_MODE_DEV;

    if (vg_domain_parse(xml, len, xml_name, &dom, &err) < 0) {
        /* the hook knows the name from its arguments even when the XML
         * cannot be read */
        autofree char *who = env && env->domain_name
            ? vg_xasprintf("domain '%s': ", env->domain_name) : vg_xstrdup("");
        out->kind = VG_VERDICT_INPUT;
        set_reason(out, vg_xasprintf("%scannot read the domain XML: %s.", who, err->msg));
        out->log_line = vg_xasprintf("%s%s: %s: cannot read the domain XML: %s", who, stage,
                                     out->dev_mode ? "warned" : "refused", err->msg);
        return;
    }
    out->domain = vg_str_escape(dom->name, true);     /* shown in messages and logs */
    out->uuid = vg_xstrdup(dom->uuid);
    /* A pool volume is checked like the file it is. */
    vg_domain_resolve_volumes(dom, env ? env->pools : NULL);

    /* Fast path: nothing on a shared mount, under a path_map FROM or under
     * apparmor_extra_roots (vg_verdict_in_scope).  Paths only under extra
     * roots go on: they get rules (as `virtguard profile` shows), but no
     * mount or DAC check.  The plan is made once, here, for the guard too. */
    vg_guard_plan_init(&plan, cfg, dom);
    out->n_extra = plan.n_extra;
    if (plan.n == 0 && plan.n_extra == 0) {
        out->kind = VG_VERDICT_SKIP;
        out->text = vg_xstrdup("");
        return;
    }

    if (vg_qemu_conf_load(env && env->qemu_conf ? env->qemu_conf : cfg->qemu_conf, &qconf,
                          &err) < 0) {
        out->kind = out->dev_mode ? VG_VERDICT_WARN : VG_VERDICT_REFUSE;
        set_reason(out, vg_xasprintf("domain '%s': cannot read QEMU's settings: %s.", dom->name,
                                     err->msg));
        out->log_line = vg_xasprintf("domain '%s' %s: %s: %s", dom->name, stage,
                                     vg_verdict_kind_name(out->kind), err->msg);
        return;
    }

    if (vg_guard_run(&plan, qconf, env, &out->report, &err) < 0) {
        out->kind = out->dev_mode ? VG_VERDICT_WARN : VG_VERDICT_REFUSE;
        set_reason(out, vg_xasprintf("domain '%s': the check could not run: %s.", dom->name,
                                     err->msg));
        out->log_line = vg_xasprintf("domain '%s' %s: %s: the check could not run: %s",
                                     dom->name, stage, vg_verdict_kind_name(out->kind), err->msg);
        return;
    }
    vg_report *rep = out->report;
    out->apparmor_active = vg_apparmor_active(cfg, env && env->aa_enabled);
    /* Switching the security driver off is the "fix" virtguard exists to
     * make unnecessary: with AppArmor available, refuse it in enforce mode. */
    if (env && env->aa_enabled && cfg->apparmor != VG_APPARMOR_OFF &&
        vg_qemu_conf_security_none(qconf)) {
        vg_finding *f = VG_APPEND(rep->v, rep->n);
        f->kind = VG_FIND_SECURITY_NONE;
        f->status = VG_CHECK_FAIL;
        f->path = vg_xstrdup(qconf->source);
        f->message = vg_xasprintf(
            "'%s' line %d sets security_driver = \"none\", which runs every guest without "
            "AppArmor confinement although this host has AppArmor. virtguard's per-domain rules "
            "make shared-mount guests work with confinement on: delete that line (libvirt then "
            "uses AppArmor), restart libvirtd, and fix file ownership per domain as virtguard's "
            "messages say (a DAC problem is not solved by security_driver = \"none\").",
            qconf->source ? qconf->source : "qemu.conf", qconf->security_driver_line);
    }
    /* The owner warning is said once per start: at `start`, whose XML has
     * the backing chain (`prepare` has not). */
    if (vg_streq(stage, "prepare"))
        drop_findings(rep, VG_FIND_OWNER_LOST);
    if (!vg_report_blocking(rep)) {
        const vg_finding *w = first_finding(rep, VG_FIND_OWNER_LOST);
        out->kind = VG_VERDICT_ALLOW;
        out->warns = w != NULL;
        out->text = vg_report_format(rep, NULL);
        autofree char *extra = out->n_extra
            ? vg_xasprintf(", %zu path(s) under apparmor_extra_roots", out->n_extra)
            : vg_xstrdup("");
        if (w) {
            autofree char *line = vg_xasprintf("domain '%s' %s: allowed with a warning: %zu "
                                               "shared path(s) checked in %lld ms%s: %s",
                                               dom->name, stage, rep->n_shared, rep->probe_ms,
                                               extra, w->message);
            out->log_line = vg_str_escape(line, false);   /* one line: names are hostile */
        } else {
            out->log_line = vg_xasprintf("domain '%s' %s: allowed: %zu shared path(s) checked "
                                         "in %lld ms%s", dom->name, stage, rep->n_shared,
                                         rep->probe_ms, extra);
        }
        return;
    }
    out->kind = out->dev_mode ? VG_VERDICT_WARN : VG_VERDICT_REFUSE;
    out->text = vg_report_format(rep, out->dev_mode ? VG_DEV_PREFIX : NULL);
    /* One line: the first finding names the cause; the count says the rest. */
    autofree char *first = vg_xstrdup(rep->v[0].message);
    char *nl = strchr(first, '\n');
    if (nl)
        *nl = '\0';
    out->log_line = vg_xasprintf("domain '%s' %s: %s: %zu problem(s): %s", dom->name, stage,
                                 vg_verdict_kind_name(out->kind), rep->n, first);
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
