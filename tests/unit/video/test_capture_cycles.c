/* Many capture start / stop cycles, stopping at whatever moment the capture
 * thread has reached (reading, pacing, swapping a frame in, waiting for an
 * unpaced consumer, at the end of the input), with the consumer's frame
 * freed before or after the stop. Every image buffer the thread reserved
 * must be freed by then: under AddressSanitizer the leak check at exit
 * fails the test otherwise. Sources: one image paced at 1000 fps, a
 * directory read unpaced, a raw MJPEG file through FFmpeg, looping and not. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "edgelens/image.h"
#include "video/capture.h"
#include "video/source.h"

static char g_dir[256], g_img[300], g_seq[300], g_mjpeg[300];

static uint32_t g_rng = 2024;
static uint32_t rnd(uint32_t n)
{
    g_rng = g_rng * 1664525u + 1013904223u;
    return (g_rng >> 8) % n;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static el_image solid(int w, int h, uint8_t v)
{
    el_image img = {w, h, malloc((size_t)w * h * 3)};
    assert_non_null(img.rgb);
    memset(img.rgb, v, (size_t)w * h * 3);
    return img;
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(el_test_tmpdir(g_dir, sizeof g_dir));
    snprintf(g_img, sizeof g_img, "%s/one.jpg", g_dir);
    el_image img = solid(48, 32, 90);
    assert_int_equal(el_image_write_jpeg(g_img, &img, 90), EL_OK);
    el_image_free(&img);
    /* Frames of different sizes: the thread's buffers are reallocated as
     * well as reused. */
    snprintf(g_seq, sizeof g_seq, "%s/seq", g_dir);
    assert_int_equal(mkdir(g_seq, 0755), 0);
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%d.jpg", g_seq, i);
        img = solid(16 + 16 * i, 16, (uint8_t)(40 * i));
        assert_int_equal(el_image_write_jpeg(p, &img, 90), EL_OK);
        el_image_free(&img);
    }
    /* Raw MJPEG: JPEG images back to back, which FFmpeg's mjpeg demuxer reads. */
    snprintf(g_mjpeg, sizeof g_mjpeg, "%s/clip.mjpeg", g_dir);
    FILE *f = fopen(g_mjpeg, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4; i++) {
        img = solid(64, 48, (uint8_t)(60 * i));
        unsigned char *jpg = NULL;
        size_t n = 0;
        assert_int_equal(el_image_encode_jpeg(&img, 90, &jpg, &n), EL_OK);
        assert_int_equal(fwrite(jpg, 1, n, f), n);
        free(jpg);
        el_image_free(&img);
    }
    assert_int_equal(fclose(f), 0);
    return 0;
}

/* `cycles` captures of uri with opts; each takes 0-2 frames (of width
 * `width`, or any width when 0) and stops after 0-3 ms. */
static void cycles(const char *uri, el_source_opts o, int cycles, int width)
{
    uint64_t captured = 0, taken = 0;
    for (int i = 0; i < cycles; i++) {
        el_source *s = NULL;
        if (el_source_open(uri, &o, &s) != EL_OK) fail_msg("%s", el_last_error());
        el_capture *c = NULL;
        assert_int_equal(el_capture_start(s, &c), EL_OK);
        el_image frame = {0, 0, NULL};
        int want = (int)rnd(3);
        for (int k = 0; k < want; k++) {
            el_status rc = el_capture_next(c, &frame, NULL, (int)rnd(3));
            if (rc == EL_OK && width) assert_int_equal(frame.width, width);
            if (rc != EL_OK && rc != EL_ERR_TIMEOUT && rc != EL_ERR_END) fail_msg("%s", el_last_error());
        }
        long wait = (long)rnd(3000);
        if (wait) sleep_us(wait);
        el_capture_stats st;
        el_capture_get_stats(c, &st);
        assert_true(st.captured >= st.taken + st.dropped);
        captured += st.captured;
        taken += st.taken;
        /* The consumer's frame is its own, whether the capture is still running or not. */
        if (rnd(2)) {
            el_image_free(&frame);
            el_capture_stop(c);
        } else {
            el_capture_stop(c);
            el_image_free(&frame);
        }
    }
    fprintf(stderr, "%s: %d cycles, %llu frames captured, %llu taken\n", uri, cycles, (unsigned long long)captured,
            (unsigned long long)taken);
}

static void test_paced_image(void **state)
{
    (void)state;
    cycles(g_img, (el_source_opts){.loop = true, .realtime = true, .fps = 1000}, 150, 48);
}

static void test_unpaced_directory(void **state)
{
    (void)state;
    cycles(g_seq, (el_source_opts){.loop = true}, 150, 0);
    cycles(g_seq, (el_source_opts){0}, 100, 0);
}

static void test_ffmpeg_file(void **state)
{
    (void)state;
    cycles(g_mjpeg, (el_source_opts){.loop = true}, 40, 64);
    cycles(g_mjpeg, (el_source_opts){.realtime = true, .fps = 1000}, 40, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paced_image),
        cmocka_unit_test(test_unpaced_directory),
        cmocka_unit_test(test_ffmpeg_file),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
