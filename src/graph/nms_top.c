/* The OD API sorts every detection the per-class NMS selected (9000 rows
 * on the full-size COCO graph: 90 classes of up to 100) and keeps the
 * first max_total_size (100):
 *   m = _ElMultiClassNms(...)                      boxes m:0, scores m:1, classes m:2
 *   t = TopKV2(m:1, StridedSlice(Shape(m:0), [0], [1], [1]))
 *   g = Gather(m:i, t:1)  ->  Gather(g, Range(0, Minimum(100, StridedSlice(Shape(g), ...)), 1))
 *   Assert(Equal(Size(m:1), StridedSlice(Shape(m:0), ...)))
 * Only the 100 best rows (score, then position) and min(100, count) reach
 * the graph's outputs, so the NMS may leave out rows ranked below them and
 * end each class's loop early (ops/multiclass_nms.h, EL_MCNMS_TOP): after
 * graph/topk_prefix.c gave t its prefix P, this pass proves the rest and
 * sets m's top.
 *
 * Every reader of the row tensors (m's outputs, t's outputs, and each
 * Gather of one of m's outputs by t:1) must be:
 * - t, reading m:1 as its input;
 * - a Gather of one of m's outputs by t:1 (a row tensor itself);
 * - a Gather of a row tensor by indices below a bound b (graph/topk_prefix.c:
 *   a Range to a constant or to Minimum(constant, ...), or constants): rows
 *   below b;
 * - Rank; Shape, read only by StridedSlice(., [0], [1], [1]) shrunk to the
 *   row count; Size of a 1-D row tensor (the row count).
 * Every reader of a row count must be t (as its k), Minimum with a
 * constant c, Equal of two row counts (true either way), or an Assert of
 * such an Equal (which never fires, so the counts it carries for its
 * message never show). t's k must be
 * a row count. The top is the greatest of P, each b and each c: with at
 * least that many rows kept (or all of them), min(c, count), every Gather
 * below b and t's first P rows are what they were. No node on the way may
 * be fed or fetched; anything else leaves the NMS as it is. */
#include <stdlib.h>
#include <string.h>

#include "graph/optimize_ir.h"
#include "ops/multiclass_nms.h"
#include "ops/topk.h"

#define EL_NT_MAX 64 /* row tensors and row counts followed: the OD API has 8 and 5 */

typedef struct el_nt {
    const el_opt *o;
    int m, t;
    el_oin rows[EL_NT_MAX]; /* row tensors */
    bool flat[EL_NT_MAX];   /* ... that are 1-D */
    int nrows;
    int counts[EL_NT_MAX]; /* nodes whose output 0 is the row count */
    int ncounts;
    int64_t top;
} el_nt;

static bool el_nt_free(const el_onode *n) { return n->needed && !n->fed && !n->fetched; }

static bool el_nt_is_row(const el_nt *s, el_oin in)
{
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].node == in.node && s->rows[i].slot == in.slot) return true;
    return false;
}

static bool el_nt_is_count(const el_nt *s, el_oin in)
{
    if (in.slot != 0) return false;
    for (int i = 0; i < s->ncounts; i++)
        if (s->counts[i] == in.node) return true;
    return false;
}

static bool el_nt_add_row(el_nt *s, int node, int slot, bool flat)
{
    if (s->nrows == EL_NT_MAX) return false;
    s->rows[s->nrows] = (el_oin){node, slot};
    s->flat[s->nrows++] = flat;
    return true;
}

static bool el_nt_add_count(el_nt *s, int node)
{
    if (s->ncounts == EL_NT_MAX) return false;
    s->counts[s->ncounts++] = node;
    return true;
}

/* StridedSlice(shape, [0], [1], [1]) with shrink_axis_mask 1 and no other
 * mask: the first dim. */
static bool el_nt_dim0(const el_opt *o, int ss)
{
    const el_onode *n = &o->n[ss];
    if (strcmp(n->op, "StridedSlice") || n->ndata != 4 || !el_nt_free(n)) return false;
    static const char *const masks[4] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask"};
    for (int i = 0; i < 4; i++) {
        const el_attr *a = el_onode_attr(n, masks[i]);
        if (a && (a->type != EL_ATTR_I || a->v.i != 0)) return false;
    }
    const el_attr *sh = el_onode_attr(n, "shrink_axis_mask");
    if (!sh || sh->type != EL_ATTR_I || sh->v.i != 1) return false;
    static const int64_t want[3] = {0, 1, 1};
    for (int k = 1; k < 4; k++) {
        const el_tensor *t = el_opt_const_of(o, ss, k, EL_DT_INT32, 1, 1);
        if (!t || *(const int32_t *)t->data != want[k - 1]) return false;
    }
    return true;
}

/* Reader r of row tensor i through its data input k. */
static bool el_nt_row_use(el_nt *s, int i, int r, int k)
{
    const el_opt *o = s->o;
    const el_onode *n = &o->n[r];
    const el_oin x = s->rows[i];
    const bool from_m = x.node == s->m;
    if (r == s->t) return k == 0 && from_m && x.slot == 1;
    if (!strcmp(n->op, "Rank")) return true;
    if (!strcmp(n->op, "Size")) return el_nt_free(n) && s->flat[i] && el_nt_add_count(s, r);
    if (!strcmp(n->op, "Shape")) {
        if (!el_nt_free(n)) return false;
        for (int q = 0; q < o->nn; q++) {
            if (!o->n[q].needed) continue;
            for (int kk = 0; kk < o->n[q].ndata; kk++)
                if (o->n[q].in[kk].node == r && (kk != 0 || !el_nt_dim0(o, q) || !el_nt_add_count(s, q))) return false;
        }
        return true;
    }
    if (!el_opt_is_gather0(o, r) || !n->needed || n->fed) return false;
    const el_oin idx = n->in[1];
    /* By t:1, of m's outputs only: a row tensor (added by the caller). */
    if (k == 0 && from_m && idx.node == s->t && idx.slot == 1) return !n->fetched;
    if (k == 1 && x.node == s->t && x.slot == 1) return n->in[0].node == s->m && !n->fetched;
    if (k != 0) return false;
    /* Rows below b: the same whether the rows past the top are there or not. */
    const int64_t b = el_opt_index_bound(o, r, 1);
    if (b < 0) return false;
    if (b > s->top) s->top = b;
    return true;
}

/* Reader r of a row count through its data input k. */
static bool el_nt_count_use(el_nt *s, int r, int k)
{
    const el_opt *o = s->o;
    const el_onode *n = &o->n[r];
    if (r == s->t) return k == 1;
    if (!strcmp(n->op, "Equal")) return n->ndata == 2 && el_nt_is_count(s, n->in[0]) && el_nt_is_count(s, n->in[1]);
    /* SortByField's Assert(Equal(count, count), [message, count, count]): never fires, so its data never shows. */
    if (!strcmp(n->op, "Assert") && k > 0 && n->ndata >= 1 && n->in[0].slot == 0) {
        const el_onode *e = &o->n[n->in[0].node];
        return !strcmp(e->op, "Equal") && e->ndata == 2 && el_nt_is_count(s, e->in[0]) && el_nt_is_count(s, e->in[1]);
    }
    int64_t c;
    if (!strcmp(n->op, "Minimum") && n->ndata == 2 && el_opt_int_scalar(o, r, 1 - k, &c) && c >= 0) {
        if (c > s->top) s->top = c;
        return true;
    }
    return false;
}

/* The top for NMS node m, or 0 when the pattern does not hold. */
static int64_t el_nt_top(el_nt *s)
{
    const el_opt *o = s->o;
    s->t = -1;
    for (int r = 0; r < o->nn; r++) {
        const el_onode *n = &o->n[r];
        if (!n->needed || (strcmp(n->op, "TopKV2") && strcmp(n->op, "TopK"))) continue;
        if (n->ndata >= 1 && n->in[0].node == s->m && n->in[0].slot == 1) {
            if (s->t >= 0) return 0;
            s->t = r;
        }
    }
    if (s->t < 0 || !el_nt_free(&o->n[s->t]) || strcmp(o->n[s->t].op, "TopKV2") || o->n[s->t].ndata != 2) return 0;
    const el_attr *p = el_onode_attr(&o->n[s->t], EL_TOPK_PREFIX_ATTR);
    if (!p || p->type != EL_ATTR_I || p->v.i < 1) return 0;
    s->top = p->v.i;
    /* Row tensors: m's outputs, t's; the Gathers by t:1 join as found. */
    for (int i = 0; i < 3; i++) el_nt_add_row(s, s->m, i, i > 0);
    el_nt_add_row(s, s->t, 0, true);
    el_nt_add_row(s, s->t, 1, true);
    for (int i = 0; i < s->nrows; i++) {
        const el_oin x = s->rows[i];
        for (int r = 0; r < o->nn; r++) {
            if (!o->n[r].needed) continue;
            for (int k = 0; k < o->n[r].ndata; k++) {
                const el_oin in = o->n[r].in[k];
                if (in.node != x.node || in.slot != x.slot) continue;
                if (!el_nt_row_use(s, i, r, k)) return 0;
                /* A Gather of m's output by t:1 is a row tensor (1-D as its params). */
                const el_oin idx = o->n[r].in[1];
                if (k == 0 && x.node == s->m && r != s->t && idx.node == s->t && idx.slot == 1 &&
                    !el_nt_is_row(s, (el_oin){r, 0}) && !el_nt_add_row(s, r, 0, x.slot > 0))
                    return 0;
            }
        }
    }
    /* Row counts: t's k must be one; each is read as the header says. */
    if (!el_nt_is_count(s, o->n[s->t].in[1])) return 0;
    for (int i = 0; i < s->ncounts; i++) {
        for (int r = 0; r < o->nn; r++) {
            if (!o->n[r].needed) continue;
            for (int k = 0; k < o->n[r].ndata; k++)
                if (o->n[r].in[k].node == s->counts[i] && !el_nt_count_use(s, r, k)) return 0;
        }
    }
    return s->top;
}

el_status el_opt_nms_top(el_opt *o)
{
    for (int m = 0; m < o->nn; m++) {
        el_onode *mn = &o->n[m];
        if (!el_nt_free(mn) || strcmp(mn->op, EL_MCNMS_OP) || el_onode_attr(mn, EL_MCNMS_TOP)) continue;
        el_nt s = {.o = o, .m = m};
        const int64_t top = el_nt_top(&s);
        if (top < 1) continue;
        el_attr a = {.name = EL_MCNMS_TOP, .type = EL_ATTR_I, .v.i = top};
        EL_TRY(el_set_attr(mn, mn, &a));
        o->st.nms_top++;
    }
    return EL_OK;
}
