/* The 34 regular convolutions of SSD MobileNet v1 (depth 1.0, 300x300, 91
 * classes: .data/ssd_mobilenet_v1_coco_random's shapes) through each
 * convolution kernel alone: fp32 (the AVX-512 packed-filter GEMM the
 * engine uses), bf16 with AVX512-BF16, bf16 with AMX and bf16x3 with AMX. Random inputs, bias + Relu6;
 * per layer the minimum over REPS runs, so a busy machine disturbs it less
 * than the whole-graph `edgelens bench`.
 *
 *   el_conv_bf16 [THREADS [REPS]]       (defaults 1, 20) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "ops/conv_bf16.h"
#include "ops/gemm.h"

typedef struct el_layer {
    int hw, ic, oc, k, s;
} el_layer;

static const el_layer el_layers[] = {
    /* backbone: the first 3x3 stride 2, then the 13 pointwise convolutions */
    {300, 3, 32, 3, 2}, {150, 32, 64, 1, 1}, {75, 64, 128, 1, 1}, {75, 128, 128, 1, 1}, {38, 128, 256, 1, 1},
    {38, 256, 256, 1, 1}, {19, 256, 512, 1, 1}, {19, 512, 512, 1, 1}, {19, 512, 512, 1, 1}, {19, 512, 512, 1, 1},
    {19, 512, 512, 1, 1}, {19, 512, 512, 1, 1}, {10, 512, 1024, 1, 1}, {10, 1024, 1024, 1, 1},
    /* extra feature layers */
    {10, 1024, 256, 1, 1}, {10, 256, 512, 3, 2}, {5, 512, 128, 1, 1}, {5, 128, 256, 3, 2}, {3, 256, 128, 1, 1},
    {3, 128, 256, 3, 2}, {2, 256, 64, 1, 1}, {2, 64, 128, 3, 2},
    /* box predictors: box encodings and class scores per feature map */
    {19, 512, 12, 1, 1}, {19, 512, 273, 1, 1}, {10, 1024, 24, 1, 1}, {10, 1024, 546, 1, 1}, {5, 512, 24, 1, 1},
    {5, 512, 546, 1, 1}, {3, 256, 24, 1, 1}, {3, 256, 546, 1, 1}, {2, 256, 24, 1, 1}, {2, 256, 546, 1, 1},
    {1, 128, 24, 1, 1}, {1, 128, 546, 1, 1},
};

static double el_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 20;
    if (threads < 1 || threads > EL_THREADPOOL_MAX || reps < 1) {
        fprintf(stderr, "usage: el_conv_bf16 [THREADS [REPS]]\n");
        return 2;
    }
    el_bf16_impl have = el_bf16_isa_available();
    el_threadpool *pool;
    if (el_threadpool_create(threads, &pool) != EL_OK) return 1;
    el_threadpool_set_current(pool);
    const int nl = (int)(sizeof el_layers / sizeof el_layers[0]);
    double total[4] = {0}, macs_all = 0;
    unsigned seed = 1;
    printf("threads %d, min of %d runs; ms per layer\n", threads, reps);
    printf("%2s %-22s %9s %12s %9s %9s\n", "#", "layer", "fp32", "avx512_bf16", "amx", "amx_x3");
    for (int li = 0; li < nl; li++) {
        const el_layer *l = &el_layers[li];
        int out = (l->hw + l->s - 1) / l->s, pad = (out - 1) * l->s + l->k - l->hw;
        if (pad < 0) pad = 0;
        el_window_axis ax = {.in = l->hw, .out = out, .k = l->k, .stride = l->s, .dilation = 1,
                             .pad_before = pad / 2, .pad_after = pad - pad / 2};
        el_conv_geom g = {.n = 1, .ic = l->ic, .fic = l->ic, .oc = l->oc, .groups = 1, .h = ax, .w = ax};
        size_t xn = (size_t)l->hw * l->hw * l->ic, k = (size_t)l->k * l->k * l->ic, yn = (size_t)out * out * l->oc;
        float *x = malloc(xn * 4), *w = malloc(k * l->oc * 4), *y = malloc(yn * 4), *b = calloc((size_t)l->oc, 4);
        uint16_t *wp = aligned_alloc(64, ((size_t)el_bf16_packed_len((int64_t)k, l->oc) * 2 + 63) / 64 * 64);
        uint16_t *w3 = aligned_alloc(64, ((size_t)el_bf16_packed_len((int64_t)k, l->oc) * 4 + 63) / 64 * 64);
        float *wf = aligned_alloc(64, ((size_t)el_gemm_packed_len((int64_t)k, l->oc) * 4 + 63) / 64 * 64);
        if (!x || !w || !y || !b || !wp || !w3 || !wf) return 1;
        for (size_t i = 0; i < xn; i++) x[i] = (float)(rand_r(&seed) % 2001) / 1000.0f - 1.0f;
        for (size_t i = 0; i < k * l->oc; i++) w[i] = (float)(rand_r(&seed) % 2001) / 10000.0f - 0.1f;
        el_bf16_pack(w, (int64_t)k, l->oc, wp);
        el_bf16x3_pack(w, (int64_t)k, l->oc, w3);
        el_gemm_pack_f32(w, (int64_t)k, l->oc, wf);
        el_conv_epi e = {.bias = b, .clamp = true, .lo = 0.0f, .hi = 6.0f};
        double best[4] = {-1, -1, -1, -1};
        for (int m = 0; m < 4; m++) {
            if (m > 0 && (int)have < (m == 3 ? 2 : m)) continue;
            best[m] = 1e30;
            for (int r = 0; r < reps; r++) {
                double t0 = el_now_ms();
                if (m == 0 && !el_conv2d_packed(&g, x, wf, &e, y)) el_conv2d_fast(&g, x, w, &e, y);
                else if (m == 3) {
                    el_bf16_force_isa(-1);
                    el_conv2d_bf16x3(&g, x, w3, &e, y);
                } else {
                    el_bf16_force_isa(m);
                    el_conv2d_bf16(&g, x, wp, &e, y);
                }
                double t = el_now_ms() - t0;
                if (t < best[m]) best[m] = t;
            }
            total[m] += best[m];
        }
        el_bf16_force_isa(-1);
        macs_all += (double)out * out * (double)k * l->oc;
        char name[64];
        snprintf(name, sizeof name, "%dx%d %d->%d k%d s%d", l->hw, l->hw, l->ic, l->oc, l->k, l->s);
        printf("%2d %-22s %9.3f %12.3f %9.3f %9.3f\n", li, name, best[0], best[1], best[2], best[3]);
        free(x);
        free(w);
        free(y);
        free(b);
        free(wp);
        free(w3);
        free(wf);
    }
    printf("total (%.3f G multiply-adds): fp32 %.3f ms, avx512_bf16 %.3f ms, amx %.3f ms, amx_x3 %.3f ms\n",
           macs_all / 1e9, total[0], have >= EL_BF16_AVX512 ? total[1] : -1, have >= EL_BF16_AMX ? total[2] : -1,
           have >= EL_BF16_AMX ? total[3] : -1);
    el_threadpool_set_current(NULL);
    el_threadpool_free(pool);
    return 0;
}
