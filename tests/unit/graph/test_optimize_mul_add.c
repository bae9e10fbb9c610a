/* _ElMulAdd taking in what feeds it (graph/optimize.c, ops/mul_add.c):
 * FaceBoxes' input chain Cast(uint8) -> Mul(x, s) -> Pad -> Mul(c, .) ->
 * Sub(., d), whose scaled image is also read by a Shape, becomes one node
 * with the same bits as the unfused graph (border values included), for
 * paddings on an outer and on the innermost dimension, float or uint8
 * input; a second reader of the Pad stops the absorption there. The
 * constants may have control inputs (a loop body's, tied to its frame, as
 * in handtrack's preprocessing): Mul(c, x) then Sub(., d) still fuse, the
 * constants stay as inputs, same bits. A StridedSlice between the uint8
 * Cast and the Mul (handtrack's map_fn body adding the batch axis) slices
 * the uint8 instead and the Cast goes, unless the Cast has another reader. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "testutil.h"

static el_tensor el_ma_input(bool u8)
{
    int64_t d[4] = {1, 5, 7, 3};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, u8 ? EL_DT_UINT8 : EL_DT_FLOAT, 4, d), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) {
        if (u8) ((uint8_t *)t.data)[i] = (uint8_t)(i * 37 % 256);
        else ((float *)t.data)[i] = (float)(i % 29) * 0.37f - 4.0f;
    }
    if (!u8) ((float *)t.data)[1] = NAN, ((float *)t.data)[2] = -0.0f;
    return t;
}

static void el_bits_agree(const el_graph *g, bool u8, const char *fetch)
{
    el_tensor in = el_ma_input(u8);
    el_test_assert_optimized_same_bits(g, "x", &in, fetch);
    el_tensor_release(&in);
}

/* pad_dim: the dimension padded (1 or 3); extra: a second reader of the Pad. */
static el_graph *el_chain(bool u8, int pad_dim, bool extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", u8 ? EL_DT_UINT8 : EL_DT_FLOAT);
    const char *img = "x";
    if (u8) {
        el_gb_cast(&b, "tofloat", "x", EL_DT_UINT8, EL_DT_FLOAT);
        img = "tofloat";
    }
    el_gb_scalar_f32(&b, "s", 0.0039215088f, NULL);
    el_gb_scalar_f32(&b, "c", 2.0f, NULL);
    el_gb_scalar_f32(&b, "d", 1.0f, NULL);
    el_gb_node(&b, "mul", "Mul", EL_IN(img, "s"));
    el_gb_node(&b, "shape", "Shape", EL_IN("mul"));
    int32_t p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    p[2 * pad_dim] = 1, p[2 * pad_dim + 1] = 2;
    el_gb_const_i32(&b, "pflat", 8, p, NULL);
    int32_t pshape[2] = {4, 2};
    el_gb_const_i32(&b, "pshape", 2, pshape, NULL);
    el_gb_node(&b, "paddings", "Reshape", EL_IN("pflat", "pshape"));
    el_gb_node(&b, "pad", "Pad", EL_IN("mul", "paddings"));
    el_gb_node(&b, "m2", "Mul", EL_IN("c", "pad"));
    el_gb_node(&b, "y", "Sub", EL_IN("m2", "d"));
    if (extra) el_gb_node(&b, "z", "Relu", EL_IN("pad"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_chain(void **state)
{
    (void)state;
    for (int v = 0; v < 4; v++) {
        bool u8 = v & 1;
        int dim = v & 2 ? 3 : 1;
        el_graph *g = el_chain(u8, dim, false);
        const char *feeds[1] = {"x"}, *fetches[2] = {"y", "shape"};
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        assert_int_equal(st.mul_add_fused, 1);
        assert_int_equal(st.mul_add_absorbed, u8 ? 3 : 2);
        const el_node *y = el_test_node_op(og, "y", "_ElMulAdd");
        assert_int_equal(y->ndata, 5);
        assert_null(el_test_find_node(og, "pad"));
        assert_null(el_test_find_node(og, "mul"));
        assert_null(el_test_find_node(og, "tofloat"));
        el_graph_free(og);
        el_bits_agree(g, u8, "y");
        el_bits_agree(g, u8, "shape");
        el_graph_free(g);
    }
}

static void test_second_reader(void **state)
{
    (void)state;
    el_graph *g = el_chain(true, 1, true);
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.mul_add_fused, 1);
    assert_int_equal(st.mul_add_absorbed, 0);
    el_graph_free(og);
    el_bits_agree(g, true, "y");
    el_graph_free(g);
}

static void test_controlled_consts(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_node(&b, "ctl", "Identity", EL_IN("x"));
    el_gb_scalar_f32(&b, "c", 0.0078431377f, EL_IN("^ctl"));
    el_gb_scalar_f32(&b, "d", 1.0f, EL_IN("^ctl"));
    el_gb_node(&b, "mul", "Mul", EL_IN("c", "x"));
    el_gb_node(&b, "y", "Sub", EL_IN("mul", "d"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const char *feeds[1] = {"x"}, *fetches[1] = {"y"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_non_null(og);
    assert_int_equal(st.mul_add_fused, 1);
    el_test_node_op(og, "y", "_ElMulAdd");
    assert_non_null(el_test_find_node(og, "c"));
    assert_non_null(el_test_find_node(og, "d"));
    el_graph_free(og);
    el_bits_agree(g, false, "y");
    el_graph_free(g);
}

/* x uint8 -> Cast -> StridedSlice (new axis) -> Mul(c, .) -> Sub(., d);
 * `extra`: the Cast is also fetched through a Relu. */
static el_graph *el_slice_chain(bool extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_UINT8);
    el_gb_cast(&b, "tofloat", "x", EL_DT_UINT8, EL_DT_FLOAT);
    el_gb_const_i32(&b, "b0", 1, (const int32_t[]){0}, NULL);
    el_gb_const_i32(&b, "e0", 1, (const int32_t[]){0}, NULL);
    el_gb_const_i32(&b, "s1", 1, (const int32_t[]){1}, NULL);
    int sl = el_gb_node(&b, "slice", "StridedSlice", EL_IN("tofloat", "b0", "e0", "s1"));
    el_gb_attr_type(&b, sl, "T", EL_DT_FLOAT);
    el_gb_attr_type(&b, sl, "Index", EL_DT_INT32);
    el_gb_attr_int(&b, sl, "new_axis_mask", 1);
    el_gb_scalar_f32(&b, "c", 0.0078431377f, NULL);
    el_gb_scalar_f32(&b, "d", 1.0f, NULL);
    el_gb_node(&b, "mul", "Mul", EL_IN("c", "slice"));
    el_gb_node(&b, "y", "Sub", EL_IN("mul", "d"));
    if (extra) el_gb_node(&b, "z", "Relu", EL_IN("tofloat"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static void test_cast_under_slice(void **state)
{
    (void)state;
    for (int extra = 0; extra < 2; extra++) {
        el_graph *g = el_slice_chain(extra);
        const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 1 + extra, fetches, &st, &og), EL_OK);
        assert_int_equal(st.mul_add_fused, 1);
        assert_int_equal(st.mul_add_absorbed, extra ? 0 : 1);
        el_test_node_op(og, "y", "_ElMulAdd");
        assert_non_null(el_test_find_node(og, "slice"));
        if (extra) assert_non_null(el_test_find_node(og, "tofloat"));
        else assert_null(el_test_find_node(og, "tofloat"));
        el_graph_free(og);
        el_bits_agree(g, true, "y");
        if (extra) el_bits_agree(g, true, "z");
        el_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_second_reader),
        cmocka_unit_test(test_controlled_consts),
        cmocka_unit_test(test_cast_under_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
