/* virtguard: undoing virtguard's changes to libvirt's per-domain AppArmor
 * files on disk (APPARMORDIR/libvirt/libvirt-UUID and its ".virtguard"
 * rules file).  The text transforms are lib/apparmor/aa-profile.c; this is the edge
 * that reads, deletes and atomically rewrites the files.
 *
 * What virtguard changes, and who takes it back (docs/SECURITY.md,
 * "Lifecycle"):
 *   - the rules file: written at load; removed at unload (release), at
 *     reconcile (a start virtguard does not manage) and by gc;
 *   - "complain" in the profile's flags (dev mode), recorded by
 *     VG_AA_COMPLAIN_MARK: removed at unload, reconcile, gc and by a load in
 *     enforce mode; an unmarked complain flag is the admin's and stays;
 *   - the include line: inert without the rules file, so it stays until gc
 *     finds the domain gone (then the profile is libvirt's own again). */
#pragma once

#include "error.h"

typedef struct vg_aa_undone {
    bool rules_removed;         /* the ".virtguard" rules file was deleted */
    bool complain_removed;      /* the marked complain flag was taken away */
    bool include_removed;       /* the include line was taken away */
} vg_aa_undone;

/* Cheap check, no lock, no write: does the domain have a rules file or a
 * marked complain flag (anything unload/reconcile would undo)?  One access()
 * and one read of the (small) profile file.  An unreadable profile file
 * counts as "yes": the helper will then say what is wrong. */
bool vg_aa_domain_has_ours(const char *aa_dir, const char *uuid);

/* Undo virtguard's changes for the domain `uuid` (already validated):
 * delete the rules file and rewrite the profile file (atomically, only when
 * it changes) without the marked complain flag and, when `drop_include`,
 * without the include line.  Missing files are not an error.  The caller
 * holds the helper's lock.  Returns 0 and *done, or -errno and *err. */
int vg_aa_domain_undo(const char *aa_dir, const char *uuid, bool drop_include,
                      vg_aa_undone *done, vg_error **err);

/* "removed the rules file '...', took virtguard's complain flag off '...'",
 * or NULL when nothing was done. */
char *vg_aa_undone_describe(const char *aa_dir, const char *uuid, const vg_aa_undone *done);
