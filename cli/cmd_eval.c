/* tessera eval BENCH: accuracy of a model on a multiple-choice benchmark
 * (ScienceQA problems.json or JSONL), with the report on stdout, progress
 * and skipped items on stderr, and optionally every item as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"


typedef struct {
    ts_progress prog;
    const char *bench;
    bool quiet;
} eval_ui;

static void on_item(void *user, const ts_eval_item *it, const ts_eval_result *r, int done,
                    int total, int scored, int correct) {
    eval_ui *ui = user;
    if (r->error) {
        ts_progress_finish(&ui->prog); /* end a terminal's status line first */
        if (it->line)
            fprintf(stderr, "tessera eval: %s:%d: item %s skipped: %s\n", ui->bench, it->line,
                    it->id, r->error);
        else
            fprintf(stderr, "tessera eval: %s: item %s skipped: %s\n", ui->bench, it->id, r->error);
    }
    if (ui->quiet) return;
    double el = ts_now() - ui->prog.start;
    ts_progress_update(&ui->prog, done, total, done == total, "acc %.1f%% (%d/%d) %.2f items/s",
                       scored ? 100.0 * correct / scored : 0.0, correct, scored,
                       el > 0 ? scored / el : 0.0);
}

/* Items skipped because a media file is not there: say what would help. */
static void hint_missing_media(const ts_bench *b) {
    int n = 0;
    for (int i = 0; i < b->n_items; i++)
        n += b->items[i].error && strstr(b->items[i].error, " file missing: ") != NULL;
    if (n)
        fprintf(stderr,
                "tessera eval: %d item%s skipped for a missing image or audio file: give the "
                "folder with --images DIR, or score %s from the text alone with --text-only\n",
                n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
}

static void usage(void) {
    printf("usage: tessera eval BENCH [-m MODEL] [--split S] [--images DIR] [--limit N]\n"
           "                    [--json OUT] [-t N] [--norm | --generate] [--text-only]\n"
           "                    [--views N] [--level-floor P] [--check] [-q]\n\n"
           "Evaluates a model on a multiple-choice benchmark and prints the report:\n"
           "accuracy with its 95%% (Wilson) confidence interval, the accuracy of\n"
           "choosing at random, items/s, and per-group rows. BENCH is found by its\n"
           "content:\n"
           "  - a ScienceQA problems.json (pid -> question, choices, answer, hint,\n"
           "    image, subject, grade, ...). pid_splits.json beside it picks the\n"
           "    split; images are read from images/<split>/<pid>/image.png beside it.\n"
           "    Rows: NAT SOC LAN (subject), TXT IMG NO (context: hint, image, none;\n"
           "    as in the official scorer TXT and IMG overlap), G1-6 G7-12 (grade).\n"
           "  - JSONL, one item per line: {\"id\", \"question\", \"choices\": [...],\n"
           "    \"answer\": index, \"hint\"?, \"image\"?, \"audio\"?, \"task\"?, \"subject\"?,\n"
           "    \"grade\"?}; image/audio are paths (or lists of paths) relative to the\n"
           "    file. Rows: one per task.\n"
           "Each option is scored by its log-likelihood as the answer to the prompt\n"
           "(media, question, hint, options; the template the model was trained\n"
           "with); the highest wins, a tie goes to the earlier option. An item that\n"
           "cannot be used (malformed, missing field, answer out of range, missing\n"
           "or corrupt media) is reported on stderr, counted under errors, skipped.\n\n"
           "  -m MODEL      model file (default: $TESSERA_MODEL, else\n"
           "                models/tessera.gguf beside the executable's folder)\n"
           "  --split S     ScienceQA split (default: test)\n"
           "  --images DIR  ScienceQA images folder: DIR/<split>/<pid>/ or DIR/<pid>/\n"
           "  --limit N     only the first N items\n"
           "  --json OUT    every item's scores, prediction and error, and the summary\n"
           "  -t N          threads (default: online CPUs)\n"
           "  --norm        per-token log-likelihood (length-normalised)\n"
           "  --generate    generate an answer (greedy) and match it to an option:\n"
           "                exact text, then normalised text (case, spaces,\n"
           "                punctuation), then a letter (\"B\", \"(B)\"), then the most\n"
           "                shared words; no shared word counts as wrong\n"
           "  --text-only   leave images and audio out: score from the text alone (e.g.\n"
           "                a split whose images are not at hand); IMG still counts\n"
           "                the items that have an image\n"
           "  --views N     read each image in N views (as given and moved by a pixel\n"
           "                each way), each clip in up to 4 (delayed by 10-30 ms), and\n"
           "                score each option by its mean log-likelihood over them\n"
           "                (1-9, default 9; the work on media grows with N, --views 1\n"
           "                is fastest)\n"
           "  --level-floor P  bring a clip whose peak is below P up to P first (0-1,\n"
           "                default 0.3, a typical training level; 0: as recorded)\n"
           "  --check       read and validate the benchmark only (no model)\n"
           "  -q            no progress line\n\n"
           "Exit status: 0 done, 1 usage, 2 not a benchmark / bad model / nothing\n"
           "could be scored.\n");
}

int cmd_eval(int argc, char **argv) {
    const char *bench = NULL, *model = NULL, *json = NULL;
    ts_bench_options bo = {0};
    ts_score_mode mode = TS_SCORE_SUM;
    bool norm = false, gen = false, check = false, quiet = false;
    long threads = 0, limit = 0, views = TS_DEFAULT_VIEWS;
    double level_floor = TS_LEVEL_FLOOR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            usage();
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--split")) {
            if (!(bo.split = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--images")) {
            if (!(bo.images_dir = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--json")) {
            if (!(json = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--limit")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], "--limit", v, 1, 1L << 30, &limit))
                return 1;
        } else if (!strcmp(a, "-t")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], "-t", v, 1, 256, &threads))
                return 1;
        } else if (!strcmp(a, "--views")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], "--views", v, 1, TS_MAX_VIEWS, &views))
                return 1;
        } else if (!strcmp(a, "--level-floor")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], "--level-floor", v, 0, 1, &level_floor))
                return 1;
        } else if (!strcmp(a, "--norm")) {
            norm = true;
        } else if (!strcmp(a, "--generate")) {
            gen = true;
        } else if (!strcmp(a, "--text-only")) {
            bo.text_only = true;
        } else if (!strcmp(a, "--check")) {
            check = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage(argv[0], "unknown option '%s'", a);
        } else if (!bench) {
            bench = a;
        } else {
            return cli_usage(argv[0], "one benchmark at a time ('%s' and '%s')", bench, a);
        }
    }
    if (!bench) return cli_usage(argv[0], "no benchmark given");
    if (norm && gen) return cli_usage(argv[0], "--norm and --generate exclude each other");
    if (check && (model || json || norm || gen))
        return cli_usage(argv[0], "--check reads the benchmark only");
    if (norm) mode = TS_SCORE_NORM;
    if (gen) mode = TS_SCORE_GENERATE;
    char default_model[4096];
    if (!check) {
        ts_status ds = cli_model_path(&model, default_model, sizeof default_model);
        if (ds) return cli_fail(ds);
    }
    bo.limit = (int)limit;

    ts_bench *b;
    ts_status s = ts_bench_load(bench, &bo, &b);
    if (s) return cli_fail(s);
    eval_ui ui = {.bench = bench, .quiet = quiet};

    if (check) {
        int bad = 0;
        ui.quiet = true;
        for (int i = 0; i < b->n_items; i++) {
            const ts_eval_item *it = &b->items[i];
            if (!it->error) continue;
            bad++;
            ts_eval_result r = {.error = it->error};
            on_item(&ui, it, &r, i + 1, b->n_items, 0, 0);
        }
        /* the report without a model: counts and the random baseline */
        ts_eval_result *res = calloc(b->n_items ? (size_t)b->n_items : 1, sizeof *res);
        if (!res) {
            ts_bench_free(b);
            return cli_fail(ts_fail(TS_ERR_NOMEM, "out of memory"));
        }
        for (int i = 0; i < b->n_items; i++)
            res[i].error = b->items[i].error;
        ts_eval_summary sum;
        if (!(s = ts_eval_summarize(b, res, &sum))) {
            printf("benchmark: %s (%s%s%s)\nitems:     %d (%d usable, %d error%s)\n", b->path,
                   ts_bench_format_name(b->format), b->split ? ", split " : "",
                   b->split ? b->split : "", b->n_items, b->n_items - bad, bad,
                   bad == 1 ? "" : "s");
            if (sum.n_scored)
                printf("random:    %.2f%% (expected accuracy of a random choice)\n",
                       100 * sum.all.random);
            ts_eval_summary_free(&sum);
        }
        free(res);
        hint_missing_media(b);
        ts_bench_free(b);
        return cli_fail(s);
    }

    ts_pool *pool = ts_pool_new(threads ? (int)threads : 0);
    ts_scorer *sc = NULL;
    if (!pool) s = ts_fail(TS_ERR_NOMEM, "cannot start threads");
    if (!s)
        s = ts_eval_model_scorer_new_views(model, ts_pool_threads(pool), (int)views,
                                           (float)level_floor, &sc);
    ts_eval_result *res = NULL;
    ts_eval_summary sum = {0};
    double t0 = ts_now();
    if (!s) {
        ts_progress_init(&ui.prog, 0);
        ts_eval_options eo = {.mode = mode, .pool = pool, .on_item = on_item, .user = &ui};
        s = ts_eval_run(b, sc, &eo, &res);
        ts_progress_finish(&ui.prog);
    }
    double secs = ts_now() - t0;
    if (res) hint_missing_media(b);
    if (!s) s = ts_eval_summarize(b, res, &sum);
    if (!s) {
        sum.seconds = secs;
        sum.items_per_s = secs > 0 ? sum.n_scored / secs : 0;
        sum.threads = ts_pool_threads(pool);
        sum.views = (int)views;
        sum.level_floor = level_floor;
        ts_eval_report_write(stdout, b, &sum, sc->name, mode);
        fflush(stdout);
        if (json) s = ts_eval_write_json(json, b, res, &sum, sc->name, mode);
        if (!s && sum.n_items && !sum.n_scored)
            s = ts_fail(TS_ERR_INPUT, "%s: no item could be evaluated (%d errors)", bench,
                        sum.n_errors);
    }
    ts_eval_summary_free(&sum);
    if (res) ts_eval_results_free(res, b->n_items);
    ts_scorer_free(sc);
    ts_pool_free(pool);
    ts_bench_free(b);
    return cli_fail(s);
}
