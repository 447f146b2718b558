/* 1-D convolution and transposed convolution over time: the H = 1 case of
 * nn/conv2d.h. x is (Cin, N, T) — channel-major over the batch — and W is
 * (Cout, Cin, k) for the convolution, (Cin, Cout, k) for the transposed one.
 * Backward ACCUMULATES into dw, db and OVERWRITES dx (NULL: not needed). */
#ifndef TESSERA_NN_CONV1D_H
#define TESSERA_NN_CONV1D_H

#include <stddef.h>

typedef struct {
    int cin, cout, k, stride, pad;
} ts_conv1d_shape;

size_t ts_conv1d_scratch(const ts_conv1d_shape *s, int N, int T);
size_t ts_convT1d_scratch(const ts_conv1d_shape *s, int N, int T);
int ts_conv1d_out(const ts_conv1d_shape *s, int T);
int ts_convT1d_out(const ts_conv1d_shape *s, int T);

/* y (Cout, N, To) = conv(x (Cin, N, T)) */
void ts_conv1d_forward(float *y, const float *x, const float *w, const float *b,
                       const ts_conv1d_shape *s, int N, int T, float *scratch);
void ts_conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, const ts_conv1d_shape *s, int N, int T, float *scratch);
/* y (Cout, N, To) = convT(x (Cin, N, T)) */
void ts_convT1d_forward(float *y, const float *x, const float *w, const float *b,
                        const ts_conv1d_shape *s, int N, int T, float *scratch);
void ts_convT1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, const ts_conv1d_shape *s, int N, int T, float *scratch);

#endif
