/* Elementwise activations, forward and backward side by side. */
#ifndef TESSERA_NN_ACTIVATION_H
#define TESSERA_NN_ACTIVATION_H

#include <stddef.h>

/* out (n) = max(in, 0); out may alias in. */
void ts_relu_forward(float *out, const float *in, size_t n);
/* din (n) = dout * [in > 0]; din may alias dout. `in` is the forward input
 * (or output: the sign is the same). */
void ts_relu_backward(float *din, const float *dout, const float *in, size_t n);

#endif
