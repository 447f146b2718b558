/* fusion/corpus*.c: every source read from small data sets made here in the
 * layouts of ../shared/data, encoded with a tiny VQ-VAE, fused with the one
 * template and written to shards: counts, splits (held-out speaker, val
 * speakers, test files), the exact answer text under the loss mask, and
 * byte-identical shards on a second run. */
#include "fusion/corpus_internal.h"
#include "tessera.h"
#include "tessera/pipeline.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

typedef struct {
    char *dir;
    ts_bpe *tok;
    ts_vq *vq;
} fixture;

/* The fixture's tokenizer with its VQ-VAE's 16 codes. */
static ts_vocab tiny_vocab(const fixture *f) {
    ts_vocab v;
    ts_vocab_init(&v, ts_bpe_n_text(f->tok), 16);
    return v;
}

static void mkdirs(const char *p) { mkdir(p, 0755); }

static void write_str(const char *path, const char *s) { tu_write_file(path, s, strlen(s)); }

/* 16-bit mono WAV of a tone at `rate`. */
static void write_wav(const char *path, int rate, int n, float freq) {
    uint8_t *b = calloc(1, 44 + 2 * (size_t)n);
    uint32_t v32;
    uint16_t v16;
    memcpy(b, "RIFF", 4), v32 = 36 + 2 * n, memcpy(b + 4, &v32, 4);
    memcpy(b + 8, "WAVEfmt ", 8), v32 = 16, memcpy(b + 16, &v32, 4);
    v16 = 1, memcpy(b + 20, &v16, 2), v16 = 1, memcpy(b + 22, &v16, 2);
    v32 = (uint32_t)rate, memcpy(b + 24, &v32, 4), v32 = 2 * (uint32_t)rate, memcpy(b + 28, &v32, 4);
    v16 = 2, memcpy(b + 32, &v16, 2), v16 = 16, memcpy(b + 34, &v16, 2);
    memcpy(b + 36, "data", 4), v32 = 2 * (uint32_t)n, memcpy(b + 40, &v32, 4);
    for (int i = 0; i < n; i++) {
        int16_t s = (int16_t)(6000 * sin(2 * M_PI * freq * i / rate));
        memcpy(b + 44 + 2 * i, &s, 2);
    }
    tu_write_file(path, b, 44 + 2 * (size_t)n);
    free(b);
}

/* A ustar archive of (name, bytes) members. */
static void tar_add(FILE *fp, const char *name, const void *data, size_t len) {
    char h[512] = {0};
    snprintf(h, 100, "%s", name);
    snprintf(h + 100, 8, "0000644");
    snprintf(h + 108, 8, "0000000");
    snprintf(h + 116, 8, "0000000");
    snprintf(h + 124, 12, "%011zo", len);
    snprintf(h + 136, 12, "%011o", 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (uint8_t)h[i];
    snprintf(h + 148, 8, "%06o", sum);
    fwrite(h, 1, 512, fp);
    fwrite(data, 1, len, fp);
    char pad[512] = {0};
    if (len % 512) fwrite(pad, 1, 512 - len % 512, fp);
}

static void tar_end(FILE *fp) {
    char z[1024] = {0};
    fwrite(z, 1, sizeof z, fp);
    fclose(fp);
}

static void png_bytes(const char *dir, int seed, uint8_t **data, size_t *len) {
    uint8_t px[12 * 10 * 3];
    for (int i = 0; i < (int)sizeof px; i++)
        px[i] = (uint8_t)((i * 31 + seed * 97) % 251);
    const char *p = tu_path(dir, "tmp.png");
    assert_int_equal(ts_png_write(p, px, 12, 10, 3), TS_OK);
    *data = (uint8_t *)tu_read_file(p, len);
}

static void write_idx_gz(const char *path, const uint8_t *hdr, size_t hl, const uint8_t *body, size_t bl) {
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    gzwrite(g, hdr, (unsigned)hl);
    gzwrite(g, body, (unsigned)bl);
    gzclose(g);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    const char *text = "a photo of a cat dog handwritten digit which is spoken word emoji "
                       "small large red blue circle square triangle left right above below";
    const uint8_t *texts[] = {(const uint8_t *)text};
    size_t lens[] = {strlen(text)};
    assert_int_equal(ts_bpe_train_mem(texts, lens, 1, 320, NULL, NULL, &f->tok), TS_OK);
    ts_vq_config vc = ts_vq_default_config();
    vc.codebook_size = 16, vc.dim = 8, vc.image_hidden = 8, vc.image_res_blocks = 1;
    vc.audio_hidden = 8, vc.audio_res_blocks = 1;
    assert_int_equal(ts_vq_new(&vc, 3, &f->vq), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    ts_bpe_free(f->tok);
    ts_vq_free(f->vq);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Decodes the answers of record i (its masked tokens, each turn's answer
 * and <eos>), one line per turn. */
static char *answer_of(const fixture *f, const ts_shard *sh, int64_t i, const ts_vocab *v,
                       int *n_img, int *n_aud) {
    const int32_t *t;
    const uint8_t *m;
    int n;
    ts_shard_get(sh, i, &t, &m, &n);
    assert_int_equal(t[0], ts_vocab_special(v, TS_TOK_BOS));
    assert_int_equal(t[n - 1], ts_vocab_special(v, TS_TOK_EOS));
    assert_int_equal(m[n - 1], 1);
    *n_img = *n_aud = 0;
    char *all = calloc(1, 1);
    int32_t ids[512];
    int k = 0;
    bool answering = false;
    for (int j = 0; j < n; j++) {
        *n_img += t[j] == ts_vocab_special(v, TS_TOK_IMG);
        *n_aud += t[j] == ts_vocab_special(v, TS_TOK_AUD);
        /* the mask covers exactly what follows each <assistant>, up to <eos> */
        assert_int_equal(m[j], answering);
        if (t[j] == ts_vocab_special(v, TS_TOK_ASSISTANT)) answering = true;
        if (m[j] && t[j] < v->n_text) ids[k++] = t[j];
        if (t[j] != ts_vocab_special(v, TS_TOK_EOS)) continue;
        assert_true(answering);
        answering = false;
        char *out;
        size_t len, have = strlen(all);
        assert_int_equal(ts_bpe_decode(f->tok, ids, (size_t)k, &out, &len), TS_OK);
        all = realloc(all, have + len + 2);
        memcpy(all + have, out, len);
        all[have + len] = j + 1 < n ? '\n' : 0;
        all[have + len + 1] = 0;
        free(out);
        k = 0;
    }
    return all;
}

/* True when a record of sh with want_img images and want_aud clips has a
 * turn answered exactly want. */
static bool shard_has_answer(const fixture *f, const ts_shard *sh, const ts_vocab *v,
                             const char *want, int want_img, int want_aud) {
    bool hit = false;
    for (int64_t i = 0; i < ts_shard_count(sh) && !hit; i++) {
        int ni, na;
        char *a = answer_of(f, sh, i, v, &ni, &na);
        for (char *line = strtok(a, "\n"); line && !hit; line = strtok(NULL, "\n"))
            hit = !strcmp(line, want) && ni == want_img && na == want_aud;
        free(a);
    }
    return hit;
}

static void build_data(const char *d) {
    /* CIFAR-10: tars of CLASS/NNNNN.jpg (PNG bytes: the kind comes from content) */
    mkdirs(tu_path(d, "cifar10"));
    for (int split = 0; split < 2; split++) {
        FILE *fp = fopen(tu_path(d, split ? "cifar10/test.tar" : "cifar10/train.tar"), "wb");
        for (int i = 0; i < 3; i++) {
            uint8_t *png;
            size_t len;
            png_bytes(d, i + 10 * split, &png, &len);
            char name[64];
            snprintf(name, sizeof name, "%s/%05d.jpg", i == 2 ? "dog" : "cat", i);
            tar_add(fp, name, png, len);
            free(png);
        }
        tar_end(fp);
    }
    /* MNIST: 4 train, 2 test */
    mkdirs(tu_path(d, "mnist"));
    for (int split = 0; split < 2; split++) {
        int n = split ? 2 : 4;
        uint8_t hi[16] = {0, 0, 8, 3, 0, 0, 0, (uint8_t)n, 0, 0, 0, 28, 0, 0, 0, 28};
        uint8_t hl[8] = {0, 0, 8, 1, 0, 0, 0, (uint8_t)n};
        uint8_t px[4 * 784], lab[4];
        for (int i = 0; i < n * 784; i++)
            px[i] = (uint8_t)(i % 7 == 0 ? 255 : 0);
        for (int i = 0; i < n; i++)
            lab[i] = (uint8_t)(3 + i + split);
        write_idx_gz(tu_path(d, split ? "mnist/t10k-images-idx3-ubyte.gz" : "mnist/train-images-idx3-ubyte.gz"),
                     hi, 16, px, (size_t)n * 784);
        write_idx_gz(tu_path(d, split ? "mnist/t10k-labels-idx1-ubyte.gz" : "mnist/train-labels-idx1-ubyte.gz"),
                     hl, 8, lab, (size_t)n);
    }
    /* Twemoji */
    mkdirs(tu_path(d, "twemoji"));
    FILE *fp = fopen(tu_path(d, "twemoji/png72.tar"), "wb");
    for (int i = 0; i < 2; i++) {
        uint8_t *png;
        size_t len;
        png_bytes(d, 20 + i, &png, &len);
        tar_add(fp, i ? "1f601.png" : "1f600.png", png, len);
        free(png);
    }
    tar_end(fp);
    write_str(tu_path(d, "twemoji/names.tsv"), "1f600.png\tgrinning face\n1f601.png\tbeaming face\n");
    /* FSDD: speakers jackson and theo */
    mkdirs(tu_path(d, "fsdd"));
    mkdirs(tu_path(d, "fsdd/recordings"));
    write_wav(tu_path(d, "fsdd/recordings/7_jackson_0.wav"), 8000, 3000, 300);
    write_wav(tu_path(d, "fsdd/recordings/2_jackson_1.wav"), 8000, 2500, 500);
    write_wav(tu_path(d, "fsdd/recordings/8_theo_0.wav"), 8000, 2800, 400);
    /* speech commands: index.tsv; the clips are WAV bytes */
    mkdirs(tu_path(d, "sc"));
    mkdirs(tu_path(d, "sc/yes"));
    mkdirs(tu_path(d, "sc/bed"));
    mkdirs(tu_path(d, "sc/six"));
    mkdirs(tu_path(d, "sc/_background_noise_"));
    write_wav(tu_path(d, "sc/yes/aaaa0001_nohash_0.flac"), 16000, 16000, 700);
    write_wav(tu_path(d, "sc/bed/bbbb0002_nohash_0.flac"), 16000, 16000, 900);
    write_wav(tu_path(d, "sc/six/cccc0003_nohash_0.flac"), 16000, 16000, 600);
    write_wav(tu_path(d, "sc/_background_noise_/hum.flac"), 16000, 16000 * 3 + 500, 60);
    write_str(tu_path(d, "sc/index.tsv"), "path\tword\tclass\tspeaker\n"
                                          "yes/aaaa0001_nohash_0.flac\tyes\tyes\taaaa0001\n"
                                          "bed/bbbb0002_nohash_0.flac\tbed\t_unknown_\tbbbb0002\n"
                                          "six/cccc0003_nohash_0.flac\tsix\t_unknown_\tcccc0003\n");
    /* Asterisk */
    mkdirs(tu_path(d, "ast"));
    mkdirs(tu_path(d, "ast/digits"));
    write_wav(tu_path(d, "ast/digits/7.wav"), 8000, 4000, 350);
    write_wav(tu_path(d, "ast/beep.wav"), 8000, 2000, 1000);
    write_wav(tu_path(d, "ast/vm-intro.wav"), 8000, 2000, 440);
    write_str(tu_path(d, "ast/core-sounds-en.txt"),
              "; Core sounds\n\ndigits/7: seven\nbeep: [this is a simple beep tone]\n"
              "vm-intro: Please leave your message (simple tone sound plays)\nmissing: not here\n");
    /* espeak-style folder */
    mkdirs(tu_path(d, "spoken"));
    write_wav(tu_path(d, "spoken/d0.wav"), 22050, 11025, 250);
    write_str(tu_path(d, "spoken/index.tsv"), "d0.wav\tdigit\tnine\n");
    /* ScienceQA: one train, one val (skipped) */
    write_str(tu_path(d, "problems.json"),
              "{\"1\":{\"question\":\"Which is a mammal?\",\"choices\":[\"cat\",\"fish\"],\"answer\":0,"
              "\"hint\":\"\",\"split\":\"train\"},"
              "\"2\":{\"question\":\"Which is cold?\",\"choices\":[\"ice\",\"fire\"],\"answer\":0,"
              "\"hint\":null,\"split\":\"val\"}}");
    /* WordNet */
    mkdirs(tu_path(d, "wn"));
    write_str(tu_path(d, "wn/data.noun"),
              "  1 This software and database is being provided\n"
              "00217499 04 n 01 disaster 0 001 @ 00217014 n 0000 | an act that has disastrous consequences  \n");
    write_str(tu_path(d, "wn/data.verb"), "");
    write_str(tu_path(d, "wn/data.adj"),
              "00001740 00 a 01 able 0 005 | (usually followed by `to') having the necessary means\n");
    write_str(tu_path(d, "wn/data.adv"), "");
}

static void build(fixture *f, const char *tag, int turns, ts_corpus_stats *st) {
    const char *d = f->dir;
    char tr[512], va[512];
    snprintf(tr, sizeof tr, "%s/train%s.shard", d, tag);
    snprintf(va, sizeof va, "%s/val%s.shard", d, tag);
    ts_pool *pool = ts_pool_new(2);
    ts_corpus *c;
    assert_int_equal(ts_corpus_open(f->tok, f->vq, pool, tr, va, 5, &c), TS_OK);
    ts_corpus_set_turns(c, turns);
    ts_corpus_options o = ts_corpus_default_options();
    o.scenes = 20, o.tones = 20, o.mc_per_source = 2, o.phrasings = 2;
    assert_int_equal(ts_corpus_add_cifar10(c, tu_path(d, "cifar10"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_mnist(c, tu_path(d, "mnist"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_twemoji(c, tu_path(d, "twemoji"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_scenes(c, &o), TS_OK);
    assert_int_equal(ts_corpus_add_tones(c, &o), TS_OK);
    assert_int_equal(ts_corpus_add_fsdd(c, tu_path(d, "fsdd"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_speech_commands(c, tu_path(d, "sc"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_asterisk(c, tu_path(d, "ast"), tu_path(d, "ast/core-sounds-en.txt"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_spoken(c, tu_path(d, "spoken"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_scienceqa(c, tu_path(d, "problems.json"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_wordnet(c, tu_path(d, "wn"), &o), TS_OK);
    assert_int_equal(ts_corpus_commit(c, st), TS_OK);
    ts_pool_free(pool);
}

static void test_every_source(void **state) {
    fixture *f = *state;
    build_data(f->dir);
    ts_corpus_stats st;
    build(f, "", 1, &st);
    /* media: 6 cifar + 6 mnist + 2 emoji + 22 scenes images; 22 tones + 3 fsdd
     * + 3 sc + 3 noise slices + 1 asterisk + 1 spoken clips */
    assert_int_equal(st.images, 6 + 6 + 2 + 22);
    assert_int_equal(st.clips, 22 + 3 + 3 + 3 + 1 + 1);
    assert_int_equal(st.texts, 1 + 2);
    assert_int_equal(st.skipped, 0);

    ts_shard *tr, *va;
    assert_int_equal(ts_shard_open(tu_path(f->dir, "train.shard"), &tr), TS_OK);
    assert_int_equal(ts_shard_open(tu_path(f->dir, "val.shard"), &va), TS_OK);
    assert_int_equal(ts_shard_count(tr), st.examples[0]);
    assert_int_equal(ts_shard_count(va), st.examples[1]);
    ts_vocab v = tiny_vocab(f);
    assert_int_equal(ts_shard_vocab(tr), v.n_vocab);

    /* answers where they belong, with their media */
    assert_true(shard_has_answer(f, tr, &v, "a cat", 1, 0));
    assert_true(shard_has_answer(f, tr, &v, "a dog", 1, 0));
    assert_true(shard_has_answer(f, va, &v, "a cat", 1, 0)); /* test.tar -> val */
    assert_true(shard_has_answer(f, tr, &v, "3", 1, 0));      /* MNIST train label 3 */
    assert_true(shard_has_answer(f, va, &v, "4", 1, 0));      /* t10k label 4 */
    assert_false(shard_has_answer(f, tr, &v, "7", 1, 0));
    assert_true(shard_has_answer(f, tr, &v, "an emoji of a grinning face", 1, 0));
    assert_true(shard_has_answer(f, tr, &v, "seven", 0, 1));  /* FSDD jackson */
    assert_true(shard_has_answer(f, va, &v, "eight", 0, 1));  /* theo held out */
    assert_false(shard_has_answer(f, tr, &v, "eight", 0, 1));
    assert_true(shard_has_answer(f, tr, &v, "silence", 0, 1) || shard_has_answer(f, va, &v, "silence", 0, 1));
    bool yes = shard_has_answer(f, tr, &v, "yes", 0, 1) || shard_has_answer(f, va, &v, "yes", 0, 1);
    bool unk = shard_has_answer(f, tr, &v, "unknown", 0, 1) || shard_has_answer(f, va, &v, "unknown", 0, 1);
    assert_true(yes && unk);
    assert_int_equal(ts_sc_speaker_is_val("aaaa0001", 10), shard_has_answer(f, va, &v, "yes", 0, 1));
    /* a speech-commands digit word is also asked which digit it is (no
     * other clip of the fixture says "six") */
    const ts_shard *six_split = ts_sc_speaker_is_val("cccc0003", 10) ? va : tr;
    assert_true(shard_has_answer(f, six_split, &v, "six", 0, 1));
    assert_true(shard_has_answer(f, tr, &v, "seven", 0, 1));
    assert_false(shard_has_answer(f, tr, &v, "Please leave your message", 0, 1));
    assert_false(shard_has_answer(f, va, &v, "Please leave your message", 0, 1));
    assert_true(shard_has_answer(f, tr, &v, "nine", 0, 1));   /* spoken */
    assert_true(shard_has_answer(f, tr, &v, "cat", 0, 0));    /* ScienceQA train */
    assert_false(shard_has_answer(f, tr, &v, "ice", 0, 0));   /* val problem left out */
    assert_true(shard_has_answer(f, tr, &v, "an act that has disastrous consequences", 0, 0));
    /* a generated scene's caption, exactly as the generator writes it */
    ts_scene sc;
    ts_scene_make(5, 0, TS_SPLIT_TRAIN, &sc);
    char cap[200];
    ts_scene_caption(&sc, cap, sizeof cap);
    assert_true(shard_has_answer(f, tr, &v, cap, 1, 0));
    /* a 3-shape scene is asked about each of its positions */
    int three = 0;
    while (three < 20 && (ts_scene_make(5, (uint64_t)three, TS_SPLIT_TRAIN, &sc), sc.n != 3))
        three++;
    assert_true(three < 20);
    for (int k = 0; k < 3; k++) {
        char q[64], part[64];
        assert_true(ts_scene_part_question(&sc, k, q, sizeof q, part, sizeof part));
        assert_true(shard_has_answer(f, tr, &v, part, 1, 0));
    }
    ts_scene_make(5, 0, TS_SPLIT_VAL, &sc);
    ts_scene_caption(&sc, cap, sizeof cap);
    assert_true(shard_has_answer(f, va, &v, cap, 1, 0));
    assert_false(shard_has_answer(f, tr, &v, cap, 1, 0));
    /* a tone clip: 32 codes between <aud> and </aud> */
    ts_tone t;
    ts_tone_make(5, 0, &t);
    char desc[64];
    ts_tone_describe(&t, desc, sizeof desc);
    assert_true(shard_has_answer(f, tr, &v, desc, 0, 1));
    bool found = false;
    for (int64_t i = 0; i < ts_shard_count(tr) && !found; i++) {
        const int32_t *tk;
        const uint8_t *m;
        int n;
        ts_shard_get(tr, i, &tk, &m, &n);
        if (tk[1] != ts_vocab_special(&v, TS_TOK_AUD)) continue;
        for (int j = 2; j < n; j++)
            if (tk[j] == ts_vocab_special(&v, TS_TOK_AUD_END)) {
                found = j - 2 == TS_TONE_SAMPLES / 640;
                break;
            }
    }
    assert_true(found);
    ts_shard_close(tr);
    ts_shard_close(va);

    /* the same inputs give the same bytes */
    ts_corpus_stats st2;
    build(f, "2", 1, &st2);
    size_t l1, l2;
    char *a = tu_read_file(tu_path(f->dir, "train.shard"), &l1);
    char *b = tu_read_file(tu_path(f->dir, "train2.shard"), &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);

    /* --turns 8: the same answers with fewer records and tokens; a 3-shape
     * scene's caption and positions share one record of at most 192 */
    ts_corpus_stats st8;
    build(f, "8", 8, &st8);
    assert_true(st8.examples[0] < st.examples[0]);
    assert_true(st8.tokens[0] < st.tokens[0]);
    assert_int_equal(st8.images, st.images);
    assert_int_equal(st8.clips, st.clips);
    assert_int_equal(ts_shard_open(tu_path(f->dir, "train8.shard"), &tr), TS_OK);
    ts_scene_make(5, (uint64_t)three, TS_SPLIT_TRAIN, &sc);
    ts_scene_caption(&sc, cap, sizeof cap);
    int64_t answers = 0;
    bool together = false;
    for (int64_t i = 0; i < ts_shard_count(tr); i++) {
        int ni, na;
        char *ans = answer_of(f, tr, i, &v, &ni, &na);
        int turns = 1;
        for (char *p = ans; *p; p++) turns += *p == '\n';
        const int32_t *tk;
        const uint8_t *m;
        int n;
        ts_shard_get(tr, i, &tk, &m, &n);
        assert_true(turns == 1 || n <= 192);
        answers += turns;
        bool all = strstr(ans, cap) != NULL; /* the 3-shape scene's caption and parts */
        for (int k = 0; k < 3 && all; k++) {
            char q[64], part[64];
            ts_scene_part_question(&sc, k, q, sizeof q, part, sizeof part);
            all = strstr(ans, part) != NULL;
        }
        together = together || all;
        free(ans);
    }
    assert_int_equal(answers, st.examples[0]); /* one record per question before */
    assert_true(together);
    ts_shard_close(tr);
}

/* CIFAR-10, MNIST, FSDD and speech commands with every source's train
 * items written `rep` times. */
static void build_repeated(fixture *f, const char *tag, int rep, ts_corpus_stats *st) {
    const char *d = f->dir;
    char tr[512], va[512];
    snprintf(tr, sizeof tr, "%s/rtrain%s.shard", d, tag);
    snprintf(va, sizeof va, "%s/rval%s.shard", d, tag);
    ts_corpus *c;
    assert_int_equal(ts_corpus_open(f->tok, f->vq, NULL, tr, va, 9, &c), TS_OK);
    ts_corpus_options o = ts_corpus_default_options();
    for (int k = 0; k < TS_N_SOURCES; k++)
        o.repeat[k] = rep;
    char noise[512];
    snprintf(noise, sizeof noise, "%s/sc/_background_noise_", d);
    o.noise_dir = noise;
    assert_int_equal(ts_corpus_add_cifar10(c, tu_path(d, "cifar10"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_mnist(c, tu_path(d, "mnist"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_fsdd(c, tu_path(d, "fsdd"), &o), TS_OK);
    assert_int_equal(ts_corpus_add_speech_commands(c, tu_path(d, "sc"), &o), TS_OK);
    assert_int_equal(ts_corpus_commit(c, st), TS_OK);
}

static void test_repeat(void **state) {
    fixture *f = *state;
    build_data(f->dir);
    ts_corpus_stats one, three, again;
    build_repeated(f, "1", 1, &one);
    build_repeated(f, "3", 3, &three);
    build_repeated(f, "3b", 3, &again);
    /* every train record three times, val untouched */
    assert_int_equal(three.examples[0], 3 * one.examples[0]);
    assert_int_equal(three.examples[1], one.examples[1]);
    /* cifar 3 train + 3 test, mnist 4 + 2 */
    assert_int_equal(one.images, 12);
    assert_int_equal(three.images, 3 * 7 + 5);
    ts_shard *t1, *t3;
    assert_int_equal(ts_shard_open(tu_path(f->dir, "rtrain1.shard"), &t1), TS_OK);
    assert_int_equal(ts_shard_open(tu_path(f->dir, "rtrain3.shard"), &t3), TS_OK);
    assert_int_equal(ts_shard_count(t3), 3 * ts_shard_count(t1));
    /* the copies follow their original with the same answers */
    ts_vocab v = tiny_vocab(f);
    int ni, na, ni3, na3;
    char *a = answer_of(f, t1, 0, &v, &ni, &na), *b = answer_of(f, t3, 0, &v, &ni3, &na3);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ts_shard_close(t1);
    ts_shard_close(t3);
    size_t l1, l2;
    char *v1 = tu_read_file(tu_path(f->dir, "rval1.shard"), &l1);
    char *v3 = tu_read_file(tu_path(f->dir, "rval3.shard"), &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(v1, v3, l1);
    free(v1);
    free(v3);
    /* the same seed: the same augmented bytes */
    char *x = tu_read_file(tu_path(f->dir, "rtrain3.shard"), &l1);
    char *y = tu_read_file(tu_path(f->dir, "rtrain3b.shard"), &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(x, y, l1);
    free(x);
    free(y);
}

static void test_bad_inputs(void **state) {
    fixture *f = *state;
    ts_corpus *c;
    assert_int_equal(ts_corpus_open(f->tok, f->vq, NULL, tu_path(f->dir, "b.shard"),
                                    tu_path(f->dir, "bv.shard"), 1, &c), TS_OK);
    ts_corpus_options o = ts_corpus_default_options();
    assert_int_equal(ts_corpus_add_cifar10(c, tu_path(f->dir, "nowhere"), &o), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "nowhere"));
    write_str(tu_path(f->dir, "bad.json"), "[1, 2");
    assert_int_equal(ts_corpus_add_scienceqa(c, tu_path(f->dir, "bad.json"), &o), TS_ERR_INPUT);
    mkdirs(tu_path(f->dir, "sc2"));
    write_str(tu_path(f->dir, "sc2/index.tsv"), "path\tword\tclass\tspeaker\nonly\ttwo\n");
    assert_int_equal(ts_corpus_add_speech_commands(c, tu_path(f->dir, "sc2"), &o), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "index.tsv:2"));
    ts_corpus_abort(c);
    /* nothing half-written */
    FILE *fp = fopen(tu_path(f->dir, "b.shard"), "rb");
    assert_null(fp);
    /* a text-only corpus refuses media */
    assert_int_equal(ts_corpus_open(f->tok, NULL, NULL, tu_path(f->dir, "t.shard"),
                                    tu_path(f->dir, "tv.shard"), 1, &c), TS_OK);
    float img[3 * 32 * 32] = {0};
    assert_int_equal(ts_corpus_add_image(c, 0, img, "p", "a"), TS_ERR_USAGE);
    assert_int_equal(ts_corpus_add_text(c, 0, "p", "a"), TS_OK);
    ts_corpus_stats st;
    assert_int_equal(ts_corpus_commit(c, &st), TS_OK);
    assert_int_equal(st.examples[0], 1);
}

/* A corpus of short texts and images, a tiny decoder over its vocabulary. */
static void small_shards(fixture *f, const char *tag) {
    ts_corpus *c;
    char tr[512], va[512];
    snprintf(tr, sizeof tr, "%s/st%s.shard", f->dir, tag);
    snprintf(va, sizeof va, "%s/sv%s.shard", f->dir, tag);
    assert_int_equal(ts_corpus_open(f->tok, f->vq, NULL, tr, va, 2, &c), TS_OK);
    ts_corpus_options o = ts_corpus_default_options();
    o.scenes = 40, o.tones = 0, o.mc_per_source = 0;
    assert_int_equal(ts_corpus_add_scenes(c, &o), TS_OK);
    static const char *const words[] = {"cat", "dog", "red", "blue", "circle", "square"};
    for (int i = 0; i < 60; i++)
        assert_int_equal(ts_corpus_add_text(c, i % 10 == 9, "which word?", words[i % 6]), TS_OK);
    assert_int_equal(ts_corpus_commit(c, NULL), TS_OK);
}

static ts_model *tiny_model(const fixture *f) {
    ts_vocab v = tiny_vocab(f);
    ts_model_config mc = ts_model_config_default(v.n_vocab);
    mc.d_model = 32, mc.n_heads = 2, mc.head_dim = 16, mc.n_layers = 2, mc.ffn_hidden = 32;
    mc.n_experts = 4, mc.n_experts_used = 2, mc.expert_hidden = 32, mc.context = 256;
    ts_model *m;
    assert_int_equal(ts_model_new(&mc, 7, &m), TS_OK);
    return m;
}

/* Batches of 4 rows of 128 tokens, for tiny_model. */
static ts_train_config tiny_train_config(int steps) {
    ts_train_config tc = ts_train_config_default();
    tc.batch = 4, tc.seq_len = 128, tc.steps = steps, tc.warmup = 4, tc.lr = 3e-3f;
    return tc;
}

static void test_shard_train_resume(void **state) {
    fixture *f = *state;
    small_shards(f, "");
    ts_vocab v = tiny_vocab(f);
    ts_train_config tc = tiny_train_config(40);
    const char *trs[1] = {tu_path(f->dir, "st.shard")};
    ts_shard_train_opts o = {.train = trs, .n_train = 1, .val = tu_path(f->dir, "sv.shard"),
                             .pad_id = ts_vocab_special(&v, TS_TOK_PAD), .eval_every = 20,
                             .quiet = true};
    ts_pool *pool = ts_pool_new(2);
    /* uninterrupted */
    ts_model *a = tiny_model(f);
    ts_lm_train_result ra, first;
    ts_train_config t1 = tc;
    t1.steps = 1;
    ts_model *a1 = tiny_model(f);
    assert_int_equal(ts_shard_train(a1, &t1, pool, &o, &first), TS_OK);
    assert_int_equal(ts_shard_train(a, &tc, pool, &o, &ra), TS_OK);
    assert_int_equal(ra.steps_done, 40);
    assert_true(isfinite(ra.val_loss));
    /* it learns: the val loss after 40 steps is well under the first */
    assert_true(ra.val_loss < first.val_loss - 0.5);
    /* stopped at 15 with a checkpoint, then resumed: the same model */
    char ck[512];
    snprintf(ck, sizeof ck, "%s/st.ckpt", f->dir);
    o.ckpt_path = ck, o.stop_after = 15;
    ts_model *b = tiny_model(f);
    ts_lm_train_result rb;
    assert_int_equal(ts_shard_train(b, &tc, pool, &o, &rb), TS_OK);
    assert_int_equal(rb.steps_done, 15);
    ts_model_free(b);
    b = tiny_model(f);
    o.stop_after = 0, o.resume_path = ck;
    assert_int_equal(ts_shard_train(b, &tc, pool, &o, &rb), TS_OK);
    assert_int_equal(rb.steps_done, 40);
    assert_true(rb.loss == ra.loss);
    assert_true(rb.val_loss == ra.val_loss);
    int32_t ids[6] = {ts_vocab_special(&v, TS_TOK_BOS), 'c', 'a', 't', ' ', 'd'};
    int V = v.n_vocab;
    float *la = malloc(sizeof *la * 6 * (size_t)V), *lb = malloc(sizeof *lb * 6 * (size_t)V);
    assert_int_equal(ts_model_logits(a, ids, 6, la), TS_OK);
    assert_int_equal(ts_model_logits(b, ids, 6, lb), TS_OK);
    assert_memory_equal(la, lb, sizeof *la * 6 * (size_t)V);

    /* one file with everything, then q8_0: smaller, VQ kept in f32, close logits */
    ts_gguf_writer *w = ts_gguf_writer_new();
    assert_int_equal(ts_vq_add_to_gguf(f->vq, w), TS_OK);
    assert_int_equal(ts_model_add_to_gguf(a, w), TS_OK);
    assert_int_equal(ts_bpe_save(f->tok, 16, w), TS_OK);
    ts_vocab_write(&v, w);
    const char *full = tu_path(f->dir, "full.gguf"), *q8 = tu_path(f->dir, "q8.gguf");
    char fullp[512], q8p[512];
    snprintf(fullp, sizeof fullp, "%s", full);
    snprintf(q8p, sizeof q8p, "%s", q8);
    assert_int_equal(ts_gguf_write(w, fullp), TS_OK);
    ts_gguf_writer_free(w);
    assert_int_equal(ts_gguf_requantize(fullp, q8p, TS_DTYPE_Q8_0), TS_OK);
    size_t l1, l2;
    free(tu_read_file(fullp, &l1));
    free(tu_read_file(q8p, &l2));
    assert_true(l2 < l1 * 6 / 10);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(q8p, &g), TS_OK);
    assert_int_equal(ts_gguf_find_tensor(g, "blk.1.ffn_up_exps.weight")->dtype, TS_DTYPE_Q8_0);
    int n_vq = 0;
    for (int64_t i = 0; i < ts_gguf_n_tensors(g); i++) {
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        if (!strncmp(t->name, "vq.", 3)) assert_int_equal(t->dtype, TS_DTYPE_F32), n_vq++;
    }
    assert_true(n_vq > 4);
    ts_gguf_close(g);
    ts_pipeline *p;
    assert_int_equal(ts_pipeline_load(q8p, TS_PART_ALL, 1, &p), TS_OK);
    ts_pipeline_free(p);
    ts_model *q;
    assert_int_equal(ts_model_load(q8p, &q), TS_OK);
    assert_int_equal(ts_model_logits(q, ids, 6, lb), TS_OK);
    double md = 0;
    for (int i = 0; i < 6 * V; i++)
        md = fmax(md, fabs(la[i] - lb[i]));
    assert_true(md > 0 && md < 0.1);
    ts_model_free(q);
    free(la);
    free(lb);
    ts_model_free(a);
    ts_model_free(a1);
    ts_model_free(b);
    ts_pool_free(pool);
}

static int count_task(const char *labels, const char *task) {
    int n = 0;
    size_t tl = strlen(task);
    for (const char *l = labels; *l;) {
        if (!strncmp(l, task, tl) && l[tl] == '\t') n++;
        const char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    return n;
}

static void test_export_val(void **state) {
    fixture *f = *state;
    build_data(f->dir);
    symlink("sc", tu_path(f->dir, "speech_commands"));
    ts_corpus_options o = ts_corpus_default_options();
    char out[512];
    snprintf(out, sizeof out, "%s/heldout", f->dir);
    assert_int_equal(ts_corpus_export_val(f->dir, out, &o, 5, 5), TS_OK);
    char *lab = tu_read_file(tu_path(out, "labels.tsv"), NULL);
    assert_int_equal(count_task(lab, "mnist"), 2);
    assert_int_equal(count_task(lab, "cifar10"), 2); /* (5 + 9) / 10 per class */
    assert_int_equal(count_task(lab, "scenes"), 5);
    assert_int_equal(count_task(lab, "beeps"), 5);
    assert_int_equal(count_task(lab, "fsdd"), 1);
    assert_non_null(strstr(lab, "8_theo_0.wav\teight\n"));
    int sc = ts_sc_speaker_is_val("aaaa0001", 10) + ts_sc_speaker_is_val("bbbb0002", 10);
    assert_int_equal(count_task(lab, "speech_commands"), sc);
    assert_non_null(strstr(lab, "/mnist/00001.png\t5\n")); /* t10k labels 4, 5 */
    assert_non_null(strstr(lab, "cifar10/dog_00002.jpg\tdog\n"));
    /* the exported digit reads back as exactly the corpus's input */
    float a[3 * 32 * 32], b[3 * 32 * 32];
    char png[600];
    snprintf(png, sizeof png, "%s/mnist/00000.png", out);
    assert_int_equal(ts_image_load_input_file(png, 32, TS_FIT_STRETCH, a), TS_OK);
    uint8_t px[784], rgb[32 * 32 * 3];
    for (int i = 0; i < 784; i++)
        px[i] = (uint8_t)(i % 7 == 0 ? 255 : 0);
    ts_mnist_pad(px, 28, 28, 32, rgb);
    ts_image im = {32, 32, rgb};
    assert_int_equal(ts_image_to_input(&im, 32, TS_FIT_STRETCH, b), TS_OK);
    assert_memory_equal(a, b, sizeof a);
    /* scene 0's caption is the val scene's */
    ts_scene scn;
    ts_scene_make(5, 0, TS_SPLIT_VAL, &scn);
    char cap[200], line[800];
    ts_scene_caption(&scn, cap, sizeof cap);
    snprintf(line, sizeof line, "/scenes/00000.png\t%s\n", cap);
    assert_non_null(strstr(lab, line));
    /* every position of each 2- or 3-shape scene, with the corpus's question */
    int parts = 0;
    for (int i = 0; i < 5; i++) {
        ts_scene_make(5, (uint64_t)i, TS_SPLIT_VAL, &scn);
        char q[64], part[64];
        for (int k = 0; ts_scene_part_question(&scn, k, q, sizeof q, part, sizeof part);
             k++, parts++) {
            snprintf(line, sizeof line, "/scenes/%05d.png\t%s\t%s\n", i, part, q);
            assert_non_null(strstr(lab, line));
        }
    }
    assert_true(parts > 0);
    assert_int_equal(count_task(lab, "scene_parts"), parts);
    free(lab);
    /* text mode: prompts and answers only, media never read */
    ts_corpus *c;
    assert_int_equal(ts_corpus_open_text(tu_path(f->dir, "corpus.txt"), 5, &c), TS_OK);
    ts_corpus_options o2 = ts_corpus_default_options();
    o2.scenes = 3, o2.tones = 0, o2.mc_per_source = 0;
    assert_int_equal(ts_corpus_add_fsdd(c, tu_path(f->dir, "fsdd"), &o2), TS_OK);
    assert_int_equal(ts_corpus_add_scenes(c, &o2), TS_OK);
    ts_corpus_stats st;
    assert_int_equal(ts_corpus_commit(c, &st), TS_OK);
    assert_int_equal(st.clips, 3);
    assert_int_equal(st.images, 3);
    char *txt = tu_read_file(tu_path(f->dir, "corpus.txt"), NULL);
    assert_non_null(strstr(txt, "Which digit is spoken?\nseven\n\n"));
    assert_non_null(strstr(txt, "Which digit is spoken?\neight\n\n"));
    ts_scene_make(5, 0, TS_SPLIT_TRAIN, &scn);
    ts_scene_caption(&scn, cap, sizeof cap);
    snprintf(line, sizeof line, "Describe the image.\n%s\n\n", cap);
    assert_non_null(strstr(txt, line));
    free(txt);
    /* a beep clip reads back at 16 kHz with its samples */
    float *pcm;
    size_t n;
    snprintf(png, sizeof png, "%s/tones/00000.wav", out);
    assert_int_equal(ts_audio_load_file(png, &pcm, &n), TS_OK);
    assert_int_equal(n, TS_TONE_SAMPLES);
    free(pcm);
}

static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Generated multiple-choice questions show 4 options by default; with
 * mc_options above 4 each draws its count from 4 up to it, never more than
 * the classes (the beep counts: one to five). */
static void test_mc_options(void **state) {
    fixture *f = *state;
    const int most[2] = {4, 10};
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "mc%d.txt", most[k]);
        ts_corpus *c;
        assert_int_equal(ts_corpus_open_text(tu_path(f->dir, name), 5, &c), TS_OK);
        ts_corpus_options o = ts_corpus_default_options();
        o.scenes = 0, o.tones = 200, o.mc_per_source = 1, o.mc_options = most[k];
        assert_int_equal(ts_corpus_add_tones(c, &o), TS_OK);
        ts_corpus_stats st;
        assert_int_equal(ts_corpus_commit(c, &st), TS_OK);
        char *txt = tu_read_file(tu_path(f->dir, name), NULL);
        int four = count_str(txt, "\n(D) "), five = count_str(txt, "\n(E) ");
        assert_true(four > 10);
        assert_int_equal(count_str(txt, "\n(F) "), 0);
        if (most[k] == 4)
            assert_int_equal(five, 0);
        else
            assert_true(five > 5 && five < four); /* both counts drawn */
        free(txt);
    }
}

/* Trains a fresh tiny model to step 6 with a checkpoint at ck, then another
 * from that checkpoint to the end; returns the second. */
static ts_model *stop_and_resume(fixture *f, const ts_train_config *tc, ts_pool *pool,
                                 ts_shard_train_opts o, const char *ck, ts_lm_train_result *res) {
    ts_model *m = tiny_model(f);
    o.ckpt_path = ck, o.stop_after = 6;
    assert_int_equal(ts_shard_train(m, tc, pool, &o, res), TS_OK);
    ts_model_free(m);
    m = tiny_model(f);
    o.stop_after = 0, o.resume_path = ck;
    assert_int_equal(ts_shard_train(m, tc, pool, &o, res), TS_OK);
    return m;
}

/* Code swaps change the inputs only while training (the val rows are those
 * of a run without them), and a resumed run draws the same swaps. */
/* With a level floor, a quiet clip's log-mel is that of the clip brought
 * up to the floor (as `ask` reads it); without, that of the clip as
 * recorded; a loud clip is the same either way. */
static void test_level_floor(void **state) {
    fixture *f = *state;
    ts_corpus *c;
    assert_int_equal(ts_corpus_open(f->tok, f->vq, NULL, tu_path(f->dir, "lf_train.shard"),
                                    tu_path(f->dir, "lf_val.shard"), 1, &c),
                     TS_OK);
    /* 8000 samples, padded to whole codes (4 frames of 160) as the corpus does */
    enum { N = 8000, PADDED = 8320 };
    float quiet[N], loud[N], scaled[PADDED] = {0}, *mel, *want;
    for (int i = 0; i < N; i++) {
        quiet[i] = 0.02f * sinf(2 * (float)M_PI * 500 * (float)i / 16000);
        loud[i] = 25 * quiet[i];
    }
    int T, Tw;
    for (int k = 0; k < 3; k++) {
        /* k 0: no floor; 1: the floor on the quiet clip; 2: on the loud one */
        ts_corpus_set_level_floor(c, k ? TS_LEVEL_FLOOR : 0);
        memcpy(scaled, k == 2 ? loud : quiet, sizeof quiet);
        if (k == 1) assert_true(ts_audio_level_floor(scaled, N, TS_LEVEL_FLOOR) > 14);
        assert_int_equal(corpus_pcm_to_mel(c, k == 2 ? loud : quiet, N, &mel, &T), TS_OK);
        assert_int_equal(ts_logmel(scaled, PADDED, 1, &want, &Tw), TS_OK);
        assert_int_equal(T, 52);
        assert_int_equal(Tw, 52);
        for (int i = 0; i < TS_N_MELS * T; i++)
            assert_float_equal(mel[i], want[i], 1e-5);
        if (k == 1) {
            /* and not what the clip as recorded gives */
            float *raw, padded[PADDED] = {0};
            memcpy(padded, quiet, sizeof quiet);
            assert_int_equal(ts_logmel(padded, PADDED, 1, &raw, &Tw), TS_OK);
            assert_true(fabsf(raw[40 * T + 10] - mel[40 * T + 10]) > 0.3f);
            free(raw);
        }
        free(mel), free(want);
    }
    ts_corpus_abort(c);
}

static void test_shard_train_code_swap(void **state) {
    fixture *f = *state;
    small_shards(f, "w");
    ts_vocab v = tiny_vocab(f);
    ts_train_config tc = tiny_train_config(12);
    const char *trs[1] = {tu_path(f->dir, "stw.shard")};
    char va[512], ck[512];
    snprintf(va, sizeof va, "%s", tu_path(f->dir, "svw.shard"));
    snprintf(ck, sizeof ck, "%s/sw.ckpt", f->dir);
    ts_shard_train_opts o = {.train = trs,
                             .n_train = 1,
                             .val = va,
                             .pad_id = ts_vocab_special(&v, TS_TOK_PAD),
                             .vocab = &v,
                             .codebook = ts_vq_codebook(f->vq),
                             .codebook_dim = ts_vq_get_config(f->vq)->dim,
                             .eval_every = 6,
                             .quiet = true};
    ts_pool *pool = ts_pool_new(2);
    ts_lm_train_result plain, swapped, resumed;
    ts_model *a = tiny_model(f), *b = tiny_model(f);
    assert_int_equal(ts_shard_train(a, &tc, pool, &o, &plain), TS_OK);
    o.code_swap[0] = 0.5f;
    assert_int_equal(ts_shard_train(b, &tc, pool, &o, &swapped), TS_OK);
    assert_true(isfinite(swapped.loss) && swapped.loss != plain.loss);
    ts_model *c = stop_and_resume(f, &tc, pool, o, ck, &resumed);
    assert_true(resumed.loss == swapped.loss && resumed.val_loss == swapped.val_loss);
    /* swaps without a codebook to find neighbours in */
    o.codebook = NULL;
    assert_int_equal(ts_shard_train(c, &tc, pool, &o, &resumed), TS_ERR_USAGE);
    ts_model_free(a);
    ts_model_free(b);
    ts_model_free(c);
    ts_pool_free(pool);
}

/* With a moving average the training is that of a run without one; the
 * model left is the average (its own val loss), and a resumed run ends
 * with the same average. */
static void test_shard_train_average(void **state) {
    fixture *f = *state;
    small_shards(f, "");
    ts_vocab v = tiny_vocab(f);
    ts_train_config tc = tiny_train_config(12);
    const char *trs[1] = {tu_path(f->dir, "st.shard")};
    char va[512], ck[512];
    snprintf(va, sizeof va, "%s", tu_path(f->dir, "sv.shard"));
    snprintf(ck, sizeof ck, "%s/sa.ckpt", f->dir);
    ts_shard_train_opts o = {.train = trs,
                             .n_train = 1,
                             .val = va,
                             .pad_id = ts_vocab_special(&v, TS_TOK_PAD),
                             .eval_every = 6,
                             .quiet = true};
    ts_pool *pool = ts_pool_new(2);
    ts_lm_train_result plain, avg, resumed;
    ts_model *a = tiny_model(f), *b = tiny_model(f);
    assert_int_equal(ts_shard_train(a, &tc, pool, &o, &plain), TS_OK);
    tc.ema = 0.8f;
    assert_int_equal(ts_shard_train(b, &tc, pool, &o, &avg), TS_OK);
    assert_true(avg.loss == plain.loss && avg.val_loss_raw == plain.val_loss);
    assert_true(isfinite(avg.val_loss) && avg.val_loss != plain.val_loss);
    int32_t ids[4] = {ts_vocab_special(&v, TS_TOK_BOS), 'c', 'a', 't'};
    int V = v.n_vocab;
    float *la = malloc(sizeof *la * 4 * (size_t)V), *lb = malloc(sizeof *lb * 4 * (size_t)V);
    assert_int_equal(ts_model_logits(a, ids, 4, la), TS_OK);
    assert_int_equal(ts_model_logits(b, ids, 4, lb), TS_OK);
    assert_memory_not_equal(la, lb, sizeof *la * 4 * (size_t)V);
    ts_model *c = stop_and_resume(f, &tc, pool, o, ck, &resumed);
    assert_true(resumed.val_loss == avg.val_loss && resumed.val_loss_raw == avg.val_loss_raw);
    assert_int_equal(ts_model_logits(c, ids, 4, la), TS_OK);
    assert_memory_equal(la, lb, sizeof *la * 4 * (size_t)V);
    free(la);
    free(lb);
    ts_model_free(a);
    ts_model_free(b);
    ts_model_free(c);
    ts_pool_free(pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_source),
        cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_shard_train_resume),
        cmocka_unit_test(test_shard_train_code_swap),
        cmocka_unit_test(test_shard_train_average),
        cmocka_unit_test(test_export_val),
        cmocka_unit_test(test_mc_options),
        cmocka_unit_test(test_level_floor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
