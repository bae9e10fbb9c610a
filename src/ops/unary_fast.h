/* Fast float32 elementwise kernels behind the reference loops of
 * ops/elementwise.c, which stay the oracle (tests/unit/ops/test_unary_fast.c
 * compares every ISA against them).
 *
 * Exact ops (Relu, Relu6, Neg, Abs, Square, the arithmetic of binary rows,
 * hard-swish) give the reference's bits: same IEEE operations in the same
 * order, NaN and -0 handled as the reference does. Exp and Sigmoid use a
 * vector exp (Cody-Waite reduction, degree-7 polynomial, scaling by
 * vscalefps, so subnormal and overflowing results round once): within
 * EL_EXP_MAX_ULP units in the last place of the reference (glibc's expf) and
 * Sigmoid (1 / (1 + exp(-x)), the division exact) within EL_SIGMOID_MAX_ULP
 * of the reference's 1 / (1 + expf(-x)), for every one of the 2^32 float
 * inputs (checked exhaustively once; the unit test sweeps 2^20 of them).
 * NaN in gives NaN out, +-inf the reference's limits.
 *
 * Work is split over the session's thread pool in static chunks, so the
 * result does not depend on the thread count. */
#ifndef EL_OPS_UNARY_FAST_H
#define EL_OPS_UNARY_FAST_H

#include <stdbool.h>
#include <stdint.h>

#define EL_EXP_MAX_ULP 1
#define EL_SIGMOID_MAX_ULP 4

typedef enum el_uf_op {
    EL_UF_EXP,
    EL_UF_SIGMOID,
    EL_UF_RELU,
    EL_UF_RELU6,
    EL_UF_NEG,
    EL_UF_ABS,
    EL_UF_SQUARE,
    /* binary, float32, equal shapes or one side a scalar */
    EL_UF_ADD,
    EL_UF_SUB,
    EL_UF_MUL,
    EL_UF_DIV,
    EL_UF_KEEPEQ, /* a * (a == b ? 1 : 0): _ElKeepEqual */
    EL_UF_MAX,    /* Maximum and Minimum: NaN in a gives a, else NaN in b gives b, */
    EL_UF_MIN,    /* else b > a ? b : a (b < a ? b : a): elementwise.c's el_max/el_min */
} el_uf_op;

/* y[i] = op(x[i]) for i < n. False (nothing written) when there is no fast
 * path for this op on this CPU; the caller then runs the reference. */
bool el_unary_f32_fast(el_uf_op op, const float *x, float *y, int64_t n);

/* y[i] = a[i * ua] op b[i * ub] for i < n, ua and ub 0 (a scalar) or 1.
 * False when there is no fast path (nothing written). */
bool el_binary_f32_fast(el_uf_op op, const float *a, int ua, const float *b, int ub, float *y, int64_t n);

/* The same over `rows` rows of n outputs (y contiguous): row r reads a from
 * a + r * as and b from b + r * bs (a row stride of 0 repeats a row, as a
 * [C] bias broadcast over [N, C] does). */
bool el_binary_f32_rows_fast(el_uf_op op, const float *a, int64_t as, int ua, const float *b, int64_t bs, int ub,
                             float *y, int64_t rows, int64_t n);

/* Hard swish as MobileNetV3 graphs spell it: y = (x * m) * relu6(x + a),
 * relu6 being min(max(v, 0), 6) with NaN kept (TensorFlow's Relu6), in
 * exactly that order, so the bits match the unfused Mul, Add, Relu6, Mul. */
void el_hard_swish_f32(const float *x, float m, float a, float *y, int64_t n);
/* The same in place on `rows` rows of n floats, ld apart, on the calling
 * thread only (a convolution's epilogue on a tile it just stored). */
void el_hard_swish_f32_rows(float *y, int64_t rows, int64_t n, int64_t ld, float m, float a);

/* y = x * m + a, the product rounded before the sum (no fused
 * multiply-add): the bits of a Mul then an Add. */
void el_mul_add_f32(const float *x, float m, float a, float *y, int64_t n);

/* ---- per-ISA row kernels (unary_avx512.c), over [0, n) on one thread ---- */
void el_unary_f32_avx512(el_uf_op op, const float *x, float *y, int64_t n);
void el_binary_f32_avx512(el_uf_op op, const float *a, int ua, const float *b, int ub, float *y, int64_t n);
void el_hard_swish_f32_avx512(const float *x, float m, float a, float *y, int64_t n);
void el_mul_add_f32_avx512(const float *x, float m, float a, float *y, int64_t n);
/* y = ((float)x * s if pre, else (float)x) * m + a, each product rounded
 * (AVX-512F). */
void el_mul_add_u8_avx512(const uint8_t *x, bool pre, float s, float m, float a, float *y, int64_t n);

#endif
