/* virtguard: the admin CLI.  Thin: options, I/O, exit status; every
 * decision is in the library. */
#include <config.h>

#include <getopt.h>

#include "domain-paths.h"
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
            "  version\n"
            "\n"
            "Exit status: 0 fine, 1 problems found (check: start would be refused), 2 usage,\n"
            "config or input error.  Default config: %s\n",
            vg_config_default_path());
}

typedef struct opts {
    const char *config;
    bool json;
    const char *input;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
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
    if (vg_policy_from_xml(cfg, xml, len, o->input, &rules, &warnings, &err) < 0) {
        fprintf(stderr, "virtguard: %s\n", err->msg);
        return EXIT_PROBLEMS;
    }
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
    vg_verdict_make(o->config, xml, len, o->input, "check", NULL, &v);
    fputs(v.text, stderr);
    switch (v.kind) {
    case VG_VERDICT_SKIP:
        printf("virtguard: domain '%s' touches no shared mount: the hook lets it start "
               "unchecked.\n", v.domain);
        status = EXIT_OK;
        break;
    case VG_VERDICT_ALLOW:
        printf("virtguard: domain '%s': %zu shared path(s) checked, all fine (%lld ms).\n",
               v.domain, v.report->n_shared, v.report->probe_ms);
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
    if (strcmp(cmd, "paths") != 0 && strcmp(cmd, "check") != 0 && strcmp(cmd, "rewrite") != 0 &&
        strcmp(cmd, "profile") != 0) {
        fprintf(stderr, "virtguard: unknown command '%s'\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (parse_opts(argc - 1, argv + 1, &o) < 0)
        return EXIT_USAGE;
    if (strcmp(cmd, "paths") == 0)
        return cmd_paths(&o);
    if (strcmp(cmd, "rewrite") == 0)
        return cmd_rewrite(&o);
    if (strcmp(cmd, "profile") == 0)
        return cmd_profile(&o);
    return cmd_check(&o);
}
