/* The TF1 Object Detection API's MultiClassNonMaxSuppression, exported
 * unrolled: one chain of 39 kernel nodes (and their Consts) per class inside the batch map_fn
 * loop (90 of them for COCO, some 3,500 kernel runs per image), then one
 * ConcatV2 per field. This pass finds the whole block and makes it one
 * _ElMultiClassNms node (ops/multiclass_nms.h says what it computes).
 *
 * Chain c, as post_processing.multiclass_non_max_suppression and
 * box_list_ops write it (node names as in the exported graphs):
 *   col   = Reshape(Slice(scores, [0, c], Pack(rows, 1)), [-1])
 *   keep1 = Cast(Reshape(Where(Greater(col, score_thresh)), [-1]))  int64 -> int32
 *   fb    = Gather(boxes, keep1)            fs = Gather(col, keep1)
 *   w     = Unpack(window, num 4)           s  = Split(1, fb, 4)
 *   clip  = ConcatV2(Maximum(Minimum(s:0, w:2), w:0), Maximum(Minimum(s:1, w:3), w:1),
 *                    Maximum(Minimum(s:2, w:2), w:0), Maximum(Minimum(s:3, w:3), w:1), 1)
 *   a     = Split(1, clip, 4)
 *   keep2 = Cast(Reshape(Where(Greater(Squeeze(Mul(Sub(a:2, a:0), Sub(a:3, a:1)), [1]), min_area)), [-1]))
 *   yb    = Gather(clip, keep2)             ys = Gather(fs, keep2)
 *   nms   = NonMaxSuppressionV2/V3(yb, ys, Minimum(max_size, StridedSlice(Shape(yb), [0], [1], [1], shrink 1)),
 *                                  iou[, nms_score_thresh])
 *   out   = Gather(yb, nms), Gather(ys, nms), Add(ZerosLike(Gather(ys, nms)), float(c))
 * (Gather or GatherV2 with axis 0), and the three ConcatV2 (axis 0) take
 * the chains' outputs in class order 0, 1, 2, ...
 *
 * Every op type, wiring, dtype attr and constant is checked; the class
 * index of chain k (its Slice's begin and its Add's constant) must be k,
 * and the thresholds, window, scores, row count and boxes the same for
 * every chain. No node of a chain may be fed, fetched or read by anything
 * outside the block. Anything else leaves the graph as it is. The fused
 * node replaces the boxes' ConcatV2 (readers of the other two read its
 * outputs 1 and 2) and keeps the control inputs of every node it replaces
 * and of the constants they read (the loop's pivot, the Assert that gates
 * the Slices), so it runs in the same frame, after the same Assert. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "graph/optimize_ir.h"
#include "ops/multiclass_nms.h"

typedef struct el_nf {
    el_opt *o;
    int *parts; /* nodes the fused node replaces (may repeat) */
    int nparts, cap;
    bool oom;
    bool first; /* no chain matched yet: the shared values are not set */
    el_oin scores, rows, boxes, window;
    float thr, area, iou, nms_thr;
    int64_t max_out;
} el_nf;

#define EL_NF_NEED(c)                                                                                                 \
    do {                                                                                                               \
        if (!(c)) return false;                                                                                        \
    } while (0)

static bool el_nf_add(el_nf *m, int n)
{
    if (m->nparts == m->cap) {
        int cap = m->cap * 2 + 64;
        int *p = realloc(m->parts, sizeof *p * (size_t)cap);
        if (!p) {
            m->oom = true;
            return false;
        }
        m->parts = p;
        m->cap = cap;
    }
    m->parts[m->nparts++] = n;
    return true;
}

static bool el_nf_same(el_oin a, el_oin b) { return a.node == b.node && a.slot == b.slot; }

/* The node behind `in` when it is output `slot` of a needed, unfed,
 * unfetched node of op `op` (NULL: any) with `ndata` data inputs (-1: any). */
static int el_nf_node(const el_opt *o, el_oin in, int slot, const char *op, int ndata)
{
    if (in.slot != slot) return -1;
    const el_onode *n = &o->n[in.node];
    if (!n->needed || n->fed || n->fetched || (op && strcmp(n->op, op)) || (ndata >= 0 && n->ndata != ndata)) return -1;
    return in.node;
}

/* A type attr: absent (the op's only choice in old exports) or `want`. */
static bool el_nf_type(const el_onode *n, const char *name, el_dtype want)
{
    const el_attr *a = el_onode_attr(n, name);
    return !a || (a->type == EL_ATTR_TYPE && a->v.type == want);
}

/* An int attr equal to `want` (absent: `def`). */
static bool el_nf_int(const el_onode *n, const char *name, int64_t def, int64_t want)
{
    const el_attr *a = el_onode_attr(n, name);
    return a ? a->type == EL_ATTR_I && a->v.i == want : def == want;
}

static bool el_nf_f32(const el_opt *o, int n, int k, float *v)
{
    const el_tensor *t = el_opt_const_of(o, n, k, EL_DT_FLOAT, 0, 1);
    if (t) *v = *(const float *)t->data;
    return t != NULL;
}

/* Input k is an int32 constant of rank ndim holding exactly vals[0..cnt). */
static bool el_nf_i32_is(const el_opt *o, int n, int k, int ndim, int cnt, const int32_t *vals)
{
    const el_tensor *t = el_opt_const_of(o, n, k, EL_DT_INT32, ndim, cnt);
    return t && !memcmp(t->data, vals, sizeof *vals * (size_t)cnt);
}

/* Node g is Gather(params, indices) or GatherV2(params, indices, 0) of
 * float params by int32 indices. */
static bool el_nf_gather(el_nf *m, int g, el_oin *params, el_oin *idx)
{
    const el_opt *o = m->o;
    const el_onode *n = &o->n[g];
    static const int32_t zero = 0;
    if (!strcmp(n->op, "GatherV2")) {
        EL_NF_NEED(n->ndata == 3 && el_nf_int(n, "batch_dims", 0, 0) && el_nf_i32_is(o, g, 2, 0, 1, &zero));
        EL_NF_NEED(el_nf_type(n, "Taxis", EL_DT_INT32));
    } else {
        EL_NF_NEED(!strcmp(n->op, "Gather") && n->ndata == 2);
    }
    EL_NF_NEED(el_nf_type(n, "Tparams", EL_DT_FLOAT) && el_nf_type(n, "Tindices", EL_DT_INT32));
    *params = n->in[0];
    *idx = n->in[1];
    return params->slot >= 0 && idx->slot >= 0 && el_nf_add(m, g);
}

/* `in` is Cast(Reshape(Where(Greater(x, c)), [-1])) from int64 to int32,
 * c a float scalar constant: x and c. */
static bool el_nf_filter(el_nf *m, el_oin in, el_oin *x, float *c)
{
    const el_opt *o = m->o;
    static const int32_t minus1 = -1;
    const int ca = el_nf_node(o, in, 0, "Cast", 1);
    EL_NF_NEED(ca >= 0 && el_nf_type(&o->n[ca], "SrcT", EL_DT_INT64) && el_nf_type(&o->n[ca], "DstT", EL_DT_INT32));
    const el_attr *tr = el_onode_attr(&o->n[ca], "Truncate");
    EL_NF_NEED(!tr || (tr->type == EL_ATTR_B && !tr->v.b));
    const int re = el_nf_node(o, o->n[ca].in[0], 0, "Reshape", 2);
    EL_NF_NEED(re >= 0 && el_nf_type(&o->n[re], "T", EL_DT_INT64) && el_nf_type(&o->n[re], "Tshape", EL_DT_INT32));
    EL_NF_NEED(el_nf_i32_is(o, re, 1, 1, 1, &minus1));
    const int wh = el_nf_node(o, o->n[re].in[0], 0, "Where", 1);
    EL_NF_NEED(wh >= 0 && el_nf_type(&o->n[wh], "T", EL_DT_BOOL));
    const int gt = el_nf_node(o, o->n[wh].in[0], 0, "Greater", 2);
    EL_NF_NEED(gt >= 0 && el_nf_type(&o->n[gt], "T", EL_DT_FLOAT) && el_nf_f32(o, gt, 1, c));
    *x = o->n[gt].in[0];
    return x->slot >= 0 && el_nf_add(m, ca) && el_nf_add(m, re) && el_nf_add(m, wh) && el_nf_add(m, gt);
}

/* A float elementwise node `op` (two data inputs): its index, or -1. */
static int el_nf_binary(const el_opt *o, el_oin in, const char *op)
{
    const int n = el_nf_node(o, in, 0, op, 2);
    return n >= 0 && el_nf_type(&o->n[n], "T", EL_DT_FLOAT) ? n : -1;
}

/* `in` is Split(1, x) into 4 float parts (Split's input 0 is the axis). */
static int el_nf_split4(el_nf *m, el_oin in, int slot)
{
    const el_opt *o = m->o;
    static const int32_t one = 1;
    const int s = el_nf_node(o, in, slot, "Split", 2);
    if (s < 0 || !el_nf_int(&o->n[s], "num_split", -1, 4) || !el_nf_type(&o->n[s], "T", EL_DT_FLOAT) ||
        !el_nf_i32_is(o, s, 0, 0, 1, &one) || o->n[s].in[1].slot < 0)
        return -1;
    return s;
}

/* The clipped boxes of one chain: clip = ConcatV2 of the four
 * Maximum(Minimum(Split(fb):j, w:hi), w:lo); returns the window tensor and
 * the Split's input fb. */
static bool el_nf_clip(el_nf *m, el_oin clip, el_oin *window, el_oin *fb)
{
    const el_opt *o = m->o;
    static const int32_t one = 1;
    const int cc = el_nf_node(o, clip, 0, "ConcatV2", 5);
    EL_NF_NEED(cc >= 0 && el_nf_int(&o->n[cc], "N", -1, 4) && el_nf_type(&o->n[cc], "T", EL_DT_FLOAT));
    EL_NF_NEED(el_nf_type(&o->n[cc], "Tidx", EL_DT_INT32) && el_nf_i32_is(o, cc, 4, 0, 1, &one) && el_nf_add(m, cc));
    int split = -1, unpack = -1;
    for (int j = 0; j < 4; j++) {
        const int mx = el_nf_binary(o, o->n[cc].in[j], "Maximum");
        EL_NF_NEED(mx >= 0);
        const int mn = el_nf_binary(o, o->n[mx].in[0], "Minimum");
        EL_NF_NEED(mn >= 0 && el_nf_add(m, mx) && el_nf_add(m, mn));
        const el_oin *mi = o->n[mn].in, *xi = o->n[mx].in;
        if (j == 0) {
            split = el_nf_split4(m, mi[0], 0);
            unpack = el_nf_node(o, (el_oin){mi[1].node, 0}, 0, "Unpack", 1);
            EL_NF_NEED(split >= 0 && unpack >= 0 && el_nf_int(&o->n[unpack], "num", -1, 4));
            EL_NF_NEED(el_nf_int(&o->n[unpack], "axis", 0, 0) && el_nf_type(&o->n[unpack], "T", EL_DT_FLOAT));
        }
        EL_NF_NEED(el_nf_same(mi[0], (el_oin){split, j}) && el_nf_same(mi[1], (el_oin){unpack, 2 + (j & 1)}));
        EL_NF_NEED(el_nf_same(xi[1], (el_oin){unpack, j & 1}));
    }
    *window = o->n[unpack].in[0];
    *fb = o->n[split].in[1];
    return window->slot >= 0 && el_nf_add(m, split) && el_nf_add(m, unpack);
}

/* The area filter: keep = filter(Squeeze(Mul(Sub(a:2, a:0), Sub(a:3, a:1)), [1]))
 * with a = Split(1, clip, 4): clip's tensor and the threshold. */
static bool el_nf_area(el_nf *m, el_oin keep, el_oin *clip, float *min_area)
{
    const el_opt *o = m->o;
    el_oin x;
    EL_NF_NEED(el_nf_filter(m, keep, &x, min_area));
    const int sq = el_nf_node(o, x, 0, "Squeeze", 1);
    EL_NF_NEED(sq >= 0 && el_nf_type(&o->n[sq], "T", EL_DT_FLOAT));
    const el_attr *dims = el_onode_attr(&o->n[sq], "squeeze_dims");
    EL_NF_NEED(dims && dims->type == EL_ATTR_LIST && dims->v.list.elem == EL_ATTR_I && dims->v.list.n == 1 &&
               dims->v.list.v.i[0] == 1);
    const int mul = el_nf_binary(o, o->n[sq].in[0], "Mul");
    EL_NF_NEED(mul >= 0);
    const int sub = el_nf_binary(o, o->n[mul].in[0], "Sub"), sub1 = el_nf_binary(o, o->n[mul].in[1], "Sub");
    EL_NF_NEED(sub >= 0 && sub1 >= 0);
    const int a = el_nf_split4(m, o->n[sub].in[1], 0);
    EL_NF_NEED(a >= 0 && el_nf_same(o->n[sub].in[0], (el_oin){a, 2}));
    EL_NF_NEED(el_nf_same(o->n[sub1].in[0], (el_oin){a, 3}) && el_nf_same(o->n[sub1].in[1], (el_oin){a, 1}));
    *clip = o->n[a].in[1];
    return el_nf_add(m, sq) && el_nf_add(m, mul) && el_nf_add(m, sub) && el_nf_add(m, sub1) && el_nf_add(m, a);
}

/* max_output_size = Minimum(max_size, StridedSlice(Shape(boxes), [0], [1], [1]) shrunk): boxes and max_size. */
static bool el_nf_max_out(el_nf *m, el_oin in, el_oin *boxes, int64_t *max_size)
{
    const el_opt *o = m->o;
    static const int32_t zero = 0, one = 1;
    const int mn = el_nf_node(o, in, 0, "Minimum", 2);
    EL_NF_NEED(mn >= 0 && el_nf_type(&o->n[mn], "T", EL_DT_INT32));
    const el_tensor *ms = el_opt_const_of(o, mn, 0, EL_DT_INT32, 0, 1);
    EL_NF_NEED(ms);
    *max_size = *(const int32_t *)ms->data;
    const int ss = el_nf_node(o, o->n[mn].in[1], 0, "StridedSlice", 4);
    EL_NF_NEED(ss >= 0);
    const el_onode *s = &o->n[ss];
    EL_NF_NEED(el_nf_type(s, "T", EL_DT_INT32) && el_nf_type(s, "Index", EL_DT_INT32) && el_nf_int(s, "shrink_axis_mask", 0, 1));
    EL_NF_NEED(el_nf_int(s, "begin_mask", 0, 0) && el_nf_int(s, "end_mask", 0, 0) && el_nf_int(s, "ellipsis_mask", 0, 0) &&
               el_nf_int(s, "new_axis_mask", 0, 0));
    EL_NF_NEED(el_nf_i32_is(o, ss, 1, 1, 1, &zero) && el_nf_i32_is(o, ss, 2, 1, 1, &one) && el_nf_i32_is(o, ss, 3, 1, 1, &one));
    const int sh = el_nf_node(o, s->in[0], 0, "Shape", 1);
    EL_NF_NEED(sh >= 0 && el_nf_type(&o->n[sh], "T", EL_DT_FLOAT) && el_nf_type(&o->n[sh], "out_type", EL_DT_INT32));
    *boxes = o->n[sh].in[0];
    return el_nf_add(m, mn) && el_nf_add(m, ss) && el_nf_add(m, sh);
}

/* The class column: Reshape(Slice(scores, [0, k], Pack(rows, 1)), [-1]). */
static bool el_nf_column(el_nf *m, el_oin col, int k, el_oin *scores, el_oin *rows)
{
    const el_opt *o = m->o;
    static const int32_t minus1 = -1, one = 1;
    const int32_t begin[2] = {0, k};
    const int re = el_nf_node(o, col, 0, "Reshape", 2);
    EL_NF_NEED(re >= 0 && el_nf_type(&o->n[re], "T", EL_DT_FLOAT) && el_nf_type(&o->n[re], "Tshape", EL_DT_INT32));
    EL_NF_NEED(el_nf_i32_is(o, re, 1, 1, 1, &minus1));
    const int sl = el_nf_node(o, o->n[re].in[0], 0, "Slice", 3);
    EL_NF_NEED(sl >= 0 && el_nf_type(&o->n[sl], "T", EL_DT_FLOAT) && el_nf_type(&o->n[sl], "Index", EL_DT_INT32));
    EL_NF_NEED(el_nf_i32_is(o, sl, 1, 1, 2, begin));
    const int pk = el_nf_node(o, o->n[sl].in[2], 0, "Pack", 2);
    EL_NF_NEED(pk >= 0 && el_nf_type(&o->n[pk], "T", EL_DT_INT32) && el_nf_int(&o->n[pk], "N", -1, 2));
    EL_NF_NEED(el_nf_int(&o->n[pk], "axis", 0, 0) && el_nf_i32_is(o, pk, 1, 0, 1, &one));
    *scores = o->n[sl].in[0];
    *rows = o->n[pk].in[0];
    return scores->slot >= 0 && rows->slot >= 0 && el_nf_add(m, re) && el_nf_add(m, sl) && el_nf_add(m, pk);
}

/* Chain k from its three outputs: the boxes' and scores' Gathers by the
 * NMS indices and the class Add. */
static bool el_nf_chain(el_nf *m, int k, int gb, int gs, int ad)
{
    const el_opt *o = m->o;
    el_oin yb, ix, ys, ix2;
    EL_NF_NEED(el_nf_gather(m, gb, &yb, &ix) && el_nf_gather(m, gs, &ys, &ix2) && el_nf_same(ix, ix2));
    const int nms = el_nf_node(o, ix, 0, NULL, -1);
    EL_NF_NEED(nms >= 0);
    const el_onode *nn = &o->n[nms];
    const bool v3 = !strcmp(nn->op, "NonMaxSuppressionV3");
    EL_NF_NEED((v3 && nn->ndata == 5) || (!strcmp(nn->op, "NonMaxSuppressionV2") && nn->ndata == 4));
    EL_NF_NEED(el_nf_type(nn, "T", EL_DT_FLOAT) && el_nf_type(nn, "T_threshold", EL_DT_FLOAT));
    EL_NF_NEED(el_nf_same(nn->in[0], yb) && el_nf_same(nn->in[1], ys) && el_nf_add(m, nms));
    float iou, nms_thr = -FLT_MAX; /* V2: every score (the NMS kernel's lowest float) */
    EL_NF_NEED(el_nf_f32(o, nms, 3, &iou) && (!v3 || el_nf_f32(o, nms, 4, &nms_thr)));
    el_oin shaped;
    int64_t max_size;
    EL_NF_NEED(el_nf_max_out(m, nn->in[2], &shaped, &max_size) && el_nf_same(shaped, yb));

    /* The class id: Add(ZerosLike(scores), float(k)). */
    const el_onode *an = &o->n[ad];
    EL_NF_NEED((!strcmp(an->op, "Add") || !strcmp(an->op, "AddV2")) && an->ndata == 2 && el_nf_type(an, "T", EL_DT_FLOAT));
    const int zl = el_nf_node(o, an->in[0], 0, "ZerosLike", 1);
    float cls;
    EL_NF_NEED(zl >= 0 && el_nf_type(&o->n[zl], "T", EL_DT_FLOAT) && el_nf_same(o->n[zl].in[0], (el_oin){gs, 0}));
    EL_NF_NEED(el_nf_f32(o, ad, 1, &cls) && cls == (float)k && el_nf_add(m, ad) && el_nf_add(m, zl));

    /* The area filter's gathers, the clip, the score filter's gathers. */
    const int ybn = el_nf_node(o, yb, 0, NULL, -1), ysn = el_nf_node(o, ys, 0, NULL, -1);
    EL_NF_NEED(ybn >= 0 && ysn >= 0);
    el_oin clip, keep2, fs, keep2s, window, fb, boxes, keep1, fcol, keep1s, col, scores, rows;
    float area, thr;
    EL_NF_NEED(el_nf_gather(m, ybn, &clip, &keep2) && el_nf_gather(m, ysn, &fs, &keep2s) && el_nf_same(keep2, keep2s));
    el_oin aclip;
    EL_NF_NEED(el_nf_area(m, keep2, &aclip, &area) && el_nf_same(aclip, clip));
    EL_NF_NEED(el_nf_clip(m, clip, &window, &fb));
    const int fbn = el_nf_node(o, fb, 0, NULL, -1), fsn = el_nf_node(o, fs, 0, NULL, -1);
    EL_NF_NEED(fbn >= 0 && fsn >= 0);
    EL_NF_NEED(el_nf_gather(m, fbn, &boxes, &keep1) && el_nf_gather(m, fsn, &fcol, &keep1s) && el_nf_same(keep1, keep1s));
    EL_NF_NEED(el_nf_filter(m, keep1, &col, &thr) && el_nf_same(col, fcol));
    EL_NF_NEED(el_nf_column(m, col, k, &scores, &rows));

    if (m->first) {
        m->first = false;
        m->scores = scores, m->rows = rows, m->boxes = boxes, m->window = window;
        m->thr = thr, m->area = area, m->iou = iou, m->nms_thr = nms_thr, m->max_out = max_size;
        /* What the NMS kernel would reject stays for it to reject. */
        return iou >= 0.0f && iou <= 1.0f && max_size >= 0;
    }
    /* Bitwise equal thresholds: a NaN constant never matches. */
    return el_nf_same(scores, m->scores) && el_nf_same(rows, m->rows) && el_nf_same(boxes, m->boxes) &&
           el_nf_same(window, m->window) && thr == m->thr && area == m->area && iou == m->iou &&
           nms_thr == m->nms_thr && max_size == m->max_out;
}

/* A ConcatV2 of n float tensors along constant axis 0. */
static bool el_nf_concat(const el_opt *o, int c, int n)
{
    static const int32_t zero = 0;
    const el_onode *cn = &o->n[c];
    return !strcmp(cn->op, "ConcatV2") && cn->needed && !cn->fed && !cn->fetched && cn->ndata == n + 1 &&
           el_nf_int(cn, "N", -1, n) && el_nf_type(cn, "T", EL_DT_FLOAT) && el_nf_type(cn, "Tidx", EL_DT_INT32) &&
           el_nf_i32_is(o, c, n, 0, 1, &zero);
}

/* The other two concats of a block whose boxes' concat is cb: the one
 * whose input 0 is a Gather by the same NMS (scores) and the one whose
 * input 0 is Add(ZerosLike(that Gather), ...) (classes); -1 when either is
 * missing or not unique. */
static void el_nf_find_concats(const el_opt *o, int cb, int n, int *cs, int *cc)
{
    *cs = *cc = -1;
    const int nms0 = o->n[o->n[cb].in[0].node].in[1].node;
    int found_s = 0, found_c = 0;
    for (int c = 0; c < o->nn; c++) {
        if (c == cb || !el_nf_concat(o, c, n)) continue;
        const el_onode *x = &o->n[o->n[c].in[0].node];
        if ((!strcmp(x->op, "Gather") || !strcmp(x->op, "GatherV2")) && x->ndata >= 2 && x->in[1].node == nms0) {
            *cs = c;
            found_s++;
        } else if ((!strcmp(x->op, "Add") || !strcmp(x->op, "AddV2")) && x->ndata == 2) {
            const el_onode *z = &o->n[x->in[0].node];
            if (!strcmp(z->op, "ZerosLike") && z->ndata == 1) {
                const el_onode *g = &o->n[z->in[0].node];
                if ((!strcmp(g->op, "Gather") || !strcmp(g->op, "GatherV2")) && g->ndata >= 2 && g->in[1].node == nms0) {
                    *cc = c;
                    found_c++;
                }
            }
        }
    }
    if (found_s != 1) *cs = -1;
    if (found_c != 1) *cc = -1;
}

/* Whether data input 0 of cb comes from a Gather by a NonMaxSuppression. */
static bool el_nf_candidate(const el_opt *o, int cb)
{
    const el_onode *c = &o->n[cb];
    if (strcmp(c->op, "ConcatV2") || !c->needed || c->ndata < 2 || c->in[0].slot != 0) return false;
    const el_onode *g = &o->n[c->in[0].node];
    if ((strcmp(g->op, "Gather") && strcmp(g->op, "GatherV2")) || g->ndata < 2) return false;
    const char *nms = o->n[g->in[1].node].op;
    return !strcmp(nms, "NonMaxSuppressionV2") || !strcmp(nms, "NonMaxSuppressionV3");
}

/* Appends control input c to in (*n of *cap) unless stamped already;
 * false when c is a part (the block would wait for itself) or on OOM. */
static bool el_nf_ctrl(el_nf *m, const uint8_t *part, int *stamp, el_oin c, el_oin **in, int *n, int *cap)
{
    if (part[c.node]) return false;
    if (stamp[c.node]) return true;
    stamp[c.node] = 1;
    if (*n == *cap) {
        el_oin *t = realloc(*in, sizeof *t * (size_t)(*cap * 2));
        if (!t) {
            m->oom = true;
            return false;
        }
        *in = t;
        *cap *= 2;
    }
    (*in)[(*n)++] = c;
    return true;
}

/* The fused node's inputs: the shared tensors, then every control input of
 * the parts and of the constants they read, once each. */
static bool el_nf_inputs(el_nf *m, const uint8_t *part, int *stamp, el_oin **out, int *nin)
{
    const el_opt *o = m->o;
    int cap = 32, n = 4;
    el_oin *in = malloc(sizeof *in * (size_t)cap);
    bool ok = in != NULL;
    if (!ok) m->oom = true;
    else in[0] = m->scores, in[1] = m->rows, in[2] = m->boxes, in[3] = m->window;
    for (int p = 0; ok && p < m->nparts; p++) {
        const el_onode *pn = &o->n[m->parts[p]];
        for (int k = 0; ok && k < pn->nin; k++) {
            const int s = pn->in[k].node;
            if (k >= pn->ndata) {
                ok = el_nf_ctrl(m, part, stamp, pn->in[k], &in, &n, &cap);
            } else if (!part[s] && !strcmp(o->n[s].op, "Const")) {
                for (int j = o->n[s].ndata; ok && j < o->n[s].nin; j++)
                    ok = el_nf_ctrl(m, part, stamp, o->n[s].in[j], &in, &n, &cap);
            }
        }
    }
    if (!ok) {
        free(in);
        return false;
    }
    *out = in;
    *nin = n;
    return true;
}

/* Replaces the block whose boxes' concat is cb when it matches. */
static el_status el_nf_try(el_opt *o, int cb, uint8_t *part, int *stamp)
{
    const int nk = o->n[cb].ndata - 1;
    if (!el_nf_concat(o, cb, nk)) return EL_OK;
    int cs, cc;
    el_nf_find_concats(o, cb, nk, &cs, &cc);
    if (cs < 0 || cc < 0) return EL_OK;
    el_nf m = {.o = o, .first = true};
    bool ok = el_nf_add(&m, cb) && el_nf_add(&m, cs) && el_nf_add(&m, cc);
    for (int k = 0; k < nk && ok; k++) {
        const el_oin ib = o->n[cb].in[k], is = o->n[cs].in[k], ic = o->n[cc].in[k];
        ok = ib.slot == 0 && is.slot == 0 && ic.slot == 0 && el_nf_chain(&m, k, ib.node, is.node, ic.node);
    }
    memset(part, 0, (size_t)o->nn);
    for (int p = 0; ok && p < m.nparts; p++) {
        const el_onode *pn = &o->n[m.parts[p]];
        part[m.parts[p]] = 1;
        ok = pn->needed && !pn->fed && !pn->fetched;
    }
    /* The shared inputs come from outside; nothing outside reads a part
     * but the three concats (their readers get the fused outputs). */
    ok = ok && !part[m.scores.node] && !part[m.rows.node] && !part[m.boxes.node] && !part[m.window.node];
    for (int r = 0; ok && r < o->nn; r++) {
        if (!o->n[r].needed || part[r]) continue;
        for (int k = 0; ok && k < o->n[r].nin; k++) {
            const int s = o->n[r].in[k].node;
            ok = !part[s] || s == cb || s == cs || s == cc;
        }
    }
    el_oin *in = NULL;
    int nin = 0;
    if (ok) {
        memset(stamp, 0, sizeof *stamp * (size_t)o->nn);
        ok = el_nf_inputs(&m, part, stamp, &in, &nin);
    }
    el_attr *attrs = ok ? calloc(8, sizeof *attrs) : NULL;
    if (ok && !attrs) m.oom = true;
    if (!ok || !attrs) {
        free(in);
        free(m.parts);
        return m.oom ? el_opt_oom() : EL_OK;
    }
    attrs[0] = (el_attr){.name = "T", .type = EL_ATTR_TYPE, .v.type = EL_DT_FLOAT};
    attrs[1] = (el_attr){.name = EL_MCNMS_CLASSES, .type = EL_ATTR_I, .v.i = nk};
    attrs[2] = (el_attr){.name = EL_MCNMS_SCORE, .type = EL_ATTR_F, .v.f = m.thr};
    attrs[3] = (el_attr){.name = EL_MCNMS_AREA, .type = EL_ATTR_F, .v.f = m.area};
    attrs[4] = (el_attr){.name = EL_MCNMS_IOU, .type = EL_ATTR_F, .v.f = m.iou};
    attrs[5] = (el_attr){.name = EL_MCNMS_NMS_SCORE, .type = EL_ATTR_F, .v.f = m.nms_thr};
    attrs[6] = (el_attr){.name = EL_MCNMS_MAX, .type = EL_ATTR_I, .v.i = m.max_out};
    /* Readers of the scores' and classes' concats read outputs 1 and 2. */
    for (int r = 0; r < o->nn; r++) {
        if (!o->n[r].needed || part[r]) continue;
        for (int k = 0; k < o->n[r].nin; k++) {
            el_oin *x = &o->n[r].in[k];
            if (x->node != cs && x->node != cc) continue;
            if (x->slot >= 0) x->slot = x->node == cs ? 1 : 2;
            x->node = cb;
        }
    }
    el_onode *fn = &o->n[cb];
    el_attrs_free(fn->attrs, fn->nattrs);
    fn->attrs = attrs;
    fn->nattrs = 7;
    fn->orig = NULL;
    fn->op = EL_MCNMS_OP;
    free(fn->in);
    fn->in = in;
    fn->nin = nin;
    fn->ndata = 4;
    for (int p = 0; p < m.nparts; p++)
        if (m.parts[p] != cb) o->n[m.parts[p]].needed = false;
    free(m.parts);
    o->st.nms_fused++;
    return EL_OK;
}

el_status el_opt_fuse_nms(el_opt *o)
{
    uint8_t *part = NULL;
    int *stamp = NULL;
    el_status s = EL_OK;
    for (int c = 0; c < o->nn && s == EL_OK; c++) {
        if (!el_nf_candidate(o, c)) continue;
        if (!part) {
            part = malloc((size_t)o->nn + 1);
            stamp = malloc(sizeof *stamp * ((size_t)o->nn + 1));
            if (!part || !stamp) {
                s = el_opt_oom();
                break;
            }
        }
        s = el_nf_try(o, c, part, stamp);
    }
    free(part);
    free(stamp);
    return s;
}
