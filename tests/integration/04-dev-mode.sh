#!/bin/bash
# Scenario 4: dev mode.  The shared mount is gone (shadow directory with the
# files), the same check fails, but the start proceeds; the evidence is the
# syslog line virtguard writes ("warned").
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
vg_enter_ns "$@"
vg_setup

vg_write_config dev tmpfs
vg_make_images "$VG_SHARED" "$VG_IMAGE_OWNER"   # no mount: a plain directory
vg_is_mounted "$VG_SHARED" && vg_hard_error "$VG_SHARED is mounted"
vg_define vg-dev "$VG_SHARED"

vg_expect_start_ok vg-dev
vg_expect_syslog vg-dev warned
vg_syslog_lines | grep -F virtguard | grep -F vg-dev | sed 's/^/  syslog| /'
out=$(vg_virsh destroy vg-dev) || vg_fail "virsh destroy failed: $out"
vg_log "PASS"
