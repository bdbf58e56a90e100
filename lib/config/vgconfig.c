/* virtguard: the meaning of virtguard.conf (see docs/virtguard.conf.5).
 *
 * Strict: an unknown key, a key set twice, a wrong type or a bad value is an
 * error naming file, line and key.  The hook treats any error as "refuse the
 * start" in enforce mode, so a typo can never silently disable a check.
 */
#include <config.h>

#include <ctype.h>

#include "confparse.h"
#include "vgconfig.h"

#include "aa-escape.h"

#define VG_PROBE_TIMEOUT_MIN 100
#define VG_PROBE_TIMEOUT_MAX 600000
#define VG_PROBE_TIMEOUT_DEFAULT 5000

static const char *const known_keys[] = {
    "mode", "shared_mounts", "shared_fs_types", "path_map",
    "probe_timeout_ms", "apparmor_extra_roots", "qemu_conf", "apparmor",
};

const char *vg_config_default_path(void)
{
    return SYSCONFDIR "/virtguard/virtguard.conf";
}

const char *vg_mode_name(vg_mode m)
{
    switch (m) {
    case VG_MODE_ENFORCE:
        return "enforce";
    case VG_MODE_DEV:
        return "dev";
    }
    return "unknown";
}

static char **strv_new(void)
{
    return vg_xcalloc(1, sizeof(char *));
}

vg_config *vg_config_new_default(void)
{
    vg_config *c = vg_xcalloc(1, sizeof(*c));
    c->mode = VG_MODE_ENFORCE;
    c->shared_mounts = strv_new();
    c->shared_fs_types = strv_new();
    vg_strv_push(&c->shared_fs_types, vg_xstrdup("9p"));
    vg_strv_push(&c->shared_fs_types, vg_xstrdup("virtiofs"));
    c->probe_timeout_ms = VG_PROBE_TIMEOUT_DEFAULT;
    c->extra_roots = strv_new();
    c->qemu_conf = vg_xstrdup(LIBVIRT_SYSCONFDIR "/libvirt/qemu.conf");
    return c;
}

void vg_config_free(vg_config *c)
{
    if (!c)
        return;
    free(c->source);
    vg_strv_free(c->shared_mounts);
    vg_strv_free(c->shared_fs_types);
    for (size_t i = 0; i < c->n_path_map; i++) {
        free(c->path_map[i].from);
        free(c->path_map[i].to);
    }
    free(c->path_map);
    vg_strv_free(c->extra_roots);
    free(c->qemu_conf);
    free(c);
}


static int want_type(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                     vg_conf_type want, const char *example)
{
    if (e->type == want)
        return 0;
    return vg_conf_entry_error(err, conf, e, "expected a %s, e.g. %s, got a %s",
               vg_conf_type_name(want), example, vg_conf_type_name(e->type));
}

/* Normalise an absolute path or say why not (a static string). */
static char *check_path(const char *s, const char **why)
{
    if (!*s) {
        *why = "is empty; expected an absolute path";
        return NULL;
    }
    if (s[0] != '/') {
        *why = "is not an absolute path (it must start with '/')";
        return NULL;
    }
    char *n = vg_path_normalize(s);
    if (!n)
        *why = "contains '..'; write the path without it";
    return n;
}

/* A directory virtguard will write rules for (a shared mount, an extra
 * root, a path_map target): within the character policy and outside the
 * restricted directories.  Returns 0 or a config error. */
static int check_rule_root(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                           const char *dir)
{
    autofree char *problem = vg_aa_path_problem(dir);
    if (problem) {
        autofree char *shown = vg_str_escape(dir, true);
        return vg_conf_entry_error(err, conf, e, "\"%s\" %s; virtguard cannot write AppArmor "
                   "rules for such a directory", shown, problem);
    }
    const char *root = vg_aa_restricted_root(dir);
    if (root)
        return vg_conf_entry_error(err, conf, e, "\"%s\" is under the restricted directory \"%s\"; "
                   "virtguard never writes AppArmor rules for system, runtime or libvirt state "
                   "directories (see virtguard.conf(5)); name the directory that holds the images",
                   dir, root);
    return 0;
}

static int get_path_list(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                         bool allow_root, char ***out)
{
    autostrv char **v = strv_new();
    const char *why = NULL;

    int r = want_type(err, conf, e, VG_CONF_LIST, "[ \"/var/lib/libvirt/images\" ]");
    if (r < 0)
        return r;
    for (size_t i = 0; e->list[i]; i++) {
        autofree char *n = check_path(e->list[i], &why);
        if (!n)
            return vg_conf_entry_error(err, conf, e, "\"%s\" %s", e->list[i], why);
        if (!allow_root && strcmp(n, "/") == 0)
            return vg_conf_entry_error(err, conf, e, "\"%s\" is the root directory; name a directory such as "
                       "\"/var/lib/libvirt/images\"", e->list[i]);
        if (strcmp(n, "/") != 0 && (r = check_rule_root(err, conf, e, n)) < 0)
            return r;
        if (vg_strv_contains(v, n))
            return vg_conf_entry_error(err, conf, e, "\"%s\" is listed more than once", n);
        vg_strv_push(&v, steal_pointer(&n));
    }
    vg_strv_free(*out);
    *out = steal_pointer(&v);
    return 0;
}

static int set_mode(vg_error **err, const vg_conf *conf, const vg_conf_entry *e, vg_config *c)
{
    int r = want_type(err, conf, e, VG_CONF_STRING, "\"enforce\"");
    if (r < 0)
        return r;
    if (strcmp(e->str, "enforce") == 0)
        c->mode = VG_MODE_ENFORCE;
    else if (strcmp(e->str, "dev") == 0)
        c->mode = VG_MODE_DEV;
    else
        return vg_conf_entry_error(err, conf, e, "expected \"enforce\" or \"dev\", got \"%s\"", e->str);
    return 0;
}

static int set_shared_mounts(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                             vg_config *c)
{
    return get_path_list(err, conf, e, false, &c->shared_mounts);
}

static bool fstype_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
            return false;
    return true;
}

static int set_shared_fs_types(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                               vg_config *c)
{
    int r = want_type(err, conf, e, VG_CONF_LIST, "[ \"9p\", \"virtiofs\" ]");
    if (r < 0)
        return r;
    if (!e->list[0])
        return vg_conf_entry_error(err, conf, e, "the list is empty, so no mount could ever pass the check; "
                   "name at least one filesystem type as /proc/self/mountinfo shows it, "
                   "e.g. \"9p\" or \"virtiofs\"");
    autostrv char **v = strv_new();
    for (size_t i = 0; e->list[i]; i++) {
        if (!fstype_ok(e->list[i]))
            return vg_conf_entry_error(err, conf, e, "\"%s\" is not a filesystem type; expected a type as "
                       "/proc/self/mountinfo shows it, e.g. \"9p\", \"virtiofs\" or \"fuse.sshfs\"",
                       e->list[i]);
        if (vg_strv_contains(v, e->list[i]))
            return vg_conf_entry_error(err, conf, e, "\"%s\" is listed more than once", e->list[i]);
        vg_strv_push(&v, vg_xstrdup(e->list[i]));
    }
    vg_strv_free(c->shared_fs_types);
    c->shared_fs_types = steal_pointer(&v);
    return 0;
}

static void path_map_free(vg_path_map *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].from);
        free(m[i].to);
    }
    free(m);
}

static int set_path_map(vg_error **err, const vg_conf *conf, const vg_conf_entry *e, vg_config *c)
{
    vg_path_map *m = NULL;
    size_t n = 0;
    const char *why = NULL;
    int r = want_type(err, conf, e, VG_CONF_LIST,
                      "[ \"/Users/dev/images=/var/lib/libvirt/images\" ]");
    if (r < 0)
        return r;

    for (size_t i = 0; e->list[i]; i++) {
        const char *item = e->list[i];
        const char *eq = strchr(item, '=');
        if (!eq) {
            r = vg_conf_entry_error(err, conf, e, "entry \"%s\" is not of the form \"FROM=TO\"", item);
            goto cleanup;
        }
        autofree char *from_raw = vg_xstrndup(item, (size_t)(eq - item));
        autofree char *from = check_path(from_raw, &why);
        if (!from) {
            r = vg_conf_entry_error(err, conf, e, "entry \"%s\": FROM \"%s\" %s", item, from_raw, why);
            goto cleanup;
        }
        autofree char *to = check_path(eq + 1, &why);
        if (!to) {
            r = vg_conf_entry_error(err, conf, e, "entry \"%s\": TO \"%s\" %s", item, eq + 1, why);
            goto cleanup;
        }
        if (strcmp(from, "/") == 0 || strcmp(to, "/") == 0) {
            r = vg_conf_entry_error(err, conf, e, "entry \"%s\": the root directory cannot be mapped; "
                    "map the shared directory itself", item);
            goto cleanup;
        }
        if ((r = check_rule_root(err, conf, e, to)) < 0)
            goto cleanup;
        if (strcmp(from, to) == 0) {
            r = vg_conf_entry_error(err, conf, e, "entry \"%s\" maps \"%s\" to itself", item, from);
            goto cleanup;
        }
        for (size_t j = 0; j < n; j++) {
            if (strcmp(m[j].from, from) == 0) {
                r = vg_conf_entry_error(err, conf, e, "FROM \"%s\" is mapped more than once", from);
                goto cleanup;
            }
        }
        vg_path_map *slot = VG_APPEND(m, n);
        slot->from = steal_pointer(&from);
        slot->to = steal_pointer(&to);
    }
    path_map_free(c->path_map, c->n_path_map);
    c->path_map = steal_pointer(&m);
    c->n_path_map = n;
    n = 0;
    r = 0;

cleanup:
    path_map_free(m, n);
    return r;
}

static int set_probe_timeout(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                             vg_config *c)
{
    int r = want_type(err, conf, e, VG_CONF_INT, "5000");
    if (r < 0)
        return r;
    if (e->num < VG_PROBE_TIMEOUT_MIN || e->num > VG_PROBE_TIMEOUT_MAX)
        return vg_conf_entry_error(err, conf, e, "expected milliseconds from %d to %d, got %lld",
                   VG_PROBE_TIMEOUT_MIN, VG_PROBE_TIMEOUT_MAX, e->num);
    c->probe_timeout_ms = (unsigned)e->num;
    return 0;
}

static int set_extra_roots(vg_error **err, const vg_conf *conf, const vg_conf_entry *e,
                           vg_config *c)
{
    autostrv char **v = strv_new();
    int r = get_path_list(err, conf, e, true, &v);
    if (r < 0)
        return r;
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(v[i], "/") == 0)
            return vg_conf_entry_error(err, conf, e, "\"/\" would let AppArmor rules reach every file; "
                       "name the directories that hold images");
    }
    vg_strv_free(c->extra_roots);
    c->extra_roots = steal_pointer(&v);
    return 0;
}

static int set_qemu_conf(vg_error **err, const vg_conf *conf, const vg_conf_entry *e, vg_config *c)
{
    const char *why = NULL;
    int r = want_type(err, conf, e, VG_CONF_STRING, "\"/etc/libvirt/qemu.conf\"");
    if (r < 0)
        return r;
    char *n = check_path(e->str, &why);
    if (!n)
        return vg_conf_entry_error(err, conf, e, "\"%s\" %s", e->str, why);
    free(c->qemu_conf);
    c->qemu_conf = n;
    return 0;
}

static int set_apparmor(vg_error **err, const vg_conf *conf, const vg_conf_entry *e, vg_config *c)
{
    int r = want_type(err, conf, e, VG_CONF_STRING, "\"auto\"");
    if (r < 0)
        return r;
    if (strcmp(e->str, "auto") == 0)
        c->apparmor = VG_APPARMOR_AUTO;
    else if (strcmp(e->str, "on") == 0)
        c->apparmor = VG_APPARMOR_ON;
    else if (strcmp(e->str, "off") == 0)
        c->apparmor = VG_APPARMOR_OFF;
    else
        return vg_conf_entry_error(err, conf, e, "expected \"auto\", \"on\" or \"off\", got \"%s\"", e->str);
    return 0;
}

typedef int (*setter)(vg_error **, const vg_conf *, const vg_conf_entry *, vg_config *);
static const setter setters[] = {
    set_mode, set_shared_mounts, set_shared_fs_types, set_path_map,
    set_probe_timeout, set_extra_roots, set_qemu_conf, set_apparmor,
};
_Static_assert(VG_N_ELEMENTS(setters) == VG_N_ELEMENTS(known_keys), "one setter per key");

/* Optimal string alignment distance (Levenshtein plus transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

static int unknown_key(vg_error **err, const vg_conf *conf, const vg_conf_entry *e)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < VG_N_ELEMENTS(known_keys); i++) {
        size_t d = edit_distance(e->key, known_keys[i]);
        if (d < best_d) {
            best_d = d;
            best = known_keys[i];
        }
    }
    if (best)
        return vg_error_set(err, EINVAL, "%s:%d: unknown key '%s'; did you mean '%s'?",
                            conf->name, e->line, e->key, best);
    autobuf vg_buf b = { 0 };
    for (size_t i = 0; i < VG_N_ELEMENTS(known_keys); i++)
        vg_buf_printf(&b, "%s'%s'", i ? ", " : "", known_keys[i]);
    return vg_error_set(err, EINVAL, "%s:%d: unknown key '%s'; the known keys are %s",
                        conf->name, e->line, e->key, b.s);
}

int vg_config_parse(const char *text, size_t len, const char *name, vg_config **out,
                    vg_error **err)
{
    autoconf vg_conf *conf = NULL;
    autoconfig vg_config *c = NULL;
    int seen_line[VG_N_ELEMENTS(known_keys)] = { 0 };

    *out = NULL;
    int r = vg_conf_parse(text, len, name, &conf, err);
    if (r < 0)
        return r;
    c = vg_config_new_default();
    for (size_t i = 0; i < conf->n_entries; i++) {
        const vg_conf_entry *e = &conf->entries[i];
        size_t k = 0;
        while (k < VG_N_ELEMENTS(known_keys) && strcmp(known_keys[k], e->key) != 0)
            k++;
        if (k == VG_N_ELEMENTS(known_keys))
            return unknown_key(err, conf, e);
        if (seen_line[k])
            return vg_conf_entry_error(err, conf, e, "set a second time (first on line %d); keep only one",
                       seen_line[k]);
        seen_line[k] = e->line;
        r = setters[k](err, conf, e, c);
        if (r < 0)
            return r;
    }
    c->source = vg_xstrdup(conf->name);
    *out = steal_pointer(&c);
    return 0;
}

int vg_config_load(const char *path, vg_config **out, vg_error **err)
{
    autofree char *text = NULL;
    size_t len = 0;

    *out = NULL;
    if (!path)
        path = vg_config_default_path();
    int r = vg_conf_read_text(path, &text, &len, err);
    if (r == -ENOENT) {
        *out = vg_config_new_default();
        return 0;
    }
    if (r < 0)
        return r;
    return vg_config_parse(text, len, path, out, err);
}

int vg_config_load_named(const char *path, const char *how, vg_config **out, vg_error **err)
{
    autofree char *text = NULL;
    size_t len = 0;

    *out = NULL;
    int r = vg_conf_read_text(path, &text, &len, NULL);
    if (r == -EFBIG)
        return vg_conf_read_text(path, &text, &len, err);
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read the config file '%s' (%s)", path, how);
    return vg_config_parse(text, len, path, out, err);
}
