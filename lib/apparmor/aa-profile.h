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
/* The way back: `name` is "libvirt-<uuid>" followed by exactly `suffix`
 * ("" for the profile file or the profile's name, VG_AA_RULES_SUFFIX for
 * the rules file).  Returns the UUID, validated (vg_policy_check_uuid), or
 * NULL for any other name. */
char *vg_aa_profile_uuid(const char *name, const char *suffix);
/* "AA_DIR/libvirt/libvirt-<uuid>": libvirt's per-domain profile file. */
char *vg_aa_profile_path(const char *aa_dir, const char *uuid);
/* "AA_DIR/libvirt/libvirt-<uuid>.virtguard": virtguard's rules file. */
char *vg_aa_rules_path(const char *aa_dir, const char *uuid);
/* "#include if exists <libvirt/libvirt-<uuid>.virtguard>": the line that
 * pulls the rules file into libvirt's profile. */
char *vg_aa_rules_include(const char *uuid);

/* The profile file exactly as virt-aa-helper create_profile() would write
 * it from `tmpl` (TEMPLATE.qemu): "\nprofile LIBVIRT_TEMPLATE" renamed and
 * "  #include <libvirt/NAME.files>" before every "\n}". */
int vg_aa_profile_from_template(const char *tmpl, const char *uuid, char **out, vg_error **err);

/* The comment line virtguard puts right below the "profile NAME ... {"
 * header when it adds "complain" to the flags (dev mode): the record that
 * the flag is virtguard's, so that only virtguard's own flag is ever taken
 * away again.  Fixed text: no name, no quote. */
#define VG_AA_COMPLAIN_MARK "# virtguard: complain flag added by virtguard (dev mode)"

/* Ensure the include line for our rules is inside the profile block (just
 * before its last "\n}"), and the flags:
 *   complain: "complain" is added, with VG_AA_COMPLAIN_MARK, unless the
 *     flags already say "complain" (the admin's: no mark) or "enforce" (an
 *     explicit choice that conflicts with complain: kept, nothing added);
 *   !complain: "complain" is removed only when VG_AA_COMPLAIN_MARK says it
 *     is virtguard's (the mark goes too); an admin's flag stays.
 * Any other text is kept byte for byte.  *changed says whether *out differs. */
int vg_aa_profile_ensure(const char *text, const char *uuid, bool complain,
                         char **out, bool *changed, vg_error **err);

/* Undo what virtguard changed in the profile text: the marked complain flag
 * and its mark and, when `drop_include`, the include line of our rules.
 * Everything else is kept byte for byte; text virtguard never touched comes
 * back unchanged (*changed false). */
int vg_aa_profile_restore(const char *text, const char *uuid, bool drop_include,
                          char **out, bool *changed, vg_error **err);

/* What of virtguard's is in the profile text (pure, a few string scans). */
#define VG_AA_OURS_COMPLAIN 1u  /* the marked complain flag */
#define VG_AA_OURS_INCLUDE 2u   /* the include line of our rules */
unsigned vg_aa_profile_ours(const char *text, const char *uuid);

/* For validation: the profile with our include replaced by `rules` inline
 * and libvirt's ".files" include dropped, in libvirt 9.0's form
 * (#include <...>) and libvirt 11's (#include if exists <...>): the file may
 * not exist yet, and what is validated (and cached by its hash) must be the
 * whole text compiled. */
int vg_aa_profile_for_validation(const char *text, const char *uuid, const char *rules,
                                 char **out, vg_error **err);
