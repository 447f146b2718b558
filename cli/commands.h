/* Every command's entry point; each lives in cli/cmd_NAME.c. */
#ifndef TESSERA_CLI_COMMANDS_H
#define TESSERA_CLI_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_mel(int argc, char **argv);

#endif
