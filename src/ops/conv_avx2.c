/* AVX2 + FMA convolution kernels: f32-igemm-6x16 (see
 * conv_fast.h). Compiled for AVX2 whatever the build flags; only called
 * after el_isa_available() found the CPU supports it. */
#include "ops/conv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx2,fma")
#include <immintrin.h>

#define MR EL_IGEMM_ROWS_AVX2

/* Lanes [0, n) set (n clamped to 0..8). */
static inline __m256i el_mask8(int64_t n)
{
    int k = n >= 8 ? 8 : (n < 0 ? 0 : (int)n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __m256 el_epi(__m256 v, __m256 b, const el_conv_epi *e, __m256 lo, __m256 hi)
{
    v = _mm256_add_ps(v, b);
    /* max_ps returns its second operand for a NaN first: NaN -> lo, as the reference. */
    if (e->clamp) v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    return v;
}

/* The A side of a tile: see conv_avx512.c (same two forms, same order). */
#define EL_TILE_LOOP(STEP)                                                                                             \
    do {                                                                                                               \
        const float *wp = w + n0;                                                                                      \
        const float *ap[MR];                                                                                           \
        if (koff) {                                                                                                    \
            _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) ap[r] = a[r];                                         \
            const int64_t kdim = taps * ic;                                                                            \
            for (int64_t k = 0; k < kdim; k++, wp += oc) {                                                             \
                const int64_t o = koff[k];                                                                             \
                STEP(o);                                                                                               \
            }                                                                                                          \
        } else {                                                                                                       \
            for (int t = 0; t < taps; t++) {                                                                           \
                _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) ap[r] = a[r * taps + t];                          \
                for (int64_t c = 0; c < ic; c++, wp += oc) STEP(c);                                                    \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

/* MR rows x 16 columns (the second 8 masked by m1). */
static inline __attribute__((always_inline)) void el_tile16(int rows, int taps, int64_t ic, const float *const *a,
                                                            const int32_t *koff, const float *w, int64_t oc,
                                                            int64_t n0, __m256i m1, const el_conv_epi *e, float *y)
{
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
#define EL_STEP16(I)                                                                                                   \
    do {                                                                                                               \
        __m256 w0 = _mm256_loadu_ps(wp), w1 = _mm256_maskload_ps(wp + 8, m1);                                          \
        _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++)                                                           \
        {                                                                                                              \
            __m256 av = _mm256_broadcast_ss(ap[r] + (I));                                                              \
            c0[r] = _mm256_fmadd_ps(av, w0, c0[r]);                                                                    \
            c1[r] = _mm256_fmadd_ps(av, w1, c1[r]);                                                                    \
        }                                                                                                              \
    } while (0)
    EL_TILE_LOOP(EL_STEP16);
#undef EL_STEP16
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    if (e->bias) {
        b0 = _mm256_loadu_ps(e->bias + n0);
        b1 = _mm256_maskload_ps(e->bias + n0 + 8, m1);
    }
    __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm256_storeu_ps(y + r * oc + n0, el_epi(c0[r], b0, e, lo, hi));
        _mm256_maskstore_ps(y + r * oc + n0 + 8, m1, el_epi(c1[r], b1, e, lo, hi));
    }
}

/* MR rows x 8 columns (masked by m0). */
static inline __attribute__((always_inline)) void el_tile8(int rows, int taps, int64_t ic, const float *const *a,
                                                           const int32_t *koff, const float *w, int64_t oc,
                                                           int64_t n0, __m256i m0, const el_conv_epi *e, float *y)
{
    __m256 c0[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c0[r] = _mm256_setzero_ps();
#define EL_STEP8(I)                                                                                                    \
    do {                                                                                                               \
        __m256 w0 = _mm256_maskload_ps(wp, m0);                                                                        \
        _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) c0[r] =                                                   \
            _mm256_fmadd_ps(_mm256_broadcast_ss(ap[r] + (I)), w0, c0[r]);                                              \
    } while (0)
    EL_TILE_LOOP(EL_STEP8);
#undef EL_STEP8
    __m256 b0 = e->bias ? _mm256_maskload_ps(e->bias + n0, m0) : _mm256_setzero_ps();
    __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm256_maskstore_ps(y + r * oc + n0, m0, el_epi(c0[r], b0, e, lo, hi));
    }
}

void el_igemm_f32_avx2(int rows, int taps, int64_t ic, const float *const *a, const int32_t *koff, const float *w,
                       int64_t oc, int64_t n0, int64_t n1, const el_conv_epi *e, float *y)
{
    if (koff) {
        for (; n0 < n1; n0 += 16) {
            int64_t nc = n1 - n0;
            if (nc > 8) el_tile16(rows, taps, ic, a, koff, w, oc, n0, el_mask8(nc - 8), e, y);
            else el_tile8(rows, taps, ic, a, koff, w, oc, n0, el_mask8(nc), e, y);
        }
    } else {
        for (; n0 < n1; n0 += 16) {
            int64_t nc = n1 - n0;
            if (nc > 8) el_tile16(rows, taps, ic, a, NULL, w, oc, n0, el_mask8(nc - 8), e, y);
            else el_tile8(rows, taps, ic, a, NULL, w, oc, n0, el_mask8(nc), e, y);
        }
    }
}
#else
typedef int el_conv_avx2_unused;
#endif
