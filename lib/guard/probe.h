/* virtguard: everything that touches a (possibly shared, possibly hung)
 * filesystem runs here, in a child process bounded in time.
 *
 * The parent builds a list of requests; the child answers them in order,
 * writing each result and then the count of answers into a shared area;
 * the parent sleeps until the child's exit closes a pipe (one wake-up, not
 * one per answer) or until timeout_ms have passed, when it kills the child
 * and takes the answers counted so far.  The child never holds the
 * caller's stdout/stderr open (libvirt waits for EOF on them).
 *
 * The child is a clone(CLONE_VM) process: a real, separately killable
 * process (a thread stuck in a hung 9p call could not be killed, and
 * would keep libvirt's waitpid on the hook waiting), without fork's copy
 * of the page tables, which costs ~1.3 ms per start on the machines we
 * measured against ~0.04 ms (docs/BENCH.md).  Where clone(CLONE_VM) is
 * refused (valgrind), fork() is used instead. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef enum {
    VG_PROBE_STAT,      /* stat(2) the path (follows symlinks) */
    VG_PROBE_LSTAT,     /* lstat(2) */
    VG_PROBE_STATFS,    /* statfs(2): f_type */
    VG_PROBE_CHOWN,     /* create a scratch file in directory `path`, fchown
                           it to (uid, gid), fstat; when that worked, try
                           libvirt's remembered-owner xattr; unlink: does
                           chown stick, and can its undo be remembered? */
    VG_PROBE_UNLINK,    /* remove a scratch file a killed probe left behind
                           (internal: from the stale-scratch registry) */
} vg_probe_op;

typedef enum {
    VG_CHOWN_UNKNOWN = 0,   /* could not test (read-only, no permission...) */
    VG_CHOWN_WORKS,         /* ownership changed as asked */
    VG_CHOWN_IGNORED,       /* chown returned success, ownership unchanged */
    VG_CHOWN_REFUSED,       /* chown failed (EPERM, ENOTSUP...) */
    VG_CHOWN_NO_CREATE,     /* root cannot even create the scratch file (err:
                               EINVAL from a virtiofsd in a user namespace
                               that maps only the share owner's uid, EROFS,
                               EACCES, EPERM; other errors stay UNKNOWN):
                               libvirt's chown of the images cannot work
                               either, QEMU gets what the mode bits give */
} vg_chown_result;

/* Can the share keep the owner libvirt remembers before it relabels a file
 * (remember_owner = 1: trusted.libvirt.security.* extended attributes,
 * src/security/security_util.c virSecuritySetRememberedLabel)?  Tried on
 * the scratch file, as root, only after its chown worked, in libvirt's
 * order: read the refcount attribute, then write the owner attribute. */
typedef enum {
    VG_XATTR_UNKNOWN = 0,   /* not tried (chown did not work, not root) */
    VG_XATTR_KEPT,          /* written and read back: owners are restored */
    VG_XATTR_UNSUPPORTED,   /* reading fails with ENOTSUP/ENOSYS: libvirt
                               silently remembers nothing */
    VG_XATTR_GET_FAILS,     /* reading fails otherwise: libvirt reports
                               "Unable to get XATTR ..." and fails the start */
    VG_XATTR_SET_FAILS,     /* writing fails: "Unable to set XATTR ...",
                               the start fails */
    VG_XATTR_LOST,          /* written without error, not read back */
} vg_xattr_result;

/* The names libvirt 9.0 uses for the DAC driver (security_util.c). */
#define VG_XATTR_REMEMBER "trusted.libvirt.security.dac"
#define VG_XATTR_REFCOUNT "trusted.libvirt.security.ref_dac"

typedef struct vg_probe_req {
    vg_probe_op op;
    const char *path;       /* borrowed */
    uid_t uid;              /* VG_PROBE_CHOWN */
    gid_t gid;
} vg_probe_req;

typedef struct vg_probe_res {
    bool answered;          /* false: the child did not get to it in time */
    int err;                /* 0 or errno of the operation */
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    uint64_t dev;
    uint64_t ino;
    int64_t fs_type;        /* VG_PROBE_STATFS */
    vg_chown_result chown;  /* VG_PROBE_CHOWN */
    vg_xattr_result xattr;  /* VG_PROBE_CHOWN, when chown == VG_CHOWN_WORKS */
    int xattr_err;          /* errno behind GET_FAILS/SET_FAILS/UNSUPPORTED */
} vg_probe_res;

/* Run the requests.  Returns 0 when every request was answered, -ETIMEDOUT
 * when time ran out (res[i].answered tells how far it got; the first
 * unanswered request is the one that blocked), other -errno on failure to
 * run at all.  `elapsed_ms` (optional) is the wall time spent. */
int vg_probe_run(const vg_probe_req *req, size_t n, unsigned timeout_ms,
                 vg_probe_res *res, long long *elapsed_ms, vg_error **err);

/* The stale-scratch registry: when a probe is killed while its scratch
 * file exists, the parent (which never touches the mount) records the name
 * in this local file; the next probe's child removes it after its own
 * checks.  Only names of the form DIR/.virtguard-probe.PID.N are accepted. */
#define VG_PROBE_STALE_REGISTRY RUNSTATEDIR "/virtguard/probe-scratch"
bool vg_probe_scratch_name_valid(const char *path);
/* Override the registry path (tests); NULL restores the default. */
void vg_probe_set_registry(const char *path);

/* Execute one request in this process (what the child does).  Uses only
 * system-call wrappers: no allocation, no locks (the child shares the
 * parent's memory).  VG_PROBE_CHOWN uses `scratch` as the file to create. */
void vg_probe_one(const vg_probe_req *req, const char *scratch, vg_probe_res *res);
