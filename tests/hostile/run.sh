#!/bin/bash
# Hostile inputs against the real virtguard-helper (docs/RELIABILITY.md,
# "Hostile inputs"; the table there lists every case by its id).
#
# Each case feeds one domain XML (or UUID argument, or config) to
# `virtguard-helper load` against a scratch copy of /etc/apparmor.d, with
# the shared mount $T/images, and expects either
#   refuse REGEX  a non-zero exit, a one-line message matching REGEX, no
#                 rules file and nothing changed under apparmor.d; or
#   grant PATH... exit 0 and rules that grant exactly these paths ("tree:"
#                 DIR for a directory tree) and nothing else.
# For every rule written, apparmor_parser compiles the rule alone and the
# DFA must be one chain of single bytes spelling a granted path (the
# technique of tests/apparmor/dfa-literal.sh): no glob, class, alternation or
# variable can widen it.  The complete profile must compile as well, and
# the whole rules file as written -- comments, adjacent entries, the
# include line -- must compile to exactly the granted paths
# (tests/apparmor/aa-rules-check.py): the bugs live between lines.
set -uo pipefail
: "${top_builddir:?}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
HELPER=$top_builddir/helper/virtguard-helper
PARSER=${APPARMOR_PARSER:-/sbin/apparmor_parser}
[ -x "$PARSER" ] || { echo "SKIP: apparmor_parser not found"; exit 77; }
[ -f /etc/apparmor.d/libvirt/TEMPLATE.qemu ] || { echo "SKIP: libvirt's AppArmor files are not installed"; exit 77; }
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not found"; exit 77; }

T=$(mktemp -d /tmp/vg-hostile-XXXXXX)
trap 'rm -rf "$T"' EXIT
R=$T/images
UUID=3f1d2c4b-6a5e-4d7c-8b9a-0f1e2d3c4b5a
cp -a /etc/apparmor.d "$T/aa"
mkdir -p "$R/sub" "$R/share" "$T/outside" "$T/etc-qemu" "$T/run-qemu" "$T/cases"
truncate -s 1M "$R/a.img" "$T/outside/x.img"
ln -s /etc/shadow "$R/evil.img"
ln -s /etc "$R/etcdir"
ln -s "$T/outside/x.img" "$R/out.img"
ln -s "$T/nowhere/x.img" "$R/dangle.img"
ln -s a.img "$R/alias.img"
qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$R/back-etc.qcow2" 16M 2>/dev/null
qemu-img create -q -f qcow2 -b ../outside/x.img -F raw "$R/back-out.qcow2" 16M
qemu-img create -q -f qcow2 "$R/loop1.qcow2" 16M
qemu-img create -q -f qcow2 -b loop1.qcow2 -F qcow2 "$R/loop2.qcow2" 16M
qemu-img rebase -q -u -f qcow2 -b loop2.qcow2 -F qcow2 "$R/loop1.qcow2"
qemu-img create -q -f qcow2 -b nbd:localhost:10809 -F raw "$R/back-nbd.qcow2" 16M 2>/dev/null ||
    qemu-img create -q -f qcow2 -u -b nbd:localhost:10809 -F raw "$R/back-nbd.qcow2" 16M

# Names in qcow2 headers that qemu-img will not write: made with a
# placeholder of the same length, then the bytes replaced in the header.
hdr_name() {    # hdr_name FILE PLACEHOLDER NAME
    python3 - "$@" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
data = bytearray(open(path, "rb").read(65536))
i = data.find(old)
assert i > 0 and len(old) == len(new), (path, old, new)
data[i:i + len(old)] = new
with open(path, "r+b") as f:
    f.write(data)
PY
}
qemu-img create -q -f raw "$R/Xd" 1M
qemu-img create -q -f qcow2 -o data_file="$R/Xd" "$R/inject.qcow2" 16M
qemu-img rebase -q -u -f qcow2 -b XXXXXXXXXXXXXXXXXXXX -F raw "$R/inject.qcow2"
hdr_name "$R/inject.qcow2" "$R/Xd" "$R/d\\"
hdr_name "$R/inject.qcow2" XXXXXXXXXXXXXXXXXXXX 'x" rwk, /** rwmlk, #'
qemu-img create -q -f qcow2 -o data_file="$R/Xd" "$R/data-bs.qcow2" 16M
hdr_name "$R/data-bs.qcow2" "$R/Xd" "$R/d\\"
qemu-img create -q -f qcow2 -u -b 'qXuote.img' -F raw "$R/back-quote.qcow2" 16M
hdr_name "$R/back-quote.qcow2" qXuote 'q"uote'
qemu-img create -q -f qcow2 -u -b 'crXname.img' -F raw "$R/back-cr.qcow2" 16M
hdr_name "$R/back-cr.qcow2" crXname $'cr\rname'
(cd "$R" && qemu-img create -q -f qcow2 -o data_file=sub/rel.raw data-rel.qcow2 16M)
qemu-img create -q -f qcow2 -o data_file="$R/sub/data-abs.raw" "$R/sub/data-abs.qcow2" 16M
# the flat layout (docs/lima.md): an image directly in the root names
# another file of the root as its data file
qemu-img create -q -f qcow2 -o data_file="$R/flat.raw" "$R/flat.qcow2" 16M
qemu-img create -q -f qcow2 -o data_file="$R/sub/below.raw" "$R/data-below.qcow2" 16M
# vm1's writer (a guest with a rw share of $R/vm1) against vm2's files
mkdir -p "$R/vm1" "$R/vm2"
qemu-img create -q -f qcow2 "$R/vm2/secret.qcow2" 16M
ln -s ../vm2/secret.qcow2 "$R/vm1/disk2.qcow2"
ln -s "$R" "$R/vm1/data"
qemu-img create -q -f qcow2 -o data_file="$R/vm2/data.raw" "$R/vm1/d2.qcow2" 16M
# issue 19: a link in the root to a sibling directory; names with ".." that
# once skipped the link check; a data file named through ".."
ln -s vm2 "$R/vm2link"
qemu-img create -q -f qcow2 -u -b 'sub/../alias.img' -F raw "$R/dotdot-link.qcow2" 16M
qemu-img create -q -f qcow2 -u -b 'vm2link/secret.qcow2' -F qcow2 "$R/through-link.qcow2" 16M
qemu-img create -q -f qcow2 -o data_file="$R/vm1/../vm2/data.raw" "$R/vm1/d3.qcow2" 16M
# vm2 is a domain libvirt keeps: its directory is its own
printf "<domain type='kvm'><name>vm2</name><uuid>0c5e4d4b-1b5f-4bd3-8f70-4e3b3c2a1d00</uuid><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda'/></disk></devices></domain>\n" \
    "$(sed -e 's/&/\&amp;/g' -e "s/'/\&apos;/g" <<<"$R/vm2/secret.qcow2")" > "$T/etc-qemu/vm2.xml"
# file types: a FIFO, a socket, a FIFO as data file or backing file, a device node
mkdir -p "$R/ty"
mkfifo "$R/ty/fifo.img"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$R/ty/sock.img"
qemu-img create -q -f qcow2 -o data_file="$R/ty/d.raw" "$R/ty/d.qcow2" 16M
rm "$R/ty/d.raw" && mkfifo "$R/ty/d.raw"
qemu-img create -q -f qcow2 -u -b fifo.img -F raw "$R/ty/b.qcow2" 16M
mknod "$R/ty/null.img" c 1 3 2>/dev/null || true

printf 'mode = "enforce"\nshared_mounts = [ "%s" ]\napparmor = "on"\n' "$R" > "$T/vg.conf"
LV=$T/aa/libvirt
MAIN=$LV/libvirt-$UUID
RULES=$MAIN.virtguard

# ---- building blocks ------------------------------------------------------
xa() { sed -e 's/&/\&amp;/g' -e "s/'/\&apos;/g" -e 's/</\&lt;/g' -e 's/"/\&quot;/g' <<<"$1"; }
domain() {  # domain NAME UUID DEVICES-XML [OS-XML]
    printf "<domain type='qemu'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n  <memory>65536</memory>\n" "$1" "$2"
    printf "  <os><type arch='x86_64'>hvm</type>%s</os>\n  <devices>\n%s\n  </devices>\n</domain>\n" "${4:-}" "$3"
}
disk() {    # disk PATH-AS-XML [FORMAT]: PATH is written into the attribute as given
    printf "    <disk type='file' device='disk'><driver name='qemu' type='%s'/><source file='%s'/><target dev='vda' bus='virtio'/></disk>" "${2:-raw}" "$1"
}
fsdir() { printf "    <filesystem type='mount'><source dir='%s'/><target dir='share'/></filesystem>" "$1"; }
dirdisk() { printf "    <disk type='dir' device='disk'><driver name='qemu' type='fat'/><source dir='%s'/><target dev='vdb' bus='virtio'/></disk>" "$1"; }
plain() { domain hostile $UUID "$(disk "$(xa "$1")" "${2:-raw}")"; }

# ---- the DFA check ----------------------------------------------------------
# dfa_literal PARSER PROFILE: the bytes (hex, one a line) a one-rule profile
# accepts, or failure when it accepts anything but one fixed string.
# shellcheck source=tests/apparmor/dfa-literal.sh
. "$top_srcdir/tests/apparmor/dfa-literal.sh"
hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -s ' \n' '\n\n' | grep .; }

# Every quoted path in the rules, as "HEX-BYTES<TAB>tree|file", checked literal.
rule_paths() {
    local n=0
    grep -v '^ *#' "$RULES" | grep -o '"\([^"\\]\|\\.\)*"' | while IFS= read -r q; do
        n=$((n + 1))
        local tree=file body=$q
        case $q in *'/**"') tree=tree; body=${q%'**"'}'"' ;; esac
        printf 'profile vg-hostile-%d {\n  %s r,\n}\n' $n "$body" > "$T/one.profile"
        if ! dfa_literal "$PARSER" "$T/one.profile" > "$T/one.hex"; then
            echo "NOT-LITERAL $q"; continue
        fi
        printf '%s\t%s\n' "$(tr '\n' ' ' < "$T/one.hex")" $tree
    done | sort -u
}
expected_paths() {
    for p in "$@"; do
        case $p in
        tree:*) printf '%s\ttree\n' "$(hexof "${p#tree:}/" | tr '\n' ' ')"
                printf '%s\tfile\n' "$(hexof "${p#tree:}/" | tr '\n' ' ')" ;;
        *) printf '%s\tfile\n' "$(hexof "$p" | tr '\n' ' ')" ;;
        esac
    done | sort -u
}
# The whole-file checker's manifest (tests/apparmor/aa-rules-check.py).
expect_manifest() {
    local p
    for p in "$@"; do
        case $p in
        tree:*) printf 'tree %s\n' "$(printf '%s' "${p#tree:}" | od -An -tx1 -v | tr -d ' \n')" ;;
        *) printf 'file %s\n' "$(printf '%s' "$p" | od -An -tx1 -v | tr -d ' \n')" ;;
        esac
    done
}
compiles() {
    : > "$MAIN.files"
    "$PARSER" -Q -K --base "$T/aa" -I "$T/aa" "$MAIN" >/dev/null 2>&1
    local r=$?
    rm -f "$MAIN.files"
    return $r
}
snap() { (cd "$LV" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# The checker must be able to fail: a live glob is not literal, an escaped
# one is.
printf 'profile neg {\n  "/a/x*y" r,\n}\n' > "$T/neg.profile"
printf 'profile pos {\n  "/a/x\\*y" r,\n}\n' > "$T/pos.profile"
if dfa_literal "$PARSER" "$T/neg.profile" >/dev/null 2>&1 ||
   [ "$(dfa_literal "$PARSER" "$T/pos.profile" | tr '\n' ' ')" != "$(hexof '/a/x*y' | tr '\n' ' ')" ]; then
    echo "FAIL: the DFA literal check does not tell a glob from a literal"
    exit 1
fi

# ---- the cases --------------------------------------------------------------
# run ID [--uuid=U] [--conf=F] refuse REGEX < XML
# run ID [--uuid=U] [--conf=F] grant [PATH...] < XML
# Cases run in pipelines (subshells): results are tallied in $T/results.
run() {
    local id=$1; shift
    local uuid=$UUID conf=$T/vg.conf
    while [ $# -gt 0 ]; do
        case $1 in --uuid=*) uuid=${1#--uuid=} ;; --conf=*) conf=${1#--conf=} ;; *) break ;; esac
        shift
    done
    local expect=$1; shift
    cat > "$T/cases/$id.xml"
    rm -f "$RULES"
    local before st why=""
    before=$(snap)
    timeout 120 "$HELPER" load --uuid "$uuid" --config "$conf" --apparmor-dir "$T/aa" \
        --cache-dir "$T/cache" --run-dir "$T/run" --libvirt-config-dir "$T/etc-qemu" \
        --libvirt-run-dir "$T/run-qemu" < "$T/cases/$id.xml" > "$T/out" 2> "$T/err"
    st=$?
    case $expect in
    refuse)
        local re=$1
        if [ $st -eq 0 ] || [ $st -gt 2 ]; then why="exit status $st, expected a refusal (1 or 2)"
        elif ! grep -Eiq -- "$re" "$T/err"; then why="the message does not match /$re/"
        elif [ "$(grep -c . "$T/err")" -ne 1 ] || ! grep -q '^virtguard-helper: ' "$T/err"; then
            why="the refusal is not one 'virtguard-helper: ...' line"
        elif [ -e "$RULES" ]; then why="a rules file was written"
        elif [ "$(snap)" != "$before" ]; then why="files under apparmor.d changed"
        fi ;;
    grant)
        local -a want=("$@")
        if [ $st -ne 0 ]; then why="exit status $st: $(cat "$T/err")"
        elif [ ! -f "$RULES" ]; then why="no rules file"
        elif ! compiles; then why="the profile with these rules does not compile"
        else
            rule_paths > "$T/got"
            expected_paths "${want[@]}" > "$T/want"
            mkdir -p "$T/whole"
            cp "$RULES" "$T/whole/$id.rules"
            expect_manifest "${want[@]}" > "$T/whole/$id.expect"
            if grep -q NOT-LITERAL "$T/got"; then why="a rule is not literal: $(grep NOT-LITERAL "$T/got")"
            elif ! python3 "$top_srcdir/tests/apparmor/aa-rules-check.py" --parser "$PARSER" "$T/whole/$id.rules" > "$T/whole.out" 2>&1; then
                why="the whole rules file is not exactly its entries: $(grep FAIL "$T/whole.out" | head -c 400)"
            elif ! cmp -s "$T/got" "$T/want"; then
                why=grant "ed paths differ (< granted, > expected): $(diff"$T/got" "$T/want" | grep '^[<>]' | tr '\n' ' ')"
            fi
        fi ;;
    esac
    if [ -n "$why" ]; then
        echo "FAIL - $id: $why"
        sed 's/^/    | /' "$T/err" | head -n 5
        echo "FAIL $expect $id" >> "$T/results"
    else
        echo "ok - $id ($expect): $(head -c 300 "$T/err" | tr '\n' ' ' | sed 's/^virtguard-helper: //')"
        echo "ok $expect $id" >> "$T/results"
    fi
}

# XML parser
printf '<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n%s' \
    "$(domain '&x;' $UUID "$(disk "$R/a.img")")" | run xxe-system refuse "entity"
printf '<!DOCTYPE domain [<!ENTITY %% p SYSTEM "http://127.0.0.1:9/evil.dtd"> %%p;]>\n%s' \
    "$(domain h $UUID "$(disk "$R/a.img")")" | run xxe-parameter refuse "parameter entity"
printf '<!DOCTYPE domain SYSTEM "http://127.0.0.1:9/domain.dtd">\n%s' \
    "$(domain h $UUID "$(disk "$R/a.img")")" | run external-dtd refuse "external DTD"
printf '<!DOCTYPE domain PUBLIC "-//x//EN" "file:///etc/passwd">\n%s' \
    "$(domain h $UUID "$(disk "$R/a.img")")" | run external-dtd-public refuse "external DTD"
{
    printf '<!DOCTYPE domain [\n <!ENTITY l0 "lol">\n'
    for i in $(seq 1 9); do printf ' <!ENTITY l%d "%s">\n' $i "$(printf "&l$((i - 1));%.0s" $(seq 10))"; done
    printf ']>\n'; domain '&l9;' $UUID "$(disk "$R/a.img")"
} | run billion-laughs refuse "entity"
{
    printf '<!DOCTYPE domain [<!ENTITY big "%s">]>\n' "$(head -c 60000 /dev/zero | tr '\0' x)"
    domain "$(printf '&big;%.0s' $(seq 1000))" $UUID "$(disk "$R/a.img")"
} | run quadratic-blowup refuse "entity"
domain h $UUID "$(disk "$R/&undeclared;.img")" | run undeclared-entity refuse "entity|malformed"
domain h $UUID "$(disk "$R/a.img")
    <xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/passwd' parse='text'/>" |
    run xinclude-ignored grant "$R/a.img"
{
    domain h $UUID "$(disk "$R/a.img")"
    printf '<!-- '; head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' x; printf ' -->\n'
} | run huge-50mb refuse "too large|limit"
{
    printf "<domain type='qemu'><name>h</name><uuid>%s</uuid><devices>" $UUID
    for _ in $(seq 10000); do printf '<a>'; done
    for _ in $(seq 10000); do printf '</a>'; done
    printf '</devices></domain>\n'
} | run deep-10000 refuse "nested"
plain "$R/a"$'\xff\xfe'".img" | run invalid-utf8 refuse "UTF-8|malformed"
plain "$R/a"$'\xc0\xaf'"etc.img" | run overlong-utf8 refuse "UTF-8|malformed"
domain h $UUID "$(disk "$R/a.img&#0;.img")" | run nul-charref refuse "malformed|char"
domain h $UUID "$(disk "$R/a.img&#x0;x")" | run nul-hex-charref refuse "malformed|char"
domain h $UUID "$(disk "$R/a.img")" | sed 's/a\.img/a\x00.img/' | run raw-nul refuse "NUL"

# Control characters in paths
domain h $UUID "$(disk "$R/a&#10;  /etc/shadow rw,&#10;.img")" | run newline-charref refuse "newline"
domain h $UUID "$(disk "$R/a&#13;.img")" | run cr-charref refuse "control character"
# Raw LF/CR/TAB in an attribute: XML reads a space, libvirt meant the byte
# (it writes such names raw): the path read would not be QEMU's file.
domain h $UUID "$(disk "$R/n"$'\n'"l.img")" | run newline-raw refuse "attribute value holds a raw newline \\(LF\\)"
domain h $UUID "$(disk "$R/c"$'\r'"r.img")" | run cr-raw refuse "raw carriage return \\(CR\\)"
domain h $UUID "$(disk "$R/t"$'\t'"b.img")" | run tab-raw refuse "raw tab"
# ... but applications' own <metadata> keeps its attributes as written
domain h $UUID "$(disk "$R/a.img")
    <metadata><app:x xmlns:app='urn:x' note='two"$'\n'"lines'/></metadata>" | run metadata-raw-newline grant "$R/a.img"
domain h $UUID "$(disk "$R/a&#9;.img")" | run tab-charref refuse "control character"
domain h $UUID "$(disk "$R/a&#127;.img")" | run del-charref refuse "control character"
domain h $UUID "$(disk "$R/a&#27;[31m.img")" | run escape-charref refuse "control character|invalid xmlChar"

# Every AppArmor special character, variables: literal rules
s='a*b?c[1]{x,y}^q,z.img'; touch "$R/$s"
plain "$R/$s" | run every-special grant "$R/$s"
s='@{HOME}.img'; plain "$R/$s" | run at-variable grant "$R/$s"
# Backslashes and double quotes never reach a rule (lib/base/aa-escape.c).
s='\@{PROC}x.img'; plain "$R/$s" | run escaped-at-variable refuse "contains a backslash at byte"
s='q"uote.img'; plain "$R/$s" | run double-quote refuse "contains a double quote at byte"
s='d\'; plain "$R/$s" | run trailing-backslash refuse "contains a backslash at byte"
s='x" rwk, /** rwmlk, #'; plain "$R/$s" | run quote-rule-comment refuse "contains a double quote at byte"
s='**'; plain "$R/$s" | run double-star-name grant "$R/$s"
s='a, b #c !d <e> $f |g (h).img'; plain "$R/$s" | run comma-hash-space grant "$R/$s"
s='sub/x\\101\n.img'; plain "$R/$s" | run backslash-sequences refuse "contains a backslash at byte"
s=$'caf\xc3\xa9-\xe2\x82\xac.img'; plain "$R/$s" | run utf8-name grant "$R/$s"
domain h $UUID "$(fsdir "$(xa "$R/share/")")" | run share-trailing-slash grant "tree:$R/share"
domain h $UUID "$(fsdir "$(xa "$R/sh[a]re/")")" | run share-glob-name grant "tree:$R/sh[a]re"

# Path structure
plain "$R/../../../etc/shadow" | run dotdot-escape refuse "'\.\.'"
plain "$R/sub/../a.img" | run dotdot-inside refuse "'\.\.'"
plain "$R/a.img/" | run trailing-slash-file grant "$R/a.img"
plain "$R//./sub//./a.img" | run slashes-dots grant "$R/sub/a.img"
plain "images/a.img" | run relative-path refuse "not absolute"
plain "./a.img" | run dot-relative refuse "not absolute"
long=$R; while [ ${#long} -lt 5000 ]; do long=$long/$(head -c 200 /dev/zero | tr '\0' d); done
plain "$long.img" | run very-long-path refuse "path of [0-9]+ bytes is longer than 4095"
plain "$R/$(head -c 300 /dev/zero | tr '\0' n).img" | run component-too-long refuse "too long"
long=$R; while [ ${#long} -lt 1900 ]; do long=$long/$(head -c 250 /dev/zero | tr '\0' e); done
plain "$long.img" | run long-path-ok grant "$long.img"
long=$R; while [ ${#long} -lt 3800 ]; do long=$long/$(head -c 250 /dev/zero | tr '\0' e); done
plain "$long.img" | run long-path-too-heavy refuse "longest path \\([0-9]+ bytes\\) times all their path bytes"
plain "/etc/shadow" | run restricted-outside refuse "restricted"
plain "/srv/elsewhere.img" | run outside-not-ours grant

# Symlinks from the shared mount
plain "$R/evil.img" | run symlink-to-etc-file refuse "restricted"
plain "$R/etcdir/passwd" | run symlink-dir-to-etc refuse "restricted"
domain h $UUID "$(fsdir "$(xa "$R/etcdir")")" | run share-symlink-to-etc refuse "restricted"
plain "$R/out.img" | run symlink-outside-roots refuse "outside the allowed roots"
plain "$R/dangle.img" | run symlink-dangling refuse "dangling"
plain "$R/alias.img" | run symlink-inside refuse "a symbolic link on the shared mount that leads to '$R/a.img' \(it holds 'a.img'\); virtguard follows no symbolic link below a shared root"
# One domain's directory on the share must not reach another's through
# what its writer controls: links, header names, a share of the root.
plain "$R/vm1/disk2.qcow2" qcow2 | run symlink-other-domain refuse "symbolic link on the shared mount that leads to '$R/vm2/secret.qcow2'"
domain h $UUID "$(fsdir "$(xa "$R/vm1/data")")" | run share-symlink-to-root refuse "symbolic link on the shared mount"
domain h $UUID "$(fsdir "$(xa "$R")")" | run share-whole-root refuse "is the whole shared root"
plain "$R/vm1/d2.qcow2" qcow2 | run data-file-other-domain refuse "outside the image's directory"
# issue 19, finding 1: a link in the root to a sibling directory
domain h $UUID "$(fsdir "$(xa "$R/vm2link")")" | run share-root-link-to-sibling refuse "filesystem 'share': '$R/vm2link' is a symbolic link on the shared mount that leads to '$R/vm2' \(it holds 'vm2'\); virtguard follows no symbolic link below a shared root, and never grants a directory through one, in any mode"
domain h $UUID "$(dirdisk "$(xa "$R/vm2link")")" | run dirdisk-root-link-to-sibling refuse "disk 'vdb': .* never grants a directory through one"
domain h $UUID "$(fsdir "$(xa "$R/vm2")")" | run share-other-domain-dir refuse "filesystem 'share': '$R/vm2' holds '$R/vm2/secret.qcow2', a file of domain 'vm2'"
domain h $UUID "$(dirdisk "$(xa "$R/vm2/")")" | run dirdisk-other-domain-dir refuse "a file of domain 'vm2'"
# finding 3: ".." in a header name walks through the link, never around it
plain "$R/dotdot-link.qcow2" qcow2 | run backing-dotdot-link refuse "'$R/sub/\.\./alias\.img' goes through '$R/alias\.img', a symbolic link on the shared mount"
plain "$R/through-link.qcow2" qcow2 | run backing-through-dir-link refuse "goes through '$R/vm2link', a symbolic link on the shared mount that leads to '$R/vm2/secret.qcow2'"
plain "$R/vm1/d3.qcow2" qcow2 | run data-file-dotdot refuse "names '$R/vm2/data.raw' as its external data file, outside the image's directory '$R/vm1'"
# finding 6: only regular files are disks, backing and data files
plain "$R/ty/fifo.img" | run disk-fifo refuse "disk 'vda': '$R/ty/fifo.img' is a FIFO \(named pipe\) on the shared mount, where virtguard grants only a regular file for it; refused in every mode"
plain "$R/ty/sock.img" | run disk-socket refuse "'$R/ty/sock.img' is a socket on the shared mount"
plain "$R/ty" | run disk-directory refuse "'$R/ty' is a directory on the shared mount, where virtguard grants only a regular file"
plain "$R/ty/d.qcow2" qcow2 | run data-file-fifo refuse "external data file of '$R/ty/d.qcow2' \(disk 'vda'\): '$R/ty/d.raw' is a FIFO"
plain "$R/ty/b.qcow2" qcow2 | run backing-fifo refuse "backing layer 1 of disk 'vda' .*: '$R/ty/fifo.img' is a FIFO"
if [ -c "$R/ty/null.img" ]; then
    plain "$R/ty/null.img" | run disk-char-device refuse "'$R/ty/null.img' is a character device node on the shared mount"
fi
manydisks() {   # 40 disks of ~1 900-byte paths: 76 kB of rules
    local i d=$R c; c=$(head -c 200 /dev/zero | tr '\0' m)
    for i in 1 2 3 4 5 6 7 8 9; do d=$d/$c; done
    for i in $(seq 1 40); do
        printf "    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/%04d.img'/><target dev='vd%s' bus='virtio'/></disk>\n" "$d" "$i" "$i"
    done
}
domain h $UUID "$(manydisks)" | run too-many-path-bytes refuse "more than virtguard writes for one domain"
longdisks() {   # 6 disks of ~2 900-byte paths: 17 kB, but 2.9 kB x 17 kB is 49 M
    local i d=$R c; c=$(head -c 200 /dev/zero | tr '\0' w)
    for i in $(seq 1 14); do d=$d/$c; done
    for i in $(seq 1 6); do
        printf "    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s/%04d.img'/><target dev='vd%s' bus='virtio'/></disk>\n" "$d" "$i" "$i"
    done
}
domain h $UUID "$(longdisks)" | run too-heavy-paths refuse "would take apparmor_parser too long to compile: their longest path \\([0-9]+ bytes\\) times all their path bytes \\([0-9]+\\) is [0-9]+, more than the 4194304 allowed"

# qcow2 backing files
plain "$R/back-etc.qcow2" qcow2 | run backing-etc refuse "restricted"
plain "$R/back-out.qcow2" qcow2 | run backing-outside refuse "outside the allowed roots"
plain "$R/loop1.qcow2" qcow2 | run backing-loop refuse "loops"
plain "$R/back-nbd.qcow2" qcow2 | run backing-protocol grant "$R/back-nbd.qcow2"
# The injection that once gave QEMU "/** rwmlk": an external data file
# named 'd\' and a backing name holding a quote, both from the header.
plain "$R/inject.qcow2" qcow2 | run header-injection refuse "contains a (backslash|double quote) at byte"
plain "$R/data-bs.qcow2" qcow2 | run data-file-backslash refuse "contains a backslash at byte"
plain "$R/back-quote.qcow2" qcow2 | run backing-quote refuse "contains a double quote at byte"
plain "$R/back-cr.qcow2" qcow2 | run backing-cr refuse "carriage return"
plain "$R/data-rel.qcow2" qcow2 | run data-file-relative refuse "relative external data file"
plain "$R/sub/data-abs.qcow2" qcow2 | run data-file-absolute grant "$R/sub/data-abs.qcow2" "$R/sub/data-abs.raw"
plain "$R/flat.qcow2" qcow2 | run data-file-flat-root refuse "the header of '$R/flat.qcow2' names '$R/flat.raw' as its external data file, but the image lies directly in the shared root '$R'"
plain "$R/data-below.qcow2" qcow2 | run data-file-below refuse "outside the image's directory '$R'"

# Names and UUIDs that could build paths
domain '../../etc/cron.d/x' $UUID "$(disk "$R/a.img")" | run name-traversal refuse "character '/'"
domain 'x{a,b}*' $UUID "$(disk "$R/a.img")" | run name-glob refuse "character"
domain 'a&#10;b' $UUID "$(disk "$R/a.img")" | run name-newline refuse "control character"
domain '' $UUID "$(disk "$R/a.img")" | run name-empty refuse "no name"
domain '..' $UUID "$(disk "$R/a.img")" | run name-dotdot grant "$R/a.img"
plain "$R/a.img" | run uuid-arg-traversal --uuid=../../../etc/passwd refuse "not a UUID"
plain "$R/a.img" | run uuid-arg-suffix --uuid=$UUID/../../x refuse "not a UUID"
plain "$R/a.img" | run uuid-arg-glob --uuid='3f1d2c4b-6a5e-4d7c-8b9a-0f1e2d3c4b5*' refuse "not a UUID"
domain h '../../../../etc/passwd' "$(disk "$R/a.img")" | run uuid-xml-traversal refuse "UUID"
domain h 00000000-0000-0000-0000-000000000001 "$(disk "$R/a.img")" | run uuid-mismatch refuse "UUID"

# Config
printf 'shared_mounts = [ "images" ]\napparmor = "on"\n' > "$T/rel.conf"
plain "$R/a.img" | run conf-relative-root --conf="$T/rel.conf" refuse "absolute|relative"
printf 'shared_mounts = [ "%s/../.." ]\napparmor = "on"\n' "$R" > "$T/dd.conf"
plain "$R/a.img" | run conf-dotdot-root --conf="$T/dd.conf" refuse "'\.\.'|\.\."
printf 'shared_mounts = [ "/" ]\napparmor = "on"\n' > "$T/slash.conf"
plain "/etc/shadow" | run conf-root-slash --conf="$T/slash.conf" refuse "root directory"

# Names libvirt keeps (C1 controls: NEL, CSI) never reach the output raw.
domain $'vm1&#x85;virtguard: domain \'vm1\' started OK&#x9b;2K' $UUID \
    "$(disk "$R/a.img" qcow2)" > "$T/cases/c1-name.xml"
rm -f "$RULES"
timeout 120 "$HELPER" load --uuid "$UUID" --config "$T/vg.conf" --apparmor-dir "$T/aa" \
    --cache-dir "$T/cache" --run-dir "$T/run" --libvirt-config-dir "$T/etc-qemu" \
    --libvirt-run-dir "$T/run-qemu" < "$T/cases/c1-name.xml" > "$T/out" 2> "$T/err"
if LC_ALL=C grep -q $'\xc2[\x85\x9b]' "$T/out" "$T/err" || ! grep -q 'vm1\\u0085virtguard' "$T/err"; then
    echo "FAIL - c1-name: a C1 control of the domain name reached the output raw: $(od -c "$T/err" | head -n 3)"
    echo "FAIL grant c1-name" >> "$T/results"
else
    echo "ok - c1-name (escaped): $(head -c 200 "$T/err")"
    echo "ok grant c1-name" >> "$T/results"
fi

n=$(grep -c . "$T/results")
fails=$(grep -c '^FAIL' "$T/results")
echo "$n cases ($(grep -c ' refuse ' "$T/results") refusals, $(grep -c ' grant ' "$T/results") literal grants): $((n - fails)) passed, $fails failed"
[ "$n" -ge 30 ] || { echo "FAIL: fewer than 30 cases"; exit 1; }
[ "$fails" -eq 0 ]
