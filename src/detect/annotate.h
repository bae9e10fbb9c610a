/* Drawing detections onto an image (edgelens detect --annotate, snapshots,
 * the live view). */
#ifndef EL_DETECT_ANNOTATE_H
#define EL_DETECT_ANNOTATE_H

#include <stddef.h>

#include "edgelens/detect.h"
#include "edgelens/image.h"

/* Draws, for each of the n detections, its box (a 2 px outline, 3 px on
 * images of at least 480 px on the short side, in a colour chosen by
 * class_id) and a filled tag with el_annotate_tag_text() in a built-in 5x7
 * font (doubled on images of at least 400 px on the short side), above the
 * box or inside it when there is no room. Everything is clipped to the image;
 * boxes partly or wholly outside it, inverted, NaN or infinite are drawn as
 * far as they are visible or skipped, never an error. `dets` is only read
 * (may be NULL when n == 0); the image is modified in place.
 * Fails (EL_ERR_INVALID_ARG) only for a NULL/empty image or n < 0. */
el_status el_annotate(el_image *img, const el_detection *dets, int n);

/* The tag text "<label> 87%" (label NULL -> "class <id>"; the score is
 * clamped to 0..1 and rounded to a whole percent; labels longer than 48
 * bytes are cut). Writes at most cap bytes including the NUL; returns the
 * length written. */
size_t el_annotate_tag_text(const el_detection *det, char *buf, size_t cap);

#endif
