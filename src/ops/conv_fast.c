/* Dispatch and threading of the fast convolution kernels (see conv_fast.h).
 *
 * Conv2D of any window runs as an indirect GEMM: output pixels are rows,
 * the kh*kw*ic filter taps the inner dimension, output channels the
 * columns. For each tile of rows we build kh*kw pointers per pixel to its
 * input rows (or to a zero row where the window hangs over the padding), so
 * no im2col buffer is written and the HWIO filter is read as it is stored.
 * Depthwise convolutions run channel-vector by channel-vector over output
 * rows, with the taps' weights held in registers. */
#include "ops/conv_fast.h"

#include <stdatomic.h>

#include "core/threadpool.h"

const float el_conv_zero[EL_CONV_ZERO_LEN];

static _Atomic int el_isa_cached = -1;
static _Atomic int el_isa_forced = -1;

el_isa el_isa_available(void)
{
    int c = atomic_load_explicit(&el_isa_cached, memory_order_relaxed);
    if (c >= 0) return (el_isa)c;
    c = EL_ISA_REF;
#if defined(EL_CONV_X86)
    /* libgcc's checks include the OS's XSAVE support for the wider
     * registers, not only the CPUID bits. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) c = EL_ISA_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) c = EL_ISA_AVX2;
#endif
    atomic_store_explicit(&el_isa_cached, c, memory_order_relaxed);
    return (el_isa)c;
}

el_isa el_conv_isa(void)
{
    int f = atomic_load_explicit(&el_isa_forced, memory_order_relaxed);
    el_isa a = el_isa_available();
    if (f < 0 || f > (int)a) return a;
    return (el_isa)f;
}

void el_conv_force_isa(int isa) { atomic_store_explicit(&el_isa_forced, isa < 0 ? -1 : isa, memory_order_relaxed); }

/* Work below this many multiply-adds per chunk is not worth waking a
 * thread for (a wake-up costs a few microseconds). */
#define EL_PAR_MIN_MACS 100000

static int64_t el_grain(int64_t per_item_macs)
{
    if (per_item_macs <= 0) per_item_macs = 1;
    int64_t g = EL_PAR_MIN_MACS / per_item_macs;
    return g < 1 ? 1 : g;
}

/* ---- Conv2D ---- */

typedef void (*el_igemm_fn)(int rows, int taps, int64_t ic, const float *const *a, const float *w, int64_t oc,
                            const el_conv_epi *e, float *y);

typedef struct el_conv_job {
    const el_conv_geom *g;
    const float *x, *w;
    const el_conv_epi *e;
    float *y;
    el_igemm_fn fn;
    int mr, taps;
    int64_t m;          /* output pixels */
    bool pointwise;     /* 1x1, stride 1, no padding: pixel p reads input pixel p */
    int64_t tap_off[EL_CONV_MAX_TAPS]; /* tap t's offset from the window's first input pixel */
} el_conv_job;

/* Row pointers for output pixel (b, oy, ox): base + tap offsets when the
 * window lies inside the input (most pixels), else per-tap checks with the
 * zero row for taps in the padding. */
static inline void el_conv_row_ptrs(const el_conv_job *j, int64_t b, int64_t oy, int64_t ox, const float **ar)
{
    const el_conv_geom *g = j->g;
    const el_window_axis *H = &g->h, *W = &g->w;
    int64_t iy0 = oy * H->stride - H->pad_before, ix0 = ox * W->stride - W->pad_before;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in && ix0 + (W->k - 1) * W->dilation < W->in) {
        const float *base = j->x + ((b * H->in + iy0) * W->in + ix0) * g->ic;
        for (int t = 0; t < j->taps; t++) ar[t] = base + j->tap_off[t];
        return;
    }
    int k = 0;
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = iy0 + ky * H->dilation;
        for (int64_t kx = 0; kx < W->k; kx++, k++) {
            int64_t ix = ix0 + kx * W->dilation;
            ar[k] = iy >= 0 && iy < H->in && ix >= 0 && ix < W->in ? j->x + ((b * H->in + iy) * W->in + ix) * g->ic
                                                                   : el_conv_zero;
        }
    }
}

static void el_conv_tiles(void *ctx, int64_t t0, int64_t t1)
{
    const el_conv_job *j = ctx;
    const el_conv_geom *g = j->g;
    const float *a[EL_IGEMM_ROWS_MAX * EL_CONV_MAX_TAPS];
    const int taps = j->taps, mr = j->mr;
    for (int64_t t = t0; t < t1; t++) {
        int64_t p0 = t * mr;
        int rows = (int)(j->m - p0 < mr ? j->m - p0 : mr);
        if (j->pointwise) {
            for (int r = 0; r < rows; r++) a[r] = j->x + (p0 + r) * g->ic;
        } else {
            /* One division per tile; then step through the pixels. */
            int64_t ox = p0 % g->w.out, rest = p0 / g->w.out;
            int64_t oy = rest % g->h.out, b = rest / g->h.out;
            for (int r = 0; r < rows; r++) {
                el_conv_row_ptrs(j, b, oy, ox, a + r * taps);
                if (++ox == g->w.out) {
                    ox = 0;
                    if (++oy == g->h.out) {
                        oy = 0;
                        b++;
                    }
                }
            }
        }
        /* Rows past the end read row 0 again; the kernel does not store them. */
        for (int r = rows; r < mr; r++)
            for (int k = 0; k < taps; k++) a[r * taps + k] = a[k];
        j->fn(rows, taps, g->ic, a, j->w, g->oc, j->e, j->y + p0 * g->oc);
    }
}

bool el_conv2d_fast(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y)
{
    el_isa isa = el_conv_isa();
    if (isa == EL_ISA_REF || g->groups != 1) return false;
    int64_t taps = g->h.k * g->w.k;
    if (taps < 1 || taps > EL_CONV_MAX_TAPS || g->ic < 1 || g->oc < 1) return false;
    bool padded = g->h.pad_before > 0 || g->w.pad_before > 0 || g->h.pad_after > 0 || g->w.pad_after > 0;
    if (padded && g->ic > EL_CONV_ZERO_LEN) return false;
    el_conv_job j = {.g = g, .x = x, .w = w, .e = e, .y = y, .taps = (int)taps};
    j.m = g->n * g->h.out * g->w.out;
    j.pointwise = taps == 1 && g->h.stride == 1 && g->w.stride == 1 && !padded && g->h.out == g->h.in &&
                  g->w.out == g->w.in;
    for (int64_t ky = 0, t = 0; ky < g->h.k; ky++)
        for (int64_t kx = 0; kx < g->w.k; kx++, t++)
            j.tap_off[t] = (ky * g->h.dilation * g->w.in + kx * g->w.dilation) * g->ic;
#if defined(EL_CONV_X86)
    if (isa == EL_ISA_AVX512) {
        j.fn = el_igemm_f32_avx512;
        j.mr = EL_IGEMM_ROWS_AVX512;
    } else {
        j.fn = el_igemm_f32_avx2;
        j.mr = EL_IGEMM_ROWS_AVX2;
    }
#else
    return false;
#endif
    int64_t tiles = (j.m + j.mr - 1) / j.mr;
    el_parallel_for(el_threadpool_current(), tiles, el_grain(j.mr * taps * g->ic * g->oc), el_conv_tiles, &j);
    return true;
}

/* ---- DepthwiseConv2dNative ---- */

typedef void (*el_dw_fn)(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y,
                         int64_t b, int64_t oy0, int64_t oy1, int64_t c0, int64_t c1);

typedef struct el_dw_job {
    const el_conv_geom *g;
    const float *x, *w;
    const el_conv_epi *e;
    float *y;
    el_dw_fn fn;
} el_dw_job;

/* Items are (batch, output row) pairs; a chunk is a run of rows. */
static void el_dw_rows(void *ctx, int64_t i0, int64_t i1)
{
    const el_dw_job *j = ctx;
    int64_t oh = j->g->h.out;
    while (i0 < i1) {
        int64_t b = i0 / oh, oy0 = i0 % oh;
        int64_t oy1 = oy0 + (i1 - i0);
        if (oy1 > oh) oy1 = oh;
        j->fn(j->g, j->x, j->w, j->e, j->y, b, oy0, oy1, 0, j->g->ic);
        i0 += oy1 - oy0;
    }
}

bool el_depthwise_fast(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y)
{
    el_isa isa = el_conv_isa();
    if (isa == EL_ISA_REF || g->oc != g->ic || g->ic < 1) return false; /* multiplier 1 only */
    el_dw_job j = {.g = g, .x = x, .w = w, .e = e, .y = y};
#if defined(EL_CONV_X86)
    j.fn = isa == EL_ISA_AVX512 ? el_depthwise_rows_f32_avx512 : el_depthwise_rows_f32_avx2;
#else
    return false;
#endif
    int64_t items = g->n * g->h.out;
    el_parallel_for(el_threadpool_current(), items, el_grain(g->w.out * g->ic * g->h.k * g->w.k), el_dw_rows, &j);
    return true;
}
