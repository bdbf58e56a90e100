/* virtguard: host files in libvirt's QEMU namespace.
 *
 * <qemu:commandline> passes raw arguments to QEMU, <qemu:override> raw
 * device properties; libvirt interprets neither, so virt-aa-helper grants
 * nothing for them and QEMU is denied the files they name.  virtguard reads
 * the arguments that name files:
 *   -fw_cfg [name=]NAME,file=PATH          read-only (Ignition configs)
 *   -drive file=PATH[,readonly=on][,format=F][,media=cdrom]
 *   -blockdev driver=file,filename=PATH[,read-only=on]   (keyval, also
 *            nested "file.filename=" and the JSON form {"filename": ...})
 * in QEMU's option syntax (",," is a literal comma in a value), and the
 * string properties romfile (read-only) and file/filename/path of
 * <qemu:override> devices.  Every other argument and environment variable
 * stays an unresolved entry that names it.
 */
#pragma once

#include <libxml/tree.h>

#include "domain-model.h"

#define VG_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

typedef struct vg_qemu_opt {
    char *key;          /* "" for a leading value without '=' and no implied key */
    char *value;        /* "on" for a bare flag "key" */
} vg_qemu_opt;

/* Split QEMU option text ("k=v,k2=v2", QemuOpts/keyval syntax): ",," in a
 * value is a ','; a first element without '=' is the value of `implied`
 * (NULL: a flag "NAME" = "on").  Returns the number of options in *out
 * (freed with vg_qemu_opts_free). */
size_t vg_qemu_opts_split(const char *s, const char *implied, vg_qemu_opt **out);
void vg_qemu_opts_free(vg_qemu_opt *v, size_t n);
/* The value of the last option `key`, or NULL. */
const char *vg_qemu_opts_get(const vg_qemu_opt *v, size_t n, const char *key);

/* The paths in a <qemu:commandline> / <qemu:override> element, added to d
 * (xml_node NULL: path_map does not rewrite inside raw arguments). */
void vg_qemu_commandline_paths(vg_domain *d, xmlNode *commandline);
void vg_qemu_override_paths(vg_domain *d, xmlNode *override);
