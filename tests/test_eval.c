/* eval/: the benchmark readers (ScienceQA problems.json + pid_splits.json,
 * JSONL) on small files written here, broken ones included; the run, its
 * determinism over threads, option matching, and the report's numbers on a
 * small fixed benchmark.
 *
 * Scoring goes through MOCK_SCORER below, a deterministic TEST DOUBLE of the
 * model: an option's "log-likelihood" is minus its length in bytes and its
 * token count is its word count, so every expected number here can be worked
 * out by hand. The model itself is tested through the same interface in
 * test_eval_model.c. */
#include "tessera.h"
#include "tessera/eval.h"
#include "tests/testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the test double ------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    int calls;
    int max_worker;
} mock_ctx;

static int count_words(const char *s) {
    int n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ';
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

static ts_status mock_score(void *vctx, int worker, const ts_eval_item *it, double *lp, int *nt) {
    mock_ctx *c = vctx;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    if (worker > c->max_worker) c->max_worker = worker;
    pthread_mutex_unlock(&c->mu);
    /* "decoding" a media file: one whose content starts "corrupt" fails */
    for (int m = 0; m < it->n_media; m++) {
        size_t n;
        char *d = tu_read_file(it->media_paths[m], &n);
        bool bad = !d || !strncmp(d, "corrupt", 7);
        free(d);
        if (bad) return ts_fail(TS_ERR_INPUT, "%s: not a PNG or JPEG file", it->media_paths[m]);
    }
    for (int k = 0; k < it->n_choices; k++) {
        lp[k] = -(double)strlen(it->choices[k]);
        nt[k] = count_words(it->choices[k]);
    }
    return TS_OK;
}

static ts_status mock_generate(void *vctx, int worker, const ts_eval_item *it, char **text) {
    /* the right option shouted ("BLUE WHALE!"), except for item "g-wrong";
     * items "i..." answer in a sentence, to be matched by word overlap */
    const char *src = strcmp(it->id, "g-wrong") ? it->choices[it->answer] : "nothing at all";
    size_t n = strlen(src);
    *text = malloc(n + 32);
    if (it->id[0] == 'i') {
        snprintf(*text, n + 32, "maybe %s indeed", src);
        return TS_OK;
    }
    for (size_t i = 0; i < n; i++)
        (*text)[i] = (char)((src[i] >= 'a' && src[i] <= 'z') ? src[i] - 32 : src[i]);
    memcpy(*text + n, "!", 2);
    return TS_OK;
}

static ts_scorer mock_scorer(mock_ctx *c) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    ts_scorer s = {.ctx = c, .score = mock_score, .generate = mock_generate};
    snprintf(s.name, sizeof s.name, "mock");
    return s;
}

/* ---- helpers ----------------------------------------------------------------- */

static void write_str(const char *path, const char *s) { tu_write_file(path, s, strlen(s)); }

static ts_bench *load_ok(const char *path, const ts_bench_options *o) {
    ts_bench *b = NULL;
    ts_status st = ts_bench_load(path, o, &b);
    if (st) fail_msg("load %s: %s", path, ts_last_error());
    return b;
}

static const ts_eval_item *find(const ts_bench *b, const char *id) {
    for (int i = 0; i < b->n_items; i++)
        if (!strcmp(b->items[i].id, id)) return &b->items[i];
    fail_msg("no item %s", id);
    return NULL;
}

static void assert_error_has(const ts_eval_item *it, const char *want) {
    if (!it->error || !strstr(it->error, want))
        fail_msg("item %s: error '%s' lacks '%s'", it->id, it->error ? it->error : "(none)", want);
}

/* ---- JSONL ------------------------------------------------------------------- */

static void test_jsonl_reader(void **state) {
    char *dir = tu_mkdtemp();
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/media", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_str(tu_path(dir, "media/cat.png"), "fake png bytes");
    write_str(tu_path(dir, "media/beep.wav"), "fake wav bytes");
    const char *jsonl =
        "{\"id\": \"q1\", \"question\": \"Which is red?\", \"choices\": [\"apple\", \"sky\"], "
        "\"answer\": 0,"
        " \"hint\": \"Fruit.\", \"image\": \"media/cat.png\", \"audio\": \"media/beep.wav\", "
        "\"task\": \"color\","
        " \"subject\": \"natural science\", \"grade\": \"grade3\"}\r\n"
        "\n"
        "{\"id\": 7, \"question\": \"Pick five\", \"choices\": "
        "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"], \"answer\": 5, \"grade\": 9, \"hint\": null}\n"
        "   \n"
        "{\"id\": \"no-answer\", \"question\": \"?\", \"choices\": [\"x\", \"y\"]}\n"
        "{\"id\": \"range\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 2}\n"
        "{\"id\": \"neg\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": -1}\n"
        "{\"id\": \"frac\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0.5}\n"
        "{\"id\": \"one\", \"question\": \"?\", \"choices\": [\"x\"], \"answer\": 0}\n"
        "{\"id\": \"numchoice\", \"question\": \"?\", \"choices\": [\"x\", 3], \"answer\": 0}\n"
        "{\"id\": \"noq\", \"choices\": [\"x\", \"y\"], \"answer\": 0}\n"
        "{\"id\": \"qtype\", \"question\": 5, \"choices\": [\"x\", \"y\"], \"answer\": 0}\n"
        "{\"id\": \"hinttype\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0, "
        "\"hint\": 3}\n"
        "{\"id\": \"noimg\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0, "
        "\"image\": \"media/gone.png\"}\n"
        "{\"id\": \"imgs\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 1, "
        "\"image\": [\"media/cat.png\", \"media/cat.png\"]}\n"
        "{\"id\": \"trunc\", \"question\": \"?\", \"choices\": [\"x\", \"y\"\n"
        "[1, 2]\n"
        "{\"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0}\n"
        "{\"id\": \"last\", \"question\": \"Last?\", \"choices\": [\"yes\", \"no\"], \"answer\": "
        "1}\n"
        "{\"id\": \"\", \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0}\n"
        "{\"id\": [1], \"question\": \"?\", \"choices\": [\"x\", \"y\"], \"answer\": 0}";
    write_str(tu_path(dir, "b.jsonl"), jsonl);
    ts_bench *b = load_ok(tu_path(dir, "b.jsonl"), NULL);
    assert_int_equal(b->format, TS_BENCH_JSONL);
    assert_null(b->split);
    assert_int_equal(b->n_items, 19); /* blank lines are not items */

    const ts_eval_item *q1 = find(b, "q1");
    assert_null(q1->error);
    assert_int_equal(q1->line, 1);
    assert_string_equal(q1->question, "Which is red?");
    assert_string_equal(q1->hint, "Fruit.");
    assert_true(q1->has_text && q1->has_image);
    assert_int_equal(q1->n_choices, 2);
    assert_string_equal(q1->choices[1], "sky");
    assert_int_equal(q1->answer, 0);
    assert_int_equal(q1->n_media, 2); /* image first, then audio */
    assert_int_equal(q1->media_kinds[0], TS_EVAL_IMAGE);
    assert_int_equal(q1->media_kinds[1], TS_EVAL_AUDIO);
    assert_string_equal(q1->media_paths[0], tu_path(dir, "media/cat.png"));
    assert_string_equal(q1->media_paths[1], tu_path(dir, "media/beep.wav"));
    assert_string_equal(q1->task, "color");
    assert_string_equal(q1->subject, "natural science");
    assert_int_equal(q1->grade, 3);

    const ts_eval_item *q7 = find(b, "7"); /* a numeric id */
    assert_null(q7->error);
    assert_int_equal(q7->line, 3);
    assert_int_equal(q7->n_choices, 6);
    assert_int_equal(q7->answer, 5);
    assert_int_equal(q7->grade, 9);
    assert_string_equal(q7->hint, "");
    assert_false(q7->has_text || q7->has_image);
    assert_null(q7->task);

    assert_error_has(find(b, "no-answer"), "missing field 'answer'");
    assert_error_has(find(b, "range"), "answer index 2 out of range for 2 choices");
    assert_error_has(find(b, "neg"), "answer index -1 out of range");
    assert_error_has(find(b, "frac"), "'answer' is not an integer");
    assert_error_has(find(b, "one"), "1 choice: a multiple-choice item needs at least 2");
    assert_error_has(find(b, "numchoice"), "choice 1 is a number, not a string");
    assert_error_has(find(b, "noq"), "missing field 'question'");
    assert_error_has(find(b, "qtype"), "'question' is not a string");
    assert_error_has(find(b, "hinttype"), "field 'hint' is a number, not a string");
    assert_error_has(find(b, "noimg"), "image file missing");
    assert_error_has(find(b, "noimg"), "media/gone.png");
    assert_null(find(b, "imgs")->error);
    assert_int_equal(find(b, "imgs")->n_media, 2);
    /* a malformed line has no id: it is named by its line, with line:col */
    assert_error_has(find(b, "line 16"), "malformed JSON: 16:");
    assert_error_has(find(b, "line 17"), "the line is a JSON array, not an object");
    assert_error_has(find(b, "line 18"), "missing field 'id'");
    assert_null(find(b, "last")->error);
    assert_error_has(find(b, "line 20"), "field 'id' is empty");
    assert_error_has(find(b, "line 21"),
                     "field 'id' is not a string or an integer"); /* no newline at the end */
    ts_bench_free(b);

    /* --limit keeps the first items */
    ts_bench_options o = {.limit = 3};
    b = load_ok(tu_path(dir, "b.jsonl"), &o);
    assert_int_equal(b->n_items, 3);
    assert_string_equal(b->items[2].id, "no-answer");
    ts_bench_free(b);
    tu_rmdir(dir);
}

static void test_not_a_benchmark(void **state) {
    char *dir = tu_mkdtemp();
    static const struct {
        const char *name, *content;
        size_t len;
        const char *want;
    } cases[] = {
        {"empty.jsonl", "", 0, "empty file"},
        {"img.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "not a benchmark"},
        {"text.txt", "hello world\nthis is text\n", 25,
         "not a benchmark (neither ScienceQA problems.json nor JSONL): 1:1: unexpected character "
         "'h'"},
        {"arr.json", "[1, 2, 3]", 9, "not a benchmark: a JSON array"},
        {"splits.json", "{\"train\": [\"1\", \"2\"], \"val\": [\"3\"]}", 35,
         "not a benchmark: a JSON object"},
        {"objs.jsonl", "{\"a\": 1}\n{\"b\": 2}\n", 18, "not a benchmark"},
        {"broken.json",
         "{\"1\": {\"question\": \"q\", \"choices\": [\"a\", \"b\"],\n \"answer\": 0,}}", 63,
         "2:14: expected a string key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tu_write_file(tu_path(dir, cases[i].name), cases[i].content, cases[i].len);
        ts_bench *b = (ts_bench *)1;
        assert_int_equal(ts_bench_load(tu_path(dir, cases[i].name), NULL, &b), TS_ERR_INPUT);
        assert_null(b);
        if (!strstr(ts_last_error(), cases[i].want) || !strstr(ts_last_error(), cases[i].name))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].name, ts_last_error(), cases[i].want);
    }
    ts_bench *b;
    assert_int_equal(ts_bench_load(tu_path(dir, "missing.jsonl"), NULL, &b), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing.jsonl"));
    assert_int_equal(ts_bench_load(dir, NULL, &b), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "is a directory"));
    tu_rmdir(dir);
}

/* ---- ScienceQA ---------------------------------------------------------------- */

/* A small problems.json in the official schema (null where the real
 * reconstruction has nulls), its pid_splits.json and two val images. */
static char *make_scienceqa(bool with_splits) {
    char *dir = tu_mkdtemp();
    const char *problems =
        "{\"11\": {\"question\": \"Which is a mammal?\", \"choices\": [\"cat\", \"cod\", "
        "\"crow\"], \"answer\": 0,"
        " \"hint\": \"\", \"image\": \"image.png\", \"task\": \"closed choice\", \"grade\": "
        "\"grade2\","
        " \"subject\": \"natural science\", \"topic\": \"biology\", \"category\": null, \"skill\": "
        "null,"
        " \"lecture\": \"\", \"solution\": \"\", \"split\": \"val\"},\n"
        " \"12\": {\"question\": \"Capital of France?\", \"choices\": [\"Paris\", \"Rome\"], "
        "\"answer\": 0,"
        " \"hint\": \"Think of Europe.\", \"image\": null, \"task\": \"closed choice\", \"grade\": "
        "null,"
        " \"subject\": \"social science\", \"topic\": null, \"category\": null, \"skill\": null,"
        " \"lecture\": null, \"solution\": null, \"split\": \"val\"},\n"
        " \"13\": {\"question\": \"Which word rhymes?\", \"choices\": [\"blue\", \"shoe\", "
        "\"tree\", \"sea\"], \"answer\": 1,"
        " \"hint\": \"\", \"image\": null, \"task\": \"closed choice\", \"grade\": \"grade8\","
        " \"subject\": \"language science\", \"topic\": \"phonology\", \"category\": null, "
        "\"skill\": null,"
        " \"lecture\": \"\", \"solution\": \"\", \"split\": \"val\"},\n"
        " \"14\": {\"question\": \"Broken\", \"choices\": [\"a\", \"b\"], \"answer\": 3, \"hint\": "
        "\"\", \"image\": null,"
        " \"task\": \"closed choice\", \"grade\": null, \"subject\": null, \"split\": \"val\"},\n"
        " \"15\": {\"question\": \"Which is hotter?\", \"choices\": [\"ice\", \"lava\"], "
        "\"answer\": 1,"
        " \"hint\": \"Look at the picture.\", \"image\": \"image.png\", \"task\": \"closed "
        "choice\", \"grade\": \"grade11\","
        " \"subject\": \"natural science\", \"split\": \"val\"},\n"
        " \"16\": {\"question\": \"No image here\", \"choices\": [\"x\", \"y\"], \"answer\": 0, "
        "\"hint\": \"\","
        " \"image\": \"image.png\", \"task\": \"closed choice\", \"grade\": null, \"subject\": "
        "null, \"split\": \"val\"},\n"
        " \"21\": {\"question\": \"Test question\", \"choices\": [\"u\", \"v\"], \"answer\": 1, "
        "\"hint\": \"\","
        " \"image\": null, \"task\": \"yes or no\", \"grade\": \"grade1\", \"subject\": \"natural "
        "science\", \"split\": \"test\"}}";
    write_str(tu_path(dir, "problems.json"), problems);
    if (with_splits)
        write_str(tu_path(dir, "pid_splits.json"),
                  "{\"train\": [], \"val\": [\"13\", \"11\", \"12\", \"14\", \"15\", \"16\", "
                  "\"99\"], \"test\": [\"21\"],"
                  " \"minival\": [\"11\"]}");
    char p[1200];
    const char *mk[] = {"images", "images/val", "images/val/11", "images/val/15"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, mk[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    write_str(tu_path(dir, "images/val/11/image.png"), "cat picture");
    write_str(tu_path(dir, "images/val/15/image.png"), "corrupt bytes");
    return dir;
}

static void test_scienceqa_reader(void **state) {
    char *dir = make_scienceqa(true);
    ts_bench_options o = {.split = "val"};
    ts_bench *b = load_ok(tu_path(dir, "problems.json"), &o);
    assert_int_equal(b->format, TS_BENCH_SCIENCEQA);
    assert_string_equal(b->split, "val");
    assert_int_equal(b->n_items, 7);
    /* in pid_splits.json's order */
    const char *order[] = {"13", "11", "12", "14", "15", "16", "99"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(b->items[i].id, order[i]);
    const ts_eval_item *p11 = find(b, "11");
    assert_null(p11->error);
    assert_int_equal(p11->n_media, 1);
    assert_string_equal(p11->media_paths[0], tu_path(dir, "images/val/11/image.png"));
    assert_true(p11->has_image && !p11->has_text);
    assert_int_equal(p11->grade, 2);
    assert_string_equal(p11->subject, "natural science");
    const ts_eval_item *p12 = find(b, "12");
    assert_null(p12->error);
    assert_int_equal(p12->n_media, 0);
    assert_true(p12->has_text && !p12->has_image);
    assert_int_equal(p12->grade, 0); /* null grade: unknown */
    assert_string_equal(p12->hint, "Think of Europe.");
    assert_int_equal(find(b, "13")->n_choices, 4);
    assert_error_has(find(b, "14"), "answer index 3 out of range for 2 choices");
    assert_null(find(b, "15")->error); /* exists; it is corrupt, found when scored */
    assert_error_has(find(b, "16"), "image file missing");
    assert_error_has(find(b, "16"), "images/val/16/image.png");
    assert_error_has(find(b, "99"), "not in problems.json");
    ts_bench_free(b);

    /* default split: test */
    b = load_ok(tu_path(dir, "problems.json"), NULL);
    assert_string_equal(b->split, "test");
    assert_int_equal(b->n_items, 1);
    assert_string_equal(b->items[0].id, "21");
    ts_bench_free(b);

    /* minival pids keep their images under images/val (the problem's split) */
    o.split = "minival";
    b = load_ok(tu_path(dir, "problems.json"), &o);
    assert_int_equal(b->n_items, 1);
    assert_null(b->items[0].error);
    ts_bench_free(b);

    /* an unknown split is a usage error that lists the ones there are */
    o.split = "dev";
    assert_int_equal(ts_bench_load(tu_path(dir, "problems.json"), &o, &b), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "no split 'dev' (it has: train, val, test, minival)"));

    /* --images: a folder holding <split>/<pid>/image.png or <pid>/image.png */
    char imgs[1100], p[1200];
    snprintf(imgs, sizeof imgs, "%s/elsewhere", dir);
    assert_int_equal(mkdir(imgs, 0755), 0);
    snprintf(p, sizeof p, "%s/16", imgs);
    assert_int_equal(mkdir(p, 0755), 0);
    write_str(tu_path(imgs, "16/image.png"), "an image");
    o.split = "val";
    o.images_dir = imgs;
    b = load_ok(tu_path(dir, "problems.json"), &o);
    assert_null(find(b, "16")->error);
    assert_string_equal(find(b, "16")->media_paths[0], tu_path(imgs, "16/image.png"));
    assert_error_has(find(b, "11"), "image file missing"); /* not under --images */
    ts_bench_free(b);
    tu_rmdir(dir);

    /* --text-only: the media are left out, the IMG column still knows */
    dir = make_scienceqa(true);
    o = (ts_bench_options){.split = "val", .text_only = true};
    b = load_ok(tu_path(dir, "problems.json"), &o);
    assert_null(find(b, "16")->error); /* its image is missing, but not needed */
    assert_int_equal(find(b, "16")->n_media, 0);
    assert_true(find(b, "16")->has_image);
    assert_int_equal(find(b, "11")->n_media, 0);
    assert_error_has(find(b, "14"), "out of range"); /* the rest is checked as before */
    ts_bench_free(b);
    tu_rmdir(dir);

    /* without pid_splits.json the problems' own "split" fields choose */
    dir = make_scienceqa(false);
    o = (ts_bench_options){.split = "val"};
    b = load_ok(tu_path(dir, "problems.json"), &o);
    assert_int_equal(b->n_items, 6);
    assert_string_equal(b->items[0].id, "11"); /* problems.json order */
    ts_bench_free(b);
    o.split = "dev";
    assert_int_equal(ts_bench_load(tu_path(dir, "problems.json"), &o, &b), TS_ERR_USAGE);
    tu_rmdir(dir);
}

/* ---- running and the report ---------------------------------------------------- */

/* The fixed benchmark: the mock picks the shortest option (a tie: the
 * earlier one), so by hand: f1 right, f2 right, f3 wrong (tie), f4 right,
 * f5 wrong, f6 right; f7 and the broken line are errors. */
static const char *FIXED =
    "{\"id\":\"f1\",\"question\":\"q\",\"choices\":[\"one\",\"three\"],\"answer\":0,\"task\":"
    "\"count\"}\n"
    "{\"id\":\"f2\",\"question\":\"q\",\"choices\":[\"seven\",\"two\",\"eleven\"],\"answer\":1,"
    "\"task\":\"count\"}\n"
    "{\"id\":\"f3\",\"question\":\"q\",\"choices\":[\"four\",\"nine\"],\"answer\":1,\"task\":"
    "\"count\"}\n"
    "{\"id\":\"f4\",\"question\":\"q\",\"choices\":[\"red\",\"green\",\"blue\",\"yellow\"],"
    "\"answer\":0,\"task\":\"color\"}\n"
    "{\"id\":\"f5\",\"question\":\"q\",\"choices\":[\"purple\",\"cyan\"],\"answer\":0,\"task\":"
    "\"color\"}\n"
    "{\"id\":\"f6\",\"question\":\"q\",\"choices\":[\"a b c\",\"dd\"],\"answer\":1}\n"
    "{\"id\":\"f7\",\"question\":\"q\",\"choices\":[\"x\",\"y\"],\"answer\":9,\"task\":\"count\"}\n"
    "{\"id\":\"f8\",\"question\":\"q\",\"choices\":[\"x\",\"y\"\n";

typedef struct {
    int calls, errors, last_done, last_scored, last_correct;
} progress_log;

static void on_item(void *user, const ts_eval_item *it, const ts_eval_result *r, int done,
                    int total, int scored, int correct) {
    progress_log *l = user;
    l->calls++;
    l->errors += r->error != NULL;
    assert_int_equal(total, 8);
    assert_int_equal(done, l->calls);
    l->last_done = done, l->last_scored = scored, l->last_correct = correct;
}

static void test_run_and_report_numbers(void **state) {
    char *dir = tu_mkdtemp();
    write_str(tu_path(dir, "fixed.jsonl"), FIXED);
    ts_bench *b = load_ok(tu_path(dir, "fixed.jsonl"), NULL);
    assert_int_equal(b->n_items, 8);
    mock_ctx mc;
    ts_scorer sc = mock_scorer(&mc);
    progress_log log = {0};
    ts_eval_options eo = {.mode = TS_SCORE_SUM, .on_item = on_item, .user = &log};
    ts_eval_result *r;
    assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
    assert_int_equal(mc.calls, 6); /* once per usable item, all options at once */
    assert_int_equal(log.calls, 8);
    assert_int_equal(log.errors, 2);
    assert_int_equal(log.last_scored, 6);
    assert_int_equal(log.last_correct, 4);
    int want_pred[6] = {0, 1, 0, 0, 1, 1};
    for (int i = 0; i < 6; i++) {
        assert_null(r[i].error);
        assert_int_equal(r[i].prediction, want_pred[i]);
        assert_int_equal(r[i].correct, want_pred[i] == b->items[i].answer);
    }
    assert_true(r[1].scores[2] == -6.0 && r[5].n_tokens[0] == 3);
    assert_non_null(strstr(r[6].error, "answer index 9 out of range"));
    assert_non_null(strstr(r[7].error, "malformed JSON"));

    ts_eval_summary s;
    assert_int_equal(ts_eval_summarize(b, r, &s), TS_OK);
    assert_int_equal(s.n_items, 8);
    assert_int_equal(s.n_scored, 6);
    assert_int_equal(s.n_errors, 2);
    assert_int_equal(s.all.correct, 4);
    assert_true(fabs(s.all.accuracy - 4.0 / 6) < 1e-12);
    /* Wilson 95% for 4/6 (reference: the textbook formula in Python) */
    assert_true(fabs(s.all.ci_lo - 0.299993) < 1e-6);
    assert_true(fabs(s.all.ci_hi - 0.903229) < 1e-6);
    /* random: mean of 1/2, 1/3, 1/2, 1/4, 1/2, 1/2 */
    assert_true(fabs(s.all.random - (0.5 + 1.0 / 3 + 0.5 + 0.25 + 0.5 + 0.5) / 6) < 1e-12);
    assert_int_equal(s.n_groups, 2); /* sorted by task name */
    assert_string_equal(s.groups[0].name, "color");
    assert_int_equal(s.groups[0].n, 2);
    assert_int_equal(s.groups[0].correct, 1);
    assert_true(fabs(s.groups[0].random - 0.375) < 1e-12);
    assert_string_equal(s.groups[1].name, "count");
    assert_int_equal(s.groups[1].n, 3);
    assert_int_equal(s.groups[1].correct, 2);
    assert_int_equal(s.no_task, 1);

    s.seconds = 2.0, s.items_per_s = 3.0, s.threads = 1;
    char *txt;
    size_t tl;
    FILE *fp = open_memstream(&txt, &tl);
    ts_eval_report_write(fp, b, &s, "mock", TS_SCORE_SUM);
    fclose(fp);
    const char *lines[] = {
        "items:     8 (6 scored, 2 errors)\n",
        "accuracy:  66.67% (4/6), 95% CI 30.00-90.32%\n",
        "random:    43.06% (expected accuracy of a random choice)\n",
        "speed:     3.00 items/s (2.0 s on 1 thread)\n",
        "  color                 2    50.00  9.45-90.55          37.50\n",
        "  count                 3    66.67  20.77-93.85         44.44\n",
        "  all                   6    66.67  30.00-90.32         43.06\n",
        "  (1 scored item without a task)\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        if (!strstr(txt, lines[i])) fail_msg("report lacks '%s':\n%s", lines[i], txt);
    free(txt);

    /* the JSON: every item, errors included, and the summary; reads back */
    const char *jpath = tu_path(dir, "out.json");
    assert_int_equal(ts_eval_write_json(jpath, b, r, &s, "mock", TS_SCORE_SUM), TS_OK);
    size_t jl;
    char *js = tu_read_file(jpath, &jl);
    ts_json_doc *doc;
    assert_int_equal(ts_json_parse(js, jl, "out.json", &doc), TS_OK);
    const ts_json *root = ts_json_root(doc);
    const ts_json *sum = ts_json_get(root, "summary");
    assert_true(ts_json_get(sum, "errors")->number == 2);
    assert_true(ts_json_get(sum, "correct")->number == 4);
    assert_true(fabs(ts_json_at(ts_json_get(sum, "ci95"), 0)->number - 0.299993) < 1e-6);
    assert_int_equal(ts_json_get(sum, "groups")->len, 2);
    const ts_json *items = ts_json_get(root, "items");
    assert_int_equal(items->len, 8);
    const ts_json *i2 = ts_json_at(items, 1);
    assert_string_equal(ts_json_get(i2, "id")->str, "f2");
    assert_true(ts_json_get(i2, "prediction")->number == 1);
    assert_true(ts_json_get(i2, "correct")->boolean);
    assert_true(ts_json_at(ts_json_get(i2, "scores"), 2)->number == -6.0);
    const ts_json *i7 = ts_json_at(items, 6);
    assert_non_null(strstr(ts_json_get(i7, "error")->str, "out of range"));
    assert_null(ts_json_get(i7, "prediction"));
    ts_json_free(doc);
    free(js);
    ts_eval_summary_free(&s);
    ts_eval_results_free(r, b->n_items);

    /* per-token normalisation: f1 -3 > -5; f2 -3; f3 tie -> 0; f4 -3;
     * f5 -4 > -6; f6: -5/3 > -2/1 so option 0 now: 3 right of 6 */
    eo = (ts_eval_options){.mode = TS_SCORE_NORM};
    assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
    assert_int_equal(ts_eval_summarize(b, r, &s), TS_OK);
    assert_int_equal(r[5].prediction, 0);
    assert_int_equal(s.all.correct, 3);
    ts_eval_summary_free(&s);
    ts_eval_results_free(r, b->n_items);
    ts_bench_free(b);
    tu_rmdir(dir);
}

static void test_scienceqa_columns_and_media_errors(void **state) {
    char *dir = make_scienceqa(true);
    ts_bench_options o = {.split = "val"};
    ts_bench *b = load_ok(tu_path(dir, "problems.json"), &o);
    mock_ctx mc;
    ts_scorer sc = mock_scorer(&mc);
    ts_eval_options eo = {.mode = TS_SCORE_SUM};
    ts_eval_result *r;
    assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
    /* 15's image is corrupt: found by the scorer, reported, skipped */
    assert_non_null(strstr(r[4].error, "not a PNG or JPEG"));
    ts_eval_summary s;
    assert_int_equal(ts_eval_summarize(b, r, &s), TS_OK);
    /* scored: 13 (shortest "sea" = 3 → wrong; "tree"/"blue"/"shoe" are 4),
     * 11 ("cat" right), 12 ("Rome" shorter than "Paris" → wrong) */
    assert_int_equal(s.n_scored, 3);
    assert_int_equal(s.n_errors, 4);
    assert_int_equal(s.all.correct, 1);
    assert_int_equal(s.n_groups, 8);
    const char *names[] = {"NAT", "SOC", "LAN", "TXT", "IMG", "NO", "G1-6", "G7-12"};
    int n[] = {1, 1, 1, 1, 1, 1, 1, 1}, k[] = {1, 0, 0, 0, 1, 0, 1, 0};
    for (int g = 0; g < 8; g++) {
        assert_string_equal(s.groups[g].name, names[g]);
        assert_int_equal(s.groups[g].n, n[g]);
        assert_int_equal(s.groups[g].correct, k[g]);
    }
    assert_int_equal(s.unknown_grade, 1);
    char *txt;
    size_t tl;
    FILE *fp = open_memstream(&txt, &tl);
    ts_eval_report_write(fp, b, &s, NULL, TS_SCORE_SUM);
    fclose(fp);
    assert_non_null(strstr(txt, "(ScienceQA, split val)"));
    assert_non_null(strstr(txt, "| NAT | SOC | LAN | TXT | IMG | NO | G1-6 | G7-12 | Avg |"));
    assert_non_null(
        strstr(txt, "| 100.00 | 0.00 | 0.00 | 0.00 | 100.00 | 0.00 | 100.00 | 0.00 | 33.33 |"));
    assert_non_null(strstr(txt, "grade unknown for 1"));
    free(txt);
    ts_eval_summary_free(&s);
    ts_eval_results_free(r, b->n_items);
    ts_bench_free(b);
    tu_rmdir(dir);
}

static void test_threads_are_deterministic(void **state) {
    /* 200 items over 1 and 3 threads: the same results and the same JSON */
    char *dir = tu_mkdtemp();
    size_t cap = 200 * 160, k = 0;
    char *s = malloc(cap);
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(
            s + k, cap - k,
            "{\"id\":\"i%d\",\"question\":\"q\",\"choices\":[\"%.*s\",\"%.*s\",\"ccc\"],"
            "\"answer\":%d,\"task\":\"t%d\"}\n",
            i, 1 + i % 5, "aaaaa", 1 + (i * 7) % 5, "bb bb", i % 3, i % 4);
    tu_write_file(tu_path(dir, "many.jsonl"), s, k);
    free(s);
    ts_bench *b = load_ok(tu_path(dir, "many.jsonl"), NULL);
    char *outs[2];
    int threads[2] = {1, 3};
    for (int t = 0; t < 2; t++) {
        mock_ctx mc;
        ts_scorer sc = mock_scorer(&mc);
        ts_pool *pool = ts_pool_new(threads[t]);
        ts_eval_options eo = {.mode = TS_SCORE_SUM, .pool = pool};
        ts_eval_result *r;
        assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
        assert_int_equal(mc.calls, 200);
        assert_int_equal(mc.max_worker, threads[t] - 1);
        ts_eval_summary sum;
        assert_int_equal(ts_eval_summarize(b, r, &sum), TS_OK);
        sum.threads = threads[t];
        const char *p = tu_path(dir, t ? "t3.json" : "t1.json");
        sum.threads = 0; /* the thread count is the one field allowed to differ */
        assert_int_equal(ts_eval_write_json(p, b, r, &sum, "mock", TS_SCORE_SUM), TS_OK);
        outs[t] = tu_read_file(p, NULL);
        ts_eval_summary_free(&sum);
        ts_eval_results_free(r, b->n_items);
        ts_pool_free(pool);
    }
    assert_string_equal(outs[0], outs[1]);
    free(outs[0]);
    free(outs[1]);

    /* generating: the matching (word overlap here) runs on the workers too */
    for (int t = 0; t < 2; t++) {
        mock_ctx mc;
        ts_scorer sc = mock_scorer(&mc);
        ts_pool *pool = ts_pool_new(threads[t]);
        ts_eval_options eo = {.mode = TS_SCORE_GENERATE, .pool = pool};
        ts_eval_result *r;
        assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
        for (int i = 0; i < b->n_items; i++) {
            const ts_eval_item *it = &b->items[i];
            /* the overlap picks the answer unless an earlier option has the
             * same words ("aaaaa" twice): then the earlier one */
            int want = it->answer;
            for (int j = 0; j < it->answer; j++)
                if (!strcmp(it->choices[j], it->choices[it->answer])) want = j, j = it->answer;
            assert_int_equal(r[i].prediction, want);
            assert_string_equal(r[i].match, "overlap");
        }
        ts_eval_results_free(r, b->n_items);
        ts_pool_free(pool);
    }
    ts_bench_free(b);
    tu_rmdir(dir);
}

static void test_generate_and_match(void **state) {
    const char *ch[] = {"the Sun", "the Moon", "Mars", "B"};
    const char *how;
    assert_int_equal(ts_eval_match_choice("Mars", ch, 4, &how), 2);
    assert_string_equal(how, "exact");
    assert_int_equal(ts_eval_match_choice("  THE moon. ", ch, 4, &how), 1);
    assert_string_equal(how, "normalized");
    assert_int_equal(ts_eval_match_choice("B", ch, 4, &how),
                     3); /* an option "B" beats the letter */
    assert_string_equal(how, "exact");
    assert_int_equal(ts_eval_match_choice("(A)", ch, 4, &how), 0);
    assert_string_equal(how, "letter");
    assert_int_equal(ts_eval_match_choice("C. something", ch, 4, &how), 2);
    assert_string_equal(how, "letter");
    assert_int_equal(ts_eval_match_choice("(E)", ch, 4, &how), -1); /* no fifth option */
    assert_int_equal(ts_eval_match_choice("I think it is the moon", ch, 4, &how), 1);
    assert_string_equal(how, "overlap");
    /* "the" alone: equal overlap with options 0 and 1, the earlier wins */
    assert_int_equal(ts_eval_match_choice("the", ch, 4, &how), 0);
    assert_int_equal(ts_eval_match_choice("Jupiter", ch, 4, &how), -1);
    assert_string_equal(how, "none");
    assert_int_equal(ts_eval_match_choice("", ch, 4, &how), -1);

    /* a generate run through the test double */
    char *dir = tu_mkdtemp();
    write_str(
        tu_path(dir, "g.jsonl"),
        "{\"id\":\"g1\",\"question\":\"q\",\"choices\":[\"red fox\",\"blue whale\"],\"answer\":1}\n"
        "{\"id\":\"g-wrong\",\"question\":\"q\",\"choices\":[\"red fox\",\"blue "
        "whale\"],\"answer\":0}\n");
    ts_bench *b = load_ok(tu_path(dir, "g.jsonl"), NULL);
    mock_ctx mc;
    ts_scorer sc = mock_scorer(&mc);
    ts_eval_options eo = {.mode = TS_SCORE_GENERATE};
    ts_eval_result *r;
    assert_int_equal(ts_eval_run(b, &sc, &eo, &r), TS_OK);
    assert_string_equal(r[0].generated, "BLUE WHALE!");
    assert_int_equal(r[0].prediction, 1);
    assert_string_equal(r[0].match, "normalized");
    assert_true(r[0].correct);
    assert_int_equal(r[1].prediction, -1);
    assert_false(r[1].correct);
    assert_null(r[1].error); /* no match is a wrong answer, not an error */
    ts_eval_results_free(r, b->n_items);
    ts_bench_free(b);
    tu_rmdir(dir);
}

static void test_wilson(void **state) {
    double lo, hi;
    ts_wilson95(8, 10, &lo, &hi);
    assert_true(fabs(lo - 0.490162) < 1e-6 && fabs(hi - 0.943318) < 1e-6);
    ts_wilson95(0, 5, &lo, &hi);
    assert_true(lo == 0 && fabs(hi - 0.434482) < 1e-6);
    ts_wilson95(5, 5, &lo, &hi);
    assert_true(fabs(lo - 0.565518) < 1e-6 && hi == 1);
    ts_wilson95(0, 0, &lo, &hi);
    assert_true(lo == 0 && hi == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_reader),
        cmocka_unit_test(test_not_a_benchmark),
        cmocka_unit_test(test_scienceqa_reader),
        cmocka_unit_test(test_run_and_report_numbers),
        cmocka_unit_test(test_scienceqa_columns_and_media_errors),
        cmocka_unit_test(test_threads_are_deterministic),
        cmocka_unit_test(test_generate_and_match),
        cmocka_unit_test(test_wilson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
