/* Helpers shared by all kernels: outputs, errors, index inputs. */
#include "ops/kernel.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/mempool.h"

el_status el_kerr(const el_kctx *ctx, el_status code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return el_error(code, "node '%s' (op %s): %s", ctx->node->name, ctx->node->op, msg);
}

el_status el_kctx_output(el_kctx *ctx, int idx, el_dtype dt, int ndim, const int64_t *dims, el_tensor **out)
{
    if (idx < 0 || idx >= ctx->noutputs)
        return el_kerr(ctx, EL_ERR_RUNTIME, "output %d out of range (%d outputs)", idx, ctx->noutputs);
    el_tensor_release(&ctx->outputs[idx]);
    el_status s = el_tensor_alloc(&ctx->outputs[idx], dt, ndim, dims);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    if (out) *out = &ctx->outputs[idx];
    return EL_OK;
}

el_status el_kctx_forward(el_kctx *ctx, int idx, int in, int ndim, const int64_t *dims)
{
    if (idx < 0 || idx >= ctx->noutputs || in < 0 || in >= ctx->ninputs)
        return el_kerr(ctx, EL_ERR_RUNTIME, "forward of input %d to output %d out of range", in, idx);
    el_tensor_release(&ctx->outputs[idx]);
    el_status s = el_tensor_reshape_view(&ctx->outputs[idx], &ctx->inputs[in], ndim, dims);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    return EL_OK;
}

el_status el_kctx_scratch(el_kctx *ctx, size_t bytes, void **out)
{
    *out = NULL;
    if (ctx->nscratch >= EL_KCTX_MAX_SCRATCH)
        return el_kerr(ctx, EL_ERR_LIMIT, "more than %d scratch areas", EL_KCTX_MAX_SCRATCH);
    void *p = el_mem_alloc(bytes);
    if (!p) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", bytes);
    ctx->scratch[ctx->nscratch++] = p;
    *out = p;
    return EL_OK;
}

void el_kctx_end(el_kctx *ctx)
{
    while (ctx->nscratch > 0) el_mem_free(ctx->scratch[--ctx->nscratch]);
}

el_status el_kctx_need_inputs(const el_kctx *ctx, int n)
{
    if (ctx->ninputs < n)
        return el_kerr(ctx, EL_ERR_FORMAT, "expected %d inputs, found %d", n, ctx->ninputs);
    return EL_OK;
}

el_status el_kctx_need_dtype(const el_kctx *ctx, int i, el_dtype dt)
{
    if (ctx->inputs[i].dtype != dt)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input %d should be %s, found %s", i, el_dtype_name(dt),
                       el_dtype_name(ctx->inputs[i].dtype));
    return EL_OK;
}

el_status el_kctx_index_value(const el_kctx *ctx, int input, int64_t i, int64_t *out)
{
    const el_tensor *t = &ctx->inputs[input];
    if (i < 0 || i >= el_tensor_numel(t))
        return el_kerr(ctx, EL_ERR_RUNTIME, "input %d: index %lld out of range", input, (long long)i);
    if (t->dtype == EL_DT_INT32) *out = ((const int32_t *)t->data)[i];
    else if (t->dtype == EL_DT_INT64) *out = ((const int64_t *)t->data)[i];
    else
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input %d should be int32 or int64, found %s", input,
                       el_dtype_name(t->dtype));
    return EL_OK;
}

el_status el_kctx_index_vector(const el_kctx *ctx, int input, int64_t *out, int cap, int *n)
{
    const el_tensor *t = &ctx->inputs[input];
    if (t->ndim > 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input %d should be a vector, found rank %d", input, t->ndim);
    int64_t cnt = el_tensor_numel(t);
    if (cnt > cap)
        return el_kerr(ctx, EL_ERR_LIMIT, "input %d has %lld values, at most %d supported", input, (long long)cnt, cap);
    for (int64_t i = 0; i < cnt; i++) EL_TRY(el_kctx_index_value(ctx, input, i, &out[i]));
    *n = (int)cnt;
    return EL_OK;
}
