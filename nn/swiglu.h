/* SwiGLU activation: a = silu(h1) ⊙ h3, where each row of h holds
 * [h1 (F) | h3 (F)], the outputs of the gate and up projections. */
#ifndef TESSERA_NN_SWIGLU_H
#define TESSERA_NN_SWIGLU_H

/* a[N,F] from h[N,2F]. */
void ts_swiglu_forward(float *a, const float *h, int N, int F);
/* dh[N,2F] (written) from da[N,F]. */
void ts_swiglu_backward(float *dh, const float *da, const float *h, int N, int F);

#endif
