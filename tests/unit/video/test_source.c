/* Frame sources: FFmpeg files (videos generated here with libavcodec, plus
 * OpenCV's vtest.avi from $EL_DATA_DIR/opencv/ when scripts/setup fetched
 * it), single images, image directories, the V4L2 error paths and the YUYV
 * converter, and hostile inputs (corrupt files, unreachable servers). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "edgelens/image.h"
#include "video/source.h"
#include "video/source_impl.h"

/* ------------------------------------------------------------- helpers */

static double now_ms(void) { return (double)el_video_now_ns() / 1e6; }

/* Luma of the top half of generated frame i; the bottom half is red. */
static int frame_luma(int i) { return 30 + 5 * i; }

/* Writes n frames of w x h at fps with `id` into `path` (container from the
 * extension). Top half grey at frame_luma(i), bottom half pure red, in the
 * range the pixel format implies (YUVJ: full, else limited). */
static void write_video(const char *path, enum AVCodecID id, enum AVPixelFormat pf, int w, int h, int n, int fps)
{
    int full = pf == AV_PIX_FMT_YUVJ420P;
    AVFormatContext *oc = NULL;
    assert_true(avformat_alloc_output_context2(&oc, NULL, NULL, path) >= 0);
    const AVCodec *codec = avcodec_find_encoder(id);
    assert_non_null(codec);
    AVStream *st = avformat_new_stream(oc, NULL);
    assert_non_null(st);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    assert_non_null(enc);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = pf;
    enc->time_base = (AVRational){1, fps};
    enc->framerate = (AVRational){fps, 1};
    enc->gop_size = 10;
    enc->max_b_frames = 0;
    enc->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 2;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    assert_true(avcodec_open2(enc, codec, NULL) >= 0);
    assert_true(avcodec_parameters_from_context(st->codecpar, enc) >= 0);
    st->time_base = enc->time_base;
    assert_true(avio_open(&oc->pb, path, AVIO_FLAG_WRITE) >= 0);
    assert_true(avformat_write_header(oc, NULL) >= 0);
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    assert_non_null(f);
    assert_non_null(pkt);
    f->format = pf;
    f->width = w;
    f->height = h;
    assert_true(av_frame_get_buffer(f, 0) >= 0);
    /* Red in BT.601: full range Y 76 Cb 85 Cr 255, limited Y 81 Cb 90 Cr 240. */
    int ry = full ? 76 : 81, ru = full ? 85 : 90, rv = full ? 255 : 240;
    for (int i = 0; i <= n; i++) {
        AVFrame *in = NULL;
        if (i < n) {
            assert_true(av_frame_make_writable(f) >= 0);
            for (int y = 0; y < h; y++) memset(f->data[0] + (size_t)y * f->linesize[0], y < h / 2 ? frame_luma(i) : ry, w);
            for (int y = 0; y < h / 2; y++) {
                memset(f->data[1] + (size_t)y * f->linesize[1], y < h / 4 ? 128 : ru, w / 2);
                memset(f->data[2] + (size_t)y * f->linesize[2], y < h / 4 ? 128 : rv, w / 2);
            }
            f->pts = i;
            in = f;
        }
        assert_true(avcodec_send_frame(enc, in) >= 0);
        while (avcodec_receive_packet(enc, pkt) == 0) {
            av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
            pkt->stream_index = st->index;
            assert_true(av_interleaved_write_frame(oc, pkt) >= 0);
        }
    }
    assert_true(av_write_trailer(oc) >= 0);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    avio_closep(&oc->pb);
    avformat_free_context(oc);
}

static const uint8_t *px(const el_image *img, int x, int y) { return img->rgb + ((size_t)y * img->width + x) * 3; }

/* Grey `want` at the top centre and red at the bottom centre, within tol. */
static void check_frame(const el_image *img, int want, int tol)
{
    const uint8_t *top = px(img, img->width / 2, img->height / 4);
    const uint8_t *bot = px(img, img->width / 2, img->height * 3 / 4);
    for (int c = 0; c < 3; c++)
        if (abs(top[c] - want) > tol) fail_msg("grey channel %d is %d, want %d +- %d", c, top[c], want, tol);
    if (bot[0] < 235 || bot[1] > 20 || bot[2] > 20) fail_msg("red is (%d,%d,%d), want (255,0,0)", bot[0], bot[1], bot[2]);
}

static char g_dir[256];
static char g_mjpeg[300]; /* 30 frames, 64x48, 25 fps, MJPEG (full range) in AVI */
static char g_mpeg4[300]; /* 30 frames, 64x48, 25 fps, MPEG-4 part 2 (limited range) in Matroska */

static int setup(void **state)
{
    (void)state;
    assert_non_null(el_test_tmpdir(g_dir, sizeof g_dir));
    snprintf(g_mjpeg, sizeof g_mjpeg, "%s/gen_mjpeg.avi", g_dir);
    snprintf(g_mpeg4, sizeof g_mpeg4, "%s/gen_mpeg4.mkv", g_dir);
    write_video(g_mjpeg, AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ420P, 64, 48, 30, 25);
    write_video(g_mpeg4, AV_CODEC_ID_MPEG4, AV_PIX_FMT_YUV420P, 64, 48, 30, 25);
    return 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_jpeg_color(const char *path, int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    el_image img = {w, h, malloc((size_t)w * h * 3)};
    assert_non_null(img.rgb);
    for (int i = 0; i < w * h; i++) img.rgb[3 * i] = r, img.rgb[3 * i + 1] = g, img.rgb[3 * i + 2] = b;
    assert_int_equal(el_image_write_jpeg(path, &img, 95), EL_OK);
    el_image_free(&img);
}

/* ------------------------------------------------------- YUYV -> RGB */

static void test_yuyv_to_rgb(void **state)
{
    (void)state;
    /* Row 0: black, white (pixel pair sharing neutral chroma). Row 1: two
     * reds. Stride 12 bytes: 4 bytes of padding per row. Width 2. */
    const uint8_t yuyv[24] = {16, 128, 235, 128, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
                              81, 90,  81,  240, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
    uint8_t rgb[12];
    el_video_yuyv_to_rgb(yuyv, 12, 2, 2, rgb);
    const uint8_t want[12] = {0, 0, 0, 255, 255, 255, 255, 0, 0, 255, 0, 0};
    assert_memory_equal(rgb, want, 12);

    /* Mid grey: Y 126 is (126 - 16) * 255 / 219 = 128.08. Odd width 3: the
     * last pixel uses its own Y and the chroma of its (half) pair. Values
     * below 16 and above 235 clamp. */
    const uint8_t row[8] = {126, 128, 0, 128, 255, 128, 0, 128};
    uint8_t out[9];
    el_video_yuyv_to_rgb(row, 8, 3, 1, out);
    const uint8_t want2[9] = {128, 128, 128, 0, 0, 0, 255, 255, 255};
    assert_memory_equal(out, want2, 9);

    /* Blue, and chroma extremes that must clamp, not wrap. */
    const uint8_t blue[4] = {41, 240, 41, 110};
    el_video_yuyv_to_rgb(blue, 4, 2, 1, out);
    assert_true(out[0] <= 2 && out[1] <= 2 && out[2] >= 253);
    const uint8_t ext[4] = {255, 255, 0, 255};
    el_video_yuyv_to_rgb(ext, 4, 2, 1, out);
    assert_int_equal(out[0], 255);
    assert_int_equal(out[2], 255);
    /* Y 0 with Cb = Cr = 255: R = 1.164 * -16 + 1.596 * 127 = 184. */
    assert_int_equal(out[3], 184);
    assert_int_equal(out[4], 0);
    assert_int_equal(out[5], 237);
}

/* ----------------------------------------------------------- FFmpeg */

static void play_generated(const char *path, bool full)
{
    el_source_opts o = {0};
    el_source *s = NULL;
    assert_int_equal(el_source_open(path, &o, &s), EL_OK);
    assert_string_equal(el_source_uri(s), path);
    assert_true(fabs(el_source_fps(s) - 25.0) < 0.01);
    el_image img = {0, 0, NULL};
    double prev = -1;
    for (int i = 0; i < 30; i++) {
        double pts = -1;
        el_status rc = el_source_read(s, &img, &pts);
        if (rc != EL_OK) fail_msg("frame %d: %s", i, el_last_error());
        assert_int_equal(img.width, 64);
        assert_int_equal(img.height, 48);
        int y = frame_luma(i);
        /* Full range: grey Y is the RGB value; limited: stretched by 255/219. */
        int want = full ? y : (int)((y - 16) * 255.0 / 219.0 + 0.5);
        check_frame(&img, want, 4);
        if (i > 0) assert_true(fabs(pts - prev - 40.0) < 1.0);
        prev = pts;
    }
    double pts = 123;
    assert_int_equal(el_source_read(s, &img, &pts), EL_ERR_END);
    assert_true(pts == 0);
    assert_non_null(strstr(el_last_error(), path));
    assert_int_equal(el_source_read(s, &img, NULL), EL_ERR_END);
    el_image_free(&img);
    el_source_close(s);
}

static void test_generated_mjpeg_full_range(void **state)
{
    (void)state;
    play_generated(g_mjpeg, true);
}

static void test_generated_mpeg4_limited_range(void **state)
{
    (void)state;
    play_generated(g_mpeg4, false);
}

static void test_loop_restarts(void **state)
{
    (void)state;
    const char *paths[2] = {g_mjpeg, g_mpeg4};
    for (int k = 0; k < 2; k++) {
        el_source_opts o = {.loop = true};
        el_source *s = NULL;
        assert_int_equal(el_source_open(paths[k], &o, &s), EL_OK);
        el_image img = {0, 0, NULL};
        double prev = -1;
        for (int i = 0; i < 75; i++) {
            double pts = 0;
            if (el_source_read(s, &img, &pts) != EL_OK) fail_msg("%s frame %d: %s", paths[k], i, el_last_error());
            int y = frame_luma(i % 30);
            int want = k == 0 ? y : (int)((y - 16) * 255.0 / 219.0 + 0.5);
            check_frame(&img, want, 4);
            /* Timestamps keep going across the restart, one frame apart. */
            if (i > 0 && fabs(pts - prev - 40.0) > 1.0) fail_msg("frame %d: pts %g after %g", i, pts, prev);
            prev = pts;
        }
        el_image_free(&img);
        el_source_close(s);
    }
}

static void test_realtime_pacing(void **state)
{
    (void)state;
    el_source_opts o = {.realtime = true, .loop = true};
    el_source *s = NULL;
    assert_int_equal(el_source_open(g_mjpeg, &o, &s), EL_OK);
    el_image img = {0, 0, NULL};
    assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
    double t0 = now_ms();
    /* 40 more frames at 25 fps, across a loop: 1.6 s. */
    for (int i = 0; i < 40; i++) assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
    double dt = now_ms() - t0;
    if (dt < 1300 || dt > 6000) fail_msg("40 frames at 25 fps took %.0f ms, want about 1600", dt);
    el_image_free(&img);
    el_source_close(s);

    /* Without realtime the same frames come as fast as decoding goes. */
    o.realtime = false;
    assert_int_equal(el_source_open(g_mjpeg, &o, &s), EL_OK);
    t0 = now_ms();
    for (int i = 0; i < 41; i++) assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
    dt = now_ms() - t0;
    if (dt > 1200) fail_msg("41 unpaced frames took %.0f ms", dt);
    el_image_free(&img);
    el_source_close(s);
}

static double image_stddev(const el_image *img, double *mean_out)
{
    double sum = 0, sq = 0;
    size_t n = (size_t)img->width * img->height * 3;
    for (size_t i = 0; i < n; i++) sum += img->rgb[i], sq += (double)img->rgb[i] * img->rgb[i];
    double mean = sum / (double)n;
    if (mean_out) *mean_out = mean;
    return sqrt(sq / (double)n - mean * mean);
}

static void test_vtest_avi(void **state)
{
    (void)state;
    char path[512];
    if (!el_test_data("opencv/vtest.avi", path, sizeof path)) {
        fprintf(stderr, "SKIPPED: opencv/vtest.avi not in $EL_DATA_DIR (run scripts/setup)\n");
        skip();
    }
    el_source_opts o = {.realtime = true};
    el_source *s = NULL;
    if (el_source_open(path, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
    assert_true(fabs(el_source_fps(s) - 10.0) < 0.01);
    el_image img = {0, 0, NULL}, first = {0, 0, NULL};
    double pts = 0;
    assert_int_equal(el_source_read(s, &img, &pts), EL_OK);
    assert_int_equal(img.width, 768);
    assert_int_equal(img.height, 576);
    assert_true(pts == 0);
    double mean = 0, sd = image_stddev(&img, &mean);
    /* A daylight street scene: mid-grey on average with real contrast, and
     * colour (not the same value in R, G and B everywhere). */
    assert_true(mean > 40 && mean < 220);
    assert_true(sd > 20);
    size_t coloured = 0;
    for (size_t i = 0; i < (size_t)768 * 576; i++) {
        const uint8_t *p = img.rgb + 3 * i;
        if (abs(p[0] - p[1]) > 8 || abs(p[1] - p[2]) > 8) coloured++;
    }
    assert_true(coloured > 1000);
    /* RGB, not BGR (the seed's camera frames were BGR): the lawn at the
     * bottom left is green, about (63, 83, 16). */
    double sum[3] = {0, 0, 0};
    for (int y = 420; y < 576; y++)
        for (int x = 0; x < 300; x++)
            for (int c = 0; c < 3; c++) sum[c] += px(&img, x, y)[c];
    assert_true(sum[1] > sum[0] * 1.15 && sum[0] > sum[2] * 2);
    first = img;
    img = (el_image){0, 0, NULL};
    /* Ten more frames at 10 fps take about a second. */
    double t0 = now_ms();
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(el_source_read(s, &img, &pts), EL_OK);
        assert_true(fabs(pts - i * 100.0) < 1.0);
    }
    double dt = now_ms() - t0;
    if (dt < 700 || dt > 5000) fail_msg("10 frames at 10 fps took %.0f ms, want about 1000", dt);
    /* People walk: frame 10 differs from frame 0, but not totally. */
    size_t diff = 0;
    for (size_t i = 0; i < (size_t)768 * 576 * 3; i++) diff += abs(img.rgb[i] - first.rgb[i]) > 30;
    assert_true(diff > 100);
    assert_true(diff < (size_t)768 * 576 * 3 / 2);
    el_image_free(&first);
    el_image_free(&img);
    el_source_close(s);
}

static void test_vtest_avi_to_end(void **state)
{
    (void)state;
    char path[512];
    if (!el_test_data("opencv/vtest.avi", path, sizeof path)) skip();
    el_source_opts o = {0};
    el_source *s = NULL;
    assert_int_equal(el_source_open(path, &o, &s), EL_OK);
    el_image img = {0, 0, NULL};
    int n = 0;
    el_status rc;
    while ((rc = el_source_read(s, &img, NULL)) == EL_OK && n < 2000) n++;
    assert_int_equal(rc, EL_ERR_END);
    /* 79.5 s at 10 fps. */
    if (n < 780 || n > 800) fail_msg("vtest.avi gave %d frames, want 795", n);
    el_image_free(&img);
    el_source_close(s);
}

/* ------------------------------------------------------------ images */

static void test_single_image(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/one.jpg", g_dir);
    write_jpeg_color(path, 40, 30, 200, 30, 60);
    el_source_opts o = {0};
    el_source *s = NULL;
    assert_int_equal(el_source_open(path, &o, &s), EL_OK);
    assert_true(el_source_fps(s) == 1.0);
    el_image img = {0, 0, NULL};
    assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
    assert_int_equal(img.width, 40);
    assert_int_equal(img.height, 30);
    assert_true(abs(img.rgb[0] - 200) < 6 && abs(img.rgb[1] - 30) < 6 && abs(img.rgb[2] - 60) < 6);
    assert_int_equal(el_source_read(s, &img, NULL), EL_ERR_END);
    el_source_close(s);

    /* Looping at 20 fps: frames keep coming, 4 periods take ~200 ms. */
    o = (el_source_opts){.loop = true, .realtime = true, .fps = 20};
    assert_int_equal(el_source_open(path, &o, &s), EL_OK);
    assert_true(el_source_fps(s) == 20.0);
    double pts = 0;
    assert_int_equal(el_source_read(s, &img, &pts), EL_OK);
    double t0 = now_ms();
    for (int i = 1; i <= 4; i++) {
        assert_int_equal(el_source_read(s, &img, &pts), EL_OK);
        assert_true(fabs(pts - i * 50.0) < 1e-6);
    }
    double dt = now_ms() - t0;
    if (dt < 150 || dt > 2000) fail_msg("4 frames at 20 fps took %.0f ms", dt);
    el_image_free(&img);
    el_source_close(s);
}

static void test_image_dir(void **state)
{
    (void)state;
    char dir[300], p[400];
    snprintf(dir, sizeof dir, "%s/frames", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    /* Name order: 01.jpg, 02.jpeg, 05.jpg (corrupt: skipped), 10.JPG. */
    snprintf(p, sizeof p, "%s/10.JPG", dir);
    write_jpeg_color(p, 16, 16, 0, 0, 250);
    snprintf(p, sizeof p, "%s/02.jpeg", dir);
    write_jpeg_color(p, 24, 8, 0, 250, 0);
    snprintf(p, sizeof p, "%s/01.jpg", dir);
    write_jpeg_color(p, 16, 16, 250, 0, 0);
    snprintf(p, sizeof p, "%s/05.jpg", dir);
    assert_int_equal(el_test_write_file(p, "\xff\xd8\xff garbage", 12), 0);
    snprintf(p, sizeof p, "%s/notes.txt", dir);
    assert_int_equal(el_test_write_file(p, "hello", 5), 0);
    snprintf(p, sizeof p, "%s/.hidden.jpg", dir);
    write_jpeg_color(p, 8, 8, 9, 9, 9);
    snprintf(p, sizeof p, "%s/03.jpg", dir); /* a directory named like an image */
    assert_int_equal(mkdir(p, 0755), 0);

    el_source_opts o = {0};
    el_source *s = NULL;
    assert_int_equal(el_source_open(dir, &o, &s), EL_OK);
    el_image img = {0, 0, NULL};
    const int want_ch[3] = {0, 1, 2}, want_w[3] = {16, 24, 16};
    for (int pass = 0; pass < 1; pass++)
        for (int i = 0; i < 3; i++) {
            if (el_source_read(s, &img, NULL) != EL_OK) fail_msg("image %d: %s", i, el_last_error());
            assert_int_equal(img.width, want_w[i]);
            assert_true(img.rgb[want_ch[i]] > 230);
        }
    assert_int_equal(el_source_read(s, &img, NULL), EL_ERR_END);
    el_source_close(s);

    /* Looping with a trailing slash in the URI. */
    snprintf(p, sizeof p, "%s/", dir);
    o.loop = true;
    assert_int_equal(el_source_open(p, &o, &s), EL_OK);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
        assert_true(img.rgb[want_ch[i % 3]] > 230);
    }
    el_image_free(&img);
    el_source_close(s);
}

static void test_image_dir_errors(void **state)
{
    (void)state;
    char dir[300], p[400];
    el_source *s = (el_source *)1;
    el_source_opts o = {0};
    snprintf(dir, sizeof dir, "%s/empty", g_dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(el_source_open(dir, &o, &s), EL_ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(el_last_error(), dir));
    assert_non_null(strstr(el_last_error(), "no .jpg"));
    snprintf(p, sizeof p, "%s/readme.txt", dir);
    assert_int_equal(el_test_write_file(p, "x", 1), 0);
    assert_int_equal(el_source_open(dir, &o, &s), EL_ERR_NOT_FOUND);

    /* Only broken images: an error (not an endless skip), also with loop. */
    snprintf(p, sizeof p, "%s/a.png", dir);
    assert_int_equal(el_test_write_file(p, "not a png", 9), 0);
    snprintf(p, sizeof p, "%s/b.jpg", dir);
    assert_int_equal(el_test_write_file(p, "", 0), 0);
    for (int loop = 0; loop < 2; loop++) {
        o.loop = loop;
        assert_int_equal(el_source_open(dir, &o, &s), EL_OK);
        el_image img = {0, 0, NULL};
        el_status rc = el_source_read(s, &img, NULL);
        assert_true(rc != EL_OK && rc != EL_ERR_END);
        assert_non_null(strstr(el_last_error(), "no image in the directory could be read"));
        assert_null(img.rgb);
        el_source_close(s);
    }

    /* A single image that is not one. */
    snprintf(p, sizeof p, "%s/fake.png", g_dir);
    assert_int_equal(el_test_write_file(p, "GIF89a....", 10), 0);
    assert_int_equal(el_source_open(p, &o, &s), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), p));
    snprintf(p, sizeof p, "%s/missing.jpg", g_dir);
    assert_int_equal(el_source_open(p, &o, &s), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), p));
}

/* ------------------------------------------------------ hostile input */

static void test_bad_arguments(void **state)
{
    (void)state;
    el_source *s = (el_source *)1;
    el_source_opts o = {.fps = -1};
    assert_int_equal(el_source_open(NULL, NULL, &s), EL_ERR_INVALID_ARG);
    assert_null(s);
    assert_int_equal(el_source_open("", NULL, &s), EL_ERR_INVALID_ARG);
    assert_int_equal(el_source_open(g_mjpeg, NULL, NULL), EL_ERR_INVALID_ARG);
    assert_int_equal(el_source_open(g_mjpeg, &o, &s), EL_ERR_INVALID_ARG);
    o.fps = 0.0 / 0.0;
    assert_int_equal(el_source_open(g_mjpeg, &o, &s), EL_ERR_INVALID_ARG);
    char *huge = malloc(10000);
    assert_non_null(huge);
    memset(huge, 'a', 9999);
    huge[9999] = '\0';
    assert_int_equal(el_source_open(huge, NULL, &s), EL_ERR_INVALID_ARG);
    free(huge);
    el_image img = {0, 0, NULL};
    double pts = 5;
    assert_int_equal(el_source_read(NULL, &img, &pts), EL_ERR_INVALID_ARG);
    assert_true(pts == 0);
    assert_string_equal(el_source_uri(NULL), "");
    assert_true(el_source_fps(NULL) == 0);
    el_source_close(NULL);

    /* NULL opts: defaults (no loop, not realtime). */
    assert_int_equal(el_source_open(g_mjpeg, NULL, &s), EL_OK);
    assert_int_equal(el_source_read(s, &img, NULL), EL_OK);
    assert_int_equal(el_source_read(s, NULL, NULL), EL_ERR_INVALID_ARG);
    el_image_free(&img);
    el_source_close(s);
}

static void test_nonexistent_and_not_video(void **state)
{
    (void)state;
    el_source *s = (el_source *)1;
    char p[400];
    snprintf(p, sizeof p, "%s/no-such-video.mp4", g_dir);
    assert_int_equal(el_source_open(p, NULL, &s), EL_ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(el_last_error(), p));
    assert_non_null(strstr(el_last_error(), "No such file"));

    snprintf(p, sizeof p, "%s/text.avi", g_dir);
    const char *text = "This is not a video, only some text that happens to be named .avi\n";
    assert_int_equal(el_test_write_file(p, text, strlen(text)), 0);
    el_status rc = el_source_open(p, NULL, &s);
    assert_true(rc == EL_ERR_FORMAT || rc == EL_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(el_last_error(), p));

    snprintf(p, sizeof p, "%s/empty.mkv", g_dir);
    assert_int_equal(el_test_write_file(p, "", 0), 0);
    rc = el_source_open(p, NULL, &s);
    assert_true(rc != EL_OK);
    assert_non_null(strstr(el_last_error(), p));
}

/* Reads until a non-OK status; it must come within `max` frames. */
static el_status drain(el_source *s, int max, int *frames)
{
    el_image img = {0, 0, NULL};
    el_status rc = EL_OK;
    int n = 0;
    while (n <= max && (rc = el_source_read(s, &img, NULL)) == EL_OK) n++;
    el_image_free(&img);
    *frames = n;
    return rc;
}

static void test_truncated_and_corrupt_video(void **state)
{
    (void)state;
    const char *srcs[2] = {g_mjpeg, g_mpeg4};
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        char *data = read_all(srcs[k], &len);
        char p[400];
        const char *ext = k == 0 ? "avi" : "mkv";
        /* Cut at several points, from inside the header to near the end. */
        const double cuts[5] = {0.02, 0.1, 0.33, 0.5, 0.9};
        for (int c = 0; c < 5; c++) {
            snprintf(p, sizeof p, "%s/cut%d.%s", g_dir, c, ext);
            assert_int_equal(el_test_write_file(p, data, (size_t)(len * cuts[c])), 0);
            for (int loop = 0; loop < 2; loop++) {
                el_source_opts o = {.loop = loop};
                el_source *s = NULL;
                el_status rc = el_source_open(p, &o, &s);
                if (rc != EL_OK) {
                    assert_non_null(strstr(el_last_error(), p));
                    continue;
                }
                int n = 0;
                if (!loop) {
                    rc = drain(s, 1000, &n);
                    assert_true(rc != EL_OK);
                    assert_true(n <= 30);
                } else {
                    /* Looping a damaged file keeps giving frames or fails;
                     * it never hangs. */
                    rc = drain(s, 100, &n);
                }
                el_source_close(s);
            }
        }
        /* Garbage over the middle of the file: damaged frames are skipped,
         * the rest plays, the end is reached. */
        for (size_t i = len / 3; i < len / 3 + len / 4; i++) data[i] = (char)(i * 2654435761u >> 13);
        snprintf(p, sizeof p, "%s/corrupt.%s", g_dir, ext);
        assert_int_equal(el_test_write_file(p, data, len), 0);
        el_source *s = NULL;
        if (el_source_open(p, NULL, &s) == EL_OK) {
            int n = 0;
            el_status rc = drain(s, 1000, &n);
            assert_true(rc != EL_OK);
            assert_true(n <= 30);
            el_source_close(s);
        }
        free(data);
    }
}

static void test_unreachable_network(void **state)
{
    (void)state;
    const char *uris[3] = {"rtsp://127.0.0.1:1/x", "http://127.0.0.1:1/stream.mjpg", "tcp://127.0.0.1:1"};
    for (int i = 0; i < 3; i++) {
        el_source *s = (el_source *)1;
        double t0 = now_ms();
        el_status rc = el_source_open(uris[i], NULL, &s);
        double dt = now_ms() - t0;
        assert_true(rc != EL_OK);
        assert_null(s);
        assert_non_null(strstr(el_last_error(), uris[i]));
        if (dt > 3000) fail_msg("%s: failing took %.0f ms", uris[i], dt);
    }
}

/* ------------------------------------------------------------- V4L2 */

static void test_v4l2_errors(void **state)
{
    (void)state;
    el_source *s = (el_source *)1;
    assert_int_equal(el_source_open("/dev/video99", NULL, &s), EL_ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(el_last_error(), "/dev/video99"));
    assert_non_null(strstr(el_last_error(), "cannot open camera"));

    /* /dev/null is a character device but no camera. */
    el_status rc = el_source_open("/dev/null", NULL, &s);
    assert_int_equal(rc, EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "not a V4L2 video device"));

    /* A regular file named like a device, handed to the V4L2 backend. */
    char p[400];
    snprintf(p, sizeof p, "%s/video0", g_dir);
    assert_int_equal(el_test_write_file(p, "\0\0\0\0", 4), 0);
    el_source *raw = calloc(1, sizeof *raw);
    assert_non_null(raw);
    raw->uri = p;
    assert_int_equal(el_source_open_v4l2(raw), EL_ERR_INVALID_ARG);
    assert_null(raw->impl);
    assert_non_null(strstr(el_last_error(), "not a character device"));
    assert_non_null(strstr(el_last_error(), p));
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuyv_to_rgb),
        cmocka_unit_test(test_generated_mjpeg_full_range),
        cmocka_unit_test(test_generated_mpeg4_limited_range),
        cmocka_unit_test(test_loop_restarts),
        cmocka_unit_test(test_realtime_pacing),
        cmocka_unit_test(test_vtest_avi),
        cmocka_unit_test(test_vtest_avi_to_end),
        cmocka_unit_test(test_single_image),
        cmocka_unit_test(test_image_dir),
        cmocka_unit_test(test_image_dir_errors),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_nonexistent_and_not_video),
        cmocka_unit_test(test_truncated_and_corrupt_video),
        cmocka_unit_test(test_unreachable_network),
        cmocka_unit_test(test_v4l2_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
