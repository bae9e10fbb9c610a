/* ResizeBilinear / ResizeNearestNeighbor against hand-computed values for
 * every (align_corners, half_pixel_centers) combination. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/conv_fast.h"
#include "ops/resize.h"

enum { LEGACY, ALIGN, HALF, NOATTR };

static void set_mode(el_test_node *tn, int mode)
{
    if (mode == NOATTR) return; /* old exports: both attrs absent = false */
    el_test_attr_bool(tn, "align_corners", mode == ALIGN);
    if (mode != LEGACY) el_test_attr_bool(tn, "half_pixel_centers", mode == HALF);
}

static el_status run(const char *op, int mode, el_tensor img, int32_t oh, int32_t ow, el_tensor *out)
{
    el_test_node tn;
    el_test_node_init(&tn, op);
    set_mode(&tn, mode);
    int64_t two[1] = {2};
    int32_t hw[2] = {oh, ow};
    el_tensor in[2] = {img, el_test_i32(1, two, hw)};
    el_status s = el_test_run(&tn, 2, in, 1, out);
    el_test_release_all(2, in);
    return s;
}

/* Row [1, 2] (1x1x2x1) widened to 4. */
static void check_bilinear_row(int mode, const float *want)
{
    int64_t d[4] = {1, 1, 2, 1};
    float v[2] = {1, 2};
    el_tensor out;
    assert_int_equal(run("ResizeBilinear", mode, el_test_f32(4, d, v), 1, 4, &out), EL_OK);
    int64_t od[4] = {1, 1, 4, 1};
    el_test_assert_shape(&out, 4, od);
    el_test_assert_f32(&out, want, 4, 1e-6f);
    el_tensor_release(&out);
}

static void test_bilinear_modes(void **state)
{
    (void)state;
    /* legacy: x = i*0.5 -> 0, .5, 1, 1.5 (clamped to the last column) */
    check_bilinear_row(LEGACY, (const float[]){1, 1.5f, 2, 2});
    check_bilinear_row(NOATTR, (const float[]){1, 1.5f, 2, 2});
    /* align_corners: scale (2-1)/(4-1) -> 0, 1/3, 2/3, 1 */
    check_bilinear_row(ALIGN, (const float[]){1, 4.0f / 3, 5.0f / 3, 2});
    /* half_pixel_centers: (i+.5)*.5-.5 -> -.25 (clamped), .25, .75, 1.25 */
    check_bilinear_row(HALF, (const float[]){1, 1.25f, 1.75f, 2});
}

/* Same size in and out, every mode: finite values come back as they are
 * (the input's buffer); with an inf, a NaN or a -0 anywhere TF's lerp
 * (v + (v - v) * 0) is run: inf and NaN give NaN, -0 gives +0. */
static void test_bilinear_same_size(void **state)
{
    (void)state;
    int64_t d[4] = {1, 3, 5, 2};
    float v[30];
    for (int i = 0; i < 30; i++) v[i] = (float)(i * 37 % 29) / 7.0f - 2.0f;
    for (int mode = LEGACY; mode <= NOATTR; mode++) {
        el_tensor out;
        el_tensor img = el_test_f32(4, d, v);
        const void *data = img.data;
        assert_int_equal(run("ResizeBilinear", mode, img, 3, 5, &out), EL_OK);
        el_test_assert_shape(&out, 4, d);
        assert_ptr_equal(out.data, data);
        assert_memory_equal(out.data, v, sizeof v);
        el_tensor_release(&out);
    }
    float w[30];
    memcpy(w, v, sizeof w);
    w[3] = INFINITY, w[11] = NAN, w[20] = -0.0f;
    el_tensor out;
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_f32(4, d, w), 3, 5, &out), EL_OK);
    const float *y = out.data;
    for (int i = 0; i < 30; i++) {
        if (i == 3 || i == 11) assert_true(isnan(y[i]));
        else if (i == 20) assert_true(y[i] == 0 && !signbit(y[i]));
        else assert_true(y[i] == w[i]);
    }
    el_tensor_release(&out);
}

static void test_bilinear_2d_batch_channels(void **state)
{
    (void)state;
    /* Two images, two channels; f(y,x) = 1 + 2y + x in channel 0 and 10x that
     * in channel 1 (image 1 is image 0 + 100). Bilinear reproduces a linear
     * function at the clamped source coordinates: rows/cols at 0, 2/3, 1. */
    int64_t d[4] = {2, 2, 2, 2};
    float v[16];
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                float f = 1 + 2 * y + x + 100 * b;
                v[((b * 2 + y) * 2 + x) * 2 + 0] = f;
                v[((b * 2 + y) * 2 + x) * 2 + 1] = 10 * f;
            }
    el_tensor out;
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_f32(4, d, v), 3, 3, &out), EL_OK);
    int64_t od[4] = {2, 3, 3, 2};
    el_test_assert_shape(&out, 4, od);
    const float src[3] = {0, 2.0f / 3, 1};
    float want[36];
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++) {
                float f = 1 + 2 * src[y] + src[x] + 100 * b;
                want[((b * 3 + y) * 3 + x) * 2 + 0] = f;
                want[((b * 3 + y) * 3 + x) * 2 + 1] = 10 * f;
            }
    el_test_assert_f32(&out, want, 36, 1e-4f);
    el_tensor_release(&out);

    /* align_corners on the same images: 0, .5, 1. */
    assert_int_equal(run("ResizeBilinear", ALIGN, el_test_f32(4, d, v), 3, 3, &out), EL_OK);
    const float src2[3] = {0, 0.5f, 1};
    for (int b = 0; b < 2; b++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++) {
                float f = 1 + 2 * src2[y] + src2[x] + 100 * b;
                want[((b * 3 + y) * 3 + x) * 2 + 0] = f;
                want[((b * 3 + y) * 3 + x) * 2 + 1] = 10 * f;
            }
    el_test_assert_f32(&out, want, 36, 1e-4f);
    el_tensor_release(&out);
}

static void test_bilinear_integer_inputs(void **state)
{
    (void)state;
    int64_t d[4] = {1, 1, 2, 1};
    uint8_t u[2] = {0, 255};
    el_tensor out;
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_u8(4, d, u), 1, 4, &out), EL_OK);
    el_test_assert_f32(&out, (const float[]){0, 127.5f, 255, 255}, 4, 0);
    el_tensor_release(&out);

    int32_t i[2] = {-10, 10};
    assert_int_equal(run("ResizeBilinear", HALF, el_test_i32(4, d, i), 1, 4, &out), EL_OK);
    el_test_assert_f32(&out, (const float[]){-10, -5, 5, 10}, 4, 0);
    el_tensor_release(&out);

    /* Downscale 4 -> 2 (legacy): x = 0, 2. */
    int64_t d4[4] = {1, 1, 4, 1};
    float f4[4] = {1, 2, 3, 4};
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_f32(4, d4, f4), 1, 2, &out), EL_OK);
    el_test_assert_f32(&out, (const float[]){1, 3}, 2, 0);
    el_tensor_release(&out);
    /* ... and half-pixel: (i+.5)*2-.5 = .5, 2.5. */
    assert_int_equal(run("ResizeBilinear", HALF, el_test_f32(4, d4, f4), 1, 2, &out), EL_OK);
    el_test_assert_f32(&out, (const float[]){1.5f, 3.5f}, 2, 0);
    el_tensor_release(&out);
}

/* Row [10, 20, 30] (int32) resized to width `w`; nearest keeps the dtype. */
static void check_nearest_row(int mode, int w, const int32_t *want)
{
    int64_t d[4] = {1, 1, 3, 1};
    int32_t v[3] = {10, 20, 30};
    el_tensor out;
    assert_int_equal(run("ResizeNearestNeighbor", mode, el_test_i32(4, d, v), 1, w, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_INT32);
    int64_t od[4] = {1, 1, w, 1};
    el_test_assert_shape(&out, 4, od);
    const int32_t *got = out.data;
    for (int i = 0; i < w; i++)
        if (got[i] != want[i]) fail_msg("mode %d width %d: element %d is %d, want %d", mode, w, i, got[i], want[i]);
    el_tensor_release(&out);
}

static void test_nearest_modes(void **state)
{
    (void)state;
    /* legacy: floor(i*.6) = 0,0,1,1,2 */
    check_nearest_row(LEGACY, 5, (const int32_t[]){10, 10, 20, 20, 30});
    check_nearest_row(NOATTR, 5, (const int32_t[]){10, 10, 20, 20, 30});
    /* align: round(i*.5) half away from zero = 0,1,1,2,2 */
    check_nearest_row(ALIGN, 5, (const int32_t[]){10, 20, 20, 30, 30});
    /* half: floor((i+.5)*.6) = 0,0,1,2,2 */
    check_nearest_row(HALF, 5, (const int32_t[]){10, 10, 20, 30, 30});
    /* downscale to 2: legacy floor(0, 1.5); align round(0, 2); half floor(.75, 2.25) */
    check_nearest_row(LEGACY, 2, (const int32_t[]){10, 20});
    check_nearest_row(ALIGN, 2, (const int32_t[]){10, 30});
    check_nearest_row(HALF, 2, (const int32_t[]){10, 30});
}

static void test_nearest_2d_uint8(void **state)
{
    (void)state;
    /* 2x2 RGB-ish (3 channels) to 4x4 legacy: each pixel doubled both ways. */
    int64_t d[4] = {1, 2, 2, 3};
    uint8_t v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    el_tensor out;
    assert_int_equal(run("ResizeNearestNeighbor", LEGACY, el_test_u8(4, d, v), 4, 4, &out), EL_OK);
    assert_int_equal(out.dtype, EL_DT_UINT8);
    const uint8_t *g = out.data;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(g[(y * 4 + x) * 3 + c], v[((y / 2) * 2 + x / 2) * 3 + c]);
    el_tensor_release(&out);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t d[4] = {1, 1, 2, 1};
    float v[2] = {1, 2};
    el_tensor out[1];
    const char *ops[2] = {"ResizeBilinear", "ResizeNearestNeighbor"};
    for (int k = 0; k < 2; k++) {
        /* Both attrs true. */
        el_test_node tn;
        el_test_node_init(&tn, ops[k]);
        el_test_attr_bool(&tn, "align_corners", true);
        el_test_attr_bool(&tn, "half_pixel_centers", true);
        int64_t two[1] = {2};
        int32_t hw[2] = {2, 2};
        el_tensor in[2] = {el_test_f32(4, d, v), el_test_i32(1, two, hw)};
        assert_int_not_equal(el_test_run(&tn, 2, in, 1, out), EL_OK);
        assert_non_null(strstr(el_last_error(), "align_corners must be false"));
        assert_non_null(strstr(el_last_error(), "test_node"));
        el_test_release_all(1, out);
        el_test_release_all(2, in);

        /* Non-positive size. */
        assert_int_not_equal(run(ops[k], LEGACY, el_test_f32(4, d, v), 0, 3, out), EL_OK);
        assert_non_null(strstr(el_last_error(), "must be positive"));
        el_test_release_all(1, out);

        /* Rank 3 images. */
        int64_t d3[3] = {1, 2, 1};
        assert_int_not_equal(run(ops[k], LEGACY, el_test_f32(3, d3, v), 2, 2, out), EL_OK);
        assert_non_null(strstr(el_last_error(), "4-dimensional"));
        el_test_release_all(1, out);

        /* Size with three elements. */
        el_test_node_init(&tn, ops[k]);
        int64_t three[1] = {3};
        int32_t hw3[3] = {2, 2, 2};
        el_tensor in3[2] = {el_test_f32(4, d, v), el_test_i32(1, three, hw3)};
        assert_int_not_equal(el_test_run(&tn, 2, in3, 1, out), EL_OK);
        el_test_release_all(1, out);
        el_test_release_all(2, in3);

        /* Empty input image. */
        int64_t d0[4] = {1, 0, 2, 1};
        assert_int_not_equal(run(ops[k], LEGACY, el_test_f32(4, d0, NULL), 2, 2, out), EL_OK);
        assert_non_null(strstr(el_last_error(), "non-zero size"));
        el_test_release_all(1, out);
    }
    /* Unsupported dtype for bilinear. */
    uint8_t b[2] = {0, 1};
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_bool(4, d, b), 2, 2, out), EL_ERR_UNSUPPORTED);
    el_test_release_all(1, out);
    /* Empty batch is fine: empty output. */
    int64_t db[4] = {0, 1, 2, 1};
    assert_int_equal(run("ResizeBilinear", LEGACY, el_test_f32(4, db, NULL), 5, 5, out), EL_OK);
    assert_int_equal(el_tensor_numel(&out[0]), 0);
    el_test_release_all(1, out);
}

/* TF's bilinear rule restated per output pixel (resize_bilinear_op.cc:
 * scale and source coordinate in float32, lerps in float32 in TF's order). */
static float ref_src(int64_t i, float scale, bool half) { return half ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale; }
static void ref_axis(int64_t i, int64_t in, float scale, bool half, int64_t *lo, int64_t *hi, float *l)
{
    float src = ref_src(i, scale, half), fl = floorf(src);
    *lo = (int64_t)fl < 0 ? 0 : (int64_t)fl > in - 1 ? in - 1 : (int64_t)fl;
    *hi = (int64_t)ceilf(src) > in - 1 ? in - 1 : (int64_t)ceilf(src) < 0 ? 0 : (int64_t)ceilf(src);
    *l = src - fl;
}

static uint32_t el_rnd_state = 11;
static uint32_t el_rnd(void)
{
    el_rnd_state = el_rnd_state * 1664525u + 1013904223u;
    return el_rnd_state >> 8;
}

/* el_resize_bilinear_core on random sizes, 1 to 5 channels (float: up to
 * 40), uint8 / int16 / float inputs, all three modes, float and rounded uint8 outputs, bit for
 * bit against the per-pixel restatement, with and without the vector rows;
 * a fifth of the cases keep the input's width, some float inputs hold -0,
 * infinities and NaN. */
static void test_bilinear_core_vs_reference(void **state)
{
    (void)state;
    /* Every case on the portable rows and on the CPU's (AVX-512 gathers). */
    for (int it = 0; it < 600; it++) {
        el_conv_force_isa(it % 2 ? EL_ISA_REF : -1);
        const el_dtype dt = it % 3 == 0 ? EL_DT_UINT8 : it % 3 == 1 ? EL_DT_INT16 : EL_DT_FLOAT;
        /* Some float cases with feature-map depths (the per-pixel path). */
        const int64_t wide = dt == EL_DT_FLOAT && it % 2 ? 40 : 5;
        const int64_t b = 1 + el_rnd() % 2, ih = 1 + el_rnd() % 20, iw = 1 + el_rnd() % 20, ch = 1 + el_rnd() % wide;
        const int64_t oh = 1 + el_rnd() % 25, ow0 = 1 + el_rnd() % 25;
        /* Every 5th case as wide as its input (the vector rows' plain loads). */
        const int64_t ow = it % 5 == 0 ? iw : ow0;
        const int mode = (int)(el_rnd() % 3);
        const bool align = mode == 1, half = mode == 2, to_u8 = el_rnd() % 4 == 0;
        const int64_t nin = b * ih * iw * ch, nout = b * oh * ow * ch;
        float *fin = malloc(sizeof(float) * (size_t)nin);
        uint8_t *u8 = malloc((size_t)nin);
        int16_t *i16 = malloc(sizeof(int16_t) * (size_t)nin);
        for (int64_t i = 0; i < nin; i++) {
            u8[i] = (uint8_t)el_rnd();
            i16[i] = (int16_t)(el_rnd() - (1u << 23));
            fin[i] = dt == EL_DT_UINT8 ? (float)u8[i] : dt == EL_DT_INT16 ? (float)i16[i] : (float)(int)(el_rnd() % 20001 - 10000) / 7.0f;
        }
        /* Some float cases with -0, infinities and NaN (TF's lerps turn -0
         * into 0 and an infinity into NaN even where the weight is 0). */
        static const float special[4] = {-0.0f, INFINITY, -INFINITY, NAN};
        if (dt == EL_DT_FLOAT && it % 10 == 0)
            for (int64_t i = 0; i < nin; i += 1 + (int64_t)(el_rnd() % 7)) fin[i] = special[el_rnd() % 4];
        float *got = malloc(sizeof(float) * (size_t)nout);
        uint8_t *got8 = malloc((size_t)nout);
        el_resize_args ra = {dt, dt == EL_DT_UINT8 ? (const void *)u8 : dt == EL_DT_INT16 ? (const void *)i16 : fin,
                             b, ih, iw, ch, oh, ow, align, half, to_u8 ? NULL : got, to_u8 ? got8 : NULL};
        assert_int_equal(el_resize_bilinear_core(&ra), EL_OK);
        const float hs = (align && oh > 1) ? (float)(ih - 1) / (float)(oh - 1) : (float)ih / (float)oh;
        const float ws = (align && ow > 1) ? (float)(iw - 1) / (float)(ow - 1) : (float)iw / (float)ow;
        for (int64_t n = 0; n < b; n++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t x = 0; x < ow; x++)
                    for (int64_t c = 0; c < ch; c++) {
                        int64_t y0, y1, x0, x1;
                        float yl, xl;
                        ref_axis(y, ih, hs, half, &y0, &y1, &yl);
                        ref_axis(x, iw, ws, half, &x0, &x1, &xl);
#define AT(yy, xx) fin[((n * ih + (yy)) * iw + (xx)) * ch + c]
                        float t = AT(y0, x0) + (AT(y0, x1) - AT(y0, x0)) * xl;
                        float bo = AT(y1, x0) + (AT(y1, x1) - AT(y1, x0)) * xl;
#undef AT
                        float want = t + (bo - t) * yl;
                        const int64_t o = ((n * oh + y) * ow + x) * ch + c;
                        if (to_u8) {
                            float r = roundf(want);
                            uint8_t w8 = !(r >= 0) ? 0 : r >= 255 ? 255 : (uint8_t)r;
                            if (got8[o] != w8) fail_msg("case %d: u8 element %lld: got %d, want %d", it, (long long)o, got8[o], w8);
                        } else if (memcmp(&got[o], &want, sizeof want) && !(isnan(got[o]) && isnan(want))) {
                            /* A NaN's sign and payload depend on which operand the
                             * compiler put first (x86 keeps the first NaN), here and in
                             * the kernel alike: any NaN matches a NaN. */
                            fail_msg("case %d: element %lld: got %.9g, want %.9g", it, (long long)o, (double)got[o], (double)want);
                        }
                    }
        free(fin);
        free(u8);
        free(i16);
        free(got);
        free(got8);
    }
    el_conv_force_isa(-1);
}

/* Rows split over a pool of 2 threads give the same bits as one thread, for
 * each way a row is computed: photos (3 and 4 channels, uint8 and float
 * inputs), the per-element tables (5 channels, int16) and feature maps
 * (float, 16 channels); float and rounded uint8 outputs. The images are
 * large enough that the rows are cut into several chunks. */
static void test_bilinear_core_threads(void **state)
{
    (void)state;
    el_threadpool *pool = NULL;
    assert_int_equal(el_threadpool_create(2, &pool), EL_OK);
    const struct { el_dtype dt; int64_t ch; } cases[] = {
        {EL_DT_UINT8, 3}, {EL_DT_UINT8, 4}, {EL_DT_FLOAT, 3}, {EL_DT_FLOAT, 4}, {EL_DT_INT16, 5}, {EL_DT_FLOAT, 16}};
    const int64_t ih = 97, iw = 131, oh = 300, ow = 211;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int to_u8 = 0; to_u8 < 2; to_u8++) {
            const el_dtype dt = cases[k].dt;
            const int64_t ch = cases[k].ch, nin = ih * iw * ch, nout = oh * ow * ch;
            void *in = malloc(el_dtype_size(dt) * (size_t)nin);
            for (int64_t i = 0; i < nin; i++) {
                if (dt == EL_DT_UINT8) ((uint8_t *)in)[i] = (uint8_t)el_rnd();
                else if (dt == EL_DT_INT16) ((int16_t *)in)[i] = (int16_t)(el_rnd() - (1u << 23));
                else ((float *)in)[i] = (float)(int)(el_rnd() % 2001) / 7.0f;
            }
            size_t osz = to_u8 ? 1 : sizeof(float);
            unsigned char *one = malloc(osz * (size_t)nout), *two = malloc(osz * (size_t)nout);
            for (int t = 0; t < 2; t++) {
                unsigned char *o = t ? two : one;
                el_resize_args ra = {dt, in, 1, ih, iw, ch, oh, ow, false, true,
                                     to_u8 ? NULL : (float *)o, to_u8 ? (uint8_t *)o : NULL};
                el_threadpool *prev = el_threadpool_set_current(t ? pool : NULL);
                assert_int_equal(el_resize_bilinear_core(&ra), EL_OK);
                el_threadpool_set_current(prev);
            }
            if (memcmp(one, two, osz * (size_t)nout)) fail_msg("%s, %lld channels, u8 out %d: threads differ", el_dtype_name(dt), (long long)ch, to_u8);
            free(in);
            free(one);
            free(two);
        }
    el_threadpool_free(pool);
}

/* Camera frames at full size, uint8, on the CPU's rows against the
 * portable ones, bit for bit: a downscale whose 16-element groups read
 * within 64 bytes (the byte permutes where the CPU has AVX-512 VBMI), one
 * where they do not (768 -> 40 columns: the gathers), an upscale, and
 * widths whose last group ends at the row's last bytes; 3 and 4 channels,
 * all three modes. */
static void test_bilinear_u8_frames(void **state)
{
    (void)state;
    const struct { int64_t ih, iw, ch, oh, ow; } cases[] = {
        {576, 768, 3, 300, 300}, {480, 640, 3, 300, 300}, {576, 768, 3, 30, 40},  {60, 80, 4, 300, 300},
        {33, 17, 3, 21, 16},     {64, 100, 4, 48, 36},     {7, 1, 3, 9, 16},        {100, 257, 3, 50, 113},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int mode = 0; mode < 3; mode++) {
            const int64_t ih = cases[k].ih, iw = cases[k].iw, ch = cases[k].ch, oh = cases[k].oh, ow = cases[k].ow;
            const int64_t nin = ih * iw * ch, nout = oh * ow * ch;
            uint8_t *in = malloc((size_t)nin);
            for (int64_t i = 0; i < nin; i++) in[i] = (uint8_t)el_rnd();
            float *want = malloc(sizeof(float) * (size_t)nout), *got = malloc(sizeof(float) * (size_t)nout);
            for (int t = 0; t < 2; t++) {
                el_conv_force_isa(t ? -1 : EL_ISA_REF);
                el_resize_args ra = {EL_DT_UINT8, in, 1, ih, iw, ch, oh, ow, mode == 1, mode == 2, t ? got : want, NULL};
                assert_int_equal(el_resize_bilinear_core(&ra), EL_OK);
            }
            el_conv_force_isa(-1);
            for (int64_t o = 0; o < nout; o++)
                if (memcmp(&got[o], &want[o], sizeof(float)))
                    fail_msg("%lldx%lld -> %lldx%lld, mode %d: element %lld: got %.9g, want %.9g", (long long)ih,
                             (long long)iw, (long long)oh, (long long)ow, mode, (long long)o, (double)got[o],
                             (double)want[o]);
            free(in);
            free(want);
            free(got);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bilinear_same_size),
        cmocka_unit_test(test_bilinear_core_vs_reference),
        cmocka_unit_test(test_bilinear_core_threads),
        cmocka_unit_test(test_bilinear_u8_frames),
        cmocka_unit_test(test_bilinear_modes),
        cmocka_unit_test(test_bilinear_2d_batch_channels),
        cmocka_unit_test(test_bilinear_integer_inputs),
        cmocka_unit_test(test_nearest_modes),
        cmocka_unit_test(test_nearest_2d_uint8),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
