#include "nn/adamw.h"

#include <math.h>

ts_adamw_config ts_adamw_defaults(void) {
    return (ts_adamw_config){.lr = 3e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
}

void ts_adamw_step(const ts_adamw_config *c, float lr, int64_t t, float *param, const float *grad,
                   float *m, float *v, size_t n, int decay) {
    const float b1 = c->beta1, b2 = c->beta2;
    /* bias corrections folded into the step size and epsilon */
    const float c1 = 1.0f - powf(b1, (float)t), c2 = 1.0f - powf(b2, (float)t);
    const float step = lr / c1, rc2 = 1.0f / sqrtf(c2), eps = c->eps;
    const float shrink = decay ? 1.0f - lr * c->weight_decay : 1.0f;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        param[i] = param[i] * shrink - step * mi / (sqrtf(vi) * rc2 + eps);
    }
}

double ts_clip_grad_norm(float *const *grads, const size_t *sizes, int n_bufs, double max_norm) {
    double ss = 0;
    for (int b = 0; b < n_bufs; b++)
        for (size_t i = 0; i < sizes[b]; i++) ss += (double)grads[b][i] * grads[b][i];
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float scale = (float)(max_norm / (norm + 1e-6));
        for (int b = 0; b < n_bufs; b++)
            for (size_t i = 0; i < sizes[b]; i++) grads[b][i] *= scale;
    }
    return norm;
}

float ts_lr_schedule(int64_t step, int64_t warmup, int64_t total, float lr_max, float lr_min) {
    if (warmup > 0 && step < warmup) return lr_max * (float)(step + 1) / (float)warmup;
    if (step >= total) return lr_min;
    double p = (double)(step - warmup) / (double)(total > warmup ? total - warmup : 1);
    return lr_min + 0.5f * (lr_max - lr_min) * (float)(1.0 + cos(M_PI * p));
}
