/* The row-streaming fusions of an inverted bottleneck (graph passes
 * el_opt_dw_pw and el_opt_pw_dw, kernels el_conv_dwpw and el_conv_pwdw
 * in ops/conv.c).
 *
 * A depthwise convolution run by the 1x1 convolution reading it: the
 * Conv2D / _FusedConv2D node takes the depthwise convolution's input as its
 * input 0 and the depthwise filter and arguments as its last
 * EL_DWPW_NIN_ATTR inputs; the depthwise node's attrs are its own under
 * EL_DWPW_PREFIX. The kernel runs the depthwise convolution two output
 * rows at a time into a buffer that stays in cache, and the 1x1 convolution
 * on those rows, with the kernels the two nodes would run (the same bits);
 * where those are not the fast kernels it runs the two nodes' kernels one
 * after the other.
 *
 * A 1x1 expansion run by the depthwise convolution reading it (a depthwise
 * node, or a node of the fusion above): the node takes the expansion's
 * input as its input 0 and the expansion's filter and arguments as its
 * last EL_PWDW_NIN_ATTR inputs (after the depthwise ones); the expansion's
 * attrs are its own under EL_PWDW_PREFIX. The kernel expands the input
 * rows the depthwise output rows read into a ring of kh + stride rows per thread, as
 * they are first needed, so the expanded tensor never goes through memory
 * (the same kernels and bits again; the expansion runs first, whole, where
 * they do not apply). The "expansion" may also be a first layer the stem
 * kernel runs (ops/conv_stem.h, with its EL_CONV_IN_STD_ATTR), its ring
 * rows made by el_stem_row.
 *
 * A second ring level: a depthwise node whose 1x1 expansion reads the
 * output of a depthwise node with an expansion of its own (MobileNet v1:
 * Conv2d_0 -> Conv2d_1_depthwise -> Conv2d_1_pointwise ->
 * Conv2d_2_depthwise) takes that node's input as its input 0 and its other
 * inputs as its last EL_RING_NIN_ATTR inputs (after the expansion's); that
 * node's attrs are its own under EL_RING_PREFIX. The kernel makes the inner
 * node's output rows into a row buffer, from its own ring, as the
 * expansion's ring needs them (the same kernels and bits; the inner node
 * runs first, whole, where they do not apply).
 *
 * EL_PWDW_RES_ATTR (int k) on a node of both fusions: its input k, the
 * projection's fused Add operand, stands for the expansion's output (a
 * residual block reading the first layer twice; the input is wired to
 * the expansion's input and never read): the Add reads the ring's rows,
 * or the expansion's output where the expansion runs first.
 *
 * EL_CONV_AT_ATTR (bool) on a node of the first fusion (the depthwise
 * stride 1, SAME, no dilation): its last input is int32 / int64 flat
 * pixel indices (n * h * w + y * w + x) and it computes its output only
 * at those pixels, zero elsewhere (el_opt_conv_at: only a GatherV2 of
 * those pixels reads it). Each pixel is the node's own kernels run on its
 * window copied out (zeros outside the input, the depthwise part VALID):
 * where the whole-tensor kernels skip a tap in the padding or add zero,
 * this adds a zero product to a sum that started at +0, which leaves it
 * as it is unless it is -0 (only when a product underflowed to -0): the
 * same bits but, in that case, the sign of a zero. */
#ifndef EL_OPS_CONV_DWPW_H
#define EL_OPS_CONV_DWPW_H

#define EL_DWPW_PREFIX "_el_dw_"
#define EL_DWPW_NIN_ATTR "_el_dw_nin"
#define EL_PWDW_PREFIX "_el_pw_"
#define EL_PWDW_NIN_ATTR "_el_pw_nin"
#define EL_PWDW_RES_ATTR "_el_pwres"
#define EL_CONV_AT_ATTR "_el_at"
#define EL_RING_PREFIX "_el_in_"
#define EL_RING_NIN_ATTR "_el_in_nin"

#endif
