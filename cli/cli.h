/* Shared helpers of the command-line front end: argument parsing and the
 * mapping from library status to exit code. Commands print; the library
 * does not. */
#ifndef TESSERA_CLI_H
#define TESSERA_CLI_H

#include <stdbool.h>

#include "tessera.h"

/* Each command: `int cmd_NAME(int argc, char **argv)` with argv[0] the
 * command's name; returns the process exit code. */
typedef int (*cli_fn)(int argc, char **argv);

/* Exit codes: 0 ok, 1 usage, 2 bad input, 3+ other failures. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints ts_last_error() as "tessera: MESSAGE" and returns the exit code for s. */
int cli_fail(ts_status s);
bool cli_is_help(const char *arg);

/* Option values: on a bad value these print a usage error; return false. */
bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max,
                    long *out);
bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max,
                      double *out);
/* For an option that takes a value: returns argv[++*i], or NULL after a
 * usage message if there is none. */
const char *cli_value(const char *cmd, int argc, char **argv, int *i);
/* The model a command loads: *model when -m gave one, else the default
 * model's path (ts_default_model_path), written into buf[cap]. */
ts_status cli_model_path(const char **model, char *buf, size_t cap);

/* The arguments of a command that reads one medium through a model's
 * VQ-VAE (`tokenize`, `reconstruct`); zero-initialise. */
typedef struct {
    const char *in, *model; /* FILE; -m MODEL, NULL for the default model */
    long threads;           /* -t N; 0: online CPUs */
    char default_model[4096];
} cli_media_args;
/* Takes argv[*i], which the command did not take itself: -m, -t, FILE;
 * any other option, or a second file, is a usage error (printed; false). */
bool cli_media_arg(const char *cmd, int argc, char **argv, int *i, cli_media_args *a);
/* Loads the model's VQ-VAE and reads a->in with it (ts_vq_load_media); the
 * pool of a->threads is made even on failure, for the caller to free. */
ts_status cli_media_load(cli_media_args *a, ts_pool **pool, ts_vq **vq, ts_vq_input_kind *kind,
                         float **x, int *T);

#endif
