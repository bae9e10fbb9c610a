/* Helpers shared by the array-op kernels (shape.c, slice.c, concat.c,
 * gather.c, transpose.c): one strided block copy that every data-moving op
 * is expressed with, and the small checks they all repeat.
 *
 * The array ops are type-agnostic: they move elements by size, so they work
 * for every dtype, strings included (an el_string is copied by value; its
 * bytes stay owned by whoever made the input). Resource and variant handles
 * are refused by el_array_elsize: a byte copy would not keep them alive. */
#ifndef EL_OPS_ARRAY_UTIL_H
#define EL_OPS_ARRAY_UTIL_H

#include "ops/kernel.h"

/* Tile views an [d0..dn) tensor as [m0,d0,m1,d1,...]: twice the rank. */
#define EL_STRIDED_MAX_DIMS (2 * EL_MAX_DIMS)

/* Row-major strides (in elements) of a shape. */
void el_strides_of(int ndim, const int64_t *dims, int64_t *strides);

/* Product of dims[from..to) (1 when empty). */
int64_t el_dims_prod(const int64_t *dims, int from, int to);

/* Copies a box of shape dims[0..ndim) (ndim <= EL_STRIDED_MAX_DIMS): the
 * element at index (i0..in-1) goes from src[src_off + sum ik*src_strides[k]]
 * to dst[dst_off + sum ik*dst_strides[k]]. Offsets and strides count
 * elements of `elsize` bytes; src strides may be negative or zero (Tile,
 * reversed StridedSlice). Nothing is touched when a dim is 0, so offsets of
 * an empty box need not be in bounds. Contiguous runs use one memcpy. */
void el_copy_strided(void *dst, int64_t dst_off, const int64_t *dst_strides, const void *src, int64_t src_off,
                     const int64_t *src_strides, size_t elsize, int ndim, const int64_t *dims);

/* The [outer, axis, inner] case (Split, SplitV, Unpack, Concat, Pack): copies
 * `len` slices along the axis from position src_pos of a src with src_axis
 * slices to position dst_pos of a dst with dst_axis slices. */
void el_copy_axis_range(void *dst, int64_t dst_axis, int64_t dst_pos, const void *src, int64_t src_axis,
                        int64_t src_pos, int64_t outer, int64_t len, int64_t inner, size_t elsize);

/* Columns of a row-major [rows, k] array, one array each: dst[j][r] =
 * src[r * k + j] (Split, SplitV and Unpack into k single slices of the
 * innermost axis: boxes into their coordinates), and the reverse,
 * dst[r * k + j] = src[j][r] (Concat and Pack of k such columns). dst and
 * src must not overlap. */
void el_copy_deinterleave(void *const *dst, int k, const void *src, int64_t rows, size_t elsize);
void el_copy_interleave(void *dst, int k, const void *const *src, int64_t rows, size_t elsize);

/* Element size of input `input` for an op that copies elements by value.
 * EL_ERR_UNSUPPORTED for resource/variant/unknown dtypes. */
el_status el_array_elsize(const el_kctx *ctx, int input, size_t *out);

/* An int32/int64 input holding one index (axis, split_dim, ...): a scalar,
 * or, when `allow_vec1`, a one-element vector (TF's legacy forms). `what`
 * names it in the error ("axis tensor should be a scalar integer, ..."). */
el_status el_array_scalar_index(const el_kctx *ctx, int input, const char *what, bool allow_vec1, int64_t *out);

/* Output count of a multi-output op read from an int attr (Split's
 * num_split, Unpack's num, ShapeN's N); `def` when absent. Returns -1 with
 * an error set when below `min` or absurdly large. */
int el_array_count_attr(const el_node *n, const char *attr, int64_t def, int64_t min);

/* "[2,3]" of a tensor's shape into buf (TF's TensorShape::DebugString). */
const char *el_array_shape_str(const el_tensor *t, char *buf, size_t cap);

/* a*b for non-negative a, b; false on int64 overflow. */
bool el_array_mul(int64_t a, int64_t b, int64_t *out);

#endif
