/* RMSNorm: y = x / sqrt(mean(x²) + eps) · w. */
#ifndef TESSERA_NN_RMSNORM_H
#define TESSERA_NN_RMSNORM_H

/* out[N,C], rstd[N] (saved for backward, may be NULL), inp[N,C], w[C]. */
void ts_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C,
                        float eps);
/* dinp[N,C] += ; dw[C] += (dw may be NULL). */
void ts_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int N, int C);

#endif
