/* bf16 against the reference: the TF1 graphs and handtrack (see reference_bf16.h). */
#include "reference_bf16.h"

static void test_aiy(void **state) { (void)state; el_bf16_model(&el_models[0]); }
static void test_voc(void **state) { (void)state; el_bf16_model(&el_models[1]); }
static void test_handtrack(void **state) { (void)state; el_bf16_model(&el_models[2]); }

int main(void)
{
    /* Every case needs a bf16 CPU: say so to CTest instead of passing with
     * nothing checked. */
    if (el_precision_check(EL_PRECISION_BF16) != EL_OK) EL_TEST_SKIP_ALL(el_last_error());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aiy),
        cmocka_unit_test(test_voc),
        cmocka_unit_test(test_handtrack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
