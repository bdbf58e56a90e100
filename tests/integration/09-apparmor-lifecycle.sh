#!/bin/bash
# Scenario 9: AppArmor lifecycle around the hook -> helper path, with the
# real libvirtd and the installed helper (`apparmor = "on"`, as in 07).
#  a. Starts virtguard does not manage take back what an earlier start left:
#     a dev-mode complain flag and rules file left in the profile are gone
#     after a start with apparmor = "off", and after a start of a domain that
#     moved off the share; with nothing of ours left, no helper runs.
#  b. Disks only under apparmor_extra_roots: the hook writes rules for them,
#     the same rules `virtguard profile` shows, and `virtguard check` says so.
#  c. A helper stuck on a hung mount (hangfs under apparmor_extra_roots: no
#     mount probe guards it) does not hold libvirtd's start: the hook gives up
#     after its bound and the start is refused.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
VG_PROBE_TIMEOUT_MS=1000
vg_setup_with_helper
CLI=$top_builddir/tools/virtguard
HELPER=$sbindir/virtguard-helper
EXTRA=/var/lib/libvirt/extra

conf() { # MODE APPARMOR SHARED EXTRA
    cat >"$VG_CONF" <<EOC
mode = "$1"
apparmor = "$2"
shared_mounts = [ $3 ]
apparmor_extra_roots = [ $4 ]
shared_fs_types = [ "tmpfs" ]
probe_timeout_ms = $VG_PROBE_TIMEOUT_MS
qemu_conf = "/etc/libvirt/qemu.conf"
EOC
}

# --- b. disks only under apparmor_extra_roots
conf enforce on "\"$VG_SHARED\"" "\"$EXTRA\""
vg_make_images "$EXTRA" "$VG_IMAGE_OWNER"
vg_define vg-extra "$EXTRA"
uuid=$(vg_virsh domuuid vg-extra | tr -d '[:space:]')
profile=$apparmordir/libvirt/libvirt-$uuid
rules=$profile.virtguard
xml=$VG_SCRATCH/vg-extra.dumped.xml
vg_virsh dumpxml --inactive vg-extra >"$xml" || vg_fail "virsh dumpxml failed: $(cat "$xml")"
out=$("$CLI" check --config "$VG_CONF" "$xml" 2>&1) || vg_fail "virtguard check failed: $out"
vg_assert_contains "$out" "2 path(s) under apparmor_extra_roots" "virtguard check"
"$CLI" profile --config "$VG_CONF" "$xml" >"$VG_SCRATCH/profile.out" 2>"$VG_SCRATCH/profile.err" ||
    vg_fail "virtguard profile failed: $(cat "$VG_SCRATCH/profile.err")"
grep -qF "\"$EXTRA/overlay.qcow2\" rwk," "$VG_SCRATCH/profile.out" || vg_fail "virtguard profile shows no overlay rule"
vg_expect_start_ok vg-extra
[ -f "$rules" ] || vg_fail "the hook wrote no rules for a domain under apparmor_extra_roots"
# The same rules; only comments may differ (at start libvirt's XML carries
# the <backingStore> the inactive definition does not have).
grep -v '^ *#' "$rules" >"$VG_SCRATCH/hook.rules"
grep -v '^ *#' "$VG_SCRATCH/profile.out" >"$VG_SCRATCH/profile.rules"
[ -s "$VG_SCRATCH/hook.rules" ] || vg_fail "the hook's rules file has no rule"
cmp -s "$VG_SCRATCH/hook.rules" "$VG_SCRATCH/profile.rules" ||
    vg_fail "the hook's rules differ from 'virtguard profile': $(diff "$VG_SCRATCH/profile.rules" "$VG_SCRATCH/hook.rules")"
vg_expect_syslog vg-extra "2 path(s) under apparmor_extra_roots"
out=$(vg_virsh destroy vg-extra) || vg_fail "virsh destroy failed: $out"
vg_wait_until 5 "rules removed at release" test ! -e "$rules" || vg_fail "rules still there after release"
# A domain in no root at all: check and profile both say the hook leaves it alone.
conf enforce on "\"$VG_SHARED\"" ""
out=$("$CLI" profile --config "$VG_CONF" "$xml" 2>&1) || vg_fail "virtguard profile failed: $out"
vg_assert_contains "$out" "writes no AppArmor rules for it" "virtguard profile (domain in no root)"
out=$("$CLI" check --config "$VG_CONF" "$xml" 2>&1) || vg_fail "virtguard check failed: $out"
vg_assert_contains "$out" "writes no AppArmor rules for it" "virtguard check (domain in no root)"

# --- a. starts virtguard skips take back what an earlier start left
leave_dev_state() { # what a dev-mode start whose release never came leaves
    conf dev on "\"$VG_SHARED\"" "\"$EXTRA\""
    vg_virsh dumpxml vg-extra | "$HELPER" load --uuid "$uuid" >/dev/null ||
        vg_fail "the helper could not load the domain's rules"
    grep -q "^profile libvirt-$uuid flags=(attach_disconnected, complain) {" "$profile" ||
        vg_fail "setup: no complain flag"
    [ -f "$rules" ] || vg_fail "setup: no rules file"
}
expect_clean() { # WHY
    grep -q "^profile libvirt-$uuid flags=(attach_disconnected) {" "$profile" ||
        vg_fail "$1: the profile kept virtguard's complain flag: $(grep '^profile' "$profile")"
    [ ! -e "$rules" ] || vg_fail "$1: the rules file of an earlier start is still there"
}
leave_dev_state
conf enforce off "\"$VG_SHARED\"" "\"$EXTRA\""
vg_expect_start_ok vg-extra
expect_clean 'apparmor = "off"'
vg_expect_syslog vg-extra "taken back"
out=$(vg_virsh destroy vg-extra) || vg_fail "virsh destroy failed: $out"

leave_dev_state
conf enforce on "\"$VG_SHARED\"" ""    # the domain's disks are in no root any more
vg_expect_start_ok vg-extra
expect_clean "a domain off the share"
out=$(vg_virsh destroy vg-extra) || vg_fail "virsh destroy failed: $out"
# Nothing of ours left: the next skipped start runs no helper (the profile
# file is not even rewritten).
before=$(stat -c %i.%Y "$profile")
n_before=$(vg_syslog_lines | grep -c "taken back" || true)
vg_expect_start_ok vg-extra
[ "$(stat -c %i.%Y "$profile")" = "$before" ] || vg_fail "a start with nothing to take back rewrote the profile"
[ "$(vg_syslog_lines | grep -c "taken back" || true)" = "$n_before" ] || vg_fail "the helper ran for nothing"
out=$(vg_virsh destroy vg-extra) || vg_fail "virsh destroy failed: $out"

# --- c. a helper stuck on a hung mount does not hold the start
if [ -x "$VG_HANGFS" ]; then
    vg_hangfs
    conf enforce on "" "\"$VG_SHARED\""
    vg_define vg-stuck "$VG_SHARED"
    # The hook waits probe_timeout_ms + 30 s for the helper (apparmor_parser's
    # own bound), then kills it and gives up on reaping it.
    limit_ms=$(( VG_PROBE_TIMEOUT_MS + 30000 + 2000 ))
    VG_VIRSH_TIMEOUT=$(( limit_ms / 1000 + 20 )) vg_expect_start_refused vg-stuck "did not finish within"
    vg_assert_contains "$VG_OUT" "left behind" "the virsh error"
    hook_ms=$(vg_hook_ms vg-stuck prepare)
    [ -n "$hook_ms" ] || vg_hard_error "libvirtd's log does not show how long the hook ran"
    vg_log "the prepare hook ran for $hook_ms ms with a stuck helper (limit $limit_ms ms)"
    [ "$hook_ms" -le "$limit_ms" ] || vg_fail "the hook ran for $hook_ms ms; limit is $limit_ms ms"
    out=$(timeout 5 "$VIRSH" -q -c "$VG_URI" list --all 2>&1) ||
        vg_fail "virsh list did not answer within 5 s after the refusal: $out"
    left=$(ps -eo pid=,stat=,args= | awk '$3 ~ /virtguard-helper/' || true)
    vg_log "left behind until the mount goes: ${left:-nothing}"
    vg_fuse_stop "$VG_SHARED" "${VG_FUSE_PIDS[0]%%:*}"
else
    vg_log "no hangfs (configure found no libfuse3-dev): the stuck-helper part is skipped"
fi
vg_log "PASS"
