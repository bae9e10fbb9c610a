/* edgelens command-line entry: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "edgelens/status.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} el_commands[] = {
    {"detect", el_cmd_detect, "run a detection model on images"},
    {"inspect", el_cmd_inspect, "show a graph's inputs, outputs, ops, parameters and loops"},
    {"eval", el_cmd_eval, "run any graph on .npy inputs and write the fetched tensors as .npy"},
    {"convert", el_cmd_convert, "convert a model between frozen GraphDef (.pb) and TF.js (model.json)"},
    {"run", el_cmd_run, "the device agent: camera or video -> detector -> MQTT / JSON Lines / live view"},
    {"bench", el_cmd_bench, "time a detection model: load, first and steady-state inference, peak RSS, profile"},
};

int el_cli_fail(const char *cmd)
{
    fprintf(stderr, "edgelens %s: %s\n", cmd, el_last_error());
    return 1;
}

static void el_usage(FILE *f)
{
    fprintf(f, "usage: edgelens <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof el_commands / sizeof el_commands[0]; i++)
        fprintf(f, "  %-8s %s\n", el_commands[i].name, el_commands[i].help);
    fprintf(f, "\n'edgelens <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        el_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        el_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof el_commands / sizeof el_commands[0]; i++)
        if (!strcmp(argv[1], el_commands[i].name)) return el_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "edgelens: unknown command '%s'\n", argv[1]);
    el_usage(stderr);
    return 2;
}
