/* virtguard CLI: read-only libvirt queries (see audit-libvirt.h). */
#include <config.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "audit-libvirt.h"
#include "domain-paths.h"
#include "xmlsafe.h"

/* libvirt prints every error on stderr by default; we report our own. */
static void quiet(void *opaque, virErrorPtr e) { (void)opaque; (void)e; }

static int open_ro(const char *uri, virConnectPtr *conn, vg_error **err)
{
    virSetErrorFunc(NULL, quiet);
    *conn = virConnectOpenReadOnly(uri);
    if (!*conn) {
        virErrorPtr e = virGetLastError();
        return vg_error_set(err, ECONNREFUSED, "cannot connect to libvirt at '%s' (read-only): %s",
                            uri ? uri : "default URI", e && e->message ? e->message : "unknown error");
    }
    return 0;
}

/* Connect read-only, list the domains `flags` selects and call
 * visit(domain, opaque) on each; everything is freed and closed before it
 * returns.  0, or -errno with nothing visited. */
static int for_each_domain(const char *uri, unsigned flags,
                           void (*visit)(virDomainPtr dom, void *opaque), void *opaque,
                           vg_error **err)
{
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    int n, r;

    if ((r = open_ro(uri, &conn, err)) < 0)
        return r;
    if ((n = virConnectListAllDomains(conn, &doms, flags)) < 0) {
        virErrorPtr e = virGetLastError();
        r = vg_error_set(err, EIO, "cannot list libvirt's domains: %s",
                         e && e->message ? e->message : "unknown error");
        virConnectClose(conn);
        return r;
    }
    for (int i = 0; i < n; i++) {
        visit(doms[i], opaque);
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    return 0;
}

typedef struct running_list {
    vg_audit_domain *v;
    size_t n;
} running_list;

/* The list gives labels only (primary driver first, then DAC): tell the
 * models apart by the label's form. */
static const char *label_model(const char *label)
{
    if (strncmp(label, "libvirt-", 8) == 0 || strcmp(label, "unconfined") == 0)
        return "apparmor";
    if (label[0] == '+' || strchr(label, ':'))
        return "dac";
    return "unknown";
}

static void add_running(virDomainPtr dom, void *opaque)
{
    running_list *l = opaque;
    vg_audit_domain *d = VG_APPEND(l->v, l->n);
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);
    virSecurityLabelPtr labels = NULL;

    d->name = vg_xstrdup(name ? name : "?");
    if (virDomainGetUUIDString(dom, uuid) == 0)
        d->uuid = vg_xstrdup(uuid);
    d->id = (int)virDomainGetID(dom);
    char *xml = virDomainGetXMLDesc(dom, 0);
    if (xml) {
        d->xml = vg_xstrdup(xml);
        free(xml);
    }
    int nl = virDomainGetSecurityLabelList(dom, &labels);
    for (int k = 0; k < nl; k++) {
        vg_audit_seclabel *s = VG_APPEND(d->labels, d->n_labels);
        s->label = vg_xstrdup(labels[k].label);
        s->enforcing = labels[k].enforcing == 1;
        s->model = vg_xstrdup(label_model(labels[k].label));
    }
    free(labels);
}

int vg_libvirt_running(const char *uri, vg_audit_domain **out, size_t *n_out, vg_error **err)
{
    running_list l = { 0 };
    int r;

    *out = NULL;
    *n_out = 0;
    if ((r = for_each_domain(uri, VIR_CONNECT_LIST_DOMAINS_ACTIVE, add_running, &l, err)) < 0)
        return r;
    *out = l.v;
    *n_out = l.n;
    return 0;
}

typedef struct name_list {
    vg_name_entry *v;
    size_t n;
} name_list;

static void add_name(virDomainPtr dom, void *opaque)
{
    name_list *l = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *name = virDomainGetName(dom);

    if (name && virDomainGetUUIDString(dom, uuid) == 0) {
        vg_name_entry *e = VG_APPEND(l->v, l->n);
        e->uuid = vg_xstrdup(uuid);
        e->name = vg_xstrdup(name);
    }
}

int vg_libvirt_names(const char *uri, vg_name_entry **out, size_t *n_out, vg_error **err)
{
    name_list l = { 0 };
    int r;

    *out = NULL;
    *n_out = 0;
    if ((r = for_each_domain(uri, 0, add_name, &l, err)) < 0)
        return r;
    *out = l.v;
    *n_out = l.n;
    return 0;
}

/* ---- storage pools for `paths`, `check`, `profile` -------------------- */

int vg_libvirt_pool_lookup(const char *name, vg_pool **out, void *opaque, vg_error **err)
{
    vg_libvirt_pools *lp = opaque;
    virStoragePoolPtr pool;
    char *xml;
    int r;

    *out = NULL;
    if (!lp->conn && !lp->unavailable) {
        virConnectPtr conn = NULL;
        autoerror vg_error *cerr = NULL;
        if (open_ro(lp->uri, &conn, &cerr) < 0) {
            lp->unavailable = true;
            fprintf(stderr, "virtguard: %s; reading storage pools from libvirt's files "
                            "instead\n", cerr->msg);
        }
        lp->conn = conn;
    }
    if (lp->unavailable)
        return vg_pool_load_files(NULL, name, out, err);

    pool = virStoragePoolLookupByName(lp->conn, name);
    if (!pool) {
        virErrorPtr e = virGetLastError();
        return vg_error_set(err, ENOENT, "libvirt has no storage pool '%s' (%s)", name,
                            e && e->message ? e->message : "unknown error");
    }
    xml = virStoragePoolGetXMLDesc(pool, 0);
    virStoragePoolFree(pool);
    if (!xml) {
        virErrorPtr e = virGetLastError();
        return vg_error_set(err, EIO, "cannot read storage pool '%s' from libvirt: %s", name,
                            e && e->message ? e->message : "unknown error");
    }
    autofree char *where = vg_xasprintf("libvirt storage pool '%s'", name);
    r = vg_pool_parse(xml, strlen(xml), where, out, err);
    free(xml);
    return r;
}

void vg_libvirt_pools_close(vg_libvirt_pools *lp)
{
    if (lp->conn)
        virConnectClose(lp->conn);
    lp->conn = NULL;
}

/* ---- one domain's XML for `explain` ----------------------------------- */

int vg_libvirt_domain_xml(const char *uri, const char *uuid, char **xml, vg_error **err)
{
    virConnectPtr conn = NULL;
    virDomainPtr dom;
    char *x;
    int r;

    *xml = NULL;
    if ((r = open_ro(uri, &conn, err)) < 0)
        return r;
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (!dom) {
        virConnectClose(conn);
        return vg_error_set(err, ENOENT, "libvirt knows no domain with UUID '%s'", uuid);
    }
    x = virDomainGetXMLDesc(dom, 0);
    virDomainFree(dom);
    virConnectClose(conn);
    if (!x)
        return vg_error_set(err, EIO, "cannot read the XML of domain '%s' from libvirt", uuid);
    *xml = vg_xstrdup(x);
    free(x);
    return 0;
}
