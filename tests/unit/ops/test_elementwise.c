/* Elementwise ops: broadcasting against a naive reference over many shape
 * pairs, TF's integer division rules, NaN, dtype and shape errors, unary
 * math, Select/SelectV2, AddN, BiasAdd, Fill, ZerosLike/OnesLike. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static el_status el_run(const char *op, int nin, const el_tensor *in, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    return el_test_run(&tn, nin, in, 1, out);
}

static void el_assert_i32(const el_tensor *t, const int32_t *want, int64_t n)
{
    assert_int_equal(t->dtype, EL_DT_INT32);
    assert_int_equal(el_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        if (((const int32_t *)t->data)[i] != want[i])
            fail_msg("element %lld: got %d, want %d", (long long)i, ((const int32_t *)t->data)[i], want[i]);
}

static void el_assert_u8(const el_tensor *t, el_dtype dt, const uint8_t *want, int64_t n)
{
    assert_int_equal(t->dtype, dt);
    assert_int_equal(el_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        if (((const uint8_t *)t->data)[i] != want[i])
            fail_msg("element %lld: got %d, want %d", (long long)i, ((const uint8_t *)t->data)[i], want[i]);
}

static void el_assert_error(el_status got, el_status want, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(el_last_error(), needle)) fail_msg("error '%s' lacks '%s'", el_last_error(), needle);
}

/* ---- broadcasting ---------------------------------------------------------------- */

static void test_broadcast_2x1x3_plus_4x1(void **state)
{
    (void)state;
    int64_t da[3] = {2, 1, 3}, db[2] = {4, 1};
    float a[6] = {0, 1, 2, 3, 4, 5}, b[4] = {10, 20, 30, 40};
    el_tensor in[2] = {el_test_f32(3, da, a), el_test_f32(2, db, b)}, out[1];
    assert_int_equal(el_run("AddV2", 2, in, out), EL_OK);
    int64_t want_dims[3] = {2, 4, 3};
    el_test_assert_shape(&out[0], 3, want_dims);
    float want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++) want[(i * 4 + j) * 3 + k] = a[i * 3 + k] + b[j];
    el_test_assert_f32(&out[0], want, 24, 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static uint32_t el_rng = 12345;
static uint32_t el_rand(void)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return el_rng >> 8;
}

/* Index of the element of a (rank ra, dims da) that output index `o` of the
 * broadcast shape (rank r, dims od) reads. */
static int64_t el_naive_index(int64_t o, int r, const int64_t *od, int ra, const int64_t *da)
{
    int64_t idx = 0, mul = 1;
    for (int d = r - 1; d >= 0; d--) {
        int64_t c = o % od[d];
        o /= od[d];
        int ad = d - (r - ra);
        if (ad < 0) continue;
        if (da[ad] != 1) idx += c * mul;
        mul *= da[ad];
    }
    return idx;
}

/* Random pairs of compatible shapes (ranks 0..5, some dims 1), every op
 * checked against the naive per-element broadcast. */
static void test_broadcast_matches_naive(void **state)
{
    (void)state;
    const char *ops[] = {"Add", "Sub", "Mul", "Maximum", "SquaredDifference", "FloorMod"};
    for (int iter = 0; iter < 300; iter++) {
        int r = (int)(el_rand() % 6);
        int64_t full[6], da[6], db[6], od[6];
        for (int d = 0; d < r; d++) full[d] = 1 + el_rand() % 4;
        int ra = (int)(el_rand() % (r + 1)), rb = (int)(el_rand() % (r + 1));
        if (el_rand() % 2) ra = r; else rb = r;
        for (int d = 0; d < ra; d++) da[d] = el_rand() % 3 == 0 ? 1 : full[r - ra + d];
        for (int d = 0; d < rb; d++) db[d] = el_rand() % 3 == 0 ? 1 : full[r - rb + d];
        int64_t n = 1;
        for (int d = 0; d < r; d++) {
            int ia = d - (r - ra), ib = d - (r - rb);
            int64_t sa = ia >= 0 ? da[ia] : 1, sb = ib >= 0 ? db[ib] : 1;
            od[d] = sa > sb ? sa : sb;
            n *= od[d];
        }
        el_tensor in[2] = {el_test_i32(ra, da, NULL), el_test_i32(rb, db, NULL)}, out[1];
        for (int k = 0; k < 2; k++)
            for (int64_t i = 0; i < el_tensor_numel(&in[k]); i++)
                ((int32_t *)in[k].data)[i] = (int32_t)(el_rand() % 21) - 10;
        /* FloorMod needs nonzero divisors. */
        for (int64_t i = 0; i < el_tensor_numel(&in[1]); i++)
            if (((int32_t *)in[1].data)[i] == 0) ((int32_t *)in[1].data)[i] = 3;
        const char *op = ops[iter % 6];
        assert_int_equal(el_run(op, 2, in, out), EL_OK);
        el_test_assert_shape(&out[0], r, od);
        for (int64_t o = 0; o < n; o++) {
            int32_t x = ((int32_t *)in[0].data)[el_naive_index(o, r, od, ra, da)];
            int32_t y = ((int32_t *)in[1].data)[el_naive_index(o, r, od, rb, db)];
            int32_t want;
            switch (iter % 6) {
            case 0: want = x + y; break;
            case 1: want = x - y; break;
            case 2: want = x * y; break;
            case 3: want = x > y ? x : y; break;
            case 4: want = (x - y) * (x - y); break;
            default: want = (int32_t)(x - y * (int32_t)floor((double)x / y)); break;
            }
            int32_t got = ((int32_t *)out[0].data)[o];
            if (got != want) fail_msg("%s iter %d element %lld: got %d want %d", op, iter, (long long)o, got, want);
        }
        el_test_release_all(1, out);
        el_test_release_all(2, in);
    }
}

static void test_scalar_and_empty(void **state)
{
    (void)state;
    float s = 2;
    int64_t zero[1] = {0}, z3[2] = {0, 3}, one[1] = {1}, two[1] = {2};
    el_tensor in[2] = {el_test_f32(0, NULL, &s), el_test_f32(1, zero, NULL)}, out[1];
    assert_int_equal(el_run("Mul", 2, in, out), EL_OK);
    el_test_assert_shape(&out[0], 1, zero);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* [0,3] vs [1]: 0 against 1 broadcasts to 0. */
    in[0] = el_test_f32(2, z3, NULL);
    in[1] = el_test_f32(1, one, &s);
    assert_int_equal(el_run("Add", 2, in, out), EL_OK);
    el_test_assert_shape(&out[0], 2, z3);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* [0] vs [2] is incompatible: 0 only stretches from 1. */
    float v2[2] = {1, 2};
    in[0] = el_test_f32(1, zero, NULL);
    in[1] = el_test_f32(1, two, v2);
    el_assert_error(el_run("Add", 2, in, out), EL_ERR_RUNTIME, "Incompatible shapes: [0] vs. [2]");
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* scalar op scalar is a scalar */
    in[0] = el_test_f32(0, NULL, &s);
    in[1] = el_test_f32(0, NULL, &s);
    assert_int_equal(el_run("Pow", 2, in, out), EL_OK);
    assert_int_equal(out[0].ndim, 0);
    assert_true(((float *)out[0].data)[0] == 4.0f);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_incompatible_shapes(void **state)
{
    (void)state;
    int64_t da[2] = {2, 3}, db[1] = {4};
    el_tensor in[2] = {el_test_f32(2, da, NULL), el_test_f32(1, db, NULL)}, out[1];
    memset(in[0].data, 0, 24);
    memset(in[1].data, 0, 16);
    el_assert_error(el_run("Sub", 2, in, out), EL_ERR_RUNTIME, "Incompatible shapes: [2,3] vs. [4]");
    assert_non_null(strstr(el_last_error(), "test_node"));
    el_test_release_all(1, out);

    /* Equal/NotEqual with incompatible_shape_error=false: a scalar verdict. */
    el_test_node tn;
    el_test_node_init(&tn, "Equal");
    el_test_attr_bool(&tn, "incompatible_shape_error", false);
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    assert_int_equal(out[0].ndim, 0);
    assert_int_equal(out[0].dtype, EL_DT_BOOL);
    assert_int_equal(((uint8_t *)out[0].data)[0], 0);
    el_test_release_all(1, out);
    el_test_node_init(&tn, "NotEqual");
    el_test_attr_bool(&tn, "incompatible_shape_error", false);
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    assert_int_equal(((uint8_t *)out[0].data)[0], 1);
    el_test_release_all(1, out);
    /* ... but an error when the attr is true or absent. */
    el_test_node_init(&tn, "NotEqual");
    el_test_attr_bool(&tn, "incompatible_shape_error", true);
    el_assert_error(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME, "Incompatible shapes");
    el_test_release_all(1, out);
    el_assert_error(el_run("Equal", 2, in, out), EL_ERR_RUNTIME, "Incompatible shapes");
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_dtype_errors(void **state)
{
    (void)state;
    int64_t d[1] = {2};
    float f[2] = {1, 2};
    int32_t i[2] = {1, 2};
    el_tensor in[2] = {el_test_f32(1, d, f), el_test_i32(1, d, i)}, out[1];
    el_assert_error(el_run("Add", 2, in, out), EL_ERR_INVALID_ARG, "dtype int32 that does not match dtype float32");
    el_test_release_all(1, out);
    el_tensor ii[2] = {in[1], in[1]};
    /* RealDiv is float-only in TF; LogicalAnd bool-only; Exp float-only. */
    el_assert_error(el_run("RealDiv", 2, ii, out), EL_ERR_UNSUPPORTED, "int32");
    el_test_release_all(1, out);
    el_tensor ff[2] = {in[0], in[0]};
    el_assert_error(el_run("LogicalAnd", 2, ff, out), EL_ERR_UNSUPPORTED, "bool");
    el_test_release_all(1, out);
    el_assert_error(el_run("Exp", 1, &in[1], out), EL_ERR_UNSUPPORTED, "floating-point");
    el_test_release_all(1, out);
    el_assert_error(el_run("Add", 1, in, out), EL_ERR_FORMAT, "expected 2 inputs");
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

/* ---- integer division, pow, wrap ---------------------------------------------------- */

static void el_check_i32_op(const char *op, int n, const int32_t *x, const int32_t *y, const int32_t *want)
{
    int64_t d[1] = {n};
    el_tensor in[2] = {el_test_i32(1, d, x), el_test_i32(1, d, y)}, out[1];
    assert_int_equal(el_run(op, 2, in, out), EL_OK);
    el_assert_i32(&out[0], want, n);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_integer_division(void **state)
{
    (void)state;
    int32_t x[6] = {7, -7, 7, -7, INT32_MIN, 6};
    int32_t y[6] = {2, 2, -2, -2, -1, 3};
    int32_t fdiv[6] = {3, -4, -4, 3, INT32_MIN, 2};  /* floor */
    int32_t fmod_[6] = {1, 1, -1, -1, 0, 0};         /* sign of divisor */
    int32_t tdiv[6] = {3, -3, -3, 3, INT32_MIN, 2};  /* Div truncates for ints */
    el_check_i32_op("FloorDiv", 6, x, y, fdiv);
    el_check_i32_op("FloorMod", 6, x, y, fmod_);
    el_check_i32_op("Div", 6, x, y, tdiv);

    /* int64 too: MIN / -1 wraps instead of trapping. */
    int64_t d[2] = {2};
    int64_t x64[2] = {INT64_MIN, -9}, y64[2] = {-1, 4};
    el_tensor in[2] = {el_test_i64(1, d, x64), el_test_i64(1, d, y64)}, out[1];
    assert_int_equal(el_run("FloorDiv", 2, in, out), EL_OK);
    assert_true(((int64_t *)out[0].data)[0] == INT64_MIN);
    assert_true(((int64_t *)out[0].data)[1] == -3);
    el_test_release_all(1, out);
    assert_int_equal(el_run("FloorMod", 2, in, out), EL_OK);
    assert_true(((int64_t *)out[0].data)[0] == 0);
    assert_true(((int64_t *)out[0].data)[1] == 3);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* uint8: plain division */
    uint8_t ux[2] = {200, 7}, uy[2] = {3, 2}, uq[2] = {66, 3};
    int64_t d2[1] = {2};
    in[0] = el_test_u8(1, d2, ux);
    in[1] = el_test_u8(1, d2, uy);
    assert_int_equal(el_run("FloorDiv", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_UINT8, uq, 2);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_integer_division_by_zero(void **state)
{
    (void)state;
    const char *ops[] = {"Div", "FloorDiv", "FloorMod"};
    int64_t d[1] = {3};
    int32_t x[3] = {1, 2, 3}, y[3] = {1, 0, 1};
    for (int k = 0; k < 3; k++) {
        el_tensor in[2] = {el_test_i32(1, d, x), el_test_i32(1, d, y)}, out[1];
        el_assert_error(el_run(ops[k], 2, in, out), EL_ERR_RUNTIME, "Integer division by zero");
        el_test_release_all(1, out);
        el_test_release_all(2, in);
    }
    /* scalar zero divisor broadcast over a vector */
    int32_t zero = 0;
    el_tensor in[2] = {el_test_i32(1, d, x), el_test_i32(0, NULL, &zero)}, out[1];
    el_assert_error(el_run("FloorDiv", 2, in, out), EL_ERR_RUNTIME, "Integer division by zero");
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* float division by zero is IEEE, not an error */
    float fx[3] = {1, -1, 0}, fy[3] = {0, 0, 0};
    in[0] = el_test_f32(1, d, fx);
    in[1] = el_test_f32(1, d, fy);
    assert_int_equal(el_run("RealDiv", 2, in, out), EL_OK);
    const float *o = out[0].data;
    assert_true(isinf(o[0]) && o[0] > 0);
    assert_true(isinf(o[1]) && o[1] < 0);
    assert_true(isnan(o[2]));
    el_test_release_all(1, out);
    assert_int_equal(el_run("FloorMod", 2, in, out), EL_OK);
    assert_true(isnan(((float *)out[0].data)[0]));
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_float_floor_ops(void **state)
{
    (void)state;
    int64_t d[1] = {5};
    float x[5] = {7, -7, 7, -7.5f, 5}, y[5] = {2, 2, -2, 2, 0.5f};
    el_tensor in[2] = {el_test_f32(1, d, x), el_test_f32(1, d, y)}, out[1];
    assert_int_equal(el_run("FloorDiv", 2, in, out), EL_OK);
    float fdiv[5] = {3, -4, -4, -4, 10};
    el_test_assert_f32(&out[0], fdiv, 5, 0);
    el_test_release_all(1, out);
    assert_int_equal(el_run("FloorMod", 2, in, out), EL_OK);
    float fmod_[5] = {1, 1, -1, 0.5f, 0};
    el_test_assert_f32(&out[0], fmod_, 5, 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_pow_and_wrap(void **state)
{
    (void)state;
    int32_t x[4] = {3, -2, 2, 0}, y[4] = {4, 3, 31, 0}, want[4] = {81, -8, INT32_MIN, 1};
    el_check_i32_op("Pow", 4, x, y, want);
    int32_t yneg[4] = {1, 1, -1, 1};
    int64_t d[1] = {4};
    el_tensor in[2] = {el_test_i32(1, d, x), el_test_i32(1, d, yneg)}, out[1];
    el_assert_error(el_run("Pow", 2, in, out), EL_ERR_RUNTIME, "Integers to negative integer powers are not allowed");
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* int32 and uint8 arithmetic wrap */
    int32_t big[2] = {INT32_MAX, INT32_MIN}, one[2] = {1, 1}, wrapped[2] = {INT32_MIN, INT32_MIN + 1};
    el_check_i32_op("Add", 2, big, one, wrapped);
    el_check_i32_op("Sub", 2, wrapped, one, big);
    uint8_t ux[2] = {200, 3}, uy[2] = {100, 5}, sum[2] = {44, 8}, diff[2] = {100, 254};
    int64_t d2[1] = {2};
    in[0] = el_test_u8(1, d2, ux);
    in[1] = el_test_u8(1, d2, uy);
    assert_int_equal(el_run("AddV2", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_UINT8, sum, 2);
    el_test_release_all(1, out);
    assert_int_equal(el_run("Sub", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_UINT8, diff, 2);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* float Pow */
    float fx[3] = {2, 9, -8}, fy[3] = {-1, 0.5f, 3};
    int64_t d3[1] = {3};
    in[0] = el_test_f32(1, d3, fx);
    in[1] = el_test_f32(1, d3, fy);
    assert_int_equal(el_run("Pow", 2, in, out), EL_OK);
    float fw[3] = {0.5f, 3, -512};
    el_test_assert_f32(&out[0], fw, 3, 1e-6f);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

/* ---- NaN, comparisons, logic ----------------------------------------------------------- */

static void test_nan(void **state)
{
    (void)state;
    int64_t d[1] = {4};
    float x[4] = {NAN, 1, NAN, -0.0f}, y[4] = {1, NAN, NAN, 0.0f};
    el_tensor in[2] = {el_test_f32(1, d, x), el_test_f32(1, d, y)}, out[1];
    const char *mm[2] = {"Maximum", "Minimum"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(el_run(mm[k], 2, in, out), EL_OK);
        const float *o = out[0].data;
        assert_true(isnan(o[0]) && isnan(o[1]) && isnan(o[2]));
        assert_true(o[3] == 0.0f);
        el_test_release_all(1, out);
    }
    const char *cmp[6] = {"Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual"};
    uint8_t want[6][4] = {{0, 0, 0, 1}, {1, 1, 1, 0}, {0, 0, 0, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}, {0, 0, 0, 1}};
    for (int k = 0; k < 6; k++) {
        assert_int_equal(el_run(cmp[k], 2, in, out), EL_OK);
        el_assert_u8(&out[0], EL_DT_BOOL, want[k], 4);
        el_test_release_all(1, out);
    }
    /* activations keep NaN; Sign of NaN is 0 as documented for tf.sign */
    const char *un[3] = {"Relu", "Relu6", "Abs"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(el_run(un[k], 1, in, out), EL_OK);
        assert_true(isnan(((float *)out[0].data)[0]));
        el_test_release_all(1, out);
    }
    assert_int_equal(el_run("Sign", 1, in, out), EL_OK);
    assert_true(((float *)out[0].data)[0] == 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_compare_and_logic(void **state)
{
    (void)state;
    int64_t d[2] = {2, 2}, r[1] = {2};
    int32_t x[4] = {1, 5, 3, 3}, y[2] = {3, 4};
    el_tensor in[2] = {el_test_i32(2, d, x), el_test_i32(1, r, y)}, out[1];
    assert_int_equal(el_run("Less", 2, in, out), EL_OK);
    uint8_t lt[4] = {1, 0, 0, 1};
    el_assert_u8(&out[0], EL_DT_BOOL, lt, 4);
    el_test_assert_shape(&out[0], 2, d);
    el_test_release_all(1, out);
    assert_int_equal(el_run("GreaterEqual", 2, in, out), EL_OK);
    uint8_t ge[4] = {0, 1, 1, 0};
    el_assert_u8(&out[0], EL_DT_BOOL, ge, 4);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    uint8_t a[4] = {1, 1, 0, 0}, b[2] = {1, 0};
    in[0] = el_test_bool(2, d, a);
    in[1] = el_test_bool(1, r, b);
    uint8_t and_[4] = {1, 0, 0, 0}, or_[4] = {1, 1, 1, 0}, eq[4] = {1, 0, 0, 1}, not_[4] = {0, 0, 1, 1};
    assert_int_equal(el_run("LogicalAnd", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_BOOL, and_, 4);
    el_test_release_all(1, out);
    assert_int_equal(el_run("LogicalOr", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_BOOL, or_, 4);
    el_test_release_all(1, out);
    assert_int_equal(el_run("Equal", 2, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_BOOL, eq, 4);
    el_test_release_all(1, out);
    assert_int_equal(el_run("LogicalNot", 1, in, out), EL_OK);
    el_assert_u8(&out[0], EL_DT_BOOL, not_, 4);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

/* ---- unary ---------------------------------------------------------------------------------- */

static void el_check_unary(const char *op, int n, const float *x, const float *want, float tol)
{
    int64_t d[1] = {n};
    el_tensor in[1] = {el_test_f32(1, d, x)}, out[1];
    assert_int_equal(el_run(op, 1, in, out), EL_OK);
    el_test_assert_shape(&out[0], 1, d);
    el_test_assert_f32(&out[0], want, n, tol);
    el_test_release_all(1, out);
    el_test_release_all(1, in);
}

static void test_unary_float(void **state)
{
    (void)state;
    /* Round: half to even, as TF's round_half_to_even. */
    float r_in[9] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 2.6f, -3.7f};
    float r_out[9] = {0, 2, 2, -0.0f, -2, -2, 0, 3, -4};
    el_check_unary("Round", 9, r_in, r_out, 0);
    float x[5] = {-2, -0.5f, 0, 3, 7};
    float relu[5] = {0, 0, 0, 3, 7}, relu6[5] = {0, 0, 0, 3, 6}, sign[5] = {-1, -1, 0, 1, 1};
    float sq[5] = {4, 0.25f, 0, 9, 49}, neg[5] = {2, 0.5f, -0.0f, -3, -7}, absv[5] = {2, 0.5f, 0, 3, 7};
    float flo[5] = {-2, -1, 0, 3, 7}, cei[5] = {-2, -0.0f, 0, 3, 7};
    float elu[5], sig[5], th[5], ex[5];
    for (int i = 0; i < 5; i++) {
        elu[i] = x[i] < 0 ? expf(x[i]) - 1 : x[i];
        sig[i] = 1 / (1 + expf(-x[i]));
        th[i] = tanhf(x[i]);
        ex[i] = expf(x[i]);
    }
    el_check_unary("Relu", 5, x, relu, 0);
    el_check_unary("Relu6", 5, x, relu6, 0);
    el_check_unary("Sign", 5, x, sign, 0);
    el_check_unary("Square", 5, x, sq, 0);
    el_check_unary("Neg", 5, x, neg, 0);
    el_check_unary("Abs", 5, x, absv, 0);
    el_check_unary("Floor", 5, x, flo, 0);
    el_check_unary("Ceil", 5, x, cei, 0);
    el_check_unary("Elu", 5, x, elu, 1e-7f);
    el_check_unary("Sigmoid", 5, x, sig, 1e-7f);
    el_check_unary("Tanh", 5, x, th, 1e-7f);
    el_check_unary("Exp", 5, x, ex, 1e-5f);
    float p[4] = {0.25f, 1, 4, 100}, lg[4], sqr[4] = {0.5f, 1, 2, 10}, rs[4] = {2, 1, 0.5f, 0.1f}, rc[4] = {4, 1, 0.25f, 0.01f};
    for (int i = 0; i < 4; i++) lg[i] = logf(p[i]);
    el_check_unary("Log", 4, p, lg, 1e-7f);
    el_check_unary("Sqrt", 4, p, sqr, 0);
    el_check_unary("Rsqrt", 4, p, rs, 1e-7f);
    el_check_unary("Reciprocal", 4, p, rc, 1e-9f);
    /* sigmoid saturates without overflow trouble */
    float big[2] = {-100, 100}, sb[2] = {0, 1};
    el_check_unary("Sigmoid", 2, big, sb, 0);
}

static void test_unary_int(void **state)
{
    (void)state;
    int64_t d[1] = {5};
    int32_t x[5] = {INT32_MIN, -7, 0, 3, 9};
    el_tensor in[1] = {el_test_i32(1, d, x)}, out[1];
    struct { const char *op; int32_t want[5]; } cases[] = {
        {"Abs", {INT32_MIN, 7, 0, 3, 9}},  /* |MIN| wraps, as in TF */
        {"Neg", {INT32_MIN, 7, 0, -3, -9}},
        {"Sign", {-1, -1, 0, 1, 1}},
        {"Relu", {0, 0, 0, 3, 9}},
        {"Relu6", {0, 0, 0, 3, 6}},
        {"Round", {INT32_MIN, -7, 0, 3, 9}},
        {"Square", {0, 49, 0, 9, 81}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(el_run(cases[k].op, 1, in, out), EL_OK);
        el_assert_i32(&out[0], cases[k].want, 5);
        el_test_release_all(1, out);
    }
    el_assert_error(el_run("Floor", 1, in, out), EL_ERR_UNSUPPORTED, "int32");
    el_test_release_all(1, out);
    el_test_release_all(1, in);
}

/* ---- Select / SelectV2 ------------------------------------------------------------------------ */

static void test_select_tf1(void **state)
{
    (void)state;
    int64_t d23[2] = {2, 3}, d2[1] = {2}, d3[1] = {3};
    float t[6] = {1, 2, 3, 4, 5, 6}, e[6] = {-1, -2, -3, -4, -5, -6};
    uint8_t cv[2] = {0, 1};
    /* vector condition selects rows */
    el_tensor in[3] = {el_test_bool(1, d2, cv), el_test_f32(2, d23, t), el_test_f32(2, d23, e)}, out[1];
    assert_int_equal(el_run("Select", 3, in, out), EL_OK);
    float rows[6] = {-1, -2, -3, 4, 5, 6};
    el_test_assert_f32(&out[0], rows, 6, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in[0]);

    /* scalar condition: the whole of t or e */
    uint8_t yes = 1;
    in[0] = el_test_bool(0, NULL, &yes);
    assert_int_equal(el_run("Select", 3, in, out), EL_OK);
    el_test_assert_f32(&out[0], t, 6, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in[0]);

    /* same-shape condition: elementwise */
    uint8_t cm[6] = {1, 0, 1, 0, 1, 0};
    in[0] = el_test_bool(2, d23, cm);
    assert_int_equal(el_run("Select", 3, in, out), EL_OK);
    float mixed[6] = {1, -2, 3, -4, 5, -6};
    el_test_assert_f32(&out[0], mixed, 6, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in[0]);

    /* a vector condition of the wrong length */
    uint8_t c3[3] = {1, 0, 1};
    in[0] = el_test_bool(1, d3, c3);
    el_assert_error(el_run("Select", 3, in, out), EL_ERR_RUNTIME, "Number of batches of 'then' must match");
    el_test_release_all(1, out);
    el_test_release_all(3, in);

    /* vector t: the vector condition is elementwise; TF1 never broadcasts */
    int32_t ti[3] = {1, 2, 3}, ei[3] = {7, 8, 9};
    in[0] = el_test_bool(1, d3, c3);
    in[1] = el_test_i32(1, d3, ti);
    in[2] = el_test_i32(1, d3, ei);
    assert_int_equal(el_run("Select", 3, in, out), EL_OK);
    int32_t want[3] = {1, 8, 3};
    el_assert_i32(&out[0], want, 3);
    el_test_release_all(1, out);
    el_tensor_release(&in[2]);
    in[2] = el_test_i32(1, d2, ei);
    el_assert_error(el_run("Select", 3, in, out), EL_ERR_RUNTIME, "'then' and 'else' must have the same size");
    el_test_release_all(1, out);
    el_test_release_all(3, in);
}

static void test_select_v2(void **state)
{
    (void)state;
    int64_t d21[2] = {2, 1}, d13[2] = {1, 3}, d2[1] = {2};
    uint8_t c[2] = {1, 0};
    int32_t t[3] = {1, 2, 3}, e = 9;
    el_tensor in[3] = {el_test_bool(2, d21, c), el_test_i32(2, d13, t), el_test_i32(0, NULL, &e)}, out[1];
    assert_int_equal(el_run("SelectV2", 3, in, out), EL_OK);
    int64_t d23[2] = {2, 3};
    el_test_assert_shape(&out[0], 2, d23);
    int32_t want[6] = {1, 2, 3, 9, 9, 9};
    el_assert_i32(&out[0], want, 6);
    el_test_release_all(1, out);
    el_tensor_release(&in[2]);
    int32_t e2[2] = {5, 6};
    in[2] = el_test_i32(1, d2, e2);
    el_assert_error(el_run("SelectV2", 3, in, out), EL_ERR_RUNTIME, "then [1,3] and else [2] must be broadcastable");
    el_test_release_all(1, out);
    el_tensor_release(&in[2]);
    int64_t d3[1] = {3};
    int32_t e3[3] = {5, 6, 7};
    in[2] = el_test_i32(1, d3, e3);
    el_tensor_release(&in[0]);
    uint8_t c4[4] = {1, 0, 1, 0};
    int64_t d4[1] = {4};
    in[0] = el_test_bool(1, d4, c4);
    el_assert_error(el_run("SelectV2", 3, in, out), EL_ERR_RUNTIME, "condition [4], then [1,3], and else [3] must be broadcastable");
    el_test_release_all(1, out);
    /* condition must be bool */
    el_tensor bad[3] = {in[1], in[1], in[2]};
    el_assert_error(el_run("SelectV2", 3, bad, out), EL_ERR_UNSUPPORTED, "bool");
    el_test_release_all(1, out);
    el_test_release_all(3, in);
}

/* ---- AddN, BiasAdd, Fill, ZerosLike, OnesLike ----------------------------------------------------- */

static void test_addn(void **state)
{
    (void)state;
    int64_t d[1] = {3};
    float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, c[3] = {100, 200, 300};
    el_tensor in[3] = {el_test_f32(1, d, a), el_test_f32(1, d, b), el_test_f32(1, d, c)}, out[1];
    assert_int_equal(el_run("AddN", 3, in, out), EL_OK);
    float want[3] = {111, 222, 333};
    el_test_assert_f32(&out[0], want, 3, 0);
    el_test_release_all(1, out);
    assert_int_equal(el_run("AddN", 1, in, out), EL_OK);
    el_test_assert_f32(&out[0], a, 3, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in[2]);
    int64_t d2[1] = {2};
    in[2] = el_test_f32(1, d2, c);
    el_assert_error(el_run("AddN", 3, in, out), EL_ERR_RUNTIME, "same shape");
    el_test_release_all(1, out);
    el_test_release_all(3, in);
}

static void test_bias_add(void **state)
{
    (void)state;
    int64_t d[4] = {1, 2, 2, 3}, bd[1] = {3};
    float x[12], bias[3] = {10, 20, 30}, want[12];
    for (int i = 0; i < 12; i++) {
        x[i] = (float)i;
        want[i] = x[i] + bias[i % 3];
    }
    el_tensor in[2] = {el_test_f32(4, d, x), el_test_f32(1, bd, bias)}, out[1];
    assert_int_equal(el_run("BiasAdd", 2, in, out), EL_OK);
    el_test_assert_f32(&out[0], want, 12, 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* NCHW: bias along dim 1 */
    int64_t dn[4] = {1, 3, 2, 2};
    for (int i = 0; i < 12; i++) want[i] = x[i] + bias[i / 4];
    in[0] = el_test_f32(4, dn, x);
    in[1] = el_test_f32(1, bd, bias);
    el_test_node tn;
    el_test_node_init(&tn, "BiasAdd");
    el_test_attr_str(&tn, "data_format", "NCHW");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    el_test_assert_f32(&out[0], want, 12, 0);
    el_test_release_all(1, out);
    /* NHWC on this shape: last dim 2 vs 3 biases */
    el_assert_error(el_run("BiasAdd", 2, in, out), EL_ERR_RUNTIME, "Must provide as many biases as the last dimension");
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    float s = 1;
    in[0] = el_test_f32(1, bd, bias);
    in[1] = el_test_f32(1, bd, bias);
    el_assert_error(el_run("BiasAdd", 2, in, out), EL_ERR_RUNTIME, "Input tensor must be at least 2D: [3]");
    el_test_release_all(1, out);
    el_tensor_release(&in[1]);
    in[1] = el_test_f32(0, NULL, &s);
    el_tensor in2[2] = {el_test_f32(4, d, x), in[1]};
    el_assert_error(el_run("BiasAdd", 2, in2, out), EL_ERR_RUNTIME, "Biases must be 1D: []");
    el_test_release_all(1, out);
    el_tensor_release(&in2[0]);
    el_test_release_all(2, in);
}

static void test_fill_zeros_ones(void **state)
{
    (void)state;
    int64_t two[1] = {2};
    int32_t dims[2] = {2, 3};
    float v = 7.5f;
    el_tensor in[2] = {el_test_i32(1, two, dims), el_test_f32(0, NULL, &v)}, out[1];
    assert_int_equal(el_run("Fill", 2, in, out), EL_OK);
    int64_t d23[2] = {2, 3};
    el_test_assert_shape(&out[0], 2, d23);
    float want[6] = {7.5f, 7.5f, 7.5f, 7.5f, 7.5f, 7.5f};
    el_test_assert_f32(&out[0], want, 6, 0);

    /* ZerosLike / OnesLike keep shape and dtype */
    el_tensor z[1];
    assert_int_equal(el_run("ZerosLike", 1, out, z), EL_OK);
    float zeros[6] = {0};
    el_test_assert_f32(&z[0], zeros, 6, 0);
    el_test_release_all(1, z);
    assert_int_equal(el_run("OnesLike", 1, out, z), EL_OK);
    float ones[6] = {1, 1, 1, 1, 1, 1};
    el_test_assert_f32(&z[0], ones, 6, 0);
    el_test_release_all(1, z);
    el_test_release_all(1, out);
    el_tensor_release(&in[1]);

    /* int64 dims, bool value; OnesLike of bool is true */
    int64_t dims64[2] = {3, 1};
    uint8_t t = 1;
    el_tensor in64[2] = {el_test_i64(1, two, dims64), el_test_bool(0, NULL, &t)};
    assert_int_equal(el_run("Fill", 2, in64, out), EL_OK);
    uint8_t trues[3] = {1, 1, 1};
    el_assert_u8(&out[0], EL_DT_BOOL, trues, 3);
    assert_int_equal(el_run("OnesLike", 1, out, z), EL_OK);
    el_assert_u8(&z[0], EL_DT_BOOL, trues, 3);
    el_test_release_all(1, z);
    el_test_release_all(1, out);

    /* zero-sized dims are fine, negative ones are not */
    int32_t zd[2] = {0, 4}, nd[2] = {2, -1};
    el_tensor a[2] = {el_test_i32(1, two, zd), el_test_f32(0, NULL, &v)};
    assert_int_equal(el_run("Fill", 2, a, out), EL_OK);
    assert_int_equal(el_tensor_numel(&out[0]), 0);
    el_test_release_all(1, out);
    el_tensor_release(&a[0]);
    a[0] = el_test_i32(1, two, nd);
    el_assert_error(el_run("Fill", 2, a, out), EL_ERR_RUNTIME, "must be >= 0");
    el_test_release_all(1, out);
    /* value must be a scalar; dims a vector */
    el_tensor b[2] = {in[0], in[0]};
    el_assert_error(el_run("Fill", 2, b, out), EL_ERR_RUNTIME, "value must be a scalar, got shape [2]");
    el_test_release_all(1, out);
    el_tensor c[2] = {a[1], a[1]};
    el_assert_error(el_run("Fill", 2, c, out), EL_ERR_RUNTIME, "dims must be a vector");
    el_test_release_all(1, out);
    el_test_release_all(2, a);
    el_test_release_all(2, in64);
    el_tensor_release(&in[0]);
}

/* Binary ops on the remaining dtypes and a large same-shape run. */
static void test_other_dtypes(void **state)
{
    (void)state;
    int64_t d[1] = {3};
    int64_t a[3] = {INT64_MAX, -5, 6}, b[3] = {1, 3, -4}, want[3] = {INT64_MIN, -2, 2};
    el_tensor in[2] = {el_test_i64(1, d, a), el_test_i64(1, d, b)}, out[1];
    assert_int_equal(el_run("Add", 2, in, out), EL_OK);
    for (int i = 0; i < 3; i++) assert_true(((int64_t *)out[0].data)[i] == want[i]);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    el_tensor dd[2];
    assert_int_equal(el_tensor_alloc(&dd[0], EL_DT_DOUBLE, 1, d), EL_OK);
    assert_int_equal(el_tensor_alloc(&dd[1], EL_DT_DOUBLE, 0, NULL), EL_OK);
    double *x = dd[0].data;
    x[0] = 1e300; x[1] = -2; x[2] = 0.1;
    *(double *)dd[1].data = 10;
    assert_int_equal(el_run("Mul", 2, dd, out), EL_OK);
    assert_int_equal(out[0].dtype, EL_DT_DOUBLE);
    assert_true(((double *)out[0].data)[0] == 1e301);
    assert_true(((double *)out[0].data)[2] == 0.1 * 10);
    el_test_release_all(1, out);
    el_test_release_all(2, dd);

    /* 100000 elements, same shape: one flat row */
    int64_t big[1] = {100000};
    el_tensor f[2] = {el_test_f32(1, big, NULL), el_test_f32(1, big, NULL)};
    for (int i = 0; i < 100000; i++) {
        ((float *)f[0].data)[i] = (float)i;
        ((float *)f[1].data)[i] = 0.5f;
    }
    assert_int_equal(el_run("SquaredDifference", 2, f, out), EL_OK);
    for (int i = 0; i < 100000; i += 9999) assert_true(((float *)out[0].data)[i] == ((float)i - 0.5f) * ((float)i - 0.5f));
    el_test_release_all(1, out);
    el_test_release_all(2, f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_2x1x3_plus_4x1),
        cmocka_unit_test(test_broadcast_matches_naive),
        cmocka_unit_test(test_scalar_and_empty),
        cmocka_unit_test(test_incompatible_shapes),
        cmocka_unit_test(test_dtype_errors),
        cmocka_unit_test(test_integer_division),
        cmocka_unit_test(test_integer_division_by_zero),
        cmocka_unit_test(test_float_floor_ops),
        cmocka_unit_test(test_pow_and_wrap),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_compare_and_logic),
        cmocka_unit_test(test_unary_float),
        cmocka_unit_test(test_unary_int),
        cmocka_unit_test(test_select_tf1),
        cmocka_unit_test(test_select_v2),
        cmocka_unit_test(test_addn),
        cmocka_unit_test(test_bias_add),
        cmocka_unit_test(test_fill_zeros_ones),
        cmocka_unit_test(test_other_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
