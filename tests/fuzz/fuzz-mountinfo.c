/* libFuzzer target: the /proc/self/mountinfo parser (lib/guard/mountinfo.c) and
 * the lookups the guard does on its result. */
#include <config.h>

#include <stdint.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    automounts vg_mounts *m = NULL;
    autoerror vg_error *err = NULL;

    if (vg_mountinfo_parse((const char *)data, size, &m, &err) < 0) {
        if (!err || !err->msg)
            abort();
        return 0;
    }
    for (size_t i = 0; i < m->n; i++) {
        const vg_mount *e = &m->v[i];
        if (!e->mount_point || !e->fstype || !e->mount_opts || !e->super_opts)
            abort();
        free(vg_mount_option(e->super_opts, "trans"));
        free(vg_mount_option(e->mount_opts, "ro"));
        autofree char *norm = vg_path_normalize(e->mount_point);
        if (norm && strcmp(norm, e->mount_point) == 0) {
            /* A normalised mount point is found by its own path. */
            const vg_mount *f = vg_mounts_find(m, norm);
            if (!f || !vg_path_is_under(norm, f->mount_point) || !vg_mounts_at(m, norm))
                abort();
        }
    }
    (void)vg_mounts_find(m, "/var/lib/libvirt/images/x");
    return 0;
}
