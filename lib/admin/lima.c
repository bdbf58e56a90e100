/* virtguard: Lima guests: fstab, mount tags, lima.yaml lines. */
#include <config.h>

#include "lima.h"

void vg_fstab_free(vg_fstab *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].spec);
        free(f->v[i].file);
        free(f->v[i].type);
        free(f->v[i].opts);
    }
    free(f->v);
    free(f);
}

/* fstab(5): octal escapes \040 (space), \011 (tab), \134 (backslash)... */
static char *unescape(const char *s, size_t n)
{
    vg_buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 3 < n &&
            s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
            s[i + 3] >= '0' && s[i + 3] <= '7') {
            char c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            if (c)
                vg_buf_addc(&b, c);
            i += 3;
        } else {
            vg_buf_addc(&b, s[i]);
        }
    }
    return vg_buf_steal(&b);
}

vg_fstab *vg_fstab_parse(const char *text)
{
    vg_fstab *f = vg_xcalloc(1, sizeof(*f));
    int lineno = 0;

    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        const char *fld[4];
        size_t flen[4];
        size_t nf = 0;
        const char *p = line, *end = line + len;

        lineno++;
        while (p < end && nf < 4) {
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p >= end || *p == '#')
                break;
            fld[nf] = p;
            while (p < end && *p != ' ' && *p != '\t')
                p++;
            flen[nf] = (size_t)(p - fld[nf]);
            nf++;
        }
        if (nf >= 3) {
            vg_fstab_entry *e = VG_APPEND(f->v, f->n);
            e->spec = unescape(fld[0], flen[0]);
            e->file = unescape(fld[1], flen[1]);
            e->type = vg_xstrndup(fld[2], flen[2]);
            e->opts = nf > 3 ? vg_xstrndup(fld[3], flen[3]) : vg_xstrdup("defaults");
            e->line = lineno;
        }
        line = eol ? eol + 1 : NULL;
    }
    return f;
}

const vg_fstab_entry *vg_fstab_find(const vg_fstab *f, const char *mount_point)
{
    const vg_fstab_entry *found = NULL;
    autofree char *want = vg_path_normalize(mount_point);
    for (size_t i = 0; f && want && i < f->n; i++) {
        autofree char *have = vg_path_normalize(f->v[i].file);
        if (have && strcmp(have, want) == 0)
            found = &f->v[i];
    }
    return found;
}

static bool old_tag(const char *spec)
{
    return spec && vg_str_has_prefix(spec, "mount") && spec[5] &&
           strspn(spec + 5, "0123456789") == strlen(spec + 5);
}

bool vg_lima_tag(const char *spec)
{
    return spec && ((vg_str_has_prefix(spec, "lima-") && spec[5] != '\0') || old_tag(spec));
}

/* The signs, most telling first (the rank is the index). */
static const char *const signs[] = {
    "lima-* mount tags",
    "mountN mount tags (Lima before the tag rename)",
    "a reverse-sshfs mount",
    "the /mnt/lima-cidata mount",
};

static int sign_rank(const char *source, const char *fstype, const char *mount_point)
{
    bool shared_type = vg_streq(fstype, "9p") || vg_streq(fstype, "virtiofs");
    autofree char *mp = mount_point ? vg_path_normalize(mount_point) : NULL;

    if (source && vg_str_has_prefix(source, "lima-") && source[5] != '\0')
        return 0;
    if (shared_type && old_tag(source))
        return 1;
    if (vg_streq(fstype, "fuse.sshfs") && source && source[0] == ':')
        return 2;
    if (vg_streq(mp, "/mnt/lima-cidata"))
        return 3;
    return -1;
}

const char *vg_lima_sign(const char *source, const char *fstype, const char *mount_point)
{
    int r = sign_rank(source, fstype, mount_point);
    return r < 0 ? NULL : signs[r];
}

const char *vg_lima_detect_sign(const vg_mounts *m, const vg_fstab *f)
{
    int best = -1, r;
    for (size_t i = 0; m && i < m->n; i++)
        if ((r = sign_rank(m->v[i].source, m->v[i].fstype, m->v[i].mount_point)) >= 0 &&
            (best < 0 || r < best))
            best = r;
    for (size_t i = 0; f && i < f->n; i++)
        if ((r = sign_rank(f->v[i].spec, f->v[i].type, f->v[i].file)) >= 0 &&
            (best < 0 || r < best))
            best = r;
    return best < 0 ? NULL : signs[best];
}

bool vg_lima_detect(const vg_mounts *m, const vg_fstab *f)
{
    return vg_lima_detect_sign(m, f) != NULL;
}

/* fstab(5) field: space, tab, newline and backslash as octal escapes. */
static void fstab_field(vg_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == '\\' || *p == 0x7f)
            vg_buf_printf(b, "\\%03o", *p);
        else
            vg_buf_addc(b, (char)*p);
    }
}

char *vg_mount_fix(const vg_config *cfg, const char *mount_point, const vg_fstab_entry *fe)
{
    const char *type = cfg && cfg->shared_fs_types && cfg->shared_fs_types[0]
                           ? cfg->shared_fs_types[0] : "9p";
    const char *source = "TAG", *opts, *what = "the share's mount tag";
    autobuf vg_buf line = { 0 };

    if (fe)
        return vg_xasprintf("mount it with 'mount %s' (/etc/fstab line %d has its entry) and "
                            "check with 'findmnt %s' before starting domains; if the mount "
                            "fails, 'dmesg' says why.", mount_point, fe->line, mount_point);
    if (strcmp(type, "9p") == 0) {
        opts = "trans=virtio,version=9p2000.L,msize=131072,nofail";
    } else if (strcmp(type, "virtiofs") == 0) {
        opts = "nofail";
    } else if (strcmp(type, "fuse.sshfs") == 0) {
        source = "USER@HOST:/DIR";
        what = "the user, host and directory to mount";
        opts = "_netdev,allow_other,reconnect,nofail";
    } else {
        source = "SOURCE";
        what = "the share's source";
        opts = "nofail";
    }
    vg_buf_printf(&line, "%s ", source);
    fstab_field(&line, mount_point);
    vg_buf_printf(&line, " %s %s 0 0", type, opts);
    return vg_xasprintf("add it to /etc/fstab, e.g. the line\n  %s\n(%s is %s), then run "
                        "'mount %s' and check with 'findmnt %s' before starting domains.",
                        line.s, source, what, mount_point, mount_point);
}

const char *vg_lima_host_location(const vg_config *cfg, const char *mount_point)
{
    autofree char *mp = vg_path_normalize(mount_point);
    for (size_t i = 0; cfg && mp && i < cfg->n_path_map; i++)
        if (strcmp(cfg->path_map[i].to, mp) == 0)
            return cfg->path_map[i].from;
    return NULL;
}

char *vg_lima_mount_yaml(const vg_config *cfg, const char *mount_point,
                         const char *security_model, bool virtiofs)
{
    const char *loc = vg_lima_host_location(cfg, mount_point);
    vg_buf b = { 0 };

    vg_buf_printf(&b,
                  "mounts:\n"
                  "- location: \"%s\"\n"
                  "  mountPoint: \"%s\"\n"
                  "  writable: true\n",
                  loc ? loc : "/path/on/the/host", mount_point);
    if (security_model && !virtiofs)
        vg_buf_printf(&b, "  9p:\n    securityModel: \"%s\"\n", security_model);
    if (virtiofs)
        vg_buf_add(&b, "mountType: \"virtiofs\"   # top level of lima.yaml, as now\n");
    if (!loc)
        vg_buf_add(&b, "# replace /path/on/the/host with the directory on the host (a path_map "
                       "entry \"HOST=GUEST\" in virtguard.conf lets virtguard fill it in)\n");
    /* no trailing newline: callers embed the block */
    if (b.len && b.s[b.len - 1] == '\n')
        b.s[--b.len] = '\0';
    return vg_buf_steal(&b);
}
