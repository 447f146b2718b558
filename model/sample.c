/* Sampling the next token: greedy, or temperature + top-k + top-p with a
 * seeded RNG (same seed, same tokens). */
#include <math.h>
#include <stdlib.h>

#include "model/model_impl.h"

ts_sampler ts_sampler_default(void) {
    return (ts_sampler){.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 0};
}

typedef struct {
    float v;
    int32_t i;
} cand;

static int by_value_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int32_t ts_sample(const ts_sampler *sp, const float *logits, int V, ts_rng *rng, float *scratch) {
    int32_t best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (sp->temperature <= 0.0f || sp->top_k == 1) return best;
    cand *c = scratch ? (cand *)scratch : malloc(sizeof(cand) * (size_t)V);
    if (!c) return best;
    int n = 0;
    int k = sp->top_k > 0 && sp->top_k < V ? sp->top_k : V;
    if (k < V) {
        /* keep the k largest in a sorted array (k is small) */
        for (int i = 0; i < V; i++) {
            cand x = {logits[i], i};
            if (n == k && by_value_desc(&x, &c[n - 1]) >= 0) continue;
            int j = n < k ? n++ : k - 1;
            while (j > 0 && by_value_desc(&x, &c[j - 1]) < 0) c[j] = c[j - 1], j--;
            c[j] = x;
        }
    } else {
        for (int i = 0; i < V; i++) c[i] = (cand){logits[i], i};
        qsort(c, (size_t)V, sizeof *c, by_value_desc);
        n = V;
    }
    /* softmax at the temperature over the candidates (sorted, max first) */
    double sum = 0;
    const float top = c[0].v;
    for (int i = 0; i < n; i++) sum += (c[i].v = expf((c[i].v - top) / sp->temperature));
    int keep = n;
    if (sp->top_p > 0.0f && sp->top_p < 1.0f) {
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += c[i].v / sum;
            if (cum >= sp->top_p) {
                keep = i + 1;
                break;
            }
        }
        sum = 0;
        for (int i = 0; i < keep; i++) sum += c[i].v;
    }
    double r = ts_rng_uniform(rng) * sum, acc = 0;
    int32_t pick = c[keep - 1].i;
    for (int i = 0; i < keep; i++) {
        acc += c[i].v;
        if (r < acc) {
            pick = c[i].i;
            break;
        }
    }
    if (!scratch) free(c);
    return pick;
}
