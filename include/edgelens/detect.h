/* edgelens detection: image in, labelled boxes out. */
#ifndef EDGELENS_DETECT_H
#define EDGELENS_DETECT_H

#include "edgelens/engine.h"
#include "edgelens/image.h"
#include "edgelens/labels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_detection {
    int class_id;          /* as in the label map (1-based for TF OD API) */
    const char *label;     /* owned by the detector's label map; may be NULL */
    float score;           /* 0..1 */
    float box[4];          /* ymin, xmin, ymax, xmax, normalized to [0,1] */
} el_detection;

typedef struct el_detector el_detector;

typedef struct el_detector_opts {
    int threads;           /* 0: one per core */
    el_precision precision; /* EL_PRECISION_FP32 (0) unless set; see engine.h */
} el_detector_opts;

/* Open a detection model. `model` is a directory holding
 * frozen_inference_graph.pb (or a TF.js model.json) and one .pbtxt label
 * map, a .pb file, a TF.js model.json, or a .tar.gz package; NULL means the
 * default model (el_detector_default_model). `labels` (may be NULL)
 * overrides the label map. The detection head is discovered from the graph
 * (and the TF.js signature): the TF OD API signature (TF1 image_tensor ->
 * detection_boxes, detection_scores, detection_classes, num_detections;
 * TF2 input_tensor -> its Identity outputs), CenterNet (tower_0/images ->
 * tower_0/detections, 0-based COCO-80 class ids) or FaceBoxes
 * (image_tensor -> boxes, scores, num_boxes; class 1 "face"). */
el_status el_detector_open(const char *model, const char *labels, const el_detector_opts *opts, el_detector **out);

/* The default model's path into buf: $EDGELENS_MODEL when set, else the
 * COCO CenterNet that scripts/setup installs in <repo>/.data/models/centernet
 * (looked for next to the executable, in the source tree edgelens was built
 * from, and in <prefix>/share/edgelens/models/centernet).
 * EL_ERR_NOT_FOUND, saying how to install it, when there is none. */
el_status el_detector_default_model(char *buf, size_t cap);

/* Detect objects in an RGB image. Detections with score >= threshold are
 * returned sorted by score, descending, in *dets (malloc'd, free with free()).
 * Boxes are normalized to the image as the graph outputs them. The image is
 * resized first when the graph's input has a static size.
 * *inference_ms (may be NULL) receives the graph execution time. */
el_status el_detector_run(el_detector *d, const el_image *img, float threshold, el_detection **dets, int *n,
                          double *inference_ms);

/* The graph's input size, 0 when dynamic. */
void el_detector_input_size(const el_detector *d, int *width, int *height);
const el_labels *el_detector_labels(const el_detector *d);
void el_detector_free(el_detector *d);

#ifdef __cplusplus
}
#endif
#endif
