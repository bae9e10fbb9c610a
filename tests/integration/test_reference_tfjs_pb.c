/* The TF.js models after `edgelens convert model.json -o model.pb`, loaded
 * from the .pb, against the reference outputs (reference_tfjs.h). */
#include "reference_tfjs.h"

static void test_handtrack_pb(void **state) { (void)state; el_check_converted(&el_cases[0]); }
static void test_centernet_pb(void **state) { (void)state; el_check_converted(&el_cases[1]); }
static void test_faceboxes_pb(void **state) { (void)state; el_check_converted(&el_cases[2]); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handtrack_pb),
        cmocka_unit_test(test_centernet_pb),
        cmocka_unit_test(test_faceboxes_pb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
