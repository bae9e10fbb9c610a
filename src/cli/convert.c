/* edgelens convert IN -o OUT
 * Converts between a frozen GraphDef (.pb) and a TF.js graph model
 * (model.json + weights shard), either way, so that one model can be used
 * in both forms and runs identically in each: quantized TF.js weights are
 * written dequantized (the values TF.js computes with). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "format/graphdef_write.h"
#include "format/package.h"
#include "format/tfjs.h"
#include "graph/graph.h"

static void el_convert_usage(FILE *f)
{
    fprintf(f, "usage: edgelens convert IN -o OUT\n"
               "  IN   a frozen graph (.pb), a TF.js model.json, a model directory or a .tar.gz package\n"
               "  OUT  OUT.pb: binary GraphDef; OUT.json: TF.js graph model, its weights in one shard\n"
               "       beside it (group1-shard1of1.bin for model.json, else <name>.bin)\n");
}

static bool el_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int el_cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': el_convert_usage(stdout); return 0;
        default: el_convert_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out) {
        fprintf(stderr, "edgelens convert: %s\n", !out ? "no output given (-o OUT)" : "expected exactly one input IN");
        el_convert_usage(stderr);
        return 2;
    }
    bool to_json = el_ends_with_ci(out, ".json");
    if (!to_json && !el_ends_with_ci(out, ".pb")) {
        fprintf(stderr, "edgelens convert: output '%s' must end in .pb (GraphDef) or .json (TF.js graph model)\n", out);
        return 2;
    }
    const char *in = argv[optind];
    el_graph *g = NULL;
    el_tfjs_signature *sig = NULL;
    int rc = 1;
    if (el_model_open(in, NULL, &g, NULL) != EL_OK) goto out;
    /* A TF.js input keeps its signature when written as TF.js again. */
    if (to_json && el_tfjs_model_signature(in, &sig) != EL_OK) goto out;
    if ((to_json ? el_tfjs_write(g, sig, out) : el_graphdef_write(g, out)) != EL_OK) goto out;

    int consts = 0;
    size_t bytes = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const el_attr *v = el_node_attr(&g->nodes[i], "value");
        if (strcmp(g->nodes[i].op, "Const") || !v || v->type != EL_ATTR_TENSOR) continue;
        consts++;
        bytes += el_tensor_nbytes(&v->v.tensor);
    }
    if (to_json) {
        char shard[4096];
        printf("%s -> %s + %s: %d nodes, %d constants (%zu bytes)\n", in, out,
               el_tfjs_shard_name(out, shard, sizeof shard), g->nnodes, consts, bytes);
    } else {
        printf("%s -> %s: %d nodes, %d constants (%zu bytes)\n", in, out, g->nnodes, consts, bytes);
    }
    rc = 0;
out:
    if (rc) el_cli_fail("convert");
    el_tfjs_signature_free(sig);
    el_graph_free(g);
    return rc;
}
