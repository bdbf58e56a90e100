/* virtguard: put a host back as it was before virtguard, for package
 * removal (virtguard-helper purge; docs/DESIGN.md, "Packaging").
 *
 * What virtguard writes, and so what this undoes:
 *   - APPARMOR_DIR/libvirt/libvirt-UUID.virtguard, its rules files;
 *   - one include line (and, in dev mode, the "complain" flag) in libvirt's
 *     APPARMOR_DIR/libvirt/libvirt-UUID profile files;
 *   - *.vgtmp.* temporaries of an interrupted atomic write;
 *   - its cache (LOCALSTATEDIR/cache/virtguard) and run (RUNSTATEDIR/virtguard)
 *     directories.
 * Profiles already loaded in the kernel are left alone: a running domain
 * keeps the policy it started with, and libvirt's next load of its profile
 * (next start, hotplug) reads the restored file. */
#pragma once

#include "error.h"

typedef struct vg_purge_result {
    char **removed;     /* paths removed */
    char **restored;    /* profile files rewritten without virtguard's include */
} vg_purge_result;

void vg_purge_result_clear(vg_purge_result *res);

/* In `aa_dir`/libvirt: rewrite every libvirt-UUID profile file that
 * includes virtguard's rules without that include (vg_aa_profile_restore;
 * atomically, mode kept), then remove every libvirt-UUID.virtguard file
 * and every "*.vgtmp.*" temporary.  No other file is touched.  A missing
 * directory is not an error (nothing to undo).  Goes on past a file it
 * cannot handle and returns the first error (0 or -errno); what it did is
 * appended to *res. */
int vg_purge_apparmor(const char *aa_dir, vg_purge_result *res, vg_error **err);

/* Remove the directory `dir` and everything in it, without following
 * symbolic links (a link is removed, not its target).  A missing `dir` is
 * not an error.  Returns 0 or -errno; removed paths are appended to *res. */
int vg_purge_state_dir(const char *dir, vg_purge_result *res, vg_error **err);
