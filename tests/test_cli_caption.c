/* `tessera caption`, `ask` and `chat` on a tiny model built here (tokenizer
 * + VQ-VAE + decoder in one GGUF): the words are gibberish, but ordering,
 * batching, --json, streaming, determinism, exit codes, the default-model
 * lookup, missing model parts and the pseudo-terminal chat (line editing,
 * Ctrl-C stopping an answer but not the program) are real. The decoder's
 * output rows for specials and codes are zeroed, so greedy answers are
 * always text and run until -n: long enough to interrupt. */
#include "fusion/views.h"
#include "tessera.h"
#include "tests/testutil.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *dir;
    char model[1024], tok_only[1024];
} fixture;

static void write_wav(const char *path, int n) {
    float *pcm = malloc(sizeof *pcm * (size_t)n);
    for (int i = 0; i < n; i++)
        pcm[i] = 0.3f * sinf(2 * (float)M_PI * 440 * (float)i / 16000);
    assert_int_equal(ts_wav_write(path, pcm, (size_t)n), TS_OK);
    free(pcm);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    const char *text = "a small red circle to the left of a large blue square. what is it? "
                       "the cat sat on the mat and the dog ran.";
    const uint8_t *texts[] = {(const uint8_t *)text};
    size_t lens[] = {strlen(text)};
    ts_bpe *tok;
    assert_int_equal(ts_bpe_train_mem(texts, lens, 1, 300, NULL, NULL, &tok), TS_OK);
    ts_vq_config vc = ts_vq_default_config();
    vc.codebook_size = 16, vc.dim = 8, vc.image_hidden = 8, vc.image_res_blocks = 1;
    vc.audio_hidden = 8, vc.audio_res_blocks = 1;
    ts_vq *vq;
    assert_int_equal(ts_vq_new(&vc, 3, &vq), TS_OK);
    ts_vocab v;
    ts_vocab_init(&v, ts_bpe_n_text(tok), vc.codebook_size);
    ts_model_config mc = ts_model_config_default(v.n_vocab);
    mc.d_model = 32, mc.n_heads = 2, mc.head_dim = 16, mc.n_layers = 2, mc.ffn_hidden = 32;
    mc.n_experts = 4, mc.n_experts_used = 2, mc.expert_hidden = 16, mc.context = 8192;
    mc.tied_output = 0;
    ts_model *m;
    assert_int_equal(ts_model_new(&mc, 11, &m), TS_OK);
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_bpe_save(tok, vc.codebook_size, w), TS_OK);
    ts_vocab_write(&v, w);
    assert_int_equal(ts_model_add_to_gguf(m, w), TS_OK);
    assert_int_equal(ts_vq_add_to_gguf(vq, w), TS_OK);
    snprintf(f->model, sizeof f->model, "%s/tiny.gguf", f->dir);
    assert_int_equal(ts_gguf_write(w, f->model), TS_OK);
    ts_gguf_writer_free(w);

    /* zero the output rows of every non-text id */
    size_t len;
    char *buf = tu_read_file(f->model, &len);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open_mem((const uint8_t *)buf, len, "tiny", &g), TS_OK);
    const ts_gguf_tensor *out = ts_gguf_find_tensor(g, "output.weight");
    assert_non_null(out);
    assert_int_equal(out->dtype, TS_DTYPE_F32);
    size_t off = (size_t)((const char *)out->data - buf), D = (size_t)out->dims[0];
    ts_gguf_close(g);
    /* and of text tokens that are not lower-case letters and spaces, so
     * greedy answers are plain strings */
    ts_bpe *tk;
    assert_int_equal(ts_gguf_open_mem((const uint8_t *)buf, len, "tiny", &g), TS_OK);
    assert_int_equal(ts_bpe_load(g, &tk), TS_OK);
    ts_gguf_close(g);
    for (int id = 0; id < v.n_vocab; id++) {
        size_t pl = 0;
        const char *pc = id < v.n_text ? ts_bpe_piece(tk, id, &pl) : NULL;
        bool keep = pc && pl > 0;
        for (size_t k = 0; keep && k < pl; k++)
            keep = (pc[k] >= 'a' && pc[k] <= 'z') || pc[k] == ' ';
        if (!keep) memset(buf + off + sizeof(float) * D * (size_t)id, 0, sizeof(float) * D);
    }
    ts_bpe_free(tk);
    tu_write_file(f->model, buf, len);
    free(buf);

    /* a file with the tokenizer alone */
    w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_bpe_save(tok, 0, w), TS_OK);
    snprintf(f->tok_only, sizeof f->tok_only, "%s/tok.gguf", f->dir);
    assert_int_equal(ts_gguf_write(w, f->tok_only), TS_OK);
    ts_gguf_writer_free(w);
    ts_model_free(m);
    ts_vq_free(vq);
    ts_bpe_free(tok);

    for (int i = 0; i < 3; i++) {
        uint8_t px[16 * 16 * 3];
        for (int k = 0; k < (int)sizeof px; k++)
            px[k] = (uint8_t)((k * (7 + 13 * i)) % 253);
        char name[32];
        snprintf(name, sizeof name, "img%d.png", i);
        assert_int_equal(ts_png_write(tu_path(f->dir, name), px, 16, 16, 3), TS_OK);
    }
    write_wav(tu_path(f->dir, "tone.wav"), 16000);
    tu_write_file(tu_path(f->dir, "junk.png"), "not an image", 12);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* The library's own caption of each image, to compare with the command's. */
static char **lib_captions(const fixture *f, int threads) {
    ts_pipeline *p;
    assert_int_equal(ts_pipeline_load(f->model, TS_PART_ALL, threads, &p), TS_OK);
    const char *files[3] = {tu_path(f->dir, "img0.png"), tu_path(f->dir, "img1.png"),
                            tu_path(f->dir, "img2.png")};
    char **texts, **errs;
    ts_answer_opts o = ts_answer_default_opts();
    o.max_tokens = 12;
    o.beam = TS_CAPTION_BEAM; /* as `caption` makes them */
    assert_int_equal(ts_pipeline_caption(p, files, 3, &o, &texts, &errs), TS_OK);
    for (int i = 0; i < 3; i++) {
        assert_null(errs[i]);
        free(errs[i]);
    }
    free(errs);
    ts_pipeline_free(p);
    return texts;
}

static void test_caption_order_json_threads(void **state) {
    fixture *f = *state;
    char **want = lib_captions(f, 1);
    /* the caption of one image alone equals its caption in a batch */
    tu_run_result one = tu_run("caption -m %s -n 12 %s/img1.png", f->model, f->dir);
    assert_int_equal(one.code, 0);
    char line[512];
    snprintf(line, sizeof line, "%s\n", want[1]);
    for (char *c = line; *c && c[1]; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    assert_string_equal(one.out, line);
    tu_run_free(&one);

    char expect[2048] = "";
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "%s", want[i]);
        for (char *c = line; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
        strcat(expect, line);
        strcat(expect, "\n");
    }
    for (int t = 1; t <= 2; t++) {
        tu_run_result r = tu_run("caption -m %s -n 12 -t %d %s/img2.png %s/img0.png %s/img1.png",
                                 f->model, t, f->dir, f->dir, f->dir);
        assert_int_equal(r.code, 0);
        assert_int_equal(tu_count_lines(r.out), 3);
        /* in the order given: 2, 0, 1 */
        char *l1 = strchr(r.out, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
        assert_memory_equal(r.out, expect + (strchr(strchr(expect, '\n') + 1, '\n') + 1 - expect),
                            strlen(want[2]));
        assert_memory_equal(l1, expect, strlen(want[0]));
        assert_memory_equal(l2, strchr(expect, '\n') + 1, strlen(want[1]));
        assert_string_equal(r.err, "");
        tu_run_free(&r);
    }
    tu_run_result j = tu_run("caption -m %s -n 12 --json %s/img0.png %s/junk.png %s/img1.png",
                             f->model, f->dir, f->dir, f->dir);
    assert_int_equal(j.code, 2);
    assert_int_equal(tu_count_lines(j.out), 3);
    char *l = j.out;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(l, '\n');
        *nl = 0;
        ts_json_doc *doc;
        assert_int_equal(ts_json_parse(l, strlen(l), "line", &doc), TS_OK);
        const ts_json *file = ts_json_get(ts_json_root(doc), "file");
        assert_non_null(file);
        assert_non_null(strstr(file->str, i == 0 ? "img0.png" : i == 1 ? "junk.png" : "img1.png"));
        const ts_json *cap = ts_json_get(ts_json_root(doc), i == 1 ? "error" : "caption");
        assert_non_null(cap);
        if (i != 1) assert_string_equal(cap->str, want[i == 0 ? 0 : 1]);
        ts_json_free(doc);
        l = nl + 1;
    }
    assert_non_null(strstr(j.err, "junk.png"));
    assert_int_equal(tu_count_lines(j.err), 1);
    tu_run_free(&j);
    for (int i = 0; i < 3; i++)
        free(want[i]);
    free(want);
}

static void test_caption_errors_and_default_model(void **state) {
    fixture *f = *state;
    tu_run_result r = tu_run("caption -m %s/none.gguf %s/img0.png", f->dir, f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "none.gguf"));
    tu_run_free(&r);
    /* the parts a command needs are named when missing */
    r = tu_run("caption -m %s %s/img0.png", f->tok_only, f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "VQ-VAE"));
    assert_non_null(strstr(r.err, "decoder"));
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    r = tu_run("caption -m %s", f->model);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("caption -m %s --frobnicate %s/img0.png", f->model, f->dir);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    /* an audio clip is not an image */
    r = tu_run("caption -m %s %s/tone.wav", f->model, f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "tone.wav"));
    tu_run_free(&r);
    /* no -m: TESSERA_MODEL, and a clear message when it names nothing */
    setenv("TESSERA_MODEL", f->model, 1);
    r = tu_run("caption -n 12 %s/img0.png", f->dir);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    tu_run_free(&r);
    setenv("TESSERA_MODEL", tu_path(f->dir, "gone.gguf"), 1);
    r = tu_run("caption %s/img0.png", f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "TESSERA_MODEL"));
    tu_run_free(&r);
    unsetenv("TESSERA_MODEL");
    /* an installed layout: PREFIX/bin/tessera finds PREFIX/share/tessera/tessera.gguf */
    const char *bin = getenv("TESSERA_BIN");
    char *saved = strdup(bin ? bin : "build/tessera"), sh[4096];
    snprintf(sh, sizeof sh, "mkdir -p %s/inst/bin %s/inst/share/tessera && cp %s %s/inst/bin/tessera",
             f->dir, f->dir, saved, f->dir);
    assert_int_equal(system(sh), 0);
    setenv("TESSERA_BIN", tu_path(f->dir, "inst/bin/tessera"), 1);
    r = tu_run("caption %s/img0.png", f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "share/tessera/tessera.gguf"));
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    snprintf(sh, sizeof sh, "cp %s %s/inst/share/tessera/tessera.gguf", f->model, f->dir);
    assert_int_equal(system(sh), 0);
    r = tu_run("caption -n 12 %s/img0.png", f->dir);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    tu_run_free(&r);
    setenv("TESSERA_BIN", saved, 1);
    free(saved);
    r = tu_run("caption --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--json"));
    tu_run_free(&r);
}

static bool collect(const char *piece, size_t len, void *user) {
    strncat(user, piece, len);
    return true;
}

static void test_ask(void **state) {
    fixture *f = *state;
    /* the command's answer is the library's, and nothing else is on stdout */
    ts_pipeline *p;
    assert_int_equal(ts_pipeline_load(f->model, TS_PART_ALL, 1, &p), TS_OK);
    const char *files[2] = {tu_path(f->dir, "img0.png"), tu_path(f->dir, "tone.wav")};
    ts_media_set ms;
    assert_int_equal(ts_pipeline_encode_files(p, files, 2, &ms), TS_OK);
    assert_int_equal(ms.media[0].kind, TS_MEDIA_IMAGE);
    assert_int_equal(ms.media[0].n_codes, 64);
    assert_int_equal(ms.media[1].kind, TS_MEDIA_AUDIO);
    assert_int_equal(ms.media[1].n_codes, 25);
    ts_answer_opts o = ts_answer_default_opts();
    o.max_tokens = 10;
    char both[4096] = "", audio[4096] = "";
    assert_int_equal(ts_pipeline_answer(p, ms.media, 2, "what is it?", &o, collect, both), TS_OK);
    assert_int_equal(ts_pipeline_answer(p, ms.media + 1, 1, "what is it?", &o, collect, audio), TS_OK);
    assert_string_not_equal(both, audio);
    ts_media_set_free(&ms);
    ts_pipeline_free(p);

    tu_run_result r = tu_run("ask -m %s -n 10 %s/img0.png %s/tone.wav 'what is it?'", f->model,
                             f->dir, f->dir);
    assert_int_equal(r.code, 0);
    size_t n = strlen(both);
    assert_int_equal(strlen(r.out), n + 1);
    assert_memory_equal(r.out, both, n);
    assert_int_equal(r.out[n], '\n');
    tu_run_free(&r);
    r = tu_run("ask -m %s -n 10 --image %s/img0.png --audio %s/tone.wav -p 'what is it?'", f->model,
               f->dir, f->dir);
    assert_int_equal(r.code, 0);
    assert_memory_equal(r.out, both, n);
    tu_run_free(&r);
    r = tu_run("ask -m %s -n 10 %s/tone.wav 'what is it?'", f->model, f->dir);
    assert_int_equal(r.code, 0);
    assert_memory_equal(r.out, audio, strlen(audio));
    tu_run_free(&r);
    /* sampling: the same seed, the same text */
    tu_run_result a = tu_run("ask -m %s -n 20 --temp 1 -s 5 %s/img0.png hi", f->model, f->dir);
    tu_run_result b = tu_run("ask -m %s -n 20 --temp 1 -s 5 %s/img0.png hi", f->model, f->dir);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, b.out);
    tu_run_free(&a);
    tu_run_free(&b);
    /* --image on an audio file, a missing file, no question */
    r = tu_run("ask -m %s --image %s/tone.wav -p hi", f->model, f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "tone.wav"));
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    r = tu_run("ask -m %s %s/nothere.png hi", f->model, f->dir);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "nothere.png"));
    tu_run_free(&r);
    r = tu_run("ask -m %s --image %s/img0.png", f->model, f->dir);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    /* text only needs no VQ-VAE, but a decoder */
    r = tu_run("ask -m %s -n 5 'what is it?'", f->model);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    tu_run_free(&r);
    r = tu_run("ask -m %s 'what is it?'", f->tok_only);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "decoder"));
    assert_null(strstr(r.err, "VQ-VAE"));
    tu_run_free(&r);
}

/* ---- chat through a pseudo-terminal ------------------------------------------ */
typedef struct {
    int fd;
    pid_t pid;
    char buf[1 << 18];
    size_t n;
} pty_run;

static void pty_start(pty_run *r, const char *model) {
    const char *bin = getenv("TESSERA_BIN");
    if (!bin) bin = "build/tessera";
    r->n = 0;
    r->pid = forkpty(&r->fd, NULL, NULL, NULL);
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        execl(bin, bin, "chat", "-m", model, "-n", "8000", "-t", "1", (char *)NULL);
        _exit(127);
    }
}

/* Reads until `want` appears after offset `from`; returns its offset or -1
 * after `secs` seconds. */
static long pty_wait(pty_run *r, size_t from, const char *want, double secs) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        r->buf[r->n] = 0;
        if (r->n > from) {
            char *hit = strstr(r->buf + from, want);
            if (hit) return hit - r->buf;
        }
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double el = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        if (el > secs) return -1;
        struct pollfd pf = {r->fd, POLLIN, 0};
        if (poll(&pf, 1, 100) > 0) {
            ssize_t k = read(r->fd, r->buf + r->n, sizeof r->buf - 1 - r->n);
            if (k <= 0) return -1;
            /* drop NUL bytes, so strstr sees past them */
            size_t w = r->n;
            for (ssize_t i = 0; i < k; i++)
                if (r->buf[r->n + (size_t)i]) r->buf[w++] = r->buf[r->n + (size_t)i];
            r->n = w;
        }
    }
}

static void pty_send(pty_run *r, const char *s) {
    assert_int_equal(write(r->fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Test-time views: view 0 is the medium as read, view v the VQ-VAE's codes
 * of the moved picture or delayed clip; the answer from all views is the
 * library's and does not depend on the thread count; the default and one
 * view are what they say; the count is checked. */
static void test_views(void **state) {
    fixture *f = *state;
    ts_pipeline *p;
    assert_int_equal(ts_pipeline_load(f->model, TS_PART_ALL, 1, &p), TS_OK);
    const char *files[2] = {tu_path(f->dir, "img0.png"), tu_path(f->dir, "tone.wav")};
    ts_media_set one, three;
    ts_vq *vq;
    assert_int_equal(ts_vq_load_file(f->model, &vq), TS_OK);
    ts_pipeline_set_views(p, 1);
    assert_int_equal(ts_pipeline_encode_files(p, files, 2, &one), TS_OK);
    ts_pipeline_set_views(p, 3);
    assert_int_equal(ts_pipeline_encode_files(p, files, 2, &three), TS_OK);
    for (int m = 0; m < 2; m++) {
        const ts_media *a = &one.media[m], *b = &three.media[m];
        assert_true(a->n_views <= 1);
        assert_int_equal(b->n_views, 3);
        assert_int_equal(b->n_codes, a->n_codes);
        assert_memory_equal(b->codes, a->codes, sizeof *a->codes * (size_t)a->n_codes);
        /* view v is the VQ-VAE's codes of the moved picture or delayed clip */
        ts_vq_input_kind kind;
        float *x, *xv;
        int T, nc = b->n_codes;
        int32_t want[64];
        assert_int_equal(ts_vq_load_media(vq, files[m], 1, &kind, &x, &T), TS_OK);
        size_t n = m == 0 ? (size_t)3 * 32 * 32 : (size_t)TS_N_MELS * T;
        xv = malloc(sizeof *xv * n);
        for (int v = 1; v < 3; v++) {
            if (m == 0) {
                view_image(x, 32, v, xv);
                assert_int_equal(ts_vq_encode_images(vq, NULL, xv, 1, want), TS_OK);
            } else {
                view_mel(x, TS_N_MELS, T, v, xv);
                assert_int_equal(ts_vq_encode_audio(vq, NULL, xv, 1, T, want), TS_OK);
            }
            assert_memory_equal(b->codes + (size_t)v * nc, want, sizeof *want * (size_t)nc);
        }
        free(x);
        free(xv);
    }
    ts_vq_free(vq);
    ts_answer_opts o = ts_answer_default_opts();
    o.max_tokens = 10;
    char both[4096] = "", image[4096] = "", single[4096] = "";
    assert_int_equal(ts_pipeline_answer(p, three.media, 2, "what is it?", &o, collect, both),
                     TS_OK);
    assert_int_equal(ts_pipeline_answer(p, three.media, 1, "what is it?", &o, collect, image),
                     TS_OK);
    /* with a beam, which token by token is not bound to give */
    char beamed[4096] = "";
    ts_answer_opts ob = o;
    ob.beam = TS_CAPTION_BEAM;
    assert_int_equal(ts_pipeline_answer(p, three.media, 1, "what is it?", &ob, collect, beamed),
                     TS_OK);
    assert_int_equal(ts_pipeline_answer(p, one.media, 2, "what is it?", &o, collect, single),
                     TS_OK);
    ts_media_set_free(&one);
    ts_media_set_free(&three);
    ts_pipeline_free(p);

    for (int t = 1; t <= 2; t++) {
        tu_run_result r =
            tu_run("ask -m %s -n 10 -t %d --views 3 %s/img0.png %s/tone.wav 'what is it?'",
                   f->model, t, f->dir, f->dir);
        assert_int_equal(r.code, 0);
        assert_int_equal(strlen(r.out), strlen(both) + 1);
        assert_memory_equal(r.out, both, strlen(both));
        tu_run_free(&r);
        /* a caption in a batch of two is the one made alone */
        r = tu_run("caption -m %s -n 10 -t %d --views 3 %s/img1.png %s/img0.png", f->model, t,
                   f->dir, f->dir);
        assert_int_equal(r.code, 0);
        tu_run_result alone = tu_run("caption -m %s -n 10 --views 3 %s/img0.png", f->model, f->dir);
        assert_int_equal(alone.code, 0);
        assert_string_equal(strchr(r.out, '\n') + 1, alone.out);
        tu_run_free(&alone);
        tu_run_free(&r);
    }
    tu_run_result a =
        tu_run("ask -m %s -n 10 --views 3 %s/img0.png 'what is it?'", f->model, f->dir);
    assert_int_equal(a.code, 0);
    assert_memory_equal(a.out, image, strlen(image));
    tu_run_free(&a);
    /* the default is TS_DEFAULT_VIEWS, byte for byte */
    a = tu_run("caption -m %s -n 10 --views %d %s/img0.png %s/img2.png", f->model, TS_DEFAULT_VIEWS,
               f->dir, f->dir);
    tu_run_result b =
        tu_run("caption -m %s -n 10 %s/img0.png %s/img2.png", f->model, f->dir, f->dir);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, b.out);
    tu_run_free(&a);
    tu_run_free(&b);
    /* --beam: ask answers token by token by default (--beam 1), and with
     * --beam N as the library's beam of N */
    a = tu_run("ask -m %s -n 10 --views 3 --beam 1 %s/img0.png 'what is it?'", f->model, f->dir);
    assert_int_equal(a.code, 0);
    assert_memory_equal(a.out, image, strlen(image));
    tu_run_free(&a);
    a = tu_run("ask -m %s -n 10 --views 3 --beam %d %s/img0.png 'what is it?'", f->model,
               TS_CAPTION_BEAM, f->dir);
    assert_int_equal(a.code, 0);
    assert_int_equal(strlen(a.out), strlen(beamed) + 1);
    assert_memory_equal(a.out, beamed, strlen(beamed));
    tu_run_free(&a);
    /* caption's default is a beam of TS_CAPTION_BEAM, the library's too */
    a = tu_run("caption -m %s -n 10 --views 3 --beam %d %s/img0.png", f->model, TS_CAPTION_BEAM,
               f->dir);
    tu_run_result c = tu_run("caption -m %s -n 10 --views 3 %s/img0.png", f->model, f->dir);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, c.out);
    tu_run_free(&a);
    tu_run_free(&c);
    /* one view: the library's answer from view 0 alone */
    a = tu_run("ask -m %s -n 10 --views 1 %s/img0.png %s/tone.wav 'what is it?'", f->model, f->dir,
               f->dir);
    assert_int_equal(a.code, 0);
    assert_int_equal(strlen(a.out), strlen(single) + 1);
    assert_memory_equal(a.out, single, strlen(single));
    tu_run_free(&a);
    const char *bad[] = {"caption -m %s --views 0 %s/img0.png",
                         "caption -m %s --views 10 %s/img0.png",
                         "ask -m %s --views x %s/img0.png hi", "caption -m %s --beam 0 %s/img0.png",
                         "ask -m %s --beam 9 %s/img0.png hi"};
    for (int i = 0; i < 5; i++) {
        tu_run_result r = tu_run(bad[i], f->model, f->dir);
        assert_int_equal(r.code, 1);
        assert_string_equal(r.out, "");
        tu_run_free(&r);
    }
}

/* A quiet clip is read as if recorded at the floor's level: the log-mel
 * the model reads is that of the clip scaled to a peak of TS_LEVEL_FLOOR
 * (with the floor at 0, that of the clip as recorded), and the pipeline's
 * codes are the VQ-VAE's codes of it, by default and with the floor off. */
static void test_level_floor(void **state) {
    fixture *f = *state;
    enum { N = 16000 };
    float *pcm = malloc(sizeof *pcm * N);
    for (int i = 0; i < N; i++)
        pcm[i] = 0.02f * sinf(2 * (float)M_PI * 300 * (float)i / 16000) *
                 (0.5f + 0.5f * sinf((float)i / 900.0f));
    const char *quiet = tu_path(f->dir, "quiet.wav");
    assert_int_equal(ts_wav_write(quiet, pcm, N), TS_OK);
    free(pcm);
    ts_vq *vq;
    assert_int_equal(ts_vq_load_file(f->model, &vq), TS_OK);
    /* by hand: the samples as read, scaled (k = 1), log-mel */
    size_t n;
    assert_int_equal(ts_audio_load_file(quiet, &pcm, &n), TS_OK);
    assert_int_equal(n, N);
    float *want[2];
    int32_t codes[2][25];
    for (int k = 0; k < 2; k++) {
        if (k == 1) assert_true(ts_audio_level_floor(pcm, n, TS_LEVEL_FLOOR) > 10);
        int T;
        assert_int_equal(ts_logmel(pcm, N, 1, &want[k], &T), TS_OK);
        assert_int_equal(T, 100);
        float *got;
        ts_vq_input_kind kind;
        assert_int_equal(
            ts_vq_load_media_floor(vq, quiet, 1, k ? TS_LEVEL_FLOOR : 0, &kind, &got, &T), TS_OK);
        assert_int_equal(T, 100);
        for (int i = 0; i < TS_N_MELS * T; i++)
            assert_float_equal(got[i], want[k][i], 1e-5);
        assert_int_equal(ts_vq_encode_audio(vq, NULL, got, 1, T, codes[k]), TS_OK);
        free(got);
    }
    /* 24 dB louder is another log-mel */
    assert_true(fabsf(want[1][40 * 100 + 50] - want[0][40 * 100 + 50]) > 0.3f);
    free(want[0]), free(want[1]), free(pcm);
    ts_vq_free(vq);
    ts_pipeline *p;
    assert_int_equal(ts_pipeline_load(f->model, TS_PART_ALL, 1, &p), TS_OK);
    ts_pipeline_set_views(p, 1);
    for (int k = 0; k < 2; k++) {
        /* the default, then as recorded */
        if (k == 1) ts_pipeline_set_level_floor(p, 0);
        ts_media_set ms;
        assert_int_equal(ts_pipeline_encode_files(p, &quiet, 1, &ms), TS_OK);
        assert_int_equal(ms.media[0].n_codes, 25);
        assert_memory_equal(ms.media[0].codes, codes[1 - k], sizeof(int32_t) * 25);
        ts_media_set_free(&ms);
    }
    ts_pipeline_free(p);
    tu_run_result r = tu_run("ask -m %s --level-floor 1.5 %s hi", f->model, quiet);
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("ask -m %s -n 6 --level-floor 0 %s hi", f->model, quiet);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
}

static void test_chat_pty(void **state) {
    fixture *f = *state;
    pty_run *r = malloc(sizeof *r);
    pty_start(r, f->model);
    long at = pty_wait(r, 0, "> ", 30);
    assert_true(at >= 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/image %s/img0.png\r", f->dir);
    pty_send(r, cmd);
    at = pty_wait(r, (size_t)at + 1, "attached: 1 medium", 30);
    assert_true(at >= 0);
    at = pty_wait(r, (size_t)at, "> ", 30);
    assert_true(at >= 0);
    /* line editing: "wrld", Left x3, "o", Home, Ctrl-K kills it all; then a bad file */
    pty_send(r, "wrld\x1b[D\x1b[D\x1b[Do\x01\x0b/image nothere.png\r");
    at = pty_wait(r, (size_t)at, "nothere.png", 30);
    assert_true(at >= 0);
    at = pty_wait(r, (size_t)at, "> ", 30);
    assert_true(at >= 0);
    /* an answer of up to 8000 tokens (seconds), stopped by Ctrl-C */
    pty_send(r, "what is it?\r");
    usleep(150 * 1000);
    pty_send(r, "\x03");
    at = pty_wait(r, (size_t)at, "[stopped]", 30);
    assert_true(at >= 0);
    at = pty_wait(r, (size_t)at, "> ", 30);
    assert_true(at >= 0);
    /* still alive: history (Up) recalls the question; Ctrl-C at the prompt drops the line */
    pty_send(r, "\x1b[A\x03");
    at = pty_wait(r, (size_t)at, "^C", 30);
    assert_true(at >= 0);
    at = pty_wait(r, (size_t)at, "> ", 30);
    assert_true(at >= 0);
    pty_send(r, "/clear\r");
    at = pty_wait(r, (size_t)at, "media cleared", 30);
    assert_true(at >= 0);
    at = pty_wait(r, (size_t)at, "> ", 30);
    assert_true(at >= 0);
    pty_send(r, "/bogus\r");
    at = pty_wait(r, (size_t)at, "unknown command", 30);
    assert_true(at >= 0);
    pty_send(r, "/quit\r");
    int st = 0;
    pid_t done = 0;
    for (int i = 0; i < 600 && (done = waitpid(r->pid, &st, WNOHANG)) == 0; i++) {
        pty_wait(r, r->n, "\x7f\x7f", 0.05); /* drain what it still writes */
        usleep(50 * 1000);
    }
    assert_int_equal(done, r->pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(r->fd);
    free(r);
}

static void test_chat_pipe(void **state) {
    fixture *f = *state;
    /* not a terminal: plain lines, Ctrl-D (end of input) leaves */
    char script[1200];
    snprintf(script, sizeof script, "%s/script.txt", f->dir);
    FILE *fp = fopen(script, "w");
    fprintf(fp, "/audio %s/tone.wav\nwhat is it?\n/audio %s/img0.png\n", f->dir, f->dir);
    fclose(fp);
    const char *bin = getenv("TESSERA_BIN");
    char cmd[8192], out[1200];
    snprintf(out, sizeof out, "%s/chat.out", f->dir);
    snprintf(cmd, sizeof cmd, "%s chat -m %s -n 8 <%s >%s 2>%s.err", bin ? bin : "build/tessera",
             f->model, script, out, out);
    int rc = system(cmd);
    if (rc) fprintf(stderr, "%s -> %d\n", cmd, rc);
    assert_int_equal(rc, 0);
    char *o = tu_read_file(out, NULL);
    /* three prompts answered, then the final prompt at end of input */
    assert_int_equal(tu_count_lines(o), 1);
    assert_non_null(strstr(o, "> > "));
    free(o);
    snprintf(out, sizeof out, "%s/chat.out.err", f->dir);
    char *e = tu_read_file(out, NULL);
    assert_non_null(strstr(e, "tone.wav attached"));
    assert_non_null(strstr(e, "img0.png: not audio"));
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caption_order_json_threads),
        cmocka_unit_test(test_caption_errors_and_default_model),
        cmocka_unit_test(test_ask),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_level_floor),
        cmocka_unit_test(test_chat_pty),
        cmocka_unit_test(test_chat_pipe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
