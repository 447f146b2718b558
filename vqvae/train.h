/* The VQ-VAE trainer's internals, shared with the tests: one optimiser step
 * over an image batch and an audio batch, and exact checkpoints. */
#ifndef TESSERA_VQVAE_TRAIN_H
#define TESSERA_VQVAE_TRAIN_H

#include "nn/adamw.h"
#include "vqvae/net.h"
#include "vqvae/quantize.h"
#include "vqvae/vq_internal.h"

#define VQ_MAX_WORKERS 64

typedef struct {
    vq_ws ie, id, ae, ad; /* image / audio encoder / decoder buffers */
    float *buf;           /* staging, see worker_bufs */
    float *grads;         /* this worker's gradients (worker 0: the sum) */
    double rec[2], com[2]; /* per modality sums of squares */
} vq_worker;

/* One history row per step (for the CSV and the plot). */
enum { H_IMG_REC, H_AUD_REC, H_IMG_COM, H_AUD_COM, H_LOSS, H_IMG_USE, H_AUD_USE, H_N };

typedef struct {
    ts_vq *vq;
    ts_vq_ema ema;
    ts_adamw_config adam;
    ts_vq_train_opts opts;
    int img_batch, aud_batch, frames;
    ts_pool *pool;
    int nt;
    vq_worker w[VQ_MAX_WORKERS];
    float *m, *v;           /* Adam moments (n_params) */
    float *img_in, *aud_in; /* the batch, NCHW / (B, mels, frames) */
    float *ze;              /* all encoder outputs of the batch (M_img + M_aud, D) */
    int32_t *idx;           /* their codes */
    int64_t step;
    int initialized;
    float *hist; /* (steps, H_N) */
    int64_t hist_cap;
    size_t worker_buf_n;
} vq_trainer;

ts_status vq_trainer_new(vq_trainer *t, ts_vq *vq, const ts_vq_train_opts *opts, int frames);
void vq_trainer_free(vq_trainer *t); /* does not free t->vq */

/* One step on the batch in t->img_in (img_batch images) and t->aud_in
 * (aud_batch clips); fills hist row t->step and advances t->step. */
ts_status vq_train_step(vq_trainer *t, int *restarts);

/* Checkpoints: the model, Adam moments, EMA state, step, history, opts. */
ts_status vq_checkpoint_save(const vq_trainer *t, const char *path, int64_t n_img, int64_t n_aud);
/* Creates the model and restores the trainer; opts from the caller except
 * what must match (batch sizes, steps, lr, seed: taken from the file). */
ts_status vq_checkpoint_load(vq_trainer *t, const char *path, const ts_vq_train_opts *opts,
                             int64_t n_img, int64_t n_aud);

/* The run's history as a CSV (one row per step) and as a PNG plot of the
 * loss curves (vqvae/run.c). */
ts_status vq_write_csv(const vq_trainer *t, const char *path);
ts_status vq_write_plot(const vq_trainer *t, const char *path);

#endif
