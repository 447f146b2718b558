/* tessera VQ-VAE (vqvae/): images and audio become codes of ONE shared
 * codebook, and codes become images and log-mel spectrograms again.
 *
 *     ts_vq *vq;
 *     ts_vq_load_file("vq.gguf", &vq);
 *     float img[3 * 32 * 32];                      // ts_image_load_input_file
 *     int32_t codes[64];                           // 8 x 8, raster order
 *     ts_vq_encode_images(vq, NULL, img, 1, codes);
 *     ts_vq_decode_images(vq, NULL, codes, 1, img); // the reconstruction
 *     ts_vq_free(vq);
 *
 * Audio: an 80 x T log-mel (ts_logmel) with T a multiple of 4 becomes T/4
 * codes (25 per second). */
#ifndef TESSERA_VQVAE_H
#define TESSERA_VQVAE_H

#include "tessera/core.h"
#include "tessera/gguf.h"

typedef struct {
    int codebook_size;     /* K (1024) */
    int dim;               /* D, the code width (64) */
    int image_size;        /* input side, 32 (8 x 8 codes) */
    int image_hidden;      /* channels of the image encoder/decoder */
    int image_res_blocks;  /* residual blocks at 8 x 8 in each direction */
    int n_mels;            /* 80 */
    int audio_hidden;      /* channels of the audio encoder/decoder */
    int audio_res_blocks;
    int audio_frames;      /* training clip length in log-mel frames (100 = 1 s) */
    float beta;            /* commitment weight (0.25) */
    float ema_decay;       /* codebook EMA decay (0.99) */
    float ema_eps;         /* Laplace smoothing of the counts (1e-5) */
    float restart_threshold; /* a code whose EMA count falls below is restarted */
} ts_vq_config;

ts_vq_config ts_vq_default_config(void);

#define TS_VQ_DOWN 4 /* both encoders downsample by 4 per axis */

typedef struct ts_vq ts_vq;

/* A fresh model with weights drawn from `seed` (He init) and an empty
 * codebook (training initialises it from the first batch). */
ts_status ts_vq_new(const ts_vq_config *cfg, uint64_t seed, ts_vq **out);
void ts_vq_free(ts_vq *vq);
const ts_vq_config *ts_vq_get_config(const ts_vq *vq);
size_t ts_vq_n_params(const ts_vq *vq); /* trainable floats (codebook excluded) */
/* The shared codebook: codebook_size rows of dim floats. */
const float *ts_vq_codebook(const ts_vq *vq);

/* GGUF: tensors vq.* and keys tessera.vq.* added to an existing writer, so
 * the VQ part can live in a file with other parts. */
ts_status ts_vq_add_to_gguf(const ts_vq *vq, ts_gguf_writer *w);
ts_status ts_vq_from_gguf(const ts_gguf *g, const char *name, ts_vq **out);
ts_status ts_vq_load_file(const char *path, ts_vq **out);
ts_status ts_vq_save_file(const ts_vq *vq, const char *path);

/* Images: x is n x 3 x S x S planar floats in [-1, 1] (S = image_size);
 * codes n x (S/4)^2 in raster order. pool may be NULL (one thread). */
ts_status ts_vq_encode_images(const ts_vq *vq, ts_pool *pool, const float *x, int n,
                              int32_t *codes);
ts_status ts_vq_decode_images(const ts_vq *vq, ts_pool *pool, const int32_t *codes, int n,
                              float *x);
/* Audio: mel is n clips of n_mels x T (T a multiple of 4); codes n x T/4. */
ts_status ts_vq_encode_audio(const ts_vq *vq, ts_pool *pool, const float *mel, int n, int T,
                             int32_t *codes);
ts_status ts_vq_decode_audio(const ts_vq *vq, ts_pool *pool, const int32_t *codes, int n,
                             int n_codes, float *mel);
/* The same encodings, plus z: each code's encoder output before
 * quantisation, rows of dim floats in the codes' order (what the codes
 * lose, for probes). */
ts_status ts_vq_encode_images_z(const ts_vq *vq, ts_pool *pool, const float *x, int n,
                                int32_t *codes, float *z);
ts_status ts_vq_encode_audio_z(const ts_vq *vq, ts_pool *pool, const float *mel, int n, int T,
                               int32_t *codes, float *z);

/* ---- data -------------------------------------------------------------- */
/* Image and audio collections for training and evaluation. Images are kept
 * as 8-bit 3 x 32 x 32; audio as fixed-length log-mels (n_mels x frames). */
typedef struct ts_vq_data ts_vq_data;
ts_vq_data *ts_vq_data_new(int image_size, int n_mels, int frames);
void ts_vq_data_free(ts_vq_data *d);
/* Adds every image under `path`: a folder (recursively) of PNG/JPEG files, a
 * tar of them, a single image, or an MNIST idx(.gz) images file. max > 0
 * caps how many are taken from this source. */
ts_status ts_vq_data_add_images(ts_vq_data *d, const char *path, int max);
/* Adds one image given as 3 x S x S floats in [-1, 1] (e.g. a generated one). */
ts_status ts_vq_data_add_image(ts_vq_data *d, const float *x);
/* Adds every WAV/FLAC/... clip under `path` (file or folder), each cropped
 * (centre) or zero-padded to `frames`. `exclude` / `only` filter on the
 * file's base name (NULL: no filter): comma-separated patterns, each a
 * substring, with a leading '^' a prefix, or sc%P: a speech-commands clip
 * (SPEAKER_nohash_N) of the P % of speakers ts_sc_speaker_is_val holds out
 * ("theo,sc%10" matches the FSDD speaker theo and the decoder corpus's
 * held-out speech-commands speakers). */
ts_status ts_vq_data_add_audio(ts_vq_data *d, const char *path, int max, const char *exclude,
                               const char *only);
int ts_vq_data_n_images(const ts_vq_data *d);
int ts_vq_data_n_audio(const ts_vq_data *d);
/* Image i as floats (3 x S x S in [-1, 1]); clip i as n_mels x frames. */
void ts_vq_data_image(const ts_vq_data *d, int i, float *out);
void ts_vq_data_audio(const ts_vq_data *d, int i, float *out);

/* Quality over a collection: image PSNR (dB, on [0, 1] pixels, from the
 * mean squared error over all images), log-mel mean absolute error, and the
 * code histograms (K counts each, may be NULL). */
typedef struct {
    int n_images, n_audio;
    double psnr, mel_mae;
    double img_usage, img_perplexity, aud_usage, aud_perplexity;
} ts_vq_eval;
ts_status ts_vq_evaluate(const ts_vq *vq, ts_pool *pool, const ts_vq_data *d, ts_vq_eval *out,
                         int64_t *img_hist, int64_t *aud_hist);
/* fraction of the K codes with a non-zero count, and exp(entropy) */
void ts_vq_usage(const int64_t *hist, int K, double *usage, double *perplexity);

/* ---- training ---------------------------------------------------------- */
typedef struct {
    int64_t steps;
    int img_batch, aud_batch;
    float lr, lr_min;
    int64_t warmup;
    uint64_t seed;
    int threads;
    int checkpoint_every; /* steps; 0: only at the end */
    int eval_every;       /* steps; 0: only at the end */
    const char *out_path;        /* the model */
    const char *checkpoint_path; /* where checkpoints go (NULL: OUT.ckpt) */
    const char *resume_path;     /* NULL: start fresh */
    const char *csv_path;        /* NULL: OUT.csv */
    const char *plot_path;       /* NULL: OUT.png */
    int64_t stop_after;   /* stop (with a checkpoint) after this step; 0: never */
} ts_vq_train_opts;

ts_vq_train_opts ts_vq_train_defaults(void);

/* Per-step numbers handed to the progress callback. */
typedef struct {
    int64_t step, steps;
    double img_recon, aud_recon, img_commit, aud_commit, loss;
    double img_usage, aud_usage; /* fraction of K used in this step's batch */
    int restarts;
    double images_per_s, audio_s_per_s, eta_s;
    float lr;
    const ts_vq_eval *val;       /* non-NULL on evaluation steps */
    int n_val;                   /* how many val sets */
    /* over all val sets together: usage per modality and codes both use */
    double val_img_usage, val_aud_usage;
    int val_shared_codes;
} ts_vq_step_info;
typedef void (*ts_vq_progress_fn)(void *ctx, const ts_vq_step_info *info);

/* Trains a model on `train` (images and/or audio) and writes it; evaluates
 * on each of the n_val sets (may be 0). cfg is ignored when resuming (the
 * checkpoint's is used). */
ts_status ts_vq_train(const ts_vq_config *cfg, const ts_vq_train_opts *opts,
                      const ts_vq_data *train, const ts_vq_data *const *val, int n_val,
                      ts_vq_progress_fn progress, void *progress_ctx);


/* ---- files --------------------------------------------------------------- */
typedef enum { TS_VQ_IMAGE = 1, TS_VQ_AUDIO = 2 } ts_vq_input_kind;
/* Reads an image or audio file (kind from content) into the VQ-VAE's input:
 * an image as 3 x S x S floats; audio as its whole log-mel, n_mels x T with
 * the clip zero-padded so that T is a multiple of 4. *data is malloc'd. */
ts_status ts_vq_load_media(const ts_vq *vq, const char *path, int threads, ts_vq_input_kind *kind,
                           float **data, int *T);
/* The same, a clip quieter than level_floor first brought up to it
 * (ts_audio_level_floor; 0: as recorded): how caption, ask, chat and eval
 * read files (TS_LEVEL_FLOOR by default). */
ts_status ts_vq_load_media_floor(const ts_vq *vq, const char *path, int threads, float level_floor,
                                 ts_vq_input_kind *kind, float **data, int *T);
/* Two spectrograms (n_mels x T each) in one picture: a above, b below. */
ts_status ts_vq_mel_compare_png(const char *path, const float *a, const float *b, int n_mels, int T);
/* An image (3 x S x S in [-1, 1]) as an RGB PNG, each pixel scale x scale. */
ts_status ts_vq_image_png(const char *path, const float *x, int S, int scale);

#endif
