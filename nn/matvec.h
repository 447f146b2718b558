/* Matrix-vector kernels for batch-1 decoding (AVX2/FMA when the build has
 * them, plain C otherwise). At one token per call the weights are read once
 * each, so these are bound by memory, not arithmetic; OpenBLAS's sgemv has
 * too much per-call overhead at these sizes (a few hundred rows).
 *
 * Every row is summed by the same instructions in the same order wherever it
 * falls in a call, so splitting rows across threads never changes a bit. */
#ifndef TESSERA_NN_MATVEC_H
#define TESSERA_NN_MATVEC_H

/* y[r] = Σ_c W[r, c] · x[c] for r in [0, rows), c in [0, cols); W has row
 * stride ldw. y must not overlap W or x. */
void ts_matvec(float *y, const float *W, int rows, int cols, int ldw, const float *x);
/* The same sums, bit for bit, for weights read once in a while (the routed
 * experts of an MoE layer): prefetched so as to pass the caches by, leaving
 * them to the weights every token reads. */
void ts_matvec_stream(float *y, const float *W, int rows, int cols, int ldw, const float *x);

/* y[c] += Σ_r a[r] · W[r, c] for c in [0, cols): the rows of W weighted by a
 * (the value sum of attention, W = the cached values with stride ldw).
 * Rows are added in order 0, 1, …, rows-1. */
void ts_vecmat_acc(float *y, const float *a, const float *W, int rows, int cols, int ldw);

#endif
