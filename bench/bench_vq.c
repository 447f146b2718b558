/* bench_vq: VQ-VAE speed (encode and train, images and audio, 1 and 2
 * threads) against the same network in PyTorch (bench/vq_peer.py, run from
 * here), and, given validation data, quality (PSNR, log-mel MAE, codebook
 * usage and perplexity per modality, codes both use).
 *
 *   build/bench/bench_vq [-m VQ.gguf] [--reps N] [--no-peer] [--no-speed]
 *                        [--val-images PATH]... [--val-audio PATH [--only PATS]]...
 *
 * Without -m: a fresh model of the default size (speed does not depend on
 * the weights). Medians of --reps runs (default 5). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"
#include "vqvae/train.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    double enc_img, enc_aud_x, train_img, train_aud;
} speeds;

static void measure(const ts_vq *vq, int threads, int reps, speeds *out) {
    const ts_vq_config *c = ts_vq_get_config(vq);
    const int NI = 512, NA = 64, F = 100;
    float *x = ts_alloc_floats((size_t)NI * 3 * 32 * 32), *mel = ts_alloc_floats((size_t)NA * 80 * F);
    int32_t *codes = malloc((size_t)NI * 64 * sizeof *codes);
    ts_rng r;
    ts_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)NI * 3 * 1024; i++) x[i] = ts_rng_uniform(&r) * 2 - 1;
    for (size_t i = 0; i < (size_t)NA * 80 * F; i++) mel[i] = ts_rng_normal(&r);
    ts_pool *pool = ts_pool_new(threads);
    double t[64];
    ts_vq_encode_images(vq, pool, x, NI, codes); /* warm */
    for (int k = 0; k < reps; k++) {
        double t0 = ts_now();
        ts_vq_encode_images(vq, pool, x, NI, codes);
        t[k] = ts_now() - t0;
    }
    out->enc_img = NI / median(t, reps);
    ts_vq_encode_audio(vq, pool, mel, NA, F, codes);
    for (int k = 0; k < reps; k++) {
        double t0 = ts_now();
        ts_vq_encode_audio(vq, pool, mel, NA, F, codes);
        t[k] = ts_now() - t0;
    }
    out->enc_aud_x = NA * (F / 100.0) / median(t, reps);
    ts_pool_free(pool);

    /* training: image-only and audio-only steps of the default batches */
    for (int mod = 0; mod < 2; mod++) {
        ts_vq *m;
        ts_vq_new(c, 1, &m);
        ts_vq_train_opts o = ts_vq_train_defaults();
        o.threads = threads, o.steps = 1000;
        if (mod == 0) o.aud_batch = 0; else o.img_batch = 0;
        vq_trainer tr;
        if (vq_trainer_new(&tr, m, &o, F)) {
            fprintf(stderr, "bench_vq: %s\n", ts_last_error());
            exit(1);
        }
        memcpy(tr.img_in, x, (size_t)o.img_batch * 3 * 1024 * sizeof(float));
        memcpy(tr.aud_in, mel, (size_t)o.aud_batch * 80 * F * sizeof(float));
        int restarts;
        vq_train_step(&tr, &restarts); /* warm + codebook init */
        for (int k = 0; k < reps; k++) {
            double t0 = ts_now();
            for (int s = 0; s < 5; s++) vq_train_step(&tr, &restarts);
            t[k] = ts_now() - t0;
        }
        double per = median(t, reps) / 5;
        if (mod == 0) out->train_img = o.img_batch / per;
        else out->train_aud = o.aud_batch * (F / 100.0) / per;
        vq_trainer_free(&tr);
        ts_vq_free(m);
    }
    free(x), free(mel), free(codes);
}

static int peer(const ts_vq_config *c, int threads, int reps, speeds *out) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/vq_peer.py %d %d %d %d %d %d %d 2>/dev/null",
             threads, c->image_hidden, c->audio_hidden, c->image_res_blocks, c->codebook_size,
             c->dim, reps);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char key[64];
    double v;
    int n = 0;
    while (fscanf(p, "%63s %lf", key, &v) == 2) {
        if (!strcmp(key, "encode_images_per_s")) out->enc_img = v, n++;
        if (!strcmp(key, "encode_audio_x_realtime")) out->enc_aud_x = v, n++;
        if (!strcmp(key, "train_images_per_s")) out->train_img = v, n++;
        if (!strcmp(key, "train_audio_s_per_s")) out->train_aud = v, n++;
    }
    return pclose(p) == 0 && n == 4;
}

int main(int argc, char **argv) {
    const char *model = NULL, *only = NULL;
    const char *vimg[16], *vaud[16];
    int nvi = 0, nva = 0, reps = 5, use_peer = 1, speed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-peer")) use_peer = 0;
        else if (!strcmp(argv[i], "--no-speed")) speed = 0;
        else if (!strcmp(argv[i], "--val-images") && i + 1 < argc && nvi < 16) vimg[nvi++] = argv[++i];
        else if (!strcmp(argv[i], "--val-audio") && i + 1 < argc && nva < 16) vaud[nva++] = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_vq [-m VQ.gguf] [--reps N] [--no-peer] [--no-speed] "
                            "[--val-images PATH]... [--val-audio PATH]... [--only PATS]\n");
            return 1;
        }
    }
    openblas_set_num_threads(1); /* "N threads" means N in all */
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    ts_vq *vq;
    ts_vq_config cfg = ts_vq_default_config();
    ts_status s = model ? ts_vq_load_file(model, &vq) : ts_vq_new(&cfg, 1, &vq);
    if (s) {
        fprintf(stderr, "bench_vq: %s\n", ts_last_error());
        return 2;
    }
    const ts_vq_config *c = ts_vq_get_config(vq);
    printf("VQ-VAE: K=%d D=%d, image hidden %d, audio hidden %d, %d res blocks, %zu parameters\n",
           c->codebook_size, c->dim, c->image_hidden, c->audio_hidden, c->image_res_blocks,
           ts_vq_n_params(vq));
    printf("speed (median of %d; peer: the same network in PyTorch %s, CPU)\n", reps,
           "bench/vq_peer.py");
    printf("%-8s %-26s %12s %12s %8s\n", "threads", "measure", "tessera", "pytorch", "ratio");
    for (int threads = 1; threads <= 2 && speed; threads++) {
        speeds a, b = {0, 0, 0, 0};
        measure(vq, threads, reps, &a);
        int ok = use_peer && peer(c, threads, reps, &b);
        const char *names[4] = {"encode images/s", "encode audio x realtime", "train images/s",
                                "train audio s/s"};
        double va[4] = {a.enc_img, a.enc_aud_x, a.train_img, a.train_aud};
        double vb[4] = {b.enc_img, b.enc_aud_x, b.train_img, b.train_aud};
        for (int k = 0; k < 4; k++) {
            if (ok)
                printf("%-8d %-26s %12.1f %12.1f %7.2fx\n", threads, names[k], va[k], vb[k], va[k] / vb[k]);
            else
                printf("%-8d %-26s %12.1f %12s %8s\n", threads, names[k], va[k], "-", "-");
        }
        fflush(stdout);
    }

    if (nvi + nva) {
        ts_pool *pool = ts_pool_new(2);
        int K = c->codebook_size;
        int64_t *hi = calloc((size_t)K, 8), *ha = calloc((size_t)K, 8), *h = calloc((size_t)K, 8),
                *h2 = calloc((size_t)K, 8);
        printf("quality\n");
        for (int v = 0; v < nvi + nva; v++) {
            ts_vq_data *d = ts_vq_data_new(c->image_size, c->n_mels, c->audio_frames);
            const char *path = v < nvi ? vimg[v] : vaud[v - nvi];
            s = v < nvi ? ts_vq_data_add_images(d, path, 0)
                        : ts_vq_data_add_audio(d, path, 0, NULL, only);
            ts_vq_eval e;
            if (!s) s = ts_vq_evaluate(vq, pool, d, &e, h, h2);
            if (s) {
                fprintf(stderr, "bench_vq: %s\n", ts_last_error());
                return 2;
            }
            for (int k = 0; k < K; k++) hi[k] += h[k], ha[k] += h2[k];
            if (e.n_images)
                printf("  %s: %d images, PSNR %.2f dB, codes used %.1f%%, perplexity %.1f\n", path,
                       e.n_images, e.psnr, 100 * e.img_usage, e.img_perplexity);
            if (e.n_audio)
                printf("  %s: %d clips, log-mel MAE %.4f, codes used %.1f%%, perplexity %.1f\n",
                       path, e.n_audio, e.mel_mae, 100 * e.aud_usage, e.aud_perplexity);
            ts_vq_data_free(d);
        }
        double ui, pi, ua, pa;
        int both = 0, any = 0;
        ts_vq_usage(hi, K, &ui, &pi);
        ts_vq_usage(ha, K, &ua, &pa);
        for (int k = 0; k < K; k++) both += hi[k] && ha[k], any += hi[k] || ha[k];
        printf("  all images: codes used %.1f%% (perplexity %.1f); all audio: %.1f%% (perplexity "
               "%.1f); used by both: %d; by either: %d of %d\n",
               100 * ui, pi, 100 * ua, pa, both, any, K);
        free(hi), free(ha), free(h), free(h2);
        ts_pool_free(pool);
    }
    ts_vq_free(vq);
    return 0;
}
