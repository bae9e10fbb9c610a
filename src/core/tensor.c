/* Tensors over reference-counted buffers. */
#include "edgelens/tensor.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"

#define EL_ALIGN 64

/* One el_mem_alloc block: the header, then (for el_tensor_alloc) the data at
 * the next 64-byte boundary, so a tensor costs one allocation from the
 * session's pool. */
struct el_buffer {
    /* Atomic: sessions on different threads share the graph's constants
     * (and an optimized graph shares them with its source). */
    atomic_int refs;
    void *data;
    void *ctx;                    /* resource context */
    void (*destroy)(void *ctx);   /* resource destructor */
};
#define EL_BUFFER_HEADER ((sizeof(el_buffer) + EL_ALIGN - 1) / EL_ALIGN * EL_ALIGN)

size_t el_dtype_size(el_dtype dt)
{
    switch (dt) {
    case EL_DT_FLOAT: return 4;
    case EL_DT_DOUBLE: return 8;
    case EL_DT_INT32: return 4;
    case EL_DT_UINT8: return 1;
    case EL_DT_INT16: return 2;
    case EL_DT_INT8: return 1;
    case EL_DT_STRING: return sizeof(el_string);
    case EL_DT_INT64: return 8;
    case EL_DT_BOOL: return 1;
    case EL_DT_HALF: return 2;
    case EL_DT_RESOURCE: return sizeof(void *);
    case EL_DT_VARIANT: return sizeof(void *);
    default: return 0;
    }
}

const char *el_dtype_name(el_dtype dt)
{
    switch (dt) {
    case EL_DT_FLOAT: return "float32";
    case EL_DT_DOUBLE: return "float64";
    case EL_DT_INT32: return "int32";
    case EL_DT_UINT8: return "uint8";
    case EL_DT_INT16: return "int16";
    case EL_DT_INT8: return "int8";
    case EL_DT_STRING: return "string";
    case EL_DT_INT64: return "int64";
    case EL_DT_BOOL: return "bool";
    case EL_DT_HALF: return "float16";
    case EL_DT_RESOURCE: return "resource";
    case EL_DT_VARIANT: return "variant";
    default: return "invalid";
    }
}

int64_t el_tensor_numel(const el_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

size_t el_tensor_nbytes(const el_tensor *t)
{
    return (size_t)el_tensor_numel(t) * el_dtype_size(t->dtype);
}

const char *el_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Checks a shape and computes its byte size without overflow. */
static el_status el_shape_bytes(el_dtype dt, int ndim, const int64_t *dims, size_t *out)
{
    size_t es = el_dtype_size(dt);
    if (es == 0) return el_error(EL_ERR_UNSUPPORTED, "unsupported dtype %d", (int)dt);
    if (ndim < 0 || ndim > EL_MAX_DIMS)
        return el_error(EL_ERR_UNSUPPORTED, "rank %d exceeds the maximum of %d", ndim, EL_MAX_DIMS);
    size_t bytes = es;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return el_error(EL_ERR_INVALID_ARG, "negative dimension %lld", (long long)dims[i]);
        if (dims[i] != 0 && bytes > EL_TENSOR_MAX_BYTES / (uint64_t)dims[i]) {
            char s[160];
            return el_error(EL_ERR_NOMEM, "tensor of shape %s (%s) exceeds %zu bytes",
                            el_shape_str(ndim, dims, s, sizeof s), el_dtype_name(dt),
                            (size_t)EL_TENSOR_MAX_BYTES);
        }
        bytes *= (size_t)dims[i];
    }
    *out = bytes;
    return EL_OK;
}

static void el_tensor_set_shape(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims)
{
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < EL_MAX_DIMS; i++) t->dims[i] = i < ndim ? dims[i] : 0;
}

el_status el_tensor_alloc(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims)
{
    size_t bytes;
    memset(t, 0, sizeof *t);
    EL_TRY(el_shape_bytes(dt, ndim, dims, &bytes));
    el_buffer *b = el_mem_alloc(EL_BUFFER_HEADER + bytes);
    if (!b) return el_error(EL_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    void *d = (char *)b + EL_BUFFER_HEADER;
    *b = (el_buffer){.data = d};
    atomic_init(&b->refs, 1);
    el_tensor_set_shape(t, dt, ndim, dims);
    t->buf = b;
    t->data = d;
    return EL_OK;
}

el_status el_tensor_zeros(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims)
{
    EL_TRY(el_tensor_alloc(t, dt, ndim, dims));
    memset(t->data, 0, el_tensor_nbytes(t));
    return EL_OK;
}

el_status el_tensor_wrap(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims, void *data)
{
    size_t bytes;
    memset(t, 0, sizeof *t);
    EL_TRY(el_shape_bytes(dt, ndim, dims, &bytes));
    el_buffer *b = el_mem_alloc(sizeof *b);
    if (!b) return el_error(EL_ERR_NOMEM, "out of memory");
    *b = (el_buffer){.data = data};
    atomic_init(&b->refs, 1);
    el_tensor_set_shape(t, dt, ndim, dims);
    t->buf = b;
    t->data = data;
    return EL_OK;
}

el_status el_tensor_resource(el_tensor *t, void *ctx, void (*destroy)(void *ctx))
{
    EL_TRY(el_tensor_alloc(t, EL_DT_RESOURCE, 0, NULL));
    *(void **)t->data = ctx;
    t->buf->ctx = ctx;
    t->buf->destroy = destroy;
    return EL_OK;
}

void *el_tensor_resource_ctx(const el_tensor *t)
{
    if (t->dtype != EL_DT_RESOURCE || !t->buf || el_tensor_numel(t) != 1) return NULL;
    return *(void **)t->data;
}

void el_tensor_retain(el_tensor *t)
{
    if (t->buf) atomic_fetch_add_explicit(&t->buf->refs, 1, memory_order_relaxed);
}

void el_tensor_release(el_tensor *t)
{
    el_buffer *b = t->buf;
    /* The only holder needs no read-modify-write: nobody else can take a
     * reference to a buffer they do not hold. Most of a run's tensors have
     * one holder when they are released. */
    if (b && (atomic_load_explicit(&b->refs, memory_order_acquire) == 1 ||
              atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)) {
        if (b->destroy) b->destroy(b->ctx);
        el_mem_free(b);
    }
    memset(t, 0, sizeof *t);
}

el_status el_tensor_reshape_view(el_tensor *out, const el_tensor *t, int ndim, const int64_t *dims)
{
    int64_t n = 1;
    if (ndim < 0 || ndim > EL_MAX_DIMS)
        return el_error(EL_ERR_UNSUPPORTED, "rank %d exceeds the maximum of %d", ndim, EL_MAX_DIMS);
    for (int i = 0; i < ndim; i++) n *= dims[i];
    if (n != el_tensor_numel(t)) {
        char a[160], b[160];
        return el_error(EL_ERR_INVALID_ARG, "cannot view shape %s as %s",
                        el_shape_str(t->ndim, t->dims, a, sizeof a), el_shape_str(ndim, dims, b, sizeof b));
    }
    el_tensor v = *t;
    el_tensor_set_shape(&v, t->dtype, ndim, dims);
    el_tensor_retain(&v);
    *out = v;
    return EL_OK;
}

el_status el_tensor_copy(el_tensor *out, const el_tensor *t)
{
    EL_TRY(el_tensor_alloc(out, t->dtype, t->ndim, t->dims));
    size_t n = el_tensor_nbytes(t);
    if (n) memcpy(out->data, t->data, n);
    return EL_OK;
}
