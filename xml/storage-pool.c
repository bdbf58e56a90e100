/* virtguard: libvirt storage pools read from libvirt's files (see
 * storage-pool.h).  Read in libvirt 9.0.0: storage_conf.c
 * virStoragePoolSaveState() (<poolstate> wrapper in the driver's state
 * dir), storage_driver.c (state dir RUNSTATEDIR/libvirt/storage, config
 * files NAME.xml), storage_backend_fs.c (a volume's path is
 * "TARGET/NAME"), domain_conf.c virDomainDiskTranslateSourcePool(). */
#include <config.h>

#include "storage-pool.h"
#include "xmlsafe.h"

#define POOL_MAX_BYTES (1u << 20)

const char *vg_pool_default_config_dir(void)
{
    return LIBVIRT_SYSCONFDIR "/libvirt/storage";
}

const char *vg_pool_default_state_dir(void)
{
    return LIBVIRT_RUN_DIR "/storage";
}

static bool is_el(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNode *child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is_el(c, name))
            return c;
    return NULL;
}

static char *text_of(const xmlNode *n)
{
    xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
    if (!v)
        return NULL;
    char *r = vg_xstrdup((const char *)v);
    xmlFree(v);
    return r;
}

static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

bool vg_pool_type_has_files(const char *type)
{
    return vg_streq(type, "dir") || vg_streq(type, "fs") || vg_streq(type, "netfs");
}

void vg_pool_free(vg_pool *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->type);
    free(p->target);
    free(p->source);
    free(p);
}

int vg_pool_parse(const char *text, size_t len, const char *name, vg_pool **out, vg_error **err)
{
    autoxmldoc xmlDoc *doc = NULL;
    autopool vg_pool *p = NULL;
    int r;

    *out = NULL;
    if ((r = vg_xml_parse(text, len, name, &doc, err)) < 0)
        return r;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (is_el(root, "poolstate"))
        root = child(root, "pool");
    if (!is_el(root, "pool"))
        return vg_error_set(err, EINVAL, "'%s' is not a libvirt storage pool definition "
                            "(no <pool> element)", name);
    p = vg_xcalloc(1, sizeof(*p));
    p->source = vg_xstrdup(name);
    p->name = text_of(child(root, "name"));
    xmlChar *type = xmlGetNoNsProp(root, BAD_CAST "type");
    if (type) {
        p->type = vg_xstrdup((const char *)type);
        xmlFree(type);
    }
    if (!p->name || !*p->name || !p->type || !*p->type)
        return vg_error_set(err, EINVAL, "the storage pool in '%s' has no name or no type", name);
    autofree char *target = text_of(child(child(root, "target"), "path"));
    /* Only a plain absolute target is kept: anything else leaves the
     * pool's volumes unresolved (vg_pool_volume_path says why). */
    if (target && target[0] == '/' && !has_control(target))
        p->target = vg_path_normalize(target);
    *out = steal_pointer(&p);
    return 0;
}

int vg_pool_volume_path(const vg_pool *pool, const char *volume, char **out, vg_error **err)
{
    *out = NULL;
    if (!vg_pool_type_has_files(pool->type))
        return vg_error_set(err, EINVAL, "storage pool '%s' is of type '%s', whose volumes "
                            "are not files in one directory", pool->name, pool->type);
    if (!pool->target)
        return vg_error_set(err, EINVAL, "storage pool '%s' ('%s') has no <target><path> "
                            "that is an absolute path without control characters",
                            pool->name, pool->source ? pool->source : "?");
    if (!*volume || strcmp(volume, ".") == 0 || strcmp(volume, "..") == 0 ||
        strchr(volume, '/') || has_control(volume))
        return vg_error_set(err, EINVAL, "'%s' is not a volume name of a %s pool (a file name: "
                            "no '/', not '.' or '..', no control characters)", volume,
                            pool->type);
    *out = strcmp(pool->target, "/") == 0 ? vg_xasprintf("/%s", volume)
                                          : vg_xasprintf("%s/%s", pool->target, volume);
    return 0;
}

static bool valid_pool_name(const char *name)
{
    return *name && name[0] != '.' && !strchr(name, '/') && !has_control(name);
}

static int load_one(const char *dir, const char *name, vg_pool **out, vg_error **err)
{
    autofree char *path = vg_xasprintf("%s/%s.xml", dir, name);
    autofree char *text = NULL;
    autopool vg_pool *p = NULL;
    size_t len;
    int r;

    if ((r = vg_read_file(path, POOL_MAX_BYTES, &text, &len)) < 0)
        return r == -ENOENT ? r
                            : vg_error_set_errno(err, -r, "cannot read storage pool file '%s'",
                                                 path);
    if ((r = vg_pool_parse(text, len, path, &p, err)) < 0)
        return r;
    if (strcmp(p->name, name) != 0)
        return vg_error_set(err, EINVAL, "'%s' defines another storage pool than '%s'", path,
                            name);
    *out = steal_pointer(&p);
    return 0;
}

int vg_pool_load_files(const vg_pool_dirs *dirs, const char *name, vg_pool **out, vg_error **err)
{
    const char *state = dirs && dirs->state_dir ? dirs->state_dir : vg_pool_default_state_dir();
    const char *conf = dirs && dirs->config_dir ? dirs->config_dir : vg_pool_default_config_dir();
    int r;

    *out = NULL;
    if (!valid_pool_name(name))
        return vg_error_set(err, EINVAL, "'%s' is not a storage pool name libvirt accepts", name);
    if ((r = load_one(state, name, out, err)) != -ENOENT)
        return r;
    if ((r = load_one(conf, name, out, err)) != -ENOENT)
        return r;
    return vg_error_set(err, ENOENT, "no storage pool '%s' is running or defined (looked for "
                        "'%s/%s.xml' and '%s/%s.xml')", name, state, name, conf, name);
}

static int lookup(const vg_pool_source *src, const char *name, vg_pool **out, vg_error **err)
{
    if (src && src->lookup)
        return src->lookup(name, out, src->opaque, err);
    return vg_pool_load_files(src ? &src->dirs : NULL, name, out, err);
}

size_t vg_domain_resolve_volumes(vg_domain *d, const vg_pool_source *src)
{
    size_t resolved = 0;

    /* Last first: inserting into paths[] leaves earlier indexes valid. */
    for (size_t k = d->n_unresolved; k > 0; k--) {
        vg_unresolved *u = &d->unresolved[k - 1];
        autopool vg_pool *pool = NULL;
        autoerror vg_error *err = NULL;
        autofree char *path = NULL;

        if (!u->pool || !u->volume || !u->volume_spec)
            continue;
        if (lookup(src, u->pool, &pool, &err) < 0 ||
            vg_pool_volume_path(pool, u->volume, &path, &err) < 0) {
            autofree char *reason = vg_xasprintf("type='volume' (pool '%s', volume '%s'): %s, so "
                                                 "virtguard leaves it to libvirt's storage driver",
                                                 u->pool, u->volume, err->msg);
            free(u->reason);
            u->reason = steal_pointer(&reason);
            continue;
        }

        size_t at = u->path_index <= d->n_paths ? u->path_index : d->n_paths;
        (void)VG_APPEND(d->paths, d->n_paths);
        memmove(&d->paths[at + 1], &d->paths[at], (d->n_paths - 1 - at) * sizeof(*d->paths));
        d->paths[at] = *u->volume_spec;
        d->paths[at].path = steal_pointer(&path);
        d->paths[at].xml_node = NULL;
        d->paths[at].xml_attr = NULL;
        free(u->volume_spec);
        u->volume_spec = NULL;      /* its strings now belong to paths[at] */
        vg_unresolved_clear(u);
        memmove(u, u + 1, (d->n_unresolved - k) * sizeof(*u));
        d->n_unresolved--;
        resolved++;
    }
    return resolved;
}
