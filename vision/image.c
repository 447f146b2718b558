/* The image front end's entry points: format sniffing by magic bytes, the
 * size limits, and the dispatch to the PNG and JPEG decoders. */
#include <stdlib.h>
#include <string.h>

#include "vision/vision_internal.h"

ts_image_format ts_image_sniff(const uint8_t *buf, size_t len) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len >= 8 && !memcmp(buf, png_sig, 8)) return TS_IMAGE_PNG;
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) return TS_IMAGE_JPEG;
    return TS_IMAGE_UNKNOWN;
}

ts_status ts_image_check_size(const char *name, const char *what, uint64_t w, uint64_t h) {
    if (w == 0 || h == 0)
        return ts_fail(TS_ERR_INPUT, "%s: %s header gives an empty image (%llu x %llu)", name, what,
                       (unsigned long long)w, (unsigned long long)h);
    if (w > INT32_MAX || h > INT32_MAX || w * h > TS_MAX_IMAGE_PIXELS)
        return ts_fail(TS_ERR_INPUT,
                       "%s: %s header gives %llu x %llu pixels, over the limit of %llu pixels",
                       name, what, (unsigned long long)w, (unsigned long long)h,
                       (unsigned long long)TS_MAX_IMAGE_PIXELS);
    return TS_OK;
}

static ts_status not_an_image(const uint8_t *buf, size_t len, const char *name) {
    if (len == 0) return ts_fail(TS_ERR_INPUT, "%s: empty file", name);
    if (len > TS_MAX_IMAGE_FILE_BYTES)
        return ts_fail(TS_ERR_INPUT, "%s: file is %zu bytes, over the image limit of %zu", name,
                       len, TS_MAX_IMAGE_FILE_BYTES);
    (void)buf;
    return ts_fail(TS_ERR_INPUT, "%s: not a PNG or JPEG file", name);
}

ts_status ts_image_probe_mem(const uint8_t *buf, size_t len, const char *name,
                             ts_image_info *info) {
    name = TS_IMAGE_NAME(name);
    memset(info, 0, sizeof *info);
    ts_image_format f =
        len <= TS_MAX_IMAGE_FILE_BYTES ? ts_image_sniff(buf, len) : TS_IMAGE_UNKNOWN;
    ts_status s = f == TS_IMAGE_PNG    ? ts_png_probe(buf, len, name, info)
                  : f == TS_IMAGE_JPEG ? ts_jpeg_probe(buf, len, name, info)
                                       : not_an_image(buf, len, name);
    if (s) memset(info, 0, sizeof *info);
    return s;
}

ts_status ts_image_decode_mem(const uint8_t *buf, size_t len, const char *name, int min_side,
                              ts_image *out) {
    name = TS_IMAGE_NAME(name);
    memset(out, 0, sizeof *out);
    ts_image_format f =
        len <= TS_MAX_IMAGE_FILE_BYTES ? ts_image_sniff(buf, len) : TS_IMAGE_UNKNOWN;
    int orientation = 1;
    ts_status s = f == TS_IMAGE_PNG    ? ts_png_decode(buf, len, name, out, &orientation)
                  : f == TS_IMAGE_JPEG ? ts_jpeg_decode(buf, len, name, min_side, out, &orientation)
                                       : not_an_image(buf, len, name);
    if (!s) s = ts_image_orient(out, orientation, name);
    if (s) ts_image_free(out);
    return s;
}

void ts_image_free(ts_image *img) {
    if (!img) return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

/* Files are mapped, not read: probing a 12-megapixel JPEG touches only the
 * pages that hold its header. */
static ts_status map_image(const char *path, ts_mapped_file *m) {
    ts_status s = ts_map_file(path, m);
    if (s) return s;
    if (m->len > TS_MAX_IMAGE_FILE_BYTES) {
        size_t n = m->len;
        ts_unmap_file(m);
        return ts_fail(TS_ERR_INPUT, "%s: file is %zu bytes, over the image limit of %zu", path, n,
                       TS_MAX_IMAGE_FILE_BYTES);
    }
    return TS_OK;
}

ts_status ts_image_probe_file(const char *path, ts_image_info *info) {
    memset(info, 0, sizeof *info);
    ts_mapped_file m;
    ts_status s = map_image(path, &m);
    if (s) return s;
    s = ts_image_probe_mem(m.data, m.len, path, info);
    ts_unmap_file(&m);
    return s;
}

ts_status ts_image_decode_file(const char *path, int min_side, ts_image *out) {
    memset(out, 0, sizeof *out);
    ts_mapped_file m;
    ts_status s = map_image(path, &m);
    if (s) return s;
    s = ts_image_decode_mem(m.data, m.len, path, min_side, out);
    ts_unmap_file(&m);
    return s;
}

ts_status ts_image_load_input_mem(const uint8_t *buf, size_t len, const char *name, int size,
                                  ts_image_fit fit, float *out) {
    if (size <= 0 || size > 4096)
        return ts_fail(TS_ERR_USAGE, "%s: model input size %d is not in [1, 4096]",
                       TS_IMAGE_NAME(name), size);
    ts_image img;
    ts_status s = ts_image_decode_mem(buf, len, name, size, &img);
    if (s) return s;
    s = ts_image_to_input(&img, size, fit, out);
    ts_image_free(&img);
    return s;
}

ts_status ts_image_load_input_file(const char *path, int size, ts_image_fit fit, float *out) {
    ts_mapped_file m;
    ts_status s = map_image(path, &m);
    if (s) return s;
    s = ts_image_load_input_mem(m.data, m.len, path, size, fit, out);
    ts_unmap_file(&m);
    return s;
}
