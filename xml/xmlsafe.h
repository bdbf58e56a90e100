/* virtguard: the only way virtguard parses XML.
 * XML_PARSE_NONET, no entity substitution, no DTD loading or validation,
 * no XInclude, a size cap and a nesting cap.  A malformed document gives an
 * error naming line and column. */
#pragma once

#include <libxml/tree.h>

#include "error.h"

#define VG_XML_MAX_BYTES (4u * 1024 * 1024)   /* largest domain XML accepted */
#define VG_XML_MAX_DEPTH 256                   /* deepest element nesting accepted */

/* `name` is used in messages ("-" for stdin). */
int vg_xml_parse(const char *text, size_t len, const char *name, xmlDoc **out, vg_error **err);

/* The value of attribute `name` of `n` (no namespace), as a new string;
 * NULL when `n` is NULL or has no such attribute. */
char *vg_xml_attr(const xmlNode *n, const char *name);

static inline void vg_xml_doc_freep(xmlDoc **d) { if (*d) xmlFreeDoc(*d); }
#define autoxmldoc _cleanup_(vg_xml_doc_freep)
