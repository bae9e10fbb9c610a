/* The reduced-precision pass (el_session_opts.precision): run at session
 * creation, after graph/optimize.c, on the session's private graph. */
#ifndef EL_GRAPH_PRECISION_H
#define EL_GRAPH_PRECISION_H

#include <stdbool.h>

#include "graph/graph.h"

/* A private copy of `g` that later passes may change in place: nodes and
 * attr arrays are copied (tensors retained), names, inputs and constant data
 * are borrowed, so `g` must outlive the copy. */
el_status el_graph_clone(const el_graph *g, el_graph **out);

/* bf16: every Conv2D / _FusedConv2D whose filter is a float Const (HWIO, or
 * the fp32 panels graph/optimize.c packs) read by that node alone, neither
 * fed nor fetched (by name, as in el_session_create), gets the filter
 * packed once for the bf16 kernels (ops/conv_bf16.h): the Const's value
 * becomes the packed tiles (layout EL_FILTER_BF16_T32X16 of ops/gemm.h,
 * the HWIO shape in a node attr) and the fp32 filter is released, so the
 * session does not keep both (15 MB on SSD MobileNet v1). The kernel widens
 * the tiles back to fp32 where the bf16 kernels decline a geometry. Not
 * converted: convolutions scaled per run (ops/conv_in_scale.h), the first
 * layer's few-channel windows, shared filters. *converted (may be NULL)
 * counts the nodes. x3: bf16x3 (edgelens/engine.h), hi and lo tiles
 * (el_bf16x3_pack, layout EL_FILTER_BF16X3_T32X16). */
el_status el_graph_pack_bf16(el_graph *g, bool x3, int nfeeds, const char *const *feeds, int nfetches,
                             const char *const *fetches, int *converted);

#endif
