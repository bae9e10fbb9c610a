/* Every fused convolution form the TF.js test models (handtrack, centernet,
 * faceboxes) contain, checked against the unfused ops it stands for:
 * Conv2D / DepthwiseConv2dNative, then BiasAdd, then Relu or Relu6, each run
 * through its own reference kernel. The attrs are the converter's (NHWC,
 * dilations 1, num_args 1, epsilon 0); the filter sizes, strides and
 * paddings are the ones the models use. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct fused_case {
    const char *op;       /* _FusedConv2D or FusedDepthwiseConv2dNative */
    const char *act;      /* NULL: BiasAdd only */
    const char *padding;
    int stride, k;        /* square filter, square stride */
    int h, w, ic, mult;   /* mult: output channels (conv) or multiplier (depthwise) */
} fused_case;

static const fused_case cases[] = {
    /* handtrack, centernet, faceboxes: _FusedConv2D */
    {"_FusedConv2D", NULL, "SAME", 1, 1, 5, 6, 3, 4},
    {"_FusedConv2D", NULL, "SAME", 1, 3, 5, 6, 3, 4},
    {"_FusedConv2D", NULL, "SAME", 2, 3, 7, 6, 3, 5},
    {"_FusedConv2D", NULL, "SAME", 4, 7, 17, 13, 3, 4}, /* faceboxes' first layer */
    {"_FusedConv2D", NULL, "VALID", 1, 1, 4, 5, 6, 3},
    {"_FusedConv2D", NULL, "VALID", 1, 3, 6, 5, 2, 3},
    {"_FusedConv2D", "Relu", "SAME", 1, 3, 5, 6, 3, 4},
    {"_FusedConv2D", "Relu", "SAME", 2, 3, 8, 7, 4, 3},
    {"_FusedConv2D", "Relu6", "SAME", 1, 3, 5, 6, 3, 4},
    {"_FusedConv2D", "Relu6", "SAME", 2, 3, 7, 8, 3, 2},
    {"_FusedConv2D", "Relu6", "VALID", 1, 1, 4, 4, 5, 6},
    /* FusedDepthwiseConv2dNative */
    {"FusedDepthwiseConv2dNative", NULL, "SAME", 1, 3, 6, 5, 4, 1},
    {"FusedDepthwiseConv2dNative", NULL, "SAME", 2, 3, 7, 6, 3, 1},
    {"FusedDepthwiseConv2dNative", "Relu", "SAME", 1, 3, 5, 5, 4, 1},
    {"FusedDepthwiseConv2dNative", "Relu", "SAME", 2, 5, 9, 8, 2, 1},
    {"FusedDepthwiseConv2dNative", "Relu6", "SAME", 1, 3, 6, 6, 3, 1},
    {"FusedDepthwiseConv2dNative", "Relu6", "SAME", 2, 3, 7, 7, 5, 2},
    {"_FusedDepthwiseConv2dNative", "Relu6", "SAME", 1, 3, 4, 4, 2, 1},
};

static el_tensor rand_f32(int ndim, const int64_t *dims, float scale)
{
    el_tensor t = el_test_f32(ndim, dims, NULL);
    float *p = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = scale * ((float)(rand() % 2001) / 1000.0f - 1.0f);
    return t;
}

static void set_common(el_test_node *tn, const fused_case *c)
{
    int64_t strides[4] = {1, c->stride, c->stride, 1}, dil[4] = {1, 1, 1, 1};
    el_test_attr_ints(tn, "strides", 4, strides);
    el_test_attr_ints(tn, "dilations", 4, dil);
    el_test_attr_str(tn, "padding", c->padding);
    el_test_attr_str(tn, "data_format", "NHWC");
    el_test_attr_type(tn, "T", EL_DT_FLOAT);
}

static el_tensor run_one(el_test_node *tn, int nin, el_tensor *in)
{
    el_tensor out[1];
    if (el_test_run(tn, nin, in, 1, out) != EL_OK) fail_msg("%s: %s", tn->node.op, el_last_error());
    return out[0];
}

static void check_case(const fused_case *c)
{
    bool dw = strstr(c->op, "Depthwise") != NULL;
    int oc = dw ? c->ic * c->mult : c->mult;
    int64_t xd[4] = {1, c->h, c->w, c->ic}, fd[4] = {c->k, c->k, c->ic, c->mult}, bd[1] = {oc};
    /* Activations cross zero and six so both clamps are exercised. */
    el_tensor x = rand_f32(4, xd, 3), f = rand_f32(4, fd, 2), b = rand_f32(1, bd, 2);

    el_test_node tn;
    el_test_node_init(&tn, dw ? "DepthwiseConv2dNative" : "Conv2D");
    set_common(&tn, c);
    el_tensor in2[2] = {x, f};
    el_tensor conv = run_one(&tn, 2, in2);
    el_test_node_init(&tn, "BiasAdd");
    el_tensor in3[2] = {conv, b};
    el_tensor want = run_one(&tn, 2, in3);
    if (c->act) {
        el_test_node_init(&tn, c->act);
        el_tensor a = run_one(&tn, 1, &want);
        el_tensor_release(&want);
        want = a;
    }

    el_test_node_init(&tn, c->op);
    set_common(&tn, c);
    el_test_attr_int(&tn, "num_args", 1);
    el_test_attr_float(&tn, "epsilon", 0);
    static el_string names[3] = {{"BiasAdd", 7}, {"Relu", 4}, {"Relu6", 5}};
    static el_string ops[2];
    ops[0] = names[0];
    ops[1] = c->act && !strcmp(c->act, "Relu") ? names[1] : names[2];
    el_attr *a = &tn.attrs[tn.node.nattrs++];
    a->name = "fused_ops";
    a->type = EL_ATTR_LIST;
    a->v.list.elem = EL_ATTR_S;
    a->v.list.n = c->act ? 2 : 1;
    a->v.list.v.s = ops;
    el_tensor fin[3] = {x, f, b};
    el_tensor got = run_one(&tn, 3, fin);
    el_test_assert_shape(&got, want.ndim, want.dims);
    /* Same sums in the same order, bias added after: bit-identical. */
    el_test_assert_f32(&got, want.data, el_tensor_numel(&want), 0);
    el_tensor_release(&got);
    el_tensor_release(&want);
    el_tensor_release(&conv);
    el_tensor_release(&x);
    el_tensor_release(&f);
    el_tensor_release(&b);
}

static void test_model_combinations(void **state)
{
    (void)state;
    srand(11);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_combinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
