/* Softmax and LogSoftmax: known values, stability with large logits, rows
 * of a matrix, float64, against a double-precision direct formula on random
 * rows, and the errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_fast.h"
#include "testutil.h"

static el_tensor run(const char *op, el_tensor *in)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    el_tensor out[1];
    if (el_test_run(&tn, 1, in, 1, out) != EL_OK) fail_msg("%s: %s", op, el_last_error());
    return out[0];
}

static void test_known_values(void **state)
{
    (void)state;
    int64_t d23[2] = {2, 3};
    el_tensor in = el_test_f32(2, d23, (float[]){1, 2, 3, 1000, 1000, -INFINITY});
    el_tensor y = run("Softmax", &in);
    el_test_assert_shape(&y, 2, d23);
    el_test_assert_f32(&y, (float[]){0.09003057f, 0.24472847f, 0.66524096f, 0.5f, 0.5f, 0}, 6, 1e-7f);
    el_tensor_release(&y);
    y = run("LogSoftmax", &in);
    const float want[5] = {-2.40760596f, -1.40760596f, -0.40760596f, -0.69314718f, -0.69314718f};
    for (int i = 0; i < 5; i++) assert_true(fabsf(((float *)y.data)[i] - want[i]) < 1e-6f);
    assert_true(isinf(((float *)y.data)[5]) && ((float *)y.data)[5] < 0);
    el_tensor_release(&y);
    el_tensor_release(&in);
}

static void test_random_rows(void **state)
{
    (void)state;
    srand(7);
    int64_t d[3] = {2, 5, 17};
    int64_t n = 2 * 5 * 17;
    float *v = malloc(sizeof(float) * (size_t)n), *want = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(rand() % 2001 - 1000) / 50.0f;
    for (int64_t r = 0; r < n / 17; r++) {
        double s = 0;
        for (int k = 0; k < 17; k++) s += exp((double)v[r * 17 + k]);
        for (int k = 0; k < 17; k++) want[r * 17 + k] = (float)(exp((double)v[r * 17 + k]) / s);
    }
    el_tensor in = el_test_f32(3, d, v);
    el_tensor y = run("Softmax", &in);
    el_test_assert_f32(&y, want, n, 1e-6f);
    el_tensor_release(&y);
    el_tensor_release(&in);
    free(v);
    free(want);
}

/* The vector-exp path against the reference loop (forced): rows of 2 (as
 * FaceBoxes' scores) and 17, with -inf, +inf and NaN logits, within a few
 * units in the last place (each exp within EL_EXP_MAX_ULP). */
static void test_fast_matches_reference(void **state)
{
    (void)state;
    srand(11);
    const int64_t lens[2] = {2, 17};
    for (int li = 0; li < 2; li++) {
        int64_t d[2] = {3001, lens[li]};
        int64_t n = d[0] * d[1];
        float *v = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) v[i] = (float)(rand() % 40001 - 20000) / 500.0f;
        v[5] = -INFINITY;
        v[40] = INFINITY;
        v[77] = NAN;
        el_tensor in = el_test_f32(2, d, v);
        el_tensor fast = run("Softmax", &in);
        el_conv_force_isa(EL_ISA_REF);
        el_tensor ref = run("Softmax", &in);
        el_conv_force_isa(-1);
        const float *a = fast.data, *b = ref.data;
        for (int64_t i = 0; i < n; i++) {
            if (isnan(b[i])) {
                assert_true(isnan(a[i]));
                continue;
            }
            float tol = 4 * (nextafterf(fabsf(b[i]), INFINITY) - fabsf(b[i]));
            if (fabsf(a[i] - b[i]) > tol) fail_msg("row len %lld, element %lld: %.9g vs %.9g", (long long)d[1], (long long)i, a[i], b[i]);
        }
        el_tensor_release(&fast);
        el_tensor_release(&ref);
        el_tensor_release(&in);
        free(v);
    }
}

static void test_double_and_errors(void **state)
{
    (void)state;
    int64_t d2[1] = {2};
    el_tensor in;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_DOUBLE, 1, d2), EL_OK);
    ((double *)in.data)[0] = 0;
    ((double *)in.data)[1] = log(3.0);
    el_tensor y = run("Softmax", &in);
    assert_int_equal(y.dtype, EL_DT_DOUBLE);
    assert_true(fabs(((double *)y.data)[0] - 0.25) < 1e-15);
    assert_true(fabs(((double *)y.data)[1] - 0.75) < 1e-15);
    el_tensor_release(&y);
    el_tensor_release(&in);

    el_test_node tn;
    el_test_node_init(&tn, "Softmax");
    el_tensor out[1];
    float s = 1;
    el_tensor sc = el_test_f32(0, NULL, &s);
    assert_int_equal(el_test_run(&tn, 1, &sc, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), ">= 1 dimension"));
    el_tensor_release(&sc);
    el_tensor iv = el_test_i32(1, d2, (int32_t[]){1, 2});
    assert_int_equal(el_test_run(&tn, 1, &iv, 1, out), EL_ERR_UNSUPPORTED);
    el_tensor_release(&iv);
    /* An empty last dimension gives an empty result. */
    int64_t d30[2] = {3, 0};
    el_tensor e = el_test_f32(2, d30, NULL);
    y = run("Softmax", &e);
    el_test_assert_shape(&y, 2, d30);
    el_tensor_release(&y);
    el_tensor_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_random_rows),
        cmocka_unit_test(test_fast_matches_reference),
        cmocka_unit_test(test_double_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
