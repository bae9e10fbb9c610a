/* The vector exp and Sigmoid of the Exp and Sigmoid kernels
 * (unary_avx512.c, see unary_fast.h for their accuracy), shared with
 * _ElPeakTopK, which computes a convolution's Sigmoid on a few elements
 * (ops/peak_topk.c): each lane's bits depend on that lane only, so both
 * give the same bits. Compiled for AVX-512F wherever included; call only
 * after el_conv_isa() found it. */
#ifndef EL_OPS_SIGMOID_AVX512_H
#define EL_OPS_SIGMOID_AVX512_H

#include <immintrin.h>

/* exp(x): n = round(x / ln 2), r = x - n ln 2 in two steps (ln2_hi has few
 * enough bits that n * ln2_hi is exact for |n| <= 150), exp(r) by its
 * degree-7 Taylor polynomial on |r| <= ln 2 / 2 (truncation below 1e-8
 * relative), then p * 2^n with vscalefps, which rounds once, also into the
 * subnormals and to +inf. Clamping to [-104, 89] keeps r finite; the results
 * there are already 0 and +inf. min/max take NaN from their second operand,
 * so NaN passes through. */
static inline __attribute__((target("avx512f"))) __m512 el_exp_ps(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + exp(-v)), the division exact. */
static inline __attribute__((target("avx512f"))) __m512 el_sigmoid_ps(__m512 v)
{
    __m512 e = el_exp_ps(
        _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

#endif
