/* AdamW with decoupled weight decay, global-norm gradient clipping and the
 * learning-rate schedule (linear warmup, then cosine decay). */
#ifndef TESSERA_NN_ADAMW_H
#define TESSERA_NN_ADAMW_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} ts_adamw_config;

/* Default: lr 3e-4, betas (0.9, 0.95), eps 1e-8, weight decay 0.1. */
ts_adamw_config ts_adamw_defaults(void);

/* One step over n parameters. m and v are the moments (zero at start), t
 * the 1-based step number. decay selects whether weight decay applies
 * (matrices yes; norms, biases, gates no). */
void ts_adamw_step(const ts_adamw_config *c, float lr, int64_t t, float *param, const float *grad,
                   float *m, float *v, size_t n, int decay);

/* Returns the global L2 norm of the gradients (given as n_bufs buffers) and,
 * when it exceeds max_norm > 0, scales them all down to max_norm. */
double ts_clip_grad_norm(float *const *grads, const size_t *sizes, int n_bufs, double max_norm);

/* Linear warmup over `warmup` steps to lr_max, then cosine decay to lr_min at
 * `total`; `step` is 0-based. */
float ts_lr_schedule(int64_t step, int64_t warmup, int64_t total, float lr_max, float lr_min);

#endif
