/* virtguard: a reader for libvirt's conf syntax (the qemu.conf style).
 *
 *   # comment
 *   key = "string"          (also 'string' and """string"""; like libvirt's
 *                            virconf.c there are no backslash escapes)
 *   key = 123               (decimal, may be negative)
 *   key = [ "a", "b", ]     (list of strings; may span lines; trailing comma ok)
 *   a = 1; b = 2            (';' separates entries like a newline)
 *
 * This layer knows only the syntax.  Each entry keeps the line it started
 * on so that the semantic layers (vgconfig.c, qemuconf.c) can name file,
 * line and key in their errors.
 */
#pragma once

#include "error.h"

typedef enum {
    VG_CONF_STRING,
    VG_CONF_INT,
    VG_CONF_LIST,
} vg_conf_type;

typedef struct vg_conf_entry {
    char *key;
    int line;
    vg_conf_type type;
    char *str;          /* VG_CONF_STRING */
    long long num;      /* VG_CONF_INT */
    char **list;        /* VG_CONF_LIST: NULL-terminated, never NULL itself */
} vg_conf_entry;

typedef struct vg_conf {
    char *name;         /* file name used in messages */
    vg_conf_entry *entries;
    size_t n_entries;
} vg_conf;

/* Parse text.  Syntax errors: -EINVAL and "FILE:LINE: message". A key that
 * appears twice is kept twice (in file order); vg_conf_get() returns the
 * first, as libvirt's virConfGetValue() does. */
int vg_conf_parse(const char *text, size_t len, const char *name, vg_conf **out, vg_error **err);
/* Read a config file (size cap 1 MiB) into *text (NUL-terminated) and *len.
 * -ENOENT when it does not exist, with *err left alone, so callers can fall
 * back to defaults; other failures -errno with *err set. */
int vg_conf_read_text(const char *path, char **text, size_t *len, vg_error **err);
/* Read and parse a file (size cap 1 MiB).  -ENOENT when it does not exist
 * (with *err set), so callers can fall back to defaults. */
int vg_conf_read(const char *path, vg_conf **out, vg_error **err);
const vg_conf_entry *vg_conf_get(const vg_conf *conf, const char *key);
/* A bad value: -EINVAL and "NAME:LINE: key 'KEY': <message>". */
int vg_conf_entry_error(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                        const char *fmt, ...) VG_FORMAT(4, 5);
/* "string", "number", "list". */
const char *vg_conf_type_name(vg_conf_type t);
void vg_conf_free(vg_conf *conf);
static inline void vg_conf_freep(vg_conf **c) { vg_conf_free(*c); }
#define autoconf _cleanup_(vg_conf_freep)
