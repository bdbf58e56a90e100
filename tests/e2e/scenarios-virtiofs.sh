#!/bin/bash
# scenarios-virtiofs.sh -- the e2e cell with a root virtiofsd images share,
# run inside the second, short e2e boot by /e2e/init (tests/e2e/guest-init.sh,
# cell virtiofs-root of e2e_cells= on the kernel command line).  There libvirt's chown of an
# image really changes the host file, but the share cannot hold the
# trusted.libvirt.security.* attributes libvirt remembers the owner in.
#
#   vf1 owner-lost-warned   the start is allowed with a warning naming the
#                           owners the overlay and its base end up with;
#   vf2 label-keeps-owner   with the relabel='no' label the warning proposes
#                           the domain starts and chowns nothing.
#
# The owners after the guest powered off are checked on the HOST by
# tests/e2e/run-e2e.sh: this script prints, per scenario, either a final
# "E2E FAIL GUEST/CELL ID NAME: why" or a data line "E2E-VF GUEST/CELL ID
# key=value ..." the host completes into the result line.
set -u
export LC_ALL=C
E2E_CELL=virtiofs-root E2E_HELPERS_ONLY=1 . /e2e/scenarios.sh   # GUEST, define, start, ...
IMG=/var/lib/libvirt/images     # its own share (scenarios.sh's cell uses another)
T_CELL=$SECONDS

VU1=e2e000f1-0000-4000-8000-0000000000f1
VU2=e2e000f2-0000-4000-8000-0000000000f2
fstype=$(fstype_of "$IMG")
note "virtiofs cell: $IMG is '${fstype:-not mounted}'"
ls -ln "$IMG" "$IMG"/vf1 "$IMG"/vf2 2>&1 | sed 's/^/e2e: ls: /'

if [ "$fstype" != virtiofs ]; then
    why="$IMG is not a virtiofs mount (fstype '${fstype:-none}'): the cell cannot run; see the e2e-init lines"
    fail vf1 owner-lost-warned "$why"
    fail vf2 label-keeps-owner "$why"
    exit 0
fi

write_conf enforce
hook_on
syslog_for() { syslog_lines /run/syslog.txt | grep -F "domain '$1' $2: "; }
# `virtguard doctor` reports the share's behaviour once
doc=$(virtguard doctor 2>&1)
ndoc=$(grep -cF "'$IMG': chown works, remembered owners are lost: files end up root:root after a stop" <<<"$doc")
note "virtguard doctor: $(grep -F "$IMG" <<<"$doc" | head -n 5)"

# vf1: libvirt relabels; the warning names what the owners will be.
FIXSEC=""
define vf-own "$VU1" "$IMG/vf1/overlay.qcow2"
if ! start vf-own; then
    fail vf1 owner-lost-warned "virsh start failed: $OUT"
else
    line=$(syslog_for vf-own start | grep -F 'allowed with a warning' | tail -n1)
    nwarn=$(syslog_for vf-own start | grep -cF 'allowed with a warning')
    prep=$(syslog_for vf-own prepare | tail -n1)
    ov=$(grep -o "disk vda '$IMG/vf1/overlay.qcow2' (now [0-9:]*) will be owned by [0-9:]*" <<<"$line" | sed 's/.* //')
    bs=$(grep -o "backing vda '$IMG/vf1/base.qcow2' (now [0-9:]*) stays owned by [0-9:]*" <<<"$line" | sed 's/.* //')
    iso=$(grep -o "cdrom hdc '$IMG/vf1/cidata.iso' (now [0-9:]*) stays owned by [0-9:]*" <<<"$line" | sed 's/.* //')
    FIXSEC=$(grep -o "<seclabel type='static' model='dac' relabel='no'><label>[^<]*</label></seclabel>" <<<"$line" | head -n1)
    running=$(stat -c %u:%g "$IMG/vf1/overlay.qcow2" "$IMG/vf1/base.qcow2" | paste -sd,)
    note "vf1 syslog: $line"
    timeout 60 virsh -q destroy vf-own >/dev/null 2>&1 || note "virsh destroy vf-own failed"
    if [ -z "$line" ]; then
        fail vf1 owner-lost-warned "started, but the hook logged no 'allowed with a warning' line: $(syslog_for vf-own)"
    elif [ "$nwarn" != 1 ] || ! grep -qF 'prepare: allowed: ' <<<"$prep"; then
        fail vf1 owner-lost-warned "expected one start warning and a plain 'allowed' prepare line, got $nwarn warning(s); prepare: $prep"
    elif [ -z "$ov" ] || [ -z "$bs" ] || [ -z "$iso" ] || [ -z "$FIXSEC" ]; then
        fail vf1 owner-lost-warned "the warning does not name the overlay's, the base's and the ISO's end owners and a seclabel fix: $line"
    elif [ "$ndoc" != 1 ]; then
        fail vf1 owner-lost-warned "virtguard doctor does not report the share once as 'chown works, remembered owners are lost' ($ndoc times): $(ev "$doc")"
    else
        # the host compares these with what it sees after the power-off
        echo "E2E-VF $GUEST/$CELL vf1 overlay=$ov base=$bs iso=$iso running=$running doctor=once"
    fi
fi
gone vf-own

# vf2: the label the warning proposed; nothing is chowned.
[ -n "$FIXSEC" ] || FIXSEC="<seclabel type='static' model='dac' relabel='no'><label>$FIX_LABEL</label></seclabel>"
label=$(sed -n 's/.*<label>\([^<]*\)<.*/\1/p' <<<"$FIXSEC")
define vf-label "$VU2" "$IMG/vf2/overlay.qcow2" "$label"
if ! start vf-label; then
    fail vf2 label-keeps-owner "virsh start with $FIXSEC failed: $OUT"
else
    pid=$(qemu_pid vf-label)
    quid=$(qemu_uid "$pid")
    qlabel=$(qemu_label "$pid")
    running=$(stat -c %u:%g "$IMG/vf2/overlay.qcow2" "$IMG/vf2/base.qcow2" | paste -sd,)
    line=$(syslog_for vf-label start | tail -n1)
    note "vf2 syslog: $line"
    timeout 60 virsh -q destroy vf-label >/dev/null 2>&1 || note "virsh destroy vf-label failed"
    if [ "$quid" != "$OWNER_UID" ]; then
        fail vf2 label-keeps-owner "QEMU ran as uid '$quid', not $OWNER_UID, with $FIXSEC"
    elif [[ "$qlabel" != "libvirt-$VU2 (enforce)" ]]; then
        fail vf2 label-keeps-owner "QEMU is not confined by libvirt-$VU2 in enforce mode: '$qlabel'"
    elif ! grep -qF 'start: allowed: ' <<<"$line"; then
        fail vf2 label-keeps-owner "the start with the proposed label did not log a plain 'allowed': $line"
    else
        echo "E2E-VF $GUEST/$CELL vf2 label=$label qemu-uid=$quid running=$running profile=${qlabel// /}"
    fi
fi
gone vf-label
libvirtd_stop
echo "E2E TIME $GUEST/$CELL(vf1,vf2) $((SECONDS - T_CELL))"
