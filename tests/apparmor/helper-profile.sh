#!/bin/bash
# The helper's own AppArmor profile (usr.sbin.virtguard-helper, as built
# with the configured paths) and its generated include, compiled offline by
# the real apparmor_parser (-Q -K: no kernel AppArmor needed), and checked
# for what it must not grant (docs/SECURITY.md, "The helper's own profile").
# The real kernel's verdict is the e2e scenario 9h (no DENIED line).
set -euo pipefail
: "${top_builddir:?}" "${top_srcdir:?}"
HELPER=$top_builddir/helper/virtguard-helper
PROFILE=$top_builddir/helper/usr.sbin.virtguard-helper
PARSER=${APPARMOR_PARSER:-/sbin/apparmor_parser}
[ -x "$PARSER" ] || { echo "SKIP: apparmor_parser not found"; exit 77; }
[ -d /etc/apparmor.d/abstractions ] || { echo "SKIP: no AppArmor policy in /etc/apparmor.d"; exit 77; }
[ -f "$PROFILE" ] || { echo "ERROR: '$PROFILE' not built"; exit 99; }

T=$(mktemp -d /tmp/vg-helper-profile-XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a /etc/apparmor.d "$T/aa"
cp "$PROFILE" "$T/aa/usr.sbin.virtguard-helper"
mkdir -p "$T/images" "$T/real roots/[x]" "$T/etc-qemu"
ln -s "real roots" "$T/link"
cat > "$T/vg.conf" <<EOC
shared_mounts = [ "$T/images" ]
apparmor_extra_roots = [ "$T/link/[x]" ]
EOC
H() { "$HELPER" "$@" --config "$T/vg.conf" --apparmor-dir "$T/aa" --run-dir "$T/run" --cache-dir "$T/cache"; }
INC=$T/aa/virtguard/helper-roots
fails=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fails=$((fails+1)); fi; }
compiles() { "$PARSER" -Q -K --base "$T/aa" -I "$T/aa" "$T/aa/usr.sbin.virtguard-helper" 2>"$T/err"; }
not() { ! "$@"; }
has() { grep -qF -- "$1" "$2"; }
rule_line() { grep -qE "^[[:space:]]*$1" "$PROFILE"; }

check "the profile compiles without its generated include" compiles
out=$(H roots)
check "roots writes the include" test -f "$INC"
check "roots says to load the profile" has "apparmor_parser -r $T/aa/usr.sbin.virtguard-helper" <(echo "$out")
check "the profile compiles with the include" compiles
check "a shared mount is readable" has "\"$T/images/**\" r," "$INC"
check "an extra root is readable, glob characters escaped" has "\"$T/link/\\[x\\]/**\" r," "$INC"
check "...and so is its target behind the symlink" has "\"$T/real roots/\\[x\\]/**\" r," "$INC"
check "the include grants nothing else" test "$(grep -c '^[^#]' "$INC")" -eq 6
out=$(H roots)
check "a second roots run leaves the file alone" has "unchanged" <(echo "$out")

# What the profile must not grant any more.
check "no read access to the whole filesystem" not rule_line '/\*\* r'
check "no dac_override" not rule_line 'capability dac_override'
check "the parser child has no /tmp" not rule_line '/tmp/\*\*'
check "the parser child has a private temporary directory" rule_line '/\{,var/\}run/virtguard/tmp/\*\* rwk,'
check "the parser child may read the kernel version (no DENIED noise)" rule_line '@\{PROC\}/sys/kernel/osrelease r,'
for secret in '/etc/libvirt/secrets/\*\*' '/var/lib/libvirt/qemu/\*\*' '/etc/pki/\*\*' \
              '/etc/ssl/private/\*\*' '/etc/shadow\*' '/root/\*\*'; do
    check "denies $secret explicitly" rule_line "deny $secret rwl,"
done
# Writes: exactly the helper's own files.
writes=$(grep -E '^[[:space:]]*[^#[:space:]].* [a-z]*w[a-z]*,' "$PROFILE" | grep -v '^[[:space:]]*deny' |
         sed -E 's/^[[:space:]]+//' | sort)
expected=$(sort <<EOW
/etc/apparmor.d/libvirt/libvirt-[0-9a-f]*-[0-9a-f]*-[0-9a-f]*-[0-9a-f]*-[0-9a-f]* rw,
/etc/apparmor.d/libvirt/libvirt-[0-9a-f]*-[0-9a-f]*-[0-9a-f]*-[0-9a-f]*-[0-9a-f]*.virtguard rw,
/etc/apparmor.d/libvirt/libvirt-*.vgtmp.* rw,
/etc/apparmor.d/virtguard/ rw,
/etc/apparmor.d/virtguard/helper-roots rw,
/etc/apparmor.d/virtguard/helper-roots.vgtmp.* rw,
/{,var/}run/virtguard/ rw,
/{,var/}run/virtguard/** rwk,
/var/cache/virtguard/ rw,
/var/cache/virtguard/** rw,
/{,var/}run/virtguard/tmp/ rw,
/{,var/}run/virtguard/tmp/** rwk,
EOW
)
if grep -q '^profile virtguard-helper /usr/sbin/virtguard-helper ' "$PROFILE" &&
   grep -q '/etc/apparmor.d/libvirt/' "$PROFILE"; then
    check "it writes exactly its own files" test "$writes" = "$expected"
    [ "$writes" = "$expected" ] || diff <(echo "$expected") <(echo "$writes") || true
else
    echo "ok - (write list not compared: built for other paths)"
fi

# A broken include is caught by the compile.
printf '"/x" rwx\n' > "$INC"
check "a broken include does not compile" not compiles

echo "$fails failed"
[ $fails -eq 0 ]
