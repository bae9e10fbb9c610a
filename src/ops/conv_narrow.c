/* Conv2D with few output channels: see conv_narrow.h.
 *
 * The filter is first copied (per call: at most 8 x K floats) to
 * [oc][tap][ic rounded up to 16], zeros past ic, so each output's weights
 * for a tap are whole vectors. A block of EL_NC_PIX output pixels gets one
 * input row pointer per tap (the zero row where the window hangs over the
 * padding); per tap and 16 channels it loads each pixel's inputs once and
 * multiplies them into every output's accumulator. */
#include "ops/conv_narrow.h"

#include <math.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/unary_fast.h"

#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

#define EL_NC_PIX 4

typedef struct el_nc_job {
    const el_conv_geom *g;
    const float *x, *wt; /* wt: [oc][taps][icp] */
    const el_conv_epi *e;
    float *y;
    int taps;
    int64_t icp, m;
} el_nc_job;

/* Input row of output pixel p at each tap, or the zero row. */
static void el_nc_ptrs(const el_nc_job *j, int64_t p, const float **a)
{
    const el_conv_geom *g = j->g;
    const el_window_axis *H = &g->h, *W = &g->w;
    int64_t ox = p % W->out, oy = p / W->out % H->out, b = p / W->out / H->out;
    int64_t iy0 = oy * H->stride - H->pad_before, ix0 = ox * W->stride - W->pad_before;
    int t = 0;
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = iy0 + ky * H->dilation;
        for (int64_t kx = 0; kx < W->k; kx++, t++) {
            int64_t ix = ix0 + kx * W->dilation;
            a[t] = iy >= 0 && iy < H->in && ix >= 0 && ix < W->in ? j->x + ((b * H->in + iy) * W->in + ix) * g->ic
                                                                   : el_conv_zero;
        }
    }
}

static inline __attribute__((always_inline)) void el_nc_block(const int OC, const int P, const el_nc_job *j,
                                                              const float *const *a, float *y)
{
    const int taps = j->taps;
    const int64_t ic = j->g->ic, icp = j->icp;
    __m512 acc[EL_NC_PIX][EL_CONV_NARROW_MAX_OC];
    for (int p = 0; p < P; p++)
        for (int o = 0; o < OC; o++) acc[p][o] = _mm512_setzero_ps();
    for (int t = 0; t < taps; t++) {
        const float *wt = j->wt + (int64_t)t * icp;
        for (int64_t c = 0; c < ic; c += 16) {
            const __mmask16 m = ic - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ic - c)) - 1u);
            __m512 xv[EL_NC_PIX];
            for (int p = 0; p < P; p++) xv[p] = _mm512_maskz_loadu_ps(m, a[p * taps + t] + c);
            for (int o = 0; o < OC; o++) {
                const __m512 wv = _mm512_load_ps(wt + (int64_t)o * taps * icp + c);
                for (int p = 0; p < P; p++) acc[p][o] = _mm512_fmadd_ps(xv[p], wv, acc[p][o]);
            }
        }
    }
    const el_conv_epi *e = j->e;
    const int64_t oc = j->g->oc;
    for (int p = 0; p < P; p++)
        for (int o = 0; o < OC; o++) {
            float v = _mm512_reduce_add_ps(acc[p][o]);
            if (e->bias) v += e->bias[o];
            if (e->clamp) {
                v = v > e->lo ? v : e->lo; /* NaN -> lo, as the other fast kernels */
                v = v < e->hi ? v : e->hi;
            }
            y[p * oc + o] = v;
        }
    if (el_conv_epi_has_tile_ops(e)) el_conv_epi_tile(e, y, P, OC, oc);
}

#define EL_NC_OC_SWITCH(P, A, Y)                                                                                      \
    switch (oc) {                                                                                                     \
    case 1: el_nc_block(1, P, j, A, Y); break;                                                                        \
    case 2: el_nc_block(2, P, j, A, Y); break;                                                                        \
    case 3: el_nc_block(3, P, j, A, Y); break;                                                                        \
    case 4: el_nc_block(4, P, j, A, Y); break;                                                                        \
    case 5: el_nc_block(5, P, j, A, Y); break;                                                                        \
    case 6: el_nc_block(6, P, j, A, Y); break;                                                                        \
    case 7: el_nc_block(7, P, j, A, Y); break;                                                                        \
    default: el_nc_block(8, P, j, A, Y); break;                                                                       \
    }

static void el_nc_items(void *ctx, int64_t i0, int64_t i1)
{
    const el_nc_job *j = ctx;
    const int64_t oc = j->g->oc;
    const float *a[EL_NC_PIX * EL_CONV_MAX_TAPS];
    for (int64_t it = i0; it < i1; it++) {
        int64_t p0 = it * EL_NC_PIX;
        int n = (int)(j->m - p0 < EL_NC_PIX ? j->m - p0 : EL_NC_PIX);
        for (int p = 0; p < n; p++) el_nc_ptrs(j, p0 + p, a + p * j->taps);
        float *y = j->y + p0 * oc;
        if (n == EL_NC_PIX) {
            EL_NC_OC_SWITCH(EL_NC_PIX, a, y)
        } else {
            /* The last pixels one by one: per pixel the same operations. */
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
    float *wt = el_mem_calloc((size_t)(g->oc * taps * j.icp), sizeof(float));
    if (!wt) return false;
    /* k = tap * ic + c; HWIO holds w[k * oc + o], the packed panel w[k * NR + o]. */
    const int64_t ws = layout == EL_FILTER_HWIO ? g->oc : EL_GEMM_NR;
    for (int64_t o = 0; o < g->oc; o++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t c = 0; c < g->ic; c++) wt[(o * taps + t) * j.icp + c] = w[(t * g->ic + c) * ws + o];
    j.wt = wt;
    int64_t items = (j.m + EL_NC_PIX - 1) / EL_NC_PIX;
    int64_t macs = EL_NC_PIX * taps * j.icp * g->oc;
    int64_t grain = 100000 / (macs > 0 ? macs : 1);
    el_parallel_for(el_threadpool_current(), items, grain < 1 ? 1 : grain, el_nc_items, &j);
    el_mem_free(wt);
    return true;
#else
    (void)g, (void)x, (void)w, (void)layout, (void)e, (void)y;
    return false;
#endif
}
