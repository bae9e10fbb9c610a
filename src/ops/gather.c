/* Op family 'gather': Gather (TF1), GatherV2, Where. Checks and messages
 * follow TensorFlow's gather_op.cc (CPU: an out-of-range index is an error,
 * never a zero fill) and where_op.cc. */
#include <string.h>

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

/* Index k of an int32/int64 tensor (dtype checked by the caller). */
static int64_t el_index_at(const el_tensor *t, int64_t k)
{
    return t->dtype == EL_DT_INT32 ? ((const int32_t *)t->data)[k] : ((const int64_t *)t->data)[k];
}

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
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, params->dtype, nd, dims, &out));
    const int64_t batch = el_dims_prod(params->dims, 0, bd), outer = el_dims_prod(params->dims, bd, ax);
    const int64_t gdim = params->dims[ax], inner = el_dims_prod(params->dims, ax + 1, pr);
    const int64_t n = el_tensor_numel(indices);
    /* TF returns before looking at the indices when the output is empty, so
     * a bad index into nothing is no error. */
    if (n == 0 || inner == 0 || outer == 0) return EL_OK;
    const int64_t per_batch = n / batch;
    for (int64_t k = 0; k < n; k++) {
        const int64_t v = el_index_at(indices, k);
        if (v < 0 || v >= gdim) {
            char s[160];
            return el_kerr(ctx, EL_ERR_RUNTIME, "indices%s = %lld is not in [0, %lld)",
                           el_index_str(ir, indices->dims, k, s, sizeof s), (long long)v, (long long)gdim);
        }
    }
    const size_t block = (size_t)inner * es;
    const char *src = params->data;
    char *dst = out->data;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < per_batch; j++) {
                const int64_t v = el_index_at(indices, b * per_batch + j);
                const int64_t s_off = ((b * outer + o) * gdim + v) * inner;
                const int64_t d_off = ((b * outer + o) * per_batch + j) * inner;
                memcpy(dst + d_off * (int64_t)es, src + s_off * (int64_t)es, block);
            }
    return EL_OK;
}

/* True when element i is not zero (NaN counts as nonzero, -0.0 as zero, as
 * TF's `value != T(0)`). */
static bool el_nonzero(const el_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case EL_DT_BOOL:
    case EL_DT_UINT8: return ((const uint8_t *)t->data)[i] != 0;
    case EL_DT_INT8: return ((const int8_t *)t->data)[i] != 0;
    case EL_DT_INT16: return ((const int16_t *)t->data)[i] != 0;
    case EL_DT_HALF: return (((const uint16_t *)t->data)[i] & 0x7fff) != 0;
    case EL_DT_INT32: return ((const int32_t *)t->data)[i] != 0;
    case EL_DT_INT64: return ((const int64_t *)t->data)[i] != 0;
    case EL_DT_FLOAT: return ((const float *)t->data)[i] != 0;
    case EL_DT_DOUBLE: return ((const double *)t->data)[i] != 0;
    default: return false;
    }
}

/* Where(condition): int64 [num_true, rank], coordinates in row-major order. */
static el_status el_where(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in = &ctx->inputs[0];
    switch (in->dtype) {
    case EL_DT_BOOL: case EL_DT_UINT8: case EL_DT_INT8: case EL_DT_INT16: case EL_DT_HALF:
    case EL_DT_INT32: case EL_DT_INT64: case EL_DT_FLOAT: case EL_DT_DOUBLE: break;
    default:
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "condition of dtype %s not supported (bool or numeric)",
                       el_dtype_name(in->dtype));
    }
    if (ctx->ninputs > 1)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "Where with %d inputs (the 3-input form is the Select op)",
                       ctx->ninputs);
    const int64_t numel = el_tensor_numel(in);
    int64_t count = 0;
    for (int64_t i = 0; i < numel; i++) count += el_nonzero(in, i);
    const int64_t dims[2] = {count, in->ndim};
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_INT64, 2, dims, &out));
    int64_t *o = out->data, idx[EL_MAX_DIMS] = {0};
    for (int64_t i = 0; i < numel; i++) {
        if (el_nonzero(in, i)) {
            memcpy(o, idx, sizeof(int64_t) * (size_t)in->ndim);
            o += in->ndim;
        }
        for (int k = in->ndim - 1; k >= 0; k--) {
            if (++idx[k] < in->dims[k]) break;
            idx[k] = 0;
        }
    }
    return EL_OK;
}

const el_op el_ops_gather[] = {
    {"Gather", el_gather, NULL},
    {"GatherV2", el_gather, NULL},
    {"Where", el_where, NULL},
    {NULL, NULL, NULL},
};
