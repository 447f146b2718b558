/* 2-D convolution and transposed convolution through im2col + cblas_sgemm,
 * forward and backward side by side.
 *
 * Layout: activations are "CNHW" — channel-major over the whole (sub)batch,
 * x[c][n][h][w] — so that one GEMM covers every image of the batch:
 *     y (Cout, N*Ho*Wo) = W (Cout, Cin*kh*kw) · col (Cin*kh*kw, N*Ho*Wo).
 * 1-D convolutions over time are the special case H = 1, kh = 1 (nn/conv1d.h).
 *
 * Weights: conv W is (Cout, Cin, kh, kw); transposed conv W is (Cin, Cout,
 * kh, kw), as PyTorch stores them. Bias is (Cout). Backward passes ACCUMULATE
 * into dW, db (so that gradients from several calls add up) and OVERWRITE dx. */
#ifndef TESSERA_NN_CONV2D_H
#define TESSERA_NN_CONV2D_H

#include <stddef.h>

typedef struct {
    int cin, cout;      /* channels in / out */
    int kh, kw;         /* kernel */
    int sh, sw;         /* stride */
    int ph, pw;         /* zero padding on each side */
} ts_conv_shape;

/* Output size of a convolution over an input of size `in` (per axis). */
static inline int ts_conv_out(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }
/* Output size of a transposed convolution (no output padding). */
static inline int ts_convT_out(int in, int k, int s, int p) { return (in - 1) * s - 2 * p + k; }

/* Floats of scratch the calls below need for N images of H x W input. */
size_t ts_conv2d_scratch(const ts_conv_shape *s, int N, int H, int W);
size_t ts_convT2d_scratch(const ts_conv_shape *s, int N, int H, int W);

/* col (C*kh*kw, N*Ho*Wo) from x (C, N, H, W): the unfolded patches. */
void ts_im2col(float *col, const float *x, int C, int N, int H, int W, int kh, int kw, int sh,
               int sw, int ph, int pw, int Ho, int Wo);
/* x (C, N, H, W) = sum of the patches in col: the adjoint of ts_im2col
 * (x is overwritten). */
void ts_col2im(float *x, const float *col, int C, int N, int H, int W, int kh, int kw, int sh,
               int sw, int ph, int pw, int Ho, int Wo);

/* y (Cout, N, Ho, Wo) = conv(x (Cin, N, H, W), w, b). scratch: ts_conv2d_scratch. */
void ts_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                       const ts_conv_shape *s, int N, int H, int W, float *scratch);
/* dx (Cin, N, H, W) (may be NULL: not needed), dw += , db += (may be NULL). */
void ts_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, const ts_conv_shape *s, int N, int H, int W,
                        float *scratch);

/* y (Cout, N, Ho, Wo) = convT(x (Cin, N, H, W), w (Cin, Cout, kh, kw), b). */
void ts_convT2d_forward(float *y, const float *x, const float *w, const float *b,
                        const ts_conv_shape *s, int N, int H, int W, float *scratch);
void ts_convT2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, const ts_conv_shape *s, int N, int H, int W,
                         float *scratch);

#endif
