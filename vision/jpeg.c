/* JPEG through libjpeg-turbo's libjpeg API: baseline and progressive,
 * grey, YCbCr, RGB, CMYK and YCCK (Adobe's inverted CMYK included), with
 * DCT-domain downscaling so a large photo headed for a 32x32 input is never
 * decoded at full size. Errors come back by longjmp; warnings are counted,
 * never printed, and a premature end of data stops the decode at once as
 * an error (a truncated file). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* jpeglib.h needs FILE and size_t from the headers above */
#include <jerror.h>
#include <jpeglib.h>

#include "vision/vision_internal.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    bool truncated;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void on_error_exit(j_common_ptr cinfo) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level < 0) {
        e->pub.num_warnings++;
        /* libjpeg would go on with made-up data to the last row: a tiny
         * file claiming 10000 x 10000 pixels would cost a full decode.
         * Stop at once instead. */
        if (e->pub.msg_code == JWRN_JPEG_EOF) {
            e->truncated = true;
            e->pub.format_message(cinfo, e->msg);
            longjmp(e->jump, 1);
        }
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void init_err(struct jpeg_decompress_struct *cinfo, jpeg_err *e) {
    memset(e, 0, sizeof *e);
    cinfo->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
}

/* A file that ends early makes libjpeg warn, insert an end marker and
 * then often fail on that: report the cause, not the symptom. */
static ts_status fail_jpeg(const char *name, const jpeg_err *e) {
    if (e->truncated)
        return ts_fail(TS_ERR_INPUT, "%s: truncated JPEG (the file ends early)", name);
    return ts_fail(TS_ERR_INPUT, "%s: bad JPEG: %s", name, e->msg);
}

/* The libjpeg memory manager refuses more than this in one decode (a
 * progressive image holds all its coefficients: 2 bytes each). */
#define JPEG_MAX_MEMORY ((long)1 << 30)

static const char *color_name(J_COLOR_SPACE cs) {
    switch (cs) {
    case JCS_GRAYSCALE:
        return "grey";
    case JCS_YCbCr:
        return "ycbcr";
    case JCS_RGB:
        return "rgb";
    case JCS_CMYK:
        return "cmyk";
    case JCS_YCCK:
        return "ycck";
    default:
        return "unknown";
    }
}

static void fill_info(const struct jpeg_decompress_struct *c, ts_image_info *out,
                      const uint8_t *buf, size_t len) {
    memset(out, 0, sizeof *out);
    out->format = TS_IMAGE_JPEG;
    out->width = (int)c->image_width;
    out->height = (int)c->image_height;
    out->channels = c->num_components;
    out->bit_depth = c->data_precision;
    out->interlaced = c->progressive_mode;
    snprintf(out->color, sizeof out->color, "%s", color_name(c->jpeg_color_space));
    out->orientation = ts_exif_orientation_jpeg(buf, len);
}

ts_status ts_jpeg_probe(const uint8_t *buf, size_t len, const char *name, ts_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    init_err(&cinfo, &err);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return fail_jpeg(name, &err);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    fill_info(&cinfo, info, buf, len);
    jpeg_destroy_decompress(&cinfo);
    return ts_image_check_size(name, "JPEG", (uint64_t)info->width, (uint64_t)info->height);
}

/* The smallest M in {1, 2, 4, 8} such that ceil(side * M / 8) >= min_side
 * for both sides; 8 (no scaling) when min_side <= 0. Powers of two keep
 * libjpeg-turbo on its SIMD inverse DCTs. */
static unsigned dct_scale(unsigned w, unsigned h, int min_side) {
    if (min_side <= 0) return 8;
    unsigned s = w < h ? w : h;
    for (unsigned m = 1; m < 8; m *= 2)
        if ((s * (uint64_t)m + 7) / 8 >= (unsigned)min_side) return m;
    return 8;
}

ts_status ts_jpeg_decode(const uint8_t *buf, size_t len, const char *name, int min_side,
                         ts_image *out, int *orientation) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    uint8_t *volatile rgb = NULL, *volatile cmyk = NULL;
    init_err(&cinfo, &err);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(rgb), free(cmyk);
        return fail_jpeg(name, &err);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = JPEG_MAX_MEMORY;
    jpeg_mem_src(&cinfo, buf, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    ts_status s = ts_image_check_size(name, "JPEG", cinfo.image_width, cinfo.image_height);
    if (s) {
        jpeg_destroy_decompress(&cinfo);
        return s;
    }
    *orientation = ts_exif_orientation_jpeg(buf, len);
    bool is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    /* Photoshop writes CMYK inverted and marks it with an Adobe segment;
     * every reader that matters follows that convention. */
    bool inverted = is_cmyk && cinfo.saw_Adobe_marker;
    cinfo.out_color_space = is_cmyk ? JCS_CMYK : JCS_RGB; /* grey -> RGB by libjpeg */
    cinfo.scale_num = dct_scale(cinfo.image_width, cinfo.image_height, min_side);
    cinfo.scale_denom = 8;
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    unsigned w = cinfo.output_width, h = cinfo.output_height;
    rgb = ts_alloc((size_t)w * h, 3);
    if (is_cmyk) cmyk = ts_alloc((size_t)w * cinfo.rec_outbuf_height, 4);
    if (!rgb || (is_cmyk && !cmyk)) {
        jpeg_destroy_decompress(&cinfo);
        free(rgb), free(cmyk);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory for a %ux%u image", name, w, h);
    }
    while (cinfo.output_scanline < h) {
        unsigned y0 = cinfo.output_scanline;
        JSAMPROW rows[16];
        unsigned n = (unsigned)cinfo.rec_outbuf_height;
        if (n > 16) n = 16;
        for (unsigned i = 0; i < n; i++)
            rows[i] = is_cmyk ? cmyk + (size_t)i * w * 4
                              : rgb + (size_t)(y0 + i < h ? y0 + i : h - 1) * w * 3;
        unsigned got = jpeg_read_scanlines(&cinfo, rows, n);
        if (got == 0) break; /* suspension cannot happen with a memory source */
        if (is_cmyk)
            for (unsigned i = 0; i < got; i++) {
                const uint8_t *p = cmyk + (size_t)i * w * 4;
                uint8_t *d = rgb + (size_t)(y0 + i) * w * 3;
                for (unsigned x = 0; x < w; x++, p += 4, d += 3) {
                    unsigned c = p[0], m = p[1], yl = p[2], k = p[3];
                    if (!inverted) c = 255 - c, m = 255 - m, yl = 255 - yl, k = 255 - k;
                    d[0] = (uint8_t)((c * k + 127) / 255);
                    d[1] = (uint8_t)((m * k + 127) / 255);
                    d[2] = (uint8_t)((yl * k + 127) / 255);
                }
            }
    }
    jpeg_finish_decompress(&cinfo);
    bool truncated = cinfo.output_scanline < h; /* cannot happen with a memory source */
    jpeg_destroy_decompress(&cinfo);
    free(cmyk);
    if (truncated) {
        free(rgb);
        return ts_fail(TS_ERR_INPUT, "%s: truncated JPEG (the data ends before the image does)",
                       name);
    }
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = rgb;
    return TS_OK;
}
