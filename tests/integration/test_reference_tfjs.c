/* The TF.js models loaded from model.json against the reference outputs
 * (the checks are described in reference_tfjs.h). */
#include "reference_tfjs.h"

static void test_handtrack_json(void **state) { (void)state; el_check_json(&el_cases[0], EL_PRECISION_FP32); }
static void test_centernet_json(void **state) { (void)state; el_check_json(&el_cases[1], EL_PRECISION_FP32); }
static void test_faceboxes_json(void **state) { (void)state; el_check_json(&el_cases[2], EL_PRECISION_FP32); }
static void test_handtrack_bf16x3(void **state) { (void)state; el_check_json(&el_cases[0], EL_PRECISION_BF16X3); }
static void test_centernet_bf16x3(void **state) { (void)state; el_check_json(&el_cases[1], EL_PRECISION_BF16X3); }
static void test_faceboxes_bf16x3(void **state) { (void)state; el_check_json(&el_cases[2], EL_PRECISION_BF16X3); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handtrack_json),
        cmocka_unit_test(test_centernet_json),
        cmocka_unit_test(test_faceboxes_json),
        cmocka_unit_test(test_handtrack_bf16x3),
        cmocka_unit_test(test_centernet_bf16x3),
        cmocka_unit_test(test_faceboxes_bf16x3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
