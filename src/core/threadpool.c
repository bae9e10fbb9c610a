/* Persistent worker threads for intra-op parallelism (see threadpool.h). */
#include "core/threadpool.h"

#include "core/mempool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EL_CPU_RELAX() _mm_pause()
#else
#define EL_CPU_RELAX() ((void)0)
#endif

/* How long an idle worker polls for the next job before sleeping (outside
 * a session run, see el_worker_main): long enough to bridge the serial ops
 * between two convolutions, short enough not to burn a core between
 * inferences. Past EL_SPIN_YIELD_NS it yields
 * while polling, so on a machine with more runnable threads than cores it
 * does not take the core from the thread that runs the graph. */
#define EL_SPIN_NS 100000
#define EL_SPIN_YIELD_NS 10000

typedef struct el_worker {
    struct el_threadpool *pool;
    int index;
} el_worker;

/* Chunks per thread: more than one, so a thread the OS did not schedule in
 * time holds up nothing (others claim its share). Boundaries stay fixed for
 * a given pool size and n. */
#define EL_CHUNKS_PER_THREAD 4

struct el_threadpool {
    int size;
    pthread_t threads[EL_THREADPOOL_MAX];
    el_worker workers[EL_THREADPOOL_MAX];
    int started;
    int ready;              /* workers with their memory pool set up (under mu) */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t ready_cv;
    /* The job; written by the caller before `state` publishes it, and
     * stable until every chunk is done. */
    el_parallel_fn fn;
    void *ctx;
    int nchunks;
    int64_t bound[EL_THREADPOOL_MAX * EL_CHUNKS_PER_THREAD + 1]; /* chunk i is [bound[i], bound[i + 1]) */
    /* generation << 32 | end << 16 | next: the unclaimed chunks are [next,
     * end); one word, so a claim (CAS) can only succeed for the job it was
     * read from. */
    _Atomic uint64_t state;
    _Atomic int done;      /* chunks finished in this job */
    _Atomic int sleepers;
    _Atomic bool stop;
    /* Idle work (el_threadpool_set_idle): ctx is written before fn
     * publishes it; idle_busy counts workers between reading fn and
     * returning from it, so clearing can wait for them to leave. */
    void *idle_ctx;
    _Atomic(el_idle_fn) idle_fn;
    _Atomic int idle_busy;
    _Atomic int idle_avail;
};

#define EL_GEN(s) ((s) >> 32)
#define EL_END(s) ((int)(((s) >> 16) & 0xFFFF))
#define EL_NEXT(s) ((int)((s) & 0xFFFF))

static _Thread_local el_threadpool *el_current_pool;
static _Thread_local bool el_in_parallel;
static _Thread_local int el_thread_index;

int el_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > EL_THREADPOOL_MAX ? EL_THREADPOOL_MAX : (int)n);
}

el_threadpool *el_threadpool_current(void) { return el_current_pool; }

int el_threadpool_thread_index(void) { return el_thread_index; }

bool el_threadpool_claims_back(void) { return el_thread_index & 1; }

el_threadpool *el_threadpool_set_current(el_threadpool *pool)
{
    el_threadpool *prev = el_current_pool;
    el_current_pool = pool;
    return prev;
}

int el_threadpool_size(const el_threadpool *pool) { return pool ? pool->size : 1; }

/* Chunk i's weight: the chunks shrink towards the middle, where the claims
 * from the front and from the end meet (up to 8:1), so the thread that
 * finishes its last chunk first waits for a short one. Symmetric: the
 * halves two threads claim from either end hold the same items (within
 * one). */
static int64_t el_chunk_weight(int nchunks, int i)
{
    const int d = (nchunks - 1) / 2 - (i < nchunks - 1 - i ? i : nchunks - 1 - i);
    return (int64_t)1 << (d < 3 ? d : 3);
}

/* p->bound for n items in nchunks chunks: one item each, the rest spread
 * by weight (nchunks <= n). */
static void el_chunk_bounds(el_threadpool *p, int64_t n, int nchunks)
{
    int64_t total = 0;
    for (int i = 0; i < nchunks; i++) total += el_chunk_weight(nchunks, i);
    int64_t acc = 0;
    for (int i = 0; i <= nchunks; i++) {
        p->bound[i] = i + (n - nchunks) * acc / total;
        if (i < nchunks) acc += el_chunk_weight(nchunks, i);
    }
}

/* Claims and runs chunks of the job published as generation `gen` until
 * none is left, from the front or the end (el_threadpool_claims_back):
 * with two threads each keeps to its half of the items while both are
 * running (the rows it wrote in the last job, in its own L2, are
 * mostly the ones it reads in the next; and of a filter split in N blocks
 * it streams its own blocks) and the claims only meet at the tail. */
static void el_run_chunks(el_threadpool *p, uint64_t gen)
{
    const bool back = el_threadpool_claims_back();
    const uint64_t step = back ? (uint64_t)-(1 << 16) : 1;
    uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
    for (;;) {
        if (EL_GEN(s) != gen || EL_NEXT(s) >= EL_END(s)) return;
        if (!atomic_compare_exchange_weak_explicit(&p->state, &s, s + step, memory_order_acq_rel, memory_order_acquire))
            continue;
        const int i = back ? EL_END(s) - 1 : EL_NEXT(s);
        p->fn(p->ctx, p->bound[i], p->bound[i + 1]);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
        s = atomic_load_explicit(&p->state, memory_order_acquire);
    }
}

static int64_t el_elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000000 + (t.tv_nsec - t0->tv_nsec);
}

/* Runs one piece of the idle work, if any is offered; true if it did. The
 * work runs as thread 0 of no pool: a parallel-for inside it runs inline
 * (el_in_parallel stays set on a worker) and per-thread scratch indexed by
 * el_threadpool_thread_index() fits a pool of size 1. */
static bool el_run_idle(el_threadpool *p)
{
    if (atomic_load_explicit(&p->idle_avail, memory_order_relaxed) <= 0) return false;
    bool ran = false;
    atomic_fetch_add(&p->idle_busy, 1);
    el_idle_fn fn = atomic_load(&p->idle_fn);
    if (fn) {
        int index = el_thread_index;
        el_thread_index = 0;
        ran = fn(p->idle_ctx, index);
        el_thread_index = index;
    }
    atomic_fetch_sub(&p->idle_busy, 1);
    return ran;
}

static void *el_worker_main(void *arg)
{
    el_threadpool *p = ((el_worker *)arg)->pool;
    el_thread_index = ((el_worker *)arg)->index;
    el_in_parallel = true;
    /* Scratch that kernels take inside their chunks comes from the worker's
     * own pool, so jobs in steady state do not touch the heap. */
    el_mempool *mem = NULL;
    if (el_mempool_create(&mem) != EL_OK) mem = NULL; /* then the heap serves */
    /* It may serve a session's nodes in any run (el_threadpool_set_idle). */
    if (mem && el_mempool_reserve(mem) != EL_OK) {
        el_mempool_close(mem);
        mem = NULL;
    }
    el_mempool_set_current(mem);
    pthread_mutex_lock(&p->mu);
    p->ready++;
    pthread_cond_signal(&p->ready_cv);
    pthread_mutex_unlock(&p->mu);
    uint64_t seen = 0; /* generation 0 is "no job yet" */
    for (;;) {
        uint64_t g = EL_GEN(atomic_load_explicit(&p->state, memory_order_acquire));
        if (g == seen && !atomic_load(&p->stop)) {
            /* A parallel-for goes first (checked above); idle work only
             * between jobs, one piece at a time so a job waits little. */
            if (el_run_idle(p)) continue;
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            for (int spins = 0;; spins++) {
                g = EL_GEN(atomic_load_explicit(&p->state, memory_order_acquire));
                if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
                EL_CPU_RELAX();
                if ((spins & 63) == 63) {
                    /* Offered idle work is looked at again now and then
                     * (the owner may offer some the worker does not take). */
                    if (atomic_load_explicit(&p->idle_avail, memory_order_relaxed) > 0) break;
                    int64_t ns = el_elapsed_ns(&t0);
                    /* While a session run offers idle work (el_exec_help) the
                     * gaps between its parallel kernels can outlast EL_SPIN_NS
                     * (the OD API's serial box decoding before its NMS): a
                     * worker asleep then joins the next kernel 10-250 us late,
                     * so it keeps polling, yielding, until the run ends. */
                    if (ns > EL_SPIN_NS && !atomic_load_explicit(&p->idle_fn, memory_order_relaxed)) break;
                    if (ns > EL_SPIN_YIELD_NS) sched_yield();
                }
            }
            if (g == seen && !atomic_load(&p->stop) && atomic_load(&p->idle_avail) <= 0) {
                pthread_mutex_lock(&p->mu);
                /* seq_cst pairing with el_parallel_for and
                 * el_threadpool_idle_available: either they see us sleeping
                 * and broadcast under the mutex, or we see the new
                 * generation or the idle work here. */
                atomic_fetch_add(&p->sleepers, 1);
                while ((g = EL_GEN(atomic_load(&p->state))) == seen && !atomic_load(&p->stop) &&
                       atomic_load(&p->idle_avail) <= 0)
                    pthread_cond_wait(&p->wake, &p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mu);
            }
            if (g == seen && !atomic_load(&p->stop)) continue; /* woken for idle work */
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        el_run_chunks(p, g);
    }
    el_mempool_set_current(NULL);
    el_mempool_close(mem);
    return NULL;
}

el_status el_threadpool_create(int threads, el_threadpool **out)
{
    *out = NULL;
    if (threads <= 0) threads = el_cpu_count();
    if (threads > EL_THREADPOOL_MAX) threads = EL_THREADPOOL_MAX;
    el_threadpool *p = calloc(1, sizeof *p);
    if (!p) return el_error(EL_ERR_NOMEM, "out of memory");
    p->size = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->ready_cv, NULL);
    for (int i = 1; i < threads; i++) {
        p->workers[i] = (el_worker){p, i};
        int rc = pthread_create(&p->threads[i], NULL, el_worker_main, &p->workers[i]);
        if (rc != 0) {
            el_threadpool_free(p);
            return el_error(EL_ERR_RUNTIME, "cannot start thread %d of %d for the thread pool (error %d)", i, threads,
                            rc);
        }
        p->started = i;
    }
    /* Each worker makes its memory pool as it starts; a loaded machine may
     * not run it before the session's third run, whose heap calls would
     * then break "none in steady state" (exec/test_alloc). Ready here means
     * ready before the first run. */
    pthread_mutex_lock(&p->mu);
    while (p->ready < p->started) pthread_cond_wait(&p->ready_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return EL_OK;
}

void el_threadpool_free(el_threadpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->ready_cv);
    free(p);
}

void el_parallel_for(el_threadpool *p, int64_t n, int64_t grain, el_parallel_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t maxchunks = (n + grain - 1) / grain;
    int64_t nchunks = p ? (int64_t)p->size * EL_CHUNKS_PER_THREAD : 1;
    if (nchunks > maxchunks) nchunks = maxchunks;
    if (nchunks <= 1 || p->size <= 1 || el_in_parallel) {
        fn(ctx, 0, n);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->nchunks = (int)nchunks;
    el_chunk_bounds(p, n, (int)nchunks);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    uint64_t gen = EL_GEN(atomic_load_explicit(&p->state, memory_order_relaxed)) + 1;
    atomic_store(&p->state, gen << 32 | (uint64_t)nchunks << 16); /* seq_cst: publishes the job */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    el_in_parallel = true;
    el_run_chunks(p, gen);
    el_in_parallel = false;
    /* Only chunks a running worker claimed are left. */
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < (int)nchunks; spins++) {
        EL_CPU_RELAX();
        if (spins >= 1024) sched_yield();
    }
}

static void el_no_work(void *ctx, int64_t begin, int64_t end) { (void)ctx, (void)begin, (void)end; }

/* An empty job: the workers wake for its new generation, find its chunks
 * claimed (the caller takes them at once) and go back to polling. */
void el_threadpool_wake(el_threadpool *p)
{
    if (!p || p->size <= 1 || el_in_parallel || atomic_load(&p->sleepers) == 0) return;
    el_parallel_for(p, p->size, 1, el_no_work, NULL);
}

void el_threadpool_set_idle(el_threadpool *p, el_idle_fn fn, void *ctx)
{
    if (!p || p->size <= 1) return;
    if (fn) {
        p->idle_ctx = ctx;
        atomic_store(&p->idle_fn, fn);
        return;
    }
    atomic_store(&p->idle_fn, (el_idle_fn)NULL);
    atomic_store(&p->idle_avail, 0);
    /* A worker that read the old fn may still be inside it. */
    for (int spins = 0; atomic_load(&p->idle_busy) > 0; spins++) {
        EL_CPU_RELAX();
        if (spins >= 1024) sched_yield();
    }
}

void el_threadpool_idle_available(el_threadpool *p, int n)
{
    if (!p || p->size <= 1) return;
    atomic_store(&p->idle_avail, n); /* seq_cst: pairs with a worker going to sleep */
    if (n > 0 && atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
}

bool el_threadpool_job_waiting(const el_threadpool *p)
{
    uint64_t s = atomic_load_explicit(&((el_threadpool *)p)->state, memory_order_relaxed);
    return EL_NEXT(s) < EL_END(s);
}
