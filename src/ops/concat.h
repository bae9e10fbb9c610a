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

#include <stdbool.h>
#include <stdint.h>

#include "ops/kernel.h"
#include "ops/resize.h"

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

/* EL_CONCAT_MEAN_ONLY_ATTR, a bool, with EL_CONCAT_MEAN_ATTR: output 0 is
 * not made (left empty): its readers took the concat's inputs and make
 * the rows they read themselves (EL_CAT_NIN_ATTR); only the Mean is. */
#define EL_CONCAT_MEAN_ONLY_ATTR "_el_mean_only"

/* A convolution reading such a concat's output as its input 0 (graph pass
 * el_opt_concat_rows, ops/conv.c): it takes the concat's first input as its
 * input 0 and the concat's other inputs (values, axis, the resize's size)
 * as its last EL_CAT_NIN_ATTR inputs, the concat's attrs under
 * EL_CAT_PREFIX (its Mean's excepted). The kernel makes the concat's rows
 * where it reads them (el_concat_rows_span, the concat kernel's float
 * operations: the same bits), or runs the concat kernel first
 * (el_concat_v2_run) where it does not. */
#define EL_CAT_PREFIX "_el_cat_"
#define EL_CAT_NIN_ATTR "_el_cat_nin"

/* Inputs el_concat_rows takes. */
#define EL_CAT_ROWS_MAX 8

/* A float NHWC ConcatV2 along its channels, as rows to be made on demand:
 * its inputs (the resized one, if any, read from the resize's input),
 * their channels, negation and Relu as the concat kernel applies them. */
typedef struct el_concat_rows {
    int n, resized;            /* inputs; the one resized on the fly, or -1 */
    const float *in[EL_CAT_ROWS_MAX];
    int64_t ch[EL_CAT_ROWS_MAX];
    int64_t neg;
    bool relu;
    int64_t dims[4];            /* the concat's output */
    int64_t rh, rw;             /* the resized input's source height and width */
    el_resize_interp *ys, *xs;  /* its source rows and columns (el_mem_alloc) */
} el_concat_rows;

/* Whether ctx (a ConcatV2 node and its inputs, as its kernel would see
 * them) is such a concat whose output the kernel would make without an
 * error; fills r (free with el_concat_rows_free) when it is. False on
 * anything else, the caller then runs el_concat_v2_run (which reports the
 * errors). */
bool el_concat_rows_make(const el_kctx *ctx, el_concat_rows *r);
void el_concat_rows_free(el_concat_rows *r);
/* Output pixels [x0, x1) of row y of image b into dst (contiguous). */
void el_concat_rows_span(const el_concat_rows *r, int64_t b, int64_t y, int64_t x0, int64_t x1, float *dst);
/* The ConcatV2 kernel. */
el_status el_concat_v2_run(el_kctx *ctx);

#endif
