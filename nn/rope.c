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

static void rotate(float *x, int ld, int N, int H, int hd, const int32_t *pos, const float *cosv,
                   const float *sinv, float sgn) {
    int half = hd / 2;
    for (int n = 0; n < N; n++) {
        const float *c = cosv + (size_t)pos[n] * half, *s = sinv + (size_t)pos[n] * half;
        for (int h = 0; h < H; h++) {
            float *v = x + (size_t)n * ld + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float a = v[2 * i], b = v[2 * i + 1], si = sgn * s[i];
                v[2 * i] = a * c[i] - b * si;
                v[2 * i + 1] = a * si + b * c[i];
            }
        }
    }
}

void ts_rope_forward(float *x, int ld, int N, int H, int hd, const int32_t *pos,
                     const float *cosv, const float *sinv) {
    rotate(x, ld, N, H, hd, pos, cosv, sinv, 1.0f);
}

void ts_rope_backward(float *dx, int ld, int N, int H, int hd, const int32_t *pos,
                      const float *cosv, const float *sinv) {
    rotate(dx, ld, N, H, hd, pos, cosv, sinv, -1.0f);
}
