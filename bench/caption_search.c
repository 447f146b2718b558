/* Would a wider search than greedy decoding (a beam) caption better? For
 * each held-out image of a task, the greedy caption (as `tessera caption`
 * makes it) and the expected one are both scored by the decoder's
 * log-likelihood as the answer of the one template. A miss whose expected
 * caption is the more likely of the two is a search error, which a beam
 * could find; a miss whose greedy caption is the more likely is the model's
 * own error, which no search fixes. (Exact beam search finds at most the
 * search errors; a real beam finds fewer.) Where the expected answer is a
 * class word (mnist, cifar10: a caption counts when it holds the word), the
 * expected caption is the greedy one with its last word replaced by the
 * class word, and "a"/"an" before it made to fit: the same phrasing, the
 * right class.
 *
 *   build/bench/caption_search [MODEL] [HELDOUT_DIR] [TASK] [N] [VIEWS]
 *
 * Defaults: models/tessera.gguf, build/default-model/heldout, scenes, 1000,
 * 1 view. VIEWS > 1 reads each image in that many test-time views, as the
 * commands do: the greedy caption is drawn from the views' mean
 * log-probabilities (ts_model_generate_views) and each caption is scored
 * by its mean log-likelihood over the views.
 * HELDOUT_DIR/labels.tsv is make model's held-out set (task, file, expected
 * caption); -v prints every item: ok/miss, the two log-likelihoods, texts. */
#include "bench/heldout_images.h"

static void die(const char *what) {
    fprintf(stderr, "caption_search: %s: %s\n", what, ts_last_error());
    exit(2);
}

/* The greedy caption with its last word replaced by the class word, the
 * article before it fitted to the word's first letter. */
static void class_caption(const char *greedy, const char *word, char *out, size_t cap) {
    char head[512];
    snprintf(head, sizeof head, "%s", greedy);
    char *sp = strrchr(head, ' ');
    *(sp ? sp : head) = 0;
    char *art = strrchr(head, ' ');
    const char *last = art ? art + 1 : head;
    const bool had_article = !strcmp(last, "a") || !strcmp(last, "an");
    if (had_article) *(art ? art : head) = 0;
    const char *article = !had_article ? "" : strchr("aeiou", word[0]) ? "an " : "a ";
    snprintf(out, cap, "%s%s%s%s", head, head[0] ? " " : "", article, word);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    bool verbose = argc > 1 && !strcmp(argv[1], "-v");
    if (verbose) argc--, argv++;
    const char *path = argc > 1 ? argv[1] : "models/tessera.gguf";
    const char *held = argc > 2 ? argv[2] : "build/default-model/heldout";
    const char *task = argc > 3 ? argv[3] : "scenes";
    int limit = argc > 4 ? atoi(argv[4]) : 1000;
    int n_views = argc > 5 ? atoi(argv[5]) : 1;
    if (n_views < 1 || n_views > TS_MAX_VIEWS) {
        fprintf(stderr, "caption_search: VIEWS must be 1 to %d\n", TS_MAX_VIEWS);
        return 1;
    }
    ts_gguf *g;
    ts_model *m;
    ts_vocab v;
    ts_vq *vq;
    ts_bpe *tok;
    ts_session *se[TS_MAX_VIEWS];
    if (ts_gguf_open(path, &g) || ts_model_load_gguf(g, path, &m) || ts_vocab_read(g, &v) ||
        ts_vq_from_gguf(g, path, &vq) || ts_bpe_load(g, &tok))
        die(path);
    for (int i = 0; i < n_views; i++)
        if (ts_session_new(m, 0, &se[i])) die(path);
    const int32_t eos = ts_vocab_special(&v, TS_TOK_EOS);
    double *gaps = malloc(sizeof *gaps * (size_t)(limit > 0 ? limit : 1));
    int items = 0, exact = 0, search_errors = 0;
    ts_sampler greedy = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 0};
    heldout_images h;
    heldout_open(&h, "caption_search", held, task, vq, tok, &v, n_views);
    while (items < limit && heldout_next(&h)) {
        const char *file = h.file, *expected = h.expected;
        const int nv = h.md.n_views;
        answer_ids got = {.n_text = v.n_text, .cap = 63}; /* room for the eos below */
        int made;
        heldout_build(&h, expected);
        if (ts_model_generate_views(m, NULL, h.prompts, h.lens, nv, 64, &greedy, eos, 0, keep_text,
                                    &got, &made))
            die(file);
        char *text;
        size_t len;
        if (ts_bpe_decode(tok, got.ids, (size_t)got.n, &text, &len)) die(file);
        got.ids[got.n++] = eos;
        const bool class_word = !strchr(expected, ' ');
        char want[600];
        snprintf(want, sizeof want, "%s", expected);
        if (class_word) {
            class_caption(text, expected, want, sizeof want);
            heldout_build(&h, want);
        }
        /* continuations: the expected answer as the template tokenizes it,
         * and the greedy one as it was made; each scored by its mean over
         * the views */
        const int32_t *conts[2] = {h.seq[0].tokens + h.lens[0], got.ids};
        int lens[2] = {h.seq[0].n - h.lens[0], got.n}, count[2 * TS_MAX_VIEWS];
        double lpv[2 * TS_MAX_VIEWS], lp[2] = {0, 0};
        if (ts_sessions_score_continuations(se, nv, NULL, h.prompts, h.lens, 2, conts, lens, lpv,
                                            count))
            die(file);
        for (int i = 0; i < nv; i++)
            lp[0] += lpv[2 * i] / nv, lp[1] += lpv[2 * i + 1] / nv;
        bool ok = caption_right(text, expected);
        if (ok)
            exact++;
        else {
            gaps[items - exact] = lp[0] - lp[1];
            search_errors += lp[0] > lp[1];
        }
        items++;
        if (verbose)
            printf("%s\t%.4f\t%.4f\t%s\t%s\n", ok ? "ok" : "miss", lp[0], lp[1], want, text);
        free(text);
    }
    heldout_close(&h);
    int misses = items - exact;
    qsort(gaps, (size_t)misses, sizeof *gaps, cmp_double);
    printf("%s: %d items, %d exact (%.2f %%); of the %d misses %d are search errors (the expected "
           "caption more likely than the greedy one) and %d the model's own; median log-likelihood "
           "of expected minus greedy over the misses %.3f\n",
           task, items, exact, items ? 100.0 * exact / items : 0.0, misses, search_errors,
           misses - search_errors, misses ? gaps[misses / 2] : 0.0);
    for (int i = 0; i < n_views; i++)
        ts_session_free(se[i]);
    free(gaps);
    ts_bpe_free(tok);
    ts_vq_free(vq);
    ts_model_free(m);
    ts_gguf_close(g);
    return 0;
}
