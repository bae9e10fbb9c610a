/* A depthwise convolution run by the 1x1 convolution reading it
 * (graph/optimize.c's el_opt_dw_pw, ops/conv.c's el_conv_dwpw): the fused
 * graph gives the bits of the same graph with a second reader of the
 * depthwise output (which keeps the two nodes apart), on every ISA (the
 * row-at-a-time kernels on AVX-512, the two nodes' kernels one after the
 * other elsewhere and for narrow rows), at 1 and 2 threads, with the
 * epilogues MobileNet and CenterNet give either side. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_bf16.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef enum dw_act { DW_NONE, DW_RELU6, DW_HSWISH } dw_act;
typedef enum pw_tail { PW_BIAS, PW_ADD_INPUT, PW_SIGMOID } pw_tail;

typedef struct shape {
    int64_t w, ic, oc, k, stride;
    dw_act act;
    pw_tail tail;
} shape;

/* dw = act(BiasAdd(DepthwiseConv2dNative(x))), y = tail(BiasAdd(Conv2D(dw,
 * 1x1))); z = Relu(dw) when split. */
static el_graph *el_graph_of(const shape *s, bool split)
{
    el_test_rand_seed(99);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    int64_t wd[4] = {s->k, s->k, s->ic, 1}, bd[1] = {s->ic}, pd[4] = {1, 1, s->ic, s->oc}, pb[1] = {s->oc};
    el_gb_const_f32_rand(&b, "wd", 4, wd);
    el_gb_const_f32_rand(&b, "bd", 1, bd);
    el_gb_const_f32_rand(&b, "wp", 4, pd);
    el_gb_const_f32_rand(&b, "bp", 1, pb);
    el_gb_conv_attrs(&b, el_gb_node(&b, "dwc", "DepthwiseConv2dNative", EL_IN("x", "wd")), s->stride);
    const char *dw = "dwb";
    el_gb_node(&b, "dwb", "BiasAdd", EL_IN("dwc", "bd"));
    if (s->act == DW_RELU6) {
        el_gb_node(&b, "dwa", "Relu6", EL_IN("dwb"));
        dw = "dwa";
    } else if (s->act == DW_HSWISH) {
        el_gb_hard_swish(&b, "dwb", "dwa");
        dw = "dwa";
    }
    el_gb_conv_attrs(&b, el_gb_node(&b, "pwc", "Conv2D", EL_IN(dw, "wp")), 1);
    const char *last = s->tail == PW_BIAS ? "y" : "pwb";
    el_gb_node(&b, last, "BiasAdd", EL_IN("pwc", "bp"));
    if (s->tail == PW_ADD_INPUT) el_gb_node(&b, "y", "AddV2", EL_IN("pwb", "x"));
    if (s->tail == PW_SIGMOID) el_gb_node(&b, "y", "Sigmoid", EL_IN("pwb"));
    if (split) el_gb_node(&b, "z", "Relu", EL_IN(dw));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run_p(const el_graph *g, bool split, const shape *s, int threads, el_precision p)
{
    int64_t xd[4] = {1, 9, s->w, s->ic};
    el_session_opts so = {.threads = threads, .precision = p};
    return el_test_run_xy_random(g, 4, xd, split, &so);
}

static el_tensor el_run(const el_graph *g, bool split, const shape *s, int threads)
{
    return el_run_p(g, split, s, threads, EL_PRECISION_FP32);
}

static void el_check(shape s)
{
    el_graph *g = el_graph_of(&s, false), *g2 = el_graph_of(&s, true);
    el_optimize_stats st;
    el_graph *og;
    el_test_optimize_xy(g, false, &st, &og);
    assert_non_null(og);
    assert_int_equal(st.dw_pw_fused, 1);
    assert_string_equal(og->nodes[el_graph_find(og, "y")].op, "_FusedConv2D");
    el_graph_free(og);
    static const int isas[] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if (isas[i] > (int)el_isa_available()) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor a = el_run(g, false, &s, threads), b = el_run(g2, true, &s, threads);
            el_test_assert_shape(&a, b.ndim, b.dims);
            if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
                fail_msg("w %lld ic %lld oc %lld k %lld stride %lld act %d tail %d isa %d threads %d: fused and "
                         "separate differ",
                         (long long)s.w, (long long)s.ic, (long long)s.oc, (long long)s.k, (long long)s.stride,
                         (int)s.act, (int)s.tail, isas[i], threads);
            el_tensor_release(&a);
            el_tensor_release(&b);
        }
    }
    el_conv_force_isa(-1);
    el_graph_free(g);
    el_graph_free(g2);
}

static void test_kernels(void **state)
{
    (void)state;
    el_check((shape){.w = 40, .ic = 24, .oc = 40, .k = 3, .stride = 1, .act = DW_RELU6});  /* packed, two panels */
    el_check((shape){.w = 70, .ic = 72, .oc = 24, .k = 3, .stride = 2, .act = DW_RELU6});  /* stride 2 */
    el_check((shape){.w = 40, .ic = 32, .oc = 32, .k = 5, .tail = PW_ADD_INPUT, .stride = 1}); /* 5x5, residual */
    el_check((shape){.w = 33, .ic = 40, .oc = 48, .k = 3, .stride = 1, .act = DW_HSWISH}); /* hard swish, masked vector */
    el_check((shape){.w = 40, .ic = 32, .oc = 4, .k = 3, .stride = 1});                    /* narrow 1x1 */
    el_check((shape){.w = 40, .ic = 24, .oc = 80, .k = 3, .stride = 1, .tail = PW_SIGMOID}); /* CenterNet's heatmap */
    el_check((shape){.w = 16, .ic = 24, .oc = 40, .k = 3, .stride = 1, .act = DW_RELU6});  /* narrow rows: one after the other */
}

/* A bf16 / bf16x3 1x1 on rows of 128 pixels or more runs a row at a time
 * too (el_bf16_rows): the bits of the whole-tensor bf16 kernels, on every
 * bf16 ISA, with and without the AVX-512 row kernels. */
static void test_bf16_rows(void **state)
{
    (void)state;
    static const shape shapes[] = {
        {.w = 128, .ic = 128, .oc = 80, .k = 3, .stride = 1, .tail = PW_SIGMOID}, /* CenterNet's heatmap */
        {.w = 130, .ic = 136, .oc = 40, .k = 3, .stride = 1, .act = DW_RELU6},    /* a partial tile, k past 128 */
        {.w = 128, .ic = 128, .oc = 48, .k = 3, .stride = 1, .tail = PW_ADD_INPUT},
    };
    static const el_precision precs[] = {EL_PRECISION_BF16, EL_PRECISION_BF16X3};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        shape s = shapes[si];
        if (s.tail == PW_ADD_INPUT) s.oc = s.ic;
        el_graph *g = el_graph_of(&s, false), *g2 = el_graph_of(&s, true);
        /* Sessions refuse bf16 without AVX512-BF16 and bf16x3 without AMX. */
        for (int bi = (int)el_bf16_isa_available(); bi >= EL_BF16_AVX512; bi--)
            for (int ci = EL_ISA_AVX512; ci >= EL_ISA_AVX2; ci--) {
                if (ci > (int)el_isa_available()) continue;
                el_bf16_force_isa(bi);
                el_conv_force_isa(ci);
                for (size_t pi = 0; pi < 2; pi++) {
                    if (precs[pi] == EL_PRECISION_BF16X3 && bi != EL_BF16_AMX) continue;
                    for (int threads = 1; threads <= 2; threads++) {
                        el_tensor a = el_run_p(g, false, &s, threads, precs[pi]);
                        el_tensor b = el_run_p(g2, true, &s, threads, precs[pi]);
                        el_test_assert_shape(&a, b.ndim, b.dims);
                        if (memcmp(a.data, b.data, el_tensor_nbytes(&b)))
                            fail_msg("shape %zu bf16 isa %d isa %d precision %d threads %d: fused and separate differ",
                                     si, bi, ci, (int)precs[pi], threads);
                        el_tensor_release(&a);
                        el_tensor_release(&b);
                    }
                }
            }
        el_bf16_force_isa(-1);
        el_conv_force_isa(-1);
        el_graph_free(g);
        el_graph_free(g2);
    }
}

/* A second reader of the depthwise output keeps the two apart. */
static void test_not_fused(void **state)
{
    (void)state;
    shape s = {.w = 40, .ic = 24, .oc = 40, .k = 3, .stride = 1};
    el_graph *g = el_graph_of(&s, true);
    el_optimize_stats st;
    el_test_optimize_xy(g, true, &st, NULL);
    assert_int_equal(st.dw_pw_fused, 0);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels),
        cmocka_unit_test(test_bf16_rows),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
