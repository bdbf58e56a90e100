# lib.sh -- shared setup for virtguard's integration tests (bash only).
#
# Every scenario script starts with
#
#   [ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
#   . "$(dirname "$0")/lib.sh"
#   vg_enter_ns "$@"        # re-runs the script in a private namespace
#   vg_setup                # scratch libvirt state, hook, config, daemons
#   ... scenario ...
#
# How the isolation works (README.md in this directory has the long form):
#
# * Host side (vg_enter_ns, first pass): check for root and the tools (else
#   exit 77 = SKIP), take a host-wide lock (scenarios of all build trees run
#   one at a time), make the few host changes that cannot be avoided and
#   write down how to undo them (an undo journal, replayed at the end and
#   by the next run after a crash), then run the script again inside
#   `unshare --mount --pid --fork --net --ipc --mount-proc`.
# * Namespace side: tmpfs over /run, /etc/libvirt (a copy of the host's),
#   /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt,
#   /sys/fs/cgroup (hidden, so libvirt creates no cgroups on the host) and
#   $sysconfdir/virtguard; private virtlogd + libvirtd; a socat syslog
#   receiver bound over /dev/log.  The script is PID 1 of the new PID
#   namespace: when it exits, the kernel kills whatever is left in it, and
#   the mount namespace goes away with the last process.  The EXIT trap
#   still stops everything by PID first, printing diagnostics on failure.
#
# Environment (set by `make check` through AM_TESTS_ENVIRONMENT):
#   top_srcdir top_builddir sysconfdir VIRSH LIBVIRTD
# Knobs: VG_HOOK (hook binary to install; default the build's hook),
#   VG_KEEP=1 (keep the scratch directory), VG_TEST_TIMEOUT (seconds for a
#   whole scenario, default 240), VG_VERBOSE=1 (trace).

set -eu -o pipefail

VG_SCRIPT=$(readlink -f "$0")
VG_NAME=$(basename "$VG_SCRIPT" .sh)
: "${top_srcdir:=$(cd "$(dirname "$VG_SCRIPT")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${sysconfdir:=/usr/local/etc}"
: "${VIRSH:=virsh}"
: "${LIBVIRTD:=libvirtd}"
: "${VG_HOOK:=$top_builddir/hooks/virtguard-hook}"
: "${VG_HANGFS:=$top_builddir/tests/integration/hangfs}"
: "${VG_TEST_TIMEOUT:=240}"
export top_srcdir top_builddir sysconfdir VIRSH LIBVIRTD VG_HOOK VG_HANGFS

# The hook is installed under this name; demo.sh uses the installed one.
VG_HOOK_DIR=/etc/libvirt/hooks/qemu.d
VG_HOOK_DEST=$VG_HOOK_DIR/virtguard
VG_CONF_DIR=$sysconfdir/virtguard
VG_CONF=$VG_CONF_DIR/virtguard.conf
VG_SHARED=/var/lib/libvirt/images       # the "shared mount" in every scenario
VG_URI=qemu:///system
VG_LOCK=/run/lock/virtguard-integration.lock
VG_JOURNAL=/run/lock/virtguard-integration.undo
VG_DAEMON_PATH=/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck disable=SC2034  # used by the scenarios
VG_IMAGE_OWNER=libvirt-qemu:libvirt-qemu

vg_log() { printf '%s: %s\n' "$VG_NAME" "$*"; }

vg_skip() {
    printf 'SKIP: %s: %s\n' "$VG_NAME" "$*"
    exit 77
}

# A harness problem rather than a test verdict (automake: ERROR).
vg_hard_error() {
    printf 'ERROR: %s: %s\n' "$VG_NAME" "$*" >&2
    exit 99
}

# A failed assertion: diagnostics come from the EXIT trap.
vg_fail() {
    printf 'FAIL: %s: %s\n' "$VG_NAME" "$*" >&2
    exit 1
}

vg_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# vg_wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.
vg_wait_until() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$(( $(vg_now_ms) + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(vg_now_ms)" -ge "$deadline" ]; then
            printf '%s: timed out after %ss waiting for %s\n' "$VG_NAME" "$limit" "$what" >&2
            return 1
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------
# Host side

vg_journal_replay() {
    [ -f "$VG_JOURNAL" ] || return 0
    # Last change first.
    tac "$VG_JOURNAL" | while IFS= read -r line; do
        eval "$line" || printf '%s: undo step failed: %s\n' "$VG_NAME" "$line" >&2
    done
    rm -f "$VG_JOURNAL"
}

vg_journal_add() { printf '%s\n' "$1" >>"$VG_JOURNAL"; }

vg_host_prepare() {
    mkdir -p "$(dirname "$VG_LOCK")"
    exec 9>"$VG_LOCK"
    flock -w 900 9 || vg_hard_error "could not take the lock $VG_LOCK within 900 s"
    VG_LOCKED=1
    # A crashed earlier run (SIGKILL) may have left its undo journal.
    vg_journal_replay

    # /dev/log: the namespace binds the syslog receiver over it, and a bind
    # mount needs something to mount on.  /dev is the host's devtmpfs, so a
    # placeholder is the one host change here; it goes at the end.
    if [ ! -e /dev/log ] && [ ! -L /dev/log ]; then
        vg_journal_add 'if [ -f /dev/log ] && [ ! -s /dev/log ]; then rm -f /dev/log; fi'
        : >/dev/log
    fi

    # $sysconfdir/virtguard: a tmpfs is mounted on it in the namespace.
    local d=$VG_CONF_DIR missing=()
    while [ ! -d "$d" ]; do
        missing+=("$d")
        d=$(dirname "$d")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        # The journal is replayed last line first: write the outermost
        # missing directory first, so that it is removed after its children.
        local i
        for (( i = ${#missing[@]} - 1; i >= 0; i-- )); do
            vg_journal_add "rmdir '${missing[i]}' 2>/dev/null || true"
        done
        mkdir -p "$VG_CONF_DIR"
    fi

    # /dev/kvm without udev is root:root 0600: QEMU (libvirt-qemu, group
    # kvm) could not use it and every start would re-probe QEMU.
    if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
        local mode group
        mode=$(stat -c %a /dev/kvm)
        group=$(stat -c %G /dev/kvm)
        if [ "$group" != kvm ] || [ "$mode" != 660 ]; then
            vg_journal_add "chgrp '$group' /dev/kvm; chmod '$mode' /dev/kvm"
            chgrp kvm /dev/kvm
            chmod 0660 /dev/kvm
        fi
    fi
}

vg_host_cleanup() {
    [ "${VG_LOCKED:-}" = 1 ] || return 0
    vg_journal_replay
    [ -n "$VG_HOST_SCRATCH" ] || return 0
    if [ "${VG_KEEP:-}" = 1 ]; then
        : >"$VG_HOST_SCRATCH/.kept"
        vg_log "kept $VG_HOST_SCRATCH"
    else
        rm -rf "$VG_HOST_SCRATCH"
    fi
}

vg_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || vg_skip "'$c' is not installed (.ci/deps installs it)"
    done
}

# vg_enter_ns "$@": on the host, re-run this script inside private
# namespaces and exit with its status; inside, return.
vg_enter_ns() {
    if [ "${VG_IN_NS:-}" = 1 ]; then
        [ "${VG_VERBOSE:-}" = 1 ] && set -x
        return 0
    fi
    [ "$(id -u)" = 0 ] || vg_skip "needs root (real libvirtd, mounts, namespaces)"
    vg_require_cmd "$VIRSH" "$LIBVIRTD" virtlogd qemu-img qemu-system-x86_64 \
        unshare flock socat timeout setpriv
    command -v genisoimage >/dev/null 2>&1 || command -v xorriso >/dev/null 2>&1 ||
        vg_skip "neither genisoimage nor xorriso is installed"
    getent passwd libvirt-qemu >/dev/null || vg_skip "no libvirt-qemu user (install libvirt-daemon-system)"
    unshare --mount --pid --fork --net --ipc --mount-proc --propagation private true 2>/dev/null ||
        vg_skip "cannot create mount/pid/net namespaces here (unshare failed)"
    if [ "${VG_NEEDS_HOOK:-1}" = 1 ] && [ ! -x "$VG_HOOK" ]; then
        vg_hard_error "no hook binary at '$VG_HOOK' (run make first)"
    fi

    # On any exit of the host side: undo host changes, drop the scratch dir
    # (both only once we hold the lock: before, they belong to another run).
    VG_HOST_SCRATCH=
    trap vg_host_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    vg_host_prepare

    # Scratch directories left by runs that were killed (no run is active
    # while we hold the lock); VG_KEEP=1 ones are kept.
    local old rc=0
    for old in /tmp/vg-integ.*; do
        [ -d "$old" ] && [ ! -e "$old/.kept" ] && rm -rf "$old"
    done
    VG_HOST_SCRATCH=$(mktemp -d "/tmp/vg-integ.$VG_NAME.XXXXXX")
    chmod 0755 "$VG_HOST_SCRATCH"
    local scratch=$VG_HOST_SCRATCH

    # The namespace inherits the lock (fd 9): if this shell is killed, the
    # lock stays held until the namespace's last process is gone, and the
    # next run replays the journal only then.
    local t0
    t0=$(vg_now_ms)
    timeout --kill-after=15 "$VG_TEST_TIMEOUT" \
        unshare --mount --pid --fork --net --ipc --mount-proc --propagation private \
            --kill-child=SIGKILL \
        env VG_IN_NS=1 VG_SCRATCH="$scratch" bash "$VG_SCRIPT" "$@" || rc=$?
    [ "$rc" = 124 ] && printf 'FAIL: %s: the whole scenario took more than %s s\n' \
        "$VG_NAME" "$VG_TEST_TIMEOUT" >&2
    vg_log "finished with status $rc after $(( $(vg_now_ms) - t0 )) ms"
    exit "$rc"
}

# ---------------------------------------------------------------------------
# Namespace side

VG_FUSE_PIDS=()         # "pid:mountpoint" of FUSE daemons we started
VG_SETUP_DONE=0

vg_diagnostics() {
    echo "----- diagnostics for $VG_NAME -----"
    echo "--- mounts below /var/lib/libvirt:"
    grep ' /var/lib/libvirt' /proc/self/mountinfo || true
    if [ -n "${VG_SCRATCH:-}" ] && [ -s "$VG_SCRATCH/syslog.txt" ]; then
        echo "--- syslog lines (from /dev/log):"
        vg_syslog_lines | tail -n 30
    fi
    echo "--- libvirtd log (tail):"
    tail -n 60 /var/log/libvirt/libvirtd.log 2>/dev/null || echo "(none)"
    local f
    for f in /var/log/libvirt/qemu/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f (tail):"
        tail -n 15 "$f"
    done
    echo "--- processes:"
    ps -eo pid,user,stat,wchan:24,args 2>/dev/null | head -n 40 || true
    echo "--- threads blocked in the kernel (D state, or waiting for a FUSE answer):"
    ps -eLo pid,tid,stat,wchan:32,comm 2>/dev/null |
        awk 'NR == 1 || $3 ~ /D/ || $4 ~ /fuse|request_wait/' || true
    echo "----- end of diagnostics -----"
}

vg_kill_pid() {
    # vg_kill_pid PID NAME: TERM, wait up to 10 s, then KILL.
    local pid=$1 name=$2
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    printf '%s: %s (pid %s) ignored SIGTERM for 10 s, killing it\n' "$VG_NAME" "$name" "$pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

vg_pidfile_pid() { cat "$1" 2>/dev/null || true; }

vg_teardown() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        vg_diagnostics >&2
    fi
    # Hung FUSE mounts first: nothing else can be waited for while a
    # process may be blocked on one.
    local entry
    for entry in "${VG_FUSE_PIDS[@]}"; do
        vg_fuse_stop "${entry#*:}" "${entry%%:*}"
    done
    if [ "$VG_SETUP_DONE" = 1 ]; then
        local dom
        for dom in $(timeout 10 "$VIRSH" -q -c "$VG_URI" list --name 2>/dev/null); do
            timeout 10 "$VIRSH" -q -c "$VG_URI" destroy "$dom" >/dev/null 2>&1
        done
    fi
    vg_kill_pid "$(vg_pidfile_pid /run/libvirt/libvirtd.pid)" libvirtd
    vg_kill_pid "$(vg_pidfile_pid /run/libvirt/virtlogd.pid)" virtlogd
    vg_kill_pid "${VG_SOCAT_PID:-}" socat
    # We are PID 1 of the namespace: everything still left dies with us,
    # and the mounts go with the namespace.
    exit "$rc"
}

# Set the key in a libvirt-style conf file: drop any line setting it, append.
vg_conf_set() {
    local file=$1 key=$2 value=$3
    sed -i -E "/^[[:space:]]*${key}[[:space:]]*=/d" "$file"
    printf '%s = %s\n' "$key" "$value" >>"$file"
}

vg_conf_unset() {
    sed -i -E "/^[[:space:]]*$2[[:space:]]*=/d" "$1"
}

# vg_write_config MODE FSTYPE...: the virtguard config the hook reads.
vg_write_config() {
    local mode=$1 types="" t
    shift
    for t in "$@"; do types="$types\"$t\", "; done
    cat >"$VG_CONF.tmp" <<EOF
# written by $VG_NAME
mode = "$mode"
shared_mounts = [ "$VG_SHARED" ]
shared_fs_types = [ ${types%, } ]
probe_timeout_ms = ${VG_PROBE_TIMEOUT_MS:-2000}
qemu_conf = "/etc/libvirt/qemu.conf"
EOF
    mv -f "$VG_CONF.tmp" "$VG_CONF"
}

vg_mount_private_state() {
    local s=$VG_SCRATCH

    # /run: libvirt's sockets and pid files, fusermount's utab.
    mount -t tmpfs -o mode=0755 vg-run /run
    mkdir -p /run/lock /run/libvirt /run/mount
    chmod 0755 /run/libvirt

    # /etc/libvirt: a copy of the host's, without anything that would make
    # the private libvirtd do more than we ask: no hooks but ours, no
    # persistent or autostarted domains, networks or pools.
    cp -a /etc/libvirt "$s/etc-libvirt"
    # The hook to test may be the installed one (make demo): keep a copy
    # before its directory is covered by the filtered one.
    if [ -f "$VG_HOOK" ]; then
        cp "$VG_HOOK" "$s/hook-under-test"
        VG_HOOK=$s/hook-under-test
    fi
    rm -rf "$s/etc-libvirt/hooks"/* "$s/etc-libvirt/storage"
    find "$s/etc-libvirt/qemu" -maxdepth 1 -name '*.xml' -delete 2>/dev/null || true
    rm -rf "$s/etc-libvirt/qemu/autostart" "$s/etc-libvirt/qemu/networks/autostart"
    mkdir -p "$s/etc-libvirt/hooks/qemu.d"
    # Debian's defaults for what the scenarios depend on (user, group,
    # ownership handling); apparmor makes libvirtd exit on a kernel
    # without the LSM.
    local key
    for key in user group dynamic_ownership remember_owner security_driver \
               security_default_confined security_require_confined cgroup_controllers; do
        vg_conf_unset "$s/etc-libvirt/qemu.conf" "$key"
    done
    # libvirtd's own log: warnings, plus what shows the order of events.
    local c=$s/etc-libvirt/libvirtd.conf
    sed -i -E '/^[[:space:]]*log_(level|filters|outputs)[[:space:]]*=/d' "$c"
    vg_conf_set "$c" log_filters '"1:util.hook 1:qemu.qemu_process 1:security.security_dac 3:*"'
    vg_conf_set "$c" log_outputs '"1:file:/var/log/libvirt/libvirtd.log"'
    # A tmpfs, not a bind mount of the scratch copy: /tmp may be noexec,
    # and the hook is executed from here.
    mount -t tmpfs -o mode=0755 vg-etc /etc/libvirt
    cp -a "$s/etc-libvirt/." /etc/libvirt/

    # /var/lib/libvirt: an empty tmpfs with the host's subdirectories,
    # modes and owners (qemu/ is libvirt-qemu 0750 on Debian: QEMU under a
    # static DAC label must still reach its domain-N-NAME/ files).
    local specs=() spec d m o
    for spec in qemu:0750:libvirt-qemu:libvirt-qemu boot:0711:root:root \
                images:0711:root:root sanlock:0700:root:root; do
        IFS=: read -r d m o <<<"$spec"
        if [ -d "/var/lib/libvirt/$d" ]; then
            m=$(stat -c %a "/var/lib/libvirt/$d")
            o=$(stat -c %U:%G "/var/lib/libvirt/$d")
        fi
        specs+=("$d:$m:$o")
    done
    mount -t tmpfs -o mode=0755 vg-varlib /var/lib/libvirt
    for spec in "${specs[@]}"; do
        IFS=: read -r d m o <<<"$spec"
        mkdir "/var/lib/libvirt/$d"
        chown "$o" "/var/lib/libvirt/$d"
        chmod "$m" "/var/lib/libvirt/$d"
    done
    mount -t tmpfs -o mode=0755 vg-log /var/log/libvirt
    mkdir -p /var/log/libvirt/qemu
    mount -t tmpfs -o mode=0711 vg-cache /var/cache/libvirt
    mkdir -p /var/cache/libvirt/qemu
    chmod 0711 /var/cache/libvirt/qemu

    # No cgroup file systems in this namespace: libvirt then creates no
    # cgroups (the host's cgroup trees are shared, not namespaced).  They
    # must be unmounted, not covered: libvirt reads /proc/mounts, which
    # lists covered mounts too.  Private propagation keeps this from the host.
    if grep -q ' /sys/fs/cgroup' /proc/self/mountinfo; then
        umount --recursive /sys/fs/cgroup 2>/dev/null || umount --recursive --lazy /sys/fs/cgroup
    fi
    ! grep -q -E ' - cgroup2? ' /proc/self/mountinfo ||
        vg_hard_error "cgroup file systems are still mounted in the namespace"

    # The virtguard config directory.
    mount -t tmpfs -o mode=0755 vg-conf "$VG_CONF_DIR"
}

vg_start_syslog() {
    local sock=$VG_SCRATCH/log
    : >"$VG_SCRATCH/syslog.txt"
    socat -u "UNIX-RECV:$sock,mode=666" "OPEN:$VG_SCRATCH/syslog.txt,append" \
        </dev/null >/dev/null 2>"$VG_SCRATCH/socat.err" &
    VG_SOCAT_PID=$!
    vg_wait_until 5 "the syslog socket" test -S "$sock" || vg_hard_error "socat did not start"
    mount --bind "$sock" /dev/log
}

# One syslog record per line.  syslog(3) sends each record as one datagram
# with no trailing newline; socat writes them back to back, each starting
# with its "<PRI>" tag.
vg_syslog_lines() {
    { cat "$VG_SCRATCH/syslog.txt"; echo; } | sed -E 's/<[0-9]{1,3}>/\n&/g' | sed '/^$/d'
}

vg_start_daemons() {
    local virtlogd
    virtlogd=$(command -v virtlogd)
    env -i PATH="$VG_DAEMON_PATH" HOME=/root LC_ALL=C \
        "$virtlogd" -d -p /run/libvirt/virtlogd.pid
    vg_wait_until 10 "virtlogd's socket" test -S /run/libvirt/virtlogd-sock ||
        vg_hard_error "virtlogd did not start"
    env -i PATH="$VG_DAEMON_PATH" HOME=/root LC_ALL=C \
        "$(command -v "$LIBVIRTD")" -d -p /run/libvirt/libvirtd.pid
    vg_wait_until 30 "libvirtd to answer" vg_virsh_quiet list ||
        vg_hard_error "libvirtd did not answer within 30 s"
}

vg_virsh_quiet() { timeout 10 "$VIRSH" -q -c "$VG_URI" "$@"; }

# vg_virsh ARGS: virsh with a time limit; output on stdout+stderr.
vg_virsh() { timeout "${VG_VIRSH_TIMEOUT:-60}" "$VIRSH" -q -c "$VG_URI" "$@" 2>&1; }

# The hook as a real file (not a symlink), mode 0755, in the private
# /etc/libvirt; libvirtd finds it when it starts.
vg_install_hook() {
    install -m 0755 "$VG_HOOK" "$VG_HOOK_DEST"
}

# vg_setup: everything a scenario needs, ending with a running libvirtd
# that has the hook and a config with the shared mount on tmpfs.
vg_setup() {
    [ "${VG_IN_NS:-}" = 1 ] || vg_hard_error "vg_setup outside the namespace"
    trap vg_teardown EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    local t0
    t0=$(vg_now_ms)
    vg_mount_private_state
    vg_write_config enforce tmpfs
    if [ "${VG_NEEDS_HOOK:-1}" = 1 ]; then
        vg_install_hook
    fi
    vg_start_syslog
    vg_start_daemons
    VG_SETUP_DONE=1
    vg_log "namespace, state and daemons ready in $(( $(vg_now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------------------
# Shared mount stand-ins

vg_mount_shared_tmpfs() {
    mount -t tmpfs -o mode=0711 vg-shared "$VG_SHARED"
}

vg_is_mounted() { grep -q " $1 " /proc/self/mountinfo; }

vg_umount_shared() {
    umount "$VG_SHARED"
    ! vg_is_mounted "$VG_SHARED" || vg_hard_error "$VG_SHARED is still mounted"
}

vg_fstype_of() {
    # Field after " - " in mountinfo; last mount on that point wins.
    awk -v mp="$1" '$5 == mp { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } } END { print t }' \
        /proc/self/mountinfo
}

# vg_bindfs SRC: bindfs SRC over the shared dir, chown silently ignored
# (what 9p security_model=none does).
vg_bindfs() {
    bindfs --chown-ignore --chgrp-ignore "$1" "$VG_SHARED"
    vg_wait_until 5 "the bindfs mount" vg_is_mounted "$VG_SHARED" ||
        vg_hard_error "bindfs did not mount"
    # bindfs daemonizes: find it by its mount point argument.
    local pid
    pid=$(pgrep -n -x bindfs || true)
    VG_FUSE_PIDS+=("${pid}:$VG_SHARED")
}

# vg_bindfs_owned_by UID: the images (vg_make_images) in $VG_SCRATCH/share,
# owned by UID:UID like the directory (0755), the overlay 0600 so that only
# UID may open it, seen on the shared dir through vg_bindfs: libvirt's chown
# to libvirt-qemu is silently ignored, as on Lima's 9p security_model=none.
vg_bindfs_owned_by() {
    local uid=$1 src=$VG_SCRATCH/share
    mkdir -p "$src"
    vg_make_images "$src" "$uid:$uid"
    chown "$uid:$uid" "$src"
    chmod 0755 "$src"
    chmod 0600 "$src/overlay.qcow2"
    vg_bindfs "$src"
}

# vg_hangfs [--all]: hangfs over the shared dir.
vg_hangfs() {
    [ -x "$VG_HANGFS" ] || vg_hard_error "no hangfs at '$VG_HANGFS' (libfuse3-dev missing at configure time?)"
    "$VG_HANGFS" "$@" "$VG_SHARED" </dev/null >"$VG_SCRATCH/hangfs.log" 2>&1 &
    VG_FUSE_PIDS+=("$!:$VG_SHARED")
    vg_wait_until 5 "the hangfs mount" vg_is_mounted "$VG_SHARED" ||
        vg_hard_error "hangfs did not mount: $(cat "$VG_SCRATCH/hangfs.log")"
}

# Lazy unmount, then end the daemon: the kernel aborts the connection and
# every process blocked on the mount gets an error.
vg_fuse_stop() {
    local mp=$1 pid=$2
    if vg_is_mounted "$mp"; then
        timeout 5 fusermount3 -u -z "$mp" 2>/dev/null || timeout 5 umount -l "$mp" 2>/dev/null || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local kept=()
    local e
    for e in "${VG_FUSE_PIDS[@]}"; do
        [ "$e" = "$pid:$mp" ] || kept+=("$e")
    done
    VG_FUSE_PIDS=("${kept[@]}")
}

# ---------------------------------------------------------------------------
# Images and domains

# vg_make_images DIR [OWNER]: base.qcow2, overlay.qcow2 (backed by the
# base) and a cloud-init seed.iso in DIR, owned by OWNER (user:group).
# VG_IMAGE_OWNER is what QEMU can use as it is, without libvirt's chown:
# the scenarios that should start leave no doubt about DAC that way.
vg_make_images() {
    local dir=$1 owner=${2:-}
    mkdir -p "$dir"
    qemu-img create -q -f qcow2 "$dir/base.qcow2" 64M
    # A relative backing file name, resolved next to the overlay: the chain
    # stays on whatever is mounted there (e.g. seen through bindfs).
    (cd "$dir" && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2)
    mkdir -p "$VG_SCRATCH/seed"
    printf '#cloud-config\nhostname: vg-test\n' >"$VG_SCRATCH/seed/user-data"
    printf 'instance-id: vg-test\nlocal-hostname: vg-test\n' >"$VG_SCRATCH/seed/meta-data"
    if command -v genisoimage >/dev/null 2>&1; then
        genisoimage -quiet -output "$dir/seed.iso" -volid cidata -joliet -rock \
            "$VG_SCRATCH/seed/user-data" "$VG_SCRATCH/seed/meta-data"
    else
        xorriso -as mkisofs -quiet -output "$dir/seed.iso" -volid cidata -joliet -rock \
            "$VG_SCRATCH/seed/user-data" "$VG_SCRATCH/seed/meta-data"
    fi
    if [ -n "$owner" ]; then
        chown "$owner" "$dir/base.qcow2" "$dir/overlay.qcow2" "$dir/seed.iso"
    fi
}

# vg_domain_xml NAME DIR [EXTRA]: a TCG domain with DIR/overlay.qcow2 as
# its disk and DIR/seed.iso as a cdrom; EXTRA goes before </domain>.
vg_domain_xml() {
    local name=$1 dir=$2 extra=${3:-}
    cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$dir/overlay.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$dir/seed.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <memballoon model='none'/>
  </devices>
$extra
</domain>
EOF
}

# vg_define NAME DIR [EXTRA]
vg_define() {
    local xml=$VG_SCRATCH/$1.xml out
    vg_domain_xml "$@" >"$xml"
    out=$(vg_virsh define "$xml") || vg_fail "virsh define $1 failed: $out"
}

# vg_add_to_domain NAME XML: what a user does with `virsh edit`: the
# persistent definition gets XML just before </domain>.
vg_add_to_domain() {
    local name=$1 add=$2 xml out
    xml=$(vg_virsh dumpxml --inactive "$name") || vg_fail "virsh dumpxml $name failed: $xml"
    case $xml in *"</domain>"*) ;; *) vg_fail "virsh dumpxml $name gave no domain XML: $xml" ;; esac
    printf '%s  %s\n</domain>\n' "${xml%</domain>*}" "$add" >"$VG_SCRATCH/$name.edited.xml"
    out=$(vg_virsh define "$VG_SCRATCH/$name.edited.xml") || vg_fail "virsh define (edited $name) failed: $out"
}

# vg_start NAME: runs `virsh start`; sets VG_OUT (its output), VG_RC and
# VG_ELAPSED_MS.  Never fails by itself.
vg_start() {
    local t0
    t0=$(vg_now_ms)
    VG_RC=0
    VG_OUT=$(vg_virsh start "$1") || VG_RC=$?
    VG_ELAPSED_MS=$(( $(vg_now_ms) - t0 ))
    vg_log "virsh start $1: status $VG_RC after $VG_ELAPSED_MS ms"
    [ -z "$VG_OUT" ] || printf '%s\n' "$VG_OUT" | sed 's/^/  | /'
}

vg_expect_start_ok() {
    vg_start "$1"
    [ "$VG_RC" = 0 ] || vg_fail "virsh start $1 failed (status $VG_RC): $VG_OUT"
    vg_expect_state "$1" running
}

# vg_expect_start_refused NAME PHRASE...: the start fails, the error comes
# from a hook, and it contains every PHRASE.
vg_expect_start_refused() {
    local name=$1 p
    shift
    vg_start "$name"
    [ "$VG_RC" != 124 ] || vg_fail "virsh start $name did not return within ${VG_VIRSH_TIMEOUT:-60} s"
    [ "$VG_RC" != 0 ] || vg_fail "virsh start $name succeeded; virtguard should have refused it"
    vg_assert_contains "$VG_OUT" "Hook script execution failed" "the virsh error"
    for p in "$@"; do
        vg_assert_contains "$VG_OUT" "$p" "the virsh error"
    done
    vg_expect_state "$name" "shut off"
}

vg_assert_contains() {
    local text=$1 phrase=$2 what=$3
    case $text in
        *"$phrase"*) ;;
        *) vg_fail "$what does not contain \"$phrase\"; it was: $text" ;;
    esac
}

vg_expect_state() {
    local state
    state=$(vg_virsh domstate "$1") || vg_fail "virsh domstate $1 failed: $state"
    [ "$state" = "$2" ] || vg_fail "domain $1 is '$state', expected '$2'"
}

# vg_expect_syslog NAME WORD: a virtguard syslog line names the domain and
# says WORD ("refused", "allowed", "warned").  Waits up to 3 s (datagrams
# are written by socat asynchronously).
vg_expect_syslog() {
    local name=$1 word=$2
    if ! vg_wait_until 3 "a syslog line for $name with '$word'" vg_syslog_has "$name" "$word"; then
        vg_fail "no virtguard syslog line names '$name' and says '$word'"
    fi
}

vg_syslog_has() {
    vg_syslog_lines | grep -F 'virtguard' | grep -F -- "$1" | grep -q -F -- "$2"
}

vg_qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

# vg_hook_ms NAME OP: how long libvirtd waited for the hooks of the last
# OP call for NAME: from its "Calling hook" debug line to the next line of
# the same thread.  Empty when the log does not tell.
vg_hook_ms() {
    awk -v needle="id=$1 op=$2 " '
        function ms(t,   a) { split(t, a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 }
        index($0, "Calling hook") && index($0, needle) { t0 = ms(substr($2, 1, 12)); tid = $3; next }
        t0 != "" && $3 == tid { d = ms(substr($2, 1, 12)) - t0; t0 = "" }
        END { if (d != "") printf "%d\n", d }' /var/log/libvirt/libvirtd.log
}

# The hook ran for this domain and operation (libvirtd's debug log).
vg_expect_hook_called() {
    local name=$1 op=$2
    grep -q -F "Calling hook $VG_HOOK_DEST id=$name op=$op " /var/log/libvirt/libvirtd.log ||
        vg_fail "libvirtd did not run $VG_HOOK_DEST for '$name' op=$op"
}

# ---------------------------------------------------------------------------
# The installed helper (scenarios 07, 09)

# vg_overlay DIR: a writable scratch view of a system directory, for this
# namespace only: overlayfs with a tmpfs upper layer (under $VG_OVL) on the
# nearest existing ancestor.
vg_overlay() {
    local dir=$1 base=$VG_OVL/ovl$(echo "$1" | tr / _)
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    if ! grep -q " $dir overlay " /proc/self/mountinfo; then
        mkdir -p "$base/u" "$base/w"
        mount -t overlay overlay -o "lowerdir=$dir,upperdir=$base/u,workdir=$base/w" "$dir"
    fi
    mkdir -p "$1"       # e.g. a distcheck prefix that is not installed yet
}

# vg_setup_with_helper: vg_setup, with the build's virtguard-helper installed
# where the hook runs it ($sbindir), and scratch views of the AppArmor dir
# and virtguard's cache.  The overlays are made before vg_setup, whose own
# mounts (e.g. $sysconfdir/virtguard) may lie below one of these directories
# and must stay on top; their upper layers live in a tmpfs over /mnt.
vg_setup_with_helper() {
    : "${sbindir:?sbindir not set (make check sets it)}"
    : "${localstatedir:?}" "${apparmordir:?}"
    VG_HELPER_BIN=$top_builddir/helper/virtguard-helper
    [ -x "$VG_HELPER_BIN" ] || vg_skip "helper not built"
    command -v apparmor_parser >/dev/null || vg_skip "apparmor_parser not installed"
    VG_OVL=/mnt
    mount -t tmpfs vg-ovl "$VG_OVL"
    vg_overlay "$sbindir"
    vg_overlay "$apparmordir"
    vg_overlay "$localstatedir/cache"
    vg_setup
    install -m 0755 "$VG_HELPER_BIN" "$sbindir/virtguard-helper"
    # A build for another prefix has its own AppArmor dir: give it the system's policy.
    if [ "$apparmordir" != /etc/apparmor.d ]; then
        mkdir -p "$apparmordir" && cp -a /etc/apparmor.d/. "$apparmordir/"
    fi
}
