/* Op family 'topk': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_topk[] = {
    {NULL, NULL, NULL},
};
