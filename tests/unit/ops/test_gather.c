/* Gather, GatherV2 (axis, batch_dims, missing attr), Where against
 * TensorFlow's CPU rules: out-of-range indices are errors naming the index. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

static void assert_err(el_status s, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_tensor_release(out);
}

static el_tensor iota_i32(int ndim, const int64_t *dims)
{
    el_tensor t = el_test_i32(ndim, dims, NULL);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((int32_t *)t.data)[i] = (int32_t)i;
    return t;
}

static void assert_i32(const el_tensor *t, int ndim, const int64_t *dims, const int32_t *want)
{
    el_test_assert_shape(t, ndim, dims);
    assert_int_equal(t->dtype, EL_DT_INT32);
    const int32_t *got = t->data;
    for (int64_t i = 0; i < el_tensor_numel(t); i++)
        if (got[i] != want[i]) fail_msg("element %lld: got %d, want %d", (long long)i, got[i], want[i]);
}

static void assert_i64(const el_tensor *t, int ndim, const int64_t *dims, const int64_t *want)
{
    el_test_assert_shape(t, ndim, dims);
    assert_int_equal(t->dtype, EL_DT_INT64);
    if (el_tensor_numel(t)) assert_memory_equal(t->data, want, el_tensor_nbytes(t));
}

/* Gather (2 inputs) or GatherV2 (axis given); batch_dims < -100: no attr. */
static el_status gather(el_tensor params, el_tensor indices, const int32_t *axis, int64_t batch_dims, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, axis ? "GatherV2" : "Gather");
    if (batch_dims > -100) el_test_attr_int(&tn, "batch_dims", batch_dims);
    el_tensor in[3] = {params, indices, axis ? el_test_i32(0, NULL, axis) : (el_tensor){0}};
    el_status s = el_test_run(&tn, axis ? 3 : 2, in, 1, out);
    el_test_release_all(3, in);
    return s;
}

static void test_gather_v1(void **state)
{
    (void)state;
    el_tensor out;
    el_test_node tn;
    el_test_node_init(&tn, "Gather");
    el_test_attr_bool(&tn, "validate_indices", true);
    el_tensor in[2] = {iota_i32(2, V64(4, 2)), el_test_i32(1, V64(3), V32(3, 0, 3))};
    assert_int_equal(el_test_run(&tn, 2, in, 1, &out), EL_OK);
    assert_i32(&out, 2, V64(3, 2), V32(6, 7, 0, 1, 6, 7));
    el_tensor_release(&out);
    el_test_release_all(2, in);
    /* a scalar index drops the axis; int64 indices */
    assert_int_equal(gather(iota_i32(2, V64(4, 2)), el_test_i64(0, NULL, V64(2)), NULL, -1000, &out), EL_OK);
    assert_i32(&out, 1, V64(2), V32(4, 5));
    el_tensor_release(&out);
    /* 2-D indices */
    assert_int_equal(gather(iota_i32(1, V64(5)), el_test_i32(2, V64(2, 2), V32(4, 3, 0, 0)), NULL, -1000, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(4, 3, 0, 0));
    el_tensor_release(&out);
}

static void test_gather_errors(void **state)
{
    (void)state;
    el_tensor out;
    assert_err(gather(iota_i32(2, V64(4, 2)), el_test_i32(1, V64(2), V32(1, 4)), NULL, -1000, &out), &out,
               "indices[1] = 4 is not in [0, 4)");
    assert_err(gather(iota_i32(2, V64(4, 2)), el_test_i32(1, V64(2), V32(-1, 0)), NULL, -1000, &out), &out,
               "indices[0] = -1 is not in [0, 4)");
    assert_err(gather(iota_i32(1, V64(3)), el_test_i32(2, V64(2, 2), V32(0, 1, 2, 3)), V32(0), -1000, &out), &out,
               "indices[1,1] = 3 is not in [0, 3)");
    assert_err(gather(iota_i32(1, V64(3)), el_test_i32(0, NULL, V32(7)), NULL, -1000, &out), &out,
               "indices = 7 is not in [0, 3)");
    assert_err(gather(iota_i32(0, NULL), el_test_i32(0, NULL, V32(0)), NULL, -1000, &out), &out,
               "params must be at least 1 dimensional");
    assert_err(gather(iota_i32(2, V64(2, 2)), el_test_i32(0, NULL, V32(0)), V32(2), -1000, &out), &out,
               "Shape must be at least rank 3 but is rank 2");
    assert_err(gather(iota_i32(2, V64(2, 2)), el_test_i32(0, NULL, V32(0)), V32(-3), -1000, &out), &out,
               "Shape must be at least rank 3 but is rank 2");
    /* nothing to copy: TF does not look at the indices */
    assert_int_equal(gather(iota_i32(2, V64(0, 3)), el_test_i32(1, V64(2), V32(5, 5)), V32(1), -1000, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);
}

static void test_gather_v2_axis(void **state)
{
    (void)state;
    el_tensor out;
    /* axis 1 of [2,3,2]; no batch_dims attr (old exports) */
    assert_int_equal(gather(iota_i32(3, V64(2, 3, 2)), el_test_i32(1, V64(2), V32(2, 0)), V32(1), -1000, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 5, 0, 1, 10, 11, 6, 7));
    el_tensor_release(&out);
    /* axis -1 with 2-D indices */
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(1, 2), V32(2, 1)), V32(-1), 0, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 1, 2), V32(2, 1, 5, 4));
    el_tensor_release(&out);
    /* empty indices */
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(1, V64(0), NULL), V32(0), 0, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 3));
    el_tensor_release(&out);
}

static void test_gather_batch_dims(void **state)
{
    (void)state;
    el_tensor out;
    /* out[b,i] = params[b, idx[b,i]] */
    const int32_t *idx = V32(2, 0, 1, 1);
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), 1, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(2, 0, 4, 4));
    el_tensor_release(&out);
    assert_int_equal(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), -1, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 2), V32(2, 0, 4, 4));
    el_tensor_release(&out);
    /* axis past batch_dims: params [2,2,3], axis 2, batch_dims 1 -> [2,2,2]
     * out[b,o,i] = params[b,o,idx[b,i]] */
    assert_int_equal(gather(iota_i32(3, V64(2, 2, 3)), el_test_i32(2, V64(2, 2), idx), V32(2), 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(2, 0, 5, 3, 7, 7, 10, 10));
    el_tensor_release(&out);
    /* batch_dims with inner dims: params [2,3,2], axis 1 -> [2,2,2] */
    assert_int_equal(gather(iota_i32(3, V64(2, 3, 2)), el_test_i32(2, V64(2, 2), idx), V32(1), 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 2), V32(4, 5, 0, 1, 8, 9, 8, 9));
    el_tensor_release(&out);

    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(3, 1), V32(0, 0, 0)), V32(1), 1, &out), &out,
               "params.shape[0]: 2 should be equal to indices.shape[0]: 3");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(0), 1, &out), &out,
               "batch_dims (1) must be less than or equal to axis (0).");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), idx), V32(1), 3, &out), &out,
               "Expected batch_dims in the range [-2, 2], but got 3");
    assert_err(gather(iota_i32(2, V64(2, 3)), el_test_i32(2, V64(2, 2), V32(0, 0, 0, 3)), V32(1), 1, &out), &out,
               "indices[1,1] = 3 is not in [0, 3)");
}

static void test_gather_strings(void **state)
{
    (void)state;
    el_tensor p, out;
    assert_int_equal(el_tensor_alloc(&p, EL_DT_STRING, 1, V64(2)), EL_OK);
    ((el_string *)p.data)[0] = (el_string){"cat", 3};
    ((el_string *)p.data)[1] = (el_string){"dog", 3};
    assert_int_equal(gather(p, el_test_i32(1, V64(3), V32(1, 1, 0)), V32(0), 0, &out), EL_OK);
    const el_string *s = out.data;
    assert_memory_equal(s[0].data, "dog", 3);
    assert_memory_equal(s[2].data, "cat", 3);
    el_tensor_release(&out);
}

static el_status where(el_tensor cond, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Where");
    el_status s = el_test_run(&tn, 1, &cond, 1, out);
    el_tensor_release(&cond);
    return s;
}

static void test_where(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(where(el_test_bool(2, V64(2, 3), (const uint8_t[]){1, 0, 1, 0, 0, 1}), &out), EL_OK);
    assert_i64(&out, 2, V64(3, 2), V64(0, 0, 0, 2, 1, 2));
    el_tensor_release(&out);
    /* floats: -0 is zero, NaN is not */
    assert_int_equal(where(el_test_f32(1, V64(4), (const float[]){0.0f, -0.0f, NAN, 2.5f}), &out), EL_OK);
    assert_i64(&out, 2, V64(2, 1), V64(2, 3));
    el_tensor_release(&out);
    assert_int_equal(where(el_test_i32(3, V64(2, 1, 2), V32(0, 7, -1, 0)), &out), EL_OK);
    assert_i64(&out, 2, V64(2, 3), V64(0, 0, 1, 1, 0, 0));
    el_tensor_release(&out);
    /* all false, empty, scalar */
    assert_int_equal(where(el_test_bool(2, V64(2, 2), (const uint8_t[]){0, 0, 0, 0}), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 2));
    el_tensor_release(&out);
    assert_int_equal(where(el_test_bool(3, V64(2, 0, 3), NULL), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 3));
    assert_int_equal(out.dtype, EL_DT_INT64);
    el_tensor_release(&out);
    assert_int_equal(where(el_test_bool(0, NULL, (const uint8_t[]){1}), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(1, 0));
    el_tensor_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_v1),         cmocka_unit_test(test_gather_errors),
        cmocka_unit_test(test_gather_v2_axis),    cmocka_unit_test(test_gather_batch_dims),
        cmocka_unit_test(test_gather_strings),    cmocka_unit_test(test_where),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
