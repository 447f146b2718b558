/* 2-D RoPE positions for image codes (ts_model_config.image_grid): the g²
 * tokens after each image token are the cells of a g × g grid in raster
 * order. Training (ts_model_forward) and generation (ts_session) both place
 * a token here, from the token ids alone. */
#include "model/model_impl.h"

int ts_grid_cell(const ts_model_config *c, const int32_t *ids, int i) {
    const int cells = c->image_grid * c->image_grid;
    if (ids[i] == c->image_token) return -1;
    for (int k = 0; k < cells && k < i; k++)
        if (ids[i - 1 - k] == c->image_token) return k;
    return -1;
}

void ts_grid_place(const ts_model_config *c, const int32_t *pos, int i, int k, int32_t *row,
                   int32_t *col) {
    const int g = c->image_grid;
    if (k < 0) {
        *row = *col = pos ? pos[i] : i;
        return;
    }
    const int32_t first = pos ? pos[i - k] : i - k; /* the grid's first code */
    *row = first + k / g, *col = first + k % g;
}

/* The positions of a whole row in one pass: ts_grid_cell's lookback is the
 * distance to the last image token, which the pass carries along. */
void ts_grid_positions(const ts_model_config *c, const int32_t *ids, const int32_t *pos, int T,
                       int32_t *row, int32_t *col) {
    int last = -1;
    for (int i = 0; i < T; i++)
        ts_grid_place(c, pos, i, ts_grid_next_cell(c, ids, i, &last), &row[i], &col[i]);
}
