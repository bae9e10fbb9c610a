/* bf16 against the reference: CenterNet and FaceBoxes (see reference_bf16.h). */
#include "reference_bf16.h"

static void test_centernet(void **state) { (void)state; el_bf16_model(&el_models[3]); }
static void test_faceboxes(void **state) { (void)state; el_bf16_model(&el_models[4]); }

int main(void)
{
    /* Every case needs a bf16 CPU: say so to CTest instead of passing with
     * nothing checked. */
    if (el_precision_check(EL_PRECISION_BF16) != EL_OK) EL_TEST_SKIP_ALL(el_last_error());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_centernet),
        cmocka_unit_test(test_faceboxes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
