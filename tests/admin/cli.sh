#!/bin/bash
# The virtguard CLI's edges, driving the real binary (no libvirtd needed):
#  1. per-command help (virtguard help CMD, CMD --help), an unknown command
#     in one line with the hint, options a command does not take refused;
#  2. check --json: the hook's verdict as JSON, UTF-8 names kept;
#  3. check and doctor as a user who cannot read qemu.conf: the file named,
#     exit 2, no "would refuse", no PASS lines about a qemu.conf not read;
#  4. explain with no FILE on a terminal reads the boot's logs (journalctl,
#     else dmesg) and says so, instead of waiting for standard input;
#  5. check --qemu-conf judges against a planned qemu.conf: on a share that
#     ignores chown (bindfs, as 9p security_model=none), user = "root"
#     passes and the planned file without it gives the <seclabel> fix
#     (docs/migrating-off-security-driver-none.md, step 2).
# Parts that need root, setpriv, script(1) or bindfs say SKIP when missing.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
# shellcheck source=tests/helper/fake-root.sh
. "$top_srcdir/tests/helper/fake-root.sh"    # domain_xml
VG=$top_builddir/tools/virtguard
[ -x "$VG" ] || { echo "no CLI at '$VG' (run make first)"; exit 99; }
T=$(mktemp -d /tmp/vg-cli-XXXXXX)
chmod 0755 "$T"
trap 'fusermount3 -u "$T/share" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
skip() { echo "SKIP - $1"; }
# run CMD...: sets RC, OUT (stdout), ERR (stderr)
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1" "${@:2}" <<<"$OUT"; }

cat >"$T/vg.conf" <<CONF
shared_mounts = [ "$T/share" ]
shared_fs_types = [ "fuse" ]
qemu_conf = "$T/qemu.conf"
CONF
printf 'user = "root"\ngroup = "root"\n' >"$T/qemu.conf"
mkdir -p "$T/src" "$T/share"
domain_xml 'd&#233;mo' 6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f raw "$T/share/d&#233;mo.img" >"$T/dom.xml"
chmod 0644 "$T"/*.conf "$T/dom.xml"

# --- 1. help, unknown commands, refused options ---------------------------
for form in "help doctor" "doctor --help" "doctor -h"; do
    # shellcheck disable=SC2086
    run "$VG" $form
    if [ "$RC" = 0 ] && has "$OUT" "Usage: virtguard doctor [--config FILE] [--json] [--no-probe]" &&
        has "$OUT" "Exit status:" && [ -z "$ERR" ]; then
        ok "'virtguard $form' prints doctor's help"
    else
        bad "'virtguard $form': rc $RC, out: $OUT, err: $ERR"
    fi
done
run "$VG" help check
has "$OUT" "--qemu-conf FILE" && ok "check's help names --qemu-conf" || bad "check's help: $OUT"
run "$VG" frobnicate
if [ "$RC" = 2 ] && [ -z "$OUT" ] && [ "$(wc -l <"$T/err")" = 1 ] &&
    [ "$ERR" = "virtguard: unknown command 'frobnicate'; 'virtguard help' lists the commands." ]; then
    ok "an unknown command is one line with the hint"
else
    bad "unknown command: rc $RC, $(wc -l <"$T/err") line(s): $ERR"
fi
run "$VG" $'\e]0;x\a'
has "$ERR" "unknown command '\\x1b]0;x\\x07'" && ok "an unknown command's name is shown escaped" ||
    bad "unknown command not escaped: $(od -c <"$T/err" | head -3)"
for c in "profile --json" "rewrite --json" "paths --no-probe" "check --no-probe" \
         "doctor --qemu-conf x" "audit --no-probe"; do
    set -- $c
    run "$VG" "$@" "$T/dom.xml"
    if [ "$RC" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
        has "$ERR" "virtguard: $1 does not take '$2'; 'virtguard help $1' lists its options."; then
        ok "'$c' is refused"
    else
        bad "'$c': rc $RC: $ERR"
    fi
done
run "$VG" check --bogus "$T/dom.xml"
[ "$RC" = 2 ] && has "$ERR" "check: unknown option '--bogus'" && ok "an unknown option is refused" ||
    bad "check --bogus: rc $RC: $ERR"

# --- 2. check --json --------------------------------------------------------
# The share is not mounted: the verdict is a refusal, in JSON.
run "$VG" check --json --config "$T/vg.conf" "$T/dom.xml"
if [ "$RC" = 1 ] && json '
assert d["command"] == "check" and d["exit"] == 1 and d["verdict"] == "refused", d
assert d["domain"] == "d\u00e9mo", d["domain"]
assert isinstance(d["shared_paths"], int) and d["shared_paths"] == 1, d
c = [c for c in d["checks"] if c["topic"] == "not-mounted"]
assert c and c[0]["status"] == "fail", d["checks"]'; then
    ok "check --json: the refusal as JSON, the domain name in UTF-8"
else
    bad "check --json: rc $RC: $OUT $ERR"
fi
# the fix in "fix" (a string), not inside the title or detail
jq -e --arg m "$T/share" '.checks[] | select(.topic == "not-mounted") |
    (.fix | type == "string" and startswith("Mount the share before starting the domain (check with '"'"'findmnt \($m)'"'"'")) and
    (.title | endswith("'"'"'.")) and
    ((.title + (.detail // "")) | contains("Mount the share") | not)' "$T/out" >/dev/null &&
    ok "check --json: the finding's fix in \"fix\", not in its title" ||
    bad "check --json fix: $OUT"
printf 'mode = "strict"\n' >"$T/broken.conf"
run "$VG" check --json --config "$T/broken.conf" "$T/dom.xml"
[ "$RC" = 2 ] && jq -e --arg m "$T/broken.conf:1: key 'mode': expected \"enforce\" or \"dev\", got \"strict\"" \
    '.exit == 2 and .status == "error" and .errors == [$m]' "$T/out" >/dev/null &&
    ok "check --json on a named config with an error: exit 2, the error document" ||
    bad "check --json, bad config: rc $RC: $OUT"

# --- 3. as a user who cannot read qemu.conf ----------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 0600 "$T/qemu.conf"
    asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    run asuser "$VG" check --config "$T/vg.conf" "$T/dom.xml"
    if [ "$RC" = 2 ] && has "$ERR" "check cannot read '$T/qemu.conf': Permission denied" &&
        ! has "$OUT$ERR" "would refuse"; then
        ok "check as a user: names the unreadable qemu.conf, exit 2"
    else
        bad "check as a user: rc $RC: $OUT $ERR"
    fi
    run asuser "$VG" doctor --config "$T/vg.conf" --no-probe
    if [ "$RC" = 2 ] && has "$OUT" "qemu.conf: '$T/qemu.conf' could not be read" &&
        has "$OUT" "incomplete: cannot read '$T/qemu.conf': Permission denied" &&
        ! grep -q '^qemu.conf: .*: PASS' "$T/out"; then
        ok "doctor as a user: names the unreadable qemu.conf, no PASS about it, exit 2"
    else
        bad "doctor as a user: rc $RC: $OUT $ERR"
    fi
    chmod 0644 "$T/qemu.conf"
    # profile as a user who cannot read a qcow2 header: not the helper's rules
    sed "s/type='raw'/type='qcow2'/" "$T/dom.xml" >"$T/domq.xml"
    if command -v qemu-img >/dev/null && qemu-img create -q -f qcow2 "$T/share/démo.img" 1M; then
        chmod 0600 "$T/share/démo.img"
        run asuser "$VG" profile --config "$T/vg.conf" "$T/domq.xml"
        if [ "$RC" = 2 ] && has "$ERR" "virtguard: profile runs as uid 65534 and could not read 1 image header(s) (above): the helper runs as root and would write rules for their backing files too, so these rules are not the helper's. Run 'virtguard profile' as root (sudo) for them."; then
            ok "profile as a user with an unreadable qcow2: exit 2, the reason"
        else
            bad "profile as a user, unreadable qcow2: rc $RC: $ERR"
        fi
        rm -f "$T/share/démo.img"
    else
        skip "profile as a user (needs qemu-img)"
    fi
else
    skip "check/doctor as another user (needs root and setpriv)"
fi

# --- 4. explain on a terminal ------------------------------------------------
denied='[   12.3] audit: type=1400 audit(1700000000.123:45): apparmor="DENIED" operation="open" profile="libvirt-6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f" name="/srv/other/base.img" pid=1 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=1000'
mkdir -p "$T/bin-journal" "$T/bin-dmesg" "$T/etc-qemu" "$T/run-qemu"
printf '#!/bin/sh\necho "$*" >>%s/journal-args\necho '\''%s'\''\n' "$T" "$denied" >"$T/bin-journal/journalctl"
printf '#!/bin/sh\necho '\''%s'\''\n' "$denied" >"$T/bin-dmesg/dmesg"
chmod 0755 "$T/bin-journal/journalctl" "$T/bin-dmesg/dmesg"
if command -v script >/dev/null; then
    # script(1) gives the CLI a terminal on standard input.
    onterm() {
        SHELL=/bin/sh timeout 20 script -qec "env PATH=$1 '$VG' explain --config '$T/vg.conf' \
            --connect 'test:///nonexistent' --libvirt-config-dir '$T/etc-qemu' \
            --libvirt-run-dir '$T/run-qemu' 2>'$T/err'" /dev/null >"$T/out" </dev/null
        RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
    }
    onterm "$T/bin-journal"
    if [ "$RC" != 2 ] && has "$ERR" "standard input is a terminal: explaining this boot's kernel log and libvirtd's journal" &&
        has "$OUT" "AppArmor denied QEMU 'r' access to '/srv/other/base.img'" &&
        grep -qx -- "-k -b -q --no-pager" "$T/journal-args" &&
        grep -qx -- "-b -u libvirtd -q --no-pager" "$T/journal-args"; then
        ok "explain on a terminal reads journalctl -k -b and -b -u libvirtd, and says so"
    else
        bad "explain on a terminal (journalctl): rc $RC: $OUT / $ERR / $(cat "$T/journal-args" 2>&1)"
    fi
    onterm "$T/bin-dmesg"
    # 1 or 0: a denial of a file explain cannot tie to the domain is a
    # warning (no rule proposed); 2 would mean explain did not run
    if [ "$RC" != 2 ] && has "$ERR" "explaining the kernel log ('dmesg'" &&
        has "$OUT" "'/srv/other/base.img'"; then
        ok "explain on a terminal without journalctl reads dmesg, and says so"
    else
        bad "explain on a terminal (dmesg): rc $RC: $OUT / $ERR"
    fi
else
    skip "explain on a terminal (needs script(1))"
fi
# not a terminal: standard input, as before
run "$VG" explain --config "$T/vg.conf" --connect test:///nonexistent \
    --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu" <<<"$denied"
[ "$RC" != 2 ] && has "$OUT" "'/srv/other/base.img'" && ! has "$ERR" "terminal" &&
    ok "explain reads a pipe on standard input" ||
    bad "explain from a pipe: rc $RC: $ERR"

# --- 5. check --qemu-conf ----------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v bindfs >/dev/null || ! command -v fusermount3 >/dev/null ||
    ! getent passwd libvirt-qemu >/dev/null || [ ! -e /dev/fuse ]; then
    skip "check --qemu-conf (needs root, bindfs, fusermount3 and the libvirt-qemu user)"
elif [ "${VG_CLI_IN_NS:-}" != 1 ]; then
    # the rest in a private mount namespace, so the bindfs mount stays ours
    VG_CLI_IN_NS=1 T=$T unshare --mount --propagation private bash -c '
        truncate -s 1M "$T/src/démo.img"; chown 1000:1000 "$T/src" "$T/src/démo.img"
        chmod 0600 "$T/src/démo.img"
        bindfs --chown-ignore --chgrp-ignore "$T/src" "$T/share" || exit 77
        VG=$1
        "$VG" check --config "$T/vg.conf" "$T/dom.xml" >"$T/o1" 2>"$T/e1"; echo $? >"$T/rc1"
        printf "# planned: user = \"root\" removed\n" >"$T/qemu.conf.planned"
        "$VG" check --config "$T/vg.conf" --qemu-conf "$T/qemu.conf.planned" "$T/dom.xml" \
            >"$T/o2" 2>"$T/e2"; echo $? >"$T/rc2"
        fusermount3 -u "$T/share"' bash "$VG"
    if [ "$(cat "$T/rc1" 2>/dev/null)" = 0 ] && grep -q "all fine" "$T/o1"; then
        ok "check with user = \"root\": all fine"
    else
        bad "check with user = \"root\": rc $(cat "$T/rc1" 2>/dev/null): $(cat "$T/o1" "$T/e1" 2>/dev/null)"
    fi
    if [ "$(cat "$T/rc2" 2>/dev/null)" = 1 ] && grep -q "would refuse" "$T/o2" &&
        grep -q "<label>+1000:+64055</label>" "$T/e2"; then
        ok "check --qemu-conf with the planned qemu.conf: refused, with the <seclabel> fix"
    else
        bad "check --qemu-conf: rc $(cat "$T/rc2" 2>/dev/null): $(cat "$T/o2" "$T/e2" 2>/dev/null)"
    fi
fi
run "$VG" check --config "$T/vg.conf" --qemu-conf "$T/nonexistent.conf" "$T/dom.xml"
[ "$RC" = 2 ] && has "$ERR" "--qemu-conf '$T/nonexistent.conf': No such file or directory" &&
    ok "check --qemu-conf of a missing file: exit 2" || bad "check --qemu-conf missing: rc $RC: $ERR"

# --- 6. a named config that cannot be read (issue 21) ------------------------
for c in "paths" "check" "rewrite" "profile" "doctor" "explain" "audit"; do
    arg=$T/dom.xml
    case $c in doctor | audit) arg= ;; esac
    # shellcheck disable=SC2086
    run "$VG" $c --config /typo.conf $arg </dev/null
    if [ "$RC" = 2 ] && [ -z "$OUT" ] &&
        [ "$ERR" = "virtguard: cannot read the config file '/typo.conf' (--config): No such file or directory" ]; then
        ok "$c --config /typo.conf: the file and errno named, exit 2"
    else
        bad "$c --config /typo.conf: rc $RC: $OUT / $ERR"
    fi
done
run "$VG" check -c /typo.conf "$T/dom.xml"
[ "$RC" = 2 ] && has "$ERR" "'/typo.conf' (--config)" && ok "-c is --config" || bad "check -c: rc $RC: $ERR"

# --- 7. --json: exactly one JSON document, errors included --------------------
command -v jq >/dev/null || { echo "ERROR: jq is missing (.ci/deps installs it)"; exit 99; }
# jqdoc FILTER: stdout is one JSON document and FILTER holds on it
jqdoc() { [ "$(jq -s length <"$T/out" 2>/dev/null)" = 1 ] && jq -e "$1" <"$T/out" >/dev/null; }
errdoc() { # errdoc COMMAND EXIT MESSAGE
    jqdoc --arg c "$1" --argjson e "$2" --arg m "$3" \
        '.command == $c and .status == "error" and .exit == $e and (.exit | type) == "number" and .errors == [$m]' 2>/dev/null ||
    jq -e --arg c "$1" --argjson e "$2" --arg m "$3" \
        '.command == $c and .status == "error" and .exit == $e and .errors == [$m]' <"$T/out" >/dev/null 2>&1 &&
    [ "$(jq -s length <"$T/out")" = 1 ]
}
run "$VG" check --json "$T/missing.xml"
[ "$RC" = 2 ] && errdoc check 2 "cannot read '$T/missing.xml': No such file or directory" &&
    ok "check --json missing.xml: one error document" || bad "check --json missing.xml: rc $RC: $OUT"
run "$VG" audit --json --connect "test:///nonexistent-$$"
[ "$RC" = 2 ] && jq -e '.command == "audit" and .status == "error" and .exit == 2 and (.errors|length) == 1' "$T/out" >/dev/null &&
    [ "$(jq -s length <"$T/out")" = 1 ] &&
    ok "audit --json without libvirtd: one error document" || bad "audit --json no libvirtd: rc $RC: $OUT"
run "$VG" paths --json "$T/missing.xml"
[ "$RC" = 2 ] && errdoc paths 2 "cannot read '$T/missing.xml': No such file or directory" &&
    ok "paths --json missing.xml: one error document" || bad "paths --json missing: rc $RC: $OUT"
run "$VG" paths --json --config "$T/vg.conf" "$T/dom.xml"
[ "$RC" = 0 ] && [ "$(jq -s length <"$T/out")" = 1 ] && ok "paths --json: one document" ||
    bad "paths --json: rc $RC: $OUT"
run "$VG" doctor --json --config /typo.conf
[ "$RC" = 2 ] && errdoc doctor 2 "cannot read the config file '/typo.conf' (--config): No such file or directory" &&
    ok "doctor --json --config /typo.conf: one error document" || bad "doctor --json typo: rc $RC: $OUT"
run "$VG" doctor --json --config "$T/vg.conf" --no-probe
[ "$RC" != 2 ] && jqdoc '.command == "doctor" and (.exit|type) == "number" and (.checks|type) == "array"' &&
    ok "doctor --json: one report" || bad "doctor --json: rc $RC: $OUT"
run "$VG" explain --json --config "$T/vg.conf" "$T/missing.log"
[ "$RC" = 2 ] && errdoc explain 2 "cannot read '$T/missing.log': No such file or directory" &&
    ok "explain --json missing.log: one error document" || bad "explain --json missing: rc $RC: $OUT"
run "$VG" explain --json --config "$T/vg.conf" --connect test:///nonexistent \
    --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu" <<<"$denied"
[ "$RC" != 2 ] && jqdoc '.command == "explain" and (.checks|type) == "array"' &&
    ok "explain --json: one report" || bad "explain --json: rc $RC: $OUT"
# stable types: every "line" a number, "pids" an array of numbers,
# "nono_profile" an object (not JSON inside a string)
for log in seatbelt seatbelt-compact vz-error lxc-nesting lxc-unconfined; do
    run "$VG" explain --json --config "$T/vg.conf" --connect test:///nonexistent \
        --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu" \
        "$top_srcdir/tests/data/explain/$log.log"
    [ "$RC" != 2 ] && jqdoc '[.. | .line? | select(. != null)] | length > 0 and all(type == "number")' &&
        jqdoc '[.checks[] | .pids? | select(. != null)] | all(type == "array" and all(type == "number"))' &&
        jqdoc '[.checks[] | .nono_profile? | select(. != null)] | all(type == "object")' &&
        ok "explain --json $log.log: line numbers, pid arrays, nono objects" ||
        bad "explain --json $log.log: rc $RC: $OUT"
done
run "$VG" explain --json --config "$T/vg.conf" --connect test:///nonexistent \
    --libvirt-config-dir "$T/etc-qemu" --libvirt-run-dir "$T/run-qemu" \
    "$top_srcdir/tests/data/explain/seatbelt.log"
jqdoc '[.checks[] | select(.cause == "seatbelt")] | length == 2 and .[0].pids == [42303, 42310] and
       (.[0].nono_profile.filesystem.allow_file == ["/Users/dev/.lima/default/ha.sock"]) and
       .[1].pids == [42320]' &&
    ok "explain --json: seatbelt pids and the nono profile as JSON values" ||
    bad "explain --json seatbelt.log: $OUT"
run "$VG" check --json --config "$T/vg.conf" --bogus "$T/dom.xml"
[ "$RC" = 2 ] && errdoc check 2 "check: unknown option '--bogus'; 'virtguard help check' lists its options." &&
    ok "check --json --bogus: the usage error as a document" || bad "check --json --bogus: rc $RC: $OUT"
run "$VG" profile --json "$T/dom.xml"
[ "$RC" = 2 ] && errdoc profile 2 "profile does not take '--json'; 'virtguard help profile' lists its options." &&
    ok "profile --json: refused, as a document" || bad "profile --json: rc $RC: $OUT"
run "$VG" frobnicate --json
[ "$RC" = 2 ] && errdoc frobnicate 2 "unknown command 'frobnicate'; 'virtguard help' lists the commands." &&
    ok "an unknown command with --json: a document" || bad "frobnicate --json: rc $RC: $OUT"

# --- 8. help for help and version, -c in the help ------------------------------
for c in help version; do
    run "$VG" help $c
    [ "$RC" = 0 ] && has "$OUT" "Usage: virtguard $c" && [ -z "$ERR" ] &&
        ok "'virtguard help $c' explains $c" || bad "help $c: rc $RC: $OUT $ERR"
done
run "$VG" help check
has "$OUT" "-c, --config FILE" && has "$OUT" "-j, --json" && ok "check's help names -c and -j" ||
    bad "check's help: $OUT"
run "$VG" help
has "$OUT" "-c, --config FILE" && ok "the command list names -c" || bad "help: $OUT"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS"
