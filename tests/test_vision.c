/* vision/: PNG and JPEG decoding (every colour type, bit depth, interlace,
 * CMYK, EXIF orientation), resizing against a naive reference, fitting,
 * normalisation, and bad inputs. Every image is made here with libpng and
 * libjpeg into a temp folder, except the real ones in samples/. */
#include "tessera.h"
#include "tests/testutil.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
/* after stdio.h */
#include <jpeglib.h>

/* ---- writing test images ---------------------------------------------------- */

/* samples: channels per pixel of the PNG colour type, in file order, one
 * value per sample (0 .. 2^depth - 1), row-major. */
static int png_channels(int ct) {
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY:
        return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return 2;
    case PNG_COLOR_TYPE_PALETTE:
        return 1;
    case PNG_COLOR_TYPE_RGB:
        return 3;
    default:
        return 4;
    }
}

typedef struct {
    int n_palette;
    png_color palette[256];
    int n_trans;
    png_byte trans[256];  /* palette alpha */
    png_color_16 trans_v; /* grey / RGB colour key */
    bool has_trans_v;
    const uint8_t *exif; /* eXIf chunk: a TIFF structure */
    int n_exif;
} png_extra;

static void write_png(const char *path, int w, int h, int ct, int depth, bool interlace,
                      const uint16_t *samples, const png_extra *ex) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_int_equal(setjmp(png_jmpbuf(png)), 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, ct, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ex && ex->n_palette) png_set_PLTE(png, info, ex->palette, ex->n_palette);
    if (ex && ex->n_trans) png_set_tRNS(png, info, ex->trans, ex->n_trans, NULL);
    if (ex && ex->has_trans_v) png_set_tRNS(png, info, NULL, 0, (png_color_16p)&ex->trans_v);
    if (ex && ex->exif) png_set_eXIf_1(png, info, (png_uint_32)ex->n_exif, (png_bytep)ex->exif);
    png_write_info(png, info);
    if (depth < 8) png_set_packing(png); /* we hand one sample per byte */
    int ch = png_channels(ct);
    size_t rowbytes = (size_t)w * ch * (depth == 16 ? 2 : 1);
    png_bytep *rows = malloc(sizeof *rows * h);
    for (int y = 0; y < h; y++) {
        rows[y] = malloc(rowbytes);
        for (int i = 0; i < w * ch; i++) {
            uint16_t v = samples[(size_t)y * w * ch + i];
            if (depth == 16)
                rows[y][2 * i] = v >> 8, rows[y][2 * i + 1] = v & 255;
            else
                rows[y][i] = (png_byte)v;
        }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    for (int y = 0; y < h; y++)
        free(rows[y]);
    free(rows);
    assert_int_equal(fclose(f), 0);
}

typedef struct {
    bool progressive, adobe, cmyk, grey;
    int quality;
} jpeg_opts;

/* pixels: h x w x (1 grey, 3 RGB, 4 CMYK); returns a malloc'd file. */
static uint8_t *make_jpeg(const uint8_t *pixels, int w, int h, jpeg_opts o, size_t *len) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = w;
    c.image_height = h;
    c.input_components = o.cmyk ? 4 : o.grey ? 1 : 3;
    c.in_color_space = o.cmyk ? JCS_CMYK : o.grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, o.quality ? o.quality : 95, TRUE);
    if (o.cmyk) {
        jpeg_set_colorspace(&c, JCS_CMYK);
        c.write_Adobe_marker = o.adobe;
    }
    /* full-resolution chroma keeps the comparisons tight */
    for (int i = 0; i < c.num_components; i++)
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (o.progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    int ch = c.input_components;
    while (c.next_scanline < (unsigned)h) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * w * ch);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return buf;
}

/* A smooth RGB pattern (JPEG-friendly) of w x h. */
static uint8_t *smooth_rgb(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(40 + 170 * x / (w - 1));
            q[1] = (uint8_t)(30 + 190 * y / (h - 1));
            q[2] = (uint8_t)(128 + 90 * sin(x * 0.15 + y * 0.1));
        }
    return p;
}

static void mean_max_diff(const uint8_t *a, const uint8_t *b, size_t n, double *mean, int *max) {
    double s = 0;
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        s += d;
        if (d > m) m = d;
    }
    *mean = s / n;
    *max = m;
}

static uint8_t *file_bytes(const char *path, size_t *len) {
    return (uint8_t *)tu_read_file(path, len);
}

/* ---- PNG: every colour type and depth, exact values --------------------------- */

static unsigned scale_to_8(unsigned v, int depth) {
    if (depth == 16) return (v * 255u + 32767u) / 65535u;
    return v * 255u / ((1u << depth) - 1u);
}

static unsigned over_white(unsigned c, unsigned a) {
    return (c * a + 255u * (255u - a) + 127u) / 255u;
}

typedef struct {
    int ct, depth;
    bool interlace;
    const char *color;
    int channels;
} png_case;

static void check_png_case(const char *dir, png_case pc) {
    const int w = 13, h = 7; /* odd sizes: partial bytes and every Adam7 pass */
    int ch = png_channels(pc.ct);
    unsigned maxv = (1u << pc.depth) - 1u;
    uint16_t *s = malloc(sizeof *s * w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++) {
                unsigned v = pc.depth == 16
                                 ? (unsigned)(x * 5003 + y * 10007 + c * 3001 + 17) % 65536u
                                 : (unsigned)(x * 7 + y * 13 + c * 5 + 1) % (maxv + 1);
                /* full range at both ends of the alpha channel */
                if (c == ch - 1 && (ch == 2 || ch == 4) && x == 0) v = 0;
                if (c == ch - 1 && (ch == 2 || ch == 4) && x == 1) v = maxv;
                s[((size_t)y * w + x) * ch + c] = (uint16_t)v;
            }
    png_extra ex = {0};
    if (pc.ct == PNG_COLOR_TYPE_PALETTE) {
        ex.n_palette = (int)maxv + 1;
        for (int i = 0; i < ex.n_palette; i++)
            ex.palette[i] =
                (png_color){(png_byte)(i * 37 + 3), (png_byte)(255 - i * 11), (png_byte)(i * 101)};
        ex.n_trans = ex.n_palette > 2 ? 3 : 1;
        for (int i = 0; i < ex.n_trans; i++)
            ex.trans[i] = (png_byte)(i * 100); /* 0, 100, 200 */
    }
    char name[64];
    snprintf(name, sizeof name, "ct%d_d%d%s.png", pc.ct, pc.depth, pc.interlace ? "_i" : "");
    const char *path = tu_path(dir, name);
    write_png(path, w, h, pc.ct, pc.depth, pc.interlace, s,
              pc.ct == PNG_COLOR_TYPE_PALETTE ? &ex : NULL);

    ts_image_info info;
    assert_int_equal(ts_image_probe_file(path, &info), TS_OK);
    assert_int_equal(info.format, TS_IMAGE_PNG);
    assert_int_equal(info.width, w);
    assert_int_equal(info.height, h);
    assert_int_equal(info.bit_depth, pc.depth);
    assert_int_equal(info.interlaced, pc.interlace);
    assert_string_equal(info.color, pc.color);
    assert_int_equal(info.channels, pc.channels);
    assert_int_equal(info.orientation, 1);

    ts_image img;
    assert_int_equal(ts_image_decode_file(path, 0, &img), TS_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint16_t *p = s + ((size_t)y * w + x) * ch;
            unsigned rgb[3], a = 255;
            switch (pc.ct) {
            case PNG_COLOR_TYPE_GRAY:
                rgb[0] = rgb[1] = rgb[2] = scale_to_8(p[0], pc.depth);
                break;
            case PNG_COLOR_TYPE_GRAY_ALPHA:
                rgb[0] = rgb[1] = rgb[2] = scale_to_8(p[0], pc.depth);
                a = scale_to_8(p[1], pc.depth);
                break;
            case PNG_COLOR_TYPE_PALETTE:
                rgb[0] = ex.palette[p[0]].red, rgb[1] = ex.palette[p[0]].green,
                rgb[2] = ex.palette[p[0]].blue;
                a = p[0] < ex.n_trans ? ex.trans[p[0]] : 255;
                break;
            case PNG_COLOR_TYPE_RGB:
                for (int c = 0; c < 3; c++)
                    rgb[c] = scale_to_8(p[c], pc.depth);
                break;
            default:
                for (int c = 0; c < 3; c++)
                    rgb[c] = scale_to_8(p[c], pc.depth);
                a = scale_to_8(p[3], pc.depth);
            }
            const uint8_t *got = img.rgb + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++) {
                unsigned want = over_white(rgb[c], a);
                if (got[c] != want)
                    fail_msg("%s: pixel (%d,%d) channel %d: got %u, want %u", name, x, y, c, got[c],
                             want);
            }
        }
    ts_image_free(&img);
    free(s);
}

static void test_png_every_color_type_and_depth(void **state) {
    char *dir = tu_mkdtemp();
    const png_case cases[] = {
        {PNG_COLOR_TYPE_GRAY, 1, false, "grey", 1},
        {PNG_COLOR_TYPE_GRAY, 2, false, "grey", 1},
        {PNG_COLOR_TYPE_GRAY, 4, false, "grey", 1},
        {PNG_COLOR_TYPE_GRAY, 8, false, "grey", 1},
        {PNG_COLOR_TYPE_GRAY, 16, false, "grey", 1},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, "grey+alpha", 2},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 16, false, "grey+alpha", 2},
        {PNG_COLOR_TYPE_PALETTE, 1, false, "palette+trns", 4},
        {PNG_COLOR_TYPE_PALETTE, 2, false, "palette+trns", 4},
        {PNG_COLOR_TYPE_PALETTE, 4, false, "palette+trns", 4},
        {PNG_COLOR_TYPE_PALETTE, 8, false, "palette+trns", 4},
        {PNG_COLOR_TYPE_RGB, 8, false, "rgb", 3},
        {PNG_COLOR_TYPE_RGB, 16, false, "rgb", 3},
        {PNG_COLOR_TYPE_RGBA, 8, false, "rgba", 4},
        {PNG_COLOR_TYPE_RGBA, 16, false, "rgba", 4},
        /* Adam7 */
        {PNG_COLOR_TYPE_GRAY, 1, true, "grey", 1},
        {PNG_COLOR_TYPE_GRAY, 16, true, "grey", 1},
        {PNG_COLOR_TYPE_PALETTE, 4, true, "palette+trns", 4},
        {PNG_COLOR_TYPE_RGB, 8, true, "rgb", 3},
        {PNG_COLOR_TYPE_RGBA, 8, true, "rgba", 4},
        {PNG_COLOR_TYPE_RGBA, 16, true, "rgba", 4},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, true, "grey+alpha", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_png_case(dir, cases[i]);
    tu_rmdir(dir);
}

/* A tRNS colour key on grey and RGB images: matching pixels become white. */
static void test_png_colour_key_transparency(void **state) {
    char *dir = tu_mkdtemp();
    uint16_t grey[4] = {10, 77, 200, 77};
    png_extra ex = {0};
    ex.has_trans_v = true;
    ex.trans_v.gray = 77;
    const char *p1 = tu_path(dir, "gk.png");
    write_png(p1, 4, 1, PNG_COLOR_TYPE_GRAY, 8, false, grey, &ex);
    ts_image img;
    assert_int_equal(ts_image_decode_file(p1, 0, &img), TS_OK);
    const uint8_t want1[12] = {10, 10, 10, 255, 255, 255, 200, 200, 200, 255, 255, 255};
    assert_memory_equal(img.rgb, want1, 12);
    ts_image_free(&img);
    ts_image_info info;
    assert_int_equal(ts_image_probe_file(p1, &info), TS_OK);
    assert_string_equal(info.color, "grey+trns");

    uint16_t rgb[6] = {1, 2, 3, 40, 50, 60};
    png_extra ex2 = {0};
    ex2.has_trans_v = true;
    ex2.trans_v.red = 1, ex2.trans_v.green = 2, ex2.trans_v.blue = 3;
    const char *p2 = tu_path(dir, "rk.png");
    write_png(p2, 2, 1, PNG_COLOR_TYPE_RGB, 8, false, rgb, &ex2);
    assert_int_equal(ts_image_decode_file(p2, 0, &img), TS_OK);
    const uint8_t want2[6] = {255, 255, 255, 40, 50, 60};
    assert_memory_equal(img.rgb, want2, 6);
    ts_image_free(&img);
    tu_rmdir(dir);
}

/* PNG's eXIf chunk carries the same orientation tag as a JPEG's EXIF. */
static void test_png_exif_orientation(void **state) {
    char *dir = tu_mkdtemp();
    uint16_t s[3 * 2 * 3];
    for (int i = 0; i < 18; i++)
        s[i] = (uint16_t)(i * 14);
    /* little-endian TIFF, IFD0 with one entry: orientation 8 */
    const uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                            0,   1,   0,  0, 0, 8, 0, 0, 0, 0, 0,    0,    0};
    png_extra ex = {0};
    ex.exif = tiff;
    ex.n_exif = sizeof tiff;
    const char *p = tu_path(dir, "turned.png");
    write_png(p, 3, 2, PNG_COLOR_TYPE_RGB, 8, false, s, &ex);
    ts_image_info info;
    assert_int_equal(ts_image_probe_file(p, &info), TS_OK);
    assert_int_equal(info.orientation, 8);
    ts_image img;
    assert_int_equal(ts_image_decode_file(p, 0, &img), TS_OK);
    assert_int_equal(img.width, 2);
    assert_int_equal(img.height, 3);
    /* 8: displayed (x, y) comes from stored (w - 1 - y, x) */
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(img.rgb[(y * 2 + x) * 3 + c], s[(x * 3 + (2 - y)) * 3 + c]);
    ts_image_free(&img);
    tu_rmdir(dir);
}

static void test_png_write_round_trip(void **state) {
    char *dir = tu_mkdtemp();
    uint8_t px[5 * 3 * 3], grey[5 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 17 + 3);
    for (size_t i = 0; i < sizeof grey; i++)
        grey[i] = (uint8_t)(i * 31);
    const char *p = tu_path(dir, "rt.png");
    assert_int_equal(ts_png_write(p, px, 5, 3, 3), TS_OK);
    ts_image img;
    assert_int_equal(ts_image_decode_file(p, 0, &img), TS_OK);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 3);
    assert_memory_equal(img.rgb, px, sizeof px);
    ts_image_free(&img);
    assert_int_equal(ts_png_write(p, grey, 5, 3, 1), TS_OK);
    ts_image_info info;
    assert_int_equal(ts_image_probe_file(p, &info), TS_OK);
    assert_string_equal(info.color, "grey");
    assert_int_equal(ts_image_decode_file(p, 0, &img), TS_OK);
    for (int i = 0; i < 15; i++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(img.rgb[i * 3 + c], grey[i]);
    ts_image_free(&img);
    /* bad arguments and unwritable paths are errors, not crashes */
    assert_int_equal(ts_png_write(p, grey, 0, 3, 1), TS_ERR_USAGE);
    assert_int_equal(ts_png_write(p, grey, 5, 3, 2), TS_ERR_USAGE);
    assert_int_equal(ts_png_write("/nonexistent-dir/x.png", grey, 5, 3, 1), TS_ERR_IO);
    tu_rmdir(dir);
}

/* ---- JPEG ---------------------------------------------------------------------- */

static void check_jpeg_close(const uint8_t *file, size_t len, const uint8_t *want_rgb, int w, int h,
                             double max_mean, int max_max, const char *what) {
    ts_image img;
    assert_int_equal(ts_image_decode_mem(file, len, what, 0, &img), TS_OK);
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    double mean;
    int mx;
    mean_max_diff(img.rgb, want_rgb, (size_t)w * h * 3, &mean, &mx);
    if (mean > max_mean || mx > max_max) fail_msg("%s: mean diff %.2f, max %d", what, mean, mx);
    ts_image_free(&img);
}

static void test_jpeg_baseline_progressive_grey(void **state) {
    const int w = 40, h = 24;
    uint8_t *rgb = smooth_rgb(w, h);
    size_t n;
    ts_image_info info;

    uint8_t *f = make_jpeg(rgb, w, h, (jpeg_opts){0}, &n);
    assert_int_equal(ts_image_probe_mem(f, n, "b.jpg", &info), TS_OK);
    assert_int_equal(info.format, TS_IMAGE_JPEG);
    assert_int_equal(info.width, w);
    assert_int_equal(info.height, h);
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.bit_depth, 8);
    assert_false(info.interlaced);
    assert_string_equal(info.color, "ycbcr");
    check_jpeg_close(f, n, rgb, w, h, 2.0, 16, "baseline");
    free(f);

    f = make_jpeg(rgb, w, h, (jpeg_opts){.progressive = true}, &n);
    assert_int_equal(ts_image_probe_mem(f, n, "p.jpg", &info), TS_OK);
    assert_true(info.interlaced);
    check_jpeg_close(f, n, rgb, w, h, 2.0, 16, "progressive");
    free(f);

    uint8_t *g = malloc((size_t)w * h), *g3 = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++)
        g[i] = (uint8_t)(20 + (i % w) * 5 + (i / w) * 2), memset(g3 + 3 * i, g[i], 3);
    f = make_jpeg(g, w, h, (jpeg_opts){.grey = true}, &n);
    assert_int_equal(ts_image_probe_mem(f, n, "g.jpg", &info), TS_OK);
    assert_int_equal(info.channels, 1);
    assert_string_equal(info.color, "grey");
    check_jpeg_close(f, n, g3, w, h, 1.5, 12, "grey");
    /* grey decodes to R = G = B exactly */
    ts_image img;
    assert_int_equal(ts_image_decode_mem(f, n, "g.jpg", 0, &img), TS_OK);
    for (int i = 0; i < w * h; i++) {
        assert_int_equal(img.rgb[3 * i], img.rgb[3 * i + 1]);
        assert_int_equal(img.rgb[3 * i], img.rgb[3 * i + 2]);
    }
    ts_image_free(&img);
    free(f);
    free(g), free(g3), free(rgb);
}

static void test_jpeg_cmyk_plain_and_adobe_inverted(void **state) {
    const int w = 32, h = 16;
    uint8_t *cmyk = malloc((size_t)w * h * 4), *inv = malloc((size_t)w * h * 4);
    uint8_t *want = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cmyk + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x * 6), p[1] = (uint8_t)(y * 12), p[2] = (uint8_t)(100 + x * 2),
            p[3] = (uint8_t)(20 + y * 3);
            for (int c = 0; c < 4; c++)
                inv[((size_t)y * w + x) * 4 + c] = (uint8_t)(255 - p[c]);
            for (int c = 0; c < 3; c++)
                want[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)((255 - p[c]) * (255 - p[3]) / 255.0 + 0.5);
        }
    size_t n;
    ts_image_info info;
    /* plain CMYK (no Adobe segment): stored as is */
    uint8_t *f = make_jpeg(cmyk, w, h, (jpeg_opts){.cmyk = true}, &n);
    assert_int_equal(ts_image_probe_mem(f, n, "c.jpg", &info), TS_OK);
    assert_int_equal(info.channels, 4);
    assert_string_equal(info.color, "cmyk");
    check_jpeg_close(f, n, want, w, h, 2.0, 12, "cmyk");
    free(f);
    /* Adobe (Photoshop) CMYK: stored inverted, flagged by the Adobe segment */
    f = make_jpeg(inv, w, h, (jpeg_opts){.cmyk = true, .adobe = true}, &n);
    check_jpeg_close(f, n, want, w, h, 2.0, 12, "adobe cmyk");
    free(f);
    free(cmyk), free(inv), free(want);
}

/* The EXIF block that a camera writes: APP1 "Exif\0\0", a TIFF header in
 * either byte order, IFD0 with another tag before the orientation. */
static uint8_t *with_exif(const uint8_t *jpg, size_t n, int orientation, bool big,
                          size_t *out_len) {
    uint8_t t[64];
    size_t k = 0;
#define P16(v)                                                                                     \
    (big ? (t[k++] = (uint8_t)((v) >> 8), t[k++] = (uint8_t)(v))                                   \
         : (t[k++] = (uint8_t)(v), t[k++] = (uint8_t)((v) >> 8)))
#define P32(v) (big ? (P16((v) >> 16), P16((v)&0xFFFF)) : (P16((v)&0xFFFF), P16((v) >> 16)))
    t[k++] = big ? 'M' : 'I', t[k++] = big ? 'M' : 'I';
    P16(42);
    P32(8u);
    P16(2);                                                        /* entries */
    P16(0x010F), P16(2), P32(4u), memcpy(t + k, "abc", 4), k += 4; /* Make, ASCII inline */
    P16(0x0112), P16(3), P32(1u), P16((unsigned)orientation), P16(0);
    P32(0u); /* no next IFD */
#undef P16
#undef P32
    size_t seg = 2 + 6 + k;
    uint8_t *o = malloc(n + 2 + seg);
    memcpy(o, jpg, 2); /* SOI */
    o[2] = 0xFF, o[3] = 0xE1, o[4] = (uint8_t)(seg >> 8), o[5] = (uint8_t)seg;
    memcpy(o + 6, "Exif\0\0", 6);
    memcpy(o + 12, t, k);
    memcpy(o + 12 + k, jpg + 2, n - 2);
    *out_len = n + 2 + seg;
    return o;
}

/* Where displayed pixel (x, y) comes from in the stored w x h image, from
 * the EXIF definitions: where row 0 and column 0 of the stored image go. */
static void exif_source(int o, int w, int h, int x, int y, int *sx, int *sy) {
    switch (o) {
    case 1:
        *sx = x, *sy = y;
        break;
    case 2:
        *sx = w - 1 - x, *sy = y;
        break; /* row 0 top, column 0 right */
    case 3:
        *sx = w - 1 - x, *sy = h - 1 - y;
        break; /* row 0 bottom, column 0 right */
    case 4:
        *sx = x, *sy = h - 1 - y;
        break; /* row 0 bottom, column 0 left */
    case 5:
        *sx = y, *sy = x;
        break; /* row 0 left, column 0 top */
    case 6:
        *sx = y, *sy = h - 1 - x;
        break; /* row 0 right, column 0 top */
    case 7:
        *sx = w - 1 - y, *sy = h - 1 - x;
        break; /* row 0 right, column 0 bottom */
    default:
        *sx = w - 1 - y, *sy = x;
        break; /* 8: row 0 left, column 0 bottom */
    }
}

static void test_jpeg_exif_orientation_all_eight_both_orders(void **state) {
    const int w = 24, h = 16;
    uint8_t *rgb = smooth_rgb(w, h);
    size_t n;
    uint8_t *f = make_jpeg(rgb, w, h, (jpeg_opts){.quality = 90}, &n);
    ts_image ref;
    assert_int_equal(ts_image_decode_mem(f, n, "ref", 0, &ref), TS_OK);
    for (int big = 0; big <= 1; big++)
        for (int o = 1; o <= 8; o++) {
            size_t m;
            uint8_t *e = with_exif(f, n, o, big, &m);
            ts_image_info info;
            assert_int_equal(ts_image_probe_mem(e, m, "exif.jpg", &info), TS_OK);
            assert_int_equal(info.orientation, o);
            assert_int_equal(info.width, w); /* as stored */
            ts_image img;
            assert_int_equal(ts_image_decode_mem(e, m, "exif.jpg", 0, &img), TS_OK);
            int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
            assert_int_equal(img.width, ow);
            assert_int_equal(img.height, oh);
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++) {
                    int sx, sy;
                    exif_source(o, w, h, x, y, &sx, &sy);
                    if (memcmp(img.rgb + ((size_t)y * ow + x) * 3,
                               ref.rgb + ((size_t)sy * w + sx) * 3, 3))
                        fail_msg("orientation %d (%s): pixel (%d,%d) differs", o, big ? "MM" : "II",
                                 x, y);
                }
            ts_image_free(&img);
            free(e);
        }
    /* malformed EXIF blocks are ignored, never fatal: IFD offset past the end,
     * an entry count larger than the block, a wrong TIFF magic */
    size_t m;
    uint8_t *e = with_exif(f, n, 6, false, &m);
    uint8_t saved[4];
    memcpy(saved, e + 12 + 4, 4);
    memcpy(e + 12 + 4, "\xff\xff\x00\x00", 4);
    ts_image_info info;
    assert_int_equal(ts_image_probe_mem(e, m, "bad-exif", &info), TS_OK);
    assert_int_equal(info.orientation, 1);
    memcpy(e + 12 + 4, saved, 4);
    e[12 + 8] = 0xFF, e[12 + 9] = 0xFF; /* 65535 entries; the tag is still in the block */
    assert_int_equal(ts_image_probe_mem(e, m, "big-count", &info), TS_OK);
    assert_int_equal(info.orientation, 6);
    e[12 + 2] = 43;
    assert_int_equal(ts_image_probe_mem(e, m, "bad-magic", &info), TS_OK);
    assert_int_equal(info.orientation, 1);
    free(e);
    ts_image_free(&ref);
    free(f), free(rgb);
}

/* ---- resampling against a naive reference --------------------------------------- */

/* The fitted square's value at source pixel (vx, vy): image or white. */
static double virt_px(const ts_image *img, int offx, int offy, int vx, int vy, int c) {
    int x = vx - offx, y = vy - offy;
    if (x < 0 || y < 0 || x >= img->width || y >= img->height) return 255.0;
    return img->rgb[((size_t)y * img->width + x) * 3 + c];
}

/* Weight of source index i for output o along one axis, by definition:
 * area overlap when shrinking, the bilinear hat when growing. */
static double kernel(int o, int i, int n_in, int n_out) {
    if (n_in >= n_out) {
        double s = (double)n_in / n_out, a = o * s, b = (o + 1) * s;
        double l = fmax(a, i), r = fmin(b, i + 1.0);
        return r > l ? (r - l) / s : 0.0;
    }
    double c = fmax((o + 0.5) * n_in / n_out - 0.5, 0.0);
    int i0 = (int)floor(c), i1 = i0 + 1 < n_in ? i0 + 1 : n_in - 1;
    double f = c - i0, w = 0;
    if (i == i0) w += 1 - f;
    if (i == i1) w += f;
    return w;
}

static void naive_input(const ts_image *img, int size, ts_image_fit fit, float *out) {
    int w = img->width, h = img->height, vx = w, vy = h, ox = 0, oy = 0;
    if (fit == TS_FIT_CROP) {
        int s = w < h ? w : h;
        vx = vy = s, ox = -((w - s) / 2), oy = -((h - s) / 2);
    } else if (fit == TS_FIT_PAD) {
        int s = w > h ? w : h;
        vx = vy = s, ox = (s - w) / 2, oy = (s - h) / 2;
    }
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                double acc = 0;
                for (int j = 0; j < vy; j++) {
                    double ky = kernel(y, j, vy, size);
                    if (ky == 0) continue;
                    for (int i = 0; i < vx; i++) {
                        double kx = kernel(x, i, vx, size);
                        if (kx != 0) acc += kx * ky * virt_px(img, ox, oy, i, j, c);
                    }
                }
                out[((size_t)c * size + y) * size + x] = (float)(acc / 127.5 - 1.0);
            }
}

static ts_image random_image(int w, int h, unsigned seed) {
    ts_image img = {w, h, malloc((size_t)w * h * 3)};
    ts_rng r;
    ts_rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        img.rgb[i] = (uint8_t)ts_rng_below(&r, 256);
    return img;
}

static void test_resize_matches_naive_reference(void **state) {
    const struct {
        int w, h, size;
    } cases[] = {
        {97, 61, 32},              /* fractional area on both axes */
        {64, 64, 32},              /* exact 2x box */
        {33, 100, 32}, {5, 3, 32}, /* bilinear up both ways */
        {100, 10, 32},             /* x shrinks, y grows */
        {32, 32, 32},              /* identity */
        {9, 9, 9},                 /* identity with a tail after the 8-pixel blocks */
        {7, 7, 3},     {1, 1, 4},
    };
    const ts_image_fit fits[] = {TS_FIT_STRETCH, TS_FIT_CROP, TS_FIT_PAD};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ts_image img = random_image(cases[k].w, cases[k].h, (unsigned)k + 1);
        int s = cases[k].size;
        float *got = malloc(sizeof(float) * 3 * s * s), *want = malloc(sizeof(float) * 3 * s * s);
        for (int f = 0; f < 3; f++) {
            assert_int_equal(ts_image_to_input(&img, s, fits[f], got), TS_OK);
            naive_input(&img, s, fits[f], want);
            for (int i = 0; i < 3 * s * s; i++)
                if (fabsf(got[i] - want[i]) > 2e-5f)
                    fail_msg("%dx%d -> %d fit %d: [%d] got %f want %f", cases[k].w, cases[k].h, s,
                             f, i, got[i], want[i]);
        }
        free(got), free(want), free(img.rgb);
    }
}

static void test_resize_known_values_and_fits(void **state) {
    /* 2x2 -> 1: the mean of four; 0 -> -1 and 255 -> 1 */
    uint8_t px[12] = {0, 255, 10, 255, 255, 20, 0, 255, 30, 255, 255, 40};
    ts_image img = {2, 2, px};
    float o[3];
    assert_int_equal(ts_image_to_input(&img, 1, TS_FIT_STRETCH, o), TS_OK);
    assert_float_equal(o[0], 127.5f / 127.5f - 1.0f, 1e-6);
    assert_float_equal(o[1], 1.0f, 1e-6);
    assert_float_equal(o[2], 25.0f / 127.5f - 1.0f, 1e-6);

    /* pad: a 4x2 image padded to 4x4 with white rows above and below */
    uint8_t p42[4 * 2 * 3];
    for (int i = 0; i < 24; i++)
        p42[i] = (uint8_t)(i * 10);
    ts_image wide = {4, 2, p42};
    float pad[3 * 16];
    assert_int_equal(ts_image_to_input(&wide, 4, TS_FIT_PAD, pad), TS_OK);
    for (int c = 0; c < 3; c++)
        for (int x = 0; x < 4; x++) {
            assert_float_equal(pad[c * 16 + 0 * 4 + x], 1.0f, 1e-6);
            assert_float_equal(pad[c * 16 + 3 * 4 + x], 1.0f, 1e-6);
            for (int y = 1; y <= 2; y++)
                assert_float_equal(pad[c * 16 + y * 4 + x],
                                   p42[((y - 1) * 4 + x) * 3 + c] / 127.5f - 1.0f, 1e-5);
        }
    /* crop: a 6x4 image loses one column on each side */
    uint8_t p64[6 * 4 * 3];
    for (int i = 0; i < 72; i++)
        p64[i] = (uint8_t)(i * 3);
    ts_image six = {6, 4, p64};
    float crop[3 * 16];
    assert_int_equal(ts_image_to_input(&six, 4, TS_FIT_CROP, crop), TS_OK);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                assert_float_equal(crop[c * 16 + y * 4 + x],
                                   p64[(y * 6 + x + 1) * 3 + c] / 127.5f - 1.0f, 1e-5);
    /* bad arguments */
    assert_int_equal(ts_image_to_input(&six, 0, TS_FIT_CROP, crop), TS_ERR_USAGE);
    assert_int_equal(ts_image_to_input(&six, 4, (ts_image_fit)9, crop), TS_ERR_USAGE);
    ts_image none = {0};
    assert_int_equal(ts_image_to_input(&none, 4, TS_FIT_CROP, crop), TS_ERR_USAGE);
}

/* ---- golden values from independent implementations (tools/make_image_golden.py) */

static float *golden(const char *name, int64_t *shape, int want_ndim) {
    char path[256];
    snprintf(path, sizeof path, "tests/golden/%s", name);
    float *v;
    int nd;
    if (ts_npy_read_f32(path, &v, shape, &nd, 4) != TS_OK) fail_msg("%s", ts_last_error());
    assert_int_equal(nd, want_ndim);
    return v;
}

static void expect_close(const float *got, const float *want, size_t n, float tol,
                         const char *what) {
    float worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > worst) worst = fabsf(got[i] - want[i]), at = i;
    if (worst > tol)
        fail_msg("%s: [%zu] got %f want %f (tolerance %g)", what, at, got[at], want[at], tol);
}

static void test_golden_resampling(void **state) {
    ts_image src, small;
    assert_int_equal(ts_image_decode_file("tests/golden/image_src.png", 0, &src), TS_OK);
    assert_int_equal(ts_image_decode_file("tests/golden/image_small.png", 0, &small), TS_OK);
    assert_int_equal(src.width, 37);
    int64_t shape[4];
    float out[3 * 32 * 32];
    /* exact area averaging, numpy float64 */
    float *g = golden("image_area16.npy", shape, 3);
    assert_int_equal(ts_image_to_input(&src, 16, TS_FIT_STRETCH, out), TS_OK);
    expect_close(out, g, 3 * 16 * 16, 2e-6f, "area 37x23 -> 16 (numpy)");
    free(g);
    /* Pillow's BOX filter on integer ratios, every fit. Pillow rounds to
     * 8 bits after each of its two passes: up to one level in all */
    ts_image src48;
    assert_int_equal(ts_image_decode_file("tests/golden/image_src48.png", 0, &src48), TS_OK);
    const char *names[] = {"image_box16_stretch.npy", "image_box16_crop.npy",
                           "image_box16_pad.npy"};
    for (int f = 0; f < 3; f++) {
        g = golden(names[f], shape, 3);
        assert_int_equal(ts_image_to_input(&src48, 16, (ts_image_fit)f, out), TS_OK);
        expect_close(out, g, 3 * 16 * 16, 1.01f / 127.5f, names[f]);
        free(g);
    }
    /* PyTorch bilinear, align_corners=False */
    g = golden("image_bilinear32.npy", shape, 3);
    assert_int_equal(ts_image_to_input(&small, 32, TS_FIT_STRETCH, out), TS_OK);
    expect_close(out, g, 3 * 32 * 32, 2e-6f, "bilinear 11x7 -> 32 (torch)");
    free(g);
    ts_image_free(&src);
    ts_image_free(&src48);
    ts_image_free(&small);
}

static void test_golden_jpeg_decoding(void **state) {
    int64_t shape[4];
    ts_image img;
    /* Pillow (the same libjpeg-turbo, ISLOW, fancy upsampling) + exif_transpose */
    float *g = golden("image_photo_exif6.npy", shape, 3);
    assert_int_equal(ts_image_decode_file("tests/golden/image_photo_exif6.jpg", 0, &img), TS_OK);
    assert_true(img.width == shape[1] && img.height == shape[0]);
    assert_int_equal(img.width, 24); /* 40 x 24 stored, turned 90 degrees */
    int worst = 0;
    for (int64_t i = 0; i < shape[0] * shape[1] * 3; i++) {
        int d = abs((int)img.rgb[i] - (int)g[i]);
        if (d > worst) worst = d;
    }
    assert_int_equal(worst, 0);
    ts_image_free(&img);
    free(g);
    /* CMYK as Pillow writes it (Adobe segment, inverted), Pillow's conversion */
    g = golden("image_cmyk_adobe.npy", shape, 3);
    assert_int_equal(ts_image_decode_file("tests/golden/image_cmyk_adobe.jpg", 0, &img), TS_OK);
    assert_true(img.width == shape[1] && img.height == shape[0]);
    worst = 0;
    for (int64_t i = 0; i < shape[0] * shape[1] * 3; i++) {
        int d = abs((int)img.rgb[i] - (int)g[i]);
        if (d > worst) worst = d;
    }
    if (worst > 1) fail_msg("CMYK against Pillow: max difference %d", worst);
    ts_image_free(&img);
    free(g);
}

/* ---- DCT-domain scaling ------------------------------------------------------------ */

static void test_jpeg_dct_scaling(void **state) {
    const int w = 512, h = 384;
    uint8_t *rgb = smooth_rgb(w, h);
    size_t n;
    uint8_t *f = make_jpeg(rgb, w, h, (jpeg_opts){.quality = 90}, &n);
    ts_image full, small;
    assert_int_equal(ts_image_decode_mem(f, n, "big", 0, &full), TS_OK);
    assert_int_equal(full.width, w);
    /* 384 / 8 = 48 >= 32: decoded at 1/8 */
    assert_int_equal(ts_image_decode_mem(f, n, "big", 32, &small), TS_OK);
    assert_int_equal(small.width, 64);
    assert_int_equal(small.height, 48);
    ts_image_free(&small);
    /* 100 needs 2/8 of 384 = 96 < 100, so 4/8 */
    assert_int_equal(ts_image_decode_mem(f, n, "big", 100, &small), TS_OK);
    assert_int_equal(small.width, 256);
    assert_int_equal(small.height, 192);
    ts_image_free(&small);
    /* the model input from the scaled decode is close to the one from the full decode */
    float a[3 * 32 * 32], b[3 * 32 * 32];
    assert_int_equal(ts_image_to_input(&full, 32, TS_FIT_STRETCH, a), TS_OK);
    assert_int_equal(ts_image_load_input_mem(f, n, "big", 32, TS_FIT_STRETCH, b), TS_OK);
    double mean = 0, mx = 0;
    for (int i = 0; i < 3 * 32 * 32; i++) {
        double d = fabs(a[i] - b[i]);
        mean += d / (3 * 32 * 32);
        if (d > mx) mx = d;
    }
    if (mean > 0.01 || mx > 0.06) fail_msg("scaled vs full decode: mean %.4f max %.4f", mean, mx);
    ts_image_free(&full);
    free(f), free(rgb);
}

/* ---- batches over the thread pool ------------------------------------------------------- */

static void test_batch_matches_single_and_reports_first_failure(void **state) {
    enum { N = 7, S = 16 };
    uint8_t *bufs[N];
    size_t lens[N];
    const char *names[N] = {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "bad4.png", "f.jpg", "bad6.jpg"};
    for (int i = 0; i < N; i++) {
        int w = 20 + 9 * i, h = 12 + 5 * i;
        uint8_t *rgb = smooth_rgb(w, h);
        bufs[i] = make_jpeg(rgb, w, h, (jpeg_opts){.progressive = i % 2}, &lens[i]);
        free(rgb);
    }
    memcpy(bufs[4], "\x89PNG\r\n\x1a\n", 8); /* a PNG signature on JPEG data */
    lens[6] = 40;                            /* truncated */
    float *one = malloc(sizeof(float) * 3 * S * S);
    float *seq = malloc(sizeof(float) * N * 3 * S * S),
          *par = malloc(sizeof(float) * N * 3 * S * S);
    ts_status st[N];
    assert_int_equal(ts_image_load_input_batch(NULL, N, (const uint8_t *const *)bufs, lens, names,
                                               S, TS_FIT_CROP, seq, st),
                     TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "bad4.png")); /* the first failure wins */
    for (int threads = 2; threads <= 3; threads++) {
        ts_pool *pool = ts_pool_new(threads);
        memset(par, 0xff, sizeof(float) * N * 3 * S * S);
        assert_int_equal(ts_image_load_input_batch(pool, N, (const uint8_t *const *)bufs, lens,
                                                   names, S, TS_FIT_CROP, par, st),
                         TS_ERR_INPUT);
        assert_non_null(strstr(ts_last_error(), "bad4.png"));
        assert_memory_equal(par, seq, sizeof(float) * N * 3 * S * S);
        ts_pool_free(pool);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(st[i], i == 4 || i == 6 ? TS_ERR_INPUT : TS_OK);
        if (st[i]) {
            for (int k = 0; k < 3 * S * S; k++)
                assert_true(par[(size_t)i * 3 * S * S + k] == 0.0f);
            continue;
        }
        assert_int_equal(ts_image_load_input_mem(bufs[i], lens[i], names[i], S, TS_FIT_CROP, one),
                         TS_OK);
        assert_memory_equal(one, par + (size_t)i * 3 * S * S, sizeof(float) * 3 * S * S);
    }
    /* all good: TS_OK; an empty batch is fine too */
    assert_int_equal(ts_image_load_input_batch(NULL, 4, (const uint8_t *const *)bufs, lens, NULL, S,
                                               TS_FIT_PAD, seq, NULL),
                     TS_OK);
    assert_int_equal(
        ts_image_load_input_batch(NULL, 0, NULL, NULL, NULL, S, TS_FIT_PAD, NULL, NULL), TS_OK);
    for (int i = 0; i < N; i++)
        free(bufs[i]);
    free(one), free(seq), free(par);
}

/* ---- samples/ ------------------------------------------------------------------------ */

static void test_samples(void **state) {
    ts_image_info info;
    ts_image img;
    assert_int_equal(ts_image_probe_file(tu_sample("cat.jpg"), &info), TS_OK);
    assert_int_equal(info.format, TS_IMAGE_JPEG);
    assert_int_equal(info.width, 32);
    assert_int_equal(info.height, 32);
    assert_string_equal(info.color, "ycbcr");

    assert_int_equal(ts_image_probe_file(tu_sample("digit7.png"), &info), TS_OK);
    assert_int_equal(info.width, 28);
    assert_string_equal(info.color, "grey");
    assert_int_equal(ts_image_decode_file(tu_sample("digit7.png"), 0, &img), TS_OK);
    int ink = 0;
    for (int i = 0; i < 28 * 28; i++)
        ink += img.rgb[3 * i] > 128;
    assert_true(ink > 40 && ink < 300); /* a thin stroke on black */
    assert_int_equal(img.rgb[0], 0);
    ts_image_free(&img);

    assert_int_equal(ts_image_probe_file(tu_sample("emoji_grinning.png"), &info), TS_OK);
    assert_string_equal(info.color, "rgba");
    assert_int_equal(ts_image_decode_file(tu_sample("emoji_grinning.png"), 0, &img), TS_OK);
    assert_int_equal(img.width, 72);
    /* transparent corner -> white; centre of the face is yellow */
    assert_memory_equal(img.rgb, "\xff\xff\xff", 3);
    const uint8_t *mid = img.rgb + (20 * 72 + 36) * 3;
    assert_true(mid[0] > 200 && mid[1] > 150 && mid[2] < 120);
    ts_image_free(&img);

    assert_int_equal(ts_image_probe_file(tu_sample("drawing_house.png"), &info), TS_OK);
    assert_int_equal(info.width, 72);

    /* the one-call path equals decode + to_input */
    float a[3 * 32 * 32], b[3 * 32 * 32];
    const char *names[] = {"cat.jpg", "digit7.png", "emoji_grinning.png", "drawing_house.png"};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(ts_image_load_input_file(tu_sample(names[k]), 32, TS_FIT_PAD, a), TS_OK);
        assert_int_equal(ts_image_decode_file(tu_sample(names[k]), 0, &img), TS_OK);
        assert_int_equal(ts_image_to_input(&img, 32, TS_FIT_PAD, b), TS_OK);
        ts_image_free(&img);
        assert_memory_equal(a, b, sizeof a);
        for (int i = 0; i < 3 * 32 * 32; i++)
            assert_true(a[i] >= -1.0f && a[i] <= 1.0f);
    }
}

/* ---- bad input ------------------------------------------------------------------------ */

/* Every public entry point refuses the file with TS_ERR_INPUT and a message
 * that names it and contains `why`. */
static void expect_bad(const char *path, const char *why) {
    ts_image_info info;
    ts_image img;
    float in[3 * 8 * 8];
    assert_int_equal(ts_image_decode_file(path, 0, &img), TS_ERR_INPUT);
    if (!strstr(ts_last_error(), path) || (why && !strstr(ts_last_error(), why)))
        fail_msg("decode %s: message '%s' (want '%s')", path, ts_last_error(), why ? why : "");
    assert_null(img.rgb);
    assert_int_equal(ts_image_load_input_file(path, 8, TS_FIT_STRETCH, in), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), path));
    ts_status s = ts_image_probe_file(path, &info);
    /* a file cut inside its pixel data still has a good header */
    if (s != TS_OK) {
        assert_int_equal(s, TS_ERR_INPUT);
        assert_non_null(strstr(ts_last_error(), path));
    }
    assert_null(strchr(ts_last_error(), '\n'));
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* Rewrites IHDR's size and its CRC, so only our limits can object. */
static void png_set_size(uint8_t *f, uint32_t w, uint32_t h) {
    put_be32(f + 16, w);
    put_be32(f + 20, h);
    uint32_t crc = (uint32_t)crc32(0, f + 12, 17);
    put_be32(f + 29, crc);
}

static size_t jpeg_sof(const uint8_t *f, size_t n) {
    for (size_t i = 2; i + 9 < n; i++)
        if (f[i] == 0xFF && (f[i + 1] == 0xC0 || f[i + 1] == 0xC2)) return i;
    return 0;
}

static void test_bad_inputs(void **state) {
    char *dir = tu_mkdtemp();
    char p[1024];

    snprintf(p, sizeof p, "%s/empty.png", dir);
    tu_write_file(p, "", 0);
    expect_bad(p, "empty");

    snprintf(p, sizeof p, "%s/notes.png", dir); /* text named .png */
    tu_write_file(p, "just some text\n", 15);
    expect_bad(p, "not a PNG or JPEG");

    snprintf(p, sizeof p, "%s/anim.gif", dir);
    tu_write_file(p, "GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14);
    expect_bad(p, "not a PNG or JPEG");

    expect_bad(dir, "directory");
    snprintf(p, sizeof p, "%s/missing.jpg", dir);
    expect_bad(p, NULL);

    /* a real PNG and JPEG, then damaged copies */
    uint16_t s[16 * 12 * 3];
    for (int i = 0; i < 16 * 12 * 3; i++)
        s[i] = (uint16_t)((i * 37) & 255);
    const char *good_png = tu_path(dir, "good.png");
    write_png(good_png, 16, 12, PNG_COLOR_TYPE_RGB, 8, false, s, NULL);
    size_t pn;
    uint8_t *png = file_bytes(good_png, &pn);
    uint8_t *rgb = smooth_rgb(48, 32);
    size_t jn;
    uint8_t *jpg = make_jpeg(rgb, 48, 32, (jpeg_opts){.progressive = false}, &jn);
    size_t qn;
    uint8_t *prog = make_jpeg(rgb, 48, 32, (jpeg_opts){.progressive = true}, &qn);

    /* truncated at several points: in the signature, in IHDR, in IDAT, before IEND */
    const size_t png_cuts[] = {4, 8, 20, 40, pn / 2, pn - 12, pn - 1};
    for (size_t i = 0; i < sizeof png_cuts / sizeof *png_cuts; i++) {
        snprintf(p, sizeof p, "%s/cut%zu.png", dir, png_cuts[i]);
        tu_write_file(p, png, png_cuts[i]);
        expect_bad(p, png_cuts[i] < 8 ? "not a PNG" : "truncated");
    }
    const size_t jpg_cuts[] = {2, 3, 30, 200, jn / 2, jn - 2};
    for (size_t i = 0; i < sizeof jpg_cuts / sizeof *jpg_cuts; i++) {
        snprintf(p, sizeof p, "%s/cut%zu.jpg", dir, jpg_cuts[i]);
        tu_write_file(p, jpg, jpg_cuts[i]);
        expect_bad(p, jpg_cuts[i] < 3 ? "not a PNG" : "truncated");
    }
    const size_t prog_cuts[] = {qn / 3, qn / 2, qn - 2};
    for (size_t i = 0; i < sizeof prog_cuts / sizeof *prog_cuts; i++) {
        snprintf(p, sizeof p, "%s/pcut%zu.jpg", dir, prog_cuts[i]);
        tu_write_file(p, prog, prog_cuts[i]);
        expect_bad(p, "truncated");
    }

    /* lying headers: huge and zero sizes */
    uint8_t *bad = malloc(pn > jn ? pn : jn);
    memcpy(bad, png, pn);
    png_set_size(bad, 100000, 100000);
    snprintf(p, sizeof p, "%s/huge.png", dir);
    tu_write_file(p, bad, pn);
    expect_bad(p, "over the limit");
    ts_image_info info;
    assert_int_equal(ts_image_probe_file(p, &info),
                     TS_ERR_INPUT); /* refused from the header alone */

    memcpy(bad, png, pn);
    png_set_size(bad, 0, 12);
    snprintf(p, sizeof p, "%s/zero.png", dir);
    tu_write_file(p, bad, pn);
    expect_bad(p, "width");

    memcpy(bad, jpg, jn);
    size_t sof = jpeg_sof(bad, jn);
    assert_true(sof > 0);
    bad[sof + 5] = 0xFF, bad[sof + 6] = 0xD0, bad[sof + 7] = 0xFF,
              bad[sof + 8] = 0xD0; /* 65488 x 65488 */
    snprintf(p, sizeof p, "%s/huge.jpg", dir);
    tu_write_file(p, bad, jn);
    expect_bad(p, "over the limit");
    assert_int_equal(ts_image_probe_file(p, &info), TS_ERR_INPUT);

    memcpy(bad, jpg, jn);
    bad[sof + 7] = 0, bad[sof + 8] = 0; /* width 0 */
    snprintf(p, sizeof p, "%s/zero.jpg", dir);
    tu_write_file(p, bad, jn);
    expect_bad(p, NULL);

    /* corrupted pixel data: a flipped byte in IDAT fails its CRC */
    memcpy(bad, png, pn);
    bad[pn - 20] ^= 0x55;
    snprintf(p, sizeof p, "%s/crc.png", dir);
    tu_write_file(p, bad, pn);
    expect_bad(p, "bad PNG");

    /* the file-size limit is checked before a byte is read */
    assert_int_equal(ts_image_probe_mem(png, TS_MAX_IMAGE_FILE_BYTES + 1, "big.png", &info),
                     TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "over the image limit"));

    /* in memory, without a name */
    ts_image img;
    assert_int_equal(ts_image_decode_mem(png, 20, NULL, 0, &img), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "<memory>"));

    free(bad), free(png), free(jpg), free(prog), free(rgb);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_every_color_type_and_depth),
        cmocka_unit_test(test_png_colour_key_transparency),
        cmocka_unit_test(test_png_exif_orientation),
        cmocka_unit_test(test_png_write_round_trip),
        cmocka_unit_test(test_jpeg_baseline_progressive_grey),
        cmocka_unit_test(test_jpeg_cmyk_plain_and_adobe_inverted),
        cmocka_unit_test(test_jpeg_exif_orientation_all_eight_both_orders),
        cmocka_unit_test(test_resize_matches_naive_reference),
        cmocka_unit_test(test_resize_known_values_and_fits),
        cmocka_unit_test(test_golden_resampling),
        cmocka_unit_test(test_golden_jpeg_decoding),
        cmocka_unit_test(test_jpeg_dct_scaling),
        cmocka_unit_test(test_batch_matches_single_and_reports_first_failure),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests_name("vision", tests, NULL, NULL);
}
