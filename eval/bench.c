/* Benchmark readers: ScienceQA's problems.json (with pid_splits.json beside
 * it) and JSONL, one multiple-choice item per line. The format is found from
 * the content. An unusable item keeps its reason in item->error and the
 * rest of the file is still read; only a file that is no benchmark at all
 * fails. */
#include "tessera/eval.h"
#include "tessera/json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_BENCH_BYTES ((size_t)2 << 30)

const char *ts_bench_format_name(ts_bench_format f) {
    return f == TS_BENCH_SCIENCEQA ? "ScienceQA" : "JSONL";
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void item_clear(ts_eval_item *it) {
    free(it->id);
    free(it->question);
    free(it->hint);
    for (int i = 0; i < it->n_choices; i++)
        free(it->choices[i]);
    free(it->choices);
    for (int i = 0; i < it->n_media; i++)
        free(it->media_paths[i]);
    free(it->media_paths);
    free(it->media_kinds);
    free(it->task);
    free(it->subject);
    free(it->error);
    memset(it, 0, sizeof *it);
}

void ts_bench_free(ts_bench *b) {
    if (!b) return;
    for (int i = 0; i < b->n_items; i++)
        item_clear(&b->items[i]);
    free(b->items);
    free(b->path);
    free(b->split);
    free(b);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder part of path with a trailing '/', "" for a bare name. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* "grade7" (ScienceQA), "7", "G7" or 7 → 7; 0 when not a grade 1..12. */
static int parse_grade(const ts_json *g) {
    int64_t v;
    if (ts_json_is_int(g, &v)) return v >= 1 && v <= 12 ? (int)v : 0;
    if (!g || g->type != TS_JSON_STRING) return 0;
    const char *s = g->str;
    while (*s && (*s < '0' || *s > '9'))
        s++;
    if (!*s) return 0;
    long n = strtol(s, NULL, 10);
    return n >= 1 && n <= 12 ? (int)n : 0;
}

/* Sets the item's error (first one wins) and returns false. */
static bool item_fail(ts_eval_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool item_fail(ts_eval_item *it, const char *fmt, ...) {
    if (it->error) return false;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    it->error = xstrdup(buf);
    return false;
}

/* An optional string field: absent or null → NULL/ok; wrong type → error. */
static bool opt_string(ts_eval_item *it, const ts_json *obj, const char *key, const ts_json **out) {
    const ts_json *v = ts_json_get(obj, key);
    *out = NULL;
    if (!v || v->type == TS_JSON_NULL) return true;
    if (v->type != TS_JSON_STRING)
        return item_fail(it, "field '%s' is a %s, not a string", key, ts_json_type_name(v->type));
    *out = v;
    return true;
}

static bool add_media(ts_eval_item *it, ts_eval_media_kind kind, char *path, bool text_only) {
    if (!path) return item_fail(it, "out of memory");
    if (kind == TS_EVAL_IMAGE) it->has_image = true;
    if (text_only) {
        free(path);
        return true;
    }
    char **np = realloc(it->media_paths, (size_t)(it->n_media + 1) * sizeof *np);
    if (!np) {
        free(path);
        return item_fail(it, "out of memory");
    }
    it->media_paths = np;
    ts_eval_media_kind *nk = realloc(it->media_kinds, (size_t)(it->n_media + 1) * sizeof *nk);
    if (!nk) {
        free(path);
        return item_fail(it, "out of memory");
    }
    it->media_kinds = nk;
    it->media_paths[it->n_media] = path;
    it->media_kinds[it->n_media++] = kind;
    if (!is_file(path))
        return item_fail(it, "%s file missing: %s", kind == TS_EVAL_IMAGE ? "image" : "audio",
                         path);
    return true;
}

/* The fields both formats share: question, choices, answer, hint, subject,
 * grade, task. */
static bool read_common(ts_eval_item *it, const ts_json *o) {
    const ts_json *q = ts_json_get(o, "question");
    if (!q) return item_fail(it, "missing field 'question'");
    if (q->type != TS_JSON_STRING) return item_fail(it, "field 'question' is not a string");
    if (!(it->question = xstrdup(q->str))) return item_fail(it, "out of memory");

    const ts_json *c = ts_json_get(o, "choices");
    if (!c) return item_fail(it, "missing field 'choices'");
    if (c->type != TS_JSON_ARRAY) return item_fail(it, "field 'choices' is not an array");
    if (c->len < 2)
        return item_fail(it, "%zu choice%s: a multiple-choice item needs at least 2", c->len,
                         c->len == 1 ? "" : "s");
    if (c->len > 1000) return item_fail(it, "%zu choices: more than 1000", c->len);
    it->choices = calloc(c->len, sizeof *it->choices);
    if (!it->choices) return item_fail(it, "out of memory");
    for (size_t i = 0; i < c->len; i++) {
        const ts_json *ch = ts_json_at(c, i);
        if (ch->type != TS_JSON_STRING) {
            /* keep n_choices in step with what is allocated for item_clear */
            return item_fail(it, "choice %zu is a %s, not a string", i,
                             ts_json_type_name(ch->type));
        }
        if (!(it->choices[i] = xstrdup(ch->str))) return item_fail(it, "out of memory");
        it->n_choices = (int)i + 1;
    }

    const ts_json *a = ts_json_get(o, "answer");
    int64_t ans;
    if (!a) return item_fail(it, "missing field 'answer'");
    if (!ts_json_is_int(a, &ans)) return item_fail(it, "field 'answer' is not an integer index");
    if (ans < 0 || ans >= it->n_choices)
        return item_fail(it, "answer index %lld out of range for %d choices", (long long)ans,
                         it->n_choices);
    it->answer = (int)ans;

    const ts_json *h, *t, *s;
    if (!opt_string(it, o, "hint", &h) || !opt_string(it, o, "task", &t) ||
        !opt_string(it, o, "subject", &s))
        return false;
    if (!(it->hint = xstrdup(h ? h->str : ""))) return item_fail(it, "out of memory");
    it->has_text = it->hint[0] != '\0';
    if (t && t->len && !(it->task = xstrdup(t->str))) return item_fail(it, "out of memory");
    if (s && s->len && !(it->subject = xstrdup(s->str))) return item_fail(it, "out of memory");
    it->grade = parse_grade(ts_json_get(o, "grade"));
    return true;
}

/* ---- JSONL ------------------------------------------------------------------ */

static char *join_path(const char *dir, const char *rel) {
    if (rel[0] == '/') return xstrdup(rel);
    return xprintf("%s%s", dir, rel);
}

/* "image"/"audio": a path or an array of paths, relative to the file. */
static bool jsonl_media(ts_eval_item *it, const ts_json *o, const char *key,
                        ts_eval_media_kind kind, const char *dir, bool text_only) {
    const ts_json *v = ts_json_get(o, key);
    if (!v || v->type == TS_JSON_NULL) return true;
    if (v->type == TS_JSON_STRING) {
        if (!v->len) return true;
        return add_media(it, kind, join_path(dir, v->str), text_only);
    }
    if (v->type != TS_JSON_ARRAY)
        return item_fail(it, "field '%s' is not a path or a list of paths", key);
    for (size_t i = 0; i < v->len; i++) {
        const ts_json *p = ts_json_at(v, i);
        if (p->type != TS_JSON_STRING || !p->len)
            return item_fail(it, "field '%s' holds something that is not a path", key);
        if (!add_media(it, kind, join_path(dir, p->str), text_only)) return false;
    }
    return true;
}

static bool looks_like_item(const ts_json *o) {
    return o && o->type == TS_JSON_OBJECT &&
           (ts_json_get(o, "choices") || ts_json_get(o, "question"));
}

/* Fills it from one JSONL line (already parsed, or NULL with parse_err). */
static void jsonl_item(ts_eval_item *it, int line, const ts_json *o, const char *parse_err,
                       const char *dir, bool text_only) {
    it->line = line;
    if (o && o->type == TS_JSON_OBJECT) {
        const ts_json *id = ts_json_get(o, "id");
        int64_t n;
        if (id && id->type == TS_JSON_STRING && id->len)
            it->id = xstrdup(id->str);
        else if (ts_json_is_int(id, &n))
            it->id = xprintf("%lld", (long long)n);
        else if (!id)
            item_fail(it, "missing field 'id'");
        else if (id->type == TS_JSON_STRING)
            item_fail(it, "field 'id' is empty");
        else
            item_fail(it, "field 'id' is not a string or an integer");
    }
    if (!it->id) it->id = xprintf("line %d", line);
    if (parse_err) {
        item_fail(it, "malformed JSON: %s", parse_err);
        return;
    }
    if (!o || o->type != TS_JSON_OBJECT) {
        item_fail(it, "the line is a JSON %s, not an object",
                  o ? ts_json_type_name(o->type) : "value");
        return;
    }
    if (it->error) return;
    if (!read_common(it, o)) return;
    /* media in the order the format names them: images, then audio */
    if (!jsonl_media(it, o, "image", TS_EVAL_IMAGE, dir, text_only)) return;
    jsonl_media(it, o, "audio", TS_EVAL_AUDIO, dir, text_only);
}

static ts_status load_jsonl(ts_bench *b, const char *buf, size_t len, const ts_bench_options *o,
                            const char *full_err) {
    int limit = o ? o->limit : 0;
    bool text_only = o && o->text_only;
    char *dir = dir_of(b->path);
    if (!dir) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", b->path);
    int cap = 0, recognised = 0, lines_total = 0;
    ts_status st = TS_OK;
    size_t pos = 0;
    int line = 0;
    while (pos < len && (limit <= 0 || b->n_items < limit)) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        line++;
        size_t e = end;
        if (e > pos && buf[e - 1] == '\r') e--;
        size_t s = pos;
        pos = end + 1;
        /* blank lines are allowed (a trailing newline, spacing) */
        size_t k = s;
        while (k < e && (buf[k] == ' ' || buf[k] == '\t'))
            k++;
        if (k == e) continue;
        lines_total++;
        if (b->n_items == cap) {
            cap = cap ? cap * 2 : 256;
            ts_eval_item *ni = realloc(b->items, (size_t)cap * sizeof *ni);
            if (!ni) {
                st = ts_fail(TS_ERR_NOMEM, "%s: out of memory", b->path);
                break;
            }
            b->items = ni;
        }
        ts_eval_item *it = &b->items[b->n_items++];
        memset(it, 0, sizeof *it);
        ts_json_doc *doc = NULL;
        ts_json_options jo = {.first_line = line};
        ts_status ps = ts_json_parse_opts(buf + s, e - s, b->path, &jo, &doc);
        if (ps == TS_ERR_NOMEM) {
            st = ps;
            break;
        }
        const ts_json *root = ts_json_root(doc);
        if (looks_like_item(root)) recognised++;
        /* the parser's message is "path:line:col: problem"; keep "line:col: problem" */
        const char *msg = ps ? ts_last_error() + strlen(b->path) + 1 : NULL;
        jsonl_item(it, line, root, msg, dir, text_only);
        ts_json_free(doc);
        if (!it->id) {
            st = ts_fail(TS_ERR_NOMEM, "%s: out of memory", b->path);
            break;
        }
    }
    free(dir);
    if (st) return st;
    if (!recognised) {
        /* say why the file did not parse as one document: that is the more
         * useful message for a broken problems.json */
        if (full_err) return ts_fail(TS_ERR_INPUT, "%s", full_err);
        return ts_fail(TS_ERR_INPUT,
                       "%s: not a benchmark: neither a ScienceQA problems.json nor JSONL with an "
                       "object of \"question\" and \"choices\" on each line (%d line%s)",
                       b->path, lines_total, lines_total == 1 ? "" : "s");
    }
    return TS_OK;
}

/* ---- ScienceQA ------------------------------------------------------------- */

/* The pids of the split, from pid_splits.json beside the file or else from
 * each problem's "split" field. *pids holds pointers into the docs. */
static ts_status sqa_split_pids(ts_bench *b, const ts_json *problems, const char *dir,
                                ts_json_doc **splits_doc, const char ***pids, size_t *n_pids) {
    char *sp = xprintf("%spid_splits.json", dir);
    if (!sp) return ts_fail(TS_ERR_NOMEM, "out of memory");
    *pids = NULL;
    *n_pids = 0;
    if (is_file(sp)) {
        uint8_t *data;
        size_t len;
        ts_status st = ts_read_file(sp, MAX_BENCH_BYTES, &data, &len);
        if (!st) {
            st = ts_json_parse((const char *)data, len, sp, splits_doc);
            free(data);
        }
        if (st) {
            free(sp);
            return st;
        }
        const ts_json *root = ts_json_root(*splits_doc);
        if (root->type != TS_JSON_OBJECT) {
            st = ts_fail(TS_ERR_INPUT,
                         "%s: not a split file: expected an object of split name → pid list", sp);
            free(sp);
            return st;
        }
        const ts_json *list = ts_json_get(root, b->split);
        if (!list) {
            char names[512] = "";
            for (size_t i = 0; i < root->len && strlen(names) < 400; i++) {
                strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
                strncat(names, root->keys[i], sizeof names - strlen(names) - 1);
            }
            st = ts_fail(TS_ERR_USAGE, "%s: no split '%s' (it has: %s)", sp, b->split, names);
            free(sp);
            return st;
        }
        if (list->type != TS_JSON_ARRAY) {
            st = ts_fail(TS_ERR_INPUT, "%s: split '%s' is not a list of pids", sp, b->split);
            free(sp);
            return st;
        }
        free(sp);
        *pids = calloc(list->len ? list->len : 1, sizeof **pids);
        if (!*pids) return ts_fail(TS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < list->len; i++) {
            const ts_json *p = ts_json_at(list, i);
            /* numbers are allowed as pids; they are looked up by their text */
            (*pids)[(*n_pids)++] = p->type == TS_JSON_STRING ? p->str : NULL;
        }
        return TS_OK;
    }
    free(sp);
    /* no split file: the problems' own "split" fields */
    *pids = calloc(problems->len ? problems->len : 1, sizeof **pids);
    if (!*pids) return ts_fail(TS_ERR_NOMEM, "out of memory");
    bool any_field = false;
    for (size_t i = 0; i < problems->len; i++) {
        const ts_json *s = ts_json_get(&problems->items[i], "split");
        if (s && s->type == TS_JSON_STRING) {
            any_field = true;
            if (!strcmp(s->str, b->split)) (*pids)[(*n_pids)++] = problems->keys[i];
        }
    }
    if (!any_field)
        return ts_fail(TS_ERR_INPUT,
                       "%s: no pid_splits.json beside it and no \"split\" field in the problems",
                       b->path);
    if (!*n_pids)
        return ts_fail(TS_ERR_USAGE,
                       "%s: no problem is in split '%s' (and no pid_splits.json beside it)",
                       b->path, b->split);
    return TS_OK;
}

static void sqa_item(ts_eval_item *it, const char *pid, const ts_json *p, const char *split,
                     const char *dir, const char *images_dir, bool text_only) {
    if (!(it->id = xstrdup(pid))) return;
    if (!p) {
        item_fail(it, "pid listed in the split but not in problems.json");
        return;
    }
    if (p->type != TS_JSON_OBJECT) {
        item_fail(it, "problem is a JSON %s, not an object", ts_json_type_name(p->type));
        return;
    }
    if (!read_common(it, p)) return;
    const ts_json *img;
    if (!opt_string(it, p, "image", &img)) return;
    if (!img || !img->len) return;
    /* a file name inside images/<split>/<pid>/, nothing else */
    if (strchr(img->str, '/') || !strcmp(img->str, "..")) {
        item_fail(it, "field 'image' is not a plain file name: %s", img->str);
        return;
    }
    /* images sit under the problem's own split (minival pids live in val) */
    const ts_json *ps = ts_json_get(p, "split");
    const char *folder =
        ps && ps->type == TS_JSON_STRING && ps->len && !strchr(ps->str, '/') ? ps->str : split;
    char *path;
    if (images_dir) {
        path = xprintf("%s/%s/%s/%s", images_dir, folder, pid, img->str);
        if (path && !is_file(path)) {
            char *flat = xprintf("%s/%s/%s", images_dir, pid, img->str);
            if (flat && is_file(flat)) {
                free(path);
                path = flat;
            } else {
                free(flat);
            }
        }
    } else {
        path = xprintf("%simages/%s/%s/%s", dir, folder, pid, img->str);
    }
    add_media(it, TS_EVAL_IMAGE, path, text_only);
}

static ts_status load_scienceqa(ts_bench *b, const ts_json *problems, const ts_bench_options *o) {
    char *dir = dir_of(b->path);
    if (!dir) return ts_fail(TS_ERR_NOMEM, "out of memory");
    ts_json_doc *splits = NULL;
    const char **pids = NULL;
    size_t n_pids = 0;
    ts_status st = sqa_split_pids(b, problems, dir, &splits, &pids, &n_pids);
    if (!st) {
        size_t n = n_pids;
        if (o && o->limit > 0 && (size_t)o->limit < n) n = (size_t)o->limit;
        b->items = calloc(n ? n : 1, sizeof *b->items);
        if (!b->items) st = ts_fail(TS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !st && i < n; i++) {
            ts_eval_item *it = &b->items[b->n_items++];
            if (!pids[i]) {
                it->id = xprintf("split entry %zu", i);
                item_fail(it, "pid in pid_splits.json is not a string");
            } else {
                sqa_item(it, pids[i], ts_json_get(problems, pids[i]), b->split, dir,
                         o ? o->images_dir : NULL, o && o->text_only);
            }
            if (!it->id) st = ts_fail(TS_ERR_NOMEM, "out of memory");
        }
    }
    free(pids);
    ts_json_free(splits);
    free(dir);
    return st;
}

static bool looks_like_scienceqa(const ts_json *root) {
    if (root->type != TS_JSON_OBJECT) return false;
    for (size_t i = 0; i < root->len; i++)
        if (looks_like_item(&root->items[i])) return true;
    return false;
}

ts_status ts_bench_load(const char *path, const ts_bench_options *o, ts_bench **out) {
    *out = NULL;
    ts_bench *b = calloc(1, sizeof *b);
    if (!b || !(b->path = xstrdup(path))) {
        free(b);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    uint8_t *data;
    size_t len;
    ts_status st = ts_read_file(path, MAX_BENCH_BYTES, &data, &len);
    if (st) {
        ts_bench_free(b);
        return st;
    }
    /* One JSON document for the whole file: ScienceQA (pid → problem), or a
     * one-line JSONL. Otherwise JSONL, line by line. */
    ts_json_doc *doc = NULL;
    ts_status ps = len ? ts_json_parse((const char *)data, len, path, &doc) : TS_ERR_INPUT;
    char *full_err = NULL;
    if (ps == TS_ERR_NOMEM) {
        st = ps;
    } else if (!len) {
        st = ts_fail(TS_ERR_INPUT, "%s: empty file, not a benchmark", path);
    } else if (!ps && looks_like_scienceqa(ts_json_root(doc))) {
        b->format = TS_BENCH_SCIENCEQA;
        if (!(b->split = xstrdup(o && o->split ? o->split : "test")))
            st = ts_fail(TS_ERR_NOMEM, "out of memory");
        else
            st = load_scienceqa(b, ts_json_root(doc), o);
    } else if (!ps && !looks_like_item(ts_json_root(doc))) {
        st = ts_fail(TS_ERR_INPUT,
                     "%s: not a benchmark: a JSON %s, neither a ScienceQA problems.json "
                     "(pid → {question, choices, answer, ...}) nor JSONL items",
                     path, ts_json_type_name(ts_json_root(doc)->type));
    } else {
        if (ps)
            full_err =
                xprintf("%s: not a benchmark (neither ScienceQA problems.json nor JSONL): %s", path,
                        ts_last_error() + strlen(path) + 1);
        b->format = TS_BENCH_JSONL;
        st = load_jsonl(b, (const char *)data, len, o, full_err);
    }
    free(full_err);
    ts_json_free(doc);
    free(data);
    if (st) {
        ts_bench_free(b);
        return st;
    }
    *out = b;
    return TS_OK;
}
