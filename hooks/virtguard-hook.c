/* virtguard-hook: libvirt qemu hook (installed as LIBVIRT_HOOKS_DIR/qemu.d/virtguard).
 *
 * Contract (libvirt src/util/virhook.c): argv is NAME OP SUBOP EXTRA, the
 * domain XML arrives on stdin, a non-zero exit stops the operation and our
 * whole stderr reaches the virsh user; stdout replaces the XML only for
 * "migrate begin" and "restore begin".  Never call back into libvirt: the
 * daemon holds the domain's lock while we run. */
#include <config.h>

#include <sys/apparmor.h>

#include "aa-lifecycle.h"
#include "aa-profile.h"
#include "domain-paths.h"
#include "hook-op.h"
#include "log.h"
#include "policy.h"
#include "rewrite.h"
#include "subprocess.h"
#include "verdict.h"
#include "vgconfig.h"
#include "xmlsafe.h"

static int read_stdin(char **xml, size_t *len)
{
    int r = vg_read_fd(STDIN_FILENO, VG_XML_MAX_BYTES, xml, len);
    if (r == -EFBIG)
        fprintf(stderr, "virtguard: the domain XML on standard input is larger than %u bytes; "
                        "refusing to parse it.\n", VG_XML_MAX_BYTES);
    else if (r < 0)
        fprintf(stderr, "virtguard: cannot read the domain XML from standard input: %s.\n",
                strerror(-r));
    return r;
}

#define HELPER_PATH SBINDIR "/virtguard-helper"
#define HELPER_EXTRA_MS 30000       /* apparmor_parser's own bound in the helper */
#define HELPER_UNLOAD_MS 10000      /* unload/reconcile: a lock and a few small files */
#define HELPER_GRACE_MS 200         /* for a SIGKILLed helper to go away */
#define HELPER_OUTPUT_MAX 65536

/* Run the helper with `input` on stdin, bounded in time: at most
 * `timeout_ms` plus HELPER_GRACE_MS, whatever the helper does - a helper
 * stuck in an uninterruptible sleep on a hung share is left to init (see
 * lib/base/subprocess.h) and libvirtd's start goes on.  Its output is collected into
 * *out.  Returns its exit status, or -1. */
static int run_helper(const char *cmd, const char *uuid, const char *input, size_t len,
                      unsigned timeout_ms, char **out)
{
    char *argv[] = { (char *)HELPER_PATH, (char *)cmd, (char *)"--uuid", (char *)uuid, NULL };
    autoerror vg_error *err = NULL;
    vg_spawn_result res;

    if (vg_spawn_run(argv, input, len, timeout_ms, HELPER_GRACE_MS, HELPER_OUTPUT_MAX, &res,
                     &err) < 0) {
        *out = vg_xasprintf("%s\n", err->msg);
        return -1;
    }
    int st = vg_spawn_exit_status(&res);
    vg_buf b = { 0 };
    vg_buf_add(&b, res.output);
    if (res.timed_out)
        vg_buf_printf(&b, "virtguard-helper did not finish within %u ms and was stopped%s\n",
                      timeout_ms, res.left_behind ? " (it is stuck in the kernel, probably on a "
                                                    "hung mount, and was left behind)" : "");
    *out = vg_buf_steal(&b);
    vg_spawn_result_clear(&res);
    return st;
}

/* A start virtguard does not manage (no file in scope, AppArmor off or not
 * enabled): take back what an earlier start left in the domain's profile -
 * its rules file, a complain flag from dev mode - so that libvirt loads its
 * own profile, as it would without virtguard.  A cheap check first: nothing
 * of ours, no helper.  Returns the hook exit status. */
static int reconcile(const vg_verdict *v, vg_hook_op op)
{
    autofree char *out = NULL;

    if (!v->uuid || vg_policy_check_uuid(v->uuid, NULL) < 0 ||
        !vg_aa_domain_has_ours(APPARMORDIR, v->uuid))
        return VG_EXIT_OK;
    if (run_helper("reconcile", v->uuid, "", 0, HELPER_UNLOAD_MS, &out) == 0) {
        if (*out)
            vg_log(LOG_INFO, "domain '%s' %s: virtguard's earlier changes taken back: %s",
                   v->domain, vg_hook_op_name(op), out);
        return VG_EXIT_OK;
    }
    int st = vg_verdict_failure_status(v);
    fprintf(stderr, "virtguard: %sdomain '%s': an earlier start left virtguard's AppArmor rules or "
                    "its dev-mode complain flag in the domain's profile, and they could not be "
                    "removed, so the domain would not run under libvirt's own profile:\n%s",
            st == VG_EXIT_OK ? VG_DEV_PREFIX : "", v->domain, out);
    vg_log(LOG_WARNING, "domain '%s' %s: %s: cannot take back virtguard's earlier changes: %s",
           v->domain, vg_hook_op_name(op), vg_failure_word(st), out);
    return st;
}

/* After the guard let the start go on: put the AppArmor rules in place
 * before libvirt creates/reloads the domain's profile, for the UUID the
 * verdict read from the XML.  Returns the hook exit status. */
static int rules(vg_verdict *v, const char *xml, size_t len, vg_hook_op op)
{
    autofree char *out = NULL;
    int st;

    if (vg_verdict_mount_hung(v)) {
        fprintf(stderr, "virtguard: " VG_DEV_PREFIX "domain '%s': no AppArmor rules "
                        "written: the shared mount did not answer.\n", v->domain);
        return vg_verdict_hook_status(v);
    }
    if (!v->uuid)
        return vg_verdict_failure_status(v);
    st = run_helper("load", v->uuid, xml, len,
                    v->config->probe_timeout_ms + HELPER_EXTRA_MS, &out);
    if (st == 0)
        return VG_EXIT_OK;
    autofree char *shown = vg_str_escape_lines(out);
    st = vg_verdict_failure_status(v);
    fprintf(stderr, "virtguard: %sdomain '%s': the AppArmor rules for its shared-mount files "
                    "could not be put in place, so QEMU would be denied them:\n%s",
            st == VG_EXIT_OK ? VG_DEV_PREFIX : "", v->domain, shown);
    vg_log(LOG_WARNING, "domain '%s' %s: %s: AppArmor rules failed: %s", v->domain,
           vg_hook_op_name(op), vg_failure_word(st), out);
    return st;
}

static int guard(const char *name, vg_hook_op op)
{
    autofree char *xml = NULL;
    autofree char *shown = vg_str_escape(name, true);
    size_t len = 0;
    vg_verdict v;
    vg_guard_env env = { .aa_enabled = aa_is_enabled() == 1, .domain_name = shown };
    int status;

    if (read_stdin(&xml, &len) < 0)
        return VG_EXIT_PROBLEMS;
    vg_verdict_make(NULL, xml, len, "-", op, &env, &v);
    if (v.text && *v.text)
        fputs(v.text, stderr);
    if (v.log_line)
        vg_log(v.kind == VG_VERDICT_ALLOW && !v.warns ? LOG_INFO : LOG_WARNING, "%s%s", v.log_line,
               (v.kind == VG_VERDICT_ALLOW || v.kind == VG_VERDICT_WARN) && !v.apparmor_active
                   ? "; AppArmor rules skipped (AppArmor is not enabled on this host)" : "");
    status = vg_verdict_hook_status(&v);
    if (status == 0 && (v.kind == VG_VERDICT_ALLOW || v.kind == VG_VERDICT_WARN) &&
        v.apparmor_active)
        status = rules(&v, xml, len, op);
    else if (status == 0 && v.kind != VG_VERDICT_CONFIG && v.kind != VG_VERDICT_INPUT)
        status = reconcile(&v, op);
    vg_verdict_clear(&v);
    return status;
}

/* release: drop the domain's rules (libvirt has unloaded its profile). */
static int release(const char *name, vg_hook_op op)
{
    autofree char *xml = NULL;
    autofree char *out = NULL;
    autodomain vg_domain *dom = NULL;
    size_t len = 0;

    (void)name;
    (void)op;
    if (read_stdin(&xml, &len) < 0 || vg_domain_parse(xml, len, "-", &dom, NULL) < 0 ||
        !dom->uuid || vg_policy_check_uuid(dom->uuid, NULL) < 0)
        return VG_EXIT_OK;
    if (!vg_aa_domain_has_ours(APPARMORDIR, dom->uuid))
        return VG_EXIT_OK;
    if (run_helper("unload", dom->uuid, "", 0, HELPER_UNLOAD_MS, &out) != 0)
        vg_log(LOG_WARNING, "domain '%s' release: cannot remove its AppArmor rules: %s",
               dom->name, out);
    return VG_EXIT_OK;   /* a stop cannot be refused */
}

/* migrate/restore: print the XML with path_map applied, or nothing. */
static int rewrite(const char *name, vg_hook_op op)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *out = NULL;
    const char *opname = vg_hook_op_name(op);
    size_t len = 0, changed = 0;

    (void)name;
    if (vg_config_load(NULL, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s: %s\n", opname, err->msg);
        vg_log(LOG_WARNING, "%s: refused: %s", opname, err->msg);
        return VG_EXIT_PROBLEMS;
    }
    if (cfg->n_path_map == 0)
        return VG_EXIT_OK;
    if (read_stdin(&xml, &len) < 0)
        return VG_EXIT_PROBLEMS;
    if (vg_rewrite_xml(cfg->path_map, cfg->n_path_map, xml, len, "-", &out, &changed, &err) < 0) {
        int st = vg_config_failure_status(cfg);
        fprintf(stderr, "virtguard: %s: cannot rewrite the domain XML: %s\n", opname, err->msg);
        vg_log(LOG_WARNING, "%s: %s: cannot rewrite the domain XML: %s", opname,
               vg_failure_word(st), err->msg);
        return st;
    }
    if (changed == 0)
        return VG_EXIT_OK;
    vg_log(LOG_INFO, "%s: rewrote %zu path(s) with path_map", opname, changed);
    if (vg_write_all(STDOUT_FILENO, out, strlen(out)) < 0)
        return VG_EXIT_PROBLEMS;
    return VG_EXIT_OK;
}

/* What the hook does, by operation: every pair not listed is none of its
 * business (exit 0), as is an operation libvirt may add later. */
static const struct {
    vg_hook_op op;
    vg_hook_subop subop;
    int (*run)(const char *name, vg_hook_op op);
} actions[] = {
    { VG_HOOK_OP_PREPARE, VG_HOOK_SUBOP_BEGIN, guard },
    { VG_HOOK_OP_START, VG_HOOK_SUBOP_BEGIN, guard },
    { VG_HOOK_OP_RELEASE, VG_HOOK_SUBOP_END, release },
    { VG_HOOK_OP_MIGRATE, VG_HOOK_SUBOP_BEGIN, rewrite },
    { VG_HOOK_OP_RESTORE, VG_HOOK_SUBOP_BEGIN, rewrite },
};

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s NAME OP SUBOP EXTRA < domain.xml\n"
                        "(a libvirt qemu hook: installed in %s/qemu.d/, run by libvirtd)\n",
                argv[0], LIBVIRT_HOOKS_DIR);
        return VG_EXIT_CANNOT_RUN;
    }
    /* Strings become values here, at the door. */
    int op = vg_hook_op_from_name(argv[2]);
    int subop = vg_hook_subop_from_name(argv[3]);

    /* No vg_log_open() here: the operations that need nothing (started,
     * stopped, reconnect...) exit without a syslog connection; vg_log()
     * opens it at the first message. */
    for (size_t i = 0; i < VG_N_ELEMENTS(actions); i++)
        if ((int)actions[i].op == op && (int)actions[i].subop == subop)
            return actions[i].run(argv[1], actions[i].op);
    return VG_EXIT_OK;
}
