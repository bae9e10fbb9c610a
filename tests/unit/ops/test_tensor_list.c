/* TF2 TensorList ops: value semantics (SetItem/PushBack leave their input
 * list unchanged), unset elements reading as zeros of the merged element
 * shape, TF's errors, and a while loop mapping over a list as a TF2 OD API
 * export's map_fn does. */
#include <stdio.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph_builder.h"
#include "testutil.h"

static el_tensor scalar_i32(int32_t v) { return el_test_i32(0, NULL, &v); }

static el_tensor shape_vec(int n, const int32_t *dims)
{
    int64_t d[1] = {n};
    return el_test_i32(1, d, dims);
}

/* Runs a one-output list op, failing the test on error. */
static el_tensor run1(el_test_node *tn, int nin, el_tensor *in)
{
    el_tensor out[1];
    el_status s = el_test_run(tn, nin, in, 1, out);
    if (s != EL_OK) fail_msg("%s: %s", tn->node.op, el_last_error());
    return out[0];
}

static el_tensor reserve(int n, const int32_t *shape, int rank, el_dtype dt)
{
    el_test_node tn;
    el_test_node_init(&tn, "TensorListReserve");
    el_test_attr_type(&tn, "element_dtype", dt);
    el_tensor in[2] = {rank < 0 ? scalar_i32(-1) : shape_vec(rank, shape), scalar_i32(n)};
    el_tensor l = run1(&tn, 2, in);
    el_test_release_all(2, in);
    return l;
}

static el_status get_item(el_tensor *l, int idx, int rank, const int32_t *shape, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "TensorListGetItem");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor in[3] = {*l, scalar_i32(idx), rank < 0 ? scalar_i32(-1) : shape_vec(rank, shape)};
    el_status s = el_test_run(&tn, 3, in, 1, out);
    el_tensor_release(&in[1]);
    el_tensor_release(&in[2]);
    return s;
}

static el_status set_item(el_tensor *l, int idx, el_tensor *v, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "TensorListSetItem");
    el_test_attr_type(&tn, "element_dtype", v->dtype);
    el_tensor in[3] = {*l, scalar_i32(idx), *v};
    el_status s = el_test_run(&tn, 3, in, 1, out);
    el_tensor_release(&in[1]);
    return s;
}

static el_status stack(el_tensor *l, int rank, const int32_t *shape, int64_t num, el_dtype dt, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, "TensorListStack");
    el_test_attr_type(&tn, "element_dtype", dt);
    el_test_attr_int(&tn, "num_elements", num);
    el_tensor in[2] = {*l, rank < 0 ? scalar_i32(-1) : shape_vec(rank, shape)};
    el_status s = el_test_run(&tn, 2, in, 1, out);
    el_tensor_release(&in[1]);
    return s;
}

static int32_t length(el_tensor *l)
{
    el_test_node tn;
    el_test_node_init(&tn, "TensorListLength");
    el_tensor t = run1(&tn, 1, l);
    assert_int_equal(t.dtype, EL_DT_INT32);
    assert_int_equal(t.ndim, 0);
    int32_t v = *(int32_t *)t.data;
    el_tensor_release(&t);
    return v;
}

static void test_reserve_set_get_stack(void **state)
{
    (void)state;
    int32_t two[1] = {2};
    el_tensor l0 = reserve(3, two, 1, EL_DT_FLOAT);
    assert_int_equal(l0.dtype, EL_DT_VARIANT);
    assert_int_equal(length(&l0), 3);

    /* An unset element reads as zeros of the list's element shape. */
    el_tensor e;
    assert_int_equal(get_item(&l0, 1, -1, NULL, &e), EL_OK);
    int64_t d2[1] = {2};
    el_test_assert_shape(&e, 1, d2);
    el_test_assert_f32(&e, (float[]){0, 0}, 2, 0);
    el_tensor_release(&e);

    float v[2] = {5, 6};
    el_tensor item = el_test_f32(1, d2, v);
    el_tensor l1;
    assert_int_equal(set_item(&l0, 1, &item, &l1), EL_OK);
    assert_int_equal(get_item(&l1, 1, -1, NULL, &e), EL_OK);
    el_test_assert_f32(&e, v, 2, 0);
    el_tensor_release(&e);
    /* The input list is a value: unchanged by SetItem. */
    assert_int_equal(get_item(&l0, 1, -1, NULL, &e), EL_OK);
    el_test_assert_f32(&e, (float[]){0, 0}, 2, 0);
    el_tensor_release(&e);

    el_tensor st;
    assert_int_equal(stack(&l1, -1, NULL, 3, EL_DT_FLOAT, &st), EL_OK);
    int64_t d32[2] = {3, 2};
    el_test_assert_shape(&st, 2, d32);
    el_test_assert_f32(&st, (float[]){0, 0, 5, 6, 0, 0}, 6, 0);
    el_tensor_release(&st);
    /* num_elements must match when given. */
    assert_int_equal(stack(&l1, -1, NULL, 2, EL_DT_FLOAT, &st), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "expected a list with 2 elements"));
    el_tensor_release(&st);
    /* The list outlives the item's other references. */
    el_tensor_release(&item);
    assert_int_equal(get_item(&l1, 1, -1, NULL, &e), EL_OK);
    el_test_assert_f32(&e, v, 2, 0);
    el_tensor_release(&e);
    el_tensor_release(&l1);
    el_tensor_release(&l0);
}

static void test_unknown_shapes(void **state)
{
    (void)state;
    /* Unknown rank: unset elements take the shape of the set ones. */
    el_tensor l0 = reserve(2, NULL, -1, EL_DT_FLOAT), l1, st, e;
    assert_int_equal(stack(&l0, -1, NULL, -1, EL_DT_FLOAT, &st), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "non-fully-defined element_shape"));
    el_tensor_release(&st);
    assert_int_equal(get_item(&l0, 0, -1, NULL, &e), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "uninitialized tensor"));
    el_tensor_release(&e);
    /* ... unless the op's element_shape input defines it. */
    int32_t s13[2] = {1, 3};
    assert_int_equal(get_item(&l0, 0, 2, s13, &e), EL_OK);
    int64_t d13[2] = {1, 3};
    el_test_assert_shape(&e, 2, d13);
    el_tensor_release(&e);

    int64_t d22[2] = {2, 2};
    el_tensor item = el_test_f32(2, d22, (float[]){1, 2, 3, 4});
    assert_int_equal(set_item(&l0, 1, &item, &l1), EL_OK);
    assert_int_equal(stack(&l1, -1, NULL, -1, EL_DT_FLOAT, &st), EL_OK);
    int64_t d222[3] = {2, 2, 2};
    el_test_assert_shape(&st, 3, d222);
    el_test_assert_f32(&st, (float[]){0, 0, 0, 0, 1, 2, 3, 4}, 8, 0);
    el_tensor_release(&st);
    /* A stack shape that contradicts the elements is refused. */
    assert_int_equal(stack(&l1, 2, s13, -1, EL_DT_FLOAT, &st), EL_ERR_RUNTIME);
    el_tensor_release(&st);
    /* Partially known shapes merge: [-1, 2] with the element [2, 2]. */
    int32_t sq2[2] = {-1, 2};
    assert_int_equal(stack(&l1, 2, sq2, -1, EL_DT_FLOAT, &st), EL_OK);
    el_test_assert_shape(&st, 3, d222);
    el_tensor_release(&st);
    el_tensor_release(&item);
    el_tensor_release(&l1);
    el_tensor_release(&l0);

    /* An empty list stacks to [0, ...] with a defined shape. */
    int32_t s3[1] = {3};
    el_tensor empty = reserve(0, s3, 1, EL_DT_INT32);
    assert_int_equal(stack(&empty, -1, NULL, -1, EL_DT_INT32, &st), EL_OK);
    int64_t d03[2] = {0, 3};
    el_test_assert_shape(&st, 2, d03);
    el_tensor_release(&st);
    el_tensor_release(&empty);
}

static void test_from_tensor_and_errors(void **state)
{
    (void)state;
    int64_t d32[2] = {3, 2};
    uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    el_tensor in[2] = {el_test_u8(2, d32, px), scalar_i32(-1)};
    el_test_node tn;
    el_test_node_init(&tn, "TensorListFromTensor");
    el_test_attr_type(&tn, "element_dtype", EL_DT_UINT8);
    el_tensor l = run1(&tn, 2, in);
    el_test_release_all(2, in);
    assert_int_equal(length(&l), 3);

    el_test_node_init(&tn, "TensorListGetItem");
    el_test_attr_type(&tn, "element_dtype", EL_DT_UINT8);
    el_tensor gi[3] = {l, scalar_i32(2), scalar_i32(-1)};
    el_tensor e = run1(&tn, 3, gi);
    assert_int_equal(e.dtype, EL_DT_UINT8);
    assert_int_equal(e.ndim, 1);
    assert_int_equal(((uint8_t *)e.data)[0], 5);
    assert_int_equal(((uint8_t *)e.data)[1], 6);
    el_tensor_release(&e);
    /* Index out of range, and an element_dtype that is not the list's. */
    el_tensor_release(&gi[1]);
    gi[1] = scalar_i32(3);
    assert_int_equal(el_test_run(&tn, 3, gi, 1, &e), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Trying to access element 3 in a list with 3 elements"));
    el_tensor_release(&gi[1]);
    gi[1] = scalar_i32(0);
    el_test_node_init(&tn, "TensorListGetItem");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    assert_int_equal(el_test_run(&tn, 3, gi, 1, &e), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Invalid data types"));
    el_tensor_release(&gi[1]);
    el_tensor_release(&gi[2]);

    /* SetItem: out of range, wrong dtype, incompatible shape. */
    int64_t d1[1] = {2}, d3[1] = {3};
    el_tensor ok = el_test_u8(1, d1, px), wide = el_test_u8(1, d3, px), f = el_test_f32(1, d1, (float[]){1, 2}), r;
    assert_int_equal(set_item(&l, 3, &ok, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Trying to modify element 3"));
    el_tensor_release(&r);
    assert_int_equal(set_item(&l, -1, &ok, &r), EL_ERR_RUNTIME);
    el_tensor_release(&r);
    el_test_node_init(&tn, "TensorListSetItem");
    el_test_attr_type(&tn, "element_dtype", EL_DT_UINT8);
    el_tensor si[3] = {l, scalar_i32(0), f};
    assert_int_equal(el_test_run(&tn, 3, si, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Invalid data types"));
    el_tensor_release(&r);
    el_tensor_release(&si[1]);
    /* FromTensor gave the list element_shape -1 (unknown): any shape fits,
     * so use a list with a known one for the shape check. */
    int32_t s2[1] = {2};
    el_tensor typed = reserve(2, s2, 1, EL_DT_UINT8);
    assert_int_equal(set_item(&typed, 0, &wide, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "incompatible shape"));
    el_tensor_release(&r);
    /* resize_if_index_out_of_bounds grows the list. */
    el_test_node_init(&tn, "TensorListSetItem");
    el_test_attr_type(&tn, "element_dtype", EL_DT_UINT8);
    el_test_attr_bool(&tn, "resize_if_index_out_of_bounds", true);
    el_tensor rs[3] = {typed, scalar_i32(4), ok};
    r = run1(&tn, 3, rs);
    assert_int_equal(length(&r), 5);
    assert_int_equal(length(&typed), 2);
    el_tensor_release(&rs[1]);
    el_tensor_release(&r);

    /* A non-list input, and a TensorArray handle, are refused. */
    el_test_node_init(&tn, "TensorListLength");
    assert_int_equal(el_test_run(&tn, 1, &f, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "not a TensorList"));
    el_test_node_init(&tn, "TensorArrayV3");
    el_test_attr_type(&tn, "dtype", EL_DT_FLOAT);
    el_tensor sz = scalar_i32(1), ta[2];
    assert_int_equal(el_test_run(&tn, 1, &sz, 2, ta), EL_OK);
    el_test_node_init(&tn, "TensorListLength");
    assert_int_equal(el_test_run(&tn, 1, ta, 1, &r), EL_ERR_RUNTIME);
    el_test_release_all(2, ta);
    el_tensor_release(&sz);

    /* FromTensor needs at least a vector and a compatible element_shape. */
    el_test_node_init(&tn, "TensorListFromTensor");
    el_tensor bad[2] = {scalar_i32(1), scalar_i32(-1)};
    assert_int_equal(el_test_run(&tn, 2, bad, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "at least a vector"));
    el_tensor_release(&bad[0]);
    el_tensor mat[2] = {el_test_u8(2, d32, px), shape_vec(1, (int32_t[]){3})};
    assert_int_equal(el_test_run(&tn, 2, mat, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "Specified a list with shape [3] from a tensor with shape [2]"));
    el_test_release_all(2, mat);
    el_tensor_release(&bad[1]);
    /* element_shape scalars other than -1 are malformed. */
    el_test_node_init(&tn, "TensorListReserve");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor rv[2] = {scalar_i32(2), scalar_i32(1)};
    assert_int_equal(el_test_run(&tn, 2, rv, 1, &r), EL_ERR_RUNTIME);
    el_tensor_release(&rv[0]);
    rv[0] = scalar_i32(-1);
    el_tensor_release(&rv[1]);
    rv[1] = scalar_i32(-2);
    assert_int_equal(el_test_run(&tn, 2, rv, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "non negative"));
    el_test_release_all(2, rv);

    el_tensor_release(&typed);
    el_tensor_release(&ok);
    el_tensor_release(&wide);
    el_tensor_release(&f);
    el_tensor_release(&l);
}

static void test_push_pop_empty_shape(void **state)
{
    (void)state;
    el_test_node tn;
    el_test_node_init(&tn, "EmptyTensorList");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor in[2] = {shape_vec(1, (int32_t[]){-1}), scalar_i32(2)};
    el_tensor l0 = run1(&tn, 2, in);
    el_test_release_all(2, in);
    assert_int_equal(length(&l0), 0);

    int64_t d1[1] = {1}, d2[1] = {2};
    el_tensor a = el_test_f32(1, d1, (float[]){7}), b = el_test_f32(1, d2, (float[]){8, 9});
    el_test_node_init(&tn, "TensorListPushBack");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor p1[2] = {l0, a};
    el_tensor l1 = run1(&tn, 2, p1);
    el_tensor p2[2] = {l1, b};
    el_tensor l2 = run1(&tn, 2, p2);
    assert_int_equal(length(&l0), 0);
    assert_int_equal(length(&l1), 1);
    assert_int_equal(length(&l2), 2);
    /* max_num_elements is 2. */
    el_tensor p3[2] = {l2, a}, r;
    assert_int_equal(el_test_run(&tn, 2, p3, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "full list"));
    /* A rank-2 element does not fit element_shape [-1]. */
    int64_t d11[2] = {1, 1};
    el_tensor m = el_test_f32(2, d11, (float[]){1});
    el_tensor p4[2] = {l2, m};
    assert_int_equal(el_test_run(&tn, 2, p4, 1, &r), EL_ERR_RUNTIME);
    el_tensor_release(&m);

    /* ElementShape: [-1] as int32; int64 on request; scalar -1 when unknown. */
    el_test_node_init(&tn, "TensorListElementShape");
    el_tensor es = run1(&tn, 1, &l2);
    assert_int_equal(es.dtype, EL_DT_INT32);
    el_test_assert_shape(&es, 1, d1);
    assert_int_equal(((int32_t *)es.data)[0], -1);
    el_tensor_release(&es);
    el_test_attr_type(&tn, "shape_type", EL_DT_INT64);
    es = run1(&tn, 1, &l2);
    assert_int_equal(es.dtype, EL_DT_INT64);
    el_tensor_release(&es);
    el_tensor unk = reserve(1, NULL, -1, EL_DT_FLOAT);
    el_test_node_init(&tn, "TensorListElementShape");
    es = run1(&tn, 1, &unk);
    assert_int_equal(es.ndim, 0);
    assert_int_equal(*(int32_t *)es.data, -1);
    el_tensor_release(&es);
    el_tensor_release(&unk);

    /* PopBack returns the last element and a shorter list. */
    el_test_node_init(&tn, "TensorListPopBack");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor pb[2] = {l2, scalar_i32(-1)}, out[2];
    assert_int_equal(el_test_run(&tn, 2, pb, 2, out), EL_OK);
    assert_int_equal(length(&out[0]), 1);
    el_test_assert_f32(&out[1], (float[]){8, 9}, 2, 0);
    assert_int_equal(length(&l2), 2);
    el_test_release_all(2, out);
    pb[0] = l0;
    assert_int_equal(el_test_run(&tn, 2, pb, 2, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "pop from an empty list"));
    el_test_release_all(2, out);
    el_tensor_release(&pb[1]);

    el_tensor_release(&a);
    el_tensor_release(&b);
    el_tensor_release(&l2);
    el_tensor_release(&l1);
    el_tensor_release(&l0);
}

static void test_gather_scatter_resize(void **state)
{
    (void)state;
    int64_t d32[2] = {3, 2}, d2[1] = {2};
    el_tensor t = el_test_f32(2, d32, (float[]){1, 2, 3, 4, 5, 6});
    el_tensor idx = el_test_i32(1, (int64_t[]){3}, (int32_t[]){4, 0, 2});
    el_test_node tn;
    /* ScatterV2 into 6 elements: 1, 3, 5 stay unset. */
    el_test_node_init(&tn, "TensorListScatterV2");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor sc[4] = {t, idx, shape_vec(1, (int32_t[]){2}), scalar_i32(6)};
    el_tensor l = run1(&tn, 4, sc);
    assert_int_equal(length(&l), 6);
    el_tensor r;
    el_tensor_release(&sc[3]);
    sc[3] = scalar_i32(3);
    assert_int_equal(el_test_run(&tn, 4, sc, 1, &r), EL_ERR_RUNTIME);
    /* Scatter (V1) sizes the list by the largest index. */
    el_test_node_init(&tn, "TensorListScatter");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor l5 = run1(&tn, 3, sc);
    assert_int_equal(length(&l5), 5);
    el_tensor_release(&l5);

    el_test_node_init(&tn, "TensorListGather");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor gi[3] = {l, el_test_i32(1, (int64_t[]){3}, (int32_t[]){0, 1, 4}), scalar_i32(-1)};
    el_tensor g = run1(&tn, 3, gi);
    el_test_assert_shape(&g, 2, d32);
    el_test_assert_f32(&g, (float[]){3, 4, 0, 0, 1, 2}, 6, 0);
    el_tensor_release(&g);
    el_tensor_release(&gi[1]);
    gi[1] = el_test_i32(1, (int64_t[]){1}, (int32_t[]){6});
    assert_int_equal(el_test_run(&tn, 3, gi, 1, &r), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "gather element 6"));
    el_tensor_release(&r); /* a failed kernel may leave its output filled */
    el_tensor_release(&gi[1]);
    el_tensor_release(&gi[2]);

    /* ScatterIntoExistingList writes rows, growing as needed, on a copy. */
    el_test_node_init(&tn, "TensorListScatterIntoExistingList");
    el_test_attr_type(&tn, "element_dtype", EL_DT_FLOAT);
    el_tensor two = el_test_f32(2, (int64_t[]){1, 2}, (float[]){9, 9});
    el_tensor se[3] = {l, two, el_test_i32(1, (int64_t[]){1}, (int32_t[]){7})};
    el_tensor l8 = run1(&tn, 3, se);
    assert_int_equal(length(&l8), 8);
    assert_int_equal(length(&l), 6);
    el_tensor e;
    assert_int_equal(get_item(&l8, 7, -1, NULL, &e), EL_OK);
    el_test_assert_f32(&e, (float[]){9, 9}, 2, 0);
    el_test_assert_shape(&e, 1, d2);
    el_tensor_release(&e);
    el_tensor_release(&se[2]);
    el_tensor_release(&two);

    /* Resize shrinks or grows. */
    el_test_node_init(&tn, "TensorListResize");
    el_tensor rz[2] = {l8, scalar_i32(1)};
    el_tensor l1 = run1(&tn, 2, rz);
    assert_int_equal(length(&l1), 1);
    el_tensor_release(&rz[1]);
    rz[1] = scalar_i32(-1);
    assert_int_equal(el_test_run(&tn, 2, rz, 1, &r), EL_ERR_RUNTIME);
    el_tensor_release(&rz[1]);

    el_tensor_release(&l1);
    el_tensor_release(&l8);
    el_tensor_release(&l);
    el_tensor_release(&sc[2]);
    el_tensor_release(&sc[3]);
    el_tensor_release(&idx);
    el_tensor_release(&t);
}

/* map_fn as a TF2 export writes it: the input unstacked into a list, a
 * while loop reading item i, doubling it and setting it into an
 * accumulator list, the accumulator stacked after the loop. The reserved
 * list is also stacked directly: a value, it stays all zeros. */
static void test_map_loop(void **state)
{
    (void)state;
    el_gb b;
    el_graph *g;
    el_gb_init(&b);
    int ph = el_gb_node(&b, "x", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, ph, "dtype", EL_DT_FLOAT);
    el_gb_const_i32(&b, "elem_shape", 1, (const int32_t[]){2}, NULL);
    el_gb_scalar_i32(&b, "unknown", -1, NULL);
    el_gb_scalar_i32(&b, "n", 3, NULL);
    el_gb_scalar_i32(&b, "zero", 0, NULL);
    int n = el_gb_node(&b, "acc", "TensorListReserve", EL_IN("elem_shape", "n"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    n = el_gb_node(&b, "src", "TensorListFromTensor", EL_IN("x", "unknown"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    el_gb_while(&b, "w", "map/while", 2, EL_IN("zero", "acc"), "n"); /* i (0), the accumulator (1) */
    el_gb_enter(&b, "w/enter_src", "src", "map/while", true);
    el_gb_scalar_i32(&b, "w/one", 1, EL_IN("^w/Id_0"));
    el_gb_scalar_i32(&b, "w/any_shape", -1, EL_IN("^w/Id_0"));
    n = el_gb_node(&b, "w/get", "TensorListGetItem", EL_IN("w/enter_src", "w/Id_0", "w/any_shape"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    el_gb_node(&b, "w/double", "Add", EL_IN("w/get", "w/get"));
    n = el_gb_node(&b, "w/set", "TensorListSetItem", EL_IN("w/Id_1", "w/Id_0", "w/double"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    el_gb_node(&b, "w/add", "Add", EL_IN("w/Id_0", "w/one"));
    el_gb_node(&b, "w/Next_0", "NextIteration", EL_IN("w/add"));
    el_gb_node(&b, "w/Next_1", "NextIteration", EL_IN("w/set"));
    n = el_gb_node(&b, "out", "TensorListStack", EL_IN("w/Exit_1", "elem_shape"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    el_gb_attr_int(&b, n, "num_elements", 3);
    n = el_gb_node(&b, "initial", "TensorListStack", EL_IN("acc", "elem_shape"));
    el_gb_attr_type(&b, n, "element_dtype", EL_DT_FLOAT);
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);

    el_session *s;
    const char *feeds[1] = {"x"}, *fetches[2] = {"out", "initial"};
    if (el_session_create(g, 1, feeds, 2, fetches, NULL, &s) != EL_OK) fail_msg("%s", el_last_error());
    int64_t d32[2] = {3, 2};
    el_tensor x = el_test_f32(2, d32, (float[]){1, 2, 3, 4, 5, 6}), out[2];
    for (int run = 0; run < 2; run++) {
        if (el_session_run(s, &x, out) != EL_OK) fail_msg("%s", el_last_error());
        el_test_assert_shape(&out[0], 2, d32);
        el_test_assert_f32(&out[0], (float[]){2, 4, 6, 8, 10, 12}, 6, 0);
        el_test_assert_f32(&out[1], (float[]){0, 0, 0, 0, 0, 0}, 6, 0);
        el_test_release_all(2, out);
    }
    el_tensor_release(&x);
    el_session_free(s);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_set_get_stack),
        cmocka_unit_test(test_unknown_shapes),
        cmocka_unit_test(test_from_tensor_and_errors),
        cmocka_unit_test(test_push_pop_empty_shape),
        cmocka_unit_test(test_gather_scatter_resize),
        cmocka_unit_test(test_map_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
