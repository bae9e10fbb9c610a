/* The OD API's SortByField sorts every detection of an image (TopKV2 with
 * k = all 9000 on the full-size COCO graph), gathers boxes, scores and
 * classes in that order, then keeps the first max_total_size (100) of them:
 *   TopKV2(scores, k) -> g = Gather(x, TopKV2:1) -> Gather(g, Range(0, Minimum(100, dim), 1))
 * (and Shape(g) for the dim). When every reader of a TopK's outputs only
 * looks at rows below P -- directly, or through a Gather of its indices
 * whose readers do -- the TopK gets EL_TOPK_PREFIX_ATTR = P (ops/topk.h)
 * and orders only those: the graph's outputs are the same bits.
 *
 * A reader looks at rows below P when it is Shape, Size or Rank (the
 * dims alone) or Gather / GatherV2 (axis 0, batch_dims 0) of it as params
 * with indices Range(start >= 0, limit, delta > 0), limit a constant <= P
 * or Minimum of such a constant and anything (int32 or int64 scalars), or
 * constant indices (all >= 0, below P).
 * No node on the way may be fed or fetched. */
#include <string.h>

#include "graph/optimize_ir.h"
#include "ops/topk.h"

bool el_opt_int_scalar(const el_opt *o, int n, int k, int64_t *v)
{
    const el_tensor *t = el_opt_const_of(o, n, k, EL_DT_INT32, 0, 1);
    if (t) {
        *v = *(const int32_t *)t->data;
        return true;
    }
    t = el_opt_const_of(o, n, k, EL_DT_INT64, 0, 1);
    if (t) *v = *(const int64_t *)t->data;
    return t != NULL;
}

/* The node behind data input k of n when it is output 0 of a needed,
 * unfed node of op `op`, else -1. */
static int el_tp_input(const el_opt *o, int n, int k, const char *op)
{
    const el_oin *in = &o->n[n].in[k];
    const el_onode *s = &o->n[in->node];
    return in->slot == 0 && s->needed && !s->fed && !strcmp(s->op, op) ? in->node : -1;
}

int64_t el_opt_index_bound(const el_opt *o, int n, int k)
{
    const el_tensor *ct = el_opt_const_of(o, n, k, EL_DT_INT32, -1, -1);
    if (!ct) ct = el_opt_const_of(o, n, k, EL_DT_INT64, -1, -1);
    if (ct) {
        int64_t top = 0;
        for (int64_t i = 0; i < el_tensor_numel(ct); i++) {
            const int64_t v = ct->dtype == EL_DT_INT32 ? ((const int32_t *)ct->data)[i] : ((const int64_t *)ct->data)[i];
            if (v < 0) return -1;
            if (v + 1 > top) top = v + 1;
        }
        return top;
    }
    const int r = el_tp_input(o, n, k, "Range");
    int64_t start, delta, limit, c;
    if (r < 0 || o->n[r].ndata != 3 || !el_opt_int_scalar(o, r, 0, &start) || !el_opt_int_scalar(o, r, 2, &delta) ||
        start < 0 || delta <= 0)
        return -1;
    if (el_opt_int_scalar(o, r, 1, &limit)) return limit;
    const int m = el_tp_input(o, r, 1, "Minimum");
    if (m < 0 || o->n[m].ndata != 2) return -1;
    if (el_opt_int_scalar(o, m, 0, &c) || el_opt_int_scalar(o, m, 1, &c)) return c;
    return -1;
}

bool el_opt_is_gather0(const el_opt *o, int g)
{
    const el_onode *n = &o->n[g];
    if (!strcmp(n->op, "Gather")) return n->ndata == 2;
    if (strcmp(n->op, "GatherV2") || n->ndata != 3) return false;
    const el_attr *bd = el_onode_attr(n, "batch_dims");
    int64_t axis;
    return (!bd || (bd->type == EL_ATTR_I && bd->v.i == 0)) && el_opt_int_scalar(o, g, 2, &axis) && axis == 0;
}

/* Whether reader r, through its data input k, looks at rows below *bound
 * only (raising *bound to what it needs). */
static bool el_tp_prefix_use(const el_opt *o, int r, int k, void *vbound)
{
    int64_t *bound = vbound;
    const char *op = o->n[r].op;
    if (!strcmp(op, "Shape") || !strcmp(op, "Size") || !strcmp(op, "Rank")) return true;
    if (k != 0 || !el_opt_is_gather0(o, r)) return false;
    const int64_t b = el_opt_index_bound(o, r, 1);
    if (b < 0) return false;
    if (b > *bound) *bound = b;
    return true;
}

/* Calls use(o, r, k, ctx) for every data input k of a needed node r that
 * reads output `slot` of node n (-1: any output); false as soon as one
 * returns false. */
static bool el_tp_readers(const el_opt *o, int n, int slot, bool (*use)(const el_opt *, int, int, void *),
                          void *ctx)
{
    for (int r = 0; r < o->nn; r++) {
        if (!o->n[r].needed) continue;
        for (int k = 0; k < o->n[r].ndata; k++)
            if (o->n[r].in[k].node == n && (slot < 0 || o->n[r].in[k].slot == slot) && !use(o, r, k, ctx))
                return false;
    }
    return true;
}

/* A reader of the indices: a prefix use, or a Gather by them whose own
 * readers are. */
static bool el_tp_index_use(const el_opt *o, int r, int k, void *bound)
{
    if (k == 1 && el_opt_is_gather0(o, r) && o->n[r].in[0].node != o->n[r].in[1].node)
        return !o->n[r].fed && !o->n[r].fetched && el_tp_readers(o, r, -1, el_tp_prefix_use, bound);
    return el_tp_prefix_use(o, r, k, bound);
}

el_status el_opt_topk_prefix(el_opt *o)
{
    for (int t = 0; t < o->nn; t++) {
        el_onode *tn = &o->n[t];
        if (!tn->needed || tn->fed || tn->fetched || (strcmp(tn->op, "TopKV2") && strcmp(tn->op, "TopK")) ||
            el_onode_attr(tn, EL_TOPK_PREFIX_ATTR))
            continue;
        int64_t bound = 0;
        if (!el_tp_readers(o, t, 0, el_tp_prefix_use, &bound) || !el_tp_readers(o, t, 1, el_tp_index_use, &bound) ||
            bound < 1)
            continue;
        el_attr a = {.name = EL_TOPK_PREFIX_ATTR, .type = EL_ATTR_I, .v.i = bound};
        EL_TRY(el_set_attr(tn, tn, &a));
        o->st.topk_prefix++;
    }
    return EL_OK;
}
