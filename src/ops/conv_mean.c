/* Output 1 of a depthwise convolution that takes the spatial Mean of its
 * output (see conv_mean.h). */
#include "ops/conv_mean.h"

#include <string.h>

#include "core/mempool.h"
#include "ops/reduce_fast.h"

int el_conv_mean_noutputs(const el_node *n) { return el_node_attr(n, EL_CONV_MEAN_ATTR) ? 2 : 1; }

el_status el_conv_mean_output(el_kctx *ctx, const double *sums)
{
    int64_t keep = 0;
    EL_TRY(el_attr_int(ctx->node, EL_CONV_MEAN_ATTR, 0, &keep));
    const el_tensor *y = &ctx->outputs[0];
    if ((keep != 1 && keep != 2) || ctx->noutputs != 2)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr %s is %lld, expected 1 or 2", EL_CONV_MEAN_ATTR, (long long)keep);
    if (y->dtype != EL_DT_FLOAT || y->ndim != 4)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr %s needs a float NHWC output, got %s of rank %d",
                       EL_CONV_MEAN_ATTR, el_dtype_name(y->dtype), y->ndim);
    const int64_t n = y->dims[0], h = y->dims[1], w = y->dims[2], c = y->dims[3];
    el_tensor *m;
    EL_TRY(keep == 2 ? el_kctx_output(ctx, 1, EL_DT_FLOAT, 4, (const int64_t[]){n, 1, 1, c}, &m)
                     : el_kctx_output(ctx, 1, EL_DT_FLOAT, 2, (const int64_t[]){n, c}, &m));
    const float *yp = y->data;
    float *mp = m->data;
    if (n * c == 0) return EL_OK;
    /* One pixel: the Mean forwards it (-0 stays -0, where 0 + -0 is +0). */
    if (h * w == 1) {
        memcpy(mp, yp, sizeof(float) * (size_t)(n * c));
        return EL_OK;
    }
    double *acc = el_mem_alloc(sizeof(double) * (size_t)c);
    if (!acc) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for %lld sums", (long long)c);
    /* The Mean kernel's runs (ops/reduce.c): rows of w pixels, or the
     * whole column where w is 1. Without row sums to add (w of 1, or rows
     * past EL_SUM_RUN_MAX, every pixel then in double: the kernels leave
     * no row sums for them), each image in one pass. */
    const int64_t run = el_sum_map_run(h, w);
    if (!el_sum_runs_are_rows(w)) {
        for (int64_t b = 0; b < n; b++) {
            for (int64_t k = 0; k < c; k++) acc[k] = 0.0;
            el_sum_rows_f32(yp + b * h * w * c, h * w, c, 0, c, run, acc);
            for (int64_t k = 0; k < c; k++) mp[b * c + k] = (float)(acc[k] / (double)(h * w));
        }
        el_mem_free(acc);
        return EL_OK;
    }
    double *own = NULL;
    if (!sums && h > 0) {
        own = el_mem_calloc((size_t)(n * h * c), sizeof(double));
        if (!own) {
            el_mem_free(acc);
            return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for %lld row sums", (long long)(n * h * c));
        }
        for (int64_t r = 0; r < n * h; r++) el_sum_rows_f32(yp + r * w * c, w, c, 0, c, run, own + r * c);
        sums = own;
    }
    /* Each channel's rows in order from 0, channels innermost (vectorized). */
    for (int64_t b = 0; b < n; b++) {
        for (int64_t k = 0; k < c; k++) acc[k] = 0.0;
        for (int64_t r = 0; r < h; r++)
            for (int64_t k = 0; k < c; k++) acc[k] += sums[(b * h + r) * c + k];
        for (int64_t k = 0; k < c; k++) mp[b * c + k] = (float)(acc[k] / (double)(h * w));
    }
    el_mem_free(acc);
    el_mem_free(own);
    return EL_OK;
}
