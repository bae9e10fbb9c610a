/* AVX2 + FMA depthwise convolution rows (see dwconv_fast.h). Compiled for
 * AVX2 whatever the build flags; only called after el_isa_available() found
 * the CPU supports it. */
#include "ops/dwconv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx2,fma")
#include <immintrin.h>

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

static inline __m256 el_dw_pixel_checked(const el_conv_geom *g, const float *xb, const float *w, int64_t cb,
                                         __m256i m, int64_t oy, int64_t ox)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = oy * H->stride - H->pad_before + ky * H->dilation;
        if (iy < 0 || iy >= H->in) continue;
        for (int64_t kx = 0; kx < W->k; kx++) {
            int64_t ix = ox * W->stride - W->pad_before + kx * W->dilation;
            if (ix < 0 || ix >= W->in) continue;
            __m256 xv = _mm256_maskload_ps(xb + (iy * W->in + ix) * C + cb, m);
            __m256 wv = _mm256_maskload_ps(w + (ky * W->k + kx) * C + cb, m);
            acc = _mm256_fmadd_ps(xv, wv, acc);
        }
    }
    return acc;
}

void el_depthwise_rows_f32_avx2(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e,
                                float *y, int64_t b, int64_t oy0, int64_t oy1, int64_t c0, int64_t c1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t C = g->ic, sw = W->stride, dw = W->dilation;
    const float *xb = x + b * H->in * W->in * C;
    float *yb = y + b * H->out * W->out * C;
    int64_t lo_x = (W->pad_before + sw - 1) / sw;
    int64_t hi_x = W->in - 1 - (W->k - 1) * dw + W->pad_before;
    hi_x = hi_x < 0 ? 0 : hi_x / sw + 1;
    if (hi_x > W->out) hi_x = W->out;
    if (lo_x > hi_x) lo_x = hi_x;
    const __m256 vlo = _mm256_set1_ps(e->lo), vhi = _mm256_set1_ps(e->hi);
    const bool k3 = H->k == 3 && W->k == 3;
    for (int64_t cb = c0; cb < c1; cb += 8) {
        __m256i m = el_mask8(c1 - cb);
        __m256 bv = e->bias ? _mm256_maskload_ps(e->bias + cb, m) : _mm256_setzero_ps();
        __m256 wk[9];
        for (int t = 0; t < 9; t++) wk[t] = k3 ? _mm256_maskload_ps(w + t * C + cb, m) : _mm256_setzero_ps();
        for (int64_t oy = oy0; oy < oy1; oy++) {
            float *yr = yb + oy * W->out * C + cb;
            int64_t iy0 = oy * H->stride - H->pad_before;
            bool rows_in = iy0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in;
            int64_t a = rows_in ? lo_x : W->out, z = rows_in ? hi_x : W->out;
            for (int64_t ox = 0; ox < a; ox++)
                _mm256_maskstore_ps(yr + ox * C, m, el_epi(el_dw_pixel_checked(g, xb, w, cb, m, oy, ox), bv, e, vlo, vhi));
            if (k3 && a < z) {
                const int64_t rs = H->dilation * W->in * C, ds = dw * C;
                const float *r0 = xb + iy0 * W->in * C + cb;
                for (int64_t ox = a; ox < z; ox++) {
                    const float *p = r0 + (ox * sw - W->pad_before) * C;
                    __m256 acc = _mm256_setzero_ps();
#pragma GCC unroll 3
                    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
                        for (int kx = 0; kx < 3; kx++)
                            acc = _mm256_fmadd_ps(_mm256_maskload_ps(p + ky * rs + kx * ds, m), wk[ky * 3 + kx], acc);
                    _mm256_maskstore_ps(yr + ox * C, m, el_epi(acc, bv, e, vlo, vhi));
                }
            } else {
                for (int64_t ox = a; ox < z; ox++)
                    _mm256_maskstore_ps(yr + ox * C, m,
                                        el_epi(el_dw_pixel_checked(g, xb, w, cb, m, oy, ox), bv, e, vlo, vhi));
            }
            for (int64_t ox = z; ox < W->out; ox++)
                _mm256_maskstore_ps(yr + ox * C, m, el_epi(el_dw_pixel_checked(g, xb, w, cb, m, oy, ox), bv, e, vlo, vhi));
        }
    }
}
#else
typedef int el_dwconv_avx2_unused;
#endif
