/* Conv2D with few output channels: see conv_narrow.h.
 *
 * The filter is first copied (per call: at most 8 x K floats) to
 * [oc][tap][ic rounded up to 16], zeros past ic, so each output's weights
 * for a tap are whole vectors. A block of 16 / oc output pixels (so its
 * accumulators, pixels x outputs, fit in 16 registers with the loads
 * beside them) gets one input row pointer per tap (the zero row where the
 * window hangs over the padding); per tap and 16 channels it loads each
 * pixel's inputs once and multiplies them into every output's
 * accumulator. The block's up to 16 accumulators are then summed across
 * their lanes together, by a transposing tree of adds (one vector of
 * sums, already in the output's pixel-major order, instead of 16
 * horizontal reductions and scalar stores). */
#include "ops/conv_narrow.h"

#include <math.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/unary_fast.h"

#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

/* Pixels per block at the widest (1 output). */
#define EL_NC_MAX_PIX 16

typedef struct el_nc_job {
    const el_conv_geom *g;
    const float *x, *wt; /* wt: [oc][taps][icp] */
    const el_conv_epi *e;
    float *y;
    int taps, pix; /* pix: pixels per block, 16 / oc */
    int64_t icp, m;
    float bias[EL_NC_MAX_PIX]; /* e's bias in a block's order: bias[k % oc] */
} el_nc_job;

/* Lane i of the result: the sum of v[i]'s 16 lanes, v[i] zero for i >= n.
 * Every vector goes through the same tree whatever its position, so a
 * pixel's sums do not depend on the block it is in. */
static inline __attribute__((always_inline)) __m512 el_nc_sum16(const __m512 *v, const int n)
{
    const __m512 z = _mm512_setzero_ps();
    __m512 s[8], u[4];
    for (int k = 0; k < 8; k++) {
        __m512 a = 2 * k < n ? v[2 * k] : z, b = 2 * k + 1 < n ? v[2 * k + 1] : z;
        /* per 128-bit lane: a0+a2, b0+b2, a1+a3, b1+b3 */
        s[k] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    }
    for (int k = 0; k < 4; k++) {
        __m512d c = _mm512_castps_pd(s[2 * k]), d = _mm512_castps_pd(s[2 * k + 1]);
        /* per 128-bit lane: the 4 vectors' sums over that lane's 4 floats */
        u[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(c, d)), _mm512_castpd_ps(_mm512_unpackhi_pd(c, d)));
    }
    __m512 w01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 w23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w01, w23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(w01, w23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* P pixels x OC outputs (P * OC <= 16) into y[p * OC + o]: oc is OC. */
static inline __attribute__((always_inline)) void el_nc_block(const int OC, const int P, const el_nc_job *j,
                                                              const float *const *a, float *y)
{
    const int taps = j->taps;
    const int64_t ic = j->g->ic, icp = j->icp;
    __m512 acc[EL_NC_MAX_PIX];
    for (int k = 0; k < P * OC; k++) acc[k] = _mm512_setzero_ps();
    for (int t = 0; t < taps; t++) {
        const float *wt = j->wt + (int64_t)t * icp;
        const float *at[EL_NC_MAX_PIX];
        for (int p = 0; p < P; p++) at[p] = a[p * taps + t];
        for (int64_t c = 0; c < ic; c += 16) {
            const __mmask16 m = ic - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ic - c)) - 1u);
            __m512 xv[EL_NC_MAX_PIX];
            for (int p = 0; p < P; p++) xv[p] = _mm512_maskz_loadu_ps(m, at[p] + c);
            for (int o = 0; o < OC; o++) {
                const __m512 wv = _mm512_load_ps(wt + (int64_t)o * taps * icp + c);
                for (int p = 0; p < P; p++) acc[p * OC + o] = _mm512_fmadd_ps(xv[p], wv, acc[p * OC + o]);
            }
        }
    }
    const el_conv_epi *e = j->e;
    const int n = P * OC;
    const __mmask16 mn = (__mmask16)((1u << n) - 1u);
    __m512 v = el_nc_sum16(acc, n);
    if (e->bias) v = _mm512_add_ps(v, _mm512_loadu_ps(j->bias));
    if (e->clamp) {
        /* max(v, lo): lo where v is NaN, as the other fast kernels */
        v = _mm512_max_ps(v, _mm512_set1_ps(e->lo));
        v = _mm512_min_ps(v, _mm512_set1_ps(e->hi));
    }
    _mm512_mask_storeu_ps(y, mn, v);
    if (el_conv_epi_has_tile_ops(e)) el_conv_epi_tile(e, y, P, OC, OC);
}

/* Blocks of 16 / OC pixels, the last pixels one by one. */
#define EL_NC_OC_SWITCH(P, A, Y)                                                                                      \
    switch (oc) {                                                                                                     \
    case 1: el_nc_block(1, (P) ? (P) : 16, j, A, Y); break;                                                           \
    case 2: el_nc_block(2, (P) ? (P) : 8, j, A, Y); break;                                                            \
    case 3: el_nc_block(3, (P) ? (P) : 5, j, A, Y); break;                                                            \
    case 4: el_nc_block(4, (P) ? (P) : 4, j, A, Y); break;                                                            \
    case 5: el_nc_block(5, (P) ? (P) : 3, j, A, Y); break;                                                            \
    case 6: el_nc_block(6, (P) ? (P) : 2, j, A, Y); break;                                                            \
    case 7: el_nc_block(7, (P) ? (P) : 2, j, A, Y); break;                                                            \
    default: el_nc_block(8, (P) ? (P) : 2, j, A, Y); break;                                                           \
    }

static void el_nc_items(void *ctx, int64_t i0, int64_t i1)
{
    const el_nc_job *j = ctx;
    const el_conv_geom *g = j->g;
    const int64_t oc = g->oc, ow = g->w.out, oh = g->h.out;
    const float *a[EL_NC_MAX_PIX * EL_CONV_MAX_TAPS];
    for (int64_t it = i0; it < i1; it++) {
        int64_t p0 = it * j->pix;
        int n = (int)(j->m - p0 < j->pix ? j->m - p0 : j->pix);
        /* One division per block; the pixels after it step along the row. */
        int64_t ox = p0 % ow, oy = p0 / ow % oh, b = p0 / ow / oh;
        for (int p = 0; p < n; p++) {
            el_conv_tap_ptrs(j->g, j->x, b, oy, ox, a + p * j->taps);
            if (++ox == ow) {
                ox = 0;
                if (++oy == oh) oy = 0, b++;
            }
        }
        float *y = j->y + p0 * oc;
        if (n == j->pix) {
            EL_NC_OC_SWITCH(0, a, y)
        } else {
            /* Per pixel the same operations as in a whole block. */
            for (int p = 0; p < n; p++) EL_NC_OC_SWITCH(1, a + p * j->taps, y + p * oc)
        }
    }
}

#endif

bool el_conv2d_narrow(const el_conv_geom *g, const float *x, const float *w, el_filter_layout layout,
                      const el_conv_epi *e, float *y)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() != EL_ISA_AVX512 || g->groups != 1 || g->oc < 1 || g->oc > EL_CONV_NARROW_MAX_OC ||
        g->ic < EL_CONV_NARROW_MIN_IC)
        return false;
    int64_t taps = g->h.k * g->w.k;
    if (taps < 1 || taps > EL_CONV_MAX_TAPS || g->ic > EL_CONV_ZERO_LEN) return false;
    if (layout != EL_FILTER_HWIO && layout != EL_FILTER_F32_P32) return false;
    el_nc_job j = {.g = g, .x = x, .e = e, .y = y, .taps = (int)taps};
    j.icp = (g->ic + 15) / 16 * 16;
    j.m = g->n * g->h.out * g->w.out;
    static const int pix[EL_CONV_NARROW_MAX_OC + 1] = {0, 16, 8, 5, 4, 3, 2, 2, 2};
    j.pix = pix[g->oc];
    for (int k = 0; k < EL_NC_MAX_PIX; k++) j.bias[k] = e->bias ? e->bias[k % g->oc] : 0.0f;
    float *wt = el_mem_calloc((size_t)(g->oc * taps * j.icp), sizeof(float));
    if (!wt) return false;
    /* k = tap * ic + c; HWIO holds w[k * oc + o], the packed panel w[k * NR + o]. */
    const int64_t ws = layout == EL_FILTER_HWIO ? g->oc : EL_GEMM_NR;
    for (int64_t o = 0; o < g->oc; o++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t c = 0; c < g->ic; c++) wt[(o * taps + t) * j.icp + c] = w[(t * g->ic + c) * ws + o];
    j.wt = wt;
    int64_t items = (j.m + j.pix - 1) / j.pix;
    int64_t macs = j.pix * taps * j.icp * g->oc;
    int64_t grain = 100000 / (macs > 0 ? macs : 1);
    el_parallel_for(el_threadpool_current(), items, grain < 1 ? 1 : grain, el_nc_items, &j);
    el_mem_free(wt);
    return true;
#else
    (void)g, (void)x, (void)w, (void)layout, (void)e, (void)y;
    return false;
#endif
}
