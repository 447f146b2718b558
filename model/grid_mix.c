/* Grid mixing (ts_model_config.grid_mix = R): each image code's input
 * embedding adds W·[the embeddings of its grid neighbours read before it]:
 * R rows of 2R+1 above it and the R codes to its left (R = 1: up-left, up,
 * up-right, left). A code stands for a 4 x 4 patch of pixels; with its
 * neighbours the first block's experts see 12 x 8 pixels at once (R = 1;
 * 20 x 12 for R = 2), as the first layer of a small CNN over the codes
 * would (such a CNN names CIFAR-10 classes from the codes better than the
 * decoder does: README, "What the codes carry"). Only earlier tokens are
 * read, so the decoder stays causal and a KV cache fed one token at a time
 * gives what the batched pass gives. */
#include <string.h>

#include "model/model_impl.h"
#include "nn/linear.h"
#include "nn/matvec.h"

/* The rows of the W = ts_grid_mix_width neighbours of cell k of the grid
 * whose code at row i is that cell (-1 off the grid), rows above first. */
static void neighbours(const ts_model_config *c, int i, int k, int32_t *nb) {
    const int g = c->image_grid, R = c->grid_mix, r = k / g, col = k % g;
    int t = 0;
    for (int rr = r - R; rr <= r; rr++)
        for (int cc = col - R; cc <= (rr < r ? col + R : col - 1); cc++)
            nb[t++] = rr >= 0 && cc >= 0 && cc < g ? i - k + rr * g + cc : -1;
}

/* in[W·D] = the neighbours' embeddings side by side, zeros off the grid */
static void gather(const float *tok_embd, const int32_t *ids, const int32_t *nb, int W, int D,
                   float *in) {
    for (int t = 0; t < W; t++) {
        float *dst = in + (size_t)t * D;
        if (nb[t] < 0)
            memset(dst, 0, sizeof(float) * D);
        else
            memcpy(dst, tok_embd + (size_t)ids[nb[t]] * D, sizeof(float) * D);
    }
}

void ts_grid_mix_forward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids) {
    const ts_model_config *c = &m->c;
    const int D = c->d_model, W = ts_grid_mix_width(c);
    int n = 0;
    for (int b = 0; b < a->B; b++) {
        const int o = b * a->T;
        int last = -1;
        for (int i = 0; i < a->T; i++) {
            const int k = ts_grid_next_cell(c, ids + o, i, &last);
            if (k < 0) continue;
            int32_t *nb = a->mix_nb + (size_t)W * n;
            neighbours(c, o + i, k, nb);
            gather(m->w.tok_embd, ids, nb, W, D, a->mix_in + (size_t)n * W * D);
            a->mix_rows[n++] = o + i;
        }
    }
    a->n_mix = n;
    if (!n) return;
    /* y = in · Wᵀ in block 0's norm buffer, free until its norm runs */
    float *y = a->L[0].xn1, *x = a->L[0].x;
    ts_gemm(pool, false, true, n, D, W * D, 1.0f, a->mix_in, W * D, m->w.grid_mix, W * D, 0.0f, y,
            D);
    for (int j = 0; j < n; j++) {
        float *xr = x + (size_t)a->mix_rows[j] * D;
        const float *yr = y + (size_t)j * D;
        for (int d = 0; d < D; d++)
            xr[d] += yr[d];
    }
}

void ts_grid_mix_backward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                          const ts_weights *g) {
    const int D = m->c.d_model, W = ts_grid_mix_width(&m->c), n = a->n_mix;
    if (!n) return;
    /* dy: the grid codes' rows of dx, compact, in dxn (free by now) */
    float *dy = a->dxn;
    for (int j = 0; j < n; j++)
        memcpy(dy + (size_t)j * D, a->dx + (size_t)a->mix_rows[j] * D, sizeof(float) * D);
    /* dW += dyᵀ · in; then d(in) = dy · W, written over in (no longer needed) */
    ts_gemm(pool, true, false, D, W * D, n, 1.0f, dy, D, a->mix_in, W * D, 1.0f, g->grid_mix,
            W * D);
    ts_gemm(pool, false, false, n, W * D, D, 1.0f, dy, D, m->w.grid_mix, W * D, 0.0f, a->mix_in,
            W * D);
    for (int j = 0; j < n; j++)
        for (int t = 0; t < W; t++) {
            const int32_t r = a->mix_nb[(size_t)W * j + t];
            if (r < 0) continue;
            float *ge = g->tok_embd + (size_t)ids[r] * D;
            const float *din = a->mix_in + ((size_t)W * j + t) * D;
            for (int d = 0; d < D; d++)
                ge[d] += din[d];
        }
}

void ts_grid_mix_token(const ts_model *m, const int32_t *ids, int i, int k, float *in, float *x) {
    const ts_model_config *c = &m->c;
    const int D = c->d_model, W = ts_grid_mix_width(c);
    if (k < 0) return;
    int32_t nb[TS_GRID_MIX_NEIGHBOURS(TS_GRID_MIX_MAX_REACH)];
    neighbours(c, i, k, nb);
    gather(m->w.tok_embd, ids, nb, W, D, in);
    float *y = in + (size_t)W * D;
    ts_matvec(y, m->w.grid_mix, D, W * D, W * D, in);
    for (int d = 0; d < D; d++)
        x[d] += y[d];
}
