/* Fast float32 Sum/Mean over the leading axes of a tensor (an NHWC
 * feature map's spatial mean: squeeze-excite, CenterNet's head), behind
 * the reference loops of ops/reduce.c, which stay the oracle.
 *
 * Same bits as the reference: every column sums its rows in ascending
 * order into a double, as the reference fold does; only the loop order
 * across columns differs (columns in registers, rows outermost), and the
 * threads split columns, so the result does not depend on the thread
 * count. */
#ifndef EL_OPS_REDUCE_FAST_H
#define EL_OPS_REDUCE_FAST_H

#include <stdbool.h>
#include <stdint.h>

/* acc[c] += sum over r < rows of (double)x[r * cols + c], r ascending, for
 * c < cols. False (nothing written) when there is no fast path on this
 * CPU. Threads come from el_threadpool_current(). */
bool el_sum_rows_f32_fast(const float *x, int64_t rows, int64_t cols, double *acc);

/* acc[c] += the same sums, for c in [c0, c1), on the calling thread: the
 * AVX-512 kernel below where the CPU has it, else plain loops (the same
 * bits). */
void el_sum_rows_f32(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, double *acc);

/* The AVX-512 kernel (reduce_avx512.c), columns [c0, c1), on one thread. */
void el_sum_rows_f32_avx512(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, double *acc);

#endif
