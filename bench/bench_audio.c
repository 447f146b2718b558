/* Audio front-end speed. Prints medians; never asserts on time.
 *
 * (a) decode -> mono -> 16 kHz -> log-mel for a 60 s 44.1 kHz stereo FLAC
 *     (made here with libsndfile), 1 thread, as seconds of audio per second;
 * (b) the log-mel alone on 60 s at 16 kHz, 1 thread (and 2), with the
 *     variants behind the defaults: sparse filters vs sgemm, FFTW_ESTIMATE
 *     vs FFTW_MEASURE;
 * (c) the soxr quality recipes: time and error on a 44.1 kHz test signal.
 *
 * It writes the 16 kHz signal of (b) as DIR/bench_60s_16k.npy and the FLAC
 * as DIR/bench_60s_44k1.flac so that bench/run_audio.sh can time the peers
 * (numpy log-mel, sox) on exactly the same input, and prints
 * "RESULT key value" lines for that script.
 *
 *   build/bench/bench_audio [-d DIR] [-r REPS] */
#include <fftw3.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio/logmel.h"
#include "audio/resample.h"
#include "tessera.h"

/* CPU seconds of the calling thread: on a shared machine, what the work
 * itself costs when other processes take turns on the cores. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Speech-like test audio: a voiced source (harmonics of a wandering f0
 * with formant-ish weights), syllable-rate envelope, some noise. */
static void make_signal(float *x, size_t n, int rate, int ch, uint64_t seed) {
    ts_rng rng;
    ts_rng_seed(&rng, seed);
    double phase = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double f0 = 120 + 40 * sin(2 * M_PI * 0.7 * t) + 20 * sin(2 * M_PI * 3.1 * t);
        phase += 2 * M_PI * f0 / rate;
        double v = 0;
        for (int h = 1; h <= 20; h++) {
            double fh = h * f0, w = exp(-pow((fh - 700) / 400, 2)) +
                                    0.5 * exp(-pow((fh - 1800) / 600, 2)) + 0.05;
            if (fh < rate / 2.0) v += w * sin(h * phase) / h;
        }
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4 * t);
        for (int c = 0; c < ch; c++)
            x[i * (size_t)ch + (size_t)c] =
                (float)(0.25 * env * v + 0.01 * ts_rng_normal(&rng) * (c + 1));
    }
}

static double time_logmel(const float *x, size_t n, int threads, const ts_logmel_opts *o,
                          int reps) {
    double t[64];
    float *mel;
    int T;
    for (int r = 0; r < reps; r++) {
        double t0 = ts_now();
        if (ts_logmel_ex(x, n, threads, o, &mel, &T)) {
            fprintf(stderr, "log-mel failed: %s\n", ts_last_error());
            exit(1);
        }
        t[r] = ts_now() - t0;
        free(mel);
    }
    return median(t, reps);
}

int main(int argc, char **argv) {
    const char *dir = "/tmp";
    int reps = 9;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-d") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_audio [-d DIR] [-r REPS]\n");
            return 1;
        }
    }
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    const double secs = 60.0;
    char flac[512], npy[512];
    snprintf(flac, sizeof flac, "%s/bench_60s_44k1.flac", dir);
    snprintf(npy, sizeof npy, "%s/bench_60s_16k.npy", dir);

    /* ---- (a) the whole path from a FLAC in memory ---- */
    const int rate = 44100;
    size_t nf = (size_t)(secs * rate);
    float *st = malloc(sizeof(float) * 2 * nf);
    make_signal(st, nf, rate, 2, 1);
    SF_INFO si = {.samplerate = rate, .channels = 2, .format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(flac, SFM_WRITE, &si);
    if (!sf || sf_writef_float(sf, st, (sf_count_t)nf) != (sf_count_t)nf) {
        fprintf(stderr, "cannot write %s: %s\n", flac, sf_strerror(sf));
        return 1;
    }
    sf_close(sf);
    free(st);
    uint8_t *buf;
    size_t len;
    if (ts_read_file(flac, 0, &buf, &len)) {
        fprintf(stderr, "%s\n", ts_last_error());
        return 1;
    }
    double tl[64], tm[64], tt[64], tc[64];
    size_t n16 = 0;
    for (int r = 0; r <= reps; r++) { /* r == 0 warms up */
        float *pcm, *mel;
        int T;
        double c0 = cpu_now(), t0 = ts_now();
        if (ts_audio_load_mem(buf, len, flac, &pcm, &n16)) {
            fprintf(stderr, "%s\n", ts_last_error());
            return 1;
        }
        double t1 = ts_now();
        ts_logmel(pcm, n16, 1, &mel, &T);
        double t2 = ts_now(), c2 = cpu_now();
        if (r) tl[r - 1] = t1 - t0, tm[r - 1] = t2 - t1, tt[r - 1] = t2 - t0, tc[r - 1] = c2 - c0;
        free(pcm);
        free(mel);
    }
    double load = median(tl, reps), melt = median(tm, reps), total = median(tt, reps);
    double cpu = median(tc, reps);
    printf("(a) 60 s 44.1 kHz stereo FLAC (%.1f MB) -> %zu samples at 16 kHz -> 80 x %zu, 1 "
           "thread, median of %d:\n",
           len / 1e6, n16, n16 / 160, reps);
    printf("    decode+mono+resample %7.2f ms   log-mel %6.2f ms   total %7.2f ms = %6.0fx real "
           "time\n",
           load * 1e3, melt * 1e3, total * 1e3, secs / total);
    printf("    CPU time of the thread %7.2f ms = %6.0fx real time per CPU second (what a busy "
           "machine does not distort)\n",
           cpu * 1e3, secs / cpu);
    printf("RESULT path_s %.6f\nRESULT path_rt %.1f\nRESULT path_decode_s %.6f\nRESULT path_cpu_s "
           "%.6f\n",
           total, secs / total, load, cpu);
    free(buf);

    /* ---- (b) the log-mel alone on 60 s at 16 kHz ---- */
    size_t n = (size_t)(secs * TS_SAMPLE_RATE);
    float *x = malloc(sizeof(float) * n);
    make_signal(x, n, TS_SAMPLE_RATE, 1, 2);
    if (ts_npy_write_f32(npy, x, (int64_t[]){(int64_t)n}, 1)) {
        fprintf(stderr, "%s\n", ts_last_error());
        return 1;
    }
    struct {
        const char *what;
        ts_logmel_opts o;
        int threads;
    } v[] = {
        {"sparse filters, FFTW_ESTIMATE (default)", {TS_MEL_SPARSE, FFTW_ESTIMATE}, 1},
        {"sgemm filters,  FFTW_ESTIMATE", {TS_MEL_GEMM, FFTW_ESTIMATE}, 1},
        {"sparse filters, FFTW_MEASURE", {TS_MEL_SPARSE, FFTW_MEASURE}, 1},
        {"sparse filters, FFTW_ESTIMATE, 2 threads", {TS_MEL_SPARSE, FFTW_ESTIMATE}, 2},
    };
    /* the variants take turns, so that a busy machine slows them alike */
    int nv = (int)(sizeof v / sizeof *v), breps = reps * 3 > 64 ? 64 : reps * 3;
    double tv[4][64];
    for (int i = 0; i < nv; i++)
        time_logmel(x, n, v[i].threads, &v[i].o, 1); /* warm-up */
    for (int r = 0; r < breps; r++)
        for (int i = 0; i < nv; i++)
            tv[i][r] = time_logmel(x, n, v[i].threads, &v[i].o, 1);
    printf("(b) log-mel of 60 s at 16 kHz (6000 frames), median of %d:\n", breps);
    for (int i = 0; i < nv; i++) {
        double t = median(tv[i], breps);
        printf("    %-42s %6.2f ms = %6.0fx real time\n", v[i].what, t * 1e3, secs / t);
        if (i == 0) printf("RESULT logmel_s %.6f\nRESULT logmel_rt %.1f\n", t, secs / t);
    }
    free(x);

    /* ---- (c) soxr recipes: 10 s at 44.1 kHz of two tones in the pass band
     * (1 kHz, 5 kHz) plus one above 8 kHz (9 kHz, must vanish, not alias to
     * 7 kHz); error against the exact 16 kHz result in the middle ---- */
    size_t nc = 10 * 44100;
    float *c = malloc(sizeof(float) * nc);
    for (size_t i = 0; i < nc; i++) {
        double t = i / 44100.0;
        c[i] = (float)(0.4 * sin(2 * M_PI * 1000 * t) + 0.2 * sin(2 * M_PI * 5000 * t) +
                       0.2 * sin(2 * M_PI * 9000 * t));
    }
    struct {
        const char *name;
        unsigned recipe;
    } q[] = {{"SOXR_QQ", SOXR_QQ},
             {"SOXR_LQ", SOXR_LQ},
             {"SOXR_MQ", SOXR_MQ},
             {"SOXR_HQ (default)", SOXR_HQ},
             {"SOXR_VHQ", SOXR_VHQ}};
    printf("(c) soxr recipes, 10 s 44.1 kHz -> 16 kHz, median of %d (error: max |y - exact| over "
           "1..9 s):\n",
           reps);
    for (size_t k = 0; k < sizeof q / sizeof *q; k++) {
        double t[64], err = 0;
        for (int r = 0; r < reps; r++) {
            float *y;
            size_t m;
            double t0 = ts_now();
            ts_resample_to_16k_recipe(c, nc, 44100, q[k].recipe, &y, &m);
            t[r] = ts_now() - t0;
            if (r == 0) {
                for (size_t i = 16000; i < 9 * 16000; i++) {
                    double tt2 = i / 16000.0;
                    double want =
                        0.4 * sin(2 * M_PI * 1000 * tt2) + 0.2 * sin(2 * M_PI * 5000 * tt2);
                    err = fmax(err, fabs(y[i] - want));
                }
            }
            free(y);
        }
        double tm2 = median(t, reps);
        printf("    %-18s %6.2f ms (%5.0fx real time)  max error %.2e (%.0f dB)\n", q[k].name,
               tm2 * 1e3, 10.0 / tm2, err, 20 * log10(err / 0.6));
    }
    free(c);
    return 0;
}
