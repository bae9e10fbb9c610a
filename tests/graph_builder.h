/* Building small graphs in tests without a .pb file. */
#ifndef EL_TEST_GRAPH_BUILDER_H
#define EL_TEST_GRAPH_BUILDER_H

#include "graph/graph.h"

typedef struct el_gb {
    el_graph *g;
    int cap;
} el_gb;

void el_gb_init(el_gb *b);
/* Adds a node; `inputs` is NULL-terminated ("a", "a:1", "^a"). Returns its index. */
int el_gb_node(el_gb *b, const char *name, const char *op, const char *const *inputs);
void el_gb_attr_int(el_gb *b, int node, const char *name, int64_t v);
void el_gb_attr_bool(el_gb *b, int node, const char *name, bool v);
void el_gb_attr_type(el_gb *b, int node, const char *name, el_dtype v);
void el_gb_attr_str(el_gb *b, int node, const char *name, const char *v);
void el_gb_attr_ints(el_gb *b, int node, const char *name, int n, const int64_t *v);
void el_gb_attr_shape(el_gb *b, int node, const char *name, int rank, const int64_t *dims);
/* Const nodes with a value. */
int el_gb_const_i32(el_gb *b, const char *name, int n, const int32_t *vals, const char *const *ctrl);
int el_gb_scalar_i32(el_gb *b, const char *name, int32_t v, const char *const *ctrl);
int el_gb_scalar_f32(el_gb *b, const char *name, float v, const char *const *ctrl);
int el_gb_scalar_bool(el_gb *b, const char *name, bool v);
/* Finishes (el_graph_index) and returns the graph; status of indexing. */
el_status el_gb_finish(el_gb *b, el_graph **out);

#define EL_IN(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EL_NOIN ((const char *const[]){NULL})

#endif
