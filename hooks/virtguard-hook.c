/* virtguard-hook: libvirt qemu hook (installed as LIBVIRT_HOOKS_DIR/qemu.d/virtguard).
 *
 * Contract (libvirt src/util/virhook.c): argv is NAME OP SUBOP EXTRA, the
 * domain XML arrives on stdin, a non-zero exit stops the operation and our
 * whole stderr reaches the virsh user; stdout replaces the XML only for
 * "migrate begin" and "restore begin".  Never call back into libvirt: the
 * daemon holds the domain's lock while we run. */
#include <config.h>

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

static int guard(const char *name, const char *op)
{
    autofree char *xml = NULL;
    size_t len = 0;
    vg_verdict v;
    int status;

    if (read_stdin(&xml, &len) < 0)
        return 1;
    vg_verdict_make(NULL, xml, len, "-", op, NULL, &v);
    if (v.text && *v.text)
        fputs(v.text, stderr);
    if (v.log_line)
        vg_log(v.kind == VG_VERDICT_ALLOW ? LOG_INFO : LOG_WARNING, "%s", v.log_line);
    status = vg_verdict_hook_status(&v);
    (void)name;
    vg_verdict_clear(&v);
    return status;
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
        return guard(argv[1], op);
    if (strcmp(sub, "begin") == 0 && (strcmp(op, "migrate") == 0 || strcmp(op, "restore") == 0))
        return rewrite(op);
    /* Every other operation is none of our business. */
    return 0;
}
