/* Decoder speed: the machine's OpenBLAS SGEMM peak, training throughput
 * (tokens/s and share of that peak) and batch-1 decoding with and without
 * DRA skipping, for the DESIGN.md default config (~20 M / ~4 M active).
 *
 * usage: build/bench/bench_decoder [--threads N] [--steps N] [--batch B]
 *        [--seq T] [--decode N] [--model lm.gguf] [--config K=V,...]
 * Prints one "key value" line per measurement on stdout (bench/run_decoder.sh
 * reads them). A benchmark, not a test: nothing is asserted. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "tessera.h"

/* CPU seconds of the calling thread: with other jobs on the machine, the
 * decoding rate per CPU-second shows the code's own speed next to the wall
 * clock's. */
static double thread_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* SGEMM GFLOP/s on n_threads threads, each running single-threaded OpenBLAS on
 * its own 512×512×512 product (how the training step uses it). */
typedef struct {
    float *a, *b, *c;
    int n, reps;
} gemm_job;

static void gemm_task(void *vctx, int i, int count, int worker) {
    gemm_job *j = vctx;
    size_t sz = (size_t)j->n * j->n;
    for (int r = 0; r < j->reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, j->n, j->n, 1.0f, j->a + i * sz,
                    j->n, j->b + i * sz, j->n, 0.0f, j->c + i * sz, j->n);
}

static double sgemm_peak(ts_pool *pool, int threads) {
    int n = 512;
    size_t sz = (size_t)n * n * threads;
    gemm_job j = {ts_alloc_floats(sz), ts_alloc_floats(sz), ts_alloc_floats(sz), n, 4};
    for (size_t i = 0; i < sz; i++) j.a[i] = (float)(i % 7) * 0.1f, j.b[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int k = 0; k < 5; k++) {
        double t0 = ts_now();
        ts_pool_run(pool, threads, gemm_task, &j);
        double dt = ts_now() - t0;
        double gf = 2.0 * n * n * n * j.reps * threads / dt / 1e9;
        if (gf > best) best = gf;
    }
    free(j.a), free(j.b), free(j.c);
    return best;
}

int main(int argc, char **argv) {
    int threads = 1, steps = 5, batch = 8, seq = 256, decode = 128;
    const char *model_path = NULL, *config = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) seq = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--decode")) decode = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--model")) model_path = argv[i + 1];
        else if (!strcmp(argv[i], "--config")) config = argv[i + 1];
        else {
            fprintf(stderr, "bench_decoder: unknown option %s\n", argv[i]);
            return 1;
        }
    }
    openblas_set_num_threads(1);
    ts_pool *pool = ts_pool_new(threads);
    double peak = sgemm_peak(pool, threads);
    printf("threads %d\nsgemm_peak_gflops %.2f\n", threads, peak);

    /* the default config over the default vocabulary (4096 BPE + specials + 1024 codes) */
    ts_model_config c = ts_model_config_default(4096 + 9 + 1024);
    if (config && ts_model_config_parse(&c, config)) {
        fprintf(stderr, "bench_decoder: %s\n", ts_last_error());
        return 1;
    }
    ts_model *m;
    if (ts_model_new(&c, 1, &m)) {
        fprintf(stderr, "bench_decoder: %s\n", ts_last_error());
        return 1;
    }
    int64_t P = ts_model_n_params(m), A = ts_model_n_active_params(m);
    printf("params %lld\nactive_params %lld\n", (long long)P, (long long)A);
    if (steps > 0) {
        ts_train_config tc = ts_train_config_default();
        tc.batch = batch, tc.seq_len = seq, tc.steps = 1000, tc.warmup = 10;
        ts_trainer *t;
        if (ts_trainer_new(m, &tc, pool, &t)) {
            fprintf(stderr, "bench_decoder: %s\n", ts_last_error());
            return 1;
        }
        int32_t *tok = malloc(sizeof(int32_t) * (size_t)batch * (seq + 1));
        ts_rng r;
        ts_rng_seed(&r, 2);
        double *dt = malloc(sizeof(double) * (size_t)steps);
        for (int s = -1; s < steps; s++) { /* one warm-up step */
            for (int i = 0; i < batch * (seq + 1); i++) tok[i] = (int32_t)ts_rng_below(&r, 4096);
            ts_train_stats st;
            double t0 = ts_now();
            ts_trainer_step(t, tok, NULL, &st);
            if (s >= 0) dt[s] = ts_now() - t0;
        }
        double med = median(dt, steps);
        double tps = batch * seq / med;
        /* model FLOPs per token: 6 × active matrix parameters (forward + backward)
         * plus attention scores and sums (causal: T/2 keys per query) */
        double attn = 6.0 * 2 * c.n_layers * (double)c.n_heads * c.head_dim * (seq / 2.0);
        double flops = 6.0 * (double)A + attn;
        printf("train_step_s %.4f\ntrain_tokens_per_s %.1f\ntrain_gflops %.2f\ntrain_peak_fraction %.4f\n",
               med, tps, tps * flops / 1e9, tps * flops / 1e9 / peak);
        free(dt);
        free(tok);
        ts_trainer_free(t);
    }
    if (decode > 0) {
        ts_model *dm = m;
        if (model_path && ts_model_load(model_path, &dm)) {
            fprintf(stderr, "bench_decoder: %s\n", ts_last_error());
            return 1;
        }
        int V = ts_model_get_config(dm)->vocab_size;
        float *logits = malloc(sizeof(float) * (size_t)V);
        for (int skip = 0; skip <= 1; skip++) {
            double rates[5], cpu_rates[5];
            int64_t done = 0, skipped = 0;
            for (int rep = 0; rep < 5; rep++) {
                ts_session *s;
                ts_session_new(dm, decode + 1, &s);
                ts_session_set_dra_skip(s, skip);
                ts_session_set_pool(s, pool);
                int32_t id = 1;
                double t0 = ts_now(), c0 = thread_cpu();
                for (int i = 0; i < decode; i++) {
                    ts_session_feed(s, &id, 1, logits);
                    int32_t best = 0;
                    for (int v = 1; v < V; v++)
                        if (logits[v] > logits[best]) best = v;
                    id = best;
                }
                rates[rep] = decode / (ts_now() - t0);
                cpu_rates[rep] = decode / (thread_cpu() - c0);
                ts_session_head_work(s, &done, &skipped);
                ts_session_free(s);
            }
            printf("decode_%s_tokens_per_s %.1f\n", skip ? "dra" : "nodra", median(rates, 5));
            printf("decode_%s_tokens_per_cpu_s %.1f\n", skip ? "dra" : "nodra", median(cpu_rates, 5));
            if (skip)
                printf("decode_head_work_skipped %.4f\n",
                       done + skipped ? (double)skipped / (double)(done + skipped) : 0.0);
        }
        free(logits);
        if (dm != m) ts_model_free(dm);
    }
    ts_model_free(m);
    ts_pool_free(pool);
    return 0;
}
