/* Transpose against a naive index loop for every permutation of a 4-D
 * tensor (this also exercises el_copy_strided's dim merging), plus TF's
 * permutation checks and forwarding. */
#include "testutil.h"

#include <string.h>

#include "ops/array_util.h"

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

static void assert_err(el_status s, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_tensor_release(out);
}

static el_status transpose(el_tensor x, el_tensor perm, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Transpose");
    el_tensor in[2] = {x, perm};
    el_status s = el_test_run(&tn, 2, in, 1, out);
    el_test_release_all(2, in);
    return s;
}

static void test_transpose_2d(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(transpose(el_test_i32(2, V64(2, 3), V32(0, 1, 2, 3, 4, 5)), el_test_i32(1, V64(2), V32(1, 0)), &out),
                     EL_OK);
    el_test_assert_shape(&out, 2, V64(3, 2));
    assert_memory_equal(out.data, V32(0, 3, 1, 4, 2, 5), 24);
    el_tensor_release(&out);
}

/* Matrices with few columns on one side (the column-copy path) or none,
 * float32 and int8, against out[j][i] = in[i][j]. */
static void test_transpose_2d_columns(void **state)
{
    (void)state;
    const int64_t shapes[][2] = {{4, 1001}, {1001, 4}, {3, 17}, {17, 3}, {16, 40}, {40, 16}, {17, 18}, {1, 5}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int t = 0; t < 2; t++) {
            const int64_t *d = shapes[si];
            el_dtype dt = t ? EL_DT_INT8 : EL_DT_FLOAT;
            el_tensor x;
            assert_int_equal(el_tensor_alloc(&x, dt, 2, d), EL_OK);
            for (int64_t i = 0; i < d[0] * d[1]; i++) {
                if (t) ((int8_t *)x.data)[i] = (int8_t)(i * 7);
                else ((float *)x.data)[i] = (float)i + 0.5f;
            }
            el_tensor keep = x;
            el_tensor_retain(&keep);
            el_tensor out;
            assert_int_equal(transpose(x, el_test_i32(1, V64(2), V32(1, 0)), &out), EL_OK);
            el_test_assert_shape(&out, 2, V64(d[1], d[0]));
            for (int64_t j = 0; j < d[1]; j++)
                for (int64_t i = 0; i < d[0]; i++) {
                    if (t) assert_int_equal(((int8_t *)out.data)[j * d[0] + i], ((int8_t *)keep.data)[i * d[1] + j]);
                    else assert_true(((float *)out.data)[j * d[0] + i] == ((float *)keep.data)[i * d[1] + j]);
                }
            el_tensor_release(&out);
            el_tensor_release(&keep);
        }
}

/* Every permutation of [2,3,4,5] (uint8 and int64 elements) vs the naive
 * definition out[i0,i1,i2,i3] = in[idx with idx[perm[k]] = ik]. */
static void test_transpose_all_perms_4d(void **state)
{
    (void)state;
    const int64_t dims[4] = {2, 3, 4, 5};
    const el_dtype types[2] = {EL_DT_UINT8, EL_DT_INT64};
    int checked = 0;
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < 256; p++) {
            int64_t perm[4] = {p & 3, p >> 2 & 3, p >> 4 & 3, p >> 6 & 3};
            int used = 0;
            for (int k = 0; k < 4; k++) used |= 1 << perm[k];
            if (used != 15) continue;
            el_tensor x;
            assert_int_equal(el_tensor_alloc(&x, types[t], 4, dims), EL_OK);
            for (int i = 0; i < 120; i++) {
                if (types[t] == EL_DT_UINT8) ((uint8_t *)x.data)[i] = (uint8_t)i;
                else ((int64_t *)x.data)[i] = (int64_t)i * 1000003;
            }
            el_tensor keep = x;
            el_tensor_retain(&keep);
            el_tensor out;
            assert_int_equal(transpose(x, el_test_i64(1, V64(4), perm), &out), EL_OK);
            int64_t od[4], is[4];
            for (int k = 0; k < 4; k++) od[k] = dims[perm[k]];
            el_test_assert_shape(&out, 4, od);
            el_strides_of(4, dims, is);
            int64_t o = 0;
            for (int64_t a = 0; a < od[0]; a++)
                for (int64_t b = 0; b < od[1]; b++)
                    for (int64_t c = 0; c < od[2]; c++)
                        for (int64_t d = 0; d < od[3]; d++, o++) {
                            int64_t src = a * is[perm[0]] + b * is[perm[1]] + c * is[perm[2]] + d * is[perm[3]];
                            if (types[t] == EL_DT_UINT8)
                                assert_int_equal(((uint8_t *)out.data)[o], ((uint8_t *)keep.data)[src]);
                            else
                                assert_int_equal(((int64_t *)out.data)[o], ((int64_t *)keep.data)[src]);
                        }
            el_tensor_release(&out);
            el_tensor_release(&keep);
            checked++;
        }
    assert_int_equal(checked, 48);
}

static void test_transpose_forward_and_errors(void **state)
{
    (void)state;
    el_tensor out;
    el_tensor x = el_test_i32(2, V64(2, 2), V32(1, 2, 3, 4));
    void *data = x.data;
    assert_int_equal(transpose(x, el_test_i32(1, V64(2), V32(0, 1)), &out), EL_OK);
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    /* a scalar takes an empty permutation */
    assert_int_equal(transpose(el_test_i32(0, NULL, V32(7)), el_test_i32(1, V64(0), NULL), &out), EL_OK);
    el_test_assert_shape(&out, 0, NULL);
    el_tensor_release(&out);
    /* zero-size dims */
    assert_int_equal(transpose(el_test_i32(2, V64(0, 3), NULL), el_test_i32(1, V64(2), V32(1, 0)), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(3, 0));
    el_tensor_release(&out);

    assert_err(transpose(el_test_i32(2, V64(2, 2), NULL), el_test_i32(1, V64(2), V32(1, 1)), &out), &out,
               "0 is missing from {1,1}.");
    assert_err(transpose(el_test_i32(2, V64(2, 2), NULL), el_test_i32(1, V64(2), V32(0, 2)), &out), &out,
               "2 is out of range [0 .. 2)");
    assert_err(transpose(el_test_i32(2, V64(2, 2), NULL), el_test_i32(1, V64(3), V32(0, 1, 2)), &out), &out,
               "transpose expects a vector of size 2. But input(1) is a vector of size 3");
    assert_err(transpose(el_test_i32(2, V64(2, 2), NULL), el_test_i32(2, V64(1, 2), V32(0, 1)), &out), &out,
               "perm must be rank 1, got shape [1,2]");
}

static void test_copy_strided_tile_view(void **state)
{
    (void)state;
    /* Stride 0 on a dim repeats the source (Tile's view); negative strides
     * walk backwards (reversed StridedSlice). */
    const int16_t src[3] = {1, 2, 3};
    int16_t dst[6];
    el_copy_strided(dst, 0, V64(3, 1), src, 0, V64(0, 1), 2, 2, V64(2, 3));
    assert_memory_equal(dst, ((const int16_t[]){1, 2, 3, 1, 2, 3}), 12);
    el_copy_strided(dst, 0, V64(1), src, 2, V64(-1), 2, 1, V64(3));
    assert_memory_equal(dst, ((const int16_t[]){3, 2, 1}), 6);
    /* an empty box touches nothing, even with offsets out of bounds */
    el_copy_strided(NULL, 1000, V64(1, 1), NULL, -1000, V64(1, 1), 4, 2, V64(3, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_2d),
        cmocka_unit_test(test_transpose_2d_columns),
        cmocka_unit_test(test_transpose_all_perms_4d),
        cmocka_unit_test(test_transpose_forward_and_errors),
        cmocka_unit_test(test_copy_strided_tile_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
