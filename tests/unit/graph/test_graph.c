/* Graph IR: input names, indexing errors, typed attr getters. */
#include <stdio.h>
#include <string.h>

#include "graph_builder.h"
#include "testutil.h"

static void test_input_names(void **state)
{
    (void)state;
    size_t len;
    int slot;
    assert_true(el_parse_input_name("a/b", &len, &slot));
    assert_int_equal(len, 3);
    assert_int_equal(slot, 0);
    assert_true(el_parse_input_name("a/b:12", &len, &slot));
    assert_int_equal(len, 3);
    assert_int_equal(slot, 12);
    assert_true(el_parse_input_name("^ctl", &len, &slot));
    assert_int_equal(slot, -1);
    assert_false(el_parse_input_name("", &len, &slot));
    assert_false(el_parse_input_name("^", &len, &slot));
    assert_false(el_parse_input_name("x:", &len, &slot));
    assert_false(el_parse_input_name(":1", &len, &slot));
    assert_false(el_parse_input_name("x:1a", &len, &slot));
    assert_false(el_parse_input_name("x:99999999999", &len, &slot));
}

/* Feed and fetch names: a node and one of its outputs, never a control
 * input; the session's errors come from these codes. */
static void test_find_output(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "c", 1, NULL);
    el_gb_node(&b, "c/x", "Identity", EL_IN("c"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    size_t len;
    int slot;
    assert_int_equal(el_graph_find_output(g, "c/x", &len, &slot), el_graph_find(g, "c/x"));
    assert_int_equal(slot, 0);
    assert_int_equal(el_graph_find_output(g, "c:1", &len, &slot), el_graph_find(g, "c"));
    assert_int_equal(len, 1);
    assert_int_equal(slot, 1);
    assert_int_equal(el_graph_find_output(g, "ghost:0", &len, &slot), -1);
    assert_int_equal(len, 5);
    assert_int_equal(el_graph_find_output(g, "c/", &len, &slot), -1);
    assert_int_equal(el_graph_find_output(g, "^c", &len, &slot), -2);
    assert_int_equal(el_graph_find_output(g, "c:", &len, &slot), -2);
    assert_int_equal(el_graph_find_output(g, "", &len, &slot), -2);
    assert_int_equal(el_graph_find_output(g, NULL, &len, &slot), -2);
    el_graph_free(g);
}

static void test_index_errors(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    /* Data input after a control input. */
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "c", 1, NULL);
    el_gb_node(&b, "x", "Add", EL_IN("^c", "c"));
    assert_int_equal(el_gb_finish(&b, &g), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "follows a control input"));
    el_graph_free(g);
    /* Duplicate names. */
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "c", 1, NULL);
    el_gb_scalar_i32(&b, "c", 2, NULL);
    assert_int_equal(el_gb_finish(&b, &g), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "two nodes are named 'c'"));
    el_graph_free(g);
    /* Output counts are derived from readers. */
    el_gb_init(&b);
    el_gb_scalar_i32(&b, "c", 1, NULL);
    el_gb_node(&b, "s", "Split", EL_IN("c", "c"));
    el_gb_node(&b, "r", "Identity", EL_IN("s:2"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    assert_int_equal(g->nodes[1].noutputs, 3);
    assert_int_equal(el_graph_find(g, "r"), 2);
    assert_int_equal(el_graph_find(g, "nope"), -1);
    el_graph_free(g);
}

static void test_attr_types(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int n = el_gb_node(&b, "conv", "Conv2D", EL_NOIN);
    el_gb_attr_str(&b, n, "padding", "SAME");
    el_gb_attr_int(&b, n, "axis", -1);
    el_gb_attr_bool(&b, n, "flag", true);
    int64_t strides[4] = {1, 2, 2, 1};
    el_gb_attr_ints(&b, n, "strides", 4, strides);
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    const el_node *node = &g->nodes[n];
    int64_t i;
    bool bv, eq;
    float f;
    el_dtype dt;
    const int64_t *list;
    int nl;
    assert_int_equal(el_attr_int(node, "axis", 0, &i), EL_OK);
    assert_int_equal(i, -1);
    assert_int_equal(el_attr_int(node, "missing", 7, &i), EL_OK);
    assert_int_equal(i, 7);
    assert_int_equal(el_attr_bool(node, "flag", false, &bv), EL_OK);
    assert_true(bv);
    assert_int_equal(el_attr_str_eq(node, "padding", "VALID", "SAME", &eq), EL_OK);
    assert_true(eq);
    assert_int_equal(el_attr_str_eq(node, "data_format", "NHWC", "NHWC", &eq), EL_OK);
    assert_true(eq);
    assert_int_equal(el_attr_ints(node, "strides", &list, &nl), EL_OK);
    assert_int_equal(nl, 4);
    assert_int_equal(list[1], 2);
    /* Wrong kinds are errors naming node, op and attr. */
    assert_int_equal(el_attr_int(node, "padding", 0, &i), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "node 'conv' (op Conv2D): attr 'padding' should be of type int, found string"));
    assert_int_equal(el_attr_float(node, "axis", 0, &f), EL_ERR_FORMAT);
    assert_int_equal(el_attr_dtype(node, "flag", EL_DT_FLOAT, &dt), EL_ERR_FORMAT);
    assert_int_equal(el_attr_ints(node, "axis", &list, &nl), EL_ERR_FORMAT);
    const el_tensor *t;
    assert_int_equal(el_attr_tensor(node, "value", &t), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "missing attr 'value'"));
    el_graph_free(g);
}

/* el_graph_index lists each node's attr names in a row and points attrs
 * of the same name at one copy (kernels' lookups then read one line and
 * names that stay in cache); lookups still find every attr, also after a
 * second index. */
static void test_attr_names_interned(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    /* 200 distinct names (more than the intern table's first room), five
     * per node, each on two nodes (n and 40 + n). */
    char names[200][16], node[16];
    for (int n = 0; n < 80; n++) {
        snprintf(node, sizeof node, "n%d", n);
        int id = el_gb_node(&b, node, "NoOp", EL_NOIN);
        assert_int_equal(id, n);
        for (int k = 5 * (n % 40); k < 5 * (n % 40) + 5; k++) {
            snprintf(names[k], sizeof names[k], "a%d", k);
            el_gb_attr_int(&b, n, names[k], n < 40 ? k : 1000 + k);
        }
    }
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    for (int pass = 0; pass < 2; pass++) {
        if (pass) assert_int_equal(el_graph_index(g), EL_OK);
        for (int k = 0; k < 200; k++) {
            const el_node *lo = &g->nodes[k / 5], *hi = &g->nodes[40 + k / 5];
            const el_attr *a0 = el_node_attr(lo, names[k]), *a1 = el_node_attr(hi, names[k]);
            assert_non_null(a0);
            assert_non_null(a1);
            assert_ptr_equal(a0->name, a1->name);
            int64_t v;
            assert_int_equal(el_attr_int(hi, names[k], -1, &v), EL_OK);
            assert_int_equal(v, 1000 + k);
            assert_int_equal(el_attr_int(lo, names[k], -1, &v), EL_OK);
            assert_int_equal(v, k);
        }
        int64_t v;
        assert_int_equal(el_attr_int(&g->nodes[0], "a5", -1, &v), EL_OK); /* node 1's */
        assert_int_equal(v, -1);
        assert_non_null(g->nodes[0].attr_names);
    }
    /* A copy of a node with other attrs (as fused kernels make), or with
     * fewer, finds its own: the row is only used for the attrs it lists. */
    el_node copy = g->nodes[0];
    el_attr other[2] = {{.name = "a7", .type = EL_ATTR_I, .v.i = 77}, {.name = "a0", .type = EL_ATTR_I, .v.i = 70}};
    copy.attrs = other;
    copy.nattrs = 2;
    int64_t v;
    assert_int_equal(el_attr_int(&copy, "a0", -1, &v), EL_OK);
    assert_int_equal(v, 70);
    assert_int_equal(el_attr_int(&copy, "a7", -1, &v), EL_OK);
    assert_int_equal(v, 77);
    copy = g->nodes[0];
    copy.nattrs = 1;
    assert_int_equal(el_attr_int(&copy, "a0", -1, &v), EL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(el_attr_int(&copy, "a1", -1, &v), EL_OK);
    assert_int_equal(v, -1);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_names),
        cmocka_unit_test(test_find_output),
        cmocka_unit_test(test_index_errors),
        cmocka_unit_test(test_attr_types),
        cmocka_unit_test(test_attr_names_interned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
