/* Image -> float32 input batch for float-input heads (see preprocess.c). */
#ifndef EL_DETECT_PREPROCESS_H
#define EL_DETECT_PREPROCESS_H

#include "edgelens/engine.h"
#include "edgelens/image.h"

typedef struct el_prep {
    el_graph *graph;
    el_session *session;
} el_prep;

/* On failure *p is left empty (safe to free). */
el_status el_prep_init(el_prep *p);
/* out = ResizeBilinear(img as [1,H,W,3], [height, width]): float32
 * [1,height,width,3], values not rounded. The caller releases *out. */
el_status el_prep_resize_f32(el_prep *p, const el_image *img, int width, int height, el_tensor *out);
void el_prep_free(el_prep *p);

#endif
