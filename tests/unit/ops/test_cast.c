/* Cast: truncation toward zero, the documented saturation of out-of-range
 * and NaN, integer wrap, bool rules, float16 (exhaustive round trip and
 * round-to-nearest-even), the Truncate attr, attrs and errors. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/broadcast.h"

static el_status el_cast_run(const el_tensor *x, el_dtype src, el_dtype dst, int truncate, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "Cast");
    if (src != EL_DT_INVALID) el_test_attr_type(&tn, "SrcT", src);
    if (dst != EL_DT_INVALID) el_test_attr_type(&tn, "DstT", dst);
    if (truncate >= 0) el_test_attr_bool(&tn, "Truncate", truncate != 0);
    return el_test_run(&tn, 1, x, 1, out);
}

static void el_assert_error(el_status got, el_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
}

static void test_float_to_int(void **state)
{
    (void)state;
    float v[10] = {1.9f, -1.9f, 2.5f, -0.5f, 3e9f, -3e9f, NAN, INFINITY, -INFINITY, 2147483520.0f};
    int64_t d[1] = {10};
    el_tensor x = el_test_f32(1, d, v), out[1];
    /* Old exports carry no Truncate attr (truncate = -1 leaves it out). */
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_INT32, -1, out), EL_OK);
    int32_t want[10] = {1, -1, 2, 0, INT32_MAX, INT32_MIN, 0, INT32_MAX, INT32_MIN, 2147483520};
    assert_int_equal(out[0].dtype, EL_DT_INT32);
    for (int i = 0; i < 10; i++) assert_int_equal(((int32_t *)out[0].data)[i], want[i]);
    el_test_release_all(1, out);

    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_INT64, -1, out), EL_OK);
    int64_t w64[10] = {1, -1, 2, 0, 3000000000LL, -3000000000LL, 0, INT64_MAX, INT64_MIN, 2147483520};
    for (int i = 0; i < 10; i++) assert_true(((int64_t *)out[0].data)[i] == w64[i]);
    el_test_release_all(1, out);

    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_UINT8, -1, out), EL_OK);
    uint8_t w8[10] = {1, 0, 2, 0, 255, 0, 0, 255, 0, 255};
    for (int i = 0; i < 10; i++) assert_int_equal(((uint8_t *)out[0].data)[i], w8[i]);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* the largest doubles below +-2^63 still convert exactly */
    el_tensor xd;
    int64_t d4[1] = {4};
    assert_int_equal(el_tensor_alloc(&xd, EL_DT_DOUBLE, 1, d4), EL_OK);
    double dv[4] = {9223372036854774784.0, -9223372036854775808.0, 9223372036854775808.0, -1e300};
    memcpy(xd.data, dv, sizeof dv);
    assert_int_equal(el_cast_run(&xd, EL_DT_DOUBLE, EL_DT_INT64, 0, out), EL_OK);
    int64_t wd[4] = {9223372036854774784LL, INT64_MIN, INT64_MAX, INT64_MIN};
    for (int i = 0; i < 4; i++) assert_true(((int64_t *)out[0].data)[i] == wd[i]);
    el_test_release_all(1, out);
    el_tensor_release(&xd);
}

static void test_bool_rules(void **state)
{
    (void)state;
    float v[5] = {0, -0.0f, 0.1f, NAN, -3};
    int64_t d[1] = {5};
    el_tensor x = el_test_f32(1, d, v), out[1];
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_BOOL, 0, out), EL_OK);
    uint8_t want[5] = {0, 0, 1, 1, 1};
    assert_int_equal(out[0].dtype, EL_DT_BOOL);
    for (int i = 0; i < 5; i++) assert_int_equal(((uint8_t *)out[0].data)[i], want[i]);
    /* and back: 0/1 */
    el_tensor back[1];
    assert_int_equal(el_cast_run(&out[0], EL_DT_BOOL, EL_DT_FLOAT, 0, back), EL_OK);
    float fb[5] = {0, 0, 1, 1, 1};
    el_test_assert_f32(&back[0], fb, 5, 0);
    el_test_release_all(1, back);
    assert_int_equal(el_cast_run(&out[0], EL_DT_BOOL, EL_DT_INT32, 0, back), EL_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(((int32_t *)back[0].data)[i], want[i]);
    el_test_release_all(1, back);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    int32_t iv[3] = {0, 2, -7};
    int64_t d3[1] = {3};
    x = el_test_i32(1, d3, iv);
    assert_int_equal(el_cast_run(&x, EL_DT_INT32, EL_DT_BOOL, 0, out), EL_OK);
    uint8_t wi[3] = {0, 1, 1};
    for (int i = 0; i < 3; i++) assert_int_equal(((uint8_t *)out[0].data)[i], wi[i]);
    el_test_release_all(1, out);
    el_tensor_release(&x);
}

static void test_int_conversions(void **state)
{
    (void)state;
    int32_t iv[5] = {256, -1, 300, -129, 70000};
    int64_t d[1] = {5};
    el_tensor x = el_test_i32(1, d, iv), out[1];
    assert_int_equal(el_cast_run(&x, EL_DT_INT32, EL_DT_UINT8, 0, out), EL_OK);
    uint8_t w8[5] = {0, 255, 44, 127, 112};
    for (int i = 0; i < 5; i++) assert_int_equal(((uint8_t *)out[0].data)[i], w8[i]);
    el_test_release_all(1, out);
    assert_int_equal(el_cast_run(&x, EL_DT_INT32, EL_DT_INT64, 0, out), EL_OK);
    for (int i = 0; i < 5; i++) assert_true(((int64_t *)out[0].data)[i] == iv[i]);
    /* int64 -> int32 keeps the low bits */
    el_tensor back[1];
    ((int64_t *)out[0].data)[0] = 0x100000005LL;
    ((int64_t *)out[0].data)[1] = -0x100000001LL;
    assert_int_equal(el_cast_run(&out[0], EL_DT_INT64, EL_DT_INT32, 0, back), EL_OK);
    assert_int_equal(((int32_t *)back[0].data)[0], 5);
    assert_int_equal(((int32_t *)back[0].data)[1], -1);
    el_test_release_all(1, back);
    /* int64 -> float rounds to nearest */
    ((int64_t *)out[0].data)[0] = (1LL << 53) + 1;
    ((int64_t *)out[0].data)[1] = 16777217;
    assert_int_equal(el_cast_run(&out[0], EL_DT_INT64, EL_DT_FLOAT, 0, back), EL_OK);
    assert_true(((float *)back[0].data)[0] == 9007199254740992.0f);
    assert_true(((float *)back[0].data)[1] == 16777216.0f);
    el_test_release_all(1, back);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* uint8 image -> float, the detection input path */
    uint8_t px[4] = {0, 1, 128, 255};
    int64_t d4[1] = {4};
    x = el_test_u8(1, d4, px);
    assert_int_equal(el_cast_run(&x, EL_DT_UINT8, EL_DT_FLOAT, -1, out), EL_OK);
    float wf[4] = {0, 1, 128, 255};
    el_test_assert_f32(&out[0], wf, 4, 0);
    el_test_release_all(1, out);
    assert_int_equal(el_cast_run(&x, EL_DT_UINT8, EL_DT_INT8, -1, out), EL_OK);
    assert_int_equal(((int8_t *)out[0].data)[2], -128);
    assert_int_equal(((int8_t *)out[0].data)[3], -1);
    el_test_release_all(1, out);
    el_tensor_release(&x);
}

static uint16_t el_bits(float f)
{
    return el_float_to_half(f);
}

static void test_half_conversions(void **state)
{
    (void)state;
    assert_int_equal(el_bits(1.0f), 0x3c00);
    assert_int_equal(el_bits(-2.0f), 0xc000);
    assert_int_equal(el_bits(65504.0f), 0x7bff);
    assert_int_equal(el_bits(65519.0f), 0x7bff);
    assert_int_equal(el_bits(65520.0f), 0x7c00); /* tie rounds to even: inf */
    assert_int_equal(el_bits(INFINITY), 0x7c00);
    assert_int_equal(el_bits(-0.0f), 0x8000);
    assert_int_equal(el_bits(ldexpf(1, -24)), 0x0001);
    assert_int_equal(el_bits(ldexpf(1, -25)), 0x0000);        /* tie to even 0 */
    assert_int_equal(el_bits(ldexpf(3, -25)), 0x0002);        /* 1.5 ulp: tie to even 2 */
    assert_int_equal(el_bits(ldexpf(1.0000001f, -25)), 0x0001);
    assert_int_equal(el_bits(ldexpf(1, -14)), 0x0400);        /* smallest normal */
    assert_int_equal(el_bits(ldexpf(1023, -24) + ldexpf(1, -25)), 0x0400); /* subnormal carry into normal */
    assert_int_equal(el_bits(1.0f + ldexpf(1, -11)), 0x3c00); /* tie to even */
    assert_int_equal(el_bits(1.0f + ldexpf(3, -11)), 0x3c02);
    assert_true(isnan(el_half_to_float(el_bits(NAN))));
    assert_true(el_half_to_float(0x3555) == 0.333251953125f);
    assert_true(el_half_to_float(0x0001) == ldexpf(1, -24));
    assert_true(el_half_to_float(0xfc00) == -INFINITY);

    /* every half survives half -> float -> half */
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = el_half_to_float((uint16_t)h);
        if (isnan(f)) {
            assert_true(((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff));
            assert_true(isnan(el_half_to_float(el_float_to_half(f))));
            continue;
        }
        if (el_float_to_half(f) != h) fail_msg("half 0x%04x -> %g -> 0x%04x", h, f, el_float_to_half(f));
    }

    /* random floats round to the nearest half, ties to even */
    uint32_t rng = 7;
    for (int i = 0; i < 200000; i++) {
        rng = rng * 1664525u + 1013904223u;
        float f = ldexpf((float)(rng >> 8) / 16777216.0f, (int)(rng % 44) - 28);
        if (rng & 1) f = -f;
        uint16_t h = el_float_to_half(f);
        float g = el_half_to_float(h);
        if (isinf(g)) {
            assert_true(fabsf(f) >= 65520.0f);
            continue;
        }
        float up = el_half_to_float((uint16_t)(h + 1)), dn = h & 0x7fff ? el_half_to_float((uint16_t)(h - 1)) : g;
        double e = fabs((double)g - f);
        if (e > fabs((double)up - f) || e > fabs((double)dn - f))
            fail_msg("%.9g -> 0x%04x (%.9g) is not nearest", f, h, g);
        if ((e == fabs((double)up - f) || e == fabs((double)dn - f)) && e != 0 && (h & 1))
            fail_msg("%.9g -> 0x%04x: a tie not rounded to even", f, h);
    }
}

static void test_half_cast_op(void **state)
{
    (void)state;
    float v[4] = {1.0f, -5.0f, 1.0f + ldexpf(3, -12), 70000.0f};
    int64_t d[1] = {4};
    el_tensor x = el_test_f32(1, d, v), out[1], back[1];
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_HALF, 0, out), EL_OK);
    assert_int_equal(out[0].dtype, EL_DT_HALF);
    uint16_t want[4] = {0x3c00, 0xc500, 0x3c01, 0x7c00};
    for (int i = 0; i < 4; i++) assert_int_equal(((uint16_t *)out[0].data)[i], want[i]);
    /* half -> int32 through float32 */
    assert_int_equal(el_cast_run(&out[0], EL_DT_HALF, EL_DT_INT32, 0, back), EL_OK);
    int32_t wi[4] = {1, -5, 1, INT32_MAX};
    for (int i = 0; i < 4; i++) assert_int_equal(((int32_t *)back[0].data)[i], wi[i]);
    el_test_release_all(1, back);
    el_test_release_all(1, out);

    /* Truncate: the mantissa bits float16 lacks are zeroed, not rounded */
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_HALF, 1, out), EL_OK);
    assert_int_equal(((uint16_t *)out[0].data)[2], 0x3c00);
    assert_int_equal(((uint16_t *)out[0].data)[0], 0x3c00);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    el_tensor xd;
    int64_t d2[1] = {2};
    assert_int_equal(el_tensor_alloc(&xd, EL_DT_DOUBLE, 1, d2), EL_OK);
    ((double *)xd.data)[0] = 1.0 + ldexp(3, -25);
    ((double *)xd.data)[1] = NAN;
    assert_int_equal(el_cast_run(&xd, EL_DT_DOUBLE, EL_DT_FLOAT, 0, out), EL_OK);
    assert_true(((float *)out[0].data)[0] == 1.0f + ldexpf(1, -23));
    el_test_release_all(1, out);
    assert_int_equal(el_cast_run(&xd, EL_DT_DOUBLE, EL_DT_FLOAT, 1, out), EL_OK);
    assert_true(((float *)out[0].data)[0] == 1.0f);
    assert_true(isnan(((float *)out[0].data)[1]));
    el_test_release_all(1, out);
    assert_int_equal(el_cast_run(&xd, EL_DT_DOUBLE, EL_DT_HALF, 1, out), EL_OK);
    assert_int_equal(((uint16_t *)out[0].data)[0], 0x3c00);
    el_test_release_all(1, out);
    el_tensor_release(&xd);

    /* uint8 -> half, and a run longer than one internal chunk */
    int64_t dn[1] = {1000};
    x = el_test_u8(1, dn, NULL);
    for (int i = 0; i < 1000; i++) ((uint8_t *)x.data)[i] = (uint8_t)i;
    assert_int_equal(el_cast_run(&x, EL_DT_UINT8, EL_DT_HALF, -1, out), EL_OK);
    for (int i = 0; i < 1000; i++) assert_true(el_half_to_float(((uint16_t *)out[0].data)[i]) == (float)(uint8_t)i);
    el_test_release_all(1, out);
    el_tensor_release(&x);
}

/* uint8 -> float32 (a detection graph's image) in chunks over a pool of 3:
 * every value exact, odd sizes and tails included. */
static void test_u8_to_float_threads(void **state)
{
    (void)state;
    enum { N = 768 * 576 * 3 + 5 };
    uint8_t *a = malloc(N);
    float *b = malloc(sizeof(float) * N);
    assert_true(a && b);
    for (int i = 0; i < N; i++) a[i] = (uint8_t)((uint32_t)i * 7919u >> 3);
    el_threadpool *pool;
    assert_int_equal(el_threadpool_create(3, &pool), EL_OK);
    for (int threaded = 0; threaded < 2; threaded++)
        for (int n = N - 2; n <= N; n++) {
            memset(b, 0xff, sizeof(float) * N);
            el_threadpool *prev = threaded ? el_threadpool_set_current(pool) : NULL;
            assert_int_equal(el_cast_array(a, EL_DT_UINT8, b, EL_DT_FLOAT, n, false), EL_OK);
            if (threaded) el_threadpool_set_current(prev);
            for (int i = 0; i < n; i++)
                if (b[i] != (float)a[i]) fail_msg("n %d [%d]: %g for %d", n, i, (double)b[i], a[i]);
            for (int i = n; i < N; i++) assert_true(isnan(b[i])); /* nothing past n */
        }
    el_threadpool_free(pool);
    free(a);
    free(b);
}

static void test_attrs_and_errors(void **state)
{
    (void)state;
    float v[2] = {1.5f, 2.5f};
    int64_t d[1] = {2};
    el_tensor x = el_test_f32(1, d, v), out[1];
    /* same dtype: the input is forwarded, not copied */
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_FLOAT, 0, out), EL_OK);
    assert_ptr_equal(out[0].data, x.data);
    el_test_release_all(1, out);
    /* SrcT is optional but must match when present */
    assert_int_equal(el_cast_run(&x, EL_DT_INVALID, EL_DT_DOUBLE, -1, out), EL_OK);
    assert_true(((double *)out[0].data)[1] == 2.5);
    el_test_release_all(1, out);
    el_assert_error(el_cast_run(&x, EL_DT_INT32, EL_DT_DOUBLE, 0, out), EL_ERR_INVALID_ARG,
                    "attr SrcT is int32 but input 0 is float32");
    el_test_release_all(1, out);
    el_assert_error(el_cast_run(&x, EL_DT_FLOAT, EL_DT_INVALID, 0, out), EL_ERR_FORMAT, "DstT");
    el_test_release_all(1, out);
    el_assert_error(el_cast_run(&x, EL_DT_FLOAT, EL_DT_STRING, 0, out), EL_ERR_UNSUPPORTED,
                    "cast from float32 to string");
    el_test_release_all(1, out);

    /* the helper API other layers use */
    el_tensor t;
    assert_int_equal(el_cast_tensor(&t, &x, EL_DT_INT16), EL_OK);
    assert_int_equal(t.dtype, EL_DT_INT16);
    assert_int_equal(((int16_t *)t.data)[0], 1);
    assert_int_equal(((int16_t *)t.data)[1], 2);
    el_tensor_release(&t);
    assert_int_equal(el_cast_tensor(&t, &x, EL_DT_RESOURCE), EL_ERR_UNSUPPORTED);
    assert_null(t.buf);
    el_tensor_release(&x);

    /* empty tensors cast to empty tensors */
    int64_t z[2] = {0, 4};
    x = el_test_f32(2, z, NULL);
    assert_int_equal(el_cast_run(&x, EL_DT_FLOAT, EL_DT_INT8, 0, out), EL_OK);
    el_test_assert_shape(&out[0], 2, z);
    el_test_release_all(1, out);
    el_tensor_release(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_to_int),
        cmocka_unit_test(test_bool_rules),
        cmocka_unit_test(test_int_conversions),
        cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_half_cast_op),
        cmocka_unit_test(test_attrs_and_errors),
        cmocka_unit_test(test_u8_to_float_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
