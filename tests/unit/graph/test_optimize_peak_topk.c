/* CenterNet's peak extraction, TopKV2(Reshape(x * (x == MaxPool(x)))),
 * made one _ElPeakTopK by the graph passes (graph/optimize.c,
 * ops/peak_topk.c): the same values and indices as the unfused nodes on
 * every ISA, at 1 to 3 threads, for
 * heatmap-like inputs, negative inputs (the root below zero), ties, all
 * equal and all zero, ties at the k-th value before and after the root,
 * fewer than k positive peaks, NaN
 * (a row rerun whole), infinities, several rows and k near n; graphs that
 * do not match stay as they are. A heatmap that is a convolution's Sigmoid
 * (CenterNet's) has its Sigmoid computed by the peak node: the same bits
 * as with the Sigmoid left in the convolution. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

/* x [n,h,w,c] -> MaxPool 3x3 SAME -> Equal / Cast / Mul -> Reshape(shape)
 * -> TopKV2(k); `extra` adds a second reader of the Reshape. */
static el_graph *el_peak_graph(int nshape, const int32_t *shape, int32_t k, bool extra)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    int mp = el_gb_node(&b, "mp", "MaxPool", EL_IN("x"));
    int64_t ks[4] = {1, 3, 3, 1}, st[4] = {1, 1, 1, 1};
    el_gb_attr_ints(&b, mp, "ksize", 4, ks);
    el_gb_attr_ints(&b, mp, "strides", 4, st);
    el_gb_attr_str(&b, mp, "padding", "SAME");
    el_gb_attr_type(&b, el_gb_node(&b, "eq", "Equal", EL_IN("x", "mp")), "T", EL_DT_FLOAT);
    el_gb_cast(&b, "cast", "eq", EL_DT_BOOL, EL_DT_FLOAT);
    el_gb_node(&b, "keep", "Mul", EL_IN("x", "cast"));
    el_gb_const_i32(&b, "shape", nshape, shape, NULL);
    el_gb_node(&b, "flat", "Reshape", EL_IN("keep", "shape"));
    el_gb_scalar_i32(&b, "k", k, NULL);
    int t = el_gb_node(&b, "topk", "TopKV2", EL_IN("flat", "k"));
    el_gb_attr_type(&b, t, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, t, "sorted", true);
    if (extra) el_gb_node(&b, "z", "Relu", EL_IN("flat"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

/* Input kinds. */
enum { EL_HEAT, EL_NEG, EL_TIES, EL_NAN_LATE, EL_NAN_FIRST, EL_INF, EL_EQUAL, EL_ZERO, EL_TIE_EDGE, EL_FEW, EL_KINDS };

static el_tensor el_peak_input(int kind, const int64_t *dims)
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, dims), EL_OK);
    float *p = t.data;
    int64_t n = el_tensor_numel(&t);
    el_test_rand_seed(7u + (uint32_t)kind);
    for (int64_t i = 0; i < n; i++) {
        float r = el_test_frand(); /* [-5, 5] */
        switch (kind) {
        case EL_HEAT: p[i] = 1.0f / (1.0f + expf(-2.0f * r)); break; /* sigmoid-like, (0, 1) */
        case EL_NEG: p[i] = -1.0f - fabsf(r); break;
        case EL_TIES: p[i] = floorf(r) * 0.25f; break; /* few values: plateaus, equal peaks, zeros and -0 */
        case EL_EQUAL: p[i] = 0.5f; break;              /* all peaks, all tied: the k first positions */
        case EL_ZERO: p[i] = i % 3 ? 0.0f : -0.0f; break;
        case EL_TIE_EDGE: p[i] = 0.01f * fabsf(r); break; /* low background; tied peaks set below */
        case EL_FEW: p[i] = -fabsf(r); break;            /* no v > 0 but a few peaks set below */
        default: p[i] = r * r; break;
        }
    }
    if (kind == EL_TIES)
        for (int64_t i = 0; i < n; i += 37) p[i] = -0.0f;
    /* Isolated peaks (a channel's pixel, its neighbours low) from the back
     * and the front: a few greater, then many equal at the k-th value
     * spread over the map, so the k best end among ties in both
     * directions of the root's index; or fewer than k positive peaks. */
    if (kind == EL_TIE_EDGE || kind == EL_FEW) {
        const int64_t step = n / 157 + 1;
        int j = 0;
        for (int64_t i = n - 1; i >= 0; i -= step, j++)
            p[i] = kind == EL_FEW ? (j < 7 ? 2.0f : 0.0f) : (j % 5 == 0 ? 0.9f : 0.5f);
    }
    if (kind == EL_NAN_LATE)
        for (int64_t i = n / 3; i < n; i += n / 5 + 1) p[i] = NAN;
    if (kind == EL_NAN_FIRST) p[5] = NAN, p[n / 2 + 3] = NAN; /* in a chunk's first k */
    if (kind == EL_INF) {
        p[n / 2] = INFINITY, p[n / 2 + dims[3]] = INFINITY, p[n / 4] = -INFINITY, p[n - 1] = INFINITY;
        p[n / 3] = -INFINITY, p[n / 3 + 1] = 30.0f; /* -inf beside a peak: x * 0 = NaN */
    }
    return t;
}

static void el_run(const el_graph *g, const el_tensor *x, int threads, bool optimize, el_tensor out[2])
{
    const char *feeds[1] = {"x"}, *fetches[2] = {"topk:0", "topk:1"};
    el_session_opts so = {.threads = threads, .no_optimize = !optimize};
    el_session *s;
    if (el_session_create(g, 1, feeds, 2, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, x, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
}

static void el_check(const int64_t *dims, int nshape, const int32_t *shape, int32_t k)
{
    el_graph *g = el_peak_graph(nshape, shape, k, false);
    const char *feeds[1] = {"x"}, *fetches[2] = {"topk:0", "topk:1"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetches, &st, &og), EL_OK);
    assert_int_equal(st.peak_topk_fused, 1);
    int t = el_graph_find(og, "topk");
    assert_true(t >= 0);
    assert_string_equal(og->nodes[t].op, "_ElPeakTopK");
    assert_true(el_graph_find(og, "flat") < 0);
    el_graph_free(og);
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int kind = 0; kind < EL_KINDS; kind++) {
        el_tensor x = el_peak_input(kind, dims);
        el_tensor want[2];
        el_run(g, &x, 1, false, want);
        for (int i = 0; i < 3; i++) {
            if ((int)el_isa_available() < isas[i]) continue;
            el_conv_force_isa(isas[i]);
            for (int threads = 1; threads <= 3; threads++) {
                el_tensor got[2];
                el_run(g, &x, threads, true, got);
                for (int o = 0; o < 2; o++) {
                    el_test_assert_shape(&got[o], want[o].ndim, want[o].dims);
                    if (memcmp(got[o].data, want[o].data, el_tensor_nbytes(&want[o])))
                        fail_msg("kind %d isa %d threads %d k %d: output %d differs", kind, isas[i], threads, (int)k, o);
                    el_tensor_release(&got[o]);
                }
            }
        }
        el_conv_force_isa(-1);
        el_tensor_release(&want[0]);
        el_tensor_release(&want[1]);
        el_tensor_release(&x);
    }
    el_graph_free(g);
}

/* One row of 128x128x16, k 100 and 7. */
static void test_one_row(void **state)
{
    (void)state;
    const int64_t dims[4] = {1, 128, 128, 16};
    const int32_t shape[2] = {1, -1};
    el_check(dims, 2, shape, 100);
    el_check(dims, 2, shape, 7);
}

/* Two rows, one per image (shape [2, -1]); a 1-D shape (one row over both
 * images); small maps with k near n (one chunk; TopK's radix path). */
static void test_rows_and_small(void **state)
{
    (void)state;
    const int64_t dims[4] = {2, 96, 80, 20};
    const int32_t two[2] = {2, -1}, flat[1] = {-1};
    el_check(dims, 2, two, 50);
    el_check(dims, 1, flat, 100);
    const int64_t small[4] = {1, 5, 7, 3};
    const int32_t shape[2] = {1, 105};
    el_check(small, 2, shape, 100);
    el_check(small, 2, shape, 3);
    const int32_t rows[2] = {35, 3}; /* a row per pixel */
    el_check(small, 2, rows, 2);
}

/* The Reshape read by another node too, or the TopK's input not a peak
 * MaxPool: left alone. */
static void test_not_fused(void **state)
{
    (void)state;
    const int32_t shape[2] = {1, -1};
    el_graph *g = el_peak_graph(2, shape, 3, true);
    const char *feeds[1] = {"x"}, *fetches[3] = {"topk:0", "topk:1", "z"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 3, fetches, &st, &og), EL_OK);
    assert_int_equal(st.peak_topk_fused, 0);
    assert_int_equal(st.keep_equal_pool_fused, 1);
    el_graph_free(og);
    /* The peak tensor fetched: the MaxPool stays, so does the TopK. */
    const char *two[2] = {"topk:0", "keep"};
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, two, &st, &og), EL_OK);
    assert_int_equal(st.peak_topk_fused, 0);
    el_graph_free(og);
    el_graph_free(g);
}

/* x [1,h,w,ic] -> Conv2D 1x1 to c + BiasAdd -> Sigmoid "heat" -> the
 * peak test (a ks x ks MaxPool) -> Reshape [1, -1] -> TopKV2(k). */
static el_graph *el_heat_graph(int64_t ic, int64_t c, int64_t ks, int32_t k)
{
    el_test_rand_seed(11);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    const int64_t wd[4] = {1, 1, ic, c}, bd[1] = {c};
    el_gb_const_f32_gen(&b, "w", 4, wd, el_test_frand, 0.3f);
    el_gb_const_f32_rand(&b, "b", 1, bd);
    el_gb_conv_attrs(&b, el_gb_node(&b, "conv", "Conv2D", EL_IN("x", "w")), 1);
    el_gb_node(&b, "bias", "BiasAdd", EL_IN("conv", "b"));
    el_gb_node(&b, "heat", "Sigmoid", EL_IN("bias"));
    int mp = el_gb_node(&b, "mp", "MaxPool", EL_IN("heat"));
    int64_t ksz[4] = {1, ks, ks, 1}, st[4] = {1, 1, 1, 1};
    el_gb_attr_ints(&b, mp, "ksize", 4, ksz);
    el_gb_attr_ints(&b, mp, "strides", 4, st);
    el_gb_attr_str(&b, mp, "padding", "SAME");
    el_gb_attr_type(&b, el_gb_node(&b, "eq", "Equal", EL_IN("heat", "mp")), "T", EL_DT_FLOAT);
    el_gb_cast(&b, "cast", "eq", EL_DT_BOOL, EL_DT_FLOAT);
    el_gb_node(&b, "keep", "Mul", EL_IN("heat", "cast"));
    const int32_t shape[2] = {1, -1};
    el_gb_const_i32(&b, "shape", 2, shape, NULL);
    el_gb_node(&b, "flat", "Reshape", EL_IN("keep", "shape"));
    el_gb_scalar_i32(&b, "k", k, NULL);
    int t = el_gb_node(&b, "topk", "TopKV2", EL_IN("flat", "k"));
    el_gb_attr_type(&b, t, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, t, "sorted", true);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

/* Logit inputs: spread (x8: saturated Sigmoids, 1.0 and ties), small,
 * with NaN and infinities (NaN rows of the map after the convolution),
 * flat (plateaus: ties everywhere). */
enum { EL_LOGIT_WIDE, EL_LOGIT_NARROW, EL_LOGIT_SPECIAL, EL_LOGIT_FLAT, EL_LOGIT_KINDS };

static void el_heat_check(int64_t h, int64_t w, int64_t ic, int64_t c, int64_t ks, int32_t k)
{
    el_graph *g = el_heat_graph(ic, c, ks, k);
    const char *feeds[1] = {"x"}, *fetch2[2] = {"topk:0", "topk:1"}, *fetch3[3] = {"topk:0", "topk:1", "heat"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, 2, fetch2, &st, &og), EL_OK);
    assert_int_equal(st.peak_topk_fused, 1);
    assert_int_equal(st.sigmoid_conv_fused, 1);
    assert_int_equal(st.peak_sigmoid_fused, 1);
    el_graph_free(og);
    /* The heatmap fetched too: the Sigmoid stays in the convolution. */
    assert_int_equal(el_graph_optimize(g, 1, feeds, 3, fetch3, &st, &og), EL_OK);
    assert_int_equal(st.peak_topk_fused, 1);
    assert_int_equal(st.peak_sigmoid_fused, 0);
    el_graph_free(og);
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    const int64_t dims[4] = {1, h, w, ic};
    for (int kind = 0; kind < EL_LOGIT_KINDS; kind++) {
        el_tensor x;
        assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, 4, dims), EL_OK);
        float *p = x.data;
        const int64_t n = el_tensor_numel(&x);
        el_test_rand_seed(21u + (uint32_t)kind);
        for (int64_t i = 0; i < n; i++) p[i] = el_test_frand() * (kind == EL_LOGIT_NARROW ? 0.2f : 8.0f);
        if (kind == EL_LOGIT_FLAT) /* every pixel but a few the same: each channel a plateau of ties (0, 1 or between) */
            for (int64_t i = 0; i < n; i++)
                if (i / ic % 97 != 5) p[i] = 20.0f * (float)(i % ic) - 30.0f;
        if (kind == EL_LOGIT_SPECIAL) {
            p[n / 2] = NAN, p[n / 3] = INFINITY, p[n / 5] = -INFINITY, p[7] = NAN;
            for (int64_t i = n / 7; i < n; i += n / 9 + 1) p[i] = 200.0f; /* Sigmoids of exactly 1 */
        }
        for (int i = 0; i < 3; i++) {
            if ((int)el_isa_available() < isas[i]) continue;
            el_conv_force_isa(isas[i]);
            for (int threads = 1; threads <= 2; threads++) {
                el_session_opts so = {.threads = threads};
                el_session *s2, *s3;
                if (el_session_create(g, 1, feeds, 2, fetch2, &so, &s2) != EL_OK) fail_msg("%s", el_last_error());
                if (el_session_create(g, 1, feeds, 3, fetch3, &so, &s3) != EL_OK) fail_msg("%s", el_last_error());
                el_tensor got[2], want[3];
                if (el_session_run(s2, &x, got) != EL_OK) fail_msg("%s", el_last_error());
                if (el_session_run(s3, &x, want) != EL_OK) fail_msg("%s", el_last_error());
                for (int o = 0; o < 2; o++) {
                    el_test_assert_shape(&got[o], want[o].ndim, want[o].dims);
                    if (memcmp(got[o].data, want[o].data, el_tensor_nbytes(&want[o])))
                        fail_msg("kind %d isa %d threads %d ks %d k %d: output %d differs", kind, isas[i], threads,
                                 (int)ks, (int)k, o);
                }
                for (int o = 0; o < 2; o++) el_tensor_release(&got[o]);
                for (int o = 0; o < 3; o++) el_tensor_release(&want[o]);
                el_session_free(s2);
                el_session_free(s3);
            }
        }
        el_conv_force_isa(-1);
        el_tensor_release(&x);
    }
    el_graph_free(g);
}

/* 3x3 (the vector window test) and 5x5 (25 taps: two chunks) peak tests,
 * k from 1 to most of the map. */
static void test_sigmoid_heatmap(void **state)
{
    (void)state;
    el_heat_check(40, 36, 8, 20, 3, 100);
    el_heat_check(40, 36, 8, 20, 3, 1);
    el_heat_check(17, 13, 5, 3, 5, 60);
    el_heat_check(6, 5, 4, 3, 3, 90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_rows_and_small),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_sigmoid_heatmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
