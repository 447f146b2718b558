/* tessera generate -m lm.gguf -p "prompt": streams the decoder's
 * continuation of a prompt to stdout as it is made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void usage(void) {
    printf("usage: tessera generate -m MODEL.gguf -p PROMPT [options]\n\n"
           "Continues PROMPT with the model's decoder and writes the new text to stdout\n"
           "as each token is made (nothing else goes to stdout). Stops at <eos>, after\n"
           "N tokens, after --max-time seconds or at the end of the context. The same\n"
           "seed gives the same text; --temp 0 is greedy.\n\n"
           "  -m FILE          model (tokenizer + decoder)\n"
           "  -p TEXT          the prompt (after <bos>)\n"
           "  -n N             most tokens to make (default 128)\n"
           "  --temp T         temperature (default 0.8; 0 = greedy)\n"
           "  --top-k K        sample from the K likeliest (default 40; 0 = all)\n"
           "  --top-p P        ... within cumulative probability P (default 0.95)\n"
           "  -s, --seed N     sampling seed (default 0)\n"
           "  --max-time S     stop after S seconds\n"
           "  -t N             threads (default 1; the text is the same for any N)\n"
           "  --no-dra-skip    compute closed heads too (same text, for measuring)\n"
           "  --stats          tokens/s and skipped head work on stderr at the end\n");
}

int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    long n_max = 128, top_k = 40, seed = 0, threads = 1;
    double temp = 0.8, top_p = 0.95, max_time = 0;
    bool skip = true, stats = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            usage();
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(prompt = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "-n")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 0, 1 << 20, &n_max))
                return 1;
        } else if (!strcmp(a, "--top-k")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 0, 1 << 24, &top_k))
                return 1;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 0, 1L << 62, &seed))
                return 1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, 1024, &threads))
                return 1;
        } else if (!strcmp(a, "--temp")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], a, v, 0, 100, &temp))
                return 1;
        } else if (!strcmp(a, "--top-p")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], a, v, 0, 1, &top_p))
                return 1;
        } else if (!strcmp(a, "--max-time")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], a, v, 0, 1e9, &max_time))
                return 1;
        } else if (!strcmp(a, "--no-dra-skip")) {
            skip = false;
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else {
            return cli_usage(argv[0], "unknown argument '%s'", a);
        }
    }
    if (!model) return cli_usage(argv[0], "no model (-m) given");
    if (!prompt) return cli_usage(argv[0], "no prompt (-p) given");

    ts_gguf *g = NULL;
    ts_bpe *tok = NULL;
    ts_model *m = NULL;
    ts_session *sess = NULL;
    ts_pool *pool = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    size_t n = 0, cap = 0;
    ts_vocab voc;
    ts_status s = ts_gguf_open(model, &g);
    if (!s && (s = ts_bpe_load(g, &tok))) s = ts_fail(s, "%s: %s", model, ts_last_error());
    if (!s && (s = ts_vocab_read(g, &voc))) s = ts_fail(s, "%s: %s", model, ts_last_error());
    if (!s) s = ts_model_load_gguf(g, model, &m);
    if (!s && ts_model_get_config(m)->vocab_size != voc.n_vocab)
        s = ts_fail(TS_ERR_INPUT, "%s: the decoder's vocabulary (%d) is not the tokenizer's (%d)",
                    model, ts_model_get_config(m)->vocab_size, voc.n_vocab);
    if (s) goto done;
    int V = voc.n_vocab;
    int32_t bos = ts_vocab_special(&voc, TS_TOK_BOS), eos = ts_vocab_special(&voc, TS_TOK_EOS);
    ids = malloc(sizeof *ids * 16);
    cap = 16;
    if (!ids) {
        s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ids[n++] = bos;
    if ((s = ts_bpe_encode(tok, prompt, strlen(prompt), &ids, &n, &cap))) goto done;
    int ctx = ts_model_get_config(m)->context;
    if ((int)n >= ctx) {
        s = ts_fail(TS_ERR_INPUT, "the prompt (%zu tokens) does not fit the context of %d", n, ctx);
        goto done;
    }
    logits = malloc(sizeof(float) * (size_t)V * 3);
    if (!logits || (s = ts_session_new(m, 0, &sess))) {
        if (!s) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ts_session_set_dra_skip(sess, skip);
    if (threads > 1) {
        if (!(pool = ts_pool_new((int)threads))) {
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
            goto done;
        }
        ts_session_set_pool(sess, pool);
    }
    ts_sampler sp = {(float)temp, (int)top_k, (float)top_p, (uint64_t)seed};
    ts_rng rng;
    ts_rng_seed(&rng, sp.seed);
    double t0 = ts_now();
    if ((s = ts_session_feed(sess, ids, (int)n, logits))) goto done;
    double t1 = ts_now();
    int made = 0;
    while (made < n_max) {
        int32_t id = ts_sample(&sp, logits, V, &rng, logits + V);
        made++;
        if (id == eos) break;
        if (id < voc.n_text) {
            size_t len;
            const char *piece = ts_bpe_piece(tok, id, &len);
            if (piece) fwrite(piece, 1, len, stdout);
            fflush(stdout);
        }
        if (made >= n_max || ts_session_length(sess) >= ctx) break;
        if (max_time > 0 && ts_now() - t0 >= max_time) break;
        if ((s = ts_session_feed(sess, &id, 1, logits))) goto done;
    }
    double t2 = ts_now();
    if (isatty(fileno(stdout))) printf("\n");
    if (stats) {
        int64_t done_w, skipped;
        ts_session_head_work(sess, &done_w, &skipped);
        fprintf(stderr,
                "generate: prompt %zu tokens in %.3f s; %d tokens in %.3f s (%.1f tokens/s); "
                "DRA %s: %.1f%% of head work skipped\n",
                n, t1 - t0, made, t2 - t1, made / (t2 - t1 > 0 ? t2 - t1 : 1e-9),
                skip ? "on" : "off",
                done_w + skipped ? 100.0 * (double)skipped / (double)(done_w + skipped) : 0.0);
    }
done:
    free(ids);
    free(logits);
    ts_session_free(sess);
    ts_pool_free(pool);
    ts_model_free(m);
    ts_bpe_free(tok);
    ts_gguf_close(g);
    return cli_fail(s);
}
