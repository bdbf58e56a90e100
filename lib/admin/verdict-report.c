/* virtguard: the hook's verdict as an admin report ('virtguard check
 * --json'), apart from checklist.c so that the report renderers do not
 * pull the guard in. */
#include <config.h>

#include "verdict-report.h"

static const char *finding_topic(vg_finding_kind k)
{
    switch (k) {
    case VG_FIND_UNMAPPED: return "unmapped";
    case VG_FIND_NOT_MOUNTED: return "not-mounted";
    case VG_FIND_SHADOW: return "shadow";
    case VG_FIND_FSTYPE: return "fstype";
    case VG_FIND_TIMEOUT: return "timeout";
    case VG_FIND_MISSING: return "missing";
    case VG_FIND_DAC: return "dac";
    case VG_FIND_STATE_DIR: return "state-dir";
    case VG_FIND_IDENTITY: return "identity";
    case VG_FIND_SECURITY_NONE: return "security-none";
    case VG_FIND_OWNER_LOST: return "owner-lost";
    }
    return "?";
}

/* A title (the first line) and a detail (the rest, if any). */
static vg_check *add_text(vg_checklist *l, vg_check_status st, const char *topic,
                          const char *text)
{
    autofree char *t = vg_xstrdup(text);
    size_t n = strlen(t);
    while (n && t[n - 1] == '\n')
        t[--n] = '\0';
    char *nl = strchr(t, '\n');
    if (nl)
        *nl = '\0';
    vg_check *c = vg_checklist_add(l, st, topic, "%s", t);
    if (nl)
        vg_check_detail(c, "%s", nl + 1);
    return c;
}

vg_checklist *vg_checklist_from_verdict(const vg_verdict *v)
{
    vg_checklist *l = vg_checklist_new("check");
    const char *dom = v->domain ? v->domain : "?";
    vg_check *c;

    vg_checklist_summary(l, "verdict", "%s", vg_verdict_kind_name(v->kind));
    if (v->domain)
        vg_checklist_summary(l, "domain", "%s", v->domain);
    vg_checklist_summary(l, "mode", "%s", v->dev_mode ? "dev" : "enforce");
    switch (v->kind) {
    case VG_VERDICT_SKIP:
        vg_checklist_add(l, VG_CHECK_PASS, "domain", "domain '%s' touches no shared mount: the "
                         "hook lets it start unchecked", dom);
        return l;
    case VG_VERDICT_CONFIG:
    case VG_VERDICT_INPUT:
        add_text(l, VG_CHECK_FAIL, v->kind == VG_VERDICT_CONFIG ? "config" : "input", v->reason);
        vg_checklist_incomplete(l, "The check could not run: %s", v->reason);
        return l;
    case VG_VERDICT_ALLOW:
    case VG_VERDICT_WARN:
    case VG_VERDICT_REFUSE:
        break;
    }
    if (!v->report) {
        /* qemu.conf unreadable or the probe could not run */
        add_text(l, VG_CHECK_FAIL, "check", v->reason);
        return l;
    }
    vg_checklist_summary_number(l, "shared_paths", (long long)v->report->n_shared);
    vg_checklist_summary_number(l, "probe_ms", v->report->probe_ms);
    for (size_t i = 0; i < v->report->n; i++) {
        const vg_finding *f = &v->report->v[i];
        /* the fix in "fix", not repeated in the title or detail */
        size_t n = strlen(f->message), k = f->fix ? strlen(f->fix) + 1 : 0;
        autofree char *what = vg_xstrndup(f->message, k <= n ? n - k : n);
        c = add_text(l, f->status, finding_topic(f->kind), what);
        if (f->fix)
            vg_check_fix(c, "%s", f->fix);
        if (f->path)
            vg_check_attr_set(c, "path", "%s", f->path);
    }
    if (v->kind == VG_VERDICT_ALLOW)
        vg_checklist_add(l, VG_CHECK_PASS, "domain", "domain '%s': %zu shared path(s) checked, "
                         "all fine", dom, v->report->n_shared);
    return l;
}
