#!/bin/bash
# virtguard apply and virtguard status (issue 21), driving the real CLI, the
# real helper and the real apparmor_parser on a fake root (the helper's
# --apparmor-dir seam, as tests/apparmor/helper-profile.sh).  This kernel
# has no AppArmor: apply compiles the profile (-Q) instead of loading it;
# the load itself is the e2e step "config change" (tests/e2e/scenarios.sh).
#  1. apply writes the roots include from the config and compiles the
#     helper's profile; again: idempotent; a new root: the include follows;
#     a broken config: exit 1 with the helper's message; no parser: exit 2;
#  2. the package's units (debian/virtguard.virtguard-apply.{path,service})
#     pass systemd-analyze verify and run exactly 'virtguard apply';
#  3. status lists what virtguard changed (hooks, helper profile and roots,
#     rules files, include lines, complain flags, cache and run files) in
#     text and --json, and after the helper's purge only what the package
#     itself removes.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
VG=$(cd "$top_builddir/tools" && pwd)/virtguard
HELPER=$(cd "$top_builddir/helper" && pwd)/virtguard-helper
PROFILE=$top_builddir/helper/usr.sbin.virtguard-helper
PARSER=${APPARMOR_PARSER:-/sbin/apparmor_parser}
[ -x "$PARSER" ] || { echo "SKIP: apparmor_parser not found"; exit 77; }
[ -d /etc/apparmor.d/abstractions ] || { echo "SKIP: no AppArmor policy in /etc/apparmor.d"; exit 77; }
command -v jq >/dev/null || { echo "ERROR: jq is missing (.ci/deps installs it)"; exit 99; }
T=$(mktemp -d /tmp/vg-apply-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; OUT=$(cat "$T/out"); ERR=$(cat "$T/err"); }
has() { case $1 in *"$2"*) return 0 ;; esac; return 1; }

cp -a /etc/apparmor.d "$T/aa"
cp "$PROFILE" "$T/aa/usr.sbin.virtguard-helper"
mkdir -p "$T/images" "$T/more"
printf 'shared_mounts = [ "%s/images" ]\n' "$T" >"$T/vg.conf"
INC=$T/aa/virtguard/helper-roots
apply() { run "$VG" apply --config "$T/vg.conf" --apparmor-dir "$T/aa" --helper "$HELPER" \
              --run-dir "$T/run" --apparmor-parser "$PARSER" "$@"; }

# --- 1. apply ------------------------------------------------------------------
apply
if [ "$RC" = 0 ] && grep -qF "\"$T/images/**\" r," "$INC" &&
    has "$OUT" "roots: the helper's roots include '$INC' is written from virtguard.conf" &&
    has "$OUT" "profile: the helper's profile '$T/aa/usr.sbin.virtguard-helper' compiles (AppArmor is not enabled in this kernel: nothing to load)" &&
    has "$OUT" "virtguard apply: 2 passed"; then
    ok "apply writes the roots include and compiles the helper's profile"
else
    bad "apply: rc $RC: $OUT $ERR"
fi
apply --json
if [ "$RC" = 0 ] && [ "$(jq -s length "$T/out")" = 1 ] &&
    jq -e '.command == "apply" and .exit == 0 and ([.checks[].status] == ["pass","pass"]) and
           (.checks[0].detail | contains("unchanged"))' "$T/out" >/dev/null; then
    ok "apply again: idempotent (the include unchanged), one JSON document"
else
    bad "apply again: rc $RC: $OUT"
fi
printf 'shared_mounts = [ "%s/images", "%s/more" ]\n' "$T" "$T" >"$T/vg.conf"
apply
[ "$RC" = 0 ] && grep -qF "\"$T/more/**\" r," "$INC" && ok "a root added to the config: apply follows" ||
    bad "apply after a new root: rc $RC: $OUT"
printf 'shared_mountz = [ "/x" ]\n' >"$T/bad.conf"
run "$VG" apply --config "$T/bad.conf" --apparmor-dir "$T/aa" --helper "$HELPER" --run-dir "$T/run"
[ "$RC" = 2 ] && [ "$ERR" = "virtguard: $T/bad.conf:1: unknown key 'shared_mountz'; did you mean 'shared_mounts'?" ] &&
    ok "a broken named config: apply exits 2 before running anything" || bad "apply, broken config: rc $RC: $ERR"
apply --helper /bin/false
if [ "$RC" = 1 ] && has "$OUT" "roots: '/bin/false roots --config $T/vg.conf --apparmor-dir $T/aa --run-dir $T/run' failed (exit status)" &&
    has "$OUT" "fix: fix what it names, then run 'virtguard apply' again." && ! has "$OUT" "profile:"; then
    ok "the helper fails: apply exits 1, names the command, no reload"
else
    bad "apply, helper fails: rc $RC: $OUT"
fi
printf 'shared_mounts = [ "%s/images" ]\n' "$T" >"$T/vg.conf"
apply --apparmor-parser "$T/no-such-parser" --json
if [ "$RC" = 1 ] && jq -e --arg d "cannot run '$T/no-such-parser': No such file or directory" \
    '.exit == 1 and .checks[1].status == "fail" and .checks[1].detail == $d' "$T/out" >/dev/null; then
    ok "no apparmor_parser: exit 1, one document naming it"
else
    bad "apply without a parser: rc $RC: $OUT"
fi
# The profile really is compiled: a broken include fails the second step.
printf 'not a rule\n' >"$T/aa/tunables/zz-broken"
printf '#include <tunables/zz-broken>\n' >>"$T/aa/tunables/global"
apply
[ "$RC" = 1 ] && has "$OUT" "profile: '$PARSER -QK --base $T/aa $T/aa/usr.sbin.virtguard-helper' failed" &&
    ok "a profile that does not compile: exit 1, the parser's message" || bad "apply, broken profile: rc $RC: $OUT"
cp /etc/apparmor.d/tunables/global "$T/aa/tunables/global"

# --- 2. the package's units -----------------------------------------------------
P=$top_srcdir/debian/virtguard.virtguard-apply.path
S=$top_srcdir/debian/virtguard.virtguard-apply.service
if grep -qx 'PathChanged=/etc/virtguard/virtguard.conf' "$P" && grep -qx 'Unit=virtguard-apply.service' "$P" &&
    grep -qx 'ExecStart=/usr/bin/virtguard apply' "$S" && grep -qx 'Type=oneshot' "$S"; then
    ok "the path unit watches virtguard.conf and its service runs exactly 'virtguard apply'"
else
    bad "the units' contents"
fi
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$T/units"
    cp "$P" "$T/units/virtguard-apply.path"
    # the installed binary is not on this host: point at the built one
    sed "s|^ExecStart=/usr/bin/virtguard|ExecStart=$VG|" "$S" >"$T/units/virtguard-apply.service"
    if (cd "$T/units" && timeout 60 systemd-analyze verify --man=no ./virtguard-apply.path \
        ./virtguard-apply.service) >"$T/sd" 2>&1 && [ ! -s "$T/sd" ]; then
        ok "systemd-analyze verify: the units are clean"
    else
        bad "systemd-analyze verify: $(cat "$T/sd")"
    fi
else
    echo "SKIP - systemd-analyze verify (not installed)"
fi

# --- 3. status ------------------------------------------------------------------
UUID=6a2f1c3e-1d2b-4c5d-9e8f-0a1b2c3d4e5f
mkdir -p "$T/hooks/qemu.d" "$T/hooks/daemon.d" "$T/aa/libvirt" "$T/cache/validated"
printf '#!/bin/true\n' >"$T/hooks/qemu.d/virtguard"
printf '#!/bin/true\n' >"$T/hooks/daemon.d/virtguard"
cat >"$T/aa/libvirt/libvirt-$UUID" <<P
#include <tunables/global>

profile libvirt-$UUID flags=(attach_disconnected,complain) {
  # virtguard: complain flag added by virtguard (dev mode)
  #include <abstractions/libvirt-qemu>
  #include if exists <libvirt/libvirt-$UUID.virtguard>
  #include <libvirt/libvirt-$UUID.files>
}
P
printf '  "%s/images/d.qcow2" rwk,\n' "$T" >"$T/aa/libvirt/libvirt-$UUID.virtguard"
touch "$T/cache/validated/abc"
status() { run "$VG" status --hooks-dir "$T/hooks" --apparmor-dir "$T/aa" --cache-dir "$T/cache" \
               --run-dir "$T/run" "$@"; }
status
want=(
    "hook: hook '$T/hooks/qemu.d/virtguard'"
    "hook: hook '$T/hooks/daemon.d/virtguard'"
    "helper-profile: the helper's AppArmor profile '$T/aa/usr.sbin.virtguard-helper'"
    "helper-roots: the helper's roots include '$INC'"
    "include: virtguard's include line in '$T/aa/libvirt/libvirt-$UUID'"
    "complain: the complain flag (dev mode) in '$T/aa/libvirt/libvirt-$UUID'"
    "rules: rules file '$T/aa/libvirt/libvirt-$UUID.virtguard'"
    "cache: file or directory '$T/cache/validated/abc'"
    "run: file or directory '$T/run/helper.lock'"
)
missing=
for w in "${want[@]}"; do has "$OUT" "$w" || missing="$missing [$w]"; done
[ "$RC" = 0 ] && [ -z "$missing" ] && ok "status lists every change" || bad "status: rc $RC, missing$missing: $OUT"
grep -q "^profile libvirt-$UUID flags=(attach_disconnected,complain)" "$T/aa/libvirt/libvirt-$UUID" &&
    [ -f "$T/aa/libvirt/libvirt-$UUID.virtguard" ] && ok "status changes nothing" || bad "status changed files"
status --json
if [ "$RC" = 0 ] && [ "$(jq -s length "$T/out")" = 1 ] &&
    jq -e --arg p "$T/aa/libvirt/libvirt-$UUID.virtguard" \
        '.command == "status" and (.changes|type) == "number" and .changes == (.checks|length) and
         ([.checks[] | select(.topic == "rules") | .path] == [$p]) and
         ([.checks[].status] | unique) == ["info"]' "$T/out" >/dev/null; then
    ok "status --json: one document, a path per change"
else
    bad "status --json: rc $RC: $OUT"
fi
# What the helper's purge removes is what status listed; afterwards only the
# package's own files are left (the package's removal takes those).
"$HELPER" purge --apparmor-dir "$T/aa" --cache-dir "$T/cache" --run-dir "$T/run" >/dev/null 2>&1
status --json
if [ "$RC" = 0 ] && jq -e '[.checks[].topic] | sort == ["helper-profile","helper-roots","hook","hook"]' "$T/out" >/dev/null; then
    ok "after the helper's purge: only the hooks and the helper's profile and roots"
else
    bad "status after purge: $OUT"
fi
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    mkdir -p "$T/cache/x"; chmod 0700 "$T/cache"; chmod 0755 "$T"
    run setpriv --reuid=65534 --regid=65534 --clear-groups "$VG" status --json --hooks-dir "$T/hooks" \
        --apparmor-dir "$T/aa" --cache-dir "$T/cache" --run-dir "$T/run"
    [ "$RC" = 2 ] && jq -e '(.incomplete|length) == 1 and (.incomplete[0] | contains("run '"'"'virtguard status'"'"' as root"))' "$T/out" >/dev/null &&
        ok "status as a user who cannot list a directory: exit 2, says so" || bad "status unreadable: rc $RC: $OUT"
fi
[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "PASS"
