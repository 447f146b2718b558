/* The corpus's data sets (../shared/data layouts, see each README) and the
 * generators: each turns its media and labels into (prompt, answer) pairs,
 * with varied phrasings and generated multiple-choice questions in the one
 * ts_mc_prompt format. Folders are read in sorted order, so the shards are
 * the same bytes on every run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fusion/augment.h"
#include "fusion/corpus_internal.h"
#include "tessera/audio.h"
#include "tessera/dataset.h"
#include "tessera/image.h"
#include "tessera/json.h"

static const char *const cifar_classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};
static const char *const digit_words[10] = {"zero", "one", "two",   "three", "four",
                                            "five", "six", "seven", "eight", "nine"};
static const char *const sc_classes[12] = {"yes", "no",  "up",   "down", "left",    "right",
                                           "on",  "off", "stop", "go",   "unknown", "silence"};

static const char *article(const char *w) { return strchr("aeiouAEIOU", w[0]) ? "an" : "a"; }

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void source_rng(ts_corpus *c, const char *name, ts_rng *r) {
    ts_rng_seed(r, corpus_seed(c) ^ fnv(name));
}

/* A generated multiple-choice question: the right option and n - 1 others
 * from `names`, shuffled; *prompt is malloc'd, *answer points into names. */
static ts_status make_mc(ts_rng *r, const char *question, const char *const *names, int n_names,
                         int right, int n, char **prompt, const char **answer) {
    if (n > n_names) n = n_names;
    const char *opt[TS_MC_MAX_OPTIONS];
    int used[64], n_used = 0;
    opt[0] = names[right];
    used[n_used++] = right;
    while (n_used < n) {
        int k = (int)ts_rng_below(r, (uint32_t)n_names), dupe = 0;
        for (int j = 0; j < n_used; j++)
            dupe |= used[j] == k;
        if (!dupe) opt[n_used] = names[k], used[n_used++] = k;
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ts_rng_below(r, (uint32_t)i + 1);
        const char *t = opt[i];
        opt[i] = opt[j], opt[j] = t;
    }
    *answer = names[right];
    return ts_mc_prompt(question, "", opt, n, prompt);
}

/* How a train item is repeated (ts_corpus_options.repeat): its source and
 * number there (the copies' seeds), the copies in all (1: the original
 * only), and what the augmented copies are made from. */
typedef struct {
    int source;
    int64_t index;
    int copies;
    bool flip, edge; /* images: mirror odd copies; fill from the edge, else with fill */
    float fill;
    const float *pcm; /* clips: the samples the copies are made from */
    size_t n_pcm;
    const aug_noise *noise;
    float narrow; /* clips: the share of copies through the telephone band */
} copy_plan;

static int copies_of(const ts_corpus *c, const ts_corpus_options *o, int source) {
    int k = o->repeat[source];
    if (corpus_text_mode(c) || k < 1) return 1;
    return k > TS_MAX_REPEAT ? TS_MAX_REPEAT : k;
}

/* The plan of a train clip's copies: augmented with the source's noise,
 * and o->narrowband percent of them cut to the telephone band. */
static copy_plan clip_plan(int source, int64_t index, int copies, const aug_noise *nz,
                           const ts_corpus_options *o) {
    return (copy_plan){.source = source,
                       .index = index,
                       .copies = copies,
                       .noise = nz,
                       .narrow = o->narrowband / 100.0f};
}

/* Copies 1.. of a train item, each with the same pairs; orig is the
 * image input (3 x S x S) or NULL for a clip. */
static ts_status push_copies(ts_corpus *c, int kind, const float *orig, int n_qa,
                             const char *const *prompts, const char *const *answers,
                             const copy_plan *cp) {
    ts_status s = TS_OK;
    const int S = corpus_image_size(c);
    const size_t img_floats = (size_t)3 * S * S;
    for (int k = 1; !s && k < cp->copies; k++) {
        ts_rng r;
        ts_rng_seed(&r, aug_seed(corpus_seed(c), cp->source, cp->index, k));
        float *x = NULL;
        int T = 0;
        if (kind == TS_MEDIA_IMAGE) {
            if (!(x = ts_alloc_floats(img_floats))) return ts_fail(TS_ERR_NOMEM, "out of memory");
            memcpy(x, orig, sizeof *x * img_floats);
            if ((s = aug_image_random(&r, x, S, cp->flip && k % 2 == 1, cp->edge, cp->fill))) {
                free(x);
                break;
            }
        } else {
            float *pcm;
            size_t n;
            if ((s = aug_audio_random(&r, cp->noise, cp->narrow, cp->pcm, cp->n_pcm, &pcm, &n)))
                break;
            s = corpus_pcm_to_mel(c, pcm, n, &x, &T);
            free(pcm);
            if (s) break;
        }
        s = corpus_push(c, TS_SPLIT_TRAIN, kind, x, T, n_qa, prompts, answers);
    }
    return s;
}

/* How many options a generated question shows: 4 (or all of fewer
 * names), or with most > 4 a count drawn from 4 .. most (at most all the
 * names), so that the model also meets longer lists of options. No draw
 * when there is one count, so most 4 draws what the builds before did. */
static int mc_count(ts_rng *r, int n_names, int most) {
    int lo = n_names < 4 ? n_names : 4, hi = n_names < most ? n_names : most;
    return hi > lo ? lo + (int)ts_rng_below(r, (uint32_t)(hi - lo + 1)) : lo;
}

/* Pushes a medium with its pairs plus, every `every`-th call, one
 * multiple-choice question (mc_q over mc_count's share of names, right
 * answer `right`); a train item then cp->copies - 1 augmented copies (cp
 * NULL: none). */
static ts_status push_with_mc(ts_corpus *c, ts_rng *r, int split, int kind, float *x, int T,
                              int n_qa, const char **prompts, const char **answers, int every,
                              int most, int64_t index, const char *mc_q, const char *const *names,
                              int n_names, int right, const copy_plan *cp) {
    char *mcp = NULL;
    if (every > 0 && mc_q && index % every == 0 && n_qa < CORPUS_MAX_QA) {
        ts_status s = make_mc(r, mc_q, names, n_names, right, mc_count(r, n_names, most), &mcp,
                              &answers[n_qa]);
        if (s) {
            free(x);
            return s;
        }
        prompts[n_qa++] = mcp;
    }
    bool repeat = cp && cp->copies > 1 && split == TS_SPLIT_TRAIN && x;
    float *orig = NULL;
    const size_t img_floats = (size_t)3 * corpus_image_size(c) * corpus_image_size(c);
    if (repeat && kind == TS_MEDIA_IMAGE) {
        /* corpus_push takes x (and may free it at once): keep the original */
        if (!(orig = ts_alloc_floats(img_floats))) {
            free(x);
            free(mcp);
            return ts_fail(TS_ERR_NOMEM, "out of memory");
        }
        memcpy(orig, x, sizeof *orig * img_floats);
    }
    ts_status s = corpus_push(c, split, kind, x, T, n_qa, prompts, answers);
    if (!s && repeat) s = push_copies(c, kind, orig, n_qa, prompts, answers, cp);
    free(orig);
    free(mcp);
    return s;
}

/* ---- images ----------------------------------------------------------- */

static ts_status cifar_tar(ts_corpus *c, const char *path, int split, int max, ts_rng *r,
                           const ts_corpus_options *o) {
    ts_mapped_file f;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    ts_tar t;
    ts_tar_init(&t, f.data, f.len, path);
    int S = corpus_image_size(c), done_n = 0;
    static const char *const phr[] = {"a photo of %s %s", "a picture of %s %s",
                                      "an image of %s %s", "a small photo of %s %s",
                                      "%s %s"};
    for (bool done = false; !s && (max <= 0 || done_n < max);) {
        ts_tar_member m;
        if ((s = ts_tar_next(&t, &m, &done)) || done) break;
        if (m.type != '0' && m.type != '\0') continue;
        const char *slash = strchr(m.name, '/');
        int cls = -1;
        for (int k = 0; slash && k < 10; k++)
            if ((size_t)(slash - m.name) == strlen(cifar_classes[k]) &&
                !strncmp(m.name, cifar_classes[k], (size_t)(slash - m.name)))
                cls = k;
        if (cls < 0) continue;
        float *x = corpus_text_mode(c) ? NULL : ts_alloc_floats((size_t)3 * S * S);
        if (!x && !corpus_text_mode(c)) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        if (x && (s = ts_image_load_input_mem(m.data, m.size, m.name, S, TS_FIT_STRETCH, x))) {
            free(x);
            s = ts_fail(s, "%s: %s", path, ts_last_error());
            break;
        }
        const char *cl = cifar_classes[cls];
        char caps[4][96], ask[96];
        const char *prompts[CORPUS_MAX_QA], *answers[CORPUS_MAX_QA];
        int n_qa = 0, np = o->phrasings < 1 ? 1 : o->phrasings > 4 ? 4 : o->phrasings;
        for (int p = 0; p < np; p++) {
            snprintf(caps[p], sizeof caps[p], phr[ts_rng_below(r, 5)], article(cl), cl);
            prompts[n_qa] = TS_CAPTION_PROMPT, answers[n_qa++] = caps[p];
        }
        snprintf(ask, sizeof ask, "%s %s", article(cl), cl);
        prompts[n_qa] = "What is in the image?", answers[n_qa++] = ask;
        copy_plan cp = {.source = TS_SRC_CIFAR10, .index = done_n,
                        .copies = copies_of(c, o, TS_SRC_CIFAR10), .flip = true, .edge = true};
        s = push_with_mc(c, r, split, TS_MEDIA_IMAGE, x, 0, n_qa, prompts, answers,
                         o->mc_per_source, o->mc_options, done_n, "What is shown in the image?",
                         cifar_classes, 10, cls, &cp);
        done_n++;
    }
    ts_unmap_file(&f);
    return s;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

ts_status ts_corpus_add_cifar10(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    ts_rng r;
    source_rng(c, "cifar10", &r);
    char *tr = join(dir, "train.tar"), *te = join(dir, "test.tar");
    ts_status s = !tr || !te ? ts_fail(TS_ERR_NOMEM, "out of memory") : TS_OK;
    if (!s) s = cifar_tar(c, tr, TS_SPLIT_TRAIN, o->max_per_source, &r, o);
    /* a slice of the official test split gives the val loss; the whole
     * test split stays for the accuracy benchmark */
    if (!s) s = cifar_tar(c, te, TS_SPLIT_VAL, 500, &r, o);
    free(tr);
    free(te);
    return s;
}

/* An idx1 labels file, plain or gzipped. */
ts_status corpus_read_labels(const char *path, uint8_t **labels, int *count) {
    gzFile g = gzopen(path, "rb");
    if (!g) return ts_fail(TS_ERR_INPUT, "%s: cannot open", path);
    uint8_t h[8];
    ts_status s = TS_OK;
    if (gzread(g, h, 8) != 8 || h[0] || h[1] || h[2] != 8 || h[3] != 1)
        s = ts_fail(TS_ERR_INPUT, "%s: not an idx1 labels file", path);
    int n = (int)((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7]);
    if (!s && (n < 0 || n > 10000000)) s = ts_fail(TS_ERR_INPUT, "%s: %d labels", path, n);
    if (!s && !(*labels = malloc((size_t)n + 1))) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    if (!s && gzread(g, *labels, (unsigned)n) != n) {
        free(*labels);
        s = ts_fail(TS_ERR_INPUT, "%s: truncated", path);
    }
    for (int i = 0; !s && i < n; i++)
        if ((*labels)[i] > 9) {
            s = ts_fail(TS_ERR_INPUT, "%s: label %d is %d", path, i, (*labels)[i]);
            free(*labels);
        }
    gzclose(g);
    if (!s) *count = n;
    return s;
}

void ts_mnist_pad(const uint8_t *px, int rows, int cols, int S, uint8_t *rgb) {
    int oy = (S - rows) / 2, ox = (S - cols) / 2;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int sy = y - oy, sx = x - ox;
            uint8_t v = sy >= 0 && sy < rows && sx >= 0 && sx < cols ? px[sy * cols + sx] : 0;
            for (int ch = 0; ch < 3; ch++)
                rgb[((size_t)y * S + x) * 3 + ch] = v;
        }
}

static ts_status mnist_split(ts_corpus *c, const char *dir, const char *prefix, int split, int max,
                             ts_rng *r, const ts_corpus_options *o) {
    char ip[1024], lp[1024];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    uint8_t *px = NULL, *lab = NULL;
    int n = 0, rows = 0, cols = 0, nl = 0;
    ts_status s = ts_mnist_read(ip, &px, &n, &rows, &cols);
    if (!s) s = corpus_read_labels(lp, &lab, &nl);
    if (!s && nl != n) s = ts_fail(TS_ERR_INPUT, "%s: %d labels for %d images", lp, nl, n);
    int S = corpus_image_size(c);
    if (!s && (rows > S || cols > S)) s = ts_fail(TS_ERR_INPUT, "%s: %dx%d images", ip, cols, rows);
    uint8_t *rgb = malloc((size_t)3 * S * S);
    if (!s && !rgb) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    static const char *const phr[] = {"a handwritten digit %d", "the handwritten digit %d",
                                      "a handwritten %d", "the digit %d"};
    for (int i = 0; !s && i < n && (max <= 0 || i < max); i++) {
        float *x;
        ts_mnist_pad(px + (size_t)i * rows * cols, rows, cols, S, rgb);
        if ((s = corpus_rgb_to_input(c, rgb, S, S, &x))) break;
        char cap[64], d[4];
        snprintf(cap, sizeof cap, phr[ts_rng_below(r, 4)], lab[i]);
        snprintf(d, sizeof d, "%d", lab[i]);
        const char *prompts[CORPUS_MAX_QA] = {TS_CAPTION_PROMPT, "Which digit is this?"};
        const char *answers[CORPUS_MAX_QA] = {cap, d};
        static const char *const dn[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        /* digits are never mirrored; the background is black (-1) */
        copy_plan cp = {.source = TS_SRC_MNIST, .index = i, .copies = copies_of(c, o, TS_SRC_MNIST),
                        .fill = -1.0f};
        s = push_with_mc(c, r, split, TS_MEDIA_IMAGE, x, 0, 2, prompts, answers, o->mc_per_source,
                         o->mc_options, i, "Which digit is written?", dn, 10, lab[i], &cp);
    }
    free(rgb);
    free(px);
    free(lab);
    return s;
}

ts_status ts_corpus_add_mnist(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    ts_rng r;
    source_rng(c, "mnist", &r);
    ts_status s = mnist_split(c, dir, "train", TS_SPLIT_TRAIN, o->max_per_source, &r, o);
    if (!s) s = mnist_split(c, dir, "t10k", TS_SPLIT_VAL, 500, &r, o);
    return s;
}

/* names.tsv lines "FILE<TAB>NAME", in the tar's order. */
ts_status ts_corpus_add_twemoji(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    char tp[1024], np[1024];
    snprintf(tp, sizeof tp, "%s/png72.tar", dir);
    snprintf(np, sizeof np, "%s/names.tsv", dir);
    corpus_tsv names;
    ts_status s = corpus_tsv_open(&names, np, CORPUS_TSV_KEEP_EMPTY);
    if (s) return s;
    ts_mapped_file f;
    if ((s = ts_map_file(tp, &f))) {
        corpus_tsv_close(&names);
        return s;
    }
    ts_rng r;
    source_rng(c, "twemoji", &r);
    ts_tar t;
    ts_tar_init(&t, f.data, f.len, tp);
    int S = corpus_image_size(c), k = 0;
    for (bool done = false; !s && (o->max_per_source <= 0 || k < o->max_per_source);) {
        ts_tar_member m;
        if ((s = ts_tar_next(&t, &m, &done)) || done) break;
        if (m.type != '0' && m.type != '\0') continue;
        /* the next names.tsv line must name this member */
        char *fld[2];
        if (corpus_tsv_next(&names, fld, 2) < 2 || strcmp(fld[0], m.name)) {
            s = ts_fail(TS_ERR_INPUT, "%s: line for %s does not match the tar", np, m.name);
            break;
        }
        const char *name = fld[1];
        float *x = corpus_text_mode(c) ? NULL : ts_alloc_floats((size_t)3 * S * S);
        if (!x && !corpus_text_mode(c)) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        if (x && (s = ts_image_load_input_mem(m.data, m.size, m.name, S, TS_FIT_STRETCH, x))) {
            free(x);
            s = ts_fail(s, "%s: %s", tp, ts_last_error());
            break;
        }
        char cap[600];
        snprintf(cap, sizeof cap, "an emoji of %s %s", article(name), name);
        const char *prompts[CORPUS_MAX_QA] = {TS_CAPTION_PROMPT}, *answers[CORPUS_MAX_QA] = {cap};
        copy_plan cp = {.source = TS_SRC_TWEMOJI, .index = k,
                        .copies = copies_of(c, o, TS_SRC_TWEMOJI), .flip = true, .edge = true};
        s = push_with_mc(c, &r, TS_SPLIT_TRAIN, TS_MEDIA_IMAGE, x, 0, 1, prompts, answers, 0, 0, k,
                         NULL, NULL, 0, 0, &cp);
        k++;
    }
    ts_unmap_file(&f);
    corpus_tsv_close(&names);
    return s;
}

static const char *number_names[6] = {"zero", "one", "two", "three", "four", "five"};

ts_status ts_corpus_add_scenes(ts_corpus *c, const ts_corpus_options *o) {
    ts_rng r;
    source_rng(c, "scenes", &r);
    ts_status s = TS_OK;
    uint8_t rgb[32 * 32 * 3];
    for (int split = 0; split < 2 && !s; split++) {
        int n = split ? o->scenes / 10 : o->scenes;
        for (int i = 0; !s && i < n; i++) {
            ts_scene sc;
            ts_scene_make(corpus_seed(c), (uint64_t)i, split, &sc);
            ts_scene_render(&sc, rgb);
            float *x;
            if ((s = corpus_rgb_to_input(c, rgb, 32, 32, &x))) break;
            char cap[200];
            ts_scene_caption(&sc, cap, sizeof cap);
            const char *prompts[CORPUS_MAX_QA] = {TS_CAPTION_PROMPT, "How many shapes are there?"};
            const char *answers[CORPUS_MAX_QA] = {cap, number_names[sc.n]};
            int n_qa = 2;
            char part_q[3][64], part_a[3][64];
            if (sc.n == 1) {
                prompts[n_qa] = "What colour is the shape?";
                answers[n_qa++] = ts_colour_name(sc.s[0].colour);
            } else {
                /* every shape of the caption on its own, by its position */
                for (int k = 0; k < sc.n; k++)
                    if (ts_scene_part_question(&sc, k, part_q[k], sizeof part_q[k], part_a[k],
                                               sizeof part_a[k])) {
                        prompts[n_qa] = part_q[k];
                        answers[n_qa++] = part_a[k];
                    }
            }
            static const char *const shapes[] = {"circle", "square", "triangle"};
            s = push_with_mc(c, &r, split, TS_MEDIA_IMAGE, x, 0, n_qa, prompts, answers,
                             sc.n == 1 ? o->mc_per_source : 0, o->mc_options, i,
                             "Which shape is in the image?", shapes, 3, sc.s[0].shape, NULL);
        }
    }
    return s;
}

/* ---- audio ---------------------------------------------------------------- */

ts_status ts_corpus_add_tones(ts_corpus *c, const ts_corpus_options *o) {
    ts_rng r;
    source_rng(c, "tones", &r);
    float *pcm = malloc(sizeof *pcm * TS_TONE_SAMPLES);
    if (!pcm) return ts_fail(TS_ERR_NOMEM, "out of memory");
    ts_status s = TS_OK;
    for (int split = 0; split < 2 && !s; split++) {
        int n = split ? o->tones / 10 : o->tones;
        /* val clips come from indices no training clip uses */
        uint64_t base = split ? (uint64_t)1 << 40 : 0;
        for (int i = 0; !s && i < n; i++) {
            ts_tone t;
            ts_tone_make(corpus_seed(c), base + (uint64_t)i, &t);
            ts_tone_render(&t, corpus_seed(c), pcm);
            float *mel;
            int T;
            if ((s = corpus_pcm_to_mel(c, pcm, TS_TONE_SAMPLES, &mel, &T))) break;
            const char *prompts[CORPUS_MAX_QA], *answers[CORPUS_MAX_QA];
            char ans[4][64];
            int n_qa = 0;
            for (int q = 0; q < 4; q++)
                if (ts_tone_question(&t, q, &prompts[n_qa], ans[n_qa], sizeof ans[n_qa]))
                    answers[n_qa] = ans[n_qa], n_qa++;
            s = push_with_mc(c, &r, split, TS_MEDIA_AUDIO, mel, T, n_qa, prompts, answers,
                             t.kind == TS_TONE_BEEPS ? o->mc_per_source : 0, o->mc_options, i,
                             TS_BEEPS_PROMPT, number_names + 1, 5, t.count - 1, NULL);
        }
    }
    free(pcm);
    return s;
}

/* cp: the item's copy plan (its samples are filled in here). */
static ts_status push_clip(ts_corpus *c, ts_rng *r, int split, const char *path, size_t max_samples,
                           int n_qa, const char **prompts, const char **answers, int every,
                           int most, int64_t index, const char *mc_q, const char *const *names,
                           int n_names, int right, copy_plan *cp) {
    if (corpus_text_mode(c))
        return push_with_mc(c, r, split, TS_MEDIA_AUDIO, NULL, 0, n_qa, prompts, answers, every,
                            most, index, mc_q, names, n_names, right, NULL);
    float *pcm;
    size_t n;
    ts_status s = ts_audio_load_file(path, &pcm, &n);
    if (s) return s;
    if (max_samples && n > max_samples) n = max_samples;
    float *mel;
    int T;
    s = corpus_pcm_to_mel(c, pcm, n, &mel, &T);
    if (!s) {
        cp->pcm = pcm, cp->n_pcm = n;
        s = push_with_mc(c, r, split, TS_MEDIA_AUDIO, mel, T, n_qa, prompts, answers, every, most,
                         index, mc_q, names, n_names, right, cp);
    }
    free(pcm);
    return s;
}

/* The noise of o->noise_dir (.flac and .wav, sorted) when a source's clips
 * are repeated; none (white noise) when there is no such folder. */
static ts_status noise_load(const ts_corpus *c, const ts_corpus_options *o, int copies,
                            aug_noise *nz) {
    memset(nz, 0, sizeof *nz);
    if (copies <= 1 || !o->noise_dir || corpus_text_mode(c)) return TS_OK;
    char **names = NULL;
    int n = 0;
    ts_status s = TS_OK;
    for (int e = 0; e < 2 && !s; e++) {
        char **nm = NULL;
        int k = 0;
        if (ts_list_dir(o->noise_dir, e ? ".wav" : ".flac", &nm, &k)) {
            ts_free_names(nm, k);
            ts_free_names(names, n);
            return TS_OK; /* no folder: white noise */
        }
        char **p = realloc(names, sizeof *p * (size_t)(n + k + 1));
        if (!p) {
            ts_free_names(nm, k);
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        names = p;
        if (k) memcpy(names + n, nm, sizeof *nm * (size_t)k);
        n += k;
        free(nm);
    }
    if (!s && n) {
        nz->clips = calloc((size_t)n, sizeof *nz->clips);
        nz->len = calloc((size_t)n, sizeof *nz->len);
        if (!nz->clips || !nz->len) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; !s && i < n; i++) {
        char *path = join(o->noise_dir, names[i]);
        s = !path ? ts_fail(TS_ERR_NOMEM, "out of memory")
                  : ts_audio_load_file(path, &nz->clips[i], &nz->len[i]);
        free(path);
        nz->count = i + 1;
    }
    ts_free_names(names, n);
    return s;
}

static void noise_free(aug_noise *nz) {
    for (int i = 0; i < nz->count; i++)
        free(nz->clips[i]);
    free(nz->clips);
    free(nz->len);
    memset(nz, 0, sizeof *nz);
}

ts_status ts_corpus_add_fsdd(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    char rec[1024];
    snprintf(rec, sizeof rec, "%s/recordings", dir);
    char **names;
    int n;
    ts_status s = ts_list_dir(rec, ".wav", &names, &n);
    if (s) s = ts_list_dir(dir, ".wav", &names, &n), snprintf(rec, sizeof rec, "%s", dir);
    if (s) return s;
    ts_rng r;
    source_rng(c, "fsdd", &r);
    const int copies = copies_of(c, o, TS_SRC_FSDD);
    aug_noise nz;
    if ((s = noise_load(c, o, copies, &nz))) {
        ts_free_names(names, n);
        return s;
    }
    const char *val = o->fsdd_val_speaker ? o->fsdd_val_speaker : "theo";
    for (int i = 0, k = 0; !s && i < n && (o->max_per_source <= 0 || k < o->max_per_source); i++) {
        /* DIGIT_SPEAKER_INDEX.wav */
        char speaker[64];
        int digit;
        if (sscanf(names[i], "%d_%63[^_]_", &digit, speaker) != 2 || digit < 0 || digit > 9) continue;
        int split = strcmp(speaker, val) ? TS_SPLIT_TRAIN : TS_SPLIT_VAL;
        char *path = join(rec, names[i]);
        if (!path) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        const char *prompts[CORPUS_MAX_QA] = {TS_DIGIT_PROMPT};
        const char *answers[CORPUS_MAX_QA] = {digit_words[digit]};
        copy_plan cp = clip_plan(TS_SRC_FSDD, k, copies, &nz, o);
        s = push_clip(c, &r, split, path, 0, 1, prompts, answers, o->mc_per_source, o->mc_options,
                      k, TS_DIGIT_PROMPT, digit_words, 10, digit, &cp);
        free(path);
        k++;
    }
    noise_free(&nz);
    ts_free_names(names, n);
    return s;
}

ts_status ts_corpus_add_speech_commands(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    char ip[1024];
    snprintf(ip, sizeof ip, "%s/index.tsv", dir);
    corpus_tsv idx;
    ts_status s = corpus_tsv_open(&idx, ip, CORPUS_TSV_HEADER);
    if (s) return s;
    ts_rng r;
    source_rng(c, "speech_commands", &r);
    const int copies = copies_of(c, o, TS_SRC_SPEECH_COMMANDS);
    aug_noise nz;
    if ((s = noise_load(c, o, copies, &nz))) {
        corpus_tsv_close(&idx);
        return s;
    }
    int k = 0, nf;
    char *f[4]; /* path, word, class, speaker */
    while (!s && (o->max_per_source <= 0 || k < o->max_per_source) &&
           (nf = corpus_tsv_next(&idx, f, 4))) {
        if (nf < 4) {
            s = corpus_tsv_fail(&idx, "not four tab-separated fields");
            break;
        }
        const char *cls = !strcmp(f[2], "_unknown_") ? "unknown" : f[2];
        int right = 10;
        for (int j = 0; j < 10; j++)
            if (!strcmp(cls, sc_classes[j])) right = j;
        int split = ts_sc_speaker_is_val(f[3], o->sc_val_percent) ? TS_SPLIT_VAL : TS_SPLIT_TRAIN;
        char *path = join(dir, f[0]);
        if (!path) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        const char *prompts[CORPUS_MAX_QA] = {TS_WORD_PROMPT}, *answers[CORPUS_MAX_QA] = {cls};
        int n_qa = 1;
        /* the digit words among the "unknown" ones come from far more
         * speakers than FSDD's four: they also answer the digit question */
        for (int j = 0; j < 10; j++)
            if (!strcmp(f[1], digit_words[j])) {
                prompts[n_qa] = TS_DIGIT_PROMPT;
                answers[n_qa++] = digit_words[j];
            }
        copy_plan cp = clip_plan(TS_SRC_SPEECH_COMMANDS, k, copies, &nz, o);
        s = push_clip(c, &r, split, path, TS_SAMPLE_RATE, n_qa, prompts, answers, o->mc_per_source,
                      o->mc_options, k, TS_WORD_PROMPT, sc_classes, 12, right, &cp);
        free(path);
        k++;
    }
    corpus_tsv_close(&idx);
    /* background noise, cut into one-second slices: "silence"; every tenth
     * slice is val */
    char bg[1024];
    snprintf(bg, sizeof bg, "%s/_background_noise_", dir);
    char **names = NULL;
    int n = 0;
    if (!s && ts_list_dir(bg, ".flac", &names, &n) == TS_OK) {
        int slice = 0;
        for (int i = 0; !s && i < n; i++) {
            char *path = join(bg, names[i]);
            float *pcm = NULL;
            size_t np = 0;
            s = !path ? ts_fail(TS_ERR_NOMEM, "out of memory")
                : corpus_text_mode(c) ? (np = TS_SAMPLE_RATE, TS_OK)
                                      : ts_audio_load_file(path, &pcm, &np);
            for (size_t off = 0; !s && off + TS_SAMPLE_RATE <= np; off += TS_SAMPLE_RATE, slice++) {
                /* quieter and louder versions, as real rooms are */
                float gain = 0.1f + 0.9f * ts_rng_uniform(&r), *p = malloc(sizeof *p * TS_SAMPLE_RATE);
                if (!p) {
                    s = ts_fail(TS_ERR_NOMEM, "out of memory");
                    break;
                }
                for (int j = 0; j < TS_SAMPLE_RATE; j++)
                    p[j] = pcm ? pcm[off + (size_t)j] * gain : 0;
                float *mel;
                int T;
                s = corpus_pcm_to_mel(c, p, TS_SAMPLE_RATE, &mel, &T);
                const char *prompts[CORPUS_MAX_QA] = {TS_WORD_PROMPT};
                const char *answers[CORPUS_MAX_QA] = {"silence"};
                /* repeated with the words, so "silence" keeps its share */
                copy_plan cp =
                    clip_plan(TS_SRC_SPEECH_COMMANDS, ((int64_t)1 << 40) + slice, copies, &nz, o);
                cp.pcm = p, cp.n_pcm = TS_SAMPLE_RATE;
                if (!s)
                    s = push_with_mc(c, &r, slice % 10 == 9 ? TS_SPLIT_VAL : TS_SPLIT_TRAIN,
                                     TS_MEDIA_AUDIO, mel, T, 1, prompts, answers, 0, 0, slice, NULL,
                                     NULL, 0, 0, &cp);
                free(p);
            }
            free(pcm);
            free(path);
        }
        ts_free_names(names, n);
    }
    noise_free(&nz);
    return s;
}

/* Lines "NAME: TEXT" (gzip or plain); tones, sound effects and stage notes
 * ("[...]", "(...)") are skipped. */
ts_status ts_corpus_add_asterisk(ts_corpus *c, const char *sounds_dir, const char *transcript,
                                 const ts_corpus_options *o) {
    gzFile g = gzopen(transcript, "rb");
    if (!g) return ts_fail(TS_ERR_INPUT, "%s: cannot open", transcript);
    ts_rng r;
    source_rng(c, "asterisk", &r);
    const int copies = copies_of(c, o, TS_SRC_ASTERISK);
    aug_noise nz;
    ts_status s = noise_load(c, o, copies, &nz);
    char line[2048];
    int k = 0;
    while (!s && gzgets(g, line, sizeof line) && (o->max_per_source <= 0 || k < o->max_per_source)) {
        line[strcspn(line, "\r\n")] = 0;
        char *sep = strstr(line, ": ");
        if (line[0] == ';' || !sep || strpbrk(line, "[(")) continue;
        *sep = 0;
        const char *text = sep + 2;
        if (!*text) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.wav", sounds_dir, line);
        FILE *fp = fopen(path, "rb");
        if (!fp) continue; /* an entry without audio */
        fclose(fp);
        const char *prompts[CORPUS_MAX_QA] = {TS_SAY_PROMPT}, *answers[CORPUS_MAX_QA] = {text};
        copy_plan cp = clip_plan(TS_SRC_ASTERISK, k, copies, &nz, o);
        s = push_clip(c, &r, k % 20 == 19 ? TS_SPLIT_VAL : TS_SPLIT_TRAIN, path, 0, 1, prompts,
                      answers, 0, 0, k, NULL, NULL, 0, 0, &cp);
        k++;
    }
    noise_free(&nz);
    gzclose(g);
    return s;
}

ts_status ts_corpus_add_spoken(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    char ip[1024];
    snprintf(ip, sizeof ip, "%s/index.tsv", dir);
    corpus_tsv idx;
    ts_status s = corpus_tsv_open(&idx, ip, 0);
    if (s) return s;
    ts_rng r;
    source_rng(c, "spoken", &r);
    const int copies = copies_of(c, o, TS_SRC_ESPEAK);
    aug_noise nz;
    if ((s = noise_load(c, o, copies, &nz))) {
        corpus_tsv_close(&idx);
        return s;
    }
    int k = 0, nf;
    char *f[3]; /* file, kind, text */
    while (!s && (o->max_per_source <= 0 || k < o->max_per_source) &&
           (nf = corpus_tsv_next(&idx, f, 3))) {
        if (nf < 3) {
            s = corpus_tsv_fail(&idx, "not FILE<TAB>KIND<TAB>TEXT");
            break;
        }
        const char *text = f[2];
        bool digit = !strcmp(f[1], "digit");
        char *path = join(dir, f[0]);
        if (!path) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            break;
        }
        const char *prompts[CORPUS_MAX_QA] = {digit ? TS_DIGIT_PROMPT : TS_WORD_PROMPT};
        const char *answers[CORPUS_MAX_QA] = {text};
        copy_plan cp = clip_plan(TS_SRC_ESPEAK, k, copies, &nz, o);
        s = push_clip(c, &r, TS_SPLIT_TRAIN, path, TS_SAMPLE_RATE * 2, 1, prompts, answers, 0, 0, k,
                      NULL, NULL, 0, 0, &cp);
        free(path);
        k++;
    }
    noise_free(&nz);
    corpus_tsv_close(&idx);
    return s;
}

/* ---- text ----------------------------------------------------------------- */

ts_status ts_corpus_add_scienceqa(ts_corpus *c, const char *problems_json,
                                  const ts_corpus_options *o) {
    uint8_t *buf;
    size_t len;
    ts_status s = ts_read_file(problems_json, 0, &buf, &len);
    if (s) return s;
    ts_json_doc *doc;
    s = ts_json_parse((const char *)buf, len, problems_json, &doc);
    free(buf);
    if (s) return s;
    const ts_json *root = ts_json_root(doc);
    if (root->type != TS_JSON_OBJECT) s = ts_fail(TS_ERR_INPUT, "%s: not a JSON object", problems_json);
    for (size_t i = 0, k = 0; !s && root->type == TS_JSON_OBJECT && i < root->len &&
                              (o->max_per_source <= 0 || (int)k < o->max_per_source);
         i++) {
        const ts_json *p = &root->items[i];
        const ts_json *split = ts_json_get(p, "split"), *q = ts_json_get(p, "question"),
                      *ch = ts_json_get(p, "choices"), *hint = ts_json_get(p, "hint");
        int64_t ans;
        if (!split || split->type != TS_JSON_STRING || strcmp(split->str, "train")) continue;
        if (!q || q->type != TS_JSON_STRING || !ch || ch->type != TS_JSON_ARRAY || ch->len < 2 ||
            ch->len > 26 || !ts_json_is_int(ts_json_get(p, "answer"), &ans) || ans < 0 ||
            ans >= (int64_t)ch->len)
            continue;
        const char *opts[26];
        bool ok = true;
        for (size_t j = 0; j < ch->len; j++) {
            ok &= ch->items[j].type == TS_JSON_STRING;
            opts[j] = ch->items[j].str;
        }
        if (!ok) continue;
        char *prompt;
        if ((s = ts_mc_prompt(q->str, hint && hint->type == TS_JSON_STRING ? hint->str : "", opts,
                              (int)ch->len, &prompt)))
            break;
        s = ts_corpus_add_text(c, TS_SPLIT_TRAIN, prompt, opts[ans]);
        free(prompt);
        k++;
    }
    ts_json_free(doc);
    return s;
}

ts_status ts_corpus_add_wordnet(ts_corpus *c, const char *dir, const ts_corpus_options *o) {
    static const char *const files[] = {"data.noun", "data.verb", "data.adj", "data.adv"};
    ts_status s = TS_OK;
    int k = 0;
    for (int fi = 0; fi < 4 && !s; fi++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, files[fi]);
        FILE *fp = fopen(path, "r");
        if (!fp) return ts_fail(TS_ERR_INPUT, "%s: cannot open", path);
        char line[8192];
        while (!s && fgets(line, sizeof line, fp) && (o->max_per_source <= 0 || k < o->max_per_source)) {
            if (line[0] == ' ') continue; /* the licence header */
            char *bar = strstr(line, "| ");
            char word[256];
            if (!bar || sscanf(line, "%*s %*s %*s %*s %255s", word) != 1) continue;
            for (char *w = word; *w; w++)
                if (*w == '_') *w = ' ';
            char *gloss = bar + 2;
            size_t gl = strcspn(gloss, "\r\n");
            while (gl && gloss[gl - 1] == ' ')
                gl--;
            if (gl > 300) gl = 300;
            gloss[gl] = 0;
            if (!gl) continue;
            char prompt[320];
            snprintf(prompt, sizeof prompt, k % 2 ? "Define \"%s\"." : "What does \"%s\" mean?", word);
            s = ts_corpus_add_text(c, k % 50 == 49 ? TS_SPLIT_VAL : TS_SPLIT_TRAIN, prompt, gloss);
            k++;
        }
        fclose(fp);
    }
    return s;
}
