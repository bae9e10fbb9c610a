/* edgelens subcommands, one file each. Each returns the process exit status
 * (0 ok, 1 runtime failure, 2 usage error) and prints errors to stderr. */
#ifndef EL_CLI_CLI_H
#define EL_CLI_CLI_H

int el_cmd_detect(int argc, char **argv);
int el_cmd_inspect(int argc, char **argv);
int el_cmd_eval(int argc, char **argv);
int el_cmd_convert(int argc, char **argv);
int el_cmd_run(int argc, char **argv);
int el_cmd_bench(int argc, char **argv);

/* "edgelens <cmd>: <message of the last error>" on stderr; returns 1. */
int el_cli_fail(const char *cmd);

#endif
