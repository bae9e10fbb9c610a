#include "graph_builder.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

void el_gb_init(el_gb *b)
{
    b->cap = 0;
    assert_int_equal(el_graph_new("test graph", &b->g), EL_OK);
}

int el_gb_node(el_gb *b, const char *name, const char *op, const char *const *inputs)
{
    el_graph *g = b->g;
    if (g->nnodes == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        el_node *nodes;
        assert_int_equal(el_graph_alloc(g, sizeof(el_node) * (size_t)cap, &nodes), EL_OK);
        if (g->nnodes) memcpy(nodes, g->nodes, sizeof(el_node) * (size_t)g->nnodes);
        g->nodes = nodes;
        b->cap = cap;
    }
    el_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    assert_int_equal(el_graph_strdup(g, name, strlen(name), &n->name), EL_OK);
    assert_int_equal(el_graph_strdup(g, op, strlen(op), &n->op), EL_OK);
    int k = 0;
    while (inputs && inputs[k]) k++;
    n->ninputs = k;
    if (k) {
        assert_int_equal(el_graph_alloc(g, sizeof(char *) * (size_t)k, &n->input_names), EL_OK);
        for (int i = 0; i < k; i++)
            assert_int_equal(el_graph_strdup(g, inputs[i], strlen(inputs[i]), &n->input_names[i]), EL_OK);
    }
    assert_int_equal(el_graph_alloc(g, sizeof(el_attr) * 16, &n->attrs), EL_OK);
    return g->nnodes++;
}

/* A GraphDef's attrs are a map: setting one again replaces it (a test
 * setting "padding" VALID after el_gb_conv_attrs). */
static el_attr *el_gb_attr(el_gb *b, int node, const char *name, el_attr_type t)
{
    el_node *n = &b->g->nodes[node];
    for (int i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].name, name)) {
            n->attrs[i].type = t;
            return &n->attrs[i];
        }
    assert_true(n->nattrs < 16);
    el_attr *a = &n->attrs[n->nattrs++];
    assert_int_equal(el_graph_strdup(b->g, name, strlen(name), &a->name), EL_OK);
    a->type = t;
    return a;
}

void el_gb_attr_int(el_gb *b, int node, const char *name, int64_t v) { el_gb_attr(b, node, name, EL_ATTR_I)->v.i = v; }
void el_gb_attr_bool(el_gb *b, int node, const char *name, bool v) { el_gb_attr(b, node, name, EL_ATTR_B)->v.b = v; }
void el_gb_attr_type(el_gb *b, int node, const char *name, el_dtype v) { el_gb_attr(b, node, name, EL_ATTR_TYPE)->v.type = v; }

void el_gb_attr_str(el_gb *b, int node, const char *name, const char *v)
{
    el_attr *a = el_gb_attr(b, node, name, EL_ATTR_S);
    assert_int_equal(el_graph_strdup(b->g, v, strlen(v), &a->v.s.data), EL_OK);
    a->v.s.len = strlen(v);
}

void el_gb_attr_ints(el_gb *b, int node, const char *name, int n, const int64_t *v)
{
    el_attr *a = el_gb_attr(b, node, name, EL_ATTR_LIST);
    a->v.list.elem = n ? EL_ATTR_I : EL_ATTR_NONE;
    a->v.list.n = n;
    assert_int_equal(el_graph_alloc(b->g, sizeof(int64_t) * (size_t)(n + 1), &a->v.list.v.i), EL_OK);
    if (n) memcpy(a->v.list.v.i, v, sizeof(int64_t) * (size_t)n);
}

void el_gb_attr_shape(el_gb *b, int node, const char *name, int rank, const int64_t *dims)
{
    el_attr *a = el_gb_attr(b, node, name, EL_ATTR_SHAPE);
    a->v.shape.rank = rank;
    for (int i = 0; i < rank; i++) a->v.shape.dims[i] = dims[i];
}

static int el_gb_const(el_gb *b, const char *name, el_dtype dt, int ndim, const int64_t *dims, const void *vals,
                       const char *const *ctrl)
{
    int n = el_gb_node(b, name, "Const", ctrl);
    el_gb_attr_type(b, n, "dtype", dt);
    el_attr *a = el_gb_attr(b, n, "value", EL_ATTR_TENSOR);
    assert_int_equal(el_tensor_alloc(&a->v.tensor, dt, ndim, dims), EL_OK);
    memcpy(a->v.tensor.data, vals, el_tensor_nbytes(&a->v.tensor));
    return n;
}

int el_gb_const_i32(el_gb *b, const char *name, int n, const int32_t *vals, const char *const *ctrl)
{
    int64_t d[1] = {n};
    return el_gb_const(b, name, EL_DT_INT32, 1, d, vals, ctrl);
}

int el_gb_scalar_i32(el_gb *b, const char *name, int32_t v, const char *const *ctrl)
{
    return el_gb_const(b, name, EL_DT_INT32, 0, NULL, &v, ctrl);
}

int el_gb_scalar_f32(el_gb *b, const char *name, float v, const char *const *ctrl)
{
    return el_gb_const(b, name, EL_DT_FLOAT, 0, NULL, &v, ctrl);
}

int el_gb_scalar_bool(el_gb *b, const char *name, bool v)
{
    uint8_t x = v;
    return el_gb_const(b, name, EL_DT_BOOL, 0, NULL, &x, NULL);
}

int el_gb_const_f32_gen(el_gb *b, const char *name, int ndim, const int64_t *dims, float (*gen)(void), float scale)
{
    int n = el_gb_node(b, name, "Const", EL_NOIN);
    el_gb_attr_type(b, n, "dtype", EL_DT_FLOAT);
    el_attr *a = el_gb_attr(b, n, "value", EL_ATTR_TENSOR);
    assert_int_equal(el_tensor_alloc(&a->v.tensor, EL_DT_FLOAT, ndim, dims), EL_OK);
    float *v = a->v.tensor.data;
    for (int64_t i = 0; i < el_tensor_numel(&a->v.tensor); i++) v[i] = gen() * scale;
    return n;
}

void el_gb_conv_attrs(el_gb *b, int node, int64_t stride)
{
    const int64_t strides[4] = {1, stride, stride, 1};
    el_gb_attr_ints(b, node, "strides", 4, strides);
    el_gb_attr_str(b, node, "padding", "SAME");
    el_gb_attr_type(b, node, "T", EL_DT_FLOAT);
}

void el_gb_crelu_concat(el_gb *b, int axis, bool with_t)
{
    el_gb_attr_type(b, el_gb_node(b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_scalar_f32(b, "c", 0.75f, NULL);
    el_gb_scalar_i32(b, "axis", axis, NULL);
    el_gb_node(b, "a", "Mul", EL_IN("x", "c"));
    el_gb_attr_type(b, el_gb_node(b, "neg", "Neg", EL_IN("a")), "T", EL_DT_FLOAT);
    int c = el_gb_node(b, "cat", "ConcatV2", EL_IN("a", "neg", "x", "axis"));
    if (with_t) el_gb_attr_type(b, c, "T", EL_DT_FLOAT);
    el_gb_attr_int(b, c, "N", 3);
}

int el_gb_cast(el_gb *b, const char *name, const char *x, el_dtype from, el_dtype to)
{
    const int n = el_gb_node(b, name, "Cast", EL_IN(x));
    el_gb_attr_type(b, n, "SrcT", from);
    el_gb_attr_type(b, n, "DstT", to);
    return n;
}

const char *el_gb_image(el_gb *b, bool u8)
{
    el_gb_attr_type(b, el_gb_node(b, "x", "Placeholder", EL_NOIN), "dtype", u8 ? EL_DT_UINT8 : EL_DT_FLOAT);
    if (!u8) return "x";
    el_gb_cast(b, "tofloat", "x", EL_DT_UINT8, EL_DT_FLOAT);
    return "tofloat";
}

void el_gb_hard_swish(el_gb *b, const char *x, const char *y)
{
    el_gb_scalar_f32(b, "m", 0.16666667f, NULL);
    el_gb_scalar_f32(b, "a", 3.0f, NULL);
    el_gb_node(b, "mul", "Mul", EL_IN(x, "m"));
    el_gb_node(b, "add", "AddV2", EL_IN(x, "a"));
    el_gb_node(b, "r6", "Relu6", EL_IN("add"));
    el_gb_node(b, y, "Mul", EL_IN("mul", "r6"));
}

int el_gb_const_f32_rand(el_gb *b, const char *name, int ndim, const int64_t *dims)
{
    return el_gb_const_f32_gen(b, name, ndim, dims, el_test_frand, 0.1f);
}

void el_gb_enter(el_gb *b, const char *name, const char *in, const char *frame, bool constant)
{
    int n = el_gb_node(b, name, "Enter", EL_IN(in));
    el_gb_attr_str(b, n, "frame_name", frame);
    el_gb_attr_bool(b, n, "is_constant", constant);
}

void el_gb_while(el_gb *b, const char *p, const char *frame, int nvars, const char *const *init, const char *limit)
{
    char a[160], c[160], d[160];
#define EL_N(buf, fmt, ...) (snprintf(buf, sizeof buf, "%s/" fmt, p, __VA_ARGS__), buf)
    for (int k = 0; k < nvars; k++) el_gb_enter(b, EL_N(a, "Enter_%d", k), init[k], frame, false);
    el_gb_enter(b, EL_N(a, "Limit%s", ""), limit, frame, true);
    for (int k = 0; k < nvars; k++)
        el_gb_node(b, EL_N(a, "Merge_%d", k), "Merge", EL_IN(EL_N(c, "Enter_%d", k), EL_N(d, "Next_%d", k)));
    el_gb_node(b, EL_N(a, "Less%s", ""), "Less", EL_IN(EL_N(c, "Merge_%d", 0), EL_N(d, "Limit%s", "")));
    el_gb_node(b, EL_N(a, "LoopCond%s", ""), "LoopCond", EL_IN(EL_N(c, "Less%s", "")));
    for (int k = nvars - 1; k >= 0; k--)
        el_gb_node(b, EL_N(a, "Switch_%d", k), "Switch", EL_IN(EL_N(c, "Merge_%d", k), EL_N(d, "LoopCond%s", "")));
    for (int k = nvars - 1; k >= 0; k--) {
        EL_N(c, "Switch_%d", k);
        snprintf(d, sizeof d, "%s:1", c);
        el_gb_node(b, EL_N(a, "Id_%d", k), "Identity", EL_IN(d));
        el_gb_node(b, EL_N(a, "Exit_%d", k), "Exit", EL_IN(c));
    }
#undef EL_N
}

el_status el_gb_finish(el_gb *b, el_graph **out)
{
    *out = b->g;
    return el_graph_index(b->g);
}
