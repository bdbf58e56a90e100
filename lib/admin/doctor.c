/* virtguard: `virtguard doctor` (see doctor.h). */
#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#include "doctor.h"
#include "helper-profile.h"
#include "mount-state.h"
#include "verdict.h"

#define SMALL_FILE (1 << 20)

/* ------------------------------------------------------------------ */
/* Pure helpers */

char *vg_aa_profile_mode(const char *profiles, const char *profile)
{
    size_t pl = strlen(profile);
    for (const char *line = profiles; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        if (n > pl + 3 && strncmp(line, profile, pl) == 0 && line[pl] == ' ' &&
            line[pl + 1] == '(' && line[n - 1] == ')')
            return vg_xstrndup(line + pl + 2, n - pl - 3);
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

long long vg_proc_start_time(const char *pid_stat, const char *proc_stat, long clk_tck)
{
    const char *p = pid_stat ? strrchr(pid_stat, ')') : NULL;
    const char *bt = proc_stat ? strstr(proc_stat, "\nbtime ") : NULL;
    if (!p || !bt || clk_tck <= 0)
        return -1;
    /* fields after ')': 3=state ... 22=starttime, i.e. the 20th token */
    unsigned long long start = 0;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -1;
        if (field == 22) {
            char *end;
            errno = 0;
            start = strtoull(p, &end, 10);
            if (errno || end == p)
                return -1;
            break;
        }
        while (*p && *p != ' ')
            p++;
    }
    long long btime = strtoll(bt + 7, NULL, 10);
    if (btime <= 0)
        return -1;
    return btime + (long long)(start / (unsigned long long)clk_tck);
}

/* ------------------------------------------------------------------ */
/* Gathering (the edge) */

static char *under_root(const vg_doctor_env *env, const char *path)
{
    const char *root = env && env->root && *env->root ? env->root : "";
    if (!*root || strcmp(root, "/") == 0)
        return vg_xstrdup(path);
    return vg_xasprintf("%s%s", root, path);
}

static char *read_small(const vg_doctor_env *env, const char *path)
{
    autofree char *p = under_root(env, path);
    char *text = NULL;
    if (vg_read_file(p, SMALL_FILE, &text, NULL) < 0)
        return NULL;
    return text;
}

static char *strip_nl(char *s)
{
    if (s) {
        size_t n = strlen(s);
        while (n && (s[n - 1] == '\n' || s[n - 1] == '\0'))
            s[--n] = '\0';
    }
    return s;
}

static void gather_daemons(const vg_doctor_env *env, vg_doctor_facts *f)
{
    autofree char *proc = under_root(env, "/proc");
    autofree char *proc_stat = read_small(env, "/proc/stat");
    DIR *d = opendir(proc);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        autofree char *comm_path = vg_xasprintf("/proc/%s/comm", de->d_name);
        autofree char *comm = strip_nl(read_small(env, comm_path));
        if (!comm || (strcmp(comm, "libvirtd") != 0 && strcmp(comm, "virtqemud") != 0))
            continue;
        vg_daemon_fact *df = VG_APPEND(f->daemons, f->n_daemons);
        df->pid = atoi(de->d_name);
        df->name = steal_pointer(&comm);
        autofree char *stat_path = vg_xasprintf("/proc/%s/stat", de->d_name);
        autofree char *pid_stat = read_small(env, stat_path);
        df->start_time = vg_proc_start_time(pid_stat, proc_stat, sysconf(_SC_CLK_TCK));
        autofree char *l1 = vg_xasprintf("/proc/%s/attr/apparmor/current", de->d_name);
        autofree char *l2 = vg_xasprintf("/proc/%s/attr/current", de->d_name);
        df->label = strip_nl(read_small(env, l1));
        if (!df->label || !*df->label) {
            free(df->label);
            df->label = strip_nl(read_small(env, l2));
        }
        if (df->label && !*df->label)
            free(steal_pointer(&df->label));
    }
    closedir(d);
}

static void probe_mount(const vg_doctor_env *env, vg_doctor_facts *f, vg_mount_fact *m)
{
    autofree char *mp = under_root(env, m->mount_point);
    autofree char *parent = NULL;
    const char *slash = strrchr(mp, '/');
    parent = slash && slash != mp ? vg_xstrndup(mp, (size_t)(slash - mp)) : vg_xstrdup("/");
    vg_probe_req req[4] = {
        { .op = VG_PROBE_STAT, .path = parent },
        { .op = VG_PROBE_STATFS, .path = mp },
        { .op = VG_PROBE_STAT, .path = mp },
        { .op = VG_PROBE_CHOWN, .path = mp, .uid = f->qemu_ids.uid, .gid = f->qemu_ids.gid },
    };
    vg_probe_res res[4];
    memset(res, 0, sizeof(res));
    /* chown only as root and with known ids: anything else learns nothing */
    size_t n = geteuid() == 0 && !f->qemu_ids_error ? 4 : 3;
    autoerror vg_error *err = NULL;
    if (vg_probe_run(req, n, f->cfg->probe_timeout_ms, res, &m->probe_ms, &err) < 0 &&
        !res[0].answered && err) {
        /* could not run at all: leave probed false */
        return;
    }
    m->probed = true;
    m->parent = res[0];
    m->statfs = res[1];
    m->self = res[2];
    m->chown = n == 4 ? res[3] : (vg_probe_res){ 0 };
}

/* virtguard.conf, qemu.conf and QEMU's ids; a file that cannot be read is
 * noted, and its defaults stand in for it. */
static void gather_configs(const vg_doctor_env *env, vg_doctor_facts *f)
{
    autoerror vg_error *err = NULL;

    f->config_path = vg_xstrdup(env->config_path ? env->config_path : vg_config_default_path());
    {
        autofree char *p = under_root(env, f->config_path);
        f->config_exists = access(p, F_OK) == 0;
        int r = vg_config_load(p, &f->cfg, &err);
        if (r < 0) {
            f->config_unreadable = r == -EACCES || r == -EPERM;
            f->config_error = vg_xstrdup(err->msg);
            vg_error_free(steal_pointer(&err));
            f->cfg = vg_config_new_default();
        }
    }
    f->qemu_conf_path = vg_xstrdup(f->cfg->qemu_conf);
    {
        autofree char *p = under_root(env, f->qemu_conf_path);
        f->qemu_conf_exists = access(p, F_OK) == 0;
        int r = vg_qemu_conf_load(p, &f->qconf, &err);
        if (r < 0) {
            f->qemu_conf_unreadable = r == -EACCES || r == -EPERM;
            f->qemu_conf_error = vg_xstrdup(err->msg);
            vg_error_free(steal_pointer(&err));
            f->qconf = vg_qemu_conf_new_default();
        }
        autofree char *pw = under_root(env, "/etc/passwd");
        autofree char *gr = under_root(env, "/etc/group");
        if (vg_ids_resolve(f->qconf->user, f->qconf->group, pw, gr, &f->qemu_ids, &err) < 0) {
            f->qemu_ids_error = vg_xstrdup(err->msg);
            vg_error_free(steal_pointer(&err));
        }
    }
}

/* The hook file (mode, mtime, link target) and a legacy qemu hook beside it. */
static void gather_hook(const vg_doctor_env *env, vg_doctor_facts *f)
{
    struct stat st;

    const char *hooks = env->hooks_dir ? env->hooks_dir : LIBVIRT_HOOKS_DIR;
    f->hook_path = vg_xasprintf("%s/qemu.d/virtguard", hooks);
    autofree char *p = under_root(env, f->hook_path);
    if (lstat(p, &st) < 0) {
        f->hook_errno = errno;
    } else {
        f->hook_mode = st.st_mode;
        f->hook_mtime = (long long)st.st_mtime;
        if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t n = readlink(p, buf, sizeof(buf) - 1);
            if (n >= 0)
                f->hook_target = vg_xstrndup(buf, (size_t)n);
        }
    }
    autofree char *legacy = vg_xasprintf("%s/qemu", hooks);
    autofree char *lp = under_root(env, legacy);
    f->legacy_hook = access(lp, F_OK) == 0;
}

/* AppArmor: enabled, the loaded profiles, the helper and its profile. */
static void gather_apparmor(const vg_doctor_env *env, vg_doctor_facts *f)
{
    struct stat st;

    autofree char *en = strip_nl(read_small(env, "/sys/module/apparmor/parameters/enabled"));
    f->aa_enabled = en && (en[0] == 'Y' || en[0] == 'y' || en[0] == '1');
    f->aa_profiles = read_small(env, "/sys/kernel/security/apparmor/profiles");
    f->helper_path = vg_xstrdup(env->helper_path ? env->helper_path
                                                 : SBINDIR "/virtguard-helper");
    autofree char *hp = under_root(env, f->helper_path);
    if (stat(hp, &st) < 0)
        f->helper_errno = errno;
    else
        f->helper_mode = st.st_mode;
    const char *aadir = env->apparmor_dir ? env->apparmor_dir : APPARMORDIR;
    f->helper_profile_path = vg_xasprintf("%s/usr.sbin.virtguard-helper", aadir);
    autofree char *pp = under_root(env, f->helper_profile_path);
    f->helper_profile_errno = access(pp, F_OK) < 0 ? errno : 0;
}

/* The mount table, fstab, and each shared mount (probed when asked). */
static void gather_mounts(const vg_doctor_env *env, vg_doctor_facts *f)
{
    autoerror vg_error *err = NULL;

    autofree char *mi = under_root(env, "/proc/self/mountinfo");
    if (vg_mountinfo_read(mi, &f->mounts, &err) < 0) {
        f->mounts_error = vg_xstrdup(err->msg);
        vg_error_free(steal_pointer(&err));
    }
    autofree char *fstab = read_small(env, "/etc/fstab");
    f->fstab = vg_fstab_parse(fstab ? fstab : "");
    for (size_t i = 0; f->cfg->shared_mounts[i]; i++) {
        vg_mount_fact *m = VG_APPEND(f->mf, f->n_mf);
        m->mount_point = vg_xstrdup(f->cfg->shared_mounts[i]);
        if (env->probe_mounts && f->mounts) {
            const vg_mount *e = vg_mounts_at(f->mounts, m->mount_point);
            /* never touch a mount of a type we would not trust */
            if (e && vg_strv_contains(f->cfg->shared_fs_types, e->fstype))
                probe_mount(env, f, m);
        }
    }
}

void vg_doctor_gather(const vg_doctor_env *env, vg_doctor_facts *f)
{
    memset(f, 0, sizeof(*f));
    gather_configs(env, f);
    gather_hook(env, f);
    gather_daemons(env, f);
    gather_apparmor(env, f);
    gather_mounts(env, f);
}

void vg_doctor_facts_clear(vg_doctor_facts *f)
{
    free(f->config_path);
    vg_config_free(f->cfg);
    free(f->config_error);
    free(f->qemu_conf_path);
    vg_qemu_conf_free(f->qconf);
    free(f->qemu_conf_error);
    vg_ids_clear(&f->qemu_ids);
    free(f->qemu_ids_error);
    free(f->hook_path);
    free(f->hook_target);
    for (size_t i = 0; i < f->n_daemons; i++) {
        free(f->daemons[i].name);
        free(f->daemons[i].label);
    }
    free(f->daemons);
    free(f->aa_profiles);
    free(f->helper_path);
    free(f->helper_profile_path);
    vg_mounts_free(f->mounts);
    free(f->mounts_error);
    vg_fstab_free(f->fstab);
    for (size_t i = 0; i < f->n_mf; i++)
        free(f->mf[i].mount_point);
    free(f->mf);
    memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------ */
/* Judgement (pure) */

static bool enforce(const vg_doctor_facts *f)
{
    return f->cfg->mode == VG_MODE_ENFORCE;
}

/* A file doctor could not read (not root): one FAIL naming it, what was
 * therefore not judged, and an incomplete report. */
static void unreadable(vg_checklist *l, const char *topic, const char *path, const char *error,
                       const char *consequence, const char *reader)
{
    vg_check *c = vg_checklist_add(l, VG_CHECK_FAIL, topic, "'%s' could not be read", path);
    vg_check_detail(c, "%s. %s", error, consequence);
    vg_check_fix(c, "run 'virtguard doctor' as root (sudo), as %s reads it.", reader);
    vg_checklist_incomplete(l, "%s; run 'virtguard doctor' as root for a complete report.",
                            error);
}

static void judge_config(const vg_doctor_facts *f, vg_checklist *l)
{
    vg_check *c;
    if (f->config_unreadable) {
        unreadable(l, "config", f->config_path, f->config_error,
                   "The checks below use the built-in defaults (no shared mounts), not this "
                   "host's settings.", "the hook");
        return;
    }
    if (f->config_error) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "config", "'%s' does not parse",
                             f->config_path);
        vg_check_detail(c, "%s. The hook refuses every start until it is fixed (virtguard "
                           "fails closed), unless the file says mode = \"dev\".",
                        f->config_error);
        vg_check_fix(c, "correct the line named above (virtguard.conf(5) lists every key).");
        return;
    }
    if (!f->config_exists) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "config", "'%s' does not exist",
                             f->config_path);
        vg_check_detail(c, "The built-in defaults apply: no shared mounts, so the hook "
                           "checks nothing.");
        vg_check_fix(c, "install the shipped file and name your shared mount in it: "
                        "shared_mounts = [ \"/var/lib/libvirt/images\" ].");
        return;
    }
    c = vg_checklist_add(l, VG_CHECK_PASS, "config", "'%s' parses (mode %s)", f->config_path,
                         vg_mode_name(f->cfg->mode));
    if (f->cfg->mode == VG_MODE_DEV) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "config", "dev mode is ON");
        vg_check_detail(c, "The hook lets domains start despite the problems it finds (warnings "
                           "go to syslog only) and the helper loads rules in complain mode.");
        vg_check_fix(c, "set mode = \"enforce\" in '%s' once the checks pass.", f->config_path);
    }
    if (!f->cfg->shared_mounts[0]) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "config", "no shared_mounts configured");
        vg_check_detail(c, "The hook checks nothing and the helper writes no rules.");
        vg_check_fix(c, "name the shared image directory in '%s': shared_mounts = [ "
                        "\"/var/lib/libvirt/images\" ].", f->config_path);
    }
}

static const vg_daemon_fact *daemon_of(const vg_doctor_facts *f)
{
    return f->n_daemons ? &f->daemons[0] : NULL;
}

static void judge_hook(const vg_doctor_facts *f, vg_checklist *l)
{
    vg_check *c;
    const vg_daemon_fact *d = daemon_of(f);

    if (f->hook_errno) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "hook", "'%s' is not installed", f->hook_path);
        vg_check_detail(c, "lstat: %s. Without it libvirt starts domains unchecked.",
                        strerror(f->hook_errno));
        vg_check_fix(c, "'make install' (or install -m 0755 hooks/virtguard-hook '%s'), then "
                        "make libvirtd see it: kill -HUP $(pidof libvirtd).", f->hook_path);
        return;
    }
    if (S_ISLNK(f->hook_mode)) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "hook", "'%s' is a symbolic link", f->hook_path);
        vg_check_detail(c, "It points to '%s'. libvirtd's AppArmor profile lets hooks run by "
                           "the path of the link's target, which is not under the hooks "
                           "directory, so the confined daemon cannot run it.",
                        f->hook_target ? f->hook_target : "?");
        vg_check_fix(c, "install a real file: install -m 0755 '%s' '%s'.",
                     f->hook_target ? f->hook_target : "HOOK", f->hook_path);
        return;
    }
    if (!S_ISREG(f->hook_mode)) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "hook", "'%s' is not a regular file",
                             f->hook_path);
        vg_check_fix(c, "remove it and install the hook: install -m 0755 hooks/virtguard-hook "
                        "'%s'.", f->hook_path);
        return;
    }
    if ((f->hook_mode & 0111) != 0111) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "hook", "'%s' is not executable (mode %04o)",
                             f->hook_path, f->hook_mode & 07777);
        vg_check_detail(c, "libvirt runs only executable files in qemu.d.");
        vg_check_fix(c, "chmod 0755 '%s', then kill -HUP $(pidof libvirtd).", f->hook_path);
        return;
    }
    vg_checklist_add(l, VG_CHECK_PASS, "hook", "'%s' is an executable file", f->hook_path);
    if (f->legacy_hook) {
        c = vg_checklist_add(l, VG_CHECK_INFO, "hook", "a 'qemu' hook script exists too");
        vg_check_detail(c, "libvirt runs it before the hooks in qemu.d; virtguard leaves it "
                           "alone.");
    }
    if (!d) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "hook", "no libvirtd or virtqemud is running");
        vg_check_detail(c, "Whether the daemon has seen the hook is decided when it starts: it "
                           "looks for hooks once, at start-up.");
        vg_check_fix(c, "start libvirtd; this check then tells whether it saw the hook.");
        return;
    }
    if (d->start_time < 0) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "hook", "%s (pid %d): start time unknown",
                             d->name, d->pid);
        vg_check_fix(c, "to be sure the daemon sees the hook: kill -HUP %d.", d->pid);
        return;
    }
    /* Both times are whole seconds (btime, st_mtime) and the computed start
     * can be up to a second early: only a hook more than a second newer is
     * certainly unseen.  (One touched within that second is not caught.) */
    if (f->hook_mtime > d->start_time + 1) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "hook", "%s (pid %d) has not seen the hook",
                             d->name, d->pid);
        vg_check_detail(c, "The hook file is newer than the running daemon (modified %lld s "
                           "after it started); libvirt caches which hooks exist at start-up, "
                           "so starts go unchecked until it looks again.",
                        f->hook_mtime - d->start_time);
        vg_check_fix(c, "kill -HUP %d (or systemctl reload %s; a restart also does it).",
                     d->pid, d->name);
        vg_check_attr_number(c, "pid", d->pid);
        return;
    }
    c = vg_checklist_add(l, VG_CHECK_PASS, "hook", "%s (pid %d) started after the hook was "
                         "installed", d->name, d->pid);
    vg_check_attr_number(c, "pid", d->pid);
}

static void judge_apparmor(const vg_doctor_facts *f, vg_checklist *l)
{
    vg_check *c;
    bool active = vg_apparmor_active(f->cfg, f->aa_enabled);
    vg_check_status missing = active ? VG_CHECK_FAIL : VG_CHECK_WARN;

    if (!f->aa_enabled) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "apparmor", "AppArmor is not enabled in this "
                             "kernel");
        vg_check_detail(c, "libvirt cannot confine guests here and every QEMU runs unconfined; "
                           "virtguard writes no AppArmor rules (apparmor = \"%s\"). The DAC and "
                           "mount checks still apply.",
                        f->cfg->apparmor == VG_APPARMOR_ON ? "on: rules are written but not "
                                                             "loaded by any kernel"
                        : f->cfg->apparmor == VG_APPARMOR_OFF ? "off" : "auto");
        vg_check_fix(c, "boot with AppArmor (Debian's default: 'apparmor=1 security=apparmor' "
                        "on the kernel command line) where guests need isolation.");
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "apparmor", "AppArmor is enabled in the kernel");
    }

    if (f->helper_errno) {
        c = vg_checklist_add(l, missing, "apparmor", "the helper '%s' is not installed",
                             f->helper_path);
        vg_check_detail(c, "stat: %s. Without it no per-domain rules are written.",
                        strerror(f->helper_errno));
        vg_check_fix(c, "'make install' installs it.");
    } else if ((f->helper_mode & 0111) == 0 || !S_ISREG(f->helper_mode)) {
        c = vg_checklist_add(l, missing, "apparmor", "the helper '%s' is not an executable file",
                             f->helper_path);
        vg_check_fix(c, "chmod 0755 '%s'.", f->helper_path);
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "apparmor", "the helper '%s' is installed",
                         f->helper_path);
    }
    if (f->helper_profile_errno) {
        c = vg_checklist_add(l, missing, "apparmor", "the helper's profile '%s' is not installed",
                             f->helper_profile_path);
        vg_check_fix(c, "'make install' installs it; then apparmor_parser -r '%s'.",
                     f->helper_profile_path);
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "apparmor", "the helper's profile '%s' is installed",
                         f->helper_profile_path);
    }
    if (!f->aa_enabled)
        return;

    /* By the name the shipped profile gives itself; a profile named by the
     * helper's path (written by hand) counts too. */
    autofree char *mode = vg_aa_profile_mode(f->aa_profiles, VG_HELPER_AA_PROFILE);
    if (!mode)
        mode = vg_aa_profile_mode(f->aa_profiles, f->helper_path);
    if (!mode) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "apparmor", "the helper's profile is not loaded");
        vg_check_detail(c, "The hook runs the helper through libvirtd's \"PUx\" rule, which "
                           "needs the helper's own profile loaded.");
        vg_check_fix(c, "apparmor_parser -r '%s'.", f->helper_profile_path);
    } else if (strcmp(mode, "enforce") != 0) {
        /* complain, unconfined, kill...: the helper, which reads the share's
         * qcow2 headers, is not held to its rules */
        c = vg_checklist_add(l, enforce(f) ? VG_CHECK_FAIL : VG_CHECK_WARN, "apparmor",
                             "the helper's profile is loaded in %s mode, not enforce", mode);
        vg_check_detail(c, "The helper parses image headers the share's writers control; its "
                           "profile confines it only in enforce mode.");
        vg_check_fix(c, "aa-enforce '%s' (or apparmor_parser -r '%s' after removing the "
                        "complain flag).", f->helper_profile_path, f->helper_profile_path);
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "apparmor", "the helper's profile is loaded (%s)",
                         mode);
    }

    const vg_daemon_fact *d = daemon_of(f);
    if (!d)
        return;
    if (!d->label || strcmp(d->label, "unconfined") == 0 || strstr(d->label, "(complain)") ||
        strstr(d->label, "(unconfined)")) {
        bool complain = d->label && strstr(d->label, "(complain)");
        c = vg_checklist_add(l, enforce(f) ? VG_CHECK_FAIL : VG_CHECK_WARN, "apparmor",
                             "%s (pid %d) is %s", d->name, d->pid,
                             complain ? "in complain mode" : "not confined");
        vg_check_detail(c, "Its label is '%s'. Hooks inherit the daemon's confinement, and "
                           "libvirt's own profiles assume it.",
                        d->label ? d->label : "unknown");
        vg_check_fix(c, "aa-enforce /usr/sbin/%s (or apparmor_parser -r /etc/apparmor.d/"
                        "usr.sbin.%s), then restart it.", d->name, d->name);
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "apparmor", "%s (pid %d) is confined: %s", d->name,
                         d->pid, d->label);
    }
}

static bool shared_type_mounted(const vg_doctor_facts *f)
{
    for (size_t i = 0; i < f->n_mf && f->mounts; i++) {
        const vg_mount *m = vg_mounts_at(f->mounts, f->mf[i].mount_point);
        if (m && (strcmp(m->fstype, "9p") == 0 || strcmp(m->fstype, "virtiofs") == 0 ||
                  vg_str_has_prefix(m->fstype, "fuse")))
            return true;
    }
    return false;
}

/* A probed shared mount where libvirt's chown takes effect: there the
 * per-mount remembered-owner check speaks, not the generic one. */
static bool chown_works_somewhere(const vg_doctor_facts *f)
{
    for (size_t i = 0; i < f->n_mf; i++)
        if (f->mf[i].probed && f->mf[i].chown.answered &&
            f->mf[i].chown.chown == VG_CHOWN_WORKS)
            return true;
    return false;
}

static void judge_qemu_conf(const vg_doctor_facts *f, vg_checklist *l)
{
    vg_check *c;
    const vg_qemu_conf *q = f->qconf;

    if (f->qemu_conf_unreadable) {
        /* Nothing about QEMU's user, relabelling or the security driver was
         * read: judge none of it (the defaults would give false PASS lines). */
        unreadable(l, "qemu.conf", f->qemu_conf_path, f->qemu_conf_error,
                   "QEMU's user, dynamic_ownership, remember_owner and security_driver were "
                   "not checked.", "libvirtd");
        return;
    }
    if (f->qemu_conf_error) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "qemu.conf", "'%s' does not parse",
                             f->qemu_conf_path);
        vg_check_detail(c, "%s.", f->qemu_conf_error);
        vg_check_fix(c, "correct that line; libvirtd refuses to start with it as well.");
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "qemu.conf", "'%s' %s", f->qemu_conf_path,
                         f->qemu_conf_exists ? "parses" : "does not exist (libvirt's defaults)");
    }

    if (vg_qemu_conf_security_none(q)) {
        c = vg_checklist_add(l, enforce(f) ? VG_CHECK_FAIL : VG_CHECK_WARN, "qemu.conf",
                             "security_driver = \"none\" (line %d)", q->security_driver_line);
        vg_check_detail(c, "Every guest runs without AppArmor confinement, and it does not even "
                           "address the usual cause: on shared mounts 'Permission denied' is "
                           "DAC (file ownership), not AppArmor.%s",
                        f->aa_enabled ? " The hook refuses starts while it is set (enforce "
                                        "mode)." : "");
        vg_check_fix(c, "delete the line, restart libvirtd, and fix file ownership per domain "
                        "as virtguard's messages say (docs/migrating-off-security-driver-none.md)."
                     );
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "qemu.conf", "security_driver is %s",
                         q->security_driver ? q->security_driver[0] : "not set (libvirt "
                                                                      "probes AppArmor)");
    }

    if (f->qemu_ids_error) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "qemu.conf", "QEMU's user/group cannot be "
                             "resolved");
        vg_check_detail(c, "%s.", f->qemu_ids_error);
        vg_check_fix(c, "create the user or correct user/group in '%s'.", f->qemu_conf_path);
    } else {
        autofree char *ids = vg_ids_describe(&f->qemu_ids);
        if (f->qemu_ids.uid == 0) {
            c = vg_checklist_add(l, VG_CHECK_WARN, "qemu.conf", "QEMU runs as root (%s)", ids);
            vg_check_detail(c, "Every guest's QEMU has root's file access: a common workaround "
                               "for shared mounts that removes DAC isolation for all guests.");
            vg_check_fix(c, "remove user = \"root\" and give only the domains whose files need "
                            "it a static DAC <seclabel> with the files' owner (see 'virtguard "
                            "check' for the exact label).");
        } else {
            vg_checklist_add(l, VG_CHECK_PASS, "qemu.conf", "QEMU runs as %s", ids);
        }
    }

    if (!q->dynamic_ownership) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "qemu.conf", "dynamic_ownership = 0");
        vg_check_detail(c, "libvirt does not chown images to QEMU's user: every image must "
                           "already be readable (and writable) by it.");
        vg_check_fix(c, "remove the line unless the images are prepared for QEMU's user.");
    } else {
        vg_checklist_add(l, VG_CHECK_PASS, "qemu.conf", "dynamic_ownership is on");
    }
    if (q->remember_owner && shared_type_mounted(f) && !chown_works_somewhere(f)) {
        c = vg_checklist_add(l, VG_CHECK_WARN, "qemu.conf", "remember_owner is on with a shared "
                             "filesystem");
        vg_check_detail(c, "libvirt records original owners in trusted.* extended attributes, "
                           "which 9p/virtiofs shares usually cannot hold ('Unable to set XATTR "
                           "... Operation not supported').");
        vg_check_fix(c, "remember_owner = 0 in '%s', then restart libvirtd.", f->qemu_conf_path);
    }
}

static char *lima_fix(const vg_doctor_facts *f, const char *mp, const vg_fstab_entry *fe)
{
    bool virtiofs = fe && strcmp(fe->type, "virtiofs") == 0;
    autofree char *yaml = vg_lima_mount_yaml(f->cfg, mp, NULL, virtiofs);
    return vg_xasprintf("declare it in lima.yaml and restart the instance ('limactl stop NAME "
                        "&& limactl start NAME'):\n%s", yaml);
}

/* Where libvirt's chown works: can it give the owner back at stop?  Said
 * once per share (the hook warns per start and domain). */
static void judge_remember(const vg_doctor_facts *f, const vg_mount_fact *m, const vg_mount *e,
                           vg_checklist *l)
{
    const vg_probe_res *r = &m->chown;
    const char *qc = f->qemu_conf_path;
    bool remember = f->qconf->remember_owner;
    uid_t owner = m->self.uid;
    vg_check *c;

    if (!r->answered || r->chown != VG_CHOWN_WORKS)
        return;
    if (remember && r->xattr == VG_XATTR_KEPT) {
        c = vg_checklist_add(l, VG_CHECK_PASS, "mount", "'%s': chown works and libvirt's "
                             "remembered owners are kept: files get their owner back after a "
                             "stop", m->mount_point);
        vg_check_detail(c, "Read-only and backing layers are never given back by libvirt: they "
                           "stay QEMU's (uid %u) after a domain's first start.",
                        (unsigned)f->qemu_ids.uid);
        vg_check_attr_set(c, "mount", "%s", m->mount_point);
        return;
    }
    if (remember && r->xattr == VG_XATTR_UNKNOWN)
        return;
    bool fails = remember && (r->xattr == VG_XATTR_GET_FAILS || r->xattr == VG_XATTR_SET_FAILS);
    if (fails) {
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s': chown works, libvirt cannot "
                             "record owners: starts fail with 'Unable to %s XATTR'",
                             m->mount_point, r->xattr == VG_XATTR_GET_FAILS ? "get" : "set");
        vg_check_detail(c, "The share (%s) refuses '%s' (%s). With remember_owner = 0 starts "
                           "would work, but every stop would leave files root:root.",
                        e->fstype, VG_XATTR_REMEMBER, strerror(r->xattr_err));
    } else {
        c = vg_checklist_add(l, VG_CHECK_WARN, "mount", "'%s': chown works, remembered owners "
                             "are lost: files end up root:root after a stop",
                             m->mount_point);
        if (!remember)
            vg_check_detail(c, "libvirt chowns images to QEMU's user (uid %u) at start; '%s' "
                               "sets remember_owner = 0, so at stop it chowns them to root:root "
                               "(read-only and backing layers stay QEMU's). Their writer can no "
                               "longer rewrite them.", (unsigned)f->qemu_ids.uid, qc);
        else
            vg_check_detail(c, "libvirt chowns images to QEMU's user (uid %u) at start; this "
                               "share (%s) %s the extended attribute '%s' it records the owner "
                               "in%s%s%s, so at stop it chowns them to root:root (read-only and "
                               "backing layers stay QEMU's). Their writer can no longer rewrite "
                               "them.", (unsigned)f->qemu_ids.uid, e->fstype,
                            r->xattr == VG_XATTR_LOST ? "does not keep" : "cannot hold",
                            VG_XATTR_REMEMBER, r->xattr_err ? " (" : "",
                            r->xattr_err ? strerror(r->xattr_err) : "", r->xattr_err ? ")" : "");
    }
    autofree char *who = owner != 0 ? vg_xasprintf("%u", (unsigned)owner)
                                    : vg_xstrdup("OWNER_UID");
    vg_check_fix(c, "per domain, run QEMU as the files' owner, keeping QEMU's group, so that "
                    "libvirt chowns nothing ('virsh edit DOMAIN', before </domain>; 'virtguard "
                    "check' prints the label it checked for each domain):\n"
                    "  <seclabel type='static' model='dac' relabel='no'><label>+%s:+%u"
                    "</label></seclabel>\n%s"
                    "or serve the share so that it keeps trusted.* extended attributes%s.",
                 who, (unsigned)f->qemu_ids.gid,
                 owner != 0 ? "" : "(OWNER_UID: the uid of the images' writer.)\n",
                 remember ? "" : " and set remember_owner = 1 in qemu.conf");
    vg_check_attr_set(c, "mount", "%s", m->mount_point);
}

/* The mount itself: mounted there, of an allowed type, answering.  Returns
 * its mount table entry when it is fine and was probed, else NULL (a check
 * says why, or that it was not probed). */
static const vg_mount *judge_mount_state(const vg_doctor_facts *f, const vg_mount_fact *m,
                                         const vg_fstab_entry *fe, bool lima, vg_checklist *l)
{
    const char *mp = m->mount_point;
    vg_check *c;

    vg_mount_probe probe = { &m->statfs, &m->self, &m->parent };
    vg_mount_class mc = vg_mount_classify(f->mounts, mp, f->cfg->shared_fs_types,
                                          m->probed ? &probe : NULL);
    const vg_mount *e = mc.entry;
    switch (mc.state) {
    case VG_MOUNT_NOT_MOUNTED:
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s' is not mounted", mp);
        vg_check_attr_set(c, "mount", "%s", mp);
        if (fe)
            vg_check_detail(c, "/etc/fstab line %d mounts '%s' (%s, options %s) here, but it is "
                               "not in the mount table%s.", fe->line, fe->spec, fe->type,
                            fe->opts, strstr(fe->opts, "nofail")
                                          ? ": with 'nofail' a failed mount leaves the empty "
                                            "directory behind and the boot goes on" : "");
        else
            vg_check_detail(c, "Nothing is mounted there and /etc/fstab has no entry for it.");
        if (lima) {
            autofree char *fix = lima_fix(f, mp, fe);
            vg_check_fix(c, "this is a Lima guest: %s", fix);
        } else {
            autofree char *fix = vg_mount_fix(f->cfg, mp, fe);
            vg_check_fix(c, "%s", fix);
        }
        return NULL;
    case VG_MOUNT_WRONG_FSTYPE:
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s' is mounted as '%s', not an allowed "
                             "type", mp, e->fstype);
        vg_check_detail(c, "Source '%s'. shared_fs_types does not list '%s': either the share "
                           "failed and something else is mounted there, or the list is "
                           "incomplete.", e->source, e->fstype);
        vg_check_fix(c, "mount the share there, or add \"%s\" to shared_fs_types in '%s'.",
                     e->fstype, f->config_path);
        return NULL;
    case VG_MOUNT_NOT_PROBED:
        c = vg_checklist_add(l, VG_CHECK_PASS, "mount", "'%s' is mounted (%s, source '%s'; not "
                             "probed)", mp, e->fstype, e->source);
        vg_check_attr_set(c, "mount", "%s", mp);
        return NULL;
    case VG_MOUNT_TIMEOUT:
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s' (%s) did not answer within %u ms",
                             mp, e->fstype, f->cfg->probe_timeout_ms);
        vg_check_detail(c, "Its server may be hung; every start that touches it would wait.");
        vg_check_fix(c, "check the host side of the share (on Lima: is the instance's host "
                        "process alive? 'limactl list'), or raise probe_timeout_ms in '%s'.",
                     f->config_path);
        return NULL;
    case VG_MOUNT_UNEXAMINABLE:
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s' (%s) cannot be examined: %s", mp,
                             e->fstype, strerror(mc.err));
        return NULL;
    case VG_MOUNT_SHADOW:
        c = vg_checklist_add(l, VG_CHECK_FAIL, "mount", "'%s' is a shadow directory", mp);
        vg_check_detail(c, "The mount table lists a %s mount there, but the directory is on the "
                           "same device as its parent: what QEMU would open is not the share.",
                        e->fstype);
        if (lima) {
            autofree char *fix = lima_fix(f, mp, fe);
            vg_check_fix(c, "remount the share; on this Lima guest %s", fix);
        } else {
            vg_check_fix(c, "unmount and mount the share again: umount '%s'; mount '%s'.", mp, mp);
        }
        return NULL;
    case VG_MOUNT_FINE:
        break;
    }
    c = vg_checklist_add(l, VG_CHECK_PASS, "mount", "'%s' is mounted (%s, source '%s') and "
                         "answered in %lld ms", mp, e->fstype, e->source, m->probe_ms);
    vg_check_attr_set(c, "mount", "%s", mp);
    return e;
}

/* DAC on the share `e`: a chown that does not stick, and the per-domain
 * label that works with the files' owner. */
static void judge_share_dac(const vg_doctor_facts *f, const vg_mount_fact *m, const vg_mount *e,
                            bool lima, vg_checklist *l)
{
    const char *mp = m->mount_point;
    vg_chown_result cr = m->chown.chown;
    vg_check *c;

    if (cr != VG_CHOWN_IGNORED && cr != VG_CHOWN_REFUSED && cr != VG_CHOWN_NO_CREATE)
        return;
    uid_t owner = m->self.uid;
    vg_check_status st = owner != f->qemu_ids.uid ? VG_CHECK_WARN : VG_CHECK_INFO;
    if (cr == VG_CHOWN_NO_CREATE) {
        c = vg_checklist_add(l, st, "mount", "'%s': root cannot create files here (%s): "
                             "libvirt cannot relabel images", mp, strerror(m->chown.err));
        vg_check_detail(c, "Creating a scratch file as root fails on this %s mount (as with a "
                           "virtiofsd in a user namespace that maps only the share owner's "
                           "uid), so libvirt's chown of images to QEMU's user (uid %u) cannot "
                           "take effect either. The share is owned by uid %u; QEMU gets what "
                           "the mode bits give its ids: read for ISOs and backing files, read "
                           "and write for overlays.",
                        e->fstype, (unsigned)f->qemu_ids.uid, (unsigned)owner);
    } else {
        c = vg_checklist_add(l, st, "mount", "'%s': chown is %s", mp,
                             cr == VG_CHOWN_IGNORED ? "silently ignored" : "refused");
        vg_check_detail(c, "libvirt's relabelling of images to QEMU's user (uid %u) has no "
                           "effect here (%s). The share is owned by uid %u; files the guest "
                           "writes must be readable and writable by QEMU's ids as they are.",
                        (unsigned)f->qemu_ids.uid,
                        strcmp(e->fstype, "9p") == 0 ? "9p with security_model=none, Lima's "
                                                       "default" : e->fstype,
                        (unsigned)owner);
    }
    vg_check_fix(c, "per domain, run QEMU as the files' owner and keep QEMU's group "
                    "('virsh edit DOMAIN', before </domain>):\n"
                    "  <seclabel type='static' model='dac' relabel='no'><label>+%u:+%u"
                    "</label></seclabel>%s",
                 (unsigned)owner, (unsigned)f->qemu_ids.gid,
                 lima && strcmp(e->fstype, "9p") == 0
                     ? "\nor for the whole share, in lima.yaml under this mount: "
                       "9p: securityModel: \"mapped-xattr\""
                     : strcmp(e->fstype, "virtiofs") == 0
                         ? "\nor for the whole share, serve it with a virtiofsd running as "
                           "root (there chown works)" : "");
    vg_check_attr_set(c, "mount", "%s", mp);
}

static void judge_mount(const vg_doctor_facts *f, const vg_mount_fact *m, vg_checklist *l)
{
    const char *mp = m->mount_point;
    const vg_fstab_entry *fe = vg_fstab_find(f->fstab, mp);
    bool lima = vg_lima_detect(f->mounts, f->fstab);
    const vg_mount *e;

    if (!f->mounts) {
        vg_check *c = vg_checklist_add(l, VG_CHECK_FAIL, "mount",
                                       "'%s': the mount table cannot be read", mp);
        vg_check_detail(c, "%s.", f->mounts_error ? f->mounts_error : "unknown error");
        return;
    }
    if (!(e = judge_mount_state(f, m, fe, lima, l)))
        return;
    /* DAC on the share: does chown stick, and who owns the files? */
    if (!m->chown.answered || f->qemu_ids_error)
        return;
    judge_remember(f, m, e, l);
    judge_share_dac(f, m, e, lima, l);
}

vg_checklist *vg_doctor_judge(const vg_doctor_facts *f)
{
    vg_checklist *l = vg_checklist_new("doctor");
    judge_config(f, l);
    judge_hook(f, l);
    judge_apparmor(f, l);
    judge_qemu_conf(f, l);
    for (size_t i = 0; i < f->n_mf; i++)
        judge_mount(f, &f->mf[i], l);
    const char *sign = vg_lima_detect_sign(f->mounts, f->fstab);
    if (sign)
        vg_checklist_add(l, VG_CHECK_INFO, "host", "this is a Lima guest (%s)", sign);
    return l;
}
