/* The reduced-precision pass (el_session_opts.precision): run at session
 * creation, after graph/optimize.c, on the session's private graph. */
#ifndef EL_GRAPH_PRECISION_H
#define EL_GRAPH_PRECISION_H

#include "graph/graph.h"

/* A private copy of `g` that later passes may change in place: nodes and
 * attr arrays are copied (tensors retained), names, inputs and constant data
 * are borrowed, so `g` must outlive the copy. */
el_status el_graph_clone(const el_graph *g, el_graph **out);

/* bf16: every Conv2D / _FusedConv2D whose filter is a float Const (HWIO, or
 * the fp32 panels graph/optimize.c packs) gets the filter packed once for the bf16 kernels (ops/conv_bf16.h), as
 * the node attr EL_BF16_ATTR; the fp32 filter stays its input (shape
 * checks, and the fp32 kernels where the bf16 ones decline a geometry).
 * *converted (may be NULL) counts the nodes. */
el_status el_graph_pack_bf16(el_graph *g, int *converted);

#endif
