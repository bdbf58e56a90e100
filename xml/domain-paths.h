/* virtguard: the domain path model.
 *
 * A libvirt domain XML becomes the list of host paths the domain touches,
 * each with its role and the access QEMU needs.  Elements that name host
 * resources virtguard cannot interpret (a <disk type='volume'>, a network
 * disk, a source with no path) are kept as `unresolved` entries with a
 * reason, never dropped.
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

/* Extract the model from a parsed document.  The doc must outlive the
 * result if xml_node is used. A root that is not <domain>: -EINVAL. */
int vg_domain_from_doc(xmlDoc *doc, vg_domain **out, vg_error **err);
/* Parse text (via vg_xml_parse) and extract; xml_node is NULL in the result. */
int vg_domain_parse(const char *text, size_t len, const char *name, vg_domain **out, vg_error **err);

/* The DAC seclabel, or NULL. */
const vg_seclabel *vg_domain_seclabel(const vg_domain *d, const char *model);

/* A domain as libvirt stores it: the root <domain> of a persistent config
 * (/etc/libvirt/qemu/NAME.xml), or the <domain> child of the root
 * <domstatus> of a running domain's status file (in VG_LIBVIRT_QEMU_RUN_DIR).
 * Parsed with the safe reader; only the root's own elements count, so a
 * <domain> inside <metadata> is never taken for the domain.  Any other root:
 * -EINVAL. */
int vg_domain_parse_stored(const char *text, size_t len, const char *name, vg_domain **out,
                           vg_error **err);

/* Where libvirt keeps its QEMU domains' XML files: persistent configs, and
 * the status files of running domains (both directories from configure). */
#define VG_LIBVIRT_QEMU_CONF_DIR SYSCONFDIR "/libvirt/qemu"
#define VG_LIBVIRT_QEMU_RUN_DIR LIBVIRT_RUN_DIR "/qemu"

/* Every domain libvirt keeps as an XML file in `dir` (vg_domain_parse_stored):
 * persistent configs or status files of running domains.  `fn` is called
 * with each parsed domain (no xml_node) and the file it came from.  Returns
 * the number of *.xml files that could not be read or parsed; a message per
 * file is appended to *failures when `failures` is not NULL (a missing
 * directory has no files and no failures).  Callers that delete things for
 * domains they did not find must not do so when this is not 0. */
size_t vg_domains_in_dir(const char *dir, void (*fn)(const vg_domain *dom, const char *path,
                                                     void *opaque),
                         void *opaque, char ***failures);

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

/* For the parsers of other namespaces (qemu-cmdline.c): append a path
 * entry copied from `tmpl` (its strings duplicated, xml_node kept) with
 * `path`, or an unresolved entry. */
void vg_domain_add_path(vg_domain *d, const vg_domain_path *tmpl, const char *path);
void vg_domain_add_unresolved(vg_domain *d, const char *where, const char *fmt, ...)
    VG_FORMAT(3, 4);

/* Free what one entry owns (not the entry itself) and zero it. */
void vg_domain_path_clear(vg_domain_path *p);
void vg_unresolved_clear(vg_unresolved *u);

void vg_domain_free(vg_domain *d);
static inline void vg_domain_freep(vg_domain **d) { vg_domain_free(*d); }
#define autodomain _cleanup_(vg_domain_freep)
