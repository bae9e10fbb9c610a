/* Op family 'tensor_array': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_tensor_array[] = {
    {NULL, NULL, NULL},
};
