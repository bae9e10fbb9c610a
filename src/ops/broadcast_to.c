/* Op family 'broadcast_to': BroadcastTo (TensorFlow's broadcast_to_op.cc).
 *
 * The input is aligned with the target shape on its last dimension; each of
 * its sizes must equal the target's or be 1, and the broadcast of the two
 * shapes must be the target shape itself (TF: "Unable to broadcast tensor
 * of shape ... to tensor of shape ..."): BroadcastTo never shrinks a
 * dimension and never adds one the target does not have. Elements move by
 * size, so every plain dtype works. */
#include <string.h>

#include "ops/array_util.h"
#include "ops/kernel.h"

static el_status el_op_broadcast_to(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *x = &ctx->inputs[0];
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    int64_t dims[EL_MAX_DIMS];
    int r;
    EL_TRY(el_kctx_index_vector(ctx, 1, dims, EL_MAX_DIMS, &r));
    char a[160], b[160];
    el_tensor want = {.dtype = x->dtype, .ndim = r};
    memcpy(want.dims, dims, sizeof(int64_t) * (size_t)r);
    for (int d = 0; d < r; d++)
        if (dims[d] < 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "shape %s has a negative dimension", el_array_shape_str(&want, b, sizeof b));
    bool ok = x->ndim <= r;
    /* Input dimension k lines up with output dimension k + shift. */
    int shift = r - x->ndim;
    int64_t xs[EL_MAX_DIMS], src[EL_MAX_DIMS] = {0};
    el_strides_of(x->ndim, x->dims, xs);
    for (int d = 0; ok && d < x->ndim; d++) {
        int64_t n = x->dims[d], m = dims[d + shift];
        if (n == m) src[d + shift] = xs[d];
        else if (n == 1) src[d + shift] = 0;
        else ok = false;
    }
    if (!ok)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Unable to broadcast tensor of shape %s to tensor of shape %s",
                       el_array_shape_str(x, a, sizeof a), el_array_shape_str(&want, b, sizeof b));
    el_tensor *y;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, r, dims, &y));
    int64_t ys[EL_MAX_DIMS];
    el_strides_of(r, dims, ys);
    el_copy_strided(y->data, 0, ys, x->data, 0, src, es, r, dims);
    return EL_OK;
}

const el_op el_ops_broadcast_to[] = {
    {"BroadcastTo", el_op_broadcast_to, NULL, 0},
    {NULL, NULL, NULL, 0},
};
