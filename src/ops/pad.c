/* Op family 'pad': Pad, PadV2, MirrorPad (TensorFlow's pad_op.cc and
 * mirror_pad_op.cc).
 *
 * paddings is an int32/int64 [rank, 2] matrix: row d gives the sizes added
 * before and after dimension d. Pad fills with zeros (an empty string for
 * string tensors), PadV2 with its scalar constant_values; MirrorPad copies
 * the edge rows of the input mirrored, REFLECT without the edge itself
 * (paddings < size), SYMMETRIC with it (paddings <= size). The ops move
 * elements by size, so every plain dtype works. */
#include <stdlib.h>
#include <string.h>

#include "ops/array_util.h"
#include "ops/broadcast.h"
#include "ops/kernel.h"

/* Reads paddings (input 1) for an input of rank `rank` into before/after and
 * computes the output shape. */
static el_status el_pad_args(el_kctx *ctx, const el_tensor *x, int64_t *before, int64_t *after, int64_t *odims)
{
    const el_tensor *p = &ctx->inputs[1];
    char s[160];
    if (p->ndim != 2 || p->dims[0] != x->ndim || p->dims[1] != 2)
        return el_kerr(ctx, EL_ERR_RUNTIME, "paddings must be a matrix with 2 columns and %d rows (the input's rank): %s",
                       x->ndim, el_array_shape_str(p, s, sizeof s));
    for (int d = 0; d < x->ndim; d++) {
        EL_TRY(el_kctx_index_value(ctx, 1, 2 * d, &before[d]));
        EL_TRY(el_kctx_index_value(ctx, 1, 2 * d + 1, &after[d]));
        if (before[d] < 0 || after[d] < 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Paddings must be non-negative: %lld %lld", (long long)before[d],
                           (long long)after[d]);
        if (before[d] > INT64_MAX - after[d] || x->dims[d] > INT64_MAX - before[d] - after[d])
            return el_kerr(ctx, EL_ERR_LIMIT, "padded dimension %d overflows", d);
        odims[d] = x->dims[d] + before[d] + after[d];
    }
    return EL_OK;
}

/* Pad (value = zeros) and PadV2 (value = input 2, a scalar of x's dtype). */
static el_status el_pad_constant(el_kctx *ctx, bool v2)
{
    EL_TRY(el_kctx_need_inputs(ctx, v2 ? 3 : 2));
    const el_tensor *x = &ctx->inputs[0];
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    int64_t before[EL_MAX_DIMS], after[EL_MAX_DIMS], odims[EL_MAX_DIMS];
    EL_TRY(el_pad_args(ctx, x, before, after, odims));
    if (v2) {
        const el_tensor *c = &ctx->inputs[2];
        if (el_tensor_numel(c) != 1 || c->ndim != 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "constant_values must be a scalar. Shape of constant_values was rank %d",
                           c->ndim);
        if (c->dtype != x->dtype)
            return el_kerr(ctx, EL_ERR_RUNTIME, "constant_values is %s, the input %s", el_dtype_name(c->dtype),
                           el_dtype_name(x->dtype));
    }
    el_tensor *y;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, odims, &y));
    int64_t n = el_tensor_numel(y);
    if (v2) el_fill_elems(y->data, ctx->inputs[2].data, es, n);
    else memset(y->data, 0, (size_t)n * es); /* zero bits: 0, 0.0, false, and the empty el_string */
    int64_t ys[EL_MAX_DIMS], xs[EL_MAX_DIMS], off = 0;
    el_strides_of(x->ndim, odims, ys);
    el_strides_of(x->ndim, x->dims, xs);
    for (int d = 0; d < x->ndim; d++) off += before[d] * ys[d];
    el_copy_strided(y->data, off, ys, x->data, 0, xs, es, x->ndim, x->dims);
    return EL_OK;
}

static el_status el_op_pad(el_kctx *ctx) { return el_pad_constant(ctx, false); }
static el_status el_op_pad_v2(el_kctx *ctx) { return el_pad_constant(ctx, true); }

/* Source index along one dimension of size n for output index i (before
 * the start: i < 0 after subtracting `before`). REFLECT mirrors around the
 * edge element, SYMMETRIC around the edge itself. */
static int64_t el_mirror_index(int64_t i, int64_t n, bool symmetric)
{
    if (i < 0) return symmetric ? -i - 1 : -i;
    if (i >= n) return symmetric ? 2 * n - i - 1 : 2 * n - i - 2;
    return i;
}

static el_status el_op_mirror_pad(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *x = &ctx->inputs[0];
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    bool symmetric = false, reflect = false;
    EL_TRY(el_attr_str_eq(ctx->node, "mode", NULL, "SYMMETRIC", &symmetric));
    EL_TRY(el_attr_str_eq(ctx->node, "mode", NULL, "REFLECT", &reflect));
    if (!symmetric && !reflect) return el_kerr(ctx, EL_ERR_UNSUPPORTED, "mode must be REFLECT or SYMMETRIC");
    int64_t before[EL_MAX_DIMS], after[EL_MAX_DIMS], odims[EL_MAX_DIMS];
    EL_TRY(el_pad_args(ctx, x, before, after, odims));
    int64_t off = symmetric ? 0 : 1;
    for (int d = 0; d < x->ndim; d++)
        if (before[d] > x->dims[d] - off || after[d] > x->dims[d] - off)
            return el_kerr(ctx, EL_ERR_RUNTIME, "paddings must be no greater than the dimension size: %lld, %lld greater than %lld",
                           (long long)before[d], (long long)after[d], (long long)(x->dims[d] - off));
    el_tensor *y;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, odims, &y));
    int64_t n = el_tensor_numel(y);
    if (n == 0) return EL_OK;
    int64_t xs[EL_MAX_DIMS], idx[EL_MAX_DIMS] = {0};
    el_strides_of(x->ndim, x->dims, xs);
    /* Innermost rows: the interior is one memcpy, the edges element by element. */
    int r = x->ndim;
    int64_t row = r ? odims[r - 1] : 1;
    for (int64_t base = 0; base < n; base += row) {
        int64_t src = 0;
        for (int d = 0; d + 1 < r; d++) src += el_mirror_index(idx[d] - before[d], x->dims[d], symmetric) * xs[d];
        char *dst = (char *)y->data + (size_t)base * es;
        const char *s = (const char *)x->data + (size_t)src * es;
        if (r == 0) {
            memcpy(dst, s, es);
            break;
        }
        int64_t in = x->dims[r - 1], b = before[r - 1];
        for (int64_t i = 0; i < row; i++) {
            int64_t j = i - b;
            if (j >= 0 && j < in) {
                memcpy(dst + (size_t)i * es, s + (size_t)j * es, (size_t)in * es);
                i += in - 1;
                continue;
            }
            memcpy(dst + (size_t)i * es, s + (size_t)el_mirror_index(j, in, symmetric) * es, es);
        }
        for (int d = r - 2; d >= 0; d--) {
            if (++idx[d] < odims[d]) break;
            idx[d] = 0;
        }
    }
    return EL_OK;
}

const el_op el_ops_pad[] = {
    {"Pad", el_op_pad, NULL, 0},
    {"PadV2", el_op_pad_v2, NULL, 0},
    {"MirrorPad", el_op_mirror_pad, NULL, 0},
    {NULL, NULL, NULL, 0},
};
