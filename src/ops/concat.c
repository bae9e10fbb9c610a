/* Op family 'concat': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_concat[] = {
    {NULL, NULL, NULL},
};
