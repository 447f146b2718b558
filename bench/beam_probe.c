/* Would a beam search caption better than greedy decoding? For each
 * held-out image of a task, the image is read in the commands' views and
 * captioned by a beam of width B over the views' mean log-probabilities
 * (the row ts_model_generate_views draws from): every step extends each
 * live caption by its B likeliest tokens, keeps the B likeliest of all
 * those, and sets aside the ones that end (at <eos>, a special or a media
 * code, as the pipeline's captions end); the search stops when no live
 * caption can beat the best ended one (log-probabilities only fall), and
 * the answer is that one. B = 1 is greedy decoding, `tessera caption`'s
 * own answer, so its accuracy must match bench/model_accuracy.sh's row.
 * caption_search counts the misses a perfect search could win back; this
 * measures what a real beam wins, and what it loses.
 *
 *   build/bench/beam_probe MODEL HELDOUT_DIR TASK N VIEWS B
 *
 * TASK: mnist or cifar10 (the class word must appear in the caption) or
 * scenes (the exact caption). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/views.h"
#include "tessera.h"

#define MAX_BEAM 8
#define MAX_VIEWS 9
#define MAX_LEN 48

static void die(const char *what) {
    fprintf(stderr, "beam_probe: %s: %s\n", what, ts_last_error());
    exit(2);
}

static bool has_word(const char *text, const char *word) {
    const size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
    return false;
}

/* The views' mean log-softmax of rows[nv][V], as the commands mix them. */
static void mean_log_softmax(const float *rows, int nv, int V, float *out) {
    memset(out, 0, sizeof *out * (size_t)V);
    for (int v = 0; v < nv; v++) {
        const float *l = rows + (size_t)v * V;
        float mx = l[0];
        for (int i = 1; i < V; i++)
            mx = l[i] > mx ? l[i] : mx;
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += exp((double)(l[i] - mx));
        const float shift = mx + (float)log(sum);
        for (int i = 0; i < V; i++)
            out[i] += (l[i] - shift) / (float)nv;
    }
}

/* A beam slot: nv sessions holding the prompt and then held[0..n_held),
 * and their next-token rows. */
typedef struct {
    ts_session *s[MAX_VIEWS];
    int32_t held[MAX_LEN];
    int n_held;
    float *rows;
} slot;

typedef struct {
    int32_t ids[MAX_LEN];
    int n;
    double score;
    int slot; /* live: the slot that holds it */
} hyp;

/* Makes slot k hold h's tokens (after the prompt of n_prompt tokens): keeps
 * the prefix it shares, feeds the rest. */
static void hold(slot *k, int nv, int n_prompt, const hyp *h) {
    int common = 0;
    while (common < k->n_held && common < h->n && k->held[common] == h->ids[common])
        common++;
    if (common == h->n && common == k->n_held) return;
    if (common == h->n) common--; /* the rows of the last token are needed again */
    const int32_t *rest[MAX_VIEWS];
    int lens[MAX_VIEWS];
    for (int v = 0; v < nv; v++) {
        if (ts_session_truncate(k->s[v], n_prompt + common)) die("truncate");
        rest[v] = h->ids + common, lens[v] = h->n - common;
    }
    if (ts_sessions_feed(k->s, nv, NULL, rest, lens, k->rows)) die("feed");
    memcpy(k->held, h->ids, sizeof *h->ids * (size_t)h->n);
    k->n_held = h->n;
}

/* The beam's caption (ids, count returned) of one image's view prompts. */
static int beam_caption(slot *slots, int B, int nv, const int32_t *const *prompts, const int *lens,
                        int V, int n_text, int32_t eos, float *mixed, int32_t *out) {
    for (int b = 0; b < B; b++) {
        for (int v = 0; v < nv; v++)
            ts_session_reset(slots[b].s[v]);
        slots[b].n_held = 0;
    }
    /* every slot starts from the prompt (only slot 0 is live at first) */
    if (ts_sessions_feed(slots[0].s, nv, NULL, prompts, lens, slots[0].rows)) die("prompt");
    for (int b = 1; b < B; b++)
        if (ts_sessions_feed(slots[b].s, nv, NULL, prompts, lens, slots[b].rows)) die("prompt");
    hyp live[MAX_BEAM] = {{.n = 0, .score = 0, .slot = 0}}, cand[MAX_BEAM * MAX_BEAM];
    int n_live = 1;
    hyp best = {.n = -1, .score = -INFINITY};
    for (int step = 0; step < MAX_LEN && n_live; step++) {
        int n_cand = 0;
        for (int h = 0; h < n_live; h++) {
            mean_log_softmax(slots[live[h].slot].rows, nv, V, mixed);
            /* the B likeliest tokens, ties to the lower id (greedy's pick) */
            int32_t top[MAX_BEAM];
            for (int t = 0; t < B; t++) {
                int32_t id = -1;
                for (int i = 0; i < V; i++) {
                    bool used = false;
                    for (int u = 0; u < t; u++)
                        used |= top[u] == i;
                    if (!used && (id < 0 || mixed[i] > mixed[id])) id = i;
                }
                top[t] = id;
            }
            for (int t = 0; t < B; t++) {
                hyp c = live[h];
                c.score += mixed[top[t]];
                if (top[t] == eos || top[t] >= n_text) {
                    c.slot = -1; /* ended */
                } else {
                    if (c.n == MAX_LEN) continue;
                    c.ids[c.n++] = top[t];
                }
                cand[n_cand++] = c;
            }
        }
        /* stable: equal scores keep the order of their parents and tokens */
        for (int i = 1; i < n_cand; i++)
            for (int j = i; j > 0 && cand[j].score > cand[j - 1].score; j--) {
                hyp t = cand[j];
                cand[j] = cand[j - 1], cand[j - 1] = t;
            }
        hyp next[MAX_BEAM];
        int n_next = 0;
        for (int i = 0; i < n_cand && n_next < B; i++) {
            if (cand[i].slot < 0) {
                if (cand[i].score > best.score) best = cand[i];
            } else {
                next[n_next++] = cand[i];
            }
        }
        /* live captions that cannot beat the best ended one are dropped */
        int kept = 0;
        for (int i = 0; i < n_next; i++)
            if (next[i].score > best.score) next[kept++] = next[i];
        n_next = kept;
        /* slots: a caption takes its parent's slot when that one is free */
        bool used[MAX_BEAM] = {0};
        int want[MAX_BEAM];
        for (int i = 0; i < n_next; i++) {
            want[i] = -1;
            if (!used[next[i].slot]) used[next[i].slot] = true, want[i] = next[i].slot;
        }
        for (int i = 0; i < n_next; i++)
            if (want[i] < 0)
                for (int b = 0; b < B; b++)
                    if (!used[b]) {
                        used[b] = true, want[i] = b;
                        break;
                    }
        const int n_prompt = lens[0];
        for (int i = 0; i < n_next; i++) {
            next[i].slot = want[i];
            hold(&slots[want[i]], nv, n_prompt, &next[i]);
        }
        memcpy(live, next, sizeof *next * (size_t)n_next);
        n_live = n_next;
    }
    if (best.n < 0) best = live[0];
    memcpy(out, best.ids, sizeof *out * (size_t)best.n);
    return best.n;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: beam_probe MODEL HELDOUT_DIR TASK N VIEWS B\n");
        return 1;
    }
    const char *path = argv[1], *held = argv[2], *task = argv[3];
    const int limit = atoi(argv[4]), n_views = atoi(argv[5]), B = atoi(argv[6]);
    if (n_views < 1 || n_views > MAX_VIEWS || B < 1 || B > MAX_BEAM) {
        fprintf(stderr, "beam_probe: VIEWS 1-%d, B 1-%d\n", MAX_VIEWS, MAX_BEAM);
        return 1;
    }
    ts_gguf *g;
    ts_model *m;
    ts_vocab voc;
    ts_vq *vq;
    ts_bpe *tok;
    if (ts_gguf_open(path, &g) || ts_model_load_gguf(g, path, &m) || ts_vocab_read(g, &voc) ||
        ts_vq_from_gguf(g, path, &vq) || ts_bpe_load(g, &tok))
        die(path);
    const int V = voc.n_vocab;
    slot slots[MAX_BEAM];
    for (int b = 0; b < B; b++) {
        for (int v = 0; v < n_views; v++)
            if (ts_session_new(m, 0, &slots[b].s[v])) die(path);
        slots[b].rows = malloc(sizeof(float) * (size_t)V * n_views);
    }
    float *mixed = malloc(sizeof *mixed * (size_t)V);
    const int32_t eos = ts_vocab_special(&voc, TS_TOK_EOS);
    const int S = ts_vq_get_config(vq)->image_size, n_codes = (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN);
    int32_t *codes = malloc(sizeof *codes * (size_t)n_codes * n_views);
    ts_seq seq[MAX_VIEWS] = {0};
    char labels[1024], line[4096];
    snprintf(labels, sizeof labels, "%s/labels.tsv", held);
    FILE *f = fopen(labels, "r");
    if (!f) {
        fprintf(stderr, "beam_probe: cannot read %s\n", labels);
        return 2;
    }
    int items = 0, right = 0;
    while (items < limit && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *t = strtok(line, "\t"), *file = strtok(NULL, "\t"), *expected = strtok(NULL, "\t");
        if (!t || !file || !expected || strcmp(t, task)) continue;
        ts_vq_input_kind kind;
        float *x;
        int T;
        if (ts_vq_load_media(vq, file, 1, &kind, &x, &T)) die(file);
        if (kind != TS_VQ_IMAGE) {
            fprintf(stderr, "beam_probe: %s: not an image\n", file);
            return 2;
        }
        const int nv = view_count(kind, n_views);
        if (view_encode(vq, NULL, kind, x, T, n_views, codes)) die(file);
        free(x);
        const ts_media md = {TS_MEDIA_IMAGE, codes, n_codes, nv};
        const int32_t *prompts[MAX_VIEWS];
        int lens[MAX_VIEWS];
        for (int v = 0; v < nv; v++) {
            ts_media one;
            ts_media_view(&md, 1, v, &one);
            if (ts_fusion_build(tok, &voc, &one, 1, TS_CAPTION_PROMPT, NULL, &seq[v])) die(file);
            prompts[v] = seq[v].tokens, lens[v] = seq[v].answer_start;
        }
        int32_t ids[MAX_LEN];
        const int n = beam_caption(slots, B, nv, prompts, lens, V, voc.n_text, eos, mixed, ids);
        char *text;
        size_t len;
        if (ts_bpe_decode(tok, ids, (size_t)n, &text, &len)) die(file);
        right += strchr(expected, ' ') ? !strcmp(text, expected) : has_word(text, expected);
        free(text);
        items++;
    }
    fclose(f);
    printf("%s: %d items, %d views, beam %d: %.2f %%\n", task, items, n_views, B,
           items ? 100.0 * right / items : 0.0);
    for (int v = 0; v < MAX_VIEWS; v++)
        ts_seq_free(&seq[v]);
    for (int b = 0; b < B; b++) {
        for (int v = 0; v < n_views; v++)
            ts_session_free(slots[b].s[v]);
        free(slots[b].rows);
    }
    free(mixed), free(codes);
    ts_bpe_free(tok);
    ts_vq_free(vq);
    ts_model_free(m);
    ts_gguf_close(g);
    return 0;
}
