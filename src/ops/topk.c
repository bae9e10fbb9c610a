/* TopKV2 (k as an input) and TopK (k as an attr): the k largest entries of
 * each row of the last dimension, with their int32 indices.
 *
 * TF's order (topk_op.cc): greater value first, equal values by lower
 * index first -- its comparator treats values neither < nor > each other
 * (NaN included) as ties. With sorted=false TF's order is unspecified
 * (its heap's internal order); we return the sorted order, which is one of
 * the allowed answers. */
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/kernel.h"
#include "ops/topk.h"

/* For each dtype: a heap of the k best indices seen so far with the worst
 * at the root (O(n log k) per row), then emptied from the back to give the
 * descending order. */
#define EL_TOPK_BLOCK 32
#define EL_TOPK_IMPL(NAME, T)                                                                       \
    static inline bool NAME##_better(const T *v, int32_t a, int32_t b)                               \
    {                                                                                               \
        if (v[b] < v[a]) return true;                                                               \
        if (v[b] > v[a]) return false;                                                              \
        return a < b;                                                                               \
    }                                                                                               \
    static void NAME##_sift(const T *v, int32_t *h, int64_t n, int64_t i)                            \
    {                                                                                               \
        for (;;) {                                                                                  \
            int64_t l = 2 * i + 1, r = l + 1, w = i;                                                \
            if (l < n && NAME##_better(v, h[w], h[l])) w = l;                                       \
            if (r < n && NAME##_better(v, h[w], h[r])) w = r;                                       \
            if (w == i) return;                                                                     \
            int32_t t = h[i];                                                                       \
            h[i] = h[w];                                                                            \
            h[w] = t;                                                                               \
            i = w;                                                                                  \
        }                                                                                           \
    }                                                                                               \
    static void NAME(const void *in, int64_t rows, int64_t n, int64_t k, void *vals, int32_t *idx)  \
    {                                                                                               \
        for (int64_t r = 0; r < rows; r++) {                                                        \
            const T *v = (const T *)in + r * n;                                                     \
            int32_t *h = idx + r * k;                                                               \
            T *ov = (T *)vals + r * k;                                                              \
            int64_t size = 0, i = 0;                                                                \
            for (; i < n && size < k; i++) {                                                        \
                int64_t j = size++;                                                                 \
                h[j] = (int32_t)i;                                                                  \
                while (j > 0) {                                                                     \
                    int64_t p = (j - 1) / 2;                                                        \
                    if (!NAME##_better(v, h[p], h[j])) break;                                       \
                    int32_t t = h[p];                                                               \
                    h[p] = h[j];                                                                    \
                    h[j] = t;                                                                       \
                    j = p;                                                                          \
                }                                                                                   \
            }                                                                                       \
            /* Heap full: a later element (higher index) enters only when                           \
             * strictly greater than the root (a tie or a NaN loses on the                          \
             * index), so blocks with nothing above the root are skipped by a                       \
             * comparison the compiler vectorizes. */                                               \
            while (k > 0 && i < n) {                                                                \
                const T thr = v[h[0]];                                                              \
                while (i + EL_TOPK_BLOCK <= n) {                                                    \
                    int any = 0;                                                                    \
                    for (int j = 0; j < EL_TOPK_BLOCK; j++) any |= v[i + j] > thr;                  \
                    if (any) break;                                                                 \
                    i += EL_TOPK_BLOCK;                                                             \
                }                                                                                   \
                const int64_t e = i + EL_TOPK_BLOCK < n ? i + EL_TOPK_BLOCK : n;                    \
                for (; i < e; i++)                                                                  \
                    if (NAME##_better(v, (int32_t)i, h[0])) {                                       \
                        h[0] = (int32_t)i;                                                          \
                        NAME##_sift(v, h, size, 0);                                                 \
                    }                                                                               \
            }                                                                                       \
            while (size > 1) {                                                                      \
                int32_t t = h[0];                                                                   \
                h[0] = h[--size];                                                                   \
                h[size] = t;                                                                        \
                NAME##_sift(v, h, size, 0);                                                         \
            }                                                                                       \
            for (int64_t j = 0; j < k; j++) ov[j] = v[h[j]];                                        \
        }                                                                                           \
    }

EL_TOPK_IMPL(el_topk_f32, float)
EL_TOPK_IMPL(el_topk_f64, double)
EL_TOPK_IMPL(el_topk_i32, int32_t)
EL_TOPK_IMPL(el_topk_i64, int64_t)
EL_TOPK_IMPL(el_topk_u8, uint8_t)
EL_TOPK_IMPL(el_topk_i8, int8_t)
EL_TOPK_IMPL(el_topk_i16, int16_t)

/* float rows when k is a large part of n (the OD API's SortByField asks
 * for every element: k == n): a stable LSD radix sort of keys that reverse
 * the float order (-0.0 taken as +0.0, which TF's comparator treats as
 * equal), so equal values keep ascending index order -- TF's order, in
 * O(n) instead of O(n log n) comparisons. Rows holding a NaN (which TF
 * ties with everything, not a total order) keep the heap. */
#define EL_TOPK_RADIX_MIN 64

static bool el_topk_f32_radix(const float *v, int64_t n, int64_t k, float *ov, int32_t *oi, uint32_t *scratch)
{
    uint32_t *ka = scratch, *kb = scratch + n, *ia = scratch + 2 * n, *ib = scratch + 3 * n;
    uint32_t hist[4][256] = {{0}};
    int nan = 0;
    for (int64_t i = 0; i < n; i++) {
        union { float f; uint32_t u; } c = {v[i] + 0.0f}; /* -0.0 + 0.0 = +0.0 */
        nan |= v[i] != v[i];
        const uint32_t ord = (c.u & 0x80000000u) ? ~c.u : (c.u | 0x80000000u);
        ka[i] = ~ord; /* ascending keys = descending values */
        ia[i] = (uint32_t)i;
    }
    if (nan) return false;
    for (int64_t i = 0; i < n; i++) {
        hist[0][ka[i] & 0xff]++;
        hist[1][(ka[i] >> 8) & 0xff]++;
        hist[2][(ka[i] >> 16) & 0xff]++;
        hist[3][ka[i] >> 24]++;
    }
    for (int b = 0; b < 4; b++) {
        const int shift = 8 * b;
        if (hist[b][(ka[0] >> shift) & 0xff] == (uint32_t)n) continue; /* one bucket: order unchanged */
        uint32_t pos[256], sum = 0;
        for (int j = 0; j < 256; j++) {
            pos[j] = sum;
            sum += hist[b][j];
        }
        for (int64_t i = 0; i < n; i++) {
            const uint32_t d = pos[(ka[i] >> shift) & 0xff]++;
            kb[d] = ka[i];
            ib[d] = ia[i];
        }
        uint32_t *t = ka;
        ka = kb;
        kb = t;
        t = ia;
        ia = ib;
        ib = t;
    }
    for (int64_t j = 0; j < k; j++) {
        oi[j] = (int32_t)ia[j];
        ov[j] = v[ia[j]];
    }
    return true;
}

static bool el_topk_has_nan(el_dtype dt, const void *row, int64_t n)
{
    int nan = 0;
    if (dt == EL_DT_FLOAT)
        for (int64_t i = 0; i < n; i++) nan |= ((const float *)row)[i] != ((const float *)row)[i];
    if (dt == EL_DT_DOUBLE)
        for (int64_t i = 0; i < n; i++) nan |= ((const double *)row)[i] != ((const double *)row)[i];
    return nan;
}

/* float rows when k is a small part of n and the row holds no NaN: the
 * heap of el_topk_f32 on 64-bit keys, the value's order bits (-0.0 as
 * +0.0) above the complemented index, so a greater key is TF's "greater
 * value, then lower index" and a comparison loads nothing through an
 * index. */
static inline uint64_t el_topk_key(float x, int64_t i)
{
    union { float f; uint32_t u; } c = {x + 0.0f}; /* -0.0 + 0.0 = +0.0 */
    const uint32_t ord = (c.u & 0x80000000u) ? ~c.u : (c.u | 0x80000000u);
    return (uint64_t)ord << 32 | (0xFFFFFFFFu - (uint32_t)i);
}

static inline int32_t el_topk_key_index(uint64_t key) { return (int32_t)(0xFFFFFFFFu - (uint32_t)key); }

/* Min-heap: the root is the worst key kept. */
static void el_topk_key_sift(uint64_t *h, int64_t n, int64_t i)
{
    const uint64_t x = h[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        c += c + 1 < n && h[c + 1] < h[c];
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void el_topk_f32_keys(const float *v, int64_t n, int64_t k, float *ov, int32_t *oi, uint64_t *h)
{
    for (int64_t i = 0; i < k; i++) h[i] = el_topk_key(v[i], i);
    for (int64_t i = k / 2 - 1; i >= 0; i--) el_topk_key_sift(h, k, i);
    int64_t i = k;
    while (i < n) { /* blocks with nothing above the root's value skipped, as in el_topk_f32 */
        const float thr = v[el_topk_key_index(h[0])];
        while (i + EL_TOPK_BLOCK <= n) {
            int any = 0;
            for (int j = 0; j < EL_TOPK_BLOCK; j++) any |= v[i + j] > thr;
            if (any) break;
            i += EL_TOPK_BLOCK;
        }
        const int64_t e = i + EL_TOPK_BLOCK < n ? i + EL_TOPK_BLOCK : n;
        for (; i < e; i++) {
            const uint64_t key = el_topk_key(v[i], i);
            if (key > h[0]) {
                h[0] = key;
                el_topk_key_sift(h, k, 0);
            }
        }
    }
    for (int64_t m = k; m > 1;) { /* the worst to the back: descending */
        const uint64_t t = h[0];
        h[0] = h[--m];
        h[m] = t;
        el_topk_key_sift(h, m, 0);
    }
    for (int64_t j = 0; j < k; j++) {
        oi[j] = el_topk_key_index(h[j]);
        ov[j] = v[oi[j]];
    }
}

static void el_topk_f32_rows(const void *in, int64_t rows, int64_t n, int64_t k, void *vals, int32_t *idx)
{
    const bool radix = n >= EL_TOPK_RADIX_MIN && k * 8 >= n;
    void *scratch = el_mem_alloc(radix ? sizeof(uint32_t) * 4 * (size_t)n : sizeof(uint64_t) * (size_t)k);
    for (int64_t r = 0; r < rows; r++) {
        const float *v = (const float *)in + r * n;
        float *ov = (float *)vals + r * k;
        int32_t *oi = idx + r * k;
        if (radix) {
            if (!scratch || !el_topk_f32_radix(v, n, k, ov, oi, scratch)) el_topk_f32(v, 1, n, k, ov, oi);
        } else if (scratch && !el_topk_has_nan(EL_DT_FLOAT, v, n)) {
            el_topk_f32_keys(v, n, k, ov, oi, scratch);
        } else { /* NaN ties with everything: the heap's own comparisons */
            el_topk_f32(v, 1, n, k, ov, oi);
        }
    }
    el_mem_free(scratch);
}

typedef void (*el_topk_fn)(const void *, int64_t, int64_t, int64_t, void *, int32_t *);

/* ov[j] = v[oi[j]] for j in [from, to), elements of es bytes. */
static void el_topk_gather(size_t es, const void *v, const int32_t *oi, void *ov, int64_t from, int64_t to)
{
    switch (es) {
#define EL_TOPK_GATHER(T)                                                                                              \
    for (int64_t j = from; j < to; j++) ((T *)ov)[j] = ((const T *)v)[oi[j]];                                           \
    break
    case 1: EL_TOPK_GATHER(uint8_t);
    case 2: EL_TOPK_GATHER(uint16_t);
    case 4: EL_TOPK_GATHER(uint32_t);
    default: EL_TOPK_GATHER(uint64_t);
#undef EL_TOPK_GATHER
    }
}

/* EL_TOPK_PREFIX_ATTR (ops/topk.h): each row's first p entries as fn
 * gives them (any exact order gives TF's first p), then the row's other
 * indices in ascending order. A row holding a NaN is ordered whole: NaN
 * ties with everything, so the heap's first p would depend on k. */
static el_status el_topk_prefix_rows(el_kctx *ctx, const el_tensor *x, el_topk_fn fn, int64_t rows, int64_t n,
                                     int64_t k, int64_t p, void *vals, int32_t *idx)
{
    const size_t es = el_dtype_size(x->dtype);
    uint8_t *used = el_mem_alloc((size_t)n);
    if (!used) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; r < rows; r++) {
        const char *v = (const char *)x->data + (size_t)(r * n) * es;
        char *ov = (char *)vals + (size_t)(r * k) * es;
        int32_t *oi = idx + r * k;
        if (el_topk_has_nan(x->dtype, v, n)) {
            fn(v, 1, n, k, ov, oi);
            continue;
        }
        fn(v, 1, n, p, ov, oi);
        memset(used, 0, (size_t)n);
        for (int64_t j = 0; j < p; j++) used[oi[j]] = 1;
        for (int64_t i = 0, j = p; j < k; i++) { /* branch-free: a used index is overwritten */
            oi[j] = (int32_t)i;
            j += !used[i];
        }
        el_topk_gather(es, v, oi, ov, p, k);
    }
    el_mem_free(used);
    return EL_OK;
}

static el_status el_topk_common(el_kctx *ctx, bool k_input)
{
    EL_TRY(el_kctx_need_inputs(ctx, k_input ? 2 : 1));
    const el_tensor *x = &ctx->inputs[0];
    char s[160];
    int64_t k;
    if (k_input) {
        const el_tensor *kt = &ctx->inputs[1];
        if (kt->ndim != 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "k must be 0-D, got shape %s", el_shape_str(kt->ndim, kt->dims, s, sizeof s));
        if (kt->dtype == EL_DT_INT16) k = *(const int16_t *)kt->data;
        else EL_TRY(el_kctx_index_value(ctx, 1, 0, &k));
    } else {
        EL_TRY(el_attr_int(ctx->node, "k", -1, &k));
    }
    bool sorted;
    EL_TRY(el_attr_bool(ctx->node, "sorted", true, &sorted));
    (void)sorted; /* sorted output is also a valid unsorted answer */
    if (k < 0) return el_kerr(ctx, EL_ERR_RUNTIME, "need k >= 0, got %lld", (long long)k);
    if (x->ndim < 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must be >= 1-D, got shape %s", el_shape_str(x->ndim, x->dims, s, sizeof s));
    int64_t n = x->dims[x->ndim - 1];
    if (n < k)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input must have at least k columns: %lld < %lld", (long long)n, (long long)k);
    if (n > INT32_MAX) return el_kerr(ctx, EL_ERR_LIMIT, "last dimension %lld exceeds int32 indices", (long long)n);

    int64_t prefix;
    EL_TRY(el_attr_int(ctx->node, EL_TOPK_PREFIX_ATTR, 0, &prefix));
    el_topk_fn fn;
    switch (x->dtype) {
    case EL_DT_FLOAT: fn = el_topk_f32_rows; break;
    case EL_DT_DOUBLE: fn = el_topk_f64; break;
    case EL_DT_INT32: fn = el_topk_i32; break;
    case EL_DT_INT64: fn = el_topk_i64; break;
    case EL_DT_UINT8: fn = el_topk_u8; break;
    case EL_DT_INT8: fn = el_topk_i8; break;
    case EL_DT_INT16: fn = el_topk_i16; break;
    default: return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input dtype %s is not supported", el_dtype_name(x->dtype));
    }
    int64_t dims[EL_MAX_DIMS], rows = 1;
    for (int i = 0; i < x->ndim - 1; i++) {
        dims[i] = x->dims[i];
        rows *= x->dims[i];
    }
    dims[x->ndim - 1] = k;
    el_tensor *tv, *ti;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, dims, &tv));
    int32_t *oi = NULL, *scratch = NULL;
    if (ctx->noutputs > 1) {
        EL_TRY(el_kctx_output(ctx, 1, EL_DT_INT32, x->ndim, dims, &ti));
        oi = ti->data;
    } else if (rows * k > 0) {
        /* Only the values are wanted: indices go to scratch memory. */
        oi = scratch = el_mem_alloc(sizeof(int32_t) * (size_t)(rows * k));
        if (!scratch) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
    }
    el_status st = EL_OK;
    if (rows * k > 0 && prefix > 0 && prefix < k) st = el_topk_prefix_rows(ctx, x, fn, rows, n, k, prefix, tv->data, oi);
    else if (rows * k > 0) fn(x->data, rows, n, k, tv->data, oi);
    el_mem_free(scratch);
    return st;
}

static el_status el_op_topk_v2(el_kctx *ctx) { return el_topk_common(ctx, true); }
static el_status el_op_topk(el_kctx *ctx) { return el_topk_common(ctx, false); }

static int el_topk_noutputs(const el_node *n) { (void)n; return 2; }

const el_op el_ops_topk[] = {
    {"TopKV2", el_op_topk_v2, el_topk_noutputs, 0},
    {"TopK", el_op_topk, el_topk_noutputs, 0},
    {NULL, NULL, NULL, 0},
};
