/* The contract between the executor and op kernels.
 *
 * A kernel reads its data inputs (already computed, never dead: the executor
 * handles deadness and the control-flow ops itself), and fills its outputs,
 * either with new tensors (el_kctx_output) or by sharing an input's buffer
 * (el_kctx_forward). Outputs start empty; a kernel that fails leaves the
 * executor to release whatever it did fill. Kernels never keep pointers to
 * inputs or outputs after returning, except by retaining a tensor (e.g. a
 * TensorArray storing an element). */
#ifndef EL_OPS_KERNEL_H
#define EL_OPS_KERNEL_H

#include "edgelens/status.h"
#include "edgelens/tensor.h"
#include "graph/graph.h"

#define EL_KCTX_MAX_SCRATCH 8

typedef struct el_kctx {
    const el_node *node;
    int ninputs;
    const el_tensor *inputs;  /* data inputs, in order */
    int noutputs;             /* as the op table says for this node */
    el_tensor *outputs;       /* zero-initialised, to fill */
    /* Scratch areas handed out by el_kctx_scratch, freed by el_kctx_end. */
    int nscratch;
    void *scratch[EL_KCTX_MAX_SCRATCH];
} el_kctx;

typedef el_status (*el_kernel_fn)(el_kctx *ctx);

/* What the executor must know of a kernel to run it on any of its threads
 * (exec/run.c); kernels without either flag may run on the run's second
 * thread, concurrently with others. */
enum {
    /* Mutates state shared by several nodes (TensorArray/TensorList
     * resources, which are not locked): runs on the run's first thread. */
    EL_OP_STATEFUL = 1,
    /* Splits large work over the session's threads (convolutions, pooling,
     * resize, reductions): runs on the first thread, where it keeps them. */
    EL_OP_PARALLEL = 2,
};

/* One row per op. `noutputs` gives the output count for a node (NULL means 1);
 * it may read attrs (Split's num_split) and must return -1 with an error set
 * when they are invalid. `flags`: EL_OP_* above. */
typedef struct el_op {
    const char *name;
    el_kernel_fn run;
    int (*noutputs)(const el_node *n);
    unsigned flags;
} el_op;

/* Every op family exports a table ending with a {NULL} row; registry.c lists
 * the tables. */
const el_op *el_op_find(const char *name);

/* Error "node 'X' (op Y): <message>" with `code`. */
el_status el_kerr(const el_kctx *ctx, el_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocate output `idx`. */
el_status el_kctx_output(el_kctx *ctx, int idx, el_dtype dt, int ndim, const int64_t *dims, el_tensor **out);
/* Output `idx` shares input `in`'s buffer, viewed with shape (ndim, dims). */
el_status el_kctx_forward(el_kctx *ctx, int idx, int in, int ndim, const int64_t *dims);

/* Scratch memory for the kernel's own use while it runs: at least `bytes`
 * bytes, 64-byte aligned, uninitialised, valid until the kernel returns (its
 * caller frees every area with el_kctx_end). Inside a session it comes from
 * the session's memory pool, so a kernel in steady state takes nothing from
 * the heap; kernels use it instead of malloc. At most EL_KCTX_MAX_SCRATCH
 * areas per call; out of memory is an error naming the node. */
el_status el_kctx_scratch(el_kctx *ctx, size_t bytes, void **out);
/* Frees the kernel's scratch areas; whoever calls a kernel calls this after
 * it returned, whether it succeeded or not. */
void el_kctx_end(el_kctx *ctx);

/* Checks: input count at least `n`, input `i` of dtype `dt`. */
el_status el_kctx_need_inputs(const el_kctx *ctx, int n);
el_status el_kctx_need_dtype(const el_kctx *ctx, int i, el_dtype dt);

/* Reads element `i` of an int32 or int64 tensor as int64 (for shape and index
 * inputs). Errors for other dtypes. */
el_status el_kctx_index_value(const el_kctx *ctx, int input, int64_t i, int64_t *out);
/* Reads a whole int32/int64 vector (or scalar) input into out[0..*n). At most
 * `cap` values; more is an error. */
el_status el_kctx_index_vector(const el_kctx *ctx, int input, int64_t *out, int cap, int *n);

#endif
