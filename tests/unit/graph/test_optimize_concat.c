/* The concat fusions of the graph passes (graph/optimize.c): a Neg feeding
 * a ConcatV2 (CReLU's Concat(x, Neg(x))) and a Relu reading one are applied
 * by the concat's copy, with the same bits as the unfused nodes (NaN, -0,
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
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_scalar_f32(&b, "c", 0.75f, NULL);
    el_gb_scalar_i32(&b, "axis", axis, NULL);
    el_gb_node(&b, "a", "Mul", EL_IN("x", "c"));
    el_gb_attr_type(&b, el_gb_node(&b, "neg", "Neg", EL_IN("a")), "T", EL_DT_FLOAT);
    int c = el_gb_node(&b, "cat", "ConcatV2", EL_IN("a", "neg", "x", "axis"));
    if (with_t) el_gb_attr_type(&b, c, "T", EL_DT_FLOAT);
    el_gb_attr_int(&b, c, "N", 3);
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
        const el_node *y = el_test_find_node(og, "y");
        assert_non_null(y);
        assert_string_equal(y->op, "ConcatV2");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neg_and_relu),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
