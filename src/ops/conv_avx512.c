/* AVX-512F convolution kernels: f32-igemm-12x32 (see
 * conv_fast.h). Compiled for AVX-512 whatever the build flags; only called
 * after el_isa_available() found the CPU and OS support it. */
#include "ops/conv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

#define MR EL_IGEMM_ROWS_AVX512
#define EL_PREFETCH_ROWS 8

static inline __mmask16 el_mask16(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

static inline __m512 el_epi(__m512 v, __m512 b, const el_conv_epi *e, __m512 lo, __m512 hi)
{
    v = _mm512_add_ps(v, b);
    if (e->clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return v;
}

/* The A side of a tile, two ways: `koff` given, a[r] is row r's base and
 * step k reads a[r][koff[k]] (rows whose window is inside the input, and
 * 1x1 convolutions: no per-tap pointer work, one index load per step);
 * else a[r * taps + t] points at row r's input for tap t (or at the zero
 * row), and step (t, c) reads its element c. Either way a row sums its
 * taps and channels in the same order, k = t * ic + c ascending. */
#define EL_TILE_LOOP(STEP)                                                                                             \
    do {                                                                                                               \
        const float *wp = w + n0;                                                                                      \
        const float *ap[MR];                                                                                           \
        if (koff) {                                                                                                    \
            _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) ap[r] = a[r];                                        \
            const int64_t kdim = taps * ic;                                                                            \
            for (int64_t k = 0; k < kdim; k++, wp += oc) {                                                             \
                const int64_t o = koff[k];                                                                             \
                STEP(o);                                                                                               \
            }                                                                                                          \
        } else {                                                                                                       \
            for (int t = 0; t < taps; t++) {                                                                           \
                _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) ap[r] = a[r * taps + t];                         \
                for (int64_t c = 0; c < ic; c++, wp += oc) STEP(c);                                                    \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

/* Filter rows are oc floats apart (a page apart in deep layers): fetch a
 * few rows ahead, which the hardware prefetchers do not. */
#define EL_PREFETCH_W()                                                                                                \
    do {                                                                                                               \
        _mm_prefetch((const char *)(wp + EL_PREFETCH_ROWS * oc), _MM_HINT_T0);                                         \
        _mm_prefetch((const char *)(wp + EL_PREFETCH_ROWS * oc + 16), _MM_HINT_T0);                                    \
    } while (0)

/* MR rows x 32 columns (the second 16 masked by m1). */
static inline __attribute__((always_inline)) void el_tile32(int rows, int taps, int64_t ic, const float *const *a,
                                                            const int32_t *koff, const float *w, int64_t oc,
                                                            int64_t n0, __mmask16 m1, const el_conv_epi *e, float *y)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
#define EL_STEP32(I)                                                                                                   \
    do {                                                                                                               \
        EL_PREFETCH_W();                                                                                               \
        __m512 w0 = _mm512_loadu_ps(wp), w1 = _mm512_maskz_loadu_ps(m1, wp + 16);                                      \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++)                                                          \
        {                                                                                                              \
            __m512 av = _mm512_set1_ps(ap[r][I]);                                                                      \
            c0[r] = _mm512_fmadd_ps(av, w0, c0[r]);                                                                    \
            c1[r] = _mm512_fmadd_ps(av, w1, c1[r]);                                                                    \
        }                                                                                                              \
    } while (0)
    EL_TILE_LOOP(EL_STEP32);
#undef EL_STEP32
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (e->bias) {
        b0 = _mm512_loadu_ps(e->bias + n0);
        b1 = _mm512_maskz_loadu_ps(m1, e->bias + n0 + 16);
    }
    __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm512_storeu_ps(y + r * oc + n0, el_epi(c0[r], b0, e, lo, hi));
        _mm512_mask_storeu_ps(y + r * oc + n0 + 16, m1, el_epi(c1[r], b1, e, lo, hi));
    }
}

/* MR rows x 16 columns (masked by m0). */
static inline __attribute__((always_inline)) void el_tile16(int rows, int taps, int64_t ic, const float *const *a,
                                                            const int32_t *koff, const float *w, int64_t oc,
                                                            int64_t n0, __mmask16 m0, const el_conv_epi *e, float *y)
{
    __m512 c0[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = _mm512_setzero_ps();
#define EL_STEP16(I)                                                                                                   \
    do {                                                                                                               \
        EL_PREFETCH_W();                                                                                               \
        __m512 w0 = _mm512_maskz_loadu_ps(m0, wp);                                                                     \
        _Pragma("GCC unroll 12") for (int r = 0; r < MR; r++) c0[r] =                                                  \
            _mm512_fmadd_ps(_mm512_set1_ps(ap[r][I]), w0, c0[r]);                                                      \
    } while (0)
    EL_TILE_LOOP(EL_STEP16);
#undef EL_STEP16
    __m512 b0 = e->bias ? _mm512_maskz_loadu_ps(m0, e->bias + n0) : _mm512_setzero_ps();
    __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm512_mask_storeu_ps(y + r * oc + n0, m0, el_epi(c0[r], b0, e, lo, hi));
    }
}

void el_igemm_f32_avx512(int rows, int taps, int64_t ic, const float *const *a, const int32_t *koff, const float *w,
                         int64_t oc, int64_t n0, int64_t n1, const el_conv_epi *e, float *y)
{
    /* Two copies of the tiles: with `koff` a constant NULL in one, the
     * compiler drops the test from the inner loop of each. */
    if (koff) {
        for (; n0 < n1; n0 += 32) {
            int64_t nc = n1 - n0;
            if (nc > 16) el_tile32(rows, taps, ic, a, koff, w, oc, n0, el_mask16(nc - 16), e, y);
            else el_tile16(rows, taps, ic, a, koff, w, oc, n0, el_mask16(nc), e, y);
        }
    } else {
        for (; n0 < n1; n0 += 32) {
            int64_t nc = n1 - n0;
            if (nc > 16) el_tile32(rows, taps, ic, a, NULL, w, oc, n0, el_mask16(nc - 16), e, y);
            else el_tile16(rows, taps, ic, a, NULL, w, oc, n0, el_mask16(nc), e, y);
        }
    }
}
#else
/* Not x86-64: the dispatcher never selects these kernels. */
typedef int el_conv_avx512_unused;
#endif
