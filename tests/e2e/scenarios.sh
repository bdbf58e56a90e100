#!/bin/bash
# scenarios.sh -- virtguard's end-to-end scenarios, run inside the e2e guest
# by /e2e/init (tests/e2e/guest-init.sh) with a real libvirtd and AppArmor,
# once per share cell of this boot (E2E_CELL, below): the images directory
# and a Lima-style sandboxes directory are shares of the host.
#
# Each scenario prints one line "E2E PASS|FAIL|N/A GUEST/CELL ID NAME:
# evidence" (the runner on the host collects them); GUEST comes from this
# guest's /etc/os-release (deb12, deb13...).  N/A says why the scenario does
# not apply in this cell (it never counts as a pass).  Everything else is
# context for a reader of the console log.
#
# Phases: A without virtguard (the hook is set aside before libvirtd
# starts), B with virtguard in enforce mode, C in dev mode.
set -u
export LC_ALL=C

GUEST=deb$(. /etc/os-release && echo "${VERSION_ID%%.*}")
CELL=${E2E_CELL:-9p-none}
# The cells (tests/e2e/README.md): where this cell's shares are mounted,
# their tags, and whether libvirt's chown fails to take effect there
# (EXPECT_DAC=1: the DAC failure is reproduced without virtguard).
#   9p-none          host QEMU unprivileged, security_model=none (Lima's default)
#   9p-xattr         the same QEMU, security_model=mapped-xattr
#   virtiofs-root    a root virtiofsd (and scenarios-virtiofs.sh: vf1, vf2)
#   virtiofs-userns  virtiofsd in a user namespace mapping only uid 1000
case $CELL in
9p-none)         IMG=/var/lib/libvirt/images SBX=/Users/dev/sandboxes
                 TAGS="images sandboxes" SHARE_FS=9p EXPECT_DAC=1 ;;
9p-xattr)        IMG=/srv/xattr-images SBX=/Users/dev/xattr-sandboxes
                 TAGS="ximages xsandboxes" SHARE_FS=9p EXPECT_DAC=0 ;;
virtiofs-root)   IMG=/srv/root-images SBX=/Users/dev/root-sandboxes
                 TAGS="rimages rsandboxes" SHARE_FS=virtiofs EXPECT_DAC=0 ;;
virtiofs-userns) IMG=/srv/uns-images SBX=/Users/dev/uns-sandboxes
                 TAGS="uimages usandboxes" SHARE_FS=virtiofs EXPECT_DAC=1 ;;
*) echo "E2E FAIL $GUEST/$CELL cell unknown-cell: scenarios.sh knows no cell '$CELL'"; exit 1 ;;
esac
[ "$SHARE_FS" = virtiofs ] && FS_TYPES='"9p", "virtiofs"'
HOOK=/etc/libvirt/hooks/qemu.d/virtguard
HOOK_OFF=/e2e/virtguard-hook.off
CONF=/etc/virtguard/virtguard.conf
AADIR=/etc/apparmor.d/libvirt
AAPROFILES=/sys/kernel/security/apparmor/profiles
START_TIMEOUT=240
STATE=/run/e2e
mkdir -p "$STATE"

OWNER_UID=1000                                  # the host user owning the shares
QEMU_GID=$(getent group libvirt-qemu | cut -d: -f3)
FIX_LABEL="+$OWNER_UID:+$QEMU_GID"

note() { echo "e2e: $*"; }
# one line of evidence: newlines folded, at most 600 characters
ev() { printf '%s' "$*" | tr '\n\r\t' '   ' | tr -s ' ' | cut -c1-600; }
pass() { echo "E2E PASS $GUEST/$CELL $1 $2: $(ev "$3")"; }
fail() { echo "E2E FAIL $GUEST/$CELL $1 $2: $(ev "$3")"; }
na() { echo "E2E N/A $GUEST/$CELL $1 $2: $(ev "$3")"; }

# ---------------------------------------------------------------------------
# libvirtd

libvirtd_stop() {
    local pid
    pid=$(cat /run/libvirtd.pid 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null
}
libvirtd_start() {
    libvirtd_stop
    rm -f /run/libvirtd.pid
    libvirtd -d || { note "libvirtd did not start"; return 1; }
    for _ in $(seq 120); do
        timeout 10 virsh -q version >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    note "libvirtd does not answer"
    return 1
}
hook_off() { [ -e "$HOOK" ] && mv "$HOOK" "$HOOK_OFF"; libvirtd_start; }
hook_on() { [ -e "$HOOK_OFF" ] && mv "$HOOK_OFF" "$HOOK"; libvirtd_start; }

write_conf() { # MODE [extra shared mount]
    mkdir -p "${CONF%/*}"
    cat >"$CONF" <<EOC
# written by the e2e scenarios
mode = "$1"
shared_mounts = [ "$IMG"${2:+, \"$2\"} ]
shared_fs_types = [ ${FS_TYPES:-\"9p\"} ]
EOC
    # The helper's own profile reads images only under the configured roots.
    virtguard-helper roots >/dev/null &&
        apparmor_parser -r /etc/apparmor.d/usr.sbin.virtguard-helper ||
        note "cannot refresh virtguard-helper's AppArmor profile"
}

# ---------------------------------------------------------------------------
# domains

# domxml NAME UUID DISK [DAC-LABEL]: a minimal TCG domain with the disk and,
# as Lima does, a cloud-init ISO from the same share.
domxml() {
    local seclabel=""
    [ -n "${4:-}" ] && seclabel="<seclabel type='static' model='dac' relabel='no'><label>$4</label></seclabel>"
    cat <<EOX
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='${3%/*}/cidata.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <memballoon model='none'/>
  </devices>
  $seclabel
</domain>
EOX
}

define() { # NAME UUID DISK [LABEL]
    domxml "$@" >"$STATE/$1.xml"
    timeout 60 virsh -q define "$STATE/$1.xml" >/dev/null 2>"$STATE/$1.define.err" ||
        note "define $1 failed: $(cat "$STATE/$1.define.err")"
}
# start NAME: 0 if virsh start succeeded; its output in $OUT
start() {
    local rc t0=$SECONDS
    OUT=$(timeout "$START_TIMEOUT" virsh start "$1" 2>&1)
    rc=$?
    note "virsh start $1 -> $rc after $((SECONDS - t0)) s: $(ev "$OUT")"
    return $rc
}
state() { timeout 30 virsh -q domstate "$1" 2>/dev/null | head -n1; }
gone() { # NAME: destroy (if running) and undefine
    timeout 60 virsh -q destroy "$1" >/dev/null 2>&1
    timeout 60 virsh -q undefine "$1" >/dev/null 2>&1
}
qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
qemu_label() { cat "/proc/$1/attr/current" 2>/dev/null | tr -d '\000'; }
qemu_uid() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
kernel_profile() { grep -F "libvirt-$1 " "$AAPROFILES" 2>/dev/null; }
denied_since() { # MARK: the AppArmor DENIED lines logged after mark MARK
    dmesg | grep -a 'apparmor="DENIED"' | awk -v m="$(cat "$STATE/mark.$1")" 'NR > m'
}
# one syslog message per line (the listener does not separate them)
syslog_lines() { tr -d '\000' <"$1" 2>/dev/null | sed 's/<[0-9]\{1,3\}>/\n&/g' | sed '/^$/d'; }
mark() { dmesg | grep -ac 'apparmor="DENIED"' >"$STATE/mark.$1"; }

# mount_share TAG DIR: this cell's share TAG on DIR (9p with Lima's options)
mount_share() {
    mkdir -p "$2"
    mountpoint -q "$2" && return 0
    if [ "$SHARE_FS" = 9p ]; then
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=131072,cache=mmap "$1" "$2"
    else
        mount -t virtiofs "$1" "$2"
    fi
}
umount_images() { umount "$IMG" && ! mountpoint -q "$IMG"; }
mount_images() { mount_share "${TAGS%% *}" "$IMG"; }
# as_owner CMD...: run as the share's owner (in the virtiofs-userns cell
# guest root cannot create files on the share: EINVAL)
as_owner() { setpriv --reuid="$OWNER_UID" --regid="$OWNER_UID" --clear-groups -- "$@"; }
# the filesystem type of the mount at DIR ('' when none)
fstype_of() { awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++) ; print $(i + 1) }' /proc/self/mountinfo | tail -n1; }

# tests/e2e/scenarios-virtiofs.sh sources this file for the helpers above.
[ -n "${E2E_HELPERS_ONLY:-}" ] && return 0

U1=e2e00001-0000-4000-8000-000000000001      # s1/s2/s3: DAC on the images share
U4=e2e00004-0000-4000-8000-000000000004      # s4: mount missing
U5=e2e00005-0000-4000-8000-000000000005      # s5: Lima sandbox a (diffdisk/basedisk)
U5C=e2e0005c-0000-4000-8000-00000000005c     # s5 control: .qcow2 names
U7=e2e00007-0000-4000-8000-000000000007      # s7: dev mode

IDS="1 2 3 4a 4b 5a 5b 6 8 9 h1 7 9h 10"
# The cell's shares; without them nothing here can run: every scenario FAILs.
for t in $TAGS; do
    case $t in *sandboxes) d=$SBX ;; *) d=$IMG ;; esac
    mount_share "$t" "$d" || note "cannot mount $SHARE_FS share '$t' on $d"
    got=$(fstype_of "$d")
    if [ "$got" != "$SHARE_FS" ]; then
        for id in $IDS; do
            fail "$id" share-not-mounted "$d (share '$t') is not a $SHARE_FS mount (found '${got:-none}'): the cell cannot run; see the e2e-init lines"
        done
        exit 0
    fi
done
note "cell $GUEST/$CELL: $IMG and $SBX are $SHARE_FS mounts: $(grep -E " ($IMG|$SBX) " /proc/self/mountinfo | cut -d' ' -f5,9- | tr '\n' ';')"
note "QEMU group: libvirt-qemu ($QEMU_GID); share owner uid $OWNER_UID"
ls -ln "$IMG" "$SBX"/* | sed 's/^/e2e: ls: /'
# The per-domain DAC fix, where the cell needs it (chown has no effect).
DAC_LABEL=""
[ "$EXPECT_DAC" = 1 ] && DAC_LABEL=$FIX_LABEL
T_CELL=$SECONDS

# ===========================================================================
# Phase A: libvirt alone
hook_off
note "phase A: libvirt alone (hook set aside: $(ls "$HOOK" 2>&1))"

# 1. The seed failure: a plain start on the share, QEMU as libvirt-qemu.
# Where libvirt's chown takes effect (EXPECT_DAC=0) there is none to
# reproduce: the start must then succeed, and the line says so (N/A).
define s1 "$U1" "$IMG/s1.qcow2"
if start s1; then
    pid=$(qemu_pid s1)
    how="the start succeeded without virtguard: QEMU uid $(qemu_uid "$pid") '$(qemu_label "$pid")', s1.qcow2 $(stat -c %u:%g "$IMG/s1.qcow2") while running"
    if [ "$EXPECT_DAC" = 1 ]; then
        fail 1 baseline-permission-denied "$how: the seed failure is not reproduced"
    else
        na 1 baseline-permission-denied "no DAC failure in this cell: libvirt's chown takes effect; $how"
    fi
elif grep -q "Could not open '$IMG/s1.qcow2': Permission denied" <<<"$OUT" && [ "$EXPECT_DAC" = 1 ]; then
    pass 1 baseline-permission-denied "$(grep -o "Could not open '[^']*': Permission denied" <<<"$OUT" | head -n1); the file is still $(stat -c %u:%g "$IMG/s1.qcow2") after libvirt's chown (it has no effect on this share)"
else
    fail 1 baseline-permission-denied "start failed$([ "$EXPECT_DAC" = 1 ] && echo " differently" || echo " where libvirt's chown should work"): $OUT"
fi
gone s1

# 4a. The mount is missing: libvirt alone says only that the file is absent.
umount_images || note "cannot unmount $IMG"
define s4 "$U4" "$IMG/s1.qcow2"
if start s4; then
    fail 4a mount-missing-baseline "started with the share unmounted"
elif grep -q "Cannot access storage file '$IMG/[^']*': No such file or directory" <<<"$OUT"; then
    pass 4a mount-missing-baseline "$(grep -o "Cannot access storage file '[^']*': No such file or directory" <<<"$OUT" | head -n1) (libvirt does not say that the mount is missing)"
else
    fail 4a mount-missing-baseline "start failed differently: $OUT"
fi
gone s4
mount_images || note "cannot remount $IMG"

# 5 (baseline). A Lima-style sandbox: extensionless diffdisk -> basedisk.
define s5 "$U5" "$SBX/a/diffdisk" "$DAC_LABEL"
mark 5a
if start s5; then
    base5="started without virtguard ($(state s5)): libvirt alone handles it"
    base5_ok=0
else
    d=$(denied_since 5a)
    vah=$(grep 'profile="virt-aa-helper"' <<<"$d" | grep -F "$SBX/a/diffdisk" | head -n1)
    qd=$(grep "profile=\"libvirt-$U5\"" <<<"$d" | grep -F "$SBX/a/basedisk" | head -n1)
    co=$(grep -o "Could not open '$SBX/a/basedisk': Permission denied" <<<"$OUT" | head -n1)
    base5="without virtguard: $co; virt-aa-helper: ${vah#*apparmor=}; QEMU: ${qd#*apparmor=}"
    if [ -n "$co" ] && [ -n "$vah" ] && [ -n "$qd" ]; then base5_ok=1; else base5_ok=0; base5="$base5; virsh: $OUT"; fi
fi
gone s5
# The control: .qcow2-named chain on the same mount works with libvirt alone.
define s5c "$U5C" "$SBX/c/disk.qcow2" "$DAC_LABEL"
if start s5c && [ "$(state s5c)" = running ]; then
    ctl5="control: $SBX/c/disk.qcow2 -> base.qcow2 runs with libvirt alone"
    ctl5_ok=1
else
    ctl5="control: $SBX/c/disk.qcow2 did not start with libvirt alone: $OUT"
    ctl5_ok=0
fi
gone s5c
if [ "$base5_ok" = 1 ] && [ "$ctl5_ok" = 1 ]; then
    pass 5a lima-chain-baseline "$base5; $ctl5"
else
    fail 5a lima-chain-baseline "$base5; $ctl5"
fi

# ===========================================================================
# Phase B: virtguard, enforce mode
write_conf enforce "$SBX"
hook_on
mark helper     # 9h: from here on, no DENIED line from virtguard-helper
note "phase B: virtguard enforce ($(ls -l "$HOOK" 2>&1))"

# 2. The seed failure is refused at prepare with the DAC explanation, the
# cause precise for the share (chown ignored on 9p none, root cannot create
# files on the user-namespace virtiofs).  Where chown works it must start:
# N/A (nothing to refuse), and its relabel's undo is scenario 10.
syslog_for() { syslog_lines /run/syslog.txt | grep -F "domain '$1' $2: "; }
define s2 "$U1" "$IMG/s2.qcow2"
S10_RUNNING=0
# overlay, base, ISO before the start (scenario 1 may have relabelled the
# base and the ISO already: libvirt never gives those back)
S10_BEFORE=$(stat -c %u:%g "$IMG/s2.qcow2" "$IMG/base.qcow2" "$IMG/cidata.iso" | paste -sd' ')
case $CELL in   # the cause the refusal must name (an ERE)
9p-none) cause="libvirt's chown of it to [0-9]+:[0-9]+ (is silently ignored|is refused) on this 9p mount" ;;
virtiofs-userns) cause="libvirt cannot chown it to [0-9]+:[0-9]+: root cannot even create a file on this virtiofs mount \(Invalid argument" ;;
*) cause="" ;;
esac
if start s2; then
    if [ "$EXPECT_DAC" = 1 ]; then
        fail 2 enforce-dac-refused "the start succeeded: $(state s2)"
        gone s2
    else
        S10_RUNNING=1
        na 2 enforce-dac-refused "no DAC failure to refuse in this cell: virtguard allowed the start ($(syslog_for s2 start | tail -n1 | sed 's/.*: domain/domain/' | cut -c1-200)); virtguard doctor: $(virtguard doctor 2>&1 | grep -F "'$IMG'" | grep -v 'is mounted' | head -n2)"
    fi
else
    want="<seclabel type='static' model='dac' relabel='no'><label>$FIX_LABEL</label></seclabel>"
    miss=""
    for p in "Hook script execution failed" "prepare begin" "'$IMG/s2.qcow2'" "cannot open" \
             "owned by $OWNER_UID:$OWNER_UID" "libvirt-qemu" "$want"; do
        grep -qF "$p" <<<"$OUT" || miss="$miss [$p]"
    done
    [ -n "$cause" ] && ! grep -qE "$cause" <<<"$OUT" && miss="$miss [/$cause/]"
    if [ "$EXPECT_DAC" != 1 ]; then
        fail 2 enforce-dac-refused "refused where libvirt's chown works: $OUT"
    elif [ -z "$miss" ]; then
        pass 2 enforce-dac-refused "${OUT#*unexpected exit status 1: }"
    else
        fail 2 enforce-dac-refused "missing$miss in: $OUT"
    fi
fi

# 10. Where libvirt's chown works, its undo at stop: the owners virtguard's
# start warning named (or, with no warning, the owners before the start)
# are what the guest sees after destroy.
if [ "$EXPECT_DAC" = 1 ]; then
    na 10 relabel-undo "libvirt's chown has no effect on this share (scenario 1): there is no relabel to undo"
elif [ "$S10_RUNNING" != 1 ]; then
    fail 10 relabel-undo "needs scenario 2's domain running"
else
    line=$(syslog_for s2 start | tail -n1)
    running=$(stat -c %u:%g "$IMG/s2.qcow2" "$IMG/base.qcow2" | paste -sd,)
    timeout 60 virsh -q destroy s2 >/dev/null 2>&1 || note "virsh destroy s2 failed"
    sleep 1
    after=$(stat -c %u:%g "$IMG/s2.qcow2" "$IMG/base.qcow2" "$IMG/cidata.iso" | paste -sd' ')
    if grep -qF 'allowed with a warning' <<<"$line"; then
        end_owner() { grep -oE "$1 '$2' \(now [0-9]+:[0-9]+\) (will be|stays) owned by [0-9]+:[0-9]+" <<<"$line" | sed 's/.* //'; }
        ov=$(end_owner "disk vda" "$IMG/s2.qcow2")
        bs=$(end_owner "backing vda" "$IMG/base.qcow2")
        iso=$(end_owner "cdrom hdc" "$IMG/cidata.iso")
        # a file the warning does not name keeps the owner it had before
        read -r b_ov b_bs b_iso <<<"$S10_BEFORE"
        if [ -n "$ov$bs$iso" ] && [ "$after" = "${ov:-$b_ov} ${bs:-$b_bs} ${iso:-$b_iso}" ]; then
            pass 10 relabel-undo "warned at start, the owners it named came true after destroy: overlay/base/cidata.iso $S10_BEFORE before the start, $running (overlay,base) while running, $after after destroy; warning: $(grep -oE "this mount cannot hold [^)]*\)|After the domain stops, [^:]*" <<<"$line" | paste -sd' ')"
        else
            fail 10 relabel-undo "before the start $S10_BEFORE; the warning named overlay '$ov' base '$bs' iso '$iso'; after destroy the guest sees $after: $line"
        fi
    elif [ "$after" = "$S10_BEFORE" ]; then
        pass 10 relabel-undo "no warning, and after destroy overlay/base/cidata.iso are back at $after (while running overlay,base $running); start line: $(cut -c1-200 <<<"${line#*: }")"
    else
        fail 10 relabel-undo "no warning at start, but after destroy overlay/base/cidata.iso are $after (were $S10_BEFORE; while running $running): $line"
    fi
fi
gone s2

# 3. The per-domain fix, confinement kept (where there is a DAC failure).
define s2 "$U1" "$IMG/s2.qcow2" "$FIX_LABEL"
qconf=$(grep -E '^[[:space:]]*(user|security_driver)[[:space:]]*=' /etc/libvirt/qemu.conf | tr '\n' ' ')
if [ "$EXPECT_DAC" != 1 ]; then
    na 3 per-domain-fix "no DAC failure to fix in this cell (scenario 1 started without virtguard)"
elif start s2 && [ "$(state s2)" = running ]; then
    pid=$(qemu_pid s2)
    lab=$(qemu_label "$pid")
    uid=$(qemu_uid "$pid")
    if [ "$lab" = "libvirt-$U1 (enforce)" ] && [ "$uid" = "$OWNER_UID" ] &&
       ! grep -qE '^user|security_driver *= *"none"' <<<"$qconf"; then
        pass 3 per-domain-fix "running with $FIX_LABEL: QEMU pid $pid uid $uid confined as '$lab'; qemu.conf: $qconf"
    else
        fail 3 per-domain-fix "running, but QEMU pid $pid uid '$uid' label '$lab'; qemu.conf: $qconf"
    fi
else
    fail 3 per-domain-fix "with $FIX_LABEL: $OUT"
fi
gone s2

# 4b. The mount is missing: refused with the Lima fix.
umount_images || note "cannot unmount $IMG"
define s4 "$U4" "$IMG/s1.qcow2"
if start s4; then
    fail 4b mount-missing-refused "started with the share unmounted"
else
    miss=""
    for p in "Hook script execution failed" "'$IMG'" "is not mounted" "mounts:" "mountPoint:"; do
        grep -qF "$p" <<<"$OUT" || miss="$miss [$p]"
    done
    if [ -z "$miss" ]; then
        pass 4b mount-missing-refused "${OUT#*unexpected exit status 1: }"
    else
        fail 4b mount-missing-refused "missing$miss in: $OUT"
    fi
fi
gone s4
mount_images || note "cannot remount $IMG"

# 5. The Lima sandbox starts with virtguard's narrow rules.
define s5 "$U5" "$SBX/a/diffdisk" "$DAC_LABEL"
s5_running=0
if start s5 && [ "$(state s5)" = running ]; then
    pid=$(qemu_pid s5)
    lab=$(qemu_label "$pid")
    rules="$AADIR/libvirt-$U5.virtguard"
    inc=$(grep -F "#include if exists <libvirt/libvirt-$U5.virtguard>" "$AADIR/libvirt-$U5" | head -n1)
    if [ "$lab" = "libvirt-$U5 (enforce)" ] && grep -qF "$SBX/a/basedisk" "$rules" 2>/dev/null && [ -n "$inc" ]; then
        s5_running=1
        pass 5b lima-chain-virtguard "runs, QEMU confined as '$lab'; $rules: $(grep -F "$SBX" "$rules" | tr '\n' ' '); main profile: $inc; $base5"
    else
        fail 5b lima-chain-virtguard "running, but label '$lab', rules file: $(cat "$rules" 2>&1 | tr '\n' ' '), include: '$inc'"
    fi
else
    fail 5b lima-chain-virtguard "with virtguard: $OUT; $(ls "$AADIR" | tr '\n' ' ')"
fi

# 6. Narrowness: A's profile reads A's files and is denied B's overlay.
if [ "$s5_running" = 1 ]; then
    mark 6
    ra=$(aa-exec -p "libvirt-$U5" -- /bin/dd if="$SBX/a/basedisk" of=/dev/null bs=4k count=1 2>&1) && ra_ok=1 || ra_ok=0
    rb=$(aa-exec -p "libvirt-$U5" -- /bin/dd if="$SBX/b/diffdisk" of=/dev/null bs=4k count=1 2>&1) && rb_ok=1 || rb_ok=0
    sleep 1
    dl=$(denied_since 6 | grep -F "$SBX/b/diffdisk" | grep "profile=\"libvirt-$U5\"" | head -n1)
    if [ "$ra_ok" = 1 ] && [ "$rb_ok" = 0 ] && grep -q 'Permission denied' <<<"$rb" && [ -n "$dl" ]; then
        pass 6 narrowness "under libvirt-$U5: A's basedisk readable; B's diffdisk: $(grep -o "[^:]*: Permission denied" <<<"$rb" | head -n1); audit: ${dl#*audit}"
    else
        fail 6 narrowness "A's basedisk ok=$ra_ok ($ra); B's diffdisk ok=$rb_ok ($rb); audit: '$dl'"
    fi
else
    fail 6 narrowness "needs domain A (scenario 5) running under its virtguard rules"
fi

# 8. Cleanup: destroy + undefine removes virtguard's rules from disk and kernel.
had=$(ls "$AADIR/libvirt-$U5.virtguard" 2>/dev/null)
gone s5
sleep 1
left_disk=$(ls "$AADIR"/libvirt-"$U5"*.virtguard* 2>/dev/null | tr '\n' ' ')
left_kernel=$(kernel_profile "$U5")
if [ -n "$had" ] && [ -z "$left_disk" ] && [ -z "$left_kernel" ]; then
    pass 8 cleanup "after destroy+undefine: $had removed, libvirt-$U5 not loaded; left in $AADIR: $(ls "$AADIR" | grep -F "$U5" | tr '\n' ' ')"
else
    fail 8 cleanup "rules file while running: '${had:-none}'; after: on disk '$left_disk', in kernel '$left_kernel'"
fi

# 9. A disk that is a volume of a libvirt dir pool on the share, and an
# Ignition file passed with <qemu:commandline> -fw_cfg: guarded and granted
# like file disks; an AppArmor denial of another domain's file is explained
# as intended, naming that domain, with no rule proposed.
U9=e2e00009-0000-4000-8000-000000000009
U9O=e2e0009a-0000-4000-8000-00000000009a
s9() {
    local pool=e2eimages out rules pid lab ex dl
    timeout 60 virsh -q pool-define-as "$pool" dir --target "$IMG" >/dev/null 2>&1 &&
        timeout 60 virsh -q pool-start "$pool" >/dev/null 2>&1 ||
        { fail 9 volume-fwcfg-intended "cannot define/start pool $pool on $IMG"; return; }
    (cd "$IMG" && as_owner qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 s9.qcow2) &&
        printf '{"ignition":{"version":"3.3.0"}}\n' | as_owner tee "$IMG/s9.ign" >/dev/null &&
        timeout 60 virsh -q pool-refresh "$pool" >/dev/null 2>&1 ||
        { fail 9 volume-fwcfg-intended "cannot create s9.qcow2/s9.ign on $IMG"; return; }
    domxml s9 "$U9" "$IMG/s9.qcow2" "$FIX_LABEL" |
        sed -e "0,/<disk type='file' device='disk'>/s//<disk type='volume' device='disk'>/" \
            -e "s|<source file='$IMG/s9.qcow2'/>|<source pool='$pool' volume='s9.qcow2'/>|" \
            -e "s|^<domain type='qemu'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|" \
            -e "s|^</domain>|<qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/com.coreos/config,file=$IMG/s9.ign'/></qemu:commandline></domain>|" \
            >"$STATE/s9.xml"
    timeout 60 virsh -q define "$STATE/s9.xml" >/dev/null 2>"$STATE/s9.define.err" ||
        { fail 9 volume-fwcfg-intended "define: $(cat "$STATE/s9.define.err")"; return; }
    define o9 "$U9O" "$IMG/s1.qcow2"        # another domain, defined, owning s1.qcow2
    rules="$AADIR/libvirt-$U9.virtguard"
    if ! start s9 || [ "$(state s9)" != running ]; then
        fail 9 volume-fwcfg-intended "the volume domain did not start: $OUT"
    else
        pid=$(qemu_pid s9)
        lab=$(qemu_label "$pid")
        mark 9
        aa-exec -p "libvirt-$U9" -- /bin/dd if="$IMG/s1.qcow2" of=/dev/null bs=4k count=1 >/dev/null 2>&1
        sleep 1
        dl=$(denied_since 9 | grep -F "$IMG/s1.qcow2" | grep "profile=\"libvirt-$U9\"" | head -n1)
        ex=$(printf '%s\n' "$dl" | virtguard explain - 2>&1)
        note "virtguard explain: $(ev "$ex")"
        if [ "$lab" = "libvirt-$U9 (enforce)" ] &&
           grep -qF "\"$IMG/s9.qcow2\" rwk," "$rules" && grep -qF "\"$IMG/base.qcow2\" r" "$rules" &&
           grep -qF "\"$IMG/s9.ign\" r," "$rules" && [ -n "$dl" ] &&
           grep -qF "intended, it is not one of this domain's files" <<<"$ex" &&
           grep -qF "a file of domain 'o9'" <<<"$ex" && ! grep -qF "rules should include" <<<"$ex"; then
            pass 9 volume-fwcfg-intended "volume s9.qcow2 of pool $pool and -fw_cfg file: QEMU '$lab'; rules: $(grep -F "$IMG" "$rules" | tr '\n' ' '); explain: $(grep -o "intended[^:]*" <<<"$ex" | head -n1), names o9, no rule"
        else
            fail 9 volume-fwcfg-intended "label '$lab'; rules: $(cat "$rules" 2>&1 | tr '\n' ' '); denial: '$dl'; explain: $ex"
        fi
    fi
    gone s9
    gone o9
    timeout 60 virsh -q pool-destroy "$pool" >/dev/null 2>&1
    timeout 60 virsh -q pool-undefine "$pool" >/dev/null 2>&1
    as_owner rm -f "$IMG/s9.qcow2" "$IMG/s9.ign"
}
s9

# ---------------------------------------------------------------------------
# h1. Hostile names on the share.  The attacker can only write files on the
# share (run-e2e.sh put them in images/hostile/ as the host user): an
# external data file 'd\' with the backing name 'x" rwk, /** rwmlk, #' (the
# rule injection), LF and CR in a disk's file name, a double quote in a
# backing name.  Every start must be refused -- nothing running, no rules
# file left, the message naming the offending character -- or, if it
# starts, virtguard's part of the compiled profile must be literal paths.
HST=$IMG/hostile

# h1_added_exprs UUID: the rule expressions the .virtguard include adds to
# the domain profile (apparmor_parser -D rule-exprs, which writes to stderr:
# with minus without the include line); non-zero if either does not compile
h1_added_exprs() {
    local p=$AADIR/libvirt-$1 t=$STATE/h1-$1
    sed "/libvirt-$1\\.virtguard>/d" "$p" >"$t.without"
    apparmor_parser -Q -K -D rule-exprs "$p" >"$t.with.out" 2>&1 &&
        apparmor_parser -Q -K -D rule-exprs "$t.without" >"$t.base.out" 2>&1 ||
        { echo "does not compile: $(cat "$t.with.out" "$t.base.out" | grep -v '^aare:\|^rule:\|^$\|^Cache read/write' | head -n3)"; return 1; }
    sed -n 's/^rule: \(.*\)  ->  .*/\1/p' "$t.with.out" | sort -u >"$t.with"
    sed -n 's/^rule: \(.*\)  ->  .*/\1/p' "$t.base.out" | sort -u >"$t.base"
    [ -s "$t.base" ] || { echo "no rule expressions in the -D rule-exprs output"; return 1; }
    comm -23 "$t.with" "$t.base"
}
# h1_selftest: the oracle above flags the rules file the old helper wrote
# for the injection overlay (a scratch profile made from TEMPLATE.qemu as
# libvirt makes it); sets H1_SELF to the flagged expression
h1_selftest() {
    local u=e2e000f0-0000-4000-8000-0000000000f0 out
    sed "s/LIBVIRT_TEMPLATE/libvirt-$u/" "$AADIR/TEMPLATE.qemu" |
        awk -v u="$u" '/^}/ { print "  #include <libvirt/libvirt-" u ".files>"
                              print "  #include if exists <libvirt/libvirt-" u ".virtguard>" } { print }' \
        >"$AADIR/libvirt-$u"
    : >"$AADIR/libvirt-$u.files"
    printf '%s\n' "  \"$HST/d\\\\\" rwk," "  # backing layer 1 ('x\" rwk, /** rwmlk, #')" \
        "  \"$HST/x\\\" rwk, /\\*\\* rwmlk, #\" r," >"$AADIR/libvirt-$u.virtguard"
    note "h1 self-test rules file: $(ev "$(cat "$AADIR/libvirt-$u.virtguard")")"
    out=$(h1_added_exprs "$u")
    rm -f "$AADIR/libvirt-$u" "$AADIR/libvirt-$u.files" "$AADIR/libvirt-$u.virtguard"
    note "h1 self-test expressions: $(ev "$out")"
    H1_SELF=$(grep -F '/[^/\x00][^\x00]*' <<<"$out" | head -n1)
}
# h1_case TAG UUID DISK-AS-XML WANT-ERE: one hostile start; appends to H1_EV,
# counts H1_REF (refused) or H1_CONF (started, literal rules only), sets
# H1_BAD on anything else.  WANT-ERE: what a refusal must say.
h1_case() {
    local name=h1$1 uuid=$2 disk=$3 want=$4 st rf said dn added nonlit
    define "$name" "$uuid" "$disk" "$FIX_LABEL"
    mark "h1$1"
    if start "$name"; then
        st=$(state "$name")
        # literal: nothing but escaped characters and plain bytes
        if added=$(h1_added_exprs "$uuid"); then
            nonlit=$(awk '{ s = $0; gsub(/\\./, "", s); if (s ~ /[][*?{}()|+^.]/) print }' <<<"$added")
        else
            nonlit=$added
        fi
        note "h1 $1 started ($st); virtguard's expressions: $(ev "$added")"
        if [ -z "$nonlit" ] && ! grep -qF '/[^/\x00][^\x00]*' <<<"$added"; then
            H1_CONF=$((H1_CONF + 1)); H1_EV="$H1_EV; $1: STARTED, confined to literals: $(ev "${added//$HST\//}" | cut -c1-150)"
        else
            H1_BAD=1; H1_EV="$H1_EV; $1: STARTED with non-literal rules: $(ev "$nonlit" | cut -c1-200)"
        fi
    else
        st=$(state "$name")
        rf=$(ls "$AADIR"/libvirt-"$uuid".virtguard* 2>/dev/null | tr '\n' ' ')
        said=$(grep -oE "$want" <<<"$OUT" | head -n1 | tr '\r' '?')
        dn=$(denied_since "h1$1" | grep -c "profile=\"libvirt-$uuid\"")
        [ "$dn" = 0 ] || said="$said ($dn AppArmor DENIED)"
        if [ "$st" != running ] && [ -z "$rf" ] && [ -n "$said" ] && grep -qF "domain '$name'" <<<"$OUT"; then
            H1_REF=$((H1_REF + 1)); H1_EV="$H1_EV; $1: ${said//$HST\//}"
        else
            H1_BAD=1; H1_EV="$H1_EV; $1: state '$st', rules file '$rf', message lacks domain '$name' or /$want/: $(ev "${OUT#*unexpected exit status 1: }" | cut -c1-250)"
        fi
    fi
    gone "$name"
}
scenario_h1_hostile_names() {
    H1_EV="" H1_BAD=0 H1_REF=0 H1_CONF=0
    note "h1: hostile files on the share: $(ls -b "$HST" | tr '\n' ' ')"
    h1_selftest
    if [ -n "$H1_SELF" ]; then
        H1_EV="oracle self-test flags the old injection ($H1_SELF)"
    else
        H1_BAD=1; H1_EV="oracle self-test: the old injection's rules file was NOT flagged"
    fi
    # the injection overlay exactly as found: relative 'd\' is refused
    # before its characters matter (QEMU would resolve it against its cwd)
    h1_case inject e2e000f1-0000-4000-8000-0000000000f1 "$HST/ov.qcow2" \
        "(relative external data file 'd[\\]{2}'|contains a backslash at byte [0-9]+)"
    h1_case inject-abs e2e000f2-0000-4000-8000-0000000000f2 "$HST/ovabs.qcow2" \
        "path '$HST/dabs[\\]{2}' contains a backslash at byte [0-9]+"
    # LF/CR: libvirt 9.0.0 writes them raw into the XML attribute it hands
    # the hook and virt-aa-helper, whose XML readers would turn them into a
    # space (XML attribute normalisation; the hook would see 'n l.qcow2'):
    # the hook refuses a raw LF/CR/TAB in an attribute before parsing.
    h1_case lf e2e000f3-0000-4000-8000-0000000000f3 "$HST/n&#10;l.qcow2" \
        "attribute value holds a raw newline \(LF\)|contains a newline \(LF\) at byte [0-9]+"
    h1_case cr e2e000f4-0000-4000-8000-0000000000f4 "$HST/c&#13;r.qcow2" \
        "attribute value holds a raw carriage return \(CR\)|contains a carriage return \(CR\) at byte [0-9]+"
    h1_case quote e2e000f5-0000-4000-8000-0000000000f5 "$HST/q.qcow2" \
        "path '$HST/q\"b.raw' contains a double quote at byte [0-9]+"
    H1_EV="$H1_REF refused (not running, no .virtguard file left), $H1_CONF started confined to literals, in hostile/: ${H1_EV#; }"
    if [ "$H1_BAD" = 0 ] && [ $((H1_REF + H1_CONF)) = 5 ]; then
        pass h1 hostile-names "$H1_EV"
    else
        fail h1 hostile-names "$H1_EV"
    fi
}
scenario_h1_hostile_names

# ca. A config change takes effect with the one command the package's
# virtguard-apply.path runs when virtguard.conf changes (`virtguard apply`).
# PID 1 in this guest is the test's init, not systemd: the path unit's
# trigger itself is NOT exercised here, only exactly what it runs.  A root
# is added to virtguard.conf by hand (the sandboxes share): before apply the
# start is refused (the helper's own profile does not cover the new root),
# after it the same start works, confined.
# st. `virtguard status` on the installed package: the hooks, the helper's
# profile and roots include, and while the domain runs its rules file.
UCA=e2e000ca-0000-4000-8000-0000000000ca
sca() {
    local ap aprc lab st before
    write_conf enforce                  # the images share only, helper profile reloaded
    as_owner mkdir -p "$SBX/ca" && as_owner cp "$SBX/a/cidata.iso" "$SBX/ca/cidata.iso" &&
        (cd "$SBX/ca" && as_owner qemu-img create -q -f qcow2 ca.qcow2 16M) ||
        { fail ca config-apply "cannot create $SBX/ca/ca.qcow2"; return; }
    define sca "$UCA" "$SBX/ca/ca.qcow2" "$FIX_LABEL"
    sed -i "s|^shared_mounts = \[ \"$IMG\" \]|shared_mounts = [ \"$IMG\", \"$SBX\" ]|" "$CONF"
    grep -qF "\"$SBX\"" "$CONF" || { fail ca config-apply "could not add $SBX to $CONF"; gone sca; return; }
    start sca
    before=$OUT
    [ "$(state sca)" = running ] && timeout 60 virsh -q destroy sca >/dev/null 2>&1
    ap=$(virtguard apply 2>&1); aprc=$?
    note "virtguard apply -> $aprc: $(ev "$ap")"
    if [ "$aprc" = 0 ] && grep -qF "\"$SBX/**\" r," /etc/apparmor.d/virtguard/helper-roots &&
       start sca && [ "$(state sca)" = running ]; then
        lab=$(qemu_label "$(qemu_pid sca)")
        if [ "$lab" = "libvirt-$UCA (enforce)" ]; then
            pass ca config-apply "root '$SBX' added to virtguard.conf; before apply: $(grep -q 'virtguard apply' <<<"$before" && echo "refused naming 'virtguard apply'" || ev "$before"); virtguard apply: $(grep -c ': PASS' <<<"$ap") step(s) passed; then QEMU '$lab' (the path unit's trigger is not exercised: no systemd here)"
        else
            fail ca config-apply "started after apply, but QEMU label '$lab'"
        fi
        st=$(virtguard status 2>&1)
        note "virtguard status: $(ev "$st")"
        if grep -qF "hook: hook '/etc/libvirt/hooks/qemu.d/virtguard'" <<<"$st" &&
           grep -qF "hook: hook '/etc/libvirt/hooks/daemon.d/virtguard'" <<<"$st" &&
           grep -qF "helper-profile: the helper's AppArmor profile '/etc/apparmor.d/usr.sbin.virtguard-helper'" <<<"$st" &&
           grep -qF "helper-roots: the helper's roots include '/etc/apparmor.d/virtguard/helper-roots'" <<<"$st" &&
           grep -qF "rules: rules file '$AADIR/libvirt-$UCA.virtguard'" <<<"$st" &&
           grep -qF "include: virtguard's include line in '$AADIR/libvirt-$UCA'" <<<"$st"; then
            pass st status "lists the hooks, the helper's profile and roots, and the running domain's rules file and include line ($(grep -c ': INFO' <<<"$st") change(s))"
        else
            fail st status "$st"
        fi
    else
        fail ca config-apply "apply -> $aprc: $ap; start: $OUT"
        fail st status "not reached: the config-apply domain did not start"
    fi
    gone sca
    as_owner rm -rf "$SBX/ca"
    write_conf enforce "$SBX"           # phase B's config again
}
sca

# ===========================================================================
# Phase C: dev mode
write_conf dev "$SBX"
note "phase C: dev mode"

# 7. The share is not mounted but a stale local copy sits in its place: dev
# mode warns, the domain starts, its profile is in complain mode.
umount_images || note "cannot unmount $IMG"
qemu-img create -q -f qcow2 "$IMG/s7.qcow2" 16M
cp "$SBX/a/cidata.iso" "$IMG/cidata.iso"
define s7 "$U7" "$IMG/s7.qcow2"
chk=$(virtguard check "$STATE/s7.xml" 2>&1)
note "virtguard check (dev mode): $(ev "$chk")"
if start s7 && [ "$(state s7)" = running ]; then
    pid=$(qemu_pid s7)
    lab=$(qemu_label "$pid")
    kp=$(kernel_profile "$U7")
    sl=$(syslog_lines /run/syslog.txt | grep -a "virtguard\[[0-9]*\]: domain 's7' prepare: warned" | tail -n1)
    if [ "$lab" = "libvirt-$U7 (complain)" ] && [ -n "$sl" ] &&
       grep -qF "virtguard: WARNING (dev mode): " <<<"$chk" && grep -qF "is not mounted" <<<"$chk"; then
        pass 7 dev-mode "starts with the share missing; QEMU '$lab'; kernel: $kp; syslog: $sl; virtguard check: $(head -n1 <<<"$chk")"
    else
        fail 7 dev-mode "running, but QEMU label '$lab' (kernel: '$kp'); syslog 'warned' line: '$sl'; check: $chk"
    fi
else
    fail 7 dev-mode "did not start in dev mode: $OUT"
fi
gone s7
rm -f "$IMG/s7.qcow2" "$IMG/cidata.iso"
mount_images || note "cannot remount $IMG"

# 9h. The helper's own profile: every load of phases B and C (rules read
# from images, the profile compiled by the parser child) without a DENIED
# line from virtguard-helper or its parser child.
hd=$(denied_since helper | grep -aE 'profile="virtguard-helper(//parser)?"')
loads=$(syslog_lines /run/syslog.txt | grep -ac 'virtguard-helper\[[0-9]*\]: domain .* load ')
if [ -z "$hd" ] && [ "$loads" -gt 0 ]; then
    pass 9h helper-profile-no-denied "$loads helper load(s) under $(grep -F virtguard-helper "$AAPROFILES" | tr '\n' ' '), no DENIED line from it or its parser child"
else
    fail 9h helper-profile-no-denied "$loads helper load(s); DENIED: $(head -n3 <<<"$hd")"
fi

libvirtd_stop
note "scenarios done"
# the runner's per-cell time table
echo "E2E TIME $GUEST/$CELL $((SECONDS - T_CELL))"
