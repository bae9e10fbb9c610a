/* The private attr the graph passes set on a convolution whose input was a
 * Mul (graph/optimize.c, el_opt_conv_in_scale: squeeze-excite's
 * Mul(x, s), s one scale per channel): the node then reads the Mul's two
 * operands, the first as input 0 and the second as its last data input, and
 * ops/conv.c multiplies the filter's input channels by s (a copy per run:
 * K x outputs floats) instead of the input by s. Products round once in a
 * different place than Mul then Conv2D: results agree to float rounding.
 * Operands that are not a feature map and one scale per channel are
 * multiplied as the Mul would (broadcasting) before the convolution. */
#ifndef EL_OPS_CONV_IN_SCALE_H
#define EL_OPS_CONV_IN_SCALE_H

#define EL_CONV_IN_SCALE_ATTR "_el_in_scale"

#endif
