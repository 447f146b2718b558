/* The VQ-VAE's four networks, their parameters, and encoding/decoding with
 * the shared codebook. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vqvae/quantize.h"
#include "vqvae/vq_internal.h"

ts_vq_config ts_vq_default_config(void) {
    return (ts_vq_config){.codebook_size = 1024, .dim = 64, .image_size = 32, .image_hidden = 64,
                          .image_res_blocks = 2, .n_mels = 80, .audio_hidden = 96,
                          .audio_res_blocks = 2, .audio_frames = 100, .beta = 0.25f,
                          .ema_decay = 0.99f, .ema_eps = 1e-5f, .restart_threshold = 0.5f};
}

void vq_nchw_to_cnhw(float *dst, const float *src, int N, int C, int HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            memcpy(dst + ((size_t)c * N + n) * HW, src + ((size_t)n * C + c) * HW,
                   (size_t)HW * sizeof *dst);
}

void vq_cnhw_to_nchw(float *dst, const float *src, int N, int C, int HW) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            memcpy(dst + ((size_t)n * C + c) * HW, src + ((size_t)c * N + n) * HW,
                   (size_t)HW * sizeof *dst);
}

void vq_transpose(float *dst, const float *src, int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32)
            for (int r = r0; r < rows && r < r0 + 32; r++)
                for (int c = c0; c < cols && c < c0 + 32; c++)
                    dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

/* ---- architecture ---------------------------------------------------------
 * One residual block at constant width: h + conv1x1(relu(conv3(relu(h)))).
 * The 2-D nets use 3x3 kernels, the 1-D ones 1x3 (kh = 1, so H stays 1). */
static int res_block(vq_net *n, int h, int C, int two_d) {
    int a = vq_net_relu(n, h);
    a = vq_net_conv(n, a, C, two_d ? 3 : 1, 3, 1, 1, two_d ? 1 : 0, 1, 1.0f);
    a = vq_net_relu(n, a);
    a = vq_net_conv(n, a, C, 1, 1, 1, 1, 0, 0, 0.3f);
    return vq_net_add(n, h, a);
}

/* in (cin) -> 4x down -> (D) */
static void build_encoder(vq_net *n, size_t off, int cin, int C, int D, int n_res, int two_d) {
    vq_net_init(n, cin, off);
    int kh = two_d ? 4 : 1, sh = two_d ? 2 : 1, ph = two_d ? 1 : 0;
    int h = vq_net_conv(n, 0, C, kh, 4, sh, 2, ph, 1, 1.0f);
    h = vq_net_relu(n, h);
    h = vq_net_conv(n, h, C, kh, 4, sh, 2, ph, 1, 1.0f);
    for (int i = 0; i < n_res; i++) h = res_block(n, h, C, two_d);
    h = vq_net_relu(n, h);
    vq_net_conv(n, h, D, 1, 1, 1, 1, 0, 0, 0.7f);
}

/* (D) -> 4x up -> cout */
static void build_decoder(vq_net *n, size_t off, int D, int C, int cout, int n_res, int two_d) {
    vq_net_init(n, D, off);
    int kh = two_d ? 4 : 1, sh = two_d ? 2 : 1, ph = two_d ? 1 : 0;
    int h = vq_net_conv(n, 0, C, two_d ? 3 : 1, 3, 1, 1, two_d ? 1 : 0, 1, 1.0f);
    for (int i = 0; i < n_res; i++) h = res_block(n, h, C, two_d);
    h = vq_net_relu(n, h);
    h = vq_net_convT(n, h, C, kh, 4, sh, 2, ph, 1, 1.0f);
    h = vq_net_relu(n, h);
    vq_net_convT(n, h, cout, kh, 4, sh, 2, ph, 1, 0.7f);
}

static int config_ok(const ts_vq_config *c) {
    return c->codebook_size >= 2 && c->codebook_size <= (1 << 20) && c->dim >= 1 &&
           c->dim <= 4096 && c->image_size >= 4 && c->image_size % 4 == 0 &&
           c->image_size <= 1024 && c->image_hidden >= 1 && c->image_hidden <= 4096 &&
           c->image_res_blocks >= 0 && c->image_res_blocks <= 8 && c->n_mels >= 1 &&
           c->n_mels <= 1024 && c->audio_hidden >= 1 && c->audio_hidden <= 4096 &&
           c->audio_res_blocks >= 0 && c->audio_res_blocks <= 8 && c->audio_frames >= 4 &&
           c->audio_frames % 4 == 0 && c->audio_frames <= 100000 && c->beta >= 0 &&
           c->ema_decay > 0 && c->ema_decay < 1 && c->ema_eps > 0 && c->restart_threshold >= 0;
}

ts_status vq_alloc(const ts_vq_config *cfg, ts_vq **out) {
    *out = NULL;
    if (!config_ok(cfg)) return ts_fail(TS_ERR_USAGE, "VQ-VAE: invalid configuration");
    ts_vq *vq = calloc(1, sizeof *vq);
    if (!vq) return ts_fail(TS_ERR_NOMEM, "VQ-VAE: out of memory");
    vq->cfg = *cfg;
    const int D = cfg->dim;
    size_t off = 0;
    build_encoder(&vq->img_enc, off, 3, cfg->image_hidden, D, cfg->image_res_blocks, 1);
    off += vq->img_enc.n_params;
    build_decoder(&vq->img_dec, off, D, cfg->image_hidden, 3, cfg->image_res_blocks, 1);
    off += vq->img_dec.n_params;
    build_encoder(&vq->aud_enc, off, cfg->n_mels, cfg->audio_hidden, D, cfg->audio_res_blocks, 0);
    off += vq->aud_enc.n_params;
    build_decoder(&vq->aud_dec, off, D, cfg->audio_hidden, cfg->n_mels, cfg->audio_res_blocks, 0);
    off += vq->aud_dec.n_params;
    vq->n_params = off;
    vq->params = ts_alloc_floats(off);
    vq->codebook = ts_alloc_floats((size_t)cfg->codebook_size * D);
    if (!vq->params || !vq->codebook) {
        ts_vq_free(vq);
        return ts_fail(TS_ERR_NOMEM, "VQ-VAE: out of memory for %zu parameters", off);
    }
    memset(vq->params, 0, off * sizeof(float));
    memset(vq->codebook, 0, (size_t)cfg->codebook_size * D * sizeof(float));
    *out = vq;
    return TS_OK;
}

void vq_init_params(ts_vq *vq, uint64_t seed) {
    ts_rng r;
    ts_rng_seed(&r, seed);
    const vq_net *nets[4] = {&vq->img_enc, &vq->img_dec, &vq->aud_enc, &vq->aud_dec};
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < nets[k]->n_ops; i++) {
            const vq_op *o = &nets[k]->ops[i];
            if (o->type != VQ_OP_CONV && o->type != VQ_OP_CONVT) continue;
            double fan_in = (double)o->cs.cin * o->cs.kh * o->cs.kw;
            if (o->type == VQ_OP_CONVT) fan_in /= (double)o->cs.sh * o->cs.sw;
            float sd = o->init_gain * (float)sqrt(2.0 / fan_in);
            for (size_t j = 0; j < o->w_n; j++) vq->params[o->w_off + j] = sd * ts_rng_normal(&r);
            memset(vq->params + o->b_off, 0, (size_t)o->cs.cout * sizeof(float));
        }
    /* a spread-out codebook until training sets it from data */
    size_t n = (size_t)vq->cfg.codebook_size * vq->cfg.dim;
    for (size_t j = 0; j < n; j++) vq->codebook[j] = ts_rng_normal(&r);
}

ts_status ts_vq_new(const ts_vq_config *cfg, uint64_t seed, ts_vq **out) {
    ts_status s = vq_alloc(cfg, out);
    if (s) return s;
    vq_init_params(*out, seed);
    return TS_OK;
}

void ts_vq_free(ts_vq *vq) {
    if (!vq) return;
    free(vq->params);
    free(vq->codebook);
    free(vq);
}

const ts_vq_config *ts_vq_get_config(const ts_vq *vq) { return &vq->cfg; }
const float *ts_vq_codebook(const ts_vq *vq) { return vq->codebook; }
size_t ts_vq_n_params(const ts_vq *vq) { return vq->n_params; }

/* ---- encoding and decoding, split over the pool by chunks ------------------ */
#define IMG_CHUNK 32
#define AUD_CHUNK 8

typedef struct {
    const ts_vq *vq;
    const float *in;
    float *out;
    const int32_t *codes_in;
    int32_t *codes_out;
    float *z_out; /* encoding: the encoder's rows before quantisation too (may be NULL) */
    int n, T, chunk;
    const float *norms;
    vq_ws ws[64];
    float *buf[64]; /* per-worker staging */
    size_t buf_n;
    int failed;
} coder_ctx;

/* encode one chunk: x (N, C, H, W) -> codes (N, h*w) */
static void encode_chunk(coder_ctx *c, const vq_net *net, int C, int H, int W, int task,
                         int worker) {
    const ts_vq_config *cfg = &c->vq->cfg;
    int n0 = task * c->chunk, N = c->n - n0 < c->chunk ? c->n - n0 : c->chunk;
    /* audio runs with H = 1: only time is downsampled */
    int h = H == 1 ? 1 : H / TS_VQ_DOWN, w = W / TS_VQ_DOWN, D = cfg->dim, K = cfg->codebook_size;
    int M = N * h * w;
    vq_ws *ws = &c->ws[worker];
    float *buf = c->buf[worker];
    if (!vq_ws_prepare(ws, net, N, H, W, 0)) {
        c->failed = 1;
        return;
    }
    /* buf holds x (C, N, H, W), then rows (M, D), then the distances */
    vq_nchw_to_cnhw(buf, c->in + (size_t)n0 * C * H * W, N, C, H * W);
    const float *z = vq_net_forward(net, c->vq->params, ws, buf); /* (D, M) */
    float *rows = buf;
    vq_transpose(rows, z, D, M);
    if (c->z_out) memcpy(c->z_out + (size_t)n0 * h * w * D, rows, sizeof(float) * M * D);
    float *dist = rows + (size_t)M * D;
    ts_vq_nearest(c->codes_out + (size_t)n0 * h * w, rows, M, c->vq->codebook, c->norms, K, D,
                  dist);
}

/* decode one chunk: codes (N, h*w) -> x (N, C, H, W); H, W the output size */
static void decode_chunk(coder_ctx *c, const vq_net *net, int C, int h, int w, int H, int W,
                         int task, int worker) {
    const ts_vq_config *cfg = &c->vq->cfg;
    int n0 = task * c->chunk, N = c->n - n0 < c->chunk ? c->n - n0 : c->chunk;
    int D = cfg->dim, M = N * h * w;
    vq_ws *ws = &c->ws[worker];
    float *buf = c->buf[worker];
    if (!vq_ws_prepare(ws, net, N, h, w, 0)) {
        c->failed = 1;
        return;
    }
    const int32_t *codes = c->codes_in + (size_t)n0 * h * w;
    float *zq = buf + (size_t)M * D; /* rows (M, D), then (D, M) */
    for (int m = 0; m < M; m++)
        memcpy(buf + (size_t)m * D, c->vq->codebook + (size_t)codes[m] * D, D * sizeof(float));
    vq_transpose(zq, buf, M, D);
    const float *y = vq_net_forward(net, c->vq->params, ws, zq); /* (C, N, H, W) */
    vq_cnhw_to_nchw(c->out + (size_t)n0 * C * H * W, y, N, C, H * W);
}

static void enc_img_task(void *ctx, int i, int n, int worker) {
    coder_ctx *c = ctx;
    int S = c->vq->cfg.image_size;
    encode_chunk(c, &c->vq->img_enc, 3, S, S, i, worker);
}
static void dec_img_task(void *ctx, int i, int n, int worker) {
    coder_ctx *c = ctx;
    int s = c->vq->cfg.image_size / TS_VQ_DOWN;
    decode_chunk(c, &c->vq->img_dec, 3, s, s, s * TS_VQ_DOWN, s * TS_VQ_DOWN, i, worker);
}
static void enc_aud_task(void *ctx, int i, int n, int worker) {
    coder_ctx *c = ctx;
    encode_chunk(c, &c->vq->aud_enc, c->vq->cfg.n_mels, 1, c->T, i, worker);
}
static void dec_aud_task(void *ctx, int i, int n, int worker) {
    coder_ctx *c = ctx;
    decode_chunk(c, &c->vq->aud_dec, c->vq->cfg.n_mels, 1, c->T / TS_VQ_DOWN, 1, c->T, i, worker);
}

static ts_status run_coder(coder_ctx *c, ts_pool *pool, ts_task_fn fn, size_t buf_n) {
    int nt = pool ? ts_pool_threads(pool) : 1;
    if (nt > 64) nt = 64;
    ts_status s = TS_OK;
    float *norms = malloc((size_t)c->vq->cfg.codebook_size * sizeof *norms);
    for (int t = 0; t < nt; t++) c->buf[t] = ts_alloc_floats(buf_n);
    for (int t = 0; t < nt; t++)
        if (!c->buf[t]) c->failed = 1;
    if (norms && !c->failed) {
        ts_vq_code_norms(norms, c->vq->codebook, c->vq->cfg.codebook_size, c->vq->cfg.dim);
        c->norms = norms;
        int tasks = (c->n + c->chunk - 1) / c->chunk;
        if (pool && nt > 1) openblas_set_num_threads(1); /* the pool splits the work */
        if (pool && nt > 1)
            ts_pool_run(pool, tasks, fn, c);
        else
            for (int i = 0; i < tasks; i++) fn(c, i, tasks, 0);
    }
    if (!norms || c->failed) s = ts_fail(TS_ERR_NOMEM, "VQ-VAE: out of memory");
    for (int t = 0; t < nt; t++) {
        free(c->buf[t]);
        vq_ws_free(&c->ws[t]);
    }
    free(norms);
    return s;
}

static size_t coder_buf(const ts_vq *vq, int chunk, size_t in_per, int codes_per) {
    size_t M = (size_t)chunk * codes_per, D = (size_t)vq->cfg.dim;
    size_t a = (size_t)chunk * in_per, b = M * D * 2 + ts_vq_nearest_scratch((int)M, vq->cfg.codebook_size);
    return a > b ? a : b;
}

ts_status ts_vq_encode_images(const ts_vq *vq, ts_pool *pool, const float *x, int n,
                              int32_t *codes) {
    return ts_vq_encode_images_z(vq, pool, x, n, codes, NULL);
}

ts_status ts_vq_encode_images_z(const ts_vq *vq, ts_pool *pool, const float *x, int n,
                                int32_t *codes, float *z) {
    if (n <= 0) return TS_OK;
    int S = vq->cfg.image_size, cp = (S / 4) * (S / 4);
    coder_ctx c = {.vq = vq, .in = x, .codes_out = codes, .z_out = z, .n = n, .chunk = IMG_CHUNK};
    return run_coder(&c, pool, enc_img_task, coder_buf(vq, IMG_CHUNK, (size_t)3 * S * S, cp));
}

ts_status ts_vq_decode_images(const ts_vq *vq, ts_pool *pool, const int32_t *codes, int n,
                              float *x) {
    if (n <= 0) return TS_OK;
    int S = vq->cfg.image_size, cp = (S / 4) * (S / 4);
    for (int64_t i = 0; i < (int64_t)n * cp; i++)
        if (codes[i] < 0 || codes[i] >= vq->cfg.codebook_size)
            return ts_fail(TS_ERR_INPUT, "code %d out of range [0, %d)", codes[i],
                           vq->cfg.codebook_size);
    coder_ctx c = {.vq = vq, .out = x, .codes_in = codes, .n = n, .chunk = IMG_CHUNK};
    return run_coder(&c, pool, dec_img_task, coder_buf(vq, IMG_CHUNK, 0, cp));
}

ts_status ts_vq_encode_audio(const ts_vq *vq, ts_pool *pool, const float *mel, int n, int T,
                             int32_t *codes) {
    return ts_vq_encode_audio_z(vq, pool, mel, n, T, codes, NULL);
}

ts_status ts_vq_encode_audio_z(const ts_vq *vq, ts_pool *pool, const float *mel, int n, int T,
                               int32_t *codes, float *z) {
    if (n <= 0) return TS_OK;
    if (T < TS_VQ_DOWN || T % TS_VQ_DOWN)
        return ts_fail(TS_ERR_USAGE, "audio: %d frames is not a positive multiple of 4", T);
    int chunk = AUD_CHUNK;
    coder_ctx c = {
        .vq = vq, .in = mel, .codes_out = codes, .z_out = z, .n = n, .T = T, .chunk = chunk};
    return run_coder(&c, pool, enc_aud_task,
                     coder_buf(vq, chunk, (size_t)vq->cfg.n_mels * T, T / TS_VQ_DOWN));
}

ts_status ts_vq_decode_audio(const ts_vq *vq, ts_pool *pool, const int32_t *codes, int n,
                             int n_codes, float *mel) {
    if (n <= 0) return TS_OK;
    if (n_codes <= 0) return ts_fail(TS_ERR_USAGE, "audio: no codes to decode");
    for (int64_t i = 0; i < (int64_t)n * n_codes; i++)
        if (codes[i] < 0 || codes[i] >= vq->cfg.codebook_size)
            return ts_fail(TS_ERR_INPUT, "code %d out of range [0, %d)", codes[i],
                           vq->cfg.codebook_size);
    coder_ctx c = {.vq = vq, .out = mel, .codes_in = codes, .n = n, .T = n_codes * TS_VQ_DOWN,
                   .chunk = AUD_CHUNK};
    return run_coder(&c, pool, dec_aud_task, coder_buf(vq, AUD_CHUNK, 0, n_codes));
}
