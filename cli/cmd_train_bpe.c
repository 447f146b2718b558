/* tessera train-bpe --vocab N -o OUT.gguf FILE...: learns a byte-level BPE
 * tokenizer from text files and writes it as a GGUF file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_FILES 4096

static void on_progress(void *ctx, int done, int total, int64_t last_count) {
    ts_progress_update(ctx, done, total, false, "merges, last pair seen %lld times",
                       (long long)last_count);
}

int cmd_train_bpe(int argc, char **argv) {
    const char *out = NULL;
    const char **files = calloc(MAX_FILES, sizeof *files);
    long vocab = 4096;
    int n = 0;
    if (!files) return TS_ERR_NOMEM;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            printf("usage: tessera train-bpe [--vocab N] -o OUT.gguf FILE...\n\n"
                   "Learns a byte-level BPE tokenizer from text files: ids 0..255 are the\n"
                   "bytes, merges are learned inside words (letters with the space before\n"
                   "them, digits, symbols, newlines) until the vocabulary has N BPE tokens or\n"
                   "no pair occurs twice. The GGUF file uses llama.cpp's \"gpt2\" tokenizer\n"
                   "keys; the specials <bos> <eos> <pad> <img> </img> <aud> </aud> <user>\n"
                   "<assistant> follow the BPE tokens. Progress goes to stderr.\n\n"
                   "  --vocab N   BPE tokens, 256 + merges (default 4096)\n"
                   "  -o FILE     the tokenizer to write (written atomically)\n");
            free(files);
            return 0;
        } else if (!strcmp(a, "--vocab")) {
            const char *v = cli_value(argv[0], argc, argv, &i);
            if (!v || !cli_parse_long(argv[0], "--vocab", v, 256, 1 << 20, &vocab)) {
                free(files);
                return TS_ERR_USAGE;
            }
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(argv[0], argc, argv, &i))) {
                free(files);
                return TS_ERR_USAGE;
            }
        } else if (a[0] == '-' && a[1]) {
            free(files);
            return cli_usage(argv[0], "unknown option '%s'", a);
        } else if (n < MAX_FILES) {
            files[n++] = a;
        } else {
            free(files);
            return cli_usage(argv[0], "at most %d files at once", MAX_FILES);
        }
    }
    if (!out || !n) {
        free(files);
        return cli_usage(argv[0], !out ? "no output file (-o) given" : "no text file given");
    }
    ts_progress prog;
    ts_progress_init(&prog, 0);
    double t0 = ts_now();
    ts_bpe *tok;
    ts_status s = ts_bpe_train(files, n, (int)vocab, on_progress, &prog, &tok);
    free(files);
    if (s) return cli_fail(s);
    ts_progress_finish(&prog);
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) {
        ts_bpe_free(tok);
        return cli_fail(ts_fail(TS_ERR_NOMEM, "out of memory"));
    }
    ts_gguf_set_str(w, "general.architecture", "tessera");
    s = ts_bpe_save(tok, 0, w);
    if (!s) s = ts_gguf_write(w, out);
    ts_gguf_writer_free(w);
    if (!s)
        fprintf(stderr, "train-bpe: %d merges, %d BPE tokens + %d specials in %.2f s -> %s\n",
                ts_bpe_n_merges(tok), ts_bpe_n_text(tok), TS_N_SPECIALS, ts_now() - t0, out);
    if (!s && ts_bpe_n_text(tok) < vocab)
        fprintf(stderr, "train-bpe: stopped before %ld tokens: no pair occurs twice any more\n",
                vocab);
    ts_bpe_free(tok);
    return cli_fail(s);
}
