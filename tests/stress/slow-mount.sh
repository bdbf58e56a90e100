#!/bin/bash
# Stress: a SLOW shared mount (the hung one is tests/integration/05).
# slowfs (tests/stress/slowfs.c) passes a tmpfs through FUSE and answers
# every metadata request after N ms (data reads/writes at once).  With
# probe_timeout_ms = 2000:
#   - N = VG_SLOW_OK_MS (default 50): the whole probe fits in the timeout,
#     the domain starts (and really runs from the slow mount);
#   - N in VG_SLOW_REFUSE_MS (default "300 3000": the timeout falls in
#     the middle of the probe / one request is longer than the whole
#     timeout): refused with "did not answer within", the hook done within
#     probe_timeout_ms + 1 s (libvirtd's own timing), libvirtd answering;
#     once the late answer has come (N ms), no hook or probe process is
#     left, no zombie, and no probe scratch file (.virtguard-probe.*) on
#     the mount.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${VG_TEST_TIMEOUT:=300}"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
: "${VG_SLOWFS:=$top_builddir/tests/stress/slowfs}"
[ -x "$VG_SLOWFS" ] || vg_skip "no slowfs at '$VG_SLOWFS' (configure found no libfuse3-dev)"
export VG_SLOWFS
vg_enter_ns "$@"
# shellcheck source=tests/stress/common.sh
. "$(dirname "$VG_SCRIPT")/common.sh"

VG_PROBE_TIMEOUT_MS=2000
OK_MS=${VG_SLOW_OK_MS:-50}
limit_ms=$(( VG_PROBE_TIMEOUT_MS + 1000 ))
vg_setup

# The files live on a tmpfs private to this namespace; slowfs shows them
# on the shared mount point.
src=/mnt/slow-src
mkdir -p "$src"
mount -t tmpfs -o mode=0755 vg-slow-src "$src"
vg_make_images "$src" "$VG_IMAGE_OWNER"

vg_slowfs() {
    "$VG_SLOWFS" --delay-ms "$1" "$src" "$VG_SHARED" </dev/null >"$VG_SCRATCH/slowfs.log" 2>&1 &
    VG_FUSE_PIDS+=("$!:$VG_SHARED")
    vg_wait_until 5 "the slowfs mount" vg_is_mounted "$VG_SHARED" ||
        vg_hard_error "slowfs did not mount: $(cat "$VG_SCRATCH/slowfs.log")"
    vg_write_config enforce "$(vg_fstype_of "$VG_SHARED")"
}
hook_procs() { pgrep -a -f 'qemu\.d/virtguard' || true; }
no_hook_procs() { [ -z "$(hook_procs)" ]; }

# --- slow, but within the timeout -----------------------------------------
vg_slowfs "$OK_MS"
t0=$(vg_now_ms)
stat "$VG_SHARED/overlay.qcow2" >/dev/null
vg_log "one stat(2) of a file on the mount with $OK_MS ms per answer: $(( $(vg_now_ms) - t0 )) ms"
vg_define vg-slow-ok "$VG_SHARED"
VG_VIRSH_TIMEOUT=120 vg_expect_start_ok vg-slow-ok
vg_log "metadata answers after $OK_MS ms: started; prepare hook $(vg_hook_ms vg-slow-ok prepare) ms," \
    "start hook $(vg_hook_ms vg-slow-ok start) ms (probe timeout $VG_PROBE_TIMEOUT_MS ms)"
vg_expect_syslog vg-slow-ok allowed
out=$(vg_virsh destroy vg-slow-ok) || vg_fail "virsh destroy failed: $out"
vg_fuse_stop "$VG_SHARED" "${VG_FUSE_PIDS[0]%%:*}"

# --- refused: too slow -----------------------------------------------------
# refused_case N: metadata answers after N ms, so the probe cannot finish in
# time.  300 ms: the timeout falls inside the probe's scratch-file check
# (create, fchown, fstat, unlink on the mount); 3000 ms: the very first
# request is already slower than the whole timeout.
refused_case() {
    local d=$1 name=vg-slow-$1 refused_at hook_ms out t0 zombies probes
    vg_slowfs "$d"
    vg_define "$name" "$VG_SHARED"
    VG_VIRSH_TIMEOUT=$(( d / 1000 + 30 )) vg_expect_start_refused "$name" "did not answer within"
    refused_at=$(vg_now_ms)
    hook_ms=$(vg_hook_ms "$name" prepare)
    [ -n "$hook_ms" ] || vg_hard_error "libvirtd's log does not show how long the hook ran"
    vg_log "metadata answers after $d ms: refused; prepare hook $hook_ms ms (limit $limit_ms ms)," \
        "virsh start $VG_ELAPSED_MS ms"
    [ "$hook_ms" -le "$limit_ms" ] || vg_fail "the hook ran for $hook_ms ms; limit is $limit_ms ms"
    t0=$(vg_now_ms)
    out=$(timeout 5 "$VIRSH" -q -c "$VG_URI" list --all 2>&1) ||
        vg_fail "virsh list did not answer within 5 s: $out"
    vg_log "virsh list answered in $(( $(vg_now_ms) - t0 )) ms"
    vg_expect_syslog "$name" refused
    # The killed probe child (a clone of the hook: same command line) goes
    # once its pending request is answered: within the delay plus 2 s.
    vg_log "hook processes right after the refusal: $(hook_procs | tr '\n' ';')"
    vg_wait_until $(( d / 1000 + 2 )) "the killed probe to go" no_hook_procs ||
        vg_fail "hook processes still there $(( ($(vg_now_ms) - refused_at) / 1000 )) s after the refusal: $(hook_procs)"
    vg_log "no hook process left $(( $(vg_now_ms) - refused_at )) ms after the refusal"
    zombies=$(vg_stress_zombies)
    [ -z "$zombies" ] || vg_fail "zombies: $zombies"
    # Let slowfs finish whatever it was still asked, then look at the files
    # themselves (not through the slow mount).
    sleep $(( d * 3 / 1000 + 1 ))
    probes=$(find "$src" -name '.virtguard-probe.*')
    vg_expect_state "$name" "shut off"
    vg_fuse_stop "$VG_SHARED" "${VG_FUSE_PIDS[0]%%:*}"
    if [ -n "$probes" ]; then
        # Killed inside its scratch-file check, the probe left its file: the
        # hook recorded the name, and the next probe of this mount removes it.
        local registry p
        registry=$(ls /run/virtguard/probe-scratch /var/run/virtguard/probe-scratch 2>/dev/null | head -n 1)
        for p in $probes; do
            grep -qxF "$VG_SHARED/${p##*/}" "${registry:-/dev/null}" ||
                vg_fail "metadata answers after $d ms: leftover '$p' is not in the stale-scratch registry"
        done
        vg_slowfs 0
        vg_expect_start_ok "$name"
        out=$(vg_virsh destroy "$name") || vg_fail "virsh destroy failed: $out"
        vg_fuse_stop "$VG_SHARED" "${VG_FUSE_PIDS[0]%%:*}"
        probes=$(find "$src" -name '.virtguard-probe.*')
        [ -z "$probes" ] || vg_fail "metadata answers after $d ms: the next start did not remove the probe scratch files: $probes"
        vg_log "metadata answers after $d ms: the killed probe's scratch file was removed by the next start"
    fi
}
for d in ${VG_SLOW_REFUSE_MS:-300 3000}; do
    refused_case "$d"
done
vg_log "PASS"
