/* Unit tests for lib/apparmor/qcow2.c: real images made by qemu-img, and
 * hand-made corrupt headers. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "qcow2.h"
#include "helpers.h"
#include "util.h"

static char tmpdir[] = "/tmp/vg-test-qcow2-XXXXXX";

static void run(const char *fmt, ...) VG_FORMAT(1, 2);
static void run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *cmd = vg_xvasprintf(fmt, ap);
    va_end(ap);
    autofree char *quiet = vg_xasprintf("cd '%s' && %s >/dev/null", tmpdir, cmd);
    if (system(quiet) != 0)
        fail_msg("command failed: %s", cmd);
}

static int read_image(const char *name, vg_qcow2_info *info, vg_error **err)
{
    autofree char *path = vg_xasprintf("%s/%s", tmpdir, name);
    autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    return vg_qcow2_read(fd, path, info, err);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    run("qemu-img create -q -f raw raw.img 1M");
    run("qemu-img create -q -f qcow2 base.qcow2 1M");
    run("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2");
    run("qemu-img create -q -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 v2.qcow2");
    run("qemu-img create -q -f qcow2 -u -b /abs/path/raw.img -F raw abs.qcow2 1M");
    run("qemu-img create -q -f qcow2 -u -b nofmt.img -F raw nofmt.qcow2 1M");
    autofree char *nofmt = vg_xasprintf("%s/nofmt.qcow2", tmpdir);
    vg_test_drop_backing_format(nofmt);
    run("qemu-img create -q -f qcow2 -o data_file=data.raw data.qcow2 1M");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    autofree char *cmd = vg_xasprintf("rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_not_qcow2(void **state)
{
    (void)state;
    autoqcow2 vg_qcow2_info info = { 0 };
    autoerror vg_error *err = NULL;
    assert_int_equal(read_image("raw.img", &info, &err), 0);
    assert_null(err);
    assert_null(info.backing_file);
    /* an empty file is not qcow2 either */
    run("touch empty.img");
    assert_int_equal(read_image("empty.img", &info, &err), 0);
}

static void test_plain_and_backing(void **state)
{
    (void)state;
    autoqcow2 vg_qcow2_info base = { 0 };
    autoqcow2 vg_qcow2_info mid = { 0 };
    autoqcow2 vg_qcow2_info v2 = { 0 };
    autoqcow2 vg_qcow2_info abs = { 0 };
    autoqcow2 vg_qcow2_info nofmt = { 0 };
    autoerror vg_error *err = NULL;

    assert_int_equal(read_image("base.qcow2", &base, &err), 1);
    assert_int_equal(base.version, 3);
    assert_null(base.backing_file);
    assert_null(base.backing_format);
    assert_null(base.data_file);

    assert_int_equal(read_image("mid.qcow2", &mid, &err), 1);
    assert_string_equal(mid.backing_file, "base.qcow2");
    assert_string_equal(mid.backing_format, "qcow2");

    assert_int_equal(read_image("v2.qcow2", &v2, &err), 1);
    assert_int_equal(v2.version, 2);
    assert_string_equal(v2.backing_file, "mid.qcow2");
    assert_string_equal(v2.backing_format, "qcow2");

    assert_int_equal(read_image("abs.qcow2", &abs, &err), 1);
    assert_string_equal(abs.backing_file, "/abs/path/raw.img");
    assert_string_equal(abs.backing_format, "raw");

    assert_int_equal(read_image("nofmt.qcow2", &nofmt, &err), 1);
    assert_string_equal(nofmt.backing_file, "nofmt.img");
    assert_null(nofmt.backing_format);
}

static void test_data_file(void **state)
{
    (void)state;
    autoqcow2 vg_qcow2_info info = { 0 };
    autoerror vg_error *err = NULL;
    assert_int_equal(read_image("data.qcow2", &info, &err), 1);
    assert_string_equal(info.data_file, "data.raw");
    assert_null(info.backing_file);
}

/* A minimal v3 header in a 64 KiB file; callers then break one field. */
static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

typedef struct corrupt_case {
    const char *label;
    void (*mutate)(unsigned char *h, size_t *len);
    const char *msg_part;
} corrupt_case;

static void m_none(unsigned char *h, size_t *len) { (void)h; (void)len; }
static void m_version(unsigned char *h, size_t *len) { (void)len; put32(h + 4, 7); }
static void m_cluster(unsigned char *h, size_t *len) { (void)len; put32(h + 20, 30); }
static void m_hdrlen(unsigned char *h, size_t *len) { (void)len; put32(h + 100, 50); }
static void m_name_far(unsigned char *h, size_t *len) { (void)len; put64(h + 8, 65530); put32(h + 16, 10); }
static void m_name_long(unsigned char *h, size_t *len) { (void)len; put64(h + 8, 512); put32(h + 16, 2000); }
static void m_name_nul(unsigned char *h, size_t *len)
{
    (void)len;
    put64(h + 8, 512);
    put32(h + 16, 6);
    memcpy(h + 512, "a\0/etc", 6);
}
static void m_name_truncated(unsigned char *h, size_t *len)
{
    put64(h + 8, 512);
    put32(h + 16, 100);
    *len = 520;
}
static void m_ext_far(unsigned char *h, size_t *len)
{
    (void)len;
    put32(h + 104, VG_QCOW2_EXT_BACKING_FORMAT);
    put32(h + 108, 70000);
}
static void m_short(unsigned char *h, size_t *len) { (void)h; *len = 40; }
static void m_data_unnamed(unsigned char *h, size_t *len) { (void)len; put64(h + 72, 1ull << 2); }
static void m_ok_name(unsigned char *h, size_t *len)
{
    (void)len;
    put64(h + 8, 512);
    put32(h + 16, 8);
    memcpy(h + 512, "b a*.img", 8);
}

static void write_header(const char *name, void (*mutate)(unsigned char *, size_t *))
{
    size_t len = 65536;
    autofree unsigned char *h = vg_xcalloc(1, len);
    put32(h, 0x514649fb);
    put32(h + 4, 3);
    put32(h + 20, 16);      /* 64 KiB clusters */
    put32(h + 100, 104);    /* header_length; extensions start at 104, end marker zero */
    mutate(h, &len);
    autofree char *path = vg_xasprintf("%s/%s", tmpdir, name);
    assert_int_equal(vg_write_file_atomic(path, (const char *)h, len, 0644), 0);
}

static void test_corrupt(void **state)
{
    (void)state;
    const corrupt_case cases[] = {
        { "version", m_version, "unsupported version 7" },
        { "cluster", m_cluster, "cluster_bits 30" },
        { "hdrlen", m_hdrlen, "header_length 50" },
        { "name-far", m_name_far, "outside the first cluster" },
        { "name-long", m_name_long, "2000 bytes long" },
        { "name-nul", m_name_nul, "NUL byte" },
        { "name-trunc", m_name_truncated, "truncated" },
        { "ext-far", m_ext_far, "runs past the first cluster" },
        { "short", m_short, "truncated" },
        { "data-unnamed", m_data_unnamed, "does not name it" },
    };
    for (size_t i = 0; i < VG_N_ELEMENTS(cases); i++) {
        autoqcow2 vg_qcow2_info info = { 0 };
        autoerror vg_error *err = NULL;
        write_header(cases[i].label, cases[i].mutate);
        int r = read_image(cases[i].label, &info, &err);
        if (r >= 0 || !err || !strstr(err->msg, cases[i].msg_part))
            fail_msg("case %s: r=%d msg=%s", cases[i].label, r, err ? err->msg : "(none)");
        assert_int_equal(r, -EINVAL);
        assert_null(info.backing_file);
    }
    /* the hand-made header itself is valid */
    autoqcow2 vg_qcow2_info ok = { 0 };
    autoerror vg_error *err = NULL;
    write_header("ok", m_none);
    assert_int_equal(read_image("ok", &ok, &err), 1);
    assert_null(ok.backing_file);
    write_header("ok-name", m_ok_name);
    assert_int_equal(read_image("ok-name", &ok, &err), 1);
    assert_string_equal(ok.backing_file, "b a*.img");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_qcow2),
        cmocka_unit_test(test_plain_and_backing),
        cmocka_unit_test(test_data_file),
        cmocka_unit_test(test_corrupt),
    };
    if (system("qemu-img --version >/dev/null 2>&1") != 0) {
        printf("SKIP: qemu-img (qemu-utils) is needed to make test images\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
