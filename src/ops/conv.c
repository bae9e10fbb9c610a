/* Convolutions and matrix products: Conv2D, DepthwiseConv2dNative, MatMul,
 * and the fused forms (_FusedConv2D, FusedDepthwiseConv2dNative,
 * _FusedMatMul: TensorFlow's grappler and the TF.js converter emit them,
 * and our own fusion pass may too).
 *
 * These are the reference kernels: every output element is accumulated in
 * float, starting from 0, in one fixed order -- filter row, filter column,
 * input channel, ascending (for MatMul: the inner dimension, ascending) --
 * whatever the code path (the 1x1 GEMM path adds in the same order as the
 * general path), so results are deterministic and a fast kernel can be
 * checked against them. TensorFlow's own Eigen contraction sums in another
 * order, so agreement with TF is to rounding, not bit-exact.
 *
 * Loop order keeps the output channel innermost over contiguous HWIO filter
 * rows and NHWC output rows, which the compiler vectorizes. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/array_util.h"
#include "ops/conv_bf16.h"
#include "ops/broadcast.h"
#include "ops/conv_fast.h"
#include "ops/concat.h"
#include "ops/conv_dwpw.h"
#include "ops/conv_in_scale.h"
#include "ops/conv_mean.h"
#include "ops/reduce_fast.h"
#include "ops/conv_narrow.h"
#include "ops/conv_stem.h"
#include "ops/dwconv_fast.h"
#include "ops/gemm.h"
#include "ops/kernel.h"
#include "ops/mul_add.h"
#include "ops/unary_fast.h"
#include "ops/window.h"

/* GCC's -O2 vectorizes only loops with no epilogue; these loops run over
 * channels of any count. Vectorizing never reorders an element's sum. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif


/* ---- Epilogue of the fused ops: bias / batch norm, then activation ---- */

typedef enum el_act {
    EL_ACT_NONE,
    EL_ACT_RELU,
    EL_ACT_RELU6,
    EL_ACT_ELU,
    EL_ACT_LEAKY,
    EL_ACT_PRELU,
    EL_ACT_SIGMOID,
    EL_ACT_TANH,
    EL_ACT_HSWISH /* _ElHardSwish: the graph passes' fusion of a hard swish after the convolution */
} el_act;

typedef struct el_epilogue {
    const float *bias;     /* [oc] or NULL */
    const float *bn_mean;  /* [oc] with bn_factor, bn_offset, or NULL */
    float *bn_factor;      /* owned: rsqrt(var + eps) * scale */
    const float *bn_offset;
    el_act act;
    float alpha;           /* LeakyRelu */
    const float *prelu;    /* PRelu alphas */
    int64_t prelu_n;       /* 1 (broadcast) or oc */
    float hs_mul, hs_add;  /* _ElHardSwish's m and a */
    /* "Add" after the bias (a residual Add the graph passes fused, as
     * TensorFlow's remapper spells it): its tensor; the output is
     * Add(conv + bias, it), broadcast as the Add would. */
    const el_tensor *add;
} el_epilogue;

static void el_epilogue_free(el_epilogue *e) { el_mem_free(e->bn_factor); }

static inline float el_act_apply(const el_epilogue *e, float v, int64_t c)
{
    switch (e->act) {
    case EL_ACT_NONE: return v;
    case EL_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case EL_ACT_RELU6: return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
    /* TF's Elu: exp(x) - 1 below zero (not expm1). */
    case EL_ACT_ELU: return v < 0.0f ? expf(v) - 1.0f : v;
    /* TF's LeakyRelu selects x where x > 0, else x * alpha. */
    case EL_ACT_LEAKY: return v > 0.0f ? v : v * e->alpha;
    /* TF.js prelu: x where x >= 0, else alpha * x. */
    case EL_ACT_PRELU: return v < 0.0f ? e->prelu[e->prelu_n == 1 ? 0 : c] * v : v;
    case EL_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case EL_ACT_TANH: return tanhf(v);
    case EL_ACT_HSWISH: {
        /* As el_hard_swish_f32: (v * m) * Relu6(v + a), NaN kept by the Relu6. */
        float t = v + e->hs_add;
        float r = t < 0 ? 0.0f : t > 6 ? 6.0f : t;
        return (v * e->hs_mul) * r;
    }
    }
    return v;
}

/* Applies the epilogue in place on `rows` rows of `oc` channels. Bias is
 * added after the whole sum, as the unfused Conv2D + BiasAdd would. */
static void el_epilogue_run(const el_epilogue *e, float *y, int64_t rows, int64_t oc)
{
    if (!e || (!e->bias && !e->bn_mean && e->act == EL_ACT_NONE)) return;
    for (int64_t r = 0; r < rows; r++) {
        float *restrict row = y + r * oc;
        if (e->bias) {
            const float *restrict b = e->bias;
            for (int64_t c = 0; c < oc; c++) row[c] += b[c];
        }
        if (e->bn_mean) {
            /* FusedBatchNorm's inference formula: (x - mean) * factor + offset. */
            for (int64_t c = 0; c < oc; c++) row[c] = (row[c] - e->bn_mean[c]) * e->bn_factor[c] + e->bn_offset[c];
        }
        switch (e->act) {
        case EL_ACT_NONE: break;
        case EL_ACT_RELU:
            for (int64_t c = 0; c < oc; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
            break;
        case EL_ACT_RELU6:
            for (int64_t c = 0; c < oc; c++) row[c] = row[c] > 0.0f ? (row[c] < 6.0f ? row[c] : 6.0f) : 0.0f;
            break;
        default:
            for (int64_t c = 0; c < oc; c++) row[c] = el_act_apply(e, row[c], c);
            break;
        }
    }
}

static bool el_str_is(el_string s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.data, lit, s.len) == 0;
}

/* Reads a fused op's `fused_ops` (e.g. ["BiasAdd", "Relu"]) and its extra
 * inputs (from index `first_arg`: bias; or scale, offset, mean, variance for
 * FusedBatchNorm; then the PRelu alphas). `oc` is the output depth. */
static el_status el_epilogue_parse(const el_kctx *ctx, int first_arg, int64_t oc, el_epilogue *e)
{
    memset(e, 0, sizeof *e);
    const el_attr *a = el_node_attr(ctx->node, "fused_ops");
    int nops = 0;
    const el_string *ops = NULL;
    if (a) {
        if (a->type != EL_ATTR_LIST || (a->v.list.n > 0 && a->v.list.elem != EL_ATTR_S))
            return el_kerr(ctx, EL_ERR_FORMAT, "attr 'fused_ops' should be a list of strings");
        nops = a->v.list.n;
        ops = a->v.list.v.s;
    }
    int arg = first_arg;
    for (int i = 0; i < nops; i++) {
        el_string op = ops[i];
        if (i == 0 && el_str_is(op, "BiasAdd")) {
            EL_TRY(el_kctx_need_inputs(ctx, arg + 1));
            EL_TRY(el_kctx_need_dtype(ctx, arg, EL_DT_FLOAT));
            if (el_tensor_numel(&ctx->inputs[arg]) != oc)
                return el_kerr(ctx, EL_ERR_RUNTIME, "bias has %lld values, expected %lld (the output depth)",
                               (long long)el_tensor_numel(&ctx->inputs[arg]), (long long)oc);
            e->bias = ctx->inputs[arg++].data;
        } else if (i == 0 && el_str_is(op, "FusedBatchNorm")) {
            EL_TRY(el_kctx_need_inputs(ctx, arg + 4));
            for (int j = 0; j < 4; j++) {
                EL_TRY(el_kctx_need_dtype(ctx, arg + j, EL_DT_FLOAT));
                if (el_tensor_numel(&ctx->inputs[arg + j]) != oc)
                    return el_kerr(ctx, EL_ERR_RUNTIME, "batch-norm argument %d has %lld values, expected %lld", j,
                                   (long long)el_tensor_numel(&ctx->inputs[arg + j]), (long long)oc);
            }
            float eps;
            EL_TRY(el_attr_float(ctx->node, "epsilon", 0.0001f, &eps));
            const float *scale = ctx->inputs[arg].data, *var = ctx->inputs[arg + 3].data;
            e->bn_offset = ctx->inputs[arg + 1].data;
            e->bn_mean = ctx->inputs[arg + 2].data;
            e->bn_factor = el_mem_alloc(sizeof(float) * (size_t)(oc > 0 ? oc : 1));
            if (!e->bn_factor) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
            for (int64_t c = 0; c < oc; c++) e->bn_factor[c] = 1.0f / sqrtf(var[c] + eps) * scale[c];
            arg += 4;
        } else if (i > 0 && i == nops - 1 && el_str_is(op, "Add")) {
            el_status s = el_kctx_need_inputs(ctx, arg + 1);
            if (s == EL_OK) s = el_kctx_need_dtype(ctx, arg, EL_DT_FLOAT);
            if (s != EL_OK) { el_epilogue_free(e); return s; }
            e->add = &ctx->inputs[arg++];
        } else if (i == nops - 1 && e->act == EL_ACT_NONE) {
            if (el_str_is(op, "Relu")) e->act = EL_ACT_RELU;
            else if (el_str_is(op, "Relu6")) e->act = EL_ACT_RELU6;
            else if (el_str_is(op, "Elu")) e->act = EL_ACT_ELU;
            else if (el_str_is(op, "Sigmoid")) e->act = EL_ACT_SIGMOID;
            else if (el_str_is(op, "Tanh")) e->act = EL_ACT_TANH;
            else if (el_str_is(op, "LeakyRelu")) {
                e->act = EL_ACT_LEAKY;
                el_status s = el_attr_float(ctx->node, "leakyrelu_alpha", 0.2f, &e->alpha);
                if (s != EL_OK) { el_epilogue_free(e); return s; }
            } else if (el_str_is(op, "_ElHardSwish")) {
                /* Its m and a: one float each (ops/elementwise.c's _ElHardSwish). */
                e->act = EL_ACT_HSWISH;
                el_status s = el_kctx_need_inputs(ctx, arg + 2);
                for (int j = 0; s == EL_OK && j < 2; j++) {
                    s = el_kctx_need_dtype(ctx, arg + j, EL_DT_FLOAT);
                    if (s == EL_OK && el_tensor_numel(&ctx->inputs[arg + j]) != 1)
                        s = el_kerr(ctx, EL_ERR_RUNTIME, "hard swish argument %d has %lld values, expected 1", j,
                                    (long long)el_tensor_numel(&ctx->inputs[arg + j]));
                }
                if (s != EL_OK) { el_epilogue_free(e); return s; }
                e->hs_mul = *(const float *)ctx->inputs[arg].data;
                e->hs_add = *(const float *)ctx->inputs[arg + 1].data;
                arg += 2;
            } else if (el_str_is(op, "Prelu")) {
                e->act = EL_ACT_PRELU;
                el_status s = el_kctx_need_inputs(ctx, arg + 1);
                if (s == EL_OK) s = el_kctx_need_dtype(ctx, arg, EL_DT_FLOAT);
                if (s != EL_OK) { el_epilogue_free(e); return s; }
                e->prelu = ctx->inputs[arg].data;
                e->prelu_n = el_tensor_numel(&ctx->inputs[arg]);
                arg++;
                if (e->prelu_n != 1 && e->prelu_n != oc) {
                    el_epilogue_free(e);
                    return el_kerr(ctx, EL_ERR_RUNTIME, "PRelu alpha has %lld values, expected 1 or %lld",
                                   (long long)e->prelu_n, (long long)oc);
                }
            } else {
                el_epilogue_free(e);
                return el_kerr(ctx, EL_ERR_UNSUPPORTED, "fused op '%.*s' is not supported",
                               (int)(op.len > 64 ? 64 : op.len), op.data);
            }
        } else {
            el_epilogue_free(e);
            return el_kerr(ctx, EL_ERR_UNSUPPORTED, "fused op '%.*s' at position %d is not supported",
                           (int)(op.len > 64 ? 64 : op.len), op.data, i);
        }
    }
    return EL_OK;
}

/* ---- Conv2D ---- */

/* The GEMM works on tiles of 4 rows x 8 columns kept in local
 * accumulators (registers, once the fixed-size loops are unrolled); each
 * tile still sums its k terms in ascending order from 0, so the result is
 * the same as the plain loop's. Column blocks of 64 keep the filter slice
 * in cache across row tiles. */
#define EL_GEMM_ROWS 4
#define EL_GEMM_TILE 8
#define EL_GEMM_COLS 64

/* One 4x8 tile: y[r][j] = sum_k x_r[k] * w[k * ws + j]. GCC/Clang vector
 * types keep the 8 accumulators in SIMD registers (lane-wise arithmetic:
 * the same operations as the scalar loop). */
#if defined(__GNUC__)
typedef float el_v4f __attribute__((vector_size(16)));
static inline el_v4f el_v4f_load(const float *p)
{
    el_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void el_gemm_tile(int64_t kdim, const float *x0, const float *x1, const float *x2, const float *x3,
                                const float *w, int64_t ws, float *y, int64_t ys)
{
    el_v4f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int64_t k = 0; k < kdim; k++) {
        el_v4f wl = el_v4f_load(w + k * ws), wh = el_v4f_load(w + k * ws + 4);
        el_v4f v0 = {x0[k], x0[k], x0[k], x0[k]}, v1 = {x1[k], x1[k], x1[k], x1[k]};
        el_v4f v2 = {x2[k], x2[k], x2[k], x2[k]}, v3 = {x3[k], x3[k], x3[k], x3[k]};
        a0 += v0 * wl;
        b0 += v0 * wh;
        a1 += v1 * wl;
        b1 += v1 * wh;
        a2 += v2 * wl;
        b2 += v2 * wh;
        a3 += v3 * wl;
        b3 += v3 * wh;
    }
    memcpy(y, &a0, 16);
    memcpy(y + 4, &b0, 16);
    memcpy(y + ys, &a1, 16);
    memcpy(y + ys + 4, &b1, 16);
    memcpy(y + 2 * ys, &a2, 16);
    memcpy(y + 2 * ys + 4, &b2, 16);
    memcpy(y + 3 * ys, &a3, 16);
    memcpy(y + 3 * ys + 4, &b3, 16);
}
#else
static inline void el_gemm_tile(int64_t kdim, const float *x0, const float *x1, const float *x2, const float *x3,
                                const float *w, int64_t ws, float *y, int64_t ys)
{
    float acc[EL_GEMM_ROWS][EL_GEMM_TILE] = {{0}};
    for (int64_t k = 0; k < kdim; k++) {
        const float *wr = w + k * ws;
        const float a[EL_GEMM_ROWS] = {x0[k], x1[k], x2[k], x3[k]};
        for (int r = 0; r < EL_GEMM_ROWS; r++)
            for (int j = 0; j < EL_GEMM_TILE; j++) acc[r][j] += a[r] * wr[j];
    }
    for (int r = 0; r < EL_GEMM_ROWS; r++)
        for (int j = 0; j < EL_GEMM_TILE; j++) y[r * ys + j] = acc[r][j];
}
#endif

/* y[p, :] = sum over k of x[p, k] * w[k, :], k ascending, for p < rows;
 * x rows are `xs` apart. Used by the 1x1 stride-1 convolution and MatMul. */
static void el_gemm_f32(int64_t rows, int64_t kdim, int64_t cols, const float *x, int64_t xs, const float *w,
                        float *y)
{
    for (int64_t c0 = 0; c0 < cols; c0 += EL_GEMM_COLS) {
        int64_t cn = cols - c0 < EL_GEMM_COLS ? cols - c0 : EL_GEMM_COLS;
        int64_t full = cn / EL_GEMM_TILE * EL_GEMM_TILE;
        int64_t p = 0;
        for (; p + EL_GEMM_ROWS <= rows; p += EL_GEMM_ROWS) {
            const float *x0 = x + (p + 0) * xs, *x1 = x + (p + 1) * xs;
            const float *x2 = x + (p + 2) * xs, *x3 = x + (p + 3) * xs;
            for (int64_t c = 0; c < full; c += EL_GEMM_TILE)
                el_gemm_tile(kdim, x0, x1, x2, x3, w + c0 + c, cols, y + p * cols + c0 + c, cols);
            for (int r = 0; r < EL_GEMM_ROWS; r++) {
                const float *xr = x + (p + r) * xs;
                float *restrict yr = y + (p + r) * cols + c0;
                for (int64_t c = full; c < cn; c++) yr[c] = 0.0f;
                for (int64_t k = 0; k < kdim; k++) {
                    const float *restrict wr = w + k * cols + c0;
                    float a = xr[k];
                    for (int64_t c = full; c < cn; c++) yr[c] += a * wr[c];
                }
            }
        }
        for (; p < rows; p++) {
            float *restrict y0 = y + p * cols + c0;
            const float *x0 = x + p * xs;
            for (int64_t c = 0; c < cn; c++) y0[c] = 0.0f;
            for (int64_t k = 0; k < kdim; k++) {
                const float *restrict wr = w + k * cols + c0;
                float a0 = x0[k];
                for (int64_t c = 0; c < cn; c++) y0[c] += a0 * wr[c];
            }
        }
    }
}

static void el_conv2d_f32(const el_conv_geom *g, const float *x, const float *w, float *y)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t ic = g->ic, oc = g->oc, fic = g->fic, ocg = oc / g->groups;
    if (H->k == 1 && W->k == 1 && H->stride == 1 && W->stride == 1 && H->pad_before == 0 && W->pad_before == 0 &&
        H->out == H->in && W->out == W->in && g->groups == 1) {
        el_gemm_f32(g->n * H->in * W->in, ic, oc, x, ic, w, y);
        return;
    }
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t oy = 0; oy < H->out; oy++)
            for (int64_t ox = 0; ox < W->out; ox++) {
                float *yrow = y + ((b * H->out + oy) * W->out + ox) * oc;
                memset(yrow, 0, sizeof(float) * (size_t)oc);
                for (int64_t ky = 0; ky < H->k; ky++) {
                    int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
                    if (iy < 0 || iy >= H->in) continue;
                    for (int64_t kx = 0; kx < W->k; kx++) {
                        int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
                        if (ix < 0 || ix >= W->in) continue;
                        const float *xrow = x + ((b * H->in + iy) * W->in + ix) * ic;
                        const float *wk = w + (ky * W->k + kx) * fic * oc;
                        for (int64_t grp = 0; grp < g->groups; grp++) {
                            float *restrict yg = yrow + grp * ocg;
                            const float *xg = xrow + grp * fic;
                            for (int64_t ci = 0; ci < fic; ci++) {
                                const float *restrict wr = wk + ci * oc + grp * ocg;
                                float a = xg[ci];
                                for (int64_t co = 0; co < ocg; co++) yg[co] += a * wr[co];
                            }
                        }
                    }
                }
            }
}

static void el_depthwise_f32(const el_conv_geom *g, const float *x, const float *w, float *y)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t ic = g->ic, oc = g->oc, mult = oc / (ic ? ic : 1);
    for (int64_t b = 0; b < g->n; b++)
        for (int64_t oy = 0; oy < H->out; oy++)
            for (int64_t ox = 0; ox < W->out; ox++) {
                float *restrict yrow = y + ((b * H->out + oy) * W->out + ox) * oc;
                memset(yrow, 0, sizeof(float) * (size_t)oc);
                for (int64_t ky = 0; ky < H->k; ky++) {
                    int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
                    if (iy < 0 || iy >= H->in) continue;
                    for (int64_t kx = 0; kx < W->k; kx++) {
                        int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
                        if (ix < 0 || ix >= W->in) continue;
                        const float *restrict xrow = x + ((b * H->in + iy) * W->in + ix) * ic;
                        const float *restrict wk = w + (ky * W->k + kx) * oc;
                        if (mult == 1) {
                            for (int64_t c = 0; c < ic; c++) yrow[c] += xrow[c] * wk[c];
                        } else {
                            for (int64_t c = 0; c < ic; c++) {
                                float a = xrow[c];
                                for (int64_t m = 0; m < mult; m++) yrow[c * mult + m] += a * wk[c * mult + m];
                            }
                        }
                    }
                }
            }
}

/* Checks inputs and attrs shared by Conv2D and DepthwiseConv2dNative and
 * fills the geometry. TF: strides and dilations in the batch and depth
 * dimensions must be 1; `dilations` and `data_format` default to 1 and
 * NHWC when an old export omits them. */
/* The filter's layout and HWIO shape: TensorFlow's [kh, kw, ic, oc], or a
 * packed filter (graph/pack.c: a private layout attr, shape [panels, kh,
 * kw, ic, 32] and the output depth in another attr). */
static el_status el_conv_filter(const el_kctx *ctx, bool depthwise, el_filter_layout *layout, el_tensor *hwio)
{
    const el_tensor *f = &ctx->inputs[1];
    char s1[160];
    *hwio = *f;
    *layout = EL_FILTER_HWIO;
    const el_attr *la = el_node_attr(ctx->node, EL_FILTER_LAYOUT_ATTR);
    int l = !la ? EL_FILTER_HWIO : la->type == EL_ATTR_S ? el_filter_layout_parse(la->v.s.data, la->v.s.len) : -1;
    if ((l == EL_FILTER_BF16_T32X16 || l == EL_FILTER_BF16X3_T32X16) && !depthwise) {
        el_shape sh;
        bool present;
        EL_TRY(el_attr_shape(ctx->node, EL_FILTER_SHAPE_ATTR, &sh, &present));
        bool ok = present && sh.rank == 4 && f->dtype == EL_DT_INT16 && f->ndim == 1;
        for (int d = 0; ok && d < 4; d++) ok = sh.dims[d] > 0;
        const int64_t halves = l == EL_FILTER_BF16X3_T32X16 ? 2 : 1;
        if (!ok || el_tensor_numel(f) != halves * el_bf16_packed_len(sh.dims[0] * sh.dims[1] * sh.dims[2], sh.dims[3]))
            return el_kerr(ctx, EL_ERR_RUNTIME, "bf16 filter %s (%s) does not hold the tiles of a filter of attr '%s'",
                           el_shape_str(f->ndim, f->dims, s1, sizeof s1), el_dtype_name(f->dtype),
                           EL_FILTER_SHAPE_ATTR);
        *layout = (el_filter_layout)l;
        hwio->dtype = EL_DT_FLOAT; /* the shape the fp32 filter had */
        hwio->ndim = 4;
        memcpy(hwio->dims, sh.dims, sizeof(int64_t) * 4);
        return EL_OK;
    }
    EL_TRY(el_kctx_need_dtype(ctx, 1, EL_DT_FLOAT));
    if (!la) {
        if (f->ndim != 4)
            return el_kerr(ctx, EL_ERR_RUNTIME, "filter must be 4-dimensional, found %s",
                           el_shape_str(f->ndim, f->dims, s1, sizeof s1));
        return EL_OK;
    }
    if (depthwise || l != EL_FILTER_F32_P32)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr '%s' names no filter layout this op reads", EL_FILTER_LAYOUT_ATTR);
    int64_t oc;
    EL_TRY(el_attr_int(ctx->node, EL_FILTER_OC_ATTR, -1, &oc));
    if (f->ndim != 5 || oc < 1 || f->dims[0] != (oc + EL_GEMM_NR - 1) / EL_GEMM_NR || f->dims[4] != EL_GEMM_NR)
        return el_kerr(ctx, EL_ERR_RUNTIME, "packed filter %s does not hold %lld output channels in panels of %d",
                       el_shape_str(f->ndim, f->dims, s1, sizeof s1), (long long)oc, EL_GEMM_NR);
    *layout = (el_filter_layout)l;
    hwio->ndim = 4;
    hwio->dims[0] = f->dims[1];
    hwio->dims[1] = f->dims[2];
    hwio->dims[2] = f->dims[3];
    hwio->dims[3] = oc;
    return EL_OK;
}

static el_status el_conv_prepare(const el_kctx *ctx, bool depthwise, el_conv_geom *g, el_filter_layout *layout)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0];
    el_tensor hwio;
    const el_tensor *f = &hwio;
    char s1[160], s2[160];
    if (x->ndim != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must be 4-dimensional (NHWC), found %s",
                       el_shape_str(x->ndim, x->dims, s1, sizeof s1));
    EL_TRY(el_conv_filter(ctx, depthwise, layout, &hwio));
    EL_TRY(el_window_nhwc(ctx));
    el_padding pad = EL_PAD_VALID;
    EL_TRY(el_window_padding(ctx, true, &pad));
    memset(g, 0, sizeof *g);
    EL_TRY(el_window_hw(ctx, "strides", 0, &g->h.stride, &g->w.stride));
    EL_TRY(el_window_hw(ctx, "dilations", 1, &g->h.dilation, &g->w.dilation));
    if (pad == EL_PAD_EXPLICIT) EL_TRY(el_window_explicit(ctx, &g->h, &g->w));
    g->n = x->dims[0];
    g->h.in = x->dims[1];
    g->w.in = x->dims[2];
    g->ic = x->dims[3];
    g->h.k = f->dims[0];
    g->w.k = f->dims[1];
    if (depthwise) {
        if (f->dims[2] != g->ic)
            return el_kerr(ctx, EL_ERR_RUNTIME, "filter %s does not match the input depth of %s (filter dim 2 must be %lld)",
                           el_shape_str(f->ndim, f->dims, s1, sizeof s1), el_shape_str(x->ndim, x->dims, s2, sizeof s2),
                           (long long)g->ic);
        g->fic = 1;
        g->groups = g->ic;
        g->oc = g->ic * f->dims[3];
    } else {
        g->fic = f->dims[2];
        g->oc = f->dims[3];
        /* TF: the input depth must be a multiple of the filter's (grouped
         * convolution), and the output depth a multiple of the groups. */
        if (g->fic <= 0 || g->ic % g->fic != 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "input depth %lld is not a multiple of the filter depth of filter %s",
                           (long long)g->ic, el_shape_str(f->ndim, f->dims, s1, sizeof s1));
        g->groups = g->ic / g->fic;
        if (g->oc % g->groups != 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "output depth %lld is not a multiple of the %lld groups",
                           (long long)g->oc, (long long)g->groups);
    }
    EL_TRY(el_window_axis_size(ctx, "row", pad, &g->h));
    EL_TRY(el_window_axis_size(ctx, "column", pad, &g->w));
    return EL_OK;
}

static int el_mul_row(void *vc, void *out, const void *const *in, const int *unit, int64_t n)
{
    (void)vc;
    const float *a = in[0], *b = in[1];
    float *o = out;
    for (int64_t i = 0; i < n; i++) o[i] = a[i * unit[0]] * b[i * unit[1]];
    return 0;
}

/* Whether x is a feature map and sc one scale per channel of it. */
static bool el_in_scale_pair(const el_tensor *x, const el_tensor *sc)
{
    return x->ndim == 4 && sc->ndim <= 4 && sc->ndim >= 1 && sc->dims[sc->ndim - 1] == x->dims[3] &&
           el_tensor_numel(sc) == x->dims[3];
}

/* A node with EL_CONV_IN_SCALE_ATTR (ops/conv_in_scale.h): `local` becomes
 * ctx with input 0 the feature map and the last input dropped; *scale the
 * per-channel scale, or NULL when the operands were multiplied into *tmp
 * (broadcasting, as the Mul would) which input 0 then is. */
static el_status el_conv_in_scale(el_kctx *ctx, el_kctx *local, el_tensor *ins, const float **scale, el_tensor *tmp)
{
    *local = *ctx;
    *scale = NULL;
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const int last = ctx->ninputs - 1;
    const el_tensor *a = &ctx->inputs[0], *b = &ctx->inputs[last];
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    EL_TRY(el_kctx_need_dtype(ctx, last, EL_DT_FLOAT));
    memcpy(ins, ctx->inputs, sizeof(el_tensor) * (size_t)last);
    local->inputs = ins;
    local->ninputs = last;
    for (int k = 0; k < 2; k++) {
        const el_tensor *x = k ? b : a, *sc = k ? a : b;
        if (el_in_scale_pair(x, sc)) {
            ins[0] = *x;
            *scale = sc->data;
            return EL_OK;
        }
    }
    el_bcast bc;
    const el_tensor *ts[2] = {a, b};
    if (!el_bcast_tensors(&bc, 2, ts)) return el_kerr(ctx, EL_ERR_RUNTIME, "the scaled input's operands do not broadcast");
    EL_TRY(el_tensor_alloc(tmp, EL_DT_FLOAT, bc.out_ndim, bc.out_dims));
    const void *in[2] = {a->data, b->data};
    size_t es[2] = {sizeof(float), sizeof(float)};
    el_bcast_run(&bc, tmp->data, sizeof(float), in, es, el_mul_row, NULL);
    ins[0] = *tmp;
    return EL_OK;
}

typedef struct el_scale_job {
    const float *w, *scale;
    float *d;
    int64_t numel, row, ic;
} el_scale_job;

static void el_scale_rows(void *vc, int64_t r0, int64_t r1)
{
    const el_scale_job *j = vc;
    for (int64_t r = r0, c = r0 % j->ic; r < r1; r++) {
        const float f = j->scale[c];
        const int64_t end = (r + 1) * j->row < j->numel ? (r + 1) * j->row : j->numel;
        for (int64_t i = r * j->row; i < end; i++) j->d[i] = j->w[i] * f;
        if (++c == j->ic) c = 0;
    }
}

/* A copy of filter w (rows of `row` floats, the row's input channel its
 * index mod ic) with every row multiplied by scale[channel]. Threaded: a
 * squeeze-excite projection's filter (720 x 128 floats) took as long as a
 * few of its GEMM's row tiles, on one thread at any thread count. */
static float *el_conv_scaled_filter(const float *w, int64_t numel, int64_t row, int64_t ic, const float *scale)
{
    float *d = el_mem_alloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
    if (!d) return NULL;
    el_scale_job j = {.w = w, .scale = scale, .d = d, .numel = numel, .row = row, .ic = ic};
    el_parallel_for(el_threadpool_current(), (numel + row - 1) / row, 8192 / row + 1, el_scale_rows, &j);
    return d;
}

static el_status el_conv_common_x(el_kctx *ctx, bool depthwise, bool fused, const float *in_scale, const el_std *std);

/* A bf16-packed filter (bf16x3 when x3) as an HWIO fp32 copy (*out, from
 * el_mem_alloc). */
static el_status el_conv_widen_bf16(el_kctx *ctx, const el_conv_geom *g, const uint16_t *wb, bool x3, float **out)
{
    int64_t k = g->h.k * g->w.k * g->fic;
    *out = el_mem_alloc(sizeof(float) * (size_t)(k * g->oc));
    if (!*out) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory widening the bf16 filter");
    if (x3) el_bf16x3_unpack(wb, k, g->oc, *out);
    else el_bf16_unpack(wb, k, g->oc, *out);
    return EL_OK;
}

static el_status el_conv_dwpw(el_kctx *ctx, bool fused, el_kctx *ectx, int res, const el_concat_rows *cat,
                               const el_kctx *cctx);
static el_status el_conv_pwdw(el_kctx *ctx, bool depthwise, bool fused);
static el_status el_conv_ring(el_kctx *ctx, bool fused);

/* Whether the fast kernels apply activation a themselves (a clamp or a
 * tile operation); the others run after them (el_epilogue_run). */
static bool el_act_in_kernel(el_act a)
{
    return a == EL_ACT_NONE || a == EL_ACT_RELU || a == EL_ACT_RELU6 || a == EL_ACT_HSWISH || a == EL_ACT_SIGMOID;
}

/* The fast kernels' view of e: its bias, Relu / Relu6 as a clamp, and the
 * tile operations (`add`: the fused Add's tensor when it is added per
 * tile, else NULL; y0: the output's first element). */
static el_conv_epi el_conv_epi_of(const el_epilogue *e, const float *add, float *y0)
{
    return (el_conv_epi){.bias = e->bias,
                         .clamp = e->act == EL_ACT_RELU || e->act == EL_ACT_RELU6,
                         .lo = 0.0f,
                         .hi = e->act == EL_ACT_RELU6 ? 6.0f : INFINITY,
                         .add = add,
                         .y0 = y0,
                         .hswish = e->act == EL_ACT_HSWISH,
                         .hs_mul = e->hs_mul,
                         .hs_add = e->hs_add,
                         .sigmoid = e->act == EL_ACT_SIGMOID};
}

static el_status el_conv_at(el_kctx *ctx, bool fused, const el_concat_rows *cat, const el_kctx *cctx);
static el_status el_conv_cat(el_kctx *ctx, bool depthwise, bool fused);

/* A node with EL_CONV_IN_STD_ATTR (ops/mul_add.h): input 0 standardised
 * as the kernels load it; `local` sees it as the float map it stands for
 * (no data) and not the standardisation's inputs. */
static el_status el_conv_in_std(el_kctx *ctx, el_kctx *local, el_tensor *ins, el_std *std)
{
    int64_t flags;
    EL_TRY(el_attr_int(ctx->node, EL_CONV_IN_STD_ATTR, 0, &flags));
    EL_TRY(el_std_parse(ctx, flags, std));
    *local = *ctx;
    local->ninputs = ctx->ninputs - el_std_ninputs(flags);
    memcpy(ins, ctx->inputs, sizeof(el_tensor) * (size_t)local->ninputs);
    ins[0] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4};
    memcpy(ins[0].dims, std->dims, sizeof std->dims);
    local->inputs = ins;
    return EL_OK;
}

static el_status el_conv_dispatch(el_kctx *ctx, bool depthwise, bool fused)
{
    if (depthwise && el_node_attr(ctx->node, EL_RING_NIN_ATTR)) return el_conv_ring(ctx, fused);
    if (el_node_attr(ctx->node, EL_PWDW_NIN_ATTR)) return el_conv_pwdw(ctx, depthwise, fused);
    if (!depthwise && el_node_attr(ctx->node, EL_DWPW_NIN_ATTR)) return el_conv_dwpw(ctx, fused, NULL, -1, NULL, NULL);
    el_kctx local;
    el_tensor ins[16], tmp = {0};
    if (ctx->ninputs > 16) return el_kerr(ctx, EL_ERR_UNSUPPORTED, "too many inputs (%d)", ctx->ninputs);
    if (el_node_attr(ctx->node, EL_CONV_IN_STD_ATTR)) {
        el_std std;
        EL_TRY(el_conv_in_std(ctx, &local, ins, &std));
        return el_conv_common_x(&local, depthwise, fused, NULL, &std);
    }
    if (!el_node_attr(ctx->node, EL_CONV_IN_SCALE_ATTR)) return el_conv_common_x(ctx, depthwise, fused, NULL, NULL);
    const float *scale;
    EL_TRY(el_conv_in_scale(ctx, &local, ins, &scale, &tmp));
    el_status s = el_conv_common_x(&local, depthwise, fused, scale, NULL);
    el_tensor_release(&tmp);
    return s;
}

static el_status el_conv_common(el_kctx *ctx, bool depthwise, bool fused)
{
    if (el_node_attr(ctx->node, EL_CAT_NIN_ATTR)) return el_conv_cat(ctx, depthwise, fused);
    if (!depthwise && el_node_attr(ctx->node, EL_CONV_AT_ATTR)) return el_conv_at(ctx, fused, NULL, NULL);
    return el_conv_dispatch(ctx, depthwise, fused);
}

/* Tile operations over a whole output, threaded by rows (after kernels
 * that do not take them per tile). */
typedef struct el_tops_job {
    const el_conv_epi *e;
    float *y;
    int64_t oc;
} el_tops_job;

static void el_tops_rows(void *vc, int64_t r0, int64_t r1)
{
    const el_tops_job *j = vc;
    el_conv_epi_tile(j->e, j->y + r0 * j->oc, r1 - r0, j->oc, j->oc);
}

static void el_tops_run(const el_conv_epi *e, float *y, int64_t rows, int64_t oc)
{
    el_tops_job j = {.e = e, .y = y, .oc = oc};
    int64_t grain = oc >= 16384 ? 1 : 16384 / (oc > 0 ? oc : 1);
    el_parallel_for(el_threadpool_current(), rows, grain, el_tops_rows, &j);
}

static int el_add_row(void *vc, void *out, const void *const *in, const int *unit, int64_t n)
{
    (void)vc;
    const float *a = in[0], *b = in[1];
    float *o = out;
    for (int64_t i = 0; i < n; i++) o[i] = a[i * unit[0]] + b[i * unit[1]];
    return 0;
}

static el_status el_conv_common_x(el_kctx *ctx, bool depthwise, bool fused, const float *in_scale, const el_std *std)
{
    el_conv_geom g;
    el_filter_layout layout = EL_FILTER_HWIO;
    EL_TRY(el_conv_prepare(ctx, depthwise, &g, &layout));
    el_epilogue e;
    memset(&e, 0, sizeof e);
    if (fused) EL_TRY(el_epilogue_parse(ctx, 2, g.oc, &e));
    int64_t dims[4] = {g.n, g.h.out, g.w.out, g.oc};
    /* A fused Add of a tensor shaped as the output is added per tile; any
     * other shape is broadcast after, into the output, as the Add would. */
    const bool add_tiles = e.add && e.add->ndim == 4 && !memcmp(e.add->dims, dims, sizeof dims);
    el_tensor *y, conv_out = {0};
    el_status s = e.add && !add_tiles ? el_tensor_alloc(&conv_out, EL_DT_FLOAT, 4, dims)
                                      : el_kctx_output(ctx, 0, EL_DT_FLOAT, 4, dims, &y);
    if (e.add && !add_tiles) y = &conv_out;
    float *scaled = NULL, *unpacked = NULL, *stdmap = NULL;
    const bool mean = depthwise && el_node_attr(ctx->node, EL_CONV_MEAN_ATTR);
    double *sums = NULL;
    if (s == EL_OK && el_tensor_numel(y) > 0) {
        const float *x = ctx->inputs[0].data, *w = ctx->inputs[1].data;
        /* A filter the precision pass packed to bf16 (graph/precision.c);
         * with an input scale the fp32 kernels run on it widened. */
        const bool x3 = layout == EL_FILTER_BF16X3_T32X16;
        const uint16_t *wb = layout == EL_FILTER_BF16_T32X16 || x3 ? ctx->inputs[1].data : NULL;
        if (wb && in_scale) {
            s = el_conv_widen_bf16(ctx, &g, wb, x3, &unpacked);
            if (s != EL_OK) goto out;
            w = unpacked, wb = NULL, layout = EL_FILTER_HWIO;
        }
        if (in_scale) {
            /* Filter rows: packed [.., ic, 32], HWIO [.., ic, oc], depthwise [.., ic, multiplier]. */
            int64_t row = layout == EL_FILTER_F32_P32 ? EL_GEMM_NR : depthwise ? g.oc / g.ic : g.oc;
            if (depthwise || g.groups == 1) {
                /* Every filter row belongs to one input channel: row index mod ic. */
                int64_t wn = unpacked ? g.h.k * g.w.k * g.fic * g.oc : el_tensor_numel(&ctx->inputs[1]);
                scaled = el_conv_scaled_filter(w, wn, row, g.ic, in_scale);
                w = scaled;
            } else {
                /* Grouped: the input scaled instead, as the Mul would. */
                int64_t n = el_tensor_numel(&ctx->inputs[0]);
                scaled = el_mem_alloc(sizeof(float) * (size_t)n);
                for (int64_t i = 0; scaled && i < n; i++) scaled[i] = x[i] * in_scale[i % g.ic];
                x = scaled;
            }
            if (!scaled) {
                s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory scaling the filter");
                goto out;
            }
        }
        /* The fast kernels apply bias and Relu/Relu6 in registers; other
         * epilogues run after them, as after the reference loops. */
        bool in_kernel = !fused || (!e.bn_mean && el_act_in_kernel(e.act));
        /* The tile operations (the fused Add, hard swish, sigmoid): on each
         * tile by the kernels that take them, else over the output after
         * the rest of the epilogue, with the same bits either way
         * (el_conv_epi_tile reads only those of tops). */
        const el_conv_epi tops = el_conv_epi_of(&e, add_tiles ? e.add->data : NULL, y->data);
        el_epilogue e_rest = e; /* what el_epilogue_run applies: not the tile operations */
        if (e.act == EL_ACT_HSWISH || e.act == EL_ACT_SIGMOID) e_rest.act = EL_ACT_NONE;
        el_conv_epi fe = {.bias = NULL, .clamp = false, .lo = 0.0f, .hi = INFINITY};
        if (fused && in_kernel) fe = tops;
        /* Kernels other than the packed, narrow, depthwise and bf16 ones
         * run without the tile operations (post_tops). */
        el_conv_epi fe_plain = fe;
        fe_plain.add = NULL;
        fe_plain.hswish = fe_plain.sigmoid = false;
        bool done = std && !wb && !depthwise && el_conv2d_stem_std(&g, std, w, layout, &fe, y->data);
        if (std && !done) {
            /* The stem kernel declined: the standardised map in full, as the _ElMulAdd wrote it. */
            stdmap = el_mem_alloc(sizeof(float) * (size_t)el_dims_prod(std->dims, 0, 4));
            if (!stdmap) {
                s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory standardising the input");
                goto out;
            }
            el_std_map(std, stdmap);
            x = stdmap;
        }
        if (!done)
            done = wb && (x3 ? el_conv2d_bf16x3(&g, x, wb, &fe, y->data) : el_conv2d_bf16(&g, x, wb, &fe, y->data));
        bool post_tops = done && !el_conv_epi_has_tile_ops(&fe);
        if (!done && wb) {
            /* The bf16 kernels declined (ISA forced lower, geometry): fp32 on the bf16 values. */
            s = el_conv_widen_bf16(ctx, &g, wb, x3, &unpacked);
            if (s != EL_OK) goto out;
            w = unpacked, layout = EL_FILTER_HWIO;
        }
        /* A few output channels: the packed GEMM's 32-wide panels would idle. */
        /* A few input channels (a first layer): K too short for the GEMMs. */
        if (!done && !depthwise) done = el_conv2d_stem(&g, x, w, layout, &fe, y->data);
        if (!done && !depthwise) done = el_conv2d_narrow(&g, x, w, layout, &fe, y->data);
        if (!done && layout == EL_FILTER_F32_P32) {
            done = el_conv2d_packed(&g, x, w, &fe, y->data);
            if (!done) {
                /* Another ISA (forced), or grouped: back to HWIO for the other kernels. */
                int64_t kdim = g.h.k * g.w.k * g.fic;
                unpacked = el_mem_alloc(sizeof(float) * (size_t)(kdim * g.oc));
                if (!unpacked) {
                    s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory unpacking the filter");
                    goto out;
                }
                el_gemm_unpack_f32(w, kdim, g.oc, unpacked);
                w = unpacked;
            }
        }
        if (!done && depthwise) {
            /* A fused Mean (ops/conv_mean.h): the kernel sums the rows it
             * stores when nothing changes them after it. */
            if (mean && (!fused || in_kernel) && !(e.add && !add_tiles) && el_sum_runs_are_rows(g.w.out)) {
                sums = el_mem_calloc((size_t)(g.n * g.h.out * g.oc), sizeof(double));
                if (!sums) {
                    s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory for the row sums");
                    goto out;
                }
                fe.sums = sums;
                fe.y0 = y->data;
            }
            done = el_depthwise_fast(&g, x, w, &fe, y->data);
            if (!done) {
                el_mem_free(sums);
                sums = NULL;
            }
        }
        if (!done && !depthwise) post_tops = done = el_conv2d_fast(&g, x, w, &fe_plain, y->data);
        if (!done) {
            if (depthwise) el_depthwise_f32(&g, x, w, y->data);
            else el_conv2d_f32(&g, x, w, y->data);
        }
        if (fused && (!done || !in_kernel)) {
            el_epilogue_run(&e_rest, y->data, g.n * g.h.out * g.w.out, g.oc);
            post_tops = true;
        }
        if (post_tops && el_conv_epi_has_tile_ops(&tops)) el_tops_run(&tops, y->data, g.n * g.h.out * g.w.out, g.oc);
    }
    if (s == EL_OK && e.add && !add_tiles) {
        /* Add(conv, tensor) with broadcasting, as the unfused Add. */
        el_bcast bc;
        const el_tensor *ts[2] = {&conv_out, e.add};
        el_tensor *out;
        if (!el_bcast_tensors(&bc, 2, ts)) {
            s = el_kerr(ctx, EL_ERR_RUNTIME, "the fused Add's operands do not broadcast");
        } else if ((s = el_kctx_output(ctx, 0, EL_DT_FLOAT, bc.out_ndim, bc.out_dims, &out)) == EL_OK) {
            const void *in[2] = {conv_out.data, e.add->data};
            size_t es[2] = {sizeof(float), sizeof(float)};
            el_bcast_run(&bc, out->data, sizeof(float), in, es, el_add_row, NULL);
        }
    }
    if (s == EL_OK && mean) s = el_conv_mean_output(ctx, sums);
out:
    el_mem_free(sums);
    el_mem_free(unpacked);
    el_mem_free(scaled);
    el_mem_free(stdmap);
    el_tensor_release(&conv_out);
    if (fused) el_epilogue_free(&e);
    return s;
}

/* ---- Row streaming: a 1x1 expansion, a depthwise convolution, a 1x1 projection ---- */

#define EL_DWPW_MAX_ATTRS 48
#define EL_DWPW_MAX_IN 24
/* Narrower rows would cost a kernel call per few pixels: run the
 * convolutions one after the other. */
#define EL_DWPW_MIN_WIDTH 32
/* Narrower expansion rows are run first, whole: at 32 pixels their
 * tensors fit in L2 anyway, and the calls per row and the rows each chunk
 * expands again made CenterNet's 32x32 blocks slower (+0.01-0.03 ms each
 * at 1 thread, +0.1 at 2, thread CPU and wall least times). */
#define EL_PWDW_MIN_WIDTH 64
/* A bf16 / bf16x3 projection runs on the rows of a depthwise convolution
 * this wide or wider, a whole row per tile panel (CenterNet's heads, 128
 * pixels: the 8 MB depthwise output no longer goes through memory).
 * Narrower rows are short panels: the whole-tensor kernel keeps them. */
#define EL_DWPW_BF16_MIN_WIDTH 128

/* Output rows per step: the depthwise kernel runs two rows' tiles at
 * once, loading each input vector once for both (ops/dwconv_tile.h), and
 * the 1x1 convolutions take twice the pixels per call. */
#define EL_ROWS_STEP 2
/* Expanded rows a step reads. */
#define EL_ROWS_RING(kh, stride) ((kh) + (EL_ROWS_STEP - 1) * (stride))

/* A 1x1 stride-1 convolution run one row of pixels at a time with the
 * kernel el_conv_common_x would pick for the whole tensor (narrow or
 * packed: the same bits). */
typedef struct el_pw_plan {
    el_conv_geom g; /* one row: n 1, height 1 */
    const float *w;
    el_filter_layout layout;
    bool narrow;
    const uint16_t *wb; /* a bf16 / bf16x3 filter (el_bf16_rows), else NULL */
    size_t bf16_scratch; /* its per-thread scratch bytes */
    el_epilogue e;     /* parsed (to free); its add is `add` */
    const float *add;  /* the fused Add's tensor, shaped as the output */
    int add_input;     /* which of ctx's inputs that is, or -1 */
} el_pw_plan;

/* Whether ctx's 1x1 convolution, its input 0 of in's shape (only the shape
 * is read), runs a row at a time on the fast kernels; fills p, whose
 * epilogue the caller frees whatever the answer. */
static bool el_pw_plan_make(const el_kctx *ctx, const el_tensor *in, bool fused, bool bf16, el_pw_plan *p)
{
    memset(p, 0, sizeof *p);
    if (ctx->ninputs > EL_DWPW_MAX_IN) return false;
    el_tensor ins[EL_DWPW_MAX_IN];
    memcpy(ins, ctx->inputs, sizeof(el_tensor) * (size_t)ctx->ninputs);
    ins[0] = *in;
    el_kctx c = *ctx;
    c.inputs = ins;
    el_conv_geom g;
    if (el_conv_prepare(&c, false, &g, &p->layout) != EL_OK) return false;
    if (fused && el_epilogue_parse(&c, 2, g.oc, &p->e) != EL_OK) {
        memset(&p->e, 0, sizeof p->e);
        return false;
    }
    const int64_t dims[4] = {g.n, g.h.out, g.w.out, g.oc};
    const el_tensor *add = p->e.add;
    p->e.add = NULL; /* it points into ins */
    p->add = add ? add->data : NULL;
    p->add_input = add ? (int)(add - c.inputs) : -1;
    bool ok = g.h.k == 1 && g.w.k == 1 && g.h.stride == 1 && g.w.stride == 1 && g.groups == 1 && g.h.out == g.h.in &&
              g.w.out == g.w.in && !p->e.bn_mean && el_act_in_kernel(p->e.act) &&
              (!add || (add->ndim == 4 && !memcmp(add->dims, dims, sizeof dims)));
    p->narrow = ok && g.oc <= EL_CONV_NARROW_MAX_OC && g.ic >= EL_CONV_NARROW_MIN_IC &&
                (p->layout == EL_FILTER_HWIO || p->layout == EL_FILTER_F32_P32) && g.ic <= EL_CONV_ZERO_LEN;
    const bool x3 = p->layout == EL_FILTER_BF16X3_T32X16;
    if (ok && (x3 || p->layout == EL_FILTER_BF16_T32X16)) {
        p->narrow = false;
        p->bf16_scratch = bf16 && g.w.in >= EL_DWPW_BF16_MIN_WIDTH ? el_bf16_rows_scratch(EL_ROWS_STEP * g.w.in, g.ic, g.oc, x3) : 0;
        ok = p->bf16_scratch > 0;
        p->wb = ok ? c.inputs[1].data : NULL;
    } else if (ok && !p->narrow) {
        ok = p->layout == EL_FILTER_F32_P32 && g.ic <= EL_CONV_MAX_PACKED_K;
    }
    p->w = c.inputs[1].data;
    p->g = g;
    p->g.n = 1;
    p->g.h.in = p->g.h.out = 1;
    return ok;
}

/* n consecutive rows of p: x, n * W pixels of p's input depth, into y
 * (bf16: with the thread's scratch, sized for EL_ROWS_STEP rows). */
static void el_pw_plan_row(const el_pw_plan *p, const el_conv_epi *e, const float *x, float *y, int64_t n,
                           void *scratch)
{
    /* All take this geometry (one row of n * W pixels): el_pw_plan_make checked it. */
    el_conv_geom g = p->g;
    g.w.in = g.w.out = n * p->g.w.out;
    if (p->wb)
        (void)el_bf16_rows(g.w.in, g.ic, g.oc, x, p->wb, p->layout == EL_FILTER_BF16X3_T32X16, e, y, scratch);
    else if (p->narrow) (void)el_conv2d_narrow(&g, x, p->w, p->layout, e, y);
    else (void)el_conv2d_packed(&g, x, p->w, e, y);
}

/* A first-layer convolution (ops/conv_stem.h, its input standardised as
 * it loads it with EL_CONV_IN_STD_ATTR) making a depthwise convolution's
 * input rows in place of a 1x1 expansion. */
typedef struct el_stem_plan {
    el_stem_rows *rows; /* NULL when the stem kernel does not apply */
    el_conv_geom g;
    el_epilogue e;      /* parsed (to free) */
    el_std std;         /* rows reads it */
} el_stem_plan;

/* Whether ctx's convolution runs a row at a time on the stem kernel, with
 * the epilogue el_conv_common_x gives it (no Add: a row of the ring is not
 * a row of the output); the caller frees p whatever the answer. */
static bool el_stem_plan_make(el_kctx *ctx, el_stem_plan *p)
{
    memset(p, 0, sizeof *p);
    el_kctx local = *ctx;
    el_tensor ins[EL_DWPW_MAX_IN];
    el_filter_layout layout;
    const bool std = el_node_attr(ctx->node, EL_CONV_IN_STD_ATTR) != NULL;
    if (ctx->ninputs > EL_DWPW_MAX_IN || el_node_attr(ctx->node, EL_CONV_IN_SCALE_ATTR) ||
        (std && el_conv_in_std(ctx, &local, ins, &p->std) != EL_OK) ||
        el_conv_prepare(&local, false, &p->g, &layout) != EL_OK)
        return false;
    if (el_epilogue_parse(&local, 2, p->g.oc, &p->e) != EL_OK) {
        memset(&p->e, 0, sizeof p->e);
        return false;
    }
    if (p->e.bn_mean || p->e.add || !el_act_in_kernel(p->e.act)) return false;
    const el_conv_epi fe = el_conv_epi_of(&p->e, NULL, NULL);
    p->rows = el_stem_rows_make(&p->g, std ? NULL : local.inputs[0].data, std ? &p->std : NULL,
                                local.inputs[1].data, layout, &fe);
    return p->rows != NULL;
}

static void el_stem_plan_free(el_stem_plan *p)
{
    el_stem_rows_free(p->rows);
    el_epilogue_free(&p->e);
}

/* A row fusion's stages, prepared by el_rows_plan_make: the expansion (ex
 * or st, or none), the depthwise convolution (dctx, gd, ed, dw) and the
 * projection (pw, or none). dctx points into the plan: it is not moved. */
typedef struct el_rows_plan {
    el_kctx dctx;
    el_tensor dins[EL_DWPW_MAX_IN], scale_tmp;
    const float *scale;   /* the depthwise input's per-channel scale, or NULL */
    el_pw_plan ex, pw;
    el_stem_plan st;
    el_epilogue ed;
    el_conv_geom gd;
    el_dw_fn dw;
    const float *x;       /* the input: the expansion's, else the depthwise one's */
} el_rows_plan;

static void el_rows_plan_free(el_rows_plan *p)
{
    el_stem_plan_free(&p->st);
    el_epilogue_free(&p->ex.e);
    el_epilogue_free(&p->ed);
    el_epilogue_free(&p->pw.e);
    el_tensor_release(&p->scale_tmp);
}

/* Whether the fast kernels take an expansion (ectx: a 1x1 or a first
 * layer, or NULL: the depthwise input is dctx0's, or with cat the concat's
 * rows, dctx0's input 0 then giving only their shape), a depthwise
 * convolution (dctx0) and a projection (pctx, or NULL: the output is the
 * depthwise one; res > 0: its input res stands for the expansion's output,
 * EL_PWDW_RES_ATTR), a row at a time. fed: the expansion is a 1x1 whose
 * input rows another plan makes (ectx's input 0 its shape only). The
 * caller frees p whatever the answer. */
static bool el_rows_plan_make(const el_kctx *ectx, const el_concat_rows *cat, const el_kctx *dctx0,
                              const el_kctx *pctx, int res, bool fused, bool fed, el_rows_plan *p)
{
    memset(p, 0, sizeof *p);
    if (el_conv_isa() != EL_ISA_AVX512 || dctx0->ninputs > EL_DWPW_MAX_IN) return false;
    p->dctx = *dctx0;
    el_filter_layout dl;
    bool ok = true;
    int64_t eoc = 0; /* the expansion's output depth */
    if (ectx) {
        /* The depthwise input is the expansion's output: its shape only. */
        ok = !el_node_attr(ectx->node, EL_CONV_IN_SCALE_ATTR) && !el_node_attr(dctx0->node, EL_CONV_IN_SCALE_ATTR);
        const bool pw1 = ok && el_pw_plan_make(ectx, &ectx->inputs[0], true, false, &p->ex) && !p->ex.add;
        if (ok && !pw1) {
            el_epilogue_free(&p->ex.e);
            memset(&p->ex, 0, sizeof p->ex);
            ok = !fed && el_stem_plan_make((el_kctx *)ectx, &p->st);
        }
        if (ok) {
            memcpy(p->dins, dctx0->inputs, sizeof(el_tensor) * (size_t)dctx0->ninputs);
            const int64_t *xd = ectx->inputs[0].dims;
            eoc = pw1 ? p->ex.g.oc : p->st.g.oc;
            p->dins[0] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {xd[0], xd[1], xd[2], eoc}};
            if (!pw1) memcpy(p->dins[0].dims, (int64_t[3]){p->st.g.n, p->st.g.h.out, p->st.g.w.out}, sizeof(int64_t[3]));
            p->dctx.inputs = p->dins;
        }
    } else if (el_node_attr(dctx0->node, EL_CONV_IN_SCALE_ATTR) &&
               ((cat && (dctx0->ninputs < 3 || !el_in_scale_pair(&dctx0->inputs[0], &dctx0->inputs[dctx0->ninputs - 1]))) ||
                el_conv_in_scale((el_kctx *)dctx0, &p->dctx, p->dins, &p->scale, &p->scale_tmp) != EL_OK || !p->scale)) {
        /* Errors and broadcast scales (which read the input: with cat, not
         * made yet): the nodes' own kernels. */
        ok = false;
    }
    if (ok && (el_conv_prepare(&p->dctx, true, &p->gd, &dl) != EL_OK ||
               el_epilogue_parse(&p->dctx, 2, p->gd.oc, &p->ed) != EL_OK)) {
        memset(&p->ed, 0, sizeof p->ed);
        ok = false;
    }
    const el_conv_geom *gd = &p->gd;
    ok = ok && !p->ed.bn_mean && !p->ed.add && p->ed.act != EL_ACT_SIGMOID && el_act_in_kernel(p->ed.act) &&
         gd->w.out >= EL_DWPW_MIN_WIDTH && gd->n * gd->h.out < INT32_MAX; /* steps counted in 32 bits */
    p->dw = ok ? el_depthwise_rows_fn(gd) : NULL;
    p->x = ectx ? ectx->inputs[0].data : p->dctx.inputs[0].data;
    /* The ring holds the kh rows of one window. */
    if (p->dw && ectx) ok = gd->h.dilation == 1 && gd->h.k <= gd->h.in && gd->ic == eoc && gd->w.in >= EL_PWDW_MIN_WIDTH;
    if (p->dw && ok && cat) ok = gd->h.dilation == 1 && gd->h.k <= gd->h.in && gd->ic == cat->dims[3];
    /* The projection's view of the depthwise output (its shape only). */
    el_tensor mid = {.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {gd->n, gd->h.out, gd->w.out, gd->oc}};
    el_kctx pres;
    el_tensor pins[EL_DWPW_MAX_IN];
    if (p->dw && ok && pctx && res > 0) {
        /* The Add reads the ring: output row oy's input row oy is in it (the same size, stride 1, SAME). */
        ok = ectx && res < pctx->ninputs && gd->h.stride == 1 && gd->h.out == gd->h.in && gd->w.out == gd->w.in &&
             gd->h.pad_before < gd->h.k;
        pres = *pctx;
        memcpy(pins, pctx->inputs, sizeof(el_tensor) * (size_t)pctx->ninputs);
        pins[res] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {gd->n, gd->h.in, gd->w.in, gd->ic}};
        pres.inputs = pins;
        pctx = &pres;
    }
    if (p->dw && ok && pctx)
        ok = el_pw_plan_make(pctx, &mid, fused, !ectx, &p->pw) && (res <= 0 || (p->pw.add_input == res && !p->pw.wb));
    return p->dw && ok;
}

/* One plan's per-thread buffers: the ring (with an expansion or a
 * concat's rows), the depthwise rows the projection reads, the
 * projection's bf16 scratch, the stem's scratch; with an inner plan, the
 * inner depthwise output row the expansion reads. */
typedef struct el_rows_bufs {
    float *ring[EL_THREADPOOL_MAX], *rows[EL_THREADPOOL_MAX], *sbuf[EL_THREADPOOL_MAX], *in_row[EL_THREADPOOL_MAX];
    void *bscr[EL_THREADPOOL_MAX];
} el_rows_bufs;

static el_status el_rows_bufs_alloc(el_kctx *ctx, const el_rows_plan *p, bool ring, bool proj,
                                    const el_rows_plan *in, int threads, el_rows_bufs *b)
{
    memset(b, 0, sizeof *b);
    const el_conv_geom *gd = &p->gd;
    const int64_t sfloats = p->st.rows ? el_stem_rows_scratch(p->st.rows) : 0;
    for (int t = 0; t < threads; t++) {
        if (ring) b->ring[t] = el_mem_alloc(sizeof(float) * (size_t)(EL_ROWS_RING(gd->h.k, gd->h.stride) * gd->w.in * gd->ic));
        if (proj) b->rows[t] = el_mem_alloc(sizeof(float) * (size_t)(EL_ROWS_STEP * gd->w.out * gd->oc));
        if (p->pw.wb) b->bscr[t] = el_mem_alloc(p->pw.bf16_scratch);
        if (sfloats) b->sbuf[t] = el_mem_alloc(sizeof(float) * (size_t)sfloats);
        if (in) b->in_row[t] = el_mem_alloc(sizeof(float) * (size_t)(2 * in->gd.w.out * in->gd.oc));
        if ((ring && !b->ring[t]) || (proj && !b->rows[t]) || (p->pw.wb && !b->bscr[t]) || (sfloats && !b->sbuf[t]) ||
            (in && !b->in_row[t]))
            return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for the row buffers");
    }
    return EL_OK;
}

static void el_rows_bufs_free(el_rows_bufs *b, int threads)
{
    for (int t = 0; t < threads; t++) {
        el_mem_free(b->ring[t]);
        el_mem_free(b->rows[t]);
        el_mem_free(b->bscr[t]);
        el_mem_free(b->sbuf[t]);
        el_mem_free(b->in_row[t]);
    }
}

/* Steps claimed from both ends of a segment: lo << 32 | hi, the steps
 * [lo, hi) nobody took yet. */
typedef struct el_rows_seg {
    _Alignas(64) _Atomic uint64_t left; /* one line per segment */
} el_rows_seg;

typedef struct el_rows_job el_rows_job;
struct el_rows_job {
    const el_conv_geom *gd;     /* the depthwise convolution */
    const float *x;             /* the node's input: the expansion's, else the depthwise one's */
    const float *wd;
    const el_conv_epi *ed, *ee, *ep;
    el_dw_fn dw;
    const el_pw_plan *ex, *pw;  /* the expansion, the projection, or NULL */
    const el_stem_rows *st;     /* the first layer making the rows instead of ex, or NULL */
    const el_concat_rows *cat;  /* the concat whose rows the depthwise input is (no expansion), or NULL */
    const el_rows_job *in;      /* the job making ex's input rows (its depthwise output rows) instead of x, or NULL */
    float *y;
    float *const *ring;         /* per thread: EL_ROWS_RING(kh, stride) expanded rows (with ex, st or cat) */
    float *const *stem_buf;     /* per thread: st's scratch */
    float *const *in_row;       /* per thread: two of in's output rows (with in) */
    bool res;                   /* the projection's Add reads the ring's rows (EL_PWDW_RES_ATTR) */
    float *const *mid;          /* per thread: EL_ROWS_STEP depthwise output rows (with pw) */
    void *const *bf16;          /* per thread: the bf16 projection's scratch */
    int64_t steps, spb;         /* steps in all, per image */
    int64_t nseg;               /* segments: chunk k walks segment k / 2, forward when k is even */
    el_rows_seg *seg;
};

/* What a thread's ring holds: input rows [lo, hi) of image b. */
typedef struct el_rows_have {
    int64_t b, lo, hi;
    int64_t stem; /* st's scratch (el_stem_row's *have) */
} el_rows_have;

static void el_rows_dw(const el_rows_job *j, int t, el_rows_have *hv, el_rows_have *ihv, int64_t b, int64_t oy,
                       int64_t n, float *dy);

/* Input rows [lo, hi) of image b into j's ring: those it does not hold
 * (one run of them: a window moves one way from the last). With an inner
 * job, a window moving up makes its rows last first, so the inner ring
 * moves one way too. */
static void el_rows_fill(const el_rows_job *j, int t, el_rows_have *hv, el_rows_have *ihv, int64_t b, int64_t lo,
                         int64_t hi)
{
    const el_conv_geom *gd = j->gd;
    const int64_t nring = EL_ROWS_RING(gd->h.k, gd->h.stride), win = gd->w.in, c = gd->ic;
    int64_t e0 = lo, e1 = hi;
    if (hv->b == b && hv->lo < hi && lo < hv->hi) {
        if (lo >= hv->lo) e0 = hv->hi > lo ? hv->hi : lo;
        else e1 = hv->lo;
    }
    const bool down = j->in && e1 < hi;
    for (int64_t q = e0; q < e1; q++) {
        const int64_t r = down ? e0 + e1 - 1 - q : q;
        float *slot = j->ring[t] + r % nring * win * c;
        if (j->st) {
            el_stem_row(j->st, b, r, slot, j->stem_buf[t], &hv->stem);
        } else if (j->cat) {
            el_concat_rows_span(j->cat, b, r, 0, win, slot);
        } else if (j->in) {
            /* Two rows at once where two are wanted: the inner depthwise
             * rows then take its two-row tiles (the same bits as one row
             * at a time), and the expansion one call. */
            const int64_t r0 = down ? r - 1 : r, n = q + 1 < e1 ? 2 : 1, lo = n == 2 ? r0 : r;
            const int64_t rw = j->in->gd->w.out * j->in->gd->oc; /* floats per inner output row */
            el_rows_dw(j->in, t, ihv, NULL, b, lo, n, j->in_row[t]);
            for (int64_t k = 0; k < n; k++)
                el_pw_plan_row(j->ex, j->ee, j->in_row[t] + k * rw, j->ring[t] + (lo + k) % nring * win * c, 1, NULL);
            q += n - 1;
        } else {
            el_pw_plan_row(j->ex, j->ee, j->x + (b * gd->h.in + r) * win * j->ex->g.ic, slot, 1, NULL);
        }
    }
    hv->b = b, hv->lo = lo, hv->hi = hi;
}

/* j's depthwise output rows [oy, oy + n) of image b into dy, its ring
 * filled first (ihv: what the inner job's ring holds, with j->in). */
static void el_rows_dw(const el_rows_job *j, int t, el_rows_have *hv, el_rows_have *ihv, int64_t b, int64_t oy,
                       int64_t n, float *dy)
{
    const el_conv_geom *gd = j->gd;
    if (j->ex || j->st || j->cat) {
        int64_t lo = oy * gd->h.stride - gd->h.pad_before, hi = (oy + n - 1) * gd->h.stride - gd->h.pad_before + gd->h.k;
        if (lo < 0) lo = 0;
        if (hi > gd->h.in) hi = gd->h.in;
        el_rows_fill(j, t, hv, ihv, b, lo, hi);
        j->dw(gd, j->ring[t], EL_ROWS_RING(gd->h.k, gd->h.stride), j->wd, j->ed, dy, 0, oy, oy + n, 0, gd->ic);
    } else {
        j->dw(gd, j->x, gd->h.in, j->wd, j->ed, dy, b, oy, oy + n, 0, gd->ic);
    }
}

/* Step s: output rows oy, oy + 1 (one at an image's odd end) of image s /
 * spb. With an expansion, the input rows the step reads and the ring does
 * not hold are expanded into it (row iy in slot iy % ring): a thread
 * walking its steps forward or backward expands each row once. */
static void el_rows_step(const el_rows_job *j, int t, int64_t s, el_rows_have *hv, el_rows_have *ihv)
{
    const el_conv_geom *gd = j->gd;
    const int64_t oh = gd->h.out, ow = gd->w.out, win = gd->w.in, c = gd->ic;
    const int64_t nring = EL_ROWS_RING(gd->h.k, gd->h.stride);
    float *mid = j->pw ? j->mid[t] : NULL;
    const int64_t b = s / j->spb, oy = s % j->spb * EL_ROWS_STEP, i = b * oh + oy;
    const int64_t n = oh - oy < EL_ROWS_STEP ? oh - oy : EL_ROWS_STEP;
    el_rows_dw(j, t, hv, ihv, b, oy, n, mid ? mid : j->y + i * ow * gd->oc);
    float *out = j->y + i * ow * (mid ? j->pw->g.oc : 0);
    if (mid && !j->res) el_pw_plan_row(j->pw, j->ep, mid, out, n, j->bf16[t]);
    /* The Add's operand: input row oy + r (the same size) in the ring, rows in consecutive slots in one call. */
    for (int64_t r = 0, m; mid && j->res && r < n; r += m) {
        for (m = 1; r + m < n && (oy + r + m) % nring != 0; m++) {}
        el_conv_epi ep = *j->ep;
        ep.add = j->ring[t] + (oy + r) % nring * win * c;
        ep.y0 = out + r * ow * j->pw->g.oc;
        el_pw_plan_row(j->pw, &ep, mid + r * ow * gd->oc, out + r * ow * j->pw->g.oc, m, j->bf16[t]);
    }
}

/* Chunk k of the parallel-for (one item each): the steps of segment k / 2
 * from its front (k even) or its end, claimed one at a time until the two
 * walks meet. Threads keep to their ends of the rows from one node to the
 * next, a ring's rows are expanded again only where the walks meet, and
 * the one that finishes first takes the other's steps a step at a time
 * (chunks of a quarter of the rows left one thread waiting for the
 * other's last). Which thread computes a step does not change its bits. */
static void el_rows_run(void *vc, int64_t k0, int64_t k1)
{
    const el_rows_job *j = vc;
    const int t = el_threadpool_thread_index();
    for (int64_t k = k0; k < k1; k++) {
        _Atomic uint64_t *left = &j->seg[k / 2].left;
        const bool back = k % 2 != 0;
        el_rows_have hv = {.b = -1, .lo = 0, .hi = 0, .stem = -1}, ihv = hv;
        for (;;) {
            uint64_t v = atomic_load_explicit(left, memory_order_relaxed), w;
            int64_t s;
            do {
                const uint64_t lo = v >> 32, hi = v & 0xffffffffu;
                if (lo >= hi) break;
                s = back ? (int64_t)hi - 1 : (int64_t)lo;
                w = back ? v - 1 : v + ((uint64_t)1 << 32);
            } while (!atomic_compare_exchange_weak_explicit(left, &v, w, memory_order_relaxed, memory_order_relaxed));
            if ((v >> 32) >= (v & 0xffffffffu)) break;
            el_rows_step(j, t, s, &hv, &ihv);
        }
    }
}

/* The stages el_rows_plan_make takes, run a row at a time into ctx's
 * output; false (nothing written, no error) when they do not apply, and
 * the caller runs the nodes' kernels instead. in: a plan (a depthwise
 * convolution and its expansion, no projection) whose output rows are the
 * input rows of the 1x1 expansion ectx, made as they are first needed (a
 * second ring level), or NULL. The nodes' contexts are views of ctx. */
static bool el_rows_fast(el_kctx *ctx, const el_kctx *ectx, const el_concat_rows *cat, const el_kctx *dctx0,
                         const el_kctx *pctx, int res, bool fused, const el_rows_plan *in, el_status *status)
{
    *status = EL_OK;
    el_rows_plan p;
    if (!el_rows_plan_make(ectx, cat, dctx0, pctx, res, fused, in != NULL, &p) || (in && !p.ex.w)) {
        el_rows_plan_free(&p);
        return false;
    }
    const el_conv_geom gd = p.gd;
    int64_t dims[4] = {gd.n, gd.h.out, gd.w.out, pctx ? p.pw.g.oc : gd.oc};
    el_tensor *y;
    /* A fused Mean of the depthwise output (ops/conv_mean.h). */
    const bool mean = !pctx && el_node_attr(dctx0->node, EL_CONV_MEAN_ATTR);
    double *sums = NULL;
    float *scaled = NULL;
    el_rows_bufs bufs, ibufs;
    el_rows_seg seg[(EL_THREADPOOL_MAX + 1) / 2];
    memset(&ibufs, 0, sizeof ibufs);
    el_threadpool *pool = el_threadpool_current();
    int threads = el_threadpool_size(pool);
    el_status s = el_kctx_output(ctx, 0, EL_DT_FLOAT, 4, dims, &y);
    const float *wd = p.dctx.inputs[1].data;
    if (s == EL_OK && p.scale) {
        scaled = el_conv_scaled_filter(wd, el_tensor_numel(&p.dctx.inputs[1]), 1, gd.ic, p.scale);
        if (!scaled) s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory scaling the depthwise filter");
        wd = scaled;
    }
    if (s == EL_OK && mean && el_sum_runs_are_rows(gd.w.out)) {
        sums = el_mem_calloc((size_t)(gd.n * gd.h.out * gd.oc), sizeof(double));
        if (!sums) s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory for the row sums");
    }
    el_status sb = el_rows_bufs_alloc(ctx, &p, ectx || cat, pctx != NULL, in, threads, &bufs);
    if (s == EL_OK) s = sb;
    sb = in ? el_rows_bufs_alloc(ctx, in, true, false, NULL, threads, &ibufs) : EL_OK;
    if (s == EL_OK) s = sb;
    if (s == EL_OK && el_tensor_numel(y) > 0) {
        /* As el_conv_common_x builds them for each node. */
        el_conv_epi fee = el_conv_epi_of(&p.ex.e, NULL, NULL);
        el_conv_epi fed = el_conv_epi_of(&p.ed, NULL, y->data);
        fed.sums = sums;
        el_conv_epi fep = el_conv_epi_of(&p.pw.e, p.pw.add, y->data);
        el_conv_epi ife = in ? el_conv_epi_of(&in->ed, NULL, NULL) : fee;
        el_conv_epi iee = in ? el_conv_epi_of(&in->ex.e, NULL, NULL) : fee;
        const el_rows_job ij = in ? (el_rows_job){.gd = &in->gd, .x = in->x, .wd = in->dctx.inputs[1].data, .ed = &ife,
                                                  .ee = &iee, .dw = in->dw, .ex = in->st.rows ? NULL : &in->ex,
                                                  .st = in->st.rows, .ring = ibufs.ring, .stem_buf = ibufs.sbuf}
                                  : (el_rows_job){0};
        el_rows_job j = {.gd = &gd, .x = p.x, .wd = wd, .ed = &fed,
                         .ee = &fee, .ep = &fep, .dw = p.dw, .ex = ectx && !p.st.rows ? &p.ex : NULL,
                         .pw = pctx ? &p.pw : NULL, .st = p.st.rows, .cat = cat, .in = in ? &ij : NULL, .y = y->data,
                         .ring = bufs.ring, .stem_buf = bufs.sbuf, .in_row = bufs.in_row, .res = res > 0,
                         .mid = bufs.rows, .bf16 = bufs.bscr, .seg = seg};
        /* A segment of steps per two threads, walked from both ends. */
        j.spb = (gd.h.out + EL_ROWS_STEP - 1) / EL_ROWS_STEP;
        j.steps = gd.n * j.spb;
        j.nseg = (threads + 1) / 2;
        if (j.nseg > j.steps) j.nseg = j.steps;
        for (int64_t q = 0; q < j.nseg; q++)
            atomic_init(&seg[q].left, (uint64_t)(j.steps * q / j.nseg) << 32 | (uint64_t)(j.steps * (q + 1) / j.nseg));
        el_parallel_for(pool, j.nseg * 2 > threads ? threads : j.nseg * 2, 1, el_rows_run, &j);
    }
    if (s == EL_OK && mean) s = el_conv_mean_output(ctx, el_tensor_numel(y) > 0 ? sums : NULL);
    el_mem_free(sums);
    el_rows_bufs_free(&bufs, threads);
    el_rows_bufs_free(&ibufs, threads);
    el_mem_free(scaled);
    el_rows_plan_free(&p);
    *status = s;
    return true;
}

/* A node's attrs under `prefix` without it (skipping `skip`), or with
 * keep false those not under it; false when more than `cap`. */
static bool el_attrs_under(const el_node *n, const char *prefix, bool keep, const char *skip, el_attr *out, int cap,
                           int *count)
{
    const size_t pl = strlen(prefix);
    int k = 0;
    for (int i = 0; i < n->nattrs; i++) {
        const el_attr *a = &n->attrs[i];
        bool under = !strncmp(a->name, prefix, pl);
        if (under != keep || (skip && !strcmp(a->name, skip))) continue;
        if (k == cap) return false;
        out[k] = *a;
        if (keep) out[k].name = a->name + pl;
        k++;
    }
    *count = k;
    return true;
}

/* The concat a convolution with EL_CAT_NIN_ATTR reads (cctx: its node and
 * inputs) made whole into *full, by its kernel. */
static el_status el_conv_cat_full(const el_kctx *cctx, el_tensor *full)
{
    el_kctx c = *cctx;
    c.noutputs = 1;
    c.outputs = full;
    return el_concat_v2_run(&c);
}

/* A Conv2D / _FusedConv2D with EL_DWPW_NIN_ATTR (ops/conv_dwpw.h); ectx:
 * the expansion its input comes from (EL_PWDW_NIN_ATTR, whose output then
 * fills ctx's input 0, and input res when res > 0, when the fast kernels
 * do not run), or NULL. */
static el_status el_conv_dwpw(el_kctx *ctx, bool fused, el_kctx *ectx, int res, const el_concat_rows *cat,
                              const el_kctx *cctx)
{
    int64_t nd;
    EL_TRY(el_attr_int(ctx->node, EL_DWPW_NIN_ATTR, 0, &nd));
    if (nd < 1 || nd > ctx->ninputs - 2 || ctx->ninputs > EL_DWPW_MAX_IN)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr '%s' is %lld, which %d inputs cannot hold", EL_DWPW_NIN_ATTR,
                       (long long)nd, ctx->ninputs);
    /* The depthwise convolution as a node of its own: its attrs without the prefix. */
    el_attr da[EL_DWPW_MAX_ATTRS];
    int nda;
    if (!el_attrs_under(ctx->node, EL_DWPW_PREFIX, true, EL_DWPW_NIN_ATTR, da, EL_DWPW_MAX_ATTRS, &nda))
        return el_kerr(ctx, EL_ERR_LIMIT, "more than %d depthwise attrs", EL_DWPW_MAX_ATTRS);
    el_node dn = *ctx->node;
    dn.op = "FusedDepthwiseConv2dNative";
    dn.attrs = da;
    dn.nattrs = nda;
    const int np = ctx->ninputs - (int)nd;
    el_tensor din[EL_DWPW_MAX_IN], dout = {0};
    din[0] = ctx->inputs[0];
    memcpy(din + 1, ctx->inputs + np, sizeof(el_tensor) * (size_t)nd);
    el_kctx dctx = {.node = &dn, .ninputs = 1 + (int)nd, .inputs = din, .noutputs = 1, .outputs = &dout};
    el_tensor pin[EL_DWPW_MAX_IN];
    memcpy(pin, ctx->inputs, sizeof(el_tensor) * (size_t)np);
    el_kctx pctx = *ctx;
    pctx.inputs = pin;
    pctx.ninputs = np;
    el_status s;
    if (ectx) {
        if (el_rows_fast(ctx, ectx, NULL, &dctx, &pctx, res, fused, NULL, &s)) return s;
        EL_TRY(el_conv_common(ectx, false, true));
        din[0] = ectx->outputs[0];
        if (res > 0 && res < np) pin[res] = ectx->outputs[0];
    }
    if (el_rows_fast(ctx, NULL, cat, &dctx, &pctx, -1, fused, NULL, &s)) return s;
    el_tensor full = {0};
    if (cat) {
        EL_TRY(el_conv_cat_full(cctx, &full));
        din[0] = full;
    }
    /* The two nodes' kernels, one after the other. */
    s = el_conv_common(&dctx, true, true);
    if (s == EL_OK) {
        pin[0] = dout;
        s = el_conv_common_x(&pctx, false, fused, NULL, NULL);
    }
    el_tensor_release(&dout);
    el_tensor_release(&full);
    return s;
}

/* el_conv_at's windows: input x (or the concat's rows, cat), pixel
 * indices idx, kh x kw windows of x's channels into win. */
typedef struct el_at_job {
    const el_tensor *x, *idx;
    const el_concat_rows *cat;
    float *win;
    int64_t kh, kw;
} el_at_job;

/* Windows [p0, p1): zeros outside the input (and for indices outside
 * it), each window row one span of columns. */
static void el_at_windows(void *vc, int64_t p0, int64_t p1)
{
    const el_at_job *j = vc;
    const int64_t n = j->x->dims[0], h = j->x->dims[1], w = j->x->dims[2], ch = j->x->dims[3], kh = j->kh, kw = j->kw;
    for (int64_t p = p0; p < p1; p++) {
        const int64_t i = j->idx->dtype == EL_DT_INT32 ? ((const int32_t *)j->idx->data)[p]
                                                         : ((const int64_t *)j->idx->data)[p];
        float *o = j->win + p * kh * kw * ch;
        if (i < 0 || i >= n * h * w) {
            memset(o, 0, sizeof(float) * (size_t)(kh * kw * ch));
            continue;
        }
        const int64_t b = i / (h * w), y = i / w % h, xx = i % w;
        const int64_t x0 = xx - kw / 2 < 0 ? 0 : xx - kw / 2, x1 = xx + kw / 2 + 1 > w ? w : xx + kw / 2 + 1;
        for (int64_t ky = 0; ky < kh; ky++) {
            const int64_t iy = y + ky - kh / 2;
            float *r = o + ky * kw * ch, *d = r + (x0 - (xx - kw / 2)) * ch;
            /* Zeros only where the window leaves the input. */
            if (iy < 0 || iy >= h) {
                memset(r, 0, sizeof(float) * (size_t)(kw * ch));
                continue;
            }
            memset(r, 0, sizeof(float) * (size_t)(d - r));
            memset(d + (x1 - x0) * ch, 0, sizeof(float) * (size_t)((kw - (x1 - x0)) * ch - (d - r)));
            if (j->cat) el_concat_rows_span(j->cat, b, iy, x0, x1, d);
            else memcpy(d, (const float *)j->x->data + ((b * h + iy) * w + x0) * ch, sizeof(float) * (size_t)((x1 - x0) * ch));
        }
    }
}

/* A Conv2D with EL_DWPW_NIN_ATTR and EL_CONV_AT_ATTR (ops/conv_dwpw.h):
 * the pixels its last input lists, each the node's own run on the
 * depthwise window around it (kh x kw, zeros outside the input; all
 * windows one batch, the depthwise part VALID: one output pixel each);
 * zero elsewhere. Listed indices outside the output are left alone (the
 * GatherV2 reading them fails on them). cat, cctx: as el_conv_dwpw's (the
 * windows made from the concat's rows). */
static el_status el_conv_at(el_kctx *ctx, bool fused, const el_concat_rows *cat, const el_kctx *cctx)
{
    const int ni = ctx->ninputs - 1;
    int64_t nd = 0;
    EL_TRY(el_attr_int(ctx->node, EL_DWPW_NIN_ATTR, 0, &nd));
    if (ni < 3 || nd < 1 || nd > ni - 2 || ctx->ninputs > EL_DWPW_MAX_IN)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr '%s' is %lld, which %d inputs cannot hold", EL_DWPW_NIN_ATTR,
                       (long long)nd, ctx->ninputs);
    const el_tensor *x = &ctx->inputs[0], *wd = &ctx->inputs[ni - nd], *idx = &ctx->inputs[ni];
    el_tensor ins[EL_DWPW_MAX_IN];
    memcpy(ins, ctx->inputs, sizeof(el_tensor) * (size_t)ni);
    el_kctx c = {.node = ctx->node, .ninputs = ni, .inputs = ins, .noutputs = 1, .outputs = ctx->outputs};
    if (idx->dtype != EL_DT_INT32 && idx->dtype != EL_DT_INT64)
        return el_kerr(ctx, EL_ERR_RUNTIME, "pixel indices of dtype %s", el_dtype_name(idx->dtype));
    const int64_t np = el_tensor_numel(idx);
    /* Anything else (and more windows than pixels): the whole output. */
    if (x->dtype != EL_DT_FLOAT || x->ndim != 4 || wd->ndim != 4 || wd->dims[0] % 2 != 1 || wd->dims[1] % 2 != 1 ||
        wd->dims[2] != x->dims[3] || np * wd->dims[0] * wd->dims[1] > el_tensor_numel(x) / x->dims[3] / 2 ||
        ctx->node->nattrs > EL_DWPW_MAX_ATTRS) {
        if (!cat) return el_conv_dispatch(&c, false, fused);
        el_tensor full = {0};
        el_status s = el_conv_cat_full(cctx, &full);
        ins[0] = full;
        if (s == EL_OK) s = el_conv_dispatch(&c, false, fused);
        el_tensor_release(&full);
        return s;
    }
    el_attr va[EL_DWPW_MAX_ATTRS];
    memcpy(va, ctx->node->attrs, sizeof(el_attr) * (size_t)ctx->node->nattrs);
    for (int i = 0; i < ctx->node->nattrs; i++)
        if (!strcmp(va[i].name, EL_DWPW_PREFIX "padding")) va[i].v.s = (el_string){.data = "VALID", .len = 5};
    el_node vn = *ctx->node;
    vn.attrs = va;
    c.node = &vn;
    const int64_t n = x->dims[0], h = x->dims[1], w = x->dims[2], ch = x->dims[3], kh = wd->dims[0], kw = wd->dims[1];
    const int64_t wdims[4] = {np, kh, kw, ch};
    el_tensor win = {0}, part = {0};
    el_status s = el_tensor_alloc(&win, EL_DT_FLOAT, 4, wdims);
    if (s == EL_OK) {
        el_at_job j = {.x = x, .idx = idx, .cat = cat, .win = win.data, .kh = kh, .kw = kw};
        /* Threaded: the windows' rows are reads scattered over the map
         * (misses waited on one at a time), 40 us for CenterNet's 100. */
        el_parallel_for(el_threadpool_current(), np, 8, el_at_windows, &j);
    }
    ins[0] = win;
    c.outputs = &part;
    if (s == EL_OK) s = el_conv_dispatch(&c, false, fused);
    el_tensor *y = NULL;
    if (s == EL_OK && (part.ndim != 4 || part.dims[0] != np || part.dims[1] != 1 || part.dims[2] != 1))
        s = el_kerr(ctx, EL_ERR_RUNTIME, "windows of %lldx%lld gave an output of another size", (long long)kh,
                    (long long)kw);
    const int64_t oc = part.ndim == 4 ? part.dims[3] : 0, odims[4] = {n, h, w, oc};
    if (s == EL_OK) s = el_kctx_output(ctx, 0, EL_DT_FLOAT, 4, odims, &y);
    if (s == EL_OK) {
        memset(y->data, 0, sizeof(float) * (size_t)(n * h * w * oc));
        for (int64_t p = 0; p < np; p++) {
            const int64_t i =
                idx->dtype == EL_DT_INT32 ? ((const int32_t *)idx->data)[p] : ((const int64_t *)idx->data)[p];
            if (i >= 0 && i < n * h * w)
                memcpy((float *)y->data + i * oc, (const float *)part.data + p * oc, sizeof(float) * (size_t)oc);
        }
    }
    el_tensor_release(&win);
    el_tensor_release(&part);
    return s;
}

/* A node with EL_PWDW_NIN_ATTR split in two: the expansion as a node of its
 * own (ectx: its attrs without the prefix, output eout) and the rest (rctx:
 * without them, input 0 empty until the expansion's output fills it); res:
 * EL_PWDW_RES_ATTR or -1. Points into itself: not moved once split. */
typedef struct el_pwdw_split {
    el_attr ea[EL_DWPW_MAX_ATTRS], ra[EL_DWPW_MAX_ATTRS];
    el_node en, rn;
    el_tensor ein[EL_DWPW_MAX_IN], rin[EL_DWPW_MAX_IN], eout;
    el_kctx ectx, rctx;
    int64_t res;
} el_pwdw_split;

/* A node carrying another under PREFIX (that one's attrs renamed with
 * PREFIX, its inputs the last *n, their count in the attr NIN): the two as
 * nodes of their own, *in (op OP, attrs in ia) and *rn (the rest, attrs
 * in ra), EL_DWPW_MAX_ATTRS each. */
static el_status el_node_split(const el_kctx *ctx, const char *prefix, const char *nin, const char *op, el_node *in,
                               el_attr *ia, el_node *rn, el_attr *ra, int64_t *n)
{
    EL_TRY(el_attr_int(ctx->node, nin, 0, n));
    if (*n < 1 || *n > ctx->ninputs - 2 || ctx->ninputs > EL_DWPW_MAX_IN)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr '%s' is %lld, which %d inputs cannot hold", nin, (long long)*n,
                       ctx->ninputs);
    int nia, nra;
    if (!el_attrs_under(ctx->node, prefix, true, nin, ia, EL_DWPW_MAX_ATTRS, &nia) ||
        !el_attrs_under(ctx->node, prefix, false, NULL, ra, EL_DWPW_MAX_ATTRS, &nra))
        return el_kerr(ctx, EL_ERR_LIMIT, "more than %d attrs", EL_DWPW_MAX_ATTRS);
    *in = *ctx->node;
    *rn = *ctx->node;
    in->op = op;
    in->attrs = ia;
    in->nattrs = nia;
    rn->attrs = ra;
    rn->nattrs = nra;
    return EL_OK;
}

static el_status el_pwdw_split_make(el_kctx *ctx, bool depthwise, el_pwdw_split *p)
{
    int64_t ne;
    EL_TRY(el_node_split(ctx, EL_PWDW_PREFIX, EL_PWDW_NIN_ATTR, "_FusedConv2D", &p->en, p->ea, &p->rn, p->ra, &ne));
    const int nr = ctx->ninputs - (int)ne;
    p->ein[0] = ctx->inputs[0];
    memcpy(p->ein + 1, ctx->inputs + nr, sizeof(el_tensor) * (size_t)ne);
    p->eout = (el_tensor){0};
    p->ectx = (el_kctx){.node = &p->en, .ninputs = 1 + (int)ne, .inputs = p->ein, .noutputs = 1, .outputs = &p->eout};
    memcpy(p->rin, ctx->inputs, sizeof(el_tensor) * (size_t)nr);
    p->rin[0] = (el_tensor){0}; /* the expansion's output, once computed */
    p->rctx = *ctx;
    p->rctx.node = &p->rn;
    p->rctx.inputs = p->rin;
    p->rctx.ninputs = nr;
    /* A residual block's Add operand standing for the expansion's output. */
    EL_TRY(el_attr_int(ctx->node, EL_PWDW_RES_ATTR, -1, &p->res));
    if (p->res != -1 && (depthwise || p->res < 1 || p->res >= nr))
        return el_kerr(ctx, EL_ERR_FORMAT, "attr '%s' is %lld, which %d inputs cannot hold", EL_PWDW_RES_ATTR,
                       (long long)p->res, nr);
    return EL_OK;
}

/* A depthwise convolution, or a Conv2D with EL_DWPW_NIN_ATTR, with
 * EL_PWDW_NIN_ATTR (ops/conv_dwpw.h): its 1x1 expansion runs inside it, a
 * few rows at a time, or before it when the fast kernels do not apply. */
static el_status el_conv_pwdw(el_kctx *ctx, bool depthwise, bool fused)
{
    el_pwdw_split p;
    EL_TRY(el_pwdw_split_make(ctx, depthwise, &p));
    el_status s;
    if (!depthwise) {
        s = el_conv_dwpw(&p.rctx, fused, &p.ectx, (int)p.res, NULL, NULL);
    } else if (!el_rows_fast(&p.rctx, &p.ectx, NULL, &p.rctx, NULL, -1, fused, NULL, &s)) {
        s = el_conv_common(&p.ectx, false, true);
        if (s == EL_OK) {
            p.rin[0] = p.eout;
            s = el_conv_common(&p.rctx, true, fused);
        }
    }
    el_tensor_release(&p.eout);
    return s;
}

/* A depthwise node with EL_PWDW_NIN_ATTR and EL_RING_NIN_ATTR
 * (ops/conv_dwpw.h): the depthwise node making its input (itself with an
 * expansion) runs inside it too, its output rows made as the 1x1
 * expansion's ring needs them; or before it, whole, when the fast kernels
 * do not apply. */
static el_status el_conv_ring(el_kctx *ctx, bool fused)
{
    /* The inner node (its attrs without the prefix, its inputs the last ni
     * after input 0) and the rest of this one. */
    int64_t ni;
    el_attr ia[EL_DWPW_MAX_ATTRS], ra[EL_DWPW_MAX_ATTRS];
    el_node in, rn;
    EL_TRY(el_node_split(ctx, EL_RING_PREFIX, EL_RING_NIN_ATTR, "_FusedDepthwiseConv2dNative", &in, ia, &rn, ra, &ni));
    const int nr = ctx->ninputs - (int)ni;
    el_tensor iin[EL_DWPW_MAX_IN], rin[EL_DWPW_MAX_IN], iout = {0};
    iin[0] = ctx->inputs[0];
    memcpy(iin + 1, ctx->inputs + nr, sizeof(el_tensor) * (size_t)ni);
    el_kctx ictx = {.node = &in, .ninputs = 1 + (int)ni, .inputs = iin, .noutputs = 1, .outputs = &iout};
    memcpy(rin, ctx->inputs, sizeof(el_tensor) * (size_t)nr);
    el_kctx rctx = *ctx;
    rctx.node = &rn;
    rctx.inputs = rin;
    rctx.ninputs = nr;
    el_status s = EL_OK;
    if (el_node_attr(&in, EL_PWDW_NIN_ATTR) && el_node_attr(&rn, EL_PWDW_NIN_ATTR) &&
        !el_node_attr(&in, EL_CONV_MEAN_ATTR)) {
        el_pwdw_split ip, op;
        el_rows_plan inner;
        EL_TRY(el_pwdw_split_make(&ictx, true, &ip));
        if (el_rows_plan_make(&ip.ectx, NULL, &ip.rctx, NULL, -1, true, false, &inner)) {
            const el_conv_geom *g = &inner.gd;
            rin[0] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {g->n, g->h.out, g->w.out, g->oc}};
            s = el_pwdw_split_make(&rctx, true, &op);
            if (s == EL_OK && el_rows_fast(&op.rctx, &op.ectx, NULL, &op.rctx, NULL, -1, fused, &inner, &s)) {
                el_rows_plan_free(&inner);
                return s;
            }
        }
        el_rows_plan_free(&inner);
        EL_TRY(s);
    }
    /* The inner node whole, then the rest on its output. */
    s = el_conv_common(&ictx, true, true);
    if (s == EL_OK) {
        rin[0] = iout;
        s = el_conv_common(&rctx, true, fused);
    }
    el_tensor_release(&iout);
    return s;
}

/* A convolution with EL_CAT_NIN_ATTR (ops/concat.h): a row fusion or its
 * pixels (EL_DWPW_NIN_ATTR, EL_CONV_AT_ATTR) makes the concat's rows as
 * it reads them (el_concat_rows_span); anything else, or a concat the
 * rows do not take, runs on the concat made whole first. */
static el_status el_conv_cat(el_kctx *ctx, bool depthwise, bool fused)
{
    /* The concat as a node of its own (its attrs without the prefix), and the rest of this one. */
    int64_t nc;
    el_attr ca[EL_DWPW_MAX_ATTRS], ra[EL_DWPW_MAX_ATTRS];
    el_node cn, rn;
    EL_TRY(el_node_split(ctx, EL_CAT_PREFIX, EL_CAT_NIN_ATTR, "ConcatV2", &cn, ca, &rn, ra, &nc));
    const int nr = ctx->ninputs - (int)nc;
    el_tensor cin[EL_DWPW_MAX_IN], rin[EL_DWPW_MAX_IN], full = {0};
    cin[0] = ctx->inputs[0];
    memcpy(cin + 1, ctx->inputs + nr, sizeof(el_tensor) * (size_t)nc);
    const el_kctx cctx = {.node = &cn, .ninputs = 1 + (int)nc, .inputs = cin};
    memcpy(rin, ctx->inputs, sizeof(el_tensor) * (size_t)nr);
    el_kctx rctx = *ctx;
    rctx.node = &rn;
    rctx.inputs = rin;
    rctx.ninputs = nr;
    const bool at = !depthwise && el_node_attr(&rn, EL_CONV_AT_ATTR),
               dwpw = !depthwise && el_node_attr(&rn, EL_DWPW_NIN_ATTR) && !el_node_attr(&rn, EL_PWDW_NIN_ATTR);
    el_concat_rows cat;
    el_status s;
    if ((at || dwpw) && el_concat_rows_make(&cctx, &cat)) {
        /* Input 0 as the concat's shape only: the rows are made from cat. */
        rin[0] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {cat.dims[0], cat.dims[1], cat.dims[2], cat.dims[3]}};
        s = at ? el_conv_at(&rctx, fused, &cat, &cctx) : el_conv_dwpw(&rctx, fused, NULL, -1, &cat, &cctx);
        el_concat_rows_free(&cat);
        return s;
    }
    s = el_conv_cat_full(&cctx, &full);
    rin[0] = full;
    if (s == EL_OK) s = el_conv_common(&rctx, depthwise, fused);
    el_tensor_release(&full);
    return s;
}

static el_status el_op_conv2d(el_kctx *ctx) { return el_conv_common(ctx, false, false); }
static el_status el_op_depthwise(el_kctx *ctx) { return el_conv_common(ctx, true, false); }
static el_status el_op_fused_conv2d(el_kctx *ctx) { return el_conv_common(ctx, false, true); }
static el_status el_op_fused_depthwise(el_kctx *ctx) { return el_conv_common(ctx, true, true); }

/* ---- MatMul ---- */

static el_status el_matmul_common(el_kctx *ctx, bool fused)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    EL_TRY(el_kctx_need_dtype(ctx, 1, EL_DT_FLOAT));
    const el_tensor *a = &ctx->inputs[0], *b = &ctx->inputs[1];
    char s1[160], s2[160];
    if (a->ndim != 2 || b->ndim != 2)
        return el_kerr(ctx, EL_ERR_RUNTIME, "inputs must be matrices, found %s and %s",
                       el_shape_str(a->ndim, a->dims, s1, sizeof s1), el_shape_str(b->ndim, b->dims, s2, sizeof s2));
    bool ta, tb;
    EL_TRY(el_attr_bool(ctx->node, "transpose_a", false, &ta));
    EL_TRY(el_attr_bool(ctx->node, "transpose_b", false, &tb));
    int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], n = tb ? b->dims[0] : b->dims[1];
    if (k != kb)
        return el_kerr(ctx, EL_ERR_RUNTIME, "matrix size-incompatible: In[0]: %s, In[1]: %s (transpose_a %d, transpose_b %d)",
                       el_shape_str(a->ndim, a->dims, s1, sizeof s1), el_shape_str(b->ndim, b->dims, s2, sizeof s2),
                       (int)ta, (int)tb);
    el_epilogue e;
    if (fused) EL_TRY(el_epilogue_parse(ctx, 2, n, &e));
    int64_t dims[2] = {m, n};
    el_tensor *y;
    el_status s = el_kctx_output(ctx, 0, EL_DT_FLOAT, 2, dims, &y);
    float *at = NULL, *bt = NULL;
    if (s == EL_OK && m * n > 0) {
        /* Transposed operands are copied to row-major [m,k] and [k,n] so the
         * product runs the same loop (and adds in the same order). */
        const float *ap = a->data, *bp = b->data;
        if (ta && m * k > 0) {
            at = el_mem_alloc(sizeof(float) * (size_t)(m * k));
            if (!at) s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
            else {
                for (int64_t i = 0; i < k; i++)
                    for (int64_t j = 0; j < m; j++) at[j * k + i] = ap[i * m + j];
                ap = at;
            }
        }
        if (s == EL_OK && tb && k * n > 0) {
            bt = el_mem_alloc(sizeof(float) * (size_t)(k * n));
            if (!bt) s = el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
            else {
                for (int64_t i = 0; i < n; i++)
                    for (int64_t j = 0; j < k; j++) bt[j * n + i] = bp[i * k + j];
                bp = bt;
            }
        }
        if (s == EL_OK) {
            el_gemm_f32(m, k, n, ap, k, bp, y->data);
            if (fused) el_epilogue_run(&e, y->data, m, n);
        }
    }
    el_mem_free(at);
    el_mem_free(bt);
    if (fused) el_epilogue_free(&e);
    return s;
}

static el_status el_op_matmul(el_kctx *ctx) { return el_matmul_common(ctx, false); }
static el_status el_op_fused_matmul(el_kctx *ctx) { return el_matmul_common(ctx, true); }

const el_op el_ops_conv[] = {
    {"Conv2D", el_op_conv2d, NULL, EL_OP_PARALLEL},
    {"DepthwiseConv2dNative", el_op_depthwise, el_conv_mean_noutputs, EL_OP_PARALLEL},
    {"MatMul", el_op_matmul, NULL, EL_OP_PARALLEL},
    {"_FusedConv2D", el_op_fused_conv2d, NULL, EL_OP_PARALLEL},
    {"FusedDepthwiseConv2dNative", el_op_fused_depthwise, el_conv_mean_noutputs, EL_OP_PARALLEL},
    {"_FusedDepthwiseConv2dNative", el_op_fused_depthwise, el_conv_mean_noutputs, EL_OP_PARALLEL},
    {"_FusedMatMul", el_op_fused_matmul, NULL, EL_OP_PARALLEL},
    {NULL, NULL, NULL, 0},
};
