/* virtguard: the parts of libvirt's qemu.conf that decide who QEMU runs as
 * and whether libvirt relabels files.  Types are checked the way libvirt's
 * virConfGetValue*() getters check them, so a qemu.conf libvirt refuses is
 * refused here too; a key set twice means its first value, as in libvirt.
 */
#include <config.h>

#include "confparse.h"
#include "qemuconf.h"

vg_qemu_conf *vg_qemu_conf_new_default(void)
{
    vg_qemu_conf *q = vg_xcalloc(1, sizeof(*q));
    q->user = vg_xstrdup(VG_DEFAULT_QEMU_USER);
    q->group = vg_xstrdup(VG_DEFAULT_QEMU_GROUP);
    q->dynamic_ownership = true;
    q->remember_owner = true;
    return q;
}

void vg_qemu_conf_free(vg_qemu_conf *q)
{
    if (!q)
        return;
    free(q->source);
    free(q->user);
    free(q->group);
    vg_strv_free(q->security_driver);
    free(q);
}


static int get_string(vg_error **err, const vg_conf *conf, const char *key, char **dst)
{
    const vg_conf_entry *e = vg_conf_get(conf, key);
    if (!e)
        return 0;
    if (e->type != VG_CONF_STRING)
        return vg_conf_entry_error(err, conf, e, "expected a string, got a %s", vg_conf_type_name(e->type));
    if (!*e->str)
        return vg_conf_entry_error(err, conf, e, "expected a user or group name, got an empty string");
    free(*dst);
    *dst = vg_xstrdup(e->str);
    return 0;
}

/* libvirt's virConfGetValueBool: a non-negative number, 0 or 1. */
static int get_bool(vg_error **err, const vg_conf *conf, const char *key, bool *dst)
{
    const vg_conf_entry *e = vg_conf_get(conf, key);
    if (!e)
        return 0;
    if (e->type != VG_CONF_INT)
        return vg_conf_entry_error(err, conf, e, "expected 0 or 1, got a %s", vg_conf_type_name(e->type));
    if (e->num != 0 && e->num != 1)
        return vg_conf_entry_error(err, conf, e, "expected 0 or 1, got %lld", e->num);
    *dst = e->num == 1;
    return 0;
}

static int get_security_driver(vg_error **err, const vg_conf *conf, vg_qemu_conf *q)
{
    const vg_conf_entry *e = vg_conf_get(conf, "security_driver");
    if (!e)
        return 0;
    switch (e->type) {
    case VG_CONF_STRING:
        q->security_driver = vg_xcalloc(1, sizeof(char *));
        vg_strv_push(&q->security_driver, vg_xstrdup(e->str));
        break;
    case VG_CONF_LIST:
        /* an empty list means what unset means: libvirt probes */
        if (!e->list[0])
            return 0;
        q->security_driver = vg_strv_dup(e->list);
        break;
    case VG_CONF_INT:
        return vg_conf_entry_error(err, conf, e, "expected a string or a list of strings, got a number");
    }
    q->security_driver_line = e->line;
    return 0;
}

int vg_qemu_conf_parse(const char *text, size_t len, const char *name, vg_qemu_conf **out,
                       vg_error **err)
{
    autoconf vg_conf *conf = NULL;
    autoqemuconf vg_qemu_conf *q = NULL;

    *out = NULL;
    int r = vg_conf_parse(text, len, name, &conf, err);
    if (r < 0)
        return r;
    q = vg_qemu_conf_new_default();
    if ((r = get_string(err, conf, "user", &q->user)) < 0 ||
        (r = get_string(err, conf, "group", &q->group)) < 0 ||
        (r = get_bool(err, conf, "dynamic_ownership", &q->dynamic_ownership)) < 0 ||
        (r = get_bool(err, conf, "remember_owner", &q->remember_owner)) < 0 ||
        (r = get_security_driver(err, conf, q)) < 0)
        return r;
    q->source = vg_xstrdup(conf->name);
    *out = steal_pointer(&q);
    return 0;
}

int vg_qemu_conf_load(const char *path, vg_qemu_conf **out, vg_error **err)
{
    autofree char *text = NULL;
    size_t len = 0;

    *out = NULL;
    if (!path)
        path = LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf";
    int r = vg_conf_read_text(path, &text, &len, err);
    if (r == -ENOENT) {
        *out = vg_qemu_conf_new_default();
        return 0;
    }
    if (r < 0)
        return r;
    return vg_qemu_conf_parse(text, len, path, out, err);
}

bool vg_qemu_conf_security_none(const vg_qemu_conf *q)
{
    if (!q || !q->security_driver || !q->security_driver[0])
        return false;
    for (size_t i = 0; q->security_driver[i]; i++)
        if (strcmp(q->security_driver[i], "none") != 0)
            return false;
    return true;
}
