/* Op family 'nms': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_nms[] = {
    {NULL, NULL, NULL},
};
