#!/bin/bash
# guest-init.sh -- PID 1 of the e2e guest (installed as /e2e/init).
#
# Mounts the kernel filesystems, the 9p shares exactly as Lima does
# (trans=virtio, 9p2000.L, host QEMU unprivileged with security_model=none),
# loads the AppArmor profiles libvirt needs, starts virtlogd, virtlockd and
# libvirtd, runs /e2e/scenarios.sh, prints its results on the serial console
# and powers the machine off.  Everything goes to /dev/console.
# With e2e_share=virtiofs on the kernel command line (the virtiofs boot of
# run-e2e.sh) only the images share is mounted, over virtiofs, and
# /e2e/scenarios-virtiofs.sh runs instead.
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

# The shares, as Lima mounts them (its default 9p options for writable mounts);
# in the virtiofs boot (e2e_share=virtiofs) only the images share, over virtiofs.
SCENARIOS=/e2e/scenarios.sh
if grep -qw 'e2e_share=virtiofs' /proc/cmdline; then
    SCENARIOS=/e2e/scenarios-virtiofs.sh
    modprobe -a virtio_pci virtiofs || say "cannot load the virtiofs modules"
    mnt virtiofs images /var/lib/libvirt/images
else
    modprobe 9pnet_virtio && modprobe 9p || say "cannot load the 9p modules"
    P9OPTS=trans=virtio,version=9p2000.L,msize=131072,cache=mmap
    mnt 9p images /var/lib/libvirt/images "$P9OPTS"
    mnt 9p sandboxes /Users/dev/sandboxes "$P9OPTS"
fi
grep -E ' (9p|virtiofs) ' /proc/self/mountinfo | sed 's/^/e2e-init: mountinfo: /'

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
# cached at daemon start).
timeout --kill-after=10 "${E2E_TIMEOUT:-1500}" bash "$SCENARIOS"
say "scenarios exited with status $?"
# (the purge is checked once, in the main boot)
[ -e /e2e/package.sh ] && [ "$SCENARIOS" = /e2e/scenarios.sh ] && bash /e2e/package.sh purge

say "AppArmor audit lines:"
dmesg | grep -a 'apparmor=' | sed 's/^/e2e-dmesg: /'
say "syslog:"
syslog_lines /run/syslog.txt | sed 's/^/e2e-syslog: /'
echo
echo "E2E DONE"
