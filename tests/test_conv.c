/* nn/conv2d, nn/conv1d, nn/activation: forward against naive loops,
 * backward against central finite differences. */
#include "tessera.h"
#include "tests/testutil.h"
#include "tests/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "nn/conv1d.h"
#include "nn/conv2d.h"

static void fill(float *v, size_t n, ts_rng *r, float sd) {
    for (size_t i = 0; i < n; i++) v[i] = sd * ts_rng_normal(r);
}

/* Naive convolution over CNHW, straight from the definition. */
static void naive_conv(float *y, const float *x, const float *w, const float *b,
                       const ts_conv_shape *s, int N, int H, int W) {
    int Ho = ts_conv_out(H, s->kh, s->sh, s->ph), Wo = ts_conv_out(W, s->kw, s->sw, s->pw);
    for (int co = 0; co < s->cout; co++)
        for (int n = 0; n < N; n++)
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    double acc = b[co];
                    for (int ci = 0; ci < s->cin; ci++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int ih = oh * s->sh - s->ph + i, iw = ow * s->sw - s->pw + j;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                acc += (double)w[((co * s->cin + ci) * s->kh + i) * s->kw + j] *
                                       x[((size_t)(ci * N + n) * H + ih) * W + iw];
                            }
                    y[((size_t)(co * N + n) * Ho + oh) * Wo + ow] = (float)acc;
                }
}

/* Naive transposed convolution: every input pixel scatters its kernel. */
static void naive_convT(float *y, const float *x, const float *w, const float *b,
                        const ts_conv_shape *s, int N, int H, int W) {
    int Ho = ts_convT_out(H, s->kh, s->sh, s->ph), Wo = ts_convT_out(W, s->kw, s->sw, s->pw);
    for (int co = 0; co < s->cout; co++)
        for (size_t m = 0; m < (size_t)N * Ho * Wo; m++) y[(size_t)co * N * Ho * Wo + m] = b[co];
    for (int ci = 0; ci < s->cin; ci++)
        for (int n = 0; n < N; n++)
            for (int ih = 0; ih < H; ih++)
                for (int iw = 0; iw < W; iw++) {
                    float xv = x[((size_t)(ci * N + n) * H + ih) * W + iw];
                    for (int co = 0; co < s->cout; co++)
                        for (int i = 0; i < s->kh; i++)
                            for (int j = 0; j < s->kw; j++) {
                                int oh = ih * s->sh - s->ph + i, ow = iw * s->sw - s->pw + j;
                                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                                y[((size_t)(co * N + n) * Ho + oh) * Wo + ow] +=
                                    xv * w[((ci * s->cout + co) * s->kh + i) * s->kw + j];
                            }
                }
}

/* The loss for the gradient checks: sum(y * g) for a fixed random g. */
typedef struct {
    ts_conv_shape s;
    int N, H, W, T, transposed;
    float *x, *w, *b, *y, *g, *scratch;
} conv_case;

static double conv_loss(void *vctx) {
    conv_case *c = vctx;
    int Ho, Wo;
    if (c->transposed) {
        ts_convT2d_forward(c->y, c->x, c->w, c->b, &c->s, c->N, c->H, c->W, c->scratch);
        Ho = ts_convT_out(c->H, c->s.kh, c->s.sh, c->s.ph);
        Wo = ts_convT_out(c->W, c->s.kw, c->s.sw, c->s.pw);
    } else {
        ts_conv2d_forward(c->y, c->x, c->w, c->b, &c->s, c->N, c->H, c->W, c->scratch);
        Ho = ts_conv_out(c->H, c->s.kh, c->s.sh, c->s.ph);
        Wo = ts_conv_out(c->W, c->s.kw, c->s.sw, c->s.pw);
    }
    double l = 0;
    for (size_t i = 0; i < (size_t)c->s.cout * c->N * Ho * Wo; i++) l += (double)c->y[i] * c->g[i];
    return l;
}

static void check_conv(ts_conv_shape s, int N, int H, int W, int transposed) {
    ts_rng r;
    ts_rng_seed(&r, 1234 + s.kh * 7 + s.sh + transposed);
    int Ho = transposed ? ts_convT_out(H, s.kh, s.sh, s.ph) : ts_conv_out(H, s.kh, s.sh, s.ph);
    int Wo = transposed ? ts_convT_out(W, s.kw, s.sw, s.pw) : ts_conv_out(W, s.kw, s.sw, s.pw);
    size_t nx = (size_t)s.cin * N * H * W, ny = (size_t)s.cout * N * Ho * Wo;
    size_t nw = (size_t)s.cin * s.cout * s.kh * s.kw;
    size_t ns = transposed ? ts_convT2d_scratch(&s, N, H, W) : ts_conv2d_scratch(&s, N, H, W);
    conv_case c = {.s = s, .N = N, .H = H, .W = W, .transposed = transposed};
    c.x = malloc(nx * 4), c.w = malloc(nw * 4), c.b = malloc(s.cout * 4);
    c.y = malloc(ny * 4), c.g = malloc(ny * 4), c.scratch = malloc((ns + 1) * 4);
    float *ref = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4),
          *db = calloc(s.cout, 4);
    fill(c.x, nx, &r, 1.0f), fill(c.w, nw, &r, 0.5f), fill(c.b, s.cout, &r, 0.5f);
    fill(c.g, ny, &r, 1.0f);

    /* forward against the naive loops */
    conv_loss(&c);
    if (transposed)
        naive_convT(ref, c.x, c.w, c.b, &s, N, H, W);
    else
        naive_conv(ref, c.x, c.w, c.b, &s, N, H, W);
    for (size_t i = 0; i < ny; i++) assert_true(fabsf(c.y[i] - ref[i]) < 1e-4f * (1 + fabsf(ref[i])));

    /* backward: dL/dy = g; dw and db accumulate onto what is there */
    dw[0] = 5.0f, db[0] = -3.0f;
    if (transposed)
        ts_convT2d_backward(dx, dw, db, c.g, c.x, c.w, &s, N, H, W, c.scratch);
    else
        ts_conv2d_backward(dx, dw, db, c.g, c.x, c.w, &s, N, H, W, c.scratch);
    dw[0] -= 5.0f, db[0] += 3.0f;
    assert_true(tu_gradcheck(conv_loss, &c, c.x, dx, nx, 1e-2f, 200, 1e-3, "conv dx") < 1e-2);
    assert_true(tu_gradcheck(conv_loss, &c, c.w, dw, nw, 1e-2f, 200, 1e-3, "conv dw") < 1e-2);
    assert_true(tu_gradcheck(conv_loss, &c, c.b, db, s.cout, 1e-2f, 50, 1e-3, "conv db") < 1e-2);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.g), free(c.scratch);
    free(ref), free(dx), free(dw), free(db);
}

static void test_conv2d_strided(void **state) {
    check_conv((ts_conv_shape){3, 5, 4, 4, 2, 2, 1, 1}, 2, 8, 8, 0);
}
static void test_conv2d_3x3_same(void **state) {
    check_conv((ts_conv_shape){4, 3, 3, 3, 1, 1, 1, 1}, 3, 5, 6, 0);
}
static void test_conv2d_pointwise(void **state) {
    check_conv((ts_conv_shape){6, 4, 1, 1, 1, 1, 0, 0}, 2, 3, 4, 0);
}
static void test_convT2d_strided(void **state) {
    check_conv((ts_conv_shape){4, 3, 4, 4, 2, 2, 1, 1}, 2, 4, 3, 1);
}
static void test_convT2d_odd(void **state) {
    check_conv((ts_conv_shape){2, 3, 3, 2, 1, 2, 0, 1}, 2, 3, 4, 1);
}

/* conv1d is the H = 1 case: check it against conv2d with the same weights,
 * and its backward against finite differences. */
typedef struct {
    ts_conv1d_shape s;
    int N, T, transposed;
    float *x, *w, *b, *y, *g, *scratch;
} c1_case;

static double c1_loss(void *vctx) {
    c1_case *c = vctx;
    int To = c->transposed ? ts_convT1d_out(&c->s, c->T) : ts_conv1d_out(&c->s, c->T);
    if (c->transposed)
        ts_convT1d_forward(c->y, c->x, c->w, c->b, &c->s, c->N, c->T, c->scratch);
    else
        ts_conv1d_forward(c->y, c->x, c->w, c->b, &c->s, c->N, c->T, c->scratch);
    double l = 0;
    for (size_t i = 0; i < (size_t)c->s.cout * c->N * To; i++) l += (double)c->y[i] * c->g[i];
    return l;
}

static void check_c1(ts_conv1d_shape s, int N, int T, int transposed) {
    ts_rng r;
    ts_rng_seed(&r, 99 + transposed);
    int To = transposed ? ts_convT1d_out(&s, T) : ts_conv1d_out(&s, T);
    size_t nx = (size_t)s.cin * N * T, ny = (size_t)s.cout * N * To, nw = (size_t)s.cin * s.cout * s.k;
    size_t ns = transposed ? ts_convT1d_scratch(&s, N, T) : ts_conv1d_scratch(&s, N, T);
    c1_case c = {.s = s, .N = N, .T = T, .transposed = transposed};
    c.x = malloc(nx * 4), c.w = malloc(nw * 4), c.b = malloc(s.cout * 4);
    c.y = malloc(ny * 4), c.g = malloc(ny * 4), c.scratch = malloc((ns + 1) * 4);
    float *ref = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4), *db = calloc(s.cout, 4);
    fill(c.x, nx, &r, 1), fill(c.w, nw, &r, 0.5f), fill(c.b, s.cout, &r, 0.5f), fill(c.g, ny, &r, 1);
    c1_loss(&c);
    ts_conv_shape s2 = {s.cin, s.cout, 1, s.k, 1, s.stride, 0, s.pad};
    if (transposed)
        naive_convT(ref, c.x, c.w, c.b, &s2, N, 1, T);
    else
        naive_conv(ref, c.x, c.w, c.b, &s2, N, 1, T);
    for (size_t i = 0; i < ny; i++) assert_true(fabsf(c.y[i] - ref[i]) < 1e-4f * (1 + fabsf(ref[i])));
    if (transposed)
        ts_convT1d_backward(dx, dw, db, c.g, c.x, c.w, &s, N, T, c.scratch);
    else
        ts_conv1d_backward(dx, dw, db, c.g, c.x, c.w, &s, N, T, c.scratch);
    assert_true(tu_gradcheck(c1_loss, &c, c.x, dx, nx, 1e-2f, 200, 1e-3, "conv1d dx") < 1e-2);
    assert_true(tu_gradcheck(c1_loss, &c, c.w, dw, nw, 1e-2f, 200, 1e-3, "conv1d dw") < 1e-2);
    assert_true(tu_gradcheck(c1_loss, &c, c.b, db, s.cout, 1e-2f, 50, 1e-3, "conv1d db") < 1e-2);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.g), free(c.scratch);
    free(ref), free(dx), free(dw), free(db);
}

static void test_conv1d(void **state) {
    check_c1((ts_conv1d_shape){5, 4, 4, 2, 1}, 3, 12, 0);
    check_c1((ts_conv1d_shape){4, 6, 3, 1, 1}, 2, 7, 0);
}
static void test_convT1d(void **state) { check_c1((ts_conv1d_shape){4, 5, 4, 2, 1}, 2, 6, 1); }

typedef struct {
    float *x, *y, *g;
    size_t n;
} relu_case;
static double relu_loss(void *vctx) {
    relu_case *c = vctx;
    ts_relu_forward(c->y, c->x, c->n);
    double l = 0;
    for (size_t i = 0; i < c->n; i++) l += (double)c->y[i] * c->g[i];
    return l;
}

static void test_relu(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 5);
    enum { n = 64 };
    float x[n], y[n], g[n], dx[n];
    fill(x, n, &r, 1), fill(g, n, &r, 1);
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) < 0.05f) x[i] = 0.1f; /* away from the kink */
    relu_case c = {x, y, g, n};
    relu_loss(&c);
    for (int i = 0; i < n; i++) assert_true(y[i] == (x[i] > 0 ? x[i] : 0));
    ts_relu_backward(dx, g, x, n);
    assert_true(tu_gradcheck(relu_loss, &c, x, dx, n, 1e-3f, n, 1e-4, "relu") < 1e-3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d_strided),  cmocka_unit_test(test_conv2d_3x3_same),
        cmocka_unit_test(test_conv2d_pointwise), cmocka_unit_test(test_convT2d_strided),
        cmocka_unit_test(test_convT2d_odd),     cmocka_unit_test(test_conv1d),
        cmocka_unit_test(test_convT1d),         cmocka_unit_test(test_relu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
