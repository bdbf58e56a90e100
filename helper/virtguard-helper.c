/* virtguard-helper: puts virtguard's narrow per-domain AppArmor rules in
 * place for libvirt's own profile loads (docs/DESIGN.md, "AppArmor rules").
 *
 *   virtguard-helper load   --uuid UUID  < domain.xml   (hook: prepare, start)
 *   virtguard-helper unload --uuid UUID                 (hook: release)
 *   virtguard-helper reconcile --uuid UUID              (hook: a start it does not manage)
 *   virtguard-helper gc                                 (admin, cron)
 *   virtguard-helper roots                              (admin: after changing the roots)
 *   virtguard-helper purge                              (package removal)
 *
 * Runs as root, under its own AppArmor profile (usr.sbin.virtguard-helper),
 * reached from libvirtd's profile through its "PUx" rule for /usr/sbin.  It distrusts
 * its input: the environment is cleared, PATH fixed, the UUID and domain
 * name validated before any path is built, every file written atomically,
 * and the complete profile compiled by apparmor_parser before anything
 * libvirt will load is replaced. */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/apparmor.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "aa-lifecycle.h"
#include "aa-profile.h"
#include "helper-profile.h"
#include "domain-paths.h"
#include "exitcode.h"
#include "log.h"
#include "policy.h"
#include "purge.h"
#include "sha256.h"
#include "subprocess.h"
#include "verdict.h"
#include "vgconfig.h"
#include "xmlsafe.h"

#define PARSER_TIMEOUT_MS 30000
#define PARSER_GRACE_MS 1000     /* for a killed apparmor_parser to go away */
#define PARSER_OUTPUT_MAX 8192   /* its messages, kept for the error */
#define GC_MIN_AGE_S 600        /* gc keeps rules younger than this */
#define FAILED_REMEMBER_S 600   /* a failed compile is not retried for this long */
#define SAFE_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct helper {
    const char *aa_dir;         /* APPARMORDIR, or --apparmor-dir */
    const char *cache_dir;      /* LOCALSTATEDIR/cache/virtguard */
    const char *run_dir;        /* RUNSTATEDIR/virtguard */
    const char *config_path;    /* NULL: default */
    const char *uuid;
    const char *parser;
    const char *libvirt_conf_dir;   /* VG_LIBVIRT_QEMU_CONF_DIR: persistent domains */
    const char *libvirt_run_dir;    /* VG_LIBVIRT_QEMU_RUN_DIR: running domains */
} helper;

/* Test-only (tests/helper/crash-safety.sh, docs/RELIABILITY.md): with
 * --test-kill-at=STEP the helper raises SIGKILL on itself at that step of
 * `load`, to show that a helper killed anywhere leaves no half-written file
 * and no stuck lock.  It gives the caller nothing it could not do already
 * (kill the helper). */
static const char *const kill_steps[] = {
    "after-lock", "after-parser-spawn", "after-validate", "after-marker-tmp",
    "after-marker-rename", "after-rules-tmp", "after-rules-rename",
    "after-profile-tmp", "after-profile-rename", NULL,
};
static const char *kill_at;

/* Test-only (tests/integration/13-concurrent-loads.sh): --test-parser-timeout-ms
 * lowers apparmor_parser's bound so that a hostile compile times out in a
 * test's time.  It can only shorten the bound (at most PARSER_TIMEOUT_MS). */
static unsigned parser_timeout_ms = PARSER_TIMEOUT_MS;

static void kill_point(const char *step)
{
    if (kill_at && strcmp(kill_at, step) == 0) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

/* vg_write_file_atomic_hook: name the step after the file being written. */
static void kill_hook(const char *path, bool renamed)
{
    size_t n = strlen(path), sl = strlen(VG_AA_RULES_SUFFIX);
    const char *what = n > sl && strcmp(path + n - sl, VG_AA_RULES_SUFFIX) == 0 ? "rules"
                       : strstr(path, "/validated/") ? "marker" : "profile";
    autofree char *step = vg_xasprintf("after-%s-%s", what, renamed ? "rename" : "tmp");
    kill_point(step);
}

static int cmd_load(const helper *h, vg_error **err);
static int cmd_unload(const helper *h, vg_error **err);
static int cmd_reconcile(const helper *h, vg_error **err);
static int cmd_gc(const helper *h, vg_error **err);
static int cmd_roots(const helper *h, vg_error **err);
static int cmd_purge(const helper *h, vg_error **err);

/* The commands, in the order the usage lists them. */
typedef struct command {
    const char *name;
    const char *synopsis;       /* after "virtguard-helper NAME" in the usage */
    bool needs_uuid;            /* --uuid UUID, validated before any path is built */
    bool private_tmp;           /* runs apparmor_parser: TMPDIR is RUN_DIR/tmp */
    int (*run)(const helper *h, vg_error **err);
} command;

static const command commands[] = {
    { "load", " --uuid UUID < DOMAIN.xml", true, true, cmd_load },
    { "unload", " --uuid UUID", true, false, cmd_unload },
    { "reconcile", " --uuid UUID", true, false, cmd_reconcile },
    { "gc", "", false, false, cmd_gc },
    { "roots", "    (the include of its own AppArmor profile)", false, false, cmd_roots },
    { "purge", "", false, false, cmd_purge },
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage_exit(FILE *f, int status) VG_NORETURN;
static void usage_exit(FILE *f, int status)
{
    for (size_t i = 0; i < VG_N_ELEMENTS(commands); i++)
        fprintf(f, "%s virtguard-helper %s%s\n", i ? "      " : "Usage:", commands[i].name,
                commands[i].synopsis);
    fprintf(f,
            "Options: --config FILE  --apparmor-dir DIR  --cache-dir DIR  --run-dir DIR\n"
            "         --libvirt-config-dir DIR  --libvirt-run-dir DIR   (gc: where domains are)\n");
    exit(status);
}

static void die_usage(void) VG_NORETURN;
static void die_usage(void)
{
    usage_exit(stderr, VG_EXIT_CANNOT_RUN);
}

static int mkdir_p(const char *dir, mode_t mode)
{
    autofree char *copy = vg_xstrdup(dir);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Locks (docs/SECURITY.md, "Cost"), flocks released by the kernel when the
 * process ends, taken in this order only:
 *   - RUN_DIR/lock/UUID, exclusive: one domain's load, unload or reconcile
 *     at a time, for the whole command (its compile included); other
 *     domains never wait on it.  gc tries it without waiting.
 *   - RUN_DIR/helper.lock: shared by load and unload around their writes
 *     only (cache markers, the rules and profile files), exclusive for gc,
 *     roots and purge, which remove or rewrite what loads write.  No one
 *     compiles while holding it. */
static int lock_path(const char *path, int op, vg_error **err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return vg_error_set_errno(err, errno, "cannot open the lock '%s'", path);
    while (flock(fd, op) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return -EWOULDBLOCK;
            return vg_error_set_errno(err, e, "cannot lock '%s'", path);
        }
    }
    return fd;
}

/* The global lock, LOCK_SH or LOCK_EX. */
static int take_lock(const helper *h, int op, vg_error **err)
{
    autofree char *path = vg_xasprintf("%s/helper.lock", h->run_dir);
    int r;

    if ((r = mkdir_p(h->run_dir, 0700)) < 0)
        return vg_error_set_errno(err, -r, "cannot create '%s'", h->run_dir);
    return lock_path(path, op, err);
}

/* The lock of the domain `uuid` (validated: it is the file's name), with
 * LOCK_EX, and LOCK_NB when `nowait` (then -EWOULDBLOCK, no message, when
 * another process has it).  gc removes the files of domains that are gone,
 * holding their lock: a lock taken on a file that is no longer there is
 * taken again on the new one. */
static int take_domain_lock(const helper *h, const char *uuid, bool nowait, vg_error **err)
{
    autofree char *dir = vg_xasprintf("%s/lock", h->run_dir);
    autofree char *path = vg_xasprintf("%s/%s", dir, uuid);
    int r;

    if ((r = mkdir_p(dir, 0700)) < 0)
        return vg_error_set_errno(err, -r, "cannot create '%s'", dir);
    for (;;) {
        struct stat fst, pst;
        int fd = lock_path(path, LOCK_EX | (nowait ? LOCK_NB : 0), err);
        if (fd < 0)
            return fd;
        if (fstat(fd, &fst) == 0 && lstat(path, &pst) == 0 && fst.st_dev == pst.st_dev &&
            fst.st_ino == pst.st_ino)
            return fd;
        close(fd);
    }
}

/* vg_spawn_started_hook: apparmor_parser is running. */
static void parser_spawned(pid_t pid)
{
    (void)pid;
    kill_point("after-parser-spawn");
}

/* How a failed compile ended: what virtguard remembers of it
 * (validate_cached). */
typedef enum {
    PARSER_NOT_RUN,         /* could not be run (127), or no verdict at all */
    PARSER_REJECTED,        /* exited non-zero or crashed: its verdict on this text */
    PARSER_TIMED_OUT,       /* stopped at its bound */
    PARSER_KILLED,          /* SIGKILL virtguard did not send (the OOM killer) */
} parser_end;

/* Run apparmor_parser -Q -K on `text` (stdin), bounded in time.  On error,
 * *end says how it ended. */
static int parser_compile(const helper *h, const char *text, parser_end *end, vg_error **err)
{
    char *const argv[] = { (char *)h->parser, (char *)"-Q", (char *)"-K", (char *)"--base",
                           (char *)h->aa_dir, (char *)"-I", (char *)h->aa_dir, NULL };
    vg_spawn_result res;
    int r;

    *end = PARSER_NOT_RUN;
    vg_spawn_started_hook = parser_spawned;
    r = vg_spawn_run(argv, text, strlen(text), parser_timeout_ms, PARSER_GRACE_MS,
                     PARSER_OUTPUT_MAX, &res, err);
    vg_spawn_started_hook = NULL;
    if (r < 0)
        return r;
    if (res.timed_out) {
        *end = PARSER_TIMED_OUT;
        vg_spawn_result_clear(&res);
        return vg_error_set(err, ETIMEDOUT, "apparmor_parser did not finish within %u ms "
                            "(it was stopped)", parser_timeout_ms);
    }
    autofree char *msgs = steal_pointer(&res.output);
    int status = res.status;
    vg_spawn_result_clear(&res);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* SIGKILL is someone else's (the OOM killer: virtguard's own kill is a
     * timeout); a crash on the text (SIGSEGV, SIGABRT...) is its verdict. */
    *end = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? PARSER_KILLED
           : WIFEXITED(status) && WEXITSTATUS(status) == 127 ? PARSER_NOT_RUN
           : PARSER_REJECTED;
    /* Drop the harmless cache warning of kernels without AppArmor. */
    char *line = strstr(msgs, "Cache read/write disabled");
    if (line) {
        char *eol = strchr(line, '\n');
        memmove(line, eol ? eol + 1 : line + strlen(line), strlen(eol ? eol + 1 : "") + 1);
    }
    autofree char *how = WIFEXITED(status) ? vg_xasprintf("exit status %d", WEXITSTATUS(status))
                         : vg_xasprintf("killed by signal %d", WTERMSIG(status));
    return vg_error_set(err, EINVAL, "apparmor_parser rejected the profile (%s): %s", how, msgs);
}

/* "2026-12-03 15:40:12 UTC" */
static char *utc_time(time_t t)
{
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        return vg_xasprintf("%lld", (long long)t);
    return vg_xstrdup(buf);
}

/* A failed compile remembered in `path` ("EPOCH ERRNO\nMESSAGE", written by
 * remember_failure): 0 when there is none or it has expired (then the file
 * goes), else the remembered error, with when it expires. */
static int failure_remembered(const char *path, vg_error **err)
{
    autofree char *text = NULL;
    long long when;
    int code, n = 0;

    if (vg_read_file(path, 1 << 16, &text, NULL) < 0)
        return 0;
    time_t now = time(NULL);
    if (sscanf(text, "%lld %d\n%n", &when, &code, &n) != 2 || n == 0 || code < 0 ||
        now >= when + FAILED_REMEMBER_S || now < when) {
        (void)unlink(path);
        return 0;
    }
    if (code == 0)
        return 0;           /* one timeout so far: not yet a verdict (remember_failure) */
    autofree char *at = utc_time((time_t)when);
    autofree char *until = utc_time((time_t)when + FAILED_REMEMBER_S);
    return vg_error_set(err, code, "apparmor_parser failed on this same profile text at %s "
                        "and virtguard does not run it again on it until %s (any change to the "
                        "domain's rules is compiled at once; 'virtguard-helper gc' forgets the "
                        "failure): %s", at, until, text + n);
}

/* A rejection is the parser's verdict on the text: remembered at once.  A
 * timeout may be the host's load rather than the text (other domains
 * compile at the same time): the first is noted (code 0, which blocks
 * nothing) and only a second within FAILED_REMEMBER_S is remembered.  A
 * parser killed by someone else (the OOM killer) is not remembered. */
static void remember_failure(const char *dir, const char *path, parser_end end,
                             const vg_error *e)
{
    autofree char *old = NULL;
    long long when;
    int code;
    bool struck = end == PARSER_TIMED_OUT && vg_read_file(path, 1 << 16, &old, NULL) == 0 &&
                  sscanf(old, "%lld %d", &when, &code) == 2 && code == 0;
    if (end != PARSER_REJECTED && end != PARSER_TIMED_OUT)
        return;
    autofree char *text = vg_xasprintf("%lld %d\n%s", (long long)time(NULL),
                                       end == PARSER_TIMED_OUT && !struck ? 0 : e->code, e->msg);
    if (mkdir_p(dir, 0700) == 0)
        (void)vg_write_file_atomic(path, text, strlen(text), 0600);
}

/* Compile once per distinct content: a marker named by the SHA-256 of the
 * complete validated text in CACHE/validated/; a failure (the parser timed
 * out or rejected the text) is remembered under the same name in
 * CACHE/failed/ for FAILED_REMEMBER_S, so that retries cost nothing.  The
 * compile runs under the domain's lock only; the markers are written under
 * the global lock (shared), which is then handed to the caller in *glock
 * for its own writes. */
static int validate_cached(const helper *h, const char *text, bool *cached, int *glock,
                           vg_error **err)
{
    char hex[65];
    autofree char *dir = vg_xasprintf("%s/validated", h->cache_dir);
    autofree char *fdir = vg_xasprintf("%s/failed", h->cache_dir);
    autofree char *marker = NULL;
    autofree char *failed = NULL;
    parser_end end = PARSER_NOT_RUN;
    int r;

    vg_sha256_hex(text, strlen(text), hex);
    marker = vg_xasprintf("%s/%s", dir, hex);
    failed = vg_xasprintf("%s/%s", fdir, hex);
    *cached = access(marker, F_OK) == 0;
    if (!*cached && (r = failure_remembered(failed, err)) < 0)
        return r;
    r = *cached ? 0 : parser_compile(h, text, &end, err);
    if (r < 0) {
        if (end != PARSER_NOT_RUN && (*glock = take_lock(h, LOCK_SH, NULL)) >= 0)
            remember_failure(fdir, failed, end, *err);
        return r;
    }
    if ((*glock = take_lock(h, LOCK_SH, err)) < 0)
        return *glock;
    if (!*cached && mkdir_p(dir, 0700) == 0)
        (void)vg_write_file_atomic(marker, "", 0, 0600);
    return 0;
}

/* Write only when the content differs: repeated loads are no-ops. */
static int write_if_changed(const char *path, const char *text, bool *changed, vg_error **err)
{
    autofree char *old = NULL;
    int r;

    if (vg_read_file(path, 1 << 20, &old, NULL) == 0 && strcmp(old, text) == 0) {
        *changed = false;
        return 0;
    }
    if ((r = vg_write_file_atomic(path, text, strlen(text), 0644)) < 0)
        return vg_error_set_errno(err, -r, "cannot write '%s'", path);
    *changed = true;
    return 0;
}

/* Read the installed rules file back and check it again; a file that is
 * not exactly the rendered rules is removed (libvirt has not loaded it
 * yet: the hook refuses the start on our error). */
static int verify_installed(const vg_policy *pol, const char *rules_path, const char *domain,
                            vg_error **err)
{
    autofree char *back = NULL;
    int r = vg_read_file(rules_path, 1 << 20, &back, NULL);
    if (r < 0) {
        (void)unlink(rules_path);
        return vg_error_set_errno(err, -r, "cannot read back '%s' (removed it)", rules_path);
    }
    if ((r = vg_policy_verify_rules(pol, back, err)) < 0) {
        (void)unlink(rules_path);
        return vg_error_wrap(err, "domain '%s': '%s' as read back is not the rendered rules; "
                             "removed it", domain, rules_path);
    }
    return 0;
}

static int cmd_load(const helper *h, vg_error **err)
{
    autoconfig vg_config *cfg = NULL;
    autodomain vg_domain *dom = NULL;
    autopolicy vg_policy *pol = NULL;
    autofree char *xml = NULL;
    autofree char *rules = NULL;
    autofree char *main_text = NULL;
    autofree char *new_main = NULL;
    autofree char *check_text = NULL;
    autoclose int lock = -1;
    autoclose int glock = -1;
    size_t len;
    bool changed_main = false, changed_rules = false, cached = false;
    int r;

    if ((r = vg_config_load(h->config_path, &cfg, err)) < 0)
        return r;
    if (!vg_apparmor_active(cfg, aa_is_enabled())) {
        printf("virtguard-helper: AppArmor is not enabled on this host (apparmor = \"%s\"); "
               "no rules written\n", cfg->apparmor == VG_APPARMOR_OFF ? "off" : "auto");
        vg_log(LOG_NOTICE, "load %s: skipped: AppArmor is not enabled on this host", h->uuid);
        return 0;
    }
    /* Under a kernel AppArmor, our own profile must let us read the roots. */
    if (aa_is_enabled() == 1 && (r = vg_helper_roots_check(cfg, h->aa_dir, err)) < 0)
        return r;
    if ((r = vg_read_fd(STDIN_FILENO, VG_XML_MAX_BYTES, &xml, &len)) < 0)
        return vg_error_set_errno(err, -r, "cannot read the domain XML from standard input");
    if ((r = vg_domain_parse(xml, len, "-", &dom, err)) < 0)
        return r;
    /* pool volumes get rules like the files they are (libvirt's pool files) */
    vg_domain_resolve_volumes(dom, NULL);
    if ((r = vg_policy_check_domain(dom, h->uuid, err)) < 0)
        return r;
    /* a tree rule must not cover another domain's files: read where gc reads */
    if ((r = vg_policy_resolve_with(cfg, dom, h->libvirt_conf_dir, h->libvirt_run_dir, &pol,
                                    err)) < 0)
        return r;       /* the message already names the domain */
    /* libvirt keeps C1 controls (NEL, CSI) in names: shown escaped */
    autofree char *shown_name = vg_str_escape(dom->name, true);
    for (size_t i = 0; pol->warnings && pol->warnings[i]; i++) {
        autofree char *shown = vg_str_escape(pol->warnings[i], false);
        fprintf(stderr, "virtguard-helper: WARNING%s: domain '%s': %s\n",
                cfg->mode == VG_MODE_DEV ? " (dev mode)" : "", shown_name, shown);
    }
    if ((r = vg_policy_render(pol, h->uuid, dom->name, &rules, err)) < 0)
        return r;
    /* Self-check: the bytes to install hold exactly the rendered entries. */
    if ((r = vg_policy_verify_rules(pol, rules, err)) < 0)
        return vg_error_wrap(err, "domain '%s': refusing to install the rules", dom->name);

    autofree char *main_path = vg_aa_profile_path(h->aa_dir, h->uuid);
    autofree char *rules_path = vg_aa_rules_path(h->aa_dir, h->uuid);

    if ((lock = take_domain_lock(h, h->uuid, false, err)) < 0)
        return lock;
    kill_point("after-lock");
    r = vg_read_file(main_path, 1 << 20, &main_text, NULL);
    if (r == -ENOENT) {
        autofree char *tmpl_path = vg_xasprintf("%s/libvirt/TEMPLATE.qemu", h->aa_dir);
        autofree char *tmpl = NULL;
        if ((r = vg_read_file(tmpl_path, 1 << 20, &tmpl, NULL)) < 0)
            return vg_error_set_errno(err, -r, "cannot read libvirt's template '%s'", tmpl_path);
        if ((r = vg_aa_profile_from_template(tmpl, h->uuid, &main_text, err)) < 0)
            return vg_error_wrap(err, "'%s'", tmpl_path);
    } else if (r < 0) {
        return vg_error_set_errno(err, -r, "cannot read '%s'", main_path);
    }
    if ((r = vg_aa_profile_ensure(main_text, h->uuid, cfg->mode == VG_MODE_DEV, &new_main,
                                  &changed_main, err)) < 0)
        return vg_error_wrap(err, "'%s'", main_path);
    if ((r = vg_aa_profile_for_validation(new_main, h->uuid, rules, &check_text, err)) < 0)
        return r;
    /* Nothing on disk changes unless the complete profile compiles. */
    if ((r = validate_cached(h, check_text, &cached, &glock, err)) < 0)
        return vg_error_wrap(err, "domain '%s': the rules were not installed", dom->name);
    kill_point("after-validate");
    if ((r = write_if_changed(rules_path, rules, &changed_rules, err)) < 0)
        return r;
    if ((r = verify_installed(pol, rules_path, dom->name, err)) < 0)
        return r;
    if (changed_main && (r = write_if_changed(main_path, new_main, &changed_main, err)) < 0)
        return r;

    printf("virtguard-helper: domain '%s': %zu rule(s) in '%s' (%s mode%s%s%s)\n", shown_name,
           pol->n_entries, rules_path, cfg->mode == VG_MODE_DEV ? "complain" : "enforce",
           cached ? ", validated before" : ", validated", changed_rules ? ", written" : "",
           changed_main ? ", profile updated" : "");
    vg_log(LOG_INFO, "domain '%s' load %s: %zu rule(s)%s%s", shown_name, h->uuid, pol->n_entries,
           changed_rules ? ", rules written" : ", unchanged",
           changed_main ? ", profile updated" : "");
    return 0;
}

/* unload (release) and reconcile (a start virtguard does not manage): the
 * rules file goes, and the complain flag if virtguard put it there; the
 * inert include line stays (lib/apparmor/aa-lifecycle.h). */
static int unload_rules(const helper *h, const char *why, vg_error **err)
{
    autoclose int lock = -1;
    autoclose int glock = -1;
    vg_aa_undone done;
    int r;

    if ((lock = take_domain_lock(h, h->uuid, false, err)) < 0)
        return lock;
    if ((glock = take_lock(h, LOCK_SH, err)) < 0)
        return glock;
    if ((r = vg_aa_domain_undo(h->aa_dir, h->uuid, false, &done, err)) < 0)
        return r;
    autofree char *what = vg_aa_undone_describe(h->aa_dir, h->uuid, &done);
    if (!what)
        return 0;
    printf("virtguard-helper: %s\n", what);
    vg_log(LOG_INFO, "%s %s: %s", why, h->uuid, what);
    return 0;
}

static int cmd_unload(const helper *h, vg_error **err)
{
    return unload_rules(h, "unload", err);
}

static int cmd_reconcile(const helper *h, vg_error **err)
{
    return unload_rules(h, "reconcile", err);
}

/* roots: write the generated include of the helper's own profile from the
 * config (lib/apparmor/helper-profile.h); the admin reloads the profile. */
static int cmd_roots(const helper *h, vg_error **err)
{
    autoconfig vg_config *cfg = NULL;
    autofree char *text = NULL;
    autofree char *path = vg_xasprintf("%s/" VG_HELPER_ROOTS_INCLUDE, h->aa_dir);
    autofree char *dir = vg_xasprintf("%s/virtguard", h->aa_dir);
    autoclose int lock = -1;
    bool changed;
    int r;

    if ((r = vg_config_load(h->config_path, &cfg, err)) < 0 ||
        (r = vg_helper_roots_render(cfg, &text, err)) < 0)
        return r;
    if ((lock = take_lock(h, LOCK_EX, err)) < 0)
        return lock;
    if ((r = mkdir_p(dir, 0755)) < 0)
        return vg_error_set_errno(err, -r, "cannot create '%s'", dir);
    if ((r = write_if_changed(path, text, &changed, err)) < 0)
        return r;
    printf("virtguard-helper: '%s' %s; %s: apparmor_parser -r %s/" VG_HELPER_PROFILE_NAME "\n",
           path, changed ? "written" : "unchanged",
           changed ? "load it now" : "make sure the loaded profile has it", h->aa_dir);
    vg_log(LOG_INFO, "roots: '%s' %s", path, changed ? "written" : "unchanged");
    return 0;
}

/* UUIDs of every domain libvirt knows: persistent configs and running
 * (possibly transient) domains' status files. */
static void add_uuid(const vg_domain *dom, const char *path, void *opaque)
{
    (void)path;
    if (dom->uuid)
        vg_strv_push(opaque, vg_xstrdup(dom->uuid));
}

/* "libvirt-UUID" or "libvirt-UUID.virtguard" → UUID (validated), else NULL. */
static char *uuid_of_file(const char *n)
{
    char *uuid = vg_aa_profile_uuid(n, "");
    return uuid ? uuid : vg_aa_profile_uuid(n, VG_AA_RULES_SUFFIX);
}

static void gc_temporaries(const char *dir, size_t *removed)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".vgtmp."))
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, de->d_name);
        if (unlink(path) == 0) {
            printf("virtguard-helper: gc: removed '%s'\n", path);
            (*removed)++;
        }
    }
    closedir(d);
}

/* Every remembered failed compile (and its temporaries) goes: gc is the
 * admin's way to have the parser try again at once. */
static void gc_failures(const helper *h, size_t *removed)
{
    autofree char *dir = vg_xasprintf("%s/failed", h->cache_dir);
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, de->d_name);
        if (unlink(path) == 0) {
            printf("virtguard-helper: gc: forgot the failed compile '%s'\n", path);
            (*removed)++;
        }
    }
    closedir(d);
}

/* Lock files of domains libvirt no longer knows go, each removed while
 * held (a load that opened it before takes the new one: take_domain_lock). */
static void gc_locks(const helper *h, char *const *known)
{
    autofree char *dir = vg_xasprintf("%s/lock", h->run_dir);
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d))) {
        if (vg_policy_check_uuid(de->d_name, NULL) < 0 || vg_strv_contains(known, de->d_name))
            continue;
        int fd = take_domain_lock(h, de->d_name, true, NULL);
        if (fd < 0)
            continue;           /* in use: a start in progress */
        autofree char *path = vg_xasprintf("%s/%s", dir, de->d_name);
        (void)unlink(path);
        close(fd);
    }
    closedir(d);
}

/* When a start last wrote for the domain: its rules file's mtime, else
 * (rules already unloaded) its profile file's; 0 when neither exists. */
static time_t last_written(const helper *h, const char *uuid)
{
    autofree char *main = vg_aa_profile_path(h->aa_dir, uuid);
    autofree char *rules = vg_aa_rules_path(h->aa_dir, uuid);
    struct stat st;
    if (lstat(rules, &st) == 0 || lstat(main, &st) == 0)
        return st.st_mtime;
    return 0;
}

static int cmd_gc(const helper *h, vg_error **err)
{
    autostrv char **known = NULL;
    autostrv char **failures = NULL;
    autostrv char **candidates = NULL;
    autofree char *libvirt_dir = vg_xasprintf("%s/libvirt", h->aa_dir);
    autofree char *vdir = vg_xasprintf("%s/validated", h->cache_dir);
    autoclose int lock = -1;
    DIR *d;
    struct dirent *de;
    size_t removed = 0, restored = 0;

    if ((lock = take_lock(h, LOCK_EX, err)) < 0)
        return lock;
    /* Temporary files left by an interrupted write are never in use. */
    gc_temporaries(libvirt_dir, &removed);
    gc_temporaries(vdir, &removed);
    gc_failures(h, &removed);

    size_t bad = vg_domains_in_dir(h->libvirt_conf_dir, add_uuid, &known, &failures);
    bad += vg_domains_in_dir(h->libvirt_run_dir, add_uuid, &known, &failures);
    if (bad) {
        /* A domain we cannot read may be a live one: remove nothing. */
        vg_log(LOG_WARNING, "gc: kept every rules file: %s", failures[0]);
        return vg_error_set(err, EIO, "gc removed no rules: %zu domain file(s) libvirt keeps "
                            "could not be read (%s), so virtguard cannot tell which domains "
                            "exist; fix or remove the file, then run gc again", bad, failures[0]);
    }
    if (!(d = opendir(libvirt_dir)))
        return vg_error_set_errno(err, errno, "cannot list '%s'", libvirt_dir);
    while ((de = readdir(d))) {
        autofree char *uuid = uuid_of_file(de->d_name);
        if (uuid && !vg_strv_contains(known, uuid) && !vg_strv_contains(candidates, uuid))
            vg_strv_push(&candidates, steal_pointer(&uuid));
    }
    closedir(d);
    for (size_t i = 0; candidates && candidates[i]; i++) {
        const char *uuid = candidates[i];
        vg_aa_undone done;
        autoerror vg_error *e = NULL;
        /* A transient domain (virsh create) has neither a config nor a
         * status file until libvirt saves its status, after the start
         * hook: files this young may belong to a start in progress. */
        if (time(NULL) - last_written(h, uuid) < GC_MIN_AGE_S)
            continue;
        /* Nor while a load or unload of it runs (its lock is busy). */
        autoclose int dlock = take_domain_lock(h, uuid, true, NULL);
        if (dlock < 0)
            continue;
        /* The domain is gone: its profile becomes libvirt's own again. */
        if (vg_aa_domain_undo(h->aa_dir, uuid, true, &done, &e) < 0) {
            fprintf(stderr, "virtguard-helper: gc: %s\n", e->msg);
            continue;
        }
        autofree char *what = vg_aa_undone_describe(h->aa_dir, uuid, &done);
        if (!what)
            continue;
        printf("virtguard-helper: gc: %s\n", what);
        removed += done.rules_removed;
        restored += done.complain_removed || done.include_removed;
    }
    gc_locks(h, known);
    vg_log(LOG_INFO, "gc: %zu file(s) removed, %zu profile(s) restored", removed, restored);
    return 0;
}

/* Package removal (debian/virtguard.prerm): every file virtguard wrote goes,
 * and libvirt's profile files lose virtguard's include (lib/apparmor/purge.h). */
static int cmd_purge(const helper *h, vg_error **err)
{
    vg_purge_result res = { 0 }, run = { 0 };
    autoclose int lock = -1;
    struct stat st;
    bool had_run_dir = lstat(h->run_dir, &st) == 0;
    int r, first;

    if ((lock = take_lock(h, LOCK_EX, err)) < 0)
        return lock;
    first = vg_purge_apparmor(h->aa_dir, &res, err);
    if ((r = vg_purge_state_dir(h->cache_dir, &res, err)) < 0 && !first)
        first = r;
    /* Last: the lock file lives there; the lock itself holds until exit.
     * Not reported when only our own lock made it. */
    if ((r = vg_purge_state_dir(h->run_dir, &run, err)) < 0 && !first)
        first = r;
    for (size_t i = 0; had_run_dir && run.removed && run.removed[i]; i++)
        vg_strv_push(&res.removed, vg_xstrdup(run.removed[i]));
    vg_purge_result_clear(&run);
    for (size_t i = 0; res.restored && res.restored[i]; i++)
        printf("virtguard-helper: purge: removed virtguard's include from '%s'\n", res.restored[i]);
    for (size_t i = 0; res.removed && res.removed[i]; i++)
        printf("virtguard-helper: purge: removed '%s'\n", res.removed[i]);
    if (res.restored)
        printf("virtguard-helper: purge: profiles loaded for running domains keep their rules "
               "until libvirt next loads them (next start)\n");
    vg_log(LOG_NOTICE, "purge: %zu profile(s) restored, %zu path(s) removed",
           vg_strv_len(res.restored), vg_strv_len(res.removed));
    vg_purge_result_clear(&res);
    return first;
}

/* The options after the command, into *h; a wrong one exits with the usage. */
static void parse_options(int argc, char **argv, helper *h)
{
    static const struct option longopts[] = {
        { "uuid", required_argument, NULL, 'u' },
        { "config", required_argument, NULL, 'c' },
        { "apparmor-dir", required_argument, NULL, 'A' },
        { "cache-dir", required_argument, NULL, 'C' },
        { "run-dir", required_argument, NULL, 'R' },
        { "libvirt-config-dir", required_argument, NULL, 'L' },
        { "libvirt-run-dir", required_argument, NULL, 'S' },
        { "test-kill-at", required_argument, NULL, 'K' },
        { "test-parser-timeout-ms", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "+", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': h->uuid = optarg; break;
        case 'c': h->config_path = optarg; break;
        case 'A': h->aa_dir = optarg; break;
        case 'C': h->cache_dir = optarg; break;
        case 'R': h->run_dir = optarg; break;
        case 'L': h->libvirt_conf_dir = optarg; break;
        case 'S': h->libvirt_run_dir = optarg; break;
        case 'K':
            if (!vg_strv_contains((char *const *)kill_steps, optarg))
                die_usage();
            kill_at = optarg;
            vg_write_file_atomic_hook = kill_hook;
            break;
        case 'T': {
            char *end;
            unsigned long ms = strtoul(optarg, &end, 10);
            if (*end || ms == 0 || ms > PARSER_TIMEOUT_MS)
                die_usage();
            parser_timeout_ms = (unsigned)ms;
            break;
        }
        default: die_usage();
        }
    }
    if (optind != argc - 1)
        die_usage();
}

int main(int argc, char **argv)
{
    helper h = {
        .aa_dir = APPARMORDIR,
        .cache_dir = LOCALSTATEDIR "/cache/virtguard",
        .run_dir = RUNSTATEDIR "/virtguard",
        .parser = VG_APPARMOR_PARSER,
        .libvirt_conf_dir = VG_LIBVIRT_QEMU_CONF_DIR,
        .libvirt_run_dir = VG_LIBVIRT_QEMU_RUN_DIR,
    };
    autoerror vg_error *err = NULL;
    const command *cmd;
    int r;

    /* Trust nothing from the caller's environment. */
    if (clearenv() != 0 || setenv("PATH", SAFE_PATH, 1) < 0 || setenv("LC_ALL", "C", 1) < 0)
        return VG_EXIT_PROBLEMS;
    umask(022);
    vg_log_open("virtguard-helper");

    if (argc < 2)
        die_usage();
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        usage_exit(stdout, VG_EXIT_OK);
    if (strcmp(argv[1], "--version") == 0) {
        printf("virtguard-helper %s\n", PACKAGE_VERSION);
        return VG_EXIT_OK;
    }
    parse_options(argc, argv, &h);
    if (!(cmd = find_command(argv[1])))
        die_usage();
    if (cmd->private_tmp) {
        /* apparmor_parser gets a private temporary directory, not /tmp
         * (its profile allows only this one). */
        autofree char *tmp = vg_xasprintf("%s/tmp", h.run_dir);
        if (mkdir_p(tmp, 0700) == 0)
            (void)setenv("TMPDIR", tmp, 1);
    }
    if (cmd->needs_uuid) {
        if (!h.uuid)
            die_usage();
        /* Validated before it becomes part of any path. */
        if (vg_policy_check_uuid(h.uuid, &err) < 0) {
            fprintf(stderr, "virtguard-helper: %s\n", err->msg);
            return VG_EXIT_CANNOT_RUN;
        }
    }
    if ((r = cmd->run(&h, &err)) < 0) {
        fprintf(stderr, "virtguard-helper: %s\n", err ? err->msg : strerror(-r));
        vg_log(LOG_WARNING, "%s %s: failed: %s", cmd->name, h.uuid ? h.uuid : "",
               err ? err->msg : strerror(-r));
        return VG_EXIT_PROBLEMS;
    }
    return VG_EXIT_OK;
}
