/* Op family 'gather': Gather (TF1), GatherV2, Where. Checks and messages
 * follow TensorFlow's gather_op.cc (CPU: an out-of-range index is an error,
 * never a zero fill) and where_op.cc. */
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/array_util.h"
#include "ops/kernel.h"

/* "[i,j]" position of flat element `flat` in a tensor of shape (ndim, dims),
 * "" for a scalar (TF's SliceDebugString). */
static const char *el_index_str(int ndim, const int64_t *dims, int64_t flat, char *buf, size_t cap)
{
    int64_t idx[EL_MAX_DIMS];
    for (int i = ndim - 1; i >= 0; i--) {
        idx[i] = dims[i] ? flat % dims[i] : 0;
        flat = dims[i] ? flat / dims[i] : 0;
    }
    if (ndim == 0) {
        buf[0] = '\0';
        return buf;
    }
    return el_shape_str(ndim, idx, buf, cap);
}

/* Position of the first index outside [0, gdim), or -1. Scans in blocks
 * without branches (one unsigned compare catches negatives too) and looks
 * for the culprit only when a block has one. */
#define EL_GATHER_CHECK(NAME, IT, UT)                                               \
    static int64_t NAME(const IT *ix, int64_t n, UT lim)                            \
    {                                                                               \
        for (int64_t k0 = 0; k0 < n; k0 += 256) {                                   \
            const int64_t end = n - k0 < 256 ? n : k0 + 256;                        \
            int bad = 0;                                                            \
            for (int64_t k = k0; k < end; k++) bad |= (UT)ix[k] >= lim;             \
            if (bad)                                                                \
                for (int64_t k = k0; k < end; k++)                                  \
                    if ((UT)ix[k] >= lim) return k;                                 \
        }                                                                           \
        return -1;                                                                  \
    }
EL_GATHER_CHECK(el_gather_check_i32, int32_t, uint32_t)
EL_GATHER_CHECK(el_gather_check_i64, int64_t, uint64_t)

/* Whether ix is 0, 1, ..., n-1 (blocks without branches, as above). */
#define EL_GATHER_IOTA(NAME, IT)                                                    \
    static bool NAME(const IT *ix, int64_t n)                                       \
    {                                                                               \
        for (int64_t k0 = 0; k0 < n; k0 += 256) {                                   \
            const int64_t end = n - k0 < 256 ? n : k0 + 256;                        \
            int bad = 0;                                                            \
            for (int64_t k = k0; k < end; k++) bad |= ix[k] != (IT)k;               \
            if (bad) return false;                                                  \
        }                                                                           \
        return true;                                                                \
    }
EL_GATHER_IOTA(el_gather_iota_i32, int32_t)
EL_GATHER_IOTA(el_gather_iota_i64, int64_t)

/* Four slices of B bytes per step: the loads of the next index do not
 * wait for the previous copy. */
#define EL_GATHER_UNROLLED(B)                                                                      \
    do {                                                                                           \
        int64_t j = 0;                                                                             \
        for (; j + 4 <= n; j += 4) {                                                               \
            const int64_t a = ix[j], b = ix[j + 1], c = ix[j + 2], d = ix[j + 3];                  \
            memcpy(dst + (B) * j, src + (B) * a, (B));                                             \
            memcpy(dst + (B) * (j + 1), src + (B) * b, (B));                                       \
            memcpy(dst + (B) * (j + 2), src + (B) * c, (B));                                       \
            memcpy(dst + (B) * (j + 3), src + (B) * d, (B));                                       \
        }                                                                                          \
        for (; j < n; j++) memcpy(dst + (B) * j, src + (B) * (int64_t)ix[j], (B));                \
    } while (0)

/* dst[j] = src[ix[j]] for n slices of `block` bytes. The usual slice sizes
 * (a float, a box of four) get fixed-size copies the compiler turns into
 * single moves. */
#define EL_GATHER_SLICES(NAME, IT)                                                                         \
    static void NAME(char *dst, const char *src, const IT *ix, int64_t n, size_t block)                   \
    {                                                                                                      \
        switch (block) {                                                                                   \
        case 1: for (int64_t j = 0; j < n; j++) dst[j] = src[ix[j]]; break;                               \
        case 2: for (int64_t j = 0; j < n; j++) memcpy(dst + 2 * j, src + 2 * (int64_t)ix[j], 2); break;   \
        case 4: EL_GATHER_UNROLLED(4); break;                                                              \
        case 8: for (int64_t j = 0; j < n; j++) memcpy(dst + 8 * j, src + 8 * (int64_t)ix[j], 8); break;   \
        case 16: EL_GATHER_UNROLLED(16); break;                                                            \
        default:                                                                                           \
            for (int64_t j = 0; j < n; j++) memcpy(dst + (int64_t)block * j, src + (int64_t)block * ix[j], block); \
            break;                                                                                         \
        }                                                                                                  \
    }
EL_GATHER_SLICES(el_gather_slices_i32, int32_t)
EL_GATHER_SLICES(el_gather_slices_i64, int64_t)

/* Gather and GatherV2. The output is params.shape[:axis] +
 * indices.shape[batch_dims:] + params.shape[axis+1:]; params are viewed as
 * [batch, outer, gather_dim, inner] and indices as [batch, n_per_batch]. */
static el_status el_gather(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *params = &ctx->inputs[0], *indices = &ctx->inputs[1];
    if (params->ndim < 1) return el_kerr(ctx, EL_ERR_RUNTIME, "params must be at least 1 dimensional");
    if (indices->dtype != EL_DT_INT32 && indices->dtype != EL_DT_INT64)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "indices should be int32 or int64, found %s",
                       el_dtype_name(indices->dtype));
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    /* Gather (TF1) has no axis input: axis 0. */
    int64_t axis = 0;
    bool axis_set = ctx->ninputs >= 3;
    if (axis_set) {
        if (ctx->inputs[2].ndim != 0) return el_kerr(ctx, EL_ERR_RUNTIME, "axis must be scalar");
        if (ctx->inputs[2].dtype != EL_DT_INT32 && ctx->inputs[2].dtype != EL_DT_INT64)
            return el_kerr(ctx, EL_ERR_RUNTIME, "axis must be int32 or int64.");
        EL_TRY(el_kctx_index_value(ctx, 2, 0, &axis));
    }
    const int pr = params->ndim, ir = indices->ndim;
    const int64_t min_rank = axis < 0 ? -axis : axis + 1;
    if (pr < min_rank)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Shape must be at least rank %lld but is rank %d", (long long)min_rank, pr);
    if (axis < 0) axis += pr;
    /* Old exports (GatherV2 before batch_dims existed) omit the attr. */
    int64_t batch_dims = 0;
    EL_TRY(el_attr_int(ctx->node, "batch_dims", 0, &batch_dims));
    if (batch_dims != 0) {
        if (batch_dims < -ir || batch_dims > ir)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected batch_dims in the range [%d, %d], but got %lld", -ir, ir,
                           (long long)batch_dims);
        if (batch_dims < 0) batch_dims += ir;
        if (!axis_set) axis = batch_dims;
        if (batch_dims >= pr)
            return el_kerr(ctx, EL_ERR_RUNTIME, "batch_dims (%lld) must be less than rank(params) (%d).",
                           (long long)batch_dims, pr);
        if (axis < batch_dims)
            return el_kerr(ctx, EL_ERR_RUNTIME, "batch_dims (%lld) must be less than or equal to axis (%lld).",
                           (long long)batch_dims, (long long)axis);
        for (int i = 0; i < batch_dims; i++)
            if (params->dims[i] != indices->dims[i])
                return el_kerr(ctx, EL_ERR_RUNTIME, "params.shape[%d]: %lld should be equal to indices.shape[%d]: %lld",
                               i, (long long)params->dims[i], i, (long long)indices->dims[i]);
    }
    const int bd = (int)batch_dims, ax = (int)axis;
    int64_t dims[3 * EL_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < ax; i++) dims[nd++] = params->dims[i];
    for (int i = bd; i < ir; i++) dims[nd++] = indices->dims[i];
    for (int i = ax + 1; i < pr; i++) dims[nd++] = params->dims[i];
    if (nd > EL_MAX_DIMS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "result would have rank %d, at most %d supported", nd, EL_MAX_DIMS);
    /* Every slice in order (the OD API gathers each class's boxes and scores
     * with Where's indices: 0..n-1 when every score passes): the output is
     * params, shared (tensors are immutable), with params' shape. */
    if (bd == 0 && ir == 1 && indices->dims[0] > 0 && indices->dims[0] == params->dims[ax] &&
        el_dims_prod(params->dims, 0, ax) == 1 &&
        (indices->dtype == EL_DT_INT32 ? el_gather_iota_i32(indices->data, indices->dims[0])
                                       : el_gather_iota_i64(indices->data, indices->dims[0])))
        return el_kctx_forward(ctx, 0, 0, nd, dims);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, params->dtype, nd, dims, &out));
    const int64_t batch = el_dims_prod(params->dims, 0, bd), outer = el_dims_prod(params->dims, bd, ax);
    const int64_t gdim = params->dims[ax], inner = el_dims_prod(params->dims, ax + 1, pr);
    const int64_t n = el_tensor_numel(indices);
    /* TF returns before looking at the indices when the output is empty, so
     * a bad index into nothing is no error. */
    if (n == 0 || inner == 0 || outer == 0) return EL_OK;
    const int64_t per_batch = n / batch;
    const bool i32 = indices->dtype == EL_DT_INT32;
    /* An int32 index is below any gdim past INT32_MAX: only its sign can be wrong. */
    const int64_t bad = i32 ? el_gather_check_i32(indices->data, n, gdim > INT32_MAX ? 0x80000000u : (uint32_t)gdim)
                            : el_gather_check_i64(indices->data, n, (uint64_t)gdim);
    if (bad >= 0) {
        char s[160];
        const int64_t v = i32 ? ((const int32_t *)indices->data)[bad] : ((const int64_t *)indices->data)[bad];
        return el_kerr(ctx, EL_ERR_RUNTIME, "indices%s = %lld is not in [0, %lld)",
                       el_index_str(ir, indices->dims, bad, s, sizeof s), (long long)v, (long long)gdim);
    }
    const size_t block = (size_t)inner * es;
    const char *src = params->data;
    char *dst = out->data;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t o = 0; o < outer; o++) {
            const char *s = src + (b * outer + o) * gdim * (int64_t)block;
            char *d = dst + (b * outer + o) * per_batch * (int64_t)block;
            if (i32) el_gather_slices_i32(d, s, (const int32_t *)indices->data + b * per_batch, per_batch, block);
            else el_gather_slices_i64(d, s, (const int64_t *)indices->data + b * per_batch, per_batch, block);
        }
    return EL_OK;
}

/* m[i] = element i is not zero (NaN counts as nonzero, -0.0 as zero, as
 * TF's `value != T(0)`; a half is zero when its bits other than the sign
 * are). Typed loops the compiler vectorizes. */
#define EL_WHERE_MASK(NAME, T, NZ)                                              \
    static void NAME(const void *in, int64_t n, uint8_t *m)                     \
    {                                                                           \
        const T *v = in;                                                        \
        for (int64_t i = 0; i < n; i++) m[i] = NZ;                              \
    }
EL_WHERE_MASK(el_where_mask_i16, int16_t, v[i] != 0)
EL_WHERE_MASK(el_where_mask_f16, uint16_t, (v[i] & 0x7fff) != 0)
EL_WHERE_MASK(el_where_mask_i32, int32_t, v[i] != 0)
EL_WHERE_MASK(el_where_mask_i64, int64_t, v[i] != 0)
EL_WHERE_MASK(el_where_mask_f32, float, v[i] != 0)
EL_WHERE_MASK(el_where_mask_f64, double, v[i] != 0)

/* Where(condition): int64 [num_true, rank], coordinates in row-major order.
 * The condition becomes a byte mask (bool, uint8 and int8 already are
 * one), counted, then scanned row by row of the last dimension. */
static el_status el_where(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in = &ctx->inputs[0];
    void (*to_mask)(const void *, int64_t, uint8_t *) = NULL;
    switch (in->dtype) {
    case EL_DT_BOOL: case EL_DT_UINT8: case EL_DT_INT8: break;
    case EL_DT_INT16: to_mask = el_where_mask_i16; break;
    case EL_DT_HALF: to_mask = el_where_mask_f16; break;
    case EL_DT_INT32: to_mask = el_where_mask_i32; break;
    case EL_DT_INT64: to_mask = el_where_mask_i64; break;
    case EL_DT_FLOAT: to_mask = el_where_mask_f32; break;
    case EL_DT_DOUBLE: to_mask = el_where_mask_f64; break;
    default:
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "condition of dtype %s not supported (bool or numeric)",
                       el_dtype_name(in->dtype));
    }
    if (ctx->ninputs > 1)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "Where with %d inputs (the 3-input form is the Select op)",
                       ctx->ninputs);
    const int64_t numel = el_tensor_numel(in);
    const uint8_t *m = in->data;
    uint8_t *owned = NULL;
    if (to_mask && numel > 0) {
        if (!(owned = el_mem_alloc((size_t)numel))) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
        to_mask(in->data, numel, owned);
        m = owned;
    }
    int64_t count = 0;
    for (int64_t i = 0; i < numel; i++) count += m[i] != 0;
    const int nd = in->ndim;
    const int64_t dims[2] = {count, nd};
    el_tensor *out;
    el_status st = el_kctx_output(ctx, 0, EL_DT_INT64, 2, dims, &out);
    if (st != EL_OK || count == 0 || nd == 0) { /* a true scalar has no coordinates: [1, 0] */
        el_mem_free(owned);
        return st;
    }
    int64_t *o = out->data;
    if (nd == 1 && count == numel) { /* all true (every score above threshold) */
        for (int64_t i = 0; i < numel; i++) o[i] = i;
        el_mem_free(owned);
        return EL_OK;
    }
    const int64_t last = in->dims[nd - 1], rows = numel / last;
    int64_t idx[EL_MAX_DIMS] = {0};
    /* Branch-free: every element writes its coordinates at the next slot
     * and only a true one advances; stops at the last true one, so no
     * write goes past the output. */
    int64_t k = 0;
    for (int64_t r = 0; r < rows && k < count; r++) {
        const uint8_t *mr = m + r * last;
        if (nd == 1) {
            /* Up to the last true element, no write can pass the end. */
            int64_t end = last;
            while (!mr[end - 1]) end--;
            for (int64_t c = 0; c < end; c++) {
                o[k] = c;
                k += mr[c] != 0;
            }
        } else {
            for (int64_t c = 0; c < last && k < count; c++) {
                int64_t *p = o + k * nd;
                for (int j = 0; j < nd - 1; j++) p[j] = idx[j];
                p[nd - 1] = c;
                k += mr[c] != 0;
            }
            for (int j = nd - 2; j >= 0; j--) {
                if (++idx[j] < in->dims[j]) break;
                idx[j] = 0;
            }
        }
    }
    el_mem_free(owned);
    return EL_OK;
}

const el_op el_ops_gather[] = {
    {"Gather", el_gather, NULL, 0},
    {"GatherV2", el_gather, NULL, 0},
    {"Where", el_where, NULL, 0},
    {NULL, NULL, NULL, 0},
};
