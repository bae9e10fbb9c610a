/* Shared by test_reference_tfjs.c (model.json) and test_reference_tfjs_pb.c
 * (after `edgelens convert` to .pb): one test program each, so that each
 * stays well inside CTest's time limit under ASan.
 *
 * The three TF.js graph models (handtrack: TF2 OD API SSD; centernet;
 * faceboxes) against the reference implementation's outputs
 * (../shared/reference/README.md), loaded from model.json and, when the
 * CLI has `edgelens convert`, again after conversion to a frozen .pb:
 *   - the decoded photo and the tensor fed to the graph hash as the
 *     reference's (decoded_rgb_sha256, input_sha256), except where TF.js
 *     resized differently from TensorFlow: its cpu backend evaluates
 *     resizeBilinear in float64, TF in float32, which changes some rounded
 *     uint8 pixels when the scale is not a power of two (handtrack's
 *     320x320 on 5 of the 7 photos). There the reference's input must be
 *     TF.js's float64 resize (el_tfjs_resize_u8), the model is also run on
 *     that exact input and held to the list-level rule below, and our own
 *     input to the README's rule;
 *   - the README's rule: every reference detection with score >= 0.3 has
 *     one of ours with the same class, |score diff| <= 0.01 and IoU >= 0.98,
 *     and we have nothing extra at or above 0.3;
 *   - the same rule down to the reference's own list threshold (0.05), which
 *     is what gives handtrack and faceboxes (few or no detections above 0.3
 *     on these photos) something to match: a detection within 0.01 of that
 *     threshold may be missing on either side.
 * Each model prints its match statistics. model.json is checked in fp32
 * and, where the CPU has AMX, in bf16x3 (which promises the same rule). */
#ifndef EL_TEST_REFERENCE_TFJS_H
#define EL_TEST_REFERENCE_TFJS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "detect/head.h"
#include "edgelens/detect.h"
#include "testutil.h"

#define EL_STRICT 0.3f
#define EL_LIST 0.05f

typedef struct el_tfjs_case {
    const char *name; /* human-models/<name>.json, reference/<name>.json */
    const char *head;
} el_tfjs_case;

static const el_tfjs_case el_cases[] = {
    {"handtrack", "od_api"},
    {"centernet", "centernet"},
    {"faceboxes", "faceboxes"},
};

/* Match statistics of one input path. */
typedef struct el_match {
    int runs, strict_ref, strict_matched, list_ref, list_matched;
    float max_score_diff, min_iou;
} el_match;

typedef struct el_stats {
    int images;
    el_match ours;  /* the detector's own preprocessing */
    el_match exact; /* fed the reference's input tensor (when ours differs) */
} el_stats;

/* TF.js's cpu resizeBilinear (align_corners and half_pixel_centers false):
 * the same formula as TensorFlow's, but evaluated in float64 (JavaScript
 * numbers) and stored as float32, then rounded half away from zero to uint8
 * as the reference did. */
static void el_tfjs_resize_u8(const el_image *im, int w, int h, el_image *out)
{
    out->width = w;
    out->height = h;
    out->rgb = malloc((size_t)w * h * 3);
    assert_non_null(out->rgb);
    double rs = (double)im->height / h, cs = (double)im->width / w;
    uint8_t *o = out->rgb;
    for (int r = 0; r < h; r++) {
        double sr = rs * r;
        int r0 = (int)floor(sr), r1 = (int)fmin(im->height - 1, ceil(sr));
        double rf = sr - r0;
        for (int c = 0; c < w; c++) {
            double sc = cs * c;
            int c0 = (int)floor(sc), c1 = (int)fmin(im->width - 1, ceil(sc));
            double cf = sc - c0;
            for (int ch = 0; ch < 3; ch++) {
                double tl = im->rgb[((size_t)r0 * im->width + c0) * 3 + ch];
                double tr = im->rgb[((size_t)r0 * im->width + c1) * 3 + ch];
                double bl = im->rgb[((size_t)r1 * im->width + c0) * 3 + ch];
                double br = im->rgb[((size_t)r1 * im->width + c1) * 3 + ch];
                double top = tl + (tr - tl) * cf, bottom = bl + (br - bl) * cf;
                *o++ = (uint8_t)roundf((float)(top + (bottom - top) * rf));
            }
        }
    }
}

/* Best match of (cls, score, box) among dets under the rule; returns its
 * index or -1, and the score difference and IoU of the closest same-class
 * detection for the statistics. */
static int el_find(int cls, float score, const float *box, const el_detection *d, int n, float *sd, float *iou)
{
    int best = -1;
    float bsd = INFINITY, biou = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].class_id != cls) continue;
        float s = fabsf(d[i].score - score), o = el_test_iou(box, d[i].box);
        bool ok = s <= 0.01f && o >= 0.98f;
        if (ok && (best < 0 || s < bsd)) {
            best = i;
            bsd = s;
            biou = o;
        }
    }
    *sd = bsd;
    *iou = biou;
    return best;
}

/* Runs det on im and matches its detections with the reference's (see the
 * top comment) down to `level`: EL_STRICT is the README's rule, EL_LIST
 * the reference's whole list (with 0.01 of slack at its threshold). */
static void el_compare(const char *model, const char *name, const cJSON *img, el_detector *det, const el_image *im,
                       el_match *st, float level)
{
    st->runs++;
    el_detection *d;
    int n;
    if (el_detector_run(det, im, 0, &d, &n, NULL) != EL_OK) fail_msg("%s on %s: %s", model, name, el_last_error());
    const cJSON *refs = cJSON_GetObjectItem(img, "detections"), *r;
    int nref = cJSON_GetArraySize(refs);
    bool *used = calloc((size_t)n + 1, sizeof *used);
    cJSON_ArrayForEach(r, refs)
    {
        int cls = cJSON_GetObjectItem(r, "class")->valueint;
        float score = (float)cJSON_GetObjectItem(r, "score")->valuedouble, box[4];
        for (int k = 0; k < 4; k++) box[k] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(r, "box"), k)->valuedouble;
        float sd, iou;
        int m = el_find(cls, score, box, d, n, &sd, &iou);
        if (score >= EL_STRICT) st->strict_ref++;
        st->list_ref++;
        if (m >= 0) {
            used[m] = true;
            st->list_matched++;
            if (score >= EL_STRICT) st->strict_matched++;
            if (sd > st->max_score_diff) st->max_score_diff = sd;
            if (iou < st->min_iou) st->min_iou = iou;
        } else if (score >= level + (level > EL_LIST ? 0 : 0.01f)) {
            fail_msg("%s on %s: reference detection class %d score %.4f box [%.3f %.3f %.3f %.3f] not found (%d of ours)",
                     model, name, cls, score, box[0], box[1], box[2], box[3], n);
        }
    }
    /* Nothing extra: ours above the list threshold each match a reference one. */
    for (int i = 0; i < n; i++) {
        if (d[i].score < level + (level > EL_LIST ? 0 : 0.01f) || used[i]) continue;
        bool found = false;
        cJSON_ArrayForEach(r, refs)
        {
            float box[4], sd, iou;
            for (int k = 0; k < 4; k++) box[k] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(r, "box"), k)->valuedouble;
            el_detection one = d[i];
            if (el_find(cJSON_GetObjectItem(r, "class")->valueint, (float)cJSON_GetObjectItem(r, "score")->valuedouble,
                        box, &one, 1, &sd, &iou) == 0)
                found = true;
        }
        if (!found)
            fail_msg("%s on %s: extra detection class %d score %.4f box [%.3f %.3f %.3f %.3f] (%d in the reference)",
                     model, name, d[i].class_id, d[i].score, d[i].box[0], d[i].box[1], d[i].box[2], d[i].box[3], nref);
    }
    free(used);
    free(d);
}

static void el_check_image(const char *model, const cJSON *img, el_detector *det, el_stats *st)
{
    const char *name = cJSON_GetObjectItem(img, "image")->valuestring;
    char rel[256], ipath[1024];
    snprintf(rel, sizeof rel, "darknet/%s", name);
    if (!el_test_data(rel, ipath, sizeof ipath)) return;
    el_image im;
    assert_int_equal(el_image_load(ipath, &im), EL_OK);
    char hex[65];
    el_test_sha256_hex(im.rgb, (size_t)im.width * im.height * 3, hex);
    assert_string_equal(hex, cJSON_GetObjectItem(img, "decoded_rgb_sha256")->valuestring);
    const char *want = cJSON_GetObjectItem(img, "input_sha256")->valuestring;
    el_tensor in;
    if (el_detector_input_tensor(det, &im, &in) != EL_OK) fail_msg("%s: %s", name, el_last_error());
    el_test_sha256_hex(in.data, el_tensor_nbytes(&in), hex);
    el_tensor_release(&in);
    if (strcmp(hex, want)) {
        /* Only the uint8 resize to a size that is not a power of two
         * (handtrack's 320x320) differs: the reference's TF.js resizes in
         * float64 where TensorFlow (and edgelens) compute in float32. Check
         * that this is the only difference, then also run the model on the
         * reference's exact input. */
        int w, h;
        el_detector_input_size(det, &w, &h);
        assert_true(w > 0 && (w & (w - 1)) != 0);
        el_image js;
        el_tfjs_resize_u8(&im, w, h, &js);
        el_test_sha256_hex(js.rgb, (size_t)w * h * 3, hex);
        if (strcmp(hex, want)) fail_msg("%s on %s: the reference input is not TF.js's resize either", model, name);
        el_compare(model, name, img, det, &js, &st->exact, EL_LIST);
        el_image_free(&js);
        /* Our own input then only has to meet the README's rule. */
        el_compare(model, name, img, det, &im, &st->ours, EL_STRICT);
    } else {
        el_compare(model, name, img, det, &im, &st->ours, EL_LIST);
    }
    el_image_free(&im);
    st->images++;
}

static void el_print(const char *model, const char *what, const char *how, int images, const el_match *m)
{
    printf("%s (%s)%s %d images: %d of %d reference detections >= %.2f matched, %d of %d >= %.2f; "
           "max |score diff| %.6f, min IoU %.6f\n",
           model, what, how, images, m->strict_matched, m->strict_ref, EL_STRICT, m->list_matched, m->list_ref, EL_LIST,
           m->max_score_diff, m->min_iou);
}

/* Checks one model file (model.json or a converted .pb) on every photo. */
static void el_check_model(const el_tfjs_case *c, const char *model_path, const char *what, el_precision prec)
{
    char jpath[1024], rel[256];
    snprintf(rel, sizeof rel, "reference/%s.json", c->name);
    if (!el_test_shared(rel, jpath, sizeof jpath)) {
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
    if (el_detector_open(model_path, NULL, &o, &det) != EL_OK) fail_msg("open %s: %s", model_path, el_last_error());
    assert_string_equal(el_detector_head_name(det), c->head);
    el_stats st = {.ours.min_iou = 1, .exact.min_iou = 1};
    const cJSON *img;
    cJSON_ArrayForEach(img, cJSON_GetObjectItem(ref, "images")) el_check_image(c->name, img, det, &st);
    el_detector_free(det);
    cJSON_Delete(ref);
    if (st.images == 0) {
        skip();
        return;
    }
    char how[32];
    snprintf(how, sizeof how, " %s,", el_precision_name(prec));
    el_print(c->name, what, how, st.images, &st.ours);
    if (st.exact.runs)
        el_print(c->name, what, " fed the reference's own input where TF.js's float64 resize differs:", st.exact.runs,
                 &st.exact);
}

__attribute__((unused)) static void el_check_json(const el_tfjs_case *c, el_precision prec)
{
    char rel[256], mpath[1024];
    snprintf(rel, sizeof rel, "human-models/%s.json", c->name);
    if (!el_test_data(rel, mpath, sizeof mpath)) {
        skip();
        return;
    }
    el_check_model(c, mpath, "model.json", prec);
}

/* `edgelens convert model.json out.pb`, then the same checks on the .pb;
 * skipped when the CLI has no convert command. */
__attribute__((unused)) static void el_check_converted(const el_tfjs_case *c)
{
    char rel[256], mpath[1024], dir[512], pb[1024], cmd[4096];
    const char *bin = getenv("EL_BIN");
    snprintf(rel, sizeof rel, "human-models/%s.json", c->name);
    if (!el_test_data(rel, mpath, sizeof mpath) || !bin || access(bin, X_OK) != 0) {
        skip();
        return;
    }
    snprintf(cmd, sizeof cmd, "'%s' convert --help >/dev/null 2>&1", bin);
    if (system(cmd) != 0) {
        skip();
        return;
    }
    el_test_tmpdir(dir, sizeof dir);
    snprintf(pb, sizeof pb, "%s/%s.pb", dir, c->name);
    snprintf(cmd, sizeof cmd, "'%s' convert '%s' -o '%s'", bin, mpath, pb);
    if (system(cmd) != 0) fail_msg("%s failed", cmd);
    el_check_model(c, pb, "converted .pb", EL_PRECISION_FP32);
    unlink(pb);
    rmdir(dir);
}

#endif
