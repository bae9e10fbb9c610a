/* MaxPool / MaxPoolV2 / AvgPool: hand-checked windows, padding excluded
 * from the max and from the average's count; the AVX-512 kernel, threaded,
 * against the reference loops bit for bit. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/pool.h"

static void el_pool_attrs(el_test_node *tn, const char *op, int64_t k, int64_t s, const char *pad)
{
    el_test_node_init(tn, op);
    int64_t ks[4] = {1, k, k, 1}, st[4] = {1, s, s, 1};
    el_test_attr_ints(tn, "ksize", 4, ks);
    el_test_attr_ints(tn, "strides", 4, st);
    el_test_attr_str(tn, "padding", pad);
}

static void test_maxpool_valid(void **state)
{
    (void)state;
    /* 4x4, 2 channels (c1 = -c0), 2x2 stride 2 VALID. */
    int64_t d[4] = {1, 4, 4, 2};
    float v[32];
    for (int i = 0; i < 16; i++) {
        v[2 * i] = (float)((i * 7) % 16);
        v[2 * i + 1] = -v[2 * i];
    }
    el_tensor in[1] = {el_test_f32(4, d, v)}, out[1];
    el_test_node tn;
    el_pool_attrs(&tn, "MaxPool", 2, 2, "VALID");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_OK);
    int64_t od[4] = {1, 2, 2, 2};
    el_test_assert_shape(&out[0], 4, od);
    /* c0 values: row0 0 7 14 5 / row1 12 3 10 1 / row2 8 15 6 13 / row3 4 11 2 9 */
    float want[8] = {12, -0, 14, -1, 15, -4, 13, -2};
    el_test_assert_f32(&out[0], want, 8, 0);
    el_test_release_all(1, out);
    el_test_release_all(1, in);
}

static void test_maxpool_same_ignores_padding(void **state)
{
    (void)state;
    /* All-negative input: a zero from padding would win if it counted. */
    int64_t d[4] = {1, 3, 3, 1};
    float v[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    el_tensor in[1] = {el_test_f32(4, d, v)}, out[1];
    el_test_node tn;
    el_pool_attrs(&tn, "MaxPool", 3, 1, "SAME");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_OK);
    float want[9] = {-1, -1, -2, -1, -1, -2, -4, -4, -5};
    el_test_assert_f32(&out[0], want, 9, 0);
    el_test_release_all(1, out);

    /* MaxPoolV2: ksize and strides as inputs. */
    int64_t four[1] = {4};
    int32_t ks[4] = {1, 3, 3, 1}, st[4] = {1, 1, 1, 1};
    el_tensor in2[3] = {in[0], el_test_i32(1, four, ks), el_test_i32(1, four, st)};
    el_test_node_init(&tn, "MaxPoolV2");
    el_test_attr_str(&tn, "padding", "SAME");
    assert_int_equal(el_test_run(&tn, 3, in2, 1, out), EL_OK);
    el_test_assert_f32(&out[0], want, 9, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in2[1]);
    el_tensor_release(&in2[2]);
    el_test_release_all(1, in);
}

static void test_avgpool_counts_valid_only(void **state)
{
    (void)state;
    int64_t d[4] = {1, 3, 3, 1};
    float v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    el_tensor in[1] = {el_test_f32(4, d, v)}, out[1];
    el_test_node tn;
    el_pool_attrs(&tn, "AvgPool", 3, 1, "SAME");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_OK);
    /* Corners average 4 values, edges 6, the centre 9. */
    float want[9] = {(1 + 2 + 4 + 5) / 4.0f, (1 + 2 + 3 + 4 + 5 + 6) / 6.0f, (2 + 3 + 5 + 6) / 4.0f,
                     (1 + 2 + 4 + 5 + 7 + 8) / 6.0f, 45 / 9.0f, (2 + 3 + 5 + 6 + 8 + 9) / 6.0f,
                     (4 + 5 + 7 + 8) / 4.0f, (4 + 5 + 6 + 7 + 8 + 9) / 6.0f, (5 + 6 + 8 + 9) / 4.0f};
    el_test_assert_f32(&out[0], want, 9, 0);
    el_test_release_all(1, out);
    el_test_release_all(1, in);

    /* 4x4, 3x3 stride 2 SAME: output 2x2, padding 1 all after (TF puts the
     * smaller half first). */
    int64_t d2[4] = {1, 4, 4, 1};
    float v2[16];
    for (int i = 0; i < 16; i++) v2[i] = (float)i;
    el_tensor in2[1] = {el_test_f32(4, d2, v2)};
    el_pool_attrs(&tn, "AvgPool", 3, 2, "SAME");
    assert_int_equal(el_test_run(&tn, 1, in2, 1, out), EL_OK);
    int64_t od[4] = {1, 2, 2, 1};
    el_test_assert_shape(&out[0], 4, od);
    float want2[4] = {(0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9.0f, (2 + 3 + 6 + 7 + 10 + 11) / 6.0f,
                      (8 + 9 + 10 + 12 + 13 + 14) / 6.0f, (10 + 11 + 14 + 15) / 4.0f};
    el_test_assert_f32(&out[0], want2, 4, 0);
    el_test_release_all(1, out);

    /* VALID drops the incomplete windows. */
    el_pool_attrs(&tn, "AvgPool", 3, 2, "VALID");
    assert_int_equal(el_test_run(&tn, 1, in2, 1, out), EL_OK);
    int64_t od1[4] = {1, 1, 1, 1};
    el_test_assert_shape(&out[0], 4, od1);
    float want3[1] = {(0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9.0f};
    el_test_assert_f32(&out[0], want3, 1, 0);
    el_test_release_all(1, out);
    el_test_release_all(1, in2);
}

static void test_pool_errors(void **state)
{
    (void)state;
    int64_t d[4] = {1, 3, 3, 1};
    el_tensor in[1] = {el_test_f32(4, d, NULL)}, out[1];
    memset(in[0].data, 0, el_tensor_nbytes(&in[0]));
    el_test_node tn;

    el_test_node_init(&tn, "MaxPool");
    int64_t ks[4] = {2, 2, 2, 1}, st[4] = {1, 1, 1, 1};
    el_test_attr_ints(&tn, "ksize", 4, ks);
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "VALID");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "ksize"));
    el_test_release_all(1, out);

    el_pool_attrs(&tn, "AvgPool", 2, 1, "VALID");
    el_test_attr_str(&tn, "data_format", "NCHW");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);

    /* AvgPool has no EXPLICIT padding; a 4x4 window on 3x3 under VALID
     * gives an empty output, a 5x5 one a negative size. */
    el_pool_attrs(&tn, "AvgPool", 2, 1, "EXPLICIT");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);
    el_pool_attrs(&tn, "MaxPool", 5, 1, "VALID");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_ERR_RUNTIME);
    el_test_release_all(1, out);
    el_pool_attrs(&tn, "MaxPool", 4, 2, "VALID");
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_OK);
    assert_int_equal(el_tensor_numel(&out[0]), 0);
    el_test_release_all(1, out);

    /* Explicit padding on MaxPool: pads never win. */
    el_pool_attrs(&tn, "MaxPool", 2, 1, "EXPLICIT");
    int64_t ep[8] = {0, 0, 1, 0, 0, 1, 0, 0};
    el_test_attr_ints(&tn, "explicit_paddings", 8, ep);
    float *x = in[0].data;
    for (int i = 0; i < 9; i++) x[i] = -(float)(i + 1);
    assert_int_equal(el_test_run(&tn, 1, in, 1, out), EL_OK);
    int64_t od[4] = {1, 3, 3, 1};
    el_test_assert_shape(&out[0], 4, od);
    float want[9] = {-1, -2, -3, -1, -2, -3, -4, -5, -6};
    el_test_assert_f32(&out[0], want, 9, 0);
    el_test_release_all(1, out);
    el_test_release_all(1, in);
}

/* Random shapes, windows, strides, paddings and channel counts (tails of
 * the 16-lane vectors), values with NaN, -0 and ties: the fast kernel on 3
 * threads gives the reference's bits. */
static void test_fast_matches_reference(void **state)
{
    (void)state;
    if (el_conv_isa() < EL_ISA_AVX512) skip();
    uint32_t seed = 99;
    el_threadpool *pool;
    assert_int_equal(el_threadpool_create(3, &pool), EL_OK);
    for (int it = 0; it < 60; it++) {
        seed = seed * 1664525u + 1013904223u;
        int64_t h = 1 + (seed >> 8) % 13, w = 1 + (seed >> 12) % 13, c = 1 + (seed >> 16) % 40;
        int64_t k = 1 + (seed >> 20) % 4, st = 1 + (seed >> 24) % 3;
        const char *pad = (seed >> 28) & 1 ? "SAME" : "VALID";
        const char *op = it % 3 == 0 ? "AvgPool" : "MaxPool";
        if (!strcmp(pad, "VALID") && (k > h || k > w)) k = 1;
        int64_t d[4] = {1 + it % 2, h, w, c};
        el_tensor in[1] = {el_test_f32(4, d, NULL)}, ref[1], fast[1];
        float *x = in[0].data;
        for (int64_t i = 0; i < el_tensor_numel(&in[0]); i++) {
            seed = seed * 1664525u + 1013904223u;
            x[i] = (float)((seed >> 8) % 7) - 3.0f; /* ties */
            if ((seed >> 4) % 53 == 0) x[i] = -0.0f;
            if ((seed >> 4) % 97 == 1) x[i] = NAN;
        }
        el_test_node tn;
        el_pool_attrs(&tn, op, k, st, pad);
        el_conv_force_isa(EL_ISA_REF);
        assert_int_equal(el_test_run(&tn, 1, in, 1, ref), EL_OK);
        el_conv_force_isa(-1);
        el_threadpool *prev = el_threadpool_set_current(pool);
        assert_int_equal(el_test_run(&tn, 1, in, 1, fast), EL_OK);
        el_threadpool_set_current(prev);
        el_test_assert_shape(&fast[0], ref[0].ndim, ref[0].dims);
        assert_memory_equal(fast[0].data, ref[0].data, el_tensor_nbytes(&ref[0]));
        el_test_release_all(1, ref);
        el_test_release_all(1, fast);
        el_test_release_all(1, in);
    }
    el_threadpool_free(pool);
}

/* MaxPool with EL_POOL_KEEP_EQUAL_ATTR: x * (x == max ? 1 : 0) with the
 * bits of the separate product (ties, -0, NaN, infinities), on the
 * reference loops and the AVX-512 kernel; an output of another size is
 * refused. */
static void test_keep_equal(void **state)
{
    (void)state;
    int64_t d[4] = {2, 9, 11, 21};
    el_tensor x = el_test_f32(4, d, NULL);
    float *v = x.data;
    for (int64_t i = 0; i < el_tensor_numel(&x); i++) v[i] = (float)((i * 7919) % 13) - 6.0f;
    v[3] = NAN, v[50] = -0.0f, v[51] = INFINITY, v[400] = -INFINITY;
    el_test_node tn;
    el_tensor m[1], want[1];
    el_pool_attrs(&tn, "MaxPool", 3, 1, "SAME");
    assert_int_equal(el_test_run(&tn, 1, &x, 1, m), EL_OK);
    assert_int_equal(el_tensor_alloc(&want[0], EL_DT_FLOAT, 4, d), EL_OK);
    const float *mv = m[0].data;
    float *wv = want[0].data;
    for (int64_t i = 0; i < el_tensor_numel(&x); i++) wv[i] = v[i] * (v[i] == mv[i] ? 1.0f : 0.0f);
    for (int isa = EL_ISA_REF; isa <= (int)el_isa_available(); isa += (int)el_isa_available() > 0 ? (int)el_isa_available() : 1) {
        el_conv_force_isa(isa);
        el_tensor got[1];
        el_pool_attrs(&tn, "MaxPool", 3, 1, "SAME");
        el_test_attr_bool(&tn, EL_POOL_KEEP_EQUAL_ATTR, true);
        assert_int_equal(el_test_run(&tn, 1, &x, 1, got), EL_OK);
        assert_memory_equal(got[0].data, want[0].data, el_tensor_nbytes(&want[0]));
        el_test_release_all(1, got);
    }
    el_conv_force_isa(-1);
    el_tensor got[1];
    el_pool_attrs(&tn, "MaxPool", 3, 2, "SAME");
    el_test_attr_bool(&tn, EL_POOL_KEEP_EQUAL_ATTR, true);
    assert_int_equal(el_test_run(&tn, 1, &x, 1, got), EL_ERR_RUNTIME);
    el_test_release_all(1, m);
    el_test_release_all(1, want);
    el_tensor_release(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_valid),
        cmocka_unit_test(test_maxpool_same_ignores_padding),
        cmocka_unit_test(test_avgpool_counts_valid_only),
        cmocka_unit_test(test_pool_errors),
        cmocka_unit_test(test_fast_matches_reference),
        cmocka_unit_test(test_keep_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
