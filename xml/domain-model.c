/* virtguard: the domain path model (see domain-model.h): adding entries,
 * names of its enums, its text and JSON forms, freeing it. */
#include <config.h>

#include "domain-model.h"
#include "json.h"

/* ---- adding entries ----------------------------------------------------- */

void vg_domain_path_copy(vg_domain_path *dst, const vg_domain_path *tmpl, const char *path)
{
    *dst = *tmpl;
    dst->path = vg_xstrdup(path);
    dst->device = vg_xstrdup(tmpl->device);
    dst->format = vg_xstrdup(tmpl->format);
}

void vg_domain_add_path(vg_domain *d, const vg_domain_path *tmpl, const char *path)
{
    vg_domain_path_copy(VG_APPEND(d->paths, d->n_paths), tmpl, path);
}

void vg_domain_add_unresolved(vg_domain *d, const char *where, const char *fmt, ...)
{
    va_list ap;
    vg_unresolved *u = VG_APPEND(d->unresolved, d->n_unresolved);
    u->where = vg_xstrdup(where);
    va_start(ap, fmt);
    u->reason = vg_xvasprintf(fmt, ap);
    va_end(ap);
}

const vg_seclabel *vg_domain_seclabel(const vg_domain *d, const char *model)
{
    for (size_t i = 0; d && i < d->n_seclabels; i++)
        if (vg_streq(d->seclabels[i].model, model))
            return &d->seclabels[i];
    return NULL;
}

const char *vg_role_name(vg_role r)
{
    switch (r) {
    case VG_ROLE_DISK: return "disk";
    case VG_ROLE_CDROM: return "cdrom";
    case VG_ROLE_FLOPPY: return "floppy";
    case VG_ROLE_BACKING: return "backing";
    case VG_ROLE_DISK_AUX: return "disk_aux";
    case VG_ROLE_LOADER: return "loader";
    case VG_ROLE_NVRAM: return "nvram";
    case VG_ROLE_KERNEL: return "kernel";
    case VG_ROLE_INITRD: return "initrd";
    case VG_ROLE_DTB: return "dtb";
    case VG_ROLE_ACPI: return "acpi";
    case VG_ROLE_FILESYSTEM: return "filesystem";
    case VG_ROLE_CHARDEV: return "chardev";
    case VG_ROLE_CHARDEV_LOG: return "chardev_log";
    case VG_ROLE_TPM: return "tpm";
    case VG_ROLE_NVDIMM: return "nvdimm";
    case VG_ROLE_MEMORY_BACKING: return "memory_backing";
    case VG_ROLE_EVDEV: return "evdev";
    case VG_ROLE_HOSTDEV: return "hostdev";
    case VG_ROLE_SHMEM: return "shmem";
    case VG_ROLE_OTHER: return "other";
    case VG_ROLE__COUNT: break;
    }
    return "?";
}

const char *vg_access_name(vg_access a)
{
    switch (a) {
    case VG_ACCESS_R: return "r";
    case VG_ACCESS_RW: return "rw";
    }
    return "?";
}

const char *vg_kind_name(vg_path_kind k)
{
    switch (k) {
    case VG_KIND_FILE: return "file";
    case VG_KIND_BLOCK: return "block";
    case VG_KIND_DIR: return "dir";
    case VG_KIND_SOCKET: return "socket";
    case VG_KIND_PIPE: return "pipe";
    case VG_KIND_DEVICE: return "device";
    }
    return "?";
}

void vg_domain_path_clear(vg_domain_path *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->device);
    free(p->format);
    memset(p, 0, sizeof(*p));
}

void vg_unresolved_clear(vg_unresolved *u)
{
    free(u->where);
    free(u->reason);
    free(u->pool);
    free(u->volume);
    vg_domain_path_clear(u->volume_spec);
    free(u->volume_spec);
    memset(u, 0, sizeof(*u));
}

void vg_domain_free(vg_domain *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->uuid);
    free(d->virt_type);
    for (size_t i = 0; i < d->n_seclabels; i++) {
        free(d->seclabels[i].model);
        free(d->seclabels[i].type);
        free(d->seclabels[i].label);
        free(d->seclabels[i].imagelabel);
    }
    free(d->seclabels);
    for (size_t i = 0; i < d->n_paths; i++)
        vg_domain_path_clear(&d->paths[i]);
    free(d->paths);
    for (size_t i = 0; i < d->n_unresolved; i++)
        vg_unresolved_clear(&d->unresolved[i]);
    free(d->unresolved);
    free(d);
}

/* ---- formatting ------------------------------------------------------- */

/* Text lines stay one line per path: control characters and backslash are
 * written as \ooo octal escapes (like /proc/self/mountinfo). */
static void text_escaped(vg_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            vg_buf_printf(b, "\\%03o", *p);
        else
            vg_buf_addc(b, (char)*p);
    }
}

char *vg_domain_paths_format(const vg_domain *d, bool json)
{
    vg_buf b = { 0 };

    if (!json) {
        for (size_t i = 0; i < d->n_paths; i++) {
            const vg_domain_path *p = &d->paths[i];
            vg_buf_printf(&b, "%s\t%s\t", vg_access_name(p->access), vg_role_name(p->role));
            text_escaped(&b, p->path);
            vg_buf_addc(&b, '\n');
        }
        return vg_buf_steal(&b);
    }

    vg_buf_addc(&b, '{');
    vg_json_key(&b, "domain", true);
    vg_json_string(&b, d->name);
    vg_json_key(&b, "uuid", false);
    vg_json_string(&b, d->uuid);
    vg_json_key(&b, "type", false);
    vg_json_string(&b, d->virt_type);
    vg_json_key(&b, "seclabels", false);
    vg_buf_addc(&b, '[');
    for (size_t i = 0; i < d->n_seclabels; i++) {
        const vg_seclabel *s = &d->seclabels[i];
        vg_buf_add(&b, i ? ",\n {" : "\n {");
        vg_json_key(&b, "model", true);
        vg_json_string(&b, s->model);
        vg_json_key(&b, "type", false);
        vg_json_string(&b, s->type);
        vg_json_member_bool(&b, "relabel", s->relabel);
        vg_json_key(&b, "label", false);
        vg_json_string(&b, s->label);
        vg_json_key(&b, "imagelabel", false);
        vg_json_string(&b, s->imagelabel);
        vg_buf_addc(&b, '}');
    }
    vg_buf_add(&b, d->n_seclabels ? "\n]," : "],");
    vg_json_key(&b, "paths", true);
    vg_buf_addc(&b, '[');
    for (size_t i = 0; i < d->n_paths; i++) {
        const vg_domain_path *p = &d->paths[i];
        vg_buf_add(&b, i ? ",\n {" : "\n {");
        vg_json_key(&b, "access", true);
        vg_json_string(&b, vg_access_name(p->access));
        vg_json_key(&b, "role", false);
        vg_json_string(&b, vg_role_name(p->role));
        vg_json_key(&b, "kind", false);
        vg_json_string(&b, vg_kind_name(p->kind));
        vg_json_key(&b, "path", false);
        vg_json_string(&b, p->path);
        vg_json_key(&b, "device", false);
        vg_json_string(&b, p->device);
        vg_json_key(&b, "format", false);
        vg_json_string(&b, p->format);
        vg_json_member_bool(&b, "readonly", p->readonly);
        vg_json_member_bool(&b, "shareable", p->shareable);
        vg_json_member_bool(&b, "relabel", p->relabel);
        vg_json_member_number(&b, "depth", p->depth);
        vg_buf_addc(&b, '}');
    }
    vg_buf_add(&b, d->n_paths ? "\n]," : "],");
    vg_json_key(&b, "unresolved", true);
    vg_buf_addc(&b, '[');
    for (size_t i = 0; i < d->n_unresolved; i++) {
        vg_buf_add(&b, i ? ",\n {" : "\n {");
        vg_json_key(&b, "where", true);
        vg_json_string(&b, d->unresolved[i].where);
        vg_json_key(&b, "reason", false);
        vg_json_string(&b, d->unresolved[i].reason);
        vg_buf_addc(&b, '}');
    }
    vg_buf_add(&b, d->n_unresolved ? "\n]}\n" : "]}\n");
    return vg_buf_steal(&b);
}

char *vg_domain_unresolved_format(const vg_domain *d)
{
    vg_buf b = { 0 };
    for (size_t i = 0; i < d->n_unresolved; i++)
        vg_buf_printf(&b, "virtguard: domain '%s': %s: not checked: %s\n",
                      d->name ? d->name : "?", d->unresolved[i].where,
                      d->unresolved[i].reason);
    return vg_buf_steal(&b);
}
