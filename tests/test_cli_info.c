/* `tessera info` on GGUF model files: the parts, sizes, tensors, parameters
 * and weight types of a tiny model written here (checked against the
 * model's own counts) and of models/tessera.gguf when present; truncated
 * and corrupt files give one error line naming the file and exit 2. Runs
 * build/tessera (or $TESSERA_BIN). */
#include "tessera.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *dir;
    char path[1100];
    int64_t n_params, n_tensors;
    int n_text;
    size_t bytes;
} fixture;

/* a tokenizer and a decoder (matrices f16, 2-D RoPE over 2 x 2 grids, grid mixing), no VQ-VAE */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    const char *text = "the cat sat on the mat and the dog ran to the sun";
    const uint8_t *texts[] = {(const uint8_t *)text};
    size_t lens[] = {strlen(text)};
    ts_bpe *tok;
    assert_int_equal(ts_bpe_train_mem(texts, lens, 1, 270, NULL, NULL, &tok), TS_OK);
    ts_vocab v;
    f->n_text = ts_bpe_n_text(tok);
    ts_vocab_init(&v, f->n_text, 16);
    ts_model_config mc = ts_model_config_default(v.n_vocab);
    mc.d_model = 32, mc.n_heads = 2, mc.head_dim = 16, mc.n_layers = 2, mc.n_dense_layers = 1;
    mc.ffn_hidden = 32, mc.n_experts = 4, mc.n_experts_used = 2, mc.n_shared = 1;
    mc.expert_hidden = 16, mc.context = 64;
    mc.image_grid = 2, mc.image_token = ts_vocab_special(&v, TS_TOK_IMG), mc.grid_mix = 1;
    ts_model *m;
    assert_int_equal(ts_model_new(&mc, 5, &m), TS_OK);
    f->n_params = ts_model_n_params(m);
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    assert_int_equal(ts_bpe_save(tok, 16, w), TS_OK);
    ts_vocab_write(&v, w);
    assert_int_equal(ts_model_add_to_gguf_as(m, w, TS_DTYPE_F16), TS_OK);
    snprintf(f->path, sizeof f->path, "%s/tiny.gguf", f->dir);
    assert_int_equal(ts_gguf_write(w, f->path), TS_OK);
    ts_gguf_writer_free(w);
    ts_model_free(m);
    ts_bpe_free(tok);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(f->path, &g), TS_OK);
    f->n_tensors = ts_gguf_n_tensors(g);
    ts_gguf_close(g);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    f->bytes = (size_t)st.st_size;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void expect_line(const char *out, const char *line) {
    if (!strstr(out, line)) fail_msg("no line \"%s\" in:\n%s", line, out);
}

static void test_tiny_model_text_and_json(void **state) {
    fixture *f = *state;
    tu_run_result r = tu_run("info '%s'", f->path);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.err, "");
    char line[1300];
    snprintf(line, sizeof line, "file:        %s\n", f->path);
    expect_line(r.out, line);
    expect_line(r.out, "kind:        model\n");
    expect_line(r.out, "container:   gguf v3, architecture tessera\n");
    snprintf(line, sizeof line, "file size:   %zu bytes", f->bytes);
    expect_line(r.out, line);
    expect_line(r.out, "parts:       tokenizer, decoder (no VQ-VAE)\n");
    snprintf(line, sizeof line, "vocabulary:  %d (%d text, 9 specials, 16 media codes)\n",
             f->n_text + 9 + 16, f->n_text);
    expect_line(r.out, line);
    expect_line(r.out, "decoder:     d_model 32, 2 heads x 16, 2 blocks (1 dense), experts 4 / 2 "
                       "active + 1 shared, context 64, 2-D RoPE over 2 x 2 image codes mixed "
                       "with their 4 neighbours\n");
    snprintf(line, sizeof line, "             %lld tensors, ", (long long)f->n_tensors);
    expect_line(r.out, line);
    expect_line(r.out, "parameters (f32, f16)\n"); /* norms and biases stay f32 */
    assert_null(strstr(r.out, "VQ-VAE:"));
    tu_run_free(&r);

    r = tu_run("info --json '%s'", f->path);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    expect_line(r.out, "\"kind\":\"model\",\"container\":\"gguf\",\"version\":3");
    snprintf(line, sizeof line, "\"bytes\":%zu,", f->bytes);
    expect_line(r.out, line);
    expect_line(r.out, "\"parts\":[\"tokenizer\",\"decoder\"]");
    snprintf(line, sizeof line, "\"tensors\":%lld,\"parameters\":%lld,", (long long)f->n_tensors,
             (long long)f->n_params);
    expect_line(r.out, line); /* all of the file's tensors are the decoder's */
    expect_line(r.out, "\"d_model\":32,\"heads\":2,\"head_dim\":16,\"blocks\":2,\"dense_blocks\":1,"
                       "\"experts\":4,\"experts_active\":2,\"experts_shared\":1,\"context\":64,"
                       "\"image_grid\":2,\"grid_mix\":true,\"grid_mix_neighbours\":4,");
    /* the f32 and f16 shares add up to the model's parameter count */
    long long f32 = -1, f16 = -1;
    const char *d = strstr(r.out, "\"decoder\":");
    assert_non_null(d);
    d = strstr(d, "\"dtypes\":{");
    assert_non_null(d);
    assert_int_equal(sscanf(d, "\"dtypes\":{\"f32\":%lld,\"f16\":%lld}", &f32, &f16), 2);
    assert_true(f32 > 0 && f16 > f32);
    assert_int_equal(f32 + f16, f->n_params);
    assert_null(strstr(r.out, "\"vq\":"));
    tu_run_free(&r);
}

static void test_bad_gguf_files(void **state) {
    fixture *f = *state;
    size_t len;
    char *b = tu_read_file(f->path, &len);
    assert_non_null(b);
    struct {
        const char *name;
        size_t len;
        bool bad_version;
    } cases[] = {{"cut_header.gguf", 6, false},
                 {"cut_keys.gguf", 200, false},
                 {"cut_data.gguf", len - 100, false},
                 {"version.gguf", len, true}};
    for (int i = 0; i < 4; i++) {
        const char *p = tu_path(f->dir, cases[i].name);
        if (cases[i].bad_version) b[4] = 99; /* GGUF v99: the reader knows v3 */
        tu_write_file(p, b, cases[i].len);
        tu_run_result r = tu_run("info '%s'", p);
        if (r.code != 2) fail_msg("%s: exit %d, stderr %s", cases[i].name, r.code, r.err);
        assert_string_equal(r.out, "");
        assert_int_equal(tu_count_lines(r.err), 1);
        assert_non_null(strstr(r.err, p));
        tu_run_free(&r);
    }
    /* a bad file among good ones: the others are still described, exit 2 */
    tu_run_result r = tu_run("info --json '%s' '%s'", tu_path(f->dir, "cut_keys.gguf"), f->path);
    assert_int_equal(r.code, 2);
    assert_int_equal(tu_count_lines(r.out), 1);
    assert_int_equal(tu_count_lines(r.err), 1);
    tu_run_free(&r);
    free(b);
}

static void test_default_model(void **state) {
    (void)state;
    const char *path = "models/tessera.gguf";
    struct stat st;
    if (stat(path, &st)) {
        skip(); /* no default model built in this checkout */
        return;
    }
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    long long n_params = 0, n_vq = 0;
    for (int64_t i = 0; i < ts_gguf_n_tensors(g); i++) {
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        n_params += t->n_elements;
        if (!strncmp(t->name, "vq.", 3)) n_vq += t->n_elements;
    }
    uint32_t K, D, blocks;
    assert_int_equal(ts_gguf_get_u32(g, "tessera.vq.codebook_size", &K), TS_OK);
    assert_int_equal(ts_gguf_get_u32(g, "tessera.vq.dim", &D), TS_OK);
    assert_int_equal(ts_gguf_get_u32(g, "tessera.block_count", &blocks), TS_OK);
    char want[256];
    tu_run_result r = tu_run("info %s", path);
    assert_int_equal(r.code, 0);
    expect_line(r.out, "parts:       tokenizer, VQ-VAE, decoder\n");
    snprintf(want, sizeof want, "VQ-VAE:      codebook %u x %u (K x D)", K, D);
    expect_line(r.out, want);
    snprintf(want, sizeof want, ", %u blocks (", blocks);
    expect_line(r.out, want);
    tu_run_free(&r);
    r = tu_run("info --json %s", path);
    assert_int_equal(r.code, 0);
    snprintf(want, sizeof want, "\"tensors\":%lld,\"parameters\":%lld,",
             (long long)ts_gguf_n_tensors(g), n_params);
    expect_line(r.out, want);
    snprintf(want, sizeof want, "\"codebook_size\":%u,\"dim\":%u,", K, D);
    expect_line(r.out, want);
    snprintf(want, sizeof want, "\"parameters\":%lld,", n_vq);
    expect_line(strstr(r.out, "\"vq\":"), want);
    snprintf(want, sizeof want, "\"bytes\":%lld,", (long long)st.st_size);
    expect_line(r.out, want);
    tu_run_free(&r);
    ts_gguf_close(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_model_text_and_json),
        cmocka_unit_test(test_bad_gguf_files),
        cmocka_unit_test(test_default_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
