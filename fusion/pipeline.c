/* The runtime behind caption, ask and chat: one GGUF holding the tokenizer,
 * the VQ-VAE and the decoder; media read (kind from content) and encoded in
 * batches; answers generated with the one template (ts_fusion_build) and
 * streamed piece by piece. */
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusion/views.h"
#include "tessera/audio.h"
#include "tessera/pipeline.h"

struct ts_pipeline {
    char *path;
    ts_gguf *g;
    ts_bpe **tok; /* one per worker: a tokenizer keeps a cache */
    ts_vq *vq;
    ts_model *model;
    ts_generator **gen; /* one per worker: its KV caches, kept from item to item */
    ts_vocab vocab;
    ts_pool *pool;
    int n_workers;
    int views; /* test-time views of each medium encoded (fusion/views.h) */
    float level_floor; /* clips quieter than this are brought up to it */
};

const ts_vocab *ts_pipeline_vocab(const ts_pipeline *p) { return &p->vocab; }
ts_pool *ts_pipeline_pool(ts_pipeline *p) { return p->pool; }
void ts_pipeline_set_views(ts_pipeline *p, int views) {
    p->views = views < 1 ? 1 : views > TS_MAX_VIEWS ? TS_MAX_VIEWS : views;
}
void ts_pipeline_set_level_floor(ts_pipeline *p, float level_floor) {
    p->level_floor = level_floor > 0 ? level_floor : 0;
}

void ts_pipeline_free(ts_pipeline *p) {
    if (!p) return;
    for (int w = 0; p->tok && w < p->n_workers; w++)
        ts_bpe_free(p->tok[w]);
    free(p->tok);
    for (int w = 0; p->gen && w < p->n_workers; w++)
        ts_generator_free(p->gen[w]);
    free(p->gen);
    ts_vq_free(p->vq);
    ts_model_free(p->model);
    ts_gguf_close(p->g);
    ts_pool_free(p->pool);
    free(p->path);
    free(p);
}

/* The file's name in front of a loader's message, once. */
static ts_status with_path(ts_status s, const char *path) {
    char msg[768];
    snprintf(msg, sizeof msg, "%s", ts_last_error());
    if (!strncmp(msg, path, strlen(path))) return s;
    return ts_fail(s, "%s: %s", path, msg);
}

ts_status ts_pipeline_load(const char *path, unsigned parts, int threads, ts_pipeline **out) {
    *out = NULL;
    ts_pipeline *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    p->views = TS_DEFAULT_VIEWS;
    p->level_floor = TS_LEVEL_FLOOR;
    ts_status s = ts_gguf_open(path, &p->g);
    if (!s) {
        /* name every missing part at once */
        char missing[256] = "";
        if ((parts & TS_PART_TOKENIZER) && ts_gguf_find_key(p->g, "tokenizer.ggml.tokens") < 0)
            strcat(missing, ", the tokenizer (tokenizer.ggml.*)");
        if ((parts & TS_PART_VQ) && ts_gguf_find_key(p->g, "tessera.vq.codebook_size") < 0)
            strcat(missing, ", the VQ-VAE (tessera.vq.*, vq.*)");
        if ((parts & TS_PART_DECODER) && ts_gguf_find_key(p->g, "tessera.block_count") < 0)
            strcat(missing, ", the decoder (tessera.block_count, blk.*)");
        if ((parts & (TS_PART_TOKENIZER | TS_PART_DECODER)) &&
            ts_gguf_find_key(p->g, "tessera.vocab.code_base") < 0)
            strcat(missing, ", the vocabulary layout (tessera.vocab.*)");
        if (missing[0]) s = ts_fail(TS_ERR_INPUT, "%s: the model lacks %s", path, missing + 2);
    }
    if (!s && (parts & (TS_PART_TOKENIZER | TS_PART_DECODER)) && (s = ts_vocab_read(p->g, &p->vocab)))
        s = with_path(s, path);
    p->n_workers = threads > 0 ? threads : ts_online_cpus();
    if (!s && !(p->pool = ts_pool_new(p->n_workers))) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    if (!s && (parts & TS_PART_TOKENIZER)) {
        if (!(p->tok = calloc((size_t)p->n_workers, sizeof *p->tok)))
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
        for (int w = 0; !s && w < p->n_workers; w++)
            if ((s = ts_bpe_load(p->g, &p->tok[w]))) s = with_path(s, path);
        if (!s && ts_bpe_n_text(p->tok[0]) != p->vocab.n_text)
            s = ts_fail(TS_ERR_INPUT, "%s: the tokenizer has %d tokens but the vocabulary %d", path,
                        ts_bpe_n_text(p->tok[0]), (int)p->vocab.n_text);
    }
    if (!s && (parts & TS_PART_VQ)) {
        if ((s = ts_vq_from_gguf(p->g, path, &p->vq))) s = with_path(s, path);
        else if ((parts & TS_PART_DECODER) && ts_vq_get_config(p->vq)->codebook_size != p->vocab.n_codes)
            s = ts_fail(TS_ERR_INPUT, "%s: the VQ codebook has %d codes but the vocabulary %d", path,
                        ts_vq_get_config(p->vq)->codebook_size, (int)p->vocab.n_codes);
    }
    if (!s && (parts & TS_PART_DECODER)) {
        if ((s = ts_model_load_gguf(p->g, path, &p->model))) s = with_path(s, path);
        else if (ts_model_get_config(p->model)->vocab_size != p->vocab.n_vocab)
            s = ts_fail(TS_ERR_INPUT, "%s: the decoder has %d ids but the vocabulary %d", path,
                        ts_model_get_config(p->model)->vocab_size, (int)p->vocab.n_vocab);
        if (!s && !(p->gen = calloc((size_t)p->n_workers, sizeof *p->gen)))
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
        for (int w = 0; !s && w < p->n_workers; w++)
            s = ts_generator_new(p->model, &p->gen[w]);
    }
    if (s) {
        ts_pipeline_free(p);
        return s;
    }
    /* work is split over the pool's workers: BLAS inside each stays on one thread */
    if (p->n_workers > 1) openblas_set_num_threads(1);
    *out = p;
    return TS_OK;
}

static bool exists(const char *path) { return access(path, R_OK) == 0; }

ts_status ts_default_model_path(char *buf, size_t cap) {
    const char *env = getenv("TESSERA_MODEL");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        if (!exists(buf)) return ts_fail(TS_ERR_INPUT, "%s (from TESSERA_MODEL): no such model file", env);
        return TS_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return ts_fail(TS_ERR_INPUT, "no model given (-m) and the executable's folder is unknown");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char *const rel[] = {"../models/tessera.gguf", "../share/tessera/tessera.gguf",
                                      "models/tessera.gguf"};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, cap, "%s/%s", exe, rel[i]);
        if (exists(buf)) return TS_OK;
    }
    return ts_fail(TS_ERR_INPUT,
                   "no model: none given with -m or TESSERA_MODEL, and none at %s/../models/tessera.gguf "
                   "or %s/../share/tessera/tessera.gguf (build one with `make model`)",
                   exe, exe);
}

void ts_media_set_free(ts_media_set *s) {
    for (int i = 0; s->media && i < s->n; i++)
        free((void *)s->media[i].codes);
    free(s->media);
    memset(s, 0, sizeof *s);
}

typedef struct {
    ts_pipeline *p;
    const char *const *paths;
    ts_vq_input_kind *kind;
    float **x;
    int *T;
    ts_status *st;
    char **err;
} load_job;

static void load_one(void *ctx, int i, int count, int worker) {
    (void)count, (void)worker;
    load_job *j = ctx;
    j->st[i] = ts_vq_load_media_floor(j->p->vq, j->paths[i], 1, j->p->level_floor, &j->kind[i],
                                      &j->x[i], &j->T[i]);
    if (j->st[i]) j->err[i] = strdup(ts_last_error());
}

/* Reads n files in parallel and encodes them, each in p->views views: all
 * images through one batched encoder call, each clip on its own (lengths
 * differ). media[i] is left with n_codes 0 and errs[i] set for a file that
 * failed. */
static ts_status encode(ts_pipeline *p, const char *const *paths, int n, ts_media *media, char **errs) {
    if (n == 0) return TS_OK;
    if (!p->vq) return ts_fail(TS_ERR_INPUT, "%s: the model has no VQ-VAE", p->path);
    load_job j = {p, paths, calloc((size_t)n, sizeof *j.kind), calloc((size_t)n, sizeof *j.x),
                  calloc((size_t)n, sizeof *j.T), calloc((size_t)n, sizeof *j.st), errs};
    ts_status s = TS_OK;
    const int K = p->views > 1 ? p->views : 1;
    const int S = ts_vq_get_config(p->vq)->image_size, per = (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN);
    const size_t img_floats = (size_t)3 * S * S;
    float *batch = NULL;
    int32_t *codes = NULL;
    if (!j.kind || !j.x || !j.T || !j.st) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    if (!s) ts_pool_run(p->pool, n, load_one, &j);
    int n_img = 0;
    for (int i = 0; !s && i < n; i++)
        n_img += !j.st[i] && j.kind[i] == TS_VQ_IMAGE;
    if (!s && n_img) {
        batch = ts_alloc_floats((size_t)n_img * K * img_floats);
        codes = malloc(sizeof *codes * (size_t)n_img * K * per);
        if (!batch || !codes) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        /* the views of image k at rows k K .. k K + K - 1 */
        for (int i = 0, k = 0; !s && i < n; i++) {
            if (j.st[i] || j.kind[i] != TS_VQ_IMAGE) continue;
            for (int v = 0; v < K; v++)
                view_image(j.x[i], S, v, batch + (size_t)(k * K + v) * img_floats);
            k++;
        }
        if (!s) s = ts_vq_encode_images(p->vq, p->pool, batch, n_img * K, codes);
    }
    for (int i = 0, k = 0; !s && i < n; i++) {
        const int nv = view_count(j.kind[i], K);
        media[i] =
            (ts_media){j.kind[i] == TS_VQ_AUDIO ? TS_MEDIA_AUDIO : TS_MEDIA_IMAGE, NULL, 0, nv};
        if (j.st[i]) continue;
        int nc = j.kind[i] == TS_VQ_IMAGE ? per : j.T[i] / TS_VQ_DOWN;
        int32_t *c = malloc(sizeof *c * (size_t)(nc ? nc : 1) * nv);
        if (!c) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        if (j.kind[i] == TS_VQ_IMAGE) {
            memcpy(c, codes + (size_t)k++ * K * per, sizeof *c * per * nv);
        } else if ((s = view_encode(p->vq, p->pool, j.kind[i], j.x[i], j.T[i], K, c))) {
            free(c);
            break;
        }
        media[i].codes = c, media[i].n_codes = nc;
    }
    for (int i = 0; j.x && i < n; i++)
        free(j.x[i]);
    free(batch);
    free(codes);
    free(j.kind), free(j.x), free(j.T), free(j.st);
    return s;
}

ts_status ts_pipeline_encode_files(ts_pipeline *p, const char *const *paths, int n,
                                   ts_media_set *out) {
    memset(out, 0, sizeof *out);
    out->media = calloc(n ? (size_t)n : 1, sizeof *out->media);
    char **errs = calloc(n ? (size_t)n : 1, sizeof *errs);
    ts_status s = !out->media || !errs ? ts_fail(TS_ERR_NOMEM, "out of memory") : TS_OK;
    out->n = n;
    if (!s) s = encode(p, paths, n, out->media, errs);
    for (int i = 0; !s && i < n; i++)
        if (errs[i]) s = ts_fail(TS_ERR_INPUT, "%s", errs[i]);
    for (int i = 0; errs && i < n; i++)
        free(errs[i]);
    free(errs);
    if (s) ts_media_set_free(out);
    return s;
}

ts_answer_opts ts_answer_default_opts(void) {
    return (ts_answer_opts){.max_tokens = 64,
                            .sampler = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 0},
                            .max_seconds = 0,
                            .beam = 1};
}

typedef struct {
    const ts_pipeline *p;
    ts_bpe *tok;
    ts_text_cb cb;
    void *user;
    bool stopped;
} stream_ctx;

/* Text tokens become pieces; the answer ends at <eos> or any other
 * special or media code. */
static bool on_token(int32_t id, void *user) {
    stream_ctx *sc = user;
    if (id < 0 || id >= sc->p->vocab.n_text) return false;
    size_t len;
    const char *piece = ts_bpe_piece(sc->tok, id, &len);
    if (piece && !sc->cb(piece, len, sc->user)) {
        sc->stopped = true;
        return false;
    }
    return true;
}

/* pool: where the views run side by side (NULL inside the pool's own work) */
static ts_status answer_with(ts_pipeline *p, int worker, ts_pool *pool, const ts_media *media,
                             int n_media, const char *prompt, const ts_answer_opts *o,
                             ts_text_cb cb, void *user) {
    if (!p->model || !p->tok) return ts_fail(TS_ERR_INPUT, "%s: the model has no decoder or tokenizer", p->path);
    ts_answer_opts d = ts_answer_default_opts();
    if (!o) o = &d;
    /* one prompt per view */
    const int K = ts_media_views(media, n_media);
    if (K > TS_MAX_VIEWS)
        return ts_fail(TS_ERR_USAGE, "media with %d views (at most %d)", K, TS_MAX_VIEWS);
    ts_seq seq[TS_MAX_VIEWS] = {{0}};
    ts_media *view = calloc(n_media ? (size_t)n_media : 1, sizeof *view);
    ts_status s = view ? TS_OK : ts_fail(TS_ERR_NOMEM, "out of memory");
    for (int v = 0; !s && v < K; v++) {
        ts_media_view(media, n_media, v, view);
        s = ts_fusion_build(p->tok[worker], &p->vocab, view, n_media, prompt, NULL, &seq[v]);
    }
    int ctx = ts_model_get_config(p->model)->context;
    if (!s && seq[0].n >= ctx)
        s = ts_fail(TS_ERR_INPUT, "the prompt and media (%d tokens) do not fit the context of %d",
                    seq[0].n, ctx);
    if (!s) {
        int max_new = o->max_tokens > 0 ? o->max_tokens : 64;
        if (max_new > ctx - seq[0].n) max_new = ctx - seq[0].n;
        stream_ctx sc = {p, p->tok[worker], cb, user, false};
        const int32_t *tokens[TS_MAX_VIEWS];
        int lens[TS_MAX_VIEWS], made = 0;
        for (int v = 0; v < K; v++)
            tokens[v] = seq[v].tokens, lens[v] = seq[v].n;
        const int32_t eos = ts_vocab_special(&p->vocab, TS_TOK_EOS);
        /* a beam ends answers where on_token does: at any special or media code */
        if (o->beam > 1 && o->sampler.temperature <= 0)
            s = ts_generator_beam(p->gen[worker], pool, tokens, lens, K, max_new, o->beam, eos,
                                  p->vocab.n_text, o->max_seconds, o->stop, on_token, &sc, &made);
        else
            s = ts_generator_run(p->gen[worker], pool, tokens, lens, K, max_new, &o->sampler, eos,
                                 o->max_seconds, on_token, &sc, &made);
    }
    for (int v = 0; v < K; v++)
        ts_seq_free(&seq[v]);
    free(view);
    return s;
}

ts_status ts_pipeline_answer(ts_pipeline *p, const ts_media *media, int n_media,
                             const char *prompt, const ts_answer_opts *o, ts_text_cb cb,
                             void *user) {
    return answer_with(p, 0, p->pool, media, n_media, prompt, o, cb, user);
}

typedef struct {
    char *buf;
    size_t n, cap;
} strbuf;

static bool collect(const char *piece, size_t len, void *user) {
    strbuf *b = user;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64) + len;
        char *q = realloc(b->buf, cap);
        if (!q) return false;
        b->buf = q, b->cap = cap;
    }
    memcpy(b->buf + b->n, piece, len);
    b->n += len;
    b->buf[b->n] = 0;
    return true;
}

typedef struct {
    ts_pipeline *p;
    ts_media *media;
    const ts_answer_opts *o;
    char **texts, **errs;
} caption_job;

static void caption_one(void *ctx, int i, int count, int worker) {
    (void)count;
    caption_job *j = ctx;
    if (j->errs[i]) return;
    /* each image its own seed, so the text does not depend on the thread count */
    ts_answer_opts o = *j->o;
    o.sampler.seed += (uint64_t)i;
    strbuf b = {0};
    ts_status s =
        answer_with(j->p, worker, NULL, &j->media[i], 1, TS_CAPTION_PROMPT, &o, collect, &b);
    if (s) {
        j->errs[i] = strdup(ts_last_error());
        free(b.buf);
        return;
    }
    j->texts[i] = b.buf ? b.buf : strdup("");
}

ts_status ts_pipeline_caption(ts_pipeline *p, const char *const *paths, int n,
                              const ts_answer_opts *o, char ***texts, char ***errors) {
    ts_answer_opts d = ts_answer_default_opts();
    d.beam = TS_CAPTION_BEAM;
    if (!o) o = &d;
    *texts = calloc(n ? (size_t)n : 1, sizeof **texts);
    char **errs = calloc(n ? (size_t)n : 1, sizeof *errs);
    ts_media *media = calloc(n ? (size_t)n : 1, sizeof *media);
    ts_status s = !*texts || !errs || !media ? ts_fail(TS_ERR_NOMEM, "out of memory") : TS_OK;
    if (!s) s = encode(p, paths, n, media, errs);
    for (int i = 0; !s && i < n; i++)
        if (!errs[i] && media[i].kind != TS_MEDIA_IMAGE)
            errs[i] = strdup("not an image (an audio file: use `tessera ask`)"), (void)0;
    for (int i = 0; !s && i < n; i++)
        if (errs[i] && !strstr(errs[i], paths[i])) {
            char *m = malloc(strlen(paths[i]) + strlen(errs[i]) + 3);
            if (m) sprintf(m, "%s: %s", paths[i], errs[i]);
            free(errs[i]);
            errs[i] = m;
        }
    if (!s) {
        caption_job j = {p, media, o, *texts, errs};
        ts_pool_run(p->pool, n, caption_one, &j);
    }
    for (int i = 0; media && i < n; i++)
        free((void *)media[i].codes);
    free(media);
    if (errors) *errors = errs;
    else {
        for (int i = 0; errs && i < n; i++)
            free(errs[i]);
        free(errs);
    }
    if (s) {
        for (int i = 0; *texts && i < n; i++)
            free((*texts)[i]);
        free(*texts);
        *texts = NULL;
    }
    return s;
}
