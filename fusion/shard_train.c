/* Decoder training on pre-tokenized shards: each row of a batch is filled
 * with whole records drawn at random from all train shards (the next one
 * that would not fit ends the row; the rest is <pad>, masked out), so no
 * answer is ever cut and the loss covers answers only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/code_swap.h"
#include "tessera/pipeline.h"

typedef struct {
    ts_shard **sh;
    int n;
    int64_t *start; /* record offset of each shard in the global index */
    int64_t total;
} shard_set;

static void set_close(shard_set *s) {
    for (int i = 0; s->sh && i < s->n; i++)
        ts_shard_close(s->sh[i]);
    free(s->sh);
    free(s->start);
    memset(s, 0, sizeof *s);
}

static ts_status set_open(shard_set *s, const char *const *paths, int n, int32_t n_vocab) {
    memset(s, 0, sizeof *s);
    s->sh = calloc((size_t)n, sizeof *s->sh);
    s->start = calloc((size_t)n + 1, sizeof *s->start);
    if (!s->sh || !s->start) return ts_fail(TS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        ts_status st = ts_shard_open(paths[i], &s->sh[i]);
        if (st) return st;
        s->n++;
        if (ts_shard_vocab(s->sh[i]) > n_vocab)
            return ts_fail(TS_ERR_INPUT, "%s: written for %d ids, the model has %d", paths[i],
                           (int)ts_shard_vocab(s->sh[i]), (int)n_vocab);
        s->start[i + 1] = s->start[i] + ts_shard_count(s->sh[i]);
    }
    s->total = s->start[n];
    return TS_OK;
}

static void set_get(const shard_set *s, int64_t i, const int32_t **t, const uint8_t **m, int *n) {
    int k = 0;
    while (k + 1 < s->n && i >= s->start[k + 1])
        k++;
    ts_shard_get(s->sh[k], i - s->start[k], t, m, n);
}

/* Fills row (W = seq_len + 1 tokens, W - 1 target mask bytes) with records
 * next() picks; returns the number of records placed. */
typedef int64_t (*pick_fn)(void *ctx);
static int fill_row(const shard_set *s, int W, int32_t pad, int32_t *tok, uint8_t *mask,
                    pick_fn next, void *ctx) {
    int used = 0, placed = 0;
    for (int tries = 0; tries < 64 && used < W; tries++) {
        const int32_t *t;
        const uint8_t *m;
        int n;
        set_get(s, next(ctx), &t, &m, &n);
        if (n > W) continue; /* longer than a row: never used */
        if (used + n > W) break;
        memcpy(tok + used, t, sizeof *t * (size_t)n);
        /* the target at position p is token p + 1 */
        for (int j = 0; j < n; j++)
            if (used + j >= 1) mask[used + j - 1] = m[j];
        used += n, placed++;
    }
    for (int j = used; j < W; j++) {
        tok[j] = pad;
        if (j >= 1) mask[j - 1] = 0;
    }
    return placed;
}

static int64_t pick_random(void *ctx) {
    void **c = ctx;
    ts_rng *r = c[0];
    const shard_set *s = c[1];
    return (int64_t)(ts_rng_u64(r) % (uint64_t)s->total);
}

/* The code swaps of o->code_swap, their neighbours among the codes each
 * modality uses in the train records. */
static ts_status swap_open(const shard_set *tr, const ts_shard_train_opts *o, code_swap **out) {
    ts_status s = code_swap_new(o->vocab, o->code_swap[0], o->code_swap[1], out);
    for (int64_t i = 0; !s && i < tr->total; i++) {
        const int32_t *t;
        const uint8_t *m;
        int n;
        set_get(tr, i, &t, &m, &n);
        code_swap_count(*out, t, n);
    }
    if (!s) s = code_swap_neighbours(*out, o->codebook, o->codebook_dim);
    return s;
}

/* Each row's inputs (its first W - 1 tokens) laid out turn by turn. */
static void set_layout(ts_trainer *t, const ts_vocab *v, const int32_t *tok, int B, int W,
                       int32_t *pos, int32_t *hide) {
    if (!v) return;
    const int T = W - 1;
    for (int b = 0; b < B; b++)
        ts_fusion_layout(v, tok + (size_t)b * W, T, pos + (size_t)b * T, hide + (size_t)b * T * 2);
    ts_trainer_set_layout(t, pos, hide);
}

/* Mean loss over the same val rows every time, drawn from the whole val
 * shard (its sources come one after the other). */
static ts_status val_loss(ts_trainer *t, const shard_set *va, const ts_shard_train_opts *o,
                          int batches, int B, int W, int32_t *tok, uint8_t *mask, int32_t *pos,
                          int32_t *hide, double *out) {
    ts_rng vr;
    ts_rng_seed(&vr, 0x7a1ull);
    void *vctx[2] = {&vr, (void *)va};
    double sum = 0;
    int cnt = 0;
    for (int vb = 0; vb < batches; vb++) {
        for (int b = 0; b < B; b++)
            fill_row(va, W, o->pad_id, tok + (size_t)b * W, mask + (size_t)b * (W - 1), pick_random,
                     vctx);
        set_layout(t, o->vocab, tok, B, W, pos, hide);
        double ls;
        int n;
        ts_status s = ts_trainer_eval(t, tok, mask, &ls, &n, NULL);
        if (s) return s;
        sum += ls, cnt += n;
    }
    *out = cnt ? sum / cnt : NAN;
    return TS_OK;
}

ts_status ts_shard_train(ts_model *m, const ts_train_config *tc, ts_pool *pool,
                         const ts_shard_train_opts *o, ts_lm_train_result *res) {
    memset(res, 0, sizeof *res);
    const int W = tc->seq_len + 1, B = tc->batch;
    int32_t nv = ts_model_get_config(m)->vocab_size;
    shard_set tr = {0}, va = {0};
    ts_trainer *t = NULL;
    code_swap *cs = NULL;
    int32_t *tok = malloc(sizeof *tok * (size_t)W * B);
    uint8_t *mask = malloc((size_t)W * B);
    int32_t *pos = malloc(sizeof *pos * (size_t)tc->seq_len * B);
    int32_t *hide = malloc(sizeof *hide * (size_t)tc->seq_len * B * 2);
    ts_status s = !tok || !mask || !pos || !hide ? ts_fail(TS_ERR_NOMEM, "out of memory") : TS_OK;
    if (!s) s = set_open(&tr, o->train, o->n_train, nv);
    if (!s && o->val) s = set_open(&va, &o->val, 1, nv);
    if (!s && tr.total == 0) s = ts_fail(TS_ERR_INPUT, "%s: no training records", o->train[0]);
    if (!s) s = ts_trainer_new(m, tc, pool, &t);
    bool swaps = o->code_swap[0] > 0 || o->code_swap[1] > 0;
    if (!s && (o->tie_codes || swaps) && (!o->vocab || !o->codebook))
        s = ts_fail(TS_ERR_USAGE, "train: tied or swapped codes need the vocabulary and codebook");
    if (!s && o->tie_codes)
        s = ts_trainer_tie_codes(t, o->vocab->code_base, o->codebook, o->vocab->n_codes,
                                 o->codebook_dim, tc->seed);
    if (!s && swaps) s = swap_open(&tr, o, &cs);
    ts_rng rng;
    ts_rng_seed(&rng, tc->seed ^ 0x5ba4d5ULL);
    if (!s && o->resume_path) {
        int n_extra = 0;
        if (!(s = ts_trainer_load(t, o->resume_path, rng.s, 4, &n_extra)) && n_extra != 4)
            s = ts_fail(TS_ERR_INPUT, "%s: the checkpoint holds no data position", o->resume_path);
    }
    if (s) goto done;
    int eval_every = o->eval_every > 0 ? o->eval_every : 200;
    int val_batches = o->val_batches > 0 ? o->val_batches : 8;
    ts_progress prog;
    ts_progress_init(&prog, 2.0);
    double t_start = ts_now(), train_time = 0, val = NAN, val_avg = NAN;
    int64_t trained = 0, targets = 0;
    ts_train_stats st = {0};
    for (int64_t step = ts_trainer_step_count(t); step < tc->steps; step++) {
        void *ctx[2] = {&rng, &tr};
        for (int b = 0; b < B; b++)
            fill_row(&tr, W, o->pad_id, tok + (size_t)b * W, mask + (size_t)b * (W - 1), pick_random, ctx);
        /* swaps of their own stream per (step, row): the data order stays that
         * of a run without them, and a resumed run draws the same */
        for (int b = 0; cs && b < B; b++)
            code_swap_apply(cs, tc->seed ^ 0x73776170ULL ^ ((uint64_t)step << 20 | (uint64_t)b),
                            tok + (size_t)b * W, W);
        set_layout(t, o->vocab, tok, B, W, pos, hide);
        double t0 = ts_now();
        if ((s = ts_trainer_step(t, tok, mask, &st))) goto done;
        train_time += ts_now() - t0;
        trained++, targets += st.n_targets;
        bool last = step + 1 == tc->steps;
        bool out_of_time = (o->time_limit > 0 && ts_now() - t_start >= o->time_limit) ||
                           (o->stop_after > 0 && step + 1 >= o->stop_after);
        bool do_eval = (step + 1) % eval_every == 0 || last || out_of_time;
        if (do_eval && va.total) {
            s = val_loss(t, &va, o, val_batches, B, W, tok, mask, pos, hide, &val);
            if (!s && tc->ema > 0) {
                ts_trainer_swap_average(t);
                s = val_loss(t, &va, o, val_batches, B, W, tok, mask, pos, hide, &val_avg);
                ts_trainer_swap_average(t);
            }
            if (s) goto done;
        }
        if (!o->quiet) {
            char avg_note[32] = "";
            if (tc->ema > 0) snprintf(avg_note, sizeof avg_note, " (average %.4f)", val_avg);
            ts_progress_update(&prog, step + 1, tc->steps, do_eval,
                               "decoder step %lld loss %.4f val %.4f%s | %.0f answer tok/s | load "
                               "max/mean %.2f | heads %.0f%% | lr %.2g",
                               (long long)(step + 1), st.loss, val, avg_note,
                               train_time > 0 ? (double)targets / train_time : 0.0,
                               st.load_max_mean, 100 * st.active_heads, st.lr);
        }
        if (o->ckpt_path && do_eval && (s = ts_trainer_save(t, o->ckpt_path, rng.s, 4))) goto done;
        if (out_of_time) break;
    }
    if (!o->quiet) ts_progress_finish(&prog);
    res->steps_done = ts_trainer_step_count(t);
    res->loss = st.loss;
    /* the averaged weights are the ones kept */
    if (tc->ema > 0) ts_trainer_swap_average(t);
    res->val_loss = tc->ema > 0 ? val_avg : val;
    res->val_loss_raw = val;
    res->tokens_per_s = train_time > 0 ? (double)trained * B * tc->seq_len / train_time : 0;
    res->answer_tokens_per_s = train_time > 0 ? (double)targets / train_time : 0;
    res->active_heads = st.active_heads;
done:
    code_swap_free(cs);
    ts_trainer_free(t);
    set_close(&tr);
    set_close(&va);
    free(tok);
    free(mask);
    free(pos);
    free(hide);
    return s;
}
