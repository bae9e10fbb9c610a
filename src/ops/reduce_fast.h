/* Fast float32 Sum/Mean over the leading axes of a tensor (an NHWC
 * feature map's spatial mean: squeeze-excite, CenterNet's head), behind
 * the reference loops of ops/reduce.c, which stay the oracle.
 *
 * The order is the reference's (ops/reduce.c): the rows (each a pixel's
 * cols values) come in runs of `run` rows, one row of the map (its W
 * pixels); each column sums a run's rows in float, from +0 in ascending
 * order, and adds that float to its double accumulator, runs in order.
 * With run 0 (rows of the map longer than EL_SUM_RUN_MAX) every value is
 * added to the double in row order. Only the loop order across columns
 * differs (columns in registers, rows outermost), and the threads split
 * columns, so the result does not depend on the thread count.
 *
 * Why float runs: converting each value to double and adding it costs 3
 * uops on the FMA ports per 8 floats, a float add one per 16; a run of at
 * most 256 floats rounds like TensorFlow's own float sums (relative error
 * under 256 * 2^-24 in the worst case, about 1e-7 typically), and the
 * double over runs keeps long maps as accurate as before. */
#ifndef EL_OPS_REDUCE_FAST_H
#define EL_OPS_REDUCE_FAST_H

#include <stdbool.h>
#include <stdint.h>

/* Longest run summed in float. */
#define EL_SUM_RUN_MAX 256

/* The run for rows of the map w values long: w, or 0 (double throughout)
 * past EL_SUM_RUN_MAX. */
static inline int64_t el_sum_run(int64_t w) { return w > 0 && w <= EL_SUM_RUN_MAX ? w : 0; }

/* The run of a spatial Sum/Mean over an h x w map (the innermost reduced
 * axis of more than one element: a row, or the column where a row is one
 * pixel), and whether that run is a row, so that per-row sums made by a
 * kernel as it stores its rows are the runs' sums. */
static inline int64_t el_sum_map_run(int64_t h, int64_t w) { return w > 1 ? el_sum_run(w) : el_sum_run(h); }
static inline bool el_sum_runs_are_rows(int64_t w) { return w > 1 && el_sum_run(w) > 0; }

/* acc[c] += the sums of x[r * cols + c] over r < rows in the order above,
 * for c < cols (rows a multiple of run when run > 0). False (nothing
 * written) when there is no fast path on this CPU. Threads come from
 * el_threadpool_current(). */
bool el_sum_rows_f32_fast(const float *x, int64_t rows, int64_t cols, int64_t run, double *acc);

/* The same for c in [c0, c1), on the calling thread: the AVX-512 kernel
 * below where the CPU has it, else plain loops (the same bits). */
void el_sum_rows_f32(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, int64_t run, double *acc);

/* The AVX-512 kernel (reduce_avx512.c), columns [c0, c1), on one thread. */
void el_sum_rows_f32_avx512(const float *x, int64_t rows, int64_t cols, int64_t c0, int64_t c1, int64_t run,
                            double *acc);

#endif
