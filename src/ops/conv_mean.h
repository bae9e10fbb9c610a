/* A spatial Mean taken by the depthwise convolution whose output it reads
 * (graph/optimize.c's el_opt_conv_mean: MobileNetV3's squeeze-excite
 * Means), so the map is not read a second time.
 *
 * EL_CONV_MEAN_ATTR, an int on a depthwise node: 1 or 2 when the Mean over
 * axes 1 and 2 of its NHWC output is its output 1, as the Mean gives it
 * with keep_dims false ([N, C]) or true ([N, 1, 1, C]). The fast kernels
 * sum each output row in float, pixels in order, as they store it, in
 * cache (el_conv_epi's sums, ops/dwconv_tile.h), and keep it as that
 * row's double; other paths sum the stored output's rows the same way
 * after. An image's row sums are added in double in row order from 0,
 * divided by H * W and rounded to float, on the node's thread. That is
 * the Mean kernel's order (ops/reduce.c: runs along the innermost reduced
 * axis in float, the runs in double), so the mean has its bits whatever
 * the ISA or thread count. Rows of one pixel (the runs are then the
 * columns) or longer than EL_SUM_RUN_MAX (every pixel in double) are
 * summed from the stored output, in that order. */
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
