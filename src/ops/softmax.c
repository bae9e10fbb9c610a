/* Op family 'softmax': Softmax and LogSoftmax over the last dimension
 * (TensorFlow's softmax_op.cc, SoftmaxEigenImpl).
 *
 * TF computes, per row: shifted = x - max(x); e = exp(shifted); then
 * Softmax = e * (1 / sum(e)) and LogSoftmax = shifted - log(sum(e)). The
 * same order is kept here in the input's precision, except that the row sum
 * is accumulated in double (TF's float tree sum differs by rounding only).
 * Rank >= 1; rows of length 0 give an empty output. Float32 Softmax takes
 * its exponentials from the vector exp of unary_fast.h where the CPU has one
 * (within EL_EXP_MAX_ULP of expf each); the loop below is the reference. */
#include <math.h>

#include "ops/kernel.h"
#include "ops/unary_fast.h"

#define EL_SOFTMAX_ROW(T, EXP, LOG)                                          \
    do {                                                                     \
        const T *x = (const T *)in->data + r * n;                            \
        T *y = (T *)out->data + r * n;                                       \
        T m = x[0];                                                          \
        for (int64_t i = 1; i < n; i++)                                      \
            if (x[i] > m || m != m) m = x[i] > m ? x[i] : m;                 \
        double sum = 0;                                                      \
        for (int64_t i = 0; i < n; i++) {                                    \
            T e = EXP((T)(x[i] - m));                                        \
            sum += e;                                                        \
            if (!log_sm) y[i] = e;                                           \
        }                                                                    \
        if (log_sm) {                                                        \
            T l = LOG((T)sum);                                               \
            for (int64_t i = 0; i < n; i++) y[i] = (T)(x[i] - m) - l;        \
        } else {                                                             \
            T inv = (T)1 / (T)sum;                                           \
            for (int64_t i = 0; i < n; i++) y[i] = y[i] * inv;               \
        }                                                                    \
    } while (0)

/* Softmax of float32 rows with the vector exp of unary_fast.h (within
 * EL_EXP_MAX_ULP of expf): the shifted values go to y, are exponentiated in
 * place, then summed and scaled as EL_SOFTMAX_ROW does. Short rows (FaceBoxes'
 * [6820,2] scores) spent their time in libm's expf. False (y then holds
 * nothing of use) when the CPU has no vector exp. */
static bool el_softmax_f32_fast(const float *x, float *y, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m = xr[0];
        for (int64_t i = 1; i < n; i++)
            if (xr[i] > m || m != m) m = xr[i] > m ? xr[i] : m;
        for (int64_t i = 0; i < n; i++) yr[i] = xr[i] - m;
    }
    if (!el_unary_f32_fast(EL_UF_EXP, y, y, rows * n)) return false;
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += yr[i];
        float inv = 1.0f / (float)sum;
        for (int64_t i = 0; i < n; i++) yr[i] = yr[i] * inv;
    }
    return true;
}

static el_status el_softmax_common(el_kctx *ctx, bool log_sm)
{
    EL_TRY(el_kctx_need_inputs(ctx, 1));
    const el_tensor *in = &ctx->inputs[0];
    if (in->ndim < 1) return el_kerr(ctx, EL_ERR_RUNTIME, "logits must have >= 1 dimension, got a scalar");
    if (in->dtype != EL_DT_FLOAT && in->dtype != EL_DT_DOUBLE)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "logits must be float32 or float64, found %s", el_dtype_name(in->dtype));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, in->dtype, in->ndim, in->dims, &out));
    int64_t n = in->dims[in->ndim - 1];
    if (n == 0) return EL_OK;
    int64_t rows = el_tensor_numel(in) / n;
    if (!log_sm && in->dtype == EL_DT_FLOAT && el_softmax_f32_fast(in->data, out->data, rows, n)) return EL_OK;
    for (int64_t r = 0; r < rows; r++) {
        if (in->dtype == EL_DT_FLOAT) EL_SOFTMAX_ROW(float, expf, logf);
        else EL_SOFTMAX_ROW(double, exp, log);
    }
    return EL_OK;
}

static el_status el_op_softmax(el_kctx *ctx) { return el_softmax_common(ctx, false); }
static el_status el_op_log_softmax(el_kctx *ctx) { return el_softmax_common(ctx, true); }

const el_op el_ops_softmax[] = {
    {"Softmax", el_op_softmax, NULL, 0},
    {"LogSoftmax", el_op_log_softmax, NULL, 0},
    {NULL, NULL, NULL, 0},
};
