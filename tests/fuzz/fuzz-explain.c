/* libFuzzer target: the log-line parser of `virtguard explain`
 * (lib/admin/explain.c: kernel AppArmor audit records, libvirt and QEMU errors)
 * and the judgement on top of it, with fixed facts and no I/O.
 * Oracles: parsing never fails, never finds more events than lines, and
 * a judged list formats as text and JSON. */
#include <config.h>

#include <stdint.h>

#include "explain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vg_config *cfg;
    autoexplainlog vg_explain_log *log = NULL;

    if (!cfg) {
        static const char text[] = "shared_mounts = [ \"/var/lib/libvirt/images\" ]\n";
        if (vg_config_parse(text, sizeof(text) - 1, "fuzz.conf", &cfg, NULL) < 0)
            abort();
    }
    log = vg_explain_parse((const char *)data, size);
    if (!log || log->n > log->n_lines)
        abort();
    autostrv char **paths = vg_explain_paths(log);
    if (!paths)
        abort();
    for (size_t i = 0; i < log->n; i++) {
        if (log->v[i].profile)
            free(vg_profile_uuid(log->v[i].profile));
        if (log->v[i].denied_mask)
            free(vg_aa_perms_from_mask(log->v[i].denied_mask));
    }
    autofree char *record = vg_xstrndup((const char *)data, size);
    free(vg_audit_field(record, "name"));
    free(vg_audit_field(record, "profile"));

    static const vg_name_entry names[] = {
        { (char *)"6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f", (char *)"sbx-1" },
    };
    vg_explain_facts facts = {
        .cfg = cfg, .config_path = "fuzz.conf", .names = names, .n_names = 1,
    };
    vg_checklist *list = vg_explain_judge(log, &facts);
    if (!list)
        abort();
    free(vg_checklist_format(list, false));
    free(vg_checklist_json(list));
    vg_checklist_free(list);
    return 0;
}
