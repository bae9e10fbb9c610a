/* An int8 candidate for the 1x1 convolutions, measured against the fp32
 * kernel the engine uses (bench/README.md, "int8 on AVX512-VNNI"): CPUs
 * without bf16 but with AVX512-VNNI (VPDPBUSD: four u8 x s8 products into
 * each int32 lane, four times an fp32 FMA's multiply-adds per
 * instruction) could trade accuracy for speed.
 *
 * The candidate is self-contained here (the engine does not use it):
 *  - the filter quantized per output channel, symmetric, s8;
 *  - the A rows (pixels) quantized as they are read, asymmetric u8 over
 *    [min(0, min x), max(0, max x)], one scale per row, or per 12 rows
 *    (a cheaper, coarser variant);
 *  - a 12-row x 32-column VPDPBUSD tile, dequantized in registers:
 *    y = s_a s_w (sum q_a q_w - z sum q_w) + bias, clamped (Relu6).
 * Shapes: CenterNet MobileNetV3's 1x1 convolutions (512x512 input), random
 * inputs; per layer the least time of REPS runs on one thread, and int8's
 * largest error relative to the layer's largest fp32 output.
 *
 *   el_conv_int8 [REPS]       (default 20; exits 77 without AVX512-VNNI) */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/gemm.h"

#if defined(EL_CONV_X86)
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
#include <immintrin.h>

#define KG 4  /* k per VPDPBUSD lane */
#define NB 16 /* columns per block */
#define MR 12 /* rows per tile */
#define PANEL 96

static int64_t kpad_of(int64_t k) { return (k + KG - 1) / KG * KG; }
static int64_t npad_of(int64_t n) { return (n + NB - 1) / NB * NB; }

static __mmask16 mask16(int64_t n) { return n >= 16 ? 0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* Row-major [k, n] -> s_w[npad], s_w * sum q_w[npad], then blocks of 16
 * columns x 4 k (64 bytes, byte j * 4 + t = q(kg * 4 + t, nb * 16 + j)). */
static void pack(const float *w, int64_t k, int64_t n, float *sw, float *cz, int8_t *tiles)
{
    const int64_t kg = kpad_of(k) / KG;
    memset(tiles, 0, (size_t)(kpad_of(k) * npad_of(n)));
    memset(sw, 0, sizeof(float) * (size_t)npad_of(n));
    memset(cz, 0, sizeof(float) * (size_t)npad_of(n));
    for (int64_t j = 0; j < n; j++) {
        float m = 0.0f;
        for (int64_t i = 0; i < k; i++) m = fmaxf(m, fabsf(w[i * n + j]));
        const float s = m / 127.0f, inv = s > 0.0f ? 1.0f / s : 0.0f;
        int32_t sum = 0;
        int8_t *blk = tiles + (j / NB) * kg * 64 + (j % NB) * KG;
        for (int64_t i = 0; i < k; i++) {
            int32_t v = (int32_t)rintf(w[i * n + j] * inv);
            blk[(i / KG) * 64 + i % KG] = (int8_t)v;
            sum += v;
        }
        sw[j] = s;
        cz[j] = s * (float)sum;
    }
}

/* `rows` rows of src (xs apart) sharing one scale and zero point. */
static void quant(const float *src, int rows, int64_t xs, int64_t k, uint8_t *q, int64_t qs, float *rq)
{
    const int64_t kpad = kpad_of(k);
    __m512 mn = _mm512_setzero_ps(), mx = mn;
    for (int r = 0; r < rows; r++)
        for (int64_t i = 0; i < k; i += 16) {
            __m512 v = _mm512_maskz_loadu_ps(mask16(k - i), src + r * xs + i);
            mn = _mm512_min_ps(mn, v);
            mx = _mm512_max_ps(mx, v);
        }
    float lo = _mm512_reduce_min_ps(mn), range = _mm512_reduce_max_ps(mx) - lo;
    if (range == 0.0f) range = 1.0f;
    const float inv = 255.0f / range, s = range / 255.0f, z = rintf(-lo * inv);
    const __m512i vz = _mm512_set1_epi32((int32_t)z), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
    for (int r = 0; r < rows; r++) {
        for (int64_t i = 0; i < kpad; i += 16) {
            __mmask16 m = mask16(k - i);
            __m512 v = _mm512_maskz_loadu_ps(m, src + r * xs + i);
            __m512i t = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(inv))), vz);
            t = _mm512_maskz_mov_epi32(m, _mm512_min_epi32(_mm512_max_epi32(t, v0), v255));
            _mm_mask_storeu_epi8(q + r * qs + i, mask16(kpad - i), _mm512_cvtepi32_epi8(t));
        }
        rq[2 * r] = s;
        rq[2 * r + 1] = -s * z;
    }
}

/* MR rows x 32 columns from column `col` (16 unless two); rows past `rows`
 * read row 0, unstored. */
static inline __attribute__((always_inline)) void tile(int rows, int64_t kg, const uint8_t *q, int64_t qs,
                                                       const float *rq, const int8_t *b0, const int8_t *b1, bool two,
                                                       const float *sw, const float *cz, const float *bias, int64_t col, int64_t n,
                 float *y)
{
    __m512i c0[MR], c1[MR];
    const uint8_t *ap[MR];
    for (int r = 0; r < MR; r++) {
        c0[r] = c1[r] = _mm512_setzero_si512();
        ap[r] = q + (r < rows ? r : 0) * qs;
    }
    for (int64_t g = 0; g < kg; g++) {
        __m512i w0 = _mm512_load_si512(b0 + g * 64), w1 = two ? _mm512_load_si512(b1 + g * 64) : w0;
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            int32_t quad;
            memcpy(&quad, ap[r] + g * KG, sizeof quad);
            __m512i av = _mm512_set1_epi32(quad);
            c0[r] = _mm512_dpbusd_epi32(c0[r], av, w0);
            if (two) c1[r] = _mm512_dpbusd_epi32(c1[r], av, w1);
        }
    }
    const __mmask16 m0 = mask16(n - col), m1 = mask16(n - col - 16);
    const __m512 bv0 = _mm512_maskz_loadu_ps(m0, bias + col), bv1 = _mm512_maskz_loadu_ps(m1, bias + col + 16);
    const __m512 sw0 = _mm512_load_ps(sw + col), cz0 = _mm512_load_ps(cz + col);
    const __m512 sw1 = two ? _mm512_load_ps(sw + col + 16) : sw0, cz1 = two ? _mm512_load_ps(cz + col + 16) : cz0;
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(6.0f);
    for (int r = 0; r < rows; r++) {
        const __m512 sa = _mm512_set1_ps(rq[2 * r]), za = _mm512_set1_ps(rq[2 * r + 1]);
        __m512 v = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(c0[r]), sa), sw0, _mm512_fmadd_ps(za, cz0, bv0));
        _mm512_mask_storeu_ps(y + r * n + col, m0, _mm512_min_ps(_mm512_max_ps(v, lo), hi));
        if (!two) continue;
        v = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(c1[r]), sa), sw1, _mm512_fmadd_ps(za, cz1, bv1));
        _mm512_mask_storeu_ps(y + r * n + col + 16, m1, _mm512_min_ps(_mm512_max_ps(v, lo), hi));
    }
}

/* y[m, n] = relu6(x[m, k] w + bias), a panel of rows quantized at a time
 * (group: rows per scale, 1 or 12). sw, cz: 2 * npad floats of room. */
static void conv_int8(int64_t m, int64_t k, int64_t n, const float *x, const float *sw, const float *cz,
                      const int8_t *tiles, const float *bias, int group, uint8_t *q, float *rq, float *y)
{
    const int64_t kpad = kpad_of(k), qs = (kpad + 63) / 64 * 64, kg = kpad / KG;
    for (int64_t p0 = 0; p0 < m; p0 += PANEL) {
        int rows = (int)(m - p0 < PANEL ? m - p0 : PANEL);
        for (int r = 0; r < rows; r += group)
            quant(x + (p0 + r) * k, rows - r < group ? rows - r : group, k, k, q + r * qs, qs, rq + 2 * r);
        for (int64_t nb = 0, nt = npad_of(n) / NB; nb < nt; nb += 2) {
            const int8_t *b0 = tiles + nb * kg * 64, *b1 = b0 + kg * 64;
            for (int r0 = 0; r0 < rows; r0 += MR) {
                int nr = rows - r0 < MR ? rows - r0 : MR;
                if (nb + 1 < nt)
                    tile(nr, kg, q + r0 * qs, qs, rq + 2 * r0, b0, b1, true, sw, cz, bias, nb * NB, n, y + (p0 + r0) * n);
                else
                    tile(nr, kg, q + r0 * qs, qs, rq + 2 * r0, b0, b0, false, sw, cz, bias, nb * NB, n, y + (p0 + r0) * n);
            }
        }
    }
}

typedef struct el_layer {
    int hw, ic, oc;
} el_layer;

static const el_layer el_layers[] = {
    {256, 16, 16},  {256, 16, 64},  {128, 64, 24},  {128, 24, 72},  {128, 72, 24},  {128, 72, 64},
    {128, 64, 80},  {64, 72, 32},   {64, 32, 96},   {64, 96, 32},   {64, 96, 96},   {64, 96, 64},
    {32, 64, 192},  {32, 192, 64},  {32, 64, 384},  {32, 384, 88},  {32, 88, 528},  {32, 528, 88},
    {32, 88, 128},  {32, 128, 96},  {16, 88, 528},  {16, 528, 120}, {16, 120, 720}, {16, 720, 120},
    {16, 120, 480}, {16, 480, 128},
};

static double el_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) {
        fprintf(stderr, "usage: el_conv_int8 [REPS]\n");
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
        fprintf(stderr, "el_conv_int8: this CPU has no AVX512-VNNI\n");
        return 77;
    }
    el_threadpool *pool;
    if (el_threadpool_create(1, &pool) != EL_OK) return 1;
    el_threadpool_set_current(pool);
    const int nl = (int)(sizeof el_layers / sizeof el_layers[0]);
    double total[3] = {0}, macs_all = 0;
    unsigned seed = 1;
    printf("1 thread, least of %d runs; ms per layer; err: largest |int8 - fp32| / largest |fp32|\n", reps);
    printf("%2s %-18s %8s %14s %8s %14s %8s\n", "#", "layer", "fp32", "int8 row-scale", "err", "int8 12-rows", "err");
    for (int li = 0; li < nl; li++) {
        const el_layer *l = &el_layers[li];
        el_window_axis ax = {.in = l->hw, .out = l->hw, .k = 1, .stride = 1, .dilation = 1};
        el_conv_geom g = {.n = 1, .ic = l->ic, .fic = l->ic, .oc = l->oc, .groups = 1, .h = ax, .w = ax};
        const int64_t m = (int64_t)l->hw * l->hw, k = l->ic, n = l->oc, npad = npad_of(n), qs = (kpad_of(k) + 63) / 64 * 64;
        float *x = malloc((size_t)(m * k) * 4), *w = malloc((size_t)(k * n) * 4), *b = malloc((size_t)n * 4);
        float *y[3] = {malloc((size_t)(m * n) * 4), malloc((size_t)(m * n) * 4), malloc((size_t)(m * n) * 4)};
        float *sw = aligned_alloc(64, (size_t)npad * 4), *cz = aligned_alloc(64, (size_t)npad * 4);
        int8_t *tiles = aligned_alloc(64, (size_t)(kpad_of(k) * npad));
        uint8_t *q = aligned_alloc(64, (size_t)(PANEL * qs));
        float *rq = malloc(sizeof(float) * 2 * PANEL);
        float *wf = aligned_alloc(64, ((size_t)el_gemm_packed_len(k, n) * 4 + 63) / 64 * 64);
        if (!x || !w || !b || !y[0] || !y[1] || !y[2] || !sw || !cz || !tiles || !q || !rq || !wf) return 1;
        for (int64_t i = 0; i < m * k; i++) x[i] = (float)(rand_r(&seed) % 2001) / 1000.0f - 0.3f;
        for (int64_t i = 0; i < k * n; i++) w[i] = (float)(rand_r(&seed) % 2001) / 10000.0f - 0.1f;
        for (int64_t i = 0; i < n; i++) b[i] = (float)(rand_r(&seed) % 2001) / 1000.0f - 1.0f;
        el_gemm_pack_f32(w, k, n, wf);
        pack(w, k, n, sw, cz, tiles);
        el_conv_epi e = {.bias = b, .clamp = true, .lo = 0.0f, .hi = 6.0f};
        double best[3] = {1e30, 1e30, 1e30};
        for (int r = 0; r < reps; r++)
            for (int v = 0; v < 3; v++) {
                double t0 = el_now_ms();
                if (v == 0) el_conv2d_packed(&g, x, wf, &e, y[0]);
                else conv_int8(m, k, n, x, sw, cz, tiles, b, v == 1 ? 1 : MR, q, rq, y[v]);
                double t = el_now_ms() - t0;
                if (t < best[v]) best[v] = t;
            }
        double big = 0, err[3] = {0};
        for (int64_t i = 0; i < m * n; i++) {
            big = fmax(big, fabs(y[0][i]));
            for (int v = 1; v < 3; v++) err[v] = fmax(err[v], fabs(y[0][i] - y[v][i]));
        }
        for (int v = 0; v < 3; v++) total[v] += best[v];
        macs_all += (double)m * k * n;
        char name[64];
        snprintf(name, sizeof name, "%dx%d %d->%d", l->hw, l->hw, l->ic, l->oc);
        printf("%2d %-18s %8.3f %8.3f %5.2fx %8.1e %8.3f %5.2fx %8.1e\n", li, name, best[0], best[1],
               best[0] / best[1], err[1] / big, best[2], best[0] / best[2], err[2] / big);
        free(x), free(w), free(b), free(y[0]), free(y[1]), free(y[2]);
        free(sw), free(cz), free(tiles), free(q), free(rq), free(wf);
    }
    printf("total (%.3f G multiply-adds): fp32 %.3f ms, int8 row-scale %.3f ms (%.2fx), int8 12-rows %.3f ms (%.2fx)\n",
           macs_all / 1e9, total[0], total[1], total[0] / total[1], total[2], total[0] / total[2]);
    el_threadpool_set_current(NULL);
    el_threadpool_free(pool);
    return 0;
}
#else
int main(void)
{
    fprintf(stderr, "el_conv_int8: x86-64 with GCC only\n");
    return 77;
}
#endif
