/* The private attrs the graph passes may set on a MaxPool (graph/optimize.c):
 * EL_POOL_KEEP_EQUAL_ATTR (bool) makes it output x * (x == max ? 1 : 0),
 * x its input at the output's position, as _ElKeepEqual(x, MaxPool(x))
 * would (CenterNet's heatmap peak test). See ops/pool.c. */
#ifndef EL_OPS_POOL_H
#define EL_OPS_POOL_H

#define EL_POOL_KEEP_EQUAL_ATTR "_el_keep_equal"
/* A MaxPool in place of the channel ConcatV2 it read (CReLU): its inputs
 * are the concat's, pooled side by side in that order, and this int mask
 * names those read negated (the concat's EL_CONCAT_NEG_ATTR). */
#define EL_POOL_NEG_ATTR "_el_neg"
/* bool: Relu applied to each maximum (a Relu that read the MaxPool). */
#define EL_POOL_RELU_ATTR "_el_relu"
/* Inputs a MaxPool pools side by side. */
#define EL_POOL_MAX_PARTS 8

/* On _ElPeakTopK (ops/peak_topk.c), EL_PEAK_SIGMOID_ATTR (bool): its input
 * holds logits, and the map it tests is their Sigmoid as el_conv_sigmoid
 * (ops/conv_fast.h) computes it, where the convolution producing them
 * would have applied it (graph/optimize.c, el_opt_peak_topk). */
#define EL_PEAK_SIGMOID_ATTR "_el_peak_sigmoid"

#endif
