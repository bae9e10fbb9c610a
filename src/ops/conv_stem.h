/* Conv2D over an input of a few channels (a network's first layer on an
 * RGB image: 3x3 stride 2, 3 -> 16 or 32; 7x7 stride 4, 3 -> 24). The
 * packed GEMM (conv_gemm.c) works in 32-channel panels (16 outputs idle
 * half of each multiply) over a K of 27-147 too short to amortize its
 * tile set-up and the separate hard-swish pass; here the whole output
 * depth (up to 4 vectors of 16) of a block of pixels stays in registers
 * across the window, each input element is broadcast from where it lies
 * (the windows of a row's pixels step by stride * ic floats, no copy),
 * and the bias, clamp and tile operations run on the block's row segment
 * while it is in L1. Agreement with the reference is to float rounding;
 * every output element is summed in one fixed order (k = tap * ic +
 * channel ascending), whatever the thread count or block it falls in. */
#ifndef EL_OPS_CONV_STEM_H
#define EL_OPS_CONV_STEM_H

#include <stdbool.h>

#include "ops/conv_fast.h"
#include "ops/gemm.h"
#include "ops/mul_add.h"

/* Input depths up to this take the stem kernel (deeper inputs have a K
 * the GEMMs amortize), with output depths up to EL_CONV_STEM_MAX_OC and
 * windows of at least 2 taps and at most EL_CONV_STEM_MAX_K elements. */
#define EL_CONV_STEM_MAX_IC 4
#define EL_CONV_STEM_MAX_OC 64
#define EL_CONV_STEM_MAX_K 256

/* Whether a filter of taps windows of ic x oc has those sizes. */
static inline bool el_conv_stem_fits(int64_t taps, int64_t ic, int64_t oc)
{
    return ic >= 1 && ic <= EL_CONV_STEM_MAX_IC && oc >= 1 && oc <= EL_CONV_STEM_MAX_OC && taps >= 2 &&
           taps <= EL_CONV_MAX_TAPS && taps * ic <= EL_CONV_STEM_MAX_K;
}

/* Like el_conv2d_fast: true when it ran (AVX-512, groups 1, the sizes
 * above), false with nothing written. w is HWIO or, with layout
 * EL_FILTER_F32_P32, the packed panels (gemm.h). Takes e's tile
 * operations. */
bool el_conv2d_stem(const el_conv_geom *g, const float *x, const float *w, el_filter_layout layout,
                    const el_conv_epi *e, float *y);

/* The same over std's standardised map (g's input; dilation 1 along H),
 * made a window of rows at a time as the output rows need them: the same
 * bits as el_conv2d_stem on el_std_map's output. */
bool el_conv2d_stem_std(const el_conv_geom *g, const el_std *std, const float *w, el_filter_layout layout,
                        const el_conv_epi *e, float *y);

/* The same kernel prepared for output rows one at a time, by the caller's
 * threads (a depthwise convolution making the rows it reads, ops/conv.c):
 * NULL when it does not apply (as false above) or out of memory. x or std
 * is the input, as above; e is copied (its pointers must outlive it).
 * Each row has the bits el_conv2d_stem / el_conv2d_stem_std give it. */
typedef struct el_stem_rows el_stem_rows;
el_stem_rows *el_stem_rows_make(const el_conv_geom *g, const float *x, const el_std *std, const float *w,
                                el_filter_layout layout, const el_conv_epi *e);

/* Floats of scratch a thread's el_stem_row calls need (0 without std). */
int64_t el_stem_rows_scratch(const el_stem_rows *r);

/* Output row oy of image b (w.out * oc floats) into y. scratch and *have
 * are the thread's (*have -1 before its first call, or after anything
 * else wrote the scratch): consecutive rows share the standardised input
 * rows of their windows. */
void el_stem_row(const el_stem_rows *r, int64_t b, int64_t oy, float *y, float *scratch, int64_t *have);

void el_stem_rows_free(el_stem_rows *r);

#endif
