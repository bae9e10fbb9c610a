/* A ConcatV2 that takes the Mean (CenterNet's head: Relu, squeeze-excite
 * Mean, the upsampled half resized on the fly) read only by depthwise-then-1x1
 * row fusions: the readers make the concat's rows themselves and the concat
 * makes only its Mean (graph/optimize.c el_opt_concat_rows, ops/concat.c
 * el_concat_rows_span, ops/conv.c el_conv_cat). The fused graph gives the
 * bits of the same graph with one more reader of the concat (a lone
 * depthwise convolution, which keeps it unfused) on every ISA at 1 and 2
 * threads: with and without the resize, negated input, channel counts that
 * are not multiples of 16, several images, rows too narrow for the row
 * kernels, the size head read at some pixels (el_conv_at); a concat with no
 * Mean (the heads read its Relu directly) goes away. A concat fetched
 * stays; inputs that do not concatenate fail as the concat fails. */
#include <stdlib.h>
#include <string.h>

#include "edgelens/engine.h"
#include "graph/optimize.h"
#include "graph_builder.h"
#include "ops/conv_fast.h"
#include "testutil.h"

typedef struct rw_case {
    int64_t n, h, w, cx;  /* x: [n, h, w, cx] */
    int64_t sh, sw, cs;   /* s: [n, sh, sw, cs], resized to h x w (resize), else sh = h, sw = w */
    int64_t oc, k;        /* the class head's 1x1 outputs, the depthwise window */
    bool resize, align, half, neg;
    bool at;              /* the size head gathered at fed pixels too (one image only) */
    bool nomean;          /* no squeeze-excite: the heads read Relu(concat) itself (CenterNet's upsampling concats) */
} rw_case;

/* The head: y = Relu(ConcatV2(x or Neg(x), Resize(s) or s)), m = Mean(y),
 * sc = Sigmoid(m) (fetched), ys = Mul(y, sc) read by the class head "cls"
 * (depthwise + bias, 1x1 + bias) and, with at, the size head gathered at
 * "idx" ("g"); with extra, a lone depthwise convolution "e" reads ys. */
static el_graph *rw_graph(const rw_case *c, bool extra)
{
    el_test_rand_seed(3);
    el_gb b;
    el_gb_init(&b);
    el_gb_attr_type(&b, el_gb_node(&b, "x", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "s", "Placeholder", EL_NOIN), "dtype", EL_DT_FLOAT);
    el_gb_attr_type(&b, el_gb_node(&b, "idx", "Placeholder", EL_NOIN), "dtype", EL_DT_INT32);
    const int32_t size[2] = {(int32_t)c->h, (int32_t)c->w}, axes[2] = {1, 2};
    el_gb_const_i32(&b, "size", 2, size, NULL);
    el_gb_const_i32(&b, "axes", 2, axes, NULL);
    el_gb_scalar_i32(&b, "axis", 3, NULL);
    if (c->resize) {
        int r = el_gb_node(&b, "r", "ResizeBilinear", EL_IN("s", "size"));
        el_gb_attr_type(&b, r, "T", EL_DT_FLOAT);
        el_gb_attr_bool(&b, r, "align_corners", c->align);
        el_gb_attr_bool(&b, r, "half_pixel_centers", c->half);
    }
    if (c->neg) el_gb_attr_type(&b, el_gb_node(&b, "nx", "Neg", EL_IN("x")), "T", EL_DT_FLOAT);
    int k = el_gb_node(&b, "cat", "ConcatV2", EL_IN(c->neg ? "nx" : "x", c->resize ? "r" : "s", "axis"));
    el_gb_attr_type(&b, k, "T", EL_DT_FLOAT);
    el_gb_attr_int(&b, k, "N", 2);
    el_gb_attr_type(&b, el_gb_node(&b, "y", "Relu", EL_IN("cat")), "T", EL_DT_FLOAT);
    if (c->nomean) {
        el_gb_node(&b, "ys", "Identity", EL_IN("y"));
    } else {
        int m = el_gb_node(&b, "m", "Mean", EL_IN("y", "axes"));
        el_gb_attr_type(&b, m, "T", EL_DT_FLOAT);
        el_gb_attr_bool(&b, m, "keep_dims", true);
        el_gb_attr_type(&b, el_gb_node(&b, "sc", "Sigmoid", EL_IN("m")), "T", EL_DT_FLOAT);
        el_gb_attr_type(&b, el_gb_node(&b, "ys", "Mul", EL_IN("y", "sc")), "T", EL_DT_FLOAT);
    }
    const int64_t ch = c->cx + c->cs, dwd[4] = {c->k, c->k, ch, 1}, cd[1] = {ch}, pwd[4] = {1, 1, ch, c->oc},
                  od[1] = {c->oc}, whd[4] = {1, 1, ch, 4}, wd[1] = {4};
    el_gb_const_f32_rand(&b, "dw_w", 4, dwd);
    el_gb_const_f32_rand(&b, "dw_b", 1, cd);
    el_gb_const_f32_gen(&b, "pw_w", 4, pwd, el_test_frand, 0.3f);
    el_gb_const_f32_rand(&b, "pw_b", 1, od);
    el_gb_conv_attrs(&b, el_gb_node(&b, "dw", "DepthwiseConv2dNative", EL_IN("ys", "dw_w")), 1);
    el_gb_node(&b, "dw_bias", "BiasAdd", EL_IN("dw", "dw_b"));
    el_gb_conv_attrs(&b, el_gb_node(&b, "pw", "Conv2D", EL_IN("dw_bias", "pw_w")), 1);
    el_gb_node(&b, "cls", "BiasAdd", EL_IN("pw", "pw_b"));
    if (c->at) {
        el_gb_const_f32_rand(&b, "wdw_w", 4, dwd);
        el_gb_const_f32_gen(&b, "wpw_w", 4, whd, el_test_frand, 0.3f);
        el_gb_const_f32_rand(&b, "wpw_b", 1, wd);
        el_gb_conv_attrs(&b, el_gb_node(&b, "wdw", "DepthwiseConv2dNative", EL_IN("ys", "wdw_w")), 1);
        el_gb_conv_attrs(&b, el_gb_node(&b, "wpw", "Conv2D", EL_IN("wdw", "wpw_w")), 1);
        el_gb_node(&b, "wh", "BiasAdd", EL_IN("wpw", "wpw_b"));
        const int32_t shape[2] = {-1, 4};
        el_gb_const_i32(&b, "shape", 2, shape, NULL);
        el_gb_node(&b, "flat", "Reshape", EL_IN("wh", "shape"));
        el_gb_scalar_i32(&b, "gaxis", 0, NULL);
        int g = el_gb_node(&b, "g", "GatherV2", EL_IN("flat", "idx", "gaxis"));
        el_gb_attr_type(&b, g, "Tparams", EL_DT_FLOAT);
        el_gb_attr_type(&b, g, "Tindices", EL_DT_INT32);
    }
    if (extra) {
        el_gb_const_f32_rand(&b, "e_w", 4, dwd);
        el_gb_conv_attrs(&b, el_gb_node(&b, "e", "DepthwiseConv2dNative", EL_IN("ys", "e_w")), 1);
    }
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor rw_input(int64_t n, int64_t h, int64_t w, int64_t c, unsigned seed)
{
    el_tensor t;
    const int64_t dims[4] = {n, h, w, c};
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 4, dims), EL_OK);
    float *p = t.data;
    el_test_rand_seed(seed);
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) p[i] = el_test_frand() * 2.0f - 1.0f;
    return t;
}

/* The fetches: cls, sc, then g (at), then e (extra). */
static int rw_fetches(const rw_case *c, bool extra, const char **f)
{
    int n = 0;
    f[n++] = "cls";
    if (!c->nomean) f[n++] = "sc";
    if (c->at) f[n++] = "g";
    if (extra) f[n++] = "e";
    return n;
}

static void rw_run(const el_graph *g, const rw_case *c, bool extra, const el_tensor in[3], int threads,
                   el_tensor *out)
{
    const char *feeds[3] = {"x", "s", "idx"}, *fetches[4];
    const int nf = rw_fetches(c, extra, fetches);
    el_session_opts so = {.threads = threads};
    el_session *s;
    if (el_session_create(g, 2 + c->at, feeds, nf, fetches, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    if (el_session_run(s, in, out) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
}

static void rw_check(rw_case c)
{
    el_graph *g = rw_graph(&c, false), *ge = rw_graph(&c, true);
    const char *feeds[3] = {"x", "s", "idx"}, *fetches[4];
    el_optimize_stats st;
    el_graph *og;
    int nf = rw_fetches(&c, false, fetches);
    const int nout = nf;
    assert_int_equal(el_graph_optimize(g, 2 + c.at, feeds, nf, fetches, &st, &og), EL_OK);
    assert_int_equal(st.concat_rows_fused, 1);
    assert_int_equal(st.dw_pw_fused, 1 + c.at);
    /* Without a Mean nothing is left for the concat to make. */
    bool concat_left = false;
    for (int i = 0; i < og->nnodes; i++) concat_left |= !strcmp(og->nodes[i].op, "ConcatV2");
    assert_int_equal(concat_left, !c.nomean);
    el_graph_free(og);
    nf = rw_fetches(&c, true, fetches);
    assert_int_equal(el_graph_optimize(ge, 2 + c.at, feeds, nf, fetches, &st, &og), EL_OK);
    assert_int_equal(st.concat_rows_fused, 0);
    assert_int_equal(st.concat_mean_fused, !c.nomean);
    el_graph_free(og);

    el_tensor in[3] = {rw_input(c.n, c.h, c.w, c.cx, 5), rw_input(c.n, c.sh, c.sw, c.cs, 7), {0}};
    /* Corners, borders, a repeat, the rest spread over the map. */
    const int64_t np = 16;
    assert_int_equal(el_tensor_alloc(&in[2], EL_DT_INT32, 1, &np), EL_OK);
    int32_t *ix = in[2].data;
    const int64_t hw = c.h * c.w;
    const int32_t fixed[6] = {0, (int32_t)(c.w - 1), (int32_t)(hw - c.w), (int32_t)(hw - 1), (int32_t)(c.w + 1), 0};
    for (int64_t p = 0; p < np; p++) ix[p] = p < 6 ? fixed[p] : (int32_t)((p * 7919) % hw);
    const int isas[3] = {EL_ISA_AVX512, EL_ISA_AVX2, EL_ISA_REF};
    for (int i = 0; i < 3; i++) {
        if ((int)el_isa_available() < isas[i]) continue;
        el_conv_force_isa(isas[i]);
        for (int threads = 1; threads <= 2; threads++) {
            el_tensor got[4], want[4];
            rw_run(g, &c, false, in, threads, got);
            rw_run(ge, &c, true, in, threads, want);
            for (int o = 0; o < nout; o++) {
                el_test_assert_shape(&got[o], want[o].ndim, want[o].dims);
                if (memcmp(got[o].data, want[o].data, el_tensor_nbytes(&want[o])))
                    fail_msg("%lldx%lldx%lld + %lld (from %lldx%lld) -> %lld, k %lld, resize %d neg %d, isa %d "
                             "threads %d: output %d differs",
                             (long long)c.h, (long long)c.w, (long long)c.cx, (long long)c.cs, (long long)c.sh,
                             (long long)c.sw, (long long)c.oc, (long long)c.k, c.resize, c.neg, isas[i], threads, o);
            }
            for (int o = 0; o < nout; o++) el_tensor_release(&got[o]);
            for (int o = 0; o < nout + 1; o++) el_tensor_release(&want[o]);
        }
    }
    el_conv_force_isa(-1);
    for (int i = 0; i < 3; i++) el_tensor_release(&in[i]);
    el_graph_free(g);
    el_graph_free(ge);
}

static void test_fused(void **state)
{
    (void)state;
    /* CenterNet's, smaller: 32 + 32 channels, the second half upsampled 2x. */
    rw_check((rw_case){.n = 1, .h = 40, .w = 48, .cx = 32, .sh = 20, .sw = 24, .cs = 32, .oc = 40, .k = 3,
                       .resize = true, .at = true});
    /* Channels that are not multiples of 16, align / half-pixel centres, a negated input, 5x5. */
    rw_check((rw_case){.n = 1, .h = 37, .w = 35, .cx = 24, .sh = 13, .sw = 11, .cs = 20, .oc = 6, .k = 3,
                       .resize = true, .align = true, .neg = true, .at = true});
    rw_check((rw_case){.n = 1, .h = 33, .w = 40, .cx = 16, .sh = 17, .sw = 20, .cs = 16, .oc = 33, .k = 5,
                       .resize = true, .half = true});
    /* No resize; two images; rows too narrow for the row kernels. */
    rw_check((rw_case){.n = 1, .h = 34, .w = 36, .cx = 16, .sh = 34, .sw = 36, .cs = 8, .oc = 8, .k = 3, .at = true});
    rw_check((rw_case){.n = 2, .h = 20, .w = 40, .cx = 16, .sh = 10, .sw = 20, .cs = 16, .oc = 24, .k = 3,
                       .resize = true, .neg = true});
    rw_check((rw_case){.n = 1, .h = 12, .w = 10, .cx = 8, .sh = 6, .sw = 5, .cs = 8, .oc = 5, .k = 3, .resize = true,
                        .at = true});
    /* No Mean (CenterNet's upsampling concats): the concat goes away. */
    rw_check((rw_case){.n = 1, .h = 40, .w = 48, .cx = 32, .sh = 20, .sw = 24, .cs = 32, .oc = 40, .k = 3,
                       .resize = true, .nomean = true});
    rw_check((rw_case){.n = 2, .h = 33, .w = 40, .cx = 24, .sh = 33, .sw = 40, .cs = 20, .oc = 6, .k = 5,
                       .neg = true, .nomean = true, .at = false});
    rw_check((rw_case){.n = 1, .h = 34, .w = 36, .cx = 16, .sh = 17, .sw = 18, .cs = 16, .oc = 8, .k = 3,
                       .resize = true, .half = true, .nomean = true, .at = true});
}

/* The concat fetched (through its Relu), or the Mean not taken: unfused;
 * inputs of other sizes fail with the concat's message. */
static void test_not_fused(void **state)
{
    (void)state;
    rw_case c = {.n = 1, .h = 40, .w = 48, .cx = 32, .sh = 20, .sw = 24, .cs = 32, .oc = 40, .k = 3, .resize = true};
    el_graph *g = rw_graph(&c, false);
    const char *feeds[2] = {"x", "s"}, *fetch_y[2] = {"cls", "y"}, *fetch_cls[1] = {"cls"};
    el_optimize_stats st;
    el_graph *og;
    assert_int_equal(el_graph_optimize(g, 2, feeds, 2, fetch_y, &st, &og), EL_OK);
    assert_int_equal(st.concat_rows_fused, 0);
    el_graph_free(og);
    assert_int_equal(el_graph_optimize(g, 2, feeds, 1, fetch_cls, &st, &og), EL_OK);
    assert_int_equal(st.concat_rows_fused, 1);
    el_graph_free(og);

    /* x of another height than the resize's size: the ConcatV2 kernel's error. */
    el_tensor in[2] = {rw_input(1, 39, 48, 32, 5), rw_input(1, 20, 24, 32, 7)}, out[1];
    el_session *s;
    el_session_opts so = {.threads = 1};
    if (el_session_create(g, 2, feeds, 1, fetch_cls, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_not_equal(el_session_run(s, in, out), EL_OK);
    assert_non_null(strstr(el_last_error(), "ConcatOp"));
    el_session_free(s);
    /* The same without a Mean: no concat node is left, the reader runs its kernel and fails alike. */
    el_graph_free(g);
    c.nomean = true;
    g = rw_graph(&c, false);
    if (el_session_create(g, 2, feeds, 1, fetch_cls, &so, &s) != EL_OK) fail_msg("%s", el_last_error());
    assert_int_not_equal(el_session_run(s, in, out), EL_OK);
    assert_non_null(strstr(el_last_error(), "ConcatOp"));
    el_session_free(s);
    el_tensor_release(&in[0]);
    el_tensor_release(&in[1]);
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
