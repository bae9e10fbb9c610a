/* Fast convolution kernels (SIMD, threaded) behind the reference kernels of
 * ops/conv.c, which stay the oracle: tests/unit/ops/test_conv_fast.c checks
 * every ISA against them on random shapes.
 *
 * Dispatch is at run time (__builtin_cpu_supports): AVX-512F, else
 * AVX2+FMA, else the reference loops. Each ISA lives in its own file,
 * compiled with a target pragma, so the library still builds and runs on
 * any x86-64 (or other) CPU. The fast kernels use fused multiply-adds and
 * their own summation order, so they agree with the reference to float
 * rounding, not bit for bit; each output element's sum is still computed
 * in one fixed order, whatever the thread count. */
#ifndef EL_OPS_CONV_FAST_H
#define EL_OPS_CONV_FAST_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/window.h"

/* The SIMD kernels need GCC's target pragmas and x86-64; -DEL_NO_SIMD
 * builds the portable engine only. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(EL_NO_SIMD)
#define EL_CONV_X86 1
#endif

/* Convolution geometry in NHWC / HWIO terms. For a depthwise convolution
 * `fic` is 1 per group, groups = ic, and oc = ic * multiplier. */
typedef struct el_conv_geom {
    int64_t n, ic;
    int64_t fic, oc, groups;
    el_window_axis h, w;
} el_conv_geom;

/* What the fast kernels apply in registers before storing: y = sum + bias,
 * then clamped (Relu: [0, inf), Relu6: [0, 6]). bias may be NULL. */
typedef struct el_conv_epi {
    const float *bias;
    bool clamp;      /* false: no activation (NaN stays NaN) */
    float lo, hi;    /* with clamp: max(v, lo) then min(v, hi); NaN -> lo, as the reference's v > 0 ? v : 0 */
    /* Tile operations, after the bias, on each tile as it is stored
     * (el_conv_epi_tile), instead of a clamp: a tensor of y's shape added
     * (a residual Add the graph passes fused: the bits of the Add; `add`
     * is indexed as y, y0 being y's first element), then hard swish
     * (el_hard_swish_f32: the bits of _ElHardSwish) or Sigmoid (the bits
     * of the Sigmoid kernel). el_conv2d_packed, el_conv2d_narrow and
     * el_depthwise_fast take them; the others are called without them and
     * ops/conv.c applies them after. */
    const float *add;
    const float *y0;
    bool hswish;
    float hs_mul, hs_add;
    bool sigmoid;
    /* Per-row sums (a spatial Mean the convolution takes, ops/conv_mean.h;
     * el_depthwise_fast only): each output row it stores, tile operations
     * applied, is added into sums + row * oc, row counted from y0 (as
     * `add`), pixels in order, in float, then as a double (the Mean
     * kernel's runs: el_conv_epi_sum_rows, ops/reduce_fast.h); only for
     * rows of 2 .. EL_SUM_RUN_MAX pixels. */
    double *sums;
} el_conv_epi;

/* Whether e has tile operations. */
static inline bool el_conv_epi_has_tile_ops(const el_conv_epi *e) { return e->add || e->hswish || e->sigmoid; }
/* Applies e's tile operations in place on `rows` rows of n floats, ld
 * apart, starting at y (inside the output e->y0 starts), on the calling
 * thread. */
void el_conv_epi_tile(const el_conv_epi *e, float *y, int64_t rows, int64_t n, int64_t ld);
/* With e->sums: adds `rows` stored output rows of w pixels (oc floats
 * apart), channels [c0, c1), starting at y, into their rows' sums. */
void el_conv_epi_sum_rows(const el_conv_epi *e, const float *y, int64_t rows, int64_t w, int64_t oc, int64_t c0,
                          int64_t c1);
/* The tile operations' Sigmoid, y[i] = 1 / (1 + exp(-y[i])) in place for
 * i < n: each element's bits depend on its value and the ISA only (not on
 * n or its position), so a consumer may apply it later to a few elements
 * (ops/peak_topk.c) and get the bits the convolution would have stored. */
void el_conv_sigmoid(float *y, int64_t n);

typedef enum el_isa { EL_ISA_REF = 0, EL_ISA_AVX2 = 1, EL_ISA_AVX512 = 2 } el_isa;

/* The best ISA this CPU supports. */
el_isa el_isa_available(void);
/* The ISA the kernels use: el_isa_available() unless forced (tests, and
 * measuring one ISA against another). Forcing above what the CPU supports
 * is clamped. el_conv_force_isa(-1) restores detection. */
el_isa el_conv_isa(void);
void el_conv_force_isa(int isa);

/* Zero row used for padded taps; pointers of the indirect GEMM may point
 * here, so no row is longer than this. */
#define EL_CONV_ZERO_LEN 4096
extern const float el_conv_zero[EL_CONV_ZERO_LEN];

/* a[t]: the input pixel (NHWC, g->ic floats) that tap t of output pixel
 * (b, oy, ox) reads, taps in (ky, kx) order, or el_conv_zero for a tap in
 * the padding (the window kernels' per-pixel pointers). */
static inline void el_conv_tap_ptrs(const el_conv_geom *g, const float *x, int64_t b, int64_t oy, int64_t ox,
                                    const float **a)
{
    const el_window_axis *H = &g->h, *W = &g->w;
    int64_t iy0 = oy * H->stride - H->pad_before, ix0 = ox * W->stride - W->pad_before;
    int t = 0;
    for (int64_t ky = 0; ky < H->k; ky++) {
        int64_t iy = iy0 + ky * H->dilation;
        for (int64_t kx = 0; kx < W->k; kx++, t++) {
            int64_t ix = ix0 + kx * W->dilation;
            a[t] = iy >= 0 && iy < H->in && ix >= 0 && ix < W->in ? x + ((b * H->in + iy) * W->in + ix) * g->ic
                                                                  : el_conv_zero;
        }
    }
}

/* Bound on kh * kw for the indirect GEMM (pointers per row kept on the stack). */
#define EL_CONV_MAX_TAPS 64

/* Run when the geometry is supported by the chosen ISA, returning true;
 * false means "use the reference kernel" (nothing was written). Threads
 * come from el_threadpool_current(). */
/* Depthwise convolutions: ops/dwconv_fast.h. */
bool el_conv2d_fast(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y);
/* Same contract for Conv2D over a filter packed as EL_FILTER_F32_P32
 * (ops/gemm.h; conv_gemm.c): AVX-512 only, groups 1, K = kh * kw * ic up
 * to EL_CONV_MAX_PACKED_K (a tile's scratch copy is MR x K floats). */
#define EL_CONV_MAX_PACKED_K 16384
bool el_conv2d_packed(const el_conv_geom *g, const float *x, const float *wp, const el_conv_epi *e, float *y);

/* ---- per-ISA entry points (conv_avx512.c, conv_avx2.c) ---- */

/* Indirect GEMM over `rows` output rows (<= the ISA's row tile): row r is
 * the sum over tap t < taps and channel c < ic of A(r, t)[c] *
 * w[(t * ic + c) * oc + j], for the columns n0 <= j < n1, then the
 * epilogue, stored at y + r * oc + j. A(r, t)[c] is a[r * taps + t][c]
 * when koff is NULL, else a[r][koff[t * ic + c]] (one base pointer per row:
 * rows whose window lies inside the input). a has the ISA's full row tile
 * of entries. */
void el_igemm_f32_avx512(int rows, int taps, int64_t ic, const float *const *a, const int32_t *koff, const float *w,
                         int64_t oc, int64_t n0, int64_t n1, const el_conv_epi *e, float *y);
void el_igemm_f32_avx2(int rows, int taps, int64_t ic, const float *const *a, const int32_t *koff, const float *w,
                       int64_t oc, int64_t n0, int64_t n1, const el_conv_epi *e, float *y);
/* Bound on taps * ic for the koff form (its table lives in the job). */
#define EL_CONV_MAX_KOFF 4096
#define EL_IGEMM_ROWS_AVX512 12
#define EL_IGEMM_ROWS_AVX2 6
#define EL_IGEMM_ROWS_MAX 12

#endif
