#include "nn/moe.h"

#include <cblas.h>
#include <string.h>

#include "nn/fastexp.h"
#include "nn/linear.h"
#include "nn/swiglu.h"

static int n_parts(ts_pool *pool, int n) {
    int p = ts_pool_threads(pool);
    return p > n ? (n > 0 ? n : 1) : p;
}

/* ---- routing -------------------------------------------------------------- */

typedef struct {
    ts_moe_state *st;
    const float *bias;
    int N, parts;
    ts_moe_dims d;
    bool keep;
} route_job;

static void route_part(void *vctx, int p, int np, int worker) {
    route_job *j = vctx;
    const ts_moe_dims d = j->d;
    for (int n = ts_part_begin(j->N, p, j->parts); n < ts_part_begin(j->N, p + 1, j->parts); n++) {
        float *s = j->st->s + (size_t)n * d.E;
#pragma omp simd
        for (int e = 0; e < d.E; e++)
            s[e] = ts_sigmoidf(s[e]);
        int32_t *sel = j->st->sel + (size_t)n * d.K;
        if (!j->keep) {
            uint8_t taken[TS_MOE_MAX_EXPERTS] = {0};
            for (int k = 0; k < d.K; k++) {
                int best = -1;
                float bv = 0;
                for (int e = 0; e < d.E; e++) {
                    if (taken[e]) continue;
                    float v = s[e] + j->bias[e];
                    if (best < 0 || v > bv) best = e, bv = v;
                }
                taken[best] = 1;
                sel[k] = best;
            }
        }
        float sum = 0;
        for (int k = 0; k < d.K; k++) sum += s[sel[k]];
        for (int k = 0; k < d.K; k++) j->st->gw[(size_t)n * d.K + k] = s[sel[k]] / sum;
    }
}

void ts_moe_route(ts_pool *pool, ts_moe_state *st, const float *u, const float *C,
                  const float *bias, int N, ts_moe_dims d, bool keep_selection) {
    ts_linear_forward(pool, st->s, u, C, NULL, N, d.D, d.E);
    route_job j = {st, bias, N, n_parts(pool, N), d, keep_selection};
    ts_pool_run(j.parts > 1 ? pool : NULL, j.parts, route_part, &j);
    /* grouping: rows of each expert in token order */
    memset(st->offs, 0, sizeof(int32_t) * (size_t)(d.E + 1));
    for (int i = 0; i < N * d.K; i++) st->offs[st->sel[i] + 1]++;
    for (int e = 0; e < d.E; e++) st->offs[e + 1] += st->offs[e];
    int32_t fill[TS_MOE_MAX_EXPERTS];
    memcpy(fill, st->offs, sizeof(int32_t) * (size_t)d.E);
    for (int i = 0; i < N * d.K; i++) {
        int r = fill[st->sel[i]]++;
        st->row[i] = r;
        st->tok[r] = i / d.K;
    }
}

/* ---- experts ---------------------------------------------------------------- */

typedef struct {
    ts_moe_state *st;
    const float *u, *W1, *W3, *W2, *dout;
    float *out, *du, *dW1, *dW3, *dW2, *dgw, *scratch;
    int N, parts;
    ts_moe_dims d;
} expert_job;

static void expert_fwd(void *vctx, int e, int ne_, int worker) {
    expert_job *j = vctx;
    const ts_moe_dims d = j->d;
    ts_moe_state *st = j->st;
    int r0 = st->offs[e], n = st->offs[e + 1] - r0;
    if (n == 0) return;
    float *xg = st->xg + (size_t)r0 * d.D, *h = st->h + (size_t)r0 * 2 * d.F;
    for (int r = 0; r < n; r++)
        memcpy(xg + (size_t)r * d.D, j->u + (size_t)st->tok[r0 + r] * d.D,
               sizeof(float) * (size_t)d.D);
    const float *W1 = j->W1 + (size_t)e * d.F * d.D, *W3 = j->W3 + (size_t)e * d.F * d.D;
    const float *W2 = j->W2 + (size_t)e * d.D * d.F;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d.F, d.D, 1.0f, xg, d.D, W1, d.D, 0.0f,
                h, 2 * d.F);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d.F, d.D, 1.0f, xg, d.D, W3, d.D, 0.0f,
                h + d.F, 2 * d.F);
    float *a = st->a + (size_t)r0 * d.F;
    ts_swiglu_forward(a, h, n, d.F);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d.D, d.F, 1.0f, a, d.F, W2, d.F, 0.0f,
                st->y + (size_t)r0 * d.D, d.D);
}

static void combine_part(void *vctx, int p, int np, int worker) {
    expert_job *j = vctx;
    const ts_moe_dims d = j->d;
    for (int n = ts_part_begin(j->N, p, j->parts); n < ts_part_begin(j->N, p + 1, j->parts); n++) {
        float *o = j->out + (size_t)n * d.D;
        for (int k = 0; k < d.K; k++) {
            float g = j->st->gw[(size_t)n * d.K + k];
            const float *y = j->st->y + (size_t)j->st->row[(size_t)n * d.K + k] * d.D;
            for (int i = 0; i < d.D; i++) o[i] += g * y[i];
        }
    }
}

/* Experts differ in their row counts, so a pool task per expert (task i on
 * worker i % n) can leave one worker with most of the rows. Instead each
 * worker gets one task: the experts handed out largest first, each to the
 * worker with the fewest rows so far (ties: the lower worker). Every expert
 * still runs whole on one worker and writes only its own rows and weight
 * gradients, so the bytes do not depend on the plan. */
typedef struct {
    expert_job *j;
    void (*run)(void *, int, int, int);
    int16_t owner[TS_MOE_MAX_EXPERTS];
} expert_plan;

static void plan_task(void *vctx, int w, int nw, int worker) {
    const expert_plan *p = vctx;
    for (int e = 0; e < p->j->d.E; e++)
        if (p->owner[e] == w) p->run(p->j, e, p->j->d.E, worker);
}

static void run_experts(ts_pool *pool, expert_job *j, void (*run)(void *, int, int, int)) {
    const ts_moe_dims d = j->d;
    int W = ts_pool_threads(pool);
    if (W > d.E) W = d.E;
    expert_plan p = {j, run, {0}};
    int64_t rows[TS_MOE_MAX_EXPERTS] = {0}, load[TS_MOE_MAX_EXPERTS] = {0};
    bool done[TS_MOE_MAX_EXPERTS] = {0};
    /* a call costs about as much as a few rows, so empty experts count too */
    for (int e = 0; e < d.E; e++)
        rows[e] = j->st->offs[e + 1] - j->st->offs[e] + 4;
    for (int k = 0; k < d.E; k++) {
        int e = -1, w = 0;
        for (int i = 0; i < d.E; i++)
            if (!done[i] && (e < 0 || rows[i] > rows[e])) e = i;
        for (int i = 1; i < W; i++)
            if (load[i] < load[w]) w = i;
        done[e] = true;
        p.owner[e] = (int16_t)w;
        load[w] += rows[e];
    }
    ts_pool_run(W > 1 ? pool : NULL, W, plan_task, &p);
}

void ts_moe_experts_forward(ts_pool *pool, float *out, ts_moe_state *st, const float *u,
                            const float *W1, const float *W3, const float *W2, int N,
                            ts_moe_dims d) {
    expert_job j = {.st = st, .u = u, .W1 = W1, .W3 = W3, .W2 = W2, .out = out, .N = N, .d = d};
    run_experts(pool, &j, expert_fwd);
    j.parts = n_parts(pool, N);
    ts_pool_run(j.parts > 1 ? pool : NULL, j.parts, combine_part, &j);
}

/* dgw[n,k] = dout[n]·y[row]; dy[row] = gw[n,k]·dout[n] */
static void uncombine_part(void *vctx, int p, int np, int worker) {
    expert_job *j = vctx;
    const ts_moe_dims d = j->d;
    float *dy = j->scratch;
    for (int n = ts_part_begin(j->N, p, j->parts); n < ts_part_begin(j->N, p + 1, j->parts); n++) {
        const float *go = j->dout + (size_t)n * d.D;
        for (int k = 0; k < d.K; k++) {
            size_t r = (size_t)j->st->row[(size_t)n * d.K + k];
            const float *y = j->st->y + r * d.D;
            float g = j->st->gw[(size_t)n * d.K + k], dg = 0;
            float *dyr = dy + r * d.D;
            for (int i = 0; i < d.D; i++) {
                dg += go[i] * y[i];
                dyr[i] = g * go[i];
            }
            j->dgw[(size_t)n * d.K + k] = dg;
        }
    }
}

static void expert_bwd(void *vctx, int e, int ne_, int worker) {
    expert_job *j = vctx;
    const ts_moe_dims d = j->d;
    const ts_moe_state *st = j->st;
    int r0 = st->offs[e], n = st->offs[e + 1] - r0;
    if (n == 0) return;
    size_t NK = (size_t)st->offs[d.E];
    /* scratch: dy (later dxg) [NK,D] | dh [NK,2F] | da [NK,F] */
    float *dy = j->scratch + (size_t)r0 * d.D;
    float *dh = j->scratch + NK * d.D + (size_t)r0 * 2 * d.F;
    float *da = j->scratch + NK * (d.D + 2 * d.F) + (size_t)r0 * d.F;
    const float *xg = st->xg + (size_t)r0 * d.D, *h = st->h + (size_t)r0 * 2 * d.F;
    const float *a = st->a + (size_t)r0 * d.F;
    size_t fo = (size_t)e * d.F * d.D;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d.F, d.D, 1.0f, dy, d.D, j->W2 + fo,
                d.F, 0.0f, da, d.F);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.D, d.F, n, 1.0f, dy, d.D, a, d.F, 1.0f,
                j->dW2 + fo, d.F);
    ts_swiglu_backward(dh, da, h, n, d.F);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.F, d.D, n, 1.0f, dh, 2 * d.F, xg, d.D,
                1.0f, j->dW1 + fo, d.D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d.F, d.D, n, 1.0f, dh + d.F, 2 * d.F, xg,
                d.D, 1.0f, j->dW3 + fo, d.D);
    float *dxg = dy; /* dy is no longer needed */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d.D, d.F, 1.0f, dh, 2 * d.F,
                j->W1 + fo, d.D, 0.0f, dxg, d.D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d.D, d.F, 1.0f, dh + d.F, 2 * d.F,
                j->W3 + fo, d.D, 1.0f, dxg, d.D);
}

static void scatter_part(void *vctx, int p, int np, int worker) {
    expert_job *j = vctx;
    const ts_moe_dims d = j->d;
    for (int n = ts_part_begin(j->N, p, j->parts); n < ts_part_begin(j->N, p + 1, j->parts); n++) {
        float *o = j->du + (size_t)n * d.D;
        for (int k = 0; k < d.K; k++) {
            const float *x = j->scratch + (size_t)j->st->row[(size_t)n * d.K + k] * d.D;
            for (int i = 0; i < d.D; i++) o[i] += x[i];
        }
    }
}

void ts_moe_experts_backward(ts_pool *pool, float *du, float *dW1, float *dW3, float *dW2,
                             float *dgw, const float *dout, const ts_moe_state *st,
                             const float *W1, const float *W3, const float *W2, int N,
                             ts_moe_dims d, float *scratch) {
    expert_job j = {.st = (ts_moe_state *)st, .W1 = W1, .W3 = W3, .W2 = W2, .dout = dout,
                    .du = du, .dW1 = dW1, .dW3 = dW3, .dW2 = dW2, .dgw = dgw,
                    .scratch = scratch, .N = N, .d = d};
    j.parts = n_parts(pool, N);
    ts_pool_run(j.parts > 1 ? pool : NULL, j.parts, uncombine_part, &j);
    run_experts(pool, &j, expert_bwd);
    ts_pool_run(j.parts > 1 ? pool : NULL, j.parts, scatter_part, &j);
}

/* ---- balance loss and router backward ------------------------------------------ */

/* f_e of one sequence (tokens n0 .. n0+T) */
static void seq_f(float *f, const ts_moe_state *st, int n0, int T, ts_moe_dims d) {
    for (int e = 0; e < d.E; e++) f[e] = 0;
    for (int n = n0; n < n0 + T; n++)
        for (int k = 0; k < d.K; k++) f[st->sel[(size_t)n * d.K + k]] += 1.0f;
    float scale = (float)d.E / ((float)d.K * (float)T);
    for (int e = 0; e < d.E; e++) f[e] *= scale;
}

double ts_moe_balance_loss(const ts_moe_state *st, int N, int T, ts_moe_dims d) {
    float f[TS_MOE_MAX_EXPERTS];
    double total = 0;
    for (int n0 = 0; n0 + T <= N; n0 += T) {
        seq_f(f, st, n0, T, d);
        double l = 0;
        for (int n = n0; n < n0 + T; n++) {
            const float *s = st->s + (size_t)n * d.E;
            double z = 0, fs = 0;
            for (int e = 0; e < d.E; e++) z += s[e], fs += (double)f[e] * s[e];
            l += fs / z;
        }
        total += l / T;
    }
    return total / (N / T);
}

typedef struct {
    const ts_moe_state *st;
    const float *dgw;
    float *dlogit;
    int T, n_seq;
    float alpha;
    ts_moe_dims d;
} route_bwd_job;

static void route_bwd_seq(void *vctx, int b, int nb, int worker) {
    route_bwd_job *j = vctx;
    const ts_moe_dims d = j->d;
    float f[TS_MOE_MAX_EXPERTS];
    seq_f(f, j->st, b * j->T, j->T, d);
    /* d(α/B · mean_t Σ_e f_e s_e/z) / d s_e,t = α/(B·T) · (f_e − Σ_j f_j s_j / z) / z */
    float c = j->alpha / ((float)j->n_seq * (float)j->T);
    for (int n = b * j->T; n < (b + 1) * j->T; n++) {
        const float *s = j->st->s + (size_t)n * d.E;
        float *dl = j->dlogit + (size_t)n * d.E;
        float z = 0, fs = 0;
        for (int e = 0; e < d.E; e++) z += s[e], fs += f[e] * s[e];
        for (int e = 0; e < d.E; e++) dl[e] = c * (f[e] - fs / z) / z;
        /* mixing weights g_k = s_k / S over the selected */
        const int32_t *sel = j->st->sel + (size_t)n * d.K;
        const float *dg = j->dgw + (size_t)n * d.K, *g = j->st->gw + (size_t)n * d.K;
        float S = 0, dgg = 0;
        for (int k = 0; k < d.K; k++) S += s[sel[k]], dgg += dg[k] * g[k];
        for (int k = 0; k < d.K; k++) dl[sel[k]] += (dg[k] - dgg) / S;
        for (int e = 0; e < d.E; e++) dl[e] *= s[e] * (1.0f - s[e]);
    }
}

void ts_moe_route_backward(ts_pool *pool, float *du, float *dC, const ts_moe_state *st,
                           const float *dgw, const float *u, const float *C, int N, int T,
                           float alpha, ts_moe_dims d, float *scratch) {
    route_bwd_job j = {st, dgw, scratch, T, N / T, alpha, d};
    ts_pool_run(pool, N / T, route_bwd_seq, &j);
    ts_linear_backward(pool, du, dC, NULL, scratch, u, C, N, d.D, d.E);
}
