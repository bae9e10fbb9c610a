/* The in-memory graph every model format is loaded into: TensorFlow's GraphDef
 * model (nodes with an op name, inputs "name", "name:1", "^name", and attrs),
 * with input names resolved to node indices.
 *
 * Ownership: an el_graph owns all its nodes, strings and attr values (Const
 * tensors included); everything handed out by accessors lives as long as the
 * graph. */
#ifndef EL_GRAPH_GRAPH_H
#define EL_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "edgelens/status.h"
#include "edgelens/engine.h"
#include "edgelens/tensor.h"

/* Kinds of AttrValue (tensorflow/core/framework/attr_value.proto). */
typedef enum el_attr_type {
    EL_ATTR_NONE = 0,
    EL_ATTR_S,      /* bytes */
    EL_ATTR_I,      /* int64 */
    EL_ATTR_F,      /* float */
    EL_ATTR_B,      /* bool */
    EL_ATTR_TYPE,   /* DataType */
    EL_ATTR_SHAPE,  /* TensorShapeProto */
    EL_ATTR_TENSOR, /* TensorProto */
    EL_ATTR_LIST,   /* ListValue: see el_attr_list.elem */
    EL_ATTR_FUNC,   /* NameAttrList: only the name is kept */
    EL_ATTR_PLACEHOLDER
} el_attr_type;

/* A shape as declared in a graph: rank -1 is unknown, a dim -1 unknown. */
typedef struct el_shape {
    int rank;
    int64_t dims[EL_MAX_DIMS];
} el_shape;

typedef struct el_attr_list {
    el_attr_type elem; /* S, I, F, B, TYPE, SHAPE or TENSOR; NONE when empty */
    int n;
    union {
        el_string *s;
        int64_t *i;
        float *f;
        bool *b;
        el_dtype *type;
        el_shape *shape;
        el_tensor *tensor;
    } v;
} el_attr_list;

typedef struct el_attr {
    const char *name;
    el_attr_type type;
    union {
        el_string s; /* also the function name for EL_ATTR_FUNC */
        int64_t i;
        float f;
        bool b;
        el_dtype type;
        el_shape shape;
        el_tensor tensor;
        el_attr_list list;
    } v;
} el_attr;

/* An input edge: output `slot` of node `node`; slot -1 is a control input. */
typedef struct el_input {
    int node;
    int slot;
} el_input;

typedef struct el_node {
    const char *name;
    const char *op;
    const char *device;
    int ninputs;        /* data inputs first, then control inputs */
    int ndata;          /* number of data inputs */
    el_input *inputs;
    const char **input_names; /* as written in the file, for messages */
    int nattrs;
    el_attr *attrs;
    int noutputs;       /* outputs referenced in the graph (>= 1) */
    /* The attrs' names in a row (el_graph_index), so that a lookup reads one
     * cache line, not one el_attr per attr; used while attrs and nattrs are
     * still those they were listed for (a copy of the node with other attrs
     * falls back to the attrs themselves). */
    const char **attr_names;
    const el_attr *attr_names_of;
    int attr_names_n;
} el_node;

typedef struct el_graph_chunk el_graph_chunk;

struct el_graph {
    int nnodes;
    el_node *nodes;     /* allocated with el_graph_alloc */
    const char *source; /* file the graph came from, for messages */
    el_graph_chunk *chunks; /* arena holding nodes, names, attrs, consts */
    /* Where tensors may point into (a mapped file), released with the graph. */
    void *mapping;
    size_t mapping_size;
    /* Aligned copies of constants a loader could not point at in place
     * (tensor_content not aligned for its dtype in the file): one mapping,
     * released with the graph. */
    void *realigned;
    size_t realigned_size;
    /* The bf16 filters graph/precision.c packed: one mapping on transparent
     * huge pages, released with the graph. */
    void *packed;
    size_t packed_size;
    uint64_t *name_index; /* name -> hash tag << 32 | node index, open addressing; UINT64_MAX: empty */
    int name_cap;
};

/* A new empty graph; `source` is copied. */
el_status el_graph_new(const char *source, el_graph **out);

/* Zeroed memory that lives as long as the graph (never NULL on EL_OK). */
el_status el_graph_alloc(el_graph *g, size_t size, void *out_ptr);
/* A NUL-terminated copy of (s, len) in the graph's arena. */
el_status el_graph_strdup(el_graph *g, const char *s, size_t len, const char **out);

/* For a loader, before el_graph_index: a model file speaks TensorFlow
 * only. Ops named _El... are edgelens' own (made by its graph passes,
 * docs/architecture.md): one in a file is an error, as an unregistered op
 * is in TensorFlow. Attrs named _el_... are a pass's private instructions
 * to a kernel: a file's are dropped, as TensorFlow's kernels ignore the
 * "_" attrs they do not know, so a file cannot steer a kernel onto a path
 * its own passes did not prove. */
el_status el_graph_drop_private(el_graph *g);

/* After a loader filled nodes[i].name/op/input_names/ninputs/attrs: resolves
 * input names to indices, checks that data inputs precede control inputs,
 * that names are unique and that every referenced node exists, and sets
 * ndata and noutputs. Errors name the node and the offending input. */
el_status el_graph_index(el_graph *g);

/* After the passes: the clean pages of src's file mapping that no tensor of
 * `run` (the graph a session runs, made from src) points into leave the
 * resident set (core/pages.h). src stays valid: what reads those pages
 * again reads the same bytes from the page cache. */
void el_graph_release_source_pages(const el_graph *src, const el_graph *run);

/* Index of a node by name, -1 if absent. */
int el_graph_find(const el_graph *g, const char *name);

/* The node a feed or fetch name ("name" or "name:3") names, its output in
 * *slot and the node name's length in *name_len: -1 if no node has that
 * name, -2 if the name is malformed (NULL, empty, "^name", a bad slot). */
int el_graph_find_output(const el_graph *g, const char *name, size_t *name_len, int *slot);

/* Parse "name", "name:3" or "^name" into (name length, slot); slot -1 for
 * control. Returns false when malformed. */
bool el_parse_input_name(const char *s, size_t *name_len, int *slot);

/* Attr lookup; NULL if absent. */
const el_attr *el_node_attr(const el_node *n, const char *name);

/* Typed attr getters. A missing attr yields `def` (TensorFlow op definitions
 * give defaults for attrs old exports omit); an attr of the wrong kind is an
 * EL_ERR_FORMAT error naming node, op and attr. */
el_status el_attr_int(const el_node *n, const char *name, int64_t def, int64_t *out);
el_status el_attr_float(const el_node *n, const char *name, float def, float *out);
el_status el_attr_bool(const el_node *n, const char *name, bool def, bool *out);
el_status el_attr_dtype(const el_node *n, const char *name, el_dtype def, el_dtype *out);
/* String attr; def may be NULL. The result is not NUL-terminated. */
el_status el_attr_str(const el_node *n, const char *name, const char *def, el_string *out);
/* True when the string attr equals `value` (or, absent, when def does). */
el_status el_attr_str_eq(const el_node *n, const char *name, const char *def, const char *value, bool *out);
/* list(int); absent -> *n_out = 0 and *out = NULL. */
el_status el_attr_ints(const el_node *n, const char *name, const int64_t **out, int *n_out);
el_status el_attr_shape(const el_node *n, const char *name, el_shape *out, bool *present);
el_status el_attr_tensor(const el_node *n, const char *name, const el_tensor **out);

#endif
