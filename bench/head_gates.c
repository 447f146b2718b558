/* Where the DRA gates leave attention heads open. For each medium given,
 * the model's own greedy answer (images: the caption prompt; clips:
 * QUESTION), then one forward over prompt and answer; prints, per block,
 * the mean number of heads whose gate is open (> 0.5) at the medium's code
 * positions, at the other prompt tokens, and at the rows that predict the
 * answer (from <assistant> on). An answer reads the codes through the keys
 * and values of every block, and a code row is only read together with the
 * other codes through heads open at code rows, so a block with no head open
 * there leaves each code to itself.
 *
 * usage: build/bench/head_gates MODEL QUESTION FILE...
 * Reads each medium once (no test-time views), as recorded. A measurement,
 * not a test: nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "tessera.h"

enum { CODES, PROMPT, ANSWER, N_KINDS };
static const char *const kind_names[N_KINDS] = {"codes", "prompt", "answer"};

typedef struct {
    int32_t *ids;
    int n, cap;
} id_list;

static bool keep(int32_t id, void *user) {
    id_list *l = user;
    if (l->n == l->cap) return false;
    l->ids[l->n++] = id;
    return true;
}

static void die(const char *what) {
    fprintf(stderr, "head_gates: %s: %s\n", what, ts_last_error());
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL QUESTION FILE...\n", argv[0]);
        return 1;
    }
    const char *path = argv[1], *question = argv[2];
    const int n_files = argc - 3;
    ts_gguf *g;
    ts_bpe *tok;
    ts_vocab v;
    ts_model *m;
    ts_pipeline *p;
    ts_media_set set;
    /* the pipeline only encodes the media; tokenizer and decoder come from g */
    if (ts_gguf_open(path, &g) || ts_bpe_load(g, &tok) || ts_vocab_read(g, &v) ||
        ts_model_load_gguf(g, path, &m) || ts_pipeline_load(path, TS_PART_VQ, 1, &p))
        die(path);
    ts_pipeline_set_views(p, 1);
    ts_pipeline_set_level_floor(p, 0);
    if (ts_pipeline_encode_files(p, (const char *const *)argv + 3, n_files, &set)) die("media");

    const int L = m->c.n_layers, H = m->c.n_heads, ctx = m->c.context;
    double *open = calloc((size_t)L * N_KINDS, sizeof *open);
    long rows[N_KINDS] = {0};
    int32_t *ids = malloc(sizeof *ids * (size_t)ctx);
    ts_sampler greedy = {.temperature = 0, .top_k = 0, .top_p = 1};
    ts_seq seq = {0};
    if (!open || !ids) die("memory");
    for (int f = 0; f < set.n; f++) {
        const ts_media *md = &set.media[f];
        const char *q = md->kind == TS_MEDIA_IMAGE ? TS_CAPTION_PROMPT : question;
        if (ts_fusion_build(tok, &v, md, 1, q, NULL, &seq)) die(argv[3 + f]);
        if (seq.n >= ctx) {
            fprintf(stderr, "head_gates: %s: %d prompt tokens, more than the context (%d)\n",
                    argv[3 + f], seq.n, ctx);
            exit(2);
        }
        memcpy(ids, seq.tokens, sizeof *ids * (size_t)seq.n);
        id_list ans = {ids + seq.n, 0, ctx - seq.n < 32 ? ctx - seq.n : 32};
        int made;
        if (ts_model_generate(m, seq.tokens, seq.n, ans.cap, &greedy,
                              ts_vocab_special(&v, TS_TOK_EOS), 0, keep, &ans, &made))
            die(argv[3 + f]);
        const int T = seq.n + ans.n;
        ts_acts a;
        if (ts_acts_new(m, 1, T, true, &a)) die("activations");
        ts_model_forward(m, NULL, &a, ids, false);
        for (int i = 0; i < T; i++) {
            int k = i >= seq.n - 1                                              ? ANSWER
                    : ids[i] >= v.code_base && ids[i] < v.code_base + v.n_codes ? CODES
                                                                                : PROMPT;
            if (k == ANSWER && i == T - 1) continue; /* predicts nothing of the answer */
            rows[k]++;
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    open[l * N_KINDS + k] += a.L[l].g[(size_t)i * H + h] > 0.5f;
        }
        ts_acts_free(&a);
    }
    printf("%d media, %d heads per block: mean heads open per row\n", set.n, H);
    printf("%-6s", "block");
    for (int k = 0; k < N_KINDS; k++)
        printf(" %8s", kind_names[k]);
    printf("\n");
    for (int l = 0; l < L; l++) {
        printf("%-6d", l);
        for (int k = 0; k < N_KINDS; k++)
            printf(" %8.2f", rows[k] ? open[l * N_KINDS + k] / (double)rows[k] : 0.0);
        printf("\n");
    }
    printf("%-6s", "rows");
    for (int k = 0; k < N_KINDS; k++)
        printf(" %8ld", rows[k]);
    printf("\n");
    ts_seq_free(&seq);
    free(ids);
    free(open);
    ts_media_set_free(&set);
    ts_pipeline_free(p);
    ts_model_free(m);
    ts_bpe_free(tok);
    ts_gguf_close(g);
    return 0;
}
