/* Softmax cross-entropy over a vocabulary, rows split over the pool. */
#ifndef TESSERA_NN_CROSS_ENTROPY_H
#define TESSERA_NN_CROSS_ENTROPY_H

#include <stdint.h>

#include "tessera/core.h"

/* losses[N] = −log softmax(logits[n])[targets[n]] for rows with a nonzero
 * weight (0 elsewhere). weights NULL: every row. */
void ts_cross_entropy_forward(ts_pool *pool, float *losses, const float *logits,
                              const int32_t *targets, const float *weights, int N, int V);
/* dlogits[N,V] = weights[n] · (softmax(logits[n]) − onehot(targets[n]));
 * dlogits may be the same buffer as logits. weights NULL: every row 1. */
void ts_cross_entropy_backward(ts_pool *pool, float *dlogits, const float *logits,
                               const int32_t *targets, const float *weights, int N, int V);

/* Both at once, one pass of exponentials: losses[N] as the forward gives
 * them, and logits overwritten in place by the gradient as the backward
 * gives it. */
void ts_cross_entropy_fused(ts_pool *pool, float *losses, float *logits, const int32_t *targets,
                            const float *weights, int N, int V);

#endif
