/* core/plot.c: the canvas the training plots are drawn on — clipping, the
 * 2-pixel-thick Bresenham line, and the 3 x 5 font's glyphs and spacing. */
#include "core/plot.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <string.h>

static const uint8_t RED[3] = {220, 40, 40};

static int is_red(const ts_canvas *c, int x, int y) {
    return !memcmp(c->rgb + ((size_t)y * c->w + x) * 3, RED, 3);
}

static int is_white(const ts_canvas *c, int x, int y) {
    const uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;
    return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

static int count_red(const ts_canvas *c) {
    int n = 0;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) n += is_red(c, x, y);
    return n;
}

static void test_init_and_clipped_pixels(void **state) {
    ts_canvas c;
    assert_int_equal(ts_canvas_init(&c, 7, 5), TS_OK);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++) assert_true(is_white(&c, x, y));
    ts_canvas_px(&c, 6, 4, RED);
    ts_canvas_px(&c, -1, 0, RED); /* outside: ignored, no write out of bounds */
    ts_canvas_px(&c, 7, 0, RED);
    ts_canvas_px(&c, 0, 5, RED);
    assert_true(is_red(&c, 6, 4));
    assert_int_equal(count_red(&c), 1);
    ts_canvas_free(&c);
    assert_null(c.rgb);
}

static void test_line_pixels(void **state) {
    ts_canvas c;
    assert_int_equal(ts_canvas_init(&c, 12, 8), TS_OK);
    /* (1,1) -> (7,4): dx 6, dy 3, one point per column, y stepping every
     * other column (ties step both); each point doubled downwards */
    ts_canvas_line(&c, 1, 1, 7, 4, RED);
    const int ys[7] = {1, 2, 2, 3, 3, 4, 4};
    for (int i = 0; i < 7; i++) {
        assert_true(is_red(&c, 1 + i, ys[i]));
        assert_true(is_red(&c, 1 + i, ys[i] + 1));
    }
    assert_int_equal(count_red(&c), 14);
    /* drawn backwards: again one point per column */
    ts_canvas d;
    assert_int_equal(ts_canvas_init(&d, 12, 8), TS_OK);
    ts_canvas_line(&d, 7, 4, 1, 1, RED);
    assert_int_equal(count_red(&d), 14);
    /* a vertical line off the bottom edge is clipped */
    ts_canvas_line(&d, 10, 5, 10, 9, RED);
    assert_true(is_red(&d, 10, 5) && is_red(&d, 10, 7));
    assert_int_equal(count_red(&d), 14 + 3);
    ts_canvas_free(&c);
    ts_canvas_free(&d);
}

/* The rows of the glyph drawn at (x0, 0), scale 1, as 3-bit numbers. */
static void glyph_rows(const ts_canvas *c, int x0, int rows[5]) {
    for (int r = 0; r < 5; r++) {
        rows[r] = 0;
        for (int b = 0; b < 3; b++) rows[r] = rows[r] << 1 | is_red(c, x0 + b, r);
    }
}

static void test_text_glyphs(void **state) {
    ts_canvas c;
    assert_int_equal(ts_canvas_init(&c, 40, 12), TS_OK);
    ts_canvas_text(&c, 0, 0, "1e-2?k", 1, RED); /* '?' has no glyph: a blank */
    int rows[5];
    const int one[5] = {2, 6, 2, 2, 7}, e[5] = {7, 5, 7, 4, 7}, minus[5] = {0, 0, 7, 0, 0},
              two[5] = {7, 1, 7, 4, 7}, blank[5] = {0}, k[5] = {4, 5, 6, 5, 5};
    const int *want[6] = {one, e, minus, two, blank, k};
    for (int g = 0; g < 6; g++) {
        glyph_rows(&c, 4 * g, rows); /* 4 pixels a character at scale 1 */
        assert_memory_equal(rows, want[g], sizeof rows);
        for (int y = 0; y < 12; y++) assert_true(is_white(&c, 4 * g + 3, y)); /* the gap */
    }
    for (int x = 0; x < 40; x++)
        for (int y = 5; y < 12; y++) assert_true(is_white(&c, x, y));
    ts_canvas_free(&c);

    /* scale 2: each font pixel a 2 x 2 block, characters 8 apart */
    assert_int_equal(ts_canvas_init(&c, 20, 12), TS_OK);
    ts_canvas_text(&c, 1, 1, "..", 2, RED);
    assert_int_equal(count_red(&c), 2 * 4);
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            assert_true(is_red(&c, 1 + 2 + dx, 1 + 8 + dy));
            assert_true(is_red(&c, 9 + 2 + dx, 1 + 8 + dy));
        }
    ts_canvas_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_clipped_pixels),
        cmocka_unit_test(test_line_pixels),
        cmocka_unit_test(test_text_glyphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
