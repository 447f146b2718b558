#include "nn/linear.h"

#include <cblas.h>

typedef struct {
    bool ta, tb;
    int M, N, K, ldA, ldB, ldC, parts;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_part(void *vctx, int i, int n, int worker) {
    const gemm_job *j = vctx;
    int r0 = (int)((int64_t)j->M * i / j->parts), r1 = (int)((int64_t)j->M * (i + 1) / j->parts);
    if (r1 <= r0) return;
    /* rows r0..r1 of op(A): A's rows when not transposed, its columns when transposed */
    const float *A = j->ta ? j->A + r0 : j->A + (size_t)r0 * j->ldA;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                r1 - r0, j->N, j->K, j->alpha, A, j->ldA, j->B, j->ldB, j->beta,
                j->C + (size_t)r0 * j->ldC, j->ldC);
}

void ts_gemm(ts_pool *pool, bool transA, bool transB, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int threads = ts_pool_threads(pool);
    /* small products are not worth waking the workers */
    if (threads > 1 && (int64_t)M * N * K < 32768) threads = 1;
    if (threads > M) threads = M;
    gemm_job j = {transA, transB, M, N, K, lda, ldb, ldc, threads, alpha, beta, A, B, C};
    if (threads == 1)
        gemm_part(&j, 0, 1, 0);
    else
        ts_pool_run(pool, threads, gemm_part, &j);
}

void ts_linear_forward(ts_pool *pool, float *out, const float *inp, const float *W,
                       const float *bias, int N, int IC, int OC) {
    ts_gemm(pool, false, true, N, OC, IC, 1.0f, inp, IC, W, IC, 0.0f, out, OC);
    if (bias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) out[(size_t)n * OC + o] += bias[o];
}

void ts_linear_backward(ts_pool *pool, float *dinp, float *dW, float *dbias, const float *dout,
                        const float *inp, const float *W, int N, int IC, int OC) {
    if (dinp) ts_gemm(pool, false, false, N, IC, OC, 1.0f, dout, OC, W, IC, 1.0f, dinp, IC);
    if (dW) ts_gemm(pool, true, false, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dW, IC);
    if (dbias)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OC; o++) dbias[o] += dout[(size_t)n * OC + o];
}

/* Dot products of four rows at once against x, 16 lanes of partial sums per
 * row so the compiler keeps them in vector registers. */
void ts_gemv(float *y, const float *W, int rows, int cols, int ldw, const float *x, float alpha,
             float beta) {
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *w0 = W + (size_t)r * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        float a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
        int c = 0;
        for (; c + 16 <= cols; c += 16)
            for (int k = 0; k < 16; k++) {
                float xv = x[c + k];
                a0[k] += w0[c + k] * xv;
                a1[k] += w1[c + k] * xv;
                a2[k] += w2[c + k] * xv;
                a3[k] += w3[c + k] * xv;
            }
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int k = 0; k < 16; k++) s0 += a0[k], s1 += a1[k], s2 += a2[k], s3 += a3[k];
        for (; c < cols; c++) {
            float xv = x[c];
            s0 += w0[c] * xv, s1 += w1[c] * xv, s2 += w2[c] * xv, s3 += w3[c] * xv;
        }
        float s[4] = {s0, s1, s2, s3};
        for (int k = 0; k < 4; k++) y[r + k] = alpha * s[k] + (beta != 0.0f ? beta * y[r + k] : 0.0f);
    }
    for (; r < rows; r++) {
        const float *w = W + (size_t)r * ldw;
        float a[16] = {0}, sum = 0;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
            for (int k = 0; k < 16; k++) a[k] += w[c + k] * x[c + k];
        for (int k = 0; k < 16; k++) sum += a[k];
        for (; c < cols; c++) sum += w[c] * x[c];
        y[r] = alpha * sum + (beta != 0.0f ? beta * y[r] : 0.0f);
    }
}
