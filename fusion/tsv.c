/* The corpus readers' index files (TSV): one loop for every data set that
 * lists its files in one, so that all cut, skip and count lines alike. */
#include <stdlib.h>
#include <string.h>

#include "fusion/corpus_internal.h"

ts_status corpus_tsv_open(corpus_tsv *t, const char *path, int flags) {
    memset(t, 0, sizeof *t);
    t->path = path, t->flags = flags;
    return ts_read_file(path, 0, &t->buf, &t->len);
}

void corpus_tsv_close(corpus_tsv *t) {
    free(t->buf);
    t->buf = NULL;
}

int corpus_tsv_next(corpus_tsv *t, char **f, int n) {
    for (;;) {
        if (t->pos >= t->len) return 0;
        size_t end = t->pos;
        while (end < t->len && t->buf[end] != '\n') end++;
        size_t ll = end - t->pos < sizeof t->line - 1 ? end - t->pos : sizeof t->line - 1;
        memcpy(t->line, t->buf + t->pos, ll);
        t->line[ll] = 0;
        t->pos = end + 1;
        if (t->line_no++ == 0 && t->flags & CORPUS_TSV_HEADER) continue;
        if (ll || t->flags & CORPUS_TSV_KEEP_EMPTY) break;
    }
    int found = 1;
    f[0] = t->line;
    for (int j = 1; j < n; j++) {
        f[j] = f[j - 1] ? strchr(f[j - 1], '\t') : NULL;
        if (f[j]) *f[j]++ = 0, found++;
    }
    return found;
}

ts_status corpus_tsv_fail(const corpus_tsv *t, const char *problem) {
    return ts_fail(TS_ERR_INPUT, "%s:%d: %s", t->path, t->line_no, problem);
}
