#!/bin/bash
# Scenario 14: the path-trust rule (docs/SECURITY.md) with the real libvirtd,
# hook and helper (`apparmor = "on"`, the seam of scenario 7).  What the
# share's writer controls never reaches another domain:
#  - a <filesystem> whose source is a symbolic link in the share root to a
#    sibling domain's directory (issue 19, finding 1) is refused at `virsh
#    start`, with the helper's message, and no rules file appears; naming
#    the sibling's directory itself is refused too (another defined domain's
#    files live there);
#  - an image directly in the root whose qcow2 header names another file of
#    the root as its external data file (finding 2, the flat layout);
#  - a device node on the share named as a disk (finding 6).
# The domain with its own directory as its share starts, and its rules file
# holds the tree.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"

vg_setup_with_helper
vg_conf_set "$VG_CONF" apparmor '"on"'
vg_mount_shared_tmpfs

# vm2: a domain libvirt keeps, with its files in its own directory
vg_make_images "$VG_SHARED/vm2" "$VG_IMAGE_OWNER"
vg_define vg-trust-vm2 "$VG_SHARED/vm2"
# vm1's writer links the root to vm2's directory
vg_make_images "$VG_SHARED/vm1" "$VG_IMAGE_OWNER"
mkdir -p "$VG_SHARED/vm1/share"
ln -s vm2 "$VG_SHARED/vm2link"
# QEMU's user owns the directories, so the hook's DAC check passes and the
# helper is the one that decides
chown -R "$VG_IMAGE_OWNER" "$VG_SHARED/vm1" "$VG_SHARED/vm2"
chown -h "$VG_IMAGE_OWNER" "$VG_SHARED/vm2link"

fs() { printf "<devices><filesystem type='mount' accessmode='passthrough'><source dir='%s'/><target dir='work'/></filesystem></devices>" "$1"; }
rules_of() { echo "$apparmordir/libvirt/libvirt-$(vg_virsh domuuid "$1" | tr -d '[:space:]').virtguard"; }
expect_no_rules() {
    local rules
    rules=$(rules_of "$1")
    [ ! -e "$rules" ] || vg_fail "a rules file was written for $1: $(cat "$rules")"
}

# Finding 1: the link in the root, as the share's source.
vg_define vg-trust-link "$VG_SHARED/vm1"
vg_add_to_domain vg-trust-link "$(fs "$VG_SHARED/vm2link")"
vg_expect_start_refused vg-trust-link \
    "domain 'vg-trust-link': filesystem 'work': '$VG_SHARED/vm2link' is a symbolic link on the shared mount that leads to '$VG_SHARED/vm2' (it holds 'vm2'); virtguard follows no symbolic link below a shared root, and never grants a directory through one, in any mode. Name the directory itself in the domain XML"
expect_no_rules vg-trust-link
vg_expect_syslog vg-trust-link "refused"

# ... and dev mode does not widen it: the hook lets the start go on (dev
# mode's warning), but the helper writes no rule for the tree.
vg_conf_set "$VG_CONF" mode '"dev"'
vg_expect_start_ok vg-trust-link
expect_no_rules vg-trust-link
vg_expect_syslog vg-trust-link "warned"
out=$(vg_virsh destroy vg-trust-link) || vg_fail "virsh destroy failed: $out"
# (undefined: its share, vm2 through the link, would itself refuse the next
# domain's tree over vm2 as a directory another domain shares)
out=$(vg_virsh undefine vg-trust-link) || vg_fail "virsh undefine failed: $out"
vg_conf_set "$VG_CONF" mode '"enforce"'

# vm2's directory named as it is: vm2's files live there.
vg_define vg-trust-other "$VG_SHARED/vm1"
vg_add_to_domain vg-trust-other "$(fs "$VG_SHARED/vm2")"
vg_expect_start_refused vg-trust-other \
    "filesystem 'work': '$VG_SHARED/vm2' holds '$VG_SHARED/vm2/" "a file of domain 'vg-trust-vm2'; a tree rule for it would give this domain that domain's files, so virtguard refuses it in every mode. Share a directory that holds only this domain's files"
expect_no_rules vg-trust-other

# Finding 2: the flat layout, a data file named in a root-level image's header.
qemu-img create -q -f qcow2 -o data_file="$VG_SHARED/flat.raw" "$VG_SHARED/flat.qcow2" 64M
cp "$VG_SHARED/vm1/seed.iso" "$VG_SHARED/seed.iso"
chown "$VG_IMAGE_OWNER" "$VG_SHARED/flat.qcow2" "$VG_SHARED/flat.raw" "$VG_SHARED/seed.iso"
vg_domain_xml vg-trust-flat "$VG_SHARED" | sed "s|$VG_SHARED/overlay.qcow2|$VG_SHARED/flat.qcow2|" \
    >"$VG_SCRATCH/vg-trust-flat.xml"
out=$(vg_virsh define "$VG_SCRATCH/vg-trust-flat.xml") || vg_fail "virsh define failed: $out"
vg_expect_start_refused vg-trust-flat \
    "external data file of '$VG_SHARED/flat.qcow2' (disk 'vda'): the header of '$VG_SHARED/flat.qcow2' names '$VG_SHARED/flat.raw' as its external data file, but the image lies directly in the shared root '$VG_SHARED'"
expect_no_rules vg-trust-flat

# Finding 6: a device node on the share named as a disk.
mknod "$VG_SHARED/vm1/null.img" c 1 3
chown "$VG_IMAGE_OWNER" "$VG_SHARED/vm1/null.img"
vg_domain_xml vg-trust-dev "$VG_SHARED/vm1" |
    sed -e "s|$VG_SHARED/vm1/overlay.qcow2|$VG_SHARED/vm1/null.img|" -e "0,/type='qcow2'/s//type='raw'/" \
    >"$VG_SCRATCH/vg-trust-dev.xml"
out=$(vg_virsh define "$VG_SCRATCH/vg-trust-dev.xml") || vg_fail "virsh define failed: $out"
vg_expect_start_refused vg-trust-dev \
    "disk 'vda': '$VG_SHARED/vm1/null.img' is a character device node on the shared mount, where virtguard grants only a regular file for it; refused in every mode"
expect_no_rules vg-trust-dev

# vm1 with its own directory as its share starts; the tree is in its rules.
vg_define vg-trust-ok "$VG_SHARED/vm1"
vg_add_to_domain vg-trust-ok "$(fs "$VG_SHARED/vm1/share")"
vg_expect_start_ok vg-trust-ok
rules=$(rules_of vg-trust-ok)
grep -qF "\"$VG_SHARED/vm1/share/**\" rwk" "$rules" || grep -qF "\"$VG_SHARED/vm1/share/**\" rw" "$rules" ||
    vg_fail "no tree rule for vm1's own share: $(cat "$rules")"
out=$(vg_virsh destroy vg-trust-ok) || vg_fail "virsh destroy failed: $out"
vg_log "PASS"
