/* The graph passes' working copy of a graph (graph/optimize.c), shared
 * with the passes that live in files of their own (graph/fuse_nms.c). */
#ifndef EL_GRAPH_OPTIMIZE_IR_H
#define EL_GRAPH_OPTIMIZE_IR_H

#include "graph/optimize.h"

typedef struct el_oin {
    int node;
    int slot; /* -1: control */
} el_oin;

typedef struct el_onode {
    const char *name;     /* borrowed from the source graph, or owned (name_owned) */
    const char *op;       /* borrowed or a literal */
    const el_node *orig;  /* node whose attrs are used, NULL when attrs is set */
    el_attr *attrs;       /* owned override of the attrs (tensors retained) */
    int nattrs;
    el_oin *in;           /* owned */
    int nin, ndata;
    bool name_owned;
    bool needed;          /* emitted (before the final prune) */
    bool fed;
    bool fetched;
    bool fetched_nonzero; /* some fetch reads an output slot > 0 */
    bool is_const;
    el_tensor *val;       /* outputs of a constant node, owned */
    int nval;
    int ndata_readers, nctrl_readers;
} el_onode;

typedef struct el_opt {
    const el_graph *g;
    el_onode *n;
    int nn, cap;
    el_optimize_stats st;
} el_opt;

/* The error of an allocation that failed. */
el_status el_opt_oom(void);
/* Frees an attr array a pass made (tensors released). */
void el_attrs_free(el_attr *a, int n);
/* n's attr `name` (its own once a pass changed them, else its source
 * node's); NULL when absent. */
const el_attr *el_onode_attr(const el_onode *n, const char *name);

/* Replaces n's attrs by a copy of from's without extra->name, plus *extra. */
el_status el_set_attr(el_onode *n, const el_onode *from, const el_attr *extra);
/* Data input k of node n as a constant of dtype dt, rank ndim, numel
 * values (-1: any): a folded constant or a Const whose only inputs are
 * control inputs (a loop body's); else NULL. */
const el_tensor *el_opt_const_of(const el_opt *o, int n, int k, el_dtype dt, int ndim, int64_t numel);

/* The TF1 Object Detection API's unrolled per-class NMS made one
 * _ElMultiClassNms (graph/fuse_nms.c). */
el_status el_opt_fuse_nms(el_opt *o);
/* A TopK whose readers look at the first rows of its outputs only sorts
 * those (graph/topk_prefix.c). */
el_status el_opt_topk_prefix(el_opt *o);
/* Helpers of that pass (graph/topk_prefix.c): input k of node n as a
 * constant int32 / int64 scalar; node g is Gather(params, indices) or
 * GatherV2(params, indices, 0) with batch_dims 0; an upper bound on the
 * indices node n's input k can hold (a Range from >= 0 with a step > 0 to
 * a constant or to Minimum(constant, anything), or constant indices, all
 * >= 0), or -1. */
bool el_opt_int_scalar(const el_opt *o, int n, int k, int64_t *v);
bool el_opt_is_gather0(const el_opt *o, int g);
int64_t el_opt_index_bound(const el_opt *o, int n, int k);
/* An _ElMultiClassNms whose rows are read only through a TopK prefix and
 * its count only as min(P, count) may leave out the rows ranked below
 * (graph/nms_top.c). */
el_status el_opt_nms_top(el_opt *o);

#endif
