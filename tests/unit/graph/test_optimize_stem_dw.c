/* A first-layer convolution run by the depthwise convolution reading it
 * (graph/optimize.c's el_opt_pw_dw, ops/conv.c's el_conv_pwdw with the
 * stem kernel's rows, ops/conv_stem.h): the fused graph gives the bits of
 * the same graph with a second reader of the first layer's output (which
 * keeps it apart), for float and uint8 images standardised as the
 * convolution loads them (with and without an absorbed Pad) or not, SAME
 * and VALID, strides 1 and 2 on both sides, odd sizes, two images, with
 * the depthwise convolution alone or run by the 1x1 projection reading
 * it (adding the first layer's output: a residual block), on every ISA (the ring of stem rows on AVX-512, the first layer
 * whole elsewhere and for narrow rows), at 1 and 2 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_dwpw.h"
#include "ops/conv_fast.h"
#include "ops/mul_add.h"
#include "testutil.h"

typedef struct el_case {
    int64_t n, h, w;
    int k, stride, ic, oc; /* the first layer */
    bool same;             /* the first layer's padding (the depthwise one is SAME) */
    int dstride;           /* the depthwise convolution's */
    bool std, u8, pad;     /* an _ElMulAdd before it (from a uint8 image, through a Pad) */
    bool hswish;           /* the first layer's activation, else Relu6 */
    int64_t poc;           /* a 1x1 projection after the depthwise convolution, 0: none */
    bool residual;         /* the projection adds s (poc = oc, dstride 1) */
} el_case;

/* x -> [Cast] -> [Pad] -> [Mul(c, .) -> Sub(., d)] -> Conv2D + BiasAdd ->
 * Relu6 / hard swish = s -> DepthwiseConv2dNative + BiasAdd -> Relu6 [->
 * Conv2D 1x1 + BiasAdd [+ s]] = y; z = Relu(s) when split. */
static el_graph *el_graph_of(const el_case *c, bool split)
{
    el_test_rand_seed(5);
    el_gb b;
    el_gb_init(&b);
    const char *img = el_gb_image(&b, c->u8);
    if (c->pad) {
        const int32_t p[8] = {0, 0, 1, 2, 3, 1, 0, 0}, shape[2] = {4, 2};
        el_gb_const_i32(&b, "pflat", 8, p, NULL);
        el_gb_const_i32(&b, "pshape", 2, shape, NULL);
        el_gb_node(&b, "paddings", "Reshape", EL_IN("pflat", "pshape"));
        el_gb_node(&b, "pad", "Pad", EL_IN(img, "paddings"));
        img = "pad";
    }
    if (c->std) {
        el_gb_scalar_f32(&b, "c", 0.0078125f, NULL);
        el_gb_scalar_f32(&b, "d", 1.0f, NULL);
        el_gb_node(&b, "m2", "Mul", EL_IN("c", img));
        el_gb_node(&b, "std", "Sub", EL_IN("m2", "d"));
        img = "std";
    }
    const int64_t ws[4] = {c->k, c->k, c->ic, c->oc}, bs[1] = {c->oc}, wd[4] = {3, 3, c->oc, 1};
    const int64_t wp[4] = {1, 1, c->oc, c->poc}, bp[1] = {c->poc};
    el_gb_const_f32_rand(&b, "ws", 4, ws);
    el_gb_const_f32_rand(&b, "bs", 1, bs);
    el_gb_const_f32_rand(&b, "wd", 4, wd);
    el_gb_const_f32_rand(&b, "bd", 1, bs);
    int conv = el_gb_node(&b, "sc", "Conv2D", EL_IN(img, "ws"));
    el_gb_conv_attrs(&b, conv, c->stride);
    if (!c->same) el_gb_attr_str(&b, conv, "padding", "VALID");
    el_gb_node(&b, "sb", "BiasAdd", EL_IN("sc", "bs"));
    if (c->hswish) el_gb_hard_swish(&b, "sb", "s");
    else el_gb_node(&b, "s", "Relu6", EL_IN("sb"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "dc", "DepthwiseConv2dNative", EL_IN("s", "wd")), c->dstride);
    el_gb_node(&b, "db", "BiasAdd", EL_IN("dc", "bd"));
    el_gb_node(&b, c->poc ? "da" : "y", "Relu6", EL_IN("db"));
    if (c->poc) {
        el_gb_const_f32_rand(&b, "wp", 4, wp);
        el_gb_const_f32_rand(&b, "bp", 1, bp);
        el_gb_conv_attrs(&b, el_gb_node(&b, "pc", "Conv2D", EL_IN("da", "wp")), 1);
        el_gb_node(&b, c->residual ? "pb" : "y", "BiasAdd", EL_IN("pc", "bp"));
        if (c->residual) el_gb_node(&b, "y", "AddV2", EL_IN("pb", "s"));
    }
    if (split) el_gb_node(&b, "z", "Relu", EL_IN("s"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

/* An image of c's shape: bytes, or floats around 0..255 with a NaN, a -0
 * and infinities. */
static el_tensor el_case_input(const el_case *c)
{
    const int64_t d[4] = {c->n, c->h, c->w, c->ic};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, c->u8 ? EL_DT_UINT8 : EL_DT_FLOAT, 4, d), EL_OK);
    el_test_rand_seed(11);
    const int64_t n = el_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++) {
        if (c->u8) ((uint8_t *)t.data)[i] = (uint8_t)(i * 37 % 256);
        else ((float *)t.data)[i] = (el_test_frand() + 1.0f) * 128.0f;
    }
    if (!c->u8) {
        float *x = t.data;
        x[5] = NAN, x[n / 2] = -0.0f, x[n / 3] = INFINITY, x[n - 1] = -INFINITY;
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
    assert_int_equal(st.pw_dw_fused, 1);
    assert_int_equal(st.in_std_fused, c.std ? 1 : 0);
    /* The node left reads the image (or the Pad) and carries the first layer's attrs. */
    const el_node *y = el_test_find_node(og, "y");
    assert_non_null(y);
    assert_non_null(el_node_attr(y, EL_PWDW_NIN_ATTR));
    if (c.std) assert_non_null(el_node_attr(y, EL_PWDW_PREFIX EL_CONV_IN_STD_ATTR));
    if (c.residual) assert_non_null(el_node_attr(y, EL_PWDW_RES_ATTR));
    assert_null(el_test_find_node(og, "s"));
    el_graph_free(og);
    el_test_optimize_xy(g2, true, &st, NULL);
    assert_int_equal(st.pw_dw_fused, 0);
    el_tensor in = el_case_input(&c);
    char what[200];
    snprintf(what, sizeof what, "n %lld h %lld w %lld k %d stride %d ic %d oc %d same %d dstride %d std %d u8 %d pad %d poc %lld",
             (long long)c.n, (long long)c.h, (long long)c.w, c.k, c.stride, c.ic, c.oc, c.same, c.dstride, c.std, c.u8,
             c.pad, (long long)c.poc);
    el_test_xy_same_bits(g, g2, &in, what);
    el_tensor_release(&in);
    el_graph_free(g);
    el_graph_free(g2);
}

/* MobileNet v1's Conv2d_0 -> Conv2d_1_depthwise (uint8 image, standardised). */
static void test_mobilenet_v1(void **state)
{
    (void)state;
    el_check((el_case){.n = 1, .h = 17, .w = 150, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = true, .dstride = 1,
                       .std = true, .u8 = true});
    /* Two images, an odd width, the depthwise convolution at stride 2. */
    el_check((el_case){.n = 2, .h = 12, .w = 133, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = true, .dstride = 2,
                       .std = true, .u8 = true});
    /* The absorbed Pad (its border standardised too), VALID. */
    el_check((el_case){.n = 1, .h = 15, .w = 141, .k = 3, .stride = 2, .ic = 3, .oc = 24, .same = false, .dstride = 1,
                       .std = true, .u8 = true, .pad = true});
}

/* Float images, not standardised or standardised; stride 1; 5x5; hard swish; a projection after. */
static void test_forms(void **state)
{
    (void)state;
    el_check((el_case){.n = 1, .h = 9, .w = 131, .k = 3, .stride = 2, .ic = 3, .oc = 16, .same = true, .dstride = 1,
                       .hswish = true});
    el_check((el_case){.n = 1, .h = 11, .w = 67, .k = 5, .stride = 1, .ic = 2, .oc = 40, .same = true, .dstride = 2,
                       .std = true});
    el_check((el_case){.n = 2, .h = 8, .w = 70, .k = 3, .stride = 1, .ic = 4, .oc = 17, .same = false, .dstride = 1,
                       .std = true, .pad = true});
    el_check((el_case){.n = 1, .h = 13, .w = 129, .k = 3, .stride = 2, .ic = 3, .oc = 16, .same = true, .dstride = 1,
                       .std = true, .hswish = true, .poc = 24});
    /* Narrow rows: the first layer runs whole, then the depthwise convolution. */
    el_check((el_case){.n = 1, .h = 9, .w = 40, .k = 3, .stride = 2, .ic = 3, .oc = 32, .same = true, .dstride = 1,
                       .std = true, .u8 = true});
}

/* MobileNetV3's Conv -> expanded_conv: hard swish, then a depthwise
 * convolution and a 1x1 projection adding the first layer's output. */
static void test_residual(void **state)
{
    (void)state;
    el_check((el_case){.n = 1, .h = 15, .w = 131, .k = 3, .stride = 2, .ic = 3, .oc = 16, .same = true, .dstride = 1,
                       .std = true, .hswish = true, .poc = 16, .residual = true});
    /* Two images, odd sizes, rows in the ring's last and first slots, VALID first layer. */
    el_check((el_case){.n = 2, .h = 20, .w = 137, .k = 3, .stride = 2, .ic = 3, .oc = 24, .same = false, .dstride = 1,
                       .poc = 24, .residual = true});
    el_check((el_case){.n = 1, .h = 9, .w = 70, .k = 5, .stride = 1, .ic = 4, .oc = 33, .same = true, .dstride = 1,
                       .std = true, .u8 = true, .pad = true, .poc = 33, .residual = true});
    /* Narrow rows: the first layer runs whole, its output the Add's operand. */
    el_check((el_case){.n = 1, .h = 9, .w = 40, .k = 3, .stride = 2, .ic = 3, .oc = 16, .same = true, .dstride = 1,
                       .std = true, .hswish = true, .poc = 16, .residual = true});
}

/* Filters the stem kernel does not take (65 outputs, 5 input channels):
 * kept apart. */
static void test_not_fused(void **state)
{
    (void)state;
    el_case c = {.n = 1, .h = 9, .w = 70, .k = 3, .stride = 2, .ic = 3, .oc = 65, .same = true, .dstride = 1};
    el_graph *g = el_graph_of(&c, false);
    el_optimize_stats st;
    el_test_optimize_xy(g, false, &st, NULL);
    assert_int_equal(st.pw_dw_fused, 0);
    el_graph_free(g);
    c.ic = 5, c.oc = 32;
    g = el_graph_of(&c, false);
    el_test_optimize_xy(g, false, &st, NULL);
    assert_int_equal(st.pw_dw_fused, 0);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mobilenet_v1),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_residual),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
