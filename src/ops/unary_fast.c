/* Dispatch and threading of the fast float32 elementwise kernels (see
 * unary_fast.h): the ISA from el_conv_isa() (so tests can force one), the
 * work cut into static chunks over the session's pool. The portable
 * fallback of hard swish is here; the other ops fall back to the reference
 * loops of elementwise.c (the caller's, when this returns false). */
#include "ops/unary_fast.h"

#include <math.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"

/* Elements per chunk: a chunk should cost tens of microseconds, well above
 * a wake-up, and stay within L2 (64 KB of input). */
#define EL_EW_GRAIN_CHEAP 16384
#define EL_EW_GRAIN_EXP 4096

typedef struct el_ew_job {
    el_uf_op op;
    const float *a, *b;
    int ua, ub;
    float *y;
    float mul, add;
    int64_t as, bs, n; /* row strides and row length (rows) */
} el_ew_job;

#if defined(EL_CONV_X86)
static void el_ew_unary_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_ew_job *j = vc;
    el_unary_f32_avx512(j->op, j->a + begin, j->y + begin, end - begin);
}

static void el_ew_binary_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_ew_job *j = vc;
    el_binary_f32_avx512(j->op, j->a + (j->ua ? begin : 0), j->ua, j->b + (j->ub ? begin : 0), j->ub, j->y + begin,
                         end - begin);
}

/* Short rows against a repeated row ([N, 4] / [4], FaceBoxes' box scaling):
 * the row tiled to at most EL_EW_TILE values, so one call covers many rows
 * (the same operation per element). */
#define EL_EW_TILE 256

static void el_ew_rows_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_ew_job *j = vc;
    const bool rep_a = j->as == 0 && j->ua && j->ub && j->bs == j->n;
    const bool rep_b = j->bs == 0 && j->ub && j->ua && j->as == j->n;
    if (j->n <= EL_EW_TILE / 4 && (rep_a || rep_b)) {
        float tile[EL_EW_TILE];
        const int64_t g = EL_EW_TILE / j->n; /* rows per call */
        const float *row = rep_a ? j->a : j->b;
        for (int64_t i = 0; i < g * j->n; i++) tile[i] = row[i % j->n];
        for (int64_t r = begin; r < end; r += g) {
            const int64_t k = end - r < g ? end - r : g;
            el_binary_f32_avx512(j->op, rep_a ? tile : j->a + r * j->n, 1, rep_b ? tile : j->b + r * j->n, 1,
                                 j->y + r * j->n, k * j->n);
        }
        return;
    }
    for (int64_t r = begin; r < end; r++)
        el_binary_f32_avx512(j->op, j->a + r * j->as, j->ua, j->b + r * j->bs, j->ub, j->y + r * j->n, j->n);
}
#endif

static void el_hswish_ref(const float *x, float mul, float add, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] + add;
        float r = v < 0 ? 0.0f : v > 6 ? 6.0f : v; /* Relu6, NaN kept */
        y[i] = (x[i] * mul) * r;
    }
}

static void el_ew_hswish_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_ew_job *j = vc;
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        el_hard_swish_f32_avx512(j->a + begin, j->mul, j->add, j->y + begin, end - begin);
        return;
    }
#endif
    el_hswish_ref(j->a + begin, j->mul, j->add, j->y + begin, end - begin);
}

void el_hard_swish_f32_rows(float *y, int64_t rows, int64_t n, int64_t ld, float m, float a)
{
    for (int64_t r = 0; r < rows; r++, y += ld) {
#if defined(EL_CONV_X86)
        if (el_conv_isa() >= EL_ISA_AVX512) {
            el_hard_swish_f32_avx512(y, m, a, y, n);
            continue;
        }
#endif
        el_hswish_ref(y, m, a, y, n);
    }
}

#if defined(EL_CONV_X86)
/* The binary ops: EL_UF_ADD to the last (unary_fast.h's enum order). */
static bool el_uf_binary(el_uf_op op) { return op >= EL_UF_ADD && op <= EL_UF_MIN; }
#endif

bool el_unary_f32_fast(el_uf_op op, const float *x, float *y, int64_t n)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() < EL_ISA_AVX512 || op > EL_UF_SQUARE) return false;
    el_ew_job j = {.op = op, .a = x, .y = y};
    int64_t grain = op == EL_UF_EXP || op == EL_UF_SIGMOID ? EL_EW_GRAIN_EXP : EL_EW_GRAIN_CHEAP;
    el_parallel_for(el_threadpool_current(), n, grain, el_ew_unary_chunk, &j);
    return true;
#else
    (void)op, (void)x, (void)y, (void)n;
    return false;
#endif
}

bool el_binary_f32_fast(el_uf_op op, const float *a, int ua, const float *b, int ub, float *y, int64_t n)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() < EL_ISA_AVX512 || !el_uf_binary(op) || (!ua && !ub)) return false;
    el_ew_job j = {.op = op, .a = a, .b = b, .ua = ua, .ub = ub, .y = y};
    el_parallel_for(el_threadpool_current(), n, EL_EW_GRAIN_CHEAP, el_ew_binary_chunk, &j);
    return true;
#else
    (void)op, (void)a, (void)ua, (void)b, (void)ub, (void)y, (void)n;
    return false;
#endif
}

bool el_binary_f32_rows_fast(el_uf_op op, const float *a, int64_t as, int ua, const float *b, int64_t bs, int ub,
                             float *y, int64_t rows, int64_t n)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() < EL_ISA_AVX512 || !el_uf_binary(op) || (!ua && !ub) || n <= 0) return false;
    el_ew_job j = {.op = op, .a = a, .b = b, .ua = ua, .ub = ub, .y = y, .as = as, .bs = bs, .n = n};
    int64_t grain = n >= EL_EW_GRAIN_CHEAP ? 1 : EL_EW_GRAIN_CHEAP / n;
    el_parallel_for(el_threadpool_current(), rows, grain, el_ew_rows_chunk, &j);
    return true;
#else
    (void)op, (void)a, (void)as, (void)ua, (void)b, (void)bs, (void)ub, (void)y, (void)rows, (void)n;
    return false;
#endif
}

static void el_ew_mul_add_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_ew_job *j = vc;
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        el_mul_add_f32_avx512(j->a + begin, j->mul, j->add, j->y + begin, end - begin);
        return;
    }
#endif
    for (int64_t i = begin; i < end; i++) {
        float t = j->a[i] * j->mul; /* rounded here: the Mul's result */
        j->y[i] = t + j->add;
    }
}

void el_mul_add_f32(const float *x, float mul, float add, float *y, int64_t n)
{
    el_ew_job j = {.a = x, .y = y, .mul = mul, .add = add};
    el_parallel_for(el_threadpool_current(), n, EL_EW_GRAIN_CHEAP, el_ew_mul_add_chunk, &j);
}

void el_hard_swish_f32(const float *x, float mul, float add, float *y, int64_t n)
{
    el_ew_job j = {.a = x, .y = y, .mul = mul, .add = add};
    el_parallel_for(el_threadpool_current(), n, EL_EW_GRAIN_CHEAP, el_ew_hswish_chunk, &j);
}
