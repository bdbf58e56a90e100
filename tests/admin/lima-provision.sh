#!/bin/bash
# docs/examples/lima/provision.sh without booting a guest (the e2e guest runs
# the whole script, tests/e2e/package.sh):
#  1. bash -n, and shellcheck when it is installed;
#  2. its mountinfo reader on fixture lines: 9p and virtiofs shares by their
#     Lima tags, an octal-escaped mount point, the topmost of two stacked
#     mounts, no mount at all;
#  3. its virtguard.conf writer in a temporary directory: an absent file is
#     written, and the real CLI (virtguard doctor --config) parses it and
#     guards the mount it names; a second run leaves it byte for byte; new
#     parameters (virtiofs, dev mode, path_map) rewrite the script's own
#     unedited file; a file an admin edited (a line added, or only the
#     marker line changed) is left alone;
#  4. a directory as VIRTGUARD_DEB: the newest virtguard_*_ARCH.deb by
#     Debian version order (0.10.0-1 over 0.9.1-1 and 0.10.0~rc1-1);
#  5. lima.yaml (when python3-yaml is there): its system provisioning
#     script is this file, the images and package mount points are its
#     parameters, and its param: names are exactly the ones the script reads;
#  6. its qemu.conf reader: security_driver = "none" and user = "root" are
#     found, commented-out ones are not, and a key set twice means its first
#     value (libvirt's virConfGetValue);
#  7. as root: a VIRTGUARD_DEB URL that is not https (http, HTTP, ftp, file)
#     stops the whole script at once, exit 2, before any other step.
# shellcheck disable=SC2015,SC1090 # ok/bad only print; the script is sourced by path
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
SCRIPT=$top_srcdir/docs/examples/lima/provision.sh
VG=$top_builddir/tools/virtguard
[ -x "$VG" ] || { echo "no CLI at '$VG' (run make first)"; exit 99; }
T=$(mktemp -d /tmp/vg-provision-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }

# --- 1. syntax ------------------------------------------------------------
if bash -n "$SCRIPT"; then ok "bash -n"; else bad "bash -n"; fi
if command -v shellcheck >/dev/null 2>&1; then
    if out=$(shellcheck "$SCRIPT" 2>&1); then ok "shellcheck"; else bad "shellcheck: $out"; fi
else
    echo "SKIP - shellcheck is not installed (apt-get install shellcheck)"
fi

# The script's functions, as the script defines them (nothing runs).
VIRTGUARD_CONF=$T/etc/virtguard.conf VIRTGUARD_MOUNTINFO=$T/mountinfo \
    VIRTGUARD_PROVISION_FUNCTIONS_ONLY=1 . "$SCRIPT"
set +e +o pipefail

# --- 2. mountinfo -----------------------------------------------------------
cat >"$T/mountinfo" <<'EOF'
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
40 22 0:35 / /var/lib/libvirt/images rw,relatime shared:20 - 9p lima-2a8b1f0c rw,sync,dirsync,access=client,trans=virtio,version=9p2000.L
41 22 0:36 / /Users/dev/sand\040boxes rw,relatime shared:21 - virtiofs mount1 rw
42 22 0:37 / /srv/stacked rw,relatime shared:22 - tmpfs tmpfs rw
43 42 0:38 / /srv/stacked rw,relatime shared:23 - virtiofs lima-77 rw
EOF
[ "$(mount_at /var/lib/libvirt/images)" = "9p lima-2a8b1f0c" ] && ok "mount_at: 9p share" ||
    bad "mount_at /var/lib/libvirt/images: '$(mount_at /var/lib/libvirt/images)'"
[ "$(mount_at '/Users/dev/sand boxes')" = "virtiofs mount1" ] && ok "mount_at: escaped mount point" ||
    bad "mount_at '/Users/dev/sand boxes': '$(mount_at '/Users/dev/sand boxes')'"
[ "$(mount_at /srv/stacked)" = "virtiofs lima-77" ] && ok "mount_at: the topmost mount" ||
    bad "mount_at /srv/stacked: '$(mount_at /srv/stacked)'"
[ -z "$(mount_at /var/lib/libvirt)" ] && ok "mount_at: not a mount point" ||
    bad "mount_at /var/lib/libvirt: '$(mount_at /var/lib/libvirt)'"

# --- 3. virtguard.conf ------------------------------------------------------
IMG=/var/lib/libvirt/images
WHY="'$IMG' on 9p"
out=$(write_conf enforce "$IMG" '"9p"' "" "$WHY")
has "$out" "virtguard-provision: wrote '$CONF' for $WHY (it was absent)." && ok "absent: written" ||
    bad "absent: $out"
head -n 1 "$CONF" | grep -q '^# virtguard-provision sha256=[0-9a-f]\{64\}$' && ok "marker line" ||
    bad "marker line: $(head -n 1 "$CONF")"
rc=0
dout=$("$VG" doctor --config "$CONF" --no-probe 2>&1) || rc=$?
if has "$dout" "config: '$CONF' parses (mode enforce)" && has "$dout" "mount: '$IMG'"; then
    ok "virtguard doctor parses the written file and guards '$IMG' (doctor exit $rc)"
else
    bad "virtguard doctor on the written file: $dout"
fi
cp "$CONF" "$T/first"
out=$(write_conf enforce "$IMG" '"9p"' "" "$WHY")
if has "$out" "is up to date" && cmp -s "$CONF" "$T/first"; then ok "second run: unchanged"; else bad "second run: $out"; fi

WHY="'$IMG' on virtiofs"
out=$(write_conf dev "$IMG" '"virtiofs"' /Users/dev/images "$WHY")
has "$out" "(it was ours)" && ok "new parameters: the script's own file rewritten" || bad "rewrite: $out"
grep -qx 'shared_fs_types = \[ "virtiofs" \]' "$CONF" && grep -qx 'mode = "dev"' "$CONF" &&
    grep -qx "path_map = \\[ \"/Users/dev/images=$IMG\" \\]" "$CONF" && ok "new parameters: in the file" ||
    bad "new parameters not in the file: $(cat "$CONF")"
dout=$("$VG" doctor --config "$CONF" --no-probe 2>&1)
has "$dout" "config: '$CONF' parses (mode dev)" && ok "virtguard doctor parses the rewritten file" ||
    bad "virtguard doctor on the rewritten file: $dout"

echo 'probe_timeout_ms = 2000' >>"$CONF"
cp "$CONF" "$T/edited"
out=$(write_conf enforce "$IMG" '"9p"' "" "'$IMG' on 9p")
if has "$out" "was edited by hand: left as it is" && cmp -s "$CONF" "$T/edited"; then
    ok "an added line: left alone"
else
    bad "an added line: $out"
fi
sed -i '1s/sha256=./sha256=x/' "$CONF"
cp "$CONF" "$T/edited"
out=$(write_conf enforce "$IMG" '"9p"' "" "'$IMG' on 9p")
has "$out" "left as it is" && cmp -s "$CONF" "$T/edited" && ok "a changed marker: left alone" ||
    bad "a changed marker: $out"

# --- 4. the .deb a directory holds: the newest for this architecture --------
arch=$(dpkg --print-architecture)
for v in 0.9.1-1 0.10.0-1 0.10.0~rc1-1; do
    mkdir -p "$T/pkg/DEBIAN"
    printf 'Package: virtguard\nVersion: %s\nArchitecture: %s\nMaintainer: t <t@t>\nDescription: t\n' \
        "$v" "$arch" >"$T/pkg/DEBIAN/control"
    mkdir -p "$T/dist"
    dpkg-deb --build -Zgzip "$T/pkg" "$T/dist/virtguard_${v}_$arch.deb" >/dev/null || bad "dpkg-deb --build $v"
done
: >"$T/dist/virtguard_9.9_other.deb"
[ "$(newest_deb "$T/dist")" = "$T/dist/virtguard_0.10.0-1_$arch.deb" ] && ok "newest_deb: 0.10.0-1 of three" ||
    bad "newest_deb: '$(newest_deb "$T/dist")'"
[ -z "$(newest_deb "$T/pkg")" ] && ok "newest_deb: none" || bad "newest_deb in a directory without one"

# qemu.conf's user as libvirt resolves it: every spelling of root is uid 0
for u in '"root"' "'root'" '"+0"' '"+00"' '"0"' '"root" '; do
    [ "$(qemu_user_uid "$u")" = 0 ] && ok "qemu user $u is uid 0" || bad "qemu user $u: '$(qemu_user_uid "$u")'"
done
for u in '"libvirt-qemu"' '"+64055"' '"+1000"' ''; do
    [ "$(qemu_user_uid "$u")" != 0 ] && ok "qemu user '$u' is not root" || bad "qemu user '$u' taken for root"
done

# --- 5. each example lima.yaml names this script, its mounts and parameters -
# lima.yaml (amd64 or arm64, qemu + 9p, the package from a mount) and
# lima-aarch64-vz.yaml (Apple Silicon: aarch64, vz + virtiofs, nested
# virtualisation, the package built from a read-only source mount).
if python3 -c 'import yaml' 2>/dev/null; then
    for y in lima.yaml lima-aarch64-vz.yaml; do
        if out=$(python3 - "$top_srcdir/docs/examples/lima/$y" "$SCRIPT" <<'PY' 2>&1
import os, re, sys, yaml
y = yaml.safe_load(open(sys.argv[1]))
script = open(sys.argv[2]).read()
prov = [p for p in y["provision"] if p["mode"] == "system"]
assert [p.get("file") for p in prov] == ["provision.sh"], prov
assert y["mountType"] in ("9p", "virtiofs"), y["mountType"]
mounts = {m["mountPoint"]: m for m in y["mounts"]}
p = y["param"]
assert p["VIRTGUARD_IMAGES"] in mounts and mounts[p["VIRTGUARD_IMAGES"]]["writable"], (p, mounts)
# exactly one way to the package, from a read-only mount
ways = [k for k in ("VIRTGUARD_DEB", "VIRTGUARD_SRC", "VIRTGUARD_SRC_URL") if p[k]]
assert len(ways) == 1 and ways[0] != "VIRTGUARD_SRC_URL", ways
assert p[ways[0]] in mounts and not mounts[p[ways[0]]]["writable"], (ways, mounts)
read = set(re.findall(r"\$\(param (VIRTGUARD_[A-Z0-9_]+)\)", script))
assert read == set(p), (read, set(p))
if os.path.basename(sys.argv[1]) == "lima-aarch64-vz.yaml":
    assert y["arch"] == "aarch64" and y["vmType"] == "vz", (y["arch"], y["vmType"])
    assert y["mountType"] == "virtiofs" and y["nestedVirtualization"] is True, y
    assert [i["arch"] for i in y["images"]] == ["aarch64"], y["images"]
    assert ways == ["VIRTGUARD_SRC"], ways
PY
        ); then ok "$y: provision file, mounts and parameters match the script"
        else bad "$y: $out"; fi
    done
else
    echo "SKIP - lima.yaml not parsed: no python3 yaml module (apt-get install python3-yaml)"
fi

# --- 6. qemu.conf -----------------------------------------------------------
QEMU_CONF=$T/qemu.conf
printf '#security_driver = "none"\n#user = "root"\nsecurity_driver = "apparmor"\n' >"$QEMU_CONF"
[ "$(qemu_setting security_driver)" = '"apparmor"' ] && [ -z "$(qemu_setting user)" ] &&
    ok "qemu.conf: commented-out settings ignored" ||
    bad "qemu.conf: '$(qemu_setting security_driver)' '$(qemu_setting user)'"
printf 'security_driver = "none"\n' >>"$QEMU_CONF"
[ "$(qemu_setting security_driver)" = '"apparmor"' ] &&
    ok "qemu.conf: a key set twice means its first value, as libvirt reads it" ||
    bad "qemu.conf: a key set twice: '$(qemu_setting security_driver)'"
printf '  security_driver = "none"   # the usual "fix"\nuser="root"\n' >"$QEMU_CONF"
[ "$(qemu_setting security_driver)" = '"none"   ' ] && [ "$(qemu_setting user)" = '"root"' ] &&
    ok "qemu.conf: security_driver = \"none\" and user = \"root\" found" ||
    bad "qemu.conf: '$(qemu_setting security_driver)' '$(qemu_setting user)'"

# --- 7. a package URL that is not https: refused before anything is done --
# The whole script, as root, in a private mount namespace with its own /run
# (where it leaves its verdict): a wrong scheme is a wrong parameter (exit 2),
# with no other step taken, so no package is even looked at.
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
    echo "SKIP - the URL scheme check needs root and a mount namespace"
else
    for url in http://example.invalid/virtguard.deb HTTP://example.invalid/virtguard.deb \
               ftp://example.invalid/virtguard.deb file:///tmp/virtguard.deb; do
        rc=0
        out=$(PARAM_VIRTGUARD_DEB=$url unshare -m -- sh -c \
            'mount -t tmpfs tmpfs /run && bash "$1"; echo "status: $(cat /run/virtguard-provision.status)"' \
            sh "$SCRIPT" 2>&1) || rc=$?
        want="virtguard-provision: VIRTGUARD_DEB '$url': only an https:// URL is accepted (root installs the package).
status: failed: provision.sh stopped with exit status 2"
        [ "$out" = "$want" ] && ok "VIRTGUARD_DEB $url: refused at once (exit 2), nothing else done" ||
            bad "VIRTGUARD_DEB $url: got: $out"
    done
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
