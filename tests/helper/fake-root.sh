# Sourced by the tests that drive the real virtguard-helper against a
# scratch copy of /etc/apparmor.d (tests/helper/helper-cli.sh,
# tests/helper/lifecycle.sh); tests/admin/cli.sh takes domain_xml alone.
# Sourcing it sets HELPER and PARSER and defines functions: nothing runs.
# Needs top_builddir.
HELPER=$top_builddir/helper/virtguard-helper
PARSER=${APPARMOR_PARSER:-/sbin/apparmor_parser}

# domain_xml NAME UUID FORMAT FILE [METADATA [DEVICES]]: a domain as libvirt
# keeps it in /etc/libvirt/qemu (name, uuid, then METADATA), its one disk
# FILE in FORMAT as vda, then DEVICES (lines of XML) inside <devices>.
domain_xml() {
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>${5:+
  <metadata>$5</metadata>}
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='$3'/>
      <source file='$4'/>
      <target dev='vda' bus='virtio'/>
    </disk>${6:+
$6}
  </devices>
</domain>
XML
}

# helper_fake_root TAG: SKIP (exit 77) without apparmor_parser, libvirt's
# AppArmor files or qemu-img; else T, a scratch directory /tmp/vg-TAG-*
# removed at exit, holding aa/ (a copy of /etc/apparmor.d) and the empty
# images/ (the shared mount), etc-qemu/ and run-qemu/ (libvirt's domain
# files).  Sets UUID, the domain of the tests, MAIN, libvirt's profile file
# for it, RULES, virtguard's rules file beside it, and fails=0.
helper_fake_root() {
    [ -x "$PARSER" ] || { echo "SKIP: apparmor_parser not found"; exit 77; }
    [ -d /etc/apparmor.d/libvirt ] || { echo "SKIP: libvirt's AppArmor files are not installed"; exit 77; }
    command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not found"; exit 77; }
    T=$(mktemp -d "/tmp/vg-$1-XXXXXX")
    trap 'rm -rf "$T"' EXIT
    cp -a /etc/apparmor.d "$T/aa"
    mkdir -p "$T/images" "$T/etc-qemu" "$T/run-qemu"
    UUID=6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f
    MAIN=$T/aa/libvirt/libvirt-$UUID
    RULES=$MAIN.virtguard
    fails=0
}

# conf MODE [APPARMOR]: $T/vg.conf in MODE sharing $T/images, apparmor =
# APPARMOR ("on" when not given: no kernel AppArmor needed).
conf() {
    printf 'mode = "%s"\nshared_mounts = [ "%s/images" ]\napparmor = "%s"\n' "$1" "$T" "${2:-on}" > "$T/vg.conf"
}

# H ARGS...: the helper with ARGS, on the fake root and $T/vg.conf.
H() {
    "$HELPER" "$@" --config "$T/vg.conf" --apparmor-dir "$T/aa" --cache-dir "$T/cache" \
        --run-dir "$T/run" --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu"
}

# check WHAT CMD...: "ok - WHAT" when CMD succeeds, else "FAIL - WHAT" and
# one more in fails.
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fails=$((fails+1)); fi; }

# compiles: MAIN, with an empty libvirt .files include, compiles against aa/.
compiles() { : > "$MAIN.files"; "$PARSER" -Q -K --base "$T/aa" -I "$T/aa" "$MAIN" 2>/dev/null; local r=$?; rm -f "$MAIN.files"; return $r; }
