/* virtguard: who QEMU runs as, and what POSIX DAC lets that identity do.
 * Pure except for vg_ids_resolve(), which reads passwd/group files (never
 * NSS: the hook is linked statically and must not dlopen). */
#pragma once

#include <sys/types.h>

#include "error.h"

typedef struct vg_ids {
    uid_t uid;
    gid_t gid;
    gid_t *groups;          /* supplementary groups, as libvirt computes them */
    size_t n_groups;
    char *user;             /* name, or NULL when the uid has none */
    char *group;
} vg_ids;

/* Resolve libvirt-style specs: "+N" is a numeric id, "name" a name, and
 * "N" a name if one exists, else a number (libvirt's virGetUserID rules).
 * Supplementary groups are those of the user name in `group_file` plus gid.
 * `passwd_file`/`group_file` NULL mean /etc/passwd and /etc/group. */
int vg_ids_resolve(const char *user_spec, const char *group_spec,
                   const char *passwd_file, const char *group_file,
                   vg_ids *out, vg_error **err);
/* "+U:+G" / "user:group" label of a DAC seclabel. */
int vg_ids_resolve_label(const char *label, const char *passwd_file, const char *group_file,
                         vg_ids *out, vg_error **err);
void vg_ids_clear(vg_ids *ids);
static inline void vg_ids_clearp(vg_ids *ids) { vg_ids_clear(ids); }
#define autoids _cleanup_(vg_ids_clearp)

/* "uid 64055 (libvirt-qemu), gid 64055 (libvirt-qemu)" */
char *vg_ids_describe(const vg_ids *ids);

/* May `ids` get `want` (R_OK|W_OK|X_OK bits) on an inode owned by
 * f_uid:f_gid with permission bits `mode`?  uid 0 may do anything except
 * execute a file with no x bit at all (as the kernel decides). */
bool vg_dac_allows(const vg_ids *ids, uid_t f_uid, gid_t f_gid, mode_t mode, int want);
