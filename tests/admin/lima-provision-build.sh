#!/bin/bash
# docs/examples/lima/provision.sh's build-from-source path (VIRTGUARD_SRC,
# VIRTGUARD_SRC_URL) without booting a guest and without building virtguard
# itself: the whole script, as root, with VIRTGUARD_BUILD_ONLY (so that it
# installs nothing on this host whatever happens), on a fake "virtguard"
# source whose debian/rules only wraps an empty package (dpkg-buildpackage
# takes a second).  The real package is built this way in the e2e test
# (tests/e2e/run-e2e.sh, the Debian 13 guest's package).  In private mount and
# network namespaces: a tmpfs on /run (the status file), read-only bind
# mounts, and https-serve.py on the namespace's own loopback.
#  1. parameters refused at once (exit 2, one line, nothing else done): a
#     VIRTGUARD_SRC_URL that is not https (http, HTTP, ftp, file); two
#     sources at once; VIRTGUARD_BUILD_ONLY without a source;
#  2. the tarball over https, each refused with exit 2 and nothing built: an
#     https -> http redirect (the http server never asked), a certificate the
#     CA store does not trust (the server sees curl's "unknown ca" alert), a
#     VIRTGUARD_SRC_SHA256 that does not match; then with the right one the
#     .deb is built into the output directory and the temporary directory
#     is gone;
#  3. a source tree: on a writable mount and not root's, refused; on the
#     images share, refused; a tree whose changelog is not virtguard's,
#     refused; the same tree bind-mounted read-only, built (its .git not
#     copied, the tree unchanged); a tree whose build fails: exit 1, NOT
#     READY with the build's last lines, nothing in the output directory;
#  4. step 2 with a source, virtguard installed at that version or newer:
#     "nothing to build" (the second boot of an instance).
# shellcheck disable=SC2015 # ok/bad only print
set -u
: "${top_srcdir:?}"
SCRIPT=$(cd "$top_srcdir" && pwd)/docs/examples/lima/provision.sh
SERVE=$(cd "$top_srcdir" && pwd)/tests/e2e/https-serve.py
if [ "$(id -u)" != 0 ]; then echo "SKIP - needs root (the script refuses to run otherwise)"; exit 77; fi
if [ -z "${VG_PROVISION_BUILD_NS:-}" ]; then
    unshare -m -n true 2>/dev/null || { echo "SKIP - no mount and network namespaces here"; exit 77; }
    exec env VG_PROVISION_BUILD_NS=1 unshare -m -n --propagation private -- bash "$0" "$@"
fi
for t in dpkg-buildpackage curl openssl python3 ip; do
    command -v "$t" >/dev/null 2>&1 || { echo "SKIP - no $t"; exit 77; }
done
ip link set lo up
mount -t tmpfs tmpfs /run
T=$(mktemp -d /tmp/vg-provision-build-XXXXXX)
SERVER=""
trap '[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null; umount -R "$T/ro" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
ARCH=$(dpkg --print-architecture)
mkdir -p "$T/out" "$T/tmp"

# fake_src DIR VERSION [NAME [RULES_BUILD]]: a source tree dpkg-buildpackage
# turns into NAME_VERSION_ARCH.deb (an empty package).
fake_src() {
    local d=$1 v=$2 name=${3:-virtguard} build=${4:-true}
    mkdir -p "$d/debian/source" "$d/.git"
    echo 'ref: refs/heads/main' >"$d/.git/HEAD"
    echo '3.0 (native)' >"$d/debian/source/format"
    printf 'Source: %s\nMaintainer: t <t@example.org>\nRules-Requires-Root: no\n\nPackage: %s\nArchitecture: any\nDescription: t\n t\n' \
        "$name" "$name" >"$d/debian/control"
    printf '%s (%s) unstable; urgency=medium\n\n  * t\n\n -- t <t@example.org>  Thu, 03 Dec 2026 00:00:00 +0000\n' \
        "$name" "$v" >"$d/debian/changelog"
    printf '#!/usr/bin/make -f\nclean:\n\trm -rf debian/tmp debian/files\nbuild build-arch build-indep:\n\t%s\nbinary binary-arch binary-indep: build\n\tmkdir -p debian/tmp/DEBIAN\n\tdpkg-gencontrol -p%s -Pdebian/tmp\n\tdpkg-deb --build debian/tmp ..\n' \
        "$build" "$name" >"$d/debian/rules"
    chmod 0755 "$d/debian/rules"
}
fake_src "$T/probe" 0.0.1
if ! (cd "$T/probe" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
    echo "SKIP - dpkg-checkbuilddeps: build-essential is not installed (the script would apt-get it)"
    exit 77
fi

# prov [VAR=VALUE...]: the whole script (exit status in $rc, output in $out)
prov() {
    rc=0
    out=$(env -u PARAM_VIRTGUARD_DEB -u VIRTGUARD_DEB TMPDIR="$T/tmp" "$@" \
        timeout --kill-after=10 120 bash "$SCRIPT" 2>&1) || rc=$?
}
empty() { [ -z "$(ls -A "$1")" ]; }

# --- 1. parameters --------------------------------------------------------
for url in http://example.invalid/v.tar.gz HTTP://example.invalid/v.tar.gz \
           ftp://example.invalid/v.tar.gz file:///tmp/v.tar.gz; do
    prov PARAM_VIRTGUARD_SRC_URL="$url"
    want="virtguard-provision: VIRTGUARD_SRC_URL '$url': only an https:// URL is accepted (root builds and installs what it holds)."
    [ "$rc" = 2 ] && [ "$out" = "$want" ] && [ "$(cat /run/virtguard-provision.status)" = \
        "failed: provision.sh stopped with exit status 2" ] &&
        ok "VIRTGUARD_SRC_URL $url: refused at once (exit 2), nothing else done" ||
        bad "VIRTGUARD_SRC_URL $url: exit $rc: $out"
done
prov PARAM_VIRTGUARD_DEB=/mnt/virtguard-dist PARAM_VIRTGUARD_SRC="$T/probe"
[ "$rc" = 2 ] && [ "$out" = "virtguard-provision: set only one of VIRTGUARD_DEB, VIRTGUARD_SRC and VIRTGUARD_SRC_URL: each names where the package comes from." ] &&
    ok "VIRTGUARD_DEB and VIRTGUARD_SRC at once: refused" || bad "two sources: exit $rc: $out"
prov VIRTGUARD_BUILD_ONLY="$T/out"
[ "$rc" = 2 ] && [ "$out" = "virtguard-provision: VIRTGUARD_BUILD_ONLY needs VIRTGUARD_SRC or VIRTGUARD_SRC_URL: it builds the package, it installs none." ] &&
    ok "VIRTGUARD_BUILD_ONLY without a source: refused" || bad "build only, no source: exit $rc: $out"

# --- 2. the tarball over https --------------------------------------------
tls() { openssl "$@" >>"$T/openssl.out" 2>&1; }
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
# shellcheck disable=SC2086 # $ec: options
tls req -x509 $ec -subj "/CN=vg test CA" -keyout "$T/ca.key" -out "$T/ca.pem" &&
    tls req -x509 $ec -subj "/CN=vg other CA" -keyout "$T/other.key" -out "$T/other-ca.pem" &&
    tls req $ec -subj "/CN=localhost" -keyout "$T/server.key" -out "$T/server.csr" &&
    printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf" &&
    tls x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
        -extfile "$T/ext.cnf" -out "$T/server.pem" ||
    { cat "$T/openssl.out"; echo "FAIL - cannot make the test certificates"; exit 1; }
mkdir -p "$T/dist" "$T/srcs"
fake_src "$T/srcs/virtguard-0.0.1" 0.0.1
tar -C "$T/srcs" -czf "$T/dist/virtguard-0.0.1.tar.gz" virtguard-0.0.1
: >"$T/https.log"
python3 "$SERVE" "$T/dist" "$T/server.pem" "$T/server.key" 8443 8080 "$T/https.log" >"$T/https.out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q '^ready ' "$T/https.log" && break; sleep 0.1; done
grep -q '^ready ' "$T/https.log" || { cat "$T/https.out"; echo "FAIL - https-serve.py did not start"; exit 1; }
SUM=$(sha256sum <"$T/dist/virtguard-0.0.1.tar.gz" | cut -d ' ' -f 1)
URL=https://localhost:8443/virtguard-0.0.1.tar.gz

# refused NAME WANT_RC WANT_TEXT: the last run failed so, built nothing and
# left no temporary directory
refused() {
    if [ "$rc" = "$2" ] && case $out in *"$3"*) true ;; *) false ;; esac &&
        empty "$T/out" && empty "$T/tmp"; then
        ok "$1: refused (exit $rc: $3), nothing built"
    else
        bad "$1: exit $rc, out/: $(ls "$T/out"), tmp/: $(ls "$T/tmp"): $out"
    fi
}
prov PARAM_VIRTGUARD_SRC_URL="https://localhost:8443/to-http/virtguard-0.0.1.tar.gz" \
    CURL_CA_BUNDLE="$T/ca.pem" VIRTGUARD_BUILD_ONLY="$T/out"
# curl 7.88: 'Protocol "http" not supported or disabled in libcurl';
# curl 8.14: 'Protocol "http" disabled (in redirect)'
case $out in *'Protocol "http" disabled'*) p='Protocol "http" disabled' ;; *) p='Protocol "http" not supported' ;; esac
refused "an https -> http redirect" 2 "$p"
has_log() { grep -q "$1" "$T/https.log"; }
has_log '^https /to-http/virtguard-0.0.1.tar.gz 302' && ! has_log '^http ' &&
    ok "the redirect was answered, the http server never asked" || bad "server log: $(tr '\n' ' ' <"$T/https.log")"
case $out in *"virtguard-provision: could not download 'https://localhost:8443/to-http/virtguard-0.0.1.tar.gz'."*)
    ok "the redirect: 'could not download' names the URL" ;; *) bad "the redirect: $out" ;; esac
prov PARAM_VIRTGUARD_SRC_URL="$URL" CURL_CA_BUNDLE="$T/other-ca.pem" VIRTGUARD_BUILD_ONLY="$T/out"
refused "an untrusted certificate" 2 "SSL certificate problem: unable to get local issuer certificate"
has_log '^https error .*unknown ca' && ok "the server saw the handshake refused for an unknown CA" ||
    bad "no 'unknown ca' in the server log: $(tr '\n' ' ' <"$T/https.log")"
prov PARAM_VIRTGUARD_SRC_URL="$URL" CURL_CA_BUNDLE="$T/ca.pem" VIRTGUARD_BUILD_ONLY="$T/out" \
    PARAM_VIRTGUARD_SRC_SHA256="$(printf '%064d' 0)"
refused "a wrong VIRTGUARD_SRC_SHA256" 2 "virtguard-provision: '$URL' does not match VIRTGUARD_SRC_SHA256."
prov PARAM_VIRTGUARD_SRC_URL="https://localhost:8443/nothing.tar.gz" CURL_CA_BUNDLE="$T/ca.pem" \
    VIRTGUARD_BUILD_ONLY="$T/out"
refused "a URL the server answers 404" 2 "virtguard-provision: could not download 'https://localhost:8443/nothing.tar.gz'."
prov PARAM_VIRTGUARD_SRC_URL="$URL" CURL_CA_BUNDLE="$T/ca.pem" VIRTGUARD_BUILD_ONLY="$T/out" \
    PARAM_VIRTGUARD_SRC_SHA256="$SUM"
deb=$T/out/virtguard_0.0.1_$ARCH.deb
if [ "$rc" = 0 ] && [ -f "$deb" ] && [ "$(dpkg-deb -f "$deb" Package Version | tr '\n' ' ')" = "Package: virtguard Version: 0.0.1 " ] &&
    case $out in *"virtguard-provision: built '$deb' from '$URL'; nothing installed (VIRTGUARD_BUILD_ONLY)."*) true ;; *) false ;; esac &&
    empty "$T/tmp" && [ "$(ls -A "$T/out")" = "virtguard_0.0.1_$ARCH.deb" ]; then
    ok "the tarball with its sha256: built $(basename "$deb"), the temporary directory removed"
else
    bad "the tarball: exit $rc, out/: $(ls -A "$T/out"), tmp/: $(ls -A "$T/tmp"): $out"
fi
case $out in *"virtguard-provision: building virtguard 0.0.1 from '$URL' (dpkg-buildpackage -b -uc -us, $(nproc) jobs)"*)
    ok "the build line names version, source and jobs" ;; *) bad "no build line: $out" ;; esac
rm -f "$T/out"/*

# --- 3. a source tree -------------------------------------------------------
fake_src "$T/tree" 0.0.2
chown -R 1000:1000 "$T/tree"
prov PARAM_VIRTGUARD_SRC="$T/tree" VIRTGUARD_BUILD_ONLY="$T/out"
refused "a tree on a writable mount, owned by uid 1000" 2 "virtguard-provision: VIRTGUARD_SRC '$T/tree' is neither on a read-only Lima share (9p or virtiofs) nor root's alone: whoever can write it would choose what root builds and installs here. Share it read-only from the host (lima.yaml: writable: false) or copy it to a directory only root can write."
mkdir -p "$T/images"
fake_src "$T/images/src" 0.0.2
prov PARAM_VIRTGUARD_SRC="$T/images/src" PARAM_VIRTGUARD_IMAGES="$T/images" VIRTGUARD_BUILD_ONLY="$T/out"
refused "a tree on the images share" 2 "virtguard-provision: '$T/images/src' lies on the images share '$T/images', which its writers control: root does not build packages from there"
fake_src "$T/other" 1.0 other
prov PARAM_VIRTGUARD_SRC="$T/other" VIRTGUARD_BUILD_ONLY="$T/out"
refused "another package's source" 2 "virtguard-provision: '$T/other' is not virtguard's source: its debian/changelog begins 'other (1.0) unstable; urgency=medium'."
prov PARAM_VIRTGUARD_SRC="$T/nowhere" VIRTGUARD_BUILD_ONLY="$T/out"
refused "no such tree" 2 "virtguard-provision: VIRTGUARD_SRC '$T/nowhere' is not a directory in the guest"

# A read-only bind mount made in the guest: uid 1000 still writes the tree
# behind it, so it counts as the tree itself (only a read-only 9p/virtiofs
# share counts as read-only; none can be made here).
mkdir -p "$T/ro"
mount --bind -o ro "$T/tree" "$T/ro"
prov PARAM_VIRTGUARD_SRC="$T/ro" VIRTGUARD_BUILD_ONLY="$T/out"
refused "a uid 1000 tree behind a read-only bind mount" 2 "virtguard-provision: VIRTGUARD_SRC '$T/ro' $(printf '%s' "is neither on a read-only Lima share (9p or virtiofs) nor root's alone: whoever can write it would choose what root builds and installs here. Share it read-only from the host (lima.yaml: writable: false) or copy it to a directory only root can write.")"
umount "$T/ro"
rm -f "$T/out"/*

# root's build directory only
mkdir -p -m 0777 "$T/wout"
prov PARAM_VIRTGUARD_SRC="$T/tree" VIRTGUARD_BUILD_ONLY="$T/wout"
refused "a world-writable VIRTGUARD_BUILD_ONLY" 2 "virtguard-provision: VIRTGUARD_BUILD_ONLY '$T/wout' is not root's alone (owner root, mode 777): root writes the package there."
# a checksum with a line break (sha256sum -c would skip the bad line)
prov PARAM_VIRTGUARD_SRC_URL="https://localhost:8443/x.tar.gz" VIRTGUARD_BUILD_ONLY="$T/out" \
    PARAM_VIRTGUARD_SRC_SHA256="$(printf '%064d\nx' 0)"
refused "a VIRTGUARD_SRC_SHA256 that is not 64 hex digits" 2 "virtguard-provision: VIRTGUARD_SRC_SHA256 is not a SHA-256 (64 hex digits):"

# the copy holds no .git: a build that fails when it finds one
fake_src "$T/rootree" 0.0.3 virtguard 'test ! -e .git'
chown -R 0:0 "$T/rootree"
chmod -R go-w "$T/rootree"
before=$(cd "$T/rootree" && find . -printf '%p %U %m %s %T@\n' | sort)
prov PARAM_VIRTGUARD_SRC="$T/rootree" VIRTGUARD_BUILD_ONLY="$T/out"
[ "$rc" = 0 ] && [ -f "$T/out/virtguard_0.0.3_$ARCH.deb" ] && empty "$T/tmp" &&
    case $out in *"virtguard-provision: copying the source tree '$T/rootree' (without .git)"*"virtguard-provision: built '$T/out/virtguard_0.0.3_$ARCH.deb' from '$T/rootree'"*) true ;; *) false ;; esac &&
    ok "a tree root alone can write, on a writable mount: built, without its .git" ||
    bad "the root tree: exit $rc: $out"
[ "$(cd "$T/rootree" && find . -printf '%p %U %m %s %T@\n' | sort)" = "$before" ] &&
    ok "the tree is as it was (built in a private copy)" || bad "the tree changed"
rm -f "$T/out"/*

fake_src "$T/broken" 0.0.4 virtguard 'echo "compiler says no" && exit 1'
chown -R 0:0 "$T/broken"
chmod -R go-w "$T/broken"
prov PARAM_VIRTGUARD_SRC="$T/broken" VIRTGUARD_BUILD_ONLY="$T/out"
refused "a failing build" 1 "virtguard-provision: NOT READY: building virtguard from '$T/broken' failed (dpkg-buildpackage; its last lines above): nothing was installed."
case $out in *"    compiler says no"*) ok "a failing build: its last lines are shown" ;; *) bad "a failing build: $out" ;; esac

# --- 4. the second boot: installed at the source's version or newer ---------
(
    VIRTGUARD_PROVISION_FUNCTIONS_ONLY=1 . "$SCRIPT"
    srcfrom=/mnt/virtguard-src srcver=0.1.0
    build_package() { echo "built"; }
    for installed in 0.1.0 0.1.1; do
        o=$(from_source)
        [ "$o" = "virtguard-provision: virtguard $installed is installed; the source '/mnt/virtguard-src' is 0.1.0: nothing to build." ] &&
            echo "ok - installed $installed, source 0.1.0: nothing to build" ||
            echo "FAIL - installed $installed: $o"
    done
) >"$T/second" 2>&1
cat "$T/second"
grep -q '^FAIL' "$T/second" && fails=$((fails + 1))

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
