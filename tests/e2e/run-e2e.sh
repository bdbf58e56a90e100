#!/bin/bash
# run-e2e.sh SRCDIR E2EDIR -- virtguard's end-to-end test (`make check-e2e`).
#
# Builds (and caches) a Debian 12 and a Debian 13 guest with AppArmor, 9p,
# libvirt and QEMU, installs a freshly built virtguard package into each (the
# Debian 13 one built natively in a cached Debian 13 chroot on this host, by
# the Lima example's provision.sh from the source tree mounted read-only) and
# runs the scenarios in a matrix of share cells (tests/e2e/README.md), each
# guest booted twice:
#   main boot      9p-none (host QEMU unprivileged, security_model=none, as
#                  Lima does) and 9p-xattr (security_model=mapped-xattr),
#                  then the package's purge;
#   virtiofs boot  virtiofs-root (root virtiofsds) and virtiofs-userns
#                  (virtiofsds in a user namespace mapping only uid 1000).
# E2E_GUESTS (default "deb12 deb13") picks the guests.
# Prints one line per scenario per cell, "E2E PASS|FAIL|N/A GUEST/CELL ID
# NAME: evidence", the time of each cell, then "N passed, M failed, K not
# applicable"; exits non-zero if any scenario failed or did not report.
set -euo pipefail

src=$(cd "${1:?usage: run-e2e.sh SRCDIR E2EDIR}" && pwd)
top=${2:?usage: run-e2e.sh SRCDIR E2EDIR}
here=$src/tests/e2e
mkdir -p "$top"
top=$(cd "$top" && pwd)
cache=$top/cache
run=$top/run
share_uid=${E2E_SHARE_UID:-1000}          # the unprivileged host user (Lima's)
guest_timeout=${E2E_GUEST_TIMEOUT:-2400}  # seconds for a boot + two cells
vf_timeout=${E2E_VF_TIMEOUT:-1800}         # seconds for the virtiofs boot
virtiofsd=${E2E_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
guests=${E2E_GUESTS:-deb12 deb13}
want() { case " $guests " in *" $1 "*) return 0 ;; esac; return 1; }
# What every cell must report (a missing line is a FAIL): GUEST/CELL IDS.
scen_ids="1 2 3 4a 4b 5a 5b 6 7 8 9 9h h1 10 ca st"
expected_cells() { # GUEST
    echo "$1/9p-none $scen_ids"
    echo "$1/9p-xattr $scen_ids"
    echo "$1/virtiofs-root vf1 vf2 $scen_ids"
    echo "$1/virtiofs-userns $scen_ids"
    # the Debian package's install and purge (tests/e2e/package.sh)
    [ -n "${E2E_INSTALL_FROM:-}" ] || echo "$1/package pkg-install pkg-purge"
}
# The Lima example's provisioning script runs in every boot (package.sh
# install): the result lines each guest must print, GUEST/package NAME.
# The virtiofs boot installs from an https URL (package.sh: the refusals
# first, lima-provision-https).
expected_provision() { # GUEST
    [ -n "${E2E_INSTALL_FROM:-}" ] && return 0
    echo "$1/package lima-provision-9p"
    echo "$1/package lima-provision-virtiofs"
    echo "$1/package lima-provision-https"
}
# The package's own result lines, GUEST/package ID NAME COUNT (exactly COUNT
# of each): the install's in both boots, the purge's in the main boot.
expected_package() { # GUEST
    [ -n "${E2E_INSTALL_FROM:-}" ] && return 0
    echo "$1/package pkg-install apt-get-install 2"
    echo "$1/package pkg-install status-lists-install 2"
    echo "$1/package pkg-purge apt-get-purge 1"
    echo "$1/package pkg-purge status-listed-purged 1"
}

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; echo "0 passed, 1 failed, 0 not applicable"; exit 1; }
now() { date +%s; }
T_START=$(now)

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mkfs of a root tree)"
seen=""
for g in $guests; do
    case $g in deb12 | deb13) ;; *) die "E2E_GUESTS: unknown guest '$g' (known: deb12 deb13)" ;; esac
    case " $seen " in *" $g "*) die "E2E_GUESTS: '$g' named twice" ;; esac
    seen="$seen $g"
done
missing=""
for t in debootstrap unshare qemu-system-x86_64 qemu-img mkfs.ext4 setpriv genisoimage timeout chroot \
         dpkg-buildpackage dh dh_apparmor openssl; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || die "missing host tools:$missing (packages: tests/e2e/host-packages.txt)"
if want deb13 && [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
    die "no Debian 13 archive key in /usr/share/keyrings: install debian-archive-keyring 2023.3+deb12u2 or later"
fi
qemu_pid=""
vfsd_pids=""
cleanup() {
    local p
    for p in $vfsd_pids; do
        kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
    done
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill -TERM "$qemu_pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$qemu_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ---------------------------------------------------------------------------
# 1. The base trees, cached by the hash of the suite and the builder;
# a cached tree of an older builder for the same suite is removed.
# cached_tree VAR KIND SUITE BUILDER [KEYED FILE...] -- sets VAR to the
# tree's path, building it first (BUILDER OUT SUITE [KEYED FILE...]) when it
# is not cached.
cached_tree() {
    local var=$1 kind=$2 suite=$3 builder=$4 key dir old b t
    shift 4
    key=$( { echo "$suite"; cat "$builder" "$@"; } | sha256sum | cut -c1-16)
    dir=$cache/$kind-$suite-$key
    if [ ! -d "$dir" ]; then
        say "building the $suite $kind tree (debootstrap + packages; minutes; cached as $dir)"
        mkdir -p "$cache"
        for old in "$cache/$kind-$suite"-*; do
            b=${old##*/}
            [ -e "$old" ] && [ "${b%%.*}" != "${dir##*/}" ] && rm -rf "$old"
        done
        t=$(now)
        bash "$builder" "$dir" "$suite" "$@" || die "building the $suite $kind tree failed"
        say "$suite $kind tree built in $(( $(now) - t )) s"
    else
        say "$suite $kind tree: cached ($dir)"
    fi
    printf -v "$var" '%s' "$dir"
}
# (tree-lib.sh, which both builders source, is keyed as well: the builders
# ignore the extra argument)
if want deb12; then cached_tree base base bookworm "$here/build-base.sh" "$here/tree-lib.sh"; fi
if want deb13; then cached_tree base13 base trixie "$here/build-base.sh" "$here/tree-lib.sh"; fi

# ---------------------------------------------------------------------------
# 2. virtguard, configured for the guest's paths whatever the developer's
# own configure said.  Built from a copy of the sources when this is a git
# checkout (the source tree may itself be configured, which a VPATH build
# refuses); tar keeps the mtimes, so rebuilds are incremental.
# The files of the checkout a build needs: tracked and untracked-but-not-
# ignored ones, plus the generated build system when present.
source_files() {
    local f
    git -C "$src" ls-files -co --exclude-standard --exclude=/e2e/
    for f in configure Makefile.in aclocal.m4 config.h.in build-aux m4; do
        if [ -f "$src/$f" ]; then
            echo "$f"
        elif [ -d "$src/$f" ]; then
            (cd "$src" && find "$f" -type f)
        fi
    done
}
vsrc=$src
copy_sources() {
    local f
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        vsrc=$top/src
        mkdir -p "$vsrc"
        source_files | grep -v '^e2e/' | sort -u | while IFS= read -r f; do
            if [ -f "$src/$f" ]; then printf '%s\n' "$f"; fi
        done | tar -C "$src" -cf - --no-recursion -T - | tar -C "$vsrc" -xpf - --no-same-owner ||
            die "cannot copy the sources to $vsrc"
        if [ ! -x "$vsrc/configure" ]; then
            (cd "$vsrc" && autoreconf --install --force >autoreconf.out 2>&1) ||
                { tail -n 20 "$vsrc/autoreconf.out"; die "autoreconf failed"; }
        fi
        # root's alone, as provision.sh wants a tree on a bind mount to be
        # (the Debian 13 build below; docs/lima.md, Apple Silicon step 1)
        chmod -R go-w "$vsrc"
    fi
}
build_virtguard() {
    local vbuild=$top/build
    mkdir -p "$vbuild"
    if [ ! -f "$vbuild/config.status" ]; then
        (cd "$vbuild" && "$vsrc/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
            >configure.out 2>&1) || { tail -n 20 "$vbuild/configure.out"; die "configure failed"; }
    fi
    # The guest is Debian 12 like this host: the package is built here.
    rm -f "$vbuild"/virtguard_*.deb
    make -C "$vbuild" deb >"$vbuild/make.out" 2>&1 ||
        { tail -n 30 "$vbuild/make.out"; die "make deb failed"; }
}
# The Debian 13 guest's package: built natively in a cached Debian 13 build
# chroot on this host (not under TCG) by the Lima example's provision.sh,
# its build-from-source path, as a Mac user's instance builds it: the same
# source copy bind-mounted READ-ONLY as PARAM_VIRTGUARD_SRC, the .deb
# written to VIRTGUARD_BUILD_ONLY (nothing installed in the chroot).  In a
# private mount namespace, over a scratch /build (source, output, the
# script) and /tmp, so that nothing stays mounted in the cached tree or is
# written to it.  Output: $top/build-SUITE/virtguard_*.deb, the script's
# output in $top/build-SUITE/provision.out.
build_virtguard_in_chroot() { # SUITE CHROOT
    local suite=$1 croot=$2 out=$top/build-$1 work=$top/build-$1.work
    mkdir -p "$out"
    chmod 0755 "$out"       # VIRTGUARD_BUILD_ONLY must be root's alone
    rm -rf "$work" "$out"/virtguard_*.deb
    mkdir -p "$work/src" "$work/out" "$work/tmp"
    : >"$work/provision.sh"
    unshare --mount --propagation private -- /bin/sh -euc '
        croot=$1 vsrc=$2 out=$3 work=$4 script=$5
        mount --bind "$work" "$croot/build"
        mount --bind -o ro "$vsrc" "$croot/build/src"
        mount --bind "$out" "$croot/build/out"
        mount --bind -o ro "$script" "$croot/build/provision.sh"
        mount --bind "$work/tmp" "$croot/tmp"
        if touch "$croot/build/src/.e2e-rw" 2>/dev/null; then
            echo "the source bind mount is writable"; exit 1
        fi
        mount -t proc proc "$croot/proc"
        mount --bind /dev "$croot/dev"
        exec chroot "$croot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root \
            PARAM_VIRTGUARD_SRC=/build/src VIRTGUARD_BUILD_ONLY=/build/out \
            /bin/bash /build/provision.sh
    ' sh "$croot" "$vsrc" "$out" "$work" "$src/docs/examples/lima/provision.sh" >"$out/provision.out" 2>&1 ||
        { tail -n 40 "$out/provision.out"; die "provision.sh's build from source in the $suite build chroot failed (see $out/provision.out)"; }
    grep -q "^virtguard-provision: built '/build/out/virtguard_.*\.deb' from '/build/src'" "$out/provision.out" ||
        { cat "$out/provision.out"; die "provision.sh in the $suite build chroot did not say it built the package"; }
    rm -rf "$work"
}
vbuild=$top/build
if [ -n "${E2E_INSTALL_FROM:-}" ]; then
    # Debugging aid: an already installed staging tree (make install
    # DESTDIR=DIR of a build configured as below) instead of a fresh build,
    # for every guest.
    say "virtguard: taken from $E2E_INSTALL_FROM (E2E_INSTALL_FROM), not built"
else
    copy_sources
    if want deb12; then
        t=$(now)
        build_virtguard
        say "virtguard built in $(( $(now) - t )) s"
    fi
    if want deb13; then
        cached_tree buildroot13 buildroot trixie "$here/build-chroot.sh" "$src/debian/control" "$here/tree-lib.sh"
        t=$(now)
        build_virtguard_in_chroot trixie "$buildroot13"
        say "virtguard for Debian 13 built by provision.sh (read-only source) in its build chroot in $(( $(now) - t )) s"
    fi
fi

# ---------------------------------------------------------------------------
# 3. The guest root: the base tree + virtguard + the test scripts.
# make_root BASE DEBDIR DIR -- DIR/root.img, DIR/vmlinuz, DIR/initrd.img;
# sets size_mb.
make_root() {
    local base=$1 vbuild=$2 dir=$3 tree=$3/tree kver
    mkdir -p "$dir"
    cp -a "$base" "$tree"
    if [ -n "${E2E_INSTALL_FROM:-}" ]; then
        cp -a "$E2E_INSTALL_FROM/." "$tree/"
        [ -x "$tree/etc/libvirt/hooks/qemu.d/virtguard" ] || die "no hook installed in the guest tree"
        install -d -m 0755 "$tree/e2e"
    else
        # Installed in the guest at boot by the Lima example's provisioning
        # script, unchanged (tests/e2e/package.sh).
        install -d -m 0755 "$tree/e2e"
        cp "$vbuild"/virtguard_*.deb "$tree/e2e/" || die "no virtguard_*.deb built"
        install -m 0755 "$here/package.sh" "$tree/e2e/package.sh"
        install -m 0755 "$src/docs/examples/lima/provision.sh" "$tree/e2e/provision.sh"
        # the https package server of the virtiofs boot (package.sh)
        install -m 0755 "$here/https-serve.py" "$tree/e2e/https-serve.py"
        install -d -m 0700 "$tree/e2e/tls"
        install -m 0644 "$run/tls/ca.pem" "$run/tls/other-ca.pem" "$run/tls/server.pem" "$tree/e2e/tls/"
        install -m 0600 "$run/tls/server.key" "$tree/e2e/tls/"
    fi
    install -m 0755 "$here/guest-init.sh" "$tree/e2e/init"
    install -m 0755 "$here/scenarios.sh" "$tree/e2e/scenarios.sh"
    install -m 0755 "$here/scenarios-virtiofs.sh" "$tree/e2e/scenarios-virtiofs.sh"
    kver=$(cd "$tree/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n1)
    cp "$tree/boot/vmlinuz-$kver" "$dir/vmlinuz"
    cp "$tree/boot/initrd.img-$kver" "$dir/initrd.img"
    size_mb=$(( $(du -sm "$tree" | cut -f1) + 768 ))
    mkfs.ext4 -q -F -L e2eroot -d "$tree" "$dir/root.img" "${size_mb}M" >"$dir/mkfs.out" 2>&1 ||
        { cat "$dir/mkfs.out"; die "mkfs.ext4 -d failed"; }
    rm -rf "$tree"
    chown "$share_uid:$share_uid" "$dir/root.img"
    chmod 0644 "$dir/vmlinuz" "$dir/initrd.img"
}

# The shared directories, owned by the unprivileged user, as on a Mac: one
# images + sandboxes pair per cell that runs scenarios.sh, each with the
# guest paths it is mounted on (Lima writes absolute backing paths).
qimg() { qemu-img create -q "$@" >/dev/null; }
# Scenario h1: what an attacker who can only write files on the share puts
# there (images/hostile/).  qemu-img takes every one of these names.
hostile_images() { # HOSTDIR GUEST-IMG
    local d=$1/hostile gimg=$2 inj='x" rwk, /** rwmlk, #' got
    mkdir -p "$d/x\" rwk, "
    cp "$run/cidata.iso" "$d/cidata.iso"
    (
        cd "$d"
        qimg -f raw "$inj" 1M
        # the rule injection: data file 'd\' (relative), backing "$inj"
        qimg -f qcow2 -o 'data_file=d\' ov.qcow2 16M
        qemu-img rebase -q -u -f qcow2 -F raw -b "$inj" ov.qcow2
        # the same with an absolute data-file name (guest path)
        qimg -f qcow2 -o 'data_file=dabs\' ovabs.qcow2 16M
        qemu-img rebase -q -u -f qcow2 -F raw -b "$inj" ovabs.qcow2
        qemu-img amend -q -f qcow2 -o "data_file=$gimg/hostile/dabs\\" ovabs.qcow2
        # LF and CR in a disk's file name; 'c r.qcow2' is the name libvirt's
        # XML (raw CR in an attribute, normalised to a space) shows the hook
        qimg -f qcow2 $'n\nl.qcow2' 16M
        qimg -f qcow2 $'c\rr.qcow2' 16M
        qimg -f qcow2 'c r.qcow2' 16M
        # a double quote in a backing name
        qimg -f raw 'q"b.raw' 1M
        qimg -u -f qcow2 -F raw -b 'q"b.raw' q.qcow2 16M
    )
    got=$(cd "$d" && for i in ov ovabs q; do
              qemu-img info -U "$i.qcow2" | sed -n "s/^backing file: /$i backing=/p; s/^ *data file: /$i data=/p"
          done)
    [ "$got" = "ov backing=$inj
ov data=d\\
ovabs backing=$inj
ovabs data=$gimg/hostile/dabs\\
q backing=q\"b.raw" ] || die "hostile images: qemu-img info shows: $got"
}
make_share() { # HOSTDIR GUEST-IMG GUEST-SBX: HOSTDIR/images, HOSTDIR/sandboxes
    local h=$1 gimg=$2 gsbx=$3 o s
    mkdir -p "$h/images" "$h/sandboxes"/{a,b,c}
    qimg -f qcow2 "$h/images/base.qcow2" 16M
    for o in s1 s2; do (cd "$h/images" && qimg -f qcow2 -F qcow2 -b base.qcow2 "$o.qcow2"); done
    cp "$run/cidata.iso" "$h/images/cidata.iso"
    for s in a b; do   # Lima's names, absolute backing path as Lima writes it
        qimg -f qcow2 "$h/sandboxes/$s/basedisk" 16M
        qimg -u -f qcow2 -F qcow2 -b "$gsbx/$s/basedisk" "$h/sandboxes/$s/diffdisk" 16M
        cp "$run/cidata.iso" "$h/sandboxes/$s/cidata.iso"
    done
    qimg -f qcow2 "$h/sandboxes/c/base.qcow2" 16M
    qimg -u -f qcow2 -F qcow2 -b "$gsbx/c/base.qcow2" "$h/sandboxes/c/disk.qcow2" 16M
    cp "$run/cidata.iso" "$h/sandboxes/c/cidata.iso"
    hostile_images "$h/images" "$gimg"
}
rm -rf "$run"
mkdir -p "$run/cidata"
printf 'instance-id: e2e\nlocal-hostname: e2e\n' >"$run/cidata/meta-data"
printf '#cloud-config\n' >"$run/cidata/user-data"
genisoimage -quiet -output "$run/cidata.iso" -volid cidata -joliet -rock \
    "$run/cidata/user-data" "$run/cidata/meta-data"
# make_tls DIR: a test CA (ca.pem) and a certificate it signed for localhost
# (server.pem, server.key), valid two days: the guest's https package
# server's (package.sh), trusted only through CURL_CA_BUNDLE; and another CA
# (other-ca.pem), a store that does not trust that certificate.
make_tls() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=virtguard e2e test CA" \
        -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout "$d/ca.key" -out "$d/ca.pem" >"$d/openssl.out" 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=virtguard e2e other CA" \
        -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout "$d/other-ca.key" -out "$d/other-ca.pem" >>"$d/openssl.out" 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$d/server.key" -out "$d/server.csr" >>"$d/openssl.out" 2>&1 &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" >>"$d/openssl.out" 2>&1 ||
        { cat "$d/openssl.out"; die "cannot make the test TLS certificates"; }
}
make_tls "$run/tls"
# own_shares DIR...: as on a Mac, the unprivileged user's files
own_shares() {
    find "$@" -type d -exec chmod 0755 {} + ; find "$@" -type f -exec chmod 0644 {} +
    chown -R "$share_uid:$share_uid" "$@"
}
# guest_image GUEST BASE DEBDIR: everything one guest's two boots need, in
# $run/GUEST: the root image of the main boot (root.img) and a copy of it,
# made before that boot changes it, for the virtiofs boot (root-vf.img); one
# images + sandboxes pair per cell that runs scenarios.sh (the paths are
# scenarios.sh's cell table's): share (9p-none), xshare (9p-xattr), rshare
# (virtiofs-root), ushare (virtiofs-userns); and vfshare, the virtiofs-root
# cell's images share for vf1 and vf2: one overlay + base per scenario, so
# that the host sees each scenario's end owners after the power-off.
guest_image() {
    local g=$1 gd=$run/$1 v t
    t=$(now)
    make_root "$2" "$3" "$gd"
    cp --sparse=always "$gd/root.img" "$gd/root-vf.img"
    make_share "$gd/share" /var/lib/libvirt/images /Users/dev/sandboxes
    make_share "$gd/xshare" /srv/xattr-images /Users/dev/xattr-sandboxes
    make_share "$gd/rshare" /srv/root-images /Users/dev/root-sandboxes
    make_share "$gd/ushare" /srv/uns-images /Users/dev/uns-sandboxes
    for v in vf1 vf2; do
        mkdir -p "$gd/vfshare/images/$v"
        qimg -f qcow2 "$gd/vfshare/images/$v/base.qcow2" 16M
        (cd "$gd/vfshare/images/$v" && qimg -f qcow2 -F qcow2 -b base.qcow2 overlay.qcow2)
        cp "$run/cidata.iso" "$gd/vfshare/images/$v/cidata.iso"
    done
    own_shares "$gd/share" "$gd/xshare" "$gd/rshare" "$gd/ushare" "$gd/vfshare"
    chown "$share_uid:$share_uid" "$gd/root-vf.img"
    say "$g guest image built in $(( $(now) - t )) s (${size_mb} MiB)"
}
if want deb12; then guest_image deb12 "$base" "$top/build"; fi
if want deb13; then guest_image deb13 "$base13" "$top/build-trixie"; fi

# ---------------------------------------------------------------------------
# 4. The boots, two per guest: QEMU as the unprivileged user, TCG, serial
# console to a log.
# boot_guest DIR ROOT_IMG LOG TIMEOUT CMDLINE_EXTRA [QEMU ARGS...] -- boots
# DIR/vmlinuz + DIR/initrd.img on ROOT_IMG with guest-init.sh as PID 1 and
# waits for the power-off; sets rc to QEMU's exit status.  CMDLINE_EXTRA
# names the cells (e2e_cells=A,B) and their time bound (E2E_TIMEOUT, per cell).
boot_guest() {
    local dir=$1 img=$2 console=$3 tmo=$4 extra=$5
    shift 5
    : >"$console"
    setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
        timeout --kill-after=15 "$tmo" \
        qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 "$@" \
            -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
            -append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 init=/e2e/init quiet loglevel=4 apparmor=1 security=apparmor panic=-1 $extra" \
            -drive "file=$img,format=raw,if=virtio,cache=unsafe" \
            -nic none -display none -monitor none -serial stdio -no-reboot \
            </dev/null >"$console" 2>&1 &
    qemu_pid=$!
    rc=0
    wait "$qemu_pid" || rc=$?
    qemu_pid=""
}
boot_times=""     # "GUEST main boot N s, ..." for the summary
# results_of LOG NAME: LOG's result lines (CR-free copy LOG.txt) onto
# $run/results.txt, and a FAIL when the boot NAME never printed E2E DONE.
: >"$run/results.txt"
results_of() {
    tr -d '\r' <"$1" >"$1.txt"
    grep -E '^E2E (PASS|FAIL|N/A|TIME) ' "$1.txt" >>"$run/results.txt" || true
    grep -q '^E2E DONE' "$1.txt" ||
        echo "E2E FAIL $2 guest did-not-finish: no 'E2E DONE' on the console (QEMU status $rc); see $1" >>"$run/results.txt"
}

# 4a. The main boot of GUEST: cells 9p-none (host QEMU unprivileged,
# security_model=none, as Lima serves it: libvirt's chown in the guest has
# no effect, as on a Mac) and 9p-xattr (mapped-xattr: chown sticks, kept in
# user.virtfs.* xattrs of the host files), then the package's purge.
main_boot() { # GUEST
    local g=$1 gd=$run/$1 console=$top/console-$1.log t
    t=$(now)
    say "booting the $g guest (TCG; console: $console)"
    boot_guest "$gd" "$gd/root.img" "$console" "$guest_timeout" \
        "e2e_cells=9p-none,9p-xattr e2e_purge E2E_TIMEOUT=$(((guest_timeout - 120) / 2))" \
        -virtfs "local,path=$gd/share/images,mount_tag=images,security_model=none,id=images" \
        -virtfs "local,path=$gd/share/sandboxes,mount_tag=sandboxes,security_model=none,id=sandboxes" \
        -virtfs "local,path=$gd/xshare/images,mount_tag=ximages,security_model=mapped-xattr,id=ximages" \
        -virtfs "local,path=$gd/xshare/sandboxes,mount_tag=xsandboxes,security_model=mapped-xattr,id=xsandboxes"
    results_of "$console" "$g/main"
    boot_times="$boot_times, $g main boot $(( $(now) - t )) s"
    say "$g main boot ran $(( $(now) - t )) s (QEMU exit status $rc)"
}

# 4b. The virtiofs boot of GUEST: the same fresh root, booted again with
# virtiofs shares.  virtiofs-root: the images share served by a root
# virtiofsd (libvirt's chown reaches the host files, the share keeps no
# trusted.* xattrs); vf1 and vf2's owners are checked here after the
# power-off.  virtiofs-userns: images and sandboxes served by virtiofsds
# running as uid 1000 in a user namespace that maps only uid 1000 (the
# guest sees 1000:1000, chown fails with EINVAL, guest root cannot create
# files).  Every failure to set it up is a FAIL line with the reason.
owners_of() { # VFSHARE SCENARIO: the host owners of its overlay, base, ISO
    (cd "$1/images/$2" && stat -c %u:%g overlay.qcow2 base.qcow2 cidata.iso | tr '\n' ' ' | sed 's/ $//')
}
vf_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1" | head -n1 || true; }
# vf_check CELL VFSHARE CONSOLE: the host's half of vf1 and vf2, from the
# guest's E2E-VF lines, onto $run/results.txt
vf_check() {
    local cell=$1 vfsh=$2 console=$3 d o b i got
    if ! grep -qE "^E2E FAIL $cell vf1 " "$run/results.txt"; then
        d=$(grep -E "^E2E-VF $cell vf1 " "$console.txt" | tail -n1) || d=""
        o=$(vf_field "$d" overlay); b=$(vf_field "$d" base); i=$(vf_field "$d" iso)
        got=$(owners_of "$vfsh" vf1) || got="(files missing)"
        if [ -z "$d" ]; then
            echo "E2E FAIL $cell vf1 no-result: the guest printed neither a result nor its data; see $console"
        elif [ "$got" = "$o $b $i" ] && [ "$o" != "$share_uid:$share_uid" ]; then
            echo "E2E PASS $cell vf1 owner-lost-warned: started with one warning (virtguard doctor: $(vf_field "$d" doctor)); it named the end owners overlay $o, base $b, cidata.iso $i; on the host after destroy and power-off: overlay ${got%% *}, base $(cut -d' ' -f2 <<<"$got"), cidata.iso ${got##* } (files were $share_uid:$share_uid; overlay,base in the guest while running: $(vf_field "$d" running))"
        else
            echo "E2E FAIL $cell vf1 owner-lost-warned: the warning named overlay $o, base $b, cidata.iso $i; the host sees overlay/base/cidata.iso $got after the power-off"
        fi >>"$run/results.txt"
    fi
    if ! grep -qE "^E2E FAIL $cell vf2 " "$run/results.txt"; then
        d=$(grep -E "^E2E-VF $cell vf2 " "$console.txt" | tail -n1) || d=""
        got=$(owners_of "$vfsh" vf2) || got="(files missing)"
        if [ -z "$d" ]; then
            echo "E2E FAIL $cell vf2 no-result: the guest printed neither a result nor its data; see $console"
        elif [ "$got" = "$share_uid:$share_uid $share_uid:$share_uid $share_uid:$share_uid" ]; then
            echo "E2E PASS $cell vf2 label-keeps-owner: started with label $(vf_field "$d" label) (QEMU uid $(vf_field "$d" qemu-uid), $(vf_field "$d" profile)), no warning; on the host after destroy and power-off overlay/base/cidata.iso are $got"
        else
            echo "E2E FAIL $cell vf2 label-keeps-owner: with label $(vf_field "$d" label) the host sees overlay/base/cidata.iso $got after the power-off (were $share_uid:$share_uid)"
        fi >>"$run/results.txt"
    fi
}
# start_virtiofsd GUESTDIR NAME DIR [userns]: a virtiofsd serving DIR on
# GUESTDIR/NAME.sock (GUESTDIR/uns/NAME.sock with userns), logging to
# GUESTDIR/virtiofsd-NAME.log; with "userns" as the share owner in a user
# namespace that maps only that uid (and a private tmpfs on its pid-file
# directory, which only root may write).  Returns non-zero, with the reason
# in $vf_why, when its socket does not appear.
start_virtiofsd() {
    local gd=$1 sock=$1/$2.sock vlg=$1/virtiofsd-$2.log pid
    [ "${4:-}" = userns ] && sock=$gd/uns/$2.sock      # a directory uid 1000 may write
    rm -f "$sock"
    if [ "${4:-}" = userns ]; then
        install -d -o "$share_uid" -g "$share_uid" -m 0755 "$gd/uns"
        mkdir -p -m 0700 /run/virtiofsd
        setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
            unshare --map-user="$share_uid" --map-group="$share_uid" --keep-caps --mount -- \
            sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/virtiofsd && exec "$@"' sh \
            "$virtiofsd" --socket-path="$sock" --socket-group="$vgroup" -o source="$3" \
            >"$vlg" 2>&1 &
    else
        "$virtiofsd" --socket-path="$sock" --socket-group="$vgroup" -o source="$3" >"$vlg" 2>&1 &
    fi
    pid=$!
    vfsd_pids="$vfsd_pids $pid"
    for _ in $(seq 100); do [ -S "$sock" ] && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    vf_why="virtiofsd ($2${4:+, $4}) did not start: $(tail -n 3 "$vlg" | tr '\n' ' ')"
    return 1
}
virtiofs_boot() { # GUEST
    local g=$1 gd=$run/$1 console=$top/console-$1-virtiofs.log cell=$1/virtiofs-root t p
    t=$(now)
    : >"$console"
    vgroup=$(getent group "$share_uid" | cut -d: -f1) || vgroup=""
    vf_why=""
    if [ ! -x "$virtiofsd" ]; then
        vf_why="no virtiofsd at $virtiofsd (QEMU 7.2's C virtiofsd, package qemu-system-common): virtiofs cannot be tested here"
    elif [ -z "$vgroup" ]; then
        vf_why="no group with gid $share_uid for virtiofsd's --socket-group"
    elif start_virtiofsd "$gd" vf-images "$gd/vfshare/images" &&
         start_virtiofsd "$gd" r-images "$gd/rshare/images" &&
         start_virtiofsd "$gd" r-sandboxes "$gd/rshare/sandboxes" &&
         start_virtiofsd "$gd" uns-images "$gd/ushare/images" userns &&
         start_virtiofsd "$gd" uns-sandboxes "$gd/ushare/sandboxes" userns; then
        say "booting the $g guest again with virtiofs shares (console: $console)"
        boot_guest "$gd" "$gd/root-vf.img" "$console" "$vf_timeout" \
            "e2e_cells=virtiofs-root,virtiofs-userns e2e_deb_via=https E2E_TIMEOUT=$(((vf_timeout - 120) / 2))" \
            -object memory-backend-memfd,id=mem,size=2048M,share=on -numa node,memdev=mem \
            -chardev "socket,id=c0,path=$gd/vf-images.sock" -device vhost-user-fs-pci,chardev=c0,tag=images \
            -chardev "socket,id=c3,path=$gd/r-images.sock" -device vhost-user-fs-pci,chardev=c3,tag=rimages \
            -chardev "socket,id=c4,path=$gd/r-sandboxes.sock" -device vhost-user-fs-pci,chardev=c4,tag=rsandboxes \
            -chardev "socket,id=c1,path=$gd/uns/uns-images.sock" -device vhost-user-fs-pci,chardev=c1,tag=uimages \
            -chardev "socket,id=c2,path=$gd/uns/uns-sandboxes.sock" -device vhost-user-fs-pci,chardev=c2,tag=usandboxes
        results_of "$console" "$g/virtiofs"
        vf_check "$cell" "$gd/vfshare" "$console"
    fi
    [ -z "$vf_why" ] || printf 'E2E FAIL %s vf1 owner-lost-warned: %s\nE2E FAIL %s vf2 label-keeps-owner: %s\n' \
        "$cell" "$vf_why" "$cell" "$vf_why" >>"$run/results.txt"
    # the virtiofsds exit when QEMU is gone
    for p in $vfsd_pids; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && { say "virtiofsd $p still running after QEMU: stopped"; kill -TERM "$p"; }
        wait "$p" 2>/dev/null || true
    done
    vfsd_pids=""
    boot_times="$boot_times, $g virtiofs boot $(( $(now) - t )) s"
    say "$g virtiofs boot ran $(( $(now) - t )) s"
}
for g in $guests; do
    main_boot "$g"
    virtiofs_boot "$g"
done

# ---------------------------------------------------------------------------
# 5. Results: every cell's lines, a FAIL for each expected one missing.
for g in $guests; do
    while read -r cell ids; do
        for id in $ids; do
            grep -qE "^E2E (PASS|FAIL|N/A) $cell $id " "$run/results.txt" ||
                echo "E2E FAIL $cell $id no-result: the scenario printed no result in this cell; see the console logs in $top" >>"$run/results.txt"
        done
    done < <(expected_cells "$g")
    while read -r cell name; do
        grep -qE "^E2E (PASS|FAIL) $cell pkg-install $name: " "$run/results.txt" ||
            echo "E2E FAIL $cell pkg-install $name: the Lima provisioning script printed no result; see the console logs in $top" >>"$run/results.txt"
    done < <(expected_provision "$g")
    while read -r cell id name count; do
        n=$(grep -cE "^E2E (PASS|FAIL) $cell $id $name: " "$run/results.txt" || true)
        [ "$n" = "$count" ] ||
            echo "E2E FAIL $cell $id $name: $n result line(s), $count expected (the install's one per boot, the purge's in the main boot); see the console logs in $top" >>"$run/results.txt"
    done < <(expected_package "$g")
done
times=$(sed -n 's/^E2E TIME \([^ ]*\) \([0-9]*\)$/\1 \2 s/p' "$run/results.txt" | paste -sd';' | sed 's/;/; /g')
sed -i '/^E2E TIME /d' "$run/results.txt"
echo
cat "$run/results.txt"
npass=$(grep -c '^E2E PASS ' "$run/results.txt" || true)
nfail=$(grep -c '^E2E FAIL ' "$run/results.txt" || true)
nna=$(grep -c '^E2E N/A ' "$run/results.txt" || true)
say "cells: ${times:-none reported}"
say "total $(( $(now) - T_START )) s (${boot_times#, })"
echo "$npass passed, $nfail failed, $nna not applicable"
[ "$nfail" = 0 ]
