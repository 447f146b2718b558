#include "vqvae/quantize.h"

#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#define NEAREST_BLOCK 256 /* rows of z per distance GEMM */

void ts_vq_code_norms(float *norms, const float *E, int K, int D) {
    for (int k = 0; k < K; k++) {
        const float *e = E + (size_t)k * D;
        float s = 0;
        for (int d = 0; d < D; d++) s += e[d] * e[d];
        norms[k] = s;
    }
}

size_t ts_vq_nearest_scratch(int M, int K) {
    return (size_t)(M < NEAREST_BLOCK ? M : NEAREST_BLOCK) * K;
}

void ts_vq_nearest(int32_t *idx, const float *z, int M, const float *E, const float *norms, int K,
                   int D, float *dist) {
    for (int m0 = 0; m0 < M; m0 += NEAREST_BLOCK) {
        int mb = M - m0 < NEAREST_BLOCK ? M - m0 : NEAREST_BLOCK;
        /* dist (mb, K) = -2 z (mb, D) · E^T (D, K) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mb, K, D, -2.0f, z + (size_t)m0 * D,
                    D, E, D, 0.0f, dist, K);
        for (int m = 0; m < mb; m++) {
            const float *row = dist + (size_t)m * K;
            float best = FLT_MAX;
            int bi = 0;
            for (int k = 0; k < K; k++) {
                float v = row[k] + norms[k];
                if (v < best) best = v, bi = k;
            }
            idx[m0 + m] = bi;
        }
    }
}

/* ---- quantisation: forward / backward -------------------------------------- */
double ts_vq_quantize_forward(float *zq, const float *z, const int32_t *idx, int M, const float *E,
                              int D) {
    double sse = 0;
    for (int m = 0; m < M; m++) {
        const float *e = E + (size_t)idx[m] * D, *zm = z + (size_t)m * D;
        float *q = zq + (size_t)m * D;
        for (int d = 0; d < D; d++) {
            q[d] = e[d];
            double diff = (double)zm[d] - e[d];
            sse += diff * diff;
        }
    }
    return sse;
}

void ts_vq_quantize_backward(float *dz, const float *dzq, const float *z, const float *zq, int M,
                             int D, float beta, double denom) {
    const float c = (float)(2.0 * beta / denom);
    size_t n = (size_t)M * D;
    for (size_t i = 0; i < n; i++) dz[i] = dzq[i] + c * (z[i] - zq[i]);
}

/* ---- EMA codebook ----------------------------------------------------------- */
void ts_vq_ema_update(ts_vq_ema *q, const float *z, const int32_t *idx, int M) {
    const int K = q->K, D = q->D;
    const float d = q->decay, od = 1.0f - q->decay;
    float *cnt = calloc((size_t)K, sizeof *cnt);
    float *sum = calloc((size_t)K * D, sizeof *sum);
    if (!cnt || !sum) { /* no update this step rather than a crash */
        free(cnt);
        free(sum);
        return;
    }
    for (int m = 0; m < M; m++) {
        int k = idx[m];
        cnt[k] += 1.0f;
        float *s = sum + (size_t)k * D;
        const float *zm = z + (size_t)m * D;
        for (int j = 0; j < D; j++) s[j] += zm[j];
    }
    double total = 0;
    for (int k = 0; k < K; k++) {
        q->N[k] = d * q->N[k] + od * cnt[k];
        total += q->N[k];
    }
    for (size_t i = 0; i < (size_t)K * D; i++) q->S[i] = d * q->S[i] + od * sum[i];
    /* Laplace smoothing keeps a code with N -> 0 from dividing by zero */
    for (int k = 0; k < K; k++) {
        double nk = (q->N[k] + q->eps) / (total + K * (double)q->eps) * total;
        float inv = (float)(1.0 / nk);
        for (int j = 0; j < D; j++) q->E[(size_t)k * D + j] = q->S[(size_t)k * D + j] * inv;
    }
    free(cnt);
    free(sum);
}

static void set_code(ts_vq_ema *q, int k, const float *z) {
    memcpy(q->E + (size_t)k * q->D, z, (size_t)q->D * sizeof *z);
    memcpy(q->S + (size_t)k * q->D, z, (size_t)q->D * sizeof *z);
    q->N[k] = 1.0f;
}

int ts_vq_restart_dead(ts_vq_ema *q, const float *z, int M, int M_first, float threshold,
                       ts_rng *r) {
    int n = 0;
    if (M <= 0) return 0;
    if (M_first <= 0 || M_first >= M) M_first = M; /* one group: rows drawn from all of z */
    for (int k = 0; k < q->K; k++)
        if (q->N[k] < threshold) {
            /* the groups take turns, so a group with few rows per batch still gets codes */
            int lo = (n & 1) && M_first < M ? M_first : 0, hi = lo ? M : M_first;
            set_code(q, k, z + (size_t)(lo + (int)ts_rng_below(r, (uint32_t)(hi - lo))) * q->D);
            n++;
        }
    return n;
}

void ts_vq_init_from(ts_vq_ema *q, const float *z, int M, ts_rng *r) {
    uint32_t *order = malloc((size_t)M * sizeof *order);
    for (int k = 0; k < q->K; k++) {
        int row;
        if (order && M >= q->K) { /* partial Fisher-Yates: distinct rows */
            if (k == 0)
                for (int m = 0; m < M; m++) order[m] = (uint32_t)m;
            uint32_t j = (uint32_t)k + ts_rng_below(r, (uint32_t)(M - k));
            uint32_t t = order[k];
            order[k] = order[j], order[j] = t;
            row = (int)order[k];
        } else {
            row = (int)ts_rng_below(r, (uint32_t)M);
        }
        set_code(q, k, z + (size_t)row * q->D);
    }
    free(order);
}
