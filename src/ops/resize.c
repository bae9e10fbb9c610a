/* Op family 'resize': not yet implemented. */
#include "ops/kernel.h"

const el_op el_ops_resize[] = {
    {NULL, NULL, NULL},
};
