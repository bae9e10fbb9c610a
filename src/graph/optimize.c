/* Graph passes, run once per session on a private copy of the graph:
 *
 *  1. prune to what the fetches need (inputs of fed nodes are not needed);
 *  2. constant folding: a node whose inputs (data and control) all come
 *     from constants is evaluated once with its own kernel and becomes a
 *     Const. Only nodes reachable from input-less Consts qualify, and those
 *     all live in the root frame: a Const inside a while loop carries a
 *     control input from the loop's pivot, so loop bodies are never folded
 *     and TF1 control flow keeps its exact semantics. Stateful ops
 *     (TensorArray, TensorList, Assert, placeholders, randomness) are never
 *     folded; neither are results over EL_FOLD_MAX_BYTES (grappler's own
 *     bound is 10 MB);
 *  3. Identity removal: readers of an Identity read its input instead, when
 *     the Identity has no control inputs or control readers, is neither fed
 *     nor fetched, and its input does not come from a control-flow node (an
 *     Identity after a Switch is a branch pivot: its control readers carry
 *     the branch's deadness);
 *  4. batch-norm folding: Conv2D / DepthwiseConv2dNative followed by an
 *     inference FusedBatchNorm (is_training false, constant parameters)
 *     becomes one fused convolution with scaled filter and a bias:
 *     w' = w * f, b = offset - mean * f, f = scale / sqrt(var + epsilon);
 *  5. bias fusion: convolution + BiasAdd (or Add of a constant [depth]
 *     vector) becomes _FusedConv2D / FusedDepthwiseConv2dNative with
 *     fused_ops [BiasAdd];
 *  6. activation fusion: a following Relu / Relu6 is appended to fused_ops;
 *     MobileNetV3's hard swish (Mul, Add, Relu6, Mul) becomes one
 *     _ElHardSwish node (el_opt_hswish), and after a convolution the last of its
 *     fused_ops (el_opt_conv_tail, as are a Sigmoid after a convolution
 *     and an Add of a convolution and another tensor: applied to each output tile as the
 *     kernel stores it), CenterNet's peak test
 *     Mul(x, Cast(Equal(x, m))) one _ElKeepEqual (el_opt_keep_equal),
 *     which with its MaxPool and the TopKV2 of its Reshape becomes one
 *     _ElPeakTopK (el_opt_keep_equal_pool, el_opt_peak_topk),
 *     x * c + d with scalar constants one _ElMulAdd (el_opt_mul_add),
 *     which then takes in a Pad, a Mul by a scalar and a uint8 Cast
 *     before it (el_opt_mul_add_absorb; see ops/mul_add.c);
 *     an _ElMulAdd read only by a first-layer convolution (the stem
 *     kernel's) is applied by it as it loads its input (el_opt_conv_in_std,
 *     ops/mul_add.h: same bits);
 *     a Mul read only by convolutions (as their input) is folded into
 *     their filters at run time (el_opt_conv_in_scale, squeeze-excite's
 *     Mul(x, s): rounding differs, see ops/conv_in_scale.h);
 *     a Neg feeding a ConcatV2 and a Relu reading one are applied by the
 *     concat's copy (CReLU's Concat(x, Neg(x)), CenterNet's Relu after
 *     its upsampling concats; el_opt_concat_neg, el_opt_relu_absorb),
 *     and a spatial Mean of a concat summed by it (el_opt_concat_mean),
 *     which then also resizes an upsampled input itself
 *     (el_opt_concat_resize), or of a depthwise convolution summed by it
 *     as it stores its rows (el_opt_conv_mean, ops/conv_mean.h);
 *     a channel concat read only by a MaxPool is pooled input by input
 *     (el_opt_pool_concat: FaceBoxes' CReLU) and a Relu reading a MaxPool
 *     applied by it (el_opt_relu_absorb);
 *     a depthwise convolution read only by a 1x1 stride-1 convolution is
 *     run by it a row at a time (el_opt_dw_pw, ops/conv_dwpw.h);
 *     the TF1 OD API's unrolled per-class NMS chains and their ConcatV2s
 *     become one _ElMultiClassNms (graph/fuse_nms.c), and a TopK whose
 *     readers look at its first rows only orders only those
 *     (graph/topk_prefix.c: SortByField's sort of every detection), and
 *     the fused NMS then leaves out the rows ranked below those
 *     (graph/nms_top.c);
 *  7. filter packing: a Conv2D / _FusedConv2D whose filter is a constant
 *     reads it packed in the fast kernel's layout (ops/gemm.h), made once
 *     here instead of on every run; the HWIO constant it replaces is
 *     released at once when nothing else reads it (a folded filter's
 *     memory is then reused by the next packed copy, so the session holds
 *     one copy of the weights, not two; a replaced filter of the model file
 *     has its pages handed back, see el_opt_reclaim). Only when the CPU runs the packed
 *     kernel (AVX-512); the kernel still reads a packed filter on any other
 *     ISA by unpacking it.
 *  8. a 1x1 expansion (or a first layer the stem kernel runs) read only
 *     by a depthwise convolution is run by it, a few input rows at a time
 *     (el_opt_pw_dw, ops/conv_dwpw.h); then a depthwise node running a 1x1
 *     expansion runs the depthwise node (with its expansion) it reads
 *     too, a second ring level (el_opt_ring).
 *
 * A fused node takes the name of the last node it replaces, so readers and
 * fetches resolve unchanged; a convolution is only absorbed when the fused
 * node is its only reader. Numbers change by float rounding only (the
 * reference conv kernel adds the bias after the whole sum, as BiasAdd did). */
#include "graph/optimize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pages.h"
#include "graph/optimize_ir.h"
#include "ops/concat.h"
#include "ops/conv_dwpw.h"
#include "ops/conv_in_scale.h"
#include "ops/conv_mean.h"
#include "ops/conv_stem.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"
#include "ops/kernel.h"
#include "ops/pool.h"

#define EL_FOLD_MAX_BYTES ((size_t)10 << 20)

el_status el_opt_oom(void) { return el_error(EL_ERR_NOMEM, "out of memory in the graph passes"); }

void el_attrs_free(el_attr *a, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].type == EL_ATTR_TENSOR) el_tensor_release(&a[i].v.tensor);
    free(a);
}

static void el_onode_clear(el_onode *o)
{
    if (o->name_owned) free((char *)o->name);
    el_attrs_free(o->attrs, o->nattrs);
    free(o->in);
    for (int i = 0; i < o->nval; i++) el_tensor_release(&o->val[i]);
    free(o->val);
    memset(o, 0, sizeof *o);
}

static el_status el_opt_new_node(el_opt *o, int *idx)
{
    if (o->nn == o->cap) {
        int cap = o->cap * 2 + 16;
        el_onode *n = realloc(o->n, sizeof *n * (size_t)cap);
        if (!n) return el_opt_oom();
        memset(n + o->cap, 0, sizeof *n * (size_t)(cap - o->cap));
        o->n = n;
        o->cap = cap;
    }
    *idx = o->nn++;
    return EL_OK;
}

/* ---- attrs ---- */

const el_attr *el_onode_attr(const el_onode *n, const char *name)
{
    if (n->attrs) {
        for (int i = 0; i < n->nattrs; i++)
            if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
        return NULL;
    }
    return n->orig ? el_node_attr(n->orig, name) : NULL;
}

static bool el_onode_str_is(const el_onode *n, const char *name, const char *def, const char *want)
{
    const el_attr *a = el_onode_attr(n, name);
    if (!a) return def && !strcmp(def, want);
    return a->type == EL_ATTR_S && a->v.s.len == strlen(want) && !memcmp(a->v.s.data, want, a->v.s.len);
}

static bool el_onode_bool(const el_onode *n, const char *name, bool def)
{
    const el_attr *a = el_onode_attr(n, name);
    if (!a) return def;
    return a->type == EL_ATTR_B ? a->v.b : def; /* a malformed attr: the safe default */
}

static bool el_onode_float_ok(const el_onode *n)
{
    const el_attr *a = el_onode_attr(n, "T");
    return !a || (a->type == EL_ATTR_TYPE && a->v.type == EL_DT_FLOAT);
}

/* Whether n's list attr `name` is all ones (absent: def). */
static bool el_onode_ones(const el_onode *n, const char *name, bool def)
{
    const el_attr *a = el_onode_attr(n, name);
    if (!a) return def;
    if (a->type != EL_ATTR_LIST || a->v.list.elem != EL_ATTR_I) return false;
    for (int i = 0; i < a->v.list.n; i++)
        if (a->v.list.v.i[i] != 1) return false;
    return true;
}

/* Whether n's strides attr is [1, 1, 1, 1]. */
static bool el_onode_unit_strides(const el_onode *n)
{
    const el_attr *st = el_onode_attr(n, "strides");
    if (!st || st->type != EL_ATTR_LIST || st->v.list.elem != EL_ATTR_I || st->v.list.n != 4) return false;
    for (int i = 0; i < 4; i++)
        if (st->v.list.v.i[i] != 1) return false;
    return true;
}

/* n's attrs (its own once a pass changed them, else its source node's). */
static const el_attr *el_onode_attrs(const el_onode *n, int *count)
{
    *count = n->attrs ? n->nattrs : (n->orig ? n->orig->nattrs : 0);
    return n->attrs ? n->attrs : (n->orig ? n->orig->attrs : NULL);
}

/* A copy of n's attrs without those named in `drop`, with room for `extra`
 * more; tensors are retained. */
static el_status el_attrs_copy(const el_onode *n, const char *const *drop, int ndrop, int extra, el_attr **out,
                               int *nout)
{
    int ns;
    const el_attr *src = el_onode_attrs(n, &ns);
    el_attr *a = calloc((size_t)(ns + extra + 1), sizeof *a);
    if (!a) return el_opt_oom();
    int k = 0;
    for (int i = 0; i < ns; i++) {
        bool skip = false;
        for (int d = 0; d < ndrop; d++)
            if (!strcmp(src[i].name, drop[d])) skip = true;
        if (skip) continue;
        a[k] = src[i];
        if (a[k].type == EL_ATTR_TENSOR) el_tensor_retain(&a[k].v.tensor);
        k++;
    }
    *out = a;
    *nout = k;
    return EL_OK;
}

/* fused_ops of a fused convolution ([] when absent). */
static int el_fused_ops(const el_onode *n, const el_string **ops)
{
    const el_attr *a = el_onode_attr(n, "fused_ops");
    *ops = NULL;
    if (!a || a->type != EL_ATTR_LIST || a->v.list.n == 0) return 0;
    if (a->v.list.elem != EL_ATTR_S) return -1;
    *ops = a->v.list.v.s;
    return a->v.list.n;
}

static bool el_estr_is(el_string s, const char *lit) { return s.len == strlen(lit) && !memcmp(s.data, lit, s.len); }

/* Replaces n's attrs with `base` (owned, nbase used, room for 2 more) plus
 * fused_ops = ops and num_args. */
static el_status el_set_fused(el_onode *n, el_attr *base, int nbase, const char *const *ops, int nops, int num_args)
{
    el_string *s = calloc((size_t)nops + 1, sizeof *s);
    if (!s) {
        el_attrs_free(base, nbase);
        return el_opt_oom();
    }
    for (int i = 0; i < nops; i++) {
        s[i].data = ops[i];
        s[i].len = strlen(ops[i]);
    }
    el_attr *fo = &base[nbase++];
    fo->name = "fused_ops";
    fo->type = EL_ATTR_LIST;
    fo->v.list.elem = nops ? EL_ATTR_S : EL_ATTR_NONE;
    fo->v.list.n = nops;
    fo->v.list.v.s = s;
    el_attr *na = &base[nbase++];
    na->name = "num_args";
    na->type = EL_ATTR_I;
    na->v.i = num_args;
    /* n's own fused_ops list, if an earlier pass set one (a fusion redone). */
    for (int i = 0; n->attrs && i < n->nattrs; i++)
        if (n->attrs[i].type == EL_ATTR_LIST && n->attrs[i].v.list.elem == EL_ATTR_S &&
            !strcmp(n->attrs[i].name, "fused_ops"))
            free(n->attrs[i].v.list.v.s);
    el_attrs_free(n->attrs, n->nattrs);
    n->attrs = base;
    n->nattrs = nbase;
    n->orig = NULL;
    return EL_OK;
}

/* ---- names ---- */

static el_status el_opt_name(el_opt *o, const char *base, const char *suffix, char **out)
{
    size_t len = strlen(base) + strlen(suffix) + 16;
    char *s = malloc(len);
    if (!s) return el_opt_oom();
    snprintf(s, len, "%s%s", base, suffix);
    /* Names must stay unique: avoid the source graph's and our own. */
    for (int k = 1;; k++) {
        bool clash = el_graph_find(o->g, s) >= 0;
        for (int i = o->g->nnodes; i < o->nn && !clash; i++)
            if (o->n[i].name && !strcmp(o->n[i].name, s)) clash = true;
        if (!clash) break;
        snprintf(s, len, "%s%s_%d", base, suffix, k);
    }
    *out = s;
    return EL_OK;
}

/* A new Const node holding t (reference taken). */
static el_status el_opt_const(el_opt *o, const char *base, const char *suffix, const el_tensor *t, int *idx)
{
    char *name = NULL;
    EL_TRY(el_opt_name(o, base, suffix, &name));
    int i = -1;
    el_status s = el_opt_new_node(o, &i);
    if (s != EL_OK) {
        free(name);
        return s;
    }
    el_onode *n = &o->n[i];
    n->name = name;
    n->name_owned = true;
    n->op = "Const";
    n->needed = true;
    n->is_const = true;
    n->attrs = calloc(3, sizeof(el_attr));
    n->val = calloc(1, sizeof(el_tensor));
    if (!n->attrs || !n->val) return el_opt_oom();
    n->nval = 1;
    n->val[0] = *t;
    el_tensor_retain(&n->val[0]);
    n->nattrs = 2;
    n->attrs[0].name = "dtype";
    n->attrs[0].type = EL_ATTR_TYPE;
    n->attrs[0].v.type = t->dtype;
    n->attrs[1].name = "value";
    n->attrs[1].type = EL_ATTR_TENSOR;
    n->attrs[1].v.tensor = *t;
    el_tensor_retain(&n->attrs[1].v.tensor);
    *idx = i;
    return EL_OK;
}

/* Turns node i into a Const of its own output 0 (already in val). */
static el_status el_opt_make_const(el_opt *o, int i)
{
    el_onode *n = &o->n[i];
    el_attr *a = calloc(3, sizeof *a);
    if (!a) return el_opt_oom();
    a[0].name = "dtype";
    a[0].type = EL_ATTR_TYPE;
    a[0].v.type = n->val[0].dtype;
    a[1].name = "value";
    a[1].type = EL_ATTR_TENSOR;
    a[1].v.tensor = n->val[0];
    el_tensor_retain(&a[1].v.tensor);
    el_attrs_free(n->attrs, n->nattrs);
    n->attrs = a;
    n->nattrs = 2;
    n->orig = NULL;
    n->op = "Const";
    free(n->in);
    n->in = NULL;
    n->nin = n->ndata = 0;
    return EL_OK;
}

/* ---- setup ---- */

static bool el_opt_resolve(const el_graph *g, const char *name, int *node, int *slot)
{
    size_t len;
    *node = el_graph_find_output(g, name, &len, slot);
    return *node >= 0;
}

static el_status el_opt_load(el_opt *o, int nfeeds, const char *const *feeds, int nfetches,
                             const char *const *fetches, bool *ok)
{
    const el_graph *g = o->g;
    *ok = false;
    o->cap = g->nnodes + 64;
    o->nn = g->nnodes;
    o->n = calloc((size_t)o->cap, sizeof *o->n);
    if (!o->n) return el_opt_oom();
    for (int i = 0; i < nfeeds; i++) {
        int n = -1, s = 0;
        if (!el_opt_resolve(g, feeds[i], &n, &s)) return EL_OK;
        o->n[n].fed = true;
    }
    int *stack = malloc(sizeof(int) * (size_t)(g->nnodes + 1));
    if (!stack) return el_opt_oom();
    int sp = 0;
    for (int i = 0; i < nfetches; i++) {
        int n = -1, s = 0;
        if (!el_opt_resolve(g, fetches[i], &n, &s)) {
            free(stack);
            return EL_OK;
        }
        o->n[n].fetched = true;
        if (s > 0) o->n[n].fetched_nonzero = true;
        if (!o->n[n].needed) {
            o->n[n].needed = true;
            stack[sp++] = n;
        }
    }
    while (sp > 0) {
        int n = stack[--sp];
        if (o->n[n].fed) continue;
        const el_node *nd = &g->nodes[n];
        for (int k = 0; k < nd->ninputs; k++) {
            int s = nd->inputs[k].node;
            if (!o->n[s].needed) {
                o->n[s].needed = true;
                stack[sp++] = s;
            }
        }
    }
    free(stack);
    for (int n = 0; n < g->nnodes; n++) {
        el_onode *on = &o->n[n];
        const el_node *nd = &g->nodes[n];
        on->name = nd->name;
        on->op = nd->op;
        on->orig = nd;
        if (!on->needed) continue;
        o->st.nodes_before++;
        if (on->fed) continue; /* a fed node's inputs are never read */
        on->nin = nd->ninputs;
        on->ndata = nd->ndata;
        on->in = malloc(sizeof(el_oin) * (size_t)(nd->ninputs + 1));
        if (!on->in) return el_opt_oom();
        for (int k = 0; k < nd->ninputs; k++) {
            on->in[k].node = nd->inputs[k].node;
            on->in[k].slot = k < nd->ndata ? nd->inputs[k].slot : -1;
        }
    }
    *ok = true;
    return EL_OK;
}

/* ---- constant folding ---- */

static bool el_foldable_op(const char *op)
{
    static const char *const prefixes[] = {"TensorArray", "TensorList", "EmptyTensorList", "Placeholder", "Random",
                                           "Stateful", "Variable", "Queue", "Iterator", "Print"};
    static const char *const exact[] = {"Const", "Assert", "NoOp", "LoopCond", "ControlTrigger", "Switch", "RefSwitch",
                                        "Merge", "RefMerge", "Enter", "RefEnter", "Exit", "RefExit", "NextIteration",
                                        "RefNextIteration", "Identity"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (!strncmp(op, prefixes[i], strlen(prefixes[i]))) return false;
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (!strcmp(op, exact[i])) return false;
    return true;
}

/* Topological order of the needed source nodes, without NextIteration's
 * back edges; nodes on any other cycle are left out (the plan reports
 * them). */
static el_status el_opt_topo(el_opt *o, int **order, int *norder)
{
    int nn = o->g->nnodes;
    int *indeg = calloc((size_t)nn + 1, sizeof(int));
    int *head = malloc(sizeof(int) * (size_t)(nn + 1));
    int *q = malloc(sizeof(int) * (size_t)(nn + 1));
    int total = 0;
    for (int n = 0; n < nn; n++) total += o->n[n].needed ? o->n[n].nin : 0;
    int *next = malloc(sizeof(int) * (size_t)(total + 1)), *dst = malloc(sizeof(int) * (size_t)(total + 1));
    if (!indeg || !head || !q || !next || !dst) {
        free(indeg), free(head), free(q), free(next), free(dst);
        return el_opt_oom();
    }
    for (int n = 0; n < nn; n++) head[n] = -1;
    int e = 0;
    for (int n = 0; n < nn; n++) {
        if (!o->n[n].needed) continue;
        for (int k = 0; k < o->n[n].nin; k++) {
            int s = o->n[n].in[k].node;
            if (!strcmp(o->n[s].op, "NextIteration") || !strcmp(o->n[s].op, "RefNextIteration")) continue;
            indeg[n]++;
            dst[e] = n;
            next[e] = head[s];
            head[s] = e++;
        }
    }
    int qh = 0, qt = 0;
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed && indeg[n] == 0) q[qt++] = n;
    while (qh < qt) {
        int n = q[qh++];
        for (int x = head[n]; x >= 0; x = next[x])
            if (--indeg[dst[x]] == 0) q[qt++] = dst[x];
    }
    free(indeg), free(head), free(next), free(dst);
    *order = q;
    *norder = qt;
    return EL_OK;
}

/* Evaluates node i if all its inputs are constants. */
static el_status el_opt_try_fold(el_opt *o, int i)
{
    el_onode *n = &o->n[i];
    if (n->fed) return EL_OK;
    if (!strcmp(n->op, "Const")) {
        if (n->nin != 0) return EL_OK;
        const el_attr *a = el_node_attr(n->orig, "value");
        if (!a || a->type != EL_ATTR_TENSOR || !a->v.tensor.buf) return EL_OK;
        el_dtype want = a->v.tensor.dtype;
        const el_attr *d = el_node_attr(n->orig, "dtype");
        if (d && (d->type != EL_ATTR_TYPE || d->v.type != want)) return EL_OK; /* the kernel reports it */
        n->val = calloc(1, sizeof(el_tensor));
        if (!n->val) return el_opt_oom();
        n->val[0] = a->v.tensor;
        el_tensor_retain(&n->val[0]);
        n->nval = 1;
        n->is_const = true;
        return EL_OK;
    }
    if (n->nin == 0 || n->fetched_nonzero || !el_foldable_op(n->op)) return EL_OK;
    for (int k = 0; k < n->nin; k++) {
        const el_onode *s = &o->n[n->in[k].node];
        if (!s->is_const || (n->in[k].slot >= 0 && n->in[k].slot >= s->nval)) return EL_OK;
    }
    const el_op *op = el_op_find(n->op);
    if (!op) return EL_OK;
    int nout = op->noutputs ? op->noutputs(n->orig) : 1;
    if (nout < 1 || nout > 64) {
        el_error_clear();
        return EL_OK;
    }
    el_tensor in[64];
    if (n->ndata > 64) return EL_OK;
    for (int k = 0; k < n->ndata; k++) in[k] = o->n[n->in[k].node].val[n->in[k].slot];
    el_tensor *out = calloc((size_t)nout, sizeof *out);
    if (!out) return el_opt_oom();
    el_kctx ctx = {.node = n->orig, .ninputs = n->ndata, .inputs = in, .noutputs = nout, .outputs = out};
    el_status s = op->run(&ctx);
    el_kctx_end(&ctx);
    bool ok = s == EL_OK;
    size_t bytes = 0;
    for (int k = 0; k < nout && ok; k++) {
        el_dtype dt = out[k].dtype;
        if (!out[k].buf || dt == EL_DT_RESOURCE || dt == EL_DT_VARIANT || dt == EL_DT_STRING) ok = false;
        else bytes += el_tensor_nbytes(&out[k]);
    }
    if (!ok || bytes > EL_FOLD_MAX_BYTES) {
        /* Left to run (and fail, if it does) at run time, as written. */
        el_error_clear();
        for (int k = 0; k < nout; k++) el_tensor_release(&out[k]);
        free(out);
        return EL_OK;
    }
    n->val = out;
    n->nval = nout;
    n->is_const = true;
    return EL_OK;
}

static el_status el_opt_fold(el_opt *o)
{
    int *order = NULL, norder = 0;
    EL_TRY(el_opt_topo(o, &order, &norder));
    el_status s = EL_OK;
    for (int i = 0; i < norder && s == EL_OK; i++) s = el_opt_try_fold(o, order[i]);
    free(order);
    if (s != EL_OK) return s;
    /* Materialize: constants read by non-constant nodes or fetched. */
    int nn = o->g->nnodes;
    uint8_t *use0 = calloc((size_t)nn + 1, 1);
    if (!use0) return el_opt_oom();
    for (int n = 0; n < nn; n++) {
        el_onode *on = &o->n[n];
        if (!on->needed || on->is_const) continue;
        for (int k = 0; k < on->nin; k++) {
            el_oin *in = &on->in[k];
            el_onode *src = &o->n[in->node];
            if (!src->is_const || !strcmp(src->op, "Const")) continue;
            if (in->slot <= 0) {
                use0[in->node] = 1;
                continue;
            }
            /* Output k > 0 of a folded node: its own Const. */
            char suffix[32];
            snprintf(suffix, sizeof suffix, "/_el_folded_%d", in->slot);
            int c = -1;
            s = el_opt_const(o, src->name, suffix, &src->val[in->slot], &c);
            if (s != EL_OK) break;
            on = &o->n[n]; /* o->n may have moved */
            on->in[k].node = c;
            on->in[k].slot = 0;
        }
        if (s != EL_OK) break;
    }
    for (int n = 0; n < nn && s == EL_OK; n++) {
        el_onode *on = &o->n[n];
        if (!on->needed || !on->is_const || !strcmp(on->op, "Const")) continue;
        if (use0[n] || on->fetched) {
            s = el_opt_make_const(o, n);
            o->st.folded++;
        } else {
            on->needed = false; /* only folded into other constants */
            o->st.folded++;
        }
    }
    free(use0);
    return s;
}

/* ---- readers ---- */

static void el_opt_count_readers(el_opt *o)
{
    for (int n = 0; n < o->nn; n++) o->n[n].ndata_readers = o->n[n].nctrl_readers = 0;
    for (int n = 0; n < o->nn; n++) {
        if (!o->n[n].needed) continue;
        for (int k = 0; k < o->n[n].nin; k++) {
            el_onode *s = &o->n[o->n[n].in[k].node];
            if (o->n[n].in[k].slot < 0) s->nctrl_readers++;
            else s->ndata_readers++;
        }
    }
}

static bool el_is_control_flow(const char *op)
{
    static const char *const cf[] = {"Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "RefEnter", "Exit",
                                     "RefExit", "NextIteration", "RefNextIteration", "LoopCond"};
    for (size_t i = 0; i < sizeof cf / sizeof *cf; i++)
        if (!strcmp(op, cf[i])) return true;
    return false;
}

/* ---- Identity removal ---- */

static bool el_identity_removable(const el_opt *o, int i)
{
    const el_onode *n = &o->n[i];
    if (!n->needed || strcmp(n->op, "Identity") || n->fed || n->fetched) return false;
    if (n->nin != 1 || n->ndata != 1 || n->nctrl_readers > 0) return false;
    return !el_is_control_flow(o->n[n->in[0].node].op);
}

static void el_opt_identities(el_opt *o)
{
    el_opt_count_readers(o);
    for (int n = 0; n < o->nn; n++) {
        el_onode *on = &o->n[n];
        if (!on->needed) continue;
        for (int k = 0; k < on->ndata; k++) {
            el_oin *in = &on->in[k];
            /* Follow chains of Identities; bounded by the node count. */
            for (int hops = 0; hops < o->nn && el_identity_removable(o, in->node); hops++) *in = o->n[in->node].in[0];
        }
    }
    for (int n = 0; n < o->nn; n++)
        if (el_identity_removable(o, n)) {
            o->n[n].needed = false;
            o->st.identities++;
        }
}

static bool el_opt_packable(const el_opt *o, int i, el_filter_layout layout, const el_tensor *w);
static el_status el_opt_mark_packed(el_opt *o, int i, int c, el_filter_layout layout, int64_t oc);

/* A constant of the source graph that the passes replaced by their own
 * copy (folded, packed) and that the new graph no longer reads: when its
 * data lies in the source graph's mapping of the model file, the pages
 * the pass read leave the resident set, so the session holds one copy of
 * the weights. Only clean file pages go (core/pages.h): the next access
 * reads the same bytes again, so another session reading the same Const
 * still sees the same values. */
static void el_opt_reclaim(const el_opt *o, const el_onode *n)
{
    if (!n->orig || n->nval < 1 || n->ndata_readers != 0 || n->nctrl_readers != 0 || n->fetched) return;
    const char *m = o->g->mapping, *d = n->val[0].data;
    size_t ms = o->g->mapping_size, len = el_tensor_nbytes(&n->val[0]);
    if (!m || !d || d < m || len > ms || (size_t)(d - m) > ms - len) return;
    (void)el_pages_release_clean(d, len);
}

/* ---- fusion ---- */

static bool el_is_plain_conv(const char *op) { return !strcmp(op, "Conv2D") || !strcmp(op, "DepthwiseConv2dNative"); }

static bool el_is_fused_conv(const char *op)
{
    return !strcmp(op, "_FusedConv2D") || !strcmp(op, "FusedDepthwiseConv2dNative") ||
           !strcmp(op, "_FusedDepthwiseConv2dNative");
}

/* Node i's data input k comes from a node that only i reads (and only
 * through that one input), which is neither fed nor fetched. */
static bool el_sole_reader(const el_opt *o, int i, int k, int *src)
{
    const el_oin *in = &o->n[i].in[k];
    const el_onode *s = &o->n[in->node];
    if (in->slot != 0 || s->fed || s->fetched || s->ndata_readers != 1 || s->nctrl_readers != 0) return false;
    *src = in->node;
    return true;
}

static const el_tensor *el_const_input(const el_opt *o, const el_onode *n, int k)
{
    if (k >= n->ndata) return NULL;
    const el_onode *s = &o->n[n->in[k].node];
    if (!s->is_const || n->in[k].slot < 0 || n->in[k].slot >= s->nval) return NULL;
    const el_tensor *t = &s->val[n->in[k].slot];
    return t->dtype == EL_DT_FLOAT ? t : NULL;
}

/* Node r becomes the fusion: inputs = data (ndata of them) then the control
 * inputs of c and r. Takes `data`. */
static el_status el_opt_rewire(el_opt *o, int r, int c, el_oin *data, int ndata)
{
    el_onode *rn = &o->n[r], *cn = &o->n[c];
    int nctrl = (cn->nin - cn->ndata) + (rn->nin - rn->ndata);
    el_oin *in = malloc(sizeof *in * (size_t)(ndata + nctrl + 1));
    if (!in) {
        free(data);
        return el_opt_oom();
    }
    memcpy(in, data, sizeof *in * (size_t)ndata);
    free(data);
    int k = ndata;
    for (int j = cn->ndata; j < cn->nin; j++) in[k++] = cn->in[j];
    for (int j = rn->ndata; j < rn->nin; j++) in[k++] = rn->in[j];
    free(rn->in);
    rn->in = in;
    rn->nin = k;
    rn->ndata = ndata;
    cn->needed = false;
    return EL_OK;
}

static el_status el_opt_fold_bn(el_opt *o, int b)
{
    el_onode *bn = &o->n[b];
    if (bn->fed || bn->fetched_nonzero || bn->ndata != 5 || bn->ndata_readers == 0) return EL_OK;
    if (el_onode_bool(bn, "is_training", true) || !el_onode_str_is(bn, "data_format", "NHWC", "NHWC")) return EL_OK;
    if (!el_onode_float_ok(bn)) return EL_OK;
    /* Only output 0 (y) may be read: the others are batch statistics. */
    for (int n = 0; n < o->nn; n++) {
        if (!o->n[n].needed) continue;
        for (int k = 0; k < o->n[n].ndata; k++)
            if (o->n[n].in[k].node == b && o->n[n].in[k].slot != 0) return EL_OK;
    }
    int c = -1;
    if (!el_sole_reader(o, b, 0, &c)) return EL_OK;
    el_onode *cn = &o->n[c];
    if (!el_is_plain_conv(cn->op) || cn->ndata != 2 || !el_onode_float_ok(cn) ||
        !el_onode_str_is(cn, "data_format", "NHWC", "NHWC"))
        return EL_OK;
    bool depthwise = !strcmp(cn->op, "DepthwiseConv2dNative");
    const el_tensor *w = el_const_input(o, cn, 1);
    const el_tensor *scale = el_const_input(o, bn, 1), *offset = el_const_input(o, bn, 2);
    const el_tensor *mean = el_const_input(o, bn, 3), *var = el_const_input(o, bn, 4);
    if (!w || !scale || !offset || !mean || !var || w->ndim != 4) return EL_OK;
    int64_t oc = depthwise ? w->dims[2] * w->dims[3] : w->dims[3];
    if (oc <= 0 || el_tensor_numel(scale) != oc || el_tensor_numel(offset) != oc || el_tensor_numel(mean) != oc ||
        el_tensor_numel(var) != oc)
        return EL_OK;
    float eps = 0.0001f; /* FusedBatchNorm's default */
    const el_attr *ea = el_onode_attr(bn, "epsilon");
    if (ea) {
        if (ea->type != EL_ATTR_F) return EL_OK;
        eps = ea->v.f;
    }
    /* A Conv2D filter that the pack pass would pack is folded straight
     * into the packed layout: no HWIO copy of the weights is made. */
    el_filter_layout layout = el_filter_layout_preferred();
    bool pack = !depthwise && el_opt_packable(o, c, layout, w);
    el_tensor nw = {0}, bias = {0};
    int64_t bdim[1] = {oc};
    EL_TRY(el_tensor_alloc(&bias, EL_DT_FLOAT, 1, bdim));
    const float *sc = scale->data, *of = offset->data, *mu = mean->data, *va = var->data, *wd = w->data;
    float *f = malloc(sizeof(float) * (size_t)oc);
    if (!f) {
        el_tensor_release(&bias);
        return el_opt_oom();
    }
    /* The factor as FusedBatchNorm computes it: rsqrt(var + eps) * scale. */
    for (int64_t j = 0; j < oc; j++) {
        f[j] = 1.0f / sqrtf(va[j] + eps) * sc[j];
        ((float *)bias.data)[j] = of[j] - mu[j] * f[j];
    }
    el_status s;
    if (pack) {
        s = el_filter_pack_scaled(w, layout, f, &nw);
    } else {
        s = el_tensor_alloc(&nw, EL_DT_FLOAT, 4, w->dims);
        if (s == EL_OK) {
            /* HWIO (or HW,C,M for depthwise: output channel c*M+m): the
             * output channel is the fastest-varying index in both layouts.
             * Row by row (no division per element: this runs over every
             * weight of the model at session creation). */
            int64_t rows = el_tensor_numel(w) / oc;
            float *nd = nw.data;
            for (int64_t r = 0; r < rows; r++, nd += oc, wd += oc)
                for (int64_t j = 0; j < oc; j++) nd[j] = wd[j] * f[j];
        }
    }
    free(f);
    int cw = -1, cb = -1;
    if (s == EL_OK) s = el_opt_const(o, bn->name, pack ? "/_el_folded_filter/_el_packed" : "/_el_folded_filter", &nw, &cw);
    if (s == EL_OK) s = el_opt_const(o, o->n[b].name, "/_el_folded_bias", &bias, &cb);
    el_tensor_release(&nw);
    el_tensor_release(&bias);
    if (s != EL_OK) return s;
    bn = &o->n[b];
    cn = &o->n[c];
    static const char *const drop[] = {"fused_ops", "num_args", "epsilon"};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(cn, drop, 3, 2, &attrs, &na));
    el_oin *data = malloc(sizeof *data * 3);
    if (!data) {
        el_attrs_free(attrs, na);
        return el_opt_oom();
    }
    data[0] = cn->in[0];
    data[1] = (el_oin){cw, 0};
    data[2] = (el_oin){cb, 0};
    static const char *const ops[] = {"BiasAdd"};
    EL_TRY(el_set_fused(bn, attrs, na, ops, 1, 1));
    bn->op = depthwise ? "FusedDepthwiseConv2dNative" : "_FusedConv2D";
    int wsrc = o->n[c].in[1].node;
    EL_TRY(el_opt_rewire(o, b, c, data, 3));
    o->st.bn_folded++;
    if (--o->n[wsrc].ndata_readers == 0) el_opt_reclaim(o, &o->n[wsrc]);
    if (pack) EL_TRY(el_opt_mark_packed(o, b, cw, layout, w->dims[3]));
    return EL_OK;
}

/* BiasAdd(conv, b) or Add(conv, b) / Add(b, conv) with b a constant
 * [depth] vector: the same additions as the fused op's bias. */
static el_status el_opt_fuse_bias(el_opt *o, int a)
{
    el_onode *an = &o->n[a];
    if (an->fed || an->fetched_nonzero || an->ndata != 2 || !el_onode_float_ok(an)) return EL_OK;
    bool biasadd = !strcmp(an->op, "BiasAdd") || !strcmp(an->op, "BiasAddV1");
    if (!biasadd && strcmp(an->op, "Add") && strcmp(an->op, "AddV2")) return EL_OK;
    if (biasadd && !el_onode_str_is(an, "data_format", "NHWC", "NHWC")) return EL_OK;
    int ck = -1, c = -1;
    for (int k = 0; k < (biasadd ? 1 : 2) && ck < 0; k++) {
        int s = -1;
        if (el_sole_reader(o, a, k, &s) && el_is_plain_conv(o->n[s].op)) {
            ck = k;
            c = s;
        }
    }
    if (ck < 0) return EL_OK;
    el_onode *cn = &o->n[c];
    const el_tensor *b = el_const_input(o, an, 1 - ck);
    const el_tensor *w = el_const_input(o, cn, 1);
    if (!b || b->ndim != 1 || !w || w->ndim != 4 || cn->ndata != 2 || !el_onode_float_ok(cn) ||
        !el_onode_str_is(cn, "data_format", "NHWC", "NHWC"))
        return EL_OK;
    bool depthwise = !strcmp(cn->op, "DepthwiseConv2dNative");
    int64_t oc = depthwise ? w->dims[2] * w->dims[3] : w->dims[3];
    if (b->dims[0] != oc) return EL_OK;
    static const char *const drop[] = {"fused_ops", "num_args"};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(cn, drop, 2, 2, &attrs, &na));
    el_oin *data = malloc(sizeof *data * 3);
    if (!data) {
        el_attrs_free(attrs, na);
        return el_opt_oom();
    }
    data[0] = cn->in[0];
    data[1] = cn->in[1];
    data[2] = an->in[1 - ck];
    static const char *const ops[] = {"BiasAdd"};
    EL_TRY(el_set_fused(an, attrs, na, ops, 1, 1));
    an->op = depthwise ? "FusedDepthwiseConv2dNative" : "_FusedConv2D";
    EL_TRY(el_opt_rewire(o, a, c, data, 3));
    o->st.bias_fused++;
    return EL_OK;
}

static el_status el_opt_fuse_act(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (rn->fed || rn->fetched_nonzero || rn->ndata != 1 || !el_onode_float_ok(rn)) return EL_OK;
    const char *act = !strcmp(rn->op, "Relu") ? "Relu" : !strcmp(rn->op, "Relu6") ? "Relu6" : NULL;
    if (!act) return EL_OK;
    int c = -1;
    if (!el_sole_reader(o, r, 0, &c)) return EL_OK;
    el_onode *cn = &o->n[c];
    bool plain = el_is_plain_conv(cn->op);
    if (!plain && !el_is_fused_conv(cn->op)) return EL_OK;
    if (!el_onode_float_ok(cn) || !el_onode_str_is(cn, "data_format", "NHWC", "NHWC")) return EL_OK;
    const el_string *ops = NULL;
    int nops = plain ? 0 : el_fused_ops(cn, &ops);
    /* Only an epilogue without an activation yet: [], [BiasAdd], [FusedBatchNorm]. */
    if (nops < 0 || nops > 1 || (nops == 1 && !el_estr_is(ops[0], "BiasAdd") && !el_estr_is(ops[0], "FusedBatchNorm")))
        return EL_OK;
    int want_args = nops == 0 ? 0 : el_estr_is(ops[0], "BiasAdd") ? 1 : 4;
    if (cn->ndata != 2 + want_args) return EL_OK;
    const char *names[2];
    if (nops == 1) names[0] = el_estr_is(ops[0], "BiasAdd") ? "BiasAdd" : "FusedBatchNorm";
    names[nops] = act;
    static const char *const drop[] = {"fused_ops", "num_args"};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(cn, drop, 2, 2, &attrs, &na));
    el_oin *data = malloc(sizeof *data * (size_t)cn->ndata);
    if (!data) {
        el_attrs_free(attrs, na);
        return el_opt_oom();
    }
    memcpy(data, cn->in, sizeof *data * (size_t)cn->ndata);
    int ndata = cn->ndata;
    const char *op = plain ? (!strcmp(cn->op, "Conv2D") ? "_FusedConv2D" : "FusedDepthwiseConv2dNative") : cn->op;
    EL_TRY(el_set_fused(rn, attrs, na, names, nops + 1, want_args));
    rn->op = op;
    EL_TRY(el_opt_rewire(o, r, c, data, ndata));
    o->st.act_fused++;
    return EL_OK;
}

/* Node r becomes op(data[0..ndata)) with attrs T = float plus extra,
 * keeping the control inputs of every part (r among them, in the order
 * given) so the fused node waits for whatever any part waited for; the
 * parts other than r are no longer needed. */
static el_status el_opt_replace(el_opt *o, int r, const char *op, const el_oin *data, int ndata, const int *parts,
                                int nparts, const el_attr *extra, int nextra)
{
    int nctrl = 0;
    for (int p = 0; p < nparts; p++) nctrl += o->n[parts[p]].nin - o->n[parts[p]].ndata;
    el_oin *in = malloc(sizeof *in * (size_t)(ndata + nctrl));
    el_attr *attrs = calloc((size_t)nextra + 1, sizeof *attrs);
    if (!in || !attrs) {
        free(in);
        free(attrs);
        return el_opt_oom();
    }
    memcpy(in, data, sizeof *in * (size_t)ndata);
    int nin = ndata;
    for (int p = 0; p < nparts; p++)
        for (int j = o->n[parts[p]].ndata; j < o->n[parts[p]].nin; j++) in[nin++] = o->n[parts[p]].in[j];
    attrs[0] = (el_attr){.name = "T", .type = EL_ATTR_TYPE, .v.type = EL_DT_FLOAT};
    for (int k = 0; k < nextra; k++) attrs[1 + k] = extra[k];
    el_onode *rn = &o->n[r];
    el_attrs_free(rn->attrs, rn->nattrs);
    rn->attrs = attrs;
    rn->nattrs = nextra + 1;
    rn->orig = NULL;
    rn->op = op;
    free(rn->in);
    rn->in = in;
    rn->nin = nin;
    rn->ndata = ndata;
    for (int p = 0; p < nparts; p++)
        if (parts[p] != r) o->n[parts[p]].needed = false;
    return EL_OK;
}

/* ---- hard swish ---- */

/* Input k of n as a float constant holding one value, shape [] or [1]:
 * also a Const whose only inputs are control inputs (a loop body's, tied
 * to its frame: not folded, but its value is known; the fusions that read
 * it keep it as an input, so it still runs in the frame). */
static const el_tensor *el_scalar_const(const el_opt *o, const el_onode *n, int k)
{
    const el_tensor *t = el_const_input(o, n, k);
    if (!t && k < n->ndata && n->in[k].slot == 0) {
        const el_onode *s = &o->n[n->in[k].node];
        const el_attr *a = s->orig && !s->fed && s->ndata == 0 && !strcmp(s->op, "Const") ? el_node_attr(s->orig, "value")
                                                                                          : NULL;
        if (a && a->type == EL_ATTR_TENSOR && a->v.tensor.buf && a->v.tensor.dtype == EL_DT_FLOAT) t = &a->v.tensor;
    }
    return t && t->ndim <= 1 && el_tensor_numel(t) == 1 ? t : NULL;
}

/* Node n is op (two data inputs, float): one input a scalar constant, the
 * other the returned data input; false otherwise. */
static bool el_with_scalar(const el_opt *o, const el_onode *n, bool add, el_oin *x, const el_tensor **c, int *ck)
{
    if (n->ndata != 2 || !el_onode_float_ok(n)) return false;
    if (add ? strcmp(n->op, "Add") && strcmp(n->op, "AddV2") : strcmp(n->op, "Mul")) return false;
    for (int k = 0; k < 2; k++)
        if ((*c = el_scalar_const(o, n, k)) && n->in[1 - k].slot >= 0) {
            *x = n->in[1 - k];
            *ck = k;
            return true;
        }
    return false;
}

/* MobileNetV3's hard swish, y = Mul(Mul(x, m), Relu6(Add(x, a))) with m and
 * a scalar constants (1/6 and 3), operands in any order, becomes one
 * _ElHardSwish(x, m, a) (ops/elementwise.c): one pass over x instead of
 * four, the same float operations in the same order, so the same bits.
 * The inner nodes must have no other reader. */
static el_status el_opt_hswish(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "Mul") || rn->fed || rn->fetched_nonzero || rn->ndata != 2 || !el_onode_float_ok(rn))
        return EL_OK;
    for (int k = 0; k < 2; k++) {
        int mu = -1, r6 = -1, ad = -1, mk, ak;
        el_oin x, xa;
        const el_tensor *m, *a;
        if (!el_sole_reader(o, r, k, &mu) || !el_sole_reader(o, r, 1 - k, &r6)) continue;
        el_onode *r6n = &o->n[r6];
        if (strcmp(r6n->op, "Relu6") || r6n->ndata != 1 || !el_onode_float_ok(r6n) || !el_sole_reader(o, r6, 0, &ad))
            continue;
        if (!el_with_scalar(o, &o->n[mu], false, &x, &m, &mk) || !el_with_scalar(o, &o->n[ad], true, &xa, &a, &ak))
            continue;
        if (x.node != xa.node || x.slot != xa.slot) continue;
        const int parts[4] = {mu, ad, r6, r};
        const el_oin data[3] = {x, o->n[mu].in[mk], o->n[ad].in[ak]};
        EL_TRY(el_opt_replace(o, r, "_ElHardSwish", data, 3, parts, 4, NULL, 0));
        o->st.hswish_fused++;
        return EL_OK;
    }
    return EL_OK;
}

/* CenterNet's peak test, y = Mul(x, Cast(Equal(x, m))) (m the MaxPool of
 * x: keep a heatmap value where it is its neighbourhood's maximum),
 * operands in any order, becomes _ElKeepEqual(x, m): x * (x == m ? 1 : 0)
 * in one pass, the same float product, so the same bits. The Equal and the
 * Cast (bool to float) must have no other reader. */
static el_status el_opt_keep_equal(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "Mul") || rn->fed || rn->fetched_nonzero || rn->ndata != 2 || !el_onode_float_ok(rn))
        return EL_OK;
    for (int k = 0; k < 2; k++) {
        int ca = -1, eq = -1;
        if (rn->in[k].slot < 0 || !el_sole_reader(o, r, 1 - k, &ca)) continue;
        el_onode *cn = &o->n[ca];
        const el_attr *src = el_onode_attr(cn, "SrcT"), *dst = el_onode_attr(cn, "DstT");
        if (strcmp(cn->op, "Cast") || cn->ndata != 1 || !src || src->type != EL_ATTR_TYPE ||
            src->v.type != EL_DT_BOOL || !dst || dst->type != EL_ATTR_TYPE || dst->v.type != EL_DT_FLOAT ||
            !el_sole_reader(o, ca, 0, &eq))
            continue;
        el_onode *en = &o->n[eq];
        /* incompatible_shape_error false makes Equal a scalar for shapes
         * that do not broadcast; the fused kernel always broadcasts. */
        if (strcmp(en->op, "Equal") || en->ndata != 2 || !el_onode_float_ok(en) ||
            !el_onode_bool(en, "incompatible_shape_error", true))
            continue;
        const el_oin x = rn->in[k];
        int xk = en->in[0].node == x.node && en->in[0].slot == x.slot ? 0
               : en->in[1].node == x.node && en->in[1].slot == x.slot ? 1 : -1;
        if (xk < 0 || en->in[1 - xk].slot < 0) continue;
        const int parts[3] = {eq, ca, r};
        const el_oin data[2] = {x, en->in[1 - xk]};
        EL_TRY(el_opt_replace(o, r, "_ElKeepEqual", data, 2, parts, 3, NULL, 0));
        o->st.keep_equal_fused++;
        return EL_OK;
    }
    return EL_OK;
}

/* Input normalisation, y = Add(Mul(x, c), d), Add(d, Mul(...)) or
 * Sub(Mul(x, c), d) with c and d scalar constants (faceboxes' standardize,
 * the OD API's x * 2/255 - 1), becomes _ElMulAdd(x, c, d) with attr sub:
 * one pass, x * c rounded, then d added or subtracted (not a fused
 * multiply-add), so the same bits. */
static el_status el_opt_mul_add(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    bool sub = !strcmp(rn->op, "Sub");
    if ((!sub && strcmp(rn->op, "Add") && strcmp(rn->op, "AddV2")) || rn->fed || rn->fetched_nonzero ||
        rn->ndata != 2 || !el_onode_float_ok(rn))
        return EL_OK;
    for (int k = 0; k < (sub ? 1 : 2); k++) {
        int mu = -1, ck;
        el_oin x;
        const el_tensor *c, *d = el_scalar_const(o, rn, 1 - k);
        if (!d || !el_sole_reader(o, r, k, &mu) || !el_with_scalar(o, &o->n[mu], false, &x, &c, &ck)) continue;
        const int parts[2] = {mu, r};
        const el_oin data[3] = {x, o->n[mu].in[ck], rn->in[1 - k]};
        const el_attr sub_attr = {.name = "sub", .type = EL_ATTR_B, .v.b = sub};
        EL_TRY(el_opt_replace(o, r, "_ElMulAdd", data, 3, parts, 2, &sub_attr, 1));
        o->st.mul_add_fused++;
        return EL_OK;
    }
    return EL_OK;
}

/* Whether node c is a float NHWC fused convolution whose fused_ops are
 * [BiasAdd] (inputs x, filter, bias). */
static bool el_conv_bias_only(const el_opt *o, int c)
{
    const el_onode *cn = &o->n[c];
    const el_string *ops = NULL;
    return el_is_fused_conv(cn->op) && cn->ndata == 3 && el_onode_float_ok(cn) &&
           el_onode_str_is(cn, "data_format", "NHWC", "NHWC") && el_fused_ops(cn, &ops) == 1 &&
           el_estr_is(ops[0], "BiasAdd");
}

/* After a convolution c with fused_ops [BiasAdd] whose only reader is r,
 * r's work done by c on each output tile as it is stored (ops/conv.c;
 * the same bits, the same kernels as the node r):
 * - _ElHardSwish(c, m, a): fused_ops [BiasAdd, _ElHardSwish], inputs
 *   x, filter, bias, m, a;
 * - Sigmoid(c): [BiasAdd, Sigmoid] (CenterNet's heatmap);
 * - Add(c, t) or Add(t, c), t any float tensor (the residual of an
 *   inverted bottleneck, CenterNet's sum of two branches): [BiasAdd, Add],
 *   inputs x, filter, bias, t (a t of another shape is broadcast as the
 *   Add would). Addition commutes exactly, so c + t has the bits of t + c.
 * r keeps its name; c's op (Conv2D or depthwise) stays. */
static el_status el_opt_conv_tail(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (rn->fed || rn->fetched_nonzero || !el_onode_float_ok(rn)) return EL_OK;
    const char *name;
    int k = 0; /* r's input from the convolution */
    if (!strcmp(rn->op, "_ElHardSwish") && rn->ndata == 3) {
        if (!el_scalar_const(o, rn, 1) || !el_scalar_const(o, rn, 2)) return EL_OK;
        name = "_ElHardSwish";
    } else if (!strcmp(rn->op, "Sigmoid") && rn->ndata == 1) {
        name = "Sigmoid";
    } else if ((!strcmp(rn->op, "Add") || !strcmp(rn->op, "AddV2")) && rn->ndata == 2) {
        int c0 = -1;
        k = el_sole_reader(o, r, 0, &c0) && el_conv_bias_only(o, c0) ? 0 : 1;
        name = "Add";
    } else {
        return EL_OK;
    }
    int c = -1;
    if (!el_sole_reader(o, r, k, &c) || !el_conv_bias_only(o, c)) return EL_OK;
    el_onode *cn = &o->n[c];
    static const char *const drop[] = {"fused_ops", "num_args"};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(cn, drop, 2, 2, &attrs, &na));
    el_oin *data = malloc(sizeof *data * 5);
    if (!data) {
        el_attrs_free(attrs, na);
        return el_opt_oom();
    }
    memcpy(data, cn->in, sizeof *data * 3);
    int ndata = 3;
    if (!strcmp(name, "_ElHardSwish")) {
        data[ndata++] = rn->in[1];
        data[ndata++] = rn->in[2];
    } else if (!strcmp(name, "Add")) {
        data[ndata++] = rn->in[1 - k];
    }
    const char *const names[] = {"BiasAdd", name};
    EL_TRY(el_set_fused(rn, attrs, na, names, 2, ndata - 2));
    rn->op = cn->op;
    EL_TRY(el_opt_rewire(o, r, c, data, ndata));
    if (!strcmp(name, "_ElHardSwish")) o->st.hswish_conv_fused++;
    else if (!strcmp(name, "Add")) o->st.add_conv_fused++;
    else o->st.sigmoid_conv_fused++;
    return EL_OK;
}

/* Node r, c's only reader, becomes c with c's data inputs and attrs plus
 * *extra (the work r did, which c's kernel now applies as it stores): r
 * keeps its name, so r's readers read the fusion. */
static el_status el_opt_absorb(el_opt *o, int r, int c, const el_attr *extra)
{
    el_onode *rn = &o->n[r], *cn = &o->n[c];
    el_oin *data = malloc(sizeof *data * (size_t)cn->ndata);
    if (!data) return el_opt_oom();
    memcpy(data, cn->in, sizeof *data * (size_t)cn->ndata);
    el_status s = el_set_attr(rn, cn, extra);
    if (s != EL_OK) {
        free(data);
        return s;
    }
    rn->op = cn->op;
    return el_opt_rewire(o, r, c, data, cn->ndata);
}

/* _ElKeepEqual(x, MaxPool(x)) with the MaxPool (stride 1, SAME: the
 * output has x's size) read by nothing else: one MaxPool, named as the
 * _ElKeepEqual, with EL_POOL_KEEP_EQUAL_ATTR (ops/pool.c): the same
 * product, without the pooled tensor in memory. */
static el_status el_opt_keep_equal_pool(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "_ElKeepEqual") || rn->fed || rn->fetched_nonzero || rn->ndata != 2) return EL_OK;
    int p = -1;
    if (!el_sole_reader(o, r, 1, &p)) return EL_OK;
    el_onode *pn = &o->n[p];
    if (strcmp(pn->op, "MaxPool") || pn->ndata != 1 || !el_onode_float_ok(pn) || pn->in[0].node != rn->in[0].node ||
        pn->in[0].slot != rn->in[0].slot || !el_onode_str_is(pn, "padding", NULL, "SAME") ||
        !el_onode_str_is(pn, "data_format", "NHWC", "NHWC") || !el_onode_unit_strides(pn))
        return EL_OK;
    el_attr a = {.name = EL_POOL_KEEP_EQUAL_ATTR, .type = EL_ATTR_B, .v.b = true};
    EL_TRY(el_opt_absorb(o, r, p, &a));
    o->st.keep_equal_pool_fused++;
    return EL_OK;
}

/* A float convolution with fused_ops [BiasAdd, Sigmoid] whose output only
 * MaxPool p reads: its Sigmoid dropped, the index of the convolution
 * returned (else -1). */
static int el_opt_take_sigmoid(el_opt *o, int p, el_status *st)
{
    int c = -1;
    const el_string *ops;
    *st = EL_OK;
    if (!el_sole_reader(o, p, 0, &c)) return -1;
    el_onode *cn = &o->n[c];
    if (!el_is_fused_conv(cn->op) || cn->ndata != 3 || !el_onode_float_ok(cn) || el_fused_ops(cn, &ops) != 2 ||
        !el_estr_is(ops[0], "BiasAdd") || !el_estr_is(ops[1], "Sigmoid"))
        return -1;
    static const char *const drop[] = {"fused_ops", "num_args"};
    el_attr *attrs = NULL;
    int na = 0;
    *st = el_attrs_copy(cn, drop, 2, 2, &attrs, &na);
    if (*st != EL_OK) return -1;
    const char *const names[] = {"BiasAdd"};
    *st = el_set_fused(cn, attrs, na, names, 1, 1);
    return *st == EL_OK ? c : -1;
}

/* TopKV2(Reshape(MaxPool keeping the peaks (x), shape), k), the Reshape
 * and the MaxPool read by nothing else and without control inputs: one
 * _ElPeakTopK(x, shape, k) (ops/peak_topk.c) with the MaxPool's attrs,
 * named as the TopKV2 (both outputs): TopK's values and indices, scanning
 * x once instead of writing and reading back the peak tensor. When x is
 * a convolution's output with its Sigmoid fused (CenterNet's heatmap) and
 * read by nothing else, the Sigmoid goes to the peak node too
 * (EL_PEAK_SIGMOID_ATTR): it computes it for the few positions it tests,
 * with the convolution's function, so the same bits. */
static el_status el_opt_peak_topk(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "TopKV2") || rn->fed || rn->ndata != 2 || !el_onode_float_ok(rn)) return EL_OK;
    int s = -1, p = -1;
    if (!el_sole_reader(o, r, 0, &s)) return EL_OK;
    el_onode *sn = &o->n[s];
    if (strcmp(sn->op, "Reshape") || sn->ndata != 2 || sn->nin != sn->ndata || !el_onode_float_ok(sn) ||
        !el_sole_reader(o, s, 0, &p))
        return EL_OK;
    el_onode *pn = &o->n[p];
    if (strcmp(pn->op, "MaxPool") || pn->ndata != 1 || pn->nin != pn->ndata || !el_onode_bool(pn, EL_POOL_KEEP_EQUAL_ATTR, false))
        return EL_OK;
    el_oin *data = malloc(sizeof *data * 3);
    if (!data) return el_opt_oom();
    data[0] = pn->in[0];
    data[1] = sn->in[1];
    data[2] = rn->in[1];
    el_attr a = {.name = EL_POOL_KEEP_EQUAL_ATTR, .type = EL_ATTR_B, .v.b = true};
    el_status st = el_set_attr(rn, pn, &a);
    const int c = st == EL_OK ? el_opt_take_sigmoid(o, p, &st) : -1;
    if (c >= 0) {
        el_attr sg = {.name = EL_PEAK_SIGMOID_ATTR, .type = EL_ATTR_B, .v.b = true};
        st = el_set_attr(rn, rn, &sg);
    }
    if (st != EL_OK) {
        free(data);
        return st;
    }
    if (c >= 0) o->st.peak_sigmoid_fused++;
    rn->op = "_ElPeakTopK";
    EL_TRY(el_opt_rewire(o, r, s, data, 3));
    pn->needed = false;
    o->st.peak_topk_fused++;
    return EL_OK;
}

/* ---- concat ---- */

/* A ConcatV2 whose T is float (explicitly: its kernel rejects the private
 * attrs on other types) with at most EL_CONCAT_NEG_MAX values. */
static bool el_is_float_concat(const el_onode *n)
{
    const el_attr *t = el_onode_attr(n, "T");
    return !strcmp(n->op, "ConcatV2") && t && t->type == EL_ATTR_TYPE && t->v.type == EL_DT_FLOAT &&
           n->ndata >= 2 && n->ndata - 1 <= EL_CONCAT_NEG_MAX;
}

/* Owned attrs own their fused_ops list (el_opt_free frees it), so the
 * copy gets its own and n's old one is freed. */
el_status el_set_attr(el_onode *n, const el_onode *from, const el_attr *extra)
{
    const char *drop[1] = {extra->name};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(from, drop, 1, 1, &attrs, &na));
    for (int i = 0; i < na; i++) {
        el_attr *a = &attrs[i];
        if (a->type != EL_ATTR_LIST || a->v.list.elem != EL_ATTR_S || strcmp(a->name, "fused_ops")) continue;
        el_string *l = malloc(sizeof *l * (size_t)(a->v.list.n + 1));
        if (!l) {
            for (int j = 0; j < i; j++)
                if (attrs[j].type == EL_ATTR_LIST && attrs[j].v.list.elem == EL_ATTR_S && !strcmp(attrs[j].name, "fused_ops"))
                    free(attrs[j].v.list.v.s);
            el_attrs_free(attrs, na);
            return el_opt_oom();
        }
        memcpy(l, a->v.list.v.s, sizeof *l * (size_t)a->v.list.n);
        a->v.list.v.s = l;
    }
    for (int i = 0; n->attrs && i < n->nattrs; i++)
        if (n->attrs[i].type == EL_ATTR_LIST && n->attrs[i].v.list.elem == EL_ATTR_S &&
            !strcmp(n->attrs[i].name, "fused_ops"))
            free(n->attrs[i].v.list.v.s);
    attrs[na++] = *extra;
    el_attrs_free(n->attrs, n->nattrs);
    n->attrs = attrs;
    n->nattrs = na;
    n->orig = NULL;
    return EL_OK;
}

/* n gets extra[0..count) as more data inputs (after its others, before
 * its control inputs) and the private attr *a that tells its kernel what
 * to do with them. */
static el_status el_opt_append_data(el_onode *n, const el_oin *extra, int count, const el_attr *a)
{
    el_oin *in = malloc(sizeof *in * (size_t)(n->nin + count));
    if (!in) return el_opt_oom();
    memcpy(in, n->in, sizeof *in * (size_t)n->ndata);
    memcpy(in + n->ndata, extra, sizeof *in * (size_t)count);
    memcpy(in + n->ndata + count, n->in + n->ndata, sizeof *in * (size_t)(n->nin - n->ndata));
    el_status s = el_set_attr(n, n, a);
    if (s != EL_OK) {
        free(in);
        return s;
    }
    free(n->in);
    n->in = in;
    n->nin += count;
    n->ndata += count;
    return EL_OK;
}

/* ConcatV2(..., Neg(x), ...) with the concat the Neg's only reader: the
 * concat reads x with its bit of EL_CONCAT_NEG_ATTR set (-x is exact, the
 * same bits). */
static el_status el_opt_concat_neg(el_opt *o, int c)
{
    el_onode *cn = &o->n[c];
    if (!el_is_float_concat(cn) || el_onode_attr(cn, EL_CONCAT_NEG_ATTR)) return EL_OK;
    int64_t mask = 0;
    int nctrl = 0;
    for (int k = 0; k < cn->ndata - 1; k++) {
        int ng = -1;
        if (!el_sole_reader(o, c, k, &ng)) continue;
        const el_onode *nn = &o->n[ng];
        if (strcmp(nn->op, "Neg") || nn->ndata != 1 || !el_onode_float_ok(nn) || nn->in[0].slot < 0) continue;
        mask |= (int64_t)1 << k;
        nctrl += nn->nin - nn->ndata;
    }
    if (!mask) return EL_OK;
    el_oin *in = malloc(sizeof *in * (size_t)(cn->nin + nctrl));
    if (!in) return el_opt_oom();
    memcpy(in, cn->in, sizeof *in * (size_t)cn->nin);
    int nin = cn->nin;
    for (int k = 0; k < cn->ndata - 1; k++) {
        if (!(mask >> k & 1)) continue;
        el_onode *nn = &o->n[cn->in[k].node];
        in[k] = nn->in[0];
        for (int j = nn->ndata; j < nn->nin; j++) in[nin++] = nn->in[j];
        nn->needed = false;
    }
    el_attr a = {.name = EL_CONCAT_NEG_ATTR, .type = EL_ATTR_I, .v.i = mask};
    el_status s = el_set_attr(cn, cn, &a);
    if (s != EL_OK) {
        free(in);
        return s;
    }
    free(cn->in);
    cn->in = in;
    cn->nin = nin;
    o->st.concat_neg_fused++;
    return EL_OK;
}

/* Relu(x) with the Relu the only reader of x's producer, a float ConcatV2
 * or a MaxPool: that node with EL_CONCAT_RELU_ATTR / EL_POOL_RELU_ATTR,
 * named as the Relu (its kernel applies Relu as it stores). */
static el_status el_opt_relu_absorb(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "Relu") || rn->fed || rn->fetched_nonzero || rn->ndata != 1 || !el_onode_float_ok(rn))
        return EL_OK;
    int c = -1;
    if (!el_sole_reader(o, r, 0, &c)) return EL_OK;
    const el_onode *cn = &o->n[c];
    if (el_is_float_concat(cn) && !el_onode_bool(cn, EL_CONCAT_RELU_ATTR, false)) {
        el_attr a = {.name = EL_CONCAT_RELU_ATTR, .type = EL_ATTR_B, .v.b = true};
        EL_TRY(el_opt_absorb(o, r, c, &a));
        o->st.concat_relu_fused++;
    } else if (!strcmp(cn->op, "MaxPool") && el_onode_float_ok(cn) && !el_onode_attr(cn, EL_POOL_KEEP_EQUAL_ATTR) &&
               !el_onode_attr(cn, EL_POOL_RELU_ATTR)) {
        el_attr a = {.name = EL_POOL_RELU_ATTR, .type = EL_ATTR_B, .v.b = true};
        EL_TRY(el_opt_absorb(o, r, c, &a));
        o->st.pool_relu_fused++;
    }
    return EL_OK;
}

/* Sigmoid(ConcatV2(...)) with the Sigmoid the concat's only reader and the
 * concat applying no Relu, Mean or resize: one ConcatV2 with
 * EL_CONCAT_SIGMOID_ATTR, named as the Sigmoid (the OD API's class scores,
 * Postprocessor/convert_scores). */
static el_status el_opt_concat_sigmoid(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "Sigmoid") || rn->fed || rn->fetched_nonzero || rn->ndata != 1 || !el_onode_float_ok(rn))
        return EL_OK;
    int c = -1;
    if (!el_sole_reader(o, r, 0, &c)) return EL_OK;
    el_onode *cn = &o->n[c];
    if (!el_is_float_concat(cn) || el_onode_attr(cn, EL_CONCAT_RELU_ATTR) || el_onode_attr(cn, EL_CONCAT_SIGMOID_ATTR) ||
        el_onode_attr(cn, EL_CONCAT_MEAN_ATTR) || el_onode_attr(cn, EL_CONCAT_RESIZE_ATTR))
        return EL_OK;
    el_oin *data = malloc(sizeof *data * (size_t)cn->ndata);
    if (!data) return el_opt_oom();
    memcpy(data, cn->in, sizeof *data * (size_t)cn->ndata);
    el_attr a = {.name = EL_CONCAT_SIGMOID_ATTR, .type = EL_ATTR_B, .v.b = true};
    el_status s = el_set_attr(rn, cn, &a);
    if (s != EL_OK) {
        free(data);
        return s;
    }
    rn->op = "ConcatV2";
    EL_TRY(el_opt_rewire(o, r, c, data, cn->ndata));
    o->st.concat_sigmoid_fused++;
    return EL_OK;
}

/* Slice(ConcatV2 with EL_CONCAT_SIGMOID_ATTR, begin, size), the Slice the
 * concat's only reader, its constant begin and size keeping every axis
 * but the last whole (begin 0, size -1), the concat along another axis:
 * one ConcatV2 named as the Slice writing only the slice's part of each
 * last-axis line (EL_CONCAT_SLICE_*_ATTR): the OD API's class scores
 * without their background column. */
static int el_const_ints(const el_opt *o, const el_onode *n, int k, int64_t *v, int cap);

static el_status el_opt_concat_slice(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    int c = -1;
    if (strcmp(rn->op, "Slice") || rn->fed || rn->fetched_nonzero || rn->ndata != 3 || !el_onode_float_ok(rn) ||
        !el_sole_reader(o, r, 0, &c))
        return EL_OK;
    el_onode *cn = &o->n[c];
    if (!el_is_float_concat(cn) || !el_onode_bool(cn, EL_CONCAT_SIGMOID_ATTR, false) ||
        el_onode_attr(cn, EL_CONCAT_SLICE_RANK_ATTR))
        return EL_OK;
    int64_t begin[EL_MAX_DIMS], size[EL_MAX_DIMS], axis = 0;
    const int rank = el_const_ints(o, rn, 1, begin, EL_MAX_DIMS);
    if (rank < 1 || el_const_ints(o, rn, 2, size, EL_MAX_DIMS) != rank ||
        el_const_ints(o, cn, cn->ndata - 1, &axis, 1) != 1)
        return EL_OK;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank - 1 || begin[rank - 1] < 0 || size[rank - 1] < -1) return EL_OK;
    for (int k = 0; k < rank - 1; k++)
        if (begin[k] != 0 || size[k] != -1) return EL_OK;
    el_oin *data = malloc(sizeof *data * (size_t)cn->ndata);
    if (!data) return el_opt_oom();
    memcpy(data, cn->in, sizeof *data * (size_t)cn->ndata);
    el_attr a[3] = {{.name = EL_CONCAT_SLICE_RANK_ATTR, .type = EL_ATTR_I, .v.i = rank},
                    {.name = EL_CONCAT_SLICE_BEGIN_ATTR, .type = EL_ATTR_I, .v.i = begin[rank - 1]},
                    {.name = EL_CONCAT_SLICE_SIZE_ATTR, .type = EL_ATTR_I, .v.i = size[rank - 1]}};
    el_status s = el_set_attr(rn, cn, &a[0]);
    for (int k = 1; k < 3 && s == EL_OK; k++) s = el_set_attr(rn, rn, &a[k]);
    if (s != EL_OK) {
        free(data);
        return s;
    }
    rn->op = "ConcatV2";
    EL_TRY(el_opt_rewire(o, r, c, data, cn->ndata));
    o->st.concat_slice_fused++;
    return EL_OK;
}

/* RealDiv(x, 1.0f), the 1 a rank-0 float constant (so the output has x's
 * shape): its readers read x. x / 1 is x, bit for bit, for every value a
 * computation produces: IEEE division by one is exact for finite values,
 * -0 and the infinities, returns a quiet NaN unchanged (only a signalling
 * NaN, which no kernel produces, would come out quieted), and no
 * flush-to-zero mode is set, so subnormals stay. The OD API's
 * Postprocessor/scale_logits with its default logit scale 1.0. */
static void el_opt_div_one(el_opt *o, int r)
{
    const el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "RealDiv") || rn->fed || rn->fetched || rn->ndata != 2 || rn->nin != 2 ||
        rn->nctrl_readers > 0 || !el_onode_float_ok(rn) || rn->in[0].slot < 0 ||
        el_is_control_flow(o->n[rn->in[0].node].op))
        return;
    const el_tensor *c = el_scalar_const(o, rn, 1);
    if (!c || c->ndim != 0 || *(const float *)c->data != 1.0f) return;
    const el_oin x = rn->in[0];
    for (int n = 0; n < o->nn; n++) {
        el_onode *on = &o->n[n];
        if (!on->needed) continue;
        for (int k = 0; k < on->ndata; k++)
            if (on->in[k].node == r) on->in[k] = x;
    }
    o->n[r].needed = false;
    o->st.div_one_folded++;
}

/* (optimize_ir.h) */
const el_tensor *el_opt_const_of(const el_opt *o, int n, int k, el_dtype dt, int ndim, int64_t numel)
{
    const el_onode *nd = &o->n[n];
    if (k >= nd->ndata || nd->in[k].slot != 0) return NULL;
    const el_onode *s = &o->n[nd->in[k].node];
    const el_tensor *t = NULL;
    if (s->fed) return NULL;
    if (s->is_const && s->nval > 0) {
        t = &s->val[0];
    } else if (s->orig && s->ndata == 0 && !strcmp(s->op, "Const")) {
        const el_attr *a = el_node_attr(s->orig, "value");
        if (a && a->type == EL_ATTR_TENSOR && a->v.tensor.buf) t = &a->v.tensor;
    }
    if (!t || t->dtype != dt || (ndim >= 0 && t->ndim != ndim) || (numel >= 0 && el_tensor_numel(t) != numel))
        return NULL;
    return t;
}

/* Input k of n as a constant int32/int64 vector (or scalar) of at most
 * cap values: their count, or -1. */
static int el_const_ints(const el_opt *o, const el_onode *n, int k, int64_t *v, int cap)
{
    if (k >= n->ndata) return -1;
    const el_onode *s = &o->n[n->in[k].node];
    if (!s->is_const || n->in[k].slot < 0 || n->in[k].slot >= s->nval) return -1;
    const el_tensor *t = &s->val[n->in[k].slot];
    int64_t cnt = el_tensor_numel(t);
    if (t->ndim > 1 || cnt > cap || (t->dtype != EL_DT_INT32 && t->dtype != EL_DT_INT64)) return -1;
    for (int64_t i = 0; i < cnt; i++)
        v[i] = t->dtype == EL_DT_INT32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
    return (int)cnt;
}

/* ---- pooling ---- */

/* MaxPool(ConcatV2(x_1..x_n, channel axis)) with the pool the concat's only
 * reader and the concat doing no more than negating inputs: one MaxPool,
 * named as the pool, reading x_1..x_n side by side (EL_POOL_NEG_ATTR,
 * ops/pool.c): the same maxima, without the concatenated map in memory
 * (FaceBoxes' CReLU before each of its first two pools). */
static el_status el_opt_pool_concat(el_opt *o, int p)
{
    el_onode *pn = &o->n[p];
    if (strcmp(pn->op, "MaxPool") || pn->ndata != 1 || !el_onode_float_ok(pn) ||
        !el_onode_str_is(pn, "data_format", "NHWC", "NHWC") || el_onode_attr(pn, EL_POOL_KEEP_EQUAL_ATTR) ||
        el_onode_attr(pn, EL_POOL_NEG_ATTR))
        return EL_OK;
    int c = -1;
    if (!el_sole_reader(o, p, 0, &c)) return EL_OK;
    el_onode *cn = &o->n[c];
    const int nv = cn->ndata - 1;
    if (!el_is_float_concat(cn) || nv > EL_POOL_MAX_PARTS || el_onode_attr(cn, EL_CONCAT_RELU_ATTR) ||
        el_onode_attr(cn, EL_CONCAT_SIGMOID_ATTR) || el_onode_attr(cn, EL_CONCAT_MEAN_ATTR) ||
        el_onode_attr(cn, EL_CONCAT_RESIZE_ATTR))
        return EL_OK;
    int64_t axis = 0;
    if (el_const_ints(o, cn, nv, &axis, 1) != 1 || (axis != 3 && axis != -1)) return EL_OK;
    for (int k = 0; k < nv; k++)
        if (cn->in[k].slot < 0) return EL_OK;
    const el_attr *neg = el_onode_attr(cn, EL_CONCAT_NEG_ATTR);
    if (neg && neg->type != EL_ATTR_I) return EL_OK;
    el_oin *data = malloc(sizeof *data * (size_t)nv);
    if (!data) return el_opt_oom();
    memcpy(data, cn->in, sizeof *data * (size_t)nv);
    el_attr a = {.name = EL_POOL_NEG_ATTR, .type = EL_ATTR_I, .v.i = neg ? neg->v.i : 0};
    el_status s = el_set_attr(pn, pn, &a);
    if (s != EL_OK) {
        free(data);
        return s;
    }
    EL_TRY(el_opt_rewire(o, p, c, data, nv));
    o->st.pool_concat_fused++;
    return EL_OK;
}

/* Node m is a float Mean over axes 1 and 2 (either order) of output 0 of
 * a node, neither fed nor fetched nor read by control inputs: that node,
 * else -1 (el_opt_concat_mean, el_opt_conv_mean). */
static int el_spatial_mean_of(const el_opt *o, int m)
{
    const el_onode *mn = &o->n[m];
    if (strcmp(mn->op, "Mean") || mn->fed || mn->fetched || mn->ndata != 2 || mn->nin != mn->ndata ||
        mn->nctrl_readers != 0 || !el_onode_float_ok(mn) || mn->in[0].slot != 0)
        return -1;
    int64_t ax[4];
    if (el_const_ints(o, mn, 1, ax, 4) != 2 || !((ax[0] == 1 && ax[1] == 2) || (ax[0] == 2 && ax[1] == 1))) return -1;
    return mn->in[0].node;
}

/* Mean m's readers read output 1 of c, which now computes it (the caller
 * set c's attr), and m goes. */
static el_status el_opt_mean_moved(el_opt *o, int m, int c, const char *attr)
{
    el_attr a = {.name = attr, .type = EL_ATTR_I, .v.i = el_onode_bool(&o->n[m], "keep_dims", false) ? 2 : 1};
    EL_TRY(el_set_attr(&o->n[c], &o->n[c], &a));
    for (int n = 0; n < o->nn; n++) {
        if (!o->n[n].needed) continue;
        for (int k = 0; k < o->n[n].ndata; k++)
            if (o->n[n].in[k].node == m && o->n[n].in[k].slot == 0) o->n[n].in[k] = (el_oin){.node = c, .slot = 1};
    }
    o->n[m].needed = false;
    return EL_OK;
}

/* Mean(c, [1, 2]) of a float ConcatV2 c along axis 3 (or -1) of NHWC maps
 * (CenterNet's head: the squeeze-excite Mean of its 128x128x128 concat):
 * c computes the spatial sums while it copies (EL_CONCAT_MEAN_ATTR, the
 * bits of the Mean, ops/concat.c) and outputs the Mean as its output 1,
 * which the Mean's readers read instead; the 8 MB are read once. */
static el_status el_opt_concat_mean(el_opt *o, int m)
{
    const int c = el_spatial_mean_of(o, m);
    if (c < 0) return EL_OK;
    el_onode *cn = &o->n[c];
    int64_t cax[1];
    if (!el_is_float_concat(cn) || cn->fed || cn->fetched_nonzero || el_onode_attr(cn, EL_CONCAT_MEAN_ATTR) ||
        el_onode_attr(cn, EL_CONCAT_SIGMOID_ATTR) || el_const_ints(o, cn, cn->ndata - 1, cax, 1) != 1 ||
        (cax[0] != 3 && cax[0] != -1))
        return EL_OK;
    EL_TRY(el_opt_mean_moved(o, m, c, EL_CONCAT_MEAN_ATTR));
    o->st.concat_mean_fused++;
    return EL_OK;
}

/* A float ResizeBilinear read only by a ConcatV2 that
 * takes the Mean (el_opt_concat_mean): the concat reads the resize's input
 * and resizes it while it copies (EL_CONCAT_RESIZE_ATTR, the bits of the
 * ResizeBilinear kernel, ops/concat.c), so the resized map is neither
 * written nor read again (CenterNet's 128x128x64 upsampling into its head's
 * concat). One input per concat. */
static el_status el_opt_concat_resize(el_opt *o, int c)
{
    el_onode *cn = &o->n[c];
    if (!el_is_float_concat(cn) || cn->fed || !el_onode_attr(cn, EL_CONCAT_MEAN_ATTR) ||
        el_onode_attr(cn, EL_CONCAT_RESIZE_ATTR))
        return EL_OK;
    for (int k = 0; k < cn->ndata - 1; k++) {
        int r = -1;
        if (!el_sole_reader(o, c, k, &r)) continue;
        el_onode *rn = &o->n[r];
        const el_attr *t = el_onode_attr(rn, "T");
        if (strcmp(rn->op, "ResizeBilinear") || rn->ndata != 2 || rn->nin != rn->ndata || !t ||
            t->type != EL_ATTR_TYPE || t->v.type != EL_DT_FLOAT || rn->in[0].slot < 0 || rn->in[1].slot < 0)
            continue;
        const bool align = el_onode_bool(rn, "align_corners", false), half = el_onode_bool(rn, "half_pixel_centers", false);
        if (align && half) continue; /* the ResizeBilinear kernel's error stays its own */
        /* The resize's size (computed at run time in CenterNet) becomes the
         * concat's last input, after the axis. */
        el_oin *in = malloc(sizeof *in * (size_t)(cn->nin + 1));
        if (!in) return el_opt_oom();
        memcpy(in, cn->in, sizeof *in * (size_t)cn->ndata);
        in[k] = rn->in[0];
        in[cn->ndata] = rn->in[1];
        memcpy(in + cn->ndata + 1, cn->in + cn->ndata, sizeof *in * (size_t)(cn->nin - cn->ndata));
        const el_attr as[] = {
            {.name = EL_CONCAT_RESIZE_ATTR, .type = EL_ATTR_I, .v.i = k + 1},
            {.name = EL_CONCAT_RESIZE_ALIGN_ATTR, .type = EL_ATTR_B, .v.b = align},
            {.name = EL_CONCAT_RESIZE_HALF_ATTR, .type = EL_ATTR_B, .v.b = half},
        };
        el_status st = EL_OK;
        for (size_t a = 0; a < sizeof as / sizeof as[0] && st == EL_OK; a++) st = el_set_attr(cn, cn, &as[a]);
        if (st != EL_OK) {
            free(in);
            return st;
        }
        free(cn->in);
        cn->in = in;
        cn->nin++;
        cn->ndata++;
        rn->needed = false;
        o->st.concat_resize_fused++;
        return EL_OK;
    }
    return EL_OK;
}

/* Shape(Mul(x, s)) with s a rank-0 constant, or Shape(Cast(x)), reads x
 * instead (the same shape), so the Mul or Cast keeps one reader and can be
 * fused (FaceBoxes takes the Shape of its scaled image to pad it). Only
 * nodes without control inputs: their deadness is x's. */
static void el_opt_shape_bypass(el_opt *o, int n)
{
    el_onode *sh = &o->n[n];
    if (strcmp(sh->op, "Shape") || sh->ndata != 1) return;
    for (;;) {
        const el_oin *in = &sh->in[0];
        if (in->slot != 0) return;
        const el_onode *m = &o->n[in->node];
        if (m->nin != m->ndata || m->fed) return;
        el_oin x;
        if (!strcmp(m->op, "Cast") && m->ndata == 1) {
            x = m->in[0];
        } else {
            const el_tensor *c;
            int ck;
            if (!el_with_scalar(o, m, false, &x, &c, &ck) || c->ndim != 0) return;
        }
        if (x.slot < 0) return;
        sh->in[0] = x;
    }
}

static bool el_onode_type_is(const el_onode *n, const char *name, el_dtype want)
{
    const el_attr *a = el_onode_attr(n, name);
    return a && a->type == EL_ATTR_TYPE && a->v.type == want;
}

/* The one data reader of node n's output 0 (and which input of it), or -1
 * when there is none, more than one, or a control reader. */
static int el_only_reader(const el_opt *o, int n, int *input)
{
    const el_onode *s = &o->n[n];
    if (s->fed || s->fetched || s->ndata_readers != 1 || s->nctrl_readers != 0) return -1;
    for (int r = 0; r < o->nn; r++) {
        if (!o->n[r].needed) continue;
        for (int k = 0; k < o->n[r].ndata; k++)
            if (o->n[r].in[k].node == n) {
                *input = k;
                return o->n[r].in[k].slot == 0 ? r : -1;
            }
    }
    return -1;
}

#define EL_IMAGE_CAST_MAX 16

/* The OD API's preprocessor casts the uint8 image batch to float
 * (ToFloat), scatters it into a TensorArray and resizes one image per
 * iteration of a map_fn loop: TensorArrayReadV3 [-> ExpandDims] ->
 * ResizeBilinear. ResizeBilinear reads uint8 images and turns each corner
 * into float itself, as TensorFlow's kernel does (static_cast<float>), so
 * the TensorArray holds the uint8 images and the Cast goes: the same bits,
 * without writing and reading back a float copy of the whole frame (4 bytes
 * per value instead of 1). Only when every reader fits the pattern; a Shape
 * of the cast reads the uint8 image (same shape). */
static el_status el_opt_image_cast(el_opt *o, int c)
{
    el_onode *cn = &o->n[c];
    if (strcmp(cn->op, "Cast") || cn->fed || cn->fetched || cn->ndata != 1 || cn->nin != 1 || cn->nctrl_readers ||
        cn->in[0].slot < 0 || !el_onode_type_is(cn, "SrcT", EL_DT_UINT8) || !el_onode_type_is(cn, "DstT", EL_DT_FLOAT))
        return EL_OK;
    /* Nodes whose type attr becomes uint8: (node, attr). */
    int retype[EL_IMAGE_CAST_MAX];
    const char *attr[EL_IMAGE_CAST_MAX];
    int nre = 0, scatter = -1, ta = -1;
    for (int r = 0; r < o->nn; r++) {
        const el_onode *rn = &o->n[r];
        if (!rn->needed) continue;
        for (int k = 0; k < rn->nin; k++) {
            if (rn->in[k].node != c) continue;
            if (!strcmp(rn->op, "Shape") && k == 0 && rn->ndata == 1) continue;
            if (strcmp(rn->op, "TensorArrayScatterV3") || k != 2 || scatter >= 0 || rn->ndata != 4) return EL_OK;
            scatter = r;
        }
    }
    if (scatter < 0 || o->n[scatter].in[0].slot != 0) return EL_OK;
    ta = o->n[scatter].in[0].node;
    if (strcmp(o->n[ta].op, "TensorArrayV3") || o->n[ta].fetched || !el_onode_type_is(&o->n[ta], "dtype", EL_DT_FLOAT))
        return EL_OK;
    retype[nre] = ta, attr[nre++] = "dtype";
    retype[nre] = scatter, attr[nre++] = "T";
    /* The handle goes to the scatter and into loops; inside, only reads. */
    int nreads = 0;
    for (int e = 0; e < o->nn; e++) {
        const el_onode *en = &o->n[e];
        if (!en->needed) continue;
        for (int k = 0; k < en->nin; k++) {
            if (en->in[k].node != ta || en->in[k].slot != 0) continue;
            if (e == scatter && k == 0) continue;
            if (strcmp(en->op, "Enter") || k != 0 || en->fetched) return EL_OK;
            for (int r = 0; r < o->nn; r++) {
                const el_onode *rn = &o->n[r];
                if (!rn->needed) continue;
                for (int j = 0; j < rn->ndata; j++) {
                    if (rn->in[j].node != e) continue;
                    if (strcmp(rn->op, "TensorArrayReadV3") || j != 0 || !el_onode_type_is(rn, "dtype", EL_DT_FLOAT))
                        return EL_OK;
                    /* The read's one reader: ResizeBilinear, or ExpandDims read only by one. */
                    int k1 = -1, k2 = -1, d = el_only_reader(o, r, &k1), z = d;
                    if (d < 0 || k1 != 0) return EL_OK;
                    if (!strcmp(o->n[d].op, "ExpandDims")) {
                        z = el_only_reader(o, d, &k2);
                        if (z < 0 || k2 != 0) return EL_OK;
                    } else {
                        d = -1;
                    }
                    if (strcmp(o->n[z].op, "ResizeBilinear") || o->n[z].ndata != 2) return EL_OK;
                    if (nre + 3 > EL_IMAGE_CAST_MAX) return EL_OK;
                    retype[nre] = r, attr[nre++] = "dtype";
                    if (d >= 0) retype[nre] = d, attr[nre++] = "T";
                    retype[nre] = z, attr[nre++] = "T";
                    nreads++;
                }
            }
        }
    }
    if (nreads == 0) return EL_OK;
    for (int i = 0; i < nre; i++) {
        el_attr a = {.name = attr[i], .type = EL_ATTR_TYPE, .v.type = EL_DT_UINT8};
        EL_TRY(el_set_attr(&o->n[retype[i]], &o->n[retype[i]], &a));
    }
    for (int r = 0; r < o->nn; r++) {
        el_onode *rn = &o->n[r];
        if (!rn->needed) continue;
        for (int k = 0; k < rn->ndata; k++)
            if (rn->in[k].node == c) rn->in[k] = cn->in[0];
    }
    cn->needed = false;
    o->st.image_cast_sunk++;
    return EL_OK;
}

static bool el_is_u8_float_cast(const el_onode *n)
{
    return !strcmp(n->op, "Cast") && n->ndata == 1 && el_onode_type_is(n, "SrcT", EL_DT_UINT8) &&
           el_onode_type_is(n, "DstT", EL_DT_FLOAT) && n->in[0].slot >= 0;
}

/* The _ElMulAdd r takes in what feeds its x when r is that node's only
 * reader, in this order only (each step's input side stays before what it
 * absorbed, so the border of the padding is what the Mul by c and the Add
 * make of the Pad's 0): a Pad (zeros), then a Mul by a scalar constant
 * (pre_scale), then a Cast from uint8 to float (also from under a
 * StridedSlice, which then slices the uint8). Data inputs become x, c,
 * d [, s] [, paddings]; see ops/mul_add.c. */
static el_status el_opt_mul_add_absorb(el_opt *o, int r)
{
    for (;;) {
        el_onode *rn = &o->n[r];
        bool pre = el_onode_bool(rn, "pre_scale", false), padded = el_onode_bool(rn, "padded", false);
        int src = -1;
        if (!el_sole_reader(o, r, 0, &src)) return EL_OK;
        el_onode *sn = &o->n[src];
        el_oin x = {-1, 0}, extra = {-1, 0};
        const char *attr = NULL;
        if (!pre && !padded && !strcmp(sn->op, "Pad") && sn->ndata == 2 && el_onode_float_ok(sn)) {
            x = sn->in[0];
            extra = sn->in[1];
            attr = "padded";
        } else if (!pre && !strcmp(sn->op, "Mul")) {
            const el_tensor *c;
            int ck;
            if (!el_with_scalar(o, sn, false, &x, &c, &ck)) return EL_OK;
            extra = sn->in[ck];
            attr = "pre_scale";
        } else if (!strcmp(sn->op, "Cast") && sn->ndata == 1) {
            if (!el_is_u8_float_cast(sn)) return EL_OK;
            x = sn->in[0];
        } else if (!strcmp(sn->op, "StridedSlice") && sn->ndata == 4 && el_onode_type_is(sn, "T", EL_DT_FLOAT)) {
            /* Cast -> StridedSlice -> here (TF2 OD API preprocessors, the
             * slice adding the batch axis): the slice takes the uint8 tensor
             * instead, moving elements the same way, and the Cast goes; this
             * node reads uint8 as if it had absorbed the Cast. */
            int c = -1;
            if (!el_sole_reader(o, src, 0, &c) || !el_is_u8_float_cast(&o->n[c]) || o->n[c].nin != 1 ||
                o->n[c].in[0].slot < 0)
                return EL_OK;
            el_attr a = {.name = "T", .type = EL_ATTR_TYPE, .v.type = EL_DT_UINT8};
            EL_TRY(el_set_attr(sn, sn, &a));
            sn->in[0] = o->n[c].in[0];
            o->n[c].needed = false;
            o->st.mul_add_absorbed++;
            return EL_OK;
        } else {
            return EL_OK;
        }
        if (x.slot < 0) return EL_OK;
        int nctrl = (rn->nin - rn->ndata) + (sn->nin - sn->ndata);
        int ndata = rn->ndata + (attr ? 1 : 0);
        el_oin *in = malloc(sizeof *in * (size_t)(ndata + nctrl));
        if (!in) return el_opt_oom();
        /* x, c, d, then s (before any paddings), then paddings. */
        int k = 0;
        in[k++] = x;
        in[k++] = rn->in[1];
        in[k++] = rn->in[2];
        if (attr && !strcmp(attr, "pre_scale")) in[k++] = extra;
        for (int i = 3; i < rn->ndata; i++) in[k++] = rn->in[i];
        if (attr && !strcmp(attr, "padded")) in[k++] = extra;
        for (int i = rn->ndata; i < rn->nin; i++) in[k++] = rn->in[i];
        for (int i = sn->ndata; i < sn->nin; i++) in[k++] = sn->in[i];
        if (attr) {
            el_attr a = {.name = attr, .type = EL_ATTR_B, .v.b = true};
            el_status s = el_set_attr(rn, rn, &a);
            if (s != EL_OK) {
                free(in);
                return s;
            }
        }
        free(rn->in);
        rn->in = in;
        rn->nin = k;
        rn->ndata = ndata;
        sn->needed = false;
        o->st.mul_add_absorbed++;
    }
}

static bool el_is_any_conv(const char *op)
{
    return el_is_plain_conv(op) || !strcmp(op, "_FusedConv2D") || !strcmp(op, "FusedDepthwiseConv2dNative");
}

/* Mul(a, b) whose every reader is a convolution reading it as its input
 * (input 0, and nowhere else): each reader takes a as input 0 and b as a
 * last data input, with EL_CONV_IN_SCALE_ATTR; the Mul goes. Neither
 * operand constant (a constant scale is another pass's business). */
static el_status el_opt_conv_in_scale(el_opt *o, int m)
{
    el_onode *mn = &o->n[m];
    if (strcmp(mn->op, "Mul") || mn->fed || mn->fetched || mn->ndata != 2 || mn->nin != 2 || mn->nctrl_readers ||
        mn->ndata_readers < 1 || !el_onode_float_ok(mn))
        return EL_OK;
    for (int k = 0; k < 2; k++)
        if (mn->in[k].slot < 0 || o->n[mn->in[k].node].is_const) return EL_OK;
    int readers = 0;
    for (int n = 0; n < o->nn; n++) {
        const el_onode *r = &o->n[n];
        if (!r->needed) continue;
        for (int k = 0; k < r->nin; k++) {
            if (r->in[k].node != m) continue;
            if (k != 0 || r->in[k].slot != 0 || !el_is_any_conv(r->op) || r->ndata < 2 || !el_onode_float_ok(r) ||
                !el_onode_str_is(r, "data_format", "NHWC", "NHWC") || el_onode_attr(r, EL_CONV_IN_SCALE_ATTR))
                return EL_OK;
            readers++;
        }
    }
    if (readers != mn->ndata_readers) return EL_OK;
    for (int n = 0; n < o->nn; n++) {
        el_onode *r = &o->n[n];
        if (!r->needed || r->nin < 1 || r->in[0].node != m) continue;
        el_attr a = {.name = EL_CONV_IN_SCALE_ATTR, .type = EL_ATTR_B, .v.b = true};
        r->in[0] = mn->in[0];
        EL_TRY(el_opt_append_data(r, &mn->in[1], 1, &a));
    }
    mn->needed = false;
    o->st.in_scale_fused++;
    return EL_OK;
}

/* An _ElMulAdd m read only by a Conv2D / _FusedConv2D as its input, whose
 * filter (constant HWIO) the stem kernel takes (ops/conv_stem.h: a first
 * layer on an image): the convolution standardises its input as it loads
 * it (ops/mul_add.h), the _ElMulAdd's output (the image as floats, 4 bytes
 * a value) never goes through memory. */
static el_status el_opt_conv_in_std(el_opt *o, int m)
{
    el_onode *mn = &o->n[m];
    if (strcmp(mn->op, "_ElMulAdd") || mn->fed || mn->fetched || mn->nin != mn->ndata || mn->nctrl_readers ||
        mn->ndata_readers != 1 || mn->ndata < 3 || mn->in[0].slot < 0)
        return EL_OK;
    const bool sub = el_onode_bool(mn, "sub", false), pre = el_onode_bool(mn, "pre_scale", false),
               padded = el_onode_bool(mn, "padded", false);
    if (mn->ndata != 3 + pre + padded) return EL_OK;
    int r = -1, k = -1;
    r = el_only_reader(o, m, &k);
    if (r < 0 || k != 0) return EL_OK;
    el_onode *rn = &o->n[r];
    if (rn->in[0].slot != 0 || (strcmp(rn->op, "Conv2D") && strcmp(rn->op, "_FusedConv2D")) || rn->ndata < 2 ||
        !el_onode_float_ok(rn) || !el_onode_str_is(rn, "data_format", "NHWC", "NHWC") ||
        !el_onode_ones(rn, "dilations", true) || el_onode_attr(rn, EL_CONV_IN_SCALE_ATTR) ||
        el_onode_attr(rn, EL_CONV_IN_STD_ATTR) || el_onode_attr(rn, EL_CONV_AT_ATTR) ||
        el_onode_attr(rn, EL_DWPW_NIN_ATTR) || el_onode_attr(rn, EL_PWDW_NIN_ATTR))
        return EL_OK;
    /* A filter packed already (a packed model file) is left to the kernel:
     * should the stem kernel decline, the convolution standardises the whole
     * map first, as the _ElMulAdd did. */
    const el_tensor *w = el_const_input(o, rn, 1);
    if (!el_onode_attr(rn, EL_FILTER_LAYOUT_ATTR)) {
        if (!w || w->ndim != 4 || !el_conv_stem_fits(w->dims[0] * w->dims[1], w->dims[2], w->dims[3])) return EL_OK;
    }
    el_attr a = {.name = EL_CONV_IN_STD_ATTR,
                 .type = EL_ATTR_I,
                 .v.i = (sub ? EL_STD_SUB : 0) | (pre ? EL_STD_PRE : 0) | (padded ? EL_STD_PADDED : 0)};
    rn->in[0] = mn->in[0];
    EL_TRY(el_opt_append_data(rn, &mn->in[1], mn->ndata - 1, &a));
    mn->needed = false;
    o->st.in_std_fused++;
    return EL_OK;
}

static bool el_is_depthwise_op(const char *op)
{
    return !strcmp(op, "DepthwiseConv2dNative") || !strcmp(op, "FusedDepthwiseConv2dNative") ||
           !strcmp(op, "_FusedDepthwiseConv2dNative");
}

/* Mean(d, [1, 2]) of a float depthwise convolution d (MobileNetV3's
 * squeeze-excite Means): d sums its output rows as it stores them and
 * outputs the Mean as its output 1 (EL_CONV_MEAN_ATTR, ops/conv_mean.h:
 * the Mean kernel's order, so its bits), which the
 * Mean's readers read instead; the map is read once. d then has two
 * readers, and el_opt_dw_pw leaves it apart. */
static el_status el_opt_conv_mean(el_opt *o, int m)
{
    const int d = el_spatial_mean_of(o, m);
    if (d < 0) return EL_OK;
    const el_onode *dn = &o->n[d];
    if (!el_is_depthwise_op(dn->op) || dn->fed || dn->fetched_nonzero || dn->ndata < 2 || !el_onode_float_ok(dn) ||
        !el_onode_str_is(dn, "data_format", "NHWC", "NHWC") || el_onode_attr(dn, EL_CONV_MEAN_ATTR))
        return EL_OK;
    EL_TRY(el_opt_mean_moved(o, m, d, EL_CONV_MEAN_ATTR));
    o->st.conv_mean_fused++;
    return EL_OK;
}

/* Whether 1x1 convolution r (filter w) widens its input and is read only
 * by a depthwise convolution (MobileNet v1's Conv2d_1: 32 -> 64 channels
 * at 150x150 before a stride-2 depthwise): el_opt_pw_dw then runs r inside
 * that one, so the wider tensor never goes through memory, only r's
 * narrower input does (its depthwise convolution, left unfused, writes it). */
static bool el_expands_into_depthwise(const el_opt *o, int r, const el_tensor *w, bool packed)
{
    const el_onode *rn = &o->n[r];
    if (rn->ndata_readers != 1 || rn->nctrl_readers != 0 || rn->fetched) return false;
    const el_attr *oca = packed ? el_onode_attr(rn, EL_FILTER_OC_ATTR) : NULL;
    if (packed && (!oca || oca->type != EL_ATTR_I)) return false;
    if ((packed ? oca->v.i : w->dims[3]) <= w->dims[packed + 2]) return false;
    for (int i = 0; i < o->nn; i++) {
        const el_onode *q = &o->n[i];
        if (!q->needed || q->ndata < 1 || q->in[0].node != r || q->in[0].slot != 0) continue;
        return el_is_depthwise_op(q->op);
    }
    return false;
}

/* A depthwise convolution d read only by a 1x1, stride-1 convolution r
 * (a separable convolution, an inverted bottleneck's projection): r runs
 * both, a row of d's output at a time into a buffer in cache, instead of
 * d's whole output going through memory (ops/conv.c's el_conv_dwpw: the
 * same kernels, the same bits). r's inputs become d's input, r's own
 * inputs from its filter on, then d's inputs from its filter on, the last
 * EL_DWPW_NIN_ATTR of them; d's attrs are kept as EL_DWPW_PREFIX + name. */
static el_status el_opt_dw_pw(el_opt *o, int r)
{
    el_onode *rn = &o->n[r];
    if ((strcmp(rn->op, "_FusedConv2D") && strcmp(rn->op, "Conv2D")) || rn->fed || rn->fetched_nonzero ||
        rn->ndata < 2 || !el_onode_float_ok(rn) || !el_onode_str_is(rn, "data_format", "NHWC", "NHWC") ||
        el_onode_str_is(rn, "padding", "", "EXPLICIT") || el_onode_attr(rn, EL_CONV_IN_SCALE_ATTR) ||
        el_onode_attr(rn, EL_DWPW_NIN_ATTR))
        return EL_OK;
    /* A 1x1 filter: HWIO, or already packed ([panels, kh, kw, ic, 32], ops/gemm.h). */
    const el_tensor *w = el_const_input(o, rn, 1);
    bool packed = w && w->ndim == 5 && el_onode_attr(rn, EL_FILTER_LAYOUT_ATTR);
    if (!w || (w->ndim != 4 && !packed) || w->dims[packed] != 1 || w->dims[packed + 1] != 1) return EL_OK;
    int d = -1;
    if (!el_onode_unit_strides(rn) || !el_sole_reader(o, r, 0, &d)) return EL_OK;
    if (el_expands_into_depthwise(o, r, w, packed)) return EL_OK;
    el_onode *dn = &o->n[d];
    if ((strcmp(dn->op, "DepthwiseConv2dNative") && strcmp(dn->op, "FusedDepthwiseConv2dNative") &&
         strcmp(dn->op, "_FusedDepthwiseConv2dNative")) ||
        dn->ndata < 2 || dn->ndata > 8 || !el_onode_float_ok(dn) || !el_onode_str_is(dn, "data_format", "NHWC", "NHWC"))
        return EL_OK;
    /* d's attrs under the prefix: only those the kernel knows (names are literals). */
    static const char *const known[][2] = {
        {"T", EL_DWPW_PREFIX "T"},
        {"strides", EL_DWPW_PREFIX "strides"},
        {"padding", EL_DWPW_PREFIX "padding"},
        {"explicit_paddings", EL_DWPW_PREFIX "explicit_paddings"},
        {"dilations", EL_DWPW_PREFIX "dilations"},
        {"data_format", EL_DWPW_PREFIX "data_format"},
        {"fused_ops", EL_DWPW_PREFIX "fused_ops"},
        {"num_args", EL_DWPW_PREFIX "num_args"},
        {"epsilon", EL_DWPW_PREFIX "epsilon"},
        {"leakyrelu_alpha", EL_DWPW_PREFIX "leakyrelu_alpha"},
        {EL_CONV_IN_SCALE_ATTR, EL_DWPW_PREFIX EL_CONV_IN_SCALE_ATTR},
    };
    const int nknown = (int)(sizeof known / sizeof known[0]);
    int nda;
    const el_attr *da = el_onode_attrs(dn, &nda);
    for (int i = 0; i < nda; i++) {
        int k = 0;
        while (k < nknown && strcmp(da[i].name, known[k][0])) k++;
        if (k == nknown || da[i].type == EL_ATTR_TENSOR) return EL_OK;
    }
    /* One at a time through el_set_attr, which keeps fused_ops lists owned. */
    for (int i = 0; i < nda; i++) {
        int k = 0;
        while (strcmp(da[i].name, known[k][0])) k++;
        el_attr a = da[i];
        a.name = known[k][1];
        EL_TRY(el_set_attr(rn, rn, &a));
    }
    const el_attr nin = {.name = EL_DWPW_NIN_ATTR, .type = EL_ATTR_I, .v.i = dn->ndata - 1};
    EL_TRY(el_set_attr(rn, rn, &nin));
    int ndata = rn->ndata + dn->ndata - 1;
    el_oin *data = malloc(sizeof *data * (size_t)ndata);
    if (!data) return el_opt_oom();
    data[0] = dn->in[0];
    memcpy(data + 1, rn->in + 1, sizeof *data * (size_t)(rn->ndata - 1));
    memcpy(data + rn->ndata, dn->in + 1, sizeof *data * (size_t)(dn->ndata - 1));
    EL_TRY(el_opt_rewire(o, r, d, data, ndata));
    o->st.dw_pw_fused++;
    return EL_OK;
}

/* Whether node `from` depends on node `to` (through any input). */
static el_status el_opt_depends(const el_opt *o, int from, int to, bool *out)
{
    bool *seen = calloc((size_t)o->nn, sizeof *seen);
    int *stack = malloc(sizeof *stack * (size_t)o->nn);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return el_opt_oom();
    }
    int sp = 0;
    stack[sp++] = from;
    seen[from] = true;
    *out = false;
    while (sp > 0 && !*out) {
        const el_onode *n = &o->n[stack[--sp]];
        for (int i = 0; i < n->nin; i++) {
            const int k = n->in[i].node;
            if (k == to) *out = true;
            if (!seen[k]) {
                seen[k] = true;
                stack[sp++] = k;
            }
        }
    }
    free(seen);
    free(stack);
    return EL_OK;
}

/* GatherV2(Reshape(y, [s, oc]), idx, 0) with y a depthwise-then-1x1 row
 * fusion c (el_opt_dw_pw; the depthwise stride 1, SAME, no dilation), or a
 * Mul of c by a scalar constant, each read by nothing else: only the
 * gathered rows of the reshaped y, pixels idx, are ever read (CenterNet's
 * size head, read at its 100 peaks of 16384 pixels). c takes idx as its
 * last input (EL_CONV_AT_ATTR) and computes only those pixels (ops/conv.c,
 * el_conv_at; the others are zero): the same bits there. Not when idx
 * depends on c. */
static el_status el_opt_conv_at(el_opt *o, int g)
{
    el_onode *gn = &o->n[g];
    if (strcmp(gn->op, "GatherV2") || gn->fed || gn->ndata != 3 || !el_onode_float_ok(gn)) return EL_OK;
    const el_attr *bd = el_onode_attr(gn, "batch_dims");
    if (bd && (bd->type != EL_ATTR_I || bd->v.i != 0)) return EL_OK;
    const el_onode *an = &o->n[gn->in[2].node];
    if (!an->is_const || gn->in[2].slot != 0 || an->nval < 1 || el_tensor_numel(&an->val[0]) != 1) return EL_OK;
    int64_t axis = 0;
    if (an->val[0].dtype == EL_DT_INT32) axis = *(const int32_t *)an->val[0].data;
    else if (an->val[0].dtype == EL_DT_INT64) axis = *(const int64_t *)an->val[0].data;
    else return EL_OK;
    int r = -1, m = -1, c = -1;
    if (axis != 0 || !el_sole_reader(o, g, 0, &r)) return EL_OK;
    el_onode *rn = &o->n[r];
    if (strcmp(rn->op, "Reshape") || rn->ndata != 2 || !el_sole_reader(o, r, 0, &m)) return EL_OK;
    const el_onode *sn = &o->n[rn->in[1].node];
    if (!sn->is_const || rn->in[1].slot != 0 || sn->nval < 1 || sn->val[0].dtype != EL_DT_INT32 ||
        el_tensor_numel(&sn->val[0]) != 2)
        return EL_OK;
    const int32_t *shape = sn->val[0].data;
    el_onode *mn = &o->n[m];
    if (!strcmp(mn->op, "Mul") && mn->ndata == 2 && el_onode_float_ok(mn)) {
        int k = el_const_input(o, mn, 0) ? 1 : 0;
        const el_tensor *sc = el_const_input(o, mn, 1 - k);
        if (!sc || el_tensor_numel(sc) != 1 || sc->ndim > 4 || !el_sole_reader(o, m, k, &c)) return EL_OK;
    } else {
        c = m;
        m = -1;
    }
    el_onode *cn = &o->n[c];
    if ((strcmp(cn->op, "_FusedConv2D") && strcmp(cn->op, "Conv2D")) || !el_onode_attr(cn, EL_DWPW_NIN_ATTR) ||
        el_onode_attr(cn, EL_PWDW_NIN_ATTR) || el_onode_attr(cn, EL_CONV_AT_ATTR) || cn->ndata > 23 ||
        !el_onode_ones(cn, EL_DWPW_PREFIX "strides", false) || !el_onode_ones(cn, EL_DWPW_PREFIX "dilations", true) ||
        !el_onode_str_is(cn, EL_DWPW_PREFIX "padding", NULL, "SAME"))
        return EL_OK;
    /* The reshape keeps the channels: a row is a pixel. */
    const el_tensor *w = el_const_input(o, cn, 1);
    const el_attr *oca = el_onode_attr(cn, EL_FILTER_OC_ATTR);
    const int64_t oc = oca && oca->type == EL_ATTR_I ? oca->v.i : w && w->ndim == 4 ? w->dims[3] : -1;
    if (oc <= 0 || shape[1] != oc || shape[0] == 0 || shape[0] < -1) return EL_OK;
    bool cyc = false;
    EL_TRY(el_opt_depends(o, gn->in[1].node, c, &cyc));
    if (cyc) return EL_OK;
    el_attr a = {.name = EL_CONV_AT_ATTR, .type = EL_ATTR_B, .v.b = true};
    EL_TRY(el_opt_append_data(cn, &gn->in[1], 1, &a));
    o->st.conv_at_fused++;
    return EL_OK;
}

/* A ConcatV2 c whose output 0 is read only as input 0 of
 * depthwise-then-1x1 row fusions (el_opt_dw_pw, with or without
 * el_opt_conv_at): each reader takes c's inputs (EL_CAT_NIN_ATTR,
 * ops/concat.h) and makes the rows it reads itself, and c makes only its
 * Mean (EL_CONCAT_MEAN_ONLY_ATTR) when it takes one (el_opt_concat_mean),
 * else nothing reads it and the final prune drops it: the concatenated
 * map never goes through memory (CenterNet's 128x128x128 head, 8 MB
 * written and read back, and its upsampling concats). c's attrs the
 * readers cannot take keep it as it is. */
static el_status el_opt_concat_rows(el_opt *o, int c)
{
    el_onode *cn = &o->n[c];
    if (!el_is_float_concat(cn) || cn->fed || cn->fetched || cn->nctrl_readers || cn->nin != cn->ndata ||
        el_onode_attr(cn, EL_CONCAT_MEAN_ONLY_ATTR))
        return EL_OK;
    static const char *const known[][2] = {
        {"N", EL_CAT_PREFIX "N"},
        {"T", EL_CAT_PREFIX "T"},
        {"Tidx", EL_CAT_PREFIX "Tidx"},
        {EL_CONCAT_NEG_ATTR, EL_CAT_PREFIX EL_CONCAT_NEG_ATTR},
        {EL_CONCAT_RELU_ATTR, EL_CAT_PREFIX EL_CONCAT_RELU_ATTR},
        {EL_CONCAT_RESIZE_ATTR, EL_CAT_PREFIX EL_CONCAT_RESIZE_ATTR},
        {EL_CONCAT_RESIZE_ALIGN_ATTR, EL_CAT_PREFIX EL_CONCAT_RESIZE_ALIGN_ATTR},
        {EL_CONCAT_RESIZE_HALF_ATTR, EL_CAT_PREFIX EL_CONCAT_RESIZE_HALF_ATTR},
        {EL_CONCAT_MEAN_ATTR, NULL}, /* the Mean stays c's */
    };
    const int nknown = (int)(sizeof known / sizeof known[0]);
    int nca;
    const el_attr *ca = el_onode_attrs(cn, &nca);
    for (int i = 0; i < nca; i++) {
        int k = 0;
        while (k < nknown && strcmp(ca[i].name, known[k][0])) k++;
        if (k == nknown || ca[i].type == EL_ATTR_TENSOR) return EL_OK;
    }
    int readers = 0;
    for (int n = 0; n < o->nn; n++) {
        const el_onode *r = &o->n[n];
        if (!r->needed) continue;
        for (int k = 0; k < r->nin; k++) {
            if (r->in[k].node != c || r->in[k].slot != 0) continue;
            if (k != 0 || (strcmp(r->op, "_FusedConv2D") && strcmp(r->op, "Conv2D")) || r->fed || r->nin != r->ndata ||
                !el_onode_attr(r, EL_DWPW_NIN_ATTR) || el_onode_attr(r, EL_PWDW_NIN_ATTR) ||
                el_onode_attr(r, EL_CAT_NIN_ATTR) || r->ndata + cn->ndata - 1 > 24)
                return EL_OK;
            readers++;
        }
    }
    if (readers == 0) return EL_OK;
    for (int n = 0; n < o->nn; n++) {
        el_onode *r = &o->n[n];
        if (!r->needed || r->nin < 1 || r->in[0].node != c || r->in[0].slot != 0) continue;
        for (int i = 0; i < nca; i++) {
            int k = 0;
            while (strcmp(ca[i].name, known[k][0])) k++;
            if (!known[k][1]) continue;
            el_attr a = ca[i];
            a.name = known[k][1];
            EL_TRY(el_set_attr(r, r, &a));
        }
        const el_attr nin = {.name = EL_CAT_NIN_ATTR, .type = EL_ATTR_I, .v.i = cn->ndata - 1};
        r->in[0] = cn->in[0];
        EL_TRY(el_opt_append_data(r, cn->in + 1, cn->ndata - 1, &nin));
    }
    /* With a Mean the concat makes only that; without one nothing reads
     * it any more and the final prune drops it. */
    if (el_onode_attr(cn, EL_CONCAT_MEAN_ATTR)) {
        const el_attr only = {.name = EL_CONCAT_MEAN_ONLY_ATTR, .type = EL_ATTR_B, .v.b = true};
        EL_TRY(el_set_attr(cn, cn, &only));
    }
    o->st.concat_rows_fused++;
    return EL_OK;
}

static el_status el_opt_fuse(el_opt *o)
{
    el_opt_count_readers(o);
    int nn = o->nn;
    for (int n = 0; n < nn; n++) {
        if (!o->n[n].needed) continue;
        const char *op = o->n[n].op;
        if (!strcmp(op, "FusedBatchNorm") || !strcmp(op, "FusedBatchNormV2") || !strcmp(op, "FusedBatchNormV3"))
            EL_TRY(el_opt_fold_bn(o, n));
    }
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_fuse_bias(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_fuse_act(o, n));
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) el_opt_shape_bypass(o, n);
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_image_cast(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) {
            EL_TRY(el_opt_hswish(o, n));
            EL_TRY(el_opt_keep_equal(o, n));
            EL_TRY(el_opt_mul_add(o, n));
            if (!strcmp(o->n[n].op, "_ElMulAdd")) EL_TRY(el_opt_mul_add_absorb(o, n));
        }
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) {
            EL_TRY(el_opt_conv_tail(o, n));
            EL_TRY(el_opt_keep_equal_pool(o, n));
        }
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_peak_topk(o, n));
    /* Negations into concats first: a Relu then absorbs the concat with its mask. */
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) el_opt_div_one(o, n);
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_concat_neg(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_relu_absorb(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_concat_sigmoid(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_concat_slice(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_pool_concat(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) {
            EL_TRY(el_opt_concat_mean(o, n));
            if (o->n[n].needed) EL_TRY(el_opt_conv_mean(o, n));
        }
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_concat_resize(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_conv_in_scale(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_dw_pw(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_conv_at(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_concat_rows(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_conv_in_std(o, n));
    EL_TRY(el_opt_fuse_nms(o));
    EL_TRY(el_opt_topk_prefix(o));
    return el_opt_nms_top(o);
}


/* ---- filter packing ---- */

/* Whether node i's filter (a constant [kh, kw, ic, oc]) gets packed. */
static bool el_opt_packable(const el_opt *o, int i, el_filter_layout layout, const el_tensor *w)
{
    const el_onode *n = &o->n[i];
    if (layout == EL_FILTER_HWIO || n->fed || (strcmp(n->op, "Conv2D") && strcmp(n->op, "_FusedConv2D")) ||
        n->ndata < 2)
        return false;
    if (!el_onode_float_ok(n) || !el_onode_str_is(n, "data_format", "NHWC", "NHWC") ||
        el_onode_attr(n, EL_FILTER_LAYOUT_ATTR))
        return false;
    return w && w->dtype == EL_DT_FLOAT && w->ndim == 4 && el_tensor_numel(w) > 0 &&
           w->dims[0] * w->dims[1] * w->dims[2] <= EL_CONV_MAX_PACKED_K;
}

/* Node i reads its filter from Const c, packed in `layout` for `oc`
 * output channels: input 1 and the private attrs. */
static el_status el_opt_mark_packed(el_opt *o, int i, int c, el_filter_layout layout, int64_t oc)
{
    el_onode *n = &o->n[i];
    static const char *const drop[] = {EL_FILTER_LAYOUT_ATTR, EL_FILTER_OC_ATTR};
    el_attr *attrs = NULL;
    int na = 0;
    EL_TRY(el_attrs_copy(n, drop, 2, 2, &attrs, &na));
    const char *lname = el_filter_layout_name(layout);
    attrs[na].name = EL_FILTER_LAYOUT_ATTR;
    attrs[na].type = EL_ATTR_S;
    attrs[na].v.s.data = lname;
    attrs[na].v.s.len = strlen(lname);
    na++;
    attrs[na].name = EL_FILTER_OC_ATTR;
    attrs[na].type = EL_ATTR_I;
    attrs[na].v.i = oc;
    na++;
    /* fused_ops: the copy now owns our own list (el_opt_free frees it), or
     * a private copy of one borrowed from the source graph. */
    for (int k = 0; k < na; k++) {
        el_attr *a = &attrs[k];
        if (a->type != EL_ATTR_LIST || a->v.list.elem != EL_ATTR_S || strcmp(a->name, "fused_ops")) continue;
        if (n->attrs) {
            for (int j = 0; j < n->nattrs; j++)
                if (!strcmp(n->attrs[j].name, "fused_ops")) n->attrs[j].type = EL_ATTR_NONE;
        } else {
            el_string *ss = malloc(sizeof *ss * (size_t)(a->v.list.n + 1));
            if (!ss) {
                a->type = EL_ATTR_NONE;
                el_attrs_free(attrs, na);
                return el_opt_oom();
            }
            memcpy(ss, a->v.list.v.s, sizeof *ss * (size_t)a->v.list.n);
            a->v.list.v.s = ss;
        }
    }
    el_attrs_free(n->attrs, n->nattrs);
    n->attrs = attrs;
    n->nattrs = na;
    n->in[1] = (el_oin){c, 0};
    o->st.packed++;
    return EL_OK;
}

static el_status el_opt_pack_one(el_opt *o, int i)
{
    el_filter_layout layout = el_filter_layout_preferred();
    const el_tensor *w = el_const_input(o, &o->n[i], 1);
    if (!el_opt_packable(o, i, layout, w)) return EL_OK;
    int src = o->n[i].in[1].node;
    el_tensor packed;
    EL_TRY(el_filter_pack(w, layout, &packed));
    int64_t oc = w->dims[3];
    int c = -1;
    el_status s = el_opt_const(o, o->n[src].name, "/_el_packed", &packed, &c);
    el_tensor_release(&packed);
    if (s != EL_OK) return s;
    EL_TRY(el_opt_mark_packed(o, i, c, layout, oc));
    /* The HWIO filter, when nothing else reads it: release it now. */
    el_onode *f = &o->n[src];
    if (--f->ndata_readers == 0 && f->nctrl_readers == 0 && !f->fetched && !f->fed) {
        el_opt_reclaim(o, f);
        for (int k = 0; k < f->nval; k++) el_tensor_release(&f->val[k]);
        free(f->val);
        f->val = NULL;
        f->nval = 0;
        f->is_const = false;
        el_attrs_free(f->attrs, f->nattrs);
        f->attrs = NULL;
        f->nattrs = 0;
        f->needed = false;
    }
    return EL_OK;
}

static el_status el_opt_pack(el_opt *o)
{
    el_opt_count_readers(o);
    int nn = o->nn;
    for (int n = 0; n < nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_pack_one(o, n));
    return EL_OK;
}

/* ---- output ---- */

/* Whether d, a depthwise-then-1x1 fusion (el_opt_dw_pw) whose depthwise
 * part keeps the map's size (stride 1, SAME, no dilation), reads the
 * producer of its input 0 a second time as its last 1x1 input, its fused
 * Add's operand (a residual block right after the first layer:
 * MobileNetV3's expanded_conv), and nothing else reads it: *src is the
 * producer, *res that input. */
static bool el_opt_residual_of(const el_opt *o, int d, int *src, int *res)
{
    const el_onode *dn = &o->n[d];
    const el_oin *in = &dn->in[0];
    const el_onode *s = &o->n[in->node];
    const el_attr *nd = el_onode_attr(dn, EL_DWPW_NIN_ATTR);
    const el_string *ops;
    const int nops = el_fused_ops(dn, &ops);
    if (!nd || nd->type != EL_ATTR_I || nd->v.i < 1 || nd->v.i > dn->ndata - 3 || in->slot != 0 || s->fed ||
        s->fetched || s->ndata_readers != 2 || s->nctrl_readers != 0 || nops < 2 || !el_estr_is(ops[nops - 1], "Add"))
        return false;
    const int k = dn->ndata - (int)nd->v.i - 1;
    const el_attr *st = el_onode_attr(dn, EL_DWPW_PREFIX "strides");
    if (dn->in[k].node != in->node || dn->in[k].slot != 0 || !st || st->type != EL_ATTR_LIST ||
        st->v.list.elem != EL_ATTR_I || st->v.list.n != 4 || !el_onode_str_is(dn, EL_DWPW_PREFIX "padding", NULL, "SAME") ||
        !el_onode_ones(dn, EL_DWPW_PREFIX "dilations", true))
        return false;
    for (int i = 0; i < 4; i++)
        if (st->v.list.v.i[i] != 1) return false;
    *src = in->node;
    *res = k;
    return true;
}

/* A 1x1, stride-1 convolution e read only by a depthwise convolution d (an
 * inverted bottleneck's expansion), or a first layer the stem kernel runs
 * (ops/conv_stem.h: MobileNet v1's Conv2d_0 before Conv2d_1_depthwise),
 * d a depthwise node or a node of el_opt_dw_pw: d runs both, making the
 * input rows its output rows read into a ring of kh + stride rows
 * (ops/conv.c's el_conv_pwdw), instead of e's whole output going through
 * memory. When d is a residual block reading e twice (el_opt_residual_of),
 * the Add's operand becomes e's input too (never read: EL_PWDW_RES_ATTR
 * says which input stands for e's output, which the kernel takes from the
 * ring). d's input 0 becomes e's input; e's inputs
 * from its filter on follow d's, the last EL_PWDW_NIN_ATTR of them; e's
 * attrs are kept as EL_PWDW_PREFIX + name. After the filter packing, so
 * e's filter is packed as any 1x1 convolution's. */
static el_status el_opt_pw_dw(el_opt *o, int d)
{
    el_onode *dn = &o->n[d];
    bool depthwise = !strcmp(dn->op, "DepthwiseConv2dNative") || !strcmp(dn->op, "FusedDepthwiseConv2dNative") ||
                     !strcmp(dn->op, "_FusedDepthwiseConv2dNative");
    bool dwpw = (!strcmp(dn->op, "_FusedConv2D") || !strcmp(dn->op, "Conv2D")) && el_onode_attr(dn, EL_DWPW_NIN_ATTR);
    if ((!depthwise && !dwpw) || dn->ndata < 2 || !el_onode_float_ok(dn) ||
        !el_onode_str_is(dn, "data_format", "NHWC", "NHWC") || el_onode_attr(dn, EL_PWDW_NIN_ATTR) ||
        el_onode_attr(dn, EL_CONV_IN_SCALE_ATTR) || el_onode_attr(dn, EL_DWPW_PREFIX EL_CONV_IN_SCALE_ATTR) ||
        el_onode_attr(dn, EL_CAT_NIN_ATTR))
        return EL_OK;
    int e = -1, res = -1;
    if (!el_sole_reader(o, d, 0, &e) && (!dwpw || !el_opt_residual_of(o, d, &e, &res))) return EL_OK;
    el_onode *en = &o->n[e];
    if ((strcmp(en->op, "_FusedConv2D") && strcmp(en->op, "Conv2D")) || en->ndata < 2 || !el_onode_float_ok(en) ||
        !el_onode_str_is(en, "data_format", "NHWC", "NHWC") || el_onode_str_is(en, "padding", "", "EXPLICIT") ||
        dn->ndata + en->ndata - 1 > 24)
        return EL_OK;
    /* A 1x1 stride-1 filter, or a first layer's the stem kernel takes
     * (ops/conv_stem.h, no dilation): HWIO, or packed ([panels, kh, kw,
     * ic, 32], ops/gemm.h, its output depth in an attr). */
    const el_tensor *w = el_const_input(o, en, 1);
    bool packed = w && w->ndim == 5 && el_onode_attr(en, EL_FILTER_LAYOUT_ATTR);
    if (!w || (w->ndim != 4 && !packed)) return EL_OK;
    const el_attr *oca = packed ? el_onode_attr(en, EL_FILTER_OC_ATTR) : NULL;
    const int64_t taps = w->dims[packed] * w->dims[packed + 1];
    const bool pw1 = taps == 1 && el_onode_unit_strides(en);
    if (!pw1 && (!el_onode_ones(en, "dilations", true) || (packed && (!oca || oca->type != EL_ATTR_I)) ||
                 !el_conv_stem_fits(taps, w->dims[packed + 2], packed ? oca->v.i : w->dims[3])))
        return EL_OK;
    /* e's attrs under the prefix: only those the kernel knows (names are
     * literals; a fusion's, an input scale's or bf16's attrs keep e apart). */
    static const char *const known[][2] = {
        {"T", EL_PWDW_PREFIX "T"},
        {"strides", EL_PWDW_PREFIX "strides"},
        {"padding", EL_PWDW_PREFIX "padding"},
        {"explicit_paddings", EL_PWDW_PREFIX "explicit_paddings"},
        {"dilations", EL_PWDW_PREFIX "dilations"},
        {"data_format", EL_PWDW_PREFIX "data_format"},
        {"use_cudnn_on_gpu", EL_PWDW_PREFIX "use_cudnn_on_gpu"},
        {"fused_ops", EL_PWDW_PREFIX "fused_ops"},
        {"num_args", EL_PWDW_PREFIX "num_args"},
        {"epsilon", EL_PWDW_PREFIX "epsilon"},
        {"leakyrelu_alpha", EL_PWDW_PREFIX "leakyrelu_alpha"},
        {EL_FILTER_LAYOUT_ATTR, EL_PWDW_PREFIX EL_FILTER_LAYOUT_ATTR},
        {EL_FILTER_OC_ATTR, EL_PWDW_PREFIX EL_FILTER_OC_ATTR},
        {EL_CONV_IN_STD_ATTR, EL_PWDW_PREFIX EL_CONV_IN_STD_ATTR},
    };
    const int nknown = (int)(sizeof known / sizeof known[0]);
    int nea;
    const el_attr *ea = el_onode_attrs(en, &nea);
    for (int i = 0; i < nea; i++) {
        int k = 0;
        while (k < nknown && strcmp(ea[i].name, known[k][0])) k++;
        if (k == nknown || ea[i].type == EL_ATTR_TENSOR) return EL_OK;
    }
    for (int i = 0; i < nea; i++) {
        int k = 0;
        while (strcmp(ea[i].name, known[k][0])) k++;
        el_attr a = ea[i];
        a.name = known[k][1];
        EL_TRY(el_set_attr(dn, dn, &a));
    }
    const el_attr nin = {.name = EL_PWDW_NIN_ATTR, .type = EL_ATTR_I, .v.i = en->ndata - 1};
    EL_TRY(el_set_attr(dn, dn, &nin));
    if (res > 0) {
        const el_attr ra = {.name = EL_PWDW_RES_ATTR, .type = EL_ATTR_I, .v.i = res};
        EL_TRY(el_set_attr(dn, dn, &ra));
    }
    int ndata = dn->ndata + en->ndata - 1;
    el_oin *data = malloc(sizeof *data * (size_t)ndata);
    if (!data) return el_opt_oom();
    data[0] = en->in[0];
    memcpy(data + 1, dn->in + 1, sizeof *data * (size_t)(dn->ndata - 1));
    if (res > 0) data[res] = en->in[0];
    memcpy(data + dn->ndata, en->in + 1, sizeof *data * (size_t)(en->ndata - 1));
    EL_TRY(el_opt_rewire(o, d, e, data, ndata));
    o->st.pw_dw_fused++;
    return EL_OK;
}

/* A depthwise node d running its 1x1 expansion (el_opt_pw_dw) whose input
 * is read only from a fused depthwise node i running an expansion of its
 * own (MobileNet v1's Conv2d_1_depthwise with Conv2d_0 in it, read by
 * Conv2d_1_pointwise in Conv2d_2_depthwise): d runs i too, a second ring
 * level (ops/conv_dwpw.h), so i's output never goes through memory. d's
 * input 0 becomes i's; i's other inputs follow d's, the last
 * EL_RING_NIN_ATTR of them; i's attrs are kept under EL_RING_PREFIX. */
static el_status el_opt_ring(el_opt *o, int d)
{
#define EL_RING_PW(n) {EL_PWDW_PREFIX n, EL_RING_PREFIX EL_PWDW_PREFIX n}
#define EL_RING_DW(n) {n, EL_RING_PREFIX n}, EL_RING_PW(n)
    static const char *const known[][2] = {
        EL_RING_DW("T"),
        EL_RING_DW("strides"),
        EL_RING_DW("padding"),
        EL_RING_DW("explicit_paddings"),
        EL_RING_DW("dilations"),
        EL_RING_DW("data_format"),
        EL_RING_DW("use_cudnn_on_gpu"),
        EL_RING_DW("fused_ops"),
        EL_RING_DW("num_args"),
        EL_RING_DW("epsilon"),
        EL_RING_DW("leakyrelu_alpha"),
        EL_RING_DW(EL_FILTER_LAYOUT_ATTR),
        EL_RING_DW(EL_FILTER_OC_ATTR),
        EL_RING_PW(EL_CONV_IN_STD_ATTR),
        {EL_PWDW_NIN_ATTR, EL_RING_PREFIX EL_PWDW_NIN_ATTR},
    };
#undef EL_RING_DW
#undef EL_RING_PW
    el_onode *dn = &o->n[d];
    int i = -1;
    if ((strcmp(dn->op, "FusedDepthwiseConv2dNative") && strcmp(dn->op, "_FusedDepthwiseConv2dNative") &&
         strcmp(dn->op, "DepthwiseConv2dNative")) ||
        !el_onode_attr(dn, EL_PWDW_NIN_ATTR) || el_onode_attr(dn, EL_RING_NIN_ATTR) ||
        el_onode_attr(dn, EL_PWDW_RES_ATTR) || el_onode_attr(dn, EL_CAT_NIN_ATTR) || !el_sole_reader(o, d, 0, &i))
        return EL_OK;
    el_onode *in = &o->n[i];
    if ((strcmp(in->op, "FusedDepthwiseConv2dNative") && strcmp(in->op, "_FusedDepthwiseConv2dNative")) ||
        !el_onode_attr(in, EL_PWDW_NIN_ATTR) || el_onode_attr(in, EL_PWDW_RES_ATTR) || in->ndata < 2 ||
        dn->ndata + in->ndata - 1 > 24)
        return EL_OK;
    const int nknown = (int)(sizeof known / sizeof known[0]);
    int nia;
    const el_attr *ia = el_onode_attrs(in, &nia);
    for (int a = 0; a < nia; a++) {
        int k = 0;
        while (k < nknown && strcmp(ia[a].name, known[k][0])) k++;
        if (k == nknown || ia[a].type == EL_ATTR_TENSOR) return EL_OK;
    }
    for (int a = 0; a < nia; a++) {
        int k = 0;
        while (strcmp(ia[a].name, known[k][0])) k++;
        el_attr at = ia[a];
        at.name = known[k][1];
        EL_TRY(el_set_attr(dn, dn, &at));
    }
    const el_attr nin = {.name = EL_RING_NIN_ATTR, .type = EL_ATTR_I, .v.i = in->ndata - 1};
    EL_TRY(el_set_attr(dn, dn, &nin));
    int ndata = dn->ndata + in->ndata - 1;
    el_oin *data = malloc(sizeof *data * (size_t)ndata);
    if (!data) return el_opt_oom();
    data[0] = in->in[0];
    memcpy(data + 1, dn->in + 1, sizeof *data * (size_t)(dn->ndata - 1));
    memcpy(data + dn->ndata, in->in + 1, sizeof *data * (size_t)(in->ndata - 1));
    EL_TRY(el_opt_rewire(o, d, i, data, ndata));
    o->st.ring_fused++;
    return EL_OK;
}

static el_status el_opt_stream(el_opt *o)
{
    el_opt_count_readers(o);
    for (int n = 0; n < o->nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_pw_dw(o, n));
    el_opt_count_readers(o);
    for (int n = 0; n < o->nn; n++)
        if (o->n[n].needed) EL_TRY(el_opt_ring(o, n));
    return EL_OK;
}


/* Final prune: what the fetches reach in the rewritten graph. */
static el_status el_opt_reach(el_opt *o, bool **reach)
{
    bool *r = calloc((size_t)o->nn + 1, 1);
    int *stack = malloc(sizeof(int) * (size_t)(o->nn + 1));
    if (!r || !stack) {
        free(r);
        free(stack);
        return el_opt_oom();
    }
    int sp = 0;
    for (int n = 0; n < o->nn; n++)
        if (o->n[n].needed && o->n[n].fetched) {
            r[n] = true;
            stack[sp++] = n;
        }
    while (sp > 0) {
        int n = stack[--sp];
        for (int k = 0; k < o->n[n].nin; k++) {
            int s = o->n[n].in[k].node;
            if (!r[s]) {
                r[s] = true;
                stack[sp++] = s;
            }
        }
    }
    free(stack);
    *reach = r;
    return EL_OK;
}

static el_status el_opt_emit(el_opt *o, const bool *reach, el_graph **out)
{
    const el_graph *g = o->g;
    el_graph *ng = NULL;
    EL_TRY(el_graph_new(g->source, &ng));
    int count = 0;
    for (int n = 0; n < o->nn; n++) count += reach[n];
    el_status s = el_graph_alloc(ng, sizeof(el_node) * (size_t)(count + 1), &ng->nodes);
    int k = 0;
    for (int n = 0; n < o->nn && s == EL_OK; n++) {
        if (!reach[n]) continue;
        const el_onode *on = &o->n[n];
        el_node *nd = &ng->nodes[k++];
        ng->nnodes = k;
        s = el_graph_strdup(ng, on->name, strlen(on->name), &nd->name);
        if (s == EL_OK) s = el_graph_strdup(ng, on->op, strlen(on->op), &nd->op);
        if (s == EL_OK && on->orig && on->orig->device)
            s = el_graph_strdup(ng, on->orig->device, strlen(on->orig->device), &nd->device);
        if (s != EL_OK) break;
        nd->ninputs = on->nin;
        if (on->nin) s = el_graph_alloc(ng, sizeof(char *) * (size_t)on->nin, &nd->input_names);
        for (int j = 0; j < on->nin && s == EL_OK; j++) {
            const el_oin *in = &on->in[j];
            const char *src = o->n[in->node].name;
            /* "^name", "name" or "name:slot", without snprintf (it was an
             * eighth of the session's set-up instructions on big graphs). */
            char buf[16];
            size_t nb = 0;
            if (in->slot > 0) {
                char rev[12];
                size_t nr = 0;
                for (unsigned v = (unsigned)in->slot; v > 0 && nr < sizeof rev; v /= 10) rev[nr++] = (char)('0' + v % 10);
                buf[nb++] = ':';
                while (nr > 0) buf[nb++] = rev[--nr];
            }
            size_t sl = strlen(src), pre = in->slot < 0 ? 1 : 0;
            char *nm = NULL;
            s = el_graph_alloc(ng, pre + sl + nb + 1, &nm);
            if (s != EL_OK) break;
            if (pre) nm[0] = '^';
            memcpy(nm + pre, src, sl);
            memcpy(nm + pre + sl, buf, nb);
            nm[pre + sl + nb] = '\0';
            nd->input_names[j] = nm;
        }
        if (s != EL_OK) break;
        int na;
        const el_attr *src = el_onode_attrs(on, &na);
        if (na) s = el_graph_alloc(ng, sizeof(el_attr) * (size_t)na, &nd->attrs);
        if (s != EL_OK) break;
        for (int j = 0; j < na; j++) {
            el_attr *a = &nd->attrs[j];
            *a = src[j];
            /* The new graph releases its tensors when freed: take references. */
            if (a->type == EL_ATTR_TENSOR) el_tensor_retain(&a->v.tensor);
            if (a->type == EL_ATTR_LIST && a->v.list.elem == EL_ATTR_TENSOR && a->v.list.n > 0) {
                el_tensor *ts = NULL;
                s = el_graph_alloc(ng, sizeof(el_tensor) * (size_t)a->v.list.n, &ts);
                if (s != EL_OK) {
                    a->type = EL_ATTR_NONE;
                    break;
                }
                for (int t = 0; t < a->v.list.n; t++) {
                    ts[t] = src[j].v.list.v.tensor[t];
                    el_tensor_retain(&ts[t]);
                }
                a->v.list.v.tensor = ts;
            }
            nd->nattrs = j + 1;
        }
        if (on->attrs && s == EL_OK) {
            /* Our own lists (fused_ops) live in malloc'd memory: copy them in. */
            for (int j = 0; j < na && s == EL_OK; j++) {
                el_attr *a = &nd->attrs[j];
                if (a->type != EL_ATTR_LIST || a->v.list.elem != EL_ATTR_S || a->v.list.n == 0) continue;
                el_string *ss = NULL;
                s = el_graph_alloc(ng, sizeof(el_string) * (size_t)a->v.list.n, &ss);
                if (s == EL_OK) {
                    memcpy(ss, a->v.list.v.s, sizeof(el_string) * (size_t)a->v.list.n);
                    a->v.list.v.s = ss;
                }
            }
        }
    }
    if (s == EL_OK) s = el_graph_index(ng);
    if (s != EL_OK) {
        el_graph_free(ng);
        return s;
    }
    o->st.nodes_after = ng->nnodes;
    *out = ng;
    return EL_OK;
}

/* fused_ops arrays we allocated (el_set_fused) are owned by the attrs. */
static void el_opt_free(el_opt *o)
{
    for (int n = 0; n < o->nn; n++) {
        el_onode *on = &o->n[n];
        for (int j = 0; j < on->nattrs; j++)
            if (on->attrs && on->attrs[j].type == EL_ATTR_LIST && on->attrs[j].v.list.elem == EL_ATTR_S &&
                !strcmp(on->attrs[j].name, "fused_ops"))
                free(on->attrs[j].v.list.v.s);
        el_onode_clear(on);
    }
    free(o->n);
}

el_status el_graph_optimize(const el_graph *g, int nfeeds, const char *const *feeds, int nfetches,
                            const char *const *fetches, el_optimize_stats *stats, el_graph **out)
{
    *out = NULL;
    if (stats) memset(stats, 0, sizeof *stats);
    if (!g || nfetches <= 0 || nfeeds < 0 || (nfeeds > 0 && !feeds) || !fetches) return EL_OK;
    el_opt o = {.g = g};
    bool ok;
    el_status s = el_opt_load(&o, nfeeds, feeds, nfetches, fetches, &ok);
    if (s == EL_OK && ok) s = el_opt_fold(&o);
    if (s == EL_OK && ok) el_opt_identities(&o);
    if (s == EL_OK && ok) s = el_opt_fuse(&o);
    if (s == EL_OK && ok) s = el_opt_pack(&o);
    if (s == EL_OK && ok) s = el_opt_stream(&o);
    /* Changed: any pass's counter is non-zero (every field but the node
     * counts; a struct of ints, no padding), so a new pass need not be
     * listed here. */
    el_optimize_stats none = {.nodes_before = o.st.nodes_before, .nodes_after = o.st.nodes_after};
    bool changed = memcmp(&o.st, &none, sizeof none) != 0;
    if (s == EL_OK && ok && changed) {
        bool *reach = NULL;
        s = el_opt_reach(&o, &reach);
        if (s == EL_OK) {
            s = el_opt_emit(&o, reach, out);
            free(reach);
        }
    }
    if (stats && s == EL_OK) *stats = o.st;
    el_opt_free(&o);
    return s;
}
