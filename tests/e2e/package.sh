#!/bin/bash
# package.sh -- the Debian package's lifecycle in the e2e guest, run by
# /e2e/init (tests/e2e/guest-init.sh):
#   package.sh install   before the scenarios: record the host state, then
#                        run the Lima example's provisioning script
#                        (docs/examples/lima/provision.sh, unchanged, as
#                        Lima runs a `mode: system` script: as root, with
#                        PARAM_VIRTGUARD_DEB naming the package run-e2e.sh
#                        built with `make deb` on the host -- or, for Debian
#                        13, with this same script's build-from-source path
#                        in a build chroot), which installs
#                        it with apt-get; then run it twice more (Lima runs
#                        it at every boot).  With e2e_deb_via=https on the
#                        kernel command line (the virtiofs boot) the package
#                        comes from an https URL served in the guest
#                        (https-serve.py, a certificate of the run's test CA,
#                        trusted through CURL_CA_BUNDLE), after three URLs
#                        that must be refused with nothing installed: plain
#                        http, an https -> http redirect, an untrusted
#                        certificate; then `virtguard status` (text and
#                        --json) must list exactly what the install put in
#                        place;
#   package.sh purge     after them: stop every domain, record `virtguard
#                        status --json`, `apt-get purge`, and check
#                        /etc/apparmor.d, the loaded AppArmor profiles and
#                        /etc/libvirt/hooks are as before installation and
#                        every path status listed is gone.
# Prints "E2E PASS|FAIL GUEST/package pkg-install|pkg-purge NAME: evidence"
# lines: pkg-install apt-get-install, lima-provision-9p|virtiofs,
# lima-provision-https, status-lists-install; pkg-purge apt-get-purge,
# status-listed-purged (run-e2e.sh's expected_provision, expected_package).
set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
STATE=/run/e2e-pkg
AAPROFILES=/sys/kernel/security/apparmor/profiles
mkdir -p "$STATE"

ev() { printf '%s' "$*" | tr '\n\r\t' '   ' | tr -s ' ' | cut -c1-600; }
GUEST=deb$(. /etc/os-release && echo "${VERSION_ID%%.*}")
pass() { echo "E2E PASS $GUEST/package $1 $2: $(ev "$3")"; }
fail() { echo "E2E FAIL $GUEST/package $1 $2: $(ev "$3")"; }

# Files (and symlinks) under DIR with a hash of each, one per line.
tree_state() {
    find "$1" \( -type f -o -type l \) -print0 2>/dev/null | sort -z |
        while IFS= read -r -d '' f; do
            if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(sha256sum <"$f" | cut -c1-16)"; fi
        done
}
loaded_profiles() { sed 's/ (.*//' "$AAPROFILES" | sort; }

# The https package server: the .deb over TLS on localhost:8443 (and over
# plain http on 8080, and /to-http/ redirects there), requests in
# $STATE/https.log.
HTTPS_PID=""
https_start() { # DEB
    mkdir -p "$STATE/dist"
    cp "$1" "$STATE/dist/"
    : >"$STATE/https.log"
    python3 /e2e/https-serve.py "$STATE/dist" /e2e/tls/server.pem /e2e/tls/server.key 8443 8080 \
        "$STATE/https.log" >"$STATE/https.out" 2>&1 &
    HTTPS_PID=$!
    for _ in $(seq 300); do
        grep -q '^ready ' "$STATE/https.log" && return 0
        kill -0 "$HTTPS_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# provision: the Lima provisioning script, bounded in time (a hung
# download becomes a failed run, not a hung boot)
provision() { timeout --kill-after=10 600 /e2e/provision.sh; }
# refused_url NAME URL WHY [ENV...]: provision.sh given URL must fail, for
# the reason its output shows with WHY (an extended regex), with nothing
# installed and no virtguard.conf written; appends to $why (a failure) or
# to $refusals (the evidence: the matching text).  A URL refused for its
# scheme is a wrong parameter: refused before the script looks at anything.
refused_url() {
    local name=$1 url=$2 want=$3 o rc=0
    shift 3
    o=$(env "$@" PARAM_VIRTGUARD_DEB="$url" timeout --kill-after=10 600 /e2e/provision.sh 2>&1) || rc=$?
    echo "$o" | sed "s/^/e2e-pkg-$name: /"
    if [ "$rc" = 0 ]; then
        why="$why $name: provision.sh exited 0;"
    elif ! grep -qE -- "$want" <<<"$o"; then
        why="$why $name: refused (exit $rc) but not with '$want': $(ev "$o");"
    elif dpkg-query -W virtguard >/dev/null 2>&1 || [ -e /etc/virtguard ]; then
        why="$why $name: refused (exit $rc) but virtguard or /etc/virtguard is there;"
    elif [ "$name" = http ] && [ "$(grep -c '^virtguard-provision: ' <<<"$o")" != 1 ]; then
        why="$why $name: refused only after other steps: $(ev "$o");"
    else
        refusals="$refusals $name (exit $rc: $(grep -oE -- "$want" <<<"$o" | head -n1));"
    fi
}
# The refusals, then the URL the install takes ($src).
https_check() { # DEB
    local deb=$1 name why="" refusals="" n
    name=$(basename "$deb")
    if ! https_start "$deb"; then
        fail pkg-install lima-provision-https "the https package server did not start: $(cat "$STATE/https.out")"
        return 1
    fi
    refused_url http "http://localhost:8080/$name" "only an https:// URL is accepted" \
        CURL_CA_BUNDLE=/e2e/tls/ca.pem
    # curl 7.88: 'Protocol "http" not supported or disabled in libcurl';
    # curl 8.14: 'Protocol "http" disabled (in redirect)'
    refused_url redirect "https://localhost:8443/to-http/$name" 'Protocol "http" (not supported|disabled)' \
        CURL_CA_BUNDLE=/e2e/tls/ca.pem
    # a CA store that does not hold the CA that signed the server's certificate
    refused_url untrusted "https://localhost:8443/$name" "SSL certificate problem: unable to get local issuer certificate" \
        CURL_CA_BUNDLE=/e2e/tls/other-ca.pem
    n=$(grep -c '^http ' "$STATE/https.log")
    [ "$n" = 0 ] || why="$why the plain http server was asked $n time(s): $(grep '^http ' "$STATE/https.log" | tr '\n' ' ');"
    grep -q "^https /to-http/$name 302" "$STATE/https.log" || why="$why the redirect was never asked for;"
    # curl's alert ends the untrusted handshake: the server logs it
    grep -qi '^https error .*alert unknown ca' "$STATE/https.log" ||
        why="$why the server saw no handshake refused for an unknown CA: $(tr '\n' ' ' <"$STATE/https.log");"
    if [ -z "$why" ]; then
        HTTPS_OK="plain http (before any other step), an https -> http redirect (302 answered; the http server never asked) and an untrusted certificate (the server saw curl's 'unknown ca' alert) each refused with nothing installed:$refusals"
    else
        fail pkg-install lima-provision-https "$why"
        return 1
    fi
}

do_install() {
    local deb out src via
    deb=$(ls /e2e/virtguard_*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || { fail pkg-install apt-get-install "no virtguard_*.deb in /e2e"; return 1; }
    tree_state /etc/apparmor.d >"$STATE/aa.before"
    tree_state /etc/libvirt/hooks >"$STATE/hooks.before"
    loaded_profiles >"$STATE/loaded.before"
    src=$deb
    via=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^e2e_deb_via=//p')
    HTTPS_OK=""
    if [ "$via" = https ] && https_check "$deb"; then
        src=https://localhost:8443/$(basename "$deb")
        export CURL_CA_BUNDLE=/e2e/tls/ca.pem
    fi
    out=$(PARAM_VIRTGUARD_DEB=$src provision 2>&1)
    local rc=$? downloads
    downloads=$(grep -c "^https /$(basename "$deb") 200" "$STATE/https.log" 2>/dev/null)
    echo "$out" | sed 's/^/e2e-pkg: /'
    local why=""
    echo "$out" | grep -q "^virtguard-provision: installing virtguard .* from '$src'" ||
        why="provision.sh did not install the package;"
    # apt-get's own outcome, whatever provision.sh's exit status (lima-provision checks that)
    [ "$(dpkg-query -W -f='${Status}' virtguard 2>/dev/null)" = "install ok installed" ] ||
        why="$why dpkg does not list virtguard as installed;"
    [ -f /etc/libvirt/hooks/qemu.d/virtguard ] && [ ! -L /etc/libvirt/hooks/qemu.d/virtguard ] ||
        why="$why no real file /etc/libvirt/hooks/qemu.d/virtguard;"
    [ -x /etc/libvirt/hooks/daemon.d/virtguard ] || why="$why no daemon hook;"
    loaded_profiles | grep -qx virtguard-helper || why="$why the helper's profile is not loaded;"
    echo "$out" | grep -q 'virtguard: libvirtd is not running; it now runs virtguard.s hooks when it starts' ||
        why="$why the postinst did not say libvirtd is not running;"
    if [ -z "$why" ]; then
        pass pkg-install apt-get-install "$(basename "$deb") installed: hooks in qemu.d ($(stat -c %s /etc/libvirt/hooks/qemu.d/virtguard) bytes) and daemon.d, profile virtguard-helper loaded"
    else
        fail pkg-install apt-get-install "$why"
    fi
    lima_provision "$src" "$rc" "$out"
    if [ -n "$HTTPS_OK" ]; then
        if [ -z "$why" ] && [ "$rc" = 0 ] && [ "$downloads" = 1 ]; then
            pass pkg-install lima-provision-https "installed from $src (one download over TLS, the certificate checked against the run's test CA; provision.sh exited 0): $HTTPS_OK"
        else
            fail pkg-install lima-provision-https "the install from $src: provision.sh exited $rc, the server saw ${downloads:-no} download(s) of it; ${why}"
        fi
    fi
    [ -z "$HTTPS_PID" ] || kill "$HTTPS_PID" 2>/dev/null
    status_after_install
}

# The Lima provisioning script's own result: first run (exit RC, output
# OUT) wrote virtguard.conf for the images share's type and doctor passed;
# a second run changes nothing; a third, after an admin's edit, keeps it.
lima_provision() {
    local deb=$1 rc=$2 out=$3 conf=/etc/virtguard/virtguard.conf want=9p why="" out2 out3 rc2=0 rc3=0
    # the images mount's type, as guest-init.sh mounted it for this boot
    want=$(awk '$5 == "/var/lib/libvirt/images" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
    want=${want:-none}
    local name=lima-provision-$want
    [ "$rc" = 0 ] || why="provision.sh exited $rc: $(echo "$out" | grep '^virtguard-provision: \(NOT READY\|PROBLEM\)' | head -n 3);"
    echo "$out" | grep -qF "virtguard-provision: wrote '$conf' for '/var/lib/libvirt/images' on $want (it was shipped)." ||
        why="$why no 'wrote $conf for ... on $want' line;"
    grep -qx "shared_fs_types = \[ \"$want\" \]" "$conf" || why="$why $conf does not list $want;"
    echo "$out" | grep -qF "virtguard-provision: the helper's AppArmor profile is loaded" ||
        why="$why the helper's profile was not reloaded;"
    echo "$out" | grep -qF 'virtguard-provision: libvirtd is not running (no systemd here)' ||
        why="$why no word about libvirtd;"
    local summary
    summary=$(echo "$out" | grep '^virtguard doctor: ' | tail -n 1)
    [ -n "$summary" ] || why="$why no doctor summary;"
    echo "$out" | grep -q '^virtguard-provision: ready: ' || why="$why not ready;"
    cp "$conf" "$STATE/conf.provisioned"
    out2=$(PARAM_VIRTGUARD_DEB=$deb provision 2>&1) || rc2=$?
    echo "$out2" | sed 's/^/e2e-pkg-2: /'
    [ "$rc2" = 0 ] || why="$why second run exited $rc2;"
    echo "$out2" | grep -q "^virtguard-provision: virtguard .* is installed; '$deb' is .*: nothing to do." ||
        why="$why second run did not leave the package alone;"
    echo "$out2" | grep -qF "virtguard-provision: '$conf' is up to date" && cmp -s "$conf" "$STATE/conf.provisioned" ||
        why="$why second run changed $conf;"
    echo 'probe_timeout_ms = 4000' >>"$conf"
    cp "$conf" "$STATE/conf.edited"
    out3=$(PARAM_VIRTGUARD_DEB=$deb provision 2>&1) || rc3=$?
    echo "$out3" | sed 's/^/e2e-pkg-3: /'
    [ "$rc3" = 0 ] || why="$why third run exited $rc3;"
    echo "$out3" | grep -qF "virtguard-provision: '$conf' was edited by hand: left as it is" &&
        cmp -s "$conf" "$STATE/conf.edited" || why="$why third run did not keep the admin's edit;"
    cp "$STATE/conf.provisioned" "$conf"
    if [ -z "$why" ]; then
        pass pkg-install "$name" "docs/examples/lima/provision.sh as Lima runs it: installed $(basename "$deb"), wrote $conf for the $want share (shared_fs_types = [ \"$want\" ]), helper profile reloaded, $summary; run again: nothing changed; after an admin's edit: left alone"
    else
        fail pkg-install "$name" "$why"
    fi
}

# `virtguard status --json` in FILE, read with python3 (the guest has no
# jq): one line per change, "TOPIC<TAB>PATH<TAB>TITLE"; exit 1 with the
# reason on stderr when FILE is not exactly one complete status report.
status_parse() { # FILE
    python3 - "$1" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    d = json.loads(text)  # one document: a second one is "Extra data"
except (OSError, ValueError) as e:
    sys.exit(f"not one JSON document: {e}")
checks = d.get("checks") if isinstance(d, dict) else None
if (not isinstance(checks, list) or d.get("command") != "status" or d.get("status") != "pass"
        or type(d.get("exit")) is not int or d["exit"] != 0
        or type(d.get("changes")) is not int or d["changes"] != len(checks)):
    sys.exit("not a complete status report (exit 0, changes = the number of checks): " + text[:300])
for c in checks:
    if (c.get("status") != "info" or not all(isinstance(c.get(k), str) and c[k] for k in ("topic", "path", "title"))
            or "\t" in c["path"] + c["title"] or "\n" in c["path"] + c["title"]):
        sys.exit(f"a change that is not an info with a topic, a title and a path: {c}")
    print(f'{c["topic"]}\t{c["path"]}\t{c["title"]}')
PY
}
# The paths of TOPIC (an extended regex) in a status_parse output, sorted.
status_paths() { awk -F'\t' -v t="^($1)\$" '$1 ~ t { print $2 }' "$2" | sort; }
# Paths a tree_state listing AFTER has that BEFORE has not, or with another
# hash or link target: what changed there.
tree_changed() { comm -13 "$1" "$2" | sed -E 's/ (-> .*|[0-9a-f]{16})$//' | sort -u; }
# "2 hook, 1 helper-profile, ...": the changes of a status_parse output by topic.
status_topics() { cut -f1 "$1" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'; }

# `virtguard status` (text and --json) right after the install lists exactly
# what it put in place: the two hooks (all that is new in /etc/libvirt/hooks),
# the helper's profile and roots include (what is new in /etc/apparmor.d, but
# for dh_apparmor's empty local/ include), every file of the cache and run
# directories; no domain has started, so no rules file, include line or
# complain flag.  Every path it names exists; the profiles the install loaded
# are the helper's, declared in the profile file status names.
status_after_install() {
    local why="" text rc jrc topic path title n got want f
    local out=$STATE/status.install
    tree_state /etc/apparmor.d >"$STATE/aa.installed"
    tree_state /etc/libvirt/hooks >"$STATE/hooks.installed"
    loaded_profiles >"$STATE/loaded.installed"
    text=$(virtguard status 2>&1); rc=$?
    echo "$text" | sed 's/^/e2e-pkg-status: /'
    virtguard status --json >"$out.json" 2>"$out.err"; jrc=$?
    [ "$rc" = 0 ] || why="virtguard status exited $rc;"
    [ "$jrc" = 0 ] || why="$why virtguard status --json exited $jrc: $(cat "$out.err");"
    if ! status_parse "$out.json" >"$out" 2>"$out.why"; then
        fail pkg-install status-lists-install "$why status --json: $(cat "$out.why")"
        return
    fi
    n=$(grep -c ': INFO$' <<<"$text")
    [ "$n" = "$(wc -l <"$out")" ] || why="$why the text lists $n change(s), the JSON $(wc -l <"$out");"
    while IFS=$'\t' read -r topic path title; do
        grep -qF "$topic: $title" <<<"$text" || why="$why the text lacks '$topic: $title';"
        [ -e "$path" ] || [ -L "$path" ] || why="$why '$path' ($topic) does not exist;"
    done <"$out"
    # topic by topic against what the install changed
    got=$(status_paths hook "$out" | tr '\n' ' ')
    want=$(tree_changed "$STATE/hooks.before" "$STATE/hooks.installed" | tr '\n' ' ')
    [ "$got" = "/etc/libvirt/hooks/daemon.d/virtguard /etc/libvirt/hooks/qemu.d/virtguard " ] && [ "$got" = "$want" ] ||
        why="$why hooks listed: '$got'; changed in /etc/libvirt/hooks: '$want';"
    f=/etc/apparmor.d/local/usr.sbin.virtguard-helper   # dh_apparmor's, empty
    [ ! -s "$f" ] || why="$why '$f' is not empty;"
    got=$(status_paths 'helper-profile|helper-roots' "$out" | tr '\n' ' ')
    want=$(tree_changed "$STATE/aa.before" "$STATE/aa.installed" | grep -vxF "$f" | tr '\n' ' ')
    [ "$got" = "/etc/apparmor.d/usr.sbin.virtguard-helper /etc/apparmor.d/virtguard/helper-roots " ] &&
        [ "$got" = "$want" ] || why="$why helper's files listed: '$got'; changed in /etc/apparmor.d: '$want';"
    for f in cache:/var/cache/virtguard run:/run/virtguard; do
        got=$(status_paths "${f%%:*}" "$out" | tr '\n' ' ')
        want=$(find "${f#*:}" 2>/dev/null | sort | tr '\n' ' ')
        [ "$got" = "$want" ] || why="$why ${f%%:*} listed: '$got'; in ${f#*:}: '$want';"
    done
    got=$(cut -f1 "$out" | grep -vxE 'hook|helper-profile|helper-roots|cache|run' | sort -u | tr '\n' ' ')
    [ -z "$got" ] || why="$why listed before any domain started: $got;"
    want=$(comm -13 "$STATE/loaded.before" "$STATE/loaded.installed" | tr '\n' ' ')
    got=$(tr ' ' '\n' <<<"$want" | sed '/^$/d' | grep -vE '^virtguard-helper(//[^ ]+)?$' | tr '\n' ' ')
    [ -n "$want" ] && [ -z "$got" ] || why="$why newly loaded profiles: '$want';"
    grep -qE '^profile virtguard-helper ' /etc/apparmor.d/usr.sbin.virtguard-helper ||
        why="$why the listed helper profile does not declare 'profile virtguard-helper';"
    if [ -z "$why" ]; then
        pass pkg-install status-lists-install "virtguard status (text and --json, one report read with python3) lists $(wc -l <"$out") change(s): $(status_topics "$out"); each path exists; the hooks are all that changed in /etc/libvirt/hooks, the helper's profile and roots all in /etc/apparmor.d but dh_apparmor's empty local/ include, the cache and run entries all of /var/cache/virtguard and /run/virtguard; the profiles the install loaded (${want% }) are declared in the listed profile"
    else
        fail pkg-install status-lists-install "$why"
    fi
}

# Before `apt-get purge`: what `virtguard status --json` lists (after the
# scenarios: also libvirt's per-domain profiles that keep virtguard's include
# line or complain flag, their rules files, the cache's entries).  It must
# hold the hooks and the helper's files the install listed.
status_before_purge() {
    local out=$STATE/status.purge why="" p
    virtguard status --json >"$out.json" 2>"$out.err" || why="virtguard status --json exited $?: $(cat "$out.err");"
    if ! status_parse "$out.json" >"$out" 2>"$out.why"; then
        STATUS_PURGE_WHY="$why status --json: $(cat "$out.why")"
        return
    fi
    for p in $(status_paths 'hook|helper-profile|helper-roots' "$STATE/status.install" 2>/dev/null); do
        status_paths 'hook|helper-profile|helper-roots' "$out" | grep -qxF "$p" || why="$why '$p' (listed after the install) is not listed before purge;"
    done
    [ -s "$STATE/status.install" ] || why="$why no status was recorded after the install;"
    STATUS_PURGE_WHY=$why
}
# After it: the virtguard binary is gone, so the recorded list is the
# evidence: every file and directory it named is gone; libvirt's profiles
# it named (libvirt keeps them) are gone or keep neither the include line nor
# the complain flag.
status_after_purge() {
    local out=$STATE/status.purge why=$STATUS_PURGE_WHY topic path title kept=0
    if [ ! -s "$out" ]; then
        fail pkg-purge status-listed-purged "nothing recorded before purge:$why"
        return
    fi
    hash -r                             # bash remembers where virtguard was
    ! command -v virtguard >/dev/null || why="$why 'virtguard' is still on PATH ($(command -v virtguard));"
    while IFS=$'\t' read -r topic path title; do
        case $topic in
        include | complain)
            if [ -e "$path" ]; then
                kept=$((kept + 1))
                if [ "$topic" = include ] && grep -q virtguard "$path"; then
                    why="$why '$path' still names virtguard;"
                elif [ "$topic" = complain ] && grep -qE '^ *profile [^ ]+ .*flags=\([^)]*complain' "$path"; then
                    why="$why '$path' is still in complain mode;"
                fi
            fi ;;
        *) [ ! -e "$path" ] && [ ! -L "$path" ] || why="$why '$path' ($topic) is still there;" ;;
        esac
    done <"$out"
    if [ -z "$why" ]; then
        pass pkg-purge status-listed-purged "virtguard status --json before purge listed $(wc -l <"$out") change(s): $(status_topics "$out"); after apt-get purge the binary is gone and so is every file and directory listed; the $kept include line(s) and complain flag(s) listed are gone from libvirt's profile files (which libvirt keeps)"
    else
        fail pkg-purge status-listed-purged "$why"
    fi
}

libvirtd_up() { timeout 10 virsh -q version >/dev/null 2>&1; }
gc_lines() { tr -d '\000' </run/syslog.txt 2>/dev/null | grep -o 'virtguard-helper[^<]*gc: [^<]*' | wc -l; }
# libvirt's per-domain profiles, with their child profiles (libvirt 11's
# abstraction has one for passt: "libvirt-UUID//passt").
LIBVIRT_DOMAIN_PROFILE_RE='^libvirt-[0-9a-f-]{36}(//[^ ]+)?$'
libvirt_loaded() { loaded_profiles | grep -E "$LIBVIRT_DOMAIN_PROFILE_RE"; }

do_purge() {
    local d out rc why="" gc0
    # libvirtd running, so that the removal has to make it forget the hooks;
    # started here, it also runs the daemon hook's gc under AppArmor.
    if ! libvirtd_up; then
        gc0=$(gc_lines)
        libvirtd -d
        for _ in $(seq 120); do libvirtd_up && break; sleep 0.5; done
        libvirtd_up || why="libvirtd did not start;"
        for _ in $(seq 20); do [ "$(gc_lines)" -gt "$gc0" ] && break; sleep 0.5; done
        [ "$(gc_lines)" -gt "$gc0" ] || why="$why no 'gc:' syslog line from the daemon hook at libvirtd's start;"
    fi
    for d in $(timeout 20 virsh list --name 2>/dev/null); do
        timeout 30 virsh destroy "$d" >/dev/null 2>&1
    done
    # libvirt's own per-domain profiles still loaded now (e.g. left by a failed
    # start): purge must neither load nor unload any of them.
    libvirt_loaded >"$STATE/libvirt-loaded.before-purge"
    status_before_purge
    out=$(apt-get purge -y virtguard 2>&1); rc=$?
    echo "$out" | sed 's/^/e2e-pkg: /'
    [ "$rc" = 0 ] || why="$why apt-get purge exited $rc;"
    echo "$out" | grep -q 'virtguard: sent SIGHUP to libvirtd (pid [0-9]*): it no longer runs virtguard.s hooks' ||
        why="$why the prerm did not reload libvirtd;"
    dpkg -s virtguard >/dev/null 2>&1 && why="$why dpkg still lists virtguard;"
    tree_state /etc/apparmor.d >"$STATE/aa.after"
    tree_state /etc/libvirt/hooks >"$STATE/hooks.after"
    loaded_profiles >"$STATE/loaded.after"
    libvirt_loaded >"$STATE/libvirt-loaded.after"
    # libvirt's own per-domain profile files stay, as libvirt leaves them at
    # stop; they must be exactly libvirt's (no include, no complain flag).
    local new changed
    changed=$(comm -23 "$STATE/aa.before" "$STATE/aa.after" | tr '\n' ' ')
    new=$(comm -13 "$STATE/aa.before" "$STATE/aa.after" |
        grep -Ev '^/etc/apparmor.d/libvirt/libvirt-[0-9a-f-]{36}(\.files)? ' | tr '\n' ' ')
    [ -z "$changed" ] || why="$why changed or removed in /etc/apparmor.d: $changed;"
    [ -z "$new" ] || why="$why new in /etc/apparmor.d: $new;"
    if grep -rlE 'virtguard|complain' /etc/apparmor.d/libvirt/ >/dev/null 2>&1; then
        why="$why libvirt's profile files still name virtguard or complain: $(grep -rlE 'virtguard|complain' /etc/apparmor.d/libvirt/ | tr '\n' ' ');"
    fi
    cmp -s "$STATE/hooks.before" "$STATE/hooks.after" ||
        why="$why /etc/libvirt/hooks differs: $(diff "$STATE/hooks.before" "$STATE/hooks.after" | grep '^[<>]' | tr '\n' ' ');"
    # Loaded profiles: as before installation, apart from libvirt's own
    # per-domain ones, which must be exactly those loaded just before purge.
    grep -Ev "$LIBVIRT_DOMAIN_PROFILE_RE" "$STATE/loaded.after" >"$STATE/loaded.after.nolibvirt"
    grep -Ev "$LIBVIRT_DOMAIN_PROFILE_RE" "$STATE/loaded.before" >"$STATE/loaded.before.nolibvirt"
    cmp -s "$STATE/loaded.before.nolibvirt" "$STATE/loaded.after.nolibvirt" ||
        why="$why loaded profiles differ: $(diff "$STATE/loaded.before.nolibvirt" "$STATE/loaded.after.nolibvirt" | grep '^[<>]' | tr '\n' ' ');"
    cmp -s "$STATE/libvirt-loaded.before-purge" "$STATE/libvirt-loaded.after" ||
        why="$why purge changed which libvirt domain profiles are loaded;"
    for d in /etc/virtguard /var/cache/virtguard /run/virtguard /usr/lib/virtguard; do
        [ ! -e "$d" ] || why="$why '$d' is still there;"
    done
    ls /var/cache/apparmor/*/*virtguard* >/dev/null 2>&1 && why="$why AppArmor's cache keeps the helper's profile;"
    if [ -z "$why" ]; then
        pass pkg-purge apt-get-purge "gc ran from the daemon hook at libvirtd's start; purge reloaded libvirtd; /etc/apparmor.d ($(wc -l <"$STATE/aa.before") files before; libvirt's own libvirt-UUID files left: $(comm -13 "$STATE/aa.before" "$STATE/aa.after" | wc -l), none naming virtguard or complain) and /etc/libvirt/hooks as before installation; loaded profiles as before ($(wc -l <"$STATE/loaded.before.nolibvirt")) plus libvirt's $(wc -l <"$STATE/libvirt-loaded.after") domain profile(s) loaded before purge; no virtguard dirs left"
    else
        fail pkg-purge apt-get-purge "$why"
    fi
    status_after_purge
}

case "${1:-}" in
install) do_install ;;
purge) do_purge ;;
*) echo "usage: package.sh install|purge" >&2; exit 2 ;;
esac
