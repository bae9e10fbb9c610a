/* Per-session memory recycling: blocks grouped in size classes, kept on
 * free lists between runs, so that a session in steady state (the same graph
 * on inputs of the same size) takes no memory from the heap.
 *
 * Every tensor buffer, resource object and kernel scratch area comes from
 * el_mem_alloc(). While a pool is current on the calling thread (a session
 * makes its pool current for the duration of el_session_run, as it does
 * with its thread pool), blocks come from that pool's free lists; otherwise
 * they come from the heap. el_mem_free() returns a block to the pool it came
 * from, whatever thread frees it and whenever (a fetched output may be
 * released long after the run, even after the session is freed): frees on
 * the thread where the pool is current take a lock-free path, others a
 * mutex-protected list that the next run takes back.
 *
 * Small blocks (under 4 KB) are rounded up to one of four classes per power
 * of two and kept on a free list per class; a class with none free carves a
 * new one from a slab of address space (one heap call per slab, not per
 * block: at 2 threads the small blocks each thread's pool needs vary a
 * little from run to run). Larger ones are carved by best
 * fit from chunks of address space (big ones alternating between the two
 * ends of a chunk), merging with free neighbours when freed, so activations
 * of different sizes that are never live together share memory: what a pool touches stays near the largest live set (the
 * classes alone kept the largest live set of every size at once). A fully
 * free chunk unused for EL_MEMPOOL_IDLE_RUNS runs goes back to the heap, so
 * a session whose input size changes does not keep every large size it
 * ever saw (small blocks stay with the pool's slabs). */
#ifndef EL_CORE_MEMPOOL_H
#define EL_CORE_MEMPOOL_H

#include <stddef.h>

#include "edgelens/status.h"

typedef struct el_mempool el_mempool;

#define EL_MEMPOOL_IDLE_RUNS 8

el_status el_mempool_create(el_mempool **out);
/* The owner is done with the pool: free blocks go back to the heap now; the
 * pool itself goes when its last outstanding block is freed. NULL is fine.
 * Must not be called while the pool is current on some thread. */
void el_mempool_close(el_mempool *p);

/* Takes the address space a pool carves blocks from (a slab for small
 * blocks, a chunk for large ones) now rather than at its first blocks: for
 * a pool that starts serving blocks in some later run (a thread pool
 * worker's, when it starts running nodes: exec/run.c), so that run makes no
 * heap call. Only the pages used become resident. */
el_status el_mempool_reserve(el_mempool *p);

/* Makes p current on this thread (NULL: none) and returns the previous one.
 * Making a pool current takes back the blocks freed on other threads. */
el_mempool *el_mempool_set_current(el_mempool *p);
el_mempool *el_mempool_current(void);
/* Ends one run of the pool's owner: chunks idle for EL_MEMPOOL_IDLE_RUNS
 * runs are given back. Call on the thread where p is current. */
void el_mempool_end_run(el_mempool *p);

/* Heap allocations made by the pool since it was created (blocks it had to
 * take from the heap, not counting reuse); for tests and statistics. */
size_t el_mempool_heap_allocs(const el_mempool *p);

/* Bytes (usable sizes) of a pool's blocks: held = taken from the heap and
 * not given back (handed out or on a free list), used = handed out; with
 * their high-water marks since the pool was created. Blocks freed on other
 * threads count as used until the pool takes them back. For tests and
 * statistics; read on the thread where p is current (or while no run). */
typedef struct el_mempool_stats {
    size_t heap_allocs;
    size_t held, held_peak;
    size_t used, used_peak;
} el_mempool_stats;
void el_mempool_get_stats(const el_mempool *p, el_mempool_stats *st);

/* A 64-byte aligned block of at least `bytes` bytes (uninitialised), from
 * the current pool or the heap; NULL when out of memory. el_mem_free(NULL)
 * is a no-op. */
void *el_mem_alloc(size_t bytes);
void el_mem_free(void *ptr);
/* n * size zeroed bytes (NULL also when the product overflows). */
void *el_mem_calloc(size_t n, size_t size);
/* Usable size of a block from el_mem_alloc (>= the size asked for). */
size_t el_mem_size(const void *ptr);
/* Like realloc (contents kept up to the smaller size; NULL ptr allocates);
 * on failure returns NULL and leaves ptr valid. */
void *el_mem_realloc(void *ptr, size_t bytes);

#endif
