#!/bin/bash
# Scenario 9: the lifecycle pieces with the real libvirtd.
#  - gc runs by itself: the daemon hook (daemon.d/virtguard, built from
#    hooks/virtguard-daemon.in) runs `virtguard-helper gc` when libvirtd
#    reloads (SIGHUP) and when it starts; stale rules go, rules of known
#    domains and young rules stay.
#  - `virtguard-helper purge` (package removal) after real starts in enforce
#    and dev mode: libvirt's profile file is exactly libvirt's again (no
#    include, no complain flag), rules, cache and run dirs are gone.
# As in scenario 7, `apparmor = "on"` is the one seam (no AppArmor LSM here).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"

: "${sbindir:?sbindir not set (make check sets it)}"
: "${localstatedir:?}" "${apparmordir:?}"
HELPER_BIN=$top_builddir/helper/virtguard-helper
DAEMON_HOOK=$top_builddir/hooks/virtguard-daemon
[ -x "$HELPER_BIN" ] || vg_skip "helper not built"
[ -x "$DAEMON_HOOK" ] || vg_skip "daemon hook not built"
command -v apparmor_parser >/dev/null || vg_skip "apparmor_parser not installed"

VG_OVL=/mnt
mount -t tmpfs vg-ovl "$VG_OVL"
vg_overlay() {
    local dir=$1 base=$VG_OVL/ovl$(echo "$1" | tr / _)
    while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
    if ! grep -q " $dir overlay " /proc/self/mountinfo; then
        mkdir -p "$base/u" "$base/w"
        mount -t overlay overlay -o "lowerdir=$dir,upperdir=$base/u,workdir=$base/w" "$dir"
    fi
    mkdir -p "$1"
}
vg_overlay "$sbindir"
vg_overlay "$apparmordir"
vg_overlay "$localstatedir/cache"
# gc reads the domains under the helper's compiled-in $sysconfdir/libvirt/qemu:
# for a build with another sysconfdir (distcheck), show it libvirtd's.  The
# mount point is made inside the overlay over $apparmordir's parent (a new
# overlay there would stack too deep), so nothing is left on the host.
if [ "$sysconfdir" != /etc ]; then
    [ "$apparmordir" = "$sysconfdir/apparmor.d" ] ||
        vg_skip "sysconfdir '$sysconfdir' is not /etc and apparmordir '$apparmordir' is not under it"
    mkdir -p "$sysconfdir/libvirt"
fi
vg_setup
[ "$sysconfdir" = /etc ] || mount --bind /etc/libvirt "$sysconfdir/libvirt"
install -m 0755 "$HELPER_BIN" "$sbindir/virtguard-helper"
if [ "$apparmordir" != /etc/apparmor.d ]; then
    mkdir -p "$apparmordir" && cp -a /etc/apparmor.d/. "$apparmordir/"
fi
vg_conf_set "$VG_CONF" apparmor '"on"'
AA=$apparmordir/libvirt
mkdir -p "$AA"

vg_mount_shared_tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"
vg_define vg-life "$VG_SHARED"
uuid=$(vg_virsh domuuid vg-life | tr -d '[:space:]')
stale() {   # stale UUID: rules of a domain libvirt does not know, 1 hour old
    echo '# stale' > "$AA/libvirt-$1.virtguard"
    touch -d '-1 hour' "$AA/libvirt-$1.virtguard"
}
gc_lines() { vg_syslog_lines | grep -c 'virtguard-helper.*gc: ' || true; }
libvirtd_pid() { vg_pidfile_pid /run/libvirt/libvirtd.pid; }

# --- gc from the daemon hook, on reload ------------------------------------
S1=00000000-0000-4000-8000-0000000000a1
S2=00000000-0000-4000-8000-0000000000a2
YOUNG=00000000-0000-4000-8000-0000000000a3
stale "$S1"
echo '# young' > "$AA/libvirt-$YOUNG.virtguard"          # a start may be in progress
echo '# known' > "$AA/libvirt-$uuid.virtguard"
touch -d '-1 hour' "$AA/libvirt-$uuid.virtguard"         # old, but vg-life is defined
mkdir -p /etc/libvirt/hooks/daemon.d
install -m 0755 "$DAEMON_HOOK" /etc/libvirt/hooks/daemon.d/virtguard
before=$(gc_lines)
kill -HUP "$(libvirtd_pid)"
vg_wait_until 10 "gc after SIGHUP" test ! -e "$AA/libvirt-$S1.virtguard" ||
    vg_fail "the daemon hook did not remove stale rules on reload (SIGHUP)"
[ -e "$AA/libvirt-$YOUNG.virtguard" ] || vg_fail "gc removed rules younger than its grace period"
[ -e "$AA/libvirt-$uuid.virtguard" ] || vg_fail "gc removed the rules of a defined domain"
vg_wait_until 15 "gc's syslog line" test "$(gc_lines)" -gt "$before" ||
    vg_fail "no syslog line from the helper's gc after SIGHUP"
grep -q 'Calling hook /etc/libvirt/hooks/daemon.d/virtguard id=- op=reload subop=begin extra=SIGHUP' /var/log/libvirt/libvirtd.log ||
    vg_fail "libvirtd's log does not show the daemon hook run for reload"
vg_wait_until 10 "libvirtd answering after SIGHUP" vg_virsh_quiet list >/dev/null ||
    vg_fail "libvirtd does not answer after SIGHUP"

# --- gc from the daemon hook, on start ---------------------------------------
stale "$S2"
vg_kill_pid "$(libvirtd_pid)" libvirtd
[ -e "$AA/libvirt-$S2.virtguard" ] || vg_fail "stale rules went before libvirtd started"
env -i PATH="$VG_DAEMON_PATH" HOME=/root LC_ALL=C \
    "$(command -v "$LIBVIRTD")" -d -p /run/libvirt/libvirtd.pid
vg_wait_until 30 "libvirtd to answer" vg_virsh_quiet list || vg_fail "libvirtd did not restart"
[ ! -e "$AA/libvirt-$S2.virtguard" ] || vg_fail "the daemon hook did not remove stale rules at start"
grep -q 'Calling hook /etc/libvirt/hooks/daemon.d/virtguard id=- op=start subop=- extra=start' /var/log/libvirt/libvirtd.log ||
    vg_fail "libvirtd's log does not show the daemon hook run at start"
rm -f "$AA/libvirt-$uuid.virtguard" "$AA/libvirt-$YOUNG.virtguard"

# --- purge after real starts -------------------------------------------------
# libvirt's own profile file for the domain, as virt-aa-helper would create it
# (libvirt without AppArmor here creates none): the template with its name.
vg_expect_start_ok vg-life
profile=$AA/libvirt-$uuid
[ -f "$profile" ] || vg_fail "no profile file after the start"
grep -q "^  #include if exists <libvirt/libvirt-$uuid.virtguard>" "$profile" ||
    vg_fail "the helper did not add its include"
out=$(vg_virsh destroy vg-life) || vg_fail "virsh destroy failed: $out"
vg_conf_set "$VG_CONF" mode '"dev"'
vg_expect_start_ok vg-life                                 # running, complain flag set
grep -q "flags=(attach_disconnected, complain)" "$profile" || vg_fail "dev mode set no complain flag"
[ -f "$AA/libvirt-$uuid.virtguard" ] || vg_fail "no rules for the running domain"
sed "s/LIBVIRT_TEMPLATE/libvirt-$uuid/; s|^}$|  #include <libvirt/libvirt-$uuid.files>\n\n}|" \
    "$AA/TEMPLATE.qemu" > "$VG_SCRATCH/libvirt-made"
cp -a "$AA" "$VG_SCRATCH/aa-before"
touch "$AA/libvirt-$uuid.vgtmp.XXXX"                       # an interrupted write
[ -d "$localstatedir/cache/virtguard" ] || vg_fail "no cache dir to purge"
out=$("$sbindir/virtguard-helper" purge 2>&1) || vg_fail "purge failed: $out"
vg_log "purge said:"; printf '%s\n' "$out" | sed 's/^/  | /'
cmp -s "$profile" "$VG_SCRATCH/libvirt-made" ||
    vg_fail "purge did not restore libvirt's profile: $(diff "$VG_SCRATCH/libvirt-made" "$profile")"
ls "$AA" | grep -E '\.virtguard$|\.vgtmp\.' && vg_fail "purge left virtguard files"
# nothing else in the directory changed
for f in "$VG_SCRATCH/aa-before"/*; do
    n=$(basename "$f")
    case $n in libvirt-"$uuid"|*.virtguard) continue;; esac
    cmp -s "$f" "$AA/$n" || vg_fail "purge changed '$n'"
done
[ ! -e "$localstatedir/cache/virtguard" ] || vg_fail "purge left the cache dir"
[ ! -e /run/virtguard ] || vg_fail "purge left the run dir"
grep -q "running domains keep their rules until libvirt next loads them" <<<"$out" ||
    vg_fail "purge did not say what happens to running domains"
vg_expect_state vg-life running
out=$("$sbindir/virtguard-helper" purge 2>&1) || vg_fail "a second purge failed: $out"
[ -z "$out" ] || vg_fail "a second purge found something to do: $out"
vg_log "PASS"
