/* edgelens eval PATH --feed NAME=FILE.npy ... --fetch NAME[:INDEX] ... [-o DIR]
 * Runs any graph on NumPy inputs; the tool for checking a model against
 * TensorFlow node by node. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "edgelens/engine.h"
#include "format/npy.h"
#include "format/package.h"

#define EL_EVAL_MAX 256

static void el_eval_usage(FILE *f)
{
    fprintf(f, "usage: edgelens eval PATH --feed NAME=FILE.npy ... --fetch NAME[:INDEX] ... [-o DIR]\n"
               "  writes each fetched tensor to DIR/<name with / and : replaced by _>.npy (DIR default .)\n");
}

int el_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"feed", required_argument, NULL, 'f'}, {"fetch", required_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    char *feed_names[EL_EVAL_MAX];
    const char *feed_files[EL_EVAL_MAX], *fetches[EL_EVAL_MAX];
    int nfeeds = 0, nfetches = 0, c, rc = 1;
    const char *outdir = ".";
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:F:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1] || nfeeds == EL_EVAL_MAX) {
                fprintf(stderr, "edgelens eval: --feed expects NAME=FILE.npy, got '%s'\n", optarg);
                for (int i = 0; i < nfeeds; i++) free(feed_names[i]);
                return 2;
            }
            feed_names[nfeeds] = strndup(optarg, (size_t)(eq - optarg));
            feed_files[nfeeds++] = eq + 1;
            break;
        }
        case 'F':
            if (nfetches == EL_EVAL_MAX) break;
            fetches[nfetches++] = optarg;
            break;
        case 'o': outdir = optarg; break;
        case 'h': el_eval_usage(stdout); return 0;
        default: el_eval_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || nfetches == 0) {
        fprintf(stderr, "edgelens eval: %s\n", optind != argc - 1 ? "expected exactly one model PATH" : "no --fetch given");
        el_eval_usage(stderr);
        for (int i = 0; i < nfeeds; i++) free(feed_names[i]);
        return 2;
    }
    el_graph *g = NULL;
    el_labels *labels = NULL;
    el_session *s = NULL;
    el_tensor feeds[EL_EVAL_MAX] = {{0}}, outs[EL_EVAL_MAX] = {{0}};
    bool ran = false;
    if (el_model_open(argv[optind], NULL, &g, &labels) != EL_OK) goto out;
    for (int i = 0; i < nfeeds; i++)
        if (el_npy_read(feed_files[i], &feeds[i]) != EL_OK) goto out;
    if (el_session_create(g, nfeeds, (const char *const *)feed_names, nfetches, fetches, NULL, &s) != EL_OK) goto out;
    if (el_session_run(s, feeds, outs) != EL_OK) goto out;
    ran = true;
    for (int i = 0; i < nfetches; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/", outdir);
        for (const char *p = fetches[i]; *p && n < (int)sizeof path - 5; p++) path[n++] = (*p == '/' || *p == ':') ? '_' : *p;
        snprintf(path + n, sizeof path - (size_t)n, ".npy");
        if (el_npy_write(path, &outs[i]) != EL_OK) goto out;
        printf("%s -> %s\n", fetches[i], path);
    }
    rc = 0;
out:
    if (rc) el_cli_fail("eval");
    for (int i = 0; i < nfeeds; i++) {
        free(feed_names[i]);
        el_tensor_release(&feeds[i]);
    }
    if (ran)
        for (int i = 0; i < nfetches; i++) el_tensor_release(&outs[i]);
    el_session_free(s);
    el_labels_free(labels);
    el_graph_free(g);
    return rc;
}
