/* Op family 'cast': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_cast[] = {
    {NULL, NULL, NULL},
};
