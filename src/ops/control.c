/* Kernels of the ops that carry no computation: Identity-like forwarding,
 * NoOp, and the parts of control flow that are plain kernels (LoopCond).
 * Switch/Merge/Enter/Exit/NextIteration are executed by the executor itself
 * (exec/), since they decide which tensors are live, not what they hold. */
#include "ops/kernel.h"

static el_status el_op_identity(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    return el_kctx_forward(ctx, 0, 0, ctx->inputs[0].ndim, ctx->inputs[0].dims);
}

static el_status el_op_noop(el_kctx *ctx) { return EL_OK; }

const el_op el_ops_control[] = {
    {"Identity", el_op_identity, NULL},
    {"LoopCond", el_op_identity, NULL},
    {"StopGradient", el_op_identity, NULL},
    {"NoOp", el_op_noop, NULL},
    {NULL, NULL, NULL},
};
