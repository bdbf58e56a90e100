#!/bin/bash
# What virtguard changes in libvirt's per-domain AppArmor files, and that
# unload, reconcile and gc take back exactly that (docs/SECURITY.md,
# "Lifecycle"), with the real helper and apparmor_parser on a scratch copy
# of /etc/apparmor.d (apparmor = "on": no kernel AppArmor needed):
#   - dev mode's complain flag is marked as virtguard's and removed by
#     unload, reconcile, an enforce-mode load and gc; an admin's own complain
#     flag (unmarked) is never removed;
#   - gc finds domains by parsing libvirt's files (root <domain>, or
#     <domstatus>/<domain>): a <domain> element inside <metadata> does not
#     cut the document short, so a live domain's rules stay;
#   - gc removes nothing when a domain file cannot be read.
set -euo pipefail
: "${top_builddir:?}" "${top_srcdir:?}"
# shellcheck source=tests/helper/fake-root.sh
. "$top_srcdir/tests/helper/fake-root.sh"
helper_fake_root lifecycle
qemu-img create -q -f qcow2 "$T/images/disk.qcow2" 16M
# domxml UUID NAME [METADATA]: what libvirt keeps in /etc/libvirt/qemu.
domxml() { domain_xml "$2" "$1" qcow2 "$T/images/disk.qcow2" "${3:-}"; }
domxml $UUID sbx-1 > "$T/dom.xml"
MARK='# virtguard: complain flag added by virtguard (dev mode)'
head_is() { grep -q "^profile libvirt-$UUID $1 {\$" "$MAIN"; }
marked() { grep -qF "$MARK" "$MAIN"; }
not() { ! "$@"; }

# --- the complain flag: dev mode adds it, with the mark; unload takes it back
conf dev
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "dev mode: complain flag added" head_is "flags=(attach_disconnected, complain)"
check "dev mode: marked as virtguard's" marked
check "dev mode: the profile with the mark compiles" compiles
conf enforce    # the config changes while the domain runs; unload does not care
out=$(H unload --uuid $UUID)
check "unload removes the rules" test ! -e "$RULES"
check "unload takes the complain flag off" head_is "flags=(attach_disconnected)"
check "unload removes the mark" not marked
check "unload keeps the inert include line" grep -q "#include if exists <libvirt/libvirt-$UUID.virtguard>" "$MAIN"
check "unload says what it took back" grep -q "took virtguard's complain flag off" <<<"$out"
check "the restored profile compiles" compiles
out=$(H unload --uuid $UUID)
check "a second unload does nothing and says nothing" test -z "$out"

# --- reconcile (the hook, at a start virtguard does not manage)
conf dev
H load --uuid $UUID < "$T/dom.xml" >/dev/null
H reconcile --uuid $UUID >/dev/null
check "reconcile removes the rules" test ! -e "$RULES"
check "reconcile takes the complain flag off" head_is "flags=(attach_disconnected)"

# --- an enforce-mode load takes virtguard's complain flag off too
conf dev
H load --uuid $UUID < "$T/dom.xml" >/dev/null
conf enforce
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "enforce load takes virtguard's complain flag off" head_is "flags=(attach_disconnected)"
check "...and its mark" not marked

# --- an admin's own complain flag is never removed
sed -i "s/^profile libvirt-$UUID flags=(attach_disconnected) {/profile libvirt-$UUID flags=(attach_disconnected, complain) {/" "$MAIN"
check "(the admin set complain)" head_is "flags=(attach_disconnected, complain)"
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "enforce load keeps the admin's complain flag" head_is "flags=(attach_disconnected, complain)"
conf dev
H load --uuid $UUID < "$T/dom.xml" >/dev/null
check "dev load does not mark the admin's flag as virtguard's" not marked
H unload --uuid $UUID >/dev/null
check "unload keeps the admin's complain flag" head_is "flags=(attach_disconnected, complain)"
H reconcile --uuid $UUID >/dev/null
check "reconcile keeps the admin's complain flag" head_is "flags=(attach_disconnected, complain)"
sed -i "s/flags=(attach_disconnected, complain) {/flags=(attach_disconnected) {/" "$MAIN"

# --- gc: a <domain> inside <metadata> must not hide a live domain
conf dev
H load --uuid $UUID < "$T/dom.xml" >/dev/null
touch -d '-1 hour' "$RULES" "$MAIN"        # older than gc's grace period
META="<app:domain xmlns:app='urn:example'><app:uuid>x</app:uuid></app:domain><domain xmlns='urn:example:2'>y</domain>"
domxml $UUID sbx-1 "$META" > "$T/etc-qemu/sbx-1.xml"
H gc >/dev/null
check "gc keeps the rules of a defined domain with <domain> in its metadata" test -e "$RULES"
check "...and its complain flag" marked
rm "$T/etc-qemu/sbx-1.xml"
{ echo "<domstatus state='running' pid='1'>"; domxml $UUID sbx-1 "$META"; echo "</domstatus>"; } > "$T/run-qemu/sbx-1.xml"
H gc >/dev/null
check "gc keeps the rules of a running domain (status file) with <domain> in its metadata" test -e "$RULES"
# Another domain's <uuid> in the metadata does not make that domain known.
OTHER=11111111-2222-3333-4444-555555555555
echo '# orphan' > "$T/aa/libvirt/libvirt-$OTHER.virtguard"
touch -d '-1 hour' "$T/aa/libvirt/libvirt-$OTHER.virtguard"
domxml $UUID sbx-1 "<domain><uuid>$OTHER</uuid></domain>" > "$T/run-qemu/sbx-1.xml"
H gc >/dev/null
check "a <uuid> inside <metadata> keeps no rules alive" test ! -e "$T/aa/libvirt/libvirt-$OTHER.virtguard"
check "...while the domain's own stay" test -e "$RULES"

# --- gc removes nothing when it cannot read every domain file
rm "$T/run-qemu/sbx-1.xml"
printf '<domain type="qemu"><name>broken' > "$T/etc-qemu/broken.xml"
st=0; H gc >"$T/out" 2>"$T/err" || st=$?
check "gc with an unreadable domain file fails" test $st -eq 1
check "...naming the file" grep -qF "$T/etc-qemu/broken.xml" "$T/err"
check "...and removes no rules" test -e "$RULES"
rm "$T/etc-qemu/broken.xml"

# --- gc of a domain that is gone: libvirt's own profile file again
H gc >"$T/out"
check "gc removes the rules of a domain that is gone" test ! -e "$RULES"
check "gc takes virtguard's complain flag off" head_is "flags=(attach_disconnected)"
check "gc removes the mark" not marked
check "gc removes the include line" not grep -q "libvirt-$UUID.virtguard" "$MAIN"
check "gc says so" grep -q "removed the include of virtguard's rules" "$T/out"
check "the profile is libvirt's own again" compiles

total=$(grep -c '^check ' "$0" || true)
echo "$((total - fails)) passed, $fails failed"
[ $fails -eq 0 ]
