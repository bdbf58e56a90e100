#!/bin/bash
# make bench: what virtguard costs on the start path, measured on this
# machine with the real binaries and a real libvirtd (in a private mount
# namespace, like the integration tests).  Not part of make check.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
vg_enter_ns "$@"

SPAWN=$top_builddir/tests/bench/vg-spawn
HELPER=$top_builddir/helper/virtguard-helper
N_HOOK=${VG_BENCH_HOOK_RUNS:-300}
N_START=${VG_BENCH_START_RUNS:-30}
N_AA=${VG_BENCH_AA_RUNS:-15}
# libvirt disk names: vda..vdz, vdaa..vdaz, ...
devname() {
    local i=$(( $1 - 1 )) s=""
    while :; do s=$(printf "\\$(printf '%03o' $(( 97 + i % 26 )))")$s; i=$(( i / 26 - 1 )); [ $i -ge 0 ] || break; done
    echo "vd$s"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

# Row 4 (below; alone with VG_BENCH_PAR_ONLY=1).
hup() {       # libvirtd caches which hooks exist until SIGHUP
    kill -HUP "$(vg_pidfile_pid /run/libvirt/libvirtd.pid)"; sleep 0.5
    vg_wait_until 10 "libvirtd answering after SIGHUP" vg_virsh_quiet list >/dev/null ||
        vg_fail "libvirtd did not come back after SIGHUP"
}
install_nop() { install -m 0755 "$NOP_HOOK" "$VG_HOOK_DEST"; }
par_row() {
    # 4. 20 distinct domains started at once through the real libvirtd, with a
    # cold validation cache (every helper load compiles): virtguard's hook with
    # apparmor = "on" (hook, helper, apparmor_parser per domain, under the
    # per-domain locks) vs the do-nothing hook.  Wall time from the first
    # `virsh start` to the last one returning; rounds interleaved.
    N_PAR=${VG_BENCH_PAR_DOMAINS:-20}
    N_PAR_ROUNDS=${VG_BENCH_PAR_ROUNDS:-5}
    for i in $(seq "$N_PAR"); do
        vg_make_images "$VG_SHARED/par$i" "$VG_IMAGE_OWNER"
        vg_define "par$i" "$VG_SHARED/par$i"
    done
    par_round() {   # prints the wall time in us of starting all N_PAR at once
        local s e i pids=() bad=0
        s=$(date +%s%N)
        for i in $(seq "$N_PAR"); do
            timeout 180 "$VIRSH" -q -c "$VG_URI" start "par$i" >"$B/par$i.out" 2>&1 & pids+=($!)
        done
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}" || { bad=1; echo "par$((i + 1)): $(cat "$B/par$((i + 1)).out")" >&2; }
        done
        e=$(date +%s%N)
        for i in $(seq "$N_PAR"); do vg_virsh_quiet destroy "par$i" >/dev/null 2>&1 || true; done
        [ "$bad" = 0 ] || vg_fail "a parallel start failed"
        echo $(( (e - s) / 1000 ))
    }
    vg_conf_set "$VG_CONF" apparmor '"on"'
    pw=(); pn=()
    for r in $(seq "$N_PAR_ROUNDS"); do
        vg_install_hook; hup
        rm -rf "$localstatedir/cache/virtguard/validated"
        pw+=("$(par_round)")
        [ "$(ls "$localstatedir/cache/virtguard/validated" | wc -l)" -ge "$N_PAR" ] ||
            vg_fail "the parallel round did not compile every domain's profile"
        install_nop; hup
        pn+=("$(par_round)")
    done
    vg_conf_unset "$VG_CONF" apparmor
    pwm=$(printf '%s\n' "${pw[@]}" | median); pnm=$(printf '%s\n' "${pn[@]}" | median)
    printf '%d domains at once, virtguard (cold cache): median %d us over %d rounds (%s)\n' \
        "$N_PAR" "$pwm" "$N_PAR_ROUNDS" "${pw[*]}"
    printf '%d domains at once, do-nothing hook:         median %d us over %d rounds (%s)\n' \
        "$N_PAR" "$pnm" "$N_PAR_ROUNDS" "${pn[*]}"
    printf 'parallel virtguard / do-nothing hook: %s   (target <= 1.10)\n' "$(ratio "$pwm" "$pnm")"
}

vg_setup_with_helper       # the hook's helper installed, for row 4
vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
B=$(mktemp -d /tmp/vg-bench-XXXXXX)
vg_domain_xml bench "$VG_SHARED" > "$B/dom.xml"

NOP_HOOK=$top_builddir/tests/bench/vg-nop-hook
[ -x "$NOP_HOOK" ] || vg_hard_error "no '$NOP_HOOK' (make bench builds it)"
echo "== virtguard bench ($(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)) =="
if [ "${VG_BENCH_PAR_ONLY:-0}" = 1 ]; then par_row; rm -rf "$B"; exit 0; fi

# 1. The hook alone, as libvirt runs it at prepare, vs spawning /bin/true and
# a do-nothing hook linked like ours; then where the hook's time goes.
"$VG_HOOK" bench prepare begin - < "$B/dom.xml" || vg_fail "the hook refuses the bench domain"
vg_domain_xml bench-local /srv/not-shared > "$B/local.xml"     # touches no shared mount
: > "$B/empty-qemu.conf"
spawn_row() {   # LABEL XML CMD...: one row, and sets ROW_US to its median
    local label=$1 xml=$2 out
    shift 2
    out=$("$SPAWN" "$N_HOOK" "$xml" "$@")
    [ "$(field failures <<<"$out")" = 0 ] || vg_fail "$label failed: $out"
    ROW_US=$(field median_us <<<"$out")
    printf '%-46s %9d %7d %7d %7d %7d\n' "$label" "$ROW_US" "$(field min_us <<<"$out")" \
        "$(field p90_us <<<"$out")" "$(field minflt <<<"$out")" "$(field cpu_us <<<"$out")"
}
qconf_size=$(stat -c %s /etc/libvirt/qemu.conf 2>/dev/null || echo 0)
printf '%-46s %9s %7s %7s %7s %7s\n' "spawn ($N_HOOK runs each, same stdin)" median_us min_us \
    p90_us minflt cpu_us
spawn_row "/bin/true (dynamic)" "$B/dom.xml" /bin/true; t=$ROW_US
spawn_row "do-nothing hook (linked like the hook)" "$B/dom.xml" "$NOP_HOOK"; nop=$ROW_US
spawn_row "hook, domain on no shared mount" "$B/local.xml" "$VG_HOOK" bench prepare begin -
skip=$ROW_US
vg_conf_set "$VG_CONF" qemu_conf "\"$B/empty-qemu.conf\""
spawn_row "hook, shared domain, empty qemu.conf" "$B/dom.xml" "$VG_HOOK" bench prepare begin -
noq=$ROW_US
vg_conf_set "$VG_CONF" qemu_conf '"/etc/libvirt/qemu.conf"'
spawn_row "hook, shared domain, qemu.conf ($qconf_size bytes)" "$B/dom.xml" \
    "$VG_HOOK" bench prepare begin -
h=$ROW_US
printf 'hook / true ratio: %s   (target <= 1.5)\n' "$(ratio "$h" "$t")"
printf 'hook / do-nothing hook ratio: %s\n' "$(ratio "$h" "$nop")"
printf 'where the %d us above /bin/true go (differences of medians):\n' $(( h - t ))
printf '  exec of the static binary vs /bin/true:          %6d us\n' $(( nop - t ))
printf '  config + domain XML parse, plan (fast path):     %6d us\n' $(( skip - nop ))
printf '  ids, mountinfo, probe child, judge, syslog:      %6d us\n' $(( noq - skip ))
printf '  parsing qemu.conf:                               %6d us\n' $(( h - noq ))
# The probe child's share, from one run under strace (slower: proportions only).
if command -v strace >/dev/null; then
    strace -f -ttt -q -o "$B/trace" "$VG_HOOK" bench prepare begin - < "$B/dom.xml" >/dev/null 2>&1
    awk '
        NR == 1 { first = $2 }
        { last = $2 }
        /clone/ && $NF ~ /^[0-9]+$/ && $(NF-1) == "=" && !child { child = $NF; cstart = $2 }
        child && $1 == child && /\+\+\+ exited/ { cend = $2 }
        END { if (child && cend) printf "  under strace: probe child %.0f%% of the hook (%.2f of %.2f ms)\n", 100 * (cend - cstart) / (last - first), 1000 * (cend - cstart), 1000 * (last - first) }
    ' "$B/trace"
fi

# VG_BENCH_HOOKS="LABEL=PATH ...": other builds of the hook (link variants,
# docs/BENCH.md), spawned in interleaved rounds with the build's hook and
# /bin/true so that machine load hits them alike.
if [ -n "${VG_BENCH_HOOKS:-}" ]; then
    rounds=${VG_BENCH_ROUNDS:-5}
    declare -A acc=()
    for r in $(seq "$rounds"); do
        for v in "built=$VG_HOOK" "true=/bin/true" $VG_BENCH_HOOKS; do
            label=${v%%=*}; bin=${v#*=}
            out=$("$SPAWN" $(( N_HOOK / rounds )) "$B/dom.xml" "$bin" bench prepare begin -)
            [ "$(field failures <<<"$out")" = 0 ] || vg_fail "hook variant '$label' failed: $out"
            acc[$label]="${acc[$label]:-} $(field median_us <<<"$out")"
        done
    done
    printf '%-16s %10s %10s %12s\n' variant median_us ratio size_bytes
    tm=$(printf '%s\n' ${acc[true]} | median)
    for v in "built=$VG_HOOK" $VG_BENCH_HOOKS; do
        label=${v%%=*}; bin=${v#*=}
        m=$(printf '%s\n' ${acc[$label]} | median)
        printf '%-16s %10d %10s %12d\n' "$label" "$m" "$(ratio "$m" "$tm")" "$(stat -c %s "$bin")"
    done
    printf '%-16s %10d\n' /bin/true "$tm"
    echo "(median of $rounds per-round medians; VG_BENCH_HOOKS only)"
    [ "${VG_BENCH_HOOKS_ONLY:-0}" = 1 ] && { rm -rf "$B"; exit 0; }
fi

# 2. virsh start of the same TCG domain: virtguard's hook, a do-nothing hook,
# no hook.  libvirt forks every hook in qemu.d five times per start and stop.
vg_define bench "$VG_SHARED"
start_ms() {
    local s e
    s=$(date +%s%N)
    vg_virsh_quiet start bench >/dev/null || vg_fail "start failed"
    e=$(date +%s%N)
    vg_virsh_quiet destroy bench >/dev/null
    echo $(( (e - s) / 1000 ))
}
hook_runs() { vg_syslog_lines | grep -c "domain 'bench' prepare: allowed" || true; }
# Once: count the calls of a hook in qemu.d over one start and destroy.
printf '#!/bin/sh\necho "$2 $3" >> %s/calls\ncat >/dev/null\n' "$B" > "$VG_HOOK_DEST"
chmod 0755 "$VG_HOOK_DEST"; hup
start_ms >/dev/null
printf 'hook calls per start + destroy: %s (%s)\n' "$(wc -l < "$B/calls")" \
    "$(cut -d' ' -f1 "$B/calls" | tr '\n' ' ')"
with=(); nops=(); without=()
for i in $(seq "$N_START"); do                 # interleaved, to share drift
    vg_install_hook; hup
    before=$(hook_runs)
    with+=("$(start_ms)")
    vg_wait_until 3 "the hook's syslog line" test "$(hook_runs)" -gt "$before" ||
        vg_fail "the hook did not run on a with-hook start"
    install_nop; hup
    nops+=("$(start_ms)")
    rm -f "$VG_HOOK_DEST"; hup
    before=$(hook_runs)
    without+=("$(start_ms)")
    [ "$(hook_runs)" -eq "$before" ] || vg_fail "the hook ran on a no-hook start"
done
w=$(printf '%s\n' "${with[@]}" | median); n=$(printf '%s\n' "${nops[@]}" | median)
wo=$(printf '%s\n' "${without[@]}" | median)
printf 'virsh start, virtguard hook:     median %d us over %d runs\n' "$w" "$N_START"
printf 'virsh start, do-nothing hook:    median %d us over %d runs\n' "$n" "$N_START"
printf 'virsh start, no hook:            median %d us over %d runs\n' "$wo" "$N_START"
printf 'virtguard / do-nothing hook: %s   (target <= 1.01)\n' "$(ratio "$w" "$n")"
printf 'virtguard / no hook:         %s\n' "$(ratio "$w" "$wo")"
printf 'do-nothing hook / no hook:   %s   (what libvirt pays for any hook)\n' "$(ratio "$n" "$wo")"

# 3. AppArmor: what virtguard adds vs libvirt's own AppArmor work for the same
# domain (libvirt: virt-aa-helper + apparmor_parser compile, twice per start).
cp -a /etc/apparmor.d "$B/aa"
printf 'mode = "enforce"\nshared_mounts = [ "%s" ]\nshared_fs_types = [ "tmpfs" ]\napparmor = "on"\n' \
    "$VG_SHARED" > "$B/aa.conf"
qemu-img create -q -f qcow2 "$VG_SHARED/bench-base.qcow2" 16M
printf '%-6s %12s %14s %14s %14s %8s\n' disks virtguard_us vah_dryrun_us parser_us libvirt_aa_us ratio
for D in 1 10 100; do
    uuid=$(printf '00000000-0000-4000-8000-%012d' "$D")
    {
        printf "<domain type='qemu'><name>bench%d</name><uuid>%s</uuid><memory unit='MiB'>64</memory>" "$D" "$uuid"
        printf "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
        for i in $(seq "$D"); do
            f=$VG_SHARED/bench$D-disk$i.qcow2
            [ -e "$f" ] || qemu-img create -q -f qcow2 -b bench-base.qcow2 -F qcow2 "$f"
            printf "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>" \
                "$f" "$(devname "$i")"
        done
        printf "</devices></domain>\n"
    } > "$B/d$D.xml"
    H=("$HELPER" load --uuid "$uuid" --config "$B/aa.conf" --apparmor-dir "$B/aa" --cache-dir "$B/cache" --run-dir "$B/run")
    "${H[@]}" < "$B/d$D.xml" >/dev/null || vg_fail "helper load failed for $D disks"   # first: compiles
    vgo=$("$SPAWN" "$N_AA" "$B/d$D.xml" "${H[@]}")
    vaho=$("$SPAWN" "$N_AA" "$B/d$D.xml" /usr/lib/libvirt/virt-aa-helper -d -r -u "libvirt-$uuid" 2>/dev/null)
    [ "$(field failures <<<"$vgo")" = 0 ] || vg_fail "virtguard-helper failed for $D disks: $vgo"
    [ "$(field failures <<<"$vaho")" = 0 ] || vg_fail "virt-aa-helper failed for $D disks: $vaho"
    vg=$(field median_us <<<"$vgo"); vah=$(field median_us <<<"$vaho")
    /usr/lib/libvirt/virt-aa-helper -d -r -u "libvirt-$uuid" < "$B/d$D.xml" 2> "$B/files$D" || true
    { sed -n 's/^\(  .*,\)$/\1/p' "$B/files$D"; } > "$B/aa/libvirt/libvirt-$uuid.files"
    ptimes=()
    for i in $(seq 5); do
        s=$(date +%s%N)
        apparmor_parser -Q -K --base "$B/aa" -I "$B/aa" "$B/aa/libvirt/libvirt-$uuid" 2>/dev/null || vg_fail "profile does not compile"
        ptimes+=($(( ($(date +%s%N) - s) / 1000 )))
    done
    p=$(printf '%s\n' "${ptimes[@]}" | median)
    lv=$(( 2 * vah + 2 * p ))
    printf '%-6s %12d %14d %14d %14d %8s\n' "$D" "$vg" "$vah" "$p" "$lv" "$(ratio "$vg" "$lv")"
done
echo "(ratio target <= 0.10: virtguard's helper load, validation cached by content, vs libvirt's"
echo " own AppArmor work per start = 2 x virt-aa-helper + 2 x apparmor_parser compile)"

par_row
rm -rf "$B"
exit 0
