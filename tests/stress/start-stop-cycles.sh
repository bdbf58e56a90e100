#!/bin/bash
# Stress: VG_CYCLES (200) start/destroy cycles of one domain through the
# real libvirtd, with the hook and the helper (`apparmor = "on"`, as in
# tests/integration/07-apparmor-rules.sh).  Every cycle must start (rules
# file in place) and stop (rules file gone).  Afterwards: no rules file, no
# *.vgtmp.* temporary, no probe scratch file (.virtguard-probe.*) on the
# shared mount, no virtguard process, no zombie, no QEMU, the helper's lock
# free, libvirtd's open file descriptors not more than before and its
# resident memory grown by at most VG_RSS_SLACK_KB (default 8192).
# Prints cycles per minute and the median `virsh start` time.
#
# Bounded: the cycles stop early after VG_CYCLES_BUDGET_S (default 420 s),
# which is said loudly (the residue checks still run on what was done);
# VG_CYCLES_MIN (default 50) fewer cycles than that is a harness problem.
# Slow (about 4 minutes here): `make check-stress`, not `make check`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
: "${VG_TEST_TIMEOUT:=600}"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
vg_enter_ns "$@"
# shellcheck source=tests/stress/common.sh
. "$(dirname "$VG_SCRIPT")/common.sh"

CYCLES=${VG_CYCLES:-200}
BUDGET_S=${VG_CYCLES_BUDGET_S:-420}
MIN_CYCLES=${VG_CYCLES_MIN:-50}
[ "$MIN_CYCLES" -le "$CYCLES" ] || MIN_CYCLES=$CYCLES
RSS_SLACK_KB=${VG_RSS_SLACK_KB:-8192}
WARMUP=3        # first starts fill libvirtd's caches; measured after them

vg_stress_setup
vg_stress_make_images "$VG_SHARED/d"
name=vg-cycle
vg_define "$name" "$VG_SHARED/d"
uuid=$(vg_stress_uuid "$name")
rules=$VG_AA_LIBVIRT/libvirt-$uuid.virtguard
lvpid=$(vg_pidfile_pid /run/libvirt/libvirtd.pid)
[ -n "$lvpid" ] || vg_hard_error "no libvirtd pid"

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }
sample() { echo "fds $(fds "$lvpid"), VmRSS $(rss_kb "$lvpid") kB, threads $(threads "$lvpid")"; }
rules_gone() { [ ! -e "$rules" ]; }

# cycle N: start (the rules must be in place), destroy (they must go).
cycle() {
    local n=$1 s out rc=0
    s=$(vg_now_ms)
    out=$(vg_virsh start "$name") || rc=$?
    [ "$rc" = 0 ] || vg_fail "cycle $n: virsh start failed (status $rc): $out"
    echo "$(( $(vg_now_ms) - s ))" >>"$VG_SCRATCH/start-ms"
    [ -f "$rules" ] || vg_fail "cycle $n: no rules file after the start"
    out=$(vg_virsh destroy "$name") || vg_fail "cycle $n: virsh destroy failed: $out"
    vg_wait_until 5 "the rules removed at release (cycle $n)" rules_gone ||
        vg_fail "cycle $n: the rules file is still there after the destroy"
}

for n in $(seq 1 "$WARMUP"); do cycle "w$n"; done
: >"$VG_SCRATCH/start-ms"
fd0=$(fds "$lvpid") rss0=$(rss_kb "$lvpid")
vg_log "libvirtd after $WARMUP warm-up cycles: $(sample)"
t0=$(vg_now_ms)
done_n=0
for n in $(seq 1 "$CYCLES"); do
    if [ $(( $(vg_now_ms) - t0 )) -ge $(( BUDGET_S * 1000 )) ]; then
        vg_log "NOTE: stopped after $done_n of $CYCLES cycles: the time budget of $BUDGET_S s is spent"
        break
    fi
    cycle "$n"
    done_n=$n
    [ $(( n % 50 )) -ne 0 ] || vg_log "after $n cycles: libvirtd $(sample)"
done
elapsed_ms=$(( $(vg_now_ms) - t0 ))
[ "$done_n" -ge "$MIN_CYCLES" ] ||
    vg_hard_error "only $done_n cycles within $BUDGET_S s (minimum $MIN_CYCLES): this machine is too slow for the figure"
fd1=$(fds "$lvpid") rss1=$(rss_kb "$lvpid")
vg_log "$done_n cycles in $(( elapsed_ms / 1000 )) s: $(( done_n * 60000 / elapsed_ms )) cycles/min;" \
    "virsh start: median $(vg_stress_median <"$VG_SCRATCH/start-ms") ms," \
    "min $(sort -n "$VG_SCRATCH/start-ms" | head -n1) ms, max $(sort -n "$VG_SCRATCH/start-ms" | tail -n1) ms"
vg_log "libvirtd: fds $fd0 -> $fd1, VmRSS $rss0 -> $rss1 kB ($(( rss1 - rss0 )) kB), threads $(threads "$lvpid")"

# --- residue --------------------------------------------------------------
left=$(compgen -G "$VG_AA_LIBVIRT/*.virtguard" || true)
[ -z "$left" ] || vg_fail "rules files left: $left"
tmp=$(vg_stress_tmp_files)
[ -z "$tmp" ] || vg_fail "temporary files left: $tmp"
probes=$(vg_stress_probe_files)
[ -z "$probes" ] || vg_fail "probe scratch files left on the shared mount: $probes"
no_procs() { [ -z "$(vg_stress_our_procs)" ] && [ -z "$(vg_stress_qemus)" ]; }
vg_wait_until 10 "no virtguard or QEMU process" no_procs ||
    vg_fail "processes left: $(vg_stress_our_procs) $(vg_stress_qemus)"
zombies=$(vg_stress_zombies)
[ -z "$zombies" ] || vg_fail "zombies: $zombies"
vg_stress_lock_free || vg_fail "the helper's lock is held: $(vg_stress_lock_holders)"
holders=$(vg_stress_lock_holders)
[ -z "$holders" ] || vg_fail "processes still have the helper's lock open: $holders"
[ "$fd1" -le "$fd0" ] || {
    ls -l "/proc/$lvpid/fd" >&2
    vg_fail "libvirtd has $fd1 open file descriptors after $done_n cycles, $fd0 before"
}
[ $(( rss1 - rss0 )) -le "$RSS_SLACK_KB" ] ||
    vg_fail "libvirtd's resident memory grew by $(( rss1 - rss0 )) kB over $done_n cycles (limit $RSS_SLACK_KB kB)"
bad=$(vg_syslog_lines | grep -F virtguard | grep -E 'failed|cannot|refused' || true)
[ -z "$bad" ] || vg_fail "virtguard reported problems in syslog: $bad"
n_allowed=$(vg_syslog_lines | grep -F virtguard | grep -F "'$name'" | grep -c allowed || true)
vg_log "syslog: $n_allowed 'allowed' decisions for $name (2 per start: prepare and start)"
out=$(timeout 5 "$VIRSH" -q -c "$VG_URI" list --all 2>&1) || vg_fail "virsh list does not answer: $out"
vg_log "PASS"
