/* Token-by-token inference with a KV cache, and generation. With DRA
 * skipping on, a head whose gate is <= 0.5 at this token computes no query,
 * no scores, no softmax and no value sum; its key and value are still
 * cached, since a later token may open the head. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/attention.h"
#include "nn/rmsnorm.h"
#include "nn/rope.h"
#include "nn/swiglu.h"

struct ts_session {
    const ts_model *m;
    int max_len, n;
    bool skip;
    int64_t done, skipped;
    float *kc, *vc; /* [layers, max_len, HD] */
    float *x, *xn, *q, *g, *att, *h, *a, *y, *s, *scores, *logits;
    void *mem;
};

ts_status ts_session_new(const ts_model *m, int max_len, ts_session **out) {
    const ts_model_config *c = &m->c;
    if (max_len <= 0 || max_len > c->context) max_len = c->context;
    size_t HD = (size_t)c->n_heads * c->head_dim, D = (size_t)c->d_model;
    size_t F = (size_t)(c->ffn_hidden > c->expert_hidden ? c->ffn_hidden : c->expert_hidden);
    size_t cache = (size_t)c->n_layers * max_len * HD;
    size_t sizes[] = {cache, cache, D, D, HD, (size_t)c->n_heads, HD, 2 * F, F, D,
                      (size_t)c->n_experts + 1, (size_t)max_len, (size_t)c->vocab_size};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) total += (sizes[i] + 15) & ~(size_t)15;
    ts_session *s = calloc(1, sizeof *s);
    float *mem = ts_alloc_floats(total);
    if (!s || !mem) {
        free(s);
        free(mem);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory for a KV cache of %d tokens", max_len);
    }
    float **ptrs[] = {&s->kc, &s->vc, &s->x, &s->xn, &s->q, &s->g, &s->att,
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
void ts_session_head_work(const ts_session *s, int64_t *done, int64_t *skipped) {
    *done = s->done, *skipped = s->skipped;
}

/* y[rows] = W[rows, cols] · x */
static void gemv(float *y, const float *W, int rows, int cols, int ldw, const float *x, float beta) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, cols, 1.0f, W, ldw, x, 1, beta, y, 1);
}

static void swiglu_ffn(ts_session *s, float *out, float scale, const float *w13, const float *w2,
                       int D, int F) {
    gemv(s->h, w13, 2 * F, D, D, s->xn, 0.0f);
    ts_swiglu_forward(s->a, s->h, 1, F);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, D, F, scale, w2, F, s->a, 1, 1.0f, out, 1);
}

static void step(ts_session *s, int32_t id, bool want_logits) {
    const ts_model *m = s->m;
    const ts_model_config *c = &m->c;
    const int D = c->d_model, H = c->n_heads, hd = c->head_dim, HD = H * hd;
    const int E = c->n_experts, K = c->n_experts_used, Fe = c->expert_hidden;
    const int pos = s->n;
    memcpy(s->x, m->w.tok_embd + (size_t)id * D, sizeof(float) * (size_t)D);
    for (int l = 0; l < c->n_layers; l++) {
        const ts_layer_w *W = &m->w.L[l];
        float *kc = s->kc + (size_t)l * s->max_len * HD, *vc = s->vc + (size_t)l * s->max_len * HD;
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->attn_norm, 1, D, c->norm_eps);
        /* keys, values and gates always; queries only for open heads */
        gemv(kc + (size_t)pos * HD, W->wqkvg + (size_t)HD * D, HD, D, D, s->xn, 0.0f);
        gemv(vc + (size_t)pos * HD, W->wqkvg + (size_t)2 * HD * D, HD, D, D, s->xn, 0.0f);
        gemv(s->g, W->wqkvg + (size_t)3 * HD * D, H, D, D, s->xn, 0.0f);
        ts_rope_forward(kc + (size_t)pos * HD, HD, 1, H, hd, &pos, m->rope_cos, m->rope_sin);
        for (int h = 0; h < H; h++) {
            float g = 1.0f / (1.0f + expf(-(s->g[h] + W->bgate[h])));
            float mult = g > 0.5f ? g : 0.0f;
            float *att = s->att + (size_t)h * hd;
            if (mult == 0.0f && s->skip) {
                s->skipped++;
                continue;
            }
            s->done++;
            float *q = s->q + (size_t)h * hd;
            gemv(q, W->wqkvg + (size_t)h * hd * D, hd, D, D, s->xn, 0.0f);
            ts_rope_forward(q, hd, 1, 1, hd, &pos, m->rope_cos, m->rope_sin);
            ts_attention_query(att, q, kc + (size_t)h * hd, vc + (size_t)h * hd, HD, pos + 1, hd,
                               s->scores);
            /* x += mult · Wo[:, head] · att */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, D, hd, mult, W->wo + (size_t)h * hd, HD, att,
                        1, 1.0f, s->x, 1);
        }
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->ffn_norm, 1, D, c->norm_eps);
        if (!W->moe) {
            swiglu_ffn(s, s->x, 1.0f, W->w13, W->w2, D, c->ffn_hidden);
            continue;
        }
        if (c->n_shared) swiglu_ffn(s, s->x, 1.0f, W->sw13, W->sw2, D, Fe);
        gemv(s->s, W->router, E, D, D, s->xn, 0.0f);
        for (int e = 0; e < E; e++) s->s[e] = 1.0f / (1.0f + expf(-s->s[e]));
        int sel[TS_MOE_MAX_EXPERTS];
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
            sel[k] = best;
            sum += s->s[best];
        }
        for (int k = 0; k < K; k++) {
            int e = sel[k];
            size_t fo = (size_t)e * Fe * D;
            gemv(s->h, W->ew1 + fo, Fe, D, D, s->xn, 0.0f);
            gemv(s->h + Fe, W->ew3 + fo, Fe, D, D, s->xn, 0.0f);
            ts_swiglu_forward(s->a, s->h, 1, Fe);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, D, Fe, s->s[e] / sum, W->ew2 + fo, Fe, s->a,
                        1, 1.0f, s->x, 1);
        }
    }
    s->n++;
    if (!want_logits) return;
    ts_rmsnorm_forward(s->xn, NULL, s->x, m->w.out_norm, 1, D, c->norm_eps);
    gemv(s->logits, m->w.output, c->vocab_size, D, D, s->xn, 0.0f);
}

ts_status ts_session_feed(ts_session *s, const int32_t *ids, int n, float *logits) {
    if (s->n + n > s->max_len)
        return ts_fail(TS_ERR_INPUT, "model: %d tokens do not fit the KV cache of %d", s->n + n,
                       s->max_len);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->m->c.vocab_size)
            return ts_fail(TS_ERR_INPUT, "model: token %d is outside the vocabulary of %d", ids[i],
                           s->m->c.vocab_size);
    for (int i = 0; i < n; i++) step(s, ids[i], logits && i == n - 1);
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
