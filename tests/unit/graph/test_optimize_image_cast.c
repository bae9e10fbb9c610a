/* The OD API preprocessor's uint8 -> float Cast sunk into the resize
 * (graph/optimize.c el_opt_image_cast): x (uint8 images) -> Cast -> a
 * TensorArray scattered from it, read one image per iteration of a map_fn
 * loop -> ExpandDims -> ResizeBilinear -> written out and gathered. The
 * optimized graph gives the unoptimized one's bits with no Cast left; a
 * second reader of the read (or of the Cast) keeps the Cast. */
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "testutil.h"

/* extra: 0 none, 1 a Relu reading the TensorArray read, 2 a Relu reading the Cast. */
static el_graph *el_map_resize(bool expand, int extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_UINT8);
    el_gb_cast(&b, "tofloat", "x", EL_DT_UINT8, EL_DT_FLOAT);
    el_gb_node(&b, "shape", "Shape", EL_IN("tofloat"));
    int32_t idx[2] = {0, 1}, hw[2] = {5, 4};
    el_gb_const_i32(&b, "idx", 2, idx, NULL);
    el_gb_scalar_i32(&b, "n", 2, NULL);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    int ta = el_gb_node(&b, "ta_in", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta, "dtype", EL_DT_FLOAT);
    int ta2 = el_gb_node(&b, "ta_out", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta2, "dtype", EL_DT_FLOAT);
    int sc = el_gb_node(&b, "scatter", "TensorArrayScatterV3", EL_IN("ta_in", "idx", "tofloat", "ta_in:1"));
    el_gb_attr_type(&b, sc, "T", EL_DT_FLOAT);
    el_gb_while(&b, "w", "map", 2, EL_IN("zero", "ta_out:1"), "n"); /* i (0), the output's flow (1) */
    el_gb_enter(&b, "w/TaIn", "ta_in", "map", true);
    el_gb_enter(&b, "w/TaInFlow", "scatter", "map", true);
    el_gb_enter(&b, "w/TaOut", "ta_out", "map", true);
    int rd = el_gb_node(&b, "w/read", "TensorArrayReadV3", EL_IN("w/TaIn", "w/Id_0", "w/TaInFlow"));
    el_gb_attr_type(&b, rd, "dtype", EL_DT_FLOAT);
    el_gb_const_i32(&b, "w/size", 2, hw, EL_IN("^w/Id_0"));
    const char *img = "w/read";
    if (expand) {
        el_gb_scalar_i32(&b, "w/dim", 0, EL_IN("^w/Id_0"));
        el_gb_node(&b, "w/expand", "ExpandDims", EL_IN("w/read", "w/dim"));
        img = "w/expand";
    }
    int rz = el_gb_node(&b, "w/resize", "ResizeBilinear", EL_IN(img, "w/size"));
    el_gb_attr_bool(&b, rz, "half_pixel_centers", true);
    const char *out = "w/resize";
    if (extra == 1) { /* resize + sum(relu(read)): the read has a second reader (expand only: rank 3) */
        int32_t axes[3] = {0, 1, 2};
        el_gb_const_i32(&b, "w/axes", 3, axes, EL_IN("^w/Id_0"));
        el_gb_node(&b, "w/relu", "Relu", EL_IN("w/read"));
        el_gb_node(&b, "w/total", "Sum", EL_IN("w/relu", "w/axes"));
        el_gb_node(&b, "w/sum", "Add", EL_IN("w/resize", "w/total"));
        out = "w/sum";
    }
    el_gb_node(&b, "w/write", "TensorArrayWriteV3", EL_IN("w/TaOut", "w/Id_0", out, "w/Id_1"));
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_0"));
    el_gb_node(&b, "w/add", "Add", EL_IN("w/Id_0", "w/one"));
    el_gb_node(&b, "w/Next_0", "NextIteration", EL_IN("w/add"));
    el_gb_node(&b, "w/Next_1", "NextIteration", EL_IN("w/write"));
    el_gb_attr_type(&b, el_gb_node(&b, "gather", "TensorArrayGatherV3", EL_IN("ta_out", "idx", "w/Exit_1")), "dtype",
                    EL_DT_FLOAT);
    if (extra == 2) {
        el_gb_node(&b, "relu", "Relu", EL_IN("tofloat"));
        el_gb_node(&b, "y", "Sum", EL_IN("relu", "zero"));
    }
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_images(bool expand)
{
    /* Two images of 7x6x3, as one batch (expand: each is read as [7,6,3]
     * then expanded) or as two [1,7,6,3] batches (read as they are). */
    int64_t d5[5] = {2, 1, 7, 6, 3}, d4[4] = {2, 7, 6, 3};
    el_tensor t;
    assert_int_equal(expand ? el_tensor_alloc(&t, EL_DT_UINT8, 4, d4) : el_tensor_alloc(&t, EL_DT_UINT8, 5, d5), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((uint8_t *)t.data)[i] = (uint8_t)(i * 89 % 256);
    return t;
}

static int el_count_op(const el_graph *g, const char *op)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++) n += !strcmp(g->nodes[i].op, op);
    return n;
}

static void el_check(bool expand, int extra, int want_sunk)
{
    el_graph *g = el_map_resize(expand, extra);
    el_tensor in = el_images(expand);
    el_test_assert_optimized_same_bits(g, "x", &in, "gather");
    if (extra == 2) el_test_assert_optimized_same_bits(g, "x", &in, "y");
    const char *feeds[1] = {"x"}, *fetches[2] = {"gather", "y"};
    el_optimize_stats st;
    el_graph *og = NULL;
    assert_int_equal(el_graph_optimize(g, 1, feeds, extra == 2 ? 2 : 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.image_cast_sunk, want_sunk);
    /* og is NULL when no pass changed anything. */
    assert_int_equal(el_count_op(og ? og : g, "Cast"), want_sunk ? 0 : 1);
    el_graph_free(og);
    el_tensor_release(&in);
    el_graph_free(g);
}

static void test_sunk(void **state)
{
    (void)state;
    el_check(true, 0, 1);  /* read -> ExpandDims -> ResizeBilinear */
    el_check(false, 0, 1); /* read -> ResizeBilinear */
}

static void test_kept(void **state)
{
    (void)state;
    el_check(true, 1, 0); /* the read has a second reader */
    el_check(true, 2, 0); /* the Cast has a reader other than the scatter and Shape */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sunk),
        cmocka_unit_test(test_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
