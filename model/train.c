/* Training: one step = forward, loss, backward, global-norm clipping, AdamW
 * (decoupled decay on matrices only) under warmup + cosine, then the router
 * biases moved by the sign rule, then the moving average of the weights
 * (when asked for). Checkpoints hold everything a resumed run needs to give
 * the same losses. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/code_proj.h"
#include "model/model_impl.h"
#include "nn/adamw.h"
#include "nn/cross_entropy.h"

#define ADAM_CHUNK 65536

typedef struct {
    size_t off, n;
    bool decay;
} chunk;

struct ts_trainer {
    ts_model *m;
    ts_train_config tc;
    ts_pool *pool;
    float *grads, *m1, *m2;
    ts_weights g;
    ts_acts acts;
    int64_t step;
    int32_t *inputs;           /* [N] */
    int32_t *rows, *targets;   /* [N]: the positions the loss counts, their targets */
    float *weights;            /* [N] 1 / count, per counted position */
    chunk *chunks;
    double *partial; /* [n_chunks] clipping sums */
    int n_chunks;
    float lr;         /* of the current step, for the AdamW tasks */
    ts_code_proj *cp; /* NULL: the media codes' embeddings are free rows */
    float *avg;       /* [n_params] the weights' moving average (tc.ema > 0), else NULL */
    float avg_rate;   /* of the current step, for the average tasks */
};

ts_train_config ts_train_config_default(void) {
    return (ts_train_config){.batch = 8,
                             .seq_len = 256,
                             .steps = 1000,
                             .warmup = 100,
                             .lr = 1e-3f,
                             .min_lr = 1e-4f,
                             .weight_decay = 0.1f,
                             .beta1 = 0.9f,
                             .beta2 = 0.95f,
                             .eps = 1e-8f,
                             .clip = 1.0f,
                             .gate_penalty = 0.05f,
                             .balance_alpha = 1e-4f,
                             .bias_gamma = 1e-3f,
                             .seed = 1};
}

void ts_trainer_free(ts_trainer *t) {
    if (!t) return;
    free(t->grads);
    free(t->m1);
    free(t->m2);
    free(t->g.L);
    ts_acts_free(&t->acts);
    free(t->inputs);
    free(t->targets);
    free(t->rows);
    free(t->weights);
    free(t->chunks);
    free(t->partial);
    free(t->avg);
    ts_code_proj_free(t->cp);
    free(t);
}

ts_status ts_trainer_new(ts_model *m, const ts_train_config *tc, ts_pool *pool, ts_trainer **out) {
    if (tc->batch < 1 || tc->seq_len < 1 || tc->seq_len > m->c.context)
        return ts_fail(TS_ERR_USAGE, "train: batch %d × seq_len %d does not fit context %d",
                       tc->batch, tc->seq_len, m->c.context);
    if (!(tc->ema >= 0 && tc->ema < 1))
        return ts_fail(TS_ERR_USAGE, "train: the average's decay %g is not in [0, 1)", tc->ema);
    openblas_set_num_threads(1); /* the pool splits the work itself */
    ts_trainer *t = calloc(1, sizeof *t);
    if (!t) return ts_fail(TS_ERR_NOMEM, "train: out of memory");
    t->m = m, t->tc = *tc, t->pool = pool;
    size_t P = m->n_params, N = (size_t)tc->batch * tc->seq_len;
    t->grads = ts_alloc_floats(P);
    t->m1 = ts_alloc_floats(P);
    t->m2 = ts_alloc_floats(P);
    t->g.L = calloc((size_t)m->c.n_layers, sizeof *t->g.L);
    t->inputs = malloc(sizeof(int32_t) * N);
    t->targets = malloc(sizeof(int32_t) * N);
    t->rows = malloc(sizeof(int32_t) * N);
    t->weights = malloc(sizeof(float) * N);
    int nc = 0;
    for (int i = 0; i < m->n_info; i++)
        if (m->info[i].trained) nc += (int)((m->info[i].n + ADAM_CHUNK - 1) / ADAM_CHUNK);
    t->chunks = malloc(sizeof(chunk) * (size_t)(nc ? nc : 1));
    t->partial = malloc(sizeof(double) * (size_t)(nc ? nc : 1));
    if (tc->ema > 0 && (t->avg = ts_alloc_floats(P))) memcpy(t->avg, m->params, sizeof(float) * P);
    if (!t->grads || !t->m1 || !t->m2 || !t->g.L || !t->inputs || !t->targets || !t->rows ||
        !t->weights || !t->chunks || !t->partial || (tc->ema > 0 && !t->avg)) {
        ts_trainer_free(t);
        return ts_fail(TS_ERR_NOMEM, "train: out of memory for %zu parameters", P);
    }
    for (int i = 0; i < m->n_info; i++) {
        const ts_param_info *p = &m->info[i];
        if (!p->trained) continue;
        for (size_t o = 0; o < p->n; o += ADAM_CHUNK)
            t->chunks[t->n_chunks++] =
                (chunk){p->off + o, p->n - o < ADAM_CHUNK ? p->n - o : ADAM_CHUNK, p->decay};
    }
    memset(t->grads, 0, sizeof(float) * P);
    memset(t->m1, 0, sizeof(float) * P);
    memset(t->m2, 0, sizeof(float) * P);
    ts_model_bind(m, t->grads, &t->g);
    ts_status s = ts_acts_new(m, tc->batch, tc->seq_len, true, &t->acts);
    if (s) {
        ts_trainer_free(t);
        return s;
    }
    *out = t;
    return TS_OK;
}

int64_t ts_trainer_step_count(const ts_trainer *t) { return t->step; }

ts_status ts_trainer_tie_codes(ts_trainer *t, int code_base, const float *codebook, int K, int dim,
                               uint64_t seed) {
    ts_code_proj_free(t->cp);
    t->cp = NULL;
    return ts_code_proj_new(t->m, code_base, codebook, K, dim, seed, &t->cp);
}

void ts_trainer_set_layout(ts_trainer *t, const int32_t *pos, const int32_t *hide) {
    size_t N = (size_t)t->tc.batch * t->tc.seq_len;
    t->acts.custom_layout = pos && hide;
    if (!t->acts.custom_layout) return;
    memcpy(t->acts.pos, pos, sizeof *pos * N);
    memcpy(t->acts.hide, hide, sizeof *hide * 2 * N);
}

/* Splits [batch, seq_len + 1] into inputs and targets, keeping only the
 * targets the mask counts (the output head runs on those rows alone), with
 * weights that sum to 1. Returns their count. */
static int prepare(ts_trainer *t, const int32_t *tokens, const uint8_t *mask) {
    int B = t->tc.batch, T = t->tc.seq_len, cnt = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            size_t n = (size_t)b * T + i;
            t->inputs[n] = tokens[(size_t)b * (T + 1) + i];
            if (mask && !mask[n]) continue;
            t->rows[cnt] = (int32_t)n;
            t->targets[cnt++] = tokens[(size_t)b * (T + 1) + i + 1];
        }
    for (int r = 0; r < cnt; r++) t->weights[r] = 1.0f / (float)cnt;
    t->acts.head_rows = t->rows;
    t->acts.n_head = cnt;
    return cnt;
}

static ts_status check_tokens(const ts_trainer *t, const int32_t *tokens) {
    size_t n = (size_t)t->tc.batch * (t->tc.seq_len + 1);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->m->c.vocab_size)
            return ts_fail(TS_ERR_INPUT, "train: token %d outside the vocabulary of %d", tokens[i],
                           t->m->c.vocab_size);
    return TS_OK;
}

static void adam_task(void *vctx, int i, int n, int worker) {
    ts_trainer *t = vctx;
    const chunk *c = &t->chunks[i];
    ts_adamw_config ac = {t->lr, t->tc.beta1, t->tc.beta2, t->tc.eps, t->tc.weight_decay};
    ts_adamw_step(&ac, t->lr, t->step + 1, t->m->params + c->off, t->grads + c->off,
                  t->m1 + c->off, t->m2 + c->off, c->n, c->decay);
}

/* Global-norm clipping with the sum of squares split over the pool in
 * fixed chunks and added in chunk order (deterministic). */
typedef struct {
    ts_trainer *t;
    double *partial;
    float scale;
} clip_job;

/* the chunks cover the trained tensors; the untrained one (the router bias) gets no gradient */
static void zero_grads(void *vctx, int i, int n, int worker) {
    ts_trainer *t = vctx;
    memset(t->grads + t->chunks[i].off, 0, sizeof(float) * t->chunks[i].n);
}

static void clip_sum(void *vctx, int i, int n, int worker) {
    clip_job *j = vctx;
    const chunk *c = &j->t->chunks[i];
    const float *g = j->t->grads + c->off;
    double s = 0;
    for (size_t k = 0; k < c->n; k++) s += (double)g[k] * g[k];
    j->partial[i] = s;
}

static void clip_scale(void *vctx, int i, int n, int worker) {
    clip_job *j = vctx;
    const chunk *c = &j->t->chunks[i];
    float *g = j->t->grads + c->off;
    for (size_t k = 0; k < c->n; k++) g[k] *= j->scale;
}

/* extra_ss: the code projection's share of the sum of squares */
static double clip_grads(ts_trainer *t, double extra_ss) {
    clip_job j = {t, t->partial, 1.0f};
    ts_pool_run(t->pool, t->n_chunks, clip_sum, &j);
    double ss = extra_ss;
    for (int i = 0; i < t->n_chunks; i++) ss += t->partial[i];
    double norm = sqrt(ss);
    if (t->tc.clip > 0 && norm > t->tc.clip) {
        j.scale = (float)(t->tc.clip / (norm + 1e-6));
        ts_pool_run(t->pool, t->n_chunks, clip_scale, &j);
        if (t->cp) {
            size_t n = (size_t)t->cp->dim * t->cp->D + t->cp->D;
            for (size_t k = 0; k < n; k++)
                t->cp->g[k] *= j.scale;
        }
    }
    return norm;
}

/* The moving average and its exchange with the weights, over fixed ranges of
 * all of them (the router biases too) */
static int n_ranges(const ts_trainer *t) {
    return (int)((t->m->n_params + ADAM_CHUNK - 1) / ADAM_CHUNK);
}

static size_t range_end(const ts_trainer *t, int i) {
    size_t e = ((size_t)i + 1) * ADAM_CHUNK;
    return e < t->m->n_params ? e : t->m->n_params;
}

static void average_task(void *vctx, int i, int n, int worker) {
    ts_trainer *t = vctx;
    const float *w = t->m->params, k = t->avg_rate;
    float *a = t->avg;
    for (size_t j = (size_t)i * ADAM_CHUNK, e = range_end(t, i); j < e; j++)
        a[j] += k * (w[j] - a[j]);
}

static void swap_task(void *vctx, int i, int n, int worker) {
    ts_trainer *t = vctx;
    float *w = t->m->params, *a = t->avg;
    for (size_t j = (size_t)i * ADAM_CHUNK, e = range_end(t, i); j < e; j++) {
        float x = w[j];
        w[j] = a[j], a[j] = x;
    }
}

void ts_trainer_swap_average(ts_trainer *t) {
    if (t->avg) ts_pool_run(t->pool, n_ranges(t), swap_task, t);
}

/* AdamW on W (decayed) and b (not), then the embedding rows follow */
static void code_proj_step(ts_trainer *t) {
    ts_code_proj *p = t->cp;
    ts_adamw_config ac = {t->lr, t->tc.beta1, t->tc.beta2, t->tc.eps, t->tc.weight_decay};
    size_t nw = (size_t)p->dim * p->D;
    ts_adamw_step(&ac, t->lr, t->step + 1, p->w, p->g, p->m1, p->m2, nw, 1);
    ts_adamw_step(&ac, t->lr, t->step + 1, p->w + nw, p->g + nw, p->m1 + nw, p->m2 + nw,
                  (size_t)p->D, 0);
    ts_code_proj_write_rows(p, t->m->w.tok_embd);
}

static void layer_loads(const ts_trainer *t, int l, int64_t *load) {
    const ts_moe_state *ms = &t->acts.L[l].ms;
    for (int e = 0; e < t->m->c.n_experts; e++) load[e] = ms->offs[e + 1] - ms->offs[e];
}

ts_status ts_trainer_step(ts_trainer *t, const int32_t *tokens, const uint8_t *mask,
                          ts_train_stats *st) {
    ts_status s = check_tokens(t, tokens);
    if (s) return s;
    ts_model *m = t->m;
    const ts_model_config *c = &m->c;
    const int N = t->tc.batch * t->tc.seq_len, H = c->n_heads, E = c->n_experts;
    const ts_moe_dims md = ts_model_moe_dims(c);
    int cnt = prepare(t, tokens, mask);
    ts_pool_run(t->pool, t->n_chunks, zero_grads, t);
    ts_acts *a = &t->acts;
    ts_model_forward(m, t->pool, a, t->inputs, false);
    /* losses, and the logits replaced by their gradient, in one pass */
    ts_cross_entropy_fused(t->pool, a->losses, a->logits, t->targets, t->weights, cnt,
                           c->vocab_size);
    double loss = 0;
    for (int r = 0; r < cnt; r++) loss += (double)t->weights[r] * a->losses[r];
    /* the two small terms */
    double aux = 0, gsum = 0;
    int64_t open = 0;
    for (int l = 0; l < c->n_layers; l++) {
        const float *g = a->L[l].g;
        for (size_t i = 0; i < (size_t)N * H; i++)
            gsum += g[i], open += g[i] > 0.5f;
        int M = ts_acts_block_rows(m, a, l); /* the head's rows balance as one group */
        if (!m->w.L[l].moe || M == 0) continue;
        aux += t->tc.balance_alpha *
               ts_moe_balance_loss(&a->L[l].ms, M, M < N ? M : t->tc.seq_len, md);
    }
    double n_gates = (double)c->n_layers * N * H;
    aux += t->tc.gate_penalty * gsum / n_gates;
    ts_model_backward(m, t->pool, a, t->inputs, &t->g, (float)(t->tc.gate_penalty / n_gates),
                      t->tc.balance_alpha);
    double code_ss = t->cp ? ts_code_proj_backward(t->cp, t->g.tok_embd) : 0;
    double norm = clip_grads(t, code_ss);
    t->lr = ts_lr_schedule(t->step, t->tc.warmup, t->tc.steps, t->tc.lr, t->tc.min_lr);
    ts_pool_run(t->pool, t->n_chunks, adam_task, t);
    if (t->cp) code_proj_step(t);
    /* auxiliary-loss-free balancing: b_e += γ·sign(mean load − load_e) */
    double worst = 0;
    int unused = 0;
    for (int l = 0; l < c->n_layers; l++) {
        if (!m->w.L[l].moe) continue;
        int64_t load[TS_MOE_MAX_EXPERTS];
        layer_loads(t, l, load);
        double mean = (double)ts_acts_block_rows(m, a, l) * c->n_experts_used / E;
        if (mean == 0) continue; /* no answer in the batch: the last block routed nothing */
        for (int e = 0; e < E; e++) {
            double d = mean - (double)load[e];
            m->w.L[l].rbias[e] += t->tc.bias_gamma * (float)((d > 0) - (d < 0));
            if ((double)load[e] / mean > worst) worst = (double)load[e] / mean;
            unused += load[e] == 0;
        }
    }
    t->step++;
    if (t->avg) {
        /* early on the average follows faster, so the first weights do not linger */
        double d = (1.0 + (double)t->step) / (10.0 + (double)t->step);
        t->avg_rate = (float)(1.0 - (d < t->tc.ema ? d : t->tc.ema));
        ts_pool_run(t->pool, n_ranges(t), average_task, t);
    }
    if (st) {
        st->loss = loss;
        st->aux_loss = aux;
        st->grad_norm = norm;
        st->lr = t->lr;
        st->n_targets = cnt;
        st->active_heads = (double)open / n_gates;
        st->load_max_mean = worst;
        st->experts_unused = unused;
    }
    return TS_OK;
}

ts_status ts_trainer_eval(ts_trainer *t, const int32_t *tokens, const uint8_t *mask,
                          double *loss_sum, int *n_targets, int64_t *load) {
    ts_status s = check_tokens(t, tokens);
    if (s) return s;
    const ts_model_config *c = &t->m->c;
    int cnt = prepare(t, tokens, mask);
    ts_acts *a = &t->acts;
    ts_model_forward(t->m, t->pool, a, t->inputs, false);
    ts_cross_entropy_forward(t->pool, a->losses, a->logits, t->targets, t->weights, cnt,
                             c->vocab_size);
    double sum = 0;
    for (int r = 0; r < cnt; r++) sum += a->losses[r];
    *loss_sum = sum;
    *n_targets = cnt;
    if (load)
        for (int l = 0; l < c->n_layers; l++) {
            if (!t->m->w.L[l].moe) continue;
            int64_t ld[TS_MOE_MAX_EXPERTS];
            layer_loads(t, l, ld);
            for (int e = 0; e < c->n_experts; e++) load[(size_t)l * c->n_experts + e] += ld[e];
        }
    return TS_OK;
}

/* ---- checkpoints ------------------------------------------------------------------ */

ts_status ts_trainer_save(const ts_trainer *t, const char *path, const uint64_t *extra,
                          int n_extra) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_status s = ts_model_add_to_gguf(t->m, w);
    int64_t dims[1] = {(int64_t)t->m->n_params};
    if (!s) s = ts_gguf_add_tensor(w, "train.adam_m", TS_DTYPE_F32, dims, 1, t->m1);
    if (!s) s = ts_gguf_add_tensor(w, "train.adam_v", TS_DTYPE_F32, dims, 1, t->m2);
    if (!s && t->avg) s = ts_gguf_add_tensor(w, "train.average", TS_DTYPE_F32, dims, 1, t->avg);
    if (!s && t->cp) {
        int64_t nw[1] = {(int64_t)t->cp->dim * t->cp->D + t->cp->D};
        s = ts_gguf_add_tensor(w, "train.code_proj", TS_DTYPE_F32, nw, 1, t->cp->w);
        if (!s) s = ts_gguf_add_tensor(w, "train.code_proj_m", TS_DTYPE_F32, nw, 1, t->cp->m1);
        if (!s) s = ts_gguf_add_tensor(w, "train.code_proj_v", TS_DTYPE_F32, nw, 1, t->cp->m2);
    }
    if (!s) {
        ts_gguf_set_u64(w, "train.step", (uint64_t)t->step);
        ts_gguf_set_u32(w, "train.batch", (uint32_t)t->tc.batch);
        ts_gguf_set_u32(w, "train.seq_len", (uint32_t)t->tc.seq_len);
        uint64_t none = 0;
        ts_gguf_set_arr(w, "train.extra", TS_GGUF_U64, n_extra ? (const void *)extra : &none,
                        (size_t)n_extra);
        s = ts_gguf_write(w, path);
    }
    ts_gguf_writer_free(w);
    return s;
}

static ts_status load_flat(const ts_gguf *g, const char *path, const char *name, float *dst,
                           size_t n) {
    const ts_gguf_tensor *te = ts_gguf_find_tensor(g, name);
    if (!te || te->n_elements != (int64_t)n)
        return ts_fail(TS_ERR_INPUT, "%s: checkpoint tensor %s is missing or has the wrong size",
                       path, name);
    return ts_gguf_tensor_to_f32(te, dst, (int64_t)n);
}

ts_status ts_trainer_load(ts_trainer *t, const char *path, uint64_t *extra, int max_extra,
                          int *n_extra) {
    ts_gguf *g;
    ts_status s = ts_gguf_open(path, &g);
    if (s) return s;
    ts_model *cm = NULL;
    uint64_t step = 0;
    uint32_t b = 0, T = 0;
    if ((s = ts_model_load_gguf(g, path, &cm))) goto done;
    if (memcmp(&cm->c, &t->m->c, sizeof cm->c) != 0) {
        s = ts_fail(TS_ERR_INPUT, "%s: checkpoint is for another model configuration", path);
        goto done;
    }
    if (ts_gguf_get_u64(g, "train.step", &step) || ts_gguf_get_u32(g, "train.batch", &b) ||
        ts_gguf_get_u32(g, "train.seq_len", &T)) {
        s = ts_fail(TS_ERR_INPUT, "%s: not a training checkpoint (%s)", path, ts_last_error());
        goto done;
    }
    if ((int)b != t->tc.batch || (int)T != t->tc.seq_len) {
        s = ts_fail(TS_ERR_INPUT, "%s: checkpoint was made with batch %u × %u, not %d × %d", path,
                    b, T, t->tc.batch, t->tc.seq_len);
        goto done;
    }
    if ((s = load_flat(g, path, "train.adam_m", t->m1, t->m->n_params))) goto done;
    if ((s = load_flat(g, path, "train.adam_v", t->m2, t->m->n_params))) goto done;
    if (!t->cp != !ts_gguf_find_tensor(g, "train.code_proj")) {
        s = ts_fail(TS_ERR_INPUT, "%s: checkpoint was made %s the codes tied to the codebook", path,
                    t->cp ? "without" : "with");
        goto done;
    }
    if (t->cp) {
        size_t nw = (size_t)t->cp->dim * t->cp->D + t->cp->D;
        if ((s = load_flat(g, path, "train.code_proj", t->cp->w, nw))) goto done;
        if ((s = load_flat(g, path, "train.code_proj_m", t->cp->m1, nw))) goto done;
        if ((s = load_flat(g, path, "train.code_proj_v", t->cp->m2, nw))) goto done;
    }
    ts_gguf_type et;
    const void *data;
    size_t n;
    if (ts_gguf_get_arr(g, "train.extra", &et, &data, &n) || et != TS_GGUF_U64) {
        s = ts_fail(TS_ERR_INPUT, "%s: checkpoint key train.extra is missing", path);
        goto done;
    }
    if (n_extra) *n_extra = (int)(n < (size_t)max_extra ? n : (size_t)max_extra);
    for (size_t i = 0; i < n && i < (size_t)max_extra; i++)
        memcpy(&extra[i], (const uint8_t *)data + 8 * i, 8);
    memcpy(t->m->params, cm->params, sizeof(float) * t->m->n_params);
    if (t->cp) ts_code_proj_write_rows(t->cp, t->m->w.tok_embd);
    if (t->avg && ts_gguf_find_tensor(g, "train.average")) {
        if ((s = load_flat(g, path, "train.average", t->avg, t->m->n_params))) goto done;
    } else if (t->avg) {
        memcpy(t->avg, t->m->params, sizeof(float) * t->m->n_params);
    }
    t->step = (int64_t)step;
done:
    ts_model_free(cm);
    ts_gguf_close(g);
    return s;
}
