/* Op family 'transpose': Transpose. The copy is el_copy_strided reading the
 * input with permuted strides; checks and messages follow TensorFlow's
 * transpose_op.cc. */
#include <stdio.h>

#include "ops/array_util.h"
#include "ops/kernel.h"

#define EL_TRANSPOSE_COLUMNS_MAX 16

static el_status el_transpose(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *in = &ctx->inputs[0], *pt = &ctx->inputs[1];
    const int r = in->ndim;
    if (pt->ndim != 1) {
        char s[160];
        return el_kerr(ctx, EL_ERR_RUNTIME, "perm must be rank 1, got shape %s", el_array_shape_str(pt, s, sizeof s));
    }
    if (pt->dims[0] != r)
        return el_kerr(ctx, EL_ERR_RUNTIME, "transpose expects a vector of size %d. But input(1) is a vector of size %lld",
                       r, (long long)pt->dims[0]);
    int64_t perm[EL_MAX_DIMS];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, 1, perm, EL_MAX_DIMS, &n));
    bool seen[EL_MAX_DIMS] = {false}, identity = true;
    int64_t dims[EL_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r)
            return el_kerr(ctx, EL_ERR_RUNTIME, "%lld is out of range [0 .. %d)", (long long)perm[i], r);
        seen[perm[i]] = true;
        dims[i] = in->dims[perm[i]];
        identity &= perm[i] == i;
    }
    for (int i = 0; i < r; i++) {
        if (!seen[i]) {
            char list[8 * 24] = "";
            size_t len = 0;
            for (int k = 0; k < r; k++)
                len += (size_t)snprintf(list + len, sizeof list - len, k ? ",%lld" : "%lld", (long long)perm[k]);
            return el_kerr(ctx, EL_ERR_RUNTIME, "%d is missing from {%s}.", i, list);
        }
    }
    /* 0-D, 1-D and identity permutations hand the input back (TF does too). */
    if (r <= 1 || identity) return el_kctx_forward(ctx, 0, 0, r, in->dims);
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in->dtype, r, dims, &out));
    /* A matrix with few columns on either side (the SSD box decoders'
     * [4,N] <-> [N,4]): the column copies Pack and Unpack use. */
    if (r == 2 && (dims[1] <= EL_TRANSPOSE_COLUMNS_MAX || in->dims[1] <= EL_TRANSPOSE_COLUMNS_MAX)) {
        void *cols[EL_TRANSPOSE_COLUMNS_MAX];
        if (dims[1] <= EL_TRANSPOSE_COLUMNS_MAX) {
            for (int64_t j = 0; j < dims[1]; j++) cols[j] = (char *)in->data + (size_t)(j * in->dims[1]) * es;
            el_copy_interleave(out->data, (int)dims[1], (const void *const *)cols, dims[0], es);
        } else {
            for (int64_t j = 0; j < in->dims[1]; j++) cols[j] = (char *)out->data + (size_t)(j * dims[1]) * es;
            el_copy_deinterleave(cols, (int)in->dims[1], in->data, in->dims[0], es);
        }
        return EL_OK;
    }
    int64_t is[EL_MAX_DIMS], ps[EL_MAX_DIMS], os[EL_MAX_DIMS];
    el_strides_of(r, in->dims, is);
    el_strides_of(r, dims, os);
    for (int i = 0; i < r; i++) ps[i] = is[perm[i]];
    el_copy_strided(out->data, 0, os, in->data, 0, ps, es, r, dims);
    return EL_OK;
}

const el_op el_ops_transpose[] = {
    {"Transpose", el_transpose, NULL, 0},
    {NULL, NULL, NULL, 0},
};
