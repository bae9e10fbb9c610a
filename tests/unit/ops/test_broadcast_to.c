/* BroadcastTo: stretching size-1 and missing leading dimensions, dtypes by
 * size, and TF's refusals (shrinking, dropping a dimension). */
#include <string.h>

#include "testutil.h"

static el_status bto(el_tensor *x, int r, const int32_t *shape, el_tensor *out)
{
    int64_t d[1] = {r};
    el_tensor in[2] = {*x, el_test_i32(1, d, shape)};
    el_test_node tn;
    el_test_node_init(&tn, "BroadcastTo");
    el_status s = el_test_run(&tn, 2, in, 1, out);
    el_tensor_release(&in[1]);
    return s;
}

static void test_broadcast_to(void **state)
{
    (void)state;
    int64_t d3[1] = {3}, d21[2] = {2, 1};
    el_tensor row = el_test_f32(1, d3, (float[]){1, 2, 3}), col = el_test_f32(2, d21, (float[]){7, 8}), y;
    assert_int_equal(bto(&row, 2, (int32_t[]){2, 3}, &y), EL_OK);
    int64_t d23[2] = {2, 3};
    el_test_assert_shape(&y, 2, d23);
    el_test_assert_f32(&y, (float[]){1, 2, 3, 1, 2, 3}, 6, 0);
    el_tensor_release(&y);
    assert_int_equal(bto(&col, 3, (int32_t[]){2, 2, 3}, &y), EL_OK);
    el_test_assert_f32(&y, (float[]){7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8}, 12, 0);
    el_tensor_release(&y);
    /* Same shape: a copy. */
    assert_int_equal(bto(&row, 1, (int32_t[]){3}, &y), EL_OK);
    el_test_assert_f32(&y, (float[]){1, 2, 3}, 3, 0);
    el_tensor_release(&y);

    /* A uint8 scalar to [2,2]; a zero-size target. */
    uint8_t v = 9;
    el_tensor s = el_test_u8(0, NULL, &v);
    assert_int_equal(bto(&s, 2, (int32_t[]){2, 2}, &y), EL_OK);
    assert_int_equal(y.dtype, EL_DT_UINT8);
    for (int i = 0; i < 4; i++) assert_int_equal(((uint8_t *)y.data)[i], 9);
    el_tensor_release(&y);
    assert_int_equal(bto(&s, 2, (int32_t[]){0, 2}, &y), EL_OK);
    assert_int_equal(el_tensor_numel(&y), 0);
    el_tensor_release(&y);
    el_tensor_release(&s);

    /* Refusals: 3 -> 4, rank 2 -> rank 1, 2 -> 1 (no shrinking), negative. */
    assert_int_equal(bto(&row, 1, (int32_t[]){4}, &y), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Unable to broadcast tensor of shape [3] to tensor of shape [4]"));
    assert_int_equal(bto(&col, 1, (int32_t[]){2}, &y), EL_ERR_RUNTIME);
    assert_int_equal(bto(&col, 2, (int32_t[]){1, 1}, &y), EL_ERR_RUNTIME);
    assert_int_equal(bto(&row, 2, (int32_t[]){-1, 3}, &y), EL_ERR_RUNTIME);
    el_tensor_release(&row);
    el_tensor_release(&col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
