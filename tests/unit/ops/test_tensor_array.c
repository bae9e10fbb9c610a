/* TensorArray ops in a session (they need the executor's resource
 * handling): a one-element array, as the OD API preprocessor's batch of
 * one image, whose scatter and gather share buffers instead of copying. */
#include <string.h>

#include "edgelens/engine.h"
#include "graph_builder.h"
#include "testutil.h"

/* Runs a graph with no feeds and one fetch; returns the status. */
static el_status run1(el_graph *g, const char *fetch, el_tensor *out, int max_iter)
{
    el_session *s;
    el_session_opts o = {.max_iterations = max_iter};
    const char *f[1] = {fetch};
    el_status st = el_session_create(g, 0, NULL, 1, f, &o, &s);
    if (st != EL_OK) return st;
    st = el_session_run(s, NULL, out);
    el_session_free(s);
    return st;
}

/* A TensorArray of one element (the OD API preprocessor's batch of one
 * image): scattering and gathering it share the value's buffer instead of
 * copying; the values read back and stacked are the ones written. */
static void test_tensor_array_one_element(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int32_t vals[3] = {7, -8, 9}, shape[2] = {1, 3}, zero[1] = {0};
    el_gb_const_i32(&b, "vals3", 3, vals, NULL);
    el_gb_const_i32(&b, "shape", 2, shape, NULL);
    el_gb_node(&b, "vals", "Reshape", EL_IN("vals3", "shape"));
    el_gb_const_i32(&b, "idx", 1, zero, NULL);
    el_gb_scalar_i32(&b, "n", 1, NULL);
    el_gb_scalar_i32(&b, "i0", 0, NULL);
    int ta = el_gb_node(&b, "ta", "TensorArrayV3", EL_IN("n"));
    el_gb_attr_type(&b, ta, "dtype", EL_DT_INT32);
    el_gb_node(&b, "scatter", "TensorArrayScatterV3", EL_IN("ta", "idx", "vals", "ta:1"));
    int rd = el_gb_node(&b, "read", "TensorArrayReadV3", EL_IN("ta", "i0", "scatter"));
    el_gb_attr_type(&b, rd, "dtype", EL_DT_INT32);
    int ga = el_gb_node(&b, "gather", "TensorArrayGatherV3", EL_IN("ta", "idx", "scatter"));
    el_gb_attr_type(&b, ga, "dtype", EL_DT_INT32);
    el_gb_node(&b, "twice", "Add", EL_IN("gather", "gather"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    el_tensor t;
    assert_int_equal(run1(g, "read", &t, 0), EL_OK);
    el_test_assert_shape(&t, 1, (const int64_t[]){3});
    assert_memory_equal(t.data, vals, sizeof vals);
    el_tensor_release(&t);
    assert_int_equal(run1(g, "gather", &t, 0), EL_OK);
    el_test_assert_shape(&t, 2, (const int64_t[]){1, 3});
    assert_memory_equal(t.data, vals, sizeof vals);
    el_tensor_release(&t);
    assert_int_equal(run1(g, "twice", &t, 0), EL_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(((int32_t *)t.data)[i], 2 * vals[i]);
    el_tensor_release(&t);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_array_one_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
