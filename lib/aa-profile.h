/* virtguard: text transforms of libvirt's per-domain AppArmor profile file
 * (/etc/apparmor.d/libvirt/libvirt-UUID).  Pure: strings in, strings out.
 *
 * libvirt creates that file once from TEMPLATE.qemu (virt-aa-helper -c)
 * and afterwards only reloads it (-r), rewriting libvirt-UUID.files.  We
 * add one line to it,
 *     #include if exists <libvirt/libvirt-UUID.virtguard>
 * so every load libvirt does carries virtguard's rules; and in dev mode
 * the profile's flags get "complain". */
#pragma once

#include "error.h"

#define VG_AA_RULES_SUFFIX ".virtguard"

/* "libvirt-<uuid>" */
char *vg_aa_profile_name(const char *uuid);

/* The profile file exactly as virt-aa-helper create_profile() would write
 * it from `tmpl` (TEMPLATE.qemu): "\nprofile LIBVIRT_TEMPLATE" renamed and
 * "  #include <libvirt/NAME.files>" before every "\n}". */
int vg_aa_profile_from_template(const char *tmpl, const char *uuid, char **out, vg_error **err);

/* Ensure the include line for our rules is inside the profile block (just
 * before its last "\n}") and the flags carry "complain" iff `complain`.
 * Any other text is kept as it is.  *changed says whether *out differs. */
int vg_aa_profile_ensure(const char *text, const char *uuid, bool complain,
                         char **out, bool *changed, vg_error **err);

/* For validation: the profile with our include replaced by `rules` inline
 * and libvirt's ".files" include dropped (it may not exist yet). */
int vg_aa_profile_for_validation(const char *text, const char *uuid, const char *rules,
                                 char **out, vg_error **err);

/* Undo vg_aa_profile_ensure for package removal (virtguard-helper purge):
 * drop every line that is exactly (blanks aside) our include of
 * <libvirt/libvirt-UUID.virtguard> and, when there was one, the "complain"
 * flag too (the helper owns the flags of the profiles it includes itself
 * in: enforce mode removes complain, dev mode sets it).  A profile without
 * our include is returned unchanged.  *changed says whether *out differs. */
int vg_aa_profile_restore(const char *text, const char *uuid, char **out, bool *changed,
                          vg_error **err);
