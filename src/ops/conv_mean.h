/* A spatial Mean taken by the depthwise convolution whose output it reads
 * (graph/optimize.c's el_opt_conv_mean: MobileNetV3's squeeze-excite
 * Means), so the map is not read a second time.
 *
 * EL_CONV_MEAN_ATTR, an int on a depthwise node: 1 or 2 when the Mean over
 * axes 1 and 2 of its NHWC output is its output 1, as the Mean gives it
 * with keep_dims false ([N, C]) or true ([N, 1, 1, C]). The fast kernels
 * add each output row into per-row sums in double, pixels in order, as
 * they store it, in cache (el_conv_epi's sums, ops/dwconv_tile.h); other
 * paths sum the stored output's rows the same way after. An image's row
 * sums are added in row order from 0, divided by H * W and rounded to
 * float, on the node's thread: the bits do not depend on the ISA or the
 * thread count. The Mean kernel adds all H * W pixels in one chain
 * (ops/reduce.c): the two doubles may differ by rounding (relative 1e-13
 * or less at 4096 pixels of one sign), so the float mean by one ulp in
 * rare cases. */
#ifndef EL_OPS_CONV_MEAN_H
#define EL_OPS_CONV_MEAN_H

#include "ops/kernel.h"

#define EL_CONV_MEAN_ATTR "_el_mean"

/* Output count of a depthwise node: 2 with EL_CONV_MEAN_ATTR. */
int el_conv_mean_noutputs(const el_node *n);

/* Output 1 of ctx's node (EL_CONV_MEAN_ATTR) from the per-row sums of its
 * output 0, [N * H][C] doubles: those the kernel made (`sums`), or, when
 * NULL, made here from output 0. */
el_status el_conv_mean_output(el_kctx *ctx, const double *sums);

#endif
