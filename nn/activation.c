#include "nn/activation.h"

void ts_relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void ts_relu_backward(float *din, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
}
