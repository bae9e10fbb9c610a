/* Pooling: MaxPool, MaxPoolV2, AvgPool (NHWC, float).
 *
 * TF rules matched: padded positions take no part in the window (MaxPool
 * starts from the lowest float; AvgPool divides the sum by the number of
 * real input elements in the window, not by the window size); the sum runs
 * over the window in row-major order from 0, then one division, as TF's
 * SpatialAvgPool accumulates input pixels in order and divides by the
 * count.
 *
 * The AVX-512 kernel keeps 16 channels of one output pixel in a register
 * while it walks the window in the same row-major order, so each output
 * is the same sequence of max (x > y ? x : y, as vmaxps) or add operations
 * as the reference's: same bits. Output rows are split over the session's
 * threads.
 *
 * A MaxPool with the private attr EL_POOL_KEEP_EQUAL_ATTR (set by the graph
 * passes on CenterNet's peak test _ElKeepEqual(x, MaxPool(x)), see
 * ops/pool.h) outputs x * (x == max ? 1 : 0) instead of the max, x taken at
 * the output's own position (its shape must be x's): the same product as
 * the _ElKeepEqual, without writing and reading back the pooled tensor.
 *
 * A MaxPool the graph passes gave several inputs (EL_POOL_NEG_ATTR: it
 * took the place of a channel ConcatV2 it read, CReLU's Concat(x, Neg(x)))
 * pools each input into its own block of output channels, in input order,
 * reading the inputs whose mask bit is set negated; with EL_POOL_RELU_ATTR
 * (a Relu that read the pool) each maximum then goes through Relu
 * (x < 0 ? 0 : x, NaN and -0 kept). Max over a window is per channel, so
 * each output is the same sequence of operations on the same values as
 * the concat, pool and Relu nodes: same bits, without the concatenated
 * map in memory. */
#include <float.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/kernel.h"
#include "ops/pool.h"
#include "ops/window.h"
#if defined(EL_CONV_X86)
#include <immintrin.h>
#endif

/* GCC's -O2 vectorizes only loops with no epilogue; these loops run over
 * channels of any count. Vectorizing never reorders an element's sum. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif

/* One input and the block of output channels it fills. */
typedef struct el_pool_part {
    const float *x;
    int64_t c, off;
    bool neg;
} el_pool_part;

typedef struct el_pool_geom {
    int64_t n, c; /* c: output channels, the sum of the parts' */
    el_window_axis h, w;
    int nparts;
    el_pool_part part[EL_POOL_MAX_PARTS];
    bool relu;
} el_pool_geom;

/* The input range [*lo, *hi) that output position o's window covers. */
static inline void el_pool_span(const el_window_axis *a, int64_t o, int64_t *lo, int64_t *hi)
{
    int64_t s = o * a->stride - a->pad_before, e = s + a->k;
    *lo = s < 0 ? 0 : s;
    *hi = e > a->in ? a->in : e;
}

/* Output rows [r0, r1) of the whole batch (row r = b * H->out + oy). */
static void el_pool_rows(const el_pool_geom *g, bool is_max, bool keq, float *y, int64_t r0, int64_t r1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / H->out, oy = r % H->out;
        int64_t y0, y1, x0, x1;
        el_pool_span(H, oy, &y0, &y1);
        for (int64_t ox = 0; ox < W->out; ox++) {
            el_pool_span(W, ox, &x0, &x1);
            for (int p = 0; p < g->nparts; p++) {
                const el_pool_part *pt = &g->part[p];
                const float *x = pt->x;
                const int64_t c = pt->c;
                float *restrict yrow = y + ((b * H->out + oy) * W->out + ox) * g->c + pt->off;
                for (int64_t ch = 0; ch < c; ch++) yrow[ch] = is_max ? -FLT_MAX : 0.0f;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const float *restrict xrow = x + ((b * H->in + iy) * W->in + ix) * c;
                        if (is_max && pt->neg) {
                            /* -x exactly (a sign flip), as the Neg node. */
                            for (int64_t ch = 0; ch < c; ch++) {
                                const float v = -xrow[ch];
                                yrow[ch] = v > yrow[ch] ? v : yrow[ch];
                            }
                        } else if (is_max) {
                            for (int64_t ch = 0; ch < c; ch++) yrow[ch] = xrow[ch] > yrow[ch] ? xrow[ch] : yrow[ch];
                        } else {
                            for (int64_t ch = 0; ch < c; ch++) yrow[ch] += xrow[ch];
                        }
                    }
                if (keq) {
                    const float *restrict xc = x + ((b * H->in + oy) * W->in + ox) * c;
                    for (int64_t ch = 0; ch < c; ch++) yrow[ch] = xc[ch] * (xc[ch] == yrow[ch] ? 1.0f : 0.0f);
                }
                if (g->relu)
                    for (int64_t ch = 0; ch < c; ch++) yrow[ch] = yrow[ch] < 0 ? 0.0f : yrow[ch];
                if (!is_max) {
                    int64_t count = (y1 - y0) * (x1 - x0);
                    /* An all-padding window (only possible with EXPLICIT
                     * padding) has no elements: TF leaves such outputs 0. */
                    if (count > 0) {
                        float fc = (float)count;
                        for (int64_t ch = 0; ch < c; ch++) yrow[ch] /= fc;
                    }
                }
            }
        }
    }
}

#if defined(EL_CONV_X86)
/* One output pixel's (part, 16-channel block) pairs are taken four at a
 * time: four independent chains of max (or add) over the window instead of
 * one, whose latency bounded the pools with few channels (FaceBoxes' CReLU
 * pools: 2 parts of 24 channels). Unused slots have an empty mask. */
#define EL_POOL_SLOTS 4

__attribute__((target("avx512f"))) static void el_pool_rows_avx512(const el_pool_geom *g, bool is_max, bool keq,
                                                                    float *y, int64_t r0, int64_t r1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u), zero = _mm512_setzero_si512();
    const __m512 init = _mm512_set1_ps(is_max ? -FLT_MAX : 0.0f);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / H->out, oy = r % H->out;
        int64_t y0, y1, x0, x1;
        el_pool_span(H, oy, &y0, &y1);
        for (int64_t ox = 0; ox < W->out; ox++) {
            el_pool_span(W, ox, &x0, &x1);
            const int64_t count = (y1 - y0) * (x1 - x0);
            const __m512 fc = _mm512_set1_ps((float)count);
            float *ypix = y + ((b * H->out + oy) * W->out + ox) * g->c;
            int p = 0;
            int64_t ch = 0;
            while (p < g->nparts) {
                const float *xs[EL_POOL_SLOTS];
                int64_t cs[EL_POOL_SLOTS];
                __m512i flip[EL_POOL_SLOTS];
                __mmask16 ms[EL_POOL_SLOTS];
                float *ys[EL_POOL_SLOTS];
                for (int k = 0; k < EL_POOL_SLOTS; k++) {
                    if (p < g->nparts) {
                        const el_pool_part *pt = &g->part[p];
                        const int64_t c = pt->c;
                        ms[k] = c - ch >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (c - ch)) - 1u);
                        xs[k] = pt->x + b * H->in * W->in * c + ch;
                        cs[k] = c;
                        /* flip: -x as a sign flip (the Neg node's bits), or nothing. */
                        flip[k] = pt->neg ? sign : zero;
                        ys[k] = ypix + pt->off + ch;
                        if ((ch += 16) >= c) p++, ch = 0;
                    } else {
                        ms[k] = 0, xs[k] = xs[0], cs[k] = cs[0], flip[k] = zero, ys[k] = ys[0];
                    }
                }
                __m512 acc[EL_POOL_SLOTS];
                for (int k = 0; k < EL_POOL_SLOTS; k++) acc[k] = init;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const int64_t pix = iy * W->in + ix;
                        for (int k = 0; k < EL_POOL_SLOTS; k++) {
                            __m512 v = _mm512_castsi512_ps(_mm512_xor_si512(
                                _mm512_castps_si512(_mm512_maskz_loadu_ps(ms[k], xs[k] + pix * cs[k])), flip[k]));
                            acc[k] = is_max ? _mm512_max_ps(v, acc[k]) : _mm512_add_ps(acc[k], v);
                        }
                    }
                for (int k = 0; k < EL_POOL_SLOTS; k++) {
                    __m512 a = acc[k];
                    if (!is_max && count > 0) a = _mm512_div_ps(a, fc);
                    if (keq) {
                        const __m512 xc = _mm512_maskz_loadu_ps(ms[k], xs[k] + (oy * W->in + ox) * cs[k]);
                        const __mmask16 eq = _mm512_cmp_ps_mask(xc, a, _CMP_EQ_OQ);
                        a = _mm512_mul_ps(xc, _mm512_mask_blend_ps(eq, _mm512_setzero_ps(), _mm512_set1_ps(1.0f)));
                    }
                    /* Relu as the Relu kernel: max(0, v) keeps NaN and -0. */
                    if (g->relu) a = _mm512_max_ps(_mm512_setzero_ps(), a);
                    _mm512_mask_storeu_ps(ys[k], ms[k], a);
                }
            }
        }
    }
}
#endif

typedef struct el_pool_job {
    const el_pool_geom *g;
    bool is_max, keq, fast;
    float *y;
} el_pool_job;

static void el_pool_chunk(void *vc, int64_t r0, int64_t r1)
{
    const el_pool_job *j = vc;
#if defined(EL_CONV_X86)
    if (j->fast) {
        el_pool_rows_avx512(j->g, j->is_max, j->keq, j->y, r0, r1);
        return;
    }
#endif
    el_pool_rows(j->g, j->is_max, j->keq, j->y, r0, r1);
}

static void el_pool_run(const el_pool_geom *g, bool is_max, bool keq, float *y)
{
    el_pool_job j = {g, is_max, keq, false, y};
#if defined(EL_CONV_X86)
    j.fast = el_conv_isa() >= EL_ISA_AVX512;
#endif
    /* A chunk of rows should be worth a thread wake-up (~50k window reads). */
    int64_t per_row = g->w.out * g->c * g->h.k * g->w.k;
    int64_t grain = per_row > 0 && per_row < 50000 ? 50000 / per_row : 1;
    el_parallel_for(el_threadpool_current(), g->n * g->h.out, grain, el_pool_chunk, &j);
}

/* ksize/strides from attrs (MaxPool, AvgPool) or from inputs 1 and 2
 * (MaxPoolV2). */
static el_status el_pool_hw(el_kctx *ctx, bool from_inputs, const char *name, int input, int64_t *h, int64_t *w)
{
    if (!from_inputs) return el_window_hw(ctx, name, 0, h, w);
    int64_t v[4];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, input, v, 4, &n));
    if (n != 4) return el_kerr(ctx, EL_ERR_RUNTIME, "%s should have 4 values, found %d", name, n);
    if (v[0] != 1 || v[3] != 1)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "%s = [%lld,%lld,%lld,%lld]: pooling over batch or depth is not supported",
                       name, (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
    *h = v[1];
    *w = v[2];
    return EL_OK;
}

/* The inputs of a MaxPool that took a concat's place (EL_POOL_NEG_ATTR):
 * each a float NHWC map of x's batch and size, at most EL_POOL_MAX_PARTS. */
static el_status el_pool_parts(el_kctx *ctx, el_pool_geom *g)
{
    int64_t neg = 0;
    EL_TRY(el_attr_int(ctx->node, EL_POOL_NEG_ATTR, 0, &neg));
    if (ctx->ninputs > EL_POOL_MAX_PARTS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "%d inputs to pool side by side, at most %d", ctx->ninputs,
                       EL_POOL_MAX_PARTS);
    if (ctx->ninputs > 1 && !el_node_attr(ctx->node, EL_POOL_NEG_ATTR))
        return el_kerr(ctx, EL_ERR_FORMAT, "expected 1 input, found %d", ctx->ninputs);
    const el_tensor *x0 = &ctx->inputs[0];
    g->nparts = ctx->ninputs;
    g->c = 0;
    for (int i = 0; i < ctx->ninputs; i++) {
        const el_tensor *x = &ctx->inputs[i];
        EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
        if (x->ndim != 4 || x->dims[0] != x0->dims[0] || x->dims[1] != x0->dims[1] || x->dims[2] != x0->dims[2]) {
            char s0[160], s[160];
            return el_kerr(ctx, EL_ERR_RUNTIME, "input %d is %s: the inputs pooled side by side must be NHWC maps of "
                           "input 0's batch and size (%s)", i, el_shape_str(x->ndim, x->dims, s, sizeof s),
                           el_shape_str(x0->ndim, x0->dims, s0, sizeof s0));
        }
        g->part[i] = (el_pool_part){x->data, x->dims[3], g->c, (neg >> i) & 1};
        g->c += x->dims[3];
    }
    return EL_OK;
}

static el_status el_pool_common(el_kctx *ctx, bool is_max, bool v2)
{
    EL_TRY(el_kctx_need_inputs(ctx, v2 ? 3 : 1));
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0];
    if (x->ndim != 4) {
        char s[160];
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must be 4-dimensional (NHWC), found %s",
                       el_shape_str(x->ndim, x->dims, s, sizeof s));
    }
    EL_TRY(el_window_nhwc(ctx));
    /* MaxPool's definition allows EXPLICIT padding; AvgPool's and
     * MaxPoolV2's do not. */
    el_padding pad = EL_PAD_VALID;
    EL_TRY(el_window_padding(ctx, is_max && !v2, &pad));
    el_pool_geom g = {0};
    EL_TRY(el_pool_hw(ctx, v2, "ksize", 1, &g.h.k, &g.w.k));
    EL_TRY(el_pool_hw(ctx, v2, "strides", 2, &g.h.stride, &g.w.stride));
    if (g.h.k <= 0 || g.w.k <= 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "ksize must be positive, found %lldx%lld", (long long)g.h.k,
                       (long long)g.w.k);
    if (pad == EL_PAD_EXPLICIT) EL_TRY(el_window_explicit(ctx, &g.h, &g.w));
    g.h.dilation = g.w.dilation = 1;
    g.n = x->dims[0];
    g.h.in = x->dims[1];
    g.w.in = x->dims[2];
    g.c = x->dims[3];
    g.nparts = 1;
    g.part[0] = (el_pool_part){x->data, g.c, 0, false};
    bool keq = false;
    if (is_max && !v2) {
        EL_TRY(el_pool_parts(ctx, &g));
        EL_TRY(el_attr_bool(ctx->node, EL_POOL_RELU_ATTR, false, &g.relu));
        EL_TRY(el_attr_bool(ctx->node, EL_POOL_KEEP_EQUAL_ATTR, false, &keq));
    }
    EL_TRY(el_window_axis_size(ctx, "row", pad, &g.h));
    EL_TRY(el_window_axis_size(ctx, "column", pad, &g.w));
    if (keq && (g.h.out != g.h.in || g.w.out != g.w.in || g.nparts != 1 || g.part[0].neg))
        return el_kerr(ctx, EL_ERR_RUNTIME, "attr %s needs one input read as it is and an output of its size, got "
                       "%lldx%lld from %lldx%lld", EL_POOL_KEEP_EQUAL_ATTR, (long long)g.h.out, (long long)g.w.out,
                       (long long)g.h.in, (long long)g.w.in);
    int64_t dims[4] = {g.n, g.h.out, g.w.out, g.c};
    el_tensor *y;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, 4, dims, &y));
    if (el_tensor_numel(y) > 0) el_pool_run(&g, is_max, keq, y->data);
    return EL_OK;
}

static el_status el_op_maxpool(el_kctx *ctx) { return el_pool_common(ctx, true, false); }
static el_status el_op_maxpool_v2(el_kctx *ctx) { return el_pool_common(ctx, true, true); }
static el_status el_op_avgpool(el_kctx *ctx) { return el_pool_common(ctx, false, false); }

const el_op el_ops_pool[] = {
    {"MaxPool", el_op_maxpool, NULL, EL_OP_PARALLEL},
    {"MaxPoolV2", el_op_maxpool_v2, NULL, EL_OP_PARALLEL},
    {"AvgPool", el_op_avgpool, NULL, EL_OP_PARALLEL},
    {NULL, NULL, NULL, 0},
};
