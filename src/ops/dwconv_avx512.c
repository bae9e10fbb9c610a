/* AVX-512F depthwise convolution rows (see dwconv_fast.h). Compiled for
 * AVX-512 whatever the build flags; only called after el_isa_available()
 * found the CPU and OS support it. */
#include "ops/dwconv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

static inline __mmask16 el_mask16(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

static inline __m512 el_epi(__m512 v, __m512 b, const el_conv_epi *e, __m512 lo, __m512 hi)
{
    v = _mm512_add_ps(v, b);
    if (e->clamp) v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    return v;
}

/* One output pixel over the taps that fall inside the input (borders). */
static inline __m512 el_dw_pixel_checked(const el_conv_geom *g, const float *xb, const float *w, int64_t cb,
                                         __mmask16 m, int64_t oy, int64_t ox)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
        if (iy < 0 || iy >= H->in) continue;
        for (int64_t kx = 0; kx < W->k; kx++) {
            int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
            if (ix < 0 || ix >= W->in) continue;
            __m512 xv = _mm512_maskz_loadu_ps(m, xb + (iy * W->in + ix) * C + cb);
            __m512 wv = _mm512_maskz_loadu_ps(m, w + (ky * W->k + kx) * C + cb);
            acc = _mm512_fmadd_ps(xv, wv, acc);
        }
    }
    return acc;
}

/* Interior pixels [a, z) of one output row, one channel vector, 3x3
 * window: four pixels at a time so four independent FMA chains overlap;
 * each pixel still sums its taps row by row, left to right. */
static inline void el_dw3x3_run(const float *r0, int64_t rs, int64_t ds, int64_t ps, __mmask16 m, const __m512 *wk,
                                __m512 bv, const el_conv_epi *e, __m512 vlo, __m512 vhi, float *yr, int64_t ys,
                                int64_t a, int64_t z)
{
    int64_t ox = a;
#define EL_TAP(acc, p, ky, kx) acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, (p) + ky * rs + kx * ds), wk[ky * 3 + kx], acc)
#define EL_PIXEL_TAPS(acc, p)                                                                                          \
    EL_TAP(acc, p, 0, 1);                                                                                              \
    EL_TAP(acc, p, 0, 2);                                                                                              \
    EL_TAP(acc, p, 1, 0);                                                                                              \
    EL_TAP(acc, p, 1, 1);                                                                                              \
    EL_TAP(acc, p, 1, 2);                                                                                              \
    EL_TAP(acc, p, 2, 0);                                                                                              \
    EL_TAP(acc, p, 2, 1);                                                                                              \
    EL_TAP(acc, p, 2, 2)
    for (; ox + 4 <= z; ox += 4) {
        const float *p0 = r0 + ox * ps, *p1 = p0 + ps, *p2 = p1 + ps, *p3 = p2 + ps;
        __m512 a0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p0), wk[0]);
        __m512 a1 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p1), wk[0]);
        __m512 a2 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p2), wk[0]);
        __m512 a3 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p3), wk[0]);
        EL_PIXEL_TAPS(a0, p0);
        EL_PIXEL_TAPS(a1, p1);
        EL_PIXEL_TAPS(a2, p2);
        EL_PIXEL_TAPS(a3, p3);
        _mm512_mask_storeu_ps(yr + ox * ys, m, el_epi(a0, bv, e, vlo, vhi));
        _mm512_mask_storeu_ps(yr + (ox + 1) * ys, m, el_epi(a1, bv, e, vlo, vhi));
        _mm512_mask_storeu_ps(yr + (ox + 2) * ys, m, el_epi(a2, bv, e, vlo, vhi));
        _mm512_mask_storeu_ps(yr + (ox + 3) * ys, m, el_epi(a3, bv, e, vlo, vhi));
    }
    for (; ox < z; ox++) {
        const float *p0 = r0 + ox * ps;
        __m512 a0 = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, p0), wk[0]);
        EL_PIXEL_TAPS(a0, p0);
        _mm512_mask_storeu_ps(yr + ox * ys, m, el_epi(a0, bv, e, vlo, vhi));
    }
#undef EL_PIXEL_TAPS
#undef EL_TAP
}

void el_depthwise_rows_f32_avx512(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e,
                                  float *y, int64_t b, int64_t oy0, int64_t oy1, int64_t c0, int64_t c1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic, sw = W->stride, dw = W->dilation;
    const float *xb = x + b * H->in * W->in * C;
    float *yb = y + b * H->out * W->out * C;
    /* Output columns whose whole window is inside the input row. */
    int64_t lo_x = (W->pad_before + sw - 1) / sw;
    int64_t hi_x = W->in - 1 - (W->k - 1) * dw + W->pad_before;
    hi_x = hi_x < 0 ? 0 : hi_x / sw + 1;
    if (hi_x > W->out) hi_x = W->out;
    if (lo_x > hi_x) lo_x = hi_x;
    const __m512 vlo = _mm512_set1_ps(e->lo), vhi = _mm512_set1_ps(e->hi);
    const bool k3 = H->k == 3 && W->k == 3;
    /* Rows outside, channel vectors inside: the three input rows a output
     * row reads stay in cache across the channel vectors. */
    for (int64_t oy = oy0; oy < oy1; oy++) {
        int64_t iy0 = oy * H->stride - H->pad_before;
        bool rows_in = iy0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in;
        int64_t a = rows_in ? lo_x : W->out, z = rows_in ? hi_x : W->out;
        for (int64_t cb = c0; cb < c1; cb += 16) {
            __mmask16 m = el_mask16(c1 - cb);
            __m512 bv = e->bias ? _mm512_maskz_loadu_ps(m, e->bias + cb) : _mm512_setzero_ps();
            float *yr = yb + oy * W->out * C + cb;
            for (int64_t ox = 0; ox < a; ox++) {
                __m512 acc = el_dw_pixel_checked(g, xb, w, cb, m, oy, ox);
                _mm512_mask_storeu_ps(yr + ox * C, m, el_epi(acc, bv, e, vlo, vhi));
            }
            if (k3 && a < z) {
                __m512 wk[9];
                for (int t = 0; t < 9; t++) wk[t] = _mm512_maskz_loadu_ps(m, w + t * C + cb);
                const float *r0 = xb + (iy0 * W->in - W->pad_before) * C + cb;
                el_dw3x3_run(r0, H->dilation * W->in * C, dw * C, sw * C, m, wk, bv, e, vlo, vhi, yr, C, a, z);
            } else {
                for (int64_t ox = a; ox < z; ox++) {
                    __m512 acc = el_dw_pixel_checked(g, xb, w, cb, m, oy, ox);
                    _mm512_mask_storeu_ps(yr + ox * C, m, el_epi(acc, bv, e, vlo, vhi));
                }
            }
            for (int64_t ox = z; ox < W->out; ox++) {
                __m512 acc = el_dw_pixel_checked(g, xb, w, cb, m, oy, ox);
                _mm512_mask_storeu_ps(yr + ox * C, m, el_epi(acc, bv, e, vlo, vhi));
            }
        }
    }
}
#else
/* Not x86-64: the dispatcher never selects these kernels. */
typedef int el_dwconv_avx512_unused;
#endif
