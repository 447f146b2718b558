/* core/: RNG, thread pool, files written atomically, folder listings, .npy,
 * JSON strings, progress lines. */
#include "tessera.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_rng_deterministic_and_uniform(void **state) {
    ts_rng a, b;
    ts_rng_seed(&a, 42);
    ts_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) assert_true(ts_rng_u64(&a) == ts_rng_u64(&b));
    /* mean of uniforms near 0.5, normals near 0 with variance near 1 */
    double su = 0, sn = 0, sn2 = 0;
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        float u = ts_rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        su += u;
        float z = ts_rng_normal(&a);
        sn += z, sn2 += (double)z * z;
        counts[ts_rng_below(&a, 10)]++;
    }
    assert_true(fabs(su / 1e5 - 0.5) < 0.01);
    assert_true(fabs(sn / 1e5) < 0.02);
    assert_true(fabs(sn2 / 1e5 - 1.0) < 0.03);
    for (int i = 0; i < 10; i++) assert_true(counts[i] > 9500 && counts[i] < 10500);
}

static void test_shuffle_is_permutation(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 7);
    uint32_t v[100];
    for (uint32_t i = 0; i < 100; i++) v[i] = i;
    ts_rng_shuffle_u32(&r, v, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) seen[v[i]]++, moved += v[i] != (uint32_t)i;
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
    assert_true(moved > 80);
}

typedef struct {
    int64_t sums[4];
    int hits[1000];
} pool_ctx;

static void pool_task(void *vctx, int i, int n, int worker) {
    pool_ctx *c = vctx;
    c->hits[i]++;
    c->sums[worker] += i;
}

static void test_pool_runs_every_task_once_statically(void **state) {
    for (int threads = 1; threads <= 4; threads++) {
        ts_pool *p = ts_pool_new(threads);
        assert_int_equal(ts_pool_threads(p), threads);
        for (int rep = 0; rep < 20; rep++) {
            pool_ctx c;
            memset(&c, 0, sizeof c);
            ts_pool_run(p, 1000, pool_task, &c);
            int64_t total = 0;
            for (int i = 0; i < 1000; i++) assert_int_equal(c.hits[i], 1);
            for (int w = 0; w < threads; w++) {
                /* static assignment: worker w gets i = w, w+T, ... */
                int64_t want = 0;
                for (int i = w; i < 1000; i += threads) want += i;
                assert_true(c.sums[w] == want);
                total += c.sums[w];
            }
            assert_true(total == 999 * 1000 / 2);
        }
        ts_pool_free(p);
    }
}

static void test_read_file_errors(void **state) {
    char *dir = tu_mkdtemp();
    uint8_t *d;
    size_t n;
    assert_int_equal(ts_read_file(dir, 0, &d, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "is a directory"));
    assert_int_equal(ts_read_file(tu_path(dir, "missing"), 0, &d, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing"));
    tu_write_file(tu_path(dir, "ten"), "0123456789", 10);
    assert_int_equal(ts_read_file(tu_path(dir, "ten"), 5, &d, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "limit"));
    assert_int_equal(ts_read_file(tu_path(dir, "ten"), 0, &d, &n), TS_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(d, "0123456789", 10);
    free(d);
    tu_rmdir(dir);
}

static void test_list_dir_sorted_by_suffix(void **state) {
    char *dir = tu_mkdtemp();
    /* written out of order, with a hidden file and a sub-folder */
    const char *files[] = {"b.wav", "a.flac", "10.wav", "9.wav", ".hidden.wav", "notes.txt"};
    for (int i = 0; i < 6; i++)
        tu_write_file(tu_path(dir, files[i]), "x", 1);
    char sub_dir[600];
    snprintf(sub_dir, sizeof sub_dir, "%s/z.wav", dir);
    assert_int_equal(mkdir(sub_dir, 0700), 0);
    char **names;
    int n;
    assert_int_equal(ts_list_dir(dir, ".wav", &names, &n), TS_OK);
    const char *wav[] = {"10.wav", "9.wav", "b.wav", "z.wav"}; /* byte order, folders too */
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_string_equal(names[i], wav[i]);
    ts_free_names(names, n);
    assert_int_equal(ts_list_dir(dir, "", &names, &n), TS_OK);
    assert_int_equal(n, 6); /* all but the hidden one */
    assert_string_equal(names[0], "10.wav");
    assert_string_equal(names[5], "z.wav");
    ts_free_names(names, n);
    assert_int_equal(ts_list_dir(tu_path(dir, "missing"), "", &names, &n), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing: cannot open folder"));
    assert_int_equal(n, 0);
    ts_free_names(names, n);
    tu_rmdir(dir);
}

static void test_outfile_is_atomic(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "out.txt");
    tu_write_file(path, "old", 3);
    ts_outfile o;
    assert_int_equal(ts_outfile_open(&o, path), TS_OK);
    fputs("new contents", o.fp);
    ts_outfile_abort(&o);
    size_t n;
    char *s = tu_read_file(path, &n);
    assert_string_equal(s, "old"); /* abort leaves the old file untouched */
    free(s);
    assert_int_equal(ts_outfile_open(&o, path), TS_OK);
    fputs("new contents", o.fp);
    assert_int_equal(ts_outfile_commit(&o), TS_OK);
    s = tu_read_file(path, &n);
    assert_string_equal(s, "new contents");
    free(s);
    /* only out.txt remains: no temp files */
    tu_run_result r = {0};
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int count = 0;
    assert_int_equal(fscanf(p, "%d", &count), 1);
    pclose(p);
    assert_int_equal(count, 1);
    (void)r;
    assert_int_equal(ts_outfile_open(&o, "/nonexistent-dir/x"), TS_ERR_IO);
    tu_rmdir(dir);
}

static void test_npy_round_trip_and_header(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "a.npy");
    float v[6] = {1, -2, 3.5f, 0, 1e-10f, 7};
    assert_int_equal(ts_npy_write_f32(path, v, (int64_t[]){2, 3}, 2), TS_OK);
    size_t n;
    char *raw = tu_read_file(path, &n);
    assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
    size_t hl = (uint8_t)raw[8] | (size_t)(uint8_t)raw[9] << 8;
    assert_int_equal((10 + hl) % 64, 0); /* data aligned as numpy writes it */
    assert_non_null(strstr(raw + 10, "'shape': (2, 3)"));
    assert_int_equal(n, 10 + hl + sizeof v);
    free(raw);
    float *back;
    int64_t shape[4];
    int nd;
    assert_int_equal(ts_npy_read_f32(path, &back, shape, &nd, 4), TS_OK);
    assert_int_equal(nd, 2);
    assert_true(shape[0] == 2 && shape[1] == 3);
    assert_memory_equal(back, v, sizeof v);
    free(back);
    /* 1-D shapes keep numpy's trailing comma */
    assert_int_equal(ts_npy_write_f32(path, v, (int64_t[]){6}, 1), TS_OK);
    raw = tu_read_file(path, &n);
    assert_non_null(strstr(raw + 10, "'shape': (6,)"));
    free(raw);
    tu_rmdir(dir);
}

static char *json_of(const char *s, size_t n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ts_json_put_string_n(f, s, n);
    fclose(f);
    return buf;
}

static void test_json_strings(void **state) {
    char *j = json_of("a\"b\\c\nd\x01", 8);
    assert_string_equal(j, "\"a\\\"b\\\\c\\nd\\u0001\"");
    free(j);
    j = json_of("caf\xc3\xa9", 5); /* valid UTF-8 passes through */
    assert_string_equal(j, "\"caf\xc3\xa9\"");
    free(j);
    j = json_of("x\xff\xc3", 3); /* invalid bytes are escaped */
    assert_string_equal(j, "\"x\\u00ff\\u00c3\"");
    free(j);
}

/* A run resumed halfway: the ETA is this run's own rate times the steps
 * left, not the whole run's elapsed time spread over steps it never ran. */
static void test_progress_eta_counts_this_run(void **state) {
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0 && dup2(fileno(f), STDERR_FILENO) == STDERR_FILENO);
    ts_progress p;
    ts_progress_init(&p, 0);
    p.tty = false; /* plain lines even where the tests run on a terminal */
    ts_progress_update(&p, 16000, 32000, true, "step %d", 16000);
    p.start -= 100, p.first_time -= 100; /* 100 s and 100 steps later */
    ts_progress_update(&p, 16100, 32000, true, NULL);
    ts_progress_finish(&p);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char out[256] = "";
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    assert_string_equal(out, "16000/32000 (50.0%) step 16000 elapsed 0s ETA --\n"
                             "16100/32000 (50.3%) elapsed 100s ETA 4h25m\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_deterministic_and_uniform),
        cmocka_unit_test(test_shuffle_is_permutation),
        cmocka_unit_test(test_pool_runs_every_task_once_statically),
        cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_list_dir_sorted_by_suffix),
        cmocka_unit_test(test_outfile_is_atomic),
        cmocka_unit_test(test_npy_round_trip_and_header),
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_progress_eta_counts_this_run),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
