/* TopKV2 / TopK: values and int32 indices over the last dimension, equal
 * values by lower index first. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void el_topk_run(const el_tensor *x, int32_t k, el_status want_status, el_tensor out[2])
{
    el_tensor in[2] = {*x, el_test_i32(0, NULL, &k)};
    el_test_node tn;
    el_test_node_init(&tn, "TopKV2");
    el_test_attr_bool(&tn, "sorted", true);
    assert_int_equal(el_test_run(&tn, 2, in, 2, out), want_status);
    el_tensor_release(&in[1]);
}

static void el_assert_i32(const el_tensor *t, const int32_t *want, int64_t n)
{
    assert_int_equal(t->dtype, EL_DT_INT32);
    assert_int_equal(el_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        if (((int32_t *)t->data)[i] != want[i])
            fail_msg("index %lld: got %d, want %d", (long long)i, ((int32_t *)t->data)[i], want[i]);
}

static void test_basic_and_ties(void **state)
{
    (void)state;
    int64_t d[2] = {2, 5};
    float v[10] = {1, 3, 2, 3, 0, /* row 2 */ -1, -1, 5, -1, 4};
    el_tensor x = el_test_f32(2, d, v), out[2];
    el_topk_run(&x, 2, EL_OK, out);
    int64_t od[2] = {2, 2};
    el_test_assert_shape(&out[0], 2, od);
    float wv[4] = {3, 3, 5, 4};
    int32_t wi[4] = {1, 3, 2, 4};
    el_test_assert_f32(&out[0], wv, 4, 0);
    el_assert_i32(&out[1], wi, 4);
    el_test_release_all(2, out);

    /* k = n: a full sort, ties in index order. */
    el_topk_run(&x, 5, EL_OK, out);
    float wv5[10] = {3, 3, 2, 1, 0, 5, 4, -1, -1, -1};
    int32_t wi5[10] = {1, 3, 2, 0, 4, 2, 4, 0, 1, 3};
    el_test_assert_f32(&out[0], wv5, 10, 0);
    el_assert_i32(&out[1], wi5, 10);
    el_test_release_all(2, out);

    /* k = 0: empty last dimension. */
    el_topk_run(&x, 0, EL_OK, out);
    int64_t od0[2] = {2, 0};
    el_test_assert_shape(&out[0], 2, od0);
    el_test_assert_shape(&out[1], 2, od0);
    el_test_release_all(2, out);

    /* k > n, k < 0. */
    el_topk_run(&x, 6, EL_ERR_RUNTIME, out);
    assert_non_null(strstr(el_last_error(), "at least k"));
    el_test_release_all(2, out);
    el_topk_run(&x, -1, EL_ERR_RUNTIME, out);
    el_test_release_all(2, out);
    el_tensor_release(&x);

    /* A scalar input has no last dimension. */
    float one = 1;
    el_tensor s = el_test_f32(0, NULL, &one);
    el_topk_run(&s, 1, EL_ERR_RUNTIME, out);
    el_test_release_all(2, out);
    el_tensor_release(&s);
}

static void test_int32_and_topk_v1(void **state)
{
    (void)state;
    int64_t d[1] = {6};
    int32_t v[6] = {4, -7, 4, 9, 4, 0};
    el_tensor x = el_test_i32(1, d, v), out[2];
    el_test_node tn;
    el_test_node_init(&tn, "TopK");
    el_test_attr_int(&tn, "k", 3);
    assert_int_equal(el_test_run(&tn, 1, &x, 2, out), EL_OK);
    int32_t wv[3] = {9, 4, 4}, wi[3] = {3, 0, 2};
    el_assert_i32(&out[0], wv, 3);
    el_assert_i32(&out[1], wi, 3);
    el_test_release_all(2, out);
    el_tensor_release(&x);
}

static void test_random_vs_stable_sort(void **state)
{
    (void)state;
    enum { R = 3, N = 257 };
    int64_t d[2] = {R, N};
    el_tensor x = el_test_f32(2, d, NULL);
    float *v = x.data;
    uint32_t r = 99;
    for (int i = 0; i < R * N; i++) {
        r = r * 1664525u + 1013904223u;
        v[i] = (float)((r >> 12) % 23) - 11.0f; /* many ties */
    }
    const int ks[4] = {1, 17, 100, N};
    for (int t = 0; t < 4; t++) {
        int k = ks[t];
        el_tensor out[2];
        el_topk_run(&x, k, EL_OK, out);
        for (int row = 0; row < R; row++) {
            /* Stable selection: repeatedly the largest remaining value,
             * first occurrence. */
            bool used[N] = {false};
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < N; i++)
                    if (!used[i] && (best < 0 || v[row * N + i] > v[row * N + best])) best = i;
                used[best] = true;
                assert_int_equal(((int32_t *)out[1].data)[row * k + j], best);
                assert_true(((float *)out[0].data)[row * k + j] == v[row * N + best]);
            }
        }
        el_test_release_all(2, out);
    }
    el_tensor_release(&x);
}

static const float *el_sort_vals;
/* TF's order: greater value first, equal values (+0.0 == -0.0) by lower index. */
static int el_cmp_desc(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    float x = el_sort_vals[a], y = el_sort_vals[b];
    if (x > y) return -1;
    if (x < y) return 1;
    return (a > b) - (a < b);
}

/* Long float rows with k from n down to n/9 (the radix sort's range and
 * just outside it): ties, both zeros, infinities, subnormals; against
 * qsort with TF's comparator. A row with a NaN still gives a permutation
 * whose values are the inputs at its indices. */
static void test_long_rows_vs_sort(void **state)
{
    (void)state;
    uint32_t r = 4242;
    for (int it = 0; it < 60; it++) {
        r = r * 1664525u + 1013904223u;
        const int n = 1 + (int)((r >> 8) % 5000);
        const int ks[4] = {n, n / 2 + 1, n / 8 + 1, n / 9 + 1};
        const int k = ks[it % 4];
        int64_t d[2] = {2, n};
        el_tensor x = el_test_f32(2, d, NULL);
        float *v = x.data;
        for (int i = 0; i < 2 * n; i++) {
            r = r * 1664525u + 1013904223u;
            uint32_t q = (r >> 8) % 40;
            v[i] = q == 0 ? -0.0f : q == 1 ? INFINITY : q == 2 ? -INFINITY : q == 3 ? 1e-42f : q == 4 ? -1e-42f
                 : it % 3 == 0 ? (float)(r >> 8) * 1e-3f : (float)q - 20.0f;
        }
        const bool with_nan = it % 5 == 4;
        if (with_nan) v[n + n / 2] = NAN; /* second row */
        el_tensor out[2];
        el_topk_run(&x, k, EL_OK, out);
        int32_t *order = malloc(sizeof(int32_t) * (size_t)n);
        for (int row = 0; row < 2; row++) {
            const float *rv = v + row * n;
            const int32_t *gi = (const int32_t *)out[1].data + row * k;
            const float *gv = (const float *)out[0].data + row * k;
            if (row == 1 && with_nan) {
                char *seen = calloc((size_t)n, 1);
                for (int j = 0; j < k; j++) {
                    assert_true(gi[j] >= 0 && gi[j] < n && !seen[gi[j]]);
                    seen[gi[j]] = 1;
                    assert_memory_equal(&gv[j], &rv[gi[j]], sizeof(float));
                }
                free(seen);
                continue;
            }
            for (int i = 0; i < n; i++) order[i] = i;
            el_sort_vals = rv;
            qsort(order, (size_t)n, sizeof *order, el_cmp_desc);
            for (int j = 0; j < k; j++) {
                if (gi[j] != order[j]) fail_msg("case %d row %d pos %d: index %d, want %d", it, row, j, gi[j], order[j]);
                assert_memory_equal(&gv[j], &rv[order[j]], sizeof(float));
            }
        }
        free(order);
        el_test_release_all(2, out);
        el_tensor_release(&x);
    }
}

/* Small k of long rows (the heap path, which skips blocks holding
 * nothing above its root): sparse peaks on zeros as in a detection
 * heatmap, runs of equal values across block boundaries, both zeros and a
 * NaN that must never enter; against qsort with TF's comparator (the NaN
 * row: against the same row without its NaN, which TF's ties make equal). */
static void test_small_k_long_rows_vs_sort(void **state)
{
    (void)state;
    uint32_t r = 777;
    for (int it = 0; it < 48; it++) {
        r = r * 1664525u + 1013904223u;
        const int n = 1 + (int)((r >> 8) % 9000);
        const int ks[4] = {1, 7, 100, 33};
        int k = ks[it % 4];
        if (k > n) k = n;
        int64_t d[2] = {1, n};
        el_tensor x = el_test_f32(2, d, NULL);
        float *v = x.data;
        for (int i = 0; i < n; i++) {
            r = r * 1664525u + 1013904223u;
            uint32_t q = (r >> 8) % 64;
            v[i] = q < 50 ? (q & 1 ? -0.0f : 0.0f) : it % 2 ? (float)(q - 50) * 0.25f : (float)(r >> 9) * 1e-6f;
        }
        if (it % 3 == 2)
            for (int i = n / 3; i < n / 3 + 70 && i < n; i++) v[i] = 3.0f; /* a run of ties over blocks */
        float *clean = malloc(sizeof(float) * (size_t)n);
        memcpy(clean, v, sizeof(float) * (size_t)n);
        if (it % 4 == 3 && n > 1) v[n - 1] = NAN;
        el_tensor out[2];
        el_topk_run(&x, k, EL_OK, out);
        int32_t *order = malloc(sizeof(int32_t) * (size_t)n);
        for (int i = 0; i < n; i++) order[i] = i;
        el_sort_vals = clean;
        qsort(order, (size_t)n, sizeof *order, el_cmp_desc);
        const int32_t *gi = out[1].data;
        const float *gv = out[0].data;
        for (int j = 0; j < k; j++) {
            if (gi[j] != order[j]) fail_msg("case %d (n %d, k %d) pos %d: index %d, want %d", it, n, k, j, gi[j], order[j]);
            assert_memory_equal(&gv[j], &v[order[j]], sizeof(float));
        }
        free(order);
        free(clean);
        el_test_release_all(2, out);
        el_tensor_release(&x);
    }
}

/* EL_TOPK_PREFIX_ATTR (graph/topk_prefix.c): the first p entries of each
 * row are the kernel's without the attr, bit for bit; the rest are the
 * row's other indices in ascending order with their values; a row holding
 * a NaN is the kernel's whole. Rows: descending runs (the OD API's
 * concatenated per-class selections), ties across runs, both zeros,
 * infinities, random values, a NaN; float, double and int32; k = n and
 * k < n; p from 1 to k - 1. */
static void test_prefix_attr(void **state)
{
    (void)state;
    uint32_t r = 31337;
    for (int it = 0; it < 40; it++) {
        const el_dtype dt = it % 5 == 3 ? EL_DT_DOUBLE : it % 5 == 4 ? EL_DT_INT32 : EL_DT_FLOAT;
        r = r * 1664525u + 1013904223u;
        const int n = 2 + (int)((r >> 8) % 9000), rows = 2;
        const int k = it % 2 ? n : n / 2 + 1;
        const int ps[4] = {1, 7, 100, k - 1};
        int p = ps[(it / 2) % 4];
        if (p >= k) p = k - 1;
        if (p < 1) continue;
        int64_t d[2] = {rows, n};
        el_tensor x;
        assert_int_equal(el_tensor_alloc(&x, dt, 2, d), EL_OK);
        double run = 0;
        for (int i = 0; i < rows * n; i++) {
            r = r * 1664525u + 1013904223u;
            const uint32_t q = (r >> 8) % 100;
            double v;
            if (it % 4 < 2) { /* descending runs of ~100, restarting high */
                run = i % 97 == 0 ? (double)(q % 7) : run - (double)(q % 3) * 0.125;
                v = run;
            } else {
                v = q == 0 ? -0.0 : q == 1 ? INFINITY : q == 2 ? -INFINITY : (double)(q % 23) - 11.0;
            }
            if (dt == EL_DT_FLOAT) ((float *)x.data)[i] = (float)v;
            else if (dt == EL_DT_DOUBLE) ((double *)x.data)[i] = v;
            else ((int32_t *)x.data)[i] = isfinite(v) ? (int32_t)(v * 8) : v > 0 ? INT32_MAX : INT32_MIN;
        }
        const bool nan_row = dt != EL_DT_INT32 && it % 3 == 1;
        if (nan_row) {
            if (dt == EL_DT_FLOAT) ((float *)x.data)[n + n / 3] = NAN;
            else ((double *)x.data)[n + n / 3] = NAN;
        }
        int32_t kk = k;
        el_tensor in[2] = {x, el_test_i32(0, NULL, &kk)}, want[2], got[2];
        el_test_node tn;
        el_test_node_init(&tn, "TopKV2");
        assert_int_equal(el_test_run(&tn, 2, in, 2, want), EL_OK);
        el_test_node_init(&tn, "TopKV2");
        el_test_attr_int(&tn, "_el_topk_prefix", p);
        assert_int_equal(el_test_run(&tn, 2, in, 2, got), EL_OK);
        el_test_assert_shape(&got[0], 2, want[0].dims);
        el_test_assert_shape(&got[1], 2, want[1].dims);
        const size_t es = el_dtype_size(dt);
        char *used = malloc((size_t)n);
        for (int row = 0; row < rows; row++) {
            const int32_t *wi = (const int32_t *)want[1].data + row * k, *gi = (const int32_t *)got[1].data + row * k;
            const char *gv = (const char *)got[0].data + (size_t)(row * k) * es;
            const char *wv = (const char *)want[0].data + (size_t)(row * k) * es;
            const char *xv = (const char *)x.data + (size_t)(row * n) * es;
            const int whole = nan_row && row == 1 ? k : p;
            if (memcmp(gi, wi, sizeof *gi * (size_t)whole) || memcmp(gv, wv, es * (size_t)whole))
                fail_msg("case %d (n %d, k %d, p %d) row %d: the first %d differ", it, n, k, p, row, whole);
            if (whole == k) continue;
            memset(used, 0, (size_t)n);
            for (int j = 0; j < p; j++) used[wi[j]] = 1;
            for (int j = p, i = 0; j < k; j++, i++) {
                while (used[i]) i++;
                if (gi[j] != i) fail_msg("case %d row %d pos %d: index %d, want %d", it, row, j, gi[j], i);
                assert_memory_equal(gv + (size_t)j * es, xv + (size_t)i * es, es);
            }
        }
        free(used);
        el_test_release_all(2, want);
        el_test_release_all(2, got);
        el_tensor_release(&in[1]);
        el_tensor_release(&x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_ties),
        cmocka_unit_test(test_int32_and_topk_v1),
        cmocka_unit_test(test_random_vs_stable_sort),
        cmocka_unit_test(test_long_rows_vs_sort),
        cmocka_unit_test(test_small_k_long_rows_vs_sort),
        cmocka_unit_test(test_prefix_attr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
