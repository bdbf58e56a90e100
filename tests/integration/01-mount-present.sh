#!/bin/bash
# Scenario 1: the shared mount is there (tmpfs stands in for 9p) and holds a
# qcow2 overlay, its backing file and a cloud-init ISO: the domain starts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
vg_setup

vg_mount_shared_tmpfs
[ "$(vg_fstype_of "$VG_SHARED")" = tmpfs ] || vg_hard_error "shared mount is not tmpfs"
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
vg_define vg-present "$VG_SHARED"

vg_expect_start_ok vg-present
vg_expect_hook_called vg-present prepare
vg_expect_hook_called vg-present start
pid=$(vg_qemu_pid vg-present)
if [ -z "$pid" ] || ! kill -0 "$pid"; then vg_fail "no QEMU process for vg-present"; fi

out=$(vg_virsh destroy vg-present) || vg_fail "virsh destroy failed: $out"
out=$(vg_virsh undefine vg-present) || vg_fail "virsh undefine failed: $out"
vg_log "PASS"
