/* The core of non-maximum suppression (ops/nms.c), shared by the
 * NonMaxSuppression kernels and the fused per-class NMS of the TF1 Object
 * Detection API (ops/multiclass_nms.c): TensorFlow's selection over boxes
 * [n, 4] and scores [n], nothing else (no inputs to check, no outputs). */
#ifndef EL_OPS_NMS_H
#define EL_OPS_NMS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of scratch (16-byte aligned) el_nms_select needs for n boxes and
 * at most cap selected. */
size_t el_nms_scratch_size(int64_t n, int64_t cap);

/* TF's NMS (see nms.c): the indices of the selected boxes, in selection
 * order, into sel[0..) and their (soft-NMS rescored) scores into
 * sel_scores; at most cap (<= n) of them. sigma 0 is hard NMS. Returns the
 * number selected. */
int el_nms_select(const float *boxes, const float *scores, int n, float iou_thr, float score_thr, float sigma, int cap,
                  void *scratch, int32_t *sel, float *sel_scores);

#endif
