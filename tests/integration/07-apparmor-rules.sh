#!/bin/bash
# Scenario 7: the hook -> helper path end to end with the real libvirtd.
# This kernel has no AppArmor LSM, so `apparmor = "on"` is the one explicit
# seam: everything up to the kernel load (which libvirt itself does on an
# AppArmor host) is real — the hook runs the installed helper at prepare and
# start, the helper resolves the backing chain from the qcow2 headers, has
# apparmor_parser compile the complete profile, and writes the rules into
# place; at release the rules are removed again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"

vg_setup_with_helper
vg_conf_set "$VG_CONF" apparmor '"on"'

vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
vg_define vg-rules "$VG_SHARED"
uuid=$(vg_virsh domuuid vg-rules | tr -d '[:space:]')
profile=$apparmordir/libvirt/libvirt-$uuid
rules=$profile.virtguard

vg_expect_start_ok vg-rules
[ -f "$rules" ] || vg_fail "no rules file '$rules' after the start"
vg_log "rules written by the hook's helper:"; sed 's/^/  | /' "$rules"
grep -qF "\"$VG_SHARED/overlay.qcow2\" rwk," "$rules" || vg_fail "no rwk rule for the overlay"
# The XML names no backing file: it came from the overlay's qcow2 header.
grep -qF "\"$VG_SHARED/base.qcow2\" rk," "$rules" || vg_fail "no rule for the backing file"
grep -qF "deny \"$VG_SHARED/base.qcow2\" w," "$rules" || vg_fail "backing file not write-denied"
grep -qF "\"$VG_SHARED/seed.iso\" rk," "$rules" || vg_fail "no read-only rule for the ISO"
[ "$(grep -c '^  [^#]' "$rules")" -eq 5 ] || vg_fail "rules grant more than the domain's 3 files"
grep -q "^  #include if exists <libvirt/libvirt-$uuid.virtguard>" "$profile" ||
    vg_fail "libvirt's profile file does not include the rules"
grep -q "^profile libvirt-$uuid flags=(attach_disconnected) {" "$profile" ||
    vg_fail "the profile is not libvirt's template (or not in enforce mode)"
: > "$profile.files"       # what virt-aa-helper would have written
apparmor_parser -Q -K --base "$apparmordir" -I "$apparmordir" "$profile" 2>"$VG_SCRATCH/aa.err" ||
    vg_fail "the domain's complete profile does not compile: $(cat "$VG_SCRATCH/aa.err")"
rm -f "$profile.files"
vg_expect_syslog vg-rules "allowed"

# A second domain on the same mount gets only its own files.
mkdir -p "$VG_SHARED/b"
vg_make_images "$VG_SHARED/b" "$VG_IMAGE_OWNER"
vg_define vg-rules-b "$VG_SHARED/b"
uuid_b=$(vg_virsh domuuid vg-rules-b | tr -d '[:space:]')
vg_expect_start_ok vg-rules-b
rules_b=$apparmordir/libvirt/libvirt-$uuid_b.virtguard
[ -f "$rules_b" ] || vg_fail "no rules for the second domain"
grep -qF "$VG_SHARED/b/overlay.qcow2" "$rules" && vg_fail "domain A's rules name B's overlay"
grep -qF "\"$VG_SHARED/overlay.qcow2\"" "$rules_b" && vg_fail "domain B's rules name A's overlay"

# Stop: release removes the rules; libvirt's profile file stays (as libvirt leaves it).
out=$(vg_virsh destroy vg-rules) || vg_fail "virsh destroy failed: $out"
vg_wait_until 5 "rules removed at release" test ! -e "$rules" || vg_fail "rules still there after release"
[ -f "$profile" ] || vg_fail "libvirt's profile file was removed"

# Dev mode: the same start puts the profile in complain mode.
vg_conf_set "$VG_CONF" mode '"dev"'
vg_expect_start_ok vg-rules
grep -q "^profile libvirt-$uuid flags=(attach_disconnected, complain) {" "$profile" ||
    vg_fail "dev mode did not put the profile in complain mode"
out=$(vg_virsh destroy vg-rules) || vg_fail "virsh destroy failed: $out"
# release took back virtguard's complain flag: the next start that virtguard
# skips must not run in complain mode.
vg_wait_until 5 "complain flag removed at release" \
    grep -q "^profile libvirt-$uuid flags=(attach_disconnected) {" "$profile" ||
    vg_fail "the complain flag stayed on the profile after release: $(grep '^profile' "$profile")"
vg_conf_set "$VG_CONF" mode '"enforce"'

# Undefine, then gc finds nothing of vg-rules left to keep.
out=$(vg_virsh undefine vg-rules) || vg_fail "virsh undefine failed: $out"
out=$(vg_virsh destroy vg-rules-b) || vg_fail "virsh destroy failed: $out"
out=$(vg_virsh undefine vg-rules-b) || vg_fail "virsh undefine failed: $out"
echo '# stale' > "$apparmordir/libvirt/libvirt-$uuid.virtguard"
touch -d '-1 hour' "$apparmordir/libvirt/libvirt-$uuid.virtguard"   # older than gc's grace period
"$sbindir/virtguard-helper" gc >/dev/null || vg_fail "gc failed"
[ ! -e "$apparmordir/libvirt/libvirt-$uuid.virtguard" ] || vg_fail "gc kept rules of an undefined domain"
vg_log "PASS"
