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

#include <stdbool.h>
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

/* Wakes sleeping workers without work for them: they then poll for the
 * next job for a while (EL_SPIN_NS, threadpool.c) instead of starting it
 * late (a futex wake takes tens of microseconds on a VM). For a caller
 * about to run parallel work (a session run). No-op for a pool of 1 or
 * NULL, with no worker asleep, or inside a parallel-for. */
void el_threadpool_wake(el_threadpool *pool);

/* Which thread of its pool runs the caller: 0 for the thread that called
 * el_parallel_for (and any thread outside a pool), 1..size-1 for workers.
 * A kernel that needs per-thread scratch in its chunks allocates size
 * areas before the parallel-for (from the session's pool: no heap in steady
 * state, whatever thread claims which chunk) and indexes them by this. */
int el_threadpool_thread_index(void);

/* Whether the calling thread claims a parallel-for's chunks from the end
 * (odd-numbered threads do, the others from the front): its chunks come in
 * descending order, and a kernel whose items read ahead (prefetch) walks
 * its chunk's items that way too. */
bool el_threadpool_claims_back(void);

/* The pool of the session running on this thread (NULL outside a run).
 * set_current returns the previous value, to restore. */
el_threadpool *el_threadpool_current(void);
el_threadpool *el_threadpool_set_current(el_threadpool *pool);

/* Idle work: while fn is set, a worker with no parallel-for job to run
 * calls fn(ctx, its index 1..size-1) whenever the owner has announced work with
 * el_threadpool_idle_available(n > 0); fn runs one piece of it and returns
 * whether it found any. A parallel-for published meanwhile waits for the
 * piece to end only for the chunks that worker would have taken (the caller
 * claims chunks itself). Inside fn the worker counts as thread 0 of no pool
 * (el_parallel_for runs inline there). The executor uses it to run
 * independent nodes on the second thread (exec/run.c). set_idle(pool, NULL,
 * NULL) returns once no worker is inside fn any more; one owner at a time
 * (the thread running the pool's session). No-op for a pool of 1 or NULL.
 * While fn is set, idle workers poll (yielding) instead of going to sleep. */
typedef bool (*el_idle_fn)(void *ctx, int worker);
void el_threadpool_set_idle(el_threadpool *pool, el_idle_fn fn, void *ctx);
/* How many pieces of idle work there are now (wakes sleeping workers if
 * n > 0); the owner keeps it current, fn may call it too. */
void el_threadpool_idle_available(el_threadpool *pool, int n);
/* Whether a parallel-for has chunks no thread claimed yet: idle work that
 * runs in several steps returns then, for its worker to join. */
bool el_threadpool_job_waiting(const el_threadpool *pool);

#endif
