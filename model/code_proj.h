/* Media-code embeddings tied to the VQ codebook while the decoder trains.
 *
 * The rows [code_base, code_base + K) of the token embeddings are not free
 * parameters but (C − mean C)·W + b: the centred codebook C (K × dim)
 * through one learned projection W (dim × D) and bias b (D). Codes that lie
 * close in the codebook stay close in the decoder, so a code seen rarely in
 * training (a held-out speaker's) means what its neighbours mean. The rows
 * are kept equal to the projection after every step, so the saved model is
 * an ordinary one: inference never sees W. */
#ifndef TESSERA_MODEL_CODE_PROJ_H
#define TESSERA_MODEL_CODE_PROJ_H

#include "model/model_impl.h"

typedef struct {
    int code_base, K, dim, D;
    float *C;       /* [K, dim] the centred codebook */
    float *w;       /* [dim·D + D] W then b: the trained parameters */
    float *g;       /* their gradient */
    float *m1, *m2; /* AdamW moments */
} ts_code_proj;

/* W drawn from seed so that the rows start with the spread of the other
 * embeddings (N(0, 0.02)); b = 0. Writes the rows. */
ts_status ts_code_proj_new(ts_model *m, int code_base, const float *codebook, int K, int dim,
                           uint64_t seed, ts_code_proj **out);
void ts_code_proj_free(ts_code_proj *p);
/* rows = C·W + b */
void ts_code_proj_write_rows(const ts_code_proj *p, float *tok_embd);
/* Moves the rows' gradient (inside the model's gradient arena) onto W and
 * b, zeroing the rows; returns the sum of squares of W's and b's gradient. */
double ts_code_proj_backward(ts_code_proj *p, float *grad_tok_embd);

#endif
