/* Helpers shared by the reference elementwise, reduction and cast kernels:
 * TensorFlow's broadcasting (BCast), the list of element types they compute
 * on, and element conversions with Cast's rules.
 *
 * Nothing here allocates or keeps pointers past a call. */
#ifndef EL_OPS_BROADCAST_H
#define EL_OPS_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgelens/status.h"
#include "edgelens/tensor.h"

/* ---- Element types ----------------------------------------------------- */

/* The numeric types the reference kernels compute on, as
 * X(dtype, suffix, C type, kind): kind F is floating point, I integer. bool
 * (stored as one byte, 0 or 1) is handled separately by each kernel. */
#define EL_NUMERIC_TYPES(X)               \
    X(EL_DT_FLOAT, f32, float, F)         \
    X(EL_DT_DOUBLE, f64, double, F)       \
    X(EL_DT_INT32, i32, int32_t, I)       \
    X(EL_DT_INT64, i64, int64_t, I)       \
    X(EL_DT_UINT8, u8, uint8_t, I)        \
    X(EL_DT_INT8, i8, int8_t, I)          \
    X(EL_DT_INT16, i16, int16_t, I)

/* Kind bits, so an op can list the kinds it accepts. */
enum { EL_KIND_F = 1, EL_KIND_I = 2, EL_KIND_B = 4 };
#define EL_KIND_NUM (EL_KIND_F | EL_KIND_I)
#define EL_KIND_ALL (EL_KIND_F | EL_KIND_I | EL_KIND_B)

/* EL_KIND_* of a dtype, 0 for dtypes the reference kernels do not compute on
 * (float16, string, resource, ...). */
static inline unsigned el_dtype_kind(el_dtype dt)
{
    switch (dt) {
#define EL_KIND_CASE_(DT, SUF, T, K) case DT: return EL_KIND_##K;
    EL_NUMERIC_TYPES(EL_KIND_CASE_)
#undef EL_KIND_CASE_
    case EL_DT_BOOL: return EL_KIND_B;
    default: return 0;
    }
}

/* ---- Broadcasting --------------------------------------------------------- */

#define EL_BCAST_MAX_IN 3

/* TensorFlow's BCast of up to EL_BCAST_MAX_IN shapes: shapes are aligned on
 * their last dimension; in each dimension the sizes must be equal or 1 (a 1
 * stretches, so 0 vs 1 gives 0 but 0 vs 2 is incompatible). The iteration
 * shape is collapsed: size-1 dimensions are dropped and neighbours that every
 * input either has or broadcasts alike are merged, so the same-shape and
 * scalar cases become one flat row. */
typedef struct el_bcast {
    int out_ndim;                    /* output shape, uncollapsed */
    int64_t out_dims[EL_MAX_DIMS];
    int64_t out_numel;               /* saturates at INT64_MAX */
    int nin;
    int ndim;                        /* collapsed rank, >= 1 */
    int64_t dims[EL_MAX_DIMS];       /* collapsed sizes, innermost last */
    int64_t strides[EL_BCAST_MAX_IN][EL_MAX_DIMS]; /* elements; 0 = broadcast */
} el_bcast;

/* Computes the broadcast of nin shapes (ndims[k], dims[k]). Returns false,
 * without a message, when they are incompatible (callers word the error as
 * their op does in TensorFlow). */
bool el_bcast_init(el_bcast *b, int nin, const int *ndims, const int64_t *const *dims);

/* Same, from tensors' shapes. */
bool el_bcast_tensors(el_bcast *b, int nin, const el_tensor *const *ts);

/* Computes one innermost row of n output elements. Input k advances by
 * unit[k] (0: broadcast, 1: contiguous) elements per output element; unit is
 * never 0 for every input unless n == 1. Returns 0, or a nonzero code that
 * stops the iteration and is returned by el_bcast_run. */
typedef int (*el_bcast_row_fn)(void *ctx, void *out, const void *const *in, const int *unit, int64_t n);

/* Calls `row` over the whole output (contiguous, out_numel elements of
 * out_es bytes) with in[k] pointing at elements of in_es[k] bytes. */
int el_bcast_run(const el_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                 el_bcast_row_fn row, void *ctx);

/* Fills n elements of es bytes at dst with copies of *elem. */
void el_fill_elems(void *dst, const void *elem, size_t es, int64_t n);

/* ---- Element conversions (defined in cast.c) ------------------------------ */

/* IEEE binary16 <-> binary32, round to nearest even; NaN stays NaN. */
float el_half_to_float(uint16_t h);
uint16_t el_float_to_half(float f);

/* Converts n elements from src (dtype sdt) to dst (dtype ddt) with
 * TensorFlow's Cast rules: float -> integer truncates toward zero, saturates
 * out of range and maps NaN to 0 (TensorFlow leaves these undefined);
 * integer -> integer wraps; anything -> bool is x != 0; bool -> number is
 * 0/1. `truncate` is Cast's Truncate attr: before a float -> narrower float
 * conversion the mantissa bits that do not fit are zeroed (rounding toward
 * zero). Supports float32, float64, float16, int8/16/32/64, uint8 and bool;
 * other dtypes give EL_ERR_UNSUPPORTED with a message. src and dst must not
 * overlap. */
el_status el_cast_array(const void *src, el_dtype sdt, void *dst, el_dtype ddt, int64_t n, bool truncate);

/* A new tensor holding `in` converted to dtype dt (a deep copy when dt is
 * in's dtype). On failure *out is left empty. */
el_status el_cast_tensor(el_tensor *out, const el_tensor *in, el_dtype dt);

#endif
