/* virtguard: the admin CLI.  Thin: options, I/O, exit status; every
 * decision is in the library. */
#include <config.h>

#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>
#include <sys/apparmor.h>

#include "aa-profile.h"
#include "apply.h"
#include "audit-libvirt.h"
#include "audit.h"
#include "checklist.h"
#include "doctor.h"
#include "domain-paths.h"
#include "explain.h"
#include "lima.h"
#include "policy.h"
#include "rewrite.h"
#include "status.h"
#include "verdict-report.h"
#include "vgconfig.h"
#include "xmlsafe.h"

/* What the run said, for --json: every command given --json prints exactly
 * one JSON document on standard output, its report or, when it could not
 * make one, {"command":NAME,"status":"error","exit":N,"errors":[...]} with
 * every message it printed on standard error (virtguard(8), JSON OUTPUT). */
static struct {
    bool json;                  /* --json (or -j) among the arguments */
    const char *command;
    bool printed;               /* a document is on standard output */
    char **messages;
} run_out;

/* Print "virtguard: MESSAGE" on standard error and keep MESSAGE for the
 * error document. */
static void say(const char *fmt, ...) VG_FORMAT(1, 2);
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *msg = vg_xvasprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "virtguard: %s", msg);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    vg_strv_push(&run_out.messages, steal_pointer(&msg));
}

/* Put a command's JSON document on standard output. */
static void put_document(const char *text)
{
    fputs(text, stdout);
    fflush(stdout);
    run_out.printed = true;
}

/* --json and no document yet: the error document, exit status `status`. */
static void put_error_document(int status)
{
    vg_buf b = { 0 };
    if (!run_out.json || run_out.printed)
        return;
    vg_buf_add(&b, "{\"command\":");
    vg_json_string(&b, run_out.command);
    vg_json_member_string(&b, "status", "error");
    vg_json_member_number(&b, "exit", status);
    vg_buf_add(&b, ",\"errors\":[");
    for (size_t i = 0; run_out.messages && run_out.messages[i]; i++) {
        if (i)
            vg_buf_addc(&b, ',');
        vg_json_string(&b, run_out.messages[i]);
    }
    vg_buf_add(&b, "]}\n");
    autofree char *text = vg_buf_steal(&b);
    put_document(text);
}

/* Options; each command accepts only those in its mask (struct command). */
enum {
    OPT_CONFIG = 1u << 0,
    OPT_JSON = 1u << 1,
    OPT_NO_PROBE = 1u << 2,
    OPT_CONNECT = 1u << 3,
    OPT_QEMU_CONF = 1u << 4,
    OPT_ROOT = 1u << 5,             /* test overrides (virtguard(8), FILES) */
    OPT_HOOKS_DIR = 1u << 6,
    OPT_APPARMOR_DIR = 1u << 7,
    OPT_PROC = 1u << 8,
    OPT_LIBVIRT_CONF_DIR = 1u << 9,
    OPT_LIBVIRT_RUN_DIR = 1u << 10,
    OPT_HELPER = 1u << 11,
    OPT_PARSER = 1u << 12,
    OPT_RUN_DIR = 1u << 13,
    OPT_CACHE_DIR = 1u << 14,
};

typedef struct opts {
    const char *config;
    bool json;
    bool no_probe;
    const char *uri;
    const char *qemu_conf;
    const char *input;              /* NULL: explain without FILE */
    const char *root;
    const char *hooks_dir;
    const char *apparmor_dir;
    const char *proc_dir;
    const char *libvirt_conf_dir;
    const char *libvirt_run_dir;
    const char *helper;
    const char *parser;
    const char *run_dir;
    const char *cache_dir;
} opts;

enum { ARGS_NONE, ARGS_ONE, ARGS_OPTIONAL };

typedef struct command {
    const char *name;
    const char *synopsis;           /* after "virtguard NAME " */
    const char *summary;            /* one line for the command list */
    const char *help;               /* `virtguard help NAME`: what it does, exit status */
    unsigned opts;
    int args;
    int (*run)(const opts *o);
} command;

static int cmd_paths(const opts *o);
static int cmd_check(const opts *o);
static int cmd_rewrite(const opts *o);
static int cmd_profile(const opts *o);
static int cmd_doctor(const opts *o);
static int cmd_explain(const opts *o);
static int cmd_audit(const opts *o);
static int cmd_status(const opts *o);
static int cmd_apply(const opts *o);

static const command commands[] = {
    { "paths", "[--config FILE] [--json] [--connect URI] DOMAIN.xml|-",
      "host paths the domain touches: ACCESS ROLE PATH",
      "Prints every host path the domain XML touches, one per line (ACCESS ROLE PATH);\n"
      "--json prints the whole path model.  Exit status: 0, or 2 when the XML cannot be read.\n",
      OPT_CONFIG | OPT_JSON | OPT_CONNECT, ARGS_ONE, cmd_paths },
    { "check", "[--config FILE] [--qemu-conf FILE] [--json] [--connect URI] DOMAIN.xml|-",
      "the checks the hook runs at start, without starting",
      "Runs the hook's check on the domain XML as at 'prepare begin' and prints its verdict.\n"
      "--qemu-conf FILE judges against that qemu.conf instead of the one virtguard.conf names\n"
      "(a planned change, e.g. without user = \"root\").  Needs root, like the hook.\n"
      "Exit status: 0 the hook lets it start, 1 it would refuse (or warn in dev mode),\n"
      "2 usage, unreadable config, qemu.conf or XML, or not run as root.\n",
      OPT_CONFIG | OPT_JSON | OPT_QEMU_CONF | OPT_CONNECT, ARGS_ONE, cmd_check },
    { "rewrite", "[--config FILE] DOMAIN.xml|-",
      "the XML with path_map applied",
      "Prints the domain XML with virtguard.conf's path_map applied, as the hook does at\n"
      "'migrate begin' and 'restore begin'.  Exit status: 0, or 2 on a config or XML error.\n",
      OPT_CONFIG, ARGS_ONE, cmd_rewrite },
    { "profile", "[--config FILE] [--connect URI] DOMAIN.xml|-",
      "the AppArmor rules the helper would add (dry run)",
      "Prints the per-domain AppArmor rules virtguard-helper would write for the domain.\n"
      "Exit status: 0, 1 when no rules can be made, 2 on a config or XML error.\n",
      OPT_CONFIG | OPT_CONNECT, ARGS_ONE, cmd_profile },
    { "doctor", "[--config FILE] [--json] [--no-probe]",
      "check the host as libvirt will use it",
      "Checks the host: virtguard.conf, the hook and the daemon that must see it, AppArmor\n"
      "and the helper, qemu.conf, and each shared mount (--no-probe: do not touch them).\n"
      "Exit status: 0 fine (warnings allowed), 1 problems found, 2 could not run or could\n"
      "not read a file it needs (run it as root).\n",
      OPT_CONFIG | OPT_JSON | OPT_NO_PROBE | OPT_ROOT | OPT_HOOKS_DIR | OPT_APPARMOR_DIR,
      ARGS_NONE, cmd_doctor },
    { "explain", "[--config FILE] [--json] [--connect URI] [FILE|-]",
      "causes and fixes for AppArmor/libvirt log lines",
      "Explains AppArmor records and libvirt errors in FILE ('-': standard input).  Without\n"
      "FILE and with a terminal on standard input it reads this boot's kernel log and\n"
      "libvirtd's journal (journalctl -k -b; journalctl -b -u libvirtd; dmesg when there is\n"
      "no journalctl).  Exit status: 0 nothing wrong, 1 problems explained, 2 could not run.\n",
      OPT_CONFIG | OPT_JSON | OPT_CONNECT | OPT_LIBVIRT_CONF_DIR | OPT_LIBVIRT_RUN_DIR,
      ARGS_OPTIONAL, cmd_explain },
    { "audit", "[--config FILE] [--json] [--connect URI]",
      "every running guest's confinement and rules",
      "Audits every running guest: its QEMU's uid and AppArmor label, virtguard's rules, and\n"
      "QEMU processes libvirt does not know.  Exit status: 0, 1 problems, 2 could not run.\n",
      OPT_CONFIG | OPT_JSON | OPT_CONNECT | OPT_APPARMOR_DIR | OPT_PROC, ARGS_NONE, cmd_audit },
    { "status", "[--json]",
      "what virtguard changed on this host (what purge removes)",
      "Lists what virtguard changed, without undoing it: the hooks in libvirt's hook\n"
      "directories, the helper's AppArmor profile and roots include, virtguard's rules files,\n"
      "include lines and complain flags in libvirt's profiles, its cache and run files -\n"
      "exactly what removing and purging the package takes away.  Exit status: 0, or 2 when\n"
      "a directory could not be read (run it as root).\n",
      OPT_JSON | OPT_ROOT | OPT_HOOKS_DIR | OPT_APPARMOR_DIR | OPT_RUN_DIR | OPT_CACHE_DIR,
      ARGS_NONE, cmd_status },
    { "apply", "[--config FILE] [--json]",
      "make a changed virtguard.conf take effect (roots, profile reload)",
      "Writes the helper's roots include from virtguard.conf (virtguard-helper roots) and\n"
      "reloads the helper's AppArmor profile (apparmor_parser -r; only compiled when the\n"
      "kernel has no AppArmor).  Idempotent.  The package's virtguard-apply.path unit runs\n"
      "it when virtguard.conf changes.  Needs root.  Exit status: 0 applied, 1 a step\n"
      "failed, 2 a program could not be run.\n",
      OPT_CONFIG | OPT_JSON | OPT_APPARMOR_DIR | OPT_HELPER | OPT_PARSER | OPT_RUN_DIR,
      ARGS_NONE, cmd_apply },
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: virtguard COMMAND [OPTIONS] [ARGUMENT]\n\nCommands:\n");
    for (size_t i = 0; i < VG_N_ELEMENTS(commands); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-8s %s\n", "help", "help COMMAND: that command's options and exit status");
    fprintf(f, "  %-8s %s\n", "version", "the version");
    fprintf(f, "\nOptions most commands take: -c, --config FILE (a named file that cannot be "
               "read is an\nerror); -j, --json (one JSON document, errors included); -C, "
               "--connect URI.\n");
    fprintf(f, "\n'virtguard help COMMAND' or 'virtguard COMMAND --help' shows a command's "
               "options.\nDefault config: %s.  See virtguard(8).\n", vg_config_default_path());
}

/* The options `virtguard help COMMAND` explains (the test overrides are in
 * virtguard(8) only). */
static const struct {
    unsigned bit;
    const char *forms;
    const char *what;
} option_help[] = {
    { OPT_CONFIG, "-c, --config FILE", "virtguard.conf to use; a named file that cannot be read "
                                       "is an error (exit 2)" },
    { OPT_JSON, "-j, --json", "exactly one JSON document on standard output, errors included" },
    { OPT_CONNECT, "-C, --connect URI", "libvirt's read-only API at URI (qemu:///system)" },
    { OPT_QEMU_CONF, "--qemu-conf FILE", "judge against this qemu.conf" },
    { OPT_NO_PROBE, "--no-probe", "do not touch the shared mounts" },
};

static void command_help(FILE *f, const command *c)
{
    fprintf(f, "Usage: virtguard %s %s\n\n%s", c->name, c->synopsis, c->help);
    bool first = true;
    for (size_t i = 0; i < VG_N_ELEMENTS(option_help); i++) {
        if (!(c->opts & option_help[i].bit))
            continue;
        fprintf(f, "%s  %-18s %s\n", first ? "\nOptions:\n" : "", option_help[i].forms,
                option_help[i].what);
        first = false;
    }
    fprintf(f, "\nDefault config: %s.  See virtguard(8).\n", vg_config_default_path());
}

static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, 'j' },
    { "no-probe", no_argument, NULL, 'n' },
    { "connect", required_argument, NULL, 'C' },
    { "qemu-conf", required_argument, NULL, 'Q' },
    { "root", required_argument, NULL, 'R' },
    { "hooks-dir", required_argument, NULL, 'H' },
    { "apparmor-dir", required_argument, NULL, 'A' },
    { "proc", required_argument, NULL, 'P' },
    { "libvirt-config-dir", required_argument, NULL, 'L' },
    { "libvirt-run-dir", required_argument, NULL, 'S' },
    { "helper", required_argument, NULL, 'E' },
    { "apparmor-parser", required_argument, NULL, 'X' },
    { "run-dir", required_argument, NULL, 'U' },
    { "cache-dir", required_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Storage volumes resolved over libvirt's read-only API (files when no
 * daemon answers). */
static vg_libvirt_pools cli_pools;

static const vg_pool_source *pool_source(const opts *o)
{
    static vg_pool_source src = { .lookup = vg_libvirt_pool_lookup, .opaque = &cli_pools };
    cli_pools.uri = o->uri ? o->uri : "qemu:///system";
    return &src;
}

/* The option bit of getopt's answer `c`; 0 for 'h'. */
static unsigned option_bit(int c)
{
    switch (c) {
    case 'c': return OPT_CONFIG;
    case 'j': return OPT_JSON;
    case 'n': return OPT_NO_PROBE;
    case 'C': return OPT_CONNECT;
    case 'Q': return OPT_QEMU_CONF;
    case 'R': return OPT_ROOT;
    case 'H': return OPT_HOOKS_DIR;
    case 'A': return OPT_APPARMOR_DIR;
    case 'P': return OPT_PROC;
    case 'L': return OPT_LIBVIRT_CONF_DIR;
    case 'S': return OPT_LIBVIRT_RUN_DIR;
    case 'E': return OPT_HELPER;
    case 'X': return OPT_PARSER;
    case 'U': return OPT_RUN_DIR;
    case 'V': return OPT_CACHE_DIR;
    default: return 0;
    }
}

static const char *option_name(int c)
{
    for (size_t i = 0; longopts[i].name; i++)
        if (longopts[i].val == c)
            return longopts[i].name;
    return "?";
}

/* Parse argv (argv[0] is the command) into `o`.  Returns 0, 1 when help
 * was printed, or -EINVAL after a one-line message on stderr. */
static int parse_opts(const command *cmd, int argc, char **argv, opts *o)
{
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:jC:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            command_help(stdout, cmd);
            run_out.printed = true;     /* the help, not a document: add none */
            return 1;
        }
        if (c == '?' || c == ':') {
            autofree char *bad = vg_str_escape(argv[optind - 1], true);
            say("%s: %s '%s'; 'virtguard help %s' lists its options.\n",
                    cmd->name, c == ':' ? "missing value for option" : "unknown option",
                    bad, cmd->name);
            return -EINVAL;
        }
        if (!(option_bit(c) & cmd->opts)) {
            say("%s does not take '--%s'; 'virtguard help %s' lists its "
                            "options.\n", cmd->name, option_name(c), cmd->name);
            return -EINVAL;
        }
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'j': o->json = true; break;
        case 'n': o->no_probe = true; break;
        case 'C': o->uri = optarg; break;
        case 'Q': o->qemu_conf = optarg; break;
        case 'R': o->root = optarg; break;
        case 'H': o->hooks_dir = optarg; break;
        case 'A': o->apparmor_dir = optarg; break;
        case 'P': o->proc_dir = optarg; break;
        case 'L': o->libvirt_conf_dir = optarg; break;
        case 'S': o->libvirt_run_dir = optarg; break;
        case 'E': o->helper = optarg; break;
        case 'X': o->parser = optarg; break;
        case 'U': o->run_dir = optarg; break;
        case 'V': o->cache_dir = optarg; break;
        default: break;
        }
    }
    int n = argc - optind;
    if ((cmd->args == ARGS_ONE && n != 1) || (cmd->args == ARGS_NONE && n != 0) ||
        (cmd->args == ARGS_OPTIONAL && n > 1)) {
        say("%s takes %s; 'virtguard help %s' shows how.\n", cmd->name,
                cmd->args == ARGS_ONE ? "exactly one DOMAIN.xml argument ('-' for stdin)"
                : cmd->args == ARGS_NONE ? "no arguments"
                                         : "at most one FILE ('-' for stdin)",
                cmd->name);
        return -EINVAL;
    }
    o->input = n ? argv[optind] : NULL;
    return 0;
}

static int read_input(const char *input, char **xml, size_t *len)
{
    int r = strcmp(input, "-") == 0 ? vg_read_fd(STDIN_FILENO, VG_XML_MAX_BYTES, xml, len)
                                    : vg_read_file(input, VG_XML_MAX_BYTES, xml, len);
    if (r == -EFBIG)
        say("'%s' is larger than %u bytes; refusing to parse it\n",
                input, VG_XML_MAX_BYTES);
    else if (r < 0)
        say("cannot read '%s': %s\n", input, strerror(-r));
    return r;
}

/* Load the config, or say why not: false when the command cannot run. */
static bool load_config(const char *path, vg_config **cfg)
{
    autoerror vg_error *err = NULL;
    if (vg_config_load(path, cfg, &err) < 0) {
        say("%s\n", err->msg);
        return false;
    }
    return true;
}

/* The config and the domain XML most commands start from. */
static bool load_config_and_input(const opts *o, vg_config **cfg, char **xml, size_t *len)
{
    return load_config(o->config, cfg) && read_input(o->input, xml, len) >= 0;
}

static int cmd_paths(const opts *o)
{
    autofree char *xml = NULL;
    autofree char *text = NULL;
    autofree char *notes = NULL;
    autodomain vg_domain *dom = NULL;
    autoerror vg_error *err = NULL;
    size_t len;

    if (read_input(o->input, &xml, &len) < 0)
        return VG_EXIT_CANNOT_RUN;
    if (vg_domain_parse(xml, len, o->input, &dom, &err) < 0) {
        say("%s\n", err->msg);
        return VG_EXIT_CANNOT_RUN;
    }
    vg_domain_resolve_volumes(dom, pool_source(o));
    text = vg_domain_paths_format(dom, o->json);
    put_document(text);
    if (!o->json) {
        notes = vg_domain_unresolved_format(dom);
        fputs(notes, stderr);
    }
    return VG_EXIT_OK;
}

static int cmd_rewrite(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *out = NULL;
    size_t len, changed = 0;

    if (!load_config_and_input(o, &cfg, &xml, &len))
        return VG_EXIT_CANNOT_RUN;
    if (vg_rewrite_xml(cfg->path_map, cfg->n_path_map, xml, len, o->input, &out, &changed,
                       &err) < 0) {
        say("%s\n", err->msg);
        return VG_EXIT_CANNOT_RUN;
    }
    fputs(out, stdout);
    if (out[0] && out[strlen(out) - 1] != '\n')
        fputc('\n', stdout);
    say("%zu path(s) rewritten\n", changed);
    return VG_EXIT_OK;
}

static int cmd_profile(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *xml = NULL;
    autofree char *rules = NULL;
    autostrv char **warnings = NULL;
    size_t len;

    if (!load_config_and_input(o, &cfg, &xml, &len))
        return VG_EXIT_CANNOT_RUN;
    /* vg_policy_from_xml's steps, with volumes resolved over the API */
    autodomain vg_domain *dom = NULL;
    autopolicy vg_policy *p = NULL;
    if (vg_domain_parse(xml, len, o->input, &dom, &err) < 0) {
        say("%s\n", err->msg);
        return VG_EXIT_PROBLEMS;
    }
    vg_domain_resolve_volumes(dom, pool_source(o));
    /* The hook writes rules only for domains in scope: say so rather than
     * show rules nothing would ever load. */
    if (!vg_verdict_in_scope(cfg, dom)) {
        autofree char *shown = vg_str_escape(dom->name ? dom->name : "?", true);
        say("domain '%s' has no file under shared_mounts, path_map or "
                        "apparmor_extra_roots in '%s': the hook lets it start unchecked and "
                        "writes no AppArmor rules for it (libvirt's own rules apply).\n",
                shown, cfg->source ? cfg->source : vg_config_default_path());
        return VG_EXIT_OK;
    }
    if (vg_policy_check_domain(dom, NULL, &err) < 0 ||
        vg_policy_resolve_with(cfg, dom, o->libvirt_conf_dir, o->libvirt_run_dir, &p, &err) < 0 ||
        vg_policy_render(p, dom->uuid, dom->name, &rules, &err) < 0) {
        say("%s\n", err->msg);
        return VG_EXIT_PROBLEMS;
    }
    for (size_t i = 0; p->warnings && p->warnings[i]; i++)
        vg_strv_push(&warnings, vg_xstrdup(p->warnings[i]));
    for (size_t i = 0; warnings && warnings[i]; i++)
        say("%s\n", warnings[i]);
    fputs(rules, stdout);
    if (p->n_denied && geteuid() != 0) {
        /* The helper runs as root and reads those headers: its rules
         * would name the backing files these do not. */
        say("profile runs as uid %u and could not read %zu image header(s) (above): the "
            "helper runs as root and would write rules for their backing files too, so these "
            "rules are not the helper's. Run 'virtguard profile' as root (sudo) for them.\n",
            (unsigned)geteuid(), p->n_denied);
        return VG_EXIT_CANNOT_RUN;
    }
    return VG_EXIT_OK;
}

static int readable(const char *path)
{
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno != ENOENT) {
        int e = errno;
        autofree char *shown = vg_str_escape(path, true);
        say("check cannot read '%s': %s. The hook reads it as root: run "
                        "'virtguard check' as root (sudo) for the hook's verdict.\n", shown,
                strerror(e));
        return -e;
    }
    return 0;
}

static int cmd_check(const opts *o)
{
    autofree char *xml = NULL;
    size_t len;
    vg_verdict v;
    int status;
    const char *config = o->config ? o->config : vg_config_default_path();
    vg_guard_env env = { .aa_enabled = aa_is_enabled() == 1, .qemu_conf = o->qemu_conf,
                         .pools = pool_source(o) };

    if (o->qemu_conf && access(o->qemu_conf, F_OK) < 0) {
        autofree char *shown = vg_str_escape(o->qemu_conf, true);
        say("--qemu-conf '%s': %s. Name the qemu.conf to judge against "
                        "(e.g. a copy of /etc/libvirt/qemu.conf with the planned edits).\n",
                shown, strerror(errno));
        return VG_EXIT_CANNOT_RUN;
    }
    if (readable(config) < 0)
        return VG_EXIT_CANNOT_RUN;
    if (!o->qemu_conf) {
        autoconfig vg_config *cfg = NULL;
        if (vg_config_load(config, &cfg, NULL) == 0 && cfg->qemu_conf &&
            readable(cfg->qemu_conf) < 0)
            return VG_EXIT_CANNOT_RUN;
    } else if (readable(o->qemu_conf) < 0) {
        return VG_EXIT_CANNOT_RUN;
    }
    if (read_input(o->input, &xml, &len) < 0)
        return VG_EXIT_CANNOT_RUN;
    vg_verdict_make(o->config, xml, len, o->input, VG_HOOK_OP_CHECK, &env, &v);
    if (geteuid() != 0 && v.report) {
        /* The probe's chown test (does libvirt's relabelling take effect on
         * the share?) needs root; as another user it would report a refusal
         * the hook would not make. */
        say("domain '%s' uses a shared mount and check runs as uid %u: "
                        "the hook runs as root and tests chown on the share, which only root "
                        "can. Run 'virtguard check' as root (sudo) for the hook's verdict.\n",
                v.domain ? v.domain : "?", (unsigned)geteuid());
        vg_verdict_clear(&v);
        return VG_EXIT_CANNOT_RUN;
    }
    if (o->json) {
        autochecklist vg_checklist *l = vg_checklist_from_verdict(&v);
        autofree char *text = vg_checklist_json(l);
        put_document(text);
        status = vg_checklist_exit_status(l);
        vg_verdict_clear(&v);
        return status;
    }
    fputs(v.text, stderr);
    switch (v.kind) {
    case VG_VERDICT_SKIP:
        printf("virtguard: domain '%s' has no file under shared_mounts, path_map or "
               "apparmor_extra_roots: the hook lets it start unchecked and writes no AppArmor "
               "rules for it.\n", v.domain);
        status = VG_EXIT_OK;
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
        status = VG_EXIT_OK;
        break;
    case VG_VERDICT_WARN:
        printf("virtguard: domain '%s': dev mode: the hook would warn and let it start.\n",
               v.domain ? v.domain : "?");
        status = VG_EXIT_PROBLEMS;
        break;
    case VG_VERDICT_REFUSE:
        printf("virtguard: domain '%s': the hook would refuse to start it.\n", v.domain);
        status = VG_EXIT_PROBLEMS;
        break;
    case VG_VERDICT_CONFIG:
    case VG_VERDICT_INPUT:
    default:
        status = VG_EXIT_CANNOT_RUN;
        break;
    }
    vg_verdict_clear(&v);
    return status;
}

/* ------------------------------------------------------------------ */
/* The admin reports: doctor, explain, audit (PASS/WARN/FAIL or --json). */

static bool want_colour(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

/* Print the report; returns its exit status. */
static int emit(const opts *o, const vg_checklist *l)
{
    autofree char *text = o->json ? vg_checklist_json(l) : vg_checklist_format(l, want_colour());
    put_document(text);
    return vg_checklist_exit_status(l);
}

static int cmd_doctor(const opts *o)
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

#define EXPLAIN_MAX (64u << 20)

/* Append the standard output of `argv` (searched in PATH, stdin from
 * /dev/null, stderr kept) to `b`, at most EXPLAIN_MAX bytes in all.
 * Returns its exit status, 127 when it could not be run. */
static int capture(char *const argv[], vg_buf *b)
{
    int fds[2], status;
    char chunk[65536];
    ssize_t n;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return 127;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 127;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (b->len + (size_t)n <= EXPLAIN_MAX)
            vg_buf_addn(b, chunk, (size_t)n);
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* `virtguard explain` on a terminal with no FILE: this boot's kernel log
 * and libvirtd's journal, rather than waiting silently for standard input. */
static int read_boot_logs(char **text, size_t *len)
{
    static char *const kernel[] = { (char *)"journalctl", (char *)"-k", (char *)"-b",
                                    (char *)"-q", (char *)"--no-pager", NULL };
    static char *const daemon[] = { (char *)"journalctl", (char *)"-b", (char *)"-u",
                                    (char *)"libvirtd", (char *)"-q", (char *)"--no-pager", NULL };
    static char *const dmesg[] = { (char *)"dmesg", NULL };
    vg_buf b = { 0 };

    vg_buf_add(&b, "");
    if (capture(kernel, &b) == 0) {
        say("no FILE given and standard input is a terminal: explaining "
                        "this boot's kernel log and libvirtd's journal ('journalctl -k -b', "
                        "'journalctl -b -u libvirtd'); give a FILE or '-' to explain "
                        "something else.\n");
        (void)capture(daemon, &b);
    } else {
        b.len = 0;
        b.s[0] = '\0';
        if (capture(dmesg, &b) != 0) {
            vg_buf_clear(&b);
            say("no FILE given, standard input is a terminal, and "
                            "neither 'journalctl -k -b' nor 'dmesg' could be read: give a log "
                            "FILE, or '-' and paste the lines.\n");
            return -EIO;
        }
        say("no FILE given and standard input is a terminal: explaining "
                        "the kernel log ('dmesg'; there is no usable journalctl); give a FILE "
                        "or '-' to explain something else.\n");
    }
    *len = b.len;
    *text = vg_buf_steal(&b);
    return 0;
}

/* The text `virtguard explain` reads: FILE, standard input, or this boot's
 * logs on a terminal.  0, or VG_EXIT_CANNOT_RUN after saying why. */
static int read_explain_input(const opts *o, char **text, size_t *len)
{
    int r;

    if (!o->input && isatty(STDIN_FILENO))
        return read_boot_logs(text, len) < 0 ? VG_EXIT_CANNOT_RUN : 0;
    const char *input = o->input ? o->input : "-";
    r = strcmp(input, "-") == 0 ? vg_read_fd(STDIN_FILENO, EXPLAIN_MAX, text, len)
                                : vg_read_file(input, EXPLAIN_MAX, text, len);
    if (r < 0) {
        autofree char *shown = vg_str_escape(input, true);
        say("cannot read '%s': %s\n", shown, strerror(-r));
        return VG_EXIT_CANNOT_RUN;
    }
    return 0;
}

/* What `virtguard explain` learns of the domains and files the log names. */
typedef struct explain_env {
    vg_name_entry *names;
    size_t n_names;
    vg_domain_files *doms;      /* which files each domain uses */
    size_t n_doms;
    char *doms_from;
    vg_file_fact *files;
    size_t n_files;
} explain_env;

static void explain_env_clear(explain_env *x)
{
    vg_name_entries_free(x->names, x->n_names);
    vg_domain_files_free(x->doms, x->n_doms);
    free(x->doms_from);
    for (size_t i = 0; i < x->n_files; i++)
        free(x->files[i].path);
    free(x->files);
}

#define autoexplainenv _cleanup_(explain_env_clear)

/* The names of the domains whose profiles the log names, and the files
 * each uses: a denial of any other file is intended. */
static void explain_domains(const opts *o, const vg_explain_log *log, explain_env *x)
{
    autoerror vg_error *err = NULL;
    const char *conf_dir = o->libvirt_conf_dir ? o->libvirt_conf_dir : VG_LIBVIRT_QEMU_CONF_DIR;
    const char *run_dir = o->libvirt_run_dir ? o->libvirt_run_dir : VG_LIBVIRT_QEMU_RUN_DIR;
    const char *uri = o->uri ? o->uri : "qemu:///system";
    bool need_names = false;

    for (size_t i = 0; i < log->n; i++) {
        autofree char *u = log->v[i].profile ? vg_aa_profile_uuid(log->v[i].profile, "") : NULL;
        need_names |= u != NULL;
    }
    if (!need_names)
        return;
    if (vg_libvirt_names(uri, &x->names, &x->n_names, &err) < 0) {
        say("%s; naming domains from libvirt's XML files instead\n",
                err->msg);
        vg_error_free(steal_pointer(&err));
        vg_libvirt_names_from_files(conf_dir, run_dir, &x->names, &x->n_names);
    }
    vg_domain_files_load(conf_dir, run_dir, NULL, &x->doms, &x->n_doms);
    x->doms_from = vg_xasprintf("looked for in '%s' and '%s', and asked libvirt", run_dir,
                                conf_dir);
    /* files unreadable (not root) or domain elsewhere: ask libvirt */
    for (size_t i = 0; i < log->n; i++) {
        autofree char *u = log->v[i].profile ? vg_aa_profile_uuid(log->v[i].profile, "") : NULL;
        autofree char *dxml = NULL;
        autodomain vg_domain *dom = NULL;
        if (!u || vg_domain_files_find(x->doms, x->n_doms, u) ||
            vg_libvirt_domain_xml(uri, u, &dxml, NULL) < 0 ||
            vg_domain_parse(dxml, strlen(dxml), "libvirt", &dom, NULL) < 0)
            continue;
        vg_domain_files *f = VG_APPEND(x->doms, x->n_doms);
        vg_domain_files_of(dom, NULL, f);
        f->source = vg_xstrdup("virsh dumpxml (read-only API)");
    }
}

static int cmd_explain(const opts *o)
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
    autoexplainenv explain_env x = { 0 };
    size_t len = 0;
    bool have_ids;
    int r;

    if (vg_config_load(o->config, &cfg, &err) < 0) {
        say("%s (explaining with the built-in defaults)\n", err->msg);
        vg_error_free(steal_pointer(&err));
        cfg = vg_config_new_default();
    }
    if ((r = read_explain_input(o, &text, &len)) != 0)
        return r;
    log = vg_explain_parse(text, len);

    /* Facts at the edges; any of them may be missing. */
    if (vg_mountinfo_read(NULL, &mounts, &err) < 0)
        vg_error_free(steal_pointer(&err));
    (void)vg_read_file("/etc/fstab", 1 << 20, &fstab_text, NULL);
    fstab = vg_fstab_parse(fstab_text ? fstab_text : "");
    if (vg_qemu_conf_load(cfg->qemu_conf, &qconf, &err) < 0)
        vg_error_free(steal_pointer(&err));
    have_ids = qconf && vg_ids_resolve(qconf->user, qconf->group, NULL, NULL, &ids, NULL) == 0;
    explain_domains(o, log, &x);
    paths = vg_explain_paths(log);
    stat_files(paths, cfg->probe_timeout_ms, &x.files, &x.n_files);

    vg_explain_facts facts = {
        .cfg = cfg,
        .config_path = o->config,
        .mounts = mounts,
        .lima = vg_lima_detect(mounts, fstab),
        .fstab = fstab,
        .qemu = have_ids ? &ids : NULL,
        .names = x.names,
        .n_names = x.n_names,
        .files = x.files,
        .n_files = x.n_files,
        .domains = x.doms,
        .n_domains = x.n_doms,
        .domains_from = x.doms_from,
    };
    autochecklist vg_checklist *l = vg_explain_judge(log, &facts);
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

static int cmd_audit(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *profiles = NULL;
    vg_audit_domain *doms = NULL;
    vg_audit_proc *procs = NULL;
    size_t n_doms = 0, n_procs = 0;
    int status;

    if (!load_config(o->config, &cfg))
        return VG_EXIT_CANNOT_RUN;
    if (vg_libvirt_running(o->uri ? o->uri : "qemu:///system", &doms, &n_doms, &err) < 0) {
        say("%s\n", err->msg);
        return VG_EXIT_CANNOT_RUN;
    }
    const char *aadir = o->apparmor_dir ? o->apparmor_dir : APPARMORDIR;
    for (size_t i = 0; i < n_doms; i++)
        vg_audit_read_rules(cfg, aadir, &doms[i]);
    if (vg_audit_scan_proc(o->proc_dir ? o->proc_dir : "/proc", task_label, NULL, &procs,
                           &n_procs, &err) < 0) {
        say("%s\n", err->msg);
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

/* A configured directory under --root (tests: a fake root). */
static char *rooted(const opts *o, const char *path)
{
    return vg_xasprintf("%s%s", o->root ? o->root : "", path);
}

static int cmd_status(const opts *o)
{
    autofree char *hooks = o->hooks_dir ? vg_xstrdup(o->hooks_dir) : rooted(o, LIBVIRT_HOOKS_DIR);
    autofree char *aa = o->apparmor_dir ? vg_xstrdup(o->apparmor_dir) : rooted(o, APPARMORDIR);
    autofree char *cache = o->cache_dir ? vg_xstrdup(o->cache_dir)
                                        : rooted(o, LOCALSTATEDIR "/cache/virtguard");
    autofree char *run = o->run_dir ? vg_xstrdup(o->run_dir) : rooted(o, RUNSTATEDIR "/virtguard");
    vg_status_dirs d = { .apparmor_dir = aa, .hooks_dir = hooks, .cache_dir = cache,
                         .run_dir = run };
    autochecklist vg_checklist *l = vg_status_survey(&d);
    return emit(o, l);
}

static int cmd_apply(const opts *o)
{
    vg_apply_env env = {
        .helper = o->helper ? o->helper : SBINDIR "/virtguard-helper",
        .parser = o->parser ? o->parser : VG_APPARMOR_PARSER,
        .config_path = o->config,
        .apparmor_dir = o->apparmor_dir ? o->apparmor_dir : APPARMORDIR,
        .run_dir = o->run_dir,
        .aa_enabled = aa_is_enabled() == 1,
        .timeout_ms = 60000,
    };
    autochecklist vg_checklist *l = vg_apply_run(&env);
    return emit(o, l);
}

/* `virtguard help help` and `virtguard help version`. */
static const struct {
    const char *name;
    const char *text;
} builtin_help[] = {
    { "help", "Usage: virtguard help [COMMAND]\n\nLists the commands, or shows COMMAND's options "
              "and exit status\n(the same as 'virtguard COMMAND --help').  Exit status: 0, or 2 "
              "for an unknown COMMAND.\n" },
    { "version", "Usage: virtguard version\n\nPrints 'virtguard VERSION' (also: virtguard "
                 "--version).  Exit status: 0.\n" },
};

static int cmd_help(int argc, char **argv)
{
    if (argc == 2) {
        usage(stdout);
        return VG_EXIT_OK;
    }
    const command *cmd = find_command(argv[2]);
    if (argc > 3) {
        say("help takes one COMMAND; 'virtguard help' lists the commands.\n");
        return VG_EXIT_CANNOT_RUN;
    }
    if (cmd) {
        command_help(stdout, cmd);
        return VG_EXIT_OK;
    }
    for (size_t i = 0; i < VG_N_ELEMENTS(builtin_help); i++) {
        if (strcmp(argv[2], builtin_help[i].name) == 0) {
            fputs(builtin_help[i].text, stdout);
            return VG_EXIT_OK;
        }
    }
    autofree char *shown = vg_str_escape(argv[2], true);
    say("unknown command '%s'; 'virtguard help' lists the commands.\n", shown);
    return VG_EXIT_CANNOT_RUN;
}

/* A config file named on the command line must be readable and valid for
 * every command: judging against the defaults instead would report a
 * domain as unguarded because of a typo.  (doctor --root reads it under
 * that root.) */
static bool named_config_ok(const opts *o)
{
    autoconfig vg_config *cfg = NULL;
    autoerror vg_error *err = NULL;
    autofree char *path = NULL;

    if (!o->config)
        return true;
    path = o->root ? vg_xasprintf("%s%s", o->root, o->config) : vg_xstrdup(o->config);
    if (vg_config_load_named(path, "--config", &cfg, &err) < 0) {
        say("%s\n", err->msg);
        return false;
    }
    return true;
}

static int run_command(int argc, char **argv)
{
    opts o = { 0 };
    const command *cmd;
    int r;

    if (argc < 2) {
        usage(stderr);
        return VG_EXIT_CANNOT_RUN;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return cmd_help(argc, argv);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("virtguard %s\n", PACKAGE_VERSION);
        return VG_EXIT_OK;
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        autofree char *shown = vg_str_escape(argv[1], true);
        say("unknown command '%s'; 'virtguard help' lists the commands.\n", shown);
        return VG_EXIT_CANNOT_RUN;
    }
    run_out.command = cmd->name;
    r = parse_opts(cmd, argc - 1, argv + 1, &o);
    if (r != 0)
        return r > 0 ? VG_EXIT_OK : VG_EXIT_CANNOT_RUN;
    if (!named_config_ok(&o))
        return VG_EXIT_CANNOT_RUN;
    r = cmd->run(&o);
    vg_libvirt_pools_close(&cli_pools);
    return r;
}

int main(int argc, char **argv)
{
    /* --json anywhere (before a "--"): the answer is one JSON document */
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
        run_out.json |= strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0;
    run_out.command = argc > 1 ? argv[1] : "";
    int r = run_command(argc, argv);
    put_error_document(r);
    vg_strv_free(run_out.messages);
    return r;
}
