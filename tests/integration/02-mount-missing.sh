#!/bin/bash
# Scenario 2: the shared mount is gone and the directory under it holds the
# very same files (a "shadow" directory, as Lima's nofail leaves it when the
# 9p mount fails and something recreates the files locally).  Only the
# mount check can tell: the start is refused with "is not mounted", and the
# refusal leaves the files untouched (no chown by libvirt).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
vg_setup

vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
vg_define vg-missing "$VG_SHARED"
vg_umount_shared
# Owned by uid 1000 but open to everyone: DAC cannot be the reason for a
# refusal, and a chown by libvirt would show.
vg_make_images "$VG_SHARED" 1000:1000
chmod 0666 "$VG_SHARED/overlay.qcow2"
[ "$(vg_fstype_of /var/lib/libvirt)" = tmpfs ] || vg_hard_error "unexpected /var/lib/libvirt"
before=$(stat -c '%n %U:%G %a' "$VG_SHARED"/*)

vg_expect_start_refused vg-missing "is not mounted" "$VG_SHARED"
vg_expect_syslog vg-missing refused
after=$(stat -c '%n %U:%G %a' "$VG_SHARED"/*)
[ "$before" = "$after" ] || vg_fail "the refused start changed the files: before: $before; after: $after"
vg_log "PASS"
