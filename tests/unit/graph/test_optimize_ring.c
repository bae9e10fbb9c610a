/* A second ring level (graph/optimize.c's el_opt_ring, ops/conv.c's
 * el_conv_ring): a depthwise convolution running its 1x1 expansion runs the
 * depthwise convolution (with its own expansion: a first layer or a 1x1)
 * whose output that expansion reads. The fused graph gives the bits of the
 * same graph with a second reader of the inner depthwise output (which
 * keeps the two apart), for uint8 images standardised as the first layer
 * loads them or float images, SAME and VALID, strides 1 and 2 on both
 * depthwise convolutions, 3x3 and 5x5, odd sizes, two images, on every ISA
 * (the rows of both rings on AVX-512, the inner node whole elsewhere and
 * for narrow rows), at 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_dwpw.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef struct el_case {
    int64_t n, h, w;
    int k, stride, ic, oc; /* the first layer (k 1: a 1x1 expansion) */
    bool same;             /* the first layer's padding (the depthwise ones are SAME) */
    bool u8;               /* a uint8 image, standardised (_ElMulAdd) */
    int s1, s2, k2;        /* the depthwise strides, the second one's kernel */
    int64_t eoc;           /* the 1x1 expansion's output depth */
} el_case;

/* x -> [Cast -> Mul(c, .) -> Sub(., d)] -> Conv2D + BiasAdd -> Relu6 ->
 * DepthwiseConv2dNative + BiasAdd -> Relu6 = a -> Conv2D 1x1 + BiasAdd ->
 * Relu6 -> DepthwiseConv2dNative (k2) + BiasAdd -> Relu6 = y; z = Relu(a)
 * when split. */
static el_graph *el_graph_of(const el_case *c, bool split)
{
    el_test_rand_seed(5);
    el_gb b;
    el_gb_init(&b);
    const char *img = el_gb_image(&b, c->u8);
    if (c->u8) {
        el_gb_scalar_f32(&b, "c", 0.0078125f, NULL);
        el_gb_scalar_f32(&b, "d", 1.0f, NULL);
        el_gb_node(&b, "m2", "Mul", EL_IN("c", "tofloat"));
        el_gb_node(&b, "std", "Sub", EL_IN("m2", "d"));
        img = "std";
    }
    const int64_t ws[4] = {c->k, c->k, c->ic, c->oc}, bs[1] = {c->oc}, wd[4] = {3, 3, c->oc, 1};
    const int64_t we[4] = {1, 1, c->oc, c->eoc}, be[1] = {c->eoc}, wd2[4] = {c->k2, c->k2, c->eoc, 1};
    el_gb_const_f32_rand(&b, "ws", 4, ws);
    el_gb_const_f32_rand(&b, "bs", 1, bs);
    el_gb_const_f32_rand(&b, "wd", 4, wd);
    el_gb_const_f32_rand(&b, "bd", 1, bs);
    el_gb_const_f32_rand(&b, "we", 4, we);
    el_gb_const_f32_rand(&b, "be", 1, be);
    el_gb_const_f32_rand(&b, "wd2", 4, wd2);
    el_gb_const_f32_rand(&b, "bd2", 1, be);
    int conv = el_gb_node(&b, "sc", "Conv2D", EL_IN(img, "ws"));
    el_gb_conv_attrs(&b, conv, c->stride);
    if (!c->same) el_gb_attr_str(&b, conv, "padding", "VALID");
    el_gb_node(&b, "sb", "BiasAdd", EL_IN("sc", "bs"));
    el_gb_node(&b, "s", "Relu6", EL_IN("sb"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "dc", "DepthwiseConv2dNative", EL_IN("s", "wd")), c->s1);
    el_gb_node(&b, "db", "BiasAdd", EL_IN("dc", "bd"));
    el_gb_node(&b, "a", "Relu6", EL_IN("db"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "ec", "Conv2D", EL_IN("a", "we")), 1);
    el_gb_node(&b, "eb", "BiasAdd", EL_IN("ec", "be"));
    el_gb_node(&b, "e", "Relu6", EL_IN("eb"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "dc2", "DepthwiseConv2dNative", EL_IN("e", "wd2")), c->s2);
    el_gb_node(&b, "db2", "BiasAdd", EL_IN("dc2", "bd2"));
    el_gb_node(&b, "y", "Relu6", EL_IN("db2"));
    if (split) el_gb_node(&b, "z", "Relu", EL_IN("a"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

/* An image of c's shape: bytes, or floats in [-5, 5] with a NaN and a -0. */
static el_tensor el_case_input(const el_case *c)
{
    const int64_t d[4] = {c->n, c->h, c->w, c->ic};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, c->u8 ? EL_DT_UINT8 : EL_DT_FLOAT, 4, d), EL_OK);
    el_test_rand_seed(11);
    const int64_t n = el_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++) {
        if (c->u8) ((uint8_t *)t.data)[i] = (uint8_t)(i * 37 % 256);
        else ((float *)t.data)[i] = el_test_frand();
    }
    if (!c->u8) {
        float *x = t.data;
        x[5] = NAN, x[n / 2] = -0.0f;
    }
    return t;
}

static void el_check(el_case c)
{
    el_graph *g = el_graph_of(&c, false), *g2 = el_graph_of(&c, true);
    el_optimize_stats st;
    el_graph *og;
    el_test_optimize_xy(g, false, &st, &og);
    assert_non_null(og);
    assert_int_equal(st.pw_dw_fused, 2);
    assert_int_equal(st.ring_fused, 1);
    /* The node left reads the image and carries the inner node's attrs. */
    const el_node *y = el_test_find_node(og, "y");
    assert_non_null(y);
    assert_non_null(el_node_attr(y, EL_RING_NIN_ATTR));
    assert_non_null(el_node_attr(y, EL_RING_PREFIX EL_PWDW_NIN_ATTR));
    assert_null(el_test_find_node(og, "a"));
    el_graph_free(og);
    el_test_optimize_xy(g2, true, &st, NULL);
    assert_int_equal(st.pw_dw_fused, 2);
    assert_int_equal(st.ring_fused, 0);
    el_tensor in = el_case_input(&c);
    char what[200];
    snprintf(what, sizeof what, "n %lld h %lld w %lld k %d stride %d ic %d oc %d same %d u8 %d s1 %d s2 %d k2 %d eoc %lld",
             (long long)c.n, (long long)c.h, (long long)c.w, c.k, c.stride, c.ic, c.oc, c.same, c.u8, c.s1, c.s2, c.k2,
             (long long)c.eoc);
    el_test_xy_same_bits(g, g2, &in, what);
    el_tensor_release(&in);
    el_graph_free(g);
    el_graph_free(g2);
}

/* MobileNet v1's Conv2d_0 -> Conv2d_1_depthwise -> Conv2d_1_pointwise -> Conv2d_2_depthwise. */
static void test_mobilenet_v1(void **state)
{
    (void)state;
    el_check((el_case){.n = 1, .h = 19, .w = 150, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = true, .u8 = true,
                       .s1 = 1, .s2 = 2, .k2 = 3, .eoc = 64});
    /* Two images, odd sizes, VALID first layer. */
    el_check((el_case){.n = 2, .h = 14, .w = 137, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = false, .u8 = true,
                       .s1 = 1, .s2 = 2, .k2 = 3, .eoc = 48});
}

/* Other strides and kernels, a float image, a 1x1 inner expansion. */
static void test_forms(void **state)
{
    (void)state;
    el_check((el_case){.n = 1, .h = 13, .w = 139, .k = 3, .stride = 1, .ic = 4, .oc = 16, .same = true, .s1 = 2,
                       .s2 = 1, .k2 = 5, .eoc = 40});
    el_check((el_case){.n = 2, .h = 11, .w = 71, .k = 1, .stride = 1, .ic = 8, .oc = 24, .same = true, .s1 = 1,
                       .s2 = 1, .k2 = 3, .eoc = 33});
    el_check((el_case){.n = 1, .h = 9, .w = 67, .k = 1, .stride = 1, .ic = 16, .oc = 17, .same = true, .s1 = 2,
                       .s2 = 2, .k2 = 5, .eoc = 64});
    /* Narrow rows: each node runs whole. */
    el_check((el_case){.n = 1, .h = 9, .w = 20, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = true, .u8 = true,
                       .s1 = 1, .s2 = 2, .k2 = 3, .eoc = 64});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mobilenet_v1),
        cmocka_unit_test(test_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
