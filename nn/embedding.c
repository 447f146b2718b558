#include "nn/embedding.h"

#include <stddef.h>
#include <string.h>

void ts_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D) {
    for (int n = 0; n < N; n++)
        memcpy(out + (size_t)n * D, table + (size_t)ids[n] * D, sizeof(float) * (size_t)D);
}

void ts_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int D) {
    for (int n = 0; n < N; n++) {
        float *d = dtable + (size_t)ids[n] * D;
        const float *g = dout + (size_t)n * D;
        for (int i = 0; i < D; i++) d[i] += g[i];
    }
}
