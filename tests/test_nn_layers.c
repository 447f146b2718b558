/* nn/ layers of the decoder: each forward against a naive reference, each
 * backward against central finite differences (losses accumulated in
 * double, small sizes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/cross_entropy.h"
#include "nn/embedding.h"
#include "nn/fastexp.h"
#include "nn/linear.h"
#include "nn/moe.h"
#include "nn/rmsnorm.h"
#include "nn/rope.h"
#include "nn/swiglu.h"
#include "tessera.h"
#include "tests/gradcheck.h"
#include "tests/testutil.h"

#define GC_TOL 2e-2

static float *randn(ts_rng *r, size_t n, float sd) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = sd * ts_rng_normal(r);
    return x;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* Σ out·R in double: the scalar the gradchecks differentiate */
static double project(const float *out, const float *R, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * R[i];
    return s;
}

static void assert_close(const float *a, const double *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > tol * (1 + fabs(b[i]))) {
            fail_msg("element %zu: %.7g vs reference %.7g", i, a[i], b[i]);
        }
}

/* ---- linear ----------------------------------------------------------------------- */

typedef struct {
    float *out, *inp, *W, *b, *R;
    int N, IC, OC;
} lin_ctx;

static double lin_loss(void *v) {
    lin_ctx *c = v;
    ts_linear_forward(NULL, c->out, c->inp, c->W, c->b, c->N, c->IC, c->OC);
    return project(c->out, c->R, (size_t)c->N * c->OC);
}

static void test_linear(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 1);
    int N = 7, IC = 13, OC = 5;
    lin_ctx c = {zeros(N * OC), randn(&r, N * IC, 1), randn(&r, OC * IC, 0.5f), randn(&r, OC, 1),
                 randn(&r, N * OC, 1), N, IC, OC};
    lin_loss(&c);
    double ref[7 * 5];
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = c.b[o];
            for (int i = 0; i < IC; i++) s += (double)c.inp[n * IC + i] * c.W[o * IC + i];
            ref[n * OC + o] = s;
        }
    assert_close(c.out, ref, N * OC, 1e-5);
    /* the pool's row split gives the same bytes */
    ts_pool *p = ts_pool_new(2);
    float *out2 = zeros(N * OC);
    ts_linear_forward(p, out2, c.inp, c.W, c.b, N, IC, OC);
    assert_memory_equal(out2, c.out, sizeof(float) * N * OC);
    float *di = zeros(N * IC), *dW = zeros(OC * IC), *db = zeros(OC);
    ts_linear_backward(p, di, dW, db, c.R, c.inp, c.W, N, IC, OC);
    assert_true(tu_gradcheck(lin_loss, &c, c.inp, di, N * IC, 1e-2f, 100, 1e-3, "linear dinp") < GC_TOL);
    assert_true(tu_gradcheck(lin_loss, &c, c.W, dW, OC * IC, 1e-2f, 100, 1e-3, "linear dW") < GC_TOL);
    assert_true(tu_gradcheck(lin_loss, &c, c.b, db, OC, 1e-2f, 100, 1e-3, "linear db") < GC_TOL);
    ts_pool_free(p);
    free(c.out), free(c.inp), free(c.W), free(c.b), free(c.R), free(out2), free(di), free(dW), free(db);
}

/* ---- RMSNorm ------------------------------------------------------------------------ */

typedef struct {
    float *out, *rstd, *inp, *w, *R;
    int N, C;
} rms_ctx;

static double rms_loss(void *v) {
    rms_ctx *c = v;
    ts_rmsnorm_forward(c->out, c->rstd, c->inp, c->w, c->N, c->C, 1e-5f);
    return project(c->out, c->R, (size_t)c->N * c->C);
}

static void test_rmsnorm(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 2);
    int N = 5, C = 16;
    rms_ctx c = {zeros(N * C), zeros(N), randn(&r, N * C, 2), randn(&r, C, 1), randn(&r, N * C, 1), N, C};
    rms_loss(&c);
    double ref[5 * 16];
    for (int n = 0; n < N; n++) {
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)c.inp[n * C + i] * c.inp[n * C + i];
        double rr = 1 / sqrt(ss / C + 1e-5);
        for (int i = 0; i < C; i++) ref[n * C + i] = c.inp[n * C + i] * rr * c.w[i];
    }
    assert_close(c.out, ref, N * C, 1e-5);
    float *di = zeros(N * C), *dw = zeros(C);
    ts_rmsnorm_backward(di, dw, c.R, c.inp, c.w, c.rstd, N, C);
    assert_true(tu_gradcheck(rms_loss, &c, c.inp, di, N * C, 1e-2f, 80, 1e-3, "rmsnorm dinp") < GC_TOL);
    assert_true(tu_gradcheck(rms_loss, &c, c.w, dw, C, 1e-2f, 80, 1e-3, "rmsnorm dw") < GC_TOL);
    free(c.out), free(c.rstd), free(c.inp), free(c.w), free(c.R), free(di), free(dw);
}

/* ---- RoPE ---------------------------------------------------------------------------- */

typedef struct {
    float *x, *orig, *R, *cosv, *sinv;
    int32_t pos[6], *col; /* row positions (even pairs), column positions (odd; NULL: pos) */
    int N, H, hd, ld;
} rope_ctx;

static double rope_loss(void *v) {
    rope_ctx *c = v;
    memcpy(c->x, c->orig, sizeof(float) * (size_t)c->N * c->ld);
    ts_rope_forward(c->x, c->ld, c->N, c->H, c->hd, c->pos, c->col, c->cosv, c->sinv);
    return project(c->x, c->R, (size_t)c->N * c->ld);
}

/* q·k of q rotated at (r1, c1) and k at (r2, c2), for one head of hd */
static double rope_dot(const rope_ctx *c, const float *q, const float *k, int r1, int c1, int r2,
                       int c2) {
    float a[32], b[32];
    int32_t pr[2] = {r1, r2}, pc[2] = {c1, c2};
    memcpy(a, q, sizeof(float) * c->hd), memcpy(b, k, sizeof(float) * c->hd);
    ts_rope_forward(a, c->hd, 1, 1, c->hd, &pr[0], &pc[0], c->cosv, c->sinv);
    ts_rope_forward(b, c->hd, 1, 1, c->hd, &pr[1], &pc[1], c->cosv, c->sinv);
    double d = 0;
    for (int i = 0; i < c->hd; i++)
        d += (double)a[i] * b[i];
    return d;
}

static void test_rope(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 3);
    int N = 6, H = 2, hd = 8, ld = 20; /* 4 trailing columns untouched */
    int32_t col[6] = {0, 3, 5, 9, 40, 2};
    rope_ctx c = {zeros(N * ld),
                  randn(&r, N * ld, 1),
                  randn(&r, N * ld, 1),
                  zeros(64 * 4),
                  zeros(64 * 4),
                  {0, 1, 5, 17, 40, 63},
                  NULL,
                  N,
                  H,
                  hd,
                  ld};
    ts_rope_table(c.cosv, c.sinv, 64, hd, 10000.0f);
    for (int two_d = 0; two_d < 2; two_d++) {
        c.col = two_d ? col : NULL;
        rope_loss(&c);
        for (int n = 0; n < N; n++) {
            for (int h = 0; h < H; h++)
                for (int i = 0; i < hd / 2; i++) {
                    int p = two_d && i % 2 ? col[n] : c.pos[n]; /* odd pairs: the column */
                    double ang = p * pow(10000.0, -2.0 * i / hd);
                    const float *o = c.orig + n * ld + h * hd + 2 * i;
                    double re = o[0] * cos(ang) - o[1] * sin(ang),
                           im = o[0] * sin(ang) + o[1] * cos(ang);
                    assert_true(fabs(c.x[n * ld + h * hd + 2 * i] - re) < 1e-4);
                    assert_true(fabs(c.x[n * ld + h * hd + 2 * i + 1] - im) < 1e-4);
                }
            for (int i = H * hd; i < ld; i++)
                assert_true(c.x[n * ld + i] == c.orig[n * ld + i]);
        }
        /* backward = the transpose rotation; check it on the input */
        float *d = zeros(N * ld);
        memcpy(d, c.R, sizeof(float) * N * ld);
        ts_rope_backward(d, ld, N, H, hd, c.pos, c.col, c.cosv, c.sinv);
        assert_true(tu_gradcheck(rope_loss, &c, c.orig, d, N * ld, 1e-2f, 120, 1e-3, "rope") <
                    GC_TOL);
        free(d);
    }
    /* q·k depends on the offsets along each axis only, and on both */
    const float *q = c.orig, *k = c.orig + ld;
    double base = rope_dot(&c, q, k, 3, 5, 6, 4);
    assert_true(fabs(rope_dot(&c, q, k, 10, 20, 13, 19) - base) < 1e-4);
    assert_true(fabs(rope_dot(&c, q, k, 3, 5, 6, 6) - base) > 1e-3);
    assert_true(fabs(rope_dot(&c, q, k, 3, 5, 7, 4) - base) > 1e-3);
    /* equal row and column positions: exactly 1-D RoPE */
    float *one = zeros(N * ld);
    memcpy(one, c.orig, sizeof(float) * N * ld);
    ts_rope_forward(one, ld, N, H, hd, c.pos, c.pos, c.cosv, c.sinv);
    c.col = NULL;
    rope_loss(&c);
    assert_memory_equal(one, c.x, sizeof(float) * N * ld);
    free(one);
    free(c.x), free(c.orig), free(c.R), free(c.cosv), free(c.sinv);
}

/* ---- attention ----------------------------------------------------------------------- */

typedef struct {
    float *qkv, *out, *probs, *R;
    const int32_t *hide;
    int T, hd, ld;
} att_ctx;

static double att_loss(void *v) {
    att_ctx *c = v;
    ts_attention_head_forward(c->out, c->hd, c->probs, c->qkv, c->qkv + c->hd, c->qkv + 2 * c->hd,
                              c->ld, c->T, c->hd, c->hide);
    return project(c->out, c->R, (size_t)c->T * c->hd);
}

/* ts_expf against exp in double over the whole float range it serves, and
 * at its edges: within 2e-7 relative, exactly 1 at 0, 0 at −inf and far
 * below, finite far above, NaN for NaN; the sigmoid is 1/2 at 0 and
 * saturates cleanly. */
static void test_fast_exp(void **state) {
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.00731f) {
        double e = exp((double)x);
        worst = fmax(worst, fabs(ts_expf(x) - e) / e);
    }
    assert_true(worst < 2e-7);
    assert_true(ts_expf(0.0f) == 1.0f);
    assert_true(ts_expf(-INFINITY) == 0.0f && ts_expf(-200.0f) == 0.0f);
    assert_true(isfinite(ts_expf(1000.0f)) && ts_expf(1000.0f) > 1e38f);
    assert_true(isnan(ts_expf(NAN)) && isnan(ts_sigmoidf(NAN)));
    assert_true(ts_sigmoidf(0.0f) == 0.5f);
    assert_true(ts_sigmoidf(-1000.0f) >= 0.0f && ts_sigmoidf(-1000.0f) < 1e-37f);
    assert_true(ts_sigmoidf(1000.0f) == 1.0f);
}

/* Plain causal attention, then with hidden key spans: from row 12 on keys
 * [5, 12) are hidden, and from row 50 on keys [20, 50), a span that crosses
 * the first row block. */
static void test_attention_head(void **state) {
    for (int hidden = 0; hidden < 2; hidden++) {
        ts_rng r;
        ts_rng_seed(&r, 4);
        int T = 70, hd = 8, ld = 3 * hd + 2; /* two row blocks of the blocked GEMMs */
        int32_t hide[2 * 70];
        for (int t = 0; t < T; t++) {
            hide[2 * t] = t >= 50 ? 20 : t >= 12 ? 5 : 0;
            hide[2 * t + 1] = t >= 50 ? 50 : t >= 12 ? 12 : 0;
        }
        att_ctx c = {.qkv = randn(&r, T * ld, 1), .out = zeros(T * hd), .probs = zeros(T * T),
                     .R = randn(&r, T * hd, 1), .hide = hidden ? hide : NULL, .T = T, .hd = hd,
                     .ld = ld};
        att_loss(&c);
        /* naive reference in double */
        for (int t = 0; t < T; t++) {
            double sc[70], mx = -1e30, sum = 0;
            bool seen[70];
            for (int s = 0; s <= t; s++) {
                seen[s] = !hidden || s < hide[2 * t] || s >= hide[2 * t + 1];
                double d = 0;
                for (int i = 0; i < hd; i++)
                    d += (double)c.qkv[t * ld + i] * c.qkv[s * ld + hd + i];
                sc[s] = d / sqrt(hd);
                if (seen[s]) mx = fmax(mx, sc[s]);
            }
            for (int s = 0; s <= t; s++)
                sum += (sc[s] = seen[s] ? exp(sc[s] - mx) : 0);
            for (int s = 0; s < T; s++)
                if (s > t || !seen[s]) assert_true(c.probs[t * T + s] == 0.0f);
            for (int i = 0; i < hd; i++) {
                double o = 0;
                for (int s = 0; s <= t; s++)
                    o += sc[s] / sum * c.qkv[s * ld + 2 * hd + i];
                assert_true(fabs(c.out[t * hd + i] - o) < 1e-5);
            }
        }
        if (!hidden) {
            /* the single-query path used with the KV cache agrees with the last row */
            float q1[8], scores[70];
            ts_attention_query(q1, c.qkv + (T - 1) * ld, c.qkv + hd, c.qkv + 2 * hd, ld, T, hd,
                               scores);
            for (int i = 0; i < hd; i++)
                assert_true(fabs(q1[i] - c.out[(T - 1) * hd + i]) < 1e-6);
        }
        float *d = zeros(T * ld), *scratch = zeros(64 * T);
        ts_attention_head_backward(d, d + hd, d + 2 * hd, ld, c.R, hd, c.probs, c.qkv, c.qkv + hd,
                                   c.qkv + 2 * hd, T, hd, scratch);
        for (int t = 0; t < T; t++)
            for (int i = 3 * hd; i < ld; i++)
                assert_true(d[t * ld + i] == 0.0f);
        /* atol 1e-2: the float forward's rounding over eps = 1e-2 is ~1e-4 of
         * slope (the BLAS kernels the CPU picks set it), too much for the
         * smallest gradients at 1e-3 */
        assert_true(tu_gradcheck(att_loss, &c, c.qkv, d, T * ld, 1e-2f, 300, 1e-2,
                                 hidden ? "attention, hidden spans" : "attention") < GC_TOL);
        free(c.qkv), free(c.out), free(c.probs), free(c.R), free(d), free(scratch);
    }
}

/* ---- DRA gates ------------------------------------------------------------------------ */

typedef struct {
    float *y, *g, *logit, *x, *R;
    int N, H, hd;
    float lambda;
} dra_ctx;

static double dra_loss(void *v) {
    dra_ctx *c = v;
    ts_dra_gate_forward(c->y, c->g, c->logit, c->H, c->x, c->N, c->H, c->hd);
    double pen = 0;
    for (int i = 0; i < c->N * c->H; i++) pen += c->g[i];
    return project(c->y, c->R, (size_t)c->N * c->H * c->hd) + c->lambda * pen / (c->N * c->H);
}

static void test_dra_gates(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 5);
    int N = 4, H = 3, hd = 4, HD = H * hd;
    dra_ctx c = {zeros(N * HD), zeros(N * H), zeros(N * H), randn(&r, N * HD, 1), randn(&r, N * HD, 1), N, H, hd, 0.7f};
    /* open gates, away from the threshold, so finite differences see the
     * same [g > 0.5] = 1 the straight-through backward assumes */
    for (int i = 0; i < N * H; i++) c.logit[i] = 0.5f + ts_rng_uniform(&r) * 2;
    dra_loss(&c);
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            double g = 1 / (1 + exp(-c.logit[n * H + h]));
            for (int i = 0; i < hd; i++)
                assert_true(fabs(c.y[(n * H + h) * hd + i] - c.x[(n * H + h) * hd + i] * g) < 1e-6);
        }
    float *dx = zeros(N * HD), *dl = zeros(N * H);
    ts_dra_gate_backward(dx, dl, H, c.R, c.x, c.g, N, H, hd, c.lambda / (N * H));
    assert_true(tu_gradcheck(dra_loss, &c, c.x, dx, N * HD, 1e-2f, 100, 1e-3, "dra dx") < GC_TOL);
    assert_true(tu_gradcheck(dra_loss, &c, c.logit, dl, N * H, 1e-2f, 100, 1e-3, "dra dlogit") < GC_TOL);
    /* a closed head contributes exactly nothing, yet its gate still gets a
     * gradient (straight-through) so it can reopen */
    c.logit[1] = -1.0f;
    dra_loss(&c);
    for (int i = 0; i < hd; i++) assert_true(c.y[1 * hd + i] == 0.0f);
    ts_dra_gate_backward(dx, dl, H, c.R, c.x, c.g, N, H, hd, 0.0f);
    for (int i = 0; i < hd; i++) assert_true(dx[1 * hd + i] == 0.0f);
    double dm = 0;
    for (int i = 0; i < hd; i++) dm += (double)c.R[hd + i] * c.x[hd + i];
    double gv = 1 / (1 + exp(1.0));
    assert_true(fabs(dl[1] - dm * gv * (1 - gv)) < 1e-5);
    assert_true(dl[1] != 0.0f);
    free(c.y), free(c.g), free(c.logit), free(c.x), free(c.R), free(dx), free(dl);
}

/* ---- SwiGLU ----------------------------------------------------------------------------- */

typedef struct {
    float *a, *h, *R;
    int N, F;
} sw_ctx;

static double sw_loss(void *v) {
    sw_ctx *c = v;
    ts_swiglu_forward(c->a, c->h, c->N, c->F);
    return project(c->a, c->R, (size_t)c->N * c->F);
}

static void test_swiglu(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 6);
    int N = 5, F = 6;
    sw_ctx c = {zeros(N * F), randn(&r, N * 2 * F, 2), randn(&r, N * F, 1), N, F};
    sw_loss(&c);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < F; i++) {
            double h1 = c.h[n * 2 * F + i], h3 = c.h[n * 2 * F + F + i];
            assert_true(fabs(c.a[n * F + i] - h1 / (1 + exp(-h1)) * h3) < 1e-5);
        }
    float *dh = zeros(N * 2 * F);
    ts_swiglu_backward(dh, c.R, c.h, N, F);
    assert_true(tu_gradcheck(sw_loss, &c, c.h, dh, N * 2 * F, 1e-2f, 100, 1e-3, "swiglu") < GC_TOL);
    free(c.a), free(c.h), free(c.R), free(dh);
}

/* ---- cross-entropy ----------------------------------------------------------------------- */

typedef struct {
    float *logits, *losses, *w;
    int32_t *t;
    int N, V;
} ce_ctx;

static double ce_loss(void *v) {
    ce_ctx *c = v;
    ts_cross_entropy_forward(NULL, c->losses, c->logits, c->t, c->w, c->N, c->V);
    double s = 0;
    for (int n = 0; n < c->N; n++) s += (double)c->w[n] * c->losses[n];
    return s;
}

static void test_cross_entropy(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 7);
    int N = 6, V = 11;
    int32_t t[6] = {0, 3, 10, 4, 4, 7};
    float w[6] = {0.25f, 0, 0.25f, 0.25f, 0, 0.25f}; /* rows 1 and 4 masked out */
    ce_ctx c = {randn(&r, N * V, 3), zeros(N), w, t, N, V};
    ce_loss(&c);
    for (int n = 0; n < N; n++) {
        double mx = -1e30, s = 0;
        for (int i = 0; i < V; i++) mx = fmax(mx, c.logits[n * V + i]);
        for (int i = 0; i < V; i++) s += exp(c.logits[n * V + i] - mx);
        double ref = w[n] ? mx + log(s) - c.logits[n * V + t[n]] : 0;
        assert_true(fabs(c.losses[n] - ref) < 1e-5 * (1 + fabs(ref)));
    }
    float *d = zeros(N * V);
    ts_pool *p = ts_pool_new(2);
    ts_cross_entropy_backward(p, d, c.logits, t, w, N, V);
    for (int i = 0; i < V; i++) assert_true(d[1 * V + i] == 0.0f);
    assert_true(tu_gradcheck(ce_loss, &c, c.logits, d, N * V, 1e-2f, 200, 1e-3, "cross-entropy") < GC_TOL);
    /* the fused pass gives the same losses and gradient */
    ce_loss(&c);
    float *fused = zeros(N * V), *fl = zeros(N);
    memcpy(fused, c.logits, sizeof(float) * N * V);
    ts_cross_entropy_fused(p, fl, fused, t, w, N, V);
    for (int n = 0; n < N; n++) assert_true(fabsf(fl[n] - c.losses[n]) < 1e-5f);
    for (int i = 0; i < N * V; i++) assert_true(fabsf(fused[i] - d[i]) < 1e-6f);
    ts_pool_free(p);
    free(c.logits), free(c.losses), free(d), free(fused), free(fl);
}

static void test_embedding(void **state) {
    float table[4 * 3] = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32}, out[3 * 3], dt[12] = {0};
    int32_t ids[3] = {2, 0, 2};
    ts_embedding_forward(out, ids, table, 3, 3);
    assert_true(out[0] == 20 && out[4] == 1 && out[8] == 22);
    float g[9] = {1, 1, 1, 2, 2, 2, 3, 3, 3};
    ts_embedding_backward(dt, g, ids, 3, 3);
    assert_true(dt[6] == 4 && dt[0] == 2 && dt[3] == 0 && dt[9] == 0);
}

/* ---- MoE ------------------------------------------------------------------------------------ */

typedef struct {
    ts_moe_dims d;
    int N, T;
    float *u, *C, *bias, *W1, *W3, *W2, *out, *R;
    ts_moe_state st;
    float alpha;
    ts_pool *pool;
    bool keep;
} moe_ctx;

static void moe_alloc(moe_ctx *c) {
    size_t N = (size_t)c->N, E = (size_t)c->d.E, K = (size_t)c->d.K, D = (size_t)c->d.D, F = (size_t)c->d.F;
    c->st.s = zeros(N * E);
    c->st.sel = calloc(N * K, 4);
    c->st.gw = zeros(N * K);
    c->st.row = calloc(N * K, 4);
    c->st.tok = calloc(N * K, 4);
    c->st.offs = calloc(E + 1, 4);
    c->st.xg = zeros(N * K * D);
    c->st.h = zeros(N * K * 2 * F);
    c->st.a = zeros(N * K * F);
    c->st.y = zeros(N * K * D);
}

static void moe_free(moe_ctx *c) {
    free(c->u), free(c->C), free(c->bias), free(c->W1), free(c->W3), free(c->W2), free(c->out), free(c->R);
    free(c->st.s), free(c->st.sel), free(c->st.gw), free(c->st.row), free(c->st.tok), free(c->st.offs);
    free(c->st.xg), free(c->st.h), free(c->st.a), free(c->st.y);
}

static double moe_loss(void *v) {
    moe_ctx *c = v;
    memset(c->out, 0, sizeof(float) * (size_t)c->N * c->d.D);
    ts_moe_route(c->pool, &c->st, c->u, c->C, c->bias, c->N, c->d, c->keep);
    ts_moe_experts_forward(c->pool, c->out, &c->st, c->u, c->W1, c->W3, c->W2, c->N, c->d);
    return project(c->out, c->R, (size_t)c->N * c->d.D) +
           c->alpha * ts_moe_balance_loss(&c->st, c->N, c->T, c->d);
}

static void moe_setup(moe_ctx *c, ts_rng *r) {
    size_t N = (size_t)c->N, E = (size_t)c->d.E, D = (size_t)c->d.D, F = (size_t)c->d.F;
    c->u = randn(r, N * D, 1);
    c->C = randn(r, E * D, 0.5f);
    c->bias = randn(r, E, 0.1f);
    c->W1 = randn(r, E * F * D, 0.4f);
    c->W3 = randn(r, E * F * D, 0.4f);
    c->W2 = randn(r, E * D * F, 0.4f);
    c->out = zeros(N * D);
    c->R = randn(r, N * D, 1);
    moe_alloc(c);
}

static void test_moe_forward_matches_naive(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 8);
    moe_ctx c = {.d = {6, 8, 3, 5}, .N = 10, .T = 5, .alpha = 0};
    moe_setup(&c, &r);
    moe_loss(&c);
    const ts_moe_dims d = c.d;
    int total = 0;
    for (int e = 0; e < d.E; e++) total += c.st.offs[e + 1] - c.st.offs[e];
    assert_int_equal(total, c.N * d.K); /* no token dropped */
    for (int n = 0; n < c.N; n++) {
        double s[8], v[8];
        int used[8] = {0};
        for (int e = 0; e < d.E; e++) {
            double z = 0;
            for (int i = 0; i < d.D; i++) z += (double)c.u[n * d.D + i] * c.C[e * d.D + i];
            s[e] = 1 / (1 + exp(-z));
            v[e] = s[e] + c.bias[e];
        }
        int sel[3];
        double S = 0;
        for (int k = 0; k < d.K; k++) {
            int b = -1;
            for (int e = 0; e < d.E; e++)
                if (!used[e] && (b < 0 || v[e] > v[b])) b = e;
            used[b] = 1, sel[k] = b, S += s[b];
            assert_int_equal(c.st.sel[n * d.K + k], b);
        }
        for (int i = 0; i < d.D; i++) {
            double o = 0;
            for (int k = 0; k < d.K; k++) {
                int e = sel[k];
                double y = 0;
                for (int f = 0; f < d.F; f++) {
                    double h1 = 0, h3 = 0;
                    for (int j = 0; j < d.D; j++) {
                        h1 += (double)c.W1[(e * d.F + f) * d.D + j] * c.u[n * d.D + j];
                        h3 += (double)c.W3[(e * d.F + f) * d.D + j] * c.u[n * d.D + j];
                    }
                    y += c.W2[(e * d.D + i) * d.F + f] * h1 / (1 + exp(-h1)) * h3;
                }
                o += s[e] / S * y;
            }
            assert_true(fabs(c.out[n * d.D + i] - o) < 1e-4 * (1 + fabs(o)));
        }
    }
    moe_free(&c);
}

static void test_moe_backward_fixed_routing(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 9);
    ts_pool *p = ts_pool_new(2);
    moe_ctx c = {.d = {6, 8, 3, 5}, .N = 10, .T = 5, .alpha = 0.5f, .pool = p};
    moe_setup(&c, &r);
    moe_loss(&c); /* routes once; the gradchecks keep that selection */
    c.keep = true;
    const ts_moe_dims d = c.d;
    size_t N = c.N, E = d.E, K = d.K, D = d.D, F = d.F;
    float *du = zeros(N * D), *dC = zeros(E * D), *dW1 = zeros(E * F * D), *dW3 = zeros(E * F * D);
    float *dW2 = zeros(E * D * F), *dgw = zeros(N * K), *scratch = zeros(N * K * (D + 3 * F)), *dl = zeros(N * E);
    ts_moe_experts_backward(p, du, dW1, dW3, dW2, dgw, c.R, &c.st, c.W1, c.W3, c.W2, c.N, d, scratch);
    ts_moe_route_backward(p, du, dC, &c.st, dgw, c.u, c.C, c.N, c.T, c.alpha, d, dl);
    assert_true(tu_gradcheck(moe_loss, &c, c.u, du, N * D, 1e-2f, 60, 1e-3, "moe du") < GC_TOL);
    assert_true(tu_gradcheck(moe_loss, &c, c.C, dC, E * D, 1e-2f, 48, 1e-3, "moe drouter") < GC_TOL);
    assert_true(tu_gradcheck(moe_loss, &c, c.W1, dW1, E * F * D, 1e-2f, 60, 1e-3, "moe dW1") < GC_TOL);
    assert_true(tu_gradcheck(moe_loss, &c, c.W3, dW3, E * F * D, 1e-2f, 60, 1e-3, "moe dW3") < GC_TOL);
    assert_true(tu_gradcheck(moe_loss, &c, c.W2, dW2, E * D * F, 1e-2f, 60, 1e-3, "moe dW2") < GC_TOL);
    /* an expert no token chose gets no gradient */
    for (int e = 0; e < d.E; e++)
        if (c.st.offs[e + 1] == c.st.offs[e])
            for (size_t i = 0; i < F * D; i++) assert_true(dW1[e * F * D + i] == 0.0f);
    ts_pool_free(p);
    free(du), free(dC), free(dW1), free(dW3), free(dW2), free(dgw), free(scratch), free(dl);
    moe_free(&c);
}

/* The experts are shared between workers by their row counts; each still
 * runs whole on one worker, so any pool gives the bytes of no pool. */
static void test_moe_experts_same_bytes_on_any_pool(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 10);
    moe_ctx c = {.d = {6, 8, 3, 5}, .N = 40, .T = 10, .alpha = 0};
    moe_setup(&c, &r);
    const ts_moe_dims d = c.d;
    size_t N = c.N, E = d.E, K = d.K, D = d.D, F = d.F;
    size_t n_out = N * D, n_w = E * F * D, n_scr = N * K * (D + 3 * F);
    size_t n_all = n_out + N * D + 3 * n_w + N * K; /* out | du | dW1 | dW3 | dW2 | dgw */
    float *ref = zeros(n_all), *got = zeros(n_all);
    float *scratch = zeros(n_scr);
    ts_pool *pools[3] = {NULL, ts_pool_new(2), ts_pool_new(3)};
    for (int t = 0; t < 3; t++) {
        float *o = t ? got : ref;
        memset(o, 0, sizeof(float) * n_all);
        c.pool = pools[t];
        c.keep = t > 0; /* the first pass's routing */
        moe_loss(&c);
        memcpy(o, c.out, sizeof(float) * n_out);
        float *du = o + n_out, *dW1 = du + N * D, *dW3 = dW1 + n_w, *dW2 = dW3 + n_w,
              *dgw = dW2 + n_w;
        ts_moe_experts_backward(pools[t], du, dW1, dW3, dW2, dgw, c.R, &c.st, c.W1, c.W3, c.W2, c.N,
                                d, scratch);
        if (t) assert_memory_equal(ref, got, sizeof(float) * n_all);
    }
    /* the loads are uneven, so the plan is not one expert per task */
    int lo = c.N, hi = 0;
    for (int e = 0; e < d.E; e++) {
        int n = c.st.offs[e + 1] - c.st.offs[e];
        lo = n < lo ? n : lo, hi = n > hi ? n : hi;
    }
    assert_true(hi > lo + 2);
    for (int t = 1; t < 3; t++)
        ts_pool_free(pools[t]);
    free(ref), free(got), free(scratch);
    moe_free(&c);
}

static void test_moe_bias_steers_selection(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 10);
    moe_ctx c = {.d = {6, 8, 2, 4}, .N = 12, .T = 12};
    moe_setup(&c, &r);
    memset(c.bias, 0, sizeof(float) * 8);
    c.bias[5] = 10.0f; /* expert 5 wins every token, but mixes by its unbiased affinity */
    moe_loss(&c);
    assert_int_equal(c.st.offs[6] - c.st.offs[5], c.N);
    for (int n = 0; n < c.N; n++) {
        assert_int_equal(c.st.sel[n * 2], 5);
        const float *s = c.st.s + n * 8;
        float g = s[5] / (s[5] + s[c.st.sel[n * 2 + 1]]);
        assert_true(fabsf(c.st.gw[n * 2] - g) < 1e-6f);
    }
    moe_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_fast_exp),
        cmocka_unit_test(test_attention_head),
        cmocka_unit_test(test_dra_gates),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_moe_forward_matches_naive),
        cmocka_unit_test(test_moe_backward_fixed_routing),
        cmocka_unit_test(test_moe_experts_same_bytes_on_any_pool),
        cmocka_unit_test(test_moe_bias_steers_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
