#!/bin/bash
# Scenario 8: path_map on "restore begin" / "migrate begin".  libvirt passes
# the domain XML on stdin and uses the hook's stdout as the new XML (empty
# output = unchanged).  The hook, installed as libvirtd runs it, with a config
# mapping the image writer's view (/Users/dev/images) to this host's share.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
vg_setup

vg_conf_set "$VG_CONF" path_map '[ "/Users/dev/images=/var/lib/libvirt/images" ]'
vg_domain_xml vg-mapped /Users/dev/images > "$VG_SCRATCH/mapped.xml"
vg_domain_xml vg-local "$VG_SHARED" > "$VG_SCRATCH/local.xml"

for op in restore migrate; do
    out=$("$VG_HOOK_DEST" vg-mapped "$op" begin - < "$VG_SCRATCH/mapped.xml") ||
        vg_fail "$op begin: the hook failed: $out"
    vg_assert_contains "$out" '<source file="/var/lib/libvirt/images/overlay.qcow2"/>' "$op begin output"
    vg_assert_contains "$out" '<source file="/var/lib/libvirt/images/seed.iso"/>' "$op begin output"
    case $out in *"/Users/dev/images"*) vg_fail "$op begin left a host path: $out" ;; esac
    case $out in "<domain"*) ;; *) vg_fail "$op begin output is not a domain XML: $out" ;; esac
    # nothing to map: no output, so libvirt keeps its XML
    out=$("$VG_HOOK_DEST" vg-local "$op" begin - < "$VG_SCRATCH/local.xml") ||
        vg_fail "$op begin (nothing mapped): the hook failed"
    [ -z "$out" ] || vg_fail "$op begin printed XML although nothing was mapped: $out"
done
# Other operations never print XML.
out=$("$VG_HOOK_DEST" vg-mapped stopped end - < "$VG_SCRATCH/mapped.xml") || vg_fail "stopped end failed"
[ -z "$out" ] || vg_fail "stopped end printed: $out"

# And the same rewrite through libvirt: a saved domain restored with the hook.
vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
vg_define vg-local "$VG_SHARED"
vg_expect_start_ok vg-local
out=$(vg_virsh save vg-local "$VG_SCRATCH/vg-local.save") || vg_fail "virsh save failed: $out"
out=$(vg_virsh restore "$VG_SCRATCH/vg-local.save") || vg_fail "virsh restore with the hook failed: $out"
vg_expect_state vg-local running
vg_expect_hook_called vg-local restore
out=$(vg_virsh destroy vg-local) || vg_fail "virsh destroy failed: $out"
vg_log "PASS"
