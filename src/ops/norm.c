/* Batch normalization: FusedBatchNorm, FusedBatchNormV2, FusedBatchNormV3.
 *
 * Outputs: y, batch_mean, batch_variance, reserve_space_1, reserve_space_2
 * (+ reserve_space_3 for V3). y follows TF's CPU kernel,
 *   factor = rsqrt(variance + epsilon) * scale   (per channel, first)
 *   y      = (x - mean) * factor + offset
 * with rsqrt computed as 1 / sqrtf (Eigen may use a vectorized estimate, so
 * agreement with TF is to an ulp or so).
 *
 * Which statistics: with is_training=false the given mean/variance. With
 * is_training=true and empty mean/variance inputs, the batch statistics, as
 * TF trains. With is_training=true but a full mean/variance, the given ones:
 * that is what TF.js (our reference runtime for the TF.js models) does for
 * every FusedBatchNorm, while TF would still use batch statistics; frozen
 * inference graphs always carry is_training=false, so this only matters for
 * graphs exported in training mode, where the stored statistics are what a
 * user means at inference.
 *
 * Extra outputs: in inference TF passes the mean and variance through as
 * batch_mean/batch_variance and leaves reserve_space_1/2 uninitialised; we
 * fill them with the same copies so they are deterministic. V3's
 * reserve_space_3 is a scalar 0, as in TF's CPU kernel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/kernel.h"

/* GCC's -O2 vectorizes only loops with no epilogue; these loops run over
 * channels of any count. Vectorizing never reorders an element's sum. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif

static int el_bn_noutputs(const el_node *n) { return strcmp(n->op, "FusedBatchNormV3") == 0 ? 6 : 5; }

static el_status el_op_fused_batch_norm(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 5));
    for (int i = 0; i < 5; i++) EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0];
    char s1[160];
    if (x->ndim != 4 && x->ndim != 5)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must be 4 or 5-dimensional, found %s",
                       el_shape_str(x->ndim, x->dims, s1, sizeof s1));
    static const char *const names[5] = {"x", "scale", "offset", "mean", "variance"};
    for (int i = 1; i < 5; i++)
        if (ctx->inputs[i].ndim != 1)
            return el_kerr(ctx, EL_ERR_RUNTIME, "%s must be 1-dimensional, found %s", names[i],
                           el_shape_str(ctx->inputs[i].ndim, ctx->inputs[i].dims, s1, sizeof s1));

    el_string fmt;
    EL_TRY(el_attr_str(ctx->node, "data_format", "NHWC", &fmt));
    bool channels_last;
    if ((fmt.len == 4 && (memcmp(fmt.data, "NHWC", 4) == 0)) || (fmt.len == 5 && memcmp(fmt.data, "NDHWC", 5) == 0))
        channels_last = true;
    else if ((fmt.len == 4 && memcmp(fmt.data, "NCHW", 4) == 0) || (fmt.len == 5 && memcmp(fmt.data, "NCDHW", 5) == 0))
        channels_last = false;
    else
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "data_format '%.*s' is not supported",
                       (int)(fmt.len > 64 ? 64 : fmt.len), fmt.data);

    float eps, avg_factor;
    bool training;
    /* Op-definition defaults: epsilon 0.0001, is_training true,
     * exponential_avg_factor 1. */
    EL_TRY(el_attr_float(ctx->node, "epsilon", 0.0001f, &eps));
    EL_TRY(el_attr_bool(ctx->node, "is_training", true, &training));
    EL_TRY(el_attr_float(ctx->node, "exponential_avg_factor", 1.0f, &avg_factor));

    const int64_t c = channels_last ? x->dims[x->ndim - 1] : x->dims[1];
    const int64_t total = el_tensor_numel(x);
    const int64_t inner = channels_last || x->dims[0] * c == 0 ? 1 : total / (x->dims[0] * c);
    for (int i = 1; i <= 2; i++)
        if (el_tensor_numel(&ctx->inputs[i]) != c)
            return el_kerr(ctx, EL_ERR_RUNTIME, "%s must have the same number of elements as the channels of x, got %lld and %lld",
                           names[i], (long long)el_tensor_numel(&ctx->inputs[i]), (long long)c);
    int64_t nmean = el_tensor_numel(&ctx->inputs[3]), nvar = el_tensor_numel(&ctx->inputs[4]);
    bool batch_stats = training && nmean == 0 && nvar == 0;
    /* TF: a running average needs the running statistics. */
    if (batch_stats && avg_factor != 1.0f)
        return el_kerr(ctx, EL_ERR_RUNTIME, "when exponential_avg_factor != 1, mean and variance must have %lld elements",
                       (long long)c);
    if (!batch_stats && (nmean != c || nvar != c))
        return el_kerr(ctx, EL_ERR_RUNTIME, "mean and variance must have the same number of elements as the channels of x (%lld), got %lld and %lld",
                       (long long)c, (long long)nmean, (long long)nvar);

    el_tensor *y;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, x->ndim, x->dims, &y));
    /* Statistics outputs; a caller asking for fewer gets fewer. */
    el_tensor *out[5] = {NULL};
    for (int i = 1; i < 5 && i < ctx->noutputs; i++) EL_TRY(el_kctx_output(ctx, i, EL_DT_FLOAT, 1, &c, &out[i]));
    if (ctx->noutputs > 5) {
        el_tensor *r3;
        EL_TRY(el_kctx_output(ctx, 5, EL_DT_FLOAT, 0, NULL, &r3));
        *(float *)r3->data = 0.0f;
    }

    const float *xd = x->data, *scale = ctx->inputs[1].data, *offset = ctx->inputs[2].data;
    float *yd = y->data;
    /* mean, variance (the biased one normalizes y), factor */
    float *tmp = el_mem_alloc(sizeof(float) * (size_t)(3 * (c > 0 ? c : 1)));
    if (!tmp) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
    float *mean = tmp, *var = tmp + c, *factor = tmp + 2 * c;

    if (total == 0) {
        /* TF: an empty input yields NaN statistics. */
        for (int64_t i = 0; i < c; i++) mean[i] = var[i] = NAN;
    } else if (batch_stats) {
        /* TF: sum * (1/n), then the mean of squared deviations the same
         * way; the variance output gets Bessel's correction n/(n-1). */
        const int64_t rest = total / c;
        const float inv = 1.0f / (float)rest;
        for (int64_t i = 0; i < c; i++) mean[i] = var[i] = 0.0f;
        for (int64_t e = 0; e < total; e++) mean[channels_last ? e % c : (e / inner) % c] += xd[e];
        for (int64_t i = 0; i < c; i++) mean[i] *= inv;
        for (int64_t e = 0; e < total; e++) {
            int64_t ch = channels_last ? e % c : (e / inner) % c;
            float d = xd[e] - mean[ch];
            var[ch] += d * d;
        }
        for (int64_t i = 0; i < c; i++) var[i] *= inv;
    } else {
        memcpy(mean, ctx->inputs[3].data, sizeof(float) * (size_t)c);
        memcpy(var, ctx->inputs[4].data, sizeof(float) * (size_t)c);
    }

    if (total > 0) {
        for (int64_t i = 0; i < c; i++) factor[i] = 1.0f / sqrtf(var[i] + eps) * scale[i];
        if (channels_last) {
            for (int64_t r = 0; r < total / c; r++) {
                const float *restrict xr = xd + r * c;
                float *restrict yr = yd + r * c;
                for (int64_t i = 0; i < c; i++) yr[i] = (xr[i] - mean[i]) * factor[i] + offset[i];
            }
        } else {
            for (int64_t r = 0; r < total / inner; r++) {
                int64_t ch = r % c;
                float m = mean[ch], f = factor[ch], o = offset[ch];
                const float *restrict xr = xd + r * inner;
                float *restrict yr = yd + r * inner;
                for (int64_t i = 0; i < inner; i++) yr[i] = (xr[i] - m) * f + o;
            }
        }
    }

    /* batch_mean, batch_variance, then reserve_space_1/2 (in training the
     * saved batch mean and biased variance). The running variance gets
     * Bessel's correction n/(n-1) in training. */
    const float *src[5] = {NULL, mean, var, mean, var};
    for (int i = 1; i < 5; i++)
        if (out[i]) memcpy(out[i]->data, src[i], sizeof(float) * (size_t)c);
    if (batch_stats && total > 0 && out[2]) {
        const int64_t rest = total / c;
        const float adjust = (float)rest / (float)(rest > 1 ? rest - 1 : 1);
        float *bv = out[2]->data;
        for (int64_t i = 0; i < c; i++) bv[i] = var[i] * adjust;
    }
    el_mem_free(tmp);
    return EL_OK;
}

const el_op el_ops_norm[] = {
    {"FusedBatchNorm", el_op_fused_batch_norm, el_bn_noutputs, 0},
    {"FusedBatchNormV2", el_op_fused_batch_norm, el_bn_noutputs, 0},
    {"FusedBatchNormV3", el_op_fused_batch_norm, el_bn_noutputs, 0},
    {NULL, NULL, NULL, 0},
};
