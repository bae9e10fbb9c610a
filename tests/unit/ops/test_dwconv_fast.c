/* The fast depthwise convolution kernels (AVX-512, AVX2; threaded) against
 * the reference loops of ops/conv.c: odd sizes, SAME / VALID / EXPLICIT
 * padding (with window rows wholly in the padding), strides 1 to 3,
 * dilation, 3x3 / 5x5 (tiled) and other windows, channel counts that are
 * not a multiple of the vector width, rows wide enough to be cut into
 * channel chunks and row groups, more channels than the zero row (border
 * tiles pixel by pixel), multiplier 2 (reference), plain and fused (bias,
 * Relu, Relu6, batch norm). Agreement is to float rounding; results must
 * be the same bits at 1 and 3 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/dwconv_fast.h"
#include "ops/unary_fast.h"
#include "testutil.h"

typedef struct el_dc {
    int64_t n, h, w, c, mult, kh, kw;
    int64_t sh, sw, dh, dw;
    const char *pad;
    int64_t xpad[4]; /* EXPLICIT: top, bottom, left, right */
    const char *fused[2];
} el_dc;

static el_test_lcg el_rng = {777};

static el_status el_dc_run(const el_dc *c, int nin, const el_tensor *in, el_tensor *out)
{
    el_test_node tn;
    int nf = (c->fused[0] != NULL) + (c->fused[1] != NULL);
    el_test_node_init(&tn, nf ? "FusedDepthwiseConv2dNative" : "DepthwiseConv2dNative");
    int64_t strides[4] = {1, c->sh, c->sw, 1}, dil[4] = {1, c->dh, c->dw, 1};
    el_test_attr_ints(&tn, "strides", 4, strides);
    el_test_attr_ints(&tn, "dilations", 4, dil);
    el_test_attr_str(&tn, "padding", c->pad);
    if (!strcmp(c->pad, "EXPLICIT")) {
        int64_t ep[8] = {0, 0, c->xpad[0], c->xpad[1], c->xpad[2], c->xpad[3], 0, 0};
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
    return el_test_run(&tn, nin, in, 1, out);
}

static int el_dc_inputs(const el_dc *c, el_tensor *in)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->c};
    int64_t wd[4] = {c->kh, c->kw, c->c, c->mult};
    in[0] = el_test_rand_tensor(&el_rng, 4, xd);
    in[1] = el_test_rand_tensor(&el_rng, 4, wd);
    int nin = 2;
    int64_t bd[1] = {c->c * c->mult};
    if (c->fused[0] && !strcmp(c->fused[0], "BiasAdd")) in[nin++] = el_test_rand_tensor(&el_rng, 1, bd);
    if (c->fused[0] && !strcmp(c->fused[0], "FusedBatchNorm")) {
        for (int j = 0; j < 4; j++) in[nin++] = el_test_rand_tensor(&el_rng, 1, bd);
        float *var = in[nin - 1].data;
        for (int64_t i = 0; i < bd[0]; i++) var[i] = fabsf(var[i]) + 0.1f;
    }
    return nin;
}

static void el_dc_check(const el_dc *c)
{
    el_tensor in[8];
    int nin = el_dc_inputs(c, in);
    el_conv_force_isa(EL_ISA_REF);
    el_tensor ref;
    if (el_dc_run(c, nin, in, &ref) != EL_OK) fail_msg("reference failed: %s", el_last_error());
    el_threadpool *pool3;
    assert_int_equal(el_threadpool_create(3, &pool3), EL_OK);
    float tol = 2e-6f * (float)(c->kh * c->kw) + 1e-5f;
    for (int isa = EL_ISA_AVX2; isa <= (int)el_isa_available(); isa++) {
        el_tensor one, three;
        el_conv_force_isa(isa);
        assert_int_equal(el_dc_run(c, nin, in, &one), EL_OK);
        el_test_assert_shape(&one, ref.ndim, ref.dims);
        const float *r = ref.data, *f = one.data;
        for (int64_t i = 0; i < el_tensor_numel(&ref); i++)
            if (!(fabsf(r[i] - f[i]) <= tol * (1.0f + fabsf(r[i]))) && !(isnan(r[i]) && isnan(f[i])))
                fail_msg("isa %d, %lldx%lldx%lldx%lld x%lld k%lldx%lld s%lld/%lld d%lld/%lld %s: element %lld is %.7g, "
                         "reference %.7g",
                         isa, (long long)c->n, (long long)c->h, (long long)c->w, (long long)c->c, (long long)c->mult,
                         (long long)c->kh, (long long)c->kw, (long long)c->sh, (long long)c->sw, (long long)c->dh,
                         (long long)c->dw, c->pad, (long long)i, (double)f[i], (double)r[i]);
        el_threadpool *prev = el_threadpool_set_current(pool3);
        assert_int_equal(el_dc_run(c, nin, in, &three), EL_OK);
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

static const char *const el_fusions[6][2] = {{NULL, NULL},         {"BiasAdd", NULL}, {"BiasAdd", "Relu"},
                                             {"BiasAdd", "Relu6"}, {"Relu6", NULL},   {"FusedBatchNorm", "Relu"}};

/* Shapes chosen for the code paths: tile widths 8 and 4 with a shifted
 * last tile, rows narrower than 4, border tiles, chunking and groups. */
static void test_paths(void **state)
{
    (void)state;
    const el_dc cases[] = {
        /* the SSD / FPN / MobileNetV3 layers, shrunk */
        {1, 19, 19, 48, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 20, 20, 33, 1, 3, 3, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 21, 21, 17, 1, 3, 3, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 16, 16, 24, 1, 5, 5, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 17, 18, 40, 1, 5, 5, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        {2, 10, 10, 7, 1, 3, 3, 1, 1, 1, 1, "VALID", {0}, {NULL, NULL}},
        {1, 13, 12, 5, 1, 5, 5, 2, 2, 1, 1, "VALID", {0}, {NULL, NULL}},
        /* output rows of 1..7 pixels: single pixels, one shifted tile of 4 */
        {1, 3, 3, 16, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 4, 2, 20, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 5, 5, 3, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 6, 7, 31, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 5, 11, 9, 1, 5, 5, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        /* single pixels of many channels: groups of four vectors, the last partial */
        {3, 3, 2, 150, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {2, 3, 3, 72, 1, 3, 3, 1, 1, 1, 1, "VALID", {0}, {NULL, NULL}},
        /* wide rows */
        {1, 20, 200, 40, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 9, 301, 37, 1, 5, 5, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 24, 180, 48, 1, 3, 3, 2, 2, 1, 1, "VALID", {0}, {NULL, NULL}},
        /* many channels: channel chunks (128, 128, then a partial one) in row groups */
        {1, 24, 20, 300, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 40, 14, 270, 1, 5, 5, 2, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        /* more channels than the zero row: border tiles pixel by pixel */
        {1, 4, 9, EL_CONV_ZERO_LEN + 20, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        /* EXPLICIT padding wider than the window: whole rows and tiles of zeros */
        {1, 4, 5, 18, 1, 3, 3, 1, 1, 1, 1, "EXPLICIT", {4, 1, 3, 6}, {NULL, NULL}},
        {1, 6, 9, 16, 1, 5, 5, 2, 2, 1, 1, "EXPLICIT", {0, 7, 9, 0}, {NULL, NULL}},
        /* not tiled: dilation, other windows, unequal strides, multiplier 2 */
        {1, 12, 12, 20, 1, 3, 3, 1, 1, 2, 2, "SAME", {0}, {NULL, NULL}},
        {1, 9, 10, 19, 1, 7, 7, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 9, 10, 19, 1, 3, 5, 1, 2, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 9, 10, 19, 1, 1, 1, 1, 1, 1, 1, "VALID", {0}, {NULL, NULL}},
        {1, 11, 10, 19, 1, 3, 3, 3, 3, 1, 1, "SAME", {0}, {NULL, NULL}},
        {1, 9, 10, 12, 2, 3, 3, 1, 1, 1, 1, "SAME", {0}, {NULL, NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int f = 0; f < 6; f += (cases[i].c > 1000 ? 3 : 1)) {
            el_dc c = cases[i];
            c.fused[0] = el_fusions[f][0];
            c.fused[1] = el_fusions[f][1];
            el_dc_check(&c);
        }
}

static void test_random_shapes(void **state)
{
    (void)state;
    for (int it = 0; it < 200; it++) {
        el_dc c;
        memset(&c, 0, sizeof c);
        c.n = el_test_pick(&el_rng, 1, 2);
        c.h = el_test_pick(&el_rng, 1, 20);
        c.w = el_test_pick(&el_rng, 1, 40);
        c.c = el_test_pick(&el_rng, 1, 70);
        c.mult = el_test_pick(&el_rng, 0, 5) == 0 ? 2 : 1;
        c.kh = el_test_pick(&el_rng, 0, 1) ? 3 : 5;
        c.kw = el_test_pick(&el_rng, 0, 5) == 0 ? el_test_pick(&el_rng, 1, 5) : c.kh;
        c.sh = el_test_pick(&el_rng, 1, 2);
        c.sw = el_test_pick(&el_rng, 0, 5) == 0 ? el_test_pick(&el_rng, 1, 3) : c.sh;
        c.dh = el_test_pick(&el_rng, 0, 6) == 0 ? 2 : 1;
        c.dw = el_test_pick(&el_rng, 0, 6) == 0 ? 2 : c.dh;
        c.pad = el_test_pick(&el_rng, 0, 1) ? "SAME" : "VALID";
        int f = (int)el_test_pick(&el_rng, 0, 5);
        c.fused[0] = el_fusions[f][0];
        c.fused[1] = el_fusions[f][1];
        if (!strcmp(c.pad, "VALID") && ((c.kh - 1) * c.dh + 1 > c.h || (c.kw - 1) * c.dw + 1 > c.w)) continue;
        el_dc_check(&c);
    }
}

/* Relu of a NaN sum is 0 in the reference (v > 0 ? v : 0); without an
 * activation NaN stays NaN; a NaN in the padding's neighbourhood reaches
 * exactly the pixels whose windows hold it. */
static void test_nan(void **state)
{
    (void)state;
    for (int act = 0; act < 2; act++) {
        el_dc c = {1, 9, 21, 20, 1, 3, 3, 1, 1, 1, 1, "SAME", {0}, {"BiasAdd", act ? "Relu6" : NULL}};
        el_tensor in[3];
        int nin = el_dc_inputs(&c, in);
        ((float *)in[0].data)[(4 * 21 + 0) * 20 + 3] = NAN;
        ((float *)in[0].data)[(2 * 21 + 10) * 20 + 19] = NAN;
        el_conv_force_isa(EL_ISA_REF);
        el_tensor ref, fast;
        assert_int_equal(el_dc_run(&c, nin, in, &ref), EL_OK);
        el_conv_force_isa(el_isa_available());
        assert_int_equal(el_dc_run(&c, nin, in, &fast), EL_OK);
        el_conv_force_isa(-1);
        const float *r = ref.data, *f = fast.data;
        int nans = 0;
        for (int64_t i = 0; i < el_tensor_numel(&ref); i++) {
            assert_int_equal(isnan(r[i]) != 0, isnan(f[i]) != 0);
            nans += isnan(r[i]) != 0;
        }
        assert_int_equal(nans, act ? 0 : 6 + 9);
        el_tensor_release(&ref);
        el_tensor_release(&fast);
        el_test_release_all(nin, in);
    }
}

/* The rows kernel, as the row-streaming fusions call it (ops/conv.c): a
 * ring of the last K + S input rows and two output rows per call (tiles
 * of both rows at once where their windows lie inside the input), against
 * the whole tensor's rows one call per row: the same bits; and with a hard
 * swish (in the tiles' registers) against the hard swish kernel after. */
static void test_rows_two_at_once(void **state)
{
    (void)state;
    static const int64_t shapes[][5] = {/* h, w, c, k, s */
                                        {9, 37, 16, 3, 1}, {10, 40, 72, 3, 1}, {11, 29, 18, 5, 1},
                                        {12, 33, 24, 3, 2}, {13, 45, 40, 5, 2}, {6, 3, 20, 3, 1}};
    for (int isa = EL_ISA_AVX2; isa <= (int)el_isa_available(); isa++) {
        el_conv_force_isa(isa);
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            const int64_t H = shapes[si][0], W = shapes[si][1], C = shapes[si][2], K = shapes[si][3], S = shapes[si][4];
            const int64_t OH = (H + S - 1) / S, OW = (W + S - 1) / S, ring = K + S;
            const int64_t ph = (OH - 1) * S + K - H, pw = (OW - 1) * S + K - W;
            el_conv_geom g = {.n = 1, .ic = C, .fic = 1, .oc = C, .groups = C};
            g.h = (el_window_axis){.in = H, .k = K, .stride = S, .dilation = 1, .pad_before = ph / 2,
                                   .pad_after = ph - ph / 2, .out = OH};
            g.w = (el_window_axis){.in = W, .k = K, .stride = S, .dilation = 1, .pad_before = pw / 2,
                                   .pad_after = pw - pw / 2, .out = OW};
            const int64_t xd[4] = {1, H, W, C}, wd[4] = {K, K, C, 1}, bd[1] = {C};
            el_tensor x = el_test_rand_tensor(&el_rng, 4, xd), w = el_test_rand_tensor(&el_rng, 4,
                                              wd), b = el_test_rand_tensor(&el_rng, 1, bd);
            el_conv_epi e = {.bias = b.data, .clamp = true, .lo = 0.0f, .hi = 6.0f};
            el_dw_fn fn = el_depthwise_rows_fn(&g);
            assert_non_null(fn);
            float *one = calloc((size_t)(OH * OW * C), sizeof(float)), *two = calloc((size_t)(OH * OW * C), sizeof(float));
            float *rg = calloc((size_t)(ring * W * C), sizeof(float));
            assert_true(one && two && rg);
            for (int64_t oy = 0; oy < OH; oy++) fn(&g, x.data, H, w.data, &e, one + oy * OW * C, 0, oy, oy + 1, 0, C);
            for (int64_t oy = 0; oy < OH; oy += 2) {
                const int64_t n = OH - oy < 2 ? OH - oy : 2;
                /* The input rows the two output rows read, in slots iy % ring. */
                for (int64_t iy = oy * S - g.h.pad_before; iy < (oy + n - 1) * S - g.h.pad_before + K; iy++)
                    if (iy >= 0 && iy < H)
                        memcpy(rg + iy % ring * W * C, (const float *)x.data + iy * W * C, sizeof(float) * (size_t)(W * C));
                fn(&g, rg, ring, w.data, &e, two + oy * OW * C, 0, oy, oy + n, 0, C);
            }
            assert_memory_equal(one, two, sizeof(float) * (size_t)(OH * OW * C));
            /* Hard swish (in the tiles' registers on AVX-512) against the
             * plain rows and then the hard swish kernel. */
            el_conv_epi eh = {.bias = b.data, .hi = INFINITY, .hswish = true, .hs_mul = 1.0f / 6.0f, .hs_add = 3.0f,
                              .y0 = two};
            el_conv_epi ep = {.bias = b.data, .hi = INFINITY};
            for (int64_t oy = 0; oy < OH; oy++) fn(&g, x.data, H, w.data, &ep, one + oy * OW * C, 0, oy, oy + 1, 0, C);
            el_hard_swish_f32_rows(one, 1, OH * OW * C, OH * OW * C, eh.hs_mul, eh.hs_add);
            for (int64_t oy = 0; oy < OH; oy += 2) {
                const int64_t n = OH - oy < 2 ? OH - oy : 2;
                fn(&g, x.data, H, w.data, &eh, two + oy * OW * C, 0, oy, oy + n, 0, C);
            }
            assert_memory_equal(one, two, sizeof(float) * (size_t)(OH * OW * C));
            free(one);
            free(two);
            free(rg);
            el_tensor_release(&x);
            el_tensor_release(&w);
            el_tensor_release(&b);
        }
    }
    el_conv_force_isa(-1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_rows_two_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
