/* No heap allocation per inference in steady state: after warm-up runs, a
 * session runs the detection graphs (aiy, voc, coco) without one call to
 * malloc and friends from edgelens, at 1 and 2 threads.
 *
 * This executable is linked with -Wl,--wrap=malloc,... (tests/CMakeLists.txt),
 * so every call from our static library, and from this file, goes through
 * the counters below; libc's own internal calls are not seen. Works under
 * ASan too: __real_malloc is ASan's interceptor. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "core/threadpool.h"
#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "testutil.h"

static _Atomic long el_allocs;
static _Atomic bool el_counting;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);

/* EL_ALLOC_TRACE=1 prints where each counted call comes from, as an offset
 * for `addr2line -f -e exec_test_alloc`. */
extern char __executable_start;
static int el_trace = -1;

#define el_count()                                                                                        \
    do {                                                                                                  \
        if (atomic_load_explicit(&el_counting, memory_order_relaxed)) {                                   \
            atomic_fetch_add(&el_allocs, 1);                                                              \
            if (el_trace > 0)                                                                             \
                fprintf(stderr, "alloc from 0x%lx\n",                                                    \
                        (unsigned long)((char *)__builtin_return_address(0) - &__executable_start));     \
        }                                                                                                 \
    } while (0)

void *__wrap_malloc(size_t n)
{
    el_count();
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    el_count();
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    el_count();
    return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
    if (p) el_count();
    __real_free(p);
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    el_count();
    return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
    el_count();
    return __real_aligned_alloc(a, n);
}

typedef struct el_model_case {
    const char *name;
    const char *path;   /* NULL: absent */
    int size;           /* input side fed (the graph resizes when it must) */
} el_model_case;

/* Runs `runs` inferences; the last runs-2 are counted. */
static long el_count_runs(const char *pb, int size, int threads, int runs, const el_image *photo, el_precision prec)
{
    el_graph *g;
    if (el_graph_load(pb, &g) != EL_OK) fail_msg("load %s: %s", pb, el_last_error());
    const char *feeds[] = {"image_tensor"};
    const char *fetches[] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};
    el_session_opts o = {.threads = threads, .precision = prec};
    el_session *s;
    if (el_session_create(g, 1, feeds, 4, fetches, &o, &s) != EL_OK) fail_msg("session: %s", el_last_error());
    el_image img = {0};
    if (photo) assert_int_equal(el_image_resize_bilinear(photo, size, size, &img), EL_OK);
    el_tensor in;
    int64_t dims[4] = {1, size, size, 3};
    assert_int_equal(el_tensor_alloc(&in, EL_DT_UINT8, 4, dims), EL_OK);
    uint8_t *px = in.data;
    for (int64_t i = 0; i < (int64_t)size * size * 3; i++)
        px[i] = img.rgb ? img.rgb[i] : (uint8_t)((i * 7 + (i / (size * 3)) * 13) & 255);
    el_image_free(&img);
    long counted = 0;
    for (int r = 0; r < runs; r++) {
        el_tensor out[4];
        atomic_store(&el_allocs, 0);
        atomic_store(&el_counting, r >= 2);
        el_status st = el_session_run(s, &in, out);
        atomic_store(&el_counting, false);
        if (st != EL_OK) fail_msg("run %d: %s", r, el_last_error());
        /* Released between runs, as a caller would: back to the session's pool. */
        for (int k = 0; k < 4; k++) el_tensor_release(&out[k]);
        if (r >= 2) {
            long n = atomic_load(&el_allocs);
            if (n) fprintf(stderr, "%s threads=%d run %d: %ld heap calls\n", pb, threads, r, n);
            counted += n;
        }
    }
    el_tensor_release(&in);
    el_session_free(s);
    el_graph_free(g);
    return counted;
}

static void el_check_model(const el_model_case *m, el_precision prec)
{
    char buf[1024];
    const char *photo_path = el_test_data("darknet/dog.jpg", buf, sizeof buf);
    el_image photo = {0};
    if (photo_path) assert_int_equal(el_image_load(photo_path, &photo), EL_OK);
    for (int threads = 1; threads <= 2; threads++)
        assert_int_equal(el_count_runs(m->path, m->size, threads, 6, photo_path ? &photo : NULL, prec), 0);
    el_image_free(&photo);
}

static char el_aiy[1024], el_voc[1024], el_coco[1024];

static void test_aiy(void **state)
{
    (void)state;
    el_model_case m = {"aiy", el_aiy, 256};
    el_check_model(&m, EL_PRECISION_FP32);
}

static void test_voc(void **state)
{
    (void)state;
    el_model_case m = {"voc", el_voc, 320};
    el_check_model(&m, EL_PRECISION_FP32);
}

static void test_coco(void **state)
{
    (void)state;
    el_model_case m = {"coco", el_coco, 300};
    el_check_model(&m, EL_PRECISION_FP32);
}

/* The bf16 convolutions (AMX) take their tiles from the pool too. */
static void test_aiy_bf16(void **state)
{
    (void)state;
    el_model_case m = {"aiy", el_aiy, 256};
    el_check_model(&m, EL_PRECISION_BF16);
}

/* bf16x3, the default where the CPU has AMX: its hi + lo panels too. */
static void test_coco_bf16x3(void **state)
{
    (void)state;
    el_model_case m = {"coco", el_coco, 300};
    el_check_model(&m, EL_PRECISION_BF16X3);
}

/* A pool's workers are ready when it is made: each worker's memory pool
 * exists before the first run, not whenever the OS first schedules the
 * thread (on a loaded machine that was once a session's third run). */
static void test_pool_ready(void **state)
{
    (void)state;
    for (int rep = 0; rep < 5; rep++) {
        el_threadpool *p;
        assert_int_equal(el_threadpool_create(3, &p), EL_OK);
        atomic_store(&el_allocs, 0);
        atomic_store(&el_counting, true);
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
        atomic_store(&el_counting, false);
        assert_int_equal(atomic_load(&el_allocs), 0);
        el_threadpool_free(p);
    }
}

/* The counters themselves see our calls. */
static void test_counter(void **state)
{
    (void)state;
    atomic_store(&el_allocs, 0);
    atomic_store(&el_counting, true);
    void *volatile p = malloc(16);
    free(p);
    atomic_store(&el_counting, false);
    assert_int_equal(atomic_load(&el_allocs), 2);
}

int main(void)
{
    el_trace = getenv("EL_ALLOC_TRACE") != NULL;
    struct CMUnitTest tests[7];
    int n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_counter);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pool_ready);
    if (el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog/frozen_inference_graph.pb", el_aiy, sizeof el_aiy)) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_aiy);
        if (el_precision_check(EL_PRECISION_BF16) == EL_OK)
            tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_aiy_bf16);
        else
            el_error_clear();
    }
    if (el_test_shared("models/ssd_mobilenet_v1_voc/frozen_inference_graph.pb", el_voc, sizeof el_voc))
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_voc);
    if (el_test_data("ssd_mobilenet_v1_coco_random/frozen_inference_graph.pb", el_coco, sizeof el_coco)) {
        tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_coco);
        if (el_precision_check(EL_PRECISION_BF16X3) == EL_OK)
            tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_coco_bf16x3);
        else
            el_error_clear();
    }
    if (n == 2) EL_TEST_SKIP_ALL("none of the aiy, voc, coco models is present");
    return _cmocka_run_group_tests("exec/test_alloc", tests, (size_t)n, NULL, NULL);
}
