/* An _ElMulAdd read only by a first-layer convolution (graph/optimize.c's
 * el_opt_conv_in_std, ops/mul_add.h): the convolution standardises its
 * input as it loads it, with the same bits as the same graph whose
 * _ElMulAdd is kept (fetched too), for uint8 and float images, with and
 * without the pre-scale and the absorbed Pad (the border values), SAME and
 * VALID, strides 1, 2, 4, odd sizes, 1-4 channels, NaN, -0 and infinities;
 * on other ISAs too (the stem kernel declines: the map is standardised in
 * full first); paddings along N and C too; a second reader of the _ElMulAdd,
 * or a filter the stem kernel does not take, keeps it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "ops/mul_add.h"
#include "testutil.h"

typedef struct el_case {
    bool u8, pre, pad, same;
    int k_h, k_w, stride, ic, oc;
    int64_t h, w;
    int pad_dim; /* the Pad's dimension: 1 or 2 (H and W), 0 (N, H and W) or 3 (1 channel in front) */
} el_case;

static uint32_t el_rng = 9;
static float el_frand(void)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return (float)((el_rng >> 8) % 20001) / 10000.0f - 1.0f;
}

/* x -> [Cast] -> [Mul(., s)] -> [Pad] -> Mul(c, .) -> Sub(., d) = y ->
 * Conv2D + BiasAdd -> Relu = out. */
static el_graph *el_graph_of(const el_case *c)
{
    el_rng = 9;
    el_gb b;
    el_gb_init(&b);
    const char *img = el_gb_image(&b, c->u8);
    el_gb_scalar_f32(&b, "s", 0.0039215688f, NULL);
    el_gb_scalar_f32(&b, "c", 2.0f, NULL);
    el_gb_scalar_f32(&b, "d", 1.0f, NULL);
    if (c->pre) {
        el_gb_node(&b, "mul", "Mul", EL_IN(img, "s"));
        img = "mul";
    }
    if (c->pad) {
        int32_t p[8] = {0};
        if (c->pad_dim == 3) {
            p[6] = 1;
        } else {
            p[2 * c->pad_dim] = 2, p[2 * c->pad_dim + 1] = 3;
            p[2] = 1, p[5] = 2;
        }
        int32_t shape[2] = {4, 2};
        el_gb_const_i32(&b, "pflat", 8, p, NULL);
        el_gb_const_i32(&b, "pshape", 2, shape, NULL);
        el_gb_node(&b, "paddings", "Reshape", EL_IN("pflat", "pshape"));
        el_gb_node(&b, "pad", "Pad", EL_IN(img, "paddings"));
        img = "pad";
    }
    el_gb_node(&b, "m2", "Mul", EL_IN("c", img));
    el_gb_node(&b, "y", "Sub", EL_IN("m2", "d"));
    int64_t wd[4] = {c->k_h, c->k_w, c->ic, c->oc}, bd[1] = {c->oc};
    el_gb_const_f32_gen(&b, "w", 4, wd, el_frand, 1.0f);
    el_gb_const_f32_gen(&b, "bias", 1, bd, el_frand, 1.0f);
    int conv = el_gb_node(&b, "conv", "Conv2D", EL_IN("y", "w"));
    el_gb_conv_attrs(&b, conv, c->stride);
    if (!c->same) el_gb_attr_str(&b, conv, "padding", "VALID");
    el_gb_node(&b, "biased", "BiasAdd", EL_IN("conv", "bias"));
    el_gb_node(&b, "out", "Relu", EL_IN("biased"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_case_input(const el_case *c)
{
    int64_t d[4] = {2, c->h, c->w, c->ic - (c->pad && c->pad_dim == 3)};
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, c->u8 ? EL_DT_UINT8 : EL_DT_FLOAT, 4, d), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) {
        if (c->u8) ((uint8_t *)t.data)[i] = (uint8_t)(i * 37 % 256);
        else ((float *)t.data)[i] = el_frand() * 300.0f;
    }
    if (c->u8) {
        ((uint8_t *)t.data)[0] = 255, ((uint8_t *)t.data)[1] = 0;
    } else {
        float *x = t.data;
        x[0] = NAN, x[1] = -0.0f, x[2] = INFINITY, x[el_tensor_numel(&t) - 1] = -INFINITY, x[5] = 3e38f;
    }
    return t;
}

/* out fetched alone (fused) and with y (the _ElMulAdd kept): the same bits. */
static void el_check(const el_case *c, int threads, int want_fused)
{
    el_graph *g = el_graph_of(c);
    const char *feeds[1] = {"x"}, *fetches[2] = {"out", "y"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetches, &st, &og), EL_OK);
    assert_int_equal(st.in_std_fused, want_fused);
    if (want_fused) {
        const el_node *conv = el_test_find_node(og, "out");
        assert_non_null(conv);
        assert_non_null(el_node_attr(conv, EL_CONV_IN_STD_ATTR));
        assert_null(el_test_find_node(og, "y"));
    }
    el_graph_free(og);
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.in_std_fused, 0);
    el_graph_free(og);
    el_tensor in = el_case_input(c), a[2], b[2];
    el_session_opts so = {.threads = threads};
    el_session *s;
    if (el_session_create(g, 1, feeds, 1, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, &in, a) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    if (el_session_create(g, 1, feeds, 2, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, &in, b) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    el_test_assert_shape(&a[0], b[0].ndim, b[0].dims);
    assert_memory_equal(a[0].data, b[0].data, el_tensor_nbytes(&b[0]));
    el_tensor_release(&a[0]);
    el_tensor_release(&b[0]);
    el_tensor_release(&b[1]);
    el_tensor_release(&in);
    el_graph_free(g);
}

static void test_forms(void **state)
{
    (void)state;
    for (int v = 0; v < 32; v++) {
        el_case c = {.u8 = v & 1,
                     .pre = v & 2,
                     .pad = v & 4,
                     .same = !(v & 8),
                     .k_h = v & 16 ? 7 : 3,
                     .k_w = v & 16 ? 7 : 3,
                     .stride = v & 16 ? 4 : 2,
                     .ic = 3,
                     .oc = v & 16 ? 24 : 16,
                     .h = 23 + v % 3,
                     .w = 29 + v % 5,
                     .pad_dim = 1};
        el_check(&c, 1 + v % 2, 1);
    }
}

static void test_shapes(void **state)
{
    (void)state;
    /* kh, kw, stride, ic, oc, h, w */
    const int s[][7] = {{2, 3, 1, 1, 8, 9, 11},  {3, 3, 1, 4, 40, 7, 5},   {5, 5, 3, 2, 64, 17, 19},
                        {7, 7, 4, 3, 24, 5, 6},   {3, 1, 2, 3, 17, 13, 33}, {1, 2, 1, 3, 33, 4, 70},
                        {7, 7, 4, 3, 24, 64, 3}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        for (int v = 0; v < 4; v++) {
            el_case c = {.u8 = v & 1, .pre = true, .pad = v & 2, .same = i % 2 == 0, .k_h = s[i][0], .k_w = s[i][1],
                         .stride = s[i][2], .ic = s[i][3], .oc = s[i][4], .h = s[i][5], .w = s[i][6], .pad_dim = 2};
            el_check(&c, 2, 1);
        }
}

static void test_other_isa(void **state)
{
    (void)state;
    for (int isa = EL_ISA_REF; isa <= EL_ISA_AVX2; isa++) {
        el_conv_force_isa(isa);
        for (int v = 0; v < 8; v++) {
            el_case c = {.u8 = v & 1, .pre = true, .pad = v & 2, .same = !(v & 4), .k_h = 7, .k_w = 7, .stride = 4,
                         .ic = 3, .oc = 24, .h = 21, .w = 30, .pad_dim = 1};
            el_check(&c, 2, 1);
        }
    }
    el_conv_force_isa(-1);
}

/* Padded along N (border images) or C (a border channel in front, 3 -> 4). */
static void test_pad_n_c(void **state)
{
    (void)state;
    for (int v = 0; v < 4; v++) {
        el_case c = {.u8 = v & 1, .pre = true, .pad = true, .same = true, .k_h = 3, .k_w = 3, .stride = 2,
                     .ic = v & 2 ? 4 : 3, .oc = 16, .h = 9, .w = 11, .pad_dim = v & 2 ? 3 : 0};
        el_check(&c, 2, 1);
    }
}

static void test_kept(void **state)
{
    (void)state;
    /* A filter too deep for the stem kernel (8 channels) is not taken. */
    el_case c = {.u8 = true, .pre = true, .same = true, .k_h = 3, .k_w = 3, .stride = 2, .ic = 8, .oc = 16, .h = 9,
                 .w = 9, .pad_dim = 1};
    el_check(&c, 2, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_pad_n_c),
        cmocka_unit_test(test_other_isa),
        cmocka_unit_test(test_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
