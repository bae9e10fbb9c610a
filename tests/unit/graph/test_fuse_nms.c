/* The OD API's unrolled per-class NMS (graph/fuse_nms.c) made one
 * _ElMultiClassNms (ops/multiclass_nms.c): built here as the exports
 * spell it (NonMaxSuppressionV2 with Gather, V3 with GatherV2), it is
 * fused, keeps the Assert gating its Slices, and gives the unfused nodes'
 * bits at 1 and 2 threads on ordinary, NaN, infinite, tied, clipped-away
 * and empty inputs, and the same failures on malformed ones; a mutated
 * block (a threshold of its own for one class, a missing step, an extra
 * reader, a wrong class index, classes out of order) stays unfused.
 * With the OD API's SortByField and first-P Gathers after it, the fused
 * node gets EL_MCNMS_TOP (graph/nms_top.c) and the P rows and min(P,
 * count) are the unfused graph's bits for several P (fewer and more than
 * the selections) and columns of 0 to 600 rows; a tail that shows the
 * count or all rows keeps it whole. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

enum {
    EL_MUT_NONE,
    EL_MUT_THRESH,     /* class 1 filters with its own threshold */
    EL_MUT_NO_AREA,    /* class 1 has no area filter */
    EL_MUT_FETCHED,    /* class 1's NMS is fetched too */
    EL_MUT_READER,     /* a node outside reads class 1's clipped boxes */
    EL_MUT_CTRL,       /* a node outside waits for class 1's Where */
    EL_MUT_CLASS,      /* class 1 adds class id 2 */
    EL_MUT_SLICE,      /* class 1 slices column 2 */
    EL_MUT_ORDER,      /* the concats take classes 1, 0, 2, ... */
    EL_MUT_KINDS
};

/* Tails that must leave the NMS whole (no EL_MCNMS_TOP). */
enum {
    EL_TM_NONE,
    EL_TM_FETCH_SIZE, /* SortByField's Size fetched too */
    EL_TM_FETCH_COUNT, /* the row count (its StridedSlice) fetched */
    EL_TM_ALL_ROWS,   /* every sorted score fetched: no TopK prefix */
    EL_TM_EQUAL_CONST, /* the Equal compares the count with a constant */
    EL_TM_KINDS
};

typedef struct el_mc_cfg {
    int classes;
    bool v3; /* NonMaxSuppressionV3 and GatherV2, else V2 and Gather */
    int mutate;
    int tail;  /* > 0: SortByField, then the first `tail` rows fetched */
    int tmut;  /* EL_TM_* */
} el_mc_cfg;

static el_gb *el_mc_b;

static int el_mc_node(const char *op, const char *name, const char *const *in)
{
    int n = el_gb_node(el_mc_b, name, op, in);
    return n;
}

static void el_mc_f(int n, const char *attr) { el_gb_attr_type(el_mc_b, n, attr, EL_DT_FLOAT); }
static void el_mc_i(int n, const char *attr) { el_gb_attr_type(el_mc_b, n, attr, EL_DT_INT32); }

/* name = Gather(params, indices) as the config spells it. */
static void el_mc_gather(const el_mc_cfg *c, const char *name, const char *params, const char *idx)
{
    char axis[128];
    int g;
    if (c->v3) {
        snprintf(axis, sizeof axis, "%s/axis", name);
        el_gb_scalar_i32(el_mc_b, axis, 0, NULL);
        g = el_mc_node("GatherV2", name, EL_IN(params, idx, axis));
        el_mc_i(g, "Taxis");
    } else {
        g = el_mc_node("Gather", name, EL_IN(params, idx));
    }
    el_mc_f(g, "Tparams");
    el_mc_i(g, "Tindices");
}

/* name = Cast(Reshape(Where(Greater(x, thr)), [-1])). */
static void el_mc_filter(const char *p, const char *x, float thr, const char *name)
{
    char y[128], gt[128], wh[128], sh[128], re[128];
    snprintf(y, sizeof y, "%s/y", p), snprintf(gt, sizeof gt, "%s/Greater", p), snprintf(wh, sizeof wh, "%s/Where", p);
    snprintf(sh, sizeof sh, "%s/shape", p), snprintf(re, sizeof re, "%s/Reshape", p);
    el_gb_scalar_f32(el_mc_b, y, thr, NULL);
    el_mc_f(el_mc_node("Greater", gt, EL_IN(x, y)), "T");
    el_gb_attr_type(el_mc_b, el_mc_node("Where", wh, EL_IN(gt)), "T", EL_DT_BOOL);
    el_gb_const_i32(el_mc_b, sh, 1, (const int32_t[]){-1}, NULL);
    int r = el_mc_node("Reshape", re, EL_IN(wh, sh));
    el_gb_attr_type(el_mc_b, r, "T", EL_DT_INT64);
    el_mc_i(r, "Tshape");
    int ca = el_mc_node("Cast", name, EL_IN(re));
    el_gb_attr_type(el_mc_b, ca, "SrcT", EL_DT_INT64);
    el_gb_attr_type(el_mc_b, ca, "DstT", EL_DT_INT32);
}

static int el_mc_bin(const char *op, const char *name, const char *a, const char *b)
{
    int n = el_mc_node(op, name, EL_IN(a, b));
    el_mc_f(n, "T");
    return n;
}

static int el_mc_split4(const char *name, const char *x)
{
    char dim[128];
    snprintf(dim, sizeof dim, "%s/dim", name);
    el_gb_scalar_i32(el_mc_b, dim, 1, NULL);
    int s = el_mc_node("Split", name, EL_IN(dim, x));
    el_gb_attr_int(el_mc_b, s, "num_split", 4);
    el_mc_f(s, "T");
    return s;
}

/* Chain k, its nodes named c<k>/..., its outputs c<k>/ob, c<k>/os, c<k>/oc. */
static void el_mc_chain(const el_mc_cfg *c, int k)
{
    const bool m1 = k == 1;
    char p[32], n[40][128];
    snprintf(p, sizeof p, "c%d", k);
    for (int i = 0; i < 40; i++) n[i][0] = '\0';
#define N(i, s) (snprintf(n[i], sizeof n[i], "%s/%s", p, s), n[i])
    /* The class column. */
    el_gb_scalar_i32(el_mc_b, N(0, "one"), 1, NULL);
    int pk = el_mc_node("Pack", N(1, "size"), EL_IN("rows", n[0]));
    el_mc_i(pk, "T");
    el_gb_attr_int(el_mc_b, pk, "N", 2);
    el_gb_attr_int(el_mc_b, pk, "axis", 0);
    el_gb_const_i32(el_mc_b, N(2, "begin"), 2, (const int32_t[]){0, m1 && c->mutate == EL_MUT_SLICE ? 2 : k},
                    EL_IN("^assert"));
    int sl = el_mc_node("Slice", N(3, "Slice"), EL_IN("scores", n[2], n[1]));
    el_mc_f(sl, "T");
    el_mc_i(sl, "Index");
    el_gb_const_i32(el_mc_b, N(4, "flat"), 1, (const int32_t[]){-1}, NULL);
    int re = el_mc_node("Reshape", N(5, "col"), EL_IN(n[3], n[4]));
    el_mc_f(re, "T");
    el_mc_i(re, "Tshape");
    /* The score filter. */
    el_mc_filter(N(6, "F"), n[5], m1 && c->mutate == EL_MUT_THRESH ? 0.2f : 0.1f, N(7, "keep1"));
    el_mc_gather(c, N(8, "fb"), "boxes", n[7]);
    el_mc_gather(c, N(9, "fs"), n[5], n[7]);
    /* The clip. */
    el_mc_split4(N(10, "split"), n[8]);
    int un = el_mc_node("Unpack", N(11, "win"), EL_IN("window"));
    el_gb_attr_int(el_mc_b, un, "num", 4);
    el_gb_attr_int(el_mc_b, un, "axis", 0);
    el_mc_f(un, "T");
    for (int j = 0; j < 4; j++) {
        char s[160], hi[160], lo[160], mn[64], mx[64];
        snprintf(s, sizeof s, "%s:%d", n[10], j);
        snprintf(hi, sizeof hi, "%s:%d", n[11], 2 + (j & 1));
        snprintf(lo, sizeof lo, "%s:%d", n[11], j & 1);
        snprintf(mn, sizeof mn, "min%d", j), snprintf(mx, sizeof mx, "max%d", j);
        el_mc_bin("Minimum", N(12 + j, mn), s, hi);
        el_mc_bin("Maximum", N(16 + j, mx), n[12 + j], lo);
    }
    el_gb_scalar_i32(el_mc_b, N(20, "cat_axis"), 1, NULL);
    int cc = el_mc_node("ConcatV2", N(21, "clip"), EL_IN(n[16], n[17], n[18], n[19], n[20]));
    el_gb_attr_int(el_mc_b, cc, "N", 4);
    el_mc_f(cc, "T");
    el_mc_i(cc, "Tidx");
    /* The area filter. */
    const char *yb = n[21], *ys = n[9];
    if (!(m1 && c->mutate == EL_MUT_NO_AREA)) {
        el_mc_split4(N(22, "asplit"), n[21]);
        char a0[160], a1[160], a2[160], a3[160];
        snprintf(a0, sizeof a0, "%s:0", n[22]), snprintf(a1, sizeof a1, "%s:1", n[22]);
        snprintf(a2, sizeof a2, "%s:2", n[22]), snprintf(a3, sizeof a3, "%s:3", n[22]);
        el_mc_bin("Sub", N(23, "sub"), a2, a0);
        el_mc_bin("Sub", N(24, "sub1"), a3, a1);
        el_mc_bin("Mul", N(25, "mul"), n[23], n[24]);
        int sq = el_mc_node("Squeeze", N(26, "area"), EL_IN(n[25]));
        el_mc_f(sq, "T");
        el_gb_attr_ints(el_mc_b, sq, "squeeze_dims", 1, (const int64_t[]){1});
        el_mc_filter(N(27, "A"), n[26], 0.0f, N(28, "keep2"));
        el_mc_gather(c, N(29, "yb"), n[21], n[28]);
        el_mc_gather(c, N(30, "ys"), n[9], n[28]);
        yb = n[29], ys = n[30];
    }
    /* max_output_size = Minimum(5, boxes left), the NMS, the outputs. */
    int sh = el_mc_node("Shape", N(31, "shape"), EL_IN(yb));
    el_mc_f(sh, "T");
    el_gb_attr_type(el_mc_b, sh, "out_type", EL_DT_INT32);
    char b0[160], b1[160], b2[160];
    snprintf(b0, sizeof b0, "%s/ss0", p), snprintf(b1, sizeof b1, "%s/ss1", p), snprintf(b2, sizeof b2, "%s/ss2", p);
    el_gb_const_i32(el_mc_b, b0, 1, (const int32_t[]){0}, NULL);
    el_gb_const_i32(el_mc_b, b1, 1, (const int32_t[]){1}, NULL);
    el_gb_const_i32(el_mc_b, b2, 1, (const int32_t[]){1}, NULL);
    int ss = el_mc_node("StridedSlice", N(32, "count"), EL_IN(n[31], b0, b1, b2));
    el_mc_i(ss, "T");
    el_mc_i(ss, "Index");
    el_gb_attr_int(el_mc_b, ss, "shrink_axis_mask", 1);
    el_gb_scalar_i32(el_mc_b, N(33, "max_size"), c->tail ? 20 : 5, NULL);
    el_mc_i(el_mc_node("Minimum", N(34, "max_out"), EL_IN(n[33], n[32])), "T");
    el_gb_scalar_f32(el_mc_b, N(35, "iou"), 0.5f, NULL);
    if (c->v3) {
        el_gb_scalar_f32(el_mc_b, N(36, "nms_thr"), -INFINITY, NULL);
        el_mc_f(el_mc_node("NonMaxSuppressionV3", N(37, "nms"), EL_IN(yb, ys, n[34], n[35], n[36])), "T");
    } else {
        el_mc_node("NonMaxSuppressionV2", N(37, "nms"), EL_IN(yb, ys, n[34], n[35]));
    }
    el_mc_gather(c, N(38, "ob"), yb, n[37]);
    el_mc_gather(c, N(39, "os"), ys, n[37]);
    char zl[64], cy[64], oc[64];
    snprintf(zl, sizeof zl, "%s/zeros", p), snprintf(cy, sizeof cy, "%s/class", p), snprintf(oc, sizeof oc, "%s/oc", p);
    el_mc_f(el_mc_node("ZerosLike", zl, EL_IN(n[39])), "T");
    el_gb_scalar_f32(el_mc_b, cy, m1 && c->mutate == EL_MUT_CLASS ? 2.0f : (float)k, NULL);
    el_mc_bin("Add", oc, zl, cy);
    if (m1 && c->mutate == EL_MUT_READER) {
        el_mc_f(el_mc_node("Shape", "extra_shape", EL_IN(yb)), "T");
        el_mc_node("Identity", "extra", EL_IN("extra_shape"));
    }
    if (m1 && c->mutate == EL_MUT_CTRL) el_mc_node("Identity", "extra", EL_IN("rows", "^c1/F/Where"));
#undef N
}

/* The OD API's tail: SortByField (Size, Shape, the count, Assert(Equal),
 * TopKV2, a Gather per field), then Gather(g, Range(0, Minimum(P,
 * count), 1)) per field: top/boxes, top/scores, top/classes and top/min. */
static void el_mc_tail(const el_mc_cfg *c)
{
    el_gb *b = el_mc_b;
    static const int32_t zero = 0, one = 1;
    el_gb_scalar_i32(b, "tail/axis", 0, NULL);
    el_gb_scalar_i32(b, "tail/zero", 0, NULL);
    el_gb_scalar_i32(b, "tail/one", 1, NULL);
    el_gb_const_i32(b, "tail/b0", 1, &zero, NULL);
    el_gb_const_i32(b, "tail/b1", 1, &one, NULL);
    el_mc_i(el_mc_node("Size", "sbf/Size", EL_IN("out_scores/concat")), "out_type");
    el_mc_i(el_mc_node("Shape", "sbf/Shape", EL_IN("out_boxes/concat")), "out_type");
    int ss = el_mc_node("StridedSlice", "sbf/n", EL_IN("sbf/Shape", "tail/b0", "tail/b1", "tail/b1"));
    el_mc_i(ss, "T");
    el_mc_i(ss, "Index");
    el_gb_attr_int(b, ss, "shrink_axis_mask", 1);
    el_gb_scalar_i32(b, "tail/three", 3, NULL);
    el_mc_i(el_mc_node("Equal", "sbf/Equal", EL_IN("sbf/n", c->tmut == EL_TM_EQUAL_CONST ? "tail/three" : "sbf/Size")), "T");
    el_mc_node("Assert", "sbf/Assert", EL_IN("sbf/Equal", "sbf/Size", "sbf/n"));
    int t = el_mc_node("TopKV2", "sbf/TopKV2", EL_IN("out_scores/concat", "sbf/n", "^sbf/Assert"));
    el_mc_f(t, "T");
    el_gb_attr_bool(b, t, "sorted", true);
    static const char *const in[3] = {"out_boxes/concat", "out_scores/concat", "out_classes/concat"};
    static const char *const g[3] = {"sbf/gb", "sbf/gs", "sbf/gc"}, *const top[3] = {"top/boxes", "top/scores", "top/classes"};
    for (int f = 0; f < 3; f++) el_mc_gather(c, g[f], in[f], "sbf/TopKV2:1");
    el_mc_i(el_mc_node("Shape", "top/Shape", EL_IN("sbf/gb")), "out_type");
    ss = el_mc_node("StridedSlice", "top/n", EL_IN("top/Shape", "tail/b0", "tail/b1", "tail/b1"));
    el_mc_i(ss, "T");
    el_mc_i(ss, "Index");
    el_gb_attr_int(b, ss, "shrink_axis_mask", 1);
    el_gb_scalar_i32(b, "top/P", c->tail, NULL);
    el_mc_i(el_mc_node("Minimum", "top/min", EL_IN("top/P", "top/n")), "T");
    el_mc_i(el_mc_node("Range", "top/range", EL_IN("tail/zero", "top/min", "tail/one")), "Tidx");
    for (int f = 0; f < 3; f++) el_mc_gather(c, top[f], g[f], "top/range");
}

static el_graph *el_mc_graph(const el_mc_cfg *c)
{
    el_gb b;
    el_gb_init(&b);
    el_mc_b = &b;
    el_gb_attr_type(&b, el_gb_node(&b, "scores", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "boxes", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "window", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "rows", "Placeholder", EL_NOIN), "dtype", EL_DT_INT32);
    el_gb_attr_type(&b, el_gb_node(&b, "ok", "Placeholder", EL_NOIN), "dtype", EL_DT_BOOL);
    el_gb_node(&b, "assert", "Assert", EL_IN("ok"));
    for (int k = 0; k < c->classes; k++) el_mc_chain(c, k);
    static const char *const field[3] = {"ob", "os", "oc"}, *const out[3] = {"out_boxes", "out_scores", "out_classes"};
    for (int f = 0; f < 3; f++) {
        const char *in[64];
        char names[64][32], axis[32];
        for (int k = 0; k < c->classes; k++) {
            int src = c->mutate == EL_MUT_ORDER && k < 2 ? 1 - k : k;
            snprintf(names[k], sizeof names[k], "c%d/%s", src, field[f]);
            in[k] = names[k];
        }
        snprintf(axis, sizeof axis, "%s/axis", out[f]);
        el_gb_scalar_i32(&b, axis, 0, NULL);
        in[c->classes] = axis;
        in[c->classes + 1] = NULL;
        char cat[32];
        snprintf(cat, sizeof cat, "%s/concat", out[f]);
        int cn = el_gb_node(&b, cat, "ConcatV2", in);
        el_gb_attr_int(&b, cn, "N", c->classes);
        el_gb_attr_type(&b, cn, "T", EL_DT_FLOAT);
        el_gb_attr_type(&b, cn, "Tidx", EL_DT_INT32);
        if (!c->tail) el_gb_node(&b, out[f], "Identity", EL_IN(cat));
    }
    if (c->tail) el_mc_tail(c);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static const char *const el_mc_feeds[5] = {"scores", "rows", "boxes", "window", "ok"};

static int el_mc_fetches(const el_mc_cfg *c, const char **f)
{
    if (c->tail) {
        static const char *const extra[EL_TM_KINDS] = {NULL, "sbf/Size", "sbf/n", "sbf/gs", NULL};
        f[0] = "top/boxes", f[1] = "top/scores", f[2] = "top/classes", f[3] = "top/min";
        if (extra[c->tmut]) f[4] = extra[c->tmut];
        return extra[c->tmut] ? 5 : 4;
    }
    f[0] = "out_boxes", f[1] = "out_scores", f[2] = "out_classes";
    if (c->mutate == EL_MUT_FETCHED) f[3] = "c1/nms";
    if (c->mutate == EL_MUT_READER || c->mutate == EL_MUT_CTRL) f[3] = "extra";
    return c->mutate == EL_MUT_FETCHED || c->mutate == EL_MUT_READER || c->mutate == EL_MUT_CTRL ? 4 : 3;
}

static int el_mc_top; /* the last el_mc_fused's count of NMS given a top */

static int el_mc_fused(const el_mc_cfg *c, const el_graph *g, el_graph **og)
{
    const char *f[5];
    int nf = el_mc_fetches(c, f);
    el_optimize_stats st;
    el_graph *out = NULL;
    assert_int_equal(el_graph_optimize(g, 5, el_mc_feeds, nf, f, &st, &out), EL_OK);
    if (og) *og = out;
    else el_graph_free(out);
    el_mc_top = st.nms_top;
    return st.nms_fused;
}

/* Inputs: scores [n, cols], rows, boxes [nb, bcols], window [wn]. */
typedef struct el_mc_in {
    el_tensor t[5];
} el_mc_in;

enum { EL_IN_PLAIN, EL_IN_NAN, EL_IN_INF, EL_IN_TIES, EL_IN_CLIPPED, EL_IN_NAN_WINDOW, EL_IN_KINDS };

static el_mc_in el_mc_input(int kind, int64_t n, int64_t cols, int32_t rows, int64_t nb, int64_t bcols, int64_t wn,
                            bool ok)
{
    el_test_lcg r = {.s = 1234u + (uint32_t)kind * 77u + (uint32_t)n};
    el_mc_in in;
    const int64_t sd[2] = {n, cols}, bd[2] = {nb, bcols};
    assert_int_equal(el_tensor_alloc(&in.t[0], EL_DT_FLOAT, 2, sd), EL_OK);
    assert_int_equal(el_tensor_alloc(&in.t[2], EL_DT_FLOAT, 2, bd), EL_OK);
    assert_int_equal(el_tensor_alloc(&in.t[3], EL_DT_FLOAT, 1, &wn), EL_OK);
    in.t[1] = el_test_i32(0, NULL, &rows);
    const uint8_t okv = ok;
    in.t[4] = el_test_bool(0, NULL, &okv);
    float *s = in.t[0].data, *b = in.t[2].data, *w = in.t[3].data;
    for (int64_t i = 0; i < n * cols; i++) {
        s[i] = 0.5f + 0.5f * el_test_unit(&r);
        if (kind == EL_IN_TIES) s[i] = (float)el_test_pick(&r, 0, 3) * 0.25f;
        if (kind == EL_IN_NAN && el_test_pick(&r, 0, 5) == 0) s[i] = NAN;
        if (kind == EL_IN_INF && el_test_pick(&r, 0, 5) == 0) s[i] = el_test_pick(&r, 0, 1) ? INFINITY : -INFINITY;
    }
    for (int64_t i = 0; i < nb; i++) {
        float *x = b + i * bcols;
        for (int64_t j = 0; j < bcols; j++) x[j] = 0.5f + 0.6f * el_test_unit(&r);
        if (bcols == 4 && kind != EL_IN_CLIPPED) { /* mostly well-formed boxes */
            x[2] = x[0] + 0.3f * fabsf(el_test_unit(&r));
            x[3] = x[1] + 0.3f * fabsf(el_test_unit(&r));
        }
        if (bcols == 4 && kind == EL_IN_TIES && i % 3 == 1) memcpy(x, x - 4, 4 * sizeof *x);
        if (kind == EL_IN_NAN && el_test_pick(&r, 0, 4) == 0) x[el_test_pick(&r, 0, bcols - 1)] = NAN;
        if (kind == EL_IN_INF && el_test_pick(&r, 0, 4) == 0)
            x[el_test_pick(&r, 0, bcols - 1)] = el_test_pick(&r, 0, 1) ? INFINITY : -INFINITY;
    }
    const float win[4] = {0.0f, 0.0f, 1.0f, 1.0f}, clip[4] = {0.4f, 0.3f, 0.7f, 0.6f};
    for (int64_t j = 0; j < wn; j++) w[j] = (kind == EL_IN_CLIPPED ? clip : win)[j % 4];
    if (kind == EL_IN_NAN_WINDOW && wn > 2) w[2] = w[1] = NAN; /* a NaN in a Minimum and in a Maximum */
    return in;
}

static void el_mc_free(el_mc_in *in)
{
    for (int i = 0; i < 5; i++) el_tensor_release(&in->t[i]);
}

/* Runs g fused (1 and 2 threads, AVX-512 and the portable loops) and
 * unfused on `in`: the same bits, or all of them fail. */
static void el_mc_compare(const el_mc_cfg *c, const el_graph *g, const el_mc_in *in)
{
    const char *f[5];
    int nf = el_mc_fetches(c, f);
    el_tensor ref[5], got[5];
    el_session *s;
    el_session_opts off = {.threads = 1, .no_optimize = 1};
    assert_int_equal(el_session_create(g, 5, el_mc_feeds, nf, f, &off, &s), EL_OK);
    el_status want = el_session_run(s, in->t, ref);
    el_session_free(s);
    const int isas[2] = {EL_ISA_AVX512, EL_ISA_REF};
    for (int run = 0; run < 4; run++) {
        const int th = 1 + run % 2, isa = isas[run / 2];
        if ((int)el_isa_available() < isa) continue;
        el_conv_force_isa(isa);
        el_session_opts on = {.threads = th};
        assert_int_equal(el_session_create(g, 5, el_mc_feeds, nf, f, &on, &s), EL_OK);
        el_status st = el_session_run(s, in->t, got);
        el_session_free(s);
        el_conv_force_isa(-1);
        if (want != EL_OK) {
            if (st == EL_OK) fail_msg("the unfused graph fails (%d), the fused one does not", (int)want);
            continue;
        }
        if (st != EL_OK) fail_msg("%s", el_last_error());
        for (int i = 0; i < nf; i++) {
            el_test_assert_shape(&got[i], ref[i].ndim, ref[i].dims);
            assert_int_equal(got[i].dtype, ref[i].dtype);
            assert_memory_equal(got[i].data, ref[i].data, el_tensor_nbytes(&ref[i]));
        }
        el_test_release_all(nf, got);
    }
    if (want == EL_OK) el_test_release_all(nf, ref);
}

static void el_mc_check(const el_mc_cfg *c, const el_graph *g)
{
    for (int kind = 0; kind < EL_IN_KINDS; kind++) {
        for (int64_t n = 0; n <= 40; n += 20) {
            el_mc_in in = el_mc_input(kind, n, c->classes + 1, -1, n, 4, 4, true);
            el_mc_compare(c, g, &in);
            el_mc_free(&in);
        }
    }
    el_mc_in in = el_mc_input(EL_IN_PLAIN, 30, c->classes, 25, 30, 4, 4, true); /* fewer rows than boxes */
    el_mc_compare(c, g, &in);
    el_mc_free(&in);
}

static void test_fused_layouts(void **state)
{
    (void)state;
    for (int v3 = 0; v3 < 2; v3++)
        for (int classes = 1; classes <= 7; classes += 3) {
            el_mc_cfg c = {.classes = classes, .v3 = v3};
            el_graph *g = el_mc_graph(&c), *og = NULL;
            assert_int_equal(el_mc_fused(&c, g, &og), 1);
            /* One node replaces the block and waits for the Assert. */
            int fused = -1, chains = 0;
            for (int i = 0; i < og->nnodes; i++) {
                if (!strcmp(og->nodes[i].op, "_ElMultiClassNms")) fused = i;
                chains += !strncmp(og->nodes[i].name, "c1/", 3);
            }
            assert_true(fused >= 0);
            assert_int_equal(chains, 0);
            const el_node *fn = &og->nodes[fused];
            bool gated = false;
            for (int k = fn->ndata; k < fn->ninputs; k++) gated |= !strcmp(og->nodes[fn->inputs[k].node].name, "assert");
            assert_true(gated);
            el_graph_free(og);
            el_mc_check(&c, g);
            el_graph_free(g);
        }
}

static void test_mutations_stay(void **state)
{
    (void)state;
    for (int mut = EL_MUT_THRESH; mut < EL_MUT_KINDS; mut++) {
        el_mc_cfg c = {.classes = 4, .v3 = mut % 2 == 0, .mutate = mut};
        el_graph *g = el_mc_graph(&c);
        if (el_mc_fused(&c, g, NULL) != 0) fail_msg("mutation %d was fused", mut);
        el_mc_check(&c, g);
        el_graph_free(g);
    }
}

/* Malformed inputs: the fused node fails where the chains fail. */
static void test_hostile_inputs(void **state)
{
    (void)state;
    el_mc_cfg c = {.classes = 3, .v3 = true};
    el_graph *g = el_mc_graph(&c);
    const struct {
        int64_t n, cols;
        int32_t rows;
        int64_t nb, bcols, wn;
        bool ok;
    } cases[] = {
        {20, 3, 21, 20, 4, 4, true},  /* more rows than scores */
        {20, 3, -2, 20, 4, 4, true},  /* a negative row count */
        {20, 2, -1, 20, 4, 4, true},  /* fewer columns than classes */
        {0, 0, -1, 0, 4, 4, true},    /* no classes at all */
        {20, 3, -1, 10, 4, 4, true},  /* fewer boxes than scores */
        {20, 3, -1, 20, 5, 4, true},  /* boxes of 5 values */
        {20, 3, -1, 20, 4, 3, true},  /* a window of 3 */
        {20, 3, -1, 20, 4, 4, false}, /* the Assert fails */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_mc_in in = el_mc_input(EL_IN_PLAIN, cases[i].n, cases[i].cols, cases[i].rows, cases[i].nb, cases[i].bcols,
                                  cases[i].wn, cases[i].ok);
        el_mc_compare(&c, g, &in);
        el_mc_free(&in);
    }
    /* Scores of rank 1 and 3. */
    for (int rank = 1; rank <= 3; rank += 2) {
        el_mc_in in = el_mc_input(EL_IN_PLAIN, 20, 3, -1, 20, 4, 4, true);
        const int64_t d3[3] = {20, 3, 1}, d1[1] = {60};
        el_tensor t;
        el_tensor_wrap(&t, EL_DT_FLOAT, rank, rank == 1 ? d1 : d3, in.t[0].data);
        el_tensor keep = in.t[0];
        in.t[0] = t;
        el_mc_compare(&c, g, &in);
        in.t[0] = keep;
        el_tensor_release(&t);
        el_mc_free(&in);
    }
    el_graph_free(g);
}

/* The SortByField tail: the NMS gets its top, and the first P rows are the
 * unfused graph's for P below and above the selections' count. */
static void test_top_tail(void **state)
{
    (void)state;
    static const int tops[4] = {1, 3, 7, 50};
    for (int v3 = 0; v3 < 2; v3++)
        for (int classes = 1; classes <= 7; classes += 3)
            for (int i = 0; i < 4; i++) {
                el_mc_cfg c = {.classes = classes, .v3 = v3, .tail = tops[i]};
                el_graph *g = el_mc_graph(&c), *og = NULL;
                assert_int_equal(el_mc_fused(&c, g, &og), 1);
                assert_int_equal(el_mc_top, 1);
                bool found = false;
                for (int n = 0; n < og->nnodes; n++)
                    if (!strcmp(og->nodes[n].op, "_ElMultiClassNms")) {
                        const el_attr *a = el_node_attr(&og->nodes[n], "_el_top");
                        assert_non_null(a);
                        assert_int_equal(a->v.i, tops[i]);
                        found = true;
                    }
                assert_true(found);
                el_graph_free(og);
                el_mc_check(&c, g);
                /* Columns long enough for the first round's sampled floor. */
                for (int kind = 0; kind < EL_IN_KINDS; kind++) {
                    el_mc_in in = el_mc_input(kind, 600, c.classes + 1, -1, 600, 4, 4, true);
                    el_mc_compare(&c, g, &in);
                    el_mc_free(&in);
                }
                el_graph_free(g);
            }
}

/* Tails that show the count or every row keep the NMS whole. */
static void test_top_tail_mutations(void **state)
{
    (void)state;
    for (int m = EL_TM_FETCH_SIZE; m < EL_TM_KINDS; m++) {
        el_mc_cfg c = {.classes = 4, .v3 = m % 2 == 0, .tail = 3, .tmut = m};
        el_graph *g = el_mc_graph(&c);
        assert_int_equal(el_mc_fused(&c, g, NULL), 1);
        if (el_mc_top != 0) fail_msg("tail mutation %d got a top", m);
        el_mc_check(&c, g);
        el_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_tail),
        cmocka_unit_test(test_top_tail_mutations),
        cmocka_unit_test(test_fused_layouts),
        cmocka_unit_test(test_mutations_stay),
        cmocka_unit_test(test_hostile_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
