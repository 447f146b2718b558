/* tessera build-shards: the training corpus of the default model, every
 * source's media encoded once with the VQ-VAE and written as pre-tokenized
 * shards (train.shard, val.shard); optionally the held-out evaluation set as
 * files (--export-val). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define AST_SOUNDS "/usr/share/asterisk/sounds/en_US_f_Allison"
#define AST_TEXT "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
#define WORDNET "/usr/share/wordnet"

static void usage(void) {
    printf("usage: tessera build-shards --data DIR --tokenizer TOK.gguf --vq VQ.gguf -o OUTDIR "
           "[options]\n\n"
           "Collects (media, prompt, answer) examples from the data sets under DIR (the\n"
           "layout of ../shared/data: cifar10 mnist twemoji fsdd speech_commands scienceqa),\n"
           "the Asterisk prompts, espeak-ng speech, WordNet glosses and generated scenes\n"
           "and tones; encodes every image and clip once with the VQ-VAE; writes\n"
           "OUTDIR/train.shard and OUTDIR/val.shard. Held out (val): the MNIST and\n"
           "CIFAR-10 test files, FSDD speaker theo, 10%% of speech-commands speakers,\n"
           "unseen scene combinations. A source that is not there is skipped with a note.\n\n"
           "  --data DIR             the data sets\n"
           "  --tokenizer FILE       a GGUF with the BPE tokenizer (train-bpe)\n"
           "  --vq FILE              a GGUF with the VQ-VAE (train-vq)\n"
           "  -o DIR                 where the shards go\n"
           "  --asterisk DIR         Allison prompts (default " AST_SOUNDS ")\n"
           "  --asterisk-text FILE   their transcript (default " AST_TEXT ")\n"
           "  --spoken DIR           espeak-ng clips from tools/model_espeak.sh (index.tsv)\n"
           "  --wordnet DIR          WordNet data.* files (default " WORDNET ")\n"
           "  --scenes N             generated scenes (default 20000; val a tenth more)\n"
           "  --tones N              generated clips (default 10000; val a tenth more)\n"
           "  --phrasings N          captions per CIFAR-10 image (default 1, at most 4)\n"
           "  --turns N              up to N questions about one medium in one record, as\n"
           "                         turns that each see only the media and themselves\n"
           "                         (default 1: a record per question; at most 8)\n"
           "  --mc-every N           a multiple-choice question every N items (default 4; 0 none)\n"
           "  --mc-options N         the most options such a question shows (4..26, default 4):\n"
           "                         above 4, each question draws its count from 4 to N\n"
           "                         (never more than the classes there are)\n"
           "  --max-per-source N     cap every source (default: all)\n"
           "  --repeat SRC=N[,SRC=N] write each TRAIN item of SRC N times (1..64, default 1):\n"
           "                         the original, then N-1 augmented copies (images: a\n"
           "                         shift of up to 2 px, mirrored on odd copies except\n"
           "                         MNIST; clips: speed 0.88-1.12x, gain +-6 dB, shift\n"
           "                         +-80 ms, half with noise at 10-30 dB SNR from\n"
           "                         speech_commands/_background_noise_, else white).\n"
           "                         SRC: cifar10 mnist twemoji fsdd speech_commands\n"
           "                         asterisk espeak-ng. Val items are never repeated.\n"
           "  --narrowband PCT       PCT %% of the augmented clips also cut to the telephone\n"
           "                         band, nothing above 4 kHz (default 0)\n"
           "  --level-floor P        bring every clip whose peak is below P (0-1) up to P\n"
           "                         before its log-mel, as `ask` reads clips (default 0:\n"
           "                         as recorded)\n"
           "  --wordnet-max N        WordNet glosses taken (default 30000; 0: all), so\n"
           "                         definitions do not drown the media answers\n"
           "  --text-out FILE        write every prompt and answer as text instead (no\n"
           "                         media read; no --tokenizer, --vq or -o): BPE input\n"
           "  --export-val DIR       also write the held-out set as files + labels.tsv\n"
           "  --export-max N         cap each held-out task (default 1000)\n"
           "  --check-sources        only check that every source is there: exit 2 naming\n"
           "                         each one that is not (and its Debian package), else 0\n"
           "  -s, --seed N           seed of the generators and phrasings (default 1)\n"
           "  -t N                   threads (default: the online CPUs)\n");
}

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir -p */
static bool make_dirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    return mkdir(buf, 0755) == 0 || is_dir(buf);
}

static const char *where(const char *path) { return path ? path : "?"; }

/* images, clips and texts taken so far */
static int64_t items(const ts_corpus *c) {
    const ts_corpus_stats *st = ts_corpus_get_stats(c);
    return st->images + st->clips + st->texts;
}

/* "SRC=N[,SRC=N...]" into repeat[]; false (after a usage message) when a
 * source or count is wrong. */
static bool parse_repeat(const char *cmd, const char *arg, int *repeat) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", arg) >= (int)sizeof buf) {
        cli_usage(cmd, "--repeat: '%s' is too long", arg);
        return false;
    }
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            cli_usage(cmd, "--repeat: '%s' is not SOURCE=N", item);
            return false;
        }
        *eq = 0;
        int src = ts_corpus_source_from_name(item);
        if (src < 0) {
            cli_usage(cmd, "--repeat: unknown source '%s' (cifar10 mnist twemoji fsdd "
                           "speech_commands asterisk espeak-ng)", item);
            return false;
        }
        char *end;
        long n = strtol(eq + 1, &end, 10);
        if (!eq[1] || *end || n < 1 || n > TS_MAX_REPEAT) {
            cli_usage(cmd, "--repeat: %s=%s: N must be 1..%d", item, eq + 1, TS_MAX_REPEAT);
            return false;
        }
        repeat[src] = (int)n;
    }
    return true;
}

/* NULL: a generator, always there */
static bool present(const char *path) { return !path || is_dir(path); }

/* The Debian package that holds a default path, named when it is missing. */
static const char *debian_package(const char *path) {
    if (!strcmp(path, AST_SOUNDS)) return "asterisk-core-sounds-en-wav";
    if (!strcmp(path, AST_TEXT)) return "asterisk-core-sounds-en";
    if (!strcmp(path, WORDNET)) return "wordnet-base";
    return NULL;
}

/* --check-sources: fails naming every source that is not there, in one line. */
static ts_status check_sources(const char *data, const char *ast, const char *ast_text,
                               const char *spoken, const char *wordnet) {
    static const char *const sets[] = {"mnist", "cifar10",         "twemoji",
                                       "fsdd",  "speech_commands", "scienceqa"};
    char set_paths[6][4096], missing[8192] = "";
    const char *folders[9];
    int n = 0;
    for (int i = 0; i < 6; i++) {
        snprintf(set_paths[i], sizeof set_paths[i], "%s/%s", data, sets[i]);
        folders[n++] = set_paths[i];
    }
    folders[n++] = ast, folders[n++] = wordnet;
    if (spoken) folders[n++] = spoken;
    size_t len = 0;
    for (int i = 0; i <= n && len < sizeof missing; i++) {
        const char *p = i < n ? folders[i] : ast_text; /* the last: the one file */
        if (i < n ? is_dir(p) : access(p, R_OK) == 0) continue;
        const char *pkg = debian_package(p);
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%s%s%s%s", len ? ", " : "",
                                p, pkg ? " (Debian package " : "", pkg ? pkg : "", pkg ? ")" : "");
    }
    return len ? ts_fail(TS_ERR_INPUT, "build-shards: not there: %s", missing) : TS_OK;
}

int cmd_build_shards(int argc, char **argv) {
    const char *data = NULL, *tok_path = NULL, *vq_path = NULL, *out = NULL, *spoken = NULL;
    const char *ast = AST_SOUNDS, *ast_text = AST_TEXT, *wordnet = WORDNET, *export_dir = NULL;
    const char *text_out = NULL, *repeat_arg[16];
    int n_repeat = 0;
    bool check_only = false;
    double level_floor = 0;
    long threads = 0, seed = 1, scenes = 20000, tones = 10000, phrasings = 1, mc = 4,
         mc_options = 4, cap = 0, export_max = 1000, wordnet_max = 30000, turns = 1, narrowband = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define STR(flag, var)                                                                             \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(var = cli_value(argv[0], argc, argv, &i))) return 1;                                 \
    }
#define NUM(flag, lo, hi, var)                                                                     \
    else if (!strcmp(a, flag)) {                                                                   \
        if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, lo, hi, &var)) \
            return 1;                                                                              \
    }
        if (cli_is_help(a)) {
            usage();
            return 0;
        }
        STR("--data", data) STR("--tokenizer", tok_path) STR("--vq", vq_path) STR("-o", out)
        STR("--asterisk", ast) STR("--asterisk-text", ast_text) STR("--spoken", spoken)
        else if (!strcmp(a, "--repeat")) {
            if (!(v = cli_value(argv[0], argc, argv, &i))) return 1;
            if (n_repeat == 16) return cli_usage(argv[0], "--repeat given more than 16 times");
            repeat_arg[n_repeat++] = v;
        }
        /* the flags as a table, one after another */
        /* clang-format off */
        STR("--wordnet", wordnet) STR("--export-val", export_dir) STR("--text-out", text_out)
        NUM("--scenes", 0, 10000000, scenes) NUM("--tones", 0, 10000000, tones)
        NUM("--phrasings", 1, 4, phrasings) NUM("--mc-every", 0, 1000000, mc)
        NUM("--mc-options", 4, TS_MC_MAX_OPTIONS, mc_options)
        NUM("--max-per-source", 0, 100000000, cap) NUM("--export-max", 0, 100000000, export_max)
        NUM("--wordnet-max", 0, 100000000, wordnet_max) NUM("--turns", 1, 8, turns)
        NUM("--narrowband", 0, 100, narrowband)
        else if (!strcmp(a, "--level-floor")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 1, &level_floor))
                return 1;
        }
        else if (!strcmp(a, "--check-sources")) check_only = true;
        NUM("-s", 0, 1L << 62, seed) NUM("--seed", 0, 1L << 62, seed) NUM("-t", 1, 1024, threads)
        else return cli_usage(argv[0], "unknown argument '%s'", a);
        /* clang-format on */
#undef STR
#undef NUM
    }
    if (!data) return cli_usage(argv[0], "no --data folder given");
    if (check_only) return cli_fail(check_sources(data, ast, ast_text, spoken, wordnet));
    if (!text_out && (!tok_path || !vq_path)) return cli_usage(argv[0], "--tokenizer and --vq are needed");
    if (!text_out && !out) return cli_usage(argv[0], "no output folder (-o) given");
    ts_corpus_options o = ts_corpus_default_options();
    for (int k = 0; k < n_repeat; k++)
        if (!parse_repeat(argv[0], repeat_arg[k], o.repeat)) return 1;

    ts_gguf *g = NULL;
    ts_bpe *tok = NULL;
    ts_vq *vq = NULL;
    ts_pool *pool = NULL;
    ts_corpus *c = NULL;
    ts_status s = TS_OK;
    if (text_out) {
        s = ts_corpus_open_text(text_out, (uint64_t)seed, &c);
    } else {
        s = ts_gguf_open(tok_path, &g);
        if (!s && (s = ts_bpe_load(g, &tok))) s = ts_fail(s, "%s: %s", tok_path, ts_last_error());
        if (!s) s = ts_vq_load_file(vq_path, &vq);
        if (!s && !(pool = ts_pool_new((int)threads))) s = ts_fail(TS_ERR_NOMEM, "out of memory");
        if (!s && !make_dirs(out)) s = ts_fail(TS_ERR_IO, "%s: cannot create folder", out);
        char tr[4096], va[4096];
        snprintf(tr, sizeof tr, "%s/train.shard", out);
        snprintf(va, sizeof va, "%s/val.shard", out);
        if (!s) s = ts_corpus_open(tok, vq, pool, tr, va, (uint64_t)seed, &c);
        if (!s) ts_corpus_set_turns(c, (int)turns);
        if (!s) ts_corpus_set_level_floor(c, (float)level_floor);
    }
    o.scenes = (int)scenes, o.tones = (int)tones, o.phrasings = (int)phrasings;
    o.mc_per_source = (int)mc, o.mc_options = (int)mc_options;
    o.max_per_source = (int)cap, o.narrowband = (int)narrowband;
    char p[4096], noise[4096];
    snprintf(noise, sizeof noise, "%s/speech_commands/_background_noise_", data);
    if (is_dir(noise)) o.noise_dir = noise;
    double t0 = ts_now();
#define SOURCE(name, path, call)                                                                   \
    if (!s) {                                                                                      \
        if (!present(path)) {                                                                      \
            fprintf(stderr, "build-shards: %-16s skipped (%s is not there)\n", name, where(path)); \
        } else {                                                                                   \
            double ts0 = ts_now();                                                                 \
            int64_t e0 = items(c);                                                                 \
            s = call;                                                                              \
            if (!s)                                                                                \
                fprintf(stderr, "build-shards: %-16s %7lld media/texts in %6.1f s (total %.0f s)\n", \
                        name, (long long)(items(c) - e0), ts_now() - ts0, ts_now() - t0);          \
        }                                                                                          \
    }
    snprintf(p, sizeof p, "%s/mnist", data);
    SOURCE("mnist", p, ts_corpus_add_mnist(c, p, &o))
    snprintf(p, sizeof p, "%s/cifar10", data);
    SOURCE("cifar10", p, ts_corpus_add_cifar10(c, p, &o))
    snprintf(p, sizeof p, "%s/twemoji", data);
    SOURCE("twemoji", p, ts_corpus_add_twemoji(c, p, &o))
    SOURCE("scenes", (const char *)NULL, ts_corpus_add_scenes(c, &o))
    SOURCE("tones", (const char *)NULL, ts_corpus_add_tones(c, &o))
    snprintf(p, sizeof p, "%s/fsdd", data);
    SOURCE("fsdd", p, ts_corpus_add_fsdd(c, p, &o))
    snprintf(p, sizeof p, "%s/speech_commands", data);
    SOURCE("speech_commands", p, ts_corpus_add_speech_commands(c, p, &o))
    SOURCE("asterisk", ast, access(ast_text, R_OK) ? ts_fail(TS_ERR_INPUT, "%s: not there", ast_text)
                                                   : ts_corpus_add_asterisk(c, ast, ast_text, &o))
    if (spoken) SOURCE("espeak-ng", spoken, ts_corpus_add_spoken(c, spoken, &o))
    snprintf(p, sizeof p, "%s/scienceqa", data);
    char pj[4200];
    snprintf(pj, sizeof pj, "%s/problems.json", p);
    SOURCE("scienceqa", p, ts_corpus_add_scienceqa(c, pj, &o))
    ts_corpus_options ow = o;
    if (wordnet_max && (!ow.max_per_source || ow.max_per_source > wordnet_max)) ow.max_per_source = (int)wordnet_max;
    SOURCE("wordnet", wordnet, ts_corpus_add_wordnet(c, wordnet, &ow))
#undef SOURCE
    if (!s) {
        ts_corpus_stats st;
        ts_corpus *cc = c;
        c = NULL;
        if (!(s = ts_corpus_commit(cc, &st)))
            fprintf(stderr,
                    "build-shards: train %lld examples (%lld tokens), val %lld (%lld tokens); "
                    "%lld images, %lld clips, %lld texts; %lld too long; %.1f s\n",
                    (long long)st.examples[0], (long long)st.tokens[0], (long long)st.examples[1],
                    (long long)st.tokens[1], (long long)st.images, (long long)st.clips,
                    (long long)st.texts, (long long)st.skipped, ts_now() - t0);
    }
    if (!s && export_dir) {
        double te = ts_now();
        make_dirs(export_dir);
        if (!(s = ts_corpus_export_val(data, export_dir, &o, (uint64_t)seed, (int)export_max)))
            fprintf(stderr, "build-shards: held-out set written to %s/labels.tsv in %.1f s\n",
                    export_dir, ts_now() - te);
    }
    ts_corpus_abort(c);
    ts_pool_free(pool);
    ts_vq_free(vq);
    ts_bpe_free(tok);
    ts_gguf_close(g);
    return cli_fail(s);
}
