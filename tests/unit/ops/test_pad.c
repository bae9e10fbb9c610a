/* Pad, PadV2, MirrorPad: TF's documented examples, every dtype width, the
 * scalar case and TF's errors. */
#include <string.h>

#include "testutil.h"

static el_tensor paddings(int rank, const int32_t *v)
{
    int64_t d[2] = {rank, 2};
    return el_test_i32(2, d, v);
}

static void test_pad_zeros(void **state)
{
    (void)state;
    int64_t d23[2] = {2, 3};
    el_tensor in[2] = {el_test_f32(2, d23, (float[]){1, 2, 3, 4, 5, 6}), paddings(2, (int32_t[]){1, 0, 0, 2})};
    el_test_node tn;
    el_test_node_init(&tn, "Pad");
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    int64_t d35[2] = {3, 5};
    el_test_assert_shape(&out[0], 2, d35);
    el_test_assert_f32(&out[0], (float[]){0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0}, 15, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in[1]);

    /* int64 paddings, uint8 data; zero padding is a copy. */
    int64_t pd[2] = {2, 2};
    in[1] = el_test_i64(2, pd, (int64_t[]){0, 0, 0, 0});
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    el_test_assert_f32(&out[0], in[0].data, 6, 0);
    el_test_release_all(1, out);

    /* Negative paddings and a paddings matrix of the wrong shape. */
    el_tensor_release(&in[1]);
    in[1] = paddings(2, (int32_t[]){0, -1, 0, 0});
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "non-negative"));
    el_tensor_release(&in[1]);
    in[1] = paddings(1, (int32_t[]){0, 1});
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "2 columns and 2 rows"));
    el_test_release_all(2, in);

    /* A scalar pads to itself (paddings [0, 2]). */
    uint8_t v = 7;
    int64_t p0[2] = {0, 2};
    el_tensor s[2] = {el_test_u8(0, NULL, &v), el_test_i32(2, p0, NULL)};
    assert_int_equal(el_test_run(&tn, 2, s, 1, out), EL_OK);
    assert_int_equal(out[0].ndim, 0);
    assert_int_equal(*(uint8_t *)out[0].data, 7);
    el_test_release_all(1, out);
    el_test_release_all(2, s);

    /* int64 data, 3-D, padding in every dimension. */
    int64_t d122[3] = {1, 2, 2};
    el_tensor t3[2] = {el_test_i64(3, d122, (int64_t[]){1, 2, 3, 4}), paddings(3, (int32_t[]){1, 0, 0, 1, 1, 0})};
    assert_int_equal(el_test_run(&tn, 2, t3, 1, out), EL_OK);
    int64_t d233[3] = {2, 3, 3};
    el_test_assert_shape(&out[0], 3, d233);
    const int64_t *o = out[0].data;
    int64_t want[18] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0};
    for (int i = 0; i < 18; i++) assert_int_equal(o[i], want[i]);
    el_test_release_all(1, out);
    el_test_release_all(2, t3);
}

static void test_pad_v2(void **state)
{
    (void)state;
    int64_t d2[1] = {2};
    int32_t c = -9;
    el_tensor in[3] = {el_test_i32(1, d2, (int32_t[]){1, 2}), paddings(1, (int32_t[]){2, 1}), el_test_i32(0, NULL, &c)};
    el_test_node tn;
    el_test_node_init(&tn, "PadV2");
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 3, in, 1, out), EL_OK);
    const int32_t *o = out[0].data;
    int32_t want[5] = {-9, -9, 1, 2, -9};
    assert_int_equal(el_tensor_numel(&out[0]), 5);
    for (int i = 0; i < 5; i++) assert_int_equal(o[i], want[i]);
    el_test_release_all(1, out);
    /* constant_values must be a scalar of the input's dtype. */
    el_tensor_release(&in[2]);
    in[2] = el_test_i32(1, d2, (int32_t[]){0, 0});
    assert_int_equal(el_test_run(&tn, 3, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "must be a scalar"));
    el_tensor_release(&in[2]);
    float f = 1;
    in[2] = el_test_f32(0, NULL, &f);
    assert_int_equal(el_test_run(&tn, 3, in, 1, out), EL_ERR_RUNTIME);
    el_test_release_all(3, in);
}

static void mirror(const char *mode, const int32_t *pads, const float *want, int64_t rows, int64_t cols)
{
    int64_t d23[2] = {2, 3};
    el_tensor in[2] = {el_test_f32(2, d23, (float[]){1, 2, 3, 4, 5, 6}), paddings(2, pads)};
    el_test_node tn;
    el_test_node_init(&tn, "MirrorPad");
    el_test_attr_str(&tn, "mode", mode);
    el_tensor out[1];
    if (el_test_run(&tn, 2, in, 1, out) != EL_OK) fail_msg("%s", el_last_error());
    int64_t d[2] = {rows, cols};
    el_test_assert_shape(&out[0], 2, d);
    el_test_assert_f32(&out[0], want, rows * cols, 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_mirror_pad(void **state)
{
    (void)state;
    /* tf.pad's documented examples on [[1,2,3],[4,5,6]], paddings [[1,1],[2,2]]. */
    mirror("REFLECT", (int32_t[]){1, 1, 2, 2},
           (float[]){6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1}, 4, 7);
    mirror("SYMMETRIC", (int32_t[]){1, 1, 2, 2},
           (float[]){2, 1, 1, 2, 3, 3, 2, 2, 1, 1, 2, 3, 3, 2, 5, 4, 4, 5, 6, 6, 5, 5, 4, 4, 5, 6, 6, 5}, 4, 7);
    /* SYMMETRIC allows a padding equal to the size. */
    mirror("SYMMETRIC", (int32_t[]){0, 0, 3, 0}, (float[]){3, 2, 1, 1, 2, 3, 6, 5, 4, 4, 5, 6}, 2, 6);
    mirror("REFLECT", (int32_t[]){0, 1, 0, 0}, (float[]){1, 2, 3, 4, 5, 6, 1, 2, 3}, 3, 3);

    /* REFLECT needs paddings < size; an unknown mode is refused. */
    int64_t d23[2] = {2, 3};
    el_tensor in[2] = {el_test_f32(2, d23, (float[]){1, 2, 3, 4, 5, 6}), paddings(2, (int32_t[]){0, 0, 3, 0})};
    el_test_node tn;
    el_test_node_init(&tn, "MirrorPad");
    el_test_attr_str(&tn, "mode", "REFLECT");
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "no greater than"));
    el_test_node_init(&tn, "MirrorPad");
    el_test_attr_str(&tn, "mode", "EDGE");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(2, in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad_zeros),
        cmocka_unit_test(test_pad_v2),
        cmocka_unit_test(test_mirror_pad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
