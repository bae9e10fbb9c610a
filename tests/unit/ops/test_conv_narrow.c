/* The narrow-output Conv2D kernel (ops/conv_narrow.c: up to 8 output
 * channels, vectorized over the input channels) against the reference
 * kernel: detection-head shapes and random ones (windows, strides,
 * dilations, padding, input depths not a multiple of 16), HWIO and packed
 * filters, bias / Relu / Relu6 epilogues, 1 and 3 threads (the same bits),
 * Relu of a NaN sum giving 0 as in the reference, and a 1x1 convolution
 * called a row at a time (as the row-streaming fusions call it) giving the
 * bits of the whole-tensor call for every output depth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/conv_narrow.h"
#include "ops/gemm.h"
#include "testutil.h"

typedef struct el_nc {
    int64_t n, h, w, ic, oc, k, s, d;
    const char *pad;
    const char *act; /* NULL: BiasAdd only */
} el_nc;

static el_test_lcg el_rng = {4711};

static el_status el_nc_run(const el_nc *c, el_tensor *in, el_tensor *out, bool packed)
{
    el_test_node tn;
    el_test_node_init(&tn, "_FusedConv2D");
    int64_t strides[4] = {1, c->s, c->s, 1}, dil[4] = {1, c->d, c->d, 1};
    el_test_attr_ints(&tn, "strides", 4, strides);
    el_test_attr_ints(&tn, "dilations", 4, dil);
    el_test_attr_str(&tn, "padding", c->pad);
    const char *ops[2] = {"BiasAdd", c->act};
    el_test_attr_strs(&tn, "fused_ops", c->act ? 2 : 1, ops);
    if (!packed) return el_test_run(&tn, 3, in, 1, out);
    el_test_attr_str(&tn, EL_FILTER_LAYOUT_ATTR, el_filter_layout_name(EL_FILTER_F32_P32));
    el_test_attr_int(&tn, EL_FILTER_OC_ATTR, c->oc);
    el_tensor pin[3] = {in[0], {0}, in[2]};
    assert_int_equal(el_filter_pack(&in[1], EL_FILTER_F32_P32, &pin[1]), EL_OK);
    el_status s = el_test_run(&tn, 3, pin, 1, out);
    el_tensor_release(&pin[1]);
    return s;
}

static void el_nc_check(const el_nc *c, bool with_nan)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->ic}, wd[4] = {c->k, c->k, c->ic, c->oc}, bd[1] = {c->oc};
    el_tensor in[3] = {el_test_rand_tensor(&el_rng, 4, xd), el_test_rand_tensor(&el_rng, 4, wd),
                       el_test_rand_tensor(&el_rng, 1, bd)};
    if (with_nan) ((float *)in[0].data)[el_tensor_numel(&in[0]) / 2] = NAN;
    el_conv_force_isa(EL_ISA_REF);
    el_tensor ref;
    assert_int_equal(el_nc_run(c, in, &ref, false), EL_OK);
    el_conv_force_isa(-1);
    el_threadpool *pool3;
    assert_int_equal(el_threadpool_create(3, &pool3), EL_OK);
    float tol = 2e-6f * (float)(c->k * c->k * c->ic) + 1e-5f;
    for (int packed = 0; packed < 2; packed++) {
        el_tensor one, three;
        assert_int_equal(el_nc_run(c, in, &one, packed), EL_OK);
        char what[160];
        snprintf(what, sizeof what, "%s %lldx%lldx%lldx%lld k%lld s%lld d%lld oc %lld %s %s", packed ? "packed" : "HWIO",
                 (long long)c->n, (long long)c->h, (long long)c->w, (long long)c->ic, (long long)c->k, (long long)c->s,
                 (long long)c->d, (long long)c->oc, c->pad, c->act ? c->act : "-");
        el_test_assert_close_rel(&one, &ref, tol, what);
        el_threadpool *prev = el_threadpool_set_current(pool3);
        assert_int_equal(el_nc_run(c, in, &three, packed), EL_OK);
        el_threadpool_set_current(prev);
        assert_memory_equal(one.data, three.data, el_tensor_nbytes(&one));
        el_tensor_release(&one);
        el_tensor_release(&three);
    }
    el_threadpool_free(pool3);
    el_tensor_release(&ref);
    el_test_release_all(3, in);
}

/* The kernel takes exactly the shapes it claims (and nothing else; nothing
 * at all without AVX-512). */
static void test_takes(void **state)
{
    (void)state;
    const bool avx512 = el_isa_available() == EL_ISA_AVX512;
    el_conv_geom g = {.n = 1, .ic = 16, .fic = 16, .oc = 8, .groups = 1};
    g.h = g.w = (el_window_axis){.in = 2, .out = 2, .k = 1, .stride = 1, .dilation = 1};
    float x[64] = {0}, w[128] = {0}, y[32];
    el_conv_epi e = {.hi = INFINITY};
    assert_true(el_conv2d_narrow(&g, x, w, EL_FILTER_HWIO, &e, y) == avx512);
    g.oc = 9;
    assert_false(el_conv2d_narrow(&g, x, w, EL_FILTER_HWIO, &e, y));
    g.oc = 8, g.ic = g.fic = 15;
    assert_false(el_conv2d_narrow(&g, x, w, EL_FILTER_HWIO, &e, y));
}

/* Blocks hold 16 / oc pixels and the last ones run one by one: a row's
 * call splits the pixels otherwise than the whole tensor's, and each
 * pixel's sums must not depend on where it falls. */
static void test_rows_match_whole(void **state)
{
    (void)state;
    if (el_isa_available() != EL_ISA_AVX512) return; /* nothing runs without it (test_takes) */
    enum { H = 3, W = 13, IC = 40 };
    static float x[H * W * IC], w[IC * 8], bias[8], whole[H * W * 8], rows[H * W * 8];
    for (int i = 0; i < H * W * IC; i++) x[i] = el_test_unit(&el_rng);
    for (int i = 0; i < IC * 8; i++) w[i] = el_test_unit(&el_rng);
    for (int i = 0; i < 8; i++) bias[i] = (float)(el_test_next(&el_rng) % 2001) / 1000.0f - 1.0f;
    for (int64_t oc = 1; oc <= EL_CONV_NARROW_MAX_OC; oc++) {
        el_conv_geom g = {.n = 1, .ic = IC, .fic = IC, .oc = oc, .groups = 1};
        g.h = (el_window_axis){.in = H, .out = H, .k = 1, .stride = 1, .dilation = 1};
        g.w = (el_window_axis){.in = W, .out = W, .k = 1, .stride = 1, .dilation = 1};
        el_conv_epi e = {.bias = bias, .clamp = oc % 2 == 0, .lo = 0.0f, .hi = 6.0f};
        assert_true(el_conv2d_narrow(&g, x, w, EL_FILTER_HWIO, &e, whole));
        el_conv_geom r = g;
        r.h.in = r.h.out = 1;
        for (int y = 0; y < H; y++)
            assert_true(el_conv2d_narrow(&r, x + y * W * IC, w, EL_FILTER_HWIO, &e, rows + y * W * oc));
        assert_memory_equal(whole, rows, sizeof(float) * (size_t)(H * W * oc));
    }
}

static void test_head_shapes(void **state)
{
    (void)state;
    const el_nc cases[] = {
        {1, 32, 32, 128, 4, 1, 1, 1, "SAME", NULL},   /* CenterNet's wh output (at 1/4 size) */
        {1, 10, 12, 256, 2, 3, 1, 1, "SAME", NULL},   /* FaceBoxes' class predictor */
        {1, 5, 6, 256, 4, 3, 1, 1, "SAME", NULL},     /* FaceBoxes' box predictor */
        {2, 9, 7, 24, 6, 3, 2, 1, "SAME", "Relu"},
        {1, 8, 8, 40, 3, 5, 1, 2, "SAME", "Relu6"},
        {1, 9, 9, 17, 8, 3, 2, 1, "VALID", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) el_nc_check(&cases[i], false);
}

static void test_random_shapes(void **state)
{
    (void)state;
    static const char *const acts[3] = {NULL, "Relu", "Relu6"};
    for (int it = 0; it < 80; it++) {
        el_nc c = {el_test_pick(&el_rng, 1, 2), el_test_pick(&el_rng, 1, 12), el_test_pick(&el_rng, 1, 12),
                   el_test_pick(&el_rng, 16, 70), el_test_pick(&el_rng, 1, 8), el_test_pick(&el_rng, 1, 5),
                   el_test_pick(&el_rng, 1, 3), el_test_pick(&el_rng, 0, 3) == 0 ? 2 : 1,
                   el_test_pick(&el_rng, 0, 1) ? "SAME" : "VALID", acts[el_test_pick(&el_rng, 0, 2)]};
        if (!strcmp(c.pad, "VALID") && (c.k - 1) * c.d + 1 > (c.h < c.w ? c.h : c.w)) continue;
        el_nc_check(&c, false);
    }
}

/* A NaN input: NaN outputs without an activation, 0 after Relu, as the reference. */
static void test_nan(void **state)
{
    (void)state;
    el_nc c = {1, 6, 6, 32, 4, 3, 1, 1, "SAME", NULL};
    el_nc_check(&c, true);
    c.act = "Relu";
    el_nc_check(&c, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes),
        cmocka_unit_test(test_head_shapes),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_rows_match_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
