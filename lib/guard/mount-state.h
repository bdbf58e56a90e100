/* virtguard: the state of a configured shared mount, judged once from the
 * mount table and the probe's answers.  Pure: the hook (guard.c) and
 * `virtguard doctor` (doctor.c) each render the result in their own words. */
#pragma once

#include <stdbool.h>

#include "mountinfo.h"
#include "probe.h"

typedef enum vg_mount_state {
    VG_MOUNT_NOT_MOUNTED,       /* nothing is listed exactly at the mount point */
    VG_MOUNT_WRONG_FSTYPE,      /* listed, but its type is not an allowed one */
    VG_MOUNT_NOT_PROBED,        /* listed with an allowed type; no probe was run */
    VG_MOUNT_TIMEOUT,           /* the probe did not answer in time */
    VG_MOUNT_UNEXAMINABLE,      /* the probe answered with an error (see .err) */
    VG_MOUNT_SHADOW,            /* same device as its parent: a shadow directory */
    VG_MOUNT_FINE,              /* mounted, allowed type, answered, own device */
} vg_mount_state;

/* The probe's answers about one mount point.  `statfs` NULL: not probed.
 * `self` (a stat of the mount point) is optional: NULL when not asked, and
 * then the device is taken from the statfs answer. */
typedef struct vg_mount_probe {
    const vg_probe_res *statfs;
    const vg_probe_res *self;
    const vg_probe_res *parent;
} vg_mount_probe;

typedef struct vg_mount_class {
    vg_mount_state state;
    const vg_mount *entry;      /* topmost entry at the mount point; NULL: NOT_MOUNTED */
    int err;                    /* VG_MOUNT_UNEXAMINABLE: the errno */
} vg_mount_class;

/* Judge `mount_point` against `mounts` (non-NULL), the allowed filesystem
 * types `allowed` (NULL-terminated) and the probe's answers `p` (NULL or
 * p->statfs NULL: not probed).  The states are tried in the order of the
 * enum; the first that applies wins. */
vg_mount_class vg_mount_classify(const vg_mounts *mounts, const char *mount_point,
                                 char *const *allowed, const vg_mount_probe *p);
