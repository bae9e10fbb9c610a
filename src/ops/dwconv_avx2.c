/* AVX2 + FMA depthwise convolution rows (see dwconv_fast.h). Compiled for
 * AVX2 whatever the build flags; only called after el_isa_available() found
 * the CPU supports it. */
#include "ops/dwconv_fast.h"
#if defined(EL_CONV_X86)
#pragma GCC target("avx2,fma")
#include <immintrin.h>

#define EL_VF 8
typedef __m256 el_vf;
typedef __m256i el_vmask;
#define EL_V_ZERO() _mm256_setzero_ps()
#define EL_V_SET1(a) _mm256_set1_ps(a)
#define EL_V_LOAD(p) _mm256_loadu_ps(p)
#define EL_V_STORE(p, v) _mm256_storeu_ps(p, v)
#define EL_V_MLOAD(p, m) _mm256_maskload_ps(p, m)
#define EL_V_MSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define EL_V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define EL_V_ADD(a, b) _mm256_add_ps(a, b)
#define EL_V_MAX(a, b) _mm256_max_ps(a, b)
#define EL_V_MIN(a, b) _mm256_min_ps(a, b)
/* Lanes [0, n) set (n clamped to 0..8). */
static inline el_vmask el_vmask_n(int64_t n)
{
    int k = n >= 8 ? 8 : (n < 0 ? 0 : (int)n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define EL_DW_ROWS_FN el_depthwise_rows_f32_avx2

#include "ops/dwconv_tile.h"

#else
typedef int el_dwconv_avx2_unused;
#endif
