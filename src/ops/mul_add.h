/* _ElMulAdd's standardisation (ops/mul_add.c) for a convolution that
 * applies it as it loads its input (graph/optimize.c, el_opt_conv_in_std:
 * a first layer reading the image): the _ElMulAdd goes, the convolution
 * reads its x as input 0 and its other inputs (c, d [, s] [, paddings])
 * as its last data inputs, with EL_CONV_IN_STD_ATTR holding its attrs.
 * Rows of the standardised map come from the same operations as the
 * node's, so the convolution's output has the same bits. */
#ifndef EL_OPS_MUL_ADD_H
#define EL_OPS_MUL_ADD_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/kernel.h"

/* int attr: EL_STD_SUB | EL_STD_PRE | EL_STD_PADDED, the _ElMulAdd's sub,
 * pre_scale and padded. */
#define EL_CONV_IN_STD_ATTR "_el_in_std"
#define EL_STD_SUB 1
#define EL_STD_PRE 2
#define EL_STD_PADDED 4

/* The standardised map of a rank-4 x: dims its shape, x's dims padded
 * by before[k] in front (and the rest behind). */
typedef struct el_std {
    const void *x;
    bool u8, pre;
    float s, c, d, border;
    int64_t xdims[4], dims[4], before[4];
} el_std;

/* How many inputs the standardisation takes after x for attr `flags`. */
int el_std_ninputs(int64_t flags);

/* From ctx's input 0 (x) and its last el_std_ninputs(flags) inputs, with
 * the _ElMulAdd's checks. */
el_status el_std_parse(el_kctx *ctx, int64_t flags, el_std *t);

/* Row y of image b of the standardised map: dims[2] * dims[3] floats. */
void el_std_row(const el_std *t, int64_t b, int64_t y, float *out);

/* The whole standardised map (dims), threaded by rows. */
void el_std_map(const el_std *t, float *out);

#endif
