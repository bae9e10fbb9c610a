/* TensorArrayV3 and its ops (TF1 tf.TensorArray, used by map_fn and while
 * loops in the OD API export). The handle output is a resource tensor whose
 * context is the array; the "flow" tensors only order the ops and carry a
 * float scalar, as in TensorFlow. The array is freed with its last handle. */
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/kernel.h"

#define EL_TA_MAX_SIZE (1 << 24)

typedef struct el_tensor_array {
    el_dtype dtype;
    el_shape element_shape;  /* rank -1: unknown */
    bool dynamic_size;
    bool clear_after_read;
    bool identical_shapes;
    int64_t size;
    int64_t cap;
    el_tensor *elems;
    uint8_t *written;
    uint8_t *cleared;
} el_tensor_array;

static void el_ta_destroy(void *ctx)
{
    el_tensor_array *ta = ctx;
    for (int64_t i = 0; i < ta->size; i++) el_tensor_release(&ta->elems[i]);
    el_mem_free(ta->elems);
    el_mem_free(ta->written);
    el_mem_free(ta->cleared);
    el_mem_free(ta);
}

static el_status el_ta_reserve(el_kctx *ctx, el_tensor_array *ta, int64_t size)
{
    if (size > EL_TA_MAX_SIZE) return el_kerr(ctx, EL_ERR_LIMIT, "TensorArray size %lld exceeds %d", (long long)size, EL_TA_MAX_SIZE);
    if (size <= ta->cap) {
        if (size > ta->size) ta->size = size;
        return EL_OK;
    }
    int64_t cap = ta->cap ? ta->cap : 4;
    while (cap < size) cap *= 2;
    el_tensor *e = el_mem_realloc(ta->elems, sizeof *e * (size_t)cap);
    if (e) ta->elems = e;
    uint8_t *w = el_mem_realloc(ta->written, (size_t)cap);
    if (w) ta->written = w;
    uint8_t *c = el_mem_realloc(ta->cleared, (size_t)cap);
    if (c) ta->cleared = c;
    if (!e || !w || !c) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory growing a TensorArray");
    memset(ta->elems + ta->cap, 0, sizeof *e * (size_t)(cap - ta->cap));
    memset(ta->written + ta->cap, 0, (size_t)(cap - ta->cap));
    memset(ta->cleared + ta->cap, 0, (size_t)(cap - ta->cap));
    ta->cap = cap;
    ta->size = size;
    return EL_OK;
}

static el_status el_flow_out(el_kctx *ctx, int idx)
{
    el_tensor *t;
    EL_TRY(el_kctx_output(ctx, idx, EL_DT_FLOAT, 0, NULL, &t));
    *(float *)t->data = 0.0f;
    return EL_OK;
}

static el_status el_ta_get(el_kctx *ctx, el_tensor_array **out)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    *out = el_tensor_resource_ctx(&ctx->inputs[0]);
    if (!*out) return el_kerr(ctx, EL_ERR_RUNTIME, "input 0 is not a TensorArray handle");
    return EL_OK;
}

static el_status el_op_ta_v3(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    int64_t size;
    EL_TRY(el_kctx_index_value(ctx, 0, 0, &size));
    if (size < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "negative TensorArray size %lld", (long long)size);
    el_tensor_array *ta = el_mem_calloc(1, sizeof *ta);
    if (!ta) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
    el_status s = el_attr_dtype(ctx->node, "dtype", EL_DT_INVALID, &ta->dtype);
    bool present;
    if (s == EL_OK) s = el_attr_shape(ctx->node, "element_shape", &ta->element_shape, &present);
    if (s == EL_OK) s = el_attr_bool(ctx->node, "dynamic_size", false, &ta->dynamic_size);
    if (s == EL_OK) s = el_attr_bool(ctx->node, "clear_after_read", true, &ta->clear_after_read);
    if (s == EL_OK) s = el_attr_bool(ctx->node, "identical_element_shapes", false, &ta->identical_shapes);
    if (s == EL_OK) s = el_ta_reserve(ctx, ta, size);
    if (s == EL_OK) ta->size = size;
    if (s == EL_OK) s = el_tensor_resource(&ctx->outputs[0], ta, el_ta_destroy);
    if (s != EL_OK) {
        el_ta_destroy(ta);
        return s;
    }
    return el_flow_out(ctx, 1);
}

static int el_two_outputs(const el_node *n) { return 2; }

static el_status el_ta_index(el_kctx *ctx, el_tensor_array *ta, int64_t idx, bool writing)
{
    if (idx < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray index %lld is negative", (long long)idx);
    if (idx >= ta->size) {
        if (!writing || !ta->dynamic_size)
            return el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray index %lld out of range (size %lld)", (long long)idx,
                           (long long)ta->size);
        EL_TRY(el_ta_reserve(ctx, ta, idx + 1));
    }
    return EL_OK;
}

static bool el_shape_compatible(const el_shape *s, const el_tensor *t)
{
    if (s->rank < 0) return true;
    if (s->rank != t->ndim) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] >= 0 && s->dims[i] != t->dims[i]) return false;
    return true;
}

static el_status el_ta_write(el_kctx *ctx, el_tensor_array *ta, int64_t idx, el_tensor *value)
{
    EL_TRY(el_ta_index(ctx, ta, idx, true));
    if (value->dtype != ta->dtype)
        return el_kerr(ctx, EL_ERR_RUNTIME, "writing %s into a TensorArray of %s", el_dtype_name(value->dtype),
                       el_dtype_name(ta->dtype));
    if (!el_shape_compatible(&ta->element_shape, value))
        return el_kerr(ctx, EL_ERR_RUNTIME, "element %lld does not match the TensorArray's element_shape", (long long)idx);
    if (ta->written[idx])
        return el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray index %lld has already been written to", (long long)idx);
    ta->elems[idx] = *value;
    ta->written[idx] = 1;
    return EL_OK;
}

static el_status el_op_ta_write(el_kctx *ctx)
{
    el_tensor_array *ta;
    EL_TRY(el_ta_get(ctx, &ta));
    EL_TRY(el_kctx_need_inputs(ctx, 4));
    int64_t idx;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &idx));
    el_tensor v = ctx->inputs[2];
    el_tensor_retain(&v);
    el_status s = el_ta_write(ctx, ta, idx, &v);
    if (s != EL_OK) {
        el_tensor_release(&v);
        return s;
    }
    return el_flow_out(ctx, 0);
}

/* Element idx as a tensor reference; unwritten elements of a fully defined
 * element_shape read as zeros (TensorFlow's behaviour). */
static el_status el_ta_read(el_kctx *ctx, el_tensor_array *ta, int64_t idx, el_tensor *out)
{
    EL_TRY(el_ta_index(ctx, ta, idx, false));
    if (ta->cleared[idx])
        return el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray index %lld was already read and cleared (clear_after_read)",
                       (long long)idx);
    if (!ta->written[idx]) {
        bool defined = ta->element_shape.rank >= 0;
        for (int i = 0; defined && i < ta->element_shape.rank; i++) defined = ta->element_shape.dims[i] >= 0;
        if (!defined)
            return el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray index %lld has not been written to", (long long)idx);
        return el_tensor_zeros(out, ta->dtype, ta->element_shape.rank, ta->element_shape.dims);
    }
    *out = ta->elems[idx];
    el_tensor_retain(out);
    return EL_OK;
}

static void el_ta_after_read(el_tensor_array *ta, int64_t idx)
{
    if (ta->clear_after_read && idx < ta->size && ta->written[idx]) {
        el_tensor_release(&ta->elems[idx]);
        ta->cleared[idx] = 1;
    }
}

static el_status el_op_ta_read(el_kctx *ctx)
{
    el_tensor_array *ta;
    EL_TRY(el_ta_get(ctx, &ta));
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    int64_t idx;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &idx));
    EL_TRY(el_ta_read(ctx, ta, idx, &ctx->outputs[0]));
    el_ta_after_read(ta, idx);
    return EL_OK;
}

static el_status el_op_ta_size(el_kctx *ctx)
{
    el_tensor_array *ta;
    el_tensor *t;
    EL_TRY(el_ta_get(ctx, &ta));
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_INT32, 0, NULL, &t));
    *(int32_t *)t->data = (int32_t)ta->size;
    return EL_OK;
}

static el_status el_op_ta_close(el_kctx *ctx) { return EL_OK; }

/* Scatter: value[i] goes to index indices[i]. */
static el_status el_op_ta_scatter(el_kctx *ctx)
{
    el_tensor_array *ta;
    EL_TRY(el_ta_get(ctx, &ta));
    EL_TRY(el_kctx_need_inputs(ctx, 4));
    const el_tensor *ind = &ctx->inputs[1], *val = &ctx->inputs[2];
    int64_t n = el_tensor_numel(ind);
    if (ind->ndim != 1) return el_kerr(ctx, EL_ERR_RUNTIME, "indices must be a vector");
    if (val->ndim < 1 || val->dims[0] != n)
        return el_kerr(ctx, EL_ERR_RUNTIME, "value's first dimension must equal the %lld indices", (long long)n);
    int64_t esize = n ? el_tensor_numel(val) / n : 0;
    size_t ebytes = (size_t)esize * el_dtype_size(val->dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx;
        el_tensor e;
        EL_TRY(el_kctx_index_value(ctx, 1, i, &idx));
        if (n == 1) {
            /* The only element shares value's buffer (tensors are never
             * written once produced): the OD API preprocessor scatters a
             * batch of one image this way. */
            EL_TRY(el_tensor_reshape_view(&e, val, val->ndim - 1, val->dims + 1));
        } else {
            EL_TRY(el_tensor_alloc(&e, val->dtype, val->ndim - 1, val->dims + 1));
            if (ebytes) memcpy(e.data, (const char *)val->data + (size_t)i * ebytes, ebytes);
        }
        el_status s = el_ta_write(ctx, ta, idx, &e);
        if (s != EL_OK) {
            el_tensor_release(&e);
            return s;
        }
    }
    return el_flow_out(ctx, 0);
}

/* Gather stacks elements[indices] into one tensor. */
static el_status el_op_ta_gather(el_kctx *ctx)
{
    el_tensor_array *ta;
    EL_TRY(el_ta_get(ctx, &ta));
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const el_tensor *ind = &ctx->inputs[1];
    if (ind->ndim != 1) return el_kerr(ctx, EL_ERR_RUNTIME, "indices must be a vector");
    int64_t n = el_tensor_numel(ind);
    el_shape es;
    bool present;
    EL_TRY(el_attr_shape(ctx->node, "element_shape", &es, &present));
    if (n == 0) {
        if (es.rank < 0) es = ta->element_shape;
        if (es.rank < 0 || es.rank + 1 > EL_MAX_DIMS)
            return el_kerr(ctx, EL_ERR_RUNTIME, "gathering no elements needs a known element_shape");
        int64_t dims[EL_MAX_DIMS] = {0};
        for (int i = 0; i < es.rank; i++) dims[i + 1] = es.dims[i] < 0 ? 0 : es.dims[i];
        return el_kctx_output(ctx, 0, ta->dtype, es.rank + 1, dims, NULL);
    }
    el_tensor first = {0};
    int64_t idx0;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &idx0));
    EL_TRY(el_ta_read(ctx, ta, idx0, &first));
    if (first.ndim + 1 > EL_MAX_DIMS) {
        el_tensor_release(&first);
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "element rank too high");
    }
    int64_t dims[EL_MAX_DIMS];
    dims[0] = n;
    for (int i = 0; i < first.ndim; i++) dims[i + 1] = first.dims[i];
    if (n == 1) {
        /* One element: the stack is that element viewed as [1, ...], not a
         * copy (as Read shares it; the OD API preprocessor gathers its one
         * resized image this way). */
        el_status s = el_tensor_reshape_view(&ctx->outputs[0], &first, first.ndim + 1, dims);
        el_tensor_release(&first);
        if (s != EL_OK) return el_kerr(ctx, s, "%s", el_last_error());
        el_ta_after_read(ta, idx0);
        return EL_OK;
    }
    el_tensor *out;
    el_status s = el_kctx_output(ctx, 0, ta->dtype, first.ndim + 1, dims, &out);
    size_t ebytes = el_tensor_nbytes(&first);
    for (int64_t i = 0; i < n && s == EL_OK; i++) {
        el_tensor e = {0};
        int64_t idx;
        s = el_kctx_index_value(ctx, 1, i, &idx);
        if (s == EL_OK) s = el_ta_read(ctx, ta, idx, &e);
        if (s == EL_OK && (e.ndim != first.ndim || memcmp(e.dims, first.dims, sizeof(int64_t) * (size_t)e.ndim)))
            s = el_kerr(ctx, EL_ERR_RUNTIME, "TensorArray elements %lld and %lld have different shapes",
                        (long long)idx0, (long long)idx);
        if (s == EL_OK && ebytes) memcpy((char *)out->data + (size_t)i * ebytes, e.data, ebytes);
        el_tensor_release(&e);
    }
    el_tensor_release(&first);
    if (s != EL_OK) return s;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx;
        EL_TRY(el_kctx_index_value(ctx, 1, i, &idx));
        el_ta_after_read(ta, idx);
    }
    return EL_OK;
}

const el_op el_ops_tensor_array[] = {
    {"TensorArrayV3", el_op_ta_v3, el_two_outputs, EL_OP_STATEFUL},
    {"TensorArrayWriteV3", el_op_ta_write, NULL, EL_OP_STATEFUL},
    {"TensorArrayReadV3", el_op_ta_read, NULL, EL_OP_STATEFUL},
    {"TensorArraySizeV3", el_op_ta_size, NULL, EL_OP_STATEFUL},
    {"TensorArrayScatterV3", el_op_ta_scatter, NULL, EL_OP_STATEFUL},
    {"TensorArrayGatherV3", el_op_ta_gather, NULL, EL_OP_STATEFUL},
    {"TensorArrayCloseV3", el_op_ta_close, NULL, EL_OP_STATEFUL},
    {NULL, NULL, NULL, 0},
};
