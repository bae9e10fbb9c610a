#include "testutil.h"

#include <string.h>

static void test_alloc_and_view(void **state)
{
    (void)state;
    int64_t dims[2] = {2, 3};
    el_tensor t, v;
    assert_int_equal(el_tensor_zeros(&t, EL_DT_FLOAT, 2, dims), EL_OK);
    assert_int_equal(el_tensor_numel(&t), 6);
    assert_int_equal(el_tensor_nbytes(&t), 24);
    int64_t flat[1] = {6};
    assert_int_equal(el_tensor_reshape_view(&v, &t, 1, flat), EL_OK);
    assert_ptr_equal(v.data, t.data);
    el_tensor_release(&t);
    assert_null(t.buf);
    ((float *)v.data)[5] = 1.0f; /* still owned by the view */
    el_tensor_release(&v);
}

static void test_oversized_is_refused(void **state)
{
    (void)state;
    int64_t dims[4] = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, dims), EL_ERR_NOMEM);
    assert_non_null(strstr(el_last_error(), "exceeds"));
    int64_t neg[1] = {-1};
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 1, neg), EL_ERR_INVALID_ARG);
}

static int el_destroyed;
static void el_destroy(void *ctx) { el_destroyed = *(int *)ctx; }

static void test_resource(void **state)
{
    (void)state;
    int payload = 42;
    el_tensor t, c;
    assert_int_equal(el_tensor_resource(&t, &payload, el_destroy), EL_OK);
    c = t;
    el_tensor_retain(&c);
    assert_ptr_equal(el_tensor_resource_ctx(&c), &payload);
    el_tensor_release(&t);
    assert_int_equal(el_destroyed, 0);
    el_tensor_release(&c);
    assert_int_equal(el_destroyed, 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_view),
        cmocka_unit_test(test_oversized_is_refused),
        cmocka_unit_test(test_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
