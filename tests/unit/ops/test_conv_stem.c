/* The few-input-channel Conv2D kernel (ops/conv_stem.c: first layers, 1-4
 * input channels, up to 64 outputs) against the reference kernel: the
 * first layers of CenterNet, handtrack and FaceBoxes and random shapes
 * (windows, strides, dilations, padding, output depths not a multiple of
 * 16), HWIO and packed filters, bias / Relu / Relu6 / hard swish
 * epilogues, 1 and 3 threads (the same bits), and the same shapes with
 * AVX2 forced (the kernels that run where this one declines); the hard
 * swish it applies in registers giving the bits of the hard swish kernel;
 * pixels next to the padding (summed through per-tap pointers) giving the
 * bits of the same pixels inside an explicitly padded input; a NaN input
 * as the reference; and the shapes it declines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/conv_stem.h"
#include "ops/gemm.h"
#include "ops/unary_fast.h"
#include "testutil.h"

typedef struct el_cs {
    int64_t n, h, w, ic, oc, k, s, d;
    const char *pad;
    const char *act; /* NULL: BiasAdd only; "_ElHardSwish": with its two scalars */
} el_cs;

static el_test_lcg el_rng = {90210};

static el_tensor el_scalar(float v)
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 0, NULL), EL_OK);
    *(float *)t.data = v;
    return t;
}

/* in: x, w, bias, and with hard swish its m and a. */
static el_status el_cs_run(const el_cs *c, el_tensor *in, el_tensor *out, bool packed)
{
    el_test_node tn;
    el_test_node_init(&tn, "_FusedConv2D");
    int64_t strides[4] = {1, c->s, c->s, 1}, dil[4] = {1, c->d, c->d, 1};
    el_test_attr_ints(&tn, "strides", 4, strides);
    el_test_attr_ints(&tn, "dilations", 4, dil);
    el_test_attr_str(&tn, "padding", c->pad);
    const char *ops[2] = {"BiasAdd", c->act};
    el_test_attr_strs(&tn, "fused_ops", c->act ? 2 : 1, ops);
    const int nin = c->act && !strcmp(c->act, "_ElHardSwish") ? 5 : 3;
    if (!packed) return el_test_run(&tn, nin, in, 1, out);
    el_test_attr_str(&tn, EL_FILTER_LAYOUT_ATTR, el_filter_layout_name(EL_FILTER_F32_P32));
    el_test_attr_int(&tn, EL_FILTER_OC_ATTR, c->oc);
    el_tensor pin[5];
    memcpy(pin, in, sizeof(el_tensor) * (size_t)nin);
    assert_int_equal(el_filter_pack(&in[1], EL_FILTER_F32_P32, &pin[1]), EL_OK);
    el_status s = el_test_run(&tn, nin, pin, 1, out);
    el_tensor_release(&pin[1]);
    return s;
}

static void el_cs_check(const el_cs *c, bool with_nan)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->ic}, wd[4] = {c->k, c->k, c->ic, c->oc}, bd[1] = {c->oc};
    el_tensor in[5] = {el_test_rand_tensor(&el_rng, 4, xd), el_test_rand_tensor(&el_rng, 4, wd),
                       el_test_rand_tensor(&el_rng, 1, bd), el_scalar(1.0f / 6.0f), el_scalar(3.0f)};
    if (with_nan) ((float *)in[0].data)[el_tensor_numel(&in[0]) / 2] = NAN;
    el_conv_force_isa(EL_ISA_REF);
    el_tensor ref;
    assert_int_equal(el_cs_run(c, in, &ref, false), EL_OK);
    el_conv_force_isa(-1);
    el_threadpool *pool3;
    assert_int_equal(el_threadpool_create(3, &pool3), EL_OK);
    float tol = 2e-6f * (float)(c->k * c->k * c->ic) + 1e-5f;
    /* packed 0 / 1: HWIO / packed filter on the best ISA; 2: HWIO with AVX2 forced (the other kernels). */
    for (int mode = 0; mode < 3; mode++) {
        const bool packed = mode == 1;
        el_conv_force_isa(mode == 2 ? EL_ISA_AVX2 : -1);
        el_tensor one, three;
        assert_int_equal(el_cs_run(c, in, &one, packed), EL_OK);
        char what[160];
        snprintf(what, sizeof what, "%s %lldx%lldx%lldx%lld k%lld s%lld d%lld oc %lld %s %s", packed ? "packed" : "HWIO",
                 (long long)c->n, (long long)c->h, (long long)c->w, (long long)c->ic, (long long)c->k, (long long)c->s,
                 (long long)c->d, (long long)c->oc, c->pad, c->act ? c->act : "-");
        el_test_assert_close_rel(&one, &ref, tol, what);
        el_threadpool *prev = el_threadpool_set_current(pool3);
        assert_int_equal(el_cs_run(c, in, &three, packed), EL_OK);
        el_threadpool_set_current(prev);
        assert_memory_equal(one.data, three.data, el_tensor_nbytes(&one));
        el_tensor_release(&one);
        el_tensor_release(&three);
    }
    el_conv_force_isa(-1);
    el_threadpool_free(pool3);
    el_tensor_release(&ref);
    el_test_release_all(5, in);
}

/* The kernel takes exactly the shapes it claims (and nothing else; nothing
 * at all without AVX-512). */
static void test_takes(void **state)
{
    (void)state;
    const bool avx512 = el_isa_available() == EL_ISA_AVX512;
    el_conv_geom g = {.n = 1, .ic = 3, .fic = 3, .oc = 64, .groups = 1};
    g.h = g.w = (el_window_axis){.in = 4, .out = 2, .k = 3, .stride = 2, .dilation = 1, .pad_after = 1};
    static float x[4 * 4 * 5], w[9 * 5 * 65], y[4 * 65];
    el_conv_epi e = {.hi = INFINITY};
    assert_true(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, y) == avx512);
    g.oc = 65;
    assert_false(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, y));
    g.oc = 16, g.ic = g.fic = 5;
    assert_false(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, y));
    /* 1x1 convolutions stay with the GEMMs (the row-streaming fusions call those). */
    g.ic = g.fic = 3;
    g.h = g.w = (el_window_axis){.in = 4, .out = 4, .k = 1, .stride = 1, .dilation = 1};
    assert_false(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, y));
    el_conv_force_isa(EL_ISA_AVX2);
    g.h = g.w = (el_window_axis){.in = 4, .out = 2, .k = 3, .stride = 2, .dilation = 1, .pad_after = 1};
    assert_false(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, y));
    el_conv_force_isa(-1);
}

static void test_first_layers(void **state)
{
    (void)state;
    const el_cs cases[] = {
        {1, 64, 64, 3, 16, 3, 2, 1, "SAME", "_ElHardSwish"}, /* CenterNet's first layer (at 1/8 size) */
        {1, 40, 40, 3, 32, 3, 2, 1, "SAME", "Relu6"},        /* handtrack's (at 1/8 size) */
        {1, 64, 80, 3, 24, 7, 4, 1, "SAME", NULL},           /* FaceBoxes' (at 1/8 size) */
        {2, 9, 7, 3, 8, 3, 1, 1, "SAME", "Relu"},
        {1, 11, 13, 1, 48, 5, 2, 2, "SAME", "Relu6"},
        {1, 9, 9, 4, 64, 3, 2, 1, "VALID", "_ElHardSwish"},
        {1, 3, 40, 2, 40, 2, 1, 1, "VALID", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) el_cs_check(&cases[i], false);
}

static void test_random_shapes(void **state)
{
    (void)state;
    static const char *const acts[4] = {NULL, "Relu", "Relu6", "_ElHardSwish"};
    for (int it = 0; it < 80; it++) {
        el_cs c = {el_test_pick(&el_rng, 1, 2), el_test_pick(&el_rng, 1, 30), el_test_pick(&el_rng, 1, 40),
                   el_test_pick(&el_rng, 1, 4), el_test_pick(&el_rng, 1, 64), el_test_pick(&el_rng, 2, 7),
                   el_test_pick(&el_rng, 1, 4), el_test_pick(&el_rng, 0, 3) == 0 ? 2 : 1,
                   el_test_pick(&el_rng, 0, 1) ? "SAME" : "VALID", acts[el_test_pick(&el_rng, 0, 3)]};
        if (!strcmp(c.pad, "VALID") && (c.k - 1) * c.d + 1 > (c.h < c.w ? c.h : c.w)) continue;
        el_cs_check(&c, false);
    }
}

/* A NaN input: NaN outputs without an activation, 0 after Relu, as the reference. */
static void test_nan(void **state)
{
    (void)state;
    el_cs c = {1, 12, 12, 3, 16, 3, 2, 1, "SAME", NULL};
    el_cs_check(&c, true);
    c.act = "Relu";
    el_cs_check(&c, true);
}

/* Kernel-level bits: the pixels of a SAME convolution (borders through the
 * edge path) equal those of a VALID one over the input padded by hand
 * (every window inside); hard swish in registers equals the hard swish
 * kernel run after the convolution. */
static void test_bits(void **state)
{
    (void)state;
    if (el_isa_available() != EL_ISA_AVX512) return; /* nothing runs without it (test_takes) */
    enum { H = 21, W = 45, IC = 3, K = 3, OH = 11, OW = 23, PH = 2 * (OH - 1) + K, PW = 2 * (OW - 1) + K };
    for (int64_t oc = 1; oc <= EL_CONV_STEM_MAX_OC; oc += 7) {
        static float x[H * W * IC], xp[PH * PW * IC], w[K * K * IC * 64], bias[64], same[OH * OW * 64],
            valid[OH * OW * 64], hs[OH * OW * 64];
        for (int i = 0; i < H * W * IC; i++) x[i] = el_test_unit(&el_rng);
        for (int i = 0; i < K * K * IC * 64; i++) w[i] = el_test_unit(&el_rng);
        for (int i = 0; i < 64; i++) bias[i] = el_test_unit(&el_rng);
        /* SAME at stride 2: padding 0 before, 1 after in both axes here. */
        memset(xp, 0, sizeof xp);
        for (int r = 0; r < H; r++) memcpy(xp + r * PW * IC, x + r * W * IC, sizeof(float) * W * IC);
        el_conv_geom g = {.n = 1, .ic = IC, .fic = IC, .oc = oc, .groups = 1};
        g.h = (el_window_axis){.in = H, .out = OH, .k = K, .stride = 2, .dilation = 1, .pad_after = PH - H};
        g.w = (el_window_axis){.in = W, .out = OW, .k = K, .stride = 2, .dilation = 1, .pad_after = PW - W};
        el_conv_epi e = {.bias = bias, .hi = INFINITY};
        assert_true(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &e, same));
        el_conv_geom v = g;
        v.h.in = PH, v.w.in = PW, v.h.pad_after = v.w.pad_after = 0;
        assert_true(el_conv2d_stem(&v, xp, w, EL_FILTER_HWIO, &e, valid));
        assert_memory_equal(same, valid, sizeof(float) * (size_t)(OH * OW * oc));
        el_conv_epi eh = {.bias = bias, .hi = INFINITY, .hswish = true, .hs_mul = 1.0f / 6.0f, .hs_add = 3.0f,
                          .y0 = hs};
        assert_true(el_conv2d_stem(&g, x, w, EL_FILTER_HWIO, &eh, hs));
        el_hard_swish_f32_rows(same, 1, OH * OW * oc, OH * OW * oc, 1.0f / 6.0f, 3.0f);
        assert_memory_equal(same, hs, sizeof(float) * (size_t)(OH * OW * oc));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes),
        cmocka_unit_test(test_first_layers),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
