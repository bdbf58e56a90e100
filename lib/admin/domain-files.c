/* virtguard: the files each libvirt domain uses (see domain-files.h). */
#include <config.h>

#include "domain-files.h"

void vg_domain_files_of(vg_domain *dom, const vg_pool_source *pools, vg_domain_files *out)
{
    memset(out, 0, sizeof(*out));
    vg_domain_resolve_volumes(dom, pools);
    out->name = dom->name ? vg_xstrdup(dom->name) : NULL;
    out->uuid = dom->uuid ? vg_xstrdup(dom->uuid) : NULL;
    out->paths = vg_xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < dom->n_paths; i++) {
        const vg_domain_path *p = &dom->paths[i];
        char *norm = p->path[0] == '/' ? vg_path_normalize(p->path) : NULL;
        if (!norm)
            continue;
        if (vg_strv_contains(out->paths, norm))
            free(norm);
        else
            vg_strv_push(&out->paths, norm);
        /* a qcow2 top layer with no <backingStore> listed after it */
        bool listed = i + 1 < dom->n_paths && dom->paths[i + 1].role == VG_ROLE_BACKING;
        if (!out->chainless_disk && p->depth == 0 && p->role != VG_ROLE_BACKING &&
            vg_streq(p->format, "qcow2") && !listed)
            out->chainless_disk = vg_xstrdup(p->path);
    }
}

typedef struct loader {
    const vg_pool_source *pools;
    vg_domain_files *v;
    size_t n;
} loader;

static void add_domain(const vg_domain *dom, const char *path, void *opaque)
{
    loader *l = opaque;
    if (!dom->uuid || vg_domain_files_find(l->v, l->n, dom->uuid))
        return;     /* the run dir is read first: a running domain's status wins */
    vg_domain_files *f = VG_APPEND(l->v, l->n);
    /* vg_domains_in_dir frees the domain after this call: resolving its
     * volumes in place changes nothing anyone else sees */
    vg_domain_files_of((vg_domain *)dom, l->pools, f);
    f->source = vg_xstrdup(path);
}

void vg_domain_files_load(const char *conf_dir, const char *run_dir, const vg_pool_source *pools,
                          vg_domain_files **out, size_t *n_out)
{
    loader l = { .pools = pools };
    (void)vg_domains_in_dir(run_dir, add_domain, &l, NULL);   /* unreadable files: not listed */
    (void)vg_domains_in_dir(conf_dir, add_domain, &l, NULL);
    *out = l.v ? l.v : vg_xcalloc(1, sizeof(*l.v));
    *n_out = l.n;
}

const vg_domain_files *vg_domain_files_find(const vg_domain_files *v, size_t n, const char *uuid)
{
    for (size_t i = 0; uuid && i < n; i++)
        if (v[i].uuid && strcasecmp(v[i].uuid, uuid) == 0)
            return &v[i];
    return NULL;
}

bool vg_domain_files_has(const vg_domain_files *d, const char *path)
{
    autofree char *norm = path ? vg_path_normalize(path) : NULL;
    return d && norm && vg_strv_contains(d->paths, norm);
}

void vg_domain_files_free(vg_domain_files *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].uuid);
        free(v[i].source);
        vg_strv_free(v[i].paths);
        free(v[i].chainless_disk);
    }
    free(v);
}

typedef struct name_list {
    vg_name_entry **v;
    size_t *n;
} name_list;

static void add_name(const vg_domain *dom, const char *path, void *opaque)
{
    name_list *l = opaque;
    (void)path;
    if (!dom->uuid || !dom->name)
        return;
    for (size_t i = 0; i < *l->n; i++)
        if (strcasecmp((*l->v)[i].uuid, dom->uuid) == 0)
            return;
    vg_name_entry *e = VG_APPEND(*l->v, *l->n);
    e->uuid = vg_xstrdup(dom->uuid);
    e->name = vg_xstrdup(dom->name);
}

static void names_from_dir(const char *dir, vg_name_entry **v, size_t *n)
{
    name_list l = { .v = v, .n = n };
    (void)vg_domains_in_dir(dir, add_name, &l, NULL);  /* names only label reports */
}

void vg_libvirt_names_from_files(const char *conf_dir, const char *run_dir,
                                 vg_name_entry **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    names_from_dir(run_dir, out, n_out);
    names_from_dir(conf_dir, out, n_out);
}

void vg_name_entries_free(vg_name_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].uuid);
        free(v[i].name);
    }
    free(v);
}
