/* A depthwise-then-1x1 row fusion read only through GatherV2(Reshape(y,
 * [-1, oc]), idx) (CenterNet's size head, read at its peaks) computes
 * only the gathered pixels (graph/optimize.c el_opt_conv_at, ops/conv.c
 * el_conv_at): the gathered rows have the bits of the whole convolution's
 * on every ISA at 1 and 2 threads, with pixels on every border, repeats,
 * a scalar Mul in between or not, few and many output channels, one to
 * three images; graphs
 * where the convolution is read otherwise, or the indices depend on it,
 * stay as they are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

/* x [1,h,w,c] -> depthwise k x k SAME + bias -> 1x1 to oc + bias ("pw")
 * -> Mul by a scalar ("y", when mul) -> Reshape [-1, oc] -> GatherV2(idx)
 * "g"; idx is fed, or (idx_from_y) ArgMax of y's first channel row. */
static el_graph *el_at_graph(int64_t c, int64_t oc, int64_t k, bool mul, bool idx_from_y)
{
    el_test_rand_seed(5);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    const int64_t dwd[4] = {k, k, c, 1}, cd[1] = {c}, pwd[4] = {1, 1, c, oc}, od[1] = {oc};
    el_gb_const_f32_rand(&b, "dw_w", 4, dwd);
    el_gb_const_f32_rand(&b, "dw_b", 1, cd);
    el_gb_const_f32_gen(&b, "pw_w", 4, pwd, el_test_frand, 0.3f);
    el_gb_const_f32_rand(&b, "pw_b", 1, od);
    el_gb_conv_attrs(&b, el_gb_node(&b, "dw", "DepthwiseConv2dNative", EL_IN("x", "dw_w")), 1);
    el_gb_node(&b, "dw_bias", "BiasAdd", EL_IN("dw", "dw_b"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "pw_conv", "Conv2D", EL_IN("dw_bias", "pw_w")), 1);
    el_gb_node(&b, "pw", "BiasAdd", EL_IN("pw_conv", "pw_b"));
    if (mul) {
        el_gb_scalar_f32(&b, "s", 4.0f, NULL);
        el_gb_node(&b, "y", "Mul", EL_IN("pw", "s"));
    }
    const char *y = mul ? "y" : "pw";
    const int32_t shape[2] = {-1, (int32_t)oc};
    el_gb_const_i32(&b, "shape", 2, shape, NULL);
    el_gb_node(&b, "flat", "Reshape", EL_IN(y, "shape"));
    if (idx_from_y) {
        el_gb_scalar_i32(&b, "ax", 1, NULL);
        int a = el_gb_node(&b, "idx", "ArgMax", EL_IN("flat", "ax"));
        el_gb_attr_type(&b, a, "output_type", EL_DT_INT32);
    } else {
        el_gb_attr_type(&b, el_gb_node(&b, "idx", "Placeholder", EL_NOIN), "dtype", EL_DT_INT32);
    }
    el_gb_scalar_i32(&b, "axis", 0, NULL);
    int g = el_gb_node(&b, "g", "GatherV2", EL_IN("flat", "idx", "axis"));
    el_gb_attr_type(&b, g, "Tparams", EL_DT_FLOAT);
    el_gb_attr_type(&b, g, "Tindices", EL_DT_INT32);
    el_graph *out;
    assert_int_equal(el_gb_finish(&b, &out), EL_OK);
    return out;
}

static void el_at_check(int64_t n, int64_t h, int64_t w, int64_t c, int64_t oc, int64_t k, bool mul)
{
    el_graph *g = el_at_graph(c, oc, k, mul, false);
    const char *feeds[2] = {"x", "idx"}, *fetch1[1] = {"g"}, *fetch2[2] = {"g", mul ? "y" : "pw"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, 1, fetch1, &st, &og), EL_OK);
    assert_int_equal(st.dw_pw_fused, 1);
    assert_int_equal(st.conv_at_fused, 1);
    el_graph_free(og);
    /* The convolution fetched too: it stays whole. */
    assert_int_equal(el_graph_optimize(g, 2, feeds, 2, fetch2, &st, &og), EL_OK);
    assert_int_equal(st.conv_at_fused, 0);
    el_graph_free(og);

    el_tensor in[2];
    const int64_t xd[4] = {n, h, w, c};
    el_test_rand_seed(9);
    assert_int_equal(el_tensor_alloc(&in[0], EL_DT_FLOAT, 4, xd), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&in[0]); i++) ((float *)in[0].data)[i] = el_test_frand();
    /* Corners, every border, repeats, the rest spread over the map. */
    const int32_t fixed[] = {0, (int32_t)(w - 1), (int32_t)((h - 1) * w), (int32_t)(h * w - 1), (int32_t)(w / 2),
                             (int32_t)(w * (h / 2)), (int32_t)(w * (h / 2) + w - 1), (int32_t)((h - 1) * w + 3), 0,
                             (int32_t)(w + 1)};
    /* The same pixels in every image, then the rest spread over all. */
    const int64_t nfixed = (int64_t)(sizeof fixed / sizeof fixed[0]), np = n * nfixed + 20;
    assert_int_equal(el_tensor_alloc(&in[1], EL_DT_INT32, 1, &np), EL_OK);
    int32_t *ix = in[1].data;
    for (int64_t p = 0; p < np; p++)
        ix[p] = p < n * nfixed ? (int32_t)(p / nfixed * h * w + fixed[p % nfixed]) : (int32_t)((p * 7919) % (n * h * w));
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if ((int)el_isa_available() < isas[i]) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_session_opts so = {.threads = threads};
            el_session *s1, *s2;
            if (el_session_create(g, 2, feeds, 1, fetch1, &so, &s1) != EL_OK) fail_msg("%s", el_last_error());
            if (el_session_create(g, 2, feeds, 2, fetch2, &so, &s2) != EL_OK) fail_msg("%s", el_last_error());
            el_tensor got[1], want[2];
            if (el_session_run(s1, in, got) != EL_OK) fail_msg("%s", el_last_error());
            if (el_session_run(s2, in, want) != EL_OK) fail_msg("%s", el_last_error());
            el_test_assert_shape(&got[0], want[0].ndim, want[0].dims);
            if (memcmp(got[0].data, want[0].data, el_tensor_nbytes(&want[0])))
                fail_msg("isa %d threads %d %lldx%lldx%lldx%lld -> %lld k %lld: gathered rows differ", isas[i], threads,
                         (long long)n, (long long)h, (long long)w, (long long)c, (long long)oc, (long long)k);
            el_tensor_release(&got[0]);
            el_tensor_release(&want[0]);
            el_tensor_release(&want[1]);
            el_session_free(s1);
            el_session_free(s2);
        }
    }
    el_conv_force_isa(-1);
    el_tensor_release(&in[0]);
    el_tensor_release(&in[1]);
    el_graph_free(g);
}

/* Rows wide enough for the row-streaming kernels (>= 32 pixels) and not;
 * the narrow 1x1 (oc <= 8) and the packed one; 3x3 and 5x5 windows;
 * few channels and more than 64. */
static void test_gathered_pixels(void **state)
{
    (void)state;
    el_at_check(1, 40, 48, 16, 4, 3, true);
    el_at_check(1, 40, 48, 16, 40, 3, false);
    el_at_check(1, 36, 64, 24, 4, 5, true);
    el_at_check(1, 12, 20, 8, 6, 3, true);
    /* The depthwise pixels in more than one group of four channel vectors. */
    el_at_check(1, 10, 12, 72, 4, 3, true);
    /* Two and three images: the flat indices reach into each. */
    el_at_check(2, 40, 48, 16, 4, 3, true);
    el_at_check(3, 12, 20, 8, 6, 5, false);
    el_at_check(2, 10, 12, 72, 40, 3, true);
}

/* Indices computed from the convolution (a cycle), or the Reshape's
 * output read by another node: left alone. */
static void test_not_fused(void **state)
{
    (void)state;
    el_graph *g = el_at_graph(16, 4, 3, true, true);
    const char *feeds[1] = {"x"}, *fetch[1] = {"g"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 1, fetch, &st, &og), EL_OK);
    assert_int_equal(st.dw_pw_fused, 1);
    assert_int_equal(st.conv_at_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
    g = el_at_graph(16, 4, 3, false, false);
    const char *feeds2[2] = {"x", "idx"}, *fetch2[2] = {"g", "flat"};
    assert_int_equal(el_graph_optimize(g, 2, feeds2, 2, fetch2, &st, &og), EL_OK);
    assert_int_equal(st.conv_at_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gathered_pixels),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
