#!/bin/bash
# run-e2e.sh SRCDIR E2EDIR -- virtguard's end-to-end test (`make check-e2e`).
#
# Builds (and caches) a Debian 12 guest with AppArmor, 9p, libvirt and QEMU,
# installs a freshly built virtguard package into it, shares an images directory
# with it over 9p as Lima does (host QEMU unprivileged, security_model=none),
# boots it under QEMU/TCG and runs tests/e2e/scenarios.sh with a real
# libvirtd inside; then boots the same guest a second, short time with the
# images share served over virtiofs by a root virtiofsd for the virtiofs
# cell (tests/e2e/scenarios-virtiofs.sh).  Then the same scenarios in a
# Debian 13 guest (AppArmor 4, libvirt 11) with the same 9p shares, its
# package built natively in a cached Debian 13 chroot on this host.
# E2E_GUESTS (default "deb12 deb13") picks the guests.
# Prints one line per scenario, then "N passed, M failed";
# exits non-zero if any scenario failed or did not report.
# See tests/e2e/README.md.
set -euo pipefail

src=$(cd "${1:?usage: run-e2e.sh SRCDIR E2EDIR}" && pwd)
top=${2:?usage: run-e2e.sh SRCDIR E2EDIR}
here=$src/tests/e2e
mkdir -p "$top"
top=$(cd "$top" && pwd)
cache=$top/cache
run=$top/run
log=$top/console.log
share_uid=${E2E_SHARE_UID:-1000}          # the unprivileged host user (Lima's)
guest_timeout=${E2E_GUEST_TIMEOUT:-1500}  # seconds for boot + scenarios
scenario_ids="1 2 3 4a 4b 5a 5b 6 7 8 9 9h h1"
expected="$scenario_ids vf1 vf2"
vf_timeout=${E2E_VF_TIMEOUT:-600}          # seconds for the virtiofs boot
virtiofsd=${E2E_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
# the Debian package's install and purge (tests/e2e/package.sh)
[ -n "${E2E_INSTALL_FROM:-}" ] || { expected="$expected pkg-install pkg-purge"; scenario_ids="$scenario_ids pkg-install pkg-purge"; }
guests=${E2E_GUESTS:-deb12 deb13}
want() { case " $guests " in *" $1 "*) return 0 ;; esac; return 1; }
# How a result line of a guest other than the Debian 12 one names its guest:
# "E2E PASS <label> ID NAME: …".
cell_label() { printf '%s' "$1"; }

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }
now() { date +%s; }
T_START=$(now)

for g in $guests; do
    case $g in deb12 | deb13) ;; *) die "E2E_GUESTS: unknown guest '$g' (known: deb12 deb13)" ;; esac
done
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mkfs of a root tree)"
missing=""
for t in debootstrap unshare qemu-system-x86_64 qemu-img mkfs.ext4 setpriv genisoimage timeout chroot \
         dpkg-buildpackage dh dh_apparmor; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || die "missing host tools:$missing (packages: tests/e2e/host-packages.txt)"
if want deb13 && [ ! -e /usr/share/keyrings/debian-archive-trixie-stable.gpg ]; then
    die "no Debian 13 archive key in /usr/share/keyrings: install debian-archive-keyring 2023.3+deb12u2 or later"
fi

qemu_pid=""
vfsd_pid=""
cleanup() {
    if [ -n "$vfsd_pid" ] && kill -0 "$vfsd_pid" 2>/dev/null; then
        kill -TERM "$vfsd_pid" 2>/dev/null || true
    fi
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
if want deb12; then cached_tree base base bookworm "$here/build-base.sh"; fi
if want deb13; then cached_tree base13 base trixie "$here/build-base.sh"; fi

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
        done | tar -C "$src" -cf - --no-recursion -T - | tar -C "$vsrc" -xpf - ||
            die "cannot copy the sources to $vsrc"
        if [ ! -x "$vsrc/configure" ]; then
            (cd "$vsrc" && autoreconf --install --force >autoreconf.out 2>&1) ||
                { tail -n 20 "$vsrc/autoreconf.out"; die "autoreconf failed"; }
        fi
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
# The Debian 13 guest's package: the same configure and `make deb` from the
# same source copy, natively in a cached Debian 13 build chroot on this host
# (not under TCG), in a private mount namespace so that nothing stays
# mounted in the cached tree.  Build directory: $top/build-SUITE.
build_virtguard_in_chroot() { # SUITE CHROOT
    local suite=$1 croot=$2 out=$top/build-$1
    mkdir -p "$out"
    rm -f "$out"/virtguard_*.deb
    unshare --mount --propagation private -- /bin/sh -euc '
        croot=$1 vsrc=$2 out=$3
        mount --bind "$vsrc" "$croot/build/src"
        mount --bind "$out" "$croot/build/out"
        mount -t proc proc "$croot/proc"
        mount --bind /dev "$croot/dev"
        exec chroot "$croot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root \
            /bin/sh -c "cd /build/out &&
                { [ -f config.status ] || /build/src/configure --prefix=/usr --sysconfdir=/etc \
                      --localstatedir=/var >configure.out 2>&1 || { tail -n 20 configure.out; exit 1; }; } &&
                { make deb >make.out 2>&1 || { tail -n 30 make.out; exit 1; }; }"
    ' sh "$croot" "$vsrc" "$out" || die "make deb in the $suite build chroot failed (see $out/make.out)"
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
        cached_tree buildroot13 buildroot trixie "$here/build-chroot.sh" "$src/debian/control"
        t=$(now)
        build_virtguard_in_chroot trixie "$buildroot13"
        say "virtguard for Debian 13 built in its build chroot in $(( $(now) - t )) s"
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

# make_shares DIR -- the 9p shares' directories under DIR (DIR/share), owned
# by the unprivileged user, as on a Mac; each guest gets its own fresh set.
qimg() { qemu-img create -q "$@" >/dev/null; }
make_shares() {
    local sh=$1/share
    mkdir -p "$sh/images" "$sh/sandboxes"/{a,b,c}
    qimg -f qcow2 "$sh/images/base.qcow2" 16M
    for o in s1 s2; do (cd "$sh/images" && qimg -f qcow2 -F qcow2 -b base.qcow2 "$o.qcow2"); done
    cp "$run/cidata.iso" "$sh/images/cidata.iso"
    for s in a b; do   # Lima's names, absolute backing path as Lima writes it
        qimg -f qcow2 "$sh/sandboxes/$s/basedisk" 16M
        qimg -u -f qcow2 -F qcow2 -b "/Users/dev/sandboxes/$s/basedisk" "$sh/sandboxes/$s/diffdisk" 16M
        cp "$run/cidata.iso" "$sh/sandboxes/$s/cidata.iso"
    done
    qimg -f qcow2 "$sh/sandboxes/c/base.qcow2" 16M
    qimg -u -f qcow2 -F qcow2 -b /Users/dev/sandboxes/c/base.qcow2 "$sh/sandboxes/c/disk.qcow2" 16M
    cp "$run/cidata.iso" "$sh/sandboxes/c/cidata.iso"
    # Scenario h1: what an attacker who can only write files on the share puts
    # there (images/hostile/).  qemu-img takes every one of these names.
    hostile_images() {
        local d=$sh/images/hostile inj='x" rwk, /** rwmlk, #' got
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
            qemu-img amend -q -f qcow2 -o 'data_file=/var/lib/libvirt/images/hostile/dabs\' ovabs.qcow2
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
ovabs data=/var/lib/libvirt/images/hostile/dabs\\
q backing=q\"b.raw" ] || die "hostile images: qemu-img info shows: $got"
    }
    hostile_images
    find "$sh" -type d -exec chmod 0755 {} + ; find "$sh" -type f -exec chmod 0644 {} +
    chown -R "$share_uid:$share_uid" "$sh"
}

t=$(now)
rm -rf "$run"
mkdir -p "$run/cidata"
printf 'instance-id: e2e\nlocal-hostname: e2e\n' >"$run/cidata/meta-data"
printf '#cloud-config\n' >"$run/cidata/user-data"
genisoimage -quiet -output "$run/cidata.iso" -volid cidata -joliet -rock \
    "$run/cidata/user-data" "$run/cidata/meta-data"
if want deb12; then
    make_root "$base" "$vbuild" "$run"
    # The virtiofs boot starts from the same fresh root (the main boot changes it).
    cp --sparse=always "$run/root.img" "$run/root-vf.img"
    make_shares "$run"
    sh=$run/share
    # The virtiofs cell's images share: one overlay + base per scenario, so that
    # the host sees each scenario's end owners after the power-off.
    vfsh=$run/vfshare
    for v in vf1 vf2; do
        mkdir -p "$vfsh/images/$v"
        qimg -f qcow2 "$vfsh/images/$v/base.qcow2" 16M
        (cd "$vfsh/images/$v" && qimg -f qcow2 -F qcow2 -b base.qcow2 overlay.qcow2)
        cp "$run/cidata.iso" "$vfsh/images/$v/cidata.iso"
    done
    find "$vfsh" -type d -exec chmod 0755 {} + ; find "$vfsh" -type f -exec chmod 0644 {} +
    chown -R "$share_uid:$share_uid" "$vfsh" "$run/root-vf.img"
    say "guest image built in $(( $(now) - t )) s (${size_mb} MiB)"
fi
if want deb13; then
    t=$(now)
    make_root "$base13" "$top/build-trixie" "$run/deb13"
    make_shares "$run/deb13"
    say "Debian 13 guest image built in $(( $(now) - t )) s (${size_mb} MiB)"
fi

# ---------------------------------------------------------------------------
# 4. Boot it: QEMU as the unprivileged user, TCG, serial console to $log.
# boot_guest DIR ROOT_IMG LOG TIMEOUT CMDLINE_EXTRA [QEMU ARGS...] -- boots
# DIR/vmlinuz + DIR/initrd.img on ROOT_IMG with guest-init.sh as PID 1 and
# waits for the power-off; sets rc to QEMU's exit status.
boot_guest() {
    local dir=$1 img=$2 console=$3 tmo=$4 extra=$5
    shift 5
    : >"$console"
    setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
        timeout --kill-after=15 "$tmo" \
        qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 "$@" \
            -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
            -append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 init=/e2e/init quiet loglevel=4 apparmor=1 security=apparmor panic=-1${extra:+ $extra} E2E_TIMEOUT=$((tmo - 120))" \
            -drive "file=$img,format=raw,if=virtio,cache=unsafe" \
            -nic none -display none -monitor none -serial stdio -no-reboot \
            </dev/null >"$console" 2>&1 &
    qemu_pid=$!
    rc=0
    wait "$qemu_pid" || rc=$?
    qemu_pid=""
}
# The 9p shares under DIR/share as Lima serves them: host QEMU unprivileged,
# security_model=none.
virtfs_args() { # DIR
    printf '%s\n' -virtfs "local,path=$1/share/images,mount_tag=images,security_model=none,id=images" \
        -virtfs "local,path=$1/share/sandboxes,mount_tag=sandboxes,security_model=none,id=sandboxes"
}
T_GUEST=0 T_VF=0 T_DEB13=0
if want deb12; then
    t=$(now)
    say "booting the guest (TCG; console: $log)"
    mapfile -t shares < <(virtfs_args "$run")
    boot_guest "$run" "$run/root.img" "$log" "$guest_timeout" "" "${shares[@]}"
    T_GUEST=$(( $(now) - t ))
    say "guest ran $T_GUEST s (QEMU exit status $rc)"
    rc_main=$rc

    # ---------------------------------------------------------------------------
    # 4b. The virtiofs cell: the same guest, booted again with the images share
    # served by a root virtiofsd (libvirt's chown reaches the host files, the
    # share keeps no trusted.* xattrs); the owners are checked here after the
    # power-off.  Every failure to set it up is a FAIL line with the reason.
    vres=$run/results-vf.txt
    : >"$vres"
    vf_fail_all() { printf 'E2E FAIL vf1 owner-lost-warned: %s\nE2E FAIL vf2 label-keeps-owner: %s\n' "$1" "$1" >>"$vres"; }
    owners_of() { (cd "$vfsh/images/$1" && stat -c %u:%g overlay.qcow2 base.qcow2 cidata.iso | tr '\n' ' ' | sed 's/ $//'); }
    vf_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1" | head -n1; }
    vf_check() { # the host's half of vf1 and vf2, from the guest's E2E-VF lines
        local d o b i got
        if ! grep -qE '^E2E FAIL vf1 ' "$vres"; then
            d=$(grep -E '^E2E-VF vf1 ' "$run/console-vf.txt" | tail -n1)
            o=$(vf_field "$d" overlay); b=$(vf_field "$d" base); i=$(vf_field "$d" iso)
            got=$(owners_of vf1)
            if [ -z "$d" ]; then
                echo "E2E FAIL vf1 no-result: the guest printed neither a result nor its data; see $vlog" >>"$vres"
            elif [ "$got" = "$o $b $i" ] && [ "$o" != "$share_uid:$share_uid" ]; then
                echo "E2E PASS vf1 owner-lost-warned: started with one warning (virtguard doctor: $(vf_field "$d" doctor)); it named the end owners overlay $o, base $b, cidata.iso $i; on the host after destroy and power-off: overlay ${got%% *}, base $(cut -d' ' -f2 <<<"$got"), cidata.iso ${got##* } (files were $share_uid:$share_uid; overlay,base in the guest while running: $(vf_field "$d" running))" >>"$vres"
            else
                echo "E2E FAIL vf1 owner-lost-warned: the warning named overlay $o, base $b, cidata.iso $i; the host sees overlay/base/cidata.iso $got after the power-off" >>"$vres"
            fi
        fi
        if ! grep -qE '^E2E FAIL vf2 ' "$vres"; then
            d=$(grep -E '^E2E-VF vf2 ' "$run/console-vf.txt" | tail -n1)
            got=$(owners_of vf2)
            if [ -z "$d" ]; then
                echo "E2E FAIL vf2 no-result: the guest printed neither a result nor its data; see $vlog" >>"$vres"
            elif [ "$got" = "$share_uid:$share_uid $share_uid:$share_uid $share_uid:$share_uid" ]; then
                echo "E2E PASS vf2 label-keeps-owner: started with label $(vf_field "$d" label) (QEMU uid $(vf_field "$d" qemu-uid), $(vf_field "$d" profile)), no warning; on the host after destroy and power-off overlay/base/cidata.iso are $got" >>"$vres"
            else
                echo "E2E FAIL vf2 label-keeps-owner: with label $(vf_field "$d" label) the host sees overlay/base/cidata.iso $got after the power-off (were $share_uid:$share_uid)" >>"$vres"
            fi
        fi
    }
    t=$(now)
    vlog=$run/console-vf.log
    : >"$vlog"
    vsock=$run/virtiofsd.sock
    vgroup=$(getent group "$share_uid" | cut -d: -f1)
    if [ ! -x "$virtiofsd" ]; then
        vf_fail_all "no virtiofsd at $virtiofsd (QEMU 7.2's C virtiofsd, package qemu-system-common): virtiofs cannot be tested here"
    elif [ -z "$vgroup" ]; then
        vf_fail_all "no group with gid $share_uid for virtiofsd's --socket-group"
    else
        rm -f "$vsock"
        "$virtiofsd" --socket-path="$vsock" --socket-group="$vgroup" -o source="$vfsh/images" \
            >"$run/virtiofsd.log" 2>&1 &
        vfsd_pid=$!
        for _ in $(seq 100); do [ -S "$vsock" ] && break; kill -0 "$vfsd_pid" 2>/dev/null || break; sleep 0.1; done
        if [ ! -S "$vsock" ]; then
            vf_fail_all "virtiofsd did not start: $(tail -n 3 "$run/virtiofsd.log" | tr '\n' ' ')"
        else
            say "booting the guest again with a virtiofs images share (console: $vlog)"
            boot_guest "$run" "$run/root-vf.img" "$vlog" "$vf_timeout" e2e_share=virtiofs \
                -object memory-backend-memfd,id=mem,size=2048M,share=on -numa node,memdev=mem \
                -chardev "socket,id=c0,path=$vsock" -device vhost-user-fs-pci,chardev=c0,tag=images
            tr -d '\r' <"$vlog" >"$run/console-vf.txt"
            grep -E '^E2E (PASS|FAIL) vf' "$run/console-vf.txt" >>"$vres" || true
            # the Lima provisioning script on the virtiofs share (package.sh install)
            if [ -z "${E2E_INSTALL_FROM:-}" ]; then
                grep -E '^E2E (PASS|FAIL) pkg-install lima-provision-virtiofs:' "$run/console-vf.txt" >>"$vres" ||
                    echo "E2E FAIL pkg-install lima-provision-virtiofs: no result on the virtiofs boot's console; see $vlog" >>"$vres"
            fi
            grep -q '^E2E DONE' "$run/console-vf.txt" ||
                echo "E2E FAIL vf-guest did-not-finish: no 'E2E DONE' on the virtiofs boot's console (QEMU status $rc); see $vlog" >>"$vres"
            vf_check
        fi
        # virtiofsd exits when QEMU is gone
        for _ in $(seq 50); do kill -0 "$vfsd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$vfsd_pid" 2>/dev/null && { say "virtiofsd still running after QEMU: stopped"; kill -TERM "$vfsd_pid"; }
        wait "$vfsd_pid" 2>/dev/null || true
        vfsd_pid=""
    fi
    T_VF=$(( $(now) - t ))
    say "virtiofs boot ran $T_VF s"
fi

# ---------------------------------------------------------------------------
# 4c. The Debian 13 guest (AppArmor 4, libvirt 11, kernel 6.12): the same 9p
# shares (its own fresh copy) and the same scenarios, then the purge check.
# Its result lines name it: "E2E PASS <label> ID NAME: …" (cell_label).
res13=$run/results-deb13.txt
: >"$res13"
if want deb13; then
    t=$(now)
    log13=$top/console-deb13.log
    label13=$(cell_label deb13)
    say "booting the Debian 13 guest (TCG; console: $log13)"
    mapfile -t shares < <(virtfs_args "$run/deb13")
    boot_guest "$run/deb13" "$run/deb13/root.img" "$log13" "$guest_timeout" "" "${shares[@]}"
    T_DEB13=$(( $(now) - t ))
    say "Debian 13 guest ran $T_DEB13 s (QEMU exit status $rc)"
    tr -d '\r' <"$log13" >"$run/console-deb13.txt"
    grep -E '^E2E (PASS|FAIL|N/A) ' "$run/console-deb13.txt" |
        sed -E "s|^E2E (PASS\|FAIL\|N/A) |E2E \1 $label13 |" >"$res13" || true
    grep -q '^E2E DONE' "$run/console-deb13.txt" ||
        echo "E2E FAIL $label13 guest did-not-finish: no 'E2E DONE' on the console (QEMU status $rc); see $log13" >>"$res13"
    for id in $scenario_ids; do
        grep -qE "^E2E (PASS|FAIL|N/A) $label13 $id " "$res13" ||
            echo "E2E FAIL $label13 $id no-result: the scenario printed no result; see $log13" >>"$res13"
    done
fi

# ---------------------------------------------------------------------------
# 5. Results.
: >"$run/results.txt"
if want deb12; then
    tr -d '\r' <"$log" >"$run/console.txt"
    grep -E '^E2E (PASS|FAIL) ' "$run/console.txt" >"$run/results.txt" || true
    cat "$vres" >>"$run/results.txt"
    grep -q '^E2E DONE' "$run/console.txt" ||
        echo "E2E FAIL guest did-not-finish: no 'E2E DONE' on the console (QEMU status $rc_main); see $log" >>"$run/results.txt"
    for id in $expected; do
        grep -qE "^E2E (PASS|FAIL) $id " "$run/results.txt" ||
            echo "E2E FAIL $id no-result: the scenario printed no result; see $log" >>"$run/results.txt"
    done
fi
cat "$res13" >>"$run/results.txt"
echo
cat "$run/results.txt"
npass=$(grep -c '^E2E PASS ' "$run/results.txt" || true)
nfail=$(grep -c '^E2E FAIL ' "$run/results.txt" || true)
nna=$(grep -c '^E2E N/A ' "$run/results.txt" || true)
say "total $(( $(now) - T_START )) s (guest $T_GUEST s, virtiofs boot $T_VF s, Debian 13 guest $T_DEB13 s)"
if [ "$nna" = 0 ]; then
    echo "$npass passed, $nfail failed"
else
    echo "$npass passed, $nfail failed, $nna skipped"
fi
[ "$nfail" = 0 ]
