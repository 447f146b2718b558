/* The decoder's batched forward and backward passes over B sequences of T
 * tokens (llm.c style: one arena of activations, flat layer calls). */
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/rmsnorm.h"
#include "nn/rope.h"
#include "nn/swiglu.h"

/* ---- the activation arena ------------------------------------------------------ */

typedef struct {
    char *base;
    size_t off;
} bump;

static void *take(bump *b, size_t n, size_t elem) {
    size_t o = (b->off + 63) & ~(size_t)63;
    b->off = o + n * elem;
    return b->base ? b->base + o : NULL;
}
#define TAKE_F(b, n) ((float *)take(b, (size_t)(n), sizeof(float)))
#define TAKE_I(b, n) ((int32_t *)take(b, (size_t)(n), sizeof(int32_t)))

static int max_i(int a, int b) { return a > b ? a : b; }

static void layout(const ts_model *m, ts_acts *a, bump *b) {
    const ts_model_config *c = &m->c;
    const size_t B = (size_t)a->B, T = (size_t)a->T, N = B * T, D = (size_t)c->d_model;
    const size_t H = (size_t)c->n_heads, HD = H * (size_t)c->head_dim, QW = 3 * HD + H;
    const size_t E = (size_t)c->n_experts, K = (size_t)c->n_experts_used, Fe = (size_t)c->expert_hidden;
    const size_t Fmax = (size_t)max_i(c->n_dense_layers ? c->ffn_hidden : 1, c->n_shared ? c->expert_hidden : 1);
    bool any_moe = c->n_dense_layers < c->n_layers;
    int sets = a->train ? c->n_layers : 1;
    for (int l = 0; l < sets; l++) {
        ts_layer_acts *A = &a->L[l];
        A->x = TAKE_F(b, N * D);
        A->xn1 = TAKE_F(b, N * D);
        A->rstd1 = TAKE_F(b, N);
        A->qkvg = TAKE_F(b, N * QW);
        A->probs = TAKE_F(b, B * H * T * T);
        A->g = TAKE_F(b, N * H);
        A->atty = TAKE_F(b, N * HD);
        A->attg = TAKE_F(b, N * HD);
        A->x2 = TAKE_F(b, N * D);
        A->xn2 = TAKE_F(b, N * D);
        A->rstd2 = TAKE_F(b, N);
        A->h = TAKE_F(b, N * 2 * Fmax);
        A->a = TAKE_F(b, N * Fmax);
        memset(&A->ms, 0, sizeof A->ms);
        bool moe = a->train ? l >= c->n_dense_layers : any_moe;
        if (moe) {
            A->ms.s = TAKE_F(b, N * E);
            A->ms.sel = TAKE_I(b, N * K);
            A->ms.gw = TAKE_F(b, N * K);
            A->ms.row = TAKE_I(b, N * K);
            A->ms.tok = TAKE_I(b, N * K);
            A->ms.offs = TAKE_I(b, E + 1);
            A->ms.xg = TAKE_F(b, N * K * D);
            A->ms.h = TAKE_F(b, N * K * 2 * Fe);
            A->ms.a = TAKE_F(b, N * K * Fe);
            A->ms.y = TAKE_F(b, N * K * D);
        }
    }
    for (int l = sets; l < c->n_layers; l++) a->L[l] = a->L[0];
    a->xout = a->train ? TAKE_F(b, N * D) : a->L[0].x;
    a->xnf = TAKE_F(b, N * D);
    a->rstdf = TAKE_F(b, N);
    a->logits = TAKE_F(b, (a->logit_rows ? (size_t)a->logit_rows : N) * (size_t)c->vocab_size);
    a->losses = TAKE_F(b, N);
    a->pos = TAKE_I(b, N);
    a->rope_row = TAKE_I(b, N);
    a->rope_col = TAKE_I(b, N);
    a->hide = TAKE_I(b, 2 * N);
    if (c->grid_mix) {
        a->mix_rows = TAKE_I(b, N);
        a->mix_nb = TAKE_I(b, ts_grid_mix_width(c) * N);
        a->mix_in = TAKE_F(b, ts_grid_mix_width(c) * N * D);
    }
    if (a->train) {
        a->dx = TAKE_F(b, N * D);
        a->dxn = TAKE_F(b, N * D);
        a->dqkvg = TAKE_F(b, N * QW);
        a->datt = TAKE_F(b, N * HD);
        a->dbuf = TAKE_F(b, N * HD + B * H * 64 * T); /* + attention backward scratch */
        a->dh = TAKE_F(b, N * 2 * Fmax);
        a->da = TAKE_F(b, N * Fmax);
        if (any_moe) {
            a->moe_scratch = TAKE_F(b, N * K * (D + 3 * Fe));
            a->dgw = TAKE_F(b, N * K);
            a->dlogit_r = TAKE_F(b, N * E);
        }
    }
}

/* scratch (may be NULL): memory the caller keeps between calls, grown here
 * when too small; the activations then live in it and ts_acts_free leaves
 * it alone */
static ts_status acts_new(const ts_model *m, int B, int T, bool train, int logit_rows,
                          ts_scratch *scratch, ts_acts *a) {
    memset(a, 0, sizeof *a);
    if (B < 1 || T < 1 || T > m->c.context)
        return ts_fail(TS_ERR_USAGE, "model: %d tokens do not fit the context of %d", T,
                       m->c.context);
    a->B = B, a->T = T, a->train = train, a->logit_rows = logit_rows;
    a->L = calloc((size_t)m->c.n_layers, sizeof *a->L);
    if (!a->L) return ts_fail(TS_ERR_NOMEM, "model: out of memory for activations");
    bump b = {NULL, 0};
    layout(m, a, &b);
    const size_t n = b.off / sizeof(float) + 16;
    float *mem = scratch ? scratch->mem : NULL;
    if (!scratch || scratch->n < n) {
        mem = ts_alloc_floats(n);
        if (mem && scratch) free(scratch->mem), scratch->mem = mem, scratch->n = n;
    }
    if (!mem) {
        free(a->L);
        a->L = NULL;
        return ts_fail(TS_ERR_NOMEM, "model: out of memory for %zu MB of activations",
                       b.off >> 20);
    }
    a->mem = scratch ? NULL : mem;
    b = (bump){(char *)mem, 0};
    layout(m, a, &b);
    return TS_OK;
}

ts_status ts_acts_new(const ts_model *m, int B, int T, bool train, ts_acts *a) {
    return acts_new(m, B, T, train, 0, NULL, a);
}

ts_status ts_acts_new_head(const ts_model *m, int B, int T, int n_head, ts_scratch *scratch,
                           ts_acts *a) {
    return acts_new(m, B, T, false, n_head, scratch, a);
}

void ts_acts_free(ts_acts *a) {
    if (!a) return;
    free(a->mem);
    free(a->L);
    memset(a, 0, sizeof *a);
}

/* ---- attention over the pool: one task per (sequence, head) ----------------------- */

typedef struct {
    const ts_layer_acts *A;
    float *dqkvg, *datty, *scratch;
    const int32_t *hide;
    int T, H, hd;
} attn_job;

static void attn_fwd_task(void *vctx, int i, int n, int worker) {
    const attn_job *j = vctx;
    int b = i / j->H, h = i % j->H, HD = j->H * j->hd, QW = 3 * HD + j->H;
    const float *q = j->A->qkvg + (size_t)b * j->T * QW + (size_t)h * j->hd;
    ts_attention_head_forward(j->A->atty + (size_t)b * j->T * HD + (size_t)h * j->hd, HD,
                              j->A->probs + (size_t)i * j->T * j->T, q, q + HD, q + 2 * HD, QW,
                              j->T, j->hd, j->hide + (size_t)b * j->T * 2);
}

static void attn_bwd_task(void *vctx, int i, int n, int worker) {
    const attn_job *j = vctx;
    int b = i / j->H, h = i % j->H, HD = j->H * j->hd, QW = 3 * HD + j->H;
    size_t qo = (size_t)b * j->T * QW + (size_t)h * j->hd;
    const float *q = j->A->qkvg + qo;
    float *dq = j->dqkvg + qo;
    ts_attention_head_backward(dq, dq + HD, dq + 2 * HD, QW,
                               j->datty + (size_t)b * j->T * HD + (size_t)h * j->hd, HD,
                               j->A->probs + (size_t)i * j->T * j->T, q, q + HD, q + 2 * HD,
                               j->T, j->hd, j->scratch + (size_t)i * 64 * j->T);
}

/* ---- the row-wise layers over the pool --------------------------------------------------- */

/* RMSNorm, RoPE, the DRA gate and the zeroing around them touch each row on
 * its own, so each pool task takes a contiguous block of rows; a weight
 * gradient summed over rows (RMSNorm's w, the gate bias) is split by
 * columns instead, each column summed over all rows in row order. Either
 * split gives the same bytes as one thread. */
typedef enum { NORM_FWD, NORM_BWD, PRE_ATTN, GATE_FWD, GATE_BWD, POST_ATTN_BWD } rows_op;

typedef struct {
    rows_op op;
    const ts_model *m;
    const ts_acts *a;
    ts_layer_acts *A;
    const ts_layer_w *W;
    const ts_layer_w *G;
    /* NORM_*: out/dinp, rstd, inp, dout, w, dw over N rows of C */
    float *out, *rstd, *dw;
    const float *inp, *dout, *w;
    int N, C, parts;
    float eps, dpen;
} rows_job;

static void rows_part(void *vctx, int p, int np, int worker) {
    const rows_job *j = vctx;
    const ts_model_config *c = j->m ? &j->m->c : NULL; /* NULL for the NORM_ jobs */
    const int H = c ? c->n_heads : 0, hd = c ? c->head_dim : 0, HD = H * hd, QW = 3 * HD + H;
    const int n0 = ts_part_begin(j->N, p, j->parts), n1 = ts_part_begin(j->N, p + 1, j->parts);
    const int n = n1 - n0;
    const ts_acts *a = j->a;
    const int32_t *row = a ? a->rope_row + n0 : NULL;
    const int32_t *col = a && a->rope_col ? a->rope_col + n0 : NULL;
    switch (j->op) {
    case NORM_FWD:
        ts_rmsnorm_forward(j->out + (size_t)n0 * j->C, j->rstd ? j->rstd + n0 : NULL,
                           j->inp + (size_t)n0 * j->C, j->w, n, j->C, j->eps);
        break;
    case NORM_BWD: {
        size_t o = (size_t)n0 * j->C;
        ts_rmsnorm_backward_rows(j->out + o, j->dout + o, j->inp + o, j->w, j->rstd + n0, n, j->C);
        int c0 = ts_part_begin(j->C, p, j->parts), c1 = ts_part_begin(j->C, p + 1, j->parts);
        if (j->dw) ts_rmsnorm_backward_dw(j->dw, j->dout, j->inp, j->rstd, j->N, j->C, c0, c1);
        break;
    }
    case PRE_ATTN: { /* the gate bias, then q and k turned by their positions */
        float *x = j->A->qkvg + (size_t)n0 * QW;
        for (int r = 0; r < n; r++)
            for (int h = 0; h < H; h++)
                x[(size_t)r * QW + 3 * HD + h] += j->W->bgate[h];
        ts_rope_forward(x, QW, n, H, hd, row, col, j->m->rope_cos, j->m->rope_sin);
        ts_rope_forward(x + HD, QW, n, H, hd, row, col, j->m->rope_cos, j->m->rope_sin);
        break;
    }
    case GATE_FWD:
        ts_dra_gate_forward(j->A->attg + (size_t)n0 * HD, j->A->g + (size_t)n0 * H,
                            j->A->qkvg + (size_t)n0 * QW + 3 * HD, QW, j->A->atty + (size_t)n0 * HD,
                            n, H, hd);
        break;
    case GATE_BWD: /* dqkvg's rows zeroed; the gate's columns and datty written */
        memset(a->dqkvg + (size_t)n0 * QW, 0, sizeof(float) * (size_t)n * QW);
        ts_dra_gate_backward(a->dbuf + (size_t)n0 * HD, a->dqkvg + (size_t)n0 * QW + 3 * HD, QW,
                             a->datt + (size_t)n0 * HD, j->A->atty + (size_t)n0 * HD,
                             j->A->g + (size_t)n0 * H, n, H, hd, j->dpen);
        break;
    case POST_ATTN_BWD: { /* dq and dk turned back; dxn zeroed; the gate bias's gradient */
        float *dx = a->dqkvg + (size_t)n0 * QW;
        ts_rope_backward(dx, QW, n, H, hd, row, col, j->m->rope_cos, j->m->rope_sin);
        ts_rope_backward(dx + HD, QW, n, H, hd, row, col, j->m->rope_cos, j->m->rope_sin);
        memset(a->dxn + (size_t)n0 * c->d_model, 0, sizeof(float) * (size_t)n * c->d_model);
        int h0 = ts_part_begin(H, p, j->parts), h1 = ts_part_begin(H, p + 1, j->parts);
        for (int h = h0; h < h1; h++) {
            float s = 0;
            for (int r = 0; r < j->N; r++)
                s += a->dqkvg[(size_t)r * QW + 3 * HD + h];
            j->G->bgate[h] += s;
        }
        break;
    }
    }
}

static void rows_pool(ts_pool *pool, rows_job *j) {
    j->parts = ts_pool_threads(pool);
    if (j->parts > j->N / 16) j->parts = 1; /* too few rows to share */
    ts_pool_run(j->parts > 1 ? pool : NULL, j->parts, rows_part, j);
}

static void norm_forward(ts_pool *pool, float *out, float *rstd, const float *inp, const float *w,
                         int N, int C, float eps) {
    rows_job j = {
        .op = NORM_FWD, .out = out, .rstd = rstd, .inp = inp, .w = w, .N = N, .C = C, .eps = eps};
    rows_pool(pool, &j);
}

/* dinp[N,C] += and dw[C] += */
static void norm_backward(ts_pool *pool, float *dinp, float *dw, const float *dout,
                          const float *inp, const float *w, const float *rstd, int N, int C) {
    rows_job j = {.op = NORM_BWD,
                  .out = dinp,
                  .dw = dw,
                  .dout = dout,
                  .inp = inp,
                  .w = w,
                  .rstd = (float *)rstd,
                  .N = N,
                  .C = C};
    rows_pool(pool, &j);
}

/* ---- SwiGLU rows over the pool --------------------------------------------------------- */

typedef struct {
    float *out;
    const float *in, *h;
    int N, F, parts;
    bool backward;
} swiglu_job;

static void swiglu_part(void *vctx, int p, int np, int worker) {
    const swiglu_job *j = vctx;
    int n0 = ts_part_begin(j->N, p, j->parts), n1 = ts_part_begin(j->N, p + 1, j->parts);
    if (j->backward)
        ts_swiglu_backward(j->out + (size_t)n0 * 2 * j->F, j->in + (size_t)n0 * j->F,
                           j->h + (size_t)n0 * 2 * j->F, n1 - n0, j->F);
    else
        ts_swiglu_forward(j->out + (size_t)n0 * j->F, j->h + (size_t)n0 * 2 * j->F, n1 - n0, j->F);
}

static void swiglu_pool(ts_pool *pool, bool backward, float *out, const float *in,
                        const float *h, int N, int F) {
    swiglu_job j = {out, in, h, N, F, ts_pool_threads(pool), backward};
    if (j.parts > N) j.parts = 1;
    ts_pool_run(j.parts > 1 ? pool : NULL, j.parts, swiglu_part, &j);
}

/* ---- forward ------------------------------------------------------------------------ */

static void swiglu_ffn_forward(ts_pool *pool, float *out, float *h, float *act, const float *x,
                               const float *w13, const float *w2, int N, int D, int F) {
    ts_linear_forward(pool, h, x, w13, NULL, N, D, 2 * F);
    swiglu_pool(pool, false, act, NULL, h, N, F);
    ts_gemm(pool, false, true, N, D, F, 1.0f, act, F, w2, F, 1.0f, out, D);
}

/* ---- the last block on the head's rows ------------------------------------------------ */

/* Only the head's rows of the last block's output reach the loss, so with
 * head_rows set that block runs attention on all N rows (their keys and
 * values are read) but its output projection and FFN on those rows alone,
 * kept compact in the first n_head rows of its buffers. */
int ts_acts_block_rows(const ts_model *m, const ts_acts *a, int l) {
    return a->head_rows && l == m->c.n_layers - 1 ? a->n_head : a->B * a->T;
}

/* rows rows[0..R) (ascending) of x [.., w] move to rows 0..R-1, in place */
static void compact_rows(float *x, int w, const int32_t *rows, int R) {
    for (int r = 0; r < R; r++)
        if (rows[r] != r) memcpy(x + (size_t)r * w, x + (size_t)rows[r] * w, sizeof(float) * w);
}

/* the inverse, with zeros in the rows of [0, N) that rows[] does not name */
static void expand_rows(float *x, int w, const int32_t *rows, int R, int N) {
    int next = N; /* rows from next on are done */
    for (int r = R - 1; r >= 0; r--) {
        int dst = rows[r];
        memset(x + (size_t)(dst + 1) * w, 0, sizeof(float) * w * (size_t)(next - dst - 1));
        if (dst != r) memcpy(x + (size_t)dst * w, x + (size_t)r * w, sizeof(float) * w);
        next = dst;
    }
    memset(x, 0, sizeof(float) * w * (size_t)next);
}

void ts_model_forward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                      bool keep_routing) {
    const ts_model_config *c = &m->c;
    const int N = a->B * a->T, D = c->d_model, H = c->n_heads, hd = c->head_dim;
    const int HD = H * hd, QW = 3 * HD + H;
    const ts_moe_dims md = ts_model_moe_dims(c);
    if (!a->custom_layout)
        for (int n = 0; n < N; n++)
            a->pos[n] = n % a->T, a->hide[2 * n] = a->hide[2 * n + 1] = 0;
    for (int b = 0; b < a->B; b++) {
        size_t o = (size_t)b * a->T;
        ts_grid_positions(c, ids + o, a->pos + o, a->T, a->rope_row + o, a->rope_col + o);
    }
    ts_embedding_forward(a->L[0].x, ids, m->w.tok_embd, N, D);
    if (c->grid_mix) ts_grid_mix_forward(m, pool, a, ids);
    for (int l = 0; l < c->n_layers; l++) {
        ts_layer_acts *A = &a->L[l];
        const ts_layer_w *W = &m->w.L[l];
        float *out = l + 1 < c->n_layers ? a->L[l + 1].x : a->xout;
        /* x2 = x + Attn(RMSNorm(x)) */
        norm_forward(pool, A->xn1, A->rstd1, A->x, W->attn_norm, N, D, c->norm_eps);
        ts_linear_forward(pool, A->qkvg, A->xn1, W->wqkvg, NULL, N, D, QW);
        rows_job rj = {.op = PRE_ATTN, .m = m, .a = a, .A = A, .W = W, .N = N};
        rows_pool(pool, &rj);
        attn_job aj = {A, NULL, NULL, NULL, a->hide, a->T, H, hd};
        ts_pool_run(pool, a->B * H, attn_fwd_task, &aj);
        rj.op = GATE_FWD;
        rows_pool(pool, &rj);
        if (a->kcache)
            for (int n = 0; n < N; n++) {
                const int b = n / a->T;
                size_t o = ((size_t)l * a->cache_len + n % a->T) * HD;
                memcpy(a->kcache[b] + o, A->qkvg + (size_t)n * QW + HD, sizeof(float) * HD);
                memcpy(a->vcache[b] + o, A->qkvg + (size_t)n * QW + 2 * HD, sizeof(float) * HD);
            }
        /* the rest on M rows: all N, or the head's rows of the last block */
        const int M = ts_acts_block_rows(m, a, l);
        if (M < N) {
            compact_rows(A->attg, HD, a->head_rows, M);
            for (int r = 0; r < M; r++)
                memcpy(A->x2 + (size_t)r * D, A->x + (size_t)a->head_rows[r] * D,
                       sizeof(float) * D);
        } else {
            memcpy(A->x2, A->x, sizeof(float) * (size_t)N * D);
        }
        ts_gemm(pool, false, true, M, D, HD, 1.0f, A->attg, HD, W->wo, HD, 1.0f, A->x2, D);
        /* out = x2 + FFN(RMSNorm(x2)) */
        norm_forward(pool, A->xn2, A->rstd2, A->x2, W->ffn_norm, M, D, c->norm_eps);
        memcpy(out, A->x2, sizeof(float) * (size_t)M * D);
        if (!W->moe) {
            swiglu_ffn_forward(pool, out, A->h, A->a, A->xn2, W->w13, W->w2, M, D, c->ffn_hidden);
        } else {
            if (c->n_shared)
                swiglu_ffn_forward(pool, out, A->h, A->a, A->xn2, W->sw13, W->sw2, M, D,
                                   c->expert_hidden);
            ts_moe_route(pool, &A->ms, A->xn2, W->router, W->rbias, M, md, keep_routing);
            ts_moe_experts_forward(pool, out, &A->ms, A->xn2, W->ew1, W->ew3, W->ew2, M, md);
        }
    }
    /* xout holds the head's rows, compact, when head_rows is set */
    const int M = ts_acts_block_rows(m, a, c->n_layers - 1);
    norm_forward(pool, a->xnf, a->rstdf, a->xout, m->w.out_norm, M, D, c->norm_eps);
    if (M) ts_linear_forward(pool, a->logits, a->xnf, m->w.output, NULL, M, D, c->vocab_size);
}

/* ---- backward ----------------------------------------------------------------------- */

static void swiglu_ffn_backward(ts_pool *pool, float *dx, float *dw13, float *dw2,
                                const float *dout, const float *h, const float *act,
                                const float *x, const float *w13, const float *w2, float *dh,
                                float *da, int N, int D, int F) {
    ts_gemm(pool, false, false, N, F, D, 1.0f, dout, D, w2, F, 0.0f, da, F);
    ts_gemm(pool, true, false, D, F, N, 1.0f, dout, D, act, F, 1.0f, dw2, F);
    swiglu_pool(pool, true, dh, da, h, N, F);
    ts_linear_backward(pool, dx, dw13, NULL, dh, x, w13, N, D, 2 * F);
}

void ts_model_backward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                       const ts_weights *g, float gate_dpen, float alpha) {
    const ts_model_config *c = &m->c;
    const int N = a->B * a->T, D = c->d_model, H = c->n_heads, hd = c->head_dim, V = c->vocab_size;
    const int HD = H * hd, QW = 3 * HD + H;
    const ts_moe_dims md = ts_model_moe_dims(c);
    const size_t ND = (size_t)N * D;
    /* head: logits = xnf · outputᵀ (a->logits holds dlogits now); with
     * head_rows, xnf, xout and the last block's rows are the head's, compact */
    int M = ts_acts_block_rows(m, a, c->n_layers - 1);
    if (M) {
        ts_gemm(pool, false, false, M, D, V, 1.0f, a->logits, V, m->w.output, D, 0.0f, a->dxn, D);
        ts_gemm(pool, true, false, V, D, M, 1.0f, a->logits, V, a->xnf, D, 1.0f, g->output, D);
    }
    memset(a->dx, 0, sizeof(float) * ND);
    norm_backward(pool, a->dx, g->out_norm, a->dxn, a->xout, m->w.out_norm, a->rstdf, M, D);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        const ts_layer_acts *A = &a->L[l];
        const ts_layer_w *W = &m->w.L[l];
        const ts_layer_w *G = &g->L[l];
        M = ts_acts_block_rows(m, a, l);
        /* FFN: dx holds dL/d(out); out = x2 + FFN(xn2), on M rows */
        memset(a->dxn, 0, sizeof(float) * ND);
        if (!W->moe) {
            swiglu_ffn_backward(pool, a->dxn, G->w13, G->w2, a->dx, A->h, A->a, A->xn2, W->w13,
                                W->w2, a->dh, a->da, M, D, c->ffn_hidden);
        } else {
            if (c->n_shared)
                swiglu_ffn_backward(pool, a->dxn, G->sw13, G->sw2, a->dx, A->h, A->a, A->xn2,
                                    W->sw13, W->sw2, a->dh, a->da, M, D, c->expert_hidden);
            ts_moe_experts_backward(pool, a->dxn, G->ew1, G->ew3, G->ew2, a->dgw, a->dx, &A->ms,
                                    W->ew1, W->ew3, W->ew2, M, md, a->moe_scratch);
            /* the head's rows balance as one group: they are not whole sequences */
            if (M)
                ts_moe_route_backward(pool, a->dxn, G->router, &A->ms, a->dgw, A->xn2, W->router, M,
                                      M < N ? M : a->T, alpha, md, a->dlogit_r);
        }
        norm_backward(pool, a->dx, G->ffn_norm, a->dxn, A->x2, W->ffn_norm, A->rstd2, M, D);
        /* attention: x2 = x + attg · woᵀ; then back to all N rows */
        ts_gemm(pool, false, false, M, HD, D, 1.0f, a->dx, D, W->wo, HD, 0.0f, a->datt, HD);
        ts_gemm(pool, true, false, D, HD, M, 1.0f, a->dx, D, A->attg, HD, 1.0f, G->wo, HD);
        if (M < N) {
            expand_rows(a->dx, D, a->head_rows, M, N);
            expand_rows(a->datt, HD, a->head_rows, M, N);
        }
        /* datty (in dbuf) and the gate's columns of dqkvg, its other columns zeroed */
        rows_job rj = {.op = GATE_BWD,
                       .m = m,
                       .a = a,
                       .A = (ts_layer_acts *)A,
                       .G = G,
                       .N = N,
                       .dpen = gate_dpen};
        rows_pool(pool, &rj);
        float *datty = a->dbuf, *att_scratch = a->dbuf + (size_t)N * HD;
        attn_job aj = {A, a->dqkvg, datty, att_scratch, a->hide, a->T, H, hd};
        ts_pool_run(pool, a->B * H, attn_bwd_task, &aj);
        rj.op = POST_ATTN_BWD; /* and dxn zeroed */
        rows_pool(pool, &rj);
        ts_linear_backward(pool, a->dxn, G->wqkvg, NULL, a->dqkvg, A->xn1, W->wqkvg, N, D, QW);
        norm_backward(pool, a->dx, G->attn_norm, a->dxn, A->x, W->attn_norm, A->rstd1, N, D);
    }
    if (c->grid_mix) ts_grid_mix_backward(m, pool, a, ids, g);
    ts_embedding_backward(g->tok_embd, a->dx, ids, N, D);
}
