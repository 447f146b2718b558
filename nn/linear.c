#include "nn/linear.h"

#include <cblas.h>

#include "nn/matvec.h"

typedef struct {
    bool ta, tb;
    int M, N, K, ldA, ldB, ldC, parts;
    float alpha, beta;
    const float *A, *B;
    float *C;
} gemm_job;

static void gemm_part(void *vctx, int i, int n, int worker) {
    const gemm_job *j = vctx;
    int r0 = ts_part_begin(j->M, i, j->parts), r1 = ts_part_begin(j->M, i + 1, j->parts);
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

/* Through ts_matvec in blocks of rows, alpha and beta applied after. */
void ts_gemv(float *y, const float *W, int rows, int cols, int ldw, const float *x, float alpha,
             float beta) {
    float t[64];
    for (int r0 = 0; r0 < rows; r0 += 64) {
        int n = rows - r0 < 64 ? rows - r0 : 64;
        ts_matvec(t, W + (size_t)r0 * ldw, n, cols, ldw, x);
        for (int k = 0; k < n; k++)
            y[r0 + k] = alpha * t[k] + (beta != 0.0f ? beta * y[r0 + k] : 0.0f);
    }
}
