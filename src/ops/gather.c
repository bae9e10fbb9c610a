/* Op family 'gather': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_gather[] = {
    {NULL, NULL, NULL},
};
