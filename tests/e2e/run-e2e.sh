#!/bin/bash
# run-e2e.sh SRCDIR E2EDIR -- virtguard's end-to-end test (`make check-e2e`).
#
# Builds (and caches) a Debian 12 guest with AppArmor, 9p, libvirt and QEMU,
# installs a freshly built virtguard package into it and runs the scenarios
# in a matrix of share cells (tests/e2e/README.md), booting the guest twice:
#   main boot      9p-none (host QEMU unprivileged, security_model=none, as
#                  Lima does) and 9p-xattr (security_model=mapped-xattr);
#   virtiofs boot  virtiofs-root (a root virtiofsd) and virtiofs-userns (a
#                  virtiofsd in a user namespace mapping only uid 1000).
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
log=$top/console.log
share_uid=${E2E_SHARE_UID:-1000}          # the unprivileged host user (Lima's)
guest_timeout=${E2E_GUEST_TIMEOUT:-2400}  # seconds for boot + two cells
guest=deb12                               # the guest label its scenarios print
vf_timeout=${E2E_VF_TIMEOUT:-1800}         # seconds for the virtiofs boot
virtiofsd=${E2E_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
# What every cell must report (a missing line is a FAIL): GUEST/CELL IDS.
scen_ids="1 2 3 4a 4b 5a 5b 6 7 8 9 9h h1 10"
expected_cells() { # GUEST
    echo "$1/9p-none $scen_ids"
    echo "$1/9p-xattr $scen_ids"
    echo "$1/virtiofs-root vf1 vf2 $scen_ids"
    echo "$1/virtiofs-userns $scen_ids"
    # the Debian package's install and purge (tests/e2e/package.sh)
    [ -n "${E2E_INSTALL_FROM:-}" ] || echo "$1/package pkg-install pkg-purge"
}

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; echo "0 passed, 1 failed, 0 not applicable"; exit 1; }
now() { date +%s; }
T_START=$(now)

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mkfs of a root tree)"
missing=""
for t in debootstrap qemu-system-x86_64 qemu-img mkfs.ext4 setpriv genisoimage timeout chroot \
         dpkg-buildpackage dh dh_apparmor; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || die "missing host tools:$missing (packages: tests/e2e/host-packages.txt)"

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
# 1. The base tree, cached by the hash of its builder.
key=$(cat "$here/build-base.sh" | sha256sum | cut -c1-16)
base=$cache/base-$key
if [ ! -d "$base" ]; then
    say "building the guest base tree (debootstrap + libvirt; a few minutes; cached as $base)"
    mkdir -p "$cache"
    for old in "$cache"/base-*; do
        [ -e "$old" ] && [ "$old" != "$base" ] && rm -rf "$old"
    done
    t=$(now)
    bash "$here/build-base.sh" "$base"
    say "base tree built in $(( $(now) - t )) s"
else
    say "base tree: cached ($base)"
fi

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
build_virtguard() {
    local vsrc=$src vbuild=$top/build f
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
t=$(now)
vbuild=$top/build
if [ -n "${E2E_INSTALL_FROM:-}" ]; then
    # Debugging aid: an already installed staging tree (make install
    # DESTDIR=DIR of a build configured as below) instead of a fresh build.
    say "virtguard: taken from $E2E_INSTALL_FROM (E2E_INSTALL_FROM), not built"
else
    build_virtguard
    say "virtguard built in $(( $(now) - t )) s"
fi

# ---------------------------------------------------------------------------
# 3. The guest root: the base tree + virtguard + the test scripts.
t=$(now)
rm -rf "$run"
mkdir -p "$run"
tree=$run/tree
cp -a "$base" "$tree"
if [ -n "${E2E_INSTALL_FROM:-}" ]; then
    cp -a "$E2E_INSTALL_FROM/." "$tree/"
    [ -x "$tree/etc/libvirt/hooks/qemu.d/virtguard" ] || die "no hook installed in the guest tree"
    install -d -m 0755 "$tree/e2e"
else
    # Installed in the guest by apt-get at boot (tests/e2e/package.sh).
    install -d -m 0755 "$tree/e2e"
    cp "$vbuild"/virtguard_*.deb "$tree/e2e/" || die "no virtguard_*.deb built"
    install -m 0755 "$here/package.sh" "$tree/e2e/package.sh"
fi
install -m 0755 "$here/guest-init.sh" "$tree/e2e/init"
install -m 0755 "$here/scenarios.sh" "$tree/e2e/scenarios.sh"
install -m 0755 "$here/scenarios-virtiofs.sh" "$tree/e2e/scenarios-virtiofs.sh"
kver=$(cd "$tree/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n1)
cp "$tree/boot/vmlinuz-$kver" "$run/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$run/initrd.img"
size_mb=$(( $(du -sm "$tree" | cut -f1) + 768 ))
mkfs.ext4 -q -F -L e2eroot -d "$tree" "$run/root.img" "${size_mb}M" >"$run/mkfs.out" 2>&1 ||
    { cat "$run/mkfs.out"; die "mkfs.ext4 -d failed"; }
rm -rf "$tree"
# The virtiofs boot starts from the same fresh root (the main boot changes it).
cp --sparse=always "$run/root.img" "$run/root-vf.img"

# The shared directories, owned by the unprivileged user, as on a Mac: one
# images + sandboxes pair per cell that runs scenarios.sh, each with the
# guest paths it is mounted on (Lima writes absolute backing paths).
mkdir -p "$run/cidata"
printf 'instance-id: e2e\nlocal-hostname: e2e\n' >"$run/cidata/meta-data"
printf '#cloud-config\n' >"$run/cidata/user-data"
genisoimage -quiet -output "$run/cidata.iso" -volid cidata -joliet -rock \
    "$run/cidata/user-data" "$run/cidata/meta-data"
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
sh=$run/share      # 9p-none (the paths are scenarios.sh's cell table's)
xsh=$run/xshare    # 9p-xattr
rsh=$run/rshare    # virtiofs-root (vf1 and vf2 have run/vfshare, below)
ush=$run/ushare    # virtiofs-userns
make_share "$sh" /var/lib/libvirt/images /Users/dev/sandboxes
make_share "$xsh" /srv/xattr-images /Users/dev/xattr-sandboxes
make_share "$rsh" /srv/root-images /Users/dev/root-sandboxes
make_share "$ush" /srv/uns-images /Users/dev/uns-sandboxes
# The virtiofs cell's images share: one overlay + base per scenario, so that
# the host sees each scenario's end owners after the power-off.
vfsh=$run/vfshare
for v in vf1 vf2; do
    mkdir -p "$vfsh/images/$v"
    qimg -f qcow2 "$vfsh/images/$v/base.qcow2" 16M
    (cd "$vfsh/images/$v" && qimg -f qcow2 -F qcow2 -b base.qcow2 overlay.qcow2)
    cp "$run/cidata.iso" "$vfsh/images/$v/cidata.iso"
done
find "$sh" "$xsh" "$rsh" "$ush" "$vfsh" -type d -exec chmod 0755 {} + ; find "$sh" "$xsh" "$rsh" "$ush" "$vfsh" -type f -exec chmod 0644 {} +
chown -R "$share_uid:$share_uid" "$sh" "$xsh" "$rsh" "$ush" "$vfsh" "$run/root.img" "$run/root-vf.img"
chmod 0644 "$run/vmlinuz" "$run/initrd.img"
say "guest image built in $(( $(now) - t )) s (${size_mb} MiB)"

# ---------------------------------------------------------------------------
# 4. The main boot: QEMU as the unprivileged user, TCG, serial console to
# $log; cells 9p-none (security_model=none: libvirt's chown in the guest is
# silently ignored, as on a Mac) and 9p-xattr (mapped-xattr: chown sticks,
# kept in user.virtfs.* xattrs of the host files).
t=$(now)
: >"$log"
say "booting the guest (TCG; console: $log)"
setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
    timeout --kill-after=15 "$guest_timeout" \
    qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
        -kernel "$run/vmlinuz" -initrd "$run/initrd.img" \
        -append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 init=/e2e/init quiet loglevel=4 apparmor=1 security=apparmor panic=-1 e2e_cells=9p-none,9p-xattr e2e_purge E2E_TIMEOUT=$(((guest_timeout - 120) / 2))" \
        -drive "file=$run/root.img,format=raw,if=virtio,cache=unsafe" \
        -virtfs "local,path=$sh/images,mount_tag=images,security_model=none,id=images" \
        -virtfs "local,path=$sh/sandboxes,mount_tag=sandboxes,security_model=none,id=sandboxes" \
        -virtfs "local,path=$xsh/images,mount_tag=ximages,security_model=mapped-xattr,id=ximages" \
        -virtfs "local,path=$xsh/sandboxes,mount_tag=xsandboxes,security_model=mapped-xattr,id=xsandboxes" \
        -nic none -display none -monitor none -serial stdio -no-reboot \
        </dev/null >"$log" 2>&1 &
qemu_pid=$!
rc=0
wait "$qemu_pid" || rc=$?
qemu_pid=""
T_GUEST=$(( $(now) - t ))
rc_main=$rc
say "guest ran $T_GUEST s (QEMU exit status $rc)"

# ---------------------------------------------------------------------------
# 4b. The virtiofs boot: the same guest, booted again with virtiofs shares.
# virtiofs-root: the images share served by a root virtiofsd (libvirt's chown
# reaches the host files, the share keeps no trusted.* xattrs); the owners
# are checked here after the power-off.  virtiofs-userns: images and
# sandboxes served by virtiofsds running as uid 1000 in a user namespace
# that maps only uid 1000 (the guest sees 1000:1000, chown fails with
# EINVAL, guest root cannot create files).  Every failure to set it up is a
# FAIL line with the reason.
vres=$run/results-vf.txt
: >"$vres"
vcell=$guest/virtiofs-root
vf_fail_all() { printf 'E2E FAIL %s vf1 owner-lost-warned: %s\nE2E FAIL %s vf2 label-keeps-owner: %s\n' "$vcell" "$1" "$vcell" "$1" >>"$vres"; }
owners_of() { (cd "$vfsh/images/$1" && stat -c %u:%g overlay.qcow2 base.qcow2 cidata.iso | tr '\n' ' ' | sed 's/ $//'); }
vf_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1" | head -n1; }
vf_check() { # the host's half of vf1 and vf2, from the guest's E2E-VF lines
    local d o b i got
    if ! grep -qE "^E2E FAIL $vcell vf1 " "$vres"; then
        d=$(grep -E "^E2E-VF $vcell vf1 " "$run/console-vf.txt" | tail -n1)
        o=$(vf_field "$d" overlay); b=$(vf_field "$d" base); i=$(vf_field "$d" iso)
        got=$(owners_of vf1)
        if [ -z "$d" ]; then
            echo "E2E FAIL $vcell vf1 no-result: the guest printed neither a result nor its data; see $vlog" >>"$vres"
        elif [ "$got" = "$o $b $i" ] && [ "$o" != "$share_uid:$share_uid" ]; then
            echo "E2E PASS $vcell vf1 owner-lost-warned: started with one warning (virtguard doctor: $(vf_field "$d" doctor)); it named the end owners overlay $o, base $b, cidata.iso $i; on the host after destroy and power-off: overlay ${got%% *}, base $(cut -d' ' -f2 <<<"$got"), cidata.iso ${got##* } (files were $share_uid:$share_uid; overlay,base in the guest while running: $(vf_field "$d" running))" >>"$vres"
        else
            echo "E2E FAIL $vcell vf1 owner-lost-warned: the warning named overlay $o, base $b, cidata.iso $i; the host sees overlay/base/cidata.iso $got after the power-off" >>"$vres"
        fi
    fi
    if ! grep -qE "^E2E FAIL $vcell vf2 " "$vres"; then
        d=$(grep -E "^E2E-VF $vcell vf2 " "$run/console-vf.txt" | tail -n1)
        got=$(owners_of vf2)
        if [ -z "$d" ]; then
            echo "E2E FAIL $vcell vf2 no-result: the guest printed neither a result nor its data; see $vlog" >>"$vres"
        elif [ "$got" = "$share_uid:$share_uid $share_uid:$share_uid $share_uid:$share_uid" ]; then
            echo "E2E PASS $vcell vf2 label-keeps-owner: started with label $(vf_field "$d" label) (QEMU uid $(vf_field "$d" qemu-uid), $(vf_field "$d" profile)), no warning; on the host after destroy and power-off overlay/base/cidata.iso are $got" >>"$vres"
        else
            echo "E2E FAIL $vcell vf2 label-keeps-owner: with label $(vf_field "$d" label) the host sees overlay/base/cidata.iso $got after the power-off (were $share_uid:$share_uid)" >>"$vres"
        fi
    fi
}
# start_virtiofsd NAME DIR [userns]: a virtiofsd serving DIR on
# $run/NAME.sock ($run/uns/NAME.sock with userns), logging to $run/virtiofsd-NAME.log; with "userns" as the
# share owner in a user namespace that maps only that uid (and a private
# tmpfs on its pid-file directory, which only root may write).  Returns
# non-zero, with the reason in $vf_why, when its socket does not appear.
start_virtiofsd() {
    local sock=$run/$1.sock vlg=$run/virtiofsd-$1.log pid
    [ "${3:-}" = userns ] && sock=$run/uns/$1.sock      # a directory uid 1000 may write
    rm -f "$sock"
    if [ "${3:-}" = userns ]; then
        install -d -o "$share_uid" -g "$share_uid" -m 0755 "$run/uns"
        mkdir -p -m 0700 /run/virtiofsd
        setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
            unshare --map-user="$share_uid" --map-group="$share_uid" --keep-caps --mount -- \
            sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run/virtiofsd && exec "$@"' sh \
            "$virtiofsd" --socket-path="$sock" --socket-group="$vgroup" -o source="$2" \
            >"$vlg" 2>&1 &
    else
        "$virtiofsd" --socket-path="$sock" --socket-group="$vgroup" -o source="$2" >"$vlg" 2>&1 &
    fi
    pid=$!
    vfsd_pids="$vfsd_pids $pid"
    for _ in $(seq 100); do [ -S "$sock" ] && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    vf_why="virtiofsd ($1${3:+, $3}) did not start: $(tail -n 3 "$vlg" | tr '\n' ' ')"
    return 1
}
t=$(now)
vlog=$run/console-vf.log
: >"$vlog"
vgroup=$(getent group "$share_uid" | cut -d: -f1)
vf_why=""
if [ ! -x "$virtiofsd" ]; then
    vf_why="no virtiofsd at $virtiofsd (QEMU 7.2's C virtiofsd, package qemu-system-common): virtiofs cannot be tested here"
elif [ -z "$vgroup" ]; then
    vf_why="no group with gid $share_uid for virtiofsd's --socket-group"
elif start_virtiofsd vf-images "$vfsh/images" && start_virtiofsd r-images "$rsh/images" &&
     start_virtiofsd r-sandboxes "$rsh/sandboxes" && start_virtiofsd uns-images "$ush/images" userns &&
     start_virtiofsd uns-sandboxes "$ush/sandboxes" userns; then
    say "booting the guest again with virtiofs shares (console: $vlog)"
    setpriv --reuid="$share_uid" --regid="$share_uid" --clear-groups -- \
        timeout --kill-after=15 "$vf_timeout" \
        qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
            -object memory-backend-memfd,id=mem,size=2048M,share=on -numa node,memdev=mem \
            -kernel "$run/vmlinuz" -initrd "$run/initrd.img" \
            -append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 init=/e2e/init quiet loglevel=4 apparmor=1 security=apparmor panic=-1 e2e_cells=virtiofs-root,virtiofs-userns E2E_TIMEOUT=$(((vf_timeout - 120) / 2))" \
            -drive "file=$run/root-vf.img,format=raw,if=virtio,cache=unsafe" \
            -chardev "socket,id=c0,path=$run/vf-images.sock" -device vhost-user-fs-pci,chardev=c0,tag=images \
            -chardev "socket,id=c3,path=$run/r-images.sock" -device vhost-user-fs-pci,chardev=c3,tag=rimages \
            -chardev "socket,id=c4,path=$run/r-sandboxes.sock" -device vhost-user-fs-pci,chardev=c4,tag=rsandboxes \
            -chardev "socket,id=c1,path=$run/uns/uns-images.sock" -device vhost-user-fs-pci,chardev=c1,tag=uimages \
            -chardev "socket,id=c2,path=$run/uns/uns-sandboxes.sock" -device vhost-user-fs-pci,chardev=c2,tag=usandboxes \
            -nic none -display none -monitor none -serial stdio -no-reboot \
            </dev/null >"$vlog" 2>&1 &
    qemu_pid=$!
    rc=0
    wait "$qemu_pid" || rc=$?
    qemu_pid=""
    tr -d '\r' <"$vlog" >"$run/console-vf.txt"
    grep -E '^E2E (PASS|FAIL|N/A|TIME) ' "$run/console-vf.txt" >>"$vres" || true
    grep -q '^E2E DONE' "$run/console-vf.txt" ||
        echo "E2E FAIL $guest/virtiofs guest did-not-finish: no 'E2E DONE' on the virtiofs boot's console (QEMU status $rc); see $vlog" >>"$vres"
    vf_check
fi
[ -z "$vf_why" ] || vf_fail_all "$vf_why"
# the virtiofsds exit when QEMU is gone
for p in $vfsd_pids; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { say "virtiofsd $p still running after QEMU: stopped"; kill -TERM "$p"; }
    wait "$p" 2>/dev/null || true
done
vfsd_pids=""
T_VF=$(( $(now) - t ))
say "virtiofs boot ran $T_VF s"

# ---------------------------------------------------------------------------
# 5. Results: every cell's lines, a FAIL for each expected one missing.
tr -d '\r' <"$log" >"$run/console.txt"
grep -E '^E2E (PASS|FAIL|N/A|TIME) ' "$run/console.txt" >"$run/results.txt" || true
cat "$vres" >>"$run/results.txt"
grep -q '^E2E DONE' "$run/console.txt" ||
    echo "E2E FAIL $guest/main guest did-not-finish: no 'E2E DONE' on the console (QEMU status $rc_main); see $log" >>"$run/results.txt"
while read -r cell ids; do
    for id in $ids; do
        grep -qE "^E2E (PASS|FAIL|N/A) $cell $id " "$run/results.txt" ||
            echo "E2E FAIL $cell $id no-result: the scenario printed no result in this cell; see $log" >>"$run/results.txt"
    done
done < <(expected_cells "$guest")
times=$(sed -n 's/^E2E TIME \([^ ]*\) \([0-9]*\)$/\1 \2 s/p' "$run/results.txt" | paste -sd';' | sed 's/;/; /g')
sed -i '/^E2E TIME /d' "$run/results.txt"
echo
cat "$run/results.txt"
npass=$(grep -c '^E2E PASS ' "$run/results.txt" || true)
nfail=$(grep -c '^E2E FAIL ' "$run/results.txt" || true)
nna=$(grep -c '^E2E N/A ' "$run/results.txt" || true)
say "cells: ${times:-none reported}"
say "total $(( $(now) - T_START )) s (main boot $T_GUEST s, virtiofs boot $T_VF s)"
echo "$npass passed, $nfail failed, $nna not applicable"
[ "$nfail" = 0 ]
