/* virtguard: what is special about a Lima guest.  Lima mounts the host's
 * directories with 9p (QEMU VMs, default) or virtiofs, tags "lima-<hash>"
 * ("mount0", "mount1", ... before Lima renamed them), listed in /etc/fstab
 * with "nofail": a failed mount leaves an empty directory and the boot goes
 * on.  With mountType "reverse-sshfs" the host runs `sshfs :DIR DIR -o
 * slave` in the guest over ssh (lima-vm/sshocker): a "fuse.sshfs" mount
 * whose source is ":DIR", in no fstab.  Every Lima guest mounts its
 * cloud-init ISO at /mnt/lima-cidata.  Pure: text in, text out. */
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

/* A source / fstab spec that is a Lima mount tag: "lima-..." or "mountN"
 * (N decimal digits, the tags before the rename). */
bool vg_lima_tag(const char *spec);

/* Which sign of Lima one mount (or fstab entry) is, or NULL:
 *   "lima-* mount tags"            9p/virtiofs with a "lima-..." tag
 *                                  (any type for "lima-...", as before)
 *   "mountN mount tags (Lima before the tag rename)"   9p/virtiofs "mountN"
 *   "a reverse-sshfs mount"        fuse.sshfs whose source starts with ':'
 *   "the /mnt/lima-cidata mount"   anything mounted at /mnt/lima-cidata */
const char *vg_lima_sign(const char *source, const char *fstype, const char *mount_point);
/* Does this host look like a Lima guest (one of those signs in the mount
 * table or in fstab)?  Either may be NULL. */
bool vg_lima_detect(const vg_mounts *m, const vg_fstab *f);
/* The most telling sign found (in the order above), or NULL: not a Lima
 * guest. */
const char *vg_lima_detect_sign(const vg_mounts *m, const vg_fstab *f);

/* The fix for a shared mount that is not mounted on a host that is not a
 * Lima guest: with an fstab entry `fe`, mount it by its mount point; without
 * one, the /etc/fstab line to add (type from the first shared_fs_types
 * entry; "TAG" or "USER@HOST:/DIR" stands for the share's source; the mount
 * point \040-escaped as fstab(5) wants), then mount it.  One sentence, no
 * trailing newline, e.g.
 *   add it to /etc/fstab, e.g. the line
 *     TAG /var/lib/libvirt/images 9p trans=virtio,version=9p2000.L,msize=131072,nofail 0 0
 *   (TAG is the share's mount tag), then run 'mount /var/lib/libvirt/images' and check
 *   with 'findmnt /var/lib/libvirt/images'. */
char *vg_mount_fix(const vg_config *cfg, const char *mount_point, const vg_fstab_entry *fe);

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
