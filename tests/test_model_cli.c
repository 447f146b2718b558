/* `tessera train` and `tessera generate` end to end on a tiny config: files
 * written, resume = uninterrupted, same seed = same text, errors and exit
 * codes. Needs TESSERA_BIN (set by `make test`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera.h"
#include "tests/testutil.h"

#define TINY "--config d_model=32,n_heads=2,head_dim=16,n_layers=2,ffn_hidden=64,n_experts=4,n_experts_used=2,expert_hidden=16,context=64"

static char *dir;

static int setup(void **state) {
    dir = tu_mkdtemp();
    /* a small corpus of documents separated by blank lines */
    FILE *fp = fopen(tu_path(dir, "train.txt"), "w");
    FILE *fv = fopen(tu_path(dir, "val.txt"), "w");
    const char *words[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "red", "box"};
    for (int d = 0; d < 120; d++) {
        FILE *f = d % 6 == 5 ? fv : fp;
        for (int w = 0; w < 12; w++) fprintf(f, "%s%s", w ? " " : "", words[(d * 7 + w * 3) % 11]);
        fprintf(f, ".\n\n");
    }
    fclose(fp);
    fclose(fv);
    return 0;
}

static int teardown(void **state) {
    tu_rmdir(dir);
    return 0;
}

static void test_train_writes_model_csv_plot_and_resumes(void **state) {
    const char *tr = tu_path(dir, "train.txt"), *va = tu_path(dir, "val.txt");
    char cmd_common[2048];
    snprintf(cmd_common, sizeof cmd_common,
             "--text '%s' --val '%s' --vocab 300 " TINY " --batch 4 --seq 16 --eval-every 4 -t 2",
             tr, va);
    tu_run_result r = tu_run("train %s --steps 8 -o '%s'", cmd_common, tu_path(dir, "a.gguf"));
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, ""); /* progress goes to stderr only */
    assert_non_null(strstr(r.err, "val loss"));
    tu_run_free(&r);
    size_t len;
    char *csv = tu_read_file(tu_path(dir, "a.gguf.loss.csv"), &len);
    assert_int_equal(tu_count_lines(csv), 9); /* header + 8 steps */
    char *png = tu_read_file(tu_path(dir, "a.gguf.loss.png"), &len);
    assert_true(len > 8 && !memcmp(png, "\x89PNG", 4));
    free(png);
    /* the model file loads and scores */
    ts_model *m;
    assert_int_equal(ts_model_load(tu_path(dir, "a.gguf"), &m), TS_OK);
    assert_int_equal(ts_model_get_config(m)->d_model, 32);
    ts_model_free(m);

    /* 4 steps, stop, resume to 8: the same losses as the uninterrupted run */
    r = tu_run("train %s --steps 8 --time-limit 0.000001 -o '%s'", cmd_common,
               tu_path(dir, "b.gguf"));
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    r = tu_run("train %s --steps 8 --resume '%s' -o '%s'", cmd_common,
               tu_path(dir, "b.gguf.ckpt"), tu_path(dir, "b.gguf"));
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    char *csv_b = tu_read_file(tu_path(dir, "b.gguf.loss.csv"), &len);
    /* compare step, lr and loss of every row (columns 1-3) */
    char *pa = csv, *pb = csv_b;
    int rows = 0;
    while (*pa && *pb) {
        char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        assert_non_null(ea);
        assert_non_null(eb);
        int ca = 0, cb = 0;
        char *ka = pa, *kb = pb;
        while (ka < ea && ca < 3) ca += *ka++ == ',';
        while (kb < eb && cb < 3) cb += *kb++ == ',';
        assert_int_equal(ka - pa, kb - pb);
        assert_memory_equal(pa, pb, (size_t)(ka - pa));
        pa = ea + 1, pb = eb + 1, rows++;
    }
    assert_int_equal(rows, 9);
    free(csv);
    free(csv_b);
}

static void test_generate_streams_same_text_for_same_seed(void **state) {
    const char *model = tu_path(dir, "a.gguf");
    tu_run_result a = tu_run("generate -m '%s' -p 'the cat' -n 12 -s 5 --temp 1", model);
    tu_run_result b = tu_run("generate -m '%s' -p 'the cat' -n 12 -s 5 --temp 1", model);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, b.out);
    assert_string_equal(a.err, "");
    tu_run_free(&a);
    tu_run_free(&b);
    a = tu_run("generate -m '%s' -p 'the cat' -n 12 --temp 0 --stats", model);
    b = tu_run("generate -m '%s' -p 'the cat' -n 12 --temp 0 --no-dra-skip", model);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, b.out); /* skipping closed heads changes no output */
    tu_run_free(&b);
    b = tu_run("generate -m '%s' -p 'the cat' -n 12 --temp 0 -t 2", model);
    assert_string_equal(a.out, b.out); /* nor do threads */
    assert_non_null(strstr(a.err, "tokens/s"));
    tu_run_free(&a);
    tu_run_free(&b);
}

static void test_errors_and_exit_codes(void **state) {
    tu_run_result r = tu_run("generate -m '%s' -p hi", tu_path(dir, "missing.gguf"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "missing.gguf"));
    tu_run_free(&r);
    tu_write_file(tu_path(dir, "junk.gguf"), "not a gguf file at all", 22);
    r = tu_run("generate -m '%s' -p hi", tu_path(dir, "junk.gguf"));
    assert_int_equal(r.code, 2);
    assert_int_equal(tu_count_lines(r.err), 1);
    tu_run_free(&r);
    r = tu_run("generate -p hi");
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("generate -m x --temp -1 -p hi");
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("train --text '%s'", tu_path(dir, "train.txt"));
    assert_int_equal(r.code, 1); /* no -o */
    tu_run_free(&r);
    r = tu_run("train --text '%s' -o '%s' --config bogus=1", tu_path(dir, "train.txt"),
               tu_path(dir, "c.gguf"));
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "bogus"));
    tu_run_free(&r);
    r = tu_run("train --text '%s' -o '%s'", tu_path(dir, "nope.txt"), tu_path(dir, "c.gguf"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "nope.txt"));
    tu_run_free(&r);
    r = tu_run("train --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--resume"));
    tu_run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_writes_model_csv_plot_and_resumes),
        cmocka_unit_test(test_generate_streams_same_text_for_same_seed),
        cmocka_unit_test(test_errors_and_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
