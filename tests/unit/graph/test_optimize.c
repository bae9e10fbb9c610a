/* Graph passes (graph/optimize.c): every rewrite is checked for what it
 * did (stats, node ops) and for what it must not change (outputs against
 * the same session built with no_optimize, control flow, fed and fetched
 * nodes). Also the executor's node hook. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "format/package.h"
#include "graph/optimize.h"
#include "ops/gemm.h"
#include "graph_builder.h"
#include "testutil.h"

static uint32_t el_seed = 777;
static float el_frand(void)
{
    el_seed = el_seed * 1664525u + 1013904223u;
    return (float)((el_seed >> 8) % 20001) / 10000.0f - 1.0f;
}

static el_attr *el_add_attr(el_gb *b, int node, const char *name, el_attr_type t)
{
    el_node *n = &b->g->nodes[node];
    assert_true(n->nattrs < 16);
    el_attr *a = &n->attrs[n->nattrs++];
    a->name = name; /* literals outlive the graph */
    a->type = t;
    return a;
}

/* A float Const of random values (positive when `positive`). */
static int el_fconst(el_gb *b, const char *name, int ndim, const int64_t *dims, bool positive)
{
    int n = el_gb_node(b, name, "Const", EL_NOIN);
    el_gb_attr_type(b, n, "dtype", EL_DT_FLOAT);
    el_attr *a = el_add_attr(b, n, "value", EL_ATTR_TENSOR);
    assert_int_equal(el_tensor_alloc(&a->v.tensor, EL_DT_FLOAT, ndim, dims), EL_OK);
    float *p = a->v.tensor.data;
    for (int64_t i = 0; i < el_tensor_numel(&a->v.tensor); i++) p[i] = positive ? fabsf(el_frand()) + 0.1f : el_frand();
    return n;
}

static int el_placeholder(el_gb *b, const char *name, el_dtype dt)
{
    int n = el_gb_node(b, name, "Placeholder", EL_NOIN);
    el_gb_attr_type(b, n, "dtype", dt);
    return n;
}

static void el_conv_attrs(el_gb *b, int n, int64_t stride)
{
    int64_t s[4] = {1, stride, stride, 1};
    el_gb_attr_ints(b, n, "strides", 4, s);
    el_gb_attr_str(b, n, "padding", "SAME");
    el_gb_attr_type(b, n, "T", EL_DT_FLOAT);
}

static el_tensor el_rand_input(int64_t h, int64_t w, int64_t c)
{
    int64_t d[4] = {1, h, w, c};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, d), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((float *)t.data)[i] = el_frand();
    return t;
}

/* Runs g twice, optimized and not, and checks every fetch agrees. */
static void el_same_outputs(const el_graph *g, int nfeeds, const char *const *feeds, const el_tensor *in, int nfetches,
                            const char *const *fetches, float tol)
{
    el_tensor a[8], b[8];
    el_session *s1, *s2;
    el_session_opts off = {.no_optimize = 1};
    if (el_session_create(g, nfeeds, feeds, nfetches, fetches, NULL, &s1) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(el_session_create(g, nfeeds, feeds, nfetches, fetches, &off, &s2), EL_OK);
    if (el_session_run(s1, in, a) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_equal(el_session_run(s2, in, b), EL_OK);
    for (int i = 0; i < nfetches; i++) {
        assert_int_equal(a[i].dtype, b[i].dtype);
        el_test_assert_shape(&a[i], b[i].ndim, b[i].dims);
        if (a[i].dtype == EL_DT_FLOAT) el_test_assert_f32(&a[i], b[i].data, el_tensor_numel(&b[i]), tol);
        else assert_memory_equal(a[i].data, b[i].data, el_tensor_nbytes(&a[i]));
    }
    for (int i = 0; i < nfetches; i++) {
        el_tensor_release(&a[i]);
        el_tensor_release(&b[i]);
    }
    el_session_free(s1);
    el_session_free(s2);
}

/* Conv2D -> FusedBatchNorm -> Relu6 becomes one _FusedConv2D named like
 * the Relu6, with fused_ops [BiasAdd, Relu6]. */
static void test_bn_fold_and_relu6(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    int64_t wd[4] = {3, 3, 3, 8}, cd[1] = {8};
    el_fconst(&b, "w", 4, wd, false);
    el_fconst(&b, "scale", 1, cd, false);
    el_fconst(&b, "offset", 1, cd, false);
    el_fconst(&b, "mean", 1, cd, false);
    el_fconst(&b, "var", 1, cd, true);
    el_conv_attrs(&b, el_gb_node(&b, "conv", "Conv2D", EL_IN("x", "w")), 2);
    int bn = el_gb_node(&b, "bn", "FusedBatchNorm", EL_IN("conv", "scale", "offset", "mean", "var"));
    el_gb_attr_bool(&b, bn, "is_training", false);
    el_add_attr(&b, bn, "epsilon", EL_ATTR_F)->v.f = 0.001f;
    el_gb_node(&b, "relu", "Relu6", EL_IN("bn"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);

    const char *feeds[1] = {"x"}, *fetches[1] = {"relu"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_non_null(og);
    assert_int_equal(st.bn_folded, 1);
    assert_int_equal(st.act_fused, 1);
    assert_null(el_test_find_node(og, "conv"));
    assert_null(el_test_find_node(og, "bn"));
    const el_node *r = el_test_node_op(og, "relu", "_FusedConv2D");
    const el_attr *fo = el_node_attr(r, "fused_ops");
    assert_non_null(fo);
    assert_int_equal(fo->v.list.n, 2);
    assert_true(fo->v.list.v.s[1].len == 5 && !memcmp(fo->v.list.v.s[1].data, "Relu6", 5));
    assert_int_equal(r->ndata, 3);
    assert_true(st.nodes_after < st.nodes_before);
    el_graph_free(og);

    el_tensor in = el_rand_input(9, 7, 3);
    el_same_outputs(g, 1, feeds, &in, 1, fetches, 1e-5f);
    el_tensor_release(&in);
    el_graph_free(g);
}

/* Depthwise + BiasAdd + Relu, and Add(bias, conv) with the bias first. */
static void test_bias_and_relu(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    int64_t wd[4] = {3, 3, 6, 1}, cd[1] = {6}, pd[4] = {1, 1, 6, 5}, pb[1] = {5};
    el_fconst(&b, "w", 4, wd, false);
    el_fconst(&b, "bias", 1, cd, false);
    el_fconst(&b, "pw", 4, pd, false);
    el_fconst(&b, "pbias", 1, pb, false);
    el_conv_attrs(&b, el_gb_node(&b, "dw", "DepthwiseConv2dNative", EL_IN("x", "w")), 1);
    el_gb_attr_type(&b, el_gb_node(&b, "dwb", "BiasAdd", EL_IN("dw", "bias")), "T", EL_DT_FLOAT);
    el_gb_node(&b, "dwr", "Relu", EL_IN("dwb"));
    el_conv_attrs(&b, el_gb_node(&b, "pconv", "Conv2D", EL_IN("dwr", "pw")), 1);
    el_gb_node(&b, "padd", "Add", EL_IN("pbias", "pconv"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[1] = {"padd"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.bias_fused, 2);
    assert_int_equal(st.act_fused, 1);
    /* The fused depthwise convolution then runs inside the 1x1 one (el_opt_dw_pw). */
    assert_int_equal(st.dw_pw_fused, 1);
    assert_null(el_test_find_node(og, "dwr"));
    assert_string_equal(el_test_find_node(og, "padd")->op, "_FusedConv2D");
    assert_null(el_test_find_node(og, "dw"));
    assert_null(el_test_find_node(og, "pconv"));
    el_graph_free(og);
    el_tensor in = el_rand_input(6, 6, 6);
    el_same_outputs(g, 1, feeds, &in, 1, fetches, 1e-5f);
    el_tensor_release(&in);
    el_graph_free(g);
}

/* A convolution that is fetched (or read twice) is not absorbed; a
 * training-mode batch norm is not folded. */
static void test_no_fusion_when_unsafe(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    int64_t wd[4] = {1, 1, 4, 4}, cd[1] = {4};
    el_fconst(&b, "w", 4, wd, false);
    el_fconst(&b, "bias", 1, cd, false);
    el_fconst(&b, "scale", 1, cd, false);
    el_fconst(&b, "offset", 1, cd, false);
    el_fconst(&b, "mean", 1, cd, false);
    el_fconst(&b, "var", 1, cd, true);
    el_conv_attrs(&b, el_gb_node(&b, "c1", "Conv2D", EL_IN("x", "w")), 1);
    el_gb_node(&b, "b1", "BiasAdd", EL_IN("c1", "bias"));
    el_conv_attrs(&b, el_gb_node(&b, "c2", "Conv2D", EL_IN("x", "w")), 1);
    el_gb_node(&b, "r2a", "Relu", EL_IN("c2"));
    el_gb_node(&b, "r2b", "Relu6", EL_IN("c2"));
    el_conv_attrs(&b, el_gb_node(&b, "c3", "Conv2D", EL_IN("x", "w")), 1);
    el_gb_node(&b, "bn3", "FusedBatchNorm", EL_IN("c3", "scale", "offset", "mean", "var")); /* is_training: true */
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[5] = {"b1", "c1", "r2a", "r2b", "bn3"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 5, fetches, &st, &og), EL_OK);
    assert_int_equal(st.bias_fused + st.act_fused + st.bn_folded, 0);
    if (st.packed == 0) {
        assert_null(og); /* nothing to do */
    } else {
        assert_int_equal(st.packed, 3); /* the filters only, on a CPU that runs the packed kernel */
        el_graph_free(og);
    }
    el_graph_free(g);
}

/* Constant subgraphs are evaluated once; an output k > 0 of a folded node
 * gets a Const of its own; the inputs of a fed node are not needed. */
static void test_constant_folding(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    int64_t d[1] = {6};
    el_fconst(&b, "c1", 1, d, false);
    el_fconst(&b, "c2", 1, d, false);
    el_gb_node(&b, "sum", "Add", EL_IN("c1", "c2"));
    el_gb_scalar_i32(&b, "axis", 0, NULL);
    int sp = el_gb_node(&b, "split", "Split", EL_IN("axis", "sum"));
    el_gb_attr_int(&b, sp, "num_split", 2);
    el_gb_node(&b, "neg", "Neg", EL_IN("split:1"));
    el_gb_node(&b, "m0", "Mul", EL_IN("x", "split"));
    el_gb_node(&b, "m1", "Mul", EL_IN("x", "neg"));
    el_gb_node(&b, "out", "Sub", EL_IN("m0", "m1"));
    el_gb_node(&b, "m2", "Mul", EL_IN("x", "split:1"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[3] = {"out", "sum", "m2"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 3, fetches, &st, &og), EL_OK);
    assert_non_null(og);
    assert_int_equal(st.folded, 3); /* sum, split, neg */
    assert_string_equal(el_test_find_node(og, "sum")->op, "Const");
    assert_string_equal(el_test_find_node(og, "split")->op, "Const");
    assert_string_equal(el_test_find_node(og, "neg")->op, "Const");
    assert_null(el_test_find_node(og, "c1"));
    assert_string_equal(el_test_find_node(og, "split/_el_folded_1")->op, "Const");
    assert_string_equal(el_test_find_node(og, "m2")->input_names[1], "split/_el_folded_1");
    el_graph_free(og);
    int64_t xd[1] = {3};
    float xv[3] = {1.5f, -2.0f, 0.25f};
    el_tensor in = el_test_f32(1, xd, xv);
    el_same_outputs(g, 1, feeds, &in, 3, fetches, 0.0f);

    /* Feeding "sum" (a node with inputs): its inputs are not needed. */
    const char *feeds2[2] = {"x", "sum"}, *fetches2[1] = {"out"};
    float sv[6] = {1, 2, 3, 4, 5, 6};
    int64_t sd[1] = {6};
    el_tensor ins[2] = {in, el_test_f32(1, sd, sv)};
    el_same_outputs(g, 2, feeds2, ins, 1, fetches2, 0.0f);
    el_tensor out;
    el_session *s;
    assert_int_equal(el_session_create(g, 2, feeds2, 1, fetches2, NULL, &s), EL_OK);
    assert_int_equal(el_session_run(s, ins, &out), EL_OK);
    /* out = x * (s[0:3]) - x * -(s[3:6]) */
    for (int i = 0; i < 3; i++) assert_float_equal(((float *)out.data)[i], xv[i] * sv[i] + xv[i] * sv[3 + i], 1e-6);
    el_tensor_release(&out);
    el_session_free(s);
    el_tensor_release(&ins[1]);
    el_tensor_release(&in);
    el_graph_free(g);
}

/* TF1 cond: a Const inside the branch carries a control input from the
 * pivot (Identity of Switch:1). Neither the pivot nor the Const may go, and
 * the untaken branch stays dead. */
static void test_control_flow_kept(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    el_placeholder(&b, "p", EL_DT_BOOL);
    el_gb_node(&b, "sw", "Switch", EL_IN("x", "p"));
    el_gb_node(&b, "pivot_t", "Identity", EL_IN("sw:1"));
    el_gb_scalar_f32(&b, "k", 10.0f, EL_IN("^pivot_t"));
    el_gb_scalar_f32(&b, "two", 2.0f, NULL);
    el_gb_scalar_f32(&b, "three", 3.0f, NULL);
    el_gb_node(&b, "five", "Add", EL_IN("two", "three"));
    el_gb_node(&b, "kk", "Mul", EL_IN("k", "five"));
    el_gb_node(&b, "t", "Add", EL_IN("pivot_t", "kk"));
    el_gb_node(&b, "f", "Identity", EL_IN("sw"));
    el_gb_node(&b, "m", "Merge", EL_IN("t", "f"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[2] = {"x", "p"}, *fetches[2] = {"m", "m:1"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.folded, 1); /* only five = two + three, in the root frame */
    assert_non_null(og);
    assert_non_null(el_test_find_node(og, "pivot_t"));
    assert_string_equal(el_test_find_node(og, "k")->op, "Const");
    assert_int_equal(el_test_find_node(og, "k")->ninputs, 1);
    assert_non_null(el_test_find_node(og, "f")); /* reads a Switch: kept */
    el_graph_free(og);
    for (int pv = 0; pv < 2; pv++) {
        int64_t d[1] = {2};
        float xv[2] = {1, 2};
        uint8_t pb = (uint8_t)pv;
        el_tensor in[2] = {el_test_f32(1, d, xv), el_test_bool(0, NULL, &pb)};
        el_same_outputs(g, 2, feeds, in, 2, fetches, 0.0f);
        el_test_release_all(2, in);
    }
    el_graph_free(g);
}

/* Identities between plain nodes go; fetched ones, ones with control
 * readers or control inputs stay. */
static void test_identity_removal(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    el_gb_node(&b, "a", "Neg", EL_IN("x"));
    el_gb_node(&b, "i1", "Identity", EL_IN("a"));
    el_gb_node(&b, "i2", "Identity", EL_IN("i1"));
    el_gb_node(&b, "i3", "Identity", EL_IN("a"));
    el_gb_node(&b, "i4", "Identity", EL_IN("a", "^x"));
    el_gb_node(&b, "r", "Relu", EL_IN("i2", "^i3"));
    el_gb_node(&b, "out", "AddN", EL_IN("r", "i3", "i4"));
    el_gb_attr_int(&b, 7, "N", 3);
    el_gb_node(&b, "fetched", "Identity", EL_IN("out"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[1] = {"fetched"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.identities, 2);
    assert_null(el_test_find_node(og, "i1"));
    assert_null(el_test_find_node(og, "i2"));
    assert_non_null(el_test_find_node(og, "i3"));
    assert_non_null(el_test_find_node(og, "i4"));
    assert_non_null(el_test_find_node(og, "fetched"));
    assert_string_equal(el_test_find_node(og, "r")->input_names[0], "a");
    el_graph_free(og);
    int64_t d[1] = {4};
    float xv[4] = {-1, 2, -3, 4};
    el_tensor in = el_test_f32(1, d, xv);
    el_same_outputs(g, 1, feeds, &in, 1, fetches, 0.0f);
    el_tensor_release(&in);
    el_graph_free(g);
}

static void test_bad_names(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    el_gb_node(&b, "y", "Neg", EL_IN("x"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"nope"}, *fetches[1] = {"y"}, *bad[1] = {"y:x"};
    el_graph *og = (el_graph *)1;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, NULL, &og), EL_OK);
    assert_null(og);
    const char *feeds1[1] = {"x"};
    assert_int_equal(el_graph_optimize(g, 1, feeds1, 1, bad, NULL, &og), EL_OK);
    assert_null(og);
    /* The session reports them. */
    el_session *s;
    assert_int_not_equal(el_session_create(g, 1, feeds, 1, fetches, NULL, &s), EL_OK);
    assert_non_null(strstr(el_last_error(), "nope"));
    el_graph_free(g);
}

typedef struct el_hook_log {
    int calls;
    int neg, relu;
    double ms;
} el_hook_log;

static void el_hook(void *user, const el_node_event *ev)
{
    el_hook_log *l = user;
    l->calls++;
    l->ms += ev->ms;
    if (!strcmp(ev->op, "Neg")) {
        l->neg++;
        assert_int_equal(ev->ninputs, 1);
        assert_int_equal(ev->noutputs, 1);
        assert_int_equal(el_tensor_numel(&ev->outputs[0]), 4);
    }
    if (!strcmp(ev->node, "r")) l->relu++;
}

/* The node hook sees every kernel node once per run (not the fed one). */
static void test_node_hook(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    el_gb_node(&b, "a", "Neg", EL_IN("x"));
    el_gb_node(&b, "r", "Relu", EL_IN("a"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_hook_log log = {0};
    el_session_opts o = {.node_hook = el_hook, .node_hook_user = &log, .threads = 1};
    const char *feeds[1] = {"x"}, *fetches[1] = {"r"};
    el_session *s;
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &o, &s), EL_OK);
    int64_t d[1] = {4};
    float xv[4] = {-1, 2, -3, 4};
    el_tensor in = el_test_f32(1, d, xv);
    for (int i = 0; i < 3; i++) {
        el_tensor out;
        assert_int_equal(el_session_run(s, &in, &out), EL_OK);
        el_tensor_release(&out);
    }
    assert_int_equal(log.calls, 6);
    assert_int_equal(log.neg, 3);
    assert_int_equal(log.relu, 3);
    assert_true(log.ms >= 0);
    el_session_free(s);
    el_tensor_release(&in);
    el_graph_free(g);
}

/* The shared TF1 graphs: every batch norm folds and the session runs (the
 * numbers are checked against the reference in integration/test_reference). */
static void test_shared_graphs(void **state)
{
    (void)state;
    static const char *const dirs[2] = {"models/ssd_mobilenet_v1_aiy_person_cat_dog", "models/ssd_mobilenet_v1_voc"};
    int found = 0;
    for (int i = 0; i < 2; i++) {
        char buf[4096];
        const char *dir = el_test_shared(dirs[i], buf, sizeof buf);
        if (!dir) continue;
        found++;
        el_graph *g;
        assert_int_equal(el_model_open(dir, NULL, &g, NULL), EL_OK);
        const char *feeds[1] = {"image_tensor"};
        const char *fetches[4] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 4, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        int bns = 0;
        for (int n = 0; n < g->nnodes; n++) bns += strncmp(g->nodes[n].op, "FusedBatchNorm", 14) == 0;
        assert_true(bns > 0);
        assert_int_equal(st.bn_folded, bns);
        assert_true(st.act_fused >= bns);
        assert_true(st.folded > 0);
        for (int n = 0; n < og->nnodes; n++) {
            assert_true(strncmp(og->nodes[n].op, "FusedBatchNorm", 14) != 0);
            assert_true(strcmp(og->nodes[n].op, "Relu6") != 0);
        }
        printf("%s: %d -> %d nodes; folded %d, batch norms %d, biases %d, activations %d, identities %d\n", dirs[i],
               st.nodes_before, st.nodes_after, st.folded, st.bn_folded, st.bias_fused, st.act_fused, st.identities);
        el_graph_free(og);
        el_graph_free(g);
    }
    if (!found) skip();
}

/* On a CPU that runs the packed kernel, a constant filter is packed once
 * (ops/gemm.h): the fused convolution reads a [panels, kh, kw, ic, 32]
 * Const and names its layout and depth in private attrs; the folded HWIO
 * filter it replaces is gone; results are unchanged. A filter that is not
 * a constant stays as it is. */
static void test_filter_packing(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_placeholder(&b, "x", EL_DT_FLOAT);
    el_placeholder(&b, "wvar", EL_DT_FLOAT);
    int64_t wd[4] = {3, 3, 5, 40}, cd[1] = {40};
    el_fconst(&b, "w", 4, wd, false);
    el_fconst(&b, "scale", 1, cd, false);
    el_fconst(&b, "offset", 1, cd, false);
    el_fconst(&b, "mean", 1, cd, false);
    el_fconst(&b, "var", 1, cd, true);
    el_conv_attrs(&b, el_gb_node(&b, "conv", "Conv2D", EL_IN("x", "w")), 1);
    int bn = el_gb_node(&b, "bn", "FusedBatchNorm", EL_IN("conv", "scale", "offset", "mean", "var"));
    el_gb_attr_bool(&b, bn, "is_training", false);
    el_gb_node(&b, "relu", "Relu6", EL_IN("bn"));
    el_conv_attrs(&b, el_gb_node(&b, "conv2", "Conv2D", EL_IN("relu", "wvar")), 1);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);

    const char *feeds[2] = {"x", "wvar"}, *fetches[1] = {"conv2"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, 1, fetches, &st, &og), EL_OK);
    assert_non_null(og);
    if (el_filter_layout_preferred() == EL_FILTER_F32_P32) {
        assert_int_equal(st.packed, 1);
        const el_node *r = el_test_find_node(og, "relu");
        assert_non_null(r);
        const el_attr *la = el_node_attr(r, EL_FILTER_LAYOUT_ATTR), *oa = el_node_attr(r, EL_FILTER_OC_ATTR);
        assert_non_null(la);
        assert_non_null(oa);
        assert_int_equal(el_filter_layout_parse(la->v.s.data, la->v.s.len), EL_FILTER_F32_P32);
        assert_int_equal(oa->v.i, 40);
        const el_node *f = &og->nodes[r->inputs[1].node];
        assert_non_null(strstr(f->name, "/_el_packed"));
        const el_attr *v = el_node_attr(f, "value");
        assert_non_null(v);
        int64_t pd[5] = {2, 3, 3, 5, 32};
        el_test_assert_shape(&v->v.tensor, 5, pd);
        assert_null(el_test_find_node(og, "bn/_el_folded_filter"));
        assert_null(el_test_find_node(og, "w"));
        assert_null(el_node_attr(el_test_find_node(og, "conv2"), EL_FILTER_LAYOUT_ATTR));
    } else {
        assert_int_equal(st.packed, 0);
    }
    el_graph_free(og);

    el_tensor in[2] = {el_rand_input(9, 7, 5), {0}};
    int64_t w2[4] = {1, 1, 40, 3};
    assert_int_equal(el_tensor_alloc(&in[1], EL_DT_FLOAT, 4, w2), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&in[1]); i++) ((float *)in[1].data)[i] = el_frand();
    el_same_outputs(g, 2, feeds, in, 1, fetches, 1e-4f);
    el_tensor_release(&in[0]);
    el_tensor_release(&in[1]);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_fold_and_relu6), cmocka_unit_test(test_bias_and_relu),
        cmocka_unit_test(test_no_fusion_when_unsafe), cmocka_unit_test(test_constant_folding),
        cmocka_unit_test(test_control_flow_kept), cmocka_unit_test(test_identity_removal),
        cmocka_unit_test(test_bad_names),         cmocka_unit_test(test_node_hook),
        cmocka_unit_test(test_shared_graphs),     cmocka_unit_test(test_filter_packing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
