/* Allocation helpers that check n * size for overflow. */
#include "tessera/core.h"

#include <stdlib.h>

void *ts_alloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return malloc(bytes ? bytes : 1);
}

void *ts_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }

float *ts_alloc_floats(size_t n) {
    if (n > (SIZE_MAX - 64) / sizeof(float)) return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}
