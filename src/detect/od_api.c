/* The TF Object Detection API export signature (exporter.py for TF1,
 * exporter_lib_v2.py for TF2): a uint8 RGB batch [1,H,W,3] in, and
 *   detection_boxes   [1,N,4] normalized ymin, xmin, ymax, xmax
 *   detection_scores  [1,N]
 *   detection_classes [1,N]   1-based label-map ids, as floats
 *   num_detections    [1]     how many of the N rows are valid
 * out.
 *
 * TF1 frozen graphs name the input `image_tensor` and the outputs as above.
 * TF2 exports name the input `input_tensor`, and their frozen form (the
 * SavedModel signature function inlined, as the TF.js converter and
 * convert_variables_to_constants_v2 produce) returns the outputs as
 * Identity, Identity_1, ... : the signature's output dict in sorted key
 * order (detection_anchor_indices, detection_boxes, detection_classes,
 * detection_multiclass_scores, detection_scores, num_detections,
 * raw_detection_boxes, raw_detection_scores for the standard SSD export:
 * Identity_1 is the boxes, Identity_2 the classes, Identity_4 the scores,
 * Identity_5 num_detections). The TF.js signature keeps only the Identity
 * names and shapes, and a .pb keeps neither, so the roles are read from the
 * shapes the outputs have at run time, with that key order breaking ties:
 *   - num_detections: the only output of shape [1];
 *   - the per-detection vectors [1,N] in name order are (anchor indices,)
 *     classes, scores: with three of them the 2nd and 3rd, with two both;
 *   - boxes: the first output of shape [1,N,4] (raw_detection_boxes comes
 *     later in the key order, also when it happens to have N rows).
 * Other outputs (multiclass scores, raw outputs, keypoints) are ignored.
 *
 * Classes are rounded to the nearest id: uint8-quantized exports (handtrack)
 * store the class-id table quantized, so ids come out as 1.988..., 4.011.... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/head.h"

enum { EL_OD_NAMED = 0, EL_OD_ALIASED = 1 };

static const char *const el_od_names[4] = {"detection_boxes", "detection_scores", "detection_classes",
                                           "num_detections"};

/* k for "Identity" (0) and "Identity_<k>"; -1 for other names. */
static int el_identity_index(const char *name)
{
    if (strncmp(name, "Identity", 8)) return -1;
    if (name[8] == '\0') return 0;
    if (name[8] != '_' || !name[9]) return -1;
    int k = 0;
    for (const char *p = name + 9; *p; p++) {
        if (*p < '0' || *p > '9' || k > 100000) return -1;
        k = k * 10 + (*p - '0');
    }
    return k;
}

static int el_cmp_identity(const void *a, const void *b)
{
    int x = el_identity_index(*(const char *const *)a), y = el_identity_index(*(const char *const *)b);
    return (x > y) - (x < y);
}

/* The TF2 export's outputs: the signature's Identity outputs, or without a
 * signature the graph's Identity / Identity_<k> nodes that nothing consumes. */
static el_status el_od_aliased_outputs(const el_graph *g, const el_tfjs_signature *sig, el_head_spec *spec)
{
    int n = 0;
    if (sig && sig->noutputs > 0) {
        for (int i = 0; i < sig->noutputs; i++) {
            char name[512];
            snprintf(name, sizeof name, "%s", sig->outputs[i].name);
            char *colon = strrchr(name, ':');
            if (colon && colon[1] == '0' && colon[2] == '\0') *colon = '\0';
            int node = el_graph_find(g, name);
            if (node < 0 || el_identity_index(name) < 0) continue;
            if (n == EL_HEAD_MAX_FETCHES)
                return el_error(EL_ERR_UNSUPPORTED, "%s: more than %d Identity outputs", g->source, EL_HEAD_MAX_FETCHES);
            spec->fetches[n++] = g->nodes[node].name;
        }
    } else {
        bool *used = calloc((size_t)g->nnodes + 1, sizeof *used);
        if (!used) return el_error(EL_ERR_NOMEM, "out of memory");
        for (int i = 0; i < g->nnodes; i++)
            for (int k = 0; k < g->nodes[i].ninputs; k++) used[g->nodes[i].inputs[k].node] = true;
        for (int i = 0; i < g->nnodes; i++) {
            const el_node *nd = &g->nodes[i];
            if (used[i] || strcmp(nd->op, "Identity") || el_identity_index(nd->name) < 0) continue;
            if (n == EL_HEAD_MAX_FETCHES) {
                free(used);
                return el_error(EL_ERR_UNSUPPORTED, "%s: more than %d Identity outputs", g->source, EL_HEAD_MAX_FETCHES);
            }
            spec->fetches[n++] = nd->name;
        }
        free(used);
    }
    qsort(spec->fetches, (size_t)n, sizeof spec->fetches[0], el_cmp_identity);
    spec->nfetches = n;
    return EL_OK;
}

/* A TF2 export with a fixed_shape_resizer resizes every image to one size
 * inside its map loop (Preprocessor/ResizeImage: ResizeBilinear to a Const
 * [H,W]). The TF.js conversion records that size in its signature
 * (handtrack: input_tensor [1,320,320,3]), and resizing outside to it is
 * what TF.js users feed; a .pb converted from model.json keeps only the
 * dynamic Placeholder, so the size is read back from the resize. 0x0 when
 * there is no such single resize. */
static void el_od_resizer_size(const el_graph *g, int *width, int *height)
{
    int found = 0, w = 0, h = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const el_node *nd = &g->nodes[i];
        if (strcmp(nd->op, "ResizeBilinear") || !strstr(nd->name, "Preprocessor/ResizeImage") || nd->ndata < 2) continue;
        const el_node *sz = &g->nodes[nd->inputs[1].node];
        const el_tensor *t;
        if (strcmp(sz->op, "Const") || el_attr_tensor(sz, "value", &t) != EL_OK || !t || t->dtype != EL_DT_INT32 ||
            el_tensor_numel(t) != 2)
            continue;
        const int32_t *v = t->data;
        if (v[0] <= 0 || v[1] <= 0 || v[0] > 1 << 16 || v[1] > 1 << 16) continue;
        h = v[0];
        w = v[1];
        found++;
    }
    if (found == 1) {
        *width = w;
        *height = h;
    }
}

static el_status el_od_match(const el_graph *g, const el_tfjs_signature *sig, el_head_spec *spec, bool *matched)
{
    *matched = false;
    bool named = true;
    for (int i = 0; i < 4; i++) named = named && el_graph_find(g, el_od_names[i]) >= 0;
    int in = el_head_placeholder(g, "image_tensor");
    if (in < 0) in = el_head_placeholder(g, "input_tensor");
    if (named) {
        if (in < 0) in = el_head_only_placeholder(g, EL_DT_UINT8);
        if (in == -2)
            return el_error(EL_ERR_UNSUPPORTED, "%s: several uint8 image placeholders; expected one named image_tensor",
                            g->source);
        if (in < 0)
            return el_error(EL_ERR_UNSUPPORTED,
                            "%s: no image input: expected a Placeholder 'image_tensor' (uint8 [1,H,W,3])", g->source);
        spec->variant = EL_OD_NAMED;
        spec->nfetches = 4;
        for (int i = 0; i < 4; i++) spec->fetches[i] = el_od_names[i];
    } else {
        /* TF2: input_tensor and the Identity aliases. */
        in = el_head_placeholder(g, "input_tensor");
        if (in < 0) return EL_OK;
        EL_TRY(el_od_aliased_outputs(g, sig, spec));
        if (spec->nfetches < 4)
            return el_error(EL_ERR_UNSUPPORTED,
                            "%s: input_tensor found but %d Identity outputs; a TF2 Object Detection API export has "
                            "at least detection_boxes, detection_classes, detection_scores and num_detections",
                            g->source, spec->nfetches);
        spec->variant = EL_OD_ALIASED;
    }
    spec->input = g->nodes[in].name;
    spec->input_dtype = EL_DT_UINT8;
    EL_TRY(el_head_input_size(g, sig, in, EL_DT_UINT8, &spec->in_width, &spec->in_height));
    if (spec->variant == EL_OD_ALIASED && spec->in_width == 0) el_od_resizer_size(g, &spec->in_width, &spec->in_height);
    *matched = true;
    return EL_OK;
}

static bool el_shape_is(const el_tensor *t, int ndim, int64_t d0, int64_t d1, int64_t d2)
{
    if (t->ndim != ndim || t->dtype != EL_DT_FLOAT) return false;
    const int64_t want[3] = {d0, d1, d2};
    for (int i = 0; i < ndim; i++)
        if (want[i] >= 0 && t->dims[i] != want[i]) return false;
    return true;
}

/* Roles of the aliased outputs from their shapes (see the top comment):
 * role[0..3] = boxes, scores, classes, num. */
static el_status el_od_roles(const el_head_spec *spec, const el_tensor *outs, int *role)
{
    int num = -1, nvec = 0, vec[3] = {-1, -1, -1};
    int64_t n = -1;
    for (int i = 0; i < spec->nfetches; i++) {
        if (el_shape_is(&outs[i], 1, 1, -1, -1)) {
            if (num >= 0)
                return el_error(EL_ERR_UNSUPPORTED, "outputs '%s' and '%s' both have shape [1]; expected one num_detections",
                                spec->fetches[num], spec->fetches[i]);
            num = i;
        } else if (el_shape_is(&outs[i], 2, 1, n, -1)) {
            if (nvec == 3)
                return el_error(EL_ERR_UNSUPPORTED, "more than three [1,%lld] outputs ('%s', ...): not a TF2 OD API export",
                                (long long)outs[i].dims[1], spec->fetches[i]);
            n = outs[i].dims[1];
            vec[nvec++] = i;
        }
    }
    int boxes = -1;
    for (int i = 0; i < spec->nfetches && boxes < 0; i++)
        if (n >= 0 && el_shape_is(&outs[i], 3, 1, n, 4)) boxes = i;
    if (num < 0 || boxes < 0 || nvec < 2)
        return el_error(EL_ERR_UNSUPPORTED,
                        "cannot tell the TF2 OD API outputs apart: expected float32 num_detections [1], "
                        "detection_boxes [1,N,4] and the [1,N] classes and scores among %d Identity outputs "
                        "(found %s num_detections, %s boxes, %d [1,N] vectors)",
                        spec->nfetches, num < 0 ? "no" : "a", boxes < 0 ? "no" : "the", nvec);
    role[0] = boxes;
    role[1] = vec[nvec - 1];
    role[2] = vec[nvec - 2];
    role[3] = num;
    return EL_OK;
}

static el_status el_od_decode(const el_head_spec *spec, const el_tensor *outs, float threshold, el_detection **dets,
                              int *ndets)
{
    int role[4] = {0, 1, 2, 3};
    if (spec->variant == EL_OD_ALIASED) EL_TRY(el_od_roles(spec, outs, role));
    const float *boxes = NULL, *scores = NULL, *classes = NULL, *num = NULL;
    EL_TRY(el_head_f32(&outs[role[3]], "num_detections", 1, &num));
    if (!(num[0] >= 0) || num[0] > 1e6) return el_error(EL_ERR_RUNTIME, "num_detections is %g", (double)num[0]);
    int64_t n = (int64_t)num[0];
    EL_TRY(el_head_f32(&outs[role[0]], "detection_boxes", 4 * n, &boxes));
    EL_TRY(el_head_f32(&outs[role[1]], "detection_scores", n, &scores));
    EL_TRY(el_head_f32(&outs[role[2]], "detection_classes", n, &classes));
    el_detection *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    if (!v) return el_error(EL_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(scores[i] >= threshold) || !isfinite(classes[i]) || fabsf(classes[i]) > 1e9f) continue;
        el_detection *e = &v[k++];
        e->class_id = (int)lrintf(classes[i]);
        e->label = NULL;
        e->score = scores[i];
        memcpy(e->box, boxes + 4 * i, sizeof e->box);
    }
    *dets = v;
    *ndets = k;
    return EL_OK;
}

const el_head el_head_od_api = {"od_api", el_od_match, el_od_decode, NULL};
