/* The documents edgelens publishes, as JSON text (malloc'd, caller frees). */
#ifndef EL_SINKS_PAYLOAD_H
#define EL_SINKS_PAYLOAD_H

#include <stdint.h>

#include "edgelens/detect.h"

/* The guide's payload: {"dog": 87.23, "person": 65.10}, scores x100 with two
 * decimals, "{}" when nothing passed; a label seen twice keeps its highest
 * score; a detection without label is keyed "class <id>". */
char *el_payload_seed(const el_detection *d, int n);

typedef struct el_payload_meta {
    const char *thing;
    double time_unix;       /* wall clock, seconds; printed as UTC ISO 8601 with ms */
    uint64_t frame;
    const char *source;
    const char *model;
    double inference_ms;
    int width, height;
} el_payload_meta;

/* {"thing":..,"timestamp":"2026-11-26T14:03:39.123Z","frame":N,"source":..,
 *  "model":..,"width":W,"height":H,"inference_ms":F,
 *  "detections":[{"label":..,"class_id":N,"score":F,"box":[ymin,xmin,ymax,xmax]}]} */
char *el_payload_full(const el_payload_meta *m, const el_detection *d, int n);

typedef struct el_payload_status {
    const char *thing;
    const char *state;      /* "online", "offline", "error" */
    const char *reason;     /* error only, else NULL */
    const char *model;
    double fps;
    const char *version;
    double time_unix;
} el_payload_status;
char *el_payload_status_doc(const el_payload_status *s);

#endif
