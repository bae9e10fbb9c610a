/* el_session_opts.precision: parsing, the error on a CPU without bf16, and
 * sessions in bf16 (with and without the graph passes, so both the
 * optimized copy and a plain private copy get the packed filters) agreeing
 * with fp32 to bf16 rounding and differing from it (the bf16 kernels ran). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph_builder.h"
#include "graph/precision.h"
#include "ops/conv_bf16.h"
#include "ops/gemm.h"
#include "testutil.h"

static uint32_t el_seed = 99;
static float el_frand(void)
{
    el_seed = el_seed * 1664525u + 1013904223u;
    return (float)((el_seed >> 8) % 20001) / 10000.0f - 1.0f;
}

static void test_parse(void **state)
{
    (void)state;
    el_precision p = EL_PRECISION_BF16;
    assert_int_equal(el_precision_parse("fp32", &p), EL_OK);
    assert_int_equal(p, EL_PRECISION_FP32);
    assert_int_equal(el_precision_parse("bfloat16", &p), EL_OK);
    assert_int_equal(p, EL_PRECISION_BF16);
    assert_int_equal(el_precision_parse("float32", &p), EL_OK);
    assert_int_equal(el_precision_parse("bf16", &p), EL_OK);
    assert_int_equal(el_precision_parse("int8", &p), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "expected fp32, bf16, bf16x3 or auto"));
    assert_int_equal(el_precision_parse("bf16x3", &p), EL_OK);
    assert_int_equal(p, EL_PRECISION_BF16X3);
    assert_string_equal(el_precision_name(p), "bf16x3");
    assert_int_equal(el_precision_parse("auto", &p), EL_OK);
    assert_int_equal(p, EL_PRECISION_AUTO);
    assert_string_equal(el_precision_name(p), "auto");
    /* auto: bf16x3 exactly where bf16x3 runs. */
    bool amx = el_precision_check(EL_PRECISION_BF16X3) == EL_OK;
    assert_int_equal(el_precision_resolve(EL_PRECISION_AUTO), amx ? EL_PRECISION_BF16X3 : EL_PRECISION_FP32);
    assert_int_equal(el_precision_resolve(EL_PRECISION_BF16), EL_PRECISION_BF16);
    assert_int_equal(el_precision_check(EL_PRECISION_AUTO), EL_OK);
    assert_string_equal(el_precision_isa(EL_PRECISION_AUTO), amx ? "amx" : "fp32");
    if (!amx) assert_non_null(strstr(el_last_error(), "bf16x3 needs AMX"));
    assert_int_equal(el_precision_parse(NULL, &p), EL_ERR_INVALID_ARG);
    assert_string_equal(el_precision_name(EL_PRECISION_BF16), "bf16");
    assert_string_equal(el_precision_name(EL_PRECISION_FP32), "fp32");
    assert_int_equal(el_precision_check(EL_PRECISION_FP32), EL_OK);
    assert_string_equal(el_precision_isa(EL_PRECISION_FP32), "fp32");
}

/* x [1,9,7,24] -> Conv2D 3x3 (24 -> 40) -> BiasAdd -> Relu6 -> Conv2D 1x1 (40 -> 19);
 * with `shared`, an Identity reads w2 too. */
static el_graph *el_convs(bool shared)
{
    el_gb b;
    el_gb_init(&b);
    int x = el_gb_node(&b, "x", "Placeholder", EL_NOIN);
    el_gb_attr_type(&b, x, "dtype", EL_DT_FLOAT);
    const int64_t wd[2][4] = {{3, 3, 24, 40}, {1, 1, 40, 19}}, bd[1] = {40};
    const char *names[3] = {"w1", "w2", "bias"};
    for (int k = 0; k < 3; k++) {
        int n = el_gb_node(&b, names[k], "Const", EL_NOIN);
        el_gb_attr_type(&b, n, "dtype", EL_DT_FLOAT);
        el_node *nd = &b.g->nodes[n];
        el_attr *a = &nd->attrs[nd->nattrs++];
        a->name = "value";
        a->type = EL_ATTR_TENSOR;
        assert_int_equal(el_tensor_alloc(&a->v.tensor, EL_DT_FLOAT, k < 2 ? 4 : 1, k < 2 ? wd[k] : bd), EL_OK);
        for (int64_t i = 0; i < el_tensor_numel(&a->v.tensor); i++) ((float *)a->v.tensor.data)[i] = el_frand();
    }
    const int64_t s[4] = {1, 1, 1, 1};
    int c1 = el_gb_node(&b, "c1", "Conv2D", EL_IN("x", "w1"));
    el_gb_node(&b, "b1", "BiasAdd", EL_IN("c1", "bias"));
    el_gb_node(&b, "r1", "Relu6", EL_IN("b1"));
    int c2 = el_gb_node(&b, "c2", "Conv2D", EL_IN("r1", "w2"));
    if (shared) el_gb_node(&b, "w2_copy", "Identity", EL_IN("w2"));
    for (int n = c1; n <= c2; n += c2 - c1) {
        el_gb_attr_ints(&b, n, "strides", 4, s);
        el_gb_attr_str(&b, n, "padding", "SAME");
        el_gb_attr_type(&b, n, "T", EL_DT_FLOAT);
    }
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    return g;
}

static el_tensor el_run(const el_graph *g, const el_session_opts *o, const el_tensor *x)
{
    const char *feeds[] = {"x"}, *fetches[] = {"c2"};
    el_session *s;
    if (el_session_create(g, 1, feeds, 1, fetches, o, &s) != EL_OK) fail_msg("%s", el_last_error());
    el_tensor y;
    if (el_session_run(s, x, &y) != EL_OK) fail_msg("%s", el_last_error());
    el_session_free(s);
    return y;
}

/* el_convs' input x [1,9,7,24], random. */
static el_tensor el_convs_x(void)
{
    const int64_t xd[4] = {1, 9, 7, 24};
    el_tensor x;
    assert_int_equal(el_tensor_alloc(&x, EL_DT_FLOAT, 4, xd), EL_OK);
    for (int64_t i = 0; i < el_tensor_numel(&x); i++) ((float *)x.data)[i] = el_frand();
    return x;
}

/* Largest |ref - y| and largest |ref| over two tensors of one shape. */
static void el_max_diff(const el_tensor *ref, const el_tensor *y, float *maxd, float *maxv)
{
    const float *a = ref->data, *f = y->data;
    *maxd = *maxv = 0;
    for (int64_t i = 0; i < el_tensor_numel(y); i++) {
        *maxd = fmaxf(*maxd, fabsf(a[i] - f[i]));
        *maxv = fmaxf(*maxv, fabsf(a[i]));
    }
}

static void test_sessions(void **state)
{
    (void)state;
    el_graph *g = el_convs(false);
    el_tensor x = el_convs_x();

    /* No bf16 ISA (forced): a clear error, no session. */
    el_bf16_force_isa(EL_BF16_NONE);
    assert_int_equal(el_precision_check(EL_PRECISION_BF16), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "bf16 needs AVX512-BF16 or AMX; this CPU has neither"));
    assert_null(el_precision_isa(EL_PRECISION_BF16));
    const char *feeds[] = {"x"}, *fetches[] = {"c2"};
    el_session *s = (el_session *)1;
    el_session_opts bf = {.precision = EL_PRECISION_BF16};
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &bf, &s), EL_ERR_UNSUPPORTED);
    assert_null(s);
    el_bf16_force_isa(-1);

    if (el_bf16_isa_available() == EL_BF16_NONE) {
        printf("no AVX512-BF16 / AMX here: bf16 sessions not run\n");
    } else {
        el_tensor ref = el_run(g, NULL, &x);
        for (int isa = EL_BF16_AVX512; isa <= (int)el_bf16_isa_available(); isa++)
            for (int noopt = 0; noopt < 2; noopt++) {
                el_bf16_force_isa(isa);
                el_session_opts o = {.precision = EL_PRECISION_BF16, .no_optimize = noopt};
                el_tensor y = el_run(g, &o, &x);
                el_bf16_force_isa(-1);
                el_test_assert_shape(&y, ref.ndim, ref.dims);
                float maxd, maxv;
                el_max_diff(&ref, &y, &maxd, &maxv);
                printf("isa %d, graph passes %s: max |bf16 - fp32| %.4g (max |fp32| %.4g)\n", isa,
                       noopt ? "off" : "on", (double)maxd, (double)maxv);
                /* Sums of 216 and 40 products, each factor off by <= 2^-9
                 * relative after rounding: well under 1% of the largest output. */
                assert_true(maxd > 0 && maxd < 0.01f * (1 + maxv));
                el_tensor_release(&y);
            }
        el_tensor_release(&ref);
    }
    el_tensor_release(&x);
    el_graph_free(g);
}

/* bf16x3 sessions: within 2^-14 of the largest output of fp32 (16
 * significant bits per operand), graph passes on and off; without AMX
 * (forced) a clear error, and auto then runs fp32 bit for bit. */
static void test_sessions_x3(void **state)
{
    (void)state;
    el_graph *g = el_convs(false);
    el_tensor x = el_convs_x();
    el_tensor ref = el_run(g, NULL, &x);

    el_bf16_force_isa(EL_BF16_AVX512);
    assert_int_equal(el_precision_check(EL_PRECISION_BF16X3), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "bf16x3 needs AMX"));
    const char *feeds[] = {"x"}, *fetches[] = {"c2"};
    el_session *s = (el_session *)1;
    el_session_opts x3 = {.precision = EL_PRECISION_BF16X3}, au = {.precision = EL_PRECISION_AUTO};
    assert_int_equal(el_session_create(g, 1, feeds, 1, fetches, &x3, &s), EL_ERR_UNSUPPORTED);
    assert_null(s);
    el_tensor y = el_run(g, &au, &x);
    assert_memory_equal(y.data, ref.data, el_tensor_nbytes(&ref));
    el_tensor_release(&y);
    el_bf16_force_isa(-1);

    if (el_precision_check(EL_PRECISION_BF16X3) != EL_OK) {
        printf("no AMX here: bf16x3 sessions not run\n");
    } else {
        for (int noopt = 0; noopt < 2; noopt++)
            for (int autop = 0; autop < 2; autop++) {
                el_session_opts o = {.precision = autop ? EL_PRECISION_AUTO : EL_PRECISION_BF16X3, .no_optimize = noopt};
                y = el_run(g, &o, &x);
                el_test_assert_shape(&y, ref.ndim, ref.dims);
                float maxd, maxv;
                el_max_diff(&ref, &y, &maxd, &maxv);
                printf("bf16x3%s, graph passes %s: max |bf16x3 - fp32| %.4g (max |fp32| %.4g)\n", autop ? " (auto)" : "",
                       noopt ? "off" : "on", (double)maxd, (double)maxv);
                assert_true(maxd < 0x1p-14f * (1 + maxv));
                el_tensor_release(&y);
            }
    }
    el_tensor_release(&ref);
    el_tensor_release(&x);
    el_graph_free(g);
}

/* The pass puts the packed filter in place of the fp32 one in a private
 * copy (the copy's only reference to the fp32 data goes) and leaves the
 * source graph alone. */
static void test_pass(void **state)
{
    (void)state;
    el_graph *g = el_convs(false), *c;
    assert_int_equal(el_graph_clone(g, &c), EL_OK);
    const el_tensor *w1 = &el_node_attr(&g->nodes[el_graph_find(g, "w1")], "value")->v.tensor;
    void *w1_data = w1->data;
    int n = -1;
    assert_int_equal(el_graph_pack_bf16(c, false, 1, (const char *const[]){"x"}, 1, (const char *const[]){"c2"}, &n), EL_OK);
    assert_int_equal(n, 2);
    const el_node *c1 = &c->nodes[el_graph_find(c, "c1")], *cw1 = &c->nodes[el_graph_find(c, "w1")];
    const el_tensor *p = &el_node_attr(cw1, "value")->v.tensor;
    assert_int_equal(p->dtype, EL_DT_INT16);
    assert_int_equal(el_tensor_numel(p), el_bf16_packed_len(3 * 3 * 24, 40));
    el_dtype dt = EL_DT_INVALID;
    assert_int_equal(el_attr_dtype(cw1, "dtype", EL_DT_INVALID, &dt), EL_OK);
    assert_int_equal(dt, EL_DT_INT16);
    el_string ls;
    assert_int_equal(el_attr_str(c1, EL_FILTER_LAYOUT_ATTR, "", &ls), EL_OK);
    assert_int_equal(el_filter_layout_parse(ls.data, ls.len), EL_FILTER_BF16_T32X16);
    el_shape sh;
    bool present = false;
    assert_int_equal(el_attr_shape(c1, EL_FILTER_SHAPE_ATTR, &sh, &present), EL_OK);
    assert_true(present);
    assert_int_equal(sh.rank, 4);
    assert_true(sh.dims[0] == 3 && sh.dims[1] == 3 && sh.dims[2] == 24 && sh.dims[3] == 40);
    /* The source keeps its fp32 filter and attrs. */
    assert_true(w1->data == w1_data && w1->dtype == EL_DT_FLOAT);
    assert_null(el_node_attr(&g->nodes[el_graph_find(g, "c1")], EL_FILTER_LAYOUT_ATTR));
    /* Twice is once. */
    assert_int_equal(el_graph_pack_bf16(c, false, 0, NULL, 0, NULL, &n), EL_OK);
    assert_int_equal(n, 0);
    el_graph_free(c);

    /* bf16x3: hi and lo tiles, twice the elements, their own layout; c2's
     * k of 40 is under EL_BF16X3_MIN_K: it keeps fp32. */
    assert_int_equal(el_graph_clone(g, &c), EL_OK);
    assert_int_equal(el_graph_pack_bf16(c, true, 1, (const char *const[]){"x"}, 1, (const char *const[]){"c2"}, &n), EL_OK);
    assert_int_equal(n, 1);
    assert_true(40 < EL_BF16X3_MIN_K && 3 * 3 * 24 >= EL_BF16X3_MIN_K);
    assert_int_equal(el_node_attr(&c->nodes[el_graph_find(c, "w2")], "value")->v.tensor.dtype, EL_DT_FLOAT);
    p = &el_node_attr(&c->nodes[el_graph_find(c, "w1")], "value")->v.tensor;
    assert_int_equal(el_tensor_numel(p), 2 * el_bf16_packed_len(3 * 3 * 24, 40));
    assert_int_equal(el_attr_str(&c->nodes[el_graph_find(c, "c1")], EL_FILTER_LAYOUT_ATTR, "", &ls), EL_OK);
    assert_int_equal(el_filter_layout_parse(ls.data, ls.len), EL_FILTER_BF16X3_T32X16);
    el_graph_free(c);

    /* A filter something else reads, or fetched, keeps its fp32 value: c1 is left. */
    assert_int_equal(el_graph_clone(g, &c), EL_OK);
    assert_int_equal(el_graph_pack_bf16(c, false, 0, NULL, 2, (const char *const[]){"c2", "w1:0"}, &n), EL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(el_node_attr(&c->nodes[el_graph_find(c, "w1")], "value")->v.tensor.dtype, EL_DT_FLOAT);
    assert_null(el_node_attr(&c->nodes[el_graph_find(c, "c1")], EL_FILTER_LAYOUT_ATTR));
    el_graph_free(c);
    el_graph_free(g);
    g = el_convs(true);
    assert_int_equal(el_graph_clone(g, &c), EL_OK);
    assert_int_equal(el_graph_pack_bf16(c, false, 0, NULL, 1, (const char *const[]){"c2"}, &n), EL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(el_node_attr(&c->nodes[el_graph_find(c, "w2")], "value")->v.tensor.dtype, EL_DT_FLOAT);
    el_graph_free(c);
    el_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_sessions_x3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
