#!/bin/bash
# build-base.sh OUT_DIR [SUITE] -- build the e2e guest's base root tree
# (Debian SUITE: bookworm, the default, or trixie; AppArmor, libvirt, QEMU)
# into OUT_DIR, without virtguard.
#
# The tree is cached by run-e2e.sh under a name keyed by a hash of the suite
# and this script: edit this file and the next `make check-e2e` builds new
# ones.  Run as root.  The Debian mirror is taken from this machine's own
# apt sources at run time (never written into a file of this project).
set -euo pipefail

out=${1:?usage: build-base.sh OUT_DIR [SUITE]}
suite=${2:-bookworm}
log() { printf 'e2e-base: %s\n' "$*" >&2; }

. "$(dirname "$0")/tree-lib.sh"
find_mirrors

# The host's Debian sources files (main archive, updates, security), copied
# into the chroot for the package install so the guest's libraries are the
# host's versions, then removed again.
host_debian_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [ -s "$f" ] || continue
        grep -qE '^[^#]*(URIs:|deb )' "$f" || continue
        grep -qE '^[^#]*/debian(-security)?/?( |$)' "$f" || continue
        grep -qE '^[^#]*Types:.*deb-src|^[^#]*deb-src ' "$f" && ! grep -qE '^[^#]*Types:.*deb( |$)|^deb ' "$f" && continue
        printf '%s\n' "$f"
    done
}

tmp="$out.tmp"
trap cleanup EXIT
rm -rf "$tmp"
mkdir -p "$tmp"

t0=$(date +%s)
log "debootstrap $suite from the host's mirror"
debootstrap --variant=minbase \
    --include=apparmor,apparmor-utils,kmod,iproute2,procps \
    "$suite" "$tmp" "$mirror" >"$out.debootstrap.log" 2>&1 ||
    { tail -n 30 "$out.debootstrap.log" >&2; exit 1; }
t1=$(date +%s)
log "debootstrap took $((t1 - t0)) s"

prepare_tree
if [ "$suite" = bookworm ]; then
    while read -r f; do
        cp "$f" "$tmp/etc/apt/sources.list.d/e2e-$(basename "$f")"
    done < <(host_debian_sources)
else
    # Another release than the host's: its own suites on the host's mirrors
    # (the host's files name bookworm).
    write_suite_sources "$suite"
fi

# The kernel comes with the packages below, after this: an initramfs of
# only what the guest needs to find its root (virtio disk, ext4) builds in
# seconds instead of minutes (MODULES=most).
mkdir -p "$tmp/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$tmp/etc/initramfs-tools/conf.d/e2e.conf"
mkdir -p "$tmp/usr/share/initramfs-tools/modules.d"
printf '%s\n' virtio_pci virtio_blk crc32c_generic ext4 >"$tmp/usr/share/initramfs-tools/modules.d/e2e"

# Debian 13 (libvirt 11) ships virtlockd apart; the guest starts it as on 12.
suite_packages=""
[ "$suite" = bookworm ] || suite_packages=libvirt-daemon-lock

mount_tree
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
chroot "$tmp" apt-get update -qq >"$out.apt.log" 2>&1
chroot "$tmp" apt-get install -y -q --no-install-recommends \
    linux-image-amd64 initramfs-tools \
    libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu \
    qemu-system-x86 qemu-utils socat curl python3 $suite_packages >>"$out.apt.log" 2>&1 ||
    { tail -n 30 "$out.apt.log" >&2; exit 1; }
chroot "$tmp" apt-get clean
cleanup
t2=$(date +%s)
log "package install took $((t2 - t1)) s"

# Leave no trace of the host's sources or package lists in the image.
rm -f "$tmp"/etc/apt/sources.list.d/e2e-*
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/boot/*.dpkg-bak "$tmp"/boot/*.new

# libvirt: confine QEMU with AppArmor; no default network (no dnsmasq here).
sed -i '/^[[:space:]]*security_driver[[:space:]]*=/d' "$tmp/etc/libvirt/qemu.conf"
echo 'security_driver = "apparmor"' >>"$tmp/etc/libvirt/qemu.conf"
rm -f "$tmp/etc/libvirt/qemu/networks/autostart/"*.xml

# The guest: root on /dev/vda, the test init does the rest.
echo e2e-guest >"$tmp/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' >"$tmp/etc/fstab"
mkdir -p "$tmp/Users/dev/sandboxes"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "base tree ready in $(( $(date +%s) - t0 )) s: $out"
