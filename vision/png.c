/* PNG through libpng: every colour type and bit depth, tRNS, 16-bit and
 * Adam7, decoded to 8-bit RGB with alpha composited onto white. libpng
 * reports errors by longjmp; each entry point below sets the jump target,
 * and its messages become ours ("NAME: bad PNG: ..."). */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "vision/vision_internal.h"

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[200];  /* libpng's error */
    char warn[200]; /* and its last warning, which often says why */
    bool nomem;
} png_src;

static void on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Never printed; kept because libpng's error for a bad IHDR is only
 * "Invalid IHDR data" and the warning before it names the field. */
static void on_warning(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->warn, sizeof s->warn, "%s", msg);
}

static void on_write_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "unexpected end of file (truncated)");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static ts_status fail_png(const char *name, const png_src *s) {
    if (s->nomem) return ts_fail(TS_ERR_NOMEM, "%s: out of memory decoding PNG", name);
    const char *m = s->msg[0] ? s->msg : "unknown error";
    if (strstr(m, "truncated"))
        return ts_fail(TS_ERR_INPUT, "%s: truncated PNG (the file ends early)", name);
    if (s->warn[0]) return ts_fail(TS_ERR_INPUT, "%s: bad PNG: %s (%s)", name, m, s->warn);
    return ts_fail(TS_ERR_INPUT, "%s: bad PNG: %s", name, m);
}

static void out_of_memory(png_structp png, png_src *s) {
    s->nomem = true;
    png_error(png, "out of memory");
}

/* Everything up to the first IDAT: IHDR, PLTE, tRNS, eXIf. */
static void read_header(png_structp png, png_infop info, png_src *src) {
    png_set_read_fn(png, src, on_read);
    png_set_sig_bytes(png, 0);
    /* Chunks we never use need not be buffered (text, ICC profiles). */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_read_info(png, info);
}

static int exif_orientation(png_structp png, png_infop info) {
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 n = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &n, &exif) && exif) return ts_exif_orientation_tiff(exif, n);
#else
    (void)png, (void)info;
#endif
    return 1;
}

static void fill_info(png_structp png, png_infop info, ts_image_info *out) {
    memset(out, 0, sizeof *out);
    out->format = TS_IMAGE_PNG;
    out->width = (int)png_get_image_width(png, info);
    out->height = (int)png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    bool trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    const char *color;
    switch (png_get_color_type(png, info)) {
    case PNG_COLOR_TYPE_GRAY:
        out->channels = trns ? 2 : 1, color = trns ? "grey+trns" : "grey";
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        out->channels = 2, color = "grey+alpha";
        break;
    case PNG_COLOR_TYPE_PALETTE:
        out->channels = trns ? 4 : 3, color = trns ? "palette+trns" : "palette";
        break;
    case PNG_COLOR_TYPE_RGB:
        out->channels = trns ? 4 : 3, color = trns ? "rgb+trns" : "rgb";
        break;
    default:
        out->channels = 4, color = "rgba";
        break;
    }
    snprintf(out->color, sizeof out->color, "%s", color);
    out->orientation = exif_orientation(png, info);
}

ts_status ts_png_probe(const uint8_t *buf, size_t len, const char *name, ts_image_info *info) {
    png_src src = {.data = buf, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pi, NULL);
        return fail_png(name, &src);
    }
    read_header(png, pi, &src);
    fill_info(png, pi, info);
    png_destroy_read_struct(&png, &pi, NULL);
    return ts_image_check_size(name, "PNG", (uint64_t)info->width, (uint64_t)info->height);
}

ts_status ts_png_decode(const uint8_t *buf, size_t len, const char *name, ts_image *out,
                        int *orientation) {
    memset(out, 0, sizeof *out);
    png_src src = {.data = buf, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_read_struct(&png, NULL, NULL);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
    }
    /* Set before the jump target and read after a longjmp: volatile. */
    uint8_t *volatile rgb = NULL, *volatile rgba = NULL;
    png_bytepp volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pi, NULL);
        free(rgb), free(rgba), free(rows);
        return fail_png(name, &src);
    }
    read_header(png, pi, &src);
    png_uint_32 w = png_get_image_width(png, pi), h = png_get_image_height(png, pi);
    ts_status s = ts_image_check_size(name, "PNG", w, h);
    if (s) {
        png_destroy_read_struct(&png, &pi, NULL);
        return s;
    }
    *orientation = exif_orientation(png, pi);
    int ct = png_get_color_type(png, pi);
    bool alpha = (ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, pi, PNG_INFO_tRNS);
    png_set_expand(png);   /* palette -> RGB, grey 1/2/4 -> 8, tRNS -> alpha */
    png_set_scale_16(png); /* 16 -> 8 bits, rounded (not truncated) */
    png_set_gray_to_rgb(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, pi);
    size_t ch = alpha ? 4 : 3;
    if (png_get_rowbytes(png, pi) != w * ch) png_error(png, "unexpected row layout");

    rgb = ts_alloc((size_t)w * h, 3);
    if (!rgb) out_of_memory(png, &src);
    if (alpha) {
        /* Adam7 fills every row over 7 passes: then the whole RGBA image
         * must be held; otherwise one row at a time. */
        rgba = ts_alloc((size_t)w * (passes > 1 ? h : 1), 4);
        if (!rgba) out_of_memory(png, &src);
    }
    if (passes > 1) {
        rows = ts_alloc(h, sizeof *rows);
        if (!rows) out_of_memory(png, &src);
        for (png_uint_32 y = 0; y < h; y++)
            rows[y] = (alpha ? rgba : rgb) + (size_t)y * w * ch;
        png_read_image(png, rows);
    }
    for (png_uint_32 y = 0; y < h; y++) {
        uint8_t *d = rgb + (size_t)y * w * 3;
        if (!alpha) {
            if (passes == 1) png_read_row(png, d, NULL);
            continue;
        }
        const uint8_t *p = rgba + (passes > 1 ? (size_t)y * w * 4 : 0);
        if (passes == 1) png_read_row(png, (png_bytep)p, NULL);
        for (png_uint_32 x = 0; x < w; x++, p += 4, d += 3) {
            d[0] = ts_over_white(p[0], p[3]);
            d[1] = ts_over_white(p[1], p[3]);
            d[2] = ts_over_white(p[2], p[3]);
        }
    }
    /* Through IEND: a file cut after its pixel data is still truncated. */
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &pi, NULL);
    free(rgba), free(rows);
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = rgb;
    return TS_OK;
}

/* ---- writing --------------------------------------------------------------- */

typedef struct {
    char msg[200];
} png_dst;

static void on_write_error(png_structp png, png_const_charp msg) {
    png_dst *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    png_longjmp(png, 1);
}

ts_status ts_png_write(const char *path, const uint8_t *pixels, int width, int height,
                       int channels) {
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
        return ts_fail(TS_ERR_USAGE, "%s: cannot write a %dx%d image with %d channels as PNG", path,
                       width, height, channels);
    ts_outfile o;
    ts_status s = ts_outfile_open(&o, path);
    if (s) return s;
    png_dst dst = {{0}};
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &dst, on_write_error, on_write_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_write_struct(&png, NULL);
        ts_outfile_abort(&o);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pi);
        ts_outfile_abort(&o);
        return ts_fail(TS_ERR_IO, "%s: writing PNG failed: %s", path, dst.msg);
    }
    png_init_io(png, o.fp);
    int ct = channels == 1   ? PNG_COLOR_TYPE_GRAY
             : channels == 3 ? PNG_COLOR_TYPE_RGB
                             : PNG_COLOR_TYPE_RGBA;
    png_set_IHDR(png, pi, (png_uint_32)width, (png_uint_32)height, 8, ct, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pi);
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, pi);
    png_destroy_write_struct(&png, &pi);
    return ts_outfile_commit(&o);
}
