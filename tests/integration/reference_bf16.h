/* The reference comparison (../shared/reference/README.md) with
 * --precision bf16: the five models on the development photos, bf16
 * convolutions against the reference's fp32 outputs.
 *
 * bf16 keeps 8 significant bits, so the README's rule for an exact engine
 * (|score diff| <= 0.01, IoU >= 0.98) is not what bf16 promises. Per model
 * this prints how many reference detections still meet that rule, and the
 * worst score difference and IoU over all pairs (a reference detection and
 * our detection of the same class overlapping it most), then asserts the
 * documented bf16 bound (README, "Precision"):
 *   - every reference detection with score >= 0.3 + EL_BF16_SCORE has a
 *     bf16 detection of its class with |score diff| <= EL_BF16_SCORE and
 *     IoU >= EL_BF16_IOU;
 *   - every bf16 detection with score >= 0.3 + EL_BF16_SCORE has such a
 *     reference detection (nothing extra);
 * detections within EL_BF16_SCORE above 0.3 may appear or disappear, as a
 * score that moves by up to the bound crosses 0.3. The bound is about twice
 * the worst deviation measured on these photos (0.0153, IoU 0.9626 with
 * AMX; see README's precision section). Except for EL_BF16_MAX_MISSES
 * detections per model and kernel: CenterNet reads detections off 3x3
 * heat-map peaks, and a peak whose neighbour is within rounding of it can
 * vanish (kite.jpg: a person at 0.375 with the AVX512-BF16 kernel, kept at
 * 0.377 with AMX).
 *
 * Two programs (test_reference_bf16.c: aiy, voc, handtrack;
 * test_reference_bf16_big.c: centernet, faceboxes), so that each stays well
 * inside CTest's time limit under ASan. */
#ifndef EL_TEST_REFERENCE_BF16_H
#define EL_TEST_REFERENCE_BF16_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "edgelens/detect.h"
#include "ops/conv_bf16.h"
#include "testutil.h"

#define EL_BF16_SCORE 0.03f
#define EL_BF16_IOU 0.92f
/* The bound holds for confident detections (the README's 0.3). Below,
 * scores of neighbouring boxes differ by less than bf16 moves them (faceboxes
 * lists 100 boxes within 0.12..0.15 on person.jpg), so which of them NMS
 * keeps and which fill the top 100 changes: reported, not asserted. */
#define EL_BF16_LEVEL 0.3f
#define EL_BF16_MAX_MISSES 1
/* The reference lists detections down to 0.05. */
#define EL_LIST 0.05f

typedef struct el_bm {
    const char *name;  /* reference/<name>.json */
    const char *model; /* under ../shared, or under .data when data is set */
    bool data;
    float threshold;   /* the README's: 0.3, voc 0.05 */
} el_bm;

static const el_bm el_models[] = {
    {"aiy", "models/ssd_mobilenet_v1_aiy_person_cat_dog", false, 0.3f},
    {"voc", "models/ssd_mobilenet_v1_voc", false, 0.05f},
    {"handtrack", "human-models/handtrack.json", true, 0.3f},
    {"centernet", "human-models/centernet.json", true, 0.3f},
    {"faceboxes", "human-models/faceboxes.json", true, 0.3f},
};

typedef struct el_bstats {
    int images, refs, paired, strict_refs, strict;
    float max_sd, min_iou;
    int lost, extra; /* beyond the near-threshold band: failures */
} el_bstats;

/* The detection of class cls in d closest to (score, box) in the bound's
 * terms: least max(|score diff| / EL_BF16_SCORE, (1 - IoU) / (1 - EL_BF16_IOU)).
 * -1 when d has none of that class. */
static int el_pair(int cls, float score, const float *box, const el_detection *d, int n, float *sd, float *iou)
{
    int best = -1;
    float bk = INFINITY;
    *sd = INFINITY;
    *iou = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].class_id != cls) continue;
        float s = fabsf(d[i].score - score), o = el_test_iou(box, d[i].box);
        float k = fmaxf(s / EL_BF16_SCORE, (1 - o) / (1 - EL_BF16_IOU));
        if (k < bk) {
            bk = k;
            best = i;
            *sd = s;
            *iou = o;
        }
    }
    return best;
}

static void el_ref_det(const cJSON *r, int *cls, float *score, float *box)
{
    *cls = cJSON_GetObjectItem(r, "class")->valueint;
    *score = (float)cJSON_GetObjectItem(r, "score")->valuedouble;
    for (int k = 0; k < 4; k++) box[k] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(r, "box"), k)->valuedouble;
}

static void el_bf16_image(const el_bm *m, const cJSON *img, el_detector *det, el_bstats *st)
{
    const char *name = cJSON_GetObjectItem(img, "image")->valuestring;
    char rel[256], ipath[1024];
    snprintf(rel, sizeof rel, "darknet/%s", name);
    if (!el_test_data(rel, ipath, sizeof ipath)) return;
    el_image im;
    assert_int_equal(el_image_load(ipath, &im), EL_OK);
    el_detection *d;
    int n;
    if (el_detector_run(det, &im, 0, &d, &n, NULL) != EL_OK) fail_msg("%s on %s: %s", m->name, name, el_last_error());
    const cJSON *refs = cJSON_GetObjectItem(img, "detections"), *r;
    const float hi = EL_BF16_LEVEL + EL_BF16_SCORE;
    cJSON_ArrayForEach(r, refs)
    {
        int cls;
        float score, box[4], iou, sd;
        el_ref_det(r, &cls, &score, box);
        if (score < EL_LIST) continue;
        int i = el_pair(cls, score, box, d, n, &sd, &iou);
        st->refs++;
        if (score >= m->threshold) {
            st->strict_refs++;
            if (sd <= 0.01f && iou >= 0.98f) st->strict++;
        }
        if (i >= 0 && sd <= EL_BF16_SCORE && iou >= EL_BF16_IOU) st->paired++;
        if (score >= EL_BF16_LEVEL && i >= 0) {
            if (sd > st->max_sd) st->max_sd = sd;
            if (iou < st->min_iou) st->min_iou = iou;
        }
        if (score >= hi && !(sd <= EL_BF16_SCORE && iou >= EL_BF16_IOU)) {
            st->lost++;
            printf("%s on %s: reference class %d score %.4f box [%.3f %.3f %.3f %.3f]: closest bf16 score %.4f "
                   "IoU %.4f\n",
                   m->name, name, cls, score, box[0], box[1], box[2], box[3], i >= 0 ? d[i].score : 0, iou);
        }
    }
    for (int i = 0; i < n; i++) {
        if (d[i].score < hi) continue;
        bool found = false;
        cJSON_ArrayForEach(r, refs)
        {
            int cls;
            float score, box[4];
            el_ref_det(r, &cls, &score, box);
            if (cls == d[i].class_id && fabsf(score - d[i].score) <= EL_BF16_SCORE &&
                el_test_iou(box, d[i].box) >= EL_BF16_IOU)
                found = true;
        }
        if (!found) {
            st->extra++;
            printf("%s on %s: extra bf16 detection class %d score %.4f box [%.3f %.3f %.3f %.3f]\n", m->name, name,
                   d[i].class_id, d[i].score, d[i].box[0], d[i].box[1], d[i].box[2], d[i].box[3]);
        }
    }
    free(d);
    el_image_free(&im);
    st->images++;
}

__attribute__((unused)) static void el_bf16_model(const el_bm *m)
{
    char jpath[1024], mpath[1024], rel[256];
    snprintf(rel, sizeof rel, "reference/%s.json", m->name);
    if (!el_test_shared(rel, jpath, sizeof jpath) ||
        !(m->data ? el_test_data(m->model, mpath, sizeof mpath) : el_test_shared(m->model, mpath, sizeof mpath))) {
        skip();
        return;
    }
    if (el_precision_check(EL_PRECISION_BF16) != EL_OK) {
        printf("%s\n", el_last_error());
        skip();
        return;
    }
    cJSON *ref = el_test_load_json(jpath);
    /* Both kernels: AMX where the CPU has it, and AVX512-BF16. */
    for (int isa = EL_BF16_AVX512; isa <= (int)el_bf16_isa_available(); isa++) {
        el_bf16_force_isa(isa);
        el_detector *det;
        el_detector_opts o = {.precision = EL_PRECISION_BF16};
        if (el_detector_open(mpath, NULL, &o, &det) != EL_OK) fail_msg("open %s: %s", mpath, el_last_error());
        el_bstats st = {.min_iou = 1};
        const cJSON *img;
        cJSON_ArrayForEach(img, cJSON_GetObjectItem(ref, "images")) el_bf16_image(m, img, det, &st);
        el_detector_free(det);
        if (st.images == 0) {
            el_bf16_force_isa(-1);
            cJSON_Delete(ref);
            skip();
            return;
        }
        printf("%s bf16 (%s), %d images: %d of %d reference detections >= %.2f meet the fp32 rule (0.01, 0.98); "
               "%d of %d >= %.2f within the bf16 bound (%.2f, %.2f); at >= 0.3: max |score diff| %.4f, min IoU "
               "%.4f; %d lost, %d extra\n",
               m->name, el_precision_isa(EL_PRECISION_BF16), st.images, st.strict, st.strict_refs, m->threshold,
               st.paired, st.refs, EL_LIST, EL_BF16_SCORE, EL_BF16_IOU, st.max_sd, st.min_iou, st.lost, st.extra);
        el_bf16_force_isa(-1);
        if (st.lost + st.extra > EL_BF16_MAX_MISSES)
            fail_msg("%s bf16: %d reference detections lost and %d extra beyond the bound (at most %d)", m->name,
                     st.lost, st.extra, EL_BF16_MAX_MISSES);
    }
    cJSON_Delete(ref);
}

#endif
