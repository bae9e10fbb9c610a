/* Conv2D with few output channels (detection heads: 2, 4 or 6 outputs of a
 * 128-256 channel feature map). The packed GEMM (conv_gemm.c) vectorizes
 * over output channels in panels of 32, so 4 outputs use an eighth of each
 * multiply; this kernel vectorizes over the input channels instead (16 per
 * multiply, 16 / oc pixels x oc outputs of accumulators) and sums the
 * accumulators' lanes at the end. Agreement with the reference is to
 * float rounding; each output element is summed in one fixed order,
 * whatever the thread count and however the pixels are split into calls
 * (the row-streaming fusions call it a row at a time). */
#ifndef EL_OPS_CONV_NARROW_H
#define EL_OPS_CONV_NARROW_H

#include <stdbool.h>

#include "ops/conv_fast.h"
#include "ops/gemm.h"

/* Output depths up to this take the narrow kernel (when the input has at
 * least EL_CONV_NARROW_MIN_IC channels: fewer would leave lanes idle). */
#define EL_CONV_NARROW_MAX_OC 8
#define EL_CONV_NARROW_MIN_IC 16

/* Like el_conv2d_fast: true when it ran (AVX-512, groups 1, the sizes
 * above), false with nothing written. w is HWIO or, with layout
 * EL_FILTER_F32_P32, the packed panel (gemm.h). */
bool el_conv2d_narrow(const el_conv_geom *g, const float *x, const float *w, el_filter_layout layout,
                      const el_conv_epi *e, float *y);

#endif
