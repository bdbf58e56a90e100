/* virtguard: the domain path model.
 *
 * A libvirt domain XML becomes the list of host paths the domain touches,
 * each with its role and the access QEMU needs.  Elements that name host
 * resources virtguard cannot interpret (a <disk type='volume'>, a network
 * disk, a source with no path) are kept as `unresolved` entries with a
 * reason, never dropped.
 *
 * This file holds the model only: its types, how entries are added, its
 * text and JSON forms, and freeing it.  The walkers that fill it from XML
 * are domain-paths.h (libvirt's own elements) and qemu-cmdline.h (the QEMU
 * namespace); both add through vg_domain_add_path/vg_domain_add_unresolved.
 */
#pragma once

#include <libxml/tree.h>

#include "error.h"

typedef enum {
    VG_ACCESS_R = 1,
    VG_ACCESS_RW = 3,
} vg_access;

typedef enum {
    VG_ROLE_DISK,           /* <disk device='disk' or 'lun'> source */
    VG_ROLE_CDROM,          /* <disk device='cdrom'> */
    VG_ROLE_FLOPPY,         /* <disk device='floppy'> */
    VG_ROLE_BACKING,        /* a layer of a disk's <backingStore> chain */
    VG_ROLE_DISK_AUX,       /* disk data-file, mirror, reservations socket... */
    VG_ROLE_LOADER,         /* <os><loader> */
    VG_ROLE_NVRAM,          /* <os><nvram> (and its template: r) */
    VG_ROLE_KERNEL,
    VG_ROLE_INITRD,
    VG_ROLE_DTB,
    VG_ROLE_ACPI,           /* <os><acpi><table> */
    VG_ROLE_FILESYSTEM,     /* <filesystem> source dir/file (9p, virtiofs) */
    VG_ROLE_CHARDEV,        /* serial/console/channel/parallel file, unix, pipe */
    VG_ROLE_CHARDEV_LOG,    /* <log file=...> of a chardev */
    VG_ROLE_TPM,            /* TPM passthrough device / emulator state */
    VG_ROLE_NVDIMM,         /* <memory model='nvdimm'|'virtio-pmem'> source path */
    VG_ROLE_MEMORY_BACKING, /* <memoryBacking><source type='file'> etc. */
    VG_ROLE_EVDEV,          /* <input type='evdev'><source dev=...> */
    VG_ROLE_HOSTDEV,        /* <hostdev> block/char device path */
    VG_ROLE_SHMEM,          /* <shmem> server socket path */
    VG_ROLE_OTHER,          /* any other host path we recognise */
    VG_ROLE__COUNT,
} vg_role;

typedef enum {
    VG_KIND_FILE,
    VG_KIND_BLOCK,
    VG_KIND_DIR,
    VG_KIND_SOCKET,
    VG_KIND_PIPE,
    VG_KIND_DEVICE,
} vg_path_kind;

typedef struct vg_domain_path {
    vg_role role;
    vg_access access;
    vg_path_kind kind;
    char *path;             /* as written in the XML (absolute or not) */
    char *device;           /* e.g. target dev "vda", "serial0"; may be NULL */
    char *format;           /* disk driver type ("qcow2", "raw"...); may be NULL */
    bool readonly;
    bool shareable;
    bool relabel;           /* false when a <seclabel model='dac' relabel='no'/>
                               on this source (or its disk) forbids relabelling */
    int depth;              /* 0 = top of a disk; N = N-th backing layer */
    /* Where the path sits in the parsed document (valid while the doc
     * lives): the element, and the attribute name or NULL for its text.
     * xml_node is NULL for a default libvirt applies when nothing is
     * written (TPM passthrough without <device path>: /dev/tpm0). */
    xmlNode *xml_node;
    const char *xml_attr;
} vg_domain_path;

typedef struct vg_unresolved {
    char *where;            /* e.g. "disk vdb", "os loader" */
    char *reason;           /* e.g. "type='volume' (pool 'default', volume 'x') is resolved by libvirt's storage driver" */
    /* A storage volume (<source pool= volume=>), which
     * vg_domain_resolve_volumes() (storage-pool.h) may turn into a path:
     * the names, the entry it becomes (path NULL) and its index in paths[].
     * All NULL / 0 for anything else. */
    char *pool;
    char *volume;
    vg_domain_path *volume_spec;
    size_t path_index;
} vg_unresolved;

typedef struct vg_seclabel {
    char *model;            /* "dac", "apparmor", "selinux", NULL */
    char *type;             /* "dynamic", "static", "none" */
    bool relabel;           /* relabel attribute; default per libvirt */
    char *label;            /* <label> text, e.g. "+1000:+64055" */
    char *imagelabel;
} vg_seclabel;

typedef struct vg_domain {
    char *name;
    char *uuid;
    char *virt_type;        /* <domain type=...> */
    vg_seclabel *seclabels;
    size_t n_seclabels;
    vg_domain_path *paths;
    size_t n_paths;
    vg_unresolved *unresolved;
    size_t n_unresolved;
} vg_domain;

/* The DAC seclabel, or NULL. */
const vg_seclabel *vg_domain_seclabel(const vg_domain *d, const char *model);

const char *vg_role_name(vg_role r);     /* "disk", "cdrom", "backing", ... */
const char *vg_access_name(vg_access a); /* "r" or "rw" */
const char *vg_kind_name(vg_path_kind k);

/* The model as text or JSON (newly allocated, never NULL).
 * Text: one line per path, "ACCESS<TAB>ROLE<TAB>PATH\n", ACCESS "r" or "rw";
 * control characters and '\\' in PATH are written as \ooo octal escapes so
 * each path stays on one line.  Unresolved entries are not in the text form.
 * JSON: one object {"domain","uuid","type","seclabels":[{"model","type",
 * "relabel","label","imagelabel"}],"paths":[{"access","role","kind","path",
 * "device","format","readonly","shareable","relabel","depth"}],
 * "unresolved":[{"where","reason"}]}, one array element per line. */
char *vg_domain_paths_format(const vg_domain *d, bool json);
/* One line per unresolved entry:
 * "virtguard: domain 'NAME': WHERE: not checked: REASON\n" ("" when none). */
char *vg_domain_unresolved_format(const vg_domain *d);

/* Append a path entry copied from `tmpl` (its strings duplicated, xml_node
 * and xml_attr kept) with `path`, or an unresolved entry.  A template's
 * strings are borrowed: the caller keeps owning them. */
void vg_domain_add_path(vg_domain *d, const vg_domain_path *tmpl, const char *path);
void vg_domain_add_unresolved(vg_domain *d, const char *where, const char *fmt, ...)
    VG_FORMAT(3, 4);
/* Fill *dst as vg_domain_add_path fills its new entry (path may be NULL). */
void vg_domain_path_copy(vg_domain_path *dst, const vg_domain_path *tmpl, const char *path);

/* Free what one entry owns (not the entry itself) and zero it. */
void vg_domain_path_clear(vg_domain_path *p);
void vg_unresolved_clear(vg_unresolved *u);

void vg_domain_free(vg_domain *d);
static inline void vg_domain_freep(vg_domain **d) { vg_domain_free(*d); }
#define autodomain _cleanup_(vg_domain_freep)
