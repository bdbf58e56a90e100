# tree-lib.sh -- what build-base.sh and build-chroot.sh share (sourced):
# the host's Debian mirrors, the chroot's mounts, the suite's sources lines.
# The callers set log() and tmp (the tree being built) first.

# Every archive URI named in the host's apt sources, deb822 ("URIs: ...")
# or one-line ("deb URI suite ...") format.
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

# Sets mirror (the first Debian archive) and security_mirror (may be empty).
find_mirrors() {
    mirror=$(host_mirror | grep -E '/debian/?$' | head -n1 || true)
    [ -n "$mirror" ] || { log "no Debian mirror found in /etc/apt/sources*"; exit 1; }
    security_mirror=$(host_mirror | grep -E '/debian-security/?$' | head -n1 || true)
}

# SUITE's own sources lines on the host's mirrors, in the tree (removed
# again by the caller: no trace of the host's mirrors in a cached tree).
write_suite_sources() { # SUITE
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$1" "$1"
        [ -z "$security_mirror" ] ||
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security_mirror" "$1"
    } >"$tmp/etc/apt/sources.list.d/e2e-$1.sources"
}

# No daemon may start inside the chroot; apt's own sources are the caller's.
prepare_tree() {
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/usr/sbin/policy-rc.d"
    rm -f "$tmp/etc/apt/sources.list"
    mkdir -p "$tmp/etc/apt/sources.list.d"
}

mount_tree() {
    mount -t proc proc "$tmp/proc"
    mount -t sysfs sysfs "$tmp/sys"
    mount --bind /dev "$tmp/dev"
    mount --bind /dev/pts "$tmp/dev/pts"
}

cleanup() {
    local m
    for m in dev/pts dev proc sys; do
        mountpoint -q "$tmp/$m" 2>/dev/null && umount -l "$tmp/$m" || true
    done
}
