/* edgelens: tensors.
 *
 * An el_tensor is a small value (dtype, shape, data pointer) that shares a
 * reference-counted el_buffer. Copying the struct does not copy data: call
 * el_tensor_retain() on the copy to own a reference, el_tensor_release() to
 * drop it. A zero-initialised el_tensor is empty and safe to release. */
#ifndef EDGELENS_TENSOR_H
#define EDGELENS_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgelens/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values are TensorFlow's DataType enum (tensorflow/core/framework/types.proto)
 * so GraphDef attrs map 1:1. */
typedef enum el_dtype {
    EL_DT_INVALID = 0,
    EL_DT_FLOAT = 1,
    EL_DT_DOUBLE = 2,
    EL_DT_INT32 = 3,
    EL_DT_UINT8 = 4,
    EL_DT_INT16 = 5,
    EL_DT_INT8 = 6,
    EL_DT_STRING = 7,
    EL_DT_INT64 = 9,
    EL_DT_BOOL = 10,
    EL_DT_HALF = 19,
    EL_DT_RESOURCE = 20,
    EL_DT_VARIANT = 21
} el_dtype;

#define EL_MAX_DIMS 8

/* An element of a DT_STRING tensor. The bytes are owned by whoever made the
 * tensor (for a Const, the graph) and live at least as long as it. */
typedef struct el_string {
    const char *data;
    size_t len;
} el_string;

typedef struct el_buffer el_buffer;

typedef struct el_tensor {
    el_dtype dtype;
    int ndim;
    int64_t dims[EL_MAX_DIMS];
    void *data;      /* first element; 64-byte aligned when allocated here */
    el_buffer *buf;  /* owner of `data`, NULL for an empty tensor */
} el_tensor;

/* Bytes per element (sizeof(el_string) for strings, sizeof(void*) for
 * resources); 0 for an unknown dtype. */
size_t el_dtype_size(el_dtype dt);
/* TensorFlow's name of a dtype: "float32", "int32", ... */
const char *el_dtype_name(el_dtype dt);

/* Number of elements (1 for a scalar). */
int64_t el_tensor_numel(const el_tensor *t);
size_t el_tensor_nbytes(const el_tensor *t);

/* Allocate a tensor with uninitialised contents. Fails with EL_ERR_NOMEM (and
 * a message) when the size overflows or exceeds EL_TENSOR_MAX_BYTES. */
#define EL_TENSOR_MAX_BYTES ((size_t)1 << 32)
el_status el_tensor_alloc(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims);
/* Same, zero-filled. */
el_status el_tensor_zeros(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims);

/* Wrap memory owned elsewhere (not freed by edgelens). `data` must outlive
 * every tensor that shares the result. */
el_status el_tensor_wrap(el_tensor *t, el_dtype dt, int ndim, const int64_t *dims, void *data);

/* A buffer whose release calls `destroy(ctx)` (used for resources such as
 * TensorArrays): the tensor's data points to a `void*` holding ctx. */
el_status el_tensor_resource(el_tensor *t, void *ctx, void (*destroy)(void *ctx));
/* The ctx of a resource tensor, NULL if t is not one. */
void *el_tensor_resource_ctx(const el_tensor *t);

void el_tensor_retain(el_tensor *t);
/* Drop the reference and reset *t to empty. */
void el_tensor_release(el_tensor *t);

/* Shares t's buffer under another shape of the same element count. */
el_status el_tensor_reshape_view(el_tensor *out, const el_tensor *t, int ndim, const int64_t *dims);

/* Deep copy. */
el_status el_tensor_copy(el_tensor *out, const el_tensor *t);

/* "[1,256,256,3]" into buf; returns buf. */
const char *el_shape_str(int ndim, const int64_t *dims, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
