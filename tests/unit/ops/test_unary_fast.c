/* The fast float32 elementwise kernels (ops/unary_fast.h) against the
 * reference loops: exact ops bit for bit (NaN, -0, +-inf and the tails
 * included), Exp and Sigmoid within their documented ulp bounds over a
 * sweep of the whole float range, and the same bits at 1 and 3 threads.
 * Skips the comparisons (not the test) on CPUs without the fast ISA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/unary_fast.h"
#include "testutil.h"

static uint32_t el_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float el_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Distance in representable floats (both finite or equal infinities). */
static int64_t el_ulps(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) ? 0 : INT64_MAX;
    if (a == b) return 0;
    int64_t ia = (int32_t)el_bits(a), ib = (int32_t)el_bits(b);
    if (ia < 0) ia = (int64_t)INT32_MIN - ia;
    if (ib < 0) ib = (int64_t)INT32_MIN - ib;
    return ia > ib ? ia - ib : ib - ia;
}

/* elementwise.c's Maximum and Minimum (TF's: a NaN operand propagates, the
 * first one when both are NaN; otherwise std::max / std::min). */
static float el_ref_max(float x, float y) { return isnan(x) ? x : isnan(y) ? y : (x < y ? y : x); }
static float el_ref_min(float x, float y) { return isnan(x) ? x : isnan(y) ? y : (y < x ? y : x); }
/* The reference kernels' float operation for a binary op code. */
static float el_ref_binary(int op, float x0, float x1)
{
    return op == EL_UF_ADD   ? x0 + x1
           : op == EL_UF_SUB ? x0 - x1
           : op == EL_UF_MUL ? x0 * x1
           : op == EL_UF_DIV ? x0 / x1
           : op == EL_UF_MAX ? el_ref_max(x0, x1)
           : op == EL_UF_MIN ? el_ref_min(x0, x1)
                             : x0 * (x0 == x1 ? 1.0f : 0.0f);
}

static bool el_have_fast(void) { return el_conv_isa() >= EL_ISA_AVX512; }

/* Specials first, then a sweep over bit patterns covering every exponent of
 * both signs. */
static float *el_inputs(int64_t *n)
{
    static const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f, 6.0f, 6.000001f, 5.999999f, -1e-45f,
                                     1e-45f, 88.72f, 88.73f, 89.5f, -87.3f, -103.9f, -104.5f, 1e30f, -1e30f};
    int64_t ns = sizeof specials / sizeof specials[0], sweep = 1 << 20;
    float *x = malloc(sizeof(float) * (size_t)(ns + 3 + sweep));
    assert_non_null(x);
    memcpy(x, specials, sizeof specials);
    x[ns] = INFINITY;
    x[ns + 1] = -INFINITY;
    x[ns + 2] = NAN;
    for (int64_t i = 0; i < sweep; i++) x[ns + 3 + i] = el_from_bits((uint32_t)(i * 4096 + (i * 7919) % 4096));
    *n = ns + 3 + sweep;
    return x;
}

static float el_ref_unary(el_uf_op op, float x)
{
    switch (op) {
    case EL_UF_EXP: return expf(x);
    case EL_UF_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case EL_UF_RELU: return x < 0 ? 0.0f : x;
    case EL_UF_RELU6: return x < 0 ? 0.0f : x > 6 ? 6.0f : x;
    case EL_UF_NEG: return -x;
    case EL_UF_ABS: return fabsf(x);
    case EL_UF_SQUARE: return x * x;
    default: return 0;
    }
}

static void test_unary(void **state)
{
    (void)state;
    if (!el_have_fast()) skip();
    int64_t n;
    float *x = el_inputs(&n);
    float *y = malloc(sizeof(float) * (size_t)n);
    assert_non_null(y);
    static const struct {
        el_uf_op op;
        int64_t max_ulp; /* 0: bit-exact */
        const char *name;
    } ops[] = {{EL_UF_EXP, EL_EXP_MAX_ULP, "Exp"},     {EL_UF_SIGMOID, EL_SIGMOID_MAX_ULP, "Sigmoid"},
               {EL_UF_RELU, 0, "Relu"},                {EL_UF_RELU6, 0, "Relu6"},
               {EL_UF_NEG, 0, "Neg"},                  {EL_UF_ABS, 0, "Abs"},
               {EL_UF_SQUARE, 0, "Square"}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        assert_true(el_unary_f32_fast(ops[k].op, x, y, n));
        int64_t worst = 0;
        float at = 0;
        for (int64_t i = 0; i < n; i++) {
            float want = el_ref_unary(ops[k].op, x[i]);
            if (ops[k].max_ulp == 0) {
                if (el_bits(want) != el_bits(y[i]) && !(isnan(want) && isnan(y[i])))
                    fail_msg("%s(%a) = %a, reference %a", ops[k].name, x[i], y[i], want);
                continue;
            }
            int64_t d = el_ulps(y[i], want);
            if (d > worst) worst = d, at = x[i];
        }
        printf("%s: max %lld ulp (at %a)\n", ops[k].name, (long long)worst, at);
        if (worst > ops[k].max_ulp) fail_msg("%s: %lld ulp at %a", ops[k].name, (long long)worst, at);
    }
    free(x);
    free(y);
}

static void test_binary_and_tails(void **state)
{
    (void)state;
    if (!el_have_fast()) skip();
    float a[53], b[53], y[53];
    a[0] = NAN, a[1] = -0.0f, a[2] = INFINITY, b[2] = INFINITY, b[3] = 0.0f;
    for (int i = 3; i < 53; i++) a[i] = (float)(i * 37 % 23) - 11.5f;
    for (int i = 4; i < 53; i++) b[i] = (float)(i * 13 % 17) * 0.25f - 2.0f;
    b[0] = 1.0f, b[1] = 0.0f;
    a[5] = 2.0f, b[5] = 2.0f, a[6] = -0.0f, b[6] = 0.0f, a[7] = NAN, b[7] = NAN; /* KEEPEQ: equal, zeros, NaN */
    /* Maximum/Minimum: which NaN comes out (payloads differ), zeros of both signs both ways */
    b[7] = el_from_bits(0xffc00123u), b[8] = el_from_bits(0x7fc00456u), a[9] = 0.0f, b[9] = -0.0f;
    for (int op = EL_UF_ADD; op <= EL_UF_MIN; op++)
        for (int n = 1; n <= 53; n++)
            for (int ua = 0; ua < 2; ua++)
                for (int ub = 0; ub < 2; ub++) {
                    if (!ua && !ub) {
                        assert_false(el_binary_f32_fast((el_uf_op)op, a, 0, b, 0, y, n));
                        continue;
                    }
                    memset(y, 0x7f, sizeof y);
                    assert_true(el_binary_f32_fast((el_uf_op)op, a, ua, b, ub, y, n));
                    for (int i = 0; i < n; i++) {
                        float x0 = a[ua ? i : 0], x1 = b[ub ? i : 0];
                        float want = el_ref_binary(op, x0, x1);
                        /* Maximum/Minimum pass a NaN operand through: its bits too */
                        bool exact = op == EL_UF_MAX || op == EL_UF_MIN;
                        if (el_bits(want) != el_bits(y[i]) && !(!exact && isnan(want) && isnan(y[i])))
                            fail_msg("op %d n %d (%d,%d) [%d]: %a vs %a", op, n, ua, ub, i, y[i], want);
                    }
                    for (int i = n; i < 53; i++) assert_int_equal(el_bits(y[i]), 0x7f7f7f7fu); /* tail untouched */
                }
    /* Hard swish: the bits of the unfused Mul(x, m), Add(x, a), Relu6, Mul. */
    float hx[53];
    for (int i = 0; i < 53; i++) hx[i] = (float)(i - 26) * 0.37f;
    hx[0] = NAN, hx[1] = -0.0f, hx[2] = -3.0f, hx[3] = INFINITY, hx[4] = -INFINITY;
    for (int n = 1; n <= 53; n++) {
        memset(y, 0x7f, sizeof y);
        el_hard_swish_f32(hx, 0.16666667f, 3.0f, y, n);
        for (int i = 0; i < n; i++) {
            float t = hx[i] + 3.0f, r = t < 0 ? 0.0f : t > 6 ? 6.0f : t, want = (hx[i] * 0.16666667f) * r;
            if (el_bits(want) != el_bits(y[i]) && !(isnan(want) && isnan(y[i])))
                fail_msg("hard swish n %d [%d] (%a): %a vs %a", n, i, hx[i], y[i], want);
        }
        for (int i = n; i < 53; i++) assert_int_equal(el_bits(y[i]), 0x7f7f7f7fu);
        /* Mul then Add, each rounded. */
        memset(y, 0x7f, sizeof y);
        el_mul_add_f32(hx, 0.0078431377f, -1.0f, y, n);
        for (int i = 0; i < n; i++) {
            volatile float t = hx[i] * 0.0078431377f;
            float want = t + -1.0f;
            if (el_bits(want) != el_bits(y[i]) && !(isnan(want) && isnan(y[i])))
                fail_msg("mul add n %d [%d] (%a): %a vs %a", n, i, hx[i], y[i], want);
        }
        for (int i = n; i < 53; i++) assert_int_equal(el_bits(y[i]), 0x7f7f7f7fu);
    }
}

/* Rows against a repeated row, a value per row, or full rows; the tail of
 * each row (n not a multiple of 16) included, and short rows (4, 3, 1:
 * the repeated row tiled, many rows per call, a partial group at the end). */
static void test_rows(void **state)
{
    (void)state;
    if (!el_have_fast()) skip();
    enum { R = 70, NMAX = 37 };
    static float a[R * NMAX], b[R * NMAX], y[R * NMAX];
    for (int i = 0; i < R * NMAX; i++) a[i] = (float)(i % 11) - 5.5f, b[i] = (float)(i % 7) * 0.5f + 0.25f;
    const int ns[] = {NMAX, 4, 3, 1};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        const int N = ns[ni];
        const struct { int64_t as, bs; int ua, ub; } cases[] = {{N, 0, 1, 1}, {0, N, 1, 1}, {N, 1, 1, 0}, {N, N, 1, 1}};
        for (int op = EL_UF_ADD; op <= EL_UF_MIN; op++)
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
                assert_true(el_binary_f32_rows_fast((el_uf_op)op, a, cases[c].as, cases[c].ua, b, cases[c].bs,
                                                    cases[c].ub, y, R, N));
                for (int r = 0; r < R; r++)
                    for (int i = 0; i < N; i++) {
                        float x0 = a[r * cases[c].as + (cases[c].ua ? i : 0)];
                        float x1 = b[r * cases[c].bs + (cases[c].ub ? i : 0)];
                        float want = el_ref_binary(op, x0, x1);
                        if (el_bits(want) != el_bits(y[r * N + i]))
                            fail_msg("n %d op %d case %zu [%d,%d]", N, op, c, r, i);
                    }
            }
    }
}

/* Static chunks: the same bits with a pool of 3 as inline. */
static void test_threads(void **state)
{
    (void)state;
    if (!el_have_fast()) skip();
    int64_t n = 300001;
    float *x = malloc(sizeof(float) * (size_t)n), *y1 = malloc(sizeof(float) * (size_t)n),
          *y3 = malloc(sizeof(float) * (size_t)n);
    assert_true(x && y1 && y3);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 20001) / 1000.0f - 10.0f;
    el_threadpool *pool;
    assert_int_equal(el_threadpool_create(3, &pool), EL_OK);
    for (int op = EL_UF_EXP; op <= EL_UF_SQUARE; op++) {
        assert_true(el_unary_f32_fast((el_uf_op)op, x, y1, n));
        el_threadpool *prev = el_threadpool_set_current(pool);
        assert_true(el_unary_f32_fast((el_uf_op)op, x, y3, n));
        el_threadpool_set_current(prev);
        assert_memory_equal(y1, y3, sizeof(float) * (size_t)n);
    }
    el_threadpool *prev = el_threadpool_set_current(pool);
    assert_true(el_binary_f32_fast(EL_UF_MUL, x, 1, x + 1, 1, y3, n - 1));
    el_hard_swish_f32(x, 0.16666667f, 3.0f, y1, n);
    el_threadpool_set_current(prev);
    for (int64_t i = 0; i < n - 1; i++) assert_int_equal(el_bits(y3[i]), el_bits(x[i] * x[i + 1]));
    el_threadpool_free(pool);
    free(x);
    free(y1);
    free(y3);
}

/* Forced to the reference ISA, the fast entry points decline (the kernels
 * then run their reference loops); hard swish has its own portable loop. */
static void test_reference_isa(void **state)
{
    (void)state;
    float x[3] = {-4.0f, 1.0f, 7.0f}, y[3];
    el_conv_force_isa(EL_ISA_REF);
    assert_false(el_unary_f32_fast(EL_UF_SIGMOID, x, y, 3));
    assert_false(el_binary_f32_fast(EL_UF_ADD, x, 1, x, 1, y, 3));
    el_hard_swish_f32(x, 0.16666667f, 3.0f, y, 3);
    el_conv_force_isa(-1);
    assert_true(y[0] == 0.0f);
    assert_true(y[1] == (1.0f * 0.16666667f) * 4.0f);
    assert_true(y[2] == (7.0f * 0.16666667f) * 6.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary_and_tails),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_reference_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
