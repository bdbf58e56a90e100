/* virtguard: libvirt storage pools, read without calling libvirt.
 *
 * A <disk type='volume'> names a pool and a volume.  For the pool types
 * whose volumes are plain files in one directory (dir, fs, netfs: libvirt
 * 9.0 storage_backend_fs.c sets a volume's path to "TARGET/NAME") the
 * volume becomes an ordinary file disk, which the guard checks and the
 * rules grant like any other.  Pools come from libvirt's own files: the
 * running pool's state (LIBVIRT_RUN_DIR/storage/NAME.xml, a <poolstate>
 * wrapping the <pool>, written by virStoragePoolSaveState) first, else its
 * persistent definition (LIBVIRT_SYSCONFDIR/libvirt/storage/NAME.xml).  The CLI may
 * pass its own lookup (libvirt's read-only API).  Every other pool type
 * (iscsi, rbd, logical, ...) stays "not checked", one notice per volume.
 */
#pragma once

#include "domain-model.h"

typedef struct vg_pool {
    char *name;
    char *type;             /* <pool type=...>: "dir", "fs", "netfs", "iscsi"... */
    char *target;           /* <target><path>, normalised; may be NULL */
    char *source;           /* where it was read from, for messages */
} vg_pool;

/* Parse a pool definition: a <pool> (config file, virsh pool-dumpxml) or a
 * <poolstate> wrapping one (libvirt's state file).  `name` is used in
 * messages.  Not a pool, no name or no type: -EINVAL.  A target path that
 * is not absolute or has control characters is not kept (target NULL). */
int vg_pool_parse(const char *text, size_t len, const char *name, vg_pool **out, vg_error **err);

/* Whether volumes of this pool type are files "TARGET/VOLUME". */
bool vg_pool_type_has_files(const char *type);

/* The host path of `volume` in `pool` (dir/fs/netfs only): TARGET/VOLUME.
 * A volume name that is empty, ".", ".." or contains '/' or a control
 * character, a pool without target, or another pool type: -EINVAL. */
int vg_pool_volume_path(const vg_pool *pool, const char *volume, char **out, vg_error **err);

/* Where libvirt keeps pool files; NULL members mean the configured ones. */
typedef struct vg_pool_dirs {
    const char *config_dir;     /* LIBVIRT_SYSCONFDIR "/libvirt/storage" */
    const char *state_dir;      /* LIBVIRT_RUN_DIR "/storage" */
} vg_pool_dirs;

const char *vg_pool_default_config_dir(void);
const char *vg_pool_default_state_dir(void);

/* Load pool `name` from libvirt's files (`dirs` may be NULL): the state
 * file of the running pool, else the persistent definition.  An invalid
 * pool name (empty, leading '.', '/' or control characters): -EINVAL; no
 * file: -ENOENT; a file whose <name> differs: -EINVAL. */
int vg_pool_load_files(const vg_pool_dirs *dirs, const char *name, vg_pool **out, vg_error **err);

/* A pool lookup: 0 and *out, or -errno and *err. */
typedef int (*vg_pool_lookup_fn)(const char *name, vg_pool **out, void *opaque, vg_error **err);

typedef struct vg_pool_source {
    vg_pool_lookup_fn lookup;   /* NULL: vg_pool_load_files(&dirs) */
    void *opaque;
    vg_pool_dirs dirs;
} vg_pool_source;

/* Turn the domain's volume entries into paths: for a dir/fs/netfs pool the
 * unresolved entry is replaced by a file path (role, access, format ... of
 * the disk) at the disk's place in d->paths; otherwise its reason says why
 * it stays unchecked (other pool type, pool not found, bad names).
 * `src` NULL: libvirt's files in the configured directories.  Returns the
 * number of volumes resolved. */
size_t vg_domain_resolve_volumes(vg_domain *d, const vg_pool_source *src);

void vg_pool_free(vg_pool *p);
static inline void vg_pool_freep(vg_pool **p) { vg_pool_free(*p); }
#define autopool _cleanup_(vg_pool_freep)
