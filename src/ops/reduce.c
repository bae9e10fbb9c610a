/* Op family 'reduce': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_reduce[] = {
    {NULL, NULL, NULL},
};
