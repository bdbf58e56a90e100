/* virtguard: how virtguard was installed (lib/base/install.h). */
#include <config.h>

#include <sys/stat.h>

#include "install.h"
#include "util.h"

static bool exists_under(const char *root, const char *path, bool dir)
{
    autofree char *p = vg_xasprintf("%s%s", root ? root : "", path);
    struct stat st;
    return stat(p, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

vg_install vg_install_detect(const char *root)
{
    return (vg_install){
        .package = exists_under(root, "/var/lib/dpkg/info/virtguard.list", false),
        .systemd = exists_under(root, "/run/systemd/system", true),
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
