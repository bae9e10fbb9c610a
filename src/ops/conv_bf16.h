/* Reduced-precision (bfloat16) convolution: el_session_opts.precision =
 * EL_PRECISION_BF16.
 *
 * The graph pass of graph/precision.c converts each Conv2D's constant filter
 * once, at session creation, into the packed bf16 layout below, in place of
 * the fp32 filter (layout EL_FILTER_BF16_T32X16 of ops/gemm.h); the Conv2D
 * kernel of ops/conv.c then calls el_conv2d_bf16. Activations are
 * converted on the fly (round to nearest even, as TensorFlow's bfloat16),
 * products are summed in fp32 and
 * outputs are fp32, with the bias / Relu / Relu6 epilogue applied in
 * registers. Two instruction sets, chosen at run time:
 *
 *  - AMX (TDPBF16PS on 16x32 bf16 tiles, 16x16 fp32 accumulators), when the
 *    CPU has AMX-BF16 and the kernel grants the process the tile state
 *    (Linux: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA));
 *  - AVX512-BF16 (VDPBF16PS: pairs of bf16 products added into fp32 lanes).
 *
 * Both read the same packed layouts, so the weights are packed once whatever
 * the ISA. Depthwise convolutions stay fp32 (their few multiply-adds per
 * byte leave nothing for bf16 to win).
 *
 * EL_PRECISION_BF16X3 uses the same tiles twice over: hi and lo halves of
 * the filter (el_bf16x3_pack) and of each panel, three tile products per
 * k step on AMX (el_bf16x3_gemm_amx); see el_bf16x3_split. */
#ifndef EL_OPS_CONV_BF16_H
#define EL_OPS_CONV_BF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/conv_fast.h"

typedef enum el_bf16_impl { EL_BF16_NONE = 0, EL_BF16_AVX512 = 1, EL_BF16_AMX = 2 } el_bf16_impl;

/* The best bf16 ISA of this CPU and OS (asks for the AMX tile permission
 * once per process). */
el_bf16_impl el_bf16_isa_available(void);
/* The ISA the kernels use: available unless forced lower (tests, measuring
 * AMX against AVX512-BF16); el_bf16_force_isa(-1) restores detection. */
el_bf16_impl el_bf16_isa(void);
void el_bf16_force_isa(int isa);

/* fp32 -> bf16 bit pattern, round to nearest even; NaN stays a (quiet) NaN.
 * The scalar oracle of the vector conversions (VCVTNE2PS2BF16). */
static inline uint16_t el_bf16_from_f32(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {.f = f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float el_bf16_to_f32(uint16_t h)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = (uint32_t)h << 16};
    return v.f;
}

/* bf16x3 (EL_PRECISION_BF16X3): f as hi + lo, two bf16 values, hi = f
 * rounded, lo = the rest rounded (zero when hi is not finite). hi + lo
 * keeps 16 significant bits where bf16 keeps 8, and a product a * b is
 * taken as a_hi*b_hi + a_hi*b_lo + a_lo*b_hi (the a_lo*b_lo term is below
 * fp32's own rounding of the sum), each one exact in AMX's fp32
 * accumulators: a relative error per product of about 2^-17, against
 * fp32's 2^-24, at three tile products per bf16 one. */
/* The shortest k (kh*kw*ic) and the fewest output channels the precision
 * pass converts to bf16x3 (graph/precision.c); a 1x1 fused with a
 * depthwise convolution's rows (ops/conv_dwpw.h) needs k >= ..._ROWS. */
#define EL_BF16X3_MIN_K 64
#define EL_BF16X3_MIN_K_ROWS 128
#define EL_BF16X3_MIN_OC 32
static inline void el_bf16x3_split(float f, uint16_t *hi, uint16_t *lo)
{
    *hi = el_bf16_from_f32(f);
    float h = el_bf16_to_f32(*hi);
    *lo = h - h == 0.0f ? el_bf16_from_f32(f - h) : 0;
}

/* ---- packed filter ----
 * A [k, n] row-major fp32 matrix (an HWIO filter: k = kh*kw*ic, n = oc) is
 * cut into tiles of 32 rows (16 row pairs) x 16 columns, zero-padded: tile
 * (nb, kb) holds, at index r*32 + j*2 + s, element (kb*32 + 2r + s,
 * nb*16 + j). That is the AMX B-tile layout (pairs of k interleaved per
 * column), and row r of a tile is VDPBF16PS's operand for row pair r. Tiles
 * are column-block major: one column block's tiles for all of k are
 * contiguous, as the kernels stream them. */
#define EL_BF16_KB 32 /* k per tile */
#define EL_BF16_NB 16 /* columns per tile */
#define EL_BF16_TILE (EL_BF16_KB * EL_BF16_NB)
/* Bound on k (kh*kw*ic) the kernels accept (their per-thread panels). */
#define EL_BF16_MAX_K 32768

static inline int64_t el_bf16_kpad(int64_t k) { return (k + EL_BF16_KB - 1) / EL_BF16_KB * EL_BF16_KB; }
static inline int64_t el_bf16_npad(int64_t n) { return (n + EL_BF16_NB - 1) / EL_BF16_NB * EL_BF16_NB; }
/* Elements (uint16) of the packed form of a [k, n] matrix. */
static inline int64_t el_bf16_packed_len(int64_t k, int64_t n) { return el_bf16_kpad(k) * el_bf16_npad(n); }
void el_bf16_pack(const float *w, int64_t k, int64_t n, uint16_t *out);
/* Either packing (x3: el_bf16x3_pack) of a [k, n] matrix whose element
 * (i, j) is at w[i * rs + (j / 32) * ps + j % 32]: row-major (rs = n, ps =
 * 32) or the fp32 panels of ops/gemm.h (rs = 32, ps = k * 32). With the
 * vector conversions where the CPU has them (el_bf16_pack_avx512, 64-byte
 * aligned output): subnormals then flush to zero, as in the kernels. */
void el_bf16_pack_strided(const float *w, int64_t rs, int64_t ps, int64_t k, int64_t n, bool x3, uint16_t *out);
/* bf16x3: the hi tiles (as el_bf16_pack) then the lo tiles, each
 * el_bf16_packed_len(k, n) elements; unpack sums the halves. */
void el_bf16x3_pack(const float *w, int64_t k, int64_t n, uint16_t *out);
void el_bf16x3_unpack(const uint16_t *p, int64_t k, int64_t n, float *w);
/* The inverse, widened back to a row-major [k, n] fp32 matrix (the bf16
 * values exactly): for the fp32 kernels when the bf16 ones decline. */
void el_bf16_unpack(const uint16_t *p, int64_t k, int64_t n, float *w);

/* Conv2D (groups 1, any window) with a filter packed by el_bf16_pack from
 * its HWIO form. e's bias and clamp are applied in registers, its tile
 * operations (el_conv_epi_tile) on each block of rows and columns as it is
 * stored. Returns false (nothing written) when the ISA is missing or
 * the geometry is out of the kernels' bounds; the caller then runs fp32.
 * Threads come from el_threadpool_current(). */
bool el_conv2d_bf16(const el_conv_geom *g, const float *x, const uint16_t *wp, const el_conv_epi *e, float *y);

/* The same with a bf16x3 filter (el_bf16x3_pack): AMX only (on
 * AVX512-BF16 three products per pair cost more than fp32). */
bool el_conv2d_bf16x3(const el_conv_geom *g, const float *x, const uint16_t *wp, const el_conv_epi *e, float *y);

/* A 1x1 stride-1 convolution over one row of `pixels` pixels (x: pixels x
 * ic floats) on the calling thread, for the row-fused depthwise + 1x1 of
 * ops/conv.c (el_rows_fast): the bits of el_conv2d_bf16 / el_conv2d_bf16x3
 * (x3) on those pixels, e's tile operations included. scratch: 64-byte
 * aligned, el_bf16_rows_scratch() bytes (0: the kernels do not take the
 * geometry on this CPU); false (nothing written) when they do not. */
size_t el_bf16_rows_scratch(int64_t pixels, int64_t ic, int64_t oc, bool x3);
bool el_bf16_rows(int64_t pixels, int64_t ic, int64_t oc, const float *x, const uint16_t *wp, bool x3,
                  const el_conv_epi *e, float *y, void *scratch);

/* ---- per-ISA parts (conv_bf16_amx.c, conv_bf16_avx512.c) ----
 * A panel is `rows` rows of the A matrix in bf16,
 * laid out as tiles too: row r, element k at
 * ((r / 16) * kt + k / 32) * 512 + (r % 16) * 32 + k % 32, kt = kpad / 32,
 * the rows past `rows` up to a multiple of 16 zero. The kernel computes
 * the panel times column blocks [nb0, nb1) of the packed filter, applies
 * the epilogue and stores the valid columns (< n) of the valid rows at
 * y + r * ys. */
/* Panel height: as many rows (a multiple of 32) as fit in this many bytes,
 * so that a panel stays in L2 while every column block of the filter
 * streams past it once (the deep layers' 2 MB filters would otherwise come
 * from memory once per 32 rows); at least 32, at most EL_BF16_PANEL_ROWS. */
#define EL_BF16_PANEL_BYTES (384 << 10)
#define EL_BF16_PANEL_ROWS 256

/* One panel row: src[0..k) converted to bf16 (RNE), zero up to kt * 32,
 * its 32-element pieces stored 512 elements apart from dst (the row's place
 * in the first tile); src NULL writes a zero row. AVX512-BF16. */
void el_bf16_panel_row_avx512(const float *src, int64_t k, int64_t kt, uint16_t *dst);
/* el_bf16_pack_strided's vector form (AVX512-BF16): the scalar one's bits
 * but for subnormals. */
void el_bf16_pack_avx512(const float *w, int64_t rs, int64_t ps, int64_t k, int64_t n, bool x3, uint16_t *out);
/* bf16x3: the hi half at dst, the lo half lo_off elements after it. */
void el_bf16x3_panel_row_avx512(const float *src, int64_t k, int64_t kt, uint16_t *dst, int64_t lo_off);
void el_bf16_gemm_avx512(int rows, int64_t kt, const uint16_t *panel, const uint16_t *wp, int64_t n, int64_t nb0,
                         int64_t nb1, const el_conv_epi *e, float *y, int64_t ys);
/* AMX: el_bf16_amx_begin() loads the tile configuration on the calling
 * thread (once per run of panels), el_bf16_amx_end() releases the tiles. */
void el_bf16_amx_begin(void);
void el_bf16_amx_end(void);
void el_bf16_gemm_amx(int rows, int64_t kt, const uint16_t *panel, const uint16_t *wp, int64_t n, int64_t nb0,
                      int64_t nb1, const el_conv_epi *e, float *y, int64_t ys);

/* bf16x3: the lo halves alo elements after the panel, blo after wp. */
void el_bf16x3_gemm_amx(int rows, int64_t kt, const uint16_t *panel, int64_t alo, const uint16_t *wp, int64_t blo,
                        int64_t n, int64_t nb0, int64_t nb1, const el_conv_epi *e, float *y, int64_t ys);

#endif
