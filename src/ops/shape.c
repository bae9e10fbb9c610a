/* Op family 'shape': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_shape[] = {
    {NULL, NULL, NULL},
};
