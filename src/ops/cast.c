/* Op family 'cast': Cast, and the element conversions other kernels and
 * loaders share (ops/broadcast.h: el_cast_array, el_cast_tensor, float16).
 *
 * TensorFlow casts with static_cast (Eigen's scalar_cast_op). Where that is
 * undefined in C++ we pick one documented behaviour:
 *   - float -> integer truncates toward zero; NaN gives 0; values beyond the
 *     target range saturate to its minimum or maximum (x86 TF would give
 *     INT_MIN-like garbage, XLA saturates too);
 *   - integer -> narrower integer keeps the low bits (two's complement wrap);
 *   - float16 goes through float32 both ways, as Eigen::half does. */
#include <math.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/broadcast.h"
#include "ops/kernel.h"

/* ---- float16 ------------------------------------------------------------------ */

float el_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (m << 13); /* inf, or NaN keeping its payload */
    } else if (e != 0) {
        bits = sign | ((e + 112) << 23) | (m << 13); /* rebias 15 -> 127 */
    } else if (m == 0) {
        bits = sign;
    } else {
        /* subnormal m * 2^-24: normalise into a float32 normal */
        e = 113;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t el_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* NaN stays quiet NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {
        /* below 2^-14: a half subnormal k * 2^-24, rounded to nearest even */
        if (ax <= 0x33000000u) return sign; /* <= 2^-25 rounds to zero */
        uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e;
        uint32_t k = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (k & 1))) k++;
        return (uint16_t)(sign | k);
    }
    uint32_t h = ((((ax >> 23) - 112) << 10) | ((ax >> 13) & 0x3ffu));
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* a carry may reach inf, correctly */
    return (uint16_t)(sign | h);
}

/* ---- scalar conversions: el_cvt_<dst>_<source kind>(x) ------------------------------ */

static inline float el_cvt_f32_F(double x) { return (float)x; }
static inline float el_cvt_f32_I(int64_t x) { return (float)x; }
static inline double el_cvt_f64_F(double x) { return x; }
static inline double el_cvt_f64_I(int64_t x) { return (double)x; }
static inline uint8_t el_cvt_bool_F(double x) { return x != 0; } /* NaN is true */
static inline uint8_t el_cvt_bool_I(int64_t x) { return x != 0; }

/* (double)MAX + 1 and (double)MIN - 1 are exact or round to +-2^63, where
 * the comparison still picks the right side. */
#define EL_CVT_INT(SUF, T, MIN, MAX)                                         \
    static inline T el_cvt_##SUF##_F(double x)                               \
    {                                                                        \
        if (isnan(x)) return 0;                                              \
        if (x >= (double)(MAX) + 1.0) return MAX;                            \
        if (x <= (double)(MIN) - 1.0) return MIN;                            \
        return (T)x;                                                         \
    }                                                                        \
    static inline T el_cvt_##SUF##_I(int64_t x) { return (T)x; }
EL_CVT_INT(i32, int32_t, INT32_MIN, INT32_MAX)
EL_CVT_INT(i64, int64_t, INT64_MIN, INT64_MAX)
EL_CVT_INT(u8, uint8_t, 0, UINT8_MAX)
EL_CVT_INT(i8, int8_t, INT8_MIN, INT8_MAX)
EL_CVT_INT(i16, int16_t, INT16_MIN, INT16_MAX)

/* One function per source type, a loop per destination type. Sources of
 * kind F are read as double (exact), kind I as int64 (exact). */
#define EL_CAST_LOOP(DT_T, CVT)                                              \
    do {                                                                     \
        DT_T *o = dst;                                                       \
        for (int64_t i = 0; i < n; i++) o[i] = CVT(a[i]);                    \
    } while (0)

#define EL_CAST_FROM(SUF, ST, SK)                                                       \
    static void el_cast_from_##SUF(const void *src, void *dst, el_dtype ddt, int64_t n) \
    {                                                                                   \
        const ST *a = src;                                                              \
        switch (ddt) {                                                                  \
        case EL_DT_FLOAT: EL_CAST_LOOP(float, el_cvt_f32_##SK); break;                  \
        case EL_DT_DOUBLE: EL_CAST_LOOP(double, el_cvt_f64_##SK); break;                \
        case EL_DT_INT32: EL_CAST_LOOP(int32_t, el_cvt_i32_##SK); break;                \
        case EL_DT_INT64: EL_CAST_LOOP(int64_t, el_cvt_i64_##SK); break;                \
        case EL_DT_UINT8: EL_CAST_LOOP(uint8_t, el_cvt_u8_##SK); break;                 \
        case EL_DT_INT8: EL_CAST_LOOP(int8_t, el_cvt_i8_##SK); break;                   \
        case EL_DT_INT16: EL_CAST_LOOP(int16_t, el_cvt_i16_##SK); break;                \
        case EL_DT_BOOL: EL_CAST_LOOP(uint8_t, el_cvt_bool_##SK); break;                \
        default: break;                                                                 \
        }                                                                               \
    }

#define EL_GEN_CAST(DT, SUF, T, K) EL_CAST_FROM(SUF, T, K)
EL_NUMERIC_TYPES(EL_GEN_CAST)
#undef EL_GEN_CAST
EL_CAST_FROM(bool, uint8_t, I)

typedef void (*el_castfrom_fn)(const void *src, void *dst, el_dtype ddt, int64_t n);

static el_castfrom_fn el_cast_from(el_dtype sdt)
{
    switch (sdt) {
#define EL_CAST_CASE(DT, SUF, T, K) case DT: return el_cast_from_##SUF;
    EL_NUMERIC_TYPES(EL_CAST_CASE)
#undef EL_CAST_CASE
    case EL_DT_BOOL: return el_cast_from_bool;
    default: return NULL;
    }
}

static bool el_castable(el_dtype dt) { return el_dtype_kind(dt) != 0 || dt == EL_DT_HALF; }

/* Cast's Truncate: LSBZeroSetter zeroes the mantissa bits the narrower
 * float type lacks (MantissaWidth differences), for non-NaN values. */
static int el_trunc_bits(el_dtype sdt, el_dtype ddt)
{
    if (sdt == EL_DT_DOUBLE && ddt == EL_DT_FLOAT) return 53 - 24;
    if (sdt == EL_DT_DOUBLE && ddt == EL_DT_HALF) return 53 - 11;
    if (sdt == EL_DT_FLOAT && ddt == EL_DT_HALF) return 24 - 11;
    return 0;
}

/* uint8 -> float32 in chunks of the session's pool: the image input of a
 * detection graph (768x576x3 writes 5.3 MB, memory-bound on one core). */
#define EL_CAST_GRAIN 65536

typedef struct el_u8f_job {
    const uint8_t *a;
    float *b;
} el_u8f_job;

static void el_u8_to_f32_chunk(void *vc, int64_t begin, int64_t end)
{
    const el_u8f_job *j = vc;
    const uint8_t *restrict a = j->a;
    float *restrict b = j->b;
    for (int64_t i = begin; i < end; i++) b[i] = (float)a[i];
}

el_status el_cast_array(const void *src, el_dtype sdt, void *dst, el_dtype ddt, int64_t n, bool truncate)
{
    if (!el_castable(sdt) || !el_castable(ddt))
        return el_error(EL_ERR_UNSUPPORTED, "cannot cast %s to %s (supported: float16/32/64, int8/16/32/64, uint8, bool)",
                        el_dtype_name(sdt), el_dtype_name(ddt));
    if (n <= 0) return EL_OK;
    const size_t ses = el_dtype_size(sdt), des = el_dtype_size(ddt);
    if (sdt == ddt) {
        memcpy(dst, src, (size_t)n * ses);
        return EL_OK;
    }
    /* The image input of every detection graph: uint8 pixels to float, exact,
     * in a loop the compiler vectorizes (the generic path goes through int64),
     * over the session's threads (el_threadpool_current(); inline outside a
     * run). Exact conversions: the same bits at any thread count. */
    if (sdt == EL_DT_UINT8 && ddt == EL_DT_FLOAT) {
        el_u8f_job j = {src, dst};
        el_parallel_for(el_threadpool_current(), n, EL_CAST_GRAIN, el_u8_to_f32_chunk, &j);
        return EL_OK;
    }
    const int tbits = truncate ? el_trunc_bits(sdt, ddt) : 0;
    if (sdt != EL_DT_HALF && ddt != EL_DT_HALF && !tbits) {
        el_cast_from(sdt)(src, dst, ddt, n);
        return EL_OK;
    }
    /* float16 on either side, or truncation: in chunks through float32. */
    enum { CHUNK = 256 };
    double dbuf[CHUNK];
    float fin[CHUNK], fout[CHUNK];
    for (int64_t i = 0; i < n; i += CHUNK) {
        const int64_t m = n - i < CHUNK ? n - i : CHUNK;
        const void *s = (const char *)src + (size_t)i * ses;
        void *d = (char *)dst + (size_t)i * des;
        el_dtype st = sdt;
        if (tbits && sdt == EL_DT_DOUBLE) {
            const uint64_t keep = ~(((uint64_t)1 << tbits) - 1);
            memcpy(dbuf, s, (size_t)m * 8);
            for (int64_t j = 0; j < m; j++) {
                uint64_t b;
                memcpy(&b, &dbuf[j], 8);
                if (!isnan(dbuf[j])) b &= keep;
                memcpy(&dbuf[j], &b, 8);
            }
            s = dbuf;
        } else if (tbits) {
            const uint32_t keep = ~((1u << tbits) - 1);
            memcpy(fin, s, (size_t)m * 4);
            for (int64_t j = 0; j < m; j++) {
                uint32_t b;
                memcpy(&b, &fin[j], 4);
                if (!isnan(fin[j])) b &= keep;
                memcpy(&fin[j], &b, 4);
            }
            s = fin;
        } else if (sdt == EL_DT_HALF) {
            const uint16_t *h = s;
            for (int64_t j = 0; j < m; j++) fin[j] = el_half_to_float(h[j]);
            s = fin;
            st = EL_DT_FLOAT;
        }
        if (ddt == EL_DT_HALF) {
            uint16_t *h = d;
            el_cast_from(st)(s, fout, EL_DT_FLOAT, m);
            for (int64_t j = 0; j < m; j++) h[j] = el_float_to_half(fout[j]);
        } else {
            el_cast_from(st)(s, d, ddt, m);
        }
    }
    return EL_OK;
}

el_status el_cast_tensor(el_tensor *out, const el_tensor *in, el_dtype dt)
{
    el_tensor t;
    memset(out, 0, sizeof *out);
    if (!el_castable(in->dtype) || !el_castable(dt))
        return el_cast_array(NULL, in->dtype, NULL, dt, 0, false);
    EL_TRY(el_tensor_alloc(&t, dt, in->ndim, in->dims));
    el_status s = el_cast_array(in->data, in->dtype, t.data, dt, el_tensor_numel(in), false);
    if (s != EL_OK) {
        el_tensor_release(&t);
        return s;
    }
    *out = t;
    return EL_OK;
}

/* ---- Cast ------------------------------------------------------------------------ */

/* Cast(x; SrcT, DstT, Truncate=false): same dtype forwards the input, as
 * TF's CastOpBase does. */
static el_status el_k_Cast(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *x = &ctx->inputs[0];
    el_dtype src, dst;
    bool trunc;
    EL_TRY(el_attr_dtype(ctx->node, "DstT", EL_DT_INVALID, &dst));
    EL_TRY(el_attr_dtype(ctx->node, "SrcT", x->dtype, &src));
    EL_TRY(el_attr_bool(ctx->node, "Truncate", false, &trunc));
    if (dst == EL_DT_INVALID) return el_kerr(ctx, EL_ERR_FORMAT, "missing attr DstT");
    if (src != x->dtype)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "attr SrcT is %s but input 0 is %s", el_dtype_name(src),
                       el_dtype_name(x->dtype));
    if (src == dst) return el_kctx_forward(ctx, 0, 0, x->ndim, x->dims);
    if (!el_castable(src) || !el_castable(dst))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "cast from %s to %s is not supported", el_dtype_name(src),
                       el_dtype_name(dst));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, dst, x->ndim, x->dims, &out));
    el_status s = el_cast_array(x->data, src, out->data, dst, el_tensor_numel(x), trunc);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    return EL_OK;
}

const el_op el_ops_cast[] = {
    {"Cast", el_k_Cast, NULL, 0},
    {NULL, NULL, NULL, 0},
};
