/* tessera tokenize-text -m MODEL [--json] TEXT...: the token ids and pieces
 * of a text, pieces escaped so that every byte is visible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Length of the valid UTF-8 character at p (2..4), or 0. */
static size_t utf8_char(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    size_t k = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (!k || n < k) return 0;
    for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] >= 0x90))
        return 0;
    return k;
}

/* Writes a piece C-style: printable ASCII and valid UTF-8 as they are;
 * \n \t \r \\ (and \' when quote) escaped; any other byte as \xHH. */
static void escape_piece(char *out, const char *piece, size_t len, bool quote) {
    const unsigned char *p = (const unsigned char *)piece;
    char *o = out;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t k;
        if (c == '\\' || (quote && c == '\''))
            *o++ = '\\', *o++ = (char)c, i++;
        else if (c == '\n')
            *o++ = '\\', *o++ = 'n', i++;
        else if (c == '\t')
            *o++ = '\\', *o++ = 't', i++;
        else if (c == '\r')
            *o++ = '\\', *o++ = 'r', i++;
        else if (c >= 0x20 && c < 0x7F)
            *o++ = (char)c, i++;
        else if (c >= 0x80 && (k = utf8_char(p + i, len - i))) {
            memcpy(o, p + i, k);
            o += k, i += k;
        } else {
            o += sprintf(o, "\\x%02x", c);
            i++;
        }
    }
    *o = 0;
}

static char *join_args(int n, char **args, size_t *len) {
    size_t total = 1;
    for (int i = 0; i < n; i++)
        total += strlen(args[i]) + 1;
    char *s = malloc(total), *o = s;
    if (!s) return NULL;
    for (int i = 0; i < n; i++) {
        if (i) *o++ = ' ';
        size_t l = strlen(args[i]);
        memcpy(o, args[i], l);
        o += l;
    }
    *o = 0;
    *len = (size_t)(o - s);
    return s;
}

int cmd_tokenize_text(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    bool json = false;
    char **texts = calloc((size_t)argc, sizeof *texts);
    int n_texts = 0;
    if (!texts) return TS_ERR_NOMEM;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            printf("usage: tessera tokenize-text -m MODEL [--json] TEXT...\n"
                   "       tessera tokenize-text -m MODEL [--json] -f FILE\n\n"
                   "Prints the BPE tokens of TEXT (the arguments joined by spaces) or of a\n"
                   "file's bytes: one line per token, its id and its piece in quotes. Pieces\n"
                   "are escaped (\\n, \\t, \\\\, \\xHH for a byte that is not printable or\n"
                   "not valid UTF-8), so the exact bytes are visible.\n\n"
                   "  -m FILE    a model or tokenizer file (GGUF)\n"
                   "  -f FILE    tokenize this file instead of TEXT\n"
                   "  --json     one JSON object: {\"ids\": [...], \"pieces\": [...]}\n");
            free(texts);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) {
                free(texts);
                return TS_ERR_USAGE;
            }
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(file = cli_value(argv[0], argc, argv, &i))) {
                free(texts);
                return TS_ERR_USAGE;
            }
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--")) {
            while (++i < argc)
                texts[n_texts++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            free(texts);
            return cli_usage(argv[0], "unknown option '%s'", a);
        } else {
            texts[n_texts++] = argv[i];
        }
    }
    if (!model || (!file && !n_texts) || (file && n_texts)) {
        free(texts);
        return cli_usage(argv[0], !model ? "no model (-m) given"
                                  : file ? "give TEXT or -f FILE, not both"
                                         : "no text given");
    }
    uint8_t *text;
    size_t len;
    ts_status s;
    if (file) {
        s = ts_read_file(file, 0, &text, &len);
    } else {
        text = (uint8_t *)join_args(n_texts, texts, &len);
        s = text ? TS_OK : ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    free(texts);
    if (s) return cli_fail(s);
    ts_gguf *g;
    ts_bpe *tok = NULL;
    if ((s = ts_gguf_open(model, &g))) {
        free(text);
        return cli_fail(s);
    }
    s = ts_bpe_load(g, &tok);
    ts_gguf_close(g);
    if (s) {
        free(text);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ts_last_error());
        return cli_fail(ts_fail(s, "%s: %s", model, msg));
    }
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    s = ts_bpe_encode(tok, text, len, &ids, &n, &cap);
    free(text);
    char *esc = NULL;
    size_t esc_cap = 0;
    if (!s && json) printf("{\"ids\":[");
    for (size_t i = 0; !s && json && i < n; i++)
        printf("%s%d", i ? "," : "", (int)ids[i]);
    if (!s && json) printf("],\"pieces\":[");
    for (size_t i = 0; !s && i < n; i++) {
        size_t pl;
        const char *p = ts_bpe_piece(tok, ids[i], &pl);
        if (4 * pl + 1 > esc_cap) {
            free(esc);
            esc_cap = 4 * pl + 1;
            if (!(esc = malloc(esc_cap))) {
                s = ts_fail(TS_ERR_NOMEM, "out of memory");
                break;
            }
        }
        escape_piece(esc, p, pl, !json);
        if (json) {
            if (i) putchar(',');
            ts_json_put_string(stdout, esc);
        } else {
            printf("%d\t'%s'\n", (int)ids[i], esc);
        }
    }
    if (!s && json) printf("]}\n");
    free(esc);
    free(ids);
    ts_bpe_free(tok);
    return cli_fail(s);
}
