/* The detector's graph-execution half, for callers that time or profile it
 * (edgelens bench) and for tests: the same model opening, head discovery,
 * feed, fetches and input tensor as el_detector_run, without decoding. So a
 * benchmark times exactly the graph execution that detection pays for, on
 * every model the detector accepts, and no head logic is repeated. */
#ifndef EL_DETECT_DETECTOR_IO_H
#define EL_DETECT_DETECTOR_IO_H

#include "edgelens/detect.h"
#include "edgelens/engine.h"
#include "edgelens/image.h"

/* What the detector's session was made from. Everything points into the
 * detector and lives as long as it. */
typedef struct el_detector_io {
    const el_graph *graph;
    const char *feed;            /* the Placeholder fed with the image batch */
    int nfetches;
    const char *const *fetches;  /* the head's outputs, in decode order */
} el_detector_io;

/* el_detector_open with full session options (threads, graph passes off,
 * a node hook for profiling) instead of el_detector_opts. so may be NULL. */
el_status el_detector_open_session(const char *model, const char *labels, const el_session_opts *so,
                                   el_detector **out);

void el_detector_get_io(const el_detector *d, el_detector_io *io);

/* The detector's own session (owned by d): el_session_run on it with the
 * tensor from el_detector_input_tensor fills io.nfetches outputs. */
el_session *el_detector_session(el_detector *d);

/* The exact tensor the detector feeds for img (resized as the head asks,
 * float for float-input heads). The caller releases *out. */
el_status el_detector_input_tensor(el_detector *d, const el_image *img, el_tensor *out);

/* The head the detector chose ("od_api", "centernet", "faceboxes"). */
const char *el_detector_head_name(const el_detector *d);

#endif
