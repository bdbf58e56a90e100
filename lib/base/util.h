/* virtguard: small helpers shared by every module.
 *
 * Memory: allocation failure aborts (as libvirt and GLib do); callers never
 * check for NULL from vg_x* functions.  Ownership is expressed with the
 * cleanup attribute wrappers below and steal_pointer().
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define VG_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define VG_NORETURN __attribute__((noreturn))
#define VG_UNUSED __attribute__((unused))
#define VG_WARN_UNUSED __attribute__((warn_unused_result))
#define VG_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define autofree _cleanup_(vg_freep)
#define autoclose _cleanup_(vg_closep)
#define autofclose _cleanup_(vg_fclosep)
#define autostrv _cleanup_(vg_strv_freep)

static inline void vg_freep(void *p) { free(*(void **)p); }
static inline void vg_closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void vg_fclosep(FILE **f) { if (*f) fclose(*f); }

/* Returns *pp and sets *pp to NULL: hands ownership to the caller. */
#define steal_pointer(pp) \
    __extension__({ __typeof__(*(pp)) _vg_tmp = *(pp); *(pp) = NULL; _vg_tmp; })
#define steal_fd(pfd) \
    __extension__({ int _vg_fd = *(pfd); *(pfd) = -1; _vg_fd; })

VG_NORETURN void vg_oom(void);
void *vg_xmalloc(size_t n);
void *vg_xcalloc(size_t n, size_t size);
void *vg_xrealloc(void *p, size_t n);
void *vg_xreallocarray(void *p, size_t n, size_t size);
char *vg_xstrdup(const char *s);
char *vg_xstrndup(const char *s, size_t n);
char *vg_xasprintf(const char *fmt, ...) VG_FORMAT(1, 2);
char *vg_xvasprintf(const char *fmt, va_list ap) VG_FORMAT(1, 0);

/* Grow an array of *n elements of size sz by one, zero the new element and
 * return a pointer to it. */
void *vg_array_grow(void *pptr, size_t *n, size_t sz);
#define VG_APPEND(arr, n) ((__typeof__(arr))vg_array_grow(&(arr), &(n), sizeof(*(arr))))

/* NULL-terminated string vectors. */
size_t vg_strv_len(char *const *v);
void vg_strv_push(char ***v, char *s_owned);
void vg_strv_free(char **v);
static inline void vg_strv_freep(char ***v) { vg_strv_free(*v); }
char **vg_strv_dup(char *const *v);
bool vg_strv_contains(char *const *v, const char *s);

/* Growable string buffer. */
typedef struct vg_buf {
    char *s;
    size_t len;
    size_t cap;
} vg_buf;
void vg_buf_add(vg_buf *b, const char *s);
void vg_buf_addn(vg_buf *b, const char *s, size_t n);
void vg_buf_addc(vg_buf *b, char c);
void vg_buf_printf(vg_buf *b, const char *fmt, ...) VG_FORMAT(2, 3);
char *vg_buf_steal(vg_buf *b); /* never NULL; buffer is reset */
void vg_buf_clear(vg_buf *b);
static inline void vg_buf_clearp(vg_buf *b) { vg_buf_clear(b); }
#define autobuf _cleanup_(vg_buf_clearp)

bool vg_str_has_prefix(const char *s, const char *prefix);

/* Length of the well-formed UTF-8 sequence at `p` (1-4 bytes; shortest
 * form, no surrogates, at most U+10FFFF), storing its code point in *cp;
 * 0 when the bytes at `p` are not valid UTF-8 (or `p` is at the NUL). */
size_t vg_utf8_seq(const char *p, unsigned *cp);

/* True for C0 controls (0x00-0x1f), DEL and the C1 controls U+0080-U+009F:
 * bytes or code points that a terminal, a log line or an AppArmor rule may
 * interpret. */
bool vg_is_control_cp(unsigned cp);

/* True for every code point a person or a log is never shown as is: the
 * controls above and the invisible ones of one table in util.c -- Unicode's
 * format characters (Cf: bidi embeddings, overrides and isolates U+202A-
 * U+202E, U+2066-U+2069, marks U+200E, U+200F, U+061C; zero width U+200B-
 * U+200D, U+2060, U+FEFF; soft hyphen, tags...) and the line and paragraph
 * separators U+2028, U+2029. */
bool vg_is_shown_escaped_cp(unsigned cp);

/* How vg_buf_add_shown() writes. */
enum {
    VG_SHOW_BACKSLASH = 1 << 0, /* a backslash as "\\": escapes unambiguous */
    VG_SHOW_LINES = 1 << 1,     /* keep LF (text whose lines virtguard made) */
    VG_SHOW_JSON = 1 << 2,      /* JSON string syntax (no quotes around) */
};

/* THE escaper: append `s` as a person or a log may be shown it.  Every
 * code point vg_is_shown_escaped_cp() names, and every byte that is not
 * well-formed UTF-8, is written as an escape: LF, CR, TAB as "\n" "\r"
 * "\t", other ASCII controls and stray bytes as "\xNN", others as
 * "\uXXXX" ("\UXXXXXXXX" above U+FFFF).  VG_SHOW_JSON: '"' and '\\'
 * escaped, every escape "\uXXXX" (a surrogate pair above U+FFFF), a stray
 * byte U+FFFD.  Valid UTF-8 otherwise kept.  Without VG_SHOW_LINES the
 * result never holds a line break of any kind.  docs/SECURITY.md, "What a
 * person or a log is shown". */
void vg_buf_add_shown(vg_buf *b, const char *s, unsigned how);

/* True when vg_buf_add_shown(s, VG_SHOW_BACKSLASH) would copy `s`
 * unchanged (no escape, no backslash). */
bool vg_str_is_shown_as_is(const char *s);

/* vg_buf_add_shown(s, backslash ? VG_SHOW_BACKSLASH : 0) as a new string,
 * for one line of a message or a log.  Without `backslash` the result is
 * idempotent (for whole messages that may already hold shown values). */
char *vg_str_escape(const char *s, bool backslash);

/* vg_buf_add_shown(s, VG_SHOW_LINES): multi-line text from another program
 * (the helper's output) before it is shown, its newlines kept. */
char *vg_str_escape_lines(const char *s);
bool vg_streq(const char *a, const char *b); /* NULL-safe */

/* True when `path` is `dir` or lies below it, comparing whole components:
 * "/var/lib/images/a" is under "/var/lib/images" and "/var/lib/images/",
 * "/var/lib/images2" is not.  Both must be absolute. */
bool vg_path_is_under(const char *path, const char *dir);

/* Lexically normalise an absolute path: collapse "//", "/./", trailing "/".
 * Returns NULL (errno EINVAL) for relative paths or when ".." appears:
 * virtguard never resolves ".." lexically, because it would be wrong in the
 * presence of symlinks. */
char *vg_path_normalize(const char *path);

/* Read a whole file (or fd) with a size cap.  Returns 0 or -errno; -EFBIG
 * when the content exceeds max. The result is NUL-terminated. */
int vg_read_fd(int fd, size_t max, char **out, size_t *out_len);
int vg_read_file(const char *path, size_t max, char **out, size_t *out_len);

/* Write `len` bytes to `path` atomically: temp file in the same directory,
 * fsync, rename, fsync of the directory.  Returns 0 or -errno. */
int vg_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Test-only seam for crash-safety tests (virtguard-helper --test-kill-at):
 * when set, called with `path` once its temporary file is complete (before
 * the rename, renamed = false) and once it is in place (renamed = true).
 * NULL in normal operation. */
extern void (*vg_write_file_atomic_hook)(const char *path, bool renamed);

/* write(2) everything, retrying on EINTR. 0 or -errno. */
int vg_write_all(int fd, const void *data, size_t len);

/* Monotonic clock in milliseconds / nanoseconds. */
long long vg_now_ms(void);
long long vg_now_ns(void);
