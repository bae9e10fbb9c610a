/* A depthwise convolution run by the 1x1 convolution reading it (graph
 * pass el_opt_dw_pw, kernel el_conv_dwpw in ops/conv.c): the Conv2D /
 * _FusedConv2D node takes the depthwise convolution's input as its input
 * 0 and the depthwise filter and arguments as its last EL_DWPW_NIN_ATTR
 * inputs; the depthwise node's attrs are its own under EL_DWPW_PREFIX.
 * The kernel runs the depthwise convolution one output row at a time into
 * a buffer that stays in cache, and the 1x1 convolution on that row, with
 * the kernels the two nodes would run (the same bits); where those are
 * not the fast kernels it runs the two nodes' kernels one after the other. */
#ifndef EL_OPS_CONV_DWPW_H
#define EL_OPS_CONV_DWPW_H

#define EL_DWPW_PREFIX "_el_dw_"
#define EL_DWPW_NIN_ATTR "_el_dw_nin"

#endif
