/* A persistent thread pool with a static-chunk parallel-for.
 *
 * A session owns one pool (threads - 1 workers; the calling thread does the
 * first chunk) and makes it current on the thread that runs the session, so
 * kernels reach it with el_threadpool_current() without the kernel contract
 * carrying it. Chunk boundaries are static (chunk i of n items covers the
 * same range for a given pool size), so a kernel whose chunks write disjoint
 * outputs computes the same bits whatever the timing; which thread runs a
 * chunk is decided by claiming (the caller too), so a worker the OS has not
 * scheduled yet delays nothing on a busy machine.
 *
 * Workers spin briefly after a job (the next kernel usually follows within
 * microseconds) and then sleep on a condition variable. */
#ifndef EL_CORE_THREADPOOL_H
#define EL_CORE_THREADPOOL_H

#include <stdint.h>

#include "edgelens/status.h"

typedef struct el_threadpool el_threadpool;

/* Hard bound on a pool's size. */
#define EL_THREADPOOL_MAX 64

/* Online CPUs (at least 1). */
int el_cpu_count(void);

/* A pool of `threads` threads counting the caller (<= 0: el_cpu_count()),
 * clamped to [1, EL_THREADPOOL_MAX]. A pool of 1 starts no thread. */
el_status el_threadpool_create(int threads, el_threadpool **out);
/* Joins the workers. NULL is fine. Must not be called from a worker. */
void el_threadpool_free(el_threadpool *pool);
/* Threads including the caller; 1 for NULL. */
int el_threadpool_size(const el_threadpool *pool);

/* fn(ctx, begin, end) over [0, n) cut into contiguous chunks (a few per
 * thread) of at least `grain` items (grain <= 0 counts as 1); returns when
 * all are done. Runs inline when pool is NULL, has one thread, n is one chunk, or
 * when called from inside a parallel-for (no nesting). fn must not fail:
 * kernels check everything before they split work. One parallel-for at a
 * time per pool (a pool belongs to one session, and a session runs once at
 * a time). */
typedef void (*el_parallel_fn)(void *ctx, int64_t begin, int64_t end);
void el_parallel_for(el_threadpool *pool, int64_t n, int64_t grain, el_parallel_fn fn, void *ctx);

/* Which thread of its pool runs the caller: 0 for the thread that called
 * el_parallel_for (and any thread outside a pool), 1..size-1 for workers.
 * A kernel that needs per-thread scratch in its chunks allocates size
 * areas before the parallel-for (from the session's pool: no heap in steady
 * state, whatever thread claims which chunk) and indexes them by this. */
int el_threadpool_thread_index(void);

/* The pool of the session running on this thread (NULL outside a run).
 * set_current returns the previous value, to restore. */
el_threadpool *el_threadpool_current(void);
el_threadpool *el_threadpool_set_current(el_threadpool *pool);

#endif
