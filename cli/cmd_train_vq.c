/* tessera train-vq: trains the shared-codebook VQ-VAE from scratch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_PATHS 64

static void help(void) {
    printf(
        "usage: tessera train-vq --images PATH... --audio PATH... -o VQ.gguf [options]\n\n"
        "Trains the VQ-VAE (image and audio encoders/decoders and ONE shared codebook)\n"
        "from scratch. Image PATHs: folders of PNG/JPEG (recursive), tar files of\n"
        "them, MNIST idx(.gz) image files, single images. Audio PATHs: folders or\n"
        "files of WAV/FLAC/... clips, cropped or padded to --frames log-mel frames.\n"
        "Each step runs one image batch and one audio batch through the same codebook.\n\n"
        "Writes VQ.gguf, a checkpoint VQ.ckpt.gguf (every --checkpoint-every steps),\n"
        "VQ.csv (per-step losses and batch code usage) and VQ.png (loss curves on a\n"
        "log scale: total black, image recon red, audio recon blue, commitment green).\n\n"
        "  --images PATH...       training images\n"
        "  --audio PATH...        training audio\n"
        "  --val-images PATH...   validation image sets (each reported on its own)\n"
        "  --val-audio PATH...    validation audio sets\n"
        "  --audio-exclude PATS   leave training clips whose name matches out\n"
        "                         (comma-separated substrings, ^prefix, or sc%%P: the\n"
        "                         P %% of speech-commands speakers that build-shards\n"
        "                         holds out when P = 10), e.g. theo,sc%%10\n"
        "  --val-audio-only PATS  keep only matching validation clips\n"
        "  --max-per-source N     take at most N items from each PATH\n"
        "  --scenes N             also N generated shape scenes (the decoder corpus's\n"
        "                         training combinations), so their codes fit them\n"
        "  -o FILE                output model (required)\n"
        "  --steps N              optimiser steps (default 8000)\n"
        "  --batch N              images per step (default 32)\n"
        "  --audio-batch N        clips per step (default 16)\n"
        "  --lr X                 peak learning rate (default 7e-4; cosine to lr/10)\n"
        "  --seed S               seed of the weights and the data order (default 1)\n"
        "  -t N                   threads (default: online CPUs)\n"
        "  --resume CKPT          continue a run from its checkpoint: the model size, steps,\n"
        "                         batches, lr and seed come from it; with the same data\n"
        "                         and -t the losses are those of an uninterrupted run\n"
        "  --stop-after N         stop after step N with a checkpoint (to resume later)\n"
        "  --checkpoint-every N   steps between checkpoints (default 500)\n"
        "  --eval-every N         steps between validation runs (default: at the end)\n"
        "  --codebook-size K      codes (default 1024)\n"
        "  --dim D                code width (default 64)\n"
        "  --image-hidden C       image net channels (default 64)\n"
        "  --audio-hidden C       audio net channels (default 96)\n"
        "  --res-blocks N         residual blocks per net (default 2)\n"
        "  --frames N             training clip length in frames, multiple of 4 (default 100)\n");
}

typedef struct {
    const char *paths[MAX_PATHS];
    int n;
} path_list;

/* Consumes the values after a list option, up to the next option. */
static bool take_list(const char *cmd, int argc, char **argv, int *i, path_list *l) {
    int start = *i;
    while (*i + 1 < argc && !(argv[*i + 1][0] == '-' && argv[*i + 1][1])) {
        if (l->n == MAX_PATHS) {
            cli_usage(cmd, "at most %d paths per option", MAX_PATHS);
            return false;
        }
        l->paths[l->n++] = argv[++*i];
    }
    if (*i == start) {
        cli_usage(cmd, "%s needs at least one path", argv[start]);
        return false;
    }
    return true;
}

typedef struct {
    ts_progress pr;
    const char *const *val_names;
} progress_ctx;

static void on_step(void *vctx, const ts_vq_step_info *in) {
    progress_ctx *p = vctx;
    ts_progress_update(&p->pr, in->step, in->steps, in->step == in->steps || in->val != NULL,
                       "loss %.4f img %.4f aud %.4f commit %.4f/%.4f use %.0f%%/%.0f%% "
                       "restarts %d lr %.2g | %.0f img/s %.1f audio-s/s",
                       in->loss, in->img_recon, in->aud_recon, in->img_commit, in->aud_commit,
                       in->img_usage * 100, in->aud_usage * 100, in->restarts, in->lr,
                       in->images_per_s, in->audio_s_per_s);
    if (!in->val) return;
    ts_progress_finish(&p->pr);
    for (int v = 0; v < in->n_val; v++) {
        const ts_vq_eval *e = &in->val[v];
        fprintf(stderr, "val %s:", p->val_names[v]);
        if (e->n_images)
            fprintf(stderr, " %d images PSNR %.2f dB, codes used %.1f%% perplexity %.1f;",
                    e->n_images, e->psnr, e->img_usage * 100, e->img_perplexity);
        if (e->n_audio)
            fprintf(stderr, " %d clips log-mel MAE %.4f, codes used %.1f%% perplexity %.1f;",
                    e->n_audio, e->mel_mae, e->aud_usage * 100, e->aud_perplexity);
        fprintf(stderr, "\n");
    }
    fprintf(stderr, "val all: image codes %.1f%%, audio codes %.1f%%, used by both: %d\n",
            in->val_img_usage * 100, in->val_aud_usage * 100, in->val_shared_codes);
}

/* Generated scenes of the training split (fusion/scenes.c), so the
 * codebook learns flat colours and sharp shape edges that photos lack. */
static ts_status add_scenes(ts_vq_data *d, long n, int size, uint64_t seed) {
    uint8_t rgb[32 * 32 * 3];
    float *x = malloc(sizeof *x * 3 * (size_t)size * size);
    if (!x) return ts_fail(TS_ERR_NOMEM, "out of memory");
    ts_status s = TS_OK;
    for (long i = 0; i < n && !s; i++) {
        ts_scene sc;
        ts_scene_make(seed, (uint64_t)i, TS_SPLIT_TRAIN, &sc);
        ts_scene_render(&sc, rgb);
        ts_image im = {32, 32, rgb};
        if (!(s = ts_image_to_input(&im, size, TS_FIT_STRETCH, x))) s = ts_vq_data_add_image(d, x);
    }
    free(x);
    return s;
}

int cmd_train_vq(int argc, char **argv) {
    const char *cmd = argv[0];
    path_list imgs = {0}, auds = {0}, vimgs = {0}, vauds = {0};
    const char *audio_exclude = NULL, *val_only = NULL;
    ts_vq_config cfg = ts_vq_default_config();
    ts_vq_train_opts o = ts_vq_train_defaults();
    long max_per = 0, n_scenes = 0, v;
    double d;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
#define LONGOPT(flag, lo, hi, dst)                                                                 \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(val = cli_value(cmd, argc, argv, &i)) || !cli_parse_long(cmd, flag, val, lo, hi, &v)) \
            return 1;                                                                              \
        dst = v;                                                                                   \
    }
        if (cli_is_help(a)) {
            help();
            return 0;
        } else if (!strcmp(a, "--images")) {
            if (!take_list(cmd, argc, argv, &i, &imgs)) return 1;
        } else if (!strcmp(a, "--audio")) {
            if (!take_list(cmd, argc, argv, &i, &auds)) return 1;
        } else if (!strcmp(a, "--val-images")) {
            if (!take_list(cmd, argc, argv, &i, &vimgs)) return 1;
        } else if (!strcmp(a, "--val-audio")) {
            if (!take_list(cmd, argc, argv, &i, &vauds)) return 1;
        } else if (!strcmp(a, "--audio-exclude")) {
            if (!(audio_exclude = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--val-audio-only")) {
            if (!(val_only = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!strcmp(a, "-o")) {
            if (!(o.out_path = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--resume")) {
            if (!(o.resume_path = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--lr")) {
            if (!(val = cli_value(cmd, argc, argv, &i)) || !cli_parse_double(cmd, a, val, 1e-7, 1, &d))
                return 1;
            o.lr = (float)d, o.lr_min = (float)d / 10;
        }
        LONGOPT("--max-per-source", 1, 1L << 30, max_per)
        LONGOPT("--scenes", 0, 1L << 24, n_scenes)
        LONGOPT("--steps", 1, 1L << 40, o.steps)
        LONGOPT("--batch", 1, 4096, o.img_batch)
        LONGOPT("--audio-batch", 1, 4096, o.aud_batch)
        LONGOPT("--seed", 0, 0x7fffffffffffffffL, o.seed)
        LONGOPT("-t", 1, 256, o.threads)
        LONGOPT("--stop-after", 1, 1L << 40, o.stop_after)
        LONGOPT("--checkpoint-every", 1, 1L << 30, o.checkpoint_every)
        LONGOPT("--eval-every", 1, 1L << 30, o.eval_every)
        LONGOPT("--codebook-size", 2, 1 << 20, cfg.codebook_size)
        LONGOPT("--dim", 1, 4096, cfg.dim)
        LONGOPT("--image-hidden", 1, 4096, cfg.image_hidden)
        LONGOPT("--audio-hidden", 1, 4096, cfg.audio_hidden)
        LONGOPT("--res-blocks", 0, 8, cfg.image_res_blocks)
        LONGOPT("--frames", 4, 100000, cfg.audio_frames)
        else return cli_usage(cmd, "unknown argument '%s'", a);
#undef LONGOPT
    }
    cfg.audio_res_blocks = cfg.image_res_blocks;
    if (!o.out_path) return cli_usage(cmd, "-o VQ.gguf is required");
    if (!imgs.n && !auds.n) return cli_usage(cmd, "give --images and/or --audio");
    if (cfg.audio_frames % 4) return cli_usage(cmd, "--frames must be a multiple of 4");
    if (o.warmup > o.steps / 10) o.warmup = o.steps / 10;

    int n_val = vimgs.n + vauds.n;
    ts_vq_data *train = ts_vq_data_new(cfg.image_size, cfg.n_mels, cfg.audio_frames);
    ts_vq_data **val = calloc((size_t)n_val + 1, sizeof *val);
    const char **val_names = calloc((size_t)n_val + 1, sizeof *val_names);
    ts_status s = train && val && val_names ? TS_OK : ts_fail(TS_ERR_NOMEM, "out of memory");
    double t0 = ts_now();
    for (int i = 0; i < imgs.n && !s; i++) s = ts_vq_data_add_images(train, imgs.paths[i], (int)max_per);
    for (int i = 0; i < auds.n && !s; i++)
        s = ts_vq_data_add_audio(train, auds.paths[i], (int)max_per, audio_exclude, NULL);
    if (!s && n_scenes) s = add_scenes(train, n_scenes, cfg.image_size, o.seed);
    for (int i = 0; i < n_val && !s; i++) {
        val[i] = ts_vq_data_new(cfg.image_size, cfg.n_mels, cfg.audio_frames);
        if (!val[i]) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        if (i < vimgs.n) {
            val_names[i] = vimgs.paths[i];
            s = ts_vq_data_add_images(val[i], vimgs.paths[i], (int)max_per);
        } else {
            val_names[i] = vauds.paths[i - vimgs.n];
            s = ts_vq_data_add_audio(val[i], val_names[i], (int)max_per, NULL, val_only);
        }
    }
    if (!s) {
        fprintf(stderr, "train-vq: %d training images, %d clips; %d validation sets (%.1f s to load)\n",
                ts_vq_data_n_images(train), ts_vq_data_n_audio(train), n_val, ts_now() - t0);
        progress_ctx pc = {.val_names = val_names};
        ts_progress_init(&pc.pr, 10.0);
        s = ts_vq_train(&cfg, &o, train, (const ts_vq_data *const *)val, n_val, on_step, &pc);
        ts_progress_finish(&pc.pr);
        if (!s && o.stop_after == 0) fprintf(stderr, "train-vq: wrote %s\n", o.out_path);
    }
    for (int i = 0; i < n_val && val; i++) ts_vq_data_free(val[i]);
    free(val);
    free(val_names);
    ts_vq_data_free(train);
    return cli_fail(s);
}
