/* Op family 'shape': ops that only look at or rename a shape (Reshape,
 * ExpandDims, Squeeze share the input buffer), report it (Shape, ShapeN,
 * Size, Rank), or make an index sequence (Range). Error texts follow
 * TensorFlow's kernels (reshape_op.h, shape_ops.h, sequence_ops.cc) so a
 * message reads the same as TF's would. */
#include <math.h>
#include <stdint.h>

#include "ops/array_util.h"
#include "ops/kernel.h"

/* Longest shape vector accepted before the rank check, so that an over-rank
 * Reshape is reported as such rather than as a bad vector. */
#define EL_SHAPE_VEC_CAP 64

/* ---- Reshape ---- */

static el_status el_reshape(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *in = &ctx->inputs[0], *sizes = &ctx->inputs[1];
    char s[160];
    /* TF still accepts a scalar as a one-element shape (legacy). */
    if (sizes->ndim > 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "sizes input must be 1-D, not %s", el_array_shape_str(sizes, s, sizeof s));
    int64_t v[EL_SHAPE_VEC_CAP];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, 1, v, EL_SHAPE_VEC_CAP, &n));
    int64_t dims[EL_MAX_DIMS];
    int unknown = -1;
    bool has_zero = false;
    int64_t product = 1;
    for (int d = 0; d < n; d++) {
        if (v[d] == -1) {
            if (unknown != -1)
                return el_kerr(ctx, EL_ERR_RUNTIME, "Only one input size may be -1, not both %d and %d", unknown, d);
            unknown = d;
        } else if (v[d] < 0) {
            return el_kerr(ctx, EL_ERR_RUNTIME, "Size %d must be non-negative, not %lld", d, (long long)v[d]);
        } else if (v[d] == 0) {
            /* Zeros stay out of the product so a -1 can still be inferred
             * (TF: reshape of [0,6] to [0,-1] gives [0,6]). */
            has_zero = true;
        } else if (!el_array_mul(product, v[d], &product)) {
            return el_kerr(ctx, EL_ERR_RUNTIME, "Reshape's requested shape overflows int64");
        }
    }
    if (n > EL_MAX_DIMS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "requested shape has rank %d, at most %d supported", n, EL_MAX_DIMS);
    for (int d = 0; d < n; d++) dims[d] = v[d];
    int64_t numel = el_tensor_numel(in);
    if (unknown != -1) {
        /* TF counts the input's zero dims only when the requested shape has
         * none, so that [0,6] -> [0,-1] infers 6 rather than 0. */
        int64_t in_elems = 1;
        bool in_has_zero = false;
        for (int d = 0; d < in->ndim; d++) {
            if (in->dims[d] > 0 || !has_zero) {
                /* An empty input may have huge other dims. */
                if (!el_array_mul(in_elems, in->dims[d], &in_elems))
                    return el_kerr(ctx, EL_ERR_RUNTIME, "Reshape's input dims overflow int64");
            } else {
                in_has_zero = true;
            }
        }
        int64_t missing = in_elems / product;
        if (!in_has_zero && product * missing != in_elems)
            return el_kerr(ctx, EL_ERR_RUNTIME,
                           "Input to reshape is a tensor with %lld values, but the requested shape requires a "
                           "multiple of %lld",
                           (long long)in_elems, (long long)product);
        dims[unknown] = missing;
    }
    int64_t want = 1;
    for (int d = 0; d < n; d++) want *= dims[d];
    if (want != numel)
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Input to reshape is a tensor with %lld values, but the requested shape has %lld",
                       (long long)numel, (long long)want);
    return el_kctx_forward(ctx, 0, 0, n, dims);
}

/* ---- ExpandDims ---- */

static el_status el_expand_dims(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *in = &ctx->inputs[0];
    if (el_tensor_numel(&ctx->inputs[1]) != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "'dim' must be a tensor with a single value");
    int64_t dim;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &dim));
    /* numpy's rule: -rank-1 <= dim <= rank, negative counted from the end. */
    if (dim < -1 - in->ndim || dim > in->ndim)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Tried to expand dim index %lld for tensor with %d dimensions.",
                       (long long)dim, in->ndim);
    if (dim < 0) dim += in->ndim + 1;
    if (in->ndim + 1 > EL_MAX_DIMS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "result would have rank %d, at most %d supported", in->ndim + 1,
                       EL_MAX_DIMS);
    int64_t dims[EL_MAX_DIMS];
    for (int i = 0, j = 0; i <= in->ndim; i++) dims[i] = i == dim ? 1 : in->dims[j++];
    return el_kctx_forward(ctx, 0, 0, in->ndim + 1, dims);
}

/* ---- Squeeze ---- */

static el_status el_squeeze(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in = &ctx->inputs[0];
    const int64_t *sq;
    int nsq;
    /* GraphDefs name the attr squeeze_dims; "axis" is the Python keyword,
     * accepted for hand-built graphs. */
    EL_TRY(el_attr_ints(ctx->node, "squeeze_dims", &sq, &nsq));
    if (!el_node_attr(ctx->node, "squeeze_dims")) EL_TRY(el_attr_ints(ctx->node, "axis", &sq, &nsq));
    bool listed[EL_MAX_DIMS] = {false};
    for (int k = 0; k < nsq; k++) {
        int64_t d = sq[k];
        if (d < -in->ndim || d >= in->ndim)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Tried to squeeze dim index %lld for tensor with %d dimensions.",
                           (long long)d, in->ndim);
        listed[d < 0 ? d + in->ndim : d] = true;
    }
    int64_t dims[EL_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < in->ndim; i++) {
        if (nsq > 0) {
            if (!listed[i]) dims[n++] = in->dims[i];
            else if (in->dims[i] != 1)
                return el_kerr(ctx, EL_ERR_RUNTIME, "Can not squeeze dim[%d], expected a dimension of 1, got %lld", i,
                               (long long)in->dims[i]);
        } else if (in->dims[i] != 1) {
            dims[n++] = in->dims[i];
        }
    }
    return el_kctx_forward(ctx, 0, 0, n, dims);
}

/* ---- Shape, ShapeN, Size, Rank ---- */

static el_status el_out_type(const el_kctx *ctx, el_dtype *dt)
{
    EL_TRY(el_attr_dtype(ctx->node, "out_type", EL_DT_INT32, dt));
    if (*dt != EL_DT_INT32 && *dt != EL_DT_INT64)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "out_type should be int32 or int64, found %s", el_dtype_name(*dt));
    return EL_OK;
}

static el_status el_shape_into(el_kctx *ctx, int out_idx, const el_tensor *in, el_dtype dt)
{
    el_tensor *out;
    int64_t rank = in->ndim;
    EL_TRY(el_kctx_output(ctx, out_idx, dt, 1, &rank, &out));
    for (int i = 0; i < in->ndim; i++) {
        if (dt == EL_DT_INT32) {
            if (in->dims[i] > INT32_MAX)
                return el_kerr(ctx, EL_ERR_RUNTIME, "Shape output type is 32-bit but dim %d is %lld", i,
                               (long long)in->dims[i]);
            ((int32_t *)out->data)[i] = (int32_t)in->dims[i];
        } else {
            ((int64_t *)out->data)[i] = in->dims[i];
        }
    }
    return EL_OK;
}

static el_status el_shape_op(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    el_dtype dt;
    EL_TRY(el_out_type(ctx, &dt));
    return el_shape_into(ctx, 0, &ctx->inputs[0], dt);
}

static el_status el_shape_n(el_kctx *ctx)
{
    el_dtype dt;
    EL_TRY(el_out_type(ctx, &dt));
    if (ctx->noutputs != ctx->ninputs)
        return el_kerr(ctx, EL_ERR_FORMAT, "expected as many outputs as inputs, found %d inputs and %d outputs",
                       ctx->ninputs, ctx->noutputs);
    for (int i = 0; i < ctx->ninputs; i++) EL_TRY(el_shape_into(ctx, i, &ctx->inputs[i], dt));
    return EL_OK;
}

static int el_shape_n_count(const el_node *n)
{
    return el_array_count_attr(n, "N", n->ndata, 1);
}

static el_status el_size(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    el_dtype dt;
    EL_TRY(el_out_type(ctx, &dt));
    int64_t numel = el_tensor_numel(&ctx->inputs[0]);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, dt, 0, NULL, &out));
    if (dt == EL_DT_INT32) {
        if (numel > INT32_MAX)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Number of elements was larger than representable by 32-bit output type");
        *(int32_t *)out->data = (int32_t)numel;
    } else {
        *(int64_t *)out->data = numel;
    }
    return EL_OK;
}

static el_status el_rank(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_INT32, 0, NULL, &out));
    *(int32_t *)out->data = ctx->inputs[0].ndim;
    return EL_OK;
}

/* ---- Range ---- */

static el_status el_range_check_scalar(const el_kctx *ctx, int i, const char *what, el_dtype dt)
{
    const el_tensor *t = &ctx->inputs[i];
    /* TF tolerates a one-element vector as a scalar (legacy). */
    if (!(t->ndim == 0 || (t->ndim == 1 && t->dims[0] == 1))) {
        char s[160];
        return el_kerr(ctx, EL_ERR_RUNTIME, "%s must be a scalar, not shape %s", what,
                       el_array_shape_str(t, s, sizeof s));
    }
    if (t->dtype != dt)
        return el_kerr(ctx, EL_ERR_RUNTIME, "%s is %s, expected %s like start", what, el_dtype_name(t->dtype),
                       el_dtype_name(dt));
    return EL_OK;
}

static el_status el_range_alloc(el_kctx *ctx, el_dtype dt, int64_t size, void **data)
{
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, dt, 1, &size, &out));
    *data = out->data;
    return EL_OK;
}

/* Floating Range, T float or double: TF sizes it as ceil(|(limit-start)/delta|)
 * computed in T, and fills by repeated addition (val += delta), not
 * start + i*delta; both matter for bit-exact output. */
#define EL_RANGE_FLOAT(T, FMT_CAST)                                                                                  \
    static el_status el_range_##T(el_kctx *ctx, el_dtype dt)                                                        \
    {                                                                                                               \
        const T start = *(const T *)ctx->inputs[0].data, limit = *(const T *)ctx->inputs[1].data;                   \
        const T delta = *(const T *)ctx->inputs[2].data;                                                            \
        if (delta == 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Requires delta != 0: %g", (FMT_CAST)delta);            \
        if (delta > 0 && !(start <= limit))                                                                         \
            return el_kerr(ctx, EL_ERR_RUNTIME, "Requires start <= limit when delta > 0: %g/%g", (FMT_CAST)start,   \
                           (FMT_CAST)limit);                                                                        \
        if (!(delta > 0) && !(start >= limit))                                                                      \
            return el_kerr(ctx, EL_ERR_RUNTIME, "Requires start >= limit when delta < 0: %g/%g", (FMT_CAST)start,   \
                           (FMT_CAST)limit);                                                                        \
        const T q = (T)((limit - start) / delta);                                                                   \
        const T sz = (T)ceil(fabs((double)q));                                                                      \
        if (!(sz < 9.2e18))                                                                                         \
            return el_kerr(ctx, EL_ERR_RUNTIME, "Range size %g is not a finite int64", (double)sz);                 \
        int64_t size = (int64_t)sz;                                                                                 \
        void *data;                                                                                                 \
        EL_TRY(el_range_alloc(ctx, dt, size, &data));                                                               \
        T *o = data, val = start;                                                                                   \
        for (int64_t i = 0; i < size; i++) {                                                                        \
            o[i] = val;                                                                                             \
            val += delta;                                                                                           \
        }                                                                                                           \
        return EL_OK;                                                                                               \
    }
EL_RANGE_FLOAT(float, double)
EL_RANGE_FLOAT(double, double)
#undef EL_RANGE_FLOAT

/* Integer Range (int32, int64): size = ceil(|limit-start| / |delta|). Done
 * in unsigned 64-bit so extreme int64 bounds cannot overflow; the values are
 * start + i*delta, equal to TF's repeated addition wherever that is defined. */
static el_status el_range_int(el_kctx *ctx, el_dtype dt)
{
    int64_t start, limit, delta;
    EL_TRY(el_kctx_index_value(ctx, 0, 0, &start));
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &limit));
    EL_TRY(el_kctx_index_value(ctx, 2, 0, &delta));
    if (delta == 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Requires delta != 0: %lld", (long long)delta);
    if (delta > 0 && start > limit)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Requires start <= limit when delta > 0: %lld/%lld", (long long)start,
                       (long long)limit);
    if (delta < 0 && start < limit)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Requires start >= limit when delta < 0: %lld/%lld", (long long)start,
                       (long long)limit);
    uint64_t span = delta > 0 ? (uint64_t)limit - (uint64_t)start : (uint64_t)start - (uint64_t)limit;
    uint64_t step = delta > 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
    uint64_t size = span / step + (span % step != 0);
    if (size > (uint64_t)INT64_MAX) return el_kerr(ctx, EL_ERR_RUNTIME, "Range size %llu overflows int64", (unsigned long long)size);
    void *data;
    EL_TRY(el_range_alloc(ctx, dt, (int64_t)size, &data));
    uint64_t val = (uint64_t)start;
    for (uint64_t i = 0; i < size; i++, val += (uint64_t)delta) {
        if (dt == EL_DT_INT32) ((int32_t *)data)[i] = (int32_t)(int64_t)val;
        else ((int64_t *)data)[i] = (int64_t)val;
    }
    return EL_OK;
}

static el_status el_range(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    el_dtype dt = ctx->inputs[0].dtype;
    EL_TRY(el_range_check_scalar(ctx, 0, "start", dt));
    EL_TRY(el_range_check_scalar(ctx, 1, "limit", dt));
    EL_TRY(el_range_check_scalar(ctx, 2, "delta", dt));
    switch (dt) {
    case EL_DT_FLOAT: return el_range_float(ctx, dt);
    case EL_DT_DOUBLE: return el_range_double(ctx, dt);
    case EL_DT_INT32:
    case EL_DT_INT64: return el_range_int(ctx, dt);
    default:
        /* TF registers CPU Range for float, double, int32 and int64 only. */
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "Tidx %s not supported (float32, float64, int32, int64)",
                       el_dtype_name(dt));
    }
}

const el_op el_ops_shape[] = {
    {"Reshape", el_reshape, NULL, 0},
    {"ExpandDims", el_expand_dims, NULL, 0},
    {"Squeeze", el_squeeze, NULL, 0},
    {"Shape", el_shape_op, NULL, 0},
    {"ShapeN", el_shape_n, el_shape_n_count, 0},
    {"Size", el_size, NULL, 0},
    {"Rank", el_rank, NULL, 0},
    {"Range", el_range, NULL, 0},
    {NULL, NULL, NULL, 0},
};
