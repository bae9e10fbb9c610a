/* The elementwise fusions of the graph passes (graph/optimize.c):
 * MobileNetV3's hard swish Mul(Mul(x, 1/6), Relu6(Add(x, 3))) becomes one
 * _ElHardSwish and CenterNet's peak test Mul(x, Cast(Equal(x, m))) one
 * _ElKeepEqual (with its MaxPool: one MaxPool keeping the peaks), x * c - d one _ElMulAdd, in every operand order, with the same bits as the unfused
 * nodes; graphs that do not match the patterns stay as they are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/pool.h"
#include "testutil.h"

/* x [1,5,7,3] with values around the kinks (-3, 3) and specials. */
static el_tensor el_hs_input(void)
{
    int64_t d[4] = {1, 5, 7, 3};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, d), EL_OK);
    float *p = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = (float)(i % 41) * 0.25f - 5.0f;
    p[0] = NAN, p[1] = -0.0f, p[2] = INFINITY, p[3] = -INFINITY;
    return t;
}

/* Runs `fetch` optimized and not: the same bits. */
static void el_bits_agree(const el_graph *g, const char *fetch)
{
    el_tensor in = el_hs_input();
    el_test_assert_optimized_same_bits(g, "x", &in, fetch);
    el_tensor_release(&in);
}

/* Builds y = Mul(Mul(x, m), Relu6(Add(x, a))) with the operand orders given. */
static el_graph *el_hswish_graph(bool m_first, bool a_first, bool r6_first, bool vector_m)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    if (vector_m) {
        int n = el_gb_node(&b, "m", "Const", EL_NOIN);
        el_gb_attr_type(&b, n, "dtype", EL_DT_FLOAT);
        el_attr *at = &b.g->nodes[n].attrs[b.g->nodes[n].nattrs++];
        at->name = "value";
        at->type = EL_ATTR_TENSOR;
        int64_t d[1] = {3};
        assert_int_equal(el_tensor_alloc(&at->v.tensor, EL_DT_FLOAT, 1, d), EL_OK);
        for (int i = 0; i < 3; i++) ((float *)at->v.tensor.data)[i] = 0.16666667f;
    } else {
        el_gb_scalar_f32(&b, "m", 0.16666667f, NULL);
    }
    el_gb_scalar_f32(&b, "a", 3.0f, NULL);
    el_gb_node(&b, "mul", "Mul", m_first ? EL_IN("m", "x") : EL_IN("x", "m"));
    el_gb_node(&b, "add", a_first ? "Add" : "AddV2", a_first ? EL_IN("a", "x") : EL_IN("x", "a"));
    el_gb_node(&b, "r6", "Relu6", EL_IN("add"));
    el_gb_node(&b, "y", "Mul", r6_first ? EL_IN("r6", "mul") : EL_IN("mul", "r6"));
    el_gb_node(&b, "z", "Relu", EL_IN("r6")); /* a second reader of r6, fetched only in test_not_fused */
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_fused(void **state)
{
    (void)state;
    for (int v = 0; v < 8; v++) {
        el_graph *g = el_hswish_graph(v & 1, v & 2, v & 4, false);
        const char *feeds[1] = {"x"}, *fetches[1] = {"y"};
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        assert_int_equal(st.hswish_fused, 1);
        const el_node *y = el_test_node_op(og, "y", "_ElHardSwish");
        assert_int_equal(y->ndata, 3);
        assert_null(el_test_find_node(og, "mul"));
        assert_null(el_test_find_node(og, "r6"));
        assert_null(el_test_find_node(og, "add"));
        el_graph_free(og);
        el_bits_agree(g, "y");
        el_graph_free(g);
    }
}

/* Relu6 read twice, or a per-channel multiplier: left alone (and still
 * computing the same). */
static void test_not_fused(void **state)
{
    (void)state;
    el_graph *g = el_hswish_graph(false, false, false, false);
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.hswish_fused, 0);
    el_graph_free(og);
    el_graph_free(g);

    g = el_hswish_graph(false, false, false, true);
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.hswish_fused, 0);
    el_graph_free(og);
    el_bits_agree(g, "y");
    el_graph_free(g);
}

/* y = Mul(x, Cast(Equal(x, m))) with m = MaxPool(x) 3x3 SAME (ties, -0,
 * NaN in the input), operand orders varied. */
static el_graph *el_keep_graph(bool x_first_mul, bool x_first_eq, bool extra_reader, bool lax)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    int mp = el_gb_node(&b, "mp", "MaxPool", EL_IN("x"));
    int64_t ks[4] = {1, 3, 3, 1}, st[4] = {1, 1, 1, 1};
    el_gb_attr_ints(&b, mp, "ksize", 4, ks);
    el_gb_attr_ints(&b, mp, "strides", 4, st);
    el_gb_attr_str(&b, mp, "padding", "SAME");
    int eq = el_gb_node(&b, "eq", "Equal", x_first_eq ? EL_IN("x", "mp") : EL_IN("mp", "x"));
    el_gb_attr_type(&b, eq, "T", EL_DT_FLOAT);
    if (x_first_eq || lax) el_gb_attr_bool(&b, eq, "incompatible_shape_error", !lax); /* TF2 graphs carry it */
    el_gb_cast(&b, "cast", "eq", EL_DT_BOOL, EL_DT_FLOAT);
    el_gb_node(&b, "y", "Mul", x_first_mul ? EL_IN("x", "cast") : EL_IN("cast", "x"));
    if (extra_reader) el_gb_node(&b, "z", "LogicalNot", EL_IN("eq"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_keep_equal(void **state)
{
    (void)state;
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    for (int v = 0; v < 4; v++) {
        el_graph *g = el_keep_graph(v & 1, v & 2, false, false);
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        assert_int_equal(st.keep_equal_fused, 1);
        /* ... and with its MaxPool, one MaxPool keeping the peaks. */
        assert_int_equal(st.keep_equal_pool_fused, 1);
        const el_node *y = el_test_node_op(og, "y", "MaxPool");
        const el_attr *ka = el_node_attr(y, EL_POOL_KEEP_EQUAL_ATTR);
        assert_true(ka && ka->type == EL_ATTR_B && ka->v.b);
        assert_null(el_test_find_node(og, "eq"));
        assert_null(el_test_find_node(og, "cast"));
        assert_null(el_test_find_node(og, "mp"));
        el_graph_free(og);
        el_bits_agree(g, "y");
        /* The MaxPool also fetched: the _ElKeepEqual stays. */
        const char *both[2] = {"y", "mp"};
        assert_int_equal(el_graph_optimize(g, 1, feeds, 2, both, &st, &og), EL_OK);
        assert_int_equal(st.keep_equal_fused, 1);
        assert_int_equal(st.keep_equal_pool_fused, 0);
        assert_string_equal(el_test_find_node(og, "y")->op, "_ElKeepEqual");
        el_graph_free(og);
        el_graph_free(g);
    }
    /* The Equal read elsewhere too, or not strict about shapes: left alone. */
    el_graph *g = el_keep_graph(true, true, true, false);
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.keep_equal_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
    g = el_keep_graph(false, false, false, true);
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.keep_equal_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

/* y = Sub(Mul(x, c), d), Add(d, Mul(c, x)), AddV2(Mul(x, c), d). */
static el_graph *el_mul_add_graph(int form, bool extra_reader)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_scalar_f32(&b, "c", 0.0078431377f, NULL);
    el_gb_scalar_f32(&b, "d", form == 0 ? 1.0f : -0.7f, NULL);
    el_gb_node(&b, "m", "Mul", form == 1 ? EL_IN("c", "x") : EL_IN("x", "c"));
    if (form == 0) el_gb_node(&b, "y", "Sub", EL_IN("m", "d"));
    else if (form == 1) el_gb_node(&b, "y", "Add", EL_IN("d", "m"));
    else el_gb_node(&b, "y", "AddV2", EL_IN("m", "d"));
    if (extra_reader) el_gb_node(&b, "z", "Relu", EL_IN("m"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_mul_add(void **state)
{
    (void)state;
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    for (int form = 0; form < 3; form++) {
        el_graph *g = el_mul_add_graph(form, false);
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        assert_int_equal(st.mul_add_fused, 1);
        el_test_node_op(og, "y", "_ElMulAdd");
        assert_null(el_test_find_node(og, "m"));
        el_graph_free(og);
        el_bits_agree(g, "y");
        el_graph_free(g);
    }
    el_graph *g = el_mul_add_graph(0, true);
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.mul_add_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_keep_equal),
        cmocka_unit_test(test_mul_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
