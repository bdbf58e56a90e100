#!/bin/bash
# build-chroot.sh OUT_DIR SUITE CONTROL -- build a Debian SUITE chroot in
# which virtguard's package is built for that release, with the build
# dependencies of the debian/control file CONTROL (`apt-get build-dep`,
# nothing else: what a Lima instance installs before it builds the package).
#
# Used by run-e2e.sh for a guest whose Debian release is not the host's
# (Debian 13): its package is built natively in this chroot on the host, not
# under TCG, by docs/examples/lima/provision.sh's build-from-source path
# (VIRTGUARD_SRC, VIRTGUARD_BUILD_ONLY), which finds the build dependencies
# installed and so needs no network.  Cached by run-e2e.sh under a name
# keyed by a hash of the suite, this script and CONTROL.  Run as root.  The
# Debian mirror is taken from this machine's own apt sources at run time, as
# build-base.sh does, and removed from the tree again.
set -euo pipefail

out=${1:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
suite=${2:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
control=${3:?usage: build-chroot.sh OUT_DIR SUITE CONTROL}
log() { printf 'e2e-build-chroot: %s\n' "$*" >&2; }

. "$(dirname "$0")/tree-lib.sh"
find_mirrors

tmp="$out.tmp"
trap cleanup EXIT
rm -rf "$tmp"
mkdir -p "$tmp"

t0=$(date +%s)
log "debootstrap $suite (buildd) from the host's mirror"
debootstrap --variant=buildd "$suite" "$tmp" "$mirror" >"$out.debootstrap.log" 2>&1 ||
    { tail -n 30 "$out.debootstrap.log" >&2; exit 1; }
t1=$(date +%s)
log "debootstrap took $((t1 - t0)) s"

prepare_tree
write_suite_sources "$suite"
mkdir -p "$tmp/tmp/vg-control/debian"
cp "$control" "$tmp/tmp/vg-control/debian/control"

mount_tree
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
chroot "$tmp" apt-get update -qq >"$out.apt.log" 2>&1
chroot "$tmp" apt-get build-dep -y -q --no-install-recommends /tmp/vg-control >>"$out.apt.log" 2>&1 ||
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
