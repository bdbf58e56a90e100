/* virtguard: the generated part of virtguard-helper's own AppArmor profile.
 *
 * usr.sbin.virtguard-helper lets the helper read images (qcow2 headers of
 * backing chains) only under the directories virtguard.conf names -
 * shared_mounts and apparmor_extra_roots - which are known at run time, not
 * at build time.  So the profile includes a file generated from the config,
 * APPARMORDIR/VG_HELPER_ROOTS_INCLUDE, written by `virtguard-helper roots`.
 * A changed config reaches the kernel when the admin runs
 *     virtguard-helper roots && apparmor_parser -r APPARMORDIR/usr.sbin.virtguard-helper
 * (the helper itself can compile policy but never load it); until then a
 * load on a host with AppArmor refuses with exactly that advice. */
#pragma once

#include "vgconfig.h"

#define VG_HELPER_ROOTS_INCLUDE "virtguard/helper-roots"
#define VG_HELPER_PROFILE_NAME "usr.sbin.virtguard-helper"
/* The profile's name inside that file (`profile virtguard-helper PATH`): the
 * kernel lists it under this name in .../apparmor/profiles, not its path. */
#define VG_HELPER_AA_PROFILE "virtguard-helper"

/* The include's text: a fixed comment, then for every shared mount and
 * extra root (and its canonical path, when a symlink leads elsewhere) two
 * read rules: the directory itself ("DIR/") and everything below it (DIR
 * followed by the AppArmor "/" "**" glob), with DIR written literally (lib/base/aa-escape.h).  Returns 0, or -EINVAL when
 * a directory cannot be written literally. */
int vg_helper_roots_render(const vg_config *cfg, char **out, vg_error **err);

/* Is `aa_dir`/VG_HELPER_ROOTS_INCLUDE exactly what vg_helper_roots_render
 * gives for `cfg`?  0 when it is; -ESTALE (or the read error) and a message
 * that says which directory is missing and the two commands to run. */
int vg_helper_roots_check(const vg_config *cfg, const char *aa_dir, vg_error **err);
