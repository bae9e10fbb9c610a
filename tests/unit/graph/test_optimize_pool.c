/* The pooling fusions of the graph passes (graph/optimize.c): a MaxPool
 * over a channel ConcatV2 (CReLU's Concat(x, Neg(x)) before FaceBoxes'
 * pools) pools the concat's inputs side by side, and a Relu reading a
 * MaxPool is applied by it, with the same bits as the unfused nodes (NaN,
 * -0, infinities included); nodes with other readers, a concat on another
 * axis, and inputs the kernel cannot pool side by side are left alone or
 * rejected with a clear error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/pool.h"
#include "testutil.h"

/* [1, 6, 7, 20]: 20 channels, a full AVX-512 vector and a partial one. */
static el_tensor el_pool_input(void)
{
    int64_t d[4] = {1, 6, 7, 20};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, d), EL_OK);
    float *p = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = (float)((i * 7) % 31) * 0.25f - 4.0f;
    p[0] = NAN, p[1] = -0.0f, p[2] = INFINITY, p[3] = -INFINITY, p[4] = 0.0f, p[45] = NAN, p[101] = -NAN;
    return t;
}

static void el_pool_attrs(el_gb *b, int node, int64_t k, int64_t stride, const char *padding)
{
    const int64_t ks[4] = {1, k, k, 1}, st[4] = {1, stride, stride, 1};
    el_gb_attr_ints(b, node, "ksize", 4, ks);
    el_gb_attr_ints(b, node, "strides", 4, st);
    el_gb_attr_str(b, node, "padding", padding);
    el_gb_attr_type(b, node, "T", EL_DT_FLOAT);
}

/* a = Mul(x, 0.75); cat = ConcatV2(a, Neg(a), x; axis); p = MaxPool(cat);
 * y = Relu(p); z reads what `extra` names (a second reader). */
static el_graph *el_graph_of(int axis, int64_t k, int64_t stride, const char *padding, const char *extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_crelu_concat(&b, axis, true);
    el_pool_attrs(&b, el_gb_node(&b, "p", "MaxPool", EL_IN("cat")), k, stride, padding);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Relu", EL_IN("p")), "T", EL_DT_FLOAT);
    if (extra) el_gb_attr_type(&b, el_gb_node(&b, "z", "Relu", EL_IN(extra)), "T", EL_DT_FLOAT);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void el_bits_agree(const el_graph *g, const char *fetch)
{
    el_tensor in = el_pool_input();
    el_test_assert_optimized_same_bits(g, "x", &in, fetch);
    el_tensor_release(&in);
}

static void el_optimize(const el_graph *g, int nfetch, const char *const *fetches, el_optimize_stats *st,
                        el_graph **og)
{
    const char *feeds[1] = {"x"};
    assert_int_equal(el_graph_optimize(g, 1, feeds, nfetch, fetches, st, og), EL_OK);
}

/* g's passes fetching `fetch` (and "z" when also_z) fuse the concat and the
 * Relu into the pool or not as told, with the same bits. Frees g. */
static void el_expect(el_graph *g, const char *fetch, bool also_z, int concat_fused, int relu_fused)
{
    const char *fetches[2] = {fetch, "z"};
    el_optimize_stats st;
    el_graph *og;
    el_optimize(g, also_z ? 2 : 1, fetches, &st, &og);
    assert_int_equal(st.pool_concat_fused, concat_fused);
    assert_int_equal(st.pool_relu_fused, relu_fused);
    el_graph_free(og);
    el_bits_agree(g, fetch);
    el_graph_free(g);
}

static void test_concat_and_relu(void **state)
{
    (void)state;
    static const struct {
        int axis;
        int64_t k, stride;
        const char *padding;
    } cases[] = {{3, 3, 2, "SAME"}, {-1, 3, 2, "VALID"}, {3, 2, 1, "SAME"}, {3, 1, 1, "VALID"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        el_graph *g = el_graph_of(cases[i].axis, cases[i].k, cases[i].stride, cases[i].padding, NULL);
        el_optimize_stats st;
        el_graph *og;
        const char *fetches[1] = {"y"};
        el_optimize(g, 1, fetches, &st, &og);
        if (!og) fail_msg("case %zu: nothing optimized (%s)", i, el_last_error());
        assert_int_equal(st.pool_concat_fused, 1);
        assert_int_equal(st.pool_relu_fused, 1);
        const el_node *y = el_test_node_op(og, "y", "MaxPool");
        assert_null(el_test_find_node(og, "cat"));
        assert_null(el_test_find_node(og, "p"));
        const el_attr *m = el_node_attr(y, EL_POOL_NEG_ATTR), *r = el_node_attr(y, EL_POOL_RELU_ATTR);
        assert_non_null(m);
        assert_int_equal(m->v.i, 2);
        assert_non_null(r);
        assert_true(r->v.b);
        el_graph_free(og);
        el_bits_agree(g, "y");
        /* The pool alone: the concat fused, no Relu. */
        el_expect(g, "p", false, 1, 0);
    }
}

/* A second reader of the concat or of the pool keeps that node; a concat
 * on another axis is not pooled side by side. */
static void test_not_fused(void **state)
{
    (void)state;
    el_expect(el_graph_of(3, 3, 2, "SAME", "cat"), "y", true, 0, 1);
    el_expect(el_graph_of(3, 3, 2, "SAME", "p"), "y", true, 1, 0);
    /* Concatenated along the rows: the pool's windows cross the inputs. */
    el_expect(el_graph_of(1, 3, 2, "SAME", NULL), "y", false, 0, 1);
}

/* A MaxPool carrying the private attr over inputs it cannot pool side by
 * side (another size, too many) fails with a message naming the input. */
static void test_bad_inputs(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_pool_attrs(&b, el_gb_node(&b, "x2", "MaxPool", EL_IN("x")), 2, 2, "VALID");
    int p = el_gb_node(&b, "y", "MaxPool", EL_IN("x", "x2"));
    el_pool_attrs(&b, p, 3, 1, "SAME");
    el_gb_attr_int(&b, p, EL_POOL_NEG_ATTR, 1);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[1] = {"y"};
    el_session_opts off = {.no_optimize = 1};
    el_session *s;
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &off, &s), EL_OK);
    el_tensor in = el_pool_input(), out;
    assert_int_not_equal(el_session_run(s, &in, &out), EL_OK);
    const char *e = el_last_error();
    if (!strstr(e, "input 1") || !strstr(e, "side by side")) fail_msg("unexpected error: %s", e);
    el_session_free(s);
    el_graph_free(g);

    /* Two inputs without the attr: not a MaxPool of TensorFlow's. */
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_pool_attrs(&b, el_gb_node(&b, "y", "MaxPool", EL_IN("x", "x")), 3, 1, "SAME");
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &off, &s), EL_OK);
    assert_int_not_equal(el_session_run(s, &in, &out), EL_OK);
    if (!strstr(el_last_error(), "expected 1 input")) fail_msg("unexpected error: %s", el_last_error());
    el_session_free(s);
    el_graph_free(g);
    el_tensor_release(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat_and_relu),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
