/* virtguard: `virtguard audit` (see audit.h). */
#include <config.h>

#include <ctype.h>
#include <dirent.h>

#include "aa-profile.h"
#include "audit.h"
#include "domain-paths.h"
#include "guard.h"
#include "policy.h"
#include "verdict.h"
#include "xmlsafe.h"

void vg_audit_domain_clear(vg_audit_domain *d)
{
    free(d->name);
    free(d->uuid);
    free(d->xml);
    for (size_t i = 0; i < d->n_labels; i++) {
        free(d->labels[i].model);
        free(d->labels[i].label);
    }
    free(d->labels);
    free(d->rules_expected);
    free(d->rules_error);
    free(d->rules_actual);
    memset(d, 0, sizeof(*d));
}

void vg_audit_proc_clear(vg_audit_proc *p)
{
    free(p->exe);
    free(p->guest);
    free(p->uuid);
    free(p->label);
    free(p->mode);
    memset(p, 0, sizeof(*p));
}

void vg_audit_procs_free(vg_audit_proc *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vg_audit_proc_clear(&p[i]);
    free(p);
}

/* QEMU's -name value: "guest=NAME,debug-threads=on" or "NAME,process=..."
 * with ",," standing for a comma in NAME. */
static char *qemu_name(const char *v)
{
    vg_buf b = { 0 };
    if (vg_str_has_prefix(v, "guest="))
        v += 6;
    for (; *v; v++) {
        if (*v == ',') {
            if (v[1] != ',')
                break;
            v++;
        }
        vg_buf_addc(&b, *v);
    }
    return vg_buf_steal(&b);
}

void vg_audit_parse_cmdline(const char *cmdline, size_t len, vg_audit_proc *p)
{
    const char *prev = NULL;
    for (size_t pos = 0; pos < len;) {
        const char *arg = cmdline + pos;
        size_t n = strnlen(arg, len - pos);
        if (pos == 0) {
            free(p->exe);
            p->exe = vg_xstrndup(arg, n);
        }
        if (prev && strcmp(prev, "-name") == 0 && !p->guest) {
            autofree char *v = vg_xstrndup(arg, n);
            p->guest = qemu_name(v);
        } else if (prev && strcmp(prev, "-uuid") == 0 && !p->uuid) {
            p->uuid = vg_xstrndup(arg, n);
        }
        prev = arg;
        pos += n + 1;
    }
}

int vg_audit_parse_status(const char *status, unsigned *uid, unsigned *gid)
{
    const char *u = strstr(status, "\nUid:");
    const char *g = strstr(status, "\nGid:");
    unsigned r, e;
    if (!u || !g || sscanf(u + 5, "%u %u", &r, &e) != 2)
        return -EINVAL;
    *uid = e;
    if (sscanf(g + 5, "%u %u", &r, &e) != 2)
        return -EINVAL;
    *gid = e;
    return 0;
}

void vg_audit_split_label(const char *con, char **label, char **mode)
{
    *label = NULL;
    *mode = NULL;
    if (!con)
        return;
    size_t n = strlen(con);
    while (n && (con[n - 1] == '\n' || con[n - 1] == ' '))
        n--;
    if (n > 3 && con[n - 1] == ')') {
        const char *open = NULL;
        for (size_t i = n; i-- > 0;)
            if (con[i] == '(' && i > 0 && con[i - 1] == ' ') {
                open = con + i;
                break;
            }
        if (open) {
            *label = vg_xstrndup(con, (size_t)(open - 1 - con));
            *mode = vg_xstrndup(open + 1, (size_t)(con + n - 1 - open - 1));
            return;
        }
    }
    *label = vg_xstrndup(con, n);
    if (strcmp(*label, "unconfined") == 0)
        *mode = vg_xstrdup("unconfined");
}

static bool is_qemu(const char *exe)
{
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    return vg_str_has_prefix(base, "qemu-system-") || strcmp(base, "qemu-kvm") == 0 ||
           strcmp(base, "kvm") == 0;
}

int vg_audit_scan_proc(const char *proc_dir, vg_label_fn label_fn, void *opaque,
                       vg_audit_proc **out, size_t *n_out, vg_error **err)
{
    vg_audit_proc *v = NULL;
    size_t n = 0;
    DIR *d = opendir(proc_dir);
    struct dirent *de;

    *out = NULL;
    *n_out = 0;
    if (!d)
        return vg_error_set_errno(err, errno, "cannot list '%s'", proc_dir);
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        autofree char *cl_path = vg_xasprintf("%s/%s/cmdline", proc_dir, de->d_name);
        autofree char *st_path = vg_xasprintf("%s/%s/status", proc_dir, de->d_name);
        autofree char *cl = NULL;
        autofree char *st = NULL;
        size_t len = 0;
        if (vg_read_file(cl_path, 1 << 20, &cl, &len) < 0 || len == 0 || !is_qemu(cl))
            continue;
        vg_audit_proc p = { .pid = atoi(de->d_name) };
        vg_audit_parse_cmdline(cl, len, &p);
        if (vg_read_file(st_path, 1 << 16, &st, NULL) == 0)
            (void)vg_audit_parse_status(st, &p.uid, &p.gid);
        if (label_fn)
            (void)label_fn(p.pid, &p.label, &p.mode, opaque);
        *VG_APPEND(v, n) = p;
    }
    closedir(d);
    *out = v;
    *n_out = n;
    return 0;
}

void vg_audit_read_rules(const vg_config *cfg, const char *aa_dir, vg_audit_domain *d)
{
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;
    autostrv char **warnings = NULL;
    autoguardplan vg_guard_plan plan = { 0 };

    if (!d->xml || !d->uuid)
        return;
    if (vg_domain_parse(d->xml, strlen(d->xml), d->name ? d->name : "-", &dom, &err) < 0) {
        d->rules_error = vg_xstrdup(err->msg);
        return;
    }
    /* Domains that touch no managed root get no rules from the hook. */
    vg_guard_plan_init(&plan, cfg, dom);
    d->needs_rules = plan.n > 0;
    if (!d->needs_rules)
        return;
    if (vg_policy_from_xml(cfg, d->xml, strlen(d->xml), d->name ? d->name : "-",
                           &d->rules_expected, &warnings, &err) < 0)
        d->rules_error = vg_xstrdup(err->msg);

    autofree char *rules_path = vg_aa_rules_path(aa_dir, d->uuid);
    autofree char *main_path = vg_aa_profile_path(aa_dir, d->uuid);
    autofree char *main_text = NULL;
    (void)vg_read_file(rules_path, 1 << 20, &d->rules_actual, NULL);
    if (vg_read_file(main_path, 1 << 20, &main_text, NULL) == 0) {
        autofree char *inc = vg_aa_rules_include(d->uuid);
        d->profile_includes = strstr(main_text, inc) != NULL;
    }
}

/* ------------------------------------------------------------------ */

static const vg_audit_proc *proc_of(const vg_audit_input *in, const vg_audit_domain *d)
{
    for (size_t i = 0; i < in->n_procs; i++)
        if (in->procs[i].uuid && d->uuid && strcasecmp(in->procs[i].uuid, d->uuid) == 0)
            return &in->procs[i];
    for (size_t i = 0; i < in->n_procs; i++)
        if (!in->procs[i].uuid && vg_streq(in->procs[i].guest, d->name))
            return &in->procs[i];
    return NULL;
}

static bool proc_known(const vg_audit_input *in, const vg_audit_proc *p)
{
    for (size_t i = 0; i < in->n_doms; i++) {
        const vg_audit_domain *d = &in->doms[i];
        if (p->uuid ? (d->uuid && strcasecmp(p->uuid, d->uuid) == 0)
                    : vg_streq(p->guest, d->name))
            return true;
    }
    return false;
}

static const vg_audit_seclabel *api_label(const vg_audit_domain *d, const char *model)
{
    for (size_t i = 0; i < d->n_labels; i++)
        if (vg_streq(d->labels[i].model, model))
            return &d->labels[i];
    return NULL;
}

static bool enforce(const vg_audit_input *in)
{
    return in->cfg->mode == VG_MODE_ENFORCE && in->cfg->apparmor != VG_APPARMOR_OFF;
}

static const char *unconfined_why(const vg_audit_input *in)
{
    if (!in->aa_enabled)
        return "AppArmor is not enabled in this kernel, so libvirt runs every guest unconfined "
               "(the \"everything silently unconfined\" case).";
    return "libvirt did not confine it: check security_driver in qemu.conf (\"none\" unconfines "
           "every guest) and the domain's <seclabel type='none'>.";
}

/* The domain's QEMU process: found, confined by its own profile, enforcing. */
static void judge_process(const vg_audit_input *in, const vg_audit_domain *d, const char *expect,
                          vg_checklist *l)
{
    const vg_audit_proc *p = proc_of(in, d);
    const vg_audit_seclabel *aa = api_label(d, "apparmor");
    const vg_audit_seclabel *dac = api_label(d, "dac");
    const char *label = p && p->label ? p->label : aa ? aa->label : NULL;
    const char *mode = p ? p->mode : NULL;
    vg_check_status bad = enforce(in) ? VG_CHECK_FAIL : VG_CHECK_WARN;
    vg_check *c;

    if (!p) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "audit", "domain '%s' (%s): no QEMU process "
                             "found in /proc", d->name, d->uuid ? d->uuid : "?");
        vg_check_detail(c, "libvirt reports it running (id %d), but no qemu-system process "
                           "with its UUID is visible here (another PID namespace?).", d->id);
    } else {
        bool unconfined = !label || strcmp(label, "unconfined") == 0 ||
                          vg_streq(mode, "unconfined");
        bool complain = vg_streq(mode, "complain");
        bool wrong = !unconfined && expect && strcmp(label, expect) != 0;
        vg_check_status st = unconfined || complain || wrong ? bad : VG_CHECK_PASS;
        c = vg_checklist_add(l, st, "audit", "domain '%s': pid %d, uid %u gid %u, AppArmor %s%s%s%s",
                             d->name, p->pid, p->uid, p->gid, label ? label : "unknown",
                             mode && !vg_streq(mode, "unconfined") ? " (" : "",
                             mode && !vg_streq(mode, "unconfined") ? mode : "",
                             mode && !vg_streq(mode, "unconfined") ? ")" : "");
        if (unconfined) {
            vg_check_detail(c, "The guest's QEMU runs unconfined. %s", unconfined_why(in));
            vg_check_fix(c, "%s", in->aa_enabled
                                      ? "remove security_driver = \"none\" from qemu.conf (see "
                                        "docs/migrating-off-security-driver-none.md), restart "
                                        "libvirtd and restart the domain."
                                      : "run guests that need isolation on a kernel with "
                                        "AppArmor enabled.");
        } else if (complain) {
            vg_check_detail(c, "Its profile is in complain mode: denials are only logged%s.",
                            in->cfg->mode == VG_MODE_DEV ? " (virtguard's dev mode does this)"
                                                          : "");
            vg_check_fix(c, "set mode = \"enforce\" in virtguard.conf (or aa-enforce the "
                            "profile) and restart the domain.");
        } else if (wrong) {
            vg_check_detail(c, "It runs under '%s', not its own profile '%s'.", label, expect);
            vg_check_fix(c, "restart the domain; check its <seclabel> in the XML.");
        }
        vg_check_attr_number(c, "pid", p->pid);
        vg_check_attr_number(c, "uid", p->uid);
        vg_check_attr_number(c, "gid", p->gid);
        if (label)
            vg_check_attr_set(c, "label", "%s", label);
        if (mode)
            vg_check_attr_set(c, "mode", "%s", mode);
    }
    vg_check_attr_set(c, "domain", "%s", d->name);
    if (d->uuid)
        vg_check_attr_set(c, "uuid", "%s", d->uuid);
    if (dac)
        vg_check_attr_set(c, "dac_label", "%s", dac->label ? dac->label : "");
    if (aa && aa->label)
        vg_check_attr_set(c, "libvirt_label", "%s", aa->label);
}

/* virtguard's rules for the domain: computable, in place, matching its
 * current XML, and loaded. */
static void judge_rules(const vg_audit_input *in, const vg_audit_domain *d, const char *expect,
                        vg_checklist *l)
{
    vg_check_status bad = enforce(in) ? VG_CHECK_FAIL : VG_CHECK_WARN;
    vg_check *c;

    bool active = vg_apparmor_active(in->cfg, in->aa_enabled);
    if (!d->needs_rules && !d->rules_error)
        return;
    if (d->rules_error) {
        c = vg_checklist_add(l, bad, "rules", "domain '%s': virtguard cannot compute its rules",
                             d->name);
        vg_check_detail(c, "%s.", d->rules_error);
        vg_check_fix(c, "'virtguard profile' on its XML shows the same error.");
        vg_check_attr_set(c, "domain", "%s", d->name);
        return;
    }
    if (!active) {
        c = vg_checklist_add(l, VG_CHECK_INFO, "rules", "domain '%s': no AppArmor rules "
                             "(AppArmor not active here)", d->name);
        vg_check_attr_set(c, "domain", "%s", d->name);
        return;
    }
    autofree char *loaded = NULL;
    if (in->profiles && expect) {
        size_t el = strlen(expect);
        for (const char *s = in->profiles; (s = strstr(s, expect)); s += el)
            if ((s == in->profiles || s[-1] == '\n') && s[el] == ' ')
                loaded = vg_xstrdup("yes");
    }
    if (!d->rules_actual || !d->profile_includes) {
        c = vg_checklist_add(l, bad, "rules", "domain '%s': virtguard's rules are not in place",
                             d->name);
        vg_check_detail(c, "%s", !d->rules_actual ? "The rules file libvirt-UUID.virtguard is "
                                                    "missing."
                                                  : "libvirt's profile for it does not include "
                                                    "virtguard's rules file.");
        vg_check_fix(c, "check the hook and helper ('virtguard doctor') and restart the "
                        "domain: the hook writes the rules at start.");
    } else if (strcmp(d->rules_actual, d->rules_expected) != 0) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "rules", "domain '%s': virtguard's rules differ "
                             "from what its current XML needs", d->name);
        vg_check_detail(c, "They were written at its last start; a disk added or changed since "
                           "then has no rule (hotplug does not run the hook).");
        vg_check_fix(c, "restart the domain; 'virtguard profile' shows the rules its XML needs.");
    } else if (in->aa_enabled && !loaded) {
        c = vg_checklist_add(l, bad, "rules", "domain '%s': profile '%s' is not loaded", d->name,
                             expect);
        vg_check_fix(c, "restart the domain.");
    } else {
        c = vg_checklist_add(l, VG_CHECK_PASS, "rules", "domain '%s': virtguard's rules are in "
                             "place and match its XML", d->name);
    }
    vg_check_attr_set(c, "domain", "%s", d->name);
}

static void judge_domain(const vg_audit_input *in, const vg_audit_domain *d, vg_checklist *l)
{
    autofree char *expect = d->uuid ? vg_aa_profile_name(d->uuid) : NULL;

    judge_process(in, d, expect, l);
    judge_rules(in, d, expect, l);
}

vg_checklist *vg_audit_judge(const vg_audit_input *in)
{
    vg_checklist *l = vg_checklist_new("audit");
    size_t unknown = 0;

    if (!in->aa_enabled) {
        vg_check *c = vg_checklist_add(l, VG_CHECK_INFO, "apparmor", "AppArmor is not enabled in "
                                       "this kernel");
        vg_check_detail(c, "No guest can be confined here.");
    }
    for (size_t i = 0; i < in->n_doms; i++)
        judge_domain(in, &in->doms[i], l);
    for (size_t i = 0; i < in->n_procs; i++) {
        const vg_audit_proc *p = &in->procs[i];
        if (proc_known(in, p))
            continue;
        unknown++;
        vg_check *c = vg_checklist_add(l, VG_CHECK_FAIL, "audit", "QEMU pid %d (guest '%s', "
                                       "UUID %s) is not a running libvirt domain", p->pid,
                                       p->guest ? p->guest : "?", p->uuid ? p->uuid : "?");
        vg_check_detail(c, "It runs as uid %u gid %u with AppArmor label %s%s%s%s. libvirt "
                           "neither knows nor confines it: started by hand or by another "
                           "libvirt daemon.", p->uid, p->gid, p->label ? p->label : "unknown",
                        p->mode ? " (" : "", p->mode ? p->mode : "", p->mode ? ")" : "");
        vg_check_fix(c, "find out who started it (ps -o ppid= -p %d) and stop it, or define "
                        "it in libvirt.", p->pid);
        vg_check_attr_number(c, "pid", p->pid);
        if (p->uuid)
            vg_check_attr_set(c, "uuid", "%s", p->uuid);
    }
    if (in->n_doms == 0 && in->n_procs == 0)
        vg_checklist_add(l, VG_CHECK_INFO, "audit", "no running domains");
    vg_checklist_summary_number(l, "domains", (long long)in->n_doms);
    vg_checklist_summary_number(l, "qemu_processes", (long long)in->n_procs);
    vg_checklist_summary_number(l, "unknown_qemu", (long long)unknown);
    return l;
}
