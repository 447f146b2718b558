/* fusion/augment.c: image mirror and shift with edge or background fill,
 * and clip speed (length and pitch by the factor), gain, shift and noise at
 * a given SNR, each measured on known signals; fusion/views.c's test-time
 * views of images and log-mels. */
#include "fusion/augment.h"
#include "fusion/views.h"
#include "tessera/audio.h"
#include "tessera/pipeline.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S 4

/* in(c, y, x) = 100 c + 10 y + x */
static void ramp_image(float *img) {
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                img[(c * S + y) * S + x] = (float)(100 * c + 10 * y + x);
}

static float px(const float *img, int c, int y, int x) { return img[(c * S + y) * S + x]; }

static void test_image_flip_shift(void **state) {
    (void)state;
    float in[3 * S * S], out[3 * S * S];
    ramp_image(in);
    /* mirrored, moved 1 right and 1 up, edges repeated:
     * out(y, x) = in(clamp(y + 1), clamp(S - 1 - (x - 1))) */
    aug_image_transform(in, S, true, 1, -1, true, 0, out);
    assert_float_equal(px(out, 0, 0, 0), 13, 0); /* column 4 -> edge 3 */
    assert_float_equal(px(out, 0, 0, 1), 13, 0);
    assert_float_equal(px(out, 0, 0, 2), 12, 0);
    assert_float_equal(px(out, 0, 0, 3), 11, 0);
    assert_float_equal(px(out, 2, 3, 3), 231, 0); /* row 4 -> edge 3 */
    assert_float_equal(px(out, 1, 1, 3), 121, 0);
    /* moved 2 right, no mirror, background fill */
    aug_image_transform(in, S, false, 2, 0, false, -1, out);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++) {
            assert_float_equal(px(out, c, y, 0), -1, 0);
            assert_float_equal(px(out, c, y, 1), -1, 0);
            assert_float_equal(px(out, c, y, 2), px(in, c, y, 0), 0);
            assert_float_equal(px(out, c, y, 3), px(in, c, y, 1), 0);
        }
    /* no move, no mirror: the same image */
    aug_image_transform(in, S, false, 0, 0, true, 0, out);
    assert_memory_equal(in, out, sizeof in);
}

static void test_image_random_digit(void **state) {
    (void)state;
    /* one lit pixel on black: after any draw it is still the one lit pixel,
     * at most 2 away, never mirrored (MNIST) */
    enum { N = 16 };
    float img[3 * N * N];
    for (int seed = 0; seed < 50; seed++) {
        for (int i = 0; i < 3 * N * N; i++)
            img[i] = -1;
        for (int c = 0; c < 3; c++)
            img[(c * N + 5) * N + 3] = 1;
        ts_rng r;
        ts_rng_seed(&r, aug_seed(1, 1, seed, 1));
        assert_int_equal(aug_image_random(&r, img, N, false, false, -1), TS_OK);
        int lit = 0, ly = -1, lx = -1;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
                if (img[y * N + x] > 0) lit++, ly = y, lx = x;
        assert_int_equal(lit, 1);
        assert_true(abs(ly - 5) <= 2 && abs(lx - 3) <= 2);
    }
}

static int zero_crossings(const float *x, size_t n) {
    int z = 0;
    for (size_t i = 1; i < n; i++)
        z += (x[i - 1] < 0) != (x[i] < 0);
    return z;
}

static void test_speed(void **state) {
    (void)state;
    const size_t n = 16000;
    float *x = malloc(sizeof *x * n);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * sinf(2 * (float)M_PI * 500.5f * (float)i / TS_SAMPLE_RATE);
    const float factors[] = {0.88f, 1.12f, 1.05f};
    for (int k = 0; k < 3; k++) {
        float *y;
        size_t m;
        assert_int_equal(aug_speed(x, n, factors[k], &y, &m), TS_OK);
        double want_len = (double)n / factors[k];
        assert_true(fabs((double)m - want_len) < 0.01 * want_len);
        /* the tone's frequency (crossings per second, middle of the clip
         * away from the filter's edges) is times the factor */
        size_t a = m / 10, b = m - m / 10;
        double hz = zero_crossings(y + a, b - a) / 2.0 / ((double)(b - a) / TS_SAMPLE_RATE);
        assert_true(fabs(hz - 500.5 * factors[k]) < 0.01 * 500.5 * factors[k]);
        free(y);
    }
    free(x);
}

/* mean power of the middle 80 % (away from the filter's edges) */
static double mid_power(const float *x, size_t n) {
    double p = 0;
    for (size_t i = n / 10; i < n - n / 10; i++)
        p += (double)x[i] * x[i];
    return p / (double)(n - n / 10 - n / 10);
}

static void test_narrowband(void **state) {
    (void)state;
    const size_t n = 16000;
    float *x = malloc(sizeof *x * n);
    const float hz[] = {1000, 3000, 6000};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * sinf(2 * (float)M_PI * hz[k] * (float)i / TS_SAMPLE_RATE);
        float *y;
        size_t m;
        assert_int_equal(aug_narrowband(x, n, &y, &m), TS_OK);
        assert_true(m >= n - 2 && m <= n + 2);
        double ratio = mid_power(y, m) / mid_power(x, n);
        if (hz[k] < 4000) /* the telephone band passes; above 4 kHz is gone */
            assert_true(fabs(ratio - 1) < 0.02);
        else
            assert_true(ratio < 1e-4);
        free(y);
    }
    /* aug_audio_random narrows about the share it is given of the copies:
     * of the 6 kHz tone they keep at most the noise under 4 kHz (<= 0.05 of
     * the power at +6 dB gain), where the others keep >= 0.25 of it (-6 dB) */
    const int copies = 60;
    for (int share = 0; share <= 33; share += 33) {
        int narrowed = 0;
        for (int copy = 1; copy <= copies; copy++) {
            ts_rng r;
            ts_rng_seed(&r, aug_seed(5, 3, 7, copy));
            float *y;
            size_t m;
            assert_int_equal(aug_audio_random(&r, NULL, share / 100.0f, x, n, &y, &m), TS_OK);
            narrowed += mid_power(y, m) / mid_power(x, n) < 0.22;
            free(y);
        }
        if (share)
            assert_in_range(narrowed, (int)(0.15 * copies), (int)(0.55 * copies));
        else
            assert_int_equal(narrowed, 0);
    }
    free(x);
}

static void test_gain_shift(void **state) {
    (void)state;
    float x[4] = {0.1f, -0.2f, 0.9f, -0.9f};
    aug_gain(x, 4, 6.0f);
    assert_float_equal(x[0], 0.1f * 1.99526f, 1e-4);
    assert_float_equal(x[1], -0.2f * 1.99526f, 1e-4);
    assert_float_equal(x[2], 1.0f, 0); /* clipped */
    assert_float_equal(x[3], -1.0f, 0);
    aug_gain(x, 2, -6.0f);
    assert_float_equal(x[0], 0.1f, 1e-5);
    float r[6] = {1, 2, 3, 4, 5, 6};
    aug_shift(r, 6, 2);
    const float later[6] = {0, 0, 1, 2, 3, 4};
    assert_memory_equal(r, later, sizeof r);
    aug_shift(r, 6, -3);
    const float earlier[6] = {2, 3, 4, 0, 0, 0};
    assert_memory_equal(r, earlier, sizeof r);
    aug_shift(r, 6, 9);
    const float none[6] = {0};
    assert_memory_equal(r, none, sizeof r);
}

static void test_noise_snr(void **state) {
    (void)state;
    const size_t n = 8000;
    float *x = malloc(sizeof *x * n), *y = malloc(sizeof *y * n), *nz = malloc(sizeof *nz * n);
    ts_rng r;
    ts_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) {
        x[i] = 0.3f * sinf(0.05f * (float)i);
        nz[i] = ts_rng_normal(&r);
    }
    const float snrs[] = {10, 20, 30};
    for (int k = 0; k < 3; k++) {
        memcpy(y, x, sizeof *x * n);
        aug_add_noise(y, n, nz, snrs[k]);
        double ps = 0, pn = 0;
        for (size_t i = 0; i < n; i++)
            ps += (double)x[i] * x[i], pn += (double)(y[i] - x[i]) * (y[i] - x[i]);
        assert_true(fabs(10 * log10(ps / pn) - snrs[k]) < 0.05);
    }
    /* silence gets no noise (no SNR to keep) */
    memset(y, 0, sizeof *y * n);
    aug_add_noise(y, n, nz, 10);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(y[i], 0, 0);
    free(x);
    free(y);
    free(nz);
}

static void test_audio_random(void **state) {
    (void)state;
    const size_t n = 12000;
    float *x = malloc(sizeof *x * n), *hum = malloc(sizeof *hum * 5000);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.4f * sinf(0.1f * (float)i);
    for (int i = 0; i < 5000; i++)
        hum[i] = 0.2f * sinf(0.01f * (float)i);
    size_t hum_len = 5000;
    aug_noise bank = {&hum, &hum_len, 1};
    for (int copy = 1; copy < 6; copy++) {
        float *a, *b;
        size_t na, nb;
        ts_rng r1, r2;
        ts_rng_seed(&r1, aug_seed(7, 3, 42, copy));
        ts_rng_seed(&r2, aug_seed(7, 3, 42, copy));
        assert_int_equal(aug_audio_random(&r1, copy % 2 ? &bank : NULL, 0.5f, x, n, &a, &na),
                         TS_OK);
        assert_int_equal(aug_audio_random(&r2, copy % 2 ? &bank : NULL, 0.5f, x, n, &b, &nb),
                         TS_OK);
        assert_int_equal(na, nb); /* the same seed: the same samples */
        assert_memory_equal(a, b, sizeof *a * na);
        assert_true(na >= (size_t)(n / 1.12 * 0.99) && na <= (size_t)(n / 0.88 * 1.01));
        for (size_t i = 0; i < na; i++)
            assert_true(a[i] >= -1 && a[i] <= 1);
        free(a);
        free(b);
    }
    assert_true(aug_seed(7, 3, 42, 1) != aug_seed(7, 3, 42, 2));
    assert_true(aug_seed(7, 3, 42, 1) != aug_seed(7, 3, 43, 1));
    assert_true(aug_seed(7, 3, 42, 1) != aug_seed(7, 4, 42, 1));
    free(x);
    free(hum);
}

static void test_views(void **state) {
    (void)state;
    enum { W = 8, M = 3, T = 12 };
    float in[3 * W * W], out[3 * W * W], other[3 * W * W];
    for (int i = 0; i < 3 * W * W; i++)
        in[i] = (float)i;
    /* view 0 is the image as read; view 1 moves it a pixel right and down,
     * edges repeated */
    view_image(in, W, 0, out);
    assert_memory_equal(in, out, sizeof in);
    view_image(in, W, 1, out);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                int sy = y < 1 ? 0 : y - 1, sx = x < 1 ? 0 : x - 1;
                assert_float_equal(out[(c * W + y) * W + x], in[(c * W + sy) * W + sx], 0);
            }
    /* every view differs from every other (all nine moves of at most a pixel) */
    for (int a = 0; a < TS_MAX_VIEWS; a++)
        for (int b = a + 1; b < TS_MAX_VIEWS; b++) {
            view_image(in, W, a, out);
            view_image(in, W, b, other);
            assert_memory_not_equal(out, other, sizeof out);
        }
    /* a clip's view 1 is delayed 2 frames in every band, its lowest value
     * (silence after whisper's clamp) coming in, the length kept */
    float mel[M * T], mo[M * T], mv[M * T];
    for (int b = 0; b < M; b++)
        for (int t = 0; t < T; t++)
            mel[b * T + t] = (float)(b * 100 + t) - 50;
    view_mel(mel, M, T, 0, mo);
    assert_memory_equal(mel, mo, sizeof mel);
    view_mel(mel, M, T, 1, mo);
    for (int b = 0; b < M; b++)
        for (int t = 0; t < T; t++)
            assert_float_equal(mo[b * T + t], t < 2 ? -50 : mel[b * T + t - 2], 0);
    for (int a = 0; a < TS_AUDIO_VIEWS; a++)
        for (int b = a + 1; b < TS_AUDIO_VIEWS; b++) {
            view_mel(mel, M, T, a, mo);
            view_mel(mel, M, T, b, mv);
            assert_memory_not_equal(mo, mv, sizeof mo);
        }
    /* a clip shorter than the delay is all silence: one frame (-50, -49,
     * -48 in the three bands) becomes -50 everywhere */
    view_mel(mel, M, 1, 7, mo);
    for (int b = 0; b < M; b++)
        assert_float_equal(mo[b], -50, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_flip_shift),
        cmocka_unit_test(test_image_random_digit),
        cmocka_unit_test(test_speed),
        cmocka_unit_test(test_gain_shift),
        cmocka_unit_test(test_noise_snr),
        cmocka_unit_test(test_audio_random),
        cmocka_unit_test(test_narrowband),
        cmocka_unit_test(test_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
