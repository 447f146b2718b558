/* `tessera build-shards --check-sources` and the training flags' usage
 * errors, from the command line: every missing source named in one line
 * with exit 2, nothing written to stdout. Runs build/tessera (or
 * $TESSERA_BIN). */
#include "tessera.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const sets[] = {"mnist",           "cifar10",   "twemoji", "fsdd",
                                   "speech_commands", "scienceqa", "wordnet", "asterisk"};

/* the data sets' folders, WordNet's and the prompts' (all empty) and the
 * prompts' transcript */
static void make_sources(const char *dir) {
    for (int i = 0; i < 8; i++)
        assert_int_equal(mkdir(tu_path(dir, sets[i]), 0755), 0);
    tu_write_file(tu_path(dir, "prompts.txt"), "hello: Hello.\n", 14);
}

static tu_run_result check(const char *dir) {
    char w[1100], a[1100], t[1100];
    snprintf(w, sizeof w, "%s", tu_path(dir, "wordnet"));
    snprintf(a, sizeof a, "%s", tu_path(dir, "asterisk"));
    snprintf(t, sizeof t, "%s", tu_path(dir, "prompts.txt"));
    return tu_run("build-shards --data '%s' --wordnet '%s' --asterisk '%s' --asterisk-text '%s' "
                  "--check-sources",
                  dir, w, a, t);
}

static void test_check_sources(void **state) {
    char *dir = tu_mkdtemp();
    make_sources(dir);
    tu_run_result r = check(dir);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    tu_run_free(&r);
    /* two gone: both named, in one line, and nothing else */
    assert_int_equal(rmdir(tu_path(dir, "fsdd")), 0);
    assert_int_equal(unlink(tu_path(dir, "prompts.txt")), 0);
    r = check(dir);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "");
    assert_int_equal(tu_count_lines(r.err), 1);
    assert_non_null(strstr(r.err, tu_path(dir, "fsdd")));
    assert_non_null(strstr(r.err, tu_path(dir, "prompts.txt")));
    assert_null(strstr(r.err, tu_path(dir, "mnist")));
    assert_null(strstr(r.err, tu_path(dir, "wordnet")));
    tu_run_free(&r);
    tu_rmdir(dir);
}

static void test_usage_errors(void **state) {
    const char *bad[] = {"build-shards --check-sources", /* no --data */
                         "train-mm --ema 1 --shards s --tokenizer t --vq v -o o",
                         "train-mm --ema x --shards s --tokenizer t --vq v -o o",
                         "train-mm --ema -0.5 --shards s --tokenizer t --vq v -o o"};
    for (int i = 0; i < 4; i++) {
        tu_run_result r = tu_run("%s", bad[i]);
        assert_int_equal(r.code, 1);
        assert_string_equal(r.out, "");
        assert_true(strlen(r.err) > 0);
        tu_run_free(&r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_sources),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
