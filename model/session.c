/* Inference with a KV cache, and generation. A fresh prompt goes through
 * the batched forward pass (which fills the cache); later tokens one by one. With DRA
 * skipping on, a head whose gate is <= 0.5 at this token computes no query,
 * no scores, no softmax and no value sum; its key and value are still
 * cached, since a later token may open the head. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/attention.h"
#include "nn/linear.h"
#include "nn/rmsnorm.h"
#include "nn/rope.h"
#include "nn/swiglu.h"

struct ts_session {
    const ts_model *m;
    ts_pool *pool;
    int max_len, n;
    bool skip;
    int64_t done, skipped;
    float *kc, *vc; /* [layers, max_len, HD] */
    float *x, *xn, *kvg, *q, *gm, *att, *h, *a, *y, *s, *scores, *logits;
    int sel[TS_MOE_MAX_EXPERTS + 1];
    float mix[TS_MOE_MAX_EXPERTS + 1];
    void *mem;
};

ts_status ts_session_new(const ts_model *m, int max_len, ts_session **out) {
    const ts_model_config *c = &m->c;
    if (max_len <= 0 || max_len > c->context) max_len = c->context;
    size_t H = (size_t)c->n_heads, HD = H * c->head_dim, D = (size_t)c->d_model;
    size_t F = (size_t)(c->ffn_hidden > c->expert_hidden ? c->ffn_hidden : c->expert_hidden);
    size_t tasks = (size_t)c->n_experts_used + 1; /* routed experts + shared, each its buffers */
    size_t cache = (size_t)c->n_layers * max_len * HD;
    size_t sizes[] = {cache, cache, D, D, 2 * HD + H, HD, H, HD, tasks * 2 * F, tasks * F,
                      tasks * D, (size_t)c->n_experts + 1, H * (size_t)max_len,
                      (size_t)c->vocab_size};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) total += (sizes[i] + 15) & ~(size_t)15;
    ts_session *s = calloc(1, sizeof *s);
    float *mem = ts_alloc_floats(total);
    if (!s || !mem) {
        free(s);
        free(mem);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory for a KV cache of %d tokens", max_len);
    }
    float **ptrs[] = {&s->kc, &s->vc, &s->x, &s->xn, &s->kvg, &s->q, &s->gm, &s->att,
                      &s->h, &s->a, &s->y, &s->s, &s->scores, &s->logits};
    size_t off = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        *ptrs[i] = mem + off;
        off += (sizes[i] + 15) & ~(size_t)15;
    }
    s->m = m, s->max_len = max_len, s->mem = mem, s->skip = true;
    *out = s;
    return TS_OK;
}

void ts_session_free(ts_session *s) {
    if (!s) return;
    free(s->mem);
    free(s);
}

void ts_session_reset(ts_session *s) { s->n = 0, s->done = 0, s->skipped = 0; }
int ts_session_length(const ts_session *s) { return s->n; }
void ts_session_set_dra_skip(ts_session *s, bool skip) { s->skip = skip; }
void ts_session_set_pool(ts_session *s, ts_pool *pool) { s->pool = pool; }
void ts_session_head_work(const ts_session *s, int64_t *done, int64_t *skipped) {
    *done = s->done, *skipped = s->skipped;
}

/* ---- matrix-vector products split by rows over the pool --------------------------------
 * Each row is computed by the same code whatever the split, so the result
 * does not depend on the number of threads. */

typedef struct {
    float *y;
    const float *W, *x;
    int rows, cols, ldw, parts;
    float alpha, beta;
} gemv_job;

static void gemv_part(void *vctx, int p, int np, int worker) {
    const gemv_job *j = vctx;
    int r0 = (int)((int64_t)j->rows * p / j->parts), r1 = (int)((int64_t)j->rows * (p + 1) / j->parts);
    if (r1 > r0)
        ts_gemv(j->y + r0, j->W + (size_t)r0 * j->ldw, r1 - r0, j->cols, j->ldw, j->x, j->alpha,
                j->beta);
}

static void pgemv(ts_session *s, float *y, const float *W, int rows, int cols, int ldw,
                  const float *x, float alpha, float beta) {
    int parts = ts_pool_threads(s->pool);
    if (parts > 1 && (int64_t)rows * cols < 32768) parts = 1; /* not worth a wake-up */
    gemv_job j = {y, W, x, rows, cols, ldw, parts, alpha, beta};
    if (parts == 1)
        gemv_part(&j, 0, 1, 0);
    else
        ts_pool_run(s->pool, parts, gemv_part, &j);
}

/* ---- one token ----------------------------------------------------------------------------- */

typedef struct {
    ts_session *s;
    const ts_layer_w *W;
    const float *kc, *vc;
    int pos;
} step_job;

/* head h: query, scores, softmax, value sum; the gate multiplier folded in */
static void head_task(void *vctx, int h, int n, int worker) {
    const step_job *j = vctx;
    ts_session *s = j->s;
    const ts_model_config *c = &s->m->c;
    const int D = c->d_model, hd = c->head_dim, HD = c->n_heads * hd;
    float *att = s->att + (size_t)h * hd, mult = s->gm[h];
    if (mult == 0.0f) {
        for (int i = 0; i < hd; i++) att[i] = 0.0f;
        if (s->skip) return;
    }
    float *q = s->q + (size_t)h * hd;
    ts_gemv(q, j->W->wqkvg + (size_t)h * hd * D, hd, D, D, s->xn, 1.0f, 0.0f);
    ts_rope_forward(q, hd, 1, 1, hd, &j->pos, s->m->rope_cos, s->m->rope_sin);
    ts_attention_query(att, q, j->kc + (size_t)h * hd, j->vc + (size_t)h * hd, HD, j->pos + 1, hd,
                       s->scores + (size_t)h * s->max_len);
    for (int i = 0; i < hd; i++) att[i] *= mult;
}

/* task k < K: routed expert sel[k]; task K: the shared expert */
static void expert_task(void *vctx, int k, int n, int worker) {
    const step_job *j = vctx;
    ts_session *s = j->s;
    const ts_model_config *c = &s->m->c;
    const int D = c->d_model, Fe = c->expert_hidden;
    float *h = s->h + (size_t)k * 2 * Fe, *a = s->a + (size_t)k * Fe, *y = s->y + (size_t)k * D;
    const float *w1, *w3, *w2;
    if (k < c->n_experts_used) {
        size_t fo = (size_t)s->sel[k] * Fe * D;
        w1 = j->W->ew1 + fo, w3 = j->W->ew3 + fo, w2 = j->W->ew2 + fo;
    } else {
        w1 = j->W->sw13, w3 = j->W->sw13 + (size_t)Fe * D, w2 = j->W->sw2;
    }
    ts_gemv(h, w1, Fe, D, D, s->xn, 1.0f, 0.0f);
    ts_gemv(h + Fe, w3, Fe, D, D, s->xn, 1.0f, 0.0f);
    ts_swiglu_forward(a, h, 1, Fe);
    ts_gemv(y, w2, D, Fe, Fe, a, 1.0f, 0.0f);
}

static void step(ts_session *s, int32_t id, bool want_logits) {
    const ts_model *m = s->m;
    const ts_model_config *c = &m->c;
    const int D = c->d_model, H = c->n_heads, hd = c->head_dim, HD = H * hd;
    const int E = c->n_experts, K = c->n_experts_used;
    const int pos = s->n;
    memcpy(s->x, m->w.tok_embd + (size_t)id * D, sizeof(float) * (size_t)D);
    for (int l = 0; l < c->n_layers; l++) {
        const ts_layer_w *W = &m->w.L[l];
        float *kc = s->kc + (size_t)l * s->max_len * HD, *vc = s->vc + (size_t)l * s->max_len * HD;
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->attn_norm, 1, D, c->norm_eps);
        /* keys, values and gate logits for every head (rows HD .. 3HD+H) */
        pgemv(s, s->kvg, W->wqkvg + (size_t)HD * D, 2 * HD + H, D, D, s->xn, 1.0f, 0.0f);
        memcpy(kc + (size_t)pos * HD, s->kvg, sizeof(float) * HD);
        memcpy(vc + (size_t)pos * HD, s->kvg + HD, sizeof(float) * HD);
        ts_rope_forward(kc + (size_t)pos * HD, HD, 1, H, hd, &pos, m->rope_cos, m->rope_sin);
        int open = 0;
        for (int h = 0; h < H; h++) {
            float g = 1.0f / (1.0f + expf(-(s->kvg[2 * HD + h] + W->bgate[h])));
            s->gm[h] = g > 0.5f ? g : 0.0f;
            open += s->gm[h] != 0.0f;
        }
        s->done += s->skip ? open : H;
        s->skipped += s->skip ? H - open : 0;
        step_job j = {s, W, kc, vc, pos};
        ts_pool_run(s->pool, H, head_task, &j);
        pgemv(s, s->x, W->wo, D, HD, HD, s->att, 1.0f, 1.0f);
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->ffn_norm, 1, D, c->norm_eps);
        if (!W->moe) {
            int F = c->ffn_hidden;
            pgemv(s, s->h, W->w13, 2 * F, D, D, s->xn, 1.0f, 0.0f);
            ts_swiglu_forward(s->a, s->h, 1, F);
            pgemv(s, s->x, W->w2, D, F, F, s->a, 1.0f, 1.0f);
            continue;
        }
        ts_gemv(s->s, W->router, E, D, D, s->xn, 1.0f, 0.0f);
        for (int e = 0; e < E; e++) s->s[e] = 1.0f / (1.0f + expf(-s->s[e]));
        uint8_t taken[TS_MOE_MAX_EXPERTS] = {0};
        float sum = 0;
        for (int k = 0; k < K; k++) {
            int best = -1;
            float bv = 0;
            for (int e = 0; e < E; e++) {
                if (taken[e]) continue;
                float v = s->s[e] + W->rbias[e];
                if (best < 0 || v > bv) best = e, bv = v;
            }
            taken[best] = 1;
            s->sel[k] = best;
            sum += s->s[best];
        }
        for (int k = 0; k < K; k++) s->mix[k] = s->s[s->sel[k]] / sum;
        ts_pool_run(s->pool, K + (c->n_shared ? 1 : 0), expert_task, &j);
        /* summed in a fixed order: the shared expert, then the routed ones */
        if (c->n_shared)
            for (int i = 0; i < D; i++) s->x[i] += s->y[(size_t)K * D + i];
        for (int k = 0; k < K; k++)
            for (int i = 0; i < D; i++) s->x[i] += s->mix[k] * s->y[(size_t)k * D + i];
    }
    s->n++;
    if (!want_logits) return;
    ts_rmsnorm_forward(s->xn, NULL, s->x, m->w.out_norm, 1, D, c->norm_eps);
    pgemv(s, s->logits, m->w.output, c->vocab_size, D, D, s->xn, 1.0f, 0.0f);
}

ts_status ts_session_feed(ts_session *s, const int32_t *ids, int n, float *logits) {
    if (s->n + n > s->max_len)
        return ts_fail(TS_ERR_INPUT, "model: %d tokens do not fit the KV cache of %d", s->n + n,
                       s->max_len);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->m->c.vocab_size)
            return ts_fail(TS_ERR_INPUT, "model: token %d is outside the vocabulary of %d", ids[i],
                           s->m->c.vocab_size);
    if (s->n == 0 && n > 1) {
        /* a fresh prompt: one batched pass fills the cache */
        ts_acts a;
        ts_status st = ts_acts_new(s->m, 1, n, false, &a);
        if (st) return st;
        a.kcache = s->kc, a.vcache = s->vc, a.cache_len = s->max_len;
        ts_model_forward(s->m, s->pool, &a, ids, false);
        memcpy(s->logits, a.logits + (size_t)(n - 1) * s->m->c.vocab_size,
               sizeof(float) * (size_t)s->m->c.vocab_size);
        ts_acts_free(&a);
        s->n = n;
    } else {
        for (int i = 0; i < n; i++) step(s, ids[i], logits && i == n - 1);
    }
    if (logits && n > 0)
        memcpy(logits, s->logits, sizeof(float) * (size_t)s->m->c.vocab_size);
    return TS_OK;
}

ts_status ts_model_generate(const ts_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            const ts_sampler *sp, int32_t eos, double max_seconds, ts_token_cb cb,
                            void *user, int *n_made) {
    *n_made = 0;
    if (n_prompt < 1) return ts_fail(TS_ERR_USAGE, "model: generation needs a prompt");
    ts_session *s;
    ts_status st = ts_session_new(m, 0, &s);
    if (st) return st;
    int V = m->c.vocab_size;
    float *logits = ts_alloc_floats((size_t)V * 3);
    if (!logits) {
        ts_session_free(s);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    }
    double t0 = ts_now();
    ts_rng rng;
    ts_rng_seed(&rng, sp->seed);
    st = ts_session_feed(s, prompt, n_prompt, logits);
    for (int i = 0; !st && i < max_new; i++) {
        int32_t id = ts_sample(sp, logits, V, &rng, logits + V);
        ++*n_made;
        if (!cb(id, user) || id == eos) break;
        if (s->n >= s->max_len) break;
        if (max_seconds > 0 && ts_now() - t0 >= max_seconds) break;
        if (i + 1 < max_new) st = ts_session_feed(s, &id, 1, logits);
    }
    free(logits);
    ts_session_free(s);
    return st;
}
