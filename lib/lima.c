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

bool vg_lima_tag(const char *spec)
{
    return spec && vg_str_has_prefix(spec, "lima-") && spec[5] != '\0';
}

bool vg_lima_detect(const vg_mounts *m, const vg_fstab *f)
{
    for (size_t i = 0; m && i < m->n; i++)
        if (vg_lima_tag(m->v[i].source))
            return true;
    for (size_t i = 0; f && i < f->n; i++)
        if (vg_lima_tag(f->v[i].spec))
            return true;
    return false;
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
