/* An RGB canvas for the training plots (vqvae/ loss curves, model/ decoder
 * loss): pixels, 2-pixel-thick lines and labels in a 3 x 5 font. Internal to
 * the library; writing the PNG is the caller's (vision/ sits above core/). */
#ifndef TESSERA_CORE_PLOT_H
#define TESSERA_CORE_PLOT_H

#include <stdint.h>

#include "tessera/core.h"

typedef struct {
    uint8_t *rgb; /* (h, w, 3), row-major */
    int w, h;
} ts_canvas;

/* A w x h canvas, all white. */
ts_status ts_canvas_init(ts_canvas *c, int w, int h);
void ts_canvas_free(ts_canvas *c);

/* Sets one pixel; points outside the canvas are ignored. */
void ts_canvas_px(ts_canvas *c, int x, int y, const uint8_t col[3]);

/* Bresenham from (x0, y0) to (x1, y1), both ends included, each point drawn
 * with the one below it so that the line is 2 pixels thick. */
void ts_canvas_line(ts_canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3]);

/* Draws s with its top-left corner at (x, y), each font pixel scale x scale
 * and each character 4 * scale wide. The font has the digits, '.', '-', ' '
 * and the letters a c d e f g i k l m n o p r s t u; any other character is a
 * blank. */
void ts_canvas_text(ts_canvas *c, int x, int y, const char *s, int scale, const uint8_t col[3]);

#endif
