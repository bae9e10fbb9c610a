/* Non-maximum suppression: NonMaxSuppression (V1) to NonMaxSuppressionV5,
 * with TensorFlow's algorithm (core/kernels/image/non_max_suppression_op.cc):
 *
 * - candidates are the boxes with score > score_threshold (strictly; V1/V2
 *   use the lowest float, so every non-NaN score), taken greatest score
 *   first, equal scores by lower box index first (TF's priority queue
 *   comparator; a total order, so any heap gives TF's sequence);
 * - a box is any two opposite corners (y1, x1, y2, x2): min/max per axis;
 *   IoU is 0 when either area is <= 0;
 * - the candidate is compared with the selected boxes newest first; hard
 *   NMS drops it when IoU > iou_threshold (strictly); soft-NMS (V5 with
 *   soft_nms_sigma > 0) multiplies its score by exp(-0.5 * iou^2 / sigma)
 *   for each selected box not seen before, ignores iou_threshold, and puts
 *   it back in the queue while its score stays > score_threshold;
 * - at most max_output_size boxes; V4/V5 can pad the indices (and V5 the
 *   scores) with zeros to max_output_size and report the valid count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv_fast.h" /* el_conv_isa */
#include "ops/kernel.h"
#include "ops/nms.h"

#if defined(EL_CONV_X86)
#include <immintrin.h>
#endif

typedef struct el_nms_cand {
    int idx;
    float score;
    int begin; /* selected boxes before this one were already applied */
} el_nms_cand;

/* The order of TF's priority queue: greater score first, then lower index. */
static inline bool el_nms_before(const el_nms_cand *a, const el_nms_cand *b)
{
    return a->score > b->score || (a->score == b->score && a->idx < b->idx);
}

static void el_nms_sift_down(el_nms_cand *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, top = i;
        if (l < n && el_nms_before(&h[l], &h[top])) top = l;
        if (r < n && el_nms_before(&h[r], &h[top])) top = r;
        if (top == i) return;
        el_nms_cand t = h[i];
        h[i] = h[top];
        h[top] = t;
        i = top;
    }
}

static void el_nms_push(el_nms_cand *h, int *n, el_nms_cand c)
{
    int i = (*n)++;
    h[i] = c;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!el_nms_before(&h[i], &h[p])) break;
        el_nms_cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static el_nms_cand el_nms_pop(el_nms_cand *h, int *n)
{
    el_nms_cand top = h[0];
    h[0] = h[--(*n)];
    el_nms_sift_down(h, *n, 0);
    return top;
}

/* Eigen's numext::mini/maxi (std::min/max), NaN behaviour included. */
static inline float el_mini(float a, float b) { return b < a ? b : a; }
static inline float el_maxi(float a, float b) { return a < b ? b : a; }

/* A box with its corners ordered and its area, as TF's IOU computes them. */
typedef struct el_nms_box {
    float ymin, xmin, ymax, xmax, area;
} el_nms_box;

static inline el_nms_box el_nms_box_of(const float *boxes, int i)
{
    const float *a = boxes + 4 * (int64_t)i;
    el_nms_box b = {el_mini(a[0], a[2]), el_mini(a[1], a[3]), el_maxi(a[0], a[2]), el_maxi(a[1], a[3]), 0};
    b.area = (b.ymax - b.ymin) * (b.xmax - b.xmin);
    return b;
}

/* TF's IOU(boxes, i, j), in float, same operations in the same order; the
 * selected box's corners and area are computed once, when it is selected,
 * which gives the same values. */
static inline float el_nms_iou(const el_nms_box *a, const el_nms_box *b)
{
    if (a->area <= 0 || b->area <= 0) return 0.0f;
    float iy0 = el_maxi(a->ymin, b->ymin), ix0 = el_maxi(a->xmin, b->xmin);
    float iy1 = el_mini(a->ymax, b->ymax), ix1 = el_mini(a->xmax, b->xmax);
    float inter = el_maxi(iy1 - iy0, 0.0f) * el_maxi(ix1 - ix0, 0.0f);
    return inter / (a->area + b->area - inter);
}

/* IEEE half to float (for threshold scalars fed as float16). */
static float el_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -v : v;
}

/* A scalar threshold input: float, double or half (TF's GetScalar). */
static el_status el_nms_scalar(const el_kctx *ctx, int input, const char *name, float *out)
{
    const el_tensor *t = &ctx->inputs[input];
    char s[160];
    if (t->ndim != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "%s must be 0-D, got shape %s", name, el_shape_str(t->ndim, t->dims, s, sizeof s));
    switch (t->dtype) {
    case EL_DT_FLOAT: *out = *(const float *)t->data; return EL_OK;
    case EL_DT_DOUBLE: *out = (float)*(const double *)t->data; return EL_OK;
    case EL_DT_HALF: *out = el_half_to_float(*(const uint16_t *)t->data); return EL_OK;
    default:
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "%s should be float32, float64 or float16, found %s", name,
                       el_dtype_name(t->dtype));
    }
}

/* TF's loop as written: a queue of candidates, each compared with the
 * selected boxes newest first, soft-NMS rescoring and NaN IoUs included.
 * Returns the number selected (at most max_out). */
static int el_nms_general(const float *bd, const float *sd, int n, float iou_thr, float score_thr, float sigma,
                          int max_out, el_nms_cand *heap, int32_t *sel, float *sel_scores, el_nms_box *sel_box)
{
    int nheap = 0;
    for (int i = 0; i < n; i++)
        if (sd[i] > score_thr) heap[nheap++] = (el_nms_cand){i, sd[i], 0};
    for (int i = nheap / 2 - 1; i >= 0; i--) el_nms_sift_down(heap, nheap, i);

    const bool soft = sigma > 0.0f;
    const float scale = soft ? -0.5f / sigma : 0.0f;
    int nsel = 0;
    while (nsel < max_out && nheap > 0) {
        el_nms_cand c = el_nms_pop(heap, &nheap);
        const float original = c.score;
        const el_nms_box cb = el_nms_box_of(bd, c.idx);
        bool hard = false;
        for (int j = nsel - 1; j >= c.begin; j--) {
            float sim = el_nms_iou(&cb, &sel_box[j]);
            if (soft) {
                c.score *= expf(scale * sim * sim);
            } else {
                /* TF's hard-NMS weight: exp(0) = 1 when iou <= threshold,
                 * else 0 -- which only a NaN IoU reaches without the
                 * suppression below. */
                if (sim > iou_thr) {
                    hard = true;
                    break;
                }
                if (!(sim <= iou_thr)) c.score *= 0.0f;
            }
            if (c.score <= score_thr) break;
        }
        c.begin = nsel;
        if (hard) continue;
        if (c.score == original) {
            sel[nsel] = c.idx;
            sel_scores[nsel] = c.score;
            sel_box[nsel] = cb;
            nsel++;
        } else if (c.score > score_thr) {
            el_nms_push(heap, &nheap, c);
        }
    }
    return nsel;
}

/* The fast path: hard NMS while every box it looks at is finite.
 *
 * With finite corners and a finite area, TF's IoU is never NaN (the
 * intersection is at most the smaller area and the union is then > 0), so
 * a candidate is never re-queued: it is dropped as soon as one selected
 * box overlaps it by more than the threshold, whatever the order the
 * selected boxes are compared in. That lets the comparison run over all
 * selected boxes at once in vectorizable blocks, and the priority queue
 * hold one 64-bit key per box: the score's bits made order-preserving
 * (-0.0 as +0.0, which TF's < treats as equal) above the complemented
 * index, so a greater key is TF's "greater score, then lower index". */

/* Selected boxes as arrays, one per field (for the vector loop). */
typedef struct el_nms_soa {
    float *ymin, *xmin, *ymax, *xmax, *area;
} el_nms_soa;

static inline uint64_t el_nms_key(float score, int64_t idx)
{
    union { float f; uint32_t u; } v = {score + 0.0f}; /* -0.0 + 0.0 = +0.0 */
    uint32_t ord = (v.u & 0x80000000u) ? ~v.u : (v.u | 0x80000000u);
    return ((uint64_t)ord << 32) | (uint32_t)(0xFFFFFFFFu - (uint32_t)idx);
}

/* Max-heap of n keys followed by a 0 sentinel (every key is > 0: even
 * -inf's order bits are), so the greater child is chosen without a bounds
 * test or a branch. */
static void el_nms_key_sift(uint64_t *h, int n, int i)
{
    const uint64_t v = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        c += h[c + 1] > h[c];
        if (h[c] <= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

static inline bool el_nms_finite(float v) { return v - v == 0.0f; }

/* True when box b's IoU with one of the n selected boxes is > thr. The
 * IoU is TF's expression, operation for operation; a zero-area box on
 * either side has IoU 0. The arrays are padded with zero-area boxes to a
 * whole block, so every block is one fixed-length vector loop. */
#define EL_NMS_BLOCK 16
static bool el_nms_overlaps(const el_nms_soa *s, int n, const el_nms_box *b, float thr)
{
    if (!(b->area > 0.0f)) return false;
    for (int j0 = 0; j0 < n; j0 += EL_NMS_BLOCK) {
        int hit = 0;
        for (int j = j0; j < j0 + EL_NMS_BLOCK; j++) {
            float iy0 = el_maxi(b->ymin, s->ymin[j]), ix0 = el_maxi(b->xmin, s->xmin[j]);
            float iy1 = el_mini(b->ymax, s->ymax[j]), ix1 = el_mini(b->xmax, s->xmax[j]);
            float inter = el_maxi(iy1 - iy0, 0.0f) * el_maxi(ix1 - ix0, 0.0f);
            float iou = inter / (b->area + s->area[j] - inter);
            hit |= (s->area[j] > 0.0f) & (iou > thr);
        }
        if (hit) return true;
    }
    return false;
}

#if defined(EL_CONV_X86)
/* The same test with one AVX-512 vector per block (only reached when the
 * CPU has AVX-512F). Every box here is finite, so max/min need no NaN
 * rule, and each lane does TF's operations in TF's order: the results are
 * the portable loop's, bit for bit. */
__attribute__((target("avx512f"))) static bool el_nms_overlaps_avx512(const el_nms_soa *s, int n,
                                                                      const el_nms_box *b, float thr)
{
    if (!(b->area > 0.0f)) return false;
    const __m512 by0 = _mm512_set1_ps(b->ymin), bx0 = _mm512_set1_ps(b->xmin);
    const __m512 by1 = _mm512_set1_ps(b->ymax), bx1 = _mm512_set1_ps(b->xmax);
    const __m512 ba = _mm512_set1_ps(b->area), t = _mm512_set1_ps(thr), zero = _mm512_setzero_ps();
    for (int j = 0; j < n; j += EL_NMS_BLOCK) {
        const __m512 sa = _mm512_loadu_ps(s->area + j);
        __m512 iy0 = _mm512_max_ps(by0, _mm512_loadu_ps(s->ymin + j));
        __m512 ix0 = _mm512_max_ps(bx0, _mm512_loadu_ps(s->xmin + j));
        __m512 iy1 = _mm512_min_ps(by1, _mm512_loadu_ps(s->ymax + j));
        __m512 ix1 = _mm512_min_ps(bx1, _mm512_loadu_ps(s->xmax + j));
        __m512 inter = _mm512_mul_ps(_mm512_max_ps(_mm512_sub_ps(iy1, iy0), zero),
                                     _mm512_max_ps(_mm512_sub_ps(ix1, ix0), zero));
        __m512 iou = _mm512_div_ps(inter, _mm512_sub_ps(_mm512_add_ps(ba, sa), inter));
        __mmask16 pos = _mm512_cmp_ps_mask(sa, zero, _CMP_GT_OQ);
        if (_mm512_mask_cmp_ps_mask(pos, iou, t, _CMP_GT_OQ)) return true;
    }
    return false;
}
#endif

/* Candidates in batches when there are many: the OD API asks for about 100
 * boxes per class out of thousands and has them after a few hundred
 * candidates, so building a heap of every key is mostly wasted. A batch is
 * every key at or above a threshold (the EL_NMS_SAMPLE-th greatest of every
 * EL_NMS_STRIDE-th key, so about EL_NMS_SAMPLE * EL_NMS_STRIDE keys): every
 * key of a batch is greater than every key left, so popping batch after
 * batch gives the keys in TF's order. Few samples: the sampling's
 * insertions cost more than a batch somewhat larger or smaller than
 * planned (4 of every 32nd key: coco's NMS 1.41 -> 1.20 ms against 16 of
 * every 8th). Fewer samples when few boxes are still wanted (the fused
 * NMS's first rounds ask for 8, ops/multiclass_nms.c): about two keys per
 * box wanted, as the OD API's classes pop about 1.7 per box selected, so
 * the batch's sort is not 16 times larger than needed. */
#define EL_NMS_STRIDE 32
#define EL_NMS_SAMPLE 4

#if defined(EL_CONV_X86)
/* The split of el_nms_next_batch, eight keys per step with compress
 * stores (AVX-512F); each side keeps the keys' order, as the scalar loop
 * does. q is rewritten in place: the rest never passes the keys read.
 * Returns the batch's size (the rest's is rem minus it). */
__attribute__((target("avx512f"))) static int el_nms_split_avx512(uint64_t *q, int rem, uint64_t *batch, uint64_t t)
{
    const __m512i vt = _mm512_set1_epi64((long long)t);
    int nb = 0, nr = 0;
    for (int i = 0; i < rem; i += 8) {
        const __mmask8 live = rem - i >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (rem - i)) - 1);
        const __m512i k = _mm512_maskz_loadu_epi64(live, q + i);
        const __mmask8 in = _mm512_mask_cmp_epu64_mask(live, k, vt, _MM_CMPINT_NLT);
        const __mmask8 out = live & (__mmask8)~in;
        _mm512_mask_compressstoreu_epi64(batch + nb, in, k);
        _mm512_mask_compressstoreu_epi64(q + nr, out, k);
        nb += __builtin_popcount(in);
        nr += __builtin_popcount(out);
    }
    return nb;
}
#endif

#if defined(EL_CONV_X86)
/* A batch of at most EL_NMS_SORT keys is sorted at once (greatest first,
 * into out) instead of popped from a heap: each key's place is the count
 * of keys ahead of it, 16 score words per compare, with no dependent load
 * chain per pop. A batch lists its keys by ascending box index (the keys
 * are built in box order and the split keeps it), so a key is behind every
 * greater score and every equal score at an earlier position: TF's order.
 * ord has room for n rounded up to 16. */
#define EL_NMS_SORT 256
__attribute__((target("avx512f"))) static void el_nms_sort_avx512(const uint64_t *k, int n, uint32_t *ord,
                                                                  uint64_t *out)
{
    const int padded = (n + 15) & ~15;
    for (int i = 0; i < n; i++) ord[i] = (uint32_t)(k[i] >> 32);
    for (int i = n; i < padded; i++) ord[i] = 0; /* below every key's score word (even -inf's) */
    for (int i = 0; i < n; i++) {
        const __m512i oi = _mm512_set1_epi32((int)ord[i]);
        const int ib = i & ~15;
        const __mmask16 before = (__mmask16)((1u << (i - ib)) - 1u), after = (__mmask16)~((2u << (i - ib)) - 1u);
        int r = 0;
        for (int j = 0; j < ib; j += 16)
            r += __builtin_popcount(_mm512_cmp_epu32_mask(_mm512_loadu_si512(ord + j), oi, _MM_CMPINT_NLT));
        const __m512i v = _mm512_loadu_si512(ord + ib);
        r += __builtin_popcount(_mm512_mask_cmp_epu32_mask(before, v, oi, _MM_CMPINT_NLT)) +
             __builtin_popcount(_mm512_mask_cmp_epu32_mask(after, v, oi, _MM_CMPINT_NLE));
        for (int j = ib + 16; j < padded; j += 16)
            r += __builtin_popcount(_mm512_cmp_epu32_mask(_mm512_loadu_si512(ord + j), oi, _MM_CMPINT_NLE));
        out[r] = k[i];
    }
}
#endif

/* Moves the next batch of the rem keys q to `batch` (room for rem + 1) and
 * the others to the front of q; returns its size. */
static int el_nms_next_batch(uint64_t *q, int rem, int samples, uint64_t *batch, bool avx512)
{
    uint64_t top[EL_NMS_SAMPLE]; /* greatest sampled keys, descending */
    int ntop = 0;
    for (int i = 0; i < rem; i += EL_NMS_STRIDE) {
        const uint64_t k = q[i];
        if (ntop == samples && k <= top[samples - 1]) continue;
        int j = ntop < samples ? ntop++ : samples - 1;
        for (; j > 0 && top[j - 1] < k; j--) top[j] = top[j - 1];
        top[j] = k;
    }
    const uint64_t t = top[ntop - 1];
#if defined(EL_CONV_X86)
    if (avx512) return el_nms_split_avx512(q, rem, batch, t);
#else
    (void)avx512;
#endif
    int nb = 0, nr = 0;
    for (int i = 0; i < rem; i++) { /* branch-free: each key goes to both, one count advances */
        const uint64_t k = q[i];
        const int in = k >= t;
        batch[nb] = k;
        q[nr] = k;
        nb += in;
        nr += !in;
    }
    return nb;
}

/* Hard NMS over finite boxes. Returns the number selected, or -1 when a
 * box it had to look at is not finite (nothing is decided yet then: the
 * caller runs the general loop, which gives TF's answer for those too).
 * `heap` has room for 2 * (n + 1) keys, `sel` for max_out boxes and
 * `s` for max_out rounded up to a whole EL_NMS_BLOCK. */
static inline __attribute__((always_inline)) int el_nms_hard_finite_body(const float *bd, const float *sd, int n,
                                                                        float iou_thr, float score_thr, int max_out,
                                                                        uint64_t *heap, el_nms_soa *s, int32_t *sel,
                                                                        bool avx512)
{
    int m = 0;
    for (int i = 0; i < n; i++) m += sd[i] > score_thr;
    if (m == n) { /* every box is a candidate (the OD API's 1e-8 threshold): a vector loop */
        for (int i = 0; i < n; i++) heap[i] = el_nms_key(sd[i], i);
    } else {
        m = 0;
        for (int i = 0; i < n; i++) { /* branch-free: a rejected box's key is overwritten */
            heap[m] = el_nms_key(sd[i], i);
            m += sd[i] > score_thr;
        }
    }
#if !defined(EL_CONV_X86)
#define el_nms_overlaps_avx512 el_nms_overlaps
#endif
    int nsel = 0;
    uint64_t *const batch = heap + n + 1, *h = heap;
    /* keys in the heap h, or in sorted[ns..] when the batch was sorted; the
     * m keys in `heap` (h == heap: its front) are not batched yet */
    int hn = 0, ns = -1;
#if defined(EL_CONV_X86)
    uint64_t sorted[EL_NMS_SORT];
    uint32_t ord[EL_NMS_SORT];
#endif
    while (nsel < max_out && (hn > 0 || m > 0)) {
        if (hn == 0) {
            const int want = 2 * (max_out - nsel), samples =
                want >= EL_NMS_SAMPLE * EL_NMS_STRIDE ? EL_NMS_SAMPLE : 1 + want / EL_NMS_STRIDE;
            const bool split = m > 4 * samples * EL_NMS_STRIDE;
            h = split ? batch : heap;
            hn = split ? el_nms_next_batch(heap, m, samples, batch, avx512) : m;
            m -= hn;
            ns = -1;
#if defined(EL_CONV_X86)
            if (avx512 && hn <= EL_NMS_SORT) {
                el_nms_sort_avx512(h, hn, ord, sorted);
                ns = 0;
            }
#endif
            if (ns < 0) {
                h[hn] = 0;
                for (int i = hn / 2 - 1; i >= 0; i--) el_nms_key_sift(h, hn, i);
            }
        }
        uint64_t key;
#if defined(EL_CONV_X86)
        if (ns >= 0) {
            key = sorted[ns++];
            hn--;
        } else
#endif
        {
            key = h[0];
            h[0] = h[--hn];
            h[hn] = 0;
            el_nms_key_sift(h, hn, 0);
        }
        const int idx = (int)(0xFFFFFFFFu - (uint32_t)key);
        const float *a = bd + 4 * (int64_t)idx;
        const el_nms_box b = el_nms_box_of(bd, idx);
        if (!(el_nms_finite(a[0]) && el_nms_finite(a[1]) && el_nms_finite(a[2]) && el_nms_finite(a[3]) &&
              el_nms_finite(b.area)))
            return -1;
        if (avx512 ? el_nms_overlaps_avx512(s, nsel, &b, iou_thr) : el_nms_overlaps(s, nsel, &b, iou_thr)) continue;
        s->ymin[nsel] = b.ymin;
        s->xmin[nsel] = b.xmin;
        s->ymax[nsel] = b.ymax;
        s->xmax[nsel] = b.xmax;
        s->area[nsel] = b.area;
        sel[nsel++] = idx;
        if (nsel % EL_NMS_BLOCK == 0) /* the next block starts empty */
            for (int j = nsel; j < nsel + EL_NMS_BLOCK; j++)
                s->ymin[j] = s->xmin[j] = s->ymax[j] = s->xmax[j] = s->area[j] = 0.0f;
    }
    return nsel;
}

#if defined(EL_CONV_X86)
/* The loop compiled for AVX-512 as a whole, so the overlap test inlines
 * into it. */
__attribute__((target("avx512f"))) static int el_nms_hard_finite_avx512(const float *bd, const float *sd, int n,
                                                                        float iou_thr, float score_thr, int max_out,
                                                                        uint64_t *heap, el_nms_soa *s, int32_t *sel)
{
    return el_nms_hard_finite_body(bd, sd, n, iou_thr, score_thr, max_out, heap, s, sel, true);
}
#endif

static int el_nms_hard_finite(const float *bd, const float *sd, int n, float iou_thr, float score_thr, int max_out,
                              uint64_t *heap, el_nms_soa *s, int32_t *sel)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) /* tests force the portable loops */
        return el_nms_hard_finite_avx512(bd, sd, n, iou_thr, score_thr, max_out, heap, s, sel);
#endif
    return el_nms_hard_finite_body(bd, sd, n, iou_thr, score_thr, max_out, heap, s, sel, false);
}

/* One block: the queue (a key or a candidate per box), then the selected
 * boxes' corners and areas (padded to whole blocks for the fast path). */
static size_t el_nms_queue_bytes(int64_t n)
{
    const size_t kbytes = 8 * 2 * (size_t)(n + 1), cbytes = sizeof(el_nms_cand) * (size_t)(n + 1);
    return ((kbytes > cbytes ? kbytes : cbytes) + 15) & ~(size_t)15;
}

static int64_t el_nms_padded(int64_t cap) { return (cap / EL_NMS_BLOCK + 1) * EL_NMS_BLOCK; }

size_t el_nms_scratch_size(int64_t n, int64_t cap)
{
    return el_nms_queue_bytes(n) + (size_t)el_nms_padded(cap) * sizeof(el_nms_box);
}

int el_nms_select(const float *bd, const float *sd, int n, float iou_thr, float score_thr, float sigma, int cap,
                  void *scratch, int32_t *sel, float *sel_scores)
{
    char *block = scratch;
    const int64_t padded = el_nms_padded(cap);
    el_nms_box *sel_box = (el_nms_box *)(block + el_nms_queue_bytes(n));
    int nsel = -1;
    if (!(sigma > 0.0f)) {
        float *f = (float *)sel_box;
        el_nms_soa soa = {f, f + padded, f + 2 * padded, f + 3 * padded, f + 4 * padded};
        for (int j = 0; j < EL_NMS_BLOCK; j++)
            soa.ymin[j] = soa.xmin[j] = soa.ymax[j] = soa.xmax[j] = soa.area[j] = 0.0f;
        nsel = el_nms_hard_finite(bd, sd, n, iou_thr, score_thr, cap, (uint64_t *)block, &soa, sel);
        for (int i = 0; i < nsel; i++) sel_scores[i] = sd[sel[i]];
    }
    if (nsel < 0)
        nsel = el_nms_general(bd, sd, n, iou_thr, score_thr, sigma, cap, (el_nms_cand *)block, sel, sel_scores,
                              sel_box);
    return nsel;
}

static el_status el_nms_run(el_kctx *ctx, int version)
{
    static const int nin[6] = {0, 3, 4, 5, 5, 6};
    EL_TRY(el_kctx_need_inputs(ctx, nin[version]));
    const el_tensor *boxes = &ctx->inputs[0], *scores = &ctx->inputs[1], *maxo = &ctx->inputs[2];
    char s1[160];
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_FLOAT));
    EL_TRY(el_kctx_need_dtype(ctx, 1, EL_DT_FLOAT));
    if (maxo->ndim != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "max_output_size must be 0-D, got shape %s",
                       el_shape_str(maxo->ndim, maxo->dims, s1, sizeof s1));
    int64_t max_out;
    EL_TRY(el_kctx_index_value(ctx, 2, 0, &max_out));

    float iou_thr = 0.5f, score_thr = -3.40282347e38f /* lowest float */, sigma = 0.0f;
    if (version == 1) EL_TRY(el_attr_float(ctx->node, "iou_threshold", 0.5f, &iou_thr));
    else EL_TRY(el_nms_scalar(ctx, 3, "iou_threshold", &iou_thr));
    if (!(iou_thr >= 0.0f && iou_thr <= 1.0f))
        return el_kerr(ctx, EL_ERR_RUNTIME, "iou_threshold must be in [0, 1], found %g", (double)iou_thr);
    if (version >= 3) EL_TRY(el_nms_scalar(ctx, 4, "score_threshold", &score_thr));
    if (version >= 5) {
        EL_TRY(el_nms_scalar(ctx, 5, "soft_nms_sigma", &sigma));
        if (!(sigma >= 0.0f)) return el_kerr(ctx, EL_ERR_RUNTIME, "soft_nms_sigma must be >= 0, found %g", (double)sigma);
    }
    bool pad = false;
    if (version >= 4) EL_TRY(el_attr_bool(ctx->node, "pad_to_max_output_size", false, &pad));

    if (boxes->ndim != 2)
        return el_kerr(ctx, EL_ERR_RUNTIME, "boxes must be 2-D, got shape %s",
                       el_shape_str(boxes->ndim, boxes->dims, s1, sizeof s1));
    if (boxes->dims[1] != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "boxes must have 4 columns, found %lld", (long long)boxes->dims[1]);
    int64_t nboxes = boxes->dims[0];
    if (scores->ndim != 1 || scores->dims[0] != nboxes)
        return el_kerr(ctx, EL_ERR_RUNTIME, "scores must be 1-D with %lld values (one per box), got shape %s",
                       (long long)nboxes, el_shape_str(scores->ndim, scores->dims, s1, sizeof s1));
    if (nboxes > INT32_MAX) return el_kerr(ctx, EL_ERR_LIMIT, "%lld boxes: at most 2^31-1 supported", (long long)nboxes);
    if (max_out < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "output size must be non-negative, found %lld", (long long)max_out);
    if (max_out > INT32_MAX) return el_kerr(ctx, EL_ERR_RUNTIME, "max_output_size %lld exceeds int32", (long long)max_out);

    const int64_t cap = max_out < nboxes ? max_out : nboxes;
    char *block;
    EL_TRY(el_kctx_scratch(ctx, el_nms_scratch_size(nboxes, cap) + (size_t)cap * (sizeof(int32_t) + sizeof(float)),
                           (void **)&block));
    int32_t *sel = (int32_t *)(block + el_nms_scratch_size(nboxes, cap));
    float *sel_scores = (float *)(sel + cap);
    const int nsel = el_nms_select(boxes->data, scores->data, (int)nboxes, iou_thr, score_thr, sigma, (int)cap, block,
                                   sel, sel_scores);

    int64_t nout = pad ? max_out : nsel;
    el_tensor *ti = NULL, *ts = NULL, *tv = NULL;
    el_status s = el_kctx_output(ctx, 0, EL_DT_INT32, 1, &nout, &ti);
    if (s == EL_OK && version == 5) s = el_kctx_output(ctx, 1, EL_DT_FLOAT, 1, &nout, &ts);
    if (s == EL_OK && version >= 4) s = el_kctx_output(ctx, version == 5 ? 2 : 1, EL_DT_INT32, 0, NULL, &tv);
    if (s == EL_OK) {
        int32_t *oi = ti->data;
        for (int64_t i = 0; i < nout; i++) oi[i] = i < nsel ? sel[i] : 0;
        if (ts) {
            float *os = ts->data;
            for (int64_t i = 0; i < nout; i++) os[i] = i < nsel ? sel_scores[i] : 0.0f;
        }
        if (tv) *(int32_t *)tv->data = nsel;
    }
    return s;
}

static el_status el_op_nms_v1(el_kctx *ctx) { return el_nms_run(ctx, 1); }
static el_status el_op_nms_v2(el_kctx *ctx) { return el_nms_run(ctx, 2); }
static el_status el_op_nms_v3(el_kctx *ctx) { return el_nms_run(ctx, 3); }
static el_status el_op_nms_v4(el_kctx *ctx) { return el_nms_run(ctx, 4); }
static el_status el_op_nms_v5(el_kctx *ctx) { return el_nms_run(ctx, 5); }

static int el_nms_two(const el_node *n) { (void)n; return 2; }
static int el_nms_three(const el_node *n) { (void)n; return 3; }

const el_op el_ops_nms[] = {
    {"NonMaxSuppression", el_op_nms_v1, NULL, 0},
    {"NonMaxSuppressionV2", el_op_nms_v2, NULL, 0},
    {"NonMaxSuppressionV3", el_op_nms_v3, NULL, 0},
    {"NonMaxSuppressionV4", el_op_nms_v4, el_nms_two, 0},
    {"NonMaxSuppressionV5", el_op_nms_v5, el_nms_three, 0},
    {NULL, NULL, NULL, 0},
};
