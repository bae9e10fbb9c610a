/* Op family 'norm': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_norm[] = {
    {NULL, NULL, NULL},
};
