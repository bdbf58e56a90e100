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

/* A copy of `s` fit to be shown in one line of a message or a log: every
 * control character (C0, DEL, C1) and every byte that is not valid UTF-8
 * written as an escape (\n \r \t, \xNN for bytes, \u0085 for C1), valid
 * UTF-8 kept.  With `backslash`, a backslash itself is shown as "\\" so
 * the escapes are unambiguous (for quoted values); without it the result
 * is idempotent (for whole messages that may already hold shown values). */
char *vg_str_escape(const char *s, bool backslash);

/* vg_str_escape(line, false) of every line of `s`, the newlines kept: for
 * multi-line text from another program (the helper's output) before it is
 * shown. */
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
