/* Every command's entry point; each lives in cli/cmd_NAME.c. */
#ifndef TESSERA_CLI_COMMANDS_H
#define TESSERA_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_mel(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train_vq(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv);
int cmd_train_bpe(int argc, char **argv);
int cmd_tokenize_text(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_caption(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_build_shards(int argc, char **argv);
int cmd_train_mm(int argc, char **argv);

#endif
