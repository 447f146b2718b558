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
    long long n16 = (long long)(in->seconds * TS_SAMPLE_RATE + 0.5);
    long long T = n16 / TS_HOP;
    if (json) {
        printf("{\"file\":");
        ts_json_put_string(stdout, path);
        printf(",\"kind\":\"audio\",\"container\":\"%s\",\"codec\":\"%s\",\"sample_rate\":%d,"
               "\"channels\":%d,\"frames\":%lld,\"seconds\":%.6f,"
               "\"log_mel\":{\"shape\":[%d,%lld],\"sample_rate\":%d,\"hop\":%d}}\n",
               in->container, in->codec, in->sample_rate, in->channels, (long long)in->frames,
               in->seconds, TS_N_MELS, T, TS_SAMPLE_RATE, TS_HOP);
        return;
    }
    printf("file:        %s\n", path);
    printf("kind:        audio\n");
    printf("container:   %s (%s)\n", in->container, in->codec);
    printf("sample rate: %d Hz\n", in->sample_rate);
    printf("channels:    %d\n", in->channels);
    printf("frames:      %lld\n", (long long)in->frames);
    printf("duration:    %.3f s\n", in->seconds);
    printf("log-mel:     %d x %lld (mono, %d Hz, hop %d)\n", TS_N_MELS, T, TS_SAMPLE_RATE, TS_HOP);
}

static int info_one(const char *path, bool json) {
    uint8_t *buf;
    size_t len;
    ts_status s = ts_read_file(path, TS_MAX_AUDIO_FILE_BYTES, &buf, &len);
    if (s) return cli_fail(s);
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
    free(buf);
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
