#include "nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>

#include "nn/fastexp.h"

static inline float dot(const float *a, const float *b, int n) {
    float s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Causal attention through cblas_sgemm, in row blocks so that the products
 * skip most of the masked upper triangle: block [r0, r1) of queries needs
 * keys 0 .. r1 only. */
#define ATT_BLOCK 64

void ts_attention_head_forward(float *out, int ldo, float *probs, const float *q, const float *k,
                               const float *v, int ld, int T, int hd, const int32_t *hide) {
    const float scale = 1.0f / sqrtf((float)hd);
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, M = r1 - r0;
        float *P = probs + (size_t)r0 * T;
        /* P[r0:r1, 0:r1] = scale · Q[r0:r1] · K[0:r1]ᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, r1, hd, scale,
                    q + (size_t)r0 * ld, ld, k, ld, 0.0f, P, T);
        for (int t = r0; t < r1; t++) {
            float *p = probs + (size_t)t * T;
            int h0 = 0, h1 = 0; /* the hidden span, clamped to [0, t) */
            if (hide && hide[2 * t] < hide[2 * t + 1]) {
                h0 = hide[2 * t] < 0 ? 0 : hide[2 * t];
                h1 = hide[2 * t + 1] > t ? t : hide[2 * t + 1];
                if (h0 > h1) h0 = h1;
            }
            for (int s = h0; s < h1; s++)
                p[s] = -INFINITY;
            float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (int s = 0; s <= t; s++) mx = p[s] > mx ? p[s] : mx;
            float sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int s = 0; s <= t; s++)
                sum += (p[s] = ts_expf(p[s] - mx));
            float inv = 1.0f / sum;
            for (int s = 0; s <= t; s++) p[s] *= inv;
            for (int s = t + 1; s < T; s++) p[s] = 0.0f; /* masked */
        }
        /* O[r0:r1] = P[r0:r1, 0:r1] · V[0:r1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, hd, r1, 1.0f, P, T, v, ld, 0.0f,
                    out + (size_t)r0 * ldo, ldo);
    }
}

void ts_attention_head_backward(float *dq, float *dk, float *dv, int ld, const float *dout,
                                int ldo, const float *probs, const float *q, const float *k,
                                const float *v, int T, int hd, float *scratch) {
    const float scale = 1.0f / sqrtf((float)hd);
    for (int r0 = 0; r0 < T; r0 += ATT_BLOCK) {
        int r1 = r0 + ATT_BLOCK < T ? r0 + ATT_BLOCK : T, M = r1 - r0;
        const float *P = probs + (size_t)r0 * T, *dO = dout + (size_t)r0 * ldo;
        float *dS = scratch; /* [M, r1], row stride T */
        /* dV[0:r1] += Pᵀ · dO ;  dP = dO · Vᵀ */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, M, 1.0f, P, T, dO, ldo, 1.0f,
                    dv, ld);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, r1, hd, 1.0f, dO, ldo, v, ld, 0.0f,
                    dS, T);
        /* softmax backward: dS = P ∘ (dP − Σ_s P·dP) · scale (zero where masked) */
        for (int i = 0; i < M; i++) {
            const float *p = P + (size_t)i * T;
            float *d = dS + (size_t)i * T;
            float pdp = 0;
            for (int s = 0; s < r1; s++) pdp += p[s] * d[s];
            for (int s = 0; s < r1; s++) d[s] = p[s] * (d[s] - pdp) * scale;
        }
        /* dQ[r0:r1] += dS · K[0:r1] ;  dK[0:r1] += dSᵀ · Q[r0:r1] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, hd, r1, 1.0f, dS, T, k, ld, 1.0f,
                    dq + (size_t)r0 * ld, ld);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hd, M, 1.0f, dS, T,
                    q + (size_t)r0 * ld, ld, 1.0f, dk, ld);
    }
}

void ts_attention_query(float *out, const float *q, const float *kc, const float *vc, int ldc,
                        int n, int hd, float *scores) {
    const float scale = 1.0f / sqrtf((float)hd);
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        scores[s] = dot(q, kc + (size_t)s * ldc, hd) * scale;
        if (scores[s] > mx) mx = scores[s];
    }
    float sum = 0;
    for (int s = 0; s < n; s++) sum += (scores[s] = expf(scores[s] - mx));
    float inv = 1.0f / sum;
    for (int i = 0; i < hd; i++) out[i] = 0;
    for (int s = 0; s < n; s++) {
        float w = scores[s] * inv;
        const float *vs = vc + (size_t)s * ldc;
        for (int i = 0; i < hd; i++) out[i] += w * vs[i];
    }
}

void ts_dra_gate_forward(float *y, float *g, const float *glogit, int ldg, const float *x, int N,
                         int H, int hd) {
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            float gv = ts_sigmoidf(glogit[(size_t)n * ldg + h]);
            g[(size_t)n * H + h] = gv;
            float m = gv > 0.5f ? gv : 0.0f;
            const float *xs = x + ((size_t)n * H + h) * hd;
            float *ys = y + ((size_t)n * H + h) * hd;
            for (int i = 0; i < hd; i++) ys[i] = xs[i] * m;
        }
}

void ts_dra_gate_backward(float *dx, float *dglogit, int ldg, const float *dy, const float *x,
                          const float *g, int N, int H, int hd, float dpen) {
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            float gv = g[(size_t)n * H + h], m = gv > 0.5f ? gv : 0.0f;
            const float *xs = x + ((size_t)n * H + h) * hd, *dys = dy + ((size_t)n * H + h) * hd;
            float *dxs = dx + ((size_t)n * H + h) * hd;
            float dm = 0;
            for (int i = 0; i < hd; i++) {
                dm += dys[i] * xs[i];
                dxs[i] = dys[i] * m;
            }
            dglogit[(size_t)n * ldg + h] = (dm + dpen) * gv * (1.0f - gv);
        }
}
