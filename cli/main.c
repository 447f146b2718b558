/* tessera: the command. Dispatches to cli/cmd_*.c; each command parses its
 * own arguments and talks to the library only through tessera.h. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

typedef struct {
    const char *name;
    cli_fn run;
    const char *summary;
} command;

/* One line per command, in the order `tessera --help` lists them. */
static const command commands[] = {
    {"info", cmd_info, "what the front ends see in an image or audio file"},
    {"mel", cmd_mel, "write an audio file's log-mel spectrogram as PNG and .npy"},
    {"eval", cmd_eval, "accuracy on a multiple-choice benchmark (ScienceQA, JSONL)"},
    {"train-vq", cmd_train_vq, "train the shared-codebook VQ-VAE on images and audio"},
    {"tokenize", cmd_tokenize, "print the VQ codes of an image or audio clip"},
    {"reconstruct", cmd_reconstruct, "decode an image's or clip's VQ codes back to a picture"},
    {"train-bpe", cmd_train_bpe, "learn a byte-level BPE tokenizer from text files"},
    {"tokenize-text", cmd_tokenize_text, "print the token ids and pieces of a text"},
    {"train", cmd_train, "train the MoE decoder from scratch on text"},
    {"generate", cmd_generate, "continue a prompt with the decoder, streamed to stdout"},
    {"caption", cmd_caption, "one caption per image, in order (batched)"},
    {"ask", cmd_ask, "answer a question about images and audio clips, streamed"},
    {"chat", cmd_chat, "an interactive prompt with /image, /audio, /clear, /quit"},
    {"build-shards", cmd_build_shards, "encode the training corpus once into token shards"},
    {"train-mm", cmd_train_mm, "train the decoder on shards; write tokenizer+VQ+decoder"},
};

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: tessera COMMAND [ARGS...]\n"
            "       tessera COMMAND --help\n"
            "       tessera --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(fp, "  %-14s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("tessera %s\n", TS_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tessera: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
}
