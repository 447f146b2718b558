/* Token embedding lookup. */
#ifndef TESSERA_NN_EMBEDDING_H
#define TESSERA_NN_EMBEDDING_H

#include <stdint.h>

/* out[N,D] = table[ids[n]]. */
void ts_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D);
/* dtable[V,D] += scatter of dout[N,D] (in token order: deterministic). */
void ts_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int D);

#endif
