/* Hard swish of a vector, x * m * relu6(x + a) (m = 1/6, a = 3 in
 * MobileNetV3), shared by the _ElHardSwish kernel (unary_avx512.c) and the
 * convolution kernels that apply it in registers, so both give the same
 * bits. Include only from files compiled for AVX-512F. */
#ifndef EL_OPS_HSWISH_AVX512_H
#define EL_OPS_HSWISH_AVX512_H

#include <immintrin.h>

/* Relu6 with the reference's NaN and -0: vmaxps / vminps return their
 * second operand when the comparison is false (NaN, or equal zeros), so
 * max(0, x) keeps NaN and -0 as `x < 0 ? 0 : x` does. */
static inline __m512 el_hswish_ps(__m512 v, __m512 vm, __m512 va)
{
    __m512 r = _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), _mm512_add_ps(v, va)));
    return _mm512_mul_ps(_mm512_mul_ps(v, vm), r);
}

#endif
