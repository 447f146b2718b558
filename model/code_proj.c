/* Media-code embeddings as a projection of the VQ codebook (code_proj.h). */
#include "model/code_proj.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ts_code_proj_free(ts_code_proj *p) {
    if (!p) return;
    free(p->C);
    free(p->w);
    free(p->g);
    free(p->m1);
    free(p->m2);
    free(p);
}

ts_status ts_code_proj_new(ts_model *m, int code_base, const float *codebook, int K, int dim,
                           uint64_t seed, ts_code_proj **out) {
    const int D = m->c.d_model;
    if (code_base < 0 || K < 1 || dim < 1 || code_base + K > m->c.vocab_size)
        return ts_fail(TS_ERR_INPUT, "media codes [%d, %d) do not fit the vocabulary of %d",
                       code_base, code_base + K, m->c.vocab_size);
    ts_code_proj *p = calloc(1, sizeof *p);
    size_t nw = (size_t)dim * D + D;
    if (p) {
        p->C = malloc(sizeof(float) * (size_t)K * dim);
        p->w = calloc(nw, sizeof(float));
        p->g = calloc(nw, sizeof(float));
        p->m1 = calloc(nw, sizeof(float));
        p->m2 = calloc(nw, sizeof(float));
    }
    if (!p || !p->C || !p->w || !p->g || !p->m1 || !p->m2) {
        ts_code_proj_free(p);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    p->code_base = code_base, p->K = K, p->dim = dim, p->D = D;
    /* centred: the part all codes share is b's job */
    double ss = 0;
    for (int j = 0; j < dim; j++) {
        double mean = 0;
        for (int k = 0; k < K; k++)
            mean += codebook[(size_t)k * dim + j];
        mean /= K;
        for (int k = 0; k < K; k++) {
            float c = (float)(codebook[(size_t)k * dim + j] - mean);
            p->C[(size_t)k * dim + j] = c;
            ss += (double)c * c;
        }
    }
    /* E = C·W with W ~ N(0, s²) has per-entry variance s²·ss/K: pick s so
     * that it is 0.02² */
    double s = ss > 0 ? 0.02 / sqrt(ss / K) : 0.0;
    ts_rng rng;
    ts_rng_seed(&rng, seed ^ 0x636f6465ULL); /* its own stream ("code") */
    for (size_t j = 0; j < (size_t)dim * D; j++)
        p->w[j] = (float)(s * ts_rng_normal(&rng));
    ts_code_proj_write_rows(p, m->w.tok_embd);
    *out = p;
    return TS_OK;
}

void ts_code_proj_write_rows(const ts_code_proj *p, float *tok_embd) {
    const int K = p->K, D = p->D, dim = p->dim;
    float *E = tok_embd + (size_t)p->code_base * D;
    const float *b = p->w + (size_t)dim * D;
    for (int k = 0; k < K; k++)
        memcpy(E + (size_t)k * D, b, sizeof(float) * D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, D, dim, 1.0f, p->C, dim, p->w, D,
                1.0f, E, D);
}

double ts_code_proj_backward(ts_code_proj *p, float *grad_tok_embd) {
    const int K = p->K, D = p->D, dim = p->dim;
    float *dE = grad_tok_embd + (size_t)p->code_base * D;
    float *db = p->g + (size_t)dim * D;
    /* dW = Cᵀ·dE, db = Σ_k dE[k] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dim, D, K, 1.0f, p->C, dim, dE, D, 0.0f,
                p->g, D);
    memset(db, 0, sizeof(float) * D);
    for (int k = 0; k < K; k++)
        for (int d = 0; d < D; d++)
            db[d] += dE[(size_t)k * D + d];
    memset(dE, 0, sizeof(float) * (size_t)K * D);
    double ss = 0;
    for (size_t j = 0; j < (size_t)dim * D + D; j++)
        ss += (double)p->g[j] * p->g[j];
    return ss;
}
