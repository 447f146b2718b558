/* eval/ with a real (tiny, random) model: a GGUF holding a tokenizer, a
 * VQ-VAE and a decoder is made here; each option's score must equal the
 * log-likelihood worked out by hand from the decoder's logits over the
 * sequence the template must produce (media codes, the multiple-choice
 * prompt, the answer, <eos>), written out token by token in this file.
 * Also: generation, determinism over threads, and the `tessera eval`
 * command end to end (exit codes, report, --json, errors on stderr). */
#include "fusion/views.h"
#include "tessera.h"
#include "tessera/vqvae.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *dir;
    char model[1100];
    ts_bpe *tok;
    ts_vocab vocab;
    ts_model *m;
    ts_vq *vq;
} fixture;

static void write_str(const char *path, const char *s) { tu_write_file(path, s, strlen(s)); }

/* 0.5 s of a 440 Hz tone, 16-bit mono PCM at 16 kHz, as a WAV file. */
static void write_wav(const char *path) {
    enum { N = 8000 };
    unsigned char *b = malloc(44 + 2 * N);
    uint32_t v32;
    uint16_t v16;
    memcpy(b, "RIFF", 4);
    v32 = 36 + 2 * N, memcpy(b + 4, &v32, 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    v32 = 16, memcpy(b + 16, &v32, 4);
    v16 = 1, memcpy(b + 20, &v16, 2); /* PCM */
    v16 = 1, memcpy(b + 22, &v16, 2); /* mono */
    v32 = 16000, memcpy(b + 24, &v32, 4);
    v32 = 32000, memcpy(b + 28, &v32, 4);
    v16 = 2, memcpy(b + 32, &v16, 2);
    v16 = 16, memcpy(b + 34, &v16, 2);
    memcpy(b + 36, "data", 4);
    v32 = 2 * N, memcpy(b + 40, &v32, 4);
    for (int i = 0; i < N; i++) {
        int16_t s = (int16_t)(8000 * sin(2 * M_PI * 440 * i / 16000.0));
        memcpy(b + 44 + 2 * i, &s, 2);
    }
    tu_write_file(path, b, 44 + 2 * N);
    free(b);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    const char *text = "the cat sat on the mat. the dog ran to the sun. which one is red? "
                       "a red apple and a blue sky. (A) (B) (C) Context: yes no";
    const uint8_t *texts[] = {(const uint8_t *)text};
    size_t lens[] = {strlen(text)};
    assert_int_equal(ts_bpe_train_mem(texts, lens, 1, 300, NULL, NULL, &f->tok), TS_OK);
    ts_vq_config vc = ts_vq_default_config();
    vc.codebook_size = 16, vc.dim = 8, vc.image_hidden = 8, vc.image_res_blocks = 1;
    vc.audio_hidden = 8, vc.audio_res_blocks = 1;
    assert_int_equal(ts_vq_new(&vc, 3, &f->vq), TS_OK);
    ts_vocab_init(&f->vocab, ts_bpe_n_text(f->tok), vc.codebook_size);
    ts_model_config mc = ts_model_config_default(f->vocab.n_vocab);
    mc.d_model = 32, mc.n_heads = 2, mc.head_dim = 16, mc.n_layers = 2, mc.ffn_hidden = 32;
    mc.n_experts = 4, mc.n_experts_used = 2, mc.expert_hidden = 16, mc.context = 256;
    assert_int_equal(ts_model_new(&mc, 11, &f->m), TS_OK);
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_bpe_save(f->tok, vc.codebook_size, w), TS_OK);
    ts_vocab_write(&f->vocab, w);
    assert_int_equal(ts_model_add_to_gguf(f->m, w), TS_OK);
    assert_int_equal(ts_vq_add_to_gguf(f->vq, w), TS_OK);
    snprintf(f->model, sizeof f->model, "%s/tiny.gguf", f->dir);
    assert_int_equal(ts_gguf_write(w, f->model), TS_OK);
    ts_gguf_writer_free(w);

    /* media: a PNG, a WAV, a file that is neither */
    uint8_t px[8 * 6 * 3];
    for (int i = 0; i < (int)sizeof px; i++)
        px[i] = (uint8_t)(i * 37 % 251);
    assert_int_equal(ts_png_write(tu_path(f->dir, "pic.png"), px, 8, 6, 3), TS_OK);
    write_wav(tu_path(f->dir, "tone.wav"));
    write_str(tu_path(f->dir, "bad.png"), "this is not an image at all");
    write_str(tu_path(f->dir, "bench.jsonl"),
              "{\"id\":\"t1\",\"question\":\"Which one is red?\",\"choices\":[\"a red apple\",\"a "
              "blue sky\"],\"answer\":0,\"task\":\"text\"}\n"
              "{\"id\":\"i1\",\"question\":\"the cat?\",\"hint\":\"the "
              "mat\",\"choices\":[\"yes\",\"no\",\"the "
              "sun\"],\"answer\":2,\"image\":\"pic.png\",\"task\":\"image\"}\n"
              "{\"id\":\"a1\",\"question\":\"the "
              "dog?\",\"choices\":[\"ran\",\"sat\"],\"answer\":1,\"audio\":\"tone.wav\",\"task\":"
              "\"audio\"}\n"
              "{\"id\":\"bad\",\"question\":\"q\",\"choices\":[\"x\",\"y\"],\"answer\":0,\"image\":"
              "\"bad.png\",\"task\":\"image\"}\n"
              "{\"id\":\"gone\",\"question\":\"q\",\"choices\":[\"x\",\"y\"],\"answer\":0,"
              "\"image\":\"nope.png\"}\n"
              "not json at all\n");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ts_bpe_free(f->tok);
    ts_model_free(f->m);
    ts_vq_free(f->vq);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- the hand-made sequence and its log-likelihood ------------------------- */

typedef struct {
    int32_t *ids;
    size_t n, cap;
} ids_buf;

static void push(ids_buf *b, int32_t id) {
    if (b->n == b->cap)
        b->ids = realloc(b->ids, (b->cap = b->cap ? b->cap * 2 : 256) * sizeof *b->ids);
    b->ids[b->n++] = id;
}

static void push_text(fixture *f, ids_buf *b, const char *s) {
    assert_int_equal(ts_bpe_encode(f->tok, s, strlen(s), &b->ids, &b->n, &b->cap), TS_OK);
}

/* log p(answer <eos> | <bos> media <user> prompt <assistant>), from the
 * logits with a log-softmax in double precision. */
static double hand_loglik(fixture *f, const int32_t *media_codes, int n_codes, bool audio,
                          const char *prompt, const char *answer, int *count) {
    ids_buf b = {0};
    const ts_vocab *v = &f->vocab;
    push(&b, ts_vocab_special(v, TS_TOK_BOS));
    if (n_codes) {
        push(&b, ts_vocab_special(v, audio ? TS_TOK_AUD : TS_TOK_IMG));
        for (int i = 0; i < n_codes; i++)
            push(&b, v->code_base + media_codes[i]);
        push(&b, ts_vocab_special(v, audio ? TS_TOK_AUD_END : TS_TOK_IMG_END));
    }
    push(&b, ts_vocab_special(v, TS_TOK_USER));
    push_text(f, &b, prompt);
    push(&b, ts_vocab_special(v, TS_TOK_ASSISTANT));
    size_t start = b.n;
    push_text(f, &b, answer);
    push(&b, ts_vocab_special(v, TS_TOK_EOS));
    int V = v->n_vocab, n = (int)b.n;
    float *logits = malloc(sizeof(float) * (size_t)n * V);
    assert_int_equal(ts_model_logits(f->m, b.ids, n, logits), TS_OK);
    double lp = 0;
    for (int i = (int)start; i < n; i++) {
        const float *row = logits + (size_t)(i - 1) * V;
        double mx = -INFINITY, z = 0;
        for (int k = 0; k < V; k++)
            mx = fmax(mx, row[k]);
        for (int k = 0; k < V; k++)
            z += exp((double)row[k] - mx);
        lp += (double)row[b.ids[i]] - mx - log(z);
    }
    *count = n - (int)start;
    free(logits);
    free(b.ids);
    return lp;
}

static void test_scores_match_hand_computed(void **state) {
    fixture *f = *state;
    ts_bench *b;
    assert_int_equal(ts_bench_load(tu_path(f->dir, "bench.jsonl"), NULL, &b), TS_OK);
    assert_int_equal(b->n_items, 6);
    ts_scorer *sc;
    assert_int_equal(ts_eval_model_scorer_new(f->model, 2, &sc), TS_OK);
    ts_pool *pool = ts_pool_new(2);
    ts_eval_options eo = {.mode = TS_SCORE_SUM, .pool = pool};
    ts_eval_result *r;
    assert_int_equal(ts_eval_run(b, sc, &eo, &r), TS_OK);

    /* the image's codes and the clip's, straight from the front ends */
    float x[3 * 32 * 32];
    int32_t img_codes[64];
    assert_int_equal(ts_image_load_input_file(tu_path(f->dir, "pic.png"), 32, TS_FIT_STRETCH, x),
                     TS_OK);
    assert_int_equal(ts_vq_encode_images(f->vq, NULL, x, 1, img_codes), TS_OK);
    /* the clip: 8000 samples padded to whole codes (4 frames of 160) = 8320,
     * so 52 log-mel frames and 13 codes */
    float *pcm, *mel, *padded = calloc(8320, sizeof(float));
    size_t np;
    int T;
    assert_int_equal(ts_audio_load_file(tu_path(f->dir, "tone.wav"), &pcm, &np), TS_OK);
    assert_int_equal(np, 8000);
    memcpy(padded, pcm, sizeof(float) * np);
    assert_int_equal(ts_logmel(padded, 8320, 1, &mel, &T), TS_OK);
    assert_int_equal(T, 52);
    int32_t aud_codes[13];
    assert_int_equal(ts_vq_encode_audio(f->vq, NULL, mel, 1, T, aud_codes), TS_OK);
    for (int i = 0; i < 13; i++)
        assert_true(aud_codes[i] >= 0 && aud_codes[i] < 16);
    free(pcm), free(mel), free(padded);

    /* the prompts as DESIGN.md writes them */
    const char *p_t1 = "Which one is red?\n(A) a red apple\n(B) a blue sky";
    const char *p_i1 = "the cat?\nContext: the mat\n(A) yes\n(B) no\n(C) the sun";
    const char *p_a1 = "the dog?\n(A) ran\n(B) sat";
    struct {
        int item;
        const char *prompt;
        const int32_t *codes;
        int n_codes;
        bool audio;
    } cases[] = {
        {0, p_t1, NULL, 0, false}, {1, p_i1, img_codes, 64, false}, {2, p_a1, aud_codes, 13, true}};
    for (int c = 0; c < 3; c++) {
        const ts_eval_item *it = &b->items[cases[c].item];
        const ts_eval_result *ri = &r[cases[c].item];
        if (ri->error) fail_msg("%s: %s", it->id, ri->error);
        int best = 0;
        double best_lp = -INFINITY;
        for (int k = 0; k < it->n_choices; k++) {
            int cnt;
            double lp = hand_loglik(f, cases[c].codes, cases[c].n_codes, cases[c].audio,
                                    cases[c].prompt, it->choices[k], &cnt);
            if (fabs(ri->scores[k] - lp) > 1e-4 * fmax(1, fabs(lp)))
                fail_msg("%s option %d: scored %.6f, by hand %.6f", it->id, k, ri->scores[k], lp);
            assert_int_equal(ri->n_tokens[k], cnt);
            assert_true(lp < 0);
            if (lp > best_lp) best_lp = lp, best = k;
        }
        assert_int_equal(ri->prediction, best);
        assert_int_equal(ri->correct, best == it->answer);
    }
    /* corrupt and missing media are that item's errors; the rest went on */
    assert_non_null(r[3].error);
    assert_non_null(strstr(r[3].error, "bad.png"));
    assert_non_null(strstr(r[4].error, "image file missing"));
    assert_non_null(strstr(r[5].error, "malformed JSON"));

    /* one thread gives the same numbers, bit for bit */
    ts_pool *one = ts_pool_new(1);
    eo.pool = one;
    ts_eval_result *r1;
    assert_int_equal(ts_eval_run(b, sc, &eo, &r1), TS_OK);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < b->items[i].n_choices; k++)
            assert_true(r1[i].scores[k] == r[i].scores[k]);
    ts_eval_results_free(r1, b->n_items);
    ts_pool_free(one);

    /* generation: greedy, so repeatable; the prediction is the match of the text */
    eo = (ts_eval_options){.mode = TS_SCORE_GENERATE, .pool = pool};
    ts_eval_result *g1, *g2;
    assert_int_equal(ts_eval_run(b, sc, &eo, &g1), TS_OK);
    assert_int_equal(ts_eval_run(b, sc, &eo, &g2), TS_OK);
    for (int i = 0; i < 3; i++) {
        assert_null(g1[i].error);
        assert_non_null(g1[i].generated);
        assert_string_equal(g1[i].generated, g2[i].generated);
        assert_int_equal(g1[i].prediction,
                         ts_eval_match_choice(g1[i].generated,
                                              (const char *const *)b->items[i].choices,
                                              b->items[i].n_choices, NULL));
    }
    ts_eval_results_free(g1, b->n_items);
    ts_eval_results_free(g2, b->n_items);
    ts_eval_results_free(r, b->n_items);
    ts_pool_free(pool);
    ts_scorer_free(sc);
    ts_bench_free(b);
}

/* With views, an option's score is the mean of its log-likelihoods over
 * the views' codes (the picture moved by a pixel, the clip delayed), each
 * worked out by hand; a text item has one view; bad view counts fail. */
static void test_views_score_the_mean(void **state) {
    fixture *f = *state;
    enum { K = 3 };
    ts_bench *b;
    assert_int_equal(ts_bench_load(tu_path(f->dir, "bench.jsonl"), NULL, &b), TS_OK);
    ts_scorer *sc, *plain;
    assert_int_equal(ts_eval_model_scorer_new_views(f->model, 2, K, 0, &sc), TS_OK);
    assert_int_equal(ts_eval_model_scorer_new(f->model, 2, &plain), TS_OK);
    ts_pool *pool = ts_pool_new(2);
    ts_eval_options eo = {.mode = TS_SCORE_SUM, .pool = pool};
    ts_eval_result *r, *r1;
    assert_int_equal(ts_eval_run(b, sc, &eo, &r), TS_OK);
    assert_int_equal(ts_eval_run(b, plain, &eo, &r1), TS_OK);

    float x[3 * 32 * 32], xv[3 * 32 * 32];
    int32_t img_codes[K][64];
    assert_int_equal(ts_image_load_input_file(tu_path(f->dir, "pic.png"), 32, TS_FIT_STRETCH, x),
                     TS_OK);
    float *pcm, *mel, *padded = calloc(8320, sizeof(float));
    size_t np;
    int T;
    assert_int_equal(ts_audio_load_file(tu_path(f->dir, "tone.wav"), &pcm, &np), TS_OK);
    memcpy(padded, pcm, sizeof(float) * np);
    assert_int_equal(ts_logmel(padded, 8320, 1, &mel, &T), TS_OK);
    float *mv = malloc(sizeof *mv * (size_t)TS_N_MELS * T);
    int32_t aud_codes[K][13];
    for (int v = 0; v < K; v++) {
        view_image(x, 32, v, xv);
        assert_int_equal(ts_vq_encode_images(f->vq, NULL, xv, 1, img_codes[v]), TS_OK);
        view_mel(mel, TS_N_MELS, T, v, mv);
        assert_int_equal(ts_vq_encode_audio(f->vq, NULL, mv, 1, T, aud_codes[v]), TS_OK);
    }
    free(pcm), free(mel), free(padded), free(mv);

    const char *p_i1 = "the cat?\nContext: the mat\n(A) yes\n(B) no\n(C) the sun";
    const char *p_a1 = "the dog?\n(A) ran\n(B) sat";
    for (int item = 1; item <= 2; item++) {
        const ts_eval_item *it = &b->items[item];
        if (r[item].error) fail_msg("%s: %s", it->id, r[item].error);
        for (int k = 0; k < it->n_choices; k++) {
            double mean = 0;
            int cnt;
            double lp[K];
            for (int v = 0; v < K; v++) {
                lp[v] = hand_loglik(f, item == 1 ? img_codes[v] : aud_codes[v], item == 1 ? 64 : 13,
                                    item == 2, item == 1 ? p_i1 : p_a1, it->choices[k], &cnt);
                mean += lp[v] / K;
            }
            /* the moved pictures read differently, so the mean is what is tested */
            if (item == 1) assert_true(fabs(lp[1] - lp[0]) > 1e-4 && fabs(lp[2] - lp[0]) > 1e-4);
            /* float scoring against double by hand: a few 1e-7; the views
             * of the picture differ by about 5e-4 */
            if (fabs(r[item].scores[k] - mean) > 1e-6 * fmax(1, fabs(mean)))
                fail_msg("%s option %d: scored %.6f, mean by hand %.6f", it->id, k,
                         r[item].scores[k], mean);
            assert_int_equal(r[item].n_tokens[k], cnt);
        }
    }
    /* the text item is scored as without views, bit for bit */
    for (int k = 0; k < b->items[0].n_choices; k++)
        assert_true(r[0].scores[k] == r1[0].scores[k]);
    /* generation from all views runs and repeats */
    eo.mode = TS_SCORE_GENERATE;
    ts_eval_result *g1, *g2;
    assert_int_equal(ts_eval_run(b, sc, &eo, &g1), TS_OK);
    assert_int_equal(ts_eval_run(b, sc, &eo, &g2), TS_OK);
    for (int i = 0; i < 3; i++) {
        assert_null(g1[i].error);
        assert_string_equal(g1[i].generated, g2[i].generated);
    }
    ts_eval_results_free(g1, b->n_items);
    ts_eval_results_free(g2, b->n_items);
    ts_eval_results_free(r, b->n_items);
    ts_eval_results_free(r1, b->n_items);
    ts_scorer_free(sc);
    ts_scorer_free(plain);
    ts_pool_free(pool);
    ts_bench_free(b);
    assert_int_equal(ts_eval_model_scorer_new_views(f->model, 1, 0, 0, &sc), TS_ERR_USAGE);
    assert_int_equal(ts_eval_model_scorer_new_views(f->model, 1, TS_MAX_VIEWS + 1, 0, &sc),
                     TS_ERR_USAGE);
}

static void test_scorer_bad_model(void **state) {
    fixture *f = *state;
    ts_scorer *sc = (ts_scorer *)1;
    assert_int_equal(ts_eval_model_scorer_new(tu_path(f->dir, "none.gguf"), 1, &sc), TS_ERR_INPUT);
    assert_null(sc);
    assert_non_null(strstr(ts_last_error(), "none.gguf"));
    /* a file with the decoder alone: no tokenizer, named as missing */
    assert_int_equal(ts_model_save(f->m, tu_path(f->dir, "dec.gguf")), TS_OK);
    assert_int_equal(ts_eval_model_scorer_new(tu_path(f->dir, "dec.gguf"), 1, &sc), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "dec.gguf"));
}

/* ---- the command ------------------------------------------------------------ */

static void test_cli(void **state) {
    fixture *f = *state;
    const char *bench = tu_path(f->dir, "bench.jsonl");
    const char *json = tu_path(f->dir, "out.json");
    tu_run_result r = tu_run("eval '%s' -m '%s' -t 2 -q --json '%s'", bench, f->model, json);
    if (r.code != 0) fail_msg("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err);
    assert_non_null(strstr(r.out, "items:     6 (3 scored, 3 errors)"));
    assert_non_null(strstr(r.out, "accuracy:  "));
    assert_non_null(strstr(r.out, "random:    44.44%")); /* (1/2 + 1/3 + 1/2) / 3 */
    assert_non_null(strstr(r.out, "  audio "));
    assert_non_null(strstr(r.out, "on 2 threads"));
    /* each skipped item once on stderr: file, line, id, reason */
    assert_non_null(strstr(r.err, "bench.jsonl:4: item bad skipped: "));
    assert_non_null(strstr(r.err, "bench.jsonl:5: item gone skipped: image file missing"));
    assert_non_null(strstr(r.err, "bench.jsonl:6: item line 6 skipped: malformed JSON: 6:1:"));
    assert_non_null(
        strstr(r.err, "tessera eval: 1 item skipped for a missing image or audio file"));
    assert_int_equal(tu_count_lines(r.err), 4);
    size_t jl;
    char *js = tu_read_file(json, &jl);
    ts_json_doc *doc;
    assert_int_equal(ts_json_parse(js, jl, "out.json", &doc), TS_OK);
    const ts_json *sum = ts_json_get(ts_json_root(doc), "summary");
    assert_true(ts_json_get(sum, "scored")->number == 3 && ts_json_get(sum, "errors")->number == 3);
    assert_int_equal(ts_json_get(ts_json_root(doc), "items")->len, 6);
    ts_json_free(doc);
    free(js);
    tu_run_free(&r);

    /* the same run writes the same bytes; 1 thread the same but for "threads" */
    const char *json2 = tu_path(f->dir, "out2.json"), *json1 = tu_path(f->dir, "out1.json");
    r = tu_run("eval '%s' -m '%s' -t 2 -q --json '%s'", bench, f->model, json2);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    r = tu_run("eval '%s' -m '%s' -t 1 -q --json '%s'", bench, f->model, json1);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    char *a = tu_read_file(json, NULL), *b2 = tu_read_file(json2, NULL),
         *b1 = tu_read_file(json1, NULL);
    assert_string_equal(a, b2);
    char *th = strstr(b1, "\"threads\":1");
    assert_non_null(th);
    th[10] = '2';
    assert_string_equal(a, b1);
    free(a), free(b1), free(b2);

    /* the default reads media in TS_DEFAULT_VIEWS views: the same bytes as
     * asking for them; one view scores the image item otherwise */
    char *dflt = tu_read_file(json, NULL);
    assert_non_null(strstr(dflt, "\"views\":9"));
    r = tu_run("eval '%s' -m '%s' -t 2 -q --views %d --json '%s'", bench, f->model,
               TS_DEFAULT_VIEWS, json2);
    assert_int_equal(r.code, 0);
    assert_non_null(
        strstr(r.out, "scoring:   log-likelihood (media read in 9 views, clips below a peak of 0.3 "
                      "brought up to it)\n"));
    tu_run_free(&r);
    a = tu_read_file(json2, NULL);
    assert_string_equal(a, dflt);
    free(a);
    r = tu_run("eval '%s' -m '%s' -t 2 -q --views 1 --level-floor 0 --json '%s'", bench, f->model,
               json1);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "scoring:   log-likelihood\n"));
    tu_run_free(&r);
    a = tu_read_file(json1, NULL);
    assert_non_null(strstr(a, "\"views\":1,\"level_floor\":0,"));
    assert_non_null(strstr(dflt, "\"views\":9,\"level_floor\":0.3,"));
    assert_string_not_equal(a, dflt);
    free(a), free(dflt);
    r = tu_run("eval '%s' -m '%s' --views 10", bench, f->model);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);

    /* per-token scores and generation through the command */
    tu_run_result r1 = tu_run("eval '%s' -m '%s' -t 1 -q --norm", bench, f->model);
    assert_int_equal(r1.code, 0);
    assert_non_null(strstr(r1.out, "scoring:   log-likelihood per token"));
    tu_run_free(&r1);
    r1 = tu_run("eval '%s' -m '%s' -t 2 -q --generate --json '%s'", bench, f->model, json2);
    assert_int_equal(r1.code, 0);
    assert_non_null(strstr(r1.out, "scoring:   generate and match"));
    assert_non_null(strstr(r1.out, "items:     6 (3 scored, 3 errors)"));
    a = tu_read_file(json2, NULL);
    assert_non_null(strstr(a, "\"generated\":"));
    assert_non_null(strstr(a, "\"match\":"));
    free(a);
    tu_run_free(&r1);

    /* not a benchmark: exit 2, one clear line */
    r = tu_run("eval '%s' -m '%s'", tu_path(f->dir, "pic.png"), f->model);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "pic.png: not a benchmark"));
    assert_int_equal(tu_count_lines(r.err), 1);
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    /* a missing model: exit 2 naming it */
    r = tu_run("eval '%s' -m '%s' -q", bench, tu_path(f->dir, "missing.gguf"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "missing.gguf"));
    tu_run_free(&r);
    /* usage errors: exit 1 */
    r = tu_run("eval");
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("eval '%s' --norm --generate", bench);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("eval '%s' --limit 0", bench);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("eval --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: tessera eval BENCH"));
    tu_run_free(&r);
    /* --check: no model needed */
    r = tu_run("eval '%s' --check --limit 5", bench);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "items:     5 (4 usable, 1 error)"));
    tu_run_free(&r);
    /* nothing scorable: the report, then exit 2 */
    write_str(tu_path(f->dir, "allbad.jsonl"),
              "{\"id\":\"x\",\"question\":\"q\",\"choices\":[\"a\"],\"answer\":0}\n");
    r = tu_run("eval '%s' -m '%s' -q", tu_path(f->dir, "allbad.jsonl"), f->model);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "no item could be evaluated"));
    tu_run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_match_hand_computed),
        cmocka_unit_test(test_views_score_the_mean),
        cmocka_unit_test(test_scorer_bad_model),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
