/* What the vqvae sources share: the model struct and layout helpers. */
#ifndef TESSERA_VQVAE_INTERNAL_H
#define TESSERA_VQVAE_INTERNAL_H

#include "tessera/vqvae.h"
#include "vqvae/net.h"

struct ts_vq {
    ts_vq_config cfg;
    vq_net img_enc, img_dec, aud_enc, aud_dec; /* slices of params */
    size_t n_params;
    float *params;   /* every trainable weight, one allocation */
    float *codebook; /* (K, D): set by the EMA, not by gradients */
};

/* dst (C, N, HW) from src (N, C, HW) and back. */
void vq_nchw_to_cnhw(float *dst, const float *src, int N, int C, int HW);
void vq_cnhw_to_nchw(float *dst, const float *src, int N, int C, int HW);
/* dst (cols, rows) = src (rows, cols)^T */
void vq_transpose(float *dst, const float *src, int rows, int cols);

/* A VQ-VAE of cfg with every weight and code zero, for a loader that
 * sets them all (ts_vq_new draws them instead). */
ts_status vq_alloc(const ts_vq_config *cfg, ts_vq **out);
/* Draws the weights (He normal times each op's gain, zero biases). */
void vq_init_params(ts_vq *vq, uint64_t seed);

#endif
