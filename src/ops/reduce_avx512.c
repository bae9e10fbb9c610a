/* AVX-512F column sums of float32 rows in double (see reduce_fast.h).
 * Compiled for AVX-512 whatever the build flags; only called after
 * el_conv_isa() found the CPU and OS support it. */
#include "ops/conv_fast.h"
#include "ops/reduce_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

/* Columns per block: up to 4 float vectors, 8 double accumulators in
 * registers for the whole walk down the rows (and 4 float ones for a run). */
#define EL_RB 64

/* A block of NV vectors (the last one nc - 16 * (NV - 1) columns wide,
 * masked when short): only the vectors it has, so a row of 72 channels
 * costs 5 vectors, not 8. Whole vectors are converted from two 256-bit
 * loads (no extract). */
static inline __attribute__((always_inline)) void el_rb_block(const int NV, const float *x, int64_t rows,
                                                              int64_t cols, int64_t nc, int64_t run, double *acc)
{
    const int64_t left = nc - (NV - 1) * 16;
    const bool full = left >= 16;
    const __mmask16 m = full ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
    __m512d a[8];
    for (int v = 0; v < NV; v++) {
        const __mmask16 mv = v < NV - 1 ? (__mmask16)0xFFFF : m;
        a[2 * v] = _mm512_maskz_loadu_pd((__mmask8)mv, acc + v * 16);
        a[2 * v + 1] = _mm512_maskz_loadu_pd((__mmask8)(mv >> 8), acc + v * 16 + 8);
    }
    const float *p = x;
    if (run > 0) {
        /* Each run in float (masked lanes load zeros), then into the doubles. */
        for (int64_t r0 = 0; r0 < rows; r0 += run) {
            const int64_t r1 = rows - r0 < run ? rows : r0 + run;
            __m512 f[4];
            for (int v = 0; v < NV; v++) f[v] = _mm512_setzero_ps();
            for (int64_t r = r0; r < r1; r++, p += cols)
                for (int v = 0; v < NV; v++)
                    f[v] = _mm512_add_ps(f[v], _mm512_maskz_loadu_ps(v < NV - 1 ? (__mmask16)0xFFFF : m, p + v * 16));
            for (int v = 0; v < NV; v++) {
                a[2 * v] = _mm512_add_pd(a[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(f[v])));
                a[2 * v + 1] = _mm512_add_pd(
                    a[2 * v + 1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f[v]), 1))));
            }
        }
    }
    for (int64_t r = 0; run <= 0 && r < rows; r++, p += cols) {
        for (int v = 0; v < NV; v++) {
            if (v < NV - 1 || full) {
                a[2 * v] = _mm512_add_pd(a[2 * v], _mm512_cvtps_pd(_mm256_loadu_ps(p + v * 16)));
                a[2 * v + 1] = _mm512_add_pd(a[2 * v + 1], _mm512_cvtps_pd(_mm256_loadu_ps(p + v * 16 + 8)));
            } else {
                __m512 f = _mm512_maskz_loadu_ps(m, p + v * 16);
                a[2 * v] = _mm512_add_pd(a[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
                a[2 * v + 1] = _mm512_add_pd(
                    a[2 * v + 1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
            }
        }
    }
    for (int v = 0; v < NV; v++) {
        const __mmask16 mv = v < NV - 1 ? (__mmask16)0xFFFF : m;
        _mm512_mask_storeu_pd(acc + v * 16, (__mmask8)mv, a[2 * v]);
        _mm512_mask_storeu_pd(acc + v * 16 + 8, (__mmask8)(mv >> 8), a[2 * v + 1]);
    }
}

void el_sum_rows_f32_avx512(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, int64_t run,
                            double *acc)
{
    for (int64_t cb = c0; cb < c1; cb += EL_RB) {
        const int64_t nc = c1 - cb < EL_RB ? c1 - cb : EL_RB;
        switch ((nc + 15) / 16) {
        case 1: el_rb_block(1, x + cb, rows, cols, nc, run, acc + cb); break;
        case 2: el_rb_block(2, x + cb, rows, cols, nc, run, acc + cb); break;
        case 3: el_rb_block(3, x + cb, rows, cols, nc, run, acc + cb); break;
        default: el_rb_block(4, x + cb, rows, cols, nc, run, acc + cb); break;
        }
    }
}

#else
/* Not x86-64: the dispatcher never selects this kernel. */
typedef int el_reduce_avx512_unused;
#endif
