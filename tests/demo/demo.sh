#!/bin/bash
# virtguard demo (README's first command): run as root from a built tree,
# `make demo` or `tests/demo/demo.sh`.  Nothing is installed: the hook is
# the build's (hooks/virtguard-hook), copied into the private /etc/libvirt
# of the namespace, as the integration scenarios do (tests/integration/lib.sh).
#
#  1. The headline failure: a 9p-like share that ignores chown (bindfs
#     --chown-ignore --chgrp-ignore stands in for 9p security_model=none,
#     as tests/integration/03-dac-bindfs.sh) and an overlay 0600 owned by
#     uid 1000.  Unguarded, QEMU fails with "Permission denied"; guarded,
#     virtguard refuses before QEMU starts and proposes a per-domain DAC
#     <seclabel>; with it the domain starts, QEMU as uid 1000, confinement
#     kept (on a kernel with AppArmor: libvirt-<uuid> (enforce); this is
#     shown when the kernel has it, else said).
#  2. The mount disappears (what Lima's nofail 9p mount leaves behind when
#     it fails): the start is refused with a message that says what is wrong.
#
# Everything happens in private namespaces with a private libvirtd (see
# tests/integration/README.md): the machine's libvirt state, domains and
# /etc/virtguard/virtguard.conf are not touched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

: "${sysconfdir:=/etc}"
export sysconfdir
top_srcdir=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
: "${top_builddir:=$top_srcdir}"
: "${VG_HOOK:=$top_builddir/hooks/virtguard-hook}"
export top_srcdir top_builddir VG_HOOK
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

if [ -t 1 ]; then
    say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    say() { printf '\n==> %s\n' "$*"; }
fi
show() { printf '    $ %s\n' "$*"; }
# the hook's message, without libvirt's "... unexpected exit status 1: " wrapper
unwrap() { printf '%s\n' "$1" | sed -E 's/^.*unexpected exit status [0-9]+: //' | sed 's/^/      /'; }

if [ "${VG_IN_NS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "demo: run me as root (sudo make demo)" >&2; exit 1; }
    if [ ! -x "$VG_HOOK" ]; then
        echo "demo: no hook at '$VG_HOOK': build first (make)" >&2
        exit 1
    fi
    if ! grep -q -a -F "$sysconfdir/virtguard/virtguard.conf" "$VG_HOOK"; then
        echo "demo: warning: '$VG_HOOK' does not seem to read '$sysconfdir/virtguard/virtguard.conf';" >&2
        echo "demo: set sysconfdir= to the value it was configured with" >&2
    fi
    vg_require_cmd bindfs fusermount3
fi
VG_TEST_TIMEOUT=180
vg_enter_ns "$@"

say "Setting up a private libvirt (namespaces: nothing on this machine changes)"
vg_setup >/dev/null
echo "    private libvirtd and virtlogd are running; hook from the build tree: $VG_HOOK"

owner_uid=1000
qemu_gid=$(getent group libvirt-qemu | cut -d: -f3)
[ -n "$qemu_gid" ] || vg_hard_error "no libvirt-qemu group"
vg_bindfs_owned_by "$owner_uid"
fstype=$(vg_fstype_of "$VG_SHARED")

say "A 9p-like share on $VG_SHARED (bindfs ignoring chown, like Lima's 9p security_model=none)"
(cd "$VG_SHARED" && ls -ln) | sed 's/^/      /'
echo "    the overlay is 0600, owned by uid $owner_uid (the Mac user); libvirt's chown to"
echo "    libvirt-qemu is silently ignored by the share"
vg_define demo-dac "$VG_SHARED"
show "virsh define demo-dac.xml"

say "Without virtguard guarding the share, QEMU fails: Permission denied"
vg_conf_set "$VG_CONF" shared_mounts '[ ]'
show "virsh start demo-dac"
vg_start demo-dac >/dev/null
[ "$VG_RC" != 0 ] || vg_fail "demo-dac started although QEMU cannot open its overlay"
printf '%s\n' "$VG_OUT" | grep -o "Could not open '[^']*': Permission denied" | head -n 1 | sed 's/^/      /'
printf '%s\n' "$VG_OUT" | grep -q "Permission denied" || vg_fail "no 'Permission denied' in: $VG_OUT"

say "With virtguard guarding it: refused before QEMU starts, with the per-domain fix"
vg_write_config enforce "$fstype"
echo "    $VG_CONF:"
grep -v '^#' "$VG_CONF" | sed 's/^/      /'
show "virsh start demo-dac"
vg_start demo-dac >/dev/null
[ "$VG_RC" != 0 ] || vg_fail "virtguard let demo-dac start"
unwrap "$VG_OUT"
fix=$(printf '%s\n' "$VG_OUT" | grep -o "<seclabel type='static' model='dac' relabel='no'><label>[^<]*</label></seclabel>" | head -n 1)
[ -n "$fix" ] || vg_fail "no <seclabel> fix in: $VG_OUT"

say "Apply the fix it names, start again: it works, confined"
show "virsh edit demo-dac   # add $fix"
vg_add_to_domain demo-dac "$fix"
show "virsh start demo-dac"
vg_start demo-dac >/dev/null
[ "$VG_RC" = 0 ] || vg_fail "demo-dac did not start with the fix: $VG_OUT"
pid=$(vg_qemu_pid demo-dac)
ids=$(ps -o uid=,gid= -p "$pid" | tr -s ' ' | sed 's/^ //')
[ "$ids" = "$owner_uid $qemu_gid" ] || vg_fail "QEMU runs as '$ids', expected '$owner_uid $qemu_gid'"
echo "    QEMU (pid $pid) runs as uid $owner_uid gid $qemu_gid (libvirt-qemu), not root"
label=$(cat "/proc/$pid/attr/current" 2>/dev/null || true)
if [ -n "$label" ] && [ "$label" != unconfined ]; then
    echo "    AppArmor: $label"
else
    echo "    (this kernel has no AppArmor, so libvirt labels nothing here; on a host with"
    echo "    AppArmor the same start runs under libvirt-<uuid> (enforce): the e2e guests check it)"
fi
vg_virsh destroy demo-dac >/dev/null || vg_fail "virsh destroy failed"
vg_fuse_stop "$VG_SHARED" "$(pgrep -n -x bindfs || true)"

say "The shared mount: $VG_SHARED (a tmpfs stands in for Lima's 9p mount)"
vg_mount_shared_tmpfs
vg_write_config enforce tmpfs
echo "    $VG_CONF:"
grep -v '^#' "$VG_CONF" | sed 's/^/      /'

say "A domain with a qcow2 overlay, its base image and a cloud-init ISO on it"
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
(cd "$VG_SHARED" && ls -l) | sed 's/^/      /'
vg_define demo-vm "$VG_SHARED"
show "virsh define demo-vm.xml"

say "Start it: the mount is there, virtguard lets it start"
show "virsh start demo-vm"
vg_start demo-vm >/dev/null
[ "$VG_RC" = 0 ] || vg_fail "the first start failed: $VG_OUT"
vg_virsh list --all | sed 's/^/      /'
show "virsh destroy demo-vm"
vg_virsh destroy demo-vm >/dev/null || vg_fail "virsh destroy failed"

say "The shared mount goes away (Lima mounts with nofail: an empty directory is left)"
show "umount $VG_SHARED"
vg_umount_shared
echo "    $VG_SHARED is now a plain directory on $(vg_fstype_of /var/lib/libvirt)"

say "Start it again: virtguard refuses, and says why"
show "virsh start demo-vm"
vg_start demo-vm >/dev/null
[ "$VG_RC" != 0 ] || vg_fail "the start succeeded although the shared mount is gone"
# libvirt wraps the hook's stderr: "... unexpected exit status 1: <stderr>".
printf '%s\n' "$VG_OUT" | sed -E 's/^.*unexpected exit status [0-9]+: //' | sed 's/^/      /'
vg_expect_state demo-vm "shut off"
echo
echo "    (libvirt wraps it: \"Hook script execution failed: internal error: Child process"
echo "    (... /etc/libvirt/hooks/qemu.d/virtguard demo-vm prepare begin -) unexpected exit status 1: ...\")"
if vg_wait_until 3 "virtguard's syslog line" vg_syslog_has demo-vm refused 2>/dev/null; then
    echo
    echo "    virtguard also logged it (syslog, facility daemon):"
    vg_syslog_lines | grep -F virtguard | grep -F demo-vm | grep -F refused | tail -n 1 |
        sed -E 's/^<[0-9]+>//' | cut -c1-150 | sed 's/^/      /'
fi

say "Done: the private libvirtd stops and the namespace goes away"
