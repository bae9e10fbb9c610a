/* Op family 'resize': ResizeBilinear and ResizeNearestNeighbor, plus the
 * core routines el_image_resize_bilinear shares (see ops/resize.h). */
#include "core/mempool.h"
#include "core/threadpool.h"
#include "ops/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/kernel.h"
#include "ops/conv_fast.h" /* el_conv_isa */

#if defined(EL_CONV_X86)
#include <immintrin.h>
#endif

/* One output coordinate's source rows/columns and weight (TF's
 * CachedInterpolation). */
typedef el_resize_interp el_interp;

/* TF's CalculateResizeScale: in float32, (in-1)/(out-1) when aligning corners
 * of an output larger than one pixel, else in/out. */
static float el_resize_scale(int64_t in, int64_t out, bool align_corners)
{
    return (align_corners && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
}

/* TF's compute_interpolation_weights with LegacyScaler (x * scale) or
 * HalfPixelScaler ((x + 0.5) * scale - 0.5). The lerp keeps the unclamped
 * floor, as TF does; when lo == hi it has no effect. lo is also clamped to
 * in-1 (TF relies on float luck there; we do not read out of bounds). */
static void el_resize_weights(int64_t out, int64_t in, float scale, bool half_pixel, el_interp *w)
{
    for (int64_t i = 0; i < out; i++) {
        float src = half_pixel ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
        float fl = floorf(src);
        int64_t lo = (int64_t)fl;
        int64_t hi = (int64_t)ceilf(src);
        if (lo < 0) lo = 0;
        if (lo > in - 1) lo = in - 1;
        if (hi > in - 1) hi = in - 1;
        if (hi < 0) hi = 0;
        w[i].lo = lo;
        w[i].hi = hi;
        w[i].lerp = src - fl;
    }
}

void el_resize_bilinear_axis(int64_t in, int64_t out, bool align_corners, bool half_pixel_centers, el_resize_interp *w)
{
    el_resize_weights(out, in, el_resize_scale(in, out, align_corners), half_pixel_centers, w);
}

/* One output row of one image, for each input element type. Values become
 * float before interpolating (TF casts each corner with static_cast<float>).
 * Element e of the row (pixel e / ch, channel e % ch) reads its left and
 * right inputs at lo[e] and hi[e] with weight w[e], precomputed once per
 * image size: one flat loop with no per-pixel channel loop. */
#define EL_RESIZE_ROW(T, name, F)                                                                \
    static void name(const void *top_v, const void *bot_v, const int32_t *lo, const int32_t *hi, \
                     const float *w, int64_t n, float y_lerp, float *dst)                       \
    {                                                                                            \
        const T *top = top_v, *bot = bot_v;                                                      \
        for (int64_t e = 0; e < n; e++) {                                                        \
            float tl = F(top[lo[e]]), tr = F(top[hi[e]]);                                        \
            float bl = F(bot[lo[e]]), br = F(bot[hi[e]]);                                        \
            float t = tl + (tr - tl) * w[e];                                                     \
            float b = bl + (br - bl) * w[e];                                                     \
            dst[e] = t + (b - t) * y_lerp;                                                       \
        }                                                                                        \
    }

/* uint8 corners through a table: four int -> float conversions per
 * element were the row's bottleneck (the OD API graphs resize their uint8
 * camera frames here); the table holds the same floats. */
static const float el_u8_float[256] = {
    0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f, 11.0f, 12.0f, 13.0f, 14.0f, 15.0f,
    16.0f, 17.0f, 18.0f, 19.0f, 20.0f, 21.0f, 22.0f, 23.0f, 24.0f, 25.0f, 26.0f, 27.0f, 28.0f, 29.0f, 30.0f, 31.0f,
    32.0f, 33.0f, 34.0f, 35.0f, 36.0f, 37.0f, 38.0f, 39.0f, 40.0f, 41.0f, 42.0f, 43.0f, 44.0f, 45.0f, 46.0f, 47.0f,
    48.0f, 49.0f, 50.0f, 51.0f, 52.0f, 53.0f, 54.0f, 55.0f, 56.0f, 57.0f, 58.0f, 59.0f, 60.0f, 61.0f, 62.0f, 63.0f,
    64.0f, 65.0f, 66.0f, 67.0f, 68.0f, 69.0f, 70.0f, 71.0f, 72.0f, 73.0f, 74.0f, 75.0f, 76.0f, 77.0f, 78.0f, 79.0f,
    80.0f, 81.0f, 82.0f, 83.0f, 84.0f, 85.0f, 86.0f, 87.0f, 88.0f, 89.0f, 90.0f, 91.0f, 92.0f, 93.0f, 94.0f, 95.0f,
    96.0f, 97.0f, 98.0f, 99.0f, 100.0f, 101.0f, 102.0f, 103.0f, 104.0f, 105.0f, 106.0f, 107.0f, 108.0f, 109.0f, 110.0f, 111.0f,
    112.0f, 113.0f, 114.0f, 115.0f, 116.0f, 117.0f, 118.0f, 119.0f, 120.0f, 121.0f, 122.0f, 123.0f, 124.0f, 125.0f, 126.0f, 127.0f,
    128.0f, 129.0f, 130.0f, 131.0f, 132.0f, 133.0f, 134.0f, 135.0f, 136.0f, 137.0f, 138.0f, 139.0f, 140.0f, 141.0f, 142.0f, 143.0f,
    144.0f, 145.0f, 146.0f, 147.0f, 148.0f, 149.0f, 150.0f, 151.0f, 152.0f, 153.0f, 154.0f, 155.0f, 156.0f, 157.0f, 158.0f, 159.0f,
    160.0f, 161.0f, 162.0f, 163.0f, 164.0f, 165.0f, 166.0f, 167.0f, 168.0f, 169.0f, 170.0f, 171.0f, 172.0f, 173.0f, 174.0f, 175.0f,
    176.0f, 177.0f, 178.0f, 179.0f, 180.0f, 181.0f, 182.0f, 183.0f, 184.0f, 185.0f, 186.0f, 187.0f, 188.0f, 189.0f, 190.0f, 191.0f,
    192.0f, 193.0f, 194.0f, 195.0f, 196.0f, 197.0f, 198.0f, 199.0f, 200.0f, 201.0f, 202.0f, 203.0f, 204.0f, 205.0f, 206.0f, 207.0f,
    208.0f, 209.0f, 210.0f, 211.0f, 212.0f, 213.0f, 214.0f, 215.0f, 216.0f, 217.0f, 218.0f, 219.0f, 220.0f, 221.0f, 222.0f, 223.0f,
    224.0f, 225.0f, 226.0f, 227.0f, 228.0f, 229.0f, 230.0f, 231.0f, 232.0f, 233.0f, 234.0f, 235.0f, 236.0f, 237.0f, 238.0f, 239.0f,
    240.0f, 241.0f, 242.0f, 243.0f, 244.0f, 245.0f, 246.0f, 247.0f, 248.0f, 249.0f, 250.0f, 251.0f, 252.0f, 253.0f, 254.0f, 255.0f,
};
#define EL_U8_FLOAT(v) el_u8_float[v]
#define EL_TO_FLOAT(v) ((float)(v))

EL_RESIZE_ROW(uint8_t, el_resize_row_u8, EL_U8_FLOAT)
EL_RESIZE_ROW(int8_t, el_resize_row_i8, EL_TO_FLOAT)
EL_RESIZE_ROW(int16_t, el_resize_row_i16, EL_TO_FLOAT)
EL_RESIZE_ROW(int32_t, el_resize_row_i32, EL_TO_FLOAT)
EL_RESIZE_ROW(int64_t, el_resize_row_i64, EL_TO_FLOAT)
EL_RESIZE_ROW(float, el_resize_row_f32, EL_TO_FLOAT)
EL_RESIZE_ROW(double, el_resize_row_f64, EL_TO_FLOAT)

#if defined(EL_CONV_X86)
/* EL_RESIZE_ROW for uint8 and float rows with AVX-512 gathers, 16
 * elements per step (only called when the CPU has AVX-512F). Each lane
 * does the scalar loop's operations in its order, multiplies and adds kept
 * apart, so the bits are the same. A uint8 gather reads 4 bytes at each
 * offset and keeps the low one: `nvec` leaves the elements whose offsets
 * come within 3 bytes of the row's end to the scalar loop (the input's last
 * row ends the buffer). */
__attribute__((target("avx512f"))) static int64_t el_resize_row_avx512(bool u8, bool same_w, const void *top,
                                                                       const void *bot, const int32_t *lo,
                                                                       const int32_t *hi, const float *w, int64_t nvec,
                                                                       float y_lerp, float *dst)
{
    const __m512 yl = _mm512_set1_ps(y_lerp);
    const __m512i lowbyte = _mm512_set1_epi32(0xFF);
    int64_t e = 0;
    for (; e + 16 <= nvec; e += 16) {
        const __m512i l = _mm512_loadu_si512(lo + e), h = _mm512_loadu_si512(hi + e);
        __m512 tl, tr, bl, br;
        if (same_w) {
            /* Output width = input width: lo = hi = the element itself
             * (the weights are 0), so the corners are plain loads. */
            if (u8) {
                tl = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)((const uint8_t *)top + e))));
                bl = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)((const uint8_t *)bot + e))));
            } else {
                tl = _mm512_loadu_ps((const float *)top + e);
                bl = _mm512_loadu_ps((const float *)bot + e);
            }
            tr = tl;
            br = bl;
        } else if (u8) {
            tl = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_i32gather_epi32(l, top, 1), lowbyte));
            tr = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_i32gather_epi32(h, top, 1), lowbyte));
            bl = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_i32gather_epi32(l, bot, 1), lowbyte));
            br = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_i32gather_epi32(h, bot, 1), lowbyte));
        } else {
            tl = _mm512_i32gather_ps(l, top, 4);
            tr = _mm512_i32gather_ps(h, top, 4);
            bl = _mm512_i32gather_ps(l, bot, 4);
            br = _mm512_i32gather_ps(h, bot, 4);
        }
        const __m512 we = _mm512_loadu_ps(w + e);
        const __m512 t = _mm512_add_ps(tl, _mm512_mul_ps(_mm512_sub_ps(tr, tl), we));
        const __m512 b = _mm512_add_ps(bl, _mm512_mul_ps(_mm512_sub_ps(br, bl), we));
        _mm512_storeu_ps(dst + e, _mm512_add_ps(t, _mm512_mul_ps(_mm512_sub_ps(b, t), yl)));
    }
    return e;
}
#endif

#if defined(EL_CONV_X86)
/* Whether this CPU runs el_resize_row_u8_vbmi (and the kernels are not
 * forced below AVX-512). */
static bool el_resize_vbmi(void)
{
    return el_conv_isa() >= EL_ISA_AVX512 && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
}

/* uint8 rows without gathers (AVX-512 VBMI), the same operations per
 * lane as EL_RESIZE_ROW: group g of 16 elements reads its corners within
 * the 64 bytes from base[g] of each input row (idx: the group's 16 left,
 * then 16 right offsets from base[g]), so one load per input row and a
 * byte permute per corner replace the four gathers, which took most of
 * the camera frame's resize (768x576 -> 300x300: see bench/README.md).
 * Bytes past the row's end (row_elems) are not read. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
el_resize_row_u8_vbmi(const uint8_t *top, const uint8_t *bot, int64_t row_elems, const int32_t *base,
                      const uint8_t *idx, int64_t groups, const float *w, float y_lerp, float *dst)
{
    const __m512 yl = _mm512_set1_ps(y_lerp);
    for (int64_t g = 0; g < groups; g++, idx += 32, w += 16, dst += 16) {
        const int64_t b0 = base[g], left = row_elems - b0;
        const __mmask64 m = left >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << left) - 1;
        const __m512i t8 = _mm512_maskz_loadu_epi8(m, top + b0), b8 = _mm512_maskz_loadu_epi8(m, bot + b0);
        const __m512i il = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)idx));
        const __m512i ih = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)(idx + 16)));
#define EL_CORNER(row, ix) \
    _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(_mm512_permutexvar_epi8(ix, row))))
        const __m512 tl = EL_CORNER(t8, il), tr = EL_CORNER(t8, ih), bl = EL_CORNER(b8, il), br = EL_CORNER(b8, ih);
#undef EL_CORNER
        const __m512 we = _mm512_loadu_ps(w);
        const __m512 t = _mm512_add_ps(tl, _mm512_mul_ps(_mm512_sub_ps(tr, tl), we));
        const __m512 b = _mm512_add_ps(bl, _mm512_mul_ps(_mm512_sub_ps(br, bl), we));
        _mm512_storeu_ps(dst, _mm512_add_ps(t, _mm512_mul_ps(_mm512_sub_ps(b, t), yl)));
    }
}

/* The tables of el_resize_row_u8_vbmi for the row's first groups * 16
 * elements (lo, hi: their offsets); false when a group's corners span 64
 * bytes or more (a downscale by about 4 or more). */
static bool el_resize_vbmi_tables(const int32_t *lo, const int32_t *hi, int64_t groups, int32_t *base, uint8_t *idx)
{
    for (int64_t g = 0; g < groups; g++, lo += 16, hi += 16, idx += 32) {
        int32_t mn = lo[0], mx = hi[0];
        for (int e = 0; e < 16; e++) {
            if (lo[e] < mn) mn = lo[e];
            if (hi[e] < mn) mn = hi[e];
            if (lo[e] > mx) mx = lo[e];
            if (hi[e] > mx) mx = hi[e];
        }
        if (mx - mn >= 64) return false;
        base[g] = mn;
        for (int e = 0; e < 16; e++) {
            idx[e] = (uint8_t)(lo[e] - mn);
            idx[16 + e] = (uint8_t)(hi[e] - mn);
        }
    }
    return true;
}
#endif

/* Float images of EL_RESIZE_PIXEL_MIN_CH channels or more (feature maps):
 * per output pixel, its four input pixels' channels are contiguous, so the
 * channel loop vectorizes without gathers; rows are spread over the
 * threads. The same operations per element as EL_RESIZE_ROW. */
#define EL_RESIZE_PIXEL_MIN_CH 8

#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__)
__attribute__((optimize("tree-loop-vectorize")))
#endif
static void el_resize_row_f32_pixels(const float *top, const float *bot, const el_interp *xs, int64_t out_w,
                                     int64_t ch, float y_lerp, float *dst)
{
    for (int64_t x = 0; x < out_w; x++, dst += ch) {
        const float *restrict tl = top + xs[x].lo * ch, *restrict tr = top + xs[x].hi * ch;
        const float *restrict bl = bot + xs[x].lo * ch, *restrict br = bot + xs[x].hi * ch;
        const float w = xs[x].lerp;
        float *restrict d = dst;
        for (int64_t c = 0; c < ch; c++) {
            float t = tl[c] + (tr[c] - tl[c]) * w;
            float b = bl[c] + (br[c] - bl[c]) * w;
            d[c] = t + (b - t) * y_lerp;
        }
    }
}

typedef void (*el_resize_row_fn)(const void *, const void *, const int32_t *, const int32_t *, const float *, int64_t,
                                 float, float *);

static el_resize_row_fn el_resize_row_for(el_dtype dt)
{
    switch (dt) {
    case EL_DT_UINT8: return el_resize_row_u8;
    case EL_DT_INT8: return el_resize_row_i8;
    case EL_DT_INT16: return el_resize_row_i16;
    case EL_DT_INT32: return el_resize_row_i32;
    case EL_DT_INT64: return el_resize_row_i64;
    case EL_DT_FLOAT: return el_resize_row_f32;
    case EL_DT_DOUBLE: return el_resize_row_f64;
    default: return NULL;
    }
}

/* What the row chunks of one resize share: float feature maps go pixel by
 * pixel (`pixels`), the rest through `row` with the per-element tables
 * lo/hi/w. */
typedef struct el_resize_job {
    const el_resize_args *a;
    const el_interp *ys, *xs;
    bool pixels;
    el_resize_row_fn row;
    const int32_t *lo, *hi;
    const float *w;
    int64_t nvec;   /* elements the AVX-512 row takes (0: none) */
    bool same_w;    /* lo = hi = the element's own offset (the output as wide as the input) */
    int64_t groups; /* uint8 elements el_resize_row_u8_vbmi takes, / 16 (0: none) */
    const int32_t *gbase;
    const uint8_t *gidx;
    float *scratch; /* uint8 output: one float row per thread */
} el_resize_job;

/* Rounding as std::round (half away from zero), then saturating: what the
 * image path's tf.round + cast to uint8 yields for in-range values. */
static uint8_t el_round_u8(float v)
{
    float r = roundf(v);
    if (!(r >= 0.0f)) return 0; /* also NaN */
    if (r >= 255.0f) return 255;
    return (uint8_t)r;
}

/* Output rows [r0, r1) of the batch (row r: image r / out_h, row r % out_h). */
static void el_resize_rows(void *ctx, int64_t r0, int64_t r1)
{
    const el_resize_job *j = ctx;
    const el_resize_args *a = j->a;
    const size_t esize = el_dtype_size(a->in_dtype);
    const size_t in_row = (size_t)(a->in_w * a->channels) * esize;
    const size_t out_row = (size_t)(a->out_w * a->channels);
    float *scratch = j->scratch ? j->scratch + (size_t)el_threadpool_thread_index() * out_row : NULL;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t b = r / a->out_h, y = r % a->out_h;
        const unsigned char *img = (const unsigned char *)a->in + (size_t)(b * a->in_h) * in_row;
        const void *top = img + (size_t)j->ys[y].lo * in_row, *bot = img + (size_t)j->ys[y].hi * in_row;
        float *dst = a->out_f32 ? a->out_f32 + (size_t)r * out_row : scratch;
        if (j->pixels) el_resize_row_f32_pixels(top, bot, j->xs, a->out_w, a->channels, j->ys[y].lerp, dst);
        else {
            int64_t e = 0;
#if defined(EL_CONV_X86)
            if (j->groups) {
                e = j->groups * 16;
                el_resize_row_u8_vbmi(top, bot, a->in_w * a->channels, j->gbase, j->gidx, j->groups, j->w,
                                      j->ys[y].lerp, dst);
            } else if (j->nvec) e = el_resize_row_avx512(a->in_dtype == EL_DT_UINT8, j->same_w, top, bot, j->lo, j->hi, j->w,
                                                  j->nvec, j->ys[y].lerp, dst);
#endif
            j->row(top, bot, j->lo + e, j->hi + e, j->w + e, (int64_t)out_row - e, j->ys[y].lerp, dst + e);
        }
        if (a->out_u8) {
            uint8_t *o = a->out_u8 + (size_t)r * out_row;
            for (size_t i = 0; i < out_row; i++) o[i] = el_round_u8(dst[i]);
        }
    }
}

static el_status el_resize_check(int64_t batch, int64_t in_h, int64_t in_w, int64_t ch, int64_t out_h,
                                 int64_t out_w, bool align_corners, bool half_pixel_centers)
{
    if (align_corners && half_pixel_centers)
        return el_error(EL_ERR_INVALID_ARG, "if half_pixel_centers is true, align_corners must be false");
    if (batch < 0 || ch < 0 || in_h <= 0 || in_w <= 0)
        return el_error(EL_ERR_INVALID_ARG, "input image must be of non-zero size, found %lldx%lld",
                        (long long)in_h, (long long)in_w);
    if (out_h <= 0 || out_w <= 0)
        return el_error(EL_ERR_INVALID_ARG, "output dimensions must be positive, found %lldx%lld",
                        (long long)out_h, (long long)out_w);
    return EL_OK;
}

el_status el_resize_bilinear_core(const el_resize_args *a)
{
    EL_TRY(el_resize_check(a->batch, a->in_h, a->in_w, a->channels, a->out_h, a->out_w, a->align_corners,
                           a->half_pixel_centers));
    if ((a->out_f32 == NULL) == (a->out_u8 == NULL))
        return el_error(EL_ERR_INVALID_ARG, "resize: exactly one of the float and uint8 outputs must be given");
    el_resize_row_fn row = el_resize_row_for(a->in_dtype);
    if (!row)
        return el_error(EL_ERR_UNSUPPORTED, "ResizeBilinear does not support %s images",
                        el_dtype_name(a->in_dtype));
    if (a->batch == 0 || a->channels == 0) return EL_OK; /* empty output */

    /* Offsets within a row are int32: a row longer than that is refused. */
    if (a->in_w > INT32_MAX / (a->channels > 0 ? a->channels : 1) || a->out_w > INT32_MAX / a->channels)
        return el_error(EL_ERR_LIMIT, "resize: rows of %lldx%lld values exceed 2^31", (long long)a->in_w,
                        (long long)a->channels);
    el_threadpool *pool = el_threadpool_current();
    const size_t row_n = (size_t)(a->out_w * a->channels);
    el_resize_job j = {.a = a};
    j.pixels = a->in_dtype == EL_DT_FLOAT && a->out_f32 && a->channels >= EL_RESIZE_PIXEL_MIN_CH;
    const bool tables = !j.pixels;
    el_interp *ys = el_mem_alloc(sizeof *ys * (size_t)a->out_h);
    el_interp *xs = el_mem_alloc(sizeof *xs * (size_t)a->out_w);
    int32_t *lo = tables ? el_mem_alloc(sizeof *lo * row_n) : NULL;
    int32_t *hi = tables ? el_mem_alloc(sizeof *hi * row_n) : NULL;
    float *w = tables ? el_mem_alloc(sizeof *w * row_n) : NULL;
    int32_t *gbase = NULL;
    uint8_t *gidx = NULL;
    float *scratch =
        a->out_u8 ? el_mem_alloc(sizeof(float) * row_n * (size_t)el_threadpool_size(pool)) : NULL;
    if (!ys || !xs || (tables && (!lo || !hi || !w)) || (a->out_u8 && !scratch)) {
        el_mem_free(ys);
        el_mem_free(xs);
        el_mem_free(lo);
        el_mem_free(hi);
        el_mem_free(w);
        el_mem_free(scratch);
        return el_error(EL_ERR_NOMEM, "resize: no memory for %lldx%lld interpolation tables",
                        (long long)a->out_h, (long long)a->out_w);
    }
    el_resize_weights(a->out_h, a->in_h, el_resize_scale(a->in_h, a->out_h, a->align_corners),
                      a->half_pixel_centers, ys);
    el_resize_weights(a->out_w, a->in_w, el_resize_scale(a->in_w, a->out_w, a->align_corners),
                      a->half_pixel_centers, xs);
    if (tables) {
        for (int64_t x = 0; x < a->out_w; x++)
            for (int64_t c = 0; c < a->channels; c++) {
                const size_t e = (size_t)(x * a->channels + c);
                lo[e] = (int32_t)(xs[x].lo * a->channels + c);
                hi[e] = (int32_t)(xs[x].hi * a->channels + c);
                w[e] = xs[x].lerp;
            }
    }
#if defined(EL_CONV_X86)
    /* Gathers for uint8 and float rows, up to the first element whose
     * offset reaches the row's last 3 bytes (hi >= lo everywhere). */
    if (tables && (a->in_dtype == EL_DT_UINT8 || a->in_dtype == EL_DT_FLOAT) && el_conv_isa() >= EL_ISA_AVX512) {
        const int64_t row_elems = a->in_w * a->channels, tail = a->in_dtype == EL_DT_UINT8 ? 3 : 0;
        int64_t n = 0;
        while (n < (int64_t)row_n && hi[n] + tail < row_elems) n++;
        j.nvec = n / 16 * 16;
        j.same_w = true;
        for (int64_t e = 0; e < (int64_t)row_n && j.same_w; e++) j.same_w = lo[e] == e && hi[e] == e;
    }
    if (tables && a->in_dtype == EL_DT_UINT8 && !j.same_w && row_n >= 16 && el_resize_vbmi()) {
        const int64_t groups = (int64_t)row_n / 16;
        gbase = el_mem_alloc(sizeof *gbase * (size_t)groups);
        gidx = el_mem_alloc((size_t)groups * 32);
        /* Out of memory or corners too far apart: the gathers. */
        if (gbase && gidx && el_resize_vbmi_tables(lo, hi, groups, gbase, gidx)) j.groups = groups;
    }
    j.gbase = gbase;
    j.gidx = gidx;
#endif
    j.ys = ys;
    j.xs = xs;
    j.row = row;
    j.lo = lo;
    j.hi = hi;
    j.w = w;
    j.scratch = scratch;
    /* Rows are independent: spread them over the session's threads. */
    el_parallel_for(pool, a->batch * a->out_h, 1 + 32768 / (int64_t)row_n, el_resize_rows, &j);
    el_mem_free(ys);
    el_mem_free(xs);
    el_mem_free(lo);
    el_mem_free(hi);
    el_mem_free(w);
    el_mem_free(scratch);
    el_mem_free(gbase);
    el_mem_free(gidx);
    return EL_OK;
}

/* TF's ResizeNearestNeighbor index: floor(x * scale), or round(x * scale)
 * when aligning corners; half-pixel centres use (x + 0.5) * scale (no -0.5,
 * unlike the bilinear scaler) and clamp at 0. Always clamped to in-1. */
static int64_t el_nearest_index(int64_t i, int64_t in, float scale, bool align_corners, bool half_pixel)
{
    float src = half_pixel ? ((float)i + 0.5f) * scale : (float)i * scale;
    int64_t k = align_corners ? (int64_t)roundf(src) : (int64_t)floorf(src);
    if (k > in - 1) k = in - 1;
    if (k < 0) k = 0;
    return k;
}

el_status el_resize_nearest_core(const void *in, void *out, size_t elem_size, int64_t batch, int64_t in_h,
                                 int64_t in_w, int64_t channels, int64_t out_h, int64_t out_w,
                                 bool align_corners, bool half_pixel_centers)
{
    EL_TRY(el_resize_check(batch, in_h, in_w, channels, out_h, out_w, align_corners, half_pixel_centers));
    if (batch == 0 || channels == 0) return EL_OK;
    int64_t *xs = el_mem_alloc(sizeof *xs * (size_t)out_w);
    if (!xs)
        return el_error(EL_ERR_NOMEM, "resize: no memory for a %lld-entry index table", (long long)out_w);
    float hs = el_resize_scale(in_h, out_h, align_corners), ws = el_resize_scale(in_w, out_w, align_corners);
    for (int64_t x = 0; x < out_w; x++) xs[x] = el_nearest_index(x, in_w, ws, align_corners, half_pixel_centers);
    size_t pix = (size_t)channels * elem_size;
    const unsigned char *src = in;
    unsigned char *dst = out;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t y = 0; y < out_h; y++) {
            int64_t sy = el_nearest_index(y, in_h, hs, align_corners, half_pixel_centers);
            const unsigned char *row = src + (size_t)((b * in_h + sy) * in_w) * pix;
            for (int64_t x = 0; x < out_w; x++, dst += pix) memcpy(dst, row + (size_t)xs[x] * pix, pix);
        }
    el_mem_free(xs);
    return EL_OK;
}

/* Inputs shared by both ops: images [batch, h, w, c] and size int32 [2]
 * (new_height, new_width); attrs align_corners / half_pixel_centers default
 * to false (old exports omit half_pixel_centers). */
static el_status el_resize_prepare(el_kctx *ctx, int64_t out_dims[4], bool *align, bool *half)
{
    EL_TRY(el_kctx_need_inputs(ctx, 2));
    const el_tensor *img = &ctx->inputs[0];
    if (img->ndim != 4)
        return el_kerr(ctx, EL_ERR_RUNTIME, "images must be 4-dimensional [batch,height,width,channels], found rank %d",
                       img->ndim);
    const el_tensor *size = &ctx->inputs[1];
    if (size->ndim != 1)
        return el_kerr(ctx, EL_ERR_RUNTIME, "size must be 1-dimensional, found rank %d", size->ndim);
    int64_t hw[2];
    int n = 0;
    EL_TRY(el_kctx_index_vector(ctx, 1, hw, 2, &n));
    if (n != 2) return el_kerr(ctx, EL_ERR_RUNTIME, "size must have two elements, found %d", n);
    EL_TRY(el_attr_bool(ctx->node, "align_corners", false, align));
    EL_TRY(el_attr_bool(ctx->node, "half_pixel_centers", false, half));
    if (*align && *half)
        return el_kerr(ctx, EL_ERR_INVALID_ARG, "if half_pixel_centers is true, align_corners must be false");
    if (hw[0] <= 0 || hw[1] <= 0 || hw[0] > INT32_MAX || hw[1] > INT32_MAX)
        return el_kerr(ctx, EL_ERR_RUNTIME, "output dimensions must be positive, found %lldx%lld", (long long)hw[0],
                       (long long)hw[1]);
    if (img->dims[1] <= 0 || img->dims[2] <= 0)
        return el_kerr(ctx, EL_ERR_RUNTIME, "input image must be of non-zero size, found %lldx%lld",
                       (long long)img->dims[1], (long long)img->dims[2]);
    out_dims[0] = img->dims[0];
    out_dims[1] = hw[0];
    out_dims[2] = hw[1];
    out_dims[3] = img->dims[3];
    return EL_OK;
}

#if defined(EL_CONV_X86)
/* el_resize_lerp_keeps over [0, n - n % 16): the scan costs a third of the
 * resize it replaces with SSE2 alone. */
__attribute__((target("avx512f"))) static bool el_resize_lerp_keeps_avx512(const float *x, int64_t n)
{
    const __m512i expo = _mm512_set1_epi32(0x7f800000), negz = _mm512_set1_epi32((int)0x80000000u);
    for (int64_t i0 = 0; i0 + 16 <= n; i0 += 4096) {
        const int64_t i1 = n - i0 < 4096 ? n - 15 : i0 + 4096;
        __mmask16 bad = 0;
        for (int64_t i = i0; i < i1; i += 16) {
            __m512i v = _mm512_loadu_si512(x + i);
            bad |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(v, expo), expo) | _mm512_cmpeq_epi32_mask(v, negz);
        }
        if (bad) return false;
    }
    return true;
}
#endif

/* Whether v + (v - v) * 0 == v bit for bit for every value: true unless some
 * value is infinite or NaN ((v - v) is NaN there) or -0 (-0 + +0 is +0). */
static bool el_resize_lerp_keeps(const float *x, int64_t n)
{
    const uint32_t *b = (const uint32_t *)x;
    int64_t from = 0;
#if defined(EL_CONV_X86)
    if (el_conv_isa() >= EL_ISA_AVX512) {
        if (!el_resize_lerp_keeps_avx512(x, n)) return false;
        from = n - n % 16;
    }
#endif
    for (int64_t i0 = from; i0 < n; i0 += 4096) {
        const int64_t i1 = n - i0 < 4096 ? n : i0 + 4096;
        uint32_t bad = 0;
        for (int64_t i = i0; i < i1; i++)
            bad |= ((b[i] & 0x7f800000u) == 0x7f800000u) | (b[i] == 0x80000000u);
        if (bad) return false;
    }
    return true;
}

static el_status el_resize_bilinear_run(el_kctx *ctx)
{
    int64_t od[4];
    bool align, half;
    EL_TRY(el_resize_prepare(ctx, od, &align, &half));
    const el_tensor *img = &ctx->inputs[0];
    if (!el_resize_row_for(img->dtype))
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "images of type %s are not supported", el_dtype_name(img->dtype));
    /* Same size in and out: every sample lands on its own pixel with weight
     * 0 (scale 1 in all three modes), so TF's lerp gives the input back
     * unless a value is one of those it changes. The OD API preprocessors
     * resize images already at the model's size. */
    if (img->dtype == EL_DT_FLOAT && od[1] == img->dims[1] && od[2] == img->dims[2] &&
        el_resize_lerp_keeps(img->data, el_tensor_numel(img)))
        return el_kctx_forward(ctx, 0, 0, 4, od);
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, EL_DT_FLOAT, 4, od, &out));
    el_resize_args a = {
        .in_dtype = img->dtype, .in = img->data,
        .batch = img->dims[0], .in_h = img->dims[1], .in_w = img->dims[2], .channels = img->dims[3],
        .out_h = od[1], .out_w = od[2],
        .align_corners = align, .half_pixel_centers = half,
        .out_f32 = out->data,
    };
    if (el_tensor_numel(out) == 0) return EL_OK;
    el_status s = el_resize_bilinear_core(&a);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    return EL_OK;
}

static el_status el_resize_nearest_run(el_kctx *ctx)
{
    int64_t od[4];
    bool align, half;
    EL_TRY(el_resize_prepare(ctx, od, &align, &half));
    const el_tensor *img = &ctx->inputs[0];
    size_t es = el_dtype_size(img->dtype);
    if (es == 0 || img->dtype == EL_DT_STRING || img->dtype == EL_DT_RESOURCE || img->dtype == EL_DT_VARIANT)
        return el_kerr(ctx, EL_ERR_UNSUPPORTED, "images of type %s are not supported", el_dtype_name(img->dtype));
    el_tensor *out;
    EL_TRY(el_kctx_output(ctx, 0, img->dtype, 4, od, &out));
    if (el_tensor_numel(out) == 0) return EL_OK;
    el_status s = el_resize_nearest_core(img->data, out->data, es, od[0], img->dims[1], img->dims[2], od[3], od[1],
                                         od[2], align, half);
    if (s != EL_OK) return el_error_prefix(s, "node '%s' (op %s): ", ctx->node->name, ctx->node->op);
    return EL_OK;
}

const el_op el_ops_resize[] = {
    {"ResizeBilinear", el_resize_bilinear_run, NULL, EL_OP_PARALLEL},
    {"ResizeNearestNeighbor", el_resize_nearest_run, NULL, EL_OP_PARALLEL},
    {NULL, NULL, NULL, 0},
};
