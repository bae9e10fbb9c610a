/* Box and tag drawing: pixels change where expected, nothing outside the
 * image is touched, hostile boxes do not crash. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/annotate.h"

static el_image blank(int w, int h)
{
    el_image img = {w, h, calloc((size_t)w * h, 3)};
    assert_non_null(img.rgb);
    return img;
}

static const uint8_t *px(const el_image *img, int x, int y) { return img->rgb + ((size_t)y * img->width + x) * 3; }

static int is_black(const el_image *img, int x, int y)
{
    const uint8_t *p = px(img, x, y);
    return p[0] == 0 && p[1] == 0 && p[2] == 0;
}

static void test_tag_text(void **state)
{
    (void)state;
    char buf[128];
    el_detection d = {.class_id = 3, .label = "dog", .score = 0.874f};
    assert_int_equal(el_annotate_tag_text(&d, buf, sizeof buf), 7);
    assert_string_equal(buf, "dog 87%");
    d.label = NULL;
    d.class_id = 7;
    d.score = 1.5f;
    el_annotate_tag_text(&d, buf, sizeof buf);
    assert_string_equal(buf, "class 7 100%");
    d.score = NAN;
    el_annotate_tag_text(&d, buf, sizeof buf);
    assert_string_equal(buf, "class 7 0%");
    /* Small buffer: truncated, NUL-terminated. */
    assert_int_equal(el_annotate_tag_text(&d, buf, 4), 3);
    assert_string_equal(buf, "cla");
    /* Long labels are cut. */
    char longl[200];
    memset(longl, 'x', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    d.label = longl;
    d.score = 0.5f;
    size_t n = el_annotate_tag_text(&d, buf, sizeof buf);
    assert_true(n < 60);
    assert_non_null(strstr(buf, " 50%"));
}

static void test_box_and_tag(void **state)
{
    (void)state;
    el_image img = blank(200, 160);
    /* Box from (40,48) to (160,144) in pixels. */
    el_detection d = {.class_id = 1, .label = "dog", .score = 0.87f, .box = {0.3f, 0.2f, 0.9f, 0.8f}};
    assert_int_equal(el_annotate(&img, &d, 1), EL_OK);
    /* Outline: top, bottom, left and right edges, 2 px thick. */
    assert_false(is_black(&img, 100, 48));
    assert_false(is_black(&img, 100, 49));
    assert_true(is_black(&img, 100, 50));
    assert_false(is_black(&img, 100, 143));
    assert_false(is_black(&img, 40, 100));
    assert_false(is_black(&img, 159, 100));
    assert_true(is_black(&img, 157, 100));
    /* Inside and outside stay black. */
    assert_true(is_black(&img, 100, 100));
    assert_true(is_black(&img, 10, 10));
    assert_true(is_black(&img, 199, 159));
    assert_true(is_black(&img, 100, 150));
    /* The tag sits above the box (rows 39..47 for the 5x7 font + 1 px pad),
     * starts at x=40, and holds both the fill and the text colours. */
    const uint8_t *fill = px(&img, 40, 40);
    assert_false(is_black(&img, 40, 40));
    int text_px = 0, fill_px = 0;
    for (int y = 39; y < 48; y++)
        for (int x = 40; x < 40 + 7 * 6; x++) {
            if (memcmp(px(&img, x, y), fill, 3) == 0) fill_px++;
            else text_px++;
        }
    assert_true(fill_px > 50);
    assert_true(text_px > 20);
    assert_true(is_black(&img, 40, 37)); /* nothing above the tag */
    el_image_free(&img);

    /* A box at the top edge: the tag goes inside the box. */
    img = blank(200, 160);
    d.box[0] = 0.0f;
    assert_int_equal(el_annotate(&img, &d, 1), EL_OK);
    assert_false(is_black(&img, 82, 5)); /* right padding column of the tag */
    el_image_free(&img);
}

static void test_colours_differ_by_class(void **state)
{
    (void)state;
    el_image img = blank(100, 100);
    el_detection d[2] = {
        {.class_id = 1, .score = 0.9f, .box = {0.5f, 0.1f, 0.9f, 0.4f}},
        {.class_id = 2, .score = 0.9f, .box = {0.5f, 0.6f, 0.9f, 0.9f}},
    };
    assert_int_equal(el_annotate(&img, d, 2), EL_OK);
    assert_memory_not_equal(px(&img, 10, 70), px(&img, 60, 70), 3);
    el_image_free(&img);
}

static void test_hostile_boxes(void **state)
{
    (void)state;
    el_image img = blank(64, 48);
    el_detection d[] = {
        {.class_id = 1, .score = 0.9f, .box = {-1.0f, -1.0f, -0.5f, -0.5f}},     /* above-left */
        {.class_id = 2, .score = 0.9f, .box = {1.5f, 1.5f, 2.0f, 2.0f}},         /* below-right */
        {.class_id = -5, .score = 0.9f, .box = {0.9f, 0.9f, 0.1f, 0.1f}},        /* inverted */
        {.class_id = 4, .score = 0.9f, .box = {NAN, 0.0f, 1.0f, 1.0f}},
        {.class_id = 5, .score = 0.9f, .box = {-INFINITY, -1e30f, INFINITY, 1e30f}},
        {.class_id = 6, .score = -3.0f, .box = {0.5f, 0.5f, 0.5f, 0.5f}},         /* empty */
        {.class_id = 7, .label = "\xff\x01 weird \xe2\x82\xac label that is very long indeed", .score = 0.5f,
         .box = {0.95f, 0.9f, 1.2f, 1.3f}},
    };
    /* The first two are wholly outside: nothing drawn. */
    assert_int_equal(el_annotate(&img, d, 2), EL_OK);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) assert_true(is_black(&img, x, y));
    assert_int_equal(el_annotate(&img, d, (int)(sizeof d / sizeof d[0])), EL_OK);
    el_image_free(&img);

    /* A 1x1 image. */
    img = blank(1, 1);
    el_detection all = {.class_id = 1, .label = "x", .score = 1, .box = {0, 0, 1, 1}};
    assert_int_equal(el_annotate(&img, &all, 1), EL_OK);
    assert_false(is_black(&img, 0, 0));
    el_image_free(&img);

    /* Bad arguments. */
    assert_int_equal(el_annotate(NULL, &all, 1), EL_ERR_INVALID_ARG);
    img = blank(4, 4);
    assert_int_equal(el_annotate(&img, NULL, 1), EL_ERR_INVALID_ARG);
    assert_int_equal(el_annotate(&img, &all, -1), EL_ERR_INVALID_ARG);
    assert_int_equal(el_annotate(&img, NULL, 0), EL_OK);
    el_image_free(&img);
}

static void test_large_image_uses_thicker_lines(void **state)
{
    (void)state;
    el_image img = blank(640, 480);
    el_detection d = {.class_id = 3, .label = "person", .score = 0.5f, .box = {0.5f, 0.5f, 0.75f, 0.75f}};
    assert_int_equal(el_annotate(&img, &d, 1), EL_OK);
    /* top edge at y=240: rows 240..242 */
    assert_false(is_black(&img, 400, 242));
    assert_true(is_black(&img, 400, 243));
    /* doubled font: the tag is 7*2 + 2*2 = 18 rows tall, above the box */
    assert_false(is_black(&img, 320, 240 - 18));
    assert_true(is_black(&img, 320, 240 - 19));
    el_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_text),
        cmocka_unit_test(test_box_and_tag),
        cmocka_unit_test(test_colours_differ_by_class),
        cmocka_unit_test(test_hostile_boxes),
        cmocka_unit_test(test_large_image_uses_thicker_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
