/* The list of op families. Each family file (ops/<family>.c) exports one
 * table; this is the only place that names them all. */
#include <string.h>

#include "ops/kernel.h"
#include "ops/ops.h"

static const el_op *const el_op_tables[] = {
#define EL_OP_TABLE(name) el_ops_##name,
    EL_OP_TABLES
#undef EL_OP_TABLE
};

const el_op *el_op_find(const char *name)
{
    for (size_t t = 0; t < sizeof el_op_tables / sizeof el_op_tables[0]; t++)
        for (const el_op *op = el_op_tables[t]; op->name; op++)
            if (strcmp(op->name, name) == 0) return op;
    return NULL;
}
