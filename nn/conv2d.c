#include "nn/conv2d.h"

#include <cblas.h>
#include <string.h>

static int is_pointwise(const ts_conv_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0;
}

size_t ts_conv2d_scratch(const ts_conv_shape *s, int N, int H, int W) {
    if (is_pointwise(s)) return 0;
    int Ho = ts_conv_out(H, s->kh, s->sh, s->ph), Wo = ts_conv_out(W, s->kw, s->sw, s->pw);
    return (size_t)s->cin * s->kh * s->kw * (size_t)N * Ho * Wo;
}

size_t ts_convT2d_scratch(const ts_conv_shape *s, int N, int H, int W) {
    return (size_t)s->cout * s->kh * s->kw * (size_t)N * H * W;
}

/* The outputs ow whose input column ow*sw - pw + j lies inside [0, W):
 * [*lo, *hi). Computed once per kernel column so the inner loops need no
 * bounds checks. */
static void valid_cols(int W, int Wo, int sw, int pw, int j, int *lo, int *hi) {
    int off = pw - j; /* iw = ow*sw - off */
    int a = off > 0 ? (off + sw - 1) / sw : 0;
    int b = (W - 1 + off) >= 0 ? (W - 1 + off) / sw + 1 : 0;
    *lo = a < Wo ? a : Wo;
    *hi = b < Wo ? b : Wo;
    if (*hi < *lo) *hi = *lo;
}

void ts_im2col(float *col, const float *x, int C, int N, int H, int W, int kh, int kw, int sh,
               int sw, int ph, int pw, int Ho, int Wo) {
    const size_t M = (size_t)N * Ho * Wo;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                float *row = col + ((size_t)(c * kh + i) * kw + j) * M;
                int lo, hi;
                valid_cols(W, Wo, sw, pw, j, &lo, &hi);
                for (int n = 0; n < N; n++) {
                    const float *xc = x + ((size_t)c * N + n) * H * W;
                    for (int oh = 0; oh < Ho; oh++, row += Wo) {
                        int ih = oh * sh - ph + i;
                        if (ih < 0 || ih >= H) {
                            memset(row, 0, (size_t)Wo * sizeof *row);
                            continue;
                        }
                        const float *xr = xc + (size_t)ih * W - pw + j; /* xr[ow*sw] */
                        for (int ow = 0; ow < lo; ow++) row[ow] = 0.0f;
                        if (sw == 1)
                            memcpy(row + lo, xr + lo, (size_t)(hi - lo) * sizeof *row);
                        else if (sw == 2)
                            for (int ow = lo; ow < hi; ow++) row[ow] = xr[2 * ow];
                        else
                            for (int ow = lo; ow < hi; ow++) row[ow] = xr[ow * sw];
                        for (int ow = hi; ow < Wo; ow++) row[ow] = 0.0f;
                    }
                }
            }
}

void ts_col2im(float *x, const float *col, int C, int N, int H, int W, int kh, int kw, int sh,
               int sw, int ph, int pw, int Ho, int Wo) {
    const size_t M = (size_t)N * Ho * Wo;
    memset(x, 0, (size_t)C * N * H * W * sizeof *x);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) {
                const float *row = col + ((size_t)(c * kh + i) * kw + j) * M;
                int lo, hi;
                valid_cols(W, Wo, sw, pw, j, &lo, &hi);
                for (int n = 0; n < N; n++) {
                    float *xc = x + ((size_t)c * N + n) * H * W;
                    for (int oh = 0; oh < Ho; oh++, row += Wo) {
                        int ih = oh * sh - ph + i;
                        if (ih < 0 || ih >= H) continue;
                        float *xr = xc + (size_t)ih * W - pw + j;
                        if (sw == 1)
                            for (int ow = lo; ow < hi; ow++) xr[ow] += row[ow];
                        else
                            for (int ow = lo; ow < hi; ow++) xr[ow * sw] += row[ow];
                    }
                }
            }
}

static void add_bias(float *y, const float *b, int C, size_t M) {
    if (!b) return;
    for (int c = 0; c < C; c++) {
        float *r = y + (size_t)c * M, bc = b[c];
        for (size_t m = 0; m < M; m++) r[m] += bc;
    }
}

static void bias_grad(float *db, const float *dy, int C, size_t M) {
    if (!db) return;
    for (int c = 0; c < C; c++) {
        const float *r = dy + (size_t)c * M;
        float s = 0;
        for (size_t m = 0; m < M; m++) s += r[m];
        db[c] += s;
    }
}

/* ---- convolution ----------------------------------------------------------
 * x (Cin, N, H, W) -> col (K = Cin*kh*kw, M = N*Ho*Wo) -> y = W·col + b. */
void ts_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                       const ts_conv_shape *s, int N, int H, int W, float *scratch) {
    int Ho = ts_conv_out(H, s->kh, s->sh, s->ph), Wo = ts_conv_out(W, s->kw, s->sw, s->pw);
    int K = s->cin * s->kh * s->kw;
    int M = N * Ho * Wo;
    const float *col = x;
    if (!is_pointwise(s)) {
        ts_im2col(scratch, x, s->cin, N, H, W, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, Ho, Wo);
        col = scratch;
    }
    /* y (Cout, M) = w (Cout, K) · col (K, M) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, M, K, 1.0f, w, K, col, M, 0.0f,
                y, M);
    add_bias(y, b, s->cout, (size_t)M);
}

void ts_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, const ts_conv_shape *s, int N, int H, int W,
                        float *scratch) {
    int Ho = ts_conv_out(H, s->kh, s->sh, s->ph), Wo = ts_conv_out(W, s->kw, s->sw, s->pw);
    int K = s->cin * s->kh * s->kw;
    int M = N * Ho * Wo;
    bias_grad(db, dy, s->cout, (size_t)M);
    if (is_pointwise(s)) {
        /* dw (Cout, K) += dy (Cout, M) · x^T (M, K); dx (K, M) = w^T · dy */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, K, M, 1.0f, dy, M, x, M,
                    1.0f, dw, K);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, M, s->cout, 1.0f, w, K, dy, M,
                        0.0f, dx, M);
        return;
    }
    /* the patches again (cheaper to recompute than to keep) */
    ts_im2col(scratch, x, s->cin, N, H, W, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, Ho, Wo);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, K, M, 1.0f, dy, M, scratch, M,
                1.0f, dw, K);
    if (!dx) return;
    /* dcol (K, M) = w^T (K, Cout) · dy (Cout, M), then fold back */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, M, s->cout, 1.0f, w, K, dy, M, 0.0f,
                scratch, M);
    ts_col2im(dx, scratch, s->cin, N, H, W, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, Ho, Wo);
}

/* ---- transposed convolution -----------------------------------------------
 * The adjoint of a convolution from the output space (Ho, Wo) to the input
 * grid (H, W): col (K' = Cout*kh*kw, M = N*H*W) = W^T · x, y = col2im(col) + b. */
void ts_convT2d_forward(float *y, const float *x, const float *w, const float *b,
                        const ts_conv_shape *s, int N, int H, int W, float *scratch) {
    int Ho = ts_convT_out(H, s->kh, s->sh, s->ph), Wo = ts_convT_out(W, s->kw, s->sw, s->pw);
    int K = s->cout * s->kh * s->kw;
    int M = N * H * W;
    /* col (K, M) = w^T (K, Cin) · x (Cin, M) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, M, s->cin, 1.0f, w, K, x, M, 0.0f,
                scratch, M);
    ts_col2im(y, scratch, s->cout, N, Ho, Wo, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, H, W);
    add_bias(y, b, s->cout, (size_t)N * Ho * Wo);
}

void ts_convT2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, const ts_conv_shape *s, int N, int H, int W,
                         float *scratch) {
    int Ho = ts_convT_out(H, s->kh, s->sh, s->ph), Wo = ts_convT_out(W, s->kw, s->sw, s->pw);
    int K = s->cout * s->kh * s->kw;
    int M = N * H * W;
    bias_grad(db, dy, s->cout, (size_t)N * Ho * Wo);
    /* dcol (K, M) = the patches of dy */
    ts_im2col(scratch, dy, s->cout, N, Ho, Wo, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, H, W);
    /* dw (Cin, K) += x (Cin, M) · dcol^T (M, K) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cin, K, M, 1.0f, x, M, scratch, M,
                1.0f, dw, K);
    /* dx (Cin, M) = w (Cin, K) · dcol (K, M) */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cin, M, K, 1.0f, w, K, scratch,
                    M, 0.0f, dx, M);
}
