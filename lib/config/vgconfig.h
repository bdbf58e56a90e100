/* virtguard: the meaning of virtguard.conf (see docs/virtguard.conf.5). */
#pragma once

#include "error.h"
#include "rewrite.h"

typedef enum {
    VG_MODE_ENFORCE,
    VG_MODE_DEV,
} vg_mode;

typedef enum {
    VG_APPARMOR_AUTO,       /* write rules when the kernel has AppArmor enabled */
    VG_APPARMOR_ON,         /* always write and validate rules (hosts preparing
                               profiles, tests on kernels without the LSM) */
    VG_APPARMOR_OFF,        /* write no rules (an earlier start's are taken back) */
} vg_apparmor_setting;

typedef struct vg_config {
    char *source;               /* file it came from; NULL = built-in defaults */
    vg_mode mode;               /* mode = "enforce" | "dev"; default enforce */
    char **shared_mounts;       /* shared_mounts = [ ... ]; default empty */
    char **shared_fs_types;     /* shared_fs_types = [ ... ]; default 9p, virtiofs */
    vg_path_map *path_map;      /* path_map = [ "FROM=TO", ... ] (rewrite.h); default empty */
    size_t n_path_map;
    unsigned probe_timeout_ms;  /* probe_timeout_ms = N; default 5000, 100..600000 */
    char **extra_roots;         /* apparmor_extra_roots = [ ... ]: further dirs whose
                                   files may get AppArmor rules; default empty */
    char *qemu_conf;            /* qemu_conf = "..."; default LIBVIRT_SYSCONFDIR/libvirt/qemu.conf */
    vg_apparmor_setting apparmor; /* apparmor = "auto" | "on" | "off"; default auto */
} vg_config;

/* Built-in defaults (what a missing config file means). */
vg_config *vg_config_new_default(void);

/* Parse config text. Unknown key, wrong type or bad value: -EINVAL with a
 * message naming file, line and key, e.g.
 *   "/etc/virtguard/virtguard.conf:7: key 'mode': expected \"enforce\" or \"dev\", got \"strict\"" */
int vg_config_parse(const char *text, size_t len, const char *name, vg_config **out, vg_error **err);

/* Load from a file (NULL: vg_config_default_path()).  A file that does not
 * exist gives the defaults (return 0, (*out)->source == NULL); any other
 * read error or parse error fails. */
int vg_config_load(const char *path, vg_config **out, vg_error **err);

/* Load a file the user named (--config FILE): like vg_config_load, but a
 * file that does not exist is an error too, since falling back to the
 * defaults would judge against a config nobody meant.  -errno and
 *   "cannot read the config file '/typo.conf' (--config): No such file or directory"
 * (`how`: what named it, e.g. "--config"). */
int vg_config_load_named(const char *path, const char *how, vg_config **out, vg_error **err);

/* The default config path: SYSCONFDIR "/virtguard/virtguard.conf". */
const char *vg_config_default_path(void);

const char *vg_mode_name(vg_mode m);
void vg_config_free(vg_config *c);
static inline void vg_config_freep(vg_config **c) { vg_config_free(*c); }
#define autoconfig _cleanup_(vg_config_freep)
