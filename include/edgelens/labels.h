/* edgelens label maps: the TF Object Detection API's label_map.pbtxt
 * (item { id: 1 name: 'person' display_name: "person" } ...). */
#ifndef EDGELENS_LABELS_H
#define EDGELENS_LABELS_H

#include <stddef.h>

#include "edgelens/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct el_labels el_labels;

/* Parse a label map. Accepts comments (#), both quote styles, escapes,
 * fields in any order, optional commas/semicolons. Refuses duplicate ids,
 * items without id, ids < 0, unknown syntax, with file:line in the message.
 * Bounded (at most EL_LABELS_MAX items, each name at most 1024 bytes). */
#define EL_LABELS_MAX 100000
el_status el_labels_load(const char *path, el_labels **out);
el_status el_labels_parse(const char *text, size_t len, const char *source, el_labels **out);

/* display_name if present, else name; NULL when the id has no item. */
const char *el_labels_name(const el_labels *l, int id);
int el_labels_count(const el_labels *l);
/* Largest id present (0 when empty). */
int el_labels_max_id(const el_labels *l);
void el_labels_free(el_labels *l);

#ifdef __cplusplus
}
#endif
#endif
