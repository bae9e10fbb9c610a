/* The per-session memory pool: reuse by size class, alignment, frees from
 * other threads, blocks outliving their pool, trimming of idle classes. */
#include <pthread.h>
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

static void test_idle_classes_trimmed(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_without_pool),
        cmocka_unit_test(test_reuse_by_class),
        cmocka_unit_test(test_realloc_calloc),
        cmocka_unit_test(test_other_thread_and_close),
        cmocka_unit_test(test_idle_classes_trimmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
