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
