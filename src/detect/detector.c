/* Detection models: signature discovery, pre-processing, output decoding.
 * Only the TF1/TF2 Object Detection API export signature for now. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgelens/detect.h"
#include "format/package.h"
#include "graph/graph.h"

struct el_detector {
    el_graph *graph;
    el_labels *labels;
    el_session *session;
    int in_width, in_height; /* static input size, 0 when dynamic */
};

static const char *const el_od_outputs[4] = {"detection_boxes", "detection_scores", "detection_classes",
                                             "num_detections"};

/* The input: `image_tensor` (TF1) or `input_tensor` (TF2), else the only
 * rank-4 uint8 Placeholder. */
static el_status el_find_input(const el_graph *g, int *node)
{
    static const char *const names[2] = {"image_tensor", "input_tensor"};
    for (int i = 0; i < 2; i++) {
        int n = el_graph_find(g, names[i]);
        if (n >= 0 && !strcmp(g->nodes[n].op, "Placeholder")) {
            *node = n;
            return EL_OK;
        }
    }
    int found = -1;
    for (int n = 0; n < g->nnodes; n++) {
        const el_node *nd = &g->nodes[n];
        if (strcmp(nd->op, "Placeholder")) continue;
        el_dtype dt;
        el_shape sh;
        bool present;
        if (el_attr_dtype(nd, "dtype", EL_DT_INVALID, &dt) != EL_OK || dt != EL_DT_UINT8) continue;
        if (el_attr_shape(nd, "shape", &sh, &present) != EL_OK || (present && sh.rank != 4 && sh.rank != -1)) continue;
        if (found >= 0)
            return el_error(EL_ERR_UNSUPPORTED, "%s: several uint8 image placeholders ('%s', '%s'); expected image_tensor",
                            g->source, g->nodes[found].name, nd->name);
        found = n;
    }
    if (found < 0)
        return el_error(EL_ERR_UNSUPPORTED, "%s: no image input: expected a Placeholder 'image_tensor' (uint8 [1,H,W,3])",
                        g->source);
    *node = found;
    return EL_OK;
}

static el_status el_detector_init(el_detector *d, const el_detector_opts *opts)
{
    const el_graph *g = d->graph;
    int in = -1;
    EL_TRY(el_find_input(g, &in));
    const el_node *nd = &g->nodes[in];
    el_dtype dt;
    EL_TRY(el_attr_dtype(nd, "dtype", EL_DT_INVALID, &dt));
    if (dt != EL_DT_UINT8)
        return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' is %s; expected uint8 images", g->source, nd->name,
                        el_dtype_name(dt));
    el_shape sh;
    bool present;
    EL_TRY(el_attr_shape(nd, "shape", &sh, &present));
    if (present && sh.rank == 4) {
        if (sh.dims[3] != 3 && sh.dims[3] != -1)
            return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' has %lld channels; expected 3", g->source, nd->name,
                            (long long)sh.dims[3]);
        if (sh.dims[1] > 0 && sh.dims[2] > 0) {
            d->in_height = (int)sh.dims[1];
            d->in_width = (int)sh.dims[2];
        }
    }
    for (int i = 0; i < 4; i++)
        if (el_graph_find(g, el_od_outputs[i]) < 0)
            return el_error(EL_ERR_UNSUPPORTED, "%s: no node '%s': not a TF Object Detection API export", g->source,
                            el_od_outputs[i]);
    const char *feeds[1] = {nd->name};
    el_session_opts so = {.threads = opts ? opts->threads : 0};
    return el_session_create(g, 1, feeds, 4, el_od_outputs, &so, &d->session);
}

el_status el_detector_open(const char *model, const char *labels, const el_detector_opts *opts, el_detector **out)
{
    *out = NULL;
    el_detector *d = calloc(1, sizeof *d);
    if (!d) return el_error(EL_ERR_NOMEM, "out of memory");
    el_status s = el_model_open(model, labels, &d->graph, &d->labels);
    if (s == EL_OK) s = el_detector_init(d, opts);
    if (s != EL_OK) {
        el_detector_free(d);
        return s;
    }
    *out = d;
    return EL_OK;
}

static double el_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int el_det_cmp(const void *a, const void *b)
{
    const el_detection *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return 0;
}

/* Reads output i as float32 with at least `n` elements. */
static el_status el_out_f32(const el_tensor *t, const char *name, int64_t n, const float **out)
{
    if (t->dtype != EL_DT_FLOAT || el_tensor_numel(t) < n)
        return el_error(EL_ERR_RUNTIME, "output '%s' is %s with %lld elements; expected float32 with at least %lld",
                        name, el_dtype_name(t->dtype), (long long)el_tensor_numel(t), (long long)n);
    *out = t->data;
    return EL_OK;
}

static el_status el_decode(el_detector *d, const el_tensor *outs, float threshold, el_detection **dets, int *ndets)
{
    const float *boxes = NULL, *scores = NULL, *classes = NULL, *num = NULL;
    EL_TRY(el_out_f32(&outs[3], "num_detections", 1, &num));
    if (!(num[0] >= 0) || num[0] > 1e6)
        return el_error(EL_ERR_RUNTIME, "num_detections is %g", (double)num[0]);
    int64_t n = (int64_t)num[0];
    EL_TRY(el_out_f32(&outs[0], "detection_boxes", 4 * n, &boxes));
    EL_TRY(el_out_f32(&outs[1], "detection_scores", n, &scores));
    EL_TRY(el_out_f32(&outs[2], "detection_classes", n, &classes));
    el_detection *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    if (!v) return el_error(EL_ERR_NOMEM, "out of memory");
    int k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(scores[i] >= threshold)) continue;
        el_detection *e = &v[k++];
        /* Class ids are floats in the OD API signature; quantized exports give 1.988..: round. */
        e->class_id = (int)lrintf(classes[i]);
        e->label = d->labels ? el_labels_name(d->labels, e->class_id) : NULL;
        e->score = scores[i];
        memcpy(e->box, boxes + 4 * i, sizeof e->box);
    }
    qsort(v, (size_t)k, sizeof *v, el_det_cmp);
    *dets = v;
    *ndets = k;
    return EL_OK;
}

el_status el_detector_run(el_detector *d, const el_image *img, float threshold, el_detection **dets, int *n,
                          double *inference_ms)
{
    *dets = NULL;
    *n = 0;
    el_image resized = {0};
    const el_image *src = img;
    if (d->in_width > 0 && (img->width != d->in_width || img->height != d->in_height)) {
        EL_TRY(el_image_resize_bilinear(img, d->in_width, d->in_height, &resized));
        src = &resized;
    }
    el_tensor in, outs[4];
    int64_t dims[4] = {1, src->height, src->width, 3};
    el_status s = el_tensor_wrap(&in, EL_DT_UINT8, 4, dims, src->rgb);
    if (s != EL_OK) {
        el_image_free(&resized);
        return s;
    }
    double t0 = el_now_ms();
    s = el_session_run(d->session, &in, outs);
    double t1 = el_now_ms();
    el_tensor_release(&in);
    el_image_free(&resized);
    if (s != EL_OK) return s;
    if (inference_ms) *inference_ms = t1 - t0;
    s = el_decode(d, outs, threshold, dets, n);
    for (int i = 0; i < 4; i++) el_tensor_release(&outs[i]);
    return s;
}

void el_detector_input_size(const el_detector *d, int *width, int *height)
{
    *width = d->in_width;
    *height = d->in_height;
}

const el_labels *el_detector_labels(const el_detector *d) { return d->labels; }

void el_detector_free(el_detector *d)
{
    if (!d) return;
    el_session_free(d->session);
    el_labels_free(d->labels);
    el_graph_free(d->graph);
    free(d);
}
