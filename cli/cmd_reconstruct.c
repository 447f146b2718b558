/* tessera reconstruct FILE -o OUT.png: encode to codes and decode back. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_reconstruct(int argc, char **argv) {
    const char *cmd = argv[0], *out = NULL;
    cli_media_args args = {0};
    long scale = 1;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera reconstruct FILE -o OUT.png [-m MODEL] [--scale N] [-t N]\n\n"
                   "Encodes FILE to its VQ codes and decodes them back. For an image, OUT.png\n"
                   "is the reconstructed image (32 x 32, or larger with --scale); for audio,\n"
                   "the log-mel spectrogram: the original above, the reconstruction below\n"
                   "(time left to right, low bands at the bottom). PSNR (images) or the\n"
                   "log-mel mean absolute error (audio) is printed on stderr.\n\n"
                   "  -o OUT.png  output picture (required)\n"
                   "  -m MODEL    model with a VQ-VAE (default: $TESSERA_MODEL, else\n"
                   "              models/tessera.gguf beside the executable's folder)\n"
                   "  --scale N   enlarge images N times (nearest neighbour, default 1)\n"
                   "  -t N        threads (default: online CPUs)\n");
            return 0;
        } else if (!strcmp(argv[i], "-o")) {
            if (!(out = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!strcmp(argv[i], "--scale")) {
            const char *v = cli_value(cmd, argc, argv, &i);
            if (!v || !cli_parse_long(cmd, "--scale", v, 1, 64, &scale)) return 1;
        } else if (!cli_media_arg(cmd, argc, argv, &i, &args)) {
            return 1;
        }
    }
    if (!args.in) return cli_usage(cmd, "no input file given");
    if (!out) return cli_usage(cmd, "-o OUT.png is required");
    const char *in = args.in;
    ts_pool *pool = NULL;
    ts_vq *vq = NULL;
    float *x = NULL, *y = NULL;
    int32_t *codes = NULL;
    ts_vq_input_kind kind;
    int T = 0;
    ts_status s = cli_media_load(&args, &pool, &vq, &kind, &x, &T);
    if (!s) {
        const ts_vq_config *c = ts_vq_get_config(vq);
        int S = c->image_size;
        size_t n = kind == TS_VQ_IMAGE ? (size_t)3 * S * S : (size_t)c->n_mels * T;
        int nc = kind == TS_VQ_IMAGE ? (S / TS_VQ_DOWN) * (S / TS_VQ_DOWN) : T / TS_VQ_DOWN;
        y = malloc(n * sizeof *y);
        codes = malloc((size_t)nc * sizeof *codes);
        if (!y || !codes) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        double err = 0;
        if (!s && kind == TS_VQ_IMAGE) {
            s = ts_vq_encode_images(vq, pool, x, 1, codes);
            if (!s) s = ts_vq_decode_images(vq, pool, codes, 1, y);
            if (!s) s = ts_vq_image_png(out, y, S, (int)scale);
            for (size_t i = 0; i < n && !s; i++) {
                double a = (x[i] + 1) / 2, b = (y[i] + 1) / 2;
                b = b < 0 ? 0 : b > 1 ? 1 : b;
                err += (a - b) * (a - b);
            }
            if (!s) fprintf(stderr, "reconstruct: %s: 64 codes, PSNR %.2f dB\n", in,
                            10 * log10(1.0 / (err / n > 1e-12 ? err / n : 1e-12)));
        } else if (!s) {
            s = ts_vq_encode_audio(vq, pool, x, 1, T, codes);
            if (!s) s = ts_vq_decode_audio(vq, pool, codes, 1, nc, y);
            if (!s) s = ts_vq_mel_compare_png(out, x, y, c->n_mels, T);
            for (size_t i = 0; i < n && !s; i++) err += fabs((double)x[i] - y[i]);
            if (!s) fprintf(stderr, "reconstruct: %s: %d codes, log-mel MAE %.4f\n", in, nc, err / n);
        }
    }
    free(codes);
    free(x);
    free(y);
    ts_vq_free(vq);
    ts_pool_free(pool);
    return cli_fail(s);
}
