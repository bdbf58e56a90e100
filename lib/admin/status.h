/* virtguard: what virtguard changed on this host, without undoing it
 * (`virtguard status`).  The list is exactly what removing and purging the
 * package takes away: the AppArmor and state parts come from the same walk
 * `virtguard-helper purge` acts on (lib/apparmor/purge.h, vg_purge_list_*),
 * the rest are the files the package's maintainer scripts put in place and
 * remove (debian/virtguard.postinst, prerm, postrm). */
#pragma once

#include "checklist.h"

typedef struct vg_status_dirs {
    const char *apparmor_dir;   /* APPARMORDIR */
    const char *hooks_dir;      /* LIBVIRT_HOOKS_DIR */
    const char *cache_dir;      /* LOCALSTATEDIR "/cache/virtguard" */
    const char *run_dir;        /* RUNSTATEDIR "/virtguard" */
} vg_status_dirs;

/* One INFO check per thing virtguard changed, topic = its kind:
 *   "hook"            a hook in libvirt's hook directories (qemu.d, daemon.d)
 *   "helper-profile"  the helper's AppArmor profile
 *   "helper-roots"    its generated include (virtguard apply)
 *   "include"         virtguard's include line in a libvirt-UUID profile
 *   "complain"        the complain flag virtguard set in it (dev mode)
 *   "rules"           a libvirt-UUID.virtguard rules file, or a temporary
 *   "cache", "run"    a file or directory in the cache or run directory
 * each with attribute "path"; summary number "changes".  A directory it
 * cannot list makes the report incomplete (exit 2). */
vg_checklist *vg_status_survey(const vg_status_dirs *d);
