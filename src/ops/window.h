/* Sliding-window geometry shared by the convolution and pooling kernels:
 * TensorFlow's `padding`, `strides`, `dilations`, `explicit_paddings` and
 * `data_format` attrs, and its output-size rule (GetWindowedOutputSize in
 * tensorflow/core/framework/kernel_shape_util.cc). */
#ifndef EL_OPS_WINDOW_H
#define EL_OPS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ops/kernel.h"

typedef enum el_padding { EL_PAD_VALID, EL_PAD_SAME, EL_PAD_EXPLICIT } el_padding;

/* One spatial axis of a window: kernel size, stride, dilation and, for
 * EXPLICIT padding, the given pads (overwritten for SAME/VALID). */
typedef struct el_window_axis {
    int64_t in, k, stride, dilation;
    int64_t pad_before, pad_after;
    int64_t out;
} el_window_axis;

/* TF's rule: VALID out = (in - eff + stride) / stride (C division, like
 * TF's int64 arithmetic); SAME out = ceil(in / stride) with the total
 * padding split so the smaller half comes first; EXPLICIT uses the given
 * pads. eff = (k - 1) * dilation + 1. A negative result is an error. */
static inline el_status el_window_axis_size(const el_kctx *ctx, const char *axis, el_padding pad, el_window_axis *a)
{
    if (a->stride <= 0) return el_kerr(ctx, EL_ERR_FORMAT, "%s stride must be > 0, found %lld", axis, (long long)a->stride);
    if (a->dilation < 1)
        return el_kerr(ctx, EL_ERR_FORMAT, "%s dilation must be >= 1, found %lld", axis, (long long)a->dilation);
    if (a->k < 0 || a->k > (int64_t)1 << 30 || a->dilation > (int64_t)1 << 30 || a->stride > (int64_t)1 << 30)
        return el_kerr(ctx, EL_ERR_LIMIT, "%s window %lld (dilation %lld, stride %lld) out of range", axis,
                       (long long)a->k, (long long)a->dilation, (long long)a->stride);
    int64_t eff = (a->k - 1) * a->dilation + 1;
    switch (pad) {
    case EL_PAD_VALID:
        a->out = (a->in - eff + a->stride) / a->stride;
        a->pad_before = a->pad_after = 0;
        break;
    case EL_PAD_EXPLICIT:
        if (a->pad_before < 0 || a->pad_after < 0 || a->pad_before > (int64_t)1 << 30 || a->pad_after > (int64_t)1 << 30)
            return el_kerr(ctx, EL_ERR_FORMAT, "%s explicit padding (%lld, %lld) out of range", axis,
                           (long long)a->pad_before, (long long)a->pad_after);
        a->out = (a->in + a->pad_before + a->pad_after - eff + a->stride) / a->stride;
        break;
    case EL_PAD_SAME: {
        a->out = (a->in + a->stride - 1) / a->stride;
        int64_t need = (a->out - 1) * a->stride + eff - a->in;
        if (need < 0) need = 0;
        a->pad_before = need / 2;
        a->pad_after = need - a->pad_before;
        break;
    }
    }
    if (a->out < 0)
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "computed %s output size would be negative: input %lld, window %lld (effective %lld), stride %lld",
                       axis, (long long)a->in, (long long)a->k, (long long)eff, (long long)a->stride);
    return EL_OK;
}

/* The `padding` attr (required: TF op definitions give it no default).
 * `allow_explicit` is false for ops whose definition lacks EXPLICIT. */
static inline el_status el_window_padding(const el_kctx *ctx, bool allow_explicit, el_padding *out)
{
    el_string s;
    EL_TRY(el_attr_str(ctx->node, "padding", NULL, &s));
    if (!s.data) return el_kerr(ctx, EL_ERR_FORMAT, "missing attr 'padding'");
    if (s.len == 4 && memcmp(s.data, "SAME", 4) == 0) *out = EL_PAD_SAME;
    else if (s.len == 5 && memcmp(s.data, "VALID", 5) == 0) *out = EL_PAD_VALID;
    else if (allow_explicit && s.len == 8 && memcmp(s.data, "EXPLICIT", 8) == 0) *out = EL_PAD_EXPLICIT;
    else
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "padding '%.*s' is not supported (expected SAME, VALID%s)",
                       (int)(s.len > 64 ? 64 : s.len), s.data, allow_explicit ? " or EXPLICIT" : "");
    return EL_OK;
}

/* `data_format`: only channels-last is implemented. Old exports omit the
 * attr; TF's default is NHWC. */
static inline el_status el_window_nhwc(const el_kctx *ctx)
{
    el_string s;
    EL_TRY(el_attr_str(ctx->node, "data_format", "NHWC", &s));
    if (s.len == 4 && memcmp(s.data, "NHWC", 4) == 0) return EL_OK;
    return el_kerr(ctx, EL_ERR_UNSUPPORTED, "data_format '%.*s' is not supported (only NHWC)",
                   (int)(s.len > 64 ? 64 : s.len), s.data);
}

/* A 4-element list(int) attr in NHWC order whose N and C entries must be 1
 * (TF: "does not yet support strides in the batch and depth dimensions").
 * Absent: `def` for H and W when def > 0, else an error. */
static inline el_status el_window_hw(const el_kctx *ctx, const char *name, int64_t def, int64_t *h, int64_t *w)
{
    const int64_t *v;
    int n;
    EL_TRY(el_attr_ints(ctx->node, name, &v, &n));
    if (n == 0 && def > 0) {
        *h = *w = def;
        return EL_OK;
    }
    if (n != 4) return el_kerr(ctx, EL_ERR_FORMAT, "attr '%s' should have 4 values, found %d", name, n);
    if (v[0] != 1 || v[3] != 1)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr '%s' = [%lld,%lld,%lld,%lld]: batch and depth entries must be 1",
                       name, (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
    *h = v[1];
    *w = v[2];
    return EL_OK;
}

/* `explicit_paddings` for NHWC: 8 values, (before, after) per dimension;
 * the batch and depth pairs must be 0. */
static inline el_status el_window_explicit(const el_kctx *ctx, el_window_axis *h, el_window_axis *w)
{
    const int64_t *v;
    int n;
    EL_TRY(el_attr_ints(ctx->node, "explicit_paddings", &v, &n));
    if (n != 8)
        return el_kerr(ctx, EL_ERR_FORMAT, "padding EXPLICIT needs 8 explicit_paddings, found %d", n);
    if (v[0] || v[1] || v[6] || v[7])
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "explicit_paddings in the batch and depth dimensions must be 0");
    h->pad_before = v[2];
    h->pad_after = v[3];
    w->pad_before = v[4];
    w->pad_after = v[5];
    return EL_OK;
}

#endif
