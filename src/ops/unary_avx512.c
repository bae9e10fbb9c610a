/* AVX-512F float32 elementwise kernels (see unary_fast.h; also _ElMulAdd's
 * uint8 input). Compiled for AVX-512 whatever the build flags; only called
 * after el_conv_isa() found the CPU and OS support it. */
#include "ops/conv_fast.h"
#include "ops/unary_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>
#include <string.h>

#include "ops/hswish_avx512.h"
#include "ops/sigmoid_avx512.h"

static inline __mmask16 el_tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1u); }

/* Relu / Relu6 with the reference's NaN and -0: vmaxps / vminps return
 * their second operand when the comparison is false (NaN, or equal zeros),
 * so max(0, x) keeps NaN and -0 as `x < 0 ? 0 : x` does. */
static inline __m512 el_relu_ps(__m512 v) { return _mm512_max_ps(_mm512_setzero_ps(), v); }
static inline __m512 el_relu6_ps(__m512 v) { return _mm512_min_ps(_mm512_set1_ps(6.0f), el_relu_ps(v)); }

static inline __m512 el_unary_ps(el_uf_op op, __m512 v)
{
    switch (op) {
    case EL_UF_EXP: return el_exp_ps(v);
    case EL_UF_SIGMOID: return el_sigmoid_ps(v);
    case EL_UF_RELU: return el_relu_ps(v);
    case EL_UF_RELU6: return el_relu6_ps(v);
    case EL_UF_NEG:
        return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u)));
    case EL_UF_ABS:
        return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
    case EL_UF_SQUARE: return _mm512_mul_ps(v, v);
    default: return v;
    }
}

/* One function per op keeps the switch out of the loop. */
#define EL_UNARY_LOOP(OP)                                                                     \
    do {                                                                                      \
        int64_t i = 0;                                                                        \
        for (; i + 32 <= n; i += 32) {                                                        \
            __m512 v0 = el_unary_ps(OP, _mm512_loadu_ps(x + i));                              \
            __m512 v1 = el_unary_ps(OP, _mm512_loadu_ps(x + i + 16));                         \
            _mm512_storeu_ps(y + i, v0);                                                      \
            _mm512_storeu_ps(y + i + 16, v1);                                                 \
        }                                                                                     \
        for (; i < n; i += 16) {                                                              \
            __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : el_tail_mask(n - i);              \
            _mm512_mask_storeu_ps(y + i, m, el_unary_ps(OP, _mm512_maskz_loadu_ps(m, x + i))); \
        }                                                                                     \
    } while (0)

void el_unary_f32_avx512(el_uf_op op, const float *x, float *y, int64_t n)
{
    switch (op) {
    case EL_UF_EXP: EL_UNARY_LOOP(EL_UF_EXP); break;
    case EL_UF_SIGMOID: EL_UNARY_LOOP(EL_UF_SIGMOID); break;
    case EL_UF_RELU: EL_UNARY_LOOP(EL_UF_RELU); break;
    case EL_UF_RELU6: EL_UNARY_LOOP(EL_UF_RELU6); break;
    case EL_UF_NEG: EL_UNARY_LOOP(EL_UF_NEG); break;
    case EL_UF_ABS: EL_UNARY_LOOP(EL_UF_ABS); break;
    case EL_UF_SQUARE: EL_UNARY_LOOP(EL_UF_SQUARE); break;
    default: break;
    }
}

static inline __m512 el_binary_ps(el_uf_op op, __m512 a, __m512 b)
{
    switch (op) {
    case EL_UF_ADD: return _mm512_add_ps(a, b);
    case EL_UF_SUB: return _mm512_sub_ps(a, b);
    case EL_UF_MUL: return _mm512_mul_ps(a, b);
    case EL_UF_DIV: return _mm512_div_ps(a, b);
    case EL_UF_KEEPEQ: /* ordered equality: NaN == anything is false, as C's == */
        return _mm512_mul_ps(a, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), _mm512_setzero_ps(),
                                                     _mm512_set1_ps(1.0f)));
    case EL_UF_MAX: /* maxps(b, a) is b > a ? b : a, and a when either is NaN */
    case EL_UF_MIN: {
        __m512 r = op == EL_UF_MAX ? _mm512_max_ps(b, a) : _mm512_min_ps(b, a);
        __mmask16 b_only_nan = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), a, a, _CMP_ORD_Q);
        return _mm512_mask_blend_ps(b_only_nan, r, b);
    }
    default: return a;
    }
}

/* A scalar side is broadcast once; masked loads keep the tail in bounds. */
#define EL_BINARY_LOOP(OP)                                                                    \
    do {                                                                                      \
        __m512 sa = _mm512_set1_ps(a[0]), sb = _mm512_set1_ps(b[0]);                          \
        for (int64_t i = 0; i < n; i += 16) {                                                 \
            __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : el_tail_mask(n - i);              \
            __m512 va = ua ? _mm512_maskz_loadu_ps(m, a + i) : sa;                            \
            __m512 vb = ub ? _mm512_maskz_loadu_ps(m, b + i) : sb;                            \
            _mm512_mask_storeu_ps(y + i, m, el_binary_ps(OP, va, vb));                        \
        }                                                                                     \
    } while (0)

void el_binary_f32_avx512(el_uf_op op, const float *a, int ua, const float *b, int ub, float *y, int64_t n)
{
    switch (op) {
    case EL_UF_ADD: EL_BINARY_LOOP(EL_UF_ADD); break;
    case EL_UF_SUB: EL_BINARY_LOOP(EL_UF_SUB); break;
    case EL_UF_MUL: EL_BINARY_LOOP(EL_UF_MUL); break;
    case EL_UF_DIV: EL_BINARY_LOOP(EL_UF_DIV); break;
    case EL_UF_KEEPEQ: EL_BINARY_LOOP(EL_UF_KEEPEQ); break;
    case EL_UF_MAX: EL_BINARY_LOOP(EL_UF_MAX); break;
    case EL_UF_MIN: EL_BINARY_LOOP(EL_UF_MIN); break;
    default: break;
    }
}

void el_hard_swish_f32_avx512(const float *x, float mul, float add, float *y, int64_t n)
{
    const __m512 vm = _mm512_set1_ps(mul), va = _mm512_set1_ps(add);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : el_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, el_hswish_ps(_mm512_maskz_loadu_ps(m, x + i), vm, va));
    }
}

void el_mul_add_f32_avx512(const float *x, float mul, float add, float *y, int64_t n)
{
    const __m512 vm = _mm512_set1_ps(mul), va = _mm512_set1_ps(add);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : el_tail_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_mul_ps(v, vm), va));
    }
}

void el_mul_add_u8_avx512(const uint8_t *x, bool pre, float s, float mul, float add, float *y, int64_t n)
{
    const __m512 vs = _mm512_set1_ps(s), vm = _mm512_set1_ps(mul), va = _mm512_set1_ps(add);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = (__mmask16)0xFFFF;
        __m128i b;
        if (n - i >= 16) {
            b = _mm_loadu_si128((const __m128i *)(x + i));
        } else { /* the tail through a buffer: a masked byte load needs AVX512BW */
            uint8_t t[16] = {0};
            memcpy(t, x + i, (size_t)(n - i));
            b = _mm_loadu_si128((const __m128i *)t);
            m = el_tail_mask(n - i);
        }
        __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
        if (pre) v = _mm512_mul_ps(v, vs);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_mul_ps(v, vm), va));
    }
}

#else
typedef int el_unary_avx512_unused;
#endif
