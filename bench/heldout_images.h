/* The held-out images of one task, for the bench programs that caption them
 * (caption_search, ensemble_probe, beam_probe): make model's labels.tsv
 * (task, file, expected answer) read line by line, each image of the task
 * encoded in the commands' test-time views and put in the caption template,
 * one prompt per view. Header-only, since each bench program is one .c
 * file. A file that cannot be read stops the program (exit 2). */
#ifndef TESSERA_BENCH_HELDOUT_IMAGES_H
#define TESSERA_BENCH_HELDOUT_IMAGES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/views.h"
#include "tessera.h"

typedef struct {
    const char *tool, *task;
    const ts_vq *vq;
    ts_bpe *tok;
    const ts_vocab *voc;
    int n_views, n_codes;
    FILE *f;
    char line[4096];
    int32_t *codes;
    ts_seq seq[TS_MAX_VIEWS];
    /* the current image */
    const char *file, *expected;
    ts_media md;                          /* its codes in md.n_views views */
    const int32_t *prompts[TS_MAX_VIEWS]; /* view v's tokens up to the answer */
    int lens[TS_MAX_VIEWS];
} heldout_images;

static void heldout_die(const heldout_images *h, const char *what) {
    fprintf(stderr, "%s: %s: %s\n", h->tool, what, ts_last_error());
    exit(2);
}

/* Opens DIR/labels.tsv for task's images, read in n_views views (1 to
 * TS_MAX_VIEWS). */
static void heldout_open(heldout_images *h, const char *tool, const char *dir, const char *task,
                         const ts_vq *vq, ts_bpe *tok, const ts_vocab *voc, int n_views) {
    memset(h, 0, sizeof *h);
    h->tool = tool, h->task = task, h->vq = vq, h->tok = tok, h->voc = voc, h->n_views = n_views;
    const int S = ts_vq_get_config(vq)->image_size;
    h->n_codes = (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN);
    h->codes = malloc(sizeof *h->codes * (size_t)h->n_codes * (size_t)n_views);
    char labels[1024];
    snprintf(labels, sizeof labels, "%s/labels.tsv", dir);
    if (!h->codes || !(h->f = fopen(labels, "r"))) {
        fprintf(stderr, "%s: cannot read %s\n", tool, labels);
        exit(2);
    }
}

/* Every view's template with answer (NULL: none), the prompts up to it. */
static void heldout_build(heldout_images *h, const char *answer) {
    for (int v = 0; v < h->md.n_views; v++) {
        ts_media one;
        ts_media_view(&h->md, 1, v, &one);
        if (ts_fusion_build(h->tok, h->voc, &one, 1, TS_CAPTION_PROMPT, answer, &h->seq[v]))
            heldout_die(h, h->file);
        h->prompts[v] = h->seq[v].tokens, h->lens[v] = h->seq[v].answer_start;
    }
}

/* The task's next image, encoded and in the template without an answer;
 * false at the end of the list. */
static bool heldout_next(heldout_images *h) {
    while (fgets(h->line, sizeof h->line, h->f)) {
        h->line[strcspn(h->line, "\n")] = 0;
        char *t = strtok(h->line, "\t");
        h->file = strtok(NULL, "\t"), h->expected = strtok(NULL, "\t");
        if (!t || !h->file || !h->expected || strcmp(t, h->task)) continue;
        ts_vq_input_kind kind;
        float *x;
        int T;
        if (ts_vq_load_media(h->vq, h->file, 1, &kind, &x, &T)) heldout_die(h, h->file);
        if (kind != TS_VQ_IMAGE) {
            fprintf(stderr, "%s: %s: not an image\n", h->tool, h->file);
            exit(2);
        }
        const ts_status s = view_encode(h->vq, NULL, kind, x, T, h->n_views, h->codes);
        free(x);
        if (s) heldout_die(h, h->file);
        h->md = (ts_media){TS_MEDIA_IMAGE, h->codes, h->n_codes, view_count(kind, h->n_views)};
        heldout_build(h, NULL);
        return true;
    }
    return false;
}

static void heldout_close(heldout_images *h) {
    fclose(h->f);
    for (int v = 0; v < TS_MAX_VIEWS; v++)
        ts_seq_free(&h->seq[v]);
    free(h->codes);
}

/* A caption's text tokens as a generator makes them (keep_text). */
typedef struct {
    int32_t ids[64];
    int n, n_text, cap; /* cap (< 64): the most it keeps */
} answer_ids;

/* Keeps text tokens; the caption ends at the first special or media code,
 * as the pipeline's does, or at a->cap tokens. */
static bool keep_text(int32_t id, void *user) {
    answer_ids *a = user;
    if (id < 0 || id >= a->n_text || a->n == a->cap) return false;
    a->ids[a->n++] = id;
    return true;
}

/* Whether text holds word as a whole word: how a class answer counts. */
static bool has_word(const char *text, const char *word) {
    const size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
    return false;
}

/* Whether a caption is right: the class word in it (mnist, cifar10: an
 * expected answer of one word), else the exact caption (scenes). */
static bool caption_right(const char *text, const char *expected) {
    return strchr(expected, ' ') ? !strcmp(text, expected) : has_word(text, expected);
}

#endif
