/* FusedBatchNorm / V2 / V3: inference formula, defaults, extra outputs,
 * batch statistics. */
#include "testutil.h"
#include "ops/kernel.h"

#include <math.h>
#include <string.h>

static void el_bn_inputs(el_tensor in[5], int64_t c, const float *scale, const float *offset, const float *mean,
                         const float *var)
{
    int64_t d[1] = {c}, z[1] = {0};
    in[1] = el_test_f32(1, d, scale);
    in[2] = el_test_f32(1, d, offset);
    in[3] = el_test_f32(1, mean ? d : z, mean);
    in[4] = el_test_f32(1, var ? d : z, var);
}

static void test_inference(void **state)
{
    (void)state;
    /* x [1,2,1,2], channels last. */
    int64_t xd[4] = {1, 2, 1, 2};
    float xv[4] = {1, 2, 3, 4};
    float scale[2] = {2, 1}, offset[2] = {0.5f, 0}, mean[2] = {1, 2}, var[2] = {3, 0.25f};
    el_tensor in[5];
    in[0] = el_test_f32(4, xd, xv);
    el_bn_inputs(in, 2, scale, offset, mean, var);
    el_test_node tn;
    el_test_node_init(&tn, "FusedBatchNorm");
    el_test_attr_float(&tn, "epsilon", 1.0f);
    el_test_attr_bool(&tn, "is_training", false);
    el_tensor out[5];
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_OK);
    /* factor = rsqrt(var + eps) * scale: c0 1/2*2 = 1, c1 1/sqrt(1.25). */
    float f1 = 1.0f / sqrtf(1.25f) * 1.0f;
    float want[4] = {(1 - 1) * 1.0f + 0.5f, (2 - 2) * f1, (3 - 1) * 1.0f + 0.5f, (4 - 2) * f1};
    el_test_assert_shape(&out[0], 4, xd);
    el_test_assert_f32(&out[0], want, 4, 0);
    /* Inference passes mean/variance through; the reserve spaces copy them. */
    el_test_assert_f32(&out[1], mean, 2, 0);
    el_test_assert_f32(&out[2], var, 2, 0);
    el_test_assert_f32(&out[3], mean, 2, 0);
    el_test_assert_f32(&out[4], var, 2, 0);
    el_test_release_all(5, out);

    /* V3: six outputs, reserve_space_3 a scalar 0. Epsilon defaults to
     * 0.0001 when absent. */
    el_test_node_init(&tn, "FusedBatchNormV3");
    el_test_attr_bool(&tn, "is_training", false);
    el_tensor out6[6];
    assert_int_equal(el_test_run(&tn, 5, in, 6, out6), EL_OK);
    float g0 = 1.0f / sqrtf(3.0f + 0.0001f) * 2.0f, g1 = 1.0f / sqrtf(0.25f + 0.0001f) * 1.0f;
    float want6[4] = {(1 - 1) * g0 + 0.5f, (2 - 2) * g1, (3 - 1) * g0 + 0.5f, (4 - 2) * g1};
    el_test_assert_f32(&out6[0], want6, 4, 0);
    assert_int_equal(out6[5].ndim, 0);
    assert_true(*(float *)out6[5].data == 0.0f);
    el_test_release_all(6, out6);

    /* The op table gives V3 six outputs and V1/V2 five. */
    const el_op *op = el_op_find("FusedBatchNormV3");
    assert_non_null(op);
    assert_int_equal(op->noutputs(&tn.node), 6);
    el_test_node_init(&tn, "FusedBatchNormV2");
    assert_int_equal(el_op_find("FusedBatchNormV2")->noutputs(&tn.node), 5);
    el_test_release_all(5, in);
}

static void test_nchw(void **state)
{
    (void)state;
    /* x [1,2,1,2] NCHW: channel 0 is {1,2}, channel 1 is {3,4}. */
    int64_t xd[4] = {1, 2, 1, 2};
    float xv[4] = {1, 2, 3, 4};
    float scale[2] = {1, 1}, offset[2] = {0, 10}, mean[2] = {1, 3}, var[2] = {0, 0};
    el_tensor in[5];
    in[0] = el_test_f32(4, xd, xv);
    el_bn_inputs(in, 2, scale, offset, mean, var);
    el_test_node tn;
    el_test_node_init(&tn, "FusedBatchNormV2");
    el_test_attr_float(&tn, "epsilon", 0.25f);
    el_test_attr_bool(&tn, "is_training", false);
    el_test_attr_str(&tn, "data_format", "NCHW");
    el_tensor out[5];
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_OK);
    float want[4] = {0, 2, 10, 12};
    el_test_assert_f32(&out[0], want, 4, 0);
    el_test_release_all(5, out);
    el_test_release_all(5, in);
}

static void test_training_batch_stats(void **state)
{
    (void)state;
    /* 4 values per channel; channel 0 {1,2,3,6}: mean 3, biased var
     * (4+1+0+9)/4 = 3.5, unbiased 14/3. Channel 1 constant 5. */
    int64_t xd[4] = {1, 2, 2, 2};
    float xv[8] = {1, 5, 2, 5, 3, 5, 6, 5};
    float scale[2] = {1, 2}, offset[2] = {0, 1};
    el_tensor in[5];
    in[0] = el_test_f32(4, xd, xv);
    el_bn_inputs(in, 2, scale, offset, NULL, NULL);
    el_test_node tn;
    el_test_node_init(&tn, "FusedBatchNormV3"); /* is_training defaults to true */
    el_test_attr_float(&tn, "epsilon", 0.5f);
    el_tensor out[6];
    assert_int_equal(el_test_run(&tn, 5, in, 6, out), EL_OK);
    float f0 = 1.0f / sqrtf(3.5f + 0.5f);
    float want[8] = {(1 - 3) * f0, 1, (2 - 3) * f0, 1, 0, 1, (6 - 3) * f0, 1};
    el_test_assert_f32(&out[0], want, 8, 1e-6f);
    float bm[2] = {3, 5}, bv[2] = {3.5f * (4.0f / 3.0f), 0}, sv[2] = {3.5f, 0};
    el_test_assert_f32(&out[1], bm, 2, 1e-6f);
    el_test_assert_f32(&out[2], bv, 2, 1e-6f);
    el_test_assert_f32(&out[3], bm, 2, 1e-6f);
    el_test_assert_f32(&out[4], sv, 2, 1e-6f);
    el_test_release_all(6, out);

    /* is_training=true with stored statistics: they are used (TF.js's rule,
     * see norm.c). */
    float mean[2] = {0, 0}, var[2] = {1, 1};
    el_tensor_release(&in[3]);
    el_tensor_release(&in[4]);
    int64_t d[1] = {2};
    in[3] = el_test_f32(1, d, mean);
    in[4] = el_test_f32(1, d, var);
    el_test_node_init(&tn, "FusedBatchNorm");
    el_test_attr_float(&tn, "epsilon", 0.0f);
    el_test_attr_bool(&tn, "is_training", true);
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_OK);
    float want2[8] = {1, 11, 2, 11, 3, 11, 6, 11};
    el_test_assert_f32(&out[0], want2, 8, 0);
    el_test_release_all(5, out);
    el_test_release_all(5, in);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 1, 1, 2};
    float xv[2] = {1, 2}, two[2] = {1, 1}, three[3] = {0, 0, 0};
    el_tensor in[5];
    in[0] = el_test_f32(4, xd, xv);
    el_bn_inputs(in, 2, two, two, two, two);
    el_tensor_release(&in[3]);
    int64_t d3[1] = {3};
    in[3] = el_test_f32(1, d3, three);
    el_test_node tn;
    el_test_node_init(&tn, "FusedBatchNorm");
    el_test_attr_bool(&tn, "is_training", false);
    el_tensor out[5];
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "mean"));
    el_test_release_all(5, out);

    /* Inference with empty statistics is an error (TF: "When
     * is_training=false, mean must have the same number of elements"). */
    el_tensor_release(&in[3]);
    int64_t z[1] = {0};
    in[3] = el_test_f32(1, z, NULL);
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_ERR_RUNTIME);
    el_test_release_all(5, out);

    /* Rank 3 input. */
    int64_t x3[3] = {1, 1, 2};
    el_tensor bad = el_test_f32(3, x3, xv);
    el_tensor keep = in[0];
    in[0] = bad;
    assert_int_equal(el_test_run(&tn, 5, in, 5, out), EL_ERR_RUNTIME);
    el_test_release_all(5, out);
    in[0] = keep;
    el_tensor_release(&bad);
    el_test_release_all(5, in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inference),
        cmocka_unit_test(test_nchw),
        cmocka_unit_test(test_training_batch_stats),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
