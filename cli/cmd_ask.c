/* tessera ask FILE... "question": answers a question about images and audio
 * clips (each file's kind found from its content), streamed to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void usage(void) {
    printf("usage: tessera ask FILE... QUESTION [options]\n"
           "       tessera ask --image F --audio F -p QUESTION [options]\n\n"
           "Answers QUESTION about the images and audio clips given (in that order; each\n"
           "file's kind is found from its content). The answer streams to stdout as it is\n"
           "made, followed by a newline; nothing else goes to stdout.\n\n"
           "  -m FILE        model (default: $TESSERA_MODEL, else models/tessera.gguf\n"
           "                 beside the executable's folder)\n"
           "  --image F      an image (fails if F is not one); may repeat\n"
           "  --audio F      an audio clip (fails if F is not one); may repeat\n"
           "  -p TEXT        the question (else the last argument)\n"
           "  -n N           most tokens to make (default 64)\n"
           "  --temp T       temperature (default 0: greedy)\n"
           "  --top-k K      (default 40); --top-p P (default 0.95)\n"
           "  -s, --seed N   sampling seed (default 0)\n"
           "  --beam N       greedy answers: the likeliest of a beam search of width N,\n"
           "                 written once the search is over (1-8, default 1: each\n"
           "                 token the likeliest in turn, streamed as it is made)\n"
           "  --max-time S   stop after S seconds\n"
           "  --views N      read each image in N views (moved by a pixel each way),\n"
           "                 each clip in up to 4 (delayed by 10-30 ms), and answer\n"
           "                 from them all (1-9, default 9; --views 1 is fastest)\n"
           "  --level-floor P  bring a clip whose peak is below P up to P first (0-1,\n"
           "                 default 0.3, a typical training level; 0: as recorded)\n"
           "  -t N           threads (default: the online CPUs)\n");
}

static bool put_piece(const char *piece, size_t len, void *user) {
    (void)user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true;
}

int cmd_ask(int argc, char **argv) {
    const char *model = NULL, *prompt = NULL;
    long threads = 0, n_max = 64, top_k = 40, seed = 0, views = TS_DEFAULT_VIEWS,
         beam = 1; /* streamed token by token unless asked */
    double level_floor = TS_LEVEL_FLOOR;
    double temp = 0, top_p = 0.95, max_time = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    int *want = calloc((size_t)argc, sizeof *want); /* -1 any, else ts_media_kind */
    int n_files = 0;
    if (!files || !want) {
        free(files), free(want);
        return cli_fail(ts_fail(TS_ERR_NOMEM, "out of memory"));
    }
    int rc = TS_ERR_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            usage();
            rc = 0;
            goto out;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) goto out;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(prompt = cli_value(argv[0], argc, argv, &i))) goto out;
        } else if (!strcmp(a, "--image") || !strcmp(a, "--audio")) {
            if (!(v = cli_value(argv[0], argc, argv, &i))) goto out;
            want[n_files] = !strcmp(a, "--image") ? TS_MEDIA_IMAGE : TS_MEDIA_AUDIO;
            files[n_files++] = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 1024, &threads)) goto out;
        } else if (!strcmp(a, "-n")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 1 << 20, &n_max)) goto out;
        } else if (!strcmp(a, "--top-k")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 0, 1 << 24, &top_k)) goto out;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 0, 1L << 62, &seed)) goto out;
        } else if (!strcmp(a, "--temp")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 100, &temp)) goto out;
        } else if (!strcmp(a, "--top-p")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 1, &top_p)) goto out;
        } else if (!strcmp(a, "--max-time")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 1e9, &max_time)) goto out;
        } else if (!strcmp(a, "--views")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_VIEWS, &views))
                goto out;
        } else if (!strcmp(a, "--beam")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_BEAM, &beam))
                goto out;
        } else if (!strcmp(a, "--level-floor")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], a, v, 0, 1, &level_floor))
                goto out;
        } else if (a[0] == '-' && a[1]) {
            cli_usage(argv[0], "unknown option '%s'", a);
            goto out;
        } else {
            want[n_files] = -1;
            files[n_files++] = a;
        }
    }
    /* without -p the last plain argument is the question */
    if (!prompt && n_files && want[n_files - 1] == -1) prompt = files[--n_files];
    if (!prompt) {
        cli_usage(argv[0], "no question given");
        goto out;
    }
    char def[4096];
    ts_status s = TS_OK;
    if ((s = cli_model_path(&model, def, sizeof def))) {
        rc = cli_fail(s);
        goto out;
    }
    ts_pipeline *p;
    if ((s = ts_pipeline_load(model, n_files ? TS_PART_ALL : TS_PART_TOKENIZER | TS_PART_DECODER,
                              (int)threads, &p))) {
        rc = cli_fail(s);
        goto out;
    }
    ts_media_set ms = {0};
    ts_pipeline_set_views(p, (int)views);
    ts_pipeline_set_level_floor(p, (float)level_floor);
    s = ts_pipeline_encode_files(p, files, n_files, &ms);
    for (int i = 0; !s && i < n_files; i++)
        if (want[i] >= 0 && (int)ms.media[i].kind != want[i])
            s = ts_fail(TS_ERR_INPUT, "%s: not %s", files[i],
                        want[i] == TS_MEDIA_IMAGE ? "an image (it is audio)" : "audio (it is an image)");
    if (!s) {
        ts_answer_opts o = ts_answer_default_opts();
        o.max_tokens = (int)n_max;
        o.max_seconds = max_time;
        o.sampler = (ts_sampler){(float)temp, (int)top_k, (float)top_p, (uint64_t)seed};
        o.beam = (int)beam;
        s = ts_pipeline_answer(p, ms.media, ms.n, prompt, &o, put_piece, NULL);
        if (!s) putchar('\n');
    }
    ts_media_set_free(&ms);
    ts_pipeline_free(p);
    rc = cli_fail(s);
out:
    free(files);
    free(want);
    return rc;
}
