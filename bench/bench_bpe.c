/* bench_bpe: BPE training and encoding speed on real English text, with a
 * peer in the same run.
 *
 * Text: the ScienceQA problems (question, hint, choices, lecture, solution
 * of every problem in problems.json) and the WordNet 3.0 glosses
 * ("word: gloss" per synset, from Debian's wordnet-base). The tokenizer is
 * trained on all of it (vocabulary 4096), then the whole text is encoded on
 * one thread: cold (a freshly loaded tokenizer, empty word cache) and warm.
 *
 * Peer: bench/bench_bpe_peer.py, OpenAI's GPT-2 encoder.py algorithm (regex
 * pre-split, per-word lowest-rank merging, a word cache) in Python with our
 * pre-split rules and merges; it must produce the same ids (checked by
 * count and hash), and its speed is printed next to ours as a ratio.
 *
 *   build/bench/bench_bpe [--data DIR] [--wordnet DIR] [--vocab N] [--runs R] [--no-peer]
 */
#include "tessera.h"
#include "tessera/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(3);
        }
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void put_field(buf *b, const ts_json *o, const char *key) {
    const ts_json *v = ts_json_get(o, key);
    if (v && v->type == TS_JSON_STRING && v->len) {
        put(b, v->str, v->len);
        put(b, "\n", 1);
    }
}

static int load_scienceqa(const char *dir, buf *b) {
    char path[1024];
    snprintf(path, sizeof path, "%s/scienceqa/problems.json", dir);
    uint8_t *data;
    size_t len;
    ts_json_doc *doc;
    if (ts_read_file(path, 0, &data, &len) || ts_json_parse((const char *)data, len, path, &doc)) {
        fprintf(stderr, "bench_bpe: %s\n", ts_last_error());
        return -1;
    }
    const ts_json *root = ts_json_root(doc);
    for (size_t i = 0; i < root->len; i++) {
        const ts_json *o = &root->items[i];
        put_field(b, o, "question");
        put_field(b, o, "hint");
        const ts_json *ch = ts_json_get(o, "choices");
        for (size_t k = 0; ch && ch->type == TS_JSON_ARRAY && k < ch->len; k++)
            if (ch->items[k].type == TS_JSON_STRING) {
                put(b, ch->items[k].str, ch->items[k].len);
                put(b, "\n", 1);
            }
        put_field(b, o, "lecture");
        put_field(b, o, "solution");
    }
    ts_json_free(doc);
    free(data);
    return 0;
}

/* "word: gloss" per synset line; the licence header lines start with "  ". */
static int load_wordnet(const char *dir, buf *b) {
    const char *parts[] = {"noun", "verb", "adj", "adv"};
    for (int k = 0; k < 4; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data.%s", dir, parts[k]);
        uint8_t *data;
        size_t len;
        if (ts_read_file(path, 0, &data, &len)) {
            fprintf(stderr, "bench_bpe: %s\n", ts_last_error());
            return -1;
        }
        char *s = (char *)data, *end = s + len;
        while (s < end) {
            char *nl = memchr(s, '\n', (size_t)(end - s));
            if (!nl) nl = end;
            char *bar = memchr(s, '|', (size_t)(nl - s));
            if (s[0] != ' ' && bar) {
                /* OFFSET LEXFILE POS N WORD ... */
                char *w = s;
                for (int f = 0; f < 4 && w < nl; f++)
                    w = memchr(w, ' ', (size_t)(nl - w)) + 1;
                char *we = memchr(w, ' ', (size_t)(nl - w));
                for (char *c = w; c < we; c++) {
                    char ch = *c == '_' ? ' ' : *c;
                    put(b, &ch, 1);
                }
                put(b, ": ", 2);
                char *g = bar + 2, *ge = nl;
                while (ge > g && ge[-1] == ' ')
                    ge--;
                if (ge > g) put(b, g, (size_t)(ge - g));
                put(b, "\n", 1);
            }
            s = nl + 1;
        }
        free(data);
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t hash_ids(const int32_t *ids, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)(uint32_t)ids[i]) * 1099511628211ULL;
    return h;
}

int main(int argc, char **argv) {
    const char *data = "/work/shared/data", *wordnet = "/usr/share/wordnet";
    int vocab = 4096, runs = 5;
    bool peer = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--wordnet") && i + 1 < argc)
            wordnet = argv[++i];
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc)
            vocab = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-peer"))
            peer = false;
        else {
            fprintf(stderr, "usage: bench_bpe [--data DIR] [--wordnet DIR] [--vocab N] [--runs R] "
                            "[--no-peer]\n");
            return 1;
        }
    }
    if (runs < 1 || runs > 100) runs = 5;
    buf text = {0};
    if (load_scienceqa(data, &text)) return 2;
    size_t sqa = text.n;
    if (load_wordnet(wordnet, &text)) return 2;
    double mb = (double)text.n / 1e6;
    printf("text: %.2f MB (ScienceQA %.2f MB, WordNet glosses %.2f MB)\n", mb, sqa / 1e6,
           (text.n - sqa) / 1e6);

    /* training */
    double *tt = calloc((size_t)runs, sizeof *tt);
    const uint8_t *texts[1] = {(const uint8_t *)text.p};
    size_t lens[1] = {text.n};
    ts_bpe *tok = NULL;
    int train_runs = runs < 3 ? runs : 3;
    for (int r = 0; r < train_runs; r++) {
        if (tok) ts_bpe_free(tok);
        double t0 = ts_now();
        if (ts_bpe_train_mem(texts, lens, 1, vocab, NULL, NULL, &tok)) {
            fprintf(stderr, "bench_bpe: %s\n", ts_last_error());
            return 2;
        }
        tt[r] = ts_now() - t0;
    }
    double train_s = median(tt, train_runs);
    printf("train: vocab %d (%d merges) in %.2f s median of %d (%.2f MB/s)\n", ts_bpe_n_text(tok),
           ts_bpe_n_merges(tok), train_s, train_runs, mb / train_s);

    /* the tokenizer through GGUF, as a user loads it */
    char dir[] = "/tmp/bench_bpe_XXXXXX";
    if (!mkdtemp(dir)) return 4;
    char gguf_path[256], corpus_path[256], merges_path[256];
    snprintf(gguf_path, sizeof gguf_path, "%s/tok.gguf", dir);
    snprintf(corpus_path, sizeof corpus_path, "%s/corpus.txt", dir);
    snprintf(merges_path, sizeof merges_path, "%s/merges.txt", dir);
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (ts_bpe_save(tok, 0, w) || ts_gguf_write(w, gguf_path)) {
        fprintf(stderr, "bench_bpe: %s\n", ts_last_error());
        return 4;
    }
    ts_gguf_writer_free(w);

    /* pre-split alone, for reference */
    double *tp = calloc((size_t)runs, sizeof *tp);
    size_t n_words = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = ts_now();
        size_t nw = 0;
        for (size_t i = 0; i < text.n; nw++)
            i += ts_bpe_word_len((const uint8_t *)text.p + i, text.n - i);
        tp[r] = ts_now() - t0;
        n_words = nw;
    }
    double *tc = calloc((size_t)runs, sizeof *tc), *tw = calloc((size_t)runs, sizeof *tw);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    uint64_t h = 0;
    for (int r = 0; r < runs; r++) {
        ts_gguf *g;
        ts_bpe *t;
        if (ts_gguf_open(gguf_path, &g) || ts_bpe_load(g, &t)) {
            fprintf(stderr, "bench_bpe: %s\n", ts_last_error());
            return 4;
        }
        ts_gguf_close(g);
        n = 0;
        double t0 = ts_now();
        ts_bpe_encode(t, text.p, text.n, &ids, &n, &cap); /* cold cache */
        tc[r] = ts_now() - t0;
        n = 0;
        t0 = ts_now();
        ts_bpe_encode(t, text.p, text.n, &ids, &n, &cap); /* warm */
        tw[r] = ts_now() - t0;
        h = hash_ids(ids, n);
        ts_bpe_free(t);
    }
    double cold = median(tc, runs), warm = median(tw, runs), split = median(tp, runs);
    printf("pre-split: %zu words, %.1f MB/s\n", n_words, mb / split);
    printf("encode (1 thread): %zu tokens (%.2f bytes/token), cold cache %.1f MB/s, warm %.1f MB/s"
           " (median of %d)\n",
           n, (double)text.n / (double)n, mb / cold, mb / warm, runs);

    if (peer) {
        FILE *fp = fopen(corpus_path, "wb");
        fwrite(text.p, 1, text.n, fp);
        fclose(fp);
        fp = fopen(merges_path, "w");
        for (int r = 0; r < ts_bpe_n_merges(tok); r++) {
            int32_t a, b;
            ts_bpe_merge(tok, r, &a, &b);
            fprintf(fp, "%d %d\n", (int)a, (int)b);
        }
        fclose(fp);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "python3 bench/bench_bpe_peer.py %s %s %d", corpus_path,
                 merges_path, runs < 3 ? runs : 3);
        FILE *pp = popen(cmd, "r");
        double p_cold = 0;
        unsigned long long p_n = 0, p_h = 0;
        if (!pp || fscanf(pp, "%llu %llu %lf", &p_n, &p_h, &p_cold) != 3) {
            fprintf(stderr, "bench_bpe: the peer (%s) gave no result\n", cmd);
        } else {
            printf("peer (Python, GPT-2 encoder.py algorithm): %llu tokens, %.2f MB/s; ids %s\n",
                   p_n, mb / p_cold, p_n == n && p_h == h ? "identical" : "DIFFER");
            printf("ratio: tessera / peer = %.1fx (cold cache)\n", p_cold / cold);
        }
        if (pp) pclose(pp);
        unlink(corpus_path);
        unlink(merges_path);
    }
    unlink(gguf_path);
    rmdir(dir);
    ts_bpe_free(tok);
    free(ids);
    free(text.p);
    free(tt);
    free(tp);
    free(tc);
    free(tw);
    return 0;
}
