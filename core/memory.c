/* Allocation helpers that check n * size for overflow. */
#include "tessera/core.h"

#include <stdlib.h>
#include <sys/mman.h>

void *ts_alloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return malloc(bytes ? bytes : 1);
}

void *ts_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }

/* Blocks of at least this many bytes go on 2 MB boundaries and ask the
 * kernel for transparent huge pages: weights and activations of several MB
 * then cost a page fault per 2 MB when first written, not per 4 KB (where
 * the machine offers them; elsewhere the hint does nothing). */
#define HUGE_PAGE ((size_t)2 << 20)

float *ts_alloc_floats(size_t n) {
    if (n > (SIZE_MAX - HUGE_PAGE) / sizeof(float)) return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = NULL;
    if (bytes >= HUGE_PAGE) {
        bytes = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
        return p;
    }
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}
