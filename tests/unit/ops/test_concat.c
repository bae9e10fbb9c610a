/* ConcatV2, Concat, Pack, Tile against TensorFlow's rules, including empty
 * tensors, zero multiples and the error texts. */
#include "testutil.h"

#include <string.h>

#define V64(...) ((const int64_t[]){__VA_ARGS__})
#define V32(...) ((const int32_t[]){__VA_ARGS__})

static void assert_err(el_status s, el_tensor *out, const char *needle)
{
    assert_int_not_equal(s, EL_OK);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
    el_tensor_release(out);
}

/* Values start + 0, 1, 2, ... */
static el_tensor iota_i32(int ndim, const int64_t *dims, int32_t start)
{
    el_tensor t = el_test_i32(ndim, dims, NULL);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) ((int32_t *)t.data)[i] = start + (int32_t)i;
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

static el_status run(const char *op, int nin, el_tensor *in, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    el_status s = el_test_run(&tn, nin, in, 1, out);
    el_test_release_all(nin, in);
    return s;
}

static void test_concat_v2(void **state)
{
    (void)state;
    el_tensor out;
    /* [2,2] ++ [2,3] on axis 1, given as 1 and as -1 (int64) */
    el_tensor in[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(2, V64(2, 3), 10), el_test_i32(0, NULL, V32(1))};
    assert_int_equal(run("ConcatV2", 3, in, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 5), V32(0, 1, 10, 11, 12, 2, 3, 13, 14, 15));
    el_tensor_release(&out);
    el_tensor in2[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(2, V64(2, 3), 10), el_test_i64(0, NULL, V64(-1))};
    assert_int_equal(run("ConcatV2", 3, in2, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 5), V32(0, 1, 10, 11, 12, 2, 3, 13, 14, 15));
    el_tensor_release(&out);
    /* three inputs on axis 0 */
    el_tensor in3[4] = {iota_i32(2, V64(1, 2), 0), iota_i32(2, V64(2, 2), 10), iota_i32(2, V64(1, 2), 20),
                        el_test_i32(0, NULL, V32(0))};
    assert_int_equal(run("ConcatV2", 4, in3, &out), EL_OK);
    assert_i32(&out, 2, V64(4, 2), V32(0, 1, 10, 11, 12, 13, 20, 21));
    el_tensor_release(&out);
}

static void test_concat_empty(void **state)
{
    (void)state;
    el_tensor out;
    el_tensor in[3] = {iota_i32(2, V64(2, 0), 0), iota_i32(2, V64(2, 3), 10), el_test_i32(0, NULL, V32(1))};
    assert_int_equal(run("ConcatV2", 3, in, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 3), V32(10, 11, 12, 13, 14, 15));
    el_tensor_release(&out);
    el_tensor in2[3] = {iota_i32(2, V64(0, 3), 0), iota_i32(2, V64(0, 3), 0), el_test_i32(0, NULL, V32(0))};
    assert_int_equal(run("ConcatV2", 3, in2, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 3));
    el_tensor_release(&out);
    /* an empty input whose other dims are 0 still has to match them */
    el_tensor in3[3] = {iota_i32(2, V64(0, 3), 0), iota_i32(2, V64(0, 0), 0), el_test_i32(0, NULL, V32(0))};
    assert_err(run("ConcatV2", 3, in3, &out), &out,
               "ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = [0,3] vs. shape[1] = [0,0]");
}

static void test_concat_errors_and_v1(void **state)
{
    (void)state;
    el_tensor out;
    el_tensor in[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(2, V64(3, 3), 0), el_test_i32(0, NULL, V32(1))};
    assert_err(run("ConcatV2", 3, in, &out), &out,
               "ConcatOp : Dimension 0 in both shapes must be equal: shape[0] = [2,2] vs. shape[1] = [3,3]");
    el_tensor in2[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(1, V64(2), 0), el_test_i32(0, NULL, V32(0))};
    assert_err(run("ConcatV2", 3, in2, &out), &out,
               "ConcatOp : Ranks of all input tensors should match: shape[0] = [2,2] vs. shape[1] = [2]");
    el_tensor in3[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(2, V64(2, 2), 0), el_test_i32(0, NULL, V32(2))};
    assert_err(run("ConcatV2", 3, in3, &out), &out,
               "ConcatOp : Expected concatenating dimensions in the range [-2, 2), but got 2");
    /* scalars cannot be concatenated (legacy behaviour TF dropped) */
    el_tensor in4[3] = {iota_i32(0, NULL, 0), iota_i32(0, NULL, 0), el_test_i32(0, NULL, V32(0))};
    assert_err(run("ConcatV2", 3, in4, &out), &out, "in the range [0, 0), but got 0");
    el_tensor in5[3] = {iota_i32(1, V64(2), 0), iota_i32(1, V64(2), 0), el_test_i32(1, V64(1), V32(0))};
    assert_err(run("ConcatV2", 3, in5, &out), &out, "axis tensor should be a scalar integer, but got shape [1]");

    /* Concat (TF1): the axis comes first */
    el_tensor in6[3] = {el_test_i32(0, NULL, V32(0)), iota_i32(1, V64(2), 0), iota_i32(1, V64(1), 7)};
    assert_int_equal(run("Concat", 3, in6, &out), EL_OK);
    assert_i32(&out, 1, V64(3), V32(0, 1, 7));
    el_tensor_release(&out);
}

static void test_concat_strings(void **state)
{
    (void)state;
    el_tensor a, b, out;
    assert_int_equal(el_tensor_alloc(&a, EL_DT_STRING, 1, V64(1)), EL_OK);
    assert_int_equal(el_tensor_alloc(&b, EL_DT_STRING, 1, V64(2)), EL_OK);
    ((el_string *)a.data)[0] = (el_string){"x", 1};
    ((el_string *)b.data)[0] = (el_string){"yy", 2};
    ((el_string *)b.data)[1] = (el_string){"zzz", 3};
    el_tensor in[3] = {a, b, el_test_i32(0, NULL, V32(0))};
    assert_int_equal(run("ConcatV2", 3, in, &out), EL_OK);
    const el_string *s = out.data;
    assert_int_equal(out.dtype, EL_DT_STRING);
    assert_int_equal(s[0].len + s[1].len + s[2].len, 6);
    assert_memory_equal(s[2].data, "zzz", 3);
    el_tensor_release(&out);
}

static el_status pack(int n, el_tensor *in, int64_t axis, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Pack");
    el_test_attr_int(&tn, "N", n);
    el_test_attr_int(&tn, "axis", axis);
    el_status s = el_test_run(&tn, n, in, 1, out);
    el_test_release_all(n, in);
    return s;
}

static void test_pack(void **state)
{
    (void)state;
    el_tensor out;
    el_tensor in[2] = {iota_i32(1, V64(3), 0), iota_i32(1, V64(3), 10)};
    assert_int_equal(pack(2, in, 0, &out), EL_OK);
    assert_i32(&out, 2, V64(2, 3), V32(0, 1, 2, 10, 11, 12));
    el_tensor_release(&out);
    el_tensor in2[2] = {iota_i32(1, V64(3), 0), iota_i32(1, V64(3), 10)};
    assert_int_equal(pack(2, in2, -1, &out), EL_OK);
    assert_i32(&out, 2, V64(3, 2), V32(0, 10, 1, 11, 2, 12));
    el_tensor_release(&out);
    el_tensor in3[3] = {iota_i32(2, V64(2, 2), 0), iota_i32(2, V64(2, 2), 10), iota_i32(2, V64(2, 2), 20)};
    assert_int_equal(pack(3, in3, 1, &out), EL_OK);
    assert_i32(&out, 3, V64(2, 3, 2), V32(0, 1, 10, 11, 20, 21, 2, 3, 12, 13, 22, 23));
    el_tensor_release(&out);
    /* scalars stack into a vector; a single value is forwarded */
    el_tensor in4[2] = {iota_i32(0, NULL, 4), iota_i32(0, NULL, 5)};
    assert_int_equal(pack(2, in4, 0, &out), EL_OK);
    assert_i32(&out, 1, V64(2), V32(4, 5));
    el_tensor_release(&out);
    el_tensor in5[1] = {iota_i32(1, V64(2), 0)};
    void *data = in5[0].data;
    assert_int_equal(pack(1, in5, 1, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(2, 1));
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    /* empty values */
    el_tensor in6[2] = {iota_i32(1, V64(0), 0), iota_i32(1, V64(0), 0)};
    assert_int_equal(pack(2, in6, 0, &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(2, 0));
    el_tensor_release(&out);

    el_tensor in7[2] = {iota_i32(1, V64(3), 0), iota_i32(1, V64(2), 0)};
    assert_err(pack(2, in7, 0, &out), &out, "Shapes of all inputs must match: values[0].shape = [3] != values[1].shape = [2]");
    el_tensor in8[2] = {iota_i32(1, V64(3), 0), iota_i32(1, V64(3), 0)};
    assert_err(pack(2, in8, 2, &out), &out, "axis = 2 not in [-2, 2)");
}

static el_status tile(el_tensor x, el_tensor mult, el_tensor *out)
{
    el_tensor in[2] = {x, mult};
    return run("Tile", 2, in, out);
}

static void test_tile(void **state)
{
    (void)state;
    el_tensor out;
    assert_int_equal(tile(iota_i32(2, V64(1, 2), 0), el_test_i32(1, V64(2), V32(2, 3)), &out), EL_OK);
    assert_i32(&out, 2, V64(2, 6), V32(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1));
    el_tensor_release(&out);
    assert_int_equal(tile(iota_i32(2, V64(2, 2), 0), el_test_i64(1, V64(2), V64(2, 1)), &out), EL_OK);
    assert_i32(&out, 2, V64(4, 2), V32(0, 1, 2, 3, 0, 1, 2, 3));
    el_tensor_release(&out);
    assert_int_equal(tile(iota_i32(3, V64(2, 1, 2), 0), el_test_i32(1, V64(3), V32(1, 2, 2)), &out), EL_OK);
    assert_i32(&out, 3, V64(2, 2, 4), V32(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3));
    el_tensor_release(&out);
    /* a zero multiple empties that dim */
    assert_int_equal(tile(iota_i32(2, V64(2, 3), 0), el_test_i32(1, V64(2), V32(0, 2)), &out), EL_OK);
    el_test_assert_shape(&out, 2, V64(0, 6));
    el_tensor_release(&out);
    /* all ones (and a scalar with no multiples) hand the input back */
    el_tensor x = iota_i32(1, V64(3), 0);
    void *data = x.data;
    assert_int_equal(tile(x, el_test_i32(1, V64(1), V32(1)), &out), EL_OK);
    assert_ptr_equal(out.data, data);
    el_tensor_release(&out);
    assert_int_equal(tile(iota_i32(0, NULL, 9), el_test_i32(1, V64(0), NULL), &out), EL_OK);
    assert_i32(&out, 0, NULL, V32(9));
    el_tensor_release(&out);

    assert_err(tile(iota_i32(1, V64(3), 0), el_test_i32(1, V64(1), V32(-1)), &out), &out,
               "Expected multiples[0] >= 0, but got -1");
    assert_err(tile(iota_i32(1, V64(3), 0), el_test_i32(1, V64(2), V32(1, 1)), &out), &out,
               "Expected multiples argument to be a vector of length 1 but got length 2");
    assert_err(tile(iota_i32(1, V64(3), 0), el_test_i64(1, V64(1), V64(INT64_MAX / 2)), &out), &out, "overflows");
}

static uint32_t el_rnd_state = 5;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

/* ConcatV2 along the last axis of [rows, size_i] inputs and Pack of [rows]
 * inputs, for element sizes 1 to 8: sizes of one each (the interleaving
 * path), and mixes like {0, 2, 1} whose total equals the input count
 * (which must not take it); against out[r, pos_i + c] = in_i[r, c]. */
static void test_concat_columns_vs_reference(void **state)
{
    (void)state;
    static const el_dtype dts[4] = {EL_DT_UINT8, EL_DT_INT16, EL_DT_FLOAT, EL_DT_INT64};
    for (int it = 0; it < 400; it++) {
        const el_dtype dt = dts[it % 4];
        const size_t es = el_dtype_size(dt);
        const int n = 1 + (int)(el_rnd() % 6);
        const int64_t rows = el_rnd() % 50;
        const bool packing = it % 3 == 2;
        int64_t sizes[8], total = 0;
        for (int i = 0; i < n; i++) sizes[i] = packing || it % 2 ? 1 : el_rnd() % 3;
        if (!packing && it % 4 == 0 && n == 3) { sizes[0] = 0; sizes[1] = 2; sizes[2] = 1; }
        el_tensor in[9], keep[8], out;
        for (int i = 0; i < n; i++) {
            total += sizes[i];
            int64_t d[2] = {rows, sizes[i]};
            assert_int_equal(el_tensor_alloc(&in[i], dt, packing ? 1 : 2, d), EL_OK);
            for (size_t b = 0; b < el_tensor_nbytes(&in[i]); b++) ((uint8_t *)in[i].data)[b] = (uint8_t)el_rnd();
            keep[i] = in[i];
            el_tensor_retain(&keep[i]);
        }
        if (packing) {
            assert_int_equal(pack(n, in, 1, &out), EL_OK);
        } else {
            int32_t axis = -1;
            in[n] = el_test_i32(0, NULL, &axis);
            assert_int_equal(run("ConcatV2", n + 1, in, &out), EL_OK);
        }
        el_test_assert_shape(&out, 2, V64(rows, total));
        int64_t pos = 0;
        for (int i = 0; i < n; i++) {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t c = 0; c < sizes[i]; c++)
                    if (memcmp((uint8_t *)out.data + (r * total + pos + c) * (int64_t)es,
                               (uint8_t *)keep[i].data + (r * sizes[i] + c) * (int64_t)es, es))
                        fail_msg("case %d: input %d row %lld col %lld differs", it, i, (long long)r, (long long)c);
            pos += sizes[i];
            el_tensor_release(&keep[i]);
        }
        el_tensor_release(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat_v2),
        cmocka_unit_test(test_concat_columns_vs_reference),   cmocka_unit_test(test_concat_empty),
        cmocka_unit_test(test_concat_errors_and_v1), cmocka_unit_test(test_concat_strings),
        cmocka_unit_test(test_pack),        cmocka_unit_test(test_tile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
