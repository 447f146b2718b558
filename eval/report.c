/* The numbers of a run: accuracy with its 95% Wilson interval, the expected
 * accuracy of random choice, ScienceQA's paper columns or one row per JSONL
 * task; printed as a table or written as JSON with every item. */
#include "tessera/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ts_wilson95(int k, int n, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0, *hi = 0;
        return;
    }
    const double z = 1.959963984540054; /* the 97.5% normal quantile */
    double p = (double)k / n, z2n = z * z / n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z / (1 + z2n) * sqrt(p * (1 - p) / n + z2n / (4.0 * n));
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

/* Running sums of one group. */
typedef struct {
    int n, correct;
    double inv_choices; /* Σ 1/n_choices */
} acc;

static void acc_add(acc *a, const ts_eval_item *it, const ts_eval_result *r) {
    a->n++;
    a->correct += r->correct;
    a->inv_choices += 1.0 / it->n_choices;
}

static void group_set(ts_eval_group *g, const char *name, const acc *a) {
    snprintf(g->name, sizeof g->name, "%s", name);
    g->n = a->n;
    g->correct = a->correct;
    g->accuracy = a->n ? (double)a->correct / a->n : 0;
    g->random = a->n ? a->inv_choices / a->n : 0;
    ts_wilson95(a->correct, a->n, &g->ci_lo, &g->ci_hi);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ts_status ts_eval_summarize(const ts_bench *b, const ts_eval_result *r, ts_eval_summary *s) {
    memset(s, 0, sizeof *s);
    s->n_items = b->n_items;
    acc all = {0};
    for (int i = 0; i < b->n_items; i++) {
        if (r[i].error) {
            s->n_errors++;
            continue;
        }
        acc_add(&all, &b->items[i], &r[i]);
        if (!b->items[i].subject) s->unknown_subject++;
        if (!b->items[i].grade) s->unknown_grade++;
        if (!b->items[i].task) s->no_task++;
    }
    s->n_scored = all.n;
    group_set(&s->all, "all", &all);

    if (b->format == TS_BENCH_SCIENCEQA) {
        /* the paper's columns: subject, context modality, grade. As in the
         * official evaluation, TXT is every problem with a non-empty hint
         * (with or without an image), IMG every problem with an image, NO
         * those with neither. */
        enum { NAT, SOC, LAN, TXT, IMG, NO, G16, G712, NG };
        static const char *names[NG] = {"NAT", "SOC", "LAN", "TXT", "IMG", "NO", "G1-6", "G7-12"};
        acc g[NG] = {{0}};
        for (int i = 0; i < b->n_items; i++) {
            const ts_eval_item *it = &b->items[i];
            if (r[i].error) continue;
            if (it->subject && !strcmp(it->subject, "natural science")) acc_add(&g[NAT], it, &r[i]);
            if (it->subject && !strcmp(it->subject, "social science")) acc_add(&g[SOC], it, &r[i]);
            if (it->subject && !strcmp(it->subject, "language science"))
                acc_add(&g[LAN], it, &r[i]);
            if (it->has_text) acc_add(&g[TXT], it, &r[i]);
            if (it->has_image) acc_add(&g[IMG], it, &r[i]);
            if (!it->has_text && !it->has_image) acc_add(&g[NO], it, &r[i]);
            if (it->grade >= 1 && it->grade <= 6) acc_add(&g[G16], it, &r[i]);
            if (it->grade >= 7) acc_add(&g[G712], it, &r[i]);
        }
        s->groups = calloc(NG, sizeof *s->groups);
        if (!s->groups) return ts_fail(TS_ERR_NOMEM, "out of memory");
        s->n_groups = NG;
        for (int k = 0; k < NG; k++)
            group_set(&s->groups[k], names[k], &g[k]);
        return TS_OK;
    }

    /* JSONL: one row per task, sorted by name */
    const char **tasks = calloc(b->n_items ? (size_t)b->n_items : 1, sizeof *tasks);
    if (!tasks) return ts_fail(TS_ERR_NOMEM, "out of memory");
    int nt = 0;
    for (int i = 0; i < b->n_items; i++)
        if (!r[i].error && b->items[i].task) tasks[nt++] = b->items[i].task;
    qsort(tasks, (size_t)nt, sizeof *tasks, cmp_str);
    int nu = 0;
    for (int i = 0; i < nt; i++)
        if (!nu || strcmp(tasks[nu - 1], tasks[i])) tasks[nu++] = tasks[i];
    s->groups = calloc(nu ? (size_t)nu : 1, sizeof *s->groups);
    acc *g = calloc(nu ? (size_t)nu : 1, sizeof *g);
    if (!s->groups || !g) {
        free(tasks);
        free(g);
        ts_eval_summary_free(s);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < b->n_items; i++) {
        if (r[i].error || !b->items[i].task) continue;
        const char *key = b->items[i].task;
        const char **hit = bsearch(&key, tasks, (size_t)nu, sizeof *tasks, cmp_str);
        acc_add(&g[hit - tasks], &b->items[i], &r[i]);
    }
    s->n_groups = nu;
    for (int k = 0; k < nu; k++)
        group_set(&s->groups[k], tasks[k], &g[k]);
    free(g);
    free(tasks);
    return TS_OK;
}

void ts_eval_summary_free(ts_eval_summary *s) {
    free(s->groups);
    s->groups = NULL;
    s->n_groups = 0;
}

/* ---- text report ------------------------------------------------------------ */

static void row(FILE *fp, const ts_eval_group *g, const char *name) {
    if (!g->n) {
        fprintf(fp, "  %-16.16s %6d %8s  %-17s %7s\n", name, 0, "-", "-", "-");
        return;
    }
    char ci[32];
    snprintf(ci, sizeof ci, "%.2f-%.2f", 100 * g->ci_lo, 100 * g->ci_hi);
    fprintf(fp, "  %-16.16s %6d %8.2f  %-17s %7.2f\n", name, g->n, 100 * g->accuracy, ci,
            100 * g->random);
}

void ts_eval_report_write(FILE *fp, const ts_bench *b, const ts_eval_summary *s, const char *model,
                          ts_score_mode mode) {
    fprintf(fp, "benchmark: %s (%s%s%s)\n", b->path, ts_bench_format_name(b->format),
            b->split ? ", split " : "", b->split ? b->split : "");
    if (model) fprintf(fp, "model:     %s\n", model);
    fprintf(fp, "scoring:   %s", ts_score_mode_name(mode));
    if (s->views > 1 && s->level_floor > 0)
        fprintf(fp, " (media read in %d views, clips below a peak of %.2g brought up to it)",
                s->views, s->level_floor);
    else if (s->views > 1)
        fprintf(fp, " (media read in %d views)", s->views);
    else if (s->level_floor > 0)
        fprintf(fp, " (clips below a peak of %.2g brought up to it)", s->level_floor);
    fputc('\n', fp);
    fprintf(fp, "items:     %d (%d scored, %d error%s)\n", s->n_items, s->n_scored, s->n_errors,
            s->n_errors == 1 ? "" : "s");
    if (s->n_scored)
        fprintf(fp, "accuracy:  %.2f%% (%d/%d), 95%% CI %.2f-%.2f%%\n", 100 * s->all.accuracy,
                s->all.correct, s->n_scored, 100 * s->all.ci_lo, 100 * s->all.ci_hi);
    else
        fprintf(fp, "accuracy:  - (no item scored)\n");
    if (s->n_scored)
        fprintf(fp, "random:    %.2f%% (expected accuracy of a random choice)\n",
                100 * s->all.random);
    if (s->seconds > 0)
        fprintf(fp, "speed:     %.2f items/s (%.1f s on %d thread%s)\n", s->items_per_s, s->seconds,
                s->threads, s->threads == 1 ? "" : "s");
    if (!s->n_groups) return;
    fprintf(fp, "\n  %-16s %6s %8s  %-17s %7s\n",
            b->format == TS_BENCH_SCIENCEQA ? "group" : "task", "n", "acc %", "95% CI", "random");
    for (int k = 0; k < s->n_groups; k++)
        row(fp, &s->groups[k], s->groups[k].name);
    if (s->n_groups > 1 || b->format == TS_BENCH_SCIENCEQA) row(fp, &s->all, "all");
    if (b->format == TS_BENCH_SCIENCEQA) {
        if (s->unknown_subject || s->unknown_grade)
            fprintf(fp, "  (subject unknown for %d, grade unknown for %d of the scored items)\n",
                    s->unknown_subject, s->unknown_grade);
        /* the paper's row, ready for a README table */
        fprintf(fp, "\n|");
        for (int k = 0; k < s->n_groups; k++)
            fprintf(fp, " %s |", s->groups[k].name);
        fprintf(fp, " Avg |\n|");
        for (int k = 0; k <= s->n_groups; k++)
            fprintf(fp, " --- |");
        fprintf(fp, "\n|");
        for (int k = 0; k < s->n_groups; k++) {
            if (s->groups[k].n)
                fprintf(fp, " %.2f |", 100 * s->groups[k].accuracy);
            else
                fprintf(fp, " - |");
        }
        if (s->n_scored)
            fprintf(fp, " %.2f |\n", 100 * s->all.accuracy);
        else
            fprintf(fp, " - |\n");
    } else if (s->no_task && s->n_groups) {
        fprintf(fp, "  (%d scored item%s without a task)\n", s->no_task,
                s->no_task == 1 ? "" : "s");
    }
}

/* ---- JSON ---------------------------------------------------------------------- */

static void put_num(FILE *fp, double v) {
    if (isfinite(v))
        fprintf(fp, "%.9g", v);
    else
        fputs("null", fp);
}

static void put_group(FILE *fp, const ts_eval_group *g) {
    fputs("{\"name\":", fp);
    ts_json_put_string(fp, g->name);
    fprintf(fp, ",\"n\":%d,\"correct\":%d,\"accuracy\":", g->n, g->correct);
    put_num(fp, g->n ? g->accuracy : NAN);
    fputs(",\"ci95\":[", fp);
    put_num(fp, g->n ? g->ci_lo : NAN);
    fputc(',', fp);
    put_num(fp, g->n ? g->ci_hi : NAN);
    fputs("],\"random_accuracy\":", fp);
    put_num(fp, g->n ? g->random : NAN);
    fputc('}', fp);
}

static void put_opt_string(FILE *fp, const char *s) {
    if (s)
        ts_json_put_string(fp, s);
    else
        fputs("null", fp);
}

ts_status ts_eval_write_json(const char *path, const ts_bench *b, const ts_eval_result *r,
                             const ts_eval_summary *s, const char *model, ts_score_mode mode) {
    ts_outfile o;
    ts_status st = ts_outfile_open(&o, path);
    if (st) return st;
    FILE *fp = o.fp;
    fputs("{\"benchmark\":", fp);
    ts_json_put_string(fp, b->path);
    fprintf(fp, ",\"format\":\"%s\",\"split\":", ts_bench_format_name(b->format));
    put_opt_string(fp, b->split);
    fputs(",\"model\":", fp);
    put_opt_string(fp, model);
    fprintf(fp,
            ",\"scoring\":\"%s\",\n\"summary\":{\"items\":%d,\"scored\":%d,\"errors\":%d,"
            "\"correct\":%d,\"accuracy\":",
            mode == TS_SCORE_SUM    ? "loglik"
            : mode == TS_SCORE_NORM ? "loglik_per_token"
                                    : "generate",
            s->n_items, s->n_scored, s->n_errors, s->all.correct);
    put_num(fp, s->n_scored ? s->all.accuracy : NAN);
    fputs(",\"ci95\":[", fp);
    put_num(fp, s->n_scored ? s->all.ci_lo : NAN);
    fputc(',', fp);
    put_num(fp, s->n_scored ? s->all.ci_hi : NAN);
    fputs("],\"random_accuracy\":", fp);
    put_num(fp, s->n_scored ? s->all.random : NAN);
    /* no timings here: the same run gives the same bytes (speed is in the
     * printed report) */
    fprintf(fp, ",\"threads\":%d,\"views\":%d,\"level_floor\":", s->threads,
            s->views > 1 ? s->views : 1);
    put_num(fp, s->level_floor > 0 ? s->level_floor : 0);
    fputs(",\"groups\":[", fp);
    for (int k = 0; k < s->n_groups; k++) {
        if (k) fputc(',', fp);
        put_group(fp, &s->groups[k]);
    }
    fputs("]},\n\"items\":[\n", fp);
    for (int i = 0; i < b->n_items; i++) {
        const ts_eval_item *it = &b->items[i];
        const ts_eval_result *ri = &r[i];
        fputs("{\"id\":", fp);
        ts_json_put_string(fp, it->id);
        if (it->line) fprintf(fp, ",\"line\":%d", it->line);
        if (it->task) fputs(",\"task\":", fp), ts_json_put_string(fp, it->task);
        if (it->subject) fputs(",\"subject\":", fp), ts_json_put_string(fp, it->subject);
        if (it->grade) fprintf(fp, ",\"grade\":%d", it->grade);
        if (it->n_choices >= 2 && !it->error)
            fprintf(fp, ",\"answer\":%d,\"n_choices\":%d", it->answer, it->n_choices);
        if (ri->error) {
            fputs(",\"error\":", fp);
            ts_json_put_string(fp, ri->error);
        } else {
            fprintf(fp, ",\"prediction\":%d,\"correct\":%s", ri->prediction,
                    ri->correct ? "true" : "false");
            if (ri->scores) {
                fputs(",\"scores\":[", fp);
                for (int k = 0; k < it->n_choices; k++) {
                    if (k) fputc(',', fp);
                    put_num(fp, ri->scores[k]);
                }
                fputs("],\"n_tokens\":[", fp);
                for (int k = 0; k < it->n_choices; k++)
                    fprintf(fp, "%s%d", k ? "," : "", ri->n_tokens[k]);
                fputc(']', fp);
            }
            if (ri->generated) {
                fputs(",\"generated\":", fp);
                ts_json_put_string(fp, ri->generated);
                fprintf(fp, ",\"match\":\"%s\"", ri->match ? ri->match : "none");
            }
        }
        fprintf(fp, "}%s\n", i + 1 < b->n_items ? "," : "");
    }
    fputs("]}\n", fp);
    return ts_outfile_commit(&o);
}
