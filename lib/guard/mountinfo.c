/* virtguard: /proc/self/mountinfo, parsed from text (see proc(5)).
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 *
 * Fields are separated by single spaces; (7) is zero or more optional
 * fields ended by a lone "-".  The kernel octal-escapes space, tab,
 * newline and backslash in (4), (5), (9) and (10); we unescape those.
 */
#include <config.h>

#include <ctype.h>
#include <limits.h>

#include "mountinfo.h"

#define VG_MOUNTINFO_MAX_SIZE (16 * 1024 * 1024)

void vg_mounts_free(vg_mounts *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        vg_mount *e = &m->v[i];
        free(e->root);
        free(e->mount_point);
        free(e->mount_opts);
        free(e->fstype);
        free(e->source);
        free(e->super_opts);
    }
    free(m->v);
    free(m);
}

/* The line, quoted for a message: its first 160 bytes in their shown form
 * (vg_buf_add_shown), "..." when cut. */
static char *quote_line(const char *s, size_t n)
{
    vg_buf b = { 0 };
    size_t cut = n > 160 ? 160 : n;
    for (size_t at = 0; at < cut;) {        /* a NUL byte is shown too */
        autofree char *part = vg_xstrndup(s + at, cut - at);
        vg_buf_add_shown(&b, part, 0);
        at += strlen(part);
        if (at < cut) {
            vg_buf_add(&b, "\\x00");
            at++;
        }
    }
    if (n > 160)
        vg_buf_add(&b, "...");
    return vg_buf_steal(&b);
}

static bool is_octal(char c) { return c >= '0' && c <= '7'; }

/* Undo the kernel's \NNN escapes.  NULL for \000 (would truncate). */
static char *unescape(const char *s, size_t n)
{
    vg_buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 3 < n &&
            is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
            unsigned v = (unsigned)(s[i + 1] - '0') * 64 + (unsigned)(s[i + 2] - '0') * 8 +
                         (unsigned)(s[i + 3] - '0');
            if (v == 0 || v > 0xff) {
                vg_buf_clear(&b);
                return NULL;
            }
            vg_buf_addc(&b, (char)v);
            i += 3;
        } else {
            vg_buf_addc(&b, s[i]);
        }
    }
    return vg_buf_steal(&b);
}

typedef struct field {
    const char *s;
    size_t n;
} field;

static bool parse_uint(const field *f, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (f->n == 0)
        return false;
    for (size_t i = 0; i < f->n; i++) {
        if (!isdigit((unsigned char)f->s[i]))
            return false;
        unsigned d = (unsigned)(f->s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int line_error(vg_error **err, int line, const char *s, size_t n, const char *what)
{
    autofree char *q = quote_line(s, n);
    return vg_error_set(err, EINVAL, "mountinfo line %d: %s; the line is \"%s\"", line, what, q);
}

/* Parse one line (without its newline) into *m.  On error *m may hold
 * partial allocations; the caller frees them. */
static int parse_line(const char *s, size_t n, int line, vg_mount *m, vg_error **err)
{
    field f[64];
    size_t nf = 0;
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ' ') {
            if (nf == VG_N_ELEMENTS(f))
                return line_error(err, line, s, n, "too many fields");
            f[nf].s = s + start;
            f[nf].n = i - start;
            nf++;
            start = i + 1;
        }
    }
    size_t sep = 0;
    for (size_t i = 6; i < nf; i++) {
        if (f[i].n == 1 && f[i].s[0] == '-') {
            sep = i;
            break;
        }
    }
    if (nf < 10 || sep == 0)
        return line_error(err, line, s, n, "expected \"ID PARENT MAJOR:MINOR ROOT MOUNTPOINT "
                          "OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS\"");
    if (nf != sep + 4)
        return line_error(err, line, s, n,
                          "expected exactly three fields (FSTYPE SOURCE SUPER_OPTIONS) after \" - \"");
    for (size_t i = 0; i < sep; i++)
        if (f[i].n == 0)
            return line_error(err, line, s, n, "empty field (two spaces in a row)");
    if (f[sep + 1].n == 0 || f[sep + 3].n == 0)
        return line_error(err, line, s, n, "empty FSTYPE or SUPER_OPTIONS field");

    unsigned long id, parent, major, minor;
    const char *colon = memchr(f[2].s, ':', f[2].n);
    field fmaj = { f[2].s, colon ? (size_t)(colon - f[2].s) : 0 };
    field fmin = { colon ? colon + 1 : f[2].s, colon ? f[2].n - fmaj.n - 1 : 0 };
    if (!parse_uint(&f[0], INT_MAX, &id) || !parse_uint(&f[1], INT_MAX, &parent))
        return line_error(err, line, s, n, "the mount ID and parent ID must be numbers");
    if (!colon || !parse_uint(&fmaj, UINT_MAX, &major) || !parse_uint(&fmin, UINT_MAX, &minor))
        return line_error(err, line, s, n, "expected MAJOR:MINOR device numbers in field 3");
    m->id = (int)id;
    m->parent_id = (int)parent;
    m->major = (unsigned)major;
    m->minor = (unsigned)minor;

    if (!(m->root = unescape(f[3].s, f[3].n)) ||
        !(m->mount_point = unescape(f[4].s, f[4].n)) ||
        !(m->fstype = unescape(f[sep + 1].s, f[sep + 1].n)) ||
        !(m->source = unescape(f[sep + 2].s, f[sep + 2].n)))
        return line_error(err, line, s, n, "invalid escape \\000");
    if (m->root[0] != '/' || m->mount_point[0] != '/')
        return line_error(err, line, s, n, "ROOT and MOUNTPOINT must be absolute paths");
    m->mount_opts = vg_xstrndup(f[5].s, f[5].n);
    m->super_opts = vg_xstrndup(f[sep + 3].s, f[sep + 3].n);
    return 0;
}

int vg_mountinfo_parse(const char *text, size_t len, vg_mounts **out, vg_error **err)
{
    automounts vg_mounts *m = vg_xcalloc(1, sizeof(*m));
    const char *p = text, *end = text + len;
    int line = 0;

    *out = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (memchr(p, '\0', n))
            return line_error(err, line, p, n, "embedded NUL byte");
        if (n == 0)
            return line_error(err, line, p, n, "empty line");
        vg_mount *e = VG_APPEND(m->v, m->n);
        int r = parse_line(p, n, line, e, err);
        if (r < 0)
            return r;
        p += n + (nl ? 1 : 0);
    }
    *out = steal_pointer(&m);
    return 0;
}

int vg_mountinfo_read(const char *path, vg_mounts **out, vg_error **err)
{
    autofree char *text = NULL;
    size_t len = 0;

    *out = NULL;
    if (!path)
        path = "/proc/self/mountinfo";
    int r = vg_read_file(path, VG_MOUNTINFO_MAX_SIZE, &text, &len);
    if (r < 0)
        return vg_error_set_errno(err, -r, "cannot read the mount table '%s'", path);
    r = vg_mountinfo_parse(text, len, out, err);
    if (r < 0)
        return vg_error_wrap(err, "%s", path);
    return 0;
}

const vg_mount *vg_mounts_find(const vg_mounts *m, const char *path)
{
    const vg_mount *best = NULL;
    size_t best_len = 0;

    if (!m || !path || path[0] != '/')
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        const vg_mount *e = &m->v[i];
        if (!vg_path_is_under(path, e->mount_point))
            continue;
        size_t l = strlen(e->mount_point);
        if (!best || l >= best_len) {
            best = e;
            best_len = l;
        }
    }
    return best;
}

const vg_mount *vg_mounts_at(const vg_mounts *m, const char *mount_point)
{
    const vg_mount *best = NULL;
    if (!m || !mount_point)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].mount_point, mount_point) == 0)
            best = &m->v[i];
    return best;
}

char *vg_mount_option(const char *opts, const char *key)
{
    size_t kl;
    if (!opts || !key || !(kl = strlen(key)) || strpbrk(key, ",="))
        return NULL;
    const char *p = opts;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n >= kl && memcmp(p, key, kl) == 0) {
            if (n == kl)
                return vg_xstrdup("");
            if (p[kl] == '=')
                return vg_xstrndup(p + kl + 1, n - kl - 1);
        }
        if (!comma)
            return NULL;
        p = comma + 1;
    }
}
