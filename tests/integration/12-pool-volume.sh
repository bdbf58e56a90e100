#!/bin/bash
# Scenario 9: a domain whose disks are volumes of a libvirt `dir` storage
# pool on the shared mount (<disk type='volume'>, as terraform-provider-
# libvirt writes them) and which passes an Ignition file to QEMU through
# <qemu:commandline> (-fw_cfg name=opt/com.coreos/config,file=...).  The
# hook resolves the volumes from libvirt's pool state file (never calling
# libvirt) and treats them and the -fw_cfg file like file disks: the helper
# writes exactly their rules (the overlay's backing file from its qcow2
# header included, the Ignition file read-only; `apparmor = "on"`, the one
# seam on a kernel without the LSM, as in scenario 7); `virtguard paths`
# resolves the volumes over libvirt's read-only API; with the shared mount
# gone the start is refused.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"

: "${sbindir:?sbindir not set (make check sets it)}"
: "${localstatedir:?}" "${apparmordir:?}"
HELPER_BIN=$top_builddir/helper/virtguard-helper
CLI=$top_builddir/tools/virtguard
[ -x "$HELPER_BIN" ] && [ -x "$CLI" ] || vg_skip "helper or CLI not built"
command -v apparmor_parser >/dev/null || vg_skip "apparmor_parser not installed"

# Writable views of the helper's system directories (as in scenario 7).
VG_OVL=/mnt
mount -t tmpfs vg-ovl "$VG_OVL"
vg_overlay() {
    local dir=$1 base=$VG_OVL/ovl$(echo "$1" | tr / _)
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    if ! grep -q " $dir overlay " /proc/self/mountinfo; then
        mkdir -p "$base/u" "$base/w"
        mount -t overlay overlay -o "lowerdir=$dir,upperdir=$base/u,workdir=$base/w" "$dir"
    fi
    mkdir -p "$1"
}
vg_overlay "$sbindir"
vg_overlay "$apparmordir"
vg_overlay "$localstatedir/cache"
vg_setup
install -m 0755 "$HELPER_BIN" "$sbindir/virtguard-helper"
if [ "$apparmordir" != /etc/apparmor.d ]; then
    mkdir -p "$apparmordir" && cp -a /etc/apparmor.d/. "$apparmordir/"
fi
vg_conf_set "$VG_CONF" apparmor '"on"'

vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
out=$(vg_virsh pool-define-as shared dir --target "$VG_SHARED") || vg_fail "pool-define-as failed: $out"
out=$(vg_virsh pool-start shared) || vg_fail "pool-start failed: $out"
[ -f /run/libvirt/storage/shared.xml ] || vg_fail "libvirt wrote no pool state file"
vg_virsh vol-list shared | grep -q overlay.qcow2 || vg_fail "the pool does not list overlay.qcow2"

printf '{"ignition":{"version":"3.3.0"}}\n' >"$VG_SHARED/config.ign"
chown "$VG_IMAGE_OWNER" "$VG_SHARED/config.ign"
# The domain of scenario 7 with both disks as volumes of the pool, and the
# Ignition file for QEMU's fw_cfg.
vg_domain_xml vg-vol "$VG_SHARED" "  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
    <qemu:arg value='-fw_cfg'/>
    <qemu:arg value='name=opt/com.coreos/config,file=$VG_SHARED/config.ign'/>
  </qemu:commandline>" |
    sed -e "s|<disk type='file' device='disk'>|<disk type='volume' device='disk'>|" \
        -e "s|<disk type='file' device='cdrom'>|<disk type='volume' device='cdrom'>|" \
        -e "s|<source file='$VG_SHARED/\([^']*\)'/>|<source pool='shared' volume='\1'/>|" \
        >"$VG_SCRATCH/vg-vol.xml"
grep -q "volume='overlay.qcow2'" "$VG_SCRATCH/vg-vol.xml" || vg_hard_error "no volume disk in the XML"
out=$(vg_virsh define "$VG_SCRATCH/vg-vol.xml") || vg_fail "virsh define failed: $out"
uuid=$(vg_virsh domuuid vg-vol | tr -d '[:space:]')
rules=$apparmordir/libvirt/libvirt-$uuid.virtguard

# The CLI asks libvirt (read-only API) where the volumes are.
paths=$("$CLI" paths --connect "$VG_URI" "$VG_SCRATCH/vg-vol.xml" 2>"$VG_SCRATCH/paths.err") ||
    vg_fail "virtguard paths failed: $(cat "$VG_SCRATCH/paths.err")"
vg_log "virtguard paths:"; printf '%s\n' "$paths" | sed 's/^/  | /'
vg_assert_contains "$paths" "$(printf 'rw\tdisk\t%s/overlay.qcow2' "$VG_SHARED")" "virtguard paths"
vg_assert_contains "$paths" "$(printf 'r\tcdrom\t%s/seed.iso' "$VG_SHARED")" "virtguard paths"
vg_assert_contains "$paths" "$(printf 'r\tother\t%s/config.ign' "$VG_SHARED")" "virtguard paths"
! grep -q "not checked" "$VG_SCRATCH/paths.err" || vg_fail "volumes left unchecked: $(cat "$VG_SCRATCH/paths.err")"

vg_expect_start_ok vg-vol
vg_expect_syslog vg-vol "allowed: 3 shared path(s)"
grep -q 'opt/com.coreos/config,file=' "/var/log/libvirt/qemu/vg-vol.log" ||
    vg_fail "QEMU was not started with the -fw_cfg argument"
[ -f "$rules" ] || vg_fail "no rules file '$rules' after the start"
vg_log "rules written for the pool volumes:"; sed 's/^/  | /' "$rules"
grep -qF "\"$VG_SHARED/overlay.qcow2\" rwk," "$rules" || vg_fail "no rwk rule for the overlay volume"
grep -qF "\"$VG_SHARED/base.qcow2\" rk," "$rules" || vg_fail "no rule for the volume's backing file"
grep -qF "deny \"$VG_SHARED/base.qcow2\" w," "$rules" || vg_fail "backing file not write-denied"
grep -qF "\"$VG_SHARED/seed.iso\" rk," "$rules" || vg_fail "no read-only rule for the ISO volume"
grep -qF "\"$VG_SHARED/config.ign\" r," "$rules" || vg_fail "no read-only rule for the -fw_cfg file"
[ "$(grep -c '^  [^#]' "$rules")" -eq 6 ] || vg_fail "rules grant more than the domain's 4 files"
out=$(vg_virsh destroy vg-vol) || vg_fail "virsh destroy failed: $out"
vg_wait_until 5 "rules removed at release" test ! -e "$rules" || vg_fail "rules still there after release"

# The shared mount is gone; the pool is still running (its state file
# names the empty directory left behind): refused, nothing written.
vg_umount_shared
# (only its volumes and -fw_cfg file lie on the share: without them the
# hook would let it start)
vg_expect_start_refused vg-vol "is not mounted" "shared mount '$VG_SHARED'"
vg_expect_syslog vg-vol refused
[ ! -e "$rules" ] || vg_fail "rules were written for a refused start"
vg_log "PASS"
