/* What graph/optimize.c's el_opt_conv_tail hands to a convolution's
 * epilogue besides Conv2D's hard swish (test_optimize_conv_hswish.c): an
 * Add of the convolution and another tensor (a residual, a second branch,
 * a broadcast operand), a Sigmoid, and a hard swish or an Add after a
 * depthwise convolution. Each fused graph must give the bits of the same
 * graph with a second reader of the convolution (which keeps the two
 * nodes apart), on every ISA (the fast kernels apply the operation per
 * tile, the others after; the reference loops on EL_ISA_REF), at 1 and 2
 * threads, for the shapes that reach each kernel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef enum tail {
    TAIL_ADD_INPUT,  /* Add(conv, x): a residual */
    TAIL_ADD_CONV,   /* Add(conv, conv2): two branches, both fusable */
    TAIL_ADD_BCAST,  /* AddV2(Mean(x), conv): broadcast, the operand first */
    TAIL_SIGMOID,    /* Sigmoid(conv) */
    TAIL_HSWISH,     /* hard swish (Mul, Add, Relu6, Mul) after a depthwise convolution */
} tail;

/* BiasAdd(conv(x, w), b) named "bias", then the tail as "y"; z = Relu(bias)
 * when `split`. conv is Conv2D, or DepthwiseConv2dNative when dw. */
static void el_conv_node(el_gb *b, const char *sfx, int64_t ic, int64_t oc, int64_t k, bool dw)
{
    char w[16], bn[16], conv[16], bias[16];
    snprintf(w, sizeof w, "w%s", sfx);
    snprintf(bn, sizeof bn, "b%s", sfx);
    snprintf(conv, sizeof conv, "conv%s", sfx);
    snprintf(bias, sizeof bias, "bias%s", sfx);
    int64_t wd[4] = {k, k, ic, dw ? 1 : oc}, bd[1] = {dw ? ic : oc};
    el_gb_const_f32_rand(b, w, 4, wd);
    el_gb_const_f32_rand(b, bn, 1, bd);
    el_gb_conv_attrs(b, el_gb_node(b, conv, dw ? "DepthwiseConv2dNative" : "Conv2D", EL_IN("x", w)), 1);
    el_gb_node(b, bias, "BiasAdd", EL_IN(conv, bn));
}

static el_graph *el_graph_of(tail t, int64_t ic, int64_t oc, int64_t k, bool dw, bool split)
{
    el_test_rand_seed(99);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_conv_node(&b, "", ic, oc, k, dw);
    switch (t) {
    case TAIL_ADD_INPUT: el_gb_node(&b, "y", "Add", EL_IN("bias", "x")); break;
    case TAIL_ADD_CONV:
        el_conv_node(&b, "2", ic, oc, k, dw);
        el_gb_node(&b, "y", "AddV2", EL_IN("bias", "bias2"));
        break;
    case TAIL_ADD_BCAST: {
        const int32_t axes[2] = {1, 2};
        el_gb_const_i32(&b, "axes", 2, axes, NULL);
        int m = el_gb_node(&b, "mean", "Mean", EL_IN("x", "axes"));
        el_gb_attr_bool(&b, m, "keep_dims", true);
        el_gb_attr_type(&b, m, "T", EL_DT_FLOAT);
        el_gb_node(&b, "y", "AddV2", EL_IN("mean", "bias"));
        break;
    }
    case TAIL_SIGMOID: el_gb_node(&b, "y", "Sigmoid", EL_IN("bias")); break;
    case TAIL_HSWISH: el_gb_hard_swish(&b, "bias", "y"); break;
    }
    if (split) el_gb_node(&b, "z", "Relu", EL_IN("bias"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run(const el_graph *g, bool split, int64_t ic, int threads)
{
    int64_t xd[4] = {1, 7, 9, ic};
    el_session_opts so = {.threads = threads};
    return el_test_run_xy_random(g, 4, xd, split, &so);
}

static void el_check(tail t, int64_t ic, int64_t oc, int64_t k, bool dw)
{
    el_graph *g = el_graph_of(t, ic, oc, k, dw, false), *g2 = el_graph_of(t, ic, oc, k, dw, true);
    el_optimize_stats st;
    el_graph *og;
    el_test_optimize_xy(g, false, &st, &og);
    assert_non_null(og);
    int fused = t == TAIL_HSWISH ? st.hswish_conv_fused : t == TAIL_SIGMOID ? st.sigmoid_conv_fused : st.add_conv_fused;
    assert_int_equal(fused, 1);
    const el_node *y = &og->nodes[el_graph_find(og, "y")];
    assert_string_equal(y->op, dw ? "FusedDepthwiseConv2dNative" : "_FusedConv2D");
    el_graph_free(og);
    static const int isas[] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if (isas[i] > (int)el_isa_available()) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor a = el_run(g, false, ic, threads), b = el_run(g2, true, ic, threads);
            el_test_assert_shape(&a, b.ndim, b.dims);
            if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
                fail_msg("tail %d ic %lld oc %lld k %lld dw %d isa %d threads %d: fused and separate differ", (int)t,
                         (long long)ic, (long long)oc, (long long)k, (int)dw, isas[i], threads);
            el_tensor_release(&a);
            el_tensor_release(&b);
        }
    }
    el_conv_force_isa(-1);
    el_graph_free(g);
    el_graph_free(g2);
}

static void test_add(void **state)
{
    (void)state;
    el_check(TAIL_ADD_INPUT, 24, 24, 1, false);   /* packed GEMM: MobileNetV3's residual */
    el_check(TAIL_ADD_INPUT, 40, 40, 3, false);   /* packed, two panels, an edge tile */
    el_check(TAIL_ADD_INPUT, 4, 4, 3, false);     /* narrow (<= 8 outputs) */
    el_check(TAIL_ADD_CONV, 1900, 9, 3, false);   /* K = 17100: the indirect GEMM, added after */
    el_check(TAIL_ADD_CONV, 16, 64, 1, false);    /* CenterNet's two upsampling branches */
    el_check(TAIL_ADD_BCAST, 24, 24, 1, false);   /* [1,1,1,24] + conv: broadcast after */
    el_check(TAIL_ADD_INPUT, 40, 40, 3, true);    /* depthwise, tiled rows */
    el_check(TAIL_ADD_INPUT, 40, 40, 2, true);    /* depthwise, pixel by pixel */
}

static void test_sigmoid(void **state)
{
    (void)state;
    el_check(TAIL_SIGMOID, 32, 80, 1, false); /* CenterNet's heatmap */
    el_check(TAIL_SIGMOID, 32, 3, 3, false);  /* narrow */
}

static void test_depthwise_hswish(void **state)
{
    (void)state;
    el_check(TAIL_HSWISH, 40, 40, 3, true);  /* tiled rows, a masked channel vector */
    el_check(TAIL_HSWISH, 200, 200, 5, true); /* two channel chunks */
    el_check(TAIL_HSWISH, 24, 24, 2, true);  /* pixel by pixel */
}

/* A second reader of the convolution keeps the Add separate. */
static void test_not_fused(void **state)
{
    (void)state;
    el_graph *g = el_graph_of(TAIL_ADD_INPUT, 16, 16, 1, false, true);
    el_optimize_stats st;
    el_test_optimize_xy(g, true, &st, NULL);
    assert_int_equal(st.add_conv_fused, 0);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_depthwise_hswish),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
