/* Tests for lib/guard/guard.c.  The judge (vg_guard_judge) is pure: most tests
 * plan a made-up domain, answer the plan's probe requests with made-up facts
 * (a mount table, stat/statfs/chown answers) and check the findings word for
 * word; they need no root.  One test runs the real probe on a real tmpfs in a
 * private mount namespace (root only, skipped otherwise). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "guard.h"
#include "verdict.h"

#define PW TEST_DATA_DIR "/ids/passwd"
#define GR TEST_DATA_DIR "/ids/group"

/* The made-up host: the share at IMAGES (9p, device 0:40) on an ext4 root
 * (device 8:1); PLAIN is configured as a shared mount but never mounted. */
#define ROOT "/vg-test-nonexistent"
#define IMAGES ROOT "/images"
#define PLAIN ROOT "/plain"
#define STATE ROOT "/state"
#define DEV_ROOT 0x801
#define DEV_SHARE 40
static const char mountinfo_text[] =
    "20 1 8:1 / / rw,relatime - ext4 /dev/vda1 rw\n"
    "30 20 0:40 / " IMAGES " rw,relatime - 9p mount0 rw,trans=virtio\n";

typedef struct fact {
    vg_probe_op op;
    char *path;
    vg_probe_res res;
} fact;

typedef struct fixture {
    vg_config cfg;
    vg_qemu_conf qconf;
    vg_domain dom;
    char *mountinfo;            /* text */
    fact *facts;                /* answers that differ from the defaults */
    size_t n_facts;
    vg_chown_result chown;      /* the chown test's answer (default: works) */
    int chown_err;              /* ... and its errno (VG_CHOWN_NO_CREATE, REFUSED) */
    vg_xattr_result xattr;      /* ... and the xattr test's (default: kept) */
    int xattr_err;
    const char *unanswered;     /* a path the probe hangs on (and on all after it) */
} fixture;

static char *empty_list[] = { NULL };

static void add_path(fixture *f, vg_role role, vg_access access, const char *path)
{
    vg_domain_path *p = VG_APPEND(f->dom.paths, f->dom.n_paths);
    p->role = role;
    p->access = access;
    p->kind = VG_KIND_FILE;
    p->path = vg_xstrdup(path);
    p->device = vg_xstrdup(role == VG_ROLE_CDROM ? "sda" : "vda");
    p->relabel = true;
}

static vg_probe_res *set_fact(fixture *f, vg_probe_op op, const char *path)
{
    fact *x = VG_APPEND(f->facts, f->n_facts);
    x->op = op;
    x->path = vg_xstrdup(path);
    x->res.answered = true;
    return &x->res;
}

/* A file (or directory, with S_IFDIR in `mode`) as the probe would stat it. */
static void file(fixture *f, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    vg_probe_res *r = set_fact(f, VG_PROBE_STAT, path);
    r->mode = (mode & S_IFMT) ? mode : (S_IFREG | mode);
    r->uid = uid;
    r->gid = gid;
    r->dev = vg_path_is_under(path, IMAGES) ? DEV_SHARE : DEV_ROOT;
}

static void absent(fixture *f, vg_probe_op op, const char *path, int err)
{
    set_fact(f, op, path)->err = err;
}

/* Answer the requests as the made-up host would: directories 0755 root,
 * the share's own device under IMAGES, the facts set by the test. */
static void answer(const vg_probe_req *req, vg_probe_res *res, size_t n, void *opaque)
{
    fixture *f = opaque;
    bool hung = false;

    for (size_t i = 0; i < n; i++) {
        vg_probe_res *r = &res[i];
        memset(r, 0, sizeof(*r));
        hung |= f->unanswered && strcmp(req[i].path, f->unanswered) == 0;
        if (hung)
            continue;
        r->answered = true;
        r->mode = S_IFDIR | 0755;
        r->dev = vg_path_is_under(req[i].path, IMAGES) ? DEV_SHARE : DEV_ROOT;
        if (req[i].op == VG_PROBE_CHOWN) {
            r->chown = f->chown;
            r->err = f->chown_err;
            r->xattr = f->chown == VG_CHOWN_WORKS ? f->xattr : VG_XATTR_UNKNOWN;
            r->xattr_err = f->xattr_err;
        }
        for (size_t k = 0; k < f->n_facts; k++)
            if (f->facts[k].op == req[i].op && strcmp(f->facts[k].path, req[i].path) == 0)
                *r = f->facts[k].res;
    }
}

static int setup(void **state)
{
    fixture *f = vg_xcalloc(1, sizeof(*f));

    f->cfg.mode = VG_MODE_ENFORCE;
    f->cfg.shared_mounts = vg_xcalloc(3, sizeof(char *));
    f->cfg.shared_mounts[0] = vg_xstrdup(IMAGES);
    f->cfg.shared_mounts[1] = vg_xstrdup(PLAIN);
    f->cfg.shared_fs_types = vg_xcalloc(3, sizeof(char *));
    f->cfg.shared_fs_types[0] = vg_xstrdup("9p");
    f->cfg.shared_fs_types[1] = vg_xstrdup("tmpfs");
    f->cfg.extra_roots = empty_list;
    f->cfg.probe_timeout_ms = 3000;
    f->cfg.source = vg_xstrdup("/test/virtguard.conf");

    f->qconf.user = vg_xstrdup("libvirt-qemu");
    f->qconf.group = vg_xstrdup("libvirt-qemu");
    f->qconf.dynamic_ownership = true;
    f->qconf.remember_owner = true;     /* libvirt's default */

    f->dom.name = vg_xstrdup("sbx-1");
    f->mountinfo = vg_xstrdup(mountinfo_text);
    f->chown = VG_CHOWN_WORKS;
    f->xattr = VG_XATTR_KEPT;
    file(f, STATE, S_IFDIR | 0750, 64055, 64055);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->dom.n_paths; i++) {
        free(f->dom.paths[i].path);
        free(f->dom.paths[i].device);
    }
    free(f->dom.paths);
    for (size_t i = 0; i < f->dom.n_seclabels; i++) {
        free(f->dom.seclabels[i].model);
        free(f->dom.seclabels[i].type);
        free(f->dom.seclabels[i].label);
    }
    free(f->dom.seclabels);
    free(f->dom.name);
    for (size_t i = 0; i < f->cfg.n_path_map; i++) {
        free(f->cfg.path_map[i].from);
        free(f->cfg.path_map[i].to);
    }
    free(f->cfg.path_map);
    vg_strv_free(f->cfg.shared_mounts);
    vg_strv_free(f->cfg.shared_fs_types);
    free(f->cfg.source);
    free(f->qconf.user);
    free(f->qconf.group);
    free(f->qconf.source);
    for (size_t i = 0; i < f->n_facts; i++)
        free(f->facts[i].path);
    free(f->facts);
    free(f->mountinfo);
    free(f);
    return 0;
}

/* Plan, answer with the made-up facts, judge: no I/O but the passwd and
 * group fixtures. */
static vg_report *judge(fixture *f)
{
    autoguardplan vg_guard_plan plan;
    autoguardwho vg_guard_who who;
    automounts vg_mounts *mounts = NULL;
    autoerror vg_error *err = NULL;
    autofree vg_probe_res *res = NULL;

    vg_guard_plan_init(&plan, &f->cfg, &f->dom);
    vg_guard_who_resolve(&f->qconf, &f->dom, PW, GR, &who);
    if (vg_mountinfo_parse(f->mountinfo, strlen(f->mountinfo), &mounts, &err) < 0)
        fail_msg("mountinfo: %s", err->msg);
    vg_guard_plan_requests(&plan, mounts, &who, STATE);
    res = vg_xcalloc(plan.n_req + 1, sizeof(*res));
    answer(plan.req, res, plan.n_req, f);
    return vg_guard_judge(&plan, res, mounts, &who);
}

/* The finding's fix is its own text, and the message (what the hook
 * prints) is the what and why, one space, then exactly that fix. */
static void assert_fix(const vg_finding *f, const char *fix)
{
    assert_non_null(f->fix);
    assert_string_equal(f->fix, fix);
    size_t n = strlen(f->message), k = strlen(fix);
    assert_true(n > k + 1);
    assert_string_equal(f->message + n - k, fix);
    assert_int_equal(f->message[n - k - 1], ' ');
}

static void assert_one(vg_report *rep, vg_finding_kind kind, const char *needle)
{
    autofree char *text = vg_report_format(rep, NULL);
    if (rep->n != 1 || rep->v[0].kind != kind || !strstr(text, needle))
        fail_msg("expected one finding of kind %d containing \"%s\", got %zu:\n%s",
                 kind, needle, rep->n, text);
    assert_int_equal(rep->v[0].status, VG_CHECK_FAIL);
}

static void assert_none(vg_report *rep)
{
    if (rep->n) {
        autofree char *t = vg_report_format(rep, NULL);
        fail_msg("unexpected findings:\n%s", t);
    }
}

static void test_no_shared_paths(void **state)
{
    fixture *f = *state;
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, "/var/lib/libvirt/images-elsewhere/x.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_int_equal(rep->n_shared, 0);
    assert_int_equal(rep->n, 0);
}

/* The plan lists each mount and each request once, and each item finds its
 * own requests: the file, then "/" down to its parent. */
static void test_plan(void **state)
{
    fixture *f = *state;
    autoguardplan vg_guard_plan plan;
    autoguardwho vg_guard_who who;
    automounts vg_mounts *mounts = NULL;
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/jobs/a.qcow2");
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/./seed.iso");
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, "/elsewhere/b.qcow2");
    vg_guard_plan_init(&plan, &f->cfg, &f->dom);
    assert_int_equal(plan.n, 2);
    assert_int_equal(plan.n_mounts, 1);
    assert_string_equal(plan.v[1].path, IMAGES "/seed.iso");
    assert_int_equal(plan.n_req, 0);
    vg_guard_who_resolve(&f->qconf, &f->dom, PW, GR, &who);
    assert_int_equal(vg_mountinfo_parse(f->mountinfo, strlen(f->mountinfo), &mounts, NULL), 0);
    vg_guard_plan_requests(&plan, mounts, &who, STATE);
    const vg_guard_mount *m = &plan.mounts[0];
    assert_int_equal(plan.req[m->statfs_req].op, VG_PROBE_STATFS);
    assert_string_equal(plan.req[m->parent_req].path, ROOT);
    assert_int_equal(plan.req[m->chown_req].op, VG_PROBE_CHOWN);
    assert_int_equal(plan.req[m->chown_req].uid, 64055);
    const vg_guard_item *it = &plan.v[0];
    assert_string_equal(plan.req[it->file_req].path, IMAGES "/jobs/a.qcow2");
    const char *dirs[] = { "/", ROOT, IMAGES, IMAGES "/jobs" };
    assert_int_equal(it->n_dirs, VG_N_ELEMENTS(dirs));
    for (size_t k = 0; k < it->n_dirs; k++)
        assert_string_equal(plan.req[it->dir_req[k]].path, dirs[k]);
    assert_int_equal(plan.v[1].dir_req[2], it->dir_req[2]);     /* IMAGES asked once */
    assert_string_equal(plan.req[plan.state_req].path, STATE);
    for (size_t i = 0; i < plan.n_req; i++)
        for (size_t j = i + 1; j < plan.n_req; j++)
            assert_false(plan.req[i].op == plan.req[j].op &&
                         strcmp(plan.req[i].path, plan.req[j].path) == 0);
}

static void test_all_fine(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 0, 0);    /* libvirt's chown works */
    file(f, IMAGES "/cloud-init.iso", 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/cloud-init.iso");
    autoreport vg_report *rep = judge(f);
    assert_int_equal(rep->n_shared, 2);
    assert_none(rep);
}

static void test_not_mounted(void **state)
{
    fixture *f = *state;
    file(f, PLAIN "/overlay.qcow2", 0644, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, PLAIN "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_NOT_MOUNTED, "shared mount '" PLAIN "' is not mounted: '" PLAIN
               "' is a plain directory on the ext4 filesystem mounted at '/'. Mount the share");
    autofree char *text = vg_report_format(rep, NULL);
    assert_non_null(strstr(text, "virtguard: domain 'sbx-1': "));
    assert_non_null(strstr(text, "  mounts:\n  - location: \"/path/on/the/host\"\n"
                                 "    mountPoint: \"" PLAIN "\""));
}

static void test_not_mounted_no_directory(void **state)
{
    fixture *f = *state;
    absent(f, VG_PROBE_STATFS, PLAIN, ENOENT);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, PLAIN "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_NOT_MOUNTED, "shared mount '" PLAIN "' is not mounted and the "
                                         "directory does not exist.");
}

/* Listed in the mount table, but on its parent's device: the share failed
 * and left its empty directory (Lima's 'nofail'). */
static void test_shadow(void **state)
{
    fixture *f = *state;
    set_fact(f, VG_PROBE_STATFS, IMAGES)->dev = DEV_ROOT;
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_SHADOW, "shared mount '" IMAGES "' is not mounted: the mount table "
                                    "lists a 9p mount there, but the directory is on the same "
                                    "device as its parent (a shadow directory).");
}

static void test_wrong_fstype(void **state)
{
    fixture *f = *state;
    free(f->cfg.shared_fs_types[0]);
    f->cfg.shared_fs_types[0] = vg_xstrdup("virtiofs");     /* 9p not allowed now */
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_FSTYPE, "shared mount '" IMAGES "' is mounted as '9p' (source "
                                    "'mount0'), which is not one of shared_fs_types (virtiofs, "
                                    "tmpfs) in '/test/virtguard.conf'.");
}

/* A hung mount: the probe got no answer for the mount point, or for a file
 * on it; one finding either way. */
static void test_timeout(void **state)
{
    fixture *f = *state;
    f->unanswered = IMAGES;
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/seed.iso");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_TIMEOUT, "shared mount '" IMAGES "' (9p) did not answer within "
                                     "3000 ms; its server may be hung.");

    f->unanswered = IMAGES "/overlay.qcow2";
    autoreport vg_report *rep2 = judge(f);
    assert_one(rep2, VG_FIND_TIMEOUT, "disk vda '" IMAGES "/overlay.qcow2': shared mount '"
               IMAGES "' (9p) did not answer within 3000 ms while checking this file");
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    absent(f, VG_PROBE_STAT, IMAGES "/jobs/sbx-1/disk.qcow2", ENOENT);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/jobs/sbx-1/disk.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_MISSING, "disk vda '" IMAGES "/jobs/sbx-1/disk.qcow2' does not "
                                     "exist on shared mount '" IMAGES "' (9p)");
}

/* A file QEMU creates may be absent; its directory may not. */
static void test_missing_directory(void **state)
{
    fixture *f = *state;
    absent(f, VG_PROBE_STAT, IMAGES "/nvram/VARS.fd", ENOENT);
    add_path(f, VG_ROLE_NVRAM, VG_ACCESS_RW, IMAGES "/nvram/VARS.fd");
    autoreport vg_report *rep = judge(f);
    assert_none(rep);
    absent(f, VG_PROBE_STAT, IMAGES "/nvram", ENOENT);
    autoreport vg_report *rep2 = judge(f);
    assert_one(rep2, VG_FIND_MISSING, "nvram vda '" IMAGES "/nvram/VARS.fd': directory '"
               IMAGES "/nvram' does not exist on shared mount '" IMAGES "' (9p), so it "
               "cannot be created there.");
}

static void test_unexaminable_file(void **state)
{
    fixture *f = *state;
    absent(f, VG_PROBE_STAT, IMAGES "/overlay.qcow2", EACCES);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_MISSING, "disk vda '" IMAGES "/overlay.qcow2' cannot be examined: "
                                     "Permission denied.");
    assert_null(rep->v[0].fix);     /* no fix known: none invented */
}

/* A path as the image writer sees it (path_map FROM) that does not exist
 * here: the XML should have been rewritten. */
static void test_unmapped(void **state)
{
    fixture *f = *state;
    vg_path_map *pm = VG_APPEND(f->cfg.path_map, f->cfg.n_path_map);
    pm->from = vg_xstrdup("/Users/me/images");
    pm->to = vg_xstrdup(IMAGES);
    absent(f, VG_PROBE_STAT, "/Users/me/images/a.qcow2", ENOENT);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, "/Users/me/images/a.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_int_equal(rep->n_shared, 1);
    assert_one(rep, VG_FIND_UNMAPPED, "disk vda '/Users/me/images/a.qcow2' does not exist on "
               "this host: it is a path as the image writer sees it, which path_map maps to '"
               IMAGES "/a.qcow2'. Rewrite the XML with 'virtguard rewrite'");
}

/* A file name or domain name written to forge a second line of the
 * message (libvirt allows '\r' in names): shown escaped, one line each. */
static void test_hostile_names_escaped(void **state)
{
    fixture *f = *state;
    /* ... and a bidi override, a C1 CSI and a zero-width space (issue 19) */
    const char *disk = IMAGES "/jobs/a\nvirtguard: ok \x1b[2J\\\xe2\x80\xae\xc2\x9b"
                              "\xe2\x80\x8b.qcow2";
    free(f->dom.name);
    f->dom.name = vg_xstrdup("sbx\r\nvirtguard: domain 'x': all fine");
    absent(f, VG_PROBE_STAT, disk, ENOENT);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    autoreport vg_report *rep = judge(f);
    autofree char *text = vg_report_format(rep, NULL);
    assert_int_equal(rep->n, 1);
    /* one finding, one line: the only newline ends it */
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    assert_null(strchr(text, '\r'));
    assert_null(strchr(text, '\x1b'));
    assert_non_null(strstr(text, "domain 'sbx\\r\\nvirtguard: domain 'x': all fine'"));
    assert_null(strstr(text, "\xe2\x80"));
    assert_non_null(strstr(text, "/jobs/a\\nvirtguard: ok \\x1b[2J\\\\\\u202e\\u009b\\u200b.qcow2' "
                                 "does not exist"));
}

/* XML the hook cannot read: the refusal still names the domain (from the
 * hook's arguments, escaped) and the raw control character. */
static void test_unreadable_xml_names_domain(void **state)
{
    (void)state;
    static const char xml[] = "<domain type='qemu'><name>x</name>"
                              "<devices><disk type='file'><source file='/a\nb'/></disk></devices>"
                              "</domain>";
    vg_guard_env env = { .domain_name = "sbx\\r1" };
    vg_verdict v;
    vg_verdict_make(TEST_DATA_DIR "/conf/lima.conf", xml, strlen(xml), "-", VG_HOOK_OP_PREPARE,
                    &env, &v);
    assert_int_equal(v.kind, VG_VERDICT_INPUT);
    assert_non_null(strstr(v.text, "domain 'sbx\\r1': cannot read the domain XML: "));
    assert_non_null(strstr(v.text, "an attribute value holds a raw newline (LF)"));
    /* lima.conf says dev mode */
    assert_true(vg_str_has_prefix(v.log_line, "domain 'sbx\\r1': prepare: warned: cannot read "
                                              "the domain XML: "));
    vg_verdict_clear(&v);
}

/* An unreadable virtguard.conf: a verdict, not an error, named after the
 * operation it was made for. */
static void test_broken_config_verdict(void **state)
{
    (void)state;
    static const char xml[] = "<domain type='qemu'><name>x</name></domain>";
    char conf[] = "/tmp/vg-test-conf-XXXXXX";
    int fd = mkstemp(conf);
    assert_true(fd >= 0);
    assert_int_equal(vg_write_all(fd, "mode = enforce\n", 15), 0);     /* not a string */
    close(fd);
    vg_verdict v;
    vg_verdict_make(conf, xml, strlen(xml), "-", VG_HOOK_OP_START, NULL, &v);
    assert_int_equal(v.kind, VG_VERDICT_CONFIG);
    assert_int_equal(vg_verdict_hook_status(&v), VG_EXIT_PROBLEMS);
    assert_true(vg_str_has_prefix(v.text, "virtguard: "));
    assert_non_null(strstr(v.text, ". Every start is refused until the file is fixed"));
    assert_true(vg_str_has_prefix(v.log_line, "start: refused: "));
    vg_verdict_clear(&v);
    vg_verdict_make(conf, xml, strlen(xml), "-", VG_HOOK_OP_CHECK, NULL, &v);
    assert_true(vg_str_has_prefix(v.log_line, "check: refused: "));
    vg_verdict_clear(&v);
    unlink(conf);
}

/* libvirt's operation names, one table: each name is its value and back;
 * what libvirt does not send (or "check", the CLI's) is no value. */
static void test_hook_op_names(void **state)
{
    (void)state;
    static const char *const ops[] = { "start", "stopped", "prepare", "release", "migrate",
                                       "started", "reconnect", "attach", "restore" };
    for (size_t i = 0; i < VG_N_ELEMENTS(ops); i++) {
        assert_int_equal(vg_hook_op_from_name(ops[i]), (int)i);
        assert_string_equal(vg_hook_op_name((vg_hook_op)i), ops[i]);
    }
    assert_int_equal(vg_hook_op_from_name("prepare"), VG_HOOK_OP_PREPARE);
    assert_int_equal(vg_hook_op_from_name("check"), -1);
    assert_int_equal(vg_hook_op_from_name("Prepare"), -1);
    assert_int_equal(vg_hook_op_from_name(""), -1);
    assert_string_equal(vg_hook_op_name(VG_HOOK_OP_CHECK), "check");
    assert_int_equal(vg_hook_subop_from_name("begin"), VG_HOOK_SUBOP_BEGIN);
    assert_int_equal(vg_hook_subop_from_name("end"), VG_HOOK_SUBOP_END);
    assert_int_equal(vg_hook_subop_from_name("-"), VG_HOOK_SUBOP_NONE);
    assert_int_equal(vg_hook_subop_from_name("middle"), -1);
    assert_string_equal(vg_hook_subop_name(VG_HOOK_SUBOP_END), "end");
}

static void add_static_label(fixture *f, const char *label)
{
    vg_seclabel *sl = VG_APPEND(f->dom.seclabels, f->dom.n_seclabels);
    sl->model = vg_xstrdup("dac");
    sl->type = vg_xstrdup("static");
    sl->label = vg_xstrdup(label);
    sl->relabel = false;
}

static void test_dac_without_relabel(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    file(f, IMAGES "/seed.iso", 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/seed.iso");
    f->qconf.dynamic_ownership = false;
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_DAC,
               "QEMU will run as uid 64055 (libvirt-qemu), gid 64055 (libvirt-qemu) and cannot "
               "open it for read-write: it is owned by 1000:1000 with mode 0600, and libvirt does "
               "not relabel it (dynamic_ownership = 0 in qemu.conf)");
    autofree char *text = vg_report_format(rep, NULL);
    assert_non_null(strstr(text, "<seclabel type='static' model='dac' relabel='no'>"
                                 "<label>+1000:+64055</label></seclabel>"));
    assert_non_null(strstr(text, "'virsh edit sbx-1'"));

    /* Applying the proposed fix makes the same domain pass. */
    add_static_label(f, "+1000:+64055");
    autoreport vg_report *rep2 = judge(f);
    assert_none(rep2);
}

/* The share accepts libvirt's chown and ignores it (9p security_model=none):
 * QEMU still cannot open the file. */
static void test_chown_ignored(void **state)
{
    fixture *f = *state;
    f->chown = VG_CHOWN_IGNORED;
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_DAC, "it is owned by 1000:1000 with mode 0600, and libvirt's chown "
                                 "of it to 64055:64055 is silently ignored on this 9p mount (as "
                                 "with QEMU -virtfs security_model=none, Lima's default).");
    f->chown = VG_CHOWN_WORKS;          /* the same file is fine where chown works */
    autoreport vg_report *rep2 = judge(f);
    assert_none(rep2);
}

/* Root cannot even create the probe's scratch file on the share (EINVAL
 * from a virtiofsd in a user namespace that maps only the owner's uid; a
 * read-only mount gives EROFS): libvirt cannot chown either, so the overlay
 * QEMU must write is refused with that cause; files the mode bits let QEMU
 * read (an ISO, a base) are fine. */
static void test_no_create_overlay_refused(void **state)
{
    fixture *f = *state;
    f->chown = VG_CHOWN_NO_CREATE;
    f->chown_err = EINVAL;
    file(f, IMAGES "/overlay.qcow2", 0644, 1000, 1000);
    file(f, IMAGES "/base.qcow2", 0644, 1000, 1000);
    file(f, IMAGES "/cidata.iso", 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_path(f, VG_ROLE_BACKING, VG_ACCESS_R, IMAGES "/base.qcow2");
    f->dom.paths[f->dom.n_paths - 1].depth = 1;
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/cidata.iso");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_DAC, "disk vda '" IMAGES "/overlay.qcow2': QEMU will run as uid 64055 "
               "(libvirt-qemu), gid 64055 (libvirt-qemu) and cannot open it for read-write: it is "
               "owned by 1000:1000 with mode 0644, and libvirt cannot chown it to 64055:64055: "
               "root cannot even create a file on this 9p mount (Invalid argument; as with a "
               "virtiofsd in a user namespace that maps only the share owner's uid), so QEMU "
               "gets only what the mode bits give its user. ");
    assert_non_null(strstr(rep->v[0].message, "<label>+1000:+64055</label>"));
    assert_non_null(strstr(rep->v[0].message, "virtiofs: a virtiofsd running as root"));

    /* read-only files alone are fine there */
    f->dom.paths[0].access = VG_ACCESS_R;
    f->dom.paths[0].readonly = true;
    autoreport vg_report *rep2 = judge(f);
    assert_none(rep2);
}

static void test_traversal(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/private", S_IFDIR | 0700, 1000, 1000);
    file(f, IMAGES "/private/overlay.qcow2", 0666, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/private/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_DAC, "cannot reach it: directory '" IMAGES "/private' is owned by "
                                 "1000:1000 with mode 0700");
    assert_fix(&rep->v[0], "Grant it, e.g. 'chmod o+x " IMAGES "/private', or run this "
                           "domain's QEMU as the directory's owner with a static DAC "
                           "<seclabel>.");
}

static void test_static_label_state_dir(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_static_label(f, "+1000:+1000");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_STATE_DIR, "cannot enter libvirt's state directory '" STATE
                                       "' (owned by 64055:64055, mode 0750)");
    assert_non_null(strstr(rep->v[0].message, "(+1000:+64055)"));
    assert_fix(&rep->v[0], "Keep QEMU's group in the label (+1000:+64055) so the group bits "
                           "let it in.");
}

static void test_scratch_name_valid(void **state)
{
    (void)state;
    assert_true(vg_probe_scratch_name_valid("/m/.virtguard-probe.12.0"));
    assert_true(vg_probe_scratch_name_valid("/a b/.virtguard-probe.1.23"));
    const char *bad[] = {
        "/etc/passwd", "relative/.virtguard-probe.1.2", "/m/.virtguard-probe.",
        "/m/.virtguard-probe.1", "/m/.virtguard-probe.1.", "/m/.virtguard-probe..1",
        "/m/.virtguard-probe.1.2.3", "/m/.virtguard-probe.1.x", "/m/../.virtguard-probe.1.2",
        "/m/./.virtguard-probe.1.2", "/m//.virtguard-probe.1.2", "/m/x.virtguard-probe.1.2",
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(bad); i++)
        if (vg_probe_scratch_name_valid(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
}

static void test_unknown_user(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    free(f->qconf.user);
    f->qconf.user = vg_xstrdup("qemu-nobody");
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_IDENTITY, "user 'qemu-nobody' does not exist");
}

/* Stand for a share that cannot hold trusted.* xattrs (virtiofs, bindfs
 * --xattr-none). */
static void xattr_fails(fixture *f, vg_xattr_result x)
{
    f->xattr = x;
    f->xattr_err = x == VG_XATTR_SET_FAILS ? EPERM : EOPNOTSUPP;
}

static void add_backing(fixture *f, const char *path)
{
    add_path(f, VG_ROLE_BACKING, VG_ACCESS_R, path);
    f->dom.paths[f->dom.n_paths - 1].depth = 1;
}

static const vg_finding *only_warning(const vg_report *rep)
{
    autofree char *text = vg_report_format(rep, NULL);
    if (rep->n != 1 || rep->v[0].kind != VG_FIND_OWNER_LOST)
        fail_msg("expected one owner warning, got %zu:\n%s", rep->n, text);
    assert_int_equal(rep->v[0].status, VG_CHECK_WARN);
    assert_false(vg_report_blocking(rep));
    return &rep->v[0];
}

static void test_owner_lost_no_xattrs(void **state)
{
    fixture *f = *state;
    xattr_fails(f, VG_XATTR_UNSUPPORTED);
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    file(f, IMAGES "/base.qcow2", 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_backing(f, IMAGES "/base.qcow2");
    autoreport vg_report *rep = judge(f);
    const vg_finding *w = only_warning(rep);
    assert_string_equal(w->message,
        "WARNING: libvirt will chown files on shared mount '" IMAGES "' (9p) to QEMU's "
        "64055:64055 at start, and cannot give their owners back at stop: this mount cannot hold "
        "the extended attributes libvirt records the owner in ('trusted.libvirt.security.dac': "
        "Operation not supported), so libvirt silently restores files to root:root. After the "
        "domain stops, disk vda '" IMAGES "/overlay.qcow2' (now 1000:1000) will be owned by 0:0; "
        "backing vda '" IMAGES "/base.qcow2' (now 1000:1000) stays owned by 64055:64055 (libvirt "
        "never restores read-only or backing layers): the images' writer can no longer rewrite "
        "them, after every stop. virtguard does not refuse the start for this. Fix: run this "
        "domain's QEMU as the files' owner, keeping QEMU's group, so that libvirt chowns nothing "
        "('virsh edit sbx-1', before </domain>): <seclabel type='static' model='dac' "
        "relabel='no'><label>+1000:+64055</label></seclabel>; or serve the share so that it "
        "keeps trusted.* extended attributes (as root), which brings back the owner of writable "
        "files (read-only and backing layers still stay QEMU's).");

    /* The offered label was checked: with it the same facts give nothing. */
    add_static_label(f, "+1000:+64055");
    autoreport vg_report *rep2 = judge(f);
    assert_none(rep2);
}

static void test_owner_lost_xattr_refused(void **state)
{
    fixture *f = *state;
    xattr_fails(f, VG_XATTR_SET_FAILS);
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    const vg_finding *w = only_warning(rep);
    assert_non_null(strstr(w->message, "this mount refuses the extended attribute libvirt "
                                       "records the owner in ('trusted.libvirt.security.dac': "
                                       "Operation not permitted): libvirt then fails the start "
                                       "with 'Unable to set XATTR ...'"));
    assert_non_null(strstr(w->message, "will chown a file on shared mount"));
    assert_non_null(strstr(w->message, "<label>+1000:+64055</label>"));
}

/* remember_owner = 0: no xattr is needed to lose the owner. */
static void test_owner_lost_remember_off(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    f->qconf.remember_owner = false;
    f->qconf.source = vg_xstrdup("/etc/libvirt/qemu.conf");
    autoreport vg_report *rep = judge(f);
    const vg_finding *w = only_warning(rep);
    assert_non_null(strstr(w->message, "'/etc/libvirt/qemu.conf' sets remember_owner = 0, so "
                                       "libvirt records no owner and restores files to "
                                       "root:root"));
    assert_non_null(strstr(w->message, "and set remember_owner = 1 in qemu.conf"));
}

/* No warning where nothing is lost: the owner is remembered, the backing
 * file is QEMU's already, a disk says relabel='no', or the domain does not
 * relabel. */
static void test_owner_not_lost(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 1000, 1000);
    file(f, IMAGES "/base.qcow2", 0644, 64055, 64055);
    file(f, IMAGES "/seed.iso", 0644, 1000, 1000);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    add_backing(f, IMAGES "/base.qcow2");
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, IMAGES "/seed.iso");
    f->dom.paths[f->dom.n_paths - 1].relabel = false;
    autoreport vg_report *rep = judge(f);
    assert_int_equal(rep->n, 0);

    xattr_fails(f, VG_XATTR_UNSUPPORTED);           /* now the overlay's owner is lost */
    autoreport vg_report *rep2 = judge(f);
    const vg_finding *w = only_warning(rep2);
    assert_null(strstr(w->message, "base.qcow2"));
    assert_null(strstr(w->message, "seed.iso"));

    f->qconf.dynamic_ownership = false;             /* libvirt chowns nothing */
    f->dom.paths[0].relabel = true;
    file(f, IMAGES "/overlay.qcow2", 0666, 1000, 1000);
    autoreport vg_report *rep3 = judge(f);
    assert_int_equal(rep3->n, 0);
}

/* A label is offered only when it works: root-owned files get none. */
static void test_owner_lost_no_root_label(void **state)
{
    fixture *f = *state;
    xattr_fails(f, VG_XATTR_UNSUPPORTED);
    file(f, IMAGES "/overlay.qcow2", 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    autoreport vg_report *rep = judge(f);
    const vg_finding *w = only_warning(rep);
    assert_null(strstr(w->message, "<seclabel"));
    assert_non_null(strstr(w->message, "virtguard offers no per-domain label here: the files are "
                                       "owned by root already"));

    /* nor when the owner could not reach a file with the label: QEMU's own
     * user may enter the directory, uid 1000 with QEMU's group may not */
    file(f, IMAGES "/jobs", S_IFDIR | 0750, 64055, 1000);
    file(f, IMAGES "/jobs/overlay.qcow2", 0600, 1000, 1000);
    free(f->dom.paths[0].path);
    f->dom.paths[0].path = vg_xstrdup(IMAGES "/jobs/overlay.qcow2");
    autoreport vg_report *rep2 = judge(f);
    w = only_warning(rep2);
    assert_null(strstr(w->message, "<seclabel"));
    assert_non_null(strstr(w->message, "with label '+1000:+64055' QEMU could not reach '" IMAGES
                                       "/jobs/overlay.qcow2' (directory '" IMAGES "/jobs' is "
                                       "owned by 64055:1000 with mode 0750)"));
}

/* The DAC refusal's fix is checked the same way: root-owned files get no
 * label that would run QEMU as root. */
static void test_dac_fix_not_root(void **state)
{
    fixture *f = *state;
    file(f, IMAGES "/overlay.qcow2", 0600, 0, 0);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, IMAGES "/overlay.qcow2");
    f->qconf.dynamic_ownership = false;
    autoreport vg_report *rep = judge(f);
    assert_one(rep, VG_FIND_DAC, "it is owned by 0:0 with mode 0600, and libvirt does not "
                                 "relabel it");
    assert_null(strstr(rep->v[0].message, "<label>"));
    assert_non_null(strstr(rep->v[0].message, "Give the files one owner"));
}

/* Through the verdict, as the hook sees it (the made-up facts stand in for
 * the probe's answers): the warning only at `start` (once per start), an
 * `allowed with a warning` syslog line with hostile bytes of the domain's
 * name and paths escaped, and no refusal. */
static void answer_all(const vg_probe_req *req, vg_probe_res *res, size_t n, void *opaque)
{
    answer(req, res, n, opaque);
}

static void test_owner_lost_verdict(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/vg-guard-XXXXXX";
    assert_non_null(mkdtemp(dir));
    autofree char *conf = vg_xasprintf("%s/virtguard.conf", dir);
    autofree char *qconf = vg_xasprintf("%s/qemu.conf", dir);
    autofree char *mi = vg_xasprintf("%s/mountinfo", dir);
    autofree char *conf_text = vg_xasprintf("mode = \"enforce\"\nshared_mounts = [ \"%s\" ]\n"
                                            "shared_fs_types = [ \"9p\" ]\n"
                                            "qemu_conf = \"%s\"\n", IMAGES, qconf);
    static const char xml[] =
        "<domain type='qemu'><name>evil&#10;&#x202E;name</name><memory>65536</memory><os>"
        "<type>hvm</type></os><devices><disk type='file' device='disk'><source file='" IMAGES
        "/a&#10;b/"
        "overlay.qcow2'/><target dev='vda'/></disk></devices></domain>";
    assert_int_equal(vg_write_file_atomic(conf, conf_text, strlen(conf_text), 0644), 0);
    assert_int_equal(vg_write_file_atomic(qconf, "", 0, 0644), 0);
    assert_int_equal(vg_write_file_atomic(mi, f->mountinfo, strlen(f->mountinfo), 0644), 0);
    xattr_fails(f, VG_XATTR_UNSUPPORTED);
    file(f, IMAGES "/a\nb/overlay.qcow2", 0600, 1000, 1000);
    vg_guard_env env = { .passwd_file = PW, .group_file = GR, .state_dir = STATE,
                         .mountinfo = mi, .probe_edit = answer_all, .probe_opaque = f };

    vg_verdict v;
    vg_verdict_make(conf, xml, strlen(xml), "-", VG_HOOK_OP_PREPARE, &env, &v);
    assert_int_equal(v.kind, VG_VERDICT_ALLOW);
    assert_false(v.warns);
    assert_string_equal(v.text, "");
    assert_non_null(strstr(v.log_line, "prepare: allowed: 1 shared path(s)"));
    vg_verdict_clear(&v);

    vg_verdict_make(conf, xml, strlen(xml), "-", VG_HOOK_OP_START, &env, &v);
    assert_int_equal(v.kind, VG_VERDICT_ALLOW);
    assert_int_equal(vg_verdict_hook_status(&v), 0);
    assert_true(v.warns);
    assert_non_null(strstr(v.text, "WARNING: libvirt will chown a file on shared mount"));
    assert_null(strchr(v.log_line, '\n'));
    assert_non_null(strstr(v.log_line, "domain 'evil\\n\\u202ename' start: allowed with a "
                                       "warning: 1 shared path(s) checked in "));
    assert_non_null(strstr(v.log_line, "/a\\nb/overlay.qcow2' (now 1000:1000) will be owned "
                                       "by 0:0"));
    vg_verdict_clear(&v);
    autofree char *rm = vg_xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
}

/* ---- the real probe (root) ------------------------------------------------ */

static void write_file(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "QFI\xfb", 4), 4);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    assert_int_equal(chown(path, uid, gid), 0);
}

/* The whole guard on a real tmpfs: the probe's answers judge a fine domain
 * fine; the chown test cleans up after itself and sees trusted.* xattrs
 * stick; a scratch file a killed probe left behind (the stale-scratch
 * registry) is removed, and only well-formed names in a directory being
 * probed are touched. */
static void test_real_probe(void **state)
{
    fixture *f = *state;
    char root[] = "/tmp/vg-guard-XXXXXX";
    assert_non_null(mkdtemp(root));
    autofree char *images = vg_xasprintf("%s/images", root);
    autofree char *plain = vg_xasprintf("%s/plain", root);
    autofree char *reg = vg_xasprintf("%s/probe-scratch", root);
    autofree char *stale = vg_xasprintf("%s/.virtguard-probe.99999.2", images);
    autofree char *other = vg_xasprintf("%s/.virtguard-probe.99999.3", plain);
    autofree char *disk = vg_xasprintf("%s/overlay.qcow2", images);
    autofree char *iso = vg_xasprintf("%s/cloud-init.iso", images);
    autofree char *decoy = vg_xasprintf("%s/keep-me", images);
    assert_int_equal(chmod(root, 0755), 0);
    assert_int_equal(mkdir(images, 0755), 0);
    assert_int_equal(mkdir(plain, 0755), 0);
    assert_int_equal(mount("tmpfs", images, "tmpfs", 0, "mode=0755"), 0);
    write_file(stale, 0600, 0, 0);
    write_file(other, 0600, 0, 0);
    write_file(decoy, 0600, 0, 0);
    write_file(disk, 0600, 0, 0);    /* libvirt's chown works on tmpfs */
    write_file(iso, 0644, 1000, 1000);
    autofree char *text = vg_xasprintf("%s\n%s\n/etc/passwd\n%s\n%s/.virtguard-probe.1.x\n",
                                       stale, other, decoy, images);
    assert_int_equal(vg_write_file_atomic(reg, text, strlen(text), 0600), 0);
    free(f->cfg.shared_mounts[0]);
    f->cfg.shared_mounts[0] = vg_xstrdup(images);
    add_path(f, VG_ROLE_DISK, VG_ACCESS_RW, disk);
    add_path(f, VG_ROLE_CDROM, VG_ACCESS_R, iso);

    autoguardplan vg_guard_plan plan;
    autoerror vg_error *err = NULL;
    vg_guard_env env = { .passwd_file = PW, .group_file = GR, .state_dir = root };
    vg_report *rep = NULL;
    vg_probe_set_registry(reg);
    vg_guard_plan_init(&plan, &f->cfg, &f->dom);
    if (vg_guard_run(&plan, &f->qconf, &env, &rep, &err) < 0)
        fail_msg("vg_guard_run: %s", err->msg);
    vg_probe_set_registry(NULL);
    assert_int_equal(rep->n_shared, 2);
    assert_none(rep);
    vg_report_free(rep);

    assert_int_equal(access(stale, F_OK), -1);          /* removed */
    assert_int_equal(access(other, F_OK), 0);           /* not probed this time */
    assert_int_equal(access(decoy, F_OK), 0);           /* not a scratch name */
    autofree char *left = NULL;
    assert_int_equal(vg_read_file(reg, 4096, &left, NULL), 0);
    autofree char *want = vg_xasprintf("%s\n", other);
    assert_string_equal(left, want);
    /* the chown probe cleaned up after itself */
    autofree char *ls = vg_xasprintf("test -z \"$(ls -A '%s' | grep virtguard-probe)\"", images);
    assert_int_equal(system(ls), 0);

    /* chown works and trusted.* extended attributes stick (what libvirt needs) */
    vg_probe_req req = { .op = VG_PROBE_CHOWN, .path = images, .uid = 64055, .gid = 64055 };
    vg_probe_res res;
    assert_int_equal(vg_probe_run(&req, 1, 3000, &res, NULL, &err), 0);
    assert_int_equal(res.chown, VG_CHOWN_WORKS);
    assert_int_equal(res.xattr, VG_XATTR_KEPT);

    autofree char *cmd = vg_xasprintf("umount -l '%s' 2>/dev/null; rm -rf '%s'", images, root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", root);
}

/* The real probe where root cannot create its scratch file: a read-only
 * tmpfs (EROFS) stands in for the user-namespace virtiofsd's EINVAL. */
static void test_real_probe_no_create(void **state)
{
    (void)state;
    char root[] = "/tmp/vg-guard-ro-XXXXXX";
    assert_non_null(mkdtemp(root));
    assert_int_equal(mount("tmpfs", root, "tmpfs", MS_RDONLY, "mode=0755"), 0);
    vg_probe_req req = { .op = VG_PROBE_CHOWN, .path = root, .uid = 64055, .gid = 64055 };
    vg_probe_res res;
    autoerror vg_error *err = NULL;
    int r = vg_probe_run(&req, 1, 3000, &res, NULL, &err);
    umount(root);
    rmdir(root);
    if (r < 0)
        fail_msg("vg_probe_run: %s", err->msg);
    assert_true(res.answered);
    assert_int_equal(res.chown, VG_CHOWN_NO_CREATE);
    assert_int_equal(res.err, EROFS);
}

int main(void)
{
    const struct CMUnitTest judged[] = {
        cmocka_unit_test_setup_teardown(test_no_shared_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_mounted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_mounted_no_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shadow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fstype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unexaminable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names_escaped, setup, teardown),
        cmocka_unit_test(test_unreadable_xml_names_domain),
        cmocka_unit_test_setup_teardown(test_dac_without_relabel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chown_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_create_overlay_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traversal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_label_state_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_user, setup, teardown),
        cmocka_unit_test(test_scratch_name_valid),
        cmocka_unit_test(test_broken_config_verdict),
        cmocka_unit_test(test_hook_op_names),
        cmocka_unit_test_setup_teardown(test_owner_lost_no_xattrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_xattr_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_remember_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_not_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_no_root_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dac_fix_not_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lost_verdict, setup, teardown),
    };
    const struct CMUnitTest probed[] = {
        cmocka_unit_test_setup_teardown(test_real_probe, setup, teardown),
        cmocka_unit_test(test_real_probe_no_create),
    };
    int failed = cmocka_run_group_tests_name("judge", judged, NULL, NULL);

    if (geteuid() != 0) {
        printf("test-guard: the real-probe test needs root for mounts; skipped\n");
        return failed;
    }
    /* Private mount namespace: nothing mounted here is seen by the host. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("test-guard: cannot create a private mount namespace (%s); the real-probe test "
               "is skipped\n", strerror(errno));
        return failed;
    }
    return failed + cmocka_run_group_tests_name("probe", probed, NULL, NULL);
}
