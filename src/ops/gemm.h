/* Packed-filter GEMM for convolutions and matrix products.
 *
 * A convolution's filter is a constant, so a graph pass
 * (graph/pack.c) rewrites it once, at session creation, into the layout
 * the micro-kernels read: panels of EL_GEMM_NR output channels, each panel
 * K rows of NR contiguous floats (K = kh * kw * ic in HWIO order), the
 * channels past the output depth zero. The kernel then streams one
 * contiguous, aligned panel per column tile (no page per k step as in HWIO
 * for deep layers, no masks in the inner loop), and the packed copy
 * replaces the HWIO one in the session's graph.
 *
 * The node that reads a packed filter carries two private attrs:
 * EL_FILTER_LAYOUT_ATTR (the layout's name, see el_filter_layout) and
 * EL_FILTER_OC_ATTR (the output depth, which padding hides). The packed
 * tensor's shape is [panels, kh, kw, ic, NR]. New layouts (another NR,
 * bf16 panels) add an enum value and a name.
 *
 * EL_FILTER_BF16_T32X16 (graph/precision.c, under bf16) is the tile layout
 * of ops/conv_bf16.h: an int16 tensor of el_bf16_packed_len(kh*kw*ic, oc)
 * bf16 bit patterns whose shape cannot say the window, so the node also
 * carries EL_FILTER_SHAPE_ATTR (the HWIO shape, a shape attr). */
#ifndef EL_OPS_GEMM_H
#define EL_OPS_GEMM_H

#include <stdbool.h>
#include <stdint.h>

#include "edgelens/status.h"
#include "edgelens/tensor.h"

#define EL_GEMM_NR 32

#define EL_FILTER_LAYOUT_ATTR "_el_filter_layout"
#define EL_FILTER_OC_ATTR "_el_filter_oc"
#define EL_FILTER_SHAPE_ATTR "_el_filter_shape"

typedef enum el_filter_layout {
    EL_FILTER_HWIO = 0,    /* TensorFlow's own: [kh, kw, ic, oc] */
    EL_FILTER_F32_P32 = 1, /* float panels of 32 channels: [ceil(oc / 32), kh, kw, ic, 32] */
    EL_FILTER_BF16_T32X16 = 2, /* bf16 tiles of 32 k x 16 channels (ops/conv_bf16.h), 1-D */
    EL_FILTER_BF16X3_T32X16 = 3, /* the same, hi tiles then lo tiles (bf16x3), 1-D */
} el_filter_layout;

/* The layout the graph pass packs constant Conv2D filters into on this
 * CPU (for the ISA el_conv_isa() picks): EL_FILTER_HWIO means "leave them". */
el_filter_layout el_filter_layout_preferred(void);

/* The attr value naming a layout, and back (-1 when unknown). */
const char *el_filter_layout_name(el_filter_layout l);
int el_filter_layout_parse(const char *s, size_t len);

/* Packs a row-major [k, n] float matrix (an HWIO filter is one, k = kh *
 * kw * ic) into panels: out[(p * k + i) * NR + j] = w[i * n + p * NR + j],
 * 0 past column n. out holds el_gemm_packed_len(k, n) floats. */
int64_t el_gemm_packed_len(int64_t k, int64_t n);
void el_gemm_pack_f32(const float *w, int64_t k, int64_t n, float *out);
/* The inverse: back to [k, n] (for kernels that read HWIO). */
void el_gemm_unpack_f32(const float *p, int64_t k, int64_t n, float *w);

/* An HWIO filter tensor [kh, kw, ic, oc] packed into a new tensor of shape
 * [panels, kh, kw, ic, NR] (64-byte aligned). *out is empty on failure.
 * With `scale` ([oc] or NULL), output channel j is multiplied by scale[j]
 * as it is packed (batch-norm folding without an HWIO copy in between;
 * the same products as scaling first). */
el_status el_filter_pack(const el_tensor *hwio, el_filter_layout layout, el_tensor *out);
el_status el_filter_pack_scaled(const el_tensor *hwio, el_filter_layout layout, const float *scale, el_tensor *out);

/* ---- micro-kernels ---- */

/* What the kernels apply in registers: the sums start from the bias (the
 * first K block), and are clamped when the last K block is stored (see
 * el_conv_epi in conv_fast.h). */
typedef struct el_gemm_epi {
    const float *bias; /* at the tile's first column, or NULL */
    bool clamp;
    float lo, hi;
    /* Last K block, after the clamp: add[r * ldadd + j] added (a residual
     * Add the graph passes fused: the bits of the Add kernel's a + b), or
     * NULL. */
    const float *add;
    int64_t ldadd;
    /* Then hard swish (ops/hswish_avx512.h: the bits of _ElHardSwish). */
    bool hswish;
    float hs_mul, hs_add;
} el_gemm_epi;

enum {
    EL_GEMM_ACC = 1, /* add to what c holds (an earlier K block) instead of starting from the bias */
    EL_GEMM_EPI = 2, /* last K block: clamp */
};

/* c[r][j] (+)= sum over segments s < nseg, then k < len, of
 * a[r * lda + s * sstride + k] * b[(s * len + k) * NR + j], for r < rows
 * (1..EL_GEMM_MR_AVX512) and j < ncols (1..NR), in that order (so the
 * K dimension is nseg * len long: a 1x1 convolution or a K block is one
 * segment; a window's kh rows of kw * ic contiguous inputs are kh
 * segments). b: a packed panel at the block's first k (64-byte aligned).
 * Only c's first ncols columns are read or written.
 * Each k step also prefetches one cache line into L2 at pf, pf + pfstep,
 * pf + 2 * pfstep, ... (bytes; pf NULL: none): the caller streams the
 * panels it reads next from memory while this block computes (see
 * conv_gemm.c). */
#define EL_GEMM_MR_AVX512 14
void el_gemm_f32_avx512(int rows, int nseg, int64_t len, const float *a, int64_t lda, int64_t sstride, const float *b,
                        float *c, int64_t ldc, int ncols, int flags, const el_gemm_epi *e, const void *pf,
                        int64_t pfstep);

#endif
