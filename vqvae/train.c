/* VQ-VAE training: each step runs an image batch and an audio batch through
 * their encoders, the ONE codebook and their decoders; the batch is split
 * over the pool's workers (fixed chunks, per-worker gradients summed in
 * worker order: the same bytes for the same thread count). Then AdamW on the
 * networks and the EMA update of the codebook from both modalities' encoder
 * outputs, with dead codes restarted from them. */
#include "vqvae/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ts_vq_train_opts ts_vq_train_defaults(void) {
    return (ts_vq_train_opts){.steps = 8000, .img_batch = 32, .aud_batch = 16, .lr = 7e-4f,
                              .lr_min = 7e-5f, .warmup = 100, .seed = 1, .threads = 0,
                              .checkpoint_every = 500, .eval_every = 0};
}

static void chunk_of(int B, int nt, int w, int *n0, int *n) {
    int c = (B + nt - 1) / nt;
    *n0 = w * c < B ? w * c : B;
    *n = (w + 1) * c < B ? c : B - *n0;
}

/* per worker: x, dy (the largest input), then zq, zqc, dzq (M x D each), dist */
static size_t worker_floats(const ts_vq *vq, int img_chunk, int aud_chunk, int frames) {
    const ts_vq_config *c = &vq->cfg;
    size_t S = (size_t)c->image_size, D = (size_t)c->dim;
    size_t xi = (size_t)img_chunk * 3 * S * S, xa = (size_t)aud_chunk * c->n_mels * frames;
    size_t mi = (size_t)img_chunk * (S / 4) * (S / 4), ma = (size_t)aud_chunk * (frames / 4);
    size_t X = xi > xa ? xi : xa, M = mi > ma ? mi : ma;
    return 2 * X + 3 * M * D + ts_vq_nearest_scratch((int)M, c->codebook_size) + 64;
}

ts_status vq_trainer_new(vq_trainer *t, ts_vq *vq, const ts_vq_train_opts *opts, int frames) {
    memset(t, 0, sizeof *t);
    t->vq = vq;
    t->opts = *opts;
    t->img_batch = opts->img_batch, t->aud_batch = opts->aud_batch, t->frames = frames;
    t->adam = ts_adamw_defaults();
    t->adam.beta2 = 0.99f;
    t->adam.weight_decay = 0.0f;
    t->nt = opts->threads > 0 ? opts->threads : ts_online_cpus();
    if (t->nt > VQ_MAX_WORKERS) t->nt = VQ_MAX_WORKERS;
    openblas_set_num_threads(1); /* the pool splits the batch itself */
    t->pool = ts_pool_new(t->nt);
    if (!t->pool) return ts_fail(TS_ERR_NOMEM, "out of memory");
    t->nt = ts_pool_threads(t->pool);
    const ts_vq_config *c = &vq->cfg;
    size_t K = (size_t)c->codebook_size, D = (size_t)c->dim, S = (size_t)c->image_size;
    t->ema = (ts_vq_ema){.K = c->codebook_size, .D = c->dim, .decay = c->ema_decay,
                         .eps = c->ema_eps, .E = vq->codebook};
    t->ema.N = ts_alloc_floats(K);
    t->ema.S = ts_alloc_floats(K * D);
    t->m = ts_alloc_floats(vq->n_params);
    t->v = ts_alloc_floats(vq->n_params);
    size_t mi = (size_t)t->img_batch * (S / 4) * (S / 4), ma = (size_t)t->aud_batch * (frames / 4);
    t->img_in = ts_alloc_floats((size_t)t->img_batch * 3 * S * S + 1);
    t->aud_in = ts_alloc_floats((size_t)t->aud_batch * c->n_mels * frames + 1);
    t->ze = ts_alloc_floats((mi + ma) * D + 1);
    t->idx = malloc((mi + ma + 1) * sizeof *t->idx);
    t->worker_buf_n = worker_floats(vq, (t->img_batch + t->nt - 1) / t->nt,
                                    (t->aud_batch + t->nt - 1) / t->nt, frames);
    int ok = t->ema.N && t->ema.S && t->m && t->v && t->img_in && t->aud_in && t->ze && t->idx;
    for (int i = 0; i < t->nt && ok; i++) {
        t->w[i].buf = ts_alloc_floats(t->worker_buf_n);
        t->w[i].grads = ts_alloc_floats(vq->n_params);
        ok = t->w[i].buf && t->w[i].grads;
    }
    if (!ok) {
        vq_trainer_free(t);
        return ts_fail(TS_ERR_NOMEM, "out of memory for the trainer");
    }
    memset(t->ema.N, 0, K * sizeof(float));
    memset(t->ema.S, 0, K * D * sizeof(float));
    memset(t->m, 0, vq->n_params * sizeof(float));
    memset(t->v, 0, vq->n_params * sizeof(float));
    return TS_OK;
}

void vq_trainer_free(vq_trainer *t) {
    for (int i = 0; i < VQ_MAX_WORKERS; i++) {
        vq_ws_free(&t->w[i].ie), vq_ws_free(&t->w[i].id);
        vq_ws_free(&t->w[i].ae), vq_ws_free(&t->w[i].ad);
        free(t->w[i].buf), free(t->w[i].grads);
    }
    free(t->ema.N), free(t->ema.S), free(t->m), free(t->v);
    free(t->img_in), free(t->aud_in), free(t->ze), free(t->idx), free(t->hist);
    ts_pool_free(t->pool);
    memset(t, 0, sizeof *t);
}

/* ---- one modality through encoder, codebook, decoder and back -------------- */
typedef struct {
    vq_trainer *t;
    int encode_only;
    int failed;
    const float *norms;
} step_ctx;

typedef struct {
    const vq_net *enc, *dec;
    vq_ws *wse, *wsd;
    const float *x; /* (N, C, H, W) */
    int N, C, H, W;
    float *ze;      /* out: (M, D) rows */
    int32_t *idx;   /* out: (M) */
    double rec_denom, lat_denom;
} pass;

/* Returns 0 on OOM. Adds the sums of squares to rec / com. */
static int run_pass(step_ctx *sc, vq_worker *wk, const pass *p, double *rec, double *com) {
    const ts_vq *vq = sc->t->vq;
    const int D = vq->cfg.dim, K = vq->cfg.codebook_size, N = p->N;
    if (N == 0) return 1;
    /* audio runs with H = 1: only time is downsampled */
    const int h = p->H == 1 ? 1 : p->H / TS_VQ_DOWN, w = p->W / TS_VQ_DOWN, M = N * h * w;
    const size_t nx = (size_t)p->C * N * p->H * p->W;
    const int train = !sc->encode_only;
    if (!vq_ws_prepare(p->wse, p->enc, N, p->H, p->W, train)) return 0;
    if (train && !vq_ws_prepare(p->wsd, p->dec, N, h, w, 1)) return 0;
    float *xc = wk->buf, *dy = xc + nx, *zq = dy + nx, *zqc = zq + (size_t)M * D,
          *dzq = zqc + (size_t)M * D, *dist = dzq + (size_t)M * D;

    /* encoder: x (C, N, H, W) -> z (D, M) -> rows ze (M, D) */
    vq_nchw_to_cnhw(xc, p->x, N, p->C, p->H * p->W);
    const float *z = vq_net_forward(p->enc, vq->params, p->wse, xc);
    vq_transpose(p->ze, z, D, M);
    if (!train) return 1;

    /* codebook: nearest codes, zq = E[idx], commitment |ze - zq|^2 */
    ts_vq_nearest(p->idx, p->ze, M, vq->codebook, sc->norms, K, D, dist);
    *com += ts_vq_quantize_forward(zq, p->ze, p->idx, M, vq->codebook, D);
    vq_transpose(zqc, zq, M, D);

    /* decoder and the reconstruction loss: mean over the whole batch */
    const float *y = vq_net_forward(p->dec, vq->params, p->wsd, zqc);
    const float gs = (float)(2.0 / p->rec_denom);
    double sse = 0;
    for (size_t i = 0; i < nx; i++) {
        float d = y[i] - xc[i];
        sse += (double)d * d;
        dy[i] = gs * d;
    }
    *rec += sse;

    /* backward: decoder, straight-through + commitment, encoder */
    const float *dzqc = vq_net_backward(p->dec, vq->params, wk->grads, p->wsd, dy, 1);
    vq_transpose(dzq, dzqc, D, M);
    ts_vq_quantize_backward(dzq, dzq, p->ze, zq, M, D, vq->cfg.beta, p->lat_denom);
    vq_transpose(zqc, dzq, M, D);
    vq_net_backward(p->enc, vq->params, wk->grads, p->wse, zqc, 0);
    return 1;
}

static void step_task(void *vctx, int task, int count, int worker) {
    step_ctx *sc = vctx;
    vq_trainer *t = sc->t;
    const ts_vq *vq = t->vq;
    vq_worker *wk = &t->w[task];
    const ts_vq_config *c = &vq->cfg;
    const int S = c->image_size, D = c->dim, F = t->frames;
    const int ci = (S / 4) * (S / 4), ca = F / 4;
    const size_t Mi = (size_t)t->img_batch * ci;
    wk->rec[0] = wk->rec[1] = wk->com[0] = wk->com[1] = 0;
    if (!sc->encode_only) memset(wk->grads, 0, vq->n_params * sizeof(float));
    int n0, n;
    chunk_of(t->img_batch, t->nt, task, &n0, &n);
    pass pi = {.enc = &vq->img_enc, .dec = &vq->img_dec, .wse = &wk->ie, .wsd = &wk->id,
               .x = t->img_in + (size_t)n0 * 3 * S * S, .N = n, .C = 3, .H = S, .W = S,
               .ze = t->ze + (size_t)n0 * ci * D, .idx = t->idx + (size_t)n0 * ci,
               .rec_denom = (double)t->img_batch * 3 * S * S,
               .lat_denom = (double)t->img_batch * ci * D};
    if (!run_pass(sc, wk, &pi, &wk->rec[0], &wk->com[0])) sc->failed = 1;
    chunk_of(t->aud_batch, t->nt, task, &n0, &n);
    pass pa = {.enc = &vq->aud_enc, .dec = &vq->aud_dec, .wse = &wk->ae, .wsd = &wk->ad,
               .x = t->aud_in + (size_t)n0 * c->n_mels * F, .N = n, .C = c->n_mels, .H = 1,
               .W = F, .ze = t->ze + (Mi + (size_t)n0 * ca) * D, .idx = t->idx + Mi + (size_t)n0 * ca,
               .rec_denom = (double)t->aud_batch * c->n_mels * F,
               .lat_denom = (double)t->aud_batch * ca * D};
    if (!run_pass(sc, wk, &pa, &wk->rec[1], &wk->com[1])) sc->failed = 1;
}

static double batch_usage(const int32_t *idx, size_t M, int K) {
    if (!M) return 0;
    uint8_t *seen = calloc((size_t)K, 1);
    if (!seen) return 0;
    int used = 0;
    for (size_t m = 0; m < M; m++)
        if (!seen[idx[m]]) seen[idx[m]] = 1, used++;
    free(seen);
    return (double)used / K;
}

static uint64_t mix(uint64_t a, uint64_t b) {
    uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
    x ^= x >> 31, x *= 0xBF58476D1CE4E5B9ull, x ^= x >> 29;
    return x;
}

ts_status vq_train_step(vq_trainer *t, int *restarts) {
    ts_vq *vq = t->vq;
    const ts_vq_config *c = &vq->cfg;
    const int K = c->codebook_size, D = c->dim, S = c->image_size;
    const size_t Mi = (size_t)t->img_batch * (S / 4) * (S / 4);
    const size_t Ma = (size_t)t->aud_batch * (t->frames / 4);
    float *norms = malloc((size_t)K * sizeof *norms);
    if (!norms) return ts_fail(TS_ERR_NOMEM, "out of memory");
    step_ctx sc = {.t = t, .norms = norms};
    *restarts = 0;
    if (!t->initialized) {
        /* the codebook starts as encoder outputs of the first batch */
        sc.encode_only = 1;
        ts_pool_run(t->pool, t->nt, step_task, &sc);
        ts_rng r;
        ts_rng_seed(&r, mix(t->opts.seed, 0xC0DEB00Cull));
        ts_vq_init_from(&t->ema, t->ze, (int)(Mi + Ma), &r);
        t->initialized = 1;
        sc.encode_only = 0;
    }
    ts_vq_code_norms(norms, vq->codebook, K, D);
    ts_pool_run(t->pool, t->nt, step_task, &sc);
    free(norms);
    if (sc.failed) return ts_fail(TS_ERR_NOMEM, "out of memory in a training step");

    /* gradients summed in worker order (deterministic), then AdamW */
    double rec[2] = {0, 0}, com[2] = {0, 0};
    float *g = t->w[0].grads;
    for (int i = 0; i < t->nt; i++) {
        rec[0] += t->w[i].rec[0], rec[1] += t->w[i].rec[1];
        com[0] += t->w[i].com[0], com[1] += t->w[i].com[1];
        if (i > 0) cblas_saxpy((int)vq->n_params, 1.0f, t->w[i].grads, 1, g, 1);
    }
    float *gb[1] = {g};
    size_t gn[1] = {vq->n_params};
    ts_clip_grad_norm(gb, gn, 1, 5.0);
    float lr = ts_lr_schedule(t->step, t->opts.warmup, t->opts.steps, t->opts.lr, t->opts.lr_min);
    ts_adamw_step(&t->adam, lr, t->step + 1, vq->params, g, t->m, t->v, vq->n_params, 0);

    /* the codebook follows both modalities' encoder outputs */
    ts_vq_ema_update(&t->ema, t->ze, t->idx, (int)(Mi + Ma));
    ts_rng r;
    ts_rng_seed(&r, mix(t->opts.seed, (uint64_t)t->step + 1));
    *restarts = ts_vq_restart_dead(&t->ema, t->ze, (int)(Mi + Ma), (int)Mi, c->restart_threshold, &r);

    /* history */
    if (t->step >= t->hist_cap) {
        int64_t cap = t->hist_cap ? t->hist_cap * 2 : 1024;
        while (cap <= t->step) cap *= 2;
        float *h = realloc(t->hist, (size_t)cap * H_N * sizeof *h);
        if (!h) return ts_fail(TS_ERR_NOMEM, "out of memory");
        memset(h + t->hist_cap * H_N, 0, (size_t)(cap - t->hist_cap) * H_N * sizeof *h);
        t->hist = h, t->hist_cap = cap;
    }
    float *row = t->hist + t->step * H_N;
    double ni = (double)t->img_batch * 3 * S * S, na = (double)t->aud_batch * c->n_mels * t->frames;
    row[H_IMG_REC] = ni > 0 ? (float)(rec[0] / ni) : 0;
    row[H_AUD_REC] = na > 0 ? (float)(rec[1] / na) : 0;
    row[H_IMG_COM] = Mi ? (float)(com[0] / ((double)Mi * D)) : 0;
    row[H_AUD_COM] = Ma ? (float)(com[1] / ((double)Ma * D)) : 0;
    row[H_LOSS] = row[H_IMG_REC] + row[H_AUD_REC] + c->beta * (row[H_IMG_COM] + row[H_AUD_COM]);
    row[H_IMG_USE] = (float)batch_usage(t->idx, Mi, K);
    row[H_AUD_USE] = (float)batch_usage(t->idx + Mi, Ma, K);
    t->step++;
    return TS_OK;
}

/* ---- checkpoints ------------------------------------------------------------ */
ts_status vq_checkpoint_save(const vq_trainer *t, const char *path, int64_t n_img, int64_t n_aud) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    const ts_vq *vq = t->vq;
    const ts_vq_config *c = &vq->cfg;
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_str(w, "general.name", "tessera VQ-VAE training checkpoint");
    ts_status s = ts_vq_add_to_gguf(vq, w);
    ts_gguf_set_i64(w, "train.step", t->step);
    ts_gguf_set_i64(w, "train.steps", t->opts.steps);
    ts_gguf_set_u64(w, "train.seed", t->opts.seed);
    ts_gguf_set_i32(w, "train.img_batch", t->img_batch);
    ts_gguf_set_i32(w, "train.aud_batch", t->aud_batch);
    ts_gguf_set_i32(w, "train.threads", t->nt);
    ts_gguf_set_f32(w, "train.lr", t->opts.lr);
    ts_gguf_set_f32(w, "train.lr_min", t->opts.lr_min);
    ts_gguf_set_i64(w, "train.warmup", t->opts.warmup);
    ts_gguf_set_i64(w, "train.n_images", n_img);
    ts_gguf_set_i64(w, "train.n_audio", n_aud);
    ts_gguf_set_bool(w, "train.initialized", t->initialized != 0);
    int64_t np = (int64_t)vq->n_params;
    if (!s) s = ts_gguf_add_tensor(w, "train.adam_m", TS_DTYPE_F32, &np, 1, t->m);
    if (!s) s = ts_gguf_add_tensor(w, "train.adam_v", TS_DTYPE_F32, &np, 1, t->v);
    if (!s)
        s = ts_gguf_add_tensor(w, "train.ema_count", TS_DTYPE_F32, (int64_t[]){c->codebook_size},
                               1, t->ema.N);
    if (!s)
        s = ts_gguf_add_tensor(w, "train.ema_sum", TS_DTYPE_F32,
                               (int64_t[]){c->dim, c->codebook_size}, 2, t->ema.S);
    if (!s && t->step > 0)
        s = ts_gguf_add_tensor(w, "train.history", TS_DTYPE_F32, (int64_t[]){H_N, t->step}, 2,
                               t->hist);
    if (!s) s = ts_gguf_write(w, path);
    ts_gguf_writer_free(w);
    return s;
}

static ts_status ck_tensor(const ts_gguf *g, const char *path, const char *name, float *dst,
                           int64_t n) {
    const ts_gguf_tensor *te = ts_gguf_find_tensor(g, name);
    if (!te || te->n_elements != n || ts_gguf_tensor_to_f32(te, dst, n))
        return ts_fail(TS_ERR_INPUT, "%s: checkpoint tensor %s is missing or has the wrong size",
                       path, name);
    return TS_OK;
}

ts_status vq_checkpoint_load(vq_trainer *t, const char *path, const ts_vq_train_opts *opts,
                             int64_t n_img, int64_t n_aud) {
    ts_gguf *g;
    ts_status s = ts_gguf_open(path, &g);
    if (s) return s;
    ts_vq *vq = NULL;
    int64_t step = 0, steps = 0, warmup = 0, ni = 0, na = 0;
    uint64_t seed = 0;
    int32_t bi = 0, ba = 0, nt = 0;
    float lr = 0, lr_min = 0;
    bool init = false;
    /* read every key first: the first missing one names itself */
    if ((s = ts_vq_from_gguf(g, path, &vq)) || (s = ts_gguf_get_i64(g, "train.step", &step)) ||
        (s = ts_gguf_get_i64(g, "train.steps", &steps)) ||
        (s = ts_gguf_get_u64(g, "train.seed", &seed)) ||
        (s = ts_gguf_get_i32(g, "train.img_batch", &bi)) ||
        (s = ts_gguf_get_i32(g, "train.aud_batch", &ba)) ||
        (s = ts_gguf_get_i32(g, "train.threads", &nt)) ||
        (s = ts_gguf_get_f32(g, "train.lr", &lr)) ||
        (s = ts_gguf_get_f32(g, "train.lr_min", &lr_min)) ||
        (s = ts_gguf_get_i64(g, "train.warmup", &warmup)) ||
        (s = ts_gguf_get_i64(g, "train.n_images", &ni)) ||
        (s = ts_gguf_get_i64(g, "train.n_audio", &na)) ||
        (s = ts_gguf_get_bool(g, "train.initialized", &init))) {
        if (vq) s = ts_fail(TS_ERR_INPUT, "%s: not a VQ-VAE checkpoint (%s)", path, ts_last_error());
        ts_vq_free(vq);
        ts_gguf_close(g);
        return s;
    }
    if (ni != n_img || na != n_aud) {
        ts_vq_free(vq);
        ts_gguf_close(g);
        return ts_fail(TS_ERR_INPUT,
                       "%s: checkpoint was trained on %lld images and %lld clips, these data "
                       "have %lld and %lld",
                       path, (long long)ni, (long long)na, (long long)n_img, (long long)n_aud);
    }
    ts_vq_train_opts o = *opts;
    o.seed = seed, o.img_batch = bi, o.aud_batch = ba, o.lr = lr, o.lr_min = lr_min;
    o.warmup = warmup;
    o.steps = steps; /* the schedule is part of the run */
    if ((s = vq_trainer_new(t, vq, &o, vq->cfg.audio_frames))) {
        ts_vq_free(vq);
        ts_gguf_close(g);
        return s;
    }
    const ts_vq_config *c = &vq->cfg;
    int64_t np = (int64_t)vq->n_params;
    if (!s) s = ck_tensor(g, path, "train.adam_m", t->m, np);
    if (!s) s = ck_tensor(g, path, "train.adam_v", t->v, np);
    if (!s) s = ck_tensor(g, path, "train.ema_count", t->ema.N, c->codebook_size);
    if (!s) s = ck_tensor(g, path, "train.ema_sum", t->ema.S, (int64_t)c->codebook_size * c->dim);
    if (!s && step > 0) {
        t->hist_cap = step;
        t->hist = malloc((size_t)step * H_N * sizeof(float));
        if (!t->hist) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        else s = ck_tensor(g, path, "train.history", t->hist, step * H_N);
    }
    ts_gguf_close(g);
    if (s) {
        vq_trainer_free(t);
        ts_vq_free(vq);
        return s;
    }
    t->step = step;
    t->initialized = init;
    return TS_OK;
}
