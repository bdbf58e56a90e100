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

static int list_domains(virConnectPtr conn, unsigned flags, virDomainPtr **doms, vg_error **err)
{
    int n = virConnectListAllDomains(conn, doms, flags);
    if (n < 0) {
        virErrorPtr e = virGetLastError();
        return vg_error_set(err, EIO, "cannot list libvirt's domains: %s",
                            e && e->message ? e->message : "unknown error");
    }
    return n;
}

/* Connect read-only and list the domains `flags` selects: the count, with
 * the connection and the list to free, or -errno with nothing open. */
static int open_and_list(const char *uri, unsigned flags, virConnectPtr *conn,
                         virDomainPtr **doms, vg_error **err)
{
    int r = open_ro(uri, conn, err);
    if (r < 0)
        return r;
    if ((r = list_domains(*conn, flags, doms, err)) < 0) {
        virConnectClose(*conn);
        *conn = NULL;
    }
    return r;
}

int vg_libvirt_running(const char *uri, vg_audit_domain **out, size_t *n_out, vg_error **err)
{
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    vg_audit_domain *v = NULL;
    size_t nv = 0;
    int n;

    *out = NULL;
    *n_out = 0;
    if ((n = open_and_list(uri, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &conn, &doms, err)) < 0)
        return n;
    for (int i = 0; i < n; i++) {
        vg_audit_domain *d = VG_APPEND(v, nv);
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *name = virDomainGetName(doms[i]);
        d->name = vg_xstrdup(name ? name : "?");
        if (virDomainGetUUIDString(doms[i], uuid) == 0)
            d->uuid = vg_xstrdup(uuid);
        d->id = (int)virDomainGetID(doms[i]);
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        if (xml) {
            d->xml = vg_xstrdup(xml);
            free(xml);
        }
        virSecurityLabelPtr labels = NULL;
        int nl = virDomainGetSecurityLabelList(doms[i], &labels);
        /* The list gives labels only (primary driver first, then DAC): tell
         * the models apart by the label's form. */
        for (int k = 0; k < nl; k++) {
            vg_audit_seclabel *s = VG_APPEND(d->labels, d->n_labels);
            s->label = vg_xstrdup(labels[k].label);
            s->enforcing = labels[k].enforcing == 1;
            if (strncmp(labels[k].label, "libvirt-", 8) == 0 || strcmp(labels[k].label, "unconfined") == 0)
                s->model = vg_xstrdup("apparmor");
            else if (labels[k].label[0] == '+' || strchr(labels[k].label, ':'))
                s->model = vg_xstrdup("dac");
            else
                s->model = vg_xstrdup("unknown");
        }
        free(labels);
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    *out = v;
    *n_out = nv;
    return 0;
}

int vg_libvirt_names(const char *uri, vg_name_entry **out, size_t *n_out, vg_error **err)
{
    virConnectPtr conn = NULL;
    virDomainPtr *doms = NULL;
    vg_name_entry *v = NULL;
    size_t nv = 0;
    int n;

    *out = NULL;
    *n_out = 0;
    if ((n = open_and_list(uri, 0, &conn, &doms, err)) < 0)
        return n;
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *name = virDomainGetName(doms[i]);
        if (name && virDomainGetUUIDString(doms[i], uuid) == 0) {
            vg_name_entry *e = VG_APPEND(v, nv);
            e->uuid = vg_xstrdup(uuid);
            e->name = vg_xstrdup(name);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(conn);
    *out = v;
    *n_out = nv;
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
