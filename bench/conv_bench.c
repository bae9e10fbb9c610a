/* Microbenchmark of the fp32 Conv2D kernels on the convolution shapes of
 * the full-size SSD MobileNet v1 (300x300, depth 1.0, 91 classes; the 34
 * Conv2D of .data/ssd_mobilenet_v1_coco_random, depthwise excluded).
 *
 * For each shape: GFLOP/s (2 flops per multiply-add, best of the runs) of
 *   packed  the packed-filter GEMM (ops/conv_gemm.c, filter packed once),
 *   igemm   the HWIO indirect GEMM (ops/conv_fast.c),
 *   dnnl    oneDNN's convolution (weights reordered once, the same fused
 *           bias + Relu6), when built with it (EL_BENCH_DNNL),
 * and the share of the FMA peak (--peak GFLOP/s per thread, default 172).
 * Every output is checked against the packed kernel's.
 *
 * Usage: el_conv_bench [--threads N] [--ms MS] [--peak GFLOPS] [--only SUBSTR] [--cold] [--cpu]
 * Not a test: numbers go to bench/README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"

#if defined(EL_BENCH_DNNL)
#include <dnnl.h>
#endif

typedef struct shape {
    const char *name;
    int64_t hw, ic, oc, k, stride; /* square input hw x hw, SAME padding */
    int relu6;
} shape;

/* MobilenetV1 (Conv2d_0 and the 13 pointwise), the 8 extra feature-map
 * layers, the 12 box predictors (BoxEncodingPredictor, ClassPredictor). */
static const shape shapes[] = {
    {"Conv2d_0 3x3/2", 300, 3, 32, 3, 2, 1},
    {"Conv2d_1_pointwise", 150, 32, 64, 1, 1, 1},
    {"Conv2d_2_pointwise", 75, 64, 128, 1, 1, 1},
    {"Conv2d_3_pointwise", 75, 128, 128, 1, 1, 1},
    {"Conv2d_4_pointwise", 38, 128, 256, 1, 1, 1},
    {"Conv2d_5_pointwise", 38, 256, 256, 1, 1, 1},
    {"Conv2d_6_pointwise", 19, 256, 512, 1, 1, 1},
    {"Conv2d_7..11_pointwise (x5)", 19, 512, 512, 1, 1, 1},
    {"Conv2d_12_pointwise", 10, 512, 1024, 1, 1, 1},
    {"Conv2d_13_pointwise", 10, 1024, 1024, 1, 1, 1},
    {"extra 1x1_256", 10, 1024, 256, 1, 1, 1},
    {"extra 3x3_s2_512", 10, 256, 512, 3, 2, 1},
    {"extra 1x1_128", 5, 512, 128, 1, 1, 1},
    {"extra 3x3_s2_256", 5, 128, 256, 3, 2, 1},
    {"extra 1x1_128 (3x3)", 3, 256, 128, 1, 1, 1},
    {"extra 3x3_s2_256 (2x2)", 3, 128, 256, 3, 2, 1},
    {"extra 1x1_64", 2, 256, 64, 1, 1, 1},
    {"extra 3x3_s2_128", 2, 64, 128, 3, 2, 1},
    {"box 19x19 (12)", 19, 512, 12, 1, 1, 0},
    {"class 19x19 (273)", 19, 512, 273, 1, 1, 0},
    {"box 10x10 (24)", 10, 1024, 24, 1, 1, 0},
    {"class 10x10 (546)", 10, 1024, 546, 1, 1, 0},
    {"box 5x5 (24)", 5, 512, 24, 1, 1, 0},
    {"class 5x5 (546)", 5, 512, 546, 1, 1, 0},
    {"box 3x3 (24)", 3, 256, 24, 1, 1, 0},
    {"class 3x3 (546)", 3, 256, 546, 1, 1, 0},
    {"box 2x2 (24)", 2, 256, 24, 1, 1, 0},
    {"class 2x2 (546)", 2, 256, 546, 1, 1, 0},
    {"box 1x1 (24)", 1, 128, 24, 1, 1, 0},
    {"class 1x1 (546)", 1, 128, 546, 1, 1, 0},
};

/* --cpu: the calling thread's CPU time instead of the wall clock: with
 * one thread, time the kernel spent descheduled on a busy machine does not
 * count (its caches may still have been disturbed). */
static clockid_t timer_clock = CLOCK_MONOTONIC;
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(timer_clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fill(float *p, int64_t n, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 9) % 2001) / 1000.0f - 1.0f;
    }
}

static void geom(const shape *s, el_conv_geom *g)
{
    memset(g, 0, sizeof *g);
    g->n = 1;
    g->ic = g->fic = s->ic;
    g->oc = s->oc;
    g->groups = 1;
    el_window_axis *ax[2] = {&g->h, &g->w};
    for (int i = 0; i < 2; i++) {
        el_window_axis *a = ax[i];
        a->in = s->hw;
        a->k = s->k;
        a->stride = s->stride;
        a->dilation = 1;
        a->out = (s->hw + s->stride - 1) / s->stride; /* SAME */
        int64_t need = (a->out - 1) * s->stride + s->k - s->hw;
        if (need < 0) need = 0;
        a->pad_before = need / 2;
        a->pad_after = need - need / 2;
    }
}

typedef bool (*conv_fn)(const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e, float *y);

/* --cold: before each timed call, read a buffer 4x the L2 (clean lines,
 * no write-backs during the timing), so the filter and the input come from
 * L3 as in a graph run, where the other layers pass through L2 between two
 * reads of a filter. */
static float *cold_buf;
static size_t cold_len;
static volatile float cold_sink;
static void evict(void)
{
    if (!cold_buf) return;
    float s = 0;
    for (size_t i = 0; i < cold_len; i += 16) s += cold_buf[i];
    cold_sink = s;
}

/* Best time of one call over about `budget` ms of calls (at least 5). */
static double time_best(conv_fn fn, const el_conv_geom *g, const float *x, const float *w, const el_conv_epi *e,
                        float *y, double budget)
{
    double best = 1e30, start = now_ms();
    for (int it = 0; it < 5 || now_ms() - start < budget; it++) {
        evict();
        double t0 = now_ms();
        if (!fn(g, x, w, e, y)) return -1;
        double t = now_ms() - t0;
        if (t < best) best = t;
        if (it > 100000) break;
    }
    return best;
}

#if defined(EL_BENCH_DNNL)
#define DN(call)                                                                                                       \
    do {                                                                                                               \
        dnnl_status_t st_ = (call);                                                                                    \
        if (st_ != dnnl_success) {                                                                                     \
            fprintf(stderr, "oneDNN: %s failed (%d)\n", #call, (int)st_);                                             \
            return -1;                                                                                                 \
        }                                                                                                              \
    } while (0)

/* oneDNN's forward-inference convolution, NHWC activations, weights in the
 * format it picks (reordered once from HWIO, outside the timing). */
static double time_dnnl(const el_conv_geom *g, const float *x, const float *w, const float *bias, int relu6,
                        float *y, double budget)
{
    static dnnl_engine_t eng;
    static dnnl_stream_t strm;
    if (!eng) {
        DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
        DN(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    }
    dnnl_memory_desc_t src_md, wany_md, whwio_md, b_md, dst_md;
    dnnl_dims_t sd = {g->n, g->ic, g->h.in, g->w.in}, wd = {g->oc, g->ic, g->h.k, g->w.k}, bd = {g->oc},
                dd = {g->n, g->oc, g->h.out, g->w.out};
    DN(dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32, dnnl_nhwc));
    DN(dnnl_memory_desc_init_by_tag(&wany_md, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&whwio_md, 4, wd, dnnl_f32, dnnl_hwio));
    DN(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    DN(dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, dnnl_nhwc));
    dnnl_dims_t strides = {g->h.stride, g->w.stride}, pl = {g->h.pad_before, g->w.pad_before},
                pr = {g->h.pad_after, g->w.pad_after};
    dnnl_convolution_desc_t cd;
    DN(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &wany_md,
                                          &b_md, &dst_md, strides, pl, pr));
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    DN(dnnl_primitive_attr_create(&attr));
    DN(dnnl_post_ops_create(&po));
    if (relu6) DN(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, 0.0f, 6.0f));
    DN(dnnl_primitive_attr_set_post_ops(attr, po));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &cd, attr, eng, NULL));
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t msrc, mwu, mw, mb, mdst;
    DN(dnnl_memory_create(&msrc, &src_md, eng, (void *)x));
    DN(dnnl_memory_create(&mwu, &whwio_md, eng, (void *)w));
    DN(dnnl_memory_create(&mw, wmd, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&mb, &b_md, eng, (void *)bias));
    DN(dnnl_memory_create(&mdst, &dst_md, eng, y));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t rp, cp;
    DN(dnnl_reorder_primitive_desc_create(&rpd, &whwio_md, eng, wmd, eng, NULL));
    DN(dnnl_primitive_create(&rp, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, mwu}, {DNNL_ARG_TO, mw}};
    DN(dnnl_primitive_execute(rp, strm, 2, rargs));
    DN(dnnl_stream_wait(strm));
    DN(dnnl_primitive_create(&cp, pd));
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, msrc}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, mdst}};
    double best = 1e30, start = now_ms();
    for (int it = 0; it < 5 || now_ms() - start < budget; it++) {
        evict();
        double t0 = now_ms();
        DN(dnnl_primitive_execute(cp, strm, 4, args));
        DN(dnnl_stream_wait(strm));
        double t = now_ms() - t0;
        if (t < best) best = t;
        if (it > 100000) break;
    }
    dnnl_primitive_destroy(cp);
    dnnl_primitive_destroy(rp);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    dnnl_memory_destroy(msrc);
    dnnl_memory_destroy(mwu);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(mb);
    dnnl_memory_destroy(mdst);
    return best;
}
#endif

static float max_rel_diff(const float *a, const float *b, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]) / (1.0f + fabsf(b[i]));
        if (d > m) m = d;
    }
    return m;
}

int main(int argc, char **argv)
{
    int threads = 1;
    double budget = 150, peak = 172;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc) budget = atof(argv[++i]);
        else if (!strcmp(argv[i], "--peak") && i + 1 < argc) peak = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--cold")) cold_len = (size_t)16 << 20 >> 2;
        else if (!strcmp(argv[i], "--cpu")) timer_clock = CLOCK_THREAD_CPUTIME_ID;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--ms MS] [--peak GFLOPS] [--only SUBSTR] [--cold] [--cpu]\n", argv[0]);
            return 2;
        }
    }
#if defined(EL_BENCH_DNNL)
    /* Debian's oneDNN runs on OpenMP, which reads OMP_NUM_THREADS when it
     * loads, before main: set it and start again. */
    char nt[16];
    snprintf(nt, sizeof nt, "%d", threads);
    const char *cur = getenv("OMP_NUM_THREADS");
    if (!cur || strcmp(cur, nt)) {
        setenv("OMP_NUM_THREADS", nt, 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        return 1;
    }
#endif
    if (cold_len) {
        /* Written, not calloc'd: pages never written all map the one zero
         * page, and reading them evicted nothing (before 2026-11-27 --cold
         * timed warm caches). */
        cold_buf = malloc(cold_len * sizeof(float));
        if (!cold_buf) return 1;
        for (size_t i = 0; i < cold_len; i++) cold_buf[i] = (float)(i & 255);
    }
    el_threadpool *pool = NULL;
    if (el_threadpool_create(threads, &pool) != EL_OK) return 1;
    el_threadpool_set_current(pool);
    printf("threads %d, peak %.0f GFLOP/s per thread, isa %d, %s caches, %s time\n", threads, peak, (int)el_conv_isa(),
           cold_len ? "cold" : "warm", timer_clock == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    printf("%-30s %7s %6s %6s %6s | %8s %7s %5s | %8s %5s", "shape", "M", "K", "N", "MMAC", "packed", "GF/s",
           "peak", "igemm", "GF/s");
#if defined(EL_BENCH_DNNL)
    printf(" | %8s %5s", "dnnl", "GF/s");
#endif
    printf("\n");
    double tot[3] = {0, 0, 0}, totmac = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape *s = &shapes[si];
        if (only && !strstr(s->name, only)) continue;
        el_conv_geom g;
        geom(s, &g);
        int64_t m = g.h.out * g.w.out, k = s->k * s->k * s->ic, n = s->oc;
        int64_t xn = s->hw * s->hw * s->ic;
        float *x = aligned_alloc(64, (size_t)(xn * 4 + 64)), *w = aligned_alloc(64, (size_t)(k * n * 4 + 64));
        float *wp = aligned_alloc(64, (size_t)(el_gemm_packed_len(k, n) * 4 + 64));
        float *bias = aligned_alloc(64, (size_t)(n * 4 + 64));
        float *y0 = aligned_alloc(64, (size_t)(m * n * 4 + 64)), *y1 = aligned_alloc(64, (size_t)(m * n * 4 + 64));
        fill(x, xn, 1 + (unsigned)si);
        fill(w, k * n, 100 + (unsigned)si);
        fill(bias, n, 7);
        for (int64_t i = 0; i < k * n; i++) w[i] *= 0.1f;
        el_gemm_pack_f32(w, k, n, wp);
        el_conv_epi e = {.bias = bias, .clamp = s->relu6 != 0, .lo = 0.0f, .hi = s->relu6 ? 6.0f : INFINITY};
        double mac = (double)m * k * n, mult = strstr(s->name, "(x5)") ? 5 : 1;
        double tp = time_best(el_conv2d_packed, &g, x, wp, &e, y0, budget);
        double ti = time_best(el_conv2d_fast, &g, x, w, &e, y1, budget);
        float d1 = max_rel_diff(y1, y0, m * n);
        printf("%-30s %7lld %6lld %6lld %6.1f | %8.4f %7.1f %4.0f%% | %8.4f %5.1f", s->name, (long long)m,
               (long long)k, (long long)n, mac / 1e6, tp, 2 * mac / tp / 1e6, 100 * 2 * mac / tp / 1e6 / peak / threads,
               ti, 2 * mac / ti / 1e6);
        tot[0] += tp * mult;
        tot[1] += ti * mult;
        totmac += mac * mult;
#if defined(EL_BENCH_DNNL)
        double td = time_dnnl(&g, x, w, bias, s->relu6, y1, budget);
        float d2 = max_rel_diff(y1, y0, m * n);
        if (d2 > d1) d1 = d2;
        printf(" | %8.4f %5.1f", td, 2 * mac / td / 1e6);
        tot[2] += td * mult;
#endif
        if (d1 > 1e-4f) printf("  MISMATCH %.3g", (double)d1);
        printf("\n");
        free(x), free(w), free(wp), free(bias), free(y0), free(y1);
    }
    printf("%-30s %7s %6s %6s %6.1f | %8.3f %7.1f %4.0f%% | %8.3f %5.1f", "total (34 convs)", "", "", "", totmac / 1e6,
           tot[0], 2 * totmac / tot[0] / 1e6, 100 * 2 * totmac / tot[0] / 1e6 / peak / threads, tot[1],
           2 * totmac / tot[1] / 1e6);
#if defined(EL_BENCH_DNNL)
    printf(" | %8.3f %5.1f", tot[2], 2 * totmac / tot[2] / 1e6);
#endif
    printf("\n");
    el_threadpool_set_current(NULL);
    el_threadpool_free(pool);
    return 0;
}
