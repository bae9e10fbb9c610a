/* _ElMultiClassNms (see ops/multiclass_nms.h): what the OD API's per-class
 * chains compute, with the same float operations in the same order:
 * Greater(score, threshold), the window clip as ClipToWindow's Minimum then
 * Maximum (TF's NaN-propagating min / max, as ops/elementwise.c computes
 * them), the area as Sub, Sub, Mul, Greater(area, min_area), the NMS core
 * of the NonMaxSuppression kernels (ops/nms.h) and 0.0f + class for the
 * class field (ZerosLike, Add). The session's threads claim the classes
 * one at a time (their work varies with the candidates the NMS pops, and
 * a thread may start late), each class into its own slots, concatenated
 * in class order, so the bits do not depend on the thread count. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h" /* el_conv_isa */
#include "ops/kernel.h"
#include "ops/multiclass_nms.h"
#include "ops/nms.h"

#if defined(EL_CONV_X86)
#include <immintrin.h>
#endif

static inline float el_mcnms_max(float x, float y) { return isnan(x) ? x : isnan(y) ? y : (x < y ? y : x); }
static inline float el_mcnms_min(float x, float y) { return isnan(x) ? x : isnan(y) ? y : (y < x ? y : x); }

typedef struct el_mcnms_job {
    const float *scores, *boxes, *window;
    int64_t ncols, rows, nboxes;
    float thr, area, iou, nms_thr;
    int64_t max_size, cap; /* cap: at most selected per class, min(max_size, rows) */
    /* Per thread: the candidates' boxes, scores and rows (rows + 1 each),
     * the NMS scratch, the selection. */
    char *thread_mem;
    size_t thread_bytes, nms_off, sel_off;
    float *clipped; /* per box: clipped corners */
    uint8_t *keep;  /* per box: clipped area > min_area */
    /* Per class: how many selected (or -1 - the row a Gather would reject),
     * their boxes and scores (cap each). */
    int64_t *count;
    float *out_boxes, *out_scores;
    int64_t nk;
    /* Each class's scores (min(rows, boxes) each); the round's selection
     * cap and floor (candidates below it are left out; see EL_MCNMS_TOP). */
    float *columns;
    int64_t *again; /* NULL, or the classes the round runs (its first nk) */
    int64_t round_cap;
    float floor;
    /* With a top, the first round: each class's floor raised to a sampled
     * score of its column (el_mcnms_sampled), kept per class in ran_floor. */
    bool sample;
    float *ran_floor;
    _Atomic int64_t next; /* the first class not claimed yet */
} el_mcnms_job;

#if defined(EL_CONV_X86)
/* el_mcnms_take sixteen rows per step, with compress stores. */
__attribute__((target("avx512f"))) static int64_t el_mcnms_take_avx512(const float *col, const uint8_t *keep,
                                                                      int64_t lim, float thr, float floor, float *cs,
                                                                      int32_t *take, int64_t *done)
{
    const __m512 vt = _mm512_set1_ps(thr), vf = _mm512_set1_ps(floor);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t n = 0, i = 0;
    for (; i + 16 <= lim; i += 16, idx = _mm512_add_epi32(idx, step)) {
        const __m512 v = _mm512_loadu_ps(col + i);
        const __m512i k = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(keep + i)));
        const __mmask16 m = _mm512_cmp_ps_mask(v, vt, _CMP_GT_OQ) & _mm512_cmp_ps_mask(v, vf, _CMP_GE_OQ) &
                            _mm512_test_epi32_mask(k, k);
        _mm512_mask_compressstoreu_ps(cs + n, m, v);
        _mm512_mask_compressstoreu_epi32(take + n, m, idx);
        n += __builtin_popcount(m);
    }
    *done = i;
    return n;
}
#endif

/* The candidates of a column: rows i < lim with score > thr, >= floor and
 * keep[i], their scores into cs and their rows into take (in row order);
 * returns how many. */
static int64_t el_mcnms_take(const float *col, const uint8_t *keep, int64_t lim, float thr, float floor, float *cs,
                             int32_t *take)
{
    int64_t n = 0, i = 0;
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) n = el_mcnms_take_avx512(col, keep, lim, thr, floor, cs, take, &i);
#endif
    for (; i < lim; i++) { /* branch-free: a row not taken is overwritten */
        const float v = col[i];
        cs[n] = v;
        take[n] = (int32_t)i;
        n += (v > thr) & (v >= floor) & keep[i];
    }
    return n;
}

/* A score of the column below which the first round need not look: the
 * k-th greatest of every EL_MCNMS_STRIDE-th score, k chosen so that about
 * 8 * cap scores are at or above it (the OD API's classes pop about 1.7
 * candidates per box selected); -INFINITY when the column is short or the
 * sample holds too few numbers. A class that runs out of candidates then
 * has every selection >= it, not all of them (el_mcnms_widen). */
#define EL_MCNMS_STRIDE 32
static float el_mcnms_sampled(const float *col, int64_t lim, int64_t cap)
{
    const int64_t k = (8 * cap + EL_MCNMS_STRIDE - 1) / EL_MCNMS_STRIDE;
    if (k > 8 || lim < 4 * k * EL_MCNMS_STRIDE) return -INFINITY;
    float top[8]; /* greatest sampled scores, descending */
    int64_t ntop = 0;
    for (int64_t i = 0; i < lim; i += EL_MCNMS_STRIDE) {
        const float v = col[i];
        if (!(v == v) || (ntop == k && v <= top[k - 1])) continue; /* NaN never leads */
        int64_t q = ntop < k ? ntop++ : k - 1;
        for (; q > 0 && top[q - 1] < v; q--) top[q] = top[q - 1];
        top[q] = v;
    }
    return ntop == k ? top[k - 1] : -INFINITY;
}

/* Class c: its candidates (score > threshold, clipped area > min_area,
 * score >= floor) and TF's NMS over them, at most round_cap selected. */
static void el_mcnms_class(const el_mcnms_job *j, int64_t c, char *mem)
{
    float *cb = (float *)mem, *cs = cb + 4 * (j->rows + 1);
    void *nms = mem + j->nms_off;
    int32_t *sel = (int32_t *)(mem + j->sel_off);
    float *sel_scores = (float *)(sel + j->cap);
    /* Rows past the boxes fail the filter's Gather if a score takes them. */
    const int64_t rows = j->rows, stride = j->ncols, lim = rows < j->nboxes ? rows : j->nboxes;
    const float *sp = j->scores + c, *clipped = j->clipped, *col = j->columns + lim * c, thr = j->thr;
    const uint8_t *keep = j->keep;
    for (int64_t i = lim; i < rows; i++)
        if (sp[i * stride] > thr) {
            j->count[c] = -1 - i;
            return;
        }
    float floor = j->floor;
    if (j->sample) {
        const float s = el_mcnms_sampled(col, lim, j->round_cap);
        if (s > floor) floor = s;
    }
    if (j->ran_floor) j->ran_floor[c] = floor;
    /* The rows taken (their scores in cs, their rows in take), and the
     * boxes: every row taken is the OD API's case (its 1e-8 threshold,
     * boxes inside the window, no floor), and the column and the clipped
     * boxes are then the candidates as they are. */
    int32_t *take = (int32_t *)(cs + j->rows + 1);
    const int64_t n = el_mcnms_take(col, keep, lim, thr, floor, cs, take);
    const float *boxes = clipped, *scores = col;
    if (n < lim) {
        for (int64_t k = 0; k < n; k++) memcpy(cb + 4 * k, clipped + 4 * (int64_t)take[k], 4 * sizeof(float));
        boxes = cb, scores = cs;
    }
    int64_t max_out = n < j->max_size ? n : j->max_size; /* Minimum(max_size, boxes) */
    if (max_out > j->round_cap) max_out = j->round_cap;
    const int nsel = el_nms_select(boxes, scores, (int)n, j->iou, j->nms_thr, 0.0f, (int)max_out, nms, sel, sel_scores);
    float *ob = j->out_boxes + 4 * j->cap * c, *os = j->out_scores + j->cap * c;
    for (int i = 0; i < nsel; i++) {
        memcpy(ob + 4 * i, boxes + 4 * (int64_t)sel[i], 4 * sizeof(float));
        os[i] = scores[sel[i]];
    }
    j->count[c] = nsel;
}

/* Rows [b0, b1) of blocks of EL_MCNMS_TBLOCK: the score columns of the
 * classes, one after another (each class then reads its column at unit
 * stride instead of one float per row's cache line). A block's rows stay
 * in L1 while every class takes its part. */
#define EL_MCNMS_TBLOCK 64
#if defined(EL_CONV_X86)
/* Sixteen rows of a column per gather; returns the first row not done. */
__attribute__((target("avx512f"))) static int64_t el_mcnms_transpose_avx512(const el_mcnms_job *j, int64_t lim,
                                                                           int64_t i0, int64_t i1)
{
    const __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)j->ncols));
    int64_t i = i0;
    for (; i + 16 <= i1; i += 16)
        for (int64_t c = 0; c < j->nk; c++)
            _mm512_storeu_ps(j->columns + lim * c + i, _mm512_i32gather_ps(rows, j->scores + i * j->ncols + c, 4));
    return i;
}
#endif

static void el_mcnms_transpose(void *vj, int64_t b0, int64_t b1)
{
    const el_mcnms_job *j = vj;
    const int64_t lim = j->rows < j->nboxes ? j->rows : j->nboxes;
    const int64_t i1 = b1 * EL_MCNMS_TBLOCK < lim ? b1 * EL_MCNMS_TBLOCK : lim;
    int64_t i0 = b0 * EL_MCNMS_TBLOCK;
#if defined(EL_CONV_X86)
    /* 16 * ncols * 4 bytes apart at most: int32 offsets (ncols < 2^27) */
    if (el_conv_isa() >= EL_ISA_AVX512 && j->ncols < (1 << 27)) i0 = el_mcnms_transpose_avx512(j, lim, i0, i1);
#endif
    for (int64_t c = 0; c < j->nk; c++) {
        float *col = j->columns + lim * c;
        const float *sp = j->scores + c;
        for (int64_t i = i0; i < i1; i++) col[i] = sp[i * j->ncols];
    }
}

#if defined(EL_CONV_X86)
/* el_mcnms_min / el_mcnms_max of x and y lane by lane (y the window): the
 * instruction gives the scalar rule's answer unless y alone is NaN. */
__attribute__((target("avx512f"))) static inline __m512 el_mcnms_fix_nan(__m512 r, __m512 x, __m512 y)
{
    const __mmask16 y_only = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q) & ~_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(r, y_only, y);
}

/* el_mcnms_clip four boxes per vector: the same min, max, differences
 * and product per box. Returns the boxes done. */
__attribute__((target("avx512f"))) static int64_t el_mcnms_clip_avx512(el_mcnms_job *j, int64_t n)
{
    const float *w = j->window;
    const __m512 hi = _mm512_setr4_ps(w[2], w[3], w[2], w[3]), lo = _mm512_setr4_ps(w[0], w[1], w[0], w[1]);
    const __m512 min_area = _mm512_set1_ps(j->area);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m512 b = _mm512_loadu_ps(j->boxes + 4 * i);
        const __m512 m = el_mcnms_fix_nan(_mm512_min_ps(hi, b), b, hi); /* (hi < b) ? hi : b */
        const __m512 o = el_mcnms_fix_nan(_mm512_max_ps(lo, m), m, lo); /* (lo > m) ? lo : m */
        _mm512_storeu_ps(j->clipped + 4 * i, o);
        /* lane 0 of each box: (o2 - o0) * (o3 - o1) */
        const __m512 d = _mm512_sub_ps(_mm512_permute_ps(o, _MM_SHUFFLE(1, 0, 3, 2)), o);
        const __m512 area = _mm512_mul_ps(d, _mm512_permute_ps(d, _MM_SHUFFLE(2, 3, 0, 1)));
        const unsigned k = _mm512_cmp_ps_mask(area, min_area, _CMP_GT_OQ);
        for (int q = 0; q < 4; q++) j->keep[i + q] = (k >> (4 * q)) & 1;
    }
    return i;
}
#endif

/* The clip and the area test depend on the box alone: done once for all
 * classes, for the rows a class can take (below rows and the box count). */
static void el_mcnms_clip(el_mcnms_job *j, int64_t n)
{
    const float *w = j->window;
    int64_t i = 0;
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) i = el_mcnms_clip_avx512(j, n); /* tests force the portable loop */
#endif
    for (; i < n; i++) {
        const float *b = j->boxes + 4 * i;
        float *o = j->clipped + 4 * i;
        o[0] = el_mcnms_max(el_mcnms_min(b[0], w[2]), w[0]);
        o[1] = el_mcnms_max(el_mcnms_min(b[1], w[3]), w[1]);
        o[2] = el_mcnms_max(el_mcnms_min(b[2], w[2]), w[0]);
        o[3] = el_mcnms_max(el_mcnms_min(b[3], w[3]), w[1]);
        const float area = (o[2] - o[0]) * (o[3] - o[1]);
        j->keep[i] = area > j->area;
    }
}

/* One per thread: classes until none is left. */
static void el_mcnms_thread(void *vj, int64_t t0, int64_t t1)
{
    (void)t0, (void)t1;
    el_mcnms_job *j = vj;
    char *mem = j->thread_mem + j->thread_bytes * (size_t)el_threadpool_thread_index();
    for (int64_t c; (c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->nk;)
        el_mcnms_class(j, j->again ? j->again[c] : c, mem);
}

static size_t el_mcnms_align(size_t n) { return (n + 63) & ~(size_t)63; }

/* Every class once, on the pool's threads, at most `cap` selected each,
 * candidates below `floor` left out. */
static void el_mcnms_round(el_mcnms_job *j, el_threadpool *pool, int threads, int64_t cap, float floor)
{
    j->round_cap = cap;
    j->floor = floor;
    atomic_init(&j->next, 0);
    el_parallel_for(pool, threads, 1, el_mcnms_thread, j);
}

/* The k-th greatest (k >= 1) of a[0..n): a quickselect, a permuted. */
static float el_mcnms_kth(float *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    const int64_t want = k - 1;
    while (lo < hi) {
        const float pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) { /* greater values to the front */
            while (a[i] > pivot) i++;
            while (a[j] < pivot) j--;
            if (i <= j) {
                const float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return a[want];
    }
    return a[want];
}

/* EL_MCNMS_TOP = top: the floor for the second round. A class's first
 * selections are those of its whole run (TF's NMS takes candidates
 * greatest score first and never revisits one), so when the first round's
 * selections number >= top, the top-th greatest of them is <= the top-th
 * greatest of all: no selection below it is among the rows read. Else
 * -INFINITY (every class runs in full). `buf` has room for nk * cap
 * scores. */
static float el_mcnms_floor(const el_mcnms_job *j, int64_t top, float *buf)
{
    int64_t n = 0;
    for (int64_t c = 0; c < j->nk; c++)
        for (int64_t i = 0; i < j->count[c]; i++) buf[n++] = j->out_scores[j->cap * c + i];
    return n < top ? -INFINITY : el_mcnms_kth(buf, n, top); /* no NaN: every selection passed > threshold */
}

/* EL_MCNMS_TOP: the rounds after the first (every class run with at most
 * `cap` selections). A class is complete for a floor when its run ended
 * (fewer selections than its cap) at or below the floor (every selection
 * >= the floor it ran with is there), reached below the floor, or reached
 * max_size; the others run again with twice the cap from their candidates
 * >= the new floor, until none is left. Then each class keeps its
 * selections >= the last floor: a prefix, as hard NMS selects in score
 * order. Doubling the cap keeps a class that holds many of the best rows
 * from making the floor low for all (COCO with random weights: a few
 * classes score high everywhere). */
static void el_mcnms_widen(el_mcnms_job *j, el_threadpool *pool, int threads, int64_t top, int64_t cap, int64_t *list,
                           float *buf)
{
    const int64_t nk = j->nk;
    int64_t *ran = list + nk;
    for (int64_t c = 0; c < nk; c++) ran[c] = cap;
    float floor;
    for (;;) {
        floor = el_mcnms_floor(j, top, buf);
        int64_t nopen = 0;
        for (int64_t c = 0; c < nk; c++) {
            const int64_t n = j->count[c];
            const bool more = n == ran[c] ? ran[c] < j->cap && j->out_scores[j->cap * c + n - 1] >= floor
                                          : j->ran_floor[c] > floor; /* ran out above the floor */
            if (more) list[nopen++] = c;
        }
        if (nopen == 0) break;
        cap = 2 * cap < j->cap ? 2 * cap : j->cap;
        for (int64_t i = 0; i < nopen; i++) ran[list[i]] = cap;
        j->again = list;
        j->nk = nopen;
        el_mcnms_round(j, pool, threads, cap, floor);
        j->again = NULL;
        j->nk = nk;
    }
    for (int64_t c = 0; c < nk; c++) {
        const float *os = j->out_scores + j->cap * c;
        while (j->count[c] > 0 && !(os[j->count[c] - 1] >= floor)) j->count[c]--;
    }
}

static el_status el_op_multiclass_nms(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 4));
    for (int i = 0; i < 4; i++)
        if (i != 1) EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
    const el_tensor *sc = &ctx->inputs[0], *bx = &ctx->inputs[2], *win = &ctx->inputs[3];
    int64_t nk, max_size;
    float thr, area, iou, nms_thr;
    EL_TRY(el_attr_int(ctx->node, EL_MCNMS_CLASSES, -1, &nk));
    EL_TRY(el_attr_int(ctx->node, EL_MCNMS_MAX, -1, &max_size));
    EL_TRY(el_attr_float(ctx->node, EL_MCNMS_SCORE, NAN, &thr));
    EL_TRY(el_attr_float(ctx->node, EL_MCNMS_AREA, NAN, &area));
    EL_TRY(el_attr_float(ctx->node, EL_MCNMS_IOU, NAN, &iou));
    EL_TRY(el_attr_float(ctx->node, EL_MCNMS_NMS_SCORE, NAN, &nms_thr));
    int64_t top;
    EL_TRY(el_attr_int(ctx->node, EL_MCNMS_TOP, 0, &top));
    if (nk < 0 || nk > INT32_MAX || max_size < 0 || max_size > INT32_MAX || !(iou >= 0.0f && iou <= 1.0f) ||
        top < 0 || top > INT32_MAX)
        return el_kerr(ctx, EL_ERR_FORMAT,
                       "invalid attrs (num_classes %lld, max_output_size %lld, iou_threshold %g, %s %lld)",
                       (long long)nk, (long long)max_size, (double)iou, EL_MCNMS_TOP, (long long)top);
    char s1[160];
    if (sc->ndim != 2)
        return el_kerr(ctx, EL_ERR_RUNTIME, "scores must be 2-D [boxes, classes], got shape %s",
                       el_shape_str(sc->ndim, sc->dims, s1, sizeof s1));
    if (ctx->inputs[1].ndim != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "the row count must be a scalar, got shape %s",
                       el_shape_str(ctx->inputs[1].ndim, ctx->inputs[1].dims, s1, sizeof s1));
    int64_t rows;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &rows));
    if (rows == -1) rows = sc->dims[0]; /* Slice's size -1: to the end */
    if (rows < 0 || rows > sc->dims[0] || (nk > 0 && sc->dims[1] < nk))
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Expected the class slices [0:%lld, c:c+1] (c < %lld) to lie in scores of shape %s",
                       (long long)rows, (long long)nk, el_shape_str(sc->ndim, sc->dims, s1, sizeof s1));
    if (bx->ndim != 2 || bx->dims[1] != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "boxes must be [boxes, 4], got shape %s",
                       el_shape_str(bx->ndim, bx->dims, s1, sizeof s1));
    if (win->ndim != 1 || win->dims[0] != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "the window must be [4], got shape %s",
                       el_shape_str(win->ndim, win->dims, s1, sizeof s1));
    if (rows > INT32_MAX) return el_kerr(ctx, EL_ERR_LIMIT, "%lld boxes: at most 2^31-1 supported", (long long)rows);

    el_mcnms_job j = {.scores = sc->data, .boxes = bx->data, .window = win->data, .ncols = sc->dims[1],
                      .rows = rows, .nboxes = bx->dims[0], .thr = thr, .area = area, .iou = iou,
                      .nms_thr = nms_thr, .max_size = max_size, .cap = max_size < rows ? max_size : rows};
    el_threadpool *pool = el_threadpool_current();
    const int threads = el_threadpool_size(pool);
    j.nms_off = el_mcnms_align((sizeof(float) * 5 + sizeof(int32_t)) * (size_t)(rows + 1));
    j.sel_off = j.nms_off + el_mcnms_align(el_nms_scratch_size(rows, j.cap));
    j.thread_bytes = j.sel_off + el_mcnms_align((sizeof(int32_t) + sizeof(float)) * (size_t)j.cap);
    char *per_class;
    EL_TRY(el_kctx_scratch(ctx, j.thread_bytes * (size_t)threads, (void **)&j.thread_mem));
    EL_TRY(el_kctx_scratch(ctx, (sizeof(int64_t) + 5 * sizeof(float) * (size_t)j.cap) * (size_t)nk + 64,
                           (void **)&per_class));
    j.count = (int64_t *)per_class;
    j.out_boxes = (float *)(j.count + nk);
    j.out_scores = j.out_boxes + 4 * j.cap * nk;
    const int64_t nclip = rows < j.nboxes ? rows : j.nboxes;
    EL_TRY(el_kctx_scratch(ctx, (4 * sizeof(float) + 1) * (size_t)nclip + 64, (void **)&j.clipped));
    j.keep = (uint8_t *)(j.clipped + 4 * nclip);
    el_mcnms_clip(&j, nclip);
    j.nk = nk;
    EL_TRY(el_kctx_scratch(ctx, sizeof(float) * (size_t)(nclip * nk + nk * j.cap) + 64, (void **)&j.columns));
    int64_t *again = NULL; /* with a top: the classes a round runs, then the cap each ran with */
    if (top > 0) {
        EL_TRY(el_kctx_scratch(ctx, 2 * sizeof(int64_t) * (size_t)nk + 64, (void **)&again));
        EL_TRY(el_kctx_scratch(ctx, sizeof(float) * (size_t)nk + 64, (void **)&j.ran_floor));
    }
    el_parallel_for(pool, (nclip + EL_MCNMS_TBLOCK - 1) / EL_MCNMS_TBLOCK, 1, el_mcnms_transpose, &j);
    /* With a top: a first round of a few selections per class sets the
     * floor, a second one runs the classes from their candidates at or
     * above it (see el_mcnms_floor). Four times the top's share per class:
     * the floor is then the top-th best score itself unless a class holds
     * more of the best rows than that. */
    const int64_t first_cap = top > 0 && nk > 0 ? 4 * ((top + nk - 1) / nk) : j.cap;
    j.sample = first_cap < j.cap;
    el_mcnms_round(&j, pool, threads, first_cap < j.cap ? first_cap : j.cap, -INFINITY);
    j.sample = false;
    int64_t total = 0;
    for (int64_t c = 0; c < nk; c++) {
        if (j.count[c] < 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "indices[%lld] = %lld is not in [0, %lld) (boxes of class %lld)",
                           (long long)(-1 - j.count[c]), (long long)(-1 - j.count[c]), (long long)j.nboxes,
                           (long long)c);
        total += j.count[c];
    }
    if (first_cap < j.cap) {
        el_mcnms_widen(&j, pool, threads, top, first_cap, again, j.columns + nclip * nk);
        total = 0;
        for (int64_t c = 0; c < nk; c++) total += j.count[c];
    }
    el_tensor *ob, *os, *oc;
    const int64_t bdims[2] = {total, 4};
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, 2, bdims, &ob));
    EL_TRY(el_kctx_output(ctx, 1, EL_DT_FLOAT, 1, &total, &os));
    EL_TRY(el_kctx_output(ctx, 2, EL_DT_FLOAT, 1, &total, &oc));
    float *pb = ob->data, *ps = os->data, *pc = oc->data;
    for (int64_t c = 0, t = 0; c < nk; c++) {
        const int64_t n = j.count[c];
        memcpy(pb + 4 * t, j.out_boxes + 4 * j.cap * c, sizeof(float) * 4 * (size_t)n);
        memcpy(ps + t, j.out_scores + j.cap * c, sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) pc[t + i] = 0.0f + (float)c; /* ZerosLike + class */
        t += n;
    }
    return EL_OK;
}

static int el_mcnms_three(const el_node *n)
{
    (void)n;
    return 3;
}

const el_op el_ops_multiclass_nms[] = {
    {EL_MCNMS_OP, el_op_multiclass_nms, el_mcnms_three, EL_OP_PARALLEL},
    {NULL, NULL, NULL, 0},
};
