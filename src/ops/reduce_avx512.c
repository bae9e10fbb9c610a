/* AVX-512F column sums of float32 rows in double (see reduce_fast.h).
 * Compiled for AVX-512 whatever the build flags; only called after
 * el_conv_isa() found the CPU and OS support it. */
#include "ops/conv_fast.h"
#include "ops/reduce_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

/* Columns per block: 4 float vectors, 8 double accumulators in registers
 * for the whole walk down the rows. */
#define EL_RB 64

void el_sum_rows_f32_avx512(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, double *acc)
{
    for (int64_t cb = c0; cb < c1; cb += EL_RB) {
        const int64_t nc = c1 - cb < EL_RB ? c1 - cb : EL_RB;
        __mmask16 m[4];
        __m512d a[8];
        for (int v = 0; v < 4; v++) {
            int64_t left = nc - v * 16;
            m[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
            a[2 * v] = _mm512_maskz_loadu_pd((__mmask8)m[v], acc + cb + v * 16);
            a[2 * v + 1] = _mm512_maskz_loadu_pd((__mmask8)(m[v] >> 8), acc + cb + v * 16 + 8);
        }
        const float *p = x + cb;
        for (int64_t r = 0; r < rows; r++, p += cols) {
            for (int v = 0; v < 4; v++) {
                __m512 f = _mm512_maskz_loadu_ps(m[v], p + v * 16);
                a[2 * v] = _mm512_add_pd(a[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
                a[2 * v + 1] = _mm512_add_pd(a[2 * v + 1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
            }
        }
        for (int v = 0; v < 4; v++) {
            _mm512_mask_storeu_pd(acc + cb + v * 16, (__mmask8)m[v], a[2 * v]);
            _mm512_mask_storeu_pd(acc + cb + v * 16 + 8, (__mmask8)(m[v] >> 8), a[2 * v + 1]);
        }
    }
}

#else
/* Not x86-64: the dispatcher never selects this kernel. */
typedef int el_reduce_avx512_unused;
#endif
