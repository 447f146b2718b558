/* Running a benchmark: every item scored on the pool's workers (item i on
 * worker i % threads, results stored at index i, so the output does not
 * depend on timing), the prediction taken from the scores or from a
 * generated text matched to an option. */
#include "tessera/eval.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const char *ts_score_mode_name(ts_score_mode m) {
    switch (m) {
    case TS_SCORE_SUM:
        return "log-likelihood";
    case TS_SCORE_NORM:
        return "log-likelihood per token";
    case TS_SCORE_GENERATE:
        return "generate and match";
    }
    return "?";
}

void ts_scorer_free(ts_scorer *s) {
    if (!s) return;
    if (s->free) s->free(s->ctx);
    free(s);
}

/* ---- matching a generated text to an option ---------------------------------- */

/* Lower case, punctuation as spaces, runs of spaces as one, no ends:
 * "  The Sun!" -> "the sun". Bytes >= 0x80 (UTF-8) are kept as they are. */
static char *normalize(const char *s) {
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && !isalnum(c)) {
            space = k > 0;
            continue;
        }
        if (space) o[k++] = ' ';
        space = false;
        o[k++] = c < 0x80 ? (char)tolower(c) : (char)c;
    }
    o[k] = '\0';
    return o;
}

/* Words of a normalised string, in place: returns the count, starts in w. */
static int split_words(char *s, char **w, int max) {
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, " ", &save); t && n < max;
         t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    return n;
}

/* F1 between the word multisets of a and b (normalised strings). */
static double word_f1(const char *a, const char *b) {
    enum { MAXW = 256 };
    char *ca = malloc(strlen(a) + 1), *cb = malloc(strlen(b) + 1);
    char **wa = malloc(MAXW * sizeof *wa), **wb = malloc(MAXW * sizeof *wb);
    bool *used = calloc(MAXW, 1);
    double f1 = 0;
    if (ca && cb && wa && wb && used) {
        strcpy(ca, a);
        strcpy(cb, b);
        int na = split_words(ca, wa, MAXW), nb = split_words(cb, wb, MAXW);
        int common = 0;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                if (!used[j] && !strcmp(wa[i], wb[j])) {
                    used[j] = true;
                    common++;
                    break;
                }
        if (common) {
            double p = (double)common / na, r = (double)common / nb;
            f1 = 2 * p * r / (p + r);
        }
    }
    free(ca), free(cb), free(wa), free(wb), free(used);
    return f1;
}

/* "B", "(B)", "B.", "B)" alone, or "(B) ..." / "B. ..." at the start: the
 * option letter; -1 otherwise. */
static int letter_of(const char *text, int n) {
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    bool paren = *s == '(';
    if (paren) s++;
    if (!(*s >= 'A' && *s <= 'Z')) return -1;
    int idx = *s - 'A';
    s++;
    if (paren) {
        if (*s != ')') return -1;
    } else if (*s != '.' && *s != ')' && *s != ':') {
        /* a bare letter must stand alone ("B", not "Blue") */
        while (isspace((unsigned char)*s))
            s++;
        if (*s) return -1;
    }
    return idx < n ? idx : -1;
}

int ts_eval_match_choice(const char *text, const char *const *choices, int n, const char **how) {
    const char *h = "none";
    int best = -1;
    for (int i = 0; i < n && best < 0; i++)
        if (!strcmp(text, choices[i])) best = i, h = "exact";
    char *nt = best < 0 ? normalize(text) : NULL;
    if (best < 0 && nt) {
        for (int i = 0; i < n && best < 0; i++) {
            char *nc = normalize(choices[i]);
            if (nc && !strcmp(nt, nc) && nc[0]) best = i, h = "normalized";
            free(nc);
        }
        if (best < 0 && (best = letter_of(text, n)) >= 0) h = "letter";
        if (best < 0) {
            double best_f1 = 0;
            for (int i = 0; i < n; i++) {
                char *nc = normalize(choices[i]);
                double f = nc ? word_f1(nt, nc) : 0;
                free(nc);
                if (f > best_f1) best_f1 = f, best = i, h = "overlap";
            }
        }
    }
    free(nt);
    if (how) *how = h;
    return best;
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct {
    const ts_bench *b;
    const ts_scorer *sc;
    const ts_eval_options *o;
    ts_eval_result *res;
    pthread_mutex_t mu;
    int done, scored, correct;
} run_ctx;

static char *dup_error(const char *msg) {
    size_t n = strlen(msg) + 1;
    char *e = malloc(n);
    if (e) memcpy(e, msg, n);
    return e;
}

static void eval_one(const run_ctx *c, int i, int worker) {
    const ts_eval_item *it = &c->b->items[i];
    ts_eval_result *r = &c->res[i];
    r->prediction = -1;
    if (it->error) {
        r->error = dup_error(it->error);
        return;
    }
    double t0 = ts_now();
    ts_status st;
    if (c->o->mode == TS_SCORE_GENERATE) {
        if (!c->sc->generate) {
            r->error = dup_error("the scorer cannot generate");
            return;
        }
        ts_clear_error();
        st = c->sc->generate(c->sc->ctx, worker, it, &r->generated);
        if (!st)
            r->prediction = ts_eval_match_choice(r->generated, (const char *const *)it->choices,
                                                 it->n_choices, &r->match);
    } else {
        r->scores = calloc((size_t)it->n_choices, sizeof *r->scores);
        r->n_tokens = calloc((size_t)it->n_choices, sizeof *r->n_tokens);
        if (!r->scores || !r->n_tokens) {
            r->error = dup_error("out of memory");
            return;
        }
        ts_clear_error();
        st = c->sc->score(c->sc->ctx, worker, it, r->scores, r->n_tokens);
        if (!st) {
            /* the highest score wins; a tie goes to the earlier option */
            double best = -INFINITY;
            for (int k = 0; k < it->n_choices; k++) {
                double v = r->scores[k];
                if (c->o->mode == TS_SCORE_NORM)
                    v = r->n_tokens[k] > 0 ? v / r->n_tokens[k] : -INFINITY;
                if (!isnan(v) && (r->prediction < 0 || v > best)) best = v, r->prediction = k;
            }
            if (r->prediction < 0) st = ts_fail(TS_ERR_INTERNAL, "no option got a score");
        }
    }
    if (st) {
        r->error = dup_error(ts_last_error());
        r->prediction = -1;
        free(r->scores);
        free(r->n_tokens);
        r->scores = NULL;
        r->n_tokens = NULL;
    }
    r->correct = !r->error && r->prediction == it->answer;
    r->seconds = ts_now() - t0;
}

static void run_task(void *vctx, int i, int count, int worker) {
    run_ctx *c = vctx;
    eval_one(c, i, worker);
    const ts_eval_result *r = &c->res[i];
    pthread_mutex_lock(&c->mu);
    c->done++;
    if (!r->error) c->scored++;
    if (r->correct) c->correct++;
    if (c->o->on_item)
        c->o->on_item(c->o->user, &c->b->items[i], r, c->done, count, c->scored, c->correct);
    pthread_mutex_unlock(&c->mu);
}

ts_status ts_eval_run(const ts_bench *b, const ts_scorer *sc, const ts_eval_options *o,
                      ts_eval_result **results) {
    *results = NULL;
    if (!sc || !sc->score) return ts_fail(TS_ERR_USAGE, "eval: no scorer");
    ts_eval_options defaults = {0};
    if (!o) o = &defaults;
    ts_eval_result *res = calloc(b->n_items ? (size_t)b->n_items : 1, sizeof *res);
    if (!res) return ts_fail(TS_ERR_NOMEM, "out of memory for %d results", b->n_items);
    run_ctx c = {.b = b, .sc = sc, .o = o, .res = res};
    pthread_mutex_init(&c.mu, NULL);
    ts_pool_run(o->pool, b->n_items, run_task, &c);
    pthread_mutex_destroy(&c.mu);
    *results = res;
    return TS_OK;
}

void ts_eval_results_free(ts_eval_result *r, int n) {
    if (!r) return;
    for (int i = 0; i < n; i++) {
        free(r[i].scores);
        free(r[i].n_tokens);
        free(r[i].generated);
        free(r[i].error);
    }
    free(r);
}
