/* Mixture-of-Experts feed-forward, routed as DeepSeek-V3 routes:
 *   s_e = sigmoid(u · c_e); the top K of s_e + b_e are selected (b: a
 *   per-expert bias no gradient touches); g_e = s_e / Σ_selected s_j;
 *   out = Σ_selected g_e · W2_e (silu(W1_e u) ⊙ W3_e u).
 * Experts run as grouped products: the tokens routed to expert e are
 * gathered into one block, multiplied by e's weights in one GEMM, and the
 * results scattered back weighted by g. No token is dropped. */
#ifndef TESSERA_NN_MOE_H
#define TESSERA_NN_MOE_H

#include <stdint.h>

#include "tessera/core.h"

#define TS_MOE_MAX_EXPERTS 256

typedef struct {
    int D, E, K, F; /* width, routed experts, experts per token, expert hidden */
} ts_moe_dims;

/* What a forward pass keeps for the backward pass (N tokens). */
typedef struct {
    float *s;      /* [N,E] sigmoid affinities */
    int32_t *sel;  /* [N,K] selected experts */
    float *gw;     /* [N,K] mixing weights */
    int32_t *row;  /* [N,K] row of (n, k) in the grouped buffers */
    int32_t *tok;  /* [N·K] token of each grouped row */
    int32_t *offs; /* [E+1] expert e owns grouped rows offs[e] .. offs[e+1] */
    float *xg;     /* [N·K, D] gathered inputs */
    float *h;      /* [N·K, 2F] W1 x | W3 x */
    float *a;      /* [N·K, F] silu(W1 x) ⊙ W3 x */
    float *y;      /* [N·K, D] expert outputs */
} ts_moe_state;

/* Router: s from u[N,D] and C[E,D]; unless keep_selection, selects the top K
 * of s + bias (ties to the lower index); then mixing weights and grouping. */
void ts_moe_route(ts_pool *pool, ts_moe_state *st, const float *u, const float *C,
                  const float *bias, int N, ts_moe_dims d, bool keep_selection);
/* out[N,D] += Σ_k gw · Expert_sel(u). W1, W3 [E,F,D], W2 [E,D,F]. */
void ts_moe_experts_forward(ts_pool *pool, float *out, ts_moe_state *st, const float *u,
                            const float *W1, const float *W3, const float *W2, int N,
                            ts_moe_dims d);
/* du[N,D] += ; dW1, dW3, dW2 += ; dgw[N,K] written. scratch: N·K·(D+3F). */
void ts_moe_experts_backward(ts_pool *pool, float *du, float *dW1, float *dW3, float *dW2,
                             float *dgw, const float *dout, const ts_moe_state *st,
                             const float *W1, const float *W3, const float *W2, int N,
                             ts_moe_dims d, float *scratch);

/* The sequence-level balance loss α Σ_e f_e P_e averaged over the N / T
 * sequences of T tokens (f_e = E/(K·T)·#{t: e selected}, P_e = mean_t
 * s_e,t / Σ_j s_j,t), without α. */
double ts_moe_balance_loss(const ts_moe_state *st, int N, int T, ts_moe_dims d);
/* Router backward: from dgw[N,K] and the balance loss (weight alpha, sequences
 * of T tokens), du[N,D] += and dC[E,D] +=. scratch: N·E floats. */
void ts_moe_route_backward(ts_pool *pool, float *du, float *dC, const ts_moe_state *st,
                           const float *dgw, const float *u, const float *C, int N, int T,
                           float alpha, ts_moe_dims d, float *scratch);

#endif
