#include "nn/matvec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One row at a time, start to end: a single sequential stream is what the
 * hardware prefetchers follow best (twice the DRAM bandwidth of interleaving
 * four rows here), with a software prefetch two rows ahead. Streaming
 * weights are prefetched non-temporally, whole rows, so that they do not
 * push the weights every token needs out of the caches. */
static inline void matvec(float *y, const float *W, int rows, int cols, int ldw, const float *x,
                          bool stream) {
    const int c32 = cols & ~31, c8 = cols & ~7;
    for (int r = 0; r < rows; r++) {
        const float *w = W + (size_t)r * ldw;
        /* (an address, not a pointer: it may lie past the end of W) */
        const uintptr_t ahead = (uintptr_t)w + 2 * sizeof(float) * (size_t)ldw;
        if (stream)
            for (int c = 0; c < cols; c += 16)
                _mm_prefetch((const char *)(ahead + sizeof(float) * (size_t)c), _MM_HINT_NTA);
        else
            _mm_prefetch((const char *)ahead, _MM_HINT_T0);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        for (; c < c32; c += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 8), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 16), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 24), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c < c8; c += 8)
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a0);
        float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; c++)
            s += w[c] * x[c];
        y[r] = s;
    }
}

void ts_matvec(float *y, const float *W, int rows, int cols, int ldw, const float *x) {
    matvec(y, W, rows, cols, ldw, x, false);
}

void ts_matvec_stream(float *y, const float *W, int rows, int cols, int ldw, const float *x) {
    matvec(y, W, rows, cols, ldw, x, true);
}

void ts_vecmat_acc(float *y, const float *a, const float *W, int rows, int cols, int ldw) {
    int c = 0;
    for (; c + 32 <= cols; c += 32) {
        float *yc = y + c;
        __m256 y0 = _mm256_loadu_ps(yc), y1 = _mm256_loadu_ps(yc + 8);
        __m256 y2 = _mm256_loadu_ps(yc + 16), y3 = _mm256_loadu_ps(yc + 24);
        for (int r = 0; r < rows; r++) {
            const float *w = W + (size_t)r * ldw + c;
            __m256 ar = _mm256_broadcast_ss(a + r);
            y0 = _mm256_fmadd_ps(ar, _mm256_loadu_ps(w), y0);
            y1 = _mm256_fmadd_ps(ar, _mm256_loadu_ps(w + 8), y1);
            y2 = _mm256_fmadd_ps(ar, _mm256_loadu_ps(w + 16), y2);
            y3 = _mm256_fmadd_ps(ar, _mm256_loadu_ps(w + 24), y3);
        }
        _mm256_storeu_ps(yc, y0), _mm256_storeu_ps(yc + 8, y1);
        _mm256_storeu_ps(yc + 16, y2), _mm256_storeu_ps(yc + 24, y3);
    }
    for (; c + 8 <= cols; c += 8) {
        __m256 y0 = _mm256_loadu_ps(y + c);
        for (int r = 0; r < rows; r++)
            y0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + r),
                                 _mm256_loadu_ps(W + (size_t)r * ldw + c), y0);
        _mm256_storeu_ps(y + c, y0);
    }
    for (; c < cols; c++)
        for (int r = 0; r < rows; r++)
            y[c] += a[r] * W[(size_t)r * ldw + c];
}

#else /* plain C: 8 lanes of partial sums per row, the same for every row */

void ts_matvec(float *y, const float *W, int rows, int cols, int ldw, const float *x) {
    for (int r = 0; r < rows; r++) {
        const float *w = W + (size_t)r * ldw;
        float acc[8] = {0}, s = 0;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
            for (int k = 0; k < 8; k++)
                acc[k] += w[c + k] * x[c + k];
        for (int k = 0; k < 8; k++)
            s += acc[k];
        for (; c < cols; c++)
            s += w[c] * x[c];
        y[r] = s;
    }
}

void ts_matvec_stream(float *y, const float *W, int rows, int cols, int ldw, const float *x) {
    ts_matvec(y, W, rows, cols, ldw, x);
}

void ts_vecmat_acc(float *y, const float *a, const float *W, int rows, int cols, int ldw) {
    for (int r = 0; r < rows; r++) {
        const float *w = W + (size_t)r * ldw;
        for (int c = 0; c < cols; c++)
            y[c] += a[r] * w[c];
    }
}

#endif
