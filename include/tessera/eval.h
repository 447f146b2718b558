/* Batch evaluation on multiple-choice benchmarks (eval/): readers for
 * ScienceQA's problems.json and for JSONL, scoring through a ts_scorer
 * (the model, or a test double), and the report.
 *
 *     ts_bench *b;
 *     ts_bench_options bo = {.split = "val"};
 *     if (ts_bench_load("problems.json", &bo, &b)) die(ts_last_error());
 *     ts_scorer *sc;
 *     ts_eval_model_scorer_new("models/tessera.gguf", 2, &sc);
 *     ts_pool *pool = ts_pool_new(2);
 *     ts_eval_options eo = {.mode = TS_SCORE_SUM, .pool = pool};
 *     ts_eval_result *res;
 *     ts_eval_run(b, sc, &eo, &res);
 *     ts_eval_summary sum;
 *     ts_eval_summarize(b, res, &sum);
 *     ts_eval_report_write(stdout, b, &sum, "log-likelihood");
 *
 * An item the reader or the scorer cannot use (malformed line, missing
 * field, answer out of range, missing or corrupt media) carries an error
 * message, is skipped, and is counted under "errors"; only a file that is
 * not a benchmark at all makes ts_bench_load fail (TS_ERR_INPUT). */
#ifndef TESSERA_EVAL_H
#define TESSERA_EVAL_H

#include "tessera/core.h"

/* ---- benchmarks ----------------------------------------------------------- */

typedef enum { TS_BENCH_SCIENCEQA = 0, TS_BENCH_JSONL = 1 } ts_bench_format;
typedef enum { TS_EVAL_IMAGE = 0, TS_EVAL_AUDIO = 1 } ts_eval_media_kind;

typedef struct {
    char *id; /* pid or the JSONL "id"; "line N" when there is none */
    int line; /* JSONL: line in the file (1-based); ScienceQA: 0 */
    char *question;
    char *hint;     /* "" when absent or null */
    char **choices; /* n_choices option texts */
    int n_choices;
    int answer;  /* index of the right option */
    int n_media; /* images and audio clips, in the order given */
    char **media_paths;
    ts_eval_media_kind *media_kinds;
    char *task, *subject; /* NULL when unknown */
    int grade;            /* 1..12; 0 when unknown */
    bool has_text;        /* non-empty hint (ScienceQA's TXT column) */
    bool has_image;
    char *error; /* non-NULL: unusable, with the reason */
} ts_eval_item;

typedef struct {
    ts_bench_format format;
    char *path;
    char *split; /* ScienceQA: the split read; NULL for JSONL */
    ts_eval_item *items;
    int n_items;
} ts_bench;

typedef struct {
    const char *split;      /* ScienceQA split (NULL: "test") */
    const char *images_dir; /* ScienceQA: images root (NULL: images/ beside the file) */
    int limit;              /* keep the first `limit` items (0: all) */
    bool text_only;         /* leave media out (items keep has_image for the report) */
} ts_bench_options;

/* Reads a benchmark, finding its format from the content. Fails only when
 * the file cannot be read or is not a benchmark (TS_ERR_INPUT), or when the
 * split does not exist (TS_ERR_USAGE). */
ts_status ts_bench_load(const char *path, const ts_bench_options *o, ts_bench **out);
void ts_bench_free(ts_bench *b);
const char *ts_bench_format_name(ts_bench_format f); /* "ScienceQA", "JSONL" */

/* ---- scoring -------------------------------------------------------------- */

/* What eval needs from a model: called from `worker` (0 .. threads-1) of the
 * pool, concurrently for different items. score fills logprob[c] (the
 * log-likelihood of option c's text as the answer) and n_tokens[c] (how many
 * tokens it covers) for every option, decoding the item's media once.
 * generate returns a malloc'd answer text. A failure is that item's error. */
typedef struct ts_scorer ts_scorer;
struct ts_scorer {
    void *ctx;
    ts_status (*score)(void *ctx, int worker, const ts_eval_item *it, double *logprob,
                       int *n_tokens);
    ts_status (*generate)(void *ctx, int worker, const ts_eval_item *it, char **text);
    void (*free)(void *ctx);
    char name[256]; /* for the report: the model file */
};
/* The model in a GGUF file (tokenizer + decoder, and the VQ-VAE for media)
 * with the fusion/ template; up to n_workers concurrent workers. */
ts_status ts_eval_model_scorer_new(const char *path, int n_workers, ts_scorer **out);
/* The same, each medium read in `views` test-time views (1..TS_MAX_VIEWS;
 * fusion/views.h) and each clip quieter than level_floor brought up to it
 * (ts_audio_level_floor; 0: as recorded); `tessera eval` uses
 * TS_DEFAULT_VIEWS and TS_LEVEL_FLOOR. An option's log-likelihood is its
 * mean over the views, and TS_SCORE_GENERATE draws each token from all
 * views at once. */
ts_status ts_eval_model_scorer_new_views(const char *path, int n_workers, int views,
                                         float level_floor, ts_scorer **out);
void ts_scorer_free(ts_scorer *s);

typedef enum {
    TS_SCORE_SUM = 0,      /* highest total log-likelihood */
    TS_SCORE_NORM = 1,     /* highest log-likelihood per token */
    TS_SCORE_GENERATE = 2, /* generate, then match the text to an option */
} ts_score_mode;
const char *ts_score_mode_name(ts_score_mode m);

typedef struct {
    int prediction; /* chosen option, -1 for none (error, or no match) */
    bool correct;
    double *scores;    /* n_choices: log-likelihoods (NULL when generating or on error) */
    int *n_tokens;     /* n_choices */
    char *generated;   /* TS_SCORE_GENERATE: the text */
    const char *match; /* TS_SCORE_GENERATE: "exact", "normalized", "letter", "overlap", "none" */
    char *error;       /* non-NULL: skipped, with the reason */
    double seconds;    /* time spent on the item */
} ts_eval_result;

/* Called once per finished item (serialised under a lock, in completion
 * order): the item, its result, and the counts so far. */
typedef void (*ts_eval_item_fn)(void *user, const ts_eval_item *it, const ts_eval_result *r,
                                int done, int total, int scored, int correct);

typedef struct {
    ts_score_mode mode;
    ts_pool *pool; /* NULL: the calling thread */
    ts_eval_item_fn on_item;
    void *user;
} ts_eval_options;

/* Evaluates every item (in parallel on the pool, static split). *results has
 * b->n_items entries in item order, whatever the thread count; free it with
 * ts_eval_results_free. */
ts_status ts_eval_run(const ts_bench *b, const ts_scorer *sc, const ts_eval_options *o,
                      ts_eval_result **results);
void ts_eval_results_free(ts_eval_result *r, int n);

/* The option a generated text names: the option equal to it (exactly, then
 * after normalising case, spaces and punctuation), a letter "B", "(B)" or
 * "B." naming an option, then the option sharing the most words with it
 * (F1 over normalised words; ties go to the earlier option). -1 when no
 * word is shared. *how (may be NULL) is set to the rule used. */
int ts_eval_match_choice(const char *text, const char *const *choices, int n, const char **how);

/* ---- the report ------------------------------------------------------------ */

typedef struct {
    char name[64];
    int n, correct;
    double accuracy, ci_lo, ci_hi; /* 95% Wilson interval */
    double random;                 /* expected accuracy of a random choice */
} ts_eval_group;

typedef struct {
    int n_items, n_scored, n_errors;
    ts_eval_group all;
    ts_eval_group *groups; /* ScienceQA: NAT SOC LAN TXT IMG NO G1-6 G7-12; JSONL: one per task */
    int n_groups;
    int unknown_subject, unknown_grade, no_task; /* scored items lacking that metadata */
    double seconds, items_per_s;                 /* set by the caller (wall time of ts_eval_run) */
    int threads;
    int views; /* set by the caller: test-time views of each medium (0 or 1: one) */
    double level_floor; /* set by the caller: the peak quiet clips are brought up to (0: none) */
} ts_eval_summary;

/* 95% Wilson score interval for k successes in n trials. */
void ts_wilson95(int k, int n, double *lo, double *hi);
ts_status ts_eval_summarize(const ts_bench *b, const ts_eval_result *r, ts_eval_summary *s);
void ts_eval_summary_free(ts_eval_summary *s);
/* The human-readable report (what `tessera eval` prints on stdout). */
void ts_eval_report_write(FILE *fp, const ts_bench *b, const ts_eval_summary *s, const char *model,
                          ts_score_mode mode);
/* Every item's scores, prediction, correctness and error, plus the summary,
 * written atomically. Timings are left out, so the same run (input, model,
 * thread count) writes the same bytes. */
ts_status ts_eval_write_json(const char *path, const ts_bench *b, const ts_eval_result *r,
                             const ts_eval_summary *s, const char *model, ts_score_mode mode);

#endif
