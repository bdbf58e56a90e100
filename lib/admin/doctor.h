/* virtguard: `virtguard doctor`: the host as libvirt will use it.
 *
 *   facts = vg_doctor_gather(env)    edge: reads files under env->root, scans
 *                                    /proc, probes the shared mounts in a
 *                                    bounded child (probe.c)
 *   list  = vg_doctor_judge(facts)   pure: facts → PASS/WARN/FAIL + fixes
 *
 * Every path is read below env->root, so a directory tree standing in for
 * /etc, /proc and /sys (tests' fake roots) gives the same judgement as the
 * live host. */
#pragma once

#include "install.h"

#include "checklist.h"
#include "dac.h"
#include "lima.h"
#include "mountinfo.h"
#include "probe.h"
#include "qemuconf.h"
#include "vgconfig.h"

typedef struct vg_doctor_env {
    const char *root;           /* NULL or "": the live system ("/") */
    const char *config_path;    /* virtguard.conf (host path); NULL: default */
    const char *hooks_dir;      /* NULL: LIBVIRT_HOOKS_DIR */
    const char *apparmor_dir;   /* NULL: APPARMORDIR */
    const char *helper_path;    /* NULL: SBINDIR "/virtguard-helper" */
    bool probe_mounts;          /* stat/statfs(/chown as root) the shared mounts in a child */
    const vg_install *install;  /* NULL: vg_install_detect(root) (tests: either kind) */
    const char *machine;        /* NULL: uname(2)'s machine ("x86_64", "aarch64") */
} vg_doctor_env;

typedef struct vg_daemon_fact {
    int pid;
    char *name;                 /* "libvirtd", "virtqemud" */
    long long start_time;       /* seconds since the epoch; -1 unknown */
    char *label;                /* AppArmor label "NAME (MODE)" or "unconfined"; NULL unknown */
} vg_daemon_fact;

typedef struct vg_mount_fact {
    char *mount_point;          /* configured shared mount */
    bool probed;
    vg_probe_res statfs;        /* of the mount point */
    vg_probe_res self;          /* stat of the mount point */
    vg_probe_res parent;        /* stat of its parent */
    vg_probe_res chown;         /* chown test (answered == false: not run) */
    long long probe_ms;
} vg_mount_fact;

typedef struct vg_doctor_facts {
    /* virtguard.conf */
    char *config_path;
    vg_config *cfg;             /* never NULL: defaults when it did not parse */
    bool config_exists;
    char *config_error;         /* NULL: parsed fine */
    bool config_unreadable;     /* exists but could not be read (EACCES: not root) */
    /* qemu.conf */
    char *qemu_conf_path;
    vg_qemu_conf *qconf;        /* never NULL */
    bool qemu_conf_exists;
    char *qemu_conf_error;
    bool qemu_conf_unreadable;  /* exists but could not be read (EACCES: not root) */
    vg_ids qemu_ids;
    char *qemu_ids_error;       /* NULL: resolved */
    /* the hook */
    char *hook_path;
    int hook_errno;             /* lstat */
    unsigned hook_mode;         /* st_mode of lstat */
    long long hook_mtime;
    char *hook_target;          /* when a symlink */
    bool legacy_hook;           /* HOOKS_DIR/qemu exists */
    /* daemons */
    vg_daemon_fact *daemons;
    size_t n_daemons;
    /* AppArmor */
    bool aa_enabled;            /* /sys/module/apparmor/parameters/enabled is Y */
    char *aa_profiles;          /* /sys/kernel/security/apparmor/profiles; NULL unreadable */
    char *helper_path;
    int helper_errno;           /* stat */
    unsigned helper_mode;
    char *helper_profile_path;
    int helper_profile_errno;
    /* mounts */
    vg_mounts *mounts;          /* NULL when unreadable (mounts_error says why) */
    char *mounts_error;
    vg_fstab *fstab;            /* never NULL */
    vg_mount_fact *mf;          /* one per configured shared mount */
    size_t n_mf;
    vg_install install;         /* package or source, systemd or not: the fixes' words */
    char *roots_stale;          /* NULL, or why the helper's roots include does not match
                                   the config (vg_helper_roots_check) */
    /* the host's architecture, where libvirt's defaults differ (aarch64) */
    char *machine;              /* "x86_64", "aarch64"; NULL unknown */
    bool aavmf;                 /* VG_AAVMF_CODE exists (qemu-efi-aarch64) */
    bool kvm;                   /* /dev/kvm exists */
} vg_doctor_facts;

/* aarch64 domains (machine 'virt') boot UEFI: Debian's qemu-efi-aarch64
 * firmware, and the NVRAM directory libvirt keeps each domain's copy in. */
#define VG_AAVMF_CODE "/usr/share/AAVMF/AAVMF_CODE.fd"
#define VG_NVRAM_DIR "/var/lib/libvirt/qemu/nvram"


/* Gather everything; never fails (what could not be read is a fact). */
void vg_doctor_gather(const vg_doctor_env *env, vg_doctor_facts *out);
void vg_doctor_facts_clear(vg_doctor_facts *f);

vg_checklist *vg_doctor_judge(const vg_doctor_facts *f);

/* Is `profile` loaded, and in which mode?  Looks up the text of
 * /sys/kernel/security/apparmor/profiles ("NAME (MODE)" per line).
 * Returns the mode ("enforce", "complain"...) as a new string, or NULL. */
char *vg_aa_profile_mode(const char *profiles, const char *profile);

/* Start time of a process from /proc/PID/stat text and /proc/stat's btime,
 * in seconds since the epoch; -1 when the text is not understood. */
long long vg_proc_start_time(const char *pid_stat, const char *proc_stat, long clk_tck);
