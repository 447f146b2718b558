/* tessera tokenize FILE: the VQ codes an image or audio clip becomes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cmd_tokenize(int argc, char **argv) {
    const char *cmd = argv[0], *zpath = NULL;
    cli_media_args args = {0};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera tokenize FILE [-m MODEL] [--json] [--latents OUT.npy] [-t N]\n\n"
                   "Prints the shared-codebook codes of an image (an 8 x 8 grid, raster order)\n"
                   "or an audio clip (25 codes per second, the clip zero-padded to whole codes).\n"
                   "The kind of FILE is found from its content.\n\n"
                   "  -m MODEL  model with a VQ-VAE (default: $TESSERA_MODEL, else\n"
                   "            models/tessera.gguf beside the executable's folder)\n"
                   "  --json    one JSON object: file, kind, shape, codes\n"
                   "  --latents OUT.npy\n"
                   "            also write the encoder's output before quantisation, one row\n"
                   "            of the code width per code (float32, codes x width)\n"
                   "  -t N      threads (default: online CPUs)\n");
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--latents")) {
            if (!(zpath = cli_value(cmd, argc, argv, &i))) return 1;
        } else if (!cli_media_arg(cmd, argc, argv, &i, &args)) {
            return 1;
        }
    }
    if (!args.in) return cli_usage(cmd, "no input file given");
    const char *in = args.in;
    ts_pool *pool = NULL;
    ts_vq *vq = NULL;
    float *x = NULL;
    int32_t *codes = NULL;
    float *z = NULL;
    ts_vq_input_kind kind;
    int T = 0, rows = 0, cols = 0;
    ts_status s = cli_media_load(&args, &pool, &vq, &kind, &x, &T);
    if (!s) {
        const ts_vq_config *c = ts_vq_get_config(vq);
        if (kind == TS_VQ_IMAGE) rows = cols = c->image_size / TS_VQ_DOWN;
        else rows = 1, cols = T / TS_VQ_DOWN;
        codes = malloc((size_t)rows * cols * sizeof *codes);
        if (zpath) z = malloc((size_t)rows * cols * c->dim * sizeof *z);
        if (!codes || (zpath && !z))
            s = ts_fail(TS_ERR_NOMEM, "out of memory");
        else if (kind == TS_VQ_IMAGE)
            s = ts_vq_encode_images_z(vq, pool, x, 1, codes, z);
        else
            s = ts_vq_encode_audio_z(vq, pool, x, 1, T, codes, z);
        int64_t shape[2] = {(int64_t)rows * cols, c->dim};
        if (!s && zpath) s = ts_npy_write_f32(zpath, z, shape, 2);
    }
    if (!s && json) {
        printf("{\"file\": ");
        ts_json_put_string(stdout, in);
        if (kind == TS_VQ_IMAGE)
            printf(", \"kind\": \"image\", \"shape\": [%d, %d], \"codes\": [", rows, cols);
        else
            printf(", \"kind\": \"audio\", \"seconds\": %.2f, \"shape\": [%d], \"codes\": [",
                   T / 100.0, cols);
        for (int i = 0; i < rows * cols; i++) printf("%s%d", i ? ", " : "", codes[i]);
        printf("]}\n");
    } else if (!s) {
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++) printf("%d%c", codes[r * cols + k], k + 1 < cols ? ' ' : '\n');
    }
    free(codes);
    free(z);
    free(x);
    ts_vq_free(vq);
    ts_pool_free(pool);
    return cli_fail(s);
}
