/* virtguard: everything that touches a (possibly shared, possibly hung)
 * filesystem runs here, in a child process bounded in time.
 *
 * The parent builds a list of requests; the child answers them in order,
 * writing each result into a shared results area and one byte per answer
 * into a pipe; the parent waits at most timeout_ms in total, then kills
 * the child.  The child never holds the caller's stdout/stderr open
 * (libvirt waits for EOF on them).
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
                           it to (uid, gid), fstat, unlink: does chown stick? */
    VG_PROBE_UNLINK,    /* remove a scratch file a killed probe left behind
                           (internal: from the stale-scratch registry) */
} vg_probe_op;

typedef enum {
    VG_CHOWN_UNKNOWN = 0,   /* could not test (read-only, no permission...) */
    VG_CHOWN_WORKS,         /* ownership changed as asked */
    VG_CHOWN_IGNORED,       /* chown returned success, ownership unchanged */
    VG_CHOWN_REFUSED,       /* chown failed (EPERM, ENOTSUP...) */
} vg_chown_result;

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
