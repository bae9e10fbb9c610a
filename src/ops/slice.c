/* Op family 'slice': Slice, StridedSlice, Split, SplitV, Unpack. Every copy
 * goes through el_copy_strided / el_copy_axis_range (array_util.h).
 * Validation and error texts follow TensorFlow's slice_op.cc,
 * strided_slice_op.cc (ValidateStridedSliceOp), split_op.cc, split_v_op.cc
 * and unpack_op.cc. */
#include <string.h>

#include "ops/array_util.h"
#include "ops/kernel.h"

/* ---- Slice ---- */

static el_status el_slice(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const el_tensor *in = &ctx->inputs[0], *bt = &ctx->inputs[1], *st = &ctx->inputs[2];
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    const int r = in->ndim;
    if (bt->ndim != 1 || st->ndim != 1 || bt->dims[0] != r || st->dims[0] != r) {
        char a[160], b[160];
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Expected begin and size arguments to be 1-D tensors of size %d, but got shapes %s and %s "
                       "instead.",
                       r, el_array_shape_str(bt, a, sizeof a), el_array_shape_str(st, b, sizeof b));
    }
    int64_t begin[EL_MAX_DIMS], size[EL_MAX_DIMS];
    int nb, ns;
    EL_TRY(el_kctx_index_vector(ctx, 1, begin, EL_MAX_DIMS, &nb));
    EL_TRY(el_kctx_index_vector(ctx, 2, size, EL_MAX_DIMS, &ns));
    bool identity = true;
    for (int i = 0; i < r; i++) {
        int64_t b = begin[i], s = size[i], dim = in->dims[i];
        if (dim == 0) {
            if (!(b == 0 && (s == 0 || s == -1)))
                return el_kerr(ctx, EL_ERR_RUNTIME,
                               "Expected begin[%d] == 0 (got %lld) and size[%d] == 0 (got %lld) when input.dim_size(%d) "
                               "== 0",
                               i, (long long)b, i, (long long)s, i);
            size[i] = 0;
            continue;
        }
        /* size -1 means "to the end of the dimension". */
        if (s == -1) s = dim - b;
        if (b < 0 || b > dim)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected begin[%d] in [0, %lld], but got %lld", i, (long long)dim,
                           (long long)b);
        if (s < 0 || s > dim - b)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected size[%d] in [0, %lld], but got %lld", i,
                           (long long)(dim - b), (long long)s);
        size[i] = s;
        identity &= b == 0 && s == dim;
    }
    if (identity) return el_kctx_forward(ctx, 0, 0, r, in->dims);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in->dtype, r, size, &out));
    int64_t is[EL_MAX_DIMS], os[EL_MAX_DIMS], off = 0;
    el_strides_of(r, in->dims, is);
    el_strides_of(r, size, os);
    for (int i = 0; i < r; i++) off += begin[i] * is[i];
    el_copy_strided(out->data, 0, os, in->data, off, is, es, r, size);
    return EL_OK;
}

/* ---- StridedSlice ---- */

/* TF's sparse spec (one entry per begin/end/strides element, with ellipsis
 * and new axes) is expanded into a dense spec (one entry per input dim),
 * then canonicalised per dim. Masks are 32-bit in TF; uint64 here so the
 * implicit trailing ellipsis at bit 31 is well defined. */
#define EL_SS_NEW_AXIS (-2)
#define EL_SS_SHRINK (-1)
#define EL_SS_MAX 32

typedef struct el_ss_spec {
    int64_t begin[EL_MAX_DIMS], end[EL_MAX_DIMS], stride[EL_MAX_DIMS];
    uint64_t begin_mask, end_mask, shrink_mask; /* dense */
    int final_gather[EL_SS_MAX + EL_MAX_DIMS]; /* dense dim, or EL_SS_NEW_AXIS / EL_SS_SHRINK */
    int nfinal;
} el_ss_spec;

static el_status el_ss_dense(const el_kctx *ctx, int rank, int nsparse, const int64_t *b, const int64_t *e,
                             const int64_t *s, uint64_t begin_mask, uint64_t end_mask, uint64_t ellipsis_mask,
                             uint64_t new_axis_mask, uint64_t shrink_mask, el_ss_spec *d)
{
    int after_ellipsis = 0; /* new axes after the ellipsis */
    bool seen = false;
    for (int i = 0; i < nsparse; i++) {
        if (seen && (new_axis_mask >> i & 1)) after_ellipsis++;
        if (ellipsis_mask >> i & 1) seen = true;
    }
    /* No ellipsis: one is implied at the end (foo[1:2] on a 3-D foo keeps
     * the trailing dims whole). */
    if (!seen) ellipsis_mask |= (uint64_t)1 << nsparse++;
    memset(d, 0, sizeof *d);
    int full = 0;
    for (int i = 0; i < nsparse; i++) {
        if (ellipsis_mask >> i & 1) {
            /* The ellipsis covers the dims not named by the entries after it
             * (new axes among those entries name no input dim). */
            int next = rank - (nsparse - i) + 1 + after_ellipsis;
            if (next > rank) next = rank;
            for (; full < next; full++) {
                d->begin[full] = d->end[full] = 0;
                d->stride[full] = 1;
                d->begin_mask |= (uint64_t)1 << full;
                d->end_mask |= (uint64_t)1 << full;
                d->final_gather[d->nfinal++] = full;
            }
        } else if (new_axis_mask >> i & 1) {
            d->final_gather[d->nfinal++] = EL_SS_NEW_AXIS;
        } else {
            if (full == rank) {
                if (rank == 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Attempting to slice scalar input.");
                return el_kerr(ctx, EL_ERR_RUNTIME, "Index out of range using input dim %d; input has only %d dims",
                               full, rank);
            }
            d->begin[full] = b[i];
            d->end[full] = e[i];
            d->stride[full] = s[i];
            if (begin_mask >> i & 1) d->begin_mask |= (uint64_t)1 << full;
            if (end_mask >> i & 1) d->end_mask |= (uint64_t)1 << full;
            if (shrink_mask >> i & 1) {
                d->final_gather[d->nfinal++] = EL_SS_SHRINK;
                d->shrink_mask |= (uint64_t)1 << full;
            } else {
                d->final_gather[d->nfinal++] = full;
            }
            full++;
        }
    }
    return EL_OK;
}

/* Canonical begin/end of one dim (TF's `canonical` lambda): a masked bound
 * takes the end of the valid range in the stride's direction; otherwise a
 * negative index counts from the end and is clamped to [0, dim] for a
 * positive stride, [-1, dim-1] for a negative one. */
static int64_t el_ss_canonical(int64_t x, int c, bool masked, int64_t stride, int64_t dim)
{
    const int64_t lo = stride > 0 ? 0 : -1, hi = stride > 0 ? dim : dim - 1;
    if (masked) return (stride > 0) == (c == 0) ? lo : hi;
    int64_t f = x < 0 ? dim + x : x;
    return f < lo ? lo : f > hi ? hi : f;
}

static el_status el_strided_slice(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 4));
    const el_tensor *in = &ctx->inputs[0], *bt = &ctx->inputs[1], *et = &ctx->inputs[2], *stt = &ctx->inputs[3];
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    int64_t masks[5];
    static const char *const mask_names[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                              "shrink_axis_mask"};
    for (int k = 0; k < 5; k++) {
        EL_TRY(el_attr_int(ctx->node, mask_names[k], 0, &masks[k]));
        masks[k] &= 0xffffffff; /* TF's attrs are int32 bit sets */
    }
    const int64_t nspec = stt->ndim == 1 ? stt->dims[0] : -1;
    if (bt->ndim != 1 || et->ndim != 1 || stt->ndim != 1 || bt->dims[0] != nspec || et->dims[0] != nspec ||
        nspec >= EL_SS_MAX) {
        char a[160], b[160], c[160];
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Expected begin, end, and strides to be 1D equal size tensors, but got shapes %s, %s, and %s "
                       "instead.",
                       el_array_shape_str(bt, a, sizeof a), el_array_shape_str(et, b, sizeof b),
                       el_array_shape_str(stt, c, sizeof c));
    }
    uint64_t ellipsis = (uint64_t)masks[2];
    if (ellipsis & (ellipsis - 1))
        return el_kerr(ctx, EL_ERR_RUNTIME, "Multiple ellipses in slice spec not allowed");
    int64_t b[EL_SS_MAX], e[EL_SS_MAX], s[EL_SS_MAX];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, 1, b, EL_SS_MAX, &n));
    EL_TRY(el_kctx_index_vector(ctx, 2, e, EL_SS_MAX, &n));
    EL_TRY(el_kctx_index_vector(ctx, 3, s, EL_SS_MAX, &n));
    el_ss_spec d;
    const int r = in->ndim;
    EL_TRY(el_ss_dense(ctx, r, n, b, e, s, (uint64_t)masks[0], (uint64_t)masks[1], ellipsis, (uint64_t)masks[3],
                       (uint64_t)masks[4], &d));

    int64_t proc[EL_MAX_DIMS];
    bool identity = true;
    for (int i = 0; i < r; i++) {
        int64_t dim = in->dims[i], st = d.stride[i];
        if (st == 0) return el_kerr(ctx, EL_ERR_RUNTIME, "strides[%d] must be non-zero", i);
        bool shrink = d.shrink_mask >> i & 1;
        if (shrink && st <= 0) return el_kerr(ctx, EL_ERR_RUNTIME, "only stride 1 allowed on non-range indexing.");
        if (shrink) {
            /* foo[-1] comes as begin -1, end 0: rebuild end as begin+1 and
             * refuse indices outside the dim instead of clamping them. */
            int64_t f = d.begin[i] < 0 ? dim + d.begin[i] : d.begin[i];
            d.begin[i] = f;
            d.end[i] = f + 1;
            if (f < 0 || f >= dim)
                return el_kerr(ctx, EL_ERR_RUNTIME, "slice index %lld of dimension %d out of bounds.", (long long)f,
                               i);
        } else {
            d.begin[i] = el_ss_canonical(d.begin[i], 0, d.begin_mask >> i & 1, st, dim);
            d.end[i] = el_ss_canonical(d.end[i], 1, d.end_mask >> i & 1, st, dim);
        }
        identity &= st == 1 && d.begin[i] == 0 && d.end[i] == dim;
        int64_t len = d.end[i] - d.begin[i];
        /* An interval pointing against the stride is empty, not an error. */
        if (len == 0 || (len < 0) != (st < 0)) proc[i] = 0;
        else proc[i] = len / st + (len % st != 0);
    }
    int64_t fdims[EL_SS_MAX + EL_MAX_DIMS];
    int nf = 0;
    for (int k = 0; k < d.nfinal; k++) {
        if (d.final_gather[k] >= 0) fdims[nf++] = proc[d.final_gather[k]];
        else if (d.final_gather[k] == EL_SS_NEW_AXIS) fdims[nf++] = 1;
    }
    if (nf > EL_MAX_DIMS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "result would have rank %d, at most %d supported", nf, EL_MAX_DIMS);
    if (identity) return el_kctx_forward(ctx, 0, 0, nf, fdims);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in->dtype, nf, fdims, &out));
    /* The output is the processing box (one dim per input dim, shrunk dims
     * of size 1) viewed under the final shape: same elements, same order. */
    int64_t is[EL_MAX_DIMS], ss[EL_MAX_DIMS], os[EL_MAX_DIMS], off = 0;
    el_strides_of(r, in->dims, is);
    el_strides_of(r, proc, os);
    for (int i = 0; i < r; i++) {
        /* With one element the stride is never taken, and may be huge
         * (x[0:1:INT64_MAX]): keep the product from overflowing. */
        ss[i] = proc[i] > 1 ? is[i] * d.stride[i] : 0;
        off += d.begin[i] * is[i];
    }
    el_copy_strided(out->data, 0, os, in->data, off, ss, es, r, proc);
    return EL_OK;
}

/* ---- Split, SplitV, Unpack ---- */

/* How the split axis is cut: every output gets `uniform` slices (Split,
 * Unpack), or output k gets element k of input `sizes_input` (SplitV), with
 * the entry at `neg_one` (its -1) replaced by `neg_size`. Sizes are re-read
 * per output rather than buffered: num_split may be large. */
typedef struct el_split_plan {
    int64_t uniform;
    int sizes_input; /* -1: uniform */
    int neg_one;
    int64_t neg_size;
    bool drop_axis; /* Unpack: outputs lose the axis */
} el_split_plan;

static el_status el_split_size(const el_kctx *ctx, const el_split_plan *p, int k, int64_t *out)
{
    if (p->sizes_input < 0) *out = p->uniform;
    else if (k == p->neg_one) *out = p->neg_size;
    else EL_TRY(el_kctx_index_value(ctx, p->sizes_input, k, out));
    return EL_OK;
}

/* Output k is the next run of its size along `axis` of input `in_idx`. */
#define EL_SPLIT_COLUMNS_MAX 16
static el_status el_split_into(el_kctx *ctx, int in_idx, int axis, const el_split_plan *p)
{
    const el_tensor *in = &ctx->inputs[in_idx];
    size_t es;
    EL_TRY(el_array_elsize(ctx, in_idx, &es));
    const int64_t outer = el_dims_prod(in->dims, 0, axis), inner = el_dims_prod(in->dims, axis + 1, in->ndim);
    int64_t pos = 0;
    /* Single innermost slices (boxes into coordinates) are copied in one
     * pass over the input once every output exists. */
    void *cols[EL_SPLIT_COLUMNS_MAX];
    bool columns = inner == 1 && ctx->noutputs == in->dims[axis] && ctx->noutputs <= EL_SPLIT_COLUMNS_MAX;
    for (int k = 0; columns && k < ctx->noutputs; k++) {
        int64_t len;
        EL_TRY(el_split_size(ctx, p, k, &len));
        columns = len == 1;
    }
    for (int k = 0; k < ctx->noutputs; k++) {
        int64_t len, dims[EL_MAX_DIMS];
        int nd = 0;
        EL_TRY(el_split_size(ctx, p, k, &len));
        for (int i = 0; i < in->ndim; i++) {
            if (i != axis) dims[nd++] = in->dims[i];
            else if (!p->drop_axis) dims[nd++] = len;
        }
        el_tensor *out;
        EL_TRY(el_kctx_output(ctx, k, in->dtype, nd, dims, &out));
        if (columns) cols[k] = out->data;
        else el_copy_axis_range(out->data, len, 0, in->data, in->dims[axis], pos, outer, len, inner, es);
        pos += len;
    }
    if (columns) el_copy_deinterleave(cols, ctx->noutputs, in->data, outer, es);
    return EL_OK;
}

static el_status el_split_dim(el_kctx *ctx, int input, bool allow_vec1, int rank, int *axis)
{
    int64_t sd;
    EL_TRY(el_array_scalar_index(ctx, input, "split_dim", allow_vec1, &sd));
    int64_t a = sd < 0 ? sd + rank : sd;
    if (a < 0 || a >= rank)
        return el_kerr(ctx, EL_ERR_RUNTIME, "-input rank(-%d) <= split_dim < input rank (%d), but got %lld", rank,
                       rank, (long long)sd);
    *axis = (int)a;
    return EL_OK;
}

/* Split: split_dim comes first, the output count is num_split. */
static el_status el_split(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *in = &ctx->inputs[1];
    const int num = ctx->noutputs;
    int axis = 0;
    EL_TRY(el_split_dim(ctx, 0, false, in->ndim, &axis));
    if (num <= 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Number of ways to split should be > 0, but got %d", num);
    if (in->dims[axis] % num != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Number of ways to split should evenly divide the split dimension, but got split_dim %d (size "
                       "= %lld) and num_split %d",
                       axis, (long long)in->dims[axis], num);
    if (num == 1) return el_kctx_forward(ctx, 0, 1, in->ndim, in->dims);
    el_split_plan p = {.uniform = in->dims[axis] / num, .sizes_input = -1, .neg_one = -1};
    return el_split_into(ctx, 1, axis, &p);
}

/* SplitV: (value, size_splits, split_dim); one size may be -1. */
static el_status el_split_v(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const el_tensor *in = &ctx->inputs[0], *st = &ctx->inputs[1];
    const int num = ctx->noutputs;
    if (st->ndim != 1 || st->dims[0] != num)
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "size of the split_tensor must be 1-D and have the same elements as outputs got %d -D and %lld "
                       "elements",
                       st->ndim, (long long)el_tensor_numel(st));
    if (num <= 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Number of ways to split should be > 0, but got %d", num);
    int axis = 0;
    /* SplitV reads the first element of split_dim without a rank check. */
    EL_TRY(el_split_dim(ctx, 2, true, in->ndim, &axis));
    const int64_t total = in->dims[axis];
    if (num == 1) {
        /* TF checks the lone size literally here: a -1 is refused too. */
        int64_t s0;
        EL_TRY(el_kctx_index_value(ctx, 1, 0, &s0));
        if (s0 != total)
            return el_kerr(ctx, EL_ERR_RUNTIME,
                           "If there is only one output, it must have the same size as the input. Input size: %lld "
                           "output size: %lld",
                           (long long)total, (long long)s0);
        return el_kctx_forward(ctx, 0, 0, in->ndim, in->dims);
    }
    el_split_plan p = {.sizes_input = 1, .neg_one = -1};
    int64_t determined = 0;
    bool overflow = false;
    for (int k = 0; k < num; k++) {
        int64_t v;
        EL_TRY(el_kctx_index_value(ctx, 1, k, &v));
        if (v == -1) {
            if (p.neg_one != -1) return el_kerr(ctx, EL_ERR_RUNTIME, "There can only be one -1 in the input.");
            p.neg_one = k;
        } else {
            overflow |= __builtin_add_overflow(determined, v, &determined);
        }
    }
    /* TF's order: the sum check first, the per-size sign check after. */
    if (overflow || !((p.neg_one == -1 && determined == total) || (p.neg_one >= 0 && determined <= total)))
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Determined shape must either match input shape along split_dim exactly if fully specified, or "
                       "be less than the size of the input along split_dim if not fully specified.  Got: %lld",
                       (long long)determined);
    /* The inferred size is >= 0 here (determined <= total), so only the
     * given sizes can be negative; checking them first also keeps
     * total - determined from overflowing. */
    for (int k = 0; k < num; k++) {
        int64_t v;
        EL_TRY(el_kctx_index_value(ctx, 1, k, &v));
        if (v < 0 && k != p.neg_one)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Split size at index %d must be >= 0. Got: %lld", k, (long long)v);
    }
    if (p.neg_one >= 0) p.neg_size = total - determined;
    return el_split_into(ctx, 0, axis, &p);
}

/* Unpack (tf.unstack): num outputs, each one slice with the axis removed. */
static el_status el_unpack(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in = &ctx->inputs[0];
    const int num = ctx->noutputs;
    int64_t axis_attr;
    EL_TRY(el_attr_int(ctx->node, "axis", 0, &axis_attr));
    int64_t axis = axis_attr < 0 ? axis_attr + in->ndim : axis_attr;
    if (axis < 0 || axis >= in->ndim)
        return el_kerr(ctx, EL_ERR_RUNTIME, "axis = %lld not in [%d, %d)", (long long)axis_attr, -in->ndim, in->ndim);
    if (in->dims[axis] != num) {
        char s[160];
        return el_kerr(ctx, EL_ERR_RUNTIME, "Input shape axis %lld must equal %d, got shape %s", (long long)axis, num,
                       el_array_shape_str(in, s, sizeof s));
    }
    /* One output holds all of the input: a view (the OD API preprocessors
     * unstack their batch of one image). */
    if (num == 1) {
        int64_t dims[EL_MAX_DIMS];
        for (int i = 0, j = 0; i < in->ndim; i++)
            if (i != axis) dims[j++] = in->dims[i];
        return el_kctx_forward(ctx, 0, 0, in->ndim - 1, dims);
    }
    el_split_plan p = {.uniform = 1, .sizes_input = -1, .neg_one = -1, .drop_axis = true};
    return el_split_into(ctx, 0, (int)axis, &p);
}

static int el_split_count(const el_node *n)
{
    return el_array_count_attr(n, "num_split", -1, 1);
}

static int el_unpack_count(const el_node *n)
{
    return el_array_count_attr(n, "num", -1, 0);
}

const el_op el_ops_slice[] = {
    {"Slice", el_slice, NULL, 0},
    {"StridedSlice", el_strided_slice, NULL, 0},
    {"Split", el_split, el_split_count, 0},
    {"SplitV", el_split_v, el_split_count, 0},
    {"Unpack", el_unpack, el_unpack_count, 0},
    {NULL, NULL, NULL, 0},
};
