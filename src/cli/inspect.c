/* edgelens inspect PATH: inputs and outputs with dtypes and shapes, op
 * histogram, parameter count, while-loop frames. Output shapes come from a
 * trial run on zeros when every input has a static shape (or is an image
 * placeholder, tried at 300x300), since frozen graphs rarely record them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "exec/exec.h"
#include "format/package.h"

typedef struct el_opcount {
    const char *op;
    int n;
} el_opcount;

static int el_opcount_cmp(const void *a, const void *b)
{
    const el_opcount *x = a, *y = b;
    if (x->n != y->n) return y->n - x->n;
    return strcmp(x->op, y->op);
}

static bool el_is_output_candidate(const char *op)
{
    return strcmp(op, "NoOp") && strcmp(op, "Assert") && strcmp(op, "Const") && strcmp(op, "Placeholder") &&
           strcmp(op, "SaveV2") && strcmp(op, "RestoreV2");
}

static void el_print_shape(const el_shape *s, bool present)
{
    if (!present || s->rank < 0) {
        printf("?");
        return;
    }
    printf("[");
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) printf(i ? ",-1" : "-1");
        else printf(i ? ",%lld" : "%lld", (long long)s->dims[i]);
    }
    printf("]");
}

/* Zeros for each input, its static shape with -1 read as 1 (batch) or 300. */
static el_status el_trial_feeds(const el_graph *g, const int *inputs, int n, el_tensor *feeds)
{
    for (int i = 0; i < n; i++) {
        const el_node *nd = &g->nodes[inputs[i]];
        el_dtype dt;
        el_shape sh;
        bool present;
        EL_TRY(el_attr_dtype(nd, "dtype", EL_DT_FLOAT, &dt));
        EL_TRY(el_attr_shape(nd, "shape", &sh, &present));
        if (!present || sh.rank < 0) return el_error(EL_ERR_UNSUPPORTED, "input '%s' has no declared shape", nd->name);
        int64_t dims[EL_MAX_DIMS];
        for (int k = 0; k < sh.rank; k++) dims[k] = sh.dims[k] >= 0 ? sh.dims[k] : (k == 0 ? 1 : 300);
        EL_TRY(el_tensor_zeros(&feeds[i], dt, sh.rank, dims));
    }
    return EL_OK;
}

int el_cmd_inspect(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr, "usage: edgelens inspect PATH\n");
        return argc == 2 ? 0 : 2;
    }
    el_graph *g = NULL;
    el_labels *labels = NULL;
    if (el_model_open(argv[1], NULL, &g, &labels) != EL_OK) return el_cli_fail("inspect");
    int *inputs = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    int *outputs = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    bool *consumed = calloc((size_t)g->nnodes + 1, 1);
    el_opcount *ops = calloc((size_t)g->nnodes + 1, sizeof *ops);
    int nin = 0, nout = 0, nops = 0, rc = 0;
    int64_t params = 0, param_bytes = 0;
    if (!inputs || !outputs || !consumed || !ops) {
        rc = 1;
        fprintf(stderr, "edgelens inspect: out of memory\n");
        goto out;
    }
    for (int n = 0; n < g->nnodes; n++) {
        const el_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->ninputs; k++) consumed[nd->inputs[k].node] = true;
        if (!strcmp(nd->op, "Placeholder")) inputs[nin++] = n;
        int o = 0;
        while (o < nops && strcmp(ops[o].op, nd->op)) o++;
        if (o == nops) ops[nops++].op = nd->op;
        ops[o].n++;
        const el_attr *v = strcmp(nd->op, "Const") ? NULL : el_node_attr(nd, "value");
        if (v && v->type == EL_ATTR_TENSOR &&
            (v->v.tensor.dtype == EL_DT_FLOAT || v->v.tensor.dtype == EL_DT_HALF)) {
            params += el_tensor_numel(&v->v.tensor);
            param_bytes += (int64_t)el_tensor_nbytes(&v->v.tensor);
        }
    }
    for (int n = 0; n < g->nnodes; n++)
        if (!consumed[n] && el_is_output_candidate(g->nodes[n].op)) outputs[nout++] = n;

    printf("graph: %s\nnodes: %d\n\ninputs:\n", g->source, g->nnodes);
    for (int i = 0; i < nin; i++) {
        const el_node *nd = &g->nodes[inputs[i]];
        el_dtype dt = EL_DT_INVALID;
        el_shape sh;
        bool present = false;
        el_attr_dtype(nd, "dtype", EL_DT_INVALID, &dt);
        el_attr_shape(nd, "shape", &sh, &present);
        printf("  %-40s %-8s ", nd->name, el_dtype_name(dt));
        el_print_shape(&sh, present);
        printf("\n");
    }

    /* A plan over all outputs gives the loop frames; a trial run their shapes. */
    const char **in_names = malloc(sizeof(char *) * (size_t)(nin + 1));
    const char **out_names = malloc(sizeof(char *) * (size_t)(nout + 1));
    el_tensor *feeds = calloc((size_t)nin + 1, sizeof(el_tensor));
    el_tensor *fetched = calloc((size_t)nout + 1, sizeof(el_tensor));
    el_plan plan;
    bool have_plan = false, have_shapes = false;
    if (in_names && out_names && feeds && fetched && nout > 0) {
        for (int i = 0; i < nin; i++) in_names[i] = g->nodes[inputs[i]].name;
        for (int i = 0; i < nout; i++) out_names[i] = g->nodes[outputs[i]].name;
        if (el_plan_build(&plan, g, nin, in_names, nout, out_names, NULL) == EL_OK) {
            have_plan = true;
            if (el_trial_feeds(g, inputs, nin, feeds) == EL_OK && el_plan_run(&plan, feeds, fetched) == EL_OK)
                have_shapes = true;
        } else {
            printf("\n(cannot be executed: %s)\n", el_last_error());
        }
    }
    printf("\noutputs%s:\n", have_shapes ? " (shapes from a trial run on zeros)" : "");
    for (int i = 0; i < nout; i++) {
        const el_node *nd = &g->nodes[outputs[i]];
        printf("  %-40s %-8s", nd->name, have_shapes ? el_dtype_name(fetched[i].dtype) : "");
        if (have_shapes) {
            char s[160];
            printf(" %s", el_shape_str(fetched[i].ndim, fetched[i].dims, s, sizeof s));
        }
        printf("  (op %s)\n", nd->op);
    }
    qsort(ops, (size_t)nops, sizeof *ops, el_opcount_cmp);
    printf("\nops: %d types\n", nops);
    for (int o = 0; o < nops; o++) printf("  %-32s %6d\n", ops[o].op, ops[o].n);
    printf("\nparameters: %lld (%.2f MB of float constants)\n", (long long)params, (double)param_bytes / 1e6);
    if (have_plan) {
        printf("\nwhile-loop frames: %d\n", plan.nframes - 1);
        for (int f = 1; f < plan.nframes; f++)
            printf("  %-56s %4d nodes, %2d enters, %2d exits, in %s\n", plan.frames[f].name, plan.frames[f].nnodes,
                   plan.frames[f].nenters, plan.frames[f].nexits,
                   plan.frames[f].parent > 0 ? plan.frames[plan.frames[f].parent].name : "root");
        el_plan_free(&plan);
    }
    for (int i = 0; i < nin; i++) el_tensor_release(&feeds[i]);
    if (have_shapes)
        for (int i = 0; i < nout; i++) el_tensor_release(&fetched[i]);
    free(in_names);
    free(out_names);
    free(feeds);
    free(fetched);
out:
    free(inputs);
    free(outputs);
    free(consumed);
    free(ops);
    el_labels_free(labels);
    el_graph_free(g);
    return rc;
}
