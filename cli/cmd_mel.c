/* tessera mel AUDIO -o OUT: the log-mel spectrogram as OUT.png (picture)
 * and OUT.npy (float32, shape (80, T)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_mel(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera mel AUDIO -o OUT [-t N]\n\n"
                   "Writes the whisper-compatible log-mel spectrogram of AUDIO (80 bands,\n"
                   "100 frames per second at 16 kHz) as OUT.png, a picture with time left\n"
                   "to right and low frequencies at the bottom, and as OUT.npy, a float32\n"
                   "array of shape (80, T). A trailing .png or .npy on OUT is dropped.\n\n"
                   "  -o OUT   output name (without extension)\n"
                   "  -t N     threads (default: online CPUs)\n");
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            if (!(out = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(argv[i], "-t")) {
            const char *v = cli_value(argv[0], argc, argv, &i);
            if (!v || !cli_parse_long(argv[0], "-t", v, 1, 256, &threads)) return 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(argv[0], "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else {
            return cli_usage(argv[0], "one audio file at a time");
        }
    }
    if (!in) return cli_usage(argv[0], "no audio file given");
    if (!out) return cli_usage(argv[0], "-o OUT is required");

    char base[4096];
    size_t bl = strlen(out);
    if (bl + 5 >= sizeof base) return cli_usage(argv[0], "output name too long");
    memcpy(base, out, bl + 1);
    if (bl > 4 && (!strcmp(base + bl - 4, ".png") || !strcmp(base + bl - 4, ".npy")))
        base[bl - 4] = '\0';
    char png[4100], npy[4100];
    snprintf(png, sizeof png, "%s.png", base);
    snprintf(npy, sizeof npy, "%s.npy", base);

    float *pcm = NULL, *mel = NULL;
    size_t n;
    int T;
    ts_status s = ts_audio_load_file(in, &pcm, &n);
    if (!s) {
        s = ts_logmel(pcm, n, threads ? (int)threads : ts_online_cpus(), &mel, &T);
        if (s) { /* name the file: copy first, ts_fail writes the same buffer */
            char why[512];
            snprintf(why, sizeof why, "%s", ts_last_error());
            s = ts_fail(s, "%s: %s", in, why);
        }
    }
    bool wrote_png = false;
    if (!s) wrote_png = !(s = ts_logmel_write_png(png, mel, T));
    if (!s) s = ts_npy_write_f32(npy, mel, (int64_t[]){TS_N_MELS, T}, 2);
    if (s && wrote_png) remove(png); /* never leave one output without the other */
    free(pcm);
    free(mel);
    return cli_fail(s);
}
