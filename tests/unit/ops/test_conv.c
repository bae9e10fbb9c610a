/* Conv2D, DepthwiseConv2dNative, MatMul and their fused forms, checked
 * against direct loops written here from TF's definitions. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t el_rng = 12345;
static float el_rand(void)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return (float)((el_rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static int el_randint(int lo, int hi)
{
    el_rng = el_rng * 1664525u + 1013904223u;
    return lo + (int)((el_rng >> 16) % (uint32_t)(hi - lo + 1));
}

static el_tensor el_rand_f32(int ndim, const int64_t *dims)
{
    el_tensor t = el_test_f32(ndim, dims, NULL);
    float *d = t.data;
    for (int64_t i = 0; i < el_tensor_numel(&t); i++) d[i] = el_rand();
    return t;
}

/* TF's GetWindowedOutputSize, restated. pad: 0 VALID, 1 SAME, 2 EXPLICIT. */
static void el_ref_window(int64_t in, int64_t k, int64_t stride, int64_t dil, int pad, int64_t *pb, int64_t pa,
                          int64_t *out)
{
    int64_t eff = (k - 1) * dil + 1;
    if (pad == 0) {
        *out = (in - eff + stride) / stride;
        *pb = 0;
    } else if (pad == 1) {
        *out = (in + stride - 1) / stride;
        int64_t need = (*out - 1) * stride + eff - in;
        *pb = need > 0 ? need / 2 : 0;
    } else {
        *out = (in + *pb + pa - eff + stride) / stride;
    }
}

typedef struct conv_case {
    int64_t n, h, w, ic, kh, kw, fic, oc; /* oc: for depthwise, the multiplier */
    int64_t sh, sw, dh, dw;
    int pad; /* 0 VALID, 1 SAME, 2 EXPLICIT */
    int64_t pt, pb, pl, pr;
    bool depthwise;
} conv_case;

/* The direct definition: out[b,oy,ox,co] = sum over ky,kx,ci of
 * in[b, oy*s - pad + ky*d, ox*s - pad + kx*d, ci] * w[ky,kx,ci,co] (zero
 * outside), grouped or depthwise as the filter says. */
static el_tensor el_ref_conv(const conv_case *c, const el_tensor *x, const el_tensor *f)
{
    int64_t pt = c->pt, pl = c->pl, oh, ow;
    el_ref_window(c->h, c->kh, c->sh, c->dh, c->pad, &pt, c->pb, &oh);
    el_ref_window(c->w, c->kw, c->sw, c->dw, c->pad, &pl, c->pr, &ow);
    int64_t oc = c->depthwise ? c->ic * c->oc : c->oc;
    int64_t dims[4] = {c->n, oh, ow, oc};
    el_tensor y = el_test_f32(4, dims, NULL);
    const float *xd = x->data, *fd = f->data;
    float *yd = y.data;
    int64_t groups = c->depthwise ? c->ic : c->ic / c->fic;
    int64_t ocg = oc / groups, fic = c->depthwise ? 1 : c->fic;
    for (int64_t b = 0; b < c->n; b++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++)
                for (int64_t co = 0; co < oc; co++) {
                    float sum = 0.0f;
                    int64_t g = co / ocg;
                    for (int64_t ky = 0; ky < c->kh; ky++)
                        for (int64_t kx = 0; kx < c->kw; kx++)
                            for (int64_t ci = 0; ci < fic; ci++) {
                                int64_t iy = oy * c->sh - pt + ky * c->dh, ix = ox * c->sw - pl + kx * c->dw;
                                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                                float xv = xd[((b * c->h + iy) * c->w + ix) * c->ic + g * fic + ci];
                                float wv = c->depthwise ? fd[((ky * c->kw + kx) * c->ic + g) * c->oc + co % c->oc]
                                                        : fd[((ky * c->kw + kx) * fic + ci) * oc + co];
                                sum += xv * wv;
                            }
                    yd[((b * oh + oy) * ow + ox) * oc + co] = sum;
                }
    return y;
}

static void el_set_conv_attrs(el_test_node *tn, const conv_case *c)
{
    int64_t strides[4] = {1, c->sh, c->sw, 1};
    el_test_attr_ints(tn, "strides", 4, strides);
    int64_t dil[4] = {1, c->dh, c->dw, 1};
    el_test_attr_ints(tn, "dilations", 4, dil);
    static const char *pads[3] = {"VALID", "SAME", "EXPLICIT"};
    el_test_attr_str(tn, "padding", pads[c->pad]);
    if (c->pad == 2) {
        int64_t ep[8] = {0, 0, c->pt, c->pb, c->pl, c->pr, 0, 0};
        el_test_attr_ints(tn, "explicit_paddings", 8, ep);
    }
    el_test_attr_str(tn, "data_format", "NHWC");
}

static void el_check_conv_case(const conv_case *c)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->ic};
    int64_t fd[4] = {c->kh, c->kw, c->depthwise ? c->ic : c->fic, c->oc};
    el_tensor in[2] = {el_rand_f32(4, xd), el_rand_f32(4, fd)};
    el_test_node tn;
    el_test_node_init(&tn, c->depthwise ? "DepthwiseConv2dNative" : "Conv2D");
    el_set_conv_attrs(&tn, c);
    el_tensor out[1];
    el_status s = el_test_run(&tn, 2, in, 1, out);
    if (s != EL_OK) fail_msg("conv failed: %s", el_last_error());
    el_tensor want = el_ref_conv(c, &in[0], &in[1]);
    el_test_assert_shape(&out[0], 4, want.dims);
    el_test_assert_f32(&out[0], want.data, el_tensor_numel(&want), 1e-5f);
    el_tensor_release(&want);
    el_test_release_all(1, out);
    el_test_release_all(2, in);
}

static void test_conv_random_vs_direct(void **state)
{
    (void)state;
    int ran = 0;
    for (int it = 0; it < 300; it++) {
        conv_case c = {0};
        c.depthwise = it % 3 == 2;
        c.n = el_randint(1, 2);
        c.h = el_randint(1, 9);
        c.w = el_randint(1, 9);
        c.kh = el_randint(1, 3);
        c.kw = el_randint(1, 3);
        c.sh = el_randint(1, 2);
        c.sw = el_randint(1, 2);
        c.dh = el_randint(0, 3) == 0 ? 2 : 1;
        c.dw = el_randint(0, 3) == 0 ? 2 : 1;
        c.pad = el_randint(0, 2);
        c.pt = el_randint(0, 2);
        c.pb = el_randint(0, 2);
        c.pl = el_randint(0, 2);
        c.pr = el_randint(0, 2);
        if (c.depthwise) {
            c.ic = el_randint(1, 5);
            c.oc = el_randint(1, 2); /* multiplier */
        } else {
            int groups = el_randint(0, 4) == 0 ? 2 : 1;
            c.fic = el_randint(1, 4);
            c.ic = c.fic * groups;
            c.oc = groups * el_randint(1, 5);
        }
        /* Skip shapes whose VALID output would be negative (an error case
         * tested on its own). */
        int64_t effh = (c.kh - 1) * c.dh + 1, effw = (c.kw - 1) * c.dw + 1;
        if (c.pad == 0 && (c.h - effh + c.sh < 0 || c.w - effw + c.sw < 0)) continue;
        if (c.pad == 2 && (c.h + c.pt + c.pb - effh + c.sh < 0 || c.w + c.pl + c.pr - effw + c.sw < 0)) continue;
        el_check_conv_case(&c);
        ran++;
    }
    assert_true(ran > 200);
}

static void test_conv_gemm_path(void **state)
{
    (void)state;
    /* 1x1 stride 1: rows not a multiple of the 4-row tile, more output
     * channels than one 64-column block. */
    conv_case a = {.n = 1, .h = 3, .w = 5, .ic = 7, .kh = 1, .kw = 1, .fic = 7, .oc = 70, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pad = 1};
    el_check_conv_case(&a);
    conv_case b = {.n = 2, .h = 4, .w = 4, .ic = 16, .kh = 1, .kw = 1, .fic = 16, .oc = 8, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pad = 0};
    el_check_conv_case(&b);
    /* 3x3 stride 2 SAME with dilation 2, and depthwise multiplier 2. */
    conv_case c = {.n = 1, .h = 9, .w = 8, .ic = 3, .kh = 3, .kw = 3, .fic = 3, .oc = 4, .sh = 2, .sw = 2, .dh = 2, .dw = 2, .pad = 1};
    el_check_conv_case(&c);
    conv_case d = {.n = 1, .h = 7, .w = 6, .ic = 3, .kh = 3, .kw = 3, .oc = 2, .sh = 2, .sw = 1, .dh = 1, .dw = 2, .pad = 1, .depthwise = true};
    el_check_conv_case(&d);
}

static void test_conv_hand_checked(void **state)
{
    (void)state;
    /* 3x3 input 1..9, 2x2 filter of ones, VALID: window sums. */
    int64_t xd[4] = {1, 3, 3, 1}, fd[4] = {2, 2, 1, 1};
    float xv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, fv[4] = {1, 1, 1, 1};
    el_tensor in[2] = {el_test_f32(4, xd, xv), el_test_f32(4, fd, fv)};
    el_test_node tn;
    el_test_node_init(&tn, "Conv2D");
    int64_t st[4] = {1, 1, 1, 1};
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "VALID");
    /* An old export: no dilations, no data_format. */
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    int64_t od[4] = {1, 2, 2, 1};
    el_test_assert_shape(&out[0], 4, od);
    float want[4] = {12, 16, 24, 28};
    el_test_assert_f32(&out[0], want, 4, 0);
    el_test_release_all(1, out);
    el_test_release_all(2, in);

    /* SAME, stride 2, width 4, 1x3 filter: total padding 1 goes after
     * (pad_before = 1/2 = 0), so the windows are {1,2,3} and {3,4,pad}. */
    int64_t xd2[4] = {1, 1, 4, 1}, fd2[4] = {1, 3, 1, 1};
    float xv2[4] = {1, 2, 3, 4}, fv2[3] = {1, 1, 1};
    el_tensor in2[2] = {el_test_f32(4, xd2, xv2), el_test_f32(4, fd2, fv2)};
    el_test_node_init(&tn, "Conv2D");
    int64_t st2[4] = {1, 2, 2, 1};
    el_test_attr_ints(&tn, "strides", 4, st2);
    el_test_attr_str(&tn, "padding", "SAME");
    assert_int_equal(el_test_run(&tn, 2, in2, 1, out), EL_OK);
    int64_t od2[4] = {1, 1, 2, 1};
    el_test_assert_shape(&out[0], 4, od2);
    float want2[2] = {6, 7};
    el_test_assert_f32(&out[0], want2, 2, 0);
    el_test_release_all(1, out);

    /* Same input, DepthwiseConv2dNative with multiplier 2 ({1,1,1} and
     * {1,0,-1}), no dilations attr. */
    int64_t fd3[4] = {1, 3, 1, 2};
    float fv3[6] = {1, 1, 1, 0, 1, -1};
    el_tensor in3[2] = {in2[0], el_test_f32(4, fd3, fv3)};
    el_test_node_init(&tn, "DepthwiseConv2dNative");
    el_test_attr_ints(&tn, "strides", 4, st2);
    el_test_attr_str(&tn, "padding", "SAME");
    assert_int_equal(el_test_run(&tn, 2, in3, 1, out), EL_OK);
    int64_t od3[4] = {1, 1, 2, 2};
    el_test_assert_shape(&out[0], 4, od3);
    float want3[4] = {6, 1 - 3, 7, 3 - 0};
    el_test_assert_f32(&out[0], want3, 4, 0);
    el_test_release_all(1, out);
    el_tensor_release(&in3[1]);
    el_test_release_all(2, in2);
}

static void test_conv_errors(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 3, 3, 2}, fd[4] = {2, 2, 3, 1};
    el_tensor in[2] = {el_test_f32(4, xd, NULL), el_test_f32(4, fd, NULL)};
    memset(in[0].data, 0, el_tensor_nbytes(&in[0]));
    memset(in[1].data, 0, el_tensor_nbytes(&in[1]));
    el_test_node tn;
    el_tensor out[1];
    int64_t st[4] = {1, 1, 1, 1};

    /* Input depth 2 is not a multiple of filter depth 3. */
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "VALID");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "test_node"));
    assert_non_null(strstr(el_last_error(), "filter depth"));
    el_test_release_all(1, out);

    /* NCHW is refused by name. */
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "VALID");
    el_test_attr_str(&tn, "data_format", "NCHW");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "NCHW"));
    el_test_release_all(1, out);

    /* Missing strides; stride on the batch dimension; bad padding. */
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_str(&tn, "padding", "VALID");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_FORMAT);
    el_test_release_all(1, out);
    el_test_node_init(&tn, "Conv2D");
    int64_t bad[4] = {2, 1, 1, 1};
    el_test_attr_ints(&tn, "strides", 4, bad);
    el_test_attr_str(&tn, "padding", "VALID");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "FULL");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);

    /* Window larger than the input under VALID: negative output size. */
    int64_t fd2[4] = {5, 1, 2, 1};
    el_tensor in2[2] = {in[0], el_test_f32(4, fd2, NULL)};
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "VALID");
    assert_int_equal(el_test_run(&tn, 2, in2, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "negative"));
    el_test_release_all(1, out);
    el_tensor_release(&in2[1]);

    /* Depthwise filter whose input depth differs from the input's. */
    el_test_node_init(&tn, "DepthwiseConv2dNative");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "SAME");
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    el_test_release_all(1, out);

    /* Wrong rank and dtype. */
    int64_t d3[3] = {3, 3, 2};
    el_tensor in3[2] = {el_test_f32(3, d3, NULL), in[1]};
    el_test_node_init(&tn, "Conv2D");
    el_test_attr_ints(&tn, "strides", 4, st);
    el_test_attr_str(&tn, "padding", "SAME");
    assert_int_equal(el_test_run(&tn, 2, in3, 1, out), EL_ERR_RUNTIME);
    el_test_release_all(1, out);
    el_tensor_release(&in3[0]);
    el_tensor in4[2] = {el_test_i32(4, xd, NULL), in[1]};
    assert_int_equal(el_test_run(&tn, 2, in4, 1, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);
    el_tensor_release(&in4[0]);
    el_test_release_all(2, in);
}

static void test_fused_conv(void **state)
{
    (void)state;
    conv_case c = {.n = 1, .h = 5, .w = 4, .ic = 3, .kh = 3, .kw = 3, .fic = 3, .oc = 6, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .pad = 1};
    int64_t xd[4] = {1, 5, 4, 3}, fd[4] = {3, 3, 3, 6}, bd[1] = {6};
    el_tensor in[3] = {el_rand_f32(4, xd), el_rand_f32(4, fd), el_rand_f32(1, bd)};
    el_tensor want = el_ref_conv(&c, &in[0], &in[1]);
    float *w = want.data;
    const float *bias = in[2].data;
    for (int64_t i = 0; i < el_tensor_numel(&want); i++) {
        float v = w[i] + bias[i % 6];
        w[i] = v > 0 ? (v < 6 ? v : 6) : 0;
    }
    el_test_node tn;
    el_test_node_init(&tn, "_FusedConv2D");
    el_set_conv_attrs(&tn, &c);
    el_attr *a = &tn.attrs[tn.node.nattrs++];
    static el_string ops[2] = {{"BiasAdd", 7}, {"Relu6", 5}};
    a->name = "fused_ops";
    a->type = EL_ATTR_LIST;
    a->v.list.elem = EL_ATTR_S;
    a->v.list.n = 2;
    a->v.list.v.s = ops;
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 3, in, 1, out), EL_OK);
    el_test_assert_f32(&out[0], want.data, el_tensor_numel(&want), 1e-5f);
    el_test_release_all(1, out);

    /* An unsupported fused op is refused by name. */
    static el_string bad[2] = {{"BiasAdd", 7}, {"Swish", 5}};
    a->v.list.v.s = bad;
    assert_int_equal(el_test_run(&tn, 3, in, 1, out), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "Swish"));
    el_test_release_all(1, out);
    el_tensor_release(&want);
    el_test_release_all(3, in);
}

static void test_matmul(void **state)
{
    (void)state;
    int64_t ad[2] = {2, 3}, bd[2] = {3, 2};
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {7, 8, 9, 10, 11, 12};
    el_tensor in[2] = {el_test_f32(2, ad, av), el_test_f32(2, bd, bv)};
    el_test_node tn;
    el_test_node_init(&tn, "MatMul");
    el_tensor out[1];
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
    int64_t od[2] = {2, 2};
    el_test_assert_shape(&out[0], 2, od);
    float want[4] = {58, 64, 139, 154};
    el_test_assert_f32(&out[0], want, 4, 0);
    el_test_release_all(1, out);

    /* Same product from transposed operands: A^T given as [3,2], B^T as [2,3]. */
    float atv[6] = {1, 4, 2, 5, 3, 6}, btv[6] = {7, 9, 11, 8, 10, 12};
    el_tensor tin[2] = {el_test_f32(2, bd, atv), el_test_f32(2, ad, btv)};
    el_test_node_init(&tn, "MatMul");
    el_test_attr_bool(&tn, "transpose_a", true);
    el_test_attr_bool(&tn, "transpose_b", true);
    assert_int_equal(el_test_run(&tn, 2, tin, 1, out), EL_OK);
    el_test_assert_f32(&out[0], want, 4, 0);
    el_test_release_all(1, out);

    /* Incompatible inner dimensions. */
    el_test_node_init(&tn, "MatMul");
    el_test_attr_bool(&tn, "transpose_b", true);
    assert_int_equal(el_test_run(&tn, 2, in, 1, out), EL_ERR_RUNTIME);
    assert_non_null(strstr(el_last_error(), "incompatible"));
    el_test_release_all(1, out);
    el_test_release_all(2, tin);
    el_test_release_all(2, in);

    /* Random larger product (several 4-row tiles, > 64 columns). */
    int64_t m = 9, k = 13, n = 70;
    int64_t ad2[2] = {m, k}, bd2[2] = {k, n};
    el_tensor r[2] = {el_rand_f32(2, ad2), el_rand_f32(2, bd2)};
    float *ref = malloc(sizeof(float) * (size_t)(m * n));
    const float *A = r[0].data, *B = r[1].data;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = 0;
            for (int64_t q = 0; q < k; q++) s += A[i * k + q] * B[q * n + j];
            ref[i * n + j] = s;
        }
    el_test_node_init(&tn, "MatMul");
    assert_int_equal(el_test_run(&tn, 2, r, 1, out), EL_OK);
    el_test_assert_f32(&out[0], ref, m * n, 1e-5f);
    el_test_release_all(1, out);
    free(ref);
    el_test_release_all(2, r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_random_vs_direct),
        cmocka_unit_test(test_conv_gemm_path),
        cmocka_unit_test(test_conv_hand_checked),
        cmocka_unit_test(test_conv_errors),
        cmocka_unit_test(test_fused_conv),
        cmocka_unit_test(test_matmul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
