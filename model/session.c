/* Inference with a KV cache, and generation. A fresh prompt goes through
 * the batched forward pass (which fills the cache); later tokens one by one.
 * With DRA skipping on, a head whose gate is <= 0.5 at this token computes no
 * query, no scores, no softmax, no value sum and no output projection; its
 * key and value are still cached, since a later token may open the head.
 *
 * One token is memory-bound matrix-vector work (nn/matvec.h) in two rounds
 * of tasks per block: the heads (each its k, v, q, attention and its slice of
 * the output projection), then the FFN in fixed chunks of hidden units (each
 * chunk its gate/up rows, SwiGLU and its slice of the down projection); then
 * the output head in parts of rows. Each task writes its own partial output;
 * the partials are added in a fixed order on the calling thread, so the
 * result does not depend on the number of threads. With a pool, the whole
 * token is one ts_pool_run (see "a token's rounds" below). */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/linear.h"
#include "nn/matvec.h"
#include "nn/rmsnorm.h"
#include "nn/rope.h"
#include "nn/swiglu.h"

/* hidden units per FFN task: 64 rows of gate + up + a 64-column slice of the
 * down projection, about 200 KB of weights at d_model 256 */
#define FFN_CHUNK 64

typedef struct {
    const float *w1, *w3, *w2; /* rows f0.. of gate and up; w2 at column f0, row stride ldw2 */
    int n, ldw2;
    bool stream;  /* a routed expert: its weights pass the caches by */
    float weight; /* mixing weight of the expert (1 for dense and shared) */
} ffn_task;

struct ts_session {
    const ts_model *m;
    ts_pool *pool;
    int max_len, n;
    int32_t *ids; /* [max_len] the tokens fed so far: they place grid codes (ts_grid_cell) */
    bool skip;
    int64_t done, skipped;
    float *kc, *vc; /* [layers, max_len, HD] */
    float *x, *xn;  /* [D] */
    float *gl, *gm; /* [H] gate logits, gate multipliers (0 when closed) */
    float *q, *att; /* [HD] */
    float *scores;  /* [H, max_len] */
    float *hpart;   /* [H, D] each head's share of the output projection */
    float *h, *a;   /* [n_tasks, 2·FFN_CHUNK], [n_tasks, FFN_CHUNK] */
    float *fpart;   /* [n_tasks, D] each FFN task's share of the down projection */
    float *s;       /* [E] router affinities */
    float *logits;  /* [V] */
    float *gmix;    /* [(W+1)D] grid mixing's scratch (ts_grid_mix_token; W neighbours) */
    ts_scratch scratch; /* a prefill's activations, kept for the next one */
    int max_tasks, n_tasks;
    ffn_task *tasks;
    int *order;          /* [H] heads in task order: the open ones first */
    struct team_s *team; /* while a token runs on the pool's threads */
    int sel[TS_MOE_MAX_EXPERTS];
    float mix[TS_MOE_MAX_EXPERTS];
    void *mem;
};

static int chunks(int F) { return (F + FFN_CHUNK - 1) / FFN_CHUNK; }

ts_status ts_session_new(const ts_model *m, int max_len, ts_session **out) {
    const ts_model_config *c = &m->c;
    if (max_len <= 0 || max_len > c->context) max_len = c->context;
    size_t H = (size_t)c->n_heads, HD = H * c->head_dim, D = (size_t)c->d_model;
    int dense_tasks = c->n_dense_layers > 0 ? chunks(c->ffn_hidden) : 0;
    int moe_tasks = c->n_dense_layers < c->n_layers
                        ? (c->n_experts_used + c->n_shared) * chunks(c->expert_hidden)
                        : 0;
    size_t T = (size_t)(dense_tasks > moe_tasks ? dense_tasks : moe_tasks);
    if (T < 1) T = 1;
    size_t cache = (size_t)c->n_layers * max_len * HD;
    const size_t gmix = c->grid_mix ? (size_t)(ts_grid_mix_width(c) + 1) * D : 0;
    size_t sizes[] = {
        cache,                    /* kc */
        cache,                    /* vc */
        D,                        /* x */
        D,                        /* xn */
        H,                        /* gl */
        H,                        /* gm */
        HD,                       /* q */
        HD,                       /* att */
        H * (size_t)max_len,      /* scores */
        H * D,                    /* hpart */
        T * 2 * FFN_CHUNK,        /* h */
        T * FFN_CHUNK,            /* a */
        T * D,                    /* fpart */
        (size_t)c->n_experts + 1, /* s */
        (size_t)c->vocab_size,    /* logits */
        gmix,                     /* gmix */
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        total += (sizes[i] + 15) & ~(size_t)15;
    ts_session *s = calloc(1, sizeof *s);
    float *mem = ts_alloc_floats(total);
    ffn_task *tasks = calloc(T, sizeof *tasks);
    int *order = calloc(H, sizeof *order);
    int32_t *ids = calloc((size_t)max_len, sizeof *ids);
    if (!s || !mem || !tasks || !order || !ids) {
        free(s);
        free(mem);
        free(tasks);
        free(order);
        free(ids);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory for a KV cache of %d tokens", max_len);
    }
    float **ptrs[] = {&s->kc,    &s->vc,  &s->x,      &s->xn,    &s->gl, &s->gm,
                      &s->q,     &s->att, &s->scores, &s->hpart, &s->h,  &s->a,
                      &s->fpart, &s->s,   &s->logits, &s->gmix};
    size_t off = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        *ptrs[i] = mem + off;
        off += (sizes[i] + 15) & ~(size_t)15;
    }
    s->m = m, s->max_len = max_len, s->mem = mem, s->skip = true;
    s->tasks = tasks, s->max_tasks = (int)T, s->order = order, s->ids = ids;
    *out = s;
    return TS_OK;
}

void ts_session_free(ts_session *s) {
    if (!s) return;
    free(s->tasks);
    free(s->order);
    free(s->ids);
    free(s->scratch.mem);
    free(s->mem);
    free(s);
}

void ts_session_reset(ts_session *s) { s->n = 0, s->done = 0, s->skipped = 0; }
ts_status ts_session_truncate(ts_session *s, int n) {
    if (n < 0 || n > s->n)
        return ts_fail(TS_ERR_USAGE, "model: cannot keep %d tokens of a session holding %d", n,
                       s->n);
    /* the cached keys and values of positions >= n are overwritten by the
     * next feed; those below n do not depend on anything after them */
    s->n = n;
    return TS_OK;
}

ts_status ts_session_copy(ts_session *dst, const ts_session *src) {
    if (dst->m != src->m || dst->max_len < src->n)
        return ts_fail(TS_ERR_USAGE, "model: cannot copy a session of %d tokens into one of %d%s",
                       src->n, dst->max_len, dst->m != src->m ? " of another model" : "");
    /* each layer's keys and values are max_len rows apart */
    const ts_model_config *c = &src->m->c;
    const size_t HD = (size_t)c->n_heads * c->head_dim, rows = (size_t)src->n * HD;
    for (int l = 0; l < c->n_layers; l++) {
        memcpy(dst->kc + (size_t)l * dst->max_len * HD, src->kc + (size_t)l * src->max_len * HD,
               sizeof(float) * rows);
        memcpy(dst->vc + (size_t)l * dst->max_len * HD, src->vc + (size_t)l * src->max_len * HD,
               sizeof(float) * rows);
    }
    memcpy(dst->ids, src->ids, sizeof *src->ids * (size_t)src->n);
    memcpy(dst->logits, src->logits, sizeof(float) * (size_t)c->vocab_size);
    dst->n = src->n, dst->done = src->done, dst->skipped = src->skipped;
    return TS_OK;
}
const ts_model *ts_session_model(const ts_session *s) { return s->m; }
int ts_session_length(const ts_session *s) { return s->n; }
void ts_session_set_dra_skip(ts_session *s, bool skip) { s->skip = skip; }
void ts_session_set_pool(ts_session *s, ts_pool *pool) { s->pool = pool; }
void ts_session_head_work(const ts_session *s, int64_t *done, int64_t *skipped) {
    *done = s->done, *skipped = s->skipped;
}

/* ---- one token -------------------------------------------------------------------------- */

typedef struct {
    ts_session *s;
    const ts_layer_w *W;
    float *kc, *vc; /* this layer's cache */
    int32_t pos;    /* the token's index: its cache row */
    int32_t row, col; /* its RoPE positions */
} step_job;

/* head order[i]: its key and value (cached), then, when the head is open or
 * skipping is off, query, scores over pos + 1 keys, softmax, value sum, the
 * gate multiplier and its slice of the output projection into hpart[h] */
static void head_task(void *vctx, int i, int n, int worker) {
    const step_job *j = vctx;
    ts_session *s = j->s;
    const ts_model *m = s->m;
    const ts_model_config *c = &m->c;
    const int h = s->order[i], D = c->d_model, hd = c->head_dim, HD = c->n_heads * hd;
    const size_t ho = (size_t)h * hd;
    float *k = j->kc + (size_t)j->pos * HD + ho, *v = j->vc + (size_t)j->pos * HD + ho;
    ts_matvec(k, j->W->wqkvg + (HD + ho) * D, hd, D, D, s->xn);
    ts_matvec(v, j->W->wqkvg + (2 * HD + ho) * D, hd, D, D, s->xn);
    ts_rope_forward(k, hd, 1, 1, hd, &j->row, &j->col, m->rope_cos, m->rope_sin);
    const float mult = s->gm[h];
    if (mult == 0.0f && s->skip) return;
    float *q = s->q + ho, *att = s->att + ho, *sc = s->scores + (size_t)h * s->max_len;
    ts_matvec(q, j->W->wqkvg + ho * D, hd, D, D, s->xn);
    ts_rope_forward(q, hd, 1, 1, hd, &j->row, &j->col, m->rope_cos, m->rope_sin);
    /* scores = K q / sqrt(hd) over the cached keys of this head (row stride HD) */
    const int len = j->pos + 1;
    ts_matvec(sc, j->kc + ho, len, hd, HD, q);
    const float scale = 1.0f / sqrtf((float)hd);
    float mx = -INFINITY, sum = 0;
    for (int t = 0; t < len; t++)
        mx = fmaxf(mx, sc[t] *= scale);
    for (int t = 0; t < len; t++)
        sum += (sc[t] = expf(sc[t] - mx));
    const float inv = mult / sum; /* the gate multiplier folded into the softmax */
    for (int t = 0; t < len; t++)
        sc[t] *= inv;
    memset(att, 0, sizeof(float) * (size_t)hd);
    ts_vecmat_acc(att, sc, j->vc + ho, len, hd, HD);
    ts_matvec(s->hpart + (size_t)h * D, j->W->wo + ho, D, hd, HD, att);
}

/* FFN task t: SwiGLU over its hidden units, its share of the down projection */
static void ffn_task_run(void *vctx, int t, int n, int worker) {
    const step_job *j = vctx;
    ts_session *s = j->s;
    const int D = s->m->c.d_model;
    const ffn_task *f = &s->tasks[t];
    float *h = s->h + (size_t)t * 2 * FFN_CHUNK, *a = s->a + (size_t)t * FFN_CHUNK;
    void (*mv)(float *, const float *, int, int, int, const float *) =
        f->stream ? ts_matvec_stream : ts_matvec;
    mv(h, f->w1, f->n, D, D, s->xn);
    mv(h + f->n, f->w3, f->n, D, D, s->xn);
    ts_swiglu_forward(a, h, 1, f->n);
    mv(s->fpart + (size_t)t * D, f->w2, D, f->n, f->ldw2, a);
}

/* one expert (or the dense FFN) [F hidden units] as tasks of FFN_CHUNK units */
static void add_ffn(ts_session *s, const float *w1, const float *w3, const float *w2, int F,
                    float weight, bool stream) {
    const int D = s->m->c.d_model;
    for (int f0 = 0; f0 < F; f0 += FFN_CHUNK) {
        ffn_task *t = &s->tasks[s->n_tasks++];
        t->n = F - f0 < FFN_CHUNK ? F - f0 : FFN_CHUNK;
        t->w1 = w1 + (size_t)f0 * D, t->w3 = w3 + (size_t)f0 * D, t->w2 = w2 + f0;
        t->ldw2 = F, t->weight = weight, t->stream = stream;
    }
}

/* DeepSeek-V3 routing of one token: affinities, top K of affinity + bias,
 * mixing weights renormalised over the selected */
static void route(ts_session *s, const ts_layer_w *W) {
    const ts_model_config *c = &s->m->c;
    const int E = c->n_experts, K = c->n_experts_used, D = c->d_model;
    ts_matvec(s->s, W->router, E, D, D, s->xn);
    for (int e = 0; e < E; e++)
        s->s[e] = 1.0f / (1.0f + expf(-s->s[e]));
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
    for (int k = 0; k < K; k++)
        s->mix[k] = s->s[s->sel[k]] / sum;
}

typedef struct {
    float *y;
    const float *W, *x;
    int rows, cols, parts;
} rows_job;

static void rows_part(void *vctx, int p, int np, int worker) {
    const rows_job *j = vctx;
    int r0 = ts_part_begin(j->rows, p, j->parts), r1 = ts_part_begin(j->rows, p + 1, j->parts);
    if (r1 > r0) ts_matvec(j->y + r0, j->W + (size_t)r0 * j->cols, r1 - r0, j->cols, j->cols, j->x);
}

/* ---- a token's rounds of tasks over the pool -----------------------------------------------
 * One ts_pool_run per token: the calling thread runs the token (pool task 0)
 * and the workers (tasks 1..) help with each round of tasks, claiming them
 * one by one from a shared word [round:24 | count:20 | next:20]. A claim is
 * a compare-and-swap on that word, so it can only take a task of the round
 * still open. Every task writes its own outputs with the same code whoever
 * runs it, so the bytes do not depend on who claims what; and a worker that
 * a busy machine keeps off the CPU holds up nothing: the calling thread
 * takes what is left and waits only for tasks already claimed, and at most
 * once per token for a worker to come back. */

#define ROUND_SHIFT 40
#define COUNT_SHIFT 20
#define FIELD_MASK ((UINT64_C(1) << COUNT_SHIFT) - 1)
#define ROUND_DONE UINT64_C(0xFFFFFF) /* the token is finished: workers return */
#define MAX_TASKS ((int)FIELD_MASK)

typedef struct team_s {
    _Atomic uint64_t word;
    atomic_int done; /* tasks finished in the open round */
    uint64_t round;
    ts_task_fn fn; /* of the open round: read only after a successful claim */
    void *ctx;
} team;

static void spin_pause(int *spins) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (++*spins >= 256) *spins = 0, sched_yield();
}

/* claims and runs tasks of the open round until none is left; false once the
 * token is finished */
static bool help(team *tm, int worker) {
    uint64_t w = atomic_load_explicit(&tm->word, memory_order_acquire);
    for (;;) {
        uint64_t round = w >> ROUND_SHIFT, next = w & FIELD_MASK;
        if (round == ROUND_DONE) return false;
        if (next >= ((w >> COUNT_SHIFT) & FIELD_MASK)) return true;
        if (atomic_compare_exchange_weak_explicit(&tm->word, &w, w + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            tm->fn(tm->ctx, (int)next, 0, worker);
            atomic_fetch_add_explicit(&tm->done, 1, memory_order_release);
            w = atomic_load_explicit(&tm->word, memory_order_acquire);
        }
    }
}

/* runs tasks 0..count-1 of fn, with whatever workers are there */
static void run_tasks(ts_session *s, int count, ts_task_fn fn, void *ctx) {
    team *tm = s->team;
    if (!tm || count <= 1 || count > MAX_TASKS) {
        for (int t = 0; t < count; t++)
            fn(ctx, t, count, 0);
        return;
    }
    tm->fn = fn, tm->ctx = ctx, tm->round++;
    atomic_store_explicit(&tm->done, 0, memory_order_relaxed);
    atomic_store_explicit(&tm->word, tm->round << ROUND_SHIFT | (uint64_t)count << COUNT_SHIFT,
                          memory_order_release);
    help(tm, 0);
    for (int spins = 0; atomic_load_explicit(&tm->done, memory_order_acquire) < count;)
        spin_pause(&spins);
}

static void step(ts_session *s, int32_t id, bool want_logits);

typedef struct {
    ts_session *s;
    team tm;
    int32_t id;
    bool want_logits;
} token_job;

static void token_task(void *vctx, int i, int n, int worker) {
    token_job *j = vctx;
    if (i == 0) { /* the calling thread (pool task 0) */
        j->s->team = &j->tm;
        step(j->s, j->id, j->want_logits);
        j->s->team = NULL;
        atomic_store_explicit(&j->tm.word, ROUND_DONE << ROUND_SHIFT, memory_order_release);
        return;
    }
    uint64_t seen = 0;
    for (int spins = 0;;) {
        uint64_t w = atomic_load_explicit(&j->tm.word, memory_order_acquire);
        uint64_t round = w >> ROUND_SHIFT;
        if (round == ROUND_DONE) return;
        if (round != seen) {
            if (!help(&j->tm, worker)) return;
            seen = round, spins = 0;
        } else {
            spin_pause(&spins);
        }
    }
}

/* one token through the model, on the pool's threads when there are several */
static void step_pooled(ts_session *s, int32_t id, bool want_logits) {
    int threads = ts_pool_threads(s->pool);
    if (threads <= 1) {
        step(s, id, want_logits);
        return;
    }
    token_job j = {.s = s, .id = id, .want_logits = want_logits};
    atomic_init(&j.tm.word, 0);
    atomic_init(&j.tm.done, 0);
    ts_pool_run(s->pool, threads, token_task, &j);
}

static void step(ts_session *s, int32_t id, bool want_logits) {
    const ts_model *m = s->m;
    const ts_model_config *c = &m->c;
    const int D = c->d_model, H = c->n_heads, hd = c->head_dim, HD = H * hd;
    const int K = c->n_experts_used;
    const int pos = s->n;
    const int cell = ts_grid_cell(c, s->ids, pos); /* -1 without a grid */
    int32_t row, col;
    ts_grid_place(c, NULL, pos, cell, &row, &col);
    memcpy(s->x, m->w.tok_embd + (size_t)id * D, sizeof(float) * (size_t)D);
    if (c->grid_mix) ts_grid_mix_token(m, s->ids, pos, cell, s->gmix, s->x);
    for (int l = 0; l < c->n_layers; l++) {
        const ts_layer_w *W = &m->w.L[l];
        step_job j = {
            s,   W,  s->kc + (size_t)l * s->max_len * HD, s->vc + (size_t)l * s->max_len * HD, pos,
            row, col};
        /* x += Σ_h m_h · Attn_h(RMSNorm(x)) · wo_hᵀ */
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->attn_norm, 1, D, c->norm_eps);
        ts_matvec(s->gl, W->wqkvg + (size_t)3 * HD * D, H, D, D, s->xn);
        int open = 0;
        for (int h = 0; h < H; h++) {
            float g = 1.0f / (1.0f + expf(-(s->gl[h] + W->bgate[h])));
            s->gm[h] = g > 0.5f ? g : 0.0f;
            if (s->gm[h] != 0.0f) s->order[open++] = h;
        }
        for (int h = 0, k = open; h < H; h++)
            if (s->gm[h] == 0.0f) s->order[k++] = h;
        s->done += s->skip ? open : H;
        s->skipped += s->skip ? H - open : 0;
        run_tasks(s, H, head_task, &j);
        for (int h = 0; h < H; h++) {
            if (s->skip && s->gm[h] == 0.0f) continue;
            const float *p = s->hpart + (size_t)h * D;
            for (int i = 0; i < D; i++)
                s->x[i] += p[i];
        }
        /* x += FFN(RMSNorm(x)) */
        ts_rmsnorm_forward(s->xn, NULL, s->x, W->ffn_norm, 1, D, c->norm_eps);
        s->n_tasks = 0;
        if (!W->moe) {
            const int F = c->ffn_hidden;
            add_ffn(s, W->w13, W->w13 + (size_t)F * D, W->w2, F, 1.0f, false);
        } else {
            const int Fe = c->expert_hidden;
            route(s, W);
            if (c->n_shared) add_ffn(s, W->sw13, W->sw13 + (size_t)Fe * D, W->sw2, Fe, 1.0f, false);
            for (int k = 0; k < K; k++) {
                size_t fo = (size_t)s->sel[k] * Fe * D;
                add_ffn(s, W->ew1 + fo, W->ew3 + fo, W->ew2 + fo, Fe, s->mix[k], true);
            }
        }
        run_tasks(s, s->n_tasks, ffn_task_run, &j);
        /* in task order: the dense chunks, or the shared expert then the routed ones */
        for (int t = 0; t < s->n_tasks; t++) {
            const float *p = s->fpart + (size_t)t * D, w = s->tasks[t].weight;
            if (w == 1.0f)
                for (int i = 0; i < D; i++)
                    s->x[i] += p[i];
            else
                for (int i = 0; i < D; i++)
                    s->x[i] += w * p[i];
        }
    }
    s->n++;
    if (!want_logits) return;
    ts_rmsnorm_forward(s->xn, NULL, s->x, m->w.out_norm, 1, D, c->norm_eps);
    /* the output head in parts of about 256 rows */
    rows_job rj = {s->logits, m->w.output, s->xn, c->vocab_size, D, (c->vocab_size + 255) / 256};
    run_tasks(s, rj.parts, rows_part, &rj);
}

static ts_status check_feed(const ts_session *s, const int32_t *ids, int n) {
    if (s->n + n > s->max_len)
        return ts_fail(TS_ERR_INPUT, "model: %d tokens do not fit the KV cache of %d", s->n + n,
                       s->max_len);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->m->c.vocab_size)
            return ts_fail(TS_ERR_INPUT, "model: token %d is outside the vocabulary of %d", ids[i],
                           s->m->c.vocab_size);
    return TS_OK;
}

/* Rows of one batched prefill: enough for the products to run near the
 * BLAS peak, few enough that the activations stay under about 30 MB */
#define PREFILL_ROWS 1024

/* Fresh prompts of n > 1 tokens each (checked), one per empty session of
 * one model, in batched passes of up to PREFILL_ROWS rows that fill every
 * session's cache: one forward over several prompts makes larger products
 * than a forward per prompt. Only each prompt's last logits are wanted, so
 * the head and the last block's FFN run on those rows alone. */
static ts_status prefill(ts_session *const *s, int n_s, const int32_t *const *ids, int n,
                         ts_pool *pool) {
    const ts_model *m = s[0]->m;
    const size_t V = (size_t)m->c.vocab_size;
    const int group = n < PREFILL_ROWS ? PREFILL_ROWS / n : 1;
    int32_t *flat = malloc(sizeof *flat * (size_t)group * n), *last = malloc(sizeof *last * group);
    float **caches = malloc(sizeof *caches * 2 * group);
    ts_status st = flat && last && caches ? TS_OK : ts_fail(TS_ERR_NOMEM, "model: out of memory");
    for (int g0 = 0; !st && g0 < n_s; g0 += group) {
        const int B = n_s - g0 < group ? n_s - g0 : group;
        ts_acts a;
        if ((st = ts_acts_new_head(m, B, n, B, &s[0]->scratch, &a))) break;
        for (int b = 0; b < B; b++) {
            memcpy(flat + (size_t)b * n, ids[g0 + b], sizeof *flat * (size_t)n);
            last[b] = b * n + n - 1;
            caches[b] = s[g0 + b]->kc, caches[B + b] = s[g0 + b]->vc;
        }
        a.kcache = caches, a.vcache = caches + B, a.cache_len = s[0]->max_len;
        a.head_rows = last, a.n_head = B;
        ts_model_forward(m, pool, &a, flat, false);
        for (int b = 0; b < B; b++) {
            ts_session *sb = s[g0 + b];
            memcpy(sb->ids, ids[g0 + b], sizeof *sb->ids * (size_t)n);
            memcpy(sb->logits, a.logits + V * b, sizeof(float) * V);
            sb->n = n;
        }
        ts_acts_free(&a);
    }
    free(flat);
    free(last);
    free(caches);
    return st;
}

ts_status ts_session_feed(ts_session *s, const int32_t *ids, int n, float *logits) {
    ts_status st = check_feed(s, ids, n);
    if (st) return st;
    if (s->n == 0 && n > 1) {
        if ((st = prefill(&s, 1, &ids, n, s->pool))) return st;
    } else {
        memcpy(s->ids + s->n, ids, sizeof *ids * (size_t)n);
        for (int i = 0; i < n; i++)
            step_pooled(s, ids[i], logits && i == n - 1);
    }
    if (logits && n > 0) memcpy(logits, s->logits, sizeof(float) * (size_t)s->m->c.vocab_size);
    return TS_OK;
}

ts_status ts_model_generate(const ts_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            const ts_sampler *sp, int32_t eos, double max_seconds, ts_token_cb cb,
                            void *user, int *n_made) {
    return ts_model_generate_views(m, NULL, &prompt, &n_prompt, 1, max_new, sp, eos, max_seconds,
                                   cb, user, n_made);
}

/* one feed per session, each into its own row of logits */
typedef struct {
    ts_session *const *s;
    const int32_t *const *ids;
    const int *n;
    float *logits;
    ts_status *st;
} feed_job;

static void feed_one(void *ctx, int i, int count, int worker) {
    (void)count, (void)worker;
    const feed_job *j = ctx;
    const size_t V = (size_t)j->s[i]->m->c.vocab_size;
    j->st[i] = ts_session_feed(j->s[i], j->ids[i], j->n[i], j->logits ? j->logits + V * i : NULL);
}

ts_status ts_sessions_feed(ts_session *const *s, int n_s, ts_pool *pool, const int32_t *const *ids,
                           const int *n, float *logits) {
    if (n_s < 1) return TS_OK;
    /* fresh prompts of one length (the views of one input): one batched pass */
    bool batch = n_s > 1 && n[0] > 1;
    for (int i = 0; batch && i < n_s; i++)
        batch =
            s[i]->m == s[0]->m && s[i]->n == 0 && n[i] == n[0] && s[i]->max_len == s[0]->max_len;
    ts_status st = TS_OK;
    if (batch) {
        for (int i = 0; !st && i < n_s; i++)
            st = check_feed(s[i], ids[i], n[i]);
        if (!st) st = prefill(s, n_s, ids, n[0], pool);
        const size_t V = (size_t)s[0]->m->c.vocab_size;
        for (int i = 0; !st && logits && i < n_s; i++)
            memcpy(logits + V * i, s[i]->logits, sizeof(float) * V);
        return st;
    }
    ts_status *sts = calloc((size_t)n_s, sizeof *sts);
    if (!sts) return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    feed_job j = {s, ids, n, logits, sts};
    if (pool && n_s > 1 && ts_pool_threads(pool) > 1)
        ts_pool_run(pool, n_s, feed_one, &j);
    else
        for (int i = 0; i < n_s; i++)
            feed_one(&j, i, n_s, 0);
    for (int i = 0; !st && i < n_s; i++)
        st = sts[i];
    free(sts);
    return st;
}

/* out = the mean over views of log softmax(logits[v]) */
static void mean_log_softmax(const float *logits, int n_views, int V, float *out) {
    memset(out, 0, sizeof *out * (size_t)V);
    for (int v = 0; v < n_views; v++) {
        const float *l = logits + (size_t)v * V;
        float mx = l[0];
        for (int i = 1; i < V; i++)
            mx = l[i] > mx ? l[i] : mx;
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += exp((double)(l[i] - mx));
        const float shift = mx + (float)log(sum);
        for (int i = 0; i < V; i++)
            out[i] += (l[i] - shift) / (float)n_views;
    }
}

struct ts_generator {
    const ts_model *m;
    ts_session **s; /* [cap] one per view, made when first needed */
    int cap;
    int len;              /* the tokens every session's cache holds */
    float *logits;        /* [V·(cap + 3)]: a row per view, the mixed row, the sampler's 2V */
    const int32_t **next; /* [cap] each view's next token: the one drawn */
    int *ones;            /* [cap] */
};

ts_status ts_generator_new(const ts_model *m, ts_generator **out) {
    ts_generator *g = calloc(1, sizeof *g);
    if (!g) return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    g->m = m;
    *out = g;
    return TS_OK;
}

void ts_generator_free(ts_generator *g) {
    if (!g) return;
    for (int v = 0; v < g->cap; v++)
        ts_session_free(g->s[v]);
    free(g->s);
    free(g->logits);
    free(g->next);
    free(g->ones);
    free(g);
}

/* Room for n_views views whose caches hold need tokens. Every session has
 * the one length g->len, so the views' prompts always go through one
 * batched pass (ts_sessions_feed batches caches of one length only); the
 * sessions are made again only when an item needs longer caches, so a run
 * of similar items settles on one set. */
static ts_status generator_fit(ts_generator *g, int n_views, int need) {
    if (n_views > g->cap) {
        ts_session **s = realloc(g->s, sizeof *s * (size_t)n_views);
        if (!s) return ts_fail(TS_ERR_NOMEM, "model: out of memory");
        memset(s + g->cap, 0, sizeof *s * (size_t)(n_views - g->cap));
        g->s = s;
        float *logits = ts_alloc_floats((size_t)g->m->c.vocab_size * ((size_t)n_views + 3));
        const int32_t **next = calloc((size_t)n_views, sizeof *next);
        int *ones = calloc((size_t)n_views, sizeof *ones);
        if (!logits || !next || !ones) {
            free(logits), free(next), free(ones);
            return ts_fail(TS_ERR_NOMEM, "model: out of memory");
        }
        free(g->logits), free(g->next), free(g->ones);
        g->logits = logits, g->next = next, g->ones = ones, g->cap = n_views;
    }
    if (need > g->len) {
        for (int v = 0; v < g->cap; v++) {
            ts_session_free(g->s[v]);
            g->s[v] = NULL;
        }
        g->len = need;
    }
    for (int v = 0; v < n_views; v++) {
        if (g->s[v]) {
            ts_session_reset(g->s[v]);
            continue;
        }
        ts_status st = ts_session_new(g->m, g->len, &g->s[v]);
        if (st) return st;
    }
    return TS_OK;
}

/* Checks the views' prompts, and sets *need to the cache length an answer
 * of up to max_new tokens can take: a few hundred KB per view rather than
 * the whole context's MB. */
static ts_status answer_room(const ts_model *m, const int *n_prompts, int n_views, int max_new,
                             int *need) {
    if (n_views < 1) return ts_fail(TS_ERR_USAGE, "model: generation needs a view");
    *need = 0;
    for (int v = 0; v < n_views; v++) {
        if (n_prompts[v] < 1) return ts_fail(TS_ERR_USAGE, "model: generation needs a prompt");
        int n = max_new > m->c.context - n_prompts[v] ? m->c.context : n_prompts[v] + max_new;
        *need = n > *need ? n : *need;
    }
    return TS_OK;
}

ts_status ts_generator_run(ts_generator *g, ts_pool *pool, const int32_t *const *prompts,
                           const int *n_prompts, int n_views, int max_new, const ts_sampler *sp,
                           int32_t eos, double max_seconds, ts_token_cb cb, void *user,
                           int *n_made) {
    const ts_model *m = g->m;
    *n_made = 0;
    int need;
    ts_status st = answer_room(m, n_prompts, n_views, max_new, &need);
    if (st) return st;
    st = generator_fit(g, n_views, need);
    if (st) return st;
    const int V = m->c.vocab_size;
    ts_session **s = g->s;
    float *logits = g->logits;
    float *mixed = n_views > 1 ? logits + (size_t)V * n_views : logits;
    double t0 = ts_now();
    ts_rng rng;
    ts_rng_seed(&rng, sp->seed);
    st = ts_sessions_feed(s, n_views, pool, prompts, n_prompts, logits);
    /* every later feed is the drawn token, to every view */
    int32_t id = 0;
    const int32_t **next = g->next;
    int *ones = g->ones;
    for (int v = 0; v < n_views; v++)
        next[v] = &id, ones[v] = 1;
    for (int i = 0; !st && i < max_new; i++) {
        if (n_views > 1) mean_log_softmax(logits, n_views, V, mixed);
        id = ts_sample(sp, mixed, V, &rng, logits + (size_t)V * (n_views + 1));
        ++*n_made;
        if (!cb(id, user) || id == eos) break;
        bool full = false;
        for (int v = 0; v < n_views; v++)
            full |= s[v]->n >= s[v]->max_len;
        if (full) break;
        if (max_seconds > 0 && ts_now() - t0 >= max_seconds) break;
        if (i + 1 < max_new) st = ts_sessions_feed(s, n_views, pool, next, ones, logits);
    }
    return st;
}

/* ---- beam search ------------------------------------------------------- */

/* One caption of a beam: its tokens, their summed mean log-probability, and
 * the slot (a set of n_views sessions) whose caches hold it. */
typedef struct {
    int32_t *ids;
    int n;
    double score;
    int slot;
} beam_hyp;

static bool ends_answer(int32_t id, int32_t eos, int32_t end_from) {
    return id == eos || (end_from >= 0 && id >= end_from);
}

/* The width likeliest tokens of row[V], likeliest first, ties to the lower
 * id (the greedy pick). */
static void top_tokens(const float *row, int V, int width, int32_t *top) {
    for (int t = 0; t < width; t++) {
        int32_t best = -1;
        for (int i = 0; i < V; i++) {
            if (best >= 0 && row[i] <= row[best]) continue;
            bool taken = false;
            for (int u = 0; u < t && !taken; u++)
                taken = top[u] == i;
            if (!taken) best = i;
        }
        top[t] = best;
    }
}

ts_status ts_generator_beam(ts_generator *g, ts_pool *pool, const int32_t *const *prompts,
                            const int *n_prompts, int n_views, int max_new, int width, int32_t eos,
                            int32_t end_from, double max_seconds, const volatile sig_atomic_t *stop,
                            ts_token_cb cb, void *user, int *n_made) {
    *n_made = 0;
    if (width < 1 || width > TS_MAX_BEAM)
        return ts_fail(TS_ERR_USAGE, "model: a beam of %d (1 to %d)", width, TS_MAX_BEAM);
    const ts_model *m = g->m;
    int need;
    ts_status st = answer_room(m, n_prompts, n_views, max_new, &need);
    if (st) return st;
    /* every view's answer must fit: the search ends captions at max_new */
    for (int v = 0; v < n_views; v++)
        if (max_new > m->c.context - n_prompts[v]) max_new = m->c.context - n_prompts[v];
    if (max_new < 1) return TS_OK;
    const int K = n_views, V = m->c.vocab_size, W = width < V ? width : V;
    st = generator_fit(g, W * K, need);
    if (st) return st;
    /* rows: live caption i's views at rows i·K.., then the mixed row */
    float *rows = g->logits, *mixed = g->logits + (size_t)V * W * K;
    /* live captions, their W·W extensions and the best that ended, whose
     * tokens come from one block; the sessions fed in one step */
    beam_hyp live[TS_MAX_BEAM], cand[TS_MAX_BEAM * TS_MAX_BEAM], best = {.n = -1};
    int32_t *ids = malloc(sizeof *ids * (size_t)max_new * (size_t)(W + W * W + 1));
    ts_session **fed_s = malloc(sizeof *fed_s * (size_t)(W * K));
    if (!ids || !fed_s) {
        free(ids), free(fed_s);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    }
    for (int i = 0; i < W; i++)
        live[i].ids = ids + (size_t)max_new * i;
    for (int i = 0; i < W * W; i++)
        cand[i].ids = ids + (size_t)max_new * (W + i);
    best.ids = ids + (size_t)max_new * (W + W * W);
    const double t0 = ts_now();
    st = ts_sessions_feed(g->s, K, pool, prompts, n_prompts, rows);
    live[0].n = 0, live[0].score = 0, live[0].slot = 0;
    int n_live = 1;
    int32_t fed[TS_MAX_BEAM];
    while (!st && n_live > 0) {
        if (stop && *stop) {
            best.n = 0;
            break;
        }
        /* every live caption's W likeliest extensions */
        int n_cand = 0;
        for (int h = 0; h < n_live; h++) {
            const beam_hyp *p = &live[h];
            mean_log_softmax(rows + (size_t)V * h * K, K, V, mixed);
            int32_t top[TS_MAX_BEAM];
            top_tokens(mixed, V, W, top);
            for (int t = 0; t < W; t++) {
                beam_hyp *c = &cand[n_cand++];
                memcpy(c->ids, p->ids, sizeof *p->ids * (size_t)p->n);
                c->n = p->n, c->score = p->score + mixed[top[t]], c->slot = p->slot;
                c->ids[c->n++] = top[t];
            }
        }
        /* likeliest first; equal scores keep their order (parent, then
         * token) */
        for (int i = 1; i < n_cand; i++)
            for (int j = i; j > 0 && cand[j].score > cand[j - 1].score; j--) {
                beam_hyp t = cand[j];
                cand[j] = cand[j - 1], cand[j - 1] = t;
            }
        /* down the list, those that end (at an end token, or at max_new
         * tokens) are set aside and the best of them kept; the first W
         * others go on unless they score no higher than it (log
         * probabilities only fall) */
        int go[TS_MAX_BEAM], n_go = 0;
        for (int i = 0; i < n_cand && n_go < W; i++) {
            const beam_hyp *c = &cand[i];
            if (ends_answer(c->ids[c->n - 1], eos, end_from) || c->n == max_new) {
                if (best.n < 0 || c->score > best.score) {
                    memcpy(best.ids, c->ids, sizeof *c->ids * (size_t)c->n);
                    best.n = c->n, best.score = c->score;
                }
            } else if (best.n < 0 || c->score > best.score) {
                go[n_go++] = i;
            }
        }
        if (n_go == 0) break;
        if (max_seconds > 0 && ts_now() - t0 >= max_seconds) {
            if (best.n < 0) {
                memcpy(best.ids, cand[go[0]].ids, sizeof *best.ids * (size_t)cand[go[0]].n);
                best.n = cand[go[0]].n;
            }
            break;
        }
        /* slots: a caption keeps its parent's slot unless a likelier
         * sibling took it; the others take a free slot, a copy of their
         * parent's made before any slot is fed */
        bool taken[TS_MAX_BEAM] = {false};
        int slot[TS_MAX_BEAM];
        for (int i = 0; i < n_go; i++) {
            const int parent = cand[go[i]].slot;
            slot[i] = taken[parent] ? -1 : parent;
            if (slot[i] >= 0) taken[parent] = true;
        }
        for (int i = 0; !st && i < n_go; i++) {
            if (slot[i] >= 0) continue;
            int free_slot = 0;
            while (taken[free_slot])
                free_slot++;
            taken[free_slot] = true, slot[i] = free_slot;
            for (int v = 0; !st && v < K; v++)
                st = ts_session_copy(g->s[free_slot * K + v], g->s[cand[go[i]].slot * K + v]);
        }
        /* each caption's new token to its slot's views, side by side; its
         * rows land at i·K */
        for (int i = 0; i < n_go; i++) {
            beam_hyp *c = &cand[go[i]];
            fed[i] = c->ids[c->n - 1];
            for (int v = 0; v < K; v++)
                fed_s[i * K + v] = g->s[slot[i] * K + v], g->next[i * K + v] = &fed[i],
                              g->ones[i * K + v] = 1;
            memcpy(live[i].ids, c->ids, sizeof *c->ids * (size_t)c->n);
            live[i].n = c->n, live[i].score = c->score, live[i].slot = slot[i];
        }
        n_live = n_go;
        if (!st) st = ts_sessions_feed(fed_s, n_go * K, pool, g->next, g->ones, rows);
    }
    /* the answer, token by token, as greedy decoding hands it over */
    for (int i = 0; !st && i < best.n; i++) {
        ++*n_made;
        if (!cb(best.ids[i], user)) break;
    }
    free(ids), free(fed_s);
    return st;
}

ts_status ts_model_generate_views(const ts_model *m, ts_pool *pool, const int32_t *const *prompts,
                                  const int *n_prompts, int n_views, int max_new,
                                  const ts_sampler *sp, int32_t eos, double max_seconds,
                                  ts_token_cb cb, void *user, int *n_made) {
    ts_generator *g = NULL;
    *n_made = 0;
    ts_status st = ts_generator_new(m, &g);
    if (!st)
        st = ts_generator_run(g, pool, prompts, n_prompts, n_views, max_new, sp, eos, max_seconds,
                              cb, user, n_made);
    ts_generator_free(g);
    return st;
}
