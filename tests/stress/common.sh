# common.sh -- shared setup of the stress scripts (tests/stress/*.sh), on
# top of tests/integration/lib.sh.  Sourced by a script AFTER vg_enter_ns
# (so inside the private namespace).
#
# vg_stress_setup: the hook -> helper path with `apparmor = "on"`, exactly
# as tests/integration/07-apparmor-rules.sh sets it up: writable overlays
# (tmpfs upper layers, this namespace only) on the helper's install
# directories, the built helper installed as $sbindir/virtguard-helper,
# then vg_setup (libvirtd with the hook), a tmpfs as the shared mount.

: "${sbindir:?sbindir not set (make check-stress sets it)}"
: "${localstatedir:?localstatedir not set}" "${apparmordir:?apparmordir not set}"
# shellcheck disable=SC2154  # set by lib.sh
VG_HELPER_BIN=$top_builddir/helper/virtguard-helper
VG_HELPER_LOCK=/run/virtguard/helper.lock
VG_AA_LIBVIRT=$apparmordir/libvirt
VG_CACHE=$localstatedir/cache/virtguard

vg_stress_overlay() {
    local dir=$1 base
    base=/mnt/ovl$(echo "$1" | tr / _)
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    if ! grep -q " $dir overlay " /proc/self/mountinfo; then
        mkdir -p "$base/u" "$base/w"
        mount -t overlay overlay -o "lowerdir=$dir,upperdir=$base/u,workdir=$base/w" "$dir"
    fi
    mkdir -p "$1"
}

vg_stress_setup() {
    [ -x "$VG_HELPER_BIN" ] || vg_skip "helper not built"
    command -v apparmor_parser >/dev/null || vg_skip "apparmor_parser not installed"
    mount -t tmpfs vg-ovl /mnt
    vg_stress_overlay "$sbindir"
    vg_stress_overlay "$apparmordir"
    vg_stress_overlay "$localstatedir/cache"
    vg_setup
    install -m 0755 "$VG_HELPER_BIN" "$sbindir/virtguard-helper"
    if [ "$apparmordir" != /etc/apparmor.d ]; then
        mkdir -p "$apparmordir" && cp -a /etc/apparmor.d/. "$apparmordir/"
    fi
    vg_conf_set "$VG_CONF" apparmor '"on"'
    vg_mount_shared_tmpfs
}

# vg_stress_make_images DIR: DIR/overlay.qcow2 backed by the shared
# $VG_SHARED/base.qcow2 (absolute name), plus DIR/seed.iso; owned by QEMU.
vg_stress_make_images() {
    local dir=$1
    mkdir -p "$dir"
    if [ ! -f "$VG_SHARED/base.qcow2" ]; then
        qemu-img create -q -f qcow2 "$VG_SHARED/base.qcow2" 64M
        chown "$VG_IMAGE_OWNER" "$VG_SHARED/base.qcow2"
    fi
    qemu-img create -q -f qcow2 -b "$VG_SHARED/base.qcow2" -F qcow2 "$dir/overlay.qcow2"
    if [ ! -f "$VG_SCRATCH/seed.iso" ]; then
        mkdir -p "$VG_SCRATCH/seed"
        printf '#cloud-config\nhostname: vg-test\n' >"$VG_SCRATCH/seed/user-data"
        printf 'instance-id: vg-test\nlocal-hostname: vg-test\n' >"$VG_SCRATCH/seed/meta-data"
        if command -v genisoimage >/dev/null 2>&1; then
            genisoimage -quiet -output "$VG_SCRATCH/seed.iso" -volid cidata -joliet -rock \
                "$VG_SCRATCH/seed/user-data" "$VG_SCRATCH/seed/meta-data"
        else
            xorriso -as mkisofs -quiet -output "$VG_SCRATCH/seed.iso" -volid cidata -joliet -rock \
                "$VG_SCRATCH/seed/user-data" "$VG_SCRATCH/seed/meta-data"
        fi
    fi
    cp "$VG_SCRATCH/seed.iso" "$dir/seed.iso"
    chown "$VG_IMAGE_OWNER" "$dir/overlay.qcow2" "$dir/seed.iso"
}

vg_stress_uuid() { vg_virsh domuuid "$1" | tr -d '[:space:]'; }

# Residue checks; each prints what it found (nothing = clean).
vg_stress_tmp_files() {
    find "$VG_AA_LIBVIRT" "$VG_CACHE" -name '*.vgtmp.*' 2>/dev/null || true
}
vg_stress_probe_files() {
    find "$VG_SHARED" -name '.virtguard-probe.*' 2>/dev/null || true
}
# virtguard's own processes (hook, helper, its apparmor_parser children).
vg_stress_our_procs() {
    pgrep -a -f 'qemu\.d/virtguard|virtguard-helper|apparmor_parser' || true
}
vg_stress_zombies() { ps -eo pid=,ppid=,stat=,comm= | awk '$3 ~ /^Z/' || true; }
vg_stress_qemus() { pgrep -a -f '^[^ ]*qemu-system' || true; }
# Who still has the helper's lock open (none when no helper runs).
vg_stress_lock_holders() {
    local fd
    for fd in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "$VG_HELPER_LOCK" ] && echo "$fd"
    done
    return 0
}
vg_stress_lock_free() {
    [ -e "$VG_HELPER_LOCK" ] || return 0
    flock -n "$VG_HELPER_LOCK" true
}

vg_stress_median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
