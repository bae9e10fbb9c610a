/* Op family 'slice': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_slice[] = {
    {NULL, NULL, NULL},
};
