/* The shared TF1 graphs against the reference implementation's outputs
 * (../shared/reference/README.md): same decoded pixels, same resized input,
 * and every reference detection at or above the threshold matched by one of
 * ours (same class, |score diff| <= 0.01, IoU >= 0.98), nothing extra. In
 * fp32, and in bf16x3 where the CPU has AMX (that precision promises the
 * same rule; edgelens/engine.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "edgelens/detect.h"
#include "testutil.h"

typedef struct el_ref_model {
    const char *json;
    const char *model_dir;
    float threshold;
} el_ref_model;

static const el_ref_model el_ref_models[] = {
    {"reference/aiy.json", "models/ssd_mobilenet_v1_aiy_person_cat_dog", 0.3f},
    {"reference/voc.json", "models/ssd_mobilenet_v1_voc", 0.05f},
};

typedef struct el_refdet {
    int cls;
    float score;
    float box[4];
} el_refdet;

/* The reference's full raw outputs (all num_detections of them). */
static int el_ref_raw(const cJSON *img, el_refdet **out)
{
    const cJSON *outs = cJSON_GetObjectItem(img, "outputs"), *o;
    const cJSON *boxes = NULL, *scores = NULL, *classes = NULL, *num = NULL;
    cJSON_ArrayForEach(o, outs)
    {
        const char *name = cJSON_GetObjectItem(o, "name")->valuestring;
        const cJSON *v = cJSON_GetObjectItem(o, "values");
        if (!strcmp(name, "detection_boxes")) boxes = v;
        if (!strcmp(name, "detection_scores")) scores = v;
        if (!strcmp(name, "detection_classes")) classes = v;
        if (!strcmp(name, "num_detections")) num = v;
    }
    assert_non_null(boxes);
    assert_non_null(scores);
    assert_non_null(classes);
    assert_non_null(num);
    int n = (int)cJSON_GetArrayItem(num, 0)->valuedouble;
    el_refdet *r = calloc((size_t)n + 1, sizeof *r);
    for (int i = 0; i < n; i++) {
        r[i].cls = (int)lround(cJSON_GetArrayItem(classes, i)->valuedouble);
        r[i].score = (float)cJSON_GetArrayItem(scores, i)->valuedouble;
        for (int k = 0; k < 4; k++) r[i].box[k] = (float)cJSON_GetArrayItem(boxes, 4 * i + k)->valuedouble;
    }
    *out = r;
    return n;
}

static bool el_matches(int cls, float score, const float *box, int cls2, float score2, const float *box2)
{
    return cls == cls2 && fabsf(score - score2) <= 0.01f && el_test_iou(box, box2) >= 0.98f;
}

static void el_check_model(const el_ref_model *m, el_precision prec)
{
    char jpath[1024], mpath[1024], ipath[1024], rel[256];
    if (!el_test_shared(m->json, jpath, sizeof jpath) || !el_test_shared(m->model_dir, mpath, sizeof mpath)) {
        skip();
        return;
    }
    if (el_precision_check(prec) != EL_OK) {
        printf("%s\n", el_last_error());
        skip();
        return;
    }
    cJSON *ref = el_test_load_json(jpath);
    el_detector *det;
    el_detector_opts o = {.precision = prec};
    if (el_detector_open(mpath, NULL, &o, &det) != EL_OK) fail_msg("open %s: %s", mpath, el_last_error());
    int in_w, in_h, checked = 0;
    el_detector_input_size(det, &in_w, &in_h);
    const cJSON *img;
    cJSON_ArrayForEach(img, cJSON_GetObjectItem(ref, "images"))
    {
        const char *name = cJSON_GetObjectItem(img, "image")->valuestring;
        snprintf(rel, sizeof rel, "darknet/%s", name);
        if (!el_test_data(rel, ipath, sizeof ipath)) continue;
        el_image im;
        assert_int_equal(el_image_load(ipath, &im), EL_OK);
        char hex[65];
        el_test_sha256_hex(im.rgb, (size_t)im.width * im.height * 3, hex);
        assert_string_equal(hex, cJSON_GetObjectItem(img, "decoded_rgb_sha256")->valuestring);
        if (in_w > 0) {
            el_image rs;
            assert_int_equal(el_image_resize_bilinear(&im, in_w, in_h, &rs), EL_OK);
            el_test_sha256_hex(rs.rgb, (size_t)rs.width * rs.height * 3, hex);
            assert_string_equal(hex, cJSON_GetObjectItem(img, "input_sha256")->valuestring);
            el_image_free(&rs);
        }
        el_detection *d;
        int n;
        if (el_detector_run(det, &im, m->threshold, &d, &n, NULL) != EL_OK)
            fail_msg("%s on %s: %s", mpath, name, el_last_error());
        el_refdet *raw;
        int nraw = el_ref_raw(img, &raw);
        /* Every reference detection at or above the threshold is found. */
        for (int r = 0; r < nraw; r++) {
            if (raw[r].score < m->threshold) continue;
            bool found = false;
            for (int i = 0; i < n && !found; i++)
                found = el_matches(raw[r].cls, raw[r].score, raw[r].box, d[i].class_id, d[i].score, d[i].box);
            if (!found)
                fail_msg("%s: reference detection class %d score %.4f box [%.3f %.3f %.3f %.3f] not found (%d of ours)",
                         name, raw[r].cls, raw[r].score, raw[r].box[0], raw[r].box[1], raw[r].box[2], raw[r].box[3], n);
        }
        /* And nothing extra: each of ours matches some reference output. */
        for (int i = 0; i < n; i++) {
            bool found = false;
            for (int r = 0; r < nraw && !found; r++)
                found = el_matches(raw[r].cls, raw[r].score, raw[r].box, d[i].class_id, d[i].score, d[i].box);
            if (!found)
                fail_msg("%s: extra detection class %d score %.4f box [%.3f %.3f %.3f %.3f]", name, d[i].class_id,
                         d[i].score, d[i].box[0], d[i].box[1], d[i].box[2], d[i].box[3]);
        }
        free(raw);
        free(d);
        el_image_free(&im);
        checked++;
    }
    el_detector_free(det);
    cJSON_Delete(ref);
    if (checked == 0) skip();
    printf("%s (%s): %d images match the reference\n", m->model_dir, el_precision_name(prec), checked);
}

static void test_aiy(void **state)
{
    (void)state;
    el_check_model(&el_ref_models[0], EL_PRECISION_FP32);
}

static void test_voc(void **state)
{
    (void)state;
    el_check_model(&el_ref_models[1], EL_PRECISION_FP32);
}

static void test_aiy_bf16x3(void **state)
{
    (void)state;
    el_check_model(&el_ref_models[0], EL_PRECISION_BF16X3);
}

static void test_voc_bf16x3(void **state)
{
    (void)state;
    el_check_model(&el_ref_models[1], EL_PRECISION_BF16X3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aiy),
        cmocka_unit_test(test_voc),
        cmocka_unit_test(test_aiy_bf16x3),
        cmocka_unit_test(test_voc_bf16x3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
