/* Would several decoders caption better together than each alone? For each
 * held-out image of a task, every model reads the image in the commands'
 * 9 views, and each caption token is drawn greedily from the mean of all
 * models' and views' log-softmax rows, as ts_model_generate_views draws it
 * from one model's views; then fed to every session. With one model this is
 * `tessera caption`'s own answer, so its accuracy must match
 * bench/model_accuracy.sh's row for that model (the check that the probe
 * reads as the commands do). The models must share one tokenizer and
 * VQ-VAE (the first model's are used), as seeds of one recipe on the same
 * build folder do.
 *
 *   build/bench/ensemble_probe HELDOUT_DIR TASK N MODEL...
 *
 * TASK: mnist or cifar10 (the class word must appear in the caption) or
 * scenes (the exact caption). Prints the accuracy, and how many items the
 * first model alone gets right that the ensemble misses and the reverse. */
#include <math.h>

#include "bench/heldout_images.h"

#define MAX_MODELS 4
#define N_VIEWS 9
#define MAX_ANSWER 64

static void die(const char *what) {
    fprintf(stderr, "ensemble_probe: %s: %s\n", what, ts_last_error());
    exit(2);
}

/* out[i] += log_softmax(row)[i] / n_rows: the commands' mean over views. */
static void add_log_softmax(const float *row, int V, int n_rows, float *out) {
    float mx = row[0];
    for (int i = 1; i < V; i++)
        mx = row[i] > mx ? row[i] : mx;
    double sum = 0;
    for (int i = 0; i < V; i++)
        sum += exp((double)(row[i] - mx));
    const float shift = mx + (float)log(sum);
    for (int i = 0; i < V; i++)
        out[i] += (row[i] - shift) / (float)n_rows;
}

/* The greedy caption of one image's view prompts from n_m models' sessions
 * (s[k * nv + v]); ids receives the text tokens, the count is returned. */
static int caption(ts_session **s, int n_m, int nv, const int32_t *const *prompts, const int *lens,
                   int V, int n_text, int32_t eos, float *rows, float *mixed, int32_t *ids) {
    const int n_rows = n_m * nv;
    for (int i = 0; i < n_rows; i++)
        ts_session_reset(s[i]);
    for (int k = 0; k < n_m; k++)
        if (ts_sessions_feed(s + k * nv, nv, NULL, prompts, lens, rows + (size_t)k * nv * V))
            die("prompt");
    int n = 0;
    while (n < MAX_ANSWER) {
        memset(mixed, 0, sizeof *mixed * (size_t)V);
        for (int r = 0; r < n_rows; r++)
            add_log_softmax(rows + (size_t)r * V, V, n_rows, mixed);
        int32_t id = 0;
        for (int i = 1; i < V; i++)
            if (mixed[i] > mixed[id]) id = i;
        /* the caption ends at the first special or media code, as the
         * pipeline's does */
        if (id == eos || id >= n_text) break;
        ids[n++] = id;
        const int32_t *next[N_VIEWS];
        int ones[N_VIEWS];
        for (int v = 0; v < nv; v++)
            next[v] = ids + n - 1, ones[v] = 1;
        for (int k = 0; k < n_m; k++)
            if (ts_sessions_feed(s + k * nv, nv, NULL, next, ones, rows + (size_t)k * nv * V))
                die("token");
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc - 4 > MAX_MODELS) {
        fprintf(stderr, "usage: ensemble_probe HELDOUT_DIR TASK N MODEL... (1 to %d models)\n",
                MAX_MODELS);
        return 1;
    }
    const char *held = argv[1], *task = argv[2];
    const int limit = atoi(argv[3]), n_m = argc - 4;
    ts_gguf *g[MAX_MODELS];
    ts_model *m[MAX_MODELS];
    ts_vocab voc;
    ts_vq *vq;
    ts_bpe *tok;
    for (int k = 0; k < n_m; k++)
        if (ts_gguf_open(argv[4 + k], &g[k]) || ts_model_load_gguf(g[k], argv[4 + k], &m[k]))
            die(argv[4 + k]);
    if (ts_vocab_read(g[0], &voc) || ts_vq_from_gguf(g[0], argv[4], &vq) || ts_bpe_load(g[0], &tok))
        die(argv[4]);
    const int V = voc.n_vocab;
    ts_session *s[MAX_MODELS * N_VIEWS];
    for (int k = 0; k < n_m; k++)
        for (int v = 0; v < N_VIEWS; v++)
            if (ts_session_new(m[k], 0, &s[k * N_VIEWS + v])) die(argv[4 + k]);
    const int32_t eos = ts_vocab_special(&voc, TS_TOK_EOS);
    float *rows = malloc(sizeof *rows * (size_t)V * n_m * N_VIEWS),
          *mixed = malloc(sizeof *mixed * V);
    heldout_images h;
    heldout_open(&h, "ensemble_probe", held, task, vq, tok, &voc, N_VIEWS);
    int items = 0, right = 0, right_first = 0, first_only = 0, ensemble_only = 0;
    while (items < limit && heldout_next(&h)) {
        bool ok[2];
        for (int pass = 0; pass < 2; pass++) {
            /* pass 0: the first model alone; pass 1: all of them */
            int32_t ids[MAX_ANSWER];
            const int n = caption(s, pass ? n_m : 1, h.md.n_views, h.prompts, h.lens, V, voc.n_text,
                                  eos, rows, mixed, ids);
            char *text;
            size_t len;
            if (ts_bpe_decode(tok, ids, (size_t)n, &text, &len)) die(h.file);
            ok[pass] = caption_right(text, h.expected);
            free(text);
            if (n_m == 1) {
                ok[1] = ok[0];
                break;
            }
        }
        right_first += ok[0], right += ok[1];
        first_only += ok[0] && !ok[1], ensemble_only += ok[1] && !ok[0];
        items++;
    }
    heldout_close(&h);
    printf("%s: %d items; the first model alone %.2f %%", task, items,
           items ? 100.0 * right_first / items : 0.0);
    if (n_m > 1)
        printf(", the %d models together %.2f %% (%d items right only alone, %d only together)",
               n_m, items ? 100.0 * right / items : 0.0, first_only, ensemble_only);
    printf("\n");
    for (int i = 0; i < n_m * N_VIEWS; i++)
        ts_session_free(s[i]);
    free(rows), free(mixed);
    ts_bpe_free(tok);
    ts_vq_free(vq);
    for (int k = 0; k < n_m; k++)
        ts_model_free(m[k]), ts_gguf_close(g[k]);
    return 0;
}
