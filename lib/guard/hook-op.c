/* virtguard: libvirt's qemu hook operations as values (hook-op.h). */
#include <config.h>

#include "hook-op.h"

#include "util.h"

/* One table of names per enum, in the enum's order (libvirt's
 * VIR_ENUM_IMPL(virHookQemuOp, ...) and VIR_ENUM_IMPL(virHookSubop, ...));
 * the static assertions keep table and enum the same length. */
static const char *const op_names[] = {
    "start", "stopped", "prepare", "release", "migrate",
    "started", "reconnect", "attach", "restore",
};
_Static_assert(VG_N_ELEMENTS(op_names) == VG_HOOK_OP_LAST, "one name per vg_hook_op");

static const char *const subop_names[] = { "-", "begin", "end" };
_Static_assert(VG_N_ELEMENTS(subop_names) == VG_HOOK_SUBOP_LAST, "one name per vg_hook_subop");

static int index_of(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

int vg_hook_op_from_name(const char *name)
{
    return index_of(op_names, VG_N_ELEMENTS(op_names), name);
}

const char *vg_hook_op_name(vg_hook_op op)
{
    if (op == VG_HOOK_OP_CHECK)
        return "check";
    return (unsigned)op < VG_N_ELEMENTS(op_names) ? op_names[op] : "?";
}

int vg_hook_subop_from_name(const char *name)
{
    return index_of(subop_names, VG_N_ELEMENTS(subop_names), name);
}

const char *vg_hook_subop_name(vg_hook_subop subop)
{
    return (unsigned)subop < VG_N_ELEMENTS(subop_names) ? subop_names[subop] : "?";
}
