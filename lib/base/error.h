/* virtguard: one error convention everywhere.
 *
 * Functions return 0 on success or a negative errno-style code on failure,
 * and describe the failure in a vg_error passed out through `vg_error **err`.
 * Messages are whole sentences with values quoted; each layer may prefix its
 * context with vg_error_wrap().  Only main() prints and exits.
 */
#pragma once

#include "util.h"

typedef struct vg_error {
    int code;      /* positive errno-style value */
    char *msg;
} vg_error;

/* Set *err (if err is non-NULL and *err is NULL) and return -abs(code). */
int vg_error_set(vg_error **err, int code, const char *fmt, ...) VG_FORMAT(3, 4);
/* Like vg_error_set, appending ": strerror(code)". */
int vg_error_set_errno(vg_error **err, int code, const char *fmt, ...) VG_FORMAT(3, 4);
/* Prefix context: "<context>: <old message>".  Returns -(*err)->code. */
int vg_error_wrap(vg_error **err, const char *fmt, ...) VG_FORMAT(2, 3);
void vg_error_free(vg_error *e);
static inline void vg_error_freep(vg_error **e) { vg_error_free(*e); }
#define autoerror _cleanup_(vg_error_freep)
