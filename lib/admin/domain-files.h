/* virtguard: which files each libvirt domain uses, and its name, from
 * libvirt's own XML files (no call to libvirt, no image read): the status
 * files of running domains (LIBVIRT_RUN_DIR/qemu/NAME.xml, whose disks
 * carry the backing chains libvirt found at start) and the persistent
 * definitions (LIBVIRT_SYSCONFDIR/libvirt/qemu/NAME.xml).  `virtguard explain` uses
 * it to tell a denial that confinement intends (domain A reaching for
 * domain B's overlay) from a rule that is missing. */
#pragma once

#include "domain-paths.h"
#include "storage-pool.h"

typedef struct vg_domain_files {
    char *name;
    char *uuid;
    char *source;           /* the XML file */
    char **paths;           /* normalised host paths, backing chains as libvirt listed them */
    char *chainless_disk;   /* a qcow2 disk whose backing chain the XML does not list
                               (a definition of a domain that is not running); NULL if none */
} vg_domain_files;

/* The files of one parsed domain (volumes resolved through `pools`, NULL:
 * libvirt's pool files). */
void vg_domain_files_of(vg_domain *dom, const vg_pool_source *pools, vg_domain_files *out);

/* Every domain in `run_dir` and `conf_dir` (a domain in both: the running
 * one's status file).  Missing directories have none; *out is never NULL
 * (an empty array when there are none). */
void vg_domain_files_load(const char *conf_dir, const char *run_dir, const vg_pool_source *pools,
                          vg_domain_files **out, size_t *n_out);

/* The entry for `uuid` (case-insensitive), or NULL. */
const vg_domain_files *vg_domain_files_find(const vg_domain_files *v, size_t n, const char *uuid);
/* Does `d` use `path` (compared normalised)? */
bool vg_domain_files_has(const vg_domain_files *d, const char *path);

void vg_domain_files_free(vg_domain_files *v, size_t n);

typedef struct vg_name_entry {
    char *uuid;
    char *name;
} vg_name_entry;

/* UUID → name of every domain in libvirt's XML files, for when no daemon
 * answers: status files of running domains (`run_dir`) and persistent
 * configs (`conf_dir`).  Missing directories have none. */
void vg_libvirt_names_from_files(const char *conf_dir, const char *run_dir,
                                 vg_name_entry **out, size_t *n_out);
void vg_name_entries_free(vg_name_entry *v, size_t n);
