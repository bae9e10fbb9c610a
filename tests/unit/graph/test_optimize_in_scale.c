/* Squeeze-excite's Mul(x, s) read only by convolutions (graph/optimize.c's
 * el_opt_conv_in_scale, ops/conv_in_scale.h): the Mul goes and each
 * convolution scales its filter's input channels by s; against the unfused
 * graph to float rounding, for a 1x1 Conv2D + BiasAdd (packed filter),
 * a depthwise and a 3x3 Conv2D reading the same Mul, a grouped Conv2D (the
 * input scaled instead), and operands of the same size (no per-channel
 * scale: multiplied as the Mul would); a Mul with another reader stays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_in_scale.h"
#include "testutil.h"

enum { C = 24 };

static uint32_t el_rng = 5;
static float el_frand(void)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return (float)((el_rng >> 8) % 20001) / 10000.0f - 1.0f;
}

static void el_const_f32(el_gb *b, const char *name, int nd, const int64_t *dims)
{
    el_gb_const_f32_gen(b, name, nd, dims, el_frand, 1.0f);
}

static void el_conv(el_gb *b, const char *name, const char *op, const char *in, const char *w)
{
    el_gb_conv_attrs(b, el_gb_node(b, name, op, EL_IN(in, w)), 1);
}

/* form 0: s = Sigmoid(Mean(x)), y = Mul(x, s) -> 1x1 Conv2D + BiasAdd;
 * 1: y = Mul(s, x) -> depthwise 3x3 and Conv2D 3x3 (two readers);
 * 2: y = Mul(x, s) -> grouped 1x1 Conv2D (2 groups);
 * 3: y = Mul(x, Relu(x)) (same size) -> 1x1 Conv2D;
 * 4: as 0 with a Relu reading y too. */
static el_graph *el_graph_of(int form)
{
    el_rng = 5;
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    const int32_t ax[2] = {1, 2};
    el_gb_const_i32(&b, "axes", 2, ax, NULL);
    el_gb_attr_bool(&b, el_gb_node(&b, "mean", "Mean", EL_IN("x", "axes")), "keep_dims", true);
    el_gb_node(&b, "s", "Sigmoid", EL_IN("mean"));
    el_gb_node(&b, "rx", "Relu", EL_IN("x"));
    const char *other = form == 3 ? "rx" : "s";
    el_gb_node(&b, "y", "Mul", form == 1 ? EL_IN(other, "x") : EL_IN("x", other));
    int64_t w1[4] = {1, 1, C, 40}, w3[4] = {3, 3, C, 8}, wd[4] = {3, 3, C, 1}, wg[4] = {1, 1, C / 2, 10}, bd[1] = {40};
    el_const_f32(&b, "w1", 4, w1);
    el_const_f32(&b, "w3", 4, w3);
    el_const_f32(&b, "wd", 4, wd);
    el_const_f32(&b, "wg", 4, wg);
    el_const_f32(&b, "bias", 1, bd);
    if (form == 1) {
        el_conv(&b, "dw", "DepthwiseConv2dNative", "y", "wd");
        el_conv(&b, "c3", "Conv2D", "y", "w3");
        el_gb_node(&b, "out", "ConcatV2", EL_IN("dw", "c3", "axes3"));
        el_gb_scalar_i32(&b, "axes3", 3, NULL);
    } else if (form == 2) {
        el_conv(&b, "out", "Conv2D", "y", "wg");
    } else {
        el_conv(&b, "c1", "Conv2D", "y", "w1");
        el_gb_node(&b, "out", "BiasAdd", EL_IN("c1", "bias"));
    }
    if (form == 4) el_gb_node(&b, "z", "Relu", EL_IN("y"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run(const el_graph *g, bool optimize)
{
    const char *feeds[1] = {"x"}, *fetches[1] = {"out"};
    int64_t xd[4] = {1, 6, 7, C};
    el_tensor in, out;
    assert_int_equal(el_tensor_alloc(&in, EL_DT_FLOAT, 4, xd), EL_OK);
    el_rng = 77;
    for (int64_t i = 0; i < el_tensor_numel(&in); i++) ((float *)in.data)[i] = el_frand() * 3.0f;
    el_session_opts so = {.threads = 2, .no_optimize = !optimize};
    el_session *s;
    if (el_session_create(g, 1, feeds, 1, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, &in, &out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    el_tensor_release(&in);
    return out;
}

static void test_forms(void **state)
{
    (void)state;
    for (int form = 0; form < 5; form++) {
        el_graph *g = el_graph_of(form);
        const char *feeds[1] = {"x"}, *fetches[2] = {"out", "z"};
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, form == 4 ? 2 : 1, fetches, &st, &og), EL_OK);
        assert_non_null(og);
        assert_int_equal(st.in_scale_fused, form == 4 ? 0 : 1);
        assert_true((el_graph_find(og, "y") < 0) == (form != 4));
        if (form == 1) {
            const el_node *dw = &og->nodes[el_graph_find(og, "dw")];
            assert_non_null(el_node_attr(dw, EL_CONV_IN_SCALE_ATTR));
            assert_int_equal(dw->ndata, 3);
        }
        el_graph_free(og);
        el_tensor a = el_run(g, true), b = el_run(g, false);
        el_test_assert_shape(&a, b.ndim, b.dims);
        const float *x = a.data, *y = b.data;
        for (int64_t i = 0; i < el_tensor_numel(&b); i++)
            if (fabsf(x[i] - y[i]) > 1e-5f * (1.0f + fabsf(y[i])) * 9 * C)
                fail_msg("form %d element %lld: %.7g, unfused %.7g", form, (long long)i, (double)x[i], (double)y[i]);
        el_tensor_release(&a);
        el_tensor_release(&b);
        el_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
