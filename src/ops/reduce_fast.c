/* Dispatch and threading of the fast column sums (see reduce_fast.h). */
#include "ops/reduce_fast.h"

#include "core/threadpool.h"
#include "ops/conv_fast.h"

/* Columns per chunk: whole 64-column blocks of the kernel (16 floats are
 * one cache line, so chunks never share a line). */
#define EL_RF_COLS 64

typedef struct el_rf_job {
    const float *x;
    int64_t rows, cols, run;
    double *acc;
} el_rf_job;

#if defined(EL_CONV_X86)
static void el_rf_chunk(void *vc, int64_t b0, int64_t b1)
{
    const el_rf_job *j = vc;
    int64_t c1 = b1 * EL_RF_COLS < j->cols ? b1 * EL_RF_COLS : j->cols;
    el_sum_rows_f32_avx512(j->x, j->rows, j->cols, b0 * EL_RF_COLS, c1, j->run, j->acc);
}
#endif

bool el_sum_rows_f32_fast(const float *x, int64_t rows, int64_t cols, int64_t run, double *acc)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() < EL_ISA_AVX512 || rows < 1 || cols < 1) return false;
    el_rf_job j = {.x = x, .rows = rows, .cols = cols, .run = run, .acc = acc};
    int64_t blocks = (cols + EL_RF_COLS - 1) / EL_RF_COLS;
    /* A chunk should read some 64 KB at least to be worth a wake-up. */
    int64_t per_block = rows * EL_RF_COLS * (int64_t)sizeof(float);
    int64_t grain = per_block >= 65536 ? 1 : 65536 / per_block;
    el_parallel_for(el_threadpool_current(), blocks, grain, el_rf_chunk, &j);
    return true;
#else
    (void)x, (void)rows, (void)cols, (void)run, (void)acc;
    return false;
#endif
}

/* Columns per run in the plain loops: a float row of partial sums on the stack. */
#define EL_RF_PLAIN 64

void el_sum_rows_f32(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, int64_t run, double *acc)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        el_sum_rows_f32_avx512(x, rows, cols, c0, c1, run, acc);
        return;
    }
#endif
    if (run <= 0) {
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = c0; c < c1; c++) acc[c] += (double)x[r * cols + c];
        return;
    }
    for (int64_t cb = c0; cb < c1; cb += EL_RF_PLAIN) {
        const int64_t nc = c1 - cb < EL_RF_PLAIN ? c1 - cb : EL_RF_PLAIN;
        for (int64_t r0 = 0; r0 < rows; r0 += run) {
            const int64_t r1 = rows - r0 < run ? rows : r0 + run;
            float f[EL_RF_PLAIN] = {0};
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = 0; c < nc; c++) f[c] += x[r * cols + cb + c];
            for (int64_t c = 0; c < nc; c++) acc[cb + c] += (double)f[c];
        }
    }
}
