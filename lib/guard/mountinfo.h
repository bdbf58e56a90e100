/* virtguard: /proc/self/mountinfo, parsed from text (fixtures stand in for
 * the live file in tests).  See proc(5): fields are
 *   ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
 * ROOT, MOUNTPOINT and SOURCE are octal-escaped (\040 space, \011 tab,
 * \012 newline, \134 backslash); they are stored unescaped. */
#pragma once

#include "error.h"

typedef struct vg_mount {
    int id;
    int parent_id;
    unsigned major;
    unsigned minor;
    char *root;
    char *mount_point;
    char *mount_opts;
    char *fstype;
    char *source;
    char *super_opts;
} vg_mount;

typedef struct vg_mounts {
    vg_mount *v;
    size_t n;
} vg_mounts;

/* Malformed line: -EINVAL naming the line number. */
int vg_mountinfo_parse(const char *text, size_t len, vg_mounts **out, vg_error **err);
/* Read /proc/self/mountinfo (or `path` when non-NULL). */
int vg_mountinfo_read(const char *path, vg_mounts **out, vg_error **err);

/* The mount that contains `path` (absolute, normalised): the entry whose
 * mount point is the longest whole-component prefix; among entries with the
 * same mount point the last one listed (the topmost) wins.  NULL if none. */
const vg_mount *vg_mounts_find(const vg_mounts *m, const char *path);
/* The topmost entry mounted exactly at `mount_point`, or NULL. */
const vg_mount *vg_mounts_at(const vg_mounts *m, const char *mount_point);
/* Value of option `key` in a comma-separated option string ("trans=virtio",
 * "security_model=none"); NULL if absent; "" for a flag without value.
 * Returns a newly allocated string. */
char *vg_mount_option(const char *opts, const char *key);

void vg_mounts_free(vg_mounts *m);
static inline void vg_mounts_freep(vg_mounts **m) { vg_mounts_free(*m); }
#define automounts _cleanup_(vg_mounts_freep)
