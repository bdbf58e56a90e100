/* virtguard: qcow2 header reading.
 *
 * Layout (big endian; QEMU docs/interop/qcow2.txt):
 *    0 magic "QFI\xfb"        4 version            8 backing_file_offset (u64)
 *   16 backing_file_size     20 cluster_bits      ...
 *   72 (v3) incompatible_features (u64) ... 100 (v3) header_length (u32)
 * Header extensions follow the header (at 72 for v2, header_length for
 * v3): {u32 type, u32 length, data padded to 8 bytes}, ending with type 0.
 * QEMU keeps the extensions and the backing file name inside cluster 0.
 */
#include <config.h>

#include "qcow2.h"

#define QCOW2_MAGIC 0x514649fbu     /* "QFI\xfb" */
#define V2_HEADER_LEN 72u
#define V3_MIN_HEADER_LEN 104u
#define MIN_CLUSTER_BITS 9u
#define MAX_CLUSTER_BITS 21u
#define MAX_EXTENSIONS 64u
#define MAX_FORMAT_NAME 16u         /* "qcow2", "raw", "vmdk"...: QEMU's limit is 16 */
#define INCOMPAT_DATA_FILE (1ull << 2)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* pread exactly n bytes; returns n, a short count at end of file, or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* Read a name of `len` bytes at `off` (inside cluster 0); refuse NUL bytes. */
static int read_name(int fd, const char *name, const char *what, uint64_t off, uint32_t len,
                     uint64_t cluster_size, size_t max, char **out, vg_error **err)
{
    if (len == 0 || len > max)
        return vg_error_set(err, EINVAL,
                            "qcow2 image '%s' is corrupt: its %s is %u bytes long (1 to %zu allowed)",
                            name, what, len, max);
    if (off > cluster_size || len > cluster_size - off)
        return vg_error_set(err, EINVAL,
                            "qcow2 image '%s' is corrupt: its %s (offset %llu, %u bytes) "
                            "lies outside the first cluster",
                            name, what, (unsigned long long)off, len);
    autofree char *s = vg_xmalloc((size_t)len + 1);
    ssize_t r = pread_full(fd, s, len, off);
    if (r < 0)
        return vg_error_set_errno(err, (int)-r, "cannot read the %s of qcow2 image '%s'", what, name);
    if ((size_t)r != len)
        return vg_error_set(err, EINVAL, "qcow2 image '%s' is truncated: its %s ends after the file",
                            name, what);
    s[len] = '\0';
    if (memchr(s, '\0', len))
        return vg_error_set(err, EINVAL, "qcow2 image '%s' is corrupt: its %s contains a NUL byte",
                            name, what);
    *out = steal_pointer(&s);
    return 0;
}

static int read_extensions(int fd, const char *name, uint64_t off, uint64_t cluster_size,
                           vg_qcow2_info *info, vg_error **err)
{
    for (unsigned n = 0; n < MAX_EXTENSIONS; n++) {
        unsigned char h[8];
        if (off > cluster_size || cluster_size - off < sizeof(h))
            return vg_error_set(err, EINVAL,
                                "qcow2 image '%s' is corrupt: its header extensions run past the first cluster",
                                name);
        ssize_t r = pread_full(fd, h, sizeof(h), off);
        if (r < 0)
            return vg_error_set_errno(err, (int)-r, "cannot read the header extensions of qcow2 image '%s'", name);
        if ((size_t)r != sizeof(h))
            return vg_error_set(err, EINVAL, "qcow2 image '%s' is truncated inside its header extensions", name);
        uint32_t type = be32(h), len = be32(h + 4);
        off += sizeof(h);
        if (type == VG_QCOW2_EXT_END)
            return 0;
        if (len > cluster_size - off)
            return vg_error_set(err, EINVAL,
                                "qcow2 image '%s' is corrupt: header extension 0x%08x (%u bytes) runs past the first cluster",
                                name, type, len);
        int rc = 0;
        if (type == VG_QCOW2_EXT_BACKING_FORMAT && !info->backing_format)
            rc = read_name(fd, name, "backing format", off, len, cluster_size, MAX_FORMAT_NAME,
                           &info->backing_format, err);
        else if (type == VG_QCOW2_EXT_DATA_FILE && !info->data_file)
            rc = read_name(fd, name, "external data file name", off, len, cluster_size,
                           VG_QCOW2_MAX_NAME, &info->data_file, err);
        if (rc < 0)
            return rc;
        off += ((uint64_t)len + 7) & ~(uint64_t)7;
    }
    return vg_error_set(err, EINVAL, "qcow2 image '%s' has more than %u header extensions",
                        name, MAX_EXTENSIONS);
}

int vg_qcow2_read(int fd, const char *name, vg_qcow2_info *out, vg_error **err)
{
    unsigned char h[V3_MIN_HEADER_LEN];
    vg_qcow2_info info = { 0 };
    ssize_t r;
    int rc;

    memset(out, 0, sizeof(*out));
    r = pread_full(fd, h, sizeof(h), 0);
    if (r < 0)
        return vg_error_set_errno(err, (int)-r, "cannot read the header of image '%s'", name);
    if (r < 4 || be32(h) != QCOW2_MAGIC)
        return 0;
    if ((size_t)r < V2_HEADER_LEN)
        return vg_error_set(err, EINVAL, "qcow2 image '%s' is truncated: %zd header bytes", name, r);

    info.version = be32(h + 4);
    uint64_t backing_off = be64(h + 8);
    uint32_t backing_len = be32(h + 16);
    uint32_t cluster_bits = be32(h + 20);
    uint64_t ext_off = V2_HEADER_LEN;
    uint64_t incompat = 0;

    if (info.version != 2 && info.version != 3)
        return vg_error_set(err, EINVAL, "qcow2 image '%s' has unsupported version %u",
                            name, info.version);
    if (cluster_bits < MIN_CLUSTER_BITS || cluster_bits > MAX_CLUSTER_BITS)
        return vg_error_set(err, EINVAL, "qcow2 image '%s' is corrupt: cluster_bits %u is out of range",
                            name, cluster_bits);
    uint64_t cluster_size = 1ull << cluster_bits;
    if (info.version == 3) {
        if ((size_t)r < V3_MIN_HEADER_LEN)
            return vg_error_set(err, EINVAL, "qcow2 image '%s' is truncated: %zd header bytes", name, r);
        incompat = be64(h + 72);
        ext_off = be32(h + 100);
        if (ext_off < V3_MIN_HEADER_LEN || ext_off > cluster_size)
            return vg_error_set(err, EINVAL, "qcow2 image '%s' is corrupt: header_length %llu",
                                name, (unsigned long long)ext_off);
    }

    /* Same check order as QEMU: extensions end before the backing name
     * when there is one, but we only need each to lie in cluster 0. */
    rc = read_extensions(fd, name, ext_off, cluster_size, &info, err);
    if (rc < 0)
        goto fail;
    if (backing_off != 0 || backing_len != 0) {
        rc = read_name(fd, name, "backing file name", backing_off, backing_len, cluster_size,
                       VG_QCOW2_MAX_NAME, &info.backing_file, err);
        if (rc < 0)
            goto fail;
    }
    if (!(incompat & INCOMPAT_DATA_FILE)) {
        /* QEMU opens the named data file only when the feature bit is set. */
        free(steal_pointer(&info.data_file));
    } else if (!info.data_file) {
        rc = vg_error_set(err, EINVAL,
                          "qcow2 image '%s' uses an external data file but does not name it", name);
        goto fail;
    }
    *out = info;
    return 1;

 fail:
    vg_qcow2_info_clear(&info);
    return rc;
}

void vg_qcow2_info_clear(vg_qcow2_info *i)
{
    if (!i)
        return;
    free(i->backing_file);
    free(i->backing_format);
    free(i->data_file);
    memset(i, 0, sizeof(*i));
}
