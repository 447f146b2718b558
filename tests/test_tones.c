/* fusion/tones.c: beeps counted back by a plain energy detector, sweeps
 * that rise or fall, pitch, determinism, and the questions' answers. */
#include "tessera.h"
#include "tessera/pipeline.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Onsets of 10 ms frames whose RMS crosses 0.05 from below. */
static int count_bursts(const float *pcm, int n) {
    int bursts = 0;
    bool on = false;
    for (int f = 0; f + 160 <= n; f += 160) {
        double e = 0;
        for (int i = 0; i < 160; i++)
            e += (double)pcm[f + i] * pcm[f + i];
        bool loud = sqrt(e / 160) > 0.05;
        if (loud && !on) bursts++;
        on = loud;
    }
    return bursts;
}

/* Zero crossings per second over [a, b). */
static double zcr(const float *pcm, int a, int b) {
    int z = 0;
    for (int i = a + 1; i < b; i++)
        z += (pcm[i - 1] < 0) != (pcm[i] < 0);
    return z * 16000.0 / (b - a);
}

static void test_beeps_counted_by_energy(void **state) {
    (void)state;
    float *pcm = malloc(sizeof *pcm * TS_TONE_SAMPLES);
    int seen[6] = {0}, beeps = 0;
    for (int i = 0; i < 400; i++) {
        ts_tone t;
        ts_tone_make(5, (uint64_t)i, &t);
        ts_tone_render(&t, 5, pcm);
        for (int k = 0; k < TS_TONE_SAMPLES; k++)
            assert_true(pcm[k] >= -1 && pcm[k] <= 1);
        if (t.kind != TS_TONE_BEEPS) continue;
        beeps++;
        assert_true(t.count >= 1 && t.count <= 5);
        seen[t.count]++;
        assert_int_equal(count_bursts(pcm, TS_TONE_SAMPLES), t.count);
        const char *q;
        char ans[64];
        assert_true(ts_tone_question(&t, 1, &q, ans, sizeof ans));
        assert_string_equal(q, "How many beeps are there?");
        assert_string_equal(ans, ts_number_word(t.count));
    }
    assert_true(beeps > 150 && beeps < 250);
    for (int c = 1; c <= 5; c++)
        assert_true(seen[c] > 15);
    free(pcm);
}

static void test_sweeps_and_pitch(void **state) {
    (void)state;
    float *pcm = malloc(sizeof *pcm * TS_TONE_SAMPLES);
    int checked[TS_N_TONE_KINDS] = {0};
    for (int i = 0; i < 200; i++) {
        ts_tone t;
        ts_tone_make(9, (uint64_t)i, &t);
        ts_tone_render(&t, 9, pcm);
        int a = t.start, m = t.start + t.beep_len / 2, b = t.start + t.beep_len;
        char desc[64];
        ts_tone_describe(&t, desc, sizeof desc);
        const char *q;
        char ans[64];
        if (t.kind == TS_TONE_RISING || t.kind == TS_TONE_FALLING) {
            double z1 = zcr(pcm, a, m), z2 = zcr(pcm, m, b);
            assert_true(t.kind == TS_TONE_RISING ? z2 > 1.5 * z1 : z1 > 1.5 * z2);
            assert_string_equal(desc, t.kind == TS_TONE_RISING ? "a rising tone" : "a falling tone");
            assert_true(ts_tone_question(&t, 2, &q, ans, sizeof ans));
            assert_string_equal(ans, t.kind == TS_TONE_RISING ? "rising" : "falling");
        } else if (t.kind == TS_TONE_STEADY) {
            double z = zcr(pcm, a, b);
            /* high tones are 1200-2000 Hz (2400+ crossings/s), low 300-500 */
            assert_true(t.high ? z > 2300 : z < 1100);
            assert_string_equal(desc, t.high ? "a steady high tone" : "a steady low tone");
        } else if (t.kind == TS_TONE_NOISE) {
            assert_string_equal(desc, "noise");
            assert_true(ts_tone_question(&t, 1, &q, ans, sizeof ans));
            assert_string_equal(ans, "zero");
            assert_false(ts_tone_question(&t, 2, &q, ans, sizeof ans));
        }
        checked[t.kind]++;
    }
    for (int k = 0; k < TS_N_TONE_KINDS; k++)
        assert_true(checked[k] > 10);
    free(pcm);
}

static void test_deterministic(void **state) {
    (void)state;
    float *a = malloc(sizeof *a * TS_TONE_SAMPLES), *b = malloc(sizeof *b * TS_TONE_SAMPLES);
    ts_tone t1, t2;
    ts_tone_make(1, 17, &t1);
    ts_tone_make(1, 17, &t2);
    assert_memory_equal(&t1, &t2, sizeof t1);
    ts_tone_render(&t1, 1, a);
    ts_tone_render(&t2, 1, b);
    assert_memory_equal(a, b, sizeof *a * TS_TONE_SAMPLES);
    ts_tone_make(2, 17, &t2);
    ts_tone_render(&t2, 2, b);
    assert_true(memcmp(a, b, sizeof *a * TS_TONE_SAMPLES) != 0);
    free(a);
    free(b);
}

static void test_descriptions(void **state) {
    (void)state;
    char buf[64];
    ts_tone t = {.kind = TS_TONE_BEEPS, .count = 3, .high = 1};
    ts_tone_describe(&t, buf, sizeof buf);
    assert_string_equal(buf, "three high beeps");
    t.count = 1, t.high = 0;
    ts_tone_describe(&t, buf, sizeof buf);
    assert_string_equal(buf, "one low beep");
    const char *q;
    assert_true(ts_tone_question(&t, 2, &q, buf, sizeof buf));
    assert_string_equal(q, "Is the pitch high or low?");
    assert_string_equal(buf, "low");
    assert_false(ts_tone_question(&t, 3, &q, buf, sizeof buf));
    assert_string_equal(ts_number_word(20), "twenty");
    assert_null(ts_number_word(21));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_beeps_counted_by_energy),
        cmocka_unit_test(test_sweeps_and_pitch),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_descriptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
