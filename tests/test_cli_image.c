/* `tessera info` on images: the fields it prints, --json that parses,
 * exit 2 with one stderr line for bad files, exit 1 for usage errors. The
 * images are the ones in samples/ and some made here. */
#include "tessera.h"
#include "tessera/json.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* after stdio.h */
#include <jpeglib.h>

/* A w x h JPEG (smooth colours) with, when orientation > 0, an EXIF APP1
 * segment right after SOI. */
static void write_jpeg(const char *path, int w, int h, bool progressive, int orientation) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    while (c.next_scanline < (unsigned)h) {
        for (int x = 0; x < w; x++)
            row[3 * x] = (uint8_t)(x * 4), row[3 * x + 1] = (uint8_t)(c.next_scanline * 4),
                    row[3 * x + 2] = 90;
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(buf, 1, 2, f); /* SOI */
    if (orientation > 0) {
        /* big-endian TIFF, IFD0 with one entry: orientation */
        const uint8_t app1[] = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
                                'M',  'M',  0, 42, 0,   0,   0,   8,   0, 1,
                                0x01, 0x12, 0, 3,  0,   0,   0,   1,   0, (uint8_t)orientation,
                                0,    0,    0, 0,  0,   0};
        fwrite(app1, 1, sizeof app1, f);
    }
    fwrite(buf + 2, 1, n - 2, f);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

static void expect_ok(tu_run_result *r) {
    if (r->code != 0) fail_msg("exit %d, stderr: %s", r->code, r->err);
    assert_string_equal(r->err, "");
}

static void test_info_samples_text(void **state) {
    tu_run_result r = tu_run("info %s", tu_sample("cat.jpg"));
    expect_ok(&r);
    assert_non_null(strstr(r.out, "kind:        image"));
    assert_non_null(strstr(r.out, "container:   jpeg\n"));
    assert_non_null(strstr(r.out, "size:        32 x 32"));
    assert_non_null(strstr(r.out, "channels:    3 (ycbcr)"));
    assert_non_null(strstr(r.out, "bit depth:   8"));
    assert_non_null(strstr(r.out, "3 x 32 x 32 float32 in [-1, 1]"));
    tu_run_free(&r);

    r = tu_run("info %s %s %s", tu_sample("digit7.png"), tu_sample("emoji_grinning.png"),
               tu_sample("drawing_house.png"));
    expect_ok(&r);
    assert_non_null(strstr(r.out, "container:   png\n"));
    assert_non_null(strstr(r.out, "size:        28 x 28"));
    assert_non_null(strstr(r.out, "channels:    1 (grey)"));
    assert_non_null(strstr(r.out, "size:        72 x 72"));
    assert_non_null(strstr(r.out, "channels:    4 (rgba)"));
    assert_non_null(strstr(r.out, "(palette"));
    /* three reports, each naming its file */
    assert_non_null(strstr(r.out, "digit7.png"));
    assert_non_null(strstr(r.out, "drawing_house.png"));
    tu_run_free(&r);
}

static const ts_json *get(const ts_json *o, const char *k) {
    const ts_json *v = ts_json_get(o, k);
    if (!v) fail_msg("JSON has no \"%s\"", k);
    return v;
}

static void test_info_json_parses(void **state) {
    char *dir = tu_mkdtemp();
    /* content, not name, decides: a JPEG named .png, with EXIF orientation 6 */
    const char *odd = tu_path(dir, "photo.png");
    write_jpeg(odd, 48, 24, true, 6);
    tu_run_result r = tu_run("info --json %s %s", tu_sample("emoji_grinning.png"), odd);
    expect_ok(&r);
    assert_int_equal(tu_count_lines(r.out), 2); /* one object per line */
    char *line2 = strchr(r.out, '\n') + 1;

    ts_json_doc *doc;
    assert_int_equal(ts_json_parse(r.out, (size_t)(line2 - r.out), "out", &doc), TS_OK);
    const ts_json *o = ts_json_root(doc);
    assert_int_equal(o->type, TS_JSON_OBJECT);
    assert_string_equal(get(o, "kind")->str, "image");
    assert_string_equal(get(o, "container")->str, "png");
    assert_true(get(o, "width")->number == 72 && get(o, "height")->number == 72);
    assert_true(get(o, "channels")->number == 4 && get(o, "bit_depth")->number == 8);
    assert_string_equal(get(o, "color")->str, "rgba");
    assert_int_equal(get(o, "interlaced")->type, TS_JSON_BOOL);
    const ts_json *mi = get(o, "model_input"), *shape = get(mi, "shape");
    assert_int_equal(shape->len, 3);
    assert_true(ts_json_at(shape, 0)->number == 3 && ts_json_at(shape, 1)->number == 32 &&
                ts_json_at(shape, 2)->number == 32);
    assert_true(strstr(get(o, "file")->str, "emoji_grinning.png") != NULL);
    ts_json_free(doc);

    assert_int_equal(ts_json_parse(line2, strlen(line2), "out", &doc), TS_OK);
    o = ts_json_root(doc);
    assert_string_equal(get(o, "container")->str, "jpeg");
    assert_true(get(o, "width")->number == 48 && get(o, "height")->number == 24);
    assert_true(get(o, "interlaced")->boolean); /* progressive */
    assert_true(get(o, "orientation")->number == 6);
    assert_true(get(o, "oriented_width")->number == 24 && get(o, "oriented_height")->number == 48);
    ts_json_free(doc);
    tu_run_free(&r);

    /* the text form says the same */
    r = tu_run("info %s", odd);
    expect_ok(&r);
    assert_non_null(strstr(r.out, "container:   jpeg (progressive)"));
    assert_non_null(strstr(r.out, "orientation: EXIF 6 (shown as 24 x 48)"));
    tu_run_free(&r);

    /* PNG written by the library: grey, interlace-free */
    uint8_t px[6 * 5];
    for (int i = 0; i < 30; i++)
        px[i] = (uint8_t)(i * 8);
    const char *grey = tu_path(dir, "grey.jpg");
    assert_int_equal(ts_png_write(grey, px, 6, 5, 1), TS_OK);
    r = tu_run("info --json %s", grey);
    expect_ok(&r);
    assert_int_equal(ts_json_parse(r.out, strlen(r.out), "out", &doc), TS_OK);
    o = ts_json_root(doc);
    assert_string_equal(get(o, "container")->str, "png");
    assert_string_equal(get(o, "color")->str, "grey");
    assert_true(get(o, "width")->number == 6 && get(o, "height")->number == 5);
    ts_json_free(doc);
    tu_run_free(&r);
    tu_rmdir(dir);
}

/* exit 2, nothing on stdout, exactly one line on stderr naming the file */
static void expect_bad(const char *path, const char *why) {
    tu_run_result r = tu_run("info '%s'", path);
    if (r.code != 2) fail_msg("%s: exit %d (stderr: %s)", path, r.code, r.err);
    assert_string_equal(r.out, "");
    assert_int_equal(tu_count_lines(r.err), 1);
    if (!strstr(r.err, path) || (why && !strstr(r.err, why)))
        fail_msg("%s: stderr '%s' (want '%s')", path, r.err, why ? why : "");
    tu_run_free(&r);
}

static void test_info_bad_files(void **state) {
    char *dir = tu_mkdtemp();
    const char *p = tu_path(dir, "empty.png");
    tu_write_file(p, "", 0);
    expect_bad(p, "empty");
    p = tu_path(dir, "readme.png");
    tu_write_file(p, "this is text, not a picture\n", 28);
    expect_bad(p, "not an image");
    expect_bad(dir, "directory");
    expect_bad(tu_path(dir, "missing.jpg"), NULL);
    /* a PNG cut inside its header, a JPEG cut before its frame header */
    size_t n;
    char *png = tu_read_file(tu_sample("emoji_grinning.png"), &n);
    p = tu_path(dir, "cut.png");
    tu_write_file(p, png, 20);
    expect_bad(p, "truncated");
    free(png);
    char *jpg = tu_read_file(tu_sample("cat.jpg"), &n);
    p = tu_path(dir, "cut.jpg");
    tu_write_file(p, jpg, 100);
    expect_bad(p, "truncated");
    /* a lying header: 70000 x 70000 */
    for (size_t i = 2; i + 9 < n; i++)
        if ((uint8_t)jpg[i] == 0xFF && (uint8_t)jpg[i + 1] == 0xC0) {
            jpg[i + 5] = jpg[i + 7] = (char)0xFF; /* 0xFFxx: over 65000 each */
            break;
        }
    p = tu_path(dir, "huge.jpg");
    tu_write_file(p, jpg, n);
    expect_bad(p, "limit");
    free(jpg);
    /* a good and a bad file: the good one is reported, the exit code is 2 */
    tu_run_result r = tu_run("info %s '%s'", tu_sample("cat.jpg"), tu_path(dir, "empty.png"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.out, "size:        32 x 32"));
    assert_int_equal(tu_count_lines(r.err), 1);
    tu_run_free(&r);
    tu_rmdir(dir);
}

static void test_info_usage(void **state) {
    tu_run_result r = tu_run("info");
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out, "");
    assert_true(strlen(r.err) > 0);
    tu_run_free(&r);
    r = tu_run("info --frobnicate %s", tu_sample("cat.jpg"));
    assert_int_equal(r.code, 1);
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    r = tu_run("info --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: tessera info"));
    assert_non_null(strstr(r.out, "--json"));
    tu_run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_samples_text),
        cmocka_unit_test(test_info_json_parses),
        cmocka_unit_test(test_info_bad_files),
        cmocka_unit_test(test_info_usage),
    };
    return cmocka_run_group_tests_name("cli_image", tests, NULL, NULL);
}
