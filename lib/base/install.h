/* virtguard: how virtguard was installed, and the fixes that fit it.
 *
 * Every message that tells the admin to (re)install a file, make libvirtd
 * see a hook or read a guide takes its words from here, so that a package
 * install is told `systemctl reload libvirtd` and /usr/share/doc/virtguard/…
 * rather than `make install` and a path in a source tree it does not have.
 *
 * The facts are cheap:
 *   package: a configure-time fact (--with-install-kind=package, which
 *            debian/rules passes): the package's build knows it is one;
 *   systemd: PID 1 is systemd when ROOT/run/systemd/system is a directory
 *            (sd_booted(3)'s test), read at run time. */
#pragma once

#include <stdbool.h>

typedef struct vg_install {
    bool package;           /* installed by the Debian package */
    bool systemd;           /* PID 1 is systemd */
} vg_install;

/* Detect under `root` (NULL or "": the live system). */
vg_install vg_install_detect(const char *root);

/* The command that makes libvirtd re-read its hook directories:
 *   "systemctl reload libvirtd"                    (systemd)
 *   "kill -HUP \"$(cat /run/libvirtd.pid)\""       (no systemd: its pidfile) */
const char *vg_install_reload_libvirtd(const vg_install *in);

/* What puts virtguard's installed files back in place:
 *   "apt-get install --reinstall virtguard"        (package)
 *   "'make install' from the source tree"          (otherwise) */
const char *vg_install_reinstall(const vg_install *in);

/* Where an installed guide is: DOCDIR "/" `name` (e.g.
 * "/usr/share/doc/virtguard/migrating-off-security-driver-none.md"); both
 * installs put the guides there.  The caller frees it. */
char *vg_install_doc(const char *name);
