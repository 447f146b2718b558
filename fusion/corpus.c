/* The training corpus: (media, prompt, answer) examples are buffered, their
 * media encoded with the VQ-VAE in batches (images together through one
 * call, so the encoder's GEMMs see many images), then each question/answer
 * pair is fused with the one template, one record per pair (or several
 * pairs about one medium as the turns of a record: ts_corpus_set_turns),
 * and written to the train or val shard in the order it was added. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/corpus_internal.h"
#include "tessera/audio.h"
#include "tessera/image.h"

#define IMAGE_BATCH 256
#define AUDIO_BATCH 32
/* a record of several turns stays within this many tokens, so that it fits
 * a training row of 256 (make model's LM_SEQ) with room to pack others */
#define RECORD_TOKENS 192

struct ts_corpus {
    ts_bpe *tok;
    const ts_vq *vq;
    ts_pool *pool;
    ts_vocab vocab;
    ts_shard_writer *w[2];
    int max_tokens;
    int turns; /* questions per record at most */
    corpus_item *items;
    int n_items, cap_items, n_images, n_audio;
    ts_seq seq;
    ts_corpus_stats stats;
    uint64_t seed;
    ts_outfile text; /* text mode: prompts and answers as plain text */
    bool text_mode;
    float level_floor; /* clips quieter than this peak are brought up to it (0: none) */
};

ts_corpus_options ts_corpus_default_options(void) {
    return (ts_corpus_options){.max_per_source = 0,
                               .phrasings = 1,
                               .fsdd_val_speaker = "theo",
                               .sc_val_percent = 10,
                               .scenes = 20000,
                               .tones = 10000,
                               .mc_per_source = 4,
                               .mc_options = 4,
                               .repeat = {1, 1, 1, 1, 1, 1, 1}};
}

static const char *const source_names[TS_N_SOURCES] = {
    "cifar10", "mnist", "twemoji", "fsdd", "speech_commands", "asterisk", "espeak-ng"};

const char *ts_corpus_source_name(int source) {
    return source >= 0 && source < TS_N_SOURCES ? source_names[source] : "?";
}

int ts_corpus_source_from_name(const char *name) {
    for (int i = 0; i < TS_N_SOURCES; i++)
        if (!strcmp(name, source_names[i])) return i;
    return -1;
}

const ts_vocab *ts_corpus_vocab(const ts_corpus *c) { return &c->vocab; }
const ts_corpus_stats *ts_corpus_get_stats(const ts_corpus *c) { return &c->stats; }

static void item_free(corpus_item *it) {
    free(it->x);
    for (int q = 0; q < it->n_qa; q++) {
        free(it->prompt[q]);
        free(it->answer[q]);
    }
    memset(it, 0, sizeof *it);
}

ts_status ts_corpus_open(ts_bpe *tok, const ts_vq *vq, ts_pool *pool, const char *train_path,
                         const char *val_path, uint64_t seed, ts_corpus **out) {
    *out = NULL;
    ts_corpus *c = calloc(1, sizeof *c);
    if (!c) return ts_fail(TS_ERR_NOMEM, "out of memory");
    c->tok = tok, c->vq = vq, c->pool = pool, c->max_tokens = 512, c->seed = seed, c->turns = 1;
    ts_vocab_init(&c->vocab, ts_bpe_n_text(tok), vq ? ts_vq_get_config(vq)->codebook_size : 1024);
    ts_status s = ts_shard_writer_open(train_path, c->vocab.n_vocab, &c->w[0]);
    if (!s) s = ts_shard_writer_open(val_path, c->vocab.n_vocab, &c->w[1]);
    if (s) {
        ts_corpus_abort(c);
        return s;
    }
    *out = c;
    return TS_OK;
}

ts_status ts_corpus_open_text(const char *text_path, uint64_t seed, ts_corpus **out) {
    *out = NULL;
    ts_corpus *c = calloc(1, sizeof *c);
    if (!c) return ts_fail(TS_ERR_NOMEM, "out of memory");
    c->seed = seed, c->text_mode = true, c->max_tokens = 512;
    ts_status s = ts_outfile_open(&c->text, text_path);
    if (s) {
        free(c);
        return s;
    }
    *out = c;
    return TS_OK;
}

bool corpus_text_mode(const ts_corpus *c) { return c->text_mode; }

void ts_corpus_set_level_floor(ts_corpus *c, float level) {
    c->level_floor = level > 0 ? level : 0;
}

void ts_corpus_set_turns(ts_corpus *c, int n) {
    c->turns = n < 1 ? 1 : n > CORPUS_MAX_QA ? CORPUS_MAX_QA : n;
}

void ts_corpus_abort(ts_corpus *c) {
    if (!c) return;
    if (c->text_mode && c->text.fp) ts_outfile_abort(&c->text);
    for (int i = 0; i < 2; i++)
        if (c->w[i]) ts_shard_writer_abort(c->w[i]);
    for (int i = 0; i < c->n_items; i++)
        item_free(&c->items[i]);
    free(c->items);
    ts_seq_free(&c->seq);
    free(c);
}

static ts_status write_record(ts_corpus *c, int split) {
    if (c->seq.n > c->max_tokens) {
        c->stats.skipped++;
        return TS_OK;
    }
    ts_status s = ts_shard_write(c->w[split], c->seq.tokens, c->seq.mask, c->seq.n);
    if (s) return s;
    c->stats.examples[split]++;
    c->stats.tokens[split] += c->seq.n;
    return TS_OK;
}

/* The item's question/answer pairs as turns of as few records as fit
 * c->turns pairs and RECORD_TOKENS each (ts_fusion_build_turns): the
 * media's codes are written, and run through the decoder, once per record
 * instead of once per question. A pair too long for a record of its own is
 * one record. */
static ts_status write_qa(ts_corpus *c, const corpus_item *it, const ts_media *m, int n_media) {
    const char *const *p = (const char *const *)it->prompt;
    const char *const *a = (const char *const *)it->answer;
    ts_status s = TS_OK;
    for (int q0 = 0, n = 1; q0 < it->n_qa; q0 += n, n = 1) {
        /* built: c->seq already holds the record of these n turns */
        bool built = false;
        while (n < c->turns && q0 + n < it->n_qa) { /* one more turn, while it fits */
            if ((s = ts_fusion_build_turns(c->tok, &c->vocab, m, n_media, p + q0, a + q0, n + 1,
                                           &c->seq)))
                return s;
            built = c->seq.n <= RECORD_TOKENS;
            if (!built) break;
            n++;
        }
        if (!built &&
            (s = ts_fusion_build_turns(c->tok, &c->vocab, m, n_media, p + q0, a + q0, n, &c->seq)))
            return s;
        if ((s = write_record(c, it->split))) return s;
    }
    return s;
}

/* Encodes every buffered medium (all images in one call) and writes the
 * items in the order they came. */
static ts_status flush(ts_corpus *c) {
    if (!c->n_items) return TS_OK;
    ts_status s = TS_OK;
    int32_t *img_codes = NULL;
    float *imgs = NULL;
    const int S = c->vq ? ts_vq_get_config(c->vq)->image_size : 32;
    const int per_img = (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN);
    const size_t img_floats = (size_t)3 * S * S;
    if (c->n_images) {
        imgs = ts_alloc_floats((size_t)c->n_images * img_floats);
        img_codes = malloc(sizeof *img_codes * (size_t)c->n_images * per_img);
        if (!imgs || !img_codes) s = ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
        for (int i = 0, k = 0; !s && i < c->n_items; i++)
            if (c->items[i].kind == TS_MEDIA_IMAGE)
                memcpy(imgs + (size_t)k++ * img_floats, c->items[i].x, img_floats * sizeof *imgs);
        if (!s) s = ts_vq_encode_images(c->vq, c->pool, imgs, c->n_images, img_codes);
    }
    int32_t *aud = NULL;
    for (int i = 0, k = 0; !s && i < c->n_items; i++) {
        corpus_item *it = &c->items[i];
        ts_media m = {it->kind, NULL, 0, 1};
        int n_media = 1;
        if (it->kind == TS_MEDIA_IMAGE) {
            m.codes = img_codes + (size_t)k++ * per_img;
            m.n_codes = per_img;
        } else if (it->kind == TS_MEDIA_AUDIO) {
            int nc = it->T / TS_VQ_DOWN;
            int32_t *p = realloc(aud, sizeof *p * (size_t)(nc ? nc : 1));
            if (!p) {
                s = ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
                break;
            }
            aud = p;
            if ((s = ts_vq_encode_audio(c->vq, c->pool, it->x, 1, it->T, aud))) break;
            m.codes = aud, m.n_codes = nc;
        } else {
            n_media = 0;
        }
        s = write_qa(c, it, &m, n_media);
    }
    free(aud);
    free(imgs);
    free(img_codes);
    for (int i = 0; i < c->n_items; i++)
        item_free(&c->items[i]);
    c->n_items = c->n_images = c->n_audio = 0;
    return s;
}

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Takes ownership of x (floats from ts_alloc_floats or malloc). */
ts_status corpus_push(ts_corpus *c, int split, int kind, float *x, int T, int n_qa,
                      const char *const *prompts, const char *const *answers) {
    if (c->text_mode) {
        free(x);
        for (int q = 0; q < n_qa; q++)
            fprintf(c->text.fp, "%s\n%s\n\n", prompts[q], answers[q]);
        c->stats.examples[split ? 1 : 0] += n_qa;
        if (kind == TS_MEDIA_IMAGE) c->stats.images++;
        else if (kind == TS_MEDIA_AUDIO) c->stats.clips++;
        else c->stats.texts++;
        return TS_OK;
    }
    if (kind != CORPUS_TEXT && !c->vq) {
        free(x);
        return ts_fail(TS_ERR_USAGE, "corpus: media examples need a VQ-VAE");
    }
    if (n_qa < 1 || n_qa > CORPUS_MAX_QA) {
        free(x);
        return ts_fail(TS_ERR_USAGE, "corpus: %d questions for one medium", n_qa);
    }
    if (c->n_items == c->cap_items) {
        int cap = c->cap_items ? 2 * c->cap_items : 64;
        corpus_item *p = realloc(c->items, sizeof *p * (size_t)cap);
        if (!p) {
            free(x);
            return ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
        }
        c->items = p, c->cap_items = cap;
    }
    corpus_item *it = &c->items[c->n_items++];
    memset(it, 0, sizeof *it);
    it->split = split ? 1 : 0, it->kind = kind, it->x = x, it->T = T, it->n_qa = n_qa;
    for (int q = 0; q < n_qa; q++) {
        it->prompt[q] = dup(prompts[q]);
        it->answer[q] = dup(answers[q]);
        if (!it->prompt[q] || !it->answer[q]) return ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
    }
    if (kind == TS_MEDIA_IMAGE) c->n_images++, c->stats.images++;
    else if (kind == TS_MEDIA_AUDIO) c->n_audio++, c->stats.clips++;
    else c->stats.texts++;
    if (c->n_images >= IMAGE_BATCH || c->n_audio >= AUDIO_BATCH || c->n_items >= 4 * IMAGE_BATCH)
        return flush(c);
    return TS_OK;
}

uint64_t corpus_seed(const ts_corpus *c) { return c->seed; }
int corpus_image_size(const ts_corpus *c) { return c->vq ? ts_vq_get_config(c->vq)->image_size : 32; }
int corpus_threads(const ts_corpus *c) { return c->pool ? ts_pool_threads(c->pool) : 1; }

ts_status ts_corpus_add_image(ts_corpus *c, int split, const float *img, const char *prompt,
                              const char *answer) {
    int S = corpus_image_size(c);
    float *x = ts_alloc_floats((size_t)3 * S * S);
    if (!x) return ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
    memcpy(x, img, sizeof *x * 3 * S * S);
    return corpus_push(c, split, TS_MEDIA_IMAGE, x, 0, 1, &prompt, &answer);
}

ts_status corpus_rgb_to_input(const ts_corpus *c, const uint8_t *rgb, int w, int h, float **out) {
    *out = NULL;
    if (c->text_mode) return TS_OK;
    int S = corpus_image_size(c);
    *out = ts_alloc_floats((size_t)3 * S * S);
    if (!*out) return ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
    ts_image im = {w, h, (uint8_t *)rgb};
    ts_status s = ts_image_to_input(&im, S, TS_FIT_STRETCH, *out);
    if (s) free(*out), *out = NULL;
    return s;
}

ts_status ts_corpus_add_rgb(ts_corpus *c, int split, const uint8_t *rgb, int w, int h,
                            const char *prompt, const char *answer) {
    float *x;
    ts_status s = corpus_rgb_to_input(c, rgb, w, h, &x);
    if (s) return s;
    return corpus_push(c, split, TS_MEDIA_IMAGE, x, 0, 1, &prompt, &answer);
}

ts_status corpus_pcm_to_mel(const ts_corpus *c, const float *pcm, size_t n, float **mel, int *T) {
    *mel = NULL, *T = 0;
    if (c->text_mode) return TS_OK;
    /* cut long clips, then pad to whole codes (4 frames of 160 samples), as
     * ts_vq_load_media pads what `ask` reads */
    size_t max = (size_t)CORPUS_MAX_SECONDS * TS_SAMPLE_RATE;
    if (n > max) n = max;
    size_t unit = (size_t)TS_HOP * TS_VQ_DOWN, m = (n + unit - 1) / unit * unit;
    if (m == 0) m = unit;
    float *p = calloc(m, sizeof *p);
    if (!p) return ts_fail(TS_ERR_NOMEM, "corpus: out of memory");
    memcpy(p, pcm, n * sizeof *p);
    ts_audio_level_floor(p, n, c->level_floor); /* as ask reads a clip with the same floor */
    ts_status s = ts_logmel(p, m, corpus_threads(c), mel, T);
    free(p);
    return s;
}

ts_status ts_corpus_add_pcm(ts_corpus *c, int split, const float *pcm, size_t n,
                            const char *prompt, const char *answer) {
    float *mel;
    int T;
    ts_status s = corpus_pcm_to_mel(c, pcm, n, &mel, &T);
    if (s) return s;
    return corpus_push(c, split, TS_MEDIA_AUDIO, mel, T, 1, &prompt, &answer);
}

ts_status ts_corpus_add_text(ts_corpus *c, int split, const char *prompt, const char *answer) {
    return corpus_push(c, split, CORPUS_TEXT, NULL, 0, 1, &prompt, &answer);
}

ts_status ts_corpus_commit(ts_corpus *c, ts_corpus_stats *stats) {
    if (c->text_mode) {
        ts_status s = ts_outfile_commit(&c->text);
        c->text.fp = NULL;
        if (stats) *stats = c->stats;
        free(c);
        return s;
    }
    ts_status s = flush(c);
    if (!s) {
        s = ts_shard_writer_commit(c->w[0]);
        c->w[0] = NULL;
        if (!s) s = ts_shard_writer_commit(c->w[1]);
        c->w[1] = NULL;
    }
    if (stats) *stats = c->stats;
    ts_corpus_abort(c);
    return s;
}
