/* virtguard: libvirt domain XML -> the path model (domain-model.h).
 *
 * Which elements name host paths follows libvirt 9.0.0's domain_conf.c and
 * virt-aa-helper.c get_files() (the minimum covered).  Paths are kept exactly
 * as written; the guard normalises them.  Element lookup follows libvirt:
 * only un-namespaced children count, like libvirt's "./disk" XPaths.
 *
 * Deliberately NOT reported (no host path QEMU opens, or the path is
 * libvirt's own): <emulator>, virtiofs <binary path>, interface
 * <script>/<downscript>, <lease> targets (lock manager), <blkiotune>
 * device paths (cgroups), PCI/USB/mdev/SCSI hostdevs (sysfs paths libvirt
 * derives), pty paths (allocated by QEMU), unix chardevs without a path
 * (libvirt generates one in its own directory), the TPM emulator's state
 * (libvirt's swtpm directory), <memoryBacking> (qemu.conf's
 * memory_backing_dir), default shmem sockets, filesystem templates (LXC).
 */
#include <config.h>

#include <dirent.h>

#include <libxml/parser.h>

#include "domain-paths.h"
#include "qemu-cmdline.h"
#include "xmlsafe.h"

/* ---- small DOM helpers ------------------------------------------------ */

static bool is_el(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !n->ns &&
           xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNode *next_el(xmlNode *n, const char *name)
{
    for (; n; n = n->next)
        if (is_el(n, name))
            return n;
    return NULL;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
    return n ? next_el(n->children, name) : NULL;
}

#define FOREACH_CHILD(var, parent, name) \
    for (xmlNode *var = child((parent), (name)); var; var = next_el(var->next, (name)))

static bool prop_is(const xmlNode *n, const char *name, const char *value)
{
    autofree char *v = vg_xml_attr(n, name);
    return vg_streq(v, value);
}

/* Concatenated text of an element (copy), never NULL. */
static char *text_of(const xmlNode *n)
{
    xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
    if (!v)
        return vg_xstrdup("");
    char *r = vg_xstrdup((const char *)v);
    xmlFree(v);
    return r;
}

static bool yes(const char *v)
{
    return vg_streq(v, "yes") || vg_streq(v, "on");
}

static bool no(const char *v)
{
    return vg_streq(v, "no") || vg_streq(v, "off");
}

/* ---- building the model ------------------------------------------------ */

/* The parsers describe an entry with a template: a vg_domain_path without
 * its path, whose strings are borrowed (the model copies them). */
typedef vg_domain_path pspec;

/* An entry like template `s` for `path`, found in `node`'s attribute `attr`
 * (NULL: its text; node NULL: a default nothing in the XML names). */
static void add_path(vg_domain *d, const pspec *s, const char *path, xmlNode *node,
                     const char *attr)
{
    pspec t = *s;
    t.xml_node = node;
    t.xml_attr = attr;
    vg_domain_add_path(d, &t, path);
}

/* The path in attribute `attr` (a string literal: it is kept in the model).
 * Absent: nothing.  Empty: unresolved. */
static void add_attr_path(vg_domain *d, const pspec *s, xmlNode *node, const char *attr,
                          const char *where)
{
    autofree char *v = vg_xml_attr(node, attr);
    if (!v)
        return;
    if (!*v) {
        vg_domain_add_unresolved(d, where, "<%s %s=''> names no path", (const char *)node->name,
                                 attr);
        return;
    }
    add_path(d, s, v, node, attr);
}

/* The path in an element's text.  Empty text means "absent" in libvirt
 * (virXPathString returns NULL for ""), so nothing is reported. */
static void add_text_path(vg_domain *d, const pspec *s, xmlNode *node)
{
    autofree char *v = text_of(node);
    if (node && *v)
        add_path(d, s, v, node, NULL);
}

/* The decisive DAC device seclabel of a <source>: returns 0 (relabel='no'),
 * 1 (relabelled to an explicit <label>) or -1 (none / not decisive), as
 * security_dac.c virSecurityDACSetImageLabelInternal() reads it. */
static int source_dac_relabel(const xmlNode *src)
{
    FOREACH_CHILD(sl, src, "seclabel") {
        if (!prop_is(sl, "model", "dac"))
            continue;
        autofree char *relabel = vg_xml_attr(sl, "relabel");
        if (no(relabel))
            return 0;
        autofree char *label = text_of(child(sl, "label"));
        return *label ? 1 : -1;
    }
    return -1;
}

/* ---- storage sources (disks, backing chains, mirrors, nvram) ---------- */

static void network_reason(vg_buf *b, const xmlNode *src)
{
    autofree char *protocol = vg_xml_attr(src, "protocol");
    autofree char *name = vg_xml_attr(src, "name");

    vg_buf_printf(b, "type='network' (protocol '%s'", protocol ? protocol : "?");
    if (name)
        vg_buf_printf(b, ", name '%s'", name);
    FOREACH_CHILD(h, src, "host") {
        autofree char *sock = vg_xml_attr(h, "socket");
        autofree char *hname = vg_xml_attr(h, "name");
        if (sock)
            vg_buf_printf(b, ", unix socket '%s'", sock);
        else if (hname)
            vg_buf_printf(b, ", host '%s'", hname);
    }
    xmlNode *cfg = child(src, "config");
    autofree char *cfgfile = vg_xml_attr(cfg, "file");
    if (cfgfile)
        vg_buf_printf(b, ", config file '%s'", cfgfile);
    vg_buf_add(b, ") is network storage, not a local path");
}

/* A source type whose host path is one attribute of <source>: the kind of
 * object it names and whether QEMU always opens it read-write (a socket). */
typedef struct {
    const char *type;
    vg_path_kind kind;
    const char *attr;
    bool rw;
} source_attr;

static const source_attr *source_attr_find(const source_attr *t, const char *type)
{
    for (; t->type; t++)
        if (vg_streq(t->type, type))
            return t;
    return NULL;
}

static void add_source_attr(vg_domain *d, const pspec *s, const source_attr *sa, xmlNode *src,
                            const char *where)
{
    pspec sp = *s;
    sp.kind = sa->kind;
    if (sa->rw)
        sp.access = VG_ACCESS_RW;
    add_attr_path(d, &sp, src, sa->attr, where);
}

/* One storage source of type `type` whose <source> is `src` (may be NULL:
 * an empty drive). */
static void storage_source(vg_domain *d, const char *where, const char *type, xmlNode *src,
                           const pspec *s)
{
    pspec sp = *s;

    static const source_attr storage_attrs[] = {
        { "file", VG_KIND_FILE, "file", false },
        { "block", VG_KIND_BLOCK, "dev", false },
        { "dir", VG_KIND_DIR, "dir", false },
        { "vhostuser", VG_KIND_SOCKET, "path", true },
        { NULL, 0, NULL, false },
    };
    const source_attr *sa;

    if (!type)
        type = "file";
    if ((sa = source_attr_find(storage_attrs, type))) {
        add_source_attr(d, &sp, sa, src, where);
    } else if (vg_streq(type, "network")) {
        autobuf vg_buf b = { 0 };
        if (!src)
            return;
        network_reason(&b, src);
        vg_domain_add_unresolved(d, where, "%s", b.s);
    } else if (vg_streq(type, "volume")) {
        autofree char *pool = vg_xml_attr(src, "pool");
        autofree char *volume = vg_xml_attr(src, "volume");
        if (!src)
            return;
        vg_domain_add_unresolved(d, where, "type='volume' (pool '%s', volume '%s') is resolved "
                                 "by libvirt's storage driver", pool ? pool : "?",
                                 volume ? volume : "?");
        if (pool && volume) {
            /* kept for vg_domain_resolve_volumes(): the file disk it becomes */
            vg_unresolved *u = &d->unresolved[d->n_unresolved - 1];
            vg_domain_path *spec = vg_xcalloc(1, sizeof(*spec));
            vg_domain_path_copy(spec, &sp, NULL);
            spec->kind = VG_KIND_FILE;
            u->pool = steal_pointer(&pool);
            u->volume = steal_pointer(&volume);
            u->volume_spec = spec;
            u->path_index = d->n_paths;
        }
    } else if (vg_streq(type, "nvme")) {
        if (!src)
            return;
        vg_domain_add_unresolved(d, where, "type='nvme' is a host NVMe controller passed to "
                                 "QEMU through VFIO, not a path");
    } else {
        vg_domain_add_unresolved(d, where, "unknown storage source type '%s'", type);
        return;
    }

    /* persistent reservations helper socket (managed='no': the admin's) */
    xmlNode *res = child(src, "reservations");
    if (res && !prop_is(res, "managed", "yes")) {
        pspec aux = *s;
        aux.role = VG_ROLE_DISK_AUX;
        aux.access = VG_ACCESS_RW;
        aux.kind = VG_KIND_SOCKET;
        aux.depth = 0;
        autofree char *w = vg_xasprintf("%s reservations", where);
        add_attr_path(d, &aux, child(res, "source"), "path", w);
    }
}

/* The explicit <backingStore> chain below `parent` (a <disk> or a layer). */
static void backing_chain(vg_domain *d, const char *where, xmlNode *parent, const pspec *top,
                          bool top_relabel)
{
    int depth = 0;

    for (xmlNode *bs = child(parent, "backingStore"); bs; bs = child(bs, "backingStore")) {
        autofree char *type = vg_xml_attr(bs, "type");
        if (!type)              /* <backingStore/> terminates the chain */
            break;
        depth++;
        autofree char *format = vg_xml_attr(child(bs, "format"), "type");
        xmlNode *src = child(bs, "source");
        int own = source_dac_relabel(src);
        pspec s = *top;
        s.role = VG_ROLE_BACKING;
        s.access = VG_ACCESS_R;
        s.readonly = true;
        s.depth = depth;
        s.format = format;
        s.relabel = own >= 0 ? own == 1 : top_relabel;
        autofree char *w = vg_xasprintf("%s backing store %d", where, depth);
        storage_source(d, w, type, src, &s);
    }
}

static void parse_disk(vg_domain *d, xmlNode *disk, size_t idx)
{
    autofree char *type = vg_xml_attr(disk, "type");
    autofree char *device = vg_xml_attr(disk, "device");
    autofree char *dev = vg_xml_attr(child(disk, "target"), "dev");
    autofree char *format = vg_xml_attr(child(disk, "driver"), "type");
    autofree char *where = dev ? vg_xasprintf("disk %s", dev) : vg_xasprintf("disk #%zu", idx);
    xmlNode *src = child(disk, "source");
    pspec s = { .role = VG_ROLE_DISK, .device = dev, .format = format, .relabel = true };

    if (vg_streq(device, "cdrom"))
        s.role = VG_ROLE_CDROM;
    else if (vg_streq(device, "floppy"))
        s.role = VG_ROLE_FLOPPY;
    /* libvirt forces cdroms read-only; floppies only with <readonly/> */
    s.readonly = child(disk, "readonly") || s.role == VG_ROLE_CDROM;
    s.shareable = child(disk, "shareable") != NULL;
    s.access = s.readonly ? VG_ACCESS_R : VG_ACCESS_RW;
    s.relabel = source_dac_relabel(src) != 0;

    storage_source(d, where, type, src, &s);
    backing_chain(d, where, disk, &s, s.relabel);

    /* block copy / active commit destination */
    xmlNode *mirror = child(disk, "mirror");
    if (mirror) {
        autofree char *mtype = vg_xml_attr(mirror, "type");
        autofree char *mformat = vg_xml_attr(mirror, "format");
        autofree char *mw = vg_xasprintf("%s mirror", where);
        xmlNode *msrc = child(mirror, "source");
        pspec m = s;
        m.role = VG_ROLE_DISK_AUX;
        m.access = VG_ACCESS_RW;
        m.readonly = false;
        m.relabel = source_dac_relabel(msrc) != 0;
        if (!mformat)
            mformat = vg_xml_attr(child(mirror, "format"), "type");
        m.format = mformat;
        if (mtype) {
            storage_source(d, mw, mtype, msrc, &m);
            backing_chain(d, mw, mirror, &m, m.relabel);
        } else {
            m.kind = VG_KIND_FILE;  /* legacy <mirror file='...'> */
            add_attr_path(d, &m, mirror, "file", mw);
        }
    }
}

/* ---- <os> ----------------------------------------------------------- */

static void parse_os(vg_domain *d, xmlNode *os)
{
    xmlNode *loader = child(os, "loader");
    xmlNode *nvram = child(os, "nvram");

    if (loader) {
        autofree char *ltype = vg_xml_attr(loader, "type");
        autofree char *ro = vg_xml_attr(loader, "readonly");
        /* A pflash loader without readonly='yes' is opened read-write by
         * QEMU (qemu_domain.c: pflash0->readonly from loader->readonly). */
        bool rw = vg_streq(ltype, "pflash") && !yes(ro);
        pspec s = { .role = VG_ROLE_LOADER, .access = rw ? VG_ACCESS_RW : VG_ACCESS_R,
                    .kind = VG_KIND_FILE, .readonly = !rw, .relabel = true };
        add_text_path(d, &s, loader);
    }
    if (nvram) {
        pspec t = { .role = VG_ROLE_NVRAM, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                    .device = (char *)"template", .readonly = true, .relabel = true };
        add_attr_path(d, &t, nvram, "template", "os nvram template");

        autofree char *ntype = vg_xml_attr(nvram, "type");
        pspec s = { .role = VG_ROLE_NVRAM, .access = VG_ACCESS_RW, .kind = VG_KIND_FILE,
                    .format = (char *)"raw", .relabel = true };
        if (ntype) {
            xmlNode *src = child(nvram, "source");
            s.relabel = source_dac_relabel(src) != 0;
            if (!src)
                vg_domain_add_unresolved(d, "os nvram", "<nvram type='%s'> has no <source>",
                                         ntype);
            else
                storage_source(d, "os nvram", ntype, src, &s);
        } else {
            add_text_path(d, &s, nvram);
        }
    }

    static const struct { const char *el; vg_role role; } simple[] = {
        { "kernel", VG_ROLE_KERNEL }, { "initrd", VG_ROLE_INITRD }, { "dtb", VG_ROLE_DTB },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(simple); i++) {
        pspec s = { .role = simple[i].role, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                    .readonly = true, .relabel = true };
        add_text_path(d, &s, child(os, simple[i].el));
    }
    FOREACH_CHILD(table, child(os, "acpi"), "table") {
        autofree char *ttype = vg_xml_attr(table, "type");
        pspec s = { .role = VG_ROLE_ACPI, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                    .device = ttype, .readonly = true, .relabel = true };
        add_text_path(d, &s, table);
    }
}

/* ---- character devices ------------------------------------------------ */

/* A chardev source of `type` described by element `el` (its <source>
 * child and <log>).  `role` is used for the main path. */
static void chardev(vg_domain *d, const char *where, const char *device, xmlNode *el,
                    const char *type, vg_role role)
{
    xmlNode *src = child(el, "source");
    int relabel = source_dac_relabel(src);
    pspec s = { .role = role, .access = VG_ACCESS_RW, .device = (char *)device,
                .relabel = relabel != 0 };

    static const source_attr chardev_attrs[] = {
        { "file", VG_KIND_FILE, "path", false },
        { "dev", VG_KIND_DEVICE, "path", false },
        /* QEMU opens PATH.in and PATH.out, or PATH itself; the base is kept */
        { "pipe", VG_KIND_PIPE, "path", false },
        { "unix", VG_KIND_SOCKET, "path", false },
        { NULL, 0, NULL, false },
    };
    const source_attr *sa;

    if (!type)
        type = "pty";           /* libvirt's default */
    if ((sa = source_attr_find(chardev_attrs, type))) {
        add_source_attr(d, &s, sa, src, where);
    } else if (vg_streq(type, "pty") || vg_streq(type, "null") || vg_streq(type, "vc") ||
               vg_streq(type, "stdio") || vg_streq(type, "udp") || vg_streq(type, "tcp") ||
               vg_streq(type, "spicevmc") || vg_streq(type, "spiceport") ||
               vg_streq(type, "nmdm") || vg_streq(type, "qemu-vdagent") ||
               vg_streq(type, "dbus")) {
        /* no host path in the configuration */
    } else {
        vg_domain_add_unresolved(d, where, "unknown character device type '%s'", type);
    }

    xmlNode *log = child(el, "log");
    if (log) {
        pspec l = { .role = VG_ROLE_CHARDEV_LOG, .access = VG_ACCESS_RW, .kind = VG_KIND_FILE,
                    .device = (char *)device, .relabel = true };
        autofree char *lw = vg_xasprintf("%s log", where);
        add_attr_path(d, &l, log, "file", lw);
    }
}

/* <serial>, <parallel>, <console> or <channel>: device NAME0, NAME1... */
static void parse_chardev_el(vg_domain *d, xmlNode *el, size_t idx)
{
    autofree char *type = vg_xml_attr(el, "type");
    autofree char *device = vg_xasprintf("%s%zu", (const char *)el->name, idx);
    chardev(d, device, device, el, type, VG_ROLE_CHARDEV);
}

/* ---- other devices ---------------------------------------------------- */

static void parse_filesystem(vg_domain *d, xmlNode *fs, size_t idx)
{
    autofree char *type = vg_xml_attr(fs, "type");
    autofree char *target = vg_xml_attr(child(fs, "target"), "dir");
    autofree char *format = vg_xml_attr(child(fs, "driver"), "format");
    autofree char *where = target ? vg_xasprintf("filesystem '%s'", target)
                                  : vg_xasprintf("filesystem #%zu", idx);
    xmlNode *src = child(fs, "source");
    bool ro = child(fs, "readonly") != NULL;
    pspec s = { .role = VG_ROLE_FILESYSTEM, .access = ro ? VG_ACCESS_R : VG_ACCESS_RW,
                .device = target, .format = format, .readonly = ro, .relabel = true };

    if (!type)
        type = vg_xstrdup("mount");
    if (vg_streq(type, "mount") || vg_streq(type, "bind")) {
        s.kind = VG_KIND_DIR;
        add_attr_path(d, &s, src, "dir", where);
    } else if (vg_streq(type, "file")) {
        s.kind = VG_KIND_FILE;
        add_attr_path(d, &s, src, "file", where);
    } else if (vg_streq(type, "block")) {
        s.kind = VG_KIND_BLOCK;
        add_attr_path(d, &s, src, "dev", where);
    } else if (vg_streq(type, "volume")) {
        autofree char *pool = vg_xml_attr(src, "pool");
        autofree char *volume = vg_xml_attr(src, "volume");
        vg_domain_add_unresolved(d, where, "type='volume' (pool '%s', volume '%s') is resolved "
                                 "by libvirt's storage driver", pool ? pool : "?",
                                 volume ? volume : "?");
    } else if (vg_streq(type, "template") || vg_streq(type, "ram")) {
        /* LXC template name / RAM filesystem: no host path */
    } else {
        vg_domain_add_unresolved(d, where, "unknown filesystem type '%s'", type);
    }
    /* an externally started virtiofsd */
    pspec sock = s;
    sock.kind = VG_KIND_SOCKET;
    sock.access = VG_ACCESS_RW;
    sock.readonly = false;
    add_attr_path(d, &sock, src, "socket", where);
}

static void parse_input(vg_domain *d, xmlNode *in, size_t idx)
{
    autofree char *type = vg_xml_attr(in, "type");
    const char *attr = vg_streq(type, "evdev") ? "dev"
                       : vg_streq(type, "passthrough") ? "evdev" : NULL;
    if (!attr)
        return;
    autofree char *device = vg_xasprintf("input%zu", idx);
    autofree char *where = vg_xasprintf("input %s %s", type, device);
    /* QEMU opens event devices O_RDWR (input-linux, virtio-input-host) and
     * virt-aa-helper grants rw */
    pspec s = { .role = VG_ROLE_EVDEV, .access = VG_ACCESS_RW, .kind = VG_KIND_DEVICE,
                .device = device, .relabel = true };
    add_attr_path(d, &s, child(in, "source"), attr, where);
}

static void parse_hostdev(vg_domain *d, xmlNode *hd, size_t idx)
{
    autofree char *mode = vg_xml_attr(hd, "mode");
    autofree char *type = vg_xml_attr(hd, "type");
    if (!vg_streq(mode, "capabilities"))
        return;                 /* subsystem: PCI/USB/SCSI/mdev, no path in the XML */
    autofree char *device = vg_xasprintf("hostdev%zu", idx);
    autofree char *where = vg_xasprintf("hostdev %s (%s)", device, type ? type : "?");
    pspec s = { .role = VG_ROLE_HOSTDEV, .access = VG_ACCESS_RW, .device = device,
                .relabel = true };
    xmlNode *src = child(hd, "source");
    if (vg_streq(type, "storage")) {
        s.kind = VG_KIND_BLOCK;
        add_text_path(d, &s, child(src, "block"));
    } else if (vg_streq(type, "misc")) {
        s.kind = VG_KIND_DEVICE;
        add_text_path(d, &s, child(src, "char"));
    } else if (vg_streq(type, "net")) {
        /* a network interface name */
    } else {
        vg_domain_add_unresolved(d, where, "unknown capabilities hostdev type '%s'",
                                 type ? type : "");
    }
}

static void parse_tpm(vg_domain *d, xmlNode *tpm, size_t idx)
{
    xmlNode *backend = child(tpm, "backend");
    autofree char *type = vg_xml_attr(backend, "type");
    autofree char *device = vg_xasprintf("tpm%zu", idx);
    autofree char *where = vg_xasprintf("tpm %s", device);
    pspec s = { .role = VG_ROLE_TPM, .access = VG_ACCESS_RW, .device = device,
                .relabel = true };

    if (vg_streq(type, "passthrough")) {
        xmlNode *dev = child(backend, "device");
        autofree char *path = vg_xml_attr(dev, "path");
        s.kind = VG_KIND_DEVICE;
        if (path)
            add_attr_path(d, &s, dev, "path", where);
        else
            add_path(d, &s, "/dev/tpm0", NULL, NULL);   /* libvirt's default */
    } else if (vg_streq(type, "emulator")) {
        /* swtpm state lives in libvirt's own directory; newer libvirt may
         * name a state file or directory explicitly */
        xmlNode *src = child(backend, "source");
        s.kind = prop_is(src, "type", "dir") ? VG_KIND_DIR : VG_KIND_FILE;
        add_attr_path(d, &s, src, "path", where);
    } else if (vg_streq(type, "external")) {
        s.kind = VG_KIND_SOCKET;
        add_attr_path(d, &s, child(backend, "source"), "path", where);
    } else if (!backend) {
        vg_domain_add_unresolved(d, where, "<tpm> has no <backend>");
    } else {
        vg_domain_add_unresolved(d, where, "unknown TPM backend type '%s'", type ? type : "");
    }
}

static void parse_memory(vg_domain *d, xmlNode *mem, size_t idx)
{
    autofree char *model = vg_xml_attr(mem, "model");
    if (!vg_streq(model, "nvdimm") && !vg_streq(model, "virtio-pmem"))
        return;
    bool ro = child(child(mem, "target"), "readonly") != NULL;
    autofree char *device = vg_xasprintf("%s%zu", model, idx);
    pspec s = { .role = VG_ROLE_NVDIMM, .access = ro ? VG_ACCESS_R : VG_ACCESS_RW,
                .kind = VG_KIND_FILE, .device = device, .readonly = ro, .relabel = true };
    add_text_path(d, &s, child(child(mem, "source"), "path"));
}

/* A shmem is named by its name= (idx unused). */
static void parse_shmem(vg_domain *d, xmlNode *sh, size_t idx)
{
    autofree char *name = vg_xml_attr(sh, "name");
    autofree char *where = vg_xasprintf("shmem '%s'", name ? name : "?");
    pspec s = { .role = VG_ROLE_SHMEM, .access = VG_ACCESS_RW, .kind = VG_KIND_SOCKET,
                .device = name, .relabel = true };
    add_attr_path(d, &s, child(sh, "server"), "path", where);
}

static void parse_interface(vg_domain *d, xmlNode *nif, size_t idx)
{
    autofree char *type = vg_xml_attr(nif, "type");
    autofree char *device = vg_xasprintf("net%zu", idx);
    autofree char *where = vg_xasprintf("interface %s", device);
    pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_RW, .kind = VG_KIND_SOCKET,
                .device = device, .relabel = true };

    if (vg_streq(type, "vhostuser")) {
        xmlNode *src = child(nif, "source");
        autofree char *stype = vg_xml_attr(src, "type");
        if (stype && !vg_streq(stype, "unix"))
            vg_domain_add_unresolved(d, where, "vhost-user source type '%s' is not a unix "
                                     "socket", stype);
        else
            add_attr_path(d, &s, src, "path", where);
    }
    xmlNode *backend = child(nif, "backend");
    s.kind = VG_KIND_DEVICE;
    add_attr_path(d, &s, backend, "tap", where);
    add_attr_path(d, &s, backend, "vhost", where);
}

static void parse_graphics(vg_domain *d, xmlNode *g, size_t idx)
{
    autofree char *type = vg_xml_attr(g, "type");
    autofree char *device = vg_xasprintf("graphics%zu", idx);
    autofree char *where = vg_xasprintf("graphics %s", type ? type : "?");
    pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_RW, .kind = VG_KIND_SOCKET,
                .device = device, .relabel = true };

    /* libvirt requires graphics@socket to equal the first listen's socket;
     * both are reported so a rewrite keeps them equal. */
    add_attr_path(d, &s, g, "socket", where);
    FOREACH_CHILD(l, g, "listen")
        if (prop_is(l, "type", "socket"))
            add_attr_path(d, &s, l, "socket", where);
    s.kind = VG_KIND_DEVICE;
    add_attr_path(d, &s, child(g, "gl"), "rendernode", where);
    if (vg_streq(type, "sdl")) {
        pspec x = s;
        x.kind = VG_KIND_FILE;
        x.access = VG_ACCESS_R;
        x.readonly = true;
        add_attr_path(d, &x, g, "xauth", where);
    }
}

static void parse_video(vg_domain *d, xmlNode *v, size_t idx)
{
    autofree char *device = vg_xasprintf("video%zu", idx);
    autofree char *where = vg_xasprintf("video %s", device);
    pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_RW, .kind = VG_KIND_DEVICE,
                .device = device, .relabel = true };
    add_attr_path(d, &s, child(child(v, "model"), "acceleration"), "rendernode", where);
}

static void parse_rng(vg_domain *d, xmlNode *rng, size_t idx)
{
    xmlNode *backend = child(rng, "backend");
    autofree char *model = vg_xml_attr(backend, "model");
    autofree char *device = vg_xasprintf("rng%zu", idx);
    autofree char *where = vg_xasprintf("rng %s", device);

    if (vg_streq(model, "random")) {
        pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_R, .kind = VG_KIND_DEVICE,
                    .device = device, .readonly = true, .relabel = true };
        add_text_path(d, &s, backend);
    } else if (vg_streq(model, "egd")) {
        autofree char *type = vg_xml_attr(backend, "type");
        chardev(d, where, device, backend, type, VG_ROLE_CHARDEV);
    }
}

static void parse_smartcard(vg_domain *d, xmlNode *sc, size_t idx)
{
    autofree char *mode = vg_xml_attr(sc, "mode");
    autofree char *device = vg_xasprintf("smartcard%zu", idx);
    autofree char *where = vg_xasprintf("smartcard %s", device);

    if (vg_streq(mode, "host-certificates")) {
        pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_R, .kind = VG_KIND_DIR,
                    .device = device, .readonly = true, .relabel = true };
        add_text_path(d, &s, child(sc, "database"));
    } else if (vg_streq(mode, "passthrough")) {
        autofree char *type = vg_xml_attr(sc, "type");
        chardev(d, where, device, sc, type, VG_ROLE_CHARDEV);
    }
}

static void parse_redirdev(vg_domain *d, xmlNode *rd, size_t idx)
{
    autofree char *type = vg_xml_attr(rd, "type");
    autofree char *device = vg_xasprintf("redir%zu", idx);
    chardev(d, device, device, rd, type, VG_ROLE_CHARDEV);
}

static void parse_audio(vg_domain *d, xmlNode *a, size_t idx)
{
    autofree char *type = vg_xml_attr(a, "type");
    autofree char *id = vg_xml_attr(a, "id");
    autofree char *device = id ? vg_xasprintf("audio%s", id) : vg_xasprintf("audio#%zu", idx);
    autofree char *where = vg_xasprintf("audio %s", device);
    pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_RW, .kind = VG_KIND_FILE,
                .device = device, .relabel = true };

    if (vg_streq(type, "file")) {
        add_attr_path(d, &s, a, "path", where);
    } else if (vg_streq(type, "oss") || vg_streq(type, "alsa")) {
        s.kind = VG_KIND_DEVICE;
        add_attr_path(d, &s, child(a, "input"), "dev", where);
        add_attr_path(d, &s, child(a, "output"), "dev", where);
    }
}

/* <rom file='...'> on any device: an option ROM QEMU reads. */
static void parse_rom(vg_domain *d, xmlNode *dev, size_t idx)
{
    xmlNode *rom = child(dev, "rom");
    if (!rom)
        return;
    autofree char *where = vg_xasprintf("%s #%zu rom", (const char *)dev->name, idx);
    pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                .readonly = true, .relabel = true };
    add_attr_path(d, &s, rom, "file", where);
}

/* ---- <devices>: one parser per element name ---------------------------- */

/* A device element that may name host paths and its parser.  `idx` counts
 * the elements of that name before it (serial0, serial1...); `seen` is that
 * count during one walk, kept in the walk's own copy of the table. */
typedef struct {
    const char *element;
    void (*parse)(vg_domain *d, xmlNode *el, size_t idx);
    size_t seen;
} device_kind;

static const device_kind device_kinds[] = {
    { "disk", parse_disk, 0 },
    { "filesystem", parse_filesystem, 0 },
    { "serial", parse_chardev_el, 0 },
    { "parallel", parse_chardev_el, 0 },
    { "console", parse_chardev_el, 0 },
    { "channel", parse_chardev_el, 0 },
    { "input", parse_input, 0 },
    { "hostdev", parse_hostdev, 0 },
    { "tpm", parse_tpm, 0 },
    { "memory", parse_memory, 0 },
    { "shmem", parse_shmem, 0 },
    { "interface", parse_interface, 0 },
    { "graphics", parse_graphics, 0 },
    { "video", parse_video, 0 },
    { "rng", parse_rng, 0 },
    { "smartcard", parse_smartcard, 0 },
    { "redirdev", parse_redirdev, 0 },
    { "audio", parse_audio, 0 },
};

/* Each un-namespaced child of <devices> goes to its kind's parser; every
 * one, of a kind in the table or not, may carry a <rom file=...>. */
static void parse_devices(vg_domain *d, xmlNode *devices)
{
    device_kind kinds[VG_N_ELEMENTS(device_kinds)];
    size_t n_any = 0;

    memcpy(kinds, device_kinds, sizeof(kinds));
    for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || n->ns)
            continue;
        for (size_t i = 0; i < VG_N_ELEMENTS(kinds); i++) {
            if (xmlStrEqual(n->name, BAD_CAST kinds[i].element)) {
                kinds[i].parse(d, n, kinds[i].seen++);
                break;
            }
        }
        parse_rom(d, n, n_any++);
    }
}

/* ---- domain-level ----------------------------------------------------- */

static void parse_seclabel(vg_domain *d, xmlNode *sl)
{
    vg_seclabel *s = VG_APPEND(d->seclabels, d->n_seclabels);
    autofree char *relabel = vg_xml_attr(sl, "relabel");

    s->model = vg_xml_attr(sl, "model");
    s->type = vg_xml_attr(sl, "type");
    if (!s->type)
        s->type = vg_xstrdup("dynamic");
    if (vg_streq(s->model, "none")) {
        free(s->type);
        s->type = vg_xstrdup("none");
    }
    /* virSecurityLabelDefParseXML: relabel by default, not for static and
     * none; an explicit relabel= wins. */
    s->relabel = !(vg_streq(s->type, "static") || vg_streq(s->type, "none"));
    if (yes(relabel))
        s->relabel = true;
    else if (no(relabel))
        s->relabel = false;
    xmlNode *label = child(sl, "label");
    xmlNode *imagelabel = child(sl, "imagelabel");
    if (label)
        s->label = text_of(label);
    if (imagelabel)
        s->imagelabel = text_of(imagelabel);
}

static void parse_sysinfo(vg_domain *d, xmlNode *si)
{
    if (!prop_is(si, "type", "fwcfg"))
        return;
    FOREACH_CHILD(e, si, "entry") {
        autofree char *name = vg_xml_attr(e, "name");
        autofree char *where = vg_xasprintf("sysinfo fw_cfg entry '%s'", name ? name : "?");
        pspec s = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                    .device = name, .readonly = true, .relabel = true };
        add_attr_path(d, &s, e, "file", where);
    }
}

static bool is_qemu_ns(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           xmlStrEqual(n->ns->href, BAD_CAST VG_QEMU_NS) && xmlStrEqual(n->name, BAD_CAST name);
}

static void parse_qemu_ns(vg_domain *d, xmlNode *n)
{
    if (is_qemu_ns(n, "commandline"))
        vg_qemu_commandline_paths(d, n);
    else if (is_qemu_ns(n, "override"))
        vg_qemu_override_paths(d, n);
}

int vg_domain_from_doc(xmlDoc *doc, vg_domain **out, vg_error **err)
{
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

    *out = NULL;
    if (!root)
        return vg_error_set(err, EINVAL, "the XML document has no root element");
    if (!is_el(root, "domain"))
        return vg_error_set(err, EINVAL, "the root element is <%s%s%s>, not <domain>: this "
                            "is not a libvirt domain definition",
                            root->ns && root->ns->prefix ? (const char *)root->ns->prefix : "",
                            root->ns && root->ns->prefix ? ":" : "", (const char *)root->name);

    vg_domain *d = vg_xcalloc(1, sizeof(*d));
    xmlNode *name = child(root, "name");
    xmlNode *uuid = child(root, "uuid");
    d->virt_type = vg_xml_attr(root, "type");
    if (name)
        d->name = text_of(name);
    if (uuid)
        d->uuid = text_of(uuid);

    FOREACH_CHILD(sl, root, "seclabel")
        parse_seclabel(d, sl);
    parse_os(d, child(root, "os"));
    parse_devices(d, child(root, "devices"));
    FOREACH_CHILD(si, root, "sysinfo")
        parse_sysinfo(d, si);
    for (xmlNode *n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->ns)
            parse_qemu_ns(d, n);

    *out = d;
    return 0;
}

int vg_domain_parse(const char *text, size_t len, const char *name, vg_domain **out,
                    vg_error **err)
{
    autoxmldoc xmlDoc *doc = NULL;
    int r;

    *out = NULL;
    if ((r = vg_xml_parse(text, len, name, &doc, err)) < 0)
        return r;
    if ((r = vg_domain_from_doc(doc, out, err)) < 0)
        return vg_error_wrap(err, "XML document '%s'", name ? name : "-");
    for (size_t i = 0; i < (*out)->n_paths; i++) {
        (*out)->paths[i].xml_node = NULL;
        (*out)->paths[i].xml_attr = NULL;
    }
    return 0;
}

int vg_domain_parse_stored(const char *text, size_t len, const char *name, vg_domain **out,
                           vg_error **err)
{
    autoxmldoc xmlDoc *doc = NULL;
    xmlNode *root;
    int r;

    *out = NULL;
    if ((r = vg_xml_parse(text, len, name, &doc, err)) < 0)
        return r;
    root = xmlDocGetRootElement(doc);
    if (root && is_el(root, "domstatus")) {
        /* libvirt's status file: the live definition is the one un-namespaced
         * <domain> child; anything deeper (a <metadata> element of the domain
         * may hold a namespaced <domain>) is not it. */
        xmlNode *dom = child(root, "domain");
        if (!dom)
            return vg_error_set(err, EINVAL, "XML document '%s': the status file has no "
                                "<domain> element", name ? name : "-");
        xmlUnlinkNode(dom);
        xmlNode *old = xmlDocSetRootElement(doc, dom);
        xmlFreeNode(old);
    }
    if ((r = vg_domain_from_doc(doc, out, err)) < 0)
        return vg_error_wrap(err, "XML document '%s'", name ? name : "-");
    for (size_t i = 0; i < (*out)->n_paths; i++) {
        (*out)->paths[i].xml_node = NULL;
        (*out)->paths[i].xml_attr = NULL;
    }
    return 0;
}

size_t vg_domains_in_dir(const char *dir, void (*fn)(const vg_domain *dom, const char *path,
                                                     void *opaque),
                         void *opaque, char ***failures)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n_failed = 0;

    if (!d)
        return 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".xml") != 0)
            continue;
        autofree char *path = vg_xasprintf("%s/%s", dir, de->d_name);
        autofree char *xml = NULL;
        autodomain vg_domain *dom = NULL;
        autoerror vg_error *err = NULL;
        size_t len;
        int r;
        if ((r = vg_read_file(path, VG_XML_MAX_BYTES, &xml, &len)) < 0) {
            if (r == -ENOENT)
                continue;       /* removed while we listed the directory */
            vg_error_set_errno(&err, -r, "cannot read '%s'", path);
        } else if (vg_domain_parse_stored(xml, len, path, &dom, &err) == 0) {
            fn(dom, path, opaque);
            continue;
        }
        n_failed++;
        if (failures)
            vg_strv_push(failures, vg_xstrdup(err->msg));
    }
    closedir(d);
    return n_failed;
}
