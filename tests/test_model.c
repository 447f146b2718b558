/* model/: the whole decoder's backward against finite differences, the KV
 * cache against the full forward, continuations of a cached prefix against
 * full scoring, GGUF round trips, scoring, sampling, a
 * tiny model that learns to copy, and checkpoint → resume. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/cross_entropy.h"
#include "tessera.h"
#include "tests/gradcheck.h"
#include "tests/testutil.h"

/* larger random weights than the training init, so every path carries signal */
static void scramble(ts_model *m, uint64_t seed, float sd) {
    ts_rng r;
    ts_rng_seed(&r, seed);
    for (int i = 0; i < m->n_info; i++)
        if (m->info[i].decay)
            for (size_t j = 0; j < m->info[i].n; j++) m->params[m->info[i].off + j] = sd * ts_rng_normal(&r);
}

/* ---- the whole backward pass --------------------------------------------------------- */

typedef struct {
    ts_model *m;
    ts_acts a;
    int32_t ids[2 * 6], targets[2 * 5];
    float w[2 * 5];
    float lambda, alpha;
    /* the head (and the last block's FFN) on the rows of nonzero weight only,
     * as training runs it: their targets and weights, compact */
    int32_t rows[2 * 5], ct[2 * 5];
    float cw[2 * 5];
} full_ctx;

static double full_loss(void *v) {
    full_ctx *c = v;
    const ts_model_config *cf = &c->m->c;
    int N = c->a.B * c->a.T, R = c->a.head_rows ? c->a.n_head : N;
    const int32_t *targets = c->a.head_rows ? c->ct : c->targets;
    const float *w = c->a.head_rows ? c->cw : c->w;
    ts_model_forward(c->m, NULL, &c->a, c->ids, true);
    ts_cross_entropy_forward(NULL, c->a.losses, c->a.logits, targets, w, R, cf->vocab_size);
    double loss = 0, gs = 0;
    for (int n = 0; n < R; n++)
        loss += (double)w[n] * c->a.losses[n];
    for (int l = 0; l < cf->n_layers; l++) {
        for (int i = 0; i < N * cf->n_heads; i++) gs += c->a.L[l].g[i];
        int M = ts_acts_block_rows(c->m, &c->a,
                                   l); /* a block on fewer rows balances them as one group */
        if (c->m->w.L[l].moe)
            loss += c->alpha * ts_moe_balance_loss(&c->a.L[l].ms, M, M < N ? M : c->a.T,
                                                   ts_model_moe_dims(cf));
    }
    return loss + c->lambda * gs / ((double)cf->n_layers * N * cf->n_heads);
}

static void test_full_backward_matches_finite_differences(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    /* untied, tied, untied with a hidden key span (a second turn),
     * untied with 2-D RoPE over 2 x 2 grids of codes after token 5, and
     * untied with the head and the last block's FFN on the counted rows only,
     * and tied with 2-D RoPE and grid mixing (its matrix and the neighbours'
     * embeddings) of reach 1 and of reach 2 (12 neighbours, most off the
     * 2 x 2 grid: the others sit elsewhere in the matrix) */
    for (int variant = 0; variant < 7; variant++) {
        int tied = variant == 1 || variant >= 5;
        cf.tied_output = tied;
        cf.image_grid = variant == 3 || variant >= 5 ? 2 : 0, cf.image_token = 5;
        cf.grid_mix = variant == 5 ? 1 : variant == 6 ? 2 : 0;
        full_ctx c = {.lambda = 0.3f, .alpha = 0.2f};
        int bad = 0;
        assert_int_equal(ts_model_new(&cf, 3, &c.m), TS_OK);
        scramble(c.m, 4, 0.4f);
        /* gates well open: finite differences must not cross g = 0.5, where
         * the straight-through backward (tested in test_nn_layers) departs
         * from the true derivative on purpose */
        for (int l = 0; l < cf.n_layers; l++)
            for (int h = 0; h < cf.n_heads; h++) c.m->w.L[l].bgate[h] = 5.0f;
        assert_int_equal(ts_acts_new(c.m, 2, 5, true, &c.a), TS_OK);
        if (variant == 2) {
            /* row 0: tokens 3 and 4 do not see keys [1, 3) and sit at 1, 2 */
            c.a.custom_layout = true;
            for (int n = 0; n < 10; n++) {
                bool later = n == 3 || n == 4;
                c.a.pos[n] = later ? n - 2 : n % 5;
                c.a.hide[2 * n] = later ? 1 : 0;
                c.a.hide[2 * n + 1] = later ? 3 : 0;
            }
        }
        ts_rng r;
        ts_rng_seed(&r, 5);
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < 5; t++) {
                c.ids[b * 5 + t] = (int32_t)ts_rng_below(&r, 11);
                c.targets[b * 5 + t] = (int32_t)ts_rng_below(&r, 11);
                c.w[b * 5 + t] = t == 1 ? 0.0f : 1.0f / 8; /* masked position */
            }
        if (variant == 3 || variant >= 5) { /* a whole grid in row 0, the start of one in row 1 */
            const int32_t grid_ids[10] = {5, 1, 2, 3, 4, 7, 9, 5, 2, 8};
            memcpy(c.ids, grid_ids, sizeof grid_ids);
        }
        if (variant == 4) {
            int R = 0;
            for (int n = 0; n < 10; n++)
                if (c.w[n] != 0.0f) c.rows[R] = n, c.ct[R] = c.targets[n], c.cw[R++] = c.w[n];
            c.a.head_rows = c.rows, c.a.n_head = R;
        }
        /* route once; the gradcheck holds that selection */
        ts_model_forward(c.m, NULL, &c.a, c.ids, false);
        float *grads = calloc(c.m->n_params, sizeof(float));
        ts_weights g;
        g.L = calloc((size_t)cf.n_layers, sizeof *g.L);
        ts_model_bind(c.m, grads, &g);
        full_loss(&c);
        if (variant == 4)
            ts_cross_entropy_backward(NULL, c.a.logits, c.a.logits, c.ct, c.cw, c.a.n_head,
                                      cf.vocab_size);
        else
            ts_cross_entropy_backward(NULL, c.a.logits, c.a.logits, c.targets, c.w, 10,
                                      cf.vocab_size);
        int N = 10;
        ts_model_backward(c.m, NULL, &c.a, c.ids, &g, c.lambda / (float)(cf.n_layers * N * cf.n_heads),
                          c.alpha);
        /* every tensor on its own, so none is skipped by the sampling stride */
        for (int i = 0; i < c.m->n_info; i++) {
            const ts_param_info *p = &c.m->info[i];
            double err = tu_gradcheck(full_loss, &c, c.m->params + p->off, grads + p->off, p->n,
                                      1e-2f, 24, 1e-3, p->name);
            if (err >= 3e-2) {
                print_error("%s (variant %d): relative error %.3g\n", p->name, variant, err);
                bad++;
            }
        }
        assert_int_equal(bad, 0);
        free(grads);
        free(g.L);
        ts_acts_free(&c.a);
        ts_model_free(c.m);
    }
}

/* On a pool the row-wise layers split the rows (and their weight gradients
 * the columns) between workers, and the matrix products their rows: the
 * loss and every gradient stay those of one thread, up to the rounding of
 * the products. 64 rows: 2 or 3 parts. */
static void test_backward_on_a_pool_matches_one_thread(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 3, &m), TS_OK);
    scramble(m, 12, 0.4f);
    const int B = 4, T = 16, N = B * T, V = cf.vocab_size;
    int32_t ids[64], targets[64];
    float w[64];
    ts_rng r;
    ts_rng_seed(&r, 13);
    for (int n = 0; n < N; n++) {
        ids[n] = (int32_t)ts_rng_below(&r, 11);
        targets[n] = (int32_t)ts_rng_below(&r, 11);
        w[n] = 1.0f / N;
    }
    float *grads[3];
    double loss[3];
    ts_pool *pools[3] = {NULL, ts_pool_new(2), ts_pool_new(3)};
    for (int t = 0; t < 3; t++) {
        ts_acts a;
        assert_int_equal(ts_acts_new(m, B, T, true, &a), TS_OK);
        grads[t] = calloc(m->n_params, sizeof(float));
        ts_weights g;
        g.L = calloc((size_t)cf.n_layers, sizeof *g.L);
        ts_model_bind(m, grads[t], &g);
        ts_model_forward(m, pools[t], &a, ids, false);
        ts_cross_entropy_fused(pools[t], a.losses, a.logits, targets, w, N, V);
        loss[t] = 0;
        for (int n = 0; n < N; n++)
            loss[t] += (double)w[n] * a.losses[n];
        ts_model_backward(m, pools[t], &a, ids, &g, 0.01f, 0.1f);
        free(g.L);
        ts_acts_free(&a);
    }
    for (int t = 1; t < 3; t++) {
        assert_true(fabs(loss[t] - loss[0]) < 1e-6 * (1 + fabs(loss[0])));
        for (int i = 0; i < m->n_info; i++) {
            const ts_param_info *p = &m->info[i];
            double big = 0, diff = 0;
            for (size_t k = p->off; k < p->off + p->n; k++) {
                big = fmax(big, fabs(grads[0][k]));
                diff = fmax(diff, fabs(grads[t][k] - grads[0][k]));
            }
            if (diff > 1e-5 * (1 + big)) print_error("%s: %g of %g\n", p->name, diff, big);
            assert_true(diff <= 1e-5 * (1 + big));
        }
        ts_pool_free(pools[t]);
    }
    for (int t = 0; t < 3; t++)
        free(grads[t]);
    ts_model_free(m);
}

/* The head and the last block's FFN on the counted rows only (training's
 * shortcut) give the same loss and gradients as the full model with zero
 * weights elsewhere (without the balance loss, which groups the last
 * block's rows differently: the gradient check covers it). */
static void head_grads(ts_model *m, ts_acts *a, const int32_t *ids, const int32_t *targets,
                       const float *w, bool compact, float *grads, double *loss) {
    const int N = a->B * a->T, V = m->c.vocab_size;
    int32_t rows[16], ct[16];
    float cw[16];
    int R = 0;
    for (int n = 0; n < N; n++)
        if (w[n] != 0.0f) rows[R] = n, ct[R] = targets[n], cw[R++] = w[n];
    a->head_rows = compact ? rows : NULL;
    a->n_head = R;
    ts_weights g;
    g.L = calloc((size_t)m->c.n_layers, sizeof *g.L);
    memset(grads, 0, sizeof(float) * m->n_params);
    ts_model_bind(m, grads, &g);
    ts_model_forward(m, NULL, a, ids, false);
    int M = compact ? R : N;
    ts_cross_entropy_fused(NULL, a->losses, a->logits, compact ? ct : targets, compact ? cw : w, M, V);
    *loss = 0;
    for (int i = 0; i < M; i++) *loss += (double)(compact ? cw : w)[i] * a->losses[i];
    ts_model_backward(m, NULL, a, ids, &g, 0.01f, 0.0f);
    a->head_rows = NULL;
    free(g.L);
}

static void test_compact_head_equals_full_head(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 3, &m), TS_OK);
    scramble(m, 9, 0.4f);
    ts_acts a;
    assert_int_equal(ts_acts_new(m, 2, 6, true, &a), TS_OK);
    int32_t ids[12], targets[12];
    float w[12];
    for (int n = 0; n < 12; n++) {
        ids[n] = (n * 5 + 2) % cf.vocab_size, targets[n] = (n * 3 + 1) % cf.vocab_size;
        w[n] = n % 6 >= 4 || n == 1 ? 0.2f : 0.0f; /* answers at the ends of rows */
    }
    float *g1 = malloc(sizeof(float) * m->n_params), *g2 = malloc(sizeof(float) * m->n_params);
    double l1, l2, worst = 0, norm = 0;
    head_grads(m, &a, ids, targets, w, false, g1, &l1);
    head_grads(m, &a, ids, targets, w, true, g2, &l2);
    assert_true(fabs(l1 - l2) < 1e-6 * fabs(l1) && l1 > 0.1);
    for (size_t i = 0; i < m->n_params; i++)
        worst = fmax(worst, fabs(g1[i] - g2[i])), norm = fmax(norm, fabs(g1[i]));
    assert_true(norm > 1e-3);
    assert_true(worst <= 1e-5 * norm);
    free(g1);
    free(g2);
    ts_acts_free(&a);
    ts_model_free(m);
}

/* ---- KV cache = full forward; DRA skipping changes nothing but the work ------------------- */

static void test_kv_cache_matches_full_forward(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    cf.n_heads = 4, cf.n_layers = 3;
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 7, &m), TS_OK);
    scramble(m, 8, 0.4f);
    /* gate biases near zero so heads open and close from token to token */
    for (int l = 0; l < cf.n_layers; l++)
        for (int h = 0; h < cf.n_heads; h++) m->w.L[l].bgate[h] = h == 0 ? -3.0f : 0.1f * h - 0.1f;
    for (int l = 1; l < cf.n_layers; l++)
        for (int e = 0; e < cf.n_experts; e++) m->w.L[l].rbias[e] = 0.05f * e;
    int n = 14, V = cf.vocab_size;
    int32_t ids[14];
    for (int i = 0; i < n; i++) ids[i] = (i * 7 + 3) % V;
    float *full = malloc(sizeof(float) * n * V), *step = malloc(sizeof(float) * V);
    assert_int_equal(ts_model_logits(m, ids, n, full), TS_OK);
    for (int skip = 0; skip <= 1; skip++) {
        ts_session *s;
        assert_int_equal(ts_session_new(m, 0, &s), TS_OK);
        ts_session_set_dra_skip(s, skip);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assert_int_equal(ts_session_feed(s, &ids[i], 1, step), TS_OK);
            for (int v = 0; v < V; v++) worst = fmax(worst, fabs(step[v] - full[i * V + v]));
        }
        assert_true(worst < 1e-4);
        int64_t done, skipped;
        ts_session_head_work(s, &done, &skipped);
        assert_int_equal(done + skipped, (int64_t)n * cf.n_layers * cf.n_heads);
        if (skip) {
            assert_true(skipped >= n * cf.n_layers); /* head 0 is always closed */
            assert_true(done > 0);
        } else {
            assert_int_equal(skipped, 0);
        }
        /* feeding the prompt at once gives the last row too */
        ts_session_reset(s);
        assert_int_equal(ts_session_feed(s, ids, n, step), TS_OK);
        for (int v = 0; v < V; v++) assert_true(fabs(step[v] - full[(n - 1) * V + v]) < 1e-4);
        /* a prompt fed at once fills the cache for the tokens after it */
        ts_session_reset(s);
        assert_int_equal(ts_session_feed(s, ids, 5, step), TS_OK);
        for (int i = 5; i < n; i++) {
            assert_int_equal(ts_session_feed(s, &ids[i], 1, step), TS_OK);
            for (int v = 0; v < V; v++) assert_true(fabs(step[v] - full[i * V + v]) < 1e-4);
        }
        /* two threads: the same logits, bit for bit */
        ts_session *s2;
        ts_pool *p2 = ts_pool_new(2);
        assert_int_equal(ts_session_new(m, 0, &s2), TS_OK);
        ts_session_set_pool(s2, p2);
        ts_session_set_dra_skip(s2, skip);
        float *step2 = malloc(sizeof(float) * V);
        ts_session_reset(s);
        for (int i = 0; i < n; i++) {
            assert_int_equal(ts_session_feed(s, &ids[i], 1, step), TS_OK);
            assert_int_equal(ts_session_feed(s2, &ids[i], 1, step2), TS_OK);
            assert_memory_equal(step, step2, sizeof(float) * V);
        }
        free(step2);
        ts_session_free(s2);
        ts_pool_free(p2);
        /* over the cache: an error, nothing changed */
        assert_int_equal(ts_session_feed(s, ids, 3, step), TS_ERR_INPUT);
        assert_int_equal(ts_session_length(s), n);
        ts_session_free(s);
    }
    free(full);
    free(step);
    ts_model_free(m);
}

/* ---- 2-D RoPE positions of image grids --------------------------------------------------------
 */

/* the largest difference between row r of two [rows, V] logit tables */
static double row_diff(const float *a, const float *b, int r, int V) {
    double d = 0;
    for (int v = 0; v < V; v++)
        d = fmax(d, fabs(a[(size_t)r * V + v] - b[(size_t)r * V + v]));
    return d;
}

/* A KV cache fed ids token by token, after a first feed of 1 or 3 tokens
 * (a prompt that ends inside a grid), gives the rows of full (the batched
 * forward's logits) to 1e-4. step: [V] scratch. */
static void expect_cache_agrees(const ts_model *m, const int32_t *ids, int n, const float *full,
                                float *step) {
    const int V = m->c.vocab_size;
    for (int split = 1; split <= 3; split += 2) {
        ts_session *s;
        assert_int_equal(ts_session_new(m, 0, &s), TS_OK);
        assert_int_equal(ts_session_feed(s, ids, split, step), TS_OK);
        double worst = 0;
        for (int i = split; i < n; i++) {
            assert_int_equal(ts_session_feed(s, &ids[i], 1, step), TS_OK);
            worst = fmax(worst, row_diff(step, full + (size_t)i * V, 0, V));
        }
        assert_true(worst < 1e-4);
        ts_session_free(s);
    }
}

static void test_grid_positions_and_cache(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    cf.n_heads = 4, cf.n_layers = 3;
    cf.image_grid = 2, cf.image_token = 3;
    enum { n = 14 };
    int32_t ids[n], row[n], col[n], pos[n];
    for (int i = 0; i < n; i++)
        ids[i] = (i * 7 + 3) % 11; /* 3 10 6 2 9 5 1 8 4 0 7 3 10 6 */
    /* a whole grid at 1..4, the first two codes of one at 12, 13 */
    ts_grid_positions(&cf, ids, NULL, n, row, col);
    const int32_t want_row[n] = {0, 1, 1, 2, 2, 5, 6, 7, 8, 9, 10, 11, 12, 12};
    const int32_t want_col[n] = {0, 1, 2, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    assert_memory_equal(row, want_row, sizeof row);
    assert_memory_equal(col, want_col, sizeof col);
    /* a custom layout moves the grid with its first code */
    for (int i = 0; i < n; i++)
        pos[i] = 2 * i;
    ts_grid_positions(&cf, ids, pos, n, row, col);
    assert_int_equal(row[4], 2 + 1), assert_int_equal(col[4], 2 + 1);
    assert_int_equal(row[3], 2 + 1), assert_int_equal(col[3], 2 + 0);
    assert_int_equal(row[5], 10), assert_int_equal(col[5], 10);
    /* the one-pass row agrees with the lookback of each position, image
     * tokens close together and grids cut short included */
    {
        ts_model_config c3 = cf;
        c3.image_grid = 3;
        enum { L = 200 };
        int32_t rid[L], rpos[L], r1[L], c1[L], r2, c2;
        ts_rng r;
        ts_rng_seed(&r, 12345);
        for (int i = 0; i < L; i++) {
            rid[i] = ts_rng_below(&r, 8) == 0 ? c3.image_token : (int32_t)ts_rng_below(&r, 11);
            rpos[i] = 3 * i + 1;
        }
        for (int custom = 0; custom < 2; custom++) {
            const int32_t *pp = custom ? rpos : NULL;
            ts_grid_positions(&c3, rid, pp, L, r1, c1);
            for (int i = 0; i < L; i++) {
                ts_grid_place(&c3, pp, i, ts_grid_cell(&c3, rid, i), &r2, &c2);
                assert_int_equal(r1[i], r2), assert_int_equal(c1[i], c2);
            }
        }
    }

    ts_model *m, *flat;
    assert_int_equal(ts_model_new(&cf, 7, &m), TS_OK);
    scramble(m, 8, 0.4f);
    const int V = cf.vocab_size;
    float *full = malloc(sizeof(float) * n * V), *other = malloc(sizeof(float) * n * V),
          *step = malloc(sizeof(float) * V);
    assert_int_equal(ts_model_logits(m, ids, n, full), TS_OK);
    /* the same weights with 1-D positions: equal up to the first code, which
     * sits at the same place either way, different from the second on */
    ts_model_config fc = cf;
    fc.image_grid = 0;
    assert_int_equal(ts_model_new(&fc, 7, &flat), TS_OK);
    memcpy(flat->params, m->params, sizeof(float) * m->n_params);
    assert_int_equal(ts_model_logits(flat, ids, n, other), TS_OK);
    assert_memory_equal(full, other, sizeof(float) * 2 * V);
    assert_true(row_diff(full, other, 2, V) > 1e-3);
    /* the KV cache places codes as the batched forward does */
    expect_cache_agrees(m, ids, n, full, step);
    /* grid mixing on the same weights: a grid's first code has no
     * neighbours read before it, so the logits agree up to it and differ
     * from the second code on; the KV cache mixes as the batched pass does;
     * the file keeps the switch and the matrix */
    {
        ts_model_config xc = cf;
        xc.grid_mix = 1;
        ts_model *mix, *mix_back;
        assert_int_equal(ts_model_new(&xc, 7, &mix), TS_OK);
        memcpy(mix->params, m->params, sizeof(float) * m->n_params);
        ts_rng r;
        ts_rng_seed(&r, 77);
        for (int j = 0; j < 4 * cf.d_model * cf.d_model; j++)
            mix->w.grid_mix[j] = 0.4f * ts_rng_normal(&r);
        assert_int_equal(ts_model_logits(mix, ids, n, other), TS_OK);
        assert_memory_equal(full, other, sizeof(float) * 2 * V);
        assert_true(row_diff(full, other, 2, V) > 1e-3);
        expect_cache_agrees(mix, ids, n, other, step);
        char *mdir = tu_mkdtemp();
        const char *mpath = tu_path(mdir, "mix.gguf");
        assert_int_equal(ts_model_save(mix, mpath), TS_OK);
        assert_int_equal(ts_model_load(mpath, &mix_back), TS_OK);
        assert_int_equal(mix_back->c.grid_mix, 1);
        assert_memory_equal(mix_back->params, mix->params, sizeof(float) * mix->n_params);
        tu_rmdir(mdir);
        ts_model_free(mix_back);
        ts_model_free(mix);
        /* a grid to mix is needed, and a reach in [1, 3] */
        xc.image_grid = 0;
        assert_int_equal(ts_model_config_check(&xc), TS_ERR_USAGE);
        xc.image_grid = 2, xc.grid_mix = 4;
        assert_int_equal(ts_model_config_check(&xc), TS_ERR_USAGE);
    }
    /* a model without grids writes no grid keys, and loads without them */
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "flat.gguf");
    assert_int_equal(ts_model_save(flat, path), TS_OK);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    assert_true(ts_gguf_find_key(g, "tessera.rope.image_grid") < 0);
    ts_gguf_close(g);
    ts_model *back;
    assert_int_equal(ts_model_load(path, &back), TS_OK);
    assert_int_equal(back->c.image_grid, 0);
    ts_model_free(back);
    tu_rmdir(dir);
    free(full), free(other), free(step);
    ts_model_free(m);
    ts_model_free(flat);
}

/* W·[neighbours] as a reach-R mixing adds it to token i, with the
 * neighbours given by hand: slot[t] >= 0 is the row of ids read into the
 * matrix's column block t (-1: off the grid, zeros). */
static void expect_mix(const ts_model *m, const int32_t *ids, int i, const int *slot) {
    const int D = m->c.d_model, W = ts_grid_mix_width(&m->c);
    float in[25 * 8], x[8] = {0};
    assert_true(D == 8 && W <= 24);
    ts_grid_mix_token(m, ids, i, ts_grid_cell(&m->c, ids, i), in, x);
    for (int d = 0; d < D; d++) {
        double want = 0;
        for (int t = 0; t < W; t++)
            for (int e = 0; slot[t] >= 0 && e < D; e++)
                want += (double)m->w.grid_mix[(size_t)d * W * D + (size_t)t * D + e] *
                        m->w.tok_embd[(size_t)ids[slot[t]] * D + e];
        if (fabs(x[d] - want) > 1e-5) fail_msg("token %d, dim %d: %g, want %g", i, d, x[d], want);
    }
}

/* The neighbourhood grows with the reach: on a 3 x 3 grid the mixing reads
 * exactly the codes up to R rows above (2R+1 wide) and R to the left; the
 * KV cache agrees with the batched pass; the file keeps the reach (and a
 * reach-1 file is written as before the reach had a key). */
static void test_grid_mix_reach(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    cf.image_grid = 3, cf.image_token = 3;
    enum { n = 14 };
    /* text, the image token, 9 codes in cells 0..8 at rows 2..10, text */
    const int32_t ids[n] = {7, 3, 0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 2, 5};
    /* the code in cell (2, 2) at row 10, and in cell (1, 0) at row 5 */
    const int r1_22[4] = {6, 7, -1, 9};
    const int r2_22[12] = {2, 3, 4, -1, -1, 5, 6, 7, -1, -1, 8, 9};
    const int r2_10[12] = {-1, -1, -1, -1, -1, -1, -1, 2, 3, 4, -1, -1};
    const int V = cf.vocab_size;
    float *full = malloc(sizeof(float) * n * V), *step = malloc(sizeof(float) * V);
    for (int R = 1; R <= 3; R++) {
        cf.grid_mix = R;
        ts_model *m, *back;
        assert_int_equal(ts_model_new(&cf, 11, &m), TS_OK);
        scramble(m, 12, 0.4f);
        ts_rng r;
        ts_rng_seed(&r, 13);
        for (int j = 0; j < ts_grid_mix_width(&cf) * cf.d_model * cf.d_model; j++)
            m->w.grid_mix[j] = 0.4f * ts_rng_normal(&r);
        if (R == 1) expect_mix(m, ids, 10, r1_22);
        if (R == 2) expect_mix(m, ids, 10, r2_22), expect_mix(m, ids, 5, r2_10);
        assert_int_equal(ts_model_logits(m, ids, n, full), TS_OK);
        expect_cache_agrees(m, ids, n, full, step);
        char *dir = tu_mkdtemp();
        const char *path = tu_path(dir, "reach.gguf");
        assert_int_equal(ts_model_save(m, path), TS_OK);
        ts_gguf *g;
        assert_int_equal(ts_gguf_open(path, &g), TS_OK);
        assert_int_equal(ts_gguf_find_key(g, "tessera.image_grid_mix_reach") >= 0, R > 1);
        ts_gguf_close(g);
        assert_int_equal(ts_model_load(path, &back), TS_OK);
        assert_int_equal(back->c.grid_mix, R);
        assert_int_equal(back->n_params, m->n_params);
        assert_memory_equal(back->params, m->params, sizeof(float) * m->n_params);
        tu_rmdir(dir);
        ts_model_free(back);
        ts_model_free(m);
    }
    free(full), free(step);
}

/* ---- a shared prefix scored once, its continuations from the cache -------------------------- */

/* The tiny decoder that the scoring tests score with: 4 heads, 3 blocks,
 * a context of 20, weights scrambled so every token matters. */
static ts_model *scoring_model(void) {
    ts_model_config cf = tu_tiny_decoder_config();
    cf.n_heads = 4, cf.n_layers = 3, cf.context = 20;
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 9, &m), TS_OK);
    scramble(m, 10, 0.4f);
    return m;
}

static void test_continuations_match_full_scoring(void **state) {
    ts_model *m = scoring_model();
    const ts_model_config cf = *ts_model_get_config(m);
    /* some heads closed at some tokens, so DRA skipping has work to skip */
    for (int l = 0; l < cf.n_layers; l++)
        for (int h = 0; h < cf.n_heads; h++) m->w.L[l].bgate[h] = h == 0 ? -3.0f : 0.1f * h - 0.1f;
    const int V = cf.vocab_size, P = 9;
    int32_t prefix[9], c0[] = {3, 5, 7, 1}, c1[] = {10}, c2[] = {2, 2, 9, 4, 6, 0, 8};
    for (int i = 0; i < P; i++) prefix[i] = (i * 5 + 2) % V;
    const int32_t *conts[] = {c0, c1, c2};
    int lens[] = {4, 1, 7};
    double lp[3];
    int cnt[3];
    ts_session *s;
    assert_int_equal(ts_session_new(m, 0, &s), TS_OK);
    for (int run = 0; run < 2; run++) {
        assert_int_equal(ts_session_score_continuations(s, prefix, P, 3, conts, lens, lp, cnt),
                         TS_OK);
        assert_int_equal(ts_session_length(s), P);
        for (int c = 0; c < 3; c++) {
            /* the old way: the whole sequence, the mask on the continuation */
            int32_t ids[20];
            uint8_t mask[20] = {0};
            memcpy(ids, prefix, sizeof prefix);
            memcpy(ids + P, conts[c], sizeof(int32_t) * lens[c]);
            memset(mask + P, 1, lens[c]);
            double ref;
            int rc;
            assert_int_equal(ts_model_score(m, ids, mask, P + lens[c], &ref, &rc), TS_OK);
            assert_int_equal(cnt[c], rc);
            assert_int_equal(cnt[c], lens[c]);
            assert_true(ref < -0.1);
            if (fabs(lp[c] - ref) >= 1e-4)
                fail_msg("continuation %d: %.7f, full %.7f", c, lp[c], ref);
        }
        ts_session_set_dra_skip(s, false); /* the second run computes every head: same scores */
    }
    /* truncating keeps the prefix's state: the same logits as a fresh prefix + token */
    float *a = malloc(sizeof(float) * V), *b = malloc(sizeof(float) * V);
    assert_int_equal(ts_session_feed(s, c2, 3, a), TS_OK);
    assert_int_equal(ts_session_truncate(s, P), TS_OK);
    assert_int_equal(ts_session_feed(s, c0, 1, a), TS_OK);
    ts_session *f;
    assert_int_equal(ts_session_new(m, 0, &f), TS_OK);
    assert_int_equal(ts_session_feed(f, prefix, P, b), TS_OK);
    assert_int_equal(ts_session_feed(f, c0, 1, b), TS_OK);
    assert_memory_equal(a, b, sizeof(float) * V);
    assert_int_equal(ts_session_truncate(s, P + 2), TS_ERR_USAGE);
    /* a continuation past the context: an error naming the length, as ts_model_score */
    int32_t longc[12] = {0};
    const int32_t *lc[] = {c0, longc};
    int ll[] = {4, 12};
    assert_int_equal(ts_session_score_continuations(s, prefix, P, 2, lc, ll, lp, cnt),
                     TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "21 tokens"));
    free(a);
    free(b);
    ts_session_free(f);
    ts_session_free(s);
    ts_model_free(m);
}

/* The same continuations after three prefixes (as the views of one item):
 * each session's scores are those of ts_session_score_continuations on its
 * prefix alone, whether the prefixes share a length (one batched pass) or
 * not, on one thread or two. */
static void test_continuations_after_views(void **state) {
    ts_model *m = scoring_model();
    int32_t p0[8] = {1, 4, 7, 2, 9, 3, 5, 6}, p1[8] = {1, 4, 8, 2, 9, 0, 5, 6},
            p2[8] = {2, 4, 7, 2, 9, 3, 5, 10}, c0[] = {3, 5, 7, 1}, c1[] = {10};
    const int32_t *prefixes[3] = {p0, p1, p2}, *conts[] = {c0, c1};
    const int lens[] = {4, 1};
    ts_session *s[3];
    for (int b = 0; b < 3; b++)
        assert_int_equal(ts_session_new(m, 0, &s[b]), TS_OK);
    ts_pool *pool = ts_pool_new(2);
    for (int run = 0; run < 3; run++) {
        /* run 0: one length, one thread; run 1: on two threads; run 2: lengths 8, 7, 8 */
        const int n_prefix[3] = {8, run == 2 ? 7 : 8, 8};
        double lp[6], one[2];
        int cnt[6], cnt1[2];
        assert_int_equal(ts_sessions_score_continuations(s, 3, run == 1 ? pool : NULL, prefixes,
                                                         n_prefix, 2, conts, lens, lp, cnt),
                         TS_OK);
        for (int b = 0; b < 3; b++) {
            assert_int_equal(ts_session_length(s[b]), n_prefix[b]);
            ts_session *alone;
            assert_int_equal(ts_session_new(m, 0, &alone), TS_OK);
            assert_int_equal(ts_session_score_continuations(alone, prefixes[b], n_prefix[b], 2,
                                                            conts, lens, one, cnt1),
                             TS_OK);
            ts_session_free(alone);
            for (int c = 0; c < 2; c++) {
                assert_int_equal(cnt[b * 2 + c], lens[c]);
                if (fabs(lp[b * 2 + c] - one[c]) >= 1e-4)
                    fail_msg("run %d prefix %d continuation %d: %.7f, alone %.7f", run, b, c,
                             lp[b * 2 + c], one[c]);
            }
        }
        /* the prefixes differ, so each session scored its own */
        assert_true(fabs(lp[0] - lp[2]) > 1e-3 && fabs(lp[0] - lp[4]) > 1e-3);
    }
    ts_pool_free(pool);
    for (int b = 0; b < 3; b++)
        ts_session_free(s[b]);
    ts_model_free(m);
}

/* ---- GGUF, scoring ------------------------------------------------------------------------- */

static void test_gguf_round_trip_and_scoring(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    cf.tied_output = 0;
    cf.image_grid = 2, cf.image_token = 4; /* kept by the file */
    ts_model *m, *m2;
    assert_int_equal(ts_model_new(&cf, 11, &m), TS_OK);
    scramble(m, 12, 0.3f);
    m->w.L[1].rbias[2] = 0.25f;
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "lm.gguf");
    assert_int_equal(ts_model_save(m, path), TS_OK);
    assert_int_equal(ts_model_load(path, &m2), TS_OK);
    assert_memory_equal(&m->c, &m2->c, sizeof m->c);
    assert_int_equal(ts_model_n_params(m), ts_model_n_params(m2));
    assert_memory_equal(m->params, m2->params, sizeof(float) * m->n_params);
    assert_true(ts_model_n_active_params(m) < ts_model_n_params(m));

    int32_t ids[9] = {1, 4, 2, 8, 5, 7, 3, 0, 10};
    uint8_t mask[9] = {0, 0, 0, 0, 1, 1, 0, 1, 1};
    double lp, lp2;
    int cnt, cnt2;
    assert_int_equal(ts_model_score(m, ids, mask, 9, &lp, &cnt), TS_OK);
    assert_int_equal(ts_model_score(m2, ids, mask, 9, &lp2, &cnt2), TS_OK);
    assert_int_equal(cnt, 4);
    assert_true(lp == lp2 && lp < 0);
    /* against log-softmax of the full logits */
    float logits[9 * 11];
    assert_int_equal(ts_model_logits(m, ids, 9, logits), TS_OK);
    double ref = 0;
    for (int i = 1; i < 9; i++) {
        if (!mask[i]) continue;
        const float *x = logits + (i - 1) * 11;
        double mx = -1e30, s = 0;
        for (int v = 0; v < 11; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < 11; v++) s += exp(x[v] - mx);
        ref += x[ids[i]] - mx - log(s);
    }
    assert_true(fabs(lp - ref) < 1e-4);
    /* batched on two threads: the same numbers */
    const int32_t *seqs[3] = {ids, ids + 2, ids};
    const uint8_t *masks[3] = {mask, NULL, mask};
    int lens[3] = {9, 7, 5};
    double lps[3];
    int cnts[3];
    ts_pool *p = ts_pool_new(2);
    assert_int_equal(ts_model_score_batch(m, p, 3, seqs, masks, lens, lps, cnts), TS_OK);
    assert_true(lps[0] == lp && cnts[0] == 4 && cnts[1] == 6 && cnts[2] == 1);
    double one;
    int c1;
    assert_int_equal(ts_model_score(m, ids + 2, NULL, 7, &one, &c1), TS_OK);
    assert_true(lps[1] == one);
    /* bad input: token outside the vocabulary, too long */
    ids[3] = 11;
    assert_int_equal(ts_model_score(m, ids, mask, 9, &lp, &cnt), TS_ERR_INPUT);
    assert_int_equal(ts_model_score_batch(m, p, 1, seqs, masks, lens, lps, cnts), TS_ERR_INPUT);
    int32_t big[17] = {0};
    assert_int_equal(ts_model_score(m, big, NULL, 17, &lp, &cnt), TS_ERR_INPUT);
    ts_pool_free(p);
    /* a file without a decoder, a truncated file */
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_gguf_write(w, tu_path(dir, "empty.gguf")), TS_OK);
    ts_gguf_writer_free(w);
    ts_model *bad = NULL;
    assert_int_equal(ts_model_load(tu_path(dir, "empty.gguf"), &bad), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "empty.gguf"));
    size_t len;
    char *bytes = tu_read_file(path, &len);
    tu_write_file(tu_path(dir, "cut.gguf"), bytes, len / 2);
    free(bytes);
    assert_int_equal(ts_model_load(tu_path(dir, "cut.gguf"), &bad), TS_ERR_INPUT);
    /* quantised copies load and score close to the f32 model */
    ts_dtype dts[3] = {TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_Q8_0};
    ids[3] = 8;
    assert_int_equal(ts_model_score(m, ids, mask, 9, &lp, &cnt), TS_OK);
    for (int k = 0; k < 3; k++) {
        ts_gguf_writer *wq = ts_gguf_writer_new();
        assert_int_equal(ts_model_add_to_gguf_as(m, wq, dts[k]), TS_OK);
        assert_int_equal(ts_gguf_write(wq, tu_path(dir, "q.gguf")), TS_OK);
        ts_gguf_writer_free(wq);
        ts_model *mq;
        assert_int_equal(ts_model_load(tu_path(dir, "q.gguf"), &mq), TS_OK);
        assert_int_equal(mq->c.image_grid, 2);
        assert_int_equal(mq->c.image_token, 4);
        double lq;
        int cq;
        assert_int_equal(ts_model_score(mq, ids, mask, 9, &lq, &cq), TS_OK);
        assert_true(fabs(lq - lp) < 0.05 * fabs(lp) && lq != lp);
        ts_model_free(mq);
    }
    ts_model_free(m);
    ts_model_free(m2);
    tu_rmdir(dir);
}

static void test_config_parse_and_check(void **state) {
    ts_model_config c = ts_model_config_default(100);
    assert_int_equal(ts_model_config_parse(&c, "d_model=64,n_experts=16,rope_theta=500"), TS_OK);
    assert_int_equal(c.d_model, 64);
    assert_int_equal(c.n_experts, 16);
    assert_true(c.rope_theta == 500.0f);
    assert_int_equal(ts_model_config_check(&c), TS_OK);
    assert_int_equal(ts_model_config_parse(&c, "width=3"), TS_ERR_USAGE);
    assert_int_equal(ts_model_config_parse(&c, "d_model=abc"), TS_ERR_USAGE);
    c.n_experts_used = 17;
    assert_int_equal(ts_model_config_check(&c), TS_ERR_USAGE);
    c = tu_tiny_decoder_config(); /* context 16, vocabulary 11 */
    assert_int_equal(ts_model_config_parse(&c, "image_grid=3,image_token=10"), TS_OK);
    assert_int_equal(ts_model_config_check(&c), TS_OK);
    c.image_grid = 4; /* 16 codes do not fit a context of 16 */
    assert_int_equal(ts_model_config_check(&c), TS_ERR_USAGE);
    c.image_grid = 3, c.image_token = 11;
    assert_int_equal(ts_model_config_check(&c), TS_ERR_USAGE);
    c = ts_model_config_default(4105 + 1024);
    ts_model *m;
    assert_int_equal(ts_model_new(&c, 1, &m), TS_OK);
    /* DESIGN.md's default: about 20 M in all, about 4-6 M active */
    assert_true(ts_model_n_params(m) > 18000000 && ts_model_n_params(m) < 24000000);
    assert_true(ts_model_n_active_params(m) > 3500000 && ts_model_n_active_params(m) < 6500000);
    ts_model_free(m);
}

static void test_sampler(void **state) {
    float logits[6] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f, 1.0f};
    ts_rng r;
    ts_rng_seed(&r, 1);
    ts_sampler g = {0.0f, 0, 1.0f, 0};
    assert_int_equal(ts_sample(&g, logits, 6, &r, NULL), 1);
    ts_sampler k1 = {1.0f, 1, 1.0f, 0};
    assert_int_equal(ts_sample(&k1, logits, 6, &r, NULL), 1);
    ts_sampler k2 = {1.0f, 2, 1.0f, 0};
    int seen[6] = {0};
    for (int i = 0; i < 2000; i++) seen[ts_sample(&k2, logits, 6, &r, NULL)]++;
    assert_true(seen[1] > 800 && seen[2] > 800 && seen[0] + seen[3] + seen[4] + seen[5] == 0);
    /* top-p 0.5: only the best (p ≈ 0.38) and second-best survive */
    ts_sampler tp = {1.0f, 0, 0.5f, 0};
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 2000; i++) seen[ts_sample(&tp, logits, 6, &r, NULL)]++;
    assert_true(seen[1] > 0 && seen[2] > 0 && seen[0] + seen[3] + seen[4] + seen[5] == 0);
    /* the full distribution at temperature 1 */
    ts_sampler all = {1.0f, 0, 1.0f, 0};
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 20000; i++) seen[ts_sample(&all, logits, 6, &r, NULL)]++;
    double z = 0;
    for (int i = 0; i < 6; i++) z += exp(logits[i]);
    for (int i = 0; i < 6; i++) assert_true(fabs(seen[i] / 20000.0 - exp(logits[i]) / z) < 0.015);
}

/* ---- training -------------------------------------------------------------------------------- */

/* copy task: <bos> a b c d <sep> a b c d over symbols 0..7 (bos 8, sep 9);
 * the loss covers the copied half */
#define CP_SYM 8
#define CP_LEN 4
#define CP_T (2 * CP_LEN + 1) /* inputs per sequence; CP_T + 1 tokens */

static void copy_batch(ts_rng *r, int B, int32_t *tok, uint8_t *mask) {
    for (int b = 0; b < B; b++) {
        int32_t *t = tok + b * (CP_T + 1);
        t[0] = CP_SYM;
        for (int i = 0; i < CP_LEN; i++) t[1 + i] = t[2 + CP_LEN + i] = (int32_t)ts_rng_below(r, CP_SYM);
        t[1 + CP_LEN] = CP_SYM + 1;
        for (int i = 0; i < CP_T; i++) mask[b * CP_T + i] = i >= CP_LEN + 1;
    }
}

static ts_model_config copy_config(void) {
    ts_model_config c = ts_model_config_default(CP_SYM + 2);
    c.d_model = 32, c.n_heads = 2, c.head_dim = 16, c.n_layers = 2, c.n_dense_layers = 1;
    c.ffn_hidden = 64, c.n_experts = 4, c.n_experts_used = 2, c.expert_hidden = 32;
    c.context = 16;
    return c;
}

static void test_tiny_model_learns_to_copy(void **state) {
    ts_model_config cf = copy_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 21, &m), TS_OK);
    ts_train_config tc = ts_train_config_default();
    tc.batch = 32, tc.seq_len = CP_T, tc.steps = 400, tc.warmup = 20, tc.lr = 1e-2f, tc.min_lr = 1e-3f;
    tc.weight_decay = 0.0f;
    ts_pool *p = ts_pool_new(2);
    ts_trainer *t;
    assert_int_equal(ts_trainer_new(m, &tc, p, &t), TS_OK);
    ts_rng r;
    ts_rng_seed(&r, 22);
    int32_t tok[32 * (CP_T + 1)];
    uint8_t mask[32 * CP_T];
    ts_train_stats st;
    double first = 0;
    for (int s = 0; s < tc.steps; s++) {
        copy_batch(&r, tc.batch, tok, mask);
        assert_int_equal(ts_trainer_step(t, tok, mask, &st), TS_OK);
        if (s == 0) first = st.loss;
        assert_int_equal(st.n_targets, tc.batch * CP_LEN);
    }
    assert_true(first > 1.8); /* ln 8 ≈ 2.08 at the start */
    /* greedy accuracy on fresh sequences, through the KV-cache path */
    int right = 0, total = 0;
    for (int k = 0; k < 50; k++) {
        copy_batch(&r, 1, tok, mask);
        ts_session *s;
        assert_int_equal(ts_session_new(m, 0, &s), TS_OK);
        float logits[CP_SYM + 2];
        assert_int_equal(ts_session_feed(s, tok, CP_LEN + 2, logits), TS_OK);
        for (int i = 0; i < CP_LEN; i++) {
            int32_t best = 0;
            for (int v = 1; v < CP_SYM + 2; v++)
                if (logits[v] > logits[best]) best = v;
            right += best == tok[CP_LEN + 2 + i], total++;
            assert_int_equal(ts_session_feed(s, &tok[CP_LEN + 2 + i], 1, logits), TS_OK);
        }
        ts_session_free(s);
    }
    /* stated target: at least 95% of the copied symbols right (chance: 12.5%) */
    print_message("copy task: final loss %.4f, accuracy %d/%d\n", st.loss, right, total);
    assert_true(right >= total * 95 / 100);
    ts_trainer_free(t);
    ts_pool_free(p);
    ts_model_free(m);
}

/* A row holding one record with two turns about the same prefix, laid out
 * so that the second turn does not see the first, has the loss of the two
 * one-turn records in rows of their own. */
static void test_turns_equal_separate_records(void **state) {
    ts_model_config cf = copy_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 31, &m), TS_OK);
    scramble(m, 32, 0.3f);
    ts_train_config tc = ts_train_config_default();
    tc.batch = 2, tc.seq_len = 15;
    ts_trainer *t;
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    /* 8, 9 mark turns; prefix 1 2 3, turn 1: 8 4 9 5 6 0, turn 2: 8 7 9 6 0 */
    const int32_t both[16] = {1, 2, 3, 8, 4, 9, 5, 6, 0, 8, 7, 9, 6, 0, 0, 0};
    const int32_t first[16] = {1, 2, 3, 8, 4, 9, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0};
    const int32_t second[16] = {1, 2, 3, 8, 7, 9, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    int32_t tok[2 * 16], pos[2 * 15], hide[2 * 15 * 2] = {0};
    uint8_t mask[2 * 15] = {0};
    /* targets: the answers and their end (0) */
    memcpy(tok, both, sizeof both);
    memcpy(tok + 16, both, sizeof both);
    for (int i = 0; i < 15; i++) {
        mask[i] = (i >= 5 && i <= 7) || (i >= 11 && i <= 12);
        bool later = i >= 9;
        pos[i] = later ? i - 6 : i;
        hide[2 * i] = later ? 3 : 0, hide[2 * i + 1] = later ? 9 : 0;
        pos[15 + i] = i; /* row 1: all masked out */
    }
    ts_trainer_set_layout(t, pos, hide);
    double l_both, l_apart;
    int n_both, n_apart;
    assert_int_equal(ts_trainer_eval(t, tok, mask, &l_both, &n_both, NULL), TS_OK);
    memcpy(tok, first, sizeof first);
    memcpy(tok + 16, second, sizeof second);
    memset(mask, 0, sizeof mask);
    for (int i = 0; i < 15; i++)
        mask[i] = i >= 5 && i <= 7, mask[15 + i] = i >= 5 && i <= 6;
    ts_trainer_set_layout(t, NULL, NULL);
    assert_int_equal(ts_trainer_eval(t, tok, mask, &l_apart, &n_apart, NULL), TS_OK);
    assert_int_equal(n_both, 5);
    assert_int_equal(n_apart, 5);
    print_message("two turns: loss sum %.7f, apart %.7f\n", l_both, l_apart);
    assert_true(fabs(l_both - l_apart) < 1e-5 * fabs(l_apart));
    /* and without the layout the second turn sees the first: another loss */
    memcpy(tok, both, sizeof both);
    memcpy(tok + 16, both, sizeof both);
    for (int i = 0; i < 30; i++)
        mask[i] = i < 15 && ((i >= 5 && i <= 7) || (i >= 11 && i <= 12));
    assert_int_equal(ts_trainer_eval(t, tok, mask, &l_both, &n_both, NULL), TS_OK);
    assert_true(fabs(l_both - l_apart) > 1e-4 * fabs(l_apart));
    ts_trainer_free(t);
    ts_model_free(m);
}

static void run_steps(ts_trainer *t, ts_rng *r, int n, double *losses, int B) {
    int32_t tok[8 * (CP_T + 1)];
    uint8_t mask[8 * CP_T];
    for (int i = 0; i < n; i++) {
        copy_batch(r, B, tok, mask);
        ts_train_stats st;
        assert_int_equal(ts_trainer_step(t, tok, mask, &st), TS_OK);
        losses[i] = st.loss;
    }
}

static void test_checkpoint_resume_gives_identical_losses(void **state) {
    ts_model_config cf = copy_config();
    ts_train_config tc = ts_train_config_default();
    tc.batch = 8, tc.seq_len = CP_T, tc.steps = 12, tc.warmup = 2, tc.lr = 5e-3f;
    char *dir = tu_mkdtemp();
    const char *ck = tu_path(dir, "ckpt.gguf");
    ts_pool *p = ts_pool_new(2);
    /* uninterrupted: 10 steps, checkpoint after 4 */
    ts_model *m;
    ts_trainer *t;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, p, &t), TS_OK);
    ts_rng r;
    ts_rng_seed(&r, 6);
    double full[10], resumed[6];
    run_steps(t, &r, 4, full, tc.batch);
    assert_int_equal(ts_trainer_save(t, ck, r.s, 4), TS_OK);
    run_steps(t, &r, 6, full + 4, tc.batch);
    ts_trainer_free(t);
    ts_model_free(m);
    /* resumed: a different initial model, everything comes from the file */
    assert_int_equal(ts_model_new(&cf, 99, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, p, &t), TS_OK);
    ts_rng r2;
    int n_extra = 0;
    assert_int_equal(ts_trainer_load(t, ck, r2.s, 4, &n_extra), TS_OK);
    assert_int_equal(n_extra, 4);
    assert_int_equal(ts_trainer_step_count(t), 4);
    run_steps(t, &r2, 6, resumed, tc.batch);
    for (int i = 0; i < 6; i++) assert_true(resumed[i] == full[4 + i]);
    assert_true(full[9] < full[0]);
    ts_trainer_free(t);
    ts_model_free(m);
    /* a checkpoint for another shape is refused */
    tc.batch = 4;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, p, &t), TS_OK);
    assert_int_equal(ts_trainer_load(t, ck, r2.s, 4, &n_extra), TS_ERR_INPUT);
    ts_trainer_free(t);
    ts_model_free(m);
    ts_pool_free(p);
    tu_rmdir(dir);
}

/* The moving average of the weights: exactly a += (1 - min(d, (1+s)/(10+s)))
 * (w - a) after step s, from the first weights; training itself unchanged;
 * swapped in and out; kept by checkpoints, or started at a checkpoint's
 * weights when it holds none. */
static void test_moving_average(void **state) {
    ts_model_config cf = copy_config();
    ts_train_config tc = ts_train_config_default();
    tc.batch = 8, tc.seq_len = CP_T, tc.steps = 12, tc.warmup = 2, tc.lr = 5e-3f;
    ts_train_config te = tc;
    te.ema = 0.6f;
    char *dir = tu_mkdtemp();
    const char *ck = tu_path(dir, "ckpt.gguf"), *ck_plain = tu_path(dir, "plain.gguf");
    ts_pool *p = ts_pool_new(2);
    ts_model *m, *mp;
    ts_trainer *t, *tp;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_model_new(&cf, 5, &mp), TS_OK);
    assert_int_equal(ts_trainer_new(m, &te, p, &t), TS_OK);
    assert_int_equal(ts_trainer_new(mp, &tc, p, &tp), TS_OK);
    size_t P = m->n_params;
    float *want = malloc(sizeof(float) * P), *w = malloc(sizeof(float) * P);
    memcpy(want, m->params, sizeof(float) * P);
    ts_rng r, rp;
    ts_rng_seed(&r, 6);
    ts_rng_seed(&rp, 6);
    double loss[8], loss_plain[8];
    for (int s = 1; s <= 8; s++) {
        run_steps(t, &r, 1, loss + s - 1, tc.batch);
        run_steps(tp, &rp, 1, loss_plain + s - 1, tc.batch);
        double d = (1.0 + s) / (10.0 + s);
        float k = (float)(1.0 - (d < te.ema ? d : te.ema));
        for (size_t j = 0; j < P; j++)
            want[j] += k * (m->params[j] - want[j]);
        if (s == 4) { /* checkpoints with and without the average */
            assert_int_equal(ts_trainer_save(t, ck, r.s, 4), TS_OK);
            assert_int_equal(ts_trainer_save(tp, ck_plain, rp.s, 4), TS_OK);
        }
    }
    for (int i = 0; i < 8; i++)
        assert_true(loss[i] == loss_plain[i]);
    assert_memory_equal(m->params, mp->params, sizeof(float) * P);
    memcpy(w, m->params, sizeof(float) * P);
    ts_trainer_swap_average(t);
    double moved = 0;
    for (size_t j = 0; j < P; j++) {
        assert_true(fabsf(m->params[j] - want[j]) <= 1e-6f * (1 + fabsf(want[j])));
        moved += fabs((double)m->params[j] - w[j]);
    }
    print_message("moving average: mean |average - weights| %.2e\n", moved / (double)P);
    assert_true(moved / (double)P > 1e-5); /* the average is not the last weights */
    ts_trainer_swap_average(t);
    assert_memory_equal(m->params, w, sizeof(float) * P);
    /* resumed from step 4: the same average as the uninterrupted run */
    ts_model *m2;
    ts_trainer *t2;
    assert_int_equal(ts_model_new(&cf, 99, &m2), TS_OK);
    assert_int_equal(ts_trainer_new(m2, &te, p, &t2), TS_OK);
    ts_rng r2;
    int n_extra = 0;
    assert_int_equal(ts_trainer_load(t2, ck, r2.s, 4, &n_extra), TS_OK);
    run_steps(t2, &r2, 4, loss, tc.batch);
    ts_trainer_swap_average(t);
    ts_trainer_swap_average(t2);
    assert_memory_equal(m2->params, m->params, sizeof(float) * P);
    ts_trainer_free(t2);
    /* from a checkpoint without an average, it starts at that one's weights */
    assert_int_equal(ts_trainer_new(m2, &te, p, &t2), TS_OK);
    assert_int_equal(ts_trainer_load(t2, ck_plain, r2.s, 4, &n_extra), TS_OK);
    memcpy(w, m2->params, sizeof(float) * P);
    ts_trainer_swap_average(t2);
    assert_memory_equal(m2->params, w, sizeof(float) * P);
    ts_trainer_free(t2);
    /* a decay of 1 would never move */
    te.ema = 1.0f;
    assert_int_equal(ts_trainer_new(m2, &te, p, &t2), TS_ERR_USAGE);
    ts_model_free(m2);
    ts_trainer_free(t);
    ts_trainer_free(tp);
    ts_model_free(m);
    ts_model_free(mp);
    ts_pool_free(p);
    free(want);
    free(w);
    tu_rmdir(dir);
}

static void test_router_bias_balances_load(void **state) {
    /* a router that sends everything to expert 0: the sign rule must spread
     * the load without any gradient on the bias. Every position counts (no
     * mask), so the last block routes all 72 rows of a step, not only the
     * 32 answers, and the loads it balances are not too few to measure. */
    ts_model_config cf = copy_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 31, &m), TS_OK);
    ts_train_config tc = ts_train_config_default();
    tc.batch = 8, tc.seq_len = CP_T, tc.lr = 1e-9f, tc.min_lr = 1e-9f, tc.bias_gamma = 0.01f;
    ts_trainer *t;
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    m->w.L[1].rbias[0] = 0.3f;
    ts_rng r;
    ts_rng_seed(&r, 3);
    int32_t tok[8 * (CP_T + 1)];
    uint8_t mask[8 * CP_T];
    ts_train_stats st;
    copy_batch(&r, 8, tok, mask);
    assert_int_equal(ts_trainer_step(t, tok, NULL, &st), TS_OK);
    double before = st.load_max_mean;
    for (int i = 0; i < 60; i++) {
        copy_batch(&r, 8, tok, mask);
        assert_int_equal(ts_trainer_step(t, tok, NULL, &st), TS_OK);
    }
    assert_true(before >= 1.9); /* expert 0 takes every token: 2× the mean */
    assert_true(st.load_max_mean < 1.5);
    assert_int_equal(st.experts_unused, 0);
    assert_true(m->w.L[1].rbias[0] < 0.3f);
    ts_trainer_free(t);
    ts_model_free(m);
}

/* A batch whose mask counts no position (no answer in it) trains nothing:
 * the step succeeds, its loss is 0 and every weight stays finite. */
static void test_step_without_answers(void **state) {
    ts_model_config cf = copy_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 31, &m), TS_OK);
    ts_train_config tc = ts_train_config_default();
    tc.batch = 4, tc.seq_len = CP_T;
    ts_trainer *t;
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    ts_rng r;
    ts_rng_seed(&r, 4);
    int32_t tok[4 * (CP_T + 1)];
    uint8_t mask[4 * CP_T];
    copy_batch(&r, 4, tok, mask);
    memset(mask, 0, sizeof mask);
    ts_train_stats st;
    assert_int_equal(ts_trainer_step(t, tok, mask, &st), TS_OK);
    assert_int_equal(st.n_targets, 0);
    assert_true(st.loss == 0.0 && isfinite(st.aux_loss));
    for (size_t i = 0; i < m->n_params; i++)
        assert_true(isfinite(m->params[i]));
    ts_trainer_free(t);
    ts_model_free(m);
}

/* ts_lm_train on a frozen model (lr ~ 0) whose router sends every token to
 * experts 0 and 1: after the one step, the end-of-training bias refinement must
 * balance the load that the final val evaluation reports; with γ = 0 it must
 * leave the biases alone. */
static void lm_train_skewed(float gamma, float *rb, ts_lm_train_result *res) {
    enum { NB = 160, NTOK = NB * 8 * (CP_T + 1) };
    ts_model_config cf = copy_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 31, &m), TS_OK);
    static int32_t stream[NTOK];
    static uint8_t mask[8 * CP_T];
    ts_rng r;
    ts_rng_seed(&r, 5);
    for (int b = 0; b < NB; b++) copy_batch(&r, 8, stream + (size_t)b * 8 * (CP_T + 1), mask);
    ts_train_config tc = ts_train_config_default();
    tc.batch = 8, tc.seq_len = CP_T, tc.steps = 1, tc.warmup = 0;
    tc.lr = 1e-9f, tc.min_lr = 1e-9f, tc.bias_gamma = gamma;
    m->w.L[1].rbias[0] = m->w.L[1].rbias[1] = 0.03f;
    ts_lm_train_opts o = {.train = stream, .n_train = NTOK, .val = stream, .n_val = NTOK,
                          .quiet = true};
    assert_int_equal(ts_lm_train(m, &tc, NULL, &o, res), TS_OK);
    for (int e = 0; e < 4; e++) rb[e] = m->w.L[1].rbias[e];
    ts_model_free(m);
}

static void test_lm_train_refines_router_bias(void **state) {
    ts_lm_train_result off, on, again;
    float rb_off[4], rb_on[4], rb_again[4];
    lm_train_skewed(0.0f, rb_off, &off);
    assert_int_equal(off.steps_done, 1);
    assert_true(off.val_load_max_mean >= 1.9); /* 2× the mean: the biases decide */
    assert_true(rb_off[0] == 0.03f && rb_off[2] == 0.0f);
    /* γ = 0.003 trains with ±0.003 a step but refines with γ' = 0.001 */
    lm_train_skewed(0.003f, rb_on, &on);
    assert_true(on.val_load_max_mean < 1.5);
    assert_int_equal(on.val_experts_unused, 0);
    /* the one step moves each bias by 0.003; refinement moves them further, by at
     * most 0.001 a batch over 128 batches */
    float moved = 0;
    for (int e = 0; e < 4; e++) {
        float d = fabsf(rb_on[e] - rb_off[e]);
        assert_true(d <= 0.003f + 0.128f + 1e-4f);
        moved = fmaxf(moved, d);
    }
    assert_true(moved > 0.003f + 0.005f);
    /* deterministic */
    lm_train_skewed(0.003f, rb_again, &again);
    assert_memory_equal(rb_on, rb_again, sizeof rb_on);
    assert_true(on.val_loss == again.val_loss);
}

static bool collect(int32_t id, void *user) {
    int32_t **p = user;
    *(*p)++ = id;
    return true;
}

static void test_generate_deterministic(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 41, &m), TS_OK);
    scramble(m, 42, 0.5f);
    int32_t prompt[3] = {1, 2, 3}, a[10], b[10], g[10], *pa = a, *pb = b, *pg = g;
    ts_sampler sp = ts_sampler_default();
    sp.seed = 7;
    int na, nb, ng;
    assert_int_equal(ts_model_generate(m, prompt, 3, 10, &sp, -1, 0, collect, &pa, &na), TS_OK);
    assert_int_equal(ts_model_generate(m, prompt, 3, 10, &sp, -1, 0, collect, &pb, &nb), TS_OK);
    assert_int_equal(na, 10);
    assert_memory_equal(a, b, sizeof a);
    /* greedy equals the argmax of the full forward at each step */
    ts_sampler greedy = {0, 0, 1, 0};
    assert_int_equal(ts_model_generate(m, prompt, 3, 6, &greedy, -1, 0, collect, &pg, &ng), TS_OK);
    int32_t seq[9] = {1, 2, 3};
    float logits[9 * 11];
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ts_model_logits(m, seq, 3 + i, logits), TS_OK);
        int32_t best = 0;
        for (int v = 1; v < 11; v++)
            if (logits[(2 + i) * 11 + v] > logits[(2 + i) * 11 + best]) best = v;
        assert_int_equal(g[i], best);
        seq[3 + i] = best;
    }
    /* stops right after eos */
    pg = g;
    assert_int_equal(ts_model_generate(m, prompt, 3, 6, &greedy, g[0], 0, collect, &pg, &ng), TS_OK);
    assert_int_equal(ng, 1);
    ts_model_free(m);
}

/* argmax over V of the mean of two rows' log-softmax */
static int32_t argmax_mean_log_softmax(const float *a, const float *b, int V) {
    double best = -INFINITY;
    int32_t arg = 0;
    double za = 0, zb = 0;
    for (int v = 0; v < V; v++)
        za += exp((double)a[v]), zb += exp((double)b[v]);
    for (int v = 0; v < V; v++) {
        double x = (a[v] - log(za)) + (b[v] - log(zb));
        if (x > best) best = x, arg = v;
    }
    return arg;
}

/* Greedy generation from two views (six tokens into g) equals the argmax of
 * the mean log-softmax of the views' full forwards, token by token. */
static void expect_mean_of_views(const ts_model *m, const int32_t *const *views, const int *lens,
                                 int32_t *g) {
    ts_sampler greedy = {0, 0, 1, 0};
    int32_t *pg = g;
    int n;
    assert_int_equal(
        ts_model_generate_views(m, NULL, views, lens, 2, 6, &greedy, -1, 0, collect, &pg, &n),
        TS_OK);
    assert_int_equal(n, 6);
    int32_t sa[16], sb[16];
    memcpy(sa, views[0], sizeof *sa * (size_t)lens[0]);
    memcpy(sb, views[1], sizeof *sb * (size_t)lens[1]);
    float la[16 * 11], lb[16 * 11];
    int differs = 0;
    for (int i = 0; i < 6; i++) {
        const int na = lens[0] + i, nb = lens[1] + i;
        assert_int_equal(ts_model_logits(m, sa, na, la), TS_OK);
        assert_int_equal(ts_model_logits(m, sb, nb, lb), TS_OK);
        int32_t want = argmax_mean_log_softmax(la + (na - 1) * 11, lb + (nb - 1) * 11, 11);
        assert_int_equal(g[i], want);
        sa[na] = sb[nb] = want;
        /* the views disagree somewhere, so the mixing is what is tested */
        int32_t ba = 0, bb = 0;
        for (int v = 1; v < 11; v++) {
            if (la[(na - 1) * 11 + v] > la[(na - 1) * 11 + ba]) ba = v;
            if (lb[(nb - 1) * 11 + v] > lb[(nb - 1) * 11 + bb]) bb = v;
        }
        differs += ba != bb;
    }
    assert_true(differs > 0);
}

static void test_generate_views(void **state) {
    (void)state;
    ts_model_config cf = tu_tiny_decoder_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 41, &m), TS_OK);
    scramble(m, 42, 0.5f);
    ts_sampler greedy = {0, 0, 1, 0};
    /* two views of one prompt: the same tokens as one view */
    int32_t p1[3] = {1, 2, 3}, p2[4] = {4, 5, 6, 3}, one[8], two[8], *po = one, *pt = two;
    const int32_t *same[2] = {p1, p1};
    int lens_same[2] = {3, 3}, n1, n2;
    assert_int_equal(ts_model_generate(m, p1, 3, 8, &greedy, -1, 0, collect, &po, &n1), TS_OK);
    assert_int_equal(
        ts_model_generate_views(m, NULL, same, lens_same, 2, 8, &greedy, -1, 0, collect, &pt, &n2),
        TS_OK);
    assert_int_equal(n1, 8);
    assert_int_equal(n2, 8);
    assert_memory_equal(one, two, sizeof one);
    /* two different views: each token is the argmax of the mean log-softmax
     * of both views' full forwards, and is fed to both; views of different
     * lengths are fed one by one, views of one length in one batched pass */
    int32_t p3[4] = {7, 5, 2, 3}, g[2][6];
    const int32_t *diff[2] = {p1, p2}, *even[2] = {p2, p3}, *const * pairs[2] = {diff, even};
    const int lens[2][2] = {{3, 4}, {4, 4}};
    for (int k = 0; k < 2; k++)
        expect_mean_of_views(m, pairs[k], lens[k], g[k]);
    /* the views side by side on two threads: the same tokens, sampled too */
    ts_pool *pool = ts_pool_new(2);
    ts_sampler sp = ts_sampler_default();
    sp.seed = 3;
    for (int k = 0; k < 2; k++) {
        int32_t a[8], b[8], *pa = a, *pb = b;
        int na, nb;
        assert_int_equal(ts_model_generate_views(m, pool, pairs[k], lens[k], 2, 6, &greedy, -1, 0,
                                                 collect, &pa, &na),
                         TS_OK);
        assert_int_equal(na, 6);
        assert_memory_equal(a, g[k], sizeof(int32_t) * 6);
        pa = a;
        assert_int_equal(ts_model_generate_views(m, pool, pairs[k], lens[k], 2, 8, &sp, -1, 0,
                                                 collect, &pa, &na),
                         TS_OK);
        assert_int_equal(ts_model_generate_views(m, NULL, pairs[k], lens[k], 2, 8, &sp, -1, 0,
                                                 collect, &pb, &nb),
                         TS_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, sizeof(int32_t) * (size_t)na);
    }
    /* one generator over a run of items (one view, two, one again, a
     * longer answer that needs longer caches, sampled): each item's tokens
     * are those of a fresh ts_model_generate_views */
    {
        ts_generator *gen;
        assert_int_equal(ts_generator_new(m, &gen), TS_OK);
        struct {
            const int32_t *const *prompts;
            const int *lens;
            int views, max_new;
            const ts_sampler *sp;
        } items[] = {{same, lens_same, 1, 8, &greedy}, {diff, lens[0], 2, 6, &greedy},
                     {even, lens[1], 2, 6, &sp},       {same, lens_same, 1, 3, &greedy},
                     {diff, lens[0], 2, 12, &greedy},  {same, lens_same, 2, 8, &sp}};
        for (size_t k = 0; k < sizeof items / sizeof *items; k++) {
            int32_t a[16], b[16], *pa = a, *pb = b;
            int na, nb;
            assert_int_equal(ts_generator_run(gen, pool, items[k].prompts, items[k].lens,
                                              items[k].views, items[k].max_new, items[k].sp, -1, 0,
                                              collect, &pa, &na),
                             TS_OK);
            assert_int_equal(ts_model_generate_views(m, NULL, items[k].prompts, items[k].lens,
                                                     items[k].views, items[k].max_new, items[k].sp,
                                                     -1, 0, collect, &pb, &nb),
                             TS_OK);
            assert_int_equal(na, items[k].max_new);
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, sizeof(int32_t) * (size_t)na);
        }
        ts_generator_free(gen);
    }
    ts_pool_free(pool);
    int32_t *pg = g[0];
    int none = 0;
    assert_int_equal(
        ts_model_generate_views(m, NULL, diff, lens[0], 0, 6, &greedy, -1, 0, collect, &pg, &none),
        TS_ERR_USAGE);
    ts_model_free(m);
}

/* The views' mean log-softmax after prompt + prefix, from full forwards. */
static void views_log_softmax(const ts_model *m, const int32_t *const *views, const int *lens,
                              int n_views, const int32_t *prefix, int n_prefix, double *out) {
    for (int v = 0; v < 11; v++)
        out[v] = 0;
    for (int k = 0; k < n_views; k++) {
        int32_t seq[16];
        float logits[16 * 11];
        memcpy(seq, views[k], sizeof *seq * (size_t)lens[k]);
        if (n_prefix) memcpy(seq + lens[k], prefix, sizeof *seq * (size_t)n_prefix);
        const int n = lens[k] + n_prefix;
        assert_int_equal(ts_model_logits(m, seq, n, logits), TS_OK);
        const float *row = logits + (n - 1) * 11;
        double z = 0;
        for (int v = 0; v < 11; v++)
            z += exp((double)row[v]);
        for (int v = 0; v < 11; v++)
            out[v] += (row[v] - log(z)) / n_views;
    }
}

static bool stop_after_two(int32_t id, void *user) {
    int *n = user;
    (void)id;
    return ++*n < 2;
}

static void test_beam_search(void **state) {
    (void)state;
    ts_model_config cf = tu_tiny_decoder_config();
    ts_model *m, *other;
    assert_int_equal(ts_model_new(&cf, 41, &m), TS_OK);
    assert_int_equal(ts_model_new(&cf, 43, &other), TS_OK);
    scramble(m, 42, 0.5f);
    /* a copied session continues as its source does */
    {
        ts_session *a, *b, *c, *d;
        assert_int_equal(ts_session_new(m, 12, &a), TS_OK);
        assert_int_equal(ts_session_new(m, 12, &b), TS_OK);
        assert_int_equal(ts_session_new(m, 4, &c), TS_OK);
        assert_int_equal(ts_session_new(other, 12, &d), TS_OK);
        int32_t p[5] = {1, 2, 3, 4, 5}, next = 6;
        float la[11], lb[11];
        assert_int_equal(ts_session_feed(b, p + 3, 2, NULL), TS_OK); /* something to overwrite */
        assert_int_equal(ts_session_feed(a, p, 5, la), TS_OK);
        assert_int_equal(ts_session_copy(b, a), TS_OK);
        assert_int_equal(ts_session_length(b), 5);
        assert_int_equal(ts_session_feed(a, &next, 1, la), TS_OK);
        assert_int_equal(ts_session_feed(b, &next, 1, lb), TS_OK);
        assert_memory_equal(la, lb, sizeof la);
        assert_int_equal(ts_session_copy(c, a), TS_ERR_USAGE); /* too short */
        assert_int_equal(ts_session_copy(d, a), TS_ERR_USAGE); /* another model */
        ts_session_free(a), ts_session_free(b), ts_session_free(c), ts_session_free(d);
    }
    ts_generator *gen;
    assert_int_equal(ts_generator_new(m, &gen), TS_OK);
    ts_pool *pool = ts_pool_new(2);
    ts_sampler greedy = {0, 0, 1, 0};
    int32_t p1[3] = {1, 2, 3}, p2[4] = {4, 5, 6, 3}, p3[3] = {7, 5, 2}, p4[3] = {9, 1, 8};
    const int32_t *prompts[4][2] = {{p1, p2}, {p3, p1}, {p4, p3}, {p2, p4}};
    const int lens[4][2] = {{3, 4}, {3, 3}, {3, 3}, {4, 3}};
    const int32_t eos = 10;
    int beam_wins = 0;
    for (int k = 0; k < 4; k++) {
        /* width 1 is greedy decoding, its end token included */
        int32_t a[8], b[8], *pa = a, *pb = b;
        int na, nb;
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[k], lens[k], 2, 6, 1, eos, -1, 0,
                                           NULL, collect, &pa, &na),
                         TS_OK);
        assert_int_equal(ts_model_generate_views(m, NULL, prompts[k], lens[k], 2, 6, &greedy, eos,
                                                 0, collect, &pb, &nb),
                         TS_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, sizeof(int32_t) * (size_t)na);
        /* two tokens at most, a beam of 8 of the 11: the likeliest answer
         * of all (an eos alone, or any token then any other), found by
         * full forwards */
        double lp1[11], lp2[11], best = -INFINITY;
        int32_t want[2] = {eos, -1};
        views_log_softmax(m, prompts[k], lens[k], 2, NULL, 0, lp1);
        best = lp1[eos];
        for (int32_t t = 0; t < 11; t++) {
            if (t == eos) continue;
            views_log_softmax(m, prompts[k], lens[k], 2, &t, 1, lp2);
            for (int32_t x = 0; x < 11; x++)
                if (lp1[t] + lp2[x] > best) best = lp1[t] + lp2[x], want[0] = t, want[1] = x;
        }
        pa = a;
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[k], lens[k], 2, 2, 8, eos, -1, 0,
                                           NULL, collect, &pa, &na),
                         TS_OK);
        assert_int_equal(na, want[1] < 0 ? 1 : 2);
        assert_int_equal(a[0], want[0]);
        if (na == 2) assert_int_equal(a[1], want[1]);
        pb = b;
        assert_int_equal(ts_model_generate_views(m, NULL, prompts[k], lens[k], 2, 2, &greedy, eos,
                                                 0, collect, &pb, &nb),
                         TS_OK);
        beam_wins += nb != na || memcmp(a, b, sizeof(int32_t) * (size_t)na);
        /* longer answers: the same tokens on two threads, and from a fresh
         * generator */
        for (int w = 2; w <= 4; w++) {
            int32_t c[12], d[12], *pc = c, *pd = d;
            int nc, nd;
            assert_int_equal(ts_generator_beam(gen, pool, prompts[k], lens[k], 2, 8, w, eos, -1, 0,
                                               NULL, collect, &pc, &nc),
                             TS_OK);
            ts_generator *fresh;
            assert_int_equal(ts_generator_new(m, &fresh), TS_OK);
            assert_int_equal(ts_generator_beam(fresh, NULL, prompts[k], lens[k], 2, 8, w, eos, -1,
                                               0, NULL, collect, &pd, &nd),
                             TS_OK);
            ts_generator_free(fresh);
            assert_true(nc >= 1 && nc <= 8);
            assert_int_equal(nc, nd);
            assert_memory_equal(c, d, sizeof(int32_t) * (size_t)nc);
        }
    }
    /* the search is what is tested: it beats greedy somewhere */
    assert_true(beam_wins > 0);
    /* tokens from end_from on end an answer as eos does */
    {
        int32_t a[8], *pa = a;
        int na;
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[0], lens[0], 2, 8, 3, -1, 0, 0, NULL,
                                           collect, &pa, &na),
                         TS_OK);
        assert_int_equal(na, 1); /* every token ends it */
        /* the callback stops the hand-over; a set stop flag gives no answer */
        int seen = 0;
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[0], lens[0], 2, 8, 3, -1, -1, 0, NULL,
                                           stop_after_two, &seen, &na),
                         TS_OK);
        assert_int_equal(na, 2);
        volatile sig_atomic_t stop = 1;
        pa = a;
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[0], lens[0], 2, 8, 3, eos, -1, 0,
                                           &stop, collect, &pa, &na),
                         TS_OK);
        assert_int_equal(na, 0);
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[0], lens[0], 2, 8, 0, eos, -1, 0,
                                           NULL, collect, &pa, &na),
                         TS_ERR_USAGE);
        assert_int_equal(ts_generator_beam(gen, NULL, prompts[0], lens[0], 2, 8, TS_MAX_BEAM + 1,
                                           eos, -1, 0, NULL, collect, &pa, &na),
                         TS_ERR_USAGE);
    }
    ts_pool_free(pool);
    ts_generator_free(gen);
    ts_model_free(other);
    ts_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_backward_matches_finite_differences),
        cmocka_unit_test(test_compact_head_equals_full_head),
        cmocka_unit_test(test_backward_on_a_pool_matches_one_thread),
        cmocka_unit_test(test_kv_cache_matches_full_forward),
        cmocka_unit_test(test_grid_positions_and_cache),
        cmocka_unit_test(test_grid_mix_reach),
        cmocka_unit_test(test_continuations_match_full_scoring),
        cmocka_unit_test(test_continuations_after_views),
        cmocka_unit_test(test_gguf_round_trip_and_scoring),
        cmocka_unit_test(test_config_parse_and_check),
        cmocka_unit_test(test_sampler),
        cmocka_unit_test(test_tiny_model_learns_to_copy),
        cmocka_unit_test(test_turns_equal_separate_records),
        cmocka_unit_test(test_checkpoint_resume_gives_identical_losses),
        cmocka_unit_test(test_moving_average),
        cmocka_unit_test(test_router_bias_balances_load),
        cmocka_unit_test(test_step_without_answers),
        cmocka_unit_test(test_lm_train_refines_router_bias),
        cmocka_unit_test(test_generate_deterministic),
        cmocka_unit_test(test_generate_views),
        cmocka_unit_test(test_beam_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
