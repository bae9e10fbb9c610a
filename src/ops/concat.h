/* Private attrs the graph passes may set on a float ConcatV2
 * (graph/optimize.c), applied by its kernel while copying (ops/concat.c)
 * with the same float operations as the nodes they replace:
 * EL_CONCAT_NEG_ATTR, an int bit mask of the inputs read negated (a Neg
 * feeding the concat, CReLU's Concat(x, Neg(x))); EL_CONCAT_RELU_ATTR,
 * a bool: Relu applied to the output (a Relu reading the concat);
 * EL_CONCAT_MEAN_ATTR, an int: 1 or 2 when a Mean over axes 1 and 2 of
 * the (4-D, concatenated along axis 3) output is output 1, as the Mean
 * would give it with keep_dims false (1: [N, C]) or true (2: [N,1,1,C]). */
#ifndef EL_OPS_CONCAT_H
#define EL_OPS_CONCAT_H

#define EL_CONCAT_NEG_ATTR "_el_neg"
#define EL_CONCAT_RELU_ATTR "_el_relu"
#define EL_CONCAT_MEAN_ATTR "_el_mean"
/* Inputs the neg mask can name. */
#define EL_CONCAT_NEG_MAX 63

#endif
