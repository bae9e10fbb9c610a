/* Slice, StridedSlice (every mask, negative strides, clamping, shrink
 * errors), Split, SplitV, Unpack against TensorFlow's rules. Expected values
 * are worked out by hand from x[i][j][k] = 12i + 4j + k style iotas. */
#include "testutil.h"

#include <string.h>

#include "ops/kernel.h"

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

static void assert_err(el_status s, int n, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_test_release_all(n, out);
}

static el_tensor iota_i32(int ndim, const int64_t *dims)
{
    el_tensor t = el_test_i32(ndim, dims, NULL);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((int32_t *)t.data)[i] = (int32_t)i;
    return t;
}

static el_tensor vec32(int n, const int32_t *v)
{
    int64_t d[1] = {n};
    return el_test_i32(1, d, v);
}

static void assert_i32(const el_tensor *t, int ndim, const int64_t *dims, const int32_t *want)
{
    el_test_assert_shape(t, ndim, dims);
    assert_int_equal(t->dtype, EL_DT_INT32);
    const int32_t *got = t->data;
    for (int64_t i = 0; i < el_tensor_numel(t); i++)
        if (got[i] != want[i]) fail_msg("element %lld: got %d, want %d", (long long)i, got[i], want[i]);
}

/* ---- Slice ---- */

static el_status slice(el_tensor x, int n, const int32_t *begin, const int32_t *size, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Slice");
    el_tensor in[3] = {x, vec32(n, begin), vec32(n, size)};
    el_status s = el_test_run(&tn, 3, in, 1, out);
    el_test_release_all(3, in);
    return s;
}

static void test_slice(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(slice(iota_i32(2, V64(3, 4)), 2, V32(1, 1), V32(2, -1), &out), EL_OK);
    assert_i32(&out, 2, V64(2, 3), V32(5, 6, 7, 9, 10, 11));
    el_tensor_release(&out);
    assert_int_equal(slice(iota_i32(3, V64(2, 3, 4)), 3, V32(1, 0, 2), V32(1, 2, 2), &out), EL_OK);
    assert_i32(&out, 3, V64(1, 2, 2), V32(14, 15, 18, 19));
    el_tensor_release(&out);
    /* whole tensor: handed back without a copy */
    el_tensor x = iota_i32(1, V64(4));
    void *data = x.data;
    assert_int_equal(slice(x, 1, V32(0), V32(-1), &out), EL_OK);
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    /* zero-size slices and zero-size dims */
    assert_int_equal(slice(iota_i32(1, V64(4)), 1, V32(4), V32(0), &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);
    assert_int_equal(slice(iota_i32(2, V64(0, 3)), 2, V32(0, 1), V32(-1, 2), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);

    assert_err(slice(iota_i32(1, V64(4)), 1, V32(5), V32(0), &out), 1, &out, "Expected begin[0] in [0, 4], but got 5");
    assert_err(slice(iota_i32(1, V64(4)), 1, V32(-1), V32(1), &out), 1, &out, "Expected begin[0] in [0, 4], but got -1");
    assert_err(slice(iota_i32(1, V64(4)), 1, V32(1), V32(4), &out), 1, &out, "Expected size[0] in [0, 3], but got 4");
    assert_err(slice(iota_i32(2, V64(0, 3)), 2, V32(1, 0), V32(0, 1), &out), 1, &out,
               "Expected begin[0] == 0 (got 1) and size[0] == 0 (got 0) when input.dim_size(0) == 0");
    assert_err(slice(iota_i32(2, V64(2, 2)), 1, V32(0), V32(1), &out), 1, &out,
               "Expected begin and size arguments to be 1-D tensors of size 2, but got shapes [1] and [1] instead.");
}

static void test_slice_strings(void **state)
{
    (void)state;
    el_tensor x, out;
    const int64_t d[1] = {3};
    assert_int_equal(el_tensor_alloc(&x, EL_DT_STRING, 1, d), EL_OK);
    el_string *s = x.data;
    s[0] = (el_string){"a", 1};
    s[1] = (el_string){"bc", 2};
    s[2] = (el_string){"def", 3};
    assert_int_equal(slice(x, 1, V32(1), V32(2), &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_STRING);
    const el_string *o = out.data;
    assert_int_equal(o[0].len, 2);
    assert_memory_equal(o[0].data, "bc", 2);
    assert_memory_equal(o[1].data, "def", 3);
    el_tensor_release(&out);
}

/* ---- StridedSlice ---- */

typedef struct ss_masks {
    int64_t begin, end, ellipsis, new_axis, shrink;
} ss_masks;

static el_status strided(el_tensor x, int n, const int32_t *b, const int32_t *e, const int32_t *s, ss_masks m,
                         el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "StridedSlice");
    /* absent masks default to 0: only set the non-zero ones */
    if (m.begin) el_test_attr_int(&tn, "begin_mask", m.begin);
    if (m.end) el_test_attr_int(&tn, "end_mask", m.end);
    if (m.ellipsis) el_test_attr_int(&tn, "ellipsis_mask", m.ellipsis);
    if (m.new_axis) el_test_attr_int(&tn, "new_axis_mask", m.new_axis);
    if (m.shrink) el_test_attr_int(&tn, "shrink_axis_mask", m.shrink);
    el_tensor in[4] = {x, vec32(n, b), vec32(n, e), vec32(n, s)};
    el_status st = el_test_run(&tn, 4, in, 1, out);
    el_test_release_all(4, in);
    return st;
}

static void test_strided_basic_and_masks(void **state)
{
    (void)state;
    el_tensor out;
    /* x[0:2, 1:3, ::2] */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 3, V32(0, 1, 0), V32(2, 3, 0), V32(1, 1, 2),
                             (ss_masks){.end = 4}, &out),
                     EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 6, 8, 10, 16, 18, 20, 22));
    el_tensor_release(&out);
    /* x[:, :2]: begin_mask on both, end_mask on dim 0, implicit trailing ellipsis */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 2, V32(9, 9), V32(9, 2), V32(1, 1),
                             (ss_masks){.begin = 3, .end = 1}, &out),
                     EL_OK);
    assert_i32(&out, 3, V64(2, 2, 4), V32(0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19));
    el_tensor_release(&out);
    /* x[:, 1]: shrink an inner dim */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 2, V32(0, 1), V32(0, 2), V32(1, 1),
                             (ss_masks){.begin = 1, .end = 1, .shrink = 2}, &out),
                     EL_OK);
    assert_i32(&out, 2, V64(2, 4), V32(4, 5, 6, 7, 16, 17, 18, 19));
    el_tensor_release(&out);
    /* x[-1]: begin -1, end 0, shrink -> the last row, rank reduced */
    assert_int_equal(strided(iota_i32(2, V64(3, 2)), 1, V32(-1), V32(0), V32(1), (ss_masks){.shrink = 1}, &out),
                     EL_OK);
    assert_i32(&out, 1, V64(2), V32(4, 5));
    el_tensor_release(&out);
    /* x[1] of a vector: a scalar */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(1), V32(2), V32(1), (ss_masks){.shrink = 1}, &out), EL_OK);
    assert_i32(&out, 0, NULL, V32(1));
    el_tensor_release(&out);
}

static void test_strided_negative_strides(void **state)
{
    (void)state;
    el_tensor out;
    /* x[..., ::-1] */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 2, V32(0, 0), V32(0, 0), V32(1, -1),
                             (ss_masks){.ellipsis = 1, .begin = 2, .end = 2}, &out),
                     EL_OK);
    int32_t want[24];
    for (int r = 0; r < 6; r++)
        for (int k = 0; k < 4; k++) want[r * 4 + k] = r * 4 + 3 - k;
    assert_i32(&out, 3, V64(2, 3, 4), want);
    el_tensor_release(&out);
    /* x[3::-1] */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(3), V32(0), V32(-1), (ss_masks){.end = 1}, &out), EL_OK);
    assert_i32(&out, 1, V64(4), V32(3, 2, 1, 0));
    el_tensor_release(&out);
    /* x[::-2] */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(0), V32(0), V32(-2), (ss_masks){.begin = 1, .end = 1}, &out),
                     EL_OK);
    assert_i32(&out, 1, V64(3), V32(4, 2, 0));
    el_tensor_release(&out);
    /* x[-2:0:-1] and a 2-D reversal with a stride of -2 on rows */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(-2), V32(0), V32(-1), (ss_masks){0}, &out), EL_OK);
    assert_i32(&out, 1, V64(3), V32(3, 2, 1));
    el_tensor_release(&out);
    assert_int_equal(strided(iota_i32(2, V64(3, 2)), 2, V32(0, 1), V32(0, 0), V32(-2, -1),
                             (ss_masks){.begin = 1, .end = 3}, &out),
                     EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(5, 4, 1, 0));
    el_tensor_release(&out);
}

static void test_strided_clamping(void **state)
{
    (void)state;
    el_tensor out;
    /* x[-100:100] takes everything (and forwards the buffer) */
    el_tensor x = iota_i32(1, V64(5));
    void *data = x.data;
    assert_int_equal(strided(x, 1, V32(-100), V32(100), V32(1), (ss_masks){0}, &out), EL_OK);
    assert_i32(&out, 1, V64(5), V32(0, 1, 2, 3, 4));
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    /* x[100:-100:-1] reverses everything: bounds clamp to [-1, 4] */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(100), V32(-100), V32(-1), (ss_masks){0}, &out), EL_OK);
    assert_i32(&out, 1, V64(5), V32(4, 3, 2, 1, 0));
    el_tensor_release(&out);
    /* x[10:20] and x[-100:-200:-1] are empty; x[3:1] (against the stride) too */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(10), V32(20), V32(1), (ss_masks){0}, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(-100), V32(-200), V32(-1), (ss_masks){0}, &out), EL_OK);
    el_test_assert_shape(&out, 1, V64(0));
    el_tensor_release(&out);
    assert_int_equal(strided(iota_i32(2, V64(5, 2)), 1, V32(3), V32(1), V32(1), (ss_masks){0}, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);
    /* x[1:4:2] with a remainder: ceil(3/2) = 2 */
    assert_int_equal(strided(iota_i32(1, V64(5)), 1, V32(1), V32(4), V32(2), (ss_masks){0}, &out), EL_OK);
    assert_i32(&out, 1, V64(2), V32(1, 3));
    el_tensor_release(&out);
}

static void test_strided_ellipsis_new_axis(void **state)
{
    (void)state;
    el_tensor out;
    /* y[1, ..., 2] on [2,3,4,5]: the ellipsis in the middle spans 2 dims */
    assert_int_equal(strided(iota_i32(4, V64(2, 3, 4, 5)), 3, V32(1, 0, 2), V32(2, 0, 3), V32(1, 1, 1),
                             (ss_masks){.ellipsis = 2, .shrink = 5}, &out),
                     EL_OK);
    int32_t want[12];
    for (int b = 0; b < 3; b++)
        for (int c = 0; c < 4; c++) want[b * 4 + c] = 60 + 20 * b + 5 * c + 2;
    assert_i32(&out, 2, V64(3, 4), want);
    el_tensor_release(&out);
    /* x[tf.newaxis, 0, :, -1] on [2,3,4] */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 4, V32(0, 0, 0, -1), V32(0, 1, 0, 0), V32(1, 1, 1, 1),
                             (ss_masks){.new_axis = 1, .shrink = 10, .begin = 4, .end = 4}, &out),
                     EL_OK);
    assert_i32(&out, 2, V64(1, 3), V32(3, 7, 11));
    el_tensor_release(&out);
    /* x[..., tf.newaxis] and x[tf.newaxis, ..., tf.newaxis] on [2,3] */
    assert_int_equal(strided(iota_i32(2, V64(2, 3)), 2, V32(0, 0), V32(0, 0), V32(1, 1),
                             (ss_masks){.ellipsis = 1, .new_axis = 2}, &out),
                     EL_OK);
    assert_i32(&out, 3, V64(2, 3, 1), V32(0, 1, 2, 3, 4, 5));
    el_tensor_release(&out);
    assert_int_equal(strided(iota_i32(2, V64(2, 3)), 3, V32(0, 0, 0), V32(0, 0, 0), V32(1, 1, 1),
                             (ss_masks){.ellipsis = 2, .new_axis = 5}, &out),
                     EL_OK);
    el_test_assert_shape(&out, 4, V64(1, 2, 3, 1));
    el_tensor_release(&out);
    /* x[tf.newaxis, ..., 1::2] : new axis before the ellipsis, a range after */
    assert_int_equal(strided(iota_i32(2, V64(2, 4)), 3, V32(0, 0, 1), V32(0, 0, 4), V32(1, 1, 2),
                             (ss_masks){.ellipsis = 2, .new_axis = 1}, &out),
                     EL_OK);
    assert_i32(&out, 3, V64(1, 2, 2), V32(1, 3, 5, 7));
    el_tensor_release(&out);
    /* new_axis and shrink on the same entry: the new axis wins */
    assert_int_equal(strided(iota_i32(2, V64(2, 3)), 1, V32(0), V32(1), V32(1), (ss_masks){.new_axis = 1, .shrink = 1},
                             &out),
                     EL_OK);
    el_test_assert_shape(&out, 3, V64(1, 2, 3));
    el_tensor_release(&out);
    /* ellipsis after a shrink: x[1, ...] */
    assert_int_equal(strided(iota_i32(3, V64(2, 3, 4)), 2, V32(1, 0), V32(2, 0), V32(1, 1),
                             (ss_masks){.ellipsis = 2, .shrink = 1}, &out),
                     EL_OK);
    el_test_assert_shape(&out, 2, V64(3, 4));
    assert_int_equal(((int32_t *)out.data)[0], 12);
    el_tensor_release(&out);
}

static void test_strided_int64_specs(void **state)
{
    (void)state;
    el_test_node tn;
    el_test_node_init(&tn, "StridedSlice");
    el_test_attr_int(&tn, "end_mask", 4);
    el_tensor in[4] = {iota_i32(3, V64(2, 3, 4)), el_test_i64(1, V64(3), V64(0, 1, 0)),
                       el_test_i64(1, V64(3), V64(2, 3, 0)), el_test_i64(1, V64(3), V64(1, 1, 2))};
    el_tensor out;
    assert_int_equal(el_test_run(&tn, 4, in, 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 6, 8, 10, 16, 18, 20, 22));
    el_tensor_release(&out);
    el_test_release_all(4, in);
    /* extreme int64 bounds and strides: x[1:INT64_MAX:INT64_MAX, ::INT64_MIN] */
    el_test_node_init(&tn, "StridedSlice");
    el_test_attr_int(&tn, "begin_mask", 2);
    el_test_attr_int(&tn, "end_mask", 2);
    el_tensor in2[4] = {iota_i32(2, V64(3, 2)), el_test_i64(1, V64(2), V64(1, 0)),
                        el_test_i64(1, V64(2), V64(INT64_MAX, 0)), el_test_i64(1, V64(2), V64(INT64_MAX, INT64_MIN))};
    assert_int_equal(el_test_run(&tn, 4, in2, 1, &out), EL_OK);
    assert_i32(&out, 2, V64(1, 1), V32(3));
    el_tensor_release(&out);
    el_test_release_all(4, in2);
}

static void test_strided_errors(void **state)
{
    (void)state;
    el_tensor out;
    assert_err(strided(iota_i32(1, V64(5)), 1, V32(5), V32(6), V32(1), (ss_masks){.shrink = 1}, &out), 1, &out,
               "slice index 5 of dimension 0 out of bounds.");
    assert_err(strided(iota_i32(1, V64(5)), 1, V32(-6), V32(-5), V32(1), (ss_masks){.shrink = 1}, &out), 1, &out,
               "slice index -1 of dimension 0 out of bounds.");
    assert_err(strided(iota_i32(1, V64(5)), 1, V32(0), V32(5), V32(0), (ss_masks){0}, &out), 1, &out,
               "strides[0] must be non-zero");
    assert_err(strided(iota_i32(1, V64(5)), 1, V32(2), V32(1), V32(-1), (ss_masks){.shrink = 1}, &out), 1, &out,
               "only stride 1 allowed on non-range indexing.");
    assert_err(strided(iota_i32(2, V64(5, 2)), 2, V32(0, 0), V32(0, 0), V32(1, 1), (ss_masks){.ellipsis = 3}, &out),
               1, &out, "Multiple ellipses in slice spec not allowed");
    assert_err(strided(iota_i32(1, V64(5)), 2, V32(0, 0), V32(1, 1), V32(1, 1), (ss_masks){0}, &out), 1, &out,
               "Index out of range using input dim 1; input has only 1 dims");
    assert_err(strided(iota_i32(0, NULL), 1, V32(0), V32(1), V32(1), (ss_masks){0}, &out), 1, &out,
               "Attempting to slice scalar input.");
    el_test_node tn;
    el_test_node_init(&tn, "StridedSlice");
    el_tensor in[4] = {iota_i32(1, V64(5)), vec32(1, V32(0)), vec32(2, V32(0, 1)), vec32(1, V32(1))};
    assert_err(el_test_run(&tn, 4, in, 1, &out), 1, &out,
               "Expected begin, end, and strides to be 1D equal size tensors, but got shapes [1], [2], and [1] instead.");
    el_test_release_all(4, in);
}

/* ---- Split, SplitV, Unpack ---- */

static void test_split(void **state)
{
    (void)state;
    el_test_node tn;
    el_tensor out[3];
    const el_op *op = el_op_find("Split");
    el_test_node_init(&tn, "Split");
    el_test_attr_int(&tn, "num_split", 2);
    assert_int_equal(op->noutputs(&tn.node), 2);
    for (int32_t sd = -1; sd <= 1; sd += 2) {
        el_tensor in[2] = {el_test_i32(0, NULL, &sd), iota_i32(2, V64(2, 4))};
        assert_int_equal(el_test_run(&tn, 2, in, 2, out), EL_OK);
        assert_i32(&out[0], 2, V64(2, 2), V32(0, 1, 4, 5));
        assert_i32(&out[1], 2, V64(2, 2), V32(2, 3, 6, 7));
        el_test_release_all(2, out);
        el_test_release_all(2, in);
    }
    el_tensor in[2] = {el_test_i32(0, NULL, V32(0)), iota_i32(2, V64(2, 4))};
    assert_int_equal(el_test_run(&tn, 2, in, 2, out), EL_OK);
    assert_i32(&out[0], 2, V64(1, 4), V32(0, 1, 2, 3));
    assert_i32(&out[1], 2, V64(1, 4), V32(4, 5, 6, 7));
    el_test_release_all(2, out);
    /* three ways do not divide 4 */
    assert_err(el_test_run(&tn, 2, in, 3, out), 3, out,
               "Number of ways to split should evenly divide the split dimension, but got split_dim 0 (size = 2) and "
               "num_split 3");
    /* one way: the input itself */
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    assert_ptr_equal(out[0].data, in[1].data);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
    el_tensor bad[2] = {el_test_i32(0, NULL, V32(2)), iota_i32(2, V64(2, 4))};
    assert_err(el_test_run(&tn, 2, bad, 2, out), 2, out, "-input rank(-2) <= split_dim < input rank (2), but got 2");
    el_test_release_all(2, bad);

    el_test_node_init(&tn, "Split");
    assert_int_equal(op->noutputs(&tn.node), -1);
    assert_non_null(strstr(el_last_error(), "missing attr 'num_split'"));
    el_test_attr_int(&tn, "num_split", 0);
    assert_int_equal(op->noutputs(&tn.node), -1);
}

static el_status split_v(el_tensor x, int n, const int32_t *sizes, int32_t dim, int nout, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "SplitV");
    el_test_attr_int(&tn, "num_split", nout);
    el_tensor in[3] = {x, vec32(n, sizes), el_test_i32(0, NULL, &dim)};
    el_status s = el_test_run(&tn, 3, in, nout, out);
    el_test_release_all(3, in);
    return s;
}

static void test_split_v(void **state)
{
    (void)state;
    el_tensor out[3];
    assert_int_equal(split_v(iota_i32(1, V64(5)), 3, V32(1, -1, 1), 0, 3, out), EL_OK);
    assert_i32(&out[0], 1, V64(1), V32(0));
    assert_i32(&out[1], 1, V64(3), V32(1, 2, 3));
    assert_i32(&out[2], 1, V64(1), V32(4));
    el_test_release_all(3, out);
    assert_int_equal(split_v(iota_i32(2, V64(2, 5)), 3, V32(2, 0, 3), -1, 3, out), EL_OK);
    assert_i32(&out[0], 2, V64(2, 2), V32(0, 1, 5, 6));
    el_test_assert_shape(&out[1], 2, V64(2, 0));
    assert_i32(&out[2], 2, V64(2, 3), V32(2, 3, 4, 7, 8, 9));
    el_test_release_all(3, out);
    assert_int_equal(split_v(iota_i32(1, V64(5)), 1, V32(5), 0, 1, out), EL_OK);
    el_test_assert_shape(&out[0], 1, V64(5));
    el_test_release_all(1, out);

    assert_err(split_v(iota_i32(1, V64(5)), 3, V32(-1, -1, 1), 0, 3, out), 3, out, "There can only be one -1 in the input.");
    assert_err(split_v(iota_i32(1, V64(5)), 3, V32(1, 1, 1), 0, 3, out), 3, out,
               "Determined shape must either match input shape along split_dim exactly if fully specified, or be less "
               "than the size of the input along split_dim if not fully specified.  Got: 3");
    assert_err(split_v(iota_i32(1, V64(5)), 2, V32(6, -1), 0, 2, out), 2, out, "Got: 6");
    assert_err(split_v(iota_i32(1, V64(5)), 2, V32(-3, 8), 0, 2, out), 2, out, "Split size at index 0 must be >= 0. Got: -3");
    /* TF compares a lone size literally, so -1 is refused there */
    assert_err(split_v(iota_i32(1, V64(5)), 1, V32(-1), 0, 1, out), 1, out,
               "If there is only one output, it must have the same size as the input. Input size: 5 output size: -1");
    assert_err(split_v(iota_i32(1, V64(5)), 2, V32(2, 3), 0, 3, out), 3, out,
               "size of the split_tensor must be 1-D and have the same elements as outputs got 1 -D and 2 elements");
}

static el_status unpack(el_tensor x, int64_t axis, int nout, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Unpack");
    el_test_attr_int(&tn, "num", nout);
    el_test_attr_int(&tn, "axis", axis);
    el_tensor in[1] = {x};
    el_status s = el_test_run(&tn, 1, in, nout, out);
    el_test_release_all(1, in);
    return s;
}

static void test_unpack(void **state)
{
    (void)state;
    el_tensor out[3];
    assert_int_equal(unpack(iota_i32(2, V64(3, 2)), 0, 3, out), EL_OK);
    assert_i32(&out[0], 1, V64(2), V32(0, 1));
    assert_i32(&out[1], 1, V64(2), V32(2, 3));
    assert_i32(&out[2], 1, V64(2), V32(4, 5));
    el_test_release_all(3, out);
    assert_int_equal(unpack(iota_i32(2, V64(3, 2)), -1, 2, out), EL_OK);
    assert_i32(&out[0], 1, V64(3), V32(0, 2, 4));
    assert_i32(&out[1], 1, V64(3), V32(1, 3, 5));
    el_test_release_all(2, out);
    assert_int_equal(unpack(iota_i32(1, V64(2)), 0, 2, out), EL_OK);
    assert_i32(&out[1], 0, NULL, V32(1));
    el_test_release_all(2, out);
    assert_err(unpack(iota_i32(2, V64(3, 2)), 0, 2, out), 2, out, "Input shape axis 0 must equal 2, got shape [3,2]");
    assert_err(unpack(iota_i32(2, V64(3, 2)), 2, 2, out), 2, out, "axis = 2 not in [-2, 2)");

    el_test_node tn;
    el_test_node_init(&tn, "Unpack");
    el_test_attr_int(&tn, "num", 4);
    assert_int_equal(el_op_find("Unpack")->noutputs(&tn.node), 4);
}

static uint32_t el_rnd_state = 3;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

/* Split, SplitV and Unpack of [rows, k] along the last axis for element
 * sizes 1 to 8: single columns (the deinterleaving path) and SplitV sizes
 * like {0, 2, 1, 1} that add up to k without all being 1; against
 * out_i[r, c] = in[r, pos_i + c]. */
static void test_split_columns_vs_reference(void **state)
{
    (void)state;
    static const el_dtype dts[4] = {EL_DT_UINT8, EL_DT_INT16, EL_DT_FLOAT, EL_DT_INT64};
    for (int it = 0; it < 400; it++) {
        const el_dtype dt = dts[it % 4];
        const size_t es = el_dtype_size(dt);
        const int k = 2 + (int)(el_rnd() % 5);
        const int64_t rows = el_rnd() % 50;
        const int form = it % 3; /* 0 Split, 1 SplitV, 2 Unpack */
        int32_t sizes[8];
        for (int i = 0; i < k; i++) sizes[i] = 1;
        if (form == 1 && it % 2) { sizes[0] = 0; sizes[1] = 2; }
        el_tensor x, keep, out[8];
        int64_t d[2] = {rows, k};
        assert_int_equal(el_tensor_alloc(&x, dt, 2, d), EL_OK);
        for (size_t b = 0; b < el_tensor_nbytes(&x); b++) ((uint8_t *)x.data)[b] = (uint8_t)el_rnd();
        keep = x;
        el_tensor_retain(&keep);
        if (form == 0) {
            el_test_node tn;
            el_test_node_init(&tn, "Split");
            el_test_attr_int(&tn, "num_split", k);
            int32_t sd = 1;
            el_tensor in[2] = {el_test_i32(0, NULL, &sd), x};
            assert_int_equal(el_test_run(&tn, 2, in, k, out), EL_OK);
            el_test_release_all(2, in);
        } else if (form == 1) {
            assert_int_equal(split_v(x, k, sizes, -1, k, out), EL_OK);
        } else {
            assert_int_equal(unpack(x, 1, k, out), EL_OK);
        }
        int64_t pos = 0;
        for (int i = 0; i < k; i++) {
            if (form == 2) el_test_assert_shape(&out[i], 1, V64(rows));
            else el_test_assert_shape(&out[i], 2, V64(rows, sizes[i]));
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < sizes[i]; c++)
                    if (memcmp((uint8_t *)out[i].data + (r * sizes[i] + c) * (int64_t)es,
                               (uint8_t *)keep.data + (r * k + pos + c) * (int64_t)es, es))
                        fail_msg("case %d: output %d row %lld col %lld differs", it, i, (long long)r, (long long)c);
            pos += sizes[i];
        }
        el_test_release_all(k, out);
        el_tensor_release(&keep);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_slice_strings),
        cmocka_unit_test(test_strided_basic_and_masks),
        cmocka_unit_test(test_strided_negative_strides),
        cmocka_unit_test(test_strided_clamping),
        cmocka_unit_test(test_strided_ellipsis_new_axis),
        cmocka_unit_test(test_strided_int64_specs),
        cmocka_unit_test(test_strided_errors),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_v),
        cmocka_unit_test(test_split_columns_vs_reference),
        cmocka_unit_test(test_unpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
