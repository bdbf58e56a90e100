#!/bin/bash
# Scenario 3: the shared mount ignores chown (bindfs --chown-ignore
# --chgrp-ignore reproduces 9p security_model=none) and the overlay is
# 0600 owned by uid 1000, so QEMU (libvirt-qemu) could never open it.  The
# start is refused with "cannot open" and a per-domain <seclabel> fix;
# adding exactly that seclabel makes the domain start, QEMU running as
# uid 1000.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_require_cmd bindfs fusermount3
vg_enter_ns "$@"
vg_setup

owner_uid=1000
qemu_gid=$(getent group libvirt-qemu | cut -d: -f3)
[ -n "$qemu_gid" ] || vg_hard_error "no libvirt-qemu group"

vg_bindfs_owned_by "$owner_uid"
fstype=$(vg_fstype_of "$VG_SHARED")
vg_log "bindfs shows up as file system type '$fstype'"
vg_write_config enforce "$fstype"

# The stand-in really behaves like 9p security_model=none.
chown libvirt-qemu:libvirt-qemu "$VG_SHARED/overlay.qcow2" ||
    vg_hard_error "chown on bindfs failed instead of being ignored"
[ "$(stat -c %u "$VG_SHARED/overlay.qcow2")" = "$owner_uid" ] ||
    vg_hard_error "chown on bindfs was not ignored"
if setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --clear-groups \
        dd if="$VG_SHARED/overlay.qcow2" of=/dev/null count=1 2>/dev/null; then
    vg_hard_error "libvirt-qemu can read the 0600 overlay: the scenario proves nothing"
fi

vg_define vg-dac "$VG_SHARED"
vg_expect_start_refused vg-dac "cannot open" "$VG_SHARED/overlay.qcow2" \
    "<seclabel type='static' model='dac' relabel='no'><label>+$owner_uid:+$qemu_gid</label></seclabel>"
vg_expect_syslog vg-dac refused

# Take the fix from the message itself, as a user would.
fix=$(printf '%s\n' "$VG_OUT" | grep -o "<seclabel type='static' model='dac' relabel='no'><label>[^<]*</label></seclabel>" | head -n 1)
[ -n "$fix" ] || vg_fail "no seclabel fix in: $VG_OUT"
vg_log "applying the proposed fix: $fix"
vg_add_to_domain vg-dac "$fix"

vg_expect_start_ok vg-dac
vg_expect_syslog vg-dac allowed
pid=$(vg_qemu_pid vg-dac)
[ -n "$pid" ] || vg_fail "no pid file for vg-dac's QEMU"
ids=$(ps -o uid=,gid= -p "$pid" | tr -s ' ' | sed 's/^ //')
[ "$ids" = "$owner_uid $qemu_gid" ] || vg_fail "QEMU runs as uid/gid '$ids', expected '$owner_uid $qemu_gid'"
vg_log "QEMU (pid $pid) runs as uid/gid $ids"

out=$(vg_virsh destroy vg-dac) || vg_fail "virsh destroy failed: $out"
vg_log "PASS"
