/* tessera caption IMAGE...: one caption per image, in order; the images of
 * a batch are read in parallel and encoded together, and the captions are
 * made in parallel on -t threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define BATCH 512 /* images encoded per call: bounds memory for huge lists */

static void usage(void) {
    printf("usage: tessera caption IMAGE... [-m MODEL] [--json] [-t N] [options]\n\n"
           "Writes one caption per image to stdout, in the order given. With --json,\n"
           "each line is {\"file\": ..., \"caption\": ...}. A file that cannot be read is\n"
           "reported on stderr (and as {\"file\": ..., \"error\": ...} with --json); the\n"
           "exit code is then 2. Captions are greedy unless --temp is given.\n\n"
           "  -m FILE       model (default: $TESSERA_MODEL, else models/tessera.gguf\n"
           "                beside the executable's folder)\n"
           "  --json        one JSON object per line\n"
           "  -t N          threads (default: the online CPUs)\n"
           "  -n N          most tokens per caption (default 48)\n"
           "  --temp T      temperature (default 0: greedy)\n"
           "  -s, --seed N  sampling seed (default 0)\n"
           "  --beam N      greedy captions: the likeliest of a beam search of width N\n"
           "                (1-8, default 3; 1: each token the likeliest in turn)\n"
           "  --views N     read each image in N views (as given and moved by a\n"
           "                pixel each way) and caption from them all: each word is\n"
           "                drawn from the views' mean log-probability (1-9, default 9;\n"
           "                the work grows with N, --views 1 is fastest)\n");
}

static void put_line(const char *s) {
    for (; *s; s++)
        putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
    putchar('\n');
}

int cmd_caption(int argc, char **argv) {
    const char *model = NULL;
    bool json = false;
    long threads = 0, n_max = 48, seed = 0, views = TS_DEFAULT_VIEWS, beam = TS_CAPTION_BEAM;
    double temp = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0;
    if (!files) return cli_fail(ts_fail(TS_ERR_NOMEM, "out of memory"));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            usage();
            free(files);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) goto usage_err;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 1024, &threads))
                goto usage_err;
        } else if (!strcmp(a, "-n")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 4096, &n_max))
                goto usage_err;
        } else if (!strcmp(a, "--temp")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 100, &temp))
                goto usage_err;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 0, 1L << 62, &seed))
                goto usage_err;
        } else if (!strcmp(a, "--views")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_VIEWS, &views))
                goto usage_err;
        } else if (!strcmp(a, "--beam")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_BEAM, &beam))
                goto usage_err;
        } else if (a[0] == '-' && a[1]) {
            cli_usage(argv[0], "unknown option '%s'", a);
            goto usage_err;
        } else {
            files[n_files++] = a;
        }
    }
    if (!n_files) {
        cli_usage(argv[0], "no image given");
        goto usage_err;
    }
    char def[4096];
    ts_status s = TS_OK;
    if ((s = cli_model_path(&model, def, sizeof def))) {
        free(files);
        return cli_fail(s);
    }
    ts_pipeline *p;
    if ((s = ts_pipeline_load(model, TS_PART_ALL, (int)threads, &p))) {
        free(files);
        return cli_fail(s);
    }
    ts_pipeline_set_views(p, (int)views);
    ts_answer_opts o = ts_answer_default_opts();
    o.max_tokens = (int)n_max;
    o.sampler = (ts_sampler){(float)temp, temp > 0 ? 40 : 0, temp > 0 ? 0.95f : 1.0f, (uint64_t)seed};
    o.beam = (int)beam;
    int bad = 0;
    for (int b0 = 0; !s && b0 < n_files; b0 += BATCH) {
        int n = n_files - b0 < BATCH ? n_files - b0 : BATCH;
        char **texts, **errs;
        ts_answer_opts ob = o;
        ob.sampler.seed += (uint64_t)b0; /* image i's seed is seed + i */
        if ((s = ts_pipeline_caption(p, files + b0, n, &ob, &texts, &errs))) break;
        for (int i = 0; i < n; i++) {
            if (errs[i]) {
                bad++;
                fprintf(stderr, "tessera: %s\n", errs[i]);
                if (json) {
                    printf("{\"file\": ");
                    ts_json_put_string(stdout, files[b0 + i]);
                    printf(", \"error\": ");
                    ts_json_put_string(stdout, errs[i]);
                    printf("}\n");
                }
            } else if (json) {
                printf("{\"file\": ");
                ts_json_put_string(stdout, files[b0 + i]);
                printf(", \"caption\": ");
                ts_json_put_string(stdout, texts[i]);
                printf("}\n");
            } else {
                put_line(texts[i]);
            }
            free(texts[i]);
            free(errs[i]);
        }
        fflush(stdout);
        free(texts);
        free(errs);
    }
    ts_pipeline_free(p);
    free(files);
    if (s) return cli_fail(s);
    return bad ? TS_ERR_INPUT : 0;
usage_err:
    free(files);
    return TS_ERR_USAGE;
}
