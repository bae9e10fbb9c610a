/* Depthwise convolution layers of the benchmark models, timed one by one
 * through el_depthwise_fast (the kernel the executor calls), at 1 and 2
 * threads: time per call, GFLOP/s, and the bytes of input + output moved per
 * second. Inputs and outputs stay in the caches they fit in, as between
 * neighbouring layers of a graph.
 *
 *   el_dwconv_layers [MODEL] [ITERATIONS] [ISA: 1 AVX2, 2 AVX-512]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "ops/dwconv_fast.h"

typedef struct el_dw_layer {
    const char *model;
    int64_t h, w, c, k, s;
    int same; /* 1: SAME, 0: VALID */
    int count;  /* occurrences in the model */
    int epi;    /* 0: none, 1: bias, 2: bias + Relu6 */
} el_dw_layer;

/* From EL_DW_PRINT-style dumps of the graphs as optimised (input size,
 * channels, window, stride, padding; how often it occurs). */
static const el_dw_layer el_layers[] = {
    {"coco", 150, 150, 32, 3, 1, 1, 1, 2},  {"coco", 150, 150, 64, 3, 2, 1, 1, 2},
    {"coco", 75, 75, 128, 3, 1, 1, 1, 2},   {"coco", 75, 75, 128, 3, 2, 1, 1, 2},
    {"coco", 38, 38, 256, 3, 1, 1, 1, 2},   {"coco", 38, 38, 256, 3, 2, 1, 1, 2},
    {"coco", 19, 19, 512, 3, 1, 1, 5, 2},   {"coco", 19, 19, 512, 3, 2, 1, 1, 2},
    {"coco", 10, 10, 1024, 3, 1, 1, 1, 2},
    {"hand", 160, 160, 32, 3, 1, 1, 1, 2},  {"hand", 160, 160, 96, 3, 2, 1, 1, 2},
    {"hand", 80, 80, 144, 3, 1, 1, 1, 2},   {"hand", 80, 80, 144, 3, 2, 1, 1, 2},
    {"hand", 40, 40, 192, 3, 1, 1, 2, 2},   {"hand", 40, 40, 192, 3, 2, 1, 1, 2},
    {"hand", 40, 40, 128, 3, 1, 1, 7, 0},   {"hand", 20, 20, 384, 3, 1, 1, 4, 2},
    {"hand", 20, 20, 576, 3, 1, 1, 2, 2},   {"hand", 20, 20, 576, 3, 2, 1, 1, 2},
    {"hand", 20, 20, 128, 3, 1, 1, 7, 0},   {"hand", 10, 10, 960, 3, 1, 1, 3, 2},
    {"hand", 10, 10, 128, 3, 1, 1, 6, 0},
    {"center", 256, 256, 16, 3, 1, 1, 1, 2}, {"center", 256, 256, 64, 3, 2, 1, 1, 2},
    {"center", 128, 128, 72, 3, 1, 1, 1, 2}, {"center", 128, 128, 72, 5, 2, 1, 1, 2},
    {"center", 128, 128, 128, 3, 1, 1, 2, 0}, {"center", 128, 128, 18, 5, 1, 1, 1, 0},
    {"center", 64, 64, 96, 5, 1, 1, 2, 2},  {"center", 64, 64, 192, 3, 1, 1, 1, 0},
    {"center", 64, 64, 192, 5, 1, 1, 1, 0}, {"center", 64, 64, 192, 3, 2, 1, 1, 1},
    {"center", 64, 64, 24, 5, 1, 1, 1, 0},  {"center", 32, 32, 144, 3, 1, 1, 2, 1},
    {"center", 32, 32, 384, 3, 1, 1, 1, 1}, {"center", 32, 32, 528, 3, 1, 1, 1, 1},
    {"center", 32, 32, 528, 5, 2, 1, 1, 1}, {"center", 32, 32, 256, 5, 1, 1, 1, 0},
    {"center", 16, 16, 720, 5, 1, 1, 2, 1}, {"center", 16, 16, 480, 5, 1, 1, 1, 0},
};

static double el_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void el_axis(el_window_axis *a, int64_t in, int64_t k, int64_t s, int same)
{
    memset(a, 0, sizeof *a);
    a->in = in, a->k = k, a->stride = s, a->dilation = 1;
    if (same) {
        a->out = (in + s - 1) / s;
        int64_t pad = (a->out - 1) * s + k - in;
        if (pad < 0) pad = 0;
        a->pad_before = pad / 2;
        a->pad_after = pad - pad / 2;
    } else {
        a->out = (in - k + s) / s;
    }
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    int iters = argc > 2 ? atoi(argv[2]) : 50;
    if (iters < 1) iters = 1;
    if (argc > 3) el_conv_force_isa(atoi(argv[3]));
    el_threadpool *pool[2];
    for (int t = 0; t < 2; t++)
        if (el_threadpool_create(t + 1, &pool[t]) != EL_OK) return 1;
    double total[2] = {0, 0};
    printf("%-7s %-22s %3s %9s %7s %7s %9s %7s\n", "model", "layer", "n", "1t us", "GF/s", "GB/s", "2t us", "GF/s");
    for (size_t i = 0; i < sizeof el_layers / sizeof *el_layers; i++) {
        const el_dw_layer *L = &el_layers[i];
        if (*only && strcmp(only, "all") != 0 && strcmp(only, L->model) != 0) continue;
        el_conv_geom g = {.n = 1, .ic = L->c, .fic = 1, .oc = L->c, .groups = L->c};
        el_axis(&g.h, L->h, L->k, L->s, L->same);
        el_axis(&g.w, L->w, L->k, L->s, L->same);
        size_t nx = (size_t)(L->h * L->w * L->c), ny = (size_t)(g.h.out * g.w.out * L->c);
        float *x = aligned_alloc(64, (nx * 4 + 63) / 64 * 64), *y = aligned_alloc(64, (ny * 4 + 63) / 64 * 64);
        float *w = aligned_alloc(64, (size_t)(L->k * L->k * L->c) * 4 + 64), *b = aligned_alloc(64, (size_t)L->c * 4 + 64);
        for (size_t j = 0; j < nx; j++) x[j] = (float)(j % 17) * 0.1f - 0.8f;
        for (int64_t j = 0; j < L->k * L->k * L->c; j++) w[j] = (float)(j % 13) * 0.05f - 0.3f;
        for (int64_t j = 0; j < L->c; j++) b[j] = 0.01f * (float)j;
        el_conv_epi e = {.bias = L->epi ? b : NULL, .clamp = L->epi == 2, .lo = 0.0f, .hi = 6.0f};
        double us[2];
        for (int t = 0; t < 2; t++) {
            el_threadpool *prev = el_threadpool_set_current(pool[t]);
            for (int r = 0; r < 3; r++) el_depthwise_fast(&g, x, w, &e, y);
            double best = 1e9;
            for (int r = 0; r < iters; r++) {
                double t0 = el_now();
                el_depthwise_fast(&g, x, w, &e, y);
                double dt = el_now() - t0;
                if (dt < best) best = dt;
            }
            el_threadpool_set_current(prev);
            us[t] = best * 1e6;
            total[t] += us[t] * L->count;
        }
        double flop = 2.0 * (double)ny * (double)(L->k * L->k);
        double bytes = 4.0 * (double)(nx + ny);
        char name[64];
        snprintf(name, sizeof name, "%lldx%lldx%lld k%lld s%lld", (long long)L->h, (long long)L->w, (long long)L->c,
                 (long long)L->k, (long long)L->s);
        printf("%-7s %-22s %3d %9.1f %7.1f %7.1f %9.1f %7.1f\n", L->model, name, L->count, us[0], flop / us[0] / 1e3,
               bytes / us[0] / 1e3, us[1], flop / us[1] / 1e3);
        free(x), free(y), free(w), free(b);
    }
    printf("total (x count): 1 thread %.1f us, 2 threads %.1f us\n", total[0], total[1]);
    el_threadpool_free(pool[0]);
    el_threadpool_free(pool[1]);
    return 0;
}
