/* Detection heads: how one family of detection graphs is fed and how its
 * outputs become el_detections. detector.c chooses the head from the graph
 * (and the TF.js signature when there is one); each head lives in its own
 * file:
 *   od_api.c     TF Object Detection API exports, TF1 (image_tensor ->
 *                detection_boxes/scores/classes, num_detections) and TF2
 *                (input_tensor -> Identity, Identity_1, ... aliases)
 *   centernet.c  MB3-CenterNet (tower_0/images -> tower_0/detections)
 *   faceboxes.c  FaceBoxes (image_tensor -> boxes, scores, num_boxes)
 *
 * Everything a head hands out (names) points into the graph or into static
 * storage and lives as long as the graph. */
#ifndef EL_DETECT_HEAD_H
#define EL_DETECT_HEAD_H

#include <stdbool.h>

#include "detect/detector_io.h"
#include "edgelens/detect.h"
#include "format/tfjs.h"
#include "graph/graph.h"

#define EL_HEAD_MAX_FETCHES 16

/* What the dispatcher needs to feed the graph and fetch its outputs. */
typedef struct el_head_spec {
    const char *input;        /* Placeholder node fed with the image batch */
    el_dtype input_dtype;     /* EL_DT_UINT8 (RGB 0..255) or EL_DT_FLOAT (RGB 0..255, not rounded) */
    int in_width, in_height;  /* resize to this outside the graph; 0: feed the image as it is */
    int nfetches;
    const char *fetches[EL_HEAD_MAX_FETCHES];
    int variant;              /* head-specific (od_api: named or aliased outputs) */
} el_head_spec;

typedef struct el_head {
    const char *name;
    /* Recognises a graph. *matched is false (with EL_OK) when the graph is
     * not of this family; an error means it is, but cannot be used (the
     * message says why). sig may be NULL. */
    el_status (*match)(const el_graph *g, const el_tfjs_signature *sig, el_head_spec *spec, bool *matched);
    /* Decodes the fetched outputs (outs[i] for spec->fetches[i]) into the
     * detections with score >= threshold, unsorted, labels unset. *dets is
     * malloc'd (may be NULL when *n is 0). */
    el_status (*decode)(const el_head_spec *spec, const el_tensor *outs, float threshold, el_detection **dets, int *n);
    /* A label map (pbtxt text) for models that come without one; NULL if none. */
    const char *default_labels;
} el_head;

extern const el_head el_head_od_api;
extern const el_head el_head_centernet;
extern const el_head el_head_faceboxes;

/* ---- Helpers shared by the heads (detector.c) ----------------------------- */

/* The Placeholder named `name`, -1 if absent or not a Placeholder. */
int el_head_placeholder(const el_graph *g, const char *name);

/* The only rank-4 (or unknown-rank) Placeholder of dtype dt; -1 when there
 * is none, -2 when there are several. */
int el_head_only_placeholder(const el_graph *g, el_dtype dt);

/* The static [1,H,W,3] size of input node `node`, from its shape attr or,
 * when that leaves H or W unknown, from the TF.js signature (sig may be
 * NULL). 0x0 when dynamic. Errors when the input is not a batch of 3-channel
 * images of dtype `want`. */
el_status el_head_input_size(const el_graph *g, const el_tfjs_signature *sig, int node, el_dtype want, int *width,
                             int *height);

/* True when the graph has a node `name` or the signature lists an output
 * with that tensor name. */
bool el_head_has_output(const el_graph *g, const el_tfjs_signature *sig, const char *name);

/* Output `name` as float32 with at least n elements. */
el_status el_head_f32(const el_tensor *t, const char *name, int64_t n, const float **out);

#endif
