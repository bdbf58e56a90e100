/* virtguard: the parts of libvirt's qemu.conf that decide who QEMU runs as
 * and whether libvirt relabels files.  Unknown keys are ignored (qemu.conf
 * has hundreds); a syntax error is reported. */
#pragma once

#include "error.h"

typedef struct vg_qemu_conf {
    char *source;            /* NULL: built-in defaults */
    char *user;              /* user = "..."; default VG_DEFAULT_QEMU_USER */
    char *group;             /* group = "..."; default VG_DEFAULT_QEMU_GROUP */
    bool dynamic_ownership;  /* default true */
    bool remember_owner;     /* default true */
    char **security_driver;  /* string or list; NULL = unset (libvirt probes) */
    int security_driver_line;/* line of security_driver, 0 when unset */
} vg_qemu_conf;

vg_qemu_conf *vg_qemu_conf_new_default(void);
int vg_qemu_conf_parse(const char *text, size_t len, const char *name, vg_qemu_conf **out, vg_error **err);
/* A missing file gives the defaults.  path NULL: LIBVIRT_SYSCONFDIR/libvirt/qemu.conf. */
int vg_qemu_conf_load(const char *path, vg_qemu_conf **out, vg_error **err);
/* True when qemu.conf explicitly sets security_driver = "none" (or a list
 * containing only "none"). */
bool vg_qemu_conf_security_none(const vg_qemu_conf *q);
void vg_qemu_conf_free(vg_qemu_conf *q);
static inline void vg_qemu_conf_freep(vg_qemu_conf **q) { vg_qemu_conf_free(*q); }
#define autoqemuconf _cleanup_(vg_qemu_conf_freep)
