/* virtguard: libvirt domain XML -> the path model (domain-model.h).
 *
 * Which elements name host paths, and what a stored domain file is.  The
 * model itself (types, formatting, freeing) is domain-model.h; the QEMU
 * namespace's arguments are read by qemu-cmdline.h.
 */
#pragma once

#include <libxml/tree.h>

#include "domain-model.h"
#include "error.h"

/* Extract the model from a parsed document.  The doc must outlive the
 * result if xml_node is used. A root that is not <domain>: -EINVAL. */
int vg_domain_from_doc(xmlDoc *doc, vg_domain **out, vg_error **err);
/* Parse text (via vg_xml_parse) and extract; xml_node is NULL in the result. */
int vg_domain_parse(const char *text, size_t len, const char *name, vg_domain **out, vg_error **err);

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
#define VG_LIBVIRT_QEMU_CONF_DIR LIBVIRT_SYSCONFDIR "/libvirt/qemu"
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
