/* Op family 'elementwise': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_elementwise[] = {
    {NULL, NULL, NULL},
};
