/* The training run around vq_train_step: the data order, evaluation,
 * checkpoints, the loss CSV and the plot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plot.h"
#include "tessera/image.h"
#include "vqvae/train.h"

/* ---- evaluation ------------------------------------------------------------ */
void ts_vq_usage(const int64_t *hist, int K, double *usage, double *perplexity) {
    int64_t total = 0;
    int used = 0;
    for (int k = 0; k < K; k++) total += hist[k], used += hist[k] > 0;
    double h = 0;
    for (int k = 0; k < K; k++)
        if (hist[k] > 0) {
            double p = (double)hist[k] / (double)total;
            h -= p * log(p);
        }
    *usage = (double)used / K;
    *perplexity = total ? exp(h) : 0;
}

#define EVAL_CHUNK 256

ts_status ts_vq_evaluate(const ts_vq *vq, ts_pool *pool, const ts_vq_data *d, ts_vq_eval *out,
                         int64_t *img_hist, int64_t *aud_hist) {
    const ts_vq_config *c = &vq->cfg;
    const int S = c->image_size, K = c->codebook_size, F = c->audio_frames;
    const int ci = (S / 4) * (S / 4), ca = F / 4;
    memset(out, 0, sizeof *out);
    out->n_images = ts_vq_data_n_images(d), out->n_audio = ts_vq_data_n_audio(d);
    int64_t *hi = calloc((size_t)K, sizeof *hi), *ha = calloc((size_t)K, sizeof *ha);
    size_t per = (size_t)3 * S * S, pera = (size_t)c->n_mels * F;
    size_t big = per > pera ? per : pera;
    float *x = ts_alloc_floats(EVAL_CHUNK * big), *y = ts_alloc_floats(EVAL_CHUNK * big);
    int32_t *codes = malloc((size_t)EVAL_CHUNK * (ci > ca ? ci : ca) * sizeof *codes);
    ts_status s = TS_OK;
    if (!hi || !ha || !x || !y || !codes) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    double sse = 0, sae = 0;
    for (int i0 = 0; !s && i0 < out->n_images; i0 += EVAL_CHUNK) {
        int n = out->n_images - i0 < EVAL_CHUNK ? out->n_images - i0 : EVAL_CHUNK;
        for (int i = 0; i < n; i++) ts_vq_data_image(d, i0 + i, x + (size_t)i * per);
        if ((s = ts_vq_encode_images(vq, pool, x, n, codes))) break;
        if ((s = ts_vq_decode_images(vq, pool, codes, n, y))) break;
        for (int i = 0; i < n * ci; i++) hi[codes[i]]++;
        for (size_t j = 0; j < (size_t)n * per; j++) {
            /* [0, 1] pixels, the output clamped as a picture would be */
            float a = (x[j] + 1) * 0.5f, b = (y[j] + 1) * 0.5f;
            b = b < 0 ? 0 : b > 1 ? 1 : b;
            sse += (double)(a - b) * (a - b);
        }
    }
    for (int i0 = 0; !s && i0 < out->n_audio; i0 += EVAL_CHUNK) {
        int n = out->n_audio - i0 < EVAL_CHUNK ? out->n_audio - i0 : EVAL_CHUNK;
        for (int i = 0; i < n; i++) ts_vq_data_audio(d, i0 + i, x + (size_t)i * pera);
        if ((s = ts_vq_encode_audio(vq, pool, x, n, F, codes))) break;
        if ((s = ts_vq_decode_audio(vq, pool, codes, n, ca, y))) break;
        for (int i = 0; i < n * ca; i++) ha[codes[i]]++;
        for (size_t j = 0; j < (size_t)n * pera; j++) sae += fabs((double)x[j] - y[j]);
    }
    if (!s) {
        if (out->n_images) {
            double mse = sse / ((double)out->n_images * per);
            out->psnr = 10.0 * log10(1.0 / (mse > 1e-12 ? mse : 1e-12));
            ts_vq_usage(hi, K, &out->img_usage, &out->img_perplexity);
        }
        if (out->n_audio) {
            out->mel_mae = sae / ((double)out->n_audio * pera);
            ts_vq_usage(ha, K, &out->aud_usage, &out->aud_perplexity);
        }
        if (img_hist) memcpy(img_hist, hi, (size_t)K * sizeof *hi);
        if (aud_hist) memcpy(aud_hist, ha, (size_t)K * sizeof *ha);
    }
    free(hi), free(ha), free(x), free(y), free(codes);
    return s;
}

/* ---- CSV and plot ------------------------------------------------------------ */
ts_status vq_write_csv(const vq_trainer *t, const char *path) {
    ts_outfile o;
    ts_status s = ts_outfile_open(&o, path);
    if (s) return s;
    fprintf(o.fp, "step,loss,img_recon,aud_recon,img_commit,aud_commit,img_usage,aud_usage\n");
    for (int64_t i = 0; i < t->step; i++) {
        const float *r = t->hist + i * H_N;
        fprintf(o.fp, "%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,%.4f\n", (long long)i + 1, r[H_LOSS],
                r[H_IMG_REC], r[H_AUD_REC], r[H_IMG_COM], r[H_AUD_COM], r[H_IMG_USE],
                r[H_AUD_USE]);
    }
    return ts_outfile_commit(&o);
}

/* The loss curves on a log scale (smoothed over a window): image recon red,
 * audio recon blue, total black, commitment (both) green; grey grid lines at
 * every power of ten. */
ts_status vq_write_plot(const vq_trainer *t, const char *path) {
    enum { W = 800, H = 480, L = 52, R = 10, T = 10, B = 30 };
    ts_canvas cv;
    if (ts_canvas_init(&cv, W, H)) return ts_fail(TS_ERR_NOMEM, "out of memory");
    const int cols[4] = {H_LOSS, H_IMG_REC, H_AUD_REC, H_IMG_COM};
    static const uint8_t colors[4][3] = {{0, 0, 0}, {220, 40, 40}, {40, 80, 220}, {30, 160, 60}};
    int64_t n = t->step;
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 4; c++) {
            double v = t->hist[i * H_N + cols[c]];
            if (cols[c] == H_IMG_COM) v += t->hist[i * H_N + H_AUD_COM];
            if (v > 0) lo = fmin(lo, v), hi = fmax(hi, v);
        }
    if (!(lo < hi)) lo = 1e-3, hi = 1;
    double llo = floor(log10(lo)), lhi = ceil(log10(hi));
    if (lhi <= llo) lhi = llo + 1;
    static const uint8_t grey[3] = {210, 210, 210}, axis[3] = {90, 90, 90};
    for (double e = llo; e <= lhi; e++) {
        int y = T + (int)((lhi - e) / (lhi - llo) * (H - T - B - 1));
        ts_canvas_line(&cv, L, y, W - R, y, grey);
        char lab[16];
        snprintf(lab, sizeof lab, "1e%d", (int)e);
        ts_canvas_text(&cv, 4, y - 5, lab, 2, axis);
    }
    /* x axis: steps; legend top right */
    char lab[32];
    ts_canvas_text(&cv, L, H - B + 8, "0", 2, axis);
    snprintf(lab, sizeof lab, "step %lld", (long long)n);
    ts_canvas_text(&cv, W - R - 8 * (int)strlen(lab), H - B + 8, lab, 2, axis);
    static const char *const names[4] = {"total", "image", "audio", "commit"};
    for (int c = 0; c < 4; c++) {
        int y = T + 8 + 16 * c;
        ts_canvas_line(&cv, W - R - 90, y + 4, W - R - 66, y + 4, colors[c]);
        ts_canvas_text(&cv, W - R - 58, y, names[c], 2, colors[c]);
    }
    ts_canvas_line(&cv, L, T, L, H - B, axis);
    ts_canvas_line(&cv, L, H - B, W - R, H - B, axis);
    int win = (int)(n / 200) + 1;
    for (int c = 0; c < 4 && n > 0; c++) {
        int px = -1, py = 0;
        for (int64_t i = 0; i < n; i += win) {
            double s = 0;
            int k = 0;
            for (int64_t j = i; j < n && j < i + win; j++, k++) {
                double v = t->hist[j * H_N + cols[c]];
                if (cols[c] == H_IMG_COM) v += t->hist[j * H_N + H_AUD_COM];
                s += v;
            }
            double v = s / k;
            if (!(v > 0)) continue;
            int x = L + (int)((double)i / (double)(n > 1 ? n - 1 : 1) * (W - L - R - 1));
            int y = T + (int)((lhi - log10(v)) / (lhi - llo) * (H - T - B - 1));
            if (px >= 0) ts_canvas_line(&cv, px, py, x, y, colors[c]);
            px = x, py = y;
        }
    }
    ts_status s = ts_png_write(path, cv.rgb, W, H, 3);
    ts_canvas_free(&cv);
    return s;
}

/* ---- the run ------------------------------------------------------------------ */
/* Position p of modality `mod` in the data order: epoch p / n shuffled by
 * (seed, mod, epoch), so any step's batch can be recomputed on resume. */
typedef struct {
    uint32_t *perm;
    int64_t epoch;
    int n;
} order;

static int order_at(order *o, uint64_t seed, int mod, int64_t p) {
    int64_t e = p / o->n;
    if (e != o->epoch) {
        for (int i = 0; i < o->n; i++) o->perm[i] = (uint32_t)i;
        ts_rng r;
        ts_rng_seed(&r, seed * 1000003u + (uint64_t)mod * 7919u + (uint64_t)e);
        ts_rng_shuffle_u32(&r, o->perm, (size_t)o->n);
        o->epoch = e;
    }
    return (int)o->perm[p % o->n];
}

static void fill_batch(vq_trainer *t, const ts_vq_data *d, order *oi, order *oa) {
    const ts_vq_config *c = &t->vq->cfg;
    size_t per = (size_t)3 * c->image_size * c->image_size, pera = (size_t)c->n_mels * t->frames;
    for (int i = 0; i < t->img_batch; i++) {
        int k = order_at(oi, t->opts.seed, 0, t->step * t->img_batch + i);
        ts_vq_data_image(d, k, t->img_in + i * per);
    }
    for (int i = 0; i < t->aud_batch; i++) {
        int k = order_at(oa, t->opts.seed, 1, t->step * t->aud_batch + i);
        ts_vq_data_audio(d, k, t->aud_in + i * pera);
    }
}

static char *with_ext(const char *path, const char *ext) {
    size_t l = strlen(path), e = strlen(ext);
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) l = (size_t)(dot - path);
    char *p = malloc(l + e + 1);
    if (p) memcpy(p, path, l), memcpy(p + l, ext, e + 1);
    return p;
}

ts_status ts_vq_train(const ts_vq_config *cfg, const ts_vq_train_opts *opts,
                      const ts_vq_data *train, const ts_vq_data *const *val, int n_val,
                      ts_vq_progress_fn progress, void *progress_ctx) {
    if (!opts->out_path) return ts_fail(TS_ERR_USAGE, "train-vq: no output path");
    int64_t n_img = ts_vq_data_n_images(train), n_aud = ts_vq_data_n_audio(train);
    ts_vq_train_opts o = *opts;
    if (!n_img) o.img_batch = 0;
    if (!n_aud) o.aud_batch = 0;
    if (o.img_batch + o.aud_batch <= 0)
        return ts_fail(TS_ERR_USAGE, "train-vq: no training images or audio");
    char *ck = o.checkpoint_path ? strdup(o.checkpoint_path) : with_ext(o.out_path, ".ckpt.gguf");
    char *csv = o.csv_path ? strdup(o.csv_path) : with_ext(o.out_path, ".csv");
    char *png = o.plot_path ? strdup(o.plot_path) : with_ext(o.out_path, ".png");
    vq_trainer t;
    ts_vq *vq = NULL;
    int64_t *hi = NULL, *ha = NULL, *hi_all = NULL, *ha_all = NULL;
    ts_status s = TS_OK;
    order oi = {.epoch = -1, .n = (int)n_img}, oa = {.epoch = -1, .n = (int)n_aud};
    oi.perm = malloc(((size_t)n_img + 1) * sizeof *oi.perm);
    oa.perm = malloc(((size_t)n_aud + 1) * sizeof *oa.perm);
    ts_vq_eval *ev = calloc((size_t)n_val + 1, sizeof *ev);
    if (!ck || !csv || !png || !oi.perm || !oa.perm || !ev) {
        s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done0;
    }
    if (o.resume_path) {
        if ((s = vq_checkpoint_load(&t, o.resume_path, &o, n_img, n_aud))) goto done0;
        vq = t.vq;
    } else {
        if ((s = ts_vq_new(cfg, o.seed, &vq))) goto done0;
        if ((s = vq_trainer_new(&t, vq, &o, cfg->audio_frames))) goto done0;
    }
    const ts_vq_config *c = &vq->cfg;
    size_t K4 = (size_t)c->codebook_size * sizeof(int64_t);
    hi = malloc(K4), ha = malloc(K4), hi_all = malloc(K4), ha_all = malloc(K4);
    if (!hi || !ha || !hi_all || !ha_all) {
        s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    double t0 = ts_now();
    int64_t first = t.step;
    int64_t end = t.opts.steps;
    if (o.stop_after > 0 && o.stop_after < end) end = o.stop_after;
    while (t.step < end) {
        fill_batch(&t, train, &oi, &oa);
        int restarts;
        if ((s = vq_train_step(&t, &restarts))) goto done;
        const float *r = t.hist + (t.step - 1) * H_N;
        double el = ts_now() - t0, per_step = el / (double)(t.step - first);
        ts_vq_step_info info = {
            .step = t.step, .steps = t.opts.steps, .img_recon = r[H_IMG_REC],
            .aud_recon = r[H_AUD_REC], .img_commit = r[H_IMG_COM], .aud_commit = r[H_AUD_COM],
            .loss = r[H_LOSS], .img_usage = r[H_IMG_USE], .aud_usage = r[H_AUD_USE],
            .restarts = restarts, .images_per_s = t.img_batch / per_step,
            .audio_s_per_s = t.aud_batch * (t.frames / 100.0) / per_step,
            .eta_s = per_step * (double)(t.opts.steps - t.step),
            .lr = ts_lr_schedule(t.step - 1, t.opts.warmup, t.opts.steps, t.opts.lr, t.opts.lr_min)};
        bool last = t.step == end;
        if (n_val && ((o.eval_every && t.step % o.eval_every == 0) || last)) {
            int K = c->codebook_size, shared = 0;
            for (int k = 0; k < K; k++) hi_all[k] = ha_all[k] = 0;
            for (int v = 0; v < n_val && !s; v++) {
                s = ts_vq_evaluate(vq, t.pool, val[v], &ev[v], hi, ha);
                for (int k = 0; k < K && !s; k++) hi_all[k] += hi[k], ha_all[k] += ha[k];
            }
            if (s) goto done;
            double perp;
            ts_vq_usage(hi_all, K, &info.val_img_usage, &perp);
            ts_vq_usage(ha_all, K, &info.val_aud_usage, &perp);
            for (int k = 0; k < K; k++) shared += hi_all[k] > 0 && ha_all[k] > 0;
            info.val = ev, info.n_val = n_val, info.val_shared_codes = shared;
        }
        if (progress) progress(progress_ctx, &info);
        if ((o.checkpoint_every && t.step % o.checkpoint_every == 0) || last) {
            if ((s = vq_checkpoint_save(&t, ck, n_img, n_aud))) goto done;
            if ((s = vq_write_csv(&t, csv))) goto done;
            if ((s = vq_write_plot(&t, png))) goto done;
        }
    }
    if (t.step >= t.opts.steps) s = ts_vq_save_file(vq, o.out_path);
done:
    vq_trainer_free(&t);
done0:
    ts_vq_free(vq);
    free(ck), free(csv), free(png), free(oi.perm), free(oa.perm), free(ev);
    free(hi), free(ha), free(hi_all), free(ha_all);
    return s;
}
