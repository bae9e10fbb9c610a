/* The concat fusions of the graph passes (graph/optimize.c): a Neg feeding
 * a ConcatV2 (CReLU's Concat(x, Neg(x))) and a Relu or a Sigmoid reading
 * one are applied by the concat's copy (a RealDiv by 1.0 between them
 * bypassed), with the same bits as the unfused nodes (NaN, -0,
 * infinities included), on the channel axis and an outer one; nodes with
 * other readers, or a concat without a float T, stay as they are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/concat.h"
#include "testutil.h"

static el_tensor el_cat_input(void)
{
    int64_t d[4] = {1, 5, 7, 3};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, d), EL_OK);
    float *p = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = (float)(i % 23) * 0.5f - 5.0f;
    p[0] = NAN, p[1] = -0.0f, p[2] = INFINITY, p[3] = -INFINITY, p[4] = 0.0f;
    return t;
}

/* Runs `fetch` optimized and not: the same bits. */
static void el_bits_agree(const el_graph *g, const char *fetch)
{
    el_tensor in = el_cat_input();
    el_test_assert_optimized_same_bits(g, "x", &in, fetch);
    el_tensor_release(&in);
}

/* a = Mul(x, 0.75); cat = ConcatV2(a, Neg(a), x; axis); y = Relu(cat);
 * z reads what `extra` names (a second reader). */
static el_graph *el_graph_of(int axis, bool with_t, const char *extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_crelu_concat(&b, axis, with_t);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Relu", EL_IN("cat")), "T", EL_DT_FLOAT);
    if (extra) el_gb_node(&b, "z", "Relu", EL_IN(extra));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void el_optimize(const el_graph *g, int nfetch, const char *const *fetches, el_optimize_stats *st,
                        el_graph **og)
{
    const char *feeds[1] = {"x"};
    assert_int_equal(el_graph_optimize(g, 1, feeds, nfetch, fetches, st, og), EL_OK);
}

static void test_neg_and_relu(void **state)
{
    (void)state;
    const int axes[3] = {3, -1, 1};
    for (int i = 0; i < 3; i++) {
        el_graph *g = el_graph_of(axes[i], true, NULL);
        el_optimize_stats st;
        el_graph *og;
        const char *fetches[1] = {"y"};
        el_optimize(g, 1, fetches, &st, &og);
        if (!og) fail_msg("axis %d: nothing optimized (%s)", axes[i], el_last_error());
        assert_int_equal(st.concat_neg_fused, 1);
        assert_int_equal(st.concat_relu_fused, 1);
        const el_node *y = el_test_node_op(og, "y", "ConcatV2");
        assert_null(el_test_find_node(og, "neg"));
        assert_null(el_test_find_node(og, "cat"));
        const el_attr *m = el_node_attr(y, EL_CONCAT_NEG_ATTR), *r = el_node_attr(y, EL_CONCAT_RELU_ATTR);
        assert_non_null(m);
        assert_int_equal(m->v.i, 2);
        assert_non_null(r);
        assert_true(r->v.b);
        el_graph_free(og);
        el_bits_agree(g, "y");
        /* The concat alone (CReLU without the Relu): only the Neg. */
        const char *cat[1] = {"cat"};
        el_optimize(g, 1, cat, &st, &og);
        assert_int_equal(st.concat_neg_fused, 1);
        assert_int_equal(st.concat_relu_fused, 0);
        el_graph_free(og);
        el_bits_agree(g, "cat");
        el_graph_free(g);
    }
}

/* A second reader of the Neg or of the concat keeps that node; a concat
 * without T is left alone (its kernel takes the attrs on floats only). */
static void test_not_fused(void **state)
{
    (void)state;
    const char *fetches[2] = {"y", "z"};
    el_optimize_stats st;
    el_graph *og;
    el_graph *g = el_graph_of(3, true, "neg");
    el_optimize(g, 2, fetches, &st, &og);
    assert_int_equal(st.concat_neg_fused, 0);
    assert_int_equal(st.concat_relu_fused, 1);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);

    g = el_graph_of(3, true, "cat");
    el_optimize(g, 2, fetches, &st, &og);
    assert_int_equal(st.concat_neg_fused, 1);
    assert_int_equal(st.concat_relu_fused, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);

    g = el_graph_of(3, false, NULL);
    el_optimize(g, 1, fetches, &st, &og);
    assert_int_equal(st.concat_neg_fused, 0);
    assert_int_equal(st.concat_relu_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

static float el_unit(void) { return 1.0f; }

/* cat = ConcatV2(a, Neg(a), x; axis); d = RealDiv(cat, one) when one is
 * given (a rank-0 float unless one_rank1); y = Sigmoid(d or cat); z reads
 * what `extra` names. */
static el_graph *el_sigmoid_graph(int axis, const float *one, bool one_rank1, const char *extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_crelu_concat(&b, axis, true);
    if (one) {
        if (one_rank1)
            el_gb_const_f32_gen(&b, "one", 1, (const int64_t[]){1}, el_unit, *one);
        else
            el_gb_scalar_f32(&b, "one", *one, NULL);
        el_gb_attr_type(&b, el_gb_node(&b, "d", "RealDiv", EL_IN("cat", "one")), "T", EL_DT_FLOAT);
    }
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Sigmoid", EL_IN(one ? "d" : "cat")), "T", EL_DT_FLOAT);
    if (extra) el_gb_node(&b, "z", "Relu", EL_IN(extra));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

/* Sigmoid(ConcatV2) and Sigmoid(RealDiv(ConcatV2, 1.0)): one ConcatV2 named
 * as the Sigmoid, the Neg applied first, the same bits. */
static void test_sigmoid(void **state)
{
    (void)state;
    const int axes[3] = {3, -1, 1};
    const float one = 1.0f;
    for (int i = 0; i < 3; i++)
        for (int div = 0; div < 2; div++) {
            el_graph *g = el_sigmoid_graph(axes[i], div ? &one : NULL, false, NULL);
            el_optimize_stats st;
            el_graph *og;
            const char *fetches[1] = {"y"};
            el_optimize(g, 1, fetches, &st, &og);
            if (!og) fail_msg("axis %d: nothing optimized (%s)", axes[i], el_last_error());
            assert_int_equal(st.div_one_folded, div);
            assert_int_equal(st.concat_neg_fused, 1);
            assert_int_equal(st.concat_sigmoid_fused, 1);
            const el_node *y = el_test_node_op(og, "y", "ConcatV2");
            assert_null(el_test_find_node(og, "cat"));
            assert_null(el_test_find_node(og, "d"));
            const el_attr *sg = el_node_attr(y, EL_CONCAT_SIGMOID_ATTR);
            assert_non_null(sg);
            assert_true(sg->v.b);
            el_graph_free(og);
            el_bits_agree(g, "y");
            el_graph_free(g);
        }
}

/* Not folded: a RealDiv by 2, by a rank-1 [1] (it could broadcast a scalar
 * x to [1]) or fetched; not fused: a second reader of the concat, or a
 * Sigmoid reading a concat that applies a Relu. */
static void test_sigmoid_not_fused(void **state)
{
    (void)state;
    el_optimize_stats st;
    el_graph *og;
    const char *y[1] = {"y"}, *yd[2] = {"y", "d"}, *yz[2] = {"y", "z"};
    const float two = 2.0f, one = 1.0f;
    el_graph *g = el_sigmoid_graph(3, &two, false, NULL);
    el_optimize(g, 1, y, &st, &og);
    assert_int_equal(st.div_one_folded, 0);
    assert_int_equal(st.concat_sigmoid_fused, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);

    g = el_sigmoid_graph(3, &one, true, NULL);
    el_optimize(g, 1, y, &st, &og);
    assert_int_equal(st.div_one_folded, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);

    g = el_sigmoid_graph(3, &one, false, NULL);
    el_optimize(g, 2, yd, &st, &og);
    assert_int_equal(st.div_one_folded, 0);
    assert_int_equal(st.concat_sigmoid_fused, 0);
    el_graph_free(og);
    el_graph_free(g);

    g = el_sigmoid_graph(3, NULL, false, "cat");
    el_optimize(g, 2, yz, &st, &og);
    assert_int_equal(st.concat_sigmoid_fused, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);

    /* Sigmoid(Relu(cat)): the Relu goes into the concat, the Sigmoid stays. */
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_scalar_i32(&b, "axis", 3, NULL);
    int c = el_gb_node(&b, "cat", "ConcatV2", EL_IN("x", "x", "axis"));
    el_gb_attr_type(&b, c, "T", EL_DT_FLOAT);
    el_gb_attr_int(&b, c, "N", 2);
    el_gb_attr_type(&b, el_gb_node(&b, "r", "Relu", EL_IN("cat")), "T", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Sigmoid", EL_IN("r")), "T", EL_DT_FLOAT);
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_optimize(g, 1, y, &st, &og);
    assert_int_equal(st.concat_relu_fused, 1);
    assert_int_equal(st.concat_sigmoid_fused, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);
}

/* Large enough for several chunks split by elements over 1 and 2 threads
 * (pieces starting inside an input, an input spanning chunks): the bits
 * of the unfused graph. */
static void test_sigmoid_chunks(void **state)
{
    (void)state;
    el_graph *g = el_sigmoid_graph(1, NULL, false, NULL);
    int64_t d[4] = {3, 7, 613, 3};
    el_tensor in;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_FLOAT, 4, d), EL_OK);
    float *p = in.data;
    for (int64_t i = 0; i < el_tensor_numel(&in); i++) p[i] = (float)(i % 211) * 0.37f - 40.0f;
    p[5] = NAN, p[6] = -0.0f, p[7] = INFINITY, p[8] = -INFINITY, p[9] = 1e-40f;
    const char *feeds[1] = {"x"}, *fetches[1] = {"y"};
    el_session_opts off = {.no_optimize = 1, .threads = 1};
    el_session *s0;
    el_tensor ref;
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &off, &s0), EL_OK);
    assert_int_equal(el_session_run(s0, &in, &ref), EL_OK);
    for (int t = 1; t <= 2; t++) {
        el_session_opts on = {.threads = t};
        el_session *s;
        el_tensor out;
        assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &on, &s), EL_OK);
        assert_int_equal(el_session_run(s, &in, &out), EL_OK);
        assert_int_equal(el_tensor_nbytes(&out), el_tensor_nbytes(&ref));
        assert_memory_equal(out.data, ref.data, el_tensor_nbytes(&ref));
        el_tensor_release(&out);
        el_session_free(s);
    }
    el_tensor_release(&ref);
    el_session_free(s0);
    el_tensor_release(&in);
    el_graph_free(g);
}

/* s = Sigmoid(ConcatV2(a, Neg(a), x; axis)); y = Slice(s, begin, size). */
static el_graph *el_slice_graph(int axis, const int32_t *begin, const int32_t *size, bool sigmoid)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_const_i32(&b, "begin", 4, begin, NULL);
    el_gb_const_i32(&b, "size", 4, size, NULL);
    el_gb_crelu_concat(&b, axis, true);
    if (sigmoid) el_gb_attr_type(&b, el_gb_node(&b, "s", "Sigmoid", EL_IN("cat")), "T", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Slice", EL_IN(sigmoid ? "s" : "cat", "begin", "size")), "T",
                    EL_DT_FLOAT);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static int el_slice_fused(const el_graph *g)
{
    const char *fetches[1] = {"y"};
    el_optimize_stats st;
    el_graph *og;
    el_optimize(g, 1, fetches, &st, &og);
    el_graph_free(og);
    return st.concat_slice_fused;
}

/* The class scores' Slice (every axis but the last whole) written by the
 * Sigmoid concat, at 1 and 2 threads, the same bits; not fused: a slice
 * cutting another axis or the concat's own (last) axis, or a concat
 * without the Sigmoid. A slice past the end fails as the Slice does. */
static void test_slice(void **state)
{
    (void)state;
    const int32_t keep[4] = {0, 0, 0, 1}, to_end[4] = {-1, -1, -1, -1}, two[4] = {-1, -1, -1, 2};
    const int32_t cut[4] = {0, 1, 0, 1}, none[4] = {-1, -1, -1, 0};
    const int axes[2] = {1, -2};
    for (int i = 0; i < 2; i++)
        for (int z = 0; z < 3; z++) {
            el_graph *g = el_slice_graph(axes[i], keep, z == 0 ? to_end : z == 1 ? two : none, true);
            assert_int_equal(el_slice_fused(g), 1);
            el_bits_agree(g, "y");
            el_graph_free(g);
        }
    el_graph *g = el_slice_graph(1, cut, to_end, true);
    assert_int_equal(el_slice_fused(g), 0);
    el_bits_agree(g, "y");
    el_graph_free(g);
    g = el_slice_graph(3, keep, to_end, true);
    assert_int_equal(el_slice_fused(g), 0);
    el_bits_agree(g, "y");
    el_graph_free(g);
    g = el_slice_graph(1, keep, to_end, false);
    assert_int_equal(el_slice_fused(g), 0);
    el_graph_free(g);

    /* [3, 7, 613, 3]: lines split over threads inside inputs and rows. */
    g = el_slice_graph(1, keep, two, true);
    int64_t d[4] = {3, 7, 613, 3};
    el_tensor in;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_FLOAT, 4, d), EL_OK);
    float *p = in.data;
    for (int64_t k = 0; k < el_tensor_numel(&in); k++) p[k] = (float)(k % 211) * 0.37f - 40.0f;
    p[5] = NAN, p[6] = -0.0f, p[7] = INFINITY, p[8] = -INFINITY, p[10] = 1e-40f;
    el_session_opts off = {.no_optimize = 1, .threads = 1};
    el_tensor ref = el_test_run_xy(g, &in, false, &off);
    for (int t = 1; t <= 2; t++) {
        el_session_opts on = {.threads = t};
        el_tensor out = el_test_run_xy(g, &in, false, &on);
        el_test_assert_shape(&out, 4, (const int64_t[]){3, 21, 613, 2});
        assert_memory_equal(out.data, ref.data, el_tensor_nbytes(&ref));
        el_tensor_release(&out);
    }
    el_tensor_release(&ref);
    el_tensor_release(&in);
    el_graph_free(g);

    const int32_t past[4] = {-1, -1, -1, 3};
    g = el_slice_graph(1, keep, past, true);
    assert_int_equal(el_slice_fused(g), 1);
    const char *feeds[1] = {"x"}, *fetches[1] = {"y"};
    el_session *s;
    el_tensor x = el_cat_input(), out;
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, NULL, &s), EL_OK);
    assert_int_not_equal(el_session_run(s, &x, &out), EL_OK);
    assert_non_null(strstr(el_last_error(), "Expected size[3] in [0, 2], but got 3"));
    el_session_free(s);
    el_tensor_release(&x);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neg_and_relu),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_sigmoid_not_fused),
        cmocka_unit_test(test_sigmoid_chunks),
        cmocka_unit_test(test_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
