/* virtguard: host files in libvirt's QEMU namespace (see qemu-cmdline.h).
 *
 * Option syntax as QEMU 7.2 parses it: util/qemu-option.c opts_do_parse()
 * (-fw_cfg, -drive: "name=value" pairs, ",," escapes a comma in a value, a
 * bare "name" is a flag, -fw_cfg's first element may be the name) and
 * util/keyval.c (-blockdev: the same escaping, dotted keys for nested
 * objects, or a JSON object when the argument starts with '{'). */
#include <config.h>

#include "qemu-cmdline.h"
#include "xmlsafe.h"

#define MAX_JSON_DEPTH 16

/* ---- QEMU option text ------------------------------------------------- */

void vg_qemu_opts_free(vg_qemu_opt *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

static void opt_add(vg_qemu_opt **v, size_t *n, char *key, char *value)
{
    vg_qemu_opt *o = VG_APPEND(*v, *n);
    o->key = key;
    o->value = value;
}

/* A value from *pp up to the next lone ',' (",," is an escaped comma, as in
 * QEMU's get_opt_value()); *pp is left on that ',' or on the NUL. */
static char *opt_value(const char **pp)
{
    vg_buf b = { 0 };
    const char *p = *pp;
    for (; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            vg_buf_addc(&b, ',');
            p++;
        } else if (*p == ',') {
            break;
        } else {
            vg_buf_addc(&b, *p);
        }
    }
    *pp = p;
    return vg_buf_steal(&b);
}

size_t vg_qemu_opts_split(const char *s, const char *implied, vg_qemu_opt **out)
{
    vg_qemu_opt *v = NULL;
    size_t n = 0;
    bool first = true;

    for (const char *p = s; *p;) {
        /* the name: up to '=' or ',' (names have no escapes) */
        const char *end = p + strcspn(p, "=,");
        if (*end != '=') {
            /* "NAME" alone: a flag, or the implied option's value (with
             * ",," escapes, like get_opt_value) */
            if (first && implied) {
                opt_add(&v, &n, vg_xstrdup(implied), opt_value(&p));
            } else {
                opt_add(&v, &n, vg_xstrndup(p, (size_t)(end - p)), vg_xstrdup("on"));
                p = end;
            }
        } else {
            char *key = vg_xstrndup(p, (size_t)(end - p));
            p = end + 1;
            opt_add(&v, &n, key, opt_value(&p));
        }
        first = false;
        if (*p == ',')
            p++;
    }
    *out = v;
    return n;
}

const char *vg_qemu_opts_get(const vg_qemu_opt *v, size_t n, const char *key)
{
    for (size_t i = n; i > 0; i--)
        if (strcmp(v[i - 1].key, key) == 0)
            return v[i - 1].value;
    return NULL;
}

/* ---- the JSON form of -blockdev, flattened to dotted keys -------------- */

typedef struct json_in {
    const char *p;
    vg_qemu_opt *v;
    size_t n;
} json_in;

static void json_ws(json_in *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
        j->p++;
}

/* A JSON string (j->p at '"'); only \uXXXX below 0x80 is decoded (file
 * names needing more are left unchecked). */
static int json_string(json_in *j, char **out)
{
    vg_buf b = { 0 };

    if (*j->p != '"')
        return -EINVAL;
    for (j->p++; *j->p != '"'; j->p++) {
        unsigned char c = (unsigned char)*j->p;
        if (!c || c < 0x20) {
            vg_buf_clear(&b);
            return -EINVAL;
        }
        if (c != '\\') {
            vg_buf_addc(&b, (char)c);
            continue;
        }
        c = (unsigned char)*++j->p;
        const char *esc = strchr("\"\\/bfnrt", c);
        if (c && esc) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            vg_buf_addc(&b, map[esc - "\"\\/bfnrt"]);
        } else if (c == 'u') {
            unsigned v = 0;
            for (int k = 1; k <= 4; k++) {
                char h = j->p[k];
                if (!h || !strchr("0123456789abcdefABCDEF", h)) {
                    vg_buf_clear(&b);
                    return -EINVAL;
                }
                v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            if (v == 0 || v >= 0x80) {
                vg_buf_clear(&b);
                return -EINVAL;
            }
            vg_buf_addc(&b, (char)v);
            j->p += 4;
        } else {
            vg_buf_clear(&b);
            return -EINVAL;
        }
    }
    j->p++;
    *out = vg_buf_steal(&b);
    return 0;
}

static int json_value(json_in *j, const char *key, int depth);

static int json_object(json_in *j, const char *prefix, int depth)
{
    if (depth > MAX_JSON_DEPTH || *j->p != '{')
        return -EINVAL;
    j->p++;
    json_ws(j);
    if (*j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        autofree char *name = NULL;
        json_ws(j);
        if (json_string(j, &name) < 0)
            return -EINVAL;
        json_ws(j);
        if (*j->p != ':')
            return -EINVAL;
        j->p++;
        json_ws(j);
        autofree char *key = *prefix ? vg_xasprintf("%s.%s", prefix, name) : vg_xstrdup(name);
        if (json_value(j, key, depth + 1) < 0)
            return -EINVAL;
        json_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != '}')
            return -EINVAL;
        j->p++;
        return 0;
    }
}

static int json_value(json_in *j, const char *key, int depth)
{
    char *s = NULL;

    if (*j->p == '{')
        return json_object(j, key, depth);
    if (*j->p == '"') {
        if (json_string(j, &s) < 0)
            return -EINVAL;
        opt_add(&j->v, &j->n, vg_xstrdup(key), s);
        return 0;
    }
    if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
        bool t = *j->p == 't';
        opt_add(&j->v, &j->n, vg_xstrdup(key), vg_xstrdup(t ? "on" : "off"));
        j->p += t ? 4 : 5;
        return 0;
    }
    if (strncmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return 0;
    }
    if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
        const char *start = j->p;
        j->p += strspn(j->p, "-+0123456789.eE");
        opt_add(&j->v, &j->n, vg_xstrdup(key), vg_xstrndup(start, (size_t)(j->p - start)));
        return 0;
    }
    return -EINVAL;     /* arrays: nothing of ours is in one */
}

static int json_flatten(const char *s, vg_qemu_opt **out, size_t *n_out)
{
    json_in j = { .p = s };
    json_ws(&j);
    int r = json_object(&j, "", 0);
    json_ws(&j);
    if (r < 0 || *j.p) {
        vg_qemu_opts_free(j.v, j.n);
        return -EINVAL;
    }
    *out = j.v;
    *n_out = j.n;
    return 0;
}

/* ---- arguments → paths ---------------------------------------------- */

static bool on(const char *v)
{
    return vg_streq(v, "on") || vg_streq(v, "true") || vg_streq(v, "yes");
}

/* A value for a message: printable ASCII only, at most 80 bytes. */
static char *shown(const char *s)
{
    vg_buf b = { 0 };
    size_t i = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && i < 80; p++, i++)
        vg_buf_addc(&b, *p >= 0x20 && *p < 0x7f && *p != '\'' ? (char)*p : '?');
    if (strlen(s) > 80)
        vg_buf_add(&b, "...");
    return vg_buf_steal(&b);
}

static void add_file(vg_domain *d, const char *where, const vg_domain_path *tmpl,
                     const char *key, const char *path)
{
    if (path[0] != '/') {
        autofree char *v = shown(path);
        vg_domain_add_unresolved(d, where, "%s='%s' is not an absolute path (a protocol or a "
                                 "name relative to QEMU's directory): not checked", key, v);
        return;
    }
    vg_domain_add_path(d, tmpl, path);
}

static void fw_cfg(vg_domain *d, const char *where, const char *arg)
{
    vg_qemu_opt *o = NULL;
    size_t n = vg_qemu_opts_split(arg, "name", &o);
    const char *file = vg_qemu_opts_get(o, n, "file");
    vg_domain_path t = { .role = VG_ROLE_OTHER, .access = VG_ACCESS_R, .kind = VG_KIND_FILE,
                         .readonly = true, .relabel = false,
                         .device = (char *)vg_qemu_opts_get(o, n, "name") };
    if (file)
        add_file(d, where, &t, "file", file);
    vg_qemu_opts_free(o, n);
}

static bool filename_key(const char *key)
{
    size_t n = strlen(key);
    return strcmp(key, "filename") == 0 || (n > 9 && strcmp(key + n - 9, ".filename") == 0);
}

static void drive(vg_domain *d, const char *where, const char *arg)
{
    vg_qemu_opt *o = NULL;
    size_t n = vg_qemu_opts_split(arg, NULL, &o);
    bool ro = on(vg_qemu_opts_get(o, n, "readonly")) || on(vg_qemu_opts_get(o, n, "read-only"));
    bool cdrom = vg_streq(vg_qemu_opts_get(o, n, "media"), "cdrom");
    vg_domain_path t = { .role = cdrom ? VG_ROLE_CDROM : VG_ROLE_DISK,
                         .access = ro || cdrom ? VG_ACCESS_R : VG_ACCESS_RW,
                         .kind = VG_KIND_FILE, .readonly = ro || cdrom,
                         .device = (char *)vg_qemu_opts_get(o, n, "id"),
                         .format = (char *)vg_qemu_opts_get(o, n, "format") };
    for (size_t i = 0; i < n; i++)
        if (strcmp(o[i].key, "file") == 0 || filename_key(o[i].key))
            add_file(d, where, &t, o[i].key, o[i].value);
    vg_qemu_opts_free(o, n);
}

typedef struct blockdev {
    char *where;
    vg_qemu_opt *o;
    size_t n;
} blockdev;

static bool protocol_driver(const char *drv)
{
    return vg_streq(drv, "file") || vg_streq(drv, "host_device") || vg_streq(drv, "host_cdrom");
}

/* The format driver stacked on node `node` by another -blockdev, or NULL. */
static const char *format_above(const blockdev *b, size_t nb, const char *node)
{
    for (size_t i = 0; node && i < nb; i++) {
        const char *drv = vg_qemu_opts_get(b[i].o, b[i].n, "driver");
        if (!protocol_driver(drv) && vg_streq(vg_qemu_opts_get(b[i].o, b[i].n, "file"), node))
            return drv;
    }
    return NULL;
}

static void blockdevs(vg_domain *d, blockdev *b, size_t nb)
{
    for (size_t i = 0; i < nb; i++) {
        const vg_qemu_opt *o = b[i].o;
        size_t n = b[i].n;
        bool ro = on(vg_qemu_opts_get(o, n, "read-only"));
        for (size_t k = 0; k < n; k++) {
            if (!filename_key(o[k].key))
                continue;
            /* the format: the driver one level up ("file.filename" of a
             * qcow2 node), or a node that names this one as its file */
            size_t plen = strlen(o[k].key) - strlen("filename");
            const char *format = NULL;
            if (plen > 0) {
                autofree char *pre = vg_xstrndup(o[k].key, plen - 1);
                char *dot = strrchr(pre, '.');
                autofree char *up = dot ? vg_xasprintf("%.*s.driver", (int)(dot - pre), pre)
                                        : vg_xstrdup("driver");
                format = vg_qemu_opts_get(o, n, up);
            } else {
                format = format_above(b, nb, vg_qemu_opts_get(o, n, "node-name"));
            }
            vg_domain_path t = { .role = VG_ROLE_DISK, .kind = VG_KIND_FILE,
                                 .access = ro ? VG_ACCESS_R : VG_ACCESS_RW, .readonly = ro,
                                 .device = (char *)vg_qemu_opts_get(o, n, "node-name"),
                                 .format = protocol_driver(format) ? NULL : (char *)format };
            add_file(d, b[i].where, &t, o[k].key, o[k].value);
        }
    }
}

static bool is_qemu_el(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           xmlStrEqual(n->ns->href, BAD_CAST VG_QEMU_NS) && xmlStrEqual(n->name, BAD_CAST name);
}

void vg_qemu_commandline_paths(vg_domain *d, xmlNode *cl)
{
    autostrv char **args = NULL;
    autostrv char **other = NULL;
    size_t n_env = 0, n_fw = 0, n_drive = 0, n_bd = 0, nb = 0, n_values = 0;
    blockdev *b = NULL;

    for (xmlNode *c = cl->children; c; c = c->next) {
        if (is_qemu_el(c, "arg")) {
            char *v = vg_xml_attr(c, "value");
            vg_strv_push(&args, v ? v : vg_xstrdup(""));
        } else if (is_qemu_el(c, "env")) {
            n_env++;
        }
    }
    for (size_t i = 0; args && args[i]; i++) {
        const char *a = args[i];
        const char *opt = a[0] == '-' && a[1] == '-' ? a + 1 : a;
        bool ours = strcmp(opt, "-fw_cfg") == 0 || strcmp(opt, "-drive") == 0 ||
                    strcmp(opt, "-blockdev") == 0;
        if (ours && !args[i + 1]) {
            autofree char *s = shown(a);
            vg_domain_add_unresolved(d, "qemu:commandline", "'%s' is the last argument, "
                                     "without its value", s);
            continue;
        }
        if (strcmp(opt, "-fw_cfg") == 0) {
            autofree char *where = vg_xasprintf("qemu:commandline -fw_cfg #%zu", n_fw++);
            fw_cfg(d, where, args[++i]);
        } else if (strcmp(opt, "-drive") == 0) {
            autofree char *where = vg_xasprintf("qemu:commandline -drive #%zu", n_drive++);
            drive(d, where, args[++i]);
        } else if (strcmp(opt, "-blockdev") == 0) {
            blockdev *e = VG_APPEND(b, nb);
            e->where = vg_xasprintf("qemu:commandline -blockdev #%zu", n_bd++);
            const char *v = args[++i];
            if (v[0] == '{' && json_flatten(v, &e->o, &e->n) < 0)
                vg_domain_add_unresolved(d, e->where, "its JSON is not an object virtguard "
                                         "can read; host paths in it are not checked");
            else if (v[0] != '{')
                e->n = vg_qemu_opts_split(v, NULL, &e->o);
        } else if (a[0] == '-') {
            autofree char *s = shown(a);
            if (!vg_strv_contains(other, s))
                vg_strv_push(&other, steal_pointer(&s));
        } else {
            n_values++;     /* another option's value, or a positional image */
        }
    }
    blockdevs(d, b, nb);
    for (size_t i = 0; i < nb; i++) {
        free(b[i].where);
        vg_qemu_opts_free(b[i].o, b[i].n);
    }
    free(b);

    if (other || n_values || n_env) {
        autobuf vg_buf m = { 0 };
        const char *sep = "";
        if (other) {
            vg_buf_add(&m, "option(s) ");
            for (size_t i = 0; other[i]; i++)
                vg_buf_printf(&m, "%s'%s'", i ? ", " : "", other[i]);
            sep = ", ";
        }
        if (n_values) {
            vg_buf_printf(&m, "%s%zu other argument(s)", sep, n_values);
            sep = ", ";
        }
        if (n_env)
            vg_buf_printf(&m, "%s%zu environment variable(s)", sep, n_env);
        vg_domain_add_unresolved(d, "qemu:commandline", "%s pass through libvirt "
                                 "uninterpreted; host paths in them are not checked", m.s);
    }
}

void vg_qemu_override_paths(vg_domain *d, xmlNode *ov)
{
    size_t other = 0;

    for (xmlNode *dev = ov->children; dev; dev = dev->next) {
        if (!is_qemu_el(dev, "device"))
            continue;
        autofree char *alias = vg_xml_attr(dev, "alias");
        autofree char *shown_alias = shown(alias ? alias : "?");
        for (xmlNode *fe = dev->children; fe; fe = fe->next) {
            if (!is_qemu_el(fe, "frontend"))
                continue;
            for (xmlNode *p = fe->children; p; p = p->next) {
                if (!is_qemu_el(p, "property"))
                    continue;
                autofree char *name = vg_xml_attr(p, "name");
                autofree char *type = vg_xml_attr(p, "type");
                autofree char *value = vg_xml_attr(p, "value");
                bool rom = vg_streq(name, "romfile");
                bool file = rom || vg_streq(name, "file") || vg_streq(name, "filename") ||
                            vg_streq(name, "path");
                if (!file || !vg_streq(type, "string") || !value || !*value) {
                    other++;
                    continue;
                }
                autofree char *where = vg_xasprintf("qemu:override device '%s' property "
                                                    "'%s'", shown_alias, name);
                vg_domain_path t = { .role = VG_ROLE_OTHER, .kind = VG_KIND_FILE,
                                     .access = rom ? VG_ACCESS_R : VG_ACCESS_RW,
                                     .readonly = rom, .device = alias };
                add_file(d, where, &t, name, value);
            }
        }
    }
    if (other)
        vg_domain_add_unresolved(d, "qemu:override", "%zu device propert%s other than "
                                 "romfile, file, filename or path pass%s through libvirt "
                                 "uninterpreted; host paths in them are not checked", other,
                                 other == 1 ? "y" : "ies", other == 1 ? "es" : "");
}
