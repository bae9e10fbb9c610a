/* Op family 'concat': ConcatV2, Concat (TF1), Pack, Tile. Copies go through
 * el_copy_axis_range / el_copy_strided (array_util.h); checks and messages
 * follow TensorFlow's concat_op.cc, pack_op.cc and tile_ops.cc. */
#include <math.h>
#include <string.h>

#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/array_util.h"
#include "ops/concat.h"
#include "ops/conv_fast.h"
#include "ops/kernel.h"
#include "ops/reduce_fast.h"
#include "ops/resize.h"
#include "ops/unary_fast.h"
#if defined(EL_CONV_X86)
#include <immintrin.h>
#endif

/* Up to this many inputs of one innermost element each are interleaved in
 * one pass (see el_copy_interleave). */
#define EL_CONCAT_COLUMNS_MAX 16

typedef struct el_concat_tf_job {
    float *out;
    const float *in[EL_CONCAT_NEG_MAX];
    int64_t row[EL_CONCAT_NEG_MAX]; /* floats per outer index of each input */
    int64_t out_row;
    int n;
    int64_t neg;
    bool relu;
    int64_t line, begin, size; /* EL_CONCAT_SLICE_*_ATTR: [begin, begin + size) of each line of `line` floats */
} el_concat_tf_job;

/* Outer rows [o0, o1): each input's slice copied negated (-x) where its bit
 * of neg is set, then through Relu (x < 0 ? 0 : x: NaN and -0 kept, as
 * the Relu kernel) when relu. */
static void el_concat_tf_rows(void *ctx, int64_t o0, int64_t o1)
{
    const el_concat_tf_job *j = ctx;
    for (int64_t o = o0; o < o1; o++) {
        float *restrict d = j->out + o * j->out_row;
        for (int i = 0; i < j->n; i++) {
            const float *restrict s = j->in[i] + o * j->row[i];
            const int64_t len = j->row[i];
            const bool ng = (j->neg >> i) & 1;
            if (ng && j->relu)
                for (int64_t k = 0; k < len; k++) {
                    const float v = -s[k];
                    d[k] = v < 0 ? 0.0f : v;
                }
            else if (ng)
                for (int64_t k = 0; k < len; k++) d[k] = -s[k];
            else if (j->relu)
                for (int64_t k = 0; k < len; k++) d[k] = s[k] < 0 ? 0.0f : s[k];
            else
                memcpy(d, s, sizeof(float) * (size_t)len);
            d += len;
        }
    }
}

/* EL_CONCAT_SIGMOID_ATTR: the Sigmoid kernel's function on n floats from
 * s into d (in place allowed): its AVX-512 rows where it takes them, else
 * its reference 1 / (1 + expf(-x)) (ops/elementwise.c); each value's bits
 * depend on that value alone, so any split gives the kernel's bits. */
static void el_concat_sigmoid(const float *s, float *d, int64_t n)
{
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        el_unary_f32_avx512(EL_UF_SIGMOID, s, d, n);
        return;
    }
#endif
    for (int64_t k = 0; k < n; k++) d[k] = 1.0f / (1.0f + expf(-s[k]));
}

/* With EL_CONCAT_SIGMOID_ATTR, output elements [e0, e1) (split by
 * elements, not rows: the class scores are one outer row): each piece
 * from its input, negated first where neg says. */
static void el_concat_sigmoid_span(void *ctx, int64_t e0, int64_t e1)
{
    const el_concat_tf_job *j = ctx;
    int64_t o = e0 / j->out_row, at = e0 % j->out_row;
    int i = 0;
    while (at >= j->row[i]) at -= j->row[i++];
    for (int64_t e = e0; e < e1;) {
        const int64_t len = j->row[i] - at < e1 - e ? j->row[i] - at : e1 - e;
        const float *s = j->in[i] + o * j->row[i] + at;
        float *d = j->out + e;
        if ((j->neg >> i) & 1) {
            for (int64_t k = 0; k < len; k++) d[k] = -s[k];
            s = d;
        }
        el_concat_sigmoid(s, d, len);
        e += len;
        at += len;
        /* On to the next input with anything in it, or the next row. */
        while (e < e1 && at == j->row[i]) {
            at = 0;
            if (++i == j->n) i = 0, o++;
        }
    }
}

/* With EL_CONCAT_SLICE_*_ATTR too: output lines [l0, l1), each the
 * Sigmoid of its input line's [begin, begin + size). */
static void el_concat_sigmoid_lines(void *ctx, int64_t l0, int64_t l1)
{
    const el_concat_tf_job *j = ctx;
    const int64_t per_outer = j->out_row / j->line;
    int64_t o = l0 / per_outer, at = l0 % per_outer;
    int i = 0;
    while (at >= j->row[i] / j->line) at -= j->row[i++] / j->line;
    for (int64_t l = l0; l < l1; l++) {
        const float *s = j->in[i] + o * j->row[i] + at * j->line + j->begin;
        float *d = j->out + l * j->size;
        if ((j->neg >> i) & 1) {
            for (int64_t k = 0; k < j->size; k++) d[k] = -s[k];
            s = d;
        }
        el_concat_sigmoid(s, d, j->size);
        /* On to the next line: of this input, the next one with any, or the next row. */
        for (at++; l + 1 < l1 && at == j->row[i] / j->line;) {
            at = 0;
            if (++i == j->n) i = 0, o++;
        }
    }
}

/* EL_CONCAT_MEAN_ATTR: the copy of el_concat_tf_rows by blocks of output
 * channels, each block walking down the pixels of each image and summing
 * what it stores in pixel order, each row of the map in float and the
 * rows' sums in double: the order of the Mean kernel (ops/reduce.c,
 * reduce_fast.h), so the same bits whatever the blocks. One thread takes
 * all the channels (128 at most: whole rows written, the sums in
 * registers); with more, blocks of 64 split over them. */
#define EL_CM_MAX 128

/* An input resized on the fly (EL_CONCAT_RESIZE_ATTR): which, its
 * source map [n, h, w, c] and the source rows and columns of each output
 * row and column. */
typedef struct el_concat_rs {
    int input;
    const float *x;
    int64_t h, w, c, out_w;
    const el_resize_interp *ys, *xs;
} el_concat_rs;

typedef struct el_concat_mean_job {
    const el_concat_tf_job *t;
    int64_t images, pixels, cols, width; /* output channels, and per block */
    int64_t run; /* pixels per float run of the Mean's sums (ops/reduce_fast.h), 0: all in double */
    float *mean;
    bool store;  /* output 0 written (not with EL_CONCAT_MEAN_ONLY_ATTR) */
    bool avx512; /* AVX-512 and every input a multiple of 16 channels, no negation */
    const el_concat_rs *rs; /* with avx512 only, or NULL */
} el_concat_mean_job;

/* Input and channel of output channel c. */
static void el_concat_mean_at(const el_concat_tf_job *t, int64_t c, int *in, int64_t *ch)
{
    int i = 0;
    while (c >= t->row[i]) c -= t->row[i++];
    *in = i;
    *ch = c;
}

/* Output channels [c0, c0 + nc) (nc <= EL_CM_MAX) of image b: copied,
 * summed, the Mean stored. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
__attribute__((optimize("tree-loop-vectorize", "vect-cost-model=dynamic")))
#endif
static void el_concat_mean_block(const el_concat_mean_job *j, int64_t b, int64_t c0, int64_t nc)
{
    const el_concat_tf_job *t = j->t;
    /* The block's runs of channels from one input (contiguous in it): the
     * inner loop over a run is plain arrays, which the compiler vectorizes. */
    const float *sp[EL_CM_MAX];
    int64_t st[EL_CM_MAX], at[EL_CM_MAX], len[EL_CM_MAX];
    bool ng[EL_CM_MAX];
    int nseg = 0;
    for (int64_t k = 0; k < nc; nseg++) {
        int i;
        int64_t ch;
        el_concat_mean_at(t, c0 + k, &i, &ch);
        sp[nseg] = t->in[i] + b * j->pixels * t->row[i] + ch;
        st[nseg] = t->row[i];
        ng[nseg] = (t->neg >> i) & 1;
        at[nseg] = k;
        len[nseg] = t->row[i] - ch < nc - k ? t->row[i] - ch : nc - k;
        k += len[nseg];
    }
    /* Without output 0 each pixel's values go to a row that stays in L1. */
    float row[EL_CM_MAX];
    float *d = j->store ? t->out + b * j->pixels * t->out_row + c0 : row;
    const int64_t dstep = j->store ? t->out_row : 0;
    double acc[EL_CM_MAX] = {0};
    /* The Mean kernel's order: runs of j->run pixels in float, then into
     * the doubles (with run 0 every value in double). */
    float part[EL_CM_MAX] = {0};
    const bool relu = t->relu;
    const int64_t run = j->run;
    for (int64_t p = 0; p < j->pixels; p++, d += dstep) {
        for (int q = 0; q < nseg; q++) {
            const float *restrict s = sp[q] + p * st[q];
            float *restrict o = d + at[q];
            float *restrict f = part + at[q];
            double *restrict a = acc + at[q];
            const int64_t n = len[q];
#define EL_CM_LOOP(V, SUM)                                                                                             \
    for (int64_t k = 0; k < n; k++) {                                                                                  \
        float v = V;                                                                                                   \
        v = relu && v < 0 ? 0.0f : v;                                                                                  \
        o[k] = v;                                                                                                      \
        SUM;                                                                                                           \
    }
            if (run > 0 && ng[q]) EL_CM_LOOP(-s[k], f[k] += v)
            else if (run > 0) EL_CM_LOOP(s[k], f[k] += v)
            else if (ng[q]) EL_CM_LOOP(-s[k], a[k] += (double)v)
            else EL_CM_LOOP(s[k], a[k] += (double)v)
#undef EL_CM_LOOP
        }
        if (run > 0 && (p + 1) % run == 0)
            for (int64_t k = 0; k < nc; k++) {
                acc[k] += (double)part[k];
                part[k] = 0.0f;
            }
    }
    float *mo = j->mean + b * t->out_row + c0;
    for (int64_t k = 0; k < nc; k++) mo[k] = (float)(acc[k] / (double)j->pixels);
}

#if defined(EL_CONV_X86)
/* The same, 16 channels (of one input) per vector, nv vectors (a constant
 * where it is inlined: the loops over them unrolled, no work for vectors
 * past nc). */
__attribute__((target("avx512f"), always_inline)) static inline void el_concat_mean_vecs(const el_concat_mean_job *j,
                                                                                       int64_t b, int64_t c0,
                                                                                       int64_t nc, const int nv)
{
    const el_concat_tf_job *t = j->t;
    const float *sp[8];
    int64_t st[8];
    __mmask16 m[8];
    __m512d a[16];
    const el_concat_rs *rs = j->rs;
    int64_t rch[8]; /* channel of the resized input, or -1 */
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) {
        const int64_t left = nc - v * 16;
        m[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
        int i = 0;
        int64_t ch = 0;
        if (left > 0) el_concat_mean_at(t, c0 + v * 16, &i, &ch);
        rch[v] = left > 0 && rs && i == rs->input ? ch : -1;
        sp[v] = rch[v] >= 0 ? NULL : t->in[i] + b * j->pixels * t->row[i] + ch;
        st[v] = left > 0 ? t->row[i] : 0;
        a[2 * v] = a[2 * v + 1] = _mm512_setzero_pd();
    }
    /* The resized input's image b, and its current output row's source rows. */
    const float *rimg = rs ? rs->x + b * rs->h * rs->w * rs->c : NULL, *rtop = NULL, *rbot = NULL;
    __m512 ryl = _mm512_setzero_ps();
    float row[EL_CM_MAX];
    float *d = j->store ? t->out + b * j->pixels * t->out_row + c0 : row;
    const __m512 zero = _mm512_setzero_ps();
    const bool relu = t->relu;
    const int64_t pixels = j->pixels, orow = t->out_row, dstep = j->store ? orow : 0;
    /* The Mean kernel's order (ops/reduce_fast.h): runs of `run` pixels in
     * float, then into the doubles; with run 0 every value in double. */
    const int64_t run = j->run;
    int64_t until = run;
    __m512 fs[8];
    double acc[EL_CM_MAX] = {0};
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++) fs[v] = zero;
    for (int64_t p = 0; p < pixels; p++, d += dstep) {
        int64_t rl = 0, rh = 0;
        __m512 rxl = _mm512_setzero_ps();
        if (rs) {
            const int64_t oy = p / rs->out_w, ox = p % rs->out_w;
            if (ox == 0) {
                rtop = rimg + rs->ys[oy].lo * rs->w * rs->c;
                rbot = rimg + rs->ys[oy].hi * rs->w * rs->c;
                ryl = _mm512_set1_ps(rs->ys[oy].lerp);
            }
            rl = rs->xs[ox].lo * rs->c, rh = rs->xs[ox].hi * rs->c;
            rxl = _mm512_set1_ps(rs->xs[ox].lerp);
        }
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            __m512 f;
            if (rch[v] >= 0) {
                /* el_resize_row_f32_pixels' operations, each rounded (no FMA). */
                const int64_t c = rch[v];
                const __m512 tl = _mm512_maskz_loadu_ps(m[v], rtop + rl + c), tr = _mm512_maskz_loadu_ps(m[v], rtop + rh + c);
                const __m512 bl = _mm512_maskz_loadu_ps(m[v], rbot + rl + c), br = _mm512_maskz_loadu_ps(m[v], rbot + rh + c);
                const __m512 tp = _mm512_add_ps(tl, _mm512_mul_ps(_mm512_sub_ps(tr, tl), rxl));
                const __m512 bt = _mm512_add_ps(bl, _mm512_mul_ps(_mm512_sub_ps(br, bl), rxl));
                f = _mm512_add_ps(tp, _mm512_mul_ps(_mm512_sub_ps(bt, tp), ryl));
            } else {
                f = _mm512_maskz_loadu_ps(m[v], sp[v] + p * st[v]);
            }
            if (relu) f = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), f, zero);
            _mm512_mask_storeu_ps(d + v * 16, m[v], f);
            if (run > 0) {
                fs[v] = _mm512_add_ps(fs[v], f);
            } else {
                a[2 * v] = _mm512_add_pd(a[2 * v], _mm512_cvtps_pd(_mm512_castps512_ps256(f)));
                a[2 * v + 1] = _mm512_add_pd(
                    a[2 * v + 1], _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1))));
            }
        }
        /* A run's end: its float sums into the doubles (held in memory in
         * this mode, once per run). */
        if (run > 0 && --until == 0) {
            until = run;
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) {
                double *q = acc + 16 * v;
                _mm512_storeu_pd(q, _mm512_add_pd(_mm512_loadu_pd(q), _mm512_cvtps_pd(_mm512_castps512_ps256(fs[v]))));
                _mm512_storeu_pd(q + 8, _mm512_add_pd(_mm512_loadu_pd(q + 8),
                                                      _mm512_cvtps_pd(_mm256_castpd_ps(
                                                          _mm512_extractf64x4_pd(_mm512_castps_pd(fs[v]), 1)))));
                fs[v] = zero;
            }
        }
    }
    if (run <= 0) {
#pragma GCC unroll 16
        for (int v = 0; v < 2 * nv; v++) _mm512_storeu_pd(acc + 8 * v, a[v]);
    }
    float *mo = j->mean + b * orow + c0;
    for (int64_t k = 0; k < nc; k++) mo[k] = (float)(acc[k] / (double)pixels);
}

/* A block of nc channels: as many vectors as it needs (1, 2, 4 or 8). */
__attribute__((target("avx512f"))) static void el_concat_mean_block_avx512(const el_concat_mean_job *j, int64_t b,
                                                                            int64_t c0, int64_t nc)
{
    if (nc <= 16) el_concat_mean_vecs(j, b, c0, nc, 1);
    else if (nc <= 32) el_concat_mean_vecs(j, b, c0, nc, 2);
    else if (nc <= 64) el_concat_mean_vecs(j, b, c0, nc, 4);
    else el_concat_mean_vecs(j, b, c0, nc, 8);
}
#endif

static void el_concat_mean_chunk(void *ctx, int64_t u0, int64_t u1)
{
    const el_concat_mean_job *j = ctx;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t c0 = u * j->width, nc = j->cols - c0 < j->width ? j->cols - c0 : j->width;
        for (int64_t b = 0; b < j->images; b++) {
#if defined(EL_CONV_X86)
            if (j->avx512) {
                el_concat_mean_block_avx512(j, b, c0, nc);
                continue;
            }
#endif
            el_concat_mean_block(j, b, c0, nc);
        }
    }
}

/* Concatenates inputs [first, first+n) along the axis held by input
 * `axis_input` (ConcatV2: last input; Concat: first input). rs: an input
 * resized on the fly (its tensor in ctx then only gives the shape), only
 * where the AVX-512 Mean path runs (el_concat_resized checked). */
static el_status el_concat_impl(el_kctx *ctx, int first, int n, int axis_input, const char *axis_name,
                                const el_concat_rs *rs)
{
    if (n < 1) return el_kerr(ctx, EL_ERR_FORMAT, "expected at least 1 value to concatenate, found %d", n);
    int64_t concat_dim;
    EL_TRY(el_array_scalar_index(ctx, axis_input, axis_name, false, &concat_dim));
    const el_tensor *in0 = &ctx->inputs[first];
    const int r = in0->ndim;
    size_t es;
    EL_TRY(el_array_elsize(ctx, first, &es));
    /* Concatenating scalars was legacy behaviour TF no longer allows. */
    const int64_t axis = concat_dim < 0 ? concat_dim + r : concat_dim;
    if (axis < 0 || axis >= r)
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %lld", -r, r,
                       (long long)concat_dim);
    char a[160], b[160];
    int64_t out_axis = 0;
    for (int i = 0; i < n; i++) {
        const el_tensor *t = &ctx->inputs[first + i];
        if (t->ndim != r)
            return el_kerr(ctx, EL_ERR_RUNTIME,
                           "ConcatOp : Ranks of all input tensors should match: shape[0] = %s vs. shape[%d] = %s",
                           el_array_shape_str(in0, a, sizeof a), i, el_array_shape_str(t, b, sizeof b));
        for (int j = 0; j < r; j++)
            if (j != axis && t->dims[j] != in0->dims[j])
                return el_kerr(ctx, EL_ERR_RUNTIME,
                               "ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %s vs. shape[%d] = %s",
                               j, el_array_shape_str(in0, a, sizeof a), i, el_array_shape_str(t, b, sizeof b));
        if (t->dtype != in0->dtype)
            return el_kerr(ctx, EL_ERR_RUNTIME, "value %d is %s, value 0 is %s", i, el_dtype_name(t->dtype),
                           el_dtype_name(in0->dtype));
        /* Zero-element inputs may carry huge dims: keep the sum bounded. */
        if (__builtin_add_overflow(out_axis, t->dims[axis], &out_axis))
            return el_kerr(ctx, EL_ERR_RUNTIME, "ConcatOp : concatenated dimension overflows int64");
    }
    int64_t dims[EL_MAX_DIMS];
    for (int j = 0; j < r; j++) dims[j] = j == axis ? out_axis : in0->dims[j];
    int64_t neg = 0, mean = 0, slice_rank = 0, sb = 0, ss = -1;
    bool relu = false, sigmoid = false, mean_only = false;
    EL_TRY(el_attr_bool(ctx->node, EL_CONCAT_MEAN_ONLY_ATTR, false, &mean_only));
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_NEG_ATTR, 0, &neg));
    EL_TRY(el_attr_bool(ctx->node, EL_CONCAT_RELU_ATTR, false, &relu));
    EL_TRY(el_attr_bool(ctx->node, EL_CONCAT_SIGMOID_ATTR, false, &sigmoid));
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_MEAN_ATTR, 0, &mean));
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_SLICE_RANK_ATTR, 0, &slice_rank));
    if (sigmoid && (relu || mean))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr %s does not go with %s or %s", EL_CONCAT_SIGMOID_ATTR,
                       EL_CONCAT_RELU_ATTR, EL_CONCAT_MEAN_ATTR);
    const int64_t last = dims[r - 1];
    if (slice_rank) {
        /* The Slice's checks on its last axis (ops/slice.c); the others it keeps whole. */
        EL_TRY(el_attr_int(ctx->node, EL_CONCAT_SLICE_BEGIN_ATTR, 0, &sb));
        EL_TRY(el_attr_int(ctx->node, EL_CONCAT_SLICE_SIZE_ATTR, -1, &ss));
        if (!sigmoid || slice_rank != r || axis == r - 1)
            return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr %s needs %s, rank %lld and an axis before the last",
                           EL_CONCAT_SLICE_RANK_ATTR, EL_CONCAT_SIGMOID_ATTR, (long long)slice_rank);
        if (last == 0 ? sb != 0 || (ss != 0 && ss != -1) : sb < 0 || sb > last)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected begin[%d] in [0, %lld], but got %lld", r - 1,
                           (long long)last, (long long)sb);
        if (ss == -1) ss = last - sb;
        if (ss < 0 || ss > last - sb)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected size[%d] in [0, %lld], but got %lld", r - 1,
                           (long long)(last - sb), (long long)ss);
        dims[r - 1] = ss;
    }
    if (mean_only && !mean)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr %s needs %s", EL_CONCAT_MEAN_ONLY_ATTR, EL_CONCAT_MEAN_ATTR);
    el_tensor *out = NULL;
    if (!mean_only) EL_TRY(el_kctx_output(ctx, 0, in0->dtype, r, dims, &out));
    dims[r - 1] = last;
    const int64_t outer = el_dims_prod(dims, 0, (int)axis), inner = el_dims_prod(dims, (int)axis + 1, r);
    if (mean && (in0->dtype != EL_DT_FLOAT || r != 4 || axis != 3 || n > EL_CONCAT_NEG_MAX))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attr %s needs float NHWC maps concatenated along axis 3 (at most %d)",
                       EL_CONCAT_MEAN_ATTR, EL_CONCAT_NEG_MAX);
    if (rs && !mean) return el_kerr(ctx, EL_ERR_RUNTIME, "the resized input needs attr %s", EL_CONCAT_MEAN_ATTR);
    if (neg || relu || sigmoid || mean) {
        if (in0->dtype != EL_DT_FLOAT)
            return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attrs %s / %s need float values, got %s", EL_CONCAT_NEG_ATTR,
                           EL_CONCAT_RELU_ATTR, el_dtype_name(in0->dtype));
        if (n > EL_CONCAT_NEG_MAX)
            return el_kerr(ctx, EL_ERR_UNSUPPORTED, "attrs %s / %s cover %d inputs, got %d", EL_CONCAT_NEG_ATTR,
                           EL_CONCAT_RELU_ATTR, EL_CONCAT_NEG_MAX, n);
        el_concat_tf_job j = {.out = out ? out->data : NULL, .n = n, .out_row = out_axis * inner, .neg = neg, .relu = relu};
        for (int i = 0; i < n; i++) {
            const el_tensor *t = &ctx->inputs[first + i];
            j.in[i] = t->data;
            j.row[i] = t->dims[axis] * inner;
        }
        if (mean) {
            const int64_t mdims[4] = {dims[0], 1, 1, dims[3]};
            el_tensor *mt;
            EL_TRY(mean == 2 ? el_kctx_output(ctx, 1, EL_DT_FLOAT, 4, mdims, &mt)
                             : el_kctx_output(ctx, 1, EL_DT_FLOAT, 2, (const int64_t[]){dims[0], dims[3]}, &mt));
            /* The Mean kernel's runs: rows of the map, or its column when a row is one pixel. */
            el_concat_mean_job m = {.t = &j, .images = dims[0], .pixels = dims[1] * dims[2], .cols = dims[3],
                                    .run = el_sum_map_run(dims[1], dims[2]),
                                    .mean = mt->data, .store = !mean_only};
            el_threadpool *pool = el_threadpool_current();
            m.width = el_threadpool_size(pool) > 1 ? 64 : EL_CM_MAX;
#if defined(EL_CONV_X86)
            m.avx512 = el_conv_isa() >= EL_ISA_AVX512 && !neg;
            for (int i = 0; i < n; i++) m.avx512 = m.avx512 && j.row[i] % 16 == 0;
#endif
            if (rs && !m.avx512) return el_kerr(ctx, EL_ERR_RUNTIME, "the resized input needs the AVX-512 path");
            m.rs = rs;
            const int64_t units = (m.cols + m.width - 1) / m.width;
            el_parallel_for(pool, units, 1, el_concat_mean_chunk, &m);
            return EL_OK;
        }
        if (slice_rank) {
            /* Lines of `last` floats, each giving ss outputs from sb on. */
            j.line = last, j.begin = sb, j.size = ss;
            const int64_t lines = last > 0 ? outer * j.out_row / last : 0;
            if (ss > 0) el_parallel_for(el_threadpool_current(), lines, 1 + 4096 / ss, el_concat_sigmoid_lines, &j);
            return EL_OK;
        }
        if (sigmoid) {
            /* The Sigmoid kernel's grain (unary_fast.c). */
            if (j.out_row > 0) el_parallel_for(el_threadpool_current(), outer * j.out_row, 4096, el_concat_sigmoid_span, &j);
            return EL_OK;
        }
        el_parallel_for(el_threadpool_current(), outer, 1 + 16384 / (j.out_row > 0 ? j.out_row : 1), el_concat_tf_rows,
                        &j);
        return EL_OK;
    }
    /* Columns of single innermost slices (coordinates into boxes): one
     * pass over the output. */
    bool columns = inner == 1 && out_axis == n && n <= EL_CONCAT_COLUMNS_MAX;
    for (int i = 0; columns && i < n; i++) columns = ctx->inputs[first + i].dims[axis] == 1;
    if (columns) {
        const void *cols[EL_CONCAT_COLUMNS_MAX];
        for (int i = 0; i < n; i++) cols[i] = ctx->inputs[first + i].data;
        el_copy_interleave(out->data, n, cols, outer, es);
        return EL_OK;
    }
    int64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const el_tensor *t = &ctx->inputs[first + i];
        el_copy_axis_range(out->data, out_axis, pos, t->data, t->dims[axis], 0, outer, t->dims[axis], inner, es);
        pos += t->dims[axis];
    }
    return EL_OK;
}

/* ConcatV2(values..., axis): axis int32 or int64, may be negative. */
/* EL_CONCAT_RESIZE_ATTR (ops/concat.h): input ri resized on the fly by
 * the AVX-512 Mean path, else into a buffer with el_resize_bilinear_core
 * (the ResizeBilinear kernel) and concatenated as it would be. */
static el_status el_concat_resized(el_kctx *ctx, int64_t ri)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    const int n = ctx->ninputs - 2;
    if (ri < 0 || ri >= n || n > EL_CONCAT_NEG_MAX)
        return el_kerr(ctx, EL_ERR_FORMAT, "attr %s names input %lld of %d", EL_CONCAT_RESIZE_ATTR, (long long)ri, n);
    /* The size, as the ResizeBilinear kernel reads it (el_resize_prepare). */
    const el_tensor *size = &ctx->inputs[n + 1];
    if (size->ndim != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "size must be 1-dimensional, found rank %d", size->ndim);
    int64_t hw[2], oh, ow, neg = 0, mean = 0;
    int nhw = 0;
    EL_TRY(el_kctx_index_vector(ctx, n + 1, hw, 2, &nhw));
    if (nhw != 2) return el_kerr(ctx, EL_ERR_RUNTIME, "size must have two elements, found %d", nhw);
    oh = hw[0], ow = hw[1];
    if (oh <= 0 || ow <= 0 || oh > INT32_MAX || ow > INT32_MAX)
        return el_kerr(ctx, EL_ERR_RUNTIME, "output dimensions must be positive, found %lldx%lld", (long long)oh,
                       (long long)ow);
    bool align = false, half = false;
    EL_TRY(el_attr_bool(ctx->node, EL_CONCAT_RESIZE_ALIGN_ATTR, false, &align));
    EL_TRY(el_attr_bool(ctx->node, EL_CONCAT_RESIZE_HALF_ATTR, false, &half));
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_NEG_ATTR, 0, &neg));
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_MEAN_ATTR, 0, &mean));
    EL_TRY(el_kctx_need_dtype(ctx, (int)ri, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[ri];
    if (x->ndim != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "images must be 4-dimensional [batch,height,width,channels], found rank %d",
                       x->ndim);
    if (x->dims[1] <= 0 || x->dims[2] <= 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input image must be of non-zero size, found %lldx%lld",
                       (long long)x->dims[1], (long long)x->dims[2]);
    if (align && half)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "if half_pixel_centers is true, align_corners must be false");
    el_resize_args ra = {.in_dtype = EL_DT_FLOAT, .in = x->data, .batch = x->dims[0], .in_h = x->dims[1],
                         .in_w = x->dims[2], .channels = x->dims[3], .out_h = oh, .out_w = ow,
                         .align_corners = align, .half_pixel_centers = half};
    el_tensor ins[EL_CONCAT_NEG_MAX + 2];
    memcpy(ins, ctx->inputs, sizeof(el_tensor) * (size_t)ctx->ninputs);
    ins[ri] = (el_tensor){.dtype = EL_DT_FLOAT, .ndim = 4, .dims = {x->dims[0], oh, ow, x->dims[3]}};
    el_kctx local = *ctx;
    local.inputs = ins;
    /* On the fly: what el_concat_impl's AVX-512 Mean path needs (every
     * input float, 4-D, a multiple of 16 channels, concatenated along axis
     * 3, none negated), sizes as el_resize_bilinear_core checks them. */
    bool fly = false;
#if defined(EL_CONV_X86)
    int64_t axis = -1;
    fly = mean && !neg && el_conv_isa() >= EL_ISA_AVX512 && oh > 0 && ow > 0 && !(align && half) && x->dims[1] > 0 &&
          x->dims[2] > 0 && x->dims[0] > 0 && el_array_scalar_index(ctx, n, "axis", false, &axis) == EL_OK &&
          (axis == 3 || axis == -1);
    for (int i = 0; fly && i < n; i++)
        fly = ins[i].dtype == EL_DT_FLOAT && ins[i].ndim == 4 && ins[i].dims[3] % 16 == 0;
#endif
    if (fly) {
        el_resize_interp *ys = el_mem_alloc(sizeof *ys * (size_t)oh), *xs = el_mem_alloc(sizeof *xs * (size_t)ow);
        el_status s = ys && xs ? EL_OK : el_kerr(ctx, EL_ERR_NOMEM, "out of memory for the resize tables");
        if (s == EL_OK) {
            el_resize_bilinear_axis(x->dims[1], oh, align, half, ys);
            el_resize_bilinear_axis(x->dims[2], ow, align, half, xs);
            const el_concat_rs rs = {.input = (int)ri, .x = x->data, .h = x->dims[1], .w = x->dims[2],
                                     .c = x->dims[3], .out_w = ow, .ys = ys, .xs = xs};
            s = el_concat_impl(&local, 0, n, n, "axis", &rs);
        }
        el_mem_free(ys);
        el_mem_free(xs);
        return s;
    }
    el_tensor tmp = {0};
    el_status s = oh > 0 && ow > 0 ? el_tensor_alloc(&tmp, EL_DT_FLOAT, 4, ins[ri].dims)
                                   : el_kerr(ctx, EL_ERR_RUNTIME, "output dimensions must be positive, found %lldx%lld",
                                             (long long)oh, (long long)ow);
    if (s == EL_OK) {
        ra.out_f32 = tmp.data;
        s = el_tensor_numel(&tmp) > 0 ? el_resize_bilinear_core(&ra) : EL_OK;
        if (s != EL_OK) s = el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    }
    if (s == EL_OK) {
        ins[ri] = tmp;
        s = el_concat_impl(&local, 0, n, n, "axis", NULL);
    }
    el_tensor_release(&tmp);
    return s;
}

el_status el_concat_v2_run(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    int64_t ri = 0;
    EL_TRY(el_attr_int(ctx->node, EL_CONCAT_RESIZE_ATTR, 0, &ri));
    if (ri) return el_concat_resized(ctx, ri - 1);
    return el_concat_impl(ctx, 0, ctx->ninputs - 1, ctx->ninputs - 1, "axis", NULL);
}

/* ---- Rows made by a reader (EL_CAT_NIN_ATTR) ---- */

bool el_concat_rows_make(const el_kctx *ctx, el_concat_rows *r)
{
    memset(r, 0, sizeof *r);
    r->resized = -1;
    int64_t ri = 0, axis = 0, hw[2] = {0, 0};
    bool sigmoid = false, align = false, half = false;
    if (el_attr_int(ctx->node, EL_CONCAT_RESIZE_ATTR, 0, &ri) != EL_OK ||
        el_attr_int(ctx->node, EL_CONCAT_NEG_ATTR, 0, &r->neg) != EL_OK ||
        el_attr_bool(ctx->node, EL_CONCAT_RELU_ATTR, false, &r->relu) != EL_OK ||
        el_attr_bool(ctx->node, EL_CONCAT_SIGMOID_ATTR, false, &sigmoid) != EL_OK ||
        el_attr_bool(ctx->node, EL_CONCAT_RESIZE_ALIGN_ATTR, false, &align) != EL_OK ||
        el_attr_bool(ctx->node, EL_CONCAT_RESIZE_HALF_ATTR, false, &half) != EL_OK || sigmoid ||
        el_node_attr(ctx->node, EL_CONCAT_SLICE_RANK_ATTR) || el_node_attr(ctx->node, EL_CONCAT_MEAN_ATTR))
        return false;
    const int n = ctx->ninputs - 1 - (ri ? 1 : 0);
    int nhw = 0;
    if (n < 1 || n > EL_CAT_ROWS_MAX || ri < 0 || ri > n || (align && half) ||
        el_array_scalar_index(ctx, n, "axis", false, &axis) != EL_OK || (axis != 3 && axis != -1) ||
        (ri && (ctx->inputs[n + 1].ndim != 1 || el_kctx_index_vector(ctx, n + 1, hw, 2, &nhw) != EL_OK || nhw != 2)))
        return false;
    r->n = n;
    r->resized = (int)ri - 1;
    int64_t c = 0;
    for (int i = 0; i < n; i++) {
        const el_tensor *t = &ctx->inputs[i];
        if (t->dtype != EL_DT_FLOAT || t->ndim != 4 || t->dims[0] <= 0 || t->dims[1] <= 0 || t->dims[2] <= 0 ||
            t->dims[3] <= 0 || t->dims[3] > INT32_MAX)
            return false;
        const int64_t h = i == r->resized ? hw[0] : t->dims[1], w = i == r->resized ? hw[1] : t->dims[2];
        if (i == 0) r->dims[0] = t->dims[0], r->dims[1] = h, r->dims[2] = w;
        if (t->dims[0] != r->dims[0] || h != r->dims[1] || w != r->dims[2]) return false;
        r->in[i] = t->data;
        r->ch[i] = t->dims[3];
        c += t->dims[3];
    }
    r->dims[3] = c;
    if (r->resized >= 0) {
        const el_tensor *x = &ctx->inputs[r->resized];
        if (hw[0] > INT32_MAX || hw[1] > INT32_MAX) return false;
        r->rh = x->dims[1], r->rw = x->dims[2];
        r->ys = el_mem_alloc(sizeof *r->ys * (size_t)hw[0]);
        r->xs = el_mem_alloc(sizeof *r->xs * (size_t)hw[1]);
        if (!r->ys || !r->xs) {
            el_concat_rows_free(r);
            return false;
        }
        el_resize_bilinear_axis(r->rh, hw[0], align, half, r->ys);
        el_resize_bilinear_axis(r->rw, hw[1], align, half, r->xs);
    }
    return true;
}

void el_concat_rows_free(el_concat_rows *r)
{
    el_mem_free(r->ys);
    el_mem_free(r->xs);
    r->ys = r->xs = NULL;
}

/* Input i's channels of output pixels [x0, x1) of row y of image b into
 * dst (at a stride of the concat's channels), negated and through Relu as
 * the concat kernel applies them. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
__attribute__((optimize("tree-loop-vectorize")))
#endif
static void el_concat_rows_piece(const el_concat_rows *r, int i, int64_t b, int64_t y, int64_t x0, int64_t x1,
                                 float *dst)
{
    const int64_t c = r->ch[i], oc = r->dims[3];
    const float *top = NULL, *bot = NULL;
    if (i == r->resized) {
        const float *img = r->in[i] + b * r->rh * r->rw * c;
        top = img + r->ys[y].lo * r->rw * c, bot = img + r->ys[y].hi * r->rw * c;
    }
    for (int64_t x = x0; x < x1; x++) {
        float *restrict d = dst + (x - x0) * oc;
        if (top) {
            /* el_resize_row_f32_pixels' operations, each rounded. */
            const float *restrict tl = top + r->xs[x].lo * c, *restrict tr = top + r->xs[x].hi * c;
            const float *restrict bl = bot + r->xs[x].lo * c, *restrict br = bot + r->xs[x].hi * c;
            const float xl = r->xs[x].lerp, yl = r->ys[y].lerp;
            for (int64_t k = 0; k < c; k++) {
                const float t = tl[k] + (tr[k] - tl[k]) * xl, u = bl[k] + (br[k] - bl[k]) * xl;
                d[k] = t + (u - t) * yl;
            }
        } else {
            memcpy(d, r->in[i] + ((b * r->dims[1] + y) * r->dims[2] + x) * c, sizeof(float) * (size_t)c);
        }
        if ((r->neg >> i) & 1)
            for (int64_t k = 0; k < c; k++) d[k] = -d[k];
        if (r->relu)
            for (int64_t k = 0; k < c; k++) d[k] = d[k] < 0 ? 0.0f : d[k];
    }
}

#if defined(EL_CONV_X86)
/* The same, 16 channels per vector. */
__attribute__((target("avx512f"))) static void el_concat_rows_piece_avx512(const el_concat_rows *r, int i, int64_t b,
                                                                            int64_t y, int64_t x0, int64_t x1,
                                                                            float *dst)
{
    const int64_t c = r->ch[i], oc = r->dims[3];
    const __m512 zero = _mm512_setzero_ps();
    const __m512i sign = _mm512_set1_epi32(INT32_MIN);
    const bool ng = (r->neg >> i) & 1, relu = r->relu;
    const __mmask16 tail = c % 16 ? (__mmask16)((1u << (c % 16)) - 1u) : (__mmask16)0xFFFF;
    const float *top = NULL, *bot = NULL, *s = NULL;
    __m512 yl = zero;
    if (i == r->resized) {
        const float *img = r->in[i] + b * r->rh * r->rw * c;
        top = img + r->ys[y].lo * r->rw * c, bot = img + r->ys[y].hi * r->rw * c;
        yl = _mm512_set1_ps(r->ys[y].lerp);
    } else {
        s = r->in[i] + ((b * r->dims[1] + y) * r->dims[2] + x0) * c;
    }
    for (int64_t x = x0; x < x1; x++, dst += oc) {
        const float *tl = NULL, *tr = NULL, *bl = NULL, *br = NULL;
        __m512 xl = zero;
        if (top) {
            tl = top + r->xs[x].lo * c, tr = top + r->xs[x].hi * c;
            bl = bot + r->xs[x].lo * c, br = bot + r->xs[x].hi * c;
            xl = _mm512_set1_ps(r->xs[x].lerp);
        }
        for (int64_t k = 0; k < c; k += 16) {
            const __mmask16 m = c - k >= 16 ? (__mmask16)0xFFFF : tail;
            __m512 f;
            if (top) {
                /* el_resize_row_f32_pixels' operations, each rounded (no FMA). */
                const __m512 a = _mm512_maskz_loadu_ps(m, tl + k), bb = _mm512_maskz_loadu_ps(m, tr + k);
                const __m512 cc = _mm512_maskz_loadu_ps(m, bl + k), dd = _mm512_maskz_loadu_ps(m, br + k);
                const __m512 t = _mm512_add_ps(a, _mm512_mul_ps(_mm512_sub_ps(bb, a), xl));
                const __m512 u = _mm512_add_ps(cc, _mm512_mul_ps(_mm512_sub_ps(dd, cc), xl));
                f = _mm512_add_ps(t, _mm512_mul_ps(_mm512_sub_ps(u, t), yl));
            } else {
                f = _mm512_maskz_loadu_ps(m, s + (x - x0) * c + k);
            }
            if (ng) f = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(f), sign));
            if (relu) f = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(f, zero, _CMP_LT_OQ), f, zero);
            _mm512_mask_storeu_ps(dst + k, m, f);
        }
    }
}
#endif

void el_concat_rows_span(const el_concat_rows *r, int64_t b, int64_t y, int64_t x0, int64_t x1, float *dst)
{
#if defined(EL_CONV_X86)
    const bool avx512 = el_conv_isa() >= EL_ISA_AVX512;
#endif
    for (int i = 0; i < r->n; i++) {
#if defined(EL_CONV_X86)
        if (avx512) el_concat_rows_piece_avx512(r, i, b, y, x0, x1, dst);
        else
#endif
            el_concat_rows_piece(r, i, b, y, x0, x1, dst);
        dst += r->ch[i];
    }
}

/* Output 1: the Mean of EL_CONCAT_MEAN_ATTR. */
static int el_concat_v2_noutputs(const el_node *n) { return el_node_attr(n, EL_CONCAT_MEAN_ATTR) ? 2 : 1; }

/* Concat(concat_dim, values...): the TF1 argument order. */
static el_status el_concat_v1(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    return el_concat_impl(ctx, 1, ctx->ninputs - 1, 0, "concat_dim", NULL);
}

/* Pack (tf.stack): N equal shapes stacked on a new axis. */
static el_status el_pack(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in0 = &ctx->inputs[0];
    const int n = ctx->ninputs, er = in0->ndim + 1;
    int64_t axis_attr;
    EL_TRY(el_attr_int(ctx->node, "axis", 0, &axis_attr));
    const int64_t axis = axis_attr < 0 ? axis_attr + er : axis_attr;
    if (axis < 0 || axis >= er)
        return el_kerr(ctx, EL_ERR_RUNTIME, "axis = %lld not in [%d, %d)", (long long)axis_attr, -er, er);
    if (er > EL_MAX_DIMS)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "result would have rank %d, at most %d supported", er, EL_MAX_DIMS);
    int64_t dims[EL_MAX_DIMS];
    for (int i = 0, j = 0; i < er; i++) dims[i] = i == axis ? n : in0->dims[j++];
    /* TF forwards a single value under the expanded shape. */
    if (n == 1) return el_kctx_forward(ctx, 0, 0, er, dims);
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    for (int i = 1; i < n; i++) {
        const el_tensor *t = &ctx->inputs[i];
        if (t->dtype != in0->dtype)
            return el_kerr(ctx, EL_ERR_RUNTIME, "values[%d] is %s, values[0] is %s", i, el_dtype_name(t->dtype),
                           el_dtype_name(in0->dtype));
        bool same = t->ndim == in0->ndim;
        for (int j = 0; same && j < t->ndim; j++) same = t->dims[j] == in0->dims[j];
        if (!same) {
            char a[160], b[160];
            return el_kerr(ctx, EL_ERR_RUNTIME, "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s",
                           el_array_shape_str(in0, a, sizeof a), i, el_array_shape_str(t, b, sizeof b));
        }
    }
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in0->dtype, er, dims, &out));
    const int64_t outer = el_dims_prod(dims, 0, (int)axis), inner = el_dims_prod(dims, (int)axis + 1, er);
    if (inner == 1 && n <= EL_CONCAT_COLUMNS_MAX) {
        const void *cols[EL_CONCAT_COLUMNS_MAX];
        for (int i = 0; i < n; i++) cols[i] = ctx->inputs[i].data;
        el_copy_interleave(out->data, n, cols, outer, es);
        return EL_OK;
    }
    for (int i = 0; i < n; i++)
        el_copy_axis_range(out->data, n, i, ctx->inputs[i].data, 1, 0, outer, 1, inner, es);
    return EL_OK;
}

/* Tile: output dim i is dims[i] * multiples[i]. The copy views the output as
 * [m0,d0,m1,d1,...] and reads the input with stride 0 along each mi. */
static el_status el_tile(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *in = &ctx->inputs[0], *mt = &ctx->inputs[1];
    const int r = in->ndim;
    if (mt->ndim != 1 || mt->dims[0] != r)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Expected multiples argument to be a vector of length %d but got length %lld",
                       r, (long long)(mt->ndim == 1 ? mt->dims[0] : mt->ndim));
    int64_t mult[EL_MAX_DIMS];
    int nm;
    EL_TRY(el_kctx_index_vector(ctx, 1, mult, EL_MAX_DIMS, &nm));
    int64_t dims[EL_MAX_DIMS];
    bool identity = true;
    for (int i = 0; i < r; i++) {
        if (mult[i] < 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Expected multiples[%d] >= 0, but got %lld", i, (long long)mult[i]);
        if (!el_array_mul(in->dims[i], mult[i], &dims[i]))
            return el_kerr(ctx, EL_ERR_RUNTIME, "tiled dimension %d (%lld * %lld) overflows int64", i,
                           (long long)in->dims[i], (long long)mult[i]);
        identity &= dims[i] == in->dims[i];
    }
    /* TF hands the input back when nothing changes (also for scalars). */
    if (identity) return el_kctx_forward(ctx, 0, 0, r, in->dims);
    size_t es;
    EL_TRY(el_array_elsize(ctx, 0, &es));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in->dtype, r, dims, &out));
    int64_t is[EL_MAX_DIMS], os[EL_MAX_DIMS];
    el_strides_of(r, in->dims, is);
    el_strides_of(r, dims, os);
    int64_t bd[EL_STRIDED_MAX_DIMS], bds[EL_STRIDED_MAX_DIMS], bss[EL_STRIDED_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        bd[2 * i] = mult[i];
        bds[2 * i] = in->dims[i] * os[i];
        bss[2 * i] = 0;
        bd[2 * i + 1] = in->dims[i];
        bds[2 * i + 1] = os[i];
        bss[2 * i + 1] = is[i];
    }
    el_copy_strided(out->data, 0, bds, in->data, 0, bss, es, 2 * r, bd);
    return EL_OK;
}

const el_op el_ops_concat[] = {
    {"ConcatV2", el_concat_v2_run, el_concat_v2_noutputs, 0},
    {"Concat", el_concat_v1, NULL, 0},
    {"Pack", el_pack, NULL, 0},
    {"Tile", el_tile, NULL, 0},
    {NULL, NULL, NULL, 0},
};
