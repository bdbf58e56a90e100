/* libFuzzer target: the conf syntax reader (lib/config/confparse.c) and both
 * semantic layers on top of it, virtguard.conf (lib/config/vgconfig.c) and
 * qemu.conf (lib/config/qemuconf.c).  Oracle: every refusal carries a message;
 * an accepted virtguard.conf has only absolute, normalised roots. */
#include <config.h>

#include <stdint.h>

#include "confparse.h"
#include "qemuconf.h"
#include "vgconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    {
        autoconf vg_conf *c = NULL;
        autoerror vg_error *err = NULL;
        if (vg_conf_parse(text, size, "fuzz.conf", &c, &err) < 0 && (!err || !err->msg))
            abort();
        for (size_t i = 0; c && i < c->n_entries; i++)
            (void)vg_conf_get(c, c->entries[i].key);
    }
    {
        autoconfig vg_config *cfg = NULL;
        autoerror vg_error *err = NULL;
        if (vg_config_parse(text, size, "fuzz.conf", &cfg, &err) < 0) {
            if (!err || !err->msg)
                abort();
        } else {
            for (size_t i = 0; cfg->shared_mounts && cfg->shared_mounts[i]; i++)
                if (cfg->shared_mounts[i][0] != '/')
                    abort();
        }
    }
    {
        autoqemuconf vg_qemu_conf *q = NULL;
        autoerror vg_error *err = NULL;
        if (vg_qemu_conf_parse(text, size, "qemu.conf", &q, &err) < 0) {
            if (!err || !err->msg)
                abort();
        } else {
            (void)vg_qemu_conf_security_none(q);
        }
    }
    return 0;
}
