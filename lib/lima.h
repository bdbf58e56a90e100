/* virtguard: what is special about a Lima guest.  Lima mounts the host's
 * directories with 9p (QEMU VMs, default) or virtiofs, tags "lima-<hash>",
 * listed in /etc/fstab with "nofail": a failed mount leaves an empty
 * directory and the boot goes on.  Pure: text in, text out. */
#pragma once

#include "mountinfo.h"
#include "vgconfig.h"

typedef struct vg_fstab_entry {
    char *spec;         /* "lima-8b1e03c6f4", "/dev/vda1", "UUID=..." */
    char *file;         /* mount point, unescaped (\040 is a space) */
    char *type;
    char *opts;
    int line;
} vg_fstab_entry;

typedef struct vg_fstab {
    vg_fstab_entry *v;
    size_t n;
} vg_fstab;

/* Lines with fewer than three fields are skipped (fstab(5) is forgiving and
 * so is mount). Never fails. */
vg_fstab *vg_fstab_parse(const char *text);
/* The last entry for this mount point, or NULL. */
const vg_fstab_entry *vg_fstab_find(const vg_fstab *f, const char *mount_point);
void vg_fstab_free(vg_fstab *f);
static inline void vg_fstab_freep(vg_fstab **f) { vg_fstab_free(*f); }
#define autofstab _cleanup_(vg_fstab_freep)

/* A source / fstab spec that is a Lima mount tag ("lima-..."). */
bool vg_lima_tag(const char *spec);
/* Does this host look like a Lima guest (a "lima-" mount source in the
 * mount table or in fstab)?  Either may be NULL. */
bool vg_lima_detect(const vg_mounts *m, const vg_fstab *f);

/* The host directory that `mount_point` shows: the FROM of a path_map entry
 * whose TO is the mount point, or NULL. */
const char *vg_lima_host_location(const vg_config *cfg, const char *mount_point);

/* The lima.yaml lines that mount the host directory at `mount_point`:
 *   mounts:
 *   - location: "/Users/dev/images"
 *     mountPoint: "/var/lib/libvirt/images"
 *     writable: true
 * plus, when `security_model` is non-NULL, a "9p: securityModel:" block,
 * and when `virtiofs`, a note line for the instance's mountType.
 * The location is the path_map FROM when there is one, else the
 * placeholder "/path/on/the/host". */
char *vg_lima_mount_yaml(const vg_config *cfg, const char *mount_point,
                         const char *security_model, bool virtiofs);
