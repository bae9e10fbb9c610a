/* _ElMulAdd: input normalisation as one pass (the graph passes' fusion,
 * graph/optimize.c). In full:
 *
 *   _ElMulAdd(x, c, d [, s] [, paddings])   attrs sub, pre_scale, padded
 *
 * y = Add(Mul(x, c), d), or Sub(Mul(x, c), d) with sub (x - d is x + (-d)
 * exactly in IEEE arithmetic); c and d hold one float each. The graph
 * passes may also fold into it, from the input side:
 *  - a Pad (zeros) before it (padded: the last input is Pad's paddings):
 *    the output is padded, the border holding what the Mul and Add make of
 *    the Pad's 0;
 *  - a Mul by a scalar s before that (pre_scale: input 3 is s): x * s is
 *    rounded first, as the Mul's own result;
 *  - a Cast from uint8 before that: x is then the uint8 tensor (its
 *    conversion to float is exact).
 * Every product and sum is rounded as the separate nodes round it (no
 * fused multiply-add: the build is ISO C, which keeps GCC from
 * contracting), so the output has the same bits. FaceBoxes' ToFloat, mul,
 * Pad and standardize_input: 4 passes over the image become one. */
#include <string.h>

#include "core/threadpool.h"
#include "ops/array_util.h"
#include "ops/broadcast.h"
#include "ops/conv_fast.h"
#include "ops/kernel.h"
#include "ops/mul_add.h"
#include "ops/unary_fast.h"

/* GCC's -O2 vectorizes only loops with no epilogue; vectorizing keeps every
 * element's operations. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif

typedef struct el_ma_job {
    const void *x; /* float or uint8 */
    bool u8, pre;
    float s, c, d;
    float *y;
} el_ma_job;

static void el_ma_chunk(void *ctx, int64_t i0, int64_t i1)
{
    const el_ma_job *j = ctx;
    float *restrict y = j->y;
    const float s = j->s, c = j->c, d = j->d;
#if defined(EL_CONV_X86)
    if (j->u8 && el_conv_isa() >= EL_ISA_AVX512) {
        el_mul_add_u8_avx512((const uint8_t *)j->x + i0, j->pre, s, c, d, y + i0, i1 - i0);
        return;
    }
#endif
    if (j->u8) {
        const uint8_t *restrict x = j->x;
        if (j->pre)
            for (int64_t i = i0; i < i1; i++) {
                float t = (float)x[i] * s;
                t = t * c;
                y[i] = t + d;
            }
        else
            for (int64_t i = i0; i < i1; i++) {
                float t = (float)x[i] * c;
                y[i] = t + d;
            }
    } else {
        const float *restrict x = j->x;
        if (j->pre)
            for (int64_t i = i0; i < i1; i++) {
                float t = x[i] * s;
                t = t * c;
                y[i] = t + d;
            }
        else
            for (int64_t i = i0; i < i1; i++) {
                float t = x[i] * c;
                y[i] = t + d;
            }
    }
}

/* Elements [0, n) of x (from element `from`) into y. */
static void el_ma_run(const el_ma_job *base, int64_t from, int64_t n, float *y)
{
    el_ma_job j = *base;
    j.x = (const char *)base->x + (size_t)from * (base->u8 ? 1 : sizeof(float));
    j.y = y;
    el_parallel_for(el_threadpool_current(), n, 16384, el_ma_chunk, &j);
}

static el_status el_ma_scalar(el_kctx *ctx, int i, float *v)
{
    EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
    if (el_tensor_numel(&ctx->inputs[i]) != 1)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "input %d must hold one value, got %lld", i,
                       (long long)el_tensor_numel(&ctx->inputs[i]));
    if (ctx->inputs[i].ndim > ctx->inputs[0].ndim)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "input %d has a higher rank (%d) than x (%d)", i,
                       ctx->inputs[i].ndim, ctx->inputs[0].ndim);
    *v = *(const float *)ctx->inputs[i].data;
    return EL_OK;
}

static void el_fill_f32(float *y, float v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = v;
}

static el_status el_k_ElMulAdd(el_kctx *ctx)
{
    bool sub, pre, padded;
    EL_TRY(el_attr_bool(ctx->node, "sub", false, &sub));
    EL_TRY(el_attr_bool(ctx->node, "pre_scale", false, &pre));
    EL_TRY(el_attr_bool(ctx->node, "padded", false, &padded));
    EL_TRY(el_kctx_need_inputs(ctx, 3 + pre + padded));
    const el_tensor *x = &ctx->inputs[0];
    if (x->dtype != EL_DT_FLOAT && x->dtype != EL_DT_UINT8)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "x must be float or uint8, got %s", el_dtype_name(x->dtype));
    el_ma_job j = {.x = x->data, .u8 = x->dtype == EL_DT_UINT8, .pre = pre, .s = 1.0f};
    if (!pre && !padded && !j.u8) {
        /* The plain form broadcasts c and d as the Mul and Add would. */
        for (int i = 1; i < 3; i++) EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
        const el_tensor *c = &ctx->inputs[1], *d = &ctx->inputs[2];
        if (el_tensor_numel(c) != 1 || el_tensor_numel(d) != 1)
            return el_kerr(ctx, EL_ERR_INVALID_ARG, "inputs 1 and 2 must hold one value each, got %lld and %lld",
                           (long long)el_tensor_numel(c), (long long)el_tensor_numel(d));
        el_bcast b;
        const el_tensor *ts[3] = {x, c, d};
        char s1[160], s2[160];
        if (!el_bcast_tensors(&b, 3, ts))
            return el_kerr(ctx, EL_ERR_RUNTIME, "Incompatible shapes: %s vs. %s",
                           el_shape_str(x->ndim, x->dims, s1, sizeof s1), el_shape_str(c->ndim, c->dims, s2, sizeof s2));
        el_tensor *out;
        EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, b.out_ndim, b.out_dims, &out));
        float dv = *(const float *)d->data;
        el_mul_add_f32(x->data, *(const float *)c->data, sub ? -dv : dv, out->data, el_tensor_numel(out));
        return EL_OK;
    }
    EL_TRY(el_ma_scalar(ctx, 1, &j.c));
    EL_TRY(el_ma_scalar(ctx, 2, &j.d));
    if (sub) j.d = -j.d;
    if (pre) EL_TRY(el_ma_scalar(ctx, 3, &j.s));
    const int r = x->ndim;
    int64_t before[EL_MAX_DIMS] = {0}, after[EL_MAX_DIMS] = {0}, odims[EL_MAX_DIMS];
    memcpy(odims, x->dims, sizeof(int64_t) * (size_t)r);
    if (padded) {
        const int pi = 3 + pre;
        const el_tensor *p = &ctx->inputs[pi];
        char s[160];
        if (p->ndim != 2 || p->dims[0] != r || p->dims[1] != 2)
            return el_kerr(ctx, EL_ERR_RUNTIME, "paddings must be a matrix with 2 columns and %d rows (the input's rank): %s",
                           r, el_shape_str(p->ndim, p->dims, s, sizeof s));
        for (int k = 0; k < r; k++) {
            EL_TRY(el_kctx_index_value(ctx, pi, 2 * k, &before[k]));
            EL_TRY(el_kctx_index_value(ctx, pi, 2 * k + 1, &after[k]));
            if (before[k] < 0 || after[k] < 0)
                return el_kerr(ctx, EL_ERR_RUNTIME, "Paddings must be non-negative: %lld %lld", (long long)before[k],
                               (long long)after[k]);
            if (before[k] > INT64_MAX - after[k] || x->dims[k] > INT64_MAX - before[k] - after[k])
                return el_kerr(ctx, EL_ERR_LIMIT, "padded dimension %d overflows", k);
            odims[k] += before[k] + after[k];
        }
    }
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, r, odims, &out));
    if (el_tensor_numel(out) == 0) return EL_OK;
    /* The last padded dimension dp: dimensions after it are copied whole,
     * so along dp an output row is border, interior (contiguous in x and y),
     * border. Rows over the dimensions before dp outside x are all border. */
    int dp = -1;
    for (int k = 0; k < r; k++)
        if (before[k] || after[k]) dp = k;
    if (dp < 0) {
        el_ma_run(&j, 0, el_tensor_numel(x), out->data);
        return EL_OK;
    }
    /* The border: the Pad's 0 through the Mul by c and the Add (the
     * pre-scale comes before the Pad). */
    float t0 = 0.0f * j.c;
    const float border = t0 + j.d;
    if (el_tensor_numel(x) == 0) {
        el_fill_f32(out->data, border, el_tensor_numel(out));
        return EL_OK;
    }
    const int64_t inner = el_dims_prod(x->dims, dp + 1, r);
    const int64_t rows = el_dims_prod(odims, 0, dp);
    const int64_t orow = odims[dp] * inner, xrow = x->dims[dp] * inner;
    int64_t idx[EL_MAX_DIMS] = {0}, xs[EL_MAX_DIMS];
    el_strides_of(r, x->dims, xs);
    float *y = out->data;
    for (int64_t q = 0; q < rows; q++, y += orow) {
        bool inside = true;
        int64_t src = 0;
        for (int k = 0; k < dp; k++) {
            int64_t i = idx[k] - before[k];
            inside &= i >= 0 && i < x->dims[k];
            src += i * xs[k];
        }
        if (!inside) {
            el_fill_f32(y, border, orow);
        } else {
            el_fill_f32(y, border, before[dp] * inner);
            el_ma_run(&j, src, xrow, y + before[dp] * inner);
            el_fill_f32(y + before[dp] * inner + xrow, border, after[dp] * inner);
        }
        for (int k = dp - 1; k >= 0; k--) {
            if (++idx[k] < odims[k]) break;
            idx[k] = 0;
        }
    }
    return EL_OK;
}

/* ---- the standardisation applied by a convolution (ops/mul_add.h) ---- */

int el_std_ninputs(int64_t flags) { return 2 + !!(flags & EL_STD_PRE) + !!(flags & EL_STD_PADDED); }

el_status el_std_parse(el_kctx *ctx, int64_t flags, el_std *t)
{
    const int n = el_std_ninputs(flags), first = ctx->ninputs - n;
    if (first < 1) return el_kerr(ctx, EL_ERR_INVALID_ARG, "the standardised input needs %d more inputs", n);
    const el_tensor *x = &ctx->inputs[0];
    if (x->dtype != EL_DT_FLOAT && x->dtype != EL_DT_UINT8)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "x must be float or uint8, got %s", el_dtype_name(x->dtype));
    if (x->ndim != 4) return el_kerr(ctx, EL_ERR_INVALID_ARG, "the standardised input must have rank 4, got %d", x->ndim);
    memset(t, 0, sizeof *t);
    t->x = x->data;
    t->u8 = x->dtype == EL_DT_UINT8;
    t->pre = flags & EL_STD_PRE;
    t->s = 1.0f;
    /* el_ma_scalar's checks also cover the plain form's broadcasting: one
     * value of no higher rank leaves x's shape. */
    EL_TRY(el_ma_scalar(ctx, first, &t->c));
    EL_TRY(el_ma_scalar(ctx, first + 1, &t->d));
    if (flags & EL_STD_SUB) t->d = -t->d;
    if (t->pre) EL_TRY(el_ma_scalar(ctx, first + 2, &t->s));
    memcpy(t->xdims, x->dims, sizeof t->xdims);
    memcpy(t->dims, x->dims, sizeof t->dims);
    if (flags & EL_STD_PADDED) {
        const int pi = ctx->ninputs - 1;
        const el_tensor *p = &ctx->inputs[pi];
        if (p->ndim != 2 || p->dims[0] != 4 || p->dims[1] != 2)
            return el_kerr(ctx, EL_ERR_RUNTIME, "paddings must be a matrix with 2 columns and 4 rows (the input's rank)");
        for (int k = 0; k < 4; k++) {
            int64_t b, a;
            EL_TRY(el_kctx_index_value(ctx, pi, 2 * k, &b));
            EL_TRY(el_kctx_index_value(ctx, pi, 2 * k + 1, &a));
            if (b < 0 || a < 0)
                return el_kerr(ctx, EL_ERR_RUNTIME, "Paddings must be non-negative: %lld %lld", (long long)b, (long long)a);
            if (b > INT32_MAX || a > INT32_MAX || x->dims[k] > INT64_MAX - b - a)
                return el_kerr(ctx, EL_ERR_LIMIT, "padded dimension %d overflows", k);
            t->dims[k] += b + a;
            t->before[k] = b;
        }
    }
    float t0 = 0.0f * t->c; /* the Pad's 0 through the Mul by c and the Add, as el_k_ElMulAdd */
    t->border = t0 + t->d;
    return EL_OK;
}

/* Elements [0, n) of x from element `from`, standardised into y. */
static void el_std_run(const el_std *t, int64_t from, int64_t n, float *y)
{
    el_ma_job j = {.x = (const char *)t->x + (size_t)from * (t->u8 ? 1 : sizeof(float)),
                   .u8 = t->u8, .pre = t->pre, .s = t->s, .c = t->c, .d = t->d, .y = y};
    el_ma_chunk(&j, 0, n);
}

void el_std_row(const el_std *t, int64_t b, int64_t y, float *out)
{
    const int64_t *xd = t->xdims, *pb = t->before;
    const int64_t ch = t->dims[3], row = t->dims[2] * ch, left = pb[2] * ch, w = xd[2] * ch;
    const int64_t ib = b - pb[0], iy = y - pb[1];
    if (ib < 0 || ib >= xd[0] || iy < 0 || iy >= xd[1]) {
        el_fill_f32(out, t->border, row);
        return;
    }
    const int64_t from = (ib * xd[1] + iy) * xd[2] * xd[3];
    el_fill_f32(out, t->border, left);
    if (ch == xd[3]) {
        el_std_run(t, from, w, out + left);
    } else {
        /* Padded along the depth: pixel by pixel. */
        for (int64_t px = 0; px < xd[2]; px++) {
            float *o = out + left + px * ch;
            el_fill_f32(o, t->border, pb[3]);
            el_std_run(t, from + px * xd[3], xd[3], o + pb[3]);
            el_fill_f32(o + pb[3] + xd[3], t->border, ch - pb[3] - xd[3]);
        }
    }
    el_fill_f32(out + left + xd[2] * ch, t->border, row - left - xd[2] * ch);
}

typedef struct el_std_job {
    const el_std *t;
    float *out;
} el_std_job;

static void el_std_rows(void *ctx, int64_t r0, int64_t r1)
{
    const el_std_job *j = ctx;
    const el_std *t = j->t;
    const int64_t row = t->dims[2] * t->dims[3];
    for (int64_t r = r0; r < r1; r++) el_std_row(t, r / t->dims[1], r % t->dims[1], j->out + r * row);
}

void el_std_map(const el_std *t, float *out)
{
    el_std_job j = {.t = t, .out = out};
    const int64_t row = t->dims[2] * t->dims[3];
    el_parallel_for(el_threadpool_current(), t->dims[0] * t->dims[1], row >= 16384 ? 1 : 16384 / (row > 0 ? row : 1),
                    el_std_rows, &j);
}

const el_op el_ops_mul_add[] = {
    {"_ElMulAdd", el_k_ElMulAdd, NULL, EL_OP_PARALLEL},
    {NULL, NULL, NULL, 0},
};
