/* Dispatch and threading of the fast depthwise convolutions (see
 * dwconv_fast.h; the kernel itself is dwconv_tile.h). */
#include "ops/dwconv_fast.h"

#include "core/threadpool.h"

/* Work below this many multiply-adds per chunk is not worth waking a
 * thread for (a wake-up costs a few microseconds). */
#define EL_DW_PAR_MIN_MACS 100000

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
        j->fn(j->g, j->x, j->g->h.in, j->w, j->e, j->y + (b * oh + oy0) * j->g->w.out * j->g->oc, b, oy0, oy1, 0, j->g->ic);
        i0 += oy1 - oy0;
    }
}

el_dw_fn el_depthwise_rows_fn(const el_conv_geom *g)
{
    el_isa isa = el_conv_isa();
    if (isa == EL_ISA_REF || g->oc != g->ic || g->ic < 1) return NULL; /* multiplier 1 only */
#if defined(EL_CONV_X86)
    return isa == EL_ISA_AVX512 ? el_depthwise_rows_f32_avx512 : el_depthwise_rows_f32_avx2;
#else
    return NULL;
#endif
}

bool el_depthwise_fast(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y)
{
    el_dw_job j = {.g = g, .x = x, .w = w, .e = e, .y = y, .fn = el_depthwise_rows_fn(g)};
    if (!j.fn) return false;
    int64_t items = g->n * g->h.out;
    int64_t row_macs = g->w.out * g->ic * g->h.k * g->w.k;
    int64_t grain = row_macs > 0 && row_macs < EL_DW_PAR_MIN_MACS ? EL_DW_PAR_MIN_MACS / row_macs : 1;
    el_parallel_for(el_threadpool_current(), items, grain, el_dw_rows, &j);
    return true;
}
