/* Size-class free lists per session (see mempool.h), and for large blocks
 * an arena of address-ordered extents.
 *
 * Why two mechanisms: a free list per size class keeps, for every class, as
 * many blocks as were ever live at once in that class, and the activations
 * of a network come in many sizes that are never live together; on the
 * full-size SSD the classes held 35 MB for a live set of at most 9 MB.
 * Large blocks are therefore carved from chunks by best fit, freed blocks
 * merging with free neighbours, so the memory touched stays near the
 * largest live set. The graph runs the same way each run and everything is
 * freed between runs, so each run places its blocks where the previous one
 * did: no heap call in steady state, as with the classes. */
#include "core/mempool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EL_MEM_ALIGN 64
/* Classes: 64-byte units 1..8 exactly, then four per power of two up to
 * 2^32 bytes (EL_TENSOR_MAX_BYTES); larger blocks bypass the pool. */
#define EL_MEM_CLASSES 108
/* Requests from this size on are carved from chunks (cls EL_MEM_LARGE). */
#define EL_MEM_LARGE_MIN ((size_t)4 << 10)
#define EL_MEM_LARGE EL_MEM_CLASSES
/* Blocks from this size on alternate between the two sides of a chunk;
 * smaller ones stay on the low side. */
#define EL_MEM_BIG ((size_t)256 << 10)
/* Address space reserved per chunk: only the pages used become resident. */
#define EL_MEM_CHUNK ((size_t)64 << 20)
/* Address space of a pool's first slab for small blocks (the next ones
 * double): only the pages carved become resident. */
#define EL_MEM_SLAB ((size_t)4 << 20)

typedef struct el_chunk el_chunk;

/* Bins of free extents: 64-byte units 1..16 exactly, then sixteen per
 * power of two (a bin's sizes within 1/16 of each other), up to 2^40 bytes. */
#define EL_EXT_BINS 512

/* Sits in the 64 bytes before every block, keeping the data aligned. */
typedef struct el_block {
    el_mempool *pool;       /* NULL: a plain heap block */
    struct el_block *next;  /* on a free list (of a class, of extents, remote) */
    size_t size;            /* usable bytes */
    uint32_t cls;
    /* Large blocks only: */
    uint32_t is_free;       /* a free extent */
    struct el_block *prev;  /* on the free extent list */
    el_chunk *chunk;
    size_t prev_size;       /* usable bytes of the block just below (none at the chunk's base) */
} el_block;
_Static_assert(sizeof(el_block) <= EL_MEM_ALIGN, "block header fits its alignment");

/* Blocks are laid out in two runs: from base up to base + top (low), and
 * from base + hi up to base + cap (high, grown downwards). A big block that
 * finds no free extent goes to the side opposite the previous big one: in a
 * chain of layers, each output then sits across the gap from its input, and
 * the two sides need about the largest pair of neighbours (one growing end
 * leaves each freed input as a hole below the next, larger, output: 12.3 MB
 * instead of 9 MB on the full-size SSD). Between the sides is the gap,
 * never touched since the chunk was last fully free. */
struct el_chunk {
    el_chunk *next;
    char *base;
    size_t cap;            /* bytes from base */
    size_t top, hi;
    size_t touched_lo, touched_hi; /* the most each side reached: what became resident */
    el_block *last;        /* the block ending at top, NULL when top is 0 */
    size_t live;           /* blocks handed out */
    uint32_t idle;         /* runs since last used */
    uint8_t used;          /* used in the current run */
};
/* Bytes before a chunk's base, keeping it aligned. */
#define EL_MEM_CHUNK_HDR (2 * EL_MEM_ALIGN)
_Static_assert(sizeof(el_chunk) <= EL_MEM_CHUNK_HDR, "chunk header fits before its base");

/* Where small blocks come from when their class has none free: carved in
 * a row from address space taken in one heap call, so a class growing in a
 * later run costs no heap call. Which thread runs which node of a run
 * varies (exec/run.c: a session's second thread takes ready nodes), and
 * with it the small blocks each thread's pool has live at once. A small
 * block goes back to its class's free list, never to the heap alone: the
 * slabs go with the pool (small blocks are under 4 KB: they cannot add up
 * to much, and idle classes are no longer trimmed). */
typedef struct el_slab el_slab;
struct el_slab {
    el_slab *next;
    size_t top, cap;
};
#define EL_MEM_SLAB_HDR EL_MEM_ALIGN
_Static_assert(sizeof(el_slab) <= EL_MEM_SLAB_HDR, "slab header fits before its base");

struct el_mempool {
    el_block *free[EL_MEM_CLASSES];
    size_t out;                      /* blocks handed out and not back */
    size_t heap_allocs;
    size_t held, held_peak;          /* bytes of blocks taken from the heap and not given back */
    size_t used_bytes, used_peak;    /* bytes of blocks handed out (frees on other threads count at the drain) */
    pthread_mutex_t mu;              /* guards remote, closed; nremote is written under it */
    el_block *remote;                /* freed on threads where p was not current */
    el_chunk *chunks;
    el_slab *slabs;                  /* the newest first */
    /* Free extents inside the two sides of the chunks, binned by size
     * (el_ext_bin), and a bit per non-empty bin. */
    el_block *ext_bin[EL_EXT_BINS];
    uint64_t ext_nonempty[EL_EXT_BINS / 64];
    el_chunk *last_chunk;            /* where the last big block went, NULL at the start of a run */
    uint8_t last_hi;                 /* and on which side */
    _Atomic size_t nremote;
    bool closed;
};

static _Thread_local el_mempool *el_mem_cur;

static inline el_block *el_block_of(const void *ptr) { return (el_block *)((char *)ptr - EL_MEM_ALIGN); }

/* Class of a request and the class's block size. */
static int el_mem_class(size_t bytes, size_t *size)
{
    size_t n = (bytes + EL_MEM_ALIGN - 1) / EL_MEM_ALIGN;
    if (n == 0) n = 1;
    if (n <= 8) {
        *size = n * EL_MEM_ALIGN;
        return (int)n - 1;
    }
    int k = 63 - __builtin_clzll((unsigned long long)(n - 1)); /* floor(log2(n-1)) >= 3 */
    size_t sub = ((n - 1) >> (k - 2)) & 3;
    int cls = 8 + (k - 3) * 4 + (int)sub;
    if (cls >= EL_MEM_CLASSES) return -1;
    *size = ((4 + sub + 1) << (k - 2)) * EL_MEM_ALIGN;
    return cls;
}

static el_block *el_block_new(size_t size)
{
    el_block *b = aligned_alloc(EL_MEM_ALIGN, EL_MEM_ALIGN + size);
    if (b) b->size = size;
    return b;
}

/* Makes sure the newest slab has room for a block of `size` bytes: a new
 * slab (twice the last one) when it has not. */
static bool el_slab_room(el_mempool *p, size_t size)
{
    el_slab *sl = p->slabs;
    if (sl && sl->cap - sl->top >= EL_MEM_ALIGN + size) return true;
    size_t cap = sl ? sl->cap * 2 : EL_MEM_SLAB;
    sl = aligned_alloc(EL_MEM_ALIGN, EL_MEM_SLAB_HDR + cap);
    if (!sl) return false;
    sl->cap = cap;
    sl->top = 0;
    sl->next = p->slabs;
    p->slabs = sl;
    p->heap_allocs++;
    return true;
}

/* A small block of `size` bytes carved from the newest slab, a new slab
 * when it is full (NULL when out of memory). */
static el_block *el_slab_block(el_mempool *p, size_t size)
{
    if (!el_slab_room(p, size)) return NULL;
    el_slab *sl = p->slabs;
    el_block *b = (el_block *)((char *)sl + EL_MEM_SLAB_HDR + sl->top);
    sl->top += EL_MEM_ALIGN + size;
    b->size = size;
    return b;
}

static void el_chunk_unlink(el_mempool *p, el_chunk *c)
{
    el_chunk **pp = &p->chunks;
    while (*pp != c) pp = &(*pp)->next;
    *pp = c->next;
    if (p->last_chunk == c) p->last_chunk = NULL;
    p->held -= c->touched_lo + c->touched_hi;
    free(c);
}

static void el_mempool_destroy(el_mempool *p)
{
    while (p->chunks) el_chunk_unlink(p, p->chunks);
    for (el_slab *sl = p->slabs, *n; sl; sl = n) {
        n = sl->next;
        free(sl);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

el_status el_mempool_create(el_mempool **out)
{
    el_mempool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p) return el_error(EL_ERR_NOMEM, "out of memory creating a memory pool");
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return EL_OK;
}

/* ---- large blocks: extents of chunks ---- */

static inline el_block *el_ext_after(const el_block *b) { return (el_block *)((char *)b + EL_MEM_ALIGN + b->size); }
static inline bool el_ext_in_lo(const el_chunk *c, const el_block *b) { return (const char *)b < c->base + c->top; }
/* Whether b has a neighbour after / before it on its side. */
static inline bool el_ext_has_after(const el_chunk *c, const el_block *b)
{
    return (char *)el_ext_after(b) != c->base + (el_ext_in_lo(c, b) ? c->top : c->cap);
}
static inline bool el_ext_has_before(const el_chunk *c, const el_block *b)
{
    return (const char *)b != c->base + (el_ext_in_lo(c, b) ? 0 : c->hi);
}
static inline el_block *el_ext_before(const el_block *b)
{
    return (el_block *)((char *)b - EL_MEM_ALIGN - b->prev_size);
}

/* The bin of a free extent of `size` bytes: never decreasing with the
 * size, so every extent of a lower bin is smaller than every extent of a
 * higher one. */
static int el_ext_bin(size_t size)
{
    size_t n = size / EL_MEM_ALIGN;
    if (n <= 16) return n ? (int)n - 1 : 0;
    int k = 63 - __builtin_clzll((unsigned long long)(n - 1)); /* >= 4 */
    int bin = 16 + (k - 4) * 16 + (int)(((n - 1) >> (k - 4)) & 15);
    return bin < EL_EXT_BINS ? bin : EL_EXT_BINS - 1;
}

/* Unlists b; b->size must still be the size it was listed with. */
static void el_ext_unlist(el_mempool *p, el_block *b)
{
    if (b->prev) {
        b->prev->next = b->next;
    } else {
        int k = el_ext_bin(b->size);
        p->ext_bin[k] = b->next;
        if (!b->next) p->ext_nonempty[k / 64] &= ~((uint64_t)1 << (k % 64));
    }
    if (b->next) b->next->prev = b->prev;
}

static void el_ext_list(el_mempool *p, el_block *b)
{
    int k = el_ext_bin(b->size);
    b->is_free = 1;
    b->prev = NULL;
    b->next = p->ext_bin[k];
    if (b->next) b->next->prev = b;
    p->ext_bin[k] = b;
    p->ext_nonempty[k / 64] |= (uint64_t)1 << (k % 64);
}

/* Whether extent e beats best (NULL: none yet): smaller, or as large at a
 * lower address. */
static inline bool el_ext_better(const el_block *e, const el_block *best)
{
    return !best || e->size < best->size || (e->size == best->size && e < best);
}

/* The smallest free extent of at least `size` bytes, the lowest address
 * among equal sizes: in size's own bin if one there fits, else anywhere in
 * the next non-empty bin (all larger than size and than any extent of the
 * bins between). The same block a scan of every free extent would pick,
 * without walking the many small extents a graph like the OD API's
 * post-processing leaves (one cache miss each). */
static el_block *el_ext_best(const el_mempool *p, size_t size)
{
    el_block *best = NULL;
    int k = el_ext_bin(size);
    for (el_block *e = p->ext_bin[k]; e; e = e->next)
        if (e->size >= size && el_ext_better(e, best)) best = e;
    if (best) return best;
    for (int w = (k + 1) / 64; w < EL_EXT_BINS / 64; w++) {
        uint64_t m = p->ext_nonempty[w];
        if (w == (k + 1) / 64) m &= ~(uint64_t)0 << ((k + 1) % 64);
        if (!m) continue;
        for (el_block *e = p->ext_bin[w * 64 + __builtin_ctzll(m)]; e; e = e->next)
            if (el_ext_better(e, best)) best = e;
        return best;
    }
    return NULL;
}

static void el_ext_touch(el_mempool *p, el_chunk *c)
{
    size_t lo = c->top, hi = c->cap - c->hi;
    if (lo <= c->touched_lo && hi <= c->touched_hi) return;
    if (lo > c->touched_lo) p->held += lo - c->touched_lo, c->touched_lo = lo;
    if (hi > c->touched_hi) p->held += hi - c->touched_hi, c->touched_hi = hi;
    if (p->held > p->held_peak) p->held_peak = p->held;
}

/* A block of `size` (a multiple of 64) bytes: the smallest free extent that
 * holds it (split when the rest can hold a block), else carved from a side
 * of a chunk, else from a new chunk. */
static el_block *el_ext_alloc(el_mempool *p, size_t size)
{
    el_block *best = el_ext_best(p, size);
    bool big = size >= EL_MEM_BIG;
    if (best) {
        el_chunk *c = best->chunk;
        el_ext_unlist(p, best);
        best->is_free = 0;
        if (best->size >= size + 2 * EL_MEM_ALIGN) {
            el_block *r = (el_block *)((char *)best + EL_MEM_ALIGN + size);
            r->pool = p;
            r->cls = EL_MEM_LARGE;
            r->chunk = c;
            r->size = best->size - size - EL_MEM_ALIGN;
            r->prev_size = size;
            best->size = size;
            if (el_ext_has_after(c, r)) el_ext_after(r)->prev_size = r->size;
            el_ext_list(p, r);
        }
        if (big) p->last_chunk = c, p->last_hi = !el_ext_in_lo(c, best);
        c->used = 1;
        c->live++;
        return best;
    }
    el_chunk *c = NULL;
    bool lo = true;
    if (big && p->last_chunk) { /* across from the previous big block, in its chunk when there is room */
        el_chunk *k = p->last_chunk;
        if (k->hi - k->top >= EL_MEM_ALIGN + size) c = k, lo = p->last_hi;
    }
    if (!c) {
        c = p->chunks;
        while (c && c->hi - c->top < EL_MEM_ALIGN + size) c = c->next;
        if (c && big && !p->last_chunk) lo = false; /* the first of a pool's big blocks: high */
    }
    if (!c) {
        size_t cap = EL_MEM_ALIGN + size > EL_MEM_CHUNK ? EL_MEM_ALIGN + size : EL_MEM_CHUNK;
        c = aligned_alloc(EL_MEM_ALIGN, EL_MEM_CHUNK_HDR + cap);
        if (!c) return NULL;
        memset(c, 0, sizeof *c);
        c->base = (char *)c + EL_MEM_CHUNK_HDR;
        c->cap = c->hi = cap;
        if (big && !p->last_chunk) lo = false;
        c->next = p->chunks;
        p->chunks = c;
        p->heap_allocs++;
    }
    el_block *b;
    if (!lo) {
        b = (el_block *)(c->base + c->hi - EL_MEM_ALIGN - size);
        if (c->hi < c->cap) ((el_block *)(c->base + c->hi))->prev_size = size;
        c->hi -= EL_MEM_ALIGN + size;
    } else {
        b = (el_block *)(c->base + c->top);
        b->prev_size = c->last ? c->last->size : 0;
        c->last = b;
        c->top += EL_MEM_ALIGN + size;
    }
    if (big) p->last_chunk = c, p->last_hi = !lo;
    b->pool = p;
    b->cls = EL_MEM_LARGE;
    b->is_free = 0;
    b->chunk = c;
    b->size = size;
    el_ext_touch(p, c);
    c->used = 1;
    c->live++;
    return b;
}

/* Gives b back to its chunk, merged with the free blocks next to it; a
 * free block at the inner end of a side shrinks the side instead. */
static void el_ext_free(el_mempool *p, el_block *b)
{
    el_chunk *c = b->chunk;
    c->live--;
    if (el_ext_has_after(c, b)) {
        el_block *n = el_ext_after(b);
        if (n->is_free) {
            el_ext_unlist(p, n);
            b->size += EL_MEM_ALIGN + n->size;
        }
    }
    if (el_ext_has_before(c, b)) {
        el_block *q = el_ext_before(b);
        if (q->is_free) {
            el_ext_unlist(p, q);
            q->size += EL_MEM_ALIGN + b->size;
            if (b == c->last) c->last = q;
            b = q;
        }
    }
    b->is_free = 0;
    if (el_ext_in_lo(c, b) && b == c->last) {
        bool first = (char *)b == c->base;
        c->top = (size_t)((char *)b - c->base);
        c->last = first ? NULL : el_ext_before(b);
        return;
    }
    if (!el_ext_in_lo(c, b) && (char *)b == c->base + c->hi) {
        c->hi += EL_MEM_ALIGN + b->size;
        return;
    }
    if (el_ext_has_after(c, b)) el_ext_after(b)->prev_size = b->size;
    el_ext_list(p, b);
}

/* A block back to its class's free list, or to its chunk. */
static inline void el_block_put(el_mempool *p, el_block *b)
{
    if (b->cls == EL_MEM_LARGE) {
        el_ext_free(p, b);
        return;
    }
    b->next = p->free[b->cls];
    p->free[b->cls] = b;
}

/* Moves blocks freed on other threads back to the free lists. */
static void el_mempool_drain(el_mempool *p)
{
    pthread_mutex_lock(&p->mu);
    el_block *b = p->remote;
    p->out -= p->nremote;
    p->remote = NULL;
    p->nremote = 0;
    pthread_mutex_unlock(&p->mu);
    while (b) {
        el_block *n = b->next;
        p->used_bytes -= b->size;
        el_block_put(p, b);
        b = n;
    }
}

void el_mempool_close(el_mempool *p)
{
    if (!p) return;
    el_mempool_drain(p);
    memset(p->free, 0, sizeof p->free); /* small blocks go with the slabs */
    for (el_chunk *c = p->chunks, *n; c; c = n) {
        n = c->next;
        if (!c->live) el_chunk_unlink(p, c);
    }
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    bool last = p->out == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) el_mempool_destroy(p);
}

el_status el_mempool_reserve(el_mempool *p)
{
    bool ok = el_slab_room(p, 0);
    if (ok && !p->chunks) {
        el_block *b = el_ext_alloc(p, EL_MEM_LARGE_MIN);
        if (b) el_ext_free(p, b);
        ok = b != NULL;
    }
    return ok ? EL_OK : el_error(EL_ERR_NOMEM, "out of memory reserving a memory pool's address space");
}

el_mempool *el_mempool_current(void) { return el_mem_cur; }

el_mempool *el_mempool_set_current(el_mempool *p)
{
    el_mempool *prev = el_mem_cur;
    el_mem_cur = p;
    if (p) el_mempool_drain(p);
    return prev;
}

void el_mempool_end_run(el_mempool *p)
{
    if (!p) return;
    for (el_chunk *c = p->chunks, *n; c; c = n) {
        n = c->next;
        if (c->used) {
            c->used = 0;
            c->idle = 0;
        } else if (!c->live && ++c->idle >= EL_MEMPOOL_IDLE_RUNS) {
            el_chunk_unlink(p, c);
        }
    }
}

size_t el_mempool_heap_allocs(const el_mempool *p) { return p ? p->heap_allocs : 0; }

void el_mempool_get_stats(const el_mempool *p, el_mempool_stats *st)
{
    *st = (el_mempool_stats){0};
    if (!p) return;
    st->heap_allocs = p->heap_allocs;
    st->held = p->held;
    st->held_peak = p->held_peak;
    st->used = p->used_bytes;
    st->used_peak = p->used_peak;
}

void *el_mem_alloc(size_t bytes)
{
    el_mempool *p = el_mem_cur;
    size_t size;
    int cls = el_mem_class(bytes, &size);
    if (!p || cls < 0) {
        if (cls < 0) size = (bytes + EL_MEM_ALIGN - 1) / EL_MEM_ALIGN * EL_MEM_ALIGN;
        el_block *b = el_block_new(size);
        if (!b) return NULL;
        b->pool = NULL;
        return (char *)b + EL_MEM_ALIGN;
    }
    if (atomic_load_explicit(&p->nremote, memory_order_relaxed) && (bytes >= EL_MEM_LARGE_MIN || !p->free[cls]))
        el_mempool_drain(p); /* a pool that is never made current again (a worker's) */
    if (bytes >= EL_MEM_LARGE_MIN) {
        size = (bytes + EL_MEM_ALIGN - 1) / EL_MEM_ALIGN * EL_MEM_ALIGN;
        el_block *b = el_ext_alloc(p, size);
        if (!b) return NULL;
        p->out++;
        p->used_bytes += b->size;
        if (p->used_bytes > p->used_peak) p->used_peak = p->used_bytes;
        return (char *)b + EL_MEM_ALIGN;
    }
    el_block *b = p->free[cls];
    if (b) {
        p->free[cls] = b->next;
    } else {
        b = el_slab_block(p, size);
        if (!b) return NULL;
        b->pool = p;
        b->cls = (uint32_t)cls;
        p->held += size;
        if (p->held > p->held_peak) p->held_peak = p->held;
    }
    p->out++;
    p->used_bytes += b->size;
    if (p->used_bytes > p->used_peak) p->used_peak = p->used_bytes;
    return (char *)b + EL_MEM_ALIGN;
}

void el_mem_free(void *ptr)
{
    if (!ptr) return;
    el_block *b = el_block_of(ptr);
    el_mempool *p = b->pool;
    if (!p) {
        free(b);
        return;
    }
    if (p == el_mem_cur) {
        p->out--;
        p->used_bytes -= b->size; /* before a merge changes it */
        el_block_put(p, b);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (!p->closed) {
        b->next = p->remote;
        p->remote = b;
        p->nremote++;
        pthread_mutex_unlock(&p->mu);
        return;
    }
    if (b->cls == EL_MEM_LARGE) {
        el_chunk *c = b->chunk;
        el_ext_free(p, b);
        if (!c->live) el_chunk_unlink(p, c);
    } /* a small block stays in its slab */
    bool last = --p->out == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) el_mempool_destroy(p);
}

void *el_mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = el_mem_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

size_t el_mem_size(const void *ptr) { return el_block_of(ptr)->size; }

void *el_mem_realloc(void *ptr, size_t bytes)
{
    if (!ptr) return el_mem_alloc(bytes);
    size_t have = el_mem_size(ptr);
    if (bytes <= have) return ptr;
    void *n = el_mem_alloc(bytes);
    if (!n) return NULL;
    memcpy(n, ptr, have);
    el_mem_free(ptr);
    return n;
}
