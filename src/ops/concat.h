/* Private attrs the graph passes may set on a float ConcatV2
 * (graph/optimize.c), applied by its kernel while copying (ops/concat.c)
 * with the same float operations as the nodes they replace:
 * EL_CONCAT_NEG_ATTR, an int bit mask of the inputs read negated (a Neg
 * feeding the concat, CReLU's Concat(x, Neg(x))); EL_CONCAT_RELU_ATTR,
 * a bool: Relu applied to the output (a Relu reading the concat). */
#ifndef EL_OPS_CONCAT_H
#define EL_OPS_CONCAT_H

#define EL_CONCAT_NEG_ATTR "_el_neg"
#define EL_CONCAT_RELU_ATTR "_el_relu"
/* Inputs the neg mask can name. */
#define EL_CONCAT_NEG_MAX 63

#endif
