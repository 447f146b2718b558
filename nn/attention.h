/* Causal scaled dot-product attention, one head of one sequence at a time,
 * and the DRA head gates that scale each head's output.
 *
 * Rows are strided so q, k, v can live side by side in one projection
 * output: q[t] = q + t·ld, and likewise k, v; out[t] = out + t·ldo. */
#ifndef TESSERA_NN_ATTENTION_H
#define TESSERA_NN_ATTENTION_H

#include <stdint.h>

/* out[T,hd] = softmax(q·kᵀ/√hd, causal) · v ; probs[T,T] saved (row t holds
 * columns 0..t, zeros after). hide (NULL: none) gives each query t a span of
 * keys [hide[2t], hide[2t+1]) below t that it does not see (zeros in probs),
 * so the turns of a record that share one media prefix stay apart; the
 * backward pass needs nothing more, since it works from probs. */
void ts_attention_head_forward(float *out, int ldo, float *probs, const float *q, const float *k,
                               const float *v, int ld, int T, int hd, const int32_t *hide);
/* dq, dk, dv (stride ld) += ; scratch holds 64·T floats. */
void ts_attention_head_backward(float *dq, float *dk, float *dv, int ld, const float *dout,
                                int ldo, const float *probs, const float *q, const float *k,
                                const float *v, int T, int hd, float *scratch);

/* One query against n cached keys/values (generation): out[hd]; scores
 * holds n floats. */
void ts_attention_query(float *out, const float *q, const float *kc, const float *vc, int ldc,
                        int n, int hd, float *scores);

/* DRA gates. glogit[N, stride ldg] holds H logits per token (bias included);
 * g[N,H] = sigmoid(glogit); y[N,H·hd] = x · m with m = g·[g > 0.5]. */
void ts_dra_gate_forward(float *y, float *g, const float *glogit, int ldg, const float *x, int N,
                         int H, int hd);
/* dx[N,H·hd] = dy · m (written); dglogit (stride ldg) = (Σ dy·x + dpen)·g(1−g),
 * written, treating [g > 0.5] as 1 (straight-through); dpen is the
 * derivative of the gate penalty with respect to each g. */
void ts_dra_gate_backward(float *dx, float *dglogit, int ldg, const float *dy, const float *x,
                          const float *g, int N, int H, int hd, float dpen);

#endif
