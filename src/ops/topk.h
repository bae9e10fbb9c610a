/* TopKV2 / TopK (ops/topk.c): the private attr a graph pass sets. */
#ifndef EL_OPS_TOPK_H
#define EL_OPS_TOPK_H

/* int P >= 1 (graph/topk_prefix.c): the readers look at the first P
 * entries of each row only. Those are TF's; the rest of the row holds the
 * other indices (and their values) in ascending index order. */
#define EL_TOPK_PREFIX_ATTR "_el_topk_prefix"

#endif
