/* The held-out evaluation set as files, so that bench/model_accuracy.sh runs
 * `tessera caption` and `tessera ask` on exactly what a user would give
 * them, and checks the answers against labels.tsv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tessera/audio.h"
#include "tessera/dataset.h"
#include "tessera/image.h"
#include "fusion/corpus_internal.h"
#include "tessera/pipeline.h"

static const char *const digit_words[10] = {"zero", "one", "two",   "three", "four",
                                            "five", "six", "seven", "eight", "nine"};

ts_status ts_wav_write(const char *path, const float *pcm, size_t n) {
    if (n > 0x3fffffff) return ts_fail(TS_ERR_USAGE, "%s: %zu samples is too long for WAV", path, n);
    ts_outfile o;
    ts_status s = ts_outfile_open(&o, path);
    if (s) return s;
    uint8_t h[44];
    uint32_t v32;
    uint16_t v16;
    memcpy(h, "RIFF", 4), v32 = 36 + 2 * (uint32_t)n, memcpy(h + 4, &v32, 4);
    memcpy(h + 8, "WAVEfmt ", 8), v32 = 16, memcpy(h + 16, &v32, 4);
    v16 = 1, memcpy(h + 20, &v16, 2), memcpy(h + 22, &v16, 2);
    v32 = TS_SAMPLE_RATE, memcpy(h + 24, &v32, 4), v32 = 2 * TS_SAMPLE_RATE, memcpy(h + 28, &v32, 4);
    v16 = 2, memcpy(h + 32, &v16, 2), v16 = 16, memcpy(h + 34, &v16, 2);
    memcpy(h + 36, "data", 4), v32 = 2 * (uint32_t)n, memcpy(h + 40, &v32, 4);
    fwrite(h, 1, 44, o.fp);
    for (size_t i = 0; i < n; i++) {
        float x = pcm[i] * 32767.0f;
        int16_t v = (int16_t)(x > 32767 ? 32767 : x < -32768 ? -32768 : x + (x >= 0 ? 0.5f : -0.5f));
        fwrite(&v, 2, 1, o.fp);
    }
    if (ferror(o.fp)) {
        ts_outfile_abort(&o);
        return ts_fail(TS_ERR_IO, "%s: write failed", path);
    }
    return ts_outfile_commit(&o);
}

static ts_status make_dir(const char *path) {
    if (mkdir(path, 0755) && errno != EEXIST) return ts_fail(TS_ERR_IO, "%s: cannot create folder", path);
    return TS_OK;
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static ts_status export_mnist(const char *data, const char *out, FILE *lab, int max) {
    char ip[1024], lp[1024], dir[1024];
    snprintf(ip, sizeof ip, "%s/mnist/t10k-images-idx3-ubyte.gz", data);
    snprintf(lp, sizeof lp, "%s/mnist/t10k-labels-idx1-ubyte.gz", data);
    if (!exists(ip)) return TS_OK;
    uint8_t *px = NULL, *labels = NULL;
    int n, rows, cols;
    ts_status s = ts_mnist_read(ip, &px, &n, &rows, &cols);
    int ll = 0;
    if (!s) s = corpus_read_labels(lp, &labels, &ll);
    if (!s && ll != n) s = ts_fail(TS_ERR_INPUT, "%s: %d labels for %d images", lp, ll, n);
    snprintf(dir, sizeof dir, "%s/mnist", out);
    if (!s) s = make_dir(dir);
    uint8_t rgb[32 * 32 * 3];
    for (int i = 0; !s && i < n && (max <= 0 || i < max); i++) {
        ts_mnist_pad(px + (size_t)i * rows * cols, rows, cols, 32, rgb);
        char f[1100];
        snprintf(f, sizeof f, "%s/%05d.png", dir, i);
        if (!(s = ts_png_write(f, rgb, 32, 32, 3))) fprintf(lab, "mnist\t%s\t%d\n", f, labels[i]);
    }
    free(px);
    free(labels);
    return s;
}

static ts_status export_cifar(const char *data, const char *out, FILE *lab, int max) {
    char tp[1024], dir[1024];
    snprintf(tp, sizeof tp, "%s/cifar10/test.tar", data);
    if (!exists(tp)) return TS_OK;
    snprintf(dir, sizeof dir, "%s/cifar10", out);
    ts_status s = make_dir(dir);
    ts_mapped_file m;
    if (s || (s = ts_map_file(tp, &m))) return s;
    ts_tar t;
    ts_tar_init(&t, m.data, m.len, tp);
    /* the tar is sorted by class: take every class's first max/10 */
    int per_class[16] = {0}, cls = -1;
    char last[64] = "";
    for (bool done = false; !s;) {
        ts_tar_member mem;
        if ((s = ts_tar_next(&t, &mem, &done)) || done) break;
        if (mem.type != '0' && mem.type != '\0') continue;
        char *slash = strchr(mem.name, '/');
        if (!slash) continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(slash - mem.name), mem.name);
        if (strcmp(name, last)) snprintf(last, sizeof last, "%s", name), cls++;
        if (cls < 0 || cls >= 16 || (max > 0 && per_class[cls] >= (max + 9) / 10)) continue;
        per_class[cls]++;
        char f[1200];
        snprintf(f, sizeof f, "%s/%s_%s", dir, name, slash + 1);
        ts_outfile o;
        if ((s = ts_outfile_open(&o, f))) break;
        fwrite(mem.data, 1, mem.size, o.fp);
        if ((s = ts_outfile_commit(&o))) break;
        fprintf(lab, "cifar10\t%s\t%s\n", f, name);
    }
    ts_unmap_file(&m);
    return s;
}

static ts_status export_generated(const char *out, FILE *lab, uint64_t seed, int scenes, int tones) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/scenes", out);
    ts_status s = make_dir(dir);
    uint8_t rgb[32 * 32 * 3];
    for (int i = 0; !s && i < scenes; i++) {
        ts_scene sc;
        ts_scene_make(seed, (uint64_t)i, TS_SPLIT_VAL, &sc);
        ts_scene_render(&sc, rgb);
        char f[1100], cap[200];
        snprintf(f, sizeof f, "%s/%05d.png", dir, i);
        ts_scene_caption(&sc, cap, sizeof cap);
        if (!(s = ts_png_write(f, rgb, 32, 32, 3))) fprintf(lab, "scenes\t%s\t%s\n", f, cap);
        /* each position of a 2- or 3-shape scene, asked as the corpus asks
         * it: the question in a fourth column */
        char q[64], a[64];
        for (int k = 0; !s && ts_scene_part_question(&sc, k, q, sizeof q, a, sizeof a); k++)
            fprintf(lab, "scene_parts\t%s\t%s\t%s\n", f, a, q);
    }
    snprintf(dir, sizeof dir, "%s/tones", out);
    if (!s) s = make_dir(dir);
    float *pcm = malloc(sizeof *pcm * TS_TONE_SAMPLES);
    if (!s && !pcm) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    /* the val clips are the corpus's val indices (from 1 << 40); beeps only */
    for (uint64_t i = 0, k = 0; !s && (int)k < tones && i < (uint64_t)tones * 4; i++) {
        ts_tone t;
        ts_tone_make(seed, ((uint64_t)1 << 40) + i, &t);
        if (t.kind != TS_TONE_BEEPS) continue;
        ts_tone_render(&t, seed, pcm);
        char f[1100];
        snprintf(f, sizeof f, "%s/%05d.wav", dir, (int)k++);
        if (!(s = ts_wav_write(f, pcm, TS_TONE_SAMPLES)))
            fprintf(lab, "beeps\t%s\t%s\n", f, ts_number_word(t.count));
    }
    free(pcm);
    return s;
}

static ts_status export_fsdd(const char *data, FILE *lab, const char *speaker, int max) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fsdd/recordings", data);
    if (!exists(dir)) return TS_OK;
    char **names;
    int n;
    ts_status s = ts_list_dir(dir, "", &names, &n);
    /* DIGIT_SPEAKER_TAKE.wav, the speaker's in name order */
    for (int i = 0, k = 0; !s && i < n && (max <= 0 || k < max); i++) {
        char spk[64];
        int digit;
        if (sscanf(names[i], "%d_%63[^_]_", &digit, spk) != 2 || digit < 0 || digit > 9 ||
            strcmp(spk, speaker))
            continue;
        fprintf(lab, "fsdd\t%s/%s\t%s\n", dir, names[i], digit_words[digit]);
        k++;
    }
    ts_free_names(names, n);
    return s;
}

static ts_status export_sc(const char *data, const char *out, FILE *lab, int pct, int max) {
    char ip[1024];
    snprintf(ip, sizeof ip, "%s/speech_commands/index.tsv", data);
    if (!exists(ip)) return TS_OK;
    corpus_tsv idx;
    ts_status s = corpus_tsv_open(&idx, ip, CORPUS_TSV_HEADER);
    if (s) return s;
    int k = 0, nf;
    char *f[4]; /* path, word, class, speaker */
    while ((max <= 0 || k < max) && (nf = corpus_tsv_next(&idx, f, 4))) {
        /* a malformed line is the corpus reader's error; here it is skipped */
        if (nf < 4 || !ts_sc_speaker_is_val(f[3], pct)) continue;
        fprintf(lab, "speech_commands\t%s/speech_commands/%s\t%s\n", data, f[0],
                strcmp(f[2], "_unknown_") ? f[2] : "unknown");
        k++;
    }
    corpus_tsv_close(&idx);
    /* the val noise slices (every tenth, as the corpus holds them out) */
    char bg[1024], dir[1024];
    snprintf(bg, sizeof bg, "%s/speech_commands/_background_noise_", data);
    snprintf(dir, sizeof dir, "%s/silence", out);
    if (!exists(bg)) return TS_OK;
    char **names;
    int n;
    if (!(s = ts_list_dir(bg, ".flac", &names, &n))) s = make_dir(dir);
    /* the corpus scales each slice by a random gain; the export keeps the
     * recordings as they are, a fair test of "silence" */
    int slice = 0;
    for (int i = 0; !s && i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", bg, names[i]);
        float *pcm;
        size_t np;
        if ((s = ts_audio_load_file(path, &pcm, &np))) break;
        for (size_t off = 0; !s && off + TS_SAMPLE_RATE <= np; off += TS_SAMPLE_RATE, slice++) {
            if (slice % 10 != 9) continue;
            char fo[1200];
            snprintf(fo, sizeof fo, "%s/%04d.wav", dir, slice);
            if (!(s = ts_wav_write(fo, pcm + off, TS_SAMPLE_RATE)))
                fprintf(lab, "speech_commands\t%s\tsilence\n", fo);
        }
        free(pcm);
    }
    ts_free_names(names, n);
    return s;
}

ts_status ts_corpus_export_val(const char *data_dir, const char *out_dir,
                               const ts_corpus_options *o, uint64_t seed, int max_per_task) {
    ts_status s = make_dir(out_dir);
    if (s) return s;
    char lp[1024];
    snprintf(lp, sizeof lp, "%s/labels.tsv", out_dir);
    ts_outfile lab;
    if ((s = ts_outfile_open(&lab, lp))) return s;
    int gen = max_per_task > 0 ? max_per_task : 1000;
    s = export_mnist(data_dir, out_dir, lab.fp, max_per_task);
    if (!s) s = export_cifar(data_dir, out_dir, lab.fp, max_per_task);
    if (!s) s = export_generated(out_dir, lab.fp, seed, gen, gen);
    if (!s) s = export_fsdd(data_dir, lab.fp, o->fsdd_val_speaker ? o->fsdd_val_speaker : "theo", max_per_task);
    if (!s) s = export_sc(data_dir, out_dir, lab.fp, o->sc_val_percent, max_per_task);
    if (s) {
        ts_outfile_abort(&lab);
        return s;
    }
    return ts_outfile_commit(&lab);
}
