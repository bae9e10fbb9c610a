/* The bf16 convolution (AMX and AVX512-BF16 paths, threaded) against the
 * fp32 reference kernel, through the Conv2D kernel as a session runs it
 * (the packed filter in place of the fp32 one, as the precision pass sets
 * it), and the kernel's fp32 fallback on that filter widened.
 *
 * Two oracles: (1) the reference run on the inputs rounded to bf16 (round
 * to nearest even): the bf16 kernels must agree with it to fp32 summation
 * rounding, which pins the conversion and the packing down exactly; (2) the
 * plain fp32 reference: the difference must stay within bf16's own bound,
 * 2 * 2^-8 of the sum of |x * w| (each of x and w is off by at most 2^-9
 * relative after rounding). Odd shapes cover every padding and tail path.
 * bf16x3 (hi + lo halves, three AMX products) against the fp32 reference
 * within its own bound: 2^-15 of the sum of |x * w| (each operand keeps 16
 * significant bits, the dropped lo*lo term is below 2^-16 relative). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_bf16.h"
#include "ops/gemm.h"
#include "testutil.h"

typedef struct el_bc {
    int64_t n, h, w, ic, oc, kh, kw, sh, sw, dh, dw;
    const char *pad;
    /* 0 none, 1 BiasAdd, 2 BiasAdd+Relu6, 3 BiasAdd+Relu, 4 BiasAdd+Sigmoid,
     * 5 BiasAdd+Add (a residual of the output's shape): 4 and 5 are the
     * tile operations the bf16 kernels apply per block */
    int fuse;
} el_bc;

static el_test_lcg el_rng = {777};

static el_tensor el_map(const el_tensor *s, int how) /* 1: round to bf16, 2: |x| */
{
    el_tensor t;
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, s->ndim, s->dims), EL_OK);
    const float *a = s->data;
    float *b = t.data;
    for (int64_t i = 0; i < el_tensor_numel(s); i++) b[i] = how == 1 ? el_bf16_to_f32(el_bf16_from_f32(a[i])) : fabsf(a[i]);
    return t;
}

/* in: x, filter, [bias]; packed: the bf16 tiles (bf16x3 when x3) to read
 * instead of the filter, or NULL. */
static void el_bc_run_as(const el_bc *c, const el_tensor *in, const el_tensor *packed, bool x3, el_tensor *out)
{
    el_tensor ins[4];
    el_test_node tn;
    el_test_node_init(&tn, c->fuse ? "_FusedConv2D" : "Conv2D");
    int64_t strides[4] = {1, c->sh, c->sw, 1}, dil[4] = {1, c->dh, c->dw, 1};
    el_test_attr_ints(&tn, "strides", 4, strides);
    el_test_attr_ints(&tn, "dilations", 4, dil);
    el_test_attr_str(&tn, "padding", c->pad);
    static el_string ops[2] = {{"BiasAdd", 7}, {"Relu6", 5}};
    if (c->fuse) {
        ops[1] = c->fuse == 3   ? (el_string){"Relu", 4}
                 : c->fuse == 4 ? (el_string){"Sigmoid", 7}
                 : c->fuse == 5 ? (el_string){"Add", 3}
                                : (el_string){"Relu6", 5};
        el_attr *a = &tn.attrs[tn.node.nattrs++];
        a->name = "fused_ops";
        a->type = EL_ATTR_LIST;
        a->v.list.elem = EL_ATTR_S;
        a->v.list.n = c->fuse >= 2 ? 2 : 1;
        a->v.list.v.s = ops;
    }
    const int nin = c->fuse == 5 ? 4 : c->fuse ? 3 : 2;
    memcpy(ins, in, sizeof(el_tensor) * (size_t)nin);
    if (packed) {
        ins[1] = *packed;
        el_test_attr_str(&tn, EL_FILTER_LAYOUT_ATTR,
                         el_filter_layout_name(x3 ? EL_FILTER_BF16X3_T32X16 : EL_FILTER_BF16_T32X16));
        el_attr *a = &tn.attrs[tn.node.nattrs++];
        a->name = EL_FILTER_SHAPE_ATTR;
        a->type = EL_ATTR_SHAPE;
        a->v.shape.rank = 4;
        memcpy(a->v.shape.dims, in[1].dims, sizeof(int64_t) * 4);
    }
    el_status s = el_test_run(&tn, nin, ins, 1, out);
    if (s != EL_OK) fail_msg("run failed: %s", el_last_error());
}

static void el_bc_run(const el_bc *c, const el_tensor *in, const el_tensor *packed, el_tensor *out)
{
    el_bc_run_as(c, in, packed, false, out);
}

/* bf16x3: AMX, its threads, and the fp32 fallback on the widened hi + lo
 * filter (AMX forced off), each within bf16x3's bound of the fp32
 * reference `ref` (aref: the reference on |x|, |w|). */
static void el_bc_check_x3(const el_bc *c, const el_tensor *in, const el_tensor *ref, const el_tensor *aref,
                           el_threadpool *pool3)
{
    int64_t k = c->kh * c->kw * c->ic, len = 2 * el_bf16_packed_len(k, c->oc);
    el_tensor packed;
    assert_int_equal(el_tensor_alloc(&packed, EL_DT_INT16, 1, &len), EL_OK);
    el_bf16x3_pack(in[1].data, k, c->oc, packed.data);
    for (int isa = EL_BF16_AVX512; isa <= EL_BF16_AMX; isa++) {
        if (isa == EL_BF16_AMX && el_bf16_isa_available() != EL_BF16_AMX) break;
        el_bf16_force_isa(isa);
        el_tensor one, three;
        el_bc_run_as(c, in, &packed, true, &one);
        el_test_assert_shape(&one, ref->ndim, ref->dims);
        const float *r = ref->data, *a = aref->data, *f = one.data;
        for (int64_t i = 0; i < el_tensor_numel(ref); i++) {
            float tol = 0x1p-15f * a[i] + 1e-6f * (float)k * (a[i] + 1.0f);
            if (!(fabsf(f[i] - r[i]) <= tol))
                fail_msg("bf16x3 isa %d, %lldx%lldx%lldx%lld k%lldx%lld oc %lld %s fuse %d: element %lld is %.7g, "
                         "fp32 reference %.7g (tol %.3g)",
                         isa, (long long)c->n, (long long)c->h, (long long)c->w, (long long)c->ic, (long long)c->kh,
                         (long long)c->kw, (long long)c->oc, c->pad, c->fuse, (long long)i, (double)f[i],
                         (double)r[i], (double)tol);
        }
        el_threadpool *prev = el_threadpool_set_current(pool3);
        el_bc_run_as(c, in, &packed, true, &three);
        el_threadpool_set_current(prev);
        assert_memory_equal(one.data, three.data, el_tensor_nbytes(&one));
        el_tensor_release(&one);
        el_tensor_release(&three);
    }
    el_bf16_force_isa(-1);
    el_tensor_release(&packed);
}

static void el_bc_check(const el_bc *c)
{
    int64_t xd[4] = {c->n, c->h, c->w, c->ic}, wd[4] = {c->kh, c->kw, c->ic, c->oc}, bd[1] = {c->oc};
    /* The output's shape, for the residual of fuse 5. */
    int64_t oh, ow;
    if (!strcmp(c->pad, "SAME")) {
        oh = (c->h + c->sh - 1) / c->sh, ow = (c->w + c->sw - 1) / c->sw;
    } else {
        oh = (c->h - (c->kh - 1) * c->dh - 1) / c->sh + 1, ow = (c->w - (c->kw - 1) * c->dw - 1) / c->sw + 1;
    }
    int64_t yd[4] = {c->n, oh, ow, c->oc};
    el_tensor in[4] = {el_test_rand_tensor(&el_rng, 4, xd), el_test_rand_tensor(&el_rng, 4, wd),
                       el_test_rand_tensor(&el_rng, 1, bd), el_test_rand_tensor(&el_rng, 4, yd)};
    int64_t k = c->kh * c->kw * c->ic, len = el_bf16_packed_len(k, c->oc);
    el_tensor packed;
    assert_int_equal(el_tensor_alloc(&packed, EL_DT_INT16, 1, &len), EL_OK);
    el_bf16_pack(in[1].data, k, c->oc, packed.data);

    el_conv_force_isa(EL_ISA_REF);
    el_tensor ref, rref, aref;
    el_bc_run(c, in, NULL, &ref);
    el_tensor rin[4] = {el_map(&in[0], 1), el_map(&in[1], 1), in[2], in[3]};
    el_bc_run(c, rin, NULL, &rref);
    el_tensor win[4] = {in[0], rin[1], in[2], in[3]}, wref;
    el_bc_run(c, win, NULL, &wref); /* the filter rounded, the input not */
    el_bc plain = *c;
    plain.fuse = 0;
    el_tensor ain[2] = {el_map(&in[0], 2), el_map(&in[1], 2)};
    el_bc_run(&plain, ain, NULL, &aref);
    el_conv_force_isa(-1);

    el_threadpool *pool3;
    assert_int_equal(el_threadpool_create(3, &pool3), EL_OK);
    for (int isa = EL_BF16_AVX512; isa <= (int)el_bf16_isa_available(); isa++) {
        el_bf16_force_isa(isa);
        el_tensor one, three;
        el_bc_run(c, in, &packed, &one);
        el_test_assert_shape(&one, ref.ndim, ref.dims);
        const float *r = ref.data, *rr = rref.data, *a = aref.data, *f = one.data;
        for (int64_t i = 0; i < el_tensor_numel(&ref); i++) {
            /* (1) same rounded inputs: fp32 summation order only. */
            float t1 = 1e-6f * (float)k * (a[i] + 1.0f);
            /* (2) bf16's bound, plus (1). */
            float t2 = 2.0f * 0.00390625f * a[i] + t1;
            if (fabsf(f[i] - rr[i]) > t1 || fabsf(f[i] - r[i]) > t2)
                fail_msg("isa %d, %lldx%lldx%lldx%lld k%lldx%lld oc %lld s%lld/%lld d%lld/%lld %s fuse %d: element "
                         "%lld is %.7g, reference on bf16 inputs %.7g (tol %.3g), fp32 reference %.7g (tol %.3g)",
                         isa, (long long)c->n, (long long)c->h, (long long)c->w, (long long)c->ic, (long long)c->kh,
                         (long long)c->kw, (long long)c->oc, (long long)c->sh, (long long)c->sw, (long long)c->dh,
                         (long long)c->dw, c->pad, c->fuse, (long long)i, (double)f[i], (double)rr[i], (double)t1,
                         (double)r[i], (double)t2);
        }
        /* Threads share out rows or columns: the same bits as one thread. */
        el_threadpool *prev = el_threadpool_set_current(pool3);
        el_bc_run(c, in, &packed, &three);
        el_threadpool_set_current(prev);
        assert_memory_equal(one.data, three.data, el_tensor_nbytes(&one));
        el_tensor_release(&one);
        el_tensor_release(&three);
    }
    /* No bf16 ISA (forced): the fp32 kernels on the filter widened from its
     * tiles, i.e. on the filter rounded to bf16. */
    el_bf16_force_isa(EL_BF16_NONE);
    el_tensor wide;
    el_bc_run(c, in, &packed, &wide);
    el_test_assert_shape(&wide, ref.ndim, ref.dims);
    const float *wr = wref.data, *wf = wide.data, *a = aref.data;
    for (int64_t i = 0; i < el_tensor_numel(&ref); i++)
        if (fabsf(wf[i] - wr[i]) > 1e-6f * (float)k * (a[i] + 1.0f))
            fail_msg("fp32 on the widened filter, element %lld: %.7g, reference %.7g", (long long)i, (double)wf[i],
                     (double)wr[i]);
    el_tensor_release(&wide);
    el_tensor_release(&wref);
    el_bf16_force_isa(-1);
    el_bc_check_x3(c, in, &ref, &aref, pool3);
    el_threadpool_free(pool3);
    el_tensor_release(&ref);
    el_tensor_release(&rref);
    el_tensor_release(&aref);
    el_tensor_release(&rin[0]);
    el_tensor_release(&rin[1]);
    el_test_release_all(2, ain);
    el_tensor_release(&packed);
    el_test_release_all(4, in);
}

static void test_rounding(void **state)
{
    (void)state;
    /* Round to nearest, ties to even; NaN stays NaN; infinities stay. */
    assert_int_equal(el_bf16_from_f32(1.0f), 0x3f80);
    union {
        uint32_t u;
        float f;
    } v;
    v.u = 0x3f808000u; /* halfway between 0x3f80 and 0x3f81: to even */
    assert_int_equal(el_bf16_from_f32(v.f), 0x3f80);
    v.u = 0x3f818000u; /* halfway, odd below: up */
    assert_int_equal(el_bf16_from_f32(v.f), 0x3f82);
    v.u = 0x3f808001u;
    assert_int_equal(el_bf16_from_f32(v.f), 0x3f81);
    assert_int_equal(el_bf16_from_f32(INFINITY), 0x7f80);
    assert_int_equal(el_bf16_from_f32(-INFINITY), 0xff80);
    assert_true(isnan(el_bf16_to_f32(el_bf16_from_f32(NAN))));
    v.u = 0x7f7fffffu; /* FLT_MAX rounds up to infinity */
    assert_int_equal(el_bf16_from_f32(v.f), 0x7f80);
}

static void test_shapes(void **state)
{
    (void)state;
    if (el_bf16_isa_available() == EL_BF16_NONE) {
        printf("no AVX512-BF16 / AMX on this CPU: nothing to compare\n");
        skip();
    }
    printf("bf16 ISA on this CPU: %s\n", el_bf16_isa_available() == EL_BF16_AMX ? "AMX" : "AVX512-BF16");
    const el_bc cases[] = {
        /* MobileNet-SSD shapes: first layer, pointwise, box predictors, extras */
        {1, 33, 33, 3, 32, 3, 3, 2, 2, 1, 1, "SAME", 2},
        {1, 19, 19, 64, 128, 1, 1, 1, 1, 1, 1, "SAME", 2},
        {1, 10, 10, 256, 546, 1, 1, 1, 1, 1, 1, "SAME", 1},
        {1, 3, 3, 512, 12, 1, 1, 1, 1, 1, 1, "SAME", 1},
        {1, 5, 5, 256, 128, 3, 3, 2, 2, 1, 1, "SAME", 2},
        {1, 1, 1, 1024, 1024, 1, 1, 1, 1, 1, 1, "VALID", 2},
        /* odd: k not a multiple of 32, n not of 16, rows not of 16 or 12 */
        {1, 5, 7, 37, 45, 1, 1, 1, 1, 1, 1, "VALID", 0},
        {2, 7, 5, 13, 17, 3, 3, 1, 1, 2, 2, "SAME", 3},
        {1, 9, 11, 5, 1, 5, 3, 3, 2, 1, 1, "VALID", 1},
        {1, 4, 4, 300, 33, 3, 3, 1, 1, 1, 1, "SAME", 0},
        /* k large enough for panels of 64 rows: several panels, a partial last one */
        {1, 12, 11, 300, 20, 3, 3, 1, 1, 1, 1, "SAME", 2},
        {3, 2, 3, 8, 31, 1, 1, 2, 2, 1, 1, "SAME", 2},
        /* tile operations per block: CenterNet's heatmap (Sigmoid), a residual Add */
        {1, 16, 16, 128, 80, 1, 1, 1, 1, 1, 1, "SAME", 4},
        {1, 9, 13, 96, 72, 1, 1, 1, 1, 1, 1, "SAME", 5},
        {2, 6, 7, 40, 33, 3, 3, 2, 2, 1, 1, "SAME", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) el_bc_check(&cases[i]);
    for (int it = 0; it < 60; it++) {
        el_bc c = {el_test_pick(&el_rng, 1, 2), el_test_pick(&el_rng, 1, 12), el_test_pick(&el_rng, 1, 12),
                   el_test_pick(&el_rng, 1, 70), el_test_pick(&el_rng, 1, 80), el_test_pick(&el_rng, 1, 4),
                   el_test_pick(&el_rng, 1, 4), el_test_pick(&el_rng, 1, 3), el_test_pick(&el_rng, 1, 3),
                   el_test_pick(&el_rng, 0, 4) ? 1 : 2, el_test_pick(&el_rng, 0, 4) ? 1 : 2,
                   el_test_pick(&el_rng, 0, 1) ? "SAME" : "VALID", (int)el_test_pick(&el_rng, 0, 5)};
        if (!strcmp(c.pad, "VALID") && ((c.kh - 1) * c.dh + 1 > c.h || (c.kw - 1) * c.dw + 1 > c.w)) continue;
        el_bc_check(&c);
    }
}

/* Packing: tile (nb, kb), index r*32 + j*2 + s holds (kb*32 + 2r + s, nb*16 + j). */
static void test_pack(void **state)
{
    (void)state;
    const int64_t k = 35, n = 18;
    float w[35 * 18];
    for (int64_t i = 0; i < k * n; i++) w[i] = (float)i;
    uint16_t *p = calloc((size_t)el_bf16_packed_len(k, n), sizeof *p);
    assert_non_null(p);
    el_bf16_pack(w, k, n, p);
    assert_int_equal(el_bf16_packed_len(k, n), 64 * 32);
    for (int64_t kk = 0; kk < 64; kk++)
        for (int64_t nn = 0; nn < 32; nn++) {
            int64_t nb = nn / 16, kb = kk / 32, r = kk % 32 / 2, s = kk % 2, j = nn % 16;
            float got = el_bf16_to_f32(p[(nb * 2 + kb) * 512 + r * 32 + j * 2 + s]);
            float want = kk < k && nn < n ? el_bf16_to_f32(el_bf16_from_f32(w[kk * n + nn])) : 0.0f;
            assert_true(got == want);
        }
    /* Unpacking widens the same values back to [k, n]. */
    float back[35 * 18];
    el_bf16_unpack(p, k, n, back);
    for (int64_t i = 0; i < k * n; i++) assert_true(back[i] == el_bf16_to_f32(el_bf16_from_f32(w[i])));
    free(p);
}

/* bf16x3 halves: hi + lo keeps 16 significant bits; an infinity or NaN
 * stays in hi with lo zero; both packers (scalar, vector from row-major or
 * from the fp32 panels) give the same tiles. */
static void test_x3(void **state)
{
    (void)state;
    uint16_t hi, lo;
    for (int i = 0; i < 2000; i++) {
        float f = el_test_unit(&el_rng) * ldexpf(1.0f, (int)el_test_pick(&el_rng, -40, 40));
        el_bf16x3_split(f, &hi, &lo);
        float back = el_bf16_to_f32(hi) + el_bf16_to_f32(lo);
        assert_true(fabsf(back - f) <= 0x1p-16f * fabsf(f));
    }
    el_bf16x3_split(INFINITY, &hi, &lo);
    assert_int_equal(hi, 0x7f80);
    assert_int_equal(lo, 0);
    el_bf16x3_split(-INFINITY, &hi, &lo);
    assert_int_equal(hi, 0xff80);
    assert_int_equal(lo, 0);
    el_bf16x3_split(NAN, &hi, &lo);
    assert_true(isnan(el_bf16_to_f32(hi)));
    assert_int_equal(lo, 0);

    const int64_t shapes[][2] = {{35, 18}, {64, 32}, {3, 100}, {300, 33}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int64_t k = shapes[si][0], n = shapes[si][1], len = el_bf16_packed_len(k, n);
        float *w = malloc(sizeof(float) * (size_t)(k * n)), *panels = NULL, *back = malloc(sizeof(float) * (size_t)(k * n));
        assert_non_null(w);
        assert_non_null(back);
        for (int64_t i = 0; i < k * n; i++) w[i] = el_test_unit(&el_rng);
        w[0] = INFINITY;
        panels = aligned_alloc(64, (size_t)(el_gemm_packed_len(k, n) * 4 + 63) / 64 * 64);
        assert_non_null(panels);
        el_gemm_pack_f32(w, k, n, panels);
        for (int x3 = 0; x3 < 2; x3++) {
            size_t bytes = (size_t)len * (size_t)(x3 + 1) * sizeof(uint16_t);
            uint16_t *want = aligned_alloc(64, (bytes + 63) / 64 * 64), *got = aligned_alloc(64, (bytes + 63) / 64 * 64);
            assert_non_null(want);
            assert_non_null(got);
            if (x3) el_bf16x3_pack(w, k, n, want);
            else el_bf16_pack(w, k, n, want);
            el_bf16_pack_strided(w, n, 32, k, n, x3, got);
            assert_memory_equal(got, want, bytes);
            el_bf16_pack_strided(panels, 32, k * 32, k, n, x3, got);
            assert_memory_equal(got, want, bytes);
            if (x3) {
                /* Widened back: hi + lo, within 2^-16 (w[0] stays infinite). */
                el_bf16x3_unpack(want, k, n, back);
                assert_true(isinf(back[0]));
                for (int64_t i = 1; i < k * n; i++) assert_true(fabsf(back[i] - w[i]) <= 0x1p-16f * fabsf(w[i]));
            }
            free(want);
            free(got);
        }
        free(w);
        free(back);
        free(panels);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_pack),
        cmocka_unit_test(test_x3),
        cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
