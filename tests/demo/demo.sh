#!/bin/bash
# virtguard demo (README): run as root after `make install` (configured with
# --sysconfdir=/etc), e.g. `sudo make demo` or `sudo tests/demo/demo.sh`.
#
# A domain whose qcow2 overlay, backing image and cloud-init ISO live on a
# "shared mount" starts once; then the mount disappears (what Lima's nofail
# 9p mount leaves behind when it fails) and virtguard refuses the start with
# a message that says what is wrong.
#
# Everything happens in private namespaces with a private libvirtd (see
# tests/integration/README.md): the machine's libvirt state, domains and
# /etc/virtguard/virtguard.conf are not touched.  The hook that runs is the
# installed one (copied into the namespace's private /etc/libvirt), reading
# its config from the installed path (a tmpfs over it holds the demo config).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

: "${sysconfdir:=/etc}"
: "${VG_HOOK:=/etc/libvirt/hooks/qemu.d/virtguard}"
export sysconfdir VG_HOOK
top_srcdir=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
export top_srcdir top_builddir="$top_srcdir"
# shellcheck source=tests/integration/lib.sh
. "$top_srcdir/tests/integration/lib.sh"

if [ -t 1 ]; then
    say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    say() { printf '\n==> %s\n' "$*"; }
fi
show() { printf '    $ %s\n' "$*"; }

if [ "${VG_IN_NS:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "demo: run me as root (sudo make demo)" >&2; exit 1; }
    if [ ! -x "$VG_HOOK" ]; then
        echo "demo: no installed hook at '$VG_HOOK': run 'sudo make install' first" >&2
        exit 1
    fi
    if ! grep -q -a -F "$sysconfdir/virtguard/virtguard.conf" "$VG_HOOK"; then
        echo "demo: warning: '$VG_HOOK' does not seem to read '$sysconfdir/virtguard/virtguard.conf';" >&2
        echo "demo: set sysconfdir= to the value it was configured with" >&2
    fi
fi
VG_TEST_TIMEOUT=120
vg_enter_ns "$@"

say "Setting up a private libvirt (namespaces: nothing on this machine changes)"
vg_setup >/dev/null
echo "    private libvirtd and virtlogd are running; hook installed from $VG_HOOK"

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
