#!/bin/bash
# Stress: VG_DOMAINS (20) domains started in parallel through the real
# libvirtd, with the hook and the helper (`apparmor = "on"`, as in
# tests/integration/07-apparmor-rules.sh).  Each domain has its own qcow2
# overlay (backed by one shared base) and its own ISO, all on the shared
# tmpfs mount.  Checks, with all of them running:
#   - every `virsh start` succeeded and every domain is running;
#   - each domain's libvirt-<uuid>.virtguard names exactly its own 3 files
#     (overlay, base, ISO), nothing of any other domain;
#   - every rules file and every profile file is complete: the profile
#     (which includes the rules) compiles with apparmor_parser -Q -K;
#   - no *.vgtmp.* temporaries; the helper's lock is free;
# then all are destroyed in parallel: every rules file is gone (release),
# no virtguard process, zombie or QEMU is left.
# Slow (about a minute): `make check-stress`, not `make check`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${VG_TEST_TIMEOUT:=600}"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
vg_enter_ns "$@"
# shellcheck source=tests/stress/common.sh
. "$(dirname "$VG_SCRIPT")/common.sh"

N=${VG_DOMAINS:-20}
# Each `virsh start` in the batch is bounded by this.
START_TIMEOUT_S=${VG_START_TIMEOUT_S:-240}

vg_stress_setup
for i in $(seq -w 1 "$N"); do
    vg_stress_make_images "$VG_SHARED/d$i"
    vg_define "vg-par-$i" "$VG_SHARED/d$i"
done
declare -A UUID
for i in $(seq -w 1 "$N"); do
    UUID[$i]=$(vg_stress_uuid "vg-par-$i")
done
vg_log "$N domains defined; memory before: $(awk '/MemAvailable/ { print int($2 / 1024) " MiB available" }' /proc/meminfo)"

# --- all starts at once ---------------------------------------------------
res=$VG_SCRATCH/starts
mkdir -p "$res"
t0=$(vg_now_ms)
pids=()     # not a bare `wait`: socat (the syslog receiver) is a job too
for i in $(seq -w 1 "$N"); do
    (
        s=$(vg_now_ms); rc=0
        out=$(VG_VIRSH_TIMEOUT=$START_TIMEOUT_S vg_virsh start "vg-par-$i") || rc=$?
        printf '%s\n' "$out" >"$res/$i.out"
        echo "$rc $(( $(vg_now_ms) - s ))" >"$res/$i.rc"
    ) &
    pids+=("$!")
done
wait "${pids[@]}"
wall_ms=$(( $(vg_now_ms) - t0 ))
failed=0
for i in $(seq -w 1 "$N"); do
    read -r rc ms <"$res/$i.rc"
    echo "$ms" >>"$res/times"
    if [ "$rc" != 0 ]; then
        failed=$((failed + 1))
        vg_log "virsh start vg-par-$i: status $rc after $ms ms: $(cat "$res/$i.out")"
    fi
done
vg_log "parallel start of $N domains: wall $wall_ms ms; per start: min $(sort -n "$res/times" | head -n1) ms," \
    "median $(vg_stress_median <"$res/times") ms, max $(sort -n "$res/times" | tail -n1) ms; $failed failed"
hooks=$VG_SCRATCH/hook-ms
for i in $(seq -w 1 "$N"); do vg_hook_ms "vg-par-$i" prepare; done >"$hooks"
[ -s "$hooks" ] && vg_log "prepare hook (as libvirtd timed it): median $(vg_stress_median <"$hooks") ms, max $(sort -n "$hooks" | tail -n1) ms"
vg_log "memory with $N running: $(awk '/MemAvailable/ { print int($2 / 1024) " MiB available" }' /proc/meminfo);" \
    "QEMU RSS total $(ps -C qemu-system-x86_64 -o rss= | awk '{ s += $1 } END { print int(s / 1024) }') MiB"
[ "$failed" = 0 ] || vg_fail "$failed of $N parallel starts failed"
for i in $(seq -w 1 "$N"); do
    vg_expect_state "vg-par-$i" running
done
[ "$(vg_stress_qemus | wc -l)" = "$N" ] || vg_fail "expected $N QEMU processes: $(vg_stress_qemus)"

# --- rules: exactly each domain's own files -------------------------------
for i in $(seq -w 1 "$N"); do
    rules=$VG_AA_LIBVIRT/libvirt-${UUID[$i]}.virtguard
    [ -f "$rules" ] || vg_fail "vg-par-$i: no rules file '$rules'"
    got=$(grep -o '"[^"]*"' "$rules" | tr -d '"' | sort -u | tr '\n' ' ')
    want=$(printf '%s\n' "$VG_SHARED/base.qcow2" "$VG_SHARED/d$i/overlay.qcow2" "$VG_SHARED/d$i/seed.iso" |
        sort | tr '\n' ' ')
    [ "$got" = "$want" ] || vg_fail "vg-par-$i: its rules name [$got], expected exactly [$want]"
    # 5 rule lines: overlay rwk, base rk + deny w, ISO rk (+ the ISO's lock);
    # the same count as 07-apparmor-rules.sh for the same 3 files.
    n=$(grep -c '^  [^#]' "$rules")
    [ "$n" -eq 5 ] || vg_fail "vg-par-$i: $n rule lines, expected 5: $(cat "$rules")"
    grep -qF "\"$VG_SHARED/d$i/overlay.qcow2\" rwk," "$rules" || vg_fail "vg-par-$i: no rwk rule for its overlay"
done
vg_log "rules of all $N domains name exactly their own 3 files"

# --- every file complete --------------------------------------------------
for i in $(seq -w 1 "$N"); do
    uuid=${UUID[$i]}
    profile=$VG_AA_LIBVIRT/libvirt-$uuid
    [ -f "$profile" ] || vg_fail "vg-par-$i: no profile file '$profile'"
    grep -q "^profile libvirt-$uuid flags=(attach_disconnected) {" "$profile" ||
        vg_fail "vg-par-$i: its profile file is not libvirt's template for its own UUID"
    [ "$(grep -c "^  #include if exists <libvirt/libvirt-$uuid.virtguard>" "$profile")" = 1 ] ||
        vg_fail "vg-par-$i: the profile does not include its rules exactly once"
    # What virt-aa-helper would have written next to it.
    : >"$profile.files"
    apparmor_parser -Q -K --base "$apparmordir" -I "$apparmordir" "$profile" 2>"$VG_SCRATCH/aa.err" ||
        vg_fail "vg-par-$i: the complete profile (with its rules) does not compile: $(cat "$VG_SCRATCH/aa.err")"
    rm -f "$profile.files"
done
vg_log "all $N profile files (each with its rules file) compile"
tmp=$(vg_stress_tmp_files)
[ -z "$tmp" ] || vg_fail "temporary files left: $tmp"
vg_stress_lock_free || vg_fail "the helper's lock $VG_HELPER_LOCK is held: $(vg_stress_lock_holders)"
holders=$(vg_stress_lock_holders)
[ -z "$holders" ] || vg_fail "processes still have the helper's lock open: $holders"
probes=$(vg_stress_probe_files)
[ -z "$probes" ] || vg_fail "probe scratch files left on the shared mount: $probes"
left=$(vg_stress_our_procs)
[ -z "$left" ] || vg_fail "virtguard processes still running with all domains up: $left"

# --- all destroyed at once ------------------------------------------------
t0=$(vg_now_ms)
pids=()
for i in $(seq -w 1 "$N"); do
    (
        rc=0
        out=$(vg_virsh destroy "vg-par-$i") || rc=$?
        echo "$rc $out" >"$res/$i.destroy"
    ) &
    pids+=("$!")
done
wait "${pids[@]}"
vg_log "parallel destroy of $N domains: wall $(( $(vg_now_ms) - t0 )) ms"
for i in $(seq -w 1 "$N"); do
    read -r rc out <"$res/$i.destroy"
    [ "$rc" = 0 ] || vg_fail "virsh destroy vg-par-$i failed (status $rc): $out"
done
no_rules() { ! compgen -G "$VG_AA_LIBVIRT/*.virtguard" >/dev/null; }
vg_wait_until 10 "every rules file removed at release" no_rules ||
    vg_fail "rules files left after release: $(ls "$VG_AA_LIBVIRT"/*.virtguard)"
for i in $(seq -w 1 "$N"); do
    vg_expect_state "vg-par-$i" "shut off"
done
no_procs() { [ -z "$(vg_stress_our_procs)" ] && [ -z "$(vg_stress_qemus)" ]; }
vg_wait_until 10 "no virtguard or QEMU process" no_procs ||
    vg_fail "processes left: $(vg_stress_our_procs) $(vg_stress_qemus)"
zombies=$(vg_stress_zombies)
[ -z "$zombies" ] || vg_fail "zombies: $zombies"
tmp=$(vg_stress_tmp_files)
[ -z "$tmp" ] || vg_fail "temporary files left: $tmp"
vg_stress_lock_free || vg_fail "the helper's lock is held after the destroys: $(vg_stress_lock_holders)"
probes=$(vg_stress_probe_files)
[ -z "$probes" ] || vg_fail "probe scratch files left on the shared mount: $probes"
bad=$(vg_syslog_lines | grep -F virtguard | grep -E 'failed|cannot|refused' || true)
[ -z "$bad" ] || vg_fail "virtguard reported problems in syslog: $bad"
out=$(timeout 5 "$VIRSH" -q -c "$VG_URI" list --all 2>&1) || vg_fail "virsh list does not answer: $out"
vg_log "PASS"
