/* _ElPeakTopK(x, shape, k): TopKV2(Reshape(MaxPool(x) keeping the peaks,
 * shape), k) in one pass over x (CenterNet's peak extraction: the 3x3
 * peak test on the 128x128x80 heatmap, then the 100 best of its 1.3 M
 * values). The graph pass (graph/optimize.c, el_opt_peak_topk) gives it
 * the MaxPool's attrs (ksize, strides, padding, EL_POOL_KEEP_EQUAL_ATTR).
 *
 * Why it is exact: the peak value at flat position i is v = x * (x == m ?
 * 1 : 0), m the window's maximum taken in MaxPool's order (ops/pool.c), so
 * v is x or x * 0 (a zero or NaN). TopK's heap (ops/topk.c) lets a later
 * element in only when v > the root's value; with a root >= 0 that needs
 * v == x > root, so positions with x <= root are skipped on x alone, and
 * v (its window) is computed only for the few that pass. A negative root
 * tests every v; a NaN root admits nothing. The positions with x above
 * the root are found 64 at a time (AVX-512 compares, or a loop the
 * compiler vectorizes). The heap, its comparisons and its final order
 * are TopK's, so are the values and indices.
 *
 * One thread: the scan runs at the speed of reading x (CenterNet's 5 MB:
 * 0.6-0.7 ms); a row split over 2 threads, each chunk with its own heap,
 * merged, measured no faster. Being serial, the executor may run it on
 * the second thread beside other nodes.
 *
 * With EL_PEAK_SIGMOID_ATTR, x holds logits and the map is their Sigmoid
 * (CenterNet's heatmap: the graph pass takes it from the convolution's
 * epilogue), computed here only for the positions the scan tests and
 * their windows, by el_conv_sigmoid, whose bits for an element do not
 * depend on the other elements of the call: so every value the test and
 * the heap see is the convolution's. The scan compares x with a logit
 * bound below which no Sigmoid can beat the root (el_peak_logit_floor),
 * and the exact test decides the rest. The 1.3 M Sigmoids the
 * convolution computed and stored are a few thousand here. */
#include <float.h>
#include <math.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/kernel.h"
#include "ops/pool.h"
#include "ops/window.h"
#if defined(EL_CONV_X86)
#include <immintrin.h>

#include "ops/sigmoid_avx512.h"
#endif

typedef struct el_peak_geom {
    const float *x;
    int64_t h, w, c;       /* x is [n, h, w, c] */
    int64_t kh, kw, ph, pw; /* window and its leading padding */
    bool sigmoid;           /* x holds logits: the map is el_conv_sigmoid(x) */
    /* The AVX-512 sigmoid window test (sig_lanes > 0): lane 0 the position,
     * lanes 1.. the window's taps in row-major order, each as its offset
     * from the position (floats) and its row and column relative to it. */
    int sig_lanes;
    int32_t lane_off[16], lane_dy[16], lane_dx[16];
} el_peak_geom;

/* Position i's window clipped to the map: its first element and the rows
 * and columns it spans (rows g->w * g->c floats apart, columns g->c). */
typedef struct el_peak_win {
    const float *first;
    int64_t rows, cols;
} el_peak_win;

static inline el_peak_win el_peak_window(const el_peak_geom *g, int64_t i)
{
    const int64_t p = i / g->c, ox = p % g->w, oy = p / g->w % g->h;
    int64_t y0 = oy - g->ph, y1 = y0 + g->kh, x0 = ox - g->pw, x1 = x0 + g->kw;
    if (y0 < 0) y0 = 0;
    if (y1 > g->h) y1 = g->h;
    if (x0 < 0) x0 = 0;
    if (x1 > g->w) x1 = g->w;
    return (el_peak_win){g->x + i + ((y0 - oy) * g->w + (x0 - ox)) * g->c, y1 - y0, x1 - x0};
}

/* v at flat position i of x: MaxPool's maximum over the window (from
 * -FLT_MAX, row-major, a > m ? a : m), then the keep-equal product. */
static inline float el_peak_value(const el_peak_geom *g, int64_t i)
{
    const el_peak_win win = el_peak_window(g, i);
    const float *row = win.first;
    float m = -FLT_MAX;
    for (int64_t iy = 0; iy < win.rows; iy++, row += g->w * g->c)
        for (int64_t ix = 0; ix < win.cols; ix++) {
            const float a = row[ix * g->c];
            m = a > m ? a : m;
        }
    const float xc = g->x[i];
    return xc * (xc == m ? 1.0f : 0.0f);
}

/* Whether v > thr at flat position i, for thr >= 0: x > thr (so x > 0
 * and x * 0 = +0 cannot pass) and x its window's maximum, that is no
 * element of the window greater than x (NaNs never win MaxPool's a > m,
 * and x itself is in the window): then m == x and v = x. */
static inline bool el_peak_passes(const el_peak_geom *g, int64_t i, float thr)
{
    const float xc = g->x[i];
    if (!(xc > thr)) return false;
    const el_peak_win win = el_peak_window(g, i);
    const float *row = win.first;
    for (int64_t iy = 0; iy < win.rows; iy++, row += g->w * g->c)
        for (int64_t ix = 0; ix < win.cols; ix++)
            if (row[ix * g->c] > xc) return false;
    return true;
}

/* Window elements per el_conv_sigmoid call (a 3x3 window and its centre
 * take one). */
#define EL_PEAK_SIG_CHUNK 16

/* el_peak_value on the map sigmoid(x): every window element, then the
 * centre, through el_conv_sigmoid, the maximum in MaxPool's order. */
static float el_peak_value_sig(const el_peak_geom *g, int64_t i)
{
    const el_peak_win win = el_peak_window(g, i);
    const float *row = win.first;
    float buf[EL_PEAK_SIG_CHUNK + 1], m = -FLT_MAX;
    int n = 0;
    for (int64_t iy = 0; iy < win.rows; iy++, row += g->w * g->c)
        for (int64_t ix = 0; ix < win.cols; ix++) {
            buf[n++] = row[ix * g->c];
            if (n == EL_PEAK_SIG_CHUNK) {
                el_conv_sigmoid(buf, n);
                for (int j = 0; j < n; j++) m = buf[j] > m ? buf[j] : m;
                n = 0;
            }
        }
    buf[n] = g->x[i];
    el_conv_sigmoid(buf, n + 1);
    for (int j = 0; j < n; j++) m = buf[j] > m ? buf[j] : m;
    const float xc = buf[n];
    return xc * (xc == m ? 1.0f : 0.0f);
}

#if defined(EL_CONV_X86)
/* el_peak_value_sig for a window of at most 15 taps, on AVX-512: the
 * taps inside the map and the position gathered into one vector, one
 * el_sigmoid_ps (the lanes' bits are el_conv_sigmoid's), the maximum of
 * the taps that are not NaN (a Sigmoid is +0 or above, never -0, so any
 * order gives MaxPool's maximum). */
__attribute__((target("avx512f"))) static float el_peak_value_sig_avx512(const el_peak_geom *g, int64_t i)
{
    const int64_t p = i / g->c, ox = p % g->w, oy = p / g->w % g->h;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i yy = _mm512_add_epi32(_mm512_set1_epi32((int)oy), _mm512_loadu_si512(g->lane_dy));
    const __m512i xx = _mm512_add_epi32(_mm512_set1_epi32((int)ox), _mm512_loadu_si512(g->lane_dx));
    const __mmask16 lanes = (__mmask16)((1u << g->sig_lanes) - 1u);
    const __mmask16 in = lanes & _mm512_cmpge_epi32_mask(yy, zero) & _mm512_cmplt_epi32_mask(yy, _mm512_set1_epi32((int)g->h)) &
                         _mm512_cmpge_epi32_mask(xx, zero) & _mm512_cmplt_epi32_mask(xx, _mm512_set1_epi32((int)g->w));
    const __m512 v = el_sigmoid_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), in | 1u, _mm512_loadu_si512(g->lane_off),
                                                            g->x + i, 4));
    const float xc = _mm512_cvtss_f32(v);
    const __mmask16 taps = (__mmask16)(in & ~1u) & _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    const float m = taps ? _mm512_mask_reduce_max_ps(taps, v) : -FLT_MAX;
    return xc * (xc == m ? 1.0f : 0.0f);
}
#endif

static inline float el_peak_sig(const el_peak_geom *g, int64_t i)
{
#if defined(EL_CONV_X86)
    if (g->sig_lanes) return el_peak_value_sig_avx512(g, i);
#endif
    return el_peak_value_sig(g, i);
}

static inline float el_peak_v(const el_peak_geom *g, int64_t i)
{
    return g->sigmoid ? el_peak_sig(g, i) : el_peak_value(g, i);
}

/* On a sigmoid map, whether a window element's logit b is so far above
 * the logit a at position i that its Sigmoid is certainly the greater
 * (then v = +0 cannot enter a heap): b <= 8, a >= -80 (both Sigmoids in
 * the normal range) and b - a > 0.04, so ln sig(b) - ln sig(a) >= (b - a)
 * sig(-b) > 0.0399 * 3.35e-4 > 2^-17, far above the two Sigmoids'
 * relative errors (2^-20 each, see el_peak_logit_floor). Reads the window
 * as el_peak_passes does, stopping at the first such element, before
 * the window's Sigmoids are computed. */
static inline bool el_peak_beaten(const el_peak_geom *g, int64_t i)
{
    const float a = g->x[i];
    if (!(a >= -80.0f)) return false;
    const el_peak_win win = el_peak_window(g, i);
    const float *row = win.first;
    for (int64_t iy = 0; iy < win.rows; iy++, row += g->w * g->c)
        for (int64_t ix = 0; ix < win.cols; ix++) {
            const float b = row[ix * g->c];
            if (b <= 8.0f && b - a > 0.04f) return true;
        }
    return false;
}

/* Whether position i enters a heap whose root is thr >= 0, and its value
 * *v if it does. */
static inline bool el_peak_test(const el_peak_geom *g, int64_t i, float thr, float *v)
{
    if (g->sigmoid) {
        if (el_peak_beaten(g, i)) return false;
        *v = el_peak_sig(g, i);
        return *v > thr;
    }
    *v = g->x[i];
    return el_peak_passes(g, i, thr);
}

/* A logit t such that every x <= t has el_conv_sigmoid(x) <= root (root >=
 * 0; -inf: none such, +inf: every x). el_conv_sigmoid is within 2^-21 of
 * the true sigmoid, relative (EL_SIGMOID_MAX_ULP = 4 ulps of the
 * reference's 1 / (1 + expf(-x)), itself within 2^-22), or a few 2^-149
 * below the normal range; so for lo = root (1 - 2^-17) - 2^-126 a value
 * above root needs a true sigmoid above lo, that is x > logit(lo) (the
 * true sigmoid increases strictly), computed in double and rounded down. */
static float el_peak_logit_floor(float root)
{
    const double lo = (double)root * (1.0 - 0x1p-17) - 0x1p-126;
    if (!(lo > 0.0)) return -INFINITY;
    if (lo >= 1.0) return INFINITY;
    const double t = log(lo / (1.0 - lo));
    float f = (float)t;
    if ((double)f > t) f = nextafterf(f, -INFINITY);
    return f;
}

/* The bound the scan compares x with for a root >= 0: the root itself on
 * a plain map (x * 0 cannot pass it), el_peak_logit_floor on a sigmoid
 * map, recomputed only when the root changed. */
typedef struct el_peak_bound {
    float root, x;
} el_peak_bound;

static inline float el_peak_xbound(const el_peak_geom *g, el_peak_bound *b, float root)
{
    if (!g->sigmoid) return root;
    if (root != b->root) {
        b->root = root;
        b->x = el_peak_logit_floor(root);
    }
    return b->x;
}

/* TopK's comparator (ops/topk.c): a before b. */
static inline bool el_peak_better(float va, int32_t ia, float vb, int32_t ib)
{
    if (vb < va) return true;
    if (vb > va) return false;
    return ia < ib;
}

static void el_peak_sift(float *hv, int32_t *hi, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && el_peak_better(hv[w], hi[w], hv[l], hi[l])) w = l;
        if (r < n && el_peak_better(hv[w], hi[w], hv[r], hi[r])) w = r;
        if (w == i) return;
        float tv = hv[i];
        int32_t ti = hi[i];
        hv[i] = hv[w], hi[i] = hi[w];
        hv[w] = tv, hi[w] = ti;
        i = w;
    }
}

/* Position q with value v added as heap element j (the heap holds j). */
static void el_peak_push(float *hv, int32_t *hi, int64_t j, float v, int32_t q)
{
    hv[j] = v, hi[j] = q;
    while (j > 0) {
        int64_t p = (j - 1) / 2;
        if (!el_peak_better(hv[p], hi[p], hv[j], hi[j])) break;
        float tv = hv[p];
        int32_t ti = hi[p];
        hv[p] = hv[j], hi[p] = hi[j];
        hv[j] = tv, hi[j] = ti;
        j = p;
    }
}

/* The heap of size elements emptied from the back: descending order, as
 * TopK. */
static void el_peak_sort(float *hv, int32_t *hi, int64_t size)
{
    for (int64_t n = size; n > 1;) {
        float tv = hv[0];
        int32_t ti = hi[0];
        n--;
        hv[0] = hv[n], hi[0] = hi[n];
        hv[n] = tv, hi[n] = ti;
        el_peak_sift(hv, hi, n, 0);
    }
}

/* Blocks of positions the prefilter tests at once. */
#define EL_PEAK_BLOCK 64

/* Root replaced by value v at position q (which passed), heap restored. */
#define EL_PEAK_ENTER(q, v)                                                                                            \
    do {                                                                                                               \
        hv[0] = (v), hi[0] = (int32_t)(q);                                                                             \
        el_peak_sift(hv, hi, size, 0);                                                                                 \
    } while (0)

/* Whole blocks from i while the root is >= 0: a block with no x above the
 * root is skipped, the others test their positions above it in order.
 * Returns where it stopped (the end's last partial block left, or just
 * after an entry that made the root negative). */
static int64_t el_peak_blocks(const el_peak_geom *g, int64_t base, int64_t i, int64_t e, float *hv, int32_t *hi,
                              int64_t size, el_peak_bound *bd)
{
    const float *x = g->x + base;
    while (i + EL_PEAK_BLOCK <= e && hv[0] >= 0.0f) {
        const float thr = el_peak_xbound(g, bd, hv[0]);
        int any = 0;
        for (int j = 0; j < EL_PEAK_BLOCK; j++) any |= x[i + j] > thr;
        float v;
        if (any)
            for (int64_t q = i; q < i + EL_PEAK_BLOCK; q++)
                if (x[q] > thr && el_peak_test(g, base + q, hv[0], &v)) {
                    EL_PEAK_ENTER(q, v);
                    if (!(hv[0] >= 0.0f)) return q + 1;
                }
        i += EL_PEAK_BLOCK;
    }
    return i;
}

#if defined(EL_CONV_X86)
/* Positions read ahead of the AVX-512 scan (8 KB): the heatmap was just
 * written by another node and is read once, from L3 or memory; the
 * prefetches took CenterNet's node from 0.70-0.80 to 0.58-0.70 ms at 1
 * thread (bench/README, "CenterNet's peak extraction"). */
#define EL_PEAK_PREFETCH 2048

/* The same with AVX-512 compares: only the positions whose bit is set
 * (x above the block's starting root) are tested, in order. */
__attribute__((target("avx512f"))) static int64_t el_peak_blocks_avx512(const el_peak_geom *g, int64_t base,
                                                                        int64_t i, int64_t e, float *hv, int32_t *hi,
                                                                        int64_t size, el_peak_bound *bd)
{
    const float *x = g->x + base;
    while (i + EL_PEAK_BLOCK <= e && hv[0] >= 0.0f) {
        const __m512 t = _mm512_set1_ps(el_peak_xbound(g, bd, hv[0]));
        if (i + EL_PEAK_PREFETCH + EL_PEAK_BLOCK <= e)
            for (int l = 0; l < EL_PEAK_BLOCK; l += 16)
                _mm_prefetch((const char *)(x + i + EL_PEAK_PREFETCH + l), _MM_HINT_T0);
        uint64_t m = (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), t, _CMP_GT_OQ) |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 16), t, _CMP_GT_OQ) << 16 |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 32), t, _CMP_GT_OQ) << 32 |
                     (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 48), t, _CMP_GT_OQ) << 48;
        while (m) {
            const int64_t q = i + __builtin_ctzll(m);
            m &= m - 1;
            float v;
            if (el_peak_test(g, base + q, hv[0], &v)) {
                EL_PEAK_ENTER(q, v);
                if (!(hv[0] >= 0.0f)) return q + 1;
            }
        }
        i += EL_PEAK_BLOCK;
    }
    return i;
}
#endif

/* The k best of positions [s, e) of the row starting at flat position
 * base, as TopK's heap finds them, sorted into hv / hi (indices relative
 * to the row); returns how many (min(k, e - s)). */
static int64_t el_peak_heap(const el_peak_geom *g, int64_t base, int64_t s, int64_t e, int64_t k, bool avx512,
                            float *hv, int32_t *hi)
{
    int64_t size = 0, i = s;
    el_peak_bound bd = {.root = NAN, .x = 0.0f};
    for (; i < e && size < k; i++) el_peak_push(hv, hi, size++, el_peak_v(g, base + i), (int32_t)i);
    while (k > 0 && i < e) {
        if (hv[0] != hv[0]) break; /* nothing is greater than NaN */
        if (hv[0] >= 0.0f && i + EL_PEAK_BLOCK <= e) {
#if defined(EL_CONV_X86)
            if (avx512) {
                i = el_peak_blocks_avx512(g, base, i, e, hv, hi, size, &bd);
                continue;
            }
#endif
            i = el_peak_blocks(g, base, i, e, hv, hi, size, &bd);
            continue;
        }
        /* The last partial block, or a negative root (x * 0 may beat it):
         * one position, its v computed. */
        const float v = el_peak_v(g, base + i);
        if (v > hv[0]) {
            hv[0] = v, hi[0] = (int32_t)i;
            el_peak_sift(hv, hi, size, 0);
        }
        i++;
    }
    el_peak_sort(hv, hi, size);
    return size;
}

/* The best-first search (el_peak_best): a row's spans of EL_PEAK_SPAN
 * positions (1 KB), their maxima taken in one streaming pass, then the
 * spans in decreasing order of maximum, until no x left can enter. The
 * heap that orders them starts with groups of EL_PEAK_GROUP spans, a
 * group's spans entering it when the group comes first: heapifying
 * CenterNet's 5120 spans took 40 us of the node's serial part, its 320
 * groups take a few, and the search expands about 60 of them. */
#define EL_PEAK_SPAN 256
#define EL_PEAK_GROUP 16

/* The maximum of x[0, n), NaNs skipped (-inf if none). */
static float el_peak_span_max(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* Bit j set where x[j] > t, j < n <= 64. */
static uint64_t el_peak_above(const float *x, int64_t n, float t)
{
    uint64_t m = 0;
    for (int64_t j = 0; j < n; j++) m |= (uint64_t)(x[j] > t) << j;
    return m;
}

#if defined(EL_CONV_X86)
/* el_peak_span_max of the nb whole spans from x into bm, on AVX-512 (max
 * with the accumulator second keeps it when x is NaN), read ahead as the
 * block scan. */
__attribute__((target("avx512f"))) static void el_peak_span_maxima_avx512(const float *x, int64_t nb, float *bm)
{
    const __m512 lo = _mm512_set1_ps(-INFINITY);
    for (int64_t b = 0; b < nb; b++) {
        const float *p = x + b * EL_PEAK_SPAN;
        if (b * EL_PEAK_SPAN + EL_PEAK_PREFETCH + EL_PEAK_SPAN <= nb * EL_PEAK_SPAN)
            for (int l = 0; l < EL_PEAK_SPAN; l += 16) _mm_prefetch((const char *)(p + EL_PEAK_PREFETCH + l), _MM_HINT_T0);
        __m512 m0 = lo, m1 = lo, m2 = lo, m3 = lo;
        for (int j = 0; j < EL_PEAK_SPAN; j += 64) {
            m0 = _mm512_max_ps(_mm512_loadu_ps(p + j), m0);
            m1 = _mm512_max_ps(_mm512_loadu_ps(p + j + 16), m1);
            m2 = _mm512_max_ps(_mm512_loadu_ps(p + j + 32), m2);
            m3 = _mm512_max_ps(_mm512_loadu_ps(p + j + 48), m3);
        }
        bm[b] = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
    }
}

typedef struct el_span_job {
    const float *x;
    float *bm;
} el_span_job;

static void el_peak_span_chunk(void *ctx, int64_t b0, int64_t b1)
{
    const el_span_job *j = ctx;
    el_peak_span_maxima_avx512(j->x + b0 * EL_PEAK_SPAN, b1 - b0, j->bm + b0);
}

__attribute__((target("avx512f"))) static uint64_t el_peak_above_avx512(const float *x, float t)
{
    const __m512 v = _mm512_set1_ps(t);
    return (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x), v, _CMP_GT_OQ) |
           (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + 16), v, _CMP_GT_OQ) << 16 |
           (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + 32), v, _CMP_GT_OQ) << 32 |
           (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(x + 48), v, _CMP_GT_OQ) << 48;
}
#endif

/* Whether every window of positions f .. f + EL_PEAK_BLOCK - 1 lies in the
 * map (one image row of pixels, none within the padding of an edge). */
static bool el_peak_interior(const el_peak_geom *g, int64_t f)
{
    const int64_t p0 = f / g->c, p1 = (f + EL_PEAK_BLOCK - 1) / g->c;
    if (p0 / g->w != p1 / g->w) return false;
    const int64_t oy = p0 / g->w % g->h, ox0 = p0 % g->w, ox1 = p1 % g->w;
    return oy >= g->ph && oy + g->kh - 1 - g->ph < g->h && ox0 >= g->pw && ox1 + g->kw - 1 - g->pw < g->w;
}

#if defined(EL_CONV_X86)
/* el_peak_beaten of the EL_PEAK_BLOCK positions from x (el_peak_interior,
 * sig_lanes > 0) as a mask: each tap's row of logits compared at once, the
 * same float compares, so the same answers. */
__attribute__((target("avx512f"))) static uint64_t el_peak_beaten_avx512(const el_peak_geom *g, const float *x)
{
    const __m512 top = _mm512_set1_ps(8.0f), gap = _mm512_set1_ps(0.04f), low = _mm512_set1_ps(-80.0f);
    uint64_t beaten = 0;
    for (int j = 0; j < EL_PEAK_BLOCK; j += 16) {
        const __m512 a = _mm512_loadu_ps(x + j);
        __mmask16 bt = 0;
        for (int l = 1; l < g->sig_lanes; l++) {
            const __m512 b = _mm512_loadu_ps(x + j + g->lane_off[l]);
            bt |= _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(b, top, _CMP_LE_OQ), _mm512_sub_ps(b, a), gap, _CMP_GT_OQ);
        }
        beaten |= (uint64_t)(bt & _mm512_cmp_ps_mask(a, low, _CMP_GE_OQ)) << j;
    }
    return beaten;
}
#endif

/* Element j of the max-heap (bm, bi) of nb spans and groups moved down
 * to its place. */
static void el_peak_span_sift(float *bm, int32_t *bi, int64_t nb, int64_t j)
{
    for (;;) {
        int64_t l = 2 * j + 1, r = l + 1, w = j;
        if (l < nb && bm[l] > bm[w]) w = l;
        if (r < nb && bm[r] > bm[w]) w = r;
        if (w == j) return;
        float tm = bm[j];
        int32_t ti = bi[j];
        bm[j] = bm[w], bi[j] = bi[w];
        bm[w] = tm, bi[w] = ti;
        j = w;
    }
}

/* Span or group i of maximum m added to the max-heap (bm, bi) as element
 * j (the heap then holds j + 1). */
static void el_peak_span_push(float *bm, int32_t *bi, int64_t j, float m, int32_t i)
{
    for (; j > 0 && bm[(j - 1) / 2] < m; j = (j - 1) / 2) {
        bm[j] = bm[(j - 1) / 2];
        bi[j] = bi[(j - 1) / 2];
    }
    bm[j] = m, bi[j] = i;
}

/* Bounds for a root > 0: x <= *t => v < root (on a plain map x below the
 * root, x * 0 zero; on a sigmoid map its Sigmoid at most the float below
 * the root, el_peak_logit_floor), and x <= *ts => v <= root (on a plain
 * map the root; on a sigmoid map *t: the logit floor's margin is far
 * wider than one float, so a tighter bound would hardly differ). */
static void el_peak_rebound(const el_peak_geom *g, float root, float *t, float *ts)
{
    if (g->sigmoid) {
        *t = *ts = el_peak_logit_floor(nextafterf(root, 0.0f));
    } else {
        *t = nextafterf(root, -INFINITY);
        *ts = root;
    }
}

/* The k best of the row at flat position base (n positions) as el_peak_heap
 * finds them, searched best first: returns false (nothing written that
 * counts) where that is not exact or fewer than k positions have v > 0.
 *
 * Why it is exact: without a NaN value among the k first positions (the
 * heap TopK fills first), TopK keeps the k first of the non-NaN values in
 * the strict total order el_peak_better (a later element enters only when
 * greater than the root, so with a lower index on a tie), whatever the
 * order they come in when each enters by that order. Only v > 0 enter
 * until k have; then a position enters when before the root, which needs
 * x > el_peak_below(root) (a tie needs v == root). A span whose maximum is
 * at or under that bound holds none, and nor do the spans after it (their
 * maxima are no greater, the bound no lower): the search stops. The
 * positions are tested as by el_peak_heap. bm: the spans' maxima (nb);
 * hm, hx: the heap of spans (hx >= 0) and groups (group -1 - hx), room
 * for nb + its groups. */
static bool el_peak_best(const el_peak_geom *g, int64_t base, int64_t n, int64_t k, bool avx512, float *bm, float *hm,
                         int32_t *hx, float *hv, int32_t *hi)
{
    const float *x = g->x + base;
    for (int64_t q = 0; q < k; q++) /* v is NaN for a NaN x and (x * 0) a plain map's -inf non-peak */
        if (x[q] != x[q] || (!g->sigmoid && x[q] == -INFINITY)) return false;
    const int64_t whole = n / EL_PEAK_SPAN, nb = (n + EL_PEAK_SPAN - 1) / EL_PEAK_SPAN;
    int64_t b = 0;
#if defined(EL_CONV_X86)
    /* The pass reads the whole map (CenterNet's 5 MB), from the cache the
     * class head's threads wrote it into: each thread reads its share. */
    el_span_job job = {x, bm};
    if (avx512) el_parallel_for(el_threadpool_current(), whole, 512, el_peak_span_chunk, &job), b = whole;
#endif
    for (; b < nb; b++) {
        const int64_t s = b * EL_PEAK_SPAN;
        bm[b] = el_peak_span_max(x + s, (s + EL_PEAK_SPAN <= n ? EL_PEAK_SPAN : n - s));
    }
    int64_t left = 0;
    for (int64_t q = 0; q * EL_PEAK_GROUP < nb; q++, left++) {
        float m = -INFINITY; /* the spans' maxima are never NaN */
        for (b = q * EL_PEAK_GROUP; b < nb && b < (q + 1) * EL_PEAK_GROUP; b++) m = bm[b] > m ? bm[b] : m;
        hm[q] = m, hx[q] = (int32_t)(-1 - q);
    }
    for (b = left / 2; b-- > 0;) el_peak_span_sift(hm, hx, left, b);

    int64_t size = 0;
    /* No x <= t can enter (before k: v > 0), nor x <= ts after the root's
     * index (no tie). */
    float t = g->sigmoid ? -INFINITY : 0.0f, ts = t;
    bool moved = false; /* the root moved since t was computed (a stale t is lower: still a bound) */
    for (;;) {
        if (moved) el_peak_rebound(g, hv[0], &t, &ts), moved = false;
        if (!(left > 0 && hm[0] > t)) break;
        const float top = hm[0];
        const int32_t id = hx[0];
        left--;
        hm[0] = hm[left], hx[0] = hx[left];
        el_peak_span_sift(hm, hx, left, 0);
        if (id < 0) {
            /* A group: its spans that may still hold an entry into the heap. */
            const int64_t q = -1 - (int64_t)id;
            for (b = q * EL_PEAK_GROUP; b < nb && b < (q + 1) * EL_PEAK_GROUP; b++)
                if (bm[b] > t) el_peak_span_push(hm, hx, left++, bm[b], (int32_t)b);
            continue;
        }
        const int64_t s = (int64_t)id * EL_PEAK_SPAN, e = s + EL_PEAK_SPAN <= n ? s + EL_PEAK_SPAN : n;
        if (size == k && s > hi[0] && !(top > ts)) continue;
        for (int64_t c = s; c < e; c += EL_PEAK_BLOCK) {
            const int64_t len = e - c < EL_PEAK_BLOCK ? e - c : EL_PEAK_BLOCK;
            /* The bounds only rise (so does the root), so the mask holds
             * every position that may enter. */
            if (moved) el_peak_rebound(g, hv[0], &t, &ts), moved = false;
            const float tc = size == k && c > hi[0] ? ts : t;
            uint64_t m;
            bool tested = false; /* the sigmoid map's el_peak_beaten taken for the block */
#if defined(EL_CONV_X86)
            if (avx512 && len == EL_PEAK_BLOCK) {
                m = el_peak_above_avx512(x + c, tc);
                if (m && g->sig_lanes && el_peak_interior(g, base + c)) {
                    m &= ~el_peak_beaten_avx512(g, x + c);
                    tested = true;
                }
            } else
#endif
                m = el_peak_above(x + c, len, tc);
            while (m) {
                const int64_t q = c + __builtin_ctzll(m);
                m &= m - 1;
                if (!(x[q] > (size == k && q > hi[0] ? ts : t))) continue; /* the root rose within the block */
                float v;
                if (g->sigmoid) {
                    if (!tested && el_peak_beaten(g, base + q)) continue;
                    v = el_peak_sig(g, base + q);
                } else {
                    if (!el_peak_passes(g, base + q, t)) continue;
                    v = x[q];
                }
                if (size < k) {
                    if (!(v > 0.0f)) continue;
                    el_peak_push(hv, hi, size++, v, (int32_t)q);
                    if (size < k) continue;
                } else {
                    if (!el_peak_better(v, (int32_t)q, hv[0], hi[0])) continue;
                    hv[0] = v, hi[0] = (int32_t)q;
                    el_peak_sift(hv, hi, size, 0);
                }
                moved = true;
            }
        }
    }
    if (size < k) return false;
    el_peak_sort(hv, hi, size);
    return true;
}

/* The shape input resolved against numel (one -1 allowed), as Reshape. */
static el_status el_peak_shape(el_kctx *ctx, int64_t numel, int64_t *dims, int *ndim)
{
    const el_tensor *sizes = &ctx->inputs[1];
    if (sizes->ndim > 1) return el_kerr(ctx, EL_ERR_RUNTIME, "shape input must be 1-D");
    int64_t v[EL_MAX_DIMS + 1];
    int n;
    EL_TRY(el_kctx_index_vector(ctx, 1, v, EL_MAX_DIMS + 1, &n));
    if (n < 1 || n > EL_MAX_DIMS) return el_kerr(ctx, EL_ERR_UNSUPPORTED, "shape of rank %d for TopK", n);
    int unknown = -1;
    int64_t product = 1;
    for (int d = 0; d < n; d++) {
        if (v[d] == -1 && unknown < 0) unknown = d;
        else if (v[d] < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "size %d of the shape is %lld", d, (long long)v[d]);
        else product *= v[d];
        dims[d] = v[d];
    }
    if (unknown >= 0) dims[unknown] = product > 0 ? numel / product : 0;
    int64_t want = 1;
    for (int d = 0; d < n; d++) want *= dims[d];
    if (want != numel)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Input to reshape is a tensor with %lld values, but the requested shape has %lld",
                       (long long)numel, (long long)want);
    *ndim = n;
    return EL_OK;
}

static el_status el_op_peak_topk(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0];
    char s[160];
    if (x->ndim != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must be 4-dimensional (NHWC), found %s",
                       el_shape_str(x->ndim, x->dims, s, sizeof s));
    bool keq = false, sig = false;
    EL_TRY(el_attr_bool(ctx->node, EL_POOL_KEEP_EQUAL_ATTR, false, &keq));
    EL_TRY(el_attr_bool(ctx->node, EL_PEAK_SIGMOID_ATTR, false, &sig));
    EL_TRY(el_window_nhwc(ctx));
    el_padding pad = EL_PAD_VALID;
    EL_TRY(el_window_padding(ctx, false, &pad));
    el_window_axis H = {.in = x->dims[1], .dilation = 1}, W = {.in = x->dims[2], .dilation = 1};
    EL_TRY(el_window_hw(ctx, "ksize", 0, &H.k, &W.k));
    EL_TRY(el_window_hw(ctx, "strides", 0, &H.stride, &W.stride));
    if (H.k <= 0 || W.k <= 0) return el_kerr(ctx, EL_ERR_RUNTIME, "ksize must be positive");
    EL_TRY(el_window_axis_size(ctx, "row", pad, &H));
    EL_TRY(el_window_axis_size(ctx, "column", pad, &W));
    if (!keq || H.out != H.in || W.out != W.in)
        return el_kerr(ctx, EL_ERR_RUNTIME, "needs a peak test (attr %s) whose output has the input's size",
                       EL_POOL_KEEP_EQUAL_ATTR);
    const int64_t numel = el_tensor_numel(x);
    int64_t dims[EL_MAX_DIMS];
    int ndim = 0;
    EL_TRY(el_peak_shape(ctx, numel, dims, &ndim));
    int64_t k;
    if (ctx->inputs[2].ndim != 0) return el_kerr(ctx, EL_ERR_RUNTIME, "k must be 0-D");
    if (ctx->inputs[2].dtype == EL_DT_INT16) k = *(const int16_t *)ctx->inputs[2].data;
    else EL_TRY(el_kctx_index_value(ctx, 2, 0, &k));
    const int64_t n = dims[ndim - 1];
    if (k < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "need k >= 0, got %lld", (long long)k);
    if (n < k)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must have at least k columns: %lld < %lld", (long long)n, (long long)k);
    if (n > INT32_MAX) return el_kerr(ctx, EL_ERR_LIMIT, "last dimension %lld exceeds int32 indices", (long long)n);
    const int64_t rows = n > 0 ? numel / n : 0;
    dims[ndim - 1] = k;
    el_tensor *tv, *ti;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, ndim, dims, &tv));
    EL_TRY(el_kctx_output(ctx, 1, EL_DT_INT32, ndim, dims, &ti));
    if (rows * k == 0) return EL_OK;

    el_peak_geom g = {.x = x->data, .h = H.in, .w = W.in, .c = x->dims[3], .kh = H.k, .kw = W.k,
                      .ph = H.pad_before, .pw = W.pad_before, .sigmoid = sig};
    bool avx512 = false;
#if defined(EL_CONV_X86)
    avx512 = el_conv_isa() >= EL_ISA_AVX512;
    /* The vector window test where the taps fit the lanes and int32 offsets. */
    if (sig && avx512 && H.k * W.k <= 15 && (H.k + H.in) * W.in * g.c < INT32_MAX / 2 && H.in < INT32_MAX / 2 &&
        W.in + W.k < INT32_MAX / 2) {
        g.sig_lanes = 1 + (int)(H.k * W.k);
        for (int l = 0; l < 16; l++) g.lane_off[l] = g.lane_dy[l] = g.lane_dx[l] = 0;
        for (int64_t ky = 0; ky < H.k; ky++)
            for (int64_t kx = 0; kx < W.k; kx++) {
                const int l = 1 + (int)(ky * W.k + kx);
                g.lane_dy[l] = (int32_t)(ky - g.ph);
                g.lane_dx[l] = (int32_t)(kx - g.pw);
                g.lane_off[l] = (int32_t)((g.lane_dy[l] * W.in + g.lane_dx[l]) * g.c);
            }
    }
#endif
    float *bm, *hm;
    int32_t *hx;
    const size_t nb = (size_t)((n + EL_PEAK_SPAN - 1) / EL_PEAK_SPAN), nh = nb + (nb + EL_PEAK_GROUP - 1) / EL_PEAK_GROUP;
    EL_TRY(el_kctx_scratch(ctx, nb * sizeof *bm, (void **)&bm));
    EL_TRY(el_kctx_scratch(ctx, nh * sizeof *hm, (void **)&hm));
    EL_TRY(el_kctx_scratch(ctx, nh * sizeof *hx, (void **)&hx));
    for (int64_t r = 0; r < rows; r++) {
        float *ov = (float *)tv->data + r * k;
        int32_t *oi = (int32_t *)ti->data + r * k;
        if (!el_peak_best(&g, r * n, n, k, avx512, bm, hm, hx, ov, oi)) el_peak_heap(&g, r * n, 0, n, k, avx512, ov, oi);
    }
    return EL_OK;
}

static int el_peak_topk_noutputs(const el_node *n)
{
    (void)n;
    return 2;
}

const el_op el_ops_peak_topk[] = {
    {"_ElPeakTopK", el_op_peak_topk, el_peak_topk_noutputs, 0},
    {NULL, NULL, NULL, 0},
};
