/* Op family tables. Adding a family: write ops/<family>.c exporting
 * `const el_op el_ops_<family>[]` (ending with {NULL}), add it here. */
#ifndef EL_OPS_OPS_H
#define EL_OPS_OPS_H

#include "ops/kernel.h"

#define EL_OP_TABLES \
    EL_OP_TABLE(control)

#define EL_OP_TABLE(name) extern const el_op el_ops_##name[];
EL_OP_TABLES
#undef EL_OP_TABLE

#endif
