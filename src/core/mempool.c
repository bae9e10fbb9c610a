/* Size-class free lists per session (see mempool.h). */
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

/* Sits in the 64 bytes before every block, keeping the data aligned. */
typedef struct el_block {
    el_mempool *pool;       /* NULL: a plain heap block */
    struct el_block *next;  /* on a free list */
    size_t size;            /* usable bytes */
    uint32_t cls;
} el_block;
_Static_assert(sizeof(el_block) <= EL_MEM_ALIGN, "block header fits its alignment");

struct el_mempool {
    el_block *free[EL_MEM_CLASSES];
    uint32_t idle[EL_MEM_CLASSES];   /* runs since the class was last used */
    uint8_t used[EL_MEM_CLASSES];    /* used in the current run */
    size_t out;                      /* blocks handed out and not back */
    size_t heap_allocs;
    pthread_mutex_t mu;              /* guards remote, closed; nremote is written under it */
    el_block *remote;                /* freed on threads where p was not current */
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

static void el_mempool_destroy(el_mempool *p)
{
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

static void el_free_list(el_block *b)
{
    while (b) {
        el_block *n = b->next;
        free(b);
        b = n;
    }
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
        b->next = p->free[b->cls];
        p->free[b->cls] = b;
        b = n;
    }
}

void el_mempool_close(el_mempool *p)
{
    if (!p) return;
    el_mempool_drain(p);
    for (int c = 0; c < EL_MEM_CLASSES; c++) {
        el_free_list(p->free[c]);
        p->free[c] = NULL;
    }
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    bool last = p->out == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) el_mempool_destroy(p);
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
    for (int c = 0; c < EL_MEM_CLASSES; c++) {
        if (p->used[c]) {
            p->used[c] = 0;
            p->idle[c] = 0;
        } else if (p->free[c] && ++p->idle[c] >= EL_MEMPOOL_IDLE_RUNS) {
            el_free_list(p->free[c]);
            p->free[c] = NULL;
        }
    }
}

size_t el_mempool_heap_allocs(const el_mempool *p) { return p ? p->heap_allocs : 0; }

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
    el_block *b = p->free[cls];
    if (!b && atomic_load_explicit(&p->nremote, memory_order_relaxed)) {
        el_mempool_drain(p); /* a pool that is never made current again (a worker's) */
        b = p->free[cls];
    }
    if (b) {
        p->free[cls] = b->next;
    } else {
        b = el_block_new(size);
        if (!b) return NULL;
        b->pool = p;
        b->cls = (uint32_t)cls;
        p->heap_allocs++;
    }
    p->used[cls] = 1;
    p->out++;
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
        b->next = p->free[b->cls];
        p->free[b->cls] = b;
        p->out--;
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
    free(b);
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
