/* Fast depthwise convolution kernels (SIMD, threaded) behind the
 * reference loops of ops/conv.c, which stay the oracle (tests compare every
 * ISA against them). Dispatch, ISA forcing, the epilogue and the geometry
 * are shared with Conv2D (ops/conv_fast.h). */
#ifndef EL_OPS_DWCONV_FAST_H
#define EL_OPS_DWCONV_FAST_H

#include "ops/conv_fast.h"

/* Runs when the geometry is supported by the chosen ISA, returning true;
 * false means "use the reference kernel" (nothing was written). Threads
 * come from el_threadpool_current(). */
bool el_depthwise_fast(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y);

/* The rows kernel below for the chosen ISA, or NULL when the geometry has
 * no fast kernel (what el_depthwise_fast would run, for a caller that
 * splits the rows itself). */
typedef void (*el_dw_fn)(const el_conv_geom *g, const float *x, int64_t ring, const float *w, const el_conv_epi *e,
                         float *yrows, int64_t b, int64_t oy0, int64_t oy1, int64_t c0, int64_t c1);
el_dw_fn el_depthwise_rows_fn(const el_conv_geom *g);

/* ---- per-ISA entry points (dwconv_avx512.c, dwconv_avx2.c) ---- */

/* Depthwise convolution with multiplier 1: output rows [oy0, oy1) of batch
 * b, channels [c0, c1) (any range; the callee walks it in vectors), stored
 * from yrows on (row oy0 there, the next rows after it: the output tensor
 * at row oy0 of batch b, or a buffer of those rows only). Input row iy of
 * batch b is at x + (b * ring + iy % ring) * W_in * C: ring = H_in for the
 * whole input tensor, or the kernel height for a ring of the last rows
 * (ops/conv.c's expansion run inside the depthwise convolution; b 0). */
void el_depthwise_rows_f32_avx512(const el_conv_geom *g, const float *x, int64_t ring, const float *w,
                                  const el_conv_epi *e, float *yrows, int64_t b, int64_t oy0, int64_t oy1, int64_t c0,
                                  int64_t c1);
void el_depthwise_rows_f32_avx2(const el_conv_geom *g, const float *x, int64_t ring, const float *w,
                                const el_conv_epi *e, float *yrows, int64_t b, int64_t oy0, int64_t oy1, int64_t c0,
                                int64_t c1);

#endif
