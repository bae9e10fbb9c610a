/* tools/gen_ssd_mobilenet_v1_coco.py: the generated full-size SSD MobileNet
 * v1 COCO-shaped graph has the real model's shape (47 convolutions, 1.237 G
 * multiply-adds, 6 feature maps, 1917 anchors, 91 classes) and runs end to
 * end in the engine with the OD API signature and output shapes.
 *
 * Needs python3 and the shared voc graph (the generator's template for the
 * pre- and post-processing loops); skips without them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "edgelens/detect.h"
#include "edgelens/engine.h"
#include "testutil.h"

static char el_gen_dir[256];
static cJSON *el_gen_summary;

/* Runs the generator once for the whole program; its --json summary line
 * is kept for the shape checks. */
static int el_gen_run(const char *script, const char *tmpl)
{
    if (!el_test_tmpdir(el_gen_dir, sizeof el_gen_dir)) return -1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "python3 '%s' --template '%s' -o '%s' --json", script, tmpl, el_gen_dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    static char line[1 << 16];
    size_t n = fread(line, 1, sizeof line - 1, p);
    line[n] = '\0';
    int rc = pclose(p);
    if (rc != 0) {
        fprintf(stderr, "generator failed (%d): %s\n", rc, line);
        return -1;
    }
    el_gen_summary = cJSON_Parse(line);
    return el_gen_summary ? 0 : -1;
}

static void el_gen_cleanup(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/frozen_inference_graph.pb", el_gen_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/mscoco_label_map.pbtxt", el_gen_dir);
    unlink(path);
    rmdir(el_gen_dir);
    cJSON_Delete(el_gen_summary);
}

static void test_generated_shape(void **state)
{
    (void)state;
    const cJSON *j = el_gen_summary;
    assert_int_equal(cJSON_GetObjectItem(j, "convolutions")->valueint, 47);
    /* ssd_mobilenet_v1_coco's convolutions at 300x300 */
    assert_true(cJSON_GetObjectItem(j, "multiply_adds")->valuedouble == 1237129408.0);
    assert_int_equal(cJSON_GetObjectItem(j, "anchors")->valueint, 1917);
    assert_int_equal(cJSON_GetObjectItem(j, "classes")->valueint, 91);
    const char *want[] = {"19x19x512", "10x10x1024", "5x5x512", "3x3x256", "2x2x256", "1x1x128"};
    const cJSON *fm = cJSON_GetObjectItem(j, "feature_maps");
    assert_int_equal(cJSON_GetArraySize(fm), 6);
    for (int i = 0; i < 6; i++) assert_string_equal(cJSON_GetArrayItem(fm, i)->valuestring, want[i]);
    const cJSON *ops = cJSON_GetObjectItem(j, "ops");
    assert_int_equal(cJSON_GetObjectItem(ops, "Conv2D")->valueint, 34);
    assert_int_equal(cJSON_GetObjectItem(ops, "DepthwiseConv2dNative")->valueint, 13);
    /* one NMS per class in the unrolled per-class loop body */
    assert_int_equal(cJSON_GetObjectItem(ops, "NonMaxSuppressionV3")->valueint, 90);
    assert_int_equal(cJSON_GetObjectItem(ops, "TensorArrayV3")->valueint, 11);
    assert_int_equal(cJSON_GetObjectItem(ops, "ResizeBilinear")->valueint, 1);
}

/* A deterministic RGB gradient, not a multiple of 300 in either side, so
 * the in-graph resize does real work. */
static void el_gen_image(el_image *img, int w, int h)
{
    img->width = w;
    img->height = h;
    img->rgb = malloc((size_t)w * h * 3);
    assert_non_null(img->rgb);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(x * 255 / (w - 1));
            p[1] = (unsigned char)(y * 255 / (h - 1));
            p[2] = (unsigned char)((x * 7 + y * 13) & 255);
        }
}

static void test_session_outputs(void **state)
{
    (void)state;
    char pb[512];
    snprintf(pb, sizeof pb, "%s/frozen_inference_graph.pb", el_gen_dir);
    el_graph *g = NULL;
    assert_int_equal(el_graph_load(pb, &g), EL_OK);
    const char *feeds[] = {"image_tensor"};
    const char *fetches[] = {"detection_boxes", "detection_scores", "detection_classes", "num_detections"};
    el_session *s = NULL;
    el_status st = el_session_create(g, 1, feeds, 4, fetches, NULL, &s);
    if (st != EL_OK) fprintf(stderr, "%s\n", el_last_error());
    assert_int_equal(st, EL_OK);

    el_image img;
    el_gen_image(&img, 160, 120);
    el_tensor in;
    int64_t dims[4] = {1, img.height, img.width, 3};
    assert_int_equal(el_tensor_wrap(&in, EL_DT_UINT8, 4, dims, img.rgb), EL_OK);
    el_tensor out[4];
    st = el_session_run(s, &in, out);
    if (st != EL_OK) fprintf(stderr, "%s\n", el_last_error());
    assert_int_equal(st, EL_OK);

    el_test_assert_shape(&out[0], 3, (int64_t[]){1, 100, 4});
    el_test_assert_shape(&out[1], 2, (int64_t[]){1, 100});
    el_test_assert_shape(&out[2], 2, (int64_t[]){1, 100});
    el_test_assert_shape(&out[3], 1, (int64_t[]){1});
    for (int i = 0; i < 4; i++) assert_int_equal(out[i].dtype, EL_DT_FLOAT);
    const float *boxes = out[0].data, *scores = out[1].data, *classes = out[2].data;
    /* Random weights: every one of the 1917 x 90 candidates has a score
     * above the 1e-8 filter, so the 100 slots fill up. */
    assert_true(*(const float *)out[3].data == 100.0f);
    int distinct_scores = 0;
    for (int i = 0; i < 100; i++) {
        assert_true(scores[i] > 0.0f && scores[i] < 1.0f);
        if (i > 0) assert_true(scores[i] <= scores[i - 1]);
        if (i > 0 && scores[i] != scores[i - 1]) distinct_scores++;
        float c = classes[i];
        assert_true(c >= 1.0f && c <= 90.0f && c == floorf(c));
        for (int k = 0; k < 4; k++) assert_true(boxes[4 * i + k] >= 0.0f && boxes[4 * i + k] <= 1.0f);
        assert_true(boxes[4 * i + 0] <= boxes[4 * i + 2] && boxes[4 * i + 1] <= boxes[4 * i + 3]);
    }
    assert_true(distinct_scores > 50);
    for (int i = 0; i < 4; i++) el_tensor_release(&out[i]);
    el_tensor_release(&in);
    el_session_free(s);
    el_graph_free(g);
    el_image_free(&img);
}

static void test_detector(void **state)
{
    (void)state;
    el_detector *d = NULL;
    el_status st = el_detector_open(el_gen_dir, NULL, &(el_detector_opts){.threads = 0}, &d);
    if (st != EL_OK) fprintf(stderr, "%s\n", el_last_error());
    assert_int_equal(st, EL_OK);
    el_image img;
    el_gen_image(&img, 200, 150);
    el_detection *dets = NULL;
    int n = -1;
    st = el_detector_run(d, &img, 0.0f, &dets, &n, NULL);
    if (st != EL_OK) fprintf(stderr, "%s\n", el_last_error());
    assert_int_equal(st, EL_OK);
    assert_int_equal(n, 100);
    for (int i = 0; i < n; i++) {
        assert_true(dets[i].class_id >= 1 && dets[i].class_id <= 90);
        /* the generated label map names all 90 COCO ids */
        assert_non_null(dets[i].label);
    }
    free(dets);
    el_image_free(&img);
    el_detector_free(d);
}

int main(void)
{
    char tmpl[512], script[1024];
    if (!el_test_shared("models/ssd_mobilenet_v1_voc/frozen_inference_graph.pb", tmpl, sizeof tmpl))
        EL_TEST_SKIP_ALL("../shared/models/ssd_mobilenet_v1_voc (the generator's template) is absent");
    if (system("python3 -c 'import struct, random' >/dev/null 2>&1") != 0) EL_TEST_SKIP_ALL("python3 is missing");
    const char *src = getenv("EL_SOURCE_DIR");
    snprintf(script, sizeof script, "%s/tools/gen_ssd_mobilenet_v1_coco.py", src ? src : ".");
    if (access(script, R_OK) != 0) EL_TEST_SKIP_ALL("tools/gen_ssd_mobilenet_v1_coco.py not found (EL_SOURCE_DIR)");
    if (el_gen_run(script, tmpl) != 0) {
        fprintf(stderr, "generator did not run\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_shape),
        cmocka_unit_test(test_session_outputs),
        cmocka_unit_test(test_detector),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    el_gen_cleanup();
    return rc;
}
