/* The private attr the graph passes may set on a MaxPool (graph/optimize.c):
 * EL_POOL_KEEP_EQUAL_ATTR (bool) makes it output x * (x == max ? 1 : 0),
 * x its input at the output's position, as _ElKeepEqual(x, MaxPool(x))
 * would (CenterNet's heatmap peak test). See ops/pool.c. */
#ifndef EL_OPS_POOL_H
#define EL_OPS_POOL_H

#define EL_POOL_KEEP_EQUAL_ATTR "_el_keep_equal"

#endif
