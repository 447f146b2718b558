/* The model as a ts_scorer: an item's media are decoded and encoded to VQ
 * codes once, the multiple-choice prompt comes from fusion/ (ts_mc_prompt),
 * and each option is scored as the ANSWER of the one template
 * (ts_fusion_build) by the decoder's teacher-forced log-likelihood. The
 * template's head (media, prompt, up to <assistant>) is the same for every
 * option, so it runs once per item into a KV cache and each option's
 * answer continues from there; the heads of an item's views go in as one
 * batched pass, one session each (ts_sessions_score_continuations). */
#include "fusion/views.h"
#include "tessera/eval.h"
#include "tessera/fusion.h"
#include "tessera/model.h"
#include "tessera/pipeline.h"
#include "tessera/vqvae.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *path;
    ts_gguf *g;
    ts_model *model;
    ts_vq *vq; /* NULL: the file has no VQ-VAE, so items with media fail */
    ts_vocab vocab;
    int n_workers;
    int views;    /* test-time views per medium (fusion/views.h) */
    float level_floor; /* clips quieter than this are brought up to it */
    ts_bpe **tok; /* one per worker: a tokenizer keeps a cache */
    ts_seq *seq;  /* one per worker, reused across items */
    ts_session **sess; /* views per worker: the KV caches of an item's prompt's views */
    ts_generator **gen; /* one per worker, for answers written out (kept across items) */
} model_scorer;

static void ms_free(void *vctx) {
    model_scorer *ms = vctx;
    if (!ms) return;
    for (int w = 0; w < ms->n_workers; w++) {
        if (ms->tok) ts_bpe_free(ms->tok[w]);
        if (ms->seq) ts_seq_free(&ms->seq[w]);
        if (ms->gen) ts_generator_free(ms->gen[w]);
    }
    for (int i = 0; ms->sess && i < ms->n_workers * ms->views; i++)
        ts_session_free(ms->sess[i]);
    free(ms->tok);
    free(ms->seq);
    free(ms->sess);
    free(ms->gen);
    ts_model_free(ms->model);
    ts_vq_free(ms->vq);
    ts_gguf_close(ms->g);
    free(ms->path);
    free(ms);
}

/* Media of one item as codes, each decoded once: the kind is found from
 * the file's content (ts_vq_load_media: an image through the image front
 * end, audio as its log-mel padded to whole codes, exactly as the VQ-VAE's
 * other users read files), then the VQ encoder, in ms->views views.
 * codes[m] is malloc'd. */
static ts_status encode_media(const model_scorer *ms, const ts_eval_item *it, ts_media *media,
                              int32_t **codes) {
    if (it->n_media && !ms->vq)
        return ts_fail(TS_ERR_INPUT,
                       "%s: the model has no VQ-VAE (tessera.vq.*), so it cannot read %s", ms->path,
                       it->media_paths[0]);
    for (int m = 0; m < it->n_media; m++) {
        const char *path = it->media_paths[m];
        ts_vq_input_kind kind;
        float *x = NULL;
        int T = 0;
        ts_status s = ts_vq_load_media_floor(ms->vq, path, 1, ms->level_floor, &kind, &x, &T);
        if (s) return s;
        int nc, nv = view_count(kind, ms->views);
        if (kind == TS_VQ_IMAGE) {
            int S = ts_vq_get_config(ms->vq)->image_size;
            nc = (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN);
        } else {
            nc = T / TS_VQ_DOWN;
        }
        codes[m] = malloc((size_t)(nc > 0 ? nc : 1) * nv * sizeof **codes);
        if (!codes[m])
            s = ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
        else
            s = view_encode(ms->vq, NULL, kind, x, T, nv, codes[m]);
        free(x);
        if (s) return s;
        media[m] =
            (ts_media){kind == TS_VQ_IMAGE ? TS_MEDIA_IMAGE : TS_MEDIA_AUDIO, codes[m], nc, nv};
    }
    return TS_OK;
}

/* Media codes and the prompt, shared by every option of the item. */
typedef struct {
    ts_media *media;
    int32_t **codes;
    int n_media;
    char *prompt;
} item_input;

static void input_free(item_input *in) {
    for (int m = 0; m < in->n_media; m++)
        free(in->codes[m]);
    free(in->codes);
    free(in->media);
    free(in->prompt);
}

static ts_status input_build(const model_scorer *ms, const ts_eval_item *it, item_input *in) {
    memset(in, 0, sizeof *in);
    in->n_media = it->n_media;
    in->media = calloc(it->n_media ? (size_t)it->n_media : 1, sizeof *in->media);
    in->codes = calloc(it->n_media ? (size_t)it->n_media : 1, sizeof *in->codes);
    if (!in->media || !in->codes) return ts_fail(TS_ERR_NOMEM, "out of memory");
    ts_status s = encode_media(ms, it, in->media, in->codes);
    if (!s)
        s = ts_mc_prompt(it->question, it->hint, (const char *const *)it->choices, it->n_choices,
                         &in->prompt);
    return s;
}

/* The options' answer tokens, each ending in <eos> (conts[c], lens[c]: one
 * allocation at conts[0]), and the template's head up to <assistant>
 * (*prefix, *n_prefix), built with these media. */
static ts_status build_options(model_scorer *ms, int worker, const ts_eval_item *it,
                               const ts_media *media, int n_media, const char *prompt,
                               int32_t **conts, int *lens, int32_t **prefix, int *n_prefix) {
    ts_seq *seq = &ms->seq[worker];
    const int k = it->n_choices;
    int32_t *answers = NULL;
    size_t used = 0, cap = 0;
    ts_status s = TS_OK;
    for (int c = 0; !s && c < k; c++) {
        s = ts_fusion_build(ms->tok[worker], &ms->vocab, media, n_media, prompt, it->choices[c],
                            seq);
        if (s) break;
        const int start = seq->answer_start, len = seq->n - start;
        if (c == 0) {
            *n_prefix = start;
            if (!(*prefix = malloc(sizeof **prefix * (size_t)(start > 0 ? start : 1)))) {
                s = ts_fail(TS_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(*prefix, seq->tokens, sizeof **prefix * (size_t)start);
        } else if (start != *n_prefix ||
                   memcmp(*prefix, seq->tokens, sizeof **prefix * (size_t)start)) {
            s = ts_fail(TS_ERR_INTERNAL, "eval: option %d changed the prompt's tokens", c);
            break;
        }
        if (used + (size_t)len > cap) {
            size_t ncap = (used + (size_t)len) * 2 + 64;
            int32_t *n = realloc(answers, sizeof *n * ncap);
            if (!n) {
                s = ts_fail(TS_ERR_NOMEM, "out of memory");
                break;
            }
            answers = n, cap = ncap;
        }
        memcpy(answers + used, seq->tokens + start, sizeof *answers * (size_t)len);
        lens[c] = len;
        used += (size_t)len;
    }
    if (s) {
        free(answers);
        return s;
    }
    for (int c = 0, off = 0; c < k; off += lens[c++])
        conts[c] = answers + off;
    return TS_OK;
}

/* What ms_score and ms_generate start from: the item's input, its number
 * of views and room for one view of its media (free both, whatever the
 * status). */
static ts_status item_open(const model_scorer *ms, int worker, const ts_eval_item *it,
                           item_input *in, int *K, ts_media **view) {
    memset(in, 0, sizeof *in);
    *K = 1, *view = NULL;
    if (worker < 0 || worker >= ms->n_workers)
        return ts_fail(TS_ERR_INTERNAL, "eval: worker %d of a scorer made for %d", worker,
                       ms->n_workers);
    ts_status s = input_build(ms, it, in);
    if (!s) *K = ts_media_views(in->media, in->n_media);
    *view = calloc(in->n_media ? (size_t)in->n_media : 1, sizeof **view);
    if (!s && !*view) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    return s;
}

static ts_status ms_score(void *vctx, int worker, const ts_eval_item *it, double *logprob,
                          int *n_tokens) {
    model_scorer *ms = vctx;
    item_input in;
    int K;
    ts_media *view;
    ts_status s = item_open(ms, worker, it, &in, &K, &view);
    const int k = it->n_choices;
    /* the options' answers are the same in every view; only the head (the
     * media codes) differs */
    int32_t **conts = calloc(k ? (size_t)k : 1, sizeof *conts), *prefix[TS_MAX_VIEWS] = {0};
    int *lens = calloc(k ? (size_t)k : 1, sizeof *lens), n_prefix[TS_MAX_VIEWS] = {0};
    double *all = calloc((size_t)(k ? k : 1) * K, sizeof *all);
    int *counts = calloc((size_t)(k ? k : 1) * K, sizeof *counts);
    if (!s && (!conts || !lens || !all || !counts)) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    for (int v = 0; !s && v < K; v++) {
        ts_media_view(in.media, in.n_media, v, view);
        if (v == 0) {
            s = build_options(ms, worker, it, view, in.n_media, in.prompt, conts, lens, &prefix[0],
                              &n_prefix[0]);
            continue;
        }
        ts_seq *seq = &ms->seq[worker];
        s = ts_fusion_build(ms->tok[worker], &ms->vocab, view, in.n_media, in.prompt, NULL, seq);
        if (!s && !(prefix[v] = malloc(sizeof *prefix[v] * (size_t)(seq->n > 0 ? seq->n : 1))))
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
        if (!s) memcpy(prefix[v], seq->tokens, sizeof *prefix[v] * (size_t)seq->n);
        n_prefix[v] = seq->n;
    }
    if (!s && k)
        s = ts_sessions_score_continuations(&ms->sess[worker * ms->views], K, NULL,
                                            (const int32_t *const *)prefix, n_prefix, k,
                                            (const int32_t *const *)conts, lens, all, counts);
    /* each option's mean over the views */
    for (int c = 0; !s && c < k; c++) {
        double sum = 0;
        for (int v = 0; v < K; v++)
            sum += all[v * k + c];
        logprob[c] = K > 1 ? sum / K : sum;
        n_tokens[c] = counts[c];
    }
    for (int v = 0; v < K; v++)
        free(prefix[v]);
    free(conts ? conts[0] : NULL);
    free(conts);
    free(lens);
    free(all);
    free(counts);
    free(view);
    input_free(&in);
    return s;
}

typedef struct {
    int32_t *ids;
    int n, cap;
    int32_t n_text;
} collected;

/* Keeps text tokens; the answer ends at the first special or media code. */
static bool collect_token(int32_t id, void *user) {
    collected *c = user;
    if (id < 0 || id >= c->n_text) return false;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        int32_t *n = realloc(c->ids, (size_t)cap * sizeof *n);
        if (!n) return false;
        c->ids = n;
        c->cap = cap;
    }
    c->ids[c->n++] = id;
    return true;
}

static ts_status ms_generate(void *vctx, int worker, const ts_eval_item *it, char **text) {
    model_scorer *ms = vctx;
    *text = NULL;
    item_input in;
    int K;
    ts_media *view;
    ts_status s = item_open(ms, worker, it, &in, &K, &view);
    /* view 0 in the worker's sequence, the others in their own */
    ts_seq more[TS_MAX_VIEWS - 1] = {{0}}, *seq[TS_MAX_VIEWS] = {s ? NULL : &ms->seq[worker]};
    for (int v = 1; v < TS_MAX_VIEWS; v++)
        seq[v] = &more[v - 1];
    collected col = {.n_text = ms->vocab.n_text};
    for (int v = 0; !s && v < K; v++) {
        ts_media_view(in.media, in.n_media, v, view);
        s = ts_fusion_build(ms->tok[worker], &ms->vocab, view, in.n_media, in.prompt, NULL, seq[v]);
    }
    if (!s) {
        /* room for the longest option and then some; greedy, so the same
         * item always gets the same text */
        size_t longest = 0;
        for (int c = 0; c < it->n_choices; c++)
            if (strlen(it->choices[c]) > longest) longest = strlen(it->choices[c]);
        int ctx = ts_model_get_config(ms->model)->context, n = seq[0]->n;
        int max_new = (int)(longest < 256 ? longest : 256) + 16;
        if (max_new > ctx - n) max_new = ctx - n;
        if (max_new < 1)
            s = ts_fail(TS_ERR_INPUT,
                        "the prompt (%d tokens) leaves no room to answer in the context of %d", n,
                        ctx);
        ts_sampler sp = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 0};
        const int32_t *tokens[TS_MAX_VIEWS];
        int lens[TS_MAX_VIEWS], made = 0;
        for (int v = 0; v < K; v++)
            tokens[v] = seq[v]->tokens, lens[v] = seq[v]->n;
        if (!s)
            s = ts_generator_run(ms->gen[worker], NULL, tokens, lens, K, max_new, &sp,
                                 ts_vocab_special(&ms->vocab, TS_TOK_EOS), 0, collect_token, &col,
                                 &made);
    }
    if (!s) {
        size_t len;
        s = ts_bpe_decode(ms->tok[worker], col.ids, (size_t)col.n, text, &len);
    }
    for (int v = 0; v < TS_MAX_VIEWS - 1; v++)
        ts_seq_free(&more[v]);
    free(view);
    free(col.ids);
    input_free(&in);
    return s;
}

/* Prefixes the current message with the file's name (the GGUF getters and
 * the tokenizer loader do not know it). */
static ts_status with_path(ts_status s, const char *path) {
    char msg[768];
    snprintf(msg, sizeof msg, "%s", ts_last_error());
    if (!strncmp(msg, path, strlen(path))) return s;
    return ts_fail(s, "%s: %s", path, msg);
}

ts_status ts_eval_model_scorer_new(const char *path, int n_workers, ts_scorer **out) {
    return ts_eval_model_scorer_new_views(path, n_workers, 1, 0, out);
}

ts_status ts_eval_model_scorer_new_views(const char *path, int n_workers, int views,
                                         float level_floor, ts_scorer **out) {
    *out = NULL;
    if (n_workers < 1) n_workers = 1;
    if (views < 1 || views > TS_MAX_VIEWS)
        return ts_fail(TS_ERR_USAGE, "eval: %d views (1 to %d)", views, TS_MAX_VIEWS);
    model_scorer *ms = calloc(1, sizeof *ms);
    ts_scorer *sc = calloc(1, sizeof *sc);
    if (!ms || !sc || !(ms->path = malloc(strlen(path) + 1))) {
        free(ms);
        free(sc);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    strcpy(ms->path, path);
    ms->n_workers = n_workers;
    ms->views = views;
    ms->level_floor = level_floor > 0 ? level_floor : 0;
    ts_status s = ts_gguf_open(path, &ms->g);
    if (!s && (s = ts_model_load_gguf(ms->g, path, &ms->model))) s = with_path(s, path);
    if (!s && (s = ts_vocab_read(ms->g, &ms->vocab))) s = with_path(s, path);
    if (!s && ms->vocab.n_vocab != ts_model_get_config(ms->model)->vocab_size)
        s = ts_fail(TS_ERR_INPUT, "%s: the vocabulary has %d ids but the decoder %d", path,
                    (int)ms->vocab.n_vocab, ts_model_get_config(ms->model)->vocab_size);
    if (!s && ts_gguf_find_key(ms->g, "tessera.vq.codebook_size") >= 0) {
        s = ts_vq_from_gguf(ms->g, path, &ms->vq);
        if (!s && ts_vq_get_config(ms->vq)->codebook_size != ms->vocab.n_codes)
            s = ts_fail(TS_ERR_INPUT, "%s: the VQ codebook has %d codes but the vocabulary %d",
                        path, ts_vq_get_config(ms->vq)->codebook_size, (int)ms->vocab.n_codes);
    }
    if (!s) {
        ms->tok = calloc((size_t)n_workers, sizeof *ms->tok);
        ms->seq = calloc((size_t)n_workers, sizeof *ms->seq);
        ms->sess = calloc((size_t)n_workers * views, sizeof *ms->sess);
        ms->gen = calloc((size_t)n_workers, sizeof *ms->gen);
        if (!ms->tok || !ms->seq || !ms->sess || !ms->gen)
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; !s && i < n_workers * views; i++)
        s = ts_session_new(ms->model, 0, &ms->sess[i]);
    for (int w = 0; !s && w < n_workers; w++)
        s = ts_generator_new(ms->model, &ms->gen[w]);
    for (int w = 0; !s && w < n_workers; w++) {
        if ((s = ts_bpe_load(ms->g, &ms->tok[w])))
            s = with_path(s, path);
        else if (ts_bpe_n_text(ms->tok[w]) != ms->vocab.n_text)
            s = ts_fail(TS_ERR_INPUT, "%s: the tokenizer has %d tokens but the vocabulary %d", path,
                        ts_bpe_n_text(ms->tok[w]), (int)ms->vocab.n_text);
    }
    if (s) {
        ms_free(ms);
        free(sc);
        return s;
    }
    /* the eval pool runs items in parallel, -t N threads in all: BLAS inside
     * each worker stays on one thread (DESIGN.md: threads) */
    openblas_set_num_threads(1);
    sc->ctx = ms;
    sc->score = ms_score;
    sc->generate = ms_generate;
    sc->free = ms_free;
    snprintf(sc->name, sizeof sc->name, "%s", path);
    *out = sc;
    return TS_OK;
}
