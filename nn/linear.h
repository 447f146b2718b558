/* Fully connected layer through cblas_sgemm, rows split over the pool. */
#ifndef TESSERA_NN_LINEAR_H
#define TESSERA_NN_LINEAR_H

#include "tessera/core.h"

/* out[N,OC] = inp[N,IC] · W[OC,IC]^T (+ bias[OC] when not NULL). */
void ts_linear_forward(ts_pool *pool, float *out, const float *inp, const float *W,
                       const float *bias, int N, int IC, int OC);
/* dinp[N,IC] += dout[N,OC] · W ; dW[OC,IC] += dout^T · inp ; dbias[OC] += Σ_n dout.
 * Any of dinp, dW, dbias may be NULL. */
void ts_linear_backward(ts_pool *pool, float *dinp, float *dW, float *dbias, const float *dout,
                        const float *inp, const float *W, int N, int IC, int OC);

/* C[M,N] = alpha · op(A) · op(B) + beta · C, row-major, with the M rows split
 * over the pool's threads (each output row made by one thread). */
void ts_gemm(ts_pool *pool, bool transA, bool transB, int M, int N, int K, float alpha,
             const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* y[rows] = alpha · W[rows, cols] · x + beta · y (W row stride ldw): the
 * matrix-vector product of batch-1 decoding, through ts_matvec (nn/matvec.h).
 * beta 0 ignores y. */
void ts_gemv(float *y, const float *W, int rows, int cols, int ldw, const float *x, float alpha,
             float beta);

#endif
