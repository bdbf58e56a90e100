#!/bin/bash
# Crash safety of the AppArmor helper (docs/RELIABILITY.md, "Crash safety").
#
# The real virtguard-helper is killed with SIGKILL at each step of `load`
# (its test-only --test-kill-at=STEP), against a scratch copy of
# /etc/apparmor.d, in two situations: the domain's first load, and an
# update (other disks, enforce -> dev, so both the rules file and libvirt's
# profile file change).  After each kill:
#   - the rules file and the profile file are each absent, the old complete
#     content or the new complete content, never anything in between, and
#     the profile compiles with apparmor_parser -Q -K;
#   - nothing else appeared but *.vgtmp.* temporaries, which `gc` removes
#     (also from the validation cache);
#   - the lock is not stuck: gc and the next load finish in time;
#   - the next load puts exactly the new content in place.
set -uo pipefail
: "${top_builddir:?}"
HELPER=$top_builddir/helper/virtguard-helper
PARSER=${APPARMOR_PARSER:-/sbin/apparmor_parser}
[ -x "$PARSER" ] || { echo "SKIP: apparmor_parser not found"; exit 77; }
[ -f /etc/apparmor.d/libvirt/TEMPLATE.qemu ] || { echo "SKIP: libvirt's AppArmor files are not installed"; exit 77; }

STEPS="after-lock after-parser-spawn after-validate after-marker-tmp after-marker-rename
       after-rules-tmp after-rules-rename after-profile-tmp after-profile-rename"

T=$(mktemp -d /tmp/vg-crash-XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a /etc/apparmor.d "$T/aa.orig"
mkdir -p "$T/images" "$T/etc-qemu" "$T/run-qemu"
for f in a.img b.img seed.iso; do truncate -s 1M "$T/images/$f"; done
UUID=0b7d3c6e-5f1a-4e2b-8c9d-112233445566
dom() {     # dom DISK...: the domain XML with these disks
    printf "<domain type='qemu'><name>crash-1</name><uuid>%s</uuid><memory>65536</memory>\n" $UUID
    printf "<os><type arch='x86_64'>hvm</type></os><devices>\n"
    local i=0
    for d in "$@"; do
        printf "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/><target dev='vd%s'/></disk>\n" \
            "$T/images/$d" "$(printf "\\x$(printf %x $((97 + i)))")"
        i=$((i + 1))
    done
    printf "</devices></domain>\n"
}
dom a.img > "$T/old.xml"
dom a.img b.img seed.iso > "$T/new.xml"
cp "$T/new.xml" "$T/etc-qemu/crash-1.xml"     # a defined domain: gc keeps its rules
conf() { printf 'mode = "%s"\nshared_mounts = [ "%s/images" ]\napparmor = "on"\n' "$1" "$T" > "$T/vg-$1.conf"; }
conf enforce; conf dev
H() {   # H MODE ARGS...
    local mode=$1; shift
    timeout 60 "$HELPER" "$@" --config "$T/vg-$mode.conf" --apparmor-dir "$T/aa" --cache-dir "$T/cache" \
        --run-dir "$T/run" --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu"
}
LV=$T/aa/libvirt
MAIN=$LV/libvirt-$UUID
RULES=$MAIN.virtguard
fails=0 checks=0
check() {
    local what=$1; shift
    checks=$((checks + 1))
    if "$@"; then echo "ok - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
reset() { rm -rf "$T/aa" "$T/cache" "$T/run"; cp -a "$T/aa.orig" "$T/aa"; }
compiles() {
    : > "$MAIN.files"
    "$PARSER" -Q -K --base "$T/aa" -I "$T/aa" "$MAIN" >/dev/null 2>&1
    local r=$?
    rm -f "$MAIN.files"
    return $r
}
# one_of FILE REF...: FILE is absent (REF "-") or equal to one REF file
one_of() {
    local f=$1; shift
    for ref in "$@"; do
        if [ "$ref" = - ]; then [ -e "$f" ] || return 0; elif [ -e "$f" ] && cmp -s "$f" "$ref"; then return 0; fi
    done
    echo "    $f: $( [ -e "$f" ] && echo "unexpected content:" || echo absent)"; [ -e "$f" ] && sed 's/^/    | /' "$f" | head -n 20
    return 1
}
no_temps() { ! find "$LV" "$T/cache" -name '*.vgtmp.*' 2>/dev/null | grep -q .; }
only_expected() {
    local extra
    extra=$(cd "$LV" && ls -A | grep -v -x -e TEMPLATE.qemu -e TEMPLATE.lxc -e "libvirt-$UUID" \
        -e "libvirt-$UUID.virtguard" -e '.*\.vgtmp\..*' $(cd "$T/aa.orig/libvirt" && ls -A | sed 's/^/-e /'))
    [ -z "$extra" ] || { echo "    unexpected files: $extra"; return 1; }
}

# Reference contents: clean runs.
reset
H enforce load --uuid $UUID < "$T/old.xml" >/dev/null || { echo "FAIL: a clean load failed"; exit 1; }
cp "$RULES" "$T/old.rules"; cp "$MAIN" "$T/old.main"
H dev load --uuid $UUID < "$T/new.xml" >/dev/null || { echo "FAIL: a clean load failed"; exit 1; }
cp "$RULES" "$T/new.rules"; cp "$MAIN" "$T/new.main"
cmp -s "$T/old.rules" "$T/new.rules" && { echo "FAIL: the update does not change the rules"; exit 1; }
cmp -s "$T/old.main" "$T/new.main" && { echo "FAIL: the update does not change the profile"; exit 1; }

for scenario in first update; do
    for step in $STEPS; do
        reset
        if [ $scenario = update ]; then
            H enforce load --uuid $UUID < "$T/old.xml" >/dev/null
            rm -rf "$T/cache"   # so the new profile is compiled (and marked) again
            old_rules=$T/old.rules old_main=$T/old.main
        else
            old_rules=- old_main=-
        fi
        H dev load --uuid $UUID --test-kill-at=$step < "$T/new.xml" >/dev/null 2>"$T/err"
        st=$?
        w="$scenario/$step"
        check "$w: the helper was killed at the step (status $st)" test $st -eq 137
        check "$w: the rules file is absent, old or new, complete" one_of "$RULES" - "$old_rules" "$T/new.rules"
        check "$w: the profile file is absent, old or new, complete" one_of "$MAIN" - "$old_main" "$T/new.main"
        if [ -e "$MAIN" ]; then check "$w: the profile on disk compiles" compiles; fi
        check "$w: nothing else appeared" only_expected
        case $step in
        after-*-tmp) check "$w: a temporary is left behind (the kill point is real)" \
                         bash -c "find '$LV' '$T/cache' -name '*.vgtmp.*' | grep -q ." ;;
        esac
        H dev gc >/dev/null 2>"$T/err"
        check "$w: gc runs (the lock is not stuck)" test $? -eq 0
        check "$w: gc removed every temporary" no_temps
        H dev load --uuid $UUID < "$T/new.xml" >/dev/null 2>"$T/err"
        check "$w: the next load succeeds" test $? -eq 0
        check "$w: ... and writes the new rules" one_of "$RULES" "$T/new.rules"
        check "$w: ... and the new profile" one_of "$MAIN" "$T/new.main"
        check "$w: ... which compiles" compiles
    done
done
echo "$((checks - fails)) passed, $fails failed"
[ $fails -eq 0 ]
