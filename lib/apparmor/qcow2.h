/* virtguard: what a qcow2 image header says about the files QEMU will open
 * with it (backing file, backing format, external data file).
 *
 * Only the header and the bytes it points at inside the first cluster are
 * read, with pread(2) and size checks (docs/interop/qcow2.txt in QEMU).
 */
#pragma once

#include <stdint.h>

#include "error.h"

/* Header extension types (QEMU docs/interop/qcow2.txt). */
#define VG_QCOW2_EXT_END 0x00000000u
#define VG_QCOW2_EXT_BACKING_FORMAT 0xE2792ACAu
#define VG_QCOW2_EXT_DATA_FILE 0x44415441u

/* QEMU refuses backing file names longer than this (block/qcow2.c). */
#define VG_QCOW2_MAX_NAME 1023

typedef struct vg_qcow2_info {
    uint32_t version;           /* 2 or 3 */
    char *backing_file;         /* as stored (may be relative); NULL = none */
    char *backing_format;       /* extension 0xE2792ACA; NULL = not recorded */
    char *data_file;            /* extension 0x44415441; NULL = none */
} vg_qcow2_info;

/* Read the header of the image open on `fd` (`name` is only used in
 * messages).  Returns 1 and fills *out for a qcow2 image, 0 when the file
 * does not start with the qcow2 magic (raw or another format: the chain
 * ends there), or -errno with a message for a read error or an
 * inconsistent header (bad version, cluster size, offsets, names with NUL
 * bytes or longer than VG_QCOW2_MAX_NAME...). */
int vg_qcow2_read(int fd, const char *name, vg_qcow2_info *out, vg_error **err);

void vg_qcow2_info_clear(vg_qcow2_info *i);
static inline void vg_qcow2_info_clearp(vg_qcow2_info *i) { vg_qcow2_info_clear(i); }
#define autoqcow2 _cleanup_(vg_qcow2_info_clearp)
