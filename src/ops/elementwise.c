/* Op family 'elementwise': TensorFlow's cwise ops (binary arithmetic and
 * comparisons with broadcasting, unary math and activations), Select,
 * SelectV2, AddN, ZerosLike, OnesLike, Fill and BiasAdd.
 *
 * One broadcasting iterator (ops/broadcast.h) drives every binary op; the
 * per-dtype inner loops are generated from one expression per op and kind
 * (float or integer), so adding an op is one enum value, one case per kind
 * and one table row. Integer arithmetic wraps as TensorFlow's does on every
 * platform it runs on (computed in unsigned to stay defined in C). */
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/kernel.h"
#include "ops/unary_fast.h"

/* ---- Scalar helpers -------------------------------------------------------- */

/* Binary row results other than 0 stop the loop; these become TensorFlow's
 * messages (cwise_ops_common.cc). */
enum { EL_EW_DIV_ZERO = 1, EL_EW_NEG_POW = 2 };

#define EL_FM(fn, x) _Generic((x), float: fn##f, default: fn)(x)
#define EL_FM2(fn, x, y) _Generic((x), float: fn##f, default: fn)(x, y)

/* Integer ops are computed on int64 and narrowed by the caller: narrowing a
 * wrapped 64-bit result gives the same bits as wrapping in the narrow type. */
static inline int64_t el_iadd(int64_t x, int64_t y) { return (int64_t)((uint64_t)x + (uint64_t)y); }
static inline int64_t el_isub(int64_t x, int64_t y) { return (int64_t)((uint64_t)x - (uint64_t)y); }
static inline int64_t el_imul(int64_t x, int64_t y) { return (int64_t)((uint64_t)x * (uint64_t)y); }
static inline int64_t el_ineg(int64_t x) { return (int64_t)(0 - (uint64_t)x); }
static inline int64_t el_iabs(int64_t x) { return x < 0 ? el_ineg(x) : x; }
static inline int64_t el_isign(int64_t x) { return (x > 0) - (x < 0); }
static inline int64_t el_irelu(int64_t x) { return x < 0 ? 0 : x; }
static inline int64_t el_irelu6(int64_t x) { return x < 0 ? 0 : x > 6 ? 6 : x; }

/* safe_div_or_mod_op: division by zero is an error; MIN / -1 is computed as
 * -MIN / 1, i.e. it wraps instead of trapping. */
static inline int64_t el_idiv(int64_t x, int64_t y, int *err)
{
    if (y == 0) { *err = EL_EW_DIV_ZERO; return 0; }
    if (y == -1) return el_ineg(x);
    return x / y;
}

/* google_floor_div: truncate, then step down when there is a remainder and
 * the signs differ. */
static inline int64_t el_ifloordiv(int64_t x, int64_t y, int *err)
{
    if (y == 0) { *err = EL_EW_DIV_ZERO; return 0; }
    if (y == -1) return el_ineg(x);
    int64_t q = x / y;
    return (q * y != x && ((x < 0) != (y < 0))) ? q - 1 : q;
}

/* google_floor_mod: the remainder takes the divisor's sign. */
static inline int64_t el_ifloormod(int64_t x, int64_t y, int *err)
{
    if (y == 0) { *err = EL_EW_DIV_ZERO; return 0; }
    if (y == -1) return 0;
    int64_t r = x % y;
    return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

/* safe_scalar_binary_pow_op: negative exponents are an error; otherwise
 * repeated squaring, wrapping like Eigen's integer pow. */
static inline int64_t el_ipow(int64_t x, int64_t y, int *err)
{
    if (y < 0) { *err = EL_EW_NEG_POW; return 0; }
    uint64_t r = 1, b = (uint64_t)x;
    for (uint64_t e = (uint64_t)y; e; e >>= 1) {
        if (e & 1) r *= b;
        b *= b;
    }
    return (int64_t)r;
}

/* google_floor_fmod, and Eigen's max/min with PropagateNaN (TF's Maximum and
 * Minimum since 2.x): NaN in either operand gives NaN; otherwise std::max /
 * std::min, whose operand order decides the sign of a zero result. Sign of
 * NaN is 0 ("Zero is returned for NaN inputs", tf.sign's documentation). */
#define EL_FLOAT_HELPERS(SUF, T)                                                      \
    static inline T el_floormod_##SUF(T x, T y)                                       \
    {                                                                                 \
        T r = EL_FM2(fmod, x, y);                                                     \
        return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;                          \
    }                                                                                 \
    static inline T el_max_##SUF(T x, T y) { return isnan(x) ? x : isnan(y) ? y : (x < y ? y : x); } \
    static inline T el_min_##SUF(T x, T y) { return isnan(x) ? x : isnan(y) ? y : (y < x ? y : x); } \
    static inline T el_sign_##SUF(T x) { return (T)((x > 0) - (x < 0)); }
EL_FLOAT_HELPERS(f32, float)
EL_FLOAT_HELPERS(f64, double)

/* ---- Binary ops ------------------------------------------------------------ */

typedef enum el_binop {
    EL_B_ADD, EL_B_SUB, EL_B_MUL, EL_B_DIV, EL_B_FLOORDIV, EL_B_FLOORMOD,
    EL_B_MAX, EL_B_MIN, EL_B_POW, EL_B_SQDIFF,
    /* comparisons and logical ops: bool output */
    EL_B_EQ, EL_B_NE, EL_B_GT, EL_B_GE, EL_B_LT, EL_B_LE, EL_B_AND, EL_B_OR
} el_binop;

/* Computes one row: n outputs from a (stride ua) and b (stride ub), x and y
 * being the current elements. */
#define EL_BROW(TO, EXPR)                                                    \
    do {                                                                     \
        TO *o = out;                                                         \
        if (ua && ub) {                                                      \
            for (int64_t i = 0; i < n; i++) {                                \
                const el_elem_t x = a[i], y = b[i];                                  \
                o[i] = (TO)(EXPR);                                           \
            }                                                                \
        } else if (ub) {                                                     \
            const el_elem_t x = a[0];                                        \
            for (int64_t i = 0; i < n; i++) {                                \
                const el_elem_t y = b[i];                                    \
                o[i] = (TO)(EXPR);                                           \
            }                                                                \
        } else {                                                             \
            const el_elem_t y = b[0];                                        \
            for (int64_t i = 0; i < n; i++) {                                \
                const el_elem_t x = a[i];                                    \
                o[i] = (TO)(EXPR);                                           \
            }                                                                \
        }                                                                    \
    } while (0)

typedef int (*el_binrow_fn)(el_binop op, const void *pa, int ua, const void *pb, int ub, void *out, int64_t n);

#define EL_BIN_CMP_CASES                                                     \
    case EL_B_EQ: EL_BROW(uint8_t, x == y); break;                           \
    case EL_B_NE: EL_BROW(uint8_t, x != y); break;                           \
    case EL_B_GT: EL_BROW(uint8_t, x > y); break;                            \
    case EL_B_GE: EL_BROW(uint8_t, x >= y); break;                           \
    case EL_B_LT: EL_BROW(uint8_t, x < y); break;                            \
    case EL_B_LE: EL_BROW(uint8_t, x <= y); break;

#define EL_BIN_F(SUF, T)                                                                      \
    static int el_bin_##SUF(el_binop op, const void *pa, int ua, const void *pb, int ub, void *out, int64_t n) \
    {                                                                                         \
        typedef T el_elem_t;                                                                  \
        const T *a = pa, *b = pb;                                                             \
        switch (op) {                                                                         \
        case EL_B_ADD: EL_BROW(T, x + y); break;                                              \
        case EL_B_SUB: EL_BROW(T, x - y); break;                                              \
        case EL_B_MUL: EL_BROW(T, x * y); break;                                              \
        case EL_B_DIV: EL_BROW(T, x / y); break;                                              \
        case EL_B_FLOORDIV: EL_BROW(T, EL_FM(floor, x / y)); break;                           \
        case EL_B_FLOORMOD: EL_BROW(T, el_floormod_##SUF(x, y)); break;                       \
        case EL_B_MAX: EL_BROW(T, el_max_##SUF(x, y)); break;                                 \
        case EL_B_MIN: EL_BROW(T, el_min_##SUF(x, y)); break;                                 \
        case EL_B_POW: EL_BROW(T, EL_FM2(pow, x, y)); break;                                  \
        case EL_B_SQDIFF: EL_BROW(T, (x - y) * (x - y)); break;                               \
        EL_BIN_CMP_CASES                                                                      \
        default: break;                                                                       \
        }                                                                                     \
        return 0;                                                                             \
    }

#define EL_BIN_I(SUF, T)                                                                      \
    static int el_bin_##SUF(el_binop op, const void *pa, int ua, const void *pb, int ub, void *out, int64_t n) \
    {                                                                                         \
        typedef T el_elem_t;                                                                  \
        const T *a = pa, *b = pb;                                                             \
        int err = 0;                                                                          \
        switch (op) {                                                                         \
        case EL_B_ADD: EL_BROW(T, el_iadd(x, y)); break;                                      \
        case EL_B_SUB: EL_BROW(T, el_isub(x, y)); break;                                      \
        case EL_B_MUL: EL_BROW(T, el_imul(x, y)); break;                                      \
        case EL_B_DIV: EL_BROW(T, el_idiv(x, y, &err)); break;                                \
        case EL_B_FLOORDIV: EL_BROW(T, el_ifloordiv(x, y, &err)); break;                      \
        case EL_B_FLOORMOD: EL_BROW(T, el_ifloormod(x, y, &err)); break;                      \
        case EL_B_MAX: EL_BROW(T, x < y ? y : x); break;                                      \
        case EL_B_MIN: EL_BROW(T, y < x ? y : x); break;                                      \
        case EL_B_POW: EL_BROW(T, el_ipow(x, y, &err)); break;                                \
        case EL_B_SQDIFF: EL_BROW(T, el_imul(el_isub(x, y), el_isub(x, y))); break;           \
        EL_BIN_CMP_CASES                                                                      \
        default: break;                                                                       \
        }                                                                                     \
        return err;                                                                           \
    }

#define EL_GEN_BIN(DT, SUF, T, K) EL_BIN_##K(SUF, T)
EL_NUMERIC_TYPES(EL_GEN_BIN)
#undef EL_GEN_BIN

/* bool: equality and logic; any nonzero byte is true. */
static int el_bin_bool(el_binop op, const void *pa, int ua, const void *pb, int ub, void *out, int64_t n)
{
    typedef uint8_t el_elem_t;
    const uint8_t *a = pa, *b = pb;
    switch (op) {
    case EL_B_EQ: EL_BROW(uint8_t, !x == !y); break;
    case EL_B_NE: EL_BROW(uint8_t, !x != !y); break;
    case EL_B_AND: EL_BROW(uint8_t, x && y); break;
    case EL_B_OR: EL_BROW(uint8_t, x || y); break;
    default: break;
    }
    return 0;
}

static el_binrow_fn el_bin_fn(el_dtype dt)
{
    switch (dt) {
#define EL_BIN_CASE(DT, SUF, T, K) case DT: return el_bin_##SUF;
    EL_NUMERIC_TYPES(EL_BIN_CASE)
#undef EL_BIN_CASE
    case EL_DT_BOOL: return el_bin_bool;
    default: return NULL;
    }
}

static const char *el_kinds_str(unsigned kinds)
{
    switch (kinds) {
    case EL_KIND_F: return "a floating-point dtype (float32, float64)";
    case EL_KIND_NUM: return "a numeric dtype (float32, float64, int8/16/32/64, uint8)";
    case EL_KIND_B: return "bool";
    default: return "a numeric or bool dtype";
    }
}

/* The dtype of input i must be one of `kinds`. */
static el_status el_need_kind(const el_kctx *ctx, int i, unsigned kinds)
{
    el_dtype dt = ctx->inputs[i].dtype;
    if (!(el_dtype_kind(dt) & kinds))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input %d has dtype %s, expected %s", i, el_dtype_name(dt),
                       el_kinds_str(kinds));
    return EL_OK;
}

/* Inputs i and j must share a dtype (TensorFlow checks this when the graph is
 * built: "Input 'y' of 'Add' Op has type int32 that does not match type
 * float32 of argument 'x'"). */
static el_status el_need_same_dtype(const el_kctx *ctx, int i, int j)
{
    if (ctx->inputs[i].dtype != ctx->inputs[j].dtype)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "input %d has dtype %s that does not match dtype %s of input %d", j,
                       el_dtype_name(ctx->inputs[j].dtype), el_dtype_name(ctx->inputs[i].dtype), i);
    return EL_OK;
}

typedef struct el_binctx {
    el_binrow_fn fn;
    el_binop op;
} el_binctx;

static int el_bin_row(void *vc, void *out, const void *const *in, const int *unit, int64_t n)
{
    const el_binctx *c = vc;
    return c->fn(c->op, in[0], unit[0], in[1], unit[1], out, n);
}

static el_status el_bin_status(const el_kctx *ctx, int rc)
{
    if (rc == EL_EW_DIV_ZERO) return el_kerr(ctx, EL_ERR_RUNTIME, "Integer division by zero");
    if (rc == EL_EW_NEG_POW) return el_kerr(ctx, EL_ERR_RUNTIME, "Integers to negative integer powers are not allowed");
    return EL_OK;
}

/* out = op(x, y) with broadcasting, over the already checked bcast b. */
static el_status el_bin_apply(el_kctx *ctx, el_binop op, const el_bcast *b, const el_tensor *x, const el_tensor *y,
                              el_tensor *out)
{
    /* The fast kernels' operation + 1 for op, 0 when they have none. */
    static const int fast[] = {[EL_B_ADD] = EL_UF_ADD + 1, [EL_B_SUB] = EL_UF_SUB + 1, [EL_B_MUL] = EL_UF_MUL + 1,
                               [EL_B_DIV] = EL_UF_DIV + 1,   [EL_B_MAX] = EL_UF_MAX + 1, [EL_B_MIN] = EL_UF_MIN + 1};
    const int f = (size_t)op < sizeof fast / sizeof fast[0] ? fast[op] : 0;
    /* float32 arithmetic over one flat row (equal shapes, or a scalar
     * side): the fast kernels compute the same IEEE operations, threaded
     * (Maximum/Minimum with el_max/el_min's NaN and signed-zero rules). */
    if (x->dtype == EL_DT_FLOAT && b->ndim == 1 && b->out_numel > 0) {
        if (f && el_binary_f32_fast((el_uf_op)(f - 1), x->data, b->dims[0] == 1 || b->strides[0][0] != 0, y->data,
                                    b->dims[0] == 1 || b->strides[1][0] != 0, out->data, b->out_numel))
            return EL_OK;
    }
    /* Rows against a repeated row ([N, C] * [C], the squeeze-excite scale)
     * or a value per row: the same, row by row. */
    if (x->dtype == EL_DT_FLOAT && b->ndim == 2 && b->out_numel > 0) {
        if (f && el_binary_f32_rows_fast((el_uf_op)(f - 1), x->data, b->strides[0][0], b->strides[0][1] != 0, y->data,
                                         b->strides[1][0], b->strides[1][1] != 0, out->data, b->dims[0], b->dims[1]))
            return EL_OK;
    }
    el_binctx c = {el_bin_fn(x->dtype), op};
    const void *in[2] = {x->data, y->data};
    size_t es = el_dtype_size(x->dtype);
    size_t in_es[2] = {es, es};
    return el_bin_status(ctx, el_bcast_run(b, out->data, el_dtype_size(out->dtype), in, in_es, el_bin_row, &c));
}

static el_status el_shape_error(const el_kctx *ctx, const el_tensor *x, const el_tensor *y)
{
    char a[160], b[160];
    return el_kerr(ctx, EL_ERR_RUNTIME, "Incompatible shapes: %s vs. %s", el_shape_str(x->ndim, x->dims, a, sizeof a),
                   el_shape_str(y->ndim, y->dims, b, sizeof b));
}

static el_status el_binary(el_kctx *ctx, el_binop op, unsigned kinds)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *x = &ctx->inputs[0], *y = &ctx->inputs[1];
    EL_TRY(el_need_same_dtype(ctx, 0, 1));
    EL_TRY(el_need_kind(ctx, 0, kinds));
    el_dtype odt = op >= EL_B_EQ ? EL_DT_BOOL : x->dtype;
    el_tensor *out;
    el_bcast b;
    const el_tensor *ts[2] = {x, y};
    if (!el_bcast_tensors(&b, 2, ts)) {
        /* Equal/NotEqual with incompatible_shape_error=false: a scalar saying
         * the tensors differ (only when the attr is present, as in TF). */
        if ((op == EL_B_EQ || op == EL_B_NE) && el_node_attr(ctx->node, "incompatible_shape_error")) {
            bool strict;
            EL_TRY(el_attr_bool(ctx->node, "incompatible_shape_error", true, &strict));
            if (!strict) {
                EL_TRY(el_kctx_output(ctx, 0, EL_DT_BOOL, 0, NULL, &out));
                *(uint8_t *)out->data = op == EL_B_NE;
                return EL_OK;
            }
        }
        return el_shape_error(ctx, x, y);
    }
    EL_TRY(el_kctx_output(ctx, 0, odt, b.out_ndim, b.out_dims, &out));
    return el_bin_apply(ctx, op, &b, x, y, out);
}

/* name, op, accepted kinds */
#define EL_BINARY_OPS(X)                                  \
    X(Add, EL_B_ADD, EL_KIND_NUM)                         \
    X(AddV2, EL_B_ADD, EL_KIND_NUM)                       \
    X(Sub, EL_B_SUB, EL_KIND_NUM)                         \
    X(Mul, EL_B_MUL, EL_KIND_NUM)                         \
    X(RealDiv, EL_B_DIV, EL_KIND_F)                       \
    X(Div, EL_B_DIV, EL_KIND_NUM)                         \
    X(FloorDiv, EL_B_FLOORDIV, EL_KIND_NUM)               \
    X(FloorMod, EL_B_FLOORMOD, EL_KIND_NUM)               \
    X(Maximum, EL_B_MAX, EL_KIND_NUM)                     \
    X(Minimum, EL_B_MIN, EL_KIND_NUM)                     \
    X(Pow, EL_B_POW, EL_KIND_NUM)                         \
    X(SquaredDifference, EL_B_SQDIFF, EL_KIND_NUM)        \
    X(Equal, EL_B_EQ, EL_KIND_ALL)                        \
    X(NotEqual, EL_B_NE, EL_KIND_ALL)                     \
    X(Greater, EL_B_GT, EL_KIND_NUM)                      \
    X(GreaterEqual, EL_B_GE, EL_KIND_NUM)                 \
    X(Less, EL_B_LT, EL_KIND_NUM)                         \
    X(LessEqual, EL_B_LE, EL_KIND_NUM)                    \
    X(LogicalAnd, EL_B_AND, EL_KIND_B)                    \
    X(LogicalOr, EL_B_OR, EL_KIND_B)

#define EL_BINARY_KERNEL(NAME, OP, KINDS) \
    static el_status el_k_##NAME(el_kctx *ctx) { return el_binary(ctx, OP, KINDS); }
EL_BINARY_OPS(EL_BINARY_KERNEL)
#undef EL_BINARY_KERNEL

/* ---- Unary ops ------------------------------------------------------------- */

typedef enum el_unop {
    EL_U_EXP, EL_U_LOG, EL_U_SQRT, EL_U_RSQRT, EL_U_SQUARE, EL_U_NEG, EL_U_ABS, EL_U_FLOOR, EL_U_CEIL,
    EL_U_ROUND, EL_U_SIGMOID, EL_U_TANH, EL_U_RELU, EL_U_RELU6, EL_U_ELU, EL_U_RECIP, EL_U_SIGN, EL_U_NOT
} el_unop;

#define EL_UROW(EXPR)                                                        \
    do {                                                                     \
        for (int64_t i = 0; i < n; i++) {                                    \
            const el_elem_t x = a[i];                                        \
            o[i] = (el_elem_t)(EXPR);                                                \
        }                                                                    \
    } while (0)

typedef void (*el_unrow_fn)(el_unop op, const void *pa, void *out, int64_t n);

/* Relu/Relu6 as Eigen's cwiseMax(0).cwiseMin(6): NaN stays NaN. Elu is
 * TF's (x < 0).select(exp(x) - 1, x), not expm1. Round is rint (Eigen's
 * round_half_to_even; the rounding mode is never changed here). */
#define EL_UN_F(SUF, T)                                                              \
    static void el_un_##SUF(el_unop op, const void *pa, void *out, int64_t n)        \
    {                                                                                \
        typedef T el_elem_t;                                                         \
        const T *a = pa;                                                             \
        T *o = out;                                                                  \
        switch (op) {                                                                \
        case EL_U_EXP: EL_UROW(EL_FM(exp, x)); break;                                \
        case EL_U_LOG: EL_UROW(EL_FM(log, x)); break;                                \
        case EL_U_SQRT: EL_UROW(EL_FM(sqrt, x)); break;                              \
        case EL_U_RSQRT: EL_UROW((T)1 / EL_FM(sqrt, x)); break;                      \
        case EL_U_SQUARE: EL_UROW(x * x); break;                                     \
        case EL_U_NEG: EL_UROW(-x); break;                                           \
        case EL_U_ABS: EL_UROW(EL_FM(fabs, x)); break;                               \
        case EL_U_FLOOR: EL_UROW(EL_FM(floor, x)); break;                            \
        case EL_U_CEIL: EL_UROW(EL_FM(ceil, x)); break;                              \
        case EL_U_ROUND: EL_UROW(EL_FM(rint, x)); break;                             \
        case EL_U_SIGMOID: EL_UROW((T)1 / ((T)1 + EL_FM(exp, -x))); break;           \
        case EL_U_TANH: EL_UROW(EL_FM(tanh, x)); break;                              \
        case EL_U_RELU: EL_UROW(x < 0 ? (T)0 : x); break;                            \
        case EL_U_RELU6: EL_UROW(x < 0 ? (T)0 : x > 6 ? (T)6 : x); break;            \
        case EL_U_ELU: EL_UROW(x < 0 ? EL_FM(exp, x) - (T)1 : x); break;             \
        case EL_U_RECIP: EL_UROW((T)1 / x); break;                                   \
        case EL_U_SIGN: EL_UROW(el_sign_##SUF(x)); break;                            \
        default: break;                                                              \
        }                                                                            \
    }

#define EL_UN_I(SUF, T)                                                              \
    static void el_un_##SUF(el_unop op, const void *pa, void *out, int64_t n)        \
    {                                                                                \
        typedef T el_elem_t;                                                         \
        const T *a = pa;                                                             \
        T *o = out;                                                                  \
        switch (op) {                                                                \
        case EL_U_SQUARE: EL_UROW(el_imul(x, x)); break;                             \
        case EL_U_NEG: EL_UROW(el_ineg(x)); break;                                   \
        case EL_U_ABS: EL_UROW(el_iabs(x)); break;                                   \
        case EL_U_ROUND: EL_UROW(x); break;                                          \
        case EL_U_RELU: EL_UROW(el_irelu(x)); break;                                 \
        case EL_U_RELU6: EL_UROW(el_irelu6(x)); break;                               \
        case EL_U_SIGN: EL_UROW(el_isign(x)); break;                                 \
        default: break;                                                              \
        }                                                                            \
    }

#define EL_GEN_UN(DT, SUF, T, K) EL_UN_##K(SUF, T)
EL_NUMERIC_TYPES(EL_GEN_UN)
#undef EL_GEN_UN

static void el_un_bool(el_unop op, const void *pa, void *out, int64_t n)
{
    typedef uint8_t el_elem_t;
    const uint8_t *a = pa;
    uint8_t *o = out;
    if (op == EL_U_NOT) EL_UROW(!x);
}

static el_unrow_fn el_un_fn(el_dtype dt)
{
    switch (dt) {
#define EL_UN_CASE(DT, SUF, T, K) case DT: return el_un_##SUF;
    EL_NUMERIC_TYPES(EL_UN_CASE)
#undef EL_UN_CASE
    case EL_DT_BOOL: return el_un_bool;
    default: return NULL;
    }
}

static el_status el_unary(el_kctx *ctx, el_unop op, unsigned kinds)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    EL_TRY(el_need_kind(ctx, 0, kinds));
    const el_tensor *x = &ctx->inputs[0];
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, x->dims, &out));
    if (x->dtype == EL_DT_FLOAT) {
        static const int fast[] = {[EL_U_EXP] = EL_UF_EXP + 1,     [EL_U_SIGMOID] = EL_UF_SIGMOID + 1,
                                   [EL_U_RELU] = EL_UF_RELU + 1,   [EL_U_RELU6] = EL_UF_RELU6 + 1,
                                   [EL_U_NEG] = EL_UF_NEG + 1,     [EL_U_ABS] = EL_UF_ABS + 1,
                                   [EL_U_SQUARE] = EL_UF_SQUARE + 1};
        int f = (size_t)op < sizeof fast / sizeof fast[0] ? fast[op] : 0;
        if (f && el_unary_f32_fast((el_uf_op)(f - 1), x->data, out->data, el_tensor_numel(x))) return EL_OK;
    }
    el_un_fn(x->dtype)(op, x->data, out->data, el_tensor_numel(x));
    return EL_OK;
}

/* Kinds follow TensorFlow's kernel registrations (integer Round is the
 * identity; integer Floor, Exp, Sigmoid... do not exist in TF). */
#define EL_UNARY_OPS(X)                           \
    X(Exp, EL_U_EXP, EL_KIND_F)                   \
    X(Log, EL_U_LOG, EL_KIND_F)                   \
    X(Sqrt, EL_U_SQRT, EL_KIND_F)                 \
    X(Rsqrt, EL_U_RSQRT, EL_KIND_F)               \
    X(Square, EL_U_SQUARE, EL_KIND_NUM)           \
    X(Neg, EL_U_NEG, EL_KIND_NUM)                 \
    X(Abs, EL_U_ABS, EL_KIND_NUM)                 \
    X(Floor, EL_U_FLOOR, EL_KIND_F)               \
    X(Ceil, EL_U_CEIL, EL_KIND_F)                 \
    X(Round, EL_U_ROUND, EL_KIND_NUM)             \
    X(Sigmoid, EL_U_SIGMOID, EL_KIND_F)           \
    X(Tanh, EL_U_TANH, EL_KIND_F)                 \
    X(Relu, EL_U_RELU, EL_KIND_NUM)               \
    X(Relu6, EL_U_RELU6, EL_KIND_NUM)             \
    X(Elu, EL_U_ELU, EL_KIND_F)                   \
    X(Reciprocal, EL_U_RECIP, EL_KIND_F)          \
    X(Inv, EL_U_RECIP, EL_KIND_F)                 \
    X(Sign, EL_U_SIGN, EL_KIND_NUM)               \
    X(LogicalNot, EL_U_NOT, EL_KIND_B)

#define EL_UNARY_KERNEL(NAME, OP, KINDS) \
    static el_status el_k_##NAME(el_kctx *ctx) { return el_unary(ctx, OP, KINDS); }
EL_UNARY_OPS(EL_UNARY_KERNEL)
#undef EL_UNARY_KERNEL

/* ---- Select / SelectV2 ----------------------------------------------------- */

typedef struct el_selctx {
    size_t es;
} el_selctx;

/* Elements are copied as bytes so every dtype (strings included) works. */
#define EL_SEL_CASE(ES)                                                                    \
    case ES:                                                                               \
        for (int64_t i = 0; i < n; i++)                                                    \
            memcpy(o + i * ES, c[i * unit[0]] ? t + i * unit[1] * ES : e + i * unit[2] * ES, ES); \
        break;

static int el_select_row(void *vc, void *out, const void *const *in, const int *unit, int64_t n)
{
    const el_selctx *sc = vc;
    const uint8_t *c = in[0];
    const char *t = in[1], *e = in[2];
    char *o = out;
    const int64_t es = (int64_t)sc->es;
    switch (es) {
    EL_SEL_CASE(1)
    EL_SEL_CASE(2)
    EL_SEL_CASE(4)
    EL_SEL_CASE(8)
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(o + i * es, c[i * unit[0]] ? t + i * unit[1] * es : e + i * unit[2] * es, (size_t)es);
        break;
    }
    return 0;
}

static el_status el_select_run(el_kctx *ctx, const el_bcast *b)
{
    const el_tensor *c = &ctx->inputs[0], *t = &ctx->inputs[1], *e = &ctx->inputs[2];
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, t->dtype, b->out_ndim, b->out_dims, &out));
    el_selctx sc = {el_dtype_size(t->dtype)};
    const void *in[3] = {c->data, t->data, e->data};
    size_t in_es[3] = {1, sc.es, sc.es};
    el_bcast_run(b, out->data, sc.es, in, in_es, el_select_row, &sc);
    return EL_OK;
}

static el_status el_select_common(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    EL_TRY(el_kctx_need_dtype(ctx, 0, EL_DT_BOOL));
    EL_TRY(el_need_same_dtype(ctx, 1, 2));
    if (el_dtype_size(ctx->inputs[1].dtype) == 0)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "unsupported dtype %s", el_dtype_name(ctx->inputs[1].dtype));
    return EL_OK;
}

static bool el_same_shape(const el_tensor *a, const el_tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

static el_status el_select_mismatch(const el_kctx *ctx, const char *what, int i, int j)
{
    char a[160], b[160];
    const el_tensor *x = &ctx->inputs[i], *y = &ctx->inputs[j];
    return el_kerr(ctx, EL_ERR_RUNTIME, "%s: %s vs. %s", what, el_shape_str(x->ndim, x->dims, a, sizeof a),
                   el_shape_str(y->ndim, y->dims, b, sizeof b));
}

/* TF1 Select: a scalar condition picks a whole input; a vector condition
 * against a higher-rank `t` picks rows (dimension 0); otherwise all three
 * shapes must be equal. No other broadcasting. */
static el_status el_k_Select(el_kctx *ctx)
{
    EL_TRY(el_select_common(ctx));
    const el_tensor *c = &ctx->inputs[0], *t = &ctx->inputs[1], *e = &ctx->inputs[2];
    if (!el_same_shape(t, e))
        return el_select_mismatch(ctx, "'then' and 'else' must have the same size.  but received", 1, 2);
    if (c->ndim == 0)
        return el_kctx_forward(ctx, 0, *(const uint8_t *)c->data ? 1 : 2, t->ndim, t->dims);
    if (c->ndim == 1 && t->ndim != 1) {
        char s[160];
        if (t->ndim < 1)
            return el_kerr(ctx, EL_ERR_RUNTIME, "'then' must be at least a vector, but saw shape: %s",
                           el_shape_str(t->ndim, t->dims, s, sizeof s));
        if (t->dims[0] != c->dims[0])
            return el_kerr(ctx, EL_ERR_RUNTIME,
                           "Number of batches of 'then' must match size of 'cond', but saw: %lld vs. %lld",
                           (long long)t->dims[0], (long long)c->dims[0]);
        el_tensor *out;
        EL_TRY(el_kctx_output(ctx, 0, t->dtype, t->ndim, t->dims, &out));
        size_t row = c->dims[0] ? el_tensor_nbytes(t) / (size_t)c->dims[0] : 0;
        const uint8_t *cv = c->data;
        for (int64_t r = 0; r < c->dims[0] && row; r++)
            memcpy((char *)out->data + (size_t)r * row,
                   (const char *)(cv[r] ? t->data : e->data) + (size_t)r * row, row);
        return EL_OK;
    }
    if (!el_same_shape(c, t))
        return el_select_mismatch(ctx, "Inputs to Select must have the same size and shape.  condition vs. then", 0, 1);
    el_bcast b;
    const el_tensor *ts[3] = {c, t, e};
    el_bcast_tensors(&b, 3, ts);
    return el_select_run(ctx, &b);
}

/* SelectV2: condition, t and e broadcast together (numpy rules). */
static el_status el_k_SelectV2(el_kctx *ctx)
{
    EL_TRY(el_select_common(ctx));
    const el_tensor *c = &ctx->inputs[0], *t = &ctx->inputs[1], *e = &ctx->inputs[2];
    el_bcast b;
    const el_tensor *te[2] = {t, e};
    const el_tensor *ts[3] = {c, t, e};
    char s1[160], s2[160], s3[160];
    if (!el_bcast_tensors(&b, 2, te))
        return el_kerr(ctx, EL_ERR_RUNTIME, "then %s and else %s must be broadcastable",
                       el_shape_str(t->ndim, t->dims, s1, sizeof s1), el_shape_str(e->ndim, e->dims, s2, sizeof s2));
    if (!el_bcast_tensors(&b, 3, ts))
        return el_kerr(ctx, EL_ERR_RUNTIME, "condition %s, then %s, and else %s must be broadcastable",
                       el_shape_str(c->ndim, c->dims, s1, sizeof s1), el_shape_str(t->ndim, t->dims, s2, sizeof s2),
                       el_shape_str(e->ndim, e->dims, s3, sizeof s3));
    return el_select_run(ctx, &b);
}

/* ---- AddN, BiasAdd ------------------------------------------------------------ */

/* AddN: every input has the same dtype and shape (no broadcasting); summed
 * left to right. */
static el_status el_k_AddN(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    EL_TRY(el_need_kind(ctx, 0, EL_KIND_NUM));
    const el_tensor *x = &ctx->inputs[0];
    for (int i = 1; i < ctx->ninputs; i++) {
        EL_TRY(el_need_same_dtype(ctx, 0, i));
        if (!el_same_shape(x, &ctx->inputs[i]))
            return el_select_mismatch(ctx, "AddN: all inputs must have the same shape", 0, i);
    }
    if (ctx->ninputs == 1) return el_kctx_forward(ctx, 0, 0, x->ndim, x->dims);
    el_tensor *out;
    el_bcast b;
    const el_tensor *ts[2] = {x, x};
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, x->dims, &out));
    el_bcast_tensors(&b, 2, ts);
    EL_TRY(el_bin_apply(ctx, EL_B_ADD, &b, x, &ctx->inputs[1], out));
    for (int i = 2; i < ctx->ninputs; i++) EL_TRY(el_bin_apply(ctx, EL_B_ADD, &b, out, &ctx->inputs[i], out));
    return EL_OK;
}

/* BiasAdd (and BiasAddV1): a 1-D bias added along the channel dimension,
 * the last one for NHWC, dimension 1 for NCHW. */
static el_status el_k_BiasAdd(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    EL_TRY(el_need_same_dtype(ctx, 0, 1));
    EL_TRY(el_need_kind(ctx, 0, EL_KIND_NUM));
    const el_tensor *x = &ctx->inputs[0], *bias = &ctx->inputs[1];
    el_string fmt;
    EL_TRY(el_attr_str(ctx->node, "data_format", "NHWC", &fmt));
    bool nchw = fmt.len == 4 && memcmp(fmt.data, "NCHW", 4) == 0;
    if (!nchw && !(fmt.len == 4 && memcmp(fmt.data, "NHWC", 4) == 0))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "data_format '%.*s' is not supported (NHWC or NCHW)", (int)fmt.len,
                       fmt.data);
    char s1[160], s2[160];
    if (x->ndim < 2)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Input tensor must be at least 2D: %s",
                       el_shape_str(x->ndim, x->dims, s1, sizeof s1));
    if (bias->ndim != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "Biases must be 1D: %s",
                       el_shape_str(bias->ndim, bias->dims, s1, sizeof s1));
    int ch = nchw ? 1 : x->ndim - 1;
    if (bias->dims[0] != x->dims[ch])
        return el_kerr(ctx, EL_ERR_RUNTIME,
                       "Must provide as many biases as the last dimension of the input tensor: %s vs. %s",
                       el_shape_str(bias->ndim, bias->dims, s1, sizeof s1), el_shape_str(x->ndim, x->dims, s2, sizeof s2));
    /* The bias viewed as [C, 1, ..., 1] so that it lines up with dim ch. */
    int64_t bdims[EL_MAX_DIMS];
    int bnd = x->ndim - ch;
    bdims[0] = bias->dims[0];
    for (int i = 1; i < bnd; i++) bdims[i] = 1;
    int ndims[2] = {x->ndim, bnd};
    const int64_t *dims[2] = {x->dims, bdims};
    el_bcast b;
    el_tensor *out;
    el_bcast_init(&b, 2, ndims, dims);
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, x->dims, &out));
    return el_bin_apply(ctx, EL_B_ADD, &b, x, bias, out);
}

/* ---- _ElHardSwish ------------------------------------------------------------ */

/* _ElHardSwish(x, m, a) = Mul(Mul(x, m), Relu6(Add(x, a))), the graph
 * passes' fusion of MobileNetV3's hard swish (graph/optimize.c): m and a
 * hold one float each; the output has x's shape, broadcast with theirs as
 * the Mul and Add would. */
static el_status el_k_ElHardSwish(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 3));
    for (int i = 0; i < 3; i++) EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0], *m = &ctx->inputs[1], *a = &ctx->inputs[2];
    if (el_tensor_numel(m) != 1 || el_tensor_numel(a) != 1)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "inputs 1 and 2 must hold one value each, got %lld and %lld",
                       (long long)el_tensor_numel(m), (long long)el_tensor_numel(a));
    el_bcast b;
    const el_tensor *ts[3] = {x, m, a};
    if (!el_bcast_tensors(&b, 3, ts)) return el_shape_error(ctx, x, m);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, b.out_ndim, b.out_dims, &out));
    el_hard_swish_f32(x->data, *(const float *)m->data, *(const float *)a->data, out->data, el_tensor_numel(out));
    return EL_OK;
}

/* ---- _ElKeepEqual ------------------------------------------------------------ */

static int el_keep_equal_row(void *vc, void *out, const void *const *in, const int *unit, int64_t n)
{
    (void)vc;
    const float *a = in[0], *b = in[1];
    float *o = out;
    for (int64_t i = 0; i < n; i++) {
        const float x = a[i * unit[0]];
        o[i] = x * (x == b[i * unit[1]] ? 1.0f : 0.0f);
    }
    return 0;
}

/* _ElKeepEqual(x, m) = Mul(x, Cast(Equal(x, m))) with a bool -> float Cast,
 * the graph passes' fusion of CenterNet's peak test (graph/optimize.c):
 * x * (x == m ? 1 : 0), broadcasting as Equal and Mul do. */
static el_status el_k_ElKeepEqual(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    for (int i = 0; i < 2; i++) EL_TRY(el_kctx_need_dtype(ctx, i, EL_DT_FLOAT));
    const el_tensor *x = &ctx->inputs[0], *m = &ctx->inputs[1];
    el_bcast b;
    const el_tensor *ts[2] = {x, m};
    if (!el_bcast_tensors(&b, 2, ts)) return el_shape_error(ctx, x, m);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, b.out_ndim, b.out_dims, &out));
    if (b.out_numel == 0) return EL_OK;
    if (b.ndim == 1 && el_binary_f32_fast(EL_UF_KEEPEQ, x->data, b.dims[0] == 1 || b.strides[0][0] != 0, m->data,
                                          b.dims[0] == 1 || b.strides[1][0] != 0, out->data, b.out_numel))
        return EL_OK;
    const void *in[2] = {x->data, m->data};
    size_t es[2] = {sizeof(float), sizeof(float)};
    el_bcast_run(&b, out->data, sizeof(float), in, es, el_keep_equal_row, NULL);
    return EL_OK;
}

/* ---- ZerosLike, OnesLike, Fill -------------------------------------------------- */

static el_status el_k_ZerosLike(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *x = &ctx->inputs[0];
    /* All-zero bytes are 0 for every numeric dtype and false for bool. */
    if (!el_dtype_kind(x->dtype) && x->dtype != EL_DT_HALF)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "unsupported dtype %s", el_dtype_name(x->dtype));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, x->dims, &out));
    memset(out->data, 0, el_tensor_nbytes(out));
    return EL_OK;
}

static el_status el_k_OnesLike(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *x = &ctx->inputs[0];
    uint8_t one_elem[16];
    const int64_t one = 1;
    if (!el_dtype_kind(x->dtype) && x->dtype != EL_DT_HALF)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "unsupported dtype %s", el_dtype_name(x->dtype));
    EL_TRY(el_cast_array(&one, EL_DT_INT64, one_elem, x->dtype, 1, false));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, x->dtype, x->ndim, x->dims, &out));
    el_fill_elems(out->data, one_elem, el_dtype_size(x->dtype), el_tensor_numel(out));
    return EL_OK;
}

/* Fill(dims, value): dims a 1-D int32/int64 tensor; value a scalar of any
 * dtype (the index_type attr only names the dims dtype). */
static el_status el_k_Fill(el_kctx *ctx)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *d = &ctx->inputs[0], *v = &ctx->inputs[1];
    char s[160];
    if (d->ndim != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "dims must be a vector, got shape %s",
                       el_shape_str(d->ndim, d->dims, s, sizeof s));
    if (v->ndim != 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "value must be a scalar, got shape %s",
                       el_shape_str(v->ndim, v->dims, s, sizeof s));
    if (el_dtype_size(v->dtype) == 0)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "unsupported dtype %s", el_dtype_name(v->dtype));
    int64_t dims[EL_MAX_DIMS];
    int nd;
    EL_TRY(el_kctx_index_vector(ctx, 0, dims, EL_MAX_DIMS, &nd));
    for (int i = 0; i < nd; i++)
        if (dims[i] < 0)
            return el_kerr(ctx, EL_ERR_RUNTIME, "Dimension %lld must be >= 0 (dims[%d])", (long long)dims[i], i);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, v->dtype, nd, dims, &out));
    el_fill_elems(out->data, v->data, el_dtype_size(v->dtype), el_tensor_numel(out));
    return EL_OK;
}

const el_op el_ops_elementwise[] = {
#define EL_ROW_OF(NAME, OP, KINDS) {#NAME, el_k_##NAME, NULL, 0},
    EL_BINARY_OPS(EL_ROW_OF)
    EL_UNARY_OPS(EL_ROW_OF)
#undef EL_ROW_OF
    {"Select", el_k_Select, NULL, 0},
    {"SelectV2", el_k_SelectV2, NULL, 0},
    {"AddN", el_k_AddN, NULL, 0},
    {"BiasAdd", el_k_BiasAdd, NULL, 0},
    {"BiasAddV1", el_k_BiasAdd, NULL, 0},
    {"ZerosLike", el_k_ZerosLike, NULL, 0},
    {"OnesLike", el_k_OnesLike, NULL, 0},
    {"Fill", el_k_Fill, NULL, 0},
    {"_ElHardSwish", el_k_ElHardSwish, NULL, 0},
    {"_ElKeepEqual", el_k_ElKeepEqual, NULL, 0},
    {NULL, NULL, NULL, 0},
};
