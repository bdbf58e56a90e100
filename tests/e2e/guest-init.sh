#!/bin/bash
# guest-init.sh -- PID 1 of the e2e guest (installed as /e2e/init).
#
# Mounts the kernel filesystems, loads the AppArmor profiles libvirt needs,
# installs the package, starts virtlogd and virtlockd, runs the scenarios of
# every share cell named by e2e_cells= on the kernel command line
# (/e2e/scenarios.sh with E2E_CELL=CELL, after /e2e/scenarios-virtiofs.sh
# for virtiofs-root), prints their results on the serial console and powers the
# machine off.  Everything goes to /dev/console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root TERM=dumb
exec </dev/null >/dev/console 2>&1

say() { echo "e2e-init: $*"; }
# The listener appends datagrams as they come, with no newline between
# them: one message per line again, split before each "<PRI>".
syslog_lines() { tr -d '\000' <"$1" 2>/dev/null | sed 's/<[0-9]\{1,3\}>/\n&/g' | sed '/^$/d'; }
poweroff_now() {
    sync
    echo o >/proc/sysrq-trigger
    sleep 30
}
trap poweroff_now EXIT

mnt() { # FSTYPE SOURCE DIR [OPTIONS]
    mkdir -p "$3"
    mountpoint -q "$3" || mount -t "$1" ${4:+-o "$4"} "$2" "$3" || say "cannot mount $1 on $3"
}
mnt proc proc /proc
mnt sysfs sysfs /sys
# The initramfs moved its devtmpfs onto /dev: mnt keeps it.  A second
# devtmpfs over it makes libvirt 11 (Debian 13) fail every start with
# "Unable to move /dev/pts mount to /run/libvirt/qemu/…pts: Invalid argument".
mnt devtmpfs devtmpfs /dev
mnt devpts devpts /dev/pts gid=5,mode=620
mnt tmpfs tmpfs /dev/shm
mnt tmpfs tmpfs /run mode=0755
mnt tmpfs tmpfs /tmp
mnt securityfs securityfs /sys/kernel/security
mnt cgroup2 cgroup2 /sys/fs/cgroup
mount -o remount,rw / 2>/dev/null
hostname e2e-guest
ip link set lo up

# Kernel audit lines (apparmor="DENIED") are printk'd without auditd:
# no rate limit, so none is lost; keep them off the serial console.
echo 0 >/proc/sys/kernel/printk_ratelimit
echo 4 >/proc/sys/kernel/printk

say "kernel $(uname -r), LSMs: $(cat /sys/kernel/security/lsm 2>/dev/null)"
say "apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"

# The share cells this boot runs (e2e_cells=A,B on the kernel command line;
# tests/e2e/README.md): scenarios.sh mounts each cell's shares itself (9p
# with Lima's options, or virtiofs); the root-virtiofsd cell's images share
# is mounted here for scenarios-virtiofs.sh.
CELLS=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^e2e_cells=//p' | tr , ' ')
CELLS=${CELLS:-9p-none}
say "cells: $CELLS"
case " $CELLS" in *" 9p-"*)
    modprobe 9pnet_virtio && modprobe 9p || say "cannot load the 9p modules" ;;
esac
case " $CELLS" in *" virtiofs-"*)
    modprobe -a virtio_pci virtiofs || say "cannot load the virtiofs modules" ;;
esac
case " $CELLS " in *" virtiofs-root "*) mnt virtiofs images /var/lib/libvirt/images ;; esac
# The 9p-none images share too, before the package: the Lima provisioning
# script runs (package.sh install) with the images mount in place, as Lima
# mounts before it provisions.
case " $CELLS " in *" 9p-none "*)
    mnt 9p images /var/lib/libvirt/images trans=virtio,version=9p2000.L,msize=131072,cache=mmap ;;
esac

# syslog: the guest has no syslog daemon; keep what virtguard logs.
socat -u UNIX-RECV:/dev/log,mode=666 OPEN:/run/syslog.txt,creat,append &
for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done

# AppArmor: the profiles libvirt needs (and virtguard's helper, if installed).
for p in usr.sbin.libvirtd usr.lib.libvirt.virt-aa-helper usr.sbin.virtguard-helper; do
    [ -e "/etc/apparmor.d/$p" ] || { say "no AppArmor profile $p"; continue; }
    apparmor_parser -r -W "/etc/apparmor.d/$p" || say "cannot load AppArmor profile $p"
done
say "loaded profiles: $(sed 's/ (.*//' /sys/kernel/security/apparmor/profiles | tr '\n' ' ')"

# virtguard as a Debian package (tests/e2e/package.sh): installed with apt-get
# here, purged after the scenarios and the host state compared.
[ -e /e2e/package.sh ] && bash /e2e/package.sh install

mkdir -p /run/libvirt /var/log/libvirt/qemu
virtlogd -d || say "virtlogd did not start"
virtlockd -d || say "virtlockd did not start"

# The scenarios start and stop libvirtd themselves (the hook's presence is
# cached at daemon start), one cell after the other.
for cell in $CELLS; do
    # the root-virtiofsd cell's own two scenarios first (the host checks
    # their owners after the power-off)
    [ "$cell" = virtiofs-root ] &&
        timeout --kill-after=10 300 bash /e2e/scenarios-virtiofs.sh
    E2E_CELL=$cell timeout --kill-after=10 "${E2E_TIMEOUT:-1500}" bash /e2e/scenarios.sh
    say "cell $cell: scenarios exited with status $?"
done
grep -E ' (9p|virtiofs) ' /proc/self/mountinfo | sed 's/^/e2e-init: mountinfo: /'
# the purge is checked once, in the boot whose command line says e2e_purge
[ -e /e2e/package.sh ] && grep -qw e2e_purge /proc/cmdline && bash /e2e/package.sh purge

say "AppArmor audit lines:"
dmesg | grep -a 'apparmor=' | sed 's/^/e2e-dmesg: /'
say "syslog:"
syslog_lines /run/syslog.txt | sed 's/^/e2e-syslog: /'
echo
echo "E2E DONE"
