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

#ifdef __cplusplus
}
#endif
#endif
