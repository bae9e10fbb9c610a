/* A ResizeBilinear read only by a ConcatV2 that takes the Mean (CenterNet's
 * upsampling into its head's concat) resized by the concat itself
 * (graph/optimize.c el_opt_concat_resize, ops/concat.c): the unfused
 * graph's bits for the concat and the Mean on every ISA, at 1 and 2
 * threads, on the fly (AVX-512, channels a multiple of 16) and through a
 * buffer (other channel counts, other ISAs), for align_corners /
 * half_pixel_centers, up and down, several images, either input order; a
 * resize read twice or fetched, or a concat without the Mean, stays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef struct cr_case {
    int64_t n, h, w, cx;  /* x: [n, h, w, cx] */
    int64_t sh, sw, cs;   /* s: [n, sh, sw, cs], resized to h x w */
    bool align, half;
    bool resized_first;   /* ConcatV2(r, x) instead of (x, r) */
    bool mean;            /* the Mean of Relu(cat) fetched through Neg */
    bool second_reader;   /* q = Neg(r) fetched too */
} cr_case;

static el_graph *cr_graph(const cr_case *c)
{
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "s", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    const int32_t size[2] = {(int32_t)c->h, (int32_t)c->w}, axes[2] = {1, 2};
    el_gb_const_i32(&b, "size", 2, size, NULL);
    el_gb_const_i32(&b, "axes", 2, axes, NULL);
    el_gb_scalar_i32(&b, "axis", 3, NULL);
    int r = el_gb_node(&b, "r", "ResizeBilinear", EL_IN("s", "size"));
    el_gb_attr_type(&b, r, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, r, "align_corners", c->align);
    el_gb_attr_bool(&b, r, "half_pixel_centers", c->half);
    int k = el_gb_node(&b, "cat", "ConcatV2", c->resized_first ? EL_IN("r", "x", "axis") : EL_IN("x", "r", "axis"));
    el_gb_attr_type(&b, k, "T", EL_DT_FLOAT);
    el_gb_attr_int(&b, k, "N", 2);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Relu", EL_IN("cat")), "T", EL_DT_FLOAT);
    int m = el_gb_node(&b, "m", "Mean", EL_IN("y", "axes"));
    el_gb_attr_type(&b, m, "T", EL_DT_FLOAT);
    el_gb_attr_bool(&b, m, "keep_dims", true);
    el_gb_attr_type(&b, el_gb_node(&b, "z", "Neg", EL_IN("m")), "T", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "q", "Neg", EL_IN("r")), "T", EL_DT_FLOAT);
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor cr_input(int64_t n, int64_t h, int64_t w, int64_t c, unsigned seed)
{
    el_tensor t;
    const int64_t dims[4] = {n, h, w, c};
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, dims), EL_OK);
    float *p = t.data;
    el_test_rand_seed(seed);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = el_test_frand() * 2.0f - 1.0f;
    return t;
}

/* Fetches y, then z (with the Mean), then q (with the second reader). */
static int cr_run(const el_graph *g, const cr_case *c, const el_tensor in[2], int threads, bool optimize,
                  el_tensor *out)
{
    const char *feeds[2] = {"x", "s"}, *fetches[3] = {"y", c->mean ? "z" : "q", "q"};
    const int nf = 1 + c->mean + c->second_reader;
    if (!c->mean && c->second_reader) fetches[1] = "q";
    el_session_opts so = {.threads = threads, .no_optimize = !optimize};
    el_session *s;
    if (el_session_create(g, 2, feeds, nf, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, in, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    return nf;
}

static void cr_check(cr_case c, bool fused)
{
    el_graph *g = cr_graph(&c);
    const char *feeds[2] = {"x", "s"}, *fetches[3] = {"y", c.mean ? "z" : "q", "q"};
    const int nf = 1 + c.mean + c.second_reader;
    if (!c.mean && c.second_reader) fetches[1] = "q";
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, nf, fetches, &st, &og), EL_OK);
    assert_int_equal(st.concat_resize_fused, fused ? 1 : 0);
    if (og) {
        assert_true((el_graph_find(og, "r") < 0) == fused);
        el_graph_free(og);
    }
    el_tensor in[2] = {cr_input(c.n, c.h, c.w, c.cx, 5), cr_input(c.n, c.sh, c.sw, c.cs, 7)};
    el_tensor want[3];
    cr_run(g, &c, in, 1, false, want);
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if ((int)el_isa_available() < isas[i]) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor got[3];
            cr_run(g, &c, in, threads, true, got);
            for (int o = 0; o < nf; o++) {
                el_test_assert_shape(&got[o], want[o].ndim, want[o].dims);
                if (memcmp(got[o].data, want[o].data, el_tensor_nbytes(&want[o])))
                    fail_msg("%lldx%lld <- %lldx%lld, %lld + %lld channels, align %d half %d first %d, isa %d "
                             "threads %d: output %d differs",
                             (long long)c.h, (long long)c.w, (long long)c.sh, (long long)c.sw, (long long)c.cx,
                             (long long)c.cs, c.align, c.half, c.resized_first, isas[i], threads, o);
                el_tensor_release(&got[o]);
            }
        }
    }
    el_conv_force_isa(-1);
    for (int o = 0; o < nf; o++) el_tensor_release(&want[o]);
    el_tensor_release(&in[0]);
    el_tensor_release(&in[1]);
    el_graph_free(g);
}

static void test_fused(void **state)
{
    (void)state;
    /* CenterNet's, a quarter: 32x32x64 up to 64x64 beside 64 channels. */
    cr_check((cr_case){.n = 1, .h = 64, .w = 64, .cx = 64, .sh = 32, .sw = 32, .cs = 64, .mean = true}, true);
    for (int v = 0; v < 8; v++) {
        cr_case c = {.n = 1 + (v & 1), .h = 19, .w = 23, .cx = 32, .sh = 7, .sw = 9, .cs = 48, .mean = true};
        c.align = v & 2, c.half = !c.align && (v & 4), c.resized_first = v & 4;
        cr_check(c, true);
    }
    /* Down, and channel counts the on-the-fly path does not take (a buffer). */
    cr_check((cr_case){.n = 1, .h = 9, .w = 5, .cx = 16, .sh = 20, .sw = 11, .cs = 16, .mean = true, .half = true},
             true);
    cr_check((cr_case){.n = 2, .h = 12, .w = 10, .cx = 24, .sh = 6, .sw = 5, .cs = 8, .mean = true}, true);
    cr_check((cr_case){.n = 1, .h = 12, .w = 10, .cx = 16, .sh = 6, .sw = 5, .cs = 3, .mean = true, .resized_first = true},
             true);
}

/* A second reader of the resize, or a concat without the Mean: unfused. */
static void test_not_fused(void **state)
{
    (void)state;
    cr_check((cr_case){.n = 1, .h = 12, .w = 10, .cx = 16, .sh = 6, .sw = 5, .cs = 16, .mean = true,
                       .second_reader = true},
             false);
    cr_check((cr_case){.n = 1, .h = 12, .w = 10, .cx = 16, .sh = 6, .sw = 5, .cs = 16}, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
        cmocka_unit_test(test_not_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
