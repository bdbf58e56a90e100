#!/bin/bash
# virtguard doctor / audit / explain against a real libvirtd, in the private
# namespaces of tests/integration/lib.sh (the host's libvirt is untouched).
#  1. doctor: the hook was installed before libvirtd started (PASS), the
#     shared mount answers (PASS), AppArmor's absence is a WARN, exit 0;
#     a hook newer than the daemon is a FAIL with "kill -HUP <pid>";
#     the shared mount gone is a FAIL.
#  2. audit: the running domain is found through the read-only API and in
#     /proc, with its QEMU uid and label; unconfined is a FAIL in enforce
#     mode; a QEMU started behind libvirt's back is found too.
#  3. explain: a real `virsh start` error and DENIED lines naming the
#     domain's profile are explained (domain name from the API): for one of
#     its files (the backing file, listed in libvirt's status file) the
#     rule; for a file it does not use "intended", and no rule.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
# doctor checks the hooks dir this build installs into; libvirtd reads
# /etc/libvirt/hooks.  A build for another prefix is rightly reported as
# not installed, so there is no healthy setup to compare against.
case ${libvirthooksdir:-/etc/libvirt/hooks} in
    /etc/libvirt/hooks) ;;
    *) vg_skip "this build's hooks dir is '$libvirthooksdir', not libvirt's /etc/libvirt/hooks (configure --sysconfdir=/etc)" ;;
esac
vg_enter_ns "$@"
vg_setup

VG=${top_builddir}/tools/virtguard
[ -x "$VG" ] || vg_hard_error "no CLI at '$VG' (run make first)"
vg_cli() { "$VG" "$@" --config "$VG_CONF"; }

vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED/sbx-1" "$VG_IMAGE_OWNER"
vg_define sbx-1 "$VG_SHARED/sbx-1"

# --- doctor on a healthy setup ------------------------------------------
rc=0; out=$(vg_cli doctor) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 0 ] || vg_fail "doctor exited $rc on a healthy setup"
vg_assert_contains "$out" "started after the hook was installed" "doctor"
vg_assert_contains "$out" "'/var/lib/libvirt/images' is mounted (tmpfs" "doctor"
vg_assert_contains "$out" "AppArmor is not enabled in this kernel" "doctor"
case $out in *$'\033'*) vg_fail "doctor used colour on a pipe" ;; esac
json=$(vg_cli doctor --json) || vg_fail "doctor --json failed"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["command"]=="doctor" and d["exit"]==0, d' \
    <<<"$json" || vg_fail "doctor --json is not the expected JSON: $json"

# --- audit with a running domain ----------------------------------------
vg_expect_start_ok sbx-1
uuid=$(vg_virsh domuuid sbx-1 | head -n1)
pid=$(vg_qemu_pid sbx-1)
rc=0; out=$(vg_cli audit) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 1 ] || vg_fail "audit exited $rc; an unconfined guest in enforce mode is a failure"
vg_assert_contains "$out" "domain 'sbx-1': pid $pid, uid 64055 gid 64055, AppArmor unconfined" "audit"
vg_assert_contains "$out" "AppArmor is not enabled in this kernel" "audit"
json=$(vg_cli audit --json || true)
python3 -c '
import json, sys
d = json.load(sys.stdin)
doms = [c for c in d["checks"] if c.get("domain") == "sbx-1"]
assert doms and doms[0]["uuid"] == sys.argv[1] and doms[0]["mode"] == "unconfined", doms
' "$uuid" <<<"$json" || vg_fail "audit --json: $json"

# a QEMU libvirt knows nothing about
stray_uuid=11111111-2222-3333-4444-555555555555
qemu-system-x86_64 -machine none -S -display none -nodefaults -name guest=stray \
    -uuid "$stray_uuid" </dev/null >/dev/null 2>&1 &
stray=$!
vg_wait_until 5 "the stray QEMU" test -e "/proc/$stray/cmdline"
sleep 0.3
out=$(vg_cli audit || true)
kill "$stray" 2>/dev/null || true
wait "$stray" 2>/dev/null || true
vg_assert_contains "$out" "QEMU pid $stray (guest 'stray', UUID $stray_uuid) is not a running libvirt domain" "audit"

# --- explain: DENIED lines for this domain, and a real start error -------
denied() { echo "[   12.3] audit: type=1400 audit(1700000000.123:45): apparmor=\"DENIED\" operation=\"open\" profile=\"libvirt-$uuid\" name=\"$1\" pid=$pid comm=\"qemu-system-x86\" requested_mask=\"r\" denied_mask=\"r\" fsuid=64055 ouid=1000"; }
rc=0; out=$(denied "$VG_SHARED/sbx-1/base.qcow2" | vg_cli explain) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 1 ] || vg_fail "explain exited $rc for a DENIED line of the domain's own backing file"
vg_assert_contains "$out" "domain 'sbx-1': AppArmor denied QEMU 'r' access to '$VG_SHARED/sbx-1/base.qcow2'" "explain"
vg_assert_contains "$out" "\"$VG_SHARED/sbx-1/base.qcow2\" r," "explain"
rc=0; out=$(denied /srv/other/base.img | vg_cli explain) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 0 ] || vg_fail "explain exited $rc for an intended denial"
vg_assert_contains "$out" "access to '/srv/other/base.img': intended, it is not one of this domain's files" "explain"
case $out in *'"/srv/other/base.img" r,'*) vg_fail "explain proposed a rule for a file the domain does not use" ;; esac
out=$(vg_virsh destroy sbx-1) || vg_fail "virsh destroy failed: $out"

# dev mode so the hook lets the start reach libvirt's own storage check
vg_write_config dev tmpfs
rm -f "$VG_SHARED/sbx-1/seed.iso"
vg_start sbx-1
[ "$VG_RC" != 0 ] || vg_fail "sbx-1 started without its seed.iso"
rc=0; out=$(printf '%s\n' "$VG_OUT" | vg_cli explain) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 1 ] || vg_fail "explain exited $rc for a failed start"
vg_assert_contains "$out" "'$VG_SHARED/sbx-1/seed.iso' does not exist" "explain"
vg_assert_contains "$out" "unknown 0" "explain"

# --- doctor: dev mode, hook newer than the daemon, mount gone -----------
touch -d '+1 minute' "$VG_HOOK_DEST"
vg_umount_shared
rc=0; out=$(vg_cli doctor) || rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
[ "$rc" = 1 ] || vg_fail "doctor exited $rc with problems"
libvirtd_pid=$(cat /run/libvirt/libvirtd.pid)
vg_assert_contains "$out" "has not seen the hook" "doctor"
vg_assert_contains "$out" "kill -HUP $libvirtd_pid" "doctor"
vg_assert_contains "$out" "'/var/lib/libvirt/images' is not mounted" "doctor"
vg_assert_contains "$out" "dev mode is ON" "doctor"

# could not run: exit 2
rc=0; "$VG" explain /nonexistent/log >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || vg_fail "explain of a missing file exited $rc, expected 2"
rc=0; "$VG" audit --config "$VG_CONF" --connect qemu+unix:///system?socket=/nonexistent >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || vg_fail "audit without a daemon exited $rc, expected 2"
vg_log "PASS"
