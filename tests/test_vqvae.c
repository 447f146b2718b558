/* vqvae/: the networks' backward against finite differences, the codebook
 * (nearest codes, straight-through + commitment, EMA, restarts), training
 * (the loss falls; a resumed run repeats an uninterrupted one exactly),
 * GGUF round trips, the data readers (tar, MNIST idx, folders) and the
 * train-vq / tokenize / reconstruct commands. */
#include "tessera.h"
#include "tests/gradcheck.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "vqvae/net.h"
#include "vqvae/quantize.h"
#include "vqvae/train.h"
#include "vqvae/vq_internal.h"

static void fill(float *v, size_t n, ts_rng *r, float sd) {
    for (size_t i = 0; i < n; i++) v[i] = sd * ts_rng_normal(r);
}

/* A tiny configuration: every code path, small sizes (fast under ASan). */
static ts_vq_config tiny_config(void) {
    ts_vq_config c = ts_vq_default_config();
    c.codebook_size = 16, c.dim = 4, c.image_size = 8, c.image_hidden = 8;
    c.image_res_blocks = 1, c.n_mels = 6, c.audio_hidden = 7, c.audio_res_blocks = 1;
    c.audio_frames = 8;
    c.ema_decay = 0.8f; /* a codebook that follows within the few steps of a test */
    return c;
}

/* ---- a whole network's backward ------------------------------------------- */
typedef struct {
    const vq_net *net;
    float *params, *x, *g;
    vq_ws *ws;
    size_t n_out;
} net_case;

static double net_loss(void *vctx) {
    net_case *c = vctx;
    const float *y = vq_net_forward(c->net, c->params, c->ws, c->x);
    double l = 0;
    for (size_t i = 0; i < c->n_out; i++) l += (double)y[i] * c->g[i];
    return l;
}

static void check_net(const ts_vq *vq, const vq_net *net, int cin, int N, int H, int W) {
    ts_rng r;
    ts_rng_seed(&r, 77);
    vq_ws ws = {0};
    assert_true(vq_ws_prepare(&ws, net, N, H, W, 1));
    size_t nx = (size_t)cin * N * H * W;
    size_t n_out = (size_t)net->chans[net->n_ops] * N * ws.hs[net->n_ops] * ws.ws[net->n_ops];
    float *x = malloc(nx * 4), *g = malloc(n_out * 4), *grads = calloc(vq->n_params, 4);
    float *params = malloc(vq->n_params * 4);
    memcpy(params, vq->params, vq->n_params * 4);
    fill(x, nx, &r, 1), fill(g, n_out, &r, 1);
    /* biases away from zero so every ReLU sees both signs */
    for (size_t i = 0; i < vq->n_params; i++) params[i] += 0.05f * ts_rng_normal(&r);
    net_case c = {net, params, x, g, &ws, n_out};
    net_loss(&c);
    float *dx0 = vq_net_backward(net, params, grads, &ws, g, 1);
    float *dx = malloc(nx * 4);
    memcpy(dx, dx0, nx * 4);
    /* double precision differences on a float net: eps 1e-2 and a loose
     * tolerance against ReLU kinks crossed by the step */
    double e1 = tu_gradcheck(net_loss, &c, x, dx, nx, 1e-3f, 60, 3e-2, "net dx");
    double e2 = tu_gradcheck(net_loss, &c, params + net->p_off, grads + net->p_off,
                             net->n_params, 1e-3f, 150, 3e-2, "net dparams");
    assert_true(e1 < 5e-2);
    assert_true(e2 < 5e-2);
    /* parameters of the other nets got no gradient */
    for (size_t i = 0; i < vq->n_params; i++)
        if (i < net->p_off || i >= net->p_off + net->n_params) assert_true(grads[i] == 0.0f);
    vq_ws_free(&ws);
    free(x), free(g), free(grads), free(params), free(dx);
}

static void test_net_backward_all_four(void **state) {
    ts_vq_config cfg = tiny_config();
    ts_vq *vq;
    assert_int_equal(ts_vq_new(&cfg, 3, &vq), TS_OK);
    check_net(vq, &vq->img_enc, 3, 2, 8, 8);
    check_net(vq, &vq->img_dec, cfg.dim, 2, 2, 2);
    check_net(vq, &vq->aud_enc, cfg.n_mels, 2, 1, 8);
    check_net(vq, &vq->aud_dec, cfg.dim, 2, 1, 2);
    ts_vq_free(vq);
}

/* ---- codebook ---------------------------------------------------------------- */
static void test_nearest_matches_brute_force(void **state) {
    enum { M = 300, K = 37, D = 5 };
    ts_rng r;
    ts_rng_seed(&r, 11);
    float z[M * D], E[K * D], norms[K];
    fill(z, M * D, &r, 1), fill(E, K * D, &r, 1);
    ts_vq_code_norms(norms, E, K, D);
    float *dist = malloc(ts_vq_nearest_scratch(M, K) * 4);
    int32_t idx[M];
    ts_vq_nearest(idx, z, M, E, norms, K, D, dist);
    for (int m = 0; m < M; m++) {
        double best = INFINITY;
        int bi = -1;
        for (int k = 0; k < K; k++) {
            double d = 0;
            for (int j = 0; j < D; j++) d += pow((double)z[m * D + j] - E[k * D + j], 2);
            if (d < best) best = d, bi = k;
        }
        if (idx[m] != bi) { /* only a near-tie may differ */
            double d = 0;
            for (int j = 0; j < D; j++) d += pow((double)z[m * D + j] - E[idx[m] * D + j], 2);
            assert_true(d - best < 1e-5);
        }
    }
    free(dist);
}

typedef struct {
    float *z, *E, *zq, *g;
    int32_t *idx;
    int M, D;
    float beta;
} q_case;

/* L = sum(g * zq_st) + beta * |z - sg(zq)|^2 / (M D), with zq_st = z + sg(zq - z):
 * the straight-through value is zq, its gradient flows to z as identity. As a
 * function of z for fixed codes that is sum(g z) + const + the commitment. */
static double q_loss(void *vctx) {
    q_case *c = vctx;
    double l = 0, sse = 0;
    for (int i = 0; i < c->M * c->D; i++) {
        l += (double)c->g[i] * c->z[i];
        double d = (double)c->z[i] - c->E[c->idx[i / c->D] * c->D + i % c->D];
        sse += d * d;
    }
    return l + c->beta * sse / ((double)c->M * c->D);
}

static void test_quantize_straight_through_and_commitment(void **state) {
    enum { M = 20, K = 8, D = 3 };
    ts_rng r;
    ts_rng_seed(&r, 12);
    float z[M * D], E[K * D], zq[M * D], g[M * D], dz[M * D], norms[K], dist[M * K];
    int32_t idx[M];
    fill(z, M * D, &r, 1), fill(E, K * D, &r, 1), fill(g, M * D, &r, 1);
    ts_vq_code_norms(norms, E, K, D);
    ts_vq_nearest(idx, z, M, E, norms, K, D, dist);
    double sse = ts_vq_quantize_forward(zq, z, idx, M, E, D);
    double want = 0;
    for (int i = 0; i < M * D; i++) {
        assert_true(zq[i] == E[idx[i / D] * D + i % D]);
        want += pow((double)z[i] - zq[i], 2);
    }
    assert_true(fabs(sse - want) < 1e-6 * (1 + want));
    ts_vq_quantize_backward(dz, g, z, zq, M, D, 0.25f, (double)M * D);
    q_case c = {z, E, zq, g, idx, M, D, 0.25f};
    assert_true(tu_gradcheck(q_loss, &c, z, dz, M * D, 1e-3f, M * D, 1e-4, "quantize") < 1e-2);
}

static void test_ema_update_and_restart(void **state) {
    enum { K = 3, D = 2 };
    float E[K * D] = {0, 0, 10, 10, -5, 5}, N[K] = {1, 1, 1}, S[K * D] = {0, 0, 10, 10, -5, 5};
    ts_vq_ema q = {.K = K, .D = D, .decay = 0.5f, .eps = 1e-5f, .E = E, .N = N, .S = S};
    /* two vectors to code 0, one to code 1, none to code 2 */
    float z[3 * D] = {1, 2, 3, 4, 8, 8};
    int32_t idx[3] = {0, 0, 1};
    ts_vq_ema_update(&q, z, idx, 3);
    assert_true(fabsf(N[0] - 1.5f) < 1e-6f && fabsf(N[1] - 1.0f) < 1e-6f &&
                fabsf(N[2] - 0.5f) < 1e-6f);
    assert_true(fabsf(S[0] - 2.0f) < 1e-6f && fabsf(S[1] - 3.0f) < 1e-6f); /* .5*0 + .5*(4, 6) */
    /* Laplace: n = 3, N0' = (1.5 + eps) / (3 + 3 eps) * 3 */
    double n0 = (1.5 + 1e-5) / (3 + 3e-5) * 3;
    assert_true(fabs(E[0] - 2.0 / n0) < 1e-5 && fabs(E[1] - 3.0 / n0) < 1e-5);
    /* code 2 (N = 0.5) falls under 0.6 and restarts from one of z's rows */
    ts_rng r;
    ts_rng_seed(&r, 1);
    assert_int_equal(ts_vq_restart_dead(&q, z, 3, 3, 0.6f, &r), 1);
    bool from_z = false;
    for (int m = 0; m < 3; m++) from_z |= E[4] == z[m * D] && E[5] == z[m * D + 1];
    assert_true(from_z);
    assert_true(N[2] == 1.0f);
}

static void test_restarts_take_turns_between_modalities(void **state) {
    enum { K = 6, D = 1, M = 10 };
    float E[K * D] = {0}, N[K] = {0}, S[K * D] = {0};
    ts_vq_ema q = {.K = K, .D = D, .decay = 0.5f, .eps = 1e-5f, .E = E, .N = N, .S = S};
    /* 8 "image" rows (values 0..7) and 2 "audio" rows (100, 101): every code is dead */
    float z[M] = {0, 1, 2, 3, 4, 5, 6, 7, 100, 101};
    ts_rng r;
    ts_rng_seed(&r, 7);
    assert_int_equal(ts_vq_restart_dead(&q, z, M, 8, 0.5f, &r), K);
    for (int k = 0; k < K; k++) {
        if (k & 1) assert_true(E[k] >= 100); /* odd restarts from the audio rows */
        else assert_true(E[k] < 8);
        assert_true(N[k] == 1.0f);
    }
}

/* ---- training ------------------------------------------------------------------ */
static void random_batch(vq_trainer *t, uint64_t seed) {
    ts_rng r;
    ts_rng_seed(&r, seed);
    const ts_vq_config *c = &t->vq->cfg;
    size_t ni = (size_t)t->img_batch * 3 * c->image_size * c->image_size;
    /* smooth images (learnable), log-mel-like audio */
    for (size_t i = 0; i < ni; i++) t->img_in[i] = 0.5f * sinf((float)(i % 8) * 0.7f + (float)(i / 64)) + 0.1f * ts_rng_normal(&r);
    size_t na = (size_t)t->aud_batch * c->n_mels * t->frames;
    for (size_t i = 0; i < na; i++) t->aud_in[i] = cosf((float)(i % 8) * 0.5f + (float)(i / 48)) + 0.1f * ts_rng_normal(&r);
}

static ts_vq_train_opts tiny_opts(int threads) {
    ts_vq_train_opts o = ts_vq_train_defaults();
    o.steps = 100, o.img_batch = 4, o.aud_batch = 3, o.lr = 1e-2f, o.lr_min = 1e-3f;
    o.warmup = 2, o.threads = threads, o.seed = 5;
    return o;
}

static void test_tiny_vqvae_loss_falls(void **state) {
    ts_vq_config cfg = tiny_config();
    ts_vq *vq;
    assert_int_equal(ts_vq_new(&cfg, 9, &vq), TS_OK);
    ts_vq_train_opts o = tiny_opts(2);
    vq_trainer t;
    assert_int_equal(vq_trainer_new(&t, vq, &o, cfg.audio_frames), TS_OK);
    double first = 0, last = 0;
    for (int s = 0; s < 100; s++) {
        random_batch(&t, (uint64_t)s % 4); /* four batches, seen 25 times */
        int restarts;
        assert_int_equal(vq_train_step(&t, &restarts), TS_OK);
        double l = t.hist[s * H_N + H_LOSS];
        assert_true(isfinite(l));
        if (s < 4) first += l;
        if (s >= 96) last += l;
    }
    assert_true(last < 0.5 * first);
    /* both modalities learned, not just one */
    assert_true(t.hist[99 * H_N + H_IMG_REC] < 0.5 * t.hist[H_IMG_REC]);
    assert_true(t.hist[99 * H_N + H_AUD_REC] < 0.6 * t.hist[H_AUD_REC]);
    vq_trainer_free(&t);
    ts_vq_free(vq);
}

static void test_resume_repeats_losses_exactly(void **state) {
    char *dir = tu_mkdtemp();
    const char *ck = tu_path(dir, "ck.gguf");
    ts_vq_config cfg = tiny_config();
    ts_vq_train_opts o = tiny_opts(2);
    float straight[12 * H_N];
    ts_vq *vq;
    vq_trainer t;
    int restarts;
    assert_int_equal(ts_vq_new(&cfg, 9, &vq), TS_OK);
    assert_int_equal(vq_trainer_new(&t, vq, &o, cfg.audio_frames), TS_OK);
    for (int s = 0; s < 12; s++) {
        random_batch(&t, (uint64_t)s);
        assert_int_equal(vq_train_step(&t, &restarts), TS_OK);
        if (s == 5) assert_int_equal(vq_checkpoint_save(&t, ck, 10, 20), TS_OK);
    }
    memcpy(straight, t.hist, sizeof straight);
    vq_trainer_free(&t);
    ts_vq_free(vq);

    /* a checkpoint for other data is refused */
    assert_int_equal(vq_checkpoint_load(&t, ck, &o, 11, 20), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "11"));
    assert_int_equal(vq_checkpoint_load(&t, ck, &o, 10, 20), TS_OK);
    assert_int_equal(t.step, 6);
    for (int s = 6; s < 12; s++) {
        random_batch(&t, (uint64_t)s);
        assert_int_equal(vq_train_step(&t, &restarts), TS_OK);
    }
    assert_memory_equal(straight, t.hist, sizeof straight); /* bit for bit */
    ts_vq_free(t.vq);
    vq_trainer_free(&t);
    tu_rmdir(dir);
}

static void test_threads_split_gives_same_model_per_count(void **state) {
    /* the same thread count twice: identical bytes; 1 thread against 3:
     * the same numbers up to the order of float sums (no sample lost or
     * counted twice by the split) */
    float h[3][6 * H_N];
    for (int rep = 0; rep < 3; rep++) {
        ts_vq_config cfg = tiny_config();
        ts_vq *vq;
        vq_trainer t;
        int restarts;
        ts_vq_train_opts o = tiny_opts(rep < 2 ? 3 : 1);
        assert_int_equal(ts_vq_new(&cfg, 9, &vq), TS_OK);
        assert_int_equal(vq_trainer_new(&t, vq, &o, cfg.audio_frames), TS_OK);
        for (int s = 0; s < 6; s++) {
            random_batch(&t, (uint64_t)s);
            assert_int_equal(vq_train_step(&t, &restarts), TS_OK);
        }
        memcpy(h[rep], t.hist, sizeof h[rep]);
        vq_trainer_free(&t);
        ts_vq_free(vq);
    }
    assert_memory_equal(h[0], h[1], sizeof h[0]);
    for (int s = 0; s < 2; s++) /* the first steps, before the paths can drift */
        for (int k = 0; k < H_N; k++)
            assert_true(fabsf(h[0][s * H_N + k] - h[2][s * H_N + k]) <=
                        1e-4f * (1 + fabsf(h[2][s * H_N + k])));
}

/* ---- GGUF ------------------------------------------------------------------------ */
static void test_gguf_round_trip_same_codes(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "vq.gguf");
    ts_vq_config cfg = tiny_config();
    cfg.image_size = 12;
    ts_vq *a, *b;
    assert_int_equal(ts_vq_new(&cfg, 21, &a), TS_OK);
    assert_int_equal(ts_vq_save_file(a, path), TS_OK);
    assert_int_equal(ts_vq_load_file(path, &b), TS_OK);
    assert_memory_equal(ts_vq_get_config(a), ts_vq_get_config(b), sizeof cfg);
    assert_int_equal(ts_vq_n_params(a), ts_vq_n_params(b));
    assert_memory_equal(a->params, b->params, a->n_params * sizeof(float));
    assert_memory_equal(a->codebook, b->codebook, (size_t)cfg.codebook_size * cfg.dim * 4);
    /* the same codes and the same pictures from both, on 1 and 3 threads */
    ts_rng r;
    ts_rng_seed(&r, 4);
    enum { N = 5 };
    float x[N * 3 * 12 * 12], ya[N * 3 * 12 * 12], yb[N * 3 * 12 * 12];
    fill(x, N * 3 * 144, &r, 0.5f);
    int32_t ca[N * 9], cb[N * 9];
    ts_pool *pool = ts_pool_new(3);
    assert_int_equal(ts_vq_encode_images(a, NULL, x, N, ca), TS_OK);
    assert_int_equal(ts_vq_encode_images(b, pool, x, N, cb), TS_OK);
    assert_memory_equal(ca, cb, sizeof ca);
    for (int i = 0; i < N * 9; i++) assert_true(ca[i] >= 0 && ca[i] < cfg.codebook_size);
    assert_int_equal(ts_vq_decode_images(a, NULL, ca, N, ya), TS_OK);
    assert_int_equal(ts_vq_decode_images(b, pool, cb, N, yb), TS_OK);
    assert_memory_equal(ya, yb, sizeof ya);
    /* audio: 3 clips of 16 frames -> 4 codes each */
    float mel[3 * 6 * 16], ma[3 * 6 * 16];
    fill(mel, 3 * 6 * 16, &r, 1);
    int32_t aa[12], ab[12];
    assert_int_equal(ts_vq_encode_audio(a, NULL, mel, 3, 16, aa), TS_OK);
    assert_int_equal(ts_vq_encode_audio(b, pool, mel, 3, 16, ab), TS_OK);
    assert_memory_equal(aa, ab, sizeof aa);
    assert_int_equal(ts_vq_decode_audio(b, pool, ab, 3, 4, ma), TS_OK);
    /* with the encoder's rows: the same codes, each its row's nearest */
    enum { DIM = 4 };
    float zi[N * 9 * DIM], za[12 * DIM];
    int32_t ci[N * 9], cz[12];
    assert_int_equal(cfg.dim, DIM);
    assert_int_equal(ts_vq_encode_images_z(b, pool, x, N, ci, zi), TS_OK);
    assert_int_equal(ts_vq_encode_audio_z(a, NULL, mel, 3, 16, cz, za), TS_OK);
    assert_memory_equal(ci, ca, sizeof ci);
    assert_memory_equal(cz, aa, sizeof cz);
    for (int i = 0; i < N * 9 + 12; i++) {
        const float *z = i < N * 9 ? zi + i * DIM : za + (i - N * 9) * DIM;
        int code = i < N * 9 ? ci[i] : cz[i - N * 9], best = -1;
        double bd = 0, zz = 0;
        for (int k = 0; k < cfg.codebook_size; k++) {
            double d = 0;
            for (int j = 0; j < DIM; j++)
                d += pow(z[j] - a->codebook[k * DIM + j], 2);
            if (best < 0 || d < bd) best = k, bd = d;
        }
        for (int j = 0; j < DIM; j++)
            zz += fabs(z[j]);
        assert_int_equal(best, code);
        assert_true(zz > 0);
    }
    assert_int_equal(ts_vq_encode_audio(a, NULL, mel, 1, 6, aa), TS_ERR_USAGE);
    int32_t bad[9] = {0, 1, 2, 3, 99, 0, 0, 0, 0};
    assert_int_equal(ts_vq_decode_images(a, NULL, bad, 1, ya), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "99"));
    ts_pool_free(pool);
    ts_vq_free(a), ts_vq_free(b);

    /* a GGUF without the VQ part, and one with a tensor missing */
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_gguf_write(w, tu_path(dir, "empty.gguf")), TS_OK);
    ts_gguf_writer_free(w);
    assert_int_equal(ts_vq_load_file(tu_path(dir, "empty.gguf"), &b), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "no VQ-VAE"));
    assert_int_equal(ts_vq_new(&cfg, 21, &a), TS_OK);
    w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "tessera.vq.codebook_size", 16);
    assert_int_equal(ts_gguf_write(w, tu_path(dir, "part.gguf")), TS_OK);
    ts_gguf_writer_free(w);
    assert_int_equal(ts_vq_load_file(tu_path(dir, "part.gguf"), &b), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "tessera.vq.dim"));
    ts_vq_free(a);
    tu_rmdir(dir);
}

/* ---- data readers ---------------------------------------------------------------- */
static void tar_header(uint8_t *h, const char *name, size_t size, char type) {
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 124, 12, "%011zo", size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A tar of members (name, bytes); returns its length. */
static size_t make_tar(uint8_t *out, const char *const *names, const uint8_t *const *data,
                       const size_t *sizes, int n) {
    size_t pos = 0;
    for (int i = 0; i < n; i++) {
        tar_header(out + pos, names[i], sizes[i], '0');
        pos += 512;
        memset(out + pos, 0, (sizes[i] + 511) / 512 * 512);
        memcpy(out + pos, data[i], sizes[i]);
        pos += (sizes[i] + 511) / 512 * 512;
    }
    memset(out + pos, 0, 1024);
    return pos + 1024;
}

static void test_tar_reader(void **state) {
    static uint8_t buf[8192];
    const char *names[3] = {"a/one.txt", "two.bin", "empty"};
    const uint8_t *data[3] = {(const uint8_t *)"hello", (const uint8_t *)"0123456789abcdef", (const uint8_t *)""};
    size_t sizes[3] = {5, 600, 0};
    uint8_t big[600];
    for (int i = 0; i < 600; i++) big[i] = (uint8_t)i;
    data[1] = big;
    size_t len = make_tar(buf, names, data, sizes, 3);
    assert_true(ts_tar_sniff(buf, len));
    ts_tar t;
    ts_tar_member m;
    bool done;
    ts_tar_init(&t, buf, len, "x.tar");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ts_tar_next(&t, &m, &done), TS_OK);
        assert_false(done);
        assert_string_equal(m.name, names[i]);
        assert_int_equal(m.size, sizes[i]);
        assert_memory_equal(m.data, data[i], sizes[i]);
    }
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_OK);
    assert_true(done);
    /* a broken checksum, and a member that runs past a truncated archive */
    uint8_t bad[2048];
    memcpy(bad, buf, sizeof bad);
    bad[0] ^= 1;
    ts_tar_init(&t, bad, sizeof bad, "bad.tar");
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "bad.tar: bad tar header checksum"));
    ts_tar_init(&t, buf, 1024 + 300, "cut.tar"); /* second header cut short */
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_OK);
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "truncated tar header"));
    ts_tar_init(&t, buf, 1024 + 512 + 100, "cut.tar"); /* second member's data cut short */
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_OK);
    assert_int_equal(ts_tar_next(&t, &m, &done), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "runs past the end"));
    assert_false(ts_tar_sniff((const uint8_t *)"not a tar", 9));
}

static void write_mnist(const char *path, int count, bool gz, uint32_t claimed) {
    size_t n = 16 + (size_t)count * 28 * 28;
    uint8_t *b = calloc(n, 1);
    uint32_t hdr[4] = {0x803, claimed, 28, 28};
    for (int i = 0; i < 4; i++)
        b[i * 4] = hdr[i] >> 24, b[i * 4 + 1] = hdr[i] >> 16, b[i * 4 + 2] = hdr[i] >> 8, b[i * 4 + 3] = hdr[i];
    for (int i = 0; i < count; i++)
        for (int y = 4; y < 24; y++) b[16 + (size_t)i * 784 + y * 28 + 10 + i] = 255; /* a bar */
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        tu_write_file(path, b, n);
    }
    free(b);
}

static void test_mnist_reader(void **state) {
    char *dir = tu_mkdtemp();
    write_mnist(tu_path(dir, "m.idx"), 3, false, 3);
    write_mnist(tu_path(dir, "m.idx.gz"), 3, true, 3);
    write_mnist(tu_path(dir, "bad.gz"), 3, true, 4);
    uint8_t *p1, *p2;
    int c, r, k;
    assert_int_equal(ts_mnist_read(tu_path(dir, "m.idx"), &p1, &c, &r, &k), TS_OK);
    assert_int_equal(c, 3), assert_int_equal(r, 28), assert_int_equal(k, 28);
    assert_int_equal(ts_mnist_read(tu_path(dir, "m.idx.gz"), &p2, &c, &r, &k), TS_OK);
    assert_memory_equal(p1, p2, 3 * 784);
    assert_int_equal(p1[784 + 10 * 28 + 11], 255);
    free(p1), free(p2);
    assert_int_equal(ts_mnist_read(tu_path(dir, "bad.gz"), &p1, &c, &r, &k), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "header says 4 images"));
    /* truncated gzip */
    size_t len;
    char *gzb = tu_read_file(tu_path(dir, "m.idx.gz"), &len);
    assert_true(ts_mnist_sniff((uint8_t *)gzb, len));
    assert_int_equal(ts_mnist_read_mem((uint8_t *)gzb, len / 2, "cut.gz", &p1, &c, &r, &k), TS_ERR_INPUT);
    free(gzb);

    /* as a data source: padded to 32 x 32, black around, grey on all three */
    ts_vq_data *d = ts_vq_data_new(32, 80, 100);
    assert_int_equal(ts_vq_data_add_images(d, tu_path(dir, "m.idx.gz"), 2), TS_OK);
    assert_int_equal(ts_vq_data_n_images(d), 2); /* capped at 2 */
    float x[3 * 32 * 32];
    ts_vq_data_image(d, 1, x);
    assert_true(x[0] == -1.0f);
    for (int ch = 0; ch < 3; ch++) assert_true(x[ch * 1024 + (2 + 10) * 32 + 2 + 11] == 1.0f);
    ts_vq_data_free(d);
    tu_rmdir(dir);
}

/* 16-bit PCM mono WAV of a tone */
static void write_wav(const char *path, int rate, int n, float freq) {
    size_t bytes = 44 + (size_t)n * 2;
    uint8_t *b = calloc(bytes, 1);
    memcpy(b, "RIFF", 4);
    uint32_t v = (uint32_t)bytes - 8;
    memcpy(b + 4, &v, 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    v = 16, memcpy(b + 16, &v, 4);
    uint16_t s = 1;
    memcpy(b + 20, &s, 2), memcpy(b + 22, &s, 2);
    v = (uint32_t)rate, memcpy(b + 24, &v, 4);
    v = (uint32_t)rate * 2, memcpy(b + 28, &v, 4);
    s = 2, memcpy(b + 32, &s, 2);
    s = 16, memcpy(b + 34, &s, 2);
    memcpy(b + 36, "data", 4);
    v = (uint32_t)n * 2, memcpy(b + 40, &v, 4);
    for (int i = 0; i < n; i++) {
        int16_t q = (int16_t)(8000 * sinf(6.2831853f * freq * i / rate));
        memcpy(b + 44 + i * 2, &q, 2);
    }
    tu_write_file(path, b, bytes);
    free(b);
}

/* A small data set on disk: PNGs in a folder, a tar of PNGs, an MNIST
 * file, WAVs in a folder (two "speakers"). */
static void make_dataset(const char *dir) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/imgs", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/imgs/nested", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/audio", dir);
    mkdir(sub, 0755);
    static uint8_t px[40 * 24 * 3];
    static uint8_t tarbuf[65536];
    const char *names[3] = {"t0.png", "t1.png", "t2.png"};
    uint8_t *pngs[3];
    const uint8_t *pd[3];
    size_t sizes[3];
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 40 * 24 * 3; j++) px[j] = (uint8_t)((j * (i + 3)) % 251);
        char p[4096];
        snprintf(p, sizeof p, "%s/imgs/%s%d.png", dir, i < 3 ? "" : "nested/", i);
        assert_int_equal(ts_png_write(p, px, 40, 24, 3), TS_OK);
        if (i < 3) {
            pngs[i] = (uint8_t *)tu_read_file(p, &sizes[i]);
            pd[i] = pngs[i];
        }
    }
    size_t tl = make_tar(tarbuf, names, pd, sizes, 3);
    tu_write_file(tu_path(dir, "imgs.tar"), tarbuf, tl);
    for (int i = 0; i < 3; i++) free(pngs[i]);
    tu_write_file(tu_path(dir, "imgs/notes.txt"), "not an image", 12); /* skipped */
    write_mnist(tu_path(dir, "digits.gz"), 4, true, 4);
    for (int i = 0; i < 4; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/audio/%d_%s_0.wav", dir, i, i % 2 ? "theo" : "ann");
        write_wav(p, i % 2 ? 8000 : 16000, 6000 + 3000 * i, 300.0f + 200 * i);
    }
}

static void test_data_collection(void **state) {
    char *dir = tu_mkdtemp();
    make_dataset(dir);
    ts_vq_data *d = ts_vq_data_new(32, 80, 100);
    assert_int_equal(ts_vq_data_add_images(d, tu_path(dir, "imgs"), 0), TS_OK);
    assert_int_equal(ts_vq_data_n_images(d), 6);
    assert_int_equal(ts_vq_data_add_images(d, tu_path(dir, "imgs.tar"), 0), TS_OK);
    assert_int_equal(ts_vq_data_n_images(d), 9);
    /* the tar's members are the folder's first three files: same pixels */
    float a[3 * 1024], b[3 * 1024];
    ts_vq_data_image(d, 0, a), ts_vq_data_image(d, 6, b);
    assert_memory_equal(a, b, sizeof a);
    float c[3 * 1024];
    ts_vq_data_image(d, 1, c);
    assert_memory_not_equal(a, c, sizeof a);
    /* a generated image in floats comes back to within 8-bit rounding */
    for (int j = 0; j < 3 * 1024; j++) c[j] = (float)(j % 97) / 48.0f - 1.0f;
    assert_int_equal(ts_vq_data_add_image(d, c), TS_OK);
    assert_int_equal(ts_vq_data_n_images(d), 10);
    ts_vq_data_image(d, 9, b);
    for (int j = 0; j < 3 * 1024; j++) assert_true(fabsf(b[j] - c[j]) <= 1.0f / 255.0f + 1e-6f);
    assert_int_equal(ts_vq_data_add_audio(d, tu_path(dir, "audio"), 0, "theo", NULL), TS_OK);
    assert_int_equal(ts_vq_data_n_audio(d), 2);
    assert_int_equal(ts_vq_data_add_audio(d, tu_path(dir, "audio"), 0, NULL, "theo,^zzz"), TS_OK);
    assert_int_equal(ts_vq_data_n_audio(d), 4);
    /* sc%10: the speech-commands speakers the decoder corpus holds out, by
     * the same rule; FSDD-style names are never taken for speakers */
    char val_id[16] = "", train_id[16] = "";
    for (unsigned k = 0; !val_id[0] || !train_id[0]; k++) {
        char id[16];
        snprintf(id, sizeof id, "%08x", k * 2654435761u);
        strcpy(ts_sc_speaker_is_val(id, 10) ? val_id : train_id, id);
    }
    const char *sc_names[3] = {val_id, train_id, "0_ann"};
    mkdir(tu_path(dir, "sc"), 0755);
    for (int i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/sc/%s%s0.wav", dir, sc_names[i], i < 2 ? "_nohash_" : "_");
        write_wav(p, 16000, 8000, 500.0f);
    }
    assert_int_equal(ts_vq_data_add_audio(d, tu_path(dir, "sc"), 0, "sc%10", NULL), TS_OK);
    assert_int_equal(ts_vq_data_n_audio(d), 6);
    assert_int_equal(ts_vq_data_add_audio(d, tu_path(dir, "sc"), 0, NULL, "sc%10"), TS_OK);
    assert_int_equal(ts_vq_data_n_audio(d), 7);
    float mel[80 * 100];
    ts_vq_data_audio(d, 0, mel);
    double mx = -1e9;
    for (int i = 0; i < 8000; i++) mx = fmax(mx, mel[i]);
    assert_true(mx > 0.5 && mx < 3); /* a real log-mel on the (x + 4) / 4 scale */
    /* errors name the path */
    assert_int_equal(ts_vq_data_add_images(d, tu_path(dir, "nope"), 0), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "nope: no such file"));
    assert_int_equal(ts_vq_data_add_images(d, tu_path(dir, "imgs/notes.txt"), 0), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "notes.txt: not a PNG"));
    assert_int_equal(ts_vq_data_add_audio(d, tu_path(dir, "imgs"), 0, NULL, NULL), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "no audio clips"));
    ts_vq_data_free(d);
    tu_rmdir(dir);
}

/* ---- the commands ---------------------------------------------------------------- */
#define TINY_ARGS                                                                                 \
    "--image-hidden 8 --audio-hidden 8 --res-blocks 1 --codebook-size 16 --dim 4 --batch 4 "     \
    "--audio-batch 2 -t 2 --seed 3"

static void test_cli_train_tokenize_reconstruct(void **state) {
    char *dir = tu_mkdtemp();
    make_dataset(dir);
    char model[4096], csv[4096], csv2[4096];
    snprintf(model, sizeof model, "%s/vq.gguf", dir);
    snprintf(csv, sizeof csv, "%s/vq.csv", dir);
    tu_run_result r = tu_run("train-vq --images '%s/imgs' '%s/imgs.tar' '%s/digits.gz' --audio "
                             "'%s/audio' --audio-exclude theo --val-images '%s/imgs' --val-audio "
                             "'%s/audio' --val-audio-only theo --scenes 5 --steps 6 " TINY_ARGS " -o '%s'",
                             dir, dir, dir, dir, dir, dir, model);
    if (r.code) fprintf(stderr, "%s", r.err);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "18 training images, 2 clips")); /* 13 + 5 scenes */
    assert_non_null(strstr(r.err, "PSNR"));
    assert_non_null(strstr(r.err, "used by both"));
    tu_run_free(&r);
    size_t len;
    char *c1 = tu_read_file(csv, &len);
    assert_int_equal(tu_count_lines(c1), 7);
    char *png = tu_read_file(tu_path(dir, "vq.png"), &len);
    assert_memory_equal(png, "\x89PNG", 4);
    free(png);

    /* interrupted after 3 steps and resumed: the same CSV, byte for byte */
    snprintf(csv2, sizeof csv2, "%s/b.csv", dir);
    r = tu_run("train-vq --images '%s/imgs' '%s/imgs.tar' '%s/digits.gz' --audio '%s/audio' "
               "--audio-exclude theo --scenes 5 --steps 6 --stop-after 3 " TINY_ARGS " -o '%s/b.gguf'",
               dir, dir, dir, dir, dir);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    r = tu_run("train-vq --images '%s/imgs' '%s/imgs.tar' '%s/digits.gz' --audio '%s/audio' "
               "--audio-exclude theo --scenes 5 --steps 6 " TINY_ARGS " -o '%s/b.gguf' --resume '%s/b.ckpt.gguf'",
               dir, dir, dir, dir, dir, dir);
    if (r.code) fprintf(stderr, "%s", r.err);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    char *c2 = tu_read_file(csv2, &len);
    assert_string_equal(c1, c2);
    free(c1), free(c2);
    /* resuming with other data is refused */
    r = tu_run("train-vq --images '%s/imgs' --audio '%s/audio' --steps 6 " TINY_ARGS
               " -o '%s/c.gguf' --resume '%s/b.ckpt.gguf'", dir, dir, dir, dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "b.ckpt.gguf"));
    tu_run_free(&r);

    /* tokenize: an 8 x 8 grid for an image, 25 codes a second for audio */
    r = tu_run("tokenize '%s' -m '%s'", tu_sample("cat.jpg"), model);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 8);
    int n = 0, v, off = 0, used;
    while (sscanf(r.out + off, "%d%n", &v, &used) == 1) assert_true(v >= 0 && v < 16), n++, off += used;
    assert_int_equal(n, 64);
    tu_run_free(&r);
    r = tu_run("tokenize '%s' -m '%s' --json", tu_sample("word_yes.flac"), model);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"kind\": \"audio\""));
    assert_non_null(strstr(r.out, "\"shape\": [25]"));
    tu_run_free(&r);
    /* --latents: the encoder's rows, one per code, as .npy beside the same codes */
    r = tu_run("tokenize '%s' -m '%s' --latents '%s/z.npy'", tu_sample("word_yes.flac"), model,
               dir);
    assert_int_equal(r.code, 0);
    float *zrows = tu_read_npy_2d(tu_path(dir, "z.npy"), 25, 4); /* TINY_ARGS' --dim 4 */
    assert_non_null(zrows);
    free(zrows);
    tu_run_free(&r);

    /* reconstruct: the image itself, or two spectrograms one above the other */
    r = tu_run("reconstruct '%s' -m '%s' -o '%s/rec.png' --scale 2", tu_sample("cat.jpg"), model, dir);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.err, "PSNR"));
    tu_run_free(&r);
    ts_image img;
    assert_int_equal(ts_image_decode_file(tu_path(dir, "rec.png"), 0, &img), TS_OK);
    assert_int_equal(img.width, 64), assert_int_equal(img.height, 64);
    ts_image_free(&img);
    r = tu_run("reconstruct '%s' -m '%s' -o '%s/mel.png'", tu_sample("word_yes.flac"), model, dir);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    assert_int_equal(ts_image_decode_file(tu_path(dir, "mel.png"), 0, &img), TS_OK);
    assert_int_equal(img.width, 100), assert_int_equal(img.height, 162);
    ts_image_free(&img);

    /* bad input: exit 2 and a message naming the file; usage: exit 1 */
    r = tu_run("tokenize '%s/imgs/notes.txt' -m '%s'", dir, model);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "notes.txt: not an image or audio file"));
    tu_run_free(&r);
    r = tu_run("tokenize '%s' -m '%s/imgs/0.png'", tu_sample("cat.jpg"), dir);
    assert_int_equal(r.code, 2);
    tu_run_free(&r);
    r = tu_run("reconstruct '%s' -m '%s'", tu_sample("cat.jpg"), model);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("train-vq --images '%s/imgs' -o '%s/x.gguf' --frames 6", dir, dir);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("train-vq --images '%s/imgs/notes.txt' -o '%s/x.gguf'", dir, dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "notes.txt"));
    tu_run_free(&r);
    r = tu_run("train-vq --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--resume"));
    tu_run_free(&r);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_backward_all_four),
        cmocka_unit_test(test_nearest_matches_brute_force),
        cmocka_unit_test(test_quantize_straight_through_and_commitment),
        cmocka_unit_test(test_ema_update_and_restart),
        cmocka_unit_test(test_restarts_take_turns_between_modalities),
        cmocka_unit_test(test_tiny_vqvae_loss_falls),
        cmocka_unit_test(test_resume_repeats_losses_exactly),
        cmocka_unit_test(test_threads_split_gives_same_model_per_count),
        cmocka_unit_test(test_gguf_round_trip_same_codes),
        cmocka_unit_test(test_tar_reader),
        cmocka_unit_test(test_mnist_reader),
        cmocka_unit_test(test_data_collection),
        cmocka_unit_test(test_cli_train_tokenize_reconstruct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
