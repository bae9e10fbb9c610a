/* AVX-512F depthwise convolution rows (see dwconv_fast.h). Compiled for
 * AVX-512 whatever the build flags; only called after el_isa_available()
 * found the CPU and OS support it. */
#include "ops/dwconv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx512f")
#include <immintrin.h>

#include "ops/hswish_avx512.h"

#define EL_VF 16
typedef __m512 el_vf;
typedef __mmask16 el_vmask;
#define EL_V_ZERO() _mm512_setzero_ps()
#define EL_V_SET1(a) _mm512_set1_ps(a)
#define EL_V_LOAD(p) _mm512_loadu_ps(p)
#define EL_V_STORE(p, v) _mm512_storeu_ps(p, v)
#define EL_V_MLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define EL_V_MSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define EL_V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define EL_V_ADD(a, b) _mm512_add_ps(a, b)
/* The _ElHardSwish kernel's operation (ops/hswish_avx512.h). */
#define EL_V_HSWISH(v, m, a) el_hswish_ps(v, m, a)
#define EL_V_MAX(a, b) _mm512_max_ps(a, b)
#define EL_V_MIN(a, b) _mm512_min_ps(a, b)
/* Lanes [0, n) set (n clamped to 0..16). */
static inline el_vmask el_vmask_n(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}
#define EL_DW_ROWS_FN el_depthwise_rows_f32_avx512

#include "ops/dwconv_tile.h"

#else
/* Not x86-64: the dispatcher never selects these kernels. */
typedef int el_dwconv_avx512_unused;
#endif
