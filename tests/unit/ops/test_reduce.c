/* Reductions: axes (scalar/vector, int32/int64, negative, duplicate, none),
 * keep_dims, empty reductions and their identities, integer Mean, NaN,
 * errors; ArgMax/ArgMin; and a naive reference over random shapes. */
#include "testutil.h"

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/reduce_fast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static el_status el_reduce_run(const char *op, const el_tensor *x, const el_tensor *axes, bool keep, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    if (keep) el_test_attr_bool(&tn, "keep_dims", true);
    el_tensor in[2] = {*x, *axes};
    return el_test_run(&tn, 2, in, 1, out);
}

static el_tensor el_axes(int n, const int32_t *v)
{
    int64_t d[1] = {n};
    return el_test_i32(1, d, v);
}

static void el_assert_error(el_status got, el_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
}

static void test_sum_axes_and_keep_dims(void **state)
{
    (void)state;
    int64_t d[3] = {2, 3, 4};
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i;
    el_tensor x = el_test_f32(3, d, v), out[1];

    int32_t a02[2] = {0, 2};
    el_tensor ax = el_axes(2, a02);
    assert_int_equal(el_reduce_run("Sum", &x, &ax, false, out), EL_OK);
    int64_t d3[1] = {3};
    el_test_assert_shape(&out[0], 1, d3);
    float want02[3] = {0, 0, 0};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) want02[j] += v[(i * 3 + j) * 4 + k];
    el_test_assert_f32(&out[0], want02, 3, 0);
    el_test_release_all(1, out);
    assert_int_equal(el_reduce_run("Sum", &x, &ax, true, out), EL_OK);
    int64_t k131[3] = {1, 3, 1};
    el_test_assert_shape(&out[0], 3, k131);
    el_test_assert_f32(&out[0], want02, 3, 0);
    el_test_release_all(1, out);
    el_tensor_release(&ax);

    /* negative and duplicate axes: [1, -2, 1] is axis 1 */
    int32_t dup[3] = {1, -2, 1};
    ax = el_axes(3, dup);
    assert_int_equal(el_reduce_run("Mean", &x, &ax, false, out), EL_OK);
    int64_t d24[2] = {2, 4};
    el_test_assert_shape(&out[0], 2, d24);
    float want1[8];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) want1[i * 4 + k] = (v[i * 12 + k] + v[i * 12 + 4 + k] + v[i * 12 + 8 + k]) / 3;
    el_test_assert_f32(&out[0], want1, 8, 1e-6f);
    el_test_release_all(1, out);
    el_tensor_release(&ax);

    /* a scalar int64 axis */
    int64_t last = -1;
    el_tensor sax = el_test_i64(0, NULL, &last);
    assert_int_equal(el_reduce_run("Max", &x, &sax, false, out), EL_OK);
    int64_t d23[2] = {2, 3};
    el_test_assert_shape(&out[0], 2, d23);
    float wmax[6] = {3, 7, 11, 15, 19, 23};
    el_test_assert_f32(&out[0], wmax, 6, 0);
    el_test_release_all(1, out);
    el_tensor_release(&sax);

    /* no axes: the input unchanged (keep_dims or not) */
    ax = el_axes(0, NULL);
    assert_int_equal(el_reduce_run("Prod", &x, &ax, false, out), EL_OK);
    el_test_assert_shape(&out[0], 3, d);
    el_test_assert_f32(&out[0], v, 24, 0);
    el_test_release_all(1, out);
    el_tensor_release(&ax);

    /* all axes */
    int32_t all[3] = {2, 0, 1};
    ax = el_axes(3, all);
    assert_int_equal(el_reduce_run("Min", &x, &ax, false, out), EL_OK);
    assert_int_equal(out[0].ndim, 0);
    assert_true(((float *)out[0].data)[0] == 0);
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    el_tensor_release(&x);
}

static void test_empty_reductions(void **state)
{
    (void)state;
    int64_t d[2] = {0, 3};
    el_tensor x = el_test_f32(2, d, NULL), out[1];
    int32_t a0 = 0;
    el_tensor ax = el_test_i32(0, NULL, &a0);
    struct { const char *op; float want; } f[] = {
        {"Sum", 0}, {"Prod", 1}, {"Max", -INFINITY}, {"Min", INFINITY},
    };
    int64_t d3[1] = {3};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        assert_int_equal(el_reduce_run(f[k].op, &x, &ax, false, out), EL_OK);
        el_test_assert_shape(&out[0], 1, d3);
        for (int i = 0; i < 3; i++)
            if (((float *)out[0].data)[i] != f[k].want) fail_msg("%s of empty: got %g", f[k].op, ((float *)out[0].data)[i]);
        el_test_release_all(1, out);
    }
    assert_int_equal(el_reduce_run("Mean", &x, &ax, false, out), EL_OK);
    assert_true(isnan(((float *)out[0].data)[0]));
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* int32: lowest/highest, Mean 0 */
    x = el_test_i32(2, d, NULL);
    struct { const char *op; int32_t want; } iw[] = {
        {"Sum", 0}, {"Prod", 1}, {"Max", INT32_MIN}, {"Min", INT32_MAX}, {"Mean", 0},
    };
    for (size_t k = 0; k < sizeof iw / sizeof iw[0]; k++) {
        assert_int_equal(el_reduce_run(iw[k].op, &x, &ax, false, out), EL_OK);
        assert_int_equal(((int32_t *)out[0].data)[2], iw[k].want);
        el_test_release_all(1, out);
    }
    el_tensor_release(&x);

    /* bool: All of nothing is true, Any false */
    x = el_test_bool(2, d, NULL);
    assert_int_equal(el_reduce_run("All", &x, &ax, false, out), EL_OK);
    assert_int_equal(out[0].dtype, EL_DT_BOOL);
    assert_int_equal(((uint8_t *)out[0].data)[0], 1);
    el_test_release_all(1, out);
    assert_int_equal(el_reduce_run("Any", &x, &ax, true, out), EL_OK);
    int64_t k13[2] = {1, 3};
    el_test_assert_shape(&out[0], 2, k13);
    assert_int_equal(((uint8_t *)out[0].data)[0], 0);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* reducing the non-empty axis of [3,0] gives an empty output */
    int64_t d30[2] = {3, 0};
    x = el_test_f32(2, d30, NULL);
    assert_int_equal(el_reduce_run("Sum", &x, &ax, false, out), EL_OK);
    int64_t d0[1] = {0};
    el_test_assert_shape(&out[0], 1, d0);
    el_test_release_all(1, out);
    el_tensor_release(&x);
    el_tensor_release(&ax);
}

static void test_integer_mean_and_wrap(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    int32_t v[6] = {1, 2, 2, -1, -2, -2};
    el_tensor x = el_test_i32(2, d, v), out[1];
    int32_t a1 = 1;
    el_tensor ax = el_test_i32(0, NULL, &a1);
    assert_int_equal(el_reduce_run("Mean", &x, &ax, false, out), EL_OK);
    /* 5/3 and -5/3 truncate toward zero */
    assert_int_equal(((int32_t *)out[0].data)[0], 1);
    assert_int_equal(((int32_t *)out[0].data)[1], -1);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* int32 Mean sums in int64 (no overflow), Sum wraps like TF */
    int32_t big[3] = {INT32_MAX, INT32_MAX, INT32_MAX};
    int64_t d3[1] = {3};
    x = el_test_i32(1, d3, big);
    int32_t a0 = 0;
    el_tensor ax0 = el_test_i32(0, NULL, &a0);
    assert_int_equal(el_reduce_run("Mean", &x, &ax0, false, out), EL_OK);
    assert_int_equal(((int32_t *)out[0].data)[0], INT32_MAX);
    el_test_release_all(1, out);
    assert_int_equal(el_reduce_run("Sum", &x, &ax0, false, out), EL_OK);
    assert_int_equal(((int32_t *)out[0].data)[0], (int32_t)(3u * (uint32_t)INT32_MAX));
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* uint8 Mean does not wrap at 256 */
    uint8_t u[4] = {250, 251, 252, 253};
    int64_t d4[1] = {4};
    x = el_test_u8(1, d4, u);
    assert_int_equal(el_reduce_run("Mean", &x, &ax0, false, out), EL_OK);
    assert_int_equal(((uint8_t *)out[0].data)[0], 251);
    el_test_release_all(1, out);
    assert_int_equal(el_reduce_run("Max", &x, &ax0, false, out), EL_OK);
    assert_int_equal(((uint8_t *)out[0].data)[0], 253);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* int64 Prod */
    int64_t p[3] = {-3, 4, 5};
    x = el_test_i64(1, d3, p);
    assert_int_equal(el_reduce_run("Prod", &x, &ax0, false, out), EL_OK);
    assert_true(((int64_t *)out[0].data)[0] == -60);
    el_test_release_all(1, out);
    el_tensor_release(&x);
    el_tensor_release(&ax);
    el_tensor_release(&ax0);
}

static void test_nan_propagation(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    float v[6] = {1, NAN, 3, 4, 5, 6};
    el_tensor x = el_test_f32(2, d, v), out[1];
    int32_t a1 = 1;
    el_tensor ax = el_test_i32(0, NULL, &a1);
    const char *ops[3] = {"Max", "Min", "Sum"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(el_reduce_run(ops[k], &x, &ax, false, out), EL_OK);
        assert_true(isnan(((float *)out[0].data)[0]));
        assert_false(isnan(((float *)out[0].data)[1]));
        el_test_release_all(1, out);
    }
    el_tensor_release(&x);
    el_tensor_release(&ax);
}

static void test_logical(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3};
    uint8_t v[6] = {1, 1, 1, 0, 1, 0};
    el_tensor x = el_test_bool(2, d, v), out[1];
    int32_t a1 = -1;
    el_tensor ax = el_test_i32(0, NULL, &a1);
    assert_int_equal(el_reduce_run("All", &x, &ax, false, out), EL_OK);
    assert_int_equal(((uint8_t *)out[0].data)[0], 1);
    assert_int_equal(((uint8_t *)out[0].data)[1], 0);
    el_test_release_all(1, out);
    int32_t a0 = 0;
    el_tensor ax0 = el_test_i32(0, NULL, &a0);
    assert_int_equal(el_reduce_run("Any", &x, &ax0, false, out), EL_OK);
    uint8_t any[3] = {1, 1, 1};
    for (int i = 0; i < 3; i++) assert_int_equal(((uint8_t *)out[0].data)[i], any[i]);
    el_test_release_all(1, out);
    /* type rules: All/Any need bool, Sum refuses bool */
    el_assert_error(el_reduce_run("Sum", &x, &ax, false, out), EL_ERR_UNSUPPORTED, "numeric");
    el_test_release_all(1, out);
    el_tensor f = el_test_f32(2, d, NULL);
    el_assert_error(el_reduce_run("Any", &f, &ax, false, out), EL_ERR_UNSUPPORTED, "bool");
    el_test_release_all(1, out);
    el_tensor_release(&f);
    el_tensor_release(&x);
    el_tensor_release(&ax);
    el_tensor_release(&ax0);
}

static void test_axis_errors(void **state)
{
    (void)state;
    int64_t d[2] = {2, 2};
    el_tensor x = el_test_f32(2, d, NULL), out[1];
    memset(x.data, 0, 16);
    int32_t bad[2] = {0, 3};
    el_tensor ax = el_axes(2, bad);
    el_assert_error(el_reduce_run("Sum", &x, &ax, false, out), EL_ERR_RUNTIME,
                    "Invalid reduction dimension (3 for input with 2 dimension(s)");
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    int32_t neg = -3;
    ax = el_test_i32(0, NULL, &neg);
    el_assert_error(el_reduce_run("Sum", &x, &ax, false, out), EL_ERR_RUNTIME, "Invalid reduction dimension (-3");
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    float fa = 0;
    ax = el_test_f32(0, NULL, &fa);
    el_assert_error(el_reduce_run("Sum", &x, &ax, false, out), EL_ERR_UNSUPPORTED, "int32 or int64");
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    el_tensor_release(&x);

    /* a scalar input reduces over no axes */
    float s = 4;
    x = el_test_f32(0, NULL, &s);
    ax = el_axes(0, NULL);
    assert_int_equal(el_reduce_run("Mean", &x, &ax, true, out), EL_OK);
    assert_int_equal(out[0].ndim, 0);
    assert_true(((float *)out[0].data)[0] == 4);
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    int32_t z = 0;
    ax = el_test_i32(0, NULL, &z);
    el_assert_error(el_reduce_run("Mean", &x, &ax, true, out), EL_ERR_RUNTIME, "for input with 0 dimension(s)");
    el_test_release_all(1, out);
    el_tensor_release(&ax);
    el_tensor_release(&x);
}

static uint32_t el_rng = 99;
static uint32_t el_rand(void)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return el_rng >> 8;
}

/* Random shapes (rank 1..5, sizes 1..4) and axis subsets against a naive
 * reduction: Sum of int32 and Max of float32. */
static void test_matches_naive(void **state)
{
    (void)state;
    for (int iter = 0; iter < 200; iter++) {
        int r = 1 + (int)(el_rand() % 5);
        int64_t d[5], od[5];
        int32_t axes[5];
        int na = 0;
        bool red[5];
        for (int i = 0; i < r; i++) {
            d[i] = 1 + el_rand() % 4;
            red[i] = el_rand() % 2;
            if (red[i]) axes[na++] = el_rand() % 2 ? i : i - r;
        }
        el_tensor xi = el_test_i32(r, d, NULL), xf = el_test_f32(r, d, NULL), out[1];
        int64_t n = el_tensor_numel(&xi), on = 1;
        for (int64_t i = 0; i < n; i++) {
            ((int32_t *)xi.data)[i] = (int32_t)(el_rand() % 1000) - 500;
            ((float *)xf.data)[i] = (float)((int)(el_rand() % 1000) - 500) / 8;
        }
        for (int i = 0; i < r; i++) {
            od[i] = red[i] ? 1 : d[i];
            on *= od[i];
        }
        int32_t wsum[1024];
        float wmax[1024];
        for (int64_t o = 0; o < on; o++) {
            wsum[o] = 0;
            wmax[o] = -INFINITY;
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t rem = i, o = 0, mul = 1;
            for (int k = r - 1; k >= 0; k--) {
                int64_t c = rem % d[k];
                rem /= d[k];
                if (!red[k]) o += c * mul;
                mul *= od[k];
            }
            wsum[o] += ((int32_t *)xi.data)[i];
            if (((float *)xf.data)[i] > wmax[o]) wmax[o] = ((float *)xf.data)[i];
        }
        el_tensor ax = el_axes(na, axes);
        assert_int_equal(el_reduce_run("Sum", &xi, &ax, true, out), EL_OK);
        el_test_assert_shape(&out[0], r, od);
        for (int64_t o = 0; o < on; o++)
            if (((int32_t *)out[0].data)[o] != wsum[o])
                fail_msg("iter %d Sum element %lld: got %d want %d", iter, (long long)o, ((int32_t *)out[0].data)[o], wsum[o]);
        el_test_release_all(1, out);
        assert_int_equal(el_reduce_run("Max", &xf, &ax, true, out), EL_OK);
        el_test_assert_f32(&out[0], wmax, on, 0);
        el_test_release_all(1, out);
        el_tensor_release(&ax);
        el_tensor_release(&xi);
        el_tensor_release(&xf);
    }
}

/* ---- ArgMax / ArgMin ------------------------------------------------------------------ */

static el_status el_arg_run(const char *op, const el_tensor *x, int64_t dim, el_dtype otype, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    if (otype != EL_DT_INVALID) el_test_attr_type(&tn, "output_type", otype);
    el_tensor in[2] = {*x, el_test_i64(0, NULL, &dim)};
    el_status s = el_test_run(&tn, 2, in, 1, out);
    el_tensor_release(&in[1]);
    return s;
}

static void test_argmax_argmin(void **state)
{
    (void)state;
    int64_t d[2] = {2, 4};
    float v[8] = {1, 5, 5, 2, NAN, -1, 3, 3};
    el_tensor x = el_test_f32(2, d, v), out[1];
    assert_int_equal(el_arg_run("ArgMax", &x, 1, EL_DT_INVALID, out), EL_OK);
    assert_int_equal(out[0].dtype, EL_DT_INT64);
    int64_t d2[1] = {2};
    el_test_assert_shape(&out[0], 1, d2);
    /* ties keep the first index; NaN never wins */
    assert_true(((int64_t *)out[0].data)[0] == 1);
    assert_true(((int64_t *)out[0].data)[1] == 2);
    el_test_release_all(1, out);
    assert_int_equal(el_arg_run("ArgMin", &x, -1, EL_DT_INT32, out), EL_OK);
    assert_int_equal(out[0].dtype, EL_DT_INT32);
    assert_int_equal(((int32_t *)out[0].data)[0], 0);
    assert_int_equal(((int32_t *)out[0].data)[1], 1);
    el_test_release_all(1, out);
    /* along axis 0 */
    assert_int_equal(el_arg_run("ArgMax", &x, 0, EL_DT_INT64, out), EL_OK);
    int64_t d4[1] = {4};
    el_test_assert_shape(&out[0], 1, d4);
    int64_t want0[4] = {0, 0, 0, 1};
    for (int i = 0; i < 4; i++) assert_true(((int64_t *)out[0].data)[i] == want0[i]);
    el_test_release_all(1, out);

    el_assert_error(el_arg_run("ArgMax", &x, 2, EL_DT_INVALID, out), EL_ERR_RUNTIME,
                    "Expected dimension in the range [-2, 2), but got 2");
    el_test_release_all(1, out);
    el_tensor_release(&x);

    int64_t dz[2] = {3, 0};
    x = el_test_f32(2, dz, NULL);
    el_assert_error(el_arg_run("ArgMax", &x, 1, EL_DT_INVALID, out), EL_ERR_RUNTIME,
                    "Reduction axis 1 is empty in shape [3,0]");
    el_test_release_all(1, out);
    /* the other axis: an empty output, fine */
    assert_int_equal(el_arg_run("ArgMin", &x, 0, EL_DT_INVALID, out), EL_OK);
    assert_int_equal(el_tensor_numel(&out[0]), 0);
    el_test_release_all(1, out);
    el_tensor_release(&x);

    /* int and uint8 inputs; a non-scalar dimension is an error */
    int32_t iv[4] = {INT32_MIN, INT32_MIN, -4, 7};
    int64_t d4b[1] = {4};
    x = el_test_i32(1, d4b, iv);
    assert_int_equal(el_arg_run("ArgMax", &x, 0, EL_DT_INVALID, out), EL_OK);
    assert_true(((int64_t *)out[0].data)[0] == 3);
    el_test_release_all(1, out);
    assert_int_equal(el_arg_run("ArgMin", &x, 0, EL_DT_INVALID, out), EL_OK);
    assert_true(((int64_t *)out[0].data)[0] == 0);
    el_test_release_all(1, out);
    el_test_node tn;
    el_test_node_init(&tn, "ArgMax");
    int32_t dims[1] = {0};
    int64_t one[1] = {1};
    el_tensor in[2] = {x, el_test_i32(1, one, dims)};
    el_assert_error(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME, "dim must be a scalar");
    el_test_release_all(1, out);
    el_tensor_release(&in[1]);
    el_tensor_release(&x);
}

/* A float Mean/Sum over the spatial axes of NHWC (ops/reduce_fast.c's
 * column sums on AVX-512) has the reference's bits, at 1 and 3 threads,
 * for channel counts around the kernel's 16-float vectors and 64-column
 * blocks, with NaN and infinities in the input. */
static void test_spatial_fast_same_bits(void **state)
{
    (void)state;
    static const int64_t chans[] = {1, 5, 16, 24, 72, 128, 200};
    el_threadpool *pool;
    assert_int_equal(el_threadpool_create(3, &pool), EL_OK);
    uint32_t rng = 5;
    for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++) {
        int64_t d[4] = {1, 9, 13, chans[ci]};
        el_tensor x;
        assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, 4, d), EL_OK);
        float *xv = x.data;
        for (int64_t i = 0; i < el_tensor_numel(&x); i++) {
            rng = rng * 1664525u + 1013904223u;
            xv[i] = (float)((int32_t)rng) * 1e-6f; /* large and small: rounding order shows */
        }
        if (chans[ci] > 20) xv[17] = NAN, xv[40] = INFINITY;
        const int32_t ax[2] = {1, 2};
        el_tensor axes = el_axes(2, ax);
        for (int op = 0; op < 2; op++) {
            const char *name = op ? "Sum" : "Mean";
            el_tensor ref = {0};
            el_conv_force_isa(EL_ISA_REF);
            assert_int_equal(el_reduce_run(name, &x, &axes, op == 0, &ref), EL_OK);
            el_conv_force_isa(-1);
            for (int t = 0; t < 2; t++) {
                el_threadpool *prev = el_threadpool_set_current(t ? pool : NULL);
                el_tensor got = {0};
                assert_int_equal(el_reduce_run(name, &x, &axes, op == 0, &got), EL_OK);
                el_threadpool_set_current(prev);
                el_test_assert_shape(&got, ref.ndim, ref.dims);
                if (memcmp(got.data, ref.data, el_tensor_nbytes(&ref)))
                    fail_msg("%s over %lld channels, %d threads: not the reference's bits", name,
                             (long long)chans[ci], t ? 3 : 1);
                el_tensor_release(&got);
            }
            el_tensor_release(&ref);
        }
        el_tensor_release(&axes);
        el_tensor_release(&x);
    }
    el_threadpool_free(pool);
}

/* The reference order of a float Sum/Mean, computed independently: every
 * element in memory order goes to its output's run (the innermost reduced
 * axis of more than one element), summed in float from +0; a run's sum
 * goes into the output's double once its last element is in (every
 * element straight into the double where the run is longer than
 * EL_SUM_RUN_MAX). Returns how many outputs differ from summing every
 * element in double, so a case can show it tells the two orders apart. */
static int el_runs_oracle(const el_tensor *x, const bool *mask, bool mean, float *want)
{
    int64_t L = 1, cnt = 1, onumel = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (mask[d]) cnt *= x->dims[d];
        else onumel *= x->dims[d];
        if (mask[d] && x->dims[d] > 1) L = x->dims[d];
    }
    double *acc = calloc((size_t)onumel, sizeof(double)), *dbl = calloc((size_t)onumel, sizeof(double));
    float *part = calloc((size_t)onumel, sizeof(float));
    int64_t *seen = calloc((size_t)onumel, sizeof(int64_t));
    assert_true(acc && dbl && part && seen);
    const float *v = x->data;
    int64_t idx[EL_MAX_DIMS] = {0};
    for (int64_t i = 0; i < el_tensor_numel(x); i++) {
        int64_t o = 0;
        for (int d = 0; d < x->ndim; d++)
            if (!mask[d]) o = o * x->dims[d] + idx[d];
        dbl[o] += (double)v[i];
        if (L > EL_SUM_RUN_MAX) {
            acc[o] += (double)v[i];
        } else {
            part[o] += v[i];
            if (++seen[o] % L == 0) {
                acc[o] += (double)part[o];
                part[o] = 0.0f;
            }
        }
        for (int d = x->ndim - 1; d >= 0 && ++idx[d] == x->dims[d]; d--) idx[d] = 0;
    }
    int differ = 0;
    for (int64_t o = 0; o < onumel; o++) {
        want[o] = (float)(mean ? acc[o] / (double)cnt : acc[o]);
        const float all = (float)(mean ? dbl[o] / (double)cnt : dbl[o]);
        differ += memcmp(&all, &want[o], sizeof all) != 0;
    }
    free(acc), free(dbl), free(part), free(seen);
    return differ;
}

/* Float Sum/Mean sum runs along the innermost reduced axis in float and
 * the runs in double (ops/reduce.c): the reference kernel's bits against
 * the oracle above, for a spatial Mean of several images (kept channels
 * innermost), rows longer than EL_SUM_RUN_MAX, a reduced innermost axis
 * (short and long), reduced axes around a kept one, and a size-1 axis
 * inside; the fast path gives the same bits (test_spatial_fast_same_bits). */
static void test_float_runs(void **state)
{
    (void)state;
    static const struct {
        int rank;
        int64_t dims[4];
        bool mask[4];
        bool runs; /* the runs change some output against all-double sums */
    } cases[] = {
        {4, {2, 6, 5, 7}, {false, true, true, false}, true},
        {4, {1, 3, 300, 4}, {false, true, true, false}, false},
        {2, {5, 200}, {false, true}, true},
        {2, {3, 700}, {false, true}, false},
        {3, {8, 6, 50}, {true, false, true}, true},
        {4, {7, 40, 1, 6}, {false, true, true, false}, true},
    };
    uint32_t rng = 11;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        el_tensor x;
        assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, cases[ci].rank, cases[ci].dims), EL_OK);
        float *xv = x.data;
        for (int64_t i = 0; i < el_tensor_numel(&x); i++) {
            rng = rng * 1664525u + 1013904223u;
            xv[i] = (float)((int32_t)rng) * 1e-6f;
        }
        int32_t ax[4];
        int na = 0;
        for (int d = 0; d < cases[ci].rank; d++)
            if (cases[ci].mask[d]) ax[na++] = d;
        el_tensor axes = el_axes(na, ax);
        for (int op = 0; op < 2; op++) {
            el_tensor got = {0};
            el_conv_force_isa(EL_ISA_REF);
            assert_int_equal(el_reduce_run(op ? "Sum" : "Mean", &x, &axes, false, &got), EL_OK);
            el_conv_force_isa(-1);
            float want[64];
            assert_true(el_tensor_numel(&got) <= 64);
            const int differ = el_runs_oracle(&x, cases[ci].mask, op == 0, want);
            if (cases[ci].runs ? differ == 0 : differ != 0)
                fail_msg("case %zu %s: %d outputs differ from all-double sums", ci, op ? "Sum" : "Mean", differ);
            if (memcmp(got.data, want, el_tensor_nbytes(&got)))
                fail_msg("case %zu %s: not the documented order's bits", ci, op ? "Sum" : "Mean");
            el_tensor_release(&got);
        }
        el_tensor_release(&axes);
        el_tensor_release(&x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_axes_and_keep_dims),
        cmocka_unit_test(test_empty_reductions),
        cmocka_unit_test(test_integer_mean_and_wrap),
        cmocka_unit_test(test_nan_propagation),
        cmocka_unit_test(test_logical),
        cmocka_unit_test(test_axis_errors),
        cmocka_unit_test(test_matches_naive),
        cmocka_unit_test(test_argmax_argmin),
        cmocka_unit_test(test_spatial_fast_same_bits),
        cmocka_unit_test(test_float_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
