/* Batch-1 decoding: the matrix-vector kernels (nn/matvec.h) against a naive
 * double-precision reference at sizes that reach every vector and tail path,
 * and the KV-cache session at shapes wide enough for the vector paths and the
 * FFN chunking (several chunks, a partial last one): the same logits as the
 * full forward pass, with and without DRA skipping, and the same bytes on 1,
 * 2 and 3 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/linear.h"
#include "nn/matvec.h"
#include "tessera.h"
#include "tests/testutil.h"

static float *randn(ts_rng *r, size_t n, float sd) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        x[i] = sd * ts_rng_normal(r);
    return x;
}

static void test_matvec_matches_naive(void **state) {
    (void)state;
    ts_rng r;
    ts_rng_seed(&r, 3);
    const int sizes[] = {1, 3, 7, 8, 9, 16, 31, 32, 33, 40, 64, 71, 256, 259};
    const int ns = (int)(sizeof sizes / sizeof *sizes);
    for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b += 2) {
            int rows = sizes[b], cols = sizes[a], ldw = cols + (a % 3) * 5;
            float *W = randn(&r, (size_t)rows * ldw, 1.0f), *x = randn(&r, (size_t)cols, 1.0f);
            float *y = malloc(sizeof(float) * rows), *y2 = malloc(sizeof(float) * rows);
            ts_matvec(y, W, rows, cols, ldw, x);
            for (int i = 0; i < rows; i++) {
                double ref = 0, mag = 0;
                for (int c = 0; c < cols; c++) {
                    ref += (double)W[(size_t)i * ldw + c] * x[c];
                    mag += fabs((double)W[(size_t)i * ldw + c] * x[c]);
                }
                if (fabs(y[i] - ref) > 1e-5 * (mag + 1)) {
                    print_error("matvec %dx%d (ld %d) row %d: %g vs %g\n", rows, cols, ldw, i,
                                (double)y[i], ref);
                    fail();
                }
            }
            /* rows computed in any split give the same bits */
            for (int r0 = 0; r0 < rows; r0 += 5)
                ts_matvec(y2 + r0, W + (size_t)r0 * ldw, rows - r0 < 5 ? rows - r0 : 5, cols, ldw,
                          x);
            assert_memory_equal(y, y2, sizeof(float) * rows);
            /* the streaming variant: the same bits */
            ts_matvec_stream(y2, W, rows, cols, ldw, x);
            assert_memory_equal(y, y2, sizeof(float) * rows);
            /* ts_gemv: alpha and beta on top */
            for (int i = 0; i < rows; i++)
                y2[i] = (float)i;
            ts_gemv(y2, W, rows, cols, ldw, x, 0.5f, 2.0f);
            for (int i = 0; i < rows; i++)
                assert_float_equal(y2[i], 0.5f * y[i] + 2.0f * i, 1e-5);
            /* vecmat: y += aᵀ W (the value sum of attention) */
            float *acc = randn(&r, (size_t)cols, 1.0f), *a0 = malloc(sizeof(float) * cols);
            memcpy(a0, acc, sizeof(float) * cols);
            float *wts = randn(&r, (size_t)rows, 1.0f);
            ts_vecmat_acc(acc, wts, W, rows, cols, ldw);
            for (int c = 0; c < cols; c++) {
                double ref = a0[c], mag = fabs(a0[c]);
                for (int i = 0; i < rows; i++) {
                    ref += (double)wts[i] * W[(size_t)i * ldw + c];
                    mag += fabs((double)wts[i] * W[(size_t)i * ldw + c]);
                }
                if (fabs(acc[c] - ref) > 1e-5 * (mag + 1)) {
                    print_error("vecmat %dx%d col %d: %g vs %g\n", rows, cols, c, (double)acc[c],
                                ref);
                    fail();
                }
            }
            free(W), free(x), free(y), free(y2), free(acc), free(a0), free(wts);
        }
}

/* wide enough for the vector paths: D 72 (two 32-blocks, one 8-block), head
 * 12, dense hidden 150 (3 chunks of 64, the last partial), experts 70 wide */
static ts_model_config wide_config(void) {
    ts_model_config c = ts_model_config_default(50);
    c.d_model = 72, c.n_heads = 6, c.head_dim = 12, c.n_layers = 3, c.n_dense_layers = 1;
    c.ffn_hidden = 150, c.n_experts = 8, c.n_experts_used = 3, c.expert_hidden = 70;
    c.context = 40;
    return c;
}

static void test_session_matches_full_forward(void **state) {
    (void)state;
    ts_model_config cf = wide_config();
    ts_model *m;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    ts_rng r;
    ts_rng_seed(&r, 11);
    for (int i = 0; i < m->n_info; i++)
        if (m->info[i].decay)
            for (size_t j = 0; j < m->info[i].n; j++)
                m->params[m->info[i].off + j] = 0.15f * ts_rng_normal(&r);
    /* gates near the threshold: heads open and close from token to token */
    for (int l = 0; l < cf.n_layers; l++)
        for (int h = 0; h < cf.n_heads; h++)
            m->w.L[l].bgate[h] = 0.2f * h - 0.5f;
    enum { N = 30 };
    const int V = cf.vocab_size;
    int32_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = (i * 13 + 5) % V;
    float *full = malloc(sizeof(float) * N * V), *step = malloc(sizeof(float) * V);
    float *other = malloc(sizeof(float) * V);
    assert_int_equal(ts_model_logits(m, ids, N, full), TS_OK);
    ts_pool *pools[3] = {NULL, ts_pool_new(2), ts_pool_new(3)};
    for (int skip = 0; skip <= 1; skip++) {
        ts_session *s[3];
        for (int p = 0; p < 3; p++) {
            assert_int_equal(ts_session_new(m, 0, &s[p]), TS_OK);
            ts_session_set_pool(s[p], pools[p]);
            ts_session_set_dra_skip(s[p], skip);
        }
        double worst = 0, scale = 0;
        for (int i = 0; i < N; i++) {
            assert_int_equal(ts_session_feed(s[0], &ids[i], 1, step), TS_OK);
            for (int v = 0; v < V; v++) {
                worst = fmax(worst, fabs(step[v] - full[i * V + v]));
                scale = fmax(scale, fabs(full[i * V + v]));
            }
            for (int p = 1; p < 3; p++) {
                assert_int_equal(ts_session_feed(s[p], &ids[i], 1, other), TS_OK);
                assert_memory_equal(step, other, sizeof(float) * V);
            }
        }
        assert_true(scale > 0.1); /* the logits carry signal */
        assert_true(worst < 1e-4 * scale);
        int64_t done, skipped;
        ts_session_head_work(s[0], &done, &skipped);
        assert_int_equal(done + skipped, (int64_t)N * cf.n_layers * cf.n_heads);
        if (skip)
            assert_true(skipped > 0 && done > 0);
        else
            assert_int_equal(skipped, 0);
        for (int p = 0; p < 3; p++)
            ts_session_free(s[p]);
    }
    for (int p = 1; p < 3; p++)
        ts_pool_free(pools[p]);
    free(full), free(step), free(other);
    ts_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matvec_matches_naive),
        cmocka_unit_test(test_session_matches_full_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
