/* Generated audio at 16 kHz: 1-5 beeps (high or low), rising and falling
 * sweeps, steady tones and noise bursts, each with questions a listener
 * could answer. Everything is drawn from (seed, index), so a clip is the
 * same on every run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tessera/audio.h"
#include "tessera/pipeline.h"

#define SR ((float)TS_SAMPLE_RATE)
#define RAMP 80 /* 5 ms raised-cosine edges, so beeps do not click */

static const char *const numbers[] = {"zero",    "one",     "two",       "three",    "four",
                                      "five",    "six",     "seven",     "eight",    "nine",
                                      "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                      "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                                      "twenty"};
const char *ts_number_word(int n) { return n >= 0 && n <= 20 ? numbers[n] : NULL; }

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static float uniform(ts_rng *r, float lo, float hi) { return lo + (hi - lo) * ts_rng_uniform(r); }
static int between(ts_rng *r, int lo, int hi) { return lo + (int)ts_rng_below(r, (uint32_t)(hi - lo + 1)); }

void ts_tone_make(uint64_t seed, uint64_t index, ts_tone *t) {
    ts_rng r;
    ts_rng_seed(&r, mix64(seed ^ 0x746f6e6573ull) ^ mix64(index));
    memset(t, 0, sizeof *t);
    /* half the clips are beeps, the rest split between the other kinds */
    uint32_t k = ts_rng_below(&r, 8);
    t->kind = k < 4 ? TS_TONE_BEEPS : (int)(k - 3);
    t->amp = uniform(&r, 0.3f, 0.8f);
    t->high = (int)ts_rng_below(&r, 2);
    float fh = uniform(&r, 1200, 2000), fl = uniform(&r, 300, 500);
    switch (t->kind) {
    case TS_TONE_BEEPS: {
        t->count = between(&r, 1, 5);
        t->freq = t->high ? fh : fl;
        t->beep_len = between(&r, 1120, 1600); /* 70-100 ms */
        t->gap_len = between(&r, 1600, 2400);  /* 100-150 ms */
        int total = t->count * t->beep_len + (t->count - 1) * t->gap_len;
        t->start = between(&r, 160, TS_TONE_SAMPLES - total - 160);
        break;
    }
    case TS_TONE_RISING:
    case TS_TONE_FALLING:
        t->freq = t->kind == TS_TONE_RISING ? fl : fh;
        t->freq2 = t->kind == TS_TONE_RISING ? fh : fl;
        t->beep_len = between(&r, 9600, 16000);
        t->start = between(&r, 160, TS_TONE_SAMPLES - t->beep_len - 160);
        break;
    case TS_TONE_STEADY:
        t->freq = t->freq2 = t->high ? fh : fl;
        t->beep_len = between(&r, 8000, 16000);
        t->start = between(&r, 160, TS_TONE_SAMPLES - t->beep_len - 160);
        break;
    default:
        t->beep_len = between(&r, 8000, 19200);
        t->start = between(&r, 160, TS_TONE_SAMPLES - t->beep_len - 160);
        t->amp *= 0.5f;
        break;
    }
}

static float envelope(int i, int len) {
    if (i < RAMP) return 0.5f - 0.5f * cosf((float)M_PI * (float)i / RAMP);
    if (len - 1 - i < RAMP) return 0.5f - 0.5f * cosf((float)M_PI * (float)(len - 1 - i) / RAMP);
    return 1.0f;
}

void ts_tone_render(const ts_tone *t, uint64_t seed, float *pcm) {
    ts_rng r;
    ts_rng_seed(&r, mix64(seed ^ 0x6e6f697365ull) ^ mix64((uint64_t)t->start * 31 + (uint64_t)t->kind));
    /* a faint noise floor, well under any tone */
    for (int i = 0; i < TS_TONE_SAMPLES; i++)
        pcm[i] = 0.004f * (2 * ts_rng_uniform(&r) - 1);
    if (t->kind == TS_TONE_BEEPS) {
        for (int b = 0; b < t->count; b++) {
            int s0 = t->start + b * (t->beep_len + t->gap_len);
            for (int i = 0; i < t->beep_len && s0 + i < TS_TONE_SAMPLES; i++)
                pcm[s0 + i] += t->amp * envelope(i, t->beep_len) *
                               sinf(2 * (float)M_PI * t->freq * (float)i / SR);
        }
    } else if (t->kind == TS_TONE_NOISE) {
        for (int i = 0; i < t->beep_len; i++)
            pcm[t->start + i] += t->amp * envelope(i, t->beep_len) * (2 * ts_rng_uniform(&r) - 1);
    } else {
        /* a sweep linear in log frequency; the phase is the integral */
        double phase = 0, lr = log(t->freq2 / t->freq);
        for (int i = 0; i < t->beep_len; i++) {
            double f = t->freq * exp(lr * i / t->beep_len);
            phase += 2 * M_PI * f / SR;
            pcm[t->start + i] += t->amp * envelope(i, t->beep_len) * (float)sin(phase);
        }
    }
    for (int i = 0; i < TS_TONE_SAMPLES; i++)
        pcm[i] = pcm[i] > 1 ? 1 : pcm[i] < -1 ? -1 : pcm[i];
}

static int fit(int len, size_t cap) { return len < 0 ? 0 : cap && (size_t)len >= cap ? (int)cap - 1 : len; }

int ts_tone_describe(const ts_tone *t, char *buf, size_t cap) {
    const char *pitch = t->high ? "high" : "low";
    switch (t->kind) {
    case TS_TONE_BEEPS:
        return fit(t->count == 1 ? snprintf(buf, cap, "one %s beep", pitch)
                                 : snprintf(buf, cap, "%s %s beeps", numbers[t->count], pitch),
                   cap);
    case TS_TONE_RISING:
        return fit(snprintf(buf, cap, "a rising tone"), cap);
    case TS_TONE_FALLING:
        return fit(snprintf(buf, cap, "a falling tone"), cap);
    case TS_TONE_STEADY:
        return fit(snprintf(buf, cap, "a steady %s tone", pitch), cap);
    default:
        return fit(snprintf(buf, cap, "noise"), cap);
    }
}

bool ts_tone_question(const ts_tone *t, int q, const char **question, char *answer, size_t cap) {
    const char *pitch = t->high ? "high" : "low";
    if (q == 0) {
        *question = "What do you hear?";
        ts_tone_describe(t, answer, cap);
        return true;
    }
    if (q == 1) {
        *question = TS_BEEPS_PROMPT;
        snprintf(answer, cap, "%s", t->kind == TS_TONE_BEEPS ? numbers[t->count] : "zero");
        return true;
    }
    if (q == 2 && (t->kind == TS_TONE_BEEPS || t->kind == TS_TONE_STEADY)) {
        *question = "Is the pitch high or low?";
        snprintf(answer, cap, "%s", pitch);
        return true;
    }
    if (q == 2 && (t->kind == TS_TONE_RISING || t->kind == TS_TONE_FALLING)) {
        *question = "Is the tone rising or falling?";
        snprintf(answer, cap, "%s", t->kind == TS_TONE_RISING ? "rising" : "falling");
        return true;
    }
    return false;
}
