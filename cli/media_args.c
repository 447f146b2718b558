/* What `tokenize` and `reconstruct` share: the one FILE they read, the
 * model whose VQ-VAE reads it (-m) and the threads (-t). */
#include <string.h>

#include "cli/cli.h"

bool cli_media_arg(const char *cmd, int argc, char **argv, int *i, cli_media_args *a) {
    const char *arg = argv[*i], *v;
    if (!strcmp(arg, "-m")) return (a->model = cli_value(cmd, argc, argv, i)) != NULL;
    if (!strcmp(arg, "-t"))
        return (v = cli_value(cmd, argc, argv, i)) &&
               cli_parse_long(cmd, "-t", v, 1, 256, &a->threads);
    if (arg[0] == '-' && arg[1]) {
        cli_usage(cmd, "unknown option '%s'", arg);
        return false;
    }
    if (a->in) {
        cli_usage(cmd, "one file at a time");
        return false;
    }
    a->in = arg;
    return true;
}

ts_status cli_media_load(cli_media_args *a, ts_pool **pool, ts_vq **vq, ts_vq_input_kind *kind,
                         float **x, int *T) {
    int threads = a->threads ? (int)a->threads : ts_online_cpus();
    *pool = ts_pool_new(threads);
    ts_status s = cli_model_path(&a->model, a->default_model, sizeof a->default_model);
    if (!s) s = ts_vq_load_file(a->model, vq);
    if (!s) s = ts_vq_load_media(*vq, a->in, threads, kind, x, T);
    return s;
}
