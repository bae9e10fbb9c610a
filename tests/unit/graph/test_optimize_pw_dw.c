/* A 1x1 expansion run by the depthwise convolution reading it
 * (graph/optimize.c's el_opt_pw_dw, ops/conv.c's el_conv_pwdw): the fused
 * graph gives the bits of the same graph with a second reader of the
 * expansion's output (which keeps it apart), on every ISA (the ring of
 * expanded rows on AVX-512, the expansion first elsewhere and for narrow
 * rows), at 1 and 2 threads, with the depthwise convolution alone (as in
 * squeeze-excite blocks) or itself run by the projection reading it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef enum act { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_HSWISH } act;

typedef struct shape {
    int64_t n, h, w, ic, mc, oc, k, stride; /* oc 0: no projection */
    act ea, da;                            /* the expansion's and the depthwise activation (one hard swish) */
    bool residual;                         /* the projection adds x */
    bool lead_dw;                          /* x goes through a 3x3 depthwise convolution first (MobileNet v1) */
} shape;

/* name = act(src) */
static const char *el_act(el_gb *b, act a, const char *src, const char *name)
{
    if (a == ACT_RELU) el_gb_node(b, name, "Relu", EL_IN(src));
    else if (a == ACT_RELU6) el_gb_node(b, name, "Relu6", EL_IN(src));
    else if (a == ACT_HSWISH) el_gb_hard_swish(b, src, name);
    return a == ACT_NONE ? src : name;
}

/* e = ea(BiasAdd(Conv2D(x, 1x1))), d = da(BiasAdd(DepthwiseConv2dNative(e))),
 * y = d, or BiasAdd(Conv2D(d, 1x1)) (+ x); z = Relu(e) when split. */
static el_graph *el_graph_of(const shape *s, bool split)
{
    el_test_rand_seed(99);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    int64_t we[4] = {1, 1, s->ic, s->mc}, be[1] = {s->mc}, wd[4] = {s->k, s->k, s->mc, 1};
    int64_t wp[4] = {1, 1, s->mc, s->oc}, bp[1] = {s->oc};
    el_gb_const_f32_rand(&b, "we", 4, we);
    el_gb_const_f32_rand(&b, "be", 1, be);
    el_gb_const_f32_rand(&b, "wd", 4, wd);
    el_gb_const_f32_rand(&b, "bd", 1, be);
    const char *x = "x";
    if (s->lead_dw) {
        int64_t w0[4] = {3, 3, s->ic, 1}, b0[1] = {s->ic};
        el_gb_const_f32_rand(&b, "w0", 4, w0);
        el_gb_const_f32_rand(&b, "b0", 1, b0);
        el_gb_conv_attrs(&b, el_gb_node(&b, "c0", "DepthwiseConv2dNative", EL_IN("x", "w0")), 1);
        el_gb_node(&b, "x0", "BiasAdd", EL_IN("c0", "b0"));
        x = el_act(&b, ACT_RELU6, "x0", "a0");
    }
    el_gb_conv_attrs(&b, el_gb_node(&b, "ec", "Conv2D", EL_IN(x, "we")), 1);
    el_gb_node(&b, "eb", "BiasAdd", EL_IN("ec", "be"));
    const char *e = el_act(&b, s->ea, "eb", "ea");
    el_gb_conv_attrs(&b, el_gb_node(&b, "dc", "DepthwiseConv2dNative", EL_IN(e, "wd")), s->stride);
    const char *db = s->oc || s->da != ACT_NONE ? "db" : "y";
    el_gb_node(&b, db, "BiasAdd", EL_IN("dc", "bd"));
    const char *d = el_act(&b, s->da, db, s->oc ? "da" : "y");
    if (s->oc) {
        el_gb_const_f32_rand(&b, "wp", 4, wp);
        el_gb_const_f32_rand(&b, "bp", 1, bp);
        el_gb_conv_attrs(&b, el_gb_node(&b, "pc", "Conv2D", EL_IN(d, "wp")), 1);
        el_gb_node(&b, s->residual ? "pb" : "y", "BiasAdd", EL_IN("pc", "bp"));
        if (s->residual) el_gb_node(&b, "y", "AddV2", EL_IN("pb", "x"));
    }
    if (split) el_gb_node(&b, "z", "Relu", EL_IN(e));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run(const el_graph *g, bool split, const shape *s, int threads, el_precision prec)
{
    int64_t xd[4] = {s->n, s->h, s->w, s->ic};
    el_session_opts so = {.threads = threads, .precision = prec};
    return el_test_run_xy_random(g, 4, xd, split, &so);
}

static void el_check(shape s)
{
    el_graph *g = el_graph_of(&s, false), *g2 = el_graph_of(&s, true);
    el_optimize_stats st;
    el_graph *og;
    el_test_optimize_xy(g, false, &st, &og);
    assert_non_null(og);
    /* A leading depthwise convolution is run by the expansion reading it
     * unless the expansion widens its input (el_opt_dw_pw leaves it to
     * el_opt_pw_dw then). */
    const bool lead_pw = s.lead_dw && s.mc <= s.ic;
    assert_int_equal(st.pw_dw_fused, lead_pw ? 0 : 1);
    assert_int_equal(st.dw_pw_fused, (s.oc ? 1 : 0) + (lead_pw ? 1 : 0));
    /* One convolution node is left (two with a leading depthwise one). */
    int convs = 0;
    for (int i = 0; i < og->nnodes; i++) convs += strstr(og->nodes[i].op, "Conv") != NULL;
    assert_int_equal(convs, s.lead_dw ? 2 : 1);
    el_graph_free(og);
    static const int isas[] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if (isas[i] > (int)el_isa_available()) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor a = el_run(g, false, &s, threads, EL_PRECISION_FP32), b = el_run(g2, true, &s, threads, EL_PRECISION_FP32);
            el_test_assert_shape(&a, b.ndim, b.dims);
            if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
                fail_msg("n %lld h %lld w %lld ic %lld mc %lld oc %lld k %lld stride %lld isa %d threads %d: fused "
                         "and separate differ",
                         (long long)s.n, (long long)s.h, (long long)s.w, (long long)s.ic, (long long)s.mc,
                         (long long)s.oc, (long long)s.k, (long long)s.stride, isas[i], threads);
            el_tensor_release(&a);
            el_tensor_release(&b);
        }
    }
    el_conv_force_isa(-1);
    /* bf16: the expansion's filter is converted too, and runs first with
     * the bf16 kernels (the same bits as the separate node). */
    for (int threads = 1; threads <= 2 && el_precision_check(EL_PRECISION_BF16) == EL_OK; threads++) {
        el_tensor a = el_run(g, false, &s, threads, EL_PRECISION_BF16), b = el_run(g2, true, &s, threads, EL_PRECISION_BF16);
        el_test_assert_shape(&a, b.ndim, b.dims);
        if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
            fail_msg("w %lld ic %lld mc %lld oc %lld bf16 threads %d: fused and separate differ", (long long)s.w,
                     (long long)s.ic, (long long)s.mc, (long long)s.oc, threads);
        el_tensor_release(&a);
        el_tensor_release(&b);
    }
    el_graph_free(g);
    el_graph_free(g2);
}

static void test_kernels(void **state)
{
    (void)state;
    /* MobileNetV3's expanded_conv_1: stride 2, an even height. */
    el_check((shape){.n = 1, .h = 10, .w = 70, .ic = 16, .mc = 64, .oc = 24, .k = 3, .stride = 2, .ea = ACT_RELU});
    /* A residual block, stride 1, two images (the ring starts again). */
    el_check((shape){.n = 2, .h = 9, .w = 72, .ic = 24, .mc = 72, .oc = 24, .k = 3, .stride = 1, .ea = ACT_RELU6,
                     .da = ACT_RELU6, .residual = true});
    /* 5x5, hard swish after the expansion, a masked channel vector. */
    el_check((shape){.n = 1, .h = 11, .w = 65, .ic = 40, .mc = 120, .oc = 40, .k = 5, .stride = 1,
                     .ea = ACT_HSWISH, .da = ACT_RELU});
    /* The depthwise convolution alone (squeeze-excite reads it): odd height, stride 2, 5x5. */
    el_check((shape){.n = 1, .h = 9, .w = 69, .ic = 32, .mc = 96, .k = 5, .stride = 2, .ea = ACT_RELU,
                     .da = ACT_HSWISH});
    el_check((shape){.n = 2, .h = 7, .w = 66, .ic = 24, .mc = 48, .k = 3, .stride = 1});
    /* A narrow expansion (8 channels: the narrow kernel), CenterNet's reverse blocks. */
    el_check((shape){.n = 1, .h = 8, .w = 64, .ic = 32, .mc = 8, .oc = 64, .k = 3, .stride = 1, .ea = ACT_RELU});
    /* Narrow rows: the expansion first (under 64 pixels; under 32 the
     * depthwise and projection one after the other too). */
    el_check((shape){.n = 1, .h = 9, .w = 16, .ic = 24, .mc = 72, .oc = 24, .k = 3, .stride = 1, .ea = ACT_RELU});
    el_check((shape){.n = 1, .h = 9, .w = 40, .ic = 24, .mc = 72, .k = 3, .stride = 2, .ea = ACT_RELU});
    /* Rows enough for both threads to take several chunks (the caller's
     * from the first row on, the worker's from the last one back), the
     * halves meeting inside an image. */
    el_check((shape){.n = 2, .h = 37, .w = 64, .ic = 16, .mc = 32, .oc = 16, .k = 3, .stride = 1, .ea = ACT_RELU6});
    el_check((shape){.n = 1, .h = 41, .w = 66, .ic = 16, .mc = 32, .oc = 24, .k = 5, .stride = 2, .ea = ACT_RELU});
}

/* MobileNet v1: depthwise, 1x1 widening (32 -> 64 channels at 150x150),
 * stride-2 depthwise, 1x1: the widening 1x1 runs inside the second
 * depthwise node, the first depthwise alone; a 1x1 that does not widen
 * runs the depthwise convolution before it as usual. */
static void test_after_depthwise(void **state)
{
    (void)state;
    el_check((shape){.n = 1, .h = 10, .w = 70, .ic = 16, .mc = 32, .oc = 32, .k = 3, .stride = 2, .ea = ACT_RELU6,
                     .da = ACT_RELU6, .lead_dw = true});
    el_check((shape){.n = 1, .h = 9, .w = 66, .ic = 16, .mc = 48, .k = 3, .stride = 1, .ea = ACT_RELU6,
                     .lead_dw = true});
    el_check((shape){.n = 1, .h = 9, .w = 66, .ic = 32, .mc = 32, .oc = 48, .k = 3, .stride = 1, .ea = ACT_RELU6,
                     .da = ACT_RELU6, .lead_dw = true});
}

/* A second reader of the expansion keeps it apart. */
static void test_not_fused(void **state)
{
    (void)state;
    shape s = {.n = 1, .h = 9, .w = 40, .ic = 24, .mc = 72, .oc = 24, .k = 3, .stride = 1, .ea = ACT_RELU};
    el_graph *g = el_graph_of(&s, true);
    el_optimize_stats st;
    el_test_optimize_xy(g, true, &st, NULL);
    assert_int_equal(st.pw_dw_fused, 0);
    assert_int_equal(st.dw_pw_fused, 1);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_after_depthwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
