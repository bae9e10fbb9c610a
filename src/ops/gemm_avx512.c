/* AVX-512F packed-filter GEMM micro-kernels: f32-gemm-14x32 (see gemm.h).
 *
 * 14 rows x 32 columns of accumulators take 28 of the 32 zmm registers;
 * per k step two aligned panel loads feed 28 FMAs whose A operand is an
 * embedded broadcast from memory, so the loop is bound by the two FMA
 * ports, not by loads. Strided rows are addressed from five base pointers
 * (rows 3i, 3i+1, 3i+2 are base_i + {0, 1, 2} * lda) so the loop needs few
 * general registers. Compiled for AVX-512 whatever the build flags; only
 * called after el_isa_available() found the CPU and OS support it. */
#include "ops/conv_fast.h"
#include "ops/gemm.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>
#include <math.h>

#include "ops/hswish_avx512.h"

#define NR EL_GEMM_NR
#define MRMAX EL_GEMM_MR_AVX512

static inline __mmask16 el_mask16(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* Loads the accumulators (or starts them at the bias), runs STEP over the
 * segments, stores (clamped after the last K block). */
#define EL_UKR_BODY(MR, WIDE, SETUP, STEP)                                                                             \
    do {                                                                                                               \
        __m512 c0[MRMAX], c1[MRMAX];                                                                                   \
        const __mmask16 m0 = el_mask16(ncols), m1 = el_mask16(ncols - 16);                                             \
        if (flags & EL_GEMM_ACC) {                                                                                     \
            _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                      \
            {                                                                                                          \
                c0[r] = _mm512_maskz_loadu_ps(m0, c + r * ldc);                                                        \
                if (WIDE) c1[r] = _mm512_maskz_loadu_ps(m1, c + r * ldc + 16);                                         \
            }                                                                                                          \
        } else {                                                                                                       \
            /* The sums start from the bias (one add less per element than                                             \
             * adding it at the end; only the summation order differs).                                                \
             * (Requesting the output lines for writing here, prefetchw, made                                          \
             * the large-M layers slower.) */                                                                          \
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();                                                 \
            if (e->bias) {                                                                                             \
                v0 = _mm512_maskz_loadu_ps(m0, e->bias);                                                               \
                v1 = _mm512_maskz_loadu_ps(m1, e->bias + 16);                                                          \
            }                                                                                                          \
            _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                      \
            {                                                                                                          \
                c0[r] = v0;                                                                                            \
                if (WIDE) c1[r] = v1;                                                                                  \
            }                                                                                                          \
        }                                                                                                              \
        for (int sg = 0; sg < nseg; sg++) {                                                                            \
        SETUP;                                                                                                         \
        for (int64_t k = 0; k < len; k++) {                                                                            \
            const __m512 b0 = _mm512_load_ps(b), b1 = WIDE ? _mm512_load_ps(b + 16) : b0;                              \
            if (PF) {                                                                                                  \
                _mm_prefetch(pf, _MM_HINT_T1);                                                                         \
                _mm_prefetch(pf + 64, _MM_HINT_T1);                                                                    \
                pf += pfstep;                                                                                          \
            }                                                                                                          \
            _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                      \
            {                                                                                                          \
                const __m512 av = _mm512_set1_ps(STEP(r));                                                             \
                c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);                                                                \
                if (WIDE) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);                                                      \
            }                                                                                                          \
            b += NR;                                                                                                   \
            ADVANCE;                                                                                                   \
        }                                                                                                              \
        }                                                                                                              \
        if ((flags & EL_GEMM_EPI) && e->clamp) {                                                                       \
            /* max_ps returns its second operand for a NaN first: NaN -> lo, as the reference. */                      \
            const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);                                       \
            _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                      \
            {                                                                                                          \
                c0[r] = _mm512_max_ps(c0[r], lo);                                                                      \
                if (WIDE) c1[r] = _mm512_max_ps(c1[r], lo);                                                            \
            }                                                                                                          \
            if (e->hi < INFINITY) {                                                                                    \
                _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                  \
                {                                                                                                      \
                    c0[r] = _mm512_min_ps(c0[r], hi);                                                                  \
                    if (WIDE) c1[r] = _mm512_min_ps(c1[r], hi);                                                        \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        /* Then, per row as it is stored: the residual Add, the hard swish. */                                        \
        const bool add_ = (flags & EL_GEMM_EPI) && e->add, hs_ = (flags & EL_GEMM_EPI) && e->hswish;                  \
        const __m512 hm = _mm512_set1_ps(e->hs_mul), ha = _mm512_set1_ps(e->hs_add);                                 \
        _Pragma("GCC unroll 14") for (int r = 0; r < MR; r++)                                                          \
        {                                                                                                              \
            if (add_) {                                                                                                \
                c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, e->add + r * e->ldadd));                        \
                if (WIDE) c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, e->add + r * e->ldadd + 16));         \
            }                                                                                                          \
            if (hs_) {                                                                                                 \
                c0[r] = el_hswish_ps(c0[r], hm, ha);                                                                   \
                if (WIDE) c1[r] = el_hswish_ps(c1[r], hm, ha);                                                         \
            }                                                                                                          \
            _mm512_mask_storeu_ps(c + r * ldc, m0, c0[r]);                                                             \
            if (WIDE) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, c1[r]);                                              \
        }                                                                                                              \
    } while (0)

/* Strided rows: q[i] walks rows 3i..3i+2, one float per k step. */
#define EL_STRIDED_SETUP                                                                                               \
    const char *q[(MRMAX + 2) / 3];                                                                                    \
    _Pragma("GCC unroll 5") for (int i = 0; i < (MR + 2) / 3; i++) q[i] = (const char *)(a + sg * sstride + 3 * i * lda);             \
    const int64_t L = lda * (int64_t)sizeof(float)
#define EL_STRIDED_STEP(r) (*(const float *)(q[(r) / 3] + ((r) % 3) * L))
#define ADVANCE_STRIDED                                                                                                \
    _Pragma("GCC unroll 5") for (int i = 0; i < (MR + 2) / 3; i++) q[i] += sizeof(float)

static inline __attribute__((always_inline)) void el_ukr_strided(const int MR, const int WIDE, const int PF, int nseg,
                                                                 int64_t len,
                                                                 const float *a, int64_t lda, int64_t sstride,
                                                                 const float *b, float *c, int64_t ldc, int ncols,
                                                                 int flags, const el_gemm_epi *e, const char *pf,
                                                                 int64_t pfstep)
{
#define ADVANCE ADVANCE_STRIDED
    EL_UKR_BODY(MR, WIDE, EL_STRIDED_SETUP, EL_STRIDED_STEP);
#undef ADVANCE
}

#define EL_ROWS_SWITCH(CALL)                                                                                           \
    switch (rows) {                                                                                                    \
    case 1: CALL(1); break;                                                                                            \
    case 2: CALL(2); break;                                                                                            \
    case 3: CALL(3); break;                                                                                            \
    case 4: CALL(4); break;                                                                                            \
    case 5: CALL(5); break;                                                                                            \
    case 6: CALL(6); break;                                                                                            \
    case 7: CALL(7); break;                                                                                            \
    case 8: CALL(8); break;                                                                                            \
    case 9: CALL(9); break;                                                                                            \
    case 10: CALL(10); break;                                                                                          \
    case 11: CALL(11); break;                                                                                          \
    case 12: CALL(12); break;                                                                                          \
    case 13: CALL(13); break;                                                                                          \
    default: CALL(14); break;                                                                                          \
    }

void el_gemm_f32_avx512(int rows, int nseg, int64_t len, const float *a, int64_t lda, int64_t sstride, const float *b,
                        float *c, int64_t ldc, int ncols, int flags, const el_gemm_epi *e, const void *pf,
                        int64_t pfstep)
{
    /* Panels of at most 16 live columns (a 16-channel layer, the last
     * panel of some) skip the zero half: half the FMAs. Those are bound
     * by loads (a broadcast per FMA), so without anything to prefetch
     * they run without the prefetches too. */
#define EL_CALL(R)                                                                                                     \
    el_ukr_strided(R, 1, 1, nseg, len, a, lda, sstride, b, c, ldc, ncols, flags, e, (const char *)pf, pfstep)
#define EL_CALL_HALF(R)                                                                                                \
    el_ukr_strided(R, 0, 1, nseg, len, a, lda, sstride, b, c, ldc, ncols, flags, e, (const char *)pf, pfstep)
#define EL_CALL_HALF_NOPF(R)                                                                                           \
    el_ukr_strided(R, 0, 0, nseg, len, a, lda, sstride, b, c, ldc, ncols, flags, e, NULL, 0)
    if (ncols <= 16 && !pf) {
        EL_ROWS_SWITCH(EL_CALL_HALF_NOPF);
        return;
    }
    if (!pf) {
        pf = b;
        pfstep = 0;
    }
    if (ncols > 16) {
        EL_ROWS_SWITCH(EL_CALL);
    } else {
        EL_ROWS_SWITCH(EL_CALL_HALF);
    }
#undef EL_CALL
#undef EL_CALL_HALF
#undef EL_CALL_HALF_NOPF
}

#else
/* Not x86-64: the dispatcher never selects these kernels. */
typedef int el_gemm_avx512_unused;
#endif
