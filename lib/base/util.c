/* virtguard: allocation, string, path and file helpers. */
#include <config.h>

#include "util.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

void vg_oom(void)
{
    static const char msg[] = "virtguard: out of memory\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    abort();
}

void *vg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        vg_oom();
    return p;
}

void *vg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        vg_oom();
    return p;
}

void *vg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        vg_oom();
    return q;
}

void *vg_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        vg_oom();
    return vg_xrealloc(p, n * size);
}

char *vg_xstrdup(const char *s)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        vg_oom();
    return d;
}

char *vg_xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        vg_oom();
    return d;
}

char *vg_xvasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        vg_oom();
    return s;
}

char *vg_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    s = vg_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void *vg_array_grow(void *pptr, size_t *n, size_t sz)
{
    void **pp = pptr;
    char *p = vg_xreallocarray(*pp, *n + 1, sz);
    memset(p + *n * sz, 0, sz);
    *pp = p;
    return p + (*n)++ * sz;
}

size_t vg_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

void vg_strv_push(char ***v, char *s_owned)
{
    size_t n = vg_strv_len(*v);
    *v = vg_xreallocarray(*v, n + 2, sizeof(char *));
    (*v)[n] = s_owned;
    (*v)[n + 1] = NULL;
}

void vg_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

char **vg_strv_dup(char *const *v)
{
    size_t n = vg_strv_len(v);
    char **d = vg_xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        d[i] = vg_xstrdup(v[i]);
    return d;
}

bool vg_strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void buf_reserve(vg_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need < b->len)
        vg_oom();
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            vg_oom();
        cap *= 2;
    }
    b->s = vg_xrealloc(b->s, cap);
    b->cap = cap;
}

void vg_buf_addn(vg_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void vg_buf_add(vg_buf *b, const char *s)
{
    vg_buf_addn(b, s, strlen(s));
}

void vg_buf_addc(vg_buf *b, char c)
{
    vg_buf_addn(b, &c, 1);
}

void vg_buf_printf(vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    autofree char *s = NULL;
    va_start(ap, fmt);
    s = vg_xvasprintf(fmt, ap);
    va_end(ap);
    vg_buf_add(b, s);
}

char *vg_buf_steal(vg_buf *b)
{
    char *s = b->s ? b->s : vg_xstrdup("");
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void vg_buf_clear(vg_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

bool vg_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool vg_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool vg_path_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (path[0] != '/' || dir[0] != '/')
        return false;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 1)                 /* dir is "/" */
        return true;
    if (strncmp(path, dir, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/';
}

size_t vg_utf8_seq(const char *s, unsigned *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c, min;
    size_t n;

    if (p[0] < 0x80) {
        *cp = p[0];
        return p[0] ? 1 : 0;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2; c = p[0] & 0x1f; min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3; c = p[0] & 0x0f; min = 0x800;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4; c = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;       /* also stops at the NUL */
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

bool vg_is_control_cp(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Code points shown escaped besides the controls: Unicode's format
 * characters (general category Cf, Unicode 15) and the two separators
 * (Zl, Zp) that end a line in some viewers.  Ranges, inclusive, sorted. */
static const struct { unsigned lo, hi; } invisible_cps[] = {
    { 0x00ad, 0x00ad },     /* soft hyphen */
    { 0x0600, 0x0605 },     /* Arabic number signs */
    { 0x061c, 0x061c },     /* Arabic letter mark (bidi) */
    { 0x06dd, 0x06dd },     /* Arabic end of ayah */
    { 0x070f, 0x070f },     /* Syriac abbreviation mark */
    { 0x0890, 0x0891 },     /* Arabic pound and piastre marks above */
    { 0x08e2, 0x08e2 },     /* Arabic disputed end of ayah */
    { 0x180e, 0x180e },     /* Mongolian vowel separator */
    { 0x200b, 0x200f },     /* zero width space, non-joiner, joiner; LRM, RLM */
    { 0x2028, 0x2029 },     /* line and paragraph separators (Zl, Zp) */
    { 0x202a, 0x202e },     /* bidi embeddings and overrides */
    { 0x2060, 0x2064 },     /* word joiner, invisible operators */
    { 0x2066, 0x206f },     /* bidi isolates, deprecated format characters */
    { 0xfeff, 0xfeff },     /* zero width no-break space (BOM) */
    { 0xfff9, 0xfffb },     /* interlinear annotation */
    { 0x110bd, 0x110bd },   /* Kaithi number sign */
    { 0x110cd, 0x110cd },   /* Kaithi number sign above */
    { 0x13430, 0x1343f },   /* Egyptian hieroglyph format controls */
    { 0x1bca0, 0x1bca3 },   /* shorthand format controls */
    { 0x1d173, 0x1d17a },   /* musical symbol format controls */
    { 0xe0001, 0xe0001 },   /* language tag */
    { 0xe0020, 0xe007f },   /* tag characters */
};

bool vg_is_shown_escaped_cp(unsigned cp)
{
    if (vg_is_control_cp(cp))
        return true;
    for (size_t i = 0; i < VG_N_ELEMENTS(invisible_cps) && cp >= invisible_cps[i].lo; i++)
        if (cp <= invisible_cps[i].hi)
            return true;
    return false;
}

/* One code point (or, `cp` > 0x10ffff, one byte that is not UTF-8) in the
 * shown form of `how`. */
static void add_escape(vg_buf *b, unsigned cp, unsigned how)
{
    bool json = how & VG_SHOW_JSON;
    if (cp > 0x10ffff && json)
        vg_buf_add(b, "\\ufffd");      /* JSON holds no bytes: U+FFFD */
    else if (cp > 0x10ffff)
        vg_buf_printf(b, "\\x%02x", cp - 0x110000);
    else if (cp == '\n')
        vg_buf_add(b, "\\n");
    else if (cp == '\r')
        vg_buf_add(b, "\\r");
    else if (cp == '\t')
        vg_buf_add(b, "\\t");
    else if (cp < 0x80 && !json)
        vg_buf_printf(b, "\\x%02x", cp);
    else if (cp > 0xffff && json)       /* a JSON escape is one UTF-16 unit */
        vg_buf_printf(b, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
                      0xdc00 + ((cp - 0x10000) & 0x3ff));
    else
        vg_buf_printf(b, cp > 0xffff ? "\\U%08x" : "\\u%04x", cp);
}

void vg_buf_add_shown(vg_buf *b, const char *s, unsigned how)
{
    vg_buf_add(b, "");
    for (const char *p = s ? s : ""; *p;) {
        unsigned cp;
        size_t n = vg_utf8_seq(p, &cp);
        if (n == 0) {
            add_escape(b, 0x110000u + (unsigned char)*p, how);
            p++;
            continue;
        }
        if (cp == '\n' && (how & VG_SHOW_LINES))
            vg_buf_addc(b, '\n');
        else if (cp == '\\' && (how & (VG_SHOW_BACKSLASH | VG_SHOW_JSON)))
            vg_buf_add(b, "\\\\");
        else if (cp == '"' && (how & VG_SHOW_JSON))
            vg_buf_add(b, "\\\"");
        else if (vg_is_shown_escaped_cp(cp))
            add_escape(b, cp, how);
        else
            vg_buf_addn(b, p, n);
        p += n;
    }
}

bool vg_str_is_shown_as_is(const char *s)
{
    for (const char *p = s ? s : ""; *p;) {
        unsigned cp;
        size_t n = vg_utf8_seq(p, &cp);
        if (n == 0 || cp == '\\' || vg_is_shown_escaped_cp(cp))
            return false;
        p += n;
    }
    return true;
}

char *vg_str_escape(const char *s, bool backslash)
{
    vg_buf b = { 0 };
    vg_buf_add_shown(&b, s, backslash ? VG_SHOW_BACKSLASH : 0);
    return vg_buf_steal(&b);
}

char *vg_str_escape_lines(const char *s)
{
    vg_buf b = { 0 };
    vg_buf_add_shown(&b, s, VG_SHOW_LINES);
    return vg_buf_steal(&b);
}

char *vg_path_normalize(const char *path)
{
    vg_buf b = { 0 };
    const char *p = path;

    if (!path || path[0] != '/') {
        errno = EINVAL;
        return NULL;
    }
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            vg_buf_clear(&b);
            errno = EINVAL;
            return NULL;
        }
        vg_buf_addc(&b, '/');
        vg_buf_addn(&b, p, n);
        p += n;
    }
    if (b.len == 0)
        vg_buf_addc(&b, '/');
    return vg_buf_steal(&b);
}

int vg_read_fd(int fd, size_t max, char **out, size_t *out_len)
{
    vg_buf b = { 0 };
    char chunk[65536];

    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            vg_buf_clear(&b);
            return -e;
        }
        if (r == 0)
            break;
        if (b.len + (size_t)r > max) {
            vg_buf_clear(&b);
            return -EFBIG;
        }
        vg_buf_addn(&b, chunk, (size_t)r);
    }
    if (out_len)
        *out_len = b.len;
    *out = vg_buf_steal(&b);
    return 0;
}

int vg_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    return vg_read_fd(fd, max, out, out_len);
}

int vg_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

void (*vg_write_file_atomic_hook)(const char *path, bool renamed);

int vg_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    autofree char *tmp = vg_xasprintf("%s.vgtmp.XXXXXX", path);
    autofree char *dircopy = vg_xstrdup(path);
    autoclose int fd = -1;
    autoclose int dfd = -1;
    int r;

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode) < 0 ||
        (r = vg_write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
        r = -errno;
        unlink(tmp);
        return r ? r : -EIO;
    }
    if (close(steal_fd(&fd)) < 0) {
        r = -errno;
        unlink(tmp);
        return r;
    }
    if (vg_write_file_atomic_hook)
        vg_write_file_atomic_hook(path, false);
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
        return r;
    }
    if (vg_write_file_atomic_hook)
        vg_write_file_atomic_hook(path, true);
    dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
    return 0;
}

long long vg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long vg_now_ms(void)
{
    return vg_now_ns() / 1000000LL;
}
