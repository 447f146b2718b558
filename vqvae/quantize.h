/* The shared codebook: nearest-code search, straight-through quantisation
 * with the commitment loss, and the EMA codebook update with restarts of
 * dead codes. Forward and backward side by side. */
#ifndef TESSERA_VQVAE_QUANTIZE_H
#define TESSERA_VQVAE_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/core.h"

/* Squared norms of the K codes of E (K, D) into norms (K). */
void ts_vq_code_norms(float *norms, const float *E, int K, int D);

/* idx (M) = argmin_k |z_m - e_k|^2 for z (M, D), E (K, D), through one GEMM:
 * |e|^2 - 2 z·e (|z|^2 is the same for every k). dist is scratch of
 * ts_vq_nearest_scratch(M, K) floats; the rows are done in blocks so it stays
 * small. Ties go to the lower index. */
size_t ts_vq_nearest_scratch(int M, int K);
void ts_vq_nearest(int32_t *idx, const float *z, int M, const float *E, const float *norms, int K,
                   int D, float *dist);

/* zq (M, D) = E[idx]; returns sum over m of |z_m - zq_m|^2 (double). */
double ts_vq_quantize_forward(float *zq, const float *z, const int32_t *idx, int M, const float *E,
                              int D);
/* Straight-through plus the commitment term beta * sum|z - sg(zq)|^2 / denom:
 * dz (M, D) = dzq + 2 beta (z - zq) / denom. dz may alias dzq. */
void ts_vq_quantize_backward(float *dz, const float *dzq, const float *z, const float *zq, int M,
                             int D, float beta, double denom);

/* EMA state of the codebook: counts N (K), sums S (K, D). */
typedef struct {
    int K, D;
    float decay, eps;
    float *E, *N, *S; /* E (K, D) codes, N (K) smoothed usage, S (K, D) */
} ts_vq_ema;

/* One EMA step from M vectors z (M, D) assigned to codes idx (M):
 * N = d N + (1-d) n, S = d S + (1-d) sum z, E = S / laplace(N). */
void ts_vq_ema_update(ts_vq_ema *q, const float *z, const int32_t *idx, int M);
/* Restarts every code with N < threshold from a random row of z (M, D),
 * drawn with r. With 0 < M_first < M the rows are two groups (images, then
 * audio) and the restarts take turns between them, so the modality with
 * fewer rows per batch still gets codes. Returns how many were restarted. */
int ts_vq_restart_dead(ts_vq_ema *q, const float *z, int M, int M_first, float threshold,
                       ts_rng *r);
/* Sets every code from distinct random rows of z (with replacement when
 * M < K): the data-dependent start of the codebook. */
void ts_vq_init_from(ts_vq_ema *q, const float *z, int M, ts_rng *r);

#endif
