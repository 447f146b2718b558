/* Grid mixing (ts_model_config.grid_mix): each image code's input embedding
 * adds W·[e(up-left); e(up); e(up-right); e(left)], the embeddings of the
 * four grid neighbours read before it. A code stands for a 4 x 4 patch of
 * pixels; with its neighbours the first block's experts see 12 x 8 pixels
 * at once, as the first layer of a small CNN over the codes would (such a
 * CNN names CIFAR-10 classes from the codes better than the decoder does:
 * README, "What the codes carry"). Only earlier tokens are read, so the
 * decoder stays causal and a KV cache fed one token at a time gives what the
 * batched pass gives. */
#include <string.h>

#include "model/model_impl.h"
#include "nn/linear.h"
#include "nn/matvec.h"

/* The rows of the four neighbours of cell k of the grid whose code at row i
 * is that cell (-1 off the grid). */
static void neighbours(int g, int i, int k, int32_t nb[4]) {
    static const int dr[4] = {-1, -1, -1, 0}, dc[4] = {-1, 0, 1, -1};
    const int r = k / g, col = k % g;
    for (int t = 0; t < 4; t++) {
        const int rr = r + dr[t], cc = col + dc[t];
        nb[t] = rr >= 0 && cc >= 0 && cc < g ? i - k + rr * g + cc : -1;
    }
}

/* in[4D] = the neighbours' embeddings side by side, zeros off the grid */
static void gather(const float *tok_embd, const int32_t *ids, const int32_t nb[4], int D,
                   float *in) {
    for (int t = 0; t < 4; t++) {
        float *dst = in + (size_t)t * D;
        if (nb[t] < 0)
            memset(dst, 0, sizeof(float) * D);
        else
            memcpy(dst, tok_embd + (size_t)ids[nb[t]] * D, sizeof(float) * D);
    }
}

void ts_grid_mix_forward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids) {
    const ts_model_config *c = &m->c;
    const int D = c->d_model, g = c->image_grid;
    int n = 0;
    for (int b = 0; b < a->B; b++) {
        const int o = b * a->T;
        int last = -1;
        for (int i = 0; i < a->T; i++) {
            const int k = ts_grid_next_cell(c, ids + o, i, &last);
            if (k < 0) continue;
            int32_t *nb = a->mix_nb + (size_t)4 * n;
            neighbours(g, o + i, k, nb);
            gather(m->w.tok_embd, ids, nb, D, a->mix_in + (size_t)n * 4 * D);
            a->mix_rows[n++] = o + i;
        }
    }
    a->n_mix = n;
    if (!n) return;
    /* y = in · Wᵀ in block 0's norm buffer, free until its norm runs */
    float *y = a->L[0].xn1, *x = a->L[0].x;
    ts_gemm(pool, false, true, n, D, 4 * D, 1.0f, a->mix_in, 4 * D, m->w.grid_mix, 4 * D, 0.0f, y,
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
    const int D = m->c.d_model, n = a->n_mix;
    if (!n) return;
    /* dy: the grid codes' rows of dx, compact, in dxn (free by now) */
    float *dy = a->dxn;
    for (int j = 0; j < n; j++)
        memcpy(dy + (size_t)j * D, a->dx + (size_t)a->mix_rows[j] * D, sizeof(float) * D);
    /* dW += dyᵀ · in; then d(in) = dy · W, written over in (no longer needed) */
    ts_gemm(pool, true, false, D, 4 * D, n, 1.0f, dy, D, a->mix_in, 4 * D, 1.0f, g->grid_mix,
            4 * D);
    ts_gemm(pool, false, false, n, 4 * D, D, 1.0f, dy, D, m->w.grid_mix, 4 * D, 0.0f, a->mix_in,
            4 * D);
    for (int j = 0; j < n; j++)
        for (int t = 0; t < 4; t++) {
            const int32_t r = a->mix_nb[(size_t)4 * j + t];
            if (r < 0) continue;
            float *ge = g->tok_embd + (size_t)ids[r] * D;
            const float *din = a->mix_in + ((size_t)4 * j + t) * D;
            for (int d = 0; d < D; d++)
                ge[d] += din[d];
        }
}

void ts_grid_mix_token(const ts_model *m, const int32_t *ids, int i, float *in, float *x) {
    const ts_model_config *c = &m->c;
    const int D = c->d_model;
    const int k = ts_grid_cell(c, ids, i);
    if (k < 0) return;
    int32_t nb[4];
    neighbours(c->image_grid, i, k, nb);
    gather(m->w.tok_embd, ids, nb, D, in);
    float *y = in + (size_t)4 * D;
    ts_matvec(y, m->w.grid_mix, D, 4 * D, 4 * D, in);
    for (int d = 0; d < D; d++)
        x[d] += y[d];
}
