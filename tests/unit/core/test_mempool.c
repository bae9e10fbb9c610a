/* The per-session memory pool: reuse by size class, alignment, frees from
 * other threads, blocks outliving their pool, small blocks from slabs,
 * trimming of idle chunks;
 * large blocks: sharing memory across sizes, merging, best fit, the bytes
 * held staying at the largest live set. */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/mempool.h"
#include "edgelens/tensor.h"
#include "testutil.h"

static void test_heap_without_pool(void **state)
{
    (void)state;
    assert_null(el_mempool_current());
    void *p = el_mem_alloc(100);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_true(el_mem_size(p) >= 100);
    memset(p, 1, 100);
    el_mem_free(p);
    el_mem_free(NULL);
}

static void test_reuse_by_class(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    void *a = el_mem_alloc(1000), *b = el_mem_alloc(100000);
    assert_int_equal((uintptr_t)a % 64, 0);
    assert_int_equal((uintptr_t)b % 64, 0);
    assert_int_equal(el_mempool_heap_allocs(mp), 2);
    el_mem_free(a);
    el_mem_free(b);
    /* Sizes within the same class reuse the blocks. */
    void *c = el_mem_alloc(1001), *d = el_mem_alloc(99000);
    assert_ptr_equal(c, a);
    assert_ptr_equal(d, b);
    assert_int_equal(el_mempool_heap_allocs(mp), 2);
    /* Every size up to a few MB fits its block. */
    for (size_t n = 1; n < (4u << 20); n = n * 5 / 4 + 1) {
        unsigned char *x = el_mem_alloc(n);
        assert_non_null(x);
        assert_true(el_mem_size(x) >= n);
        assert_true(el_mem_size(x) <= n + n / 4 + 64);
        x[0] = 1;
        x[n - 1] = 2;
        el_mem_free(x);
    }
    el_mem_free(c);
    el_mem_free(d);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

static void test_realloc_calloc(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    int *v = el_mem_calloc(10, sizeof *v);
    for (int i = 0; i < 10; i++) assert_int_equal(v[i], 0);
    for (int i = 0; i < 10; i++) v[i] = i;
    v = el_mem_realloc(v, 100000 * sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < 10; i++) assert_int_equal(v[i], i);
    el_mem_free(v);
    assert_null(el_mem_calloc(SIZE_MAX / 2, 4));
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

static void *el_free_on_thread(void *p)
{
    el_mem_free(p);
    return NULL;
}

/* A block freed on another thread comes back to the pool at its next run;
 * blocks (and tensors) may outlive the pool. */
static void test_other_thread_and_close(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    void *a = el_mem_alloc(5000);
    el_tensor t;
    int64_t dims[2] = {3, 300};
    assert_int_equal(el_tensor_alloc(&t, EL_DT_FLOAT, 2, dims), EL_OK);
    el_mempool_set_current(prev);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, el_free_on_thread, a), 0);
    pthread_join(th, NULL);
    prev = el_mempool_set_current(mp); /* takes a back */
    void *b = el_mem_alloc(5000);
    assert_ptr_equal(a, b);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
    /* The pool is closed with two blocks out: both still usable, then freed. */
    memset(b, 0, 5000);
    ((float *)t.data)[899] = 1.0f;
    el_mem_free(b);
    el_tensor_release(&t);
}

static void test_idle_chunks_trimmed(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    el_mem_free(el_mem_alloc(70000));
    el_mempool_end_run(mp);
    for (int r = 0; r < EL_MEMPOOL_IDLE_RUNS; r++) {
        el_mem_free(el_mem_alloc(64));
        el_mempool_end_run(mp);
    }
    size_t before = el_mempool_heap_allocs(mp);
    el_mem_free(el_mem_alloc(64));    /* still kept */
    assert_int_equal(el_mempool_heap_allocs(mp), before);
    el_mem_free(el_mem_alloc(70000)); /* trimmed: from the heap again */
    assert_int_equal(el_mempool_heap_allocs(mp), before + 1);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

/* Small blocks come from slabs: classes growing in later runs (at 2
 * threads each thread's pool needs a varying number) make no heap call
 * until the slab is full, and a full slab is followed by a larger one. */
static void test_small_blocks_from_slabs(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    static void *b[3000];
    size_t first = 0;
    for (int run = 1; run <= 3; run++) {
        int n = run * 1000; /* each run needs more of every class */
        for (int i = 0; i < n; i++) {
            b[i] = el_mem_alloc((size_t)(i % 60) * 64 + 1);
            assert_non_null(b[i]);
            assert_int_equal((uintptr_t)b[i] % 64, 0);
            memset(b[i], run, el_mem_size(b[i]));
        }
        for (int i = 0; i < n; i++) el_mem_free(b[i]);
        el_mempool_end_run(mp);
        if (run == 1) first = el_mempool_heap_allocs(mp);
    }
    assert_int_equal(first, 1);                         /* one slab */
    size_t grown = el_mempool_heap_allocs(mp);
    assert_true(grown >= 2 && grown <= 3);              /* 3000 blocks averaging ~1.9 KB: a second slab, twice the first */
    for (int i = 0; i < 3000; i++) b[i] = el_mem_alloc((size_t)(i % 60) * 64 + 1);
    assert_int_equal(el_mempool_heap_allocs(mp), grown); /* all reused */
    for (int i = 0; i < 3000; i++) el_mem_free(b[i]);
    /* A pool that reserved its address space serves its first blocks
     * without a heap call. */
    el_mempool *r;
    assert_int_equal(el_mempool_create(&r), EL_OK);
    assert_int_equal(el_mempool_reserve(r), EL_OK);
    size_t reserved = el_mempool_heap_allocs(r);
    el_mempool_set_current(r);
    el_mem_free(el_mem_alloc(100));
    el_mem_free(el_mem_alloc(100000));
    assert_int_equal(el_mempool_heap_allocs(r), reserved);
    el_mempool_set_current(prev);
    el_mempool_close(r);
    el_mempool_close(mp);
}

#define KB ((size_t)1 << 10)

static el_mempool_stats el_stats(const el_mempool *mp)
{
    el_mempool_stats st;
    el_mempool_get_stats(mp, &st);
    return st;
}

/* Large blocks of sizes never live together take the same memory. */
static void test_large_share_across_sizes(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    void *a = el_mem_alloc(200 * KB);
    assert_int_equal((uintptr_t)a % 64, 0);
    el_mem_free(a);
    void *b = el_mem_alloc(240 * KB);
    assert_ptr_equal(b, a);
    el_mem_free(b);
    void *c = el_mem_alloc(100 * KB);
    assert_ptr_equal(c, a);
    el_mem_free(c);
    el_mempool_stats st = el_stats(mp);
    assert_int_equal(st.heap_allocs, 1); /* one chunk */
    assert_int_equal(st.held_peak, 240 * KB + 64);
    assert_int_equal(st.used_peak, 240 * KB);
    assert_int_equal(st.used, 0);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

/* Free neighbours merge; the smallest hole that fits is taken. */
static void test_large_merge_best_fit(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    char *x = el_mem_alloc(100 * KB), *y = el_mem_alloc(150 * KB), *z = el_mem_alloc(250 * KB);
    char *u = el_mem_alloc(120 * KB), *v = el_mem_alloc(8 * KB);
    assert_ptr_equal(y, x + 100 * KB + 64); /* blocks under 256 KB: one side */
    el_mem_free(x);
    el_mem_free(y); /* x and y: one hole of 250 KB + 64 */
    el_mem_free(u); /* a hole of 120 KB between z and v */
    char *w = el_mem_alloc(110 * KB);
    assert_ptr_equal(w, u);
    char *t = el_mem_alloc(250 * KB + 64);
    assert_ptr_equal(t, x);
    memset(t, 1, 250 * KB + 64);
    memset(w, 2, 110 * KB);
    el_mempool_stats st = el_stats(mp);
    assert_int_equal(st.held_peak, (100 + 150 + 250 + 120 + 8) * KB + 5 * 64);
    el_mem_free(z);
    el_mem_free(t);
    el_mem_free(w);
    el_mem_free(v);
    assert_int_equal(el_stats(mp).used, 0);
    /* Everything merged back: the next block starts at the chunk's base. */
    char *all = el_mem_alloc(250 * KB);
    assert_ptr_equal(all, x);
    el_mem_free(all);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

/* Free extents are kept in bins by size (sizes within 1/16 of each other
 * share one); the pick is still the smallest hole that fits, the lowest
 * address among equal ones: a hole of the request's own bin that is too
 * small is passed over for one of the same bin that fits, before any larger
 * bin; with no fit in its bin, the smallest of the next non-empty bin, not
 * the first listed. */
static void test_large_best_fit_bins(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    /* Holes between 4 KB spacers, in this address order: 19 KB twice and
     * 18 KB + 256 in one bin (18-19 KB), 49 and 50 KB in one bin (48-50 KB;
     * 50 freed last, so listed first). */
    static const size_t hole_bytes[] = {49 * KB, 19 * KB, 18 * KB + 256, 100 * KB, 50 * KB, 19 * KB, 33 * KB};
    enum { NH = sizeof hole_bytes / sizeof hole_bytes[0] };
    char *hole[NH], *spacer[NH];
    for (int i = 0; i < NH; i++) {
        hole[i] = el_mem_alloc(hole_bytes[i]);
        spacer[i] = el_mem_alloc(4 * KB);
    }
    for (int i = 1; i < NH; i++) assert_true(hole[i] > hole[i - 1]); /* one side, in order */
    for (int i = 0; i < NH; i++) el_mem_free(hole[i]);
    char *a = el_mem_alloc(18 * KB + 512); /* 18 KB + 256 is too small: the lower of the two 19s */
    assert_ptr_equal(a, hole[1]);
    char *b = el_mem_alloc(18 * KB + 512); /* the other 19 */
    assert_ptr_equal(b, hole[5]);
    char *c = el_mem_alloc(18 * KB + 512); /* its bin has only the small one left: 33 from a later bin */
    assert_ptr_equal(c, hole[6]);
    char *d = el_mem_alloc(40 * KB); /* nothing from 40 to 48 KB: 49, the smaller of the next bin */
    assert_ptr_equal(d, hole[0]);
    char *e = el_mem_alloc(16 * KB); /* its bin is empty: 18 KB + 256 */
    assert_ptr_equal(e, hole[2]);
    char *f = el_mem_alloc(70 * KB); /* 50 too small: 100 */
    assert_ptr_equal(f, hole[3]);
    char *g = el_mem_alloc(50 * KB);
    assert_ptr_equal(g, hole[4]);
    char *h = el_mem_alloc(60 * KB); /* no hole left: from the side */
    assert_true(h > spacer[NH - 1]);
    el_mem_free(a), el_mem_free(b), el_mem_free(c), el_mem_free(d), el_mem_free(e), el_mem_free(f), el_mem_free(g);
    el_mem_free(h);
    for (int i = 0; i < NH; i++) el_mem_free(spacer[i]);
    assert_int_equal(el_stats(mp).used, 0);
    char *all = el_mem_alloc(250 * KB); /* everything merged back */
    assert_ptr_equal(all, hole[0]);
    el_mem_free(all);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

/* A chain of layers (each output allocated before its input is freed), run
 * the same way several times: no heap call after the first run, and the
 * bytes held bounded by the largest block of each side. */
static void test_large_chain_steady(void **state)
{
    (void)state;
    static const size_t sizes[] = {2880, 1440, 1440, 720, 720, 360, 360, 180, 180, 90, 90, 45, 4500, 6};
    const int n = (int)(sizeof sizes / sizeof *sizes);
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    size_t peak_pair = 0;
    for (int i = 0; i + 1 < n; i++)
        if ((sizes[i] + sizes[i + 1]) * KB > peak_pair) peak_pair = (sizes[i] + sizes[i + 1]) * KB;
    size_t allocs_after_first = 0;
    for (int run = 0; run < 4; run++) {
        void *in = el_mem_alloc(sizes[0] * KB);
        for (int i = 1; i < n; i++) {
            void *out = el_mem_alloc(sizes[i] * KB);
            assert_non_null(out);
            memset(out, i, sizes[i] * KB);
            el_mem_free(in);
            in = out;
        }
        el_mem_free(in);
        el_mempool_end_run(mp);
        if (run == 0) allocs_after_first = el_stats(mp).heap_allocs;
    }
    el_mempool_stats st = el_stats(mp);
    assert_int_equal(st.heap_allocs, allocs_after_first);
    assert_int_equal(st.used_peak, peak_pair);
    /* Each big output goes to the other side of the chunk from its input:
     * each side holds at most its own largest block (2880 and 4500 + 45 KB
     * here), never two neighbours stacked. */
    assert_true(st.held_peak <= (2880 + 4500 + 45) * KB + 3 * 64);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
}

/* A large block freed on another thread comes back; one outliving its
 * closed pool is still usable and freed with the pool's last chunk. */
static void test_large_other_thread_and_close(void **state)
{
    (void)state;
    el_mempool *mp;
    assert_int_equal(el_mempool_create(&mp), EL_OK);
    el_mempool *prev = el_mempool_set_current(mp);
    void *a = el_mem_alloc(300 * KB), *keep = el_mem_alloc(500 * KB);
    el_mempool_set_current(prev);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, el_free_on_thread, a), 0);
    pthread_join(th, NULL);
    prev = el_mempool_set_current(mp); /* takes a back */
    void *b = el_mem_alloc(300 * KB); /* big: the other side from `keep` */
    assert_ptr_equal(a, b);
    el_mem_free(b);
    el_mempool_set_current(prev);
    el_mempool_close(mp);
    memset(keep, 3, 500 * KB);
    assert_int_equal(pthread_create(&th, NULL, el_free_on_thread, keep), 0);
    pthread_join(th, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_without_pool),
        cmocka_unit_test(test_reuse_by_class),
        cmocka_unit_test(test_realloc_calloc),
        cmocka_unit_test(test_other_thread_and_close),
        cmocka_unit_test(test_idle_chunks_trimmed),
        cmocka_unit_test(test_small_blocks_from_slabs),
        cmocka_unit_test(test_large_share_across_sizes),
        cmocka_unit_test(test_large_merge_best_fit),
        cmocka_unit_test(test_large_best_fit_bins),
        cmocka_unit_test(test_large_chain_steady),
        cmocka_unit_test(test_large_other_thread_and_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
