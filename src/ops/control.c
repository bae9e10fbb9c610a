/* Graph plumbing: ops that carry no computation of their own (Const,
 * Identity-like forwarding, NoOp, Assert, Placeholder). Switch, Merge, Enter,
 * Exit and NextIteration are executed by the executor itself (exec/run.c),
 * since they decide which tensors are live, not what they hold. */
#include <stdio.h>
#include <string.h>

#include "ops/kernel.h"

static el_status el_op_identity(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    return el_kctx_forward(ctx, 0, 0, ctx->inputs[0].ndim, ctx->inputs[0].dims);
}

/* IdentityN forwards each input to the output of the same index. */
static el_status el_op_identity_n(el_kctx *ctx)
{
    for (int i = 0; i < ctx->ninputs && i < ctx->noutputs; i++)
        EL_TRY(el_kctx_forward(ctx, i, i, ctx->inputs[i].ndim, ctx->inputs[i].dims));
    return EL_OK;
}

static int el_identity_n_outputs(const el_node *n) { return n->ndata > 0 ? n->ndata : 1; }

static el_status el_op_noop(el_kctx *ctx) { return EL_OK; }

/* The Const's tensor lives in the graph: outputs share it, never copy it. */
static el_status el_op_const(el_kctx *ctx)
{
    const el_tensor *t;
    EL_TRY(el_attr_tensor(ctx->node, "value", &t));
    el_dtype want;
    EL_TRY(el_attr_dtype(ctx->node, "dtype", t->dtype, &want));
    if (want != t->dtype)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr 'dtype' is %s but the value is %s", el_dtype_name(want),
                       el_dtype_name(t->dtype));
    ctx->outputs[0] = *t;
    el_tensor_retain(&ctx->outputs[0]);
    return EL_OK;
}

static el_status el_op_placeholder(el_kctx *ctx)
{
    return el_kerr(ctx, EL_ERR_INVALID_ARG, "placeholder must be fed");
}

/* Assert: fails the run with the data tensors' first values, like TF. */
static el_status el_op_assert(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *c = &ctx->inputs[0];
    if (c->dtype != EL_DT_BOOL || el_tensor_numel(c) != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "condition must be a bool scalar, found %s with %lld elements",
                       el_dtype_name(c->dtype), (long long)el_tensor_numel(c));
    if (*(const uint8_t *)c->data) return EL_OK;
    char msg[512];
    size_t n = 0;
    msg[0] = '\0';
    for (int i = 1; i < ctx->ninputs && n < sizeof msg - 1; i++) {
        const el_tensor *d = &ctx->inputs[i];
        int64_t cnt = el_tensor_numel(d);
        for (int64_t j = 0; j < cnt && j < 3 && n < sizeof msg - 1; j++) {
            int w = 0;
            if (d->dtype == EL_DT_STRING) {
                const el_string *s = &((const el_string *)d->data)[j];
                w = snprintf(msg + n, sizeof msg - n, "%.*s ", (int)(s->len > 200 ? 200 : s->len), s->data);
            } else if (d->dtype == EL_DT_INT32) {
                w = snprintf(msg + n, sizeof msg - n, "%d ", ((const int32_t *)d->data)[j]);
            } else if (d->dtype == EL_DT_FLOAT) {
                w = snprintf(msg + n, sizeof msg - n, "%g ", ((const float *)d->data)[j]);
            }
            if (w < 0) break;
            n += (size_t)w;
        }
    }
    return el_kerr(ctx, EL_ERR_RUNTIME, "assertion failed: %s", msg);
}

const el_op el_ops_control[] = {
    {"Const", el_op_const, NULL, 0},
    {"Identity", el_op_identity, NULL, 0},
    {"IdentityN", el_op_identity_n, el_identity_n_outputs, 0},
    {"LoopCond", el_op_identity, NULL, 0},
    {"StopGradient", el_op_identity, NULL, 0},
    {"PlaceholderWithDefault", el_op_identity, NULL, 0},
    {"Snapshot", el_op_identity, NULL, 0},
    {"Placeholder", el_op_placeholder, NULL, 0},
    {"NoOp", el_op_noop, NULL, 0},
    {"Assert", el_op_assert, NULL, 0},
    {NULL, NULL, NULL, 0},
};
