/* Batch evaluation speed: items/s of `tessera eval`'s pipeline (ts_eval_run:
 * media decoded and VQ-encoded once per item, the fusion/ prompt, every
 * option scored by the decoder) on 1 and 2 threads, against its peer in the
 * same process: the decoder alone (ts_model_score_batch) on exactly the
 * same token sequences, built beforehand, each option's whole sequence
 * run on its own. Eval runs an item's shared prompt once through the KV
 * cache and continues each option from it, so the ratio eval / decoder-alone
 * (above 1 when the prompt is long) is what that saves, net of the media
 * decoding around it; 2 threads / 1 thread is the scaling. Medians of R runs (default 3), the two alternating so that a
 * busy machine slows both alike.
 *
 *   build/bench/bench_eval [BENCH] [-m MODEL] [--split S] [--limit N] [--reps R] [--save OUT]
 *
 * Without -m, a model of the DESIGN.md default sizes (decoder ~20 M
 * parameters, VQ-VAE 1024 x 64, a 4096-token BPE learnt on the benchmark's
 * own text) with random weights is made in /tmp: speed does not depend on
 * the weights (--save OUT keeps it, e.g. to run `tessera eval -m OUT` for a
 * chance-level check of the whole pipeline). Default BENCH: ../shared/data/scienceqa/problems.json,
 * split val, 32 items. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tessera.h"
#include "tessera/vqvae.h"

#define MAX_REPS 15

static void die(const char *what) {
    fprintf(stderr, "bench_eval: %s: %s\n", what, ts_last_error());
    exit(2);
}

/* CPU seconds of the whole process: on a busy shared machine this moves
 * far less than the wall clock, so it is printed beside items/s. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A default-size model with random weights, its tokenizer learnt on the
 * benchmark's questions, hints and options. */
static void make_model(const ts_bench *b, const char *path) {
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < b->n_items; i++) {
        const ts_eval_item *it = &b->items[i];
        if (it->error) continue;
        const char *parts[3] = {it->question, it->hint, ""};
        for (int p = 0; p < 2 + it->n_choices; p++) {
            const char *s = p < 2 ? parts[p] : it->choices[p - 2];
            size_t l = strlen(s);
            while (n + l + 2 > cap)
                text = realloc(text, cap *= 2);
            memcpy(text + n, s, l);
            n += l;
            text[n++] = '\n';
        }
    }
    const uint8_t *texts[] = {(const uint8_t *)text};
    ts_bpe *tok;
    double t0 = ts_now();
    if (ts_bpe_train_mem(texts, &n, 1, 4096, NULL, NULL, &tok)) die("tokenizer");
    ts_vq_config vc = ts_vq_default_config();
    ts_vq *vq;
    if (ts_vq_new(&vc, 1, &vq)) die("vq");
    ts_vocab v;
    ts_vocab_init(&v, ts_bpe_n_text(tok), vc.codebook_size);
    ts_model_config mc = ts_model_config_default(v.n_vocab);
    ts_model *m;
    if (ts_model_new(&mc, 1, &m)) die("model");
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    if (ts_bpe_save(tok, vc.codebook_size, w)) die("save tokenizer");
    ts_vocab_write(&v, w);
    if (ts_model_add_to_gguf(m, w) || ts_vq_add_to_gguf(vq, w) || ts_gguf_write(w, path))
        die("save");
    fprintf(stderr, "made %s: %lld decoder parameters (%lld active), %d BPE tokens, in %.1f s\n",
            path, (long long)ts_model_n_params(m), (long long)ts_model_n_active_params(m),
            ts_bpe_n_text(tok), ts_now() - t0);
    ts_gguf_writer_free(w);
    ts_model_free(m);
    ts_vq_free(vq);
    ts_bpe_free(tok);
    free(text);
}

/* The peer's input: every option of every usable item as the token
 * sequence the scorer builds (same media codes, prompt and template). */
typedef struct {
    int n;
    int32_t **ids;
    uint8_t **mask;
    int *len;
    long tokens;
} seqs;

static void build_seqs(const ts_bench *b, const char *model, seqs *out) {
    ts_gguf *g;
    ts_bpe *tok;
    ts_vq *vq;
    ts_vocab v;
    if (ts_gguf_open(model, &g) || ts_bpe_load(g, &tok) || ts_vq_from_gguf(g, model, &vq) ||
        ts_vocab_read(g, &v))
        die(model);
    memset(out, 0, sizeof *out);
    int cap = 0;
    ts_seq s = {0};
    for (int i = 0; i < b->n_items; i++) {
        const ts_eval_item *it = &b->items[i];
        if (it->error) continue;
        ts_media media[8];
        int32_t *codes[8] = {0};
        int nm = it->n_media < 8 ? it->n_media : 8;
        bool ok = true;
        for (int k = 0; k < nm && ok; k++) {
            ts_vq_input_kind kind;
            float *x;
            int T;
            if (ts_vq_load_media(vq, it->media_paths[k], 1, &kind, &x, &T)) {
                ok = false;
                break;
            }
            int nc = kind == TS_VQ_IMAGE ? 64 : T / 4;
            codes[k] = malloc(sizeof(int32_t) * (size_t)nc);
            if (kind == TS_VQ_IMAGE)
                ts_vq_encode_images(vq, NULL, x, 1, codes[k]);
            else
                ts_vq_encode_audio(vq, NULL, x, 1, T, codes[k]);
            media[k] =
                (ts_media){kind == TS_VQ_IMAGE ? TS_MEDIA_IMAGE : TS_MEDIA_AUDIO, codes[k], nc, 1};
            free(x);
        }
        char *prompt = NULL;
        if (ok && ts_mc_prompt(it->question, it->hint, (const char *const *)it->choices,
                               it->n_choices, &prompt))
            ok = false;
        for (int c = 0; ok && c < it->n_choices; c++) {
            if (ts_fusion_build(tok, &v, media, nm, prompt, it->choices[c], &s)) break;
            if (out->n == cap) {
                cap = cap ? cap * 2 : 256;
                out->ids = realloc(out->ids, sizeof *out->ids * cap);
                out->mask = realloc(out->mask, sizeof *out->mask * cap);
                out->len = realloc(out->len, sizeof *out->len * cap);
            }
            out->ids[out->n] = malloc(sizeof(int32_t) * (size_t)s.n);
            out->mask[out->n] = malloc((size_t)s.n);
            memcpy(out->ids[out->n], s.tokens, sizeof(int32_t) * (size_t)s.n);
            memcpy(out->mask[out->n], s.mask, (size_t)s.n);
            out->len[out->n++] = s.n;
            out->tokens += s.n;
        }
        free(prompt);
        for (int k = 0; k < nm; k++)
            free(codes[k]);
    }
    ts_seq_free(&s);
    ts_bpe_free(tok);
    ts_vq_free(vq);
    ts_gguf_close(g);
}

int main(int argc, char **argv) {
    const char *path = "../shared/data/scienceqa/problems.json", *model = NULL, *save = NULL;
    ts_bench_options bo = {.split = "val", .limit = 32};
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc)
            bo.split = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            bo.limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--save") && i + 1 < argc)
            save = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (reps < 1 || reps > MAX_REPS) reps = 3;
    ts_bench *b;
    if (ts_bench_load(path, &bo, &b)) die(path);
    char tmp_model[64] = "";
    if (!model) {
        snprintf(tmp_model, sizeof tmp_model, "/tmp/tessera-bench-eval-%ld.gguf", (long)getpid());
        model = save ? save : tmp_model;
        if (save) tmp_model[0] = '\0';
        /* the tokenizer learns from the whole split, not just the timed items */
        ts_bench *full;
        ts_bench_options fo = bo;
        fo.limit = 0;
        if (ts_bench_load(path, &fo, &full)) die(path);
        make_model(full, model);
        ts_bench_free(full);
    }
    seqs sq;
    build_seqs(b, model, &sq);
    int usable = 0;
    for (int i = 0; i < b->n_items; i++)
        usable += !b->items[i].error;
    printf("benchmark: %s (split %s): %d items, %d usable, %d option sequences, %.1f tokens each\n",
           path, bo.split, b->n_items, usable, sq.n, sq.n ? (double)sq.tokens / sq.n : 0.0);

    double eval_ips[2], peer_ips[2], eval_cpu[2], peer_cpu[2];
    for (int t = 1; t <= 2; t++) {
        ts_pool *pool = ts_pool_new(t);
        ts_scorer *sc;
        ts_model *m;
        if (ts_eval_model_scorer_new(model, t, &sc) || ts_model_load(model, &m)) die(model);
        double e[MAX_REPS], p[MAX_REPS], ec[MAX_REPS], pc[MAX_REPS];
        for (int r = 0; r < reps; r++) {
            ts_eval_options eo = {.mode = TS_SCORE_SUM, .pool = pool};
            ts_eval_result *res;
            double t0 = ts_now(), c0 = cpu_now();
            if (ts_eval_run(b, sc, &eo, &res)) die("eval");
            double dt = ts_now() - t0;
            ec[r] = (cpu_now() - c0) * 1000 / usable;
            int scored = 0;
            for (int i = 0; i < b->n_items; i++)
                scored += !res[i].error;
            ts_eval_results_free(res, b->n_items);
            e[r] = scored / dt;

            double *lp = malloc(sizeof(double) * (size_t)sq.n);
            int *cnt = malloc(sizeof(int) * (size_t)sq.n);
            t0 = ts_now(), c0 = cpu_now();
            if (ts_model_score_batch(m, pool, sq.n, (const int32_t *const *)sq.ids,
                                     (const uint8_t *const *)sq.mask, sq.len, lp, cnt))
                die("score batch");
            dt = ts_now() - t0;
            pc[r] = (cpu_now() - c0) * 1000 / usable;
            p[r] = usable / dt;
            free(lp);
            free(cnt);
            fprintf(
                stderr,
                "  %d thread%s, run %d: eval %.2f items/s (%.0f CPU ms/item), decoder alone %.2f "
                "items/s (%.0f CPU ms/item)\n",
                t, t == 1 ? "" : "s", r + 1, e[r], ec[r], p[r], pc[r]);
        }
        eval_ips[t - 1] = median(e, reps);
        peer_ips[t - 1] = median(p, reps);
        eval_cpu[t - 1] = median(ec, reps);
        peer_cpu[t - 1] = median(pc, reps);
        ts_scorer_free(sc);
        ts_model_free(m);
        ts_pool_free(pool);
    }
    printf("%-8s %13s %15s %24s %15s %12s\n", "threads", "eval items/s", "eval CPU ms/item",
           "decoder alone items/s", "alone CPU ms/item", "ratio");
    for (int t = 0; t < 2; t++)
        printf("%-8d %13.2f %15.0f %24.2f %15.0f %12.2f\n", t + 1, eval_ips[t], eval_cpu[t],
               peer_ips[t], peer_cpu[t], eval_ips[t] / peer_ips[t]);
    printf(
        "ratio = eval / decoder alone (items/s); by CPU time: %.2f (1 thread), %.2f (2 threads)\n",
        peer_cpu[0] / eval_cpu[0], peer_cpu[1] / eval_cpu[1]);
    printf("scaling 2 / 1 threads: eval %.2fx, decoder alone %.2fx\n", eval_ips[1] / eval_ips[0],
           peer_ips[1] / peer_ips[0]);
    for (int i = 0; i < sq.n; i++)
        free(sq.ids[i]), free(sq.mask[i]);
    free(sq.ids), free(sq.mask), free(sq.len);
    ts_bench_free(b);
    if (tmp_model[0]) unlink(tmp_model);
    return 0;
}
