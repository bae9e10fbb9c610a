/* Dispatch and threading of the fast convolution kernels (see conv_fast.h).
 *
 * Conv2D of any window runs as an indirect GEMM: output pixels are rows,
 * the kh*kw*ic filter taps the inner dimension, output channels the
 * columns. For each tile of rows we build kh*kw pointers per pixel to its
 * input rows (or to a zero row where the window hangs over the padding), so
 * no im2col buffer is written and the HWIO filter is read as it is stored.
 * Depthwise convolutions are in dwconv_fast.c. */
#include "ops/conv_fast.h"

#include <math.h>
#include <stdatomic.h>

#include "core/threadpool.h"
#include "ops/reduce_fast.h"
#include "ops/unary_fast.h"

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

void el_conv_epi_tile(const el_conv_epi *e, float *y, int64_t rows, int64_t n, int64_t ld)
{
    /* The same kernels, on the same ISA, as the Add, _ElHardSwish and
     * Sigmoid nodes the graph passes fused: the same bits. */
    const bool avx512 = el_conv_isa() >= EL_ISA_AVX512;
    const float *add = e->add ? e->add + (y - e->y0) : NULL;
    /* Contiguous rows are one row: a call per row of a few vectors costs
     * as much as the work. */
    if (n == ld) {
        n *= rows;
        ld = n;
        rows = 1;
    }
    for (int64_t r = 0; r < rows; r++, y += ld) {
        if (add) {
#if defined(EL_CONV_X86)
            if (avx512) el_binary_f32_avx512(EL_UF_ADD, y, 1, add, 1, y, n);
            else
#endif
                for (int64_t i = 0; i < n; i++) y[i] = y[i] + add[i];
            add += ld;
        }
        if (e->hswish) el_hard_swish_f32_rows(y, 1, n, ld, e->hs_mul, e->hs_add);
        if (e->sigmoid) el_conv_sigmoid(y, n);
    }
    (void)avx512;
}

void el_conv_epi_sum_rows(const el_conv_epi *e, const float *y, int64_t rows, int64_t w, int64_t oc, int64_t c0,
                          int64_t c1)
{
    const int64_t row = (y - e->y0) / (w * oc);
    for (int64_t r = 0; r < rows; r++)
        el_sum_rows_f32(y + r * w * oc, w, oc, c0, c1, el_sum_run(w), e->sums + (row + r) * oc);
}

void el_conv_sigmoid(float *y, int64_t n)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        el_unary_f32_avx512(EL_UF_SIGMOID, y, y, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-y[i]));
}

/* Filter bytes one column block may take (a part of L2). */
#define EL_CONV_L2_FILTER (256 << 10)

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

typedef void (*el_igemm_fn)(int rows, int taps, int64_t ic, const float *const *a, const int32_t *koff,
                            const float *w, int64_t oc, int64_t n0, int64_t n1, const el_conv_epi *e, float *y);

typedef struct el_conv_job {
    const el_conv_geom *g;
    const float *x, *w;
    const el_conv_epi *e;
    float *y;
    el_igemm_fn fn;
    int mr, taps;
    int64_t m;          /* output pixels */
    int64_t tiles;      /* row tiles of mr pixels */
    int64_t nb;         /* output channels per column block */
    bool pointwise;     /* 1x1, stride 1, no padding: pixel p reads input pixel p */
    int64_t tap_off[EL_CONV_MAX_TAPS]; /* tap t's offset from the window's first input pixel */
    bool has_koff;
    int32_t koff[EL_CONV_MAX_KOFF];     /* tap_off[t] + c at t * ic + c */
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
    el_conv_tap_ptrs(g, j->x, b, oy, ox, ar);
}

static void el_conv_tiles(void *ctx, int64_t t0, int64_t t1)
{
    const el_conv_job *j = ctx;
    const el_conv_geom *g = j->g;
    const el_window_axis *H = &g->h, *W = &g->w;
    const float *a[EL_IGEMM_ROWS_MAX * EL_CONV_MAX_TAPS];
    const int taps = j->taps, mr = j->mr;
    /* Items are column-block major, so a thread's run of items reuses one
     * block of filter columns (in cache) across many row tiles. */
    /* Divisions only at the start of the chunk (they cost as much as a
     * small tile); then tile, column block and pixel coordinates step. */
    int64_t t = t0 % j->tiles, n0 = t0 / j->tiles * j->nb;
    int64_t tx = 0, ty = 0, tb = 0; /* first pixel of tile t */
    if (!j->pointwise) {
        int64_t p = t * mr;
        tx = p % W->out;
        ty = p / W->out % H->out;
        tb = p / W->out / H->out;
    }
    for (int64_t item = t0; item < t1; item++) {
        int64_t n1 = n0 + j->nb < g->oc ? n0 + j->nb : g->oc;
        int64_t p0 = t * mr;
        int rows = (int)(j->m - p0 < mr ? j->m - p0 : mr);
        const int32_t *koff = NULL;
        if (j->pointwise) {
            for (int r = 0; r < rows; r++) a[r] = j->x + (p0 + r) * g->ic;
            for (int r = rows; r < mr; r++) a[r] = a[0];
            koff = j->has_koff ? j->koff : NULL; /* without it: taps = 1, a[r] is the tap's pointer */
        } else {
            /* While every window is inside the input, a row is one base
             * pointer (the kernel adds the tap offsets); else all rows get
             * a pointer per tap, the zero row standing for the padding. */
            int64_t ox = tx, oy = ty, b = tb;
            bool inside = j->has_koff;
            int64_t iy0 = ty * H->stride - H->pad_before, ix0 = tx * W->stride - W->pad_before;
            int64_t ixl = (tx + rows - 1) * W->stride - W->pad_before;
            if (inside && tx + rows <= W->out && iy0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in && ix0 >= 0 &&
                ixl + (W->k - 1) * W->dilation < W->in) {
                /* The whole tile in one output row, all windows inside (the
                 * common case): bases step by the stride. */
                const float *base = j->x + ((tb * H->in + iy0) * W->in + ix0) * g->ic;
                int64_t step = W->stride * g->ic;
                for (int r = 0; r < rows; r++) a[r] = base + r * step;
                rows = -rows; /* marks the rows as done */
            }
            for (int r = 0; r < rows && inside; r++) {
                int64_t iy0 = oy * H->stride - H->pad_before, ix0 = ox * W->stride - W->pad_before;
                if (iy0 >= 0 && ix0 >= 0 && iy0 + (H->k - 1) * H->dilation < H->in &&
                    ix0 + (W->k - 1) * W->dilation < W->in)
                    a[r] = j->x + ((b * H->in + iy0) * W->in + ix0) * g->ic;
                else
                    inside = false;
                if (++ox == W->out) {
                    ox = 0;
                    if (++oy == H->out) {
                        oy = 0;
                        b++;
                    }
                }
            }
            if (rows < 0) rows = -rows;
            if (inside) {
                for (int r = rows; r < mr; r++) a[r] = a[0];
                koff = j->koff;
            } else {
                ox = tx, oy = ty, b = tb;
                for (int r = 0; r < rows; r++) {
                    el_conv_row_ptrs(j, b, oy, ox, a + r * taps);
                    if (++ox == W->out) {
                        ox = 0;
                        if (++oy == H->out) {
                            oy = 0;
                            b++;
                        }
                    }
                }
                /* Rows past the end read row 0 again; the kernel does not store them. */
                for (int r = rows; r < mr; r++)
                    for (int k = 0; k < taps; k++) a[r * taps + k] = a[k];
            }
        }
        j->fn(rows, taps, g->ic, a, koff, j->w, g->oc, n0, n1, j->e, j->y + p0 * g->oc);
        /* Next item: the next tile, or the first tile of the next block. */
        if (++t == j->tiles) {
            t = 0;
            n0 += j->nb;
            tx = ty = tb = 0;
        } else if (!j->pointwise) {
            tx += mr;
            while (tx >= W->out) {
                tx -= W->out;
                if (++ty == H->out) {
                    ty = 0;
                    tb++;
                }
            }
        }
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
    int64_t kdim = taps * g->ic;
    j.has_koff = kdim <= EL_CONV_MAX_KOFF && j.tap_off[taps - 1] + g->ic <= INT32_MAX;
    for (int64_t t = 0; j.has_koff && t < taps; t++)
        for (int64_t c = 0; c < g->ic; c++) j.koff[t * g->ic + c] = (int32_t)(j.tap_off[t] + c);
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
    j.tiles = (j.m + j.mr - 1) / j.mr;
    /* Filters over EL_CONV_L2_FILTER bytes are cut into column blocks, so
     * the block a tile works on stays in L2 instead of being streamed from
     * memory once per tile. */
    j.nb = g->oc;
    if (kdim * g->oc * (int64_t)sizeof(float) > EL_CONV_L2_FILTER) {
        j.nb = EL_CONV_L2_FILTER / (kdim * (int64_t)sizeof(float)) / 32 * 32;
        if (j.nb < 32) j.nb = 32;
        if (j.nb > g->oc) j.nb = g->oc;
    }
    int64_t nblocks = (g->oc + j.nb - 1) / j.nb;
    el_parallel_for(el_threadpool_current(), j.tiles * nblocks, el_grain(j.mr * kdim * j.nb), el_conv_tiles, &j);
    return true;
}
