#!/bin/bash
# build-chroot.sh OUT_DIR SUITE CONTROL -- build a Debian SUITE chroot in
# which virtguard's package is built for that release (`make deb`, as on the
# host), with the build dependencies of the debian/control file CONTROL plus
# the autotools a configure from a git checkout may need.
#
# Used by run-e2e.sh for a guest whose Debian release is not the host's
# (Debian 13): its package is built natively in this chroot on the host, not
# under TCG.  Cached by run-e2e.sh under a name keyed by a hash of the
# suite, this script and CONTROL.  Run as root.  The Debian mirror is taken
# from this machine's own apt sources at run time, as build-base.sh does,
# and removed from the tree again.
set -euo pipefail

out=${1:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
suite=${2:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
control=${3:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
log() { printf 'e2e-build-chroot: %s\n' "$*" >&2; }

# The first Debian archive and security archive named in the host's apt
# sources, deb822 ("URIs: ...") or one-line ("deb URI suite ...") format.
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -e "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
    done
}
mirror=$(host_mirror | grep -E '/debian/?$' | head -n1 || true)
[ -n "$mirror" ] || { log "no Debian mirror found in /etc/apt/sources*"; exit 1; }
security_mirror=$(host_mirror | grep -E '/debian-security/?$' | head -n1 || true)

tmp="$out.tmp"
cleanup() {
    local m
    for m in dev/pts dev proc sys; do
        mountpoint -q "$tmp/$m" 2>/dev/null && umount -l "$tmp/$m" || true
    done
}
trap cleanup EXIT
rm -rf "$tmp"
mkdir -p "$tmp"

t0=$(date +%s)
log "debootstrap $suite (buildd) from the host's mirror"
debootstrap --variant=buildd "$suite" "$tmp" "$mirror" >"$out.debootstrap.log" 2>&1 ||
    { tail -n 30 "$out.debootstrap.log" >&2; exit 1; }
t1=$(date +%s)
log "debootstrap took $((t1 - t0)) s"

printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
rm -f "$tmp/etc/apt/sources.list"
mkdir -p "$tmp/etc/apt/sources.list.d"
{
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$suite" "$suite"
    [ -z "$security_mirror" ] ||
        printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security_mirror" "$suite"
} >"$tmp/etc/apt/sources.list.d/e2e-$suite.sources"
mkdir -p "$tmp/tmp/vg-control/debian"
cp "$control" "$tmp/tmp/vg-control/debian/control"

mount -t proc proc "$tmp/proc"
mount -t sysfs sysfs "$tmp/sys"
mount --bind /dev "$tmp/dev"
mount --bind /dev/pts "$tmp/dev/pts"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
chroot "$tmp" apt-get update -qq >"$out.apt.log" 2>&1
chroot "$tmp" apt-get build-dep -y -q --no-install-recommends /tmp/vg-control >>"$out.apt.log" 2>&1 &&
    chroot "$tmp" apt-get install -y -q --no-install-recommends \
        autoconf automake libtool pkg-config make libcmocka-dev >>"$out.apt.log" 2>&1 ||
    { tail -n 30 "$out.apt.log" >&2; exit 1; }
chroot "$tmp" apt-get clean
cleanup
log "build dependencies took $(( $(date +%s) - t1 )) s"

# No trace of the host's mirrors or package lists.
rm -f "$tmp"/etc/apt/sources.list.d/e2e-*
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp/tmp/vg-control"
mkdir -p "$tmp/build/src" "$tmp/build/out"

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
log "build chroot ready in $(( $(date +%s) - t0 )) s: $out"
