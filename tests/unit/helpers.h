/* Helpers shared by the unit tests: golden files and qcow2 fixtures.
 *
 * Golden files are regenerated from the code's output with
 *   VG_REGENERATE=1 make check TESTS=tests/unit/test-NAME
 * (VG_REGENERATE_GOLDEN=1, the older name, works as well). */
#pragma once

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

/* Is this run regenerating the golden files? */
static inline bool vg_test_regenerate(void)
{
    const char *e = getenv("VG_REGENERATE");
    if (!e)
        e = getenv("VG_REGENERATE_GOLDEN");
    return e && *e && strcmp(e, "0") != 0;
}

/* Compare `actual` with the golden file `path`, or write it when
 * regenerating.  A mismatch prints both, names the first differing line and
 * fails the test. */
static inline void vg_test_golden(const char *path, const char *actual)
{
    if (vg_test_regenerate()) {
        assert_int_equal(vg_write_file_atomic(path, actual, strlen(actual), 0644), 0);
        return;
    }
    autofree char *expected = NULL;
    int r = vg_read_file(path, 16 * 1024 * 1024, &expected, NULL);
    if (r < 0)
        fail_msg("golden file '%s' is missing (%s); VG_REGENERATE=1 writes it", path,
                 strerror(-r));
    if (strcmp(expected, actual) == 0)
        return;
    const char *a = actual, *e = expected;
    int line = 1;
    while (*a && *a == *e) {
        if (*a == '\n')
            line++;
        a++;
        e++;
    }
    print_error("golden mismatch in '%s' at line %d\n--- expected\n%s\n--- actual\n%s\n", path,
                line, expected, actual);
    fail_msg("'%s' differs from the output (line %d)", path, line);
}

/* qemu-img refuses to write a backing name without a backing format now;
 * older images lack it.  Rename the format extension to an unknown type,
 * which QEMU (and we) skip. */
static inline void vg_test_drop_backing_format(const char *path)
{
    autoclose int fd = open(path, O_RDWR | O_CLOEXEC);
    unsigned char buf[4096];
    static const unsigned char ext[4] = { 0xe2, 0x79, 0x2a, 0xca };
    static const unsigned char unknown[4] = { 0x7e, 0x57, 0xab, 0x1e };
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    for (size_t i = 104; i + 4 <= sizeof(buf); i += 8) {
        if (memcmp(buf + i, ext, 4) == 0) {
            assert_int_equal(pwrite(fd, unknown, 4, (off_t)i), 4);
            return;
        }
    }
    fail_msg("no backing format extension in %s", path);
}
