/* RMSNorm: y = x / sqrt(mean(x²) + eps) · w. */
#ifndef TESSERA_NN_RMSNORM_H
#define TESSERA_NN_RMSNORM_H

/* out[N,C], rstd[N] (saved for backward, may be NULL), inp[N,C], w[C]. */
void ts_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C,
                        float eps);
/* dinp[N,C] += ; dw[C] += (dw may be NULL): the two halves below. */
void ts_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int N, int C);

/* dinp[N,C] += only; rows are independent, so any split of them gives the same bytes */
void ts_rmsnorm_backward_rows(float *dinp, const float *dout, const float *inp, const float *w,
                              const float *rstd, int N, int C);
/* dw[c0..c1) += over all N rows, in row order; columns are independent */
void ts_rmsnorm_backward_dw(float *dw, const float *dout, const float *inp, const float *rstd,
                            int N, int C, int c0, int c1);
#endif
