/* virtguard: the state of a configured shared mount (see mount-state.h). */
#include <config.h>

#include "mount-state.h"
#include "util.h"

vg_mount_class vg_mount_classify(const vg_mounts *mounts, const char *mount_point,
                                 char *const *allowed, const vg_mount_probe *p)
{
    vg_mount_class c = { .state = VG_MOUNT_NOT_MOUNTED };

    c.entry = vg_mounts_at(mounts, mount_point);
    if (!c.entry)
        return c;
    if (!vg_strv_contains(allowed, c.entry->fstype)) {
        c.state = VG_MOUNT_WRONG_FSTYPE;
        return c;
    }
    if (!p || !p->statfs) {
        c.state = VG_MOUNT_NOT_PROBED;
        return c;
    }
    const vg_probe_res *self = p->self ? p->self : p->statfs;
    if (!p->statfs->answered || !self->answered || !p->parent->answered) {
        c.state = VG_MOUNT_TIMEOUT;
        return c;
    }
    if (p->statfs->err || self->err) {
        c.state = VG_MOUNT_UNEXAMINABLE;
        c.err = p->statfs->err ? p->statfs->err : self->err;
        return c;
    }
    c.state = !p->parent->err && p->parent->dev == self->dev ? VG_MOUNT_SHADOW : VG_MOUNT_FINE;
    return c;
}
