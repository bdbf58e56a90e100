/* virtguard: virtguard apply (lib/admin/apply.h). */
#include <config.h>

#include "apply.h"
#include "helper-profile.h"
#include "subprocess.h"

#define APPLY_GRACE_MS 1000
#define APPLY_OUTPUT_MAX 16384

static char *join_argv(char **argv)
{
    vg_buf b = { 0 };
    vg_buf_add(&b, "");
    for (size_t i = 0; argv[i]; i++)
        vg_buf_printf(&b, "%s%s", i ? " " : "", argv[i]);
    return vg_buf_steal(&b);
}

/* Run one step; false when it did not work (the check says why). */
static bool step(vg_checklist *l, const vg_apply_env *env, const char *topic, char **argv,
                 const char *done)
{
    vg_spawn_result res = { 0 };
    autoerror vg_error *err = NULL;
    autofree char *shown = join_argv(argv);
    vg_check *c;

    if (vg_spawn_run(argv, NULL, 0, env->timeout_ms, APPLY_GRACE_MS, APPLY_OUTPUT_MAX, &res,
                     &err) < 0) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, topic, "'%s' could not be run", shown);
        vg_check_detail(c, "%s.", err->msg);
        vg_checklist_incomplete(l, "'%s' could not be run: %s.", argv[0], err->msg);
        return false;
    }
    int status = vg_spawn_exit_status(&res);
    size_t n = strlen(res.output);
    while (n && res.output[n - 1] == '\n')
        res.output[--n] = '\0';
    if (status != 0) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, topic, "'%s' failed (%s)", shown,
                             res.timed_out ? "timed out" : status < 0 ? "killed" : "exit status");
        if (status > 0)
            vg_check_attr_number(c, "exit", status);
        vg_check_detail(c, "%s", res.output[0] ? res.output : "(no output)");
        vg_check_fix(c, "fix what it names, then run 'virtguard apply' again.");
    } else {
        c = vg_checklist_add(l, VG_CHECK_PASS, topic, "%s", done);
        if (res.output[0])
            vg_check_detail(c, "%s", res.output);
    }
    vg_check_attr_set(c, "command", "%s", shown);
    vg_spawn_result_clear(&res);
    return status == 0;
}

vg_checklist *vg_apply_run(const vg_apply_env *env)
{
    vg_checklist *l = vg_checklist_new("apply");
    autofree char *profile = vg_xasprintf("%s/" VG_HELPER_PROFILE_NAME, env->apparmor_dir);
    autofree char *inc = vg_xasprintf("%s/" VG_HELPER_ROOTS_INCLUDE, env->apparmor_dir);
    autostrv char **roots = NULL;
    autostrv char **parse = NULL;

    vg_strv_push(&roots, vg_xstrdup(env->helper));
    vg_strv_push(&roots, vg_xstrdup("roots"));
    if (env->config_path) {
        vg_strv_push(&roots, vg_xstrdup("--config"));
        vg_strv_push(&roots, vg_xstrdup(env->config_path));
    }
    vg_strv_push(&roots, vg_xstrdup("--apparmor-dir"));
    vg_strv_push(&roots, vg_xstrdup(env->apparmor_dir));
    if (env->run_dir) {
        vg_strv_push(&roots, vg_xstrdup("--run-dir"));
        vg_strv_push(&roots, vg_xstrdup(env->run_dir));
    }
    autofree char *roots_done = vg_xasprintf("the helper's roots include '%s' is written from "
                                             "virtguard.conf", inc);
    if (!step(l, env, "roots", roots, roots_done))
        return l;

    vg_strv_push(&parse, vg_xstrdup(env->parser));
    /* no AppArmor in the kernel: compile it, so a bad include still fails */
    vg_strv_push(&parse, vg_xstrdup(env->aa_enabled ? "-r" : "-QK"));
    vg_strv_push(&parse, vg_xstrdup("--base"));
    vg_strv_push(&parse, vg_xstrdup(env->apparmor_dir));
    vg_strv_push(&parse, vg_xstrdup(profile));
    autofree char *parse_done =
        env->aa_enabled ? vg_xasprintf("the helper's profile '%s' is reloaded", profile)
                        : vg_xasprintf("the helper's profile '%s' compiles (AppArmor is not "
                                       "enabled in this kernel: nothing to load)", profile);
    step(l, env, "profile", parse, parse_done);
    return l;
}
