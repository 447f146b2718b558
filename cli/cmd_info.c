/* tessera info FILE [--json]: what the front ends see in an image or audio
 * file, or what a GGUF model file holds, chosen by its content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *format_name(ts_image_format f) {
    return f == TS_IMAGE_PNG ? "png" : f == TS_IMAGE_JPEG ? "jpeg" : "unknown";
}

static void print_image(const char *path, const ts_image_info *in, bool json) {
    bool rotated = in->orientation >= 5; /* EXIF 5..8 swap the axes */
    int w = rotated ? in->height : in->width, h = rotated ? in->width : in->height;
    if (json) {
        printf("{\"file\":");
        ts_json_put_string(stdout, path);
        printf(",\"kind\":\"image\",\"container\":\"%s\",\"width\":%d,\"height\":%d,"
               "\"channels\":%d,\"bit_depth\":%d,\"color\":\"%s\",\"interlaced\":%s,"
               "\"orientation\":%d,\"oriented_width\":%d,\"oriented_height\":%d,"
               "\"model_input\":{\"shape\":[3,32,32],\"layout\":\"CHW\",\"dtype\":\"float32\","
               "\"range\":[-1,1]}}\n",
               format_name(in->format), in->width, in->height, in->channels, in->bit_depth,
               in->color, in->interlaced ? "true" : "false", in->orientation, w, h);
        return;
    }
    printf("file:        %s\n", path);
    printf("kind:        image\n");
    printf("container:   %s%s\n", format_name(in->format),
           in->interlaced ? (in->format == TS_IMAGE_PNG ? " (interlaced)" : " (progressive)") : "");
    printf("size:        %d x %d\n", in->width, in->height);
    printf("channels:    %d (%s)\n", in->channels, in->color);
    printf("bit depth:   %d\n", in->bit_depth);
    if (in->orientation != 1)
        printf("orientation: EXIF %d (shown as %d x %d)\n", in->orientation, w, h);
    printf("model input: 3 x 32 x 32 float32 in [-1, 1] (planar RGB)\n");
}

static void print_audio(const char *path, const ts_audio_info *in, bool json) {
    long long n16 = (long long)ts_audio_samples_16k(in->frames, in->sample_rate);
    long long T = n16 < 0 ? -1 : n16 / TS_HOP; /* -1: length unknown from the header */
    if (json) { /* an unknown length (a streamed file's header) is null */
        char frames[32] = "null", secs[32] = "null", samples[32] = "null", t[32] = "null";
        if (n16 >= 0) {
            snprintf(frames, sizeof frames, "%lld", (long long)in->frames);
            snprintf(secs, sizeof secs, "%.6f", in->seconds);
            snprintf(samples, sizeof samples, "%lld", n16);
            snprintf(t, sizeof t, "%lld", T);
        }
        printf("{\"file\":");
        ts_json_put_string(stdout, path);
        printf(",\"kind\":\"audio\",\"container\":\"%s\",\"codec\":\"%s\",\"sample_rate\":%d,"
               "\"channels\":%d,\"bits\":%d,\"frames\":%s,\"seconds\":%s,"
               "\"model_input\":{\"sample_rate\":%d,\"channels\":1,\"samples\":%s},"
               "\"log_mel\":{\"shape\":[%d,%s],\"sample_rate\":%d,\"hop\":%d}}\n",
               in->container, in->codec, in->sample_rate, in->channels, in->bits, frames, secs,
               TS_SAMPLE_RATE, samples, TS_N_MELS, t, TS_SAMPLE_RATE, TS_HOP);
        return;
    }
    printf("file:        %s\n", path);
    printf("kind:        audio\n");
    printf("container:   %s (%s", in->container, in->codec);
    if (in->bits && strncmp(in->codec, "pcm_", 4)) printf(", %d-bit", in->bits);
    printf(")\n");
    printf("sample rate: %d Hz\n", in->sample_rate);
    printf("channels:    %d\n", in->channels);
    if (in->frames < 0) {
        printf("frames:      unknown\n");
        printf("log-mel:     %d x T (T = samples at 16 kHz / %d)\n", TS_N_MELS, TS_HOP);
        return;
    }
    printf("frames:      %lld\n", (long long)in->frames);
    printf("duration:    %.3f s\n", in->seconds);
    printf("model input: %lld samples, mono, %d Hz\n", n16, TS_SAMPLE_RATE);
    printf("log-mel:     %d x %lld (hop %d)%s\n", TS_N_MELS, T, TS_HOP,
           T < 1 ? ": too short, needs at least 10 ms" : "");
}

/* ---- GGUF model files ------------------------------------------------------------------- */

/* A part of a model file as `ts_pipeline_load` finds it: the key that says
 * it is there; its tensors by name (vq.* the VQ-VAE, the rest the decoder;
 * the tokenizer is keys only). */
enum { PART_TOKENIZER, PART_VQ, PART_DECODER, N_PARTS };
static const char *const PART_NAMES[N_PARTS] = {"tokenizer", "VQ-VAE", "decoder"};
static const char *const PART_JSON[N_PARTS] = {"tokenizer", "vq", "decoder"};
static const char *const PART_KEYS[N_PARTS] = {"tokenizer.ggml.tokens", "tessera.vq.codebook_size",
                                               "tessera.block_count"};
/* the dtypes a tessera file may hold, in the order they are listed */
static const ts_dtype DTYPES[] = {TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_Q8_0};
#define N_DTYPES 4

typedef struct {
    bool present;
    int64_t tensors, params;
    int64_t by_dtype[N_DTYPES]; /* parameters stored as each dtype */
} part_stats;

/* an integer key's value, -1 when absent or not an integer that fits */
static long long key_int(const ts_gguf *g, const char *key) {
    uint64_t v;
    if (ts_gguf_find_key(g, key) < 0 || ts_gguf_get_u64(g, key, &v) || v > (1ull << 40)) return -1;
    return (long long)v;
}

static long long arr_len(const ts_gguf *g, const char *key) {
    ts_gguf_type et;
    const void *data;
    size_t n;
    if (ts_gguf_find_key(g, key) < 0 || ts_gguf_get_arr(g, key, &et, &data, &n)) return -1;
    return (long long)n;
}

static void gguf_stats(const ts_gguf *g, part_stats *parts) {
    memset(parts, 0, sizeof *parts * N_PARTS);
    for (int p = 0; p < N_PARTS; p++)
        parts[p].present = ts_gguf_find_key(g, PART_KEYS[p]) >= 0;
    for (int64_t i = 0; i < ts_gguf_n_tensors(g); i++) {
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        part_stats *ps = &parts[strncmp(t->name, "vq.", 3) ? PART_DECODER : PART_VQ];
        ps->tensors++;
        ps->params += t->n_elements;
        for (int d = 0; d < N_DTYPES; d++)
            if (t->dtype == DTYPES[d]) ps->by_dtype[d] += t->n_elements;
    }
}

/* "12.3 M" style counts for the text output */
static void human_count(char *out, size_t n, long long v) {
    if (v >= 1000000)
        snprintf(out, n, "%.2f M", (double)v / 1e6);
    else if (v >= 1000)
        snprintf(out, n, "%.1f k", (double)v / 1e3);
    else
        snprintf(out, n, "%lld", v);
}

static void print_dtypes_text(const part_stats *ps) {
    bool first = true;
    for (int d = 0; d < N_DTYPES; d++)
        if (ps->by_dtype[d]) {
            printf("%s%s", first ? "" : ", ", ts_dtype_name(DTYPES[d]));
            first = false;
        }
}

static void print_part_text(const char *label, const part_stats *ps) {
    char cnt[32];
    human_count(cnt, sizeof cnt, ps->params);
    printf("%-12s %lld tensors, %s parameters", label, (long long)ps->tensors, cnt);
    if (ps->tensors) {
        printf(" (");
        print_dtypes_text(ps);
        printf(")");
    }
    printf("\n");
}

static void print_part_json(const part_stats *ps) {
    printf("\"tensors\":%lld,\"parameters\":%lld,\"dtypes\":{", (long long)ps->tensors,
           (long long)ps->params);
    bool first = true;
    for (int d = 0; d < N_DTYPES; d++)
        if (ps->by_dtype[d]) {
            printf("%s\"%s\":%lld", first ? "" : ",", ts_dtype_name(DTYPES[d]),
                   (long long)ps->by_dtype[d]);
            first = false;
        }
    printf("}");
}

/* The sizes a user asks about, each -1 when its key is absent. */
typedef struct {
    long long vocab, n_text, n_codes, merges;
    long long K, D, image_size, n_mels;
    long long d_model, heads, head_dim, blocks, dense, experts, used, shared, context;
    long long image_grid; /* 0: 1-D RoPE positions for every token */
    bool grid_mix;        /* image codes mixed with their neighbours */
    long long mix_neighbours; /* how many: 2R(R+1) for reach R (0: no mixing) */
} model_sizes;

static model_sizes read_sizes(const ts_gguf *g) {
    model_sizes z;
    z.vocab = key_int(g, "tessera.vocab.size");
    if (z.vocab < 0) z.vocab = key_int(g, "tessera.vocab_size");
    z.n_text = key_int(g, "tessera.vocab.text_count");
    z.n_codes = key_int(g, "tessera.vocab.code_count");
    z.merges = arr_len(g, "tokenizer.ggml.merges");
    z.K = key_int(g, "tessera.vq.codebook_size");
    z.D = key_int(g, "tessera.vq.dim");
    z.image_size = key_int(g, "tessera.vq.image_size");
    z.n_mels = key_int(g, "tessera.vq.n_mels");
    z.d_model = key_int(g, "tessera.embedding_length");
    z.heads = key_int(g, "tessera.attention.head_count");
    z.head_dim = key_int(g, "tessera.attention.key_length");
    z.blocks = key_int(g, "tessera.block_count");
    z.dense = key_int(g, "tessera.leading_dense_block_count");
    z.experts = key_int(g, "tessera.expert_count");
    z.used = key_int(g, "tessera.expert_used_count");
    z.shared = key_int(g, "tessera.expert_shared_count");
    z.context = key_int(g, "tessera.context_length");
    z.image_grid = key_int(g, "tessera.rope.image_grid");
    if (z.image_grid < 0) z.image_grid = 0;
    z.grid_mix = false; /* absent, or not a bool: no mixing (get_bool leaves it then) */
    if (ts_gguf_find_key(g, "tessera.image_grid_mix") >= 0)
        (void)ts_gguf_get_bool(g, "tessera.image_grid_mix", &z.grid_mix);
    long long reach = key_int(g, "tessera.image_grid_mix_reach");
    if (reach < 1) reach = 1; /* absent: files from before the key */
    z.mix_neighbours = z.grid_mix ? TS_GRID_MIX_NEIGHBOURS(reach) : 0;
    return z;
}

static void print_gguf(const char *path, const ts_gguf *g, uint32_t version, size_t bytes,
                       bool json) {
    part_stats parts[N_PARTS];
    gguf_stats(g, parts);
    model_sizes z = read_sizes(g);
    const char *arch = NULL;
    if (ts_gguf_find_key(g, "general.architecture") < 0 ||
        ts_gguf_get_str(g, "general.architecture", &arch))
        arch = NULL;
    int64_t n_tensors = ts_gguf_n_tensors(g), n_params = 0;
    for (int p = 0; p < N_PARTS; p++)
        n_params += parts[p].params;
    if (json) {
        printf("{\"file\":");
        ts_json_put_string(stdout, path);
        printf(",\"kind\":\"model\",\"container\":\"gguf\",\"version\":%u,\"bytes\":%zu,"
               "\"architecture\":",
               version, bytes);
        if (arch)
            ts_json_put_string(stdout, arch);
        else
            printf("null");
        printf(",\"parts\":[");
        bool first = true;
        for (int p = 0; p < N_PARTS; p++)
            if (parts[p].present) {
                printf("%s\"%s\"", first ? "" : ",", PART_JSON[p]);
                first = false;
            }
        printf("],\"keys\":%lld,\"tensors\":%lld,\"parameters\":%lld",
               (long long)ts_gguf_n_keys(g), (long long)n_tensors, (long long)n_params);
        if (z.vocab >= 0)
            printf(",\"vocabulary\":{\"size\":%lld,\"text\":%lld,\"codes\":%lld}", z.vocab,
                   z.n_text, z.n_codes);
        if (parts[PART_TOKENIZER].present)
            printf(",\"tokenizer\":{\"tokens\":%lld,\"merges\":%lld}",
                   arr_len(g, "tokenizer.ggml.tokens"), z.merges);
        if (parts[PART_VQ].present || parts[PART_VQ].tensors) {
            printf(",\"vq\":{\"codebook_size\":%lld,\"dim\":%lld,\"image_size\":%lld,"
                   "\"n_mels\":%lld,",
                   z.K, z.D, z.image_size, z.n_mels);
            print_part_json(&parts[PART_VQ]);
            printf("}");
        }
        if (parts[PART_DECODER].present || parts[PART_DECODER].tensors) {
            printf(",\"decoder\":{\"d_model\":%lld,\"heads\":%lld,\"head_dim\":%lld,"
                   "\"blocks\":%lld,\"dense_blocks\":%lld,\"experts\":%lld,"
                   "\"experts_active\":%lld,\"experts_shared\":%lld,\"context\":%lld,"
                   "\"image_grid\":%lld,\"grid_mix\":%s,\"grid_mix_neighbours\":%lld,",
                   z.d_model, z.heads, z.head_dim, z.blocks, z.dense, z.experts, z.used, z.shared,
                   z.context, z.image_grid, z.grid_mix ? "true" : "false", z.mix_neighbours);
            print_part_json(&parts[PART_DECODER]);
            printf("}");
        }
        printf("}\n");
        return;
    }
    char cnt[32];
    printf("file:        %s\n", path);
    printf("kind:        model\n");
    printf("container:   gguf v%u%s%s\n", version, arch ? ", architecture " : "", arch ? arch : "");
    printf("file size:   %zu bytes (%.1f MiB)\n", bytes, (double)bytes / (1 << 20));
    printf("parts:       ");
    bool any = false;
    for (int p = 0; p < N_PARTS; p++)
        if (parts[p].present) {
            printf("%s%s", any ? ", " : "", PART_NAMES[p]);
            any = true;
        }
    bool lacks = false;
    for (int p = 0; p < N_PARTS; p++)
        if (!parts[p].present) {
            printf("%s%s", lacks ? ", " : any ? " (no " : "none (no ", PART_NAMES[p]);
            lacks = true;
        }
    printf("%s\n", lacks ? ")" : "");
    if (z.vocab >= 0)
        printf("vocabulary:  %lld (%lld text, %lld specials, %lld media codes)\n", z.vocab,
               z.n_text, z.vocab - z.n_text - z.n_codes, z.n_codes);
    if (parts[PART_TOKENIZER].present)
        printf("tokenizer:   byte-level BPE, %lld tokens, %lld merges\n",
               arr_len(g, "tokenizer.ggml.tokens"), z.merges);
    if (parts[PART_VQ].present || parts[PART_VQ].tensors) {
        printf("VQ-VAE:      codebook %lld x %lld (K x D), images %lld x %lld, "
               "log-mel %lld bands\n",
               z.K, z.D, z.image_size, z.image_size, z.n_mels);
        print_part_text("", &parts[PART_VQ]);
    }
    if (parts[PART_DECODER].present || parts[PART_DECODER].tensors) {
        printf("decoder:     d_model %lld, %lld heads x %lld, %lld blocks (%lld dense), "
               "experts %lld / %lld active",
               z.d_model, z.heads, z.head_dim, z.blocks, z.dense, z.experts, z.used);
        if (z.shared > 0) printf(" + %lld shared", z.shared);
        printf(", context %lld", z.context);
        if (z.image_grid > 0)
            printf(", 2-D RoPE over %lld x %lld image codes", z.image_grid, z.image_grid);
        if (z.grid_mix) printf(" mixed with their %lld neighbours", z.mix_neighbours);
        printf("\n");
        print_part_text("", &parts[PART_DECODER]);
    }
    human_count(cnt, sizeof cnt, n_params);
    printf("tensors:     %lld, %s parameters in all\n", (long long)n_tensors, cnt);
}

static ts_status info_gguf(const char *path, const uint8_t *buf, size_t len, bool json) {
    ts_gguf *g;
    ts_status s = ts_gguf_open_mem(buf, len, path, &g);
    if (s) return s;
    uint32_t version; /* the reader has checked the header: 8 bytes at least */
    memcpy(&version, buf + 4, sizeof version);
    print_gguf(path, g, version, len, json);
    ts_gguf_close(g);
    return TS_OK;
}

static int info_one(const char *path, bool json) {
    /* Mapped, not read: the probes touch only the pages holding the
     * headers, so a 12-megapixel JPEG costs no more memory than a tiny one. */
    ts_mapped_file m;
    ts_status s = ts_map_file(path, &m);
    if (s) return cli_fail(s);
    const uint8_t *buf = m.data;
    size_t len = m.len;
    if (len >= 4 && !memcmp(buf, "GGUF", 4)) { /* a model: no size limit, it is mapped */
        s = info_gguf(path, buf, len, json);
        ts_unmap_file(&m);
        return cli_fail(s);
    }
    if (len > TS_MAX_AUDIO_FILE_BYTES) {
        ts_unmap_file(&m);
        return cli_fail(ts_fail(TS_ERR_INPUT, "%s: file is %zu bytes, over the limit of %zu", path,
                                len, TS_MAX_AUDIO_FILE_BYTES));
    }
    if (ts_image_sniff(buf, len) != TS_IMAGE_UNKNOWN) {
        ts_image_info info;
        s = ts_image_probe_mem(buf, len, path, &info);
        if (!s) print_image(path, &info, json);
    } else if (ts_audio_sniff(buf, len)) {
        ts_audio_info info;
        s = ts_audio_probe_mem(buf, len, path, &info);
        if (!s) print_audio(path, &info, json);
    } else {
        s = ts_fail(TS_ERR_INPUT, "%s: %s", path,
                    len == 0 ? "empty file"
                             : "not an image (PNG, JPEG), audio (WAV, FLAC, OGG) or GGUF file");
    }
    ts_unmap_file(&m);
    return cli_fail(s);
}

int cmd_info(int argc, char **argv) {
    bool json = false;
    const char *files[256];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera info FILE... [--json]\n\n"
                   "Prints what tessera's front ends see in each image (PNG, JPEG) or audio\n"
                   "file (WAV, FLAC, OGG/Vorbis), found by its content, not its name:\n"
                   "container, size, channels, bit depth and the model input it becomes;\n"
                   "and what a GGUF model file holds: its parts (tokenizer, VQ-VAE, decoder),\n"
                   "their sizes, tensors, parameters and weight types.\n\n"
                   "  --json   one JSON object per file, one per line\n");
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(argv[0], "unknown option '%s'", argv[i]);
        } else if (n < 256) {
            files[n++] = argv[i];
        } else {
            return cli_usage(argv[0], "at most 256 files at once");
        }
    }
    if (!n) return cli_usage(argv[0], "no file given");
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int r = info_one(files[i], json);
        if (r && !rc) rc = r;
        if (!json && i + 1 < n) printf("\n");
    }
    return rc;
}
