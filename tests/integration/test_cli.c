/* The edgelens command line end to end: detect (table, JSON, annotate,
 * packages), inspect, eval, and its errors on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "edgelens/image.h"
#include "format/npy.h"
#include "testutil.h"

static char el_model[1024], el_dog[1024], el_tmp[256];

static const char *el_bin(void) { return getenv("EL_BIN"); }

static void test_detect_json(void **state)
{
    (void)state;
    char *out;
    int rc = el_test_sh(&out, true, "%s detect --model %s --json %s", el_bin(), el_model, el_dog);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "image")->valuestring, el_dog);
    assert_int_equal(cJSON_GetObjectItem(j, "width")->valueint, 768);
    assert_int_equal(cJSON_GetObjectItem(j, "height")->valueint, 576);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "inference_ms")));
    cJSON *dets = cJSON_GetObjectItem(j, "detections");
    assert_int_equal(cJSON_GetArraySize(dets), 2);
    cJSON *d0 = cJSON_GetArrayItem(dets, 0);
    assert_int_equal(cJSON_GetObjectItem(d0, "class_id")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(d0, "label")->valuestring, "dog");
    double score = cJSON_GetObjectItem(d0, "score")->valuedouble;
    assert_true(score > 0.74 && score < 0.76);
    cJSON *box = cJSON_GetObjectItem(d0, "box");
    assert_int_equal(cJSON_GetArraySize(box), 4);
    assert_true(fabs(cJSON_GetArrayItem(box, 0)->valuedouble - 0.344041) < 0.005);
    /* Sorted by score, descending. */
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(dets, 1), "score")->valuedouble <= score);
    cJSON_Delete(j);
    free(out);
    /* A lower threshold yields more, and the table form names the labels. */
    rc = el_test_sh(&out, true, "%s detect --model %s --threshold 0.15 %s", el_bin(), el_model, el_dog);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "dog"));
    assert_non_null(strstr(out, "person"));
    free(out);
}

static void test_detect_annotate_and_package(void **state)
{
    (void)state;
    char *out, ann[512], tgz[512];
    snprintf(ann, sizeof ann, "%s/dog-annotated.jpg", el_tmp);
    int rc = el_test_sh(&out, true, "%s detect --model %s --annotate %s %s", el_bin(), el_model, ann, el_dog);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    el_image img;
    assert_int_equal(el_image_load(ann, &img), EL_OK);
    assert_int_equal(img.width, 768);
    assert_int_equal(img.height, 576);
    el_image_free(&img);
    /* The guide's tfmodel.tar.gz. */
    snprintf(tgz, sizeof tgz, "%s/tfmodel.tar.gz", el_tmp);
    rc = el_test_sh(&out, true, "tar -C %s -czf %s frozen_inference_graph.pb label_map.pbtxt", el_model, tgz);
    assert_int_equal(rc, 0);
    free(out);
    rc = el_test_sh(&out, true, "%s detect --model %s --json %s", el_bin(), tgz, el_dog);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "\"label\":\"dog\""));
    free(out);
    /* A bare .pb with --labels. */
    rc = el_test_sh(&out, true, "%s detect --model %s/frozen_inference_graph.pb --labels %s/label_map.pbtxt --json %s", el_bin(),
               el_model, el_model, el_dog);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"label\":\"dog\""));
    free(out);
}

static void test_errors(void **state)
{
    (void)state;
    char *out, bad[512];
    /* A corrupt JPEG: named in the message, non-zero exit. */
    snprintf(bad, sizeof bad, "%s/corrupt.jpg", el_tmp);
    int rc = el_test_sh(&out, true, "head -c 5000 %s > %s", el_dog, bad);
    free(out);
    rc = el_test_sh(&out, true, "%s detect --model %s %s", el_bin(), el_model, bad);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "corrupt.jpg"));
    free(out);
    /* Random bytes as a graph. */
    snprintf(bad, sizeof bad, "%s/random.pb", el_tmp);
    rc = el_test_sh(&out, true, "head -c 4096 /dev/urandom > %s", bad);
    free(out);
    rc = el_test_sh(&out, true, "%s detect --model %s %s", el_bin(), bad, el_dog);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "random.pb"));
    free(out);
    /* Usage errors. */
    rc = el_test_sh(&out, true, "%s detect", el_bin());
    assert_int_equal(rc, 2);
    free(out);
    /* Without --model: the default model once scripts/setup installed it
     * (CenterNet, COCO-80: a car in dog.jpg), else a message saying how. */
    rc = el_test_sh(&out, true, "%s detect --json %s", el_bin(), el_dog);
    if (rc == 0) {
        assert_non_null(strstr(out, "\"label\":\"car\""));
    } else {
        assert_int_equal(rc, 1);
        assert_non_null(strstr(out, "scripts/setup"));
    }
    free(out);
    rc = el_test_sh(&out, true, "%s nosuchcommand", el_bin());
    assert_int_equal(rc, 2);
    free(out);
    rc = el_test_sh(&out, true, "%s detect --model %s --threshold 7 %s", el_bin(), el_model, el_dog);
    assert_int_equal(rc, 2);
    free(out);
}

static void test_inspect(void **state)
{
    (void)state;
    char *out;
    int rc = el_test_sh(&out, true, "%s inspect %s", el_bin(), el_model);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "image_tensor"));
    assert_non_null(strstr(out, "[1,256,256,3]"));
    assert_non_null(strstr(out, "detection_boxes"));
    assert_non_null(strstr(out, "[1,100,4]"));
    assert_non_null(strstr(out, "TensorArrayV3"));
    assert_non_null(strstr(out, "parameters:"));
    assert_non_null(strstr(out, "while-loop frames: 2"));
    free(out);
}

static void test_eval(void **state)
{
    (void)state;
    char *out, in[512], res[512];
    snprintf(in, sizeof in, "%s/input.npy", el_tmp);
    el_image img, rs;
    assert_int_equal(el_image_load(el_dog, &img), EL_OK);
    assert_int_equal(el_image_resize_bilinear(&img, 256, 256, &rs), EL_OK);
    int64_t dims[4] = {1, 256, 256, 3};
    el_tensor t;
    assert_int_equal(el_tensor_wrap(&t, EL_DT_UINT8, 4, dims, rs.rgb), EL_OK);
    assert_int_equal(el_npy_write(in, &t), EL_OK);
    el_tensor_release(&t);
    el_image_free(&rs);
    el_image_free(&img);
    int rc = el_test_sh(&out, true, "%s eval %s/frozen_inference_graph.pb --feed image_tensor=%s --fetch num_detections "
                         "--fetch detection_scores:0 --fetch Preprocessor/sub -o %s",
                   el_bin(), el_model, in, el_tmp);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    snprintf(res, sizeof res, "%s/detection_scores_0.npy", el_tmp);
    assert_int_equal(el_npy_read(res, &t), EL_OK);
    assert_int_equal(t.dtype, EL_DT_FLOAT);
    assert_int_equal(el_tensor_numel(&t), 100);
    assert_true(fabsf(((float *)t.data)[0] - 0.751207f) < 0.01f);
    el_tensor_release(&t);
    snprintf(res, sizeof res, "%s/Preprocessor_sub.npy", el_tmp);
    assert_int_equal(el_npy_read(res, &t), EL_OK);
    assert_int_equal(el_tensor_numel(&t), 256 * 256 * 3);
    el_tensor_release(&t);
    /* An unknown fetch is named. */
    rc = el_test_sh(&out, true, "%s eval %s/frozen_inference_graph.pb --feed image_tensor=%s --fetch no/such/node", el_bin(),
               el_model, in);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "no/such/node"));
    free(out);
}

int main(void)
{
    if (!el_bin()) EL_TEST_SKIP_ALL("EL_BIN not set");
    if (!el_test_shared("models/ssd_mobilenet_v1_aiy_person_cat_dog", el_model, sizeof el_model))
        EL_TEST_SKIP_ALL("../shared/models absent");
    if (!el_test_data("darknet/dog.jpg", el_dog, sizeof el_dog)) EL_TEST_SKIP_ALL("darknet photos absent (scripts/setup)");
    if (!el_test_tmpdir(el_tmp, sizeof el_tmp)) EL_TEST_SKIP_ALL("no temporary directory");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_json), cmocka_unit_test(test_detect_annotate_and_package),
        cmocka_unit_test(test_errors), cmocka_unit_test(test_inspect), cmocka_unit_test(test_eval),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char *out;
    el_test_sh(&out, true, "rm -rf %s", el_tmp);
    free(out);
    return rc;
}
