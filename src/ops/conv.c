/* Op family 'conv': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_conv[] = {
    {NULL, NULL, NULL},
};
