/* Whisper-compatible log-mel spectrogram (FFTW, float).
 *
 *   padded = reflect_pad(x, 200)                  // N + 400 samples
 *   frame t (0 <= t < T = N / 160) = padded[160 t : 160 t + 400] * hann
 *   P[t, k] = |rfft(frame t)[k]|^2                // k < 201
 *   M[b, t] = sum_k fb[b, k] P[t, k]              // 80 Slaney filters
 *   L = log10(max(M, 1e-10)); L = max(L, max(L) - 8); out = (L + 4) / 4
 *
 * which is whisper's log_mel_spectrogram (torch.stft centre=True, the last
 * frame dropped). The window, filterbank and FFTW plan are built once and
 * shared: FFTW's planner is not thread-safe, so plan creation sits behind a
 * mutex; fftwf_execute_dft_r2c on a shared plan is. Frames are split into
 * contiguous ranges over the pool's workers; each frame's result does not
 * depend on the split, so any thread count gives the same bytes. */
#include "audio/logmel.h"

#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- the Slaney mel filterbank (librosa's formula) --------------------- */

static double hz_to_mel(double hz) { /* Slaney: linear below 1 kHz, log above */
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return hz >= min_log_hz ? min_log_mel + log(hz / min_log_hz) / logstep : hz / f_sp;
}

static double mel_to_hz(double mel) {
    const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return mel >= min_log_mel ? min_log_hz * exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

void ts_mel_filterbank(float *fb) {
    /* fb is (80, 201) */
    double mel_f[TS_N_MELS + 2];
    const double mlo = hz_to_mel(0.0), mhi = hz_to_mel(TS_SAMPLE_RATE / 2.0);
    for (int i = 0; i < TS_N_MELS + 2; i++)
        mel_f[i] = mel_to_hz(mlo + (mhi - mlo) * i / (TS_N_MELS + 1)); /* linspace */
    for (int b = 0; b < TS_N_MELS; b++) {
        double lo = mel_f[b], d0 = mel_f[b + 1] - mel_f[b], d1 = mel_f[b + 2] - mel_f[b + 1];
        double enorm = 2.0 / (mel_f[b + 2] - mel_f[b]); /* Slaney: constant area */
        for (int k = 0; k < TS_N_BINS; k++) {
            double f = (double)k * TS_SAMPLE_RATE / TS_N_FFT; /* rfft bin frequency */
            double lower = (f - lo) / d0, upper = (mel_f[b + 2] - f) / d1;
            double w = fmin(lower, upper);
            fb[b * TS_N_BINS + k] = (float)(w > 0 ? w * enorm : 0.0);
        }
    }
}

/* ---- tables shared by every call ----------------------------------------- */

typedef struct {
    float hann[TS_N_FFT];
    float fb[TS_N_MELS * TS_N_BINS];        /* dense (80, 201) */
    float fbT[TS_N_BINS * TS_N_MELS];       /* (201, 80) for the GEMM path */
    int first[TS_N_MELS], count[TS_N_MELS]; /* each filter's non-zero bins */
    const float *w[TS_N_MELS];              /* -> fb row at bin `first` */
} tables;

static tables g_tab;
static pthread_once_t g_tab_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (int i = 0; i < TS_N_FFT; i++) /* periodic Hann, as torch.hann_window */
        g_tab.hann[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / TS_N_FFT));
    ts_mel_filterbank(g_tab.fb);
    for (int b = 0; b < TS_N_MELS; b++) {
        const float *row = g_tab.fb + b * TS_N_BINS;
        int lo = 0, hi = TS_N_BINS - 1;
        while (lo < TS_N_BINS && row[lo] == 0.0f)
            lo++;
        while (hi > lo && row[hi] == 0.0f)
            hi--;
        g_tab.first[b] = lo < TS_N_BINS ? lo : 0;
        g_tab.count[b] = lo < TS_N_BINS ? hi - lo + 1 : 0;
        g_tab.w[b] = row + g_tab.first[b];
        for (int k = 0; k < TS_N_BINS; k++)
            g_tab.fbT[k * TS_N_MELS + b] = row[k];
    }
}

/* Plans by flag set; created once under the planner lock, kept for the
 * process (fftwf_execute_dft_r2c on them is thread-safe). */
static pthread_mutex_t g_plan_mu = PTHREAD_MUTEX_INITIALIZER;
static fftwf_plan g_plan[2]; /* [0] FFTW_ESTIMATE, [1] FFTW_MEASURE */

static fftwf_plan get_plan(unsigned flags) {
    int slot = (flags & FFTW_MEASURE) ? 1 : 0;
    pthread_mutex_lock(&g_plan_mu);
    if (!g_plan[slot]) {
        /* the arrays only fix the alignment: ts_alloc_floats' 64 bytes, as
         * the per-worker buffers the plan will run on */
        float *in = ts_alloc_floats(TS_N_FFT);
        float *out = ts_alloc_floats(2 * TS_N_BINS);
        if (in && out)
            g_plan[slot] =
                fftwf_plan_dft_r2c_1d(TS_N_FFT, in, (fftwf_complex *)out,
                                      (slot ? FFTW_MEASURE : FFTW_ESTIMATE) | FFTW_DESTROY_INPUT);
        free(in);
        free(out);
    }
    fftwf_plan p = g_plan[slot];
    pthread_mutex_unlock(&g_plan_mu);
    return p;
}

/* ---- the work ---------------------------------------------------------- */

#define GEMM_BLOCK 64 /* frames per sgemm in TS_MEL_GEMM mode */

typedef struct {
    const float *x;
    size_t n;
    int T, tasks;
    ts_mel_mode mode;
    fftwf_plan plan;
    float *mel; /* (80, T): log10 energies, then the output in place */
    float maxv[256];
    int failed[256];
    float floor;
} job;

/* x index of padded position p, reflecting about both ends (numpy's
 * np.pad(mode='reflect'), repeated when the pad is longer than x). */
static inline size_t reflect_index(long p, long n) {
    long period = 2 * (n - 1);
    p %= period;
    if (p < 0) p += period;
    return (size_t)(p >= n ? period - p : p);
}

static void window_frame(const job *j, int t, float *restrict frame) {
    long start = (long)t * TS_HOP - TS_N_FFT / 2;
    const float *restrict w = g_tab.hann;
    if (start >= 0 && start + TS_N_FFT <= (long)j->n) {
        const float *restrict s = j->x + start;
        for (int i = 0; i < TS_N_FFT; i++)
            frame[i] = s[i] * w[i];
    } else {
        for (int i = 0; i < TS_N_FFT; i++)
            frame[i] = j->x[reflect_index(start + i, (long)j->n)] * w[i];
    }
}

static void frame_range(const job *j, int task, int *t0, int *t1) {
    *t0 = ts_part_begin(j->T, task, j->tasks);
    *t1 = ts_part_begin(j->T, task + 1, j->tasks);
}

/* p[k] = |c[k]|^2 for the 201 bins; c is interleaved (re, im). */
static void power_spectrum(const float *restrict c, float *restrict p) {
    for (int k = 0; k < TS_N_BINS - 1; k++) /* 200: a whole number of vectors */
        p[k] = c[2 * k] * c[2 * k] + c[2 * k + 1] * c[2 * k + 1];
    p[TS_N_BINS - 1] = c[2 * TS_N_FFT / 2] * c[2 * TS_N_FFT / 2] +
                       c[2 * TS_N_FFT / 2 + 1] * c[2 * TS_N_FFT / 2 + 1];
}

/* log10 of 80 values clamped below at 1e-10: Cephes' logf polynomial
 * (relative error ~1e-7, far under the 1e-4 the tests hold the output to),
 * branch-free so that the compiler vectorises it; libm's log10f is a call
 * per value and was a fifth of the log-mel's time. v[i] >= 0. */
static void log10_clamped_80(float *restrict v) {
    /* the energies are >= 0 (finite input), where the float order is the
     * order of the bit patterns as integers: an integer max clamps */
    const float floor_f = 1e-10f;
    uint32_t floor_u;
    memcpy(&floor_u, &floor_f, 4);
    for (int i = 0; i < TS_N_MELS; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        u = u > floor_u ? u : floor_u;
        int e = (int)((u >> 23) & 0xff) - 126; /* x = m 2^e, m in [0.5, 1) */
        u = (u & 0x807fffffu) | 0x3f000000u;
        float m;
        memcpy(&m, &u, 4);
        float small = (float)(m < 0.707106781186547524f); /* keep m - 1 in [-0.29, 0.41] */
        float fe = (float)e - small;
        m = m + m * small - 1.0f;
        float z = m * m;
        float y = 7.0376836292e-2f;
        y = y * m - 1.1514610310e-1f;
        y = y * m + 1.1676998740e-1f;
        y = y * m - 1.2420140846e-1f;
        y = y * m + 1.4249322787e-1f;
        y = y * m - 1.6668057665e-1f;
        y = y * m + 2.0000714765e-1f;
        y = y * m - 2.4999993993e-1f;
        y = y * m + 3.3333331174e-1f;
        y = y * m * z;
        y += -2.12194440e-4f * fe;
        y += -0.5f * z;
        float ln = m + y + 0.693359375f * fe; /* ln 2 split in two for accuracy */
        v[i] = ln * 0.434294481903251828f;
    }
}

/* Writes one frame's 80 log energies into column t of (80, T). */
static float store_column(job *j, int t, const float *restrict v) {
    float mx = -INFINITY;
    float *col = j->mel + t;
    const size_t T = (size_t)j->T;
    for (int b = 0; b < TS_N_MELS; b++) {
        col[b * T] = v[b];
        mx = v[b] > mx ? v[b] : mx;
    }
    return mx;
}

static void logmel_task(void *ctx, int task, int count, int worker) {
    job *j = ctx;
    int t0, t1;
    frame_range(j, task, &t0, &t1);
    float *frame = ts_alloc_floats(TS_N_FFT);
    float *spec = ts_alloc_floats(2 * TS_N_BINS);
    float *pow = ts_alloc_floats((size_t)GEMM_BLOCK * TS_N_BINS);  /* (GEMM_BLOCK, 201) */
    float *mels = ts_alloc_floats((size_t)GEMM_BLOCK * TS_N_MELS); /* (GEMM_BLOCK, 80) */
    if (!frame || !spec || !pow || !mels) {
        j->failed[task] = 1;
        goto done;
    }
    float mx = -INFINITY;
    for (int tb = t0; tb < t1; tb += GEMM_BLOCK) {
        int nb = t1 - tb < GEMM_BLOCK ? t1 - tb : GEMM_BLOCK;
        for (int i = 0; i < nb; i++) {
            window_frame(j, tb + i, frame);
            fftwf_execute_dft_r2c(j->plan, frame, (fftwf_complex *)spec);
            float *p = pow + (size_t)i * TS_N_BINS;
            power_spectrum(spec, p);
            if (j->mode == TS_MEL_SPARSE) {
                float *o = mels + (size_t)i * TS_N_MELS;
                for (int b = 0; b < TS_N_MELS; b++) {
                    const float *w = g_tab.w[b], *pp = p + g_tab.first[b];
                    float acc = 0.0f;
                    for (int k = 0; k < g_tab.count[b]; k++)
                        acc += w[k] * pp[k];
                    o[b] = acc;
                }
            }
        }
        if (j->mode == TS_MEL_GEMM) /* mels (nb, 80) = pow (nb, 201) . fbT (201, 80) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, TS_N_MELS, TS_N_BINS, 1.0f,
                        pow, TS_N_BINS, g_tab.fbT, TS_N_MELS, 0.0f, mels, TS_N_MELS);
        for (int i = 0; i < nb; i++) {
            float *o = mels + (size_t)i * TS_N_MELS;
            log10_clamped_80(o);
            float m = store_column(j, tb + i, o);
            mx = m > mx ? m : mx;
        }
    }
    j->maxv[task] = mx;
done:
    free(frame);
    free(spec);
    free(pow);
    free(mels);
}

/* Clamp at max - 8 and scale, in place, rows of (80, T) split by frames. */
static void finish_task(void *ctx, int task, int count, int worker) {
    job *j = ctx;
    int t0, t1;
    frame_range(j, task, &t0, &t1);
    const float fl = j->floor;
    for (int b = 0; b < TS_N_MELS; b++) {
        float *o = j->mel + (size_t)b * (size_t)j->T;
        for (int t = t0; t < t1; t++)
            o[t] = ((o[t] > fl ? o[t] : fl) + 4.0f) * 0.25f;
    }
}

ts_status ts_logmel_ex(const float *samples, size_t n, int threads, const ts_logmel_opts *opts,
                       float **mel, int *T) {
    *mel = NULL;
    *T = 0;
    if (n < TS_HOP)
        return ts_fail(TS_ERR_INPUT,
                       "audio too short for a log-mel: %zu samples at 16 kHz, need at least %d", n,
                       TS_HOP);
    if (n / TS_HOP > (size_t)(TS_MAX_AUDIO_SECONDS * 100) + 1)
        return ts_fail(TS_ERR_INPUT, "audio longer than the limit of %.0f seconds",
                       TS_MAX_AUDIO_SECONDS);
    /* the fast log below relies on finite input; one vectorised pass */
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &samples[i], 4);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    if (bad) return ts_fail(TS_ERR_INPUT, "audio contains non-finite samples (NaN or infinity)");
    pthread_once(&g_tab_once, build_tables);
    ts_logmel_opts def = {TS_MEL_SPARSE, FFTW_ESTIMATE};
    if (!opts) opts = &def;
    job *j = calloc(1, sizeof *j);
    if (!j) return ts_fail(TS_ERR_NOMEM, "out of memory for the log-mel");
    j->x = samples;
    j->n = n;
    j->T = (int)(n / TS_HOP);
    j->mode = opts->mode;
    j->plan = get_plan(opts->fftw_flags);
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    /* a task per worker, but none shorter than 64 frames */
    j->tasks = threads;
    if (j->tasks > (j->T + 63) / 64) j->tasks = (j->T + 63) / 64;
    if (j->tasks < 1) j->tasks = 1;
    j->mel = ts_alloc_floats((size_t)j->T * TS_N_MELS);
    ts_status s = TS_OK;
    if (!j->plan)
        s = ts_fail(TS_ERR_INTERNAL, "FFTW could not plan a %d-point FFT", TS_N_FFT);
    else if (!j->mel)
        s = ts_fail(TS_ERR_NOMEM, "out of memory for a %d-frame log-mel", j->T);
    ts_pool *pool = NULL;
    if (!s && j->tasks > 1) pool = ts_pool_new(j->tasks); /* NULL: runs on this thread */
    if (!s) {
        ts_pool_run(pool, j->tasks, logmel_task, j);
        float mx = -INFINITY;
        for (int i = 0; i < j->tasks; i++) {
            if (j->failed[i]) s = ts_fail(TS_ERR_NOMEM, "out of memory for the log-mel");
            mx = j->maxv[i] > mx ? j->maxv[i] : mx;
        }
        j->floor = mx - 8.0f;
    }
    if (!s) ts_pool_run(pool, j->tasks, finish_task, j);
    ts_pool_free(pool);
    if (s) {
        free(j->mel);
    } else {
        *mel = j->mel;
        *T = j->T;
    }
    free(j);
    return s;
}

ts_status ts_logmel(const float *samples, size_t n, int threads, float **mel, int *T) {
    return ts_logmel_ex(samples, n, threads, NULL, mel, T);
}
