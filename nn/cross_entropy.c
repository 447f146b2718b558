#include "nn/cross_entropy.h"

#include <math.h>
#include <stddef.h>

typedef struct {
    float *out, *losses;
    const float *logits, *weights;
    const int32_t *targets;
    int N, V, parts;
    int mode; /* 0 forward, 1 backward, 2 both (out = logits, in place) */
} ce_job;

/* log Σ exp over one row, in float with the max taken out */
static float logsumexp(const float *x, int V) {
    float mx = x[0];
    for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    float s = 0;
    for (int i = 0; i < V; i++) s += expf(x[i] - mx);
    return mx + logf(s);
}

static void ce_part(void *vctx, int p, int np, int worker) {
    const ce_job *j = vctx;
    int n0 = ts_part_begin(j->N, p, j->parts), n1 = ts_part_begin(j->N, p + 1, j->parts);
    for (int n = n0; n < n1; n++) {
        const float *x = j->logits + (size_t)n * j->V;
        float w = j->weights ? j->weights[n] : 1.0f;
        if (j->mode == 2) {
            float *d = j->out + (size_t)n * j->V;
            if (w == 0.0f) {
                j->losses[n] = 0.0f;
                for (int i = 0; i < j->V; i++) d[i] = 0;
                continue;
            }
            float mx = d[0];
            for (int i = 1; i < j->V; i++) mx = d[i] > mx ? d[i] : mx;
            float xt = d[j->targets[n]], s = 0;
            for (int i = 0; i < j->V; i++) s += (d[i] = expf(d[i] - mx));
            j->losses[n] = mx + logf(s) - xt;
            float sc = w / s;
            for (int i = 0; i < j->V; i++) d[i] *= sc;
            d[j->targets[n]] -= w;
            continue;
        }
        if (j->mode == 0) {
            j->out[n] = w != 0.0f ? logsumexp(x, j->V) - x[j->targets[n]] : 0.0f;
            continue;
        }
        float *d = j->out + (size_t)n * j->V;
        if (w == 0.0f) {
            for (int i = 0; i < j->V; i++) d[i] = 0;
            continue;
        }
        float lse = logsumexp(x, j->V);
        for (int i = 0; i < j->V; i++) d[i] = w * expf(x[i] - lse);
        d[j->targets[n]] -= w;
    }
}

static void run(ts_pool *pool, ce_job *j) {
    int parts = ts_pool_threads(pool);
    if (parts > j->N) parts = j->N > 0 ? j->N : 1;
    j->parts = parts;
    ts_pool_run(parts > 1 ? pool : NULL, parts, ce_part, j);
}

void ts_cross_entropy_forward(ts_pool *pool, float *losses, const float *logits,
                              const int32_t *targets, const float *weights, int N, int V) {
    ce_job j = {losses, NULL, logits, weights, targets, N, V, 1, 0};
    run(pool, &j);
}

void ts_cross_entropy_backward(ts_pool *pool, float *dlogits, const float *logits,
                               const int32_t *targets, const float *weights, int N, int V) {
    ce_job j = {dlogits, NULL, logits, weights, targets, N, V, 1, 1};
    run(pool, &j);
}

void ts_cross_entropy_fused(ts_pool *pool, float *losses, float *logits, const int32_t *targets,
                            const float *weights, int N, int V) {
    ce_job j = {logits, losses, logits, weights, targets, N, V, 1, 2};
    run(pool, &j);
}
