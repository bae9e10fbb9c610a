/* A spatial Mean of a depthwise convolution summed by it as it stores its
 * rows (graph/optimize.c el_opt_conv_mean, ops/conv_mean.h): on every ISA
 * (the tiles' per-row sums on AVX-512 and AVX2, the sums of the stored
 * output on the reference path), at 1 and 2 threads, with the expansion
 * run inside the depthwise node (the ring of rows: 64 pixels and wider on
 * AVX-512) or before it, a squeeze-excite projection reading both outputs,
 * keep_dims true and false, several images, one pixel, one-pixel rows,
 * rows longer than EL_SUM_RUN_MAX: the mean is the documented order's bits
 * (each row's pixels in order into a float from +0, the rows' sums in
 * order into a double from 0; a column where rows are one pixel; every
 * pixel in double past EL_SUM_RUN_MAX) and the Mean kernel's, the
 * depthwise output the unfused graph's. A fetched Mean, other axes and a
 * Mean of a Conv2D stay as they are; an invalid attr is an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "ops/reduce_fast.h"
#include "testutil.h"

typedef enum act { ACT_NONE, ACT_RELU6, ACT_HSWISH } act;

typedef struct shape {
    int64_t n, h, w, ic, mc, k, stride; /* mc 0: no expansion (the depthwise reads x) */
    act da;                             /* after the depthwise convolution */
    bool keep;                          /* keep_dims: the projection reads d * m too */
    int32_t ax0, ax1;                   /* the Mean's axes */
    bool conv;                          /* a 3x3 Conv2D instead of the depthwise convolution */
} shape;

static int64_t el_chans(const shape *s) { return s->mc ? s->mc : s->ic; }

/* [e = Relu(BiasAdd(Conv2D(x, 1x1)))], d = da(BiasAdd(Depthwise(e or x))),
 * mean = Mean(d, axes), z = Neg(mean), y = Conv2D(Mul(d, mean), 1x1) (fetched
 * with keep_dims only). */
static el_graph *el_graph_of(const shape *s)
{
    el_test_rand_seed(41);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    const int64_t c = el_chans(s);
    const char *in = "x";
    if (s->mc) {
        int64_t we[4] = {1, 1, s->ic, s->mc}, be[1] = {s->mc};
        el_gb_const_f32_rand(&b, "we", 4, we);
        el_gb_const_f32_rand(&b, "be", 1, be);
        el_gb_conv_attrs(&b, el_gb_node(&b, "ec", "Conv2D", EL_IN("x", "we")), 1);
        el_gb_node(&b, "eb", "BiasAdd", EL_IN("ec", "be"));
        el_gb_node(&b, "e", "Relu", EL_IN("eb"));
        in = "e";
    }
    int64_t wd[4] = {s->k, s->k, c, s->conv ? c : 1}, bd[1] = {c};
    el_gb_const_f32_rand(&b, "wd", 4, wd);
    el_gb_const_f32_rand(&b, "bd", 1, bd);
    el_gb_conv_attrs(&b, el_gb_node(&b, "dc", s->conv ? "Conv2D" : "DepthwiseConv2dNative", EL_IN(in, "wd")),
                     s->stride);
    el_gb_node(&b, s->da == ACT_NONE ? "d" : "db", "BiasAdd", EL_IN("dc", "bd"));
    if (s->da == ACT_RELU6) el_gb_node(&b, "d", "Relu6", EL_IN("db"));
    else if (s->da == ACT_HSWISH) el_gb_hard_swish(&b, "db", "d");
    const int32_t axes[2] = {s->ax0, s->ax1};
    el_gb_const_i32(&b, "axes", 2, axes, NULL);
    int m = el_gb_node(&b, "mean", "Mean", EL_IN("d", "axes"));
    el_gb_attr_type(&b, m, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, m, "keep_dims", s->keep);
    el_gb_attr_type(&b, el_gb_node(&b, "z", "Neg", EL_IN("mean")), "T", EL_DT_FLOAT);
    int64_t wp[4] = {1, 1, c, 8};
    el_gb_const_f32_rand(&b, "wp", 4, wp);
    el_gb_node(&b, "se", "Mul", EL_IN("d", "mean"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "y", "Conv2D", EL_IN("se", "wp")), 1);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_cm_x(const shape *s)
{
    el_tensor x;
    const int64_t dims[4] = {s->n, s->h, s->w, s->ic};
    assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, 4, dims), EL_OK);
    float *p = x.data;
    el_test_rand_seed(7);
    for (int64_t i = 0; i < el_tensor_numel(&x); i++) p[i] = el_test_frand();
    return x;
}

/* What a run fetches: d, z, y (keep_dims), and the mean when unfused (the Mean
 * fetched stays); without d when !with_d (d then has two readers, the
 * projection and the mean's, as in squeeze-excite blocks). */
static int el_fetches(const shape *s, bool unfused, bool with_d, const char **f)
{
    int n = 0;
    if (with_d) f[n++] = "d";
    f[n++] = "z";
    if (s->keep) f[n++] = "y";
    if (unfused) f[n++] = "mean";
    return n;
}

static int el_run(const el_graph *g, const shape *s, bool unfused, bool with_d, const el_tensor *x, int threads,
                  el_tensor *out)
{
    const char *feeds[1] = {"x"}, *fetches[4];
    const int nf = el_fetches(s, unfused, with_d, fetches);
    el_session_opts so = {.threads = threads};
    el_session *ss;
    if (el_session_create(g, 1, feeds, nf, fetches, &so, &ss) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(ss, x, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(ss);
    return nf;
}

/* The documented order over d [n, h, w, c] (ops/reduce.c): runs of
 * pixels (a row, or the column where a row is one pixel) each summed in
 * float from +0, the runs' sums in double from 0 (every pixel in double
 * where the run is longer than EL_SUM_RUN_MAX), / (h * w); one pixel is
 * the pixel itself. */
static void el_mean_of(const el_tensor *d, float *want)
{
    const int64_t n = d->dims[0], h = d->dims[1], w = d->dims[2], c = d->dims[3];
    const int64_t run = w > 1 ? w : h, px = h * w;
    const float *p = d->data;
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < c; k++) {
            if (px == 1) {
                want[b * c + k] = p[b * c + k];
                continue;
            }
            double s = 0.0;
            for (int64_t i0 = 0; i0 < px; i0 += run) {
                if (run > EL_SUM_RUN_MAX) {
                    for (int64_t i = i0; i < i0 + run; i++) s += (double)p[(b * px + i) * c + k];
                    continue;
                }
                float r = 0.0f;
                for (int64_t i = i0; i < i0 + run; i++) r += p[(b * px + i) * c + k];
                s += (double)r;
            }
            want[b * c + k] = (float)(s / (double)px);
        }
}

static bool el_same_float(float a, float b) { return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof a); }

static void el_check(shape s, bool specials)
{
    el_graph *g = el_graph_of(&s);
    const char *feeds[1] = {"x"}, *fetches[4];
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 1, feeds, el_fetches(&s, false, true, fetches), fetches, &st, &og), EL_OK);
    assert_int_equal(st.conv_mean_fused, 1);
    assert_true(el_graph_find(og, "mean") < 0);
    el_graph_free(og);
    assert_int_equal(el_graph_optimize(g, 1, feeds, el_fetches(&s, false, false, fetches), fetches, &st, &og), EL_OK);
    el_graph_free(og);
    assert_int_equal(st.conv_mean_fused, 1);
    assert_int_equal(st.dw_pw_fused, 0);
    assert_int_equal(el_graph_optimize(g, 1, feeds, el_fetches(&s, true, true, fetches), fetches, &st, &og), EL_OK);
    el_graph_free(og);
    assert_int_equal(st.conv_mean_fused, 0);
    el_tensor x = el_cm_x(&s);
    if (specials) {
        float *p = x.data;
        p[3] = NAN, p[el_tensor_numel(&x) - 1] = INFINITY;
    }
    const int64_t c = el_chans(&s);
    float *want = malloc(sizeof(float) * (size_t)(s.n * c));
    assert_non_null(want);
    static const int isas[] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if (isas[i] > (int)el_isa_available()) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor a[4], b[4], c2[4];
            const int na = el_run(g, &s, false, true, &x, threads, a), nb = el_run(g, &s, true, true, &x, threads, b);
            const int nc = el_run(g, &s, false, false, &x, threads, c2);
            char what[160];
            snprintf(what, sizeof what, "n %lld h %lld w %lld c %lld k %lld stride %lld keep %d isa %d threads %d",
                     (long long)s.n, (long long)s.h, (long long)s.w, (long long)c, (long long)s.k,
                     (long long)s.stride, s.keep, isas[i], threads);
            /* The depthwise output is the unfused graph's. */
            el_test_assert_shape(&a[0], b[0].ndim, b[0].dims);
            if (memcmp(a[0].data, b[0].data, el_tensor_nbytes(&b[0]))) fail_msg("%s: d differs", what);
            /* The mean: the documented order's bits. */
            el_mean_of(&a[0], want);
            const int64_t zd[4] = {s.n, 1, 1, c};
            el_test_assert_shape(&a[1], s.keep ? 4 : 2, s.keep ? zd : (const int64_t[]){s.n, c});
            const float *z = a[1].data;
            for (int64_t k = 0; k < s.n * c; k++)
                if (!el_same_float(-z[k], want[k]))
                    fail_msg("%s: mean %lld is %.9g, want %.9g", what, (long long)k, (double)-z[k], (double)want[k]);
            /* The Mean kernel's bits, and what reads it to rounding. */
            const float *zm = b[1].data;
            for (int64_t k = 0; k < s.n * c; k++)
                if (!el_same_float(z[k], zm[k]))
                    fail_msg("%s: mean %lld is %.9g, the Mean kernel's %.9g", what, (long long)k, (double)-z[k],
                             (double)-zm[k]);
            if (s.keep) el_test_assert_close_rel(&a[2], &b[2], 1e-5f, what);
            /* Without d fetched: the same bits. */
            for (int o = 0; o < nc; o++) {
                if (memcmp(c2[o].data, a[o + 1].data, el_tensor_nbytes(&a[o + 1])))
                    fail_msg("%s: output %d differs without d fetched", what, o + 1);
                el_tensor_release(&c2[o]);
            }
            for (int o = 0; o < na; o++) el_tensor_release(&a[o]);
            for (int o = 0; o < nb; o++) el_tensor_release(&b[o]);
        }
    }
    el_conv_force_isa(-1);
    free(want);
    el_tensor_release(&x);
    el_graph_free(g);
}

static void test_fused(void **state)
{
    (void)state;
    /* MobileNetV3's expanded_conv_3: stride 2, 72 channels (a masked vector). */
    el_check((shape){.n = 1, .h = 12, .w = 10, .ic = 72, .k = 5, .stride = 2, .keep = true, .ax0 = 1, .ax1 = 2},
             false);
    /* The expansion inside (the ring: 64 pixels), hard swish in the tiles, two images. */
    el_check((shape){.n = 2, .h = 7, .w = 66, .ic = 24, .mc = 96, .k = 3, .stride = 1, .da = ACT_HSWISH,
                     .keep = true, .ax0 = 2, .ax1 = 1},
             false);
    /* The expansion first (narrow rows), channel chunks (528), Relu6, keep_dims false. */
    el_check((shape){.n = 1, .h = 6, .w = 9, .ic = 16, .mc = 528, .k = 5, .stride = 1, .da = ACT_RELU6,
                     .ax0 = 1, .ax1 = 2},
             false);
    /* Stride 2 from the ring, odd channels, NaN and infinity in the sums. */
    el_check((shape){.n = 1, .h = 9, .w = 130, .ic = 8, .mc = 21, .k = 3, .stride = 2, .keep = true, .ax0 = 1,
                     .ax1 = 2},
             true);
    /* Rows of one pixel (the runs are the columns), and rows longer than
     * EL_SUM_RUN_MAX (every pixel in double). */
    el_check((shape){.n = 2, .h = 11, .w = 1, .ic = 24, .k = 3, .stride = 1, .keep = true, .ax0 = 1, .ax1 = 2},
             false);
    el_check((shape){.n = 1, .h = 3, .w = 300, .ic = 20, .k = 3, .stride = 1, .da = ACT_RELU6, .keep = true,
                     .ax0 = 1, .ax1 = 2},
             false);
    /* One pixel (the Mean forwards it), two images. */
    el_check((shape){.n = 2, .h = 1, .w = 1, .ic = 40, .k = 3, .stride = 1, .da = ACT_HSWISH, .keep = true,
                     .ax0 = 1, .ax1 = 2},
             false);
}

/* Other axes, a Conv2D's Mean: not fused (and the same results). */
static void test_not_fused(void **state)
{
    (void)state;
    const char *feeds[1] = {"x"}, *fetches[3] = {"d", "z", "y"};
    const shape cases[2] = {
        {.n = 1, .h = 5, .w = 6, .ic = 16, .k = 3, .stride = 1, .keep = true, .ax0 = 1, .ax1 = 3},
        {.n = 1, .h = 5, .w = 6, .ic = 16, .k = 3, .stride = 1, .keep = true, .ax0 = 1, .ax1 = 2, .conv = true},
    };
    for (int i = 0; i < 2; i++) {
        el_graph *g = el_graph_of(&cases[i]);
        el_optimize_stats st;
        el_graph *og;
        assert_int_equal(el_graph_optimize(g, 1, feeds, 3, fetches, &st, &og), EL_OK);
        el_graph_free(og);
        assert_int_equal(st.conv_mean_fused, 0);
        el_graph_free(g);
    }
}

/* A model's own depthwise node with the private attr: 2 gives the mean as
 * output 1, another value is an error, not a crash. */
static void test_attr_in_model(void **state)
{
    (void)state;
    for (int v = 2; v <= 3; v++) {
        el_gb b;
        el_gb_init(&b);
        el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
        const int64_t wd[4] = {3, 3, 4, 1};
        el_gb_const_f32_rand(&b, "wd", 4, wd);
        int d = el_gb_node(&b, "d", "DepthwiseConv2dNative", EL_IN("x", "wd"));
        el_gb_conv_attrs(&b, d, 1);
        el_gb_attr_int(&b, d, "_el_mean", v);
        el_gb_attr_type(&b, el_gb_node(&b, "z", "Neg", EL_IN("d:1")), "T", EL_DT_FLOAT);
        el_graph *g;
        assert_int_equal(el_gb_finish(&b, &g), EL_OK);
        const shape s = {.n = 1, .h = 3, .w = 5, .ic = 4};
        el_tensor x = el_cm_x(&s), out[2];
        const char *feeds[1] = {"x"}, *fetches[2] = {"d", "z"};
        el_session_opts so = {.threads = 1, .no_optimize = true};
        el_session *ss;
        assert_int_equal(el_session_create(g, 1, feeds, 2, fetches, &so, &ss), EL_OK);
        el_status rs = el_session_run(ss, &x, out);
        if (v == 2) {
            assert_int_equal(rs, EL_OK);
            float want[4];
            el_mean_of(&out[0], want);
            const int64_t zd[4] = {1, 1, 1, 4};
            el_test_assert_shape(&out[1], 4, zd);
            for (int k = 0; k < 4; k++) assert_true(el_same_float(-((const float *)out[1].data)[k], want[k]));
            el_tensor_release(&out[0]);
            el_tensor_release(&out[1]);
        } else {
            assert_int_not_equal(rs, EL_OK);
            assert_non_null(strstr(el_last_error(), "_el_mean"));
        }
        el_session_free(ss);
        el_tensor_release(&x);
        el_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_attr_in_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
