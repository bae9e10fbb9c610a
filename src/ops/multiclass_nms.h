/* _ElMultiClassNms (ops/multiclass_nms.c): the TF1 Object Detection API's
 * MultiClassNonMaxSuppression as the graph passes find it unrolled, one
 * chain of nodes per class (graph/fuse_nms.c), in one node.
 *
 * Inputs: scores [N, C] float, rows (int32 scalar: the chains' Slice size,
 * -1 for all N), boxes [M, 4] float, window [4] float (ymin, xmin, ymax,
 * xmax). Outputs, classes 0 .. num_classes-1 concatenated in that order:
 * boxes [T, 4], scores [T], classes [T] (float class index). Per class c:
 * the rows i < rows with scores[i, c] > score_threshold, their boxes
 * clipped to the window (Maximum(Minimum(v, hi), lo) per coordinate), those
 * whose clipped area (ymax - ymin) * (xmax - xmin) is > min_area, then
 * TF's hard NMS (iou_threshold, nms_score_threshold; -FLT_MAX for
 * NonMaxSuppressionV2) keeping at most max_output_size.
 *
 * EL_MCNMS_TOP = P > 0 (set by graph/nms_top.c when the graph reads only
 * the P best rows, by score then position, and the row count only as
 * min(P, count)): the outputs may leave out rows ranked below the P best.
 * The rows kept are every selection scoring >= a floor no greater than
 * the P-th best score (all of them when fewer than P are selected), in
 * the same order: the P best, their order among themselves and min(P,
 * count) are those of the full outputs. */
#ifndef EL_OPS_MULTICLASS_NMS_H
#define EL_OPS_MULTICLASS_NMS_H

#define EL_MCNMS_OP "_ElMultiClassNms"
#define EL_MCNMS_CLASSES "num_classes"
#define EL_MCNMS_SCORE "score_threshold"
#define EL_MCNMS_AREA "min_area"
#define EL_MCNMS_IOU "iou_threshold"
#define EL_MCNMS_NMS_SCORE "nms_score_threshold"
#define EL_MCNMS_MAX "max_output_size"
#define EL_MCNMS_TOP "_el_top"

#endif
