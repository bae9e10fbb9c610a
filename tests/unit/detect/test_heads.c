/* Detection heads on small synthetic graphs written as .pb files: the
 * dispatcher's choice, the TF2 OD API output roles read from shapes (with
 * the key-order tie breaks), the fixed_shape_resizer fallback for the input
 * size, CenterNet's pixel corners and 0-based classes, FaceBoxes' int32
 * count and built-in label, the float input path (not rounded), refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/head.h"
#include "edgelens/detect.h"
#include "format/graphdef_write.h"
#include "graph_builder.h"
#include "testutil.h"

static char tmpdir[512];

static void const_f32(el_gb *b, const char *name, int ndim, const int64_t *dims, const float *vals)
{
    int n = el_gb_node(b, name, "Const", EL_NOIN);
    el_gb_attr_type(b, n, "dtype", EL_DT_FLOAT);
    el_node *nd = &b->g->nodes[n];
    el_attr *a = &nd->attrs[nd->nattrs++];
    a->name = "value";
    a->type = EL_ATTR_TENSOR;
    a->v.tensor = el_test_f32(ndim, dims, vals);
}

static void placeholder(el_gb *b, const char *name, el_dtype dt, int rank, const int64_t *dims)
{
    int n = el_gb_node(b, name, "Placeholder", EL_NOIN);
    el_gb_attr_type(b, n, "dtype", dt);
    el_gb_attr_shape(b, n, "shape", rank, dims);
}

/* Finishes the graph, writes it as <tmpdir>/<file> and opens a detector. */
static el_detector *open_graph(el_gb *b, const char *file, char *path, size_t cap)
{
    el_graph *g;
    assert_int_equal(el_gb_finish(b, &g), EL_OK);
    snprintf(path, cap, "%s/%s", tmpdir, file);
    if (el_graphdef_write(g, path) != EL_OK) fail_msg("%s", el_last_error());
    el_graph_free(g);
    el_detector *d;
    if (el_detector_open(path, NULL, NULL, &d) != EL_OK) fail_msg("open %s: %s", path, el_last_error());
    return d;
}

static el_image gray_image(int w, int h, uint8_t v)
{
    el_image im = {w, h, malloc((size_t)w * h * 3)};
    memset(im.rgb, v, (size_t)w * h * 3);
    return im;
}

static void test_od_tf2_aliases(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    int64_t in_dims[4] = {1, -1, -1, 3};
    placeholder(&b, "input_tensor", EL_DT_UINT8, 4, in_dims);
    /* The fixed_shape_resizer's resize, H 8 W 6. */
    el_gb_const_i32(&b, "map/while/Preprocessor/ResizeImage/stack", 2, (const int32_t[]){8, 6}, NULL);
    el_gb_node(&b, "map/while/Preprocessor/ResizeImage/resize/ResizeBilinear", "ResizeBilinear",
               EL_IN("input_tensor", "map/while/Preprocessor/ResizeImage/stack"));
    int64_t v3[2] = {1, 3}, m34[3] = {1, 3, 4}, one[1] = {1};
    float boxes[12] = {.1f, .2f, .3f, .4f, .5f, .5f, .9f, .9f, 0, 0, 1, 1};
    const_f32(&b, "anchors", 2, v3, (float[]){7, 8, 9});
    const_f32(&b, "boxes", 3, m34, boxes);
    const_f32(&b, "classes", 2, v3, (float[]){1.988235f, 3.0117f, 1});
    const_f32(&b, "multiclass", 3, m34, (float[]){9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
    const_f32(&b, "scores", 2, v3, (float[]){.9f, .6f, .55f});
    const_f32(&b, "num", 1, one, (float[]){2});
    const_f32(&b, "raw_boxes", 3, m34, (float[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    /* Signature order: anchor indices, boxes, classes, multiclass scores
     * (same [1,N,4] shape as the boxes: comes later), scores, num, raw. */
    const char *srcs[7] = {"anchors", "boxes", "classes", "multiclass", "scores", "num", "raw_boxes"};
    for (int i = 0; i < 7; i++) {
        char name[32];
        snprintf(name, sizeof name, i ? "Identity_%d" : "Identity", i);
        el_gb_node(&b, name, "Identity", EL_IN(srcs[i]));
    }
    char path[1024];
    el_detector *d = open_graph(&b, "tf2.pb", path, sizeof path);
    assert_string_equal(el_detector_head_name(d), "od_api");
    int w, h;
    el_detector_input_size(d, &w, &h);
    assert_int_equal(w, 6);
    assert_int_equal(h, 8);
    el_image im = gray_image(12, 16, 50);
    el_tensor in;
    assert_int_equal(el_detector_input_tensor(d, &im, &in), EL_OK);
    int64_t want[4] = {1, 8, 6, 3};
    el_test_assert_shape(&in, 4, want);
    assert_int_equal(in.dtype, EL_DT_UINT8);
    assert_int_equal(((uint8_t *)in.data)[0], 50);
    el_tensor_release(&in);

    el_detection *dets;
    int n;
    assert_int_equal(el_detector_run(d, &im, 0.5f, &dets, &n, NULL), EL_OK);
    /* num_detections is 2: the third row (0.55) is padding. */
    assert_int_equal(n, 2);
    assert_int_equal(dets[0].class_id, 2);
    assert_true(fabsf(dets[0].score - .9f) < 1e-6f);
    assert_true(fabsf(dets[0].box[3] - .4f) < 1e-6f);
    assert_null(dets[0].label);
    assert_int_equal(dets[1].class_id, 3);
    free(dets);
    assert_int_equal(el_detector_run(d, &im, 0.7f, &dets, &n, NULL), EL_OK);
    assert_int_equal(n, 1);
    free(dets);
    el_image_free(&im);
    el_detector_free(d);
    unlink(path);
}

static void test_od_tf2_four_outputs_and_errors(void **state)
{
    (void)state;
    /* Only boxes, classes, scores, num: the two [1,N] vectors are classes
     * then scores. A static Placeholder size wins. */
    el_gb b;
    el_gb_init(&b);
    int64_t in_dims[4] = {1, 4, 5, 3};
    placeholder(&b, "input_tensor", EL_DT_UINT8, 4, in_dims);
    int64_t v2[2] = {1, 2}, m24[3] = {1, 2, 4}, one[1] = {1};
    const_f32(&b, "boxes", 3, m24, (float[]){0, 0, 1, 1, 0, 0, .5f, .5f});
    const_f32(&b, "classes", 2, v2, (float[]){5, 6});
    const_f32(&b, "scores", 2, v2, (float[]){.8f, .7f});
    const_f32(&b, "num", 1, one, (float[]){2});
    el_gb_node(&b, "Identity", "Identity", EL_IN("boxes"));
    el_gb_node(&b, "Identity_1", "Identity", EL_IN("classes"));
    el_gb_node(&b, "Identity_2", "Identity", EL_IN("scores"));
    el_gb_node(&b, "Identity_3", "Identity", EL_IN("num"));
    char path[1024];
    el_detector *d = open_graph(&b, "tf2_4.pb", path, sizeof path);
    int w, h;
    el_detector_input_size(d, &w, &h);
    assert_int_equal(w, 5);
    assert_int_equal(h, 4);
    el_image im = gray_image(3, 3, 0);
    el_detection *dets;
    int n;
    assert_int_equal(el_detector_run(d, &im, 0, &dets, &n, NULL), EL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dets[0].class_id, 5);
    assert_true(fabsf(dets[0].score - .8f) < 1e-6f);
    assert_int_equal(dets[1].class_id, 6);
    free(dets);
    el_image_free(&im);
    el_detector_free(d);
    unlink(path);

    /* input_tensor with too few Identity outputs is refused by name. */
    el_gb_init(&b);
    placeholder(&b, "input_tensor", EL_DT_UINT8, 4, in_dims);
    const_f32(&b, "num", 1, one, (float[]){2});
    el_gb_node(&b, "Identity", "Identity", EL_IN("num"));
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    snprintf(path, sizeof path, "%s/few.pb", tmpdir);
    assert_int_equal(el_graphdef_write(g, path), EL_OK);
    el_graph_free(g);
    assert_int_equal(el_detector_open(path, NULL, NULL, &d), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "Identity outputs"));
    assert_null(d);
    unlink(path);

    /* A graph of no known family. */
    el_gb_init(&b);
    placeholder(&b, "x", EL_DT_FLOAT, 4, in_dims);
    el_gb_node(&b, "y", "Identity", EL_IN("x"));
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    snprintf(path, sizeof path, "%s/other.pb", tmpdir);
    assert_int_equal(el_graphdef_write(g, path), EL_OK);
    el_graph_free(g);
    assert_int_equal(el_detector_open(path, NULL, NULL, &d), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "tower_0/detections"));
    unlink(path);
}

static void test_centernet(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    int64_t in_dims[4] = {1, 2, 4, 3};
    placeholder(&b, "tower_0/images", EL_DT_FLOAT, 4, in_dims);
    int64_t dd[3] = {1, 3, 6};
    const_f32(&b, "dets", 3, dd,
              (float[]){1, 0.5f, 3, 2, .8f, 16, 0, 0, 4, 2, .2f, 0, 0, 0, 4, 2, .9f, NAN});
    el_gb_node(&b, "tower_0/detections", "Identity", EL_IN("dets"));
    char path[1024];
    el_detector *d = open_graph(&b, "centernet.pb", path, sizeof path);
    assert_string_equal(el_detector_head_name(d), "centernet");
    /* A 2x1 image (pixels 0 and 255... here 0 and 1) resized to 4x2 without
     * rounding: TF's legacy resize samples x = 0, .5, 1, 1.5 (clamped). */
    el_image im = {2, 1, malloc(6)};
    const uint8_t px[6] = {0, 0, 0, 1, 1, 1};
    memcpy(im.rgb, px, 6);
    el_tensor in;
    assert_int_equal(el_detector_input_tensor(d, &im, &in), EL_OK);
    assert_int_equal(in.dtype, EL_DT_FLOAT);
    int64_t want[4] = {1, 2, 4, 3};
    el_test_assert_shape(&in, 4, want);
    const float *f = in.data;
    assert_true(f[0] == 0 && f[3] == 0.5f && f[6] == 1 && f[9] == 1);
    el_tensor_release(&in);

    el_detection *dets;
    int n;
    assert_int_equal(el_detector_run(d, &im, 0.5f, &dets, &n, NULL), EL_OK);
    /* The NaN-class row is skipped; corners are pixels of the 4x2 input. */
    assert_int_equal(n, 1);
    assert_int_equal(dets[0].class_id, 16);
    const float box[4] = {0.25f, 0.25f, 1.0f, 0.75f};
    for (int k = 0; k < 4; k++) assert_true(fabsf(dets[0].box[k] - box[k]) < 1e-6f);
    free(dets);
    assert_int_equal(el_detector_run(d, &im, 0.1f, &dets, &n, NULL), EL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dets[1].class_id, 0);
    free(dets);
    el_image_free(&im);
    el_detector_free(d);
    unlink(path);

    /* A CenterNet whose input size is unknown cannot place its corners. */
    el_gb_init(&b);
    int64_t dyn[4] = {1, -1, -1, 3};
    placeholder(&b, "tower_0/images", EL_DT_FLOAT, 4, dyn);
    const_f32(&b, "tower_0/detections", 3, dd, (float[18]){0});
    el_graph *g;
    assert_int_equal(el_gb_finish(&b, &g), EL_OK);
    snprintf(path, sizeof path, "%s/dyn.pb", tmpdir);
    assert_int_equal(el_graphdef_write(g, path), EL_OK);
    el_graph_free(g);
    assert_int_equal(el_detector_open(path, NULL, NULL, &d), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "static size"));
    unlink(path);
}

static void test_faceboxes(void **state)
{
    (void)state;
    el_gb b;
    el_gb_init(&b);
    int64_t in_dims[4] = {-1, -1, -1, 3};
    placeholder(&b, "image_tensor", EL_DT_UINT8, 4, in_dims);
    int64_t m24[3] = {1, 2, 4}, v2[2] = {1, 2};
    const_f32(&b, "boxes", 3, m24, (float[]){.1f, .1f, .2f, .2f, .3f, .3f, .4f, .4f});
    const_f32(&b, "scores", 2, v2, (float[]){.4f, .7f});
    el_gb_const_i32(&b, "num_boxes", 1, (const int32_t[]){2}, NULL);
    char path[1024];
    el_detector *d = open_graph(&b, "faceboxes.pb", path, sizeof path);
    assert_string_equal(el_detector_head_name(d), "faceboxes");
    int w, h;
    el_detector_input_size(d, &w, &h);
    assert_int_equal(w, 0);
    el_image im = gray_image(7, 5, 9);
    el_tensor in;
    assert_int_equal(el_detector_input_tensor(d, &im, &in), EL_OK);
    int64_t want[4] = {1, 5, 7, 3};
    el_test_assert_shape(&in, 4, want);
    el_tensor_release(&in);
    el_detection *dets;
    int n;
    assert_int_equal(el_detector_run(d, &im, 0, &dets, &n, NULL), EL_OK);
    assert_int_equal(n, 2);
    /* Sorted by score; every detection is class 1 "face". */
    assert_true(fabsf(dets[0].score - .7f) < 1e-6f);
    assert_int_equal(dets[0].class_id, 1);
    assert_string_equal(dets[0].label, "face");
    assert_true(fabsf(dets[1].box[0] - .1f) < 1e-6f);
    free(dets);
    el_image_free(&im);
    el_detector_free(d);
    unlink(path);
}

static void test_default_model(void **state)
{
    (void)state;
    char buf[4096];
    setenv("EDGELENS_MODEL", "/nonexistent/model", 1);
    assert_int_equal(el_detector_default_model(buf, sizeof buf), EL_OK);
    assert_string_equal(buf, "/nonexistent/model");
    el_detector *d;
    assert_int_not_equal(el_detector_open(NULL, NULL, NULL, &d), EL_OK);
    assert_non_null(strstr(el_last_error(), "/nonexistent/model"));
    unsetenv("EDGELENS_MODEL");
    /* Without the variable: the installed default, or a message saying how
     * to install it. */
    el_status s = el_detector_default_model(buf, sizeof buf);
    if (s == EL_OK) assert_non_null(strstr(buf, "centernet"));
    else assert_non_null(strstr(el_last_error(), "scripts/setup"));
}

int main(void)
{
    el_test_tmpdir(tmpdir, sizeof tmpdir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_od_tf2_aliases),
        cmocka_unit_test(test_od_tf2_four_outputs_and_errors),
        cmocka_unit_test(test_centernet),
        cmocka_unit_test(test_faceboxes),
        cmocka_unit_test(test_default_model),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    return rc;
}
