#include "nn/rope.h"

#include <math.h>
#include <stddef.h>

void ts_rope_table(float *cosv, float *sinv, int max_pos, int hd, float theta) {
    int half = hd / 2;
    for (int p = 0; p < max_pos; p++)
        for (int i = 0; i < half; i++) {
            double a = p * pow(theta, -2.0 * i / hd);
            cosv[(size_t)p * half + i] = (float)cos(a);
            sinv[(size_t)p * half + i] = (float)sin(a);
        }
}

static void rotate(float *x, int ld, int N, int H, int hd, const int32_t *row, const int32_t *col,
                   const float *cosv, const float *sinv, float sgn) {
    int half = hd / 2;
    for (int n = 0; n < N; n++) {
        /* pair i reads the table row of its axis: even pairs row[n], odd col[n] */
        const size_t r = (size_t)row[n] * half, k = (size_t)(col ? col[n] : row[n]) * half;
        const float *cs[2] = {cosv + r, cosv + k}, *sn[2] = {sinv + r, sinv + k};
        for (int h = 0; h < H; h++) {
            float *v = x + (size_t)n * ld + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float c = cs[i & 1][i], s = sgn * sn[i & 1][i];
                float a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * c - b * s;
                v[2 * i + 1] = a * s + b * c;
            }
        }
    }
}

void ts_rope_forward(float *x, int ld, int N, int H, int hd, const int32_t *row, const int32_t *col,
                     const float *cosv, const float *sinv) {
    rotate(x, ld, N, H, hd, row, col, cosv, sinv, 1.0f);
}

void ts_rope_backward(float *dx, int ld, int N, int H, int hd, const int32_t *row,
                      const int32_t *col, const float *cosv, const float *sinv) {
    rotate(dx, ld, N, H, hd, row, col, cosv, sinv, -1.0f);
}
