/* tessera train --text FILE... -o lm.gguf: trains the MoE decoder from
 * scratch on text (tokenizer first, unless --tokenizer gives one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_FILES 1024

static void usage(void) {
    printf(
        "usage: tessera train --text FILE... -o OUT.gguf [options]\n\n"
        "Trains the Mixture-of-Experts decoder from scratch on text files. Each file\n"
        "is split into documents at blank lines; a document becomes <bos> text <eos>.\n"
        "The tokenizer is learned from the training files first (or taken from\n"
        "--tokenizer). OUT.gguf holds the tokenizer, the vocabulary layout and the\n"
        "decoder. Progress on stderr; a loss CSV, a PNG plot and a checkpoint are\n"
        "written next to OUT (OUT.loss.csv, OUT.loss.png, OUT.ckpt).\n\n"
        "  --text FILE...      training text\n"
        "  --val FILE...       held-out text (default: the last --val-frac of the\n"
        "                      training documents)\n"
        "  --val-frac F        share of documents held out (default 0.05)\n"
        "  -o FILE             the model to write\n"
        "  --tokenizer FILE    a tokenizer GGUF (from train-bpe) instead of training one\n"
        "  --vocab N           BPE tokens when training the tokenizer (default 4096)\n"
        "  --codes K           media codes in the vocabulary (default 1024)\n"
        "  --config K=V,...    model sizes: d_model, n_heads, head_dim, n_layers,\n"
        "                      n_dense_layers, ffn_hidden, n_experts, n_experts_used,\n"
        "                      n_shared, expert_hidden, context, tied_output, rope_theta,\n"
        "                      image_grid, image_token (2-D RoPE for grids of codes)\n"
        "  --steps N           optimiser steps (default 1000)\n"
        "  --batch B           sequences per step (default 8)\n"
        "  --seq T             tokens per sequence (default 256)\n"
        "  --lr X              peak learning rate (default 1e-3); --min-lr (1e-4)\n"
        "  --warmup N          warmup steps (default 100)\n"
        "  --weight-decay X    decoupled, matrices only (default 0.1)\n"
        "  --gate-penalty X    λ of the DRA gate penalty (default 0.05)\n"
        "  --bias-gamma X      γ of the router-bias sign rule (default 0.001); after\n"
        "                      the last step the biases are refined over the\n"
        "                      training text, weights frozen, with min(γ, 0.001)\n"
        "  --balance-alpha X   α of the sequence-level balance loss (default 1e-4)\n"
        "  --eval-every N      steps between val evaluations (default 100)\n"
        "  --val-windows N     val windows of --seq tokens per evaluation (default 64)\n"
        "  --checkpoint FILE   checkpoint path (default OUT.ckpt)\n"
        "  --save-dtype T      matrices in OUT as f32 (default), f16, bf16 or q8_0\n"
        "  --resume FILE       continue from a checkpoint (same settings and -t)\n"
        "  --time-limit S      stop after S seconds with a checkpoint\n"
        "  -s, --seed N        seed of the weights and the data order (default 1)\n"
        "  -t N                threads (default: the online CPUs)\n");
}

typedef struct {
    int32_t *ids;
    size_t n, cap;
} stream;

/* Splits text into documents at blank lines and appends <bos> doc <eos>. */
static ts_status encode_docs(ts_bpe *tok, const char *path, const uint8_t *text, size_t len,
                             int32_t bos, int32_t eos, stream *out, int *n_docs) {
    size_t i = 0;
    while (i < len) {
        while (i < len && (text[i] == '\n' || text[i] == '\r')) i++;
        size_t start = i;
        while (i < len) {
            /* a blank line: "\n" followed by optional spaces and "\n" */
            if (text[i] == '\n') {
                size_t j = i + 1;
                while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) j++;
                if (j >= len || text[j] == '\n') break;
            }
            i++;
        }
        if (i == start) continue;
        if (out->n + 2 > out->cap || !out->ids) {
            size_t cap = out->cap ? 2 * out->cap : 4096;
            int32_t *p = realloc(out->ids, sizeof *p * cap);
            if (!p) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
            out->ids = p, out->cap = cap;
        }
        out->ids[out->n++] = bos;
        ts_status s = ts_bpe_encode(tok, text + start, i - start, &out->ids, &out->n, &out->cap);
        if (s) return s;
        if (out->n + 1 > out->cap) {
            int32_t *p = realloc(out->ids, sizeof *p * (out->cap * 2));
            if (!p) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
            out->ids = p, out->cap *= 2;
        }
        out->ids[out->n++] = eos;
        ++*n_docs;
    }
    return TS_OK;
}

static int collect_files(int argc, char **argv, int *i, const char **files, int *n) {
    int before = *n;
    while (*i + 1 < argc && (argv[*i + 1][0] != '-' || !argv[*i + 1][1])) {
        if (*n >= MAX_FILES) return cli_usage(argv[0], "at most %d files", MAX_FILES);
        files[(*n)++] = argv[++*i];
    }
    if (*n == before) return cli_usage(argv[0], "%s needs at least one file", argv[*i]);
    return 0;
}

int cmd_train(int argc, char **argv) {
    const char *out = NULL, *tok_path = NULL, *config = NULL, *resume = NULL, *ckpt = NULL;
    const char *save_dtype = "f32";
    const char *text_files[MAX_FILES], *val_files[MAX_FILES];
    int n_text = 0, n_val = 0;
    long vocab = 4096, codes = 1024, threads = 0, eval_every = 100, val_windows = 64;
    double val_frac = 0.05, time_limit = 0;
    ts_train_config tc = ts_train_config_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long lv;
        double dv;
#define LONG_OPT(flag, lo, hi, dst) \
    else if (!strcmp(a, flag)) { \
        if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], flag, v, lo, hi, &lv)) return 1; \
        dst = lv; }
#define DBL_OPT(flag, lo, hi, dst) \
    else if (!strcmp(a, flag)) { \
        if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], flag, v, lo, hi, &dv)) return 1; \
        dst = dv; }
#define STR_OPT(flag, dst) \
    else if (!strcmp(a, flag)) { \
        if (!(dst = cli_value(argv[0], argc, argv, &i))) return 1; }
        if (cli_is_help(a)) {
            usage();
            return 0;
        } else if (!strcmp(a, "--text")) {
            if (collect_files(argc, argv, &i, text_files, &n_text)) return 1;
        } else if (!strcmp(a, "--val")) {
            if (collect_files(argc, argv, &i, val_files, &n_val)) return 1;
        }
        STR_OPT("-o", out)
        STR_OPT("--output", out)
        STR_OPT("--tokenizer", tok_path)
        STR_OPT("--config", config)
        STR_OPT("--resume", resume)
        STR_OPT("--checkpoint", ckpt)
        STR_OPT("--save-dtype", save_dtype)
        LONG_OPT("--vocab", 256, 1 << 20, vocab)
        LONG_OPT("--codes", 0, 1 << 20, codes)
        LONG_OPT("--steps", 1, 1L << 40, tc.steps)
        LONG_OPT("--batch", 1, 4096, tc.batch)
        LONG_OPT("--seq", 2, 65536, tc.seq_len)
        LONG_OPT("--warmup", 0, 1L << 40, tc.warmup)
        LONG_OPT("--eval-every", 1, 1L << 40, eval_every)
        LONG_OPT("--val-windows", 1, 1L << 30, val_windows)
        LONG_OPT("-t", 1, 1024, threads)
        LONG_OPT("--threads", 1, 1024, threads)
        LONG_OPT("-s", 0, 1L << 62, tc.seed)
        LONG_OPT("--seed", 0, 1L << 62, tc.seed)
        DBL_OPT("--lr", 0, 10, tc.lr)
        DBL_OPT("--min-lr", 0, 10, tc.min_lr)
        DBL_OPT("--weight-decay", 0, 10, tc.weight_decay)
        DBL_OPT("--gate-penalty", 0, 100, tc.gate_penalty)
        DBL_OPT("--bias-gamma", 0, 1, tc.bias_gamma)
        DBL_OPT("--balance-alpha", 0, 100, tc.balance_alpha)
        DBL_OPT("--val-frac", 0, 0.9, val_frac)
        DBL_OPT("--time-limit", 0, 1e9, time_limit)
        else return cli_usage(argv[0], "unknown argument '%s'", a);
#undef LONG_OPT
#undef DBL_OPT
#undef STR_OPT
    }
    if (!out) return cli_usage(argv[0], "no output file (-o) given");
    ts_dtype dtype = TS_DTYPE_F32;
    if (!strcmp(save_dtype, "f16")) dtype = TS_DTYPE_F16;
    else if (!strcmp(save_dtype, "bf16")) dtype = TS_DTYPE_BF16;
    else if (!strcmp(save_dtype, "q8_0")) dtype = TS_DTYPE_Q8_0;
    else if (strcmp(save_dtype, "f32"))
        return cli_usage(argv[0], "--save-dtype wants f32, f16, bf16 or q8_0, not '%s'", save_dtype);
    if (!n_text) return cli_usage(argv[0], "no training text (--text FILE...) given");
    if (tc.warmup >= tc.steps) tc.warmup = tc.steps / 10;

    ts_status s = TS_OK;
    ts_bpe *tok = NULL;
    ts_model *m = NULL;
    ts_pool *pool = NULL;
    stream train = {0}, val = {0};
    char ckpt_buf[4096], csv[4096], png[4096];
    snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt", out);
    snprintf(csv, sizeof csv, "%s.loss.csv", out);
    snprintf(png, sizeof png, "%s.loss.png", out);
    double t0 = ts_now();
    /* 1. the tokenizer */
    if (tok_path) {
        ts_gguf *g;
        if (!(s = ts_gguf_open(tok_path, &g))) {
            s = ts_bpe_load(g, &tok);
            ts_gguf_close(g);
        }
    } else {
        fprintf(stderr, "train: learning a %ld-token BPE from %d file(s)\n", vocab, n_text);
        s = ts_bpe_train(text_files, n_text, (int)vocab, NULL, NULL, &tok);
    }
    if (s) goto done;
    ts_vocab voc;
    ts_vocab_init(&voc, ts_bpe_n_text(tok), (int32_t)codes);
    int32_t bos = ts_vocab_special(&voc, TS_TOK_BOS), eos = ts_vocab_special(&voc, TS_TOK_EOS);
    /* 2. the token streams */
    int docs = 0, vdocs = 0;
    for (int f = 0; f < n_text + n_val && !s; f++) {
        const char *path = f < n_text ? text_files[f] : val_files[f - n_text];
        uint8_t *data;
        size_t len;
        if ((s = ts_read_file(path, 0, &data, &len))) break;
        s = encode_docs(tok, path, data, len, bos, eos, f < n_text ? &train : &val,
                        f < n_text ? &docs : &vdocs);
        free(data);
    }
    if (s) goto done;
    if (!n_val && val_frac > 0) {
        /* hold out the last documents: cut the stream at a <bos> */
        size_t cut = (size_t)((double)train.n * (1 - val_frac));
        while (cut > 0 && train.ids[cut] != bos) cut--;
        if (cut > 0) {
            val.ids = malloc(sizeof(int32_t) * (train.n - cut + 1));
            if (!val.ids) {
                s = ts_fail(TS_ERR_NOMEM, "out of memory");
                goto done;
            }
            memcpy(val.ids, train.ids + cut, sizeof(int32_t) * (train.n - cut));
            val.n = train.n - cut;
            train.n = cut;
        }
    }
    fprintf(stderr, "train: %zu training tokens, %zu val tokens, vocabulary %d (%d BPE) [%.1f s]\n",
            train.n, val.n, voc.n_vocab, voc.n_text, ts_now() - t0);
    /* 3. the model */
    ts_model_config mc = ts_model_config_default(voc.n_vocab);
    if (config && (s = ts_model_config_parse(&mc, config))) goto done;
    mc.vocab_size = voc.n_vocab;
    if (mc.context < tc.seq_len) mc.context = tc.seq_len;
    if ((s = ts_model_new(&mc, tc.seed, &m))) goto done;
    fprintf(stderr, "train: %lld parameters, %lld active per token; %lld steps of %d x %d tokens\n",
            (long long)ts_model_n_params(m), (long long)ts_model_n_active_params(m),
            (long long)tc.steps, tc.batch, tc.seq_len);
    pool = ts_pool_new((int)threads);
    if (!pool) {
        s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ts_lm_train_opts o = {.train = train.ids, .n_train = train.n, .val = val.ids, .n_val = val.n,
                          .eval_every = (int)eval_every, .val_windows = (int)val_windows,
                          .ckpt_path = ckpt ? ckpt : ckpt_buf,
                          .resume_path = resume, .csv_path = csv, .png_path = png,
                          .time_limit = time_limit};
    ts_lm_train_result r;
    if ((s = ts_lm_train(m, &tc, pool, &o, &r))) goto done;
    /* 4. the model file: tokenizer + vocabulary + decoder */
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) {
        s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ts_gguf_set_str(w, "general.architecture", "tessera");
    if (!(s = ts_bpe_save(tok, (int)codes, w))) {
        ts_vocab_write(&voc, w);
        if (!(s = ts_model_add_to_gguf_as(m, w, dtype))) s = ts_gguf_write(w, out);
    }
    ts_gguf_writer_free(w);
    if (s) goto done;
    fprintf(stderr,
            "train: %lld steps, loss %.4f, val loss %.4f, %.0f tokens/s, active heads %.1f%%, "
            "val expert load max/mean %.2f with %d unused -> %s (%.0f s)\n",
            (long long)r.steps_done, r.loss, r.val_loss, r.tokens_per_s, 100 * r.active_heads,
            r.val_load_max_mean, r.val_experts_unused, out, ts_now() - t0);
done:
    free(train.ids);
    free(val.ids);
    ts_model_free(m);
    ts_bpe_free(tok);
    ts_pool_free(pool);
    return cli_fail(s);
}
