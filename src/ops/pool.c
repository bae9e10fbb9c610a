/* Op family 'pool': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_pool[] = {
    {NULL, NULL, NULL},
};
