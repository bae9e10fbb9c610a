/* Op family 'reduce': Sum, Mean, Prod, Max, Min, All, Any (TensorFlow's
 * ReductionOp) and ArgMax, ArgMin.
 *
 * The input is read once, in memory order. Its dimensions are collapsed
 * into alternating runs of reduced and kept dimensions (as TF's
 * ReductionHelper::Simplify does); each innermost row is either folded into
 * one accumulator (reduced) or combined elementwise into a row of
 * accumulators (kept). Accumulators are double for floating-point inputs and
 * int64 for integers and bool, then narrowed once. A float32 Sum or Mean
 * whose innermost reduced axis has at most EL_SUM_RUN_MAX (256) elements
 * adds each run along that axis (a row of a feature map) in float, from +0
 * in order, and the runs' sums in double (ops/reduce_fast.h): rounding as
 * TF's float32 sums over a run, double across runs; fused kernels that
 * take a spatial Mean (ops/conv_mean.h, ops/concat.c) follow the same order
 * and so give these bits. Longer runs add each value in double. Either way
 * the differences from TF's float32 tree sums are rounding only;
 * integer sums and products wrap exactly as TF's do, and Mean of integers
 * divides the int64 sum with truncation, as TF's MeanReducer casting
 * specialisation does. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "ops/broadcast.h"
#include "ops/reduce_fast.h"
#include "ops/kernel.h"

typedef enum el_redop { EL_R_SUM, EL_R_MEAN, EL_R_PROD, EL_R_MAX, EL_R_MIN, EL_R_ALL, EL_R_ANY } el_redop;

/* The four ways to combine; Mean is a Sum divided at the end, All is Min
 * and Any is Max over 0/1. */
typedef enum el_comb { EL_C_SUM, EL_C_PROD, EL_C_MAX, EL_C_MIN } el_comb;

static el_comb el_comb_of(el_redop op)
{
    switch (op) {
    case EL_R_SUM: case EL_R_MEAN: return EL_C_SUM;
    case EL_R_PROD: return EL_C_PROD;
    case EL_R_MAX: case EL_R_ANY: return EL_C_MAX;
    default: return EL_C_MIN;
    }
}

/* Folds n contiguous inputs into acc[0] (vec == 0) or into acc[0..n)
 * elementwise (vec == 1). */
typedef void (*el_fold_fn)(el_comb c, const void *in, int64_t n, void *acc, int vec);

#define EL_FOLD(A, COMB)                                                     \
    do {                                                                     \
        A *ac = acc;                                                         \
        if (vec) {                                                           \
            for (int64_t i = 0; i < n; i++) {                                \
                A r = ac[i];                                                 \
                const A x = (A)p[i];                                         \
                COMB;                                                        \
                ac[i] = r;                                                   \
            }                                                                \
        } else {                                                             \
            A r = *ac;                                                       \
            for (int64_t i = 0; i < n; i++) {                                \
                const A x = (A)p[i];                                         \
                COMB;                                                        \
            }                                                                \
            *ac = r;                                                         \
        }                                                                    \
    } while (0)

/* Max/Min propagate NaN (TF registers MaxReducer<T, PropagateNaN>): once
 * the accumulator is NaN no number replaces it. */
#define EL_FOLD_F(SUF, T)                                                              \
    static void el_fold_##SUF(el_comb c, const void *in, int64_t n, void *acc, int vec) \
    {                                                                                  \
        const T *p = in;                                                               \
        switch (c) {                                                                   \
        case EL_C_SUM: EL_FOLD(double, r += x); break;                                 \
        case EL_C_PROD: EL_FOLD(double, r *= x); break;                                \
        case EL_C_MAX: EL_FOLD(double, if (x > r || isnan(x)) r = x); break;           \
        case EL_C_MIN: EL_FOLD(double, if (x < r || isnan(x)) r = x); break;           \
        }                                                                              \
    }

#define EL_FOLD_I(SUF, T)                                                              \
    static void el_fold_##SUF(el_comb c, const void *in, int64_t n, void *acc, int vec) \
    {                                                                                  \
        const T *p = in;                                                               \
        switch (c) {                                                                   \
        case EL_C_SUM: EL_FOLD(int64_t, r = (int64_t)((uint64_t)r + (uint64_t)x)); break; \
        case EL_C_PROD: EL_FOLD(int64_t, r = (int64_t)((uint64_t)r * (uint64_t)x)); break; \
        case EL_C_MAX: EL_FOLD(int64_t, if (x > r) r = x); break;                      \
        case EL_C_MIN: EL_FOLD(int64_t, if (x < r) r = x); break;                      \
        }                                                                              \
    }

#define EL_GEN_FOLD(DT, SUF, T, K) EL_FOLD_##K(SUF, T)
EL_NUMERIC_TYPES(EL_GEN_FOLD)
#undef EL_GEN_FOLD

/* Per dtype: the fold, and the identities of Max and Min. Eigen's
 * MinMaxBottomValue: -inf/+inf for floating point, lowest/highest for
 * integers; bool is 0/1, so All of nothing is true and Any of nothing false. */
typedef struct el_redtype {
    el_fold_fn fold;
    bool is_float;
    double fmin, fmax;
    int64_t imin, imax;
} el_redtype;

static bool el_redtype_of(el_dtype dt, el_redtype *rt)
{
    memset(rt, 0, sizeof *rt);
    switch (dt) {
    case EL_DT_FLOAT: *rt = (el_redtype){el_fold_f32, true, -INFINITY, INFINITY, 0, 0}; break;
    case EL_DT_DOUBLE: *rt = (el_redtype){el_fold_f64, true, -INFINITY, INFINITY, 0, 0}; break;
    case EL_DT_INT32: *rt = (el_redtype){el_fold_i32, false, 0, 0, INT32_MIN, INT32_MAX}; break;
    case EL_DT_INT64: *rt = (el_redtype){el_fold_i64, false, 0, 0, INT64_MIN, INT64_MAX}; break;
    case EL_DT_UINT8: *rt = (el_redtype){el_fold_u8, false, 0, 0, 0, UINT8_MAX}; break;
    case EL_DT_INT8: *rt = (el_redtype){el_fold_i8, false, 0, 0, INT8_MIN, INT8_MAX}; break;
    case EL_DT_INT16: *rt = (el_redtype){el_fold_i16, false, 0, 0, INT16_MIN, INT16_MAX}; break;
    case EL_DT_BOOL: *rt = (el_redtype){el_fold_u8, false, 0, 0, 0, 1}; break;
    default: return false;
    }
    return true;
}

/* Float Sum/Mean in runs (see the header): n contiguous reduced floats,
 * each run of `run` summed in float from +0, then added to *acc. */
static void el_fold_runs_f32(const void *in, int64_t n, int64_t run, double *acc)
{
    const float *p = in;
    for (int64_t i0 = 0; i0 < n; i0 += run) {
        const int64_t i1 = n - i0 < run ? n : i0 + run;
        float f = 0.0f;
        for (int64_t i = i0; i < i1; i++) f += p[i];
        *acc += (double)f;
    }
}

/* The kept-innermost case: one reduced position of n outputs added to
 * their runs' float sums; at a run's last position (flush) the sums go to
 * the double accumulators and start again from +0. */
static void el_fold_part_f32(const void *in, int64_t n, float *part, double *acc, bool flush)
{
    const float *p = in;
    for (int64_t i = 0; i < n; i++) part[i] += p[i];
    if (!flush) return;
    for (int64_t i = 0; i < n; i++) {
        acc[i] += (double)part[i];
        part[i] = 0.0f;
    }
}

/* Narrows the accumulators into the output; Mean divides by count (float:
 * 0/0 is NaN, TF's identity for an empty float Mean; integers: an empty
 * Mean stays 0, where TF would divide by zero). */
#define EL_FINISH_F(SUF, T)                                                                  \
    static void el_finish_##SUF(const void *acc, void *out, int64_t n, bool mean, int64_t cnt) \
    {                                                                                        \
        const double *a = acc;                                                               \
        T *o = out;                                                                          \
        for (int64_t i = 0; i < n; i++) o[i] = (T)(mean ? a[i] / (double)cnt : a[i]);        \
    }
#define EL_FINISH_I(SUF, T)                                                                  \
    static void el_finish_##SUF(const void *acc, void *out, int64_t n, bool mean, int64_t cnt) \
    {                                                                                        \
        const int64_t *a = acc;                                                              \
        T *o = out;                                                                          \
        for (int64_t i = 0; i < n; i++) o[i] = (T)(mean && cnt > 0 ? a[i] / cnt : a[i]);     \
    }
#define EL_GEN_FINISH(DT, SUF, T, K) EL_FINISH_##K(SUF, T)
EL_NUMERIC_TYPES(EL_GEN_FINISH)
#undef EL_GEN_FINISH

static void el_finish(el_dtype dt, const void *acc, void *out, int64_t n, bool mean, int64_t cnt)
{
    switch (dt) {
#define EL_FINISH_CASE(DT, SUF, T, K) case DT: el_finish_##SUF(acc, out, n, mean, cnt); break;
    EL_NUMERIC_TYPES(EL_FINISH_CASE)
#undef EL_FINISH_CASE
    case EL_DT_BOOL: {
        const int64_t *a = acc;
        uint8_t *o = out;
        for (int64_t i = 0; i < n; i++) o[i] = a[i] != 0;
        break;
    }
    default: break;
    }
}

/* Reads the axes input (scalar or vector, int32/int64, negative counts from
 * the end, duplicates allowed) into a mask over the input's dimensions. */
static el_status el_axes_mask(const el_kctx *ctx, int input, int rank, bool *mask)
{
    const el_tensor *ax = &ctx->inputs[input];
    char s[160];
    if (ax->ndim > 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "reduction_indices must be a scalar or a vector, got shape %s",
                       el_shape_str(ax->ndim, ax->dims, s, sizeof s));
    for (int d = 0; d < rank; d++) mask[d] = false;
    int64_t n = el_tensor_numel(ax);
    for (int64_t i = 0; i < n; i++) {
        int64_t a;
        EL_TRY(el_kctx_index_value(ctx, input, i, &a));
        int64_t d = a < 0 ? a + rank : a;
        if (d < 0 || d >= rank)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Invalid reduction dimension (%lld for input with %d dimension(s)",
                           (long long)a, rank);
        mask[d] = true;
    }
    return EL_OK;
}

static el_status el_reduce(el_kctx *ctx, el_redop op)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *x = &ctx->inputs[0];
    bool logical = op == EL_R_ALL || op == EL_R_ANY;
    el_redtype rt;
    if (logical) {
        EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_BOOL));
    } else if (!(el_dtype_kind(x->dtype) & EL_KIND_NUM)) {
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input 0 has dtype %s, expected a numeric dtype",
                       el_dtype_name(x->dtype));
    }
    el_redtype_of(x->dtype, &rt);

    bool keep;
    bool mask[EL_MAX_DIMS];
    EL_TRY(el_attr_bool(ctx->node, "keep_dims", false, &keep));
    EL_TRY(el_axes_mask(ctx, 1, x->ndim, mask));

    int64_t odims[EL_MAX_DIMS];
    int ond = 0;
    int64_t cnt = 1; /* elements folded into each output */
    for (int d = 0; d < x->ndim; d++) {
        if (!mask[d]) odims[ond++] = x->dims[d];
        else {
            cnt *= x->dims[d];
            if (keep) odims[ond++] = 1;
        }
    }
    /* Reducing nothing (or only size-1 dimensions) is a reshape. */
    if (cnt == 1) return el_kctx_forward(ctx, 0, 0, ond, odims);

    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, ond, odims, &out));
    int64_t onumel = el_tensor_numel(out);
    if (onumel == 0) return EL_OK;

    void *acc = el_mem_alloc((size_t)onumel * 8);
    if (!acc) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for %lld accumulators", (long long)onumel);
    el_comb comb = el_comb_of(op);
    if (rt.is_float) {
        double init = comb == EL_C_SUM ? 0 : comb == EL_C_PROD ? 1 : comb == EL_C_MAX ? rt.fmin : rt.fmax;
        el_fill_elems(acc, &init, 8, onumel);
    } else {
        int64_t init = comb == EL_C_SUM ? 0 : comb == EL_C_PROD ? 1 : comb == EL_C_MAX ? rt.imin : rt.imax;
        el_fill_elems(acc, &init, 8, onumel);
    }

    int64_t inumel = el_tensor_numel(x);
    if (inumel > 0) {
        /* Collapse: drop size-1 dims, merge neighbours reduced alike. */
        int64_t sz[EL_MAX_DIMS], ost[EL_MAX_DIMS], idx[EL_MAX_DIMS] = {0};
        bool red[EL_MAX_DIMS];
        int nd = 0;
        for (int d = 0; d < x->ndim; d++) {
            if (x->dims[d] == 1) continue;
            if (nd > 0 && red[nd - 1] == mask[d]) sz[nd - 1] *= x->dims[d];
            else {
                sz[nd] = x->dims[d];
                red[nd++] = mask[d];
            }
        }
        int64_t st = 1;
        for (int d = nd - 1; d >= 0; d--) {
            ost[d] = red[d] ? 0 : st;
            if (!red[d]) st *= sz[d];
        }
        const int64_t n = sz[nd - 1];
        const int vec = !red[nd - 1];
        const size_t es = el_dtype_size(x->dtype);
        const char *in = x->data;
        int64_t ooff = 0;
        /* A float Sum/Mean: runs along the innermost reduced axis in float
         * (see the header), when it is at most EL_SUM_RUN_MAX long. */
        int64_t run = 0;
        if (x->dtype == EL_DT_FLOAT && comb == EL_C_SUM)
            for (int d = x->ndim - 1; d >= 0; d--)
                if (mask[d] && x->dims[d] != 1) {
                    run = el_sum_run(x->dims[d]);
                    break;
                }
        /* Over leading axes (a feature map's spatial mean): the fast column
         * sums, the same bits. */
        bool fast = x->dtype == EL_DT_FLOAT && comb == EL_C_SUM && nd == 2 && red[0] && !red[1] &&
                    el_sum_rows_f32_fast(x->data, sz[0], sz[1], run, acc);
        /* Kept innermost (vec): the runs' float sums per output, and the
         * collapsed dimension holding the innermost reduced axis. */
        float *part = NULL;
        int dr = 0;
        if (!fast && run > 0 && vec) {
            part = el_mem_calloc((size_t)onumel, sizeof(float));
            if (!part) {
                el_mem_free(acc);
                return el_kerr(ctx, EL_ERR_NOMEM, "out of memory for %lld partial sums", (long long)onumel);
            }
            for (int d = 0; d < nd - 1; d++)
                if (red[d]) dr = d;
        }
        for (int64_t r = 0; !fast && r < inumel / n; r++) {
            const void *row = in + (size_t)(r * n) * es;
            if (run > 0 && vec) {
                el_fold_part_f32(row, n, part + ooff, (double *)acc + ooff, idx[dr] % run == run - 1);
            } else if (run > 0) {
                el_fold_runs_f32(row, n, run, (double *)acc + ooff);
            } else {
                rt.fold(comb, row, n, (char *)acc + ooff * 8, vec);
            }
            for (int d = nd - 2; d >= 0; d--) {
                ooff += ost[d];
                if (++idx[d] < sz[d]) break;
                ooff -= ost[d] * sz[d];
                idx[d] = 0;
            }
        }
        el_mem_free(part);
    }
    el_finish(x->dtype, acc, out->data, onumel, op == EL_R_MEAN, cnt);
    el_mem_free(acc);
    return EL_OK;
}

#define EL_REDUCE_OPS(X) \
    X(Sum, EL_R_SUM)     \
    X(Mean, EL_R_MEAN)   \
    X(Prod, EL_R_PROD)   \
    X(Max, EL_R_MAX)     \
    X(Min, EL_R_MIN)     \
    X(All, EL_R_ALL)     \
    X(Any, EL_R_ANY)

#define EL_REDUCE_KERNEL(NAME, OP) \
    static el_status el_k_##NAME(el_kctx *ctx) { return el_reduce(ctx, OP); }
EL_REDUCE_OPS(EL_REDUCE_KERNEL)
#undef EL_REDUCE_KERNEL

/* ---- ArgMax / ArgMin ---------------------------------------------------------- */

/* Eigen's ArgMax/ArgMin tuple reducers, run in index order: start from
 * (0, lowest) (resp. highest) and replace only on a strictly better value,
 * so ties keep the first index and NaN never wins. Values are compared as
 * double (float inputs) or int64 (integers), which is exact. */
#define EL_ARG_LOOP(A, LOWEST, HIGHEST)                                                   \
    for (int64_t o = 0; o < outer; o++)                                                   \
        for (int64_t j = 0; j < inner; j++) {                                             \
            const el_elem_t *p = a + o * len * inner + j;                                       \
            int64_t best = 0;                                                             \
            A bv = is_max ? (LOWEST) : (HIGHEST);                                         \
            for (int64_t k = 0; k < len; k++) {                                           \
                const A v = (A)p[k * inner];                                              \
                if (is_max ? v > bv : v < bv) {                                           \
                    bv = v;                                                               \
                    best = k;                                                             \
                }                                                                         \
            }                                                                             \
            res[o * inner + j] = best;                                                    \
        }

typedef void (*el_arg_fn)(const void *in, int64_t outer, int64_t len, int64_t inner, bool is_max, int64_t *res);

#define EL_ARG_F(DT, SUF, T)                                                                        \
    static void el_arg_##SUF(const void *in, int64_t outer, int64_t len, int64_t inner, bool is_max, int64_t *res) \
    {                                                                                             \
        typedef T el_elem_t;                                                                      \
        const T *a = in;                                                                          \
        /* NumTraits<T>::lowest() is the most negative finite value */                           \
        const double lo = sizeof(T) == 4 ? -(double)FLT_MAX : -DBL_MAX;                           \
        EL_ARG_LOOP(double, lo, -lo)                                                              \
    }
#define EL_ARG_I(DT, SUF, T)                                                                        \
    static void el_arg_##SUF(const void *in, int64_t outer, int64_t len, int64_t inner, bool is_max, int64_t *res) \
    {                                                                                             \
        typedef T el_elem_t;                                                                      \
        const T *a = in;                                                                          \
        el_redtype rt;                                                                            \
        el_redtype_of(DT, &rt);                                                                   \
        EL_ARG_LOOP(int64_t, rt.imin, rt.imax)                                                    \
    }
#define EL_GEN_ARG(DT, SUF, T, K) EL_ARG_##K(DT, SUF, T)
EL_NUMERIC_TYPES(EL_GEN_ARG)
#undef EL_GEN_ARG

static el_arg_fn el_arg_fn_of(el_dtype dt)
{
    switch (dt) {
#define EL_ARG_CASE(DT, SUF, T, K) case DT: return el_arg_##SUF;
    EL_NUMERIC_TYPES(EL_ARG_CASE)
#undef EL_ARG_CASE
    case EL_DT_BOOL: return el_arg_u8;
    default: return NULL;
    }
}

static el_status el_argminmax(el_kctx *ctx, bool is_max)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *x = &ctx->inputs[0], *dim = &ctx->inputs[1];
    el_arg_fn fn = el_arg_fn_of(x->dtype);
    char s[160];
    if (!fn)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input 0 has dtype %s, expected a numeric or bool dtype",
                       el_dtype_name(x->dtype));
    el_dtype odt;
    EL_TRY(el_attr_dtype(ctx->node, "output_type", EL_DT_INT64, &odt));
    if (odt != EL_DT_INT64 && odt != EL_DT_INT32 && odt != EL_DT_INT16)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "output_type %s is not supported (int64, int32 or int16)",
                       el_dtype_name(odt));
    if (dim->ndim != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "dim must be a scalar, but received tensor of shape: %s",
                       el_shape_str(dim->ndim, dim->dims, s, sizeof s));
    int64_t d, axis;
    EL_TRY(el_kctx_index_value(ctx, 1, 0, &d));
    axis = d < 0 ? d + x->ndim : d;
    if (axis < 0 || axis >= x->ndim)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Expected dimension in the range [%d, %d), but got %lld", -x->ndim, x->ndim,
                       (long long)d);
    if (x->dims[axis] == 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Reduction axis %lld is empty in shape %s", (long long)d,
                       el_shape_str(x->ndim, x->dims, s, sizeof s));

    int64_t odims[EL_MAX_DIMS], outer = 1, inner = 1;
    int ond = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i == axis) continue;
        odims[ond++] = x->dims[i];
        if (i < axis) outer *= x->dims[i];
        else inner *= x->dims[i];
    }
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, odt, ond, odims, &out));
    int64_t n = outer * inner;
    if (n == 0) return EL_OK;
    int64_t *res = odt == EL_DT_INT64 ? out->data : el_mem_alloc((size_t)n * sizeof *res);
    if (!res) return el_kerr(ctx, EL_ERR_NOMEM, "out of memory");
    fn(x->data, outer, x->dims[axis], inner, is_max, res);
    if (res != out->data) {
        /* Indices are below the axis length, so narrowing is exact unless the
         * axis is longer than the output type allows, as in TF. */
        el_status st = el_cast_array(res, EL_DT_INT64, out->data, odt, n, false);
        el_mem_free(res);
        EL_TRY(st);
    }
    return EL_OK;
}

static el_status el_k_ArgMax(el_kctx *ctx) { return el_argminmax(ctx, true); }
static el_status el_k_ArgMin(el_kctx *ctx) { return el_argminmax(ctx, false); }

const el_op el_ops_reduce[] = {
#define EL_ROW_OF(NAME, OP) {#NAME, el_k_##NAME, NULL, EL_OP_PARALLEL},
    EL_REDUCE_OPS(EL_ROW_OF)
#undef EL_ROW_OF
    {"ArgMax", el_k_ArgMax, NULL, 0},
    {"ArgMin", el_k_ArgMin, NULL, 0},
    {NULL, NULL, NULL, 0},
};
