/* The detector: opens a model, picks the detection head that fits the graph
 * (head.h: TF OD API, CenterNet, FaceBoxes), feeds images and decodes.
 *
 * Heads are tried in a fixed order, the first that recognises the graph
 * wins: od_api (TF1 detection_* names, or TF2 input_tensor + Identity
 * outputs), centernet (tower_0/detections), faceboxes (boxes, scores,
 * num_boxes). A graph none of them recognises is refused with what each
 * expected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect/head.h"
#include "detect/preprocess.h"
#include "format/package.h"
#include "format/tfjs.h"

static const el_head *const el_heads[] = {&el_head_od_api, &el_head_centernet, &el_head_faceboxes};

struct el_detector {
    el_graph *graph;
    el_labels *labels;
    el_session *session;
    const el_head *head;
    el_head_spec spec;
    el_prep prep; /* float inputs only */
};

/* ---- Helpers for the heads ------------------------------------------------ */

int el_head_placeholder(const el_graph *g, const char *name)
{
    int n = el_graph_find(g, name);
    return n >= 0 && !strcmp(g->nodes[n].op, "Placeholder") ? n : -1;
}

int el_head_only_placeholder(const el_graph *g, el_dtype want)
{
    int found = -1;
    for (int n = 0; n < g->nnodes; n++) {
        const el_node *nd = &g->nodes[n];
        if (strcmp(nd->op, "Placeholder")) continue;
        el_dtype dt;
        el_shape sh;
        bool present;
        if (el_attr_dtype(nd, "dtype", EL_DT_INVALID, &dt) != EL_OK || dt != want) continue;
        if (el_attr_shape(nd, "shape", &sh, &present) != EL_OK || (present && sh.rank != 4 && sh.rank != -1)) continue;
        if (found >= 0) return -2;
        found = n;
    }
    return found;
}

el_status el_head_input_size(const el_graph *g, const el_tfjs_signature *sig, int node, el_dtype want, int *width,
                             int *height)
{
    const el_node *nd = &g->nodes[node];
    *width = *height = 0;
    el_dtype dt;
    EL_TRY(el_attr_dtype(nd, "dtype", EL_DT_INVALID, &dt));
    if (dt != want)
        return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' is %s; this model family takes %s images", g->source,
                        nd->name, el_dtype_name(dt), el_dtype_name(want));
    el_shape sh;
    bool present;
    EL_TRY(el_attr_shape(nd, "shape", &sh, &present));
    /* TF.js keeps the converter's fixed input size in the signature when the
     * graph's Placeholder says [1,-1,-1,3] (handtrack: [1,320,320,3]). */
    const el_tfjs_tensor_info *ti = sig ? el_tfjs_signature_find(sig->inputs, sig->ninputs, nd->name) : NULL;
    if (ti && ti->shape.rank == 4 && (!present || sh.rank != 4 || sh.dims[1] <= 0 || sh.dims[2] <= 0)) {
        sh = ti->shape;
        present = true;
    }
    if (!present || sh.rank < 0) return EL_OK;
    if (sh.rank != 4)
        return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' has rank %d; expected an image batch [1,H,W,3]", g->source,
                        nd->name, sh.rank);
    if (sh.dims[3] != 3 && sh.dims[3] != -1)
        return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' has %lld channels; expected 3", g->source, nd->name,
                        (long long)sh.dims[3]);
    if (sh.dims[0] > 1)
        return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' takes batches of %lld; edgelens feeds one image", g->source,
                        nd->name, (long long)sh.dims[0]);
    if (sh.dims[1] > 0 && sh.dims[2] > 0) {
        if (sh.dims[1] > 1 << 16 || sh.dims[2] > 1 << 16)
            return el_error(EL_ERR_UNSUPPORTED, "%s: input '%s' of %lldx%lld is too large", g->source, nd->name,
                            (long long)sh.dims[2], (long long)sh.dims[1]);
        *height = (int)sh.dims[1];
        *width = (int)sh.dims[2];
    }
    return EL_OK;
}

el_status el_head_f32(const el_tensor *t, const char *name, int64_t n, const float **out)
{
    if (t->dtype != EL_DT_FLOAT || el_tensor_numel(t) < n)
        return el_error(EL_ERR_RUNTIME, "output '%s' is %s with %lld elements; expected float32 with at least %lld",
                        name, el_dtype_name(t->dtype), (long long)el_tensor_numel(t), (long long)n);
    *out = t->data;
    return EL_OK;
}

/* ---- Opening ------------------------------------------------------------------ */

static el_status el_detector_init(el_detector *d, const el_tfjs_signature *sig, const el_session_opts *so)
{
    const el_graph *g = d->graph;
    for (size_t i = 0; i < sizeof el_heads / sizeof el_heads[0]; i++) {
        bool matched = false;
        memset(&d->spec, 0, sizeof d->spec);
        EL_TRY(el_heads[i]->match(g, sig, &d->spec, &matched));
        if (matched) {
            d->head = el_heads[i];
            break;
        }
    }
    if (!d->head)
        return el_error(EL_ERR_UNSUPPORTED,
                        "%s: not a detection model edgelens knows: expected a TF Object Detection API export "
                        "(image_tensor -> detection_boxes, detection_scores, detection_classes, num_detections; or "
                        "TF2 input_tensor -> Identity outputs), a CenterNet (tower_0/images -> tower_0/detections) "
                        "or a FaceBoxes graph (image_tensor -> boxes, scores, num_boxes)",
                        g->source);
    if (!d->labels && d->head->default_labels)
        EL_TRY(el_labels_parse(d->head->default_labels, strlen(d->head->default_labels), d->head->name, &d->labels));
    if (d->spec.input_dtype == EL_DT_FLOAT) EL_TRY(el_prep_init(&d->prep));
    const char *feeds[1] = {d->spec.input};
    el_session_opts none = {0};
    return el_session_create(g, 1, feeds, d->spec.nfetches, d->spec.fetches, so ? so : &none, &d->session);
}

el_status el_detector_open(const char *model, const char *labels, const el_detector_opts *opts, el_detector **out)
{
    el_session_opts so = {.threads = opts ? opts->threads : 0, .precision = opts ? opts->precision : EL_PRECISION_FP32};
    return el_detector_open_session(model, labels, &so, out);
}

el_status el_detector_open_session(const char *model, const char *labels, const el_session_opts *so,
                                   el_detector **out)
{
    *out = NULL;
    char def[4096];
    if (!model) {
        EL_TRY(el_detector_default_model(def, sizeof def));
        model = def;
    }
    el_detector *d = calloc(1, sizeof *d);
    if (!d) return el_error(EL_ERR_NOMEM, "out of memory");
    el_tfjs_signature *sig = NULL;
    el_status s = el_model_open(model, labels, &d->graph, &d->labels);
    if (s == EL_OK) s = el_tfjs_model_signature(model, &sig);
    if (s == EL_OK) s = el_detector_init(d, sig, so);
    el_tfjs_signature_free(sig);
    if (s != EL_OK) {
        el_detector_free(d);
        return s;
    }
    *out = d;
    return EL_OK;
}

/* ---- Running ------------------------------------------------------------------ */

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

el_status el_detector_input_tensor(el_detector *d, const el_image *img, el_tensor *out)
{
    memset(out, 0, sizeof *out);
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return el_error(EL_ERR_INVALID_ARG, "el_detector_run: no image");
    int w = d->spec.in_width, h = d->spec.in_height;
    if (d->spec.input_dtype == EL_DT_FLOAT)
        return el_prep_resize_f32(&d->prep, img, w > 0 ? w : img->width, h > 0 ? h : img->height, out);
    /* uint8: TF's resize, rounded to nearest (the OD API's own resize keeps
     * uint8 input exact; the reference feeds the rounded resize). */
    el_image resized = {0};
    const el_image *src = img;
    if (w > 0 && (img->width != w || img->height != h)) {
        EL_TRY(el_image_resize_bilinear(img, w, h, &resized));
        src = &resized;
    }
    int64_t dims[4] = {1, src->height, src->width, 3};
    el_tensor t;
    el_status s = el_tensor_alloc(&t, EL_DT_UINT8, 4, dims);
    if (s == EL_OK) {
        memcpy(t.data, src->rgb, el_tensor_nbytes(&t));
        *out = t;
    }
    el_image_free(&resized);
    return s;
}

el_status el_detector_run(el_detector *d, const el_image *img, float threshold, el_detection **dets, int *n,
                          double *inference_ms)
{
    *dets = NULL;
    *n = 0;
    el_tensor in, outs[EL_HEAD_MAX_FETCHES];
    EL_TRY(el_detector_input_tensor(d, img, &in));
    double t0 = el_now_ms();
    el_status s = el_session_run(d->session, &in, outs);
    double t1 = el_now_ms();
    el_tensor_release(&in);
    if (s != EL_OK) return s;
    if (inference_ms) *inference_ms = t1 - t0;
    s = d->head->decode(&d->spec, outs, threshold, dets, n);
    for (int i = 0; i < d->spec.nfetches; i++) el_tensor_release(&outs[i]);
    if (s != EL_OK) {
        free(*dets);
        *dets = NULL;
        *n = 0;
        return el_error_prefix(s, "%s (%s head): ", d->graph->source, d->head->name);
    }
    for (int i = 0; i < *n; i++) (*dets)[i].label = d->labels ? el_labels_name(d->labels, (*dets)[i].class_id) : NULL;
    qsort(*dets, (size_t)*n, sizeof **dets, el_det_cmp);
    return EL_OK;
}

void el_detector_input_size(const el_detector *d, int *width, int *height)
{
    *width = d->spec.in_width;
    *height = d->spec.in_height;
}

void el_detector_get_io(const el_detector *d, el_detector_io *io)
{
    io->graph = d->graph;
    io->feed = d->spec.input;
    io->nfetches = d->spec.nfetches;
    io->fetches = d->spec.fetches;
}

el_session *el_detector_session(el_detector *d) { return d->session; }

const el_labels *el_detector_labels(const el_detector *d) { return d->labels; }

const char *el_detector_head_name(const el_detector *d) { return d->head ? d->head->name : ""; }

void el_detector_free(el_detector *d)
{
    if (!d) return;
    el_session_free(d->session);
    el_prep_free(&d->prep);
    el_labels_free(d->labels);
    el_graph_free(d->graph);
    free(d);
}
