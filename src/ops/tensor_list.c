/* TF2 TensorList ops (tf.TensorArray in TF2 graphs, e.g. the map_fn over the
 * batch in a TF2 OD API export), after TensorFlow's list_kernels.
 *
 * A list is a VALUE, unlike TF1's TensorArrayV3 (a resource): every op that
 * "modifies" a list returns a new list and leaves its input list as it was,
 * so a list handed to two consumers (or kept by a while loop's Switch) never
 * changes under one of them. The handle is a scalar DT_VARIANT tensor whose
 * buffer owns the list (freed with its last reference); elements are tensors
 * shared by reference, never mutated, so copying a list copies references
 * only. TensorFlow forwards the list in place when its refcount is one; the
 * tensor API does not expose refcounts, so edgelens always makes that
 * shallow copy (O(size) reference increments per SetItem/PushBack: lists in
 * detection graphs hold one element per batch image).
 *
 * element_shape inputs follow TF: a scalar -1 is an unknown rank, -1 in a
 * vector an unknown dimension. Unset elements read as zeros when the
 * element shape is known (from the list, the op's element_shape input and
 * the set elements, merged), as TensorFlow does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/kernel.h"

#define EL_TL_MAX_SIZE (1 << 24)
#define EL_TL_MAGIC 0x4c534c54u /* "TLSL": tells a list from a TensorArray handle */

typedef struct el_tensor_list {
    uint32_t magic;
    el_dtype dtype;         /* element_dtype */
    el_shape element_shape; /* rank -1: unknown */
    int64_t max_elements;   /* EmptyTensorList's max_num_elements, -1: no bound */
    int64_t size;
    el_tensor *elems;       /* size of them; buf == NULL: not set */
} el_tensor_list;

static void el_tl_destroy(void *p)
{
    el_tensor_list *l = p;
    for (int64_t i = 0; i < l->size; i++) el_tensor_release(&l->elems[i]);
    el_mem_free(l->elems);
    el_mem_free(l);
}

static el_status el_tl_new(el_kctx *ctx, el_dtype dt, const el_shape *es, int64_t size, el_tensor_list **out)
{
    *out = NULL;
    if (size < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "negative list size %lld", (long long)size);
    if (size > EL_TL_MAX_SIZE)
        return el_kerr(ctx, EL_ERR_LIMIT, "list size %lld exceeds %d", (long long)size, EL_TL_MAX_SIZE);
    el_tensor_list *l = el_mem_calloc(1, sizeof *l);
    el_tensor *e = el_mem_calloc((size_t)(size ? size : 1), sizeof *e);
    if (!l || !e) {
        el_mem_free(l);
        el_mem_free(e);
        return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for a list of %lld elements", (long long)size);
    }
    l->magic = EL_TL_MAGIC;
    l->dtype = dt;
    l->element_shape = *es;
    l->max_elements = -1;
    l->size = size;
    l->elems = e;
    *out = l;
    return EL_OK;
}

/* A copy of src with `size` elements (extra ones unset, missing ones
 * dropped), sharing the element tensors. */
static el_status el_tl_clone(el_kctx *ctx, const el_tensor_list *src, int64_t size, el_tensor_list **out)
{
    EL_TRY(el_tl_new(ctx, src->dtype, &src->element_shape, size, out));
    (*out)->max_elements = src->max_elements;
    for (int64_t i = 0; i < size && i < src->size; i++) {
        (*out)->elems[i] = src->elems[i];
        el_tensor_retain(&(*out)->elems[i]);
    }
    return EL_OK;
}

/* Hands l to output idx; on failure l is freed. */
static el_status el_tl_output(el_kctx *ctx, int idx, el_tensor_list *l)
{
    if (idx >= ctx->noutputs) {
        el_tl_destroy(l);
        return el_kerr(ctx, EL_ERR_RUNTIME, "output %d out of range", idx);
    }
    el_tensor_release(&ctx->outputs[idx]);
    el_status s = el_tensor_resource(&ctx->outputs[idx], l, el_tl_destroy);
    if (s != EL_OK) {
        el_tl_destroy(l);
        return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    }
    ctx->outputs[idx].dtype = EL_DT_VARIANT;
    return EL_OK;
}

static el_status el_tl_input(el_kctx *ctx, int idx, const el_tensor_list **out)
{
    EL_TRY(el_kctx_need_inputs(ctx, idx + 1));
    const el_tensor *t = &ctx->inputs[idx];
    const el_tensor_list *l = NULL;
    if (t->dtype == EL_DT_VARIANT && t->ndim == 0 && t->buf && t->data) l = *(el_tensor_list *const *)t->data;
    if (!l || l->magic != EL_TL_MAGIC)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input %d is not a TensorList (found a %s tensor)", idx,
                       el_dtype_name(t->dtype));
    *out = l;
    return EL_OK;
}

/* The op's element_dtype attr must be the list's. */
static el_status el_tl_check_dtype(el_kctx *ctx, const el_tensor_list *l)
{
    el_dtype dt;
    EL_TRY(el_attr_dtype(ctx->node, "element_dtype", l->dtype, &dt));
    if (dt != l->dtype)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Invalid data types; op elements %s but list elements %s",
                       el_dtype_name(dt), el_dtype_name(l->dtype));
    return EL_OK;
}

/* ---- Partial shapes (TF's PartialTensorShape) ---------------------------- */

static const char *el_pshape_str(const el_shape *s, char *buf, size_t cap)
{
    if (s->rank < 0) {
        snprintf(buf, cap, "<unknown>");
        return buf;
    }
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->rank && n < cap; i++)
        n += (size_t)(s->dims[i] < 0 ? snprintf(buf + n, cap - n, i ? ",?" : "?")
                                     : snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)s->dims[i]));
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* An element_shape input: scalar -1 (unknown rank) or a vector of sizes,
 * -1 for unknown ones. */
static el_status el_tl_shape_input(el_kctx *ctx, int input, el_shape *out)
{
    EL_TRY(el_kctx_need_inputs(ctx, input + 1));
    const el_tensor *t = &ctx->inputs[input];
    if (t->ndim == 0) {
        int64_t v;
        EL_TRY(el_kctx_index_value(ctx, input, 0, &v));
        if (v != -1)
            return el_kerr(ctx, EL_ERR_RUNTIME, "element_shape (input %d) is the scalar %lld; a scalar must be -1", input,
                           (long long)v);
        out->rank = -1;
        return EL_OK;
    }
    int64_t dims[EL_MAX_DIMS];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, input, dims, EL_MAX_DIMS, &n));
    for (int i = 0; i < n; i++)
        if (dims[i] < -1)
            return el_kerr(ctx, EL_ERR_RUNTIME, "element_shape (input %d) has size %lld; sizes must be >= -1", input,
                           (long long)dims[i]);
    out->rank = n;
    memcpy(out->dims, dims, sizeof(int64_t) * (size_t)n);
    return EL_OK;
}

static bool el_pshape_merge(const el_shape *a, const el_shape *b, el_shape *out)
{
    if (a->rank < 0) {
        *out = *b;
        return true;
    }
    if (b->rank < 0) {
        *out = *a;
        return true;
    }
    if (a->rank != b->rank) return false;
    el_shape r = {.rank = a->rank};
    for (int i = 0; i < a->rank; i++) {
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
        r.dims[i] = a->dims[i] >= 0 ? a->dims[i] : b->dims[i];
    }
    *out = r;
    return true;
}

static el_shape el_pshape_of(const el_tensor *t)
{
    el_shape s = {.rank = t->ndim};
    for (int i = 0; i < t->ndim; i++) s.dims[i] = t->dims[i];
    return s;
}

static bool el_pshape_compatible(const el_shape *s, const el_tensor *t)
{
    el_shape ts = el_pshape_of(t), m;
    return el_pshape_merge(s, &ts, &m);
}

static bool el_pshape_defined(const el_shape *s)
{
    if (s->rank < 0) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return false;
    return true;
}

/* The shape an unset element reads as: the list's element_shape merged with
 * the op's element_shape input and, while not fully defined, with every set
 * element (TensorListGetItem / Stack / Gather). */
static el_status el_tl_element_shape(el_kctx *ctx, const el_tensor_list *l, int shape_input, el_shape *out)
{
    el_shape in, m;
    char a[160], b[160];
    EL_TRY(el_tl_shape_input(ctx, shape_input, &in));
    if (!el_pshape_merge(&l->element_shape, &in, &m))
        return el_kerr(ctx, EL_ERR_RUNTIME, "element_shape %s is incompatible with the list's %s",
                       el_pshape_str(&in, a, sizeof a), el_pshape_str(&l->element_shape, b, sizeof b));
    for (int64_t i = 0; i < l->size && !el_pshape_defined(&m); i++) {
        if (!l->elems[i].buf) continue;
        el_shape es = el_pshape_of(&l->elems[i]), r;
        if (!el_pshape_merge(&m, &es, &r))
            return el_kerr(ctx, EL_ERR_RUNTIME, "element %lld has shape %s, incompatible with %s", (long long)i,
                           el_pshape_str(&es, a, sizeof a), el_pshape_str(&m, b, sizeof b));
        m = r;
    }
    *out = m;
    return EL_OK;
}

static el_status el_tl_index(el_kctx *ctx, int input, int64_t *out)
{
    EL_TRY(el_kctx_need_inputs(ctx, input + 1));
    if (el_tensor_numel(&ctx->inputs[input]) != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input %d should be a scalar index", input);
    return el_kctx_index_value(ctx, input, 0, out);
}

/* Element i as a new reference; unset elements are zeros of `shape`, which
 * must then be fully defined. */
static el_status el_tl_read(el_kctx *ctx, const el_tensor_list *l, int64_t i, const el_shape *shape, el_tensor *out)
{
    if (l->elems[i].buf) {
        *out = l->elems[i];
        el_tensor_retain(out);
        return EL_OK;
    }
    if (!el_pshape_defined(shape)) {
        char a[160];
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Trying to read an uninitialized tensor (element %lld) but element_shape is not fully defined: %s",
                       (long long)i, el_pshape_str(shape, a, sizeof a));
    }
    el_status s = el_tensor_zeros(out, l->dtype, shape->rank, shape->dims);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    return EL_OK;
}

/* Stacks elements idx[0..n) (idx NULL: 0..n) into output 0, as
 * TensorListStack and TensorListGather do. */
static el_status el_tl_stack(el_kctx *ctx, const el_tensor_list *l, int shape_input, int64_t n, int index_input)
{
    el_shape es;
    EL_TRY(el_tl_element_shape(ctx, l, shape_input, &es));
    if (!el_pshape_defined(&es)) {
        char a[160];
        if (n == 0 || l->size == 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Tried to stack elements of an empty list with non-fully-defined element_shape: %s",
                           el_pshape_str(&es, a, sizeof a));
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Tried to stack a list which only contains uninitialized tensors and has a non-fully-defined element_shape: %s",
                       el_pshape_str(&es, a, sizeof a));
    }
    if (es.rank + 1 > EL_MAX_DIMS) return el_kerr(ctx, EL_ERR_UNSUPPORTED, "element rank %d too high", es.rank);
    int64_t dims[EL_MAX_DIMS];
    dims[0] = n;
    memcpy(dims + 1, es.dims, sizeof(int64_t) * (size_t)es.rank);
    /* One element (the OD API's map_fn over a batch of one image): a view of
     * it, with no copy. */
    if (n == 1 && index_input < 0 && l->size >= 1 && l->elems[0].buf) {
        const el_tensor *e = &l->elems[0];
        el_shape got = el_pshape_of(e);
        if (got.rank == es.rank && !memcmp(got.dims, es.dims, sizeof(int64_t) * (size_t)es.rank)) {
            el_tensor_release(&ctx->outputs[0]);
            el_status s = el_tensor_reshape_view(&ctx->outputs[0], e, es.rank + 1, dims);
            if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
            return EL_OK;
        }
    }
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, l->dtype, es.rank + 1, dims, &out));
    el_tensor probe = {.dtype = l->dtype, .ndim = es.rank};
    memcpy(probe.dims, es.dims, sizeof(int64_t) * (size_t)es.rank);
    size_t ebytes = el_tensor_nbytes(&probe);
    for (int64_t k = 0; k < n; k++) {
        int64_t i = k;
        if (index_input >= 0) EL_TRY(el_kctx_index_value(ctx, index_input, k, &i));
        if (i < 0 || i >= l->size)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Trying to gather element %lld in a list with %lld elements.",
                           (long long)i, (long long)l->size);
        char *dst = (char *)out->data + (size_t)k * ebytes;
        const el_tensor *e = &l->elems[i];
        if (!e->buf) {
            if (ebytes) memset(dst, 0, ebytes);
            continue;
        }
        el_shape got = el_pshape_of(e);
        if (got.rank != es.rank || memcmp(got.dims, es.dims, sizeof(int64_t) * (size_t)es.rank)) {
            char a[160], b[160];
            return el_kerr(ctx, EL_ERR_RUNTIME, "element %lld has shape %s; stacking needs %s", (long long)i,
                           el_pshape_str(&got, a, sizeof a), el_pshape_str(&es, b, sizeof b));
        }
        if (ebytes) memcpy(dst, e->data, ebytes);
    }
    return EL_OK;
}

/* The element dtypes these ops can stack or split by bytes. */
static el_status el_tl_plain_dtype(el_kctx *ctx, el_dtype dt)
{
    if (dt == EL_DT_RESOURCE || dt == EL_DT_VARIANT || el_dtype_size(dt) == 0)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "lists of %s elements are not supported", el_dtype_name(dt));
    return EL_OK;
}

/* Element i of t (split along dim 0) as a new tensor. */
static el_status el_tl_slice(el_kctx *ctx, const el_tensor *t, int64_t i, el_tensor *out)
{
    el_tensor row = {.dtype = t->dtype, .ndim = t->ndim - 1};
    memcpy(row.dims, t->dims + 1, sizeof(int64_t) * (size_t)row.ndim);
    const size_t eb = el_tensor_nbytes(&row);
    const char *src = (const char *)t->data + (size_t)i * eb;
    /* A row that starts 64-byte aligned (as kernels may expect of a tensor)
     * shares t's buffer: elements are never written in place. */
    if (t->buf && eb && (uintptr_t)src % 64 == 0) {
        row.data = (void *)src;
        row.buf = t->buf;
        el_tensor_retain(&row);
        *out = row;
        return EL_OK;
    }
    el_status s = el_tensor_alloc(out, t->dtype, t->ndim - 1, t->dims + 1);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    if (eb) memcpy(out->data, src, eb);
    return EL_OK;
}

/* ---- Kernels ----------------------------------------------------------------- */

/* EmptyTensorList(element_shape, max_num_elements) */
static el_status el_op_empty_list(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    el_shape es;
    el_dtype dt;
    int64_t max;
    EL_TRY(el_tl_shape_input(ctx, 0, &es));
    EL_TRY(el_tl_index(ctx, 1, &max));
    if (max < -1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "max_num_elements must be -1 or non-negative, got %lld", (long long)max);
    EL_TRY(el_attr_dtype(ctx->node, "element_dtype", EL_DT_INVALID, &dt));
    el_tensor_list *l = NULL;
    EL_TRY(el_tl_new(ctx, dt, &es, 0, &l));
    l->max_elements = max;
    return el_tl_output(ctx, 0, l);
}

/* TensorListReserve(element_shape, num_elements): num_elements unset. */
static el_status el_op_reserve(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    el_shape es;
    el_dtype dt;
    int64_t n;
    EL_TRY(el_tl_shape_input(ctx, 0, &es));
    EL_TRY(el_tl_index(ctx, 1, &n));
    if (n < 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "The num_elements to reserve must be a non negative number, but got %lld",
                       (long long)n);
    EL_TRY(el_attr_dtype(ctx->node, "element_dtype", EL_DT_INVALID, &dt));
    el_tensor_list *l = NULL;
    EL_TRY(el_tl_new(ctx, dt, &es, n, &l));
    return el_tl_output(ctx, 0, l);
}

/* TensorListFromTensor(tensor, element_shape): one element per row. */
static el_status el_op_from_tensor(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *t = &ctx->inputs[0];
    EL_TRY(el_tl_plain_dtype(ctx, t->dtype));
    el_shape es;
    EL_TRY(el_tl_shape_input(ctx, 1, &es));
    if (t->ndim < 1) return el_kerr(ctx, EL_ERR_RUNTIME, "Tensor must be at least a vector, but saw shape: []");
    el_tensor row = {.dtype = t->dtype, .ndim = t->ndim - 1};
    memcpy(row.dims, t->dims + 1, sizeof(int64_t) * (size_t)row.ndim);
    if (!el_pshape_compatible(&es, &row)) {
        char a[160], b[160];
        el_shape rs = el_pshape_of(&row);
        return el_kerr(ctx, EL_ERR_RUNTIME, "Specified a list with shape %s from a tensor with shape %s",
                       el_pshape_str(&es, a, sizeof a), el_pshape_str(&rs, b, sizeof b));
    }
    el_tensor_list *l = NULL;
    EL_TRY(el_tl_new(ctx, t->dtype, &es, t->dims[0], &l));
    for (int64_t i = 0; i < l->size; i++) {
        el_status s = el_tl_slice(ctx, t, i, &l->elems[i]);
        if (s != EL_OK) {
            el_tl_destroy(l);
            return s;
        }
    }
    return el_tl_output(ctx, 0, l);
}

/* TensorListLength(input_handle) */
static el_status el_op_length(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    el_tensor *t;
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_INT32, 0, NULL, &t));
    *(int32_t *)t->data = (int32_t)l->size;
    return EL_OK;
}

/* TensorListElementShape(input_handle): -1 scalar for an unknown rank. */
static el_status el_op_element_shape(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    el_dtype st;
    el_tensor *t;
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_attr_dtype(ctx->node, "shape_type", EL_DT_INT32, &st));
    if (st != EL_DT_INT32 && st != EL_DT_INT64)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "shape_type must be int32 or int64, found %s", el_dtype_name(st));
    int rank = l->element_shape.rank;
    int64_t n = rank < 0 ? 1 : rank;
    EL_TRY(el_kctx_output(ctx, 0, st, rank < 0 ? 0 : 1, &n, &t));
    for (int64_t i = 0; i < n; i++) {
        int64_t v = rank < 0 ? -1 : l->element_shape.dims[i];
        if (st == EL_DT_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
        else ((int64_t *)t->data)[i] = v;
    }
    return EL_OK;
}

/* TensorListGetItem(input_handle, index, element_shape) */
static el_status el_op_get_item(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    int64_t i;
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    EL_TRY(el_tl_index(ctx, 1, &i));
    if (i < 0 || i >= l->size)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Trying to access element %lld in a list with %lld elements.", (long long)i,
                       (long long)l->size);
    el_shape es = {.rank = -1};
    if (!l->elems[i].buf) EL_TRY(el_tl_element_shape(ctx, l, 2, &es));
    el_tensor_release(&ctx->outputs[0]);
    return el_tl_read(ctx, l, i, &es, &ctx->outputs[0]);
}

/* TensorListSetItem(input_handle, index, item): a new list. */
static el_status el_op_set_item(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    int64_t i;
    bool resize;
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    EL_TRY(el_tl_index(ctx, 1, &i));
    EL_TRY(el_attr_bool(ctx->node, "resize_if_index_out_of_bounds", false, &resize));
    if (i < 0 || (i >= l->size && !resize))
        return el_kerr(ctx, EL_ERR_RUNTIME, "Trying to modify element %lld in a list with %lld elements.", (long long)i,
                       (long long)l->size);
    const el_tensor *v = &ctx->inputs[2];
    if (v->dtype != l->dtype)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Invalid data types; list elements %s but tried to set %s",
                       el_dtype_name(l->dtype), el_dtype_name(v->dtype));
    if (!el_pshape_compatible(&l->element_shape, v)) {
        char a[160], b[160];
        el_shape vs = el_pshape_of(v);
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Tried to set a tensor with incompatible shape at a list index. Item element shape: %s list shape: %s",
                       el_pshape_str(&vs, a, sizeof a), el_pshape_str(&l->element_shape, b, sizeof b));
    }
    el_tensor_list *r;
    EL_TRY(el_tl_clone(ctx, l, i >= l->size ? i + 1 : l->size, &r));
    el_tensor_release(&r->elems[i]);
    r->elems[i] = *v;
    el_tensor_retain(&r->elems[i]);
    return el_tl_output(ctx, 0, r);
}

/* TensorListPushBack(input_handle, tensor): a new list one longer. */
static el_status el_op_push_back(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    const el_tensor *v = &ctx->inputs[1];
    if (v->dtype != l->dtype)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Invalid data types; list elements %s but tried to append %s",
                       el_dtype_name(l->dtype), el_dtype_name(v->dtype));
    if (!el_pshape_compatible(&l->element_shape, v)) {
        char a[160], b[160];
        el_shape vs = el_pshape_of(v);
        return el_kerr(ctx, EL_ERR_RUNTIME, "Tried to append a tensor with incompatible shape to a list. Op element shape: %s list shape: %s",
                       el_pshape_str(&vs, a, sizeof a), el_pshape_str(&l->element_shape, b, sizeof b));
    }
    if (l->max_elements >= 0 && l->size >= l->max_elements)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Tried to push item into a full list list size: %lld max_num_elements: %lld",
                       (long long)l->size, (long long)l->max_elements);
    el_tensor_list *r;
    EL_TRY(el_tl_clone(ctx, l, l->size + 1, &r));
    r->elems[l->size] = *v;
    el_tensor_retain(&r->elems[l->size]);
    return el_tl_output(ctx, 0, r);
}

/* TensorListPopBack(input_handle, element_shape) -> (list, tensor) */
static el_status el_op_pop_back(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    if (l->size == 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Trying to pop from an empty list.");
    el_shape es = {.rank = -1};
    if (!l->elems[l->size - 1].buf) EL_TRY(el_tl_element_shape(ctx, l, 1, &es));
    el_tensor_release(&ctx->outputs[1]);
    EL_TRY(el_tl_read(ctx, l, l->size - 1, &es, &ctx->outputs[1]));
    el_tensor_list *r;
    EL_TRY(el_tl_clone(ctx, l, l->size - 1, &r));
    return el_tl_output(ctx, 0, r);
}

static int el_two_outputs(const el_node *n) { return 2; }

/* TensorListStack(input_handle, element_shape); attr num_elements (-1: any). */
static el_status el_op_stack(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    int64_t want;
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    EL_TRY(el_tl_plain_dtype(ctx, l->dtype));
    EL_TRY(el_attr_int(ctx->node, "num_elements", -1, &want));
    if (want != -1 && want != l->size)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Operation expected a list with %lld elements but got a list with %lld elements.",
                       (long long)want, (long long)l->size);
    return el_tl_stack(ctx, l, 1, l->size, -1);
}

/* TensorListGather(input_handle, indices, element_shape) */
static el_status el_op_gather(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    EL_TRY(el_tl_plain_dtype(ctx, l->dtype));
    if (ctx->inputs[1].ndim != 1) return el_kerr(ctx, EL_ERR_RUNTIME, "indices must be a vector");
    return el_tl_stack(ctx, l, 2, el_tensor_numel(&ctx->inputs[1]), 1);
}

/* Writes row k of t at index indices[k] of l, which must hold them. */
static el_status el_tl_scatter_into(el_kctx *ctx, el_tensor_list *l, const el_tensor *t, int indices_input)
{
    const el_tensor *ind = &ctx->inputs[indices_input];
    if (ind->ndim != 1) return el_kerr(ctx, EL_ERR_RUNTIME, "indices must be a vector");
    int64_t n = ind->dims[0];
    if (t->ndim < 1 || t->dims[0] != n)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Specified a list with %lld indices from a tensor whose first dimension is %lld",
                       (long long)n, t->ndim < 1 ? 0LL : (long long)t->dims[0]);
    for (int64_t k = 0; k < n; k++) {
        int64_t i;
        EL_TRY(el_kctx_index_value(ctx, indices_input, k, &i));
        if (i < 0 || i >= l->size)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Trying to scatter into index %lld of a list with %lld elements", (long long)i,
                           (long long)l->size);
        el_tensor e;
        EL_TRY(el_tl_slice(ctx, t, k, &e));
        el_tensor_release(&l->elems[i]);
        l->elems[i] = e;
    }
    return EL_OK;
}

/* Largest index + 1 (0 when there are none). */
static el_status el_tl_index_extent(el_kctx *ctx, int input, int64_t *out)
{
    const el_tensor *ind = &ctx->inputs[input];
    int64_t m = 0;
    for (int64_t k = 0; k < el_tensor_numel(ind); k++) {
        int64_t i;
        EL_TRY(el_kctx_index_value(ctx, input, k, &i));
        if (i < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "Indices in TensorListScatter must all be non-negative, got %lld", (long long)i);
        if (i + 1 > m) m = i + 1;
    }
    *out = m;
    return EL_OK;
}

/* TensorListScatter(tensor, indices, element_shape) and
 * TensorListScatterV2(tensor, indices, element_shape, num_elements). */
static el_status el_op_scatter(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const el_tensor *t = &ctx->inputs[0];
    EL_TRY(el_tl_plain_dtype(ctx, t->dtype));
    el_shape es;
    int64_t size = 0, num = -1;
    EL_TRY(el_tl_shape_input(ctx, 2, &es));
    EL_TRY(el_tl_index_extent(ctx, 1, &size));
    if (ctx->ninputs >= 4) {
        EL_TRY(el_tl_index(ctx, 3, &num));
        if (num != -1 && num < size)
            return el_kerr(ctx, EL_ERR_RUNTIME, "TensorListScatter: Trying to scatter at index %lld in list with size %lld",
                           (long long)(size - 1), (long long)num);
        if (num > size) size = num;
    }
    if (t->ndim >= 1) {
        el_tensor row = {.dtype = t->dtype, .ndim = t->ndim - 1};
        memcpy(row.dims, t->dims + 1, sizeof(int64_t) * (size_t)row.ndim);
        if (!el_pshape_compatible(&es, &row)) return el_kerr(ctx, EL_ERR_RUNTIME, "tensor rows do not match element_shape");
    }
    el_tensor_list *l = NULL;
    EL_TRY(el_tl_new(ctx, t->dtype, &es, size, &l));
    el_status s = el_tl_scatter_into(ctx, l, t, 1);
    if (s != EL_OK) {
        el_tl_destroy(l);
        return s;
    }
    return el_tl_output(ctx, 0, l);
}

/* TensorListScatterIntoExistingList(input_handle, tensor, indices) */
static el_status el_op_scatter_existing(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_check_dtype(ctx, l));
    const el_tensor *t = &ctx->inputs[1];
    if (t->dtype != l->dtype)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Invalid data types; list elements %s but tried to scatter %s",
                       el_dtype_name(l->dtype), el_dtype_name(t->dtype));
    int64_t size = 0;
    EL_TRY(el_tl_index_extent(ctx, 2, &size));
    el_tensor_list *r;
    EL_TRY(el_tl_clone(ctx, l, size > l->size ? size : l->size, &r));
    el_status s = el_tl_scatter_into(ctx, r, t, 2);
    if (s != EL_OK) {
        el_tl_destroy(r);
        return s;
    }
    return el_tl_output(ctx, 0, r);
}

/* TensorListResize(input_handle, size) */
static el_status el_op_resize(el_kctx *ctx)
{
    const el_tensor_list *l = NULL;
    int64_t size = 0;
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_tl_input(ctx, 0, &l));
    EL_TRY(el_tl_index(ctx, 1, &size));
    if (size < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "TensorListSlice expects size to be non-negative. Got: %lld", (long long)size);
    el_tensor_list *r;
    EL_TRY(el_tl_clone(ctx, l, size, &r));
    return el_tl_output(ctx, 0, r);
}

const el_op el_ops_tensor_list[] = {
    {"EmptyTensorList", el_op_empty_list, NULL, EL_OP_STATEFUL},
    {"TensorListReserve", el_op_reserve, NULL, EL_OP_STATEFUL},
    {"TensorListFromTensor", el_op_from_tensor, NULL, EL_OP_STATEFUL},
    {"TensorListLength", el_op_length, NULL, EL_OP_STATEFUL},
    {"TensorListElementShape", el_op_element_shape, NULL, EL_OP_STATEFUL},
    {"TensorListGetItem", el_op_get_item, NULL, EL_OP_STATEFUL},
    {"TensorListSetItem", el_op_set_item, NULL, EL_OP_STATEFUL},
    {"TensorListPushBack", el_op_push_back, NULL, EL_OP_STATEFUL},
    {"TensorListPopBack", el_op_pop_back, el_two_outputs, EL_OP_STATEFUL},
    {"TensorListStack", el_op_stack, NULL, EL_OP_STATEFUL},
    {"TensorListGather", el_op_gather, NULL, EL_OP_STATEFUL},
    {"TensorListScatter", el_op_scatter, NULL, EL_OP_STATEFUL},
    {"TensorListScatterV2", el_op_scatter, NULL, EL_OP_STATEFUL},
    {"TensorListScatterIntoExistingList", el_op_scatter_existing, NULL, EL_OP_STATEFUL},
    {"TensorListResize", el_op_resize, NULL, EL_OP_STATEFUL},
    {NULL, NULL, NULL, 0},
};
