/* audio/: decoding (WAV 8/16/24/32-bit, float, RIFX, AIFF, FLAC, Ogg/Vorbis)
 * written here with libsndfile, down-mix, resampling, the Slaney filterbank
 * and the log-mel against golden values from tools/make_mel_golden.py
 * (numpy, float64), bad inputs. */
#include "tessera.h"
#include "tests/testutil.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/logmel.h"
#include "audio/resample.h"

/* Writes `frames` interleaved frames with libsndfile. */
static void write_sound(const char *path, int format, int rate, int ch, const float *x,
                        int frames) {
    SF_INFO si = {.samplerate = rate, .channels = ch, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf) fprintf(stderr, "sf_open(%s): %s\n", path, sf_strerror(NULL));
    assert_non_null(sf);
    assert_int_equal(sf_writef_float(sf, x, frames), frames);
    assert_int_equal(sf_close(sf), 0);
}

static float *sine(int n, int rate, double f, double amp) {
    float *x = malloc((size_t)n * sizeof(float));
    for (int i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2 * M_PI * f * i / rate));
    return x;
}

/* Amplitude of the component at f Hz over x[a, b) (a single DFT bin). */
static double tone_amp(const float *x, int a, int b, int rate, double f) {
    double re = 0, im = 0;
    for (int i = a; i < b; i++) {
        double ph = 2 * M_PI * f * i / rate;
        re += x[i] * cos(ph);
        im -= x[i] * sin(ph);
    }
    return 2 * sqrt(re * re + im * im) / (b - a);
}

static bool starts_with(const char *s, const char *prefix) {
    return !strncmp(s, prefix, strlen(prefix));
}

/* ---- filterbank and log-mel against golden values ---------------------- */

static void test_filterbank_matches_numpy(void **state) {
    float *ref;
    int64_t shape[2];
    int nd;
    assert_int_equal(ts_npy_read_f32("tests/golden/mel_filters.npy", &ref, shape, &nd, 2), TS_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(shape[0], TS_N_MELS);
    assert_int_equal(shape[1], TS_N_BINS);
    float fb[TS_N_MELS * TS_N_BINS];
    ts_mel_filterbank(fb);
    double worst = 0, peak = 0;
    for (int i = 0; i < TS_N_MELS * TS_N_BINS; i++) {
        worst = fmax(worst, fabs(fb[i] - ref[i]));
        peak = fmax(peak, fabs(ref[i]));
    }
    /* values are up to ~0.025; float32 rounding of the same double math */
    assert_true(peak > 0.01);
    assert_true(worst <= 1e-8 + 1e-6 * peak);
    /* the zeros are in the same places: a filter covers few bins */
    int nonzero = 0;
    for (int i = 0; i < TS_N_MELS * TS_N_BINS; i++) {
        assert_true((fb[i] == 0) == (ref[i] == 0));
        nonzero += fb[i] != 0;
    }
    assert_true(nonzero < 500);
    free(ref);
}

/* Tolerance against the float64 numpy reference, in the normalised units
 * ((log10 + 4) / 4): 1e-4. */
#define MEL_TOL 1e-4

static void check_golden(const char *name) {
    char wav[256], npy[256];
    snprintf(wav, sizeof wav, "tests/golden/mel_%s.wav", name);
    snprintf(npy, sizeof npy, "tests/golden/mel_%s.npy", name);
    float *pcm, *ref;
    size_t n;
    assert_int_equal(ts_audio_load_file(wav, &pcm, &n), TS_OK);
    int64_t shape[2];
    int nd;
    assert_int_equal(ts_npy_read_f32(npy, &ref, shape, &nd, 2), TS_OK);
    assert_int_equal(shape[0], TS_N_MELS);
    assert_int_equal(shape[1], (int64_t)(n / TS_HOP));
    float *first = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        for (int mode = 0; mode < 2; mode++) {
            float *mel;
            int T;
            ts_logmel_opts o = {mode ? TS_MEL_GEMM : TS_MEL_SPARSE, 0};
            assert_int_equal(ts_logmel_ex(pcm, n, threads, &o, &mel, &T), TS_OK);
            assert_int_equal(T, (int)(n / TS_HOP));
            double worst = 0;
            for (int i = 0; i < TS_N_MELS * T; i++)
                worst = fmax(worst, fabs(mel[i] - ref[i]));
            if (worst > MEL_TOL)
                fprintf(stderr, "%s: threads %d mode %d: max diff %g\n", name, threads, mode,
                        worst);
            assert_true(worst <= MEL_TOL);
            if (mode == 0) {
                if (!first)
                    first = mel;
                else { /* any thread count: the same bytes */
                    assert_memory_equal(first, mel, sizeof(float) * TS_N_MELS * (size_t)T);
                    free(mel);
                }
            } else {
                free(mel);
            }
        }
    }
    /* the public entry point is the sparse path */
    float *mel;
    int T;
    assert_int_equal(ts_logmel(pcm, n, 2, &mel, &T), TS_OK);
    assert_memory_equal(first, mel, sizeof(float) * TS_N_MELS * (size_t)T);
    free(mel);
    free(first);
    free(pcm);
    free(ref);
}

static void test_logmel_golden_chirp_noise(void **state) { check_golden("chirp_noise"); }
static void test_logmel_golden_tones_odd_length(void **state) { check_golden("tones_odd"); }
static void test_logmel_golden_tiny_repeated_reflection(void **state) { check_golden("tiny"); }

static void test_logmel_golden_silence_is_floor(void **state) {
    check_golden("silence");
    float z[1600] = {0}, *mel;
    int T;
    assert_int_equal(ts_logmel(z, 1600, 1, &mel, &T), TS_OK);
    assert_int_equal(T, 10);
    for (int i = 0; i < TS_N_MELS * T; i++)
        assert_true(mel[i] == -1.5f); /* (log10(1e-10) + 4) / 4 */
    free(mel);
}

static void test_logmel_shape_and_limits(void **state) {
    float *x = sine(16000 * 3 + 77, 16000, 440, 0.5), *mel = NULL;
    int T = -1;
    assert_int_equal(ts_logmel(x, 159, 1, &mel, &T), TS_ERR_INPUT);
    assert_null(mel);
    assert_non_null(strstr(ts_last_error(), "too short"));
    x[7] = NAN;
    assert_int_equal(ts_logmel(x, 1000, 1, &mel, &T), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "non-finite"));
    x[7] = INFINITY;
    assert_int_equal(ts_logmel(x, 1000, 1, &mel, &T), TS_ERR_INPUT);
    x[7] = 0;
    assert_int_equal(ts_logmel(x, 160, 1, &mel, &T), TS_OK);
    assert_int_equal(T, 1);
    free(mel);
    assert_int_equal(ts_logmel(x, 16000 * 3 + 77, 4, &mel, &T), TS_OK);
    assert_int_equal(T, 300);
    /* a 440 Hz tone (exactly rfft bin 11): the loudest band is the one whose
     * filter weighs bin 11 most (band 11, peaking at 447 Hz), in every
     * interior frame; the range is exactly the 2-unit clamp */
    float fb[TS_N_MELS * TS_N_BINS];
    ts_mel_filterbank(fb);
    int want = 0;
    for (int b = 1; b < TS_N_MELS; b++)
        if (fb[b * TS_N_BINS + 11] > fb[want * TS_N_BINS + 11]) want = b;
    assert_int_equal(want, 11);
    float mx = -10, mn = 10;
    for (int i = 0; i < TS_N_MELS * T; i++)
        mx = fmaxf(mx, mel[i]), mn = fminf(mn, mel[i]);
    assert_true(fabsf(mx - mn - 2.0f) < 1e-5f);
    for (int t = 2; t < T - 2; t++) {
        int best = 0;
        for (int b = 1; b < TS_N_MELS; b++)
            if (mel[b * T + t] > mel[best * T + t]) best = b;
        assert_int_equal(best, want);
    }
    free(mel);
    free(x);
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct {
    const char *file;
    int format;
    const char *container, *codec;
    int bits;
    double tol; /* max |decoded - written| */
} fmt_case;

static void test_formats_round_trip_at_16k(void **state) {
    static const fmt_case cases[] = {
        {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, "wav", "pcm_u8", 8, 1.0 / 64},
        {"s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, "wav", "pcm_s16", 16, 1e-4},
        {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, "wav", "pcm_s24", 24, 1e-6},
        {"s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, "wav", "pcm_s32", 32, 1e-6},
        {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, "wav", "pcm_f32", 32, 0},
        {"f64.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, "wav", "pcm_f64", 64, 1e-7},
        {"be.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16 | SF_ENDIAN_BIG, "wav", "pcm_s16", 16, 1e-4},
        {"s16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, "aiff", "pcm_s16", 16, 1e-4},
        {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "flac", "flac", 16, 1e-4},
        {"s24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, "flac", "flac", 24, 1e-6},
    };
    char *dir = tu_mkdtemp();
    const int n = 4000;
    float *x = sine(n, 16000, 440, 0.5);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const fmt_case *k = &cases[c];
        const char *path = tu_path(dir, k->file);
        write_sound(path, k->format, 16000, 1, x, n);
        ts_audio_info info;
        assert_int_equal(ts_audio_probe_file(path, &info), TS_OK);
        assert_string_equal(info.container, k->container);
        assert_string_equal(info.codec, k->codec);
        assert_int_equal(info.bits, k->bits);
        assert_int_equal(info.sample_rate, 16000);
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.frames, n);
        assert_true(fabs(info.seconds - 0.25) < 1e-9);
        float *y;
        size_t m;
        assert_int_equal(ts_audio_load_file(path, &y, &m), TS_OK);
        assert_int_equal(m, (size_t)n);
        double worst = 0;
        for (int i = 0; i < n; i++)
            worst = fmax(worst, fabs(y[i] - x[i]));
        if (worst > k->tol) fprintf(stderr, "%s: max diff %g\n", k->file, worst);
        assert_true(worst <= k->tol);
        free(y);
    }
    free(x);
    tu_rmdir(dir);
}

static void test_vorbis_decodes_the_tone(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "tone.ogg");
    float *x = sine(16000, 16000, 1000, 0.5);
    write_sound(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, x, 16000);
    ts_audio_info info;
    assert_int_equal(ts_audio_probe_file(path, &info), TS_OK);
    assert_string_equal(info.container, "ogg");
    assert_string_equal(info.codec, "vorbis");
    assert_int_equal(info.bits, 0);
    assert_int_equal(info.frames, 16000);
    float *y;
    size_t m;
    assert_int_equal(ts_audio_load_file(path, &y, &m), TS_OK);
    assert_int_equal(m, 16000);
    double a = tone_amp(y, 2000, 14000, 16000, 1000), off = tone_amp(y, 2000, 14000, 16000, 3000);
    assert_true(fabs(a - 0.5) < 0.02);
    assert_true(off < 0.005);
    free(y);
    free(x);
    tu_rmdir(dir);
}

/* 44.1 kHz stereo: L = 0.6 sin(1 kHz), R = 0.2 sin(3 kHz), both + 0.2
 * sin(10 kHz). Mono is the mean; resampled to 16 kHz the 10 kHz part
 * (above 8 kHz) must be gone, not aliased to 6 kHz. */
static void test_stereo_44k1_downmix_and_resample(void **state) {
    char *dir = tu_mkdtemp();
    const int rate = 44100, n = 44100;
    float *st = malloc(sizeof(float) * 2 * n);
    for (int i = 0; i < n; i++) {
        double t = (double)i / rate, hi = 0.2 * sin(2 * M_PI * 10000 * t);
        st[2 * i] = (float)(0.6 * sin(2 * M_PI * 1000 * t) + hi);
        st[2 * i + 1] = (float)(0.2 * sin(2 * M_PI * 3000 * t) + hi);
    }
    const char *names[2] = {"st.wav", "st.flac"};
    const int fmts[2] = {SF_FORMAT_WAV | SF_FORMAT_FLOAT, SF_FORMAT_FLAC | SF_FORMAT_PCM_24};
    for (int k = 0; k < 2; k++) {
        const char *path = tu_path(dir, names[k]);
        write_sound(path, fmts[k], rate, 2, st, n);
        ts_audio_info info;
        assert_int_equal(ts_audio_probe_file(path, &info), TS_OK);
        assert_int_equal(info.sample_rate, 44100);
        assert_int_equal(info.channels, 2);
        assert_int_equal(info.frames, n);
        float *y;
        size_t m;
        assert_int_equal(ts_audio_load_file(path, &y, &m), TS_OK);
        assert_int_equal(m, 16000); /* 1 s at 16 kHz */
        double a1 = tone_amp(y, 2000, 14000, 16000, 1000),
               a3 = tone_amp(y, 2000, 14000, 16000, 3000);
        double alias = tone_amp(y, 2000, 14000, 16000, 6000);
        assert_true(fabs(a1 - 0.3) < 1e-3);
        assert_true(fabs(a3 - 0.1) < 1e-3);
        assert_true(alias < 1e-4);
        /* and the phase is kept: soxr's linear-phase filter is delay-compensated */
        double err = 0;
        for (int i = 2000; i < 14000; i++) {
            double t = i / 16000.0;
            double want = 0.3 * sin(2 * M_PI * 1000 * t) + 0.1 * sin(2 * M_PI * 3000 * t);
            err = fmax(err, fabs(y[i] - want));
        }
        assert_true(err < 1e-3);
        free(y);
    }
    free(st);
    tu_rmdir(dir);
}

static void test_resample_lengths(void **state) {
    const int rates[] = {8000, 11025, 22050, 44100, 48000, 96000, 16000};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        int rate = rates[r];
        float *x = sine(rate * 2, rate, 500, 0.5), *y;
        size_t m;
        assert_int_equal(ts_resample_to_16k(x, (size_t)rate * 2, rate, &y, &m), TS_OK);
        assert_int_equal(m, 32000);
        assert_true(fabs(tone_amp(y, 4000, 28000, 16000, 500) - 0.5) < 1e-3);
        free(y);
        /* odd lengths: what `tessera info` predicts is what comes out */
        for (int extra = 1; extra < 400; extra += 37) {
            size_t nin = (size_t)rate + (size_t)extra;
            assert_int_equal(ts_resample_to_16k(x, nin, rate, &y, &m), TS_OK);
            assert_int_equal((int64_t)m, ts_audio_samples_16k((int64_t)nin, rate));
            free(y);
        }
        free(x);
    }
    assert_int_equal(ts_audio_samples_16k(-1, 8000), -1);
    assert_int_equal(ts_audio_samples_16k(4301, 8000), 8602);
    assert_int_equal(ts_audio_samples_16k(44100, 44100), 16000);
    float x[4] = {0}, *y = NULL;
    size_t m;
    assert_int_equal(ts_resample_to_16k(x, 4, 0, &y, &m), TS_ERR_INPUT);
    assert_null(y);
    assert_int_equal(ts_resample_to_16k(x, 4, 1 << 30, &y, &m), TS_ERR_INPUT);
}

static void test_sniff(void **state) {
    assert_true(ts_audio_sniff((const uint8_t *)"RIFF\0\0\0\0WAVEfmt ", 16));
    assert_true(ts_audio_sniff((const uint8_t *)"RIFX\0\0\0\0WAVE", 12));
    assert_true(ts_audio_sniff((const uint8_t *)"RF64\0\0\0\0WAVE", 12));
    assert_true(ts_audio_sniff((const uint8_t *)"fLaC", 4));
    assert_true(ts_audio_sniff((const uint8_t *)"OggS", 4));
    assert_true(ts_audio_sniff((const uint8_t *)"FORM\0\0\0\0AIFF", 12));
    assert_false(ts_audio_sniff((const uint8_t *)"RIFF\0\0\0\0AVI ", 12));
    assert_false(ts_audio_sniff((const uint8_t *)"\x89PNG\r\n\x1a\n", 8));
    assert_false(ts_audio_sniff((const uint8_t *)"fLa", 3));
    assert_false(ts_audio_sniff(NULL, 0));
}

/* ---- bad inputs ------------------------------------------------------------ */

/* A canonical 16-bit PCM WAV: 44-byte header + frames * ch * 2 bytes. */
static uint8_t *make_wav(int ch, uint32_t rate, int frames, size_t *len) {
    uint32_t data = (uint32_t)(frames * ch * 2);
    *len = 44 + data;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "RIFF", 4);
    uint32_t riff = 36 + data;
    memcpy(b + 4, &riff, 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    uint32_t v32 = 16;
    memcpy(b + 16, &v32, 4);
    uint16_t v16 = 1;
    memcpy(b + 20, &v16, 2);
    v16 = (uint16_t)ch;
    memcpy(b + 22, &v16, 2);
    memcpy(b + 24, &rate, 4);
    v32 = rate * (uint32_t)ch * 2;
    memcpy(b + 28, &v32, 4);
    v16 = (uint16_t)(ch * 2);
    memcpy(b + 32, &v16, 2);
    v16 = 16;
    memcpy(b + 34, &v16, 2);
    memcpy(b + 36, "data", 4);
    memcpy(b + 40, &data, 4);
    for (int i = 0; i < frames * ch; i++) {
        int16_t s = (int16_t)(8000 * sin(i * 0.1));
        memcpy(b + 44 + 2 * i, &s, 2);
    }
    return b;
}

/* Both the file and the memory entry points refuse it with TS_ERR_INPUT, a
 * message that starts with the name and contains `what`. */
static void expect_bad(const char *dir, const char *name, const void *data, size_t len,
                       const char *what) {
    const char *path = tu_path(dir, name);
    tu_write_file(path, data, len);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    ts_audio_info info;
    ts_status s = ts_audio_probe_file(path, &info);
    if (s == TS_OK) { /* some damage only shows when decoding */
        float *y = (float *)1;
        size_t n = 7;
        s = ts_audio_load_file(path, &y, &n);
        assert_null(y);
        assert_int_equal(n, 0);
    }
    if (s != TS_ERR_INPUT || !starts_with(ts_last_error(), prefix) ||
        !strstr(ts_last_error(), what))
        fprintf(stderr, "%s: status %d, message '%s', expected '%s'\n", name, s, ts_last_error(),
                what);
    assert_int_equal(s, TS_ERR_INPUT);
    assert_true(starts_with(ts_last_error(), prefix));
    assert_non_null(strstr(ts_last_error(), what));
    assert_null(strchr(ts_last_error(), '\n'));
    float *y = NULL;
    size_t n;
    assert_int_equal(ts_audio_load_mem(data, len, "buf", &y, &n), TS_ERR_INPUT);
    assert_true(starts_with(ts_last_error(), "buf: "));
    assert_null(y);
}

static void patch32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void patch16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }

static void test_bad_wav_inputs(void **state) {
    char *dir = tu_mkdtemp();
    size_t len;
    uint8_t *good = make_wav(1, 16000, 1600, &len);
    uint8_t *b = malloc(len);

    expect_bad(dir, "empty.wav", "", 0, "empty");
    expect_bad(dir, "text.wav", "hello, I am not a WAV file\n", 27, "not an audio file");
    expect_bad(dir, "magic.wav", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d", 14,
               "not an audio file");
    expect_bad(dir, "half.wav", good, len / 2, "truncated");
    expect_bad(dir, "header_only.wav", good, 44, "truncated");
    expect_bad(dir, "twelve.wav", good, 12, "fmt");
    memcpy(b, good, len), patch32(b, 24, 0);
    expect_bad(dir, "rate0.wav", b, len, "sample rate of 0 Hz");
    memcpy(b, good, len), patch32(b, 24, 0x80000000u);
    expect_bad(dir, "rate2g.wav", b, len, "sample rate of 2147483648 Hz");
    memcpy(b, good, len), patch32(b, 24, 0xffffffffu);
    expect_bad(dir, "rate4g.wav", b, len, "sample rate");
    memcpy(b, good, len), patch16(b, 22, 0);
    expect_bad(dir, "ch0.wav", b, len, "0 channels");
    memcpy(b, good, len), patch16(b, 22, 65535);
    expect_bad(dir, "ch65535.wav", b, len, "65535 channels");
    memcpy(b, good, len), patch16(b, 34, 0), patch16(b, 20, 1); /* 0 bits per sample */
    expect_bad(dir, "bits0.wav", b, len, "WAV");
    memcpy(b, good, len), patch16(b, 20, 0x1234); /* unknown codec tag */
    expect_bad(dir, "codec.wav", b, len, "WAV");

    /* a directory, and a missing file */
    ts_audio_info info;
    assert_int_equal(ts_audio_probe_file(dir, &info), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "directory"));
    float *y = NULL;
    size_t n;
    assert_int_equal(ts_audio_load_file(dir, &y, &n), TS_ERR_INPUT);
    assert_true(starts_with(ts_last_error(), dir));
    assert_int_equal(ts_audio_load_file(tu_path(dir, "missing.wav"), &y, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing.wav"));
    assert_null(y);
    free(b);
    free(good);
    tu_rmdir(dir);
}

static void test_bad_flac_and_float_inputs(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "good.flac");
    float *x = sine(16000, 16000, 300, 0.5);
    write_sound(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, x, 16000);
    size_t len;
    uint8_t *good = (uint8_t *)tu_read_file(path, &len);
    uint8_t *b = malloc(len);
    /* STREAMINFO at 8: rate is bytes 18..20 (20 bits), total samples 21..25 */
    expect_bad(dir, "half.flac", good, len / 2, "truncated");
    expect_bad(dir, "hdr.flac", good, 20, "truncated");
    memcpy(b, good, len), b[18] = 0, b[19] = 0, b[20] &= 0x0f;
    expect_bad(dir, "rate0.flac", b, len, "sample rate of 0 Hz");
    memcpy(b, good, len), b[21] |= 0x0f, memset(b + 22, 0xff, 4); /* 2^36 - 1 samples */
    expect_bad(dir, "long.flac", b, len, "over the limit");
    memcpy(b, good, len), memset(b + 40, 0x55, len - 40);
    expect_bad(dir, "garbage.flac", b, len, "FLAC");

    /* a float WAV holding a NaN */
    x[100] = NAN;
    const char *nanpath = tu_path(dir, "nan.wav");
    write_sound(nanpath, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 16000);
    float *y = NULL;
    size_t n;
    assert_int_equal(ts_audio_load_file(nanpath, &y, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "non-finite"));
    assert_null(y);
    /* a huge but finite sample (found by fuzz_audio): would turn the
     * resampler's output into NaN */
    x[100] = 2.5e38f;
    const char *hugepath = tu_path(dir, "huge.wav");
    write_sound(hugepath, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 15872, 1, x, 16000);
    assert_int_equal(ts_audio_load_file(hugepath, &y, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "non-finite"));
    assert_null(y);
    x[100] = 1.5f; /* mild clipping is fine */
    write_sound(hugepath, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 16000);
    assert_int_equal(ts_audio_load_file(hugepath, &y, &n), TS_OK);
    for (size_t i = 0; i < n; i++) assert_true(isfinite(y[i]));
    free(y);
    y = NULL;

    /* an Ogg page that is not Vorbis */
    size_t olen;
    const char *ogg = tu_path(dir, "t.ogg");
    x[100] = 0;
    write_sound(ogg, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 16000, 1, x, 16000);
    uint8_t *og = (uint8_t *)tu_read_file(ogg, &olen);
    expect_bad(dir, "cut.ogg", og, 40, "Ogg");
    uint8_t *ob = malloc(olen);
    memcpy(ob, og, olen);
    size_t id = 27 + og[26]; /* the identification packet */
    ob[id + 11] = 0;         /* 0 channels */
    expect_bad(dir, "ch0.ogg", ob, olen, "0 channels");
    free(ob);
    free(og);
    free(b);
    free(good);
    free(x);
    tu_rmdir(dir);
}

static void test_short_files_load_but_are_too_short_for_mel(void **state) {
    size_t len;
    uint8_t *w = make_wav(2, 8000, 10, &len); /* 10 frames at 8 kHz */
    float *y;
    size_t n;
    assert_int_equal(ts_audio_load_mem(w, len, "short.wav", &y, &n), TS_OK);
    assert_int_equal(n, 20);
    float *mel;
    int T;
    assert_int_equal(ts_logmel(y, n, 1, &mel, &T), TS_ERR_INPUT);
    free(y);
    free(w);
    w = make_wav(1, 16000, 0, &len); /* a valid file with no samples */
    ts_audio_info info;
    assert_int_equal(ts_audio_probe_mem(w, len, "zero.wav", &info), TS_OK);
    assert_int_equal(info.frames, 0);
    assert_int_equal(ts_audio_load_mem(w, len, "zero.wav", &y, &n), TS_OK);
    assert_int_equal(n, 0);
    free(y);
    free(w);
}

/* ---- the picture ---------------------------------------------------------- */

static void test_png_low_bands_at_the_bottom(void **state) {
    char *dir = tu_mkdtemp();
    float *x = sine(16000, 16000, 150, 0.5), *mel;
    int T;
    assert_int_equal(ts_logmel(x, 16000, 1, &mel, &T), TS_OK);
    const char *png = tu_path(dir, "m.png");
    assert_int_equal(ts_logmel_write_png(png, mel, T), TS_OK);
    ts_image img;
    assert_int_equal(ts_image_decode_file(png, 0, &img), TS_OK);
    assert_int_equal(img.width, T);
    assert_int_equal(img.height, TS_N_MELS);
    /* viridis: bright = high green; the 150 Hz tone lights the bottom rows */
    int mid = T / 2;
    const uint8_t *bottom = img.rgb + ((size_t)(TS_N_MELS - 3) * T + mid) * 3;
    const uint8_t *top = img.rgb + ((size_t)2 * T + mid) * 3;
    assert_true(bottom[1] > 150);
    assert_true(top[1] < 100);
    ts_image_free(&img);
    free(mel);
    free(x);
    tu_rmdir(dir);
}

/* A clip quieter than the floor is scaled so its peak is the floor; the
 * waveform's shape is kept; louder clips, silence and a floor of 0 are
 * left alone. */
static void test_level_floor(void **state) {
    (void)state;
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = 0.03f * sinf(0.05f * (float)i) - 0.01f * cosf(0.31f * (float)i);
    float peak = 0;
    for (int i = 0; i < N; i++)
        peak = fmaxf(peak, fabsf(x[i]));
    memcpy(y, x, sizeof x);
    float g = ts_audio_level_floor(y, N, TS_LEVEL_FLOOR);
    assert_float_equal(g, TS_LEVEL_FLOOR / peak, 1e-6);
    float got = 0;
    for (int i = 0; i < N; i++) {
        assert_float_equal(y[i], x[i] * g, 1e-7);
        got = fmaxf(got, fabsf(y[i]));
    }
    assert_float_equal(got, TS_LEVEL_FLOOR, 1e-6);
    /* at or above the floor, silent, or no floor: untouched */
    for (int i = 0; i < N; i++)
        y[i] = x[i] * (0.5f / peak);
    memcpy(x, y, sizeof y);
    assert_float_equal(ts_audio_level_floor(y, N, TS_LEVEL_FLOOR), 1.0f, 0);
    assert_memory_equal(x, y, sizeof y);
    assert_float_equal(ts_audio_level_floor(y, N, 0), 1.0f, 0);
    assert_memory_equal(x, y, sizeof y);
    memset(y, 0, sizeof y);
    assert_float_equal(ts_audio_level_floor(y, N, TS_LEVEL_FLOOR), 1.0f, 0);
    for (int i = 0; i < N; i++)
        assert_true(y[i] == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filterbank_matches_numpy),
        cmocka_unit_test(test_logmel_golden_chirp_noise),
        cmocka_unit_test(test_logmel_golden_tones_odd_length),
        cmocka_unit_test(test_logmel_golden_tiny_repeated_reflection),
        cmocka_unit_test(test_logmel_golden_silence_is_floor),
        cmocka_unit_test(test_logmel_shape_and_limits),
        cmocka_unit_test(test_formats_round_trip_at_16k),
        cmocka_unit_test(test_vorbis_decodes_the_tone),
        cmocka_unit_test(test_stereo_44k1_downmix_and_resample),
        cmocka_unit_test(test_resample_lengths),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_bad_wav_inputs),
        cmocka_unit_test(test_bad_flac_and_float_inputs),
        cmocka_unit_test(test_short_files_load_but_are_too_short_for_mel),
        cmocka_unit_test(test_png_low_bands_at_the_bottom),
        cmocka_unit_test(test_level_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
