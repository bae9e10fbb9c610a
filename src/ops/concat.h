/* Private attrs the graph passes may set on a float ConcatV2
 * (graph/optimize.c), applied by its kernel while copying (ops/concat.c)
 * with the same float operations as the nodes they replace:
 * EL_CONCAT_NEG_ATTR, an int bit mask of the inputs read negated (a Neg
 * feeding the concat, CReLU's Concat(x, Neg(x))); EL_CONCAT_RELU_ATTR,
 * a bool: Relu applied to the output (a Relu reading the concat);
 * EL_CONCAT_SIGMOID_ATTR, a bool: Sigmoid applied to the output (a
 * Sigmoid reading the concat; not with the Relu or the Mean), the Sigmoid
 * kernel's function (unary_fast.h), so the same bits;
 * EL_CONCAT_MEAN_ATTR, an int: 1 or 2 when a Mean over axes 1 and 2 of
 * the (4-D, concatenated along axis 3) output is output 1, as the Mean
 * would give it with keep_dims false (1: [N, C]) or true (2: [N,1,1,C]). */
/* EL_CONCAT_RESIZE_ATTR, an int: 1 + the index of an input that a
 * ResizeBilinear (float NHWC, read by the concat alone) made: the concat
 * reads the resize's input instead and resizes it to the size its last
 * input holds (the resize's size input, after the axis; align_corners and
 * half_pixel_centers as EL_CONCAT_RESIZE_ALIGN_ATTR / _HALF_ATTR) with
 * the ResizeBilinear kernel's float operations (ops/resize.h): on the fly
 * where the concat also takes the Mean (AVX-512), so the resized map never
 * goes through memory (CenterNet's upsampled 128x128x64 half of the head's
 * concat), else into a buffer first. */
#ifndef EL_OPS_CONCAT_H
#define EL_OPS_CONCAT_H

#define EL_CONCAT_NEG_ATTR "_el_neg"
#define EL_CONCAT_RELU_ATTR "_el_relu"
#define EL_CONCAT_SIGMOID_ATTR "_el_sigmoid"
/* With EL_CONCAT_SIGMOID_ATTR: a Slice reading the concat that keeps all
 * of every axis but the last (rank EL_CONCAT_SLICE_RANK_ATTR, the concat
 * along another one) and [begin, begin + size) of the last (size -1: to
 * its end), checked as the Slice kernel does: the concat writes only that
 * (the OD API's class scores without the background column). */
#define EL_CONCAT_SLICE_RANK_ATTR "_el_slice_rank"
#define EL_CONCAT_SLICE_BEGIN_ATTR "_el_slice_begin"
#define EL_CONCAT_SLICE_SIZE_ATTR "_el_slice_size"
#define EL_CONCAT_MEAN_ATTR "_el_mean"
#define EL_CONCAT_RESIZE_ATTR "_el_resize"
#define EL_CONCAT_RESIZE_ALIGN_ATTR "_el_resize_align"
#define EL_CONCAT_RESIZE_HALF_ATTR "_el_resize_half"
/* Inputs the neg mask can name. */
#define EL_CONCAT_NEG_MAX 63

#endif
