/* virtguard: what virtguard changed (lib/admin/status.h). */
#include <config.h>

#include <sys/stat.h>

#include "helper-profile.h"
#include "purge.h"
#include "status.h"

static void add(vg_checklist *l, const char *topic, const char *what, const char *path)
{
    vg_check *c = vg_checklist_add(l, VG_CHECK_INFO, topic, "%s '%s'", what, path);
    vg_check_attr_set(c, "path", "%s", path);
}

/* A file the package put in place, listed when it is there. */
static void add_file(vg_checklist *l, const char *topic, const char *what, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        add(l, topic, what, path);
    else if (errno != ENOENT)
        vg_checklist_incomplete(l, "Cannot inspect '%s': %s; run 'virtguard status' as root.",
                                path, strerror(errno));
}

static void add_walk(vg_checklist *l, const char *topic, const vg_purge_result *res, int r,
                     vg_error *err)
{
    for (size_t i = 0; res->restored && res->restored[i]; i++)
        add(l, "include", "virtguard's include line in", res->restored[i]);
    for (size_t i = 0; res->complain && res->complain[i]; i++)
        add(l, "complain", "the complain flag (dev mode) in", res->complain[i]);
    for (size_t i = 0; res->removed && res->removed[i]; i++)
        add(l, topic, vg_streq(topic, "rules") ? "rules file" : "file or directory",
            res->removed[i]);
    if (r < 0)
        vg_checklist_incomplete(l, "%s; run 'virtguard status' as root.",
                                err ? err->msg : strerror(-r));
}

vg_checklist *vg_status_survey(const vg_status_dirs *d)
{
    vg_checklist *l = vg_checklist_new("status");
    const struct {
        const char *topic, *dir;
    } walks[] = { { "rules", d->apparmor_dir }, { "cache", d->cache_dir }, { "run", d->run_dir } };

    for (const char *const *h = (const char *const[]){ "qemu.d", "daemon.d", NULL }; *h; h++) {
        autofree char *p = vg_xasprintf("%s/%s/virtguard", d->hooks_dir, *h);
        add_file(l, "hook", "hook", p);
    }
    autofree char *profile = vg_xasprintf("%s/" VG_HELPER_PROFILE_NAME, d->apparmor_dir);
    add_file(l, "helper-profile", "the helper's AppArmor profile", profile);
    autofree char *roots = vg_xasprintf("%s/" VG_HELPER_ROOTS_INCLUDE, d->apparmor_dir);
    add_file(l, "helper-roots", "the helper's roots include", roots);
    for (size_t i = 0; i < VG_N_ELEMENTS(walks); i++) {
        vg_purge_result res = { 0 };
        autoerror vg_error *err = NULL;
        int r = i == 0 ? vg_purge_list_apparmor(walks[i].dir, &res, &err)
                       : vg_purge_list_state_dir(walks[i].dir, &res, &err);
        add_walk(l, walks[i].topic, &res, r, err);
        vg_purge_result_clear(&res);
    }
    vg_checklist_summary_number(l, "changes", (long long)l->n);
    return l;
}
