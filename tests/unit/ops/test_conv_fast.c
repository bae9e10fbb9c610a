/* The fast convolution kernels (AVX-512, AVX2; threaded) against the
 * reference kernels, on random shapes and the MobileNet-SSD shapes: every
 * ISA this CPU has, 1 and 3 threads, plain and fused (bias, Relu, Relu6,
 * batch norm). The reference is the oracle; agreement is to float rounding
 * (FMA and another summation order). Results must not depend on the thread
 * count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"
#include "testutil.h"

typedef struct el_cc {
    int64_t n, h, w, ic, oc, kh, kw; /* oc: output depth; for depthwise the multiplier is oc / ic */
    int64_t sh, sw, dh, dw;
    const char *pad;
    bool depthwise;
    const char *fused[2]; /* fused_ops, NULL-padded */
    int64_t ep[4];        /* with pad "EXPLICIT": top, bottom, left, right */
} el_cc;

static el_test_lcg el_rng = {12345};

/* Runs the case with inputs `in` (x, filter, then the fused args); with
 * `packed`, the filter (in[1]) is given packed, as the graph pass does. */
static el_status el_cc_run_packed(const el_cc *c, int nin, const el_tensor *in, el_tensor *out, bool packed)
{
    el_test_node tn;
    int nf = (c->fused[0] != NULL) + (c->fused[1] != NULL);
    const char *op = c->depthwise ? (nf ? "FusedDepthwiseConv2dNative" : "DepthwiseConv2dNative")
                                  : (nf ? "_FusedConv2D" : "Conv2D");
    el_test_node_init(&tn, op);
    int64_t strides[4] = {1, c->sh, c->sw, 1}, dil[4] = {1, c->dh, c->dw, 1};
    el_test_attr_ints(&tn, "strides", 4, strides);
    el_test_attr_ints(&tn, "dilations", 4, dil);
    el_test_attr_str(&tn, "padding", c->pad);
    if (!strcmp(c->pad, "EXPLICIT")) {
        int64_t ep[8] = {0, 0, c->ep[0], c->ep[1], c->ep[2], c->ep[3], 0, 0};
        el_test_attr_ints(&tn, "explicit_paddings", 8, ep);
    }
    el_test_attr_float(&tn, "epsilon", 0.001f);
    static el_string ops[2];
    if (nf) {
        for (int i = 0; i < nf; i++) ops[i] = (el_string){c->fused[i], strlen(c->fused[i])};
        el_attr *a = &tn.attrs[tn.node.nattrs++];
        a->name = "fused_ops";
        a->type = EL_ATTR_LIST;
        a->v.list.elem = EL_ATTR_S;
        a->v.list.n = nf;
        a->v.list.v.s = ops;
    }
    if (!packed) return el_test_run(&tn, nin, in, 1, out);
    el_test_attr_str(&tn, EL_FILTER_LAYOUT_ATTR, el_filter_layout_name(EL_FILTER_F32_P32));
    el_test_attr_int(&tn, EL_FILTER_OC_ATTR, c->oc);
    el_tensor pin[8];
    memcpy(pin, in, sizeof(el_tensor) * (size_t)nin);
    assert_int_equal(el_filter_pack(&in[1], EL_FILTER_F32_P32, &pin[1]), EL_OK);
    el_status s = el_test_run(&tn, nin, pin, 1, out);
    el_tensor_release(&pin[1]);
    return s;
}

static el_status el_cc_run(const el_cc *c, int nin, const el_tensor *in, el_tensor *out)
{
    return el_cc_run_packed(c, nin, in, out, false);
}

static int el_cc_inputs(const el_cc *c, el_tensor *in)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->ic};
    int64_t wd[4] = {c->kh, c->kw, c->depthwise ? c->ic : c->ic, c->depthwise ? c->oc / c->ic : c->oc};
    in[0] = el_test_rand_tensor(&el_rng, 4, xd);
    in[1] = el_test_rand_tensor(&el_rng, 4, wd);
    int nin = 2;
    int64_t bd[1] = {c->oc};
    if (c->fused[0] && !strcmp(c->fused[0], "BiasAdd")) in[nin++] = el_test_rand_tensor(&el_rng, 1, bd);
    if (c->fused[0] && !strcmp(c->fused[0], "FusedBatchNorm")) {
        for (int j = 0; j < 4; j++) in[nin++] = el_test_rand_tensor(&el_rng, 1, bd);
        float *var = in[nin - 1].data;
        for (int64_t i = 0; i < c->oc; i++) var[i] = fabsf(var[i]) + 0.1f;
    }
    return nin;
}

static void el_cc_check(const el_cc *c)
{
    el_tensor in[8];
    int nin = el_cc_inputs(c, in);
    el_conv_force_isa(EL_ISA_REF);
    el_tensor ref;
    el_status s = el_cc_run(c, nin, in, &ref);
    if (s != EL_OK) fail_msg("reference failed: %s", el_last_error());
    el_threadpool *pool3;
    assert_int_equal(el_threadpool_create(3, &pool3), EL_OK);
    int64_t k = c->kh * c->kw * (c->depthwise ? 1 : c->ic);
    float tol = 2e-6f * (float)k + 1e-5f;
    for (int isa = EL_ISA_AVX2; isa <= (int)el_isa_available(); isa++)
        for (int packed = 0; packed < (c->depthwise ? 1 : 2); packed++) {
            el_tensor one;
            el_conv_force_isa(isa);
            assert_int_equal(el_cc_run_packed(c, nin, in, &one, packed), EL_OK);
            el_test_assert_shape(&one, ref.ndim, ref.dims);
            const float *r = ref.data, *f = one.data;
            for (int64_t i = 0; i < el_tensor_numel(&ref); i++) {
                if (fabsf(r[i] - f[i]) > tol * (1.0f + fabsf(r[i])))
                    fail_msg("isa %d%s, %s %lldx%lldx%lldx%lld k%lldx%lld oc %lld s%lld/%lld d%lld/%lld %s: element "
                             "%lld is %.7g, reference %.7g",
                             isa, packed ? " packed" : "", c->depthwise ? "depthwise" : "conv", (long long)c->n,
                             (long long)c->h, (long long)c->w, (long long)c->ic, (long long)c->kh, (long long)c->kw,
                             (long long)c->oc, (long long)c->sh, (long long)c->sw, (long long)c->dh, (long long)c->dw,
                             c->pad, (long long)i, (double)f[i], (double)r[i]);
            }
            /* Three threads: the same bits as one. */
            el_tensor three;
            el_threadpool *prev = el_threadpool_set_current(pool3);
            assert_int_equal(el_cc_run_packed(c, nin, in, &three, packed), EL_OK);
            el_threadpool_set_current(prev);
            assert_memory_equal(one.data, three.data, el_tensor_nbytes(&one));
            el_tensor_release(&one);
            el_tensor_release(&three);
        }
    el_conv_force_isa(-1);
    el_threadpool_free(pool3);
    el_tensor_release(&ref);
    el_test_release_all(nin, in);
}

static void test_mobilenet_shapes(void **state)
{
    (void)state;
    static const char *const fusions[3][2] = {{NULL, NULL}, {"BiasAdd", "Relu6"}, {"BiasAdd", NULL}};
    const el_cc cases[] = {
        /* first layer: 3x3 stride 2 on RGB */
        {1, 33, 33, 3, 16, 3, 3, 2, 2, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 32, 32, 3, 32, 3, 3, 2, 2, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        /* pointwise: 1x1 GEMM */
        {1, 16, 16, 16, 32, 1, 1, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 8, 8, 64, 128, 1, 1, 1, 1, 1, 1, "VALID", false, {NULL, NULL}, {0}},
        {1, 3, 5, 256, 546, 1, 1, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        /* box predictor extras: 3x3 stride 2 */
        {1, 4, 4, 64, 128, 3, 3, 2, 2, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        /* packed GEMM blocking: K blocks (1024 = 4 x 256) and N blocks
         * (18 panels of 128 KB), a window row longer than a K block
         * (3 x 300), row-wise tiles with padding, 1x1 stride 2 */
        {1, 5, 5, 1024, 546, 1, 1, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 6, 6, 300, 40, 3, 3, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {2, 17, 31, 8, 40, 3, 3, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 30, 31, 24, 33, 1, 1, 2, 2, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 16, 40, 5, 17, 3, 3, 1, 2, 1, 1, "VALID", false, {NULL, NULL}, {0}},
        /* panels of at most 16 live columns (the half-width kernel):
         * 16 and 12 channels, two K blocks accumulated, a last panel of 8 */
        {1, 17, 17, 16, 16, 1, 1, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 9, 9, 300, 12, 1, 1, 1, 1, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        {1, 7, 9, 40, 72, 3, 3, 2, 2, 1, 1, "SAME", false, {NULL, NULL}, {0}},
        /* explicit padding (a Pad folded into the convolution), some wider
         * than the window: border tiles with whole window rows in the pad */
        {1, 20, 19, 3, 16, 3, 3, 2, 2, 1, 1, "EXPLICIT", false, {NULL, NULL}, {1, 2, 0, 1}},
        {1, 6, 17, 5, 24, 3, 3, 1, 1, 1, 1, "EXPLICIT", false, {NULL, NULL}, {4, 3, 5, 4}},
        /* depthwise 3x3 stride 1 and 2 */
        {1, 20, 20, 16, 16, 3, 3, 1, 1, 1, 1, "SAME", true, {NULL, NULL}, {0}},
        {1, 21, 19, 32, 32, 3, 3, 2, 2, 1, 1, "SAME", true, {NULL, NULL}, {0}},
        {1, 9, 9, 13, 13, 3, 3, 1, 1, 1, 1, "VALID", true, {NULL, NULL}, {0}},
        {2, 6, 7, 40, 40, 3, 3, 2, 2, 1, 1, "SAME", true, {NULL, NULL}, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int f = 0; f < 3; f++) {
            el_cc c = cases[i];
            c.fused[0] = fusions[f][0];
            c.fused[1] = fusions[f][1];
            el_cc_check(&c);
        }
}

static void test_random_shapes(void **state)
{
    (void)state;
    static const char *const fusions[6][2] = {{NULL, NULL},       {"BiasAdd", NULL},        {"BiasAdd", "Relu"},
                                              {"BiasAdd", "Relu6"}, {"Relu6", NULL}, {"FusedBatchNorm", "Relu"}};
    for (int it = 0; it < 150; it++) {
        el_cc c;
        memset(&c, 0, sizeof c);
        c.depthwise = el_test_pick(&el_rng, 0, 2) == 0;
        c.n = el_test_pick(&el_rng, 1, 2);
        c.h = el_test_pick(&el_rng, 1, 13);
        c.w = el_test_pick(&el_rng, 1, 13);
        c.ic = el_test_pick(&el_rng, 1, 40);
        c.oc = c.depthwise ? c.ic * (el_test_pick(&el_rng, 0, 3) == 0 ? 2 : 1) : el_test_pick(&el_rng, 1, 70);
        c.kh = el_test_pick(&el_rng, 1, 5);
        c.kw = el_test_pick(&el_rng, 0, 1) ? c.kh : el_test_pick(&el_rng, 1, 5);
        c.sh = el_test_pick(&el_rng, 1, 3);
        c.sw = el_test_pick(&el_rng, 0, 1) ? c.sh : el_test_pick(&el_rng, 1, 3);
        c.dh = el_test_pick(&el_rng, 0, 4) == 0 ? 2 : 1;
        c.dw = el_test_pick(&el_rng, 0, 4) == 0 ? 2 : 1;
        c.pad = el_test_pick(&el_rng, 0, 1) ? "SAME" : "VALID";
        int f = (int)el_test_pick(&el_rng, 0, 5);
        c.fused[0] = fusions[f][0];
        c.fused[1] = fusions[f][1];
        /* VALID windows larger than the input give an empty or negative size. */
        if (!strcmp(c.pad, "VALID") && ((c.kh - 1) * c.dh + 1 > c.h || (c.kw - 1) * c.dw + 1 > c.w)) continue;
        el_cc_check(&c);
    }
}

/* Relu of a NaN sum is 0 in the reference (v > 0 ? v : 0); without an
 * activation NaN stays NaN. */
static void test_nan(void **state)
{
    (void)state;
    for (int act = 0; act < 2; act++)
        for (int dw = 0; dw < 2; dw++) {
            el_cc c = {1, 5, 5, 16, 16, 3, 3, 1, 1, 1, 1, "SAME", dw != 0, {"BiasAdd", act ? "Relu" : NULL}, {0}};
            el_tensor in[3];
            int nin = el_cc_inputs(&c, in);
            ((float *)in[0].data)[2 * 5 * 16 + 2 * 16 + 3] = NAN;
            el_conv_force_isa(EL_ISA_REF);
            el_tensor ref, fast;
            assert_int_equal(el_cc_run(&c, nin, in, &ref), EL_OK);
            el_conv_force_isa(el_isa_available());
            assert_int_equal(el_cc_run(&c, nin, in, &fast), EL_OK);
            el_conv_force_isa(-1);
            const float *r = ref.data, *f = fast.data;
            int nans = 0;
            for (int64_t i = 0; i < el_tensor_numel(&ref); i++) {
                assert_int_equal(isnan(r[i]) != 0, isnan(f[i]) != 0);
                nans += isnan(r[i]) != 0;
            }
            assert_true(act ? nans == 0 : nans > 0);
            el_tensor_release(&ref);
            el_tensor_release(&fast);
            el_test_release_all(nin, in);
        }
}

/* Forcing an ISA the CPU lacks falls back to the best it has. */
static void test_isa_force(void **state)
{
    (void)state;
    el_conv_force_isa(EL_ISA_REF);
    assert_int_equal(el_conv_isa(), EL_ISA_REF);
    el_conv_force_isa(99);
    assert_int_equal(el_conv_isa(), el_isa_available());
    el_conv_force_isa(-1);
    assert_int_equal(el_conv_isa(), el_isa_available());
    printf("fast convolution ISA on this CPU: %s\n",
           el_isa_available() == EL_ISA_AVX512 ? "AVX-512" : el_isa_available() == EL_ISA_AVX2 ? "AVX2" : "reference");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_force),
        cmocka_unit_test(test_mobilenet_shapes),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
