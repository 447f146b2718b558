/* tessera train-mm: trains the MoE decoder on pre-tokenized shards (from
 * build-shards) and writes ONE model file holding the tokenizer, the
 * vocabulary layout, the VQ-VAE and the decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void usage(void) {
    printf("usage: tessera train-mm --shards DIR --tokenizer TOK.gguf --vq VQ.gguf -o OUT.gguf "
           "[options]\n\n"
           "Trains the decoder from scratch on DIR/train.shard (val loss on DIR/val.shard)\n"
           "and writes OUT.gguf with tokenizer + VQ-VAE + decoder: the model `caption`,\n"
           "`ask`, `chat` and `eval` read. Rows are packed with whole examples; the loss\n"
           "covers answers only. Progress and ETA on stderr; a checkpoint at every val\n"
           "evaluation; --resume continues one (same settings and -t: same losses).\n\n"
           "  --config K=V,...   decoder sizes (see `tessera train --help`)\n"
           "  --steps N          optimiser steps (default 3000)\n"
           "  --batch B          rows per step (default 8)\n"
           "  --seq T            tokens per row (default 256)\n"
           "  --lr X             peak learning rate (default 2e-3); --min-lr X (1e-4)\n"
           "  --warmup N         warmup steps (default 100)\n"
           "  --gate-penalty X   λ of the DRA head-gate penalty (default 0.01)\n"
           "  --eval-every N     steps between val evaluations (default 200)\n"
           "  --checkpoint FILE  (default OUT.ckpt)\n"
           "  --resume FILE      continue from a checkpoint\n"
           "  --time-limit S     stop after S seconds (with a checkpoint; the model is\n"
           "                     still written)\n"
           "  --q8               store the decoder's matrices as q8_0\n"
           "  --tie-codes        media codes' embeddings = a learned projection of their\n"
           "                     VQ codebook vectors, so near codes stay near\n"
           "  --rope-2d          image codes get 2-D RoPE positions (row and column of\n"
           "                     their 8 x 8 grid) instead of raster order\n"
           "  --grid-mix         (with --rope-2d) each image code's input adds a learned\n"
           "                     map of its four neighbours read before it (up-left, up,\n"
           "                     up-right, left): the first block sees patches of codes\n"
           "  --grid-mix-reach R the same over R rows above (2R+1 codes each) and the R\n"
           "                     codes to the left: 2R(R+1) neighbours (R in 1..3;\n"
           "                     --grid-mix is R = 1)\n"
           "  --code-swap I,A    swap I %% of the image codes and A %% of the audio codes\n"
           "                     of each train row for one of their 3 nearest codebook\n"
           "                     neighbours (among the codes of that modality), drawn\n"
           "                     afresh every step (default 0,0)\n"
           "  --ema D            keep an exponential moving average of the weights with\n"
           "                     decay D (e.g. 0.9995; 0: none, the default) and write\n"
           "                     it as the model; its val loss is printed beside the\n"
           "                     trained weights'. Checkpoints hold both: --resume of the\n"
           "                     last one without --ema writes the trained weights\n"
           "  -s, --seed N       (default 1)\n"
           "  -t N               threads (default: the online CPUs)\n");
}

int cmd_train_mm(int argc, char **argv) {
    const char *shards = NULL, *tok_path = NULL, *vq_path = NULL, *out = NULL, *config = NULL;
    const char *ckpt = NULL, *resume = NULL, *swap_arg = NULL;
    double swap[2] = {0, 0};
    long threads = 0, seed = 1, eval_every = 200, grid_mix = 0;
    double time_limit = 0;
    bool q8 = false, tie_codes = false, rope_2d = false;
    ts_train_config tc = ts_train_config_default();
    tc.steps = 3000, tc.lr = 2e-3f, tc.gate_penalty = 0.01f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long lv;
        double dv;
        if (cli_is_help(a)) {
            usage();
            return 0;
        }
#define STR(flag, var)                                                                             \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(var = cli_value(argv[0], argc, argv, &i))) return 1;                                 \
    }
#define NUM(flag, lo, hi, var)                                                                     \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, lo, hi, &lv)) \
            return 1;                                                                              \
        var = lv;                                                                                  \
    }
#define DBL(flag, lo, hi, var)                                                                     \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, lo, hi, &dv)) \
            return 1;                                                                              \
        var = dv;                                                                                  \
    }
        /* clang-format off */
        STR("--shards", shards) STR("--tokenizer", tok_path) STR("--vq", vq_path) STR("-o", out)
        STR("--config", config) STR("--checkpoint", ckpt) STR("--resume", resume)
        STR("--code-swap", swap_arg)
        NUM("--steps", 1, 100000000, tc.steps) NUM("--batch", 1, 4096, tc.batch)
        NUM("--seq", 2, 65536, tc.seq_len) NUM("--warmup", 0, 100000000, tc.warmup)
        NUM("--eval-every", 1, 100000000, eval_every) NUM("-s", 0, 1L << 62, seed)
        NUM("--seed", 0, 1L << 62, seed) NUM("-t", 1, 1024, threads)
        DBL("--lr", 0, 10, tc.lr) DBL("--min-lr", 0, 10, tc.min_lr)
        DBL("--time-limit", 0, 1e9, time_limit) DBL("--gate-penalty", 0, 100, tc.gate_penalty)
        DBL("--ema", 0, 0.999999, tc.ema) NUM("--grid-mix-reach", 1, TS_GRID_MIX_MAX_REACH, grid_mix)
        else if (!strcmp(a, "--q8")) q8 = true;
        else if (!strcmp(a, "--tie-codes")) tie_codes = true;
        else if (!strcmp(a, "--rope-2d")) rope_2d = true;
        else if (!strcmp(a, "--grid-mix")) grid_mix = grid_mix ? grid_mix : 1;
        else return cli_usage(argv[0], "unknown argument '%s'", a);
        /* clang-format on */
#undef STR
#undef NUM
#undef DBL
    }
    if (!shards || !tok_path || !vq_path || !out)
        return cli_usage(argv[0], "--shards, --tokenizer, --vq and -o are all needed");
    if (grid_mix && !rope_2d) return cli_usage(argv[0], "grid mixing needs --rope-2d");
    char end;
    if (swap_arg && (sscanf(swap_arg, "%lf,%lf%c", &swap[0], &swap[1], &end) != 2 ||
                     !(swap[0] >= 0 && swap[0] <= 100 && swap[1] >= 0 && swap[1] <= 100)))
        return cli_usage(argv[0], "--code-swap wants two percents, I,A (0..100), not '%s'",
                         swap_arg);
    tc.seed = (uint64_t)seed;

    ts_gguf *g = NULL;
    ts_bpe *tok = NULL;
    ts_vq *vq = NULL;
    ts_model *m = NULL;
    ts_pool *pool = NULL;
    ts_status s = ts_gguf_open(tok_path, &g);
    if (!s && (s = ts_bpe_load(g, &tok))) s = ts_fail(s, "%s: %s", tok_path, ts_last_error());
    if (!s) s = ts_vq_load_file(vq_path, &vq);
    ts_vocab voc;
    if (!s) ts_vocab_init(&voc, ts_bpe_n_text(tok), ts_vq_get_config(vq)->codebook_size);
    ts_model_config mc = ts_model_config_default(s ? 1 : voc.n_vocab);
    if (!s && config) s = ts_model_config_parse(&mc, config);
    if (!s) mc.vocab_size = voc.n_vocab;
    if (!s && rope_2d) {
        mc.image_grid = ts_vq_get_config(vq)->image_size / TS_VQ_DOWN;
        mc.image_token = ts_vocab_special(&voc, TS_TOK_IMG);
        mc.grid_mix = (int)grid_mix;
    }
    if (!s && tc.seq_len > mc.context) tc.seq_len = mc.context;
    if (!s && (s = ts_model_config_check(&mc))) {}
    if (!s) s = ts_model_new(&mc, (uint64_t)seed, &m);
    if (!s && !(pool = ts_pool_new((int)threads))) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    char tr[4096], va[4096], ck[4096];
    snprintf(tr, sizeof tr, "%s/train.shard", shards);
    snprintf(va, sizeof va, "%s/val.shard", shards);
    snprintf(ck, sizeof ck, "%s.ckpt", out);
    if (!s) {
        fprintf(stderr, "train-mm: decoder %.2f M parameters (%.2f M active), vocabulary %d, "
                        "%lld steps of %d x %d tokens on %d threads\n",
                ts_model_n_params(m) / 1e6, ts_model_n_active_params(m) / 1e6, voc.n_vocab,
                (long long)tc.steps, tc.batch, tc.seq_len, ts_pool_threads(pool));
        const char *trs[1] = {tr};
        ts_shard_train_opts o = {.train = trs,
                                 .n_train = 1,
                                 .val = access(va, R_OK) ? NULL : va,
                                 .pad_id = ts_vocab_special(&voc, TS_TOK_PAD),
                                 .vocab = &voc,
                                 .codebook = ts_vq_codebook(vq),
                                 .codebook_dim = ts_vq_get_config(vq)->dim,
                                 .tie_codes = tie_codes,
                                 .code_swap = {(float)swap[0] / 100, (float)swap[1] / 100},
                                 .eval_every = (int)eval_every,
                                 .ckpt_path = ckpt ? ckpt : ck,
                                 .resume_path = resume,
                                 .time_limit = time_limit};
        ts_lm_train_result res;
        double t0 = ts_now();
        if (!(s = ts_shard_train(m, &tc, pool, &o, &res))) {
            char raw_note[64] = "";
            if (tc.ema > 0)
                snprintf(raw_note, sizeof raw_note, " (trained weights %.4f)", res.val_loss_raw);
            fprintf(stderr,
                    "train-mm: %lld steps, loss %.4f, val loss %.4f%s, %.0f tokens/s (%.0f answer "
                    "tokens/s), %.1f s\n",
                    (long long)res.steps_done, res.loss, res.val_loss, raw_note, res.tokens_per_s,
                    res.answer_tokens_per_s, ts_now() - t0);
        }
    }
    if (!s) {
        ts_gguf_writer *w = ts_gguf_writer_new();
        if (!w) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        if (!s) s = ts_vq_add_to_gguf(vq, w);
        if (!s) s = ts_model_add_to_gguf(m, w);
        if (!s) s = ts_bpe_save(tok, voc.n_codes, w);
        if (!s) {
            ts_vocab_write(&voc, w);
            ts_gguf_set_str(w, "general.architecture", "tessera");
            ts_gguf_set_str(w, "general.name", "tessera");
            s = ts_gguf_write(w, out);
        }
        ts_gguf_writer_free(w);
        if (!s && q8) s = ts_gguf_requantize(out, out, TS_DTYPE_Q8_0);
        if (!s) fprintf(stderr, "train-mm: wrote %s\n", out);
    }
    ts_pool_free(pool);
    ts_model_free(m);
    ts_vq_free(vq);
    ts_bpe_free(tok);
    ts_gguf_close(g);
    return cli_fail(s);
}
