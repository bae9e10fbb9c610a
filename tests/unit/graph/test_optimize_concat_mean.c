/* A spatial Mean of a ConcatV2 (CenterNet's squeeze-excite over its head's
 * concat) summed by the concat while it copies (graph/optimize.c
 * el_opt_concat_mean, ops/concat.c): the concat's and the Mean's bits on
 * every ISA, at 1 and 2 threads (other channel blocks), with and without
 * the fused Relu and Neg, keep_dims true and false, several images,
 * channel counts that are and are not multiples of 16 and over 128, rows
 * of one pixel and rows longer than EL_SUM_RUN_MAX;
 * a fetched Mean or other axes stay as they are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

/* cat = ConcatV2(Mul(x, 0.75), [Neg(x),] x; 3), y = Relu(cat) or cat
 * itself, m = Mean(y, axes), z = Neg(m). */
static el_graph *el_cm_graph(bool neg, bool relu, bool keep, int32_t ax0, int32_t ax1)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_scalar_f32(&b, "c", 0.75f, NULL);
    el_gb_scalar_i32(&b, "axis", 3, NULL);
    const int32_t axes[2] = {ax0, ax1};
    el_gb_const_i32(&b, "axes", 2, axes, NULL);
    el_gb_node(&b, "a", "Mul", EL_IN("x", "c"));
    el_gb_attr_type(&b, el_gb_node(&b, "neg", "Neg", EL_IN("x")), "T", EL_DT_FLOAT);
    int c = el_gb_node(&b, relu ? "cat" : "y", "ConcatV2", neg ? EL_IN("a", "neg", "x", "axis") : EL_IN("a", "x", "axis"));
    el_gb_attr_type(&b, c, "T", EL_DT_FLOAT);
    el_gb_attr_int(&b, c, "N", neg ? 3 : 2);
    if (relu) el_gb_attr_type(&b, el_gb_node(&b, "y", "Relu", EL_IN("cat")), "T", EL_DT_FLOAT);
    int m = el_gb_node(&b, "m", "Mean", EL_IN("y", "axes"));
    el_gb_attr_type(&b, m, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, m, "keep_dims", keep);
    el_gb_attr_type(&b, el_gb_node(&b, "z", "Neg", EL_IN("m")), "T", EL_DT_FLOAT);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_cm_input(const int64_t *dims)
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, dims), EL_OK);
    float *p = t.data;
    el_test_rand_seed(11);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = el_test_frand() * (i % 3 ? 1.0f : 1e-4f);
    p[1] = -0.0f, p[2] = 0.0f;
    return t;
}

static void el_cm_run(const el_graph *g, const el_tensor *x, int threads, bool optimize, el_tensor out[2])
{
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_session_opts so = {.threads = threads, .no_optimize = !optimize};
    el_session *s;
    if (el_session_create(g, 1, feeds, 2, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, x, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
}

static void el_cm_check(const int64_t *dims, bool neg, bool relu, bool keep, bool specials)
{
    el_graph *g = el_cm_graph(neg, relu, keep, 1, 2);
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "z"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.concat_mean_fused, 1);
    assert_true(el_graph_find(og, "m") < 0);
    el_graph_free(og);
    el_tensor x = el_cm_input(dims);
    if (specials) {
        float *p = x.data;
        p[3] = NAN, p[el_tensor_numel(&x) - 1] = INFINITY, p[5] = -INFINITY;
    }
    el_tensor want[2];
    el_cm_run(g, &x, 1, false, want);
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if ((int)el_isa_available() < isas[i]) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor got[2];
            el_cm_run(g, &x, threads, true, got);
            for (int o = 0; o < 2; o++) {
                el_test_assert_shape(&got[o], want[o].ndim, want[o].dims);
                if (memcmp(got[o].data, want[o].data, el_tensor_nbytes(&want[o])))
                    fail_msg("c %lld neg %d relu %d keep %d isa %d threads %d: output %d differs", (long long)dims[3],
                             neg, relu, keep, isas[i], threads, o);
                el_tensor_release(&got[o]);
            }
        }
    }
    el_conv_force_isa(-1);
    el_tensor_release(&want[0]);
    el_tensor_release(&want[1]);
    el_tensor_release(&x);
    el_graph_free(g);
}

static void test_fused(void **state)
{
    (void)state;
    const int64_t chans[4] = {32, 48, 80, 3}; /* concat of 64, 96, 160, 6 (or 96, 144, 240, 9) channels */
    for (int c = 0; c < 4; c++)
        for (int v = 0; v < 4; v++) {
            const int64_t dims[4] = {1 + (v & 1), 19, 23, chans[c]};
            el_cm_check(dims, v & 2, !(v & 1), v & 1, false);
        }
    const int64_t dims[4] = {1, 64, 64, 64}; /* CenterNet's concat, a quarter of it */
    el_cm_check(dims, false, true, true, false);
    el_cm_check(dims, false, true, true, true); /* NaN and infinities in the sums */
    /* The Mean kernel's runs: rows of one pixel (the columns), rows longer
     * than EL_SUM_RUN_MAX (every value in double). */
    const int64_t col[4] = {2, 37, 1, 32}, wide[4] = {1, 2, 300, 16};
    el_cm_check(col, false, true, true, false);
    el_cm_check(col, true, false, false, false);
    el_cm_check(wide, false, true, true, false);
    el_cm_check(wide, true, false, false, false);
}

/* The Mean fetched, or over other axes: not fused (and still the same). */
static void test_not_fused(void **state)
{
    (void)state;
    const char *feeds[1] = {"x"}, *fetches[2] = {"y", "m"};
    el_optimize_stats st;
    el_graph *og, *g = el_cm_graph(false, true, true, 1, 2);
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.concat_mean_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
    g = el_cm_graph(false, true, true, 1, 3);
    const char *f2[2] = {"y", "z"};
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, f2, &st, &og), EL_OK);
    assert_int_equal(st.concat_mean_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
