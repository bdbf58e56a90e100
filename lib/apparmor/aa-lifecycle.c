/* virtguard: undoing virtguard's changes to libvirt's per-domain profile
 * files (lib/apparmor/aa-lifecycle.h). */
#include <config.h>

#include "aa-lifecycle.h"
#include "aa-profile.h"

#define PROFILE_MAX (1u << 20)

bool vg_aa_domain_has_ours(const char *aa_dir, const char *uuid)
{
    autofree char *rules = vg_aa_rules_path(aa_dir, uuid);
    autofree char *main = vg_aa_profile_path(aa_dir, uuid);
    autofree char *text = NULL;
    int r;

    if (access(rules, F_OK) == 0 || errno != ENOENT)
        return true;
    r = vg_read_file(main, PROFILE_MAX, &text, NULL);
    if (r == -ENOENT)
        return false;
    if (r < 0)
        return true;
    return (vg_aa_profile_ours(text, uuid) & VG_AA_OURS_COMPLAIN) != 0;
}

int vg_aa_domain_undo(const char *aa_dir, const char *uuid, bool drop_include,
                      vg_aa_undone *done, vg_error **err)
{
    autofree char *rules = vg_aa_rules_path(aa_dir, uuid);
    autofree char *main = vg_aa_profile_path(aa_dir, uuid);
    autofree char *text = NULL;
    autofree char *restored = NULL;
    bool changed = false;
    int r;

    memset(done, 0, sizeof(*done));
    /* The profile first: a crash in between leaves the rules file, which
     * the next cheap check still sees, so the undo is retried. */
    r = vg_read_file(main, PROFILE_MAX, &text, NULL);
    if (r < 0 && r != -ENOENT)
        return vg_error_set_errno(err, -r, "cannot read '%s'", main);
    if (r == 0) {
        unsigned before = vg_aa_profile_ours(text, uuid);
        if ((r = vg_aa_profile_restore(text, uuid, drop_include, &restored, &changed, err)) < 0)
            return vg_error_wrap(err, "'%s'", main);
        if (changed && (r = vg_write_file_atomic(main, restored, strlen(restored), 0644)) < 0)
            return vg_error_set_errno(err, -r, "cannot write '%s'", main);
        if (changed) {
            unsigned after = vg_aa_profile_ours(restored, uuid);
            done->complain_removed = (before & ~after & VG_AA_OURS_COMPLAIN) != 0;
            done->include_removed = (before & ~after & VG_AA_OURS_INCLUDE) != 0;
        }
    }
    if (unlink(rules) == 0)
        done->rules_removed = true;
    else if (errno != ENOENT)
        return vg_error_set_errno(err, errno, "cannot remove '%s'", rules);
    return 0;
}

char *vg_aa_undone_describe(const char *aa_dir, const char *uuid, const vg_aa_undone *done)
{
    autofree char *rules = vg_aa_rules_path(aa_dir, uuid);
    autofree char *main = vg_aa_profile_path(aa_dir, uuid);
    vg_buf b = { 0 };

    if (done->rules_removed)
        vg_buf_printf(&b, "removed '%s'", rules);
    if (done->complain_removed)
        vg_buf_printf(&b, "%stook virtguard's complain flag off '%s'", b.len ? ", " : "", main);
    if (done->include_removed)
        vg_buf_printf(&b, "%sremoved the include of virtguard's rules from '%s'",
                      b.len ? ", " : "", main);
    if (!b.len)
        return NULL;
    return vg_buf_steal(&b);
}
