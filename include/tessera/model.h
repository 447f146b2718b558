/* The Mixture-of-Experts decoder (model/): configuration, GGUF load/save,
 * teacher-forced scoring, generation with a KV cache, and training.
 *
 *     ts_model *m;
 *     if (ts_model_load("lm.gguf", &m) != TS_OK) { puts(ts_last_error()); ... }
 *     double lp; int n;
 *     ts_model_score(m, ids, mask, n_ids, &lp, &n);   // Σ log p over masked ids
 *     ts_model_free(m);
 *
 * A loaded model is read-only: every scoring and generation call keeps its
 * scratch in the call (or in its ts_session), so many threads may score
 * different sequences on one model at once. */
#ifndef TESSERA_MODEL_H
#define TESSERA_MODEL_H

#include <signal.h>

#include "tessera/core.h"
#include "tessera/gguf.h"

typedef struct {
    int vocab_size;     /* tessera.vocab_size */
    int d_model;        /* tessera.embedding_length */
    int n_heads;        /* tessera.attention.head_count */
    int head_dim;       /* tessera.attention.key_length */
    int n_layers;       /* tessera.block_count */
    int n_dense_layers; /* tessera.leading_dense_block_count: the first blocks are dense */
    int ffn_hidden;     /* tessera.feed_forward_length (dense SwiGLU) */
    int n_experts;      /* tessera.expert_count */
    int n_experts_used; /* tessera.expert_used_count */
    int n_shared;       /* tessera.expert_shared_count (0 or 1) */
    int expert_hidden;  /* tessera.expert_feed_forward_length (routed and shared) */
    int context;        /* tessera.context_length */
    int tied_output;    /* tessera.tied_output: output head = token embeddings */
    float rope_theta;   /* tessera.rope.freq_base */
    float norm_eps;     /* tessera.attention.layer_norm_rms_epsilon */
    /* 2-D RoPE for images (nn/rope.h): the image_grid² tokens after each
     * image_token are the codes of a grid, in raster order; the code in row
     * r, column c of a grid whose first code sits at position p turns by p + r
     * on one axis and p + c on the other. image_grid 0 (the default): every
     * token has its one 1-D position. */
    int image_grid;  /* tessera.rope.image_grid (absent: 0) */
    int image_token; /* tessera.rope.image_token_id */
    /* R > 0 (needs image_grid): each grid code's input adds W·[the token
     * embeddings of its neighbours read before it], zeros off the grid, W a
     * learned matrix (grid_mix.weight): a causal convolution over the codes,
     * so the first block sees patches of codes and not codes alone. The
     * neighbours are those up to R rows above and R columns to either side,
     * and the R codes to the left in its own row: 2R(R+1) of them (R = 1:
     * up-left, up, up-right, left; W [D, 4D]). R in [0, 3]. */
    int grid_mix; /* tessera.image_grid_mix, tessera.image_grid_mix_reach (absent: 0; 1) */
} ts_model_config;

/* The largest grid_mix reach, and the neighbours a reach mixes: 2R(R+1). */
#define TS_GRID_MIX_MAX_REACH 3
#define TS_GRID_MIX_NEIGHBOURS(reach) (2 * (reach) * ((reach) + 1))

/* The DESIGN.md default (~20 M parameters, ~4 M active) for a vocabulary. */
ts_model_config ts_model_config_default(int vocab_size);
/* Checks that every size is positive and consistent (TS_ERR_USAGE if not). */
ts_status ts_model_config_check(const ts_model_config *c);
/* Parses "key=value,key=value" over the field names above (d_model=128,...)
 * into c; unknown keys or bad values give TS_ERR_USAGE naming them. */
ts_status ts_model_config_parse(ts_model_config *c, const char *spec);

typedef struct ts_model ts_model;

/* A fresh model with random weights (deterministic in seed). */
ts_status ts_model_new(const ts_model_config *c, uint64_t seed, ts_model **out);
/* Loads the decoder part of a GGUF file (any of f32/f16/bf16/q8_0 weights,
 * converted to f32). Fails with TS_ERR_INPUT naming the file and the missing
 * key or tensor. */
ts_status ts_model_load(const char *path, ts_model **out);
ts_status ts_model_load_gguf(const ts_gguf *g, const char *path, ts_model **out);
/* Adds the decoder's keys and tensors (f32) to a writer, so one file can
 * also hold the tokenizer and the VQ-VAE; ts_model_save writes a file with
 * the decoder alone. */
ts_status ts_model_add_to_gguf(const ts_model *m, ts_gguf_writer *w);
/* The same with the matrices stored as dtype (f16, bf16, q8_0; norms,
 * biases and router biases stay f32; q8_0 falls back to f16 for a matrix
 * whose rows are not a multiple of 32). */
ts_status ts_model_add_to_gguf_as(const ts_model *m, ts_gguf_writer *w, ts_dtype dtype);
ts_status ts_model_save(const ts_model *m, const char *path);
void ts_model_free(ts_model *m);

const ts_model_config *ts_model_get_config(const ts_model *m);
int64_t ts_model_n_params(const ts_model *m);        /* all parameters */
int64_t ts_model_n_active_params(const ts_model *m); /* used per token */

/* ---- scoring ------------------------------------------------------------ */
/* Teacher-forced: *logprob = Σ log p(ids[i] | ids[<i]) over the i >= 1 with
 * mask[i] != 0 (mask NULL: every i >= 1), *count = how many. n <= context.
 * Thread-safe on one model; uses one thread. */
ts_status ts_model_score(const ts_model *m, const int32_t *ids, const uint8_t *mask, int n,
                         double *logprob, int *count);
/* The same for n_seqs sequences at once, spread over the pool's threads
 * (pool NULL: the calling thread). Results are identical to ts_model_score. */
ts_status ts_model_score_batch(const ts_model *m, ts_pool *pool, int n_seqs,
                               const int32_t *const *ids, const uint8_t *const *masks,
                               const int *lens, double *logprob, int *count);
/* Full forward over ids[0..n): logits [n, vocab_size] (row i predicts i+1). */
ts_status ts_model_logits(const ts_model *m, const int32_t *ids, int n, float *logits);

/* ---- generation --------------------------------------------------------- */
/* A KV cache over one sequence of up to max_len tokens (0: the context). */
typedef struct ts_session ts_session;
ts_status ts_session_new(const ts_model *m, int max_len, ts_session **out);
void ts_session_free(ts_session *s);
void ts_session_reset(ts_session *s);
int ts_session_length(const ts_session *s);
const ts_model *ts_session_model(const ts_session *s);
/* Keeps the first n tokens (0 <= n <= length) and forgets the rest: the next
 * feed continues from the state after token n - 1, as if the later tokens
 * had never been fed (the logits of token n - 1 are not kept: save them from
 * the feed that made them). */
ts_status ts_session_truncate(ts_session *s, int n);
/* Makes dst (of the same model, max_len >= src's length) hold what src
 * holds, as if it had been fed the same tokens: a beam search's copy of a
 * caption's caches. */
ts_status ts_session_copy(ts_session *dst, const ts_session *src);
/* Appends n tokens; logits (may be NULL) receives the last one's
 * [vocab_size] next-token logits. skip_closed_heads: DRA, heads whose gate
 * is <= 0.5 skip their query/scores/softmax/value work (the output is the
 * same either way, since such heads contribute exactly zero). */
ts_status ts_session_feed(ts_session *s, const int32_t *ids, int n, float *logits);
/* Feeds each of n_s sessions its own ids[i][0..n[i]) (logits, may be NULL:
 * row i receives session i's last next-token logits), as ts_session_feed
 * would one by one. Fresh prompts of one length (empty sessions of one
 * model, such as the views of one input) run as one batched pass over all
 * of them, on the pool's threads; other feeds run side by side on the
 * pool's threads. The logits are the same for any thread count. */
ts_status ts_sessions_feed(ts_session *const *s, int n_s, ts_pool *pool, const int32_t *const *ids,
                           const int *n, float *logits);
void ts_session_set_dra_skip(ts_session *s, bool skip);
/* Splits each token's work over the pool's threads (NULL: the calling
 * thread only); the logits are the same for any thread count. The pool must
 * not be running other work meanwhile. */
void ts_session_set_pool(ts_session *s, ts_pool *pool);
/* Head work done and skipped so far in token-by-token steps (one unit = one
 * head at one token; a fresh prompt fed at once is not counted). */
void ts_session_head_work(const ts_session *s, int64_t *done, int64_t *skipped);
/* Scores n_conts continuations of one shared prefix, for multiple choice:
 * the prefix runs once through the session's KV cache (one batched pass),
 * then each continuation runs from that cached state token by token, so a
 * prefix of P tokens costs P, not n_conts x P. logprob[c] = Σ_i log
 * p(conts[c][i] | prefix, conts[c][<i]) over all lens[c] >= 1 tokens,
 * count[c] = lens[c]: ts_model_score over prefix + continuation with the
 * mask on the continuation, up to float rounding. The session is reset
 * first and holds the prefix afterwards; n_prefix >= 1 and n_prefix +
 * lens[c] <= the context (else TS_ERR_INPUT, as ts_model_score). */
ts_status ts_session_score_continuations(ts_session *s, const int32_t *prefix, int n_prefix,
                                         int n_conts, const int32_t *const *conts,
                                         const int *lens, double *logprob, int *count);
/* The same continuations after each of n_s prefixes (the views of one
 * item), one session each: logprob[b * n_conts + c], count likewise. The
 * prefixes go in through ts_sessions_feed (one batched pass when they are
 * of one length), so each session's scores are those of
 * ts_session_score_continuations on its prefix, up to float rounding. */
ts_status ts_sessions_score_continuations(ts_session *const *s, int n_s, ts_pool *pool,
                                          const int32_t *const *prefixes, const int *n_prefix,
                                          int n_conts, const int32_t *const *conts, const int *lens,
                                          double *logprob, int *count);

typedef struct {
    float temperature; /* 0: greedy */
    int top_k;         /* 0: all */
    float top_p;       /* 1: all */
    uint64_t seed;
} ts_sampler;
ts_sampler ts_sampler_default(void); /* temp 0.8, top-k 40, top-p 0.95, seed 0 */
/* Picks a token from logits [V] (logits is left as is; scratch holds 2V
 * floats or NULL to allocate). */
int32_t ts_sample(const ts_sampler *sp, const float *logits, int V, ts_rng *rng, float *scratch);

/* Called with each new token as it is made; return false to stop. */
typedef bool (*ts_token_cb)(int32_t id, void *user);
/* Feeds the prompt, then samples up to max_new tokens, stopping after eos
 * (eos < 0: never), after max_seconds (<= 0: no limit) or at the context.
 * *n_made counts the tokens passed to cb (eos included). */
ts_status ts_model_generate(const ts_model *m, const int32_t *prompt, int n_prompt, int max_new,
                            const ts_sampler *sp, int32_t eos, double max_seconds, ts_token_cb cb,
                            void *user, int *n_made);
/* The same over n_views prompts that show one input in different views
 * (fusion's test-time views: the same picture moved by a pixel): each
 * view keeps its own session, and every token is drawn from the mean of the
 * views' log-softmax rows (the views' geometric mean), then fed to them all.
 * The views run side by side on pool (NULL: the calling thread; the pool
 * must not be running other work); the tokens do not depend on it. One view
 * is ts_model_generate, byte for byte. */
ts_status ts_model_generate_views(const ts_model *m, ts_pool *pool, const int32_t *const *prompts,
                                  const int *n_prompts, int n_views, int max_new,
                                  const ts_sampler *sp, int32_t eos, double max_seconds,
                                  ts_token_cb cb, void *user, int *n_made);
/* What ts_model_generate_views allocates (a session per view and rows of
 * logits), kept from one call to the next: a worker that answers item after
 * item (a batch of captions, an eval) resets its caches instead of
 * allocating and freeing them for every item. Not shared between threads. */
typedef struct ts_generator ts_generator;
ts_status ts_generator_new(const ts_model *m, ts_generator **out);
void ts_generator_free(ts_generator *g);
/* ts_model_generate_views on g's model, in g's sessions: the same tokens. */
ts_status ts_generator_run(ts_generator *g, ts_pool *pool, const int32_t *const *prompts,
                           const int *n_prompts, int n_views, int max_new, const ts_sampler *sp,
                           int32_t eos, double max_seconds, ts_token_cb cb, void *user,
                           int *n_made);

/* A beam search over the same views (greedy only): every step extends each
 * live answer by its width likeliest tokens under the views' mean
 * log-softmax, keeps the width likeliest of all those, and sets aside the
 * ones that end (at eos, at a token >= end_from when end_from >= 0, or at
 * max_new tokens); it stops when no live answer can beat the likeliest that
 * ended (log-probabilities only fall), and hands that one to cb token by
 * token, its end token included, once the search is over. It gives up
 * without an answer when stop (may be NULL) becomes non-zero, as a signal
 * handler may set it. The tokens do not depend on pool. g keeps width x
 * n_views sessions. */
#define TS_MAX_BEAM 8
ts_status ts_generator_beam(ts_generator *g, ts_pool *pool, const int32_t *const *prompts,
                            const int *n_prompts, int n_views, int max_new, int width, int32_t eos,
                            int32_t end_from, double max_seconds, const volatile sig_atomic_t *stop,
                            ts_token_cb cb, void *user, int *n_made);

/* ---- training ----------------------------------------------------------- */
typedef struct {
    int batch;          /* sequences per step */
    int seq_len;        /* tokens per sequence (<= context) */
    int64_t steps;      /* total optimiser steps */
    int64_t warmup;     /* linear warmup steps */
    float lr, min_lr;   /* peak and final learning rate (cosine) */
    float weight_decay; /* decoupled, matrices only */
    float beta1, beta2, eps;
    float clip;         /* global-norm clipping (0: off) */
    float gate_penalty; /* λ of λ·mean(g) for the DRA gates */
    float balance_alpha; /* α of the sequence-level balance loss */
    float bias_gamma;   /* γ of the router-bias sign rule */
    /* decay d of an exponential moving average of the weights, updated after
     * every step with rate 1 - min(d, (1 + step) / (10 + step)); 0: none */
    float ema;
    uint64_t seed;
} ts_train_config;
ts_train_config ts_train_config_default(void);

typedef struct {
    double loss;          /* mean cross-entropy over the masked targets */
    double aux_loss;      /* balance loss + gate penalty */
    double grad_norm;     /* before clipping */
    float lr;
    int n_targets;
    double active_heads;  /* fraction of head gates > 0.5 */
    double load_max_mean; /* routed tokens per expert: max / mean (all MoE layers) */
    int experts_unused;   /* (layer, expert) pairs that got no token this step */
} ts_train_stats;

typedef struct ts_trainer ts_trainer;
/* The trainer owns the gradient and optimiser arenas and the activations for
 * batch × seq_len tokens; it updates m in place. pool NULL: one thread. */
ts_status ts_trainer_new(ts_model *m, const ts_train_config *tc, ts_pool *pool, ts_trainer **out);
void ts_trainer_free(ts_trainer *t);
/* One optimiser step on tokens [batch, seq_len + 1] (inputs are [:, :-1],
 * targets [:, 1:]) with mask [batch, seq_len] over the targets (NULL: all). */
ts_status ts_trainer_step(ts_trainer *t, const int32_t *tokens, const uint8_t *mask,
                          ts_train_stats *st);
/* Mean loss over the masked targets without updating anything (val).
 * Also adds routed tokens per expert to load [n_layers * n_experts] when
 * not NULL. */
ts_status ts_trainer_eval(ts_trainer *t, const int32_t *tokens, const uint8_t *mask,
                          double *loss_sum, int *n_targets, int64_t *load);
/* The RoPE position [batch, seq_len] of each input token and the span of keys
 * [batch, seq_len, 2] it does not see (nn/attention.h), for the steps and
 * evals that follow; NULL: positions 0..seq_len-1 of each row, nothing
 * hidden (the default). */
void ts_trainer_set_layout(ts_trainer *t, const int32_t *pos, const int32_t *hide);
int64_t ts_trainer_step_count(const ts_trainer *t);
/* Ties the embeddings of the media codes [code_base, code_base + K) to the
 * VQ codebook (K rows of dim floats) for the rest of training: they become
 * (C − mean C)·W + b with W and b learned, so codes close in the codebook
 * stay close (model/code_proj.h). W starts from seed. Call before
 * ts_trainer_load, which then restores W, b and their moments. */
ts_status ts_trainer_tie_codes(ts_trainer *t, int code_base, const float *codebook, int K, int dim,
                               uint64_t seed);
/* Exchanges the weights and their moving average (tc.ema > 0; else does
 * nothing): once to evaluate or keep the averaged model, again to go on
 * training. */
void ts_trainer_swap_average(ts_trainer *t);
/* Checkpoint: weights, AdamW moments, router biases, the moving average, the
 * step, and the caller's extra state (RNG, data position) as a u64 array. */
ts_status ts_trainer_save(const ts_trainer *t, const char *path, const uint64_t *extra,
                          int n_extra);
/* Restores a checkpoint made by ts_trainer_save for the same config into an
 * existing trainer; extra receives up to max_extra values (*n_extra set).
 * With tc.ema > 0 and a checkpoint without an average, the average starts
 * at the checkpoint's weights. On failure part of the trainer's state may
 * already be overwritten: free it rather than train on. */
ts_status ts_trainer_load(ts_trainer *t, const char *path, uint64_t *extra, int max_extra,
                          int *n_extra);

/* ---- training on a token stream (what `tessera train` runs) ------------ */
typedef struct {
    const int32_t *train; /* the training tokens: documents joined by <eos> */
    size_t n_train;
    const int32_t *val; /* held-out tokens (may be NULL) */
    size_t n_val;
    int eval_every;          /* steps between val evaluations (0: 100) */
    int val_windows;         /* val windows of seq_len + 1 tokens (0: up to 512) */
    int ckpt_every;          /* steps between checkpoints (0: at eval only) */
    const char *ckpt_path;   /* NULL: no checkpoints */
    const char *resume_path; /* NULL: start fresh */
    const char *csv_path;    /* step,lr,loss,val_loss,... (NULL: none) */
    const char *png_path;    /* loss plot (NULL: none) */
    double time_limit;       /* seconds; > 0 stops early after a checkpoint */
    bool quiet;              /* no progress on stderr */
} ts_lm_train_opts;

typedef struct {
    int64_t steps_done;
    double loss, val_loss; /* last train step, last val evaluation */
    double val_loss_raw;   /* with tc.ema: the trained weights' (val_loss is the average's) */
    double tokens_per_s;   /* training steps only */
    double answer_tokens_per_s; /* of those, targets the loss counts (train-mm) */
    double active_heads;
    double val_load_max_mean; /* routed tokens per expert over the val set, worst layer */
    int val_experts_unused;   /* (layer, expert) pairs never chosen on val */
} ts_lm_train_result;

/* Trains m in place on random windows of the stream (the window RNG and the
 * step are in the checkpoints, so a resumed run repeats the same losses). */
ts_status ts_lm_train(ts_model *m, const ts_train_config *tc, ts_pool *pool,
                      const ts_lm_train_opts *o, ts_lm_train_result *res);

#endif
