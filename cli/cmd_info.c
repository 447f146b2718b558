/* tessera info FILE [--json]: what the front ends see in an image or audio
 * file, chosen by its content. */
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

static int info_one(const char *path, bool json) {
    /* Mapped, not read: the probes touch only the pages holding the
     * headers, so a 12-megapixel JPEG costs no more memory than a tiny one. */
    ts_mapped_file m;
    ts_status s = ts_map_file(path, &m);
    if (s) return cli_fail(s);
    const uint8_t *buf = m.data;
    size_t len = m.len;
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
                    len == 0 ? "empty file" : "not an image (PNG, JPEG) or audio (WAV, FLAC, OGG) file");
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
                   "container, size, channels, bit depth and the model input it becomes.\n\n"
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
