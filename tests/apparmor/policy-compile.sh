#!/bin/sh
# Compile every profile the policy unit tests render with the real
# apparmor_parser (-Q -K: no kernel, no cache) against the system's
# abstractions, and check from the compiled DFA that each escaped path
# matches exactly the literal name and nothing wider.
#
# tests/unit/test-policy writes, with VG_PROFILE_OUT=DIR:
#   NAME.profile  a whole profile (tunables/global, abstractions/base)
#   NAME.literal  a profile holding one rule for one path, no includes
#   NAME.expect   the bytes of that path, one hex byte a line
# A literal path compiles to a DFA that is a single chain of one-byte
# transitions from the start state to the one accepting state; any glob,
# class, alternation or variable shows up as a branch or a class label.
set -u

parser=${APPARMOR_PARSER:-/sbin/apparmor_parser}
builddir=${top_builddir:-.}
if ! test -x "$parser"; then
    echo "SKIP: $parser not found"
    exit 77
fi

out=$(mktemp -d /tmp/vg-policy-compile.XXXXXX) || exit 99
trap 'rm -rf "$out"' EXIT HUP INT TERM

if ! VG_PROFILE_OUT=$out "$builddir/tests/unit/test-policy" >"$out/test.log" 2>&1; then
    cat "$out/test.log"
    echo "FAIL: tests/unit/test-policy failed"
    exit 1
fi

# dfa_literal PARSER PROFILE: the bytes PROFILE's one rule matches, or failure.
# shellcheck source=tests/apparmor/dfa-literal.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/apparmor/dfa-literal.sh"

fail=0
n_prof=0
n_lit=0
for f in "$out"/*.profile; do
    test -e "$f" || continue
    n_prof=$((n_prof + 1))
    if ! "$parser" -Q -K "$f" >"$out/parser.log" 2>&1; then
        echo "FAIL: apparmor_parser rejects $(basename "$f"):"
        grep -v 'Cache read/write disabled' "$out/parser.log"
        sed 's/^/    | /' "$f"
        fail=1
    fi
done
for f in "$out"/*.literal; do
    test -e "$f" || continue
    n_lit=$((n_lit + 1))
    exp=${f%.literal}.expect
    if ! dfa_literal "$parser" "$f" >"$out/got" || ! cmp -s "$out/got" "$exp"; then
        echo "FAIL: the rule in $(basename "$f") does not match exactly its literal path:"
        sed 's/^/    | /' "$f"
        fail=1
    fi
done

# The checker must be able to fail: an unescaped glob and an unescaped
# alternation must be caught.
printf 'profile neg {\n  "/a/x*y" r,\n}\n' >"$out/neg1"
printf 'profile neg {\n  "/a/{x,y}" r,\n}\n' >"$out/neg2"
printf 'profile neg {\n  "/a/x\\\\*y" r,\n}\n' >"$out/neg3"   # \\ then a live *
for f in "$out/neg1" "$out/neg2" "$out/neg3"; do
    if dfa_literal "$parser" "$f" >/dev/null 2>&1; then
        echo "FAIL: the DFA checker accepted a glob in $f"
        fail=1
    fi
done
# ... and must accept a literal it is given.
printf 'profile pos {\n  "/a/x\\*y" r,\n}\n' >"$out/pos"
printf '2f\n61\n2f\n78\n2a\n79\n' >"$out/pos.expect"
if ! dfa_literal "$parser" "$out/pos" >"$out/got" || ! cmp -s "$out/got" "$out/pos.expect"; then
    echo "FAIL: the DFA checker rejected the literal /a/x*y"
    fail=1
fi

# The whole rules files, as the parser reads them: comments, adjacent
# entries and the include line (tests/apparmor/aa-rules-check.py).  Each file's
# compiled rules and DFA must be exactly what it is meant to grant.
checker="python3 ${top_srcdir:-.}/tests/apparmor/aa-rules-check.py --parser $parser"
n_whole=$(ls "$out"/*.whole.rules 2>/dev/null | wc -l)
if ! $checker "$out"/*.whole.rules >"$out/whole.log" 2>&1; then
    cat "$out/whole.log"
    echo "FAIL: a rendered rules file compiles to more or other than its entries"
    fail=1
fi
# ... and must pass a literal inside a granted tree (found by fuzz-smoke:
# the DFA walk stops under the tree, which accepts that literal anyway).
hx() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
mkdir -p "$out/pos-whole"
printf '  "/img/\\?/" r,\n  "/img/\\?/**" r,\n  "/img/\\?/\\^a" r,\n  deny "/img/\\?/\\^a" w,\n  "/img/;;" rk,\n  deny "/img/;;" w,\n' \
    >"$out/pos-whole/tree-literal.rules"
printf 'tree %s r\nfile %s r deny\nfile %s rk deny\n' "$(hx '/img/?')" "$(hx '/img/?/^a')" "$(hx '/img/;;')" \
    >"$out/pos-whole/tree-literal.expect"
if ! $checker "$out/pos-whole/tree-literal.rules" >"$out/pos-whole.log" 2>&1; then
    cat "$out/pos-whole.log"
    echo "FAIL: the whole-file checker rejected a literal inside a granted tree"
    fail=1
fi
# ... and the checker must fail on what it exists to catch: the quoted
# string that runs into the next line (a name ending in a backslash before
# a comment holding a quote), a live glob, a rule nobody asked for.
mkdir -p "$out/neg"
printf '  # x\n  "/a/d\\\\" rwk,\n  # b" rwk, /** rwmlk, #\n  "/a/b" r,\n' >"$out/neg/inject.rules"
printf 'file %s\nfile %s\n' "$(hx '/a/d\')" "$(hx /a/b)" >"$out/neg/inject.expect"
printf '  "/a/x*y" r,\n' >"$out/neg/glob.rules"
printf 'file %s\n' "$(hx '/a/x*y')" >"$out/neg/glob.expect"
printf '  "/a/x" r,\n  "/a/y" r,\n' >"$out/neg/extra.rules"
printf 'file %s\n' "$(hx /a/x)" >"$out/neg/extra.expect"
printf '  "/a/x" r,\n  capability sys_admin,\n' >"$out/neg/cap.rules"
printf 'file %s\n' "$(hx /a/x)" >"$out/neg/cap.expect"
# ... and permissions wider than intended: rwk for a read-only image
printf '  "/s/a.iso" rwk,\n' >"$out/neg/perms.rules"
printf 'file %s rk deny\n' "$(hx /s/a.iso)" >"$out/neg/perms.expect"
for f in "$out"/neg/*.rules; do
    if $checker "$f" >/dev/null 2>&1; then
        echo "FAIL: the whole-file checker accepted $(basename "$f")"
        fail=1
    fi
done

if test "$n_prof" -lt 5 || test "$n_lit" -lt 10 || test "$n_whole" -lt 5; then
    echo "FAIL: expected at least 5 profiles and 10 literal checks, got $n_prof and $n_lit"
    fail=1
fi
test $fail = 0 && echo "ok: $n_prof profiles compiled, $n_lit literal paths checked, $n_whole whole rules files checked"
exit $fail
