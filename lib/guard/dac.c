/* virtguard: QEMU's identity and POSIX DAC decisions.
 *
 * Identity resolution follows libvirt (src/util/virutil.c virGetUserID,
 * virGetGroupID, virGetGroupList): "+N" is numeric, otherwise a name is
 * tried first and a number second.  QEMU's supplementary groups are the
 * groups listing the user name, plus its primary gid.  The files are read
 * directly rather than through NSS, which a static hook cannot load. */
#include <config.h>

#include "dac.h"

#include <limits.h>
#include <sys/stat.h>

#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"

static int parse_id(const char *s, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (!*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= (unsigned long)UINT_MAX)
        return -EINVAL;
    *out = v;
    return 0;
}

/* passwd(5) and group(5) read once into memory and split into lines of
 * ':'-separated fields.  (glibc's fgetpwent/fgetgrent issue an lseek per
 * line; the hook runs on every start.) */
typedef struct idfile {
    char *text;
    char **lines;
    size_t n;
} idfile;

static int idfile_read(const char *path, idfile *f)
{
    size_t len;
    int r = vg_read_file(path, 16u << 20, &f->text, &len);
    if (r < 0)
        return r;
    for (char *p = f->text, *nl; p && *p; p = nl) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        if (*p && *p != '#')
            *VG_APPEND(f->lines, f->n) = p;
    }
    return 0;
}

static void idfile_clear(idfile *f)
{
    free(f->text);
    free(f->lines);
    memset(f, 0, sizeof(*f));
}

/* Field `k` (0-based) of a line, as a pointer and length; false if absent. */
static bool field(const char *line, unsigned k, const char **start, size_t *len)
{
    const char *p = line;
    for (unsigned i = 0; i < k; i++) {
        p = strchr(p, ':');
        if (!p)
            return false;
        p++;
    }
    const char *e = strchr(p, ':');
    *start = p;
    *len = e ? (size_t)(e - p) : strlen(p);
    return true;
}

static bool field_eq(const char *line, unsigned k, const char *s)
{
    const char *f;
    size_t n;
    return field(line, k, &f, &n) && n == strlen(s) && memcmp(f, s, n) == 0;
}

static bool field_id(const char *line, unsigned k, unsigned long *out)
{
    const char *f;
    size_t n;
    char buf[24];
    if (!field(line, k, &f, &n) || n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, f, n);
    buf[n] = '\0';
    return parse_id(buf, out) == 0;
}

/* Find by name (name != NULL) or by id in field `id_field`. */
static const char *idfile_find(const idfile *f, const char *name, unsigned id_field, unsigned long id)
{
    for (size_t i = 0; i < f->n; i++) {
        unsigned long v;
        if (name ? field_eq(f->lines[i], 0, name)
                 : (field_id(f->lines[i], id_field, &v) && v == id))
            return f->lines[i];
    }
    return NULL;
}

static char *field_dup(const char *line, unsigned k)
{
    const char *f;
    size_t n;
    return field(line, k, &f, &n) ? vg_xstrndup(f, n) : vg_xstrdup("");
}

/* Look a user up by name (name != NULL) or uid. Fills name/uid/gid. */
static int passwd_lookup(const idfile *pw, const char *name, uid_t uid,
                         char **name_out, uid_t *uid_out, gid_t *gid_out)
{
    const char *line = idfile_find(pw, name, 2, uid);
    unsigned long u, g;
    if (!line || !field_id(line, 2, &u) || !field_id(line, 3, &g))
        return 0;
    if (name_out)
        *name_out = field_dup(line, 0);
    *uid_out = (uid_t)u;
    *gid_out = (gid_t)g;
    return 1;
}

static int group_lookup(const idfile *gr, const char *name, gid_t gid, char **name_out, gid_t *gid_out)
{
    const char *line = idfile_find(gr, name, 2, gid);
    unsigned long g;
    if (!line || !field_id(line, 2, &g))
        return 0;
    if (name_out)
        *name_out = field_dup(line, 0);
    *gid_out = (gid_t)g;
    return 1;
}

static void add_group(vg_ids *ids, gid_t g)
{
    for (size_t i = 0; i < ids->n_groups; i++)
        if (ids->groups[i] == g)
            return;
    *VG_APPEND(ids->groups, ids->n_groups) = g;
}

static void supplementary_groups(const idfile *gr, vg_ids *ids)
{
    add_group(ids, ids->gid);
    if (!ids->user)
        return;
    size_t ul = strlen(ids->user);
    for (size_t i = 0; i < gr->n; i++) {
        const char *m;
        size_t n;
        unsigned long g;
        if (!field(gr->lines[i], 3, &m, &n) || !field_id(gr->lines[i], 2, &g))
            continue;
        for (const char *p = m, *end = m + n; p < end;) {
            const char *c = memchr(p, ',', (size_t)(end - p));
            size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
            if (l == ul && memcmp(p, ids->user, ul) == 0) {
                add_group(ids, (gid_t)g);
                break;
            }
            p += l + 1;
        }
    }
}

static int resolve_user(const char *spec, const idfile *pwf, vg_ids *ids,
                        gid_t *pw_gid, bool *have_pw_gid, vg_error **err, const char *passwd_file)
{
    unsigned long n;
    int r;

    if (spec[0] == '+') {
        if (parse_id(spec + 1, &n) < 0)
            return vg_error_set(err, EINVAL, "user '%s' is not a valid numeric id", spec);
        ids->uid = (uid_t)n;
        r = passwd_lookup(pwf, NULL, ids->uid, &ids->user, &ids->uid, pw_gid);
    } else {
        r = passwd_lookup(pwf, spec, 0, &ids->user, &ids->uid, pw_gid);
        if (r == 0) {
            if (parse_id(spec, &n) < 0)
                return vg_error_set(err, ENOENT, "user '%s' does not exist in '%s'", spec, passwd_file);
            ids->uid = (uid_t)n;
            r = passwd_lookup(pwf, NULL, ids->uid, &ids->user, &ids->uid, pw_gid);
        }
    }
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", passwd_file);
    *have_pw_gid = r > 0;
    return 0;
}

static int resolve_group(const char *spec, const idfile *grf, vg_ids *ids, vg_error **err,
                         const char *group_file)
{
    unsigned long n;
    int r;

    if (spec[0] == '+') {
        if (parse_id(spec + 1, &n) < 0)
            return vg_error_set(err, EINVAL, "group '%s' is not a valid numeric id", spec);
        ids->gid = (gid_t)n;
        r = group_lookup(grf, NULL, ids->gid, &ids->group, &ids->gid);
    } else {
        r = group_lookup(grf, spec, 0, &ids->group, &ids->gid);
        if (r == 0) {
            if (parse_id(spec, &n) < 0)
                return vg_error_set(err, ENOENT, "group '%s' does not exist in '%s'", spec, group_file);
            ids->gid = (gid_t)n;
            r = group_lookup(grf, NULL, ids->gid, &ids->group, &ids->gid);
        }
    }
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read '%s'", group_file);
    return 0;
}

int vg_ids_resolve(const char *user_spec, const char *group_spec,
                   const char *passwd_file, const char *group_file,
                   vg_ids *out, vg_error **err)
{
    vg_ids ids = { 0 };
    idfile pwf = { 0 }, grf = { 0 };
    gid_t pw_gid = 0;
    bool have_pw_gid = false;
    int r;

    passwd_file = passwd_file ? passwd_file : PASSWD_FILE;
    group_file = group_file ? group_file : GROUP_FILE;
    if (!user_spec || !*user_spec)
        return vg_error_set(err, EINVAL, "QEMU user is empty");
    if ((r = idfile_read(passwd_file, &pwf)) < 0) {
        r = vg_error_set_errno(err, -r, "cannot read '%s'", passwd_file);
        goto fail;
    }
    if ((r = idfile_read(group_file, &grf)) < 0) {
        r = vg_error_set_errno(err, -r, "cannot read '%s'", group_file);
        goto fail;
    }
    if ((r = resolve_user(user_spec, &pwf, &ids, &pw_gid, &have_pw_gid, err, passwd_file)) < 0)
        goto fail;
    if (group_spec && *group_spec) {
        if ((r = resolve_group(group_spec, &grf, &ids, err, group_file)) < 0)
            goto fail;
    } else if (have_pw_gid) {
        ids.gid = pw_gid;
        group_lookup(&grf, NULL, ids.gid, &ids.group, &ids.gid);
    } else {
        r = vg_error_set(err, EINVAL, "QEMU group is not set and user '%s' has no passwd entry", user_spec);
        goto fail;
    }
    supplementary_groups(&grf, &ids);
    idfile_clear(&pwf);
    idfile_clear(&grf);
    *out = ids;
    return 0;

fail:
    idfile_clear(&pwf);
    idfile_clear(&grf);
    vg_ids_clear(&ids);
    return r;
}

int vg_ids_resolve_label(const char *label, const char *passwd_file, const char *group_file,
                         vg_ids *out, vg_error **err)
{
    const char *colon = label ? strchr(label, ':') : NULL;
    if (!colon || colon == label || !colon[1] || strchr(colon + 1, ':'))
        return vg_error_set(err, EINVAL, "DAC label '%s' is not of the form 'USER:GROUP'",
                            label ? label : "");
    autofree char *user = vg_xstrndup(label, (size_t)(colon - label));
    return vg_ids_resolve(user, colon + 1, passwd_file, group_file, out, err);
}

void vg_ids_clear(vg_ids *ids)
{
    free(ids->groups);
    free(ids->user);
    free(ids->group);
    memset(ids, 0, sizeof(*ids));
}

char *vg_ids_describe(const vg_ids *ids)
{
    autofree char *u = ids->user ? vg_xasprintf(" (%s)", ids->user) : vg_xstrdup("");
    autofree char *g = ids->group ? vg_xasprintf(" (%s)", ids->group) : vg_xstrdup("");
    return vg_xasprintf("uid %u%s, gid %u%s", (unsigned)ids->uid, u, (unsigned)ids->gid, g);
}

bool vg_dac_allows(const vg_ids *ids, uid_t f_uid, gid_t f_gid, mode_t mode, int want)
{
    unsigned bits;

    if (ids->uid == 0) {
        if ((want & X_OK) && !S_ISDIR(mode) && !(mode & (S_IXUSR | S_IXGRP | S_IXOTH)))
            return false;
        return true;
    }
    if (ids->uid == f_uid) {
        bits = (mode >> 6) & 7;
    } else {
        bool in_group = ids->gid == f_gid;
        for (size_t i = 0; !in_group && i < ids->n_groups; i++)
            in_group = ids->groups[i] == f_gid;
        bits = in_group ? (mode >> 3) & 7 : mode & 7;
    }
    /* R_OK=4, W_OK=2, X_OK=1 match the rwx bit positions. */
    return ((unsigned)want & bits) == (unsigned)want;
}
