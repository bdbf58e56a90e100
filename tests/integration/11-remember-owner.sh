#!/bin/bash
# Scenario 9: the shared mount honours chown but cannot hold libvirt's
# remembered owners (bindfs --xattr-none: chown works as root, every xattr
# call fails with "Operation not supported", as on a root virtiofsd share
# without xattr support).  libvirt's relabel then cannot be undone: the
# start goes on (enforce mode) with one syslog warning naming the fix, and
# after a stop the real libvirtd has left the overlay root:root and the
# read-only layers QEMU's -- as the warning predicted.  With the label the
# warning proposes, the same files keep their owner across start and stop.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_require_cmd bindfs fusermount3 setfattr
vg_enter_ns "$@"
vg_setup

owner=1000:1000
qemu_uid=$(getent passwd libvirt-qemu | cut -d: -f3)
qemu_gid=$(getent group libvirt-qemu | cut -d: -f3)
[ -n "$qemu_uid" ] && [ -n "$qemu_gid" ] || vg_hard_error "no libvirt-qemu user or group"
qemu_ids=$qemu_uid:$qemu_gid      # qemu.conf's user and group (Debian's defaults)

src=$VG_SCRATCH/share
vg_make_images "$src" "$owner"
chown "$owner" "$src"
chmod 0755 "$src"
chmod 0600 "$src/overlay.qcow2"
bindfs --xattr-none "$src" "$VG_SHARED"
vg_wait_until 5 "the bindfs mount" vg_is_mounted "$VG_SHARED" || vg_hard_error "bindfs did not mount"
VG_FUSE_PIDS+=("$(pgrep -n -x bindfs || true):$VG_SHARED")
fstype=$(vg_fstype_of "$VG_SHARED")
vg_write_config enforce "$fstype"

# The stand-in really behaves as described: chown sticks, trusted xattrs fail.
touch "$VG_SHARED/probe" && chown libvirt-qemu:libvirt-qemu "$VG_SHARED/probe"
[ "$(stat -c %u:%g "$src/probe")" = "$qemu_ids" ] || vg_hard_error "chown on bindfs did not stick"
if setfattr -n trusted.libvirt.security.dac -v "+1000:+1000" "$VG_SHARED/probe" 2>/dev/null; then
    vg_hard_error "bindfs --xattr-none kept a trusted xattr: the scenario proves nothing"
fi
rm -f "$VG_SHARED/probe"

owners() {  # owner of overlay, base, seed.iso on the host side of the share
    stat -c %u:%g "$src/overlay.qcow2" "$src/base.qcow2" "$src/seed.iso" | tr '\n' ' ' | sed 's/ $//'
}
warnings() { vg_syslog_lines | grep -F "domain 'vg-rem'" | grep -c -F 'allowed with a warning' || true; }

vg_define vg-rem "$VG_SHARED"
# `virtguard check` shows the warning before any start (the persistent XML
# has no backing chain; the hook's `start` stage sees it).
check=$("$top_builddir/tools/virtguard" check --config "$VG_CONF" "$VG_SCRATCH/vg-rem.xml" 2>&1) ||
    vg_fail "virtguard check failed: $check"
vg_assert_contains "$check" "WARNING: libvirt will chown files on shared mount '$VG_SHARED'" "virtguard check"

vg_expect_start_ok vg-rem
vg_expect_syslog vg-rem "start: allowed with a warning"
line=$(vg_syslog_lines | grep -F "domain 'vg-rem'" | grep -F 'allowed with a warning')
vg_log "syslog: $line"
[ "$(warnings)" = 1 ] || vg_fail "expected one warning line for the start, got $(warnings)"
vg_syslog_lines | grep -F "domain 'vg-rem' prepare: allowed:" >/dev/null ||
    vg_fail "the prepare stage should log a plain 'allowed' line"
for p in "cannot give their owners back at stop" "Operation not supported" \
         "disk vda '$VG_SHARED/overlay.qcow2' (now $owner) will be owned by 0:0" \
         "backing vda '$VG_SHARED/base.qcow2' (now $owner) stays owned by $qemu_ids" \
         "cdrom hdc '$VG_SHARED/seed.iso' (now $owner) stays owned by $qemu_ids" \
         "<label>+1000:+$qemu_gid</label>"; do
    vg_assert_contains "$line" "$p" "the syslog warning"
done
out=$(vg_virsh destroy vg-rem) || vg_fail "virsh destroy failed: $out"
got=$(owners)
vg_log "owners after start/stop without the fix: $got"
[ "$got" = "0:0 $qemu_ids $qemu_ids" ] ||
    vg_fail "libvirt left overlay/base/seed as '$got', not what the warning said ('0:0 $qemu_ids $qemu_ids')"

# The files get their owner back (through the mount, so that FUSE's
# attribute cache cannot show stale owners); the fix from the warning itself.
chown "$owner" "$VG_SHARED/overlay.qcow2" "$VG_SHARED/base.qcow2" "$VG_SHARED/seed.iso"
[ "$(owners)" = "$owner $owner $owner" ] || vg_hard_error "cannot give the files back: $(owners)"
fix=$(printf '%s\n' "$line" | grep -o "<seclabel type='static' model='dac' relabel='no'><label>[^<]*</label></seclabel>" | head -n 1)
[ -n "$fix" ] || vg_fail "no seclabel fix in: $line"
vg_log "applying the proposed fix: $fix"
vg_add_to_domain vg-rem "$fix"
vg_expect_start_ok vg-rem
pid=$(vg_qemu_pid vg-rem)
ids=$(ps -o uid=,gid= -p "$pid" | tr -s ' ' | sed 's/^ //')
[ "$ids" = "1000 $qemu_gid" ] || vg_fail "QEMU runs as '$ids', expected '1000 $qemu_gid'"
[ "$(owners)" = "$owner $owner $owner" ] || vg_fail "files changed owner at start: $(owners)"
out=$(vg_virsh destroy vg-rem) || vg_fail "virsh destroy failed: $out"
[ "$(owners)" = "$owner $owner $owner" ] || vg_fail "files changed owner across start/stop: $(owners)"
vg_expect_syslog vg-rem "start: allowed: "
[ "$(warnings)" = 1 ] || vg_fail "the start with the fix warned again"
vg_log "with the fix the files kept $owner across start and stop"

# A share that refuses the attribute outright (bindfs --xattr-ro: reading
# gives "no such attribute", writing fails): libvirt itself fails the
# start with "Unable to set XATTR", as the warning says, and `virtguard
# explain` reads that error as this case.
vg_fuse_stop "$VG_SHARED" "${VG_FUSE_PIDS[0]%%:*}"
bindfs --xattr-ro "$src" "$VG_SHARED"
vg_wait_until 5 "the bindfs mount" vg_is_mounted "$VG_SHARED" || vg_hard_error "bindfs did not mount"
VG_FUSE_PIDS+=("$(pgrep -n -x bindfs || true):$VG_SHARED")
vg_define vg-rem2 "$VG_SHARED"
vg_start vg-rem2
[ "$VG_RC" != 0 ] || vg_fail "libvirt started vg-rem2 although the share refuses trusted xattrs"
vg_assert_contains "$VG_OUT" "Unable to set XATTR trusted.libvirt.security.dac on $VG_SHARED/overlay.qcow2" "the virsh error"
vg_expect_syslog vg-rem2 "start: allowed with a warning"
line2=$(vg_syslog_lines | grep -F "domain 'vg-rem2'" | grep -F 'allowed with a warning')
vg_assert_contains "$line2" "libvirt then fails the start with 'Unable to set XATTR ...'" "the syslog warning"
[ "$(owners)" = "$owner $owner $owner" ] || vg_fail "the failed start changed owners: $(owners)"
expl=$(printf '%s\n' "$VG_OUT" | "$top_builddir/tools/virtguard" explain --config "$VG_CONF" - 2>&1) || true
vg_assert_contains "$expl" "libvirt cannot record the owner of '$VG_SHARED/overlay.qcow2'" "virtguard explain"
vg_assert_contains "$expl" "relabel='no'><label>+1000:+$qemu_gid</label>" "virtguard explain"
vg_log "PASS"
