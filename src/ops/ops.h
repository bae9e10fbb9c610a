/* Op family tables. Adding a family: write ops/<family>.c exporting
 * `const el_op el_ops_<family>[]` (ending with {NULL}), add it here. */
#ifndef EL_OPS_OPS_H
#define EL_OPS_OPS_H

#include "ops/kernel.h"

#define EL_OP_TABLES \
    EL_OP_TABLE(control) \
    EL_OP_TABLE(elementwise) \
    EL_OP_TABLE(mul_add) \
    EL_OP_TABLE(reduce) \
    EL_OP_TABLE(cast) \
    EL_OP_TABLE(shape) \
    EL_OP_TABLE(slice) \
    EL_OP_TABLE(concat) \
    EL_OP_TABLE(gather) \
    EL_OP_TABLE(transpose) \
    EL_OP_TABLE(conv) \
    EL_OP_TABLE(norm) \
    EL_OP_TABLE(pool) \
    EL_OP_TABLE(resize) \
    EL_OP_TABLE(nms) \
    EL_OP_TABLE(multiclass_nms) \
    EL_OP_TABLE(topk) \
    EL_OP_TABLE(peak_topk) \
    EL_OP_TABLE(tensor_array) \
    EL_OP_TABLE(tensor_list) \
    EL_OP_TABLE(pad) \
    EL_OP_TABLE(softmax) \
    EL_OP_TABLE(broadcast_to)

#define EL_OP_TABLE(name) extern const el_op el_ops_##name[];
EL_OP_TABLES
#undef EL_OP_TABLE

#endif
