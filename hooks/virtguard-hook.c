/* virtguard-hook: libvirt qemu hook (installed as LIBVIRT_HOOKS_DIR/qemu.d/virtguard).
 *
 * Contract (libvirt src/util/virhook.c): argv is NAME OP SUBOP EXTRA, the
 * domain XML arrives on stdin, a non-zero exit stops the operation and our
 * whole stderr reaches the virsh user; stdout replaces the XML only for
 * "migrate begin" and "restore begin".  Never call back into libvirt: the
 * daemon holds the domain's lock while we run. */
#include <config.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/apparmor.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "aa-profile.h"
#include "domain-paths.h"
#include "log.h"
#include "rewrite.h"
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

/* Run the helper with `input` on stdin, bounded in time; its output is
 * collected into *out.  Returns its exit status, or -1. */
static int run_helper(const char *cmd, const char *uuid, const char *input, size_t len,
                      unsigned timeout_ms, char **out)
{
    int in[2], res[2];
    pid_t pid;
    vg_buf b = { 0 };

    *out = NULL;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(res[1], STDOUT_FILENO);
        dup2(res[1], STDERR_FILENO);
        execl(HELPER_PATH, HELPER_PATH, cmd, "--uuid", uuid, (char *)NULL);
        fprintf(stderr, "cannot run '%s': %s", HELPER_PATH, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(res[1]);
    signal(SIGPIPE, SIG_IGN);
    (void)vg_write_all(in[1], input, len);
    close(in[1]);

    long long deadline = vg_now_ms() + timeout_ms;
    bool timed_out = false;
    char chunk[4096];
    for (;;) {
        struct pollfd p = { .fd = res[0], .events = POLLIN };
        long long left = deadline - vg_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            timed_out = true;
            break;
        }
        ssize_t n = read(res[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (b.len < 65536)
            vg_buf_addn(&b, chunk, (size_t)n);
    }
    close(res[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        vg_buf_printf(&b, "virtguard-helper did not finish within %u ms and was stopped\n",
                      timeout_ms);
    *out = vg_buf_steal(&b);
    return timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool report_has(const vg_report *r, vg_finding_kind k)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (r->v[i].kind == k)
            return true;
    return false;
}

/* After the guard let the start go on: put the AppArmor rules in place
 * before libvirt creates/reloads the domain's profile.  Returns the hook
 * exit status. */
static int rules(vg_verdict *v, const char *xml, size_t len, const char *op)
{
    autodomain vg_domain *dom = NULL;
    autofree char *out = NULL;
    bool dev = v->dev_mode;
    int st;

    if (!v->apparmor_active)
        return 0;       /* noted in the decision's log line */
    if (report_has(v->report, VG_FIND_TIMEOUT)) {
        fprintf(stderr, "virtguard: WARNING (dev mode): domain '%s': no AppArmor rules "
                        "written: the shared mount did not answer.\n", v->domain);
        return 0;
    }
    if (vg_domain_parse(xml, len, "-", &dom, NULL) < 0 || !dom->uuid)
        return dev ? 0 : 1;
    st = run_helper("load", dom->uuid, xml, len,
                    v->config->probe_timeout_ms + HELPER_EXTRA_MS, &out);
    if (st == 0)
        return 0;
    fprintf(stderr, "virtguard: %sdomain '%s': the AppArmor rules for its shared-mount files "
                    "could not be put in place, so QEMU would be denied them:\n%s",
            dev ? "WARNING (dev mode): " : "", v->domain, out);
    vg_log(LOG_WARNING, "domain '%s' %s: %s: AppArmor rules failed: %s", v->domain, op,
           dev ? "warned" : "refused", out);
    return dev ? 0 : 1;
}

static int guard(const char *op)
{
    autofree char *xml = NULL;
    size_t len = 0;
    vg_verdict v;
    vg_guard_env env = { .aa_enabled = aa_is_enabled() == 1 };
    int status;

    if (read_stdin(&xml, &len) < 0)
        return 1;
    vg_verdict_make(NULL, xml, len, "-", op, &env, &v);
    if (v.text && *v.text)
        fputs(v.text, stderr);
    if (v.log_line)
        vg_log(v.kind == VG_VERDICT_ALLOW && !v.warns ? LOG_INFO : LOG_WARNING, "%s%s", v.log_line,
               (v.kind == VG_VERDICT_ALLOW || v.kind == VG_VERDICT_WARN) && !v.apparmor_active
                   ? "; AppArmor rules skipped (AppArmor is not enabled on this host)" : "");
    status = vg_verdict_hook_status(&v);
    if (status == 0 && (v.kind == VG_VERDICT_ALLOW || v.kind == VG_VERDICT_WARN))
        status = rules(&v, xml, len, op);
    vg_verdict_clear(&v);
    return status;
}

/* release: drop the domain's rules (libvirt has unloaded its profile). */
static int release(void)
{
    autofree char *xml = NULL;
    autofree char *out = NULL;
    autodomain vg_domain *dom = NULL;
    size_t len = 0;

    if (read_stdin(&xml, &len) < 0 || vg_domain_parse(xml, len, "-", &dom, NULL) < 0 ||
        !dom->uuid)
        return 0;
    autofree char *name = vg_aa_profile_name(dom->uuid);
    autofree char *rules_path = vg_xasprintf(APPARMORDIR "/libvirt/%s" VG_AA_RULES_SUFFIX, name);
    if (access(rules_path, F_OK) < 0)
        return 0;
    if (run_helper("unload", dom->uuid, "", 0, 10000, &out) != 0)
        vg_log(LOG_WARNING, "domain '%s' release: cannot remove its AppArmor rules: %s",
               dom->name, out);
    return 0;   /* a stop cannot be refused */
}

/* migrate/restore: print the XML with path_map applied, or nothing. */
static int rewrite(const char *op)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *out = NULL;
    size_t len = 0, changed = 0;

    if (vg_config_load(NULL, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s: %s\n", op, err->msg);
        vg_log(LOG_WARNING, "%s: refused: %s", op, err->msg);
        return 1;
    }
    if (cfg->n_path_map == 0)
        return 0;
    if (read_stdin(&xml, &len) < 0)
        return 1;
    if (vg_rewrite_xml(cfg->path_map, cfg->n_path_map, xml, len, "-", &out, &changed, &err) < 0) {
        fprintf(stderr, "virtguard: %s: cannot rewrite the domain XML: %s\n", op, err->msg);
        vg_log(LOG_WARNING, "%s: %s: cannot rewrite the domain XML: %s", op,
               cfg->mode == VG_MODE_DEV ? "warned" : "refused", err->msg);
        return cfg->mode == VG_MODE_DEV ? 0 : 1;
    }
    if (changed == 0)
        return 0;
    vg_log(LOG_INFO, "%s: rewrote %zu path(s) with path_map", op, changed);
    if (vg_write_all(STDOUT_FILENO, out, strlen(out)) < 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *op, *sub;

    if (argc < 4) {
        fprintf(stderr, "usage: %s NAME OP SUBOP EXTRA < domain.xml\n"
                        "(a libvirt qemu hook: installed in %s/qemu.d/, run by libvirtd)\n",
                argv[0], LIBVIRT_HOOKS_DIR);
        return 2;
    }
    op = argv[2];
    sub = argv[3];
    vg_log_open("virtguard");

    if (strcmp(sub, "begin") == 0 && (strcmp(op, "prepare") == 0 || strcmp(op, "start") == 0))
        return guard(op);
    if (strcmp(op, "release") == 0 && strcmp(sub, "end") == 0)
        return release();
    if (strcmp(sub, "begin") == 0 && (strcmp(op, "migrate") == 0 || strcmp(op, "restore") == 0))
        return rewrite(op);
    /* Every other operation is none of our business. */
    return 0;
}
