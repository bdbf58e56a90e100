#!/bin/bash
# Scenario 6: a domain with no file on the shared mount starts normally even
# though the shared mount is missing (virtguard has nothing to check).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
vg_setup

local_dir=/var/lib/libvirt/local-images
vg_is_mounted "$VG_SHARED" && vg_hard_error "$VG_SHARED is mounted"
vg_make_images "$local_dir" "$VG_IMAGE_OWNER"
vg_define vg-local "$local_dir"

vg_expect_start_ok vg-local
vg_expect_hook_called vg-local prepare
out=$(vg_virsh destroy vg-local) || vg_fail "virsh destroy failed: $out"
vg_log "PASS"
