/* Conv2D over an input of a few channels: see conv_stem.h.
 *
 * The filter is first copied (per call: at most 256 x 64 floats) to
 * [k][ocp], ocp the output depth rounded up to 16 and zeros past it, so a
 * k step's weights are OV = ocp / 16 whole vectors. Work items are output
 * row segments; a segment is cut evenly into blocks of P pixels, P * OV <=
 * 12 accumulators (enough independent chains to hide the FMA latency, with
 * the weights and broadcasts beside them in 32 registers). A block whose
 * windows all lie inside the input reads element k of pixel p at base + p
 * * stride * ic + koff[k]; a block touching the padding gets a pointer per
 * pixel and tap (the zero row for taps in the padding) and reads the same
 * elements in the same order, so a pixel's sums do not depend on its
 * block. */
#include "ops/conv_stem.h"

#include <math.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"

#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

#include "ops/hswish_avx512.h"

#define EL_CS_MAX_OV (EL_CONV_STEM_MAX_OC / 16)
/* Accumulators per block: P * OV. */
#define EL_CS_ACC 12

struct el_stem_rows {
    el_conv_geom g; /* the convolution's */
    el_conv_geom lg; /* with std: one output row over its window of rows (1 x kh x W) */
    const float *x;
    float *wt;          /* [k][ocp] */
    el_conv_epi e;
    const el_std *std;  /* x standardised per output row instead (ops/mul_add.h), or NULL */
    float *scratch;     /* with std, the whole-tensor run: a window of rows per thread */
    float *y;           /* the whole-tensor run's output */
    int taps, ov, pmax;
    int64_t k, ocp, segs;
    int32_t koff[EL_CONV_STEM_MAX_K]; /* element k's offset from the window's first input element */
    float bias[EL_CONV_STEM_MAX_OC];  /* e's bias, zeros past oc */
    __mmask16 last_mask;              /* the output channels in the last vector */
    bool hswish;                      /* e's only tile operation is hard swish: applied in registers */
};
typedef struct el_stem_rows el_cs_job;

/* P pixels x OV vectors of outputs into y (pixels oc floats apart).
 * INSIDE: a[0] is pixel 0's window base, the others sx floats apart (SX
 * when it is not 0: a constant, so the addresses are displacements and the
 * pixels take no registers); else a[p * taps + t] points at pixel p's tap
 * t. */
static inline __attribute__((always_inline)) void el_cs_block(const int OV, const int P, const bool INSIDE,
                                                              const int SX, const el_cs_job *j,
                                                              const float *const *a, int64_t sx, float *y)
{
    __m512 acc[EL_CS_ACC];
#pragma GCC unroll 12
    for (int i = 0; i < EL_CS_ACC; i++) acc[i] = _mm512_setzero_ps();
    const float *wk = j->wt;
    if (INSIDE) {
        const float *ap[EL_CS_ACC];
        const float *a0 = a[0];
#pragma GCC unroll 12
        for (int p = 0; p < P; p++) ap[p] = a0 + p * sx;
        const int32_t *ko = j->koff, *kend = j->koff + j->k;
        for (; ko < kend; ko++, wk += OV * 16) {
            const int32_t o = *ko;
            /* One pointer per step: the broadcasts then address base +
             * displacement, which stays one fused uop with the FMA (an
             * indexed address is split in two). */
            const float *q = a0 + o;
            __asm__("" : "+r"(q));
            __m512 wv[EL_CS_MAX_OV];
#pragma GCC unroll 4
            for (int v = 0; v < OV; v++) wv[v] = _mm512_loadu_ps(wk + v * 16);
#pragma GCC unroll 12
            for (int p = 0; p < P; p++) {
                const __m512 xv = _mm512_set1_ps(SX ? q[p * SX] : ap[p][o]);
#pragma GCC unroll 4
                for (int v = 0; v < OV; v++) acc[p * OV + v] = _mm512_fmadd_ps(xv, wv[v], acc[p * OV + v]);
            }
        }
    } else {
        const int taps = j->taps;
        const int64_t ic = j->g.ic;
        for (int t = 0; t < taps; t++) {
            for (int64_t c = 0; c < ic; c++, wk += OV * 16) {
                __m512 wv[EL_CS_MAX_OV];
#pragma GCC unroll 4
                for (int v = 0; v < OV; v++) wv[v] = _mm512_loadu_ps(wk + v * 16);
#pragma GCC unroll 12
                for (int p = 0; p < P; p++) {
                    const __m512 xv = _mm512_set1_ps(a[p * taps + t][c]);
#pragma GCC unroll 4
                    for (int v = 0; v < OV; v++) acc[p * OV + v] = _mm512_fmadd_ps(xv, wv[v], acc[p * OV + v]);
                }
            }
        }
    }
    const el_conv_epi *e = &j->e;
    const int64_t oc = j->g.oc;
    __m512 b[EL_CS_MAX_OV];
#pragma GCC unroll 4
    for (int v = 0; v < OV; v++) b[v] = _mm512_loadu_ps(j->bias + v * 16);
    if (e->clamp) {
        /* max(v, lo): lo where v is NaN, as the other fast kernels */
        const __m512 lo = _mm512_set1_ps(e->lo), hi = _mm512_set1_ps(e->hi);
#pragma GCC unroll 12
        for (int i = 0; i < P * OV; i++) acc[i] = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[i], b[i % OV]), lo), hi);
    } else if (j->hswish) {
        const __m512 vm = _mm512_set1_ps(e->hs_mul), va = _mm512_set1_ps(e->hs_add);
#pragma GCC unroll 12
        for (int i = 0; i < P * OV; i++) acc[i] = el_hswish_ps(_mm512_add_ps(acc[i], b[i % OV]), vm, va);
    } else {
#pragma GCC unroll 12
        for (int i = 0; i < P * OV; i++) acc[i] = _mm512_add_ps(acc[i], b[i % OV]);
    }
    const __mmask16 last = j->last_mask;
#pragma GCC unroll 12
    for (int p = 0; p < P; p++) {
#pragma GCC unroll 4
        for (int v = 0; v < OV - 1; v++) _mm512_storeu_ps(y + p * oc + v * 16, acc[p * OV + v]);
        _mm512_mask_storeu_ps(y + p * oc + (OV - 1) * 16, last, acc[p * OV + OV - 1]);
    }
}

/* A block of P pixels (1 <= P <= 12 / OV) of a kernel of OV vectors; the
 * full blocks (pmax and pmax - 1 pixels) with the input step SX. */
#define EL_CS_PC(OV, PP, INSIDE, SX)                                                                                      case PP:                                                                                                                  if ((PP) > 12 / (OV)) break;                                                                                          if ((PP) >= 12 / (OV) - 1) el_cs_block(OV, (PP) <= 12 / (OV) ? (PP) : 1, INSIDE, SX, j, a, sx, y);                   else el_cs_block(OV, (PP) <= 12 / (OV) ? (PP) : 1, INSIDE, 0, j, a, sx, y);                                           break;
#define EL_CS_OV_P(OV, INSIDE, SX)                                                                                        switch (P) {                                                                                                              EL_CS_PC(OV, 1, INSIDE, SX)                                                                                           EL_CS_PC(OV, 2, INSIDE, SX)                                                                                           EL_CS_PC(OV, 3, INSIDE, SX)                                                                                           EL_CS_PC(OV, 4, INSIDE, SX)                                                                                           EL_CS_PC(OV, 5, INSIDE, SX)                                                                                           EL_CS_PC(OV, 6, INSIDE, SX)                                                                                           EL_CS_PC(OV, 7, INSIDE, SX)                                                                                           EL_CS_PC(OV, 8, INSIDE, SX)                                                                                           EL_CS_PC(OV, 9, INSIDE, SX)                                                                                           EL_CS_PC(OV, 10, INSIDE, SX)                                                                                          EL_CS_PC(OV, 11, INSIDE, SX)                                                                                          EL_CS_PC(OV, 12, INSIDE, SX)                                                                                      default: break;                                                                                                       }

#define EL_CS_SWITCH(INSIDE, SX)                                                                                          switch (j->ov) {                                                                                                      case 1: EL_CS_OV_P(1, INSIDE, SX) break;                                                                              case 2: EL_CS_OV_P(2, INSIDE, SX) break;                                                                              case 3: EL_CS_OV_P(3, INSIDE, SX) break;                                                                              default: EL_CS_OV_P(4, INSIDE, SX) break;                                                                             }

static void el_cs_inside(const el_cs_job *j, int P, const float *const *a, int64_t sx, float *y)
{
    /* The first layers' steps (3 channels at stride 1, 2, 4) as constants. */
    switch (sx) {
    case 3: EL_CS_SWITCH(true, 3) break;
    case 6: EL_CS_SWITCH(true, 6) break;
    case 12: EL_CS_SWITCH(true, 12) break;
    default: EL_CS_SWITCH(true, 0) break;
    }
}

static void el_cs_edge(const el_cs_job *j, int P, const float *const *a, int64_t sx, float *y)
{
    EL_CS_SWITCH(false, 0)
}

/* Pixels [x0, x1) of output row (b, oy) of geometry g over input x in
 * blocks of pmax or pmax - 1 (not a short last one), through the inside
 * or the edge kernel; yrow: the row's pixel 0. */
static void el_cs_run(const el_cs_job *j, const el_conv_geom *g, const float *x, float *yrow, int64_t b, int64_t oy,
                      int64_t x0, int64_t x1, bool inside)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t sx = W->stride * g->ic, iy0 = oy * H->stride - H->pad_before;
    const float *a[EL_CS_ACC * EL_CONV_MAX_TAPS];
    const int64_t n = x1 - x0, nb = (n + j->pmax - 1) / j->pmax;
    for (int64_t bi = 0; bi < nb; bi++) {
        const int64_t ox = x0 + n * bi / nb;
        const int P = (int)(x0 + n * (bi + 1) / nb - ox);
        float *y = yrow + ox * g->oc;
        if (inside) {
            a[0] = x + ((b * H->in + iy0) * W->in + ox * W->stride - W->pad_before) * g->ic;
            el_cs_inside(j, P, a, sx, y);
        } else {
            for (int p = 0; p < P; p++) el_conv_tap_ptrs(g, x, b, oy, ox + p, a + p * j->taps);
            el_cs_edge(j, P, a, sx, y);
        }
    }
}

/* Pixels [x0, x1) of output row (b, oy) of g over x into yrow (the row's
 * pixel 0), then the tile operations not applied in registers. */
static void el_cs_row(const el_cs_job *j, const el_conv_geom *g, const float *x, float *yrow, int64_t b, int64_t oy,
                      int64_t x0, int64_t x1)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    const int64_t iy0 = oy * H->stride - H->pad_before;
    /* The pixels whose windows lie inside the input: [xa, xb). */
    int64_t xa = x1, xb = x1;
    if (iy0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in) {
        xa = (W->pad_before + W->stride - 1) / W->stride;
        const int64_t lim = W->in - 1 - (W->k - 1) * W->dilation + W->pad_before; /* ox * stride <= lim */
        xb = lim < 0 ? 0 : lim / W->stride + 1;
        xa = xa < x0 ? x0 : xa > x1 ? x1 : xa;
        xb = xb < xa ? xa : xb > x1 ? x1 : xb;
    }
    el_cs_run(j, g, x, yrow, b, oy, x0, xa, false);
    el_cs_run(j, g, x, yrow, b, oy, xa, xb, true);
    el_cs_run(j, g, x, yrow, b, oy, xb, x1, false);
    /* Residual add, hard swish, sigmoid on the segment just stored, while it is in cache. */
    const int64_t n = (x1 - x0) * g->oc;
    if (el_conv_epi_has_tile_ops(&j->e) && !j->hswish) el_conv_epi_tile(&j->e, yrow + x0 * g->oc, 1, n, n);
}

/* With a standardised input: the window of output row `row` (b * out +
 * oy; dilation 1) into buf, padding rows 0 (the convolution pads the
 * standardised map with 0); *have is the row buf holds (-1: none). The
 * row then runs as a 1-row image of them (j->lg): the same elements in
 * the same order, so the same sums. */
static void el_cs_window(const el_cs_job *j, int64_t row, float *buf, int64_t *have)
{
    const el_window_axis *H = &j->g.h;
    const int64_t rowf = j->g.w.in * j->g.ic, oy = row % H->out, b = row / H->out;
    if (*have == row) return;
    /* The next output row of the image: the rows its window shares with
     * the last one move down instead of being made again. */
    int64_t from = 0;
    if (*have >= 0 && row == *have + 1 && oy > 0 && H->stride < H->k) {
        from = H->k - H->stride;
        memmove(buf, buf + H->stride * rowf, sizeof(float) * (size_t)(from * rowf));
    }
    for (int64_t ky = from; ky < H->k; ky++) {
        const int64_t iy = oy * H->stride - H->pad_before + ky;
        if (iy < 0 || iy >= H->in) memset(buf + ky * rowf, 0, sizeof(float) * (size_t)rowf);
        else el_std_row(j->std, b, iy, buf + ky * rowf);
    }
    *have = row;
}

/* Pixels [x0, x1) of output row `row` into yrow; buf, have: el_cs_window's. */
static void el_cs_any_row(const el_cs_job *j, int64_t row, int64_t x0, int64_t x1, float *yrow, float *buf,
                          int64_t *have)
{
    if (j->std) {
        el_cs_window(j, row, buf, have);
        el_cs_row(j, &j->lg, buf, yrow, 0, 0, x0, x1);
    } else {
        el_cs_row(j, &j->g, j->x, yrow, row / j->g.h.out, row % j->g.h.out, x0, x1);
    }
}

static void el_cs_items(void *ctx, int64_t i0, int64_t i1)
{
    const el_cs_job *j = ctx;
    const el_conv_geom *g = &j->g;
    float *buf = j->std ? j->scratch + (size_t)el_threadpool_thread_index() * (size_t)el_stem_rows_scratch(j) : NULL;
    int64_t have = -1;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t row = it / j->segs, seg = it % j->segs;
        const int64_t x0 = g->w.out * seg / j->segs, x1 = g->w.out * (seg + 1) / j->segs;
        el_cs_any_row(j, row, x0, x1, j->y + row * g->w.out * g->oc, buf, &have);
    }
}

#endif

el_stem_rows *el_stem_rows_make(const el_conv_geom *g, const float *x, const el_std *std, const float *w,
                                el_filter_layout layout, const el_conv_epi *e)
{
#if defined(EL_CONV_X86)
    const int64_t taps = g->h.k * g->w.k, k = taps * g->ic;
    if (el_conv_isa() != EL_ISA_AVX512 || g->groups != 1 || !el_conv_stem_fits(taps, g->ic, g->oc)) return NULL;
    if (layout != EL_FILTER_HWIO && layout != EL_FILTER_F32_P32) return NULL;
    /* Offsets of the window's elements must fit the table's int32. */
    const int64_t last = ((g->h.k - 1) * g->h.dilation * g->w.in + (g->w.k - 1) * g->w.dilation + 1) * g->ic;
    if (last > INT32_MAX) return NULL;
    if (std && g->h.dilation != 1) return NULL;
    el_cs_job *j = el_mem_calloc(1, sizeof *j);
    if (!j) return NULL;
    const int64_t ocp = (g->oc + 15) / 16 * 16;
    j->wt = el_mem_calloc((size_t)(k * ocp), sizeof(float));
    if (!j->wt) {
        el_mem_free(j);
        return NULL;
    }
    j->g = *g, j->x = x, j->std = std, j->e = *e, j->taps = (int)taps, j->k = k;
    j->ov = (int)(ocp / 16);
    j->ocp = ocp;
    j->pmax = EL_CS_ACC / j->ov;
    j->hswish = e->hswish && !e->add && !e->sigmoid && !e->clamp;
    const int64_t left = g->oc - (j->ov - 1) * 16;
    j->last_mask = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
    if (std) {
        j->lg = *g;
        j->lg.n = 1;
        j->lg.h.in = j->lg.h.k, j->lg.h.out = 1, j->lg.h.stride = 1, j->lg.h.pad_before = j->lg.h.pad_after = 0;
    }
    for (int64_t ky = 0, i = 0; ky < g->h.k; ky++)
        for (int64_t kx = 0; kx < g->w.k; kx++)
            for (int64_t c = 0; c < g->ic; c++, i++)
                j->koff[i] = (int32_t)((ky * g->h.dilation * g->w.in + kx * g->w.dilation) * g->ic + c);
    for (int64_t o = 0; o < g->oc; o++) j->bias[o] = e->bias ? e->bias[o] : 0.0f;
    /* HWIO holds w[k * oc + o]; the packed panels w[((o / 32) * K + k) * 32 + o % 32]. */
    for (int64_t i = 0; i < k; i++)
        for (int64_t o = 0; o < g->oc; o++)
            j->wt[i * ocp + o] = layout == EL_FILTER_HWIO ? w[i * g->oc + o]
                                                          : w[((o / EL_GEMM_NR) * k + i) * EL_GEMM_NR + o % EL_GEMM_NR];
    return j;
#else
    (void)g, (void)x, (void)std, (void)w, (void)layout, (void)e;
    return NULL;
#endif
}

int64_t el_stem_rows_scratch(const el_stem_rows *r)
{
#if defined(EL_CONV_X86)
    return r->std ? r->g.h.k * r->g.w.in * r->g.ic : 0;
#else
    (void)r;
    return 0;
#endif
}

void el_stem_row(const el_stem_rows *r, int64_t b, int64_t oy, float *y, float *scratch, int64_t *have)
{
#if defined(EL_CONV_X86)
    el_cs_any_row(r, b * r->g.h.out + oy, 0, r->g.w.out, y, scratch, have);
#else
    (void)r, (void)b, (void)oy, (void)y, (void)scratch, (void)have;
#endif
}

void el_stem_rows_free(el_stem_rows *r)
{
#if defined(EL_CONV_X86)
    if (r) el_mem_free(r->wt);
#endif
    el_mem_free(r);
}

static bool el_conv2d_stem_run(const el_conv_geom *g, const float *x, const el_std *std, const float *w,
                               el_filter_layout layout, const el_conv_epi *e, float *y)
{
#if defined(EL_CONV_X86)
    el_cs_job *j = el_stem_rows_make(g, x, std, w, layout, e);
    if (!j) return false;
    el_threadpool *pool = el_threadpool_current();
    if (std) {
        const int threads = pool ? el_threadpool_size(pool) : 1;
        j->scratch = el_mem_alloc(sizeof(float) * (size_t)(threads * el_stem_rows_scratch(j)));
        if (!j->scratch) {
            el_stem_rows_free(j);
            return false;
        }
    }
    j->y = y;
    /* Items are output rows, cut into segments when there are few rows
     * (each pixel's sums are the same however its row is cut). */
    const int64_t rows = g->n * g->h.out;
    j->segs = 1;
    while (rows * j->segs < 64 && g->w.out / (j->segs * 2) >= 2 * j->pmax) j->segs *= 2;
    const int64_t seg_macs = g->w.out / j->segs * j->k * j->ocp;
    const int64_t grain = 100000 / (seg_macs > 0 ? seg_macs : 1);
    el_parallel_for(pool, rows * j->segs, grain < 1 ? 1 : grain, el_cs_items, j);
    el_mem_free(j->scratch);
    el_stem_rows_free(j);
    return true;
#else
    (void)g, (void)x, (void)std, (void)w, (void)layout, (void)e, (void)y;
    return false;
#endif
}

bool el_conv2d_stem(const el_conv_geom *g, const float *x, const float *w, el_filter_layout layout,
                    const el_conv_epi *e, float *y)
{
    return el_conv2d_stem_run(g, x, NULL, w, layout, e, y);
}

bool el_conv2d_stem_std(const el_conv_geom *g, const el_std *std, const float *w, el_filter_layout layout,
                        const el_conv_epi *e, float *y)
{
    return el_conv2d_stem_run(g, NULL, std, w, layout, e, y);
}
