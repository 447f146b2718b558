/* numpy .npy files, version 1.0, float32 little-endian, C order. */
#include "tessera/core.h"

#include <stdlib.h>
#include <string.h>

ts_status ts_npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim) {
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld,%s", (long long)shape[i],
                        (i + 1 < ndim) ? " " : "");
        count *= (size_t)shape[i];
    }
    if (ndim > 1) len--; /* (80, 3000) not (80, 3000,) */
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* magic(6) + version(2) + header_len(2) + dict + padding + '\n' is a multiple of 64 */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    uint16_t header_len = (uint16_t)(len + pad + 1);

    ts_outfile o;
    ts_status s = ts_outfile_open(&o, path);
    if (s) return s;
    fwrite("\x93NUMPY\x01\x00", 1, 8, o.fp);
    uint8_t hl[2] = {(uint8_t)(header_len & 0xff), (uint8_t)(header_len >> 8)};
    fwrite(hl, 1, 2, o.fp);
    fwrite(dict, 1, (size_t)len, o.fp);
    for (int i = 0; i < pad; i++) fputc(' ', o.fp);
    fputc('\n', o.fp);
    fwrite(data, sizeof(float), count, o.fp); /* x86-64 and arm64 are little-endian */
    return ts_outfile_commit(&o);
}

/* Reads what ts_npy_write_f32 and numpy's np.save(float32) write. */
ts_status ts_npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim, int max_ndim) {
    uint8_t *buf;
    size_t len;
    ts_status s = ts_read_file(path, 0, &buf, &len);
    if (s) return s;
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: not a .npy file", path);
    }
    size_t hlen, hstart;
    if (buf[6] == 1) {
        hlen = buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (len >= 12) {
        hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: truncated .npy header", path);
    }
    if (hstart + hlen > len || hlen > 4096) {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: truncated .npy header", path);
    }
    char hdr[4097];
    memcpy(hdr, buf + hstart, hlen);
    hdr[hlen] = 0;
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True")) {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: only little-endian float32 C-order .npy is supported", path);
    }
    char *p = strstr(hdr, "'shape': (");
    if (!p) {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: .npy header has no shape", path);
    }
    p += 10;
    int n = 0;
    size_t count = 1;
    while (*p && *p != ')') {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p) break;
        if (n >= max_ndim || v < 0) {
            free(buf);
            return ts_fail(TS_ERR_INPUT, "%s: unsupported .npy shape", path);
        }
        shape[n++] = v;
        count *= (size_t)v;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    size_t off = hstart + hlen;
    if (count > (len - off) / sizeof(float) || (len - off) != count * sizeof(float)) {
        free(buf);
        return ts_fail(TS_ERR_INPUT, "%s: .npy data size does not match its shape", path);
    }
    float *out = malloc(count * sizeof(float) + 1);
    if (!out) {
        free(buf);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(out, buf + off, count * sizeof(float));
    free(buf);
    *data = out;
    *ndim = n;
    return TS_OK;
}
