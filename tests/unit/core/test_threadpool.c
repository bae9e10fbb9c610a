/* The thread pool: every index exactly once, chunk bounds, inline cases
 * (no pool, one thread, nested calls), the ends threads claim from, many
 * back-to-back jobs (the lost wake-up and stale-claim races), the
 * current-pool slot, idle work, waking sleeping workers ahead of a job. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "testutil.h"

typedef struct el_cover {
    _Atomic int *hits;
    _Atomic int calls;
    int64_t min_len;
    _Atomic int64_t sum;
} el_cover;

static void el_cover_fn(void *ctx, int64_t b, int64_t e)
{
    el_cover *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
    atomic_fetch_add(&c->sum, e - b);
}

static void el_check_cover(el_threadpool *p, int64_t n, int64_t grain)
{
    el_cover c;
    memset(&c, 0, sizeof c);
    c.hits = calloc((size_t)n + 1, sizeof *c.hits);
    assert_non_null(c.hits);
    el_parallel_for(p, n, grain, el_cover_fn, &c);
    for (int64_t i = 0; i < n; i++) assert_int_equal(atomic_load(&c.hits[i]), 1);
    assert_int_equal(atomic_load(&c.sum), n);
    int calls = atomic_load(&c.calls);
    if (n > 0) {
        assert_true(calls >= 1);
        /* No chunk smaller than the grain, unless n itself is. */
        assert_true(calls <= (n + grain - 1) / (grain > 0 ? grain : 1));
    } else {
        assert_int_equal(calls, 0);
    }
    free(c.hits);
}

static void test_cover(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 5; threads++) {
        el_threadpool *p;
        assert_int_equal(el_threadpool_create(threads, &p), EL_OK);
        assert_int_equal(el_threadpool_size(p), threads);
        const int64_t ns[] = {0, 1, 2, 3, 7, 64, 1000, 12345};
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
            for (int64_t grain = 1; grain <= 100; grain *= 10) el_check_cover(p, ns[i], grain);
        el_threadpool_free(p);
    }
    el_check_cover(NULL, 100, 1);
}

typedef struct el_ends {
    int *who;        /* per item: 1 + the thread that ran it */
    int64_t *len;    /* per chunk start: its length */
    _Atomic int wrong_end; /* chunks run by a thread whose claims_back disagrees with its index */
} el_ends;

static void el_ends_fn(void *ctx, int64_t b, int64_t e)
{
    el_ends *d = ctx;
    int t = el_threadpool_thread_index();
    if (el_threadpool_claims_back() != (t % 2 == 1)) atomic_fetch_add(&d->wrong_end, 1);
    d->len[b] = e - b;
    for (int64_t i = b; i < e; i++) d->who[i] = 1 + t;
    /* Long enough for the worker to wake and claim some chunks. */
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

/* Two threads: the caller claims from the front, the worker from the end,
 * so each one's items are contiguous (a prefix and a suffix), and chunks
 * shrink towards the middle, where the claims meet (every chunk at least
 * one item; the first and the second half hold the same number of items,
 * within one, when the chunk count is even). */
static void test_claim_ends(void **state)
{
    (void)state;
    el_threadpool *p;
    assert_int_equal(el_threadpool_create(2, &p), EL_OK);
    assert_false(el_threadpool_claims_back());
    const int64_t ns[] = {8, 26, 38, 75, 1001};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
        const int64_t n = ns[k];
        el_ends d = {.who = calloc((size_t)n, sizeof(int)), .len = calloc((size_t)n, sizeof(int64_t))};
        assert_non_null(d.who);
        assert_non_null(d.len);
        el_parallel_for(p, n, 1, el_ends_fn, &d);
        assert_int_equal(atomic_load(&d.wrong_end), 0);
        int64_t i = 0;
        while (i < n && d.who[i] == 1) i++;
        while (i < n && d.who[i] == 2) i++;
        assert_int_equal(i, n);
        int64_t len[64], half = 0, chunks = 0;
        for (int64_t b = 0; b < n; b += d.len[b]) {
            assert_true(d.len[b] >= 1 && chunks < 64);
            len[chunks++] = d.len[b];
        }
        /* Each half's chunks no longer than the ones nearer its end. */
        for (int64_t c = 0; c + 1 < chunks / 2; c++) assert_true(len[c] + 1 >= len[c + 1]);
        for (int64_t c = chunks - 1; c - 1 >= (chunks + 1) / 2; c--) assert_true(len[c] + 1 >= len[c - 1]);
        if (n >= 8 * chunks) assert_true(len[0] > len[chunks / 2] && len[chunks - 1] > len[(chunks - 1) / 2]);
        for (int64_t c = 0; c < chunks / 2; c++) half += len[c];
        if (chunks % 2 == 0) assert_true(half * 2 >= n - 1 && half * 2 <= n + 1);
        free(d.who);
        free(d.len);
    }
    el_threadpool_free(p);
}

static void el_sum_fn(void *ctx, int64_t b, int64_t e)
{
    _Atomic int64_t *s = ctx;
    int64_t v = 0;
    for (int64_t i = b; i < e; i++) v += i;
    atomic_fetch_add(s, v);
}

/* Thousands of short jobs back to back: a worker still finishing (or
 * waking for) job k must never run a chunk of job k+1 twice or miss it. */
static void test_many_jobs(void **state)
{
    (void)state;
    el_threadpool *p;
    assert_int_equal(el_threadpool_create(3, &p), EL_OK);
    for (int j = 0; j < 20000; j++) {
        _Atomic int64_t s = 0;
        int64_t n = 1 + j % 97;
        el_parallel_for(p, n, 1, el_sum_fn, &s);
        assert_int_equal(atomic_load(&s), n * (n - 1) / 2);
    }
    el_threadpool_free(p);
}

/* A job after the workers went to sleep (past their spin). */
static void test_after_sleep(void **state)
{
    (void)state;
    el_threadpool *p;
    assert_int_equal(el_threadpool_create(2, &p), EL_OK);
    for (int j = 0; j < 3; j++) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        _Atomic int64_t s = 0;
        el_parallel_for(p, 1000, 1, el_sum_fn, &s);
        assert_int_equal(atomic_load(&s), 1000 * 999 / 2);
    }
    el_threadpool_free(p);
}

typedef struct el_nest {
    el_threadpool *p;
    _Atomic int64_t sum;
} el_nest;

static void el_nest_fn(void *ctx, int64_t b, int64_t e)
{
    el_nest *n = ctx;
    for (int64_t i = b; i < e; i++) el_parallel_for(n->p, 10, 1, el_sum_fn, &n->sum);
}

/* A parallel-for inside a chunk runs inline instead of deadlocking. */
static void test_nested(void **state)
{
    (void)state;
    el_nest n;
    assert_int_equal(el_threadpool_create(2, &n.p), EL_OK);
    atomic_store(&n.sum, 0);
    el_parallel_for(n.p, 8, 1, el_nest_fn, &n);
    assert_int_equal(atomic_load(&n.sum), 8 * 45);
    el_threadpool_free(n.p);
}

typedef struct el_wake_ctx {
    el_threadpool *p;
    _Atomic int64_t sum;
} el_wake_ctx;

static void el_wake_fn(void *ctx, int64_t b, int64_t e)
{
    el_wake_ctx *w = ctx;
    el_threadpool_wake(w->p); /* inside a parallel-for: a no-op */
    el_sum_fn(&w->sum, b, e);
}

/* el_threadpool_wake: no pool, one thread, sleeping and spinning workers,
 * inside a chunk; jobs after it (and wakes between thousands of jobs)
 * still run every index once. */
static void test_wake(void **state)
{
    (void)state;
    el_threadpool_wake(NULL);
    for (int threads = 1; threads <= 3; threads++) {
        el_wake_ctx w = {0};
        assert_int_equal(el_threadpool_create(threads, &w.p), EL_OK);
        for (int j = 0; j < 3; j++) {
            struct timespec ts = {0, 5 * 1000 * 1000}; /* past the spin: asleep */
            nanosleep(&ts, NULL);
            el_threadpool_wake(w.p);
            el_threadpool_wake(w.p);
            atomic_store(&w.sum, 0);
            el_parallel_for(w.p, 1000, 1, el_wake_fn, &w);
            assert_int_equal(atomic_load(&w.sum), 1000 * 999 / 2);
        }
        for (int j = 0; j < 5000; j++) {
            if (j % 3 == 0) el_threadpool_wake(w.p);
            atomic_store(&w.sum, 0);
            const int64_t n = 1 + j % 31;
            el_parallel_for(w.p, n, 1, el_wake_fn, &w);
            assert_int_equal(atomic_load(&w.sum), n * (n - 1) / 2);
        }
        el_threadpool_free(w.p);
    }
}

static void test_current_and_defaults(void **state)
{
    (void)state;
    assert_null(el_threadpool_current());
    assert_int_equal(el_threadpool_size(NULL), 1);
    assert_true(el_cpu_count() >= 1);
    el_threadpool *p;
    assert_int_equal(el_threadpool_create(0, &p), EL_OK);
    assert_int_equal(el_threadpool_size(p), el_cpu_count());
    assert_null(el_threadpool_set_current(p));
    assert_ptr_equal(el_threadpool_current(), p);
    assert_ptr_equal(el_threadpool_set_current(NULL), p);
    el_threadpool_free(p);
    assert_int_equal(el_threadpool_create(1000, &p), EL_OK);
    assert_int_equal(el_threadpool_size(p), EL_THREADPOOL_MAX);
    el_threadpool_free(p);
    el_threadpool_free(NULL);
}

/* Idle work (what the executor's second thread runs): taken by a worker
 * while offered, as thread 0 of no pool, also after the worker fell asleep;
 * parallel-fors still cover everything meanwhile; set_idle(NULL) returns
 * only once no worker is inside fn, and nothing runs after. */
typedef struct el_idle {
    el_threadpool *p;
    _Atomic int pieces, left, inside, bad;
} el_idle;

static bool el_idle_fn_test(void *ctx, int worker)
{
    el_idle *w = ctx;
    atomic_fetch_add(&w->inside, 1);
    if (worker < 1 || el_threadpool_thread_index() != 0 || el_threadpool_current() != NULL) atomic_fetch_add(&w->bad, 1);
    bool ran = atomic_fetch_sub(&w->left, 1) > 0;
    if (ran) atomic_fetch_add(&w->pieces, 1);
    else atomic_fetch_add(&w->left, 1);
    if (atomic_load(&w->left) <= 0) el_threadpool_idle_available(w->p, 0);
    atomic_fetch_sub(&w->inside, 1);
    return ran;
}

static void el_idle_offer(el_idle *w, int n)
{
    atomic_store(&w->left, n);
    el_threadpool_idle_available(w->p, n);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&w->left) > 0) {
        el_check_cover(w->p, 1000, 1); /* jobs go on meanwhile */
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 20) fail_msg("idle work not taken: %d left", atomic_load(&w->left));
    }
}

static void test_idle_work(void **state)
{
    (void)state;
    el_idle w;
    memset(&w, 0, sizeof w);
    assert_int_equal(el_threadpool_create(2, &w.p), EL_OK);
    el_threadpool_set_idle(w.p, el_idle_fn_test, &w);
    el_idle_offer(&w, 500);
    /* Past the spin time the worker sleeps: an offer wakes it. */
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    el_idle_offer(&w, 10);
    el_threadpool_set_idle(w.p, NULL, NULL);
    assert_int_equal(atomic_load(&w.inside), 0);
    assert_int_equal(atomic_load(&w.pieces), 510);
    assert_int_equal(atomic_load(&w.bad), 0);
    /* Cleared: offering runs nothing. */
    el_threadpool_idle_available(w.p, 1);
    nanosleep(&nap, NULL);
    el_threadpool_idle_available(w.p, 0);
    assert_int_equal(atomic_load(&w.pieces), 510);
    el_threadpool_free(w.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cover),          cmocka_unit_test(test_claim_ends),
        cmocka_unit_test(test_many_jobs),
        cmocka_unit_test(test_after_sleep),    cmocka_unit_test(test_nested),
        cmocka_unit_test(test_current_and_defaults), cmocka_unit_test(test_idle_work),
        cmocka_unit_test(test_wake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
