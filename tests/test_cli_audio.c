/* `tessera info` and `tessera mel` on audio: output, exit codes, bad files,
 * usage errors. Runs build/tessera (or $TESSERA_BIN). */
#include "tessera.h"
#include "tests/testutil.h"

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void copy_file(const char *from, const char *to) {
    size_t len;
    char *b = tu_read_file(from, &len);
    assert_non_null(b);
    tu_write_file(to, b, len);
    free(b);
}

static void test_info_text_and_json(void **state) {
    tu_run_result r = tu_run("info %s", tu_sample("digit_seven.wav"));
    assert_int_equal(r.code, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, "kind:        audio\n"));
    assert_non_null(strstr(r.out, "container:   wav (pcm_s16)\n"));
    assert_non_null(strstr(r.out, "sample rate: 8000 Hz\n"));
    assert_non_null(strstr(r.out, "channels:    1\n"));
    assert_non_null(strstr(r.out, "frames:      4301\n"));
    assert_non_null(strstr(r.out, "duration:    0.538 s\n"));
    assert_non_null(strstr(r.out, "log-mel:     80 x 53 ")); /* 4301 at 8 kHz = 8602 at 16 kHz */
    tu_run_free(&r);

    r = tu_run("info --json %s", tu_sample("word_yes.flac"));
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    assert_non_null(strstr(r.out, "\"kind\":\"audio\""));
    assert_non_null(strstr(r.out, "\"container\":\"flac\",\"codec\":\"flac\""));
    assert_non_null(
        strstr(r.out, "\"sample_rate\":16000,\"channels\":1,\"bits\":16,\"frames\":16000"));
    assert_non_null(strstr(r.out, "\"seconds\":1.000000"));
    assert_non_null(strstr(r.out, "\"log_mel\":{\"shape\":[80,100]"));
    tu_run_free(&r);

    r = tu_run("info --json %s", tu_sample("sentence.wav"));
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "\"sample_rate\":8000"));
    assert_non_null(strstr(r.out, "\"shape\":[80,242]"));
    tu_run_free(&r);
}

/* Found by content: an Ogg/Vorbis stereo file named .png, and the sample
 * WAV named .txt. */
static void test_info_by_content_not_name(void **state) {
    char *dir = tu_mkdtemp();
    const char *ogg = tu_path(dir, "really_ogg.png");
    int n = 22050;
    float *x = malloc(sizeof(float) * 2 * n);
    for (int i = 0; i < 2 * n; i++)
        x[i] = (float)(0.3 * sin(i * 0.05));
    SF_INFO si = {.samplerate = 22050, .channels = 2, .format = SF_FORMAT_OGG | SF_FORMAT_VORBIS};
    SNDFILE *sf = sf_open(ogg, SFM_WRITE, &si);
    assert_non_null(sf);
    assert_int_equal(sf_writef_float(sf, x, n), n);
    sf_close(sf);
    free(x);
    tu_run_result r = tu_run("info --json '%s'", ogg);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(
        r.out, "\"container\":\"ogg\",\"codec\":\"vorbis\",\"sample_rate\":22050,\"channels\":2"));
    assert_non_null(strstr(r.out, "\"frames\":22050"));
    assert_non_null(strstr(r.out, "\"shape\":[80,100]"));
    tu_run_free(&r);

    const char *txt = tu_path(dir, "seven.txt");
    copy_file(tu_sample("digit_seven.wav"), txt);
    r = tu_run("info '%s'", txt);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "kind:        audio"));
    tu_run_free(&r);
    tu_rmdir(dir);
}

static void test_mel_writes_png_and_npy(void **state) {
    char *dir = tu_mkdtemp();
    const char *out = tu_path(dir, "yes");
    tu_run_result r = tu_run("mel %s -o '%s'", tu_sample("word_yes.flac"), out);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    assert_int_equal(count_entries(dir), 2); /* yes.png, yes.npy and no temp files */

    float *mel = tu_read_npy_2d(tu_path(dir, "yes.npy"), 80, 100); /* 16000 samples / 160 */
    assert_non_null(mel);
    /* the same values as the library gives */
    float *pcm, *ref;
    size_t n;
    int T;
    assert_int_equal(ts_audio_load_file(tu_sample("word_yes.flac"), &pcm, &n), TS_OK);
    assert_int_equal(ts_logmel(pcm, n, 1, &ref, &T), TS_OK);
    assert_int_equal(T, 100);
    assert_memory_equal(mel, ref, sizeof(float) * 80 * 100);
    free(pcm);
    free(ref);
    free(mel);

    ts_image_info info;
    assert_int_equal(ts_image_probe_file(tu_path(dir, "yes.png"), &info), TS_OK);
    assert_int_equal(info.format, TS_IMAGE_PNG);
    assert_int_equal(info.width, 100);
    assert_int_equal(info.height, 80);

    /* a trailing .npy on OUT is dropped; -t changes nothing in the bytes */
    const char *out2 = tu_path(dir, "sentence.npy");
    r = tu_run("mel -t 2 %s -o '%s'", tu_sample("sentence.wav"), out2);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    const char *out3 = tu_path(dir, "sentence1");
    r = tu_run("mel %s -t 1 -o '%s'", tu_sample("sentence.wav"), out3);
    assert_int_equal(r.code, 0);
    tu_run_free(&r);
    size_t l2, l3;
    char *b2 = tu_read_file(tu_path(dir, "sentence.npy"), &l2);
    char *b3 = tu_read_file(tu_path(dir, "sentence1.npy"), &l3);
    assert_non_null(b2);
    assert_non_null(b3);
    assert_int_equal(l2, l3);
    assert_memory_equal(b2, b3, l2);
    assert_true(exists(tu_path(dir, "sentence.png")));
    assert_false(exists(tu_path(dir, "sentence.npy.png")));
    free(b2);
    free(b3);
    tu_rmdir(dir);
}

/* exit 2, exactly one stderr line naming the file, nothing on stdout, no
 * output (and no temp file) written, an older output left alone */
static void expect_mel_fails(const char *dir, const char *input, const char *what,
                             bool info_fails) {
    const char *out = tu_path(dir, "out/m");
    tu_run_result r = tu_run("mel '%s' -o '%s'", input, out);
    if (r.code != 2 || !strstr(r.err, what)) fprintf(stderr, "%s -> %d: %s", input, r.code, r.err);
    assert_int_equal(r.code, 2);
    assert_int_equal(tu_count_lines(r.err), 1);
    assert_non_null(strstr(r.err, input));
    assert_non_null(strstr(r.err, what));
    assert_string_equal(r.out, "");
    tu_run_free(&r);
    assert_false(exists(tu_path(dir, "out/m.npy")));
    assert_int_equal(count_entries(tu_path(dir, "out")), 1); /* only the old m.png */
    r = tu_run("info '%s'", input);
    if (info_fails) {
        assert_int_equal(r.code, 2);
        assert_int_equal(tu_count_lines(r.err), 1);
        assert_non_null(strstr(r.err, input));
    } else { /* a valid file: info says what is wrong for the model */
        assert_int_equal(r.code, 0);
        assert_non_null(strstr(r.out, what));
    }
    tu_run_free(&r);
}

static void test_bad_files_exit_2(void **state) {
    char *dir = tu_mkdtemp();
    mkdir(tu_path(dir, "out"), 0755);
    tu_write_file(tu_path(dir, "out/m.png"), "old", 3); /* a previous run's output */
    const char *text = tu_path(dir, "text.wav");
    tu_write_file(text, "this is text, not audio\n", 24);
    expect_mel_fails(dir, text, "not an", true);
    const char *empty = tu_path(dir, "empty.wav");
    tu_write_file(empty, "", 0);
    expect_mel_fails(dir, empty, "empty", true);
    size_t len;
    char *wav = tu_read_file(tu_sample("digit_seven.wav"), &len);
    const char *cut = tu_path(dir, "cut.wav");
    tu_write_file(cut, wav, len / 3);
    expect_mel_fails(dir, cut, "truncated", true);
    char *bad = malloc(len);
    memcpy(bad, wav, len);
    memset(bad + 24, 0, 4); /* sample rate 0 */
    const char *r0 = tu_path(dir, "rate0.wav");
    tu_write_file(r0, bad, len);
    expect_mel_fails(dir, r0, "sample rate", true);
    memcpy(bad, wav, len);
    memset(bad + 22, 0, 2); /* 0 channels */
    const char *c0 = tu_path(dir, "ch0.wav");
    tu_write_file(c0, bad, len);
    expect_mel_fails(dir, c0, "channels", true);
    /* a valid WAV of 50 samples: loads, but is too short for one frame */
    memcpy(bad, wav, 44);
    uint32_t data = 100, riff = 136;
    memcpy(bad + 40, &data, 4);
    memcpy(bad + 4, &riff, 4);
    const char *shortw = tu_path(dir, "short.wav");
    tu_write_file(shortw, bad, 144);
    expect_mel_fails(dir, shortw, "too short", false);
    const char *sub = tu_path(dir, "a_dir.wav");
    mkdir(sub, 0755);
    expect_mel_fails(dir, sub, "directory", true);
    expect_mel_fails(dir, tu_path(dir, "missing.wav"), "No such file", true);
    free(bad);
    free(wav);
    tu_rmdir(dir);
}

static void test_usage_errors_exit_1(void **state) {
    char *dir = tu_mkdtemp();
    const char *x = tu_path(dir, "x");
    char cmds[9][1024];
    snprintf(cmds[0], 1024, "mel");                                       /* no input */
    snprintf(cmds[1], 1024, "mel samples/word_yes.flac");                 /* no -o */
    snprintf(cmds[2], 1024, "mel samples/word_yes.flac -o");              /* -o without a value */
    snprintf(cmds[3], 1024, "mel samples/word_yes.flac -o %s -t 0", x);   /* bad thread count */
    snprintf(cmds[4], 1024, "mel samples/word_yes.flac -o %s -t two", x); /* not a number */
    snprintf(cmds[5], 1024, "mel samples/word_yes.flac --bogus -o %s", x);
    snprintf(cmds[6], 1024, "mel samples/word_yes.flac samples/sentence.wav -o %s", x);
    snprintf(cmds[7], 1024, "info");
    snprintf(cmds[8], 1024, "info --nope samples/word_yes.flac");
    for (size_t i = 0; i < 9; i++) {
        tu_run_result r = tu_run("%s", cmds[i]);
        if (r.code != 1) fprintf(stderr, "'%s' -> %d\n", cmds[i], r.code);
        assert_int_equal(r.code, 1);
        assert_string_equal(r.out, "");
        assert_true(strlen(r.err) > 0);
        tu_run_free(&r);
    }
    assert_int_equal(count_entries(dir), 0); /* nothing written */
    tu_run_result r = tu_run("mel --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: tessera mel"));
    tu_run_free(&r);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_text_and_json),
        cmocka_unit_test(test_info_by_content_not_name),
        cmocka_unit_test(test_mel_writes_png_and_npy),
        cmocka_unit_test(test_bad_files_exit_2),
        cmocka_unit_test(test_usage_errors_exit_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
