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

#endif
