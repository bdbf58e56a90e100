#!/bin/bash
# Drives the real virtguard-helper and the real apparmor_parser against a
# scratch copy of /etc/apparmor.d (no kernel AppArmor needed: apparmor = "on").
set -euo pipefail
: "${top_builddir:?}" "${top_srcdir:?}"
# shellcheck source=tests/helper/fake-root.sh
. "$top_srcdir/tests/helper/fake-root.sh"
# --help and --version answer on stdout with status 0 (before any SKIP).
"$HELPER" --help | grep -q '^Usage: virtguard-helper load' || { echo "FAIL - helper --help"; exit 1; }
"$HELPER" --version | grep -qx 'virtguard-helper [0-9.]*' || { echo "FAIL - helper --version"; exit 1; }
echo "ok - helper --help and --version exit 0"
helper_fake_root helper
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 16M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/images/over lay*[1].qcow2"
truncate -s 1M "$T/images/seed.iso"
domain_xml sbx-1 $UUID qcow2 "$T/images/over lay*[1].qcow2" "" "    <disk type='file' device='cdrom'>
      <source file='$T/images/seed.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>" > "$T/dom.xml"

conf enforce on
out=$(H load --uuid $UUID < "$T/dom.xml")
check "load writes the rules" test -f "$RULES"
check "load creates the profile from libvirt's template" grep -q "^profile libvirt-$UUID flags=(attach_disconnected) {" "$MAIN"
check "the profile includes the rules" grep -q "#include if exists <libvirt/libvirt-$UUID.virtguard>" "$MAIN"
check "the profile keeps libvirt's .files include" grep -q "#include <libvirt/libvirt-$UUID.files>" "$MAIN"
check "overlay rule, glob characters escaped" grep -qF "\"$T/images/over lay\\*\\[1\\].qcow2\" rwk," "$RULES"
check "backing file from the qcow2 header is read-only" grep -qF "deny \"$T/images/base.qcow2\" w," "$RULES"
check "cdrom is read-only" grep -qF "\"$T/images/seed.iso\" rk," "$RULES"
check "nothing else is granted" test "$(grep -c '^  [^#]' "$RULES")" -eq 5
check "the complete profile compiles" compiles
check "first load validated with apparmor_parser" grep -q "validated, written" <<<"$out"

before=$(stat -c %Y.%i "$RULES" "$MAIN")
out=$(H load --uuid $UUID < "$T/dom.xml")
check "a repeated load is a no-op (cached validation, nothing rewritten)" \
    test "$(stat -c %Y.%i "$RULES" "$MAIN")" = "$before"
check "a repeated load says so" grep -q "validated before)" <<<"$out"

conf dev on
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "dev mode puts the profile in complain mode" grep -q "flags=(attach_disconnected, complain)" "$MAIN"
check "dev mode profile compiles" compiles
conf enforce on
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "enforce mode takes complain away again" grep -q "flags=(attach_disconnected) {" "$MAIN"

# Bad input changes nothing.
snap() { (cd "$T/aa/libvirt" && sha256sum * 2>/dev/null | sort); }
s0=$(snap)
st=0; H load --uuid ../../../etc/passwd < "$T/dom.xml" 2>"$T/err" || st=$?
check "a hostile UUID is refused before any path is built" test $st -eq 2
check "its message says why" grep -q "is not a UUID" "$T/err"
st=0; H load --uuid 00000000-0000-0000-0000-000000000001 < "$T/dom.xml" 2>"$T/err" || st=$?
check "an XML for another UUID is refused" test $st -eq 1
st=0; sed "s|$T/images/seed.iso|/etc/shadow|" "$T/dom.xml" | H load --uuid $UUID 2>"$T/err" >/dev/null || st=$?
check "a restricted path on a shared domain is refused" test $st -eq 1
check "...naming the path" grep -q "/etc/shadow" "$T/err"
st=0; printf '<domain><name>x</name><uuid>%s</uuid><devices><disk type="file"><source file="%s/images/%s"/></disk></devices></domain>' \
    $UUID "$T" 'x&#10;y.qcow2' | H load --uuid $UUID 2>"$T/err" >/dev/null || st=$?
check "a newline in a path is refused" test $st -eq 1
check "...with a clear message" grep -qi "control character\|newline" "$T/err"
check "and nothing changed on disk" test "$(snap)" = "$s0"

# A profile apparmor_parser rejects: nothing is written.
cp "$MAIN" "$T/main.good"
printf '#include <tunables/global>\nprofile libvirt-%s flags=(attach_disconnected) {\n  this is not a rule\n}\n' $UUID > "$MAIN"
rm -f "$RULES"
st=0; H load --uuid $UUID < "$T/dom.xml" >/dev/null 2>"$T/err" || st=$?
check "a profile that does not compile refuses the load" test $st -eq 1
check "...naming apparmor_parser" grep -q "apparmor_parser rejected the profile" "$T/err"
check "...and writes no rules" test ! -e "$RULES"
check "...and leaves the profile as it was" grep -q "this is not a rule" "$MAIN"
cp "$T/main.good" "$MAIN"
H load --uuid $UUID < "$T/dom.xml" >/dev/null

# apparmor = "off": nothing at all.
conf enforce off
rm -f "$RULES"
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "apparmor = off writes nothing" test ! -e "$RULES"
conf enforce on
H load --uuid $UUID < "$T/dom.xml" >/dev/null

# unload and gc
H unload --uuid $UUID >/dev/null
check "unload removes the rules" test ! -e "$RULES"
check "unload keeps libvirt's profile file" test -e "$MAIN"
H unload --uuid $UUID >/dev/null
check "a second unload is fine" true
H load --uuid $UUID < "$T/dom.xml" >/dev/null
cp "$T/dom.xml" "$T/etc-qemu/sbx-1.xml"
ORPHAN=$T/aa/libvirt/libvirt-11111111-2222-3333-4444-555555555555.virtguard
echo '# orphan' > "$ORPHAN"
touch -d '-1 hour' "$ORPHAN"
YOUNG=$T/aa/libvirt/libvirt-66666666-7777-8888-9999-000000000000.virtguard
echo '# a transient domain still starting' > "$YOUNG"
echo 'half' > "$T/aa/libvirt/libvirt-$UUID.virtguard.vgtmp.AbCdEf"
H gc >/dev/null
check "gc removes rules of domains libvirt does not know" test ! -e "$ORPHAN"
check "gc keeps young rules (a transient domain's start in progress)" test -e "$YOUNG"
check "gc removes half-written temporary files" test ! -e "$T/aa/libvirt/libvirt-$UUID.virtguard.vgtmp.AbCdEf"
check "gc keeps rules of defined domains" test -e "$RULES"
rm "$T/etc-qemu/sbx-1.xml"
touch -d '-1 hour' "$RULES"
H gc >/dev/null
check "gc removes them once the domain is undefined" test ! -e "$RULES"

# Cost bounds (docs/SECURITY.md, "Cost").  A compile that times out twice
# is remembered by its text (once may be the host's load): the retry costs
# nothing and says until when; gc forgets it.  No apparmor_parser of ours outlives the bound.
UUID2=7b3e2d4f-2e3c-4d6e-8f90-1b2c3d4e5f60
sed "s/$UUID/$UUID2/; s/>sbx-1</>sbx-2</" "$T/dom.xml" > "$T/dom2.xml"
RULES2=$T/aa/libvirt/libvirt-$UUID2.virtguard
st=0; H load --uuid $UUID2 --test-parser-timeout-ms 1 < "$T/dom2.xml" >/dev/null 2>"$T/err" || st=$?
check "a compile over the parser's bound refuses the load" test $st -eq 1
check "...saying so" grep -qF "virtguard-helper: domain 'sbx-2': the rules were not installed: apparmor_parser did not finish within 1 ms (it was stopped)" "$T/err"
check "...and no apparmor_parser of this test is left" test -z "$(pgrep -f -- "--base $T/aa" || true)"
check "...and the first timeout is only noted (code 0: it may be the host's load)" \
    grep -qE '^[0-9]+ 0$' "$T/cache/failed/"*
st=0; H load --uuid $UUID2 --test-parser-timeout-ms 1 < "$T/dom2.xml" >/dev/null 2>"$T/err" || st=$?
check "...a second timeout of the same text refuses the load too" test $st -eq 1
check "...and is remembered as the text's failure" grep -qE '^[0-9]+ [1-9][0-9]*$' "$T/cache/failed/"*
check "...in one record" test "$(ls "$T/cache/failed" | wc -l)" -eq 1
t0=$(date +%s%N)
st=0; H load --uuid $UUID2 < "$T/dom2.xml" >/dev/null 2>"$T/err" || st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a retry of the same text fails at once ($ms ms), without the parser" test $st -eq 1 -a $ms -lt 1000
check "...with the remembered failure and its expiry" grep -qE "^virtguard-helper: domain 'sbx-2': the rules were not installed: apparmor_parser failed on this same profile text at [-0-9]{10} [:0-9]{8} UTC and virtguard does not run it again on it until [-0-9]{10} [:0-9]{8} UTC \\(any change to the domain's rules is compiled at once; 'virtguard-helper gc' forgets the failure\\): apparmor_parser did not finish within 1 ms \\(it was stopped\\)$" "$T/err"
check "...and writes no rules" test ! -e "$RULES2"
H gc >/dev/null
check "gc forgets remembered failures" test "$(ls "$T/cache/failed" | wc -l)" -eq 0
check "after gc the same text compiles" H load --uuid $UUID2 < "$T/dom2.xml" >/dev/null
check "...and is installed" test -e "$RULES2"

# One domain's load never waits for another's: with sbx-2's lock held, sbx-1 loads.
H unload --uuid $UUID >/dev/null
flock "$T/run/lock/$UUID2" sleep 5 &
holder=$!
sleep 0.2
t0=$(date +%s%N)
H load --uuid $UUID < "$T/dom.xml" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a load does not wait for another domain's lock ($ms ms)" test $ms -lt 4000 -a -e "$RULES"
st=0; timeout 1 "$HELPER" load --uuid $UUID2 --config "$T/vg.conf" --apparmor-dir "$T/aa" \
    --cache-dir "$T/cache" --run-dir "$T/run" < "$T/dom2.xml" >/dev/null 2>&1 || st=$?
check "...while a load of the same domain waits for it" test $st -eq 124
kill $holder 2>/dev/null; wait $holder 2>/dev/null || true

total=$(grep -c '^check ' "$0" || true)
echo "$((total - fails)) passed, $fails failed"
[ $fails -eq 0 ]
