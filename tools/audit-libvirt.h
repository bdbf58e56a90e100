/* virtguard CLI: the libvirt side of `audit` and `explain`.  The only code
 * in virtguard that links libvirt, always over a read-only connection
 * (virConnectOpenReadOnly); the hook never calls libvirt. */
#pragma once

#include "audit.h"
#include "explain.h"
#include "storage-pool.h"

/* Running domains: name, UUID, id, live XML, security labels. */
int vg_libvirt_running(const char *uri, vg_audit_domain **out, size_t *n_out, vg_error **err);
/* UUID → name of every domain libvirt knows (running or defined). */
int vg_libvirt_names(const char *uri, vg_name_entry **out, size_t *n_out, vg_error **err);
/* (When no daemon answers: vg_libvirt_names_from_files, domain-files.h.) */

/* Storage pools over the read-only API, for vg_domain_resolve_volumes():
 * a vg_pool_lookup_fn whose opaque is a vg_libvirt_pools.  The connection
 * is opened at the first lookup; when no daemon answers, it says so once on
 * stderr and reads libvirt's pool files instead (vg_pool_load_files). */
typedef struct vg_libvirt_pools {
    const char *uri;            /* NULL: libvirt's default */
    void *conn;                 /* virConnectPtr, opened lazily */
    bool unavailable;
} vg_libvirt_pools;

/* The current XML of the domain with this UUID (read-only API), for explain
 * when libvirt's XML files cannot be read (not root). */
int vg_libvirt_domain_xml(const char *uri, const char *uuid, char **xml, vg_error **err);

int vg_libvirt_pool_lookup(const char *name, vg_pool **out, void *opaque, vg_error **err);
void vg_libvirt_pools_close(vg_libvirt_pools *lp);
