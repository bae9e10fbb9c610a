/* Op family 'transpose': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_transpose[] = {
    {NULL, NULL, NULL},
};
