/* virtguard: the admin CLI.  Thin: options, I/O, exit status; every
 * decision is in the library. */
#include <config.h>

#include <getopt.h>
#include <sys/apparmor.h>

#include "audit-libvirt.h"
#include "audit.h"
#include "checklist.h"
#include "doctor.h"
#include "domain-paths.h"
#include "explain.h"
#include "lima.h"
#include "policy.h"
#include "rewrite.h"
#include "verdict.h"
#include "vgconfig.h"
#include "xmlsafe.h"

enum { EXIT_OK = 0, EXIT_PROBLEMS = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: virtguard COMMAND [OPTIONS] [DOMAIN.xml|-]\n"
            "\n"
            "Commands:\n"
            "  paths   [--config FILE] [--json] XML   host paths the domain touches: ACCESS ROLE PATH\n"
            "  check   [--config FILE] XML            the checks the hook runs at start\n"
            "  rewrite [--config FILE] XML            the XML with path_map applied\n"
            "  profile [--config FILE] XML            the AppArmor rules the helper would load (dry run)\n"
            "          (paths, check, profile: --connect URI for storage pool volumes)\n"
            "  doctor  [--config FILE] [--json] [--no-probe]\n"
            "                                         check the host as libvirt will use it\n"
            "  explain [--config FILE] [--json] [--connect URI] [FILE|-]\n"
            "                                         causes and fixes for AppArmor/libvirt log lines\n"
            "  audit   [--config FILE] [--json] [--connect URI]\n"
            "                                         every running guest's confinement and rules\n"
            "  version\n"
            "\n"
            "Exit status: 0 fine, 1 problems found (check: start would be refused), 2 usage,\n"
            "config or input error (doctor/explain/audit: could not run).  Default config: %s\n"
            "See virtguard(8).\n",
            vg_config_default_path());
}

typedef struct opts {
    const char *config;
    bool json;
    const char *input;
    const char *uri;            /* --connect: where storage pools are looked up */
} opts;

/* Storage volumes resolved over libvirt's read-only API (files when no
 * daemon answers). */
static vg_libvirt_pools cli_pools;

static const vg_pool_source *pool_source(const opts *o)
{
    static vg_pool_source src = { .lookup = vg_libvirt_pool_lookup, .opaque = &cli_pools };
    cli_pools.uri = o->uri ? o->uri : "qemu:///system";
    return &src;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "connect", required_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:jC:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'C': o->uri = optarg; break;
        case 'j': o->json = true; break;
        case 'h': usage(stdout); exit(EXIT_OK);
        default: usage(stderr); return -EINVAL;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "virtguard: %s needs exactly one DOMAIN.xml argument ('-' for stdin)\n",
                argv[0]);
        return -EINVAL;
    }
    o->input = argv[optind];
    return 0;
}

static int read_input(const char *input, char **xml, size_t *len)
{
    int r = strcmp(input, "-") == 0 ? vg_read_fd(STDIN_FILENO, VG_XML_MAX_BYTES, xml, len)
                                    : vg_read_file(input, VG_XML_MAX_BYTES, xml, len);
    if (r == -EFBIG)
        fprintf(stderr, "virtguard: '%s' is larger than %u bytes; refusing to parse it\n",
                input, VG_XML_MAX_BYTES);
    else if (r < 0)
        fprintf(stderr, "virtguard: cannot read '%s': %s\n", input, strerror(-r));
    return r;
}

static int cmd_paths(const opts *o)
{
    autofree char *xml = NULL;
    autofree char *text = NULL;
    autofree char *notes = NULL;
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;
    size_t len;

    if (o->config) {
        /* Validate the config so that a broken one is reported here too. */
        autoconfig vg_config *cfg = NULL;
        if (vg_config_load(o->config, &cfg, &err) < 0) {
            fprintf(stderr, "virtguard: %s\n", err->msg);
            return EXIT_USAGE;
        }
    }
    if (read_input(o->input, &xml, &len) < 0)
        return EXIT_USAGE;
    if (vg_domain_parse(xml, len, o->input, &dom, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_USAGE;
    }
    vg_domain_resolve_volumes(dom, pool_source(o));
    text = vg_domain_paths_format(dom, o->json);
    fputs(text, stdout);
    if (!o->json) {
        notes = vg_domain_unresolved_format(dom);
        fputs(notes, stderr);
    }
    return EXIT_OK;
}

static int cmd_rewrite(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *out = NULL;
    size_t len, changed = 0;

    if (vg_config_load(o->config, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_USAGE;
    }
    if (read_input(o->input, &xml, &len) < 0)
        return EXIT_USAGE;
    if (vg_rewrite_xml(cfg->path_map, cfg->n_path_map, xml, len, o->input, &out, &changed,
                       &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_USAGE;
    }
    fputs(out, stdout);
    if (out[0] && out[strlen(out) - 1] != '\n')
        fputc('\n', stdout);
    fprintf(stderr, "virtguard: %zu path(s) rewritten\n", changed);
    return EXIT_OK;
}

static int cmd_profile(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *rules = NULL;
    autostrv char **warnings = NULL;
    size_t len;

    if (vg_config_load(o->config, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_USAGE;
    }
    if (read_input(o->input, &xml, &len) < 0)
        return EXIT_USAGE;
    /* vg_policy_from_xml's steps, with volumes resolved over the API */
    autodomain vg_domain *dom = NULL;
    autopolicy vg_policy *p = NULL;
    if (vg_domain_parse(xml, len, o->input, &dom, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_PROBLEMS;
    }
    vg_domain_resolve_volumes(dom, pool_source(o));
    /* The hook writes rules only for domains in scope: say so rather than
     * show rules nothing would ever load. */
    if (!vg_verdict_in_scope(cfg, dom)) {
        autofree char *shown = vg_str_escape(dom->name ? dom->name : "?", true);
        fprintf(stderr, "virtguard: domain '%s' has no file under shared_mounts, path_map or "
                        "apparmor_extra_roots in '%s': the hook lets it start unchecked and "
                        "writes no AppArmor rules for it (libvirt's own rules apply).\n",
                shown, cfg->source ? cfg->source : vg_config_default_path());
        return EXIT_OK;
    }
    if (vg_policy_check_domain(dom, NULL, &err) < 0 || vg_policy_resolve(cfg, dom, &p, &err) < 0 ||
        vg_policy_render(p, dom->uuid, dom->name, &rules, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_PROBLEMS;
    }
    for (size_t i = 0; p->warnings && p->warnings[i]; i++)
        vg_strv_push(&warnings, vg_xstrdup(p->warnings[i]));
    for (size_t i = 0; warnings && warnings[i]; i++)
        fprintf(stderr, "virtguard: %s\n", warnings[i]);
    fputs(rules, stdout);
    return EXIT_OK;
}

static int cmd_check(const opts *o)
{
    autofree char *xml = NULL;
    size_t len;
    vg_verdict v;
    int status;

    if (read_input(o->input, &xml, &len) < 0)
        return EXIT_USAGE;
    vg_guard_env env = { .pools = pool_source(o) };
    vg_verdict_make(o->config, xml, len, o->input, "check", &env, &v);
    fputs(v.text, stderr);
    switch (v.kind) {
    case VG_VERDICT_SKIP:
        printf("virtguard: domain '%s' has no file under shared_mounts, path_map or "
               "apparmor_extra_roots: the hook lets it start unchecked and writes no AppArmor "
               "rules for it.\n", v.domain);
        status = EXIT_OK;
        break;
    case VG_VERDICT_ALLOW:
        if (v.warns)
            printf("virtguard: domain '%s': %zu shared path(s) checked (%lld ms): the hook "
                   "would let it start, with the warning above.\n",
                   v.domain, v.report->n_shared, v.report->probe_ms);
        else
            printf("virtguard: domain '%s': %zu shared path(s) checked, all fine (%lld ms).\n",
                   v.domain, v.report->n_shared, v.report->probe_ms);
        if (v.n_extra)
            printf("virtguard: domain '%s': %zu path(s) under apparmor_extra_roots: no mount "
                   "check, AppArmor rules from the helper at every start ('virtguard profile' "
                   "shows them).\n", v.domain, v.n_extra);
        status = EXIT_OK;
        break;
    case VG_VERDICT_WARN:
        printf("virtguard: domain '%s': dev mode: the hook would warn and let it start.\n",
               v.domain ? v.domain : "?");
        status = EXIT_PROBLEMS;
        break;
    case VG_VERDICT_REFUSE:
        printf("virtguard: domain '%s': the hook would refuse to start it.\n", v.domain);
        status = EXIT_PROBLEMS;
        break;
    case VG_VERDICT_CONFIG:
    case VG_VERDICT_INPUT:
    default:
        status = EXIT_USAGE;
        break;
    }
    vg_verdict_clear(&v);
    return status;
}

/* ------------------------------------------------------------------ */
/* The admin reports: doctor, explain, audit (PASS/WARN/FAIL or --json). */

typedef struct admin_opts {
    const char *config;
    bool json;
    bool no_probe;
    const char *uri;
    const char *input;
    /* test overrides (undocumented in usage, documented in virtguard(8)) */
    const char *root;
    const char *hooks_dir;
    const char *apparmor_dir;
    const char *proc_dir;
    const char *libvirt_conf_dir;
    const char *libvirt_run_dir;
} admin_opts;

static int parse_admin_opts(const char *cmd, int argc, char **argv, admin_opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "no-probe", no_argument, NULL, 'n' },
        { "connect", required_argument, NULL, 'C' },
        { "root", required_argument, NULL, 'R' },
        { "hooks-dir", required_argument, NULL, 'H' },
        { "apparmor-dir", required_argument, NULL, 'A' },
        { "proc", required_argument, NULL, 'P' },
        { "libvirt-config-dir", required_argument, NULL, 'L' },
        { "libvirt-run-dir", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:jC:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'j': o->json = true; break;
        case 'n': o->no_probe = true; break;
        case 'C': o->uri = optarg; break;
        case 'R': o->root = optarg; break;
        case 'H': o->hooks_dir = optarg; break;
        case 'A': o->apparmor_dir = optarg; break;
        case 'P': o->proc_dir = optarg; break;
        case 'L': o->libvirt_conf_dir = optarg; break;
        case 'S': o->libvirt_run_dir = optarg; break;
        case 'h': usage(stdout); exit(EXIT_OK);
        default: usage(stderr); return -EINVAL;
        }
    }
    if (strcmp(cmd, "explain") == 0 && optind < argc - 1) {
        fprintf(stderr, "virtguard: explain reads one FILE ('-' or nothing for stdin)\n");
        return -EINVAL;
    }
    if (strcmp(cmd, "explain") != 0 && optind != argc) {
        fprintf(stderr, "virtguard: %s takes no arguments\n", cmd);
        return -EINVAL;
    }
    o->input = optind < argc ? argv[optind] : "-";
    return 0;
}

static bool want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

/* Print the report; returns its exit status. */
static int emit(const admin_opts *o, const vg_checklist *l)
{
    autofree char *text = o->json ? vg_checklist_json(l) : vg_checklist_format(l, want_colour());
    fputs(text, stdout);
    fflush(stdout);
    return vg_checklist_exit_status(l);
}

static int cmd_doctor(const admin_opts *o)
{
    vg_doctor_env env = {
        .root = o->root,
        .config_path = o->config,
        .hooks_dir = o->hooks_dir,
        .apparmor_dir = o->apparmor_dir,
        .probe_mounts = !o->no_probe,
    };
    vg_doctor_facts f;
    vg_doctor_gather(&env, &f);
    autochecklist vg_checklist *l = vg_doctor_judge(&f);
    vg_doctor_facts_clear(&f);
    return emit(o, l);
}

/* stat the files the log names, in a bounded child: they may sit on a
 * hung shared mount. */
static void stat_files(char **paths, unsigned timeout_ms, vg_file_fact **out, size_t *n_out)
{
    size_t n = vg_strv_len(paths);
    autofree vg_probe_req *req = vg_xcalloc(n + 1, sizeof(*req));
    autofree vg_probe_res *res = vg_xcalloc(n + 1, sizeof(*res));
    vg_file_fact *v = vg_xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        req[i].op = VG_PROBE_STAT;
        req[i].path = paths[i];
    }
    if (n)
        (void)vg_probe_run(req, n, timeout_ms, res, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        v[i].path = vg_xstrdup(paths[i]);
        v[i].answered = res[i].answered;
        v[i].err = res[i].err;
        v[i].uid = res[i].uid;
        v[i].gid = res[i].gid;
        v[i].mode = res[i].mode;
    }
    *out = v;
    *n_out = n;
}

static int cmd_explain(const admin_opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoqemuconf vg_qemu_conf *qconf = NULL;
    automounts vg_mounts *mounts = NULL;
    autofstab vg_fstab *fstab = NULL;
    autoerror vg_error *err = NULL;
    autofree char *text = NULL;
    autofree char *fstab_text = NULL;
    autoexplainlog vg_explain_log *log = NULL;
    autostrv char **paths = NULL;
    autoids vg_ids ids = { 0 };
    vg_name_entry *names = NULL;
    vg_file_fact *files = NULL;
    size_t len = 0, n_names = 0, n_files = 0;
    bool have_ids;
    int r;

    if (vg_config_load(o->config, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s (explaining with the built-in defaults)\n", err->msg);
        vg_error_free(steal_pointer(&err));
        cfg = vg_config_new_default();
    }
    r = strcmp(o->input, "-") == 0 ? vg_read_fd(STDIN_FILENO, 64u << 20, &text, &len)
                                   : vg_read_file(o->input, 64u << 20, &text, &len);
    if (r < 0) {
        fprintf(stderr, "virtguard: cannot read '%s': %s\n", o->input, strerror(-r));
        return VG_EXIT_CANNOT_RUN;
    }
    log = vg_explain_parse(text, len);

    /* Facts at the edges; any of them may be missing. */
    if (vg_mountinfo_read(NULL, &mounts, &err) < 0)
        vg_error_free(steal_pointer(&err));
    (void)vg_read_file("/etc/fstab", 1 << 20, &fstab_text, NULL);
    fstab = vg_fstab_parse(fstab_text ? fstab_text : "");
    if (vg_qemu_conf_load(cfg->qemu_conf, &qconf, &err) < 0)
        vg_error_free(steal_pointer(&err));
    have_ids = qconf && vg_ids_resolve(qconf->user, qconf->group, NULL, NULL, &ids, NULL) == 0;
    const char *conf_dir = o->libvirt_conf_dir ? o->libvirt_conf_dir : SYSCONFDIR "/libvirt/qemu";
    const char *run_dir = o->libvirt_run_dir ? o->libvirt_run_dir : LIBVIRT_RUN_DIR "/qemu";
    bool need_names = false;
    for (size_t i = 0; i < log->n; i++) {
        autofree char *u = vg_profile_uuid(log->v[i].profile);
        need_names |= u != NULL;
    }
    if (need_names && vg_libvirt_names(o->uri ? o->uri : "qemu:///system", &names, &n_names,
                                       &err) < 0) {
        fprintf(stderr, "virtguard: %s; naming domains from libvirt's XML files instead\n",
                err->msg);
        vg_error_free(steal_pointer(&err));
        vg_libvirt_names_from_files(conf_dir, run_dir, &names, &n_names);
    }
    /* which files each domain uses: a denial of any other file is intended */
    vg_domain_files *doms = NULL;
    size_t n_doms = 0;
    autofree char *doms_from = NULL;
    if (need_names) {
        vg_domain_files_load(conf_dir, run_dir, NULL, &doms, &n_doms);
        doms_from = vg_xasprintf("looked for in '%s' and '%s', and asked libvirt", run_dir,
                                 conf_dir);
        /* files unreadable (not root) or domain elsewhere: ask libvirt */
        for (size_t i = 0; i < log->n; i++) {
            autofree char *u = vg_profile_uuid(log->v[i].profile);
            autofree char *dxml = NULL;
            autodomain vg_domain *dom = NULL;
            if (!u || vg_domain_files_find(doms, n_doms, u) ||
                vg_libvirt_domain_xml(o->uri ? o->uri : "qemu:///system", u, &dxml, NULL) < 0 ||
                vg_domain_parse(dxml, strlen(dxml), "libvirt", &dom, NULL) < 0)
                continue;
            vg_domain_files *f = VG_APPEND(doms, n_doms);
            vg_domain_files_of(dom, NULL, f);
            f->source = vg_xstrdup("virsh dumpxml (read-only API)");
        }
    }
    paths = vg_explain_paths(log);
    stat_files(paths, cfg->probe_timeout_ms, &files, &n_files);

    vg_explain_facts facts = {
        .cfg = cfg,
        .config_path = o->config,
        .mounts = mounts,
        .lima = vg_lima_detect(mounts, fstab),
        .fstab = fstab,
        .qemu = have_ids ? &ids : NULL,
        .names = names,
        .n_names = n_names,
        .files = files,
        .n_files = n_files,
        .domains = doms,
        .n_domains = n_doms,
        .domains_from = doms_from,
    };
    autochecklist vg_checklist *l = vg_explain_judge(log, &facts);
    vg_name_entries_free(names, n_names);
    vg_domain_files_free(doms, n_doms);
    for (size_t i = 0; i < n_files; i++)
        free(files[i].path);
    free(files);
    return emit(o, l);
}

/* aa_gettaskcon: the label and mode of a task (libapparmor). */
static int task_label(int pid, char **label, char **mode, void *opaque)
{
    char *con = NULL, *m = NULL;
    (void)opaque;
    if (aa_gettaskcon(pid, &con, &m) < 0) {
        int e = errno;
        /* No AppArmor in the kernel: every task is unconfined. */
        if (aa_is_enabled() != 1) {
            *label = vg_xstrdup("unconfined");
            *mode = vg_xstrdup("unconfined");
            return 0;
        }
        return -e;
    }
    /* con and m share one allocation (aa_gettaskcon(2)) */
    *label = vg_xstrdup(con);
    *mode = m ? vg_xstrdup(m) : strcmp(con, "unconfined") == 0 ? vg_xstrdup("unconfined") : NULL;
    free(con);
    return 0;
}

static int cmd_audit(const admin_opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *profiles = NULL;
    vg_audit_domain *doms = NULL;
    vg_audit_proc *procs = NULL;
    size_t n_doms = 0, n_procs = 0;
    int status;

    if (vg_config_load(o->config, &cfg, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return VG_EXIT_CANNOT_RUN;
    }
    if (vg_libvirt_running(o->uri ? o->uri : "qemu:///system", &doms, &n_doms, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return VG_EXIT_CANNOT_RUN;
    }
    const char *aadir = o->apparmor_dir ? o->apparmor_dir : APPARMORDIR;
    for (size_t i = 0; i < n_doms; i++)
        vg_audit_read_rules(cfg, aadir, &doms[i]);
    if (vg_audit_scan_proc(o->proc_dir ? o->proc_dir : "/proc", task_label, NULL, &procs,
                           &n_procs, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        vg_error_free(steal_pointer(&err));
    }
    (void)vg_read_file("/sys/kernel/security/apparmor/profiles", 4 << 20, &profiles, NULL);
    vg_audit_input in = {
        .cfg = cfg,
        .aa_enabled = aa_is_enabled() == 1,
        .profiles = profiles,
        .doms = doms,
        .n_doms = n_doms,
        .procs = procs,
        .n_procs = n_procs,
    };
    autochecklist vg_checklist *l = vg_audit_judge(&in);
    status = emit(o, l);
    for (size_t i = 0; i < n_doms; i++)
        vg_audit_domain_clear(&doms[i]);
    free(doms);
    vg_audit_procs_free(procs, n_procs);
    return status;
}

static int cmd_admin(const char *cmd, int argc, char **argv)
{
    admin_opts o = { 0 };
    if (parse_admin_opts(cmd, argc, argv, &o) < 0)
        return VG_EXIT_CANNOT_RUN;
    if (strcmp(cmd, "doctor") == 0)
        return cmd_doctor(&o);
    if (strcmp(cmd, "explain") == 0)
        return cmd_explain(&o);
    return cmd_audit(&o);
}

int main(int argc, char **argv)
{
    opts o = { 0 };
    const char *cmd;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("virtguard %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "doctor") == 0 || strcmp(cmd, "explain") == 0 || strcmp(cmd, "audit") == 0)
        return cmd_admin(cmd, argc - 1, argv + 1);
    if (strcmp(cmd, "paths") != 0 && strcmp(cmd, "check") != 0 && strcmp(cmd, "rewrite") != 0 &&
        strcmp(cmd, "profile") != 0) {
        fprintf(stderr, "virtguard: unknown command '%s'\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (parse_opts(argc - 1, argv + 1, &o) < 0)
        return EXIT_USAGE;
    int status;
    if (strcmp(cmd, "paths") == 0)
        status = cmd_paths(&o);
    else if (strcmp(cmd, "rewrite") == 0)
        status = cmd_rewrite(&o);
    else if (strcmp(cmd, "profile") == 0)
        status = cmd_profile(&o);
    else
        status = cmd_check(&o);
    vg_libvirt_pools_close(&cli_pools);
    return status;
}
