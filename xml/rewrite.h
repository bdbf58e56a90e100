/* virtguard: path_map rewriting of a domain XML.  The map is plain data
 * owned here; lib/config/vgconfig.c fills one from virtguard.conf's path_map. */
#pragma once

#include "error.h"

/* One path_map entry: paths under `from` are rewritten to be under `to`. */
typedef struct vg_path_map {
    char *from;          /* normalised absolute path, no trailing slash */
    char *to;
} vg_path_map;

/* Map one path: the longest `from` that is a whole-component prefix of
 * `path` is replaced by its `to`.  Returns 1 and sets *out when mapped,
 * 0 (and *out NULL) when no entry applies. */
int vg_path_map_apply(const vg_path_map *map, size_t n, const char *path, char **out);

/* Rewrite every path of the domain model in the document text.  On success
 * *out is the new XML (the root element serialised, everything else
 * unchanged) and *n_changed the number of paths rewritten; when nothing
 * changed *out is a copy of the input. */
int vg_rewrite_xml(const vg_path_map *map, size_t n, const char *text, size_t len,
                   const char *name, char **out, size_t *n_changed, vg_error **err);
