/* Shared by the corpus core (corpus.c) and its data-set readers. */
#ifndef TESSERA_FUSION_CORPUS_INTERNAL_H
#define TESSERA_FUSION_CORPUS_INTERNAL_H

#include "tessera/pipeline.h"

#define CORPUS_TEXT 2          /* an item without media */
#define CORPUS_MAX_QA 8        /* question/answer pairs sharing one medium */
#define CORPUS_MAX_SECONDS 8.0 /* longer clips are cut (200 codes) */

typedef struct {
    int split, kind; /* TS_MEDIA_IMAGE, TS_MEDIA_AUDIO or CORPUS_TEXT */
    float *x;        /* image 3 x S x S, or log-mel 80 x T */
    int T;
    int n_qa;
    char *prompt[CORPUS_MAX_QA], *answer[CORPUS_MAX_QA];
} corpus_item;

/* Queues one medium with n_qa (prompt, answer) pairs; takes x. */
ts_status corpus_push(ts_corpus *c, int split, int kind, float *x, int T, int n_qa,
                      const char *const *prompts, const char *const *answers);
uint64_t corpus_seed(const ts_corpus *c);
/* An MNIST idx1 labels file, plain or gzipped; *labels malloc'd. */
ts_status corpus_read_labels(const char *path, uint8_t **labels, int *count);
/* True for a corpus that writes text only: sources skip decoding media. */
bool corpus_text_mode(const ts_corpus *c);
int corpus_image_size(const ts_corpus *c);
ts_status corpus_rgb_to_input(const ts_corpus *c, const uint8_t *rgb, int w, int h, float **out);
ts_status corpus_pcm_to_mel(const ts_corpus *c, const float *pcm, size_t n, float **mel, int *T);

/* A data set's index file (TSV) read line by line: speech_commands'
 * index.tsv, the spoken set's index.tsv, twemoji's names.tsv. */
#define CORPUS_TSV_HEADER 1     /* the first line names the columns: skipped */
#define CORPUS_TSV_KEEP_EMPTY 2 /* empty lines are returned, not skipped */
typedef struct {
    const char *path; /* the caller's, for messages */
    uint8_t *buf;
    size_t len, pos;
    int flags;
    int line_no;     /* 1-based number of the line last returned */
    char line[1024]; /* that line, NUL-terminated; longer lines are cut */
} corpus_tsv;

ts_status corpus_tsv_open(corpus_tsv *t, const char *path, int flags);
void corpus_tsv_close(corpus_tsv *t);
/* Reads the next line and splits it at tabs into at most n fields, the last
 * keeping any further tabs; f[i] is NULL for each field the line lacks.
 * Returns the number of fields found, 0 at the end of the file. */
int corpus_tsv_next(corpus_tsv *t, char **f, int n);
/* TS_ERR_INPUT with "PATH:LINE: problem" for the line last returned. */
ts_status corpus_tsv_fail(const corpus_tsv *t, const char *problem);

#endif
