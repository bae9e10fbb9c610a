/* FFmpeg on demand (video/avlib.h): a process linked with edgelens does not
 * map FFmpeg's libraries until a source needs them (they cost about 20 MB
 * resident), then maps them once, and the FFmpeg source works through the
 * loaded table. Checked in /proc/self/maps, not by timing or RSS. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgelens/image.h"
#include "video/avlib.h"
#include "video/source.h"

/* Whether a mapping of this process names a file containing `name`. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

static void test_loaded_on_demand(void **state)
{
    (void)state;
    /* Images and the engine need no FFmpeg. */
    char dir[256], path[300];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/a.jpg", dir);
    el_image img = {64, 48, calloc(64 * 48 * 3, 1)};
    assert_non_null(img.rgb);
    assert_int_equal(el_image_write_jpeg(path, &img, 90), EL_OK);
    el_source *s = NULL;
    assert_int_equal(el_source_open(path, NULL, &s), EL_OK);
    el_image frame = {0, 0, NULL};
    assert_int_equal(el_source_read(s, &frame, NULL), EL_OK);
    el_source_close(s);
    assert_false(mapped("libavformat.so"));
    assert_false(mapped("libavcodec.so"));

    /* A video (raw MJPEG: JPEGs back to back) goes through FFmpeg. */
    snprintf(path, sizeof path, "%s/clip.mjpeg", dir);
    unsigned char *jpg = NULL;
    size_t n = 0;
    assert_int_equal(el_image_encode_jpeg(&img, 90, &jpg, &n), EL_OK);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 3; i++) assert_int_equal(fwrite(jpg, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(jpg);
    el_image_free(&img);
    if (el_source_open(path, NULL, &s) != EL_OK) fail_msg("%s", el_last_error());
    assert_true(mapped("libavformat.so"));
    assert_int_equal(el_source_read(s, &frame, NULL), EL_OK);
    assert_int_equal(frame.width, 64);
    assert_int_equal(frame.height, 48);
    el_source_close(s);
    el_image_free(&frame);

    /* One table for the process. */
    const el_av_api *a = NULL, *b = NULL;
    assert_int_equal(el_av_load(&a), EL_OK);
    assert_int_equal(el_av_load(&b), EL_OK);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_non_null(a->av_read_frame);
    char msg[128] = "";
    assert_int_equal(a->av_strerror(AVERROR_EOF, msg, sizeof msg), 0);
    assert_string_equal(msg, "End of file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loaded_on_demand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
