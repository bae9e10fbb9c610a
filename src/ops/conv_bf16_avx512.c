/* AVX512-BF16 parts of the bf16 convolution (see conv_bf16.h): the panel
 * conversion (VCVTNE2PS2BF16, round to nearest even) and a 12x32 GEMM tile
 * on VDPBF16PS. Compiled for these ISAs whatever the build flags; only
 * called after el_bf16_isa_available() found the CPU supports them. */
#include "ops/conv_bf16.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16")
#include <immintrin.h>

static inline __mmask16 el_mask16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* src[k0, k0 + 32) as two vectors, zero past k. */
static inline void el_load32(const float *src, int64_t k0, int64_t k, __m512 *lo, __m512 *hi)
{
    if (k0 + 32 <= k) {
        *lo = _mm512_loadu_ps(src + k0);
        *hi = _mm512_loadu_ps(src + k0 + 16);
    } else {
        *lo = _mm512_maskz_loadu_ps(el_mask16(k - k0), src + k0);
        *hi = _mm512_maskz_loadu_ps(el_mask16(k - k0 - 16), src + k0 + 16);
    }
}

void el_bf16_panel_row_avx512(const float *src, int64_t k, int64_t kt, uint16_t *dst)
{
    for (int64_t c = 0; c < kt; c++, dst += EL_BF16_TILE) {
        __m512i v = _mm512_setzero_si512();
        if (src) {
            __m512 lo, hi;
            el_load32(src, c * EL_BF16_KB, k, &lo, &hi);
            /* The second operand fills the low half. */
            v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        }
        _mm512_store_si512((void *)dst, v);
    }
}

/* Hi and lo halves of 16 floats (el_bf16x3_split): lo is what rounding
 * to hi left, zero where hi is not finite (an infinity keeps its sign
 * instead of turning into inf - inf = NaN). */
static inline void el_split16(__m512 v, __m512 *hi, __m512 *lo)
{
    __m512 h = _mm512_cvtpbh_ps(_mm512_cvtneps_pbh(v));
    __mmask16 fin = _mm512_cmp_ps_mask(_mm512_abs_ps(h), _mm512_set1_ps(__builtin_inff()), _CMP_LT_OQ);
    *hi = h;
    *lo = _mm512_maskz_sub_ps(fin, v, h);
}

void el_bf16x3_panel_row_avx512(const float *src, int64_t k, int64_t kt, uint16_t *dst, int64_t lo_off)
{
    for (int64_t c = 0; c < kt; c++, dst += EL_BF16_TILE) {
        __m512i vh = _mm512_setzero_si512(), vl = vh;
        if (src) {
            __m512 a, b, ah, al, bh, bl;
            el_load32(src, c * EL_BF16_KB, k, &a, &b);
            el_split16(a, &ah, &al);
            el_split16(b, &bh, &bl);
            /* hi holds bf16 values: converting it again is exact. */
            vh = (__m512i)_mm512_cvtne2ps_pbh(bh, ah);
            vl = (__m512i)_mm512_cvtne2ps_pbh(bl, al);
        }
        _mm512_store_si512((void *)dst, vh);
        _mm512_store_si512((void *)(dst + lo_off), vl);
    }
}

void el_bf16_pack_avx512(const float *w, int64_t rs, int64_t ps, int64_t k, int64_t n, bool x3, uint16_t *out)
{
    const int64_t kt = el_bf16_kpad(k) / EL_BF16_KB, nt = el_bf16_npad(n) / EL_BF16_NB, len = el_bf16_packed_len(k, n);
    /* Row pairs interleaved per column: a0 b0 a1 b1 ... from [a0..a15 | b0..b15]. */
    __m512i ix = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                  20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t nb = 0; nb < nt; nb++) {
        const float *col = w + (nb / 2) * ps + (nb % 2) * 16;
        __mmask16 m = el_mask16(n - nb * EL_BF16_NB);
        for (int64_t kb = 0; kb < kt; kb++) {
            uint16_t *t = out + (nb * kt + kb) * EL_BF16_TILE;
            for (int r = 0; r < EL_BF16_KB / 2; r++) {
                int64_t k0 = kb * EL_BF16_KB + 2 * r;
                __m512 a = k0 < k ? _mm512_maskz_loadu_ps(m, col + k0 * rs) : _mm512_setzero_ps();
                __m512 b = k0 + 1 < k ? _mm512_maskz_loadu_ps(m, col + (k0 + 1) * rs) : _mm512_setzero_ps();
                if (!x3) {
                    __m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);
                    _mm512_store_si512((void *)(t + r * 32), _mm512_permutexvar_epi16(ix, v));
                    continue;
                }
                __m512 ah, al, bh, bl;
                el_split16(a, &ah, &al);
                el_split16(b, &bh, &bl);
                __m512i vh = (__m512i)_mm512_cvtne2ps_pbh(bh, ah), vl = (__m512i)_mm512_cvtne2ps_pbh(bl, al);
                _mm512_store_si512((void *)(t + r * 32), _mm512_permutexvar_epi16(ix, vh));
                _mm512_store_si512((void *)(t + len + r * 32), _mm512_permutexvar_epi16(ix, vl));
            }
        }
    }
}

#define MR 12

static inline __m512 el_epi(__m512 v, __m512 b, const el_conv_epi *e, __m512 lo, __m512 hi)
{
    v = _mm512_add_ps(v, b);
    if (e->clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return v;
}

/* MR rows (row pointers ap, each at its row's place in the first tile) x
 * one or two column blocks; each k pair is one VDPBF16PS per row and block. */
static inline __attribute__((always_inline)) void el_tile(int rows, int64_t kt, const uint16_t *const *ap,
                                                          const uint16_t *b0, const uint16_t *b1, bool two,
                                                          __mmask16 m0, __mmask16 m1, const el_conv_epi *e,
                                                          int64_t col, float *y, int64_t ys)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int64_t kb = 0; kb < kt; kb++) {
        const int64_t base = kb * EL_BF16_TILE;
        for (int p = 0; p < EL_BF16_KB / 2; p++) {
            __m512bh w0 = (__m512bh)_mm512_load_si512((const void *)(b0 + base + p * 32));
            __m512bh w1 = w0;
            if (two) w1 = (__m512bh)_mm512_load_si512((const void *)(b1 + base + p * 32));
#pragma GCC unroll 12
            for (int r = 0; r < MR; r++) {
                int32_t pair;
                __builtin_memcpy(&pair, ap[r] + base + p * 2, sizeof pair);
                __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
                c0[r] = _mm512_dpbf16_ps(c0[r], av, w0);
                if (two) c1[r] = _mm512_dpbf16_ps(c1[r], av, w1);
            }
        }
    }
    __m512 bv0 = _mm512_setzero_ps(), bv1 = _mm512_setzero_ps();
    if (e->bias) {
        bv0 = _mm512_maskz_loadu_ps(m0, e->bias + col);
        if (two) bv1 = _mm512_maskz_loadu_ps(m1, e->bias + col + 16);
    }
    __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        _mm512_mask_storeu_ps(y + r * ys + col, m0, el_epi(c0[r], bv0, e, lo, hi));
        if (two) _mm512_mask_storeu_ps(y + r * ys + col + 16, m1, el_epi(c1[r], bv1, e, lo, hi));
    }
}

void el_bf16_gemm_avx512(int rows, int64_t kt, const uint16_t *panel, const uint16_t *wp, int64_t n, int64_t nb0,
                         int64_t nb1, const el_conv_epi *e, float *y, int64_t ys)
{
    const int64_t tstride = kt * EL_BF16_TILE; /* between 16-row tiles of the panel */
    for (int64_t nb = nb0; nb < nb1; nb += 2) {
        bool two = nb + 1 < nb1;
        int64_t col = nb * EL_BF16_NB;
        __mmask16 m0 = el_mask16(n - col), m1 = el_mask16(n - col - 16);
        const uint16_t *b0 = wp + nb * tstride, *b1 = b0 + tstride;
        for (int r0 = 0; r0 < rows; r0 += MR) {
            const uint16_t *ap[MR];
            int nr = rows - r0 < MR ? rows - r0 : MR;
            for (int r = 0; r < MR; r++) {
                int rr = r < nr ? r0 + r : r0; /* rows past the end read a valid row, not stored */
                ap[r] = panel + (rr / 16) * tstride + (rr % 16) * 32;
            }
            if (two) el_tile(nr, kt, ap, b0, b1, true, m0, m1, e, col, y + r0 * ys, ys);
            else el_tile(nr, kt, ap, b0, b0, false, m0, 0, e, col, y + r0 * ys, ys);
        }
    }
}
#endif
