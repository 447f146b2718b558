/* Internals of the decoder shared by the files of model/: the parameter table, the
 * named views into an arena, and the batched forward/backward. */
#ifndef TESSERA_MODEL_IMPL_H
#define TESSERA_MODEL_IMPL_H

#include "nn/moe.h"
#include "tessera/model.h"

/* One named tensor of the parameter arena. Several consecutive tensors form
 * one fused matrix (attn q|k|v|gate, ffn gate|up) so one GEMM serves them. */
typedef struct {
    char name[64];
    size_t off, n;
    int n_dims;
    int64_t dims[3]; /* ggml order: dims[0] varies fastest */
    bool decay;      /* weight decay applies (matrices) */
    bool trained;    /* false: the router bias, moved by the sign rule only */
} ts_param_info;

typedef struct {
    float *attn_norm; /* [D] */
    float *wqkvg;     /* [3·HD + H, D]: q, k, v, gate logits */
    float *bgate;     /* [H] */
    float *wo;        /* [D, HD] */
    float *ffn_norm;  /* [D] */
    float *w13;       /* [2F, D] dense gate | up */
    float *w2;        /* [D, F] dense down */
    float *router;    /* [E, D] */
    float *rbias;     /* [E] selection bias (no gradient) */
    float *ew1, *ew3; /* [E, Fe, D] */
    float *ew2;       /* [E, D, Fe] */
    float *sw13;      /* [2Fe, D] shared gate | up */
    float *sw2;       /* [D, Fe] */
    bool moe;
} ts_layer_w;

typedef struct {
    ts_layer_w *L;
    float *tok_embd; /* [V, D] */
    float *out_norm; /* [D] */
    float *output;   /* [V, D] (= tok_embd when tied) */
    float *grid_mix; /* [D, W·D] (ts_model_config.grid_mix, ts_grid_mix_width; NULL without) */
} ts_weights;

struct ts_model {
    ts_model_config c;
    float *params;
    size_t n_params;
    ts_param_info *info;
    int n_info;
    ts_weights w;
    float *rope_cos, *rope_sin; /* [context, hd/2] */
};

/* Points a ts_weights (its L allocated by the caller) into any arena with
 * the parameter layout: weights, gradients, moments. */
void ts_model_bind(const ts_model *m, float *base, ts_weights *w);
ts_moe_dims ts_model_moe_dims(const ts_model_config *c);

/* The cell k in [0, image_grid²) of token i of ids[0..i], k tokens after
 * its grid's first code; -1 when token i is not a grid code. */
int ts_grid_cell(const ts_model_config *c, const int32_t *ids, int i);
/* The row and column RoPE positions of token i of a sequence at 1-D
 * positions pos (NULL: 0, 1, ...), given its grid cell k (ts_grid_cell):
 * pos[i] for both when k is -1, else, for a grid whose first code is at
 * position p, p + k / g and p + k % g. */
void ts_grid_place(const ts_model_config *c, const int32_t *pos, int i, int k, int32_t *row,
                   int32_t *col);
/* The same for the T tokens of a sequence. */
void ts_grid_positions(const ts_model_config *c, const int32_t *ids, const int32_t *pos, int T,
                       int32_t *row, int32_t *col);
/* One step of a pass over a sequence that finds each token's grid cell as
 * ts_grid_cell does: *last is the index of the latest image token before
 * token i (-1 before the first; start the pass with -1). */
static inline int ts_grid_next_cell(const ts_model_config *c, const int32_t *ids, int i,
                                    int *last) {
    const int cells = c->image_grid * c->image_grid;
    const int k = cells && *last >= 0 && ids[i] != c->image_token && i - 1 - *last < cells
                      ? i - 1 - *last
                      : -1;
    if (ids[i] == c->image_token) *last = i;
    return k;
}

/* The neighbours each grid code is mixed with (ts_model_config.grid_mix):
 * R rows of 2R+1 above it and R to its left; 0 without mixing. */
static inline int ts_grid_mix_width(const ts_model_config *c) {
    return TS_GRID_MIX_NEIGHBOURS(c->grid_mix);
}

/* Activations of a batched forward over B sequences of T tokens (N = B·T).
 * In inference mode every layer shares one set of buffers. */
typedef struct {
    float *x;     /* [N,D] block input */
    float *xn1;   /* [N,D] */
    float *rstd1; /* [N] */
    float *qkvg;  /* [N, 3HD+H] q and k after RoPE */
    float *probs; /* [B,H,T,T] */
    float *g;     /* [N,H] gates */
    float *atty;  /* [N,HD] heads before gating */
    float *attg;  /* [N,HD] after gating */
    float *x2;    /* [N,D] x + attention */
    float *xn2;   /* [N,D] */
    float *rstd2; /* [N] */
    float *h;     /* [N,2F] dense or shared-expert gate | up */
    float *a;     /* [N,F] */
    ts_moe_state ms;
} ts_layer_acts;

typedef struct {
    int B, T;
    bool train;
    ts_layer_acts *L;
    float *xout;  /* [N,D] last block's output */
    float *xnf;   /* [N,D] */
    float *rstdf; /* [N] */
    float *logits; /* [N,V] (or [n_head,V]); dlogits in the backward pass */
    int logit_rows; /* rows the logits have room for: 0 means N (ts_acts_new_head) */
    /* When head_rows is set (ascending), the output head runs on those
     * n_head positions only, in that order, and so do the last block's
     * output projection and FFN (ts_acts_block_rows): xout, xnf and
     * logits hold n_head rows. Training sets the positions its loss counts,
     * so that work skips prompt and media tokens. NULL: all N. */
    const int32_t *head_rows;
    int n_head;
    float *losses; /* [N] */
    int32_t *pos;  /* [N] 1-D positions */
    int32_t *rope_row, *rope_col; /* [N] each their RoPE positions (ts_grid_positions) */
    int32_t *hide; /* [N,2] keys each token does not see (ts_attention_head_forward) */
    /* grid mixing (model/grid_mix.c): the n_mix grid codes' rows, their W
     * neighbours' rows (-1: off the grid) and the neighbours' embeddings
     * side by side, [N], [N,W], [N,W·D] (W = ts_grid_mix_width); NULL
     * without grid_mix */
    int32_t *mix_rows, *mix_nb;
    float *mix_in;
    int n_mix;
    /* false: the forward pass sets pos[n] = n mod T and hides nothing;
     * true: the caller has filled pos and hide (ts_trainer_set_layout) */
    bool custom_layout;
    /* when set, each layer's keys and values after RoPE are copied to
     * kcache[b] / vcache[b] for batch row b, [layers, cache_len, HD]: KV
     * caches (one per sequence) filled in one pass */
    float *const *kcache, *const *vcache;
    int cache_len;
    /* backward scratch */
    float *dx, *dxn, *dqkvg, *datt, *dh, *da, *moe_scratch, *dgw, *dlogit_r, *dbuf;
    void *mem;
} ts_acts;

/* Grid mixing (ts_model_config.grid_mix), after the embedding lookup: adds
 * each grid code's mixed neighbours to its row of a->L[0].x (keeping what
 * the backward pass needs in a). */
void ts_grid_mix_forward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids);
/* Its backward from a->dx (dL/d of the embedded input): into the mixing
 * matrix's gradient g->grid_mix and the neighbours' rows of g->tok_embd. */
void ts_grid_mix_backward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                          const ts_weights *g);
/* The same for token i of a sequence whose earlier tokens are ids[0..i]
 * (decoding one token at a time), in grid cell k (ts_grid_cell; -1: not a
 * grid code, nothing to add): x += W·in, in a [(W+1)D] scratch. */
void ts_grid_mix_token(const ts_model *m, const int32_t *ids, int i, int k, float *in, float *x);

/* Allocates activations (and backward scratch when train). */
ts_status ts_acts_new(const ts_model *m, int B, int T, bool train, ts_acts *a);
/* Memory kept between inference passes (free mem when done): allocating
 * tens of MB per pass costs a page fault per 4 KB each time when a pool
 * thread's malloc hands the block back to the system on free. */
typedef struct {
    float *mem;
    size_t n; /* floats */
} ts_scratch;
/* Inference activations whose logits hold n_head rows only: for a forward
 * with head_rows set to n_head positions (the last of each prompt). With
 * scratch (may be NULL) they live in its memory, grown when too small. */
ts_status ts_acts_new_head(const ts_model *m, int B, int T, int n_head, ts_scratch *scratch,
                           ts_acts *a);
void ts_acts_free(ts_acts *a);

/* Forward over ids [B,T] to logits (acts->logits). keep_routing reuses the
 * expert selection of the previous forward (tests hold routing fixed). */
void ts_model_forward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                      bool keep_routing);
/* Rows that block l's output projection and FFN run on: N, or n_head for
 * the last block when head_rows is set (its other rows reach no loss). */
int ts_acts_block_rows(const ts_model *m, const ts_acts *a, int l);
/* Backward from dlogits in a->logits (already computed by the caller) into
 * the gradient weights g (accumulated). gate_dpen: derivative of the gate
 * penalty per gate; alpha: balance-loss weight. */
void ts_model_backward(const ts_model *m, ts_pool *pool, ts_acts *a, const int32_t *ids,
                       const ts_weights *g, float gate_dpen, float alpha);

#endif
