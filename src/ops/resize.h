/* The resize core shared by the ResizeBilinear / ResizeNearestNeighbor
 * kernels and el_image_resize_bilinear (video layer), so the interpolation
 * rule exists once.
 *
 * Semantics are TensorFlow's CPU kernels (resize_bilinear_op.cc,
 * resize_nearest_neighbor_op.cc): the scale is computed in float32, source
 * coordinates in float32, and each output is
 *   top    = tl + (tr - tl) * x_lerp
 *   bottom = bl + (br - bl) * x_lerp
 *   out    = top + (bottom - top) * y_lerp
 * in float32, in that order (TF.js's cpu backend gives the same uint8
 * results on the reference photos). */
#ifndef EL_OPS_RESIZE_H
#define EL_OPS_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "edgelens/status.h"
#include "edgelens/tensor.h"

/* Input: NHWC, dtype uint8, int8, int16, int32, int64, float or double.
 * Output: exactly one of out_f32 (float32, as TF's ResizeBilinear) or out_u8
 * (each value rounded half away from zero, as std::round, then clamped to
 * 0..255: the image path's "resize, tf.round, cast to uint8").
 * align_corners and half_pixel_centers must not both be true. Sizes must be
 * positive; the caller checks that the output fits in memory. The function
 * allocates only its small per-axis tables. */
typedef struct el_resize_args {
    el_dtype in_dtype;
    const void *in;
    int64_t batch, in_h, in_w, channels;
    int64_t out_h, out_w;
    bool align_corners;
    bool half_pixel_centers;
    float *out_f32;
    uint8_t *out_u8;
} el_resize_args;

/* Errors (EL_ERR_INVALID_ARG / EL_ERR_UNSUPPORTED / EL_ERR_NOMEM) carry a
 * message without context; callers prefix the node or image. */
el_status el_resize_bilinear_core(const el_resize_args *a);

/* The source rows (or columns) of one output axis of a bilinear resize,
 * as el_resize_bilinear_core takes them: output i reads lo and hi with
 * weight lerp, top = tl + (tr - tl) * x_lerp and so on, each operation
 * rounded in turn (no fused multiply-add). For readers that resize on the
 * fly (ops/concat.c, EL_CONCAT_RESIZE_ATTR): the same bits. */
typedef struct el_resize_interp {
    int64_t lo, hi;
    float lerp;
} el_resize_interp;
void el_resize_bilinear_axis(int64_t in, int64_t out, bool align_corners, bool half_pixel_centers, el_resize_interp *w);

/* Nearest neighbour: copies elements of `elem_size` bytes from in to out
 * (same dtype), TF's ResizeNearestNeighbor index rule. */
el_status el_resize_nearest_core(const void *in, void *out, size_t elem_size, int64_t batch, int64_t in_h,
                                 int64_t in_w, int64_t channels, int64_t out_h, int64_t out_w,
                                 bool align_corners, bool half_pixel_centers);

#endif
