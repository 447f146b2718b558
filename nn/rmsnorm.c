#include "nn/rmsnorm.h"

#include <math.h>
#include <stddef.h>

void ts_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C,
                        float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float ss = 0;
        for (int i = 0; i < C; i++) ss += x[i] * x[i];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        if (rstd) rstd[n] = r;
        for (int i = 0; i < C; i++) y[i] = x[i] * r * w[i];
    }
}

void ts_rmsnorm_backward_rows(float *dinp, const float *dout, const float *inp, const float *w,
                              const float *rstd, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n], dot = 0;
        /* dxhat = dy·w ; dx = r·(dxhat − xhat·mean(dxhat·xhat)) */
        for (int i = 0; i < C; i++) dot += dy[i] * w[i] * x[i] * r;
        float m = dot / (float)C;
        for (int i = 0; i < C; i++)
            dx[i] += r * (dy[i] * w[i] - x[i] * r * m);
    }
}

void ts_rmsnorm_backward_dw(float *dw, const float *dout, const float *inp, const float *rstd,
                            int N, int C, int c0, int c1) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float r = rstd[n];
        for (int i = c0; i < c1; i++)
            dw[i] += dy[i] * (x[i] * r);
    }
}

void ts_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                         const float *w, const float *rstd, int N, int C) {
    ts_rmsnorm_backward_rows(dinp, dout, inp, w, rstd, N, C);
    if (dw) ts_rmsnorm_backward_dw(dw, dout, inp, rstd, N, C, 0, C);
}
