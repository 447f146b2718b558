/* fusion/tsv.c: the corpus readers' index files — header and empty lines,
 * fields split at tabs (the last keeps the rest), line numbers in errors. */
#include "fusion/corpus_internal.h"
#include "tests/testutil.h"

#include <string.h>

static void test_fields_header_and_empty_lines(void **state) {
    char *dir = tu_mkdtemp();
    const char *p = tu_path(dir, "index.tsv");
    const char *text = "path\tword\tclass\tspeaker\n"
                       "a/1.flac\tyes\tyes\tspk1\n"
                       "\n"
                       "b/2.flac\tno\n"
                       "c/3.flac\tup\tup\tspk\t3"; /* no final newline; a 5th column */
    tu_write_file(p, text, strlen(text));
    corpus_tsv t;
    char *f[4];
    assert_int_equal(corpus_tsv_open(&t, p, CORPUS_TSV_HEADER), TS_OK);
    assert_int_equal(corpus_tsv_next(&t, f, 4), 4);
    assert_int_equal(t.line_no, 2);
    assert_string_equal(f[0], "a/1.flac");
    assert_string_equal(f[2], "yes");
    assert_string_equal(f[3], "spk1");
    assert_int_equal(corpus_tsv_next(&t, f, 4), 2); /* line 3 is empty: skipped */
    assert_int_equal(t.line_no, 4);
    assert_string_equal(f[1], "no");
    assert_null(f[2]);
    assert_null(f[3]);
    assert_int_equal(corpus_tsv_fail(&t, "not four tab-separated fields"), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "index.tsv:4: not four tab-separated fields"));
    assert_int_equal(corpus_tsv_next(&t, f, 4), 4);
    assert_string_equal(f[3], "spk\t3");
    assert_int_equal(corpus_tsv_next(&t, f, 4), 0);
    assert_int_equal(corpus_tsv_next(&t, f, 4), 0);
    corpus_tsv_close(&t);

    /* no header, empty lines kept: every line in turn */
    assert_int_equal(corpus_tsv_open(&t, p, CORPUS_TSV_KEEP_EMPTY), TS_OK);
    int counts[5];
    for (int i = 0; i < 5; i++) counts[i] = corpus_tsv_next(&t, f, 2);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 1);
    assert_string_equal(f[0], "c/3.flac");
    assert_string_equal(f[1], "up\tup\tspk\t3");
    assert_int_equal(corpus_tsv_next(&t, f, 2), 0);
    corpus_tsv_close(&t);

    assert_int_equal(corpus_tsv_open(&t, tu_path(dir, "missing.tsv"), 0), TS_ERR_INPUT);
    corpus_tsv_close(&t);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_header_and_empty_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
