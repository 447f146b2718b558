/* Teacher-forced scoring and full-sequence logits: one forward pass with
 * per-call activations, so concurrent calls on one model are safe. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/cross_entropy.h"

static ts_status check_ids(const ts_model *m, const int32_t *ids, int n) {
    if (n < 1 || n > m->c.context)
        return ts_fail(TS_ERR_INPUT, "model: a sequence of %d tokens does not fit the context of %d",
                       n, m->c.context);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->c.vocab_size)
            return ts_fail(TS_ERR_INPUT, "model: token %d at %d is outside the vocabulary of %d",
                           ids[i], i, m->c.vocab_size);
    return TS_OK;
}

ts_status ts_model_logits(const ts_model *m, const int32_t *ids, int n, float *logits) {
    ts_status s = check_ids(m, ids, n);
    if (s) return s;
    ts_acts a;
    if ((s = ts_acts_new(m, 1, n, false, &a))) return s;
    ts_model_forward(m, NULL, &a, ids, false);
    memcpy(logits, a.logits, sizeof(float) * (size_t)n * m->c.vocab_size);
    ts_acts_free(&a);
    return TS_OK;
}

ts_status ts_model_score(const ts_model *m, const int32_t *ids, const uint8_t *mask, int n,
                         double *logprob, int *count) {
    *logprob = 0;
    *count = 0;
    ts_status s = check_ids(m, ids, n);
    if (s) return s;
    if (n < 2) return TS_OK;
    ts_acts a;
    if ((s = ts_acts_new(m, 1, n - 1, false, &a))) return s;
    float *w = malloc(sizeof(float) * (size_t)n);
    if (!w) {
        ts_acts_free(&a);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    }
    /* row i of the logits predicts ids[i + 1] */
    int cnt = 0;
    for (int i = 0; i + 1 < n; i++) cnt += (w[i] = mask && !mask[i + 1] ? 0.0f : 1.0f) != 0.0f;
    if (cnt) {
        ts_model_forward(m, NULL, &a, ids, false);
        ts_cross_entropy_forward(NULL, a.losses, a.logits, ids + 1, w, n - 1, m->c.vocab_size);
        double lp = 0;
        for (int i = 0; i + 1 < n; i++)
            if (w[i] != 0.0f) lp -= a.losses[i];
        *logprob = lp;
    }
    *count = cnt;
    free(w);
    ts_acts_free(&a);
    return TS_OK;
}

typedef struct {
    const ts_model *m;
    const int32_t *const *ids;
    const uint8_t *const *masks;
    const int *lens;
    double *logprob;
    int *count;
    ts_status *st;
    char (*err)[256];
} batch_job;

static void score_one(void *vctx, int i, int n, int worker) {
    batch_job *j = vctx;
    j->st[i] = ts_model_score(j->m, j->ids[i], j->masks ? j->masks[i] : NULL, j->lens[i],
                              &j->logprob[i], &j->count[i]);
    if (j->st[i]) snprintf(j->err[i], sizeof j->err[i], "%s", ts_last_error());
}

ts_status ts_model_score_batch(const ts_model *m, ts_pool *pool, int n_seqs,
                               const int32_t *const *ids, const uint8_t *const *masks,
                               const int *lens, double *logprob, int *count) {
    if (n_seqs <= 0) return TS_OK;
    ts_status *st = calloc((size_t)n_seqs, sizeof *st);
    char(*err)[256] = calloc((size_t)n_seqs, sizeof *err);
    if (!st || !err) {
        free(st);
        free(err);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    }
    batch_job j = {m, ids, masks, lens, logprob, count, st, err};
    ts_pool_run(pool, n_seqs, score_one, &j);
    ts_status s = TS_OK;
    for (int i = 0; i < n_seqs && !s; i++)
        if (st[i]) s = ts_fail(st[i], "%s", err[i]);
    free(st);
    free(err);
    return s;
}

ts_status ts_sessions_score_continuations(ts_session *const *s, int n_s, ts_pool *pool,
                                          const int32_t *const *prefixes, const int *n_prefix,
                                          int n_conts, const int32_t *const *conts, const int *lens,
                                          double *logprob, int *count) {
    for (int i = 0; i < n_s * n_conts; i++)
        logprob[i] = 0, count[i] = 0;
    if (n_s < 1) return TS_OK;
    const ts_model *m = ts_session_model(s[0]);
    const int V = m->c.vocab_size;
    /* every sequence is checked before any work, as ts_model_score would */
    ts_status st = TS_OK;
    for (int b = 0; !st && b < n_s; b++) {
        if (ts_session_model(s[b]) != m)
            return ts_fail(TS_ERR_USAGE, "model: scoring sessions of different models");
        if (n_prefix[b] < 1) return ts_fail(TS_ERR_USAGE, "model: scoring needs a prefix");
        st = check_ids(m, prefixes[b], n_prefix[b]);
        for (int c = 0; !st && c < n_conts; c++) {
            if (lens[c] < 1) return ts_fail(TS_ERR_USAGE, "model: continuation %d is empty", c);
            if (n_prefix[b] + lens[c] > m->c.context)
                return ts_fail(TS_ERR_INPUT,
                               "model: a sequence of %d tokens does not fit the context of %d",
                               n_prefix[b] + lens[c], m->c.context);
            st = check_ids(m, conts[c], lens[c]);
        }
    }
    if (st) return st;
    /* first: each prefix's next-token logits, shared by every continuation's
     * first token; logits: after each later token */
    float *first = ts_alloc_floats((size_t)V * (n_s + 1));
    if (!first) return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    float *logits = first + (size_t)V * n_s;
    for (int b = 0; b < n_s; b++)
        ts_session_reset(s[b]);
    st = ts_sessions_feed(s, n_s, pool, prefixes, n_prefix, first);
    for (int b = 0; !st && b < n_s; b++) {
        for (int c = 0; !st && c < n_conts; c++) {
            const int32_t *ids = conts[c];
            /* the loss of the first token comes from the cached prefix; each
             * later one from feeding its predecessor (the last token is never
             * fed: nothing after it is scored) */
            float loss;
            ts_cross_entropy_forward(NULL, &loss, first + (size_t)V * b, &ids[0], NULL, 1, V);
            double lp = -(double)loss;
            if ((st = ts_session_truncate(s[b], n_prefix[b]))) break;
            for (int i = 1; !st && i < lens[c]; i++) {
                st = ts_session_feed(s[b], &ids[i - 1], 1, logits);
                if (st) break;
                ts_cross_entropy_forward(NULL, &loss, logits, &ids[i], NULL, 1, V);
                lp -= loss;
            }
            logprob[b * n_conts + c] = lp, count[b * n_conts + c] = lens[c];
        }
        if (!st) st = ts_session_truncate(s[b], n_prefix[b]);
    }
    free(first);
    return st;
}

ts_status ts_session_score_continuations(ts_session *s, const int32_t *prefix, int n_prefix,
                                         int n_conts, const int32_t *const *conts, const int *lens,
                                         double *logprob, int *count) {
    return ts_sessions_score_continuations(&s, 1, NULL, &prefix, &n_prefix, n_conts, conts, lens,
                                           logprob, count);
}
