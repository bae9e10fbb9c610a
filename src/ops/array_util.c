/* Shared machinery of the array ops: the strided block copy and common
 * checks. See array_util.h. */
#include "ops/array_util.h"

#include <string.h>

void el_strides_of(int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

int64_t el_dims_prod(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

bool el_array_mul(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a) return false;
    *out = a * b;
    return true;
}

/* n elements of ES bytes from stride ss to stride ds (in elements). The
 * common cases -- one side contiguous, the other side's stride 2 to 4
 * (splitting boxes into coordinates, concatenating them back) -- get
 * constant strides so the compiler unrolls and vectorizes them; fixed-size
 * memcpy compiles to single moves. */
#define EL_COPY_RUN(NAME, ES)                                                                                  \
    static void NAME(char *d, int64_t ds, const char *s, int64_t ss, int64_t n)                               \
    {                                                                                                         \
        if (ds == 1 && ss == 2)                                                                               \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * ES, s + i * 2 * ES, ES);                           \
        else if (ds == 1 && ss == 3)                                                                          \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * ES, s + i * 3 * ES, ES);                           \
        else if (ds == 1 && ss == 4)                                                                          \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * ES, s + i * 4 * ES, ES);                           \
        else if (ds == 1)                                                                                     \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * ES, s + i * ss * ES, ES);                          \
        else if (ss == 1 && ds == 2)                                                                          \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * 2 * ES, s + i * ES, ES);                           \
        else if (ss == 1 && ds == 3)                                                                          \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * 3 * ES, s + i * ES, ES);                           \
        else if (ss == 1 && ds == 4)                                                                          \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * 4 * ES, s + i * ES, ES);                           \
        else                                                                                                  \
            for (int64_t i = 0; i < n; i++) memcpy(d + i * ds * ES, s + i * ss * ES, ES);                     \
    }
EL_COPY_RUN(el_copy_run1, 1)
EL_COPY_RUN(el_copy_run2, 2)
EL_COPY_RUN(el_copy_run4, 4)
EL_COPY_RUN(el_copy_run8, 8)

static void el_copy_run(char *d, int64_t ds, const char *s, int64_t ss, int64_t n, size_t es)
{
    switch (es) {
    case 1: el_copy_run1(d, ds, s, ss, n); break;
    case 2: el_copy_run2(d, ds, s, ss, n); break;
    case 4: el_copy_run4(d, ds, s, ss, n); break;
    case 8: el_copy_run8(d, ds, s, ss, n); break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(d + i * ds * (int64_t)es, s + i * ss * (int64_t)es, es);
        break;
    }
}

/* `rows` runs of `bytes` <= EL_COPY_SHORT bytes, dstep and sstep bytes
 * apart: fixed-size moves instead of a memcpy call per run (SSD's [N,8] ->
 * [N,7] score slice is 12804 runs of 28 bytes). */
#define EL_COPY_SHORT 64
static void el_copy_short_rows(char *d, int64_t dstep, const char *s, int64_t sstep, int64_t rows, size_t bytes)
{
    /* Two or four moves per run that may overlap (the same bytes written
     * twice), the size class fixed for all rows. */
    if (bytes >= 32) {
        for (int64_t r = 0; r < rows; r++, d += dstep, s += sstep) {
            memcpy(d, s, 16), memcpy(d + 16, s + 16, 16);
            memcpy(d + bytes - 32, s + bytes - 32, 16), memcpy(d + bytes - 16, s + bytes - 16, 16);
        }
    } else if (bytes >= 16) {
        for (int64_t r = 0; r < rows; r++, d += dstep, s += sstep)
            memcpy(d, s, 16), memcpy(d + bytes - 16, s + bytes - 16, 16);
    } else if (bytes >= 8) {
        for (int64_t r = 0; r < rows; r++, d += dstep, s += sstep)
            memcpy(d, s, 8), memcpy(d + bytes - 8, s + bytes - 8, 8);
    } else if (bytes >= 4) {
        for (int64_t r = 0; r < rows; r++, d += dstep, s += sstep)
            memcpy(d, s, 4), memcpy(d + bytes - 4, s + bytes - 4, 4);
    } else {
        for (int64_t r = 0; r < rows; r++, d += dstep, s += sstep)
            for (size_t b = 0; b < bytes; b++) d[b] = s[b];
    }
}

void el_copy_strided(void *dst, int64_t dst_off, const int64_t *dst_strides, const void *src, int64_t src_off,
                     const int64_t *src_strides, size_t elsize, int ndim, const int64_t *dims)
{
    int64_t d[EL_STRIDED_MAX_DIMS], ds[EL_STRIDED_MAX_DIMS], ss[EL_STRIDED_MAX_DIMS];
    int n = 0;
    /* Drop size-1 dims and merge a dim into the previous one when together
     * they walk both sides as one longer dim; this turns most slices,
     * concats and partial transposes into a few long memcpy runs. */
    for (int i = 0; i < ndim; i++) {
        if (dims[i] == 0) return;
        if (dims[i] == 1) continue;
        if (n > 0 && ds[n - 1] == dst_strides[i] * dims[i] && ss[n - 1] == src_strides[i] * dims[i]) {
            d[n - 1] *= dims[i];
            ds[n - 1] = dst_strides[i];
            ss[n - 1] = src_strides[i];
        } else {
            d[n] = dims[i];
            ds[n] = dst_strides[i];
            ss[n] = src_strides[i];
            n++;
        }
    }
    char *D = dst;
    const char *S = src;
    const int64_t es = (int64_t)elsize;
    if (n == 0) {
        memcpy(D + dst_off * es, S + src_off * es, elsize);
        return;
    }
    const bool contiguous = ds[n - 1] == 1 && ss[n - 1] == 1;
    const int m = n - 1; /* dims walked by the counter; dim m is the run */
    /* Short contiguous runs: dim m - 1 is walked by el_copy_short_rows. */
    const bool short_runs = contiguous && m >= 1 && d[m] * es <= EL_COPY_SHORT;
    int64_t idx[EL_STRIDED_MAX_DIMS] = {0};
    int64_t doff = dst_off, soff = src_off;
    for (;;) {
        if (short_runs)
            el_copy_short_rows(D + doff * es, ds[m - 1] * es, S + soff * es, ss[m - 1] * es, d[m - 1],
                               (size_t)(d[m] * es));
        else if (contiguous) memcpy(D + doff * es, S + soff * es, (size_t)(d[m] * es));
        else el_copy_run(D + doff * es, ds[m], S + soff * es, ss[m], d[m], elsize);
        int k = short_runs ? m - 2 : m - 1;
        for (; k >= 0; k--) {
            doff += ds[k];
            soff += ss[k];
            if (++idx[k] < d[k]) break;
            doff -= ds[k] * d[k];
            soff -= ss[k] * d[k];
            idx[k] = 0;
        }
        if (k < 0) return;
    }
}

/* Four 4-byte columns (a box's coordinates) in one pass, written so the
 * compiler vectorizes it with shuffles; others column by column. */
static void el_deinterleave4_4(char *restrict d0, char *restrict d1, char *restrict d2, char *restrict d3,
                               const char *restrict s, int64_t rows)
{
    for (int64_t i = 0; i < rows; i++) {
        memcpy(d0 + 4 * i, s + 16 * i, 4);
        memcpy(d1 + 4 * i, s + 16 * i + 4, 4);
        memcpy(d2 + 4 * i, s + 16 * i + 8, 4);
        memcpy(d3 + 4 * i, s + 16 * i + 12, 4);
    }
}

static void el_interleave4_4(char *restrict d, const char *restrict s0, const char *restrict s1,
                             const char *restrict s2, const char *restrict s3, int64_t rows)
{
    for (int64_t i = 0; i < rows; i++) {
        memcpy(d + 16 * i, s0 + 4 * i, 4);
        memcpy(d + 16 * i + 4, s1 + 4 * i, 4);
        memcpy(d + 16 * i + 8, s2 + 4 * i, 4);
        memcpy(d + 16 * i + 12, s3 + 4 * i, 4);
    }
}

void el_copy_deinterleave(void *const *dst, int k, const void *src, int64_t rows, size_t elsize)
{
    if (k == 4 && elsize == 4) {
        el_deinterleave4_4(dst[0], dst[1], dst[2], dst[3], src, rows);
        return;
    }
    for (int j = 0; j < k; j++) el_copy_run(dst[j], 1, (const char *)src + (size_t)j * elsize, k, rows, elsize);
}

void el_copy_interleave(void *dst, int k, const void *const *src, int64_t rows, size_t elsize)
{
    if (k == 4 && elsize == 4) {
        el_interleave4_4(dst, src[0], src[1], src[2], src[3], rows);
        return;
    }
    for (int j = 0; j < k; j++) el_copy_run((char *)dst + (size_t)j * elsize, k, src[j], 1, rows, elsize);
}

void el_copy_axis_range(void *dst, int64_t dst_axis, int64_t dst_pos, const void *src, int64_t src_axis,
                        int64_t src_pos, int64_t outer, int64_t len, int64_t inner, size_t elsize)
{
    const int64_t dims[3] = {outer, len, inner};
    const int64_t dst_strides[3] = {dst_axis * inner, inner, 1};
    const int64_t src_strides[3] = {src_axis * inner, inner, 1};
    el_copy_strided(dst, dst_pos * inner, dst_strides, src, src_pos * inner, src_strides, elsize, 3, dims);
}

el_status el_array_elsize(const el_kctx *ctx, int input, size_t *out)
{
    el_dtype dt = ctx->inputs[input].dtype;
    size_t es = el_dtype_size(dt);
    if (es == 0 || dt == EL_DT_RESOURCE || dt == EL_DT_VARIANT)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "input %d: dtype %s cannot be copied by value", input,
                       el_dtype_name(dt));
    *out = es;
    return EL_OK;
}

const char *el_array_shape_str(const el_tensor *t, char *buf, size_t cap)
{
    return el_shape_str(t->ndim, t->dims, buf, cap);
}

el_status el_array_scalar_index(const el_kctx *ctx, int input, const char *what, bool allow_vec1, int64_t *out)
{
    const el_tensor *t = &ctx->inputs[input];
    if (!(t->ndim == 0 || (allow_vec1 && t->ndim == 1 && t->dims[0] == 1))) {
        char s[160];
        return el_kerr(ctx, EL_ERR_RUNTIME, "%s tensor should be a scalar integer, but got shape %s", what,
                       el_array_shape_str(t, s, sizeof s));
    }
    return el_kctx_index_value(ctx, input, 0, out);
}

int el_array_count_attr(const el_node *n, const char *attr, int64_t def, int64_t min)
{
    int64_t v;
    if (el_attr_int(n, attr, def, &v) != EL_OK) return -1;
    if (!el_node_attr(n, attr) && def < min) {
        el_error(EL_ERR_FORMAT, "node '%s' (op %s): missing attr '%s'", n->name, n->op, attr);
        return -1;
    }
    /* 1<<16 bounds the output array the executor allocates for the node. */
    if (v < min || v > (1 << 16)) {
        el_error(EL_ERR_FORMAT, "node '%s' (op %s): attr '%s' = %lld, expected %lld..%d", n->name, n->op, attr,
                 (long long)v, (long long)min, 1 << 16);
        return -1;
    }
    return (int)v;
}
