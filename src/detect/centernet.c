/* MB3-CenterNet (github.com/610265158/mobilenetv3_centernet), the COCO
 * object detector @vladmandic/human ships as models/centernet.*.
 *
 * Input `tower_0/images`: float32 [1,512,512,3], RGB 0..255, not
 * normalized; human's src/object/centernet.ts feeds the frame through
 * tf.image.resizeBilinear (align_corners and half_pixel_centers false)
 * without rounding, and so does the dispatcher for a float input.
 * Output `tower_0/detections`: [1,K,6], rows (x1, y1, x2, y2, score,
 * class) with the corners in pixels of the network input and class a
 * 0-based COCO-80 index (person 0 ... toothbrush 79); human divides the
 * corners by the input size. The graph already keeps only the top K peaks
 * of the heatmap (its MaxPool + TopKV2 tail), so no NMS is applied here:
 * human runs an extra tf.image.nonMaxSuppression, the reference outputs do
 * not. Boxes are not clipped (a corner may be slightly outside [0,1], as
 * in the reference). Class ids stay 0-based: the label map installed with
 * the default model (models/coco80.pbtxt) numbers them 0..79. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/head.h"

#define EL_CENTERNET_OUTPUT "tower_0/detections"
#define EL_CENTERNET_INPUT "tower_0/images"

static el_status el_cn_match(const el_graph *g, const el_tfjs_signature *sig, el_head_spec *spec, bool *matched)
{
    *matched = false;
    if (el_graph_find(g, EL_CENTERNET_OUTPUT) < 0) return EL_OK;
    int in = el_head_placeholder(g, EL_CENTERNET_INPUT);
    if (in < 0) in = el_head_only_placeholder(g, EL_DT_FLOAT);
    if (in < 0)
        return el_error(EL_ERR_UNSUPPORTED, "%s: CenterNet graph (%s) without its float32 image input '%s'", g->source,
                        EL_CENTERNET_OUTPUT, EL_CENTERNET_INPUT);
    spec->input = g->nodes[in].name;
    spec->input_dtype = EL_DT_FLOAT;
    EL_TRY(el_head_input_size(g, sig, in, EL_DT_FLOAT, &spec->in_width, &spec->in_height));
    if (spec->in_width <= 0)
        return el_error(EL_ERR_UNSUPPORTED, "%s: CenterNet input '%s' has no static size; the corners are in pixels "
                        "of the input, so its size must be known", g->source, spec->input);
    spec->nfetches = 1;
    spec->fetches[0] = EL_CENTERNET_OUTPUT;
    *matched = true;
    return EL_OK;
}

static el_status el_cn_decode(const el_head_spec *spec, const el_tensor *outs, float threshold, el_detection **dets,
                              int *ndets)
{
    const el_tensor *t = &outs[0];
    if (t->dtype != EL_DT_FLOAT || t->ndim != 3 || t->dims[0] != 1 || t->dims[2] != 6) {
        char s[160];
        return el_error(EL_ERR_RUNTIME, "output '%s' is %s %s; expected float32 [1,K,6]", spec->fetches[0],
                        el_dtype_name(t->dtype), el_shape_str(t->ndim, t->dims, s, sizeof s));
    }
    int64_t k = t->dims[1];
    const float *r = t->data;
    el_detection *v = malloc(sizeof *v * (size_t)(k ? k : 1));
    if (!v) return el_error(EL_ERR_NOMEM, "out of memory");
    float w = (float)spec->in_width, h = (float)spec->in_height;
    int n = 0;
    for (int64_t i = 0; i < k; i++, r += 6) {
        /* human skips rows whose class is NaN. */
        if (!(r[4] >= threshold) || !isfinite(r[5]) || r[5] < 0 || r[5] > 1e6f) continue;
        el_detection *e = &v[n++];
        e->class_id = (int)lrintf(r[5]);
        e->label = NULL;
        e->score = r[4];
        e->box[0] = r[1] / h;
        e->box[1] = r[0] / w;
        e->box[2] = r[3] / h;
        e->box[3] = r[2] / w;
    }
    *dets = v;
    *ndets = n;
    return EL_OK;
}

const el_head el_head_centernet = {"centernet", el_cn_match, el_cn_decode, NULL};
