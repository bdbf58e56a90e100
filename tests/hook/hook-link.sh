#!/bin/bash
# The built qemu hook is position-independent (an ELF of type DYN, so ASLR)
# however configure linked it: a plain -static link (ET_EXEC, no ASLR) fails
# here instead of passing unnoticed.  When config.h has VG_HOOK_STATIC_PIE it
# must also have no program interpreter (static-pie).  Debian 12's libxml2.a
# needs ICU stubs for that link, Debian 13's needs none (docs/DESIGN.md, "Why
# the hook is linked statically"; "Debian 13").
set -u
: "${top_builddir:?}"
HOOK=$top_builddir/hooks/virtguard-hook
[ -x "$HOOK" ] || { echo "SKIP: no hook built"; exit 77; }
command -v readelf >/dev/null || { echo "SKIP: no readelf (binutils)"; exit 77; }
# libtool may leave a wrapper script; the real binary is in .libs then.
[ -f "$top_builddir/hooks/.libs/virtguard-hook" ] && HOOK=$top_builddir/hooks/.libs/virtguard-hook
hdr=$(LC_ALL=C readelf -lhW "$HOOK" 2>&1) || { echo "FAIL: readelf $HOOK: $hdr"; exit 1; }
type=$(sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p' <<<"$hdr")
[ "$type" = DYN ] || { echo "FAIL: '$HOOK' is ELF type '$type', not DYN: not position-independent (configure's 'qemu hook link:' line says how it was linked)"; exit 1; }
if ! grep -q '^#define VG_HOOK_STATIC_PIE 1' "$top_builddir/config.h"; then
    echo "PASS: '$HOOK' is position-independent (ELF type DYN; configure did not link it static-pie)"
    exit 0
fi
if grep -q 'INTERP' <<<"$hdr"; then
    echo "FAIL: '$HOOK' has a program interpreter: $(grep -A1 INTERP <<<"$hdr" | tail -n1 | tr -s ' ')"
    exit 1
fi
echo "PASS: '$HOOK' is static-pie (ELF type DYN, no program interpreter)"
