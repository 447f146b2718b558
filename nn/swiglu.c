#include "nn/swiglu.h"

#include <stddef.h>

#include "nn/fastexp.h"

void ts_swiglu_forward(float *a, const float *h, int N, int F) {
    for (int n = 0; n < N; n++) {
        const float *h1 = h + (size_t)n * 2 * F, *h3 = h1 + F;
        float *an = a + (size_t)n * F;
#pragma omp simd
        for (int i = 0; i < F; i++)
            an[i] = h1[i] * ts_sigmoidf(h1[i]) * h3[i];
    }
}

void ts_swiglu_backward(float *dh, const float *da, const float *h, int N, int F) {
    for (int n = 0; n < N; n++) {
        const float *h1 = h + (size_t)n * 2 * F, *h3 = h1 + F, *d = da + (size_t)n * F;
        float *d1 = dh + (size_t)n * 2 * F, *d3 = d1 + F;
#pragma omp simd
        for (int i = 0; i < F; i++) {
            float s = ts_sigmoidf(h1[i]), silu = h1[i] * s;
            d3[i] = d[i] * silu;
            d1[i] = d[i] * h3[i] * s * (1.0f + h1[i] * (1.0f - s));
        }
    }
}
