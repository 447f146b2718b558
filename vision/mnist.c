/* MNIST idx3 image files, plain or gzip-compressed (zlib). The header's
 * sizes are checked against the data before anything is copied. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tessera/dataset.h"

#define MNIST_MAX_BYTES ((size_t)1 << 30)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_gzip(const uint8_t *b, size_t n) { return n >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

bool ts_mnist_sniff(const uint8_t *buf, size_t len) {
    if (is_gzip(buf, len)) {
        /* inflate just the 4-byte magic */
        uint8_t head[4];
        z_stream z = {0};
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return false;
        z.next_in = (Bytef *)buf, z.avail_in = (uInt)(len > (1u << 30) ? (1u << 30) : len);
        z.next_out = head, z.avail_out = sizeof head;
        int r = inflate(&z, Z_SYNC_FLUSH);
        bool ok = (r == Z_OK || r == Z_STREAM_END) && z.avail_out == 0 && be32(head) == 0x803;
        inflateEnd(&z);
        return ok;
    }
    return len >= 16 && be32(buf) == 0x803;
}

static ts_status gunzip(const uint8_t *buf, size_t len, const char *name, uint8_t **out,
                        size_t *out_len) {
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return ts_fail(TS_ERR_NOMEM, "%s: zlib", name);
    size_t cap = len * 4 + 1024, n = 0;
    uint8_t *o = malloc(cap);
    ts_status s = TS_OK;
    z.next_in = (Bytef *)buf;
    size_t in_left = len;
    for (;;) {
        if (!o) {
            s = ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        if (z.avail_in == 0 && in_left) {
            uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            z.avail_in = chunk, in_left -= chunk;
        }
        z.next_out = o + n, z.avail_out = (uInt)(cap - n > (1u << 30) ? (1u << 30) : cap - n);
        uInt before = z.avail_out;
        int r = inflate(&z, Z_NO_FLUSH);
        n += before - z.avail_out;
        if (r == Z_STREAM_END) break;
        if (r != Z_OK && r != Z_BUF_ERROR) {
            s = ts_fail(TS_ERR_INPUT, "%s: corrupt gzip data", name);
            break;
        }
        if (r == Z_BUF_ERROR && z.avail_in == 0 && !in_left) {
            s = ts_fail(TS_ERR_INPUT, "%s: truncated gzip data", name);
            break;
        }
        if (n == cap) {
            if (cap >= MNIST_MAX_BYTES) {
                s = ts_fail(TS_ERR_INPUT, "%s: more than %zu bytes uncompressed", name,
                            (size_t)MNIST_MAX_BYTES);
                break;
            }
            cap *= 2;
            uint8_t *g = realloc(o, cap);
            if (!g) free(o);
            o = g;
        }
    }
    inflateEnd(&z);
    if (s) {
        free(o);
        return s;
    }
    *out = o, *out_len = n;
    return TS_OK;
}

ts_status ts_mnist_read_mem(const uint8_t *buf, size_t len, const char *name, uint8_t **pixels,
                            int *count, int *rows, int *cols) {
    uint8_t *raw = NULL;
    const uint8_t *d = buf;
    size_t n = len;
    *pixels = NULL;
    if (is_gzip(buf, len)) {
        ts_status s = gunzip(buf, len, name, &raw, &n);
        if (s) return s;
        d = raw;
    }
    ts_status s = TS_OK;
    if (n < 16 || be32(d) != 0x803) {
        s = ts_fail(TS_ERR_INPUT, "%s: not an MNIST idx3 images file", name);
    } else {
        uint32_t c = be32(d + 4), r = be32(d + 8), k = be32(d + 12);
        if (r == 0 || k == 0 || r > 4096 || k > 4096 || c > (1u << 28) ||
            (uint64_t)c * r * k != n - 16) {
            s = ts_fail(TS_ERR_INPUT, "%s: header says %u images of %ux%u, the file has %zu bytes",
                        name, c, r, k, n - 16);
        } else if (!(*pixels = malloc((size_t)c * r * k + 1))) {
            s = ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
        } else {
            memcpy(*pixels, d + 16, (size_t)c * r * k);
            *count = (int)c, *rows = (int)r, *cols = (int)k;
        }
    }
    free(raw);
    return s;
}

ts_status ts_mnist_read(const char *path, uint8_t **pixels, int *count, int *rows, int *cols) {
    ts_mapped_file f;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    s = ts_mnist_read_mem(f.data, f.len, path, pixels, count, rows, cols);
    ts_unmap_file(&f);
    return s;
}
