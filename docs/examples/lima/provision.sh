#!/bin/bash
# provision.sh -- make a Lima guest a libvirt host that keeps its images on a
# shared mount, with virtguard guarding the starts and AppArmor left on.
#
# lima.yaml (next to this file) runs it as a `mode: system` provisioning
# script: as root, at EVERY boot of the instance.  So every step looks first
# and changes only what is missing or out of date; a second run changes
# nothing.  It runs offline when everything is installed already.
#
# Steps (each prints one or more lines starting with "virtguard-provision:"):
#   1. libvirt and QEMU: installed with apt-get only when a package is missing;
#   2. virtguard: installed from the .deb VIRTGUARD_DEB names when it is not
#      installed or older -- or, with no .deb, built here from the source
#      VIRTGUARD_SRC or VIRTGUARD_SRC_URL names (the instance is itself a
#      Debian build host; see "Building the package" below);
#   3. the images mount: its filesystem type read from /proc/self/mountinfo
#      (9p, virtiofs; fuse.sshfs for reverse-sshfs);
#   4. /etc/virtguard/virtguard.conf for that mount -- written only when it
#      is absent, still the file the package shipped, or still exactly the
#      file this script wrote (the sha256 in its first line matches); a file
#      an admin edited is left alone and said so;
#   5. the helper's AppArmor profile: `virtguard-helper roots`, then
#      `apparmor_parser -r` (when the kernel has AppArmor);
#   6. qemu.conf: security_driver stays at libvirt's default; this script
#      never sets security_driver = "none" or user = "root", and refuses
#      (exit 1) when it finds either;
#   7. libvirtd: with systemd, started if it is not running and restarted
#      after virtguard was installed or upgraded (it looks for hooks when it
#      starts); without systemd, a running libvirtd got SIGHUP from the
#      package, a stopped one is left stopped;
#   8. `virtguard doctor`: its report is printed; a FAIL line (exit 1) or
#      an incomplete report (exit 2) fails the provisioning.
#
# Parameters: Lima passes lima.yaml's `param:` entries to provisioning
# scripts as environment variables prefixed with PARAM_; run by hand, the
# names without the prefix work too (PARAM_X wins over X):
#   VIRTGUARD_DEB          the virtguard .deb: a file in the guest, a
#                          directory holding virtguard_*_ARCH.deb (the
#                          newest is taken) or an https URL; only needed
#                          to install or upgrade
#   VIRTGUARD_DEB_SHA256   its sha256, checked before it is installed
#   VIRTGUARD_SRC          instead of a .deb: a virtguard source tree in the
#                          guest (a git checkout or an unpacked release),
#                          on a read-only mount
#   VIRTGUARD_SRC_URL      instead of a .deb: an https URL of a source
#                          tarball (`make dist`'s virtguard-VERSION.tar.gz)
#   VIRTGUARD_SRC_SHA256   its sha256, checked before it is unpacked
#   (at most one of VIRTGUARD_DEB, VIRTGUARD_SRC and VIRTGUARD_SRC_URL)
#   VIRTGUARD_IMAGES       the images mount point (/var/lib/libvirt/images)
#   VIRTGUARD_HOST_IMAGES  the host directory shared there, for path_map
#                          (optional)
#   VIRTGUARD_MODE         "enforce" (default) or "dev"
#
# Building the package (VIRTGUARD_SRC or VIRTGUARD_SRC_URL, no .deb): before
# step 1, the source is copied into a private directory (mktemp -d, root's,
# removed at exit) -- a tree without its .git, or the tarball downloaded
# with the .deb's checks (https only, also after redirects; the certificate
# checked against the system's CA store; VIRTGUARD_SRC_SHA256 when set) and
# unpacked there; the build reads only that copy, never the share.  Its
# debian/changelog gives the version: when virtguard is installed at that
# version or newer, nothing is built (so a second boot changes nothing);
# with virtguard installed, a VIRTGUARD_SRC that is not there (the share
# not mounted at this boot) keeps it, as a missing .deb does.
# Else, in step 2: the build dependencies (apt-get build-dep on the copy,
# only when dpkg-checkbuilddeps finds one missing: offline when all are
# there; they stay installed), `dpkg-buildpackage -b -uc -us` with
# DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)", then the .deb is installed
# as a given one is.  A failed build installs nothing: its log's last lines,
# then NOT READY, exit 1.
# Root builds and installs what the tree holds, so whoever can write it can
# become root here: the tree must be on a read-only mount (lima.yaml's
# `writable: false`) or be root's (every file owned by root, none group- or
# world-writable); its owner is not checked otherwise, because a Lima share
# shows the Mac user's uid, not root.  Never on the images share (refused,
# like a .deb there).
# VIRTGUARD_BUILD_ONLY=DIR (an environment variable, not a Lima parameter):
# build the package from VIRTGUARD_SRC or VIRTGUARD_SRC_URL, put the .deb in
# DIR and stop: steps 1 and 3-8 are skipped, nothing but missing build
# dependencies is installed and no status file is written (the e2e test
# builds its Debian 13 guest's package so, in a build chroot).
#
# Exit status: 0 ready; 1 not ready (the reason is the last
# "virtguard-provision: NOT READY" line); 2 cannot run (not root, a bad
# parameter, no package to install).  The outcome is also written to
# /run/virtguard-provision.status ("ok" or "failed: REASON", also when the
# run stops early) for lima.yaml's readiness probe.  Lima logs all output to
# /var/log/cloud-init-output.log in the guest.
#
# For tests: with VIRTGUARD_PROVISION_FUNCTIONS_ONLY=1 the script only
# defines its functions; VIRTGUARD_CONF and VIRTGUARD_MOUNTINFO name other
# files than /etc/virtguard/virtguard.conf and /proc/self/mountinfo.
set -eu -o pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CONF=${VIRTGUARD_CONF:-/etc/virtguard/virtguard.conf}
MOUNTINFO=${VIRTGUARD_MOUNTINFO:-/proc/self/mountinfo}
QEMU_CONF=/etc/libvirt/qemu.conf
HELPER_PROFILE=/etc/apparmor.d/usr.sbin.virtguard-helper
STATUS=/run/virtguard-provision.status
# The first line of a virtguard.conf this script wrote: the marker, then the
# sha256 of every line after it.
MARK='# virtguard-provision sha256='

say() { printf 'virtguard-provision: %s\n' "$*"; }
# A problem that makes the host not ready; the run goes on so that the
# report is complete, and ends with exit 1.
PROBLEMS=""
problem() {
    printf 'virtguard-provision: PROBLEM: %s\n' "$*"
    PROBLEMS="${PROBLEMS:+$PROBLEMS; }${1%.}"
}
usage_error() {
    printf 'virtguard-provision: %s\n' "$*" >&2
    exit 2
}

# PARAM NAME: Lima's PARAM_NAME, else NAME, else empty.
param() {
    local p="PARAM_$1"
    if [ -n "${!p:-}" ]; then printf '%s' "${!p}"; else printf '%s' "${!1:-}"; fi
}

pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
pkg_version() { pkg_installed "$1" && dpkg-query -W -f='${Version}' "$1"; }

# The topmost mount at DIR, from mountinfo: prints "FSTYPE SOURCE", or
# nothing when DIR is not a mount point.  Mount points there are
# octal-escaped (\040 for a space, \011 tab, \012 newline, \134 backslash).
mount_at() {
    local esc
    esc=$(printf '%s' "$1" | sed 's/\\/\\134/g; s/ /\\040/g; s/\t/\\011/g')
    # (awk -v would turn \040 back into a space: pass it through the environment)
    VG_MP=$esc awk '
        $5 == ENVIRON["VG_MP"] { for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); s = $(i + 2); break } }
        END { if (t != "") print t, s }' "$MOUNTINFO"
}

# The settings part of virtguard.conf (everything after the marker line).
# Arguments: MODE IMAGES FSTYPES HOST_IMAGES WHY; FSTYPES already quoted
# ("9p" or "9p", "virtiofs").
conf_body() {
    cat <<EOF
# /etc/virtguard/virtguard.conf -- written by virtguard's Lima provisioning
# script (docs/examples/lima/provision.sh) for $5.
# The script rewrites this file at each boot only while the line above still
# holds the sha256 of what follows: edit anything here and it leaves the file
# alone from then on (delete the file to hand it back).  See virtguard.conf(5).
mode = "$1"
shared_mounts = [ "$2" ]
shared_fs_types = [ $3 ]
EOF
    if [ -n "$4" ]; then printf 'path_map = [ "%s=%s" ]\n' "$4" "$2"; fi
}

# Whose is the file at CONF?  Prints absent, ours (the script's, unedited),
# shipped (the package's conffile, unedited) or edited.
conf_state() {
    local first have dist
    [ -e "$CONF" ] || { echo absent; return; }
    first=$(head -n 1 "$CONF")
    case $first in "$MARK"*)
        have=$(tail -n +2 "$CONF" | sha256sum | cut -d ' ' -f 1)
        if [ "${first#"$MARK"}" = "$have" ]; then echo ours; else echo edited; fi
        return
        ;;
    esac
    dist=$(dpkg-query -W -f='${Conffiles}\n' virtguard 2>/dev/null |
        awk -v f="$CONF" '$1 == f { print $2 }' || true)
    if [ -n "$dist" ] && [ "$(md5sum <"$CONF" | cut -d ' ' -f 1)" = "$dist" ]; then
        echo shipped
    else
        echo edited
    fi
}

# write_conf MODE IMAGES FSTYPES HOST_IMAGES WHY: write CONF unless an admin
# edited it.  Atomic: a temporary file in the same directory, then rename.
write_conf() {
    local body state tmp
    body=$(conf_body "$@")
    state=$(conf_state)
    if [ "$state" = edited ]; then
        say "'$CONF' was edited by hand: left as it is (delete it to let this script write it again)."
        return 0
    fi
    if [ "$state" = ours ] && [ "$(tail -n +2 "$CONF")" = "$body" ]; then
        say "'$CONF' is up to date (for $5)."
        return 0
    fi
    mkdir -p "$(dirname "$CONF")"
    tmp=$(mktemp "$CONF.provision.XXXXXX")
    {
        printf '%s%s\n' "$MARK" "$(printf '%s\n' "$body" | sha256sum | cut -d ' ' -f 1)"
        printf '%s\n' "$body"
    } >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$CONF"
    say "wrote '$CONF' for $5 (it was $state)."
}

# The value of KEY in qemu.conf, or nothing: the first uncommented one, as
# libvirt reads it (virConfGetValue returns the first entry of a name).
qemu_setting() {
    [ -r "$QEMU_CONF" ] || return 0
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\\([^#]*\\).*/\\1/p" "$QEMU_CONF" | head -n 1
}

# The uid a qemu.conf `user` value (as qemu_setting prints it) names, as
# libvirt resolves it: "+N" is uid N, a name (or a number) through passwd.
qemu_user_uid() {
    local v
    v=$(printf '%s' "$1" | sed 's/;.*//; s/[[:space:]]*$//; s/^["'\'']//; s/["'\'']$//')
    case $v in
    '') ;;
    +*) printf '%s' "${v#+}" | sed 's/^0*\([0-9]\)/\1/' ;;
    *) id -u -- "$v" 2>/dev/null || printf '%s' "$v" ;;
    esac
}

aa_enabled() {
    [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
        [ -r /sys/kernel/security/apparmor/profiles ]
}

# The pid of a running libvirtd from its pidfile, or nothing.
libvirtd_pid() {
    local f pid
    for f in /run/libvirtd.pid /run/libvirt/libvirtd.pid; do
        pid=$(cat "$f" 2>/dev/null) || continue
        case $pid in '' | *[!0-9]*) continue ;; esac
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = libvirtd ] && { echo "$pid"; return 0; }
    done
    return 0
}

# The highest-versioned virtguard_*_ARCH.deb in DIR, or nothing.
newest_deb() {
    local f v best="" bestv=""
    for f in "$1"/virtguard_*_"$(dpkg --print-architecture)".deb; do
        [ -f "$f" ] || continue
        v=$(dpkg-deb -f "$f" Version 2>/dev/null) || continue
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bestv"; then best=$f bestv=$v; fi
    done
    printf '%s' "$best"
}

# The package name and version of the first entry of a debian/changelog,
# as "NAME VERSION", or nothing.
changelog_head() {
    sed -n '1s/^\([a-z0-9][a-z0-9.+-]*\) (\([^() ]*\)).*/\1 \2/p' "$1" 2>/dev/null
}

debian_tree() { [ -f "$1/debian/control" ] && [ -f "$1/debian/changelog" ]; }

# src_trusted DIR: may root build and install what the tree DIR holds?  Yes
# when it is on a read-only Lima share (9p or virtiofs, `writable: false`:
# only the Mac's side writes it), or when root owns every file in it and no
# one else can write any (symbolic links aside).  A read-only bind mount made
# in the guest says nothing about who writes the directory behind it, so it
# counts as any other.  The owner of a share is not asked: a Lima share shows
# the Mac user's uid.  The topmost mount at DIR is the one that counts.
src_trusted() {
    local fstype="" opts="" other
    read -r fstype opts < <(findmnt -n -o FSTYPE,VFS-OPTIONS -T "$1" 2>/dev/null | tail -n 1) || true
    case $fstype in 9p|virtiofs) case ,$opts, in *,ro,*) return 0 ;; esac ;; esac
    other=$(find "$1" ! -type l \( ! -user 0 -o -perm /022 \) -print -quit 2>/dev/null) || return 1
    [ -z "$other" ]
}

# sum_param NAME VALUE: VALUE is empty or a SHA-256 (64 hex digits), else
# stop (sha256sum -c would skip a malformed line and pass).
sum_param() {
    [ -z "$2" ] || [[ $2 =~ ^[0-9a-fA-F]{64}$ ]] ||
        usage_error "$1 is not a SHA-256 (64 hex digits): '$2'."
}

# fetch_https URL FILE: URL into FILE, over https only, also after
# redirects (root installs what comes back); no ~/.curlrc (-q), one URL as
# written (no {} [] globbing), bounded in time and size.
fetch_https() {
    # --max-filesize alone is not a bound: curl 7.88 (Debian 12) ignores it
    # when the server sends no Content-Length; the file size limit is one.
    ( ulimit -f 65536           # 1 KiB blocks: 64 MiB
      curl -q -fsSL --globoff --proto =https --proto-redir =https --tlsv1.2 \
          --connect-timeout 30 --max-time 900 --max-filesize 64M -o "$2" "$1" )
}

# fetch_source: the tree VIRTGUARD_SRC names (copied without its .git) or
# the tarball VIRTGUARD_SRC_URL names (downloaded, checked, unpacked), as
# $TMPDIR_DEB/build/virtguard, alone in its directory (dpkg-buildpackage
# writes the .deb beside it); sets srcdir and srcver (its debian/changelog's
# version).  Stops the script (exit 2) on anything wrong with it.
fetch_source() {
    local real tree sum first
    mkdir "$TMPDIR_DEB/unpack" "$TMPDIR_DEB/build"
    if [ -n "$SRC" ]; then
        real=$(realpath -e -- "$SRC" 2>/dev/null) || real=""
        [ -d "$real" ] ||
            usage_error "VIRTGUARD_SRC '$SRC' is not a directory in the guest (is the directory that holds it in lima.yaml's mounts:?)."
        case $real/ in "$(realpath -m -- "$IMAGES")"/*)
            usage_error "'$SRC' lies on the images share '$IMAGES', which its writers control: root does not build packages from there (put the tree on a read-only mount, as lima.yaml's /mnt/virtguard-src)." ;;
        esac
        debian_tree "$real" ||
            usage_error "VIRTGUARD_SRC '$SRC' is not a virtguard source tree: it has no debian/control and debian/changelog."
        src_trusted "$real" ||
            usage_error "VIRTGUARD_SRC '$SRC' is neither on a read-only Lima share (9p or virtiofs) nor root's alone: whoever can write it would choose what root builds and installs here. Share it read-only from the host (lima.yaml: writable: false) or copy it to a directory only root can write."
        say "copying the source tree '$SRC' (without .git) to '$TMPDIR_DEB'"
        # From the directory checked, held open as the working directory:
        # a tree renamed away and replaced after the check is not the one
        # copied.  One filesystem: a mount inside the tree is not copied.
        ( cd -- "$real" || exit 3
          src_trusted . || { echo "virtguard-provision: '$SRC' changed while it was copied" >&2; exit 3; }
          tar --one-file-system --exclude=./.git -cf - . ) |
            tar -C "$TMPDIR_DEB/unpack" -xf - --no-same-owner ||
            usage_error "could not copy the source tree '$SRC' (tar above)."
        tree=$TMPDIR_DEB/unpack
    else
        sum=$(param VIRTGUARD_SRC_SHA256)
        sum_param VIRTGUARD_SRC_SHA256 "$sum"
        say "downloading the source tarball '$SRC_URL'"
        fetch_https "$SRC_URL" "$TMPDIR_DEB/source.tar" || usage_error "could not download '$SRC_URL'."
        if [ -n "$sum" ]; then
            printf '%s  %s\n' "$sum" "$TMPDIR_DEB/source.tar" | sha256sum -c --status ||
                usage_error "'$SRC_URL' does not match VIRTGUARD_SRC_SHA256."
        fi
        tar -C "$TMPDIR_DEB/unpack" -xf "$TMPDIR_DEB/source.tar" --no-same-owner --no-same-permissions ||
            usage_error "'$SRC_URL' is not a tar archive tar can unpack (tar above)."
        # make dist's tarball holds one directory, virtguard-VERSION/
        tree=$(find "$TMPDIR_DEB/unpack" -mindepth 1 -maxdepth 2 -path '*/debian' -type d)
        case $tree in '' | *$'\n'*) usage_error "'$SRC_URL' holds no single source tree with a debian/ directory (make dist's virtguard-VERSION.tar.gz holds one)." ;;
        esac
        tree=${tree%/debian}
        debian_tree "$tree" ||
            usage_error "'$SRC_URL' is not a virtguard source tarball: its tree has no debian/control and debian/changelog."
    fi
    mv -- "$tree" "$TMPDIR_DEB/build/virtguard"
    srcdir=$TMPDIR_DEB/build/virtguard
    first=$(changelog_head "$srcdir/debian/changelog")
    [ "${first%% *}" = virtguard ] ||
        usage_error "'$SRC$SRC_URL' is not virtguard's source: its debian/changelog begins '$(head -n 1 "$srcdir/debian/changelog" | cut -c1-80)'."
    srcver=${first#* }
}

# build_failed REASON: the build did not give a package; nothing was
# installed.  Stops the script: NOT READY, exit 1.
build_failed() {
    say "NOT READY: $1"
    [ -n "$BUILD_ONLY" ] || printf 'failed: %s\n' "${1%.}" >"$STATUS"
    exit 1
}

# build_package: the .deb of $srcdir (from FROM, for the messages): the
# missing build dependencies installed, then dpkg-buildpackage; sets
# debfile.  Stops the script on failure.
build_package() {
    local from=$1 log=$TMPDIR_DEB/build.log unmet
    if ! command -v dpkg-checkbuilddeps >/dev/null ||
        ! unmet=$(cd "$srcdir" && dpkg-checkbuilddeps 2>&1); then
        say "installing the build dependencies of virtguard $srcver${unmet:+ (${unmet#*: })}"
        { apt-get update -q && apt-get build-dep -y -q --no-install-recommends "$srcdir"; } ||
            build_failed "could not install the build dependencies of '$from' (apt-get build-dep above): nothing was built or installed."
    fi
    say "building virtguard $srcver from '$from' (dpkg-buildpackage -b -uc -us, $(nproc) jobs)"
    if ! (cd "$srcdir" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -uc -us) >"$log" 2>&1; then
        tail -n 30 "$log" | sed 's/^/    /'
        build_failed "building virtguard from '$from' failed (dpkg-buildpackage; its last lines above): nothing was installed."
    fi
    debfile=$(newest_deb "$TMPDIR_DEB/build")
    [ -n "$debfile" ] ||
        build_failed "dpkg-buildpackage built no virtguard_*_$(dpkg --print-architecture).deb from '$from': nothing was installed."
}

# install_deb DEBFILE FROM: install the virtguard package DEBFILE (FROM
# says whence, quoted, for the messages) unless the installed one is as new;
# sets upgraded when it installed it.
install_deb() {
    local debfile=$1 from=$2 new
    [ "$(dpkg-deb -f "$debfile" Package 2>/dev/null)" = virtguard ] ||
        usage_error "'$debfile' is not a virtguard package."
    new=$(dpkg-deb -f "$debfile" Version)
    if [ -n "$installed" ] && dpkg --compare-versions "$installed" ge "$new"; then
        say "virtguard $installed is installed; $from is $new: nothing to do."
    else
        say "installing virtguard $new from $from${installed:+ (over $installed)}"
        # An edited virtguard.conf is kept, never asked about.
        apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$debfile"
        upgraded=yes
    fi
}

# from_source: step 2 with a source ($srcdir, version $srcver, from
# $srcfrom): nothing to build when virtguard is $installed at that version
# or newer; else build it and install the .deb.
from_source() {
    if [ -n "$installed" ] && dpkg --compare-versions "$installed" ge "$srcver"; then
        say "virtguard $installed is installed; the source '$srcfrom' is $srcver: nothing to build."
    else
        build_package "$srcfrom"
        install_deb "$debfile" "the build of '$srcfrom'"
    fi
}

[ "${VIRTGUARD_PROVISION_FUNCTIONS_ONLY:-}" = 1 ] && return 0

# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || usage_error "must run as root (Lima runs 'mode: system' provisioning scripts as root)."
# Only build the package (the header says more): no status file.
BUILD_ONLY=${VIRTGUARD_BUILD_ONLY:-}
[ -n "$BUILD_ONLY" ] || rm -f "$STATUS"
# A run that stops early (a failed apt-get, say) leaves a verdict too.
TMPDIR_DEB=""
on_exit() {
    local rc=$?
    [ -z "$TMPDIR_DEB" ] || rm -rf "$TMPDIR_DEB"
    [ -n "$BUILD_ONLY" ] || [ -e "$STATUS" ] ||
        printf 'failed: provision.sh stopped with exit status %s\n' "$rc" >"$STATUS"
}
trap on_exit EXIT
DEB=$(param VIRTGUARD_DEB)
IMAGES=$(param VIRTGUARD_IMAGES)
IMAGES=${IMAGES:-/var/lib/libvirt/images}
HOST_IMAGES=$(param VIRTGUARD_HOST_IMAGES)
MODE=$(param VIRTGUARD_MODE)
MODE=${MODE:-enforce}
case $MODE in enforce | dev) ;; *) usage_error "VIRTGUARD_MODE is '$MODE'; it must be 'enforce' or 'dev'." ;; esac
for v in "$IMAGES" "$HOST_IMAGES"; do
    case $v in *[\"\'=]* | *..* | *[[:cntrl:]]*) usage_error "'$v' cannot be written into virtguard.conf (quote, '=', '..' or a control character)." ;; esac
done
case $IMAGES in /?*) ;; *) usage_error "VIRTGUARD_IMAGES is '$IMAGES'; it must be an absolute path, not '/'." ;; esac
case $HOST_IMAGES in '' | /?*) ;; *) usage_error "VIRTGUARD_HOST_IMAGES is '$HOST_IMAGES'; it must be an absolute path." ;; esac
# A URL only over https (root installs what comes back), refused before
# anything is installed.
case $DEB in
https://*) ;;
*://*) usage_error "VIRTGUARD_DEB '$DEB': only an https:// URL is accepted (root installs the package)." ;;
esac
SRC=$(param VIRTGUARD_SRC)
SRC_URL=$(param VIRTGUARD_SRC_URL)
n=0
for v in "$DEB" "$SRC" "$SRC_URL"; do [ -z "$v" ] || n=$((n + 1)); done
[ "$n" -le 1 ] ||
    usage_error "set only one of VIRTGUARD_DEB, VIRTGUARD_SRC and VIRTGUARD_SRC_URL: each names where the package comes from."
case $SRC_URL in
'' | https://*) ;;
*) usage_error "VIRTGUARD_SRC_URL '$SRC_URL': only an https:// URL is accepted (root builds and installs what it holds)." ;;
esac
case $SRC in '' | /*) ;; *) usage_error "VIRTGUARD_SRC is '$SRC'; it must be an absolute path." ;; esac
if [ -n "$BUILD_ONLY" ]; then
    [ -n "$SRC$SRC_URL" ] ||
        usage_error "VIRTGUARD_BUILD_ONLY needs VIRTGUARD_SRC or VIRTGUARD_SRC_URL: it builds the package, it installs none."
    [ -d "$BUILD_ONLY" ] || usage_error "VIRTGUARD_BUILD_ONLY '$BUILD_ONLY' is not a directory."
    # root writes the package there: a directory another user can write
    # could hold a link where the package goes
    if [ "$(stat -c %u -- "$BUILD_ONLY")" != 0 ] || [ -n "$(find "$BUILD_ONLY" -maxdepth 0 -perm /022)" ]; then
        usage_error "VIRTGUARD_BUILD_ONLY '$BUILD_ONLY' is not root's alone (owner $(stat -c %U -- "$BUILD_ONLY"), mode $(stat -c %a -- "$BUILD_ONLY")): root writes the package there."
    fi
fi

# The source to build the package from, when no .deb is given: copied or
# downloaded and checked before anything is installed.
srcdir="" srcver=""
srcfrom=$SRC$SRC_URL
# A later boot without the tree at hand keeps the installed package.
# (Lima mounts with nofail: an unmounted share leaves an empty directory.)
if [ -n "$SRC" ] && [ -z "$BUILD_ONLY" ] && ! debian_tree "$SRC" && pkg_installed virtguard; then srcfrom=""; fi
if [ -n "$srcfrom" ]; then
    TMPDIR_DEB=$(mktemp -d)
    fetch_source
fi
if [ -n "$BUILD_ONLY" ]; then
    build_package "$srcfrom"
    name=$(basename "$debfile")
    { cp -- "$debfile" "$BUILD_ONLY/.$name.tmp" && mv -f -- "$BUILD_ONLY/.$name.tmp" "$BUILD_ONLY/$name"; } ||
        build_failed "could not write '$BUILD_ONLY/$name'."
    say "built '$BUILD_ONLY/$name' from '$srcfrom'; nothing installed (VIRTGUARD_BUILD_ONLY)."
    exit 0
fi

# 1. libvirt and QEMU.
case $(dpkg --print-architecture) in
amd64) qemu_pkgs="qemu-system-x86" ;;
arm64) qemu_pkgs="qemu-system-arm qemu-efi-aarch64" ;;
*) qemu_pkgs="qemu-system" ;;
esac
missing=""
for p in apparmor libvirt-daemon-system libvirt-clients qemu-utils $qemu_pkgs; do
    pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    apt-get update -q
    # shellcheck disable=SC2086 # a list of package names
    apt-get install -y -q --no-install-recommends $missing
else
    say "libvirt $(pkg_version libvirt-daemon-system) and $qemu_pkgs are installed."
fi

# 2. virtguard.
installed=$(pkg_version virtguard || true)
upgraded=""
if [ -n "$srcdir" ]; then
    from_source
elif [ -n "$SRC" ]; then
    say "no source tree at '$SRC'; keeping virtguard $installed."
elif [ -z "$DEB" ]; then
    [ -n "$installed" ] ||
        usage_error "virtguard is not installed and no .deb was given: set VIRTGUARD_DEB in lima.yaml's param: (a path in the guest or an https URL), or VIRTGUARD_SRC or VIRTGUARD_SRC_URL to build it here from a source tree or tarball."
    say "virtguard $installed is installed (no VIRTGUARD_DEB given)."
else
    TMPDIR_DEB=$(mktemp -d)
    case $DEB in
    https://*)
        say "downloading '$DEB'"
        fetch_https "$DEB" "$TMPDIR_DEB/virtguard.deb" || usage_error "could not download '$DEB'."
        debfile=$TMPDIR_DEB/virtguard.deb
        ;;
    /*) debfile=$DEB ;;
    *) debfile=$PWD/$DEB ;;
    esac
    if [ -d "$debfile" ]; then debfile=$(newest_deb "$debfile"); fi
    if [ -f "$debfile" ] && [ "$debfile" != "$TMPDIR_DEB/virtguard.deb" ]; then
        # Never a package from the images share, which the images' writer
        # controls; and one copy, inspected and installed, so that the host
        # side of a share cannot swap the file between the two.
        real=$(realpath -e -- "$debfile")
        case $real/ in "$(realpath -m -- "$IMAGES")"/*)
            usage_error "'$debfile' lies on the images share '$IMAGES', which its writers control: root does not install packages from there (put it on a read-only mount, as lima.yaml's /mnt/virtguard-dist)." ;;
        esac
        cp -- "$real" "$TMPDIR_DEB/virtguard.deb"
        debfile=$TMPDIR_DEB/virtguard.deb
    fi
    sum=$(param VIRTGUARD_DEB_SHA256)
    sum_param VIRTGUARD_DEB_SHA256 "$sum"
    if [ -f "$debfile" ] && [ -n "$sum" ]; then
        printf '%s  %s\n' "$sum" "$debfile" | sha256sum -c --status ||
            usage_error "'$DEB' does not match VIRTGUARD_DEB_SHA256."
    fi
    if [ ! -f "$debfile" ]; then
        # A later boot without the package at hand keeps the installed one.
        [ -n "$installed" ] ||
            usage_error "VIRTGUARD_DEB '$DEB' is not a file or a directory holding virtguard_*_$(dpkg --print-architecture).deb in the guest (is the directory that holds it in lima.yaml's mounts:?)."
        say "no package at '$DEB'; keeping virtguard $installed."
    else
        install_deb "$debfile" "'$DEB'"
    fi
fi

# 3. The images mount.
read -r fstype src <<<"$(mount_at "$IMAGES")" || true
case ${fstype:-} in
9p | virtiofs | fuse.sshfs)
    say "'$IMAGES' is a $fstype mount (source '$src')."
    types="\"$fstype\""
    why="'$IMAGES' on $fstype"
    ;;
*)
    if [ -z "${fstype:-}" ]; then
        problem "'$IMAGES' is not mounted: Lima mounts shares with nofail, so a failed mount leaves an empty directory (check the mounts: entry in lima.yaml and 'dmesg | grep -i -e 9p -e virtiofs')."
    else
        problem "'$IMAGES' is mounted as '$fstype' (source '$src'), not as a 9p or virtiofs share."
    fi
    # Still guard it, so that the hook refuses starts until the share is back.
    case ${LIMA_CIDATA_MOUNTTYPE:-} in
    9p | virtiofs) types="\"$LIMA_CIDATA_MOUNTTYPE\"" ;;
    *) types='"9p", "virtiofs"' ;;
    esac
    why="'$IMAGES' (no share there at provisioning; types $types)"
    ;;
esac

# 4. virtguard.conf.
write_conf "$MODE" "$IMAGES" "$types" "$HOST_IMAGES" "$why"

# 5. The helper's AppArmor profile reads images only under the configured
# roots: regenerate its include and reload it.
if ! virtguard-helper roots; then
    problem "'virtguard-helper roots' failed: the helper's profile does not cover '$IMAGES'."
elif ! aa_enabled; then
    if [ "$MODE" = enforce ]; then
        problem "AppArmor is not enabled in this kernel: every guest's QEMU would run unconfined (boot with apparmor=1 security=apparmor, as Debian does by default)."
    else
        say "AppArmor is not enabled in this kernel: the helper's profile was not loaded (dev mode: virtguard doctor says more)."
    fi
elif apparmor_parser -r "$HELPER_PROFILE" &&
    grep -q '^virtguard-helper (enforce)' /sys/kernel/security/apparmor/profiles; then
    say "the helper's AppArmor profile is loaded ('$HELPER_PROFILE')."
else
    problem "could not load '$HELPER_PROFILE' (apparmor_parser -r)."
fi

# 6. qemu.conf: libvirt's defaults keep each guest confined and its QEMU
# unprivileged.  Never changed here: only reported.
sd=$(qemu_setting security_driver)
case $sd in *'"none"'*)
    problem "$QEMU_CONF sets security_driver = $sd: every guest runs without AppArmor, and it does not fix 'Permission denied' on a shared mount (that is DAC). Delete that line and restart libvirtd; /usr/share/doc/virtguard/migrating-off-security-driver-none.md shows the per-domain fix."
    ;;
esac
qu=$(qemu_setting user)
case $(qemu_user_uid "$qu") in 0)
    problem "$QEMU_CONF sets user = $qu: every guest's QEMU gets root's file access. Delete that line and restart libvirtd; give only the domains whose files need it <seclabel type='static' model='dac' relabel='no'><label>+UID:+64055</label></seclabel> (virtguard's refusal prints the numbers)."
    ;;
esac

# 7. libvirtd must have looked for hooks after virtguard's were installed.
if [ -d /run/systemd/system ]; then
    if ! systemctl is-active --quiet libvirtd.service; then
        if systemctl start libvirtd.service; then
            say "started libvirtd.service."
        else
            problem "could not start libvirtd.service (journalctl -u libvirtd)."
        fi
    elif [ -n "$upgraded" ]; then
        if systemctl restart libvirtd.service; then
            say "restarted libvirtd.service: it looks for hooks when it starts."
        else
            problem "could not restart libvirtd.service (journalctl -u libvirtd)."
        fi
    else
        say "libvirtd.service is running."
    fi
else
    pid=$(libvirtd_pid)
    if [ -z "$pid" ]; then
        say "libvirtd is not running (no systemd here): it finds virtguard's hooks when it starts."
    else
        say "libvirtd (pid $pid) runs without systemd: the package sent it SIGHUP when it installed the hooks; restart it if doctor says it has not seen them."
    fi
fi

# 8. virtguard doctor: the report, then the verdict.
say "virtguard doctor:"
rc=0
report=$(virtguard doctor 2>&1) || rc=$?
printf '%s\n' "$report"
summary=$(printf '%s\n' "$report" | grep '^virtguard doctor: ' | tail -n 1 || true)
case $rc in
0) ;;
1) problem "virtguard doctor found failures (${summary#virtguard doctor: }): each FAIL line above says what to do." ;;
*) problem "virtguard doctor could not complete its report (exit $rc)." ;;
esac

if [ -n "$PROBLEMS" ]; then
    printf 'failed: %s\n' "$PROBLEMS" >"$STATUS"
    say "NOT READY: $PROBLEMS"
    exit 1
fi
echo ok >"$STATUS"
say "ready: virtguard guards '$IMAGES' ($why, mode $MODE); ${summary#virtguard }."
