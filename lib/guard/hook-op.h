/* virtguard: libvirt's qemu hook operations as values.
 *
 * libvirt runs the hook as `HOOK NAME OP SUBOP EXTRA` (src/util/virhook.c,
 * virHookQemuOpType and virHookSubopType, VIR_ENUM_IMPL).  The hook turns
 * OP and SUBOP into these values at the door (vg_hook_op_from_name), and
 * from there on they travel as values: the verdict says which operation it
 * was made for with a vg_hook_op, not with a string.  The names come from
 * one table each, in hook-op.c, in libvirt's order. */
#pragma once

typedef enum {
    VG_HOOK_OP_START,
    VG_HOOK_OP_STOPPED,
    VG_HOOK_OP_PREPARE,
    VG_HOOK_OP_RELEASE,
    VG_HOOK_OP_MIGRATE,
    VG_HOOK_OP_STARTED,
    VG_HOOK_OP_RECONNECT,
    VG_HOOK_OP_ATTACH,
    VG_HOOK_OP_RESTORE,
    VG_HOOK_OP_LAST,
    /* Not a hook operation: `virtguard check` asks for the verdict a start
     * would get.  Named "check" in log lines; never parsed from argv. */
    VG_HOOK_OP_CHECK = VG_HOOK_OP_LAST,
} vg_hook_op;

typedef enum {
    VG_HOOK_SUBOP_NONE,         /* "-" */
    VG_HOOK_SUBOP_BEGIN,
    VG_HOOK_SUBOP_END,
    VG_HOOK_SUBOP_LAST,
} vg_hook_subop;

/* The value named `name` ("prepare"...), or -1 for a name libvirt 9.0/11
 * does not use (the hook ignores such an operation). */
int vg_hook_op_from_name(const char *name);
/* "prepare"... for a value from the table, "check" for VG_HOOK_OP_CHECK. */
const char *vg_hook_op_name(vg_hook_op op);
/* "begin", "end", "-"; -1 / "?" as above. */
int vg_hook_subop_from_name(const char *name);
const char *vg_hook_subop_name(vg_hook_subop subop);
