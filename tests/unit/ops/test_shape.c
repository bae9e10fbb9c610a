/* Reshape, ExpandDims, Squeeze, Shape, ShapeN, Size, Rank, Range against
 * TensorFlow's rules, error messages included. */
#include "testutil.h"

#include <string.h>

#include "ops/kernel.h"

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

/* Runs `tn` on `nin` inputs (released here), one output. */
static el_status run(el_test_node *tn, int nin, el_tensor *in, el_tensor *out)
{
    el_status s = el_test_run(tn, nin, in, 1, out);
    el_test_release_all(nin, in);
    return s;
}

static void assert_err(el_status s, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_tensor_release(out);
}

static el_tensor vec32(int n, const int32_t *v)
{
    int64_t d[1] = {n};
    return el_test_i32(1, d, v);
}

static el_tensor iota_f32(int ndim, const int64_t *dims)
{
    el_tensor t = el_test_f32(ndim, dims, NULL);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((float *)t.data)[i] = (float)i;
    return t;
}

/* Reshape `in` dims to `shape` (int32); returns the status. */
static el_status reshape(int ndim, const int64_t *dims, int n, const int32_t *shape, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Reshape");
    el_tensor in[2] = {iota_f32(ndim, dims), vec32(n, shape)};
    return run(&tn, 2, in, out);
}

static void test_reshape(void **state)
{
    (void)state;
    el_test_node tn;
    el_tensor out;
    /* -1 inferred; the result shares the input buffer. */
    el_test_node_init(&tn, "Reshape");
    el_tensor in[2] = {iota_f32(2, V64(2, 3)), vec32(2, V32(3, -1))};
    void *data = in[0].data;
    el_tensor_retain(&in[0]);
    el_tensor keep = in[0];
    assert_int_equal(run(&tn, 2, in, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(3, 2));
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    el_tensor_release(&keep);

    /* int64 shape, to rank 3 */
    el_test_node_init(&tn, "Reshape");
    el_tensor in2[2] = {iota_f32(1, V64(24)), el_test_i64(1, V64(3), V64(2, -1, 4))};
    assert_int_equal(run(&tn, 2, in2, &out), EL_OK);
    el_test_assert_shape(&out, 3, V64(2, 3, 4));
    el_tensor_release(&out);

    /* to a scalar and back; a scalar shape is TF's legacy 1-element shape */
    assert_int_equal(reshape(2, V64(1, 1), 0, NULL, &out), EL_OK);
    el_test_assert_shape(&out, 0, NULL);
    el_tensor_release(&out);
    el_test_node_init(&tn, "Reshape");
    el_tensor in3[2] = {iota_f32(2, V64(2, 3)), el_test_i32(0, NULL, V32(-1))};
    assert_int_equal(run(&tn, 2, in3, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(6));
    el_tensor_release(&out);

    /* empty tensors: zero dims stay out of the -1 inference */
    assert_int_equal(reshape(2, V64(0, 6), 2, V32(0, -1), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 6));
    el_tensor_release(&out);
    assert_int_equal(reshape(2, V64(0, 6), 2, V32(-1, 6), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 6));
    el_tensor_release(&out);
    assert_int_equal(reshape(2, V64(0, 6), 3, V32(2, -1, 3), &out), EL_OK);
    el_test_assert_shape(&out, 3, V64(2, 0, 3));
    el_tensor_release(&out);
    /* zero-element input with huge other dims: no overflow */
    assert_int_equal(reshape(3, V64(0, INT64_C(1) << 40, INT64_C(1) << 40), 2, V32(0, -1), &out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "overflow"));
    el_tensor_release(&out);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    el_tensor out;
    assert_err(reshape(2, V64(2, 3), 2, V32(-1, -1), &out), &out, "Only one input size may be -1, not both 0 and 1");
    assert_err(reshape(2, V64(2, 3), 2, V32(4, 2), &out), &out,
               "Input to reshape is a tensor with 6 values, but the requested shape has 8");
    assert_err(reshape(2, V64(2, 3), 2, V32(4, -1), &out), &out,
               "Input to reshape is a tensor with 6 values, but the requested shape requires a multiple of 4");
    assert_err(reshape(2, V64(2, 3), 2, V32(-2, 3), &out), &out, "Size 0 must be non-negative, not -2");
    assert_err(reshape(2, V64(0, 6), 2, V32(5, 1), &out), &out, "tensor with 0 values, but the requested shape has 5");
    /* no crash on an over-rank request */
    assert_err(reshape(1, V64(1), 9, V32(1, 1, 1, 1, 1, 1, 1, 1, 1), &out), &out, "rank 9");
    el_test_node tn;
    el_test_node_init(&tn, "Reshape");
    el_tensor in[2] = {iota_f32(1, V64(4)), el_test_i32(2, V64(1, 2), V32(2, 2))};
    assert_err(run(&tn, 2, in, &out), &out, "sizes input must be 1-D, not [1,2]");
}

static el_status expand(int32_t dim, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "ExpandDims");
    el_tensor in[2] = {iota_f32(2, V64(2, 3)), el_test_i32(0, NULL, &dim)};
    return run(&tn, 2, in, out);
}

static void test_expand_dims(void **state)
{
    (void)state;
    el_tensor out;
    static const struct { int32_t dim; int64_t want[3]; } cases[] = {
        {0, {1, 2, 3}}, {1, {2, 1, 3}}, {2, {2, 3, 1}}, {-1, {2, 3, 1}}, {-2, {2, 1, 3}}, {-3, {1, 2, 3}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(expand(cases[i].dim, &out), EL_OK);
        el_test_assert_shape(&out, 3, cases[i].want);
        el_tensor_release(&out);
    }
    assert_err(expand(3, &out), &out, "Tried to expand dim index 3 for tensor with 2 dimensions.");
    assert_err(expand(-4, &out), &out, "Tried to expand dim index -4 for tensor with 2 dimensions.");
    /* a one-element int64 vector works as the dim; two values do not */
    el_test_node tn;
    el_test_node_init(&tn, "ExpandDims");
    el_tensor in[2] = {el_test_f32(0, NULL, (const float[]){5}), el_test_i64(1, V64(1), V64(0))};
    assert_int_equal(run(&tn, 2, in, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(1));
    el_tensor_release(&out);
    el_tensor in2[2] = {iota_f32(1, V64(3)), vec32(2, V32(0, 1))};
    assert_err(run(&tn, 2, in2, &out), &out, "'dim' must be a tensor with a single value");
}

static el_status squeeze(const char *attr, int n, const int64_t *dims_attr, int ndim, const int64_t *dims,
                         el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Squeeze");
    if (attr) el_test_attr_ints(&tn, attr, n, dims_attr);
    el_tensor in[1] = {iota_f32(ndim, dims)};
    return run(&tn, 1, in, out);
}

static void test_squeeze(void **state)
{
    (void)state;
    el_tensor out;
    const int64_t *d5 = V64(1, 2, 1, 3, 1);
    assert_int_equal(squeeze(NULL, 0, NULL, 5, d5, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(2, 3));
    el_tensor_release(&out);
    /* an empty list is "all size-1 dims" too */
    assert_int_equal(squeeze("squeeze_dims", 0, V64(0), 5, d5, &out), EL_OK); /* n = 0 */
    el_test_assert_shape(&out, 2, V64(2, 3));
    el_tensor_release(&out);
    assert_int_equal(squeeze("squeeze_dims", 1, V64(2), 5, d5, &out), EL_OK);
    el_test_assert_shape(&out, 4, V64(1, 2, 3, 1));
    el_tensor_release(&out);
    assert_int_equal(squeeze("squeeze_dims", 3, V64(-1, 0, 4), 5, d5, &out), EL_OK);
    el_test_assert_shape(&out, 3, V64(2, 1, 3));
    el_tensor_release(&out);
    assert_int_equal(squeeze("axis", 1, V64(-5), 5, d5, &out), EL_OK);
    el_test_assert_shape(&out, 4, V64(2, 1, 3, 1));
    el_tensor_release(&out);
    assert_int_equal(squeeze(NULL, 0, NULL, 2, V64(1, 1), &out), EL_OK);
    el_test_assert_shape(&out, 0, NULL);
    el_tensor_release(&out);
    assert_err(squeeze("squeeze_dims", 1, V64(1), 5, d5, &out), &out,
               "Can not squeeze dim[1], expected a dimension of 1, got 2");
    assert_err(squeeze("squeeze_dims", 1, V64(5), 5, d5, &out), &out,
               "Tried to squeeze dim index 5 for tensor with 5 dimensions.");
    assert_err(squeeze("squeeze_dims", 1, V64(-6), 5, d5, &out), &out, "Tried to squeeze dim index -6");
}

static void test_shape_size_rank(void **state)
{
    (void)state;
    el_test_node tn;
    el_tensor out;
    el_test_node_init(&tn, "Shape");
    el_tensor in[1] = {iota_f32(3, V64(2, 0, 4))};
    assert_int_equal(run(&tn, 1, in, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_INT32);
    el_test_assert_shape(&out, 1, V64(3));
    assert_memory_equal(out.data, V32(2, 0, 4), 12);
    el_tensor_release(&out);

    el_test_node_init(&tn, "Shape");
    el_test_attr_type(&tn, "out_type", EL_DT_INT64);
    el_tensor in2[1] = {el_test_f32(0, NULL, (const float[]){1})};
    assert_int_equal(run(&tn, 1, in2, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_INT64);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);

    el_test_node_init(&tn, "Size");
    el_tensor in3[1] = {iota_f32(2, V64(3, 5))};
    assert_int_equal(run(&tn, 1, in3, &out), EL_OK);
    el_test_assert_shape(&out, 0, NULL);
    assert_int_equal(*(int32_t *)out.data, 15);
    el_tensor_release(&out);
    el_test_node_init(&tn, "Size");
    el_test_attr_type(&tn, "out_type", EL_DT_INT64);
    el_tensor in4[1] = {iota_f32(2, V64(3, 0))};
    assert_int_equal(run(&tn, 1, in4, &out), EL_OK);
    assert_int_equal(*(int64_t *)out.data, 0);
    el_tensor_release(&out);

    el_test_node_init(&tn, "Rank");
    el_tensor in5[1] = {iota_f32(4, V64(1, 2, 3, 4))};
    assert_int_equal(run(&tn, 1, in5, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_INT32);
    assert_int_equal(*(int32_t *)out.data, 4);
    el_tensor_release(&out);

    el_test_node_init(&tn, "Shape");
    el_test_attr_type(&tn, "out_type", EL_DT_FLOAT);
    el_tensor in6[1] = {iota_f32(1, V64(2))};
    assert_err(run(&tn, 1, in6, &out), &out, "out_type");
}

static void test_shape_n(void **state)
{
    (void)state;
    el_test_node tn;
    el_test_node_init(&tn, "ShapeN");
    el_test_attr_int(&tn, "N", 2);
    el_test_attr_type(&tn, "out_type", EL_DT_INT64);
    const el_op *op = el_op_find("ShapeN");
    assert_non_null(op);
    assert_non_null(op->noutputs);
    assert_int_equal(op->noutputs(&tn.node), 2);
    el_tensor in[2] = {iota_f32(2, V64(2, 3)), el_test_u8(1, V64(7), NULL)};
    el_tensor out[2];
    assert_int_equal(el_test_run(&tn, 2, in, 2, out), EL_OK);
    el_test_assert_shape(&out[0], 1, V64(2));
    assert_memory_equal(out[0].data, V64(2, 3), 16);
    el_test_assert_shape(&out[1], 1, V64(1));
    assert_memory_equal(out[1].data, V64(7), 8);
    el_test_release_all(2, out);
    el_test_release_all(2, in);

    el_test_node_init(&tn, "ShapeN");
    el_test_attr_int(&tn, "N", 0);
    assert_int_equal(op->noutputs(&tn.node), -1);
    assert_non_null(strstr(el_last_error(), "'N'"));
}

/* Range with int32 bounds; out receives the result. */
static el_status range_i32(int32_t start, int32_t limit, int32_t delta, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Range");
    el_tensor in[3] = {el_test_i32(0, NULL, &start), el_test_i32(0, NULL, &limit), el_test_i32(0, NULL, &delta)};
    return run(&tn, 3, in, out);
}

static el_status range_f32(float start, float limit, float delta, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Range");
    el_test_attr_type(&tn, "Tidx", EL_DT_FLOAT);
    el_tensor in[3] = {el_test_f32(0, NULL, &start), el_test_f32(0, NULL, &limit), el_test_f32(0, NULL, &delta)};
    return run(&tn, 3, in, out);
}

static void test_range(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(range_i32(0, 10, 3, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(4));
    assert_memory_equal(out.data, V32(0, 3, 6, 9), 16);
    el_tensor_release(&out);
    assert_int_equal(range_i32(10, 0, -3, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(4));
    assert_memory_equal(out.data, V32(10, 7, 4, 1), 16);
    el_tensor_release(&out);
    assert_int_equal(range_i32(-5, -1, 2, &out), EL_OK);
    assert_memory_equal(out.data, V32(-5, -3), 8);
    el_tensor_release(&out);
    assert_int_equal(range_i32(4, 4, 1, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);
    assert_int_equal(range_i32(4, 4, -1, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);

    /* int64 with extreme bounds: no overflow in the size */
    el_test_node tn;
    el_test_node_init(&tn, "Range");
    el_tensor in[3] = {el_test_i64(0, NULL, V64(INT64_MAX - 2)), el_test_i64(0, NULL, V64(INT64_MAX)),
                       el_test_i64(0, NULL, V64(1))};
    assert_int_equal(run(&tn, 3, in, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_INT64);
    assert_memory_equal(out.data, V64(INT64_MAX - 2, INT64_MAX - 1), 16);
    el_tensor_release(&out);

    /* float: size ceil(|(limit-start)/delta|) in float, values by repeated
     * addition, bit for bit */
    assert_int_equal(range_f32(0.0f, 1.0f, 0.1f, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(10));
    float want[10], v = 0.0f;
    for (int i = 0; i < 10; i++, v += 0.1f) want[i] = v;
    assert_memory_equal(out.data, want, sizeof want);
    el_tensor_release(&out);
    assert_int_equal(range_f32(1.0f, -1.0f, -0.5f, &out), EL_OK);
    el_test_assert_f32(&out, (const float[]){1, 0.5f, 0, -0.5f}, 4, 0);
    el_tensor_release(&out);
    assert_int_equal(range_f32(0.0f, 1.05f, 0.5f, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(3));
    el_tensor_release(&out);

    assert_err(range_i32(0, 10, 0, &out), &out, "Requires delta != 0: 0");
    assert_err(range_i32(10, 0, 1, &out), &out, "Requires start <= limit when delta > 0: 10/0");
    assert_err(range_i32(0, 10, -1, &out), &out, "Requires start >= limit when delta < 0: 0/10");
    assert_err(range_f32(0.0f, 1.0f, 0.0f, &out), &out, "Requires delta != 0");
    assert_err(range_f32(0.0f, 1.0f, -1.0f, &out), &out, "Requires start >= limit when delta < 0: 0/1");

    el_test_node_init(&tn, "Range");
    el_tensor in2[3] = {vec32(2, V32(0, 1)), el_test_i32(0, NULL, V32(3)), el_test_i32(0, NULL, V32(1))};
    assert_err(run(&tn, 3, in2, &out), &out, "start must be a scalar, not shape [2]");
    /* a one-element vector is accepted as a scalar (TF legacy) */
    el_tensor in3[3] = {vec32(1, V32(1)), el_test_i32(0, NULL, V32(3)), el_test_i32(0, NULL, V32(1))};
    assert_int_equal(run(&tn, 3, in3, &out), EL_OK);
    assert_memory_equal(out.data, V32(1, 2), 8);
    el_tensor_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape),       cmocka_unit_test(test_reshape_errors),
        cmocka_unit_test(test_expand_dims),   cmocka_unit_test(test_squeeze),
        cmocka_unit_test(test_shape_size_rank), cmocka_unit_test(test_shape_n),
        cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
