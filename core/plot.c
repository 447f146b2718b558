/* The plot canvas: see core/plot.h. */
#include "core/plot.h"

#include <stdlib.h>
#include <string.h>

ts_status ts_canvas_init(ts_canvas *c, int w, int h) {
    c->w = w, c->h = h;
    c->rgb = malloc((size_t)w * h * 3);
    if (!c->rgb) return ts_fail(TS_ERR_NOMEM, "plot: out of memory");
    memset(c->rgb, 255, (size_t)w * h * 3);
    return TS_OK;
}

void ts_canvas_free(ts_canvas *c) {
    free(c->rgb);
    c->rgb = NULL;
}

void ts_canvas_px(ts_canvas *c, int x, int y, const uint8_t col[3]) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->rgb + ((size_t)y * c->w + x) * 3, col, 3);
}

void ts_canvas_line(ts_canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3]) {
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        ts_canvas_px(c, x0, y0, col);
        ts_canvas_px(c, x0, y0 + 1, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

/* Rows top to bottom, 3 bits each (the high bit on the left). */
static const struct {
    char c;
    uint8_t rows[5];
} GLYPHS[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
    {'3', {7, 1, 7, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
    {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}}, {'8', {7, 5, 7, 5, 7}},
    {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
    {'e', {7, 5, 7, 4, 7}}, {'t', {2, 7, 2, 2, 3}}, {'o', {0, 7, 5, 5, 7}},
    {'a', {6, 1, 7, 5, 7}}, {'l', {6, 2, 2, 2, 7}}, {'i', {2, 0, 6, 2, 7}},
    {'m', {0, 7, 7, 5, 5}}, {'g', {7, 5, 7, 1, 6}}, {'u', {0, 5, 5, 5, 7}},
    {'d', {1, 1, 7, 5, 7}}, {'c', {0, 7, 4, 4, 7}}, {'s', {3, 4, 2, 1, 6}},
    {'p', {7, 5, 7, 4, 4}}, {'r', {0, 7, 4, 4, 4}}, {'n', {0, 6, 5, 5, 5}},
    {'k', {4, 5, 6, 5, 5}}, {'f', {3, 4, 7, 4, 4}},
};

void ts_canvas_text(ts_canvas *c, int x, int y, const char *s, int scale, const uint8_t col[3]) {
    for (; *s; s++, x += 4 * scale) {
        for (size_t g = 0; g < sizeof GLYPHS / sizeof *GLYPHS; g++) {
            if (GLYPHS[g].c != *s) continue;
            for (int r = 0; r < 5; r++)
                for (int b = 0; b < 3; b++)
                    if (GLYPHS[g].rows[r] >> (2 - b) & 1)
                        for (int dy = 0; dy < scale; dy++)
                            for (int dx = 0; dx < scale; dx++)
                                ts_canvas_px(c, x + b * scale + dx, y + r * scale + dy, col);
            break;
        }
    }
}
