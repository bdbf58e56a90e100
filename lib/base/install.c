/* virtguard: how virtguard was installed (lib/base/install.h). */
#include <config.h>

#include <sys/stat.h>

#include "install.h"
#include "util.h"

static bool dir_under(const char *root, const char *path)
{
    autofree char *p = vg_xasprintf("%s%s", root ? root : "", path);
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

vg_install vg_install_detect(const char *root)
{
    return (vg_install){
        .package = VG_INSTALL_PACKAGE,
        .systemd = dir_under(root, "/run/systemd/system"),
    };
}

const char *vg_install_reload_libvirtd(const vg_install *in)
{
    return in->systemd ? "systemctl reload libvirtd" : "kill -HUP \"$(cat /run/libvirtd.pid)\"";
}

const char *vg_install_reinstall(const vg_install *in)
{
    return in->package ? "apt-get install --reinstall virtguard"
                       : "'make install' from the source tree";
}

char *vg_install_doc(const char *name)
{
    return vg_xasprintf("%s/%s", DOCDIR, name);
}
