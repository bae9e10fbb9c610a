/* The TF.js models loaded from model.json against the reference outputs
 * (the checks are described in reference_tfjs.h). */
#include "reference_tfjs.h"

static void test_handtrack_json(void **state) { (void)state; el_check_json(&el_cases[0]); }
static void test_centernet_json(void **state) { (void)state; el_check_json(&el_cases[1]); }
static void test_faceboxes_json(void **state) { (void)state; el_check_json(&el_cases[2]); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handtrack_json),
        cmocka_unit_test(test_centernet_json),
        cmocka_unit_test(test_faceboxes_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
